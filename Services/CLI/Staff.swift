import ArgumentParser
import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport

/// `gridloop staff …`: work a unit's queue.
struct Staff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Work a unit's queue: take, escalate, resolve.", subcommands: [Take.self, Escalate.self, Resolve.self])

    /// `gridloop staff escalate REQUEST --staff ID --reason …`: up to the next tier.
    struct Escalate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a request up one tier: grid → street centre → district department.",
            discussion: "The district tier escalates no further: its items stay open until solved."
        )

        @Argument(help: "The request id.") var request: String
        @Option(help: "Your staff id.") var staff: String
        @Option(help: "Why this tier cannot settle it (required; it goes on the trail).") var reason: String
        @Option(help: "The unit you act for, e.g. grid:guanghua-3 (checked against the assignment).") var unit: String?

        func run() async throws {
            let configuration = try CLIEnvironment.configuration()
            let actingFor: UnitRef?
            do { actingFor = try unit.map { try UnitRef(parsing: $0) } } catch { throw CLIFailure("\(error)") }
            let command = StaffCommand(action: .escalate, requestId: request, staff: staff, unit: actingFor, note: reason)
            do {
                let reply = try await call(
                    command, type: MessageType.staffCommand, exchange: GridLoopExchange.commands, routingKey: "staff.escalate",
                    requestId: request, options: configuration.amqp, timeout: .seconds(15)
                ).orFail()
                print("\(reply.requestId ?? request) \(reply.message ?? "escalated")")
            } catch let error as AMQPError {
                throw CLIFailure("cannot escalate: \(error)")
            }
        }
    }

    /// `gridloop staff take --unit grid:ID --staff ID`: take the next assignment and claim it.
    struct Take: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take the next assignment of a unit and claim it.")

        @Option(help: "The unit, e.g. grid:guanghua-3, street:xiping, district:power-supply.") var unit: String
        @Option(help: "Your staff id.") var staff: String
        @Option(help: "Seconds to wait for an assignment.") var wait = 10
        @Flag(help: "Print the assignment as JSON.") var json = false

        func run() async throws {
            let configuration = try CLIEnvironment.configuration()
            let unitRef: UnitRef
            do { unitRef = try UnitRef(parsing: unit) } catch { throw CLIFailure("\(error)") }
            let staff = self.staff
            let wait = self.wait
            let result: (RequestAssigned, CommandReply)? = try await AMQPSession.run(options: configuration.amqp) { session in
                try session.declare(GridLoopTopology.unit(unitRef))
                let deadline = ContinuousClock.now + .seconds(wait)
                while true {
                    let remaining = deadline - ContinuousClock.now
                    guard let message = try session.take(queue: unitRef.queueName, wait: max(remaining, .zero)) else { return nil }
                    let assignment: MessageEnvelope<RequestAssigned>
                    do {
                        assignment = try WireJSON.decode(MessageEnvelope<RequestAssigned>.self, from: message.body)
                    } catch {
                        try session.settle(message, .reject(requeue: false))
                        FileHandle.standardError.write(Data("an unreadable assignment was dead-lettered: \(error)\n".utf8))
                        continue
                    }
                    let command = StaffCommand(action: .claim, requestId: assignment.payload.requestId, staff: staff, unit: unitRef)
                    let envelope = MessageEnvelope(type: MessageType.staffCommand, requestId: command.requestId, correlationId: assignment.correlationId, payload: command)
                    let reply = try session.call(try OutgoingMessage(envelope: envelope, exchange: GridLoopExchange.commands, routingKey: "staff.claim"))
                    let answer = try WireJSON.decode(MessageEnvelope<CommandReply>.self, from: reply.body).payload
                    // The queue delivers, PostgreSQL keeps the state: once routing has answered,
                    // this copy has done its job, whether claimed now or already moved on.
                    try session.settle(message, .ack)
                    if answer.ok || !["conflict", "forbidden", "not_found"].contains(answer.code ?? "") {
                        return (assignment.payload, answer)
                    }
                    FileHandle.standardError.write(Data("skipped a stale assignment of \(assignment.payload.requestId): \(answer.message ?? "")\n".utf8))
                }
            }
            guard let (assignment, reply) = result else {
                throw CLIFailure("no assignment in \(unitRef) within \(wait) s")
            }
            _ = try reply.orFail()
            if json {
                print(String(decoding: try WireJSON.encode(assignment), as: UTF8.self))
            } else {
                print("""
                request     \(assignment.requestId)
                unit        \(assignment.unit)
                category    \(assignment.category)
                reason      \(assignment.reason)
                description \(assignment.description)
                claimed by  \(staff)
                """)
            }
        }
    }

    /// `gridloop staff resolve REQUEST --staff ID --note …`.
    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Report a claimed request done.")

        @Argument(help: "The request id.") var request: String
        @Option(help: "Your staff id (the one who claimed it).") var staff: String
        @Option(help: "What was done.") var note: String

        func run() async throws {
            let configuration = try CLIEnvironment.configuration()
            let command = StaffCommand(action: .resolve, requestId: request, staff: staff, note: note)
            do {
                let reply = try await call(
                    command, type: MessageType.staffCommand, exchange: GridLoopExchange.commands, routingKey: "staff.resolve",
                    requestId: request, options: configuration.amqp, timeout: .seconds(15)
                ).orFail()
                print("\(reply.requestId ?? request) \(reply.state?.rawValue ?? "resolved")")
            } catch let error as AMQPError {
                throw CLIFailure("cannot resolve: \(error)")
            }
        }
    }
}
