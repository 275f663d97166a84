import Foundation
import GridLoopTestSupport
import Testing

/// The published AMQP contract (`docs/asyncapi.yaml`) driven by a client that knows nothing else.
extension EndToEndTests {
    @Test(
        "AsyncAPI contract: a pika client that takes every name from docs/asyncapi.yaml submits for household guanghua-3-05 (reply-to, publisher confirms), takes the assignment from the unit's queue and claims it with cui-chunhua's token; intake shows the request claimed by her"
    )
    func asyncAPIClient() async throws {
        try await GridLoopSystem.with { system, _ in
            let staff = "cui-chunhua"
            let token = try await system.token(for: staff)
            let amqpURL = try #require(system.environment["AMQP_URL"])
            let client = try await runCommand(
                [
                    GridLoopSystem.repositoryPath("Tests/Support/python/amqp_client_story.py"), amqpURL, staff, token,
                    GridLoopSystem.repositoryPath("docs/asyncapi.yaml"), "--household", "guanghua-3-05", "--category", "water", "--timeout", "30",
                ],
                executable: "/usr/bin/python3",
                environment: ["PYTHONPATH": ProcessInfo.processInfo.environment["GRIDLOOP_TEST_PYTHONPATH"] ?? ""],
                timeout: .seconds(150)
            )
            try #require(client.status == 0, "AMQP client story (exit \(client.status)):\n\(client.stdout)\n\(client.stderr)")
            let id = try #require(
                client.stdout.split(separator: "\n").last.map { $0.trimmingCharacters(in: .whitespaces) },
                "no request id printed: \(client.stdout)"
            )
            try #require(UUID(uuidString: id) != nil, "the last line is not a request id: \(client.stdout)")
            #expect(client.stdout.contains("SUBMITTED \(id)") && client.stdout.contains("CLAIMED by \(staff)"), "\(client.stdout)")

            // Intake's status link: claimed by her, at her grid, with the whole trail.
            let claimed = await eventually(timeout: .seconds(20)) {
                let status = try? await http(.GET, system.url("intake", "/v1/requests/\(id)"))
                let trail = (status?.json["trail"] as? [[String: Any]]) ?? []
                return status?.json["state"] as? String == "claimed"
                    && trail.contains { $0["type"] as? String == "request.claimed" && $0["actor"] as? String == staff }
            }
            let status = try await http(.GET, system.url("intake", "/v1/requests/\(id)"))
            #expect(claimed, "the request is claimed by \(staff): \(status.body)")
            #expect(status.json["unit"] as? String == "grid:guanghua-3", "\(status.body)")
            #expect(status.json["channel"] as? String == "cli" && status.json["category"] as? String == "water", "\(status.body)")
            let types = try await trailTypes(system, id)
            #expect(Array(types.prefix(3)) == ["request.received", "request.assigned", "request.claimed"], "trail: \(types)")
        }
    }
}
