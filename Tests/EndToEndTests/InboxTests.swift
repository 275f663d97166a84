import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import GridLoopTestSupport
import Testing

/// The staff inbox (`GET /v1/inbox`, `gridloop staff inbox`) against the live services.
extension EndToEndTests {
    /// `GET /v1/inbox` as `staff` with `query`.
    func inbox(_ system: GridLoopSystem, as staff: String, _ query: String = "") async throws -> HTTPAnswer {
        try await http(.GET, system.url("routing", "/v1/inbox\(query.isEmpty ? "" : "?" + query)"), headers: try await system.bearer(staff))
    }

    func items(_ answer: HTTPAnswer) -> [[String: Any]] { answer.json["items"] as? [[String: Any]] ?? [] }

    func item(_ answer: HTTPAnswer, request id: String) -> [String: Any]? { items(answer).first { $0["requestId"] as? String == id } }

    @Test(
        "staff inbox: a grid worker's open work with deadlines, the duplicate hint, mine and state filters; a summons in the department's inbox; other units' inboxes refused; the CLI's table"
    )
    func staffInbox() async throws {
        try await GridLoopSystem.with { system, _ in
            // Two reports of one household's problem: the second carries the duplicate hint.
            let first = try await submit(
                system,
                json: submissionJSON(location: #""householdId":"guanghua-3-13""#, category: "housing", description: "楼道灯坏了")
            )
            let second = try await submit(
                system,
                json: submissionJSON(location: #""householdId":"guanghua-3-13""#, category: "housing", description: "楼道灯又坏了")
            )
            #expect(
                await eventually { (try? await self.item(self.inbox(system, as: "cui-chunhua"), request: second)) != nil },
                "the second report reached the grid's inbox"
            )
            var page = try await inbox(system, as: "cui-chunhua")
            #expect(page.status == 200, "\(page.body)")
            #expect(page.json["unit"] as? String == "grid:guanghua-3")
            let firstItem = try #require(item(page, request: first))
            let secondItem = try #require(item(page, request: second))
            #expect(firstItem["state"] as? String == "assigned" && firstItem["kind"] as? String == "request")
            #expect(
                firstItem["category"] as? String == "housing" && firstItem["householdId"] as? String == "guanghua-3-13"
                    && firstItem["gridId"] as? String == "guanghua-3"
            )
            #expect(firstItem["claimDueAt"] is String && firstItem["resolveDueAt"] == nil, "an unclaimed item runs its claim deadline: \(firstItem)")
            #expect(firstItem["overdue"] as? Bool == false && firstItem["warning"] as? Bool == false)
            #expect(secondItem["possibleDuplicateOf"] as? String == first, "the merge suggestion: \(secondItem)")
            let counts = try #require(page.json["counts"] as? [String: Any])
            #expect((counts["total"] as? Int ?? 0) >= 2 && (counts["unclaimed"] as? Int ?? 0) >= 2)

            // Claimed: the resolve deadline runs; "mine" finds it, the state filter too.
            let claimed = try await postCommand(system, first, #"{"action":"claim","staff":"cui-chunhua"}"#)
            try #require(claimed.status == 200, "\(claimed.body)")
            page = try await inbox(system, as: "cui-chunhua", "mine=true")
            #expect(
                items(page).allSatisfy { $0["claimedBy"] as? String == "cui-chunhua" } && item(page, request: second) == nil,
                "only what she claimed: \(page.body)"
            )
            let mine = try #require(item(page, request: first), "\(page.body)")
            #expect(
                mine["state"] as? String == "claimed" && mine["claimedBy"] as? String == "cui-chunhua" && mine["resolveDueAt"] is String
                    && mine["claimDueAt"] == nil
            )
            page = try await inbox(system, as: "cui-chunhua", "state=claimed")
            #expect(items(page).allSatisfy { $0["state"] as? String == "claimed" } && item(page, request: second) == nil)
            page = try await inbox(system, as: "cui-chunhua", "limit=1")
            #expect(items(page).count == 1 && page.json["next"] is String, "paged: \(page.body)")

            // Another grid's worker, and the street officer, may not read the grid's inbox; the supervisor may.
            for (staff, expected) in [("zhao-hongmei", 403), ("xu-chunfeng", 403), ("wang-xu", 200)] {
                let answer = try await inbox(system, as: staff, "unit=grid:guanghua-3")
                #expect(answer.status == expected, "\(staff): \(answer.status) \(answer.body)")
                if expected == 403 {
                    #expect(answer.contentType?.hasPrefix("application/problem+json") == true && answer.body.contains("grid:guanghua-3"))
                }
            }
            let noToken = try await http(.GET, system.url("routing", "/v1/inbox"))
            #expect(noToken.status == 401)
            let bad = try await inbox(system, as: "cui-chunhua", "state=open&limit=500")
            #expect(bad.status == 400 && bad.body.contains("state") && bad.body.contains("limit"), "\(bad.body)")

            // The street officer summons power supply: the summons is the department's own item.
            for body in [#"{"action":"claim","staff":"cui-chunhua"}"#, #"{"action":"escalate","staff":"cui-chunhua","note":"网格解决不了"}"#] {
                let answer = try await postCommand(system, second, body)
                try #require(answer.status == 200, "\(body): \(answer.body)")
            }
            #expect(
                await eventually { (try? await self.item(self.inbox(system, as: "xu-chunfeng"), request: second)) != nil },
                "escalated to the street's inbox"
            )
            #expect(try await item(inbox(system, as: "cui-chunhua"), request: second) == nil, "gone from the grid's inbox")
            for body in [
                #"{"action":"claim","staff":"xu-chunfeng"}"#,
                #"{"action":"summon","staff":"xu-chunfeng","departments":["power-supply"],"note":"吹哨：变压器"}"#,
            ] {
                let answer = try await postCommand(system, second, body)
                try #require(answer.status == 200, "\(body): \(answer.body)")
            }
            page = try await inbox(system, as: "power-officer-1")
            let summons = try #require(item(page, request: second), "the summons in power supply's inbox: \(page.body)")
            #expect(
                summons["kind"] as? String == "summons" && summons["state"] as? String == "summoned"
                    && summons["summonedBy"] as? String == "xu-chunfeng"
            )
            #expect(summons["claimDueAt"] is String, "the summons' deadline to acknowledge")
            let acknowledged = try await postCommand(system, second, #"{"action":"claim","staff":"power-officer-1","unit":"district:power-supply"}"#)
            try #require(acknowledged.status == 200, "\(acknowledged.body)")
            let after = try #require(try await item(inbox(system, as: "power-officer-1"), request: second))
            #expect(
                after["state"] as? String == "acknowledged" && after["claimedBy"] as? String == "power-officer-1" && after["resolveDueAt"] is String
            )

            // The CLI: a table of the worker's own inbox, and the JSON page.
            let table = try await system.cli("staff", "inbox", "--staff", "cui-chunhua", "--mine", "--limit", "200")
            #expect(table.status == 0, "\(table.stderr)")
            #expect(
                table.stdout.contains("grid:guanghua-3: ") && table.stdout.contains(first) && table.stdout.contains("by:cui-chunhua"),
                "\(table.stdout)"
            )
            let json = try await system.cli("staff", "inbox", "--staff", "cui-chunhua", "--mine", "--json")
            #expect(json.status == 0, "\(json.stderr)")
            let decoded = try WireJSON.decode(StaffInbox.Page.self, from: Array(json.stdout.utf8))
            #expect(decoded.items.contains { $0.requestId == first } && decoded.items.allSatisfy { $0.claimedBy == "cui-chunhua" })
            let refused = try await system.cli("staff", "inbox", "--staff", "cui-chunhua", "--unit", "grid:hongxing-3")
            #expect(refused.status != 0 && refused.stderr.contains("403"), "\(refused.stderr)")
        }
    }
}
