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
        var id = 0
        var messages: [OutgoingMessage]
        /// Declared before publishing, and on every reconnect from then on.
        var topology: AMQPTopology?
        var continuation: CheckedContinuation<[PublishOutcome], Never>?
    }

    private struct State {
        var jobs: [Job] = []
        var nextJobId = 1
        /// Jobs whose callers were cancelled before the job was queued.
        var cancelled: Set<Int> = []
        var started = false
        var stopping = false
        var connected = false
        var lastError: String = "not connected yet"
        /// Why the last connect failed, while it is failing.
        var failure: DependencyFailure?
        var finished: [CheckedContinuation<Void, Never>] = []
        var isFinished = false
        /// Topology declared through ``declare(_:)``, part by part, replayed on every reconnect.
        var declared: [AMQPTopology] = []
        /// The job the thread is sending, since when and on which socket (for the watchdog).
        var busy: (since: ContinuousClock.Instant, socket: Int32)?
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
    /// A declare the broker refused throws ``AMQPError/Kind/serverRefused`` with its reply code
    /// (406 PRECONDITION_FAILED: the queue exists with other arguments); any other failure
    /// (not connected, the connection lost) throws ``AMQPError/Kind/notConnected``.
    package func declare(_ topology: AMQPTopology) async throws(AMQPError) {
        let outcome = await submit(Job(messages: [], topology: topology, continuation: nil))
        guard case .failed(let reason) = outcome.first else { return }
        if reason.hasPrefix(PublishOutcome.preconditionFailedReason) { throw AMQPError(.serverRefused, code: 406, reason: reason) }
        throw AMQPError(.notConnected, reason: reason)
    }

    /// Queues `job` and waits for it. A caller cancelled while its job is still queued (the
    /// relay's deadline) gets failures at once and the job is never sent: nothing goes out
    /// after the caller has given up on it (and rolled back what it was for).
    private func submit(_ job: Job) async -> [PublishOutcome] {
        var job = job
        let count = max(job.messages.count, 1)
        let id = state.withLock { state in
            defer { state.nextJobId += 1 }
            return state.nextJobId
        }
        job.id = id
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                job.continuation = continuation
                let refused: String? = state.withLock { state in
                    guard state.started, !state.isFinished else { return "publisher is not running" }
                    guard !state.cancelled.contains(id) else {
                        state.cancelled.remove(id)
                        return "cancelled before it was sent"
                    }
                    state.jobs.append(job)
                    return nil
                }
                if let refused {
                    continuation.resume(returning: Array(repeating: .failed(refused), count: count))
                } else {
                    wakeup.signal()
                }
            }
        } onCancel: {
            let withdrawn = state.withLock { state -> Job? in
                guard let index = state.jobs.firstIndex(where: { $0.id == id }) else {
                    // Not queued yet (it is refused when it comes) or already started (the
                    // mark is dropped when it ends).
                    state.cancelled.insert(id)
                    return nil
                }
                return state.jobs.remove(at: index)
            }
            withdrawn?.continuation?.resume(returning: Array(repeating: .failed("cancelled before it was sent"), count: count))
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
        AMQPThread.start(name: "amqp-watch-\(options.connectionName)") { [self] in
            watch()
        }
    }

    /// Runs `body` on `connection` under the watchdog's eye (see ``watch()``).
    private func guarded<T, E: Error>(_ connection: AMQPConnection, _ body: () throws(E) -> T) throws(E) -> T {
        let watched = dup(connection.socketDescriptor)
        if watched >= 0 { state.withLock { $0.busy = (ContinuousClock.now, watched) } }
        defer {
            if watched >= 0 {
                // Cleared under the lock before the duplicate is closed and its number reused.
                state.withLock { $0.busy = nil }
                close(watched)
            }
        }
        return try body()
    }

    /// librabbitmq sends a publish with no timeout: a broker that stops reading (blocked, or
    /// gone silent with the socket open) would hold the thread, every caller and shutdown for
    /// ever once the socket buffers are full. A job still running `confirmTimeout` + 5 s after
    /// it started gets its socket shut down from here (the one call on a connection another
    /// thread may make: it only wakes the blocked send), so the thread fails it and reconnects.
    private func watch() {
        let limit = options.confirmTimeout + .seconds(5)
        while true {
            let (finished, cut) = state.withLock { state -> (Bool, Bool) in
                guard let busy = state.busy, ContinuousClock.now - busy.since > limit else { return (state.isFinished, false) }
                // Under the lock, on the thread's own duplicate of the socket: the number cannot
                // have been reused for another socket (the thread closes it only after clearing
                // `busy` under this lock), and shutting it down cuts the connection's socket.
                Glibc.shutdown(busy.socket, Int32(SHUT_RDWR))
                state.busy = nil
                return (state.isFinished, true)
            }
            if finished { return }
            if cut { logger.warning("a call to the broker has not finished in \(limit); dropping the connection (the broker stopped reading)") }
            Thread.sleep(forTimeInterval: 0.5)
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
                        connection = try connect()
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
                let (outcomes, failure) = guarded(live) { perform(job, on: live) }
                state.withLock { _ = $0.cancelled.remove(job.id) }
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
                // Reading may send a heartbeat, which a broker that stopped reading can hold too.
                try guarded(live) { () throws(AMQPError) in
                    while let event = try live.waitFrame(timeout: .zero) { note(event) }
                }
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
        // Finished and the queue emptied in one step: a job queued in between would never end.
        let (waiters, jobs, reason) = state.withLock { state in
            state.isFinished = true
            state.connected = false
            defer {
                state.finished.removeAll()
                state.jobs.removeAll()
            }
            return (state.finished, state.jobs, state.lastError)
        }
        for job in jobs {
            job.continuation?.resume(returning: Array(repeating: .failed("not connected: \(reason)"), count: max(job.messages.count, 1)))
        }
        for waiter in waiters { waiter.resume() }
    }

    /// A new connection with the topology declared and confirms on. The exchanges of every
    /// declared part go first, once; then each part's queues and bindings. A part the broker
    /// now refuses with PRECONDITION_FAILED (an operator re-created a unit's queue with other
    /// arguments; anything else is a connection failure, retried) is logged and
    /// left out of later replays instead of keeping the publisher down: the broker closes the
    /// channel on a refusal, so the connection is made again without it.
    private func connect() throws(AMQPError) -> AMQPConnection {
        let parts = state.withLock { $0.declared }
        let exchanges = parts.reduce(topology) { $0.merging(AMQPTopology(exchanges: $1.exchanges)) }
        var connection = try AMQPConnection(options: options)
        try connection.declare(exchanges)
        var refused: [AMQPTopology] = []
        for part in parts {
            let rest = AMQPTopology(queues: part.queues, bindings: part.bindings)
            guard !rest.isEmpty else { continue }
            do {
                try connection.declare(rest)
            } catch  where error.kind == .serverRefused && error.code == 406 {
                logger.error(
                    "a queue declared earlier is refused now; left out of the replay",
                    metadata: [
                        "amqp.queues": "\(part.queues.map(\.name).joined(separator: ","))", "amqp.error": "\(error)",
                    ]
                )
                refused.append(part)
                connection = try AMQPConnection(options: options)
                try connection.declare(exchanges)
            }
        }
        if !refused.isEmpty { state.withLock { $0.declared.removeAll { refused.contains($0) } } }
        try connection.enableConfirms()
        return connection
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
        // While the broker blocks this connection it reads nothing from it: fail at once (the
        // callers keep their messages, the outbox its rows, and retry) instead of waiting.
        if connection.isBlocked {
            return (Array(repeating: .failed("the broker blocks publishing (\(connection.blockedReason))"), count: max(job.messages.count, 1)), nil)
        }
        guard let topology = job.topology else { return run(job.messages, on: connection) }
        do {
            try connection.declare(topology)
            state.withLock { state in
                if !state.declared.contains(topology) { state.declared.append(topology) }
            }
            return ([.confirmed], nil)
        } catch {
            let refused = error.kind == .serverRefused && error.code == 406
            return ([.failed(refused ? "\(PublishOutcome.preconditionFailedReason): \(error.reason)" : error.description)], error)
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
                settle(tag, multiple: multiple) { _ in .failed(PublishOutcome.nackedReason) }
            case .returned(let messageId, let code, let text):
                if let index = indexById[messageId] { returned[index] = "\(PublishOutcome.returnedReason) (\(code) \(text))" }
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
                while pending.count >= window, !connection.isBlocked { try awaitOne() }
                // Every 32 messages, read what the broker said meanwhile (a block notice
                // arrives when the first publish meets an alarm), not only what is buffered.
                if index % 32 == 31 {
                    while let event = try connection.waitFrame(timeout: .zero) { absorb(event) }
                }
                if connection.isBlocked { break }
                let sequence = try connection.publish(message)
                pending[sequence] = index
                indexById[message.messageId] = index
                while connection.hasBufferedInput, let event = try connection.waitFrame(timeout: .zero) { absorb(event) }
            }
            while !pending.isEmpty, !connection.isBlocked { try awaitOne() }
        } catch {
            failure = error
        }
        // Blocked: what was sent may still be confirmed after the alarm, what was not is not
        // sent; both are failures the caller retries (consumers are idempotent).
        let unknown =
            connection.isBlocked
            ? "the broker blocks publishing (\(connection.blockedReason))"
            : "unconfirmed: \(failure?.description ?? "connection lost")"
        return (outcomes.map { $0 ?? .failed(unknown) }, failure)
    }
}
