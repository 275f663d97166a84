import ArgumentParser
import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopServiceSupport

/// `gridloop visit …`: household visits (入户走访), the grid worker's duty.
struct Visit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Household visits by grid workers.", subcommands: [Log.self])

    /// `gridloop visit log --staff ID --household H [--at TIME] [--note …] [--id ID]`.
    struct Log: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a household visit (published as a visit.logged event, confirmed by the broker).",
            discussion: "The same --id twice counts once (reporting drops the repeat); without it, a new id is made."
        )

        @Option(help: "The grid worker's staff id.") var staff: String
        @Option(help: "The household visited.") var household: String
        @Option(help: "When (ISO 8601, e.g. 2026-11-20T09:30:00Z; default now).") var at: String?
        @Option(help: "What was found.") var note: String?
        @Option(help: "A stable id for this visit (e.g. from a field app), so a re-send counts once.") var id: String?

        func run() async throws {
            guard UnitRef.isValidID(staff) else { throw CLIFailure("--staff '\(staff)' is not a staff id") }
            guard UnitRef.isValidID(household) else { throw CLIFailure("--household '\(household)' is not a household id") }
            let visitedAt: Date
            if let at {
                guard let parsed = Timestamp.parse(at) else { throw CLIFailure("--at '\(at)' is not an ISO 8601 time like 2026-11-20T09:30:00Z") }
                visitedAt = parsed
            } else {
                visitedAt = Date()
            }
            let visitId = id ?? MessageID.make()
            let payload = VisitLogged(visitId: visitId, staff: staff, householdId: household, visitedAt: visitedAt, note: note)
            var envelope = MessageEnvelope(type: MessageType.visitLogged, requestId: nil, correlationId: visitId, payload: payload)
            envelope.messageId = "visit:\(visitId)"
            envelope.occurredAt = visitedAt
            let configuration = try CLIEnvironment.configuration()
            let message = try OutgoingMessage(envelope: envelope, exchange: GridLoopExchange.events, routingKey: MessageType.visitLogged)
            let outcome: PublishOutcome
            do {
                outcome = try await CLIConnections.session(options: configuration.amqp) { session in try session.publish(message) }
            } catch let error as AMQPError {
                throw CLIFailure("cannot log the visit: \(error)")
            }
            guard outcome.isConfirmed else { throw CLIFailure("the broker did not confirm the visit: \(outcome)") }
            print("visit \(visitId) logged")
        }
    }
}
