import Foundation
import GridLoopDomain
import Logging
import PostgresNIO

/// 分析研判: where problems gather and where they come back. Per grid × category (× month):
/// the reports received, the repeats (the same household or address reported the same category
/// within `repeatDays` before), the reopened ones (the resident was unsatisfied), and the
/// recurring share. Read from the request rows (so a rebuild gives the same table).
package struct HotspotRow: Codable, Sendable, Equatable {
    /// `yyyy-MM` when counted per month; `nil` for the whole period.
    package var month: String?
    package var grid: String?
    package var gridName: String
    package var street: String?
    package var streetName: String
    package var category: String
    package var reports: Int
    /// Reports of a category the same household or address had reported within the repeat window.
    package var repeats: Int
    /// Reports the resident sent back at least once (unsatisfied).
    package var reopened: Int
    /// Reports that are a repeat or were reopened.
    package var recurring: Int

    /// recurring / reports.
    package var recurringRate: Double

    package static let csvHeader = [
        "month", "street", "street_name", "grid", "grid_name", "category", "reports", "repeats", "reopened", "recurring", "recurring_rate",
    ]

    package var csvValues: [String] {
        [
            month ?? "", street ?? "", streetName, grid ?? "", gridName, category, "\(reports)", "\(repeats)", "\(reopened)", "\(recurring)",
            String(format: "%.4f", recurringRate),
        ]
    }

    package init(
        month: String?,
        grid: String?,
        gridName: String,
        street: String?,
        streetName: String,
        category: String,
        reports: Int,
        repeats: Int,
        reopened: Int,
        recurring: Int
    ) {
        self.month = month
        self.grid = grid
        self.gridName = gridName
        self.street = street
        self.streetName = streetName
        self.category = category
        self.reports = reports
        self.repeats = repeats
        self.reopened = reopened
        self.recurring = recurring
        self.recurringRate = reports == 0 ? 0 : Double(recurring) / Double(reports)
    }
}

/// The hotspot tables a page or the API shows: ranked by reports (hotspots) and by recurring
/// reports (recurring problems), and the shortlist for the problem of the month.
package struct Hotspots: Sendable {
    package var rows: [HotspotRow]

    /// Most reports first (then most recurring, then place and category).
    package var hottest: [HotspotRow] {
        rows.sorted { ($0.reports, $0.recurring, $1.gridName, $1.category) > ($1.reports, $1.recurring, $0.gridName, $0.category) }
    }

    /// Rows with a recurring report, most recurring first, then the higher rate.
    package var recurring: [HotspotRow] {
        rows.filter { $0.recurring > 0 }.sorted {
            ($0.recurring, $0.recurringRate, $1.gridName, $1.category) > ($1.recurring, $1.recurringRate, $0.gridName, $0.category)
        }
    }

    /// 每月一题 candidates: the three problems that weigh most — recurring reports count twice.
    package var shortlist: [HotspotRow] {
        Array(
            rows.filter { $0.reports >= 2 || $0.recurring > 0 }.sorted {
                ($0.reports + $0.recurring, $0.recurring, $1.gridName, $1.category) > (
                    $1.reports + $1.recurring, $1.recurring, $0.gridName, $0.category
                )
            }.prefix(3)
        )
    }
}

extension ReportStore {
    /// Hotspot rows of the local days `period` covers, per grid × category (and per month with
    /// `byMonth`), only `street`'s grids when given. A repeat looks back `repeatDays` days from
    /// each report, also before the period. Rejected reports do not count.
    func hotspots(_ period: Period, street: String?, byMonth: Bool, repeatDays: Int, logger: Logger) async throws -> [HotspotRow] {
        let directory = try await ReportingDirectory.load(from: postgres, logger: logger)
        let offset = directory.utcOffset
        let rows = try await postgres.query(
            """
            WITH local AS (
                SELECT r.id, r.grid, r.category, r.household, r.address, r.received_at, r.reopens,
                       to_char(r.received_at AT TIME ZONE 'UTC' + make_interval(secs => \(offset)), 'YYYY-MM') AS month
                FROM reporting.requests r
                WHERE r.received_at IS NOT NULL AND r.category IS NOT NULL AND r.state <> 'rejected'
                  AND (r.received_at AT TIME ZONE 'UTC' + make_interval(secs => \(offset)))::date BETWEEN \(period.from)::date AND \(period.to)::date
                  AND (\(street)::text IS NULL OR r.grid IN (SELECT substr(ref, 6) FROM reporting.units WHERE ref LIKE 'grid:%' AND street = \(street)))
            ), marked AS (
                SELECT l.*, EXISTS (
                    SELECT 1 FROM reporting.requests p
                    WHERE p.category = l.category AND p.id <> l.id AND p.state <> 'rejected'
                      AND p.received_at < l.received_at AND p.received_at >= l.received_at - make_interval(days => \(repeatDays)::int)
                      AND ((l.household IS NOT NULL AND p.household = l.household) OR (l.address IS NOT NULL AND p.address = l.address))
                ) AS repeat
                FROM local l
            )
            SELECT CASE WHEN \(byMonth) THEN month END, grid, category, count(*)::int, count(*) FILTER (WHERE repeat)::int,
                   count(*) FILTER (WHERE reopens > 0)::int, count(*) FILTER (WHERE repeat OR reopens > 0)::int
            FROM marked GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            """,
            logger: logger
        ).collect()
        return try rows.map { row in
            let (month, grid, category, reports, repeats, reopened, recurring) = try row.decode((String?, String?, String, Int, Int, Int, Int).self)
            let street = grid.flatMap { directory.units["grid:\($0)"]?.street }
            return HotspotRow(
                month: month,
                grid: grid,
                gridName: grid.map { directory.name("grid:\($0)") } ?? "-",
                street: street,
                streetName: street.map { directory.name("street:\($0)") } ?? "-",
                category: category,
                reports: reports,
                repeats: repeats,
                reopened: reopened,
                recurring: recurring
            )
        }
    }
}
