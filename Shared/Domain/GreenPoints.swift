import Foundation

// Green points (绿币) and the love supermarket (爱心超市): each month a household is scored on
// five items; its score's points go to the household's account, and each grid worker of its
// grid earns a share of them. Households spend their points on goods donated to their street's
// love supermarket. The rules here are pure (no I/O); routing keeps the append-only ledger.

/// One of the five items a household is scored on each month.
public enum GreenPointItem: Int, CaseIterable, Sendable, Codable {
    /// 遵纪守法
    case lawAbiding
    /// 热心公益
    case publicSpirit
    /// 环境整洁
    case cleanAndTidy
    /// 家风文明
    case familyVirtue
    /// 勤劳致富
    case industrious

    /// The item's name as the score sheets print it.
    public var label: String {
        switch self {
        case .lawAbiding: "遵纪守法"
        case .publicSpirit: "热心公益"
        case .cleanAndTidy: "环境整洁"
        case .familyVirtue: "家风文明"
        case .industrious: "勤劳致富"
        }
    }

    /// The item's English name.
    public var labelEn: String {
        switch self {
        case .lawAbiding: "Law-abiding"
        case .publicSpirit: "Public spirit"
        case .cleanAndTidy: "Clean and tidy"
        case .familyVirtue: "Family virtue"
        case .industrious: "Hard work"
        }
    }

    /// The item a score sheet's column names: its Chinese name, its English name or its key
    /// (`lawAbiding`), in any case, with or without spaces, `-` and `_`.
    public init?(column: String) {
        let wanted = Self.folded(column)
        guard let item = Self.allCases.first(where: { [$0.label, $0.labelEn, "\($0)"].map(Self.folded).contains(wanted) }) else {
            return nil
        }
        self = item
    }

    private static func folded(_ text: String) -> String {
        text.lowercased().filter { !$0.isWhitespace && $0 != "-" && $0 != "_" }
    }
}

/// The scale the month's scores are entered on and what they earn (configured per deployment:
/// `ROUTING_POINTS_ITEM_MAX`, `ROUTING_POINTS_PER_SCORE`, `ROUTING_POINTS_WORKER_PERCENT`).
public struct GreenPointScale: Sendable, Equatable {
    /// Each item is scored 0…`itemMax`.
    public var itemMax: Int
    /// Points per score point.
    public var perScore: Int
    /// Each grid worker of the household's grid earns this percentage of its points.
    public var workerPercent: Int

    public init(itemMax: Int = 10, perScore: Int = 1, workerPercent: Int = 10) {
        self.itemMax = itemMax
        self.perScore = perScore
        self.workerPercent = workerPercent
    }

    /// Why the scale itself is unusable (a configuration error), or `nil`.
    public var problem: String? {
        if !(1...1000).contains(itemMax) { return "the item maximum must be 1–1000, not \(itemMax)" }
        if !(1...1000).contains(perScore) { return "the points per score must be 1–1000, not \(perScore)" }
        if !(0...100).contains(workerPercent) { return "the worker's percentage must be 0–100, not \(workerPercent)" }
        return nil
    }

    /// Why `items` is not a score row on this scale, or `nil`: exactly five items, each 0…max.
    public func problem(with items: [Int]) -> String? {
        guard items.count == GreenPointItem.allCases.count else {
            return "five items (\(GreenPointItem.allCases.map(\.label).joined(separator: "、"))), not \(items.count)"
        }
        let wrong = zip(GreenPointItem.allCases, items).filter { !(0...itemMax).contains($0.1) }
        guard wrong.isEmpty else {
            return wrong.map { "\($0.0.label) (\($0.0.labelEn)) must be 0–\(itemMax), not \($0.1)" }.joined(separator: "; ")
        }
        return nil
    }

    /// The points a valid score row earns the household: the items' sum times the points per score.
    public func points(of items: [Int]) -> Int {
        items.reduce(0, +) * perScore
    }

    /// What each grid worker earns from a household's `points`: the percentage, rounded down
    /// (per household, so a grid of many small scores earns less than the share of their sum).
    public func workerShare(of points: Int) -> Int {
        max(0, points) * workerPercent / 100
    }
}

/// A month, `yyyy-MM`.
public enum PointsMonth {
    /// Whether `text` is a month `yyyy-MM` (years 2000–9999, months 01–12).
    public static func isValid(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.count == 7, parts.count == 2, parts[0].count == 4, parts[1].count == 2,
            parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
            let year = Int(parts[0]), let month = Int(parts[1])
        else { return false }
        return (2000...9999).contains(year) && (1...12).contains(month)
    }
}

/// One household's score for a month, as entered.
public struct GreenPointScoreRow: Sendable, Equatable {
    public var householdId: String
    /// The five items, in ``GreenPointItem`` order.
    public var items: [Int]
    /// The sheet line it came from (CSV), if any.
    public var line: Int?

    public init(householdId: String, items: [Int], line: Int? = nil) {
        self.householdId = householdId
        self.items = items
        self.line = line
    }
}

/// A month's score sheet as CSV: a header `household,遵纪守法,热心公益,环境整洁,家风文明,勤劳致富`
/// (the items also by their English names, in any order), then one row per household. Excel's
/// UTF-8 BOM, CRLF line ends, blank lines and RFC 4180 quotes are accepted.
public enum GreenPointSheet {
    /// The header a sheet starts with.
    public static let header = (["household"] + GreenPointItem.allCases.map(\.label)).joined(separator: ",")
    /// At most this many field errors are reported (the first ones).
    public static let maxErrors = 50

    /// The rows of `text` on `scale`, or every problem found, each naming its line and column
    /// (`line 4, 环境整洁`). Rows are returned only when there is no problem at all.
    public static func parse(_ text: String, scale: GreenPointScale, maxRows: Int = 5000) -> Result<[GreenPointScoreRow], GreenPointSheetErrors> {
        var errors: [FieldError] = []
        func fail(_ field: String, _ code: String, _ message: String) {
            if errors.count < maxErrors { errors.append(FieldError(field: field, code: code, message: message)) }
        }
        let body = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        // Swift reads CRLF as one Character: each of LF, CRLF and CR ends a line.
        let lines = body.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }).map(String.init)
        let numbered = lines.enumerated().map { (number: $0.offset + 1, text: $0.element) }.filter {
            !$0.text.trimmingCharacters(in: .whitespaces).isEmpty
        }
        guard let first = numbered.first else {
            return .failure(
                GreenPointSheetErrors(errors: [FieldError(field: "line 1", code: "required", message: "the sheet is empty; it starts with \(header)")]
                )
            )
        }
        // The header: which column holds the household and which each item.
        var householdColumn: Int?
        var itemColumns: [GreenPointItem: Int] = [:]
        let names: [String]
        switch fields(of: first.text) {
        case .success(let found): names = found.map { $0.trimmingCharacters(in: .whitespaces) }
        case .failure(let problem):
            return .failure(GreenPointSheetErrors(errors: [FieldError(field: "line \(first.number)", code: "invalid", message: problem.message)]))
        }
        for (index, name) in names.enumerated() {
            if ["household", "householdid", "户", "户号", "住户"].contains(name.lowercased()) {
                if householdColumn != nil { fail("line \(first.number), \(name)", "duplicate", "the household column appears twice") }
                householdColumn = index
            } else if let item = GreenPointItem(column: name) {
                if itemColumns[item] != nil { fail("line \(first.number), \(name)", "duplicate", "\(item.label) appears twice") }
                itemColumns[item] = index
            } else {
                fail("line \(first.number), \(name.isEmpty ? "column \(index + 1)" : name)", "unknown", "not a column of the sheet (\(header))")
            }
        }
        if householdColumn == nil { fail("line \(first.number), household", "required", "the header needs a household column (\(header))") }
        for item in GreenPointItem.allCases where itemColumns[item] == nil {
            fail("line \(first.number), \(item.label)", "required", "the header needs the column \(item.label) (\(item.labelEn))")
        }
        guard errors.isEmpty, let householdColumn else { return .failure(GreenPointSheetErrors(errors: errors)) }
        // The rows.
        var rows: [GreenPointScoreRow] = []
        var firstLine: [String: Int] = [:]
        let data = numbered.dropFirst()
        if data.isEmpty { fail("line \(first.number + 1)", "required", "no households below the header") }
        if data.count > maxRows { fail("line \(data.dropFirst(maxRows).first?.number ?? 0)", "too_many", "at most \(maxRows) households a sheet") }
        for line in data.prefix(maxRows) {
            let values: [String]
            switch fields(of: line.text) {
            case .success(let found): values = found.map { $0.trimmingCharacters(in: .whitespaces) }
            case .failure(let problem):
                fail("line \(line.number)", "invalid", problem.message)
                continue
            }
            guard values.count == names.count else {
                fail("line \(line.number)", "invalid", "\(values.count) fields; the header has \(names.count)")
                continue
            }
            let household = values[householdColumn]
            if !UnitRef.isValidID(household) {
                fail("line \(line.number), household", "invalid", household.isEmpty ? "is required" : "'\(household)' is not a household id")
            } else if let earlier = firstLine[household] {
                fail("line \(line.number), household", "duplicate", "\(household) is on line \(earlier) too")
            } else {
                firstLine[household] = line.number
            }
            var items: [Int] = []
            for item in GreenPointItem.allCases {
                let value = values[itemColumns[item]!]
                if let score = Int(value), (0...scale.itemMax).contains(score) {
                    items.append(score)
                } else {
                    fail("line \(line.number), \(item.label)", "invalid", "a whole number 0–\(scale.itemMax), not '\(value.prefix(20))'")
                }
            }
            if items.count == GreenPointItem.allCases.count {
                rows.append(GreenPointScoreRow(householdId: household, items: items, line: line.number))
            }
        }
        return errors.isEmpty ? .success(rows) : .failure(GreenPointSheetErrors(errors: errors))
    }

    /// Why a line is not CSV.
    struct LineProblem: Error {
        var message: String
    }

    /// The fields of one CSV line (quotes as in RFC 4180; a quoted field may hold commas and `""`).
    static func fields(of line: String) -> Result<[String], LineProblem> {
        var fields: [String] = []
        var field = ""
        var quoted = false
        var wasQuoted = false
        var characters = Array(line)[...]
        while let character = characters.popFirst() {
            if quoted {
                if character == "\"" {
                    if characters.first == "\"" {
                        field.append("\"")
                        characters.removeFirst()
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(character)
                }
            } else if character == "," {
                fields.append(field)
                field = ""
                wasQuoted = false
            } else if character == "\"" {
                guard field.trimmingCharacters(in: .whitespaces).isEmpty, !wasQuoted else {
                    return .failure(LineProblem(message: "a quote in the middle of a field"))
                }
                field = ""
                quoted = true
                wasQuoted = true
            } else {
                if wasQuoted, !character.isWhitespace { return .failure(LineProblem(message: "text after a quoted field's closing quote")) }
                field.append(character)
            }
        }
        if quoted { return .failure(LineProblem(message: "a quoted field is not closed on its line")) }
        fields.append(field)
        return .success(fields)
    }
}

/// Every problem of a score sheet, each naming its line and column.
public struct GreenPointSheetErrors: Error, Sendable, Equatable {
    public var errors: [FieldError]
    public init(errors: [FieldError]) { self.errors = errors }
}

/// A points account: a household's, or a grid worker's.
public enum PointsAccount: Hashable, Sendable, CustomStringConvertible {
    case household(String)
    case worker(String)

    /// Parses `household:ID` or `worker:ID` (ids as the org spells them).
    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, UnitRef.isValidID(parts[1]) else { return nil }
        switch parts[0] {
        case "household": self = .household(parts[1])
        case "worker": self = .worker(parts[1])
        default: return nil
        }
    }

    public var id: String {
        switch self {
        case .household(let id), .worker(let id): id
        }
    }

    /// `household:ID` or `worker:ID`.
    public var description: String {
        switch self {
        case .household(let id): "household:\(id)"
        case .worker(let id): "worker:\(id)"
        }
    }
}

/// What a ledger entry records.
public enum PointsEntryKind: String, Codable, Sendable, CaseIterable {
    /// Points earned by a month's score.
    case earn
    /// Points spent on goods.
    case redeem
    /// An earlier earn taken back (its month scored again).
    case reversal
}

/// One row of the points ledger (append-only: corrections are new rows, never edits).
public struct PointsEntry: Codable, Sendable, Equatable {
    public var seq: Int
    public var kind: PointsEntryKind
    /// Signed: earns add, redemptions and reversals of earns take away.
    public var points: Int
    public var reason: String
    public var reasonEn: String
    /// What it records: `score:MONTH:HOUSEHOLD:REVISION` or `redemption:ID`.
    public var ref: String
    public var at: Date
    /// The staff member who recorded it.
    public var by: String

    public init(seq: Int, kind: PointsEntryKind, points: Int, reason: String, reasonEn: String, ref: String, at: Date, by: String) {
        self.seq = seq
        self.kind = kind
        self.points = points
        self.reason = reason
        self.reasonEn = reasonEn
        self.ref = ref
        self.at = at
        self.by = by
    }
}

/// An account's statement: its entries in ledger order with the balance after each, and its totals.
public struct PointsStatement: Codable, Sendable, Equatable {
    /// One entry and the balance after it.
    public struct Line: Codable, Sendable, Equatable {
        public var seq: Int
        public var kind: PointsEntryKind
        public var points: Int
        public var balance: Int
        public var reason: String
        public var reasonEn: String
        public var ref: String
        public var at: Date
        public var by: String
    }

    public var account: String
    public var balance: Int
    /// Points earned (before reversals).
    public var earned: Int
    /// Points spent (a positive number).
    public var redeemed: Int
    /// Points taken back by corrections (a positive number).
    public var reversed: Int
    public var entries: [Line]

    /// The statement of `account` from its ledger `entries` (in any order: they are read by
    /// `seq`). The balance is never negative: an entry that would take it below zero means the
    /// ledger is not one routing wrote (``PointsLedgerError``).
    public static func make(account: String, entries: [PointsEntry]) throws(PointsLedgerError) -> PointsStatement {
        var statement = PointsStatement(account: account, balance: 0, earned: 0, redeemed: 0, reversed: 0, entries: [])
        for entry in entries.sorted(by: { $0.seq < $1.seq }) {
            statement.balance += entry.points
            guard statement.balance >= 0 else { throw PointsLedgerError(account: account, seq: entry.seq, balance: statement.balance) }
            switch entry.kind {
            case .earn: statement.earned += entry.points
            case .redeem: statement.redeemed -= entry.points
            case .reversal: statement.reversed -= entry.points
            }
            statement.entries.append(
                Line(
                    seq: entry.seq,
                    kind: entry.kind,
                    points: entry.points,
                    balance: statement.balance,
                    reason: entry.reason,
                    reasonEn: entry.reasonEn,
                    ref: entry.ref,
                    at: entry.at,
                    by: entry.by
                )
            )
        }
        return statement
    }
}

/// A ledger whose running balance goes below zero at `seq`: not one routing wrote.
public struct PointsLedgerError: Error, Sendable, Equatable, CustomStringConvertible {
    public var account: String
    public var seq: Int
    public var balance: Int

    public init(account: String, seq: Int, balance: Int) {
        self.account = account
        self.seq = seq
        self.balance = balance
    }

    public var description: String { "the ledger of \(account) goes below zero (\(balance)) at entry \(seq)" }
}

/// A love supermarket receipt number: `LX-yyyyMM-000123` (the local month, the redemption's number).
public enum RedemptionReceipt {
    public static func make(month: String, number: Int) -> String {
        let digits = String(number)
        return "LX-\(month.replacingOccurrences(of: "-", with: ""))-\(String(repeating: "0", count: max(0, 6 - digits.count)))\(digits)"
    }
}
