/// One step of a request's lifecycle.
public enum RequestTransition: Sendable, Equatable {
    /// Routed to a unit (first assignment, or reassignment within a tier by a leader).
    case assign(UnitRef)
    /// Taken by a staff member of the assigned unit.
    case claim(staff: String)
    /// Reported done.
    case resolve
    /// Sent up to a unit of the next tier.
    case escalate(to: UnitRef)
    /// Feedback recorded: the loop is closed.
    case close
    /// Negative feedback: back to a unit.
    case reopen(UnitRef)
    /// "Not ours": to a street centre for arbitration.
    case returnForArbitration(UnitRef)
    /// Invalid request.
    case reject
    /// Duplicate of another request.
    case merge
    /// Taken out of an incident it was linked into by mistake: back to work at a unit.
    case unmerge(UnitRef)

    /// The verb, for error messages and the trail.
    public var verb: String {
        switch self {
        case .assign: "assign"
        case .claim: "claim"
        case .resolve: "resolve"
        case .escalate: "escalate"
        case .close: "close"
        case .reopen: "reopen"
        case .returnForArbitration: "return"
        case .reject: "reject"
        case .merge: "merge"
        case .unmerge: "unlink"
        }
    }
}

/// The state of a request as the workflow sees it: its state, the unit that has it, and a
/// version that grows by one with every transition (consumers use it to refuse stale events).
public struct RequestLifecycle: Sendable, Equatable {
    /// Where the request stands.
    public private(set) var state: RequestState
    /// The unit that currently has the request, if assigned.
    public private(set) var unit: UnitRef?
    /// Who claimed it, if claimed.
    public private(set) var claimedBy: String?
    /// 1 when received; +1 for each transition.
    public private(set) var version: Int

    /// A request just received.
    public init() {
        self.init(state: .received, unit: nil, claimedBy: nil, version: 1)
    }

    /// Restores a lifecycle read from storage.
    public init(state: RequestState, unit: UnitRef?, claimedBy: String?, version: Int) {
        self.state = state
        self.unit = unit
        self.claimedBy = claimedBy
        self.version = version
    }

    /// Applies `transition`, or throws without changing anything when the lifecycle does not allow it.
    public mutating func apply(_ transition: RequestTransition) throws(DomainError) {
        let refused = DomainError.invalidTransition(from: state, transition: transition.verb)
        switch (state, transition) {
        case (.received, .assign(let unit)), (.assigned, .assign(let unit)), (.claimed, .assign(let unit)):
            self.unit = unit
            self.claimedBy = nil
            self.state = .assigned
        case (.assigned, .claim(let staff)):
            self.claimedBy = staff
            self.state = .claimed
        case (.claimed, .resolve):
            self.state = .resolved
        case (.assigned, .escalate(let target)), (.claimed, .escalate(let target)):
            guard let current = unit else { throw refused }
            guard let next = current.tier.next else { throw .cannotEscalateBeyond(current.tier) }
            guard target.tier == next else { throw refused }
            self.unit = target
            self.claimedBy = nil
            self.state = .assigned
        case (.assigned, .returnForArbitration(let street)), (.claimed, .returnForArbitration(let street)):
            guard street.tier == .street, unit?.tier != .street else { throw refused }
            self.unit = street
            self.claimedBy = nil
            self.state = .assigned
        case (.resolved, .close):
            self.state = .closed
        case (.resolved, .reopen(let unit)):
            self.unit = unit
            self.claimedBy = nil
            self.state = .assigned
        case (.received, .reject), (.assigned, .reject):
            self.state = .rejected
        case (.received, .merge), (.assigned, .merge), (.claimed, .merge):
            self.state = .merged
        case (.merged, .unmerge(let unit)):
            self.unit = unit
            self.claimedBy = nil
            self.state = .assigned
        default:
            throw refused
        }
        version += 1
    }
}
