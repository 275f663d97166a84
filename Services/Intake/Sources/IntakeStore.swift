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
    /// transaction (Open311's extra fields); without it the submission is one statement,
    /// atomic on its own: the request, its first trail link and its `request.received` outbox
    /// row are inserted together (``store(_:on:logger:)``).
    func submit(
        _ submission: Submission,
        idempotencyKey: String?,
        correlationId: String,
        reportedAt: Date? = nil,
        logger: Logger,
        inTransaction: (@Sendable (PostgresConnection, SubmissionOutcome) async throws -> Void)? = nil
    ) async throws -> SubmissionOutcome {
        let prepared = try prepare(submission, idempotencyKey: idempotencyKey, correlationId: correlationId, reportedAt: reportedAt)
        guard let inTransaction else { return try await store([prepared], logger: logger)[0] }
        return try await postgres.transaction(logger: logger) { [self] connection in
            let outcome = try await store([prepared], on: connection, logger: logger)[0]
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
        let prepared = try prepare(submission, idempotencyKey: idempotencyKey, correlationId: correlationId, reportedAt: reportedAt)
        return try await store([prepared], on: connection, logger: logger)[0]
    }

    /// Stores `prepared` submissions in one statement on a pooled connection (atomic on its own:
    /// all of them or none); outcomes in the same order.
    func store(_ prepared: [PreparedSubmission], logger: Logger) async throws -> [SubmissionOutcome] {
        try await postgres.withConnection { connection in
            try await connection.whileOpen("\(prepared.count) submissions") {
                try await OutboxHandoff.committing { try await store(prepared, on: connection, logger: logger) }
            }
        }
    }

    /// A submission made ready to store (its id, trail link, event and outbox row), so that the
    /// work of each is done by its own caller and a statement storing many only joins them.
    func prepare(_ submission: Submission, idempotencyKey: String?, correlationId: String, reportedAt: Date?) throws -> PreparedSubmission {
        let id = RequestID()
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
        let row = SubmissionRow(
            id: id.uuid.uuidString.lowercased(),
            idempotencyKey: idempotencyKey,
            category: submission.category,
            description: submission.description,
            gridId: submission.location.gridId,
            householdId: submission.location.householdId,
            address: submission.location.address,
            reporterName: submission.reporter.name,
            reporterPhone: protector.seal(submission.reporter.phone),
            reporterPhoneHash: protector.phoneHash(submission.reporter.phone),
            channel: submission.channel.rawValue,
            submittedBy: submission.submittedBy,
            latitude: submission.location.latitude,
            longitude: submission.location.longitude,
            reportedAt: reportedAt?.timeIntervalSince1970,
            eventId: link.eventId,
            eventType: link.eventType,
            actor: link.actor,
            detail: link.detail,
            occurredAt: link.occurredAt.timeIntervalSince1970,
            hash: TrailChain.hash(link, previous: TrailChain.genesis),
            messageId: message.messageId,
            exchange: message.exchange,
            routingKey: message.routingKey,
            messageType: message.type ?? "",
            correlationId: message.correlationId,
            headers: String(decoding: try JSONEncoder().encode(message.headers), as: UTF8.self),
            body: String(decoding: message.body, as: UTF8.self)
        )
        return PreparedSubmission(id: id, idempotencyKey: idempotencyKey, row: try JSONEncoder().encode(row), message: message)
    }

    /// One statement storing `prepared` submissions on `connection`: for each, the request row
    /// (nothing if its idempotency key was used before, earlier in the same statement included),
    /// its first trail link (no chain head to read: the trail of a new request is empty) and the
    /// `request.received` event in the outbox (due after the handoff's grace when it is handed
    /// off). Created at the clock's time, a microsecond apart in the order given: submissions
    /// stored together keep their order. A key used before answers with the earlier request.
    func store(_ prepared: [PreparedSubmission], on connection: PostgresConnection, logger: Logger) async throws -> [SubmissionOutcome] {
        guard !prepared.isEmpty else { return [] }
        let handoff = OutboxHandoff.pending
        var rows = "["
        for (index, submission) in prepared.enumerated() {
            if index > 0 { rows += "," }
            // The row's position, then its fields.
            rows += "{\"n\":\(index + 1)," + String(decoding: submission.row.dropFirst(), as: UTF8.self)
        }
        rows += "]"
        let inserted = try await connection.query(
            """
            WITH clock AS (SELECT clock_timestamp() AS at), input AS (
                SELECT * FROM jsonb_to_recordset(\(rows)::jsonb) AS r(n int, id uuid, idempotency_key text, category text, description text,
                    grid_id text, household_id text, address text, reporter_name text, reporter_phone text, reporter_phone_hash text,
                    channel text, submitted_by text, latitude float8, longitude float8, reported_at float8, event_id text, event_type text,
                    actor text, detail text, occurred_at float8, hash text, message_id text, exchange text, routing_key text,
                    message_type text, correlation_id text, headers text, body text)
            ), request AS (
                INSERT INTO intake.requests (id, idempotency_key, category, description, grid_id, household_id, address,
                    reporter_name, reporter_phone, reporter_phone_hash, channel, submitted_by, state, version, latitude, longitude, reported_at,
                    created_at, updated_at)
                SELECT r.id, r.idempotency_key, r.category, r.description, r.grid_id, r.household_id, r.address, r.reporter_name,
                    r.reporter_phone, r.reporter_phone_hash, r.channel, r.submitted_by, 'received', 1, r.latitude, r.longitude,
                    to_timestamp(r.reported_at), clock.at + r.n * interval '1 microsecond', clock.at + r.n * interval '1 microsecond'
                FROM input r, clock ORDER BY r.n
                ON CONFLICT (idempotency_key) DO NOTHING RETURNING id
            ), trail AS (
                INSERT INTO intake.trail (event_id, request_id, seq, version, event_type, state, unit, actor, detail, occurred_at, prev_hash, hash)
                SELECT r.event_id, r.id, 1, 1, r.event_type, \(RequestState.received.rawValue), NULL, r.actor, r.detail, to_timestamp(r.occurred_at),
                    \(TrailChain.genesis), r.hash
                FROM input r JOIN request USING (id)
            ), outbox AS (
                INSERT INTO intake.outbox (message_id, exchange, routing_key, message_type, correlation_id, reply_to, headers, body, next_attempt_at)
                SELECT r.message_id, r.exchange, r.routing_key, r.message_type, r.correlation_id, NULL, r.headers::jsonb, r.body,
                    clock.at + make_interval(secs => \(OutboxHandoff.delay(handoff))::float8)
                FROM input r JOIN request USING (id), clock ORDER BY r.n
                RETURNING id, message_id
            )
            SELECT r.id, outbox.id FROM outbox JOIN input r USING (message_id)
            """,
            logger: logger
        )
        var outboxIds: [UUID: Int64] = [:]
        for try await (id, outboxId) in inserted.decode((UUID, Int64).self) { outboxIds[id] = outboxId }
        handoff?.append(prepared.compactMap { submission in outboxIds[submission.id.uuid].map { HandedOffRow(id: $0, message: submission.message) } })
        let replayed = prepared.filter { outboxIds[$0.id.uuid] == nil }.compactMap(\.idempotencyKey)
        var earlier: [String: RequestID] = [:]
        if !replayed.isEmpty {
            let rows = try await connection.query(
                "SELECT idempotency_key, id FROM intake.requests WHERE idempotency_key = ANY(\(replayed))",
                logger: logger
            )
            for try await (key, id) in rows.decode((String, RequestID).self) { earlier[key] = id }
        }
        return try prepared.map { submission in
            if outboxIds[submission.id.uuid] != nil { return SubmissionOutcome(requestId: submission.id.description, created: true) }
            guard let key = submission.idempotencyKey, let id = earlier[key] else { throw IntakeError.idempotencyRace }
            return SubmissionOutcome(requestId: id.description, created: false)
        }
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

/// A submission made ready to store (``IntakeStore/prepare(_:idempotencyKey:correlationId:reportedAt:)``).
struct PreparedSubmission: Sendable {
    var id: RequestID
    var idempotencyKey: String?
    /// Its ``SubmissionRow`` as a JSON object.
    var row: Data
    /// Its `request.received` event, for the outbox and the handoff.
    var message: OutgoingMessage
}

/// One submission's columns in ``IntakeStore/store(_:on:logger:)``'s statement (absent
/// optionals are `NULL`; times in seconds since 1970).
private struct SubmissionRow: Encodable {
    var id: String
    var idempotencyKey: String?
    var category: String
    var description: String
    var gridId: String?
    var householdId: String?
    var address: String?
    var reporterName: String
    var reporterPhone: String
    var reporterPhoneHash: String
    var channel: String
    var submittedBy: String?
    var latitude: Double?
    var longitude: Double?
    var reportedAt: Double?
    var eventId: String
    var eventType: String
    var actor: String?
    var detail: String?
    var occurredAt: Double
    var hash: String
    var messageId: String
    var exchange: String
    var routingKey: String
    var messageType: String
    var correlationId: String?
    var headers: String
    var body: String

    enum CodingKeys: String, CodingKey {
        case id, category, description, address, channel, latitude, longitude, actor, detail, hash, exchange, headers, body
        case idempotencyKey = "idempotency_key"
        case gridId = "grid_id"
        case householdId = "household_id"
        case reporterName = "reporter_name"
        case reporterPhone = "reporter_phone"
        case reporterPhoneHash = "reporter_phone_hash"
        case submittedBy = "submitted_by"
        case reportedAt = "reported_at"
        case eventId = "event_id"
        case eventType = "event_type"
        case occurredAt = "occurred_at"
        case messageId = "message_id"
        case routingKey = "routing_key"
        case messageType = "message_type"
        case correlationId = "correlation_id"
    }
}
