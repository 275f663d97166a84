import Foundation

/// A consultation's rule (议事规则), e.g. `2/3`: an option is carried when at least that share of
/// ALL the consultation's households hold it — `ceil(households × numerator / denominator)` —
/// not merely of those who gave a position.
public struct ConsultationRule: Codable, Sendable, Equatable, CustomStringConvertible {
    public var numerator: Int
    public var denominator: Int

    /// A rule `numerator/denominator` with `0 < numerator ≤ denominator ≤ 1000`, else `nil`.
    public init?(numerator: Int, denominator: Int) {
        guard numerator > 0, numerator <= denominator, denominator <= 1000 else { return nil }
        self.numerator = numerator
        self.denominator = denominator
    }

    /// Parses `2/3` (digits, a slash, digits; within the bounds of ``init(numerator:denominator:)``).
    public init?(_ text: String) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.count <= 4 && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
            let numerator = Int(parts[0]), let denominator = Int(parts[1])
        else { return nil }
        self.init(numerator: numerator, denominator: denominator)
    }

    public var description: String { "\(numerator)/\(denominator)" }

    /// How many of `households` must hold one option: `ceil(households × numerator / denominator)`
    /// (0 for no households: nothing can be carried then, see ``ConsultationTally/reached(by:)``).
    public func needed(of households: Int) -> Int {
        households <= 0 ? 0 : (households * numerator + denominator - 1) / denominator
    }
}

/// A consultation's tally: per grid and overall, the households consulted, how many gave a
/// position and how many hold each option. A household counts once, with its latest position.
/// Pure, so it is tested without I/O.
public struct ConsultationTally: Codable, Sendable, Equatable {
    /// One grid's figures, or all of them (`key` `all`).
    public struct Row: Codable, Sendable, Equatable {
        /// A grid id, or `all`.
        public var key: String
        /// The households of the grid(s) consulted.
        public var households: Int
        /// Households with a position.
        public var positions: Int
        /// Households per option (every option, 0 when nobody holds it).
        public var byOption: [String: Int]

        public init(key: String, households: Int, positions: Int, byOption: [String: Int]) {
            self.key = key
            self.households = households
            self.positions = positions
            self.byOption = byOption
        }
    }

    /// One recorded position (a household's positions are appended; the highest `seq` counts).
    public struct Position: Sendable, Equatable {
        public var household: String
        public var option: String
        public var seq: Int

        public init(household: String, option: String, seq: Int) {
            self.household = household
            self.option = option
            self.seq = seq
        }
    }

    public var all: Row
    public var grids: [Row]

    public init(all: Row, grids: [Row]) {
        self.all = all
        self.grids = grids
    }

    /// The tally of `positions` among `households` (grid → its households). A household's latest
    /// position (highest `seq`) counts; positions of households not consulted, or for an option
    /// that is not one of `options`, are left out. Grids come out sorted by id.
    public static func compute(households: [String: [String]], options: [String], positions: [Position]) -> ConsultationTally {
        var latest: [String: Position] = [:]
        for position in positions where options.contains(position.option) {
            if let held = latest[position.household], held.seq >= position.seq { continue }
            latest[position.household] = position
        }
        let empty = Dictionary(options.map { ($0, 0) }, uniquingKeysWith: { first, _ in first })
        var all = Row(key: "all", households: 0, positions: 0, byOption: empty)
        var counted: Set<String> = []
        var rows: [Row] = []
        for grid in households.keys.sorted() {
            var row = Row(key: grid, households: 0, positions: 0, byOption: empty)
            for household in households[grid] ?? [] where counted.insert(household).inserted {
                row.households += 1
                if let position = latest[household] {
                    row.positions += 1
                    row.byOption[position.option, default: 0] += 1
                }
            }
            all.households += row.households
            all.positions += row.positions
            for (option, count) in row.byOption { all.byOption[option, default: 0] += count }
            rows.append(row)
        }
        return ConsultationTally(all: all, grids: rows)
    }

    /// How many households one option needs under `rule`.
    public func needed(by rule: ConsultationRule) -> Int {
        rule.needed(of: all.households)
    }

    /// The option carried under `rule`: held by at least ``needed(by:)`` of all the households,
    /// and by more than any other option (two options at the top reach nothing: a tie, possible
    /// only under a rule of one half or less). `nil` when none is, and when nobody was consulted.
    public func reached(by rule: ConsultationRule) -> String? {
        let needed = needed(by: rule)
        guard all.households > 0, needed > 0 else { return nil }
        let ranked = all.byOption.sorted { $0.value > $1.value }
        guard let top = ranked.first, top.value >= needed else { return nil }
        if ranked.count > 1, ranked[1].value == top.value { return nil }
        return top.key
    }
}
