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
                let (outbox, inbox) = try await withDeadline(.seconds(300), "retention") { try await self.pruneOnce() }
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
        let outboxSeconds = Double(outboxRetention.components.seconds)
        let inboxSeconds = Double(inboxRetention.components.seconds)
        var outbox = 0, inbox = 0
        while true {
            let deleted = try await postgres.query(
                """
                DELETE FROM \(unescaped: schema).outbox WHERE id IN (
                    SELECT id FROM \(unescaped: schema).outbox WHERE published_at < now() - make_interval(secs => \(outboxSeconds)) LIMIT 10000
                ) RETURNING id
                """,
                logger: logger
            ).collect().count
            outbox += deleted
            if deleted < 10000 { break }
        }
        while true {
            let deleted = try await postgres.query(
                """
                DELETE FROM \(unescaped: schema).inbox WHERE message_id IN (
                    SELECT message_id FROM \(unescaped: schema).inbox WHERE processed_at < now() - make_interval(secs => \(inboxSeconds)) LIMIT 10000
                ) RETURNING message_id
                """,
                logger: logger
            ).collect().count
            inbox += deleted
            if deleted < 10000 { break }
        }
        return (outbox, inbox)
    }
}
