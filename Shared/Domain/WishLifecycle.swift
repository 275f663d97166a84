// Micro-wishes (微心愿): a grid worker collects a household's small wish on a visit (a hot
// lunch for a left-behind elder, a tutor for a child); a unit, an enterprise or a volunteer
// adopts it; it is fulfilled; the grid worker confirms it with the resident. The rules here are
// pure, so they are tested without I/O; routing applies them in one transaction per step.

/// What a micro-wish is about: similar wishes of a street cluster by it.
public enum WishKind: String, Codable, Sendable, CaseIterable {
    /// Meals (an elder's lunch, a meal delivered).
    case meal
    /// Care and company (visits, help at home).
    case care
    /// Study (tutoring, books, school things).
    case study
    /// Repairs at home.
    case repair
    /// Anything else.
    case other

    /// The label in Chinese.
    public var label: String {
        switch self {
        case .meal: "助餐"
        case .care: "关爱陪伴"
        case .study: "助学"
        case .repair: "维修"
        case .other: "其他"
        }
    }

    /// The label in English.
    public var labelEn: String {
        switch self {
        case .meal: "Meals"
        case .care: "Care and company"
        case .study: "Study"
        case .repair: "Repairs"
        case .other: "Other"
        }
    }
}

/// A step of a micro-wish after it was collected.
public enum WishStep: String, Codable, Sendable, CaseIterable {
    /// A unit, an enterprise or a volunteer takes the wish on.
    case adopt
    /// The adopter did what was wished.
    case fulfil
    /// The grid worker confirmed it with the resident.
    case confirm

    /// The state the step leads to.
    public var target: WishState {
        switch self {
        case .adopt: .adopted
        case .fulfil: .fulfilled
        case .confirm: .confirmed
        }
    }

    /// The state the step starts from.
    public var source: WishState {
        switch self {
        case .adopt: .collected
        case .fulfil: .adopted
        case .confirm: .fulfilled
        }
    }
}

extension WishState {
    /// The label in Chinese.
    public var label: String {
        switch self {
        case .collected: "已收集"
        case .adopted: "已认领"
        case .fulfilled: "已实现"
        case .confirmed: "已确认"
        }
    }

    /// The label in English.
    public var labelEn: String {
        switch self {
        case .collected: "collected"
        case .adopted: "adopted"
        case .fulfilled: "fulfilled"
        case .confirmed: "confirmed"
        }
    }

    /// The step that comes next, or `nil` once confirmed.
    public var next: WishStep? { WishStep.allCases.first { $0.source == self } }

    /// Still waiting to be fulfilled (collected or adopted).
    public var isOpen: Bool { self == .collected || self == .adopted }
}

/// Why a step was refused: the wish's state does not allow it (HTTP 409), said in words.
public struct WishRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public var step: WishStep
    public var state: WishState

    public init(step: WishStep, state: WishState) {
        self.step = step
        self.state = state
    }

    /// In English.
    public var description: String {
        let already = "the wish is \(state.labelEn) already"
        switch (step, state) {
        case (.adopt, .adopted): return "\(already): one adopter per wish"
        case (.adopt, _): return "\(already): it was adopted before"
        case (.fulfil, .collected): return "the wish is not adopted yet: it is adopted before it is fulfilled"
        case (.fulfil, _): return "\(already)"
        case (.confirm, .collected), (.confirm, .adopted):
            return "the wish is \(state.labelEn), not fulfilled yet: it is confirmed with the resident once fulfilled"
        case (.confirm, _): return "\(already)"
        }
    }

    /// In Chinese.
    public var zh: String {
        switch (step, state) {
        case (.fulfil, .collected): "该心愿尚未被认领，认领后才能登记实现"
        case (.confirm, .collected), (.confirm, .adopted): "该心愿\(state.label)，尚未实现，实现后才能与居民确认"
        default: "该心愿\(state.label)，不能再\(WishLifecycle.verbZh(step))"
        }
    }
}

/// A micro-wish's lifecycle: collected → adopted → fulfilled → confirmed, nothing else; and a
/// version that grows by one with every step (the optimistic check between two staff members
/// stepping the same wish at once).
public struct WishLifecycle: Sendable, Equatable {
    public private(set) var state: WishState
    /// 1 when collected; +1 for each step.
    public private(set) var version: Int

    /// A wish just collected.
    public init() {
        self.init(state: .collected, version: 1)
    }

    /// Restores a lifecycle read from storage.
    public init(state: WishState, version: Int) {
        self.state = state
        self.version = version
    }

    /// Why `step` may not be taken from `state`, or `nil`.
    public static func refusal(_ step: WishStep, from state: WishState) -> WishRefusal? {
        step.source == state ? nil : WishRefusal(step: step, state: state)
    }

    /// Takes `step`, or throws without changing anything when the state does not allow it.
    public mutating func apply(_ step: WishStep) throws(WishRefusal) {
        if let refusal = Self.refusal(step, from: state) { throw refusal }
        state = step.target
        version += 1
    }

    /// The step's verb in Chinese.
    static func verbZh(_ step: WishStep) -> String {
        switch step {
        case .adopt: "认领"
        case .fulfil: "登记实现"
        case .confirm: "确认"
        }
    }
}

/// Who may do what with micro-wishes: pure rules over a staff member's role and unit.
public enum WishRules {
    /// The roles of a grid's own staff.
    static let gridRoles: Set<String> = ["grid-worker", "grid-leader"]

    /// Why `role` at `unit` may not collect a wish of a household of `grid` or confirm one with
    /// its resident, or `nil`: the grid's own staff (grid worker, grid leader).
    public static func refusal(toRecordFor grid: String, role: String, unit: UnitRef?, staff: String) -> String? {
        guard gridRoles.contains(role), let unit, unit.tier == .grid else {
            return "micro-wishes are collected and confirmed by the household's grid staff; not \(staff) (\(role))"
        }
        return unit.id == grid ? nil : "the household is in grid:\(grid), not \(unit): its grid's staff collect and confirm its wishes"
    }

    /// Why `role` at `unit` may not record a wish of `grid` (of `street`) adopted or fulfilled,
    /// or `nil`: the grid's own staff, a street officer of its street, or a supervisor.
    public static func refusal(toAdvance step: WishStep, grid: String, street: String, role: String, unit: UnitRef?, staff: String) -> String? {
        let who = "a wish of grid:\(grid) is \(step.target.labelEn) by the grid's staff, an officer of street:\(street) or a supervisor"
        if role == "supervisor" { return nil }
        if gridRoles.contains(role), let unit, unit.tier == .grid {
            return unit.id == grid ? nil : "\(who); not \(staff) (\(unit))"
        }
        if role == "street-officer", let unit, unit.tier == .street {
            return unit.id == street ? nil : "\(who); not \(staff) (\(unit))"
        }
        return "\(who); not \(staff) (\(role))"
    }

    /// Which wishes `role` at `unit` reads: every wish (supervisors and services), those of a
    /// street (street officers), of a grid (grid staff), or none (`nil`).
    public static func readable(role: String, unit: UnitRef?) -> WishReach? {
        if role == "supervisor" || role == "service" || unit?.tier == .oversight { return .all }
        if role == "street-officer", let unit, unit.tier == .street { return .street(unit.id) }
        if gridRoles.contains(role), let unit, unit.tier == .grid { return .grid(unit.id) }
        return nil
    }
}

/// The wishes a reader reaches.
public enum WishReach: Sendable, Equatable {
    case all
    case street(String)
    case grid(String)
}

/// Similar wishes of a street: those of one kind, counted (open: collected or adopted, not yet
/// fulfilled). A street with many wishes of a kind (elders' lunches) is a case for one lasting
/// answer (a canteen) rather than one adopter at a time.
public struct WishCluster: Codable, Sendable, Equatable {
    public var street: String
    /// The street's name, when known.
    public var streetName: String?
    public var kind: WishKind
    public var label: String
    public var labelEn: String
    /// Every wish of the street and kind, whatever its state.
    public var total: Int
    /// Those not fulfilled yet (collected or adopted).
    public var open: Int
    /// Wishes per state (states with none left out).
    public var byState: [String: Int]
    /// Wishes per grid of the street.
    public var grids: [String: Int]

    /// One count of wishes read from storage: `count` wishes of `kind` in `state` in `grid` of `street`.
    public struct Count: Sendable, Equatable {
        public var street: String
        public var grid: String
        public var kind: WishKind
        public var state: WishState
        public var count: Int

        public init(street: String, grid: String, kind: WishKind, state: WishState, count: Int) {
            self.street = street
            self.grid = grid
            self.kind = kind
            self.state = state
            self.count = count
        }
    }

    /// The clusters of `counts`: per street and kind, listed when the street has at least
    /// `minimum` wishes of the kind; the largest first, then by street and kind.
    public static func compute(_ counts: [Count], minimum: Int) -> [WishCluster] {
        var clusters: [String: WishCluster] = [:]
        for count in counts where count.count > 0 {
            let key = "\(count.street)\u{1F}\(count.kind.rawValue)"
            var cluster =
                clusters[key]
                ?? WishCluster(
                    street: count.street,
                    kind: count.kind,
                    label: count.kind.label,
                    labelEn: count.kind.labelEn,
                    total: 0,
                    open: 0,
                    byState: [:],
                    grids: [:]
                )
            cluster.total += count.count
            if count.state.isOpen { cluster.open += count.count }
            cluster.byState[count.state.rawValue, default: 0] += count.count
            cluster.grids[count.grid, default: 0] += count.count
            clusters[key] = cluster
        }
        let order = Dictionary(uniqueKeysWithValues: WishKind.allCases.enumerated().map { ($1, $0) })
        return clusters.values.filter { $0.total >= max(minimum, 1) }.sorted {
            ($0.total, $1.street, order[$1.kind] ?? 0) > ($1.total, $0.street, order[$0.kind] ?? 0)
        }
    }

    public init(
        street: String,
        streetName: String? = nil,
        kind: WishKind,
        label: String,
        labelEn: String,
        total: Int,
        open: Int,
        byState: [String: Int],
        grids: [String: Int]
    ) {
        self.street = street
        self.streetName = streetName
        self.kind = kind
        self.label = label
        self.labelEn = labelEn
        self.total = total
        self.open = open
        self.byState = byState
        self.grids = grids
    }
}
