import Foundation
import GridLoopDomain
import GridLoopTestSupport
import Testing

extension EndToEndTests {
    @Test(
        "residents' phones: sealed at rest in intake and notification, masked in events, read models and the status link; unmasked only for the request's unit and grid, each view on the trail; found by keyed hash; a data-key rotation re-seals them"
    )
    func personalData() async throws {
        try await GridLoopSystem.with { system, _ in
            let phone = "13800005678"
            let id = try await submit(
                system,
                json: submissionJSON(location: #""householdId":"guanghua-3-09""#, category: "housing", description: "楼顶漏水").replacingOccurrences(
                    of: "13800001234",
                    with: "138-0000-5678"
                )
            )
            #expect(
                await eventually { (try? await http(.GET, system.url("intake", "/v1/requests/\(id)")))?.json["unit"] as? String == "grid:guanghua-3" }
            )
            let uuid = try #require(UUID(uuidString: id))

            // At rest and in flight: sealed, hashed, masked; never the number itself.
            let (stored, hash, outbox, contact, projected) = try await withDatabase { client in
                let (stored, hash) = try await client.query("SELECT reporter_phone, reporter_phone_hash FROM intake.requests WHERE id = \(uuid)")
                    .collect().first!.decode((String, String?).self)
                let outbox = try await client.query("SELECT body FROM intake.outbox WHERE body LIKE \("%\(id)%")").collect().map {
                    try $0.decode(String.self)
                }.joined()
                var contact = ""
                var projected = ""
                _ = await eventually {
                    contact =
                        (try? await client.query("SELECT coalesce(reporter_phone, '') FROM notification.requests WHERE request_id = \(id)").collect()
                            .first?.decode(String.self)) ?? ""
                    projected =
                        (try? await client.query("SELECT coalesce(reporter_phone, '') FROM reporting.requests WHERE id = \(id)").collect().first?
                            .decode(String.self)) ?? ""
                    return !contact.isEmpty && !projected.isEmpty
                }
                return (stored, hash, outbox, contact, projected)
            }
            #expect(stored.hasPrefix(DataProtector.prefix) && hash?.count == 64)
            #expect(
                outbox.contains("138****5678") && outbox.contains(DataProtector.prefix) && !outbox.contains(phone)
                    && !outbox.contains("138-0000-5678"),
                "the event: \(outbox.prefix(400))"
            )
            #expect(contact.hasPrefix(DataProtector.prefix), "notification keeps it sealed: \(contact)")
            #expect(projected == "138****5678", "reporting keeps it masked: \(projected)")
            #expect(try await http(.GET, system.url("intake", "/v1/requests/\(id)")).json.description.contains("138****5678"))

            // Unmasked for her grid's worker, and the view is on the trail; refused to others.
            let view = try await http(.GET, system.url("intake", "/v1/requests/\(id)/contact"), headers: try await system.bearer("cui-chunhua"))
            #expect(view.status == 200 && view.json["phone"] as? String == "138-0000-5678", "\(view.status) \(view.body)")
            for (staff, status) in [("zhao-hongmei", 403), ("wang-xu", 403), ("xu-chunfeng", 403)] {
                let refused = try await http(.GET, system.url("intake", "/v1/requests/\(id)/contact"), headers: try await system.bearer(staff))
                #expect(refused.status == status && !refused.body.contains("5678"), "\(staff): \(refused.status) \(refused.body)")
            }
            #expect(try await http(.GET, system.url("intake", "/v1/requests/\(id)/contact")).status == 401)
            let trail = try await http(.GET, system.url("intake", "/v1/requests/\(id)")).json
            let views = (trail["trail"] as? [[String: Any]] ?? []).filter { $0["type"] as? String == "contact.viewed" }
            #expect(views.count == 1 && views.first?["actor"] as? String == "cui-chunhua", "\(views)")
            #expect(trail["trailVerified"] as? Bool == true)

            // Found by its keyed hash however written; a rotation re-seals every row, and back.
            let found = try await system.cli("data", "find", "138 0000 5678")
            #expect(found.status == 0 && found.stdout.contains(id) && !found.stdout.contains(phone), "\(found.stdout) \(found.stderr)")
            let newKey = String(repeating: "5a", count: 32)
            let rotated = try await runCommand(
                ["data", "rekey"],
                environment: system.environment.merging(["GRIDLOOP_DATA_KEY": newKey, "GRIDLOOP_DATA_PREVIOUS_KEY": GridLoopSystem.dataKey]) {
                    _,
                    new in new
                }
            )
            #expect(rotated.status == 0 && rotated.stdout.contains("re-sealed"), "\(rotated.stdout) \(rotated.stderr)")
            let findNew = try await runCommand(
                ["data", "find", phone],
                environment: system.environment.merging(["GRIDLOOP_DATA_KEY": newKey]) { _, new in new }
            )
            #expect(findNew.stdout.contains(id), "found under the new key: \(findNew.stdout) \(findNew.stderr)")
            let back = try await runCommand(
                ["data", "rekey"],
                environment: system.environment.merging(["GRIDLOOP_DATA_PREVIOUS_KEY": newKey]) { _, new in new }
            )
            #expect(back.status == 0, "\(back.stderr)")
            #expect(
                try await http(.GET, system.url("intake", "/v1/requests/\(id)/contact"), headers: try await system.bearer("cui-chunhua")).json[
                    "phone"
                ] as? String == "138-0000-5678"
            )
            _ = try await drainAssignments(try UnitRef(parsing: "grid:guanghua-3").queueName)  // the queue is shared with other tests
        }
    }
}
