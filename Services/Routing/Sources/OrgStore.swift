import Foundation
import GridLoopDomain
import GridLoopPersistence
import Logging
import PostgresNIO

/// Reads and replaces the org structure in routing's schema.
package struct OrgStore: Sendable {
    package let postgres: PostgresClient

    package init(postgres: PostgresClient) {
        self.postgres = postgres
    }

    /// Routing's part of `gridloop org import`: replaces the whole org structure with `org` in one
    /// transaction; returns the new version. Requests and assignments already made keep their unit names.
    package func replace(with org: OrgFile, source: String, logger: Logger) async throws -> Int {
        try await postgres.transaction(logger: logger) { connection in
            try await connection.query("LOCK TABLE routing.org_versions IN EXCLUSIVE MODE", logger: logger)
            for table in ["settings", "sla_policies", "staff", "categories", "departments", "households", "grids", "streets"] {
                try await connection.query("DELETE FROM routing.\(unescaped: table)", logger: logger)
            }
            for street in org.streets {
                try await connection.query(
                    "INSERT INTO routing.streets (id, name, kind) VALUES (\(street.id), \(street.name), \(street.kind ?? "street"))",
                    logger: logger
                )
            }
            for grid in org.grids {
                try await connection.query(
                    """
                    INSERT INTO routing.grids (id, name, street_id, kind, households, population, area)
                    VALUES (\(grid.id), \(grid.name), \(grid.street), \(grid.kind), \(grid.households), \(grid.population),
                        \(try grid.area.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }))
                    """,
                    logger: logger
                )
            }
            for household in org.households ?? [] {
                try await connection.query(
                    "INSERT INTO routing.households (id, grid_id, address) VALUES (\(household.id), \(household.grid), \(household.address))",
                    logger: logger
                )
            }
            for department in org.departments {
                try await connection.query("INSERT INTO routing.departments (id, name) VALUES (\(department.id), \(department.name))", logger: logger)
                for category in department.categories {
                    let direct = (org.direct ?? []).contains(category)
                    try await connection.query(
                        "INSERT INTO routing.categories (id, department_id, direct) VALUES (\(category), \(department.id), \(direct))",
                        logger: logger
                    )
                }
            }
            for member in org.staff ?? [] {
                try await connection.query(
                    "INSERT INTO routing.staff (id, name, role, unit, work_phone) VALUES (\(member.id), \(member.name), \(member.role), \(member.unit), \(member.workPhone))",
                    logger: logger
                )
            }
            let settings = SLASettings(calendar: org.workingCalendar, urgent: Set(org.urgentCategories))
            try await connection.query("INSERT INTO routing.settings (key, value) VALUES ('sla', \(try settings.encoded()))", logger: logger)
            let policy = org.slaPolicy
            let policies = [("*", policy.standard)] + policy.byCategory.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            for (category, durations) in policies {
                try await connection.query(
                    """
                    INSERT INTO routing.sla_policies (category, claim_seconds, resolve_seconds)
                    VALUES (\(category), \(durations.claim.wholeSeconds), \(durations.resolve.wholeSeconds))
                    """,
                    logger: logger
                )
            }
            let rows = try await connection.query(
                "INSERT INTO routing.org_versions (district, source) VALUES (\(org.district.id), \(source)) RETURNING version",
                logger: logger
            )
            for try await version in rows.decode(Int.self) { return version }
            return 0
        }
    }

    /// Every unit with a queue: grids, streets, departments and the triage desk.
    package func units(logger: Logger) async throws -> [UnitRef] {
        var units = [RoutingRules.triage]
        let rows = try await postgres.query(
            """
            SELECT 'grid', id FROM routing.grids UNION ALL SELECT 'street', id FROM routing.streets
            UNION ALL SELECT 'district', id FROM routing.departments
            """,
            logger: logger
        )
        for try await (tier, id) in rows.decode((String, String).self) {
            if let tier = Tier(rawValue: tier), let unit = try? UnitRef(tier: tier, id: id) { units.append(unit) }
        }
        return units
    }

    /// What the org data says about a location, and the org's version, in one statement (the
    /// grids' areas are read, in a second, only for coordinates).
    func facts(
        for location: Location,
        category: String,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> (facts: PlacementFacts, orgVersion: Int) {
        var facts = PlacementFacts()
        var version = 0
        let row = try await connection.query(
            """
            SELECT (SELECT id FROM routing.grids WHERE id = \(location.gridId)),
                (SELECT grid_id FROM routing.households WHERE id = \(location.householdId)),
                (SELECT department_id FROM routing.categories WHERE id = \(category) AND direct),
                (SELECT grid_id FROM routing.households WHERE \(location.address)::text IS NOT NULL
                    AND replace(address, ' ', '') = replace(\(location.address), ' ', '') ORDER BY id LIMIT 1),
                (SELECT coalesce(max(version), 0) FROM routing.org_versions)
            """,
            logger: logger
        ).collect().first
        if let row {
            (facts.knownGrid, facts.householdGrid, facts.directDepartment, facts.addressGrid, version) = try row.decode(
                (String?, String?, String?, String?, Int).self
            )
        }
        if let latitude = location.latitude, let longitude = location.longitude {
            let rows = try await connection.query("SELECT id, area FROM routing.grids WHERE area IS NOT NULL ORDER BY id", logger: logger)
            for try await (id, area) in rows.decode((String, String).self) {
                guard let points = try? JSONDecoder().decode([[Double]].self, from: Data(area.utf8)) else { continue }
                if facts.coordinateGrid == nil, GeoArea(points: points).contains(latitude: latitude, longitude: longitude) {
                    facts.coordinateGrid = id
                }
            }
        }
        return (facts, version)
    }
}
