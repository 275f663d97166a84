import Logging
import PostgresNIO

/// A consumer's record of processed message ids: the first claim of an id wins, so a
/// redelivered message has no second effect.
package struct Inbox: Sendable {
    /// The owning service's schema (a constant).
    package let schema: String

    package init(schema: String) {
        self.schema = schema
    }

    /// Records `messageId` inside the caller's transaction; `false` if it was processed before.
    package func claim(_ messageId: String, type: String, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.query(
            """
            INSERT INTO \(unescaped: schema).inbox (message_id, message_type) VALUES (\(messageId), \(type))
            ON CONFLICT (message_id) DO NOTHING RETURNING message_id
            """,
            logger: logger
        ).collect()
        return !rows.isEmpty
    }
}
