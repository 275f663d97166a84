/// A failure talking to the broker: what kind, the library's status (or the server's reply
/// code) and a reason a person can act on.
package struct AMQPError: Error, Sendable, CustomStringConvertible {
    /// The closed set of failure kinds.
    package enum Kind: String, Sendable {
        /// The connection URL is malformed.
        case invalidURL
        /// TCP connect or login failed.
        case connectionFailed
        /// The connection or channel was closed (by the server, the network or a missed heartbeat).
        case connectionClosed
        /// The server refused an operation (e.g. a queue declared with other arguments).
        case serverRefused
        /// A library call failed.
        case library
        /// Not connected right now (while reconnecting).
        case notConnected
        /// Waited too long for the broker.
        case timeout
        /// Our consumer was cancelled by the server (queue deleted, node down).
        case consumerCancelled
        /// The client is shutting down.
        case shutdown
        /// The vhost lacks GridLoop's exchanges or queues (the wrong vhost, or the services
        /// never started against it).
        case topologyMissing
    }

    package var kind: Kind
    /// librabbitmq's status code, or the AMQP reply code of a server close; 0 when neither.
    package var code: Int32
    package var reason: String

    package init(_ kind: Kind, code: Int32 = 0, reason: String) {
        self.kind = kind
        self.code = code
        self.reason = reason
    }

    package var description: String {
        code == 0 ? "AMQP \(kind.rawValue): \(reason)" : "AMQP \(kind.rawValue) (\(code)): \(reason)"
    }
}
