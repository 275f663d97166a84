import ArgumentParser
import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopServiceSupport
import Logging

/// The CLI/AMQP submission path and the pipeline behind it: `requests` submissions published
/// with confirms (as `gridloop submit` does), then timed until every assignment is in the grid's
/// queue: submissions/s through intake and routing, submit → assignment latency, and whether
/// any request was assigned twice (several routing replicas).
struct AMQPSubmit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "amqp", abstract: "Publish submissions; time them until assigned.")

    @Option(help: "Submissions in all.") var requests = 5_000
    @Option(help: "Grid the requests are for (its queue is consumed).") var grid = "hanjiaxu-2"

    func run() async throws {
        var logger = Logger(label: "gridloop-bench")
        logger.logLevel = .warning
        let options = AMQPOptions(url: try AMQPURL(string: BenchEnvironment.value("AMQP_URL")), connectionName: "gridloop-bench")
        let watch = AssignmentWatch.start(options: options, unit: try UnitRef(tier: .grid, id: grid), logger: logger)
        try await Task.sleep(for: .milliseconds(300))
        let run = String(UUID().uuidString.prefix(8)).lowercased()
        let messages = try (0..<requests).map { index in
            let key = "bench-amqp-\(run)-\(index)"
            let payload = SubmissionPayload(
                idempotencyKey: key,
                submission: SubmissionDraft(
                    category: "housing",
                    description: key,
                    location: Location(gridId: grid),
                    reporter: .init(name: "基准居民", phone: "136\(String(format: "%08d", index % 100_000_000))"),
                    channel: "cli"
                )
            )
            let envelope = MessageEnvelope(type: MessageType.submissionCreate, requestId: nil, correlationId: key, payload: payload)
            return (key, try OutgoingMessage(envelope: envelope, exchange: GridLoopExchange.submissions, routingKey: MessageType.submissionCreate))
        }
        let publisher = AMQPPublisher(options: options, topology: GridLoopTopology.exchanges, window: 256, logger: logger)
        publisher.start()
        let started = ContinuousClock.now
        let outcomes = await publisher.publish(messages.map(\.1))
        let published = ContinuousClock.now - started
        await publisher.shutdown()
        let confirmed = outcomes.count(where: \.isConfirmed)
        await watch.waitFor(confirmed, timeout: .seconds(300))
        let arrivals = messages.compactMap { watch.arrival(of: $0.0) }
        let last = arrivals.max() ?? ContinuousClock.now
        await watch.stop()

        var figures = Figures()
        figures.add("requests", requests)
        figures.add("confirmed", confirmed)
        figures.add("publish_per_s", Double(confirmed) / published.seconds)
        figures.add("assigned", arrivals.count)
        figures.add("pipeline_per_s", Double(arrivals.count) / (last - started).seconds)
        figures.addLatencies("e2e", arrivals.map { $0 - started })
        figures.add("double_assigned", watch.doubleAssigned)
        figures.print()
        if arrivals.count != requests || watch.doubleAssigned > 0 { throw ExitCode.failure }
    }
}
