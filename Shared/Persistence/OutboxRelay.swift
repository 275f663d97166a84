import Foundation
import GridLoopAMQP
import GridLoopDomain
import Logging
import Metrics
import PostgresNIO
import ServiceLifecycle

/// Publishes a schema's outbox with confirms and marks each row published only after its
/// confirm. Rows are locked with `FOR UPDATE SKIP LOCKED`, so several replicas share the work
/// and never publish the same row at the same time. A row that fails stays unpublished and is
/// retried with backoff; consumers are idempotent, so a republish after an unknown outcome is safe.
///
/// Writers in the same process call ``wake()`` after their commit; otherwise (rows written by
/// another replica, retries) it polls every `pollInterval`.
package final class OutboxRelay: Service, Sendable {
    private let client: PostgresClient
    private let schema: String
    private let publisher: AMQPPublisher
    private let batchSize: Int
    private let pollInterval: Duration
    private let logger: Logger
    private let signal = AsyncWakeup()
    private let relayed: Counter

    package init(client: PostgresClient, schema: String, publisher: AMQPPublisher, batchSize: Int = 256, pollInterval: Duration = .milliseconds(500), logger: Logger) {
        self.client = client
        self.schema = schema
        self.publisher = publisher
        self.batchSize = batchSize
        self.pollInterval = pollInterval
        var logger = logger
        logger[metadataKey: "db.schema"] = "\(schema)"
        self.logger = logger
        self.relayed = Counter(label: "gridloop_outbox_relayed_total", dimensions: [("schema", schema)])
    }

    /// Asks the relay to look at the outbox now (call after committing outbox rows).
    package func wake() {
        signal.wake()
    }

    package func run() async throws {
        var failures = 0
        let retry = RetryPolicy(initialDelay: .milliseconds(200), maximumDelay: .seconds(5))
        await withGracefulShutdownHandler {
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                do {
                    let (count, allConfirmed) = try await withDeadline(.seconds(45), "outbox relay batch") { try await self.relayBatch() }
                    failures = allConfirmed ? 0 : failures + 1
                    if count == batchSize, allConfirmed { continue }
                } catch {
                    failures += 1
                    logger.warning("outbox relay failed", metadata: ["db.error": "\(String(reflecting: error))"])
                }
                let pause = failures > 0 ? (retry.delay(afterAttempt: failures) ?? .seconds(5)) : pollInterval
                await signal.wait(upTo: pause)
            }
        } onGracefulShutdown: {
            self.signal.wake()
        }
    }

    /// Publishes one batch; returns how many rows it took and whether all were confirmed.
    package func relayBatch() async throws -> (Int, Bool) {
        try await client.withTransaction(logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT id, message_id, exchange, routing_key, message_type, correlation_id, reply_to, headers::text, body
                FROM \(unescaped: schema).outbox WHERE published_at IS NULL
                ORDER BY id LIMIT \(batchSize) FOR UPDATE SKIP LOCKED
                """,
                logger: logger
            )
            var ids: [Int64] = []
            var messages: [OutgoingMessage] = []
            for try await (id, messageId, exchange, routingKey, type, correlationId, replyTo, headers, body)
                in rows.decode((Int64, String, String, String, String, String?, String?, String, String).self) {
                ids.append(id)
                let headerMap = (try? JSONDecoder().decode([String: String].self, from: Data(headers.utf8))) ?? [:]
                messages.append(OutgoingMessage(
                    exchange: exchange, routingKey: routingKey, body: Array(body.utf8), messageId: messageId,
                    type: type.isEmpty ? nil : type, correlationId: correlationId, replyTo: replyTo, headers: headerMap,
                    // The default exchange carries only replies, whose client may have gone:
                    // an absent client must not keep a reply in the outbox for ever.
                    mandatory: exchange != ""
                ))
            }
            guard !messages.isEmpty else { return (0, true) }
            let outcomes = await publisher.publish(messages)
            var confirmed: [Int64] = []
            for (index, outcome) in outcomes.enumerated() {
                switch outcome {
                case .confirmed:
                    confirmed.append(ids[index])
                case .failed(let reason):
                    try await connection.query(
                        "UPDATE \(unescaped: schema).outbox SET attempts = attempts + 1, last_error = \(reason) WHERE id = \(ids[index])",
                        logger: logger
                    )
                }
            }
            if !confirmed.isEmpty {
                try await connection.query(
                    "UPDATE \(unescaped: schema).outbox SET published_at = now(), attempts = attempts + 1 WHERE id = ANY(\(confirmed))",
                    logger: logger
                )
                relayed.increment(by: confirmed.count)
            }
            if confirmed.count < messages.count {
                logger.warning("outbox rows not confirmed; will retry", metadata: ["outbox.failed": "\(messages.count - confirmed.count)"])
            }
            return (messages.count, confirmed.count == messages.count)
        }
    }
}

