import Configuration
import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopServiceSupport
import GridLoopTestSupport
import Synchronization
import Testing

/// The librabbitmq wrapper's latent defects, each reached through the project's fault proxy
/// (`deploy/tools/fault-proxy.py`) between the wrapper and the real RabbitMQ: a connection cut
/// in the middle of a message, a broker that stalls its replies, a shutdown racing a handler's
/// ack, a cancelled publish, a topology an operator changed, a dead letter that cannot be
/// published. Part of the serialized end-to-end suite: other tests there stop the broker or
/// raise its memory alarm.
extension EndToEndTests {
    /// A fresh queue bound to the events exchange with a unique key, with its dead-letter queue.
    func freshFaultQueue() -> (queue: String, key: String, topology: AMQPTopology) {
        let suffix = TestEnvironment.unique()
        let queue = "test.fault.\(suffix)"
        return (queue, queue, GridLoopTopology.exchanges.merging(GridLoopTopology.queue(queue, bindings: [(GridLoopExchange.events, queue)])))
    }

    func faultMessage(_ key: String, _ index: Int, size: Int = 16) -> OutgoingMessage {
        let padding = String(repeating: "x", count: max(size - 16, 0))
        return OutgoingMessage(
            exchange: GridLoopExchange.events,
            routingKey: key,
            body: Array("{\"n\":\(index),\"p\":\"\(padding)\"}".utf8),
            messageId: "m-\(index)-\(TestEnvironment.unique())"
        )
    }

    /// The test broker's options with the proxy's port in place of the broker's.
    func faultOptions(through proxy: FaultProxy, name: String) throws -> AMQPOptions {
        var options = try TestEnvironment.amqpOptions(name: name)
        options.url.port = proxy.port
        return options
    }

    /// The broker's port, from the test URL.
    var faultBrokerPort: Int { get throws { try AMQPURL(string: TestEnvironment.amqpURL()).port } }

    /// Every message now in `queue`, acked.
    func drainFaultQueue(_ queue: String) async throws -> [IncomingMessage] {
        try await AMQPSession.run(options: try TestEnvironment.amqpOptions(name: "test-drain")) { session in
            var messages: [IncomingMessage] = []
            while let message = try session.take(queue: queue, wait: .milliseconds(300)) {
                messages.append(message)
                try session.settle(message, .ack)
            }
            return messages
        }
    }

    @Test("defect 1: a connection cut in the middle of a fetched message is an error, not a double free (the CLI process survives and says why)")
    func cutMidMessage() async throws {
        // A vhost of its own with GridLoop's service queues, and a 1-MB dead letter of intake's.
        let vhost = "gridloop-fault-\(TestEnvironment.unique())"
        let created = try await runCommand(["broker-vhost", vhost], executable: try TestEnvironment.brokerControl(), environment: [:])
        try #require(created.status == 0, "\(created.stderr)")
        var direct = try TestEnvironment.amqpOptions(name: "test-fault-setup")
        direct.url.vhost = vhost
        let big = OutgoingMessage(
            exchange: "",
            routingKey: GridLoopQueue.dead(GridLoopQueue.intakeSubmissions),
            body: Array(repeating: UInt8(ascii: "x"), count: 1 << 20),
            messageId: "big-\(TestEnvironment.unique())"
        )
        let outcome = try await AMQPSession.run(options: direct) { session in
            try session.declare(GridLoopTopology.services)
            return try session.publish(big)
        }
        try #require(outcome == .confirmed)
        let proxy = try await FaultProxy(upstream: try faultBrokerPort, name: "fault-proxy-mid-message")
        defer { Task { await proxy.stop() } }
        // Every new connection forwards 64 KB of replies, then is reset: past the handshake,
        // inside the message's first body frame.
        try await proxy.set(["mode": "cut-after", "bytes": 65536, "direction": "downstream"])
        var url = direct.url
        url.port = proxy.port
        let result = try await runCommand(
            ["dead-letters", "list", "--queue", GridLoopQueue.intakeSubmissions],
            environment: ["AMQP_URL": "amqp://\(url.user):\(url.password)@127.0.0.1:\(proxy.port)/\(vhost)"],
            timeout: .seconds(30)
        )
        #expect(result.status == 1, "a clean failure, not a crash (status \(result.status)): \(result.stderr)")
        #expect(result.stderr.contains("Error"), "\(result.stderr)")
        #expect(try await proxy.status()["cut"] as? Int == 1)
        // Nothing lost: the dead letter is still there.
        let left = try await AMQPSession.run(options: direct) { session in
            let message = try session.take(queue: GridLoopQueue.dead(GridLoopQueue.intakeSubmissions), wait: .seconds(2))
            if let message { try session.settle(message, .ack) }
            return message?.body.count
        }
        #expect(left == 1 << 20)
        _ = try? await runCommand(["broker-vhost-delete", vhost], executable: try TestEnvironment.brokerControl(), environment: [:])
    }

    /// Resident set size of the test process, in bytes (`VmRSS` of /proc/self/status).
    func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kB = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kB * 1024
    }

    @Test("defect 2: the publisher's connection gives back the frames it reads (200 MB of returned messages leave its memory flat)")
    func publisherReleasesFrames() async throws {
        // Every frame librabbitmq reads is allocated from its channel's pool, kept until released:
        // returned messages are the publisher's biggest frames (their bodies come back whole).
        let publisher = AMQPPublisher(
            options: try TestEnvironment.amqpOptions(name: "test-publisher-returns"),
            topology: GridLoopTopology.exchanges,
            logger: TestEnvironment.logger
        )
        publisher.start()
        let body = Array(repeating: UInt8(ascii: "x"), count: 100_000)
        func batch(_ round: Int) -> [OutgoingMessage] {
            (0..<50).map {
                OutgoingMessage(
                    exchange: GridLoopExchange.events,
                    routingKey: "nobody.listens.\(TestEnvironment.unique())",
                    body: body,
                    messageId: "r-\(round)-\($0)"
                )
            }
        }
        // Warm up, then 2,000 returns of 100 KB each.
        for round in 0..<4 { _ = await publisher.publish(batch(round)) }
        let before = residentBytes()
        var returned = 0
        for round in 0..<40 {
            for outcome in await publisher.publish(batch(100 + round)) {
                if case .failed(let reason) = outcome, reason.contains("unroutable") { returned += 1 }
            }
        }
        let growth = residentBytes() - before
        await publisher.shutdown()
        #expect(returned == 2000, "every message came back (\(returned))")
        #expect(growth < 50_000_000, "the process grew \(growth / 1_000_000) MB over 200 MB of returned messages")
    }

    @Test("defect 3: a handler that finishes while the consumer stops gets its ack sent; the message is not delivered again")
    func lastSettleOnShutdown() async throws {
        let (queue, key, topology) = freshFaultQueue()
        let sent = faultMessage(key, 1)
        _ = try await AMQPSession.run(options: try TestEnvironment.amqpOptions()) { session in
            try session.declare(topology)
            return try session.publish(sent)
        }
        let started = Mutex(false)
        let stopAsked = Mutex(false)
        let finished = Mutex(false)
        let held = Mutex(false)
        // The race, made certain: once the stop is asked, the connection thread is held at the
        // end of its pass until the handler has finished (its settle queued after the thread's
        // last look) and the consumer has drained; only then does the thread read "stop".
        let consumer = AMQPConsumer(
            options: try TestEnvironment.amqpOptions(name: "test-consumer"),
            queue: queue,
            topology: topology,
            logger: TestEnvironment.logger,
            endOfPass: {
                guard stopAsked.withLock({ $0 }), !held.withLock({ $0 }) else { return }
                held.withLock { $0 = true }
                let until = ContinuousClock.now + .seconds(5)
                while !finished.withLock({ $0 }), ContinuousClock.now < until { usleep(1000) }
                usleep(300_000)
            }
        ) { _ in
            started.withLock { $0 = true }
            // Still working when the stop comes; done (and acked) after it.
            let until = ContinuousClock.now + .seconds(5)
            while !held.withLock({ $0 }), ContinuousClock.now < until { try? await Task.sleep(for: .milliseconds(5)) }
            finished.withLock { $0 = true }
            return .ack
        }
        let running = Task { try await consumer.run() }
        try #require(await eventually { started.withLock { $0 } })
        stopAsked.withLock { $0 = true }
        running.cancel()
        try await running.value
        #expect(held.withLock { $0 }, "the thread was held while the handler finished")
        let again = try await drainFaultQueue(queue)
        #expect(again.isEmpty, "the handled message came back \(again.count) time(s): its ack was dropped on shutdown")
    }

    @Test("defect 5: a broker that stops answering an RPC (a declare) fails it within the RPC timeout, not after the heartbeats")
    func rpcTimeout() async throws {
        let (_, _, topology) = freshFaultQueue()
        let proxy = try await FaultProxy(upstream: try faultBrokerPort, name: "fault-proxy-rpc")
        defer { Task { await proxy.stop() } }
        var options = try faultOptions(through: proxy, name: "test-rpc-timeout")
        options.heartbeat = 30
        options.rpcTimeout = .seconds(2)
        let publisher = AMQPPublisher(options: options, topology: GridLoopTopology.exchanges, logger: TestEnvironment.logger)
        publisher.start()
        try #require(await eventually { publisher.isConnected })
        try await proxy.set(["mode": "stall", "direction": "downstream"])
        let started = ContinuousClock.now
        let declared = Task { try await publisher.declare(topology) }
        let ended = await eventually(timeout: .seconds(15)) { publisher.isConnected == false || started.duration(to: .now) > .seconds(14) }
        let elapsed = started.duration(to: .now)
        try await proxy.pass()
        await #expect(throws: AMQPError.self) { try await declared.value }
        #expect(ended && elapsed < .seconds(8), "the stalled declare took \(elapsed)")
        await publisher.shutdown()
    }

    @Test("defect 7: a publish whose caller gave up before it started is never sent")
    func cancelledPublishIsNotSent() async throws {
        let (queue, key, topology) = freshFaultQueue()
        _ = try await AMQPSession.run(options: try TestEnvironment.amqpOptions()) { try $0.declare(topology) }
        let proxy = try await FaultProxy(upstream: try faultBrokerPort, name: "fault-proxy-cancel")
        defer { Task { await proxy.stop() } }
        var options = try faultOptions(through: proxy, name: "test-cancel")
        options.confirmTimeout = .seconds(3)
        let publisher = AMQPPublisher(options: options, topology: topology, logger: TestEnvironment.logger)
        publisher.start()
        try #require(await eventually { publisher.isConnected })
        // The first batch waits for confirms that the stalled link holds back; the second is queued behind it.
        try await proxy.set(["mode": "stall", "direction": "downstream"])
        let first = faultMessage(key, 1)
        let second = faultMessage(key, 2)
        let stuck = Task { await publisher.publish(first) }
        try await Task.sleep(for: .milliseconds(300))
        let abandoned = Task { await publisher.publish(second) }
        try await Task.sleep(for: .milliseconds(300))
        abandoned.cancel()
        try await Task.sleep(for: .milliseconds(100))
        // The link heals: the first batch times out, the publisher reconnects, and a queued
        // job that nobody waits for any more would go out on the new connection.
        try await proxy.pass()
        let outcome = await abandoned.value
        #expect(!outcome.isConfirmed, "\(outcome)")
        _ = await stuck.value
        // Whatever became of the first, the abandoned second must never reach the queue.
        try await Task.sleep(for: .seconds(1))
        let arrived = try await drainFaultQueue(queue).compactMap(\.messageId)
        #expect(!arrived.contains(second.messageId), "the abandoned publish went out after all: \(arrived)")
        await publisher.shutdown()
    }

    @Test("defect 8: merging a topology again adds nothing; a queue an operator re-created with other arguments does not keep the publisher down")
    func topologyReplay() async throws {
        let (queue, key, topology) = freshFaultQueue()
        #expect(topology.merging(topology).merging(topology) == topology.merging(topology))
        #expect(topology.merging(topology).exchanges.count == topology.exchanges.count)
        let (other, otherKey, otherTopology) = freshFaultQueue()
        _ = try await AMQPSession.run(options: try TestEnvironment.amqpOptions()) { try $0.declare(otherTopology) }
        let proxy = try await FaultProxy(upstream: try faultBrokerPort, name: "fault-proxy-topology")
        defer { Task { await proxy.stop() } }
        let publisher = AMQPPublisher(
            options: try faultOptions(through: proxy, name: "test-topology"),
            topology: GridLoopTopology.exchanges,
            logger: TestEnvironment.logger
        )
        publisher.start()
        try #require(await eventually { publisher.isConnected })
        try await publisher.declare(topology)
        // The operator deletes the queue and declares it again as a classic queue: the replay
        // of the quorum declare is refused from now on.
        try await AMQPSession.run(options: try TestEnvironment.amqpOptions()) { session in
            try session.deleteQueue(queue)
            try session.declare(AMQPTopology(queues: [.init(name: queue, quorum: false)]))
        }
        try await proxy.set(["mode": "cut"])
        let sent = faultMessage(otherKey, 1)
        let confirmed = await eventually(timeout: .seconds(20)) { await publisher.publish(sent).isConfirmed }
        #expect(confirmed, "the publisher stayed down after a reconnect with a failing declare")
        await publisher.shutdown()
        #expect(try await drainFaultQueue(other).contains { $0.messageId == sent.messageId })
        _ = key
        try await AMQPSession.run(options: try TestEnvironment.amqpOptions()) { try $0.deleteQueue(queue) }
    }

    /// A service configuration whose broker is `url`.
    func faultConfiguration(amqp url: String) throws -> ServiceConfiguration {
        let provider = InMemoryProvider(values: ["amqp.url": ConfigValue(.string(url), isSecret: true)])
        return try ServiceConfiguration(reader: ConfigReader(provider: provider), service: "test", defaultPort: 0)
    }

    @Test("defect 9: when the dead letter cannot be published, the raw body never reaches a dead-letter queue, and the message is kept")
    func deadLetterFallback() async throws {
        let (queue, key, topology) = freshFaultQueue()
        let raw = #"{"not":"an envelope","phone":"13800001234"}"#
        let poison = OutgoingMessage(
            exchange: GridLoopExchange.events,
            routingKey: key,
            body: Array(raw.utf8),
            messageId: "poison-\(TestEnvironment.unique())"
        )
        _ = try await AMQPSession.run(options: try TestEnvironment.amqpOptions()) { session in
            try session.declare(topology)
            return try session.publish(poison)
        }
        // The consumer reaches the broker; its publisher (dead letters) does not.
        let publisher = AMQPPublisher(
            options: AMQPOptions(url: try AMQPURL(string: "amqp://guest:guest@127.0.0.1:1/%2f"), connectionName: "test-no-broker"),
            logger: TestEnvironment.logger
        )
        publisher.start()
        let consumer = EnvelopeConsumer(
            configuration: try faultConfiguration(amqp: TestEnvironment.amqpURL()),
            queue: queue,
            topology: topology,
            publisher: publisher,
            redact: { _ in Array(#"{"sealed":true}"#.utf8) },
            logger: TestEnvironment.logger
        ) { _ in }
        let running = Task { try await consumer.run() }
        try await Task.sleep(for: .seconds(3))
        running.cancel()
        try await running.value
        await publisher.shutdown()
        let dead = try await drainFaultQueue(GridLoopQueue.dead(queue))
        #expect(!dead.contains { String(decoding: $0.body, as: UTF8.self).contains("13800001234") }, "a raw phone in the dead-letter queue")
        let kept = try await drainFaultQueue(queue)
        #expect(kept.map(\.messageId) == [poison.messageId], "the poison message is kept in its queue until it can be dead-lettered")
    }
}
