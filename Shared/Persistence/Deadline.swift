import Synchronization

/// A unit of work did not finish within its deadline; it was cancelled and abandoned.
package struct DeadlineExceeded: Error, CustomStringConvertible {
    package var what: String
    package var limit: Duration

    package var description: String { "\(what) did not finish within \(limit); abandoned" }
}

/// Runs `operation` but returns (throwing ``DeadlineExceeded``) once `limit` passes, cancelling it.
///
/// The last resort behind ``PostgresClient/transaction(logger:_:_:)``, which ends a transaction
/// as soon as its connection closes. PostgresNIO can leave a query waiting for ever when its connection dies in mid-stream (seen
/// here when PostgreSQL stops with `-m immediate` under load: a handler, the outbox relay and
/// the notification sender each stopped for good). Every long-lived loop runs its database
/// work under a deadline, so such a unit is abandoned and retried on a fresh connection. The
/// work keeps no effect it did not commit, and commits are idempotent, so retrying is safe.
package func withDeadline<T: Sendable>(
    _ limit: Duration,
    _ what: @autoclosure () -> String,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let description = what()
    let work = Task { try await operation() }
    let race = FirstOutcome<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            race.begin(continuation)
            let timer = Task {
                try? await Task.sleep(for: limit)
                if !Task.isCancelled, race.finish(.failure(DeadlineExceeded(what: description, limit: limit))) { work.cancel() }
            }
            Task {
                let result = await work.result
                if race.finish(result) { timer.cancel() }
            }
        }
    } onCancel: {
        work.cancel()
    }
}
