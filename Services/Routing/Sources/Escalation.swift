import Foundation
import GridLoopDomain

/// Why an escalation cannot go anywhere.
package struct EscalationRefused: Error, Equatable, CustomStringConvertible {
    /// `conflict` (nowhere further) or `noRoute` (the org data names no unit).
    package var code: RefusalCode
    package var description: String
}

/// Escalation: a grid goes to its street (or township) centre; a street centre (or the triage
/// desk) goes to the district department that handles the request's category; the district
/// tier escalates no further (overdue items there go to the supervisors and stay open).
///
/// Who escalates: the claimer, by the `escalate` command (``Escalate``); the SLA sweeper when a
/// grid or street deadline passes (``SLASweeper``); and a second unsatisfied verdict sends the
/// request one tier up (``Feedback``). All three go through ``RoutingStore/escalate(_:assignment:staff:reason:correlationId:)``
/// or ``EscalationRules/nextUnit(from:category:streetOfGrid:departmentOfCategory:)``.
package enum EscalationRules {
    /// The unit one tier up from `current`.
    package static func nextUnit(
        from current: UnitRef,
        category: String,
        streetOfGrid: String?,
        departmentOfCategory: String?
    ) -> Result<UnitRef, EscalationRefused> {
        switch current.tier {
        case .grid:
            guard let street = streetOfGrid, let unit = try? UnitRef(tier: .street, id: street) else {
                return .success(RoutingRules.triage)
            }
            return .success(unit)
        case .street:
            guard let department = departmentOfCategory, let unit = try? UnitRef(tier: .district, id: department) else {
                return .failure(
                    EscalationRefused(code: .noRoute, description: "no district department handles category '\(category)'; add it to the org file")
                )
            }
            return .success(unit)
        case .district, .oversight:
            return .failure(
                EscalationRefused(
                    code: .conflict,
                    description: "a \(current.tier.rawValue) assignment cannot be escalated further; it stays open until solved"
                )
            )
        }
    }

    /// The new assignment's reason: who escalated it from where, and why.
    package static func assignmentReason(from unit: UnitRef, staff: String, reason: String) -> String {
        "escalated from \(unit) by \(staff): \(reason)"
    }
}

extension RoutingStore {
    /// Sends the request one tier up under a new assignment (staff command or SLA sweeper):
    /// state, timers, trail event, the new unit's assignment message. Returns the new lifecycle.
    package func escalate(
        _ request: RequestRecord,
        assignment: UUID,
        staff: String,
        reason: String,
        correlationId: String
    ) async throws -> RequestLifecycle {
        guard let unit = request.lifecycle.unit else { throw CommandRefused(.conflict, "the request is not assigned to any unit") }
        let streetOfGrid = unit.tier == .grid ? try await self.streetOfGrid(unit.id) : nil
        let department = try await departmentOfCategory(request.category)
        let target: UnitRef
        switch EscalationRules.nextUnit(from: unit, category: request.category, streetOfGrid: streetOfGrid, departmentOfCategory: department) {
        case .success(let next): target = next
        case .failure(let refused): throw CommandRefused(refused.code, refused.description)
        }
        try await markEscalated(assignment: assignment, note: reason)
        return try await move(
            request,
            transition: .escalate(to: target),
            type: MessageType.requestEscalated,
            assignment: assignment,
            staff: staff,
            reason: reason,
            assignmentReason: EscalationRules.assignmentReason(from: unit, staff: staff, reason: reason),
            correlationId: correlationId
        )
    }

    /// Moves the request to another unit under a new assignment (escalate, return, reopen,
    /// reassign): state, timers, the `type` event and the new unit's assignment message.
    /// `contacted`: a reopen by the resident's answer, whether they say staff contacted them.
    package func move(
        _ request: RequestRecord,
        transition: RequestTransition,
        type: String,
        assignment: UUID,
        staff: String,
        reason: String,
        assignmentReason: String,
        correlationId: String,
        contacted: Bool? = nil
    ) async throws -> RequestLifecycle {
        let current = request.lifecycle
        guard let from = current.unit else { throw CommandRefused(.conflict, "the request is not assigned to any unit") }
        let lifecycle = try current.applying(transition)
        guard let target = lifecycle.unit else { throw CommandRefused(.conflict, "no unit to move to") }
        try await ensureQueue(for: target)
        try await save(request.id, lifecycle, previousVersion: current.version)
        try await cancelTimers(assignment: assignment)
        let next = try await recordAssignment(
            request: request.id,
            unit: target,
            reason: assignmentReason,
            category: request.category,
            description: request.description
        )
        let event = Self.movedEvent(
            type,
            request: request.id,
            version: lifecycle.version,
            from: from,
            to: next,
            staff: staff,
            reason: reason,
            correlationId: correlationId,
            contacted: contacted
        )
        try await emit(event: event)
        try await sendAssignment(next, causedBy: event.messageId, correlationId: correlationId, version: lifecycle.version)
        return lifecycle
    }
}

extension RoutingStore {
    /// The `type` event (`request.escalated`, `…returned`, `…reopened`) of a request now at
    /// `version`, moved from `from` to the new assignment `next`.
    static func movedEvent(
        _ type: String,
        request: RequestID,
        version: Int,
        from: UnitRef,
        to next: RequestAssigned,
        staff: String,
        reason: String,
        correlationId: String,
        contacted: Bool? = nil
    ) -> MessageEnvelope<RequestMoved> {
        MessageEnvelope(
            type: type,
            requestId: request.description,
            correlationId: correlationId,
            requestVersion: version,
            payload: RequestMoved(
                requestId: request.description,
                assignmentId: next.assignmentId,
                from: from,
                to: next.unit,
                staff: staff,
                reason: reason,
                contacted: contacted
            )
        )
    }
}

extension RequestLifecycle {
    /// The lifecycle after `transition`, or a `conflict` refusal saying why it cannot happen now.
    package func applying(_ transition: RequestTransition) throws(CommandRefused) -> RequestLifecycle {
        var next = self
        do { try next.apply(transition) } catch { throw CommandRefused(.conflict, error.description) }
        return next
    }
}
