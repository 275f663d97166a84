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
struct InboxStore: Sendable {
    let postgres: PostgresClient

    /// Every open item of `unit` at `now`, unordered.
    func items(of unit: UnitRef, now: Date = Date(), logger: Logger) async throws -> [StaffInbox.Item] {
        let rows = try await postgres.query(
            """
            SELECT i.request_id, i.assignment_id, i.kind, i.state, i.category, i.description, i.grid_id, i.household_id, i.address,
                   i.assigned_at, i.claimed_by, i.claimed_at, i.duplicate, i.incident_id, i.summoned_by, i.reopen_count,
                   t.claim_due, t.resolve_due, t.claim_warning, t.resolve_warning
            FROM (
                SELECT r.id AS request_id, a.id AS assignment_id, 'request' AS kind, r.state, r.category, r.description, r.grid_id,
                       r.household_id, r.address, a.assigned_at, r.claimed_by, a.claimed_at, r.possible_duplicate_of AS duplicate,
                       r.incident_id, NULL::text AS summoned_by, r.reopen_count
                FROM routing.requests r
                CROSS JOIN LATERAL (
                    SELECT id, assigned_at, claimed_at FROM routing.assignments
                    WHERE request_id = r.id AND kind = 'owner' ORDER BY assigned_at DESC LIMIT 1
                ) a
                WHERE (r.unit = \(unit.description) AND r.state IN ('assigned', 'claimed', 'resolved'))
                   -- A grid also sees its households' resolved requests: the on-site check and the resident's verdict are its.
                   -- Its home grid as routing's authorization counts it: the grid of the first assignment.
                   OR (r.state = 'resolved' AND r.grid_id = \(unit.tier == .grid ? unit.id : nil)
                       AND (SELECT first.unit FROM routing.assignments first WHERE first.request_id = r.id AND first.kind = 'owner'
                            ORDER BY first.assigned_at LIMIT 1) = \(unit.description))
                UNION ALL
                SELECT r.id, a.id, 'summons', CASE WHEN s.acknowledged_at IS NULL THEN 'summoned' ELSE 'acknowledged' END, r.category,
                       r.description, r.grid_id, r.household_id, r.address, a.assigned_at, s.acknowledged_by, s.acknowledged_at,
                       r.possible_duplicate_of, r.incident_id, s.summoned_by, r.reopen_count
                FROM routing.summons s
                JOIN routing.assignments a ON a.id = s.assignment_id
                JOIN routing.requests r ON r.id = s.request_id
                WHERE s.unit = \(unit.description) AND s.done_at IS NULL AND r.state NOT IN ('closed', 'rejected', 'merged')
            ) i
            LEFT JOIN LATERAL (
                SELECT max(due_at) FILTER (WHERE kind = 'claim') AS claim_due,
                       max(due_at) FILTER (WHERE kind = 'resolve') AS resolve_due,
                       max(due_at) FILTER (WHERE kind = 'claim-warning') AS claim_warning,
                       max(due_at) FILTER (WHERE kind = 'resolve-warning') AS resolve_warning
                FROM routing.timers WHERE assignment_id = i.assignment_id AND cancelled_at IS NULL
            ) t ON true
            """,
            logger: logger
        )
        var items: [StaffInbox.Item] = []
        for try await row in rows {
            let (request, assignment, kind, state, category, description, grid, household, address, assignedAt, claimedBy, claimedAt,
                 duplicate, incident, summonedBy, reopens, claimDue, resolveDue, claimWarning, resolveWarning) =
                try row.decode((UUID, UUID, String, String, String, String, String?, String?, String?, Date, String?, Date?,
                                UUID?, UUID?, String?, Int, Date?, Date?, Date?, Date?).self)
            guard let kind = StaffInbox.Kind(rawValue: kind), let state = StaffInbox.State(rawValue: state) else { continue }
            let (warning, overdue) = StaffInbox.flags(state: state, now: now, claimDue: claimDue, resolveDue: resolveDue, claimWarning: claimWarning, resolveWarning: resolveWarning)
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
        return items
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
        let items = try await store.items(of: unit, logger: context.logger)
        return try JSONResponse.make(StaffInbox.page(unit: unit.description, items: items, filter: filter, reader: principal.id))
    }
}
