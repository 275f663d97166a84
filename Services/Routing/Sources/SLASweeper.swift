import Foundation
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import Logging
import Metrics
import PostgresNIO
import ServiceLifecycle

/// Fires due SLA timers: an unclaimed or unresolved grid or street assignment is escalated one
/// tier (``RoutingStore/escalate(_:assignment:staff:reason:correlationId:)``); a district one
/// raises `request.overdue` for the supervisors and stays open until solved; a warning timer
/// raises `request.deadline.warning`. `workers` loops fire concurrently, each taking up to
/// `batch` due timers with their requests in one transaction (`FOR UPDATE OF t, r SKIP
/// LOCKED`), so routing's replicas share the work, every timer fires once, and a staff command
/// racing a timer either wins before (the timer is found moot) or waits and finds the request
/// moved on. Why batches and why the request rows are locked with the timers:
/// `docs/design/sla-sweeper.md`. A failed batch is rolled back whole and taken again after `interval`.
struct SLASweeper: Service {
    let workflow: Workflow
    let interval: Duration
    let workers: Int
    let batch: Int
    let logger: Logger
    private let fired = Counter(label: "gridloop_sla_timers_fired_total")

    init(workflow: Workflow, interval: Duration, workers: Int = 4, batch: Int = 256, logger: Logger) {
        self.workflow = workflow
        self.interval = interval
        self.workers = max(1, workers)
        self.batch = max(1, batch)
        self.logger = logger
    }

    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<workers { group.addTask { await sweep() } }
        }
    }

    private func sweep() async {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                while true {
                    let count = try await withDeadline(
                        .seconds(30),
                        "SLA sweep",
                        { [workflow, logger, batch] in
                            try await workflow.fireDueTimers(limit: batch, logger: logger)
                        }
                    )
                    fired.increment(by: count)
                    if count == 0 || Task.isShuttingDownGracefully { break }
                }
            } catch {
                logger.warning("SLA sweep failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

extension Workflow {
    /// Fires up to `limit` due timers, earliest first, in one transaction; returns how many
    /// (0 when none is due).
    func fireDueTimers(limit: Int, logger: Logger) async throws -> Int {
        // The escalations' messages go to the relay once committed.
        try await relay.handingOff {
            try await postgres.transaction(logger: logger) { [self] connection -> Int in
                var store = store(on: connection, logger: logger)
                let due = try await store.takeDueTimers(limit: limit)
                guard !due.isEmpty else { return 0 }
                // Read once for the batch: the escalations' new deadlines take the SLA from memory.
                let org = try await timers.sla(version: nil, on: connection, logger: logger)
                store.orgVersion = org.version
                let (together, alone) = SLARules.plan(due)
                try await store.escalate(together, org: org, staff: "sla")
                if !together.isEmpty { logger.info("SLA escalations", metadata: ["count": "\(together.count)"]) }
                for timer in alone {
                    try await fire(
                        timer: timer.timer,
                        requestId: timer.requestId,
                        assignment: timer.assignment,
                        kind: timer.kind,
                        dueAt: timer.dueAt,
                        orgVersion: org.version,
                        on: connection,
                        logger: logger
                    )
                }
                return due.count
            }
        }
    }

    private func fire(
        timer: UUID,
        requestId: RequestID,
        assignment: UUID,
        kind: String,
        dueAt: Date,
        orgVersion: Int,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        var logger = logger
        logger[metadataKey: "request.id"] = "\(requestId)"
        logger[metadataKey: "sla.timer"] = "\(kind)"
        var store = store(on: connection, logger: logger)
        store.orgVersion = orgVersion
        let request: RequestRecord?
        do { request = try await store.lockRequest(requestId) } catch is CommandRefused {
            return try await settle(timer, "cancelled_at", on: connection, logger: logger)  // a state this code does not know: moot
        }
        let current = try await store.ownerAssignment(of: requestId)
        guard let request else { return try await settle(timer, "cancelled_at", on: connection, logger: logger) }
        let (lifecycle, correlationId) = (request.lifecycle, request.correlationId)
        let base = kind.replacingOccurrences(of: "-warning", with: "")
        if current != assignment {
            return try await fireSummons(
                timer: timer,
                requestId: requestId,
                assignment: assignment,
                kind: kind,
                dueAt: dueAt,
                version: lifecycle.version,
                state: lifecycle.state,
                correlationId: correlationId,
                on: connection,
                logger: logger
            )
        }
        let state = lifecycle.state
        guard let unit = lifecycle.unit,
            (base == DeadlineKind.claim.rawValue && state == .assigned) || (base == DeadlineKind.resolve.rawValue && state == .claimed)
        else { return try await settle(timer, "cancelled_at", on: connection, logger: logger) }

        try await settle(timer, "fired_at", on: connection, logger: logger)
        if base != kind {
            try await alert(
                MessageType.deadlineWarning,
                requestId: requestId,
                assignment: assignment,
                unit: unit,
                deadline: base,
                dueAt: dueAt,
                state: state,
                version: lifecycle.version,
                correlationId: correlationId,
                on: connection,
                logger: logger
            )
            return
        }
        let reason = SLARules.overdueReason(kind: kind, unit: unit)
        if unit.tier < .district {
            do {
                _ = try await store.escalate(request, assignment: assignment, staff: "sla", reason: reason, correlationId: correlationId)
                logger.info("SLA escalation", metadata: ["from": "\(unit)"])
                return
            } catch let refused as CommandRefused {
                logger.warning("SLA escalation impossible; alerting supervisors", metadata: ["reason": "\(refused.message)"])
            }
        }
        try await alert(
            MessageType.requestOverdue,
            requestId: requestId,
            assignment: assignment,
            unit: unit,
            deadline: kind,
            dueAt: dueAt,
            state: state,
            version: lifecycle.version,
            correlationId: correlationId,
            on: connection,
            logger: logger
        )
        logger.warning("overdue at the district: supervisors alerted", metadata: ["unit": "\(unit)"])
    }

    /// An overdue alert or a deadline warning: an event, no state change.
    private func alert(
        _ type: String,
        requestId: RequestID,
        assignment: UUID,
        unit: UnitRef,
        deadline: String,
        dueAt: Date,
        state: RequestState,
        version: Int,
        correlationId: String,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let payload = RequestOverdue(
            requestId: requestId.description,
            assignmentId: assignment.uuidString.lowercased(),
            unit: unit,
            deadline: deadline,
            dueAt: dueAt,
            state: state
        )
        let event = MessageEnvelope(type: type, requestId: payload.requestId, correlationId: correlationId, requestVersion: version, payload: payload)
        try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
    }

    /// A summoned department late to acknowledge (or to finish): the alert is charged to it.
    private func fireSummons(
        timer: UUID,
        requestId: RequestID,
        assignment: UUID,
        kind: String,
        dueAt: Date,
        version: Int,
        state: RequestState,
        correlationId: String,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let base = kind.replacingOccurrences(of: "-warning", with: "")
        let late = try await connection.query(
            """
            SELECT unit FROM routing.summons WHERE assignment_id = \(assignment) AND done_at IS NULL
                AND (\(base) = 'resolve' OR acknowledged_at IS NULL)
            """,
            logger: logger
        ).collect().first?.decode(String.self)
        guard let late, let unit = try? UnitRef(parsing: late) else { return try await settle(timer, "cancelled_at", on: connection, logger: logger) }
        try await settle(timer, "fired_at", on: connection, logger: logger)
        let deadline = base == "claim" ? "summons acknowledgement" : "summons completion"
        try await alert(
            base == kind ? MessageType.requestOverdue : MessageType.deadlineWarning,
            requestId: requestId,
            assignment: assignment,
            unit: unit,
            deadline: deadline,
            dueAt: dueAt,
            state: state,
            version: version,
            correlationId: correlationId,
            on: connection,
            logger: logger
        )
        if base == kind { logger.warning("summoned department late: supervisors alerted", metadata: ["unit": "\(unit)"]) }
    }

    private func settle(_ timer: UUID, _ column: String, on connection: PostgresConnection, logger: Logger) async throws {
        precondition(column == "fired_at" || column == "cancelled_at")
        try await connection.query("UPDATE routing.timers SET \(unescaped: column) = now() WHERE id = \(timer)", logger: logger)
    }
}
