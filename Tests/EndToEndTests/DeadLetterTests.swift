import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopServiceSupport
import GridLoopTestSupport
import PostgresNIO
import Testing

extension EndToEndTests {
    @Test(
        "a malformed message on every service queue is dead-lettered with its reason, listed by gridloop dead-letters, and work goes on; a dead letter replayed after its cause is gone is handled once"
    )
    func deadLettersListedAndReplayed() async throws {
        try await GridLoopSystem.with { system, _ in
            let tag = TestEnvironment.unique()
            let options = try TestEnvironment.amqpOptions(name: "gridloop-test-poison")
            let queues = GridLoopQueue.all
            try await AMQPSession.run(options: options) { session in
                for queue in queues {
                    let poison = OutgoingMessage(
                        exchange: "",
                        routingKey: queue,
                        body: Array("{ not json".utf8),
                        messageId: "poison-\(tag)-\(queue)",
                        type: "request.assigned"
                    )
                    guard case .confirmed = try session.publish(poison) else { throw SystemError("poison for \(queue) not confirmed") }
                }
            }
            var listing = ""
            let listed = await eventually(timeout: .seconds(30)) {
                listing = (try? await system.cli("dead-letters", "list"))?.stdout ?? ""
                return queues.allSatisfy { queue in
                    listing.split(separator: "\n").contains {
                        $0.hasPrefix("\(queue)\tpoison-\(tag)-\(queue)\t") && $0.contains("not a GridLoop envelope")
                    }
                }
            }
            #expect(listed, "every queue's poison listed with its reason:\n\(listing)")
            let again = try await system.cli("dead-letters", "list")
            #expect(again.stdout.split(separator: "\n").filter { $0.contains("poison-\(tag)") }.count == queues.count, "listing removes nothing")
            for service in GridLoopSystem.ports.keys { try await system.waitUntilHealthy(service) }
            let after = try await submit(system, location: #""gridId":"zuoshuichong""#)
            #expect(await eventually { (try? await assignmentCounts(for: [after]))?[after] == 1 }, "work goes on")

            // A submission that died while its cause was elsewhere: replayed, it makes its request once.
            let key = "replay-\(tag)"
            let payload = SubmissionPayload(
                idempotencyKey: key,
                submission: SubmissionDraft(
                    category: "housing",
                    description: "院墙开裂",
                    location: Location(gridId: "zuoshuichong"),
                    reporter: .init(name: "张三", phone: "13800001234"),
                    channel: "hotline"
                )
            )
            let envelope = MessageEnvelope(type: MessageType.submissionCreate, requestId: nil, correlationId: key, payload: payload)
            var dead = try OutgoingMessage(envelope: envelope, exchange: GridLoopExchange.dead, routingKey: GridLoopQueue.intakeSubmissions)
            dead.headers["x-gridloop-reason"] = "database unavailable (test)"
            let letter = dead
            try await AMQPSession.run(options: options) { session in
                guard case .confirmed = try session.publish(letter) else { throw SystemError("dead letter not confirmed") }
            }
            let one = try await system.cli("dead-letters", "list", "--queue", "intake.submissions")
            #expect(
                one.stdout.contains("\(envelope.messageId)\tsubmission.create") && one.stdout.contains("database unavailable (test)"),
                "\(one.stdout)"
            )
            let replay = try await system.cli("dead-letters", "replay", "--queue", "intake.submissions", "--id", envelope.messageId)
            #expect(
                replay.status == 0 && replay.stdout.contains("replayed 1 dead letters to intake.submissions"),
                "\(replay.stdout) \(replay.stderr)"
            )
            #expect(
                await eventually {
                    let rows = try? await withDatabase { client in
                        try await client.query("SELECT count(*)::bigint FROM intake.requests WHERE idempotency_key = \(key)").collect().first?.decode(
                            Int64.self
                        )
                    }
                    return rows == 1
                },
                "the replayed submission made its request"
            )
            let twice = try await system.cli("dead-letters", "replay", "--queue", "intake.submissions", "--id", envelope.messageId)
            #expect(twice.status != 0 && twice.stderr.contains("no dead letter"), "a replayed dead letter is gone: \(twice.stderr)")
            // An invalid submission is dead-lettered by intake with the reporter's phone sealed;
            // a replay sends it back opened (it is refused again, and dead-lettered sealed again).
            let invalid = MessageEnvelope(
                type: MessageType.submissionCreate,
                requestId: nil,
                correlationId: "invalid-\(tag)",
                payload: SubmissionPayload(
                    idempotencyKey: "invalid-\(tag)",
                    submission: SubmissionDraft(
                        category: "housing",
                        description: " ",
                        location: Location(gridId: "zuoshuichong"),
                        reporter: .init(name: "张三", phone: "13812345678"),
                        channel: "hotline"
                    )
                )
            )
            let submission = try OutgoingMessage(envelope: invalid, exchange: "", routingKey: GridLoopQueue.intakeSubmissions)
            try await AMQPSession.run(options: options) { session in
                guard case .confirmed = try session.publish(submission) else { throw SystemError("submission not confirmed") }
            }
            var bodies = ""
            #expect(
                await eventually {
                    bodies = (try? await system.cli("dead-letters", "list", "--queue", "intake.submissions", "--body"))?.stdout ?? ""
                    return bodies.contains(invalid.messageId)
                },
                "the invalid submission is dead-lettered"
            )
            #expect(!bodies.contains("13812345678") && bodies.contains(DataProtector.prefix), "its phone is sealed: \(bodies)")
            let resent = try await system.cli("dead-letters", "replay", "--queue", "intake.submissions", "--id", invalid.messageId)
            #expect(resent.status == 0, "\(resent.stderr)")
            #expect(
                await eventually {
                    let again = (try? await system.cli("dead-letters", "list", "--queue", "intake.submissions", "--body"))?.stdout ?? ""
                    return again.contains(invalid.messageId) && !again.contains("13812345678")
                },
                "replayed, refused again, and still sealed"
            )
            let stillThere = try await system.cli("dead-letters", "list", "--queue", "intake.submissions")
            #expect(stillThere.stdout.contains("poison-\(tag)-intake.submissions"), "replaying one leaves the others")
            try await leaveGridQueueEmpty("zuoshuichong", count: 2)
        }
    }
}

extension EndToEndTests {
    @Test("a broker memory alarm blocks publishers: intake still answers at once (requests wait in its outbox), and they flow once the alarm clears")
    func brokerMemoryAlarm() async throws {
        try await GridLoopSystem.with { system, _ in
            let control = try TestEnvironment.brokerControl()
            let on = try await runCommand(["broker-alarm", "on"], executable: control, environment: [:], timeout: .seconds(60))
            try #require(on.status == 0, "broker-alarm on: \(on.stderr)")
            var ids: [String] = []
            var slowest = Duration.zero
            do {
                for _ in 0..<10 {
                    let started = ContinuousClock.now
                    ids.append(try await submit(system, location: #""gridId":"zuoshuichong""#))
                    slowest = max(slowest, ContinuousClock.now - started)
                }
            } catch {
                _ = try? await runCommand(["broker-alarm", "off"], executable: control, environment: [:], timeout: .seconds(60))
                throw error
            }
            #expect(slowest < .seconds(3), "HTTP intake never waits on the blocked broker (slowest \(slowest))")
            let waiting = try await withDatabase { client in
                try await client.query("SELECT count(*)::bigint FROM intake.outbox WHERE published_at IS NULL").collect().first?.decode(Int64.self)
                    ?? 0
            }
            #expect(waiting >= 1, "requests wait in the outbox while the broker is blocked")
            let off = try await runCommand(["broker-alarm", "off"], executable: control, environment: [:], timeout: .seconds(60))
            try #require(off.status == 0, "broker-alarm off: \(off.stderr)")
            let all = ids
            #expect(
                await eventually(timeout: .seconds(60)) {
                    (try? await assignmentCounts(for: all)) == Dictionary(uniqueKeysWithValues: all.map { ($0, 1) })
                },
                "every request assigned once after the alarm"
            )
            try await leaveGridQueueEmpty("zuoshuichong", count: all.count)
        }
    }
}

/// Takes this test's `count` assignments off a grid's queue (it shares the grid with others).
func leaveGridQueueEmpty(_ grid: String, count: Int) async throws {
    let queue = try UnitRef(tier: .grid, id: grid).queueName
    var drained = 0
    for _ in 0..<20 where drained < count {
        drained += try await drainAssignments(queue).count
        if drained < count { try await Task.sleep(for: .milliseconds(300)) }
    }
}
