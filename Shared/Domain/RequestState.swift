/// Where a resident's request stands.
public enum RequestState: String, Codable, Sendable, CaseIterable {
    /// Stored by intake, not yet routed.
    case received
    /// Waiting in a unit's queue for its staff.
    case assigned
    /// Taken by a member of the unit's staff.
    case claimed
    /// Reported done by the unit; waits for the resident's feedback.
    case resolved
    /// Feedback recorded, loop closed.
    case closed
    /// Invalid, with a reason.
    case rejected
    /// A duplicate of, or part of, another request or incident.
    case merged

    /// Whether nothing more can happen to the request.
    public var isTerminal: Bool {
        switch self {
        case .closed, .rejected, .merged: true
        case .received, .assigned, .claimed, .resolved: false
        }
    }
}
