import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopServiceSupport
import GridLoopTestSupport
import Synchronization
import Testing

/// The librabbitmq wrapper against the real broker.
@Suite("AMQP wrapper")
struct AMQPWrapperTests {
    /// A fresh queue bound to the events exchange with a unique key, with its dead-letter queue.
    func freshQueue() -> (queue: String, key: String, topology: AMQPTopology) {
        let suffix = TestEnvironment.unique()
        let queue = "test.\(suffix)"
        let key = "test.\(suffix)"
        return (queue, key, GridLoopTopology.exchanges.merging(GridLoopTopology.queue(queue, bindings: [(GridLoopExchange.events, key)])))
    }

    func message(_ key: String, _ index: Int) -> OutgoingMessage {
        OutgoingMessage(
            exchange: GridLoopExchange.events,
            routingKey: key,
            body: Array("{\"n\":\(index)}".utf8),
            messageId: "m-\(index)-\(TestEnvironment.unique())"
        )
    }

    @Test("publishes with confirms, consumes with manual acks, every message exactly once")
    func publishConsumeAck() async throws {
        let (queue, key, topology) = freshQueue()
        let publisher = AMQPPublisher(
            options: try TestEnvironment.amqpOptions(name: "test-publisher"),
            topology: topology,
            window: 16,
            logger: TestEnvironment.logger
        )
        publisher.start()
        let messages = (0..<500).map { message(key, $0) }
        let outcomes = await publisher.publish(messages)
        #expect(outcomes.count == 500)
        let unconfirmed = outcomes.filter { !$0.isConfirmed }
        #expect(unconfirmed.isEmpty, "\(unconfirmed.prefix(3))")

        let received = Mutex<[String]>([])
        let consumer = AMQPConsumer(
            options: try TestEnvironment.amqpOptions(name: "test-consumer"),
            queue: queue,
            topology: topology,
            prefetch: 20,
            concurrency: 4,
            logger: TestEnvironment.logger
        ) { delivery in
            received.withLock { $0.append(delivery.messageId ?? "") }
            return .ack
        }
        let running = Task { try await consumer.run() }
        #expect(await eventually { received.withLock { $0.count } >= 500 })
        running.cancel()
        try await running.value
        await publisher.shutdown()

        let ids = received.withLock { $0 }
        #expect(ids.count == 500)
        #expect(Set(ids) == Set(messages.map(\.messageId)))
        let left = try await AMQPSession.run(options: try TestEnvironment.amqpOptions()) { try $0.take(queue: queue, wait: .milliseconds(200)) }
        #expect(left == nil, "every message was acked")
    }

    @Test("an unroutable mandatory publish is a failure, not a confirm")
    func unroutableFails() async throws {
        let publisher = AMQPPublisher(
            options: try TestEnvironment.amqpOptions(name: "test-publisher"),
            topology: GridLoopTopology.exchanges,
            logger: TestEnvironment.logger
        )
        publisher.start()
        let outcomes = await publisher.publish([
            message("nobody.listens.\(TestEnvironment.unique())", 1), message("nobody.either.\(TestEnvironment.unique())", 2),
        ])
        await publisher.shutdown()
        for outcome in outcomes {
            guard case .failed(let reason) = outcome else {
                Issue.record("expected a failure, got \(outcome)")
                continue
            }
            #expect(reason.contains("unroutable"))
        }
    }

    @Test("a rejected message goes to the queue's dead-letter queue, not back")
    func rejectDeadLetters() async throws {
        let (queue, key, topology) = freshQueue()
        let sent = message(key, 7)
        let outcome = try await AMQPSession.run(options: try TestEnvironment.amqpOptions()) { session in
            try session.declare(topology)
            return try session.publish(sent)
        }
        #expect(outcome == .confirmed)
        let deliveries = Mutex(0)
        let consumer = AMQPConsumer(
            options: try TestEnvironment.amqpOptions(name: "test-consumer"),
            queue: queue,
            topology: topology,
            logger: TestEnvironment.logger
        ) { _ in
            deliveries.withLock { $0 += 1 }
            return .reject(requeue: false)
        }
        let running = Task { try await consumer.run() }
        let dead = await eventually {
            let found = try? await AMQPSession.run(options: try TestEnvironment.amqpOptions()) { session -> String? in
                guard let message = try session.take(queue: GridLoopQueue.dead(queue), wait: .milliseconds(200)) else { return nil }
                try session.settle(message, .ack)
                return message.messageId
            }
            return found == sent.messageId
        }
        running.cancel()
        try await running.value
        #expect(dead)
        #expect(deliveries.withLock { $0 } == 1, "delivered once, then dead-lettered")
    }

    @Test("a publisher with no broker fails fast instead of hanging")
    func unreachableBrokerFailsFast() async throws {
        var options = try TestEnvironment.amqpOptions(name: "test-nowhere")
        options.url.port = 1  // nothing listens there
        let publisher = AMQPPublisher(options: options, logger: TestEnvironment.logger)
        publisher.start()
        let started = ContinuousClock.now
        let outcome = await publisher.publish(message("x", 1))
        let elapsed = ContinuousClock.now - started
        await publisher.shutdown()
        guard case .failed(let reason) = outcome else {
            Issue.record("expected a failure, got \(outcome)")
            return
        }
        #expect(reason.contains("not connected"))
        #expect(elapsed < .seconds(10))
        #expect(!publisher.isConnected)
    }
}
