import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import PostgresNIO

/// A due SLA timer as the sweeper takes it: with its request (nil when the request's state is
/// one this code does not know), the request's current owner assignment and, for escalating,
/// the street of the request's grid and the department of its category.
package struct DueTimer: Sendable, Equatable {
    package var timer: UUID
    package var assignment: UUID
    /// `claim`, `resolve`, or their `-warning`.
    package var kind: String
    package var dueAt: Date
    package var requestId: RequestID
    package var request: RequestRecord?
    package var owner: UUID?
    package var streetOfGrid: String?
    package var department: String?

    package init(
        timer: UUID,
        assignment: UUID,
        kind: String,
        dueAt: Date,
        requestId: RequestID,
        request: RequestRecord?,
        owner: UUID?,
        streetOfGrid: String? = nil,
        department: String? = nil
    ) {
        self.timer = timer
        self.assignment = assignment
        self.kind = kind
        self.dueAt = dueAt
        self.requestId = requestId
        self.request = request
        self.owner = owner
        self.streetOfGrid = streetOfGrid
        self.department = department
    }
}

/// An SLA escalation decided without I/O: the request leaves `assignment` at `from` and is
/// now `lifecycle` (at the unit one tier up).
package struct SLAEscalation: Sendable, Equatable {
    package var timer: UUID
    package var request: RequestRecord
    package var assignment: UUID
    package var from: UnitRef
    /// The unit one tier up (the new lifecycle's).
    package var to: UnitRef
    package var lifecycle: RequestLifecycle
    package var reason: String
}

/// What the SLA sweeper does with the timers it takes, decided without I/O.
package enum SLARules {
    /// Why the sweeper moves a request on (or alerts the supervisors).
    package static func overdueReason(kind: String, unit: UnitRef) -> String {
        kind == DeadlineKind.claim.rawValue ? "not claimed by \(unit) in time" : "not resolved by \(unit) in time"
    }

    /// The due timers escalated together (a handful of statements for all of them) and the
    /// rest, fired one at a time. Together: a claim or resolve deadline (not a warning) of the
    /// request's owner assignment at the grid or street tier, while the request is in the state
    /// that deadline watches, with a unit one tier up, and the only timer of its request in the
    /// batch (so one request's timers keep their order). The rest — warnings, moot timers,
    /// summonses, the district's overdue alerts, escalations with nowhere to go — are rare and
    /// take the one-at-a-time path, which says why.
    package static func plan(_ due: [DueTimer]) -> (together: [SLAEscalation], alone: [DueTimer]) {
        var perRequest: [RequestID: Int] = [:]
        for timer in due { perRequest[timer.requestId, default: 0] += 1 }
        var together: [SLAEscalation] = []
        var alone: [DueTimer] = []
        for timer in due {
            guard let escalation = escalation(timer, alone: perRequest[timer.requestId] == 1) else {
                alone.append(timer)
                continue
            }
            together.append(escalation)
        }
        return (together, alone)
    }

    private static func escalation(_ timer: DueTimer, alone: Bool) -> SLAEscalation? {
        guard alone, let request = timer.request, timer.owner == timer.assignment, let unit = request.lifecycle.unit, unit.tier < .district
        else { return nil }
        let state = request.lifecycle.state
        guard (timer.kind == DeadlineKind.claim.rawValue && state == .assigned) || (timer.kind == DeadlineKind.resolve.rawValue && state == .claimed)
        else { return nil }
        let next = EscalationRules.nextUnit(
            from: unit,
            category: request.category,
            streetOfGrid: timer.streetOfGrid,
            departmentOfCategory: timer.department
        )
        guard case .success(let target) = next, let lifecycle = try? request.lifecycle.applying(.escalate(to: target)) else { return nil }
        return SLAEscalation(
            timer: timer.timer,
            request: request,
            assignment: timer.assignment,
            from: unit,
            to: target,
            lifecycle: lifecycle,
            reason: overdueReason(kind: timer.kind, unit: unit)
        )
    }
}

extension PostgresRoutingStore {
    /// Up to `limit` due timers, earliest first, each locked with its request (`FOR UPDATE OF t,
    /// r SKIP LOCKED`: routing's replicas take different ones), with what escalating needs.
    func takeDueTimers(limit: Int) async throws -> [DueTimer] {
        try await connection.query(
            """
            SELECT t.id, t.assignment_id, t.kind, t.due_at, r.owner_assignment_id, g.street_id, c.department_id, r.id,
                \(unescaped: Self.requestColumns)
            FROM routing.timers t JOIN routing.requests r ON r.id = t.request_id
                LEFT JOIN routing.grids g ON r.unit = 'grid:' || g.id LEFT JOIN routing.categories c ON c.id = r.category
            WHERE t.fired_at IS NULL AND t.cancelled_at IS NULL AND t.due_at <= now()
            ORDER BY t.due_at LIMIT \(limit) FOR UPDATE OF t, r SKIP LOCKED
            """,
            logger: logger
        ).collect().map { row in
            let row = row.makeRandomAccess()
            return DueTimer(
                timer: try row[0].decode(UUID.self),
                assignment: try row[1].decode(UUID.self),
                kind: try row[2].decode(String.self),
                dueAt: try row[3].decode(Date.self),
                requestId: try row[7].decode(RequestID.self),
                request: try? Self.requestRecord(try row[7].decode(RequestID.self), from: row, at: 8),
                owner: try row[4].decode(UUID?.self),
                streetOfGrid: try row[5].decode(String?.self),
                department: try row[6].decode(String?.self)
            )
        }
    }

    /// The SLA sweeper's escalations of one batch, written together: what
    /// ``RoutingStore/escalate(_:assignment:staff:reason:correlationId:)`` writes for each (the
    /// timer fired, the assignment marked escalated, the request moved on, the old assignment's
    /// timers cancelled, the new assignment with its claim timers, the `request.escalated` event
    /// and the new unit's assignment message), one statement for all of them each.
    func escalate(_ escalations: [SLAEscalation], org: SLATimers.OrgSLA, staff: String) async throws {
        guard !escalations.isEmpty else { return }
        let now = Date()
        var assigned: [(id: UUID, message: RequestAssigned, claim: SLATimers.Deadline)] = []
        var messages: [OutgoingMessage] = []
        for escalation in escalations {
            let (target, id) = (escalation.to, UUID())
            try await ensureQueue(for: target)
            let claim = org.deadlines(.claim, category: escalation.request.category, tier: target.tier, after: now)
            let next = RequestAssigned(
                requestId: escalation.request.id.description,
                assignmentId: id.uuidString.lowercased(),
                unit: target,
                category: escalation.request.category,
                description: escalation.request.description,
                reason: EscalationRules.assignmentReason(from: escalation.from, staff: staff, reason: escalation.reason),
                claimDueAt: claim.due
            )
            let event = Self.movedEvent(
                MessageType.requestEscalated,
                request: escalation.request.id,
                version: escalation.lifecycle.version,
                from: escalation.from,
                to: next,
                staff: staff,
                reason: escalation.reason,
                correlationId: escalation.request.correlationId
            )
            let message = Self.assignmentMessage(
                next,
                causedBy: event.messageId,
                correlationId: escalation.request.correlationId,
                version: escalation.lifecycle.version
            )
            messages.append(try OutgoingMessage(envelope: event, exchange: GridLoopExchange.events, routingKey: event.type))
            messages.append(try OutgoingMessage(envelope: message, exchange: GridLoopExchange.assignments, routingKey: target.routingKey))
            assigned.append((id, next, claim))
        }
        let requests = escalations.map(\.request.id.uuid)
        let left = escalations.map(\.assignment)
        try await connection.query("UPDATE routing.timers SET fired_at = now() WHERE id = ANY(\(escalations.map(\.timer)))", logger: logger)
        try await connection.query(
            """
            UPDATE routing.assignments a SET escalated_at = now(), note = u.note
            FROM unnest(\(left), \(escalations.map(\.reason))) AS u(id, note) WHERE a.id = u.id
            """,
            logger: logger
        )
        let moved = try await connection.query(
            """
            UPDATE routing.requests r SET state = u.state, unit = u.unit, claimed_by = NULLIF(u.claimed_by, ''), version = u.version, updated_at = now()
            FROM unnest(\(requests), \(escalations.map(\.lifecycle.state.rawValue)), \(escalations.map { $0.lifecycle.unit?.description ?? "" }),
                \(escalations.map { $0.lifecycle.claimedBy ?? "" }), \(escalations.map(\.lifecycle.version)), \(escalations.map(\.request.lifecycle.version)))
                AS u(id, state, unit, claimed_by, version, previous)
            WHERE r.id = u.id AND r.version = u.previous RETURNING r.id
            """,
            logger: logger
        ).collect()
        guard moved.count == escalations.count else { throw CommandRefused(.conflict, "a request changed meanwhile; try again") }
        try await workflow.timers.cancel(assignments: left, on: connection, logger: logger)
        try await insertAssignments(
            zip(escalations, assigned).map { escalation, new in
                NewAssignment(
                    id: new.id,
                    request: escalation.request.id,
                    unit: escalation.to,
                    reason: new.message.reason,
                    kind: .owner,
                    claim: new.claim
                )
            }
        )
        try await workflow.outbox.add(messages, on: connection, logger: logger)
    }
}
