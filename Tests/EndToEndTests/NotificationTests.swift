import Foundation
import GridLoopDomain
import GridLoopTestSupport
import PostgresNIO
import Testing

/// What the transformer story must tell whom, as one incident: the grid worker 崔春花 (zh email)
/// of each of the four requests assigned before the incident formed, then of its escalation and
/// of its solution (check on site); the street's 徐春凤 (en email) and the power-supply duty
/// officer (zh email and SMS) once each; every resident that the report was received, the 19
/// linked residents that theirs is handled with the lead and, at the end, that it is solved —
/// 20 resolution notices; the lead's resident also of each step. The first resident in English,
/// by email too.
func expectTransformerStoryNotifications(_ system: GridLoopSystem, _ receiver: WebhookReceiver, ids: [String], lead: String) async throws {
    let linked = ids.filter { $0 != lead }
    let staffEmails = ["cui-chunhua@zhanyi.example": 6, "xu-chunfeng@zhanyi.example": 1, "power-duty@zhanyi.example": 1]
    let englishResident = ids[0] == lead ? 6 : 3
    let expectedEmails = staffEmails.values.reduce(0, +) + englishResident
    let expectedSMS = 20 + 19 + 5 + 19 + 1
    func ours(_ mail: MailSink.Mail) -> Bool { ids.contains(mail.request) }
    func oursSMS(_ sms: WebhookReceiver.Received) -> Bool { ids.contains { sms.body.contains($0) } }
    let arrived = await eventually(timeout: .seconds(60)) {
        system.mail.messages.filter(ours).count >= expectedEmails && receiver.sms.filter(oursSMS).count >= expectedSMS
    }
    try await Task.sleep(for: .seconds(1))  // nothing more may come
    let mails = system.mail.messages.filter(ours)
    let texts = receiver.sms.filter(oursSMS)
    #expect(arrived, "emails \(mails.count)/\(expectedEmails), SMS \(texts.count)/\(expectedSMS)")

    // Exactly once per id, and exactly the messages due.
    #expect(mails.count == expectedEmails && Set(mails.map(\.messageId)).count == mails.count, "\(mails.count) emails: \(mails.map(\.subject))")
    let smsIds = texts.compactMap(\.webhookId)
    #expect(smsIds.count == expectedSMS && Set(smsIds).count == smsIds.count, "\(smsIds.count) SMS, \(Set(smsIds).count) distinct")
    #expect(texts.allSatisfy { $0.signatureValid }, "every SMS gateway call is signed")
    // Stored sealed, sent opened: the gateway gets a real number, never a sealed or masked one.
    #expect(texts.allSatisfy { $0.body.range(of: #""to":"1[3-9][0-9]{9}""#, options: .regularExpression) != nil }, "\(texts.map(\.body))")

    // 20 resolution notices: the lead's resident, and each linked resident about their own report.
    let resolved = texts.filter { $0.body.contains("\"template\":\"resolved\"") }
    let resolvedLinked = texts.filter { $0.body.contains("\"template\":\"resolved-linked\"") }
    #expect(resolved.count == 1 && resolvedLinked.count == 19, "resolution notices: \(resolved.count) + \(resolvedLinked.count)")
    #expect(Set(linked).allSatisfy { id in resolvedLinked.contains { $0.webhookId?.contains(":reporter:\(id):") == true } }, "one per linked report")
    let linkedText = try #require(resolvedLinked.first { !$0.body.contains("resident-01") })
    #expect(
        linkedText.body.contains("已随同类诉求 \(lead.prefix(8)) 一并办结") || linkedText.body.contains("solved together with request \(lead.prefix(8))"),
        "\(linkedText.body)"
    )
    #expect(texts.filter { $0.body.contains("\"template\":\"merged\"") }.count == 19, "19 residents told their report is handled with the lead")
    #expect(texts.filter { $0.body.contains("\"template\":\"received\"") }.count == 20)
    #expect(texts.filter { $0.body.contains("13900000061") }.count == 1, "the duty officer's SMS")

    // Staff emails, in their language.
    for (address, count) in staffEmails {
        #expect(mails.filter { $0.to == [address] }.count == count, "\(address): \(mails.filter { $0.to == [address] }.map(\.subject))")
    }
    #expect(
        mails.filter { $0.to == ["xu-chunfeng@zhanyi.example"] }.allSatisfy {
            $0.subject.hasPrefix("[GridLoop] New request \(lead.prefix(8))") && $0.language == "en"
        }
    )
    let cui = mails.filter { $0.to == ["cui-chunhua@zhanyi.example"] }.map(\.subject)
    #expect(
        cui.filter { $0.contains("已派至光华社区第三居民小组") }.count == 4 && cui.contains { $0.contains("\(lead.prefix(8))") && $0.contains("已上报至西平街道") }
            && cui.contains { $0.contains("\(lead.prefix(8))") && $0.contains("请入户核查") },
        "\(cui)"
    )
    #expect(mails.first { $0.to == ["power-duty@zhanyi.example"] }.map { $0.subject.contains("吹哨报到：西平街道召集区供电部门") } == true)
    let resident = mails.filter { $0.to == ["resident-01@example.org"] }
    #expect(
        resident.count == englishResident && resident.allSatisfy { $0.language == "en" && $0.subject.hasPrefix("[GridLoop]") },
        "\(resident.map(\.subject))"
    )
    #expect(resident.contains { $0.subject.contains("施工方案已敲定，新变压器投运") }, "the English resident hears of the solution")
    #expect(texts.filter { $0.body.contains("\"language\":\"en\"") }.count == englishResident, "the English resident's SMS are in English")
}

extension EndToEndTests {
    @Test(
        "a receiver that fails half the time and answers some calls only after the timeout: every message arrives, nothing is sent again after a success"
    )
    func flakyReceiver() async throws {
        try await GridLoopSystem.with(environment: [
            "NOTIFICATION_RETRY_ATTEMPTS": "60", "NOTIFICATION_RETRY_INITIAL_MS": "50", "NOTIFICATION_RETRY_MAXIMUM_MS": "300",
        ]) { system, receiver in
            receiver.flaky = true
            var ids: [String] = []
            for _ in 0..<16 { ids.append(try await submit(system, location: #""gridId":"hanjiaxu-1""#)) }
            // Due: per request, the assignment on the integration webhook and the resident's "received" SMS.
            var due: [String] = []
            let settled = await eventually(timeout: .seconds(120), every: .milliseconds(500)) {
                guard let rows = try? await deliveries(of: ids), rows.count == ids.count * 2 else { return false }
                due = rows.map(\.id)
                return rows.allSatisfy { $0.status == "delivered" }
            }
            let statuses = try await deliveries(of: ids).map(\.status)
            #expect(settled, "deliveries: \(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count))")
            receiver.flaky = false

            let log = receiver.log.filter { due.contains($0.webhookId ?? "") }
            #expect(Set(log.compactMap(\.webhookId)) == Set(due), "unique ids received = messages due")
            #expect(log.allSatisfy { $0.signatureValid })
            var answered = Set<String>()
            var sentAfterSuccess: [String] = []
            for received in log {
                let id = received.webhookId ?? ""
                if answered.contains(id) { sentAfterSuccess.append(id) }
                if received.answer == .ok { answered.insert(id) }
            }
            #expect(sentAfterSuccess.isEmpty, "sent again after a success: \(sentAfterSuccess)")
            #expect(
                receiver.refused > 0 && log.contains { $0.answer == .late },
                "the faults happened: \(receiver.refused) refused, \(log.filter { $0.answer == .late }.count) late"
            )
        }
    }

    @Test(
        "digests gather a staff member's non-urgent messages into one; quiet hours hold them; urgent ones go at once; a permanent SMTP refusal fails without retries"
    )
    func digestsAndQuietHours() async throws {
        try await GridLoopSystem.with { system, _ in
            // Beijing's hour now: quiet from it for two hours.
            let hour = (Int(Date().timeIntervalSince1970) / 3600 + 8) % 24
            let quiet = String(format: "%02d:00-%02d:00", hour, (hour + 2) % 24)
            var org = try GridLoopSystem.demoOrg
            org = org.replacingOccurrences(
                of: #"{ id: zhu-guangping, name: 朱广平, role: grid-worker, unit: "grid:damaidi", workPhone: "0874-3012351" }"#,
                with:
                    #"{ id: zhu-guangping, name: 朱广平, role: grid-worker, unit: "grid:damaidi", email: zhu@zhanyi.example, digest: 5s, workPhone: "0874-3012351" }"#
            )
            org = org.replacingOccurrences(
                of: #"{ id: han-jiayi, name: 韩佳怡, role: grid-worker, unit: "grid:hanjiaxu-2", workPhone: "0874-3012342" }"#,
                with:
                    #"{ id: han-jiayi, name: 韩佳怡, role: grid-worker, unit: "grid:hanjiaxu-2", email: han@zhanyi.example, quietHours: "\#(quiet)", workPhone: "0874-3012342" }"#
            )
            org = org.replacingOccurrences(
                of: #"{ id: wu-xiaoli, name: 吴小莉, role: grid-worker, unit: "grid:hanjiaxu-1", workPhone: "0874-3012341" }"#,
                with:
                    #"{ id: wu-xiaoli, name: 吴小莉, role: grid-worker, unit: "grid:hanjiaxu-1", email: wu@bounce.invalid, workPhone: "0874-3012341" }"#
            )
            #expect(
                org.contains("zhu@zhanyi.example") && org.contains("han@zhanyi.example") && org.contains("wu@bounce.invalid"),
                "the demo org's lines changed: adapt the test"
            )
            try await system.importOrg(org)

            var digested: [String] = []
            for _ in 0..<3 {
                digested.append(
                    try await submit(system, json: submissionJSON(location: #""gridId":"damaidi""#, category: "housing", description: "院墙开裂"))
                )
            }
            let urgent = try await submit(system, json: submissionJSON(location: #""gridId":"damaidi""#, category: "water", description: "停水两天"))
            let held = try await submit(system, json: submissionJSON(location: #""gridId":"hanjiaxu-2""#, category: "housing", description: "楼道灯坏了"))
            let urgentInQuiet = try await submit(
                system,
                json: submissionJSON(location: #""gridId":"hanjiaxu-2""#, category: "water", description: "水管爆裂")
            )
            let bounced = try await submit(system, json: submissionJSON(location: #""gridId":"hanjiaxu-1""#, category: "housing", description: "x"))

            func to(_ address: String) -> [MailSink.Mail] { system.mail.messages.filter { $0.to == [address] } }
            #expect(
                await eventually(timeout: .seconds(30)) { to("zhu@zhanyi.example").count == 2 },
                "one urgent email and one digest: \(to("zhu@zhanyi.example").map(\.subject))"
            )
            try await Task.sleep(for: .seconds(1))
            let zhu = to("zhu@zhanyi.example")
            #expect(zhu.count == 2)
            let single = zhu.filter { $0.request == urgent }
            #expect(single.count == 1 && single.first?.subject.contains("供水") == true, "the urgent one went on its own")
            let digest = try #require(zhu.first { $0.delivery.hasPrefix("digest:") })
            #expect(digest.subject.contains("3 条新通知"), "\(digest.subject)")
            #expect(digested.allSatisfy { digest.body.contains(String($0.prefix(8))) }, "\(digest.body)")

            // Quiet hours: the urgent one arrives, the ordinary one waits (status pending, due when the quiet ends).
            #expect(await eventually { to("han@zhanyi.example").contains { $0.request == urgentInQuiet } })
            #expect(!to("han@zhanyi.example").contains { $0.request == held })
            let waiting = try await runCommand(["notifications", "for", held], environment: system.environment)
            #expect(
                waiting.status == 0 && waiting.stdout.contains("han@zhanyi.example") && waiting.stdout.contains("waiting until"),
                "\(waiting.stdout)"
            )

            // A 550 from the mail server is permanent: failed after one attempt, with the reason.
            #expect(
                await eventually {
                    let failed = try? await runCommand(["notifications", "failed"], environment: system.environment)
                    return failed?.stdout.split(separator: "\n").contains {
                        $0.contains(bounced) && $0.contains("1 attempts") && $0.contains("SMTP 550")
                    } ?? false
                }
            )
        }
    }
}

/// Deliveries (id, status) recorded for `requests` on the webhook and SMS channels.
func deliveries(of requests: [String]) async throws -> [(id: String, status: String)] {
    try await withDatabase { client in
        try await client.query(
            "SELECT id, status FROM notification.deliveries WHERE request_id = ANY(\(requests)) AND channel IN ('webhook', 'sms') ORDER BY id"
        ).collect().map { try $0.decode((String, String).self) }.map { (id: $0.0, status: $0.1) }
    }
}

extension EndToEndTests {
    @Test("email over STARTTLS to a server that requires it, its certificate trusted from a CA file; notification SIGKILLed mid-run loses no email")
    func startTLSEmailSurvivesAKill() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gridloop-tls-\(TestEnvironment.unique())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let openssl = try await runCommand(
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "2",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
            ],
            executable: "/usr/bin/openssl",
            environment: [:]
        )
        try #require(openssl.status == 0, "openssl: \(openssl.stderr)")
        let tlsSink = try await MailSink.start(port: 18026, starttls: (certificate, key))
        do {
            try await GridLoopSystem.with(environment: [
                "NOTIFICATION_SMTP_URL": "smtp+starttls://localhost:18026", "NOTIFICATION_SMTP_CA_FILE": certificate,
            ]) { system, _ in
                let notification = try #require(system.process("notification"))
                var ids: [String] = []
                for index in 0..<12 {
                    let json = submissionJSON(location: #""gridId":"xiping-merchants-1""#, category: "market", description: "商户占道经营")
                        .replacingOccurrences(
                            of: #""phone":"13800001234"}"#,
                            with: #""phone":"13800001234","email":"merchant-\#(index)@example.org"}"#
                        )
                    ids.append(try await submit(system, json: json))
                    if index == 4 { await notification.kill() }
                }
                try system.launch("notification")
                try await system.waitUntilHealthy("notification")
                let arrived = await eventually(timeout: .seconds(45)) { Set(tlsSink.messages.map(\.request)).isSuperset(of: ids) }
                let mails = tlsSink.messages.filter { ids.contains($0.request) }
                #expect(arrived, "emails for \(Set(mails.map(\.request)).count) of \(ids.count) requests")
                #expect(mails.allSatisfy { $0.tls }, "every email went over STARTTLS")
                #expect(Set(mails.map(\.messageId)).count == ids.count, "one message id per resident")
                #expect(mails.allSatisfy { $0.subject.hasPrefix("【GridLoop】") && $0.to.count == 1 && $0.to[0].hasPrefix("merchant-") })
                #expect(system.mail.messages.filter { ids.contains($0.request) }.isEmpty, "nothing went to the plain sink")
            }
        } catch {
            await tlsSink.stop()
            throw error
        }
        await tlsSink.stop()
    }
}
