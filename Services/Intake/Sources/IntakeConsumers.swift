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
    /// sender is told why), store once per message id and per idempotency key, reply with the id.
    func submission(_ delivery: Delivery) async throws {
        guard delivery.header.type == MessageType.submissionCreate else {
            throw PoisonMessage("unexpected message type \(delivery.header.type) on the submissions queue")
        }
        let envelope = try delivery.decode(SubmissionPayload.self)
        let submission: Submission
        switch envelope.payload.submission.validate() {
        case .success(let valid): submission = valid
        case .failure(let invalid):
            throw PoisonMessage(invalid.description, reply: CommandReply(ok: false, code: "validation_failed", message: invalid.description, errors: invalid.errors))
        }
        let key = envelope.payload.idempotencyKey ?? envelope.messageId
        let replyTo = delivery.message.replyTo
        let inbox = store.inbox
        let outbox = self.outbox
        let logger = delivery.logger
        let header = delivery.header
        let outcome = try await store.submit(submission, idempotencyKey: key, correlationId: envelope.correlationId, reportedAt: envelope.payload.reportedAt, logger: logger) { connection, outcome in
            _ = try await inbox.claim(header.messageId, type: header.type, on: connection, logger: logger)
            guard let replyTo else { return }
            var reply = MessageEnvelope(
                type: MessageType.commandReply, requestId: outcome.requestId, correlationId: header.correlationId,
                payload: CommandReply(ok: true, requestId: outcome.requestId, state: .received, message: outcome.created ? "received" : "already received")
            )
            reply.messageId = "\(header.messageId):reply"
            var message = try OutgoingMessage(envelope: reply, exchange: "", routingKey: replyTo)
            message.correlationId = header.messageId
            try await outbox.add(message, on: connection, logger: logger)
        }
        relay.wake()
        logger.info("submission stored", metadata: ["request.id": "\(outcome.requestId)", "request.created": "\(outcome.created)"])
    }

    /// `request.*` events from routing: status and trail.
    func event(_ delivery: Delivery) async throws {
        let header = delivery.header
        let logger = delivery.logger
        switch header.type {
        case MessageType.requestReceived:
            return  // written by intake itself with the request
        case MessageType.requestAssigned:
            let event = try delivery.decode(RequestAssigned.self)
            try await store.follow(header, state: .assigned, unit: event.payload.unit, actor: "routing", detail: event.payload.reason, logger: logger)
        case MessageType.requestClaimed:
            let event = try delivery.decode(RequestClaimed.self)
            try await store.follow(header, state: .claimed, unit: event.payload.unit, actor: event.payload.staff, detail: nil, logger: logger)
            if let due = event.payload.resolveDueAt, let id = UUID(uuidString: event.payload.requestId) {
                try await store.expect(id, resolvedBy: due, logger: logger)  // Open311's expected_datetime
            }
        case MessageType.requestRejected, MessageType.requestMerged:
            let event = try delivery.decode(RequestEnded.self).payload
            let merged = header.type == MessageType.requestMerged
            let detail = merged ? "duplicate of \(event.into ?? "?"): \(event.reason)" : "rejected: \(event.reason)"
            try await store.follow(header, state: merged ? .merged : .rejected, unit: nil, actor: event.staff, detail: detail, logger: logger)
        case MessageType.requestEscalated, MessageType.requestReturned, MessageType.requestReopened, MessageType.requestReassigned:
            let event = try delivery.decode(RequestMoved.self).payload
            let verbs = [
                MessageType.requestEscalated: "escalated", MessageType.requestReturned: "returned for arbitration",
                MessageType.requestReopened: "reopened", MessageType.requestReassigned: "reassigned",
            ]
            let verb = verbs[header.type] ?? "moved"
            try await store.follow(header, state: .assigned, unit: event.to, actor: event.staff, detail: "\(verb) from \(event.from): \(event.reason)", logger: logger)
        case MessageType.requestSummoned:
            let event = try delivery.decode(RequestSummoned.self).payload
            let detail = "summoned \(event.summoned.keys.sorted().joined(separator: ", "))" + (event.note.isEmpty ? "" : ": \(event.note)")
            try await store.follow(header, state: .claimed, unit: event.by, actor: event.staff, detail: detail, logger: logger)
        case MessageType.summonsAcknowledged, MessageType.summonsDone:
            let event = try delivery.decode(SummonsProgress.self).payload
            let what = header.type == MessageType.summonsDone ? "done at \(event.unit)" : "\(event.unit) acknowledged the summons"
            let waiting = event.outstanding.isEmpty ? "" : "; waiting for \(event.outstanding.joined(separator: ", "))"
            try await store.follow(header, state: .claimed, unit: nil, actor: event.staff, detail: what + (event.note.map { ": \($0)" } ?? "") + waiting, logger: logger)
        case MessageType.streetInformed:
            let event = try delivery.decode(StreetInformed.self).payload
            try await store.follow(header, state: .assigned, unit: nil, actor: "routing", detail: "\(event.street) informed: \(event.category) went straight to \(event.department)", logger: logger)
        case MessageType.requestClosed:
            let event = try delivery.decode(RequestClosed.self).payload
            let detail = event.note.isEmpty ? "feedback: \(event.satisfaction.rawValue)" : "feedback: \(event.satisfaction.rawValue); \(event.note)"
            try await store.follow(header, state: .closed, unit: nil, actor: event.staff, detail: detail, logger: logger)
        case MessageType.requestOverdue, MessageType.deadlineWarning:
            let event = try delivery.decode(RequestOverdue.self).payload
            let detail = header.type == MessageType.requestOverdue
                ? "\(event.deadline) deadline passed at \(event.unit): supervisors alerted"
                : "\(event.deadline) deadline near at \(event.unit): warned"
            try await store.follow(header, state: event.state, unit: nil, actor: "sla", detail: detail, logger: logger)
        case MessageType.requestResolved:
            let event = try delivery.decode(RequestResolved.self)
            try await store.follow(header, state: .resolved, unit: event.payload.unit, actor: event.payload.staff, detail: event.payload.note, logger: logger)
        default:
            logger.debug("event not followed by intake")
        }
    }
}
