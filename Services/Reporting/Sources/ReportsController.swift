import Foundation
import GridLoopAuth
import GridLoopDomain
import GridLoopServiceSupport
import Hummingbird
import NIOCore

/// The JSON and CSV API (`/v1/reports/...`). A table's CSV is the same route with `.csv`
/// (UTF-8 with a byte-order mark, so spreadsheets show Chinese correctly). Every route needs a
/// token; what each role may read is ``ReportingAccess``'s.
struct ReportsController: Sendable {
    let reports: Reports
    let model: ReadModel
    let access: ReportingAccess
    let suggestions: CategorySuggestions

    func addRoutes(to router: Router<GridLoopRequestContext>) {
        router.get("v1/reports/summary") { request, context in
            try await access.district(request, what: "the summary")
            return try JSONResponse.make(try await model.summary(logger: context.logger))
        }
        for format in ["", ".csv"] {
            let csv = !format.isEmpty
            district("v1/reports/figures\(format)", "figures", router) { request, context in try await figures(request, context: context, csv: csv) }
            district("v1/reports/workers\(format)", "the grid workers' ranking", router) { request, context in
                try await workers(request, context: context, csv: csv)
            }
            district("v1/reports/subsidy\(format)", "the subsidy table", router) { request, context in
                try await subsidy(request, context: context, csv: csv)
            }
            district("v1/reports/backlog\(format)", "the backlog", router) { _, context in try await backlog(context: context, csv: csv) }
            district("v1/reports/overdue\(format)", "the overdue list", router) { request, context in
                try await overdue(request, context: context, csv: csv)
            }
            district("v1/reports/trend\(format)", "the trend", router) { request, context in try await trend(request, context: context, csv: csv) }
        }
        router.get("v1/reports/requests/:id/suggestion") { request, context in
            let id = context.parameters.get("id") ?? ""
            try await access.request(request, id: id, logger: context.logger)
            guard let suggestion = try await suggestions.suggestion(for: id, logger: context.logger) else {
                throw Problem(
                    status: .notFound,
                    code: "no_suggestion",
                    title: "No suggestion",
                    detail: "no request \(id) with a description, or no classifier trained yet (gridloop reports train)"
                )
            }
            return try JSONResponse.make(suggestion)
        }
        router.get("v1/reports/classifier") { request, context in
            try await access.district(request, what: "the classifier's figures")
            let loaded = try await suggestions.model(logger: context.logger)
            let stats = try await reports.store.postgres.query(
                "SELECT examples, held_out, accuracy FROM reporting.classifier_models WHERE id = \(loaded?.id ?? -1)",
                logger: context.logger
            ).collect().first.map { try $0.decode((Int, Int, Double).self) }
            let report = ClassifierReport(
                trainedAt: loaded?.trainedAt,
                examples: stats?.0,
                heldOut: stats?.1,
                accuracy: stats?.2,
                categories: loaded?.model.categories ?? [],
                corrections: try await CategorySuggestions.corrections(on: reports.store.postgres, logger: context.logger)
            )
            return try JSONResponse.make(report)
        }
        router.get("v1/reports/hotspots") { request, context in try await hotspots(request, context: context, csv: false) }
        router.get("v1/reports/hotspots.csv") { request, context in try await hotspots(request, context: context, csv: true) }
        router.get("v1/reports/focus") { request, context in
            _ = try await access.authenticator.principal(of: request)
            let month = request.uri.queryParameters["month"].map(String.init)
            return try JSONResponse.make(try await reports.store.focusItems(month: month, logger: context.logger))
        }
        router.post("v1/reports/focus") { request, context in
            let principal = try await access.authenticator.principal(of: request)
            guard principal.role == "supervisor" else {
                throw Problem(AuthFailure.forbidden("the district marks the problem of the month: supervisors only; not \(principal)"))
            }
            let mark = try await JSONBody.decode(FocusMark.self, from: request, upTo: 64 * 1024, title: "Malformed problem of the month")
            let item = try await reports.store.markFocus(mark, by: principal.id, logger: context.logger)
            return try JSONResponse.make(item, status: .created)
        }
        router.post("v1/reports/focus/:id/notes") { request, context in
            let principal = try await access.authenticator.principal(of: request)
            guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)),
                let item = try await reports.store.focusItems(id: id, logger: context.logger).first
            else {
                throw Problem(status: .notFound, code: "not_found", title: "No such problem of the month", detail: "no tracked item with that id")
            }
            guard principal.role == "supervisor" || principal.id == item.owner else {
                throw Problem(
                    AuthFailure.forbidden("progress on \(item.title) is recorded by its owner (\(item.owner)) or a supervisor; not \(principal)")
                )
            }
            let progress = try await JSONBody.decode(FocusProgress.self, from: request, upTo: 64 * 1024, title: "Malformed progress note")
            return try JSONResponse.make(try await reports.store.addFocusNote(progress, to: id, by: principal.id, logger: context.logger))
        }
        router.get("v1/reports/workers/:staff") { request, context in
            let staff = context.parameters.get("staff") ?? ""
            try await access.staff(request, staff: staff, logger: context.logger)
            let period = try await Self.period(request, reports: reports, context: context)
            guard let assessment = try await reports.assessments(period: period, logger: context.logger).first(where: { $0.staff == staff }) else {
                throw Problem(status: .notFound, code: "not_found", title: "No such grid worker", detail: "no grid worker '\(staff)' in the org")
            }
            return try JSONResponse.make(assessment)
        }
        router.get("v1/reports/requests/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            try await access.request(request, id: id, logger: context.logger)
            guard let page = try await reports.store.request(id, logger: context.logger) else {
                throw Problem(status: .notFound, code: "not_found", title: "No such request", detail: "reporting has no request \(id)")
            }
            return try JSONResponse.make(page)
        }
        addCommunityRoutes(to: router)
    }

    /// A district-wide route: supervisors and services only.
    private func district(
        _ path: String,
        _ what: String,
        _ router: Router<GridLoopRequestContext>,
        _ handler: @escaping @Sendable (Request, GridLoopRequestContext) async throws -> Response
    ) {
        router.get(RouterPath(path)) { request, context in
            try await access.district(request, what: what)
            return try await handler(request, context)
        }
    }

    /// `period=2026-11|2026-Q4|2026` or `from=YYYY-MM-DD&to=YYYY-MM-DD`; default: this month.
    static func period(_ request: Request, reports: Reports, context: GridLoopRequestContext) async throws -> Period {
        let query = request.uri.queryParameters
        if let from = query["from"].map(String.init), let to = query["to"].map(String.init) {
            guard let period = Period.custom(from: from, to: to) else {
                throw Problem(
                    status: .badRequest,
                    code: "invalid_period",
                    title: "Invalid period",
                    detail: "from and to must be days (YYYY-MM-DD), from ≤ to"
                )
            }
            return period
        }
        if let text = query["period"].map(String.init) {
            guard let period = Period(parsing: text) else {
                throw Problem(
                    status: .badRequest,
                    code: "invalid_period",
                    title: "Invalid period",
                    detail: "period must look like 2026-11, 2026-Q4 or 2026"
                )
            }
            return period
        }
        let directory = try await reports.directory(logger: context.logger)
        return Period.month(of: Date(), utcOffset: directory.utcOffset)
    }

    static func csv(_ text: String, name: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/csv; charset=utf-8"
        headers[.contentDisposition] = "attachment; filename=\"\(name).csv\""
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    private func figures(_ request: Request, context: GridLoopRequestContext, csv: Bool) async throws -> Response {
        let by = request.uri.queryParameters["by"].map(String.init) ?? "district"
        guard let dimension = Dimension(rawValue: by) else {
            throw Problem(
                status: .badRequest,
                code: "invalid_dimension",
                title: "Invalid dimension",
                detail: "by must be one of \(Dimension.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        let sort = request.uri.queryParameters["sort"].map(String.init) ?? "key"
        guard ["key", "composite"].contains(sort) else {
            throw Problem(
                status: .badRequest,
                code: "invalid_sort",
                title: "Invalid sort",
                detail: "sort must be key (the default) or composite (the 12345 composite, highest first)"
            )
        }
        let period = try await Self.period(request, reports: reports, context: context)
        let data = try await reports.data(period, logger: context.logger)
        let rows = sort == "composite" ? data.ranked(dimension) : data.figures(dimension)
        if csv { return Self.csv(CSV.render(header: Figures.columns, rows: rows.map(\.csvValues)), name: "figures-\(by)-\(period.label)") }
        return try JSONResponse.make(FiguresReport(period: period, by: dimension, rows: rows))
    }

    private func workers(_ request: Request, context: GridLoopRequestContext, csv: Bool) async throws -> Response {
        let period = try await Self.period(request, reports: reports, context: context)
        let rows = try await reports.assessments(period: period, logger: context.logger)
        if csv {
            let header = [
                "rank", "award", "staff", "name", "grid", "score", "volume", "quality", "timeliness", "notice", "notice_households",
                "notice_on_time", "notice_coverage", "collected", "visits", "visit_duty",
                "below_visit_duty",
                "response_rate", "resolution_rate", "satisfaction_rate", "reopen_rate", "not_eligible", "rates12345_composite",
            ]
            let values = rows.map { row -> [String] in
                func rate(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "" }
                return [
                    "\(row.rank ?? 0)", row.award ?? "", row.staff, row.name, row.gridName, "\(row.score)", "\(row.volume.score)",
                    "\(row.quality.score)",
                    "\(row.timeliness.score)", row.noticeCoverage == nil ? "" : "\(row.notice.score)",
                    row.noticeCoverage.map { "\($0.households)" } ?? "",
                    row.noticeCoverage.map { "\($0.informedOnTime)" } ?? "", rate(row.noticeCoverage?.rate), "\(row.collected)", "\(row.visits)",
                    "\(row.visitDuty)", row.belowVisitDuty ? "yes" : "no",
                    rate(row.figures.responseRate), rate(row.figures.resolutionRate), rate(row.figures.satisfactionRate),
                    rate(row.figures.reopenRate),
                    row.notEligible.map(\.rawValue).joined(separator: " "), rate(row.figures.rates12345.composite),
                ]
            }
            return Self.csv(CSV.render(header: header, rows: values), name: "workers-\(period.label)")
        }
        return try JSONResponse.make(WorkersReport(period: period, rules: reports.rules, workers: rows))
    }

    private func subsidy(_ request: Request, context: GridLoopRequestContext, csv: Bool) async throws -> Response {
        let lines = try await reports.subsidy(logger: context.logger)
        let directory = try await reports.directory(logger: context.logger)
        let byStreet = Dictionary(grouping: lines, by: \.street).map { street, lines in
            SubsidyReport.StreetTotal(
                street: street,
                name: directory.name("street:\(street)"),
                yuan: (lines.reduce(0) { $0 + $1.yuan } * 100).rounded() / 100
            )
        }.sorted { $0.street < $1.street }
        if csv {
            let rows = lines.map {
                [
                    $0.staff, $0.name, directory.name($0.grid), directory.name("street:\($0.street)"), "\($0.population)",
                    String(format: "%.2f", $0.yuan),
                ]
            }
            return Self.csv(CSV.render(header: ["staff", "name", "grid", "street", "population", "yuan_per_quarter"], rows: rows), name: "subsidy")
        }
        return try JSONResponse.make(SubsidyReport(yuanPerResidentYear: reports.rules.subsidyYuanPerResidentYear, workers: lines, streets: byStreet))
    }

    private func backlog(context: GridLoopRequestContext, csv: Bool) async throws -> Response {
        let rows = try await reports.store.backlog(logger: context.logger)
        if csv {
            return Self.csv(
                CSV.render(header: ["tier"] + BacklogRow.labels, rows: rows.map { [$0.tier] + $0.buckets.map(String.init) }),
                name: "backlog"
            )
        }
        return try JSONResponse.make(BacklogReport(ages: BacklogRow.labels, rows: rows))
    }

    private func overdue(_ request: Request, context: GridLoopRequestContext, csv: Bool) async throws -> Response {
        let limit = try Self.limit(request)
        let rows = try await reports.store.overdue(limit: limit, logger: context.logger)
        if csv {
            return Self.csv(
                CSV.render(
                    header: ["request", "unit", "category", "state", "overdue_at"],
                    rows: rows.map { [$0.requestId, $0.unit, $0.category, $0.state, Timestamp.format($0.overdueAt)] }
                ),
                name: "overdue"
            )
        }
        return try JSONResponse.make(rows)
    }

    private func trend(_ request: Request, context: GridLoopRequestContext, csv: Bool) async throws -> Response {
        let months = try Self.limit(request, name: "months", default: 12, maximum: 60)
        let directory = try await reports.directory(logger: context.logger)
        let end = String(LocalDay.string(Date(), utcOffset: directory.utcOffset).prefix(7)) + "-01"
        let rows = try await reports.store.monthlyTrend(endingAt: end, months: months, logger: context.logger).map {
            Figures(key: $0.month, name: $0.month, metrics: $0.metrics, rates: reports.rules.rates12345)
        }
        if csv { return Self.csv(CSV.render(header: Figures.columns, rows: rows.map(\.csvValues)), name: "trend") }
        return try JSONResponse.make(rows)
    }

    /// Hotspots and recurring problems (`street=`, `by=month`), JSON or CSV.
    private func hotspots(_ request: Request, context: GridLoopRequestContext, csv: Bool) async throws -> Response {
        let query = request.uri.queryParameters
        let street = try await access.hotspotStreet(request, asked: query["street"].map(String.init))
        let by = query["by"].map(String.init) ?? "period"
        guard ["period", "month"].contains(by) else {
            throw Problem(status: .badRequest, code: "invalid_by", title: "Invalid by", detail: "by must be period (the default) or month")
        }
        let period = try await Self.period(request, reports: reports, context: context)
        let rows = try await reports.store.hotspots(
            period,
            street: street,
            byMonth: by == "month",
            repeatDays: reports.rules.repeatDays,
            logger: context.logger
        )
        let hotspots = Hotspots(rows: rows)
        if csv {
            return Self.csv(CSV.render(header: HotspotRow.csvHeader, rows: hotspots.hottest.map(\.csvValues)), name: "hotspots-\(period.label)")
        }
        return try JSONResponse.make(
            HotspotsReport(
                period: period,
                street: street,
                repeatDays: reports.rules.repeatDays,
                hotspots: hotspots.hottest,
                recurring: hotspots.recurring
            )
        )
    }

    /// `limit` (or `name`): 1…`maximum`, else 400.
    static func limit(_ request: Request, name: String = "limit", default value: Int = 100, maximum: Int = 100) throws -> Int {
        guard let text = request.uri.queryParameters[Substring(name)] else { return value }
        guard let number = Int(text), (1...maximum).contains(number) else {
            throw Problem(status: .badRequest, code: "invalid_\(name)", title: "Invalid \(name)", detail: "\(name) must be 1…\(maximum)")
        }
        return number
    }
}

struct ClassifierReport: Codable, Sendable {
    var trainedAt: Date?
    var examples: Int?
    var heldOut: Int?
    var accuracy: Double?
    var categories: [String]
    var corrections: CategorySuggestions.Corrections
}

struct HotspotsReport: Codable, Sendable {
    var period: Period
    var street: String?
    var repeatDays: Int
    /// Most reports first.
    var hotspots: [HotspotRow]
    /// Rows with recurring reports, most first.
    var recurring: [HotspotRow]
}

struct FiguresReport: Codable, Sendable {
    var period: Period
    var by: Dimension
    var rows: [Figures]
}

struct WorkersReport: Codable, Sendable {
    var period: Period
    var rules: AssessmentRules
    var workers: [WorkerAssessment]
}

struct SubsidyReport: Codable, Sendable {
    struct StreetTotal: Codable, Sendable {
        var street: String
        var name: String
        var yuan: Double
    }

    var yuanPerResidentYear: Double
    var workers: [SubsidyLine]
    var streets: [StreetTotal]
}

struct BacklogReport: Codable, Sendable {
    /// The age buckets, in the order of each row's counts.
    var ages: [String]
    var rows: [BacklogRow]
}
