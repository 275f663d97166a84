import ArgumentParser
import Foundation
import GridLoopAMQP
import GridLoopAuth
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport

/// `gridloop staff …`: work a unit's queue.
struct Staff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work a unit's queue: list its inbox, take, escalate, resolve.",
        subcommands: [
            InboxList.self, Take.self, Escalate.self, Return.self, Summon.self, Reassign.self, Resolve.self, Feedback.self, Reject.self, Merge.self,
            Link.self, Unlink.self, Recategorize.self,
        ]
    )

    /// `gridloop staff reassign REQUEST --staff ID --to tier:id`: within a tier, by a leader.
    struct Reassign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a request to another unit of the same tier (grid leaders, street and department officers, supervisors)."
        )

        @Argument(help: "The request id.") var request: String
        @Option(help: "Your staff id.") var staff: String
        @Option(help: "The unit to move it to, e.g. grid:hongxing-3.") var to: String
        @Option(help: "Why.") var reason: String?

        func run() async throws {
            let target: UnitRef
            do { target = try UnitRef(parsing: to) } catch { throw CLIFailure("\(error)") }
            try await sendStaffCommand(StaffCommand(action: .reassign, requestId: request, staff: staff, note: reason, target: target))
        }
    }

    /// `gridloop staff reject REQUEST --staff ID --reason …`.
    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close an invalid request, with the reason.")

        @Argument(help: "The request id.") var request: String
        @Option(help: "Your staff id.") var staff: String
        @Option(help: "Why it is invalid (required).") var reason: String

        func run() async throws {
            try await sendStaffCommand(StaffCommand(action: .reject, requestId: request, staff: staff, note: reason))
        }
    }

    /// `gridloop staff merge REQUEST --into OTHER --staff ID --reason …`.
    struct Merge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close a duplicate into the open request it repeats.")

        @Argument(help: "The duplicate request's id.") var request: String
        @Option(help: "The request it duplicates.") var into: String
        @Option(help: "Your staff id.") var staff: String
        @Option(help: "Why (required).") var reason: String

        func run() async throws {
            try await sendStaffCommand(StaffCommand(action: .merge, requestId: request, staff: staff, note: reason, into: into))
        }
    }

    /// `gridloop staff link REQUEST --into LEAD --staff ID --reason …`: 分析研判 by hand.
    struct Link: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Link a report into the incident led by another request of your street (street officers).",
            discussion: """
                One problem reported from several grids is handled once, at the street: the report is merged into the lead \
                (an incident is opened if the lead has none) and its resident told; when the incident spans grids, a lead still \
                at a grid moves up to the street.
                """
        )

        @Argument(help: "The report to link.") var request: String
        @Option(help: "The incident's lead request.") var into: String
        @Option(help: "Your staff id (a street officer).") var staff: String
        @Option(help: "Why it is the same problem (required).") var reason: String

        func run() async throws {
            try await sendStaffCommand(StaffCommand(action: .link, requestId: request, staff: staff, note: reason, into: into))
        }
    }

    /// `gridloop staff recategorize REQUEST --staff ID --category C [--reason …] [--suggested C]`.
    struct Recategorize: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Correct a request's category (the unit holding it); say whether you follow the classifier's suggestion.",
            discussion: "The correction goes on the trail and is counted, with whether it followed the suggestion shown by `staff take`."
        )

        @Argument(help: "The request id.") var request: String
        @Option(help: "Your staff id.") var staff: String
        @Option(help: "The corrected category.") var category: String
        @Option(help: "Why.") var reason: String?
        @Option(help: "The category the classifier suggested to you, if one was shown.") var suggested: String?
        @Option(help: "Its confidence (0–1), if shown.") var confidence: Double?

        func run() async throws {
            try await sendStaffCommand(
                StaffCommand(
                    action: .recategorize,
                    requestId: request,
                    staff: staff,
                    note: reason,
                    category: category,
                    suggested: suggested,
                    suggestedConfidence: confidence
                )
            )
        }
    }

    /// `gridloop staff unlink REQUEST --staff ID --reason …`.
    struct Unlink: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take a report out of the incident it was linked into: worked on its own again at its grid (street officers)."
        )

        @Argument(help: "The linked report.") var request: String
        @Option(help: "Your staff id (a street officer).") var staff: String
        @Option(help: "Why it is a different problem (required).") var reason: String

        func run() async throws {
            try await sendStaffCommand(StaffCommand(action: .unlink, requestId: request, staff: staff, note: reason))
        }
    }

    /// `gridloop staff summon REQUEST --staff ID --department power-supply [--department …]`: 吹哨报到.
    struct Summon: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Summon one or more district departments to a request the street centre holds (吹哨报到).",
            discussion: "Each department gets its own assignment and must acknowledge in time; the request resolves when every one has reported done."
        )

        @Argument(help: "The request id.") var request: String
        @Option(help: "Your staff id (the street officer who claimed it).") var staff: String
        @Option(name: .customLong("department"), help: "A department id; repeat for several.") var departments: [String]
        @Option(help: "What they are summoned for.") var note: String?

        func run() async throws {
            try await sendStaffCommand(StaffCommand(action: .summon, requestId: request, staff: staff, note: note, departments: departments))
        }
    }

    /// `gridloop staff return REQUEST --staff ID --reason …`: "not ours", to the street centre.
    struct Return: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Return a request that is not your unit's to the street centre for arbitration.",
            discussion: "It is never closed this way: the street centre decides who handles it."
        )

        @OptionGroup var actor: ActingStaff
        @Option(help: "Why it is not yours (required; it goes on the trail).") var reason: String

        func run() async throws {
            try await sendStaffCommand(
                StaffCommand(action: .return, requestId: actor.request, staff: actor.staff, unit: try actor.actingFor(), note: reason)
            )
        }
    }

    /// `gridloop staff feedback REQUEST --staff ID --satisfaction …`: close the loop or reopen.
    struct Feedback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record the resident's feedback on a resolved request (反馈核查).",
            discussion:
                "satisfied or basically-satisfied closes it; unsatisfied reopens it at the unit that resolved it, one tier up the second time."
        )

        @Argument(help: "The request id.") var request: String
        @Option(help: "Your staff id (usually the grid worker).") var staff: String
        @Option(help: "satisfied, basically-satisfied or unsatisfied.") var satisfaction: String
        @Option(help: "What the on-site check found, what the resident said.") var note: String?
        @Option(help: "Does the resident say the problem is solved: yes or no (default: yes unless unsatisfied).") var solved: String?

        func run() async throws {
            let solvedFlag: Bool?
            switch solved {
            case nil: solvedFlag = nil
            case "yes": solvedFlag = true
            case "no": solvedFlag = false
            default: throw CLIFailure("--solved must be yes or no")
            }
            guard let verdict = Satisfaction(rawValue: satisfaction) else {
                throw CLIFailure("--satisfaction must be one of \(Satisfaction.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            try await sendStaffCommand(
                StaffCommand(action: .feedback, requestId: request, staff: staff, note: note, satisfaction: verdict, solved: solvedFlag)
            )
        }
    }

    /// `gridloop staff escalate REQUEST --staff ID --reason …`: up to the next tier.
    struct Escalate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a request up one tier: grid → street centre → district department.",
            discussion: "The district tier escalates no further: its items stay open until solved."
        )

        @OptionGroup var actor: ActingStaff
        @Option(help: "Why this tier cannot settle it (required; it goes on the trail).") var reason: String

        func run() async throws {
            try await sendStaffCommand(
                StaffCommand(action: .escalate, requestId: actor.request, staff: actor.staff, unit: try actor.actingFor(), note: reason)
            )
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
            let token = try CLIEnvironment.staffToken()
            // Taking consumes the queue: make sure routing will not refuse every claim as someone else's.
            if let subject = AccessClaims.unverifiedSubject(of: token), subject != staff {
                throw CLIFailure("GRIDLOOP_TOKEN is \(subject)'s, not \(staff)'s")
            }
            let result: (RequestAssigned, CommandReply)? = try await CLIConnections.session(options: configuration.amqp) { session in
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
                    let command = StaffCommand(action: .claim, requestId: assignment.payload.requestId, staff: staff, unit: unitRef, token: token)
                    let envelope = MessageEnvelope(
                        type: MessageType.staffCommand,
                        requestId: command.requestId,
                        correlationId: assignment.correlationId,
                        payload: command
                    )
                    let reply = try session.call(
                        try OutgoingMessage(envelope: envelope, exchange: GridLoopExchange.commands, routingKey: "staff.claim")
                    )
                    let answer = try WireJSON.decode(MessageEnvelope<CommandReply>.self, from: reply.body).payload
                    // Not signed in: the assignment goes back for whoever is.
                    guard answer.code != "unauthenticated" else {
                        try session.settle(message, .reject(requeue: true))
                        return (assignment.payload, answer)
                    }
                    // The queue delivers, PostgreSQL keeps the state: once routing has answered,
                    // this copy has done its job, whether claimed now or already moved on.
                    try session.settle(message, .ack)
                    if answer.ok || !["conflict", "forbidden", "not_found"].contains(answer.code ?? "") {
                        return (assignment.payload, answer)
                    }
                    FileHandle.standardError.write(
                        Data("skipped a stale assignment of \(assignment.payload.requestId): \(answer.message ?? "")\n".utf8)
                    )
                }
            }
            guard let (assignment, reply) = result else {
                throw CLIFailure("no assignment in \(unitRef) within \(wait) s")
            }
            _ = try reply.orFail()
            if json {
                print(String(decoding: try WireJSON.encode(assignment), as: UTF8.self))
            } else {
                print(
                    """
                    request     \(assignment.requestId)
                    unit        \(assignment.unit)
                    category    \(assignment.category)
                    reason      \(assignment.reason)
                    description \(assignment.description)
                    claimed by  \(staff)
                    """
                )
                // The classifier's suggestion, when it differs (never applied without the staff member).
                if let bytes = try? await ServiceHTTP.reporting.call(
                    .GET,
                    "/v1/reports/requests/\(assignment.requestId)/suggestion",
                    what: "a suggestion"
                ),
                    let suggestion = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
                    suggestion["differs"] as? Bool == true, let category = suggestion["category"] as? String
                {
                    let confidence = (suggestion["confidence"] as? Double).map { String(format: "%.0f%%", $0 * 100) } ?? "?"
                    print(
                        """
                        suggested   \(category) (\(confidence)) from the description; if the category is wrong:
                                    gridloop staff recategorize \(assignment.requestId) --staff \(staff) --category \(category) --suggested \(category)
                        """
                    )
                }
                if let other = assignment.possibleDuplicateOf {
                    print(
                        """
                        duplicate?  an open \(assignment.category) request from the same household or address: \(other)
                                    if it is the same problem: gridloop staff merge \(assignment.requestId) --into \(other) --staff \(staff) --reason "…"
                        """
                    )
                }
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
            try await sendStaffCommand(StaffCommand(action: .resolve, requestId: request, staff: staff, note: note))
        }
    }
}

/// Sends a staff command to routing, waits for its answer, prints it (or fails with it).
func sendStaffCommand(_ command: StaffCommand) async throws {
    let configuration = try CLIEnvironment.configuration()
    var command = command
    command.token = try CLIEnvironment.staffToken()
    do {
        let reply = try await call(
            command,
            type: MessageType.staffCommand,
            exchange: GridLoopExchange.commands,
            routingKey: "staff.\(command.action.rawValue)",
            requestId: command.requestId,
            options: configuration.amqp,
            timeout: .seconds(15)
        ).orFail()
        print("\(reply.requestId ?? command.requestId) \(reply.message ?? reply.state?.rawValue ?? "done")")
    } catch let error as AMQPError {
        throw CLIFailure("cannot \(command.action.rawValue): \(error)")
    }
}

/// The request and the staff member acting on it, with the unit they act for.
struct ActingStaff: ParsableArguments {
    @Argument(help: "The request id.") var request: String
    @Option(help: "Your staff id.") var staff: String
    @Option(help: "The unit you act for, e.g. grid:guanghua-3 (checked against your unit and the assignment).") var unit: String?

    func actingFor() throws -> UnitRef? {
        do { return try unit.map { try UnitRef(parsing: $0) } } catch { throw CLIFailure("\(error)") }
    }
}
