import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import Logging
import PostgresNIO

/// How the CLI reaches the database and the broker: it connects first, within
/// `GRIDLOOP_CONNECT_TIMEOUT` seconds (default 5), and when that fails it stops at once with
/// what it tried, what the server said and the likely fix (``DependencyFailure``), instead of
/// waiting for a pool's retries or reporting a symptom.
enum CLIConnections {
    /// `GRIDLOOP_CONNECT_TIMEOUT` (seconds, 1–60; default 5).
    static var connectTimeout: Duration {
        let seconds = ProcessInfo.processInfo.environment["GRIDLOOP_CONNECT_TIMEOUT"].flatMap(Int.init) ?? 5
        return .seconds(min(max(seconds, 1), 60))
    }

    /// Brings each migrator's schema up to date (as the owner's login, `DATABASE_MIGRATION_URL`)
    /// before a command uses it; a database that does not answer fails at once, not after waiting.
    static func migrate(_ migrators: Migrator..., configuration: ServiceConfiguration, logger: Logger = Logger(label: "gridloop-cli")) async throws {
        for migrator in migrators {
            try await DatabaseBootstrap.migrate(
                database: configuration.migrationDatabase,
                migrator: migrator,
                logger: logger,
                wait: false,
                connectTimeout: connectTimeout
            )
        }
    }

    /// The schemas every GridLoop database has once `gridloop migrate` ran.
    static let schemas = ["intake", "routing", "notification", "reporting"]

    /// A broker session on `options`' vhost, after checking (without creating anything) that
    /// GridLoop's exchanges are there. A broker that cannot be reached, refuses the login or
    /// the vhost, or lacks the topology is thrown as a ``DependencyFailure``.
    /// `requireTopology: false` is for `org import`, which declares the units' topology itself.
    static func session<T: Sendable>(
        options: AMQPOptions,
        requireTopology: Bool = true,
        _ body: @escaping @Sendable (AMQPSession) throws -> T
    ) async throws -> T {
        do {
            return try await AMQPSession.run(options: options) { session in
                if requireTopology { try session.requireExchanges(of: GridLoopTopology.exchanges) }
                return try body(session)
            }
        } catch let error as AMQPError where [.connectionFailed, .topologyMissing, .invalidURL].contains(error.kind) {
            // Only connecting, logging in and the check fail this way; the body's own errors
            // (a timeout, a refused declare) are left as they are.
            throw error.diagnosis(options: options)
        }
    }

    /// Prints a failure to reach a dependency: what was tried, why it failed, what to do.
    static func report(_ failure: DependencyFailure) {
        let environment = ProcessInfo.processInfo.environment
        var text = "Error: \(failure)\n"
        let variable = failure.setting
        let unset = environment[variable].map(\.isEmpty) ?? true
        if unset { text += "  \(variable) is not set, so the default was tried.\n" }
        text += "  Fix: \(failure.fix)."
        if unset || failure.permanent { text += " For the local system, eval \"$(deploy/local.sh env)\" puts its settings in your shell." }
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

/// Runs `body` with a client of the database from `DATABASE_URL` (admin commands), once a
/// first connection has shown that the database answers and has GridLoop's schemas.
/// `schemas`: those the command needs (default all of GridLoop's).
func withAdminDatabase<T: Sendable>(
    poolSize: Int = 2,
    schemas: [String] = CLIConnections.schemas,
    _ body: @escaping @Sendable (PostgresClient) async throws -> T
) async throws -> T {
    let configuration = try CLIEnvironment.configuration()
    var logger = Logger(label: "gridloop-cli")
    logger.logLevel = .error
    if let failure = await DatabaseProbe.check(configuration.database, timeout: CLIConnections.connectTimeout, schemas: schemas, logger: logger) {
        throw failure
    }
    return try await configuration.database.makeClient(poolSize: poolSize, logger: logger).withRunning(body)
}
