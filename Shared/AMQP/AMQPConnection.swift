import CRabbitMQ
import Foundation
import GridLoopDomain
import Synchronization

/// Connection settings shared by publishers, consumers and sessions.
package struct AMQPOptions: Sendable {
    package var url: AMQPURL
    /// Heartbeat interval negotiated with the broker (seconds, ≤ 30).
    package var heartbeat: Int
    /// Shown in the management UI (`connection_name` client property).
    package var connectionName: String
    /// TCP connect and login timeout.
    package var connectTimeout: Duration
    /// Longest wait for a publisher confirm before the connection is treated as broken.
    package var confirmTimeout: Duration
    /// Pause between reconnect attempts (capped at 2 s: a broker back after an outage is used
    /// within seconds, at the price of an attempt every 2 s per connection while it is away).
    package var reconnect: RetryPolicy
    /// Longest wait for the broker's reply to a synchronous method (channel open, declare, qos,
    /// consume, confirm-select, get, close): a broker that keeps heartbeating but never answers
    /// (a quorum queue declare without a majority) fails the call instead of hanging it.
    package var rpcTimeout: Duration = .seconds(10)
    /// Fault injection only (`AMQP_FAULT_CLOSE_BEFORE_ACK`): a consumer drops its connection
    /// instead of acking any first delivery, so that every message is delivered again (the
    /// fault harness proves every consumer idempotent with it). Never set in production.
    package var closeBeforeFirstAck = false
    /// For `amqps://`: the CA certificates (PEM) the broker's certificate must chain to
    /// (`AMQP_TLS_CA_FILE`; default the system's bundle).
    package var tlsCAFile: String?
    /// For `amqps://`: check the broker's certificate and host name (`AMQP_TLS_VERIFY`, default on).
    package var tlsVerify = true

    package init(
        url: AMQPURL,
        heartbeat: Int = 10,
        connectionName: String,
        connectTimeout: Duration = .seconds(5),
        confirmTimeout: Duration = .seconds(30),
        reconnect: RetryPolicy = RetryPolicy(initialDelay: .milliseconds(250), maximumDelay: .seconds(2))
    ) {
        self.url = url
        self.heartbeat = min(max(heartbeat, 1), 30)
        self.connectionName = connectionName
        self.connectTimeout = connectTimeout
        self.confirmTimeout = confirmTimeout
        self.reconnect = reconnect
    }
}

/// A frame read while waiting, reduced to what GridLoop reacts to.
enum AMQPFrameEvent {
    case ack(tag: UInt64, multiple: Bool)
    case nack(tag: UInt64, multiple: Bool)
    /// An unroutable mandatory message came back; carries its message id.
    case returned(messageId: String, replyCode: UInt16, replyText: String)
    case blocked(reason: String)
    case unblocked
    case other
}

/// What one consume step produced.
enum AMQPConsumeEvent {
    case delivery(IncomingMessage)
    /// A non-delivery frame (a confirm, a return, a blocked notice).
    case frame(AMQPFrameEvent)
    case idle
}

/// One blocking librabbitmq connection with one channel (number 1).
///
/// Not thread-safe and not `Sendable`: create it, use it and drop it on one thread (see
/// ``AMQPPublisher``, ``AMQPConsumer``, ``AMQPSession``). Every failure closes it; callers
/// make a new one.
final class AMQPConnection {
    private var state: amqp_connection_state_t?
    private let channel: amqp_channel_t = 1
    /// Which cluster node the next connection tries (all connections of the process share it).
    private static let rotation = Atomic<Int>(0)
    let options: AMQPOptions
    /// Sequence number the next publish gets once confirms are on.
    private(set) var nextPublishSequence: UInt64 = 1
    private(set) var confirmsEnabled = false
    /// Whether the broker has blocked publishing on this connection (`connection.blocked`,
    /// a resource alarm) and not unblocked it since; why.
    private(set) var isBlocked = false
    private(set) var blockedReason = ""
    private var consumerQueue = ""

    /// TLS 1.2 or later; the broker's certificate checked against the CA file (or the system's
    /// bundle) and its host name, unless verification is turned off.
    private static func configureTLS(_ socket: OpaquePointer, options: AMQPOptions) throws(AMQPError) {
        var status = amqp_ssl_socket_set_ssl_versions(socket, AMQP_TLSv1_2, AMQP_TLSvLATEST)
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError(.library, code: status, reason: "cannot require TLS 1.2: \(statusText(status))")
        }
        amqp_ssl_socket_set_verify_peer(socket, options.tlsVerify ? 1 : 0)
        amqp_ssl_socket_set_verify_hostname(socket, options.tlsVerify ? 1 : 0)
        let bundle = "/etc/ssl/certs/ca-certificates.crt"
        if let caFile = options.tlsCAFile ?? (FileManager.default.fileExists(atPath: bundle) ? bundle : nil) {
            status = amqp_ssl_socket_set_cacert(socket, caFile)
            guard status == AMQP_STATUS_OK.rawValue else {
                throw AMQPError(.connectionFailed, code: status, reason: "cannot use CA file \(caFile): \(statusText(status))")
            }
        }
    }

    /// TCP keepalive and a user timeout on the socket, so a peer that vanished (a host gone, a
    /// network cut that sends no reset) is found dead by the kernel within about `heartbeat`
    /// seconds even while the connection has unacknowledged data in flight (where heartbeats
    /// alone can wait for a full write buffer): keepalive probes after `heartbeat` / 2 idle
    /// seconds, 3 unanswered probes a second apart; sent data unacknowledged for
    /// 2 × `heartbeat` seconds fails the socket. Best effort: an option the kernel refuses is
    /// left as it was (heartbeats and the RPC timeout still bound every wait).
    static func detectDeadPeers(_ descriptor: Int32, within heartbeat: Int) {
        guard descriptor >= 0 else { return }
        func set(_ level: Int32, _ name: Int32, _ value: Int32) {
            var value = value
            _ = setsockopt(descriptor, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
        }
        set(SOL_SOCKET, SO_KEEPALIVE, 1)
        set(Int32(IPPROTO_TCP), TCP_KEEPIDLE, Int32(max(1, heartbeat / 2)))
        set(Int32(IPPROTO_TCP), TCP_KEEPINTVL, 1)
        set(Int32(IPPROTO_TCP), TCP_KEEPCNT, 3)
        set(Int32(IPPROTO_TCP), TCP_USER_TIMEOUT, Int32(2 * heartbeat * 1000))
    }

    /// Connects, logs in and opens the channel.
    init(options: AMQPOptions) throws(AMQPError) {
        self.options = options
        guard let state = amqp_new_connection() else {
            throw AMQPError(.library, reason: "amqp_new_connection returned NULL")
        }
        self.state = state
        guard let socket = options.url.tls ? amqp_ssl_socket_new(state) : amqp_tcp_socket_new(state) else {
            close()
            throw AMQPError(.library, reason: "amqp_\(options.url.tls ? "ssl" : "tcp")_socket_new returned NULL")
        }
        if options.url.tls {
            do { try AMQPConnection.configureTLS(socket, options: options) } catch {
                close()
                throw error
            }
        }
        var timeout = AMQPConnection.timeval(options.connectTimeout)
        // A cluster: each connect takes the next node, so reconnects move on from a node that is down.
        let nodes = options.url.nodes
        let node = nodes[AMQPConnection.rotation.add(1, ordering: .relaxed).oldValue % nodes.count]
        if let unresolved = NameResolution.check(node.host, port: node.port, within: options.connectTimeout) {
            close()
            throw AMQPError(.connectionFailed, reason: "cannot reach \(node): \(unresolved)")
        }
        let status = amqp_socket_open_noblock(socket, node.host, Int32(node.port), &timeout)
        guard status == AMQP_STATUS_OK.rawValue else {
            close()
            throw AMQPError(.connectionFailed, code: status, reason: "cannot reach \(node): \(AMQPConnection.statusText(status))")
        }
        amqp_set_handshake_timeout(state, &timeout)
        AMQPConnection.detectDeadPeers(amqp_socket_get_sockfd(socket), within: options.heartbeat)
        let arena = AMQPArena()
        defer { arena.release() }
        var properties = arena.table([
            ("connection_name", .string(options.connectionName)),
            ("product", .string("GridLoop")),
            (
                "capabilities",
                .table([
                    ("consumer_cancel_notify", .bool(true)),
                    ("connection.blocked", .bool(true)),
                    ("publisher_confirms", .bool(true)),
                    ("basic.nack", .bool(true)),
                    // A refused login gets connection.close with ACCESS_REFUSED and its reason,
                    // instead of a socket the broker just drops.
                    ("authentication_failure_close", .bool(true)),
                ])
            ),
        ])
        let reply = gridloop_amqp_login_plain(
            state,
            options.url.vhost,
            0,
            131_072,
            Int32(options.heartbeat),
            &properties,
            options.url.user,
            options.url.password
        )
        do throws(AMQPError) {
            try check(reply, "login to vhost '\(options.url.vhost)' as '\(options.url.user)'", kind: .connectionFailed)
            // Synchronous methods (channel open, declares, qos, consume, confirm-select, get,
            // close) wait at most this long for the broker's answer.
            var rpcTimeout = AMQPConnection.timeval(options.rpcTimeout)
            let rpcStatus = amqp_set_rpc_timeout(state, &rpcTimeout)
            guard rpcStatus == AMQP_STATUS_OK.rawValue else {
                throw AMQPError(.library, code: rpcStatus, reason: "cannot set the RPC timeout: \(AMQPConnection.statusText(rpcStatus))")
            }
            amqp_channel_open(state, channel)
            try check(amqp_get_rpc_reply(state), "channel.open", kind: .connectionFailed)
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// Closes politely when possible, then frees the connection. Idempotent.
    func close() {
        guard let state else { return }
        self.state = nil
        _ = amqp_channel_close(state, channel, Int32(AMQP_REPLY_SUCCESS))
        _ = amqp_connection_close(state, Int32(AMQP_REPLY_SUCCESS))
        amqp_destroy_connection(state)
    }

    /// Drops the connection without the closing handshake (after a socket failure).
    func abandon() {
        guard let state else { return }
        self.state = nil
        amqp_destroy_connection(state)
    }

    private func live() throws(AMQPError) -> amqp_connection_state_t {
        guard let state else { throw AMQPError(.connectionClosed, reason: "connection already closed") }
        return state
    }

    /// The socket's file descriptor, to wait on with `poll`.
    var socketDescriptor: Int32 {
        guard let state else { return -1 }
        return amqp_get_sockfd(state)
    }

    /// Whether frames or bytes are already buffered (then do not wait on the socket).
    var hasBufferedInput: Bool {
        guard let state else { return false }
        return amqp_data_in_buffer(state) != 0 || amqp_frames_enqueued(state) != 0
    }

    // MARK: Topology and modes

    /// Declares exchanges, queues and bindings; idempotent.
    func declare(_ topology: AMQPTopology) throws(AMQPError) {
        let state = try live()
        let arena = AMQPArena()
        defer { arena.release() }
        for exchange in topology.exchanges {
            amqp_exchange_declare(state, channel, arena.bytes(exchange.name), arena.bytes(exchange.type), 0, 1, 0, 0, amqp_empty_table)
            try check(amqp_get_rpc_reply(state), "declare exchange '\(exchange.name)'", kind: .serverRefused)
        }
        for queue in topology.queues {
            var arguments: [(String, AMQPFieldValue)] = []
            if queue.quorum { arguments.append(("x-queue-type", .string("quorum"))) }
            if let dlx = queue.deadLetterExchange {
                arguments.append(("x-dead-letter-exchange", .string(dlx)))
                arguments.append(("x-dead-letter-routing-key", .string(queue.name)))
            }
            if queue.quorum, let limit = queue.deliveryLimit { arguments.append(("x-delivery-limit", .int(Int64(limit)))) }
            amqp_queue_declare(state, channel, arena.bytes(queue.name), 0, 1, 0, 0, arena.table(arguments))
            try check(amqp_get_rpc_reply(state), "declare queue '\(queue.name)'", kind: .serverRefused)
        }
        for binding in topology.bindings {
            amqp_queue_bind(
                state,
                channel,
                arena.bytes(binding.queue),
                arena.bytes(binding.exchange),
                arena.bytes(binding.routingKey),
                amqp_empty_table
            )
            try check(amqp_get_rpc_reply(state), "bind \(binding)", kind: .serverRefused)
        }
        for binding in topology.unbindings {
            amqp_queue_unbind(
                state,
                channel,
                arena.bytes(binding.queue),
                arena.bytes(binding.exchange),
                arena.bytes(binding.routingKey),
                amqp_empty_table
            )
            try check(amqp_get_rpc_reply(state), "remove the binding \(binding)", kind: .serverRefused)
        }
    }

    /// Checks, without creating anything, that every exchange of `topology` exists; throws
    /// ``AMQPError/Kind/topologyMissing`` naming the first that does not. The broker closes the
    /// channel on a missing one, so the connection is unusable afterwards.
    func requireExchanges(of topology: AMQPTopology) throws(AMQPError) {
        let state = try live()
        let arena = AMQPArena()
        defer { arena.release() }
        for exchange in topology.exchanges {
            amqp_exchange_declare(state, channel, arena.bytes(exchange.name), arena.bytes(exchange.type), 1, 1, 0, 0, amqp_empty_table)
            do {
                try check(amqp_get_rpc_reply(state), "exchange '\(exchange.name)'", kind: .serverRefused)
            } catch  where error.code == Int32(AMQP_NOT_FOUND) {
                throw AMQPError(
                    .topologyMissing,
                    code: error.code,
                    reason: "vhost '\(options.url.vhost)' has no GridLoop topology (exchange '\(exchange.name)' not found)"
                )
            }
        }
    }

    /// Deletes a queue (tests and operators' tools; the services never delete).
    func deleteQueue(_ name: String) throws(AMQPError) {
        let state = try live()
        let arena = AMQPArena()
        defer { arena.release() }
        amqp_queue_delete(state, channel, arena.bytes(name), 0, 0)
        try check(amqp_get_rpc_reply(state), "delete queue '\(name)'", kind: .serverRefused)
    }

    /// Puts the channel in confirm mode; publishes are numbered from 1.
    func enableConfirms() throws(AMQPError) {
        let state = try live()
        amqp_confirm_select(state, channel)
        try check(amqp_get_rpc_reply(state), "confirm.select", kind: .serverRefused)
        confirmsEnabled = true
        nextPublishSequence = 1
    }

    /// Limits unacknowledged deliveries on this channel.
    func setPrefetch(_ count: Int) throws(AMQPError) {
        let state = try live()
        amqp_basic_qos(state, channel, 0, UInt16(clamping: count), 0)
        try check(amqp_get_rpc_reply(state), "basic.qos", kind: .serverRefused)
    }

    /// Starts consuming `queue` with manual acks (or no acks, for direct reply-to).
    func consume(queue: String, noAck: Bool = false) throws(AMQPError) {
        let state = try live()
        let arena = AMQPArena()
        defer { arena.release() }
        amqp_basic_consume(state, channel, arena.bytes(queue), amqp_empty_bytes, 0, noAck ? 1 : 0, 0, amqp_empty_table)
        try check(amqp_get_rpc_reply(state), "basic.consume '\(queue)'", kind: .serverRefused)
        consumerQueue = queue
    }

    // MARK: Publishing

    /// Publishes one message; returns its confirm sequence number (meaningful with confirms on).
    @discardableResult
    func publish(_ message: OutgoingMessage) throws(AMQPError) -> UInt64 {
        let state = try live()
        let arena = AMQPArena()
        defer { arena.release() }
        var properties = amqp_basic_properties_t()
        properties._flags = GL_FLAG_CONTENT_TYPE | GL_FLAG_DELIVERY_MODE | GL_FLAG_MESSAGE_ID | GL_FLAG_TIMESTAMP | GL_FLAG_APP_ID
        properties.content_type = arena.bytes(message.contentType)
        properties.delivery_mode = message.persistent ? 2 : 1
        properties.message_id = arena.bytes(message.messageId)
        properties.timestamp = UInt64(Date().timeIntervalSince1970)
        properties.app_id = arena.bytes(options.connectionName)
        if let type = message.type {
            properties._flags |= GL_FLAG_TYPE
            properties.type = arena.bytes(type)
        }
        if let correlationId = message.correlationId {
            properties._flags |= GL_FLAG_CORRELATION_ID
            properties.correlation_id = arena.bytes(correlationId)
        }
        if let replyTo = message.replyTo {
            properties._flags |= GL_FLAG_REPLY_TO
            properties.reply_to = arena.bytes(replyTo)
        }
        if !message.headers.isEmpty {
            properties._flags |= GL_FLAG_HEADERS
            properties.headers = arena.table(message.headers.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
        }
        let status = amqp_basic_publish(
            state,
            channel,
            arena.bytes(message.exchange),
            arena.bytes(message.routingKey),
            message.mandatory ? 1 : 0,
            0,
            &properties,
            arena.bytes(message.body)
        )
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError(.connectionClosed, code: status, reason: "basic.publish: \(AMQPConnection.statusText(status))")
        }
        let sequence = nextPublishSequence
        if confirmsEnabled { nextPublishSequence += 1 }
        return sequence
    }

    /// Reads one frame, waiting at most `timeout` (`nil`: until one arrives); heartbeats are
    /// sent and checked inside. Returns `nil` on timeout.
    func waitFrame(timeout: Duration?) throws(AMQPError) -> AMQPFrameEvent? {
        let state = try live()
        var frame = amqp_frame_t()
        let status: Int32
        if let timeout {
            var tv = AMQPConnection.timeval(timeout)
            status = amqp_simple_wait_frame_noblock(state, &frame, &tv)
        } else {
            status = amqp_simple_wait_frame(state, &frame)
        }
        if status == AMQP_STATUS_TIMEOUT.rawValue { return nil }
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError(.connectionClosed, code: status, reason: "waiting for a frame: \(AMQPConnection.statusText(status))")
        }
        let event = try interpret(frame)
        // Every confirm, return and reply is decoded into the channel's pool: give it back
        // once the frame is read (what `interpret` keeps is copied out), or a publisher's
        // connection grows for as long as it lives.
        if let state = self.state { amqp_maybe_release_buffers(state) }
        return event
    }

    private func interpret(_ frame: amqp_frame_t) throws(AMQPError) -> AMQPFrameEvent {
        let state = try live()
        guard Int32(frame.frame_type) == AMQP_FRAME_METHOD else { return .other }
        let method = frame.payload.method
        guard let decoded = method.decoded else { return .other }
        switch method.id {
        case GL_BASIC_ACK:
            let ack = decoded.load(as: amqp_basic_ack_t.self)
            return .ack(tag: ack.delivery_tag, multiple: ack.multiple != 0)
        case GL_BASIC_NACK:
            let nack = decoded.load(as: amqp_basic_nack_t.self)
            return .nack(tag: nack.delivery_tag, multiple: nack.multiple != 0)
        case GL_BASIC_RETURN:
            let returned = decoded.load(as: amqp_basic_return_t.self)
            let code = returned.reply_code
            let text = returned.reply_text.string
            var message = amqp_message_t()
            let reply = amqp_read_message(state, frame.channel, &message, 0)
            // Only a message read whole is ours to destroy: on a failure librabbitmq has freed
            // its body and pool already (without clearing them), and a second free crashes.
            try check(reply, "reading a returned message", kind: .connectionClosed)
            defer { amqp_destroy_message(&message) }
            let hasId = (message.properties._flags & GL_FLAG_MESSAGE_ID) != 0
            return .returned(messageId: hasId ? message.properties.message_id.string : "", replyCode: code, replyText: text)
        case GL_CONNECTION_BLOCKED:
            let blocked = decoded.load(as: amqp_connection_blocked_t.self)
            isBlocked = true
            blockedReason = blocked.reason.string
            return .blocked(reason: blockedReason)
        case GL_CONNECTION_UNBLOCKED:
            isBlocked = false
            return .unblocked
        case GL_CHANNEL_CLOSE:
            let close = decoded.load(as: amqp_channel_close_t.self)
            let text = close.reply_text.string  // read before the reply reuses the frame's memory
            _ = gridloop_amqp_send_channel_close_ok(state, frame.channel)
            abandon()
            throw AMQPError(.connectionClosed, code: Int32(close.reply_code), reason: "server closed the channel: \(text)")
        case GL_CONNECTION_CLOSE:
            let close = decoded.load(as: amqp_connection_close_t.self)
            let text = close.reply_text.string  // read before the reply reuses the frame's memory
            _ = gridloop_amqp_send_connection_close_ok(state)
            abandon()
            throw AMQPError(.connectionClosed, code: Int32(close.reply_code), reason: "server closed the connection: \(text)")
        case GL_BASIC_CANCEL:
            abandon()
            throw AMQPError(.consumerCancelled, reason: "the server cancelled the consumer of '\(consumerQueue)'")
        default:
            return .other
        }
    }

    // MARK: Consuming

    /// Waits at most `timeout` for a delivery. Non-delivery frames are read and acted on.
    func nextDelivery(timeout: Duration, generation: Int) throws(AMQPError) -> AMQPConsumeEvent {
        let state = try live()
        amqp_maybe_release_buffers(state)
        var envelope = amqp_envelope_t()
        var tv = AMQPConnection.timeval(timeout)
        let reply = amqp_consume_message(state, &envelope, &tv, 0)
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            defer { amqp_destroy_envelope(&envelope) }
            return .delivery(
                incoming(
                    envelope.message,
                    exchange: envelope.exchange.string,
                    routingKey: envelope.routing_key.string,
                    redelivered: envelope.redelivered != 0,
                    tag: envelope.delivery_tag,
                    generation: generation
                )
            )
        case AMQP_RESPONSE_LIBRARY_EXCEPTION where reply.library_error == AMQP_STATUS_TIMEOUT.rawValue:
            return .idle
        case AMQP_RESPONSE_LIBRARY_EXCEPTION where reply.library_error == AMQP_STATUS_UNEXPECTED_STATE.rawValue:
            guard let event = try waitFrame(timeout: .zero) else { return .idle }
            return .frame(event)
        default:
            try check(reply, "basic.consume of '\(consumerQueue)'", kind: .connectionClosed)
            return .idle
        }
    }

    /// Fetches one message with `basic.get` (manual ack), or `nil` when the queue is empty.
    func get(queue: String, generation: Int) throws(AMQPError) -> IncomingMessage? {
        let state = try live()
        let arena = AMQPArena()
        defer { arena.release() }
        let reply = amqp_basic_get(state, channel, arena.bytes(queue), 0)
        try check(reply, "basic.get '\(queue)'", kind: .serverRefused)
        guard reply.reply.id == GL_BASIC_GET_OK, let decoded = reply.reply.decoded else { return nil }
        let ok = decoded.load(as: amqp_basic_get_ok_t.self)
        let exchange = ok.exchange.string
        let routingKey = ok.routing_key.string
        var message = amqp_message_t()
        let read = amqp_read_message(state, channel, &message, 0)
        // Destroyed only after a normal reply (see the returned-message case above).
        try check(read, "reading a fetched message", kind: .connectionClosed)
        defer { amqp_destroy_message(&message) }
        var incoming = incoming(
            message,
            exchange: exchange,
            routingKey: routingKey,
            redelivered: ok.redelivered != 0,
            tag: ok.delivery_tag,
            generation: generation
        )
        incoming.queue = queue
        return incoming
    }

    /// Acknowledges or rejects a delivery.
    func settle(tag: UInt64, _ disposition: Disposition) throws(AMQPError) {
        let state = try live()
        let status: Int32
        switch disposition {
        case .ack: status = amqp_basic_ack(state, channel, tag, 0)
        case .reject(let requeue): status = amqp_basic_reject(state, channel, tag, requeue ? 1 : 0)
        }
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError(.connectionClosed, code: status, reason: "settling delivery \(tag): \(AMQPConnection.statusText(status))")
        }
    }

    private func incoming(
        _ message: amqp_message_t,
        exchange: String,
        routingKey: String,
        redelivered: Bool,
        tag: UInt64,
        generation: Int
    ) -> IncomingMessage {
        let properties = message.properties
        func optional(_ flag: amqp_flags_t, _ value: amqp_bytes_t) -> String? {
            (properties._flags & flag) != 0 ? value.string : nil
        }
        return IncomingMessage(
            body: message.body.array,
            messageId: optional(GL_FLAG_MESSAGE_ID, properties.message_id),
            type: optional(GL_FLAG_TYPE, properties.type),
            correlationId: optional(GL_FLAG_CORRELATION_ID, properties.correlation_id),
            replyTo: optional(GL_FLAG_REPLY_TO, properties.reply_to),
            headers: (properties._flags & GL_FLAG_HEADERS) != 0 ? properties.headers.stringValues : [:],
            exchange: exchange,
            routingKey: routingKey,
            redelivered: redelivered,
            deliveryTag: tag,
            generation: generation,
            queue: consumerQueue
        )
    }

    // MARK: Errors

    private func check(_ reply: amqp_rpc_reply_t, _ context: String, kind: AMQPError.Kind) throws(AMQPError) {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            abandon()
            throw AMQPError(
                kind == .serverRefused ? .connectionClosed : kind,
                code: reply.library_error,
                reason: "\(context): \(AMQPConnection.statusText(reply.library_error))"
            )
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            var code: Int32 = 0
            var text = "server exception"
            if let decoded = reply.reply.decoded {
                if reply.reply.id == GL_CHANNEL_CLOSE {
                    let close = decoded.load(as: amqp_channel_close_t.self)
                    code = Int32(close.reply_code)
                    text = close.reply_text.string
                    if let state { _ = gridloop_amqp_send_channel_close_ok(state, channel) }
                } else if reply.reply.id == GL_CONNECTION_CLOSE {
                    let close = decoded.load(as: amqp_connection_close_t.self)
                    code = Int32(close.reply_code)
                    text = close.reply_text.string
                    if let state { _ = gridloop_amqp_send_connection_close_ok(state) }
                }
            }
            abandon()
            throw AMQPError(kind, code: code, reason: "\(context): \(text)")
        default:
            abandon()
            throw AMQPError(kind, reason: "\(context): no reply")
        }
    }

    static func statusText(_ status: Int32) -> String {
        guard let text = amqp_error_string2(status) else { return "status \(status)" }
        return String(cString: text)
    }

    static func timeval(_ duration: Duration) -> timeval {
        let (seconds, attoseconds) = duration.components
        return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
