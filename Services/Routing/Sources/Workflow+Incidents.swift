import Foundation
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import Logging
import PostgresNIO

/// When to make one incident of many reports (`ROUTING_INCIDENT_THRESHOLD` requests of one
/// category in one grid within `ROUTING_INCIDENT_WINDOW_MINUTES`; threshold 0 turns it off).
struct IncidentRules: Sendable {
    var threshold: Int = 5
    var window: Duration = .seconds(120 * 60)
}

extension Workflow {
    /// Before a new request placed in `grid` is assigned: if an open incident of its category
    /// is there, or if with it enough unclaimed requests of the category came to the grid within
    /// the window (then they become one incident led by the oldest), the request is linked —
    /// merged into the lead, never assigned — and `true` is returned. Linked reporters are told,
    /// and told again when the lead is resolved; the lead is worked, escalated and resolved once
    /// for all. Serialized per grid and category, in the caller's transaction.
    func linkToIncident(_ requestId: UUID, grid: String, category: String, correlationId: String, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        guard incidents.threshold > 1 else { return false }
        try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\("incident:\(grid):\(category)")))", logger: logger)
        let open = try await connection.query(
            """
            SELECT i.id, i.lead_request_id FROM routing.incidents i JOIN routing.requests r ON r.id = i.lead_request_id
            WHERE i.grid_id = \(grid) AND i.category = \(category) AND r.state NOT IN ('closed', 'rejected', 'merged') ORDER BY i.created_at DESC LIMIT 1
            """,
            logger: logger
        ).collect().first.map { try $0.decode((UUID, UUID).self) }
        if let (incident, lead) = open {
            try await link([requestId], to: lead, incident: incident, count: nil, grid: grid, category: category, correlationId: correlationId, on: connection, logger: logger)
            return true
        }
        let seconds = Double(incidents.window.components.seconds)
        let waiting = try await connection.query(
            """
            SELECT id FROM routing.requests
            WHERE category = \(category) AND unit = \("grid:\(grid)") AND state = 'assigned' AND incident_id IS NULL AND id <> \(requestId)
              AND created_at > now() - make_interval(secs => \(seconds))
            ORDER BY created_at, id
            """,
            logger: logger
        ).collect().map { try $0.decode(UUID.self) }
        guard waiting.count + 1 >= incidents.threshold, let lead = waiting.first else { return false }
        let incident = UUID()
        try await connection.query(
            "INSERT INTO routing.incidents (id, grid_id, category, lead_request_id) VALUES (\(incident), \(grid), \(category), \(lead))",
            logger: logger
        )
        try await connection.query("UPDATE routing.requests SET incident_id = \(incident) WHERE id = \(lead)", logger: logger)
        try await link(Array(waiting.dropFirst()) + [requestId], to: lead, incident: incident, count: waiting.count + 1, grid: grid, category: category,
                       correlationId: correlationId, on: connection, logger: logger)
        logger.info("incident opened", metadata: ["incident.id": "\(incident)", "lead": "\(lead)", "requests": "\(waiting.count + 1)", "grid": "\(grid)", "category": "\(category)"])
        return true
    }

    private func link(
        _ requests: [UUID], to lead: UUID, incident: UUID, count: Int?, grid: String, category: String, correlationId: String,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        let leadText = lead.uuidString.lowercased()
        let why = "同一网格\(count.map { "\($0)户" } ?? "多户")反映同类问题（\(category)），合并为一件办理（事件 \(incident.uuidString.lowercased().prefix(8))），由 \(leadText.prefix(8)) 统一办理"
        for request in requests {
            let rows = try await connection.query(
                "SELECT state, unit, claimed_by, version FROM routing.requests WHERE id = \(request) FOR UPDATE", logger: logger
            ).collect()
            guard let row = rows.first else { continue }
            let (stateText, unitText, claimedBy, version) = try row.decode((String, String?, String?, Int).self)
            guard let state = RequestState(rawValue: stateText) else { continue }
            var lifecycle = RequestLifecycle(state: state, unit: unitText.flatMap { try? UnitRef(parsing: $0) }, claimedBy: claimedBy, version: version)
            guard (try? lifecycle.apply(.merge)) != nil else { continue }
            try await save(request, lifecycle, previousVersion: version, on: connection, logger: logger)
            try await connection.query("UPDATE routing.requests SET incident_id = \(incident) WHERE id = \(request)", logger: logger)
            let assignments = try await connection.query("SELECT id FROM routing.assignments WHERE request_id = \(request)", logger: logger).collect().map { try $0.decode(UUID.self) }
            for assignment in assignments { try await timers.cancel(assignment: assignment, on: connection, logger: logger) }
            let requestText = request.uuidString.lowercased()
            let event = MessageEnvelope(
                type: MessageType.requestMerged, requestId: requestText, correlationId: correlationId, requestVersion: lifecycle.version,
                payload: RequestEnded(requestId: requestText, staff: "routing", reason: why, into: leadText)
            )
            try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
        }
    }
}
