import Foundation

/// A daily window (in the district's local time) in which a staff member is not disturbed:
/// non-urgent notifications wait until it ends. `22:00-07:00` spans midnight.
public struct QuietHours: Sendable, Equatable, Codable {
    /// Seconds after local midnight when the quiet starts and ends.
    public var start: Int
    public var end: Int

    public init(start: Int, end: Int) {
        self.start = start
        self.end = end
    }

    /// Parses `22:00-07:00` (start and end differ; an end before the start spans midnight).
    public init?(parsing text: String) {
        let parts = text.split(separator: "-").map { $0.trimmingCharacters(in: .whitespaces).split(separator: ":").compactMap { Int($0) } }
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 && (0...23).contains($0[0]) && (0...59).contains($0[1]) }) else { return nil }
        let start = parts[0][0] * 3600 + parts[0][1] * 60
        let end = parts[1][0] * 3600 + parts[1][1] * 60
        guard start != end else { return nil }
        self.init(start: start, end: end)
    }

    /// `HH:MM-HH:MM`.
    public var text: String {
        func clock(_ seconds: Int) -> String { String(format: "%02d:%02d", seconds / 3600, seconds % 3600 / 60) }
        return "\(clock(start))-\(clock(end))"
    }

    /// When the quiet that `date` falls in ends, or `nil` when `date` is not in quiet hours.
    /// - Parameter utcOffset: the district's offset from UTC in seconds.
    public func end(ofQuietAround date: Date, utcOffset: Int) -> Date? {
        let local = Int(floor(date.timeIntervalSince1970)) + utcOffset
        let secondOfDay = ((local % 86400) + 86400) % 86400
        let midnight = date.addingTimeInterval(-Double(secondOfDay) - date.timeIntervalSince1970.truncatingRemainder(dividingBy: 1))
        if start < end {
            guard secondOfDay >= start, secondOfDay < end else { return nil }
            return midnight.addingTimeInterval(Double(end))
        }
        // Spans midnight: quiet from `start` to 24:00 and from 00:00 to `end`.
        if secondOfDay >= start { return midnight.addingTimeInterval(Double(86400 + end)) }
        if secondOfDay < end { return midnight.addingTimeInterval(Double(end)) }
        return nil
    }
}
