import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import GridLoopTestSupport
import PostgresNIO
import Testing

/// The transactional outbox, its relay and the inbox against the real database and broker.
@Suite("Outbox and inbox")
struct OutboxInboxTests {
    /// Runs `body` with a migrated throw-away schema.
    func withSchema(_ body: @escaping @Sendable (PostgresClient, String) async throws -> Void) async throws {
        let schema = "test_\(TestEnvironment.unique().filter(\.isLetter))x"
        let database = try TestEnvironment.database()
        try await DatabaseBootstrap.migrate(
            database: database, migrator: Migrator(schema: schema, migrations: [.messaging(schema: schema, version: 1)]), logger: TestEnvironment.logger
        )
        try await database.makeClient(poolSize: 4, logger: TestEnvironment.logger).withRunning { client in
            try await body(client, schema)
            try await client.query("DROP SCHEMA \(unescaped: schema) CASCADE")
        }
    }

    @Test("migrations are recorded and not applied twice")
    func migrationsOnce() async throws {
        try await withSchema { client, schema in
            let again = try await Migrator(schema: schema, migrations: [.messaging(schema: schema, version: 1)]).migrate(client: client, logger: TestEnvironment.logger)
            #expect(again.isEmpty)
        }
    }

    @Test("retention deletes published outbox rows and inbox ids past their age, and keeps the rest")
    func retention() async throws {
        try await withSchema { client, schema in
            func outboxRow(_ id: String, published: String?) async throws {
                try await client.query(
                    """
                    INSERT INTO \(unescaped: schema).outbox (message_id, exchange, routing_key, message_type, body, published_at)
                    VALUES (\(id), 'x', 'k', 't', '{}', \(published.map { _ in Date() }))
                    """
                )
                if let published { try await client.query("UPDATE \(unescaped: schema).outbox SET published_at = now() - \(published)::interval WHERE message_id = \(id)") }
            }
            try await outboxRow("old-published", published: "10 days")
            try await outboxRow("new-published", published: "1 hour")
            try await outboxRow("unpublished", published: nil)
            try await client.query("UPDATE \(unescaped: schema).outbox SET created_at = now() - interval '60 days' WHERE message_id = 'unpublished'")
            for (id, age) in [("old", "40 days"), ("recent", "2 days")] {
                try await client.query("INSERT INTO \(unescaped: schema).inbox (message_id, message_type, processed_at) VALUES (\(id), 't', now() - \(age)::interval)")
            }
            let retention = Retention(postgres: client, schema: schema, outboxRetention: .seconds(7 * 86400), inboxRetention: .seconds(30 * 86400), interval: .seconds(60), logger: TestEnvironment.logger)
            let pruned = try await retention.pruneOnce()
            #expect(pruned.outbox == 1 && pruned.inbox == 1)
            let outbox = try await client.query("SELECT message_id FROM \(unescaped: schema).outbox ORDER BY message_id").collect().map { try $0.decode(String.self) }
            #expect(outbox == ["new-published", "unpublished"], "an unpublished row is never pruned, however old")
            let inbox = try await client.query("SELECT message_id FROM \(unescaped: schema).inbox").collect().map { try $0.decode(String.self) }
            #expect(inbox == ["recent"])
            #expect(try await retention.pruneOnce() == (0, 0))
        }
    }

    @Test("the inbox takes each message id once")
    func inboxOnce() async throws {
        try await withSchema { client, schema in
            let inbox = Inbox(schema: schema)
            let first = try await client.withTransaction(logger: TestEnvironment.logger) { try await inbox.claim("m1", type: "t", on: $0, logger: TestEnvironment.logger) }
            let second = try await client.withTransaction(logger: TestEnvironment.logger) { try await inbox.claim("m1", type: "t", on: $0, logger: TestEnvironment.logger) }
            #expect(first)
            #expect(!second)
        }
    }

    @Test("rows committed with the outbox are published and marked; rolled-back rows never are")
    func relayPublishesCommittedRows() async throws {
        let suffix = TestEnvironment.unique()
        let queue = "test.outbox.\(suffix)"
        let topology = GridLoopTopology.exchanges.merging(GridLoopTopology.queue(queue, bindings: [(GridLoopExchange.events, "outbox.\(suffix)")]))
        let publisher = AMQPPublisher(options: try TestEnvironment.amqpOptions(name: "test-relay"), topology: topology, logger: TestEnvironment.logger)
        publisher.start()
        try await withSchema { client, schema in
            let outbox = Outbox(schema: schema)
            let logger = TestEnvironment.logger
            let committed = (0..<10).map { OutgoingMessage(exchange: GridLoopExchange.events, routingKey: "outbox.\(suffix)", body: Array("{\"n\":\($0)}".utf8), messageId: "c\($0)-\(suffix)") }
            try await client.withTransaction(logger: logger) { connection in
                for message in committed { try await outbox.add(message, on: connection, logger: logger) }
            }
            struct Rollback: Error {}
            await #expect(throws: PostgresTransactionError.self) {
                try await client.withTransaction(logger: logger) { connection in
                    try await outbox.add(OutgoingMessage(exchange: GridLoopExchange.events, routingKey: "outbox.\(suffix)", body: [], messageId: "rolled-back-\(suffix)"), on: connection, logger: logger)
                    throw Rollback()
                }
            }
            let unroutable = OutgoingMessage(exchange: GridLoopExchange.events, routingKey: "nowhere.\(suffix)", body: Array("{}".utf8), messageId: "lost-\(suffix)")
            try await client.withTransaction(logger: logger) { try await outbox.add(unroutable, on: $0, logger: logger) }

            let relay = OutboxRelay(client: client, schema: schema, publisher: publisher, logger: logger)
            let (count, allConfirmed) = try await relay.relayBatch()
            #expect(count == 11)
            #expect(!allConfirmed, "the unroutable row is not confirmed")
            let rows = try await client.query("SELECT message_id, published_at IS NOT NULL, attempts, last_error FROM \(unescaped: schema).outbox ORDER BY id").collect()
            let states = try rows.map { try $0.decode((String, Bool, Int, String?).self) }
            #expect(states.filter { $0.1 }.map(\.0) == committed.map(\.messageId))
            let failed = try #require(states.first { $0.0 == unroutable.messageId })
            #expect(!failed.1 && failed.2 == 1 && failed.3?.contains("unroutable") == true)

            let delivered = try await AMQPSession.run(options: try TestEnvironment.amqpOptions()) { session -> [String] in
                var ids: [String] = []
                while let message = try session.take(queue: queue, wait: .milliseconds(300)) {
                    ids.append(message.messageId ?? "")
                    try session.settle(message, .ack)
                }
                return ids
            }
            #expect(delivered == committed.map(\.messageId), "in commit order, each once, nothing rolled back")
        }
        await publisher.shutdown()
    }
}
