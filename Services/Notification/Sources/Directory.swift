import Foundation
import GridLoopDomain
import Logging
import PostgresNIO

/// The people and places notification needs from the org file, written by `gridloop org import`.
package struct DirectorySnapshot: Sendable {
    package struct Staff: Sendable {
        package var id: String
        package var name: String
        package var role: String
        package var unit: String
        package var language: String?
        package var email: String?
        package var phone: String?
        package var webhook: String?
        package var quietHours: String?
        package var digestSeconds: Int?

        package init(
            id: String,
            name: String,
            role: String,
            unit: String,
            language: String?,
            email: String?,
            phone: String?,
            webhook: String?,
            quietHours: String?,
            digestSeconds: Int?
        ) {
            self.id = id
            self.name = name
            self.role = role
            self.unit = unit
            self.language = language
            self.email = email
            self.phone = phone
            self.webhook = webhook
            self.quietHours = quietHours
            self.digestSeconds = digestSeconds
        }
    }

    package var staff: [Staff]
    /// `tier:id` → display name.
    package var unitNames: [String: String]
    /// Household id → grid id.
    package var households: [String: String]
    package var urgentCategories: [String]
    package var utcOffset: Int

    package init(staff: [Staff], unitNames: [String: String], households: [String: String], urgentCategories: [String], utcOffset: Int) {
        self.staff = staff
        self.unitNames = unitNames
        self.households = households
        self.urgentCategories = urgentCategories
        self.utcOffset = utcOffset
    }
}

/// Reads and replaces notification's copy of the org directory.
package struct Directory: Sendable {
    package init() {}

    /// Replaces the whole directory in one transaction (an admin command's step).
    package func replace(with snapshot: DirectorySnapshot, on client: PostgresClient, logger: Logger) async throws {
        try await client.transaction(logger: logger) { connection in
            try await connection.query("DELETE FROM notification.recipients", logger: logger)
            try await connection.query("DELETE FROM notification.units", logger: logger)
            try await connection.query("DELETE FROM notification.households", logger: logger)
            try await connection.query("DELETE FROM notification.settings", logger: logger)
            for staff in snapshot.staff {
                try await connection.query(
                    """
                    INSERT INTO notification.recipients (id, name, role, unit, language, email, phone, webhook, quiet_hours, digest_seconds)
                    VALUES (\(staff.id), \(staff.name), \(staff.role), \(staff.unit), \(staff.language ?? NotificationTemplates.defaultLanguage),
                        \(staff.email), \(staff.phone), \(staff.webhook), \(staff.quietHours), \(staff.digestSeconds))
                    """,
                    logger: logger
                )
            }
            for (ref, name) in snapshot.unitNames {
                try await connection.query("INSERT INTO notification.units (ref, name) VALUES (\(ref), \(name))", logger: logger)
            }
            let households = Array(snapshot.households.keys)
            let grids = households.map { snapshot.households[$0]! }
            try await connection.query(
                "INSERT INTO notification.households (id, grid) SELECT * FROM unnest(\(households)::text[], \(grids)::text[])",
                logger: logger
            )
            try await connection.query(
                "INSERT INTO notification.settings (id, urgent, utc_offset) VALUES (1, \(snapshot.urgentCategories), \(snapshot.utcOffset))",
                logger: logger
            )
        }
    }

    /// The directory entries one event needs: staff of `units`, grid workers of `grid`,
    /// supervisors, unit and staff names, settings; for a community event also the grid staff
    /// (grid workers and leaders) of `staffOfGrids` and the street officers of `officersOfStreets`.
    func view(
        units: [UnitRef],
        extraUnits: [UnitRef],
        grid: String?,
        staffOfGrids: [String] = [],
        officersOfStreets: [String] = [],
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> DirectoryView {
        var view = DirectoryView()
        let unitRefs = units.map(\.description)
        let gridUnit = grid.map { "grid:\($0)" } ?? ""
        let staffGridUnits = staffOfGrids.map { "grid:\($0)" }
        let officerStreetUnits = officersOfStreets.map { "street:\($0)" }
        let gridStaffUnits = Set(staffGridUnits)
        let streetOfficerUnits = Set(officerStreetUnits)
        let rows = try await connection.query(
            """
            SELECT id, name, role, unit, language, email, phone, webhook, quiet_hours, digest_seconds FROM notification.recipients
            WHERE unit = ANY(\(unitRefs)) OR role = 'supervisor' OR (unit = \(gridUnit) AND role = 'grid-worker')
                OR (unit = ANY(\(staffGridUnits)) AND role IN ('grid-worker', 'grid-leader'))
                OR (unit = ANY(\(officerStreetUnits)) AND role = 'street-officer')
            ORDER BY id
            """,
            logger: logger
        )
        for try await (id, name, role, unit, language, email, phone, webhook, quiet, digest) in rows.decode(
            (String, String, String, String, String, String?, String?, String?, String?, Int?).self
        ) {
            let recipient = Recipient(
                key: "staff:\(id)",
                name: name,
                language: language,
                email: email,
                phone: phone,
                webhook: webhook,
                quietHours: quiet.flatMap(QuietHours.init(parsing:)),
                digestSeconds: digest
            )
            view.staffNames[id] = name
            if unitRefs.contains(unit) { view.staffByUnit[unit, default: []].append(recipient) }
            if role == "supervisor" { view.supervisors.append(recipient) }
            if unit == gridUnit, role == "grid-worker", let grid { view.gridWorkers[grid, default: []].append(recipient) }
            if role == "grid-worker" || role == "grid-leader", gridStaffUnits.contains(unit) {
                view.gridStaff[String(unit.dropFirst("grid:".count)), default: []].append(recipient)
            }
            if role == "street-officer", streetOfficerUnits.contains(unit) {
                view.streetOfficers[String(unit.dropFirst("street:".count)), default: []].append(recipient)
            }
        }
        let named = unitRefs + extraUnits.map(\.description)
        for try await (ref, name) in try await connection.query("SELECT ref, name FROM notification.units WHERE ref = ANY(\(named))", logger: logger)
            .decode((String, String).self)
        {
            view.unitNames[ref] = name
        }
        for try await (urgent, offset) in try await connection.query(
            "SELECT urgent, utc_offset FROM notification.settings WHERE id = 1",
            logger: logger
        ).decode(([String], Int).self) {
            view.urgentCategories = Set(urgent)
            view.utcOffset = offset
        }
        return view
    }

    /// Staff names by id (for the acting staff member in a message).
    func staffName(_ id: String, on connection: PostgresConnection, logger: Logger) async throws -> String? {
        try await connection.query("SELECT name FROM notification.recipients WHERE id = \(id)", logger: logger).collect().first?.decode(String.self)
    }

    /// The grid of a household, if the org file lists it.
    func grid(ofHousehold household: String, on connection: PostgresConnection, logger: Logger) async throws -> String? {
        try await connection.query("SELECT grid FROM notification.households WHERE id = \(household)", logger: logger).collect().first?.decode(
            String.self
        )
    }
}
