import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import GridLoopTestSupport
import PostgresNIO
import Testing

/// The community pages (#20) in a real browser: a notice, a consultation, a wish and the love
/// supermarket set up over routing's API, then worked through the staff pages (headless
/// Chromium) by 红星三组's grid worker, 西平's street officer, a resident's SMS link and the
/// supervisor; what the pages did is then read back through the API.
extension EndToEndTests {
    @Test(
        "community pages (headless Chromium): 赵红梅 informs a household of 红星三组 of a notice on a visit, records its position on a consultation, collects a meal wish and opens the points pages; 徐春凤 records the wish adopted and is refused in words a redemption beyond the balance; the resident confirms the SMS link; the supervisor opens the community dashboard; coverage 2/3 and the position in the tally"
    )
    func communityPages() async throws {
        try await GridLoopSystem.with { system, _ in
            let officer = try await system.bearer("xu-chunfeng")
            let worker = try await system.bearer("zhao-hongmei")
            let suffix = TestEnvironment.unique()

            // A notice and a consultation for 红星三组, from 西平's street officer.
            let title = "垃圾分类告知书-\(suffix)"
            let published = try await http(
                .POST,
                system.url("routing", "/v1/notices"),
                body: #"{"title":"\#(title)","body":"请按厨余、可回收、有害、其他四类投放，每晚七点到九点收运。","dueOn":"2030-06-30","grids":["hongxing-3"]}"#,
                headers: officer
            )
            #expect(published.status == 201, "\(published.body)")
            let notice = try #require(published.json["id"] as? String)
            let noticeUUID = try #require(UUID(uuidString: notice))
            let noticeURL = system.url("routing", "/v1/notices/\(notice)")
            let question = "红星三组是否在院内加装电动车充电桩？-\(suffix)"
            let opened = try await http(
                .POST,
                system.url("routing", "/v1/consultations"),
                body: """
                    {"question":"\(question)","options":[{"id":"yes","label":"同意"},{"id":"no","label":"不同意"}],\
                    "endsOn":"2030-06-30","rule":"2/3","grids":["hongxing-3"]}
                    """,
                headers: officer
            )
            #expect(opened.status == 201, "\(opened.body)")
            let consultation = try #require(opened.json["id"] as? String)
            let consultationURL = system.url("routing", "/v1/consultations/\(consultation)")

            // hongxing-3-02 by SMS: its confirm link for the resident's page.
            let phone = "139\(String(format: "%08d", Int.random(in: 0..<100_000_000)))"
            let sms = try await http(
                .POST,
                noticeURL + "/informs",
                body: #"{"householdId":"hongxing-3-02","via":"sms","phone":"\#(phone)"}"#,
                headers: worker
            )
            #expect(sms.status == 202, "\(sms.body)")
            let token = try #require(
                try await withDatabase { client in
                    try await client.query(
                        "SELECT token FROM routing.notice_sms WHERE notice_id = \(noticeUUID) AND household_id = 'hongxing-3-02'"
                    ).collect().first?.decode(String.self)
                }
            )

            // One packet of noodles at 西平's love supermarket, 30 points.
            let goods = "爱心面条-\(suffix)"
            let donated = try await http(
                .POST,
                system.url("routing", "/v1/points/donations"),
                body: #"{"goodsName":"\#(goods)","points":30,"quantity":1,"donor":"西平爱心企业"}"#,
                headers: officer
            )
            #expect(donated.status == 201, "\(donated.body)")

            // The pages, in a real browser.
            let web = try await system.launchReplica("web", port: 18085)
            defer { Task { await web.stop() } }
            var accounts: [String] = []
            for staff in ["zhao-hongmei", "xu-chunfeng", "wang-xu"] {
                let issued = try await system.cli("auth", "credential", staff)
                try #require(issued.status == 0, "\(issued.stderr)")
                accounts.append("\(staff):\(try #require(issued.stdout.split(separator: "\n").last.map(String.init)))")
            }
            let shots = TestEnvironment.logDir.appendingPathComponent("screenshots")
            let browser = try await runCommand(
                [GridLoopSystem.repositoryPath("Tests/Support/python/web_story.py"), "community", "http://127.0.0.1:18085", shots.path] + accounts,
                executable: "/usr/bin/python3",
                environment: [
                    "GRIDLOOP_STORY_NOTICE": title, "GRIDLOOP_STORY_CONSULTATION": question, "GRIDLOOP_STORY_TOKEN": token,
                    "GRIDLOOP_STORY_GOODS": goods,
                ],
                timeout: .seconds(300)
            )
            #expect(browser.status == 0 && browser.stdout.contains("PASS"), "\(browser.stdout)\n\(browser.stderr.suffix(2000))")

            // What the pages did, through the API: hongxing-3-01 informed on a visit, hongxing-3-02 by the confirmed SMS.
            let view = try await http(.GET, noticeURL, headers: worker)
            let all = ((view.json["coverage"] as? [String: Any])?["all"] as? [String: Any]) ?? [:]
            #expect(all["households"] as? Int == 3 && all["checked"] as? Int == 2, "\(all)")
            let households = view.json["households"] as? [[String: Any]] ?? []
            let visited = households.first { $0["id"] as? String == "hongxing-3-01" } ?? [:]
            #expect(visited["informed"] as? Bool == true && visited["via"] as? String == "visit", "\(visited)")
            let texted = households.first { $0["id"] as? String == "hongxing-3-02" } ?? [:]
            #expect(texted["informed"] as? Bool == true && texted["via"] as? String == "sms", "\(texted)")
            // The position recorded on the page is in the tally.
            let tallied = try await http(.GET, consultationURL, headers: officer)
            let tally = ((tallied.json["tally"] as? [String: Any])?["all"] as? [String: Any]) ?? [:]
            let yes = ((tally["byOption"] as? [String: Any])?["yes"] as? NSNumber)?.intValue
            #expect(tally["positions"] as? Int == 1 && yes == 1, "\(tally)")
            let mine = (try await http(.GET, consultationURL, headers: worker)).json["households"] as? [[String: Any]] ?? []
            #expect(mine.contains { $0["id"] as? String == "hongxing-3-01" && $0["option"] as? String == "yes" }, "\(mine)")
            // The wish collected on the page, adopted on the page.
            let wish = try #require(
                browser.stdout.split(separator: "\n").first { $0.hasPrefix("WISH ") }.map { String($0.dropFirst(5)) },
                "\(browser.stdout)"
            )
            let shown = try await http(.GET, system.url("routing", "/v1/wishes/\(wish)"), headers: officer)
            #expect(
                shown.json["state"] as? String == "adopted" && shown.json["adopterKind"] as? String == "enterprise"
                    && shown.json["householdId"] as? String == "hongxing-3-01",
                "\(shown.body)"
            )
            for page in [
                "notices", "notice", "consultations", "consultation", "wishes", "wish-new", "wish", "points", "points-scores",
                "points-shop", "notice-confirm", "dashboard-community",
            ] {
                for width in ["phone", "desktop"] {
                    #expect(
                        FileManager.default.fileExists(atPath: shots.appendingPathComponent("\(page)-\(width).png").path),
                        "screenshot \(page)-\(width)"
                    )
                }
            }
        }
    }
}
