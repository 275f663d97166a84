import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopServiceSupport
import GridLoopTestSupport
import Testing

/// The publisher while the broker blocks publishing (`connection.blocked`, a memory alarm):
/// in the serialized end-to-end suite, since the alarm is the whole broker's.
extension EndToEndTests {
    @Test(
        "defect 4: while the broker blocks publishing, publishes fail at once (even a batch larger than the socket buffers) and resume when it unblocks"
    )
    func publisherWhileBlocked() async throws {
        let suffix = TestEnvironment.unique()
        let queue = "test.blocked.\(suffix)"
        let topology = GridLoopTopology.exchanges.merging(GridLoopTopology.queue(queue, bindings: [(GridLoopExchange.events, queue)]))
        var options = try TestEnvironment.amqpOptions(name: "test-blocked")
        options.confirmTimeout = .seconds(10)
        let publisher = AMQPPublisher(options: options, topology: topology, window: 256, logger: TestEnvironment.logger)
        publisher.start()
        try #require(await eventually { publisher.isConnected })
        func batch(_ count: Int, size: Int) -> [OutgoingMessage] {
            (0..<count).map { index in
                OutgoingMessage(
                    exchange: GridLoopExchange.events,
                    routingKey: queue,
                    body: Array(repeating: UInt8(ascii: "x"), count: size),
                    messageId: "blocked-\(suffix)-\(size)-\(index)"
                )
            }
        }
        let control = try TestEnvironment.brokerControl()
        let on = try await runCommand(["broker-alarm", "on"], executable: control, environment: [:], timeout: .seconds(60))
        try #require(on.status == 0, "broker-alarm on: \(on.stderr)")
        // 2,000 messages of 10 KB (20 MB): far more than the socket buffers hold.
        let started = ContinuousClock.now
        let large = Task { await publisher.publish(batch(2000, size: 10_000)) }
        // Bounded: before the fix the publisher's thread could stay in a send for ever.
        let outcomes: [PublishOutcome]? = await withTaskGroup(of: [PublishOutcome]?.self) { group in
            group.addTask { await large.value }
            group.addTask {
                try? await Task.sleep(for: .seconds(40))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        let largeElapsed = started.duration(to: .now)
        let second = ContinuousClock.now
        let next = await publisher.publish(batch(1, size: 100)[0])
        let nextElapsed = second.duration(to: .now)
        let off = try await runCommand(["broker-alarm", "off"], executable: control, environment: [:], timeout: .seconds(60))
        try #require(off.status == 0, "broker-alarm off: \(off.stderr)")
        _ = await large.value
        #expect(outcomes != nil && largeElapsed < .seconds(30), "the blocked batch returned after \(largeElapsed) (nil: not at all)")
        #expect(outcomes.map { $0.contains { !$0.isConfirmed } } ?? true, "a blocked batch is not reported as all published")
        // Blocked, or the connection the watchdog cut to end a stuck send: a failure either way.
        if case .failed(let reason) = next {
            #expect(reason.contains("blocks publishing") || reason.contains("not connected"), "\(reason)")
        } else {
            Issue.record("a publish while blocked was confirmed")
        }
        #expect(nextElapsed < .seconds(2), "a publish while blocked fails at once (took \(nextElapsed))")
        let resumed = await eventually(timeout: .seconds(30)) { await publisher.publish(batch(1, size: 100)[0]).isConfirmed }
        #expect(resumed, "publishing resumes once the broker unblocks")
        await publisher.shutdown()
        _ = try await AMQPSession.run(options: try TestEnvironment.amqpOptions()) { try $0.deleteQueue(queue) }
    }
}
