import Logging
import PostgresNIO
import ServiceLifecycle

/// Keeps a service's messaging tables from growing without end: published outbox rows older
/// than `outboxRetention` and inbox ids older than `inboxRetention` are deleted, in batches,
/// every `interval`. An inbox id must outlive any redelivery of its message (the broker's
/// delivery limit makes that minutes, not days), so the default keeps them 30 days.
package struct Retention: Service {
    let postgres: PostgresClient
    let schema: String
    let outboxRetention: Duration
    let inboxRetention: Duration
    let interval: Duration
    let logger: Logger

    package init(postgres: PostgresClient, schema: String, outboxRetention: Duration, inboxRetention: Duration, interval: Duration, logger: Logger) {
        self.postgres = postgres
        self.schema = schema
        self.outboxRetention = outboxRetention
        self.inboxRetention = inboxRetention
        self.interval = interval
        self.logger = logger
    }

    package func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                // A prune waiting for a database that is down must not hold up shutdown: it is
                // idempotent, and an abandoned one rolls back.
                let (outbox, inbox) = try await cancelWhenGracefulShutdown {
                    try await withDeadline(.seconds(300), "retention") { try await self.pruneOnce() }
                }
                if outbox + inbox > 0 { logger.info("retention pruned", metadata: ["outbox.rows": "\(outbox)", "inbox.rows": "\(inbox)"]) }
            } catch {
                logger.warning("retention failed; trying again later", metadata: ["error": "\(String(reflecting: error))"])
            }
            // Wakes at once on shutdown, so that the service group can stop.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// Deletes what is due (at most 10,000 rows of each a batch, until none is left); returns the counts.
    package func pruneOnce() async throws -> (outbox: Int, inbox: Int) {
        // An unpublished outbox row has no `published_at`, so it is never older than anything.
        let outbox = try await deleteInBatches(table: "outbox", key: "id", stamp: "published_at", olderThan: outboxRetention)
        let inbox = try await deleteInBatches(table: "inbox", key: "message_id", stamp: "processed_at", olderThan: inboxRetention)
        return (outbox, inbox)
    }

    /// Deletes rows of `table` whose `stamp` is older than `age`, 10,000 at a time; returns how many.
    private func deleteInBatches(table: String, key: String, stamp: String, olderThan age: Duration) async throws -> Int {
        let seconds = Double(age.components.seconds)
        var total = 0
        while true {
            let deleted = try await postgres.query(
                """
                DELETE FROM \(unescaped: schema).\(unescaped: table) WHERE \(unescaped: key) IN (
                    SELECT \(unescaped: key) FROM \(unescaped: schema).\(unescaped: table)
                    WHERE \(unescaped: stamp) < now() - make_interval(secs => \(seconds)) LIMIT 10000
                ) RETURNING \(unescaped: key)
                """,
                logger: logger
            ).collect().count
            total += deleted
            if deleted < 10000 { return total }
        }
    }
}
