import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import Logging
import PostgresNIO

/// Projects the community events (#20) into reporting's read models, for ``Projector`` (live
/// and in `gridloop reports rebuild`, so a rebuild gives the same figures). Each event is applied
/// once (the inbox), and each row is keyed by what it records, so a household counted twice by
/// two events of the same thing still counts once, and events applied out of order end the same:
///
/// - `reporting.notices`, `reporting.notice_grids` (households from `notice.published`; informed,
///   on time and how, SMS sent, reminded and overdue added up per notice × grid),
///   `reporting.notice_informs` (one row per notice and household: a second inform counts nothing);
/// - `reporting.consultations`, `reporting.consultation_grids`, `reporting.consultation_positions`
///   (each household's latest position: a changed position moves the household from `previous`
///   to `option`; an older position arriving late changes nothing);
/// - `reporting.wishes` (each wish's furthest state and the day of each step);
/// - `reporting.point_scores` (each household's latest score of a month: a month scored again
///   replaces the score, as routing reverses and earns anew), `reporting.point_redemptions`,
///   `reporting.goods_donations` (with the org's local month they happened in).
///
/// Grids and streets are kept as the events' bare ids (`grid:` prefixes dropped).
struct CommunityProjection: Sendable {
    /// The org's offset from UTC in seconds (``Rollups/utcOffset``): local days and months.
    let utcOffset: Int

    /// The local day of `date`, `yyyy-MM-dd`.
    private func day(_ date: Date) -> String { LocalDay.string(date, utcOffset: utcOffset) }

    /// The tables `gridloop reports rebuild` empties before it replays the events.
    static let tables = [
        "reporting.notices", "reporting.notice_grids", "reporting.notice_informs", "reporting.consultations", "reporting.consultation_grids",
        "reporting.consultation_positions", "reporting.wishes", "reporting.point_scores", "reporting.point_redemptions",
        "reporting.goods_donations",
    ]

    // MARK: Notices

    func published(_ notice: NoticePublished, at: Date, on connection: PostgresConnection, logger: Logger) async throws {
        try Self.requireDay(notice.dueOn, field: "dueOn", of: "notice.published")
        try await connection.query(
            """
            INSERT INTO reporting.notices (id, title, title_en, due_on, published_on, published_by, unit, published_at)
            VALUES (\(notice.noticeId), \(notice.title), \(notice.titleEn), \(notice.dueOn)::date, \(day(at))::date, \(notice.publishedBy),
                    \(notice.unit.description), \(at))
            ON CONFLICT (id) DO NOTHING
            """,
            logger: logger
        )
        let households = Dictionary(notice.households.map { (Self.bare($0.key), $0.value) }, uniquingKeysWith: +)
        for grid in Set(notice.grids.map(Self.bare)).sorted() {
            try await connection.query(
                """
                INSERT INTO reporting.notice_grids (notice_id, grid, households) VALUES (\(notice.noticeId), \(grid), \(max(0, households[grid] ?? 0)))
                ON CONFLICT (notice_id, grid) DO UPDATE SET households = EXCLUDED.households
                """,
                logger: logger
            )
        }
    }

    func informed(_ inform: NoticeInformed, at: Date, on connection: PostgresConnection, logger: Logger) async throws {
        let grid = Self.bare(inform.grid)
        let first =
            try await connection.query(
                """
                INSERT INTO reporting.notice_informs (notice_id, household, grid, street, staff, via, on_time, informed_at)
                VALUES (\(inform.noticeId), \(inform.householdId), \(grid), \(Self.bare(inform.street)), \(inform.staff), \(inform.via.rawValue),
                        \(inform.onTime), \(at))
                ON CONFLICT (notice_id, household) DO NOTHING RETURNING 1
                """,
                logger: logger
            ).collect().count == 1
        guard first else { return }  // the household was counted already
        func one(_ via: InformVia) -> Int { inform.via == via ? 1 : 0 }
        try await connection.query(
            """
            INSERT INTO reporting.notice_grids (notice_id, grid, street, informed, on_time, via_visit, via_phone, via_sms)
            VALUES (\(inform.noticeId), \(grid), \(Self.bare(inform.street)), 1, \(inform.onTime ? 1 : 0), \(one(.visit)), \(one(.phone)), \(one(.sms)))
            ON CONFLICT (notice_id, grid) DO UPDATE SET
                street = EXCLUDED.street,
                informed = reporting.notice_grids.informed + 1,
                on_time = reporting.notice_grids.on_time + EXCLUDED.on_time,
                via_visit = reporting.notice_grids.via_visit + EXCLUDED.via_visit,
                via_phone = reporting.notice_grids.via_phone + EXCLUDED.via_phone,
                via_sms = reporting.notice_grids.via_sms + EXCLUDED.via_sms
            """,
            logger: logger
        )
    }

    func smsSent(_ sms: NoticeSMS, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO reporting.notice_grids (notice_id, grid, sms_sent) VALUES (\(sms.noticeId), \(Self.bare(sms.grid)), 1)
            ON CONFLICT (notice_id, grid) DO UPDATE SET sms_sent = reporting.notice_grids.sms_sent + 1
            """,
            logger: logger
        )
    }

    func lagging(_ lag: NoticeLagging, at: Date, on connection: PostgresConnection, logger: Logger) async throws {
        let reminded: Date? = lag.stage == .reminder ? at : nil
        let overdue: Date? = lag.stage == .overdue ? at : nil
        try await connection.query(
            """
            INSERT INTO reporting.notice_grids (notice_id, grid, street, reminded_at, overdue_at)
            VALUES (\(lag.noticeId), \(Self.bare(lag.grid)), \(Self.bare(lag.street)), \(reminded), \(overdue))
            ON CONFLICT (notice_id, grid) DO UPDATE SET
                street = EXCLUDED.street,
                reminded_at = coalesce(reporting.notice_grids.reminded_at, EXCLUDED.reminded_at),
                overdue_at = coalesce(reporting.notice_grids.overdue_at, EXCLUDED.overdue_at)
            """,
            logger: logger
        )
    }

    // MARK: Consultations

    func opened(_ consultation: ConsultationOpened, at: Date, on connection: PostgresConnection, logger: Logger) async throws {
        try Self.requireDay(consultation.endsOn, field: "endsOn", of: "consultation.opened")
        try await connection.query(
            """
            INSERT INTO reporting.consultations (id, question, options, ends_on, rule, opened_on, opened_by, unit, opened_at)
            VALUES (\(consultation.consultationId), \(consultation.question), \(consultation.options), \(consultation.endsOn)::date,
                    \(consultation.rule), \(day(at))::date, \(consultation.openedBy), \(consultation.unit.description), \(at))
            ON CONFLICT (id) DO NOTHING
            """,
            logger: logger
        )
        let households = Dictionary(consultation.households.map { (Self.bare($0.key), $0.value) }, uniquingKeysWith: +)
        for grid in Set(consultation.grids.map(Self.bare)).sorted() {
            try await connection.query(
                """
                INSERT INTO reporting.consultation_grids (consultation_id, grid, households)
                VALUES (\(consultation.consultationId), \(grid), \(max(0, households[grid] ?? 0)))
                ON CONFLICT (consultation_id, grid) DO UPDATE SET households = EXCLUDED.households
                """,
                logger: logger
            )
        }
    }

    /// The household's position now: the latest recorded (by the time it happened); a change
    /// (`previous` set) is counted on the household.
    func position(_ position: ConsultationPosition, at: Date, on connection: PostgresConnection, logger: Logger) async throws {
        let changed = position.previous.map { $0 != position.option } ?? false
        try await connection.query(
            """
            INSERT INTO reporting.consultation_positions (consultation_id, household, grid, street, option, concerns, staff, recorded_at, changes)
            VALUES (\(position.consultationId), \(position.householdId), \(Self.bare(position.grid)), \(Self.bare(position.street)), \(position.option),
                    \(position.concerns), \(position.staff), \(at), \(changed ? 1 : 0))
            ON CONFLICT (consultation_id, household) DO UPDATE SET
                option = CASE WHEN EXCLUDED.recorded_at >= reporting.consultation_positions.recorded_at
                    THEN EXCLUDED.option ELSE reporting.consultation_positions.option END,
                concerns = CASE WHEN EXCLUDED.recorded_at >= reporting.consultation_positions.recorded_at
                    THEN EXCLUDED.concerns ELSE reporting.consultation_positions.concerns END,
                staff = CASE WHEN EXCLUDED.recorded_at >= reporting.consultation_positions.recorded_at
                    THEN EXCLUDED.staff ELSE reporting.consultation_positions.staff END,
                recorded_at = greatest(reporting.consultation_positions.recorded_at, EXCLUDED.recorded_at),
                changes = reporting.consultation_positions.changes + EXCLUDED.changes
            """,
            logger: logger
        )
    }

    /// The result; waits (retried) until the consultation's opening is projected.
    func closed(_ closed: ConsultationClosed, at: Date, on connection: PostgresConnection, logger: Logger) async throws {
        let tally = String(decoding: try JSONEncoder().encode(closed.tally), as: UTF8.self)
        let updated = try await connection.query(
            """
            UPDATE reporting.consultations SET closed_at = coalesce(closed_at, \(at)), closed_by = \(closed.closedBy), result = \(closed.result),
                meeting_outcome = \(closed.meetingOutcome), closed_households = \(closed.households), closed_tally = \(tally)::jsonb
            WHERE id = \(closed.consultationId) RETURNING 1
            """,
            logger: logger
        ).collect().count
        guard updated == 1 else {
            throw ProjectionNotReady(reason: "consultation \(closed.consultationId) closed before its opening was projected")
        }
    }

    // MARK: Micro-wishes

    /// The wish moves forward only (an older state arriving late changes nothing); each step's day is kept.
    func wish(_ wish: WishChanged, at: Date, on connection: PostgresConnection, logger: Logger) async throws {
        let step = WishState.allCases.firstIndex(of: wish.state) ?? 0
        let today = day(at)
        func on(_ state: WishState) -> String? { wish.state == state ? today : nil }
        try await connection.query(
            """
            INSERT INTO reporting.wishes (id, household, grid, street, kind, state, step, collected_on, adopted_on, fulfilled_on, confirmed_on,
                                          adopter_kind, adopter_name, updated_at)
            VALUES (\(wish.wishId), \(wish.householdId), \(Self.bare(wish.grid)), \(Self.bare(wish.street)), \(wish.kind), \(wish.state.rawValue),
                    \(step), \(on(.collected))::date, \(on(.adopted))::date, \(on(.fulfilled))::date, \(on(.confirmed))::date,
                    \(wish.adopterKind?.rawValue), \(wish.adopterName), \(at))
            ON CONFLICT (id) DO UPDATE SET
                state = CASE WHEN EXCLUDED.step > reporting.wishes.step THEN EXCLUDED.state ELSE reporting.wishes.state END,
                step = greatest(reporting.wishes.step, EXCLUDED.step),
                collected_on = coalesce(reporting.wishes.collected_on, EXCLUDED.collected_on),
                adopted_on = coalesce(reporting.wishes.adopted_on, EXCLUDED.adopted_on),
                fulfilled_on = coalesce(reporting.wishes.fulfilled_on, EXCLUDED.fulfilled_on),
                confirmed_on = coalesce(reporting.wishes.confirmed_on, EXCLUDED.confirmed_on),
                adopter_kind = coalesce(EXCLUDED.adopter_kind, reporting.wishes.adopter_kind),
                adopter_name = coalesce(EXCLUDED.adopter_name, reporting.wishes.adopter_name),
                updated_at = greatest(reporting.wishes.updated_at, EXCLUDED.updated_at)
            """,
            logger: logger
        )
    }

    // MARK: Green points

    /// A household's month: the latest score counts (a month scored again replaces it).
    func scored(_ score: PointsScored, at: Date, on connection: PostgresConnection, logger: Logger) async throws {
        guard PointsReport.month(score.month) != nil else {
            throw PoisonMessage("points.scored: month must be yyyy-MM, not '\(score.month)'")
        }
        let workers = score.workerPoints.values.reduce(0, +)
        try await connection.query(
            """
            INSERT INTO reporting.point_scores (month, household, grid, street, points, worker_points, scored_at, scores)
            VALUES (\(score.month), \(score.householdId), \(Self.bare(score.grid)), \(Self.bare(score.street)), \(score.points), \(workers), \(at), 1)
            ON CONFLICT (month, household) DO UPDATE SET
                grid = CASE WHEN EXCLUDED.scored_at >= reporting.point_scores.scored_at THEN EXCLUDED.grid ELSE reporting.point_scores.grid END,
                street = CASE WHEN EXCLUDED.scored_at >= reporting.point_scores.scored_at THEN EXCLUDED.street ELSE reporting.point_scores.street END,
                points = CASE WHEN EXCLUDED.scored_at >= reporting.point_scores.scored_at THEN EXCLUDED.points ELSE reporting.point_scores.points END,
                worker_points = CASE WHEN EXCLUDED.scored_at >= reporting.point_scores.scored_at
                    THEN EXCLUDED.worker_points ELSE reporting.point_scores.worker_points END,
                scored_at = greatest(reporting.point_scores.scored_at, EXCLUDED.scored_at),
                scores = reporting.point_scores.scores + 1
            """,
            logger: logger
        )
    }

    func redeemed(_ redemption: PointsRedeemed, at: Date, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO reporting.point_redemptions (id, household, grid, street, goods_id, goods_name, quantity, points, month, at)
            VALUES (\(redemption.redemptionId), \(redemption.householdId), \(Self.bare(redemption.grid)), \(Self.bare(redemption.street)),
                    \(redemption.goodsId), \(redemption.goodsName), \(redemption.quantity), \(redemption.points), \(String(day(at).prefix(7))), \(at))
            ON CONFLICT (id) DO NOTHING
            """,
            logger: logger
        )
    }

    func donated(_ donation: GoodsDonated, at: Date, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO reporting.goods_donations (id, street, goods_id, goods_name, quantity, donor, month, at)
            VALUES (\(donation.donationId), \(Self.bare(donation.street)), \(donation.goodsId), \(donation.goodsName), \(donation.quantity),
                    \(donation.donor), \(String(day(at).prefix(7))), \(at))
            ON CONFLICT (id) DO NOTHING
            """,
            logger: logger
        )
    }

    // MARK: Helpers

    /// `grid:hongxing-3` → `hongxing-3`, `street:xiping` → `xiping`; a bare id as it is.
    static func bare(_ id: String) -> String {
        for prefix in ["grid:", "street:"] where id.hasPrefix(prefix) { return String(id.dropFirst(prefix.count)) }
        return id
    }

    /// A payload's day that is not `yyyy-MM-dd` is a malformed event (dead-lettered, never stored).
    static func requireDay(_ text: String, field: String, of type: String) throws {
        guard Period.isDay(text) else { throw PoisonMessage("\(type): \(field) must be a day (yyyy-MM-dd), not '\(text)'") }
    }
}
