import Foundation
import GridLoopAMQP
import GridLoopAuth
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import Logging
import PostgresNIO
import Synchronization

/// routing's workflow: the first assignment of each new request (``Workflow/received(_:)``,
/// in Placement.swift), staff commands (here: once per message id, in one transaction with
/// their events and reply; the rules in Commands/), and the deadlines (``SLASweeper``).
final class Workflow: Sendable {
    let postgres: PostgresClient
    let outbox: Outbox
    let relay: OutboxRelay
    let publisher: AMQPPublisher
    let org: OrgStore
    /// Verifies the token every staff command carries.
    let authenticator: Authenticator
    let inbox = Inbox(schema: RoutingSchema.name)
    let timers = SLATimers()
    /// Units whose queue this process has declared.
    let declaredUnits = Mutex<Set<UnitRef>>([])
    /// How far back a request counts as a possible duplicate (`ROUTING_DUPLICATE_WINDOW_HOURS`).
    let duplicateWindow: Duration
    /// When many reports become one incident.
    let incidents: IncidentRules

    init(
        postgres: PostgresClient,
        outbox: Outbox,
        relay: OutboxRelay,
        publisher: AMQPPublisher,
        org: OrgStore,
        authenticator: Authenticator,
        duplicateWindow: Duration = .seconds(72 * 3600),
        incidents: IncidentRules = IncidentRules()
    ) {
        self.authenticator = authenticator
        self.duplicateWindow = duplicateWindow
        self.incidents = incidents
        self.postgres = postgres
        self.outbox = outbox
        self.relay = relay
        self.publisher = publisher
        self.org = org
    }

    /// Routing's SQL on `connection`, in its transaction.
    func store(on connection: PostgresConnection, logger: Logger) -> PostgresRoutingStore {
        PostgresRoutingStore(connection: connection, logger: logger, workflow: self)
    }

    /// `staff.command` from the broker: applied as ``execute(_:messageId:correlationId:replyTo:logger:residentAt:)``.
    func command(_ delivery: Delivery) async throws {
        let envelope = try delivery.decode(StaffCommand.self)
        _ = try await execute(
            envelope.payload,
            messageId: envelope.messageId,
            correlationId: envelope.correlationId,
            replyTo: delivery.message.replyTo,
            logger: delivery.logger
        )
    }

    /// Applies a staff command once per `messageId` (AMQP message id or HTTP Idempotency-Key),
    /// in one transaction with its events and its reply; `nil` if that id was applied before.
    /// A refused command is rolled back to a savepoint: it changes nothing but the reply.
    /// A command whose token proves nobody (or someone else) is answered but not recorded as
    /// applied, so it can be sent again with a good token under the same id.
    ///
    /// `residentAt`: the resident's own verdict through a signed follow-up link (proven by the
    /// link, not a token), valid only while the request is at that version.
    func execute(
        _ command: StaffCommand,
        messageId: String,
        correlationId: String,
        replyTo: String?,
        logger: Logger,
        residentAt: Int? = nil
    ) async throws -> CommandReply? {
        var command = command
        var unproven: CommandRefused?
        if residentAt == nil {
            do { command = try await authenticate(command) } catch { unproven = error }
        }
        // Its events and reply go to the relay once committed.
        let reply = try await relay.handingOff {
            try await postgres.transaction(logger: logger) { [self, command, unproven, residentAt] connection -> CommandReply? in
                let outcome: CommandReply
                if let unproven {
                    outcome = CommandReply(ok: false, requestId: command.requestId, code: unproven.code.description, message: unproven.message)
                } else {
                    guard try await inbox.claim(messageId, type: MessageType.staffCommand, on: connection, logger: logger) else { return nil }
                    try await connection.query("SAVEPOINT command", logger: logger)
                    do {
                        outcome = try await StaffCommands.apply(
                            command,
                            correlationId: correlationId,
                            residentAt: residentAt,
                            store: store(on: connection, logger: logger)
                        )
                    } catch let refused as CommandRefused {
                        try await connection.query("ROLLBACK TO SAVEPOINT command", logger: logger)
                        outcome = CommandReply(ok: false, requestId: command.requestId, code: refused.code.description, message: refused.message)
                    }
                }
                if let replyTo {
                    var message = MessageEnvelope(
                        type: MessageType.commandReply,
                        requestId: command.requestId,
                        correlationId: correlationId,
                        payload: outcome
                    )
                    // An unproven command's answer has its own id: the same id sent again with a good token gets its own.
                    message.messageId = "\(messageId):reply" + (unproven == nil ? "" : ":unproven")
                    var outgoing = try OutgoingMessage(envelope: message, exchange: "", routingKey: replyTo)
                    outgoing.correlationId = messageId
                    try await outbox.add(outgoing, on: connection, logger: logger)
                }
                return outcome
            }
        }
        if let reply {
            logger.info(
                "staff command handled",
                metadata: ["command": "\(command.action.rawValue)", "staff": "\(command.staff)", "ok": "\(reply.ok)", "code": "\(reply.code ?? "-")"]
            )
        }
        return reply
    }
}
