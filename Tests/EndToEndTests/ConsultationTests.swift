import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import GridLoopTestSupport
import PostgresNIO
import Testing

/// 议事 on the real services: the street puts a question to the households of 韩家圩's two
/// compound grids, the grid workers record positions on their visits (one household changes its
/// mind), the tally reaches the 2/3 rule, the meeting outcome is recorded and the consultation
/// closed with its result; every step is on a hash-chained record that `gridloop audit verify`
/// checks, and an edit of a record row is caught (then undone, as the database persists).
extension EndToEndTests {
    @Test(
        "consultation (议事): 龙华街道 asks 韩家圩's 9 households whether to lease the 20-mu collective land for a farmers' market (2/3 rule); positions recorded by the two grid workers, one changed; 6 of 9 yes reach the rule; meeting outcome; closed with result yes; the record verifies, a tampered row is named by audit verify; scopes and bad input refused"
    )
    func consultation() async throws {
        try await GridLoopSystem.with { system, _ in
            let consultationsURL = system.url("routing", "/v1/consultations")
            let officer = try await system.bearer("tao-tao")
            let wu = try await system.bearer("wu-xiaoli")
            let han = try await system.bearer("han-jiayi")
            let open = """
                {"question":"韩家圩20亩集体土地是否出租建设农贸市场？","questionEn":"Lease the 20-mu collective land of 韩家圩 for a farmers' market?",\
                "options":[{"id":"yes","label":"同意","labelEn":"Agree"},{"id":"no","label":"不同意","labelEn":"Disagree"}],\
                "endsOn":"2030-06-30","rule":"2/3","street":"longhua","kind":"compound"}
                """

            // Who may open it, for which grids; bad input named.
            #expect(try await http(.POST, consultationsURL, body: open, headers: wu).status == 403, "a grid worker does not open one")
            let otherStreet = open.replacingOccurrences(of: #""street":"longhua","kind":"compound""#, with: #""grids":["guanghua-3"]"#)
            #expect(try await http(.POST, consultationsURL, body: otherStreet, headers: officer).status == 403, "another street's grid")
            let bad = try await http(
                .POST,
                consultationsURL,
                body: #"{"question":"","options":[{"id":"yes","label":"同意"}],"endsOn":"2030-02-30","rule":"3/2","street":"longhua"}"#,
                headers: officer
            )
            let fields = Set((bad.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String })
            #expect(bad.status == 400 && fields == ["question", "options", "endsOn", "rule"], "\(bad.body)")
            let duplicate = open.replacingOccurrences(of: #"{"id":"no","label":"不同意","labelEn":"Disagree"}"#, with: #"{"id":"yes","label":"同意"}"#)
            let duplicated = try await http(.POST, consultationsURL, body: duplicate, headers: officer)
            #expect(duplicated.status == 400 && duplicated.body.contains("options[1].id"), "\(duplicated.body)")
            let over = open.replacingOccurrences(of: "2030-06-30", with: "2020-06-30")
            #expect(try await http(.POST, consultationsURL, body: over, headers: officer).status == 400, "a day that is over")

            var once = officer
            once["Idempotency-Key"] = "market-\(UUID().uuidString)"
            let opened = try await http(.POST, consultationsURL, body: open, headers: once)
            #expect(opened.status == 201, "\(opened.body)")
            let id = try #require(opened.json["id"] as? String)
            #expect(opened.json["grids"] as? [String] == ["hanjiaxu-1", "hanjiaxu-2"], "street longhua's compound grids")
            #expect(opened.json["needed"] as? Int == 6 && opened.json["state"] as? String == "open", "2/3 of 9 households: 6")
            let again = try await http(.POST, consultationsURL, body: open, headers: once)
            #expect(again.status == 200 && again.json["id"] as? String == id, "the same form twice opens one consultation: \(again.status)")
            let consultationURL = consultationsURL + "/\(id)"
            let positions = consultationURL + "/positions"

            // The workers record positions on their visits; concerns for some.
            let visits: [(String, [String: String], String, String?)] = [
                ("hanjiaxu-1-01", wu, "yes", nil), ("hanjiaxu-1-02", wu, "yes", nil), ("hanjiaxu-1-03", wu, "yes", "担心夜间噪音和垃圾清运"),
                ("hanjiaxu-1-04", wu, "no", nil), ("hanjiaxu-1-05", wu, "no", nil), ("hanjiaxu-2-01", han, "yes", nil),
                ("hanjiaxu-2-02", han, "no", "担心早市交通拥堵，孩子上学不安全"), ("hanjiaxu-2-03", han, "yes", nil), ("hanjiaxu-2-04", han, "no", nil),
            ]
            for (household, worker, option, concerns) in visits {
                let body =
                    concerns.map { #"{"householdId":"\#(household)","option":"\#(option)","concerns":"\#($0)"}"# }
                    ?? #"{"householdId":"\#(household)","option":"\#(option)"}"#
                let recorded = try await http(.POST, positions, body: body, headers: worker)
                #expect(recorded.status == 201, "\(household): \(recorded.body)")
            }
            let same = try await http(.POST, positions, body: #"{"householdId":"hanjiaxu-1-01","option":"yes"}"#, headers: wu)
            #expect(same.status == 200, "the same position again changes nothing: \(same.status)")

            // Scopes and bad input on positions.
            let otherGrid = try await http(.POST, positions, body: #"{"householdId":"hanjiaxu-2-01","option":"no"}"#, headers: wu)
            #expect(otherGrid.status == 403 && otherGrid.body.contains("hanjiaxu-2"), "another grid's household: \(otherGrid.body)")
            let outsider = try await http(
                .POST,
                positions,
                body: #"{"householdId":"hanjiaxu-1-02","option":"no"}"#,
                headers: try await system.bearer("zhao-hongmei")
            )
            #expect(outsider.status == 403, "红星三组's worker")
            let notReached = try await http(.POST, positions, body: #"{"householdId":"guanghua-3-01","option":"yes"}"#, headers: wu)
            #expect(notReached.status == 400 && notReached.body.contains("householdId"), "\(notReached.body)")
            let badOption = try await http(.POST, positions, body: #"{"householdId":"hanjiaxu-1-02","option":"maybe"}"#, headers: wu)
            let badFields = Set((badOption.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String })
            #expect(badOption.status == 400 && badFields == ["option"], "\(badOption.body)")
            let nobody = try await http(.POST, positions, body: #"{"option":"yes"}"#, headers: wu)
            #expect(nobody.status == 400 && nobody.body.contains("householdId"), "\(nobody.body)")
            #expect(
                try await http(
                    .POST,
                    consultationsURL + "/\(UUID())/positions",
                    body: #"{"householdId":"hanjiaxu-1-02","option":"yes"}"#,
                    headers: wu
                ).status == 404
            )

            func all(_ headers: [String: String]) async throws -> [String: Any] {
                let view = try await http(.GET, consultationURL, headers: headers)
                return ((view.json["tally"] as? [String: Any])?["all"] as? [String: Any]) ?? [:]
            }
            let before = try await all(officer)
            #expect(before["households"] as? Int == 9 && before["positions"] as? Int == 9, "\(before)")
            #expect(byOption(before["byOption"]) == ["yes": 5, "no": 4], "\(before)")
            #expect(try await http(.GET, consultationURL, headers: officer).json["reached"] == nil, "5 of 9 is short of 6")

            // On a second visit, 韩家圩1-05 changes its mind (over the CLI, as the worker's phone would).
            var wuCLI = system.environment
            wuCLI["GRIDLOOP_TOKEN"] = try await system.token(for: "wu-xiaoli")
            wuCLI["GRIDLOOP_ROUTING_URL"] = system.url("routing", "")
            let changed = try await runCommand(
                ["consultations", "position", id, "--household", "hanjiaxu-1-05", "--option", "yes"],
                environment: wuCLI
            )
            #expect(changed.status == 0 && changed.stdout.contains("reached: yes"), "\(changed.stdout) \(changed.stderr)")
            let after = try await all(officer)
            #expect(after["positions"] as? Int == 9 && byOption(after["byOption"]) == ["yes": 6, "no": 3], "counted once: \(after)")
            let street = try await http(.GET, consultationURL, headers: officer)
            #expect(street.json["reached"] as? String == "yes", "6 of 9: the rule is reached")
            let grids = (street.json["tally"] as? [String: Any])?["grids"] as? [[String: Any]] ?? []
            #expect(grids.map { $0["key"] as? String ?? "" } == ["hanjiaxu-1", "hanjiaxu-2"])
            #expect(byOption(grids.first?["byOption"]) == ["yes": 4, "no": 1], "\(grids)")
            let concerns = street.json["concerns"] as? [[String: Any]] ?? []
            #expect(Set(concerns.compactMap { $0["householdId"] as? String }) == ["hanjiaxu-1-03", "hanjiaxu-2-02"], "\(concerns)")
            let workerView = try await http(.GET, consultationURL, headers: wu)
            let households = workerView.json["households"] as? [[String: Any]] ?? []
            #expect(households.count == 5 && workerView.json["concerns"] == nil, "the worker sees her grid's households: \(workerView.body)")
            #expect(households.contains { $0["id"] as? String == "hanjiaxu-1-05" && $0["option"] as? String == "yes" })
            #expect(try await http(.GET, consultationURL, headers: try await system.bearer("xu-chunfeng")).status == 403, "西平's officer")
            let listed = try await http(.GET, consultationsURL, headers: han)
            #expect(listed.body.contains(id), "the grid worker's list has it")
            let unlisted = try await http(.GET, consultationsURL, headers: try await system.bearer("cui-chunhua"))
            #expect(unlisted.status == 200 && !unlisted.body.contains(id), "光华三组's worker is not consulted")

            // The meeting outcome and the close: street-level steps.
            let outcome = #"{"outcome":"居民代表会议表决：同意出租，租金收益用于小区公共设施维护","heldOn":"2026-12-05"}"#
            #expect(try await http(.POST, consultationURL + "/meeting", body: outcome, headers: wu).status == 403, "a grid worker")
            #expect(try await http(.POST, consultationURL + "/meeting", body: #"{"heldOn":"someday"}"#, headers: officer).status == 400)
            #expect(try await http(.POST, consultationURL + "/close", headers: han).status == 403, "a grid worker does not close it")
            var officerCLI = system.environment
            officerCLI["GRIDLOOP_TOKEN"] = try await system.token(for: "tao-tao")
            officerCLI["GRIDLOOP_ROUTING_URL"] = system.url("routing", "")
            let met = try await http(.POST, consultationURL + "/meeting", body: outcome, headers: officer)
            #expect(met.status == 201 && (met.json["meeting"] as? [String: Any])?["on"] as? String == "2026-12-05", "\(met.body)")
            #expect(try await http(.POST, consultationURL + "/meeting", body: outcome, headers: officer).status == 200, "the same outcome again")
            let closed = try await runCommand(["consultations", "close", id], environment: officerCLI)
            #expect(closed.status == 0 && closed.stdout.contains("result yes"), "\(closed.stdout) \(closed.stderr)")
            let result = try await http(.GET, consultationURL, headers: officer)
            #expect(
                result.json["state"] as? String == "closed" && result.json["result"] as? String == "yes"
                    && result.json["closedBy"] as? String == "tao-tao"
            )
            let twice = try await http(.POST, consultationURL + "/close", headers: officer)
            #expect(twice.status == 409 && twice.json["code"] as? String == "conflict", "\(twice.body)")
            let late = try await http(.POST, positions, body: #"{"householdId":"hanjiaxu-1-04","option":"yes"}"#, headers: wu)
            #expect(late.status == 409, "no positions after the close: \(late.body)")

            // Every step went out through the outbox: opened, 10 positions (one a change), the meeting, closed.
            let published = await eventually {
                let counts = try? await withDatabase { client in
                    try await client.query(
                        """
                        SELECT count(*)::int, count(published_at)::int FROM routing.outbox
                        WHERE message_id IN (\("consultation-opened:\(id)"), \("consultation-closed:\(id)"))
                           OR message_id LIKE \("consultation-position:\(id):%") OR message_id LIKE \("consultation-meeting:\(id):%")
                        """
                    ).collect().first?.decode((Int, Int).self)
                }
                return counts.map { $0.0 == 13 && $0.1 == 13 } ?? false
            }
            #expect(published, "13 events published")

            // The record: opened, 10 positions, meeting, closed; it verifies here, over the CLI and in the audit.
            let record = try await http(.GET, consultationURL + "/record", headers: officer)
            let rows = (try? JSONSerialization.jsonObject(with: Data(record.body.utf8))) as? [[String: Any]] ?? []
            #expect(
                rows.compactMap { $0["kind"] as? String } == ["opened"] + Array(repeating: "position", count: 10) + ["meeting", "closed"],
                "\(record.body)"
            )
            let links = rows.map { row in
                RecordLink(
                    entry: RecordEntry(
                        chain: id,
                        seq: row["seq"] as? Int ?? 0,
                        kind: row["kind"] as? String ?? "",
                        body: row["body"] as? String ?? "",
                        at: Date(timeIntervalSince1970: Double((row["atMillis"] as? NSNumber)?.int64Value ?? 0) / 1000)
                    ),
                    previousHash: row["prevHash"] as? String ?? "",
                    hash: row["hash"] as? String ?? ""
                )
            }
            #expect(links.count == 13 && RecordChain.verify(links) == nil, "the record recomputes")
            let shown = try await runCommand(["consultations", "show", id, "--record"], environment: officerCLI)
            #expect(shown.status == 0 && shown.stdout.contains("record: 13 entries, the chain intact"), "\(shown.stdout) \(shown.stderr)")
            let one = try await system.cli("audit", "verify", "--consultation", id)
            #expect(
                one.status == 0 && one.stdout.contains("consultation records verified: 1 consultations, 13 entries"),
                "\(one.stdout) \(one.stderr)"
            )
            let everything = try await system.cli("audit", "verify")
            #expect(
                everything.status == 0 && everything.stdout.contains("trail verified:")
                    && everything.stdout.contains("consultation records verified:"),
                "\(everything.stdout) \(everything.stderr)"
            )

            // Append-only: the services' role may not rewrite the record; the owner's edit (triggers off) is caught, then undone.
            let uuid = try #require(UUID(uuidString: id))
            for statement: PostgresQuery in [
                "UPDATE routing.consultation_record SET body = '{}' WHERE consultation_id = \(uuid) AND seq = 2",
                "DELETE FROM routing.consultation_record WHERE consultation_id = \(uuid)",
                "TRUNCATE routing.consultation_record CASCADE",
                "UPDATE routing.consultation_positions SET option = 'no' WHERE consultation_id = \(uuid)",
            ] {
                let refusal = await #expect(throws: PSQLError.self, "as the service role: \(statement.sql)") {
                    try await withDatabase(asService: true) { client in try await client.query(statement) }
                }
                let message = refusal?.serverInfo?[.message] ?? ""
                #expect(message.contains("permission denied"), "\(statement.sql): \(message)")
            }
            await #expect(throws: (any Error).self, "the owner too, while the trigger is on") {
                try await withDatabase { client in
                    try await client.query("UPDATE routing.consultation_record SET body = '{}' WHERE consultation_id = \(uuid) AND seq = 2")
                }
            }
            let target = try await withDatabase { client in
                try await client.query(
                    """
                    SELECT seq, body FROM routing.consultation_record
                    WHERE consultation_id = \(uuid) AND kind = 'position' AND body LIKE '%"option":"no"%' ORDER BY seq LIMIT 1
                    """
                ).collect().first?.decode((Int, String).self)
            }
            let (seq, original) = try #require(target)
            @Sendable func rewrite(_ body: String) async throws {
                try await withDatabase { client in
                    try await client.withTransaction(logger: TestEnvironment.logger) { connection in
                        let logger = TestEnvironment.logger
                        try await connection.query(
                            "ALTER TABLE routing.consultation_record DISABLE TRIGGER consultation_record_append_only",
                            logger: logger
                        )
                        try await connection.query(
                            "UPDATE routing.consultation_record SET body = \(body) WHERE consultation_id = \(uuid) AND seq = \(seq)",
                            logger: logger
                        )
                        try await connection.query(
                            "ALTER TABLE routing.consultation_record ENABLE TRIGGER consultation_record_append_only",
                            logger: logger
                        )
                    }
                }
            }
            try await rewrite(original.replacingOccurrences(of: #""option":"no""#, with: #""option":"yes""#))
            let caught: (CommandResult, CommandResult)
            do {
                caught = (try await system.cli("audit", "verify", "--consultation", id), try await system.cli("audit", "verify"))
            } catch {
                try await rewrite(original)
                throw error
            }
            try await rewrite(original)
            #expect(
                caught.0.status != 0 && caught.0.stderr.contains("consultation \(id): seq \(seq) (position)") && caught.0.stderr.contains("altered"),
                "\(caught.0.stdout) \(caught.0.stderr)"
            )
            #expect(caught.1.status != 0 && caught.1.stderr.contains("\(id): seq \(seq)"), "the full audit names it too: \(caught.1.stderr)")
            let restored = try await system.cli("audit", "verify")
            #expect(restored.status == 0 && restored.stdout.contains("consultation records verified:"), "restored: \(restored.stderr)")
        }
    }
}

/// A tally row's `byOption` from JSON (numbers as they come from `JSONSerialization`).
private func byOption(_ value: Any?) -> [String: Int] {
    ((value as? [String: Any]) ?? [:]).compactMapValues { ($0 as? NSNumber)?.intValue ?? ($0 as? Int) }
}
