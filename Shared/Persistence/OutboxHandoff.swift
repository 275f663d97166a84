import GridLoopAMQP
import Synchronization

/// An outbox row whose transaction committed, handed to ``OutboxRelay/handoff(_:)`` to publish
/// at once: no relay transaction to find it (`BEGIN`, `SELECT … FOR UPDATE`, `COMMIT`).
package struct HandedOffRow: Sendable {
    package var id: Int64
    package var message: OutgoingMessage

    package init(id: Int64, message: OutgoingMessage) {
        self.id = id
        self.message = message
    }
}

/// Hands the rows a unit of work wrote to its outbox straight to the publisher once they are
/// committed.
///
/// A writer runs its work in ``collecting(_:)``; each transaction in it (``PostgresConnection/transaction(logger:_:_:)``,
/// or one statement alone through ``committing(_:)``) collects the rows ``Outbox/add(_:on:logger:)``
/// inserts, and gives them up only when it committed: rows of a transaction that rolled back
/// are never published. The writer then calls ``OutboxRelay/handoff(_:)`` with them.
///
/// A handed-off row is written due ``grace`` later (`next_attempt_at`), so no relay's poll (this
/// replica's or another's) takes it while its writer's relay publishes it. If that never
/// happens (the process ended first, the broker was down), the poll publishes it once it is due:
/// the outbox stays the safety net. Outside ``collecting(_:)`` nothing changes: rows are due at
/// once and the writer wakes the relay.
package enum OutboxHandoff {
    /// How long a handed-off row is left to its writer's relay before any relay's poll takes it.
    package static let grace = Duration.seconds(5)

    /// Rows in hand, in the order they were written.
    package final class Rows: Sendable {
        private let rows = Mutex<[HandedOffRow]>([])

        init() {}

        package func append(_ more: [HandedOffRow]) {
            guard !more.isEmpty else { return }
            rows.withLock { $0.append(contentsOf: more) }
        }

        func take() -> [HandedOffRow] {
            rows.withLock { rows in
                defer { rows = [] }
                return rows
            }
        }
    }

    /// Seconds from now until a new row is due: the grace when it is handed off (`rows` is the
    /// pending rows), else `nil` (SQL `NULL`: due at once).
    package static func delay(_ rows: Rows?) -> Double? {
        rows.map { _ in Double(grace.components.seconds) }
    }

    /// The committed rows of the current ``collecting(_:)``.
    @TaskLocal static var committed: Rows?
    /// The rows of the transaction (or statement) being written, inside ``collecting(_:)``.
    @TaskLocal package static var pending: Rows?

    /// Runs `work` and returns, with its value, the outbox rows its transactions committed.
    package static func collecting<T>(_ work: () async throws -> T) async throws -> (T, [HandedOffRow]) {
        let rows = Rows()
        let value = try await $committed.withValue(rows) { try await work() }
        return (value, rows.take())
    }

    /// Runs `work`, whose writes are committed when it returns (a transaction's body and its
    /// `COMMIT`, or one statement alone): the outbox rows it adds are kept for the handoff only
    /// if it returns. Outside ``collecting(_:)`` it only runs `work`.
    package static func committing<T>(_ work: () async throws -> T) async throws -> T {
        guard let committed else { return try await work() }
        let rows = Rows()
        let value = try await $pending.withValue(rows) { try await work() }
        committed.append(rows.take())
        return value
    }
}
