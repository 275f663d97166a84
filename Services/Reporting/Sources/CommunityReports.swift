import Foundation
import GridLoopAuth
import GridLoopDomain
import GridLoopServiceSupport
import Hummingbird

/// The community figures over HTTP (#20), JSON and the same path with `.csv`:
///
/// - `GET /v1/reports/community/notices[.csv]?period=&street=`: each notice's coverage per grid and street;
/// - `GET /v1/reports/community/consultations[.csv]?period=&street=`: each consultation's tally and result;
/// - `GET /v1/reports/community/wishes[.csv]?period=&street=` and `…/wishes/clusters[.csv]`: wishes per
///   street and grid, and the clusters;
/// - `GET /v1/reports/community/points[.csv]?month=&street=`: green points per street for a month.
///
/// Supervisors and services read the district or any street (`street=`); a street officer her
/// own street (asked or not); others are refused (``ReportingAccess/communityStreet(_:asked:)``).
extension ReportsController {
    func addCommunityRoutes(to router: Router<GridLoopRequestContext>) {
        for format in ["", ".csv"] {
            let csv = !format.isEmpty
            router.get(RouterPath("v1/reports/community/notices\(format)")) { request, context in
                let (period, street, directory) = try await communityScope(request, context: context)
                let report = try await CommunityStore(postgres: reports.store.postgres).notices(
                    period,
                    street: street,
                    directory: directory,
                    logger: context.logger
                )
                if csv { return Self.csv(CSV.render(header: NoticesReport.csvHeader, rows: report.csvRows), name: "notices-\(period.label)") }
                return try JSONResponse.make(report)
            }
            router.get(RouterPath("v1/reports/community/consultations\(format)")) { request, context in
                let (period, street, directory) = try await communityScope(request, context: context)
                let report = try await CommunityStore(postgres: reports.store.postgres).consultations(
                    period,
                    street: street,
                    directory: directory,
                    logger: context.logger
                )
                if csv {
                    return Self.csv(CSV.render(header: ConsultationsReport.csvHeader, rows: report.csvRows), name: "consultations-\(period.label)")
                }
                return try JSONResponse.make(report)
            }
            router.get(RouterPath("v1/reports/community/wishes\(format)")) { request, context in
                let report = try await wishes(request, context: context)
                if csv { return Self.csv(CSV.render(header: WishesReport.csvHeader, rows: report.csvRows), name: "wishes-\(report.period.label)") }
                return try JSONResponse.make(report)
            }
            router.get(RouterPath("v1/reports/community/wishes/clusters\(format)")) { request, context in
                let report = try await wishes(request, context: context)
                if csv {
                    return Self.csv(
                        CSV.render(header: WishesReport.clustersCSVHeader, rows: report.clustersCSVRows),
                        name: "wish-clusters-\(report.period.label)"
                    )
                }
                return try JSONResponse.make(
                    WishClustersReport(period: report.period, street: report.street, minimum: report.clusterMinimum, clusters: report.clusters)
                )
            }
            router.get(RouterPath("v1/reports/community/points\(format)")) { request, context in
                let street = try await access.communityStreet(request, asked: request.uri.queryParameters["street"].map(String.init))
                let directory = try await reports.directory(logger: context.logger)
                let month = try Self.month(request, directory: directory)
                let report = try await CommunityStore(postgres: reports.store.postgres).points(
                    month: month,
                    street: street,
                    directory: directory,
                    logger: context.logger
                )
                if csv { return Self.csv(CSV.render(header: PointsReport.csvHeader, rows: report.csvRows), name: "points-\(month)") }
                return try JSONResponse.make(report)
            }
        }
    }

    /// Who may read which street (checked first), the period and the org.
    private func communityScope(_ request: Request, context: GridLoopRequestContext) async throws -> (Period, String?, ReportingDirectory) {
        let street = try await access.communityStreet(request, asked: request.uri.queryParameters["street"].map(String.init))
        let period = try await Self.period(request, reports: reports, context: context)
        return (period, street, try await reports.directory(logger: context.logger))
    }

    private func wishes(_ request: Request, context: GridLoopRequestContext) async throws -> WishesReport {
        let (period, street, directory) = try await communityScope(request, context: context)
        return try await CommunityStore(postgres: reports.store.postgres).wishes(
            period,
            street: street,
            clusterMinimum: reports.rules.wishClusterMin,
            directory: directory,
            logger: context.logger
        )
    }

    /// `month=yyyy-MM` (400 otherwise); default: this month in the org's time.
    static func month(_ request: Request, directory: ReportingDirectory) throws -> String {
        guard let text = request.uri.queryParameters["month"].map(String.init) else {
            return String(LocalDay.string(Date(), utcOffset: directory.utcOffset).prefix(7))
        }
        guard let month = PointsReport.month(text) else {
            throw Problem.validationFailed(
                [FieldError(field: "month", code: "invalid", message: "a month, yyyy-MM (e.g. 2026-11)")],
                title: "Invalid month"
            )
        }
        return month
    }
}

/// `GET /v1/reports/community/wishes/clusters`.
struct WishClustersReport: Codable, Sendable {
    var period: Period
    var street: String?
    /// `REPORTING_WISH_CLUSTER_MIN`.
    var minimum: Int
    var clusters: [WishCluster]
}

extension ReportingAccess {
    /// The street whose community figures (notices, consultations, wishes, points) the principal
    /// may read, from the `street` asked for: any (or the whole district, `nil`) for supervisors
    /// and services; her own for a street officer (asked or not); refused for others (403).
    func communityStreet(_ request: Request, asked: String?) async throws -> String? {
        let principal = try await authenticator.principal(of: request)
        if principal.readsDistrict { return asked }
        guard principal.role == "street-officer", let unit = principal.unit, unit.tier == .street else {
            throw Problem(
                AuthFailure.forbidden("the community figures are for street officers (their street) and supervisors; not \(principal)")
            )
        }
        guard asked == nil || asked == unit.id else {
            throw Problem(AuthFailure.forbidden("\(principal.id) reads the community figures of street \(unit.id), not \(asked ?? "")"))
        }
        return unit.id
    }
}
