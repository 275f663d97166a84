/// A message to publish: persistent and mandatory unless said otherwise.
package struct OutgoingMessage: Sendable, Equatable {
    package var exchange: String
    package var routingKey: String
    package var body: [UInt8]
    /// Also used to match a `basic.return` to the publish it refuses.
    package var messageId: String
    package var type: String?
    package var correlationId: String?
    package var replyTo: String?
    package var headers: [String: String]
    package var contentType: String
    package var persistent: Bool
    /// Unroutable messages come back (`basic.return`) and count as failed.
    package var mandatory: Bool

    package init(
        exchange: String,
        routingKey: String,
        body: [UInt8],
        messageId: String,
        type: String? = nil,
        correlationId: String? = nil,
        replyTo: String? = nil,
        headers: [String: String] = [:],
        contentType: String = "application/json",
        persistent: Bool = true,
        mandatory: Bool = true
    ) {
        self.exchange = exchange
        self.routingKey = routingKey
        self.body = body
        self.messageId = messageId
        self.type = type
        self.correlationId = correlationId
        self.replyTo = replyTo
        self.headers = headers
        self.contentType = contentType
        self.persistent = persistent
        self.mandatory = mandatory
    }
}

/// What became of one published message.
package enum PublishOutcome: Sendable, Equatable {
    /// The broker confirmed it (it is stored and routed).
    case confirmed
    /// Nacked, returned as unroutable, or unconfirmed when the connection went: publish again.
    case failed(String)

    package var isConfirmed: Bool { self == .confirmed }

    /// The reason of a mandatory message the broker returned because no queue is bound for it
    /// (its return's code and text follow in parentheses).
    package static let returnedReason = "returned as unroutable"
    /// The reason of a message the broker nacked.
    package static let nackedReason = "nacked by the broker"
    /// The reason of a declare the broker refused with 406 PRECONDITION_FAILED (the queue or
    /// exchange exists with other arguments).
    package static let preconditionFailedReason = "declare refused (PRECONDITION_FAILED)"

    /// Whether the broker answered about this message and refused it (returned it as unroutable
    /// or nacked it): the broker works and the message itself is the problem. Any other failure
    /// (not connected, unconfirmed when the connection went or the confirm timed out) says
    /// nothing about the message.
    package var isRefusal: Bool {
        guard case .failed(let reason) = self else { return false }
        return reason.hasPrefix(Self.returnedReason) || reason.hasPrefix(Self.nackedReason)
    }
}

/// A delivered message. Settle it through the consumer that delivered it.
package struct IncomingMessage: Sendable {
    package var body: [UInt8]
    package var messageId: String?
    package var type: String?
    package var correlationId: String?
    package var replyTo: String?
    package var headers: [String: String]
    package var exchange: String
    package var routingKey: String
    package var redelivered: Bool
    package var deliveryTag: UInt64
    /// Which connection delivered it: a settle for an older connection is void (the broker has
    /// already requeued the message).
    package var generation: Int
    /// The queue it was consumed from.
    package var queue: String
}

/// How a consumer settles a delivery.
package enum Disposition: Sendable, Equatable {
    /// Done (committed): remove it from the queue.
    case ack
    /// Give it back (`requeue: true`) or dead-letter it through the queue's DLX (`false`).
    case reject(requeue: Bool)
}
