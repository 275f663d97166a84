import Foundation
import GridLoopDomain
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Consumes one queue with manual acks over its own connection and thread, and hands each
/// delivery to an async handler; the handler's ``Disposition`` is sent back to the broker only
/// after the handler returns (so an ack always follows the handler's commit).
///
/// At most `concurrency` handlers run at once and at most `prefetch` deliveries are unacked.
/// With a batch handler (``init(options:queue:topology:prefetch:concurrency:maxBatch:logger:batchHandler:)``)
/// each call gets what has arrived meanwhile, up to `maxBatch` deliveries in arrival order, and
/// says how to settle each: work shared across deliveries (one transaction, one commit).
/// After a broker restart it reconnects with backoff and redeclares the topology, qos and the
/// consumer; settles of deliveries from the lost connection are dropped (the broker redelivers
/// those messages, and idempotent handlers absorb the repeat). On graceful shutdown it stops
/// taking new deliveries, lets running handlers finish and settles them before closing.
package final class AMQPConsumer: Service, Sendable {
    /// Handles one delivery and says how to settle it.
    package typealias Handler = @Sendable (IncomingMessage) async -> Disposition
    /// Handles deliveries taken together and says how to settle each (same order, same count).
    package typealias BatchHandler = @Sendable ([IncomingMessage]) async -> [Disposition]

    /// One call per delivery, or per batch of up to `maxBatch`.
    private enum Handling: Sendable {
        case each(Handler)
        case batch(maxBatch: Int, BatchHandler)
    }

    private struct Settle {
        var tag: UInt64
        var generation: Int
        var redelivered: Bool
        var disposition: Disposition
    }

    private struct State {
        var settles: [Settle] = []
        var stopping = false
        var drained = false
        var connected = false
        /// Why the last connect failed, while it is failing.
        var failure: DependencyFailure?
    }

    private let state = Mutex(State())
    private let wakeup = AMQPWakeup()
    private let options: AMQPOptions
    private let queue: String
    private let topology: AMQPTopology
    private let prefetch: Int
    private let concurrency: Int
    private let handling: Handling
    private let logger: Logger
    private let delivered: Counter
    private let endOfPass: (@Sendable () -> Void)?

    /// - Parameters:
    ///   - queue: the queue to consume (declared through `topology`).
    ///   - prefetch: most unacked deliveries (bounded).
    ///   - concurrency: most handlers running at once.
    ///   - endOfPass: a test seam, run on the connection thread at the end of every pass of its
    ///     loop, before the next pass reads whether to stop: a test holds the thread there while
    ///     a handler finishes and the consumer drains, the moment a last settle used to be lost.
    package convenience init(
        options: AMQPOptions,
        queue: String,
        topology: AMQPTopology,
        prefetch: Int = 32,
        concurrency: Int = 4,
        logger: Logger,
        endOfPass: (@Sendable () -> Void)? = nil,
        handler: @escaping Handler
    ) {
        self.init(
            options: options,
            queue: queue,
            topology: topology,
            prefetch: prefetch,
            concurrency: concurrency,
            handling: .each(handler),
            logger: logger,
            endOfPass: endOfPass
        )
    }

    /// A consumer whose handler takes the deliveries that have arrived, up to `maxBatch` at a time.
    package convenience init(
        options: AMQPOptions,
        queue: String,
        topology: AMQPTopology,
        prefetch: Int = 32,
        concurrency: Int = 1,
        maxBatch: Int,
        logger: Logger,
        batchHandler: @escaping BatchHandler
    ) {
        self.init(
            options: options,
            queue: queue,
            topology: topology,
            prefetch: prefetch,
            concurrency: concurrency,
            handling: .batch(maxBatch: max(maxBatch, 1), batchHandler),
            logger: logger,
            endOfPass: nil
        )
    }

    private init(
        options: AMQPOptions,
        queue: String,
        topology: AMQPTopology,
        prefetch: Int,
        concurrency: Int,
        handling: Handling,
        logger: Logger,
        endOfPass: (@Sendable () -> Void)?
    ) {
        self.endOfPass = endOfPass
        self.options = options
        self.queue = queue
        self.topology = topology
        self.prefetch = max(prefetch, 1)
        self.concurrency = max(min(concurrency, prefetch), 1)
        self.handling = handling
        var logger = logger
        logger[metadataKey: "amqp.queue"] = "\(queue)"
        self.logger = logger
        self.delivered = Counter(label: "gridloop_amqp_delivered_total", dimensions: [("queue", queue)])
    }

    /// Whether the consuming connection is up (for health checks).
    package var isConnected: Bool { state.withLock { $0.connected } }

    /// Why the broker cannot be reached, while connecting fails (for health checks).
    package var failure: DependencyFailure? { state.withLock { $0.connected ? nil : $0.failure } }

    package func run() async throws {
        let pending = PendingDeliveries()
        let threadDone = AsyncStream.makeStream(of: Void.self)
        AMQPThread.start(name: "amqp-consume-\(queue)") { [self] in
            loop(pending)
            threadDone.continuation.finish()
        }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await process(pending)
            } onCancel: {
                self.requestStop()
            }
        } onGracefulShutdown: {
            self.requestStop()
        }
        state.withLock { $0.drained = true }
        wakeup.signal()
        for await _ in threadDone.stream {}
    }

    private func requestStop() {
        state.withLock { $0.stopping = true }
        wakeup.signal()
    }

    private func process(_ pending: PendingDeliveries) async {
        let (limit, handle): (Int, BatchHandler) =
            switch handling {
            case .each(let handler): (1, { messages in [await handler(messages[0])] })
            case .batch(let maxBatch, let handler): (maxBatch, handler)
            }
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            while true {
                if running >= concurrency {
                    await group.next()
                    running -= 1
                }
                let messages = await pending.take(upTo: limit)
                guard !messages.isEmpty else { break }
                running += 1
                group.addTask { [self] in
                    var dispositions = await handle(messages)
                    if dispositions.count != messages.count {
                        // A handler's mistake must not leave deliveries unsettled (the consumer would stall at its prefetch).
                        logger.error(
                            "batch handler answered for \(dispositions.count) of \(messages.count) deliveries; the rest go back to the queue"
                        )
                        dispositions =
                            Array(dispositions.prefix(messages.count))
                            + Array(repeating: .reject(requeue: true), count: max(messages.count - dispositions.count, 0))
                    }
                    state.withLock { state in
                        for (message, disposition) in zip(messages, dispositions) {
                            state.settles.append(
                                Settle(
                                    tag: message.deliveryTag,
                                    generation: message.generation,
                                    redelivered: message.redelivered,
                                    disposition: disposition
                                )
                            )
                        }
                    }
                    wakeup.signal()
                }
            }
            await group.waitForAll()
        }
    }

    // MARK: The connection thread

    private func loop(_ sink: PendingDeliveries) {
        var connection: AMQPConnection?
        var generation = 0
        var attempt = 0
        var finishedSink = false
        var failures = BrokerFailureLog(role: "consumer of \(queue)", options: options, logger: logger)
        while true {
            let (stopping, drained) = state.withLock { ($0.stopping, $0.drained) }
            if stopping, !finishedSink {
                sink.finish()
                finishedSink = true
            }
            if stopping, drained || connection == nil {
                // Handlers that finished after the last pass still get their settles sent:
                // dropping them would redeliver work that is done (a notification sent twice).
                if let live = connection {
                    do { try applySettles(on: live, generation: generation) } catch {
                        logger.warning("settles at shutdown not sent; the broker redelivers those messages", metadata: ["amqp.error": "\(error)"])
                    }
                }
                break
            }
            if connection == nil {
                do {
                    let fresh = try AMQPConnection(options: options)
                    try fresh.declare(topology)
                    try fresh.setPrefetch(prefetch)
                    try fresh.consume(queue: queue)
                    generation += 1
                    connection = fresh
                    failures.connected(attempts: attempt)
                    attempt = 0
                    state.withLock {
                        $0.connected = true
                        $0.failure = nil
                        $0.settles.removeAll()
                    }
                } catch {
                    attempt += 1
                    let failure = failures.failed(error, attempt: attempt)
                    state.withLock { $0.failure = failure }
                    wakeup.wait(socket: -1, timeout: options.reconnect.delay(afterAttempt: attempt) ?? .seconds(5))
                    continue
                }
            }
            guard let live = connection else { continue }
            do {
                try applySettles(on: live, generation: generation)
                if !live.hasBufferedInput {
                    wakeup.wait(socket: live.socketDescriptor, timeout: .milliseconds(options.heartbeat * 250))
                    try applySettles(on: live, generation: generation)
                }
                switch try live.nextDelivery(timeout: .zero, generation: generation) {
                case .delivery(var message):
                    message.queue = queue
                    // After stop, deliveries are left unacked: the broker requeues them on close.
                    if !finishedSink {
                        delivered.increment()
                        sink.append(message)
                    }
                case .frame(.blocked(let reason)):
                    logger.warning("broker blocked the connection", metadata: ["amqp.reason": "\(reason)"])
                case .frame, .idle:
                    break
                }
            } catch {
                live.abandon()
                connection = nil
                state.withLock { $0.connected = false }
                logger.warning("consumer lost its connection", metadata: ["amqp.error": "\(error)"])
            }
            endOfPass?()
        }
        if !finishedSink { sink.finish() }
        connection?.close()
        state.withLock { $0.connected = false }
    }

    private func applySettles(on connection: AMQPConnection, generation: Int) throws(AMQPError) {
        let settles = state.withLock { state in
            defer { state.settles.removeAll() }
            return state.settles
        }
        var closeBeforeAck = false
        for settle in settles where settle.generation == generation {
            if options.closeBeforeFirstAck, settle.disposition == .ack, !settle.redelivered {
                closeBeforeAck = true
                continue
            }
            try connection.settle(tag: settle.tag, settle.disposition)
        }
        if closeBeforeAck {
            throw AMQPError(.connectionClosed, reason: "fault injection: connection dropped before an ack (AMQP_FAULT_CLOSE_BEFORE_ACK)")
        }
    }
}

/// Deliveries passed from the connection thread to the handlers, in arrival order: the
/// processing loop takes what has arrived (waiting for the first), up to a limit.
final class PendingDeliveries: Sendable {
    private struct State {
        var messages: [IncomingMessage] = []
        var finished = false
        var waiter: CheckedContinuation<Void, Never>?

        mutating func takeWaiter() -> CheckedContinuation<Void, Never>? {
            defer { waiter = nil }
            return waiter
        }
    }

    private let state = Mutex(State())

    func append(_ message: IncomingMessage) {
        state.withLock { state in
            state.messages.append(message)
            return state.takeWaiter()
        }?.resume()
    }

    /// No more deliveries: the processing loop ends once it has taken those left.
    func finish() {
        state.withLock { state in
            state.finished = true
            return state.takeWaiter()
        }?.resume()
    }

    /// Up to `limit` deliveries, waiting until there is one; none once finished and taken.
    func take(upTo limit: Int) async -> [IncomingMessage] {
        while true {
            let (taken, finished) = state.withLock { state in
                let count = min(limit, state.messages.count)
                let taken = Array(state.messages.prefix(count))
                state.messages.removeFirst(count)
                return (taken, state.finished)
            }
            if !taken.isEmpty || finished { return taken }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if !state.messages.isEmpty || state.finished { return true }
                    state.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        }
    }
}
