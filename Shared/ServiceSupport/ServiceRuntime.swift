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
    package let publisher: AMQPPublisher
    package let outbox: Outbox
    package let relay: OutboxRelay
    /// Prunes published outbox rows and old inbox ids.
    package let retention: Retention

    /// Bootstraps logging and metrics (once per process), migrates `schema` (waiting for the
    /// database if it is not up yet), and creates the long-lived parts.
    package static func make(configuration: ServiceConfiguration, migrator: Migrator, publishes: AMQPTopology = GridLoopTopology.exchanges) async throws -> ServiceRuntime {
        let schema = migrator.schema
        let logger = GridLoopLogging.bootstrap(service: configuration.service, level: configuration.logLevel, format: configuration.logFormat)
        let registry = GridLoopMetrics.bootstrap()
        logger.info("starting", metadata: [
            "amqp.url": "\(configuration.amqp.url)", "db.url": "\(configuration.database)",
            "http.port": "\(configuration.httpPort)",
        ])
        try await DatabaseBootstrap.migrate(database: configuration.migrationDatabase, migrator: migrator, logger: logger)
        let postgres = configuration.database.makeClient(poolSize: configuration.databasePoolSize, logger: logger)
        let publisher = AMQPPublisher(options: configuration.amqp, topology: publishes, logger: logger)
        let relay = OutboxRelay(client: postgres, schema: schema, publisher: publisher, logger: logger)
        return ServiceRuntime(
            configuration: configuration, logger: logger, registry: registry, postgres: postgres,
            publisher: publisher, outbox: Outbox(schema: schema), relay: relay,
            retention: Retention(
                postgres: postgres, schema: schema, outboxRetention: configuration.outboxRetention, inboxRetention: configuration.inboxRetention,
                interval: configuration.retentionInterval, logger: logger
            )
        )
    }

    /// A consumer of `queue` whose failures and poison messages are handled as documented on ``EnvelopeConsumer``.
    package func consumer(
        queue: String, topology: AMQPTopology, redact: (@Sendable ([UInt8]) -> [UInt8])? = nil, handler: @escaping EnvelopeConsumer.Handler
    ) -> EnvelopeConsumer {
        EnvelopeConsumer(configuration: configuration, queue: queue, topology: topology, publisher: publisher, redact: redact, logger: logger, handler: handler)
    }

    /// The application: the service's `routes`, `/health` and `/metrics`, problem JSON for
    /// errors, and the services started in dependency order (database, publisher, relay,
    /// `services`, consumers, then HTTP) and stopped in reverse on SIGTERM/SIGINT.
    package func makeApplication(
        services: [any Service] = [], consumers: [EnvelopeConsumer], routes: (Router<GridLoopRequestContext>) -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router(context: GridLoopRequestContext.self)
        router.add(middleware: ProblemMiddleware())
        routes(router)
        let publisher = self.publisher
        let brokerProbes: [@Sendable () -> Bool] = [{ publisher.isConnected }] + consumers.map { consumer in { @Sendable in consumer.isConnected } }
        ObservabilityController(
            service: "gridloop-\(configuration.service)",
            checks: [.database(postgres), .broker(brokerProbes)],
            registry: registry
        ).addRoutes(to: router)
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: "gridloop-\(configuration.service)"),
            services: [postgres, publisher, relay, retention] + services + consumers,
            logger: logger
        )
    }
}

/// Schema migrations before a service starts.
package enum DatabaseBootstrap {
    /// Applies `migrator`'s migrations with a short-lived client, retrying with backoff while
    /// the database cannot be reached.
    package static func migrate(database: DatabaseURL, migrator: Migrator, logger: Logger) async throws {
        let retry = RetryPolicy(initialDelay: .milliseconds(250), maximumDelay: .seconds(5), maxAttempts: 60)
        var attempt = 0
        var quiet = logger
        quiet.logLevel = .error  // the pool's own warnings while it starts are noise here
        while true {
            let client = database.makeClient(poolSize: 2, logger: quiet)
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await client.run() }
                    defer { group.cancelAll() }
                    try await migrator.migrate(client: client, logger: logger)
                }
                return
            } catch {
                if let refusal = serverRefusal(error) {
                    // The database answered and refused (a permission, a failed statement):
                    // waiting will not change that.
                    logger.error("migration refused by the database", metadata: [
                        "db.url": "\(database)", "db.schema": "\(migrator.schema)", "db.error": "\(refusal.serverInfo?[.message] ?? "\(refusal)")",
                    ])
                    throw refusal
                }
                attempt += 1
                guard let delay = retry.delay(afterAttempt: attempt) else { throw error }
                logger.warning("waiting for the database", metadata: ["db.url": "\(database)", "db.error": "\(String(reflecting: error))"])
                try await Task.sleep(for: delay)
            }
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
