import Foundation
import GridLoopDomain
import RoutingService
import Synchronization

/// Routing's state in memory, for the command rules' tests (as Hummingbird's todos example
/// tests its router on a memory repository): the same ``RoutingStore`` the commands use in
/// production, without PostgreSQL. Deadlines follow the practice defaults (``SLAPolicy``).
final class MemoryRoutingStore: RoutingStore {
    struct Assignment: Equatable {
        var id: UUID
        var request: RequestID
        var unit: UnitRef
        var reason: String
        var kind: AssignmentKind
        var claimedBy: String?
        var resolvedNote: String?
        var escalatedNote: String?
    }

    struct Timer: Equatable {
        var assignment: UUID
        var kind: String
        var dueAt: Date
        var cancelled = false
    }

    struct Summons: Equatable {
        var assignment: UUID
        var request: RequestID
        var unit: UnitRef
        var summonedBy: String
        var acknowledgedBy: String?
        var done = false
        var note: String?
    }

    /// A message put in the outbox.
    struct Emitted: Equatable {
        var type: String
        var exchange: String
        var routingKey: String?
        var messageId: String
        var requestVersion: Int?
        var payload: [UInt8]

        func decode<T: Decodable>(_: T.Type) throws -> T { try WireJSON.decode(T.self, from: payload) }
    }

    struct State: Equatable {
        var requests: [RequestID: RequestRecord] = [:]
        var satisfaction: [RequestID: Satisfaction] = [:]
        var assignments: [Assignment] = []
        var timers: [Timer] = []
        var summonses: [Summons] = []
        var outbox: [Emitted] = []
        var queues: Set<UnitRef> = []
        /// Incident id → (lead, street scope?).
        var incidents: [UUID: (lead: RequestID, street: String?, acrossGrids: Bool)] = [:]
        var incidentOf: [RequestID: UUID] = [:]

        static func == (a: State, b: State) -> Bool {
            a.requests == b.requests && a.satisfaction == b.satisfaction && a.assignments == b.assignments && a.timers == b.timers
                && a.summonses == b.summonses && a.outbox == b.outbox && a.queues == b.queues && a.incidentOf == b.incidentOf
                && a.incidents.mapValues { "\($0.lead) \($0.street ?? "-") \($0.acrossGrids)" }
                    == b.incidents.mapValues { "\($0.lead) \($0.street ?? "-") \($0.acrossGrids)" }
        }
    }

    let state = Mutex(State())
    let staff: [String: Actor]
    let streets: [String: String]
    let departments: [String: String]

    /// The org: `staff`, grids with their streets, categories with their departments.
    init(staff: [Actor], streets: [String: String], departments: [String: String]) {
        self.staff = Dictionary(uniqueKeysWithValues: staff.map { ($0.id, $0) })
        self.streets = streets
        self.departments = departments
    }

    var snapshot: State { state.withLock { $0 } }
    func restore(_ saved: State) { state.withLock { $0 = saved } }

    // MARK: Requests

    func lockRequest(_ id: RequestID) async throws -> RequestRecord? { state.withLock { $0.requests[id] } }

    func save(_ id: RequestID, _ lifecycle: RequestLifecycle, previousVersion: Int) async throws {
        try state.withLock { state throws(CommandRefused) in
            guard state.requests[id]?.lifecycle.version == previousVersion else {
                throw CommandRefused(.conflict, "the request changed meanwhile; try again")
            }
            state.requests[id]?.lifecycle = lifecycle
        }
    }

    func state(of id: RequestID) async throws -> RequestState? { state.withLock { $0.requests[id]?.lifecycle.state } }
    func recordSatisfaction(_ satisfaction: Satisfaction, of id: RequestID) async throws { state.withLock { $0.satisfaction[id] = satisfaction } }
    func setReopenCount(_ count: Int, of id: RequestID) async throws { state.withLock { $0.requests[id]?.reopenCount = count } }
    func setCategory(_ category: String, of id: RequestID) async throws { state.withLock { $0.requests[id]?.category = category } }

    // MARK: Assignments

    func ownerAssignment(of request: RequestID) async throws -> UUID? {
        state.withLock { $0.assignments.last { $0.request == request && $0.kind == .owner }?.id }
    }

    func homeUnit(of request: RequestID) async throws -> UnitRef? {
        state.withLock { $0.assignments.first { $0.request == request && $0.kind == .owner }?.unit }
    }

    func insertAssignment(
        _ id: UUID,
        request: RequestID,
        unit: UnitRef,
        reason: String,
        kind: AssignmentKind,
        claimCategory: String
    ) async throws -> Date {
        state.withLock { $0.assignments.append(Assignment(id: id, request: request, unit: unit, reason: reason, kind: kind)) }
        return try await startTimer(.claim, request: request, assignment: id, category: claimCategory, tier: unit.tier)
    }

    func markClaimed(assignment: UUID, by staff: String) async throws { update(assignment) { $0.claimedBy = staff } }
    func markResolved(assignment: UUID, note: String) async throws { update(assignment) { $0.resolvedNote = note } }
    func markEscalated(assignment: UUID, note: String) async throws { update(assignment) { $0.escalatedNote = note } }

    private func update(_ assignment: UUID, _ change: (inout Assignment) -> Void) {
        state.withLock { state in
            for index in state.assignments.indices where state.assignments[index].id == assignment { change(&state.assignments[index]) }
        }
    }

    // MARK: Deadlines

    func startTimer(_ kind: DeadlineKind, request: RequestID, assignment: UUID, category: String, tier: Tier) async throws -> Date {
        let durations = SLAPolicy().durations(for: category, at: tier)
        let duration = kind == .claim ? durations.claim : durations.resolve
        let due = Date().addingTimeInterval(Double(duration.components.seconds))
        state.withLock {
            $0.timers.append(Timer(assignment: assignment, kind: kind.rawValue, dueAt: due))
            $0.timers.append(
                Timer(assignment: assignment, kind: kind.warning, dueAt: Date().addingTimeInterval(Double(duration.components.seconds) * 0.8))
            )
        }
        return due
    }

    func cancelTimers(assignment: UUID) async throws {
        state.withLock { state in
            for index in state.timers.indices where state.timers[index].assignment == assignment { state.timers[index].cancelled = true }
        }
    }

    /// The kinds of `assignment`'s live timers, sorted.
    func liveTimers(_ assignment: UUID) -> [String] {
        state.withLock { $0.timers.filter { $0.assignment == assignment && !$0.cancelled }.map(\.kind).sorted() }
    }

    // MARK: Summonses

    func outstandingSummons(of request: RequestID) async throws -> [String] {
        state.withLock { $0.summonses.filter { $0.request == request && !$0.done }.map(\.unit.description).sorted() }
    }

    func unacknowledgedSummons(of request: RequestID, unit: UnitRef) async throws -> UUID? {
        state.withLock { $0.summonses.first { $0.request == request && $0.unit == unit && $0.acknowledgedBy == nil && !$0.done }?.assignment }
    }

    func acknowledgedSummons(of request: RequestID, by staff: String) async throws -> (assignment: UUID, unit: UnitRef)? {
        state.withLock { $0.summonses.first { $0.request == request && $0.acknowledgedBy == staff && !$0.done } }.map { ($0.assignment, $0.unit) }
    }

    func insertSummons(assignment: UUID, request: RequestID, unit: UnitRef, by staff: String) async throws {
        state.withLock { $0.summonses.append(Summons(assignment: assignment, request: request, unit: unit, summonedBy: staff)) }
    }

    func acknowledgeSummons(assignment: UUID, by staff: String) async throws {
        state.withLock { state in
            for index in state.summonses.indices where state.summonses[index].assignment == assignment {
                state.summonses[index].acknowledgedBy = staff
            }
        }
    }

    func completeSummons(assignment: UUID, note: String) async throws {
        state.withLock { state in
            for index in state.summonses.indices where state.summonses[index].assignment == assignment {
                state.summonses[index].done = true
                state.summonses[index].note = note
            }
        }
    }

    // MARK: The org

    func staffMember(_ id: String) async throws -> Actor? { staff[id] }
    func streetOfGrid(_ grid: String) async throws -> String? { streets[grid] }
    func departmentOfCategory(_ category: String) async throws -> String? { departments[category] }

    func unitExists(_ unit: UnitRef) async throws -> Bool {
        switch unit.tier {
        case .grid: streets[unit.id] != nil
        case .street: Set(streets.values).contains(unit.id)
        case .district, .oversight: Set(departments.values).contains(unit.id)
        }
    }

    func knownDepartments(_ ids: [String]) async throws -> [String] { ids.filter(Set(departments.values).contains) }

    // MARK: Incidents

    func lockIncidents(place: String, category: String) async throws {}  // one command at a time here

    func assignments(of request: RequestID) async throws -> [UUID] {
        state.withLock { $0.assignments.filter { $0.request == request }.map(\.id) }
    }

    func incident(of request: RequestID) async throws -> (id: UUID, lead: RequestID)? {
        state.withLock { state in state.incidentOf[request].flatMap { id in state.incidents[id].map { (id, $0.lead) } } }
    }

    func insertIncident(_ incident: UUID, grid: String?, street: String?, category: String, lead: RequestID) async throws {
        state.withLock { $0.incidents[incident] = (lead, street, false) }
    }

    func setIncident(_ incident: UUID?, of request: RequestID) async throws { state.withLock { $0.incidentOf[request] = incident } }

    func incidentGrids(_ incident: UUID) async throws -> [String] {
        state.withLock { state in
            Set(state.incidentOf.filter { $0.value == incident }.compactMap { state.requests[$0.key]?.gridId }).sorted()
        }
    }

    func widenIncident(_ incident: UUID, street: String) async throws {
        state.withLock { $0.incidents[incident]?.acrossGrids = true }
    }

    // MARK: Messages

    func emit<Payload: Codable & Sendable>(_ message: MessageEnvelope<Payload>, exchange: String, routingKey: String?) async throws {
        let payload = try WireJSON.encode(message.payload)
        state.withLock {
            $0.outbox.append(
                Emitted(
                    type: message.type,
                    exchange: exchange,
                    routingKey: routingKey,
                    messageId: message.messageId,
                    requestVersion: message.requestVersion,
                    payload: payload
                )
            )
        }
    }

    func ensureQueue(for unit: UnitRef) async throws { state.withLock { _ = $0.queues.insert(unit) } }
}
