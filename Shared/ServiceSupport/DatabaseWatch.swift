import GridLoopDomain
import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Watches the service's database: `SELECT 1` through the pool every few seconds and, when
/// that fails, one direct connection (``DatabaseProbe``) to learn why in PostgreSQL's words.
/// The reason goes to `/health` and to the log as ``DependencyFailureLog`` decides (a
/// warning, an error when it lasts or can never work, rate-limited, a line on recovery).
package final class DatabaseWatch: Service, Sendable {
    private let client: PostgresClient
    private let url: DatabaseURL
    private let logger: Logger
    private let interval: Duration
    private let state = Mutex<(failure: DependencyFailure?, log: DependencyFailureLog)>((nil, DependencyFailureLog()))

    package init(client: PostgresClient, url: DatabaseURL, logger: Logger, interval: Duration = .seconds(5)) {
        self.client = client
        self.url = url
        self.logger = logger
        self.interval = interval
    }

    /// Why the database cannot be used, as of the last check that failed; `nil` while it works.
    package var failure: DependencyFailure? { state.withLock { $0.failure } }

    package func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            // Wakes at once on shutdown, so that the service group can stop. Sleeping first
            // also lets the pool (started beside it) run before the first check leases.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
            guard !Task.isCancelled, !Task.isShuttingDownGracefully else { break }
            try? await cancelWhenGracefulShutdown { await self.check() }
        }
    }

    /// One round: the pool first; the direct probe only when the pool fails.
    package func check() async {
        let pooled = await client.answers(within: .seconds(3))
        let failure = pooled ? nil : await DatabaseProbe.check(url, timeout: .seconds(5), logger: logger)
        let decision = state.withLock { state in
            state.failure = failure
            return failure.map { state.log.failed($0, at: .now) } ?? state.log.succeeded(at: .now)
        }
        DatabaseLog.write(decision, failure: failure, logger: logger, what: "the database")
    }
}

extension PostgresClient {
    /// Whether `SELECT 1` answers within `timeout` (through the pool).
    package func answers(within timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await self.query("SELECT 1").collect()) != nil }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}

/// The log lines of a database failure (shared by the watch and the start-up wait).
enum DatabaseLog {
    static func write(_ decision: DependencyFailureLog.Decision, failure: DependencyFailure?, logger: Logger, what: String) {
        let metadata: Logger.Metadata =
            failure.map {
                [
                    "dependency": "database", "dependency.target": "\($0.target)", "dependency.reason": "\($0.reason)",
                    "dependency.fix": "\($0.fix)", "dependency.permanent": "\($0.permanent)",
                ]
            } ?? ["dependency": "database"]
        switch decision {
        case .none:
            break
        case .warning:
            logger.warning("cannot use \(what); retrying", metadata: metadata)
        case .error:
            logger.error(
                failure?.permanent == true
                    ? "cannot use \(what) as configured; retrying until the configuration is fixed"
                    : "still cannot use \(what); retrying",
                metadata: metadata
            )
        case .recovered(let downFor):
            logger.info("\(what) works again", metadata: ["dependency": "database", "dependency.down.seconds": "\(downFor.components.seconds)"])
        }
    }
}

/// While a service waits for its database before it can start, `/health` on its port answers
/// 503 with the reason (the service's own routes come up only after its migrations).
package final class StartupHealth: Sendable {
    private let service: String
    private let address: BindAddress
    private let logger: Logger
    private let failure = Mutex<DependencyFailure?>(nil)
    private let task = Mutex<Task<Void, Never>?>(nil)

    package init(service: String, host: String, port: Int, logger: Logger) {
        self.service = service
        self.address = .hostname(host, port: port)
        var quiet = logger
        quiet.logLevel = .warning
        self.logger = quiet
    }

    /// Shows `failure` from now on, starting the listener the first time.
    package func show(_ failure: DependencyFailure) {
        self.failure.withLock { $0 = failure }
        task.withLock { task in
            guard task == nil else { return }
            let router = Router()
            let service = self.service
            router.get("health") { [self] _, _ -> Response in
                let failure = self.failure.withLock { $0 }
                return try HealthDocument.response(
                    service: service,
                    status: "starting",
                    ready: false,
                    checks: ["database": "down"],
                    failures: failure.map { ["database": $0] } ?? [:]
                )
            }
            let app = Application(router: router, configuration: .init(address: address, serverName: service), logger: logger)
            let logger = self.logger
            task = Task {
                do { try await app.runService(gracefulShutdownSignals: []) } catch {
                    logger.warning("no start-up /health", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// Closes the listener (before the service's own server takes the port).
    package func stop() async {
        let running = task.withLock { task in
            defer { task = nil }
            return task
        }
        running?.cancel()
        await running?.value
    }
}
