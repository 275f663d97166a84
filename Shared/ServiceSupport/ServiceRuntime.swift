import GridLoopAMQP
import GridLoopDomain
import GridLoopPersistence
import Hummingbird
import Logging
import PostgresNIO
import Prometheus
import ServiceLifecycle

/// What every service is made of: configuration, logger, metrics, a PostgreSQL client, a
/// confirming publisher, its outbox relay. Each service's `build…` function makes one, adds
/// its consumers and routes, and turns it into an application with ``makeApplication(router:services:consumers:)``.
package struct ServiceRuntime: Sendable {
    package let configuration: ServiceConfiguration
    package let logger: Logger
    package let registry: PrometheusCollectorRegistry
    package let postgres: PostgresClient
    /// Why the database cannot be used, for `/health` and the log.
    package let databaseWatch: DatabaseWatch
    package let publisher: AMQPPublisher
    package let outbox: Outbox
    package let relay: OutboxRelay
    /// Prunes published outbox rows and old inbox ids.
    package let retention: Retention

    /// Bootstraps logging and metrics (once per process), migrates `schema` (waiting for the
    /// database if it is not up yet), and creates the long-lived parts.
    package static func make(
        configuration: ServiceConfiguration,
        migrator: Migrator,
        publishes: AMQPTopology = GridLoopTopology.exchanges
    ) async throws -> ServiceRuntime {
        let schema = migrator.schema
        let logger = GridLoopLogging.bootstrap(service: configuration.service, level: configuration.logLevel, format: configuration.logFormat)
        let registry = GridLoopMetrics.bootstrap()
        logger.info(
            "starting",
            metadata: [
                "amqp.url": "\(configuration.amqp.url)", "db.url": "\(configuration.database)",
                "http.port": "\(configuration.httpPort)",
            ]
        )
        let startup = StartupHealth(
            service: "gridloop-\(configuration.service)",
            host: configuration.httpHost,
            port: configuration.httpPort,
            logger: logger
        )
        try await DatabaseBootstrap.migrate(
            database: configuration.migrationDatabase,
            migrator: migrator,
            logger: logger,
            wait: true,
            startup: startup
        )
        // The pool logs every failed connect at info (a refused login once a second): the
        // database watch says it once, with the reason, so the pool's own lines stay below
        // warning unless debugging.
        var poolLogger = logger
        if logger.logLevel > .debug { poolLogger.logLevel = max(logger.logLevel, .warning) }
        let postgres = configuration.database.makeClient(poolSize: configuration.databasePoolSize, logger: poolLogger)
        let databaseWatch = DatabaseWatch(client: postgres, url: configuration.database, logger: logger)
        let publisher = AMQPPublisher(options: configuration.amqp, topology: publishes, logger: logger)
        let relay = OutboxRelay(client: postgres, schema: schema, publisher: publisher, logger: logger)
        return ServiceRuntime(
            configuration: configuration,
            logger: logger,
            registry: registry,
            postgres: postgres,
            databaseWatch: databaseWatch,
            publisher: publisher,
            outbox: Outbox(schema: schema),
            relay: relay,
            retention: Retention(
                postgres: postgres,
                schema: schema,
                outboxRetention: configuration.outboxRetention,
                inboxRetention: configuration.inboxRetention,
                interval: configuration.retentionInterval,
                logger: logger
            )
        )
    }

    /// A consumer of `queue` whose failures and poison messages are handled as documented on ``EnvelopeConsumer``.
    package func consumer(
        queue: String,
        topology: AMQPTopology,
        redact: (@Sendable ([UInt8]) -> [UInt8])? = nil,
        handler: @escaping EnvelopeConsumer.Handler
    ) -> EnvelopeConsumer {
        EnvelopeConsumer(
            configuration: configuration,
            queue: queue,
            topology: topology,
            publisher: publisher,
            redact: redact,
            logger: logger,
            handler: handler
        )
    }

    /// A consumer of `queue` whose deliveries share transactions (``TransactionalHandler``);
    /// the outbox rows they commit are handed to the service's relay.
    package func consumer(
        queue: String,
        topology: AMQPTopology,
        redact: (@Sendable ([UInt8]) -> [UInt8])? = nil,
        transactional work: @escaping @Sendable (Delivery, PostgresConnection) async throws -> Void,
        afterCommit: @escaping @Sendable () -> Void = {}
    ) -> EnvelopeConsumer {
        EnvelopeConsumer(
            configuration: configuration,
            queue: queue,
            topology: topology,
            publisher: publisher,
            redact: redact,
            logger: logger,
            transactional: TransactionalHandler(postgres: postgres, work: work, relay: relay, afterCommit: afterCommit)
        )
    }

    /// The application: the service's `routes`, `/health` and `/metrics`, problem JSON for
    /// errors, and the services started in dependency order (database, publisher, relay,
    /// `services`, consumers, then HTTP) and stopped in reverse on SIGTERM/SIGINT.
    package func makeApplication(
        services: [any Service] = [],
        consumers: [EnvelopeConsumer],
        routes: (Router<GridLoopRequestContext>) -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router(context: GridLoopRequestContext.self)
        router.add(middleware: ProblemMiddleware())
        routes(router)
        let publisher = self.publisher
        let brokerProbes: [@Sendable () -> Bool] = [{ publisher.isConnected }] + consumers.map { consumer in { @Sendable in consumer.isConnected } }
        let brokerFailures: [@Sendable () -> DependencyFailure?] =
            [{ publisher.failure }] + consumers.map { consumer in { @Sendable in consumer.failure } }
        ObservabilityController(
            service: "gridloop-\(configuration.service)",
            checks: [.database(postgres, watch: databaseWatch), .broker(brokerProbes, failures: brokerFailures)],
            registry: registry
        ).addRoutes(to: router)
        return Application(
            router: router,
            configuration: .init(
                address: .hostname(configuration.httpHost, port: configuration.httpPort),
                serverName: "gridloop-\(configuration.service)"
            ),
            services: [postgres, databaseWatch, publisher, relay, retention] + services + consumers,
            logger: logger
        )
    }
}

/// Schema migrations before a service starts.
package enum DatabaseBootstrap {
    /// Applies `migrator`'s migrations with a short-lived client. Each attempt first connects
    /// once (``DatabaseProbe``, 5 s) to learn why the database cannot be used. With `wait`
    /// (services) it retries with backoff for as long as it takes — an operator may fix a
    /// password while the service waits — logging as ``DependencyFailureLog`` decides and
    /// answering `/health` with the reason through `startup`; without `wait` (the CLI) the
    /// first failure is thrown as a ``DependencyFailure``.
    package static func migrate(
        database: DatabaseURL,
        migrator: Migrator,
        logger: Logger,
        wait: Bool,
        connectTimeout: Duration = .seconds(5),
        startup: StartupHealth? = nil
    ) async throws {
        let retry = RetryPolicy(initialDelay: .milliseconds(250), maximumDelay: .seconds(5))
        var attempt = 0
        var failures = DependencyFailureLog()
        var quiet = logger
        quiet.logLevel = .error  // the pool's own warnings while it starts are noise here
        defer { if let startup { Task { await startup.stop() } } }
        while true {
            attempt += 1
            let delay = retry.delay(afterAttempt: attempt) ?? .seconds(5)
            if let failure = await DatabaseProbe.check(database, timeout: connectTimeout, logger: logger) {
                guard wait else { throw failure }
                DatabaseLog.write(
                    failures.failed(failure, at: .now),
                    failure: failure,
                    logger: logger,
                    what: "the database to migrate schema \(migrator.schema)"
                )
                startup?.show(failure)
                try await Task.sleep(for: delay)
                continue
            }
            DatabaseLog.write(failures.succeeded(at: .now), failure: nil, logger: logger, what: "the database to migrate schema \(migrator.schema)")
            await startup?.stop()
            let client = database.makeClient(poolSize: 2, logger: quiet)
            do {
                try await client.withRunning { client in try await migrator.migrate(client: client, logger: logger) }
                return
            } catch {
                if let refusal = serverRefusal(error) {
                    // The database answered and refused (a permission, a failed statement):
                    // waiting will not change that.
                    logger.error(
                        "migration refused by the database",
                        metadata: [
                            "db.url": "\(database)", "db.schema": "\(migrator.schema)",
                            "db.error": "\(refusal.serverInfo?[.message] ?? "\(refusal)")",
                        ]
                    )
                    throw refusal
                }
                guard wait else { throw database.diagnosis(of: error) }
                logger.warning("migration failed; retrying", metadata: ["db.url": "\(database)", "db.error": "\(String(reflecting: error))"])
                try await Task.sleep(for: delay)
            }
        }
    }
}

extension PostgresClient {
    /// Runs `body` while this client runs. The client's `run()` starts synchronously (an
    /// immediate task) before `body` can lease a connection, so PostgresNIO never sees a lease
    /// from a client that is not running.
    package func withRunning<T: Sendable>(_ body: @escaping @Sendable (PostgresClient) async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addImmediateTask {
                await self.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(self)
        }
    }
}

/// The server's refusal inside `error` (SQLSTATE class 42: a permission or a statement it
/// rejects), if that is what it is; `nil` for a connection that failed, a database still
/// starting up, and the like, which are worth waiting for.
private func serverRefusal(_ error: any Error) -> PSQLError? {
    if let error = error as? PSQLError {
        return error.code == .server && (error.serverInfo?[.sqlState] ?? "").hasPrefix("42") ? error : nil
    }
    if let error = error as? PostgresTransactionError {
        return [error.beginError, error.closureError, error.commitError].lazy.compactMap { $0.flatMap(serverRefusal) }.first
    }
    return nil
}
