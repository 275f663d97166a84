import Foundation
import GridLoopDomain
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Publishes with publisher confirms over its own connection and thread.
///
/// ``publish(_:)-([OutgoingMessage])`` returns one ``PublishOutcome`` per message, in order:
/// confirmed only when the broker acked it (and did not return it as unroutable). Anything else,
/// including a connection lost before the confirm, is a failure the caller retries (the outbox
/// relay leaves the row unpublished). While the broker is unreachable, publishes fail at once
/// instead of waiting, so no caller hangs on the broker; the thread reconnects with backoff,
/// redeclares the topology and re-enables confirms.
///
/// Run it as a `Service` (its `run()` lasts until graceful shutdown), or ``start()`` and
/// ``shutdown()`` it by hand.
package final class AMQPPublisher: Service, Sendable {
    private struct Job {
        var messages: [OutgoingMessage]
        /// Declared before publishing, and on every reconnect from then on.
        var topology: AMQPTopology?
        var continuation: CheckedContinuation<[PublishOutcome], Never>?
    }

    private struct State {
        var jobs: [Job] = []
        var started = false
        var stopping = false
        var connected = false
        var lastError: String = "not connected yet"
        /// Why the last connect failed, while it is failing.
        var failure: DependencyFailure?
        var finished: [CheckedContinuation<Void, Never>] = []
        var isFinished = false
        var declared = AMQPTopology()
    }

    private let state = Mutex(State())
    private let wakeup = AMQPWakeup()
    private let options: AMQPOptions
    private let topology: AMQPTopology
    private let window: Int
    private let logger: Logger
    private let published = Counter(label: "gridloop_amqp_published_total")
    private let failed = Counter(label: "gridloop_amqp_publish_failed_total")

    /// - Parameters:
    ///   - topology: declared on every connect, so publishing works on a fresh broker.
    ///   - window: most unconfirmed publishes in flight at once.
    package init(options: AMQPOptions, topology: AMQPTopology = AMQPTopology(), window: Int = 256, logger: Logger) {
        self.options = options
        self.topology = topology
        self.window = max(window, 1)
        var logger = logger
        logger[metadataKey: "amqp.connection"] = "\(options.connectionName)"
        self.logger = logger
    }

    /// Whether the publishing connection is up (for health checks).
    package var isConnected: Bool { state.withLock { $0.connected } }

    /// Why the broker cannot be reached, while connecting fails (for health checks).
    package var failure: DependencyFailure? { state.withLock { $0.connected ? nil : $0.failure } }

    /// Publishes `messages` and waits for their confirms.
    package func publish(_ messages: [OutgoingMessage]) async -> [PublishOutcome] {
        guard !messages.isEmpty else { return [] }
        let outcomes = await submit(Job(messages: messages, topology: nil, continuation: nil))
        let confirmed = outcomes.count(where: \.isConfirmed)
        published.increment(by: confirmed)
        failed.increment(by: outcomes.count - confirmed)
        return outcomes
    }

    /// Declares more topology (e.g. a unit's queue) now and again after every reconnect.
    package func declare(_ topology: AMQPTopology) async throws(AMQPError) {
        let outcome = await submit(Job(messages: [], topology: topology, continuation: nil))
        if case .failed(let reason) = outcome.first { throw AMQPError(.serverRefused, reason: reason) }
    }

    private func submit(_ job: Job) async -> [PublishOutcome] {
        var job = job
        let count = max(job.messages.count, 1)
        return await withCheckedContinuation { continuation in
            job.continuation = continuation
            let refused: String? = state.withLock { state in
                guard state.started, !state.isFinished else { return "publisher is not running" }
                state.jobs.append(job)
                return nil
            }
            if let refused {
                continuation.resume(returning: Array(repeating: .failed(refused), count: count))
            } else {
                wakeup.signal()
            }
        }
    }

    /// Publishes one message and waits for its confirm.
    package func publish(_ message: OutgoingMessage) async -> PublishOutcome {
        await publish([message])[0]
    }

    /// Starts the connection thread (idempotent).
    package func start() {
        let first = state.withLock { state in
            defer { state.started = true }
            return !state.started
        }
        guard first else { return }
        AMQPThread.start(name: "amqp-publish-\(options.connectionName)") { [self] in
            loop()
        }
    }

    /// Stops after the queued publishes are done, then closes the connection.
    package func shutdown() async {
        state.withLock { $0.stopping = true }
        wakeup.signal()
        await withCheckedContinuation { continuation in
            let done = state.withLock { state in
                if state.isFinished || !state.started { return true }
                state.finished.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    package func run() async throws {
        start()
        try? await gracefulShutdown()
        await shutdown()
    }

    // MARK: The connection thread

    private func loop() {
        var connection: AMQPConnection?
        var attempt = 0
        var retryAt = ContinuousClock.now
        var failures = BrokerFailureLog(role: "publisher", options: options, logger: logger)
        while true {
            if connection == nil {
                let stopping = state.withLock { $0.stopping }
                if ContinuousClock.now >= retryAt, !stopping || hasJobs {
                    do {
                        let fresh = try AMQPConnection(options: options)
                        try fresh.declare(topology.merging(state.withLock { $0.declared }))
                        try fresh.enableConfirms()
                        connection = fresh
                        failures.connected(attempts: attempt)
                        attempt = 0
                        state.withLock {
                            $0.connected = true
                            $0.failure = nil
                        }
                    } catch {
                        attempt += 1
                        let delay = options.reconnect.delay(afterAttempt: attempt) ?? .seconds(5)
                        retryAt = ContinuousClock.now + delay
                        let failure = failures.failed(error, attempt: attempt)
                        state.withLock {
                            $0.connected = false
                            $0.lastError = error.description
                            $0.failure = failure
                        }
                    }
                }
                if connection == nil {
                    failQueuedJobs()
                    if state.withLock({ $0.stopping }) { break }
                    wakeup.wait(socket: -1, timeout: max(retryAt - ContinuousClock.now, .milliseconds(1)))
                    continue
                }
            }
            guard let live = connection else { continue }
            if let job = nextJob() {
                let (outcomes, failure) = perform(job, on: live)
                job.continuation?.resume(returning: outcomes)
                if let failure {
                    live.abandon()
                    connection = nil
                    state.withLock {
                        $0.connected = false
                        $0.lastError = failure.description
                    }
                    logger.warning("publisher lost its connection", metadata: ["amqp.error": "\(failure)"])
                }
                continue
            }
            if state.withLock({ $0.stopping }) { break }
            if !live.hasBufferedInput {
                wakeup.wait(socket: live.socketDescriptor, timeout: .milliseconds(options.heartbeat * 250))
            }
            do {
                while let event = try live.waitFrame(timeout: .zero) { note(event) }
            } catch {
                live.abandon()
                connection = nil
                state.withLock {
                    $0.connected = false
                    $0.lastError = error.description
                }
                logger.warning("publisher lost its connection", metadata: ["amqp.error": "\(error)"])
            }
        }
        connection?.close()
        failQueuedJobs()
        let waiters = state.withLock { state in
            state.isFinished = true
            state.connected = false
            defer { state.finished.removeAll() }
            return state.finished
        }
        for waiter in waiters { waiter.resume() }
    }

    private var hasJobs: Bool { state.withLock { !$0.jobs.isEmpty } }

    private func nextJob() -> Job? {
        state.withLock { state in state.jobs.isEmpty ? nil : state.jobs.removeFirst() }
    }

    private func failQueuedJobs() {
        let (jobs, reason) = state.withLock { state in
            defer { state.jobs.removeAll() }
            return (state.jobs, state.lastError)
        }
        for job in jobs {
            job.continuation?.resume(returning: Array(repeating: .failed("not connected: \(reason)"), count: max(job.messages.count, 1)))
        }
    }

    private func note(_ event: AMQPFrameEvent) {
        switch event {
        case .blocked(let reason): logger.warning("broker blocked publishing", metadata: ["amqp.reason": "\(reason)"])
        case .unblocked: logger.info("broker unblocked publishing")
        default: break
        }
    }

    private func perform(_ job: Job, on connection: AMQPConnection) -> ([PublishOutcome], AMQPError?) {
        guard let topology = job.topology else { return run(job.messages, on: connection) }
        do {
            try connection.declare(topology)
            state.withLock { $0.declared = $0.declared.merging(topology) }
            return ([.confirmed], nil)
        } catch {
            return ([.failed(error.description)], error)
        }
    }

    /// Publishes a batch inside the confirm window and waits for every confirm.
    private func run(_ messages: [OutgoingMessage], on connection: AMQPConnection) -> ([PublishOutcome], AMQPError?) {
        var outcomes = [PublishOutcome?](repeating: nil, count: messages.count)
        var pending: [UInt64: Int] = [:]
        var indexById: [String: Int] = [:]
        var returned: [Int: String] = [:]
        let deadline = ContinuousClock.now + options.confirmTimeout

        func settle(_ tag: UInt64, multiple: Bool, _ outcome: (Int) -> PublishOutcome) {
            let tags = multiple ? pending.keys.filter { $0 <= tag } : (pending[tag] == nil ? [] : [tag])
            for tag in tags {
                if let index = pending.removeValue(forKey: tag) { outcomes[index] = outcome(index) }
            }
        }
        func absorb(_ event: AMQPFrameEvent) {
            switch event {
            case .ack(let tag, let multiple):
                settle(tag, multiple: multiple) { index in returned[index].map { .failed($0) } ?? .confirmed }
            case .nack(let tag, let multiple):
                settle(tag, multiple: multiple) { _ in .failed("nacked by the broker") }
            case .returned(let messageId, let code, let text):
                if let index = indexById[messageId] { returned[index] = "returned as unroutable (\(code) \(text))" }
            default:
                note(event)
            }
        }
        func awaitOne() throws(AMQPError) {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero, let event = try connection.waitFrame(timeout: remaining) else {
                throw AMQPError(.timeout, reason: "no publisher confirm within \(options.confirmTimeout)")
            }
            absorb(event)
        }

        var failure: AMQPError?
        do {
            for (index, message) in messages.enumerated() {
                while pending.count >= window { try awaitOne() }
                let sequence = try connection.publish(message)
                pending[sequence] = index
                indexById[message.messageId] = index
                while connection.hasBufferedInput, let event = try connection.waitFrame(timeout: .zero) { absorb(event) }
            }
            while !pending.isEmpty { try awaitOne() }
        } catch {
            failure = error
        }
        let unknown = "unconfirmed: \(failure?.description ?? "connection lost")"
        return (outcomes.map { $0 ?? .failed(unknown) }, failure)
    }
}
