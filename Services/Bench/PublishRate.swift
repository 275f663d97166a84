import ArgumentParser
import Foundation
import GridLoopAMQP
import GridLoopServiceSupport
import Logging
import Synchronization

/// The broker's limit for our kind of publishing: persistent messages with publisher confirms
/// to a quorum queue through librabbitmq, with a window of outstanding confirms; then the
/// same messages consumed with manual acks.
struct PublishRate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish-rate",
        abstract: "Confirmed persistent publishes to a quorum queue, then consumed."
    )

    @Option(help: "Messages to publish.") var messages = 20_000
    @Option(help: "Most unconfirmed publishes in flight.") var window = 64
    @Option(help: "Message body size in bytes.") var size = 600

    func run() async throws {
        var logger = Logger(label: "gridloop-bench")
        logger.logLevel = .warning
        let options = AMQPOptions(url: try AMQPURL(string: BenchEnvironment.value("AMQP_URL")), connectionName: "gridloop-bench")
        let queue = "bench.publish-rate"
        let topology = GridLoopTopology.exchanges.merging(GridLoopTopology.queue(queue, bindings: []))
        let publisher = AMQPPublisher(options: options, topology: topology, window: window, logger: logger)
        publisher.start()
        let body = Array(String(repeating: "x", count: size).utf8)
        let batch = (0..<messages).map { index in
            OutgoingMessage(exchange: "", routingKey: queue, body: body, messageId: "bench-\(index)", type: "bench")
        }
        let started = ContinuousClock.now
        let outcomes = await publisher.publish(batch)
        let published = ContinuousClock.now - started
        await publisher.shutdown()
        let confirmed = outcomes.count(where: \.isConfirmed)

        // Drain what was published (manual acks), which leaves the queue empty.
        let consumed = Counted()
        let done = AsyncStream.makeStream(of: Void.self)
        let consumer = AMQPConsumer(options: options, queue: queue, topology: topology, prefetch: 256, concurrency: 16, logger: logger) { _ in
            if consumed.count.add(1, ordering: .relaxed).newValue == confirmed { done.continuation.finish() }
            return .ack
        }
        let consumeStarted = ContinuousClock.now
        let running = Task { try await consumer.run() }
        if confirmed > 0 { for await _ in done.stream {} }
        let consumeTime = ContinuousClock.now - consumeStarted
        running.cancel()
        _ = await running.result

        var figures = Figures()
        figures.add("window", window)
        figures.add("messages", messages)
        figures.add("confirmed", confirmed)
        figures.add("publish_per_s", Double(confirmed) / published.seconds)
        figures.add("consume_per_s", Double(consumed.count.load(ordering: .relaxed)) / consumeTime.seconds)
        figures.print()
        if confirmed != messages { throw ExitCode.failure }
    }
}

/// Messages consumed so far.
private final class Counted: Sendable {
    let count = Atomic<Int>(0)
}
