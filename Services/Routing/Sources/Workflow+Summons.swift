import Foundation
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import Logging
import PostgresNIO

/// 吹哨报到: a street officer summons several departments at once. Each gets its own
/// assignment and claim timer (30 minutes by default, `sla.summons` in the org file); the
/// request stays with the street officer and resolves only when every summoned department has
/// reported done. A department late to acknowledge is charged with an overdue alert.
extension Workflow {
    /// Handles `summon`, and a claim or resolve that is a summoned department's; `nil` when the
    /// command is an ordinary one for the request's owner.
    func summonsStep(
        _ command: StaffCommand, requestId: UUID, lifecycle: RequestLifecycle, owner: UUID, correlationId: String,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> CommandReply? {
        let request = requestId.uuidString.lowercased()
        switch command.action {
        case .summon:
            return try await summon(command, requestId: requestId, lifecycle: lifecycle, correlationId: correlationId, on: connection, logger: logger)
        case .claim:
            guard let unit = command.unit, unit.tier == .district else { return nil }
            let pending = try await connection.query(
                """
                SELECT assignment_id FROM routing.summons
                WHERE request_id = \(requestId) AND unit = \(unit.description) AND acknowledged_at IS NULL AND done_at IS NULL
                """,
                logger: logger
            ).collect().first?.decode(UUID.self)
            guard let pending else { return nil }
            try await connection.query(
                "UPDATE routing.summons SET acknowledged_by = \(command.staff), acknowledged_at = now() WHERE assignment_id = \(pending)", logger: logger
            )
            try await connection.query("UPDATE routing.assignments SET claimed_by = \(command.staff), claimed_at = now() WHERE id = \(pending)", logger: logger)
            try await timers.cancel(assignment: pending, on: connection, logger: logger)
            try await timers.start(.resolve, requestId: requestId, assignment: pending, category: "summons", tier: .district, on: connection, logger: logger)
            try await progress(MessageType.summonsAcknowledged, requestId: requestId, assignment: pending, unit: unit, staff: command.staff, note: nil,
                               version: lifecycle.version, correlationId: correlationId, on: connection, logger: logger)
            return CommandReply(ok: true, requestId: request, state: lifecycle.state, message: "summons acknowledged by \(unit) (\(command.staff))")
        case .resolve:
            let mine = try await connection.query(
                """
                SELECT assignment_id, unit FROM routing.summons
                WHERE request_id = \(requestId) AND acknowledged_by = \(command.staff) AND done_at IS NULL
                """,
                logger: logger
            ).collect().first?.decode((UUID, String).self)
            guard let (summons, unitText) = mine, let unit = try? UnitRef(parsing: unitText) else { return nil }
            let note = command.note ?? ""
            try await connection.query("UPDATE routing.summons SET done_at = now(), note = \(note) WHERE assignment_id = \(summons)", logger: logger)
            try await connection.query("UPDATE routing.assignments SET resolved_at = now(), note = \(note) WHERE id = \(summons)", logger: logger)
            try await timers.cancel(assignment: summons, on: connection, logger: logger)
            let outstanding = try await outstandingSummons(requestId, on: connection, logger: logger)
            guard outstanding.isEmpty else {
                try await progress(MessageType.summonsDone, requestId: requestId, assignment: summons, unit: unit, staff: command.staff, note: note,
                                   version: lifecycle.version, correlationId: correlationId, on: connection, logger: logger)
                return CommandReply(ok: true, requestId: request, state: lifecycle.state, message: "done for \(unit); waiting for \(outstanding.joined(separator: ", "))")
            }
            // The last summoned department is done: the request is resolved.
            var resolved = lifecycle
            do { try resolved.apply(.resolve) } catch { throw CommandRefused(code: "conflict", message: error.description) }
            try await save(requestId, resolved, previousVersion: lifecycle.version, on: connection, logger: logger)
            try await connection.query("UPDATE routing.assignments SET resolved_at = now(), note = \(note) WHERE id = \(owner)", logger: logger)
            try await timers.cancel(assignment: owner, on: connection, logger: logger)
            let event = MessageEnvelope(
                type: MessageType.requestResolved, requestId: request, correlationId: correlationId, requestVersion: resolved.version,
                payload: RequestResolved(requestId: request, assignmentId: summons.uuidString.lowercased(), unit: unit, staff: command.staff, note: note)
            )
            try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
            return CommandReply(ok: true, requestId: request, state: resolved.state, message: "resolved: every summoned department is done")
        case .escalate, .return, .feedback, .reassign, .reject, .merge:
            return nil
        }
    }

    private func summon(
        _ command: StaffCommand, requestId: UUID, lifecycle: RequestLifecycle, correlationId: String, on connection: PostgresConnection, logger: Logger
    ) async throws -> CommandReply {
        guard let unit = lifecycle.unit, unit.tier == .street else {
            throw CommandRefused(code: "conflict", message: "only a street centre summons departments; the request is at \(lifecycle.unit?.description ?? "no unit")")
        }
        guard lifecycle.state == .claimed, lifecycle.claimedBy == command.staff else {
            throw CommandRefused(code: "forbidden", message: "claim the request first: only the street officer who has it can summon")
        }
        let wanted = Array(Set(command.departments ?? [])).sorted()
        guard !wanted.isEmpty else { throw CommandRefused(code: "validation_failed", message: "name at least one department (--department)") }
        let known = try await connection.query("SELECT id FROM routing.departments WHERE id = ANY(\(wanted))", logger: logger).collect().map { try $0.decode(String.self) }
        let unknown = wanted.filter { !known.contains($0) }
        guard unknown.isEmpty else { throw CommandRefused(code: "validation_failed", message: "unknown department(s): \(unknown.joined(separator: ", "))") }
        let outstanding = Set(try await outstandingSummons(requestId, on: connection, logger: logger))
        let details = try await connection.query("SELECT category, description FROM routing.requests WHERE id = \(requestId)", logger: logger).collect()
        let (category, description) = try details[0].decode((String, String).self)
        let note = command.note ?? ""
        let eventId = MessageID.make()
        var summoned: [String: String] = [:]
        for department in wanted {
            let target = try UnitRef(tier: .district, id: department)
            guard !outstanding.contains(target.description) else { continue }
            try await ensureQueue(for: target, logger: logger)
            let assignment = try await recordAssignment(
                requestId: requestId, unit: target, reason: "summoned by \(unit) (\(command.staff)): \(note)", category: category,
                description: description, kind: "summons", on: connection, logger: logger
            )
            guard let assignmentId = UUID(uuidString: assignment.assignmentId) else { continue }
            try await connection.query(
                "INSERT INTO routing.summons (assignment_id, request_id, unit, summoned_by) VALUES (\(assignmentId), \(requestId), \(target.description), \(command.staff))",
                logger: logger
            )
            try await sendAssignment(assignment, causedBy: "\(eventId):\(department)", correlationId: correlationId, version: lifecycle.version, on: connection, logger: logger)
            summoned[target.description] = assignment.assignmentId
        }
        guard !summoned.isEmpty else { throw CommandRefused(code: "conflict", message: "every named department is already summoned and has not reported done") }
        let event = MessageEnvelope(
            messageId: eventId, type: MessageType.requestSummoned, requestId: requestId.uuidString.lowercased(), correlationId: correlationId,
            requestVersion: lifecycle.version,
            payload: RequestSummoned(requestId: requestId.uuidString.lowercased(), by: unit, staff: command.staff, summoned: summoned, note: note)
        )
        try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
        return CommandReply(ok: true, requestId: event.payload.requestId, state: lifecycle.state, message: "summoned \(summoned.keys.sorted().joined(separator: ", "))")
    }

    /// Summoned departments (`tier:id`) that have not reported done.
    func outstandingSummons(_ requestId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        try await connection.query(
            "SELECT unit FROM routing.summons WHERE request_id = \(requestId) AND done_at IS NULL ORDER BY unit", logger: logger
        ).collect().map { try $0.decode(String.self) }
    }

    private func progress(
        _ type: String, requestId: UUID, assignment: UUID, unit: UnitRef, staff: String, note: String?, version: Int, correlationId: String,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        let request = requestId.uuidString.lowercased()
        let payload = SummonsProgress(
            requestId: request, assignmentId: assignment.uuidString.lowercased(), unit: unit, staff: staff, note: note,
            outstanding: try await outstandingSummons(requestId, on: connection, logger: logger)
        )
        let event = MessageEnvelope(type: type, requestId: request, correlationId: correlationId, requestVersion: version, payload: payload)
        try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
    }
}
