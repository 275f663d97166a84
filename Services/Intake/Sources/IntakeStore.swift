import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import Logging
import PostgresNIO

/// The outcome of a submission.
struct SubmissionOutcome: Sendable {
    var requestId: String
    /// `false` when the idempotency key named a request made before.
    var created: Bool
}

/// intake's data: storing submissions (request, first trail event, outbox row in one
/// transaction), reading a request's status and trail, and following the workflow's events.
struct IntakeStore: Sendable {
    let postgres: PostgresClient
    let outbox: Outbox
    /// Seals reporters' phones at rest and in events (``DataProtector``).
    let protector: DataProtector
    let inbox = Inbox(schema: IntakeSchema.name)

    /// Stores a validated submission. With an idempotency key already used, returns the
    /// earlier request and writes nothing. `inTransaction` runs extra work in the same
    /// transaction (the AMQP path records its inbox claim and its reply there); without it the
    /// submission is one statement, atomic on its own: the request, its first trail link and its
    /// `request.received` outbox row are inserted together (``submission(_:id:idempotencyKey:correlationId:reportedAt:)``).
    func submit(
        _ submission: Submission,
        idempotencyKey: String?,
        correlationId: String,
        reportedAt: Date? = nil,
        logger: Logger,
        inTransaction: (@Sendable (PostgresConnection, SubmissionOutcome) async throws -> Void)? = nil
    ) async throws -> SubmissionOutcome {
        let write: @Sendable (PostgresConnection) async throws -> SubmissionOutcome = { [self] connection in
            try await submit(
                submission,
                idempotencyKey: idempotencyKey,
                correlationId: correlationId,
                reportedAt: reportedAt,
                on: connection,
                logger: logger
            )
        }
        guard let inTransaction else {
            return try await postgres.withConnection { connection in
                try await connection.whileOpen("a submission") { try await OutboxHandoff.committing { try await write(connection) } }
            }
        }
        return try await postgres.transaction(logger: logger) { connection in
            let outcome = try await write(connection)
            try await inTransaction(connection, outcome)
            return outcome
        }
    }

    /// Stores a validated submission on `connection` (in the caller's transaction, or alone:
    /// one statement); with an idempotency key used before, the earlier request, nothing written.
    func submit(
        _ submission: Submission,
        idempotencyKey: String?,
        correlationId: String,
        reportedAt: Date?,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> SubmissionOutcome {
        let id = RequestID()
        let handoff = OutboxHandoff.pending
        let (insert, message) = try self.submission(
            submission,
            id: id,
            idempotencyKey: idempotencyKey,
            correlationId: correlationId,
            reportedAt: reportedAt,
            handoff: handoff
        )
        if let row = try await connection.query(insert, logger: logger).collect().first {
            handoff?.append([HandedOffRow(id: try row.decode(Int64.self), message: message)])
            return SubmissionOutcome(requestId: id.description, created: true)
        }
        let existing = try await connection.query("SELECT id FROM intake.requests WHERE idempotency_key = \(idempotencyKey)", logger: logger)
            .collect()
        guard let earlier = try existing.first?.decode(RequestID.self) else { throw IntakeError.idempotencyRace }
        return SubmissionOutcome(requestId: earlier.description, created: false)
    }

    /// One statement storing a new submission as `id`: the request row (nothing if its
    /// idempotency key was used before; then the statement returns no row), its first trail
    /// link (no chain head to read: the trail of a new request is empty) and the
    /// `request.received` event in the outbox (due after the handoff's grace when it is handed
    /// off); it returns the outbox row's id. Created at the clock's time: submissions stored
    /// together in one transaction keep their order.
    private func submission(
        _ submission: Submission,
        id: RequestID,
        idempotencyKey: String?,
        correlationId: String,
        reportedAt: Date?,
        handoff: OutboxHandoff.Rows?
    ) throws -> (PostgresQuery, OutgoingMessage) {
        let requestId = id.description
        // The event carries the phone masked, and sealed for notification's SMS to the resident.
        var published = submission
        published.reporter = submission.reporter.protected(by: protector)
        let event = MessageEnvelope(
            type: MessageType.requestReceived,
            requestId: requestId,
            correlationId: correlationId,
            requestVersion: 1,
            payload: RequestReceived(requestId: requestId, submission: published)
        )
        let link = TrailEntry(
            requestId: id.uuid.uuidString.lowercased(),
            seq: 1,
            eventId: event.messageId,
            eventType: event.type,
            version: 1,
            state: RequestState.received.rawValue,
            unit: nil,
            actor: submission.submittedBy ?? submission.channel.rawValue,
            detail: "received via \(submission.channel.rawValue)"
                + (reportedAt.map { "; taken down \(Timestamp.format($0)), sent later from an offline spool" } ?? ""),
            occurredAt: TrailChain.storedTime(event.occurredAt)
        )
        let message = try OutgoingMessage(envelope: event, exchange: GridLoopExchange.events, routingKey: event.type)
        let headers = String(decoding: try JSONEncoder().encode(message.headers), as: UTF8.self)
        let query: PostgresQuery = """
            WITH clock AS (SELECT clock_timestamp() AS at), request AS (
                INSERT INTO intake.requests (id, idempotency_key, category, description, grid_id, household_id, address,
                    reporter_name, reporter_phone, reporter_phone_hash, channel, submitted_by, state, version, latitude, longitude, reported_at,
                    created_at, updated_at)
                SELECT \(id), \(idempotencyKey), \(submission.category), \(submission.description), \(submission.location.gridId),
                    \(submission.location.householdId), \(submission.location.address), \(submission.reporter.name),
                    \(protector.seal(submission.reporter.phone)), \(protector.phoneHash(submission.reporter.phone)),
                    \(submission.channel.rawValue), \(submission.submittedBy), 'received', 1,
                    \(submission.location.latitude), \(submission.location.longitude), \(reportedAt), clock.at, clock.at
                FROM clock
                ON CONFLICT (idempotency_key) DO NOTHING RETURNING id
            ), trail AS (
                INSERT INTO intake.trail (event_id, request_id, seq, version, event_type, state, unit, actor, detail, occurred_at, prev_hash, hash)
                SELECT \(link.eventId), id, 1, 1, \(link.eventType), \(link.state), NULL, \(link.actor), \(link.detail), \(link.occurredAt),
                    \(TrailChain.genesis), \(TrailChain.hash(link, previous: TrailChain.genesis))
                FROM request
            ), outbox AS (
                INSERT INTO intake.outbox (message_id, exchange, routing_key, message_type, correlation_id, reply_to, headers, body, next_attempt_at)
                SELECT \(message.messageId), \(message.exchange), \(message.routingKey), \(message.type ?? ""), \(message.correlationId),
                    NULL, \(headers)::jsonb, \(String(decoding: message.body, as: UTF8.self)),
                    clock.at + make_interval(secs => \(OutboxHandoff.delay(handoff))::float8)
                FROM request, clock
                RETURNING id
            )
            SELECT id FROM outbox
            """
        return (query, message)
    }

    /// Records when the request is expected to be resolved (the resolve deadline of its claim).
    func expect(_ requestId: UUID, resolvedBy due: Date, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("UPDATE intake.requests SET expected_at = \(due) WHERE id = \(requestId)", logger: logger)
    }

    /// A request's status and trail, or `nil` if there is none with that id.
    func status(of requestId: UUID, logger: Logger) async throws -> RequestStatus? {
        let rows = try await postgres.query(
            """
            SELECT id, state, unit, version, category, description, channel, reporter_name, reporter_phone, created_at, updated_at
            FROM intake.requests WHERE id = \(requestId)
            """,
            logger: logger
        )
        var status: RequestStatus?
        for try await (id, state, unit, version, category, description, channel, name, phone, created, updated)
            in rows.decode((RequestID, String, String?, Int, String, String, String, String, String, Date, Date).self)
        {
            let unitRef = unit.flatMap { try? UnitRef(parsing: $0) }
            status = RequestStatus(
                id: id.description,
                state: RequestState(rawValue: state) ?? .received,
                tier: unitRef?.tier,
                unit: unit,
                version: version,
                category: category,
                description: description,
                channel: channel,
                reporter: .init(name: name, phone: Masking.phone((try? protector.open(phone)) ?? "")),
                createdAt: created,
                updatedAt: updated,
                trail: []
            )
        }
        guard var status else { return nil }
        let links = try await TrailAudit.links(of: requestId, on: postgres, logger: logger)
        // Shown in workflow order; the chain itself is in recording order (seq).
        status.trail = links.sorted { ($0.entry.version, $0.entry.seq) < ($1.entry.version, $1.entry.seq) }.map { link in
            let entry = link.entry
            return .init(
                type: entry.eventType,
                version: entry.version,
                state: entry.state,
                unit: entry.unit,
                actor: entry.actor,
                detail: entry.detail,
                occurredAt: entry.occurredAt,
                hash: link.hash
            )
        }
        status.trailVerified = TrailChain.verify(links) == nil
        return status
    }

    /// Records a workflow event on the request's trail and, if it is newer than what is
    /// stored, as the request's current status, in the caller's transaction. Idempotent on the
    /// event's message id.
    func follow(
        _ header: EnvelopeHeader,
        state: RequestState,
        unit: UnitRef?,
        actor: String?,
        detail: String?,
        category: String? = nil,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        guard let requestId = header.requestId.flatMap(UUID.init(uuidString:)), let version = header.requestVersion else {
            throw PoisonMessage("\(header.type) without a request id or version")
        }
        guard try await inbox.claim(header.messageId, type: header.type, on: connection, logger: logger) else { return }
        // The row lock orders this request's trail appends, so its chain has one next link.
        let known = try await connection.query("SELECT 1 FROM intake.requests WHERE id = \(requestId) FOR UPDATE", logger: logger).collect()
        guard !known.isEmpty else { throw PoisonMessage("\(header.type) for unknown request \(requestId)") }
        try await appendTrail(
            requestId: requestId,
            eventId: header.messageId,
            type: header.type,
            version: version,
            state: state,
            unit: unit,
            actor: actor,
            detail: detail,
            occurredAt: header.occurredAt,
            on: connection,
            logger: logger
        )
        try await connection.query(
            """
            UPDATE intake.requests SET state = \(state.rawValue), unit = COALESCE(\(unit?.description), unit), version = \(version), updated_at = now()
            WHERE id = \(requestId) AND version < \(version)
            """,
            logger: logger
        )
        if let category {
            try await connection.query(
                "UPDATE intake.requests SET category = \(category), category_version = \(version) WHERE id = \(requestId) AND category_version < \(version)",
                logger: logger
            )
        }
    }
}

extension IntakeStore {
    /// Appends an event to the request's trail, chained to the last link by its hash.
    /// The caller holds the request's row lock (or has just inserted the row: `first`, whose
    /// trail is empty, so the two reads of the chain's head are skipped).
    func appendTrail(
        requestId: UUID,
        eventId: String,
        type: String,
        version: Int,
        state: RequestState,
        unit: UnitRef?,
        actor: String?,
        detail: String?,
        occurredAt: Date,
        first: Bool = false,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let occurredAt = TrailChain.storedTime(occurredAt)
        var last: (Int, String)?
        if !first {
            let duplicate = try await connection.query("SELECT 1 FROM intake.trail WHERE event_id = \(eventId)", logger: logger).collect()
            guard duplicate.isEmpty else { return }
            last = try await connection.query(
                "SELECT seq, hash FROM intake.trail WHERE request_id = \(requestId) ORDER BY seq DESC LIMIT 1",
                logger: logger
            ).collect().first?.decode((Int, String).self)
        }
        let entry = TrailEntry(
            requestId: requestId.uuidString.lowercased(),
            seq: (last?.0 ?? 0) + 1,
            eventId: eventId,
            eventType: type,
            version: version,
            state: state.rawValue,
            unit: unit?.description,
            actor: actor,
            detail: detail,
            occurredAt: occurredAt
        )
        let previous = last?.1 ?? TrailChain.genesis
        try await connection.query(
            """
            INSERT INTO intake.trail (event_id, request_id, seq, version, event_type, state, unit, actor, detail, occurred_at, prev_hash, hash)
            VALUES (\(eventId), \(requestId), \(entry.seq), \(version), \(type), \(entry.state), \(entry.unit), \(actor), \(detail),
                \(occurredAt), \(previous), \(TrailChain.hash(entry, previous: previous)))
            """,
            logger: logger
        )
    }
}

/// intake's own failures.
enum IntakeError: Error {
    /// An idempotency key conflicted but its request could not be read back.
    case idempotencyRace
}
