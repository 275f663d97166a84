import Foundation
import Logging
import PostgresNIO

/// The rows of a schema's outbox that ``OutboxRelay`` parked (the broker refused them until
/// their attempts were used up), for operators: list them, and replay them once the cause is
/// fixed (a unit's queue declared again, a binding restored). A replayed row is due at once
/// with a fresh set of attempts; the relay picks it up within its poll interval. Consumers are
/// idempotent, so replaying a message that got through after all changes nothing.
package struct OutboxParking: Sendable {
    /// The owning service's schema (a constant).
    package let schema: String

    package init(schema: String) {
        precondition(schema.allSatisfy { $0.isLetter || $0 == "_" }, "schema names are constants of letters and _")
        self.schema = schema
    }

    /// One parked row.
    package struct Row: Sendable, Equatable {
        package var id: Int64
        package var messageId: String
        package var type: String
        package var exchange: String
        package var routingKey: String
        package var attempts: Int
        package var lastError: String?
        package var parkedAt: Date
    }

    /// Every parked row of the schema, oldest first.
    package func list(client: PostgresClient, logger: Logger? = nil) async throws -> [Row] {
        try await client.query(
            """
            SELECT id, message_id, message_type, exchange, routing_key, attempts, last_error, parked_at
            FROM \(unescaped: schema).outbox WHERE published_at IS NULL AND parked_at IS NOT NULL ORDER BY id
            """,
            logger: logger
        ).collect().map { row -> Row in
            let (id, messageId, type, exchange, routingKey, attempts, lastError, parkedAt) =
                try row.decode((Int64, String, String, String, String, Int, String?, Date).self)
            return Row(
                id: id,
                messageId: messageId,
                type: type,
                exchange: exchange,
                routingKey: routingKey,
                attempts: attempts,
                lastError: lastError,
                parkedAt: parkedAt
            )
        }
    }

    /// Un-parks row `id`, or every parked row when `id` is `nil`: no longer parked, attempts
    /// back to 0, due now (the last error stays for the record). Returns how many rows.
    @discardableResult
    package func replay(id: Int64?, client: PostgresClient, logger: Logger? = nil) async throws -> Int {
        if let id {
            return try await client.query(
                """
                UPDATE \(unescaped: schema).outbox SET parked_at = NULL, attempts = 0, next_attempt_at = NULL
                WHERE id = \(id) AND published_at IS NULL AND parked_at IS NOT NULL RETURNING id
                """,
                logger: logger
            ).collect().count
        }
        return try await client.query(
            """
            UPDATE \(unescaped: schema).outbox SET parked_at = NULL, attempts = 0, next_attempt_at = NULL
            WHERE published_at IS NULL AND parked_at IS NOT NULL RETURNING id
            """,
            logger: logger
        ).collect().count
    }
}
