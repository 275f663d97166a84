import Foundation

/// A local calendar day (`yyyy-MM-dd`) in the district's time zone.
enum LocalDay {
    static func string(_ date: Date, utcOffset: Int) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: utcOffset) ?? .gmt
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }
}

/// Durations kept as counts in log buckets (four per doubling, so a percentile read from them
/// is within about ±9%): metric `<kind>_h<k>` counts durations in [2^(k/4), 2^((k+1)/4)) seconds.
package enum DurationHistogram {
    package static func bucket(seconds: Double) -> Int {
        seconds < 1 ? 0 : Int(floor(4 * log2(seconds)))
    }

    package static func metric(_ kind: String, seconds: Double) -> String { "\(kind)_h\(bucket(seconds: seconds))" }

    /// The `fraction` percentile (0.5 = median) of the histogram `kind` in `metrics`, as the
    /// geometric middle of its bucket; `nil` without data.
    package static func percentile(_ fraction: Double, kind: String, in metrics: [String: Int64]) -> Double? {
        let prefix = "\(kind)_h"
        var buckets: [(Int, Int64)] = []
        for (metric, count) in metrics where metric.hasPrefix(prefix) {
            if let index = Int(metric.dropFirst(prefix.count)) { buckets.append((index, count)) }
        }
        buckets.sort { $0.0 < $1.0 }
        let total = buckets.reduce(0) { $0 + $1.1 }
        guard total > 0 else { return nil }
        let rank = max(1, Int64((fraction * Double(total)).rounded(.up)))
        var seen: Int64 = 0
        for (index, count) in buckets {
            seen += count
            if seen >= rank { return index == 0 ? 1 : pow(2, (Double(index) + 0.5) / 4) }
        }
        return nil
    }
}

/// A reporting period: `2026-11` (month), `2026-Q4` (quarter), `2026` (year) or a custom
/// `from`/`to` (inclusive local days).
package struct Period: Sendable, Equatable, Codable {
    /// First local day, `yyyy-MM-dd`.
    package var from: String
    /// Last local day, inclusive.
    package var to: String
    package var label: String

    package init(from: String, to: String, label: String) {
        self.from = from
        self.to = to
        self.label = label
    }

    /// Parses `2026-11`, `2026-Q4`, `2026`.
    package init?(parsing text: String) {
        let parts = text.split(separator: "-").map(String.init)
        guard let year = Int(parts.first ?? ""), (2000...2100).contains(year) else { return nil }
        if parts.count == 1 {
            self.init(from: "\(year)-01-01", to: "\(year)-12-31", label: text)
        } else if parts.count == 2, parts[1].hasPrefix("Q"), let quarter = Int(parts[1].dropFirst()), (1...4).contains(quarter) {
            let first = (quarter - 1) * 3 + 1
            self.init(from: String(format: "%04d-%02d-01", year, first), to: Self.lastDay(year: year, month: first + 2), label: text)
        } else if parts.count == 2, let month = Int(parts[1]), (1...12).contains(month) {
            self.init(from: String(format: "%04d-%02d-01", year, month), to: Self.lastDay(year: year, month: month), label: text)
        } else {
            return nil
        }
    }

    /// A custom range of local days (`yyyy-MM-dd`, inclusive).
    package static func custom(from: String, to: String) -> Period? {
        guard isDay(from), isDay(to), from <= to else { return nil }
        return Period(from: from, to: to, label: "\(from)..\(to)")
    }

    /// The month containing `date` in the district's time.
    package static func month(of date: Date, utcOffset: Int) -> Period {
        Period(parsing: String(LocalDay.string(date, utcOffset: utcOffset).prefix(7)))!
    }

    /// The whole months inside the period (`firstMonth`…`lastMonth`, first days; the last whole
    /// month ends on `wholeMonthsEnd`); an empty range (`lastMonth` < `firstMonth`) when none.
    package var monthSplit: (firstMonth: String, lastMonth: String, wholeMonthsEnd: String) {
        let fromYear = Int(from.prefix(4))!
        let fromMonth = Int(from.dropFirst(5).prefix(2))!
        let toYear = Int(to.prefix(4))!
        let toMonth = Int(to.dropFirst(5).prefix(2))!
        var first = fromYear * 12 + fromMonth - 1
        if !from.hasSuffix("-01") { first += 1 }
        var last = toYear * 12 + toMonth - 1
        if to != Self.lastDay(year: toYear, month: toMonth) { last -= 1 }
        func start(_ index: Int) -> String { String(format: "%04d-%02d-01", index / 12, index % 12 + 1) }
        guard first <= last else { return ("9999-12-01", "0001-01-01", "0001-01-01") }
        return (start(first), start(last), Self.lastDay(year: last / 12, month: last % 12 + 1))
    }

    /// Number of months the period spans (at least 1), for duties and subsidies.
    package var months: Int {
        let fromMonth = Int(from.prefix(4))! * 12 + Int(from.dropFirst(5).prefix(2))!
        let toMonth = Int(to.prefix(4))! * 12 + Int(to.dropFirst(5).prefix(2))!
        return max(1, toMonth - fromMonth + 1)
    }

    static func isDay(_ text: String) -> Bool {
        let parts = text.split(separator: "-")
        guard parts.count == 3, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]), (1...12).contains(month) else {
            return false
        }
        return (1...Int(lastDay(year: year, month: month).suffix(2))!).contains(day) && parts[0].count == 4
    }

    static func lastDay(year: Int, month: Int) -> String {
        let days = [31, (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return String(format: "%04d-%02d-%02d", year, month, days)
    }
}

/// Every figure for one row (a grid worker, grid, street, department, tier or the district).
package struct Figures: Sendable, Equatable, Codable {
    package var key: String
    package var name: String
    package var received: Int64
    package var assigned: Int64
    package var claimed: Int64
    package var claimedOnTime: Int64
    package var resolved: Int64
    package var resolvedOnTime: Int64
    package var feedback: Int64
    package var solved: Int64
    package var satisfied: Int64
    package var reopened: Int64
    package var returned: Int64
    package var escalated: Int64
    package var overdue: Int64
    /// Claimed within the claim deadline / assigned (响应率 as GridLoop's work counters measure
    /// it; ``Rates12345/response`` is the 12345 hotline's, from the follow-up answers).
    package var responseRate: Double?
    /// Confirmed solved at feedback / feedback given (解决率; the same as ``Rates12345/resolution``).
    package var resolutionRate: Double?
    /// Satisfied or basically satisfied, both counting 1 / feedback given (满意率;
    /// ``Rates12345/satisfaction`` counts "basically satisfied" at its configured weight).
    package var satisfactionRate: Double?
    package var onTimeResolutionRate: Double?
    package var reopenRate: Double?
    package var returnRate: Double?
    /// Escalations ("whistles" up a tier) / assigned.
    package var escalationRate: Double?
    package var medianClaimSeconds: Double?
    package var p90ClaimSeconds: Double?
    package var medianResolveSeconds: Double?
    package var p90ResolveSeconds: Double?
    /// The three rates as the 12345 hotline computes them from the same feedback, and their
    /// composite (see ``Rates12345``): an answer counts as contacted unless the resident said
    /// through the follow-up link that nobody contacted them (staff who record a verdict have
    /// reached the resident); `satisfied` there is the "satisfied" answers only.
    package var rates12345: Rates12345

    /// Figures from summed counters. `origin` reads the `origin_*` feedback counters (a grid
    /// worker's own residents) instead of the resolving unit's; `rates` weighs ``rates12345``.
    package init(key: String, name: String, metrics m: [String: Int64], origin: Bool = false, rates: Rates12345Rules = Rates12345Rules()) {
        func value(_ metric: String) -> Int64 { m[metric] ?? 0 }
        func rate(_ part: Int64, _ whole: Int64) -> Double? { whole == 0 ? nil : Double(part) / Double(whole) }
        let feedbackPrefix = origin ? "origin_" : ""
        self.key = key
        self.name = name
        received = value("received")
        assigned = value("assigned")
        claimed = value("claimed")
        claimedOnTime = value("claimed_on_time")
        resolved = value("resolved")
        resolvedOnTime = value("resolved_on_time")
        feedback = value(feedbackPrefix + "feedback")
        solved = value(feedbackPrefix + "solved")
        satisfied = value(feedbackPrefix + "satisfied")
        reopened = value(feedbackPrefix + "reopened")
        returned = value("returned_from")
        escalated = value("escalated_from")
        overdue = value("overdue")
        responseRate = rate(claimedOnTime, assigned)
        resolutionRate = rate(solved, feedback)
        satisfactionRate = rate(satisfied, feedback)
        onTimeResolutionRate = rate(resolvedOnTime, resolved)
        reopenRate = rate(reopened, feedback)
        returnRate = rate(returned, assigned)
        escalationRate = rate(escalated, assigned)
        medianClaimSeconds = DurationHistogram.percentile(0.5, kind: "claim", in: m)
        p90ClaimSeconds = DurationHistogram.percentile(0.9, kind: "claim", in: m)
        medianResolveSeconds = DurationHistogram.percentile(0.5, kind: "resolve", in: m)
        p90ResolveSeconds = DurationHistogram.percentile(0.9, kind: "resolve", in: m)
        let basically = min(value(feedbackPrefix + "basically"), satisfied)
        rates12345 = Rates12345(
            answered: feedback,
            contacted: feedback - min(value(feedbackPrefix + "not_contacted"), feedback),
            solved: solved,
            satisfied: satisfied - basically,
            basicallySatisfied: basically,
            rules: rates
        )
    }

    /// The CSV columns, in order.
    package static let columns = [
        "key", "name", "received", "assigned", "claimed", "claimed_on_time", "response_rate", "resolved", "resolved_on_time",
        "on_time_resolution_rate",
        "feedback", "solved", "resolution_rate", "satisfied", "satisfaction_rate", "reopened", "reopen_rate", "returned", "return_rate",
        "escalated", "escalation_rate", "overdue", "median_claim_seconds", "p90_claim_seconds", "median_resolve_seconds", "p90_resolve_seconds",
        "rates12345_response", "rates12345_resolution", "rates12345_satisfaction", "rates12345_composite", "rates12345_answered",
        "rates12345_contacted",
        "rates12345_solved", "rates12345_satisfied", "rates12345_basically_satisfied",
    ]

    package var csvValues: [String] {
        func number(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "" }
        func seconds(_ value: Double?) -> String { value.map { String(Int($0.rounded())) } ?? "" }
        return [
            key, name, "\(received)", "\(assigned)", "\(claimed)", "\(claimedOnTime)", number(responseRate), "\(resolved)", "\(resolvedOnTime)",
            number(onTimeResolutionRate), "\(feedback)", "\(solved)", number(resolutionRate), "\(satisfied)", number(satisfactionRate), "\(reopened)",
            number(reopenRate), "\(returned)", number(returnRate), "\(escalated)", number(escalationRate), "\(overdue)",
            seconds(medianClaimSeconds), seconds(p90ClaimSeconds), seconds(medianResolveSeconds), seconds(p90ResolveSeconds),
            number(rates12345.response), number(rates12345.resolution), number(rates12345.satisfaction), number(rates12345.composite),
            "\(rates12345.answered)", "\(rates12345.contacted)", "\(rates12345.solved)", "\(rates12345.satisfied)",
            "\(rates12345.basicallySatisfied)",
        ]
    }
}

/// CSV as spreadsheets expect it: UTF-8 with a byte-order mark, CRLF, quoted where needed.
package enum CSV {
    package static func render(header: [String], rows: [[String]]) -> String {
        func field(_ text: String) -> String {
            guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
            return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return "\u{FEFF}" + ([header] + rows).map { $0.map(field).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
    }
}
