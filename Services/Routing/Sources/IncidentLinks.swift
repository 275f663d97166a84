import Foundation
import GridLoopDomain

/// What linking a report into an incident does, whoever decides it (routing on placement,
/// ``IncidentRules``; a street officer by hand, ``Link``): the report is merged into the lead,
/// its timers stop, its reporter is told; an incident with reports from more than one grid is
/// handled at the street, so a lead still at a grid moves up there once.
extension RoutingStore {
    /// Merges `record` into `lead`'s `incident` with `reason` (on the trail and to the reporter).
    /// Returns the merged lifecycle, `nil` when the request can no longer be merged (it moved on).
    @discardableResult
    package func link(
        _ record: RequestRecord,
        into lead: RequestID,
        incident: UUID,
        staff: String,
        reason: String,
        correlationId: String
    ) async throws -> RequestLifecycle? {
        guard let merged = try? record.lifecycle.applying(.merge) else { return nil }
        try await save(record.id, merged, previousVersion: record.lifecycle.version)
        try await setIncident(incident, of: record.id)
        for assignment in try await assignments(of: record.id) { try await cancelTimers(assignment: assignment) }
        let event = MessageEnvelope(
            type: MessageType.requestMerged,
            requestId: record.id.description,
            correlationId: correlationId,
            requestVersion: merged.version,
            payload: RequestEnded(requestId: record.id.description, staff: staff, reason: reason, into: lead.description)
        )
        try await emit(event: event)
        return merged
    }

    /// Marks `incident` as handled at `street` and, when its lead is still open at a grid,
    /// escalates the lead there (by `staff`, saying which grids reported). Returns the lead's
    /// new lifecycle when it moved.
    @discardableResult
    package func widen(
        _ incident: UUID,
        lead: RequestID,
        street: String,
        grids: [String],
        staff: String,
        correlationId: String
    ) async throws -> RequestLifecycle? {
        try await widenIncident(incident, street: street)
        guard let record = try await lockRequest(lead), [.assigned, .claimed].contains(record.lifecycle.state),
            record.lifecycle.unit?.tier == .grid, let owner = try await ownerAssignment(of: lead)
        else { return nil }
        let reason =
            "跨网格事件：\(grids.joined(separator: "、"))反映同一问题（\(record.category)），由街道统一办理 / one problem reported from grids \(grids.joined(separator: ", ")): handled once at the street"
        return try await escalate(record, assignment: owner, staff: staff, reason: reason, correlationId: correlationId)
    }
}
