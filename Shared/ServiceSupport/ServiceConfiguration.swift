import Configuration
import GridLoopAMQP
import GridLoopDomain
import Logging

/// Settings every GridLoop service reads from its environment (see README, "Configuration").
///
/// | key | environment | default |
/// |---|---|---|
/// | `amqp.url` (secret) | `AMQP_URL` | `amqp://guest:guest@127.0.0.1:5672/%2f` |
/// | `amqp.heartbeat` | `AMQP_HEARTBEAT` | 10 (seconds, ≤ 30) |
/// | `amqp.tls.ca.file` | `AMQP_TLS_CA_FILE` | the system's bundle (for `amqps://`) |
/// | `amqp.tls.verify` | `AMQP_TLS_VERIFY` | true (certificate and host name, for `amqps://`) |
/// | `amqp.rpc.timeout` | `AMQP_RPC_TIMEOUT` | 10 (seconds a synchronous broker call may wait) |
/// | `amqp.prefetch` | `AMQP_PREFETCH` | 32 |
/// | `amqp.concurrency` | `AMQP_CONCURRENCY` | 4 |
/// | `amqp.fault.close.before.ack` | `AMQP_FAULT_CLOSE_BEFORE_ACK` | false (fault injection only: every message delivered twice) |
/// | `database.url` (secret) | `DATABASE_URL` | `postgres://gridloop:gridloop@127.0.0.1:5432/gridloop` (the service's least-privilege login) |
/// | `database.migration.url` (secret) | `DATABASE_MIGRATION_URL` | `DATABASE_URL` (the schemas' owner, for migrations) |
/// | `database.pool.size` | `DATABASE_POOL_SIZE` | 10 |
/// | `<service>.http.port`, `http.port` | `INTAKE_HTTP_PORT`…, `HTTP_PORT` | per service |
/// | `http.host` | `HTTP_HOST` | `127.0.0.1` |
/// | `log.level` | `LOG_LEVEL` | `info` |
/// | `log.format` | `LOG_FORMAT` | `json` (or `text`) |
/// | `retention.outbox.hours` | `RETENTION_OUTBOX_HOURS` | 168 (published outbox rows kept) |
/// | `retention.inbox.days` | `RETENTION_INBOX_DAYS` | 30 (processed message ids kept) |
/// | `retention.interval.minutes` | `RETENTION_INTERVAL_MINUTES` | 60 |
package struct ServiceConfiguration: Sendable {
    package var service: String
    package var amqp: AMQPOptions
    package var prefetch: Int
    package var concurrency: Int
    package var database: DatabaseURL
    /// The owner's login, used only to apply migrations (DDL, grants); without it, migrations
    /// run as `database` (which then must own the schemas, or find them up to date).
    package var migrationDatabase: DatabaseURL
    package var databasePoolSize: Int
    package var httpHost: String
    package var httpPort: Int
    package var logLevel: Logger.Level
    package var logFormat: LogFormat
    package var outboxRetention: Duration
    package var inboxRetention: Duration
    package var retentionInterval: Duration

    /// Reads the settings of `service` (e.g. `intake`), whose HTTP port defaults to `defaultPort`.
    package init(reader: ConfigReader, service: String, defaultPort: Int) throws {
        self.service = service
        let url = try AMQPURL(string: reader.string(forKey: "amqp.url", isSecret: true, default: "amqp://guest:guest@127.0.0.1:5672/%2f"))
        self.amqp = AMQPOptions(url: url, heartbeat: reader.int(forKey: "amqp.heartbeat", default: 10), connectionName: "gridloop-\(service)")
        self.amqp.closeBeforeFirstAck = reader.bool(forKey: "amqp.fault.close.before.ack", default: false)
        self.amqp.tlsCAFile = reader.string(forKey: "amqp.tls.ca.file").flatMap { $0.isEmpty ? nil : $0 }
        self.amqp.tlsVerify = reader.bool(forKey: "amqp.tls.verify", default: true)
        self.amqp.rpcTimeout = .seconds(max(1, reader.int(forKey: "amqp.rpc.timeout", default: 10)))
        self.prefetch = reader.int(forKey: "amqp.prefetch", default: 32)
        self.concurrency = reader.int(forKey: "amqp.concurrency", default: 4)
        self.database = try DatabaseURL(
            string: reader.string(forKey: "database.url", isSecret: true, default: "postgres://gridloop:gridloop@127.0.0.1:5432/gridloop")
        )
        self.migrationDatabase =
            try reader.string(forKey: "database.migration.url", isSecret: true).map { string in
                var url = try DatabaseURL(string: string)
                url.setting = "DATABASE_MIGRATION_URL"
                return url
            } ?? database
        self.databasePoolSize = reader.int(forKey: "database.pool.size", default: 10)
        self.httpHost = reader.string(forKey: "http.host", default: "127.0.0.1")
        self.httpPort = reader.int(forKey: ConfigKey("\(service).http.port"), default: reader.int(forKey: "http.port", default: defaultPort))
        self.logLevel = Logger.Level(rawValue: reader.string(forKey: "log.level", default: "info")) ?? .info
        self.logFormat = LogFormat(rawValue: reader.string(forKey: "log.format", default: "json")) ?? .json
        self.outboxRetention = .seconds(Int64(max(1, reader.int(forKey: "retention.outbox.hours", default: 168))) * 3600)
        self.inboxRetention = .seconds(Int64(max(1, reader.int(forKey: "retention.inbox.days", default: 30))) * 86400)
        self.retentionInterval = .seconds(Int64(max(1, reader.int(forKey: "retention.interval.minutes", default: 60))) * 60)
    }

    /// Reads from the process environment.
    package static func fromEnvironment(service: String, defaultPort: Int) throws -> ServiceConfiguration {
        try ServiceConfiguration(reader: ConfigReader(provider: EnvironmentVariablesProvider()), service: service, defaultPort: defaultPort)
    }
}
