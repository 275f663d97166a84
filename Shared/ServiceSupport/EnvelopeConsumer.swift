import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopPersistence
import Logging
import PostgresNIO
import ServiceLifecycle

/// A message that can never be handled (malformed, invalid, unknown type): it goes to the
/// queue's dead-letter queue with this reason instead of being retried.
package struct PoisonMessage: Error, CustomStringConvertible {
    package var reason: String
    /// Sent to the message's reply-to, if it has one (e.g. the CLI waiting for a submission).
    package var reply: CommandReply?

    package init(_ reason: String, reply: CommandReply? = nil) {
        self.reason = reason
        self.reply = reply
    }

    package var description: String { reason }
}

/// One delivery, as a handler sees it.
package struct Delivery: Sendable {
    package var message: IncomingMessage
    package var header: EnvelopeHeader
    /// Carries `amqp.message_id`, `message.type`, `request.id`, `correlation.id`.
    package var logger: Logger

    /// Decodes the whole envelope with the payload type the handler expects.
    package func decode<Payload>(_ payload: Payload.Type) throws(PoisonMessage) -> MessageEnvelope<Payload> {
        do {
            return try WireJSON.decode(MessageEnvelope<Payload>.self, from: message.body)
        } catch {
            throw PoisonMessage("payload of \(header.type) does not match schema v\(header.schemaVersion): \(error)")
        }
    }
}

/// A consumer's work that can share a transaction with other deliveries': `work` does one
/// delivery's part inside the transaction it is given (its inbox claim first, so a repeat
/// changes nothing); after each commit the outbox rows it wrote are handed to `relay`
/// (``OutboxHandoff``) and `afterCommit` runs once (wakes a sender).
package struct TransactionalHandler: Sendable {
    package var postgres: PostgresClient
    package var work: @Sendable (Delivery, PostgresConnection) async throws -> Void
    package var relay: OutboxRelay?
    package var afterCommit: @Sendable () -> Void

    package init(
        postgres: PostgresClient,
        work: @escaping @Sendable (Delivery, PostgresConnection) async throws -> Void,
        relay: OutboxRelay? = nil,
        afterCommit: @escaping @Sendable () -> Void = {}
    ) {
        self.postgres = postgres
        self.work = work
        self.relay = relay
        self.afterCommit = afterCommit
    }

    /// One delivery alone: its own transaction, then the handoff and `afterCommit`.
    @Sendable func single(_ delivery: Delivery) async throws {
        try await committing { try await postgres.transaction(logger: delivery.logger) { connection in try await work(delivery, connection) } }
    }

    /// Runs `write` (transactions that commit); hands the outbox rows they wrote to `relay`,
    /// then runs `afterCommit`.
    func committing(_ write: () async throws -> Void) async throws {
        if let relay { try await relay.handingOff(write) } else { try await write() }
        afterCommit()
    }
}

/// Consumes a queue of GridLoop envelopes: one handler call per message with its own logger;
/// acks only after the handler returns (after its commit); retries failures with capped
/// backoff; dead-letters ``PoisonMessage``s with their reason (published with a confirm to
/// `gridloop.dead`, routing key = queue, header `x-gridloop-reason`), so that one bad message
/// never stops the loop and is never lost.
///
/// With a ``TransactionalHandler`` the deliveries that have arrived (up to the prefetch) are
/// handled together: their work in one transaction, in arrival order, one commit, then every
/// ack. If that transaction fails for any reason (a poison message among them, a deadlock, the
/// database), nothing of it is kept and the same deliveries are handled one at a time as above,
/// so a poison message is still dead-lettered alone with its reason and the others go through.
package final class EnvelopeConsumer: Service, Sendable {
    package typealias Handler = @Sendable (Delivery) async throws -> Void

    private let consumer: AMQPConsumer

    /// - Parameters:
    ///   - publisher: publishes dead letters and rejection replies.
    ///   - retry: attempts for a handler failing with an ordinary error (database down …);
    ///     after the last, the message is requeued (and dead-lettered by the queue's delivery limit).
    package init(
        configuration: ServiceConfiguration,
        queue: String,
        topology: AMQPTopology,
        publisher: AMQPPublisher,
        retry: RetryPolicy = RetryPolicy(initialDelay: .milliseconds(100), maximumDelay: .seconds(5), maxAttempts: 12),
        redact: (@Sendable ([UInt8]) -> [UInt8])? = nil,
        logger: Logger,
        handler: @escaping Handler
    ) {
        let handling = EnvelopeHandling(publisher: publisher, queue: queue, retry: retry, redact: redact, logger: logger, handler: handler)
        self.consumer = AMQPConsumer(
            options: configuration.amqp,
            queue: queue,
            topology: topology,
            prefetch: configuration.prefetch,
            concurrency: configuration.concurrency,
            logger: logger,
            handler: { await handling.handle($0) }
        )
    }

    /// A consumer whose deliveries share transactions: all that has arrived, up to
    /// `configuration.prefetch`, in one (see the type's documentation).
    package init(
        configuration: ServiceConfiguration,
        queue: String,
        topology: AMQPTopology,
        publisher: AMQPPublisher,
        retry: RetryPolicy = RetryPolicy(initialDelay: .milliseconds(100), maximumDelay: .seconds(5), maxAttempts: 12),
        redact: (@Sendable ([UInt8]) -> [UInt8])? = nil,
        logger: Logger,
        transactional: TransactionalHandler
    ) {
        var handling = EnvelopeHandling(
            publisher: publisher,
            queue: queue,
            retry: retry,
            redact: redact,
            logger: logger,
            handler: transactional.single
        )
        handling.fallbackConcurrency = max(configuration.concurrency, 1)
        let batches = handling
        self.consumer = AMQPConsumer(
            options: configuration.amqp,
            queue: queue,
            topology: topology,
            prefetch: configuration.prefetch,
            concurrency: 1,
            maxBatch: configuration.prefetch,
            logger: logger,
            batchHandler: { await batches.handle($0, together: transactional) }
        )
    }

    /// Whether the consuming connection is up.
    package var isConnected: Bool { consumer.isConnected }

    /// Why the broker cannot be reached, while connecting fails.
    package var failure: DependencyFailure? { consumer.failure }

    package func run() async throws {
        try await consumer.run()
    }
}

/// What an ``EnvelopeConsumer`` does with each delivery.
private struct EnvelopeHandling: Sendable {
    let publisher: AMQPPublisher
    let queue: String
    let retry: RetryPolicy
    /// Applied to a dead letter's body (intake seals the raw phones of submissions).
    let redact: (@Sendable ([UInt8]) -> [UInt8])?
    let logger: Logger
    let handler: EnvelopeConsumer.Handler
    /// How many deliveries of a failed batch are handled alone at once.
    var fallbackConcurrency = 1
    /// Longest a handler may take before it counts as failed (and is retried).
    let handlerDeadline = Duration.seconds(30)
    /// Pauses between attempts to publish a dead letter, and how long one handler keeps trying.
    let deadLetterRetry = RetryPolicy(initialDelay: .milliseconds(200), maximumDelay: .seconds(5))
    let deadLetterPatience = Duration.seconds(120)

    /// `messages` with their work in one transaction; one at a time if it fails (or for one).
    func handle(_ messages: [IncomingMessage], together transactional: TransactionalHandler) async -> [Disposition] {
        guard messages.count > 1 else { return [await handle(messages[0])] }
        var dispositions = [Disposition?](repeating: nil, count: messages.count)
        var deliveries: [(index: Int, delivery: Delivery)] = []
        for (index, message) in messages.enumerated() {
            guard case .success(let delivery) = delivery(of: message) else {
                dispositions[index] = await handle(message)  // not an envelope: dead-lettered with its reason
                continue
            }
            deliveries.append((index, delivery))
        }
        let together = deliveries
        do {
            try await transactional.committing {
                try await withDeadline(handlerDeadline, "handling \(together.count) deliveries together") {
                    try await transactional.postgres.transaction(logger: logger, "\(together.count) deliveries of \(queue)") { connection in
                        for (_, delivery) in together { try await transactional.work(delivery, connection) }
                    }
                }
            }
            for (index, _) in deliveries { dispositions[index] = .ack }
        } catch {
            logger.notice(
                "deliveries taken together failed; each again alone",
                metadata: ["error": "\(String(reflecting: error))", "deliveries": "\(deliveries.count)"]
            )
            // Alone, as many at once as a consumer runs handlers: one that keeps failing holds
            // its own slot, not the others'.
            await withTaskGroup(of: (Int, Disposition).self) { group in
                var running = 0
                for (index, _) in together {
                    if running >= fallbackConcurrency, let (done, disposition) = await group.next() {
                        dispositions[done] = disposition
                        running -= 1
                    }
                    group.addTask { (index, await handle(messages[index])) }
                    running += 1
                }
                for await (done, disposition) in group { dispositions[done] = disposition }
            }
        }
        return dispositions.map { $0 ?? .reject(requeue: true) }
    }

    /// The delivery with its envelope's header and a logger naming it, or why it is no envelope
    /// (with a logger naming the message).
    private func delivery(of message: IncomingMessage) -> Result<Delivery, NotAnEnvelope> {
        var logger = self.logger
        logger[metadataKey: "amqp.message_id"] = "\(message.messageId ?? "-")"
        let header: EnvelopeHeader
        do {
            header = try WireJSON.decode(EnvelopeHeader.self, from: message.body)
        } catch {
            return .failure(NotAnEnvelope(reason: "not a GridLoop envelope: \(error)", logger: logger))
        }
        logger[metadataKey: "message.type"] = "\(header.type)"
        logger[metadataKey: "correlation.id"] = "\(header.correlationId)"
        if let requestId = header.requestId { logger[metadataKey: "request.id"] = "\(requestId)" }
        return .success(Delivery(message: message, header: header, logger: logger))
    }

    /// Why a message is no GridLoop envelope.
    struct NotAnEnvelope: Error {
        var reason: String
        var logger: Logger
    }

    func handle(_ message: IncomingMessage) async -> Disposition {
        let delivery: Delivery
        switch self.delivery(of: message) {
        case .success(let envelope): delivery = envelope
        case .failure(let refused): return await deadLetter(message, reason: refused.reason, reply: nil, logger: refused.logger)
        }
        let (header, logger) = (delivery.header, delivery.logger)
        var attempt = 0
        while true {
            do {
                // A unit stuck on a dead database connection is abandoned and retried.
                try await withDeadline(handlerDeadline, "handling \(header.type)") { [handler] in try await handler(delivery) }
                return .ack
            } catch let poison as PoisonMessage {
                return await deadLetter(message, reason: poison.reason, reply: poison.reply, logger: logger)
            } catch {
                attempt += 1
                guard !Task.isShuttingDownGracefully, let delay = retry.delay(afterAttempt: attempt) else {
                    logger.error("handler failed; message requeued", metadata: ["error": "\(String(reflecting: error))", "attempts": "\(attempt)"])
                    return .reject(requeue: true)
                }
                logger.warning("handler failed; retrying", metadata: ["error": "\(String(reflecting: error))", "attempt": "\(attempt)"])
                try? await Task.sleep(for: delay)
            }
        }
    }

    private func deadLetter(_ message: IncomingMessage, reason: String, reply: CommandReply?, logger: Logger) async -> Disposition {
        logger.error("message dead-lettered", metadata: ["dead.reason": "\(reason)"])
        if let replyTo = message.replyTo, let reply {
            let envelope = MessageEnvelope(
                type: MessageType.commandReply,
                requestId: reply.requestId,
                correlationId: message.correlationId ?? message.messageId ?? MessageID.make(),
                payload: reply
            )
            do {
                var outgoing = try OutgoingMessage(envelope: envelope, exchange: "", routingKey: replyTo)
                outgoing.correlationId = message.messageId
                outgoing.mandatory = false
                if case .failed(let why) = await publisher.publish(outgoing) {
                    logger.warning(
                        "the refusal could not be sent to its reply-to",
                        metadata: ["amqp.error": "\(why)", "amqp.reply_to": "\(replyTo)"]
                    )
                }
            } catch {
                logger.warning("the refusal could not be encoded for its reply-to", metadata: ["error": "\(error)"])
            }
        }
        var headers = message.headers
        headers["x-gridloop-reason"] = String(reason.prefix(1000))
        headers["x-gridloop-queue"] = queue
        headers["x-gridloop-dead-at"] = Timestamp.format(Date())
        let dead = OutgoingMessage(
            exchange: GridLoopExchange.dead,
            routingKey: queue,
            body: redact?(message.body) ?? message.body,
            messageId: message.messageId ?? MessageID.make(),
            type: message.type,
            correlationId: message.correlationId,
            replyTo: nil,
            headers: headers
        )
        // Never the broker's own dead-lettering as a fallback: it would carry the original
        // body (a resident's raw phone) without its reason. The message stays with this
        // handler, unacked, until its dead letter is confirmed; on shutdown it goes back to its
        // queue, to be dead-lettered by whoever takes it next.
        // After `deadLetterPatience` the message goes back to its queue (freeing this handler
        // slot), to be tried again when it comes round.
        let giveUp = ContinuousClock.now + deadLetterPatience
        var attempt = 0
        while true {
            switch await publisher.publish(dead) {
            case .confirmed:
                return .ack
            case .failed(let why):
                attempt += 1
                let level: Logger.Level = attempt == 1 ? .warning : .error
                if attempt == 1 || attempt % 12 == 0 {
                    logger.log(
                        level: level,
                        "dead letter not confirmed; keeping the message and trying again",
                        metadata: ["amqp.error": "\(why)", "attempts": "\(attempt)"]
                    )
                }
                guard !Task.isShuttingDownGracefully, !Task.isCancelled, ContinuousClock.now < giveUp else {
                    logger.error(
                        "dead letter still not confirmed; the message goes back to its queue",
                        metadata: ["amqp.error": "\(why)", "attempts": "\(attempt)"]
                    )
                    return .reject(requeue: true)
                }
                let pause = deadLetterRetry.delay(afterAttempt: attempt) ?? .seconds(5)
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            }
        }
    }
}
