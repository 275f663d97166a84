import Foundation
import GridLoopDomain

/// A street officer's hand on incidents (分析研判): `link` puts an open report into the
/// incident led by another request of the street (one problem reported from several grids,
/// handled once), `unlink` takes a wrongly linked report out again, back to its grid's work.
/// Both need a reason, which goes on the trail and to the resident.
enum Link {
    /// `link`: the report merged into the incident led by `into` (opened now if the lead has
    /// none); an incident spanning grids moves its lead up to the street.
    static func run(_ c: CommandContext<some RoutingStore>) async throws -> CommandReply {
        let reason = try c.reason("say why (--reason): it goes on the trail and to the resident")
        guard let leadId = c.command.into.flatMap(RequestID.init), leadId != c.request.id else {
            throw CommandRefused(.validationFailed, "name the incident's lead request (--into REQUEST)")
        }
        guard [.assigned, .claimed].contains(c.lifecycle.state) else {
            throw CommandRefused(.conflict, "only an open report can be linked; this one is \(c.lifecycle.state.rawValue)")
        }
        if let current = try await c.store.incident(of: c.request.id) {
            throw CommandRefused(
                .conflict,
                current.lead == c.request.id
                    ? "this report leads an incident itself; link the other reports into it instead"
                    : "this report is in the incident led by \(current.lead) already; unlink it first"
            )
        }
        guard let lead = try await c.store.lockRequest(leadId), [.assigned, .claimed].contains(lead.lifecycle.state) else {
            throw CommandRefused(.validationFailed, "\(leadId) is not an open request")
        }
        guard let street = c.request.streetId, lead.streetId == street else {
            throw CommandRefused(
                .validationFailed,
                "both reports must come from grids of one street (this one: \(c.request.streetId ?? "none"), \(leadId): \(lead.streetId ?? "none"))"
            )
        }
        // As placement decides incidents: one decision at a time for the street (and the lead's grid).
        try await c.store.lockIncidents(place: "street:\(street)", category: lead.category)
        if let grid = lead.gridId { try await c.store.lockIncidents(place: "grid:\(grid)", category: lead.category) }
        let incident: UUID
        if let existing = try await c.store.incident(of: leadId) {
            guard existing.lead == leadId else {
                throw CommandRefused(.validationFailed, "\(leadId) is itself linked into the incident led by \(existing.lead); link into that one")
            }
            incident = existing.id
        } else {
            incident = UUID()
            try await c.store.insertIncident(incident, grid: lead.gridId, street: street, category: lead.category, lead: leadId)
            try await c.store.setIncident(incident, of: leadId)
        }
        guard
            let merged = try await c.store.link(
                c.request,
                into: leadId,
                incident: incident,
                staff: c.staff,
                reason: reason,
                correlationId: c.correlationId
            )
        else { throw CommandRefused(.conflict, "the report can no longer be linked (it is \(c.lifecycle.state.rawValue))") }
        let grids = try await c.store.incidentGrids(incident)
        let moved =
            grids.count > 1
            ? try await c.store.widen(incident, lead: leadId, street: street, grids: grids, staff: c.staff, correlationId: c.correlationId) : nil
        return c.done(merged, "linked into the incident led by \(leadId)" + (moved != nil ? "; the lead moved up to street:\(street)" : ""))
    }

    /// `unlink`: a report linked into an incident (not its lead) is worked on its own again,
    /// under a new assignment at its grid (else the unit the incident is at).
    static func unlink(
        _ command: StaffCommand,
        request: RequestRecord,
        correlationId: String,
        store: some RoutingStore
    ) async throws -> CommandReply {
        let reason = (command.note ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { throw CommandRefused(.validationFailed, "say why (--reason): it goes on the trail and to the resident") }
        guard request.lifecycle.state == .merged, let incident = try await store.incident(of: request.id), incident.lead != request.id else {
            throw CommandRefused(.conflict, "only a report linked into an incident can be taken out of it")
        }
        let leadUnit = try await store.lockRequest(incident.lead)?.lifecycle.unit
        guard let target = request.gridId.flatMap({ try? UnitRef(tier: .grid, id: $0) }) ?? leadUnit else {
            throw CommandRefused(.conflict, "the report has no grid and its incident no unit to send it to")
        }
        let next = try request.lifecycle.applying(.unmerge(target))
        try await store.ensureQueue(for: target)
        try await store.save(request.id, next, previousVersion: request.lifecycle.version)
        try await store.setIncident(nil, of: request.id)
        let assignment = try await store.recordAssignment(
            request: request.id,
            unit: target,
            reason: "taken out of the incident led by \(incident.lead) by \(command.staff): \(reason)",
            category: request.category,
            description: request.description
        )
        let event = MessageEnvelope(
            type: MessageType.requestUnlinked,
            requestId: request.id.description,
            correlationId: correlationId,
            requestVersion: next.version,
            payload: RequestMoved(
                requestId: request.id.description,
                assignmentId: assignment.assignmentId,
                from: request.lifecycle.unit ?? leadUnit ?? target,
                to: target,
                staff: command.staff,
                reason: reason
            )
        )
        try await store.emit(event: event)
        try await store.sendAssignment(assignment, causedBy: event.messageId, correlationId: correlationId, version: next.version)
        return CommandReply(
            ok: true,
            requestId: request.id.description,
            state: next.state,
            message: "taken out of the incident; assigned to \(target)"
        )
    }
}
