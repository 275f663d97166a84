import Foundation
import GridLoopAuth
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PostgresNIO

/// What the staff pages read of the org routing owns, and the household visits grid workers
/// log from them:
///
/// - `GET /v1/org`: streets, grids and categories (the forms' pickers; public, as the door
///   plates are: no households, no people);
/// - `GET /v1/org/grids/{grid}`: one grid's staff (with the door plates' work phones) and
///   households, for the staff of that grid, its street, and supervisors;
/// - `POST /v1/visits`: a grid worker's household visit (入户走访) in her own grid, published
///   as `visit.logged` through routing's outbox; the same `id` twice counts once.
struct OrgController: Sendable {
    let postgres: PostgresClient
    let outbox: Outbox
    let relay: OutboxRelay
    let authenticator: Authenticator

    func addRoutes(to router: Router<GridLoopRequestContext>) {
        router.get("v1/org") { request, context in try await summary(request, context: context) }
        router.get("v1/org/grids/:grid") { request, context in try await grid(request, context: context) }
        router.post("v1/visits") { request, context in try await logVisit(request, context: context) }
    }

    private func summary(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let logger = context.logger
        var district = ""
        for try await row in try await postgres.query("SELECT district FROM routing.org_versions ORDER BY version DESC LIMIT 1", logger: logger)
            .decode(String.self)
        {
            district = row
        }
        var streets: [OrgSheets.Summary.Street] = []
        for try await (id, name, kind) in try await postgres.query("SELECT id, name, kind FROM routing.streets ORDER BY id", logger: logger).decode(
            (String, String, String).self
        ) {
            streets.append(.init(id: id, name: name, kind: kind))
        }
        var grids: [OrgSheets.Summary.Grid] = []
        for try await (id, name, street, kind) in try await postgres.query(
            "SELECT id, name, street_id, kind FROM routing.grids ORDER BY street_id, id",
            logger: logger
        )
        .decode((String, String, String, String).self) {
            grids.append(.init(id: id, name: name, street: street, kind: kind))
        }
        var categories: [OrgSheets.Summary.Category] = []
        for try await (id, department, name) in try await postgres.query(
            "SELECT c.id, c.department_id, d.name FROM routing.categories c JOIN routing.departments d ON d.id = c.department_id ORDER BY c.id",
            logger: logger
        ).decode((String, String, String).self) {
            categories.append(.init(id: id, department: department, departmentName: name))
        }
        let summary = OrgSheets.Summary(district: district, streets: streets, grids: grids, categories: categories)
        return try JSONResponse.make(summary, headers: [.cacheControl: "private, max-age=60"])
    }

    private func grid(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        let id = context.parameters.get("grid") ?? ""
        guard UnitRef.isValidID(id) else {
            throw Problem(status: .notFound, code: "not_found", title: "No such grid", detail: "'\(id)' is not a grid id")
        }
        let logger = context.logger
        var found: (name: String, street: String, streetName: String, kind: String, households: Int, population: Int)?
        for try await row in try await postgres.query(
            """
            SELECT g.name, g.street_id, s.name, g.kind, g.households, g.population
            FROM routing.grids g JOIN routing.streets s ON s.id = g.street_id WHERE g.id = \(id)
            """,
            logger: logger
        ).decode((String, String, String, String, Int, Int).self) {
            found = row
        }
        guard let found else { throw Problem(status: .notFound, code: "not_found", title: "No such grid", detail: "no grid '\(id)' in the org") }
        // The grid's own staff, its street's, and those who oversee.
        let unit = principal.unit
        let allowed =
            principal.role == "supervisor" || unit?.tier == .oversight || (unit?.tier == .grid && unit?.id == id)
            || (unit?.tier == .street && unit?.id == found.street)
        guard allowed else {
            throw Problem(
                status: .forbidden,
                code: "forbidden",
                title: "Not your grid",
                detail: "\(principal.id) works for \(unit?.description ?? "no unit"), not grid:\(id) or street:\(found.street)"
            )
        }
        var staff: [OrgSheets.Grid.Person] = []
        for try await (staffId, name, role, phone) in try await postgres.query(
            "SELECT id, name, role, work_phone FROM routing.staff WHERE unit = \("grid:\(id)") ORDER BY role DESC, id",
            logger: logger
        ).decode((String, String, String, String?).self) {
            staff.append(.init(id: staffId, name: name, role: role, phone: phone))
        }
        var households: [OrgSheets.Grid.Household] = []
        for try await (household, address) in try await postgres.query(
            "SELECT id, address FROM routing.households WHERE grid_id = \(id) ORDER BY id",
            logger: logger
        )
        .decode((String, String).self) {
            households.append(.init(id: household, address: address))
        }
        let sheet = OrgSheets.Grid(
            id: id,
            name: found.name,
            street: found.street,
            streetName: found.streetName,
            kind: found.kind,
            householdCount: found.households,
            population: found.population,
            staff: staff,
            households: households
        )
        return try JSONResponse.make(sheet, headers: [.cacheControl: "private, no-store"])
    }

    struct VisitBody: Decodable {
        var householdId: String
        var visitedAt: Date?
        var note: String?
        /// The field app's id for this visit, so a re-send counts once.
        var id: String?
    }

    private func logVisit(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        let body = try await JSONBody.decode(VisitBody.self, from: request, upTo: 16 * 1024, title: "Malformed visit")
        var errors: [FieldError] = []
        if !UnitRef.isValidID(body.householdId) { errors.append(FieldError(field: "householdId", code: "invalid", message: "is not a household id")) }
        if let id = body.id, !UnitRef.isValidID(id) {
            errors.append(FieldError(field: "id", code: "invalid", message: "letters, digits and - only, at most 64"))
        }
        if let note = body.note, note.count > 2000 { errors.append(FieldError(field: "note", code: "too_long", message: "at most 2000 characters")) }
        if let at = body.visitedAt, at > Date().addingTimeInterval(300) {
            errors.append(FieldError(field: "visitedAt", code: "in_future", message: "is in the future"))
        }
        guard errors.isEmpty else {
            throw Problem.validationFailed(errors, title: "Invalid visit")
        }
        guard ["grid-worker", "grid-leader"].contains(principal.role), let unit = principal.unit, unit.tier == .grid else {
            throw Problem(
                status: .forbidden,
                code: "forbidden",
                title: "Only grid staff log visits",
                detail: "\(principal.id) is a \(principal.role)"
            )
        }
        let logger = context.logger
        var grid: String?
        for try await found in try await postgres.query("SELECT grid_id FROM routing.households WHERE id = \(body.householdId)", logger: logger)
            .decode(String.self)
        {
            grid = found
        }
        guard let grid else {
            throw Problem(
                status: .badRequest,
                code: "validation_failed",
                title: "Invalid visit",
                detail: "householdId: no household '\(body.householdId)' in the org",
                errors: [FieldError(field: "householdId", code: "unknown", message: "no such household")]
            )
        }
        guard grid == unit.id else {
            throw Problem(
                status: .forbidden,
                code: "forbidden",
                title: "Not your grid",
                detail: "household \(body.householdId) is in grid:\(grid), not \(unit)"
            )
        }
        let visitId = body.id ?? MessageID.make()
        let visitedAt = body.visitedAt ?? Date()
        let note = body.note.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
        var envelope = MessageEnvelope(
            type: MessageType.visitLogged,
            requestId: nil,
            correlationId: visitId,
            payload: VisitLogged(visitId: visitId, staff: principal.id, householdId: body.householdId, visitedAt: visitedAt, note: note)
        )
        envelope.messageId = "visit:\(visitId)"
        envelope.occurredAt = visitedAt
        let visitEvent = envelope
        try await postgres.transaction(logger: logger) { connection in
            try await outbox.add(event: visitEvent, exchange: GridLoopExchange.events, on: connection, logger: logger)
        }
        relay.wake()
        return try JSONResponse.make(["visitId": visitId, "householdId": body.householdId], status: .accepted)
    }
}
