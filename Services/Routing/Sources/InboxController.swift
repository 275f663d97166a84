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
/// The page is cut in PostgreSQL by `routing.inbox_page` (routing migrations 17, 18): the counts come
/// from an index-only scan of a narrow index, the page is read off the work-order index, and the
/// function's plan is generic (planned once per connection), so a street's 10,000 open items cost
/// a few milliseconds, one round trip returning the page's rows and the counts. It computes exactly what
/// ``StaffInbox/flags(state:now:claimDue:resolveDue:claimWarning:resolveWarning:)``,
/// ``StaffInbox/workOrder(_:_:)`` and ``StaffInbox/page(unit:items:filter:reader:)`` specify
/// (the unit tests' model; the end-to-end inbox test checks this query against them).
struct InboxStore: Sendable {
    let postgres: PostgresClient

    func page(of unit: UnitRef, filter: StaffInbox.Filter, reader: String, now: Date = Date(), logger: Logger) async throws -> StaffInbox.Page {
        let states = filter.states.map(\.rawValue).sorted()
        let request = filter.request.flatMap(GridLoopDomain.RequestID.init)
        let rows = try await postgres.query(
            """
            SELECT * FROM routing.inbox_page(\(unit.description), \(unit.tier == .grid), \(unit.id), \(now), \(states)::text[], \(filter.category)::text,
                \(filter.overdue)::boolean, \(filter.mine), \(reader), \(request)::uuid, \(filter.limit)::int, \(filter.offset)::int)
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
            guard let request = try columns[base].decode(GridLoopDomain.RequestID?.self) else { continue }
            let (assignment, kindText, stateText, category, description, grid, household, address, assignedAt, claimedBy, claimedAt) =
                (
                    try columns[base + 1].decode(UUID.self), try columns[base + 2].decode(String.self), try columns[base + 3].decode(String.self),
                    try columns[base + 4].decode(String.self),
                    try columns[base + 5].decode(String.self), try columns[base + 6].decode(String?.self), try columns[base + 7].decode(String?.self),
                    try columns[base + 8].decode(String?.self),
                    try columns[base + 9].decode(Date.self), try columns[base + 10].decode(String?.self), try columns[base + 11].decode(Date?.self)
                )
            let (duplicate, incident, summonedBy, reopens, claimDue, resolveDue, overdue, warning) =
                (
                    try columns[base + 12].decode(GridLoopDomain.RequestID?.self), try columns[base + 13].decode(UUID?.self),
                    try columns[base + 14].decode(String?.self),
                    try columns[base + 15].decode(Int.self),
                    try columns[base + 16].decode(Date?.self), try columns[base + 17].decode(Date?.self), try columns[base + 18].decode(Bool.self),
                    try columns[base + 19].decode(Bool.self)
                )
            guard let kind = StaffInbox.Kind(rawValue: kindText), let state = StaffInbox.State(rawValue: stateText) else { continue }
            let running = state == .assigned || state == .summoned
            items.append(
                StaffInbox.Item(
                    requestId: request.description,
                    assignmentId: assignment.uuidString.lowercased(),
                    kind: kind,
                    state: state,
                    category: category,
                    description: description,
                    gridId: grid,
                    householdId: household,
                    address: address,
                    assignedAt: assignedAt,
                    ageSeconds: max(0, Int(now.timeIntervalSince(assignedAt))),
                    claimedBy: claimedBy,
                    claimedAt: claimedAt,
                    claimDueAt: running ? claimDue : nil,
                    resolveDueAt: running || state == .resolved ? nil : resolveDue,
                    warning: warning,
                    overdue: overdue,
                    possibleDuplicateOf: duplicate?.description,
                    incidentId: incident?.uuidString.lowercased(),
                    summonedBy: summonedBy,
                    reopenCount: reopens
                )
            )
        }
        let end = filter.offset + items.count
        return StaffInbox.Page(
            unit: unit.description,
            counts: counts,
            matching: matching,
            items: items,
            next: end < matching ? StaffInbox.Filter.cursor(offset: end) : nil
        )
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
                throw Problem(
                    status: .badRequest,
                    code: "validation_failed",
                    title: "Invalid inbox query",
                    detail: "unit: \(error)",
                    errors: [FieldError(field: "unit", code: "invalid", message: "a unit such as grid:guanghua-3 or street:xiping")]
                )
            }
        } else if let own = principal.unit {
            unit = own
        } else {
            throw Problem(
                status: .badRequest,
                code: "validation_failed",
                title: "Invalid inbox query",
                detail: "\(principal.id) belongs to no unit: name one with ?unit=",
                errors: [FieldError(field: "unit", code: "required", message: "is required for readers without a unit")]
            )
        }
        do { try ReadScope.requireInbox(principal, unit: unit) } catch { throw Problem(error) }
        let filter: StaffInbox.Filter
        do { filter = try StaffInbox.Filter(query: query) } catch {
            throw Problem.validationFailed(error.errors, title: "Invalid inbox query")
        }
        return try JSONResponse.make(try await store.page(of: unit, filter: filter, reader: principal.id, logger: context.logger))
    }
}
