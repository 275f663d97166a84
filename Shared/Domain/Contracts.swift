import Foundation

/// Where a request is: a grid id, a household id, an address or coordinates (at least one).
public struct Location: Codable, Sendable, Equatable {
    public var gridId: String?
    public var householdId: String?
    public var address: String?
    /// WGS 84 degrees (e.g. from an Open311 client's `lat`/`long`).
    public var latitude: Double?
    public var longitude: Double?

    public init(gridId: String? = nil, householdId: String? = nil, address: String? = nil, latitude: Double? = nil, longitude: Double? = nil) {
        self.gridId = gridId
        self.householdId = householdId
        self.address = address
        self.latitude = latitude
        self.longitude = longitude
    }
}

/// The resident who raised the request.
public struct Reporter: Codable, Sendable, Equatable {
    public var name: String
    /// As submitted; in events and stored copies outside intake it is masked (`138****1234`)
    /// and the number travels sealed in ``phoneSealed`` (see ``DataProtector``).
    public var phone: String
    /// The phone sealed under the data key, for the services that must reach the resident.
    public var phoneSealed: String?
    /// Where to email updates, if the resident gave an address.
    public var email: String?
    /// `zh` or `en`: the language of the resident's notifications (default `zh`).
    public var language: String?

    /// The notification languages GridLoop has templates for.
    public static let languages = ["zh", "en"]

    public init(name: String, phone: String, email: String? = nil, language: String? = nil) {
        self.name = name
        self.phone = phone
        self.email = email
        self.language = language
    }
}

/// How a request reached GridLoop.
public enum Channel: String, Codable, Sendable, CaseIterable {
    /// Collected by a grid worker on a household visit.
    case gridWorker = "grid-worker"
    /// Taken by a hotline operator.
    case hotline
    /// Submitted on the web.
    case web
    /// Published by the `gridloop` CLI or another system over AMQP.
    case cli
    /// Through the Open311 GeoReport v2 API.
    case open311
}

/// A validated submission: what intake stores as a new request.
public struct Submission: Codable, Sendable, Equatable {
    public var category: String
    public var description: String
    public var location: Location
    public var reporter: Reporter
    public var channel: Channel
    /// The staff member who collected it (e.g. the grid worker), if any.
    public var submittedBy: String?
    /// The proactive task (未诉先办) whose household check found it, if any.
    public var taskId: String?

    public init(
        category: String,
        description: String,
        location: Location,
        reporter: Reporter,
        channel: Channel,
        submittedBy: String? = nil,
        taskId: String? = nil
    ) {
        self.taskId = taskId
        self.category = category
        self.description = description
        self.location = location
        self.reporter = reporter
        self.channel = channel
        self.submittedBy = submittedBy
    }
}

/// Payload of `submission.create`: a draft (validated by intake) and the client's idempotency key.
public struct SubmissionPayload: Codable, Sendable {
    /// Re-sending the same key returns the request already made, never a second one.
    public var idempotencyKey: String?
    public var submission: SubmissionDraft
    /// When the grid worker took it down, if earlier than its sending (an offline spool).
    public var reportedAt: Date?

    public init(idempotencyKey: String?, submission: SubmissionDraft, reportedAt: Date? = nil) {
        self.idempotencyKey = idempotencyKey
        self.submission = submission
        self.reportedAt = reportedAt
    }
}

/// Payload of `request.received`.
public struct RequestReceived: Codable, Sendable, Equatable {
    public var requestId: String
    public var submission: Submission

    public init(requestId: String, submission: Submission) {
        self.requestId = requestId
        self.submission = submission
    }
}

/// Payload of `request.assigned`, and of the assignment message a unit's staff consume.
public struct RequestAssigned: Codable, Sendable, Equatable {
    public var requestId: String
    public var assignmentId: String
    public var unit: UnitRef
    public var category: String
    public var description: String
    /// Why the request landed here (e.g. `grid of household guanghua-3-07`, `location unknown: triage`).
    public var reason: String
    /// When the unit must have claimed it (from the SLA; absent in messages from before v1.1).
    public var claimDueAt: Date?
    /// An open request of the same category at the same household or address, recently made:
    /// the staff decide (`merge` into it, or handle both).
    public var possibleDuplicateOf: String?

    public init(
        requestId: String,
        assignmentId: String,
        unit: UnitRef,
        category: String,
        description: String,
        reason: String,
        claimDueAt: Date? = nil
    ) {
        self.requestId = requestId
        self.assignmentId = assignmentId
        self.unit = unit
        self.category = category
        self.description = description
        self.reason = reason
        self.claimDueAt = claimDueAt
    }
}

/// Payload of `request.claimed`.
public struct RequestClaimed: Codable, Sendable, Equatable {
    public var requestId: String
    public var assignmentId: String
    public var unit: UnitRef
    public var staff: String
    /// When it must be resolved (from the SLA; absent in messages from before v1.1).
    public var resolveDueAt: Date?

    public init(requestId: String, assignmentId: String, unit: UnitRef, staff: String, resolveDueAt: Date? = nil) {
        self.requestId = requestId
        self.assignmentId = assignmentId
        self.unit = unit
        self.staff = staff
        self.resolveDueAt = resolveDueAt
    }
}

/// Payload of `request.escalated`, `request.returned` and `request.reopened`: the request now
/// waits at `to`, under a new assignment.
public struct RequestMoved: Codable, Sendable, Equatable {
    public var requestId: String
    /// The new assignment at `to`.
    public var assignmentId: String
    public var from: UnitRef
    public var to: UnitRef
    /// Who moved it (a staff id, or `sla` for the deadline sweeper).
    public var staff: String
    public var reason: String
    /// `request.reopened` by the resident's follow-up answer: whether they say staff contacted
    /// them (the 12345 响应率); absent = contacted, or not a follow-up.
    public var contacted: Bool?

    public init(requestId: String, assignmentId: String, from: UnitRef, to: UnitRef, staff: String, reason: String, contacted: Bool? = nil) {
        self.requestId = requestId
        self.assignmentId = assignmentId
        self.from = from
        self.to = to
        self.staff = staff
        self.reason = reason
        self.contacted = contacted
    }
}

/// Payload of `request.overdue`.
public struct RequestOverdue: Codable, Sendable, Equatable {
    public var requestId: String
    public var assignmentId: String
    public var unit: UnitRef
    /// `claim` or `resolve`: which deadline passed.
    public var deadline: String
    public var dueAt: Date
    /// The request's state, unchanged by the alert.
    public var state: RequestState

    public init(requestId: String, assignmentId: String, unit: UnitRef, deadline: String, dueAt: Date, state: RequestState) {
        self.requestId = requestId
        self.assignmentId = assignmentId
        self.unit = unit
        self.deadline = deadline
        self.dueAt = dueAt
        self.state = state
    }
}

/// Payload of `request.summoned`.
public struct RequestSummoned: Codable, Sendable, Equatable {
    public var requestId: String
    /// The street centre that blew the whistle.
    public var by: UnitRef
    public var staff: String
    /// Summoned unit (`district:<department>`) → its assignment id.
    public var summoned: [String: String]
    public var note: String

    public init(requestId: String, by: UnitRef, staff: String, summoned: [String: String], note: String) {
        self.requestId = requestId
        self.by = by
        self.staff = staff
        self.summoned = summoned
        self.note = note
    }
}

/// Payload of `request.summons.acknowledged` and `request.summons.done`.
public struct SummonsProgress: Codable, Sendable, Equatable {
    public var requestId: String
    public var assignmentId: String
    public var unit: UnitRef
    public var staff: String
    public var note: String?
    /// Summoned departments that have not reported done yet.
    public var outstanding: [String]

    public init(requestId: String, assignmentId: String, unit: UnitRef, staff: String, note: String?, outstanding: [String]) {
        self.requestId = requestId
        self.assignmentId = assignmentId
        self.unit = unit
        self.staff = staff
        self.note = note
        self.outstanding = outstanding
    }
}

/// Payload of `request.rejected` and `request.merged`: the request is closed without work.
public struct RequestEnded: Codable, Sendable, Equatable {
    public var requestId: String
    public var staff: String
    public var reason: String
    /// For a merge: the request it duplicates.
    public var into: String?

    public init(requestId: String, staff: String, reason: String, into: String? = nil) {
        self.requestId = requestId
        self.staff = staff
        self.reason = reason
        self.into = into
    }
}

/// Payload of `request.recategorized`: the unit holding the request corrected its category.
public struct RequestRecategorized: Codable, Sendable, Equatable {
    public var requestId: String
    public var from: String
    public var to: String
    public var staff: String
    /// The unit that corrected it.
    public var unit: UnitRef
    /// The request's state (unchanged by the correction).
    public var state: RequestState
    public var reason: String?
    /// What the classifier had suggested to the staff member, if anything, and how sure it was.
    public var suggested: String?
    public var confidence: Double?

    public init(
        requestId: String,
        from: String,
        to: String,
        staff: String,
        unit: UnitRef,
        state: RequestState,
        reason: String? = nil,
        suggested: String? = nil,
        confidence: Double? = nil
    ) {
        self.requestId = requestId
        self.from = from
        self.to = to
        self.staff = staff
        self.unit = unit
        self.state = state
        self.reason = reason
        self.suggested = suggested
        self.confidence = confidence
    }
}

/// Payload of `request.street.informed`.
public struct StreetInformed: Codable, Sendable, Equatable {
    public var requestId: String
    public var street: UnitRef
    public var department: UnitRef
    public var category: String

    public init(requestId: String, street: UnitRef, department: UnitRef, category: String) {
        self.requestId = requestId
        self.street = street
        self.department = department
        self.category = category
    }
}

/// The resident's verdict on a resolution (反馈核查).
public enum Satisfaction: String, Codable, Sendable, CaseIterable {
    case satisfied
    case basicallySatisfied = "basically-satisfied"
    case unsatisfied

    /// Whether the loop closes (satisfied or basically satisfied).
    public var closesTheLoop: Bool { self != .unsatisfied }
}

/// Payload of `request.closed`.
public struct RequestClosed: Codable, Sendable, Equatable {
    public var requestId: String
    public var satisfaction: Satisfaction
    /// Who recorded the feedback (usually the grid worker, after an on-site check).
    public var staff: String
    public var note: String
    /// Whether the resident says the problem is solved (解决率); absent = solved.
    public var solved: Bool?
    /// Whether the resident says staff contacted them (the 12345 响应率); absent = contacted (staff
    /// who record a verdict have reached the resident).
    public var contacted: Bool?

    public init(requestId: String, satisfaction: Satisfaction, staff: String, note: String, solved: Bool? = nil, contacted: Bool? = nil) {
        self.requestId = requestId
        self.satisfaction = satisfaction
        self.staff = staff
        self.note = note
        self.solved = solved
        self.contacted = contacted
    }
}

/// Payload of `request.resolved`.
public struct RequestResolved: Codable, Sendable, Equatable {
    public var requestId: String
    public var assignmentId: String
    public var unit: UnitRef
    public var staff: String
    public var note: String

    public init(requestId: String, assignmentId: String, unit: UnitRef, staff: String, note: String) {
        self.requestId = requestId
        self.assignmentId = assignmentId
        self.unit = unit
        self.staff = staff
        self.note = note
    }
}

/// Payload of `staff.command`: a staff member asks routing to change a request.
public struct StaffCommand: Codable, Sendable, Equatable {
    /// What to do.
    public enum Action: String, Codable, Sendable {
        case claim
        case resolve
        /// Up to the next tier; `note` is the reason (required).
        case escalate
        /// "Not ours": to the street centre for arbitration; `note` is the reason (required).
        case `return`
        /// The resident's verdict on a resolved request (with the grid worker's on-site check in `note`).
        case feedback
        /// 吹哨报到: a street officer summons `departments` at once.
        case summon
        /// A leader moves the request to `target`, another unit of the same tier.
        case reassign
        /// Invalid (not a resident's request, abusive, impossible): closed with `note` as reason.
        case reject
        /// A duplicate of request `into`: closed into it with `note` as reason.
        case merge
        /// A street officer links this report into the incident led by request `into` (one
        /// problem reported from several grids, handled once at the street); `note` is the reason.
        case link
        /// A street officer takes this report out of its incident: worked on its own again at its grid.
        case unlink
        /// The unit holding it corrects the request's category to `category` (`note`: why;
        /// `suggested`: the classifier's suggestion shown, if any).
        case recategorize
    }

    public var action: Action
    public var requestId: String
    /// The acting staff member's id.
    public var staff: String
    /// The unit the staff member acts for (claims must match the assigned unit).
    public var unit: UnitRef?
    /// Resolution note, the reason of an escalation or return, the on-site check of feedback.
    public var note: String?
    /// For `feedback`.
    public var satisfaction: Satisfaction?
    /// For `summon`: department ids.
    public var departments: [String]?
    /// For `reassign`: the unit to move it to.
    public var target: UnitRef?
    /// For `merge`: the request it duplicates; for `link`: the incident's lead.
    public var into: String?
    /// For `feedback`: whether the resident says the problem is solved (default: solved unless unsatisfied).
    public var solved: Bool?
    /// For `feedback`: whether the resident says staff contacted them (the 12345 响应率; absent = contacted).
    public var contacted: Bool?
    /// For `recategorize`: the corrected category.
    public var category: String?
    /// For `recategorize`: the category the classifier suggested to the staff member, and its confidence.
    public var suggested: String?
    public var suggestedConfidence: Double?
    /// The actor's access token (JWT): routing acts only for the staff member it proves, so
    /// editing `staff` in a message does not let anyone act for another unit.
    public var token: String?

    public init(
        action: Action,
        requestId: String,
        staff: String,
        unit: UnitRef? = nil,
        note: String? = nil,
        satisfaction: Satisfaction? = nil,
        departments: [String]? = nil,
        target: UnitRef? = nil,
        into: String? = nil,
        solved: Bool? = nil,
        contacted: Bool? = nil,
        category: String? = nil,
        suggested: String? = nil,
        suggestedConfidence: Double? = nil,
        token: String? = nil
    ) {
        self.token = token
        self.category = category
        self.suggested = suggested
        self.suggestedConfidence = suggestedConfidence
        self.solved = solved
        self.contacted = contacted
        self.target = target
        self.into = into
        self.action = action
        self.requestId = requestId
        self.staff = staff
        self.unit = unit
        self.note = note
        self.satisfaction = satisfaction
        self.departments = departments
    }
}

/// Payload of `command.reply`: the outcome of a command or submission sent with reply-to.
public struct CommandReply: Codable, Sendable, Equatable {
    public var ok: Bool
    /// The request concerned (the new request's id for a submission).
    public var requestId: String?
    /// The request's state after the command.
    public var state: RequestState?
    /// A stable error code when `ok` is false (e.g. `validation_failed`, `not_found`, `conflict`).
    public var code: String?
    /// A human-readable explanation.
    public var message: String?
    /// Field errors, for validation failures.
    public var errors: [FieldError]?

    public init(
        ok: Bool,
        requestId: String? = nil,
        state: RequestState? = nil,
        code: String? = nil,
        message: String? = nil,
        errors: [FieldError]? = nil
    ) {
        self.ok = ok
        self.requestId = requestId
        self.state = state
        self.code = code
        self.message = message
        self.errors = errors
    }
}

/// Payload of `visit.logged`: a grid worker's household visit (入户走访), the basis of the visit duty.
public struct VisitLogged: Codable, Sendable, Equatable {
    public var visitId: String
    public var staff: String
    public var householdId: String
    public var visitedAt: Date
    public var note: String?

    public init(visitId: String, staff: String, householdId: String, visitedAt: Date, note: String? = nil) {
        self.visitId = visitId
        self.staff = staff
        self.householdId = householdId
        self.visitedAt = visitedAt
        self.note = note
    }
}
