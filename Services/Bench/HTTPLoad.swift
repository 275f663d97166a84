import ArgumentParser
import AsyncHTTPClient
import Foundation
import GridLoopAMQP
import GridLoopDomain
import Logging
import NIOCore
import Synchronization

/// HTTP intake under load: `clients` concurrent clients POST `requests` submissions (as fast as
/// they can, or at `rate` per second in all), while the grid's queue is consumed; prints
/// accepted/s, HTTP latency and submit → assignment latency.
struct HTTPLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http",
        abstract: "POST submissions to intake; time the answers and the assignments."
    )

    @Option(help: "Submissions in all.") var requests = 2_000
    @Option(help: "Concurrent clients (each one request at a time).") var clients = 8
    @Option(help: "Requests per second in all (0: as fast as the clients go).") var rate = 0.0
    @Option(help: "Grid the requests are for (its queue is consumed).") var grid = "hanjiaxu-1"
    @Flag(inversion: .prefixedNo, help: "Wait for each request's assignment (off: HTTP intake alone, routing stopped).")
    var assignments = true
    @Flag(help: "Each client sends its next request only once the last one's assignment arrived (one request in the system a client).")
    var awaitAssignment = false

    func run() async throws {
        var logger = Logger(label: "gridloop-bench")
        logger.logLevel = .warning
        let intake = try BenchEnvironment.value("INTAKE_URL")
        let options = AMQPOptions(url: try AMQPURL(string: BenchEnvironment.value("AMQP_URL")), connectionName: "gridloop-bench")
        let watch = assignments ? AssignmentWatch.start(options: options, unit: try UnitRef(tier: .grid, id: grid), logger: logger) : nil
        try await Task.sleep(for: .milliseconds(300))
        let run = String(UUID().uuidString.prefix(8)).lowercased()
        let load = LoadState()
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(timeout: .init(connect: .seconds(5), read: .seconds(30))))
        let started = ContinuousClock.now
        let (total, perSecond, gridId, awaitEach) = (requests, rate, grid, awaitAssignment && assignments)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<clients {
                group.addTask {
                    while true {
                        let index = load.next.add(1, ordering: .relaxed).oldValue
                        guard index < total else { return }
                        if perSecond > 0 {
                            let due = started + .milliseconds(Int64(Double(index) / perSecond * 1000))
                            if due > ContinuousClock.now { try? await Task.sleep(until: due) }
                        }
                        let key = "bench-\(run)-\(index)"
                        var request = HTTPClientRequest(url: "\(intake)/v1/requests")
                        request.method = .POST
                        request.headers.add(name: "content-type", value: "application/json")
                        request.headers.add(name: "Idempotency-Key", value: key)
                        request.body = .bytes(
                            ByteBuffer(
                                string: """
                                    {"category":"housing","description":"\(key)","location":{"gridId":"\(gridId)"},\
                                    "reporter":{"name":"基准居民","phone":"137\(String(format: "%08d", index % 100_000_000))"},"channel":"hotline"}
                                    """
                            )
                        )
                        let sent = ContinuousClock.now
                        var ok = false
                        do {
                            let response = try await client.execute(request, timeout: .seconds(30))
                            _ = try await response.body.collect(upTo: 1 << 16)
                            ok = response.status.code == 201
                            if !ok { load.errors.withLock { $0["HTTP \(response.status.code)", default: 0] += 1 } }
                        } catch {
                            load.errors.withLock { $0["\(type(of: error))", default: 0] += 1 }
                        }
                        let latency = ContinuousClock.now - sent
                        load.results.withLock { $0.append(LoadState.Result(key: key, sent: sent, latency: latency, ok: ok)) }
                        if awaitEach, ok, let watch { await watch.waitForArrival(of: key, timeout: .seconds(30)) }
                    }
                }
            }
        }
        let elapsed = ContinuousClock.now - started
        try await client.shutdown()
        let all = load.results.withLock { $0 }
        let accepted = all.filter(\.ok)
        var endToEnd: [Duration] = []
        if let watch {
            await watch.waitFor(accepted.count, timeout: .seconds(120))
            endToEnd = accepted.compactMap { result in watch.arrival(of: result.key).map { $0 - result.sent } }
            await watch.stop()
        }

        var figures = Figures()
        figures.add("clients", clients)
        figures.add("requests", requests)
        figures.add("accepted", accepted.count)
        figures.add("errors", all.count - accepted.count)
        figures.add("accepted_per_s", Double(accepted.count) / elapsed.seconds)
        figures.addLatencies("http", all.map(\.latency))
        if let watch {
            figures.add("assigned", endToEnd.count)
            figures.addLatencies("e2e", endToEnd)
            figures.add("double_assigned", watch.doubleAssigned)
        }
        figures.print()
        let failures = load.errors.withLock { $0 }
        if !failures.isEmpty { FileHandle.standardError.write(Data("  errors: \(failures)\n".utf8)) }
        if accepted.count != requests || (watch != nil && endToEnd.count != accepted.count) { throw ExitCode.failure }
    }
}

/// The clients' shared counters.
private final class LoadState: Sendable {
    struct Result: Sendable {
        var key: String
        var sent: ContinuousClock.Instant
        var latency: Duration
        var ok: Bool
    }

    let next = Atomic<Int>(0)
    let results = Mutex<[Result]>([])
    let errors = Mutex<[String: Int]>([:])
}
