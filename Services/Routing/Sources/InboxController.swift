import Foundation
import GridLoopAuth
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import Hummingbird
import Logging
import PostgresNIO

/// A unit's open work from routing's tables: the requests it holds, the summonses it must
/// answer, and (for a grid) its households' resolved requests waiting for the on-site check
/// and the resident's verdict, with their running timers.
///
/// The page is cut in PostgreSQL: flags, counts, filters, the work order and the page are
/// computed there (set-based joins, no per-item subqueries), so a street's 10,000 open items
/// cost one query that returns the page's rows and the counts. It computes exactly what
/// ``StaffInbox/flags(state:now:claimDue:resolveDue:claimWarning:resolveWarning:)``,
/// ``StaffInbox/workOrder(_:_:)`` and ``StaffInbox/page(unit:items:filter:reader:)`` specify
/// (the unit tests' model; the end-to-end inbox test checks this query against them).
struct InboxStore: Sendable {
    let postgres: PostgresClient

    func page(of unit: UnitRef, filter: StaffInbox.Filter, reader: String, now: Date = Date(), logger: Logger) async throws -> StaffInbox.Page {
        let states = filter.states.map(\.rawValue).sorted()
        let rows = try await postgres.query(
            """
            WITH items AS (
                SELECT r.id AS request_id, r.owner_assignment_id AS assignment_id, 'request' AS kind, r.state, r.category, r.claimed_by,
                       r.owner_assigned_at AS assigned_at, r.claim_due, r.resolve_due,
                       CASE r.state WHEN 'assigned' THEN r.claim_due WHEN 'claimed' THEN r.resolve_due END AS due,
                       CASE r.state WHEN 'assigned' THEN r.claim_warning WHEN 'claimed' THEN r.resolve_warning END AS warn
                FROM routing.requests r
                WHERE r.unit = \(unit.description) AND r.state IN ('assigned', 'claimed', 'resolved') AND r.owner_assignment_id IS NOT NULL
                UNION ALL
                -- A grid also sees its households' resolved requests held elsewhere: the on-site check and the
                -- resident's verdict are its. Its home grid as routing's authorization counts it: the grid of the
                -- first assignment. (No rows for other units.)
                SELECT r.id, r.owner_assignment_id, 'request', r.state, r.category, r.claimed_by, r.owner_assigned_at, r.claim_due, r.resolve_due, NULL, NULL
                FROM routing.requests r
                WHERE \(unit.tier == .grid) AND r.state = 'resolved' AND r.grid_id = \(unit.id) AND r.unit IS DISTINCT FROM \(unit.description)
                  AND r.owner_assignment_id IS NOT NULL
                  AND (SELECT first.unit FROM routing.assignments first WHERE first.request_id = r.id AND first.kind = 'owner'
                       ORDER BY first.assigned_at LIMIT 1) = \(unit.description)
                UNION ALL
                SELECT r.id, a.id, 'summons', CASE WHEN s.acknowledged_at IS NULL THEN 'summoned' ELSE 'acknowledged' END, r.category,
                       s.acknowledged_by, a.assigned_at, d.claim_due, d.resolve_due,
                       CASE WHEN s.acknowledged_at IS NULL THEN d.claim_due ELSE d.resolve_due END,
                       CASE WHEN s.acknowledged_at IS NULL THEN d.claim_warning ELSE d.resolve_warning END
                FROM routing.summons s
                JOIN routing.assignments a ON a.id = s.assignment_id
                JOIN routing.requests r ON r.id = s.request_id
                CROSS JOIN LATERAL routing.owner_deadlines(a.id) d
                WHERE s.unit = \(unit.description) AND s.done_at IS NULL AND r.state NOT IN ('closed', 'rejected', 'merged')
            ), flagged AS (
                SELECT items.*, coalesce(due <= \(now), false) AS overdue, NOT coalesce(due <= \(now), false) AND coalesce(warn <= \(now), false) AS warning
                FROM items
            ), counts AS (
                SELECT count(*)::int AS total, (count(*) FILTER (WHERE overdue))::int AS overdue_count, (count(*) FILTER (WHERE warning))::int AS warning_count,
                       (count(*) FILTER (WHERE claimed_by IS NULL AND state IN ('assigned', 'summoned')))::int AS unclaimed,
                       (count(*) FILTER (WHERE state = 'assigned'))::int AS assigned, (count(*) FILTER (WHERE state = 'claimed'))::int AS claimed,
                       (count(*) FILTER (WHERE state = 'resolved'))::int AS resolved, (count(*) FILTER (WHERE state = 'summoned'))::int AS summoned,
                       (count(*) FILTER (WHERE state = 'acknowledged'))::int AS acknowledged
                FROM flagged
            ), matching AS (
                SELECT * FROM flagged
                WHERE (cardinality(\(states)::text[]) = 0 OR state = ANY(\(states)::text[]))
                  AND (\(filter.category)::text IS NULL OR category = \(filter.category))
                  AND (\(filter.overdue)::boolean IS NULL OR overdue = \(filter.overdue))
                  AND (NOT \(filter.mine) OR claimed_by = \(reader))
                  AND (\(filter.request.flatMap(UUID.init(uuidString:)))::uuid IS NULL OR request_id = \(filter.request.flatMap(UUID.init(uuidString:))))
            ), paged AS (
                SELECT * FROM matching ORDER BY overdue DESC, due ASC NULLS LAST, assigned_at, assignment_id LIMIT \(filter.limit) OFFSET \(filter.offset)
            )
            SELECT c.total, c.overdue_count, c.warning_count, c.unclaimed, c.assigned, c.claimed, c.resolved, c.summoned, c.acknowledged,
                   (SELECT count(*)::int FROM matching),
                   p.request_id, p.assignment_id, p.kind, p.state, r.category, r.description, r.grid_id, r.household_id, r.address,
                   p.assigned_at, p.claimed_by, CASE p.kind WHEN 'summons' THEN s.acknowledged_at ELSE r.owner_claimed_at END,
                   r.possible_duplicate_of, r.incident_id, s.summoned_by, r.reopen_count,
                   p.claim_due, p.resolve_due, p.overdue, p.warning
            FROM counts c
            LEFT JOIN paged p ON true
            LEFT JOIN routing.requests r ON r.id = p.request_id
            LEFT JOIN routing.summons s ON p.kind = 'summons' AND s.assignment_id = p.assignment_id
            ORDER BY p.overdue DESC, p.due ASC NULLS LAST, p.assigned_at, p.assignment_id
            """,
            logger: logger
        )
        var counts = StaffInbox.Counts()
        var matching = 0
        var items: [StaffInbox.Item] = []
        for try await row in rows {
            let columns = row.makeRandomAccess()
            counts.total = try columns[0].decode(Int.self)
            counts.overdue = try columns[1].decode(Int.self)
            counts.warning = try columns[2].decode(Int.self)
            counts.unclaimed = try columns[3].decode(Int.self)
            counts.byState = [:]
            for (index, state) in ["assigned", "claimed", "resolved", "summoned", "acknowledged"].enumerated() {
                let count = try columns[4 + index].decode(Int.self)
                if count > 0 { counts.byState[state] = count }
            }
            matching = try columns[9].decode(Int.self)
            let base = 10
            guard let request = try columns[base].decode(UUID?.self) else { continue }
            let (assignment, kindText, stateText, category, description, grid, household, address, assignedAt, claimedBy, claimedAt) =
                (try columns[base + 1].decode(UUID.self), try columns[base + 2].decode(String.self), try columns[base + 3].decode(String.self), try columns[base + 4].decode(String.self),
                 try columns[base + 5].decode(String.self), try columns[base + 6].decode(String?.self), try columns[base + 7].decode(String?.self), try columns[base + 8].decode(String?.self),
                 try columns[base + 9].decode(Date.self), try columns[base + 10].decode(String?.self), try columns[base + 11].decode(Date?.self))
            let (duplicate, incident, summonedBy, reopens, claimDue, resolveDue, overdue, warning) =
                (try columns[base + 12].decode(UUID?.self), try columns[base + 13].decode(UUID?.self), try columns[base + 14].decode(String?.self), try columns[base + 15].decode(Int.self),
                 try columns[base + 16].decode(Date?.self), try columns[base + 17].decode(Date?.self), try columns[base + 18].decode(Bool.self), try columns[base + 19].decode(Bool.self))
            guard let kind = StaffInbox.Kind(rawValue: kindText), let state = StaffInbox.State(rawValue: stateText) else { continue }
            let running = state == .assigned || state == .summoned
            items.append(StaffInbox.Item(
                requestId: request.uuidString.lowercased(), assignmentId: assignment.uuidString.lowercased(), kind: kind, state: state,
                category: category, description: description, gridId: grid, householdId: household, address: address, assignedAt: assignedAt,
                ageSeconds: max(0, Int(now.timeIntervalSince(assignedAt))), claimedBy: claimedBy, claimedAt: claimedAt,
                claimDueAt: running ? claimDue : nil, resolveDueAt: running || state == .resolved ? nil : resolveDue, warning: warning, overdue: overdue,
                possibleDuplicateOf: duplicate?.uuidString.lowercased(), incidentId: incident?.uuidString.lowercased(), summonedBy: summonedBy,
                reopenCount: reopens
            ))
        }
        let end = filter.offset + items.count
        return StaffInbox.Page(unit: unit.description, counts: counts, matching: matching, items: items, next: end < matching ? StaffInbox.Filter.cursor(offset: end) : nil)
    }
}

/// `GET /v1/inbox`: a unit's open work for its staff (the web inbox, `gridloop staff inbox`).
/// A grid's staff read their grid's, a street officer his street's, a department officer her
/// department's (its own requests and the summonses it must answer); supervisors any unit's.
struct InboxController: Sendable {
    let store: InboxStore
    let authenticator: Authenticator

    func addRoutes(to router: Router<GridLoopRequestContext>) {
        router.get("v1/inbox") { request, context in try await inbox(request, context: context) }
    }

    private func inbox(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
        let unit: UnitRef
        if let named = query["unit"], !named.isEmpty {
            do { unit = try UnitRef(parsing: named) } catch {
                throw Problem(status: .badRequest, code: "validation_failed", title: "Invalid inbox query", detail: "unit: \(error)",
                              errors: [FieldError(field: "unit", code: "invalid", message: "a unit such as grid:guanghua-3 or street:xiping")])
            }
        } else if let own = principal.unit {
            unit = own
        } else {
            throw Problem(status: .badRequest, code: "validation_failed", title: "Invalid inbox query", detail: "\(principal.id) belongs to no unit: name one with ?unit=",
                          errors: [FieldError(field: "unit", code: "required", message: "is required for readers without a unit")])
        }
        do { try ReadScope.requireInbox(principal, unit: unit) } catch { throw Problem(error) }
        let filter: StaffInbox.Filter
        do { filter = try StaffInbox.Filter(query: query) } catch {
            throw Problem(status: .badRequest, code: "validation_failed", title: "Invalid inbox query", detail: error.errors.map(\.description).joined(separator: "; "), errors: error.errors)
        }
        return try JSONResponse.make(try await store.page(of: unit, filter: filter, reader: principal.id, logger: context.logger))
    }
}
