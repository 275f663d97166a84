import Foundation
import GridLoopDomain

/// 吹哨报到: a street officer summons several departments at once. Each gets its own
/// assignment and claim timer (30 minutes by default, `sla.summons` in the org file); the
/// request stays with the street officer and resolves only when every summoned department has
/// reported done. A department late to acknowledge is charged with an overdue alert (``SLASweeper``).
enum Summons {
    /// `summon`: the street officer who has the request names the departments.
    static func summon(_ c: CommandContext<some RoutingStore>) async throws -> CommandReply {
        guard c.unit.tier == .street else {
            throw CommandRefused(.conflict, "only a street centre summons departments; the request is at \(c.unit)")
        }
        guard c.lifecycle.state == .claimed, c.lifecycle.claimedBy == c.staff else {
            throw CommandRefused(.forbidden, "claim the request first: only the street officer who has it can summon")
        }
        let wanted = Array(Set(c.command.departments ?? [])).sorted()
        guard !wanted.isEmpty else { throw CommandRefused(.validationFailed, "name at least one department (--department)") }
        let known = try await c.store.knownDepartments(wanted)
        let unknown = wanted.filter { !known.contains($0) }
        guard unknown.isEmpty else { throw CommandRefused(.validationFailed, "unknown department(s): \(unknown.joined(separator: ", "))") }
        let outstanding = Set(try await c.store.outstandingSummons(of: c.request.id))
        let eventId = MessageID.make()
        var summoned: [String: String] = [:]
        for department in wanted {
            let target = try UnitRef(tier: .district, id: department)
            guard !outstanding.contains(target.description) else { continue }
            try await c.store.ensureQueue(for: target)
            let assignment = try await c.store.recordAssignment(
                request: c.request.id,
                unit: target,
                reason: "summoned by \(c.unit) (\(c.staff)): \(c.note)",
                category: c.request.category,
                description: c.request.description,
                kind: .summons
            )
            guard let assignmentId = UUID(uuidString: assignment.assignmentId) else { continue }
            try await c.store.insertSummons(assignment: assignmentId, request: c.request.id, unit: target, by: c.staff)
            try await c.store.sendAssignment(
                assignment,
                causedBy: "\(eventId):\(department)",
                correlationId: c.correlationId,
                version: c.lifecycle.version
            )
            summoned[target.description] = assignment.assignmentId
        }
        guard !summoned.isEmpty else { throw CommandRefused(.conflict, "every named department is already summoned and has not reported done") }
        try await c.emit(
            MessageType.requestSummoned,
            version: c.lifecycle.version,
            RequestSummoned(requestId: c.request.id.description, by: c.unit, staff: c.staff, summoned: summoned, note: c.note),
            messageId: eventId
        )
        return c.done(c.lifecycle, "summoned \(summoned.keys.sorted().joined(separator: ", "))")
    }

    /// A summoned department's `claim` acknowledges its summons; `nil` when the claim is not one
    /// (it names no district unit, or that unit has no summons waiting to be acknowledged).
    static func acknowledge(_ c: CommandContext<some RoutingStore>) async throws -> CommandReply? {
        guard let unit = c.command.unit, unit.tier == .district,
            let pending = try await c.store.unacknowledgedSummons(of: c.request.id, unit: unit)
        else { return nil }
        try await c.store.acknowledgeSummons(assignment: pending, by: c.staff)
        try await c.store.markClaimed(assignment: pending, by: c.staff)
        try await c.store.cancelTimers(assignment: pending)
        _ = try await c.store.startTimer(.resolve, request: c.request.id, assignment: pending, category: "summons", tier: .district)
        try await progress(c, MessageType.summonsAcknowledged, assignment: pending, unit: unit, note: nil)
        return c.done(c.lifecycle, "summons acknowledged by \(unit) (\(c.staff))")
    }

    /// A summoned department's `resolve` reports its part done — and, from the last one, resolves
    /// the request; `nil` when the staff member has no acknowledged summons open on it.
    static func complete(_ c: CommandContext<some RoutingStore>) async throws -> CommandReply? {
        guard let (summons, unit) = try await c.store.acknowledgedSummons(of: c.request.id, by: c.staff) else { return nil }
        try await c.store.completeSummons(assignment: summons, note: c.note)
        try await c.store.markResolved(assignment: summons, note: c.note)
        try await c.store.cancelTimers(assignment: summons)
        let outstanding = try await c.store.outstandingSummons(of: c.request.id)
        guard outstanding.isEmpty else {
            try await progress(c, MessageType.summonsDone, assignment: summons, unit: unit, note: c.note)
            return c.done(c.lifecycle, "done for \(unit); waiting for \(outstanding.joined(separator: ", "))")
        }
        // The last summoned department is done: the request is resolved.
        return c.done(try await Resolve.resolved(c, reportedBy: summons, at: unit), "resolved: every summoned department is done")
    }

    private static func progress(_ c: CommandContext<some RoutingStore>, _ type: String, assignment: UUID, unit: UnitRef, note: String?) async throws
    {
        let payload = SummonsProgress(
            requestId: c.request.id.description,
            assignmentId: assignment.uuidString.lowercased(),
            unit: unit,
            staff: c.staff,
            note: note,
            outstanding: try await c.store.outstandingSummons(of: c.request.id)
        )
        try await c.emit(type, version: c.lifecycle.version, payload)
    }
}
