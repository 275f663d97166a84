import Foundation

/// A short-lived, blocking connection for command-line use: publish with a confirm, call a
/// service and wait for its reply (direct reply-to), take one message from a queue.
///
/// Obtain one only through ``run(options:_:)``, which opens it on a dedicated thread, runs the
/// body there and closes it. Not `Sendable`: never let it escape the body.
package final class AMQPSession {
    private let connection: AMQPConnection
    private var replyConsumerStarted = false
    /// The pseudo-queue of RabbitMQ's direct reply-to.
    package static let directReplyTo = "amq.rabbitmq.reply-to"

    private init(options: AMQPOptions) throws(AMQPError) {
        connection = try AMQPConnection(options: options)
        try connection.enableConfirms()
    }

    /// Connects, runs `body` on a dedicated thread, closes.
    package static func run<T: Sendable>(options: AMQPOptions, _ body: @escaping @Sendable (AMQPSession) throws -> T) async throws -> T {
        try await AMQPThread.run(name: "amqp-session") {
            let session = try AMQPSession(options: options)
            defer { session.connection.close() }
            return try body(session)
        }
    }

    /// Checks that `topology`'s exchanges exist without creating them (see
    /// ``AMQPError/Kind/topologyMissing``); after a failure the session cannot be used.
    package func requireExchanges(of topology: AMQPTopology) throws(AMQPError) {
        try connection.requireExchanges(of: topology)
    }

    /// Deletes a queue and what is in it.
    package func deleteQueue(_ name: String) throws(AMQPError) {
        try connection.deleteQueue(name)
    }

    /// Declares exchanges, queues and bindings.
    package func declare(_ topology: AMQPTopology) throws(AMQPError) {
        try connection.declare(topology)
    }

    /// Publishes and waits for the broker's confirm.
    package func publish(_ message: OutgoingMessage, timeout: Duration = .seconds(10)) throws(AMQPError) -> PublishOutcome {
        var confirm = Confirm(sequence: try connection.publish(message), messageId: message.messageId)
        try pump(until: timeout, what: "a publisher confirm") { event in
            if case .frame(let frame) = event { confirm.absorb(frame) }
            return confirm.outcome != nil
        }
        return confirm.outcome ?? .failed("unconfirmed")
    }

    /// Publishes `request` with reply-to set, waits for its confirm and for the reply whose
    /// correlation id is the request's message id.
    package func call(_ request: OutgoingMessage, timeout: Duration = .seconds(15)) throws(AMQPError) -> IncomingMessage {
        if !replyConsumerStarted {
            try connection.consume(queue: Self.directReplyTo, noAck: true)
            replyConsumerStarted = true
        }
        var request = request
        request.replyTo = Self.directReplyTo
        var confirm = Confirm(sequence: try connection.publish(request), messageId: request.messageId)
        var reply: IncomingMessage?
        try pump(until: timeout, what: "a reply to \(request.type ?? "the request")") { event in
            switch event {
            case .frame(let frame): confirm.absorb(frame)
            case .delivery(let message) where message.correlationId == request.messageId: reply = message
            case .delivery, .idle: break
            }
            if case .failed = confirm.outcome { return true }
            return reply != nil
        }
        if case .failed(let reason) = confirm.outcome {
            throw AMQPError(.serverRefused, reason: "the broker did not take the request: \(reason)")
        }
        guard let reply else { throw AMQPError(.timeout, reason: "no reply") }
        return reply
    }

    /// Takes one message from `queue` (manual ack), polling for up to `wait`; `nil` if none came.
    package func take(queue: String, wait: Duration) throws(AMQPError) -> IncomingMessage? {
        let deadline = ContinuousClock.now + wait
        while true {
            if let message = try connection.get(queue: queue, generation: 1) { return message }
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero { return nil }
            _ = try connection.waitFrame(timeout: min(remaining, .milliseconds(250)))
        }
    }

    /// Acks or rejects a message obtained from ``take(queue:wait:)``.
    package func settle(_ message: IncomingMessage, _ disposition: Disposition) throws(AMQPError) {
        try connection.settle(tag: message.deliveryTag, disposition)
    }

    /// Reads frames and deliveries until `done` says so or `timeout` passes.
    private func pump(until timeout: Duration, what: String, _ done: (AMQPConsumeEvent) -> Bool) throws(AMQPError) {
        let deadline = ContinuousClock.now + timeout
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { throw AMQPError(.timeout, reason: "waited \(timeout) for \(what)") }
            let event = try connection.nextDelivery(timeout: min(remaining, .milliseconds(200)), generation: 1)
            if done(event) { return }
        }
    }

    /// The confirm of one publish: a return (unroutable) comes before its ack.
    private struct Confirm {
        let sequence: UInt64
        let messageId: String
        var returned: String?
        var outcome: PublishOutcome?

        init(sequence: UInt64, messageId: String) {
            self.sequence = sequence
            self.messageId = messageId
        }

        mutating func absorb(_ frame: AMQPFrameEvent) {
            switch frame {
            case .returned(let id, let code, let text) where id == messageId:
                returned = "\(PublishOutcome.returnedReason) (\(code) \(text))"
            case .ack(let tag, let multiple) where tag == sequence || (multiple && tag > sequence):
                outcome = returned.map { .failed($0) } ?? .confirmed
            case .nack(let tag, let multiple) where tag == sequence || (multiple && tag > sequence):
                outcome = .failed(PublishOutcome.nackedReason)
            default:
                break
            }
        }
    }
}
