import Foundation
import GridLoopServiceSupport
import GridLoopTestSupport
import Testing

/// The staff web app in a real browser (Selenium driving Debian's chromium at 390×844).
extension EndToEndTests {
    @Test("web pages in a real browser: the transformer story through the pages only (grid worker claims and escalates, the street summons power supply, the department acknowledges and resolves, the grid worker records the verdict); wrong secret and forged post refused; a script in a description shown as text; usable at 360 px; screenshots kept")
    func webStory() async throws {
        try await GridLoopSystem.with { system, _ in
            let web = try await system.launchReplica("web", port: 18085)
            defer { Task { await web.stop() } }
            let id = try await submit(system, json: submissionJSON(
                location: #""householdId":"guanghua-3-14""#, category: "housing", description: "<script>window.__injected=true</script>楼道墙皮脱落，老人出入危险"
            ))
            var accounts: [String] = []
            for staff in ["cui-chunhua", "xu-chunfeng", "power-officer-1"] {
                let issued = try await system.cli("auth", "credential", staff)
                try #require(issued.status == 0, "\(issued.stderr)")
                let secret = try #require(issued.stdout.split(separator: "\n").last.map(String.init))
                accounts.append("\(staff):\(secret)")
            }
            let shots = TestEnvironment.logDir.appendingPathComponent("screenshots")
            let story = try await runCommand(
                [GridLoopSystem.repositoryPath("Tests/Support/python/web_story.py"), "http://127.0.0.1:18085", shots.path, id] + accounts,
                executable: "/usr/bin/python3", environment: [:], timeout: .seconds(300)
            )
            #expect(story.status == 0 && story.stdout.contains("PASS"), "\(story.stdout)\n\(story.stderr.suffix(2000))")
            // What the pages did, as the resident's status link tells it: closed, every step on the trail.
            let closed = await eventually(timeout: .seconds(20)) {
                (try? await http(.GET, system.url("intake", "/v1/requests/\(id)")))?.json["state"] as? String == "closed"
            }
            #expect(closed, "the request closed through the pages")
            let types = try await trailTypes(system, id)
            for type in ["request.claimed", "request.escalated", "request.summoned", "request.resolved"] {
                #expect(types.contains(type), "\(type) on the trail: \(types)")
            }
            for page in ["signin", "inbox", "request", "request-street", "request-closed", "inbox-en"] {
                for width in ["phone", "desktop"] {
                    #expect(FileManager.default.fileExists(atPath: shots.appendingPathComponent("\(page)-\(width).png").path), "screenshot \(page)-\(width)")
                }
            }
        }
    }
}
