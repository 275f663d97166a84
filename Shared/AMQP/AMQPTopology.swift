/// Exchanges, queues and bindings that a service declares (idempotently) on every connect.
package struct AMQPTopology: Sendable, Equatable {
    /// An exchange to declare.
    package struct Exchange: Sendable, Equatable {
        package var name: String
        /// `topic`, `direct`, `fanout` or `headers`.
        package var type: String
        package init(name: String, type: String = "topic") {
            self.name = name
            self.type = type
        }
    }

    /// A durable queue to declare.
    package struct Queue: Sendable, Equatable {
        package var name: String
        /// Quorum (replicated, with a delivery limit) or classic.
        package var quorum: Bool
        /// Where rejected or over-delivered messages go, with the queue name as routing key.
        package var deadLetterExchange: String?
        /// Quorum queues only: after this many deliveries a message is dead-lettered.
        package var deliveryLimit: Int?

        package init(name: String, quorum: Bool = true, deadLetterExchange: String? = nil, deliveryLimit: Int? = nil) {
            self.name = name
            self.quorum = quorum
            self.deadLetterExchange = deadLetterExchange
            self.deliveryLimit = deliveryLimit
        }
    }

    /// A binding of a queue to an exchange.
    package struct Binding: Sendable, Equatable, CustomStringConvertible {
        package var queue: String
        package var exchange: String
        package var routingKey: String
        package init(queue: String, exchange: String, routingKey: String) {
            self.queue = queue
            self.exchange = exchange
            self.routingKey = routingKey
        }

        /// `'queue' to 'exchange' with 'key'`, as errors name it.
        package var description: String { "'\(queue)' to '\(exchange)' with '\(routingKey)'" }
    }

    package var exchanges: [Exchange]
    package var queues: [Queue]
    package var bindings: [Binding]
    /// Bindings an earlier version declared and this one removes (after declaring its own).
    /// Removing one that is not there is no error (RabbitMQ answers `unbind-ok`).
    package var unbindings: [Binding]

    package init(exchanges: [Exchange] = [], queues: [Queue] = [], bindings: [Binding] = [], unbindings: [Binding] = []) {
        self.exchanges = exchanges
        self.queues = queues
        self.bindings = bindings
        self.unbindings = unbindings
    }

    /// Both topologies together, each exchange, queue and binding once, in first-seen order
    /// (declaring is idempotent, but a replay after every reconnect should not grow with
    /// every unit that shares the exchanges).
    package func merging(_ other: AMQPTopology) -> AMQPTopology {
        func union<T: Equatable>(_ left: [T], _ right: [T]) -> [T] {
            var result = left
            for item in right where !result.contains(item) { result.append(item) }
            return result
        }
        return AMQPTopology(
            exchanges: union(exchanges, other.exchanges),
            queues: union(queues, other.queues),
            bindings: union(bindings, other.bindings),
            unbindings: union(unbindings, other.unbindings)
        )
    }

    /// Nothing to declare.
    package var isEmpty: Bool { exchanges.isEmpty && queues.isEmpty && bindings.isEmpty && unbindings.isEmpty }
}
