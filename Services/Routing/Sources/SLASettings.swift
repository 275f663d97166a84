import Foundation
import GridLoopDomain

/// How deadlines are counted: a working calendar for ordinary categories, wall-clock time for
/// urgent ones. Stored with the org (`routing.settings`, key `sla`).
package struct SLASettings: Codable, Sendable, Equatable {
    package var calendar: WorkingCalendarSettings?
    package var urgent: Set<String>

    /// Emergencies and utility outages run on wall-clock time unless the org file says otherwise.
    package static let defaultUrgent = OrgFile.defaultUrgent

    package struct WorkingCalendarSettings: Codable, Sendable, Equatable {
        var opens: Int
        var closes: Int
        var weekdays: [Int]
        var holidays: [String]
        var utcOffset: Int
    }

    package init(calendar: WorkingCalendar?, urgent: Set<String>) {
        self.calendar = calendar.map {
            WorkingCalendarSettings(
                opens: $0.opens,
                closes: $0.closes,
                weekdays: $0.weekdays.sorted(),
                holidays: $0.holidays.sorted(),
                utcOffset: $0.utcOffset
            )
        }
        self.urgent = urgent
    }

    /// The deadline `duration` after `start` for `category`.
    package func deadline(after start: Date, _ duration: Duration, category: String) -> Date {
        guard let calendar, !urgent.contains(category) else {
            return start.addingTimeInterval(Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
        }
        return WorkingCalendar(
            opens: calendar.opens,
            closes: calendar.closes,
            weekdays: Set(calendar.weekdays),
            holidays: Set(calendar.holidays),
            utcOffset: calendar.utcOffset
        )
        .adding(duration, to: start)
    }

    func encoded() throws -> String { String(decoding: try JSONEncoder().encode(self), as: UTF8.self) }
    static func decoded(_ text: String) -> SLASettings? { try? JSONDecoder().decode(SLASettings.self, from: Data(text.utf8)) }
}
