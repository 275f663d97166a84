import Foundation
import GridLoopAMQP
import GridLoopDomain
import Logging
import PostgresNIO

/// A service's transactional outbox: messages are written in the same transaction as the state
/// change they announce, and published later by ``OutboxRelay``.
package struct Outbox: Sendable {
    /// The owning service's schema (a constant).
    package let schema: String

    package init(schema: String) {
        self.schema = schema
    }

    /// Adds `message` to the outbox inside the caller's transaction.
    package func add(_ message: OutgoingMessage, on connection: PostgresConnection, logger: Logger) async throws {
        try await add([message], on: connection, logger: logger)
    }

    /// Adds `messages` to the outbox inside the caller's transaction, in one statement (in
    /// this order: ids grow with it). An empty correlation id or reply-to is stored as none.
    /// Inside ``OutboxHandoff/collecting(_:)`` the rows are written due ``OutboxHandoff/grace``
    /// later and kept for the handoff (a message id stored before is neither).
    package func add(_ messages: [OutgoingMessage], on connection: PostgresConnection, logger: Logger) async throws {
        guard !messages.isEmpty else { return }
        let encoder = JSONEncoder()
        let headers = try messages.map { String(decoding: try encoder.encode($0.headers), as: UTF8.self) }
        let handoff = OutboxHandoff.pending
        let rows = try await connection.query(
            """
            INSERT INTO \(unescaped: schema).outbox (message_id, exchange, routing_key, message_type, correlation_id, reply_to, headers, body,
                next_attempt_at)
            SELECT m.id, m.exchange, m.key, m.type, NULLIF(m.correlation, ''), NULLIF(m.reply, ''), m.headers::jsonb, m.body,
                clock_timestamp() + make_interval(secs => \(OutboxHandoff.delay(handoff))::float8)
            FROM unnest(\(messages.map(\.messageId)), \(messages.map(\.exchange)), \(messages.map(\.routingKey)), \(messages.map { $0.type ?? "" }),
                \(messages.map { $0.correlationId ?? "" }), \(messages.map { $0.replyTo ?? "" }), \(headers),
                \(messages.map { String(decoding: $0.body, as: UTF8.self) })) WITH ORDINALITY
                AS m(id, exchange, key, type, correlation, reply, headers, body, n)
            ORDER BY m.n
            ON CONFLICT (message_id) DO NOTHING
            RETURNING id, message_id
            """,
            logger: logger
        )
        var ids: [String: Int64] = [:]
        for try await (id, messageId) in rows.decode((Int64, String).self) { ids[messageId] = id }
        handoff?.append(messages.compactMap { message in ids[message.messageId].map { HandedOffRow(id: $0, message: message) } })
    }

    /// Adds an event envelope for the events exchange (routing key = its type).
    package func add<Payload>(
        event envelope: MessageEnvelope<Payload>,
        exchange: String,
        routingKey: String? = nil,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        try await add(
            OutgoingMessage(envelope: envelope, exchange: exchange, routingKey: routingKey ?? envelope.type),
            on: connection,
            logger: logger
        )
    }
}

extension OutgoingMessage {
    /// A message carrying `envelope` as its JSON body.
    package init<Payload>(envelope: MessageEnvelope<Payload>, exchange: String, routingKey: String, replyTo: String? = nil) throws {
        self.init(
            exchange: exchange,
            routingKey: routingKey,
            body: try WireJSON.encode(envelope),
            messageId: envelope.messageId,
            type: envelope.type,
            correlationId: envelope.correlationId,
            replyTo: replyTo
        )
    }
}
