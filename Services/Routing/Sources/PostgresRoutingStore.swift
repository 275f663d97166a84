import Foundation
import GridLoopDomain
import GridLoopPersistence
import Logging
import PostgresNIO

/// Routing's request and assignment SQL, within the caller's transaction: every statement the
/// workflow's commands, the placement of new requests and the SLA sweeper run on
/// `routing.requests`, `assignments`, `timers` and `summons` (and the org facts they read).
struct PostgresRoutingStore: RoutingStore {
    let connection: PostgresConnection
    let logger: Logger
    let workflow: Workflow
    /// The org's version if this transaction has read it (the timers' SLA is then not read again).
    var orgVersion: Int?

    @discardableResult
    private func run(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await connection.query(query, logger: logger).collect()
    }

    // MARK: Requests

    func lockRequest(_ id: RequestID) async throws -> RequestRecord? {
        let rows = try await run("SELECT \(unescaped: Self.requestColumns) FROM routing.requests r WHERE r.id = \(id) FOR UPDATE")
        return try rows.first.map { try Self.requestRecord(id, from: $0.makeRandomAccess(), at: 0) }
    }

    /// The columns of `routing.requests r` a ``RequestRecord`` is made of, in the order
    /// ``requestRecord(_:from:at:)`` reads them.
    static let requestColumns =
        "r.state, r.unit, r.claimed_by, r.version, r.category, r.description, r.street_id, r.reopen_count, r.correlation_id, r.grid_id"

    /// The request `id` from a row holding ``requestColumns`` from column `first` on; refused
    /// (`conflict`) when its state is one this code does not know.
    static func requestRecord(_ id: RequestID, from row: PostgresRandomAccessRow, at first: Int) throws -> RequestRecord {
        let stateText = try row[first].decode(String.self)
        guard let state = RequestState(rawValue: stateText) else { throw CommandRefused(.conflict, "request is in unknown state \(stateText)") }
        let unit = try row[first + 1].decode(String?.self).flatMap { try? UnitRef(parsing: $0) }
        let lifecycle = RequestLifecycle(
            state: state,
            unit: unit,
            claimedBy: try row[first + 2].decode(String?.self),
            version: try row[first + 3].decode(Int.self)
        )
        return RequestRecord(
            id: id,
            lifecycle: lifecycle,
            category: try row[first + 4].decode(String.self),
            description: try row[first + 5].decode(String.self),
            gridId: try row[first + 9].decode(String?.self),
            streetId: try row[first + 6].decode(String?.self),
            reopenCount: try row[first + 7].decode(Int.self),
            correlationId: try row[first + 8].decode(String.self)
        )
    }

    func save(_ id: RequestID, _ lifecycle: RequestLifecycle, previousVersion: Int) async throws {
        let rows = try await run(
            """
            UPDATE routing.requests SET state = \(lifecycle.state.rawValue), unit = \(lifecycle.unit?.description),
                claimed_by = \(lifecycle.claimedBy), version = \(lifecycle.version), updated_at = now()
            WHERE id = \(id) AND version = \(previousVersion) RETURNING id
            """
        )
        guard !rows.isEmpty else { throw CommandRefused(.conflict, "the request changed meanwhile; try again") }
    }

    func state(of id: RequestID) async throws -> RequestState? {
        let text = try await run("SELECT state FROM routing.requests WHERE id = \(id)").first?.decode(String.self)
        return text.flatMap(RequestState.init(rawValue:))
    }

    func recordSatisfaction(_ satisfaction: Satisfaction, of id: RequestID) async throws {
        try await run("UPDATE routing.requests SET satisfaction = \(satisfaction.rawValue) WHERE id = \(id)")
    }

    func setReopenCount(_ count: Int, of id: RequestID) async throws {
        try await run("UPDATE routing.requests SET reopen_count = \(count) WHERE id = \(id)")
    }

    func setCategory(_ category: String, of id: RequestID) async throws {
        try await run("UPDATE routing.requests SET category = \(category), updated_at = now() WHERE id = \(id)")
    }

    // MARK: Assignments

    func ownerAssignment(of request: RequestID) async throws -> UUID? {
        try await run("SELECT id FROM routing.assignments WHERE request_id = \(request) AND kind = 'owner' ORDER BY assigned_at DESC LIMIT 1")
            .first?.decode(UUID.self)
    }

    func homeUnit(of request: RequestID) async throws -> UnitRef? {
        let text = try await run("SELECT unit FROM routing.assignments WHERE request_id = \(request) AND kind = 'owner' ORDER BY assigned_at LIMIT 1")
            .first?.decode(String.self)
        return text.flatMap { try? UnitRef(parsing: $0) }
    }

    func insertAssignment(
        _ id: UUID,
        request: RequestID,
        unit: UnitRef,
        reason: String,
        kind: AssignmentKind,
        claimCategory: String
    ) async throws -> Date {
        let deadline = try await workflow.timers.deadlines(
            .claim,
            category: claimCategory,
            tier: unit.tier,
            orgVersion: orgVersion,
            on: connection,
            logger: logger
        )
        try await insertAssignment(id, request: request, unit: unit, reason: reason, kind: kind, claim: deadline)
        return deadline.due
    }

    /// The assignment and its claim timers in one statement: the triggers that keep the request's
    /// owner columns see both at once, so the request row is written once (not once a row).
    /// Assigned at the time the request row already names for it (a new request's), else now.
    func insertAssignment(_ id: UUID, request: RequestID, unit: UnitRef, reason: String, kind: AssignmentKind, claim: SLATimers.Deadline) async throws
    {
        try await insertAssignments([NewAssignment(id: id, request: request, unit: unit, reason: reason, kind: kind, claim: claim)])
    }

    /// An assignment to write with its claim deadline (``insertAssignments(_:)``).
    struct NewAssignment {
        var id: UUID
        var request: RequestID
        var unit: UnitRef
        var reason: String
        var kind: AssignmentKind
        var claim: SLATimers.Deadline
    }

    /// ``insertAssignment(_:request:unit:reason:kind:claim:)`` for many at once, in one statement.
    func insertAssignments(_ new: [NewAssignment]) async throws {
        guard !new.isEmpty else { return }
        try await run(
            """
            WITH u AS (
                SELECT * FROM unnest(\(new.map(\.id)), \(new.map(\.request.uuid)), \(new.map(\.unit.description)), \(new.map(\.reason)),
                    \(new.map(\.kind.rawValue)), \(new.map(\.claim.due)), \(new.map(\.claim.warning))) AS u(id, request_id, unit, reason, kind, due, warning)
            ), assignment AS (
                INSERT INTO routing.assignments (id, request_id, unit, reason, kind, assigned_at)
                SELECT u.id, u.request_id, u.unit, u.reason, u.kind,
                    coalesce((SELECT r.owner_assigned_at FROM routing.requests r WHERE r.id = u.request_id AND r.owner_assignment_id = u.id), now())
                FROM u
                RETURNING id
            )
            INSERT INTO routing.timers (id, request_id, assignment_id, kind, due_at)
            SELECT gen_random_uuid(), u.request_id, u.id, k.kind, CASE WHEN k.warning THEN u.warning ELSE u.due END
            FROM assignment JOIN u ON u.id = assignment.id
                CROSS JOIN (VALUES (\(DeadlineKind.claim.rawValue), false), (\(DeadlineKind.claim.warning), true)) AS k(kind, warning)
            """
        )
    }

    func markClaimed(assignment: UUID, by staff: String) async throws {
        try await run("UPDATE routing.assignments SET claimed_by = \(staff), claimed_at = now() WHERE id = \(assignment)")
    }

    func markResolved(assignment: UUID, note: String) async throws {
        try await run("UPDATE routing.assignments SET resolved_at = now(), note = \(note) WHERE id = \(assignment)")
    }

    func markEscalated(assignment: UUID, note: String) async throws {
        try await run("UPDATE routing.assignments SET escalated_at = now(), note = \(note) WHERE id = \(assignment)")
    }

    // MARK: Deadlines

    func startTimer(_ kind: DeadlineKind, request: RequestID, assignment: UUID, category: String, tier: Tier) async throws -> Date {
        try await workflow.timers.start(
            kind,
            requestId: request.uuid,
            assignment: assignment,
            category: category,
            tier: tier,
            orgVersion: orgVersion,
            on: connection,
            logger: logger
        )
    }

    func cancelTimers(assignment: UUID) async throws {
        try await workflow.timers.cancel(assignments: [assignment], on: connection, logger: logger)
    }

    // MARK: Summonses

    func outstandingSummons(of request: RequestID) async throws -> [String] {
        try await run("SELECT unit FROM routing.summons WHERE request_id = \(request) AND done_at IS NULL ORDER BY unit").map {
            try $0.decode(String.self)
        }
    }

    func unacknowledgedSummons(of request: RequestID, unit: UnitRef) async throws -> UUID? {
        try await run(
            """
            SELECT assignment_id FROM routing.summons
            WHERE request_id = \(request) AND unit = \(unit.description) AND acknowledged_at IS NULL AND done_at IS NULL
            """
        ).first?.decode(UUID.self)
    }

    func acknowledgedSummons(of request: RequestID, by staff: String) async throws -> (assignment: UUID, unit: UnitRef)? {
        let row = try await run(
            "SELECT assignment_id, unit FROM routing.summons WHERE request_id = \(request) AND acknowledged_by = \(staff) AND done_at IS NULL"
        ).first?.decode((UUID, String).self)
        guard let (assignment, unitText) = row, let unit = try? UnitRef(parsing: unitText) else { return nil }
        return (assignment, unit)
    }

    func insertSummons(assignment: UUID, request: RequestID, unit: UnitRef, by staff: String) async throws {
        try await run(
            "INSERT INTO routing.summons (assignment_id, request_id, unit, summoned_by) VALUES (\(assignment), \(request), \(unit.description), \(staff))"
        )
    }

    func acknowledgeSummons(assignment: UUID, by staff: String) async throws {
        try await run("UPDATE routing.summons SET acknowledged_by = \(staff), acknowledged_at = now() WHERE assignment_id = \(assignment)")
    }

    func completeSummons(assignment: UUID, note: String) async throws {
        try await run("UPDATE routing.summons SET done_at = now(), note = \(note) WHERE assignment_id = \(assignment)")
    }

    // MARK: The org

    func staffMember(_ id: String) async throws -> Actor? {
        let member = try await run("SELECT role, unit FROM routing.staff WHERE id = \(id)").first?.decode((String, String).self)
        return member.flatMap { role, unit in (try? UnitRef(parsing: unit)).map { Actor(id: id, role: role, unit: $0) } }
    }

    func streetOfGrid(_ grid: String) async throws -> String? {
        try await run("SELECT street_id FROM routing.grids WHERE id = \(grid)").first?.decode(String?.self) ?? nil
    }

    func departmentOfCategory(_ category: String) async throws -> String? {
        try await run("SELECT department_id FROM routing.categories WHERE id = \(category)").first?.decode(String?.self) ?? nil
    }

    func unitExists(_ unit: UnitRef) async throws -> Bool {
        let table = unit.tier == .grid ? "grids" : (unit.tier == .street ? "streets" : "departments")
        return try await !run("SELECT 1 FROM routing.\(unescaped: table) WHERE id = \(unit.id)").isEmpty
    }

    func knownDepartments(_ departments: [String]) async throws -> [String] {
        try await run("SELECT id FROM routing.departments WHERE id = ANY(\(departments))").map { try $0.decode(String.self) }
    }

    // MARK: Messages

    func emit<Payload: Codable & Sendable>(_ message: MessageEnvelope<Payload>, exchange: String, routingKey: String?) async throws {
        try await workflow.outbox.add(event: message, exchange: exchange, routingKey: routingKey, on: connection, logger: logger)
    }

    func ensureQueue(for unit: UnitRef) async throws {
        try await workflow.ensureQueue(for: unit, logger: logger)
    }
}
