import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopServiceSupport
import GridLoopTestSupport
import PostgresNIO
import Synchronization

/// One fault the harness injects while requests flow.
enum Fault: String, CaseIterable, Sendable {
    case none = "none (baseline)"
    case killIntake = "SIGKILL intake"
    case killRouting = "SIGKILL routing"
    case killNotification = "SIGKILL notification"
    case killReporting = "SIGKILL reporting"
    case restartBroker = "RabbitMQ restarted"
    case crashPostgres = "PostgreSQL immediate stop + start"
    case memoryAlarm = "broker memory alarm"
    case redeliverAll = "every message delivered twice"
    case malformed = "malformed message on every queue"
    case slaKill = "SLA timers, 2 routing replicas, one SIGKILLed"
    case unroutableRow = "an outbox row that stays unroutable"
    case blockedBatch = "broker memory alarm while a 12-MB outbox batch is sent"
    case refusedDeclare = "a unit's queue re-created with other arguments (its declare refused), routing restarted"
    // Through the fault proxy (deploy/tools/fault-proxy.py) between every service and the broker
    // and the database:
    case brokerCut = "broker connections cut mid-frame (each way)"
    case silentBroker = "silent broker (replies dropped 12 s, > 2 heartbeats)"
    case postgresCut = "database connections cut mid-query"
    case postgresStall = "database stalled 5 s (socket open, nothing moves)"
    case latency = "200 ms latency both ways to broker and database"

    /// Whether the services reach the broker and the database through the proxies.
    var network: Bool { [.brokerCut, .silentBroker, .postgresCut, .postgresStall, .latency].contains(self) }

    /// SLA requests climb grid → street → district unclaimed; the others stay at the grid.
    var escalates: Bool { self == .slaKill }

    /// A short name for request keys.
    var tag: String {
        switch self {
        case .none: "none"
        case .killIntake: "kill-intake"
        case .killRouting: "kill-routing"
        case .killNotification: "kill-notification"
        case .killReporting: "kill-reporting"
        case .restartBroker: "broker"
        case .crashPostgres: "postgres"
        case .memoryAlarm: "alarm"
        case .redeliverAll: "redeliver"
        case .malformed: "malformed"
        case .slaKill: "sla"
        case .brokerCut: "broker-cut"
        case .silentBroker: "silent-broker"
        case .postgresCut: "postgres-cut"
        case .postgresStall: "postgres-stall"
        case .latency: "latency"
        case .unroutableRow: "unroutable"
        case .blockedBatch: "blocked-batch"
        case .refusedDeclare: "refused-declare"
        }
    }
}

/// What one fault's phase ended with.
struct FaultFigures: Sendable {
    var fault: Fault
    /// Requests acknowledged to their submitter (a 2xx over HTTP, exit 0 of a confirmed CLI submit).
    var accepted = 0
    /// Accepted requests missing any expected effect (row, trail event, assignment, assignment
    /// message in the unit's queue, reporting event, notification) once the system settled.
    var lost = 0
    /// Accepted requests with an effect more than once under different ids (two assignments,
    /// escalations, trail events of one kind, reporting events, notifications beyond their id).
    var duplicated = 0
    /// Effects nobody asked for: requests not accepted, trail events or notifications of no
    /// expected kind.
    var unexpected = 0
    /// Copies with the same id (a republished message, a notification re-sent after an unknown
    /// outcome): at-least-once by design, absorbed by ids; counted, not failed.
    var sameIdRepeats = 0
    /// From the injection (a network fault: from the moment the network healed) to the first
    /// request accepted after it arriving in its unit's queue.
    var recovery: Duration?
    /// Restarts of the broker or the database: from the moment it accepted connections again
    /// until the first assignment arrived in a unit's queue after it.
    var flowingAfterBack: Duration?
    /// Network faults: from the moment the network healed until every service's `/health` is 200.
    var healthyAfterHeal: Duration?
    /// Fired claim timers: fired − due, p50 and p99.
    var latenessP50: Duration?
    var latenessP99: Duration?
    /// Seconds from the phase's start until everything settled.
    var settled: Duration = .zero
    var notes: [String] = []
    /// Why the phase failed, per request (the first few).
    var problems: [String] = []

    var clean: Bool { lost == 0 && duplicated == 0 && unexpected == 0 }
}

/// Drains the harness's unit queues all run long (as tier staff would), recording which
/// assignment of which request arrived where and when.
final class QueueWatcher: Sendable {
    struct Arrival: Sendable {
        var assignmentId: String
        var queue: String
        var at: Date
    }

    private let units: [UnitRef]
    private let arrivals = Mutex<[String: [Arrival]]>([:])
    private let undecodable = Mutex(0)
    private let stopping = Mutex(false)
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(units: [UnitRef]) {
        self.units = units
    }

    func start() {
        let running = Task { [self] in
            while !stopping.withLock({ $0 }) {
                do {
                    let options = try TestEnvironment.amqpOptions(name: "gridloop-fault-watcher")
                    try await AMQPSession.run(options: options) { [self] session in
                        for unit in units { try session.declare(GridLoopTopology.unit(unit)) }
                        while !stopping.withLock({ $0 }) {
                            for unit in units {
                                while let message = try session.take(queue: unit.queueName, wait: .milliseconds(30)) {
                                    record(message, queue: unit.queueName)
                                    try session.settle(message, .ack)
                                }
                            }
                        }
                    }
                } catch {
                    try? await Task.sleep(for: .milliseconds(300))  // the broker restarts: connect again
                }
            }
        }
        task.withLock { $0 = running }
    }

    private func record(_ message: IncomingMessage, queue: String) {
        guard let envelope = try? WireJSON.decode(MessageEnvelope<RequestAssigned>.self, from: message.body) else {
            undecodable.withLock { $0 += 1 }
            return
        }
        let arrival = Arrival(assignmentId: envelope.payload.assignmentId, queue: queue, at: Date())
        arrivals.withLock { $0[envelope.payload.requestId.lowercased(), default: []].append(arrival) }
    }

    /// Every arrival of `requestId`'s assignments.
    func arrivals(of requestId: String) -> [Arrival] {
        arrivals.withLock { $0[requestId.lowercased()] ?? [] }
    }

    var undecodableCount: Int { undecodable.withLock { $0 } }

    func stop() async {
        stopping.withLock { $0 = true }
        let running = task.withLock { $0 }
        await running?.value
    }
}

/// What the database says about one request, across every service's schema.
struct RequestFacts: Sendable {
    var key: String
    var id: String
    var received: Int
    var assigned: Int
    var escalated: Int
    var overdue: Int
    var otherTrail: Int
    var trail: Int
    var assignments: Int
    var firedClaims: Int
    var reportingRow: Bool
    var reportingEvents: Int
    var reportingNotInTrail: Int
    var deliveries: Int
    var deliveriesSent: Int
    var deliveriesNotInTrail: Int

    static func load(prefix: String, client: PostgresClient) async throws -> [String: RequestFacts] {
        do {
            let rows = try await client.query(
                """
                SELECT r.idempotency_key, r.id::text,
                  (SELECT count(*) FROM intake.trail t WHERE t.request_id = r.id AND t.event_type = 'request.received')::int,
                  (SELECT count(*) FROM intake.trail t WHERE t.request_id = r.id AND t.event_type = 'request.assigned')::int,
                  (SELECT count(*) FROM intake.trail t WHERE t.request_id = r.id AND t.event_type = 'request.escalated')::int,
                  (SELECT count(*) FROM intake.trail t WHERE t.request_id = r.id AND t.event_type = 'request.overdue')::int,
                  (SELECT count(*) FROM intake.trail t WHERE t.request_id = r.id AND t.event_type NOT IN
                     ('request.received', 'request.assigned', 'request.escalated', 'request.overdue', 'request.deadline.warning'))::int,
                  (SELECT count(*) FROM intake.trail t WHERE t.request_id = r.id)::int,
                  (SELECT count(*) FROM routing.assignments a WHERE a.request_id = r.id)::int,
                  (SELECT count(*) FROM routing.timers m WHERE m.request_id = r.id AND m.kind = 'claim' AND m.fired_at IS NOT NULL)::int,
                  EXISTS (SELECT 1 FROM reporting.requests q WHERE q.id = r.id::text),
                  (SELECT count(*) FROM reporting.events e WHERE e.request_id = r.id::text)::int,
                  (SELECT count(*) FROM reporting.events e WHERE e.request_id = r.id::text
                     AND NOT EXISTS (SELECT 1 FROM intake.trail t WHERE t.event_id = e.message_id))::int,
                  (SELECT count(*) FROM notification.deliveries d WHERE d.request_id = r.id::text)::int,
                  (SELECT count(*) FROM notification.deliveries d WHERE d.request_id = r.id::text AND d.status = 'delivered')::int,
                  (SELECT count(*) FROM notification.deliveries d WHERE d.request_id = r.id::text
                     AND NOT EXISTS (SELECT 1 FROM intake.trail t WHERE t.event_id = d.event_id))::int
                FROM intake.requests r WHERE r.idempotency_key LIKE \(prefix + "%")
                """
            ).collect()
            var facts: [String: RequestFacts] = [:]
            for row in rows {
                let c = try row.decode((String, String, Int, Int, Int, Int, Int, Int, Int, Int, Bool, Int, Int, Int, Int, Int).self)
                facts[c.0] = RequestFacts(
                    key: c.0,
                    id: c.1,
                    received: c.2,
                    assigned: c.3,
                    escalated: c.4,
                    overdue: c.5,
                    otherTrail: c.6,
                    trail: c.7,
                    assignments: c.8,
                    firedClaims: c.9,
                    reportingRow: c.10,
                    reportingEvents: c.11,
                    reportingNotInTrail: c.12,
                    deliveries: c.13,
                    deliveriesSent: c.14,
                    deliveriesNotInTrail: c.15
                )
            }
            return facts
        }
    }

    /// Delivered delivery ids with their channel.
    static func sentDeliveries(requestIds: [String], client: PostgresClient) async throws -> [(id: String, channel: String)] {
        do {
            let rows = try await client.query(
                "SELECT id, channel FROM notification.deliveries WHERE request_id = ANY(\(requestIds)) AND status = 'delivered'"
            )
            var sent: [(id: String, channel: String)] = []
            for try await (id, channel) in rows.decode((String, String).self) { sent.append((id, channel)) }
            return sent
        }
    }

    /// Fired claim timers' lateness (fired − due) of these requests.
    static func lateness(requestIds: [String], client: PostgresClient) async throws -> [Duration] {
        let uuids = requestIds.compactMap(UUID.init(uuidString:))
        do {
            let rows = try await client.query(
                "SELECT (extract(epoch FROM fired_at - due_at) * 1000)::float8 FROM routing.timers WHERE request_id = ANY(\(uuids)) AND fired_at IS NOT NULL"
            )
            var values: [Duration] = []
            for try await milliseconds in rows.decode(Double.self) { values.append(.milliseconds(Int64(milliseconds.rounded()))) }
            return values.sorted()
        }
    }
}

/// The p-th percentile (0…1) of sorted values, nearest rank.
func percentile(_ sorted: [Duration], _ p: Double) -> Duration? {
    guard !sorted.isEmpty else { return nil }
    let rank = Int((p * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}

extension Duration {
    /// Seconds with `digits` decimals.
    func seconds(_ digits: Int = 1) -> String {
        String(format: "%.\(digits)f", Double(components.seconds) + Double(components.attoseconds) / 1e18)
    }

    var milliseconds: String {
        String(format: "%.0f", (Double(components.seconds) + Double(components.attoseconds) / 1e18) * 1000)
    }
}

/// The figures as a Markdown table.
func faultTable(_ rows: [FaultFigures]) -> String {
    var lines = [
        "| fault | accepted | lost | duplicated | unexpected | same-id repeats | recovery s | flowing after back s | healthy after heal s | escalation lateness p50 / p99 ms | settled s | notes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows {
        let lateness = row.latenessP50.map { "\($0.milliseconds) / \(row.latenessP99?.milliseconds ?? "-")" } ?? "-"
        lines.append(
            "| \(row.fault.rawValue) | \(row.accepted) | \(row.lost) | \(row.duplicated) | \(row.unexpected) | \(row.sameIdRepeats) | "
                + "\(row.recovery?.seconds() ?? "-") | \(row.flowingAfterBack?.seconds() ?? "-") | \(row.healthyAfterHeal?.seconds() ?? "-") | \(lateness) | \(row.settled.seconds()) | \(row.notes.joined(separator: "; ")) |"
        )
    }
    let total = rows.reduce(into: (0, 0, 0, 0)) { sum, row in
        sum.0 += row.accepted
        sum.1 += row.lost
        sum.2 += row.duplicated
        sum.3 += row.unexpected
    }
    lines.append("| **all** | \(total.0) | \(total.1) | \(total.2) | \(total.3) | | | | | | | |")
    return lines.joined(separator: "\n")
}
