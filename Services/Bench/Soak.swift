import ArgumentParser
import Foundation
import GridLoopAMQP
import GridLoopServiceSupport
import Logging
import Synchronization

/// The AMQP wrapper's memory over a long run: `messages` confirmed persistent publishes to a
/// quorum queue, consumed with manual acks while they are published, with the process's RSS
/// sampled as it goes. After a warm-up the RSS must stay flat: a wrapper that keeps frames,
/// pools or confirms (the publisher's pool was never released once) grows with every message.
/// Exits non-zero when the growth after warm-up reaches `limit-mb`.
struct Soak: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Confirmed publishes and consumes through the wrapper with RSS sampled; fails when RSS grows after warm-up."
    )

    @Option(help: "Messages to publish and consume.") var messages = 1_000_000
    @Option(help: "Messages per publish call (the outbox relay's batch).") var batch = 256
    @Option(help: "Message body size in bytes.") var size = 600
    @Option(help: "Messages before the baseline RSS is taken.") var warmup = 100_000
    @Option(help: "Largest RSS growth after warm-up, in MB, that passes.") var limitMb = 5.0

    /// Resident set size of this process, in kB (`VmRSS` of /proc/self/status).
    static func rss() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return Int(line.split(whereSeparator: \.isWhitespace)[1]) ?? 0
    }

    func run() async throws {
        var logger = Logger(label: "gridloop-bench")
        logger.logLevel = .warning
        let options = AMQPOptions(url: try AMQPURL(string: BenchEnvironment.value("AMQP_URL")), connectionName: "gridloop-bench-soak")
        let queue = "bench.soak"
        let topology = GridLoopTopology.exchanges.merging(GridLoopTopology.queue(queue, bindings: []))
        let publisher = AMQPPublisher(options: options, topology: topology, window: 256, logger: logger)
        publisher.start()
        let consumed = Atomic<Int>(0)
        let consumer = AMQPConsumer(options: options, queue: queue, topology: topology, prefetch: 256, concurrency: 16, logger: logger) { _ in
            consumed.add(1, ordering: .relaxed)
            return .ack
        }
        let consuming = Task { try await consumer.run() }
        let body = Array(String(repeating: "x", count: size).utf8)
        var confirmed = 0
        var samples: [(Int, Int)] = []
        var baseline: Int?
        let started = ContinuousClock.now
        var sent = 0
        while sent < messages {
            let count = min(batch, messages - sent)
            let outcomes = await publisher.publish(
                (sent..<(sent + count)).map { OutgoingMessage(exchange: "", routingKey: queue, body: body, messageId: "soak-\($0)") }
            )
            confirmed += outcomes.count(where: \.isConfirmed)
            let before = sent
            sent += count
            // Keep the queue short: the broker's memory is not ours to measure.
            while sent - consumed.load(ordering: .relaxed) > 20_000 { try await Task.sleep(for: .milliseconds(5)) }
            if before < warmup, sent >= warmup { baseline = Self.rss() }
            if before / 50_000 != sent / 50_000 {
                samples.append((sent, Self.rss()))
                FileHandle.standardError.write(Data("  \(sent) messages: RSS \(Self.rss() / 1024) MB\n".utf8))
            }
        }
        while consumed.load(ordering: .relaxed) < confirmed, ContinuousClock.now - started < .seconds(3600) {
            try await Task.sleep(for: .milliseconds(20))
        }
        let elapsed = ContinuousClock.now - started
        let final = Self.rss()
        consuming.cancel()
        _ = await consuming.result
        await publisher.shutdown()
        let growth = Double(final - (baseline ?? final)) / 1024
        var figures = Figures()
        figures.add("messages", messages)
        figures.add("confirmed", confirmed)
        figures.add("consumed", consumed.load(ordering: .relaxed))
        figures.add("per_s", Double(confirmed) / elapsed.seconds, digits: 0)
        figures.add("rss_warm_mb", Double(baseline ?? 0) / 1024)
        figures.add("rss_end_mb", Double(final) / 1024)
        figures.add("rss_max_mb", Double(samples.map(\.1).max() ?? final) / 1024)
        figures.add("growth_mb", growth, digits: 2)
        figures.print()
        if confirmed != messages || growth >= limitMb { throw ExitCode.failure }
    }
}
