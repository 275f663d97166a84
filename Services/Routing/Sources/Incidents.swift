import Foundation
import GridLoopDomain
import Logging

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
    func linkToIncident(
        _ requestId: RequestID,
        grid: String,
        category: String,
        correlationId: String,
        store: PostgresRoutingStore
    ) async throws -> Bool {
        guard incidents.threshold > 1 else { return false }
        try await store.lockIncidents(grid: grid, category: category)
        if let (incident, lead) = try await store.openIncident(grid: grid, category: category) {
            try await link([requestId], to: lead, incident: incident, count: nil, category: category, correlationId: correlationId, store: store)
            return true
        }
        let waiting = try await store.waitingForIncident(
            grid: grid,
            category: category,
            besides: requestId,
            window: Double(incidents.window.components.seconds)
        )
        guard waiting.count + 1 >= incidents.threshold, let lead = waiting.first else { return false }
        let incident = UUID()
        try await store.insertIncident(incident, grid: grid, category: category, lead: lead)
        try await store.setIncident(incident, of: lead)
        try await link(
            Array(waiting.dropFirst()) + [requestId],
            to: lead,
            incident: incident,
            count: waiting.count + 1,
            category: category,
            correlationId: correlationId,
            store: store
        )
        store.logger.info(
            "incident opened",
            metadata: [
                "incident.id": "\(incident)", "lead": "\(lead)", "requests": "\(waiting.count + 1)", "grid": "\(grid)", "category": "\(category)",
            ]
        )
        return true
    }

    private func link(
        _ requests: [RequestID],
        to lead: RequestID,
        incident: UUID,
        count: Int?,
        category: String,
        correlationId: String,
        store: PostgresRoutingStore
    ) async throws {
        let leadText = lead.description
        let why =
            "同一网格\(count.map { "\($0)户" } ?? "多户")反映同类问题（\(category)），合并为一件办理（事件 \(incident.uuidString.lowercased().prefix(8))），由 \(leadText.prefix(8)) 统一办理"
        for request in requests {
            let locked: RequestRecord?
            do { locked = try await store.lockRequest(request) } catch is CommandRefused { continue }  // a state this code does not know
            guard let record = locked, let merged = try? record.lifecycle.applying(.merge) else { continue }
            try await store.save(request, merged, previousVersion: record.lifecycle.version)
            try await store.setIncident(incident, of: request)
            for assignment in try await store.assignments(of: request) { try await store.cancelTimers(assignment: assignment) }
            let event = MessageEnvelope(
                type: MessageType.requestMerged,
                requestId: record.id.description,
                correlationId: correlationId,
                requestVersion: merged.version,
                payload: RequestEnded(requestId: record.id.description, staff: "routing", reason: why, into: leadText)
            )
            try await store.emit(event: event)
        }
    }
}
