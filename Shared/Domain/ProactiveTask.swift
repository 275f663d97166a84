import Foundation

/// 未诉先办: a street or the district opens a task for grids before anyone complains
/// ("inspect every household's wiring before the rainy season"); each grid's staff check their
/// households, marking each checked — or, when a hazard is found, reporting it as a request
/// linked to the task. Coverage is checked households over the org's households.
public enum TaskCheckOutcome: String, Codable, Sendable, CaseIterable {
    /// Checked, nothing wrong.
    case ok
    /// A hazard found: reported as a request linked to the task.
    case hazard
}

/// Payload of `task.opened`.
public struct TaskOpened: Codable, Sendable, Equatable {
    public var taskId: String
    public var title: String
    /// The category a hazard found is reported under.
    public var category: String
    /// The grids it reaches.
    public var grids: [String]
    /// The last local day to check by, `yyyy-MM-dd`.
    public var dueOn: String
    public var openedBy: String
    /// The unit that opened it (a street or the district's oversight).
    public var unit: UnitRef

    public init(taskId: String, title: String, category: String, grids: [String], dueOn: String, openedBy: String, unit: UnitRef) {
        self.taskId = taskId
        self.title = title
        self.category = category
        self.grids = grids
        self.dueOn = dueOn
        self.openedBy = openedBy
        self.unit = unit
    }
}

/// Payload of `task.checked`: one household checked for a task.
public struct TaskChecked: Codable, Sendable, Equatable {
    public var taskId: String
    public var householdId: String
    public var grid: String
    public var staff: String
    public var outcome: TaskCheckOutcome
    /// For a hazard: the request it was reported as.
    public var requestId: String?
    /// The household had been checked before (a hazard found after it was marked checked): not
    /// counted as a check again.
    public var recheck: Bool?

    public init(
        taskId: String,
        householdId: String,
        grid: String,
        staff: String,
        outcome: TaskCheckOutcome,
        requestId: String? = nil,
        recheck: Bool? = nil
    ) {
        self.recheck = recheck
        self.taskId = taskId
        self.householdId = householdId
        self.grid = grid
        self.staff = staff
        self.outcome = outcome
        self.requestId = requestId
    }
}

/// A task's coverage: per grid and in all, how many of the org's households were checked, how
/// many by the due day, and how many hazards were found. Pure, so it is tested without I/O.
public struct TaskCoverage: Codable, Sendable, Equatable {
    public struct Row: Codable, Sendable, Equatable {
        /// A grid id (per grid), a street id (per street) or `all`.
        public var key: String
        public var households: Int
        public var checked: Int
        public var onTime: Int
        public var hazards: Int

        /// checked / households (0 without households).
        public var coverage: Double { households == 0 ? 0 : Double(checked) / Double(households) }
        public var complete: Bool { households > 0 && checked >= households }

        public init(key: String, households: Int = 0, checked: Int = 0, onTime: Int = 0, hazards: Int = 0) {
            self.key = key
            self.households = households
            self.checked = checked
            self.onTime = onTime
            self.hazards = hazards
        }

        enum CodingKeys: String, CodingKey { case key, households, checked, onTime, hazards, coverage, complete }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(
                key: try c.decode(String.self, forKey: .key),
                households: try c.decode(Int.self, forKey: .households),
                checked: try c.decode(Int.self, forKey: .checked),
                onTime: try c.decode(Int.self, forKey: .onTime),
                hazards: try c.decode(Int.self, forKey: .hazards)
            )
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(key, forKey: .key)
            try c.encode(households, forKey: .households)
            try c.encode(checked, forKey: .checked)
            try c.encode(onTime, forKey: .onTime)
            try c.encode(hazards, forKey: .hazards)
            try c.encode(coverage, forKey: .coverage)
            try c.encode(complete, forKey: .complete)
        }
    }

    /// One household's check.
    public struct Check: Sendable, Equatable {
        public var household: String
        public var at: Date
        public var outcome: TaskCheckOutcome

        public init(household: String, at: Date, outcome: TaskCheckOutcome) {
            self.household = household
            self.at = at
            self.outcome = outcome
        }
    }

    public var grids: [Row]
    public var streets: [Row]
    public var all: Row

    /// Coverage of `households` (grid → its households; `streetOf` grid → street) by `checks`,
    /// on time when made before `dueBy`. A check of a household the org does not list for the
    /// task's grids does not count.
    public static func compute(households: [String: [String]], streetOf: [String: String], checks: [Check], dueBy: Date) -> TaskCoverage {
        var gridOf: [String: String] = [:]
        for (grid, members) in households { for household in members { gridOf[household] = grid } }
        var rows = Dictionary(uniqueKeysWithValues: households.map { ($0.key, Row(key: $0.key, households: $0.value.count)) })
        var seen: Set<String> = []
        for check in checks.sorted(by: { $0.at < $1.at }) {
            guard let grid = gridOf[check.household], seen.insert(check.household).inserted else { continue }
            rows[grid]?.checked += 1
            if check.at < dueBy { rows[grid]?.onTime += 1 }
            if check.outcome == .hazard { rows[grid]?.hazards += 1 }
        }
        let grids = rows.values.sorted { $0.key < $1.key }
        func sum(_ key: String, _ rows: [Row]) -> Row {
            rows.reduce(Row(key: key)) {
                Row(
                    key: key,
                    households: $0.households + $1.households,
                    checked: $0.checked + $1.checked,
                    onTime: $0.onTime + $1.onTime,
                    hazards: $0.hazards + $1.hazards
                )
            }
        }
        let streets = Dictionary(grouping: grids) { streetOf[$0.key] ?? "-" }.map { sum($0.key, $0.value) }.sorted { $0.key < $1.key }
        return TaskCoverage(grids: grids, streets: streets, all: sum("all", grids))
    }
}
