import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// The connection a unit of work was using closed under it (reset, the server gone); the work
/// was abandoned and nothing of it committed.
package struct ConnectionLost: Error, CustomStringConvertible {
    package var what: String
    package var description: String { "the database connection closed during \(what); abandoned" }
}

extension PostgresClient {
    /// Runs `body` in a transaction on a pooled connection, like PostgresNIO's `withTransaction`,
    /// but ends at once when that connection closes.
    ///
    /// PostgresNIO 1.33 sends a query to a connection whose channel has already closed with no
    /// promise to fail (`channel.write(task, promise: nil)`), so the query waits for ever; its
    /// own `withTransaction` does exactly that with the `ROLLBACK` after a connection error
    /// (vapor/postgres-nio#487, reverted in #501). Seen here: transactions on connections reset
    /// mid-query hung until a deadline abandoned them (44.5 s to recover in the fault harness).
    /// Here the work races the connection's close: when the channel closes first, the caller
    /// gets ``ConnectionLost`` at once and the stuck query is left behind (it never commits: the
    /// server rolled the transaction back when the connection went). No `ROLLBACK` is sent to a
    /// closed connection. Errors are rethrown as they are (not wrapped).
    package func transaction<T: Sendable>(
        logger: Logger,
        _ what: String = "a transaction",
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await withConnection { connection in
            try await connection.transaction(logger: logger, what, body)
        }
    }
}

extension PostgresConnection {
    /// ``PostgresClient/transaction(logger:_:_:)`` on this connection.
    package func transaction<T: Sendable>(
        logger: Logger,
        _ what: String = "a transaction",
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await whileOpen(what) {
            // Inside OutboxHandoff.collecting, the outbox rows written here are handed off only
            // once COMMIT returned.
            try await OutboxHandoff.committing {
                try await self.query("BEGIN", logger: logger)
                let value: T
                do {
                    value = try await body(self)
                } catch {
                    if !self.isClosed { _ = try? await self.query("ROLLBACK", logger: logger) }
                    throw error
                }
                try await self.query("COMMIT", logger: logger)
                return value
            }
        }
    }

    /// Runs `operation` (queries on this connection) but throws ``ConnectionLost`` as soon as
    /// the connection closes, rather than waiting on a query PostgresNIO will never answer.
    package func whileOpen<T: Sendable>(_ what: String, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let race = FirstOutcome<T>()
        let work = Task { try await operation() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                race.begin(continuation)
                let watch = ClosingWatch.shared.watch(self) {
                    if race.finish(.failure(ConnectionLost(what: what))) { work.cancel() }
                }
                Task {
                    let result = await work.result
                    ClosingWatch.shared.unwatch(watch)
                    _ = race.finish(result)
                }
            }
        } onCancel: {
            work.cancel()
        }
    }
}

/// One callback on each connection's close, however many units of work it serves: a callback
/// per unit would pile up on a pooled connection that lives for days.
final class ClosingWatch: Sendable {
    static let shared = ClosingWatch()

    struct Token: Sendable {
        var connection: ObjectIdentifier
        var id: UInt64
    }

    private struct State {
        var next: UInt64 = 0
        /// The waiting units of work of each connection whose close is watched.
        var waiting: [ObjectIdentifier: [UInt64: @Sendable () -> Void]] = [:]
    }

    private let state = Mutex(State())

    /// Calls `onClose` when `connection` closes (at once if it has), unless unwatched first.
    func watch(_ connection: PostgresConnection, onClose: @escaping @Sendable () -> Void) -> Token {
        let key = ObjectIdentifier(connection)
        let (token, first) = state.withLock { state in
            state.next += 1
            let first = state.waiting[key] == nil
            state.waiting[key, default: [:]][state.next] = onClose
            return (Token(connection: key, id: state.next), first)
        }
        if first {
            // Holds the connection until it closes, so its identifier cannot be reused meanwhile.
            connection.closeFuture.whenComplete { [self, connection] _ in
                _ = connection
                let callbacks = state.withLock { $0.waiting.removeValue(forKey: key) } ?? [:]
                for callback in callbacks.values { callback() }
            }
        }
        return token
    }

    func unwatch(_ token: Token) {
        state.withLock { state in
            _ = state.waiting[token.connection]?.removeValue(forKey: token.id)
        }
    }
}

/// Resumes the waiting caller once, with whichever outcome comes first (the work's result, a
/// deadline, a closed connection).
final class FirstOutcome<T: Sendable>: Sendable {
    private let waiter = Mutex<CheckedContinuation<T, any Error>?>(nil)

    func begin(_ continuation: CheckedContinuation<T, any Error>) {
        waiter.withLock { $0 = continuation }
    }

    /// Whether this call resumed the caller (the first one does).
    func finish(_ result: Result<T, any Error>) -> Bool {
        guard
            let continuation = waiter.withLock({ value -> CheckedContinuation<T, any Error>? in
                defer { value = nil }
                return value
            })
        else { return false }
        continuation.resume(with: result)
        return true
    }
}
