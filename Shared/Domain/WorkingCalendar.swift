import Foundation

/// Working time for SLA deadlines: working hours on working days, minus holidays, in the
/// district's time zone. Urgent categories run on wall-clock time instead.
public struct WorkingCalendar: Sendable, Equatable {
    /// Seconds after midnight when work starts and ends (e.g. 08:30 → 30600).
    public var opens: Int
    public var closes: Int
    /// ISO weekdays that are working days (1 = Monday … 7 = Sunday).
    public var weekdays: Set<Int>
    /// `yyyy-MM-dd` dates that are not working days.
    public var holidays: Set<String>
    /// Offset of the district's time zone from UTC, in seconds (China: +8 h).
    public var utcOffset: Int

    public init(
        opens: Int = 8 * 3600 + 1800,
        closes: Int = 17 * 3600 + 1800,
        weekdays: Set<Int> = [1, 2, 3, 4, 5],
        holidays: Set<String> = [],
        utcOffset: Int = 8 * 3600
    ) {
        self.opens = opens
        self.closes = closes
        self.weekdays = weekdays
        self.holidays = holidays
        self.utcOffset = utcOffset
    }

    /// Parses `08:30-17:30`.
    public static func parseHours(_ text: String) -> (Int, Int)? {
        let parts = text.split(separator: "-").map { $0.split(separator: ":").compactMap { Int($0) } }
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 && (0...23).contains($0[0]) && (0...59).contains($0[1]) }) else { return nil }
        let opens = parts[0][0] * 3600 + parts[0][1] * 60
        let closes = parts[1][0] * 3600 + parts[1][1] * 60
        return opens < closes ? (opens, closes) : nil
    }

    /// `start` plus `duration` of working time.
    public func adding(_ duration: Duration, to start: Date) -> Date {
        var remaining = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        guard !weekdays.isEmpty, closes > opens else { return start.addingTimeInterval(remaining) }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: utcOffset) ?? .gmt
        var cursor = start
        for _ in 0..<3660 {  // at most ten years of days
            let day = calendar.startOfDay(for: cursor)
            let open = day.addingTimeInterval(Double(opens))
            let close = day.addingTimeInterval(Double(closes))
            if isWorkingDay(day, calendar: calendar), cursor < close {
                let from = max(cursor, open)
                let available = close.timeIntervalSince(from)
                if remaining <= available { return from.addingTimeInterval(remaining) }
                remaining -= available
            }
            cursor = calendar.date(byAdding: .day, value: 1, to: day) ?? day.addingTimeInterval(86400)
        }
        return start.addingTimeInterval(remaining)
    }

    private func isWorkingDay(_ day: Date, calendar: Calendar) -> Bool {
        let weekday = calendar.component(.weekday, from: day)  // 1 = Sunday
        let iso = weekday == 1 ? 7 : weekday - 1
        guard weekdays.contains(iso) else { return false }
        let parts = calendar.dateComponents([.year, .month, .day], from: day)
        let text = String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
        return !holidays.contains(text)
    }
}
