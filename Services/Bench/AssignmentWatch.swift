import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopServiceSupport
import Logging
import Synchronization

/// Consumes a unit's queue (as its staff would) and records when each benchmark request's
/// assignment arrived, keyed by the request's description (which carries the benchmark's key).
final class AssignmentWatch: Sendable {
    private struct State {
        var arrivals: [String: ContinuousClock.Instant] = [:]
        var assignmentsByRequest: [String: Set<String>] = [:]
        var waiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
        var keyWaiters: [String: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())
    private let consumer: AMQPConsumer
    private let task = Mutex<Task<Void, any Error>?>(nil)

    private init(consumer: AMQPConsumer) {
        self.consumer = consumer
    }

    /// A watch whose consumer records into it.
    static func start(options: AMQPOptions, unit: UnitRef, logger: Logger) -> AssignmentWatch {
        let recorder = Recorder()
        let consumer = AMQPConsumer(
            options: options,
            queue: unit.queueName,
            topology: GridLoopTopology.unit(unit),
            prefetch: 256,
            concurrency: 16,
            logger: logger
        ) { message in
            recorder.record(message)
            return .ack
        }
        let watch = AssignmentWatch(consumer: consumer)
        recorder.watch.withLock { $0 = watch }
        watch.task.withLock { $0 = Task { try await consumer.run() } }
        return watch
    }

    /// Hands deliveries to the watch (set once it exists).
    private final class Recorder: Sendable {
        let watch = Mutex<AssignmentWatch?>(nil)

        func record(_ message: IncomingMessage) {
            guard let envelope = try? WireJSON.decode(MessageEnvelope<RequestAssigned>.self, from: message.body) else { return }
            watch.withLock { $0 }?.arrived(envelope.payload)
        }
    }

    private func arrived(_ assignment: RequestAssigned) {
        let now = ContinuousClock.now
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            if state.arrivals[assignment.description] == nil { state.arrivals[assignment.description] = now }
            state.assignmentsByRequest[assignment.requestId, default: []].insert(assignment.assignmentId)
            let count = state.arrivals.count
            var ready = state.waiters.filter { $0.count <= count }.map(\.continuation)
            state.waiters.removeAll { $0.count <= count }
            if let waiter = state.keyWaiters.removeValue(forKey: assignment.description) { ready.append(waiter) }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    /// When the assignment of the request described `key` arrived.
    func arrival(of key: String) -> ContinuousClock.Instant? {
        state.withLock { $0.arrivals[key] }
    }

    /// Waits until the assignment of the request described `key` arrived, or `timeout` passes.
    func waitForArrival(of key: String, timeout: Duration) async {
        let timer = Task {
            try? await Task.sleep(for: timeout)
            state.withLock { $0.keyWaiters.removeValue(forKey: key) }?.resume()
        }
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.arrivals[key] != nil { return true }
                state.keyWaiters[key] = continuation
                return false
            }
            if now { continuation.resume() }
        }
        timer.cancel()
    }

    /// Requests that got more than one assignment.
    var doubleAssigned: Int { state.withLock { $0.assignmentsByRequest.values.count(where: { $0.count > 1 }) } }

    /// Waits until `count` requests arrived or `timeout` passes.
    func waitFor(_ count: Int, timeout: Duration) async {
        let timer = Task {
            try? await Task.sleep(for: timeout)
            let waiting = state.withLock { state in
                defer { state.waiters.removeAll() }
                return state.waiters.map(\.continuation)
            }
            for continuation in waiting { continuation.resume() }
        }
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.arrivals.count >= count { return true }
                state.waiters.append((count, continuation))
                return false
            }
            if now { continuation.resume() }
        }
        timer.cancel()
    }

    func stop() async {
        let running = task.withLock { $0 }
        running?.cancel()
        _ = await running?.result
    }
}
