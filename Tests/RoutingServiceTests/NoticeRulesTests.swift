import Foundation
import GridLoopAuth
import GridLoopDomain
import RoutingService
import Testing

@Suite("Policy notices (上情下达): days, input, who may publish and inform, SMS numbers and tokens, lagging grids")
struct NoticeRulesTests {
    let beijing = 8 * 3600

    @Test("local days: strict yyyy-MM-dd, the end of the day at the org's offset, the day an instant falls on")
    func localDays() throws {
        let parsed = try #require(LocalDay.parse("2030-06-30"))
        #expect(parsed.year == 2030 && parsed.month == 6 && parsed.day == 30)
        for bad in ["2030-02-30", "2030-13-01", "2030-6-30", "30-06-2030", "2030-06-30T00", "soon", "", "２０３０-06-30", "+030-06-30"] {
            #expect(LocalDay.parse(bad) == nil, "\(bad)")
        }
        #expect(LocalDay.parse("2028-02-29") != nil, "a leap day")
        // The end of 30 June in Beijing is 1 July 00:00 +08:00 = 30 June 16:00 UTC.
        let end = try #require(LocalDay.end(of: "2030-06-30", utcOffset: beijing))
        #expect(end == ISO8601DateFormatter().date(from: "2030-06-30T16:00:00Z"))
        #expect(LocalDay.end(of: "2030-06-30", utcOffset: 0) == ISO8601DateFormatter().date(from: "2030-07-01T00:00:00Z"))
        #expect(LocalDay.end(of: "2030-02-30", utcOffset: beijing) == nil)
        let lateUTC = try #require(ISO8601DateFormatter().date(from: "2030-06-30T17:30:00Z"))
        #expect(LocalDay.day(of: lateUTC, utcOffset: beijing) == "2030-07-01", "already the next day in Beijing")
        #expect(LocalDay.day(of: lateUTC, utcOffset: 0) == "2030-06-30")
        #expect(LocalDay.day(of: end.addingTimeInterval(-1), utcOffset: beijing) == "2030-06-30", "the last second of the due day")
    }

    @Test("a notice's input: every wrong field named at once, texts trimmed, a due day already over refused")
    func noticeInput() {
        let good = NoticeDraft(
            title: "  疫情防控告知书 ",
            body: "请各商户做好通风消毒。\n",
            attachments: [NoticeAttachment(name: " 告知书全文 ", url: "https://example.org/notice.pdf")],
            dueOn: "2030-06-30",
            kind: "merchants"
        )
        let checked = NoticeRules.check(good, today: "2030-06-01")
        #expect(checked.errors.isEmpty)
        #expect(checked.draft.title == "疫情防控告知书" && checked.draft.body == "请各商户做好通风消毒。")
        #expect(checked.draft.attachments == [NoticeAttachment(name: "告知书全文", url: "https://example.org/notice.pdf")])
        #expect(NoticeRules.check(good, today: "2030-06-30").errors.isEmpty, "the due day itself is still open")
        #expect(NoticeRules.check(good, today: "2030-07-01").errors.map(\.field) == ["dueOn"], "a due day already over")

        let bad = NoticeDraft(
            title: "两行\n标题",
            titleEn: String(repeating: "x", count: 201),
            body: "   ",
            attachments: [NoticeAttachment(name: "", url: "javascript:alert(1)"), NoticeAttachment(name: "ok", url: "https://example.org/a b")],
            dueOn: "2030-02-30",
            kind: "shops",
            grids: []
        )
        let fields = NoticeRules.check(bad, today: "2030-01-01").errors.map(\.field)
        #expect(
            fields == ["title", "titleEn", "body", "attachments[0].name", "attachments[0].url", "attachments[1].url", "dueOn", "kind", "grids"],
            "\(fields)"
        )
        let many = NoticeDraft(
            title: "t",
            body: "b",
            attachments: Array(repeating: NoticeAttachment(name: "a", url: "http://example.org"), count: 11),
            dueOn: "2030-06-30"
        )
        #expect(NoticeRules.check(many, today: "2030-01-01").errors.map(\.field) == ["attachments"])
        #expect(NoticeRules.check(NoticeDraft(title: "t", body: "a\u{0}b", dueOn: "2030-06-30"), today: "2030-01-01").errors.map(\.field) == ["body"])
    }

    @Test("links: absolute http(s) only")
    func links() {
        #expect(NoticeRules.isLink("https://example.org/notice.pdf"))
        #expect(NoticeRules.isLink("http://10.0.0.1:8080/a?b=c"))
        for bad in ["ftp://example.org/a", "/relative/path", "https://", "javascript:alert(1)", "https://example.org/a b", ""] {
            #expect(!NoticeRules.isLink(bad), "\(bad)")
        }
        #expect(!NoticeRules.isLink("https://example.org/" + String(repeating: "a", count: 2000)))
    }

    @Test("mainland mobile numbers: 11 digits from 13–19, spaces, dashes and +86 allowed; anything else refused")
    func mobileNumbers() {
        #expect(NoticeRules.mobileNumber("13912345678") == "13912345678")
        #expect(NoticeRules.mobileNumber("139-1234-5678") == "13912345678")
        #expect(NoticeRules.mobileNumber(" 139 1234 5678 ") == "13912345678")
        #expect(NoticeRules.mobileNumber("+86 139 1234 5678") == "13912345678")
        #expect(NoticeRules.mobileNumber("8613912345678") == "13912345678")
        for bad in ["12912345678", "1391234567", "139123456789", "0874-3012331", "+1 415 555 0100", "139l2345678", "+8613912345678+", "", "86139"] {
            #expect(NoticeRules.mobileNumber(bad) == nil, "\(bad)")
        }
    }

    @Test("an inform: via named, sms needs a mobile number, a number only with sms, never echoed in the errors")
    func informInput() throws {
        let visit = try NoticeRules.check(InformDraft(householdId: "h1", via: "visit", note: "  已张贴 ")).get()
        #expect(visit == CheckedInform(via: .visit, phone: nil, note: "已张贴", language: nil))
        let sms = try NoticeRules.check(InformDraft(householdId: "h1", via: "sms", phone: "+86 139-1234-5678", language: "en")).get()
        #expect(sms.via == .sms && sms.phone == "13912345678" && sms.language == "en")

        func fields(_ draft: InformDraft) -> [String] {
            guard case .failure(let failure) = NoticeRules.check(draft) else { return [] }
            #expect(!failure.errors.contains { $0.message.contains("1391234") }, "the number is not echoed")
            return failure.errors.map(\.field)
        }
        #expect(fields(InformDraft(householdId: "h1", via: "sms")) == ["phone"], "sms without a number")
        #expect(fields(InformDraft(householdId: "h1", via: "sms", phone: "13912345")) == ["phone"])
        #expect(fields(InformDraft(householdId: "h1", via: "visit", phone: "13912345678")) == ["phone"], "a number not kept for a visit")
        #expect(
            fields(InformDraft(householdId: "", via: "letter", note: String(repeating: "x", count: 2001), language: "fr")) == [
                "householdId", "via", "note", "language",
            ]
        )
    }

    @Test("confirm tokens: 32 random bytes, base64url, 43 characters, unique; the shape checked before a look-up")
    func tokens() {
        let tokens = (0..<200).map { _ in NoticeRules.confirmToken() }
        #expect(Set(tokens).count == 200)
        #expect(tokens.allSatisfy { $0.count == 43 && NoticeRules.isConfirmToken($0) && !$0.contains("+") && !$0.contains("/") && !$0.contains("=") })
        var zeros = ZeroGenerator()
        #expect(NoticeRules.confirmToken(using: &zeros) == String(repeating: "A", count: 43))
        for bad in ["", "short", String(repeating: "A", count: 44), String(repeating: "A", count: 42) + "/", String(repeating: "A", count: 42) + "é"]
        {
            #expect(!NoticeRules.isConfirmToken(bad), "\(bad)")
        }
    }

    @Test("who publishes: a street officer her street's grids, a supervisor any; the refusal names who may")
    func publishScopes() throws {
        let officer = Principal(id: "xu-chunfeng", role: "street-officer", unit: try UnitRef(tier: .street, id: "xiping"))
        let supervisor = Principal(id: "wang-xu", role: "supervisor", unit: try UnitRef(tier: .oversight, id: "zhanyi"))
        let worker = Principal(id: "li-shangxin", role: "grid-worker", unit: try UnitRef(tier: .grid, id: "xiping-merchants-1"))
        let own = [(grid: "xiping-merchants-1", street: "xiping")]
        let mixed = own + [(grid: "hanjiaxu-1", street: "longhua")]
        #expect(NoticeRules.refusal(toPublish: officer, grids: own) == nil)
        #expect(NoticeRules.refusal(toPublish: supervisor, grids: mixed) == nil)
        let other = try #require(NoticeRules.refusal(toPublish: officer, grids: mixed))
        #expect(other.contains("street xiping only") && other.hasSuffix("not hanjiaxu-1"), "\(other)")
        let refused = try #require(NoticeRules.refusal(toPublish: worker, grids: own))
        #expect(refused.contains("street officers") && refused.contains("supervisors") && refused.contains("li-shangxin"))
    }

    @Test("who informs: the household's own grid's staff only")
    func informScopes() throws {
        let worker = Principal(id: "li-shangxin", role: "grid-worker", unit: try UnitRef(tier: .grid, id: "xiping-merchants-1"))
        let leader = Principal(id: "leng-yulong", role: "grid-leader", unit: try UnitRef(tier: .grid, id: "guanghua-3"))
        let officer = Principal(id: "xu-chunfeng", role: "street-officer", unit: try UnitRef(tier: .street, id: "xiping"))
        #expect(NoticeRules.refusal(toInform: worker, grid: "xiping-merchants-1") == nil)
        #expect(NoticeRules.refusal(toInform: leader, grid: "guanghua-3") == nil)
        #expect(NoticeRules.refusal(toInform: worker, grid: "guanghua-3")?.contains("grid:guanghua-3") == true)
        #expect(NoticeRules.refusal(toInform: officer, grid: "guanghua-3")?.contains("their grid's staff") == true)
    }

    @Test("lagging grids: a reminder within the window before the due instant, overdue after it, each once, never for a grid done")
    func lagging() {
        let due = Date(timeIntervalSince1970: 1_900_000_000)
        let day: TimeInterval = 86_400
        func stage(_ now: Date, households: Int = 6, informed: Int = 2, reminded: Bool = false, overdue: Bool = false) -> NoticeLagStage? {
            NoticeRules.lagStage(
                now: now,
                dueBy: due,
                remindWindow: day,
                households: households,
                informed: informed,
                reminded: reminded,
                overdue: overdue
            )
        }
        #expect(stage(due.addingTimeInterval(-2 * day)) == nil, "too early")
        #expect(stage(due.addingTimeInterval(-day - 1)) == nil, "a second before the window")
        #expect(stage(due.addingTimeInterval(-day)) == .reminder, "the window opens")
        #expect(stage(due.addingTimeInterval(-60)) == .reminder)
        #expect(stage(due.addingTimeInterval(-60), reminded: true) == nil, "reminded once")
        #expect(stage(due) == .overdue, "the due instant is the end of the due day")
        #expect(stage(due.addingTimeInterval(day), reminded: true) == .overdue)
        #expect(stage(due.addingTimeInterval(day), reminded: false) == .overdue, "first seen late: the overdue alert only")
        #expect(stage(due.addingTimeInterval(day), overdue: true) == nil, "overdue once")
        #expect(stage(due.addingTimeInterval(-60), informed: 6) == nil, "every household informed")
        #expect(stage(due.addingTimeInterval(day), informed: 6) == nil)
        #expect(stage(due.addingTimeInterval(day), households: 0, informed: 0) == nil, "a grid without households")
        let noWindow = NoticeRules.lagStage(
            now: due.addingTimeInterval(-1),
            dueBy: due,
            remindWindow: 0,
            households: 6,
            informed: 0,
            reminded: false,
            overdue: false
        )
        #expect(noWindow == nil, "ROUTING_NOTICE_REMIND_HOURS=0: no reminders")
    }
}

/// Always 0: a token made of it is all `A`s.
private struct ZeroGenerator: RandomNumberGenerator {
    mutating func next() -> UInt64 { 0 }
}
