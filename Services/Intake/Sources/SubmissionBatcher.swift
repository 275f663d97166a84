import GridLoopPersistence
import Logging
import Synchronization

/// Group commit for HTTP submissions: the submissions that arrived while the last write ran
/// are stored together in the next one statement (``IntakeStore/store(_:on:logger:)``), with no
/// timer: a lone submission is written at once. Each caller is answered only after the
/// statement holding its submission committed; the outbox rows go to the relay then. If a
/// statement of several fails, each of its submissions is stored again alone, so one that
/// cannot be stored fails alone and the others are kept.
final class SubmissionBatcher: Sendable {
    private struct Waiting: Sendable {
        var prepared: PreparedSubmission
        var continuation: CheckedContinuation<SubmissionOutcome, any Error>
    }

    private struct State {
        var waiting: [Waiting] = []
        var writing = false
    }

    private let store: IntakeStore
    private let relay: OutboxRelay
    private let logger: Logger
    /// The most submissions one statement stores.
    private let limit: Int
    private let state = Mutex(State())

    init(store: IntakeStore, relay: OutboxRelay, limit: Int = 128, logger: Logger) {
        self.store = store
        self.relay = relay
        self.limit = max(limit, 1)
        self.logger = logger
    }

    /// Stores `prepared` with whatever else is waiting; returns once it is committed.
    func submit(_ prepared: PreparedSubmission) async throws -> SubmissionOutcome {
        try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { state in
                state.waiting.append(Waiting(prepared: prepared, continuation: continuation))
                defer { state.writing = true }
                return !state.writing
            }
            if start { Task { await self.write() } }
        }
    }

    /// Writes what is waiting, one statement at a time, until nothing is.
    private func write() async {
        while true {
            let batch = state.withLock { state -> [Waiting] in
                let batch = Array(state.waiting.prefix(limit))
                state.waiting.removeFirst(batch.count)
                if batch.isEmpty { state.writing = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            do {
                let outcomes = try await relay.handingOff { try await store.store(batch.map(\.prepared), logger: logger) }
                for (waiting, outcome) in zip(batch, outcomes) { waiting.continuation.resume(returning: outcome) }
            } catch {
                guard batch.count > 1 else {
                    batch[0].continuation.resume(throwing: error)
                    continue
                }
                logger.notice(
                    "submissions stored together failed; each again alone",
                    metadata: ["error": "\(String(reflecting: error))", "submissions": "\(batch.count)"]
                )
                for waiting in batch {
                    do {
                        let outcome = try await relay.handingOff { try await store.store([waiting.prepared], logger: logger) }
                        waiting.continuation.resume(returning: outcome[0])
                    } catch {
                        waiting.continuation.resume(throwing: error)
                    }
                }
            }
        }
    }
}
