import Foundation
import GridLoopDomain
import Logging

/// When to make one incident of many reports: `ROUTING_INCIDENT_THRESHOLD` requests of one
/// category in one grid within `ROUTING_INCIDENT_WINDOW_MINUTES` (threshold 0 turns it off) —
/// and, with `ROUTING_INCIDENT_ACROSS_GRIDS` on, as many from the grids of one street, within
/// `ROUTING_INCIDENT_DISTANCE_METERS` of each other where both reports have coordinates.
/// An incident with reports from more than one grid is handled at the street.
struct IncidentRules: Sendable {
    var threshold: Int = 5
    var window: Duration = .seconds(120 * 60)
    var acrossGrids: Bool = true
    var distanceMeters: Double = 800

    var windowSeconds: Double { Double(window.components.seconds) }
}

extension Workflow {
    /// Before a new request placed in `grid` is assigned: if an open incident of its category
    /// is there (or, across grids, in the grid's street with a report within the window and the
    /// distance), or if with it enough unclaimed requests of the category came to the grid (or
    /// to the street's grids) within the window — then they become one incident led by the
    /// oldest — the request is linked: merged into the lead, never assigned, and `true` is
    /// returned. Linked reporters are told, and told again when the lead is resolved; the lead
    /// is worked, escalated and resolved once for all, at the street once reports come from
    /// more than one grid. Serialized per street (or grid) and category, in the caller's transaction.
    func linkToIncident(
        _ requestId: RequestID,
        grid: String,
        category: String,
        location: Location,
        correlationId: String,
        store: PostgresRoutingStore
    ) async throws -> Bool {
        guard incidents.threshold > 1 else { return false }
        let street = incidents.acrossGrids ? try await store.streetOfGrid(grid) : nil
        try await store.lockIncidents(place: street.map { "street:\($0)" } ?? "grid:\(grid)", category: category)
        guard let record = try await store.lockRequest(requestId) else { return false }
        let near = Nearby(latitude: location.latitude, longitude: location.longitude, meters: incidents.distanceMeters)
        if let open = try await store.incidentToJoin(grid: grid, street: street, category: category, near: near, window: incidents.windowSeconds) {
            let grids = Set(try await store.incidentGrids(open.incident) + [grid]).sorted()
            let why = reason(grids: grids, count: nil, category: category, incident: open.incident, lead: open.lead)
            try await store.link(record, into: open.lead, incident: open.incident, staff: "routing", reason: why, correlationId: correlationId)
            if grids.count > 1, let street {
                try await store.widen(open.incident, lead: open.lead, street: street, grids: grids, staff: "routing", correlationId: correlationId)
            }
            return true
        }
        let sameGrid = try await store.waitingForIncident(
            grid: grid,
            street: nil,
            category: category,
            besides: requestId,
            near: near,
            window: incidents.windowSeconds
        )
        if sameGrid.count + 1 >= incidents.threshold {
            try await open(with: sameGrid, record, grid: grid, street: nil, category: category, correlationId: correlationId, store: store)
            return true
        }
        guard let street else { return false }
        let inStreet = try await store.waitingForIncident(
            grid: nil,
            street: street,
            category: category,
            besides: requestId,
            near: near,
            window: incidents.windowSeconds
        )
        guard inStreet.count + 1 >= incidents.threshold, Set(inStreet.map(\.grid) + [grid]).count > 1 else { return false }
        try await open(with: inStreet, record, grid: grid, street: street, category: category, correlationId: correlationId, store: store)
        return true
    }

    /// Opens an incident led by the oldest of `waiting`, links the rest and `record` into it,
    /// and, when they come from several grids of `street`, hands it to the street.
    private func open(
        with waiting: [(id: RequestID, grid: String)],
        _ record: RequestRecord,
        grid: String,
        street: String?,
        category: String,
        correlationId: String,
        store: PostgresRoutingStore
    ) async throws {
        guard let lead = waiting.first else { return }
        let incident = UUID()
        try await store.insertIncident(incident, grid: lead.grid, street: try await store.streetOfGrid(lead.grid), category: category, lead: lead.id)
        try await store.setIncident(incident, of: lead.id)
        let grids = Set(waiting.map(\.grid) + [grid]).sorted()
        let why = reason(grids: grids, count: waiting.count + 1, category: category, incident: incident, lead: lead.id)
        for other in waiting.dropFirst() {
            let locked: RequestRecord?
            do { locked = try await store.lockRequest(other.id) } catch is CommandRefused { continue }  // a state this code does not know
            guard let locked else { continue }
            try await store.link(locked, into: lead.id, incident: incident, staff: "routing", reason: why, correlationId: correlationId)
        }
        try await store.link(record, into: lead.id, incident: incident, staff: "routing", reason: why, correlationId: correlationId)
        if grids.count > 1, let street {
            try await store.widen(incident, lead: lead.id, street: street, grids: grids, staff: "routing", correlationId: correlationId)
        }
        store.logger.info(
            "incident opened",
            metadata: [
                "incident.id": "\(incident)", "lead": "\(lead.id)", "requests": "\(waiting.count + 1)", "grids": "\(grids.joined(separator: ","))",
                "category": "\(category)",
            ]
        )
    }

    private func reason(grids: [String], count: Int?, category: String, incident: UUID, lead: RequestID) -> String {
        let short = incident.uuidString.lowercased().prefix(8)
        let who = grids.count > 1 ? "\(grids.count)个网格（\(grids.joined(separator: "、"))）" : "同一网格"
        let handled = grids.count > 1 ? "由街道统一办理" : "统一办理"
        return "\(who)\(count.map { "\($0)户" } ?? "多户")反映同类问题（\(category)），合并为一件办理（事件 \(short)），由 \(lead.description.prefix(8)) \(handled)"
    }
}

/// Within how many meters of a point (when the request has coordinates).
struct Nearby: Sendable {
    var latitude: Double?
    var longitude: Double?
    var meters: Double
}
