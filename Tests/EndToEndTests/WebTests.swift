import Foundation
import GridLoopServiceSupport
import GridLoopTestSupport
import PostgresNIO
import Testing

/// The web app in a real browser (Selenium driving Debian's chromium at 390×844).
extension EndToEndTests {
    @Test(
        "web pages in a real browser: the transformer story through the pages only — the grid worker submits for a household and escalates, the street summons power supply, the department acknowledges and resolves, the grid worker shows the number and logs her visit, the resident reads the status page and answers the follow-up link from the SMS (the request closes), the supervisor's dashboard rates move; the door plates' QR code (read by zbarimg) opens the public report form; wrong secret and forged posts refused; a script shown as text; usable at 360 px; screenshots kept"
    )
    func webStory() async throws {
        try await GridLoopSystem.with { system, receiver in
            let web = try await system.launchReplica("web", port: 18085)
            defer { Task { await web.stop() } }
            var accounts: [String] = []
            for staff in ["cui-chunhua", "xu-chunfeng", "power-officer-1", "wang-xu"] {
                let issued = try await system.cli("auth", "credential", staff)
                try #require(issued.status == 0, "\(issued.stderr)")
                let secret = try #require(issued.stdout.split(separator: "\n").last.map(String.init))
                accounts.append("\(staff):\(secret)")
            }
            let shots = TestEnvironment.logDir.appendingPathComponent("screenshots")
            let script = GridLoopSystem.repositoryPath("Tests/Support/python/web_story.py")
            let staff = try await runCommand(
                [script, "staff", "http://127.0.0.1:18085", shots.path] + accounts,
                executable: "/usr/bin/python3",
                environment: [:],
                timeout: .seconds(300)
            )
            try #require(staff.status == 0 && staff.stdout.contains("PASS"), "\(staff.stdout)\n\(staff.stderr.suffix(2000))")
            let id = try #require(Self.line(staff.stdout, "REQUEST"), "\(staff.stdout)")
            let ratesBefore = Self.line(staff.stdout, "RATES")
            // Open311 clients see the submission's photo as media_url (the public copy).
            let open311 = try await http(.GET, system.url("intake", "/open311/v2/requests/\(id).json"))
            let media =
                (((try? JSONSerialization.jsonObject(with: Data(open311.body.utf8))) as? [[String: Any]])?.first?["media_url"] as? String) ?? ""
            #expect(media.contains("/v1/photos/"), "media_url: \(media)")
            // What the pages did, on the trail.
            let types = try await trailTypes(system, id)
            for type in [
                "request.received", "request.claimed", "request.escalated", "request.summoned", "request.resolved", "contact.viewed", "photo.added",
            ] {
                #expect(types.contains(type), "\(type) on the trail: \(types)")
            }
            // The resident's follow-up link, as the SMS gateway received it.
            var link: String?
            _ = await eventually(timeout: .seconds(30)) {
                link = receiver.sms.lazy.compactMap { Self.followUpLink(in: $0.body, request: id) }.first
                return link != nil
            }
            let followUp = try #require(link, "no follow-up link in the SMS sent: \(receiver.sms.map(\.body).suffix(3))")
            let resident = try await runCommand(
                [script, "resident", "http://127.0.0.1:18085", shots.path, id, followUp] + accounts,
                executable: "/usr/bin/python3",
                environment: [:],
                timeout: .seconds(300)
            )
            #expect(resident.status == 0 && resident.stdout.contains("PASS"), "\(resident.stdout)\n\(resident.stderr.suffix(2000))")
            let closed = await eventually(timeout: .seconds(20)) {
                (try? await http(.GET, system.url("intake", "/v1/requests/\(id)")))?.json["state"] as? String == "closed"
            }
            #expect(closed, "the request closed with the resident's answer")
            #expect(try await trailTypes(system, id).contains("request.closed"))
            #expect(
                ratesBefore != nil && Self.line(resident.stdout, "RATES") != nil && ratesBefore != Self.line(resident.stdout, "RATES"),
                "the dashboard's rates moved: \(ratesBefore ?? "-") → \(Self.line(resident.stdout, "RATES") ?? "-")"
            )
            // The visit reached reporting (the assessment's visit duty).
            let visits = await eventually(timeout: .seconds(20)) {
                let count = try? await withDatabase { client in
                    try await client.query("SELECT count(*)::int FROM reporting.visits WHERE staff = 'cui-chunhua' AND household = 'guanghua-3-14'")
                        .collect().first?.decode(Int.self)
                }
                return (count ?? 0) >= 1
            }
            #expect(visits, "the visit logged on the page reached reporting")
            // The public report through the door plate's QR code became a request for that household.
            let reported = try #require(Self.line(resident.stdout, "REPORTED"), "\(resident.stdout)")
            let status = try await http(.GET, system.url("intake", "/v1/requests/\(reported)"))
            #expect(status.status == 200 && status.json["channel"] as? String == "web", "\(status.json)")
            #expect(Self.line(resident.stdout, "QR") == "http://127.0.0.1:18085/report?household=guanghua-3-01")
            // Offline: kept on the phone while the network is cut, sent once when it returns.
            let offline = try await runCommand(
                [script, "offline", "http://127.0.0.1:18085", shots.path] + accounts,
                executable: "/usr/bin/python3",
                environment: [:],
                timeout: .seconds(300)
            )
            #expect(offline.status == 0 && offline.stdout.contains("PASS"), "\(offline.stdout)\n\(offline.stderr.suffix(2000))")
            if let description = Self.line(offline.stdout, "OFFLINE") {
                try await Task.sleep(for: .seconds(2))
                let count = try await withDatabase { client in
                    try await client.query("SELECT count(*)::int FROM intake.requests WHERE description = \(description)").collect().first?.decode(
                        Int.self
                    )
                }
                #expect(count == 1, "the request submitted offline exists once: \(count ?? -1)")
            }
            for page in [
                "offline-queued", "offline-inbox", "signin", "submit", "inbox", "request", "request-street", "request-resolved", "inbox-en", "status",
                "followup", "status-closed", "dashboard", "plates", "report",
            ] {
                for width in ["phone", "desktop"] {
                    #expect(
                        FileManager.default.fileExists(atPath: shots.appendingPathComponent("\(page)-\(width).png").path),
                        "screenshot \(page)-\(width)"
                    )
                }
            }
        }
    }

    /// The rest of the first line of `output` starting with `word `.
    static func line(_ output: String, _ word: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix("\(word) ") }.map { String($0.dropFirst(word.count + 1)) }
    }

    /// The follow-up link for `request` in an SMS gateway body (JSON-escaped or not).
    static func followUpLink(in body: String, request: String) -> String? {
        let text = body.replacingOccurrences(of: "\\/", with: "/").replacingOccurrences(of: "\\u0026", with: "&")
        guard let start = text.range(of: "http://127.0.0.1:18085/followup/\(request)?") else { return nil }
        let tail = text[start.lowerBound...]
        return String(tail.prefix { !$0.isWhitespace && $0 != "\"" && $0 != "\\" && $0 != "，" && $0 != "。" })
    }
}
