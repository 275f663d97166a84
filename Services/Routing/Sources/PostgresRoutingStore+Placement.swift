import Foundation
import GridLoopDomain
import GridLoopPersistence
import PostgresNIO

/// The SQL of placing a new request: its row, its place, the duplicate it may be, and the
/// incident many reports of one problem become.
extension PostgresRoutingStore {
    /// Inserts a new request as `received`; `false` if it exists already.
    func insertRequest(_ id: RequestID, category: String, description: String, correlationId: String) async throws -> Bool {
        try await !connection.query(
            """
            INSERT INTO routing.requests (id, state, version, category, description, correlation_id)
            VALUES (\(id), 'received', 1, \(category), \(description), \(correlationId))
            ON CONFLICT (id) DO NOTHING RETURNING id
            """,
            logger: logger
        ).collect().isEmpty
    }

    /// Records the request's grid and that grid's street.
    func place(_ id: RequestID, inGrid grid: String) async throws {
        try await connection.query(
            "UPDATE routing.requests SET grid_id = \(grid), street_id = (SELECT street_id FROM routing.grids WHERE id = \(grid)) WHERE id = \(id)",
            logger: logger
        )
    }

    /// The street the request was placed in, if any.
    func street(of id: RequestID) async throws -> String? {
        try await connection.query("SELECT street_id FROM routing.requests WHERE id = \(id)", logger: logger).collect().first?.decode(String?.self)
            ?? nil
    }

    /// Records where the request is (for duplicate hints) and returns the oldest open request of
    /// `category` at the same household or address made within `window` seconds, also kept as
    /// the request's duplicate hint. Two reports of one problem placed at the same moment: the
    /// second waits for the first's commit and sees it.
    func possibleDuplicate(of id: RequestID, category: String, location: Location, window seconds: Double) async throws -> RequestID? {
        try await connection.query(
            "UPDATE routing.requests SET household_id = \(location.householdId), address = \(location.address) WHERE id = \(id)",
            logger: logger
        )
        guard location.householdId != nil || location.address != nil else { return nil }
        let place = location.householdId ?? (location.address ?? "").replacingOccurrences(of: " ", with: "")
        try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\("duplicate:\(category):\(place)")))", logger: logger)
        let found = try await connection.query(
            """
            SELECT id FROM routing.requests
            WHERE id <> \(id) AND category = \(category) AND state NOT IN ('closed', 'rejected', 'merged')
              AND created_at > now() - make_interval(secs => \(seconds))
              AND ((household_id IS NOT NULL AND household_id = \(location.householdId))
                   OR (address IS NOT NULL AND replace(address, ' ', '') = replace(\(location.address ?? ""), ' ', '')))
            ORDER BY created_at LIMIT 1
            """,
            logger: logger
        ).collect().first?.decode(RequestID.self)
        guard let found else { return nil }
        // Kept for the inbox's hint (the merge suggestion).
        try await connection.query("UPDATE routing.requests SET possible_duplicate_of = \(found) WHERE id = \(id)", logger: logger)
        return found
    }

    // MARK: Incidents

    /// Serializes incident decisions for one grid and category until the transaction ends.
    func lockIncidents(grid: String, category: String) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\("incident:\(grid):\(category)")))", logger: logger)
    }

    /// The newest incident of `category` in `grid` whose lead is still open: (incident, lead).
    func openIncident(grid: String, category: String) async throws -> (incident: UUID, lead: RequestID)? {
        try await connection.query(
            """
            SELECT i.id, i.lead_request_id FROM routing.incidents i JOIN routing.requests r ON r.id = i.lead_request_id
            WHERE i.grid_id = \(grid) AND i.category = \(category) AND r.state NOT IN ('closed', 'rejected', 'merged') ORDER BY i.created_at DESC LIMIT 1
            """,
            logger: logger
        ).collect().first.map { try $0.decode((UUID, RequestID).self) }
    }

    /// Requests of `category` waiting unclaimed at `grid` in no incident, made within `window` seconds, oldest first.
    func waitingForIncident(grid: String, category: String, besides id: RequestID, window seconds: Double) async throws -> [RequestID] {
        try await connection.query(
            """
            SELECT id FROM routing.requests
            WHERE category = \(category) AND unit = \("grid:\(grid)") AND state = 'assigned' AND incident_id IS NULL AND id <> \(id)
              AND created_at > now() - make_interval(secs => \(seconds))
            ORDER BY created_at, id
            """,
            logger: logger
        ).collect().map { try $0.decode(RequestID.self) }
    }

    func insertIncident(_ incident: UUID, grid: String, category: String, lead: RequestID) async throws {
        try await connection.query(
            "INSERT INTO routing.incidents (id, grid_id, category, lead_request_id) VALUES (\(incident), \(grid), \(category), \(lead))",
            logger: logger
        )
    }

    func setIncident(_ incident: UUID, of request: RequestID) async throws {
        try await connection.query("UPDATE routing.requests SET incident_id = \(incident) WHERE id = \(request)", logger: logger)
    }

    /// Every assignment of the request (owner and summonses).
    func assignments(of request: RequestID) async throws -> [UUID] {
        try await connection.query("SELECT id FROM routing.assignments WHERE request_id = \(request)", logger: logger).collect().map {
            try $0.decode(UUID.self)
        }
    }
}
