/// The escalation tiers of grid governance, lowest first.
///
/// What a grid cannot settle goes to the street (or township) centre, what the street cannot
/// settle goes to the district department responsible; supervisors oversee the district.
public enum Tier: String, Codable, Sendable, CaseIterable, Comparable {
    /// A grid (网格) of 10–25 households, worked by a grid worker and a grid leader.
    case grid
    /// A street or township centre (街道/乡镇党群服务和社会治理中心).
    case street
    /// A district department (区直部门), chosen by category.
    case district
    /// District supervisors: see everything, get overdue alerts.
    case oversight

    /// The tier an escalation goes to, or `nil` at the district, which escalates no further
    /// (an overdue district item goes to the supervisors and stays open until solved).
    public var next: Tier? {
        switch self {
        case .grid: .street
        case .street: .district
        case .district, .oversight: nil
        }
    }

    private var rank: Int {
        switch self {
        case .grid: 0
        case .street: 1
        case .district: 2
        case .oversight: 3
        }
    }

    public static func < (lhs: Tier, rhs: Tier) -> Bool { lhs.rank < rhs.rank }
}
