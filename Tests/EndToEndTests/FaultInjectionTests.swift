import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopServiceSupport
import GridLoopTestSupport
import PostgresNIO
import Synchronization
import Testing

extension EndToEndTests {
    /// The short version runs with the suite; `deploy/local.sh faults` runs 10,000 requests
    /// (`GRIDLOOP_FAULT_REQUESTS`) and writes the figures to `GRIDLOOP_FAULT_REPORT`.
    @Test(
        "fault injection: each fault in turn while requests flow (kills, broker/database restarts, memory alarm, redelivery, poison, SLA during a kill); every accepted request reconciled, 0 lost, 0 duplicated"
    )
    func faultInjection() async throws {
        let environment = ProcessInfo.processInfo.environment
        let total = Int(environment["GRIDLOOP_FAULT_REQUESTS"] ?? "") ?? 55 * Fault.allCases.count
        let perFault = max(20, (total + Fault.allCases.count - 1) / Fault.allCases.count)
        try await GridLoopSystem.with { system, receiver in
            try await withDatabase { database in
                try await system.importOrg(FaultRun.org)
                let run = FaultRun(system: system, receiver: receiver, database: database)
                run.watcher.start()
                var rows: [FaultFigures] = []
                do {
                    for fault in Fault.allCases {
                        // The network faults need every service to go through the proxies.
                        if fault.network, !run.throughProxies { try await run.useProxies() }
                        let figures = try await run.phase(fault, requests: perFault)
                        rows.append(figures)
                        print(
                            "[faults] \(fault.rawValue): accepted \(figures.accepted), lost \(figures.lost), duplicated \(figures.duplicated), unexpected \(figures.unexpected), settled in \(figures.settled.seconds()) s"
                        )
                    }
                } catch {
                    await run.watcher.stop()
                    await run.stopProxies()
                    try? await system.importOrg(try GridLoopSystem.demoOrg)
                    throw error
                }
                await run.watcher.stop()
                await run.stopProxies()
                try await system.importOrg(try GridLoopSystem.demoOrg)

                let table = faultTable(rows)
                print(table)
                if let path = environment["GRIDLOOP_FAULT_REPORT"] {
                    try FaultRun.report(table: table, rows: rows, perFault: perFault).write(toFile: path, atomically: true, encoding: .utf8)
                }
                for row in rows {
                    #expect(row.accepted == perFault, "\(row.fault.rawValue): every submission was accepted in the end")
                    #expect(
                        row.clean,
                        "\(row.fault.rawValue): lost \(row.lost), duplicated \(row.duplicated), unexpected \(row.unexpected): \(row.problems.prefix(10))"
                    )
                }
                #expect(run.watcher.undecodableCount == 0, "every message in the unit queues is an assignment")
            }
        }
    }
}

/// One harness run: the load, the faults, the reconciliation.
final class FaultRun: Sendable {
    let system: GridLoopSystem
    let receiver: WebhookReceiver
    let database: PostgresClient
    let watcher: QueueWatcher
    let tag = TestEnvironment.unique()
    /// Deliveries a request of the plain kind gets, learned from the baseline.
    private let plainDeliveries = Mutex<Int?>(nil)

    static let grid = "fault-1"
    static let street = "faultline"
    static let units = [
        try! UnitRef(parsing: "grid:\(grid)"), try! UnitRef(parsing: "street:\(street)"), try! UnitRef(parsing: "district:market-regulation"),
    ]
    /// The demo org with a grid and street of the harness's own (staff reachable by email and
    /// SMS, no quiet hours, no digest) and a 2-second claim deadline for `market`.
    static var org: String {
        get throws {
            try GridLoopSystem.demoOrg
                .replacingOccurrences(of: "streets:\n", with: "streets:\n  - { id: \(street), name: 故障演练街道, kind: street }\n")
                .replacingOccurrences(
                    of: "grids:\n",
                    with: "grids:\n  - { id: \(grid), name: 故障演练网格, street: \(street), kind: residents, households: 25, population: 80 }\n"
                )
                .replacingOccurrences(
                    of: "staff:\n",
                    with: """
                        staff:
                          - { id: fault-worker, name: 演练网格员, role: grid-worker, unit: "grid:\(grid)", email: fault-worker@zhanyi.example, phone: "13900009001" }
                          - { id: fault-officer, name: 演练街道干部, role: street-officer, unit: "street:\(street)", email: fault-officer@zhanyi.example }

                        """
                )
                .replacingOccurrences(of: "urgent: [", with: "urgent: [market, ")
                .replacingOccurrences(of: "sla:\n", with: "sla:\n  market: { claim: 2s, resolve: 3s }\n")
        }
    }

    init(system: GridLoopSystem, receiver: WebhookReceiver, database: PostgresClient) {
        self.system = system
        self.receiver = receiver
        self.database = database
        self.watcher = QueueWatcher(units: Self.units)
    }

    private struct Accepted: Sendable {
        var key: String
        var at: Date
    }

    /// The load generator's shared counters.
    private final class LoadState: Sendable {
        let accepted = Mutex<[Accepted]>([])
        let next = Mutex(0)
        let injected = Mutex<Date?>(nil)
        let healthyAfterHeal = Mutex<Duration?>(nil)
    }

    /// When the restarted broker or database accepted connections again (the restart phases).
    private let backInService = Mutex<Date?>(nil)

    /// The proxies between the services and the broker and the database, once the network
    /// faults begin.
    private let proxies = Mutex<(broker: FaultProxy, database: FaultProxy)?>(nil)
    var throughProxies: Bool { proxies.withLock { $0 != nil } }

    /// Starts the proxies and restarts every service through them.
    func useProxies() async throws {
        let amqp = try AMQPURL(string: TestEnvironment.amqpURL())
        let database = try DatabaseURL(string: TestEnvironment.serviceDatabaseURL())
        let broker = try await FaultProxy(upstream: amqp.port, name: "fault-proxy-broker")
        let postgres = try await FaultProxy(upstream: database.port, name: "fault-proxy-postgres")
        proxies.withLock { $0 = (broker, postgres) }
        func through(_ url: String, port: Int) -> String {
            var components = URLComponents(string: url)!
            components.port = port
            return components.string!
        }
        try await restartAll(extra: [
            "AMQP_URL": through(try TestEnvironment.amqpURL(), port: broker.port),
            "DATABASE_URL": through(try TestEnvironment.serviceDatabaseURL(), port: postgres.port),
        ])
    }

    /// Back to direct connections, and the proxies stopped.
    func stopProxies() async {
        guard let (broker, database) = proxies.withLock({ $0 }) else { return }
        try? await restartAll(extra: [:])
        proxies.withLock { $0 = nil }
        await broker.stop()
        await database.stop()
    }

    /// Runs `requests` submissions with `fault` injected once ~30% are accepted, waits until
    /// the system settles, and reconciles.
    func phase(_ fault: Fault, requests: Int) async throws -> FaultFigures {
        let started = ContinuousClock.now
        let prefix = "fault-\(tag)-\(fault.tag)-"
        var figures = FaultFigures(fault: fault)
        if fault == .redeliverAll { try await restartAll(extra: ["AMQP_FAULT_CLOSE_BEFORE_ACK": "true"]) }
        var replica: ServiceProcess?
        if fault == .slaKill { replica = try await system.launchReplica("routing", port: 18084) }

        try await prepare(fault, prefix: prefix)
        let load = LoadState()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { [self] in
                    while let index = load.next.withLock({ value -> Int? in
                        guard value < requests else { return nil }
                        value += 1
                        return value - 1
                    }) {
                        let key = prefix + "\(index)"
                        // One in ten through the CLI publisher, the rest over HTTP.
                        let ok =
                            index % 10 == 0
                            ? try await submitCLI(key: key, index: index, fault: fault) : await submitHTTP(key: key, index: index, fault: fault)
                        if ok { load.accepted.withLock { $0.append(Accepted(key: key, at: Date())) } }
                    }
                }
            }
            group.addTask { [self] in
                while load.accepted.withLock({ $0.count }) < requests * 3 / 10 { try await Task.sleep(for: .milliseconds(10)) }
                try await Task.sleep(for: .milliseconds(Int64.random(in: 0...300)))
                load.injected.withLock { $0 = Date() }
                if let healed = try await inject(fault, prefix: prefix) {
                    // A network fault: recovery counts from the moment the network healed.
                    load.injected.withLock { $0 = healed }
                    let started = ContinuousClock.now
                    try await waitUntilAllHealthy()
                    load.healthyAfterHeal.withLock { $0 = ContinuousClock.now - started }
                }
            }
            try await group.waitForAll()
        }
        let acceptedNow = load.accepted.withLock { $0 }
        figures.accepted = acceptedNow.count
        figures.healthyAfterHeal = load.healthyAfterHeal.withLock { $0 }
        try await settleAndReconcile(
            fault,
            prefix: prefix,
            accepted: Dictionary(uniqueKeysWithValues: acceptedNow.map { ($0.key, $0.at) }),
            injectedAt: load.injected.withLock { $0 } ?? Date(),
            figures: &figures
        )
        try await conclude(fault, prefix: prefix, figures: &figures)
        if fault == .redeliverAll { try await restartAll(extra: [:]) }
        if let replica { await replica.stop() }
        for service in GridLoopSystem.ports.keys.sorted() where system.process(service)?.isRunning != true {
            figures.problems.append("\(service) is not running after the phase (crashed?)")
            figures.unexpected += 1
            try system.launch(service)
            try await system.waitUntilHealthy(service)
        }
        figures.settled = ContinuousClock.now - started
        return figures
    }

    // MARK: Load

    private func body(index: Int, fault: Fault) -> String {
        let category = fault.escalates ? "market" : "housing"
        return """
            {"category":"\(category)","description":"故障演练 \(fault.tag) \(index)","location":{"gridId":"\(Self.grid)"},
             "reporter":{"name":"演练居民\(index)","phone":"137\(String(format: "%08d", index))"},"channel":"hotline"}
            """
    }

    /// POSTs with the key until a 2xx (retrying connection errors and 5xx, as a hotline system
    /// would); `false` if refused for good or after two minutes.
    private func submitHTTP(key: String, index: Int, fault: Fault) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(120)
        let payload = body(index: index, fault: fault)
        while ContinuousClock.now < deadline {
            if let answer = try? await http(.POST, system.url("intake", "/v1/requests"), body: payload, headers: ["Idempotency-Key": key]) {
                if (200..<300).contains(answer.status) { return true }
                if (400..<500).contains(answer.status), answer.status != 429 { return false }
            }
            try? await Task.sleep(for: .milliseconds(Int64.random(in: 50...250)))
        }
        return false
    }

    /// `gridloop submit --no-wait` (confirmed by the broker) with the key until it exits 0.
    private func submitCLI(key: String, index: Int, fault: Fault) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let result = try await system.cli(
                "submit",
                "--category",
                fault.escalates ? "market" : "housing",
                "--description",
                "故障演练 \(fault.tag) \(index)",
                "--grid",
                Self.grid,
                "--name",
                "演练居民\(index)",
                "--phone",
                "137\(String(format: "%08d", index))",
                "--channel",
                "hotline",
                "--idempotency-key",
                key,
                "--no-wait",
                "--no-spool",
                timeout: .seconds(30)
            )
            if result.status == 0 { return true }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    // MARK: Faults

    private func control(_ arguments: String...) async throws {
        let result = try await runCommand(arguments, executable: try TestEnvironment.brokerControl(), environment: [:], timeout: .seconds(120))
        guard result.status == 0 else { throw SystemError("deploy/local.sh \(arguments.joined(separator: " ")) failed: \(result.stderr)") }
    }

    private func restart(_ service: String, pause: Duration) async throws {
        await system.process(service)?.kill()
        try await Task.sleep(for: pause)
        try system.launch(service)
        try await system.waitUntilHealthy(service)
    }

    private func restartAll(extra: [String: String]) async throws {
        for service in GridLoopSystem.ports.keys.sorted() {
            await system.process(service)?.stop()
            try system.launch(service, extra: extra)
        }
        for service in GridLoopSystem.ports.keys.sorted() { try await system.waitUntilHealthy(service) }
    }

    private func waitUntilAllHealthy() async throws {
        for service in GridLoopSystem.ports.keys.sorted() { try await system.waitUntilHealthy(service, timeout: .seconds(120)) }
    }

    /// Injects `fault`; for a network fault, returns when the network healed.
    private func inject(_ fault: Fault, prefix: String) async throws -> Date? {
        let pause = Duration.milliseconds(Int64.random(in: 200...1500))
        if fault.network {
            guard let (broker, database) = proxies.withLock({ $0 }) else { throw SystemError("\(fault.rawValue) needs the proxies") }
            switch fault {
            case .brokerCut:
                // Each live connection forwards 1,500 more bytes and is reset: mid-frame.
                try await broker.set(["mode": "cut-after", "bytes": 1500, "direction": "upstream"])
                try await Task.sleep(for: .seconds(1))
                try await broker.set(["mode": "cut-after", "bytes": 1500, "direction": "downstream"])
                try await Task.sleep(for: .seconds(1))
                try await broker.pass()
            case .silentBroker:
                try await broker.set(["mode": "drop", "direction": "downstream"])
                try await Task.sleep(for: .seconds(12))
                try await broker.pass()
            case .postgresCut:
                try await database.set(["mode": "cut-after", "bytes": 600, "direction": "upstream"])
                try await Task.sleep(for: .seconds(1))
                try await database.pass()
            case .postgresStall:
                try await database.set(["mode": "stall", "direction": "both"])
                try await Task.sleep(for: .seconds(5))
                try await database.pass()
            case .latency:
                try await broker.set(["mode": "latency", "ms": 200])
                try await database.set(["mode": "latency", "ms": 200])
                try await Task.sleep(for: .seconds(6))
                try await broker.pass()
                try await database.pass()
            default:
                break
            }
            return Date()
        }
        switch fault {
        case .none, .redeliverAll:
            break
        case .killIntake: try await restart("intake", pause: pause)
        case .killRouting: try await restart("routing", pause: pause)
        case .killNotification: try await restart("notification", pause: pause)
        case .killReporting: try await restart("reporting", pause: pause)
        case .restartBroker:
            try await control("broker-stop")
            try await Task.sleep(for: .seconds(1))
            try await control("broker-start")  // returns once the node accepts connections
            backInService.withLock { $0 = Date() }
            try await waitUntilAllHealthy()
        case .crashPostgres:
            try await control("postgres-crash")
            try await Task.sleep(for: .seconds(1))
            try await control("postgres-start")  // returns once the server accepts connections
            backInService.withLock { $0 = Date() }
            try await waitUntilAllHealthy()
        case .memoryAlarm:
            try await control("broker-alarm", "on")
            try await Task.sleep(for: .seconds(3))
            try await control("broker-alarm", "off")
        case .malformed:
            let options = try TestEnvironment.amqpOptions(name: "gridloop-fault-poison")
            let tag = prefix
            try await AMQPSession.run(options: options) { session in
                for queue in FaultRun.serviceQueues {
                    let poison = OutgoingMessage(
                        exchange: "",
                        routingKey: queue,
                        body: Array("{ not json".utf8),
                        messageId: "\(tag)poison-\(queue)",
                        type: "request.assigned"
                    )
                    guard case .confirmed = try session.publish(poison) else { throw SystemError("poison for \(queue) not confirmed") }
                }
            }
        case .slaKill:
            // The first requests' 2-second claim deadlines are falling due: kill one sweeper mid-firing.
            try await Task.sleep(for: .milliseconds(Int64.random(in: 1800...2600)))
            try await restart("routing", pause: pause)
        case .unroutableRow:
            // An assignment for a unit whose queue an operator deleted: it stays unroutable
            // while the healthy rows behind it flow.
            try await database.query(
                """
                INSERT INTO intake.outbox (message_id, exchange, routing_key, message_type, body)
                VALUES (\(prefix + "unroutable"), \(GridLoopExchange.assignments), 'grid.nobody-here', 'request.assigned', '{}')
                """
            )
        case .blockedBatch:
            // 600 rows of 20 KB in intake's outbox, straight to a queue of the harness's own (the
            // default exchange: no service sees them): the
            // relay is sending them when the broker raises its alarm and stops reading.
            try await database.query(
                """
                INSERT INTO intake.outbox (message_id, exchange, routing_key, message_type, body)
                SELECT \(prefix + "ballast-") || n, '', \(Self.ballastKey(prefix)), 'harness.ballast',
                       json_build_object('n', n, 'padding', repeat('x', 20000))::text
                FROM generate_series(1, \(Self.ballastRows)) AS n
                """
            )
            try await Task.sleep(for: .milliseconds(150))
            try await control("broker-alarm", "on")
            try await Task.sleep(for: .seconds(5))
            try await control("broker-alarm", "off")
        case .refusedDeclare:
            // The unit's queue was re-created before the load; a fresh routing declares every
            // unit's queue as it starts, this one refused.
            try await restart("routing", pause: pause)
        case .brokerCut, .silentBroker, .postgresCut, .postgresStall, .latency:
            break
        }
        return nil
    }

    /// The blocked-batch phase's rows and their queue.
    static let ballastRows = 600
    static func ballastKey(_ prefix: String) -> String { "harness.ballast.\(prefix)" }

    /// A demo unit the harness never assigns to, whose queue the refused-declare phase re-creates.
    static let refusedUnit = try! UnitRef(parsing: "grid:xiping-merchants-1")

    /// Before the load of `fault`: what the phase needs in place.
    private func prepare(_ fault: Fault, prefix: String) async throws {
        let options = try TestEnvironment.amqpOptions(name: "gridloop-fault-setup")
        switch fault {
        case .blockedBatch:
            let key = Self.ballastKey(prefix)
            try await AMQPSession.run(options: options) { session in
                try session.declare(GridLoopTopology.queue(key, bindings: []))
            }
        case .refusedDeclare:
            // An operator deletes the unit's queue and makes it again by hand, as a classic
            // queue with its binding: GridLoop's declare (quorum, dead-letter exchange) is refused.
            let unit = Self.refusedUnit
            try await AMQPSession.run(options: options) { session in
                try session.deleteQueue(unit.queueName)
                try session.declare(
                    AMQPTopology(
                        queues: [.init(name: unit.queueName, quorum: false)],
                        bindings: [.init(queue: unit.queueName, exchange: GridLoopExchange.assignments, routingKey: unit.routingKey)]
                    )
                )
            }
        default:
            break
        }
    }

    /// After the phase of `fault`: its own checks, and the broker as it was.
    private func conclude(_ fault: Fault, prefix: String, figures: inout FaultFigures) async throws {
        let options = try TestEnvironment.amqpOptions(name: "gridloop-fault-setup")
        switch fault {
        case .blockedBatch:
            // Every ballast row reaches its queue (a copy under the same id is a same-id repeat).
            let key = Self.ballastKey(prefix)
            let deadline = ContinuousClock.now + .seconds(120)
            let ids = try await AMQPSession.run(options: options) { session in
                var ids: [String] = []
                while Set(ids).count < Self.ballastRows, ContinuousClock.now < deadline {
                    guard let message = try session.take(queue: key, wait: .seconds(1)) else { continue }
                    ids.append(message.messageId ?? "")
                    try session.settle(message, .ack)
                }
                while let message = try session.take(queue: key, wait: .milliseconds(500)) {
                    ids.append(message.messageId ?? "")
                    try session.settle(message, .ack)
                }
                try session.deleteQueue(key)
                try session.deleteQueue(GridLoopQueue.dead(key))
                return ids
            }
            let distinct = Set(ids).count
            figures.sameIdRepeats += ids.count - distinct
            figures.notes.append("\(distinct)/\(Self.ballastRows) ballast messages (20 KB) arrived")
            if distinct < Self.ballastRows {
                figures.lost += Self.ballastRows - distinct
                figures.problems.append("ballast: \(Self.ballastRows - distinct) of \(Self.ballastRows) never arrived")
            }
            try await database.query("DELETE FROM intake.outbox WHERE message_id LIKE \(prefix + "ballast-%")")
        case .refusedDeclare:
            let log = (try? String(contentsOf: system.process("routing")!.logFile, encoding: .utf8)) ?? ""
            let logged = log.contains("exists with other arguments")
            figures.notes.append(logged ? "routing logged the refused declare and went on" : "routing never logged the refused declare")
            if !logged { figures.problems.append("routing did not log the refused declare of \(Self.refusedUnit.queueName)") }
            let unit = Self.refusedUnit
            try await AMQPSession.run(options: options) { session in
                try session.deleteQueue(unit.queueName)
                try session.declare(GridLoopTopology.unit(unit))
            }
        default:
            break
        }
    }

    static let serviceQueues = GridLoopQueue.all

    // MARK: Reconciliation

    /// What each accepted request should have once everything settled.
    private struct Expected {
        var escalated: Int
        var overdue: Int
        var trail: Int
        var assignments: Int

        init(_ fault: Fault) {
            // SLA: received, assigned, 3 × (warning, then escalated twice and overdue once).
            escalated = fault.escalates ? 2 : 0
            overdue = fault.escalates ? 1 : 0
            trail = fault.escalates ? 8 : 2
            assignments = fault.escalates ? 3 : 1
        }
    }

    private func complete(_ facts: RequestFacts, _ expected: Expected) -> Bool {
        facts.trail >= expected.trail && facts.assignments >= expected.assignments && facts.reportingEvents >= facts.trail
            && facts.deliveries > 0 && facts.deliveries == facts.deliveriesSent && watcher.arrivals(of: facts.id).count >= expected.assignments
    }

    private func settleAndReconcile(
        _ fault: Fault,
        prefix: String,
        accepted: [String: Date],
        injectedAt: Date,
        figures: inout FaultFigures
    ) async throws {
        let expected = Expected(fault)
        // Settled: every accepted request has every effect, and nothing changed for 3 polls in a row.
        var facts: [String: RequestFacts] = [:]
        var stable = 0
        var previous = ""
        // Generous: the long run's SLA phase fires thousands of timers and sends ~20 notifications a request.
        let patience = Duration.seconds(240) + .milliseconds(500) * accepted.count
        let deadline = ContinuousClock.now + patience
        while ContinuousClock.now < deadline {
            facts = (try? await RequestFacts.load(prefix: prefix, client: database)) ?? [:]
            let done = accepted.keys.allSatisfy { key in facts[key].map { complete($0, expected) } ?? false }
            let fingerprint = facts.values.map {
                "\($0.key):\($0.trail):\($0.deliveries):\($0.deliveriesSent):\($0.reportingEvents):\(watcher.arrivals(of: $0.id).count)"
            }.sorted().joined()
            stable = done && fingerprint == previous ? stable + 1 : 0
            previous = fingerprint
            if stable >= 3 { break }
            try await Task.sleep(for: .seconds(1))
        }

        // Deliveries every plain request gets, learned from the baseline; the SLA phase's from its own majority.
        let counts = accepted.keys.compactMap { facts[$0]?.deliveries }
        let majority = Dictionary(grouping: counts, by: { $0 }).max { $0.value.count < $1.value.count }?.key ?? 0
        let expectedDeliveries =
            fault.escalates
            ? majority
            : plainDeliveries.withLock { known in
                if known == nil { known = majority }
                return known!
            }
        if fault == .none { figures.notes.append("\(expectedDeliveries) notifications a request") }

        func problem(_ text: String) { if figures.problems.count < 50 { figures.problems.append(text) } }
        var requestIds: [String] = []
        for key in accepted.keys.sorted() {
            guard let request = facts[key] else {
                figures.lost += 1
                problem("\(key): no request")
                continue
            }
            requestIds.append(request.id)
            let arrivals = watcher.arrivals(of: request.id)
            let distinctArrivals = Set(arrivals.map(\.assignmentId)).count
            figures.sameIdRepeats += arrivals.count - distinctArrivals
            var lost: [String] = []
            var doubled: [String] = []
            if request.received < 1 { lost.append("received") } else if request.received > 1 { doubled.append("received ×\(request.received)") }
            if request.assigned < 1 { lost.append("assigned") } else if request.assigned > 1 { doubled.append("assigned ×\(request.assigned)") }
            if request.escalated < expected.escalated {
                lost.append("escalated \(request.escalated)")
            } else if request.escalated > expected.escalated {
                doubled.append("escalated ×\(request.escalated)")
            }
            if request.overdue < expected.overdue {
                lost.append("overdue")
            } else if request.overdue > expected.overdue {
                doubled.append("overdue ×\(request.overdue)")
            }
            if request.trail < expected.trail {
                lost.append("trail \(request.trail)")
            } else if request.trail > expected.trail {
                doubled.append("trail \(request.trail)")
            }
            if request.assignments < expected.assignments {
                lost.append("assignments \(request.assignments)")
            } else if request.assignments > expected.assignments {
                doubled.append("assignments ×\(request.assignments)")
            }
            if fault.escalates, request.firedClaims > 3 { doubled.append("claim timers fired ×\(request.firedClaims)") }
            if distinctArrivals < expected.assignments {
                lost.append("assignment messages \(distinctArrivals)")
            } else if distinctArrivals > expected.assignments {
                doubled.append("assignment messages ×\(distinctArrivals)")
            }
            if !request.reportingRow || request.reportingEvents < request.trail {
                lost.append("reporting \(request.reportingEvents)/\(request.trail)")
            }
            if request.reportingEvents > request.trail { doubled.append("reporting events \(request.reportingEvents)") }
            if request.deliveries < expectedDeliveries || request.deliveriesSent < request.deliveries {
                lost.append("notifications \(request.deliveriesSent)/\(expectedDeliveries)")
            }
            if request.deliveries > expectedDeliveries { doubled.append("notifications \(request.deliveries)") }
            if !lost.isEmpty {
                figures.lost += 1
                problem("\(key) \(request.id) missing: \(lost.joined(separator: ", "))")
            }
            if !doubled.isEmpty {
                figures.duplicated += 1
                problem("\(key) \(request.id) twice: \(doubled.joined(separator: ", "))")
            }
            let strays = request.otherTrail + request.reportingNotInTrail + request.deliveriesNotInTrail
            if strays > 0 {
                figures.unexpected += strays
                problem("\(key) \(request.id): \(strays) trail events, reporting events or notifications of no expected kind")
            }
        }
        for key in facts.keys where accepted[key] == nil {
            figures.unexpected += 1
            problem("\(key): a request nobody was told was accepted")
        }

        // Every sent notification reached its receiver, by id.
        let sent = try await RequestFacts.sentDeliveries(requestIds: requestIds, client: database)
        let mails = Dictionary(grouping: system.mail.messages.map(\.delivery), by: { $0 }).mapValues(\.count)
        let posts = Dictionary(grouping: receiver.log.compactMap(\.webhookId), by: { $0 }).mapValues(\.count)
        var unreceived = 0
        for delivery in sent {
            let copies = delivery.channel == "email" ? mails[delivery.id] ?? 0 : posts[delivery.id] ?? 0
            if copies == 0 { unreceived += 1 } else { figures.sameIdRepeats += copies - 1 }
        }
        if unreceived > 0 {
            figures.lost += unreceived
            problem("\(unreceived) notifications marked sent never reached their receiver")
        }
        figures.notes.append("\(sent.count) notifications received")

        // Recovery: from the injection until a request accepted after it arrived in its unit's queue.
        let arrivalsAfter = accepted.filter { $0.value >= injectedAt }.keys.compactMap { key -> Date? in
            guard let id = facts[key]?.id else { return nil }
            return watcher.arrivals(of: id).map(\.at).min()
        }
        if let first = arrivalsAfter.min() { figures.recovery = .milliseconds(Int64(first.timeIntervalSince(injectedAt) * 1000)) }
        // A restart: from the moment the broker or database accepted connections again until the
        // first assignment arrived after it.
        let back = backInService.withLock { value -> Date? in
            defer { value = nil }
            return value
        }
        if let back {
            let arrived = requestIds.flatMap { watcher.arrivals(of: $0).map(\.at) }.filter { $0 >= back }.min()
            figures.flowingAfterBack = arrived.map { .milliseconds(Int64($0.timeIntervalSince(back) * 1000)) }
        }
        if fault.escalates {
            let lateness = try await RequestFacts.lateness(requestIds: requestIds, client: database)
            figures.latenessP50 = percentile(lateness, 0.5)
            figures.latenessP99 = percentile(lateness, 0.99)
            figures.notes.append("\(lateness.count) timers fired")
        }
        if fault == .malformed {
            let listing = try await system.cli("dead-letters", "list")
            let listed = Self.serviceQueues.filter { queue in
                listing.stdout.split(separator: "\n").contains {
                    $0.hasPrefix("\(queue)\t\(prefix)poison-\(queue)\t") && $0.contains("not a GridLoop envelope")
                }
            }
            figures.notes.append("\(listed.count)/\(Self.serviceQueues.count) dead-lettered with reason")
            if listed.count != Self.serviceQueues.count {
                figures.lost += Self.serviceQueues.count - listed.count
                problem("poison messages not dead-lettered with reason: \(Set(Self.serviceQueues).subtracting(listed))")
            }
        }
        if fault == .unroutableRow {
            let row = try await database.query(
                "SELECT attempts, published_at IS NOT NULL, next_attempt_at > now() FROM intake.outbox WHERE message_id = \(prefix + "unroutable")"
            ).collect().first?.decode((Int, Bool, Bool?).self)
            figures.notes.append("the unroutable row: \(row.map { "\($0.0) attempts, backing off: \($0.2 ?? false)" } ?? "gone")")
            if row?.1 == true || (row?.0 ?? 0) < 1 {
                figures.unexpected += 1
                problem("the unroutable row was published or never tried: \(String(describing: row))")
            }
            try await database.query("DELETE FROM intake.outbox WHERE message_id = \(prefix + "unroutable")")
        }
        if stable < 3 { problem("did not settle within \(patience)") }
    }

    /// The Markdown report `deploy/local.sh faults` commits.
    static func report(table: String, rows: [FaultFigures], perFault: Int) -> String {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let memory = ProcessInfo.processInfo.physicalMemory >> 30
        let when = ISO8601DateFormatter().string(from: Date())
        return """
            # Fault-injection figures

            \(when), \(cores) cores, \(memory) GiB, Debian 12, debug build of every service, RabbitMQ and PostgreSQL \
            from Debian on the same machine. \(rows.count) faults × \(perFault) requests = \(rows.count * perFault) requests \
            (`deploy/local.sh faults`; the test suite runs the same harness with fewer).

            Each phase submits its requests from 8 concurrent clients (one in ten through `gridloop submit`, \
            the rest over HTTP with an `Idempotency-Key`, retried until acknowledged), injects its fault once \
            ~30% are acknowledged, waits until the system settled and reconciles every acknowledged request \
            against intake's requests and trail, routing's assignments and timers, the assignment messages \
            drained from the unit queues, reporting's event store and read model, notification's deliveries \
            and what the SMTP sink and the webhook/SMS receiver got, by id.

            - **lost**: an acknowledged request missing any expected effect; **duplicated**: an effect twice \
            under different ids; **unexpected**: a request or event nobody asked for.
            - **same-id repeats**: copies carrying the same id (a republished assignment message, a \
            notification re-sent after an unknown outcome): at-least-once by design, removable by id.
            - **recovery**: from the injection until a request accepted after it arrives in its unit's queue. \
            The baseline's figure is the pipeline's own lag at this load (the debug build assigns more slowly \
            than it accepts); compare each fault against it.
            - **flowing after back**: the restarts: from the moment the restarted RabbitMQ or PostgreSQL \
            accepted connections again until the first assignment arrived in a unit's queue after it.
            - **escalation lateness**: fired − due of every claim timer (2 s claim deadlines, sweeps every 200 ms).

            \(table)
            """
    }
}
