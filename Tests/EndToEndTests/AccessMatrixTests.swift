import Foundation
import GridLoopAMQP
import GridLoopAuth
import GridLoopDomain
import GridLoopServiceSupport
import GridLoopTestSupport
import Testing

/// Every role × every staff endpoint and AMQP command × own scope / other scope, generated from
/// the tables below and run against the live services: no cross-scope read or write gets
/// through, refusals are 401/403 with a message saying why, and the request nobody may touch
/// is unchanged at the end. The matrix is written to `access-matrix.md` in the test logs.
extension EndToEndTests {
    /// A principal of the demo org (or none), with the requests and staff in and out of its scope.
    struct Who: Sendable {
        var name: String
        /// `nil`: no token at all.
        var staff: String?
        var role: String
        /// Requests it may read / the request it may act on / a staff member whose page it may read.
        var readOwn: String, writeOwn: String, staffOwn: String
        /// `nil` where nothing in the district is out of scope (supervisors, services).
        var readOther: String?, writeOther: String?, staffOther: String?
    }

    /// What the policy lets each role do at all (README, "Security"); scope is the matrix's other axis.
    static let allowedActions: [String: Set<StaffCommand.Action>] = [
        "grid-worker": [.claim, .resolve, .escalate, .return, .reject, .merge, .feedback, .recategorize],
        "grid-leader": [.claim, .resolve, .escalate, .return, .reject, .merge, .feedback, .reassign, .recategorize],
        "street-officer": [.claim, .resolve, .escalate, .return, .reject, .merge, .summon, .reassign, .recategorize, .link, .unlink],
        "department-officer": [.claim, .resolve, .escalate, .return, .reject, .merge, .reassign, .recategorize],
        "supervisor": [.reassign, .feedback],
        "service": [],
        "anonymous": [],
    ]

    /// Bodies that pass authorization and then stop at validation or state where they can
    /// (blank reasons, missing targets), so that own-scope cells change as little as possible;
    /// claims come last.
    static var probes: [(StaffCommand.Action, [String: Any])] {
        [
            (.reject, ["note": " "]), (.merge, ["note": "重复"]), (.reassign, [:]), (.summon, ["departments": [String]()]),
            (.recategorize, ["category": "noise"]), (.link, ["note": " "]), (.unlink, ["note": " "]),
            (.escalate, ["note": " "]), (.return, ["note": " "]), (.feedback, [:]), (.resolve, ["note": "已处理"]), (.claim, [:]),
        ]
    }

    /// Whether `who` sees the reporter's phone of its `readOwn` request: grid staff of its home
    /// grid (G1), the department holding D1; not the street officer (G1 is at the grid), not
    /// supervisors or services.
    static func seesContact(_ who: Who) -> Bool {
        ["grid-worker", "grid-leader", "department-officer"].contains(who.role)
    }

    /// District-wide reads: supervisors and services only.
    static let districtPaths = [
        "/v1/reports/summary", "/v1/reports/figures", "/v1/reports/figures.csv", "/v1/reports/workers", "/v1/reports/workers.csv",
        "/v1/reports/subsidy", "/v1/reports/subsidy.csv", "/v1/reports/backlog", "/v1/reports/backlog.csv", "/v1/reports/overdue",
        "/v1/reports/overdue.csv", "/v1/reports/trend", "/v1/reports/trend.csv", "/dashboard",
    ]

    @Test(
        "access matrix: every role × staff endpoint and AMQP command × own / other scope; 0 cross-scope reads or writes; 401/403 with reasons; expired, alg=none, wrong-audience and tampered tokens refused by the services"
    )
    func accessMatrix() async throws {
        try await GridLoopSystem.with { system, _ in
            // The requests: G1 at grid:guanghua-3 (street xiping), S1 at street:xiping (claimed by its
            // officer), D1 at district:power-supply (claimed by the department), G2 in street longhua.
            let g1 = try await submit(
                system,
                json: submissionJSON(location: #""householdId":"guanghua-3-10""#, category: "housing", description: "楼道灯坏了")
            )
            let s1 = try await submit(
                system,
                json: submissionJSON(location: #""householdId":"guanghua-3-11""#, category: "housing", description: "小区围墙开裂")
            )
            let d1 = try await submit(
                system,
                json: submissionJSON(location: #""householdId":"guanghua-3-12""#, category: "power", description: "变压器负载不过来")
            )
            let g2 = try await submit(system, json: submissionJSON(location: #""gridId":"hanjiaxu-1""#, category: "housing", description: "电梯停运"))
            func unit(_ id: String) async -> String? {
                (try? await http(.GET, system.url("intake", "/v1/requests/\(id)")))?.json["unit"] as? String
            }
            for id in [g1, s1, d1, g2] { #expect(await eventually { await unit(id) != nil }, "\(id) assigned") }
            func setup(_ id: String, _ body: String) async throws {
                let answer = try await postCommand(system, id, body)
                try #require(answer.status == 200, "setup \(body): \(answer.status) \(answer.body)")
            }
            for id in [s1, d1] {
                try await setup(id, #"{"action":"claim","staff":"cui-chunhua"}"#)
                try await setup(id, #"{"action":"escalate","staff":"cui-chunhua","note":"网格解决不了"}"#)
            }
            try await setup(s1, #"{"action":"claim","staff":"xu-chunfeng"}"#)
            try await setup(d1, #"{"action":"claim","staff":"xu-chunfeng"}"#)
            try await setup(d1, #"{"action":"escalate","staff":"xu-chunfeng","note":"需供电部门新建变压器"}"#)
            try await setup(d1, #"{"action":"claim","staff":"power-officer-1"}"#)
            #expect(await unit(d1) == "district:power-supply")
            // Reporting has them all, with D1's assignments.
            #expect(
                await eventually(timeout: .seconds(30)) {
                    let department = (try? await report(system, "/v1/reports/requests/\(d1)"))?.body.contains("district:power-supply") == true
                    let other = (try? await report(system, "/v1/reports/requests/\(g2)"))?.status == 200
                    return department && other
                }
            )
            let g2Before = try await routingVersion(g2)

            let everyone: [Who] = [
                Who(
                    name: "grid worker",
                    staff: "cui-chunhua",
                    role: "grid-worker",
                    readOwn: g1,
                    writeOwn: g1,
                    staffOwn: "cui-chunhua",
                    readOther: g2,
                    writeOther: g2,
                    staffOther: "wu-xiaoli"
                ),
                Who(
                    name: "grid leader",
                    staff: "leng-yulong",
                    role: "grid-leader",
                    readOwn: g1,
                    writeOwn: g1,
                    staffOwn: "cui-chunhua",
                    readOther: g2,
                    writeOther: g2,
                    staffOther: "wu-xiaoli"
                ),
                Who(
                    name: "street officer",
                    staff: "xu-chunfeng",
                    role: "street-officer",
                    readOwn: g1,
                    writeOwn: s1,
                    staffOwn: "cui-chunhua",
                    readOther: g2,
                    writeOther: g2,
                    staffOther: "wu-xiaoli"
                ),
                Who(
                    name: "department officer",
                    staff: "power-officer-1",
                    role: "department-officer",
                    readOwn: d1,
                    writeOwn: d1,
                    staffOwn: "power-officer-1",
                    readOther: g1,
                    writeOther: g1,
                    staffOther: "cui-chunhua"
                ),
                Who(
                    name: "supervisor",
                    staff: "wang-xu",
                    role: "supervisor",
                    readOwn: g2,
                    writeOwn: g1,
                    staffOwn: "wu-xiaoli",
                    readOther: nil,
                    writeOther: nil,
                    staffOther: nil
                ),
                Who(
                    name: "service",
                    staff: "service",
                    role: "service",
                    readOwn: g2,
                    writeOwn: g1,
                    staffOwn: "wu-xiaoli",
                    readOther: nil,
                    writeOther: g2,
                    staffOther: nil
                ),
                Who(
                    name: "anonymous",
                    staff: nil,
                    role: "anonymous",
                    readOwn: g1,
                    writeOwn: g1,
                    staffOwn: "cui-chunhua",
                    readOther: g2,
                    writeOther: g2,
                    staffOther: "wu-xiaoli"
                ),
            ]
            func token(_ who: Who) async throws -> String? {
                switch who.staff {
                case nil: nil
                case "service": try await system.serviceToken()
                case let staff?: try await system.token(for: staff)
                }
            }

            var cells: [Cell] = []
            // Reads, over HTTP.
            for who in everyone {
                let headers = try await token(who).map { ["Authorization": "Bearer \($0)"] } ?? [:]
                let readsDistrict = who.role == "supervisor" || who.role == "service"
                var probes: [(what: String, path: String, own: Bool, expectAllowed: Bool)] = Self.districtPaths.map { ($0, $0, true, readsDistrict) }
                for page in ["/v1/reports/requests/", "/dashboard/requests/"] {
                    probes.append((page + "{own}", page + who.readOwn, true, who.staff != nil))
                    if let other = who.readOther { probes.append((page + "{other}", page + other, false, false)) }
                }
                for page in ["/v1/reports/workers/", "/dashboard/workers/"] {
                    probes.append((page + "{own}", page + who.staffOwn, true, who.staff != nil))
                    if let other = who.staffOther { probes.append((page + "{other}", page + other, false, false)) }
                }
                // The reporter's phone unmasked: the unit holding the request and the reporter's grid.
                probes.append(("/v1/requests/{own}/contact", "/v1/requests/\(who.readOwn)/contact", true, Self.seesContact(who)))
                if let other = who.readOther { probes.append(("/v1/requests/{other}/contact", "/v1/requests/\(other)/contact", false, false)) }
                // The resident's status link is public (masked); nobody needs a token for it.
                probes.append(("/v1/requests/{id} (status link)", "/v1/requests/\(who.readOwn)", true, true))
                for probe in probes {
                    let service = probe.path.hasPrefix("/v1/requests/") ? "intake" : "reporting"
                    let answer = try await http(.GET, system.url(service, probe.path), headers: headers)
                    cells.append(
                        Cell(
                            who: who.name,
                            what: "GET \(probe.what)",
                            transport: "HTTP",
                            own: probe.own,
                            expectAllowed: probe.expectAllowed,
                            status: answer.status,
                            message: answer.json["detail"] as? String ?? ""
                        )
                    )
                }
            }
            // Commands, over HTTP and AMQP: every other-scope cell first, then own-scope ones.
            for own in [false, true] {
                for (action, extra) in Self.probes {
                    for who in everyone {
                        guard let request = own ? who.writeOwn : who.writeOther else { continue }
                        let allowed = own && Self.allowedActions[who.role]!.contains(action)
                        var body = extra
                        body["action"] = action.rawValue
                        if let staff = who.staff, staff != "service" { body["staff"] = staff }
                        let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
                        let token = try await token(who)
                        let answer = try await http(
                            .POST,
                            system.url("routing", "/v1/requests/\(request)/commands"),
                            body: json,
                            headers: token.map { ["Authorization": "Bearer \($0)"] } ?? [:]
                        )
                        cells.append(
                            Cell(
                                who: who.name,
                                what: action.rawValue,
                                transport: "HTTP",
                                own: own,
                                expectAllowed: allowed,
                                status: answer.status,
                                message: answer.json["detail"] as? String ?? ""
                            )
                        )
                        let reply = try await amqpCommand(
                            StaffCommand(
                                action: action,
                                requestId: request,
                                staff: who.staff == "service" ? "" : who.staff ?? "",
                                note: extra["note"] as? String,
                                departments: extra["departments"] as? [String],
                                token: token
                            )
                        )
                        cells.append(
                            Cell(
                                who: who.name,
                                what: action.rawValue,
                                transport: "AMQP",
                                own: own,
                                expectAllowed: allowed,
                                status: reply.status,
                                message: reply.message ?? ""
                            )
                        )
                    }
                }
            }
            // Editing the message: someone else's staff id with one's own token, a token signed
            // with another key, expired, alg=none, another audience, a tampered role.
            let cui = try await system.token(for: "cui-chunhua")
            let foreign = try await TokenAuthority(secret: String(repeating: "f", count: 40)).issue(
                subject: "xu-chunfeng",
                role: "street-officer",
                unit: try UnitRef(parsing: "street:xiping")
            ).token
            let ours = try await TokenAuthority(secret: GridLoopSystem.authSecret)
            let expired = try await ours.issue(
                subject: "xu-chunfeng",
                role: "street-officer",
                unit: try UnitRef(parsing: "street:xiping"),
                lifetime: 60,
                now: Date().addingTimeInterval(-600)
            ).token
            let audience = try await TokenAuthority(secret: GridLoopSystem.authSecret, audience: "elsewhere").issue(
                subject: "xu-chunfeng",
                role: "street-officer",
                unit: try UnitRef(parsing: "street:xiping")
            ).token
            let parts = cui.split(separator: ".").map(String.init)
            let none = [Self.base64url(#"{"alg":"none","typ":"JWT"}"#), parts[1], ""].joined(separator: ".")
            let claims = String(decoding: Base64URL.decode(parts[1])!, as: UTF8.self).replacingOccurrences(of: "grid-worker", with: "supervisor")
            let tampered = [parts[0], Self.base64url(claims), parts[2]].joined(separator: ".")
            for (name, token, staff, expected) in [
                ("grid worker's token as the street officer", cui, "xu-chunfeng", 403),
                ("token signed with another key", foreign, "xu-chunfeng", 401),
                ("expired token", expired, "xu-chunfeng", 401), ("alg=none token", none, "cui-chunhua", 401),
                ("token for another audience", audience, "xu-chunfeng", 401), ("tampered token (role raised)", tampered, "cui-chunhua", 401),
            ] {
                let body = #"{"action":"escalate","staff":"\#(staff)","note":"越权"}"#
                let answer = try await http(
                    .POST,
                    system.url("routing", "/v1/requests/\(s1)/commands"),
                    body: body,
                    headers: ["Authorization": "Bearer \(token)"]
                )
                cells.append(
                    Cell(
                        who: name,
                        what: "escalate",
                        transport: "HTTP",
                        own: false,
                        expectAllowed: false,
                        expectedStatus: expected,
                        status: answer.status,
                        message: answer.json["detail"] as? String ?? ""
                    )
                )
                let reply = try await amqpCommand(StaffCommand(action: .escalate, requestId: s1, staff: staff, note: "越权", token: token))
                cells.append(
                    Cell(
                        who: name,
                        what: "escalate",
                        transport: "AMQP",
                        own: false,
                        expectAllowed: false,
                        expectedStatus: expected,
                        status: reply.status,
                        message: reply.message ?? ""
                    )
                )
                let read = try await http(.GET, system.url("reporting", "/v1/reports/backlog"), headers: ["Authorization": "Bearer \(token)"])
                cells.append(
                    Cell(
                        who: name,
                        what: "GET /v1/reports/backlog",
                        transport: "HTTP",
                        own: false,
                        expectAllowed: false,
                        expectedStatus: expected == 403 ? 403 : 401,
                        status: read.status,
                        message: read.json["detail"] as? String ?? ""
                    )
                )
            }

            try writeMatrix(cells)
            let crossScope = cells.filter { !$0.own && (200..<300).contains($0.status) }
            #expect(crossScope.isEmpty, "cross-scope reads or writes got through: \(crossScope)")
            for cell in cells where !cell.passes {
                Issue.record(
                    "\(cell.who) \(cell.transport) \(cell.what) (\(cell.own ? "own" : "other") scope): expected \(cell.expectation), got \(cell.status) \(cell.message)"
                )
            }
            for cell in cells where [401, 403].contains(cell.status) {
                #expect(cell.message.count > 10, "a refusal says why: \(cell)")
            }
            #expect(cells.count > 300, "\(cells.count) cells")
            // Nobody could touch G2: routing's row and intake's trail are as they were.
            #expect(try await routingVersion(g2) == g2Before)
            let trail = try await http(.GET, system.url("intake", "/v1/requests/\(g2)")).json["trail"] as? [[String: Any]] ?? []
            #expect(
                trail.allSatisfy { ["request.received", "request.assigned"].contains($0["type"] as? String ?? "") },
                "G2's trail: \(trail.map { $0["type"] ?? "" })"
            )
            // The staff login: a sign-in secret for a token, the cookie, refresh; a wrong secret is refused.
            let secret = try await system.cli("auth", "credential", "xu-chunfeng")
            try #require(secret.status == 0, "\(secret.stderr)")
            let login = try await http(
                .POST,
                system.url("routing", "/v1/auth/token"),
                body: #"{"staff":"xu-chunfeng","secret":"\#(secret.stdout.trimmingCharacters(in: .whitespacesAndNewlines))"}"#
            )
            #expect(login.status == 200 && login.json["role"] as? String == "street-officer", "\(login.body)")
            let issued = try #require(login.json["token"] as? String)
            #expect(
                try await http(.GET, system.url("reporting", "/v1/reports/requests/\(g1)"), headers: ["Cookie": "gridloop_token=\(issued)"]).status
                    == 200,
                "the cookie signs the browser in"
            )
            let refreshed = try await http(.POST, system.url("routing", "/v1/auth/refresh"), headers: ["Authorization": "Bearer \(issued)"])
            #expect(refreshed.status == 200 && (refreshed.json["token"] as? String)?.isEmpty == false)
            let wrong = try await http(.POST, system.url("routing", "/v1/auth/token"), body: #"{"staff":"xu-chunfeng","secret":"gl_guess_guess"}"#)
            #expect(wrong.status == 401 && wrong.json["code"] as? String == "unauthenticated")
            // The queues are shared with the other tests: leave them empty.
            for unit in ["grid:guanghua-3", "grid:hanjiaxu-1", "street:xiping", "district:power-supply"] {
                _ = try await drainAssignments(try UnitRef(parsing: unit).queueName)
            }
        }
    }

    /// One cell of the matrix.
    struct Cell: CustomStringConvertible {
        var who: String
        var what: String
        var transport: String
        var own: Bool
        var expectAllowed: Bool
        /// A specific refusal status (401 or 403); otherwise derived from `expectAllowed` and who asks.
        var expectedStatus: Int? = nil
        var status: Int
        var message: String

        var refusal: Int { expectedStatus ?? (who == "anonymous" ? 401 : 403) }
        var passes: Bool { expectAllowed ? ![401, 403].contains(status) && status < 500 : status == refusal }
        var expectation: String { expectAllowed ? "not 401/403" : "\(refusal)" }
        var description: String { "\(who) \(transport) \(what) \(own ? "own" : "other"): \(status) \(message)" }
    }

    /// A staff command over AMQP with reply-to, as the CLI sends it; the reply's code as an HTTP status.
    func amqpCommand(_ command: StaffCommand) async throws -> (status: Int, message: String?) {
        let envelope = MessageEnvelope(
            type: MessageType.staffCommand,
            requestId: command.requestId,
            correlationId: MessageID.make(),
            payload: command
        )
        let outgoing = try OutgoingMessage(envelope: envelope, exchange: GridLoopExchange.commands, routingKey: "staff.\(command.action.rawValue)")
        let body = try await AMQPSession.run(options: try TestEnvironment.amqpOptions(name: "gridloop-test-matrix")) { session in
            try session.call(outgoing).body
        }
        let reply = try WireJSON.decode(MessageEnvelope<CommandReply>.self, from: body).payload
        let status = reply.ok ? 200 : ["unauthenticated": 401, "forbidden": 403, "not_found": 404, "validation_failed": 400][reply.code ?? ""] ?? 409
        return (status, reply.message)
    }

    /// routing's version of a request.
    func routingVersion(_ id: String) async throws -> Int {
        try await withDatabase { client in
            try await client.query("SELECT version FROM routing.requests WHERE id = \(UUID(uuidString: id)!)").collect().first?.decode(Int.self) ?? -1
        }
    }

    /// The matrix as a table in the test logs (`access-matrix.md`).
    func writeMatrix(_ cells: [Cell]) throws {
        var text =
            "# Access matrix (\(cells.count) cells)\n\n| who | transport | what | scope | expected | got | message |\n|---|---|---|---|---|---|---|\n"
        for cell in cells {
            text +=
                "| \(cell.who) | \(cell.transport) | \(cell.what) | \(cell.own ? "own" : "other") | \(cell.expectation) | \(cell.status)\(cell.passes ? "" : " ✗") | \(cell.message.replacingOccurrences(of: "|", with: "/").prefix(120)) |\n"
        }
        try text.write(to: TestEnvironment.logDir.appendingPathComponent("access-matrix.md"), atomically: true, encoding: .utf8)
    }

    static func base64url(_ text: String) -> String { Base64URL.encode(Data(text.utf8)) }
}
