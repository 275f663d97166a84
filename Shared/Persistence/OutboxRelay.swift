import Foundation
import GridLoopAMQP
import GridLoopDomain
import Logging
import Metrics
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Publishes a schema's outbox with confirms and marks each row published only after its
/// confirm. Rows are locked with `FOR UPDATE SKIP LOCKED`, so several replicas share the work
/// and never publish the same row at the same time. Consumers are idempotent, so a republish
/// after an unknown outcome is safe.
///
/// A row the broker refuses (returns it as unroutable, nacks it) is that row's problem, not the
/// broker's: it waits out its own capped exponential backoff (`backoff`, after its `attempts`)
/// in `next_attempt_at`, and after `maxAttempts` attempts it is parked (`parked_at`): logged
/// once at error level, counted in `gridloop_outbox_parked_total`, and left alone until an
/// operator replays it (``OutboxParking``, `gridloop outbox parked | replay`). The other rows go
/// out at full speed meanwhile. A row that failed because the connection did (not connected,
/// no confirm before the connection went) counts no attempt and gets no backoff: it goes as
/// soon as the broker is back, and an outage, however long, parks nothing.
///
/// Order: a batch takes the due rows that were never refused first, in id order, then those
/// whose backoff is over, earliest due first, and publishes what it took in id order. So the
/// messages of a request go out in the order they were written as long as the broker takes
/// them; a refused row goes again after its backoff, behind what was written since, and may
/// reach consumers after a newer message of its request. Consumers are built for that, as for
/// any redelivery: workflow events are version-checked (intake's status only moves to a newer
/// version while its trail records every event with its version; reporting keeps the greatest
/// version) and every consumer is idempotent by message id. Holding a request's later rows
/// behind a refused one instead would let one row that can never be routed (an assignment for
/// a unit whose queue was deleted) hold its request up, escalations included, for as long as it
/// has attempts left.
///
/// Writers in the same process call ``wake()`` after their commit; otherwise (rows written by
/// another replica, retries) it polls every `pollInterval`.
package final class OutboxRelay: Service, Sendable {
    private let client: PostgresClient
    private let schema: String
    private let publisher: AMQPPublisher
    private let batchSize: Int
    private let pollInterval: Duration
    private let backoff: RetryPolicy
    private let maxAttempts: Int
    private let logger: Logger
    private let signal = AsyncWakeup()
    /// Rows handed off and not yet taken, and whether a writer asked for a poll.
    private let inbound = Mutex(Inbound())
    private let relayed: Counter
    private let parked: Counter

    /// - Parameters:
    ///   - backoff: how long a refused row waits after its n-th attempt (jittered, capped);
    ///     by default 1 s doubling to 5 minutes.
    ///   - maxAttempts: attempts a row has before it is parked (default 20: about an hour of
    ///     refusals with the default backoff).
    package init(
        client: PostgresClient,
        schema: String,
        publisher: AMQPPublisher,
        batchSize: Int = 256,
        pollInterval: Duration = .milliseconds(500),
        backoff: RetryPolicy = RetryPolicy(initialDelay: .seconds(1), maximumDelay: .seconds(300)),
        maxAttempts: Int = 20,
        logger: Logger
    ) {
        self.client = client
        self.schema = schema
        self.publisher = publisher
        self.batchSize = batchSize
        self.pollInterval = pollInterval
        self.backoff = backoff
        self.maxAttempts = max(maxAttempts, 1)
        var logger = logger
        logger[metadataKey: "db.schema"] = "\(schema)"
        self.logger = logger
        self.relayed = Counter(label: "gridloop_outbox_relayed_total", dimensions: [("schema", schema)])
        self.parked = Counter(label: "gridloop_outbox_parked_total", dimensions: [("schema", schema)])
    }

    private struct Inbound {
        var rows: [HandedOffRow] = []
        var pollWanted = false
    }

    /// Asks the relay to look at the outbox now (call after committing outbox rows written
    /// outside ``OutboxHandoff/collecting(_:)``).
    package func wake() {
        inbound.withLock { $0.pollWanted = true }
        signal.wake()
    }

    /// Publishes rows just committed (collected by ``OutboxHandoff/collecting(_:)``) without
    /// looking for them in the outbox; the outbox still has them until their confirm.
    package func handoff(_ rows: [HandedOffRow]) {
        guard !rows.isEmpty else { return }
        inbound.withLock { $0.rows.append(contentsOf: rows) }
        signal.wake()
    }

    /// Runs `write` and hands the outbox rows its transactions committed to this relay.
    package func handingOff<T>(_ write: () async throws -> T) async throws -> T {
        let (value, rows) = try await OutboxHandoff.collecting(write)
        handoff(rows)
        return value
    }

    package func run() async throws {
        var failures = 0
        var lastLogged: ContinuousClock.Instant?
        let retry = RetryPolicy(initialDelay: .milliseconds(200), maximumDelay: .seconds(5))
        await withGracefulShutdownHandler {
            var nextPoll = ContinuousClock.now
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                let (handed, pollWanted) = inbound.withLock { inbound in
                    defer { inbound = Inbound() }
                    return (inbound.rows, inbound.pollWanted)
                }
                do {
                    // Handed-off rows first, as they come: published and marked without a
                    // transaction to find them. A failure leaves them to the poll once due.
                    for start in stride(from: 0, to: handed.count, by: batchSize) {
                        let rows = Array(handed[start..<min(start + batchSize, handed.count)])
                        try await withDeadline(.seconds(45), "outbox handoff") { try await self.publish(handedOff: rows) }
                    }
                    guard pollWanted || failures > 0 || ContinuousClock.now >= nextPoll else {
                        await signal.wait(upTo: nextPoll - ContinuousClock.now)
                        continue
                    }
                    nextPoll = ContinuousClock.now + pollInterval
                    let batch = try await withDeadline(.seconds(45), "outbox relay batch") { try await self.relayBatch() }
                    // The loop slows down only while the broker itself fails: nothing of the
                    // batch was confirmed and the connection, not the broker's answer, failed
                    // rows (then every row would fail alike). A refused row backs off on its own
                    // and is not taken again before it is due, so the next batch holds other
                    // rows: refusals are no reason to wait, even in a batch without a confirm
                    // (one that happened to hold only refused rows), or 300 bad rows would
                    // slow every healthy one behind them.
                    failures = batch.brokerFailing ? failures + 1 : 0
                    if batch.taken == batchSize, !batch.brokerFailing { continue }
                } catch {
                    failures += 1
                    // While the database is down every batch fails alike: the first failure and
                    // then one line a minute (the database watch says why).
                    let now = ContinuousClock.now
                    if failures == 1 || lastLogged.map({ now - $0 >= .seconds(60) }) ?? true {
                        lastLogged = now
                        logger.warning(
                            "outbox relay failed",
                            metadata: ["db.error": "\(String(reflecting: error))", "outbox.failures": "\(failures)"]
                        )
                    }
                }
                let pause = failures > 0 ? (retry.delay(afterAttempt: failures) ?? .seconds(5)) : pollInterval
                await signal.wait(upTo: pause)
            }
        } onGracefulShutdown: {
            self.signal.wake()
        }
    }

    /// One outbox row taken for publishing.
    private struct Row {
        var id: Int64
        var attempts: Int
        var message: OutgoingMessage
    }

    /// Publishes one batch of due rows; returns what became of them.
    package func relayBatch() async throws -> OutboxBatch {
        try await client.transaction(logger: logger) { [self] connection in
            let rows = try await connection.query(
                """
                SELECT id, attempts, message_id, exchange, routing_key, message_type, correlation_id, reply_to, headers::text, body
                FROM \(unescaped: schema).outbox
                WHERE published_at IS NULL AND parked_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= now())
                ORDER BY next_attempt_at NULLS FIRST, id LIMIT \(batchSize) FOR UPDATE SKIP LOCKED
                """,
                logger: logger
            )
            var taken: [Row] = []
            for try await (id, attempts, messageId, exchange, routingKey, type, correlationId, replyTo, headers, body)
                in rows.decode((Int64, Int, String, String, String, String, String?, String?, String, String).self)
            {
                let headerMap = (try? JSONDecoder().decode([String: String].self, from: Data(headers.utf8))) ?? [:]
                taken.append(
                    Row(
                        id: id,
                        attempts: attempts,
                        message: OutgoingMessage(
                            exchange: exchange,
                            routingKey: routingKey,
                            body: Array(body.utf8),
                            messageId: messageId,
                            type: type.isEmpty ? nil : type,
                            correlationId: correlationId,
                            replyTo: replyTo,
                            headers: headerMap,
                            mandatory: Self.mandatory(exchange: exchange)
                        )
                    )
                )
            }
            guard !taken.isEmpty else { return OutboxBatch() }
            // Rows never refused come first in `taken`, retries after them: published in id
            // order, a retry still goes before the newer rows of the same batch.
            taken.sort { $0.id < $1.id }
            return try await publish(taken, on: connection)
        }
    }

    /// Publishes rows handed off after their commit and records what became of them.
    package func publish(handedOff rows: [HandedOffRow]) async throws {
        let taken = rows.map { row in
            var message = row.message
            message.mandatory = Self.mandatory(exchange: message.exchange)
            return Row(id: row.id, attempts: 0, message: message)
        }
        try await client.withConnection { connection in
            _ = try await connection.whileOpen("an outbox handoff") { try await self.publish(taken, on: connection) }
        }
    }

    /// Publishes `taken` in this order and records on `connection` what became of each row:
    /// published, refused (its backoff, or parked), or unsent (due at once, for the next poll).
    private func publish(_ taken: [Row], on connection: PostgresConnection) async throws -> OutboxBatch {
        var batch = OutboxBatch()
        batch.taken = taken.count
        guard !taken.isEmpty else { return batch }
        let outcomes = await publisher.publish(taken.map { $0.message })
        var confirmed: [Int64] = []
        var refusedIds: [Int64] = []
        var refusedReasons: [String] = []
        var refusedDelays: [Double] = []
        var unsentIds: [Int64] = []
        var unsentReasons: [String] = []
        for (row, outcome) in zip(taken, outcomes) {
            switch outcome {
            case .confirmed:
                confirmed.append(row.id)
            case .failed(let reason) where outcome.isRefusal:
                refusedIds.append(row.id)
                refusedReasons.append(reason)
                refusedDelays.append(Self.seconds(backoff.delay(afterAttempt: row.attempts + 1) ?? backoff.maximumDelay))
            case .failed(let reason):
                unsentIds.append(row.id)
                unsentReasons.append(reason)
            }
        }
        if !confirmed.isEmpty {
            try await connection.query(
                "UPDATE \(unescaped: schema).outbox SET published_at = now(), attempts = attempts + 1 WHERE id = ANY(\(confirmed))",
                logger: logger
            )
            relayed.increment(by: confirmed.count)
        }
        if !refusedIds.isEmpty {
            // One more attempt, the row's own backoff, and parked once its attempts are used up.
            let updated = try await connection.query(
                """
                UPDATE \(unescaped: schema).outbox AS o
                SET attempts = o.attempts + 1, last_error = f.reason, next_attempt_at = now() + make_interval(secs => f.delay),
                    parked_at = CASE WHEN o.attempts + 1 >= \(maxAttempts) THEN now() END
                FROM unnest(\(refusedIds)::bigint[], \(refusedReasons)::text[], \(refusedDelays)::float8[]) AS f(id, reason, delay)
                WHERE o.id = f.id
                RETURNING o.id, o.message_id, o.message_type, o.exchange, o.routing_key, o.attempts, o.last_error, o.parked_at IS NOT NULL
                """,
                logger: logger
            )
            for try await (id, messageId, type, exchange, routingKey, attempts, lastError, isParked)
                in updated.decode((Int64, String, String, String, String, Int, String, Bool).self)
            {
                guard isParked else { continue }
                batch.parked += 1
                logger.error(
                    "outbox row parked: the broker refused it every time; list with `gridloop outbox parked`, replay with `gridloop outbox replay`",
                    metadata: [
                        "outbox.id": "\(id)", "outbox.message_id": "\(messageId)", "outbox.type": "\(type)", "outbox.exchange": "\(exchange)",
                        "outbox.routing_key": "\(routingKey)", "outbox.attempts": "\(attempts)", "outbox.error": "\(lastError)",
                    ]
                )
            }
            if batch.parked > 0 { parked.increment(by: batch.parked) }
        }
        if !unsentIds.isEmpty {
            // Why it is still waiting, for operators; no attempt counted, no backoff.
            try await connection.query(
                """
                UPDATE \(unescaped: schema).outbox AS o SET last_error = f.reason,
                    next_attempt_at = CASE WHEN o.next_attempt_at > now() THEN NULL ELSE o.next_attempt_at END
                FROM unnest(\(unsentIds)::bigint[], \(unsentReasons)::text[]) AS f(id, reason)
                WHERE o.id = f.id
                """,
                logger: logger
            )
        }
        batch.confirmed = confirmed.count
        batch.refused = refusedIds.count
        batch.unsent = unsentIds.count
        if batch.refused > batch.parked || batch.unsent > 0 {
            logger.warning(
                "outbox rows not confirmed; will retry",
                metadata: [
                    "outbox.refused": "\(batch.refused - batch.parked)", "outbox.unsent": "\(batch.unsent)",
                    "outbox.error": "\(refusedReasons.first ?? unsentReasons.first ?? "")",
                ]
            )
        }
        return batch
    }

    /// Whether a message on `exchange` is published mandatory. The default exchange carries
    /// only replies, whose client may have gone: an absent client must not keep a reply in the
    /// outbox for ever.
    private static func mandatory(exchange: String) -> Bool { exchange != "" }

    /// `duration` in seconds, for `make_interval(secs => …)`.
    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// What one ``OutboxRelay/relayBatch()`` did with the rows it took.
package struct OutboxBatch: Sendable, Equatable {
    /// Rows taken: due, not parked, at most the batch size.
    package var taken = 0
    /// Published and marked published.
    package var confirmed = 0
    /// Refused by the broker (returned as unroutable, nacked): each backs off, or is parked.
    package var refused = 0
    /// Of the refused rows, those parked now because their attempts are used up.
    package var parked = 0
    /// Not confirmed because the connection failed (not connected, no confirm before it went):
    /// tried again as soon as the broker is back, with no attempt counted.
    package var unsent = 0

    package init() {}

    /// Whether the broker itself is failing: nothing was confirmed and the connection failed
    /// rows. Only then does the relay's loop back off.
    package var brokerFailing: Bool { confirmed == 0 && unsent > 0 }
}
