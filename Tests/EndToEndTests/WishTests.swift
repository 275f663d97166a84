import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import GridLoopTestSupport
import Testing

/// Micro-wishes (微心愿) on the real services: 龙华's grid workers collect the left-behind elders'
/// meal wishes of 韩家圩; the street records one adopted by the market and fulfilled; the grid
/// worker confirms it with the resident; the street's meal wishes show as a cluster; steps out of
/// order, other streets' officers and bad input are refused. The database outlives the test: texts
/// are unique per run and counts are taken relative to the state before it.
extension EndToEndTests {
    @Test(
        "micro-wishes (微心愿): 韩家圩's grid workers collect 4 elders' meal wishes; 龙华's officer records one adopted by 韩家圩农贸市场 and fulfilled; the grid worker confirms it with the resident; 龙华 × meal clusters; out of order 409, another street 403, bad input 400"
    )
    func microWishes() async throws {
        try await GridLoopSystem.with { system, _ in
            let wishesURL = system.url("routing", "/v1/wishes")
            let wu = try await system.bearer("wu-xiaoli")
            let han = try await system.bearer("han-jiayi")
            let tao = try await system.bearer("tao-tao")
            let xu = try await system.bearer("xu-chunfeng")
            let run = UUID().uuidString.prefix(8).lowercased()
            func mealCluster(_ headers: [String: String]) async throws -> [String: Any]? {
                let answer = try await http(.GET, wishesURL + "/clusters", headers: headers)
                #expect(answer.status == 200, "\(answer.body)")
                let clusters = answer.json["clusters"] as? [[String: Any]] ?? []
                return clusters.first { $0["street"] as? String == "longhua" && $0["kind"] as? String == "meal" }
            }
            let totalBefore = try await mealCluster(tao)?["total"] as? Int ?? 0
            let openBefore = try await mealCluster(tao)?["open"] as? Int ?? 0
            // Reporting's figures for 龙华 (this period's wishes: collected, confirmed), before.
            func reported() async throws -> (collected: Int, confirmed: Int)? {
                let answer = try await report(system, "/v1/reports/community/wishes?street=longhua")
                guard answer.status == 200 else { return nil }
                let row = (answer.json["streets"] as? [[String: Any]] ?? []).first { $0["key"] as? String == "longhua" }
                return (row?["collected"] as? Int ?? 0, row?["confirmed"] as? Int ?? 0)
            }
            let reportedBefore = try await reported()

            // Bad input named, nothing written; only the household's grid staff collect.
            let bad = try await http(.POST, wishesURL, body: #"{"householdId":"nobody-01","kind":"lunch","text":"  "}"#, headers: wu)
            let fields = Set((bad.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String })
            #expect(bad.status == 400 && fields == ["householdId", "kind", "text"], "\(bad.body)")
            let long = String(repeating: "饭", count: 501)
            #expect(
                try await http(.POST, wishesURL, body: #"{"householdId":"hanjiaxu-1-01","kind":"meal","text":"\#(long)"}"#, headers: wu).status
                    == 400,
                "501 characters"
            )
            #expect(try await http(.POST, wishesURL, body: #"{"householdId":"hanjiaxu-1-01"}"#, headers: wu).status == 400, "fields missing")
            func wish(_ household: String, _ n: Int) -> String {
                #"{"householdId":"\#(household)","kind":"meal","text":"留守老人希望每天中午有一份热饭（\#(run)-\#(n)）"}"#
            }
            #expect(try await http(.POST, wishesURL, body: wish("hanjiaxu-2-01", 0), headers: wu).status == 403, "not her grid's household")
            #expect(try await http(.POST, wishesURL, body: wish("hanjiaxu-1-01", 0), headers: tao).status == 403, "the street collects none")
            #expect(try await http(.GET, wishesURL, headers: try await system.bearer("power-officer-1")).status == 403, "a department")

            // Four meal wishes collected on visits; a form sent twice, or the same wish recorded again, counts once.
            var once = wu
            once["Idempotency-Key"] = "wish-\(run)"
            let first = try await http(.POST, wishesURL, body: wish("hanjiaxu-1-01", 1), headers: once)
            #expect(first.status == 201 && first.json["state"] as? String == "collected" && first.json["version"] as? Int == 1, "\(first.body)")
            let w1 = try #require(first.json["id"] as? String)
            let replayed = try await http(.POST, wishesURL, body: wish("hanjiaxu-1-01", 1), headers: once)
            #expect(replayed.status == 200 && replayed.json["id"] as? String == w1, "the same form twice: \(replayed.status)")
            let recorded = try await http(.POST, wishesURL, body: wish("hanjiaxu-1-01", 1), headers: wu)
            #expect(recorded.status == 200 && recorded.json["id"] as? String == w1, "the household's same wish once: \(recorded.status)")
            var ids = [w1]
            for (household, n, staff) in [("hanjiaxu-1-02", 2, wu), ("hanjiaxu-2-01", 3, han), ("hanjiaxu-2-02", 4, han)] {
                let collected = try await http(.POST, wishesURL, body: wish(household, n), headers: staff)
                #expect(collected.status == 201 && collected.json["grid"] as? String == String(household.dropLast(3)), "\(collected.body)")
                ids.append(try #require(collected.json["id"] as? String))
            }
            #expect(Set(ids).count == 4)

            // Who reads what: the grid its own, the street all four, another street none of them.
            let wuList = try await http(.GET, wishesURL + "?state=collected", headers: wu)
            #expect(wuList.body.contains(ids[0]) && wuList.body.contains(ids[1]) && !wuList.body.contains(ids[2]), "wu-xiaoli's grid only")
            let street = try await http(.GET, wishesURL + "?kind=meal&street=longhua", headers: tao)
            #expect(ids.allSatisfy { street.body.contains($0) }, "龙华's officer reads all four")
            #expect(try await http(.GET, wishesURL + "?street=longhua", headers: xu).status == 403, "西平's officer asks for 龙华's")
            #expect(!(try await http(.GET, wishesURL, headers: xu).body.contains(ids[0])), "西平's officer reads 西平's")
            #expect(try await http(.GET, wishesURL + "/\(ids[2])", headers: wu).status == 403, "another grid's wish")
            #expect(try await http(.GET, wishesURL + "/\(ids[2])", headers: xu).status == 403, "another street's wish")
            #expect(try await http(.GET, wishesURL + "/\(UUID().uuidString)", headers: tao).status == 404)
            #expect(try await http(.GET, wishesURL + "?state=done", headers: tao).status == 400)

            // Similar wishes: 龙华 × meal is a cluster (≥ 3), the four counted, all open.
            let cluster = try #require(try await mealCluster(tao), "龙华 × meal listed")
            #expect(cluster["total"] as? Int == totalBefore + 4 && cluster["open"] as? Int == openBefore + 4, "\(cluster)")
            #expect((cluster["total"] as? Int ?? 0) >= 3 && cluster["label"] as? String == "助餐" && cluster["streetName"] as? String == "龙华街道")
            #expect(try await mealCluster(wu) != nil, "the grid worker sees her street's clusters")
            #expect(try await mealCluster(xu) == nil, "西平's officer sees 西平's clusters only")

            // Steps out of order: 409 in words, nothing changed.
            let w1URL = wishesURL + "/\(w1)"
            let early = try await http(.POST, w1URL + "/fulfil", body: #"{"note":"已送餐"}"#, headers: tao)
            #expect(early.status == 409 && early.json["code"] as? String == "conflict" && early.body.contains("not adopted yet"), "\(early.body)")
            #expect(try await http(.POST, w1URL + "/confirm", body: "{}", headers: wu).status == 409, "not fulfilled yet")
            // Another street's officer, bad input, an unknown wish.
            let adopt = #"{"adopterKind":"enterprise","adopterName":"韩家圩农贸市场"}"#
            #expect(try await http(.POST, w1URL + "/adopt", body: adopt, headers: xu).status == 403, "西平's officer")
            #expect(try await http(.POST, w1URL + "/adopt", body: adopt, headers: han).status == 403, "another grid's worker")
            let badAdopt = try await http(.POST, w1URL + "/adopt", body: #"{"adopterKind":"company","adopterName":""}"#, headers: tao)
            let adoptFields = Set((badAdopt.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String })
            #expect(badAdopt.status == 400 && adoptFields == ["adopterKind", "adopterName"], "\(badAdopt.body)")
            #expect(try await http(.POST, wishesURL + "/\(UUID().uuidString)/adopt", body: adopt, headers: tao).status == 404)
            #expect(try await http(.GET, w1URL, headers: tao).json["version"] as? Int == 1, "nothing changed")

            // 龙华's officer: adopted by the market, then fulfilled; a second adopt is refused.
            let adopted = try await http(.POST, w1URL + "/adopt", body: adopt, headers: tao)
            #expect(adopted.status == 200 && adopted.json["state"] as? String == "adopted" && adopted.json["version"] as? Int == 2, "\(adopted.body)")
            #expect(adopted.json["adopterName"] as? String == "韩家圩农贸市场" && adopted.json["adoptedBy"] as? String == "tao-tao")
            let twice = try await http(.POST, w1URL + "/adopt", body: #"{"adopterKind":"volunteer","adopterName":"志愿者李阿姨"}"#, headers: wu)
            #expect(twice.status == 409 && twice.body.contains("adopted already"), "\(twice.body)")
            let stale = try await http(.POST, w1URL + "/fulfil", body: #"{"note":"已送餐","version":1}"#, headers: tao)
            #expect(stale.status == 409, "a step on the version seen before the adoption: \(stale.body)")
            #expect(try await http(.POST, w1URL + "/fulfil", body: #"{"note":""}"#, headers: tao).status == 400, "what was done")
            let fulfilled = try await http(.POST, w1URL + "/fulfil", body: #"{"note":"市场每天中午送一份热饭到家","version":2}"#, headers: tao)
            #expect(fulfilled.status == 200 && fulfilled.json["state"] as? String == "fulfilled", "\(fulfilled.body)")

            // The grid worker confirms it with the resident; the street may not; once only.
            #expect(try await http(.POST, w1URL + "/confirm", body: "{}", headers: tao).status == 403, "with the resident: the grid's staff")
            let confirmed = try await http(.POST, w1URL + "/confirm", body: #"{"feedback":"饭菜可口，谢谢"}"#, headers: wu)
            #expect(confirmed.status == 200 && confirmed.json["state"] as? String == "confirmed", "\(confirmed.body)")
            #expect(confirmed.json["residentFeedback"] as? String == "饭菜可口，谢谢" && confirmed.json["version"] as? Int == 4)
            #expect(confirmed.json["next"] == nil)
            let again = try await http(.POST, w1URL + "/confirm", body: "", headers: wu)
            #expect(again.status == 409 && again.body.contains("confirmed already"), "\(again.body)")

            // Two staff adopting one wish at the same moment: exactly one wins, the other gets 409.
            let w2URL = wishesURL + "/\(ids[1])"
            async let byOfficer = http(.POST, w2URL + "/adopt", body: adopt, headers: tao)
            async let byWorker = http(.POST, w2URL + "/adopt", body: #"{"adopterKind":"volunteer","adopterName":"志愿者李阿姨"}"#, headers: wu)
            let racing = try await [byOfficer.status, byWorker.status].sorted()
            #expect(racing == [200, 409], "\(racing)")
            #expect(try await http(.GET, w2URL, headers: wu).json["version"] as? Int == 2, "adopted once")

            // Each step went out once as wish.changed, its id derived from what it records.
            let published = try await withDatabase { client in
                try await client.query(
                    "SELECT message_id FROM routing.outbox WHERE message_type = 'wish.changed' AND correlation_id = \(w1) ORDER BY id"
                ).collect().map { try $0.decode(String.self) }
            }
            let expected = ["collected", "adopted", "fulfilled", "confirmed"].map { "wish:\(w1):\($0)" }
            #expect(published == expected, "\(published)")
            let after = try #require(try await mealCluster(tao))
            #expect(after["total"] as? Int == totalBefore + 4 && after["open"] as? Int == openBefore + 3, "one fulfilled: \(after)")

            // Over the CLI, as the grid worker's phone would.
            var wuCLI = system.environment
            wuCLI["GRIDLOOP_TOKEN"] = try await system.token(for: "wu-xiaoli")
            wuCLI["GRIDLOOP_ROUTING_URL"] = system.url("routing", "")
            let listed = try await runCommand(["wishes", "list", "--kind", "meal"], environment: wuCLI)
            #expect(listed.status == 0 && listed.stdout.contains(w1) && listed.stdout.contains("已确认"), "\(listed.stdout) \(listed.stderr)")
            let cli = try await runCommand(
                ["wishes", "collect", "--household", "hanjiaxu-1-03", "--kind", "care", "--text", "希望有人每周陪老人聊聊天（\(run)）"],
                environment: wuCLI
            )
            #expect(cli.status == 0 && cli.stdout.contains("collected"), "\(cli.stdout) \(cli.stderr)")
            let refused = try await runCommand(["wishes", "confirm", ids[1]], environment: wuCLI)  // adopted, not fulfilled
            #expect(refused.status != 0 && refused.stderr.contains("409"), "\(refused.stderr)")
            let clusters = try await runCommand(["wishes", "clusters"], environment: wuCLI)
            #expect(clusters.status == 0 && clusters.stdout.contains("龙华街道 × 助餐"), "\(clusters.stdout) \(clusters.stderr)")

            // Reporting counts them from wish.changed: 龙华's five new wishes, one confirmed with the resident.
            #expect(reportedBefore != nil, "reporting answers /v1/reports/community/wishes")
            let counted = await eventually {
                guard let before = reportedBefore, let now = try? await reported() else { return false }
                return now.collected >= before.collected + 5 && now.confirmed >= before.confirmed + 1
            }
            #expect(counted, "reporting's wishes per street and state")
        }
    }
}
