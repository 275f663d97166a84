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
            """
            UPDATE routing.requests SET household_id = \(location.householdId), address = \(location.address),
                latitude = \(location.latitude), longitude = \(location.longitude)
            WHERE id = \(id)
            """,
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

    /// Serializes incident decisions for one place (`street:…` or `grid:…`) and category until the transaction ends.
    func lockIncidents(place: String, category: String) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\("incident:\(place):\(category)")))", logger: logger)
    }

    /// The incident of `category` a new report at `grid` joins: the newest whose lead is still
    /// open, in the same grid, or (`street` given) in the street with a report made within
    /// `window` seconds — and, when the new report has coordinates and some of the incident's
    /// reports do, one of those within `near`'s distance.
    func incidentToJoin(
        grid: String,
        street: String?,
        category: String,
        near: Nearby,
        window seconds: Double
    ) async throws -> (
        incident: UUID, lead: RequestID
    )? {
        try await connection.query(
            """
            SELECT i.id, i.lead_request_id FROM routing.incidents i JOIN routing.requests r ON r.id = i.lead_request_id
            WHERE i.category = \(category) AND r.state NOT IN ('closed', 'rejected', 'merged')
              AND (i.grid_id = \(grid) OR (\(street)::text IS NOT NULL AND i.street_id = \(street)
                AND EXISTS (SELECT 1 FROM routing.requests m WHERE m.incident_id = i.id AND m.created_at > now() - make_interval(secs => \(seconds)))
                AND (\(near.latitude)::float8 IS NULL OR \(near.longitude)::float8 IS NULL
                     OR NOT EXISTS (SELECT 1 FROM routing.requests m WHERE m.incident_id = i.id AND m.latitude IS NOT NULL AND m.longitude IS NOT NULL)
                     OR EXISTS (
                        SELECT 1 FROM routing.requests m WHERE m.incident_id = i.id AND m.latitude IS NOT NULL AND m.longitude IS NOT NULL
                          AND 12742000 * asin(sqrt(power(sin(radians(m.latitude - \(near.latitude)) / 2), 2)
                                + cos(radians(\(near.latitude))) * cos(radians(m.latitude)) * power(sin(radians(m.longitude - \(near.longitude)) / 2), 2)))
                              <= \(near.meters)))))
            ORDER BY (i.grid_id = \(grid)) DESC, i.created_at DESC LIMIT 1
            """,
            logger: logger
        ).collect().first.map { try $0.decode((UUID, RequestID).self) }
    }

    /// The grids the incident's reports come from, sorted.
    func incidentGrids(_ incident: UUID) async throws -> [String] {
        try await connection.query(
            "SELECT DISTINCT grid_id FROM routing.requests WHERE incident_id = \(incident) AND grid_id IS NOT NULL ORDER BY grid_id",
            logger: logger
        ).collect().map { try $0.decode(String.self) }
    }

    /// Requests of `category` waiting unclaimed in no incident at `grid` (or at any grid of
    /// `street`), made within `window` seconds and near `near` where both have coordinates,
    /// oldest first, with their grids.
    func waitingForIncident(
        grid: String?,
        street: String?,
        category: String,
        besides id: RequestID,
        near: Nearby,
        window seconds: Double
    )
        async throws -> [(id: RequestID, grid: String)]
    {
        try await connection.query(
            """
            SELECT id, substr(unit, 6) FROM routing.requests
            WHERE category = \(category) AND state = 'assigned' AND incident_id IS NULL AND id <> \(id) AND unit LIKE 'grid:%'
              AND (unit = \(grid.map { "grid:\($0)" }) OR (\(grid)::text IS NULL AND street_id = \(street)))
              AND created_at > now() - make_interval(secs => \(seconds))
              AND (\(near.latitude)::float8 IS NULL OR \(near.longitude)::float8 IS NULL OR latitude IS NULL OR longitude IS NULL
                   OR 12742000 * asin(sqrt(power(sin(radians(latitude - \(near.latitude)) / 2), 2)
                        + cos(radians(\(near.latitude))) * cos(radians(latitude)) * power(sin(radians(longitude - \(near.longitude)) / 2), 2)))
                      <= \(near.meters))
            ORDER BY created_at, id
            """,
            logger: logger
        ).collect().map {
            let (id, grid) = try $0.decode((RequestID, String).self)
            return (id, grid)
        }
    }

    func insertIncident(_ incident: UUID, grid: String?, street: String?, category: String, lead: RequestID) async throws {
        try await connection.query(
            """
            INSERT INTO routing.incidents (id, grid_id, street_id, category, lead_request_id)
            VALUES (\(incident), \(grid ?? street ?? "-"), \(street), \(category), \(lead))
            """,
            logger: logger
        )
    }

    func setIncident(_ incident: UUID?, of request: RequestID) async throws {
        try await connection.query("UPDATE routing.requests SET incident_id = \(incident) WHERE id = \(request)", logger: logger)
    }

    func widenIncident(_ incident: UUID, street: String) async throws {
        try await connection.query(
            "UPDATE routing.incidents SET scope = 'street', street_id = \(street) WHERE id = \(incident)",
            logger: logger
        )
    }

    func incident(of request: RequestID) async throws -> (id: UUID, lead: RequestID)? {
        try await connection.query(
            """
            SELECT i.id, i.lead_request_id FROM routing.requests r JOIN routing.incidents i ON i.id = r.incident_id WHERE r.id = \(request)
            """,
            logger: logger
        ).collect().first.map { try $0.decode((UUID, RequestID).self) }
    }

    /// Every assignment of the request (owner and summonses).
    func assignments(of request: RequestID) async throws -> [UUID] {
        try await connection.query("SELECT id FROM routing.assignments WHERE request_id = \(request)", logger: logger).collect().map {
            try $0.decode(UUID.self)
        }
    }
}
