import Foundation
import GridLoopDomain
import GridLoopTestSupport
import PostgresNIO
import Testing

extension EndToEndTests {
    @Test(
        "the seed's two grids, one transformer: 光华三组 and 红星三组 report one power problem — one incident handled at the street, its lead moved up once; the street officer takes a different fault out and links a report filed under another category by hand; the linked residents are told once it is solved, the one taken out on its own; every trail verified"
    )
    func twoGridTransformer() async throws {
        try await GridLoopSystem.with(environment: ["ROUTING_INCIDENT_THRESHOLD": "3"]) { system, receiver in
            func command(_ arguments: String...) async throws -> CommandResult { try await system.cli(arguments) }
            func incidentRows(_ ids: [String]) async throws -> [(id: String, state: String, unit: String?, incident: UUID?)] {
                try await withDatabase { client in
                    try await client.query(
                        "SELECT id, state, unit, incident_id FROM routing.requests WHERE id = ANY(\(ids.compactMap(UUID.init(uuidString:))))"
                    ).collect().map {
                        let (id, state, unit, incident) = try $0.decode((UUID, String, String?, UUID?).self)
                        return (id.uuidString.lowercased(), state, unit, incident)
                    }
                }
            }
            // 崔春花's households first: three reports in one grid make a grid incident.
            var guanghua: [String] = []
            for household in 1...3 {
                guanghua.append(try await submit(system, location: "\"householdId\":\"guanghua-3-0\(household)\""))
            }
            let lead = try #require(
                try await eventuallyValue(timeout: .seconds(30)) { () -> String? in
                    let rows = try await incidentRows(guanghua)
                    guard rows.count == 3, rows.allSatisfy({ $0.incident != nil }), rows.filter({ $0.state != "merged" }).count == 1 else {
                        return nil
                    }
                    return rows.first { $0.state != "merged" }?.id
                },
                "three reports of 光华三组 become one incident"
            )
            // Then 赵红梅's households of 红星三组, on the same old transformer: the incident spans
            // two grids of 西平街道 and is handled at the street.
            var hongxing: [String] = []
            // Their phones give coordinates: a few metres apart, near the transformer.
            for household in 1...3 {
                let place = "\"householdId\":\"hongxing-3-0\(household)\",\"latitude\":25.6050\(household),\"longitude\":103.8050"
                let json = submissionJSON(location: place, description: "灯一闪一闪，电器带不动")
                    .replacingOccurrences(of: "\"submittedBy\":\"cui-chunhua\"", with: "\"submittedBy\":\"zhao-hongmei\"")
                hongxing.append(try await submit(system, json: json))
            }
            let reports = guanghua + hongxing
            let joined = await eventually(timeout: .seconds(30)) {
                guard let rows = try? await incidentRows(reports), rows.count == 6 else { return false }
                return Set(rows.map(\.incident)).count == 1 && rows.filter { $0.state == "merged" }.count == 5
                    && rows.first { $0.id == lead }?.unit == "street:xiping"
            }
            let afterJoin = try await incidentRows(reports)
            #expect(joined, "\(afterJoin)")
            // A power report from the street's merchant grid 6 km away: another problem, not linked.
            let far = try await submit(
                system,
                json: submissionJSON(location: "\"gridId\":\"xiping-merchants-1\",\"latitude\":25.6500,\"longitude\":103.8500", description: "店里跳闸")
            )
            let farAlone = await eventually {
                guard let row = try? await incidentRows([far]).first else { return false }
                return row.state == "assigned" && row.unit == "grid:xiping-merchants-1" && row.incident == nil
            }
            let farRow = try await incidentRows([far])
            #expect(farAlone, "a report beyond ROUTING_INCIDENT_DISTANCE_METERS stays on its own: \(farRow)")
            let scope = try await withDatabase { client in
                try await client.query(
                    "SELECT scope, street_id FROM routing.incidents WHERE lead_request_id = \(UUID(uuidString: lead))"
                ).collect().map { try $0.decode((String, String?).self) }
            }
            #expect(scope.count == 1 && scope.first?.0 == "street" && scope.first?.1 == "xiping", "\(scope)")

            // 徐春凤 finds one 红星三组 report is a different fault: taken out, back to its grid.
            let different = hongxing[2]
            let refusedByGrid = try await command("staff", "unlink", different, "--staff", "zhao-hongmei", "--reason", "x")
            #expect(refusedByGrid.status != 0 && refusedByGrid.stderr.contains("only street officers"), "\(refusedByGrid.stderr)")
            let out = try await command("staff", "unlink", different, "--staff", "xu-chunfeng", "--reason", "入户查看：是这户自己的线路老化，不是变压器")
            #expect(out.status == 0 && out.stdout.contains("assigned to grid:hongxing-3"), "unlink: \(out.stdout) \(out.stderr)")
            let own = try await takeUntil(system, unit: "grid:hongxing-3", staff: "zhao-hongmei", requestId: different)
            #expect(own.reason.contains("taken out of the incident led by \(lead)"), "\(own.reason)")

            // A resident of 红星三组 phoned the hotline about the price (一块一一度): filed under
            // electricity-price, so not linked on arrival; the street links it by hand.
            let price = try await submit(
                system,
                json: submissionJSON(location: "\"householdId\":\"hongxing-3-01\"", category: "electricity-price", description: "别的小组四毛八一度电，我们组一块一")
            )
            #expect(await eventually { (try? await incidentRows([price]))?.first?.state == "assigned" })
            let linkedByHand = try await command(
                "staff",
                "link",
                price,
                "--into",
                lead,
                "--staff",
                "xu-chunfeng",
                "--reason",
                "电价高也是因为共用原水泥厂变压器，一并解决"
            )
            #expect(
                linkedByHand.status == 0 && linkedByHand.stdout.contains("linked into the incident led by \(lead)"),
                "link: \(linkedByHand.stdout) \(linkedByHand.stderr)"
            )

            // The street works the lead once: summons power supply (吹哨报到), done, checked on site.
            _ = try await takeUntil(system, unit: "street:xiping", staff: "xu-chunfeng", requestId: lead)
            let whistle = try await command("staff", "summon", lead, "--staff", "xu-chunfeng", "--department", "power-supply", "--note", "商量重新建个变压器")
            #expect(whistle.status == 0, "summon: \(whistle.stderr)")
            _ = try await takeUntil(system, unit: "district:power-supply", staff: "power-officer-1", requestId: lead)
            let done = try await command("staff", "resolve", lead, "--staff", "power-officer-1", "--note", "新变压器投运，两个小组分开供电")
            #expect(done.status == 0, "resolve: \(done.stderr)")
            let check = try await command("staff", "feedback", lead, "--staff", "cui-chunhua", "--satisfaction", "satisfied", "--note", "入户核查：用电正常")
            #expect(check.status == 0 && check.stdout.contains("closed"), "feedback: \(check.stdout) \(check.stderr)")

            let leadClosed = await eventually {
                let status = try? await http(.GET, system.url("intake", "/v1/requests/\(lead)"))
                return status?.json["state"] as? String == "closed"
            }
            #expect(leadClosed)
            let leadTrail = try await trailTypes(system, lead)
            #expect(leadTrail.filter { $0 == "request.escalated" }.count == 1, "moved up to the street once: \(leadTrail)")
            let linked = reports.filter { $0 != lead && $0 != different } + [price]
            for id in linked {
                let merged = await eventually { (try? await trailTypes(system, id))?.last == "request.merged" }
                let trail = try await trailTypes(system, id)
                #expect(merged, "\(id): \(trail)")
            }
            let differentTrail = try await trailTypes(system, different)
            #expect(differentTrail.prefix(3) == ["request.received", "request.merged", "request.unlinked"], "\(differentTrail)")
            for id in [lead, linked[0], different, price] {
                let audit = try await command("audit", "verify", "--request", id)
                #expect(audit.status == 0, "audit verify \(id): \(audit.stdout) \(audit.stderr)")
            }

            // Residents: each linked report's resident hears of the solution once; the one taken
            // out was told so, and is not told the incident's result.
            func texts(_ template: String, _ id: String) -> Int {
                receiver.sms.filter { $0.body.contains("\"template\":\"\(template)\"") && $0.webhookId?.contains(":reporter:\(id):") == true }.count
            }
            let told = await eventually(timeout: .seconds(30)) { linked.allSatisfy { texts("resolved-linked", $0) == 1 } }
            #expect(told, "\(linked.map { texts("resolved-linked", $0) })")
            #expect(texts("resolved-linked", different) == 0, "taken out: not told of the incident's solution")
            let unlinkedText = await eventually {
                receiver.sms.contains { $0.body.contains("\"template\":\"unlinked\"") && $0.body.contains(different) }
            }
            #expect(unlinkedText, "the resident taken out of the incident is told it is handled on its own")
        }
    }
}
