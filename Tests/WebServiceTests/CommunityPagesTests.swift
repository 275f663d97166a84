import Foundation
import GridLoopDomain
import Testing
import WebService

/// The community pages' pure rules (#20) and their words: what a form becomes in routing's
/// JSON, what is checked before sending, which wish step a viewer is offered.
@Suite("Community pages: forms, steps and words")
struct CommunityPagesTests {
    @Test("every community word exists in Chinese and in English, none empty, and no page word is overridden")
    func words() {
        let zh = CommunityPages.chinese
        let en = CommunityPages.english
        #expect(Set(zh.keys).subtracting(en.keys).sorted() == [], "missing in English")
        #expect(Set(en.keys).subtracting(zh.keys).sorted() == [], "missing in Chinese")
        #expect(zh.values.allSatisfy { !$0.isEmpty } && en.values.allSatisfy { !$0.isEmpty })
        #expect(Set(zh.keys).intersection(Pages.words("zh").keys).sorted() == [], "a community word hides a page word")
    }

    @Test("every {{t.word}} a community template names is a word in both languages")
    func templatesNameKnownWords() throws {
        let pattern = try Regex(#"\{\{[#^/]?t\.([A-Za-z0-9/-]+)\}\}"#)
        var used: Set<String> = []
        for text in CommunityPages.templates.values {
            for match in text.matches(of: pattern) {
                if let word = match.output[1].substring { used.insert(String(word)) }
            }
        }
        #expect(used.count > 50)
        #expect(used.subtracting(CommunityPages.words("zh").keys).sorted() == [], "not a Chinese word")
        #expect(used.subtracting(CommunityPages.words("en").keys).sorted() == [], "not an English word")
    }

    @Test("the words the code looks up by kind, state and item exist in both languages")
    func dynamicWords() {
        var keys = InformVia.allCases.map { "via-\($0.rawValue)" } + WishState.allCases.map { "wishState-\($0.rawValue)" }
        keys += WishAdopterKind.allCases.map { "adopter-\($0.rawValue)" } + ["meal", "care", "study", "repair", "other"].map { "wishKind-\($0)" }
        keys += CommunityForms.gridKinds.map { "kind-\($0)" } + CommunityForms.rules.map { "rule-\($0)" }
        keys += (0..<CommunityForms.itemCount).map { "item-\($0)" } + ["earn", "redeem", "reversal"].map { "entry-\($0)" }
        keys += ["noticesTitle", "consultationsTitle", "wishesTitle", "pointsTitle", "notEnoughPoints", "stockShort"]
        for language in ["zh", "en"] {
            let words = CommunityPages.words(language)
            #expect(keys.filter { words[$0] == nil } == [], "\(language)")
        }
        #expect(CommunityPages.words("zh")["notEnoughPoints"]!.hasPrefix("积分不足"))
        #expect(CommunityPages.words("zh")["stockShort"]!.hasPrefix("库存不足"))
        #expect(CommunityPages.words("zh")["iHaveRead"] == "我已知晓")
        #expect(CommunityPages.words("en")["iHaveRead"] == "I have read it")
        #expect(String(format: CommunityPages.words("en")["scoresSent"]!, 3) == "Scores of 3 households entered.")
    }

    @Test("ids from a page's path: letters, digits, - and _ only")
    func ids() {
        #expect(CommunityForms.isSafeID("6f1c2a4e-0b7d-4a59-9d51-3c2b8e0f1a77"))
        #expect(CommunityForms.isSafeID("goods_12"))
        #expect(!CommunityForms.isSafeID(""))
        #expect(!CommunityForms.isSafeID("../v1/auth"))
        #expect(!CommunityForms.isSafeID("a?b=1"))
        #expect(!CommunityForms.isSafeID("网格"))
        #expect(!CommunityForms.isSafeID(String(repeating: "a", count: 81)))
        #expect(CommunityForms.isSafeToken("Zk3_-x9"))
        #expect(!CommunityForms.isSafeToken("a/b"))
    }

    @Test("attachments: name and http(s) address a line; other schemes refused by line")
    func attachments() {
        let text = "通知原文 https://example.gov.cn/a/notice.pdf\n\nhttp://example.org/files/map.png\n坏链接 javascript:alert(1)\n"
        let (attachments, problems) = CommunityForms.attachments(text, language: "zh")
        #expect(
            attachments == [
                ["name": "通知原文", "url": "https://example.gov.cn/a/notice.pdf"], ["name": "map.png", "url": "http://example.org/files/map.png"],
            ]
        )
        #expect(problems == ["附件第4行：请以 http(s) 网址结尾。"])
        #expect(CommunityForms.attachments("  ", language: "en").attachments.isEmpty)
        #expect(CommunityForms.safeLink("javascript:alert(1)") == nil)
        #expect(CommunityForms.safeLink("data:text/html,x") == nil)
        #expect(CommunityForms.safeLink("https://") == nil)
        #expect(CommunityForms.safeLink("HTTPS://example.org/x") == "HTTPS://example.org/x")
    }

    @Test("grids: those ticked win; else the street and kind chosen; else nothing (routing's default)")
    func gridChoice() {
        #expect(
            CommunityForms.gridChoice(street: "s1", kind: "residents", grids: ["g1", " ", "g2"]) as? [String: [String]] == ["grids": ["g1", "g2"]]
        )
        let byStreet = CommunityForms.gridChoice(street: "s1", kind: "residents", grids: [])
        #expect(byStreet["street"] as? String == "s1" && byStreet["kind"] as? String == "residents" && byStreet["grids"] == nil)
        #expect(CommunityForms.gridChoice(street: "", kind: "", grids: [""]).isEmpty)
    }

    @Test("options: blank pairs skipped, ids from the English label, unique, else option-N")
    func options() {
        let options = CommunityForms.options(labels: ["同意", "不同意", "", "再议", "赞成"], labelsEn: ["Agree", "Dis-agree!", "x", "", "agree"])
        #expect(options.map { $0["id"]! } == ["agree", "dis-agree", "option-3", "option-4"])
        #expect(options.map { $0["label"]! } == ["同意", "不同意", "再议", "赞成"])
        #expect(options[2]["labelEn"] == nil && options[0]["labelEn"] == "Agree")
    }

    @Test("households an option needs: the ceiling of households × num / den")
    func needed() {
        #expect(CommunityForms.needed(households: 10, rule: "2/3") == 7)
        #expect(CommunityForms.needed(households: 9, rule: "2/3") == 6)
        #expect(CommunityForms.needed(households: 7, rule: "1/2") == 4)
        #expect(CommunityForms.needed(households: 5, rule: "1/1") == 5)
        #expect(CommunityForms.needed(households: 0, rule: "2/3") == 0)
        #expect(CommunityForms.needed(households: 10, rule: "3/2") == nil)
        #expect(CommunityForms.needed(households: 10, rule: "x") == nil)
    }

    @Test("months: yyyy-MM; the month before (Beijing time) is the default")
    func months() throws {
        #expect(CommunityForms.isMonth("2025-06"))
        #expect(
            !CommunityForms.isMonth("2025-13") && !CommunityForms.isMonth("2025-6") && !CommunityForms.isMonth("25-06") && !CommunityForms.isMonth("")
        )
        // 2025-01-01 00:30 in Beijing is still 2024-12-31 in UTC: the month before is December 2024.
        let newYear = try #require(ISO8601DateFormatter().date(from: "2024-12-31T16:30:00Z"))
        #expect(CommunityForms.previousMonth(of: newYear) == "2024-12")
        let midMarch = try #require(ISO8601DateFormatter().date(from: "2025-03-15T04:00:00Z"))
        #expect(CommunityForms.previousMonth(of: midMarch) == "2025-02")
    }

    @Test("CSV scores: the header skipped, commas of either width or tabs, every row valid or none")
    func csvScores() {
        let good = "household,遵纪守法,热心公益,环境整洁,家风文明,勤劳致富\nh-1,10,9,8,7,6\nh-2，0，0，0，0，0\nh-3\t1\t2\t3\t4\t5\n"
        let parsed = CommunityForms.scores(csv: good, itemMax: 10, language: "zh")
        #expect(parsed.problems == [])
        #expect(
            parsed.scores == [
                .init(household: "h-1", items: [10, 9, 8, 7, 6]), .init(household: "h-2", items: [0, 0, 0, 0, 0]),
                .init(household: "h-3", items: [1, 2, 3, 4, 5]),
            ]
        )
        let bad = "h-1,10,9,8,7,6\nh-2,11,0,0,0,0\nH 3,1,1,1,1,1\nh-1,1,1,1,1,1\nh-4,1,1,1\n"
        let refused = CommunityForms.scores(csv: bad, itemMax: 10, language: "en")
        #expect(refused.scores == [], "nothing sent when a row is wrong")
        #expect(refused.problems.count == 4)
        #expect(refused.problems[0].hasPrefix("Row 2: ") && refused.problems[0].contains("0–10"))
        #expect(refused.problems[1].hasPrefix("Row 3: "))
        #expect(refused.problems[2] == "Row 4: h-1 is scored twice.")
        #expect(refused.problems[3].hasPrefix("Row 5: "))
        #expect(CommunityForms.scores(csv: "household,a,b,c,d,e\n", itemMax: 10, language: "zh").problems == ["没有可录入的行。"])
    }

    @Test("form scores: blank households skipped, a partly filled one named, out of range refused")
    func formScores() {
        var form: [String: [String]] = [:]
        for (n, value) in ["3", "4", "5", "6", "7"].enumerated() { form["score.h-1.\(n)"] = [value] }
        form["score.h-3.0"] = ["2"]
        let partly = CommunityForms.scores(form: form, households: ["h-1", "h-2", "h-3"], names: ["h-3": "3号楼101"], itemMax: 10, language: "zh")
        #expect(partly.scores == [])
        #expect(partly.problems.count == 1 && partly.problems[0].hasPrefix("3号楼101："))
        form["score.h-3.0"] = nil
        let fine = CommunityForms.scores(form: form, households: ["h-1", "h-2", "h-3"], itemMax: 10, language: "zh")
        #expect(fine.problems == [] && fine.scores == [.init(household: "h-1", items: [3, 4, 5, 6, 7])])
        form["score.h-1.4"] = ["11"]
        #expect(CommunityForms.scores(form: form, households: ["h-1"], itemMax: 10, language: "en").problems.count == 1)
        #expect(
            CommunityForms.scores(form: [:], households: ["h-1"], itemMax: 10, language: "en").problems == [
                "Fill in at least one household's scores."
            ]
        )
        let body = CommunityForms.scoresBody(month: "2025-05", scores: fine.scores)
        #expect(body["month"] as? String == "2025-05")
        #expect((body["scores"] as? [[String: Any]])?.first?["items"] as? [Int] == [3, 4, 5, 6, 7])
    }

    @Test("a redemption's refusal from routing's code: points or stock, else none")
    func redemptionRefusal() {
        #expect(CommunityForms.redemptionRefusal(code: "insufficient_points", detail: nil) == "points")
        #expect(CommunityForms.redemptionRefusal(code: "out_of_stock", detail: "only 0 left") == "stock")
        #expect(CommunityForms.redemptionRefusal(code: "conflict", detail: "out_of_stock: goods g-1") == "stock")
        #expect(CommunityForms.redemptionRefusal(code: "conflict", detail: "closed") == nil)
        #expect(CommunityForms.positive("3") == 3 && CommunityForms.positive("0") == nil && CommunityForms.positive("-1") == nil)
        #expect(CommunityForms.positive("1001", max: 1000) == nil && CommunityForms.positive(" 7 ") == 7)
    }

    @Test("wishes: the next step follows the lifecycle; each step is offered only to who may take it")
    func wishSteps() throws {
        let grid = try UnitRef(parsing: "grid:g-1")
        let otherGrid = try UnitRef(parsing: "grid:g-2")
        let street = try UnitRef(parsing: "street:s-1")
        let otherStreet = try UnitRef(parsing: "street:s-2")
        let department = try UnitRef(parsing: "district:water")
        #expect(WishSteps.next(after: "collected") == .adopt)
        #expect(WishSteps.next(after: "adopted") == .fulfil)
        #expect(WishSteps.next(after: "fulfilled") == .confirm)
        #expect(WishSteps.next(after: "confirmed") == nil && WishSteps.next(after: "lost") == nil)
        func step(_ state: String, _ role: String, _ unit: UnitRef?) -> WishSteps.Step? {
            WishSteps.available(state: state, grid: "g-1", street: "s-1", role: role, unit: unit)
        }
        #expect(step("collected", "grid-worker", grid) == .adopt)
        #expect(step("collected", "street-officer", street) == .adopt)
        #expect(step("adopted", "supervisor", nil) == .fulfil)
        #expect(step("collected", "grid-worker", otherGrid) == nil)
        #expect(step("collected", "street-officer", otherStreet) == nil)
        #expect(step("collected", "department-officer", department) == nil)
        #expect(step("fulfilled", "grid-leader", grid) == .confirm)
        #expect(step("fulfilled", "street-officer", street) == nil, "confirmed with the resident by the grid's staff")
        #expect(step("fulfilled", "supervisor", nil) == nil)
        #expect(step("confirmed", "grid-worker", grid) == nil)
    }
}

/// The community templates drawn with models like the pages' own: escaped, the forms where they
/// belong, the words in the page's language.
@Suite("Community pages: templates drawn")
struct CommunityTemplatesTests {
    func render(_ template: String, _ model: [String: Any], language: String = "zh") -> String {
        var model = model
        model["t"] = CommunityPages.words(language)
        model["csrf"] = "c5rf"
        return CommunityPages.render(template, model)
    }

    @Test("a notice: text escaped, attachments as links, three ways for each household left")
    func notice() {
        let html = render(
            "notice",
            [
                "noticeId": "n-1", "title": "<script>x</script>", "body": "停水 \"通知\"", "dueOn": "2025-06-30",
                "attachments": [["name": "原文", "href": "https://example.org/a.pdf"], ["name": "坏的"]], "hasAttachments": true,
                "households": [
                    ["hid": "h-1", "address": "1号楼", "open": true],
                    ["hid": "h-2", "address": "2号楼", "informed": ["via": "走访", "by": "w1", "at": "2025-06-01 10:00"]],
                ],
                "hasHouseholds": true, "left": "1", "grids": [], "streets": [],
                "all": ["name": "全部", "informed": "1/2", "onTime": "1", "percent": "50"],
            ]
        )
        #expect(html.contains("&lt;script&gt;x&lt;/script&gt;") && !html.contains("<script>x"))
        #expect(html.contains("停水 &quot;通知&quot;"))
        #expect(html.contains("<a href=\"https://example.org/a.pdf\" rel=\"noopener noreferrer\">原文</a>") && html.contains("<li>坏的</li>"))
        #expect(html.components(separatedBy: "action=\"/notices/n-1/informs\"").count - 1 == 3, "three forms for the one household left")
        #expect(html.contains("走访告知") && html.contains("电话告知") && html.contains("短信告知"))
        #expect(html.contains("value=\"c5rf\"") && html.contains("✓ 已告知 · 走访 · w1"))
    }

    @Test("the resident's confirm page: one button until confirmed, then the thanks")
    func confirm() {
        let open = render("notice-confirm", ["shown": true, "token": "tok_1", "title": "通知", "body": "正文", "confirmed": false], language: "en")
        #expect(open.contains("action=\"/n/tok_1\"") && open.contains("I have read it") && open.contains("name=\"csrf\" value=\"c5rf\""))
        let done = render("notice-confirm", ["shown": true, "token": "tok_1", "title": "通知", "body": "正文", "confirmed": true])
        #expect(!done.contains("<form") && done.contains("您已确认知晓"))
    }

    @Test("a wish offers only the step given, with its form")
    func wish() {
        let steps = WishState.allCases.map { ["name": $0.rawValue, "done": false, "current": $0 == .collected] }
        let html = render(
            "wish",
            ["wishId": "w-1", "kind": "助餐", "text": "午饭", "steps": steps, "stepAdopt": true, "adopterKinds": [["value": "unit", "name": "单位"]]]
        )
        #expect(html.contains("action=\"/wishes/w-1/adopt\"") && !html.contains("/wishes/w-1/fulfil") && !html.contains("/wishes/w-1/confirm"))
        #expect(html.contains("<dt>已登记</dt>"), "a word with a dash in its key is found")
    }

    @Test("a consultation: the tally per grid in columns, a position form per household with its current option checked")
    func consultation() {
        let html = render(
            "consultation",
            [
                "consultationId": "c-1", "question": "加装电梯？", "optionHeads": ["同意", "不同意"],
                "gridRows": [["name": "一网格", "positions": "3/5", "cells": ["2", "1"]]],
                "householdRows": [
                    [
                        "hid": "h-1", "address": "1号楼", "said": "", "mayRecord": true,
                        "choices": [["oid": "agree", "choice": "同意", "checked": true], ["oid": "disagree", "choice": "不同意", "checked": false]],
                    ]
                ],
                "hasHouseholds": true, "notReached": "4",
            ]
        )
        #expect(html.contains("<th>同意</th><th>不同意</th>") && html.contains("<td>2</td><td>1</td>"))
        #expect(html.contains("value=\"agree\" required checked") && html.contains("value=\"disagree\" required>"))
        #expect(html.contains("action=\"/consultations/c-1/positions\"") && !html.contains("/consultations/c-1/close"))
    }

    @Test("the score form: five inputs per household named for it, the month kept")
    func scores() {
        let cells = (0..<5).map { ["name": "score.h-1.\($0)", "value": $0 == 0 ? "7" : "", "label": "x"] }
        let html = render(
            "points-scores",
            [
                "month": "2025-05", "itemMax": "10", "grid": "g-1", "rows": [["hid": "h-1", "address": "1号楼", "cells": cells]], "hasRows": true,
                "items": ["a"],
            ]
        )
        #expect(html.components(separatedBy: "name=\"score.h-1.").count - 1 == 5)
        #expect(html.contains("name=\"score.h-1.0\" value=\"7\"") && html.contains("value=\"2025-05\"") && html.contains("max=\"10\""))
    }
}
