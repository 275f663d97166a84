import Foundation
import GridLoopDomain
import Logging
import PostgresNIO

/// Reads of the community read models (``CommunityProjection``) for the reports, the dashboard
/// and the assessment; the figures themselves are computed by the pure `make` functions.
struct CommunityStore: Sendable {
    let postgres: PostgresClient

    /// Per grid (`grid:<id>`), the coverage of the notices due there in `period` (their due day
    /// within it): the grid workers' notice part. Grids without households to inform are left out.
    func noticeCoverage(_ period: Period, logger: Logger) async throws -> [String: NoticeCoverage] {
        let rows = try await postgres.query(
            """
            SELECT g.grid, count(*)::bigint, sum(g.households)::bigint, sum(least(g.on_time, g.households))::bigint
            FROM reporting.notice_grids g JOIN reporting.notices n ON n.id = g.notice_id
            WHERE n.due_on BETWEEN \(period.from)::date AND \(period.to)::date AND g.households > 0
            GROUP BY g.grid
            """,
            logger: logger
        )
        var result: [String: NoticeCoverage] = [:]
        for try await (grid, notices, households, onTime) in rows.decode((String, Int64, Int64, Int64).self) {
            result["grid:\(grid)"] = NoticeCoverage(notices: Int(notices), households: Int(households), informedOnTime: Int(onTime))
        }
        return result
    }

    /// The notices open during `period` (published on or before its last day, due on or after its first).
    func notices(_ period: Period, street: String?, directory: ReportingDirectory, logger: Logger) async throws -> NoticesReport {
        let notices = try await postgres.query(
            """
            SELECT id, title, title_en, to_char(due_on, 'YYYY-MM-DD'), to_char(published_on, 'YYYY-MM-DD'), published_by, unit
            FROM reporting.notices WHERE published_on <= \(period.to)::date AND due_on >= \(period.from)::date
            """,
            logger: logger
        ).collect().map { try $0.decode((String, String, String?, String, String, String, String).self) }.map {
            NoticeFacts(id: $0.0, title: $0.1, titleEn: $0.2, dueOn: $0.3, publishedOn: $0.4, publishedBy: $0.5, unit: $0.6)
        }
        let grids = try await postgres.query(
            """
            SELECT g.notice_id, g.grid, g.street, coalesce(g.households, 0), g.informed, g.on_time, g.via_visit, g.via_phone, g.via_sms, g.sms_sent,
                   g.reminded_at IS NOT NULL, g.overdue_at IS NOT NULL
            FROM reporting.notice_grids g JOIN reporting.notices n ON n.id = g.notice_id
            WHERE n.published_on <= \(period.to)::date AND n.due_on >= \(period.from)::date
            """,
            logger: logger
        ).collect().map { try $0.decode((String, String, String?, Int, Int, Int, Int, Int, Int, Int, Bool, Bool).self) }.map {
            NoticeGridFacts(
                noticeId: $0.0,
                grid: $0.1,
                street: $0.2,
                households: $0.3,
                informed: $0.4,
                onTime: $0.5,
                visit: $0.6,
                phone: $0.7,
                sms: $0.8,
                smsSent: $0.9,
                reminded: $0.10,
                overdue: $0.11
            )
        }
        return NoticesReport.make(period: period, street: street, notices: notices, grids: grids, directory: directory)
    }

    /// The consultations open during `period` (opened on or before its last day, ending on or after its first).
    func consultations(_ period: Period, street: String?, directory: ReportingDirectory, logger: Logger) async throws -> ConsultationsReport {
        let consultations = try await postgres.query(
            """
            SELECT id, question, options, to_char(ends_on, 'YYYY-MM-DD'), rule, to_char(opened_on, 'YYYY-MM-DD'), opened_by, unit, closed_at, result,
                   meeting_outcome
            FROM reporting.consultations WHERE opened_on <= \(period.to)::date AND ends_on >= \(period.from)::date
            """,
            logger: logger
        ).collect().map { try $0.decode((String, String, [String], String, String, String, String, String, Date?, String?, String?).self) }.map {
            ConsultationFacts(
                id: $0.0,
                question: $0.1,
                options: $0.2,
                endsOn: $0.3,
                rule: $0.4,
                openedOn: $0.5,
                openedBy: $0.6,
                unit: $0.7,
                closedAt: $0.8,
                result: $0.9,
                meetingOutcome: $0.10
            )
        }
        let ids = consultations.map(\.id)
        let grids = try await postgres.query(
            "SELECT consultation_id, grid, households FROM reporting.consultation_grids WHERE consultation_id = ANY(\(ids)::text[])",
            logger: logger
        ).collect().map { try $0.decode((String, String, Int).self) }.map {
            ConsultationGridFacts(consultationId: $0.0, grid: $0.1, households: $0.2)
        }
        let holdings = try await postgres.query(
            """
            SELECT consultation_id, grid, option, count(*)::bigint, count(*) FILTER (WHERE concerns)::bigint, count(*) FILTER (WHERE changes > 0)::bigint
            FROM reporting.consultation_positions WHERE consultation_id = ANY(\(ids)::text[]) GROUP BY 1, 2, 3
            """,
            logger: logger
        ).collect().map { try $0.decode((String, String, String, Int64, Int64, Int64).self) }.map {
            ConsultationHoldingFacts(consultationId: $0.0, grid: $0.1, option: $0.2, households: Int($0.3), concerns: Int($0.4), changed: Int($0.5))
        }
        return ConsultationsReport.make(
            period: period,
            street: street,
            consultations: consultations,
            grids: grids,
            holdings: holdings,
            directory: directory
        )
    }

    /// The wishes collected in `period`, with their states now.
    func wishes(_ period: Period, street: String?, clusterMinimum: Int, directory: ReportingDirectory, logger: Logger) async throws -> WishesReport {
        let counts = try await postgres.query(
            """
            SELECT grid, street, kind, state, count(*)::bigint FROM reporting.wishes
            WHERE collected_on BETWEEN \(period.from)::date AND \(period.to)::date GROUP BY 1, 2, 3, 4
            """,
            logger: logger
        ).collect().map { try $0.decode((String, String, String, String, Int64).self) }.compactMap { row -> WishCountFacts? in
            guard let state = WishState(rawValue: row.3) else { return nil }
            return WishCountFacts(grid: row.0, street: row.1, kind: row.2, state: state, count: Int(row.4))
        }
        return WishesReport.make(period: period, street: street, counts: counts, clusterMinimum: clusterMinimum, directory: directory)
    }

    /// Per street, the month's scores (`month` scored), redemptions and donations (made in the local month).
    func points(month: String, street: String?, directory: ReportingDirectory, logger: Logger) async throws -> PointsReport {
        var rows: [PointsRow] = []
        let scores = try await postgres.query(
            """
            SELECT street, count(*)::bigint, sum(points)::bigint, sum(worker_points)::bigint FROM reporting.point_scores
            WHERE month = \(month) GROUP BY street
            """,
            logger: logger
        )
        for try await (street, households, points, workers) in scores.decode((String, Int64, Int64, Int64).self) {
            rows.append(PointsRow(street: street, name: "", householdsScored: Int(households), pointsEarned: Int(points), workerPoints: Int(workers)))
        }
        let redemptions = try await postgres.query(
            """
            SELECT street, count(*)::bigint, sum(points)::bigint, sum(quantity)::bigint FROM reporting.point_redemptions
            WHERE month = \(month) GROUP BY street
            """,
            logger: logger
        )
        for try await (street, count, points, goods) in redemptions.decode((String, Int64, Int64, Int64).self) {
            rows.append(PointsRow(street: street, name: "", redemptions: Int(count), pointsRedeemed: Int(points), goodsRedeemed: Int(goods)))
        }
        let donations = try await postgres.query(
            "SELECT street, count(*)::bigint, sum(quantity)::bigint FROM reporting.goods_donations WHERE month = \(month) GROUP BY street",
            logger: logger
        )
        for try await (street, count, goods) in donations.decode((String, Int64, Int64).self) {
            rows.append(PointsRow(street: street, name: "", donations: Int(count), goodsDonated: Int(goods)))
        }
        return PointsReport.make(month: month, street: street, rows: rows, directory: directory)
    }
}
