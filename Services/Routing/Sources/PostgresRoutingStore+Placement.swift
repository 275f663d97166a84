import Foundation
import GridLoopDomain
import GridLoopPersistence
import PostgresNIO

/// The SQL of placing a new request: its row, its place, the duplicate it may be, and the
/// incident many reports of one problem become.
extension PostgresRoutingStore {
    /// Inserts a new request as placed: `lifecycle` (assigned to its first unit, or `received`
    /// while an incident may still take it), its grid and that grid's street, where it is, the
    /// request it may duplicate and, when assigned, its `owner` assignment's columns. `nil` if it
    /// exists already; else the street it is in.
    func insertRequest(
        _ id: RequestID,
        _ lifecycle: RequestLifecycle,
        category: String,
        description: String,
        correlationId: String,
        grid: String?,
        location: Location,
        possibleDuplicateOf duplicate: RequestID?,
        owner: (assignment: UUID, claim: SLATimers.Deadline)?
    ) async throws -> PlacedRequest? {
        // With its owner assignment (written next, in this transaction) the owner columns are set
        // here as the triggers would set them: assigned when created, the claim deadline and its
        // warning. Created at the clock's time, not the transaction's start: requests placed
        // together in one transaction keep their order (the oldest leads an incident, is the
        // duplicate hint, comes first in the inbox).
        let rows = try await connection.query(
            """
            INSERT INTO routing.requests (id, state, unit, version, category, description, correlation_id, grid_id, street_id,
                household_id, address, latitude, longitude, possible_duplicate_of, created_at,
                owner_assignment_id, owner_assigned_at, claim_due, claim_warning)
            SELECT \(id), \(lifecycle.state.rawValue), \(lifecycle.unit?.description), \(lifecycle.version), \(category), \(description),
                \(correlationId), \(grid), (SELECT street_id FROM routing.grids WHERE id = \(grid)),
                \(location.householdId), \(location.address), \(location.latitude), \(location.longitude), \(duplicate), clock.at,
                \(owner?.assignment), CASE WHEN \(owner?.assignment)::uuid IS NOT NULL THEN clock.at END, \(owner?.claim.due), \(owner?.claim.warning)
            FROM (SELECT clock_timestamp() AS at) AS clock
            ON CONFLICT (id) DO NOTHING RETURNING street_id
            """,
            logger: logger
        ).collect()
        guard let row = rows.first else { return nil }
        return PlacedRequest(street: try row.decode(String?.self))
    }

    /// The oldest open request of `category` at the same household or address made within
    /// `window` seconds (the new request's duplicate hint). Two reports of one problem placed
    /// at the same moment: the second waits for the first's commit and sees it.
    func possibleDuplicate(of id: RequestID, category: String, location: Location, window seconds: Double) async throws -> RequestID? {
        guard location.householdId != nil || location.address != nil else { return nil }
        let place = location.householdId ?? (location.address ?? "").replacingOccurrences(of: " ", with: "")
        try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\("duplicate:\(category):\(place)")))", logger: logger)
        return try await connection.query(
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

/// A new request as written: the street it is in (its grid's), if any.
struct PlacedRequest: Sendable {
    var street: String?
}
