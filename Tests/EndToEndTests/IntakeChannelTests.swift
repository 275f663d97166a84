import Foundation
import GridLoopDomain
import GridLoopTestSupport
import PostgresNIO
import Testing

extension EndToEndTests {
    @Test(
        "rate limits: past the per-phone limit a submission gets 429 with Retry-After and problem JSON naming the phone, others still pass; past the per-client limit every submission from that address waits"
    )
    func rateLimits() async throws {
        try await GridLoopSystem.with(environment: ["INTAKE_RATE_PHONE_PER_HOUR": "3", "INTAKE_RATE_CLIENT_PER_MINUTE": "6"]) { system, _ in
            let url = system.url("intake", "/v1/requests")
            func body(_ phone: String) -> String {
                #"{"category":"water","description":"停水","location":{"gridId":"hanjiaxu-1"},"reporter":{"name":"李四","phone":"\#(phone)"},"channel":"hotline"}"#
            }
            for _ in 1...3 { #expect(try await http(.POST, url, body: body("139-0000-7777")).status == 201) }
            let limited = try await http(.POST, url, body: body("13900007777"))
            #expect(limited.status == 429, "the fourth request an hour from one phone, however written: \(limited.body)")
            #expect(limited.contentType == "application/problem+json")
            #expect(limited.json["code"] as? String == "rate_limited")
            #expect((limited.json["detail"] as? String)?.contains("reporter.phone") == true, "\(limited.body)")
            let wait = Int(limited.retryAfter ?? "")
            #expect(wait != nil && wait! > 0 && wait! <= 1200, "Retry-After: one token every 20 min, got \(limited.retryAfter ?? "none")")
            #expect(try await http(.POST, url, body: body("13900008888")).status == 201, "another resident is not held back")

            // The client has made 5 of its 6 a minute (the refused one counted): one more, then 429.
            #expect(try await http(.POST, url, body: body("13900009999")).status == 201)
            let flooded = try await http(.POST, url, body: body("13900006666"))
            #expect(
                flooded.status == 429 && (flooded.json["detail"] as? String)?.contains("this client") == true,
                "\(flooded.status) \(flooded.body)"
            )
            #expect(Int(flooded.retryAfter ?? "") ?? 0 >= 1)
            let count = try await withDatabase { client in
                try await client.query("SELECT count(*) FROM intake.requests WHERE description = '停水' AND grid_id = 'hanjiaxu-1'").collect().first?
                    .decode(Int.self)
            }
            #expect(count == 5, "refused submissions store nothing")
        }
    }

    @Test(
        "with public submissions off, POST /v1/requests needs an API key or a staff token: none, a revoked key and a bad token are 401; a live key and a grid worker's token are taken"
    )
    func submissionKeys() async throws {
        try await GridLoopSystem.with(environment: ["INTAKE_PUBLIC_SUBMISSIONS": "false"]) { system, _ in
            let url = system.url("intake", "/v1/requests")
            let body = submissionJSON(location: #""gridId":"hanjiaxu-2""#, category: "water", description: "水压低")
            let anonymous = try await http(.POST, url, body: body)
            #expect(anonymous.status == 401 && (anonymous.json["detail"] as? String)?.contains("X-API-Key") == true, "\(anonymous.body)")
            let created = try await system.cli("apikey", "create", "hotline-12345")
            let parts = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\t").map(String.init)
            try #require(created.status == 0 && parts.count == 2, "\(created.stderr)")
            #expect(try await http(.POST, url, body: body, headers: ["X-API-Key": parts[1]]).status == 201)
            #expect(
                try await http(.POST, url, body: body, headers: try await system.bearer("han-jiayi")).status == 201,
                "a grid worker's app signs in"
            )
            #expect(try await http(.POST, url, body: body, headers: ["Authorization": "Bearer not-a-token"]).status == 401)
            #expect(try await system.cli("apikey", "revoke", parts[0]).status == 0)
            let revoked = try await http(.POST, url, body: body, headers: ["X-API-Key": parts[1]])
            #expect(revoked.status == 401 && (revoked.json["detail"] as? String)?.contains("revoked") == true, "\(revoked.body)")
            #expect(try await http(.POST, url, body: body, headers: ["X-API-Key": "gl_guess_guess"]).status == 401)
            _ = try await drainAssignments(try UnitRef(parsing: "grid:hanjiaxu-2").queueName)  // the queue is shared with other tests
        }
    }

    @Test("bulk import: 10,000 hotline rows with bad ones named by line, progress shown, a re-run adds nothing; imported rows flow like any request")
    func bulkImport() async throws {
        try await GridLoopSystem.with { system, _ in
            let tag = TestEnvironment.unique()
            // A few rows with the services running: they are assigned like any request.
            let small = try writeCSV(
                #"""
                category,description,household_id,reporter_name,reporter_phone,channel,external_id
                water,"停水, 已两天",guanghua-3-05,张三,13800005555,hotline,\#(tag)-flow-1
                power,"电压低 ""晚上""",guanghua-3-06,李四,13800006666,hotline,\#(tag)-flow-2
                """#
            )
            let flowed = try await system.cli("import", "requests", small)
            #expect(
                flowed.status == 0 && flowed.stdout.contains("2 rows: 2 accepted (2 new, 0 already imported), 0 rejected"),
                "\(flowed.stdout) \(flowed.stderr)"
            )
            let ids = try await withDatabase { client in
                try await client.query("SELECT id FROM intake.requests WHERE idempotency_key LIKE \("import:\(tag)-flow-%")").collect().map {
                    try $0.decode(UUID.self).uuidString.lowercased()
                }
            }
            #expect(ids.count == 2)
            #expect(
                await eventually { (try? await assignmentCounts(for: ids)) == Dictionary(uniqueKeysWithValues: ids.map { ($0, 1) }) },
                "imported requests assigned once"
            )

            // 10,000 rows with the services stopped, so that they do not flow on into later tests.
            await system.stop()
            var lines = ["category,description,grid_id,household_id,address,reporter_name,reporter_phone,channel,external_id"]
            var bad: [Int: String] = [:]
            for index in 0..<10_000 {
                let line = index + 2
                switch index % 200 {
                case 17:
                    lines.append("power,电压不稳,hongxing-3,,,王五,,hotline,\(tag)-\(index)")
                    bad[line] = "reporter.phone: is required"
                case 42:
                    lines.append("Power Cut,电压不稳,hongxing-3,,,王五,13800001111,hotline,\(tag)-\(index)")
                    bad[line] = "category: must be lowercase"
                case 99:
                    lines.append("water,没水,,,,赵六,13800002222,hotline,\(tag)-\(index)")
                    bad[line] = "location: needs"
                case 150:
                    lines.append("water,没水,hongxing-3,,赵六,13800002222")
                    bad[line] = "has 6 fields, the header 9"
                default:
                    let external = index % 3 == 0 ? "" : "\(tag)-\(index)"
                    lines.append(
                        "housing,\"楼道灯坏了, 第\(index)号\",hongxing-3,,,居民\(index % 97),1380000\(String(format: "%04d", index % 10_000)),hotline,\(external)"
                    )
                }
            }
            let big = try writeCSV(lines.joined(separator: "\r\n"))
            let first = try await runCommand(["import", "requests", big], environment: system.environment, timeout: .seconds(600))
            let accepted = 10_000 - bad.count
            #expect(first.status == 1, "rejected rows make the exit status 1: \(first.stderr.suffix(300))")
            #expect(
                first.stdout.hasPrefix("10000 rows: \(accepted) accepted (\(accepted) new, 0 already imported), \(bad.count) rejected"),
                "\(first.stdout.prefix(300))"
            )
            for (line, reason) in bad {
                #expect(
                    first.stdout.contains("line \(line): ")
                        && first.stdout.split(separator: "\n").contains { $0.contains("line \(line): ") && $0.contains(reason) },
                    "line \(line) named with '\(reason)'"
                )
            }
            #expect(
                first.stderr.contains("10000/10000 rows (100%)") && first.stderr.contains("/10000 rows (50%)"),
                "progress: \(first.stderr.suffix(200))"
            )

            let again = try await runCommand(["import", "requests", big], environment: system.environment, timeout: .seconds(600))
            #expect(
                again.stdout.hasPrefix("10000 rows: \(accepted) accepted (0 new, \(accepted) already imported), \(bad.count) rejected"),
                "\(again.stdout.prefix(300))"
            )

            let counts = try await withDatabase { client in
                try await client.query(
                    """
                    SELECT count(*)::bigint, count(DISTINCT idempotency_key)::bigint, (SELECT count(*) FROM intake.outbox o WHERE o.message_type = 'request.received'
                        AND o.body::jsonb #>> '{payload,requestId}' IN (SELECT id::text FROM intake.requests WHERE idempotency_key LIKE 'import:%' AND description LIKE '楼道灯坏了, 第%'))::bigint
                    FROM intake.requests WHERE description LIKE '楼道灯坏了, 第%'
                    """
                ).collect().first!.decode((Int64, Int64, Int64).self)
            }
            #expect(
                counts.0 == Int64(accepted) && counts.1 == Int64(accepted) && counts.2 == Int64(accepted),
                "one request, one key and one outbox event per accepted row: \(counts)"
            )
            // Keep the 10,000 out of later tests: their events are not published.
            try await withDatabase { client in
                _ = try await client.query(
                    "DELETE FROM intake.outbox WHERE published_at IS NULL AND message_type = 'request.received' AND body LIKE \("%楼道灯坏了, 第%")"
                ).collect()
            }
        }
    }

    @Test(
        "offline spool: with the broker stopped, 50 grid-worker submissions are kept; once it is back, a flush makes 50 requests, each once, with their original time"
    )
    func offlineSpool() async throws {
        try await GridLoopSystem.with { system, _ in
            let spool = FileManager.default.temporaryDirectory.appendingPathComponent("gridloop-spool-\(TestEnvironment.unique())")
            var environment = system.environment
            environment["GRIDLOOP_SPOOL_DIR"] = spool.path
            defer { try? FileManager.default.removeItem(at: spool) }
            let control = try TestEnvironment.brokerControl()
            let stop = try await runCommand(["broker-stop"], executable: control, environment: [:], timeout: .seconds(60))
            try #require(stop.status == 0, "broker-stop: \(stop.stderr)")
            var keys: [String] = []
            let before = Date()
            for index in 0..<50 {
                let key = "visit-\(TestEnvironment.unique())-\(index)"
                keys.append(key)
                let result = try await runCommand(
                    [
                        "submit", "--category", "housing", "--description", "院墙裂缝 \(index)", "--household", "hongxing-3-01", "--name", "赵红梅",
                        "--phone", "13800001234", "--channel", "grid-worker", "--by", "zhao-hongmei", "--idempotency-key", key,
                    ],
                    environment: environment
                )
                #expect(result.status == 0 && result.stdout.hasPrefix("spooled \(key)"), "\(result.stdout) \(result.stderr)")
            }
            let invalid = try await runCommand(
                ["submit", "--category", "housing", "--description", "x", "--name", "n", "--phone", "1"],
                environment: environment
            )
            #expect(invalid.status != 0 && invalid.stderr.contains("not valid"), "an invalid submission is refused, not spooled: \(invalid.stderr)")
            let status = try await runCommand(["spool", "status"], environment: environment)
            #expect(status.stdout.contains("50 spooled"), "\(status.stdout.suffix(200))")

            let start = try await runCommand(["broker-start"], executable: control, environment: [:], timeout: .seconds(120))
            try #require(start.status == 0, "broker-start: \(start.stderr)")
            for service in GridLoopSystem.ports.keys.sorted() { try await system.waitUntilHealthy(service) }
            let flush = try await runCommand(["spool", "flush"], environment: environment)
            #expect(flush.status == 0 && flush.stdout.contains("sent 50 spooled submissions; 0 left"), "\(flush.stdout) \(flush.stderr)")
            let again = try await runCommand(["spool", "flush"], environment: environment)
            #expect(again.stdout.contains("sent 0"), "nothing left to send")

            let sent = keys
            let rows = try await eventuallyValue(timeout: .seconds(30)) { () -> [(String, Date?, Date)]? in
                let rows = try await withDatabase { client in
                    try await client.query(
                        "SELECT idempotency_key, reported_at, created_at FROM intake.requests WHERE idempotency_key = ANY(\(sent))"
                    )
                    .collect().map { try $0.decode((String, Date?, Date).self) }
                }
                return rows.count == 50 ? rows : nil
            }
            let stored = try #require(rows, "50 requests")
            #expect(Set(stored.map(\.0)) == Set(keys), "each key once")
            #expect(
                stored.allSatisfy { row in row.1.map { $0 >= before.addingTimeInterval(-1) && $0 < row.2 } ?? false },
                "taken down offline, before the request was stored"
            )
        }
    }
}

/// Writes `text` to a temporary CSV file and returns its path.
func writeCSV(_ text: String) throws -> String {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("import-\(TestEnvironment.unique()).csv")
    try text.write(to: file, atomically: true, encoding: .utf8)
    return file.path
}

extension EndToEndTests {
    @Test(
        "a second open request of the same category from the same household is offered as a possible duplicate; the grid worker merges it on confirmation"
    )
    func duplicateOffered() async throws {
        try await GridLoopSystem.with { system, _ in
            let first = try await submit(
                system,
                json: submissionJSON(location: #""householdId":"hongxing-3-02""#, category: "property", description: "楼顶漏水")
            )
            let second = try await submit(
                system,
                json: submissionJSON(location: #""householdId":"hongxing-3-02""#, category: "property", description: "屋顶又漏了")
            )
            let other = try await submit(
                system,
                json: submissionJSON(location: #""householdId":"hongxing-3-03""#, category: "property", description: "楼顶漏水")
            )
            // Both reports placed at once (concurrent handlers): the second still sees the first.
            var seen: [String: RequestAssigned] = [:]
            while seen[second] == nil || seen[other] == nil || seen[first] == nil {
                let take = try await system.cli("staff", "take", "--unit", "grid:hongxing-3", "--staff", "zhao-hongmei", "--json", "--wait", "20")
                try #require(take.status == 0, "take: \(take.stderr)")
                let assignment = try WireJSON.decode(RequestAssigned.self, from: Array(take.stdout.utf8))
                seen[assignment.requestId] = assignment
            }
            // Whichever routing placed second is offered as the duplicate of the other (they were made milliseconds apart).
            let flagged = [seen[first]?.possibleDuplicateOf, seen[second]?.possibleDuplicateOf]
            #expect(flagged == [nil, first] || flagged == [second, nil], "exactly one offered as a duplicate of the other: \(flagged)")
            #expect(seen[other]?.possibleDuplicateOf == nil, "another household is not a duplicate")
            let (duplicate, original) = seen[second]?.possibleDuplicateOf == first ? (second, first) : (first, second)
            let merged = try await system.cli("staff", "merge", duplicate, "--into", original, "--staff", "zhao-hongmei", "--reason", "同一处漏水")
            #expect(merged.status == 0, "\(merged.stderr)")
            #expect(
                await eventually {
                    let status = try? await http(.GET, system.url("intake", "/v1/requests/\(duplicate)"))
                    return status?.json["state"] as? String == "merged"
                }
            )
        }
    }
}
