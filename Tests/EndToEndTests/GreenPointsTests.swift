import AsyncHTTPClient
import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import GridLoopTestSupport
import NIOCore
import NIOHTTP1
import PostgresNIO
import Testing

/// 绿币爱心超市 on the real services: 西平街道 enters a month's scores for its households as a CSV
/// sheet (with the CLI), the households and their grid workers earn points, a household's score is
/// corrected (reversal rows, never an edit), goods are donated to the street's love supermarket
/// and redeemed, and redemptions beyond the balance or the stock — or racing for the last item —
/// change nothing but the one that wins. The test database persists across runs: the month is
/// one no run used, and balances are compared before and after.
extension EndToEndTests {
    @Test(
        "green points and the love supermarket (绿币爱心超市): a month's CSV scores for 西平's 23 households (balances and the grid workers' shares rounded down per household, by hand), a correction reversed in the ledger, a donation and a redemption moving points and stock together, 409 insufficient_points and out_of_stock changing nothing, two racing redemptions of the last item (one wins), scopes 403, bad input 400, the ledger append-only"
    )
    func greenPointsAndLoveSupermarket() async throws {
        try await GridLoopSystem.with { system, _ in
            let pointsURL = system.url("routing", "/v1/points")
            let officer = try await system.bearer("xu-chunfeng")
            let cui = try await system.bearer("cui-chunhua")
            let zhao = try await system.bearer("zhao-hongmei")
            let tao = try await system.bearer("tao-tao")
            let supervisor = try await system.bearer("wang-xu")
            // A month no earlier run scored (the database persists).
            var unused = ""
            for _ in 0..<20 where unused.isEmpty {
                let candidate = String(format: "%04d-%02d", Int.random(in: 2100...9999), Int.random(in: 1...12))
                let used = try await withDatabase { client in
                    try await client.query("SELECT count(*)::int FROM routing.point_scores WHERE month = \(candidate)").collect().first?.decode(
                        Int.self
                    )
                }
                if used == 0 { unused = candidate }
            }
            try #require(!unused.isEmpty)
            let month = unused
            func statement(_ account: String, as headers: [String: String]? = nil) async throws -> HTTPAnswer {
                try await http(.GET, pointsURL + "/statements/\(account)", headers: headers ?? supervisor)
            }
            func balance(_ account: String) async throws -> Int {
                let answer = try await statement(account)
                try #require(answer.status == 200, "\(account): \(answer.status) \(answer.body)")
                return try #require(answer.json["balance"] as? Int)
            }
            /// The statement's entries of this month's scores.
            func monthEntries(_ account: String, household: String? = nil) async throws -> [[String: Any]] {
                let prefix = "score:\(month):" + (household.map { "\($0):" } ?? "")
                return (try await statement(account).json["entries"] as? [[String: Any]] ?? []).filter {
                    ($0["ref"] as? String)?.hasPrefix(prefix) == true
                }
            }
            let guanghua = (1...20).map { String(format: "guanghua-3-%02d", $0) }
            let hongxing = (1...3).map { String(format: "hongxing-3-%02d", $0) }
            var before: [String: Int] = [:]
            for household in guanghua + hongxing { before[household] = try await balance("household:\(household)") }
            let cuiBefore = try await balance("worker:cui-chunhua")
            let zhaoBefore = try await balance("worker:zhao-hongmei")

            // The sheet, and by hand what it earns: points = the items' sum; each grid worker 10% rounded down per household.
            var items: [String: [Int]] = [
                "guanghua-3-01": [8, 9, 7, 10, 6], "guanghua-3-02": [10, 10, 10, 10, 10], "guanghua-3-03": [5, 6, 7, 8, 9],
            ]
            for household in guanghua.dropFirst(3) { items[household] = [6, 7, 8, 9, 9] }
            items["hongxing-3-01"] = [9, 9, 9, 9, 9]
            items["hongxing-3-02"] = [0, 1, 2, 3, 3]
            items["hongxing-3-03"] = [10, 10, 10, 10, 9]
            var expected: [String: Int] = ["guanghua-3-01": 40, "guanghua-3-02": 50, "guanghua-3-03": 35]
            for household in guanghua.dropFirst(3) { expected[household] = 39 }
            expected["hongxing-3-01"] = 45
            expected["hongxing-3-02"] = 9
            expected["hongxing-3-03"] = 49
            let cuiEarns = 4 + 5 + 3 + 17 * 3  // 63, not 78 (10% of the sum 788)
            let zhaoEarns = 4 + 0 + 4  // 8
            let sheet =
                GreenPointSheet.header + "\r\n"
                + (guanghua + hongxing).map { "\($0),\(items[$0]!.map(String.init).joined(separator: ","))" }.joined(separator: "\r\n") + "\r\n"

            // Bad sheets: every problem named by line and column, nothing written.
            let scoresURL = pointsURL + "/scores?month=\(month)"
            let badItems = sheet.replacingOccurrences(of: "guanghua-3-02,10,10,10,10,10", with: "guanghua-3-02,10,11,10,ten,10")
            let refused = try await postCSV(scoresURL, badItems, headers: officer)
            let fields = Set((refused.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String })
            #expect(refused.status == 400 && fields == ["line 3, 热心公益", "line 3, 家风文明"], "\(refused.status) \(refused.body)")
            let unknown = try await postCSV(scoresURL, sheet + "nobody-1,1,1,1,1,1\r\n", headers: officer)
            #expect(unknown.status == 400 && unknown.body.contains("line 25, household"), "\(unknown.body)")
            let noMonth = try await postCSV(pointsURL + "/scores?month=\(month.prefix(4))-13", sheet, headers: officer)
            #expect(noMonth.status == 400 && noMonth.body.contains("month"), "\(noMonth.body)")
            let badJSON = try await http(
                .POST,
                pointsURL + "/scores",
                body: #"{"month":"\#(month)","scores":[{"householdId":"guanghua-3-01","items":[8,9,7,10]},"#
                    + #"{"householdId":"nobody-1","items":[1,1,1,1,1]}]}"#,
                headers: officer
            )
            let jsonFields = Set((badJSON.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String })
            #expect(badJSON.status == 400 && jsonFields == ["scores[0].items", "scores[1].householdId"], "\(badJSON.body)")
            // Scopes: another street's officer, a grid's worker for another grid's households.
            #expect(try await postCSV(scoresURL, sheet, headers: tao).status == 403, "龙华's officer")
            let cuiAll = try await postCSV(scoresURL, sheet, headers: cui)
            #expect(
                cuiAll.status == 403 && cuiAll.body.contains("street officers"),
                "a grid worker does not score (she earns from the scores): \(cuiAll.body)"
            )
            let nothing = try await withDatabase { client in
                try await client.query("SELECT count(*)::int FROM routing.point_scores WHERE month = \(month)").collect().first?.decode(Int.self)
            }
            #expect(nothing == 0, "nothing written by refused sheets")

            // The street officer enters the sheet with the CLI.
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("scores-\(month).csv")
            try sheet.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            var officerCLI = system.environment
            officerCLI["GRIDLOOP_TOKEN"] = try await system.token(for: "xu-chunfeng")
            officerCLI["GRIDLOOP_ROUTING_URL"] = system.url("routing", "")
            let entered = try await runCommand(["points", "score", "--month", month, "--file", file.path], environment: officerCLI)
            #expect(
                entered.status == 0 && entered.stdout.contains("\(month): 23 scored, 0 corrected, 0 unchanged"),
                "\(entered.stdout) \(entered.stderr)"
            )
            for household in guanghua + hongxing {
                #expect(try await balance("household:\(household)") - before[household]! == expected[household]!, "\(household)")
            }
            #expect(try await balance("worker:cui-chunhua") - cuiBefore == cuiEarns)
            #expect(try await balance("worker:zhao-hongmei") - zhaoBefore == zhaoEarns)
            let cuiEntries = try await monthEntries("worker:cui-chunhua")
            #expect(cuiEntries.count == 20 && cuiEntries.allSatisfy { $0["kind"] as? String == "earn" }, "one earn per household with points")
            #expect(try await monthEntries("worker:zhao-hongmei").count == 2, "hongxing-3-02's 9 points earn its worker 0: no entry")
            #expect(try await statement("worker:leng-yulong").status == 404, "a grid leader earns no share")
            // The same sheet again changes nothing.
            let again = try await postCSV(scoresURL, sheet, headers: officer)
            #expect(again.status == 200 && again.json["unchanged"] as? Int == 23, "\(again.status) \(again.body.prefix(300))")
            #expect(try await balance("worker:cui-chunhua") - cuiBefore == cuiEarns)

            // A correction: the street officer re-scores one household (JSON); the earlier earns are reversed.
            let correction = #"{"month":"\#(month)","scores":[{"householdId":"guanghua-3-03","items":[9,9,9,9,8]}]}"#
            let corrected = try await http(.POST, pointsURL + "/scores", body: correction, headers: officer)
            let row = (corrected.json["households"] as? [[String: Any]])?.first ?? [:]
            #expect(
                corrected.status == 201 && corrected.json["corrected"] as? Int == 1 && row["points"] as? Int == 44 && row["replaced"] as? Int == 35
                    && (row["workerPoints"] as? [String: Int]) == ["cui-chunhua": 4],
                "\(corrected.status) \(corrected.body)"
            )
            let householdRows = try await monthEntries("household:guanghua-3-03", household: "guanghua-3-03")
            #expect(householdRows.compactMap { $0["kind"] as? String } == ["earn", "earn", "reversal"], "\(householdRows)")
            #expect(householdRows.compactMap { $0["points"] as? Int } == [35, 44, -35])
            #expect(
                householdRows.compactMap { $0["ref"] as? String }
                    == ["score:\(month):guanghua-3-03:1", "score:\(month):guanghua-3-03:2", "score:\(month):guanghua-3-03:1"]
            )
            #expect(try await balance("household:guanghua-3-03") - before["guanghua-3-03"]! == 44)
            let workerRows = try await monthEntries("worker:cui-chunhua", household: "guanghua-3-03")
            #expect(workerRows.compactMap { $0["points"] as? Int } == [3, 4, -3], "\(workerRows)")
            #expect(try await balance("worker:cui-chunhua") - cuiBefore == cuiEarns + 1)
            #expect(try await http(.POST, pointsURL + "/scores", body: correction, headers: officer).status == 200, "the same correction again")
            #expect(try await monthEntries("household:guanghua-3-03", household: "guanghua-3-03").count == 3)
            // Each score reached the outbox with a deterministic id (the correction its own).
            let scoredEvents = try await withDatabase { client in
                try await client.query(
                    "SELECT message_id FROM routing.outbox WHERE message_type = 'points.scored' AND message_id LIKE \("points.scored:\(month):%")"
                ).collect().map { try $0.decode(String.self) }
            }
            #expect(scoredEvents.count == 24 && scoredEvents.contains("points.scored:\(month):guanghua-3-03:2"), "\(scoredEvents.count)")
            // The ledger is append-only for the services' role.
            await #expect(throws: (any Error).self) {
                try await withDatabase(asService: true) { client in
                    try await client.query("UPDATE routing.point_ledger SET points = 0 WHERE ref LIKE \("score:\(month):%")").collect()
                }
            }

            // The love supermarket: donations (street officers), bad input, scopes.
            let rice = "爱心大米5kg-\(month)"
            let donationsURL = pointsURL + "/donations"
            let donation = #"{"goodsName":"\#(rice)","points":30,"quantity":1,"donor":"西平爱心企业"}"#
            #expect(try await http(.POST, donationsURL, body: donation, headers: cui).status == 403, "a grid worker does not record donations")
            let otherStreet = donation.replacingOccurrences(of: #""goodsName""#, with: #""street":"xiping","goodsName""#)
            #expect(try await http(.POST, donationsURL, body: otherStreet, headers: tao).status == 403, "龙华's officer for 西平's supermarket")
            let badDonation = try await http(.POST, donationsURL, body: #"{"goodsName":"","points":0,"quantity":0,"donor":" "}"#, headers: officer)
            let donationFields = Set((badDonation.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String })
            #expect(badDonation.status == 400 && donationFields == ["goodsName", "points", "quantity", "donor"], "\(badDonation.body)")
            var once = officer
            once["Idempotency-Key"] = "rice-\(month)"
            let donated = try await http(.POST, donationsURL, body: donation, headers: once)
            #expect(donated.status == 201, "\(donated.body)")
            let goods = try #require((donated.json["goods"] as? [String: Any])?["id"] as? String)
            #expect((donated.json["goods"] as? [String: Any])?["stock"] as? Int == 1)
            let replayed = try await http(.POST, donationsURL, body: donation, headers: once)
            #expect(
                replayed.status == 200 && (replayed.json["goods"] as? [String: Any])?["stock"] as? Int == 1,
                "the same donation sent twice counts once"
            )
            let otherPrice = try await http(
                .POST,
                donationsURL,
                body: donation.replacingOccurrences(of: #""points":30"#, with: #""points":31"#),
                headers: officer
            )
            #expect(otherPrice.status == 409, "a donation does not change the price: \(otherPrice.body)")
            func stock(_ id: String) async throws -> Int {
                let shelf = try await http(.GET, pointsURL + "/goods?street=xiping", headers: cui)
                let list = (try? JSONSerialization.jsonObject(with: Data(shelf.body.utf8))) as? [[String: Any]] ?? []
                return try #require(list.first { $0["id"] as? String == id }?["stock"] as? Int, "\(id) on the shelf")
            }
            #expect(try await stock(goods) == 1)

            // A redemption: the points and the stock move together.
            let redemptionsURL = pointsURL + "/redemptions"
            func redemption(_ household: String, _ goods: String, quantity: Int = 1) -> String {
                #"{"householdId":"\#(household)","goodsId":"\#(goods)","quantity":\#(quantity)}"#
            }
            #expect(try await http(.POST, redemptionsURL, body: redemption("guanghua-3-01", goods), headers: zhao).status == 403, "红星三组's worker")
            #expect(try await http(.POST, redemptionsURL, body: redemption("guanghua-3-01", goods), headers: tao).status == 403, "龙华's officer")
            let badRedemption = try await http(.POST, redemptionsURL, body: redemption("nobody-1", "not-an-id", quantity: 0), headers: cui)
            let redemptionFields = Set((badRedemption.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String })
            #expect(badRedemption.status == 400 && redemptionFields == ["householdId", "goodsId", "quantity"], "\(badRedemption.body)")
            let balance01 = try await balance("household:guanghua-3-01")
            let redeemed = try await http(.POST, redemptionsURL, body: redemption("guanghua-3-01", goods), headers: cui)
            #expect(redeemed.status == 201, "\(redeemed.body)")
            let receipt = redeemed.json["receipt"] as? String ?? ""
            #expect(receipt.wholeMatch(of: /LX-\d{6}-\d{6,}/) != nil, "receipt \(receipt)")
            #expect(
                redeemed.json["points"] as? Int == 30 && redeemed.json["balance"] as? Int == balance01 - 30 && redeemed.json["stock"] as? Int == 0
            )
            #expect(try await balance("household:guanghua-3-01") == balance01 - 30)
            #expect(try await stock(goods) == 0)
            let last = (try await statement("household:guanghua-3-01", as: cui).json["entries"] as? [[String: Any]])?.last ?? [:]
            #expect(
                last["kind"] as? String == "redeem" && last["points"] as? Int == -30
                    && last["ref"] as? String == "redemption:\(redeemed.json["redemptionId"] as? String ?? "-")",
                "\(last)"
            )

            // Beyond the stock, beyond the balance: 409 naming which, nothing changed.
            let balance02 = try await balance("household:guanghua-3-02")
            let noStock = try await http(.POST, redemptionsURL, body: redemption("guanghua-3-02", goods), headers: officer)
            #expect(noStock.status == 409 && noStock.json["code"] as? String == "out_of_stock", "\(noStock.body)")
            #expect(try await balance("household:guanghua-3-02") == balance02)
            func cooker(_ street: String) -> String {
                #"{"street":"\#(street)","goodsName":"爱心电饭煲-\#(month)","points":100000,"quantity":2,"donor":"曲靖爱心商会"}"#
            }
            let noStreet = try await http(
                .POST,
                donationsURL,
                body: cooker("").replacingOccurrences(of: #""street":"","#, with: ""),
                headers: supervisor
            )
            #expect(noStreet.status == 400 && noStreet.body.contains("street"), "a supervisor names the street: \(noStreet.body)")
            #expect(try await http(.POST, donationsURL, body: cooker("nowhere"), headers: supervisor).status == 400, "no such street")
            let cookerDonated = try await http(.POST, donationsURL, body: cooker("xiping"), headers: supervisor)
            let dear = try #require((cookerDonated.json["goods"] as? [String: Any])?["id"] as? String, "\(cookerDonated.body)")
            let tooDear = try await http(.POST, redemptionsURL, body: redemption("guanghua-3-02", dear), headers: officer)
            #expect(tooDear.status == 409 && tooDear.json["code"] as? String == "insufficient_points", "\(tooDear.body)")
            #expect(try await balance("household:guanghua-3-02") == balance02)
            #expect(try await stock(dear) == 2)
            let elsewhere = try await http(.POST, redemptionsURL, body: redemption("hanjiaxu-1-01", goods), headers: supervisor)
            #expect(elsewhere.status == 400 && elsewhere.body.contains("goodsId"), "another street's household: \(elsewhere.body)")

            // Two redemptions racing for the last item: exactly one wins.
            #expect(try await http(.POST, donationsURL, body: donation, headers: officer).status == 201, "one more bag")
            #expect(try await stock(goods) == 1)
            let balance04 = try await balance("household:guanghua-3-04")
            async let first = http(.POST, redemptionsURL, body: redemption("guanghua-3-02", goods), headers: cui)
            async let second = http(.POST, redemptionsURL, body: redemption("guanghua-3-04", goods), headers: officer)
            let race = try await [first, second]
            #expect(race.map(\.status).sorted() == [201, 409], "\(race.map { "\($0.status) \($0.body)" })")
            #expect(race.first { $0.status == 409 }?.json["code"] as? String == "out_of_stock")
            #expect(try await stock(goods) == 0)
            let spent = [try await balance("household:guanghua-3-02") - balance02, try await balance("household:guanghua-3-04") - balance04]
            #expect(spent.sorted() == [-30, 0], "one household paid: \(spent)")
            let (debits, moves, redemptions) = try await withDatabase { client in
                let refs = try await client.query(
                    "SELECT 'redemption:' || id::text FROM routing.redemptions WHERE goods_id = \(UUID(uuidString: goods))"
                ).collect().map { try $0.decode(String.self) }
                let debits =
                    try await client.query(
                        "SELECT count(*)::int FROM routing.point_ledger WHERE kind = 'redeem' AND ref = ANY(\(refs))"
                    ).collect().first?.decode(Int.self) ?? -1
                let moves =
                    try await client.query(
                        "SELECT count(*)::int FROM routing.goods_moves WHERE goods_id = \(UUID(uuidString: goods)) AND kind = 'redemption'"
                    ).collect().first?.decode(Int.self) ?? -1
                return (debits, moves, refs.count)
            }
            #expect(
                debits == 2 && moves == 2 && redemptions == 2,
                "the first redemption and the race's winner only: \(debits) \(moves) \(redemptions)"
            )

            // Statements: who may read which.
            #expect(try await statement("household:guanghua-3-01", as: zhao).status == 403, "another grid's worker")
            #expect(try await statement("household:guanghua-3-01", as: tao).status == 403, "another street's officer")
            #expect(try await statement("household:guanghua-3-01", as: officer).status == 200)
            #expect(try await statement("worker:cui-chunhua", as: cui).status == 200, "her own")
            #expect(try await statement("worker:zhao-hongmei", as: cui).status == 403, "another worker's")
            #expect(try await statement("worker:cui-chunhua", as: officer).status == 200, "her street's officer")
            #expect(try await statement("street:xiping").status == 400)
            #expect(try await statement("household:nobody-1").status == 404)
            var cuiCLI = system.environment
            cuiCLI["GRIDLOOP_TOKEN"] = try await system.token(for: "cui-chunhua")
            cuiCLI["GRIDLOOP_ROUTING_URL"] = system.url("routing", "")
            let printed = try await runCommand(["points", "statement", "household:guanghua-3-01"], environment: cuiCLI)
            #expect(
                printed.status == 0 && printed.stdout.contains("household:guanghua-3-01: balance \(balance01 - 30)")
                    && printed.stdout.contains(receipt),
                "\(printed.stdout) \(printed.stderr)"
            )
        }
    }
}

/// `POST` a CSV body (`text/csv`), as a spreadsheet export would be sent.
private func postCSV(_ url: String, _ csv: String, headers: [String: String]) async throws -> HTTPAnswer {
    var request = HTTPClientRequest(url: url)
    request.method = .POST
    request.headers.add(name: "content-type", value: "text/csv; charset=utf-8")
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    request.body = .bytes(ByteBuffer(string: csv))
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
    let bytes = try await response.body.collect(upTo: 1 << 22)
    return HTTPAnswer(status: Int(response.status.code), contentType: response.headers.first(name: "content-type"), body: String(buffer: bytes))
}
