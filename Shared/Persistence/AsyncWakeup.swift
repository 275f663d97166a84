import Synchronization

/// Lets a polling loop sleep until either a timeout passes or someone calls ``wake()``.
/// A wake that arrives while nobody sleeps is remembered for the next ``wait(upTo:)``.
package final class AsyncWakeup: Sendable {
    private struct State {
        var sleeper: Task<Void, Never>?
        var pending = false
    }

    private let state = Mutex(State())

    package init() {}

    /// Ends the current (or next) wait early.
    package func wake() {
        state.withLock { state in
            state.pending = true
            state.sleeper?.cancel()
        }
    }

    /// Sleeps up to `timeout`, or returns at once if a wake is pending.
    package func wait(upTo timeout: Duration) async {
        let sleeper: Task<Void, Never>? = state.withLock { state in
            if state.pending {
                state.pending = false
                return nil
            }
            let task = Task<Void, Never> { _ = try? await Task.sleep(for: timeout) }
            state.sleeper = task
            return task
        }
        guard let sleeper else { return }
        await withTaskCancellationHandler {
            await sleeper.value
        } onCancel: {
            sleeper.cancel()
        }
        state.withLock { state in
            state.sleeper = nil
            state.pending = false
        }
    }
}
