import Logging
import PostgresNIO

/// One versioned step of a schema's evolution.
package struct Migration: Sendable {
    /// Strictly increasing within a schema.
    package var version: Int
    package var name: String
    /// Statements run in order, in one transaction.
    package var statements: [PostgresQuery]

    package init(version: Int, name: String, statements: [PostgresQuery]) {
        self.version = version
        self.name = name
        self.statements = statements
    }
}

/// Applies a schema's migrations that are not applied yet, each in its own transaction, under a
/// transaction-scoped advisory lock so that replicas starting together apply each step once.
package struct Migrator: Sendable {
    /// The schema this service owns (a constant, spliced into SQL).
    package let schema: String
    package let migrations: [Migration]

    package init(schema: String, migrations: [Migration]) {
        precondition(schema.allSatisfy { $0.isLetter || $0 == "_" }, "schema names are constants of letters and _")
        self.schema = schema
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// Applies what is missing; returns the versions applied now.
    @discardableResult
    package func migrate(client: PostgresClient, logger: Logger) async throws -> [Int] {
        try await client.query("CREATE SCHEMA IF NOT EXISTS \(unescaped: schema)", logger: logger)
        try await client.query(
            """
            CREATE TABLE IF NOT EXISTS \(unescaped: schema).schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            logger: logger
        )
        var applied: [Int] = []
        for migration in migrations {
            let done = try await client.withTransaction(logger: logger) { connection -> Bool in
                try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(schema)))", logger: logger)
                let rows = try await connection.query(
                    "SELECT 1 FROM \(unescaped: schema).schema_migrations WHERE version = \(migration.version)", logger: logger
                ).collect()
                guard rows.isEmpty else { return false }
                for statement in migration.statements {
                    try await connection.query(statement, logger: logger)
                }
                try await connection.query(
                    "INSERT INTO \(unescaped: schema).schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                    logger: logger
                )
                return true
            }
            if done {
                applied.append(migration.version)
                logger.info("migration applied", metadata: ["db.schema": "\(schema)", "db.migration": "\(migration.version) \(migration.name)"])
            }
        }
        return applied
    }
}

extension Migration {
    /// The outbox and inbox tables every writing and consuming service has in its schema.
    package static func messaging(schema: String, version: Int) -> Migration {
        Migration(version: version, name: "outbox and inbox", statements: [
            """
            CREATE TABLE \(unescaped: schema).outbox (
                id bigserial PRIMARY KEY,
                message_id text NOT NULL UNIQUE,
                exchange text NOT NULL,
                routing_key text NOT NULL,
                message_type text NOT NULL,
                correlation_id text,
                reply_to text,
                headers jsonb NOT NULL DEFAULT '{}',
                body text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                published_at timestamptz,
                attempts integer NOT NULL DEFAULT 0,
                last_error text
            )
            """,
            "CREATE INDEX outbox_unpublished ON \(unescaped: schema).outbox (id) WHERE published_at IS NULL",
            """
            CREATE TABLE \(unescaped: schema).inbox (
                message_id text PRIMARY KEY,
                message_type text NOT NULL,
                processed_at timestamptz NOT NULL DEFAULT now()
            )
            """,
        ])
    }
}
