import Foundation
import GridLoopDomain
import NotificationService
import Testing

/// Who is told what about the community work (#20): notices, consultations, micro-wishes
/// planned from their events against the built-in community rules (no I/O).
@Suite("Community notifications")
struct CommunityNotificationTests {
    let templates: NotificationTemplates
    let communityRules: NotificationRules
    let planner: NotificationPlanner
    let protector: DataProtector
    let now = Date(timeIntervalSince1970: 1_795_968_000 + 10 * 3600)  // 2026-11-30 10:00 Beijing time
    static let web = "https://gridloop.example"

    init() throws {
        templates = try NotificationTemplates.load(overrideDirectory: nil)
        communityRules = try NotificationRules.parse(try NotificationTemplates.builtInCommunityRules())
        planner = NotificationPlanner(
            rules: try NotificationRules.parse(try NotificationTemplates.builtInRules()),
            templates: templates,
            enabledChannels: [.email, .sms, .webhook],
            residentLinks: ResidentLinks(baseURL: Self.web + "/", followUp: nil),
            communityRules: communityRules
        )
        protector = try DataProtector(key: String(repeating: "0f", count: 32))
    }

    // The org: two grids of 西平街道 with a worker each and a leader for one, the street's officer,
    // a supervisor, and a worker of a grid no event names.
    let cui = Recipient(key: "staff:cui-chunhua", name: "崔春花", language: "zh", email: "cui@zhanyi.example")
    let li = Recipient(key: "staff:li-shangxin", name: "Li Shangxin", language: "en", email: "li@zhanyi.example", phone: "13900000002")
    let leader = Recipient(key: "staff:he-lei", name: "何磊", language: "zh", webhook: "https://hooks.zhanyi.example/he-lei")
    let xu = Recipient(key: "staff:xu-chunfeng", name: "许春风", language: "zh", email: "xu@zhanyi.example")
    let wang = Recipient(key: "staff:wang-xu", name: "王旭", language: "zh", email: "wang@zhanyi.example")
    let elsewhere = Recipient(key: "staff:zhou", name: "周", language: "zh", email: "zhou@zhanyi.example")

    var directory: DirectoryView {
        var view = DirectoryView()
        view.gridStaff = ["guanghua-3": [cui, leader], "xiping-merchants-1": [li], "hanjiaxu-1": [elsewhere]]
        view.streetOfficers = ["xiping": [xu]]
        view.supervisors = [wang]
        view.unitNames = ["grid:guanghua-3": "光华三组", "grid:xiping-merchants-1": "西平商户一组", "street:xiping": "西平街道"]
        return view
    }

    func communityFacts<Payload: Codable & Sendable>(_ type: String, _ payload: Payload, _ kind: RequestEvent.Kind, id: String) -> CommunityFacts? {
        let envelope = MessageEnvelope(messageId: id, type: type, requestId: nil, correlationId: "c1", payload: payload)
        return CommunityFacts(RequestEvent(envelope, kind: kind))
    }

    /// Mainland mobile numbers standing alone, as the CI's PII scan finds them.
    static func mobiles(in text: String) -> [String] {
        let pattern = #"(?<![0-9A-Fa-f\-])(?<!\d\.)1[3-9]\d{9}(?![0-9A-Fa-f\-])(?!\.\d)"#
        let regex = try! NSRegularExpression(pattern: pattern)
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { Range($0.range, in: text).map { String(text[$0]) } }
    }

    @Test func theCommunityRulesNameTemplatesInBothLanguagesAndOnlyTheirAudiences() throws {
        try templates.check(communityRules)
        try communityRules.check(audiences: Audience.communityAudiences, file: "community")
        #expect(throws: RulesInvalid.self) { try communityRules.check(audiences: Audience.requestAudiences, file: "requests") }
        let misplaced = try NotificationRules.parse("request.resolved:\n  - { to: grid-staff, template: resolved-grid }")
        #expect(throws: RulesInvalid.self) { try misplaced.check(audiences: Audience.requestAudiences, file: "requests") }
        for template in communityRules.templates {
            for language in NotificationTemplates.languages {
                let rendered = try #require(templates.render(template, language: language, context: ["title": "T"]))
                #expect(!rendered.subject.isEmpty, "\(template).\(language)")
                #expect(rendered.subject.contains("GridLoop") || rendered.subject.contains("网格通知") || rendered.subject.contains("Grid notice"))
            }
        }
        #expect(
            Set(communityRules.byEvent.keys) == [
                "notice.published", "notice.sms", "notice.lagging.reminder", "notice.lagging.overdue", "consultation.opened",
                "consultation.closed", "wish.changed.adopted", "wish.changed.fulfilled",
            ]
        )
    }

    @Test func aPublishedNoticeTellsTheStaffOfEachGridTheirOwnHouseholdsWithTheLink() throws {
        let notice = NoticePublished(
            noticeId: "n1",
            title: "冬季燃气安全告知书",
            titleEn: "Winter gas safety",
            grids: ["guanghua-3", "xiping-merchants-1"],
            households: ["guanghua-3": 12, "xiping-merchants-1": 6],
            dueOn: "2026-12-10",
            publishedBy: "xu-chunfeng",
            unit: try UnitRef(tier: .street, id: "xiping")
        )
        let facts = try #require(communityFacts(MessageType.noticePublished, notice, .noticePublished(notice), id: "e-pub"))
        let planned = planner.plan(facts, resident: nil, directory: directory, now: now)
        #expect(
            planned.map(\.id) == [
                "e-pub:staff:cui-chunhua:email", "e-pub:staff:he-lei:webhook", "e-pub:staff:li-shangxin:email", "e-pub:staff:li-shangxin:sms",
            ]
        )
        #expect(planned.allSatisfy { $0.template == "notice-published" && !$0.urgent && $0.dispatch == .at(now) })
        #expect(
            planned[0].message.subject
                == "【GridLoop】新通知《冬季燃气安全告知书》：请在 2026-12-10 前告知本网格 12 户。 查看通知：https://gridloop.example/notices/n1"
        )
        #expect(planned[0].message.body.contains("西平街道") && planned[0].message.body.contains("光华三组"))
        #expect(
            planned[2].message.subject
                == "[GridLoop] New notice “Winter gas safety”: inform your grid's 6 households by 2026-12-10. Read it: \(Self.web)/notices/n1"
        )
        #expect(!planned.contains { [xu.key, wang.key, elsewhere.key].contains($0.recipient.key) }, "the street, supervisors, other grids: not told")
        #expect(planner.plan(facts, resident: nil, directory: directory, now: now) == planned, "the same ids again: the rows dedupe")

        let noWeb = NotificationPlanner(rules: planner.rules, templates: templates, enabledChannels: [.email], communityRules: communityRules)
        let plain = try #require(noWeb.plan(facts, resident: nil, directory: directory, now: now).first)
        #expect(plain.message.subject == "【GridLoop】新通知《冬季燃气安全告知书》：请在 2026-12-10 前告知本网格 12 户。", "no link without NOTIFICATION_WEB_URL")
    }

    func noticeSMS(language: String? = nil, phoneSealed: String? = nil) -> NoticeSMS {
        NoticeSMS(
            noticeId: "n1",
            householdId: "guanghua-3-07",
            grid: "guanghua-3",
            title: "冬季燃气安全告知书",
            titleEn: "Winter gas safety",
            phoneSealed: phoneSealed ?? protector.seal("13800001234"),
            token: "tK9-x_2q",
            staff: "cui-chunhua",
            language: language
        )
    }

    @Test func aNoticeSMSGoesToTheResidentsOpenedNumberWithTheConfirmLinkAndIsStoredSealed() throws {
        let facts = try #require(communityFacts(MessageType.noticeSMS, noticeSMS(), .noticeSMS(noticeSMS()), id: "e-sms"))
        #expect(facts.phoneSealed?.hasPrefix(DataProtector.prefix) == true)
        let resident = try #require(facts.resident(opening: protector))
        #expect(resident.key == "resident:guanghua-3-07" && resident.phone == "13800001234" && resident.language == "zh")
        let planned = planner.plan(facts, resident: resident, directory: directory, now: now)
        #expect(planned.map(\.id) == ["e-sms:resident:guanghua-3-07:sms"], "the resident only: the staff who sent it is not told")
        let sms = try #require(planned.first)
        #expect(sms.channel == .sms && sms.target == "13800001234" && sms.dispatch == .at(now))
        #expect(sms.message.subject == "【网格通知】冬季燃气安全告知书。请点击确认已知晓：https://gridloop.example/n/tK9-x_2q")

        // What the row keeps: the number sealed in the target and the payload; the text (also
        // the row's subject) carries the link and no number.
        let (target, payload) = try DeliveryPayload.stored(sms, requestId: nil, event: facts.type, protector: protector)
        let openedTarget = try protector.open(target)
        #expect(target.hasPrefix(DataProtector.prefix) && openedTarget == "13800001234")
        for text in [target, payload, sms.message.subject, sms.message.body, sms.id] {
            #expect(Self.mobiles(in: text).isEmpty, "no raw number in \(text)")
        }
        let stored = try DeliveryPayload.decode(payload)
        #expect(stored.text == sms.message.subject && stored.requestId == nil && stored.template == "notice-sms")
        let opened = try DeliveryPayload.decode(try DeliveryPayload.rewritingRecipient(payload) { try protector.open($0) })
        #expect(opened.to == "13800001234", "the sender opens it for the gateway")
    }

    @Test func aNoticeSMSInEnglishAndTheCasesItCannotGo() throws {
        let english = noticeSMS(language: "en")
        let facts = try #require(communityFacts(MessageType.noticeSMS, english, .noticeSMS(english), id: "e-sms-en"))
        let resident = try #require(facts.resident(opening: protector))
        let sms = try #require(planner.plan(facts, resident: resident, directory: directory, now: now).first)
        #expect(sms.language == "en")
        #expect(sms.message.subject == "[Grid notice] Winter gas safety. Please tap to confirm you have read it: https://gridloop.example/n/tK9-x_2q")

        let noWeb = NotificationPlanner(rules: planner.rules, templates: templates, enabledChannels: [.sms], communityRules: communityRules)
        #expect(noWeb.plan(facts, resident: resident, directory: directory, now: now).isEmpty, "no confirm link: not sent")
        let noGateway = NotificationPlanner(
            rules: planner.rules,
            templates: templates,
            enabledChannels: [.email, .webhook],
            residentLinks: ResidentLinks(baseURL: Self.web, followUp: nil),
            communityRules: communityRules
        )
        #expect(noGateway.plan(facts, resident: resident, directory: directory, now: now).isEmpty, "no SMS gateway: not sent")

        let otherKey = try DataProtector(key: String(repeating: "a1", count: 32))
        #expect(facts.resident(opening: otherKey) == nil, "a number that does not open: no one")
        let masked = noticeSMS(phoneSealed: "138****1234")
        #expect(try #require(self.communityFacts(MessageType.noticeSMS, masked, .noticeSMS(masked), id: "m")).resident(opening: protector) == nil)
        let strange = noticeSMS(language: "fr")
        #expect(
            try #require(self.communityFacts(MessageType.noticeSMS, strange, .noticeSMS(strange), id: "f")).resident(opening: protector)?.language
                == "zh"
        )
    }

    @Test func aLaggingGridRemindsItsStaffThenAlertsItsStreetsOfficers() throws {
        let reminder = NoticeLagging(
            noticeId: "n1",
            title: "冬季燃气安全告知书",
            grid: "guanghua-3",
            street: "xiping",
            informed: 9,
            households: 12,
            dueOn: "2026-12-10",
            stage: .reminder
        )
        let remind = try #require(communityFacts(MessageType.noticeLagging, reminder, .noticeLagging(reminder), id: "e-rem"))
        #expect(remind.ruleKey == "notice.lagging.reminder")
        let reminded = planner.plan(remind, resident: nil, directory: directory, now: now)
        #expect(reminded.map(\.recipient.key) == [cui.key, leader.key], "the grid's worker and leader")
        #expect(
            reminded[0].message.subject == "【GridLoop】《冬季燃气安全告知书》还有 3 户未告知，截止 2026-12-10。 https://gridloop.example/notices/n1"
        )

        var overdue = reminder
        overdue.stage = .overdue
        let late = try #require(communityFacts(MessageType.noticeLagging, overdue, .noticeLagging(overdue), id: "e-late"))
        let alerted = planner.plan(late, resident: nil, directory: directory, now: now)
        #expect(alerted.map(\.id) == ["e-late:staff:xu-chunfeng:email"], "the street's officers only")
        #expect(
            alerted[0].message.subject == "【GridLoop】网格光华三组《冬季燃气安全告知书》逾期未完成：已告知 9/12 户。 https://gridloop.example/notices/n1"
        )

        // The overdue alert comes at midnight (the end of the due day): quiet hours hold it.
        var view = directory
        view.streetOfficers["xiping"] = [
            Recipient(
                key: "staff:xu-chunfeng",
                name: "许春风",
                language: "zh",
                email: "xu@zhanyi.example",
                quietHours: QuietHours(parsing: "22:00-07:00")
            )
        ]
        let midnight = Date(timeIntervalSince1970: 1_795_968_000)
        let held = try #require(planner.plan(late, resident: nil, directory: view, now: midnight).first)
        #expect(held.dispatch == .at(midnight.addingTimeInterval(7 * 3600)), "not urgent: waits until 07:00")
    }

    @Test func aConsultationIsPutToItsGridsStaffAndItsResultCarriedBack() throws {
        let opened = ConsultationOpened(
            consultationId: "c1",
            question: "韩家圩20亩集体土地出租建农贸市场？",
            options: ["yes", "no"],
            endsOn: "2026-12-20",
            rule: "2/3",
            grids: ["guanghua-3"],
            households: ["guanghua-3": 12],
            openedBy: "xu-chunfeng",
            unit: try UnitRef(tier: .street, id: "xiping")
        )
        let open = try #require(communityFacts(MessageType.consultationOpened, opened, .consultationOpened(opened), id: "e-open"))
        let asked = planner.plan(open, resident: nil, directory: directory, now: now)
        #expect(asked.map(\.recipient.key) == [cui.key, leader.key])
        #expect(
            asked[0].message.subject
                == "【GridLoop】新议事：韩家圩20亩集体土地出租建农贸市场？ 请在 2026-12-20 前走访本网格 12 户，记录各户意见。 https://gridloop.example/consultations/c1"
        )
        #expect(asked[0].message.body.contains("yes、no") && asked[0].message.body.contains("2/3"))

        let closed = ConsultationClosed(
            consultationId: "c1",
            result: "yes",
            tally: ["yes": 9, "no": 2],
            households: 12,
            meetingOutcome: "同意出租",
            closedBy: "xu-chunfeng"
        )
        var close = try #require(communityFacts(MessageType.consultationClosed, closed, .consultationClosed(closed), id: "e-close"))
        #expect(close.grids.isEmpty && planner.plan(close, resident: nil, directory: directory, now: now).isEmpty, "grids come from its opening")
        close.grids = open.grids  // as Deliveries fills them from notification.consultations
        close.question = open.question
        let told = planner.plan(close, resident: nil, directory: directory, now: now)
        #expect(told.map(\.recipient.key) == [cui.key, leader.key])
        #expect(
            told[0].message.subject
                == "【GridLoop】议事结果：韩家圩20亩集体土地出租建农贸市场？ “yes”获 9/12 户支持，已通过。居民代表会议：同意出租。请告知本网格居民。 https://gridloop.example/consultations/c1"
        )
        #expect(told[0].message.body == "各选项户数：no 2，yes 9")

        close.result = nil
        close.meetingOutcome = nil
        let failed = try #require(planner.plan(close, resident: nil, directory: directory, now: now).first)
        #expect(failed.message.subject.contains("议事结果：") && failed.message.subject.contains("未有选项达到通过规则"))
    }

    @Test func anAdoptedOrFulfilledWishGoesToTheGridsOtherStaffAndTheOtherStatesToNoOne() throws {
        var wish = WishChanged(
            wishId: "w1",
            householdId: "guanghua-3-02",
            grid: "guanghua-3",
            street: "xiping",
            kind: "meal",
            state: .adopted,
            staff: "xu-chunfeng",
            adopterKind: .enterprise,
            adopterName: "韩家圩农贸市场"
        )
        let adopted = try #require(communityFacts(MessageType.wishChanged, wish, .wishChanged(wish), id: "e-w1"))
        let told = planner.plan(adopted, resident: nil, directory: directory, now: now)
        #expect(told.map(\.recipient.key) == [cui.key, leader.key])
        #expect(told[0].message.subject == "【GridLoop】微心愿已被韩家圩农贸市场认领（助餐，住户 guanghua-3-02），请转告居民。")

        wish.state = .fulfilled
        wish.staff = "cui-chunhua"
        let fulfilled = try #require(communityFacts(MessageType.wishChanged, wish, .wishChanged(wish), id: "e-w2"))
        let fulfilledTold = planner.plan(fulfilled, resident: nil, directory: directory, now: now)
        #expect(fulfilledTold.map(\.recipient.key) == [leader.key], "the worker who recorded it is not told of her own step")
        #expect(fulfilledTold[0].message.subject == "【GridLoop】微心愿已实现，请与居民确认（助餐，住户 guanghua-3-02，认领方 韩家圩农贸市场）。")

        for state in [WishState.collected, .confirmed] {
            wish.state = state
            let quiet = try #require(communityFacts(MessageType.wishChanged, wish, .wishChanged(wish), id: "e-\(state)"))
            #expect(planner.plan(quiet, resident: nil, directory: directory, now: now).isEmpty, "\(state): no one")
        }
    }

    @Test func theSilentCommunityEventsTellNoOneAndNoneIsARequestsFact() throws {
        let informed = NoticeInformed(
            noticeId: "n1",
            householdId: "h1",
            grid: "guanghua-3",
            street: "xiping",
            staff: "cui-chunhua",
            via: .visit,
            onTime: true
        )
        let position = ConsultationPosition(
            consultationId: "c1",
            householdId: "h1",
            grid: "guanghua-3",
            street: "xiping",
            option: "yes",
            concerns: false,
            staff: "cui-chunhua"
        )
        let scored = PointsScored(
            month: "2026-11",
            householdId: "h1",
            grid: "guanghua-3",
            street: "xiping",
            items: [8, 9, 7, 10, 6],
            points: 40,
            workerPoints: ["cui-chunhua": 4],
            enteredBy: "xu-chunfeng"
        )
        let redeemed = PointsRedeemed(
            redemptionId: "p1",
            householdId: "h1",
            grid: "guanghua-3",
            street: "xiping",
            goodsId: "g1",
            goodsName: "大米 5kg",
            quantity: 1,
            points: 30,
            staff: "xu-chunfeng"
        )
        let donated = GoodsDonated(
            donationId: "d1",
            street: "xiping",
            goodsId: "g1",
            goodsName: "大米 5kg",
            quantity: 10,
            donor: "西平粮油店",
            staff: "xu-chunfeng"
        )
        #expect(communityFacts(MessageType.noticeInformed, informed, .noticeInformed(informed), id: "1") == nil)
        #expect(communityFacts(MessageType.consultationPosition, position, .consultationPosition(position), id: "2") == nil)
        #expect(communityFacts(MessageType.pointsScored, scored, .pointsScored(scored), id: "3") == nil)
        #expect(communityFacts(MessageType.pointsRedeemed, redeemed, .pointsRedeemed(redeemed), id: "4") == nil)
        #expect(communityFacts(MessageType.goodsDonated, donated, .goodsDonated(donated), id: "5") == nil)

        let sms = noticeSMS()
        let event = RequestEvent(
            MessageEnvelope(messageId: "e", type: MessageType.noticeSMS, requestId: nil, correlationId: "c", payload: sms),
            kind: .noticeSMS(sms)
        )
        #expect(EventFacts(event) == nil, "a request's planning never sees it")
        #expect(planner.plan(try #require(CommunityFacts(event)), resident: nil, directory: directory, now: now).isEmpty, "no opened number: no one")
    }
}
