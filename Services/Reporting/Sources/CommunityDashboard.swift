import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import Hummingbird

/// `/dashboard/community[?period=&month=&street=&lang=en]`: the community half of the job (#20)
/// on one page — notices' coverage (a table per notice, and every grid's on-time coverage as a
/// bar chart), consultations' tallies (a bar per option, the rule's line), micro-wishes per street
/// and grid with the clusters, green points per street for the month — each with its CSV.
/// Supervisors see the district (or `street=`), a street officer her street
/// (``ReportingAccess/communityStreet(_:asked:)``). Text escaped by the template, charts drawn as ``HTML``.
extension Dashboard {
    func communityPage(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let text = Texts(request)
        let query = request.uri.queryParameters
        let street = try await access.communityStreet(request, asked: query["street"].map(String.init))
        let period = try await ReportsController.period(request, reports: reports, context: context)
        let directory = try await reports.directory(logger: context.logger)
        // The points' month: asked for, else the period's (its last month when it spans more).
        let month =
            query["month"] != nil
            ? try ReportsController.month(request, directory: directory) : PointsReport.month(period.label) ?? String(period.to.prefix(7))
        let store = CommunityStore(postgres: reports.store.postgres)
        let notices = try await store.notices(period, street: street, directory: directory, logger: context.logger)
        let consultations = try await store.consultations(period, street: street, directory: directory, logger: context.logger)
        let wishes = try await store.wishes(
            period,
            street: street,
            clusterMinimum: reports.rules.wishClusterMin,
            directory: directory,
            logger: context.logger
        )
        let points = try await store.points(month: month, street: street, directory: directory, logger: context.logger)
        let streetQuery = street.map { "&street=\($0)" } ?? ""
        let model: [String: Any] = [
            "period": period.label, "month": month, "otherLang": text.other, "streetQuery": streetQuery,
            "place": street.map { directory.name("street:\($0)") } ?? text["district"],
            "notices": noticesModel(notices, text: text),
            "consultations": consultations.consultations.map { consultationModel($0, text: text) },
            "hasConsultations": !consultations.consultations.isEmpty,
            "wishes": wishesModel(wishes, text: text),
            "points": pointsModel(points),
            "noticesCSV": "/v1/reports/community/notices.csv?period=\(period.label)\(streetQuery)",
            "consultationsCSV": "/v1/reports/community/consultations.csv?period=\(period.label)\(streetQuery)",
            "wishesCSV": "/v1/reports/community/wishes.csv?period=\(period.label)\(streetQuery)",
            "clustersCSV": "/v1/reports/community/wishes/clusters.csv?period=\(period.label)\(streetQuery)",
            "pointsCSV": "/v1/reports/community/points.csv?month=\(month)\(streetQuery)",
        ]
        return page("community", model, title: text["community"], text: text)
    }

    private func coverageCells(_ row: CoverageRow) -> [String: Any] {
        [
            "name": row.name, "streetName": row.streetName ?? "", "households": "\(row.households)", "informed": "\(row.informed)",
            "onTime": "\(row.onTime)", "coverage": percent(row.coverage), "onTimeCoverage": percent(row.onTimeCoverage),
            "via": "\(row.visit)/\(row.phone)/\(row.sms)", "lagging": row.overdue > 0 ? "\(row.overdue)" : "",
        ]
    }

    private func noticesModel(_ report: NoticesReport, text: Texts) -> [String: Any] {
        let rows = report.notices.map { notice -> [String: Any] in
            var cells = coverageCells(notice.totals)
            cells["title"] = text.language == "en" ? notice.titleEn ?? notice.title : notice.title
            cells["dueOn"] = notice.dueOn
            cells["grids"] = "\(notice.grids.count)"
            return cells
        }
        let chart = Charts.shareBars(
            report.grids.map { (label: $0.name, share: $0.onTimeCoverage, detail: "\($0.onTime)/\($0.households)") },
            threshold: nil
        )
        return [
            "rows": rows, "hasRows": !rows.isEmpty, "total": coverageCells(report.totals), "streets": report.streets.map(coverageCells),
            "grids": report.grids.map(coverageCells), "chart": chart.text,
        ]
    }

    private func consultationModel(_ item: ConsultationFigures, text: Texts) -> [String: Any] {
        let households = max(1, item.households)
        let threshold = item.households > 0 ? Double(item.needed) / Double(households) : nil
        let chart = Charts.shareBars(
            item.options.map { option in
                let count = item.byOption[option] ?? 0
                return (label: option, share: item.households > 0 ? Double(count) / Double(households) : nil, detail: "\(count)")
            },
            threshold: threshold
        )
        let state: String = text[item.state == "open" ? "consultationOpen" : "consultationClosed"]
        var model: [String: Any] = [
            "question": item.question, "rule": item.rule, "endsOn": item.endsOn, "state": state, "households": "\(item.households)",
            "positions": "\(item.positions)", "participation": percent(item.participation), "needed": "\(item.needed)",
            "reached": item.reached ?? "-", "concerns": "\(item.concerns)", "changed": "\(item.changed)", "chart": chart.text,
            "grids": item.grids.map { grid -> [String: Any] in
                [
                    "name": grid.name, "households": "\(grid.households)", "positions": "\(grid.positions)",
                    "byOption": item.options.map { "\($0) \(grid.byOption[$0] ?? 0)" }.joined(separator: " · "),
                ]
            },
        ]
        if let result = item.result { model["result"] = result }
        if let outcome = item.meetingOutcome { model["meetingOutcome"] = outcome }
        return model
    }

    private func wishesModel(_ report: WishesReport, text: Texts) -> [String: Any] {
        func cells(_ row: WishRow) -> [String: Any] {
            [
                "name": row.name, "streetName": row.streetName ?? "", "collected": "\(row.collected)", "adopted": "\(row.adopted)",
                "fulfilled": "\(row.fulfilled)", "confirmed": "\(row.confirmed)", "open": "\(row.open)",
            ]
        }
        let clusters = report.clusters.map { cluster -> [String: Any] in
            [
                "streetName": cluster.streetName ?? cluster.street, "kind": text.language == "en" ? cluster.labelEn : cluster.label,
                "total": "\(cluster.total)", "open": "\(cluster.open)",
            ]
        }
        return [
            "total": cells(report.totals), "streets": report.streets.map(cells), "grids": report.grids.map(cells), "hasRows": !report.grids.isEmpty,
            "clusters": clusters, "hasClusters": !clusters.isEmpty, "minimum": "\(report.clusterMinimum)",
        ]
    }

    private func pointsModel(_ report: PointsReport) -> [String: Any] {
        func cells(_ row: PointsRow) -> [String: Any] {
            [
                "name": row.name, "householdsScored": "\(row.householdsScored)", "pointsEarned": "\(row.pointsEarned)",
                "workerPoints": "\(row.workerPoints)", "redemptions": "\(row.redemptions)", "pointsRedeemed": "\(row.pointsRedeemed)",
                "goodsRedeemed": "\(row.goodsRedeemed)", "donations": "\(row.donations)", "goodsDonated": "\(row.goodsDonated)",
            ]
        }
        return ["total": cells(report.totals), "streets": report.streets.map(cells), "hasRows": !report.streets.isEmpty]
    }
}

extension Charts {
    /// Horizontal bars of shares (0–1), one per row, drawn to fit a phone (360 wide): the label,
    /// the bar, the share in % and `detail`; a row without data (nil) has no bar and `-`.
    /// `threshold` draws a dashed line at that share (a consultation's rule).
    static func shareBars(_ rows: [(label: String, share: Double?, detail: String)], threshold: Double?) -> HTML {
        let height = 8 + max(1, rows.count) * 24
        let left = 110.0
        let span = 150.0
        var svg: HTML = "<svg class=\"chart shares\" viewBox=\"0 0 360 \(height)\" width=\"360\" height=\"\(height)\" role=\"img\">"
        for (index, row) in rows.enumerated() {
            let y = 4 + index * 24
            let label = row.label.count > 9 ? String(row.label.prefix(8)) + "…" : row.label
            svg += "<text x=\"0\" y=\"\(y + 14)\" font-size=\"12\">\(label)<title>\(row.label)</title></text>"
            svg += "<rect x=\"\(left, decimals: 0)\" y=\"\(y + 2)\" width=\"\(span, decimals: 0)\" height=\"16\" rx=\"3\" fill=\"#e3e6ea\"/>"
            if let share = row.share {
                let clamped = min(1, max(0, share))
                svg +=
                    "<rect x=\"\(left, decimals: 0)\" y=\"\(y + 2)\" width=\"\(span * clamped, decimals: 1)\" height=\"16\" rx=\"3\" fill=\"\(colors[1])\"/>"
            }
            let value = row.share.map { String(format: "%.0f%%", min(1, max(0, $0)) * 100) } ?? "-"
            svg += "<text x=\"\(left + span + 6, decimals: 0)\" y=\"\(y + 14)\" font-size=\"12\">\(value) \(row.detail)</text>"
        }
        if let threshold, !rows.isEmpty {
            let x = left + span * min(1, max(0, threshold))
            svg +=
                "<line x1=\"\(x, decimals: 1)\" x2=\"\(x, decimals: 1)\" y1=\"2\" y2=\"\(height - 2)\" stroke=\"\(colors[3])\" stroke-width=\"2\" stroke-dasharray=\"4 3\"/>"
        }
        if rows.isEmpty { svg += "<text x=\"0\" y=\"20\" font-size=\"12\">-</text>" }
        return svg + "</svg>"
    }
}

extension DashboardPages {
    /// `/dashboard/community`: the model of ``Dashboard/communityPage(_:context:)`` in scope.
    static let communityTemplate = """
        <h1>{{t.community}} <small>{{place}} · {{period}}</small></h1>
        <nav><a href="/dashboard?lang={{lang}}&period={{period}}">{{t.overview}}</a> · <a href="?lang={{otherLang}}&period={{period}}{{streetQuery}}">{{t.switch}}</a></nav>
        {{#notices}}<section id="notices"><h2>{{t.noticesTitle}}</h2><p class="hint">{{t.noticesHint}}</p>
        {{#total}}<section class="rates"><div class="rate"><div class="label">{{t.onTimeCoverage}}</div><div class="value">{{onTimeCoverage}}</div><div class="detail">{{onTime}}/{{households}} · {{t.coverage}} {{coverage}}</div></div></section>{{/total}}
        {{#hasRows}}<div class="scroll"><table><thead><tr><th>{{t.noticeTitle}}</th><th>{{t.noticeDue}}</th><th>{{t.grid}}</th><th>{{t.households}}</th><th>{{t.informed}}</th><th>{{t.informedOnTime}}</th><th>{{t.onTimeCoverage}}</th><th>{{t.via}}</th><th>{{t.laggingGrids}}</th></tr></thead><tbody>
        {{#rows}}<tr><td>{{title}}</td><td>{{dueOn}}</td><td>{{grids}}</td><td>{{households}}</td><td>{{informed}}</td><td>{{onTime}}</td><td>{{onTimeCoverage}}</td><td>{{via}}</td><td>{{lagging}}</td></tr>{{/rows}}
        </tbody></table></div>
        <h2>{{t.noticeChart}}</h2>{{{chart}}}
        <div class="scroll"><table><thead><tr><th>{{t.grid}}</th><th>{{t.street}}</th><th>{{t.households}}</th><th>{{t.informedOnTime}}</th><th>{{t.onTimeCoverage}}</th><th>{{t.coverage}}</th></tr></thead><tbody>
        {{#streets}}<tr><td><strong>{{name}}</strong></td><td></td><td>{{households}}</td><td>{{onTime}}</td><td>{{onTimeCoverage}}</td><td>{{coverage}}</td></tr>{{/streets}}
        {{#grids}}<tr><td>{{name}}</td><td>{{streetName}}</td><td>{{households}}</td><td>{{onTime}}</td><td>{{onTimeCoverage}}</td><td>{{coverage}}</td></tr>{{/grids}}
        </tbody></table></div>{{/hasRows}}{{^hasRows}}<p class="empty">{{t.none}}</p>{{/hasRows}}
        <p><a href="{{noticesCSV}}">CSV</a></p></section>{{/notices}}
        <section id="consultations"><h2>{{t.consultationsTitle}}</h2>
        {{#consultations}}<div class="consultation"><p><strong>{{question}}</strong> <small>{{state}} · {{t.rule}} {{rule}} · {{t.noticeDue}} {{endsOn}}</small></p>
        <p>{{t.positions}} {{positions}}/{{households}} ({{participation}}) · {{t.needed}} {{needed}} · {{t.reached}} {{reached}}{{#result}} · {{t.result}} {{result}}{{/result}} · {{t.concerns}} {{concerns}} · {{t.changed}} {{changed}}</p>
        {{#meetingOutcome}}<p class="note">{{meetingOutcome}}</p>{{/meetingOutcome}}
        {{{chart}}}
        <div class="scroll"><table><thead><tr><th>{{t.grid}}</th><th>{{t.households}}</th><th>{{t.positions}}</th><th>{{t.option}}</th></tr></thead><tbody>
        {{#grids}}<tr><td>{{name}}</td><td>{{households}}</td><td>{{positions}}</td><td>{{byOption}}</td></tr>{{/grids}}
        </tbody></table></div></div>{{/consultations}}{{^hasConsultations}}<p class="empty">{{t.none}}</p>{{/hasConsultations}}
        <p><a href="{{consultationsCSV}}">CSV</a></p></section>
        {{#wishes}}<section id="wishes"><h2>{{t.wishesTitle}}</h2><p class="hint">{{t.wishesHint}}</p>
        {{#hasRows}}<div class="scroll"><table><thead><tr><th>{{t.name}}</th><th>{{t.collected}}</th><th>{{t.adopted}}</th><th>{{t.fulfilled}}</th><th>{{t.confirmed}}</th><th>{{t.wishOpen}}</th></tr></thead><tbody>
        {{#streets}}<tr><td><strong>{{name}}</strong></td><td>{{collected}}</td><td>{{adopted}}</td><td>{{fulfilled}}</td><td>{{confirmed}}</td><td>{{open}}</td></tr>{{/streets}}
        {{#grids}}<tr><td>{{name}} <small>{{streetName}}</small></td><td>{{collected}}</td><td>{{adopted}}</td><td>{{fulfilled}}</td><td>{{confirmed}}</td><td>{{open}}</td></tr>{{/grids}}
        </tbody></table></div>{{/hasRows}}{{^hasRows}}<p class="empty">{{t.none}}</p>{{/hasRows}}
        <h2>{{t.clusters}} <small>≥ {{minimum}}</small></h2>
        {{#hasClusters}}<div class="scroll"><table><thead><tr><th>{{t.street}}</th><th>{{t.wishKind}}</th><th>{{t.total}}</th><th>{{t.wishOpen}}</th></tr></thead><tbody>
        {{#clusters}}<tr><td>{{streetName}}</td><td>{{kind}}</td><td>{{total}}</td><td>{{open}}</td></tr>{{/clusters}}
        </tbody></table></div>{{/hasClusters}}{{^hasClusters}}<p class="empty">{{t.none}}</p>{{/hasClusters}}
        <p><a href="{{wishesCSV}}">CSV</a> · <a href="{{clustersCSV}}">CSV ({{t.clusters}})</a></p></section>{{/wishes}}
        {{#points}}<section id="points"><h2>{{t.pointsTitle}} <small>{{month}}</small></h2>
        {{#hasRows}}<div class="scroll"><table><thead><tr><th>{{t.street}}</th><th>{{t.householdsScored}}</th><th>{{t.pointsEarned}}</th><th>{{t.workerPoints}}</th><th>{{t.redemptions}}</th><th>{{t.pointsRedeemed}}</th><th>{{t.goodsRedeemed}}</th><th>{{t.donations}}</th><th>{{t.goodsDonated}}</th></tr></thead><tbody>
        {{#streets}}<tr><td>{{name}}</td><td>{{householdsScored}}</td><td>{{pointsEarned}}</td><td>{{workerPoints}}</td><td>{{redemptions}}</td><td>{{pointsRedeemed}}</td><td>{{goodsRedeemed}}</td><td>{{donations}}</td><td>{{goodsDonated}}</td></tr>{{/streets}}
        {{#total}}<tr><td><strong>{{t.total}}</strong></td><td>{{householdsScored}}</td><td>{{pointsEarned}}</td><td>{{workerPoints}}</td><td>{{redemptions}}</td><td>{{pointsRedeemed}}</td><td>{{goodsRedeemed}}</td><td>{{donations}}</td><td>{{goodsDonated}}</td></tr>{{/total}}
        </tbody></table></div>{{/hasRows}}{{^hasRows}}<p class="empty">{{t.none}}</p>{{/hasRows}}
        <p><a href="{{pointsCSV}}">CSV</a></p></section>{{/points}}
        """
}
