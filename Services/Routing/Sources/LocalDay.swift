import Foundation
import Logging
import PostgresNIO

/// A local day of the org, `yyyy-MM-dd`: parsed strictly (no 30 February), its end as an
/// instant at the org's UTC offset, and the day an instant falls on. Pure.
/// Tasks, notices, consultations and green points all count their days this way.
package enum LocalDay {
    /// `text` as (year, month, day) when it is a real day written `yyyy-MM-dd`, else `nil`.
    package static func parse(_ text: String) -> (year: Int, month: Int, day: Int)? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.count == 10, parts.count == 3, parts.map(\.count) == [4, 2, 2],
            parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } })
        else {
            return nil
        }
        let numbers = parts.compactMap { Int($0) }
        guard numbers.count == 3 else { return nil }
        var gregorian = Calendar(identifier: .gregorian)
        gregorian.timeZone = .gmt
        guard let date = gregorian.date(from: DateComponents(year: numbers[0], month: numbers[1], day: numbers[2])) else { return nil }
        let back = gregorian.dateComponents([.year, .month, .day], from: date)
        guard back.year == numbers[0], back.month == numbers[1], back.day == numbers[2] else { return nil }
        return (numbers[0], numbers[1], numbers[2])
    }

    /// The end of local day `day` (the first instant of the next day) at `utcOffset` seconds
    /// east of UTC; `nil` for a day that does not parse.
    package static func end(of day: String, utcOffset: Int) -> Date? {
        guard let (year, month, date) = parse(day) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: utcOffset) ?? .gmt
        return calendar.date(from: DateComponents(year: year, month: month, day: date))?.addingTimeInterval(86_400)
    }

    /// The local day `instant` falls on at `utcOffset`, `yyyy-MM-dd`.
    package static func day(of instant: Date, utcOffset: Int) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: utcOffset) ?? .gmt
        let parts = calendar.dateComponents([.year, .month, .day], from: instant)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    /// The org's UTC offset in seconds: its SLA calendar's (`routing.settings`), Beijing time by default.
    package static func utcOffset(on postgres: PostgresClient, logger: Logger) async throws -> Int {
        let text = try await postgres.query("SELECT value FROM routing.settings WHERE key = 'sla'", logger: logger).collect().first?.decode(
            String.self
        )
        return text.flatMap(SLASettings.decoded)?.calendar?.utcOffset ?? 8 * 3600
    }

    /// The local month `instant` falls in at `utcOffset`, `yyyy-MM`.
    package static func month(of instant: Date, utcOffset: Int) -> String { String(day(of: instant, utcOffset: utcOffset).prefix(7)) }
}
