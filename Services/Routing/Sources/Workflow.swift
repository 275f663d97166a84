import Foundation
import GridLoopAMQP
import GridLoopAuth
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import Logging
import PostgresNIO
import Synchronization

/// routing's workflow: the first assignment of each new request, and staff commands.
/// Every change is one transaction: inbox claim, state change (version-checked), assignment,
/// events and the assignment message in the outbox, the reply to the command's sender.
final class Workflow: Sendable {
    let postgres: PostgresClient
    let outbox: Outbox
    let relay: OutboxRelay
    let publisher: AMQPPublisher
    let org: OrgStore
    /// Verifies the token every staff command carries.
    let authenticator: Authenticator
    let inbox = Inbox(schema: RoutingSchema.name)
    let timers = SLATimers()
    /// Units whose queue this process has declared.
    let declaredUnits = Mutex<Set<UnitRef>>([])
    /// How far back a request counts as a possible duplicate (`ROUTING_DUPLICATE_WINDOW_HOURS`).
    let duplicateWindow: Duration
    /// When many reports become one incident.
    let incidents: IncidentRules

    init(
        postgres: PostgresClient, outbox: Outbox, relay: OutboxRelay, publisher: AMQPPublisher, org: OrgStore, authenticator: Authenticator,
        duplicateWindow: Duration = .seconds(72 * 3600), incidents: IncidentRules = IncidentRules()
    ) {
        self.authenticator = authenticator
        self.duplicateWindow = duplicateWindow
        self.incidents = incidents
        self.postgres = postgres
        self.outbox = outbox
        self.relay = relay
        self.publisher = publisher
        self.org = org
    }

    /// Declares `unit`'s queue once per process (so the assignment is routable).
    ///
    /// A queue the broker refuses to declare because it exists with other arguments (an
    /// operator re-created it, say as a classic queue) is used as it is: the assignment is
    /// routed to it all the same, and a publish it cannot take comes back as unroutable and
    /// stays in the outbox. Only an error line says so; the assignment never waits for it.
    func ensureQueue(for unit: UnitRef, logger: Logger) async throws {
        guard !declaredUnits.withLock({ $0.contains(unit) }) else { return }
        do {
            try await publisher.declare(GridLoopTopology.unit(unit))
        } catch {
            // (One catch with a test inside: a `catch where` on this typed throw crashes Swift 6.3's SILGen.)
            guard error.kind == .serverRefused, error.code == 406 else { throw error }
            logger.error("the unit's queue exists with other arguments than GridLoop declares (re-created by hand?); assignments are published to it as it is", metadata: [
                "unit": "\(unit)", "amqp.queue": "\(unit.queueName)", "amqp.error": "\(error)",
            ])
        }
        declaredUnits.withLock { _ = $0.insert(unit) }
    }

    /// `request.received`: place the request in a unit and assign it there.
    func received(_ delivery: Delivery) async throws {
        let envelope = try delivery.decode(RequestReceived.self)
        let logger = delivery.logger
        guard let requestId = UUID(uuidString: envelope.payload.requestId) else { throw PoisonMessage("request id '\(envelope.payload.requestId)' is not a UUID") }
        let submission = envelope.payload.submission
        let assigned = try await postgres.transaction(logger: logger) { [self] connection -> UnitRef? in
            guard try await inbox.claim(envelope.messageId, type: envelope.type, on: connection, logger: logger) else { return nil }
            let inserted = try await connection.query(
                """
                INSERT INTO routing.requests (id, state, version, category, description, correlation_id)
                VALUES (\(requestId), 'received', 1, \(submission.category), \(submission.description), \(envelope.correlationId))
                ON CONFLICT (id) DO NOTHING RETURNING id
                """,
                logger: logger
            ).collect()
            guard !inserted.isEmpty else { return nil }
            let facts = try await org.facts(for: submission.location, category: submission.category, on: connection, logger: logger)
            let (unit, reason) = RoutingRules.firstUnit(for: submission.location, facts: facts)
            try await ensureQueue(for: unit, logger: logger)
            let grid = facts.householdGrid ?? facts.knownGrid ?? facts.addressGrid ?? facts.coordinateGrid
            if let grid {
                try await connection.query(
                    "UPDATE routing.requests SET grid_id = \(grid), street_id = (SELECT street_id FROM routing.grids WHERE id = \(grid)) WHERE id = \(requestId)",
                    logger: logger
                )
            }
            let duplicate = try await possibleDuplicate(of: requestId, submission: submission, on: connection, logger: logger)
            if unit.tier == .grid, try await linkToIncident(requestId, grid: unit.id, category: submission.category, correlationId: envelope.correlationId, on: connection, logger: logger) {
                return nil  // one of many reports of one problem: handled with the incident's lead
            }
            var lifecycle = RequestLifecycle()
            try lifecycle.apply(.assign(unit))
            try await assign(requestId: requestId, lifecycle: lifecycle, reason: reason + (duplicate.map { "; possible duplicate of \($0)" } ?? ""), submission: submission,
                             correlationId: envelope.correlationId, duplicateOf: duplicate, on: connection, logger: logger)
            if unit.tier == .district {
                // Skipped the street: tell its centre (the grid's street, else the triage desk).
                let street = try await connection.query("SELECT street_id FROM routing.requests WHERE id = \(requestId)", logger: logger)
                    .collect().first?.decode(String?.self).flatMap { try? UnitRef(tier: .street, id: $0) } ?? RoutingRules.triage
                let informed = MessageEnvelope(
                    type: MessageType.streetInformed, requestId: envelope.payload.requestId, correlationId: envelope.correlationId,
                    requestVersion: lifecycle.version,
                    payload: StreetInformed(requestId: envelope.payload.requestId, street: street, department: unit, category: submission.category)
                )
                try await outbox.add(event: informed, exchange: GridLoopExchange.events, on: connection, logger: logger)
            }
            return unit
        }
        relay.wake()  // the assignment, or the merge into an incident's lead
        if let assigned { logger.info("request assigned", metadata: ["unit": "\(assigned)"]) }
    }

    private func assign(
        requestId: UUID, lifecycle: RequestLifecycle, reason: String, submission: Submission, correlationId: String, duplicateOf: String? = nil,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        guard let unit = lifecycle.unit else { return }
        try await save(requestId, lifecycle, previousVersion: lifecycle.version - 1, on: connection, logger: logger)
        var assignment = try await recordAssignment(
            requestId: requestId, unit: unit, reason: reason, category: submission.category, description: submission.description, on: connection, logger: logger
        )
        assignment.possibleDuplicateOf = duplicateOf
        let event = MessageEnvelope(type: MessageType.requestAssigned, requestId: assignment.requestId, correlationId: correlationId, requestVersion: lifecycle.version, payload: assignment)
        try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
        try await sendAssignment(assignment, causedBy: event.messageId, correlationId: correlationId, version: lifecycle.version, on: connection, logger: logger)
    }

    /// An open request of the same category at the same household or address, made within
    /// `duplicateWindow`: offered to the staff as a possible duplicate (they confirm with `merge`).
    func possibleDuplicate(of requestId: UUID, submission: Submission, on connection: PostgresConnection, logger: Logger) async throws -> String? {
        let location = submission.location
        try await connection.query(
            "UPDATE routing.requests SET household_id = \(location.householdId), address = \(location.address) WHERE id = \(requestId)", logger: logger
        )
        guard location.householdId != nil || location.address != nil else { return nil }
        // Two reports of one problem placed at the same moment: the second waits for the first's commit and sees it.
        let place = location.householdId ?? (location.address ?? "").replacingOccurrences(of: " ", with: "")
        try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\("duplicate:\(submission.category):\(place)")))", logger: logger)
        let seconds = Double(duplicateWindow.components.seconds)
        let found = try await connection.query(
            """
            SELECT id FROM routing.requests
            WHERE id <> \(requestId) AND category = \(submission.category) AND state NOT IN ('closed', 'rejected', 'merged')
              AND created_at > now() - make_interval(secs => \(seconds))
              AND ((household_id IS NOT NULL AND household_id = \(location.householdId))
                   OR (address IS NOT NULL AND replace(address, ' ', '') = replace(\(location.address ?? ""), ' ', '')))
            ORDER BY created_at LIMIT 1
            """,
            logger: logger
        ).collect().first?.decode(UUID.self)
        guard let found else { return nil }
        // Kept for the inbox's hint (the merge suggestion).
        try await connection.query("UPDATE routing.requests SET possible_duplicate_of = \(found) WHERE id = \(requestId)", logger: logger)
        return found.uuidString.lowercased()
    }

    /// Inserts an assignment row and returns the message that tells its unit.
    func recordAssignment(
        requestId: UUID, unit: UnitRef, reason: String, category: String, description: String, kind: String = "owner",
        on connection: PostgresConnection, logger: Logger
    ) async throws -> RequestAssigned {
        let assignmentId = UUID()
        try await connection.query(
            "INSERT INTO routing.assignments (id, request_id, unit, reason, kind) VALUES (\(assignmentId), \(requestId), \(unit.description), \(reason), \(kind))",
            logger: logger
        )
        let claimDue = try await timers.start(.claim, requestId: requestId, assignment: assignmentId, category: kind == "summons" ? "summons" : category, tier: unit.tier, on: connection, logger: logger)
        return RequestAssigned(
            requestId: requestId.uuidString.lowercased(), assignmentId: assignmentId.uuidString.lowercased(), unit: unit,
            category: category, description: description, reason: reason, claimDueAt: claimDue
        )
    }

    /// Puts the assignment message for the unit's queue in the outbox.
    func sendAssignment(_ assignment: RequestAssigned, causedBy eventId: String, correlationId: String, version: Int, on connection: PostgresConnection, logger: Logger) async throws {
        var message = MessageEnvelope(type: MessageType.requestAssigned, requestId: assignment.requestId, correlationId: correlationId, requestVersion: version, payload: assignment)
        message.messageId = "\(eventId):assignment"
        try await outbox.add(event: message, exchange: GridLoopExchange.assignments, routingKey: assignment.unit.routingKey, on: connection, logger: logger)
    }

    /// Sends the request one tier up under a new assignment (staff command or SLA sweeper):
    /// state, timers, trail event, the new unit's assignment message. Returns the new lifecycle.
    func escalate(
        requestId: UUID, lifecycle current: RequestLifecycle, assignment: UUID, category: String, description: String,
        staff: String, reason: String, correlationId: String, on connection: PostgresConnection, logger: Logger
    ) async throws -> RequestLifecycle {
        guard let unit = current.unit else { throw CommandRefused(code: "conflict", message: "the request is not assigned to any unit") }
        let streetOfGrid = unit.tier == .grid
            ? try await connection.query("SELECT street_id FROM routing.grids WHERE id = \(unit.id)", logger: logger).collect().first?.decode(String.self)
            : nil
        let department = try await connection.query("SELECT department_id FROM routing.categories WHERE id = \(category)", logger: logger).collect().first?.decode(String.self)
        let target: UnitRef
        switch EscalationRules.nextUnit(from: unit, category: category, streetOfGrid: streetOfGrid, departmentOfCategory: department) {
        case .success(let next): target = next
        case .failure(let refused): throw CommandRefused(code: refused.code, message: refused.description)
        }
        try await connection.query("UPDATE routing.assignments SET escalated_at = now(), note = \(reason) WHERE id = \(assignment)", logger: logger)
        return try await move(
            requestId: requestId, lifecycle: current, transition: .escalate(to: target), type: MessageType.requestEscalated,
            assignment: assignment, category: category, description: description, staff: staff, reason: reason,
            assignmentReason: "escalated from \(unit) by \(staff): \(reason)", correlationId: correlationId, on: connection, logger: logger
        )
    }

    /// The command's non-blank reason, or a `validation_failed` refusal saying `missing`.
    private static func reason(of command: StaffCommand, _ missing: String) throws -> String {
        let reason = (command.note ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { throw CommandRefused(code: "validation_failed", message: missing) }
        return reason
    }

    /// Once claimed, only the claimer acts on the request.
    private static func requireClaimer(_ command: StaffCommand, state: RequestState, claimedBy: String?) throws {
        if state == .claimed, claimedBy != command.staff {
            throw CommandRefused(code: "forbidden", message: "the request was claimed by \(claimedBy ?? "someone else"); only they can \(command.action.rawValue) it")
        }
    }

    /// Checks the actor's role and unit against the command (see ``Authorization``).
    private func authorize(_ command: StaffCommand, requestId: UUID, unit: UnitRef, on connection: PostgresConnection, logger: Logger) async throws {
        let member = try await connection.query("SELECT role, unit FROM routing.staff WHERE id = \(command.staff)", logger: logger)
            .collect().first?.decode((String, String).self)
        let actor = member.flatMap { role, unit in (try? UnitRef(parsing: unit)).map { Actor(id: command.staff, role: role, unit: $0) } }
        let homeText = try await connection.query(
            "SELECT unit FROM routing.assignments WHERE request_id = \(requestId) AND kind = 'owner' ORDER BY assigned_at LIMIT 1", logger: logger
        ).collect().first?.decode(String.self)
        let home = homeText.flatMap { try? UnitRef(parsing: $0) }
        let summoned = try await outstandingSummons(requestId, on: connection, logger: logger).compactMap { try? UnitRef(parsing: $0) }
        if let refusal = Authorization.refusal(
            command.action, actor: actor, staffId: command.staff, actingFor: command.unit, requestUnit: unit,
            homeGrid: home?.tier == .grid ? home?.id : nil, summoned: Set(summoned)
        ) {
            throw CommandRefused(code: refusal.code, message: refusal.message)
        }
    }

    /// Moves the request to another unit under a new assignment (escalate, return, reopen): state,
    /// timers, the `type` event and the new unit's assignment message.
    func move(
        requestId: UUID, lifecycle current: RequestLifecycle, transition: RequestTransition, type: String, assignment: UUID,
        category: String, description: String, staff: String, reason: String, assignmentReason: String, correlationId: String,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> RequestLifecycle {
        guard let from = current.unit else { throw CommandRefused(code: "conflict", message: "the request is not assigned to any unit") }
        var lifecycle = current
        do { try lifecycle.apply(transition) } catch { throw CommandRefused(code: "conflict", message: error.description) }
        guard let target = lifecycle.unit else { throw CommandRefused(code: "conflict", message: "no unit to move to") }
        try await ensureQueue(for: target, logger: logger)
        try await save(requestId, lifecycle, previousVersion: current.version, on: connection, logger: logger)
        try await timers.cancel(assignment: assignment, on: connection, logger: logger)
        let next = try await recordAssignment(
            requestId: requestId, unit: target, reason: assignmentReason, category: category, description: description, on: connection, logger: logger
        )
        let requestText = requestId.uuidString.lowercased()
        let event = MessageEnvelope(
            type: type, requestId: requestText, correlationId: correlationId, requestVersion: lifecycle.version,
            payload: RequestMoved(requestId: requestText, assignmentId: next.assignmentId, from: from, to: target, staff: staff, reason: reason)
        )
        try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
        try await sendAssignment(next, causedBy: event.messageId, correlationId: correlationId, version: lifecycle.version, on: connection, logger: logger)
        return lifecycle
    }

    /// Writes the new lifecycle if nobody changed the request since `previousVersion`.
    func save(_ requestId: UUID, _ lifecycle: RequestLifecycle, previousVersion: Int, on connection: PostgresConnection, logger: Logger) async throws {
        let rows = try await connection.query(
            """
            UPDATE routing.requests SET state = \(lifecycle.state.rawValue), unit = \(lifecycle.unit?.description),
                claimed_by = \(lifecycle.claimedBy), version = \(lifecycle.version), updated_at = now()
            WHERE id = \(requestId) AND version = \(previousVersion) RETURNING id
            """,
            logger: logger
        ).collect()
        guard !rows.isEmpty else { throw CommandRefused(code: "conflict", message: "the request changed meanwhile; try again") }
    }

    /// `staff.command`: claim or resolve. A refused command changes nothing and is answered
    /// with a stable code (`not_found`, `conflict`, `forbidden`).
    func command(_ delivery: Delivery) async throws {
        let envelope = try delivery.decode(StaffCommand.self)
        _ = try await execute(
            envelope.payload, messageId: envelope.messageId, correlationId: envelope.correlationId, replyTo: delivery.message.replyTo, logger: delivery.logger
        )
    }

    /// Applies a staff command once per `messageId` (AMQP message id or HTTP Idempotency-Key),
    /// in one transaction with its events and its reply; `nil` if that id was applied before.
    /// A refused command is rolled back to a savepoint: it changes nothing but the reply.
    /// A command whose token proves nobody (or someone else) is answered but not recorded as
    /// applied, so it can be sent again with a good token under the same id.
    ///
    /// `residentAt`: the resident's own verdict through a signed follow-up link (proven by the
    /// link, not a token), valid only while the request is at that version.
    func execute(
        _ command: StaffCommand, messageId: String, correlationId: String, replyTo: String?, logger: Logger, residentAt: Int? = nil
    ) async throws -> CommandReply? {
        var command = command
        var unproven: CommandRefused?
        if residentAt == nil {
            do { command = try await authenticate(command) } catch { unproven = error }
        }
        let reply = try await postgres.transaction(logger: logger) { [self, command, unproven, residentAt] connection -> CommandReply? in
            let outcome: CommandReply
            if let unproven {
                outcome = CommandReply(ok: false, requestId: command.requestId, code: unproven.code, message: unproven.message)
            } else {
                guard try await inbox.claim(messageId, type: MessageType.staffCommand, on: connection, logger: logger) else { return nil }
                try await connection.query("SAVEPOINT command", logger: logger)
                do {
                    outcome = try await apply(command, correlationId: correlationId, residentAt: residentAt, on: connection, logger: logger)
                } catch let refused as CommandRefused {
                    try await connection.query("ROLLBACK TO SAVEPOINT command", logger: logger)
                    outcome = CommandReply(ok: false, requestId: command.requestId, code: refused.code, message: refused.message)
                }
            }
            if let replyTo {
                var message = MessageEnvelope(type: MessageType.commandReply, requestId: command.requestId, correlationId: correlationId, payload: outcome)
                // An unproven command's answer has its own id: the same id sent again with a good token gets its own.
                message.messageId = "\(messageId):reply" + (unproven == nil ? "" : ":unproven")
                var outgoing = try OutgoingMessage(envelope: message, exchange: "", routingKey: replyTo)
                outgoing.correlationId = messageId
                try await outbox.add(outgoing, on: connection, logger: logger)
            }
            return outcome
        }
        relay.wake()
        if let reply {
            logger.info(
                "staff command handled",
                metadata: ["command": "\(command.action.rawValue)", "staff": "\(command.staff)", "ok": "\(reply.ok)", "code": "\(reply.code ?? "-")"]
            )
        }
        return reply
    }

    /// The command as the staff member its token proves (`staff` filled in when blank), with
    /// the token dropped; refused `unauthenticated` without a good token, `forbidden` when the
    /// token is someone else's or a service's.
    private func authenticate(_ command: StaffCommand) async throws(CommandRefused) -> StaffCommand {
        let principal: Principal
        do throws(AuthFailure) {
            guard let token = command.token, !token.isEmpty else {
                throw AuthFailure.unauthenticated("a staff command carries its actor's token (`gridloop auth token`, or `Authorization: Bearer` over HTTP)")
            }
            principal = try await authenticator.authority.verify(token)
        } catch {
            throw CommandRefused(code: error.kind.rawValue, message: error.message)
        }
        guard principal.role != Principal.serviceRole else {
            throw CommandRefused(code: "forbidden", message: "\(principal.id) is a service: services read reports, they do not act on requests")
        }
        var command = command
        if command.staff.isEmpty { command.staff = principal.id }
        guard command.staff == principal.id else {
            throw CommandRefused(code: "forbidden", message: "the token proves \(principal.id); it cannot act as \(command.staff)")
        }
        command.token = nil
        return command
    }

    private func apply(_ command: StaffCommand, correlationId: String, residentAt: Int?, on connection: PostgresConnection, logger: Logger) async throws -> CommandReply {
        if let field = command.fieldWithControlCharacters {
            throw CommandRefused(code: "validation_failed", message: "\(field): must not contain control characters")
        }
        guard let requestId = UUID(uuidString: command.requestId) else {
            throw CommandRefused(code: "not_found", message: "'\(command.requestId)' is not a request id")
        }
        let rows = try await connection.query(
            """
            SELECT state, unit, claimed_by, version, category, description, street_id, reopen_count
            FROM routing.requests WHERE id = \(requestId) FOR UPDATE
            """,
            logger: logger
        ).collect()
        guard let row = rows.first else { throw CommandRefused(code: "not_found", message: "no request \(command.requestId)") }
        let (stateText, unitText, claimedBy, version, category, description, streetId, reopenCount)
            = try row.decode((String, String?, String?, Int, String, String, String?, Int).self)
        guard let state = RequestState(rawValue: stateText) else { throw CommandRefused(code: "conflict", message: "request is in unknown state \(stateText)") }
        let unit = unitText.flatMap { try? UnitRef(parsing: $0) }
        var lifecycle = RequestLifecycle(state: state, unit: unit, claimedBy: claimedBy, version: version)
        let assignment = try await connection.query(
            "SELECT id FROM routing.assignments WHERE request_id = \(requestId) AND kind = 'owner' ORDER BY assigned_at DESC LIMIT 1", logger: logger
        ).collect().first?.decode(UUID.self)
        guard let assignment, let unit else { throw CommandRefused(code: "conflict", message: "the request is not assigned to any unit") }
        let ids = (request: requestId.uuidString.lowercased(), assignment: assignment.uuidString.lowercased())
        if let residentAt {
            // The follow-up link speaks for the resident of this resolution only.
            guard command.action == .feedback, state == .resolved, version == residentAt else {
                throw CommandRefused(code: "conflict", message: "this follow-up link has been answered or the request has moved on (it is \(state.rawValue) now)")
            }
        } else {
            try await authorize(command, requestId: requestId, unit: unit, on: connection, logger: logger)
        }
        if let summons = try await summonsStep(
            command, requestId: requestId, lifecycle: lifecycle, owner: assignment, correlationId: correlationId, on: connection, logger: logger
        ) {
            return summons
        }
        switch command.action {
        case .summon:
            throw CommandRefused(code: "conflict", message: "summons not handled")  // summonsStep answers every summon
        case .reassign:
            guard let target = command.target else { throw CommandRefused(code: "validation_failed", message: "name the unit to reassign to (--to tier:id)") }
            guard target.tier == unit.tier, target != unit else {
                throw CommandRefused(code: "validation_failed", message: "reassignment stays within the \(unit.tier.rawValue) tier and moves the request: \(target) is not another \(unit.tier.rawValue) unit")
            }
            let table = target.tier == .grid ? "grids" : (target.tier == .street ? "streets" : "departments")
            let exists = try await connection.query("SELECT 1 FROM routing.\(unescaped: table) WHERE id = \(target.id)", logger: logger).collect()
            guard !exists.isEmpty || target == RoutingRules.triage else { throw CommandRefused(code: "validation_failed", message: "no unit \(target) in the org") }
            let reason = (command.note ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            lifecycle = try await move(
                requestId: requestId, lifecycle: lifecycle, transition: .assign(target), type: MessageType.requestReassigned,
                assignment: assignment, category: category, description: description, staff: command.staff,
                reason: reason.isEmpty ? "reassigned" : reason, assignmentReason: "reassigned from \(unit) by \(command.staff)" + (reason.isEmpty ? "" : ": \(reason)"),
                correlationId: correlationId, on: connection, logger: logger
            )
        case .reject, .merge:
            let reason = try Self.reason(of: command, "say why (--reason): it goes on the trail and to the resident")
            var into: String?
            if command.action == .merge {
                guard let other = command.into.flatMap(UUID.init(uuidString:)), other != requestId else {
                    throw CommandRefused(code: "validation_failed", message: "name the request this one duplicates (--into REQUEST)")
                }
                let target = try await connection.query("SELECT state FROM routing.requests WHERE id = \(other)", logger: logger).collect().first?.decode(String.self)
                guard let target, let targetState = RequestState(rawValue: target), !targetState.isTerminal else {
                    throw CommandRefused(code: "validation_failed", message: "\(command.into ?? "") is not an open request")
                }
                into = other.uuidString.lowercased()
            }
            do { try lifecycle.apply(command.action == .reject ? .reject : .merge) } catch { throw CommandRefused(code: "conflict", message: error.description) }
            try await save(requestId, lifecycle, previousVersion: version, on: connection, logger: logger)
            try await timers.cancel(assignment: assignment, on: connection, logger: logger)
            let event = MessageEnvelope(
                type: command.action == .reject ? MessageType.requestRejected : MessageType.requestMerged, requestId: ids.request, correlationId: correlationId,
                requestVersion: lifecycle.version, payload: RequestEnded(requestId: ids.request, staff: command.staff, reason: reason, into: into)
            )
            try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
        case .claim:
            do { try lifecycle.apply(.claim(staff: command.staff)) } catch { throw CommandRefused(code: "conflict", message: error.description) }
            try await save(requestId, lifecycle, previousVersion: version, on: connection, logger: logger)
            try await connection.query("UPDATE routing.assignments SET claimed_by = \(command.staff), claimed_at = now() WHERE id = \(assignment)", logger: logger)
            try await timers.cancel(assignment: assignment, on: connection, logger: logger)
            let resolveDue = try await timers.start(.resolve, requestId: requestId, assignment: assignment, category: category, tier: unit.tier, on: connection, logger: logger)
            let event = MessageEnvelope(type: MessageType.requestClaimed, requestId: ids.request, correlationId: correlationId, requestVersion: lifecycle.version,
                                        payload: RequestClaimed(requestId: ids.request, assignmentId: ids.assignment, unit: unit, staff: command.staff, resolveDueAt: resolveDue))
            try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
        case .resolve:
            try Self.requireClaimer(command, state: state, claimedBy: claimedBy)
            let waiting = try await outstandingSummons(requestId, on: connection, logger: logger)
            guard waiting.isEmpty else {
                throw CommandRefused(code: "conflict", message: "summoned departments have not reported done: \(waiting.joined(separator: ", "))")
            }
            do { try lifecycle.apply(.resolve) } catch { throw CommandRefused(code: "conflict", message: error.description) }
            let note = command.note ?? ""
            try await save(requestId, lifecycle, previousVersion: version, on: connection, logger: logger)
            try await connection.query("UPDATE routing.assignments SET resolved_at = now(), note = \(note) WHERE id = \(assignment)", logger: logger)
            try await timers.cancel(assignment: assignment, on: connection, logger: logger)
            let event = MessageEnvelope(type: MessageType.requestResolved, requestId: ids.request, correlationId: correlationId, requestVersion: lifecycle.version,
                                        payload: RequestResolved(requestId: ids.request, assignmentId: ids.assignment, unit: unit, staff: command.staff, note: note))
            try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
        case .escalate:
            let reason = try Self.reason(of: command, "an escalation needs a reason (--reason)")
            try Self.requireClaimer(command, state: state, claimedBy: claimedBy)
            lifecycle = try await escalate(
                requestId: requestId, lifecycle: lifecycle, assignment: assignment, category: category, description: description,
                staff: command.staff, reason: reason, correlationId: correlationId, on: connection, logger: logger
            )
        case .return:
            let reason = try Self.reason(of: command, "a return needs a reason (--reason): why is it not yours?")
            try Self.requireClaimer(command, state: state, claimedBy: claimedBy)
            guard unit.tier != .street else {
                throw CommandRefused(code: "conflict", message: "the street centre is where returned requests are arbitrated: escalate, reassign or resolve it")
            }
            let street = streetId.flatMap { try? UnitRef(tier: .street, id: $0) } ?? RoutingRules.triage
            lifecycle = try await move(
                requestId: requestId, lifecycle: lifecycle, transition: .returnForArbitration(street), type: MessageType.requestReturned,
                assignment: assignment, category: category, description: description, staff: command.staff,
                reason: reason, assignmentReason: "returned by \(unit) (\(command.staff)) for arbitration: \(reason)",
                correlationId: correlationId, on: connection, logger: logger
            )
        case .feedback:
            guard let satisfaction = command.satisfaction else {
                throw CommandRefused(code: "validation_failed", message: "feedback needs --satisfaction: satisfied, basically-satisfied or unsatisfied")
            }
            guard state == .resolved else { throw CommandRefused(code: "conflict", message: "feedback is for resolved requests; this one is \(state.rawValue)") }
            let note = command.note ?? ""
            try await connection.query("UPDATE routing.requests SET satisfaction = \(satisfaction.rawValue) WHERE id = \(requestId)", logger: logger)
            if satisfaction.closesTheLoop {
                do { try lifecycle.apply(.close) } catch { throw CommandRefused(code: "conflict", message: error.description) }
                try await save(requestId, lifecycle, previousVersion: version, on: connection, logger: logger)
                let event = MessageEnvelope(
                    type: MessageType.requestClosed, requestId: ids.request, correlationId: correlationId, requestVersion: lifecycle.version,
                    payload: RequestClosed(requestId: ids.request, satisfaction: satisfaction, staff: command.staff, note: note, solved: command.solved ?? true)
                )
                try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
            } else {
                // First failure: back to whoever resolved it. Second and later: one tier up.
                let failures = reopenCount + 1
                var target = unit
                if failures > 1 {
                    let streetOfGrid = unit.tier == .grid ? streetId : nil
                    let department = try await connection.query("SELECT department_id FROM routing.categories WHERE id = \(category)", logger: logger).collect().first?.decode(String.self)
                    if case .success(let next) = EscalationRules.nextUnit(from: unit, category: category, streetOfGrid: streetOfGrid, departmentOfCategory: department) {
                        target = next
                    }
                }
                try await connection.query("UPDATE routing.requests SET reopen_count = \(failures) WHERE id = \(requestId)", logger: logger)
                lifecycle = try await move(
                    requestId: requestId, lifecycle: lifecycle, transition: .reopen(target), type: MessageType.requestReopened,
                    assignment: assignment, category: category, description: description, staff: command.staff,
                    reason: note.isEmpty ? "resident unsatisfied" : "resident unsatisfied: \(note)",
                    assignmentReason: "reopened (\(failures == 1 ? "first" : "repeated") unsatisfied feedback, recorded by \(command.staff)): \(note)",
                    correlationId: correlationId, on: connection, logger: logger
                )
            }
        }
        let done: String =
            switch command.action {
            case .claim: "claimed by \(command.staff)"
            case .resolve: "resolved"
            case .escalate: "escalated to \(lifecycle.unit?.description ?? "?")"
            case .return: "returned to \(lifecycle.unit?.description ?? "?") for arbitration"
            case .feedback: lifecycle.state == .closed ? "closed" : "reopened at \(lifecycle.unit?.description ?? "?")"
            case .summon: "summoned"
            case .reassign: "reassigned to \(lifecycle.unit?.description ?? "?")"
            case .reject: "rejected"
            case .merge: "merged into \(command.into ?? "?")"
            }
        return CommandReply(ok: true, requestId: ids.request, state: lifecycle.state, message: done)
    }
}

/// A staff command that is valid but not allowed now.
struct CommandRefused: Error {
    var code: String
    var message: String
}
