import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import GridLoopTestSupport
import Testing

/// 未诉先办 on the real services: a street's task reaches a grid, its households are checked
/// (over the API and on the page in a real browser), a hazard found becomes a request linked to
/// the task, and the coverage reaches every household.
extension EndToEndTests {
    @Test(
        "proactive task (未诉先办): the street opens a wiring check for 红星三组; the grid worker checks households over the API and on the page (headless Chromium), a hazard found becomes a request linked to the task; coverage 3/3 on time with 1 hazard; scopes and bad input refused"
    )
    func proactiveTask() async throws {
        try await GridLoopSystem.with { system, _ in
            let tasksURL = system.url("routing", "/v1/tasks")
            let officer = try await system.bearer("xu-chunfeng")
            let worker = try await system.bearer("zhao-hongmei")
            let open =
                #"{"title":"雨季前入户检查电线","description":"每户查看电线、插座和电表箱，发现老化发热立即上报","category":"power","dueOn":"2030-06-30","grids":["hongxing-3"]}"#
            // Who may open it, for which grids; bad input named.
            #expect(try await http(.POST, tasksURL, body: open, headers: try await system.bearer("cui-chunhua")).status == 403, "a grid worker")
            let otherStreet = open.replacingOccurrences(of: #"["hongxing-3"]"#, with: #"["hanjiaxu-1"]"#)
            #expect(try await http(.POST, tasksURL, body: otherStreet, headers: officer).status == 403, "another street's grid")
            let bad = try await http(
                .POST,
                tasksURL,
                body: #"{"title":"","category":"nothing","dueOn":"soon","grids":["hongxing-3"]}"#,
                headers: officer
            )
            let fields = Set((bad.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String })
            #expect(bad.status == 400 && fields == ["title", "category", "dueOn"], "\(bad.body)")

            let impossibleDay = open.replacingOccurrences(of: "2030-06-30", with: "2030-02-30")
            #expect(try await http(.POST, tasksURL, body: impossibleDay, headers: officer).status == 400, "no 30 February")
            var once = officer
            once["Idempotency-Key"] = "wiring-\(UUID().uuidString)"
            let opened = try await http(.POST, tasksURL, body: open, headers: once)
            #expect(opened.status == 201, "\(opened.body)")
            let task = try #require(opened.json["id"] as? String)
            let again = try await http(.POST, tasksURL, body: open, headers: once)
            #expect(again.status == 200 && again.json["id"] as? String == task, "the same form twice opens one task: \(again.status)")
            func coverage() async throws -> [String: Any] {
                ((try await http(.GET, tasksURL + "/\(task)", headers: worker)).json["coverage"] as? [String: Any])?["all"] as? [String: Any] ?? [:]
            }
            let before = try await coverage()
            #expect(before["households"] as? Int == 3 && before["checked"] as? Int == 0, "\(before)")
            let listed = try await http(.GET, tasksURL, headers: worker)
            #expect(listed.body.contains(task), "the grid worker's list has it")
            let notMine = try await http(.GET, tasksURL + "/\(task)", headers: try await system.bearer("cui-chunhua"))
            #expect(notMine.status == 403, "光华三组's worker does not read 红星三组's task")

            // One household checked over the API; again changes nothing; others refused.
            let checks = tasksURL + "/\(task)/checks"
            let first = try await http(.POST, checks, body: #"{"householdId":"hongxing-3-01","note":"电表箱正常"}"#, headers: worker)
            #expect(first.status == 201, "\(first.body)")
            #expect(try await http(.POST, checks, body: #"{"householdId":"hongxing-3-01"}"#, headers: worker).status == 200, "checked already")
            #expect(
                try await http(.POST, checks, body: #"{"householdId":"hongxing-3-02"}"#, headers: try await system.bearer("cui-chunhua")).status
                    == 403
            )
            let elsewhere = try await http(.POST, checks, body: #"{"householdId":"guanghua-3-01"}"#, headers: worker)
            #expect(elsewhere.status == 400 && elsewhere.body.contains("does not reach"), "\(elsewhere.body)")

            // A hazard found: reported as a request of the household with the task's id.
            let hazard = submissionJSON(location: #""householdId":"hongxing-3-02""#, description: "电线老化，插座发烫")
                .replacingOccurrences(of: #""submittedBy":"cui-chunhua"}"#, with: #""submittedBy":"zhao-hongmei","taskId":"\#(task)"}"#)
            // Only a signed-in staff member reports a task's hazard (a public post naming the task is refused).
            let anonymous = try await http(.POST, system.url("intake", "/v1/requests"), body: hazard)
            #expect(anonymous.status == 400 && anonymous.body.contains("taskId"), "\(anonymous.status) \(anonymous.body)")
            let posted = try await http(.POST, system.url("intake", "/v1/requests"), body: hazard, headers: worker)
            #expect(posted.status == 201, "\(posted.body)")
            let request = try #require(posted.json["id"] as? String)
            let linked = await eventually {
                let view = try? await http(.GET, tasksURL + "/\(task)", headers: worker)
                let households = view?.json["households"] as? [[String: Any]] ?? []
                return households.contains {
                    $0["id"] as? String == "hongxing-3-02" && $0["outcome"] as? String == "hazard" && $0["requestId"] as? String == request
                }
                    && (view?.json["hazards"] as? [String]) == [request]
            }
            #expect(linked, "the hazard's request is linked to the task")
            let taskOfRequest = try await withDatabase { client in
                try await client.query("SELECT task_id FROM routing.requests WHERE id = \(UUID(uuidString: request))").collect().first?.decode(
                    UUID?.self
                )
            }
            #expect(taskOfRequest?.uuidString.lowercased() == task)
            let hazardWork = try await takeUntil(system, unit: "grid:hongxing-3", staff: "zhao-hongmei", requestId: request)
            #expect(hazardWork.category == "power", "the hazard is worked as any request")

            // The last household on the page, in a real browser; the street opens another task there.
            let web = try await system.launchReplica("web", port: 18085)
            defer { Task { await web.stop() } }
            var accounts: [String] = []
            for staff in ["zhao-hongmei", "xu-chunfeng"] {
                let issued = try await system.cli("auth", "credential", staff)
                try #require(issued.status == 0, "\(issued.stderr)")
                accounts.append("\(staff):\(try #require(issued.stdout.split(separator: "\n").last.map(String.init)))")
            }
            let shots = TestEnvironment.logDir.appendingPathComponent("screenshots")
            let browser = try await runCommand(
                [GridLoopSystem.repositoryPath("Tests/Support/python/web_story.py"), "tasks", "http://127.0.0.1:18085", shots.path] + accounts,
                executable: "/usr/bin/python3",
                environment: [:],
                timeout: .seconds(300)
            )
            #expect(browser.status == 0 && browser.stdout.contains("PASS"), "\(browser.stdout)\n\(browser.stderr.suffix(2000))")
            let all = try await coverage()
            #expect(
                all["households"] as? Int == 3 && all["checked"] as? Int == 3 && all["onTime"] as? Int == 3 && all["hazards"] as? Int == 1
                    && all["complete"] as? Bool == true,
                "\(all)"
            )
            let street = try await http(.GET, tasksURL, headers: officer)
            #expect(street.body.contains("汛期前排查危房"), "the task opened on the page")
            // Each check reached reporting as task.checked (the worker's proactive work).
            let counted = await eventually {
                let sum = try? await withDatabase { client in
                    try await client.query(
                        "SELECT coalesce(sum(value), 0)::int FROM reporting.daily WHERE metric = 'task_checks' AND unit = 'staff:zhao-hongmei'"
                    )
                    .collect().first?.decode(Int.self)
                }
                return sum == 3
            }
            #expect(counted, "three checks counted by reporting")
            for page in ["tasks", "task", "task-street"] {
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
