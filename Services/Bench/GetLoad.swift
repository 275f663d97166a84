import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization

/// Reads under load: `clients` concurrent clients GET `url` `requests` times in all (after
/// `warmup` unmeasured reads); prints reads/s, latency percentiles and the answer's size.
struct GetLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "GET one URL under load (e.g. the inbox); time the answers.")

    @Option(help: "The URL to read.") var url: String
    @Option(name: .customLong("header"), help: "A header to send, `Name: value` (repeatable).") var headers: [String] = []
    @Option(help: "Reads in all (measured).") var requests = 400
    @Option(help: "Concurrent clients (each one read at a time).") var clients = 8
    @Option(help: "Unmeasured reads first.") var warmup = 20

    func run() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(timeout: .init(connect: .seconds(5), read: .seconds(30))))
        let parsed = headers.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (
                String(line[..<colon]).trimmingCharacters(in: .whitespaces),
                String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            )
        }
        let target = url
        @Sendable func read() async -> (Duration, Int, UInt)? {
            var request = HTTPClientRequest(url: target)
            for (name, value) in parsed { request.headers.add(name: name, value: value) }
            let sent = ContinuousClock.now
            guard let response = try? await client.execute(request, timeout: .seconds(30)),
                let body = try? await response.body.collect(upTo: 16 << 20)
            else { return nil }
            return (ContinuousClock.now - sent, body.readableBytes, response.status.code)
        }
        for _ in 0..<warmup { _ = await read() }
        let state = ReadState()
        let started = ContinuousClock.now
        let total = requests
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<clients {
                group.addTask {
                    while state.next.add(1, ordering: .relaxed).oldValue < total {
                        if let result = await read(), result.2 == 200 {
                            state.results.withLock { $0.append(result) }
                        } else {
                            state.failures.add(1, ordering: .relaxed)
                        }
                    }
                }
            }
        }
        let elapsed = ContinuousClock.now - started
        try await client.shutdown()
        let all = state.results.withLock { $0 }
        let failed = state.failures.load(ordering: .relaxed)
        var figures = Figures()
        figures.add("clients", clients)
        figures.add("reads", all.count)
        figures.add("errors", failed)
        figures.add("reads_per_s", Double(all.count) / elapsed.seconds)
        figures.addLatencies("latency", all.map(\.0))
        figures.add("bytes", all.first?.1 ?? 0)
        figures.print()
        if failed > 0 { throw ExitCode.failure }
    }
}

/// The readers' shared counters.
private final class ReadState: Sendable {
    let next = Atomic<Int>(0)
    let failures = Atomic<Int>(0)
    let results = Mutex<[(Duration, Int, UInt)]>([])
}
