/// Errors of the pure domain.
public enum DomainError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A unit reference that is not `tier:id` with a well-formed id.
    case invalidUnit(String)
    /// A transition the lifecycle does not allow from the current state.
    case invalidTransition(from: RequestState, transition: String)
    /// An escalation from the district tier, which has nowhere further to go.
    case cannotEscalateBeyond(Tier)

    public var description: String {
        switch self {
        case .invalidUnit(let text): "invalid unit '\(text)': expected tier:id with tier grid, street, district or oversight"
        case .invalidTransition(let from, let transition): "cannot \(transition) a request that is \(from.rawValue)"
        case .cannotEscalateBeyond(let tier): "a \(tier.rawValue) assignment cannot be escalated further"
        }
    }
}
