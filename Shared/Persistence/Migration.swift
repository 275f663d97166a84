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
    /// Nothing is written when every migration is applied already, so a service whose login
    /// may not run DDL (the least-privilege role, see ``Migration/serviceRole(schema:version:appendOnly:)``)
    /// starts once the owner has migrated.
    @discardableResult
    package func migrate(client: PostgresClient, logger: Logger) async throws -> [Int] {
        if try await isUpToDate(client: client, logger: logger) { return [] }
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
            let done = try await client.transaction(logger: logger) { [self] connection -> Bool in
                try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(schema)))", logger: logger)
                let rows = try await connection.query(
                    "SELECT 1 FROM \(unescaped: schema).schema_migrations WHERE version = \(migration.version)",
                    logger: logger
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

extension Migrator {
    /// Whether the schema's migrations table lists every migration.
    func isUpToDate(client: PostgresClient, logger: Logger) async throws -> Bool {
        let table = "\(schema).schema_migrations"
        let exists = try await client.query("SELECT to_regclass(\(table)) IS NOT NULL", logger: logger).collect().first?.decode(Bool.self) ?? false
        guard exists else { return false }
        let applied =
            try await client.query(
                "SELECT count(*) FROM \(unescaped: schema).schema_migrations WHERE version = ANY(\(migrations.map(\.version)))",
                logger: logger
            ).collect().first?.decode(Int.self) ?? 0
        return applied == migrations.count
    }
}

extension Migration {
    /// The least-privilege database role the services run as, `<database>_service` (NOLOGIN;
    /// deployments create a login that is a member of it, see README "Security"): it may read
    /// and write the schema's tables but not change their shape, and it may only read and
    /// append to `appendOnly` (the trail: no UPDATE, DELETE or TRUNCATE, whatever triggers say,
    /// and as a non-owner it cannot switch the triggers off). Created here when missing (the
    /// migrating login then needs CREATEROLE); the grants also cover tables later migrations add.
    package static func serviceRole(schema: String, version: Int, appendOnly: [String]) -> Migration {
        precondition((appendOnly + [schema]).allSatisfy { $0.allSatisfy { $0.isLetter || $0 == "_" } }, "constants of letters and _")
        let revokes = appendOnly.map { "EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I.%I FROM %I', '\(schema)', '\($0)', service);" }
        return Migration(
            version: version,
            name: "least-privilege service role",
            statements: [
                """
                DO $$
                DECLARE service text := current_database() || '_service';
                BEGIN
                    PERFORM pg_advisory_xact_lock(hashtext('gridloop service role'));
                    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = service) THEN
                        EXECUTE format('CREATE ROLE %I NOLOGIN', service);
                    END IF;
                    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', '\(unescaped: schema)', service);
                    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA %I TO %I', '\(unescaped: schema)', service);
                    EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO %I', '\(unescaped: schema)', service);
                    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO %I', '\(unescaped: schema)', service);
                    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO %I', '\(unescaped: schema)', service);
                    EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON %I.schema_migrations FROM %I', '\(unescaped: schema)', service);
                    \(unescaped: revokes.joined(separator: "\n"))
                END $$
                """
            ]
        )
    }

    /// The outbox and inbox tables every writing and consuming service has in its schema.
    package static func messaging(schema: String, version: Int) -> Migration {
        Migration(
            version: version,
            name: "outbox and inbox",
            statements: [
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
            ]
        )
    }

    /// Per-row backoff and parking for the outbox (see ``OutboxRelay``): `next_attempt_at`
    /// (when a row the broker refused may be tried again; `NULL` for a row never refused) and
    /// `parked_at` (set once the row used up its attempts; the relay leaves it alone until
    /// `gridloop outbox replay`). The relay's selection reads `outbox_due`, which holds only
    /// rows still to publish and not parked, in the order it takes them; it replaces
    /// `outbox_unpublished`. `outbox_parked` keeps the operators' listing cheap however many
    /// published rows the table holds. The service role's grants are per table, so the new
    /// columns need none.
    package static func outboxParking(schema: String, version: Int) -> Migration {
        Migration(
            version: version,
            name: "outbox backoff and parking",
            statements: [
                "ALTER TABLE \(unescaped: schema).outbox ADD COLUMN next_attempt_at timestamptz, ADD COLUMN parked_at timestamptz",
                """
                CREATE INDEX outbox_due ON \(unescaped: schema).outbox (next_attempt_at NULLS FIRST, id)
                WHERE published_at IS NULL AND parked_at IS NULL
                """,
                "CREATE INDEX outbox_parked ON \(unescaped: schema).outbox (id) WHERE published_at IS NULL AND parked_at IS NOT NULL",
                "DROP INDEX IF EXISTS \(unescaped: schema).outbox_unpublished",
            ]
        )
    }
}
