import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import PostgresNIO

/// intake's message handlers: submissions from the CLI and other systems, and the workflow
/// events that move a request's status and trail.
struct IntakeConsumers: Sendable {
    let store: IntakeStore
    let outbox: Outbox
    let relay: OutboxRelay

    /// `submission.create`: validate (an invalid one is dead-lettered with its reason, and the
    /// sender is told why), store once per message id and per idempotency key, reply with the
    /// id; in the consumer's transaction (shared by the deliveries taken together; the relay is
    /// woken after its commit).
    func submission(_ delivery: Delivery, on connection: PostgresConnection) async throws {
        guard delivery.header.type == MessageType.submissionCreate else {
            throw PoisonMessage("unexpected message type \(delivery.header.type) on the submissions queue")
        }
        let envelope = try delivery.decode(SubmissionPayload.self)
        let submission: Submission
        switch envelope.payload.submission.validate() {
        case .success(let valid): submission = valid
        case .failure(let invalid):
            throw PoisonMessage(
                invalid.description,
                reply: CommandReply(ok: false, code: "validation_failed", message: invalid.description, errors: invalid.errors)
            )
        }
        let logger = delivery.logger
        let header = delivery.header
        let outcome = try await store.submit(
            submission,
            idempotencyKey: envelope.payload.idempotencyKey ?? envelope.messageId,
            correlationId: envelope.correlationId,
            reportedAt: envelope.payload.reportedAt,
            on: connection,
            logger: logger
        )
        _ = try await store.inbox.claim(header.messageId, type: header.type, on: connection, logger: logger)
        if let replyTo = delivery.message.replyTo {
            var reply = MessageEnvelope(
                type: MessageType.commandReply,
                requestId: outcome.requestId,
                correlationId: header.correlationId,
                payload: CommandReply(
                    ok: true,
                    requestId: outcome.requestId,
                    state: .received,
                    message: outcome.created ? "received" : "already received"
                )
            )
            reply.messageId = "\(header.messageId):reply"
            var message = try OutgoingMessage(envelope: reply, exchange: "", routingKey: replyTo)
            message.correlationId = header.messageId
            try await outbox.add(message, on: connection, logger: logger)
        }
        logger.info("submission stored", metadata: ["request.id": "\(outcome.requestId)", "request.created": "\(outcome.created)"])
    }

    /// `request.*` events from routing: status and trail, in the caller's transaction (the
    /// consumer's, shared by the deliveries taken together). A type that is not an event is
    /// ignored (acked); a malformed payload is dead-lettered with its reason.
    func event(_ delivery: Delivery, on connection: PostgresConnection) async throws {
        let header = delivery.header
        let logger = delivery.logger
        let event: RequestEvent
        do {
            event = try RequestEvent(type: header.type, body: delivery.message.body)
        } catch RequestEventDecodingError.unknownType {
            logger.debug("event not followed by intake")
            return
        } catch {
            throw PoisonMessage(error.description)
        }
        func moved(_ move: RequestMoved, _ verb: String) async throws {
            let detail = "\(verb) from \(move.from): \(move.reason)"
            try await store.follow(header, state: .assigned, unit: move.to, actor: move.staff, detail: detail, on: connection, logger: logger)
        }
        func summons(_ progress: SummonsProgress, _ what: String) async throws {
            let waiting = progress.outstanding.isEmpty ? "" : "; waiting for \(progress.outstanding.joined(separator: ", "))"
            let detail = what + (progress.note.map { ": \($0)" } ?? "") + waiting
            try await store.follow(header, state: .claimed, unit: nil, actor: progress.staff, detail: detail, on: connection, logger: logger)
        }
        switch event.kind {
        case .received:
            return  // written by intake itself with the request
        case .assigned(let assigned):
            try await store.follow(
                header,
                state: .assigned,
                unit: assigned.unit,
                actor: "routing",
                detail: assigned.reason,
                on: connection,
                logger: logger
            )
        case .claimed(let claimed):
            try await store.follow(header, state: .claimed, unit: claimed.unit, actor: claimed.staff, detail: nil, on: connection, logger: logger)
            if let due = claimed.resolveDueAt, let id = UUID(uuidString: claimed.requestId) {
                try await store.expect(id, resolvedBy: due, on: connection, logger: logger)  // Open311's expected_datetime
            }
        case .rejected(let ended):
            try await store.follow(
                header,
                state: .rejected,
                unit: nil,
                actor: ended.staff,
                detail: "rejected: \(ended.reason)",
                on: connection,
                logger: logger
            )
        case .merged(let ended):
            let detail = "duplicate of \(ended.into ?? "?"): \(ended.reason)"
            try await store.follow(header, state: .merged, unit: nil, actor: ended.staff, detail: detail, on: connection, logger: logger)
        case .escalated(let move):
            try await moved(move, "escalated")
        case .returned(let move):
            try await moved(move, "returned for arbitration")
        case .reopened(let move):
            try await moved(move, "reopened")
        case .reassigned(let move):
            try await moved(move, "reassigned")
        case .unlinked(let move):
            try await moved(move, "taken out of its incident")
        case .recategorized(let change):
            var detail = "category \(change.from) → \(change.to)"
            if let reason = change.reason { detail += ": \(reason)" }
            if let suggested = change.suggested {
                detail += "; suggested \(suggested)" + (change.confidence.map { String(format: " (%.0f%%)", $0 * 100) } ?? "")
            }
            try await store.follow(
                header,
                state: change.state,
                unit: change.unit,
                actor: change.staff,
                detail: detail,
                category: change.to,
                on: connection,
                logger: logger
            )
        case .summoned(let summoned):
            let detail = "summoned \(summoned.summoned.keys.sorted().joined(separator: ", "))" + (summoned.note.isEmpty ? "" : ": \(summoned.note)")
            try await store.follow(header, state: .claimed, unit: summoned.by, actor: summoned.staff, detail: detail, on: connection, logger: logger)
        case .summonsAcknowledged(let progress):
            try await summons(progress, "\(progress.unit) acknowledged the summons")
        case .summonsDone(let progress):
            try await summons(progress, "done at \(progress.unit)")
        case .streetInformed(let informed):
            try await store.follow(
                header,
                state: .assigned,
                unit: nil,
                actor: "routing",
                detail: "\(informed.street) informed: \(informed.category) went straight to \(informed.department)",
                on: connection,
                logger: logger
            )
        case .closed(let closed):
            let detail =
                closed.note.isEmpty ? "feedback: \(closed.satisfaction.rawValue)" : "feedback: \(closed.satisfaction.rawValue); \(closed.note)"
            try await store.follow(header, state: .closed, unit: nil, actor: closed.staff, detail: detail, on: connection, logger: logger)
        case .overdue(let overdue):
            let detail = "\(overdue.deadline) deadline passed at \(overdue.unit): supervisors alerted"
            try await store.follow(header, state: overdue.state, unit: nil, actor: "sla", detail: detail, on: connection, logger: logger)
        case .deadlineWarning(let warning):
            let detail = "\(warning.deadline) deadline near at \(warning.unit): warned"
            try await store.follow(header, state: warning.state, unit: nil, actor: "sla", detail: detail, on: connection, logger: logger)
        case .resolved(let resolved):
            try await store.follow(
                header,
                state: .resolved,
                unit: resolved.unit,
                actor: resolved.staff,
                detail: resolved.note,
                on: connection,
                logger: logger
            )
        case .visitLogged, .taskOpened, .taskChecked, .noticePublished, .noticeInformed, .noticeSMS, .noticeLagging, .consultationOpened,
            .consultationPosition, .consultationMeeting, .consultationClosed, .wishChanged, .pointsScored, .pointsRedeemed, .goodsDonated:
            logger.debug("event not followed by intake")  // not a request's event (and not bound to intake.events)
        }
    }
}
