import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopServiceSupport
import GridLoopTestSupport
import PostgresNIO
import Testing

/// Real processes of every service, a real RabbitMQ and PostgreSQL (started by
/// `deploy/local.sh test`), driven over HTTP, AMQP and the `gridloop` CLI.
/// Serialized: one test restarts the broker, and all share the services' ports.
@Suite("End to end", .serialized)
struct EndToEndTests {
    @Test("HTTP and CLI submissions reach the right grid's queue; take, resolve, report, webhook")
    func submitTakeResolveReport() async throws {
        try await GridLoopSystem.with { system, receiver in
            let resolvedBefore = try await resolvedCount(system)

            // HTTP submission, located by household → 光华三组.
            let id = try await submit(system, location: #""householdId":"guanghua-3-05""#)
            let take = try await system.cli("staff", "take", "--unit", "grid:guanghua-3", "--staff", "cui-chunhua", "--json", "--wait", "30")
            #expect(take.status == 0, "take failed: \(take.stderr)")
            let assignment = try WireJSON.decode(RequestAssigned.self, from: Array(take.stdout.utf8))
            #expect(assignment.requestId == id)
            #expect(assignment.unit.description == "grid:guanghua-3")
            #expect(assignment.reason == "grid of household guanghua-3-05")

            let resolve = try await system.cli("staff", "resolve", id, "--staff", "cui-chunhua", "--note", "供电部门已确定新建变压器施工方案")
            #expect(resolve.status == 0, "resolve failed: \(resolve.stderr)")
            #expect(resolve.stdout.contains("resolved"))

            let trail = await eventually {
                let status = try? await http(.GET, system.url("intake", "/v1/requests/\(id)"))
                let types = (status?.json["trail"] as? [[String: Any]])?.compactMap { $0["type"] as? String }
                return status?.json["state"] as? String == "resolved"
                    && types == ["request.received", "request.assigned", "request.claimed", "request.resolved"]
            }
            #expect(trail, "the status shows resolved with the whole trail")
            let status = try await http(.GET, system.url("intake", "/v1/requests/\(id)"))
            #expect((status.json["reporter"] as? [String: Any])?["phone"] as? String == "138****1234", "the phone is masked")

            #expect(await eventually { (try? await resolvedCount(system)) == resolvedBefore + 1 }, "the report counts it as resolved")
            #expect(
                await eventually { receiver.all.contains { $0.body.contains(id) && $0.webhookId != nil } },
                "the webhook receiver got the assignment"
            )
            let signed = receiver.all.filter { $0.body.contains(id) }.allSatisfy { $0.signatureValid }
            #expect(signed, "signed with the configured secret (Standard Webhooks)")

            // CLI submission, located by address → 红星三组.
            let cliSubmit = try await system.cli(
                "submit",
                "--category",
                "water",
                "--description",
                "停水三天",
                "--address",
                "西平街道红星社区三组2号",
                "--name",
                "李四",
                "--phone",
                "13900002222",
                "--channel",
                "hotline"
            )
            #expect(cliSubmit.status == 0, "CLI submit failed: \(cliSubmit.stderr)")
            let cliId = cliSubmit.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(UUID(uuidString: cliId) != nil, "the CLI prints the request id, got '\(cliSubmit.stdout)'")
            let second = try await system.cli("staff", "take", "--unit", "grid:hongxing-3", "--staff", "zhao-hongmei", "--json", "--wait", "30")
            #expect(second.status == 0, "take failed: \(second.stderr)")
            #expect(try WireJSON.decode(RequestAssigned.self, from: Array(second.stdout.utf8)).requestId == cliId)

            let statuses = await system.stop()
            #expect(statuses.count == 4 && statuses.values.allSatisfy { $0 == 0 }, "every service exits 0 on SIGTERM: \(statuses)")
        }
    }

    @Test("SIGKILL of routing while requests flow: every request assigned exactly once")
    func routingKilledMidFlow() async throws {
        try await GridLoopSystem.with { system, _ in
            let routing = try #require(system.process("routing"))
            let unit = try UnitRef(parsing: "grid:hanjiaxu-1")
            var ids: [String] = []
            for index in 0..<30 {
                ids.append(try await submit(system, location: #""gridId":"hanjiaxu-1""#))
                if index == 8 { await routing.kill() }  // mid-stream: some routed, some not yet
            }
            // One submitted while routing is certainly down sits in its queue.
            ids.append(try await submit(system, location: #""gridId":"hanjiaxu-1""#))
            try system.launch("routing")
            try await system.waitUntilHealthy("routing")

            let expected = Set(ids)
            let routed = await eventually(timeout: .seconds(30)) {
                (try? await assignmentCounts(for: ids))?.count == ids.count
            }
            #expect(routed, "every request was assigned after the restart")
            let counts = try await assignmentCounts(for: ids)
            #expect(counts.values.allSatisfy { $0 == 1 }, "no request has two assignments: \(counts.filter { $0.value != 1 })")

            // The queue holds them all; a republished copy may repeat an assignment's message,
            // never a second assignment of the same request.
            var seen: [String: Set<String>] = [:]
            let deadline = ContinuousClock.now + .seconds(20)
            while Set(seen.keys) != expected, ContinuousClock.now < deadline {
                for assignment in try await drainAssignments(unit.queueName) {
                    seen[assignment.requestId, default: []].insert(assignment.assignmentId)
                }
            }
            #expect(Set(seen.keys) == expected)
            #expect(seen.values.allSatisfy { $0.count == 1 })
        }
    }

    @Test("RabbitMQ stopped and started while services run: they reconnect and requests flow")
    func brokerRestart() async throws {
        try await GridLoopSystem.with { system, _ in
            let control = try TestEnvironment.brokerControl()
            let stop = try await runCommand(["broker-stop"], executable: control, environment: [:], timeout: .seconds(60))
            #expect(stop.status == 0, "broker-stop: \(stop.stderr)")
            #expect(await eventually { !(await isHealthy(system.url("routing", "/health"))) }, "health says not ready while the broker is down")

            // Intake keeps taking requests: they wait in its outbox.
            let duringOutage = try await submit(system, location: #""gridId":"hanjiaxu-2""#)

            let start = try await runCommand(["broker-start"], executable: control, environment: [:], timeout: .seconds(120))
            #expect(start.status == 0, "broker-start: \(start.stderr)")
            for service in GridLoopSystem.ports.keys.sorted() { try await system.waitUntilHealthy(service) }

            let afterRestart = try await submit(system, location: #""gridId":"hanjiaxu-2""#)
            var found: Set<String> = []
            let deadline = ContinuousClock.now + .seconds(30)
            while !found.isSuperset(of: [duringOutage, afterRestart]), ContinuousClock.now < deadline {
                let take = try await system.cli("staff", "take", "--unit", "grid:hanjiaxu-2", "--staff", "han-jiayi", "--json", "--wait", "10")
                if take.status == 0 { found.insert(try WireJSON.decode(RequestAssigned.self, from: Array(take.stdout.utf8)).requestId) }
            }
            #expect(found.contains(duringOutage), "the request accepted during the outage was assigned")
            #expect(found.contains(afterRestart), "a request after the restart was assigned")
        }
    }

    @Test("missing fields: problem+json over HTTP, a dead letter with its reason over AMQP, nothing else affected")
    func invalidSubmissions() async throws {
        try await GridLoopSystem.with { system, _ in
            let missing = try await http(.POST, system.url("intake", "/v1/requests"), body: #"{"category":"power","location":{"gridId":"damaidi"}}"#)
            #expect(missing.status == 400)
            #expect(missing.contentType == "application/problem+json")
            #expect(missing.json["code"] as? String == "validation_failed")
            let fields = Set((missing.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String })
            #expect(fields == ["description", "reporter.name", "reporter.phone", "channel"])

            let malformed = try await http(.POST, system.url("intake", "/v1/requests"), body: "{\"category\": ")
            #expect(malformed.status == 400)
            #expect(malformed.json["code"] as? String == "invalid_json")
            let unknown = try await http(.GET, system.url("intake", "/v1/requests/00000000-0000-0000-0000-000000000000"))
            #expect(unknown.status == 404)
            #expect(unknown.contentType == "application/problem+json")

            // Over the CLI: a clear message and a non-zero exit.
            let cli = try await system.cli("submit", "--category", "power", "--grid", "damaidi")
            #expect(cli.status != 0)
            #expect(cli.stderr.contains("validation_failed") && cli.stderr.contains("description: is required"), "stderr: \(cli.stderr)")

            // Over AMQP directly: the message ends in intake.submissions.dead with its reason.
            let messageId = MessageID.make()
            let envelope = MessageEnvelope(
                messageId: messageId,
                type: MessageType.submissionCreate,
                requestId: nil,
                correlationId: messageId,
                payload: SubmissionPayload(idempotencyKey: messageId, submission: SubmissionDraft(category: "power"))
            )
            let message = try OutgoingMessage(envelope: envelope, exchange: GridLoopExchange.submissions, routingKey: MessageType.submissionCreate)
            let outcome = try await AMQPSession.run(options: try TestEnvironment.amqpOptions()) { try $0.publish(message) }
            #expect(outcome == .confirmed)
            let deadQueue = GridLoopQueue.dead(GridLoopQueue.intakeSubmissions)
            var reason: String?
            _ = await eventually {
                reason = try? await AMQPSession.run(options: try TestEnvironment.amqpOptions()) { session -> String? in
                    var found: String?
                    var others: [IncomingMessage] = []
                    while found == nil, let dead = try session.take(queue: deadQueue, wait: .milliseconds(300)) {
                        if dead.messageId == messageId {
                            found = dead.headers["x-gridloop-reason"]
                            try session.settle(dead, .ack)
                        } else {
                            others.append(dead)
                        }
                    }
                    for other in others { try session.settle(other, .reject(requeue: true)) }
                    return found
                }
                return reason != nil
            }
            #expect(reason?.contains("description: is required") == true, "dead letter reason: \(reason ?? "none")")

            // Nothing else is affected: a valid request flows right after.
            let id = try await submit(system, location: #""gridId":"damaidi""#)
            let take = try await system.cli("staff", "take", "--unit", "grid:damaidi", "--staff", "zhu-guangping", "--json", "--wait", "30")
            #expect(take.status == 0, "take failed: \(take.stderr)")
            #expect(try WireJSON.decode(RequestAssigned.self, from: Array(take.stdout.utf8)).requestId == id)
        }
    }

    @Test(
        "deliveries taken together: 40 AMQP submissions waiting for intake, 3 of them invalid — one transaction fails, each is then handled alone: 37 requests made once and assigned, the 3 dead-lettered with their reasons"
    )
    func batchWithPoison() async throws {
        try await GridLoopSystem.with { system, _ in
            // Intake stopped: the submissions wait in its queue and reach it together when it is back.
            let intake = try #require(system.process("intake"))
            #expect(await intake.stop() == 0)
            let run = String(UUID().uuidString.prefix(8)).lowercased()
            let invalid: Set<Int> = [5, 17, 33]
            var messages: [(key: String, message: OutgoingMessage)] = []
            for index in 0..<40 {
                let key = "batch-\(run)-\(index)"
                let draft =
                    invalid.contains(index)
                    ? SubmissionDraft(category: "power")
                    : SubmissionDraft(
                        category: "power",
                        description: key,
                        location: Location(gridId: "damaidi"),
                        reporter: .init(name: "批量居民", phone: "1370000\(String(format: "%04d", index))"),
                        channel: "cli"
                    )
                let envelope = MessageEnvelope(
                    messageId: key,
                    type: MessageType.submissionCreate,
                    requestId: nil,
                    correlationId: key,
                    payload: SubmissionPayload(idempotencyKey: key, submission: draft)
                )
                messages.append(
                    (key, try OutgoingMessage(envelope: envelope, exchange: GridLoopExchange.submissions, routingKey: MessageType.submissionCreate))
                )
            }
            let outgoing = messages.map(\.message)
            let outcomes = try await AMQPSession.run(options: try TestEnvironment.amqpOptions()) { session in
                try outgoing.map { try session.publish($0) }
            }
            #expect(outcomes.allSatisfy { $0 == .confirmed })
            try system.launch("intake")
            try await system.waitUntilHealthy("intake")

            // The valid ones: each a request once, each assigned to 大麦地's queue once.
            let valid = messages.enumerated().filter { !invalid.contains($0.offset) }.map(\.element.key)
            let counted = await eventually(timeout: .seconds(60)) {
                let rows = try? await withDatabase { client in
                    try await client.query("SELECT count(*) FROM intake.requests WHERE idempotency_key LIKE \("batch-\(run)-%")")
                        .collect().first?.decode(Int.self)
                }
                return rows == valid.count
            }
            #expect(counted, "every valid submission made one request")
            var assigned: (Int, Int)?
            let allAssigned = await eventually(timeout: .seconds(60)) {
                assigned = try? await withDatabase { client in
                    try await client.query(
                        """
                        SELECT count(*), count(DISTINCT r.id) FROM routing.requests r JOIN routing.assignments a ON a.request_id = r.id
                        WHERE r.description LIKE \("batch-\(run)-%")
                        """
                    ).collect().first?.decode((Int, Int).self)
                }
                return assigned.map { $0.1 == valid.count } ?? false
            }
            #expect(allAssigned, "every request assigned: \(String(describing: assigned))")
            // Written once as placed and assigned: the owner columns the inbox reads match the assignment and its timers.
            let mismatched = try await withDatabase { client in
                try await client.query(
                    """
                    SELECT count(*) FROM routing.requests r JOIN routing.assignments a ON a.request_id = r.id
                    WHERE r.description LIKE \("batch-\(run)-%") AND (r.owner_assignment_id IS DISTINCT FROM a.id
                        OR r.owner_assigned_at IS DISTINCT FROM a.assigned_at
                        OR r.claim_due IS DISTINCT FROM (SELECT due_at FROM routing.timers t WHERE t.assignment_id = a.id AND t.kind = 'claim')
                        OR r.claim_warning IS DISTINCT FROM (SELECT due_at FROM routing.timers t WHERE t.assignment_id = a.id AND t.kind = 'claim-warning'))
                    """
                ).collect().first?.decode(Int.self)
            }
            #expect(mismatched == 0, "owner columns as the triggers keep them")
            #expect(assigned.map { $0 == (valid.count, valid.count) } == true, "each assigned once: \(String(describing: assigned))")

            // The invalid ones: dead-lettered, each with its reason; the log says the batch went one at a time.
            let deadQueue = GridLoopQueue.dead(GridLoopQueue.intakeSubmissions)
            let wanted = Set(invalid.map { "batch-\(run)-\($0)" })
            var reasons: [String: String] = [:]
            _ = await eventually(timeout: .seconds(30)) {
                let found = try? await AMQPSession.run(options: try TestEnvironment.amqpOptions()) { session -> [String: String] in
                    var found: [String: String] = [:]
                    var others: [IncomingMessage] = []
                    while let dead = try session.take(queue: deadQueue, wait: .milliseconds(300)) {
                        if let id = dead.messageId, wanted.contains(id) {
                            found[id] = dead.headers["x-gridloop-reason"] ?? ""
                            try session.settle(dead, .ack)
                        } else {
                            others.append(dead)
                        }
                    }
                    for other in others { try session.settle(other, .reject(requeue: true)) }
                    return found
                }
                reasons.merge(found ?? [:]) { first, _ in first }
                return reasons.count == wanted.count
            }
            #expect(Set(reasons.keys) == wanted, "the three invalid submissions dead-lettered: \(reasons)")
            #expect(reasons.values.allSatisfy { $0.contains("description: is required") }, "\(reasons)")
            let log = (try? String(contentsOf: try #require(system.process("intake")).logFile, encoding: .utf8)) ?? ""
            #expect(log.contains("deliveries taken together failed"), "the batch was rolled back and its deliveries handled one at a time")
        }
    }

    @Test("escalation grid → street → district reaches each unit's queue; the trail verifies and an edit is caught")
    func escalationAndAudit() async throws {
        try await GridLoopSystem.with { system, receiver in
            let id = try await submit(system, location: #""householdId":"guanghua-3-07""#)
            func take(_ unit: String, _ staff: String) async throws -> RequestAssigned {
                let take = try await system.cli("staff", "take", "--unit", unit, "--staff", staff, "--json", "--wait", "30")
                guard take.status == 0 else { throw SystemError("take \(unit) failed: \(take.stderr)") }
                return try WireJSON.decode(RequestAssigned.self, from: Array(take.stdout.utf8))
            }
            #expect(try await take("grid:guanghua-3", "cui-chunhua").requestId == id)

            let noReason = try await system.cli("staff", "escalate", id, "--staff", "cui-chunhua", "--reason", " ")
            #expect(noReason.status != 0 && noReason.stderr.contains("validation_failed"), "stderr: \(noReason.stderr)")
            let notMine = try await system.cli("staff", "escalate", id, "--staff", "wu-xiaoli", "--reason", "x")
            #expect(notMine.status != 0 && notMine.stderr.contains("forbidden"), "stderr: \(notMine.stderr)")

            let toStreet = try await system.cli(
                "staff",
                "escalate",
                id,
                "--staff",
                "cui-chunhua",
                "--unit",
                "grid:guanghua-3",
                "--reason",
                "变压器负载不过来，网格解决不了"
            )
            #expect(toStreet.status == 0 && toStreet.stdout.contains("street:xiping"), "\(toStreet.stdout) \(toStreet.stderr)")
            let atStreet = try await take("street:xiping", "xu-chunfeng")
            #expect(atStreet.requestId == id)
            #expect(atStreet.reason.hasPrefix("escalated from grid:guanghua-3 by cui-chunhua"))

            let toDistrict = try await system.cli("staff", "escalate", id, "--staff", "xu-chunfeng", "--reason", "需供电部门新建变压器")
            #expect(toDistrict.status == 0 && toDistrict.stdout.contains("district:power-supply"), "\(toDistrict.stdout) \(toDistrict.stderr)")
            #expect(try await take("district:power-supply", "power-officer-1").requestId == id)

            let beyond = try await system.cli("staff", "escalate", id, "--staff", "power-officer-1", "--reason", "too hard")
            #expect(beyond.status != 0 && beyond.stderr.contains("cannot be escalated further"), "stderr: \(beyond.stderr)")
            let resolve = try await system.cli("staff", "resolve", id, "--staff", "power-officer-1", "--note", "新变压器施工方案已敲定")
            #expect(resolve.status == 0, "resolve: \(resolve.stderr)")

            let expected = [
                "request.received", "request.assigned", "request.claimed", "request.escalated", "request.claimed",
                "request.escalated", "request.claimed", "request.resolved",
            ]
            let settled = await eventually {
                let status = try? await http(.GET, system.url("intake", "/v1/requests/\(id)"))
                let types = (status?.json["trail"] as? [[String: Any]])?.compactMap { $0["type"] as? String }
                return types == expected && status?.json["trailVerified"] as? Bool == true
                    && status?.json["unit"] as? String == "district:power-supply"
            }
            #expect(settled, "the status shows the whole escalation on a verified trail")
            #expect(
                await eventually { receiver.all.filter { $0.body.contains(id) }.count == 3 },
                "a webhook for the first assignment and each escalation"
            )

            let audit = try await system.cli("audit", "verify", "--request", id)
            #expect(audit.status == 0 && audit.stdout.contains("trail verified: 1 requests, 8 events"), "\(audit.stdout) \(audit.stderr)")
            let everything = try await system.cli("audit", "verify")
            #expect(
                everything.status == 0 && everything.stdout.contains("every chain intact"),
                "every request's trail: \(everything.stdout) \(everything.stderr)"
            )
            // intake exports the chain heads on its schedule; the audit checks them too.
            let heads = try #require(system.environment["INTAKE_CHAIN_HEAD_DIR"])
            #expect(
                await eventually {
                    let files = (try? FileManager.default.contentsOfDirectory(atPath: heads)) ?? []
                    return files.contains { name in
                        name.hasSuffix(".jsonl")
                            && ((try? String(contentsOfFile: "\(heads)/\(name)", encoding: .utf8)) ?? "").contains(#""requestId":"\#(id)","seq":8"#)
                    }
                },
                "a chain-head export holds the request's last link"
            )
            let withHeads = try await system.cli("audit", "verify", "--request", id, "--heads", heads)
            #expect(withHeads.status == 0 && withHeads.stdout.contains("chain heads verified"), "\(withHeads.stdout) \(withHeads.stderr)")

            // The trail is append-only; and an edit made by switching that off is caught.
            let uuid = try #require(UUID(uuidString: id))
            // The services' own login may not rewrite either trail, nor switch its guard off:
            // PostgreSQL refuses each statement for want of the privilege.
            for statement: PostgresQuery in [
                "UPDATE intake.trail SET detail = 'nothing happened' WHERE request_id = \(uuid) AND seq = 4",
                "DELETE FROM intake.trail WHERE request_id = \(uuid)",
                "TRUNCATE intake.trail",
                "ALTER TABLE intake.trail DISABLE TRIGGER trail_append_only",
                "UPDATE reporting.events SET body = '{}' WHERE request_id = \(id)",
                "DELETE FROM reporting.events WHERE request_id = \(id)",
            ] {
                let refusal = await #expect(throws: PSQLError.self, "as the service role: \(statement.sql)") {
                    try await withDatabase(asService: true) { client in try await client.query(statement) }
                }
                let message = refusal?.serverInfo?[.message] ?? ""
                #expect(message.contains("permission denied") || message.contains("must be owner"), "\(statement.sql): \(message)")
            }
            let readable = try await withDatabase(asService: true) { client in
                try await client.query("SELECT count(*) FROM intake.trail WHERE request_id = \(uuid)").collect().first?.decode(Int.self)
            }
            #expect(readable == 8, "the service role reads the trail")
            await #expect(throws: (any Error).self) {
                try await withDatabase { client in
                    try await client.query("UPDATE intake.trail SET detail = 'nothing happened' WHERE request_id = \(uuid) AND seq = 4")
                }
            }
            try await withDatabase { client in
                try await client.withTransaction(logger: TestEnvironment.logger) { connection in
                    let logger = TestEnvironment.logger
                    try await connection.query("ALTER TABLE intake.trail DISABLE TRIGGER trail_append_only", logger: logger)
                    try await connection.query(
                        "UPDATE intake.trail SET detail = 'nothing happened' WHERE request_id = \(uuid) AND seq = 4",
                        logger: logger
                    )
                    try await connection.query("ALTER TABLE intake.trail ENABLE TRIGGER trail_append_only", logger: logger)
                }
            }
            let tampered = try await system.cli("audit", "verify", "--request", id)
            #expect(tampered.status != 0)
            #expect(tampered.stderr.contains("link 4") && tampered.stderr.contains("altered"), "stderr: \(tampered.stderr)")
            let status = try await http(.GET, system.url("intake", "/v1/requests/\(id)"))
            #expect(status.json["trailVerified"] as? Bool == false)

            // A thorough forger recomputes every hash after the edit: the chain verifies again,
            // but the exported head of link 8 is no longer in the trail.
            try await withDatabase { client in
                try await client.withTransaction(logger: TestEnvironment.logger) { connection in
                    let logger = TestEnvironment.logger
                    try await connection.query("ALTER TABLE intake.trail DISABLE TRIGGER trail_append_only", logger: logger)
                    let rows = try await connection.query(
                        """
                        SELECT request_id, seq, event_id, event_type, version, state, unit, actor, detail, occurred_at, prev_hash, hash
                        FROM intake.trail WHERE request_id = \(uuid) ORDER BY seq
                        """,
                        logger: logger
                    ).collect()
                    var previous: TrailLink?
                    for row in rows {
                        let (request, seq, event, type, version, state, unit, actor, detail, at, before, hash) = try row.decode(
                            (UUID, Int, String, String, Int, String, String?, String?, String?, Date, String, String).self
                        )
                        let entry = TrailEntry(
                            requestId: request.uuidString.lowercased(),
                            seq: seq,
                            eventId: event,
                            eventType: type,
                            version: version,
                            state: state,
                            unit: unit,
                            actor: actor,
                            detail: detail,
                            occurredAt: at
                        )
                        guard seq >= 4 else {
                            previous = TrailLink(entry: entry, previousHash: before, hash: hash)
                            continue
                        }
                        let forged = TrailChain.link(entry, after: previous)
                        try await connection.query(
                            "UPDATE intake.trail SET prev_hash = \(forged.previousHash), hash = \(forged.hash) WHERE request_id = \(uuid) AND seq = \(seq)",
                            logger: logger
                        )
                        previous = forged
                    }
                    try await connection.query("ALTER TABLE intake.trail ENABLE TRIGGER trail_append_only", logger: logger)
                }
            }
            let forged = try await system.cli("audit", "verify", "--request", id)
            #expect(forged.status == 0, "the recomputed chain verifies on its own: \(forged.stderr)")
            let caught = try await system.cli("audit", "verify", "--request", id, "--heads", heads)
            #expect(
                caught.status != 0 && caught.stderr.contains("link 8") && caught.stderr.contains("rewritten"),
                "\(caught.stdout) \(caught.stderr)"
            )
        }
    }

    @Test("Routing keeps the org's SLA in memory per org version: a new import's deadlines apply to the next request at once")
    func slaFollowsOrgImport() async throws {
        try await GridLoopSystem.with { system, _ in
            // The claim deadline of a power request (urgent: on the wall clock) as the grid receives it.
            func claimWindow(_ description: String) async throws -> TimeInterval? {
                let id = try await submit(
                    system,
                    json: submissionJSON(location: #""gridId":"xiping-merchants-1""#, category: "power", description: description)
                )
                for _ in 0..<20 {
                    let take = try await system.cli(
                        "staff",
                        "take",
                        "--unit",
                        "grid:xiping-merchants-1",
                        "--staff",
                        "li-shangxin",
                        "--json",
                        "--wait",
                        "5"
                    )
                    guard take.status == 0 else { return nil }
                    let assigned = try WireJSON.decode(RequestAssigned.self, from: Array(take.stdout.utf8))
                    if assigned.requestId == id { return assigned.claimDueAt.map { $0.timeIntervalSinceNow } }
                }
                return nil
            }
            let before = try await claimWindow("停电（导入前）")
            #expect(before.map { abs($0 - 2 * 3600) < 120 } == true, "the demo org's power claim deadline, 2 h: \(String(describing: before))")
            try await system.importOrg(
                try GridLoopSystem.demoOrg.replacingOccurrences(of: "power: { claim: 2h, resolve: 24h }", with: "power: { claim: 5h, resolve: 24h }")
            )
            let after = try await claimWindow("停电（导入后）")
            #expect(after.map { abs($0 - 5 * 3600) < 120 } == true, "the imported deadline, 5 h, at once: \(String(describing: after))")
        }
    }

    @Test(
        "SLA with short timers and two routing replicas: unclaimed work climbs tier by tier once, the district alerts and stays open, a request resolved in time is left alone"
    )
    func slaTimers() async throws {
        try await GridLoopSystem.with { system, _ in
            // Short deadlines, on the wall clock (so the test runs at night too).
            try await system.importOrg(
                try GridLoopSystem.demoOrg
                    .replacingOccurrences(of: "urgent: [", with: "urgent: [market, food-safety, ")
                    .replacingOccurrences(
                        of: "sla:\n",
                        with: "sla:\n  market: { claim: 2s, resolve: 3s }\n  food-safety: { claim: 6s, resolve: 6s }\n"
                    )
            )
            do {
                try await system.launchReplica("routing", port: 18084)

                // Claimed and resolved before its deadline: nothing fires.
                let handled = try await submit(
                    system,
                    json: submissionJSON(location: #""gridId":"xiping-merchants-1""#, category: "food-safety", description: "过期食品")
                )
                var taken: Set<String> = []
                while !taken.contains(handled) {
                    let take = try await system.cli(
                        "staff",
                        "take",
                        "--unit",
                        "grid:xiping-merchants-1",
                        "--staff",
                        "li-shangxin",
                        "--json",
                        "--wait",
                        "5"
                    )
                    guard take.status == 0 else { break }
                    taken.insert(try WireJSON.decode(RequestAssigned.self, from: Array(take.stdout.utf8)).requestId)
                }
                #expect(taken.contains(handled), "the grid worker took the food-safety request")
                // Never claimed: grid → street → district by the sweeper, then the supervisors are alerted.
                let ignored = try await submit(
                    system,
                    json: submissionJSON(location: #""gridId":"xiping-merchants-1""#, category: "market", description: "菜市场缺斤短两")
                )
                let resolve = try await system.cli("staff", "resolve", handled, "--staff", "li-shangxin", "--note", "已下架")
                #expect(resolve.status == 0, "resolve: \(resolve.stderr)")

                let climbed = await eventually(timeout: .seconds(30)) {
                    let types = try? await trailTypes(system, ignored)
                    return types?.last == "request.overdue"
                }
                #expect(climbed, "the ignored request climbed to the district and raised an overdue alert")
                let status = try await http(.GET, system.url("intake", "/v1/requests/\(ignored)"))
                #expect(
                    status.json["state"] as? String == "assigned" && status.json["unit"] as? String == "district:market-regulation",
                    "it stays open at the district"
                )
                let ignoredTrail = try await trailTypes(system, ignored)
                #expect(ignoredTrail.filter { $0 == "request.escalated" }.count == 2, "\(ignoredTrail)")
                #expect(ignoredTrail.filter { $0 == "request.overdue" }.count == 1, "\(ignoredTrail)")
                #expect(ignoredTrail.filter { $0 == "request.deadline.warning" }.count == 3, "a warning at 80% before each breach: \(ignoredTrail)")

                try await Task.sleep(for: .seconds(5))  // past the handled request's deadlines
                #expect(try await trailTypes(system, handled) == ["request.received", "request.assigned", "request.claimed", "request.resolved"])
                let afterwards = try await trailTypes(system, ignored)
                #expect(afterwards == ignoredTrail, "nothing fires twice: \(afterwards)")

                // With two sweepers, each timer fired exactly once.
                let counts = try await withDatabase { client -> (Int64, Int64, Int64) in
                    let ids = [try #require(UUID(uuidString: ignored)), try #require(UUID(uuidString: handled))]
                    let row = try await client.query(
                        """
                        SELECT count(*) FILTER (WHERE fired_at IS NOT NULL AND request_id = \(ids[0]) AND kind = 'claim'),
                               count(*) FILTER (WHERE fired_at IS NOT NULL AND request_id = \(ids[1])),
                               (SELECT count(*) FROM routing.assignments WHERE request_id = \(ids[0]))
                        FROM routing.timers
                        """
                    ).collect()
                    return try row[0].decode((Int64, Int64, Int64).self)
                }
                #expect(counts.0 == 3, "three claim timers fired for the ignored request (grid, street, district)")
                #expect(counts.1 == 0, "no timer fired for the request resolved in time")
                #expect(counts.2 == 3, "one assignment per tier")
            } catch {
                try await system.importOrg(try GridLoopSystem.demoOrg)
                throw error
            }
            try await system.importOrg(try GridLoopSystem.demoOrg)
        }
    }

    @Test(
        "not ours goes to arbitration; unsatisfied feedback reopens at the resolving tier, then one up; satisfied closes; stale and forbidden commands change nothing"
    )
    func arbitrationAndFeedback() async throws {
        try await GridLoopSystem.with { system, _ in
            let id = try await submit(system, location: #""householdId":"hongxing-3-03""#)
            func command(_ arguments: String...) async throws -> CommandResult { try await system.cli(arguments) }
            _ = try await takeUntil(system, unit: "grid:hongxing-3", staff: "zhao-hongmei", requestId: id)

            let returned = try await command("staff", "return", id, "--staff", "zhao-hongmei", "--reason", "该户用电归光华三组变压器，不归本网格")
            #expect(returned.status == 0 && returned.stdout.contains("returned to street:xiping"), "\(returned.stdout) \(returned.stderr)")
            let atStreet = try await takeUntil(system, unit: "street:xiping", staff: "xu-chunfeng", requestId: id)
            #expect(atStreet.reason.hasPrefix("returned by grid:hongxing-3"))
            let streetReturn = try await command("staff", "return", id, "--staff", "xu-chunfeng", "--reason", "x")
            #expect(streetReturn.status != 0 && streetReturn.stderr.contains("arbitrated"), "\(streetReturn.stderr)")
            #expect(try await command("staff", "resolve", id, "--staff", "xu-chunfeng", "--note", "已协调").status == 0)

            let first = try await command("staff", "feedback", id, "--staff", "zhao-hongmei", "--satisfaction", "unsatisfied", "--note", "入户核查：仍然停电")
            #expect(first.status == 0 && first.stdout.contains("reopened at street:xiping"), "\(first.stdout) \(first.stderr)")
            _ = try await takeUntil(system, unit: "street:xiping", staff: "xu-chunfeng", requestId: id)
            #expect(try await command("staff", "resolve", id, "--staff", "xu-chunfeng", "--note", "再次协调").status == 0)
            let second = try await command("staff", "feedback", id, "--staff", "zhao-hongmei", "--satisfaction", "unsatisfied")
            #expect(second.status == 0 && second.stdout.contains("reopened at district:power-supply"), "\(second.stdout) \(second.stderr)")

            _ = try await takeUntil(system, unit: "district:power-supply", staff: "power-officer-1", requestId: id)
            let notTheClaimer = try await command("staff", "resolve", id, "--staff", "xu-chunfeng", "--note", "x")
            #expect(notTheClaimer.status != 0 && notTheClaimer.stderr.contains("forbidden"), "\(notTheClaimer.stderr)")
            // Two racing resolves: exactly one wins.
            async let racerA = system.cli("staff", "resolve", id, "--staff", "power-officer-1", "--note", "新建变压器已投运")
            async let racerB = system.cli("staff", "resolve", id, "--staff", "power-officer-1", "--note", "新建变压器已投运")
            let racers = try await [racerA, racerB]
            #expect(racers.filter { $0.status == 0 }.count == 1, "\(racers.map(\.stderr))")
            #expect(racers.contains { $0.stderr.contains("conflict") })

            let closed = try await command("staff", "feedback", id, "--staff", "zhao-hongmei", "--satisfaction", "satisfied", "--note", "入户核查：用电正常")
            #expect(closed.status == 0 && closed.stdout.contains("closed"), "\(closed.stdout) \(closed.stderr)")
            let stranger = try await command("staff", "feedback", id, "--staff", "cui-chunhua", "--satisfaction", "satisfied")
            #expect(stranger.status != 0 && stranger.stderr.contains("forbidden"), "another grid's worker records no feedback: \(stranger.stderr)")
            let again = try await command("staff", "feedback", id, "--staff", "zhao-hongmei", "--satisfaction", "unsatisfied")
            #expect(again.status != 0 && again.stderr.contains("conflict"), "\(again.stderr)")

            let expected = [
                "request.received", "request.assigned", "request.claimed", "request.returned", "request.claimed", "request.resolved",
                "request.reopened", "request.claimed", "request.resolved", "request.reopened", "request.claimed", "request.resolved",
                "request.closed",
            ]
            let settled = await eventually { (try? await trailTypes(system, id)) == expected }
            let trail = try await trailTypes(system, id)
            #expect(settled, "\(trail)")
            let status = try await http(.GET, system.url("intake", "/v1/requests/\(id)"))
            #expect(status.json["state"] as? String == "closed" && status.json["trailVerified"] as? Bool == true)
            let audit = try await command("audit", "verify", "--request", id)
            #expect(audit.status == 0, "audit verify: \(audit.stdout) \(audit.stderr)")
        }
    }

    @Test(
        "the seed's transformer story: all 20 households of 光华三组 report one power problem — one incident, escalated once, the street summons power supply, done, checked on site, closed; 20 resolution notices; every trail verified"
    )
    func transformerStory() async throws {
        try await GridLoopSystem.with(environment: ["ROUTING_INCIDENT_THRESHOLD": "5"]) { system, receiver in
            func command(_ arguments: String...) async throws -> CommandResult { try await system.cli(arguments) }
            // 崔春花 visits all 20 households: electric cookers cannot cook; others pay 0.48 a kWh, this group 1.10.
            var ids: [String] = []
            for household in 1...20 {
                let complaint = household.isMultiple(of: 2) ? "别的居民小组四毛八一度电，我们组一块一" : "电磁炉炒不了菜，电饭煲煮不了饭"
                var json = submissionJSON(location: "\"householdId\":\"guanghua-3-\(String(format: "%02d", household))\"", description: complaint)
                // The first resident reads English and gave an email address as well.
                if household == 1 {
                    json = json.replacingOccurrences(
                        of: #""phone":"13800001234"}"#,
                        with: #""phone":"13800001234","email":"resident-01@example.org","language":"en"}"#
                    )
                }
                ids.append(try await submit(system, json: json))
            }
            // Five reports of one category in one grid within two hours: one incident, led by the oldest.
            let all = ids
            let states = try await eventuallyValue(timeout: .seconds(30)) { () -> [String: (String, UUID?)]? in
                let rows = try await withDatabase { client in
                    try await client.query(
                        "SELECT id, state, incident_id FROM routing.requests WHERE id = ANY(\(all.compactMap(UUID.init(uuidString:))))"
                    )
                    .collect().map { try $0.decode((UUID, String, UUID?).self) }
                }
                guard rows.count == 20, rows.allSatisfy({ $0.2 != nil }), rows.filter({ $0.1 != "merged" }).count == 1 else { return nil }
                return Dictionary(uniqueKeysWithValues: rows.map { ($0.0.uuidString.lowercased(), ($0.1, $0.2)) })
            }
            let incident = try #require(states, "one incident links the 20 requests")
            #expect(Set(incident.values.compactMap(\.1)).count == 1, "one incident")
            let lead = try #require(incident.first { $0.value.0 != "merged" }?.key)
            let linked = ids.filter { $0 != lead }

            func takeLead(_ unit: String, _ staff: String) async throws -> RequestAssigned {
                while true {  // copies of reports linked after they were assigned are skipped
                    let take = try await command("staff", "take", "--unit", unit, "--staff", staff, "--json", "--wait", "20")
                    guard take.status == 0 else { throw SystemError("take \(unit): \(take.stderr)") }
                    let assignment = try WireJSON.decode(RequestAssigned.self, from: Array(take.stdout.utf8))
                    if assignment.requestId == lead { return assignment }
                }
            }
            _ = try await takeLead("grid:guanghua-3", "cui-chunhua")
            let up = try await command("staff", "escalate", lead, "--staff", "cui-chunhua", "--reason", "与红星三组共用原水泥厂变压器，负载不过来，网格解决不了")
            #expect(up.status == 0, "escalate: \(up.stderr)")
            _ = try await takeLead("street:xiping", "xu-chunfeng")
            let whistle = try await command("staff", "summon", lead, "--staff", "xu-chunfeng", "--department", "power-supply", "--note", "商量重新建个变压器")
            #expect(whistle.status == 0 && whistle.stdout.contains("district:power-supply"), "summon: \(whistle.stdout) \(whistle.stderr)")
            let summons = try await takeLead("district:power-supply", "power-officer-1")
            #expect(summons.reason.hasPrefix("summoned by street:xiping"))
            let streetTooSoon = try await command("staff", "resolve", lead, "--staff", "xu-chunfeng", "--note", "x")
            #expect(
                streetTooSoon.status != 0 && streetTooSoon.stderr.contains("summoned departments have not reported done"),
                "\(streetTooSoon.stderr)"
            )
            let done = try await command("staff", "resolve", lead, "--staff", "power-officer-1", "--note", "施工方案已敲定，新变压器投运")
            #expect(done.status == 0 && done.stdout.contains("every summoned department is done"), "resolve: \(done.stdout) \(done.stderr)")
            let check = try await command("staff", "feedback", lead, "--staff", "cui-chunhua", "--satisfaction", "satisfied", "--note", "入户核查：用电正常")
            #expect(check.status == 0 && check.stdout.contains("closed"), "feedback: \(check.stdout) \(check.stderr)")

            let expected = [
                "request.received", "request.assigned", "request.claimed", "request.escalated", "request.claimed", "request.summoned",
                "request.summons.acknowledged", "request.resolved", "request.closed",
            ]
            let settled = await eventually {
                let status = try? await http(.GET, system.url("intake", "/v1/requests/\(lead)"))
                let types = try? await trailTypes(system, lead)
                return status?.json["state"] as? String == "closed" && status?.json["trailVerified"] as? Bool == true && types == expected
            }
            let leadTrail = try await trailTypes(system, lead)
            #expect(settled, "the lead: \(leadTrail)")
            var escalations = 0
            for id in linked {
                var types: [String] = []
                let merged = await eventually {
                    types = (try? await trailTypes(system, id)) ?? []
                    return types.last == "request.merged"
                }
                #expect(
                    merged
                        && (types == ["request.received", "request.merged"] || types == ["request.received", "request.assigned", "request.merged"]),
                    "\(id): \(types)"
                )
                escalations += types.filter { $0 == "request.escalated" }.count
            }
            #expect(escalations == 0, "escalated once, as the incident")
            let audit = try await command("audit", "verify", "--request", lead)
            #expect(audit.status == 0, "audit verify: \(audit.stdout) \(audit.stderr)")
            let auditLinked = try await command("audit", "verify", "--request", linked[0])
            #expect(auditLinked.status == 0, "audit verify: \(auditLinked.stdout) \(auditLinked.stderr)")
            // The integration webhook saw the lead's steps: first assignment, escalation, summons.
            #expect(await eventually { receiver.all.filter { $0.body.contains(lead) }.count == 3 }, "assigned, escalated, summoned")
            // Residents, the grid worker, the street and the department were told, each in their language, once per id.
            try await expectTransformerStoryNotifications(system, receiver, ids: ids, lead: lead)
        }
    }

    @Test(
        "staff commands over HTTP: reassign by a leader, reject and merge with reasons, an idempotent retry, refusals as problem JSON that change nothing"
    )
    func httpCommands() async throws {
        try await GridLoopSystem.with { system, _ in
            func post(_ id: String, _ body: String, key: String? = nil) async throws -> HTTPAnswer {
                try await postCommand(system, id, body, headers: key.map { ["Idempotency-Key": $0] } ?? [:])
            }
            func state(_ id: String) async -> (String?, String?) {
                let status = try? await http(.GET, system.url("intake", "/v1/requests/\(id)"))
                return (status?.json["state"] as? String, status?.json["unit"] as? String)
            }
            let a = try await submit(system, location: #""householdId":"guanghua-3-11""#)
            #expect(await eventually { await state(a).0 == "assigned" })

            let notALeader = try await post(a, #"{"action":"reassign","staff":"cui-chunhua","target":"grid:hongxing-3"}"#)
            #expect(
                notALeader.status == 403 && notALeader.contentType == "application/problem+json" && notALeader.json["code"] as? String == "forbidden"
            )
            let key = "reassign-\(TestEnvironment.unique())"
            let moved = try await post(a, #"{"action":"reassign","staff":"leng-yulong","target":"grid:hongxing-3","note":"该户实属红星三组"}"#, key: key)
            #expect(moved.status == 200 && (moved.json["message"] as? String)?.contains("grid:hongxing-3") == true, "\(moved.body)")
            let retried = try await post(a, #"{"action":"reassign","staff":"leng-yulong","target":"grid:hongxing-3","note":"该户实属红星三组"}"#, key: key)
            #expect(retried.status == 200 && (retried.json["message"] as? String)?.contains("already applied") == true, "\(retried.body)")
            #expect(await eventually { await state(a).1 == "grid:hongxing-3" })

            let claim = #"{"action":"claim","staff":"zhao-hongmei","unit":"grid:hongxing-3"}"#
            #expect(try await post(a, claim).status == 200)
            let twice = try await post(a, claim)
            #expect(twice.status == 409 && twice.json["code"] as? String == "conflict")
            let wrongUnit = try await post(a, #"{"action":"escalate","staff":"cui-chunhua","note":"x"}"#)
            #expect(wrongUnit.status == 403)

            let b = try await submit(system, location: #""gridId":"hongxing-3""#)
            let c = try await submit(system, location: #""gridId":"hongxing-3""#)
            #expect(
                await eventually {
                    let (stateB, stateC) = (await state(b).0, await state(c).0)
                    return stateB == "assigned" && stateC == "assigned"
                }
            )
            let noReason = try await post(b, #"{"action":"reject","staff":"zhao-hongmei"}"#)
            #expect(noReason.status == 400 && noReason.json["code"] as? String == "validation_failed")
            let merged = try await post(b, #"{"action":"merge","staff":"zhao-hongmei","into":"\#(a)","note":"同一户重复反映"}"#)
            #expect(merged.status == 200, "\(merged.body)")
            let rejected = try await post(c, #"{"action":"reject","staff":"zhao-hongmei","note":"测试数据，非居民诉求"}"#)
            #expect(rejected.status == 200, "\(rejected.body)")
            let malformed = try await post(c, #"{"action":"fly"}"#)
            #expect(malformed.status == 400 && malformed.json["code"] as? String == "invalid_json")

            #expect(
                await eventually {
                    let (stateB, stateC) = (await state(b).0, await state(c).0)
                    return stateB == "merged" && stateC == "rejected"
                }
            )
            let trailA = try await trailTypes(system, a)
            #expect(trailA.filter { $0 == "request.reassigned" }.count == 1, "\(trailA)")
            for id in [a, b, c] {
                #expect(try await runCommand(["audit", "verify", "--request", id], environment: system.environment).status == 0)
            }
        }
    }

    @Test("an emergency skips grid and street: straight to its department, the street informed")
    func directCategory() async throws {
        try await GridLoopSystem.with { system, _ in
            let id = try await submit(
                system,
                json: submissionJSON(location: #""householdId":"guanghua-3-12""#, category: "emergency", description: "电线起火")
            )
            let taken = try await takeUntil(system, unit: "district:emergency-management", staff: "emergency-officer-1", requestId: id)
            #expect(taken.reason.contains("straight to its department"))
            #expect(await eventually { (try? await trailTypes(system, id))?.contains("request.street.informed") == true })
            let status = try await http(.GET, system.url("intake", "/v1/requests/\(id)"))
            let informed = (status.json["trail"] as? [[String: Any]])?.first { $0["type"] as? String == "request.street.informed" }
            #expect((informed?["detail"] as? String)?.hasPrefix("street:xiping informed") == true)
        }
    }

    @Test("a webhook endpoint down for good: the delivery fails with its reason, is listed, and is re-sent once the endpoint is back")
    func failedWebhookAndRetry() async throws {
        try await GridLoopSystem.with { system, receiver in
            func command(_ arguments: String...) async throws -> CommandResult { try await system.cli(arguments) }
            receiver.failing = true
            let id = try await submit(system, location: #""gridId":"damaidi""#)
            var failedLine: String?
            _ = await eventually(timeout: .seconds(30)) {
                let failed = try? await command("notifications", "failed")
                failedLine = failed?.stdout.split(separator: "\n").map(String.init).first { $0.contains(id) && $0.contains("/hook") }
                return failedLine != nil
            }
            let line = try #require(failedLine, "the delivery is listed as failed")
            #expect(line.contains("3 attempts") && line.contains("HTTP 503"), "\(line)")
            let deliveryId = String(try #require(line.split(separator: "\t").first))
            let log = try await command("notifications", "for", id)
            #expect(
                log.status == 0 && log.stdout.split(separator: "\n").filter { $0.contains("/hook") && $0.contains("HTTP 503") }.count == 3,
                "three attempts logged: \(log.stdout)"
            )
            #expect(!receiver.all.contains { $0.body.contains(id) })

            receiver.failing = false
            let retry = try await command("notifications", "retry", deliveryId)
            #expect(retry.status == 0, "\(retry.stderr)")
            #expect(
                await eventually { receiver.all.contains { $0.webhookId == deliveryId && $0.signatureValid } },
                "re-sent with the same webhook-id"
            )
            let again = try await command("notifications", "retry", deliveryId)
            #expect(again.status != 0 && again.stderr.contains("no failed delivery"), "a delivered one is not re-sent")
        }
    }

    @Test("SIGKILL of notification while events flow: every assignment webhook still arrives")
    func notificationKilledMidFlow() async throws {
        try await GridLoopSystem.with { system, receiver in
            let notification = try #require(system.process("notification"))
            var ids: [String] = []
            for index in 0..<20 {
                ids.append(try await submit(system, location: #""gridId":"hanjiaxu-2""#))
                if index == 6 { await notification.kill() }
            }
            try system.launch("notification")
            try await system.waitUntilHealthy("notification")
            let delivered = await eventually(timeout: .seconds(45)) {
                let bodies = receiver.all.map(\.body)
                return ids.allSatisfy { id in bodies.contains { $0.contains(id) && $0.contains("request.assigned") } }
            }
            let missing = ids.filter { id in !receiver.all.contains { $0.body.contains(id) } }
            #expect(delivered, "webhooks missing for \(missing)")
            let ours = receiver.all.filter { received in ids.contains { received.body.contains($0) } }
            let allSigned = ours.allSatisfy { $0.signatureValid }
            #expect(allSigned)
        }
    }

    @Test("the same Idempotency-Key twice makes one request")
    func idempotentSubmission() async throws {
        try await GridLoopSystem.with { system, _ in
            let key = "hotline-\(TestEnvironment.unique())"
            let body = submissionJSON(location: #""gridId":"zuoshuichong""#, category: "housing", description: "院墙开裂")
            let first = try await http(.POST, system.url("intake", "/v1/requests"), body: body, headers: ["Idempotency-Key": key])
            let second = try await http(.POST, system.url("intake", "/v1/requests"), body: body, headers: ["Idempotency-Key": key])
            #expect(first.status == 201)
            #expect(second.status == 200)
            #expect(first.json["id"] as? String == second.json["id"] as? String)
            let id = try #require(first.json["id"] as? String)
            #expect(await eventually { (try? await assignmentCounts(for: [id]))?[id] == 1 })
            try await Task.sleep(for: .seconds(1))
            let assignments = try await drainAssignments(try UnitRef(parsing: "grid:zuoshuichong").queueName)
            #expect(assignments.map(\.requestId) == [id])
        }
    }

    @Test(
        "submissions arriving together are stored together (group commit): 50 at once, one key sent 10 times — 41 requests, each once, each announced once, one 201 for the repeated key"
    )
    func submissionsStoredTogether() async throws {
        try await GridLoopSystem.with { system, _ in
            let run = TestEnvironment.unique()
            let body = submissionJSON(location: #""gridId":"zuoshuichong""#, category: "housing", description: "楼道灯不亮")
            let keys = (0..<40).map { "together-\(run)-\($0)" } + Array(repeating: "together-\(run)-repeated", count: 10)
            let answers = try await withThrowingTaskGroup(of: (String, Int, String?).self) { group in
                for key in keys {
                    group.addTask {
                        let answer = try await http(.POST, system.url("intake", "/v1/requests"), body: body, headers: ["Idempotency-Key": key])
                        return (key, answer.status, answer.json["id"] as? String)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.allSatisfy { [200, 201].contains($0.1) && $0.2 != nil }, "every submission answered: \(answers.filter { $0.2 == nil })")
            let repeated = answers.filter { $0.0.hasSuffix("-repeated") }
            #expect(Set(repeated.map(\.2)).count == 1, "the repeated key names one request")
            #expect(repeated.filter { $0.1 == 201 }.count == 1 && answers.filter { $0.1 == 201 }.count == 41)
            let ids = Array(Set(answers.compactMap(\.2))).compactMap(UUID.init(uuidString:))
            #expect(ids.count == 41)
            let stored = try await withDatabase { client in
                try await client.query(
                    """
                    SELECT count(*)::int, count(DISTINCT r.xmin::text)::int,
                        (SELECT count(*)::int FROM intake.trail t WHERE t.request_id = ANY(\(ids)) AND t.seq = 1),
                        (SELECT count(*)::int FROM intake.outbox o WHERE o.message_type = 'request.received'
                            AND (o.body::jsonb ->> 'requestId')::uuid = ANY(\(ids)))
                    FROM intake.requests r WHERE r.id = ANY(\(ids))
                    """
                ).collect().first?.decode((Int, Int, Int, Int).self)
            }
            let (requests, statements, links, events) = try #require(stored)
            #expect(requests == 41 && links == 41 && events == 41, "each request, first trail link and event once: \(requests), \(links), \(events)")
            #expect(statements < requests, "submissions arriving together share a statement: \(statements) statements for \(requests)")
            #expect(
                await eventually {
                    let unpublished = try? await withDatabase { client in
                        try await client.query(
                            "SELECT count(*)::int FROM intake.outbox WHERE published_at IS NULL AND (body::jsonb ->> 'requestId')::uuid = ANY(\(ids))"
                        ).collect().first?.decode(Int.self)
                    }
                    return unpublished == 0
                },
                "every event published"
            )
        }
    }
}

/// `byState.resolved` of the summary report.
func resolvedCount(_ system: GridLoopSystem) async throws -> Int {
    let summary = try await report(system, "/v1/reports/summary")
    return (summary.json["byState"] as? [String: Any])?["resolved"] as? Int ?? -1
}

/// Assignments per request, as routing recorded them.
func assignmentCounts(for ids: [String]) async throws -> [String: Int] {
    let uuids = ids.compactMap(UUID.init(uuidString:))
    return try await withDatabase { client in
        var counts: [String: Int] = [:]
        let rows = try await client.query("SELECT request_id, count(*)::bigint FROM routing.assignments WHERE request_id = ANY(\(uuids)) GROUP BY 1")
        for try await (id, count) in rows.decode((UUID, Int64).self) { counts[id.uuidString.lowercased()] = Int(count) }
        return counts
    }
}
