import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import GridLoopTestSupport
import PostgresNIO
import Testing

/// 上情下达 on the real services: the district publishes a notice to every merchant grid, the
/// grid worker informs its households on visits, by phone and by an SMS whose confirm link the
/// resident opens without signing in; coverage reaches every household. A lagging grid is
/// reminded, then its street alerted once the due day is over, once each; a grid done is not.
extension EndToEndTests {
    @Test(
        "policy notice (上情下达): the supervisor publishes the epidemic notice to the merchant grids; 李尚欣 informs 6 households by visit, phone and a confirmed SMS link (the number sealed, never stored); coverage 6/6 on time; a lagging grid reminded then overdue, once each; scopes and bad input refused"
    )
    func policyNotice() async throws {
        // The watch every second; reminders as soon as a notice is published (a due day within ten years).
        let environment = ["ROUTING_NOTICE_WATCH_SECONDS": "1", "ROUTING_NOTICE_REMIND_HOURS": "87600"]
        try await GridLoopSystem.with(environment: environment) { system, receiver in
            let noticesURL = system.url("routing", "/v1/notices")
            let supervisor = try await system.bearer("wang-xu")
            let officer = try await system.bearer("xu-chunfeng")
            let worker = try await system.bearer("li-shangxin")
            let suffix = TestEnvironment.unique()
            let title = "疫情防控告知书-\(suffix)"
            let due = Self.beijingDay(daysFromNow: 7)
            let publish = """
                {"title":"\(title)","titleEn":"Epidemic prevention notice \(suffix)","body":"请各商户做好通风消毒，员工每日测温，出现发热及时报告。",
                 "attachments":[{"name":"告知书全文","url":"https://example.org/notices/\(suffix).pdf"}],"dueOn":"\(due)","kind":"merchants"}
                """

            // Bad input named, field by field; who may publish.
            let bad = try await http(.POST, noticesURL, body: #"{"title":"","body":" ","dueOn":"soon","kind":"shops"}"#, headers: supervisor)
            let fields = Set((bad.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String })
            #expect(bad.status == 400 && fields == ["title", "body", "dueOn", "kind"], "\(bad.status) \(bad.body)")
            let badLink = publish.replacingOccurrences(of: "https://example.org/notices/\(suffix).pdf", with: "javascript:alert(1)")
            let linkRefused = try await http(.POST, noticesURL, body: badLink, headers: supervisor)
            #expect(linkRefused.status == 400 && linkRefused.body.contains("attachments[0].url"), "\(linkRefused.body)")
            let otherStreet = publish.replacingOccurrences(of: #""kind":"merchants""#, with: #""grids":["hanjiaxu-1"]"#)
            let refused = try await http(.POST, noticesURL, body: otherStreet, headers: officer)
            #expect(refused.status == 403 && refused.body.contains("xiping"), "a street officer, another street's grid: \(refused.body)")
            #expect(try await http(.POST, noticesURL, body: publish, headers: worker).status == 403, "a grid worker publishes nothing")
            #expect(try await http(.POST, noticesURL, body: publish).status == 401, "nobody signed in")

            // Published once, however often the form is sent.
            var once = supervisor
            once["Idempotency-Key"] = "epidemic-\(suffix)"
            let published = try await http(.POST, noticesURL, body: publish, headers: once)
            #expect(published.status == 201, "\(published.body)")
            let notice = try #require(published.json["id"] as? String)
            let noticeUUID = try #require(UUID(uuidString: notice))
            #expect(published.json["grids"] as? [String] == ["xiping-merchants-1"], "every merchant grid: \(published.body)")
            let again = try await http(.POST, noticesURL, body: publish, headers: once)
            #expect(again.status == 200 && again.json["id"] as? String == notice, "the same form twice publishes one notice: \(again.status)")
            let noticeURL = noticesURL + "/\(notice)"
            func coverage(_ key: String = "all") async throws -> [String: Any] {
                let coverage = (try await http(.GET, noticeURL, headers: worker)).json["coverage"] as? [String: Any] ?? [:]
                if key == "all" { return coverage["all"] as? [String: Any] ?? [:] }
                return (coverage["grids"] as? [[String: Any]] ?? []).first { $0["key"] as? String == key } ?? [:]
            }
            let before = try await coverage("xiping-merchants-1")
            #expect(before["households"] as? Int == 6 && before["checked"] as? Int == 0, "\(before)")
            #expect((try await http(.GET, noticesURL, headers: worker)).body.contains(notice), "the grid worker's list has it")
            #expect((try await http(.GET, noticesURL, headers: officer)).body.contains(notice), "the street's list has it")
            #expect(try await http(.GET, noticeURL, headers: try await system.bearer("cui-chunhua")).status == 403, "光华三组 is not reached")
            #expect(try await http(.GET, noticesURL + "/\(UUID().uuidString.lowercased())", headers: worker).status == 404)

            // Visits and calls; the same household again counts once; others refused; bad input named.
            let informs = noticeURL + "/informs"
            for (household, via) in [("01", "visit"), ("02", "visit"), ("03", "visit"), ("04", "phone"), ("05", "phone")] {
                let answer = try await http(
                    .POST,
                    informs,
                    body: #"{"householdId":"xiping-merchants-1-\#(household)","via":"\#(via)","note":"已告知店主"}"#,
                    headers: worker
                )
                #expect(answer.status == 201, "\(household): \(answer.body)")
            }
            let twice = try await http(.POST, informs, body: #"{"householdId":"xiping-merchants-1-01","via":"phone"}"#, headers: worker)
            #expect(twice.status == 200, "informed already: \(twice.status)")
            let stranger = try await http(
                .POST,
                informs,
                body: #"{"householdId":"xiping-merchants-1-06","via":"visit"}"#,
                headers: try await system.bearer("cui-chunhua")
            )
            #expect(stranger.status == 403, "another grid's worker: \(stranger.body)")
            let wrongVia = try await http(.POST, informs, body: #"{"householdId":"xiping-merchants-1-06","via":"letter"}"#, headers: worker)
            #expect(wrongVia.status == 400 && wrongVia.body.contains("\"field\":\"via\""), "\(wrongVia.body)")
            let noPhone = try await http(.POST, informs, body: #"{"householdId":"xiping-merchants-1-06","via":"sms"}"#, headers: worker)
            #expect(noPhone.status == 400 && noPhone.body.contains("\"field\":\"phone\""), "\(noPhone.body)")
            let notMobile = try await http(
                .POST,
                informs,
                body: #"{"householdId":"xiping-merchants-1-06","via":"sms","phone":"0874-3012331"}"#,
                headers: worker
            )
            #expect(notMobile.status == 400 && notMobile.body.contains("mainland mobile") && !notMobile.body.contains("3012331"), "\(notMobile.body)")
            let elsewhere = try await http(.POST, informs, body: #"{"householdId":"guanghua-3-01","via":"visit"}"#, headers: worker)
            #expect(elsewhere.status == 400 && elsewhere.body.contains("does not reach"), "\(elsewhere.body)")
            #expect(
                try await http(
                    .POST,
                    noticesURL + "/\(UUID().uuidString.lowercased())/informs",
                    body: #"{"householdId":"x","via":"visit"}"#,
                    headers: worker
                )
                .status == 404
            )

            // The last household by SMS: a confirm link; it counts once the resident opens it and confirms.
            let phone = "139\(String(format: "%08d", Int.random(in: 0..<100_000_000)))"
            let sms = try await http(
                .POST,
                informs,
                body: #"{"householdId":"xiping-merchants-1-06","via":"sms","phone":"\#(phone)"}"#,
                headers: worker
            )
            #expect(sms.status == 202, "\(sms.body)")
            let sixth = (sms.json["households"] as? [[String: Any]] ?? []).first { $0["id"] as? String == "xiping-merchants-1-06" } ?? [:]
            #expect(sixth["informed"] as? Bool == false && sixth["smsSentAt"] != nil, "sent, not yet confirmed: \(sixth)")
            #expect(try await coverage("xiping-merchants-1")["checked"] as? Int == 5)
            let token = try #require(
                try await withDatabase { client in
                    try await client.query(
                        "SELECT token FROM routing.notice_sms WHERE notice_id = \(noticeUUID) AND household_id = 'xiping-merchants-1-06'"
                    ).collect().first?.decode(String.self)
                }
            )
            #expect(token.count == 43, "32 random bytes, base64url: \(token.count)")
            // The number travels sealed in notice.sms, and nothing of routing keeps it.
            let (plain, sealed) = try await withDatabase { client in
                let plain = try await client.query(
                    """
                    SELECT (SELECT count(*) FROM routing.outbox o WHERE o::text LIKE '%' || \(phone) || '%')
                         + (SELECT count(*) FROM routing.notice_sms s WHERE s::text LIKE '%' || \(phone) || '%')
                         + (SELECT count(*) FROM routing.notice_informs i WHERE i::text LIKE '%' || \(phone) || '%')
                    """
                ).collect().first?.decode(Int64.self)
                let sealed = try await client.query(
                    """
                    SELECT count(*) FROM routing.outbox WHERE message_type = 'notice.sms' AND message_id LIKE 'notice-sms:' || \(notice) || ':%'
                        AND body LIKE '%"phoneSealed":"enc:v1:%' AND body LIKE '%' || \(token) || '%'
                    """
                ).collect().first?.decode(Int64.self)
                return (plain, sealed)
            }
            #expect(plain == 0 && sealed == 1, "the number: in the clear \(plain ?? -1) times, sealed in \(sealed ?? -1) notice.sms")
            // Notification sends it to the resident with the link.
            let texted = await eventually(timeout: .seconds(30)) { receiver.sms.contains { $0.body.contains(token) } }
            #expect(texted, "the SMS gateway got the confirm link: \(receiver.sms.map(\.body).suffix(2))")

            let confirmURL = noticesURL + "/confirm/\(token)"
            let shown = try await http(.GET, confirmURL)
            #expect(shown.status == 200 && shown.json["title"] as? String == title && shown.json["confirmed"] as? Bool == false, "\(shown.body)")
            #expect((shown.json["attachments"] as? [[String: Any]])?.first?["name"] as? String == "告知书全文")
            let confirmed = try await http(.POST, confirmURL)
            #expect(confirmed.status == 200 && confirmed.json["confirmed"] as? Bool == true, "\(confirmed.body)")
            let reconfirmed = try await http(.POST, confirmURL)
            #expect(reconfirmed.status == 200 && reconfirmed.json["confirmed"] as? Bool == true, "a second confirm changes nothing")
            let forged = String(repeating: "A", count: 43)
            #expect(try await http(.GET, noticesURL + "/confirm/\(forged)").status == 404)
            #expect(try await http(.POST, noticesURL + "/confirm/\(forged)").status == 404)

            let full = try await coverage("xiping-merchants-1")
            #expect(
                full["households"] as? Int == 6 && full["checked"] as? Int == 6 && full["onTime"] as? Int == 6 && full["complete"] as? Bool == true
                    && full["hazards"] as? Int == 0,
                "\(full)"
            )
            let mine = (try await http(.GET, noticeURL, headers: worker)).json["households"] as? [[String: Any]] ?? []
            let bySMS = mine.first { $0["id"] as? String == "xiping-merchants-1-06" } ?? [:]
            #expect(bySMS["via"] as? String == "sms" && bySMS["informedBy"] as? String == "li-shangxin", "\(bySMS)")
            // Six notice.informed, one per household, published and counted by reporting.
            let informed = await eventually(timeout: .seconds(30)) {
                let counts = try? await withDatabase { client in
                    try await client.query(
                        """
                        SELECT (SELECT count(*) FROM routing.outbox
                                WHERE message_id LIKE 'notice-informed:' || \(notice) || ':%' AND published_at IS NOT NULL),
                               (SELECT count(*) FROM reporting.events WHERE message_id LIKE 'notice-informed:' || \(notice) || ':%')
                        """
                    ).collect().first?.decode((Int64, Int64).self)
                }
                return counts?.0 == 6 && counts?.1 == 6
            }
            #expect(informed, "six notice.informed reached reporting")

            // The CLI, as the grid worker.
            var workerCLI = system.environment
            workerCLI["GRIDLOOP_TOKEN"] = try await system.token(for: "li-shangxin")
            workerCLI["GRIDLOOP_ROUTING_URL"] = system.url("routing", "")
            let listed = try await runCommand(["notices", "list"], environment: workerCLI)
            #expect(
                listed.status == 0 && listed.stdout.contains("\(notice)  \(title)  due \(due)  informed 6/6 (100%)"),
                "\(listed.stdout) \(listed.stderr)"
            )
            let shownCLI = try await runCommand(["notices", "show", notice], environment: workerCLI)
            #expect(
                shownCLI.status == 0 && shownCLI.stdout.contains("xiping-merchants-1-06") && shownCLI.stdout.contains("informed (sms"),
                "\(shownCLI.stdout)"
            )
            let badCLI = try await runCommand(
                ["notices", "inform", notice, "--household", "xiping-merchants-1-06", "--via", "sms"],
                environment: workerCLI
            )
            #expect(badCLI.status != 0 && badCLI.stderr.contains("--phone"), "\(badCLI.stderr)")

            // A lagging grid: 红星三组 has households left. Reminded at once (the window is ten years), then overdue
            // once its due day is over; 李尚欣's grid, done, is not alerted when its due day is over too.
            let lagging = try await http(
                .POST,
                noticesURL,
                body: #"{"title":"冬季防火提示-\#(suffix)","body":"请提醒住户不要私拉电线、人走断电。","dueOn":"\#(due)","grids":["hongxing-3"]}"#,
                headers: officer
            )
            #expect(lagging.status == 201, "\(lagging.body)")
            let second = try #require(lagging.json["id"] as? String)
            let secondUUID = try #require(UUID(uuidString: second))
            let firstInform = try await http(
                .POST,
                system.url("routing", "/v1/notices/\(second)/informs"),
                body: #"{"householdId":"hongxing-3-01","via":"visit"}"#,
                headers: try await system.bearer("zhao-hongmei")
            )
            #expect(firstInform.status == 201, "\(firstInform.body)")
            func alerts(_ id: UUID, _ grid: String) async throws -> (reminded: Bool, overdue: Bool) {
                try await withDatabase { client in
                    try await client.query(
                        """
                        SELECT reminded_at IS NOT NULL, overdue_at IS NOT NULL FROM routing.notice_grids
                        WHERE notice_id = \(id) AND grid_id = \(grid)
                        """
                    ).collect().first?.decode((Bool, Bool).self) ?? (false, false)
                }
            }
            let reminded = await eventually(timeout: .seconds(20)) { (try? await alerts(secondUUID, "hongxing-3"))?.reminded == true }
            #expect(reminded, "红星三组 reminded")
            #expect(try await alerts(secondUUID, "hongxing-3").overdue == false, "not overdue before its due day is over")
            try await withDatabase { client in
                _ = try await client.query(
                    "UPDATE routing.notices SET due_by = now() - interval '1 minute' WHERE id = ANY(\([secondUUID, noticeUUID])::uuid[])"
                ).collect()
            }
            let overdue = await eventually(timeout: .seconds(20)) { (try? await alerts(secondUUID, "hongxing-3"))?.overdue == true }
            #expect(overdue, "红星三组's street alerted")
            try await Task.sleep(for: .seconds(3))  // several more passes of the watch
            #expect(try await alerts(noticeUUID, "xiping-merchants-1").overdue == false, "a grid with every household informed is not alerted")
            let lagIds = ["reminder", "overdue"].map { "notice-lagging:\(second):hongxing-3:\($0)" }
            let delivered = await eventually(timeout: .seconds(30)) {
                let counts = try? await withDatabase { client in
                    try await client.query(
                        """
                        SELECT (SELECT count(*) FROM routing.outbox WHERE message_id = ANY(\(lagIds)) AND published_at IS NOT NULL),
                               (SELECT count(*) FROM reporting.events WHERE message_id = ANY(\(lagIds))),
                               (SELECT count(*) FROM notification.inbox WHERE message_id = ANY(\(lagIds))),
                               (SELECT count(*) FROM routing.outbox WHERE message_id LIKE 'notice-lagging:' || \(second) || ':%')
                        """
                    ).collect().first?.decode((Int64, Int64, Int64, Int64).self)
                }
                return counts?.0 == 2 && counts?.1 == 2 && counts?.2 == 2 && counts?.3 == 2
            }
            #expect(delivered, "one reminder and one overdue alert, published and received by reporting and notification")
            let overdueBody = try await withDatabase { client in
                try await client.query("SELECT body FROM routing.outbox WHERE message_id = \(lagIds[1])").collect().first?.decode(String.self)
            }
            #expect(
                overdueBody?.contains(#""informed":1"#) == true && overdueBody?.contains(#""households":3"#) == true
                    && overdueBody?.contains(#""stage":"overdue""#) == true && overdueBody?.contains(#""street":"xiping""#) == true,
                "\(overdueBody ?? "-")"
            )
        }
    }

    /// The day `daysFromNow` days from now in Beijing time (the demo org's calendar), `yyyy-MM-dd`.
    fileprivate static func beijingDay(daysFromNow: Int) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 8 * 3600)!
        let parts = calendar.dateComponents([.year, .month, .day], from: Date().addingTimeInterval(Double(daysFromNow) * 86_400))
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }
}
