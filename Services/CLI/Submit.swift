import ArgumentParser
import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport

/// `gridloop submit`: publish a submission (with a confirm) and print the new request's id.
struct Submit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Submit a resident's request.")

    @Option(help: "Category, e.g. power, water, housing.") var category: String?
    @Option(help: "What the resident reports.") var description: String?
    @Option(help: "Grid id of the request's location.") var grid: String?
    @Option(help: "Household id of the request's location.") var household: String?
    @Option(help: "Address of the request's location.") var address: String?
    @Option(help: "Reporter's name.") var name: String?
    @Option(help: "Reporter's phone.") var phone: String?
    @Option(help: "Reporter's email, for updates by email (optional).") var email: String?
    @Option(help: "Language of the reporter's notifications: zh (default) or en.") var language: String?
    @Option(help: "Channel: grid-worker, hotline, web, cli, open311.") var channel = "cli"
    @Option(help: "Staff id of whoever collected it.") var by: String?
    @Option(help: "The proactive task (未诉先办) whose household check found this hazard (gridloop tasks list).") var task: String?
    @Option(help: "Idempotency key: the same key never makes a second request (default: random).") var idempotencyKey: String?
    @Flag(help: "Print the submission id after the broker's confirm instead of waiting for intake's reply.") var noWait = false
    @Option(help: "Seconds to wait for intake's reply.") var timeout = 15
    @Flag(help: "Fail instead of keeping the submission in the offline spool when the broker cannot be reached.") var noSpool = false

    func run() async throws {
        let configuration = try CLIEnvironment.configuration()
        let location = (grid ?? household ?? address) == nil ? nil : Location(gridId: grid, householdId: household, address: address)
        let draft = SubmissionDraft(
            category: category,
            description: description,
            location: location,
            reporter: .init(name: name, phone: phone, email: email, language: language),
            channel: channel,
            submittedBy: by,
            taskId: task
        )
        let key = idempotencyKey ?? MessageID.make()
        let payload = SubmissionPayload(idempotencyKey: key, submission: draft)
        do {
            if noWait {
                try await Spool.send(payload, reportedAt: nil, options: configuration.amqp)
                print("submitted \(key) (confirmed by the broker; intake assigns the request id)")
                return
            }
            let reply = try await call(
                payload,
                type: MessageType.submissionCreate,
                exchange: GridLoopExchange.submissions,
                routingKey: MessageType.submissionCreate,
                requestId: nil,
                options: configuration.amqp,
                timeout: .seconds(timeout)
            ).orFail()
            print(reply.requestId ?? "")
        } catch let failure as DependencyFailure where !failure.permanent && !noSpool {
            // Offline (a household visit without signal): keep it, with its time and key, for
            // `gridloop spool flush` — if intake would take it (what it would refuse, refuse now).
            // A broker that refuses the login or lacks GridLoop's topology is no outage: that
            // is reported, not spooled for ever.
            if case .failure(let invalid) = draft.validate() {
                throw CLIFailure(
                    "the broker cannot be reached, and the submission is not valid anyway:\n"
                        + invalid.errors.map { "  \($0)" }.joined(separator: "\n")
                )
            }
            let file = try Spool.directory().keep(payload, reportedAt: Date())
            print("spooled \(key): the broker cannot be reached (\(failure.reason)); `gridloop spool flush` sends it (\(file))")
        } catch let error as AMQPError {
            throw CLIFailure("cannot submit: \(error)")
        }
    }
}
