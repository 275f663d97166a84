import GridLoopAMQP
import GridLoopDomain

/// The exchanges GridLoop publishes to.
package enum GridLoopExchange {
    /// Topic exchange of every event; routing key = event type (`request.received`, …).
    package static let events = "gridloop.events"
    /// Submissions from the CLI and other systems; routing key `submission.create`.
    package static let submissions = "gridloop.submissions"
    /// Staff commands to routing; routing key `staff.<action>`.
    package static let commands = "gridloop.commands"
    /// Assignments to units; routing key `<tier>.<unit>` (e.g. `grid.guanghua-3`).
    package static let assignments = "gridloop.assignments"
    /// Dead letters; routing key = the queue the message died in.
    package static let dead = "gridloop.dead"
}

/// The queues of the services (each unit's queue is ``UnitRef/queueName``).
package enum GridLoopQueue {
    package static let intakeSubmissions = "intake.submissions"
    package static let intakeEvents = "intake.events"
    package static let routingRequests = "routing.requests"
    package static let routingCommands = "routing.commands"
    package static let notificationEvents = "notification.events"
    package static let reportingEvents = "reporting.events"
    /// Every service queue (each keeps its dead letters in `<queue>.dead`).
    package static let all = [intakeSubmissions, intakeEvents, routingRequests, routingCommands, notificationEvents, reportingEvents]

    /// Where dead letters of `queue` are kept.
    package static func dead(_ queue: String) -> String { "\(queue).dead" }
}

/// The broker topology, declared idempotently by whoever needs a part of it.
package enum GridLoopTopology {
    /// After this many deliveries a message is dead-lettered (quorum queues' `x-delivery-limit`).
    package static let deliveryLimit = 20

    /// Every exchange.
    package static let exchanges = AMQPTopology(exchanges: [
        .init(name: GridLoopExchange.events),
        .init(name: GridLoopExchange.submissions),
        .init(name: GridLoopExchange.commands),
        .init(name: GridLoopExchange.assignments),
        .init(name: GridLoopExchange.dead),
    ])

    /// A durable quorum queue with its dead-letter queue, bound as given.
    package static func queue(_ name: String, bindings: [(exchange: String, key: String)]) -> AMQPTopology {
        AMQPTopology(
            queues: [
                .init(name: name, quorum: true, deadLetterExchange: GridLoopExchange.dead, deliveryLimit: deliveryLimit),
                .init(name: GridLoopQueue.dead(name), quorum: true),
            ],
            bindings: bindings.map { .init(queue: name, exchange: $0.exchange, routingKey: $0.key) }
                + [.init(queue: GridLoopQueue.dead(name), exchange: GridLoopExchange.dead, routingKey: name)]
        )
    }

    /// intake: submissions in, request events in (status and trail): every `request.*` event
    /// but `request.received`, which intake writes itself with the request (bound type by type;
    /// the `request.#` of earlier versions is removed).
    package static let intakeSubmissions = exchanges.merging(queue(GridLoopQueue.intakeSubmissions, bindings: [(GridLoopExchange.submissions, "#")]))
    package static let intakeEvents: AMQPTopology = {
        var topology = exchanges.merging(
            queue(
                GridLoopQueue.intakeEvents,
                bindings: [
                    (GridLoopExchange.events, MessageType.requestAssigned),
                    (GridLoopExchange.events, MessageType.requestClaimed),
                    (GridLoopExchange.events, MessageType.requestEscalated),
                    (GridLoopExchange.events, MessageType.requestReturned),
                    (GridLoopExchange.events, MessageType.requestReassigned),
                    (GridLoopExchange.events, MessageType.requestReopened),
                    (GridLoopExchange.events, MessageType.requestSummoned),
                    (GridLoopExchange.events, MessageType.summonsAcknowledged),
                    (GridLoopExchange.events, MessageType.summonsDone),
                    (GridLoopExchange.events, MessageType.streetInformed),
                    (GridLoopExchange.events, MessageType.deadlineWarning),
                    (GridLoopExchange.events, MessageType.requestOverdue),
                    (GridLoopExchange.events, MessageType.requestResolved),
                    (GridLoopExchange.events, MessageType.requestClosed),
                    (GridLoopExchange.events, MessageType.requestRejected),
                    (GridLoopExchange.events, MessageType.requestMerged),
                    (GridLoopExchange.events, MessageType.requestUnlinked),
                    (GridLoopExchange.events, MessageType.requestRecategorized),
                ]
            )
        )
        topology.unbindings = [.init(queue: GridLoopQueue.intakeEvents, exchange: GridLoopExchange.events, routingKey: "request.#")]
        return topology
    }()
    /// routing: new requests and staff commands.
    package static let routingRequests = exchanges.merging(
        queue(GridLoopQueue.routingRequests, bindings: [(GridLoopExchange.events, MessageType.requestReceived)])
    )
    package static let routingCommands = exchanges.merging(queue(GridLoopQueue.routingCommands, bindings: [(GridLoopExchange.commands, "#")]))
    /// notification and reporting: every event.
    package static let notificationEvents = exchanges.merging(queue(GridLoopQueue.notificationEvents, bindings: [(GridLoopExchange.events, "#")]))
    package static let reportingEvents = exchanges.merging(queue(GridLoopQueue.reportingEvents, bindings: [(GridLoopExchange.events, "#")]))

    /// A unit's assignment queue.
    package static func unit(_ unit: UnitRef) -> AMQPTopology {
        exchanges.merging(queue(unit.queueName, bindings: [(GridLoopExchange.assignments, unit.routingKey)]))
    }

    /// Everything but unit queues.
    package static let services = intakeSubmissions.merging(intakeEvents).merging(routingRequests).merging(routingCommands)
        .merging(notificationEvents).merging(reportingEvents)
}
