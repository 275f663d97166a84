import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopServiceSupport
import Logging
import PostgresNIO

/// A new request's first home: placed by ``RoutingRules`` (household, grid, address or
/// coordinates → grid; a `direct` category → its department; else the triage desk), flagged
/// when it may duplicate an open request, folded into an incident when many report one problem
/// (``IncidentRules``), and assigned — all in one transaction with its events.
///
/// The request is written once, as it ends up: placed, with its duplicate hint, and assigned
/// (unless an incident may still take it: then it is written `received` and assigned after).
/// Its events go to the outbox in one statement, and the org's facts (with the org's version,
/// which keeps the SLA read from memory) in one.
extension Workflow {
    /// `request.received`: place the request in a unit and assign it there, in the consumer's
    /// transaction (shared by the deliveries taken together; the relay is woken after its commit).
    func received(_ delivery: Delivery, on connection: PostgresConnection) async throws {
        let envelope = try delivery.decode(RequestReceived.self)
        let logger = delivery.logger
        guard let requestId = RequestID(envelope.payload.requestId) else {
            throw PoisonMessage("request id '\(envelope.payload.requestId)' is not a UUID")
        }
        let submission = envelope.payload.submission
        guard try await inbox.claim(envelope.messageId, type: envelope.type, on: connection, logger: logger) else { return }
        var store = store(on: connection, logger: logger)
        let (facts, orgVersion) = try await org.facts(for: submission.location, category: submission.category, on: connection, logger: logger)
        store.orgVersion = orgVersion
        let (unit, reason) = RoutingRules.firstUnit(for: submission.location, facts: facts)
        try await ensureQueue(for: unit, logger: logger)
        let duplicate = try await store.possibleDuplicate(
            of: requestId,
            category: submission.category,
            location: submission.location,
            window: Double(duplicateWindow.components.seconds)
        )
        // An incident decides on the request as `received`; otherwise it is written assigned.
        let mayJoinIncident = unit.tier == .grid && incidents.threshold > 1
        var lifecycle = RequestLifecycle()
        if !mayJoinIncident { lifecycle = try lifecycle.applying(.assign(unit)) }
        let assignmentId = UUID()
        let claim = try await timers.deadlines(
            .claim,
            category: submission.category,
            tier: unit.tier,
            orgVersion: orgVersion,
            on: connection,
            logger: logger
        )
        guard
            let placed = try await store.insertRequest(
                requestId,
                lifecycle,
                category: submission.category,
                description: submission.description,
                correlationId: envelope.correlationId,
                grid: facts.householdGrid ?? facts.knownGrid ?? facts.addressGrid ?? facts.coordinateGrid,
                location: submission.location,
                possibleDuplicateOf: duplicate,
                owner: mayJoinIncident ? nil : (assignmentId, claim)
            )
        else { return }
        // 未诉先办: a hazard found on a task's household check is linked to the task.
        if let task = submission.taskId.flatMap(UUID.init(uuidString:)), let household = submission.location.householdId {
            try await store.linkToTask(
                task,
                request: requestId,
                household: household,
                staff: submission.submittedBy,
                correlationId: envelope.correlationId
            )
        }
        if mayJoinIncident {
            if try await linkToIncident(
                requestId,
                grid: unit.id,
                category: submission.category,
                location: submission.location,
                correlationId: envelope.correlationId,
                store: store
            ) {
                return  // one of many reports of one problem: handled with the incident's lead
            }
            lifecycle = try lifecycle.applying(.assign(unit))
            try await store.save(requestId, lifecycle, previousVersion: lifecycle.version - 1)
        }
        let why = reason + (duplicate.map { "; possible duplicate of \($0)" } ?? "")
        try await store.insertAssignment(assignmentId, request: requestId, unit: unit, reason: why, kind: .owner, claim: claim)
        var assignment = RequestAssigned(
            requestId: requestId.description,
            assignmentId: assignmentId.uuidString.lowercased(),
            unit: unit,
            category: submission.category,
            description: submission.description,
            reason: why,
            claimDueAt: claim.due
        )
        assignment.possibleDuplicateOf = duplicate?.description
        let event = MessageEnvelope(
            type: MessageType.requestAssigned,
            requestId: assignment.requestId,
            correlationId: envelope.correlationId,
            requestVersion: lifecycle.version,
            payload: assignment
        )
        var messages = [
            try OutgoingMessage(envelope: event, exchange: GridLoopExchange.events, routingKey: event.type),
            try OutgoingMessage(
                envelope: PostgresRoutingStore.assignmentMessage(
                    assignment,
                    causedBy: event.messageId,
                    correlationId: envelope.correlationId,
                    version: lifecycle.version
                ),
                exchange: GridLoopExchange.assignments,
                routingKey: unit.routingKey
            ),
        ]
        if unit.tier == .district {
            // Skipped the street: tell its centre (the grid's street, else the triage desk).
            let street = placed.street.flatMap { try? UnitRef(tier: .street, id: $0) } ?? RoutingRules.triage
            let informed = MessageEnvelope(
                type: MessageType.streetInformed,
                requestId: envelope.payload.requestId,
                correlationId: envelope.correlationId,
                requestVersion: lifecycle.version,
                payload: StreetInformed(requestId: envelope.payload.requestId, street: street, department: unit, category: submission.category)
            )
            messages.append(try OutgoingMessage(envelope: informed, exchange: GridLoopExchange.events, routingKey: informed.type))
        }
        try await outbox.add(messages, on: connection, logger: logger)
        logger.info("request assigned", metadata: ["unit": "\(unit)"])
    }
}
