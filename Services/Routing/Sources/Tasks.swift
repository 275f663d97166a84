import Foundation
import GridLoopAuth
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO

/// Who may open a proactive task for which grids, and who checks a household: pure rules.
package enum TaskRules {
    /// Why `principal` may not open a task for `grids` (each with its street), or `nil`:
    /// supervisors for any grids, a street officer for her street's grids only.
    package static func refusal(toOpen principal: Principal, grids: [(grid: String, street: String)]) -> String? {
        if principal.role == "supervisor" { return nil }
        guard principal.role == "street-officer", let unit = principal.unit, unit.tier == .street else {
            return "proactive tasks are opened by street officers (for their street's grids) and supervisors; not \(principal.id) (\(principal.role))"
        }
        let others = grids.filter { $0.street != unit.id }.map(\.grid)
        return others.isEmpty ? nil : "\(principal.id) opens tasks for the grids of street \(unit.id) only; not \(others.joined(separator: ", "))"
    }

    /// Why `principal` may not record a check of a household of `grid`, or `nil`: the grid's own staff.
    package static func refusal(toCheck principal: Principal, grid: String) -> String? {
        guard ["grid-worker", "grid-leader"].contains(principal.role), let unit = principal.unit, unit.tier == .grid else {
            return "households are checked by their grid's staff; not \(principal.id) (\(principal.role))"
        }
        return unit.id == grid ? nil : "the household is in grid:\(grid), not \(unit)"
    }
}

/// 未诉先办 over HTTP: `POST /v1/tasks` (open a task for grids), `GET /v1/tasks` (the tasks
/// that reach the caller, with coverage), `GET /v1/tasks/{id}` (coverage per grid and street,
/// and the caller's grid's households with their checks), `POST /v1/tasks/{id}/checks` (a
/// household checked, nothing wrong). A hazard found is reported as a request with the task's
/// id (`taskId` in the submission): routing links it and counts the household checked.
struct TasksController: Sendable {
    let postgres: PostgresClient
    let outbox: Outbox
    let relay: OutboxRelay
    let authenticator: Authenticator

    func addRoutes(to router: Router<GridLoopRequestContext>) {
        router.post("v1/tasks") { request, context in try await open(request, context: context) }
        router.get("v1/tasks") { request, context in try await list(request, context: context) }
        router.get("v1/tasks/:id") { request, context in try await show(request, context: context) }
        router.post("v1/tasks/:id/checks") { request, context in try await check(request, context: context) }
    }

    struct OpenBody: Decodable {
        var title: String
        var description: String?
        var category: String
        var dueOn: String
        var street: String?
        var grids: [String]?
        var kind: String?
    }

    struct CheckBody: Decodable {
        var householdId: String
        var note: String?
    }

    /// A task as the API gives it.
    struct TaskView: Encodable {
        var id: String
        var title: String
        var description: String
        var category: String
        var dueOn: String
        var openedBy: String
        var openedByUnit: String
        var createdAt: Date
        var grids: [String]
        var coverage: TaskCoverage
        /// The caller's grid's households and their checks (grid staff).
        var households: [HouseholdView]?
        /// Requests reported for hazards found.
        var hazards: [String]
    }

    struct HouseholdView: Encodable {
        var id: String
        var address: String
        var outcome: TaskCheckOutcome?
        var checkedBy: String?
        var checkedAt: Date?
        var requestId: String?
    }

    private func open(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        let body = try await JSONBody.decode(OpenBody.self, from: request, upTo: 64 * 1024, title: "Malformed task")
        let logger = context.logger
        let title = body.title.trimmingCharacters(in: .whitespacesAndNewlines)
        let description = (body.description ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        var errors: [FieldError] = []
        if title.isEmpty || title.count > 200 || !PlainText.isClean(title) || title.contains("\n") {
            errors.append(FieldError(field: "title", code: "invalid", message: "1–200 characters on one line"))
        }
        if description.count > 2000 || !PlainText.isClean(description) {
            errors.append(FieldError(field: "description", code: "invalid", message: "at most 2000 characters"))
        }
        let categories = try await postgres.query("SELECT id FROM routing.categories", logger: logger).collect().map { try $0.decode(String.self) }
        if !categories.contains(body.category) {
            errors.append(
                FieldError(field: "category", code: "invalid", message: "a category of the org (\(categories.sorted().joined(separator: ", ")))")
            )
        }
        if LocalDay.parse(body.dueOn) == nil {
            errors.append(FieldError(field: "dueOn", code: "invalid", message: "a day, yyyy-MM-dd"))
        }
        if let kind = body.kind, !["residents", "compound", "merchants", "enterprises", "institutions"].contains(kind) {
            errors.append(FieldError(field: "kind", code: "invalid", message: "residents, compound, merchants, enterprises or institutions"))
        }
        guard errors.isEmpty else { throw Problem.validationFailed(errors, title: "Invalid task") }
        let grids = try await GridSelection.grids(
            listed: body.grids,
            street: body.street,
            kind: body.kind,
            for: principal,
            on: postgres,
            logger: logger
        )
        let problems = GridSelection.problems(listed: body.grids, street: body.street, found: grids)
        guard problems.isEmpty else { throw Problem.validationFailed(problems, title: "Invalid task") }
        if let refusal = TaskRules.refusal(toOpen: principal, grids: grids) { throw Problem(AuthFailure.forbidden(refusal)) }
        // The same form sent again (Idempotency-Key) opens nothing new: the task it opened.
        let key = request.headers[HTTPField.Name("Idempotency-Key")!].map { "\(principal.id):\($0.prefix(200))" }
        if let key, let existing = try await task(forKey: key, logger: logger) {
            return try JSONResponse.make(
                try await view(existing, for: principal, logger: logger),
                headers: [HTTPField.Name("Idempotent-Replayed")!: "true"]
            )
        }
        let id = UUID()
        let dueBy = LocalDay.end(of: body.dueOn, utcOffset: try await LocalDay.utcOffset(on: postgres, logger: logger)) ?? Date()
        let unit = principal.unit ?? RoutingRules.triage
        let event = MessageEnvelope(
            type: MessageType.taskOpened,
            requestId: nil,
            correlationId: id.uuidString.lowercased(),
            payload: TaskOpened(
                taskId: id.uuidString.lowercased(),
                title: title,
                category: body.category,
                grids: grids.map(\.grid),
                dueOn: body.dueOn,
                openedBy: principal.id,
                unit: unit
            )
        )
        let opened = try await postgres.transaction(logger: logger) { connection -> Bool in
            let inserted = try await connection.query(
                """
                INSERT INTO routing.tasks (id, title, description, category, due_on, due_by, opened_by, opened_by_unit, idempotency_key)
                VALUES (\(id), \(title), \(description), \(body.category), \(body.dueOn)::date, \(dueBy), \(principal.id), \(unit.description), \(key))
                ON CONFLICT (idempotency_key) DO NOTHING RETURNING id
                """,
                logger: logger
            ).collect()
            guard !inserted.isEmpty else { return false }  // the same key, at the same moment
            try await connection.query(
                "INSERT INTO routing.task_grids (task_id, grid_id) SELECT \(id), unnest(\(grids.map(\.grid))::text[])",
                logger: logger
            )
            try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
            return true
        }
        guard opened else {
            let existing = try await task(forKey: key ?? "", logger: logger) ?? id
            return try JSONResponse.make(
                try await view(existing, for: principal, logger: logger),
                headers: [HTTPField.Name("Idempotent-Replayed")!: "true"]
            )
        }
        relay.wake()
        logger.info("task opened", metadata: ["task.id": "\(id)", "grids": "\(grids.count)", "by": "\(principal.id)"])
        return try JSONResponse.make(try await view(id, for: principal, logger: logger), status: .created)
    }

    /// The task a form with `key` opened already.
    private func task(forKey key: String, logger: Logger) async throws -> UUID? {
        try await postgres.query("SELECT id FROM routing.tasks WHERE idempotency_key = \(key)", logger: logger).collect().first?.decode(UUID.self)
    }

    private func list(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        let unit = principal.unit
        let everything = principal.readsDistrict || unit?.tier == .oversight
        let ids = try await postgres.query(
            """
            SELECT t.id FROM routing.tasks t
            WHERE \(everything) OR t.opened_by = \(principal.id) OR EXISTS (
                SELECT 1 FROM routing.task_grids tg JOIN routing.grids g ON g.id = tg.grid_id
                WHERE tg.task_id = t.id AND ((\(unit?.tier == .grid) AND g.id = \(unit?.id)) OR (\(unit?.tier == .street) AND g.street_id = \(unit?.id))))
            ORDER BY t.created_at DESC LIMIT 100
            """,
            logger: context.logger
        ).collect().map { try $0.decode(UUID.self) }
        var tasks: [TaskView] = []
        for id in ids { tasks.append(try await view(id, for: principal, logger: context.logger)) }
        return try JSONResponse.make(tasks)
    }

    private func show(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)), try await exists(id, logger: context.logger) else {
            throw Problem(status: .notFound, code: "not_found", title: "No such task", detail: "no proactive task with that id")
        }
        let task = try await view(id, for: principal, logger: context.logger)
        let streets = try await postgres.query(
            "SELECT DISTINCT g.street_id FROM routing.task_grids tg JOIN routing.grids g ON g.id = tg.grid_id WHERE tg.task_id = \(id)",
            logger: context.logger
        ).collect().map { try $0.decode(String.self) }
        guard GridSelection.mayRead(principal, author: task.openedBy, grids: task.grids, streets: streets) else {
            throw Problem(AuthFailure.forbidden("the task reaches other grids than \(principal.id)'s"))
        }
        return try JSONResponse.make(task)
    }

    private func exists(_ id: UUID, logger: Logger) async throws -> Bool {
        try await !postgres.query("SELECT 1 FROM routing.tasks WHERE id = \(id)", logger: logger).collect().isEmpty
    }

    private func check(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        let logger = context.logger
        guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)), try await exists(id, logger: logger) else {
            throw Problem(status: .notFound, code: "not_found", title: "No such task", detail: "no proactive task with that id")
        }
        let body = try await JSONBody.decode(CheckBody.self, from: request, upTo: 16 * 1024, title: "Malformed check")
        let note = body.note.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
        if let note, note.count > 2000 || !PlainText.isClean(note) {
            throw Problem.validationFailed([FieldError(field: "note", code: "invalid", message: "at most 2000 characters")], title: "Invalid check")
        }
        let found = try await postgres.query(
            """
            SELECT h.grid_id, EXISTS (SELECT 1 FROM routing.task_grids tg WHERE tg.task_id = \(id) AND tg.grid_id = h.grid_id)
            FROM routing.households h WHERE h.id = \(body.householdId)
            """,
            logger: logger
        ).collect().first.map { try $0.decode((String, Bool).self) }
        guard let (grid, reached) = found else {
            throw Problem.validationFailed(
                [FieldError(field: "householdId", code: "unknown", message: "no household '\(body.householdId)' in the org")],
                title: "Invalid check"
            )
        }
        guard reached else {
            throw Problem.validationFailed(
                [FieldError(field: "householdId", code: "invalid", message: "the task does not reach grid:\(grid)")],
                title: "Invalid check"
            )
        }
        if let refusal = TaskRules.refusal(toCheck: principal, grid: grid) { throw Problem(AuthFailure.forbidden(refusal)) }
        let event = MessageEnvelope(
            messageId: "task-check:\(id.uuidString.lowercased()):\(body.householdId)",
            type: MessageType.taskChecked,
            requestId: nil,
            correlationId: id.uuidString.lowercased(),
            payload: TaskChecked(taskId: id.uuidString.lowercased(), householdId: body.householdId, grid: grid, staff: principal.id, outcome: .ok)
        )
        let recorded = try await postgres.transaction(logger: logger) { connection -> Bool in
            let inserted = try await connection.query(
                """
                INSERT INTO routing.task_checks (task_id, household_id, grid_id, checked_by, outcome, note)
                VALUES (\(id), \(body.householdId), \(grid), \(principal.id), 'ok', \(note))
                ON CONFLICT (task_id, household_id) DO NOTHING RETURNING household_id
                """,
                logger: logger
            ).collect()
            guard !inserted.isEmpty else { return false }
            try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
            return true
        }
        if recorded { relay.wake() }
        // A household checked twice counts once: the second answer says so and changes nothing.
        return try JSONResponse.make(try await view(id, for: principal, logger: logger), status: recorded ? .created : .ok)
    }

    /// The task with its coverage, and the caller's grid's households when the task reaches it.
    private func view(_ id: UUID, for principal: Principal, logger: Logger) async throws -> TaskView {
        let row = try await postgres.query(
            """
            SELECT title, description, category, to_char(due_on, 'YYYY-MM-DD'), due_by, opened_by, opened_by_unit, created_at
            FROM routing.tasks WHERE id = \(id)
            """,
            logger: logger
        ).collect().first
        guard let row else { throw Problem(status: .notFound, code: "not_found", title: "No such task", detail: "no proactive task with that id") }
        let (title, description, category, dueOn, dueBy, openedBy, openedByUnit, createdAt) = try row.decode(
            (String, String, String, String, Date, String, String, Date).self
        )
        let homes = try await postgres.query(
            """
            SELECT tg.grid_id, g.street_id, h.id, h.address FROM routing.task_grids tg JOIN routing.grids g ON g.id = tg.grid_id
            LEFT JOIN routing.households h ON h.grid_id = tg.grid_id WHERE tg.task_id = \(id) ORDER BY tg.grid_id, h.id
            """,
            logger: logger
        ).collect().map { try $0.decode((String, String, String?, String?).self) }
        let sheet = GridSelection.Homes(homes)
        let (households, streetOf, addresses) = (sheet.households, sheet.streetOf, sheet.addresses)
        let checks = try await postgres.query(
            "SELECT household_id, checked_at, outcome, checked_by, request_id FROM routing.task_checks WHERE task_id = \(id)",
            logger: logger
        ).collect().map { try $0.decode((String, Date, String, String, UUID?).self) }
        let coverage = TaskCoverage.compute(
            households: households,
            streetOf: streetOf,
            checks: checks.map { TaskCoverage.Check(household: $0.0, at: $0.1, outcome: TaskCheckOutcome(rawValue: $0.2) ?? .ok) },
            dueBy: dueBy
        )
        var own: [HouseholdView]?
        if let unit = principal.unit, unit.tier == .grid, let members = households[unit.id] {
            let byHousehold = Dictionary(checks.map { ($0.0, $0) }, uniquingKeysWith: { first, _ in first })
            own = members.map { household in
                let check = byHousehold[household]
                return HouseholdView(
                    id: household,
                    address: addresses[household] ?? "",
                    outcome: check.flatMap { TaskCheckOutcome(rawValue: $0.2) },
                    checkedBy: check?.3,
                    checkedAt: check?.1,
                    requestId: check?.4?.uuidString.lowercased()
                )
            }
        }
        return TaskView(
            id: id.uuidString.lowercased(),
            title: title,
            description: description,
            category: category,
            dueOn: dueOn,
            openedBy: openedBy,
            openedByUnit: openedByUnit,
            createdAt: createdAt,
            grids: households.keys.sorted(),
            coverage: coverage,
            households: own,
            hazards: checks.compactMap { $0.4?.uuidString.lowercased() }.sorted()
        )
    }
}

extension PostgresRoutingStore {
    /// A request reported for a hazard found on a task's household check: linked to the task,
    /// the household counted checked (a hazard), `task.checked` published. Only a report by the
    /// staff of the household's grid is linked; a task that does not exist or does not reach the
    /// household's grid links nothing either (the request goes on as any).
    func linkToTask(_ taskId: UUID, request: GridLoopDomain.RequestID, household: String, staff: String?, correlationId: String) async throws {
        let reached = try await connection.query(
            """
            SELECT h.grid_id FROM routing.households h JOIN routing.task_grids tg ON tg.grid_id = h.grid_id AND tg.task_id = \(taskId)
            WHERE h.id = \(household)
            """,
            logger: logger
        ).collect().first?.decode(String.self)
        guard let grid = reached else {
            logger.warning(
                "hazard report names a task that does not reach its household",
                metadata: ["task.id": "\(taskId)", "household": "\(household)"]
            )
            return
        }
        let actor: Actor? = if let staff { try await staffMember(staff) } else { nil }
        guard let checker = actor, ["grid-worker", "grid-leader"].contains(checker.role), checker.unit == (try? UnitRef(tier: .grid, id: grid)) else {
            logger.warning(
                "hazard report for a task not made by the household's grid staff: not linked",
                metadata: ["task.id": "\(taskId)", "household": "\(household)", "submitted.by": "\(staff ?? "-")"]
            )
            return
        }
        try await connection.query("UPDATE routing.requests SET task_id = \(taskId) WHERE id = \(request)", logger: logger)
        // The household's first hazard report counts; one checked before is not counted again.
        let changed = try await connection.query(
            """
            INSERT INTO routing.task_checks (task_id, household_id, grid_id, checked_by, outcome, request_id)
            VALUES (\(taskId), \(household), \(grid), \(checker.id), 'hazard', \(request))
            ON CONFLICT (task_id, household_id) DO UPDATE SET outcome = 'hazard', request_id = excluded.request_id
            WHERE routing.task_checks.request_id IS NULL
            RETURNING (xmax = 0)
            """,
            logger: logger
        ).collect().first?.decode(Bool.self)
        guard let inserted = changed else { return }  // this household's hazard is reported already
        var event = MessageEnvelope(
            type: MessageType.taskChecked,
            requestId: nil,
            correlationId: correlationId,
            payload: TaskChecked(
                taskId: taskId.uuidString.lowercased(),
                householdId: household,
                grid: grid,
                staff: checker.id,
                outcome: .hazard,
                requestId: request.description,
                recheck: !inserted
            )
        )
        event.messageId = "task-check:\(taskId.uuidString.lowercased()):\(household):hazard:\(request.description)"
        try await emit(event: event)
    }
}
