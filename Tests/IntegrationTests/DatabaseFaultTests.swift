import Foundation
import GridLoopPersistence
import GridLoopServiceSupport
import GridLoopTestSupport
import PostgresNIO
import Synchronization
import Testing

/// The database pool when its connections break in mid-query, through the fault proxy.
@Suite("Database connections under network faults")
struct DatabaseFaultTests {
    /// A pool of `size` connections to the test database through `proxy`.
    func client(through proxy: FaultProxy, size: Int) throws -> PostgresClient {
        var database = try TestEnvironment.database()
        database.host = "127.0.0.1"
        database.port = proxy.port
        return database.makeClient(poolSize: size, logger: TestEnvironment.logger)
    }

    /// What the workers saw.
    final class Record: Sendable {
        /// Per worker: when its last transaction succeeded, and how many failed.
        let lastSuccess = Mutex<[Int: ContinuousClock.Instant]>([:])
        let failures = Mutex<[String]>([])
        let stop = Mutex(false)
    }

    @Test("transactions on connections reset mid-query end at once, and every worker commits again within 5 s of the heal")
    func resetMidQuery() async throws {
        let proxy = try await FaultProxy(upstream: try TestEnvironment.database().port, name: "db-proxy-reset")
        defer { Task { await proxy.stop() } }
        let record = Record()
        let workers = 8
        try await client(through: proxy, size: workers).withRunning { client in
            do {
                let tasks = (0..<workers).map { worker in
                    Task {
                        while !record.stop.withLock({ $0 }) {
                            do {
                                try await client.transaction(logger: TestEnvironment.logger) { connection in
                                    _ = try await connection.query("SELECT pg_sleep(0.05), \(worker)", logger: TestEnvironment.logger).collect()
                                    _ = try await connection.query("SELECT generate_series(1, 2000)", logger: TestEnvironment.logger).collect()
                                }
                                record.lastSuccess.withLock { $0[worker] = .now }
                            } catch {
                                record.failures.withLock { $0.append("\(worker): \(String(reflecting: error).prefix(160))") }
                                try? await Task.sleep(for: .milliseconds(20))
                            }
                        }
                    }
                }
                defer { record.stop.withLock { $0 = true } }
                try #require(await eventually { record.lastSuccess.withLock { $0.count } == workers })
                // Every live connection forwards 600 more bytes of queries and is reset.
                try await proxy.set(["mode": "cut-after", "bytes": 600, "direction": "upstream"])
                try await Task.sleep(for: .seconds(1))
                try await proxy.pass()
                let healed = ContinuousClock.now
                let recovered = await eventually(timeout: .seconds(5), every: .milliseconds(50)) {
                    record.lastSuccess.withLock { $0.values.filter { $0 > healed }.count } == workers
                }
                let stuck = record.lastSuccess.withLock { $0.filter { $0.value <= healed }.keys.sorted() }
                #expect(recovered, "workers \(stuck) had not committed 5 s after the heal: their transactions are left waiting")
                record.stop.withLock { $0 = true }
                // No worker is left waiting on a dead connection: they all end.
                try await withDeadline(.seconds(10), "the workers' last transactions") {
                    for task in tasks { await task.value }
                }
            }
        }
        let status = try await proxy.status()
        #expect((status["cut"] as? Int ?? 0) >= 1, "the proxy cut connections: \(status)")
        #expect(!record.failures.withLock { $0 }.isEmpty, "the cut reached transactions in flight")
    }
}
