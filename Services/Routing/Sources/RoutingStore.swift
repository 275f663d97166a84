import Foundation
import GridLoopDomain
import GridLoopServiceSupport

/// A request as a command finds it: locked for the command's transaction.
package struct RequestRecord: Sendable, Equatable {
    package var id: RequestID
    package var lifecycle: RequestLifecycle
    package var category: String
    package var description: String
    /// The grid the request was placed in, if any.
    package var gridId: String?
    /// The street of the request's grid, if it has one.
    package var streetId: String?
    /// How often the resident has been unsatisfied.
    package var reopenCount: Int
    package var correlationId: String

    package init(
        id: RequestID,
        lifecycle: RequestLifecycle,
        category: String,
        description: String,
        gridId: String? = nil,
        streetId: String? = nil,
        reopenCount: Int = 0,
        correlationId: String = ""
    ) {
        self.id = id
        self.lifecycle = lifecycle
        self.category = category
        self.description = description
        self.gridId = gridId
        self.streetId = streetId
        self.reopenCount = reopenCount
        self.correlationId = correlationId
    }
}

/// Whose an assignment is: the request's owner, or a department summoned to help (吹哨报到).
package enum AssignmentKind: String, Sendable {
    case owner
    case summons
}

/// Which deadline an SLA timer guards.
package enum DeadlineKind: String, Sendable {
    /// The unit must claim (respond) before it.
    case claim
    /// The claimer must resolve before it.
    case resolve

    /// The kind of the timer that warns at 80% of this deadline.
    package var warning: String { "\(rawValue)-warning" }
}

/// Routing's request and assignment state, as the workflow's commands read and change it —
/// within one transaction (``PostgresRoutingStore``) or in memory for the rules' unit tests
/// (``MemoryRoutingStore``), as Hummingbird's todos example builds its router on a repository.
/// Methods change nothing but what they name; the rules live in the commands.
package protocol RoutingStore: Sendable {
    // MARK: Requests

    /// The request, locked until the transaction ends; `nil` if there is none.
    func lockRequest(_ id: RequestID) async throws -> RequestRecord?
    /// Writes `lifecycle` if the request is still at `previousVersion`; refuses `conflict` otherwise.
    func save(_ id: RequestID, _ lifecycle: RequestLifecycle, previousVersion: Int) async throws
    /// Another request's state (`nil` if there is none).
    func state(of id: RequestID) async throws -> RequestState?
    /// Records the resident's satisfaction.
    func recordSatisfaction(_ satisfaction: Satisfaction, of id: RequestID) async throws
    /// Records how often the resident has been unsatisfied.
    func setReopenCount(_ count: Int, of id: RequestID) async throws
    /// Corrects the request's category.
    func setCategory(_ category: String, of id: RequestID) async throws

    // MARK: Assignments

    /// The request's current owner assignment.
    func ownerAssignment(of request: RequestID) async throws -> UUID?
    /// The unit of the request's first owner assignment (its home).
    func homeUnit(of request: RequestID) async throws -> UnitRef?
    /// A new assignment with its claim deadline (and its warning) by `claimCategory`'s policy,
    /// written together; returns the deadline.
    func insertAssignment(
        _ id: UUID,
        request: RequestID,
        unit: UnitRef,
        reason: String,
        kind: AssignmentKind,
        claimCategory: String
    ) async throws -> Date
    func markClaimed(assignment: UUID, by staff: String) async throws
    func markResolved(assignment: UUID, note: String) async throws
    func markEscalated(assignment: UUID, note: String) async throws

    // MARK: Deadlines

    /// Starts a deadline (and its 80% warning) for `assignment` by the category's policy; returns the deadline.
    func startTimer(_ kind: DeadlineKind, request: RequestID, assignment: UUID, category: String, tier: Tier) async throws -> Date
    /// Cancels the live timers of `assignment`.
    func cancelTimers(assignment: UUID) async throws

    // MARK: Summonses

    /// Summoned departments (`tier:id`) that have not reported done, sorted.
    func outstandingSummons(of request: RequestID) async throws -> [String]
    /// `unit`'s summons to the request that it has not acknowledged yet.
    func unacknowledgedSummons(of request: RequestID, unit: UnitRef) async throws -> UUID?
    /// The summons `staff` acknowledged and has not reported done.
    func acknowledgedSummons(of request: RequestID, by staff: String) async throws -> (assignment: UUID, unit: UnitRef)?
    func insertSummons(assignment: UUID, request: RequestID, unit: UnitRef, by staff: String) async throws
    func acknowledgeSummons(assignment: UUID, by staff: String) async throws
    func completeSummons(assignment: UUID, note: String) async throws

    // MARK: The org

    /// The staff member as the org file names them.
    func staffMember(_ id: String) async throws -> Actor?
    func streetOfGrid(_ grid: String) async throws -> String?
    func departmentOfCategory(_ category: String) async throws -> String?
    func unitExists(_ unit: UnitRef) async throws -> Bool
    /// Those of `departments` the org has.
    func knownDepartments(_ departments: [String]) async throws -> [String]

    // MARK: Incidents

    /// Serializes incident decisions for one place (`street:…` or `grid:…`) and category until the transaction ends.
    func lockIncidents(place: String, category: String) async throws
    /// Every assignment of the request (owner and summonses).
    func assignments(of request: RequestID) async throws -> [UUID]
    /// The incident the request is in and that incident's lead.
    func incident(of request: RequestID) async throws -> (id: UUID, lead: RequestID)?
    /// Records a new incident led by `lead`, at `grid` (the lead's) in `street`.
    func insertIncident(_ incident: UUID, grid: String?, street: String?, category: String, lead: RequestID) async throws
    /// Puts the request in `incident`, or takes it out (`nil`).
    func setIncident(_ incident: UUID?, of request: RequestID) async throws
    /// The grids the incident's reports come from, sorted.
    func incidentGrids(_ incident: UUID) async throws -> [String]
    /// Marks the incident as spanning grids: handled at its street.
    func widenIncident(_ incident: UUID, street: String) async throws

    // MARK: Messages

    /// Puts a message in the outbox, to be published after the commit.
    func emit<Payload: Codable & Sendable>(_ message: MessageEnvelope<Payload>, exchange: String, routingKey: String?) async throws
    /// Makes sure `unit` has its queue before an assignment is sent there.
    func ensureQueue(for unit: UnitRef) async throws
}

extension RoutingStore {
    /// An event on the events exchange (routing key: its type).
    package func emit<Payload: Codable & Sendable>(event: MessageEnvelope<Payload>) async throws {
        try await emit(event, exchange: GridLoopExchange.events, routingKey: nil)
    }

    /// A new assignment of `request` to `unit` with its claim deadline; returns the message that tells the unit.
    package func recordAssignment(
        request: RequestID,
        unit: UnitRef,
        reason: String,
        category: String,
        description: String,
        kind: AssignmentKind = .owner
    ) async throws -> RequestAssigned {
        let assignment = UUID()
        let claimDue = try await insertAssignment(
            assignment,
            request: request,
            unit: unit,
            reason: reason,
            kind: kind,
            claimCategory: kind == .summons ? "summons" : category
        )
        return RequestAssigned(
            requestId: request.description,
            assignmentId: assignment.uuidString.lowercased(),
            unit: unit,
            category: category,
            description: description,
            reason: reason,
            claimDueAt: claimDue
        )
    }

    /// Sends `assignment` to its unit's queue (message id: the causing event's, `:assignment`).
    package func sendAssignment(_ assignment: RequestAssigned, causedBy eventId: String, correlationId: String, version: Int) async throws {
        let message = Self.assignmentMessage(assignment, causedBy: eventId, correlationId: correlationId, version: version)
        try await emit(message, exchange: GridLoopExchange.assignments, routingKey: assignment.unit.routingKey)
    }

    /// The message that tells `assignment`'s unit (message id: the causing event's, `:assignment`).
    static func assignmentMessage(
        _ assignment: RequestAssigned,
        causedBy eventId: String,
        correlationId: String,
        version: Int
    ) -> MessageEnvelope<RequestAssigned> {
        var message = MessageEnvelope(
            type: MessageType.requestAssigned,
            requestId: assignment.requestId,
            correlationId: correlationId,
            requestVersion: version,
            payload: assignment
        )
        message.messageId = "\(eventId):assignment"
        return message
    }
}
