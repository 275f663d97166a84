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
    /// The messaging tables of a throw-away schema, as every service migrates them.
    static func migrator(_ schema: String) -> Migrator {
        Migrator(schema: schema, migrations: [.messaging(schema: schema, version: 1), .outboxParking(schema: schema, version: 2)])
    }

    /// Runs `body` with a migrated throw-away schema.
    func withSchema(_ body: @escaping @Sendable (PostgresClient, String) async throws -> Void) async throws {
        // Schema names are letters only: the unique hex with its digits turned into letters g–p
        // (dropping them made names of two or three letters, and parallel tests collided).
        let schema =
            "test_" + String(TestEnvironment.unique().lowercased().map { $0.isNumber ? Character(UnicodeScalar($0.asciiValue! - 48 + 103)) : $0 })
            + "x"
        let database = try TestEnvironment.database()
        try await DatabaseBootstrap.migrate(database: database, migrator: Self.migrator(schema), logger: TestEnvironment.logger, wait: false)
        try await database.makeClient(poolSize: 4, logger: TestEnvironment.logger).withRunning { client in
            try await body(client, schema)
            try await client.query("DROP SCHEMA \(unescaped: schema) CASCADE")
        }
    }

    /// Runs `body` with a started publisher (connection name `name`) whose topology binds
    /// `queue` to `exchange` by `key`, and a migrated throw-away schema.
    func withPublisher(
        _ name: String,
        queue: String,
        exchange: String,
        key: String,
        _ body: @escaping @Sendable (AMQPPublisher, PostgresClient, String) async throws -> Void
    ) async throws {
        let topology = GridLoopTopology.exchanges.merging(GridLoopTopology.queue(queue, bindings: [(exchange, key)]))
        let publisher = AMQPPublisher(options: try TestEnvironment.amqpOptions(name: name), topology: topology, logger: TestEnvironment.logger)
        publisher.start()
        try await withSchema { client, schema in try await body(publisher, client, schema) }
        await publisher.shutdown()
    }

    @Test("migrations are recorded and not applied twice")
    func migrationsOnce() async throws {
        try await withSchema { client, schema in
            let again = try await Self.migrator(schema).migrate(client: client, logger: TestEnvironment.logger)
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
                if let published {
                    try await client.query(
                        "UPDATE \(unescaped: schema).outbox SET published_at = now() - \(published)::interval WHERE message_id = \(id)"
                    )
                }
            }
            try await outboxRow("old-published", published: "10 days")
            try await outboxRow("new-published", published: "1 hour")
            try await outboxRow("unpublished", published: nil)
            try await client.query("UPDATE \(unescaped: schema).outbox SET created_at = now() - interval '60 days' WHERE message_id = 'unpublished'")
            for (id, age) in [("old", "40 days"), ("recent", "2 days")] {
                try await client.query(
                    "INSERT INTO \(unescaped: schema).inbox (message_id, message_type, processed_at) VALUES (\(id), 't', now() - \(age)::interval)"
                )
            }
            let retention = Retention(
                postgres: client,
                schema: schema,
                outboxRetention: .seconds(7 * 86400),
                inboxRetention: .seconds(30 * 86400),
                interval: .seconds(60),
                logger: TestEnvironment.logger
            )
            let pruned = try await retention.pruneOnce()
            #expect(pruned.outbox == 1 && pruned.inbox == 1)
            let outbox = try await client.query("SELECT message_id FROM \(unescaped: schema).outbox ORDER BY message_id").collect().map {
                try $0.decode(String.self)
            }
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
            let first = try await client.withTransaction(logger: TestEnvironment.logger) {
                try await inbox.claim("m1", type: "t", on: $0, logger: TestEnvironment.logger)
            }
            let second = try await client.withTransaction(logger: TestEnvironment.logger) {
                try await inbox.claim("m1", type: "t", on: $0, logger: TestEnvironment.logger)
            }
            #expect(first)
            #expect(!second)
        }
    }

    @Test("rows committed with the outbox are published and marked; rolled-back rows never are")
    func relayPublishesCommittedRows() async throws {
        let suffix = TestEnvironment.unique()
        let queue = "test.outbox.\(suffix)"
        try await withPublisher("test-relay", queue: queue, exchange: GridLoopExchange.events, key: "outbox.\(suffix)") { publisher, client, schema in
            let outbox = Outbox(schema: schema)
            let logger = TestEnvironment.logger
            let committed = (0..<10).map {
                OutgoingMessage(
                    exchange: GridLoopExchange.events,
                    routingKey: "outbox.\(suffix)",
                    body: Array("{\"n\":\($0)}".utf8),
                    messageId: "c\($0)-\(suffix)"
                )
            }
            try await client.withTransaction(logger: logger) { connection in
                for message in committed { try await outbox.add(message, on: connection, logger: logger) }
            }
            struct Rollback: Error {}
            await #expect(throws: PostgresTransactionError.self) {
                try await client.withTransaction(logger: logger) { connection in
                    try await outbox.add(
                        OutgoingMessage(
                            exchange: GridLoopExchange.events,
                            routingKey: "outbox.\(suffix)",
                            body: [],
                            messageId: "rolled-back-\(suffix)"
                        ),
                        on: connection,
                        logger: logger
                    )
                    throw Rollback()
                }
            }
            let unroutable = OutgoingMessage(
                exchange: GridLoopExchange.events,
                routingKey: "nowhere.\(suffix)",
                body: Array("{}".utf8),
                messageId: "lost-\(suffix)"
            )
            try await client.withTransaction(logger: logger) { try await outbox.add(unroutable, on: $0, logger: logger) }

            let relay = OutboxRelay(client: client, schema: schema, publisher: publisher, logger: logger)
            let batch = try await relay.relayBatch()
            #expect(batch.taken == 11)
            #expect(batch.confirmed == 10 && batch.refused == 1 && batch.parked == 0, "the unroutable row is not confirmed: \(batch)")
            #expect(!batch.brokerFailing, "a refusal is the row's problem, not the broker's")
            let rows = try await client.query(
                "SELECT message_id, published_at IS NOT NULL, attempts, last_error FROM \(unescaped: schema).outbox ORDER BY id"
            ).collect()
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
    }

    @Test(
        "rows handed off are published at once without a poll, the poll leaves them alone meanwhile, and a rolled-back transaction hands nothing off"
    )
    func handoffPublishesCommittedRows() async throws {
        let suffix = TestEnvironment.unique()
        let queue = "test.handoff.\(suffix)"
        try await withPublisher("test-handoff", queue: queue, exchange: GridLoopExchange.events, key: "handoff.\(suffix)") {
            publisher,
            client,
            schema in
            let outbox = Outbox(schema: schema)
            let logger = TestEnvironment.logger
            func message(_ id: String, key: String = "handoff.\(suffix)") -> OutgoingMessage {
                OutgoingMessage(exchange: GridLoopExchange.events, routingKey: key, body: Array("{}".utf8), messageId: "\(id)-\(suffix)")
            }
            let committed = (0..<3).map { message("h\($0)") } + [message("nowhere", key: "nowhere.\(suffix)")]
            let rolledBack = message("rolled-back")
            struct Rollback: Error {}
            let ((), handed) = try await OutboxHandoff.collecting {
                try await client.transaction(logger: logger) { connection in try await outbox.add(committed, on: connection, logger: logger) }
                await #expect(throws: Rollback.self) {
                    try await client.transaction(logger: logger) { connection in
                        try await outbox.add(rolledBack, on: connection, logger: logger)
                        throw Rollback()
                    }
                }
            }
            #expect(handed.map(\.message.messageId) == committed.map(\.messageId), "the committed rows in order, nothing rolled back")
            let graced = try await client.query(
                "SELECT count(*) FROM \(unescaped: schema).outbox WHERE next_attempt_at > now() + interval '4 seconds'"
            ).collect().first?.decode(Int.self)
            #expect(graced == committed.count, "handed-off rows are due only after the grace")

            let relay = OutboxRelay(client: client, schema: schema, publisher: publisher, logger: logger)
            #expect(try await relay.relayBatch() == OutboxBatch(), "no poll takes a row its writer's relay is publishing")
            try await relay.publish(handedOff: handed)
            let rows = try await client.query(
                "SELECT message_id, published_at IS NOT NULL, attempts, next_attempt_at > now(), last_error FROM \(unescaped: schema).outbox ORDER BY id"
            ).collect().map { try $0.decode((String, Bool, Int, Bool, String?).self) }
            #expect(rows.filter { $0.1 }.map(\.0) == committed.prefix(3).map(\.messageId))
            let refused = try #require(rows.first { $0.0 == committed[3].messageId })
            #expect(!refused.1 && refused.2 == 1 && refused.3 && refused.4?.contains("unroutable") == true, "a refused row backs off like any other")
            #expect(try await Self.drain(queue) == committed.prefix(3).map(\.messageId), "in commit order, each once")
        }
    }

    /// Takes (and acks) every message waiting in `queue`; their message ids in order.
    static func drain(_ queue: String) async throws -> [String] {
        try await AMQPSession.run(options: try TestEnvironment.amqpOptions()) { session -> [String] in
            var ids: [String] = []
            while let message = try session.take(queue: queue, wait: .milliseconds(300)) {
                ids.append(message.messageId ?? "")
                try session.settle(message, .ack)
            }
            return ids
        }
    }

    @Test("defect 6: 300 rows the broker keeps refusing, more than a batch holds, never keep the healthy rows written after them from going out")
    func refusedRowsNeverBlock() async throws {
        let suffix = TestEnvironment.unique()
        let queue = "test.outbox.pass.\(suffix)"
        let exchange = GridLoopExchange.assignments
        let healthyKey = "test.pass-\(suffix)"
        try await withPublisher("test-relay-pass", queue: queue, exchange: exchange, key: healthyKey) { publisher, client, schema in
            let logger = TestEnvironment.logger
            var quiet = logger
            quiet.logLevel = .critical
            let outbox = Outbox(schema: schema)
            // Unroutable for good (no queue takes the key), written first; the healthy rows after them.
            let bad = (0..<300).map {
                OutgoingMessage(exchange: exchange, routingKey: "test.gone-\(suffix)", body: Array("{}".utf8), messageId: "gone\($0)-\(suffix)")
            }
            let healthy = (0..<20).map {
                OutgoingMessage(exchange: exchange, routingKey: healthyKey, body: Array("{}".utf8), messageId: "pass\($0)-\(suffix)")
            }
            try await client.withTransaction(logger: logger) { connection in
                for message in bad + healthy { try await outbox.add(message, on: connection, logger: logger) }
            }
            let relay = OutboxRelay(
                client: client,
                schema: schema,
                publisher: publisher,
                batchSize: 100,
                pollInterval: .milliseconds(50),
                logger: quiet
            )
            for _ in 0..<6 { _ = try await relay.relayBatch() }
            let ids = healthy.map(\.messageId)
            let published =
                try await client.query(
                    "SELECT count(*)::bigint FROM \(unescaped: schema).outbox WHERE message_id = ANY(\(ids)) AND published_at IS NOT NULL"
                ).collect().first?.decode(Int64.self) ?? 0
            #expect(published == 20, "after six batches of 100, \(published) of the 20 healthy rows went out: the refused rows held them back")
        }
    }

    @Test("a row the broker keeps refusing backs off on its own and is parked; 300 of them never hold up healthy rows; replay un-parks one or all")
    func refusedRowsBackOffAndPark() async throws {
        let suffix = TestEnvironment.unique()
        let queue = "test.outbox.\(suffix)"
        let fixedQueue = "test.outbox.fixed.\(suffix)"
        // On the assignments exchange no queue takes every key: a key nothing is bound to is
        // unroutable for good, as for a unit whose queue an operator deleted.
        let exchange = GridLoopExchange.assignments
        let healthyKey = "test.ok-\(suffix)"
        let badKey = "test.gone-\(suffix)"
        try await withPublisher("test-relay-parking", queue: queue, exchange: exchange, key: healthyKey) { publisher, client, schema in
            let logger = TestEnvironment.logger
            var quiet = logger
            quiet.logLevel = .critical  // 300 parked rows are 300 error lines, expected here
            let outbox = Outbox(schema: schema)
            func outgoing(_ key: String, _ name: String) -> OutgoingMessage {
                OutgoingMessage(
                    exchange: exchange,
                    routingKey: key,
                    body: Array("{\"m\":\"\(name)\"}".utf8),
                    messageId: "\(name)-\(suffix)",
                    type: key == badKey ? "test.bad" : "test.ok"
                )
            }
            func add(_ messages: [OutgoingMessage]) async throws {
                try await client.withTransaction(logger: logger) { connection in
                    for message in messages { try await outbox.add(message, on: connection, logger: logger) }
                }
            }
            func published(_ messages: [OutgoingMessage]) async throws -> Int {
                let ids = messages.map(\.messageId)
                let count =
                    try await client.query(
                        "SELECT count(*)::bigint FROM \(unescaped: schema).outbox WHERE message_id = ANY(\(ids)) AND published_at IS NOT NULL"
                    ).collect().first?.decode(Int64.self) ?? 0
                return Int(count)
            }
            func parkedCount() async throws -> Int {
                let count =
                    try await client.query(
                        "SELECT count(*)::bigint FROM \(unescaped: schema).outbox WHERE parked_at IS NOT NULL"
                    ).collect().first?.decode(Int64.self) ?? 0
                return Int(count)
            }

            // The bad rows first, more of them than a batch holds: taken by id alone, the
            // batches would be bad rows for ever and no healthy row would go.
            let bad = (0..<300).map { outgoing(badKey, "bad\($0)") }
            let healthy = (0..<20).map { outgoing(healthyKey, "ok\($0)") }
            try await add(bad + healthy)
            let clock = try await client.query("SELECT now()").collect()
            let start = try #require(clock.first).decode(Date.self)
            let relay = OutboxRelay(
                client: client,
                schema: schema,
                publisher: publisher,
                batchSize: 100,
                pollInterval: .milliseconds(50),
                backoff: RetryPolicy(initialDelay: .seconds(1), maximumDelay: .seconds(2)),
                maxAttempts: 3,
                logger: quiet
            )
            var batches: [OutboxBatch] = []
            for _ in 0..<4 {
                let batch = try await relay.relayBatch()
                batches.append(batch)
            }
            #expect(batches.map(\.confirmed) == [0, 0, 0, 20], "three batches of refused rows, then every healthy row: \(batches)")
            #expect(batches.prefix(3).allSatisfy { $0.taken == 100 && $0.refused == 100 && $0.parked == 0 && !$0.brokerFailing }, "\(batches)")
            #expect(try await Self.drain(queue) == healthy.map(\.messageId), "every healthy row once, in order")

            // Each refused row counted an attempt, says why, and waits out its own backoff: at
            // least half the first delay (jitter) after the first batch began.
            let waiting = try await client.query(
                """
                SELECT count(*)::bigint FROM \(unescaped: schema).outbox
                WHERE routing_key = \(badKey) AND published_at IS NULL AND parked_at IS NULL AND attempts >= 1
                    AND next_attempt_at >= \(start) + interval '0.5 seconds' AND last_error LIKE '%unroutable%'
                """
            ).collect().first?.decode(Int64.self)
            #expect(waiting == 300, "every refused row backs off, with an attempt and its error recorded")

            // The relay's own loop: rows written while the refused ones back off go at once…
            let more = (20..<30).map { outgoing(healthyKey, "ok\($0)") }
            let loop = Task { try await relay.run() }
            try await add(more)
            relay.wake()
            let flowed = try await eventually(timeout: .seconds(5), every: .milliseconds(20)) { try await published(more) == more.count }
            // …and each refused row is parked after its third attempt.
            let allParked = try await eventually(timeout: .seconds(20), every: .milliseconds(100)) { try await parkedCount() == bad.count }
            loop.cancel()
            _ = await loop.result
            let parkedNow = try await parkedCount()
            #expect(flowed, "healthy rows written while refused rows back off are published at once")
            #expect(allParked, "every refused row is parked after 3 attempts (backoff 1 s doubling to 2 s, jittered); \(parkedNow) are")
            #expect(try await Self.drain(queue) == more.map(\.messageId))

            let parking = OutboxParking(schema: schema)
            let parked = try await parking.list(client: client)
            #expect(parked.map(\.messageId) == bad.map(\.messageId))
            #expect(
                parked.allSatisfy {
                    $0.attempts == 3 && $0.exchange == exchange && $0.routingKey == badKey && $0.type == "test.bad"
                        && $0.lastError?.contains("unroutable") == true && $0.parkedAt >= start
                },
                "\(parked.prefix(2))"
            )
            #expect(try await relay.relayBatch() == OutboxBatch(), "a parked row is not taken again")

            // The cause fixed (a queue takes the key): replaying one row publishes that row alone…
            try await publisher.declare(GridLoopTopology.queue(fixedQueue, bindings: [(exchange, badKey)]))
            let first = try #require(parked.first)
            #expect(try await parking.replay(id: first.id, client: client) == 1)
            #expect(try await parking.replay(id: first.id, client: client) == 0, "a row that is not parked is not replayed")
            let replayed = try await relay.relayBatch()
            #expect(replayed.taken == 1 && replayed.confirmed == 1, "\(replayed)")
            #expect(try await Self.drain(fixedQueue) == [first.messageId])
            #expect(try await parking.list(client: client).count == bad.count - 1)

            // …and replaying all of them publishes the rest.
            #expect(try await parking.replay(id: nil, client: client) == bad.count - 1)
            #expect(try await parking.list(client: client).isEmpty)
            var confirmed = 0
            for _ in 0..<3 {
                let batch = try await relay.relayBatch()
                confirmed += batch.confirmed
            }
            #expect(confirmed == bad.count - 1)
            #expect(try await Self.drain(fixedQueue).count == bad.count - 1)
        }
    }
}
