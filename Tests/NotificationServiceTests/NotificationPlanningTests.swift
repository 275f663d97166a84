import Foundation
import GridLoopDomain
import NotificationService
import Testing

@Suite("Quiet hours")
struct QuietHoursTests {
    /// 2026-11-30 00:00 in Beijing (UTC+8).
    let midnight = Date(timeIntervalSince1970: 1_795_968_000)
    let beijing = 8 * 3600

    @Test func parsesAndRejects() {
        #expect(QuietHours(parsing: "22:00-07:00") == QuietHours(start: 22 * 3600, end: 7 * 3600))
        #expect(QuietHours(parsing: "22:00-07:00")?.text == "22:00-07:00")
        for bad in ["22:00", "25:00-07:00", "07:00-07:00", "7-8", "22:00-07:60"] { #expect(QuietHours(parsing: bad) == nil, "\(bad)") }
    }

    @Test func spansMidnight() throws {
        let quiet = try #require(QuietHours(parsing: "22:00-07:00"))
        let late = midnight.addingTimeInterval(23 * 3600)  // 23:00
        #expect(quiet.end(ofQuietAround: late, utcOffset: beijing) == midnight.addingTimeInterval(31 * 3600))  // 07:00 next day
        let early = midnight.addingTimeInterval(3 * 3600)  // 03:00
        #expect(quiet.end(ofQuietAround: early, utcOffset: beijing) == midnight.addingTimeInterval(7 * 3600))
        #expect(quiet.end(ofQuietAround: midnight.addingTimeInterval(12 * 3600), utcOffset: beijing) == nil)
        #expect(quiet.end(ofQuietAround: midnight.addingTimeInterval(7 * 3600), utcOffset: beijing) == nil, "the end is not quiet")
    }

    @Test func withinOneDay() throws {
        let lunch = try #require(QuietHours(parsing: "12:00-13:30"))
        #expect(lunch.end(ofQuietAround: midnight.addingTimeInterval(12.5 * 3600), utcOffset: beijing) == midnight.addingTimeInterval(13.5 * 3600))
        #expect(lunch.end(ofQuietAround: midnight.addingTimeInterval(11 * 3600), utcOffset: beijing) == nil)
    }
}

@Suite("Notification planning")
struct NotificationPlanningTests {
    let templates: NotificationTemplates
    let rules: NotificationRules
    let planner: NotificationPlanner
    let now = Date(timeIntervalSince1970: 1_795_968_000 + 10 * 3600)  // 10:00 Beijing time

    init() throws {
        templates = try NotificationTemplates.load(overrideDirectory: nil)
        rules = try NotificationRules.parse(try NotificationTemplates.builtInRules())
        planner = NotificationPlanner(rules: rules, templates: templates, enabledChannels: [.email, .sms, .webhook])
    }

    let cui = Recipient(key: "staff:cui-chunhua", name: "崔春花", language: "zh", email: "cui@zhanyi.example")
    let xu = Recipient(key: "staff:xu-chunfeng", name: "Xu Chunfeng", language: "en", email: "xu@zhanyi.example", phone: "13900000001")
    let wang = Recipient(
        key: "staff:wang-xu",
        name: "王旭",
        language: "zh",
        email: "wang@zhanyi.example",
        quietHours: QuietHours(parsing: "00:00-23:59")
    )
    var reporter: Recipient { Recipient(key: "reporter", name: "张大爷", language: "zh", phone: "13800001234") }

    var directory: DirectoryView {
        var view = DirectoryView()
        view.staffByUnit = ["grid:guanghua-3": [cui], "street:xiping": [xu]]
        view.gridWorkers = ["guanghua-3": [cui]]
        view.supervisors = [wang]
        view.unitNames = ["grid:guanghua-3": "光华三组", "street:xiping": "西平街道"]
        view.staffNames = ["cui-chunhua": "崔春花"]
        view.urgentCategories = ["emergency"]
        return view
    }

    func request(category: String = "power") -> RequestContact {
        RequestContact(reporter: reporter, grid: "guanghua-3", category: category, description: "电磁炉炒不了菜")
    }

    @Test func everyTemplateTheRulesNameExistsInBothLanguages() throws {
        try templates.check(rules)
        for template in rules.templates.union(["digest"]) {
            for language in NotificationTemplates.languages {
                let rendered = try #require(templates.render(template, language: language, context: ["shortId": "abcd1234"]))
                #expect(!rendered.subject.isEmpty && rendered.subject.contains("abcd1234") == (template != "digest"), "\(template).\(language)")
            }
        }
    }

    @Test func escalationTellsTheNewUnitInItsLanguageTheGridWorkerAndTheResident() throws {
        var facts = EventFacts(type: MessageType.requestEscalated, eventId: "e1", requestId: "0a1b2c3d-0000-0000-0000-000000000000")
        facts.units = [try UnitRef(parsing: "street:xiping")]
        facts.reason = "与红星三组共用原水泥厂变压器"
        facts.staff = "cui-chunhua"
        let planned = planner.plan(facts, request: request(), directory: directory, now: now)
        #expect(planned.map(\.id) == ["e1:staff:xu-chunfeng:email", "e1:staff:xu-chunfeng:sms", "e1:staff:cui-chunhua:email", "e1:reporter:sms"])
        let english = try #require(planned.first)
        #expect(english.message.subject.hasPrefix("[GridLoop] New request 0a1b2c3d (power supply) for 西平街道"), "\(english.message.subject)")
        #expect(english.message.body.contains("电磁炉炒不了菜") && english.message.body.contains("变压器"))
        #expect(planned[2].message.subject.contains("已上报至西平街道"), "\(planned[2].message.subject)")
        #expect(planned[3].message.subject == "【GridLoop】您的诉求 0a1b2c3d 已上报至西平街道继续办理。")
        #expect(planned.allSatisfy { $0.dispatch == .at(now) })
    }

    @Test func oneRecipientMatchedByTwoRulesIsToldOnce() throws {
        var facts = EventFacts(type: MessageType.requestReopened, eventId: "e2", requestId: "r2")
        facts.units = [try UnitRef(parsing: "grid:guanghua-3")]
        facts.reason = "入户核查：仍然停电"
        let planned = planner.plan(facts, request: request(), directory: directory, now: now)
        #expect(planned.map(\.id) == ["e2:staff:cui-chunhua:email"])
        #expect(planned[0].template == "reopened")
    }

    @Test func quietHoursDelayAndDigestsGatherButUrgentGoesAtOnce() throws {
        var facts = EventFacts(type: MessageType.deadlineWarning, eventId: "e3", requestId: "r3")
        facts.units = [try UnitRef(parsing: "street:xiping")]
        facts.deadline = "claim"
        facts.dueAt = now.addingTimeInterval(3600)
        var view = directory
        view.staffByUnit["street:xiping"] = [
            wang, Recipient(key: "staff:digest", name: "D", language: "zh", email: "d@x.example", digestSeconds: 1800),
        ]
        let planned = planner.plan(facts, request: request(), directory: view, now: now)
        #expect(planned.count == 2)
        if case .at(let when) = planned[0].dispatch { #expect(when > now, "quiet: waits") } else { Issue.record("expected a delayed send") }
        #expect(planned[1].dispatch == .digest)
        #expect(planned[0].message.subject.contains("11:00"), "\(planned[0].message.subject)")

        facts.type = MessageType.requestOverdue
        let overdue = planner.plan(facts, request: request(), directory: view, now: now)
        #expect(overdue.allSatisfy { $0.urgent && $0.dispatch == .at(now) }, "overdue alerts are urgent")
        #expect(overdue.first?.recipient.key == "staff:wang-xu", "supervisors first")

        facts.type = MessageType.deadlineWarning
        let emergency = planner.plan(facts, request: request(category: "emergency"), directory: view, now: now)
        #expect(emergency.allSatisfy { $0.urgent && $0.dispatch == .at(now) }, "an urgent category skips quiet hours and digests")
    }

    @Test func channelsFollowWhatIsEnabledAndTheRule() throws {
        var facts = EventFacts(type: MessageType.requestReceived, eventId: "e4", requestId: "r4")
        facts.category = "power"
        let reporter = Recipient(key: "reporter", name: "Ann", language: "en", email: "ann@example.org", phone: "13800001234")
        let both = planner.plan(facts, request: RequestContact(reporter: reporter), directory: directory, now: now)
        #expect(both.map(\.channel) == [.email, .sms])
        #expect(both[0].message.subject.hasPrefix("[GridLoop] Hello Ann"))
        let noSMS = NotificationPlanner(rules: rules, templates: templates, enabledChannels: [.email, .webhook])
        #expect(noSMS.plan(facts, request: RequestContact(reporter: reporter), directory: directory, now: now).map(\.channel) == [.email])
        let restricted = NotificationPlanner(
            rules: NotificationRules(byEvent: [MessageType.requestReceived: [NotificationRule(to: .reporter, template: "received", channels: [.sms])]]
            ),
            templates: templates,
            enabledChannels: [.email, .sms]
        )
        #expect(restricted.plan(facts, request: RequestContact(reporter: reporter), directory: directory, now: now).map(\.channel) == [.sms])
    }

    @Test func linkedReportersHearOfTheLeadsSolutionAboutTheirOwnReport() throws {
        var facts = EventFacts(type: MessageType.requestResolved, eventId: "e9", requestId: "1eadbeef-0000-0000-0000-000000000000")
        facts.units = [try UnitRef(parsing: "district:power-supply")]
        facts.note = "新变压器投运"
        var contact = request()
        var other = Recipient(key: "reporter:0badcafe-1111", name: "王五", language: "zh", phone: "13800002222")
        other.ownRequestId = "0badcafe-1111"
        contact.linked = [other]
        let planned = planner.plan(facts, request: contact, directory: directory, now: now)
        #expect(planned.map(\.id) == ["e9:reporter:sms", "e9:reporter:0badcafe-1111:sms", "e9:staff:cui-chunhua:email"])
        #expect(planned[1].template == "resolved-linked")
        #expect(planned[1].message.subject == "【GridLoop】您反映的问题（编号 0badcafe）已随同类诉求 1eadbeef 一并办结：新变压器投运。网格员将上门核实。")
    }

    @Test func rulesFileErrorsNameTheField() {
        #expect(throws: RulesInvalid.self) { try NotificationRules.parse("request.received:\n  - { to: neighbours, template: x }") }
        #expect(throws: RulesInvalid.self) { try NotificationRules.parse("request.received:\n  - { template: x }") }
        let missing = NotificationRules(byEvent: ["request.received": [NotificationRule(to: .reporter, template: "no-such-template")]])
        #expect(throws: TemplatesInvalid.self) { try templates.check(missing) }
    }

    @Test func templatesAreTextNotHTML() throws {
        let library = try NotificationTemplates(files: ["t.zh": "{{note}} & more"])
        #expect(library.render("t", language: "en", context: ["note": "<b>A & B</b>"])?.subject == "<b>A & B</b> & more")
    }
}

@Suite("Email")
struct MailMessageTests {
    @Test func headersAreEncodedAndTheBodyIsBase64() throws {
        let mail = MailMessage(
            from: "gridloop@zhanyi.example",
            to: "cui@zhanyi.example",
            subject: "【GridLoop】新工单 0a1b2c3d（供电）已派至光华三组，请在 2026-11-26 12:00 前认领。",
            body: "诉求内容：电磁炉炒不了菜\n.leading dot",
            messageId: "e1:staff:cui:email@gridloop",
            date: Date(timeIntervalSince1970: 0)
        )
        let text = mail.rendered
        #expect(text.contains("Message-ID: <e1:staff:cui:email@gridloop>\r\n"))
        #expect(text.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"))
        let subjectLines = text.components(separatedBy: "\r\n").drop { !$0.hasPrefix("Subject:") }.prefix {
            $0.hasPrefix("Subject:") || $0.hasPrefix(" ")
        }
        #expect(subjectLines.count > 1 && subjectLines.allSatisfy { $0.count <= 78 }, "folded encoded words")
        let decoded = subjectLines.map { line in
            line.replacingOccurrences(of: "Subject: ", with: "").trimmingCharacters(in: .whitespaces)
                .replacingOccurrences(of: "=?UTF-8?B?", with: "").replacingOccurrences(of: "?=", with: "")
        }.map { String(decoding: Data(base64Encoded: $0) ?? Data(), as: UTF8.self) }.joined()
        #expect(decoded == mail.subject)
        let body = text.components(separatedBy: "\r\n\r\n")[1].replacingOccurrences(of: "\r\n", with: "")
        #expect(String(decoding: Data(base64Encoded: body) ?? Data(), as: UTF8.self) == mail.body)
        #expect(MailMessage.encodedWord("plain ascii") == "plain ascii")
        #expect(MailMessage.messageId(for: "9f2c-41:staff:cui-chunhua:email") == "9f2c-41.staff.cui-chunhua.email@gridloop")
        #expect(MailMessage.messageId(for: "digest:staff:zhu::email:17") == "digest.staff.zhu.email.17@gridloop")
        #expect(MailMessage.encodedWord("two\r\nlines") == "two  lines", "no header injection")
    }

    @Test func replyLines() {
        #expect(SMTPReply.parseLine("250-PIPELINING")! == (250, true, "PIPELINING"))
        #expect(SMTPReply.parseLine("250 OK")! == (250, false, "OK"))
        #expect(SMTPReply.parseLine("221")! == (221, false, ""))
        #expect(SMTPReply.parseLine("hello") == nil)
        #expect(SMTPReply.parseLine("250+x") == nil)
    }

    @Test func smtpURLs() throws {
        let starttls = try SMTPConfiguration(url: "smtp+starttls://user%40x:p%3Ass@mail.example", from: "a@b.example")
        #expect(starttls.security == .startTLS && starttls.port == 587 && starttls.username == "user@x" && starttls.password == "p:ss")
        #expect(try SMTPConfiguration(url: "smtps://mail.example", from: "a@b.example").port == 465)
        #expect(try SMTPConfiguration(url: "smtp://127.0.0.1:2525", from: "a@b.example").security == .none)
        #expect(throws: SMTPFailure.self) { try SMTPConfiguration(url: "http://mail.example", from: "a@b.example") }
    }
}
