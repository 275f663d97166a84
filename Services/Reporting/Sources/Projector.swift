import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import Logging
import PostgresNIO

/// Applies one event to reporting's read models: the request row, the assignment rows and
/// the daily and monthly rollups (metric counters per unit and local day). The same code
/// runs for live events and for `gridloop reports rebuild`, so a rebuild gives the same figures.
///
/// Where each counter is kept: work at a unit (`assigned`, `claimed`, `claimed_on_time`,
/// `resolved`, `resolved_on_time`, `claim_h<k>`/`resolve_h<k>` duration histograms) on the day
/// the assignment was made; feedback (`feedback`, `solved`, `satisfied`, `basically`,
/// `reopened`) at the unit that resolved the request, and again (`origin_*`) at the request's
/// grid, for its grid worker; `escalated_from`, `returned_from`, `overdue`, `rejected`,
/// `merged` at the unit concerned; `received` at the unit of the first placement; `collected`
/// and `visits` at `staff:<id>`. Only the events decide (never the current org), so a rebuild
/// after an org change gives the same figures. The community events (#20: notices,
/// consultations, micro-wishes, green points) go to their own read models (``CommunityProjection``).
struct Projector: Sendable {
    /// Applies `body` (an envelope of type `type`); returns `false` for types reporting ignores.
    /// A malformed payload is a ``PoisonMessage`` (the live event is dead-lettered).
    @discardableResult
    func apply(type: String, body: [UInt8], on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let event: RequestEvent
        do {
            event = try RequestEvent(type: type, body: body)
        } catch RequestEventDecodingError.unknownType {
            return false
        } catch {
            throw PoisonMessage(error.description)
        }
        return try await apply(event, on: connection, logger: logger)
    }

    /// Applies `event`; returns `false` for kinds reporting ignores.
    @discardableResult
    func apply(_ event: RequestEvent, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let offset = try await utcOffset(on: connection, logger: logger)
        var rollups = Rollups(utcOffset: offset)
        let community = CommunityProjection(utcOffset: offset)
        /// The request now waits at `moved.to`, under a new assignment.
        func move(_ moved: RequestMoved) async throws {
            try await upsertRequest(event, state: .assigned, unit: moved.to, on: connection, logger: logger)
            try await assign(
                moved.assignmentId,
                request: moved.requestId,
                unit: moved.to,
                at: event.occurredAt,
                claimDue: nil,
                rollups: &rollups,
                on: connection,
                logger: logger
            )
        }
        /// Closed without work (`rejected` or `merged`), counted at the unit it was at.
        func end(_ ended: RequestEnded, state: RequestState, metric: String) async throws {
            let unit = try await connection.query("SELECT unit FROM reporting.requests WHERE id = \(ended.requestId)", logger: logger).collect()
                .first?.decode(String?.self)
            try await upsertRequest(event, state: state, on: connection, logger: logger)
            rollups.bump(metric, unit: unit ?? OrgFile.triageDesk.description, at: event.occurredAt)
        }
        switch event.kind {
        case .received(let received):
            let submission = received.submission
            // Only what the events say: the grid, when given; otherwise the first grid assignment.
            try await upsertRequest(event, state: .received, category: submission.category, on: connection, logger: logger)
            try await connection.query(
                """
                UPDATE reporting.requests SET grid = coalesce(grid, \(submission.location.gridId)), household = \(submission.location.householdId),
                    address = \(submission.location.address.map { $0.replacingOccurrences(of: " ", with: "") }), submitted_by = \(submission.submittedBy),
                    channel = \(submission.channel.rawValue), reporter_name = \(submission.reporter.name), reporter_phone = \(Masking.phone(submission.reporter.phone)),
                    description = \(submission.description), received_at = \(event.occurredAt)
                WHERE id = \(received.requestId)
                """,
                logger: logger
            )
            if let by = submission.submittedBy { rollups.bump("collected", unit: "staff:\(by)", at: event.occurredAt) }
        case .assigned(let assigned):
            try await upsertRequest(event, state: .assigned, unit: assigned.unit, category: assigned.category, on: connection, logger: logger)
            if assigned.unit.tier == .grid {
                try await connection.query(
                    "UPDATE reporting.requests SET grid = coalesce(grid, \(assigned.unit.id)) WHERE id = \(assigned.requestId)",
                    logger: logger
                )
            }
            try await assign(
                assigned.assignmentId,
                request: assigned.requestId,
                unit: assigned.unit,
                at: event.occurredAt,
                claimDue: assigned.claimDueAt,
                rollups: &rollups,
                on: connection,
                logger: logger
            )
            // A request's first placement (routing resolved its household or address): counted as received there.
            rollups.bump("received", unit: assigned.unit.description, at: event.occurredAt)
        case .escalated(let moved):
            try await move(moved)
            rollups.bump("escalated_from", unit: moved.from.description, at: event.occurredAt)
        case .returned(let moved):
            try await move(moved)
            rollups.bump("returned_from", unit: moved.from.description, at: event.occurredAt)
        case .reassigned(let moved), .unlinked(let moved):
            try await move(moved)
        case .reopened(let moved):
            try await move(moved)
            let (resolvedUnit, grid) = try await resolvedUnitAndGrid(moved.requestId, on: connection, logger: logger)
            let unit = resolvedUnit ?? moved.from.description
            let metrics = ["feedback", "reopened"] + (moved.contacted == false ? ["not_contacted"] : [])
            for metric in metrics { rollups.bump(metric, unit: unit, at: event.occurredAt) }
            if let grid { for metric in metrics { rollups.bump("origin_\(metric)", unit: "grid:\(grid)", at: event.occurredAt) } }
            try await connection.query(
                "UPDATE reporting.requests SET reopens = reopens + 1, satisfaction = 'unsatisfied' WHERE id = \(moved.requestId)",
                logger: logger
            )
        case .summoned(let summoned):
            for (unitText, assignment) in summoned.summoned.sorted(by: { $0.key < $1.key }) {
                guard let unit = try? UnitRef(parsing: unitText) else { continue }
                try await assign(
                    assignment,
                    request: summoned.requestId,
                    unit: unit,
                    at: event.occurredAt,
                    claimDue: nil,
                    rollups: &rollups,
                    on: connection,
                    logger: logger
                )
            }
            try await touch(event, on: connection, logger: logger)
        case .claimed(let claimed):
            try await upsertRequest(event, state: .claimed, unit: claimed.unit, on: connection, logger: logger)
            try await connection.query(
                "UPDATE reporting.requests SET resolve_due_at = \(claimed.resolveDueAt) WHERE id = \(claimed.requestId)",
                logger: logger
            )
            try await claim(
                claimed.assignmentId,
                at: event.occurredAt,
                resolveDue: claimed.resolveDueAt,
                rollups: &rollups,
                on: connection,
                logger: logger
            )
        case .summonsAcknowledged(let progress):
            try await claim(progress.assignmentId, at: event.occurredAt, resolveDue: nil, rollups: &rollups, on: connection, logger: logger)
            try await touch(event, on: connection, logger: logger)
        case .summonsDone(let progress):
            try await resolve(progress.assignmentId, at: event.occurredAt, rollups: &rollups, on: connection, logger: logger)
            try await touch(event, on: connection, logger: logger)
        case .resolved(let resolved):
            try await upsertRequest(event, state: .resolved, unit: resolved.unit, on: connection, logger: logger)
            try await connection.query(
                "UPDATE reporting.requests SET resolved_unit = \(resolved.unit.description), resolved_at = \(event.occurredAt) WHERE id = \(resolved.requestId)",
                logger: logger
            )
            try await resolve(resolved.assignmentId, at: event.occurredAt, rollups: &rollups, on: connection, logger: logger)
        case .closed(let closed):
            try await upsertRequest(event, state: .closed, on: connection, logger: logger)
            let (resolvedUnit, grid) = try await resolvedUnitAndGrid(closed.requestId, on: connection, logger: logger)
            try await connection.query(
                "UPDATE reporting.requests SET closed_at = \(event.occurredAt), satisfaction = \(closed.satisfaction.rawValue) WHERE id = \(closed.requestId)",
                logger: logger
            )
            var metrics = ["feedback"]
            if closed.solved ?? true { metrics.append("solved") }
            if closed.satisfaction.closesTheLoop { metrics.append("satisfied") }
            if closed.satisfaction == .basicallySatisfied { metrics.append("basically") }
            if closed.contacted == false { metrics.append("not_contacted") }
            if let resolvedUnit { for metric in metrics { rollups.bump(metric, unit: resolvedUnit, at: event.occurredAt) } }
            if let grid { for metric in metrics { rollups.bump("origin_\(metric)", unit: "grid:\(grid)", at: event.occurredAt) } }
        case .overdue(let overdue):
            try await connection.query(
                "UPDATE reporting.requests SET overdue_at = coalesce(overdue_at, \(event.occurredAt)) WHERE id = \(overdue.requestId)",
                logger: logger
            )
            rollups.bump("overdue", unit: overdue.unit.description, at: event.occurredAt)
        case .rejected(let ended):
            try await end(ended, state: .rejected, metric: "rejected")
        case .merged(let ended):
            try await end(ended, state: .merged, metric: "merged")
        case .recategorized(let change):
            try await upsertRequest(event, state: change.state, unit: change.unit, on: connection, logger: logger)
            let version = event.requestVersion ?? 0
            try await connection.query(
                """
                UPDATE reporting.requests SET category = \(change.to), category_version = \(version)
                WHERE id = \(change.requestId) AND category_version < \(version)
                """,
                logger: logger
            )
            rollups.bump("recategorized", unit: change.unit.description, at: event.occurredAt)
            if change.suggested != nil { rollups.bump("suggestion_shown", unit: change.unit.description, at: event.occurredAt) }
            if let suggested = change.suggested, suggested == change.to {
                rollups.bump("suggestion_followed", unit: change.unit.description, at: event.occurredAt)
            }
        case .visitLogged(let visit):
            let inserted = try await connection.query(
                """
                INSERT INTO reporting.visits (id, staff, household, visited_at) VALUES (\(visit.visitId), \(visit.staff), \(visit.householdId), \(visit.visitedAt))
                ON CONFLICT (id) DO NOTHING RETURNING id
                """,
                logger: logger
            ).collect().count
            if inserted == 1 { rollups.bump("visits", unit: "staff:\(visit.staff)", at: visit.visitedAt) }
        case .taskChecked(let check):
            // 未诉先办: households checked (the worker's proactive work) and hazards found (the grid's).
            if check.recheck != true { rollups.bump("task_checks", unit: "staff:\(check.staff)", at: event.occurredAt) }
            if check.outcome == .hazard { rollups.bump("task_hazards", unit: "grid:\(check.grid)", at: event.occurredAt) }
        // 上情下达, 议事, 微心愿, 绿币: the community read models (``CommunityProjection``).
        case .noticePublished(let notice):
            try await community.published(notice, at: event.occurredAt, on: connection, logger: logger)
        case .noticeInformed(let inform):
            try await community.informed(inform, at: event.occurredAt, on: connection, logger: logger)
        case .noticeSMS(let sms):
            try await community.smsSent(sms, on: connection, logger: logger)
        case .noticeLagging(let lag):
            try await community.lagging(lag, at: event.occurredAt, on: connection, logger: logger)
        case .consultationOpened(let consultation):
            try await community.opened(consultation, at: event.occurredAt, on: connection, logger: logger)
        case .consultationPosition(let position):
            try await community.position(position, at: event.occurredAt, on: connection, logger: logger)
        case .consultationClosed(let closed):
            try await community.closed(closed, at: event.occurredAt, on: connection, logger: logger)
        case .consultationMeeting:
            return false  // no figure counts it: the outcome comes with consultation.closed
        case .wishChanged(let wish):
            try await community.wish(wish, at: event.occurredAt, on: connection, logger: logger)
        case .pointsScored(let score):
            try await community.scored(score, at: event.occurredAt, on: connection, logger: logger)
        case .pointsRedeemed(let redemption):
            try await community.redeemed(redemption, at: event.occurredAt, on: connection, logger: logger)
        case .goodsDonated(let donation):
            try await community.donated(donation, at: event.occurredAt, on: connection, logger: logger)
        case .deadlineWarning, .streetInformed, .taskOpened:
            return false  // no figure counts them
        }
        try await rollups.write(on: connection, logger: logger)
        return true
    }

    private func utcOffset(on connection: PostgresConnection, logger: Logger) async throws -> Int {
        try await connection.query("SELECT utc_offset FROM reporting.settings WHERE id = 1", logger: logger).collect().first?.decode(Int.self) ?? 8
            * 3600
    }

    /// The request row moves forward only by version (an older event never overwrites a newer state).
    private func upsertRequest(
        _ event: RequestEvent,
        state: RequestState,
        unit: UnitRef? = nil,
        category: String? = nil,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        guard let requestId = event.requestId else { return }
        let version = event.requestVersion ?? 0
        try await connection.query(
            """
            INSERT INTO reporting.requests (id, state, tier, unit, category, version, received_at, updated_at)
            VALUES (\(requestId), \(state.rawValue), \(unit?.tier.rawValue), \(unit?.description), \(category), \(version), \(state == .received ? event.occurredAt : nil), \(event.occurredAt))
            ON CONFLICT (id) DO UPDATE SET
                state = CASE WHEN EXCLUDED.version > reporting.requests.version THEN EXCLUDED.state ELSE reporting.requests.state END,
                tier = CASE WHEN EXCLUDED.version > reporting.requests.version THEN COALESCE(EXCLUDED.tier, reporting.requests.tier) ELSE reporting.requests.tier END,
                unit = CASE WHEN EXCLUDED.version > reporting.requests.version THEN COALESCE(EXCLUDED.unit, reporting.requests.unit) ELSE reporting.requests.unit END,
                category = COALESCE(reporting.requests.category, EXCLUDED.category),
                received_at = COALESCE(reporting.requests.received_at, EXCLUDED.received_at),
                updated_at = GREATEST(reporting.requests.updated_at, EXCLUDED.updated_at),
                version = GREATEST(reporting.requests.version, EXCLUDED.version)
            """,
            logger: logger
        )
    }

    private func touch(_ event: RequestEvent, on connection: PostgresConnection, logger: Logger) async throws {
        guard let requestId = event.requestId else { return }
        try await connection.query(
            "UPDATE reporting.requests SET version = GREATEST(version, \(event.requestVersion ?? 0)), updated_at = GREATEST(updated_at, \(event.occurredAt)) WHERE id = \(requestId)",
            logger: logger
        )
    }

    private func assign(
        _ assignment: String,
        request: String,
        unit: UnitRef,
        at: Date,
        claimDue: Date?,
        rollups: inout Rollups,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let inserted = try await connection.query(
            """
            INSERT INTO reporting.assignments (id, request_id, unit, assigned_at, claim_due_at) VALUES (\(assignment), \(request), \(unit.description), \(at), \(claimDue))
            ON CONFLICT (id) DO NOTHING RETURNING id
            """,
            logger: logger
        ).collect().count
        if claimDue != nil {
            try await connection.query("UPDATE reporting.requests SET claim_due_at = \(claimDue) WHERE id = \(request)", logger: logger)
        }
        if inserted == 1 { rollups.bump("assigned", unit: unit.description, at: at) }
    }

    private func claim(
        _ assignment: String,
        at: Date,
        resolveDue: Date?,
        rollups: inout Rollups,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let rows = try await connection.query(
            """
            UPDATE reporting.assignments SET claimed_at = \(at), resolve_due_at = \(resolveDue) WHERE id = \(assignment) AND claimed_at IS NULL
            RETURNING unit, assigned_at, claim_due_at
            """,
            logger: logger
        ).collect()
        guard let row = rows.first else {
            try await requireAssignment(assignment, on: connection, logger: logger)
            return
        }
        try count(row, done: "claimed", onTime: "claimed_on_time", histogram: "claim", at: at, rollups: &rollups)
    }

    private func resolve(_ assignment: String, at: Date, rollups: inout Rollups, on connection: PostgresConnection, logger: Logger) async throws {
        let rows = try await connection.query(
            "UPDATE reporting.assignments SET resolved_at = \(at) WHERE id = \(assignment) AND resolved_at IS NULL RETURNING unit, assigned_at, resolve_due_at",
            logger: logger
        ).collect()
        guard let row = rows.first else {
            try await requireAssignment(assignment, on: connection, logger: logger)
            return
        }
        try count(row, done: "resolved", onTime: "resolved_on_time", histogram: "resolve", at: at, rollups: &rollups)
    }

    /// Counts a claim or resolution (`row`: unit, assigned at, deadline) on the day its assignment was made.
    private func count(_ row: PostgresRow, done: String, onTime: String, histogram: String, at: Date, rollups: inout Rollups) throws {
        let (unit, assignedAt, due) = try row.decode((String, Date, Date?).self)
        rollups.bump(done, unit: unit, at: assignedAt)
        if due.map({ at <= $0 }) ?? true { rollups.bump(onTime, unit: unit, at: assignedAt) }
        rollups.bump(DurationHistogram.metric(histogram, seconds: at.timeIntervalSince(assignedAt)), unit: unit, at: assignedAt)
    }

    /// The unit that resolved the request and its grid; the resolution must have been applied
    /// (feedback follows it, but events are handled concurrently: retried until it has).
    private func resolvedUnitAndGrid(_ request: String, on connection: PostgresConnection, logger: Logger) async throws -> (String?, String?) {
        let row = try await connection.query("SELECT resolved_unit, grid FROM reporting.requests WHERE id = \(request)", logger: logger).collect()
            .first
        let (unit, grid) = try row?.decode((String?, String?).self) ?? (nil, nil)
        guard unit != nil else { throw ProjectionNotReady(reason: "feedback on request \(request) before its resolution was projected") }
        return (unit, grid)
    }

    /// A claim or resolution of an assignment not yet projected waits for it (retried).
    private func requireAssignment(_ assignment: String, on connection: PostgresConnection, logger: Logger) async throws {
        let known = try await connection.query("SELECT 1 FROM reporting.assignments WHERE id = \(assignment)", logger: logger).collect().count
        guard known == 1 else { throw ProjectionNotReady(reason: "assignment \(assignment) not projected yet") }
    }
}

/// An event that depends on one not applied yet (handled concurrently): the transaction rolls
/// back and the consumer retries it, so the stored order is always an order that applies.
struct ProjectionNotReady: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

/// Counter increments of one event, written to the daily and monthly rollups together.
struct Rollups {
    let utcOffset: Int
    private(set) var increments: [(day: String, month: String, unit: String, metric: String)] = []

    init(utcOffset: Int) { self.utcOffset = utcOffset }

    mutating func bump(_ metric: String, unit: String, at date: Date) {
        let day = LocalDay.string(date, utcOffset: utcOffset)
        increments.append((day, String(day.prefix(7)) + "-01", unit, metric))
    }

    func write(on connection: PostgresConnection, logger: Logger) async throws {
        for increment in increments {
            try await connection.query(
                """
                INSERT INTO reporting.daily (day, unit, metric, value) VALUES (\(increment.day)::date, \(increment.unit), \(increment.metric), 1)
                ON CONFLICT (day, unit, metric) DO UPDATE SET value = reporting.daily.value + 1
                """,
                logger: logger
            )
            try await connection.query(
                """
                INSERT INTO reporting.monthly (month, unit, metric, value) VALUES (\(increment.month)::date, \(increment.unit), \(increment.metric), 1)
                ON CONFLICT (month, unit, metric) DO UPDATE SET value = reporting.monthly.value + 1
                """,
                logger: logger
            )
        }
    }
}
