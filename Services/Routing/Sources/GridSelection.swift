import GridLoopAuth
import GridLoopDomain
import Logging
import PostgresNIO

/// The grids a proactive task, a policy notice or a consultation reaches: as listed, else a
/// street's (a street officer's own by default), else the district's; of a kind if asked. One
/// query and one set of field errors for the three.
enum GridSelection {
    /// Each grid with its street, in id order.
    typealias Grids = [(grid: String, street: String)]

    /// The grids matching `listed`, `street` (for a street officer who names neither, her own)
    /// and `kind`.
    static func grids(
        listed: [String]?,
        street asked: String?,
        kind: String?,
        for principal: Principal,
        on postgres: PostgresClient,
        logger: Logger
    ) async throws -> Grids {
        let street = asked ?? (listed == nil && principal.role == "street-officer" ? principal.unit?.id : nil)
        return try await postgres.query(
            """
            SELECT id, street_id FROM routing.grids
            WHERE (\(listed)::text[] IS NULL OR id = ANY(\(listed ?? [])::text[]))
              AND (\(street)::text IS NULL OR street_id = \(street)) AND (\(kind)::text IS NULL OR kind = \(kind))
            ORDER BY id
            """,
            logger: logger
        ).collect().map { try $0.decode((String, String).self) }.map { (grid: $0.0, street: $0.1) }
    }

    /// What is wrong with the selection: listed grids the org does not have (or not of that
    /// street or kind), or none matching at all (named by `street` when only a street was given).
    static func problems(listed: [String]?, street: String?, found: Grids) -> [FieldError] {
        let unknown = Set(listed ?? []).subtracting(found.map(\.grid))
        if !unknown.isEmpty {
            let message = "not grids of the org (or not of that street or kind): \(unknown.sorted().joined(separator: ", "))"
            return [FieldError(field: "grids", code: "invalid", message: message)]
        }
        if found.isEmpty {
            return [FieldError(field: listed == nil && street != nil ? "street" : "grids", code: "empty", message: "no grid matches")]
        }
        return []
    }

    /// The org's households per grid of `grids` (0 for a grid that lists none).
    static func households(of grids: Grids, on postgres: PostgresClient, logger: Logger) async throws -> [String: Int] {
        let counts = try await postgres.query(
            "SELECT grid_id, count(*)::int FROM routing.households WHERE grid_id = ANY(\(grids.map(\.grid))::text[]) GROUP BY grid_id",
            logger: logger
        ).collect().map { try $0.decode((String, Int).self) }
        var households = Dictionary(uniqueKeysWithValues: grids.map { ($0.grid, 0) })
        for (grid, count) in counts { households[grid] = count }
        return households
    }

    /// Who may read a task, notice or consultation that `author` made for `grids` (of `streets`):
    /// supervisors and services, the district's oversight, its author, and the staff of those
    /// grids and streets.
    static func mayRead(_ principal: Principal, author: String, grids: some Sequence<String>, streets: some Sequence<String>) -> Bool {
        let unit = principal.unit
        return principal.readsDistrict || unit?.tier == .oversight || principal.id == author
            || (unit?.tier == .grid && grids.contains(unit?.id ?? "")) || (unit?.tier == .street && streets.contains(unit?.id ?? ""))
    }

    /// A selection's households as a coverage needs them, from rows of (grid, street, household,
    /// address) — a grid without households has one row with no household.
    struct Homes {
        /// Grid → its households, in the rows' order.
        var households: [String: [String]] = [:]
        var streetOf: [String: String] = [:]
        var gridOf: [String: String] = [:]
        var addresses: [String: String] = [:]

        init(_ rows: [(String, String, String?, String?)]) {
            for (grid, street, household, address) in rows {
                streetOf[grid] = street
                households[grid, default: []] += household.map { [$0] } ?? []
                if let household {
                    gridOf[household] = grid
                    addresses[household] = address ?? ""
                }
            }
        }
    }
}
