import Foundation
import GridLoopDomain
import Testing

@Suite("Working calendar")
struct WorkingCalendarTests {
    /// 2026-11-27 is a Friday. Times are Beijing time (+08:00).
    func beijing(_ text: String) -> Date { Timestamp.parse(text + "+08:00")! }
    let calendar = WorkingCalendar(holidays: ["2026-11-30"])

    @Test func withinTheDay() {
        #expect(calendar.adding(.seconds(2 * 3600), to: beijing("2026-11-27T09:00:00")) == beijing("2026-11-27T11:00:00"))
    }

    @Test func overTheWeekendAndAHoliday() {
        // Friday 16:30 + 2 h: one hour on Friday, then Monday is a holiday, so Tuesday 09:30.
        #expect(calendar.adding(.seconds(2 * 3600), to: beijing("2026-11-27T16:30:00")) == beijing("2026-12-01T09:30:00"))
    }

    @Test func beforeOpeningAndAfterClosing() {
        #expect(calendar.adding(.seconds(1800), to: beijing("2026-11-26T06:00:00")) == beijing("2026-11-26T09:00:00"))
        #expect(calendar.adding(.seconds(1800), to: beijing("2026-11-26T20:00:00")) == beijing("2026-11-27T09:00:00"))
    }

    @Test func sevenWorkingDaysOfNineHours() {
        let due = calendar.adding(.seconds(7 * 9 * 3600), to: beijing("2026-11-26T08:30:00"))
        // Thu, Fri, (weekend), (Mon holiday), Tue, Wed, Thu, Fri, Mon → the seventh working day ends Monday 17:30.
        #expect(due == beijing("2026-12-07T17:30:00"))
    }

    @Test func parsesHours() {
        #expect(WorkingCalendar.parseHours("08:30-17:30")! == (30600, 63000))
        #expect(WorkingCalendar.parseHours("18:00-09:00") == nil)
        #expect(WorkingCalendar.parseHours("8-17") == nil)
    }
}
