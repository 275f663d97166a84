import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import HTTPTypes
import Hummingbird

/// 分析研判 on the dashboard: the heat table of grids × categories, the recurring problems,
/// and the problem of the month (每月一题) — on the overview for the district, and on
/// `/dashboard/hotspots[?street=…]` for a street officer's street or a supervisor's pick.
/// Forms (mark the problem of the month, add a progress note) appear when the staff web app
/// proxies the page with its CSRF token: they post to the app, which checks the token and
/// calls `POST /v1/reports/focus…` with the signed-in person's token.
extension Dashboard {
    /// The header the staff web app sets with the visitor's CSRF token when it proxies a page.
    static let csrfHeader = HTTPField.Name("X-GridLoop-CSRF")!

    func hotspotsPage(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let text = Texts(request)
        let street = try await access.hotspotStreet(request, asked: request.uri.queryParameters["street"].map(String.init))
        let period = try await ReportsController.period(request, reports: reports, context: context)
        var model = try await analysis(request, context: context, period: period, street: street, text: text, compact: false)
        let directory = try await reports.directory(logger: context.logger)
        model["period"] = period.label
        model["otherLang"] = text.other
        model["place"] = street.map { directory.name("street:\($0)") } ?? text["district"]
        model["streetQuery"] = street.map { "&street=\($0)" } ?? ""
        return page("hotspots", model, title: text["hotspots"], text: text)
    }

    /// The analysis sections' model: `heat`, `recurring`, `focus` / `shortlist`, and the flash.
    func analysis(
        _ request: Request,
        context: GridLoopRequestContext,
        period: Period,
        street: String?,
        text: Texts,
        compact: Bool
    ) async throws -> [String: Any] {
        let rows = try await reports.store.hotspots(
            period,
            street: street,
            byMonth: false,
            repeatDays: reports.rules.repeatDays,
            logger: context.logger
        )
        let hotspots = Hotspots(rows: rows)
        let principal = try await access.authenticator.principal(of: request)
        let csrf = request.headers[Self.webProxyHeader] != nil ? request.headers[Self.csrfHeader] : nil
        var model: [String: Any] = [
            "heat": heatTable(hotspots, text: text, columns: compact ? 6 : 10, rows: compact ? 8 : 40),
            "recurring": Array(hotspots.recurring.prefix(compact ? 5 : 20)).map { row -> [String: Any] in
                [
                    "gridName": row.gridName, "streetName": row.streetName, "category": CategoryNames.label(row.category, language: text.language),
                    "reports": "\(row.reports)", "repeats": "\(row.repeats)", "reopened": "\(row.reopened)", "rate": percent(row.recurringRate),
                ]
            },
            "hasRecurring": !hotspots.recurring.isEmpty,
            "repeatDays": "\(reports.rules.repeatDays)",
            "csvHref": "/v1/reports/hotspots.csv?period=\(period.label)\(street.map { "&street=\($0)" } ?? "")",
        ]
        if period.label.count == 7 {
            let focus = try await reports.store.focusItems(month: period.label, logger: context.logger).first
            if let focus {
                var item: [String: Any] = [
                    "id": focus.id, "title": focus.title, "category": CategoryNames.label(focus.category, language: text.language),
                    "gridName": focus.gridName ?? "-", "owner": focus.ownerName, "dueOn": focus.dueOn, "progress": "\(focus.progress)",
                    "done": focus.status == "done",
                    "notes": focus.notes.reversed().map { note -> [String: Any] in
                        ["at": Timestamp.format(note.at), "staff": note.staffName, "note": note.note, "progress": "\(note.progress)"]
                    },
                ]
                if let csrf, principal.role == "supervisor" || principal.id == focus.owner, focus.status != "done" {
                    item["noteForm"] = ["csrf": csrf, "id": focus.id, "progress": "\(focus.progress)"]
                }
                model["focus"] = item
            } else {
                let directory = try await reports.directory(logger: context.logger)
                let owners = directory.staff.filter { $0.role != "grid-worker" }.map {
                    ["id": $0.id, "name": "\($0.name) · \(directory.name($0.unit))"]
                }
                model["shortlist"] = hotspots.shortlist.map { row -> [String: Any] in
                    let category = CategoryNames.label(row.category, language: text.language)
                    var entry: [String: Any] = [
                        "gridName": row.gridName, "category": category, "reports": "\(row.reports)", "recurring": "\(row.recurring)",
                    ]
                    if let csrf, principal.role == "supervisor" {
                        entry["markForm"] = [
                            "csrf": csrf, "month": period.label, "grid": row.grid ?? "", "category": row.category, "owners": owners,
                            "title": "\(row.gridName) · \(category)", "dueOn": period.to,
                        ]
                    }
                    return entry
                }
                model["hasShortlist"] = !hotspots.shortlist.isEmpty
            }
        }
        let query = request.uri.queryParameters
        if let done = query["done"].map(String.init), ["marked", "noted"].contains(done) { model["flash"] = text[done] }
        if let error = query["error"].map(String.init), !error.isEmpty { model["flashError"] = String(error.prefix(300)) }
        return model
    }

    /// Grids × categories, the busiest first, each cell shaded by its count (classes h0…h4:
    /// no inline style), ↻ marking recurring reports.
    private func heatTable(_ hotspots: Hotspots, text: Texts, columns: Int, rows: Int) -> [String: Any] {
        var byCategory: [String: Int] = [:]
        var byGrid: [String: (name: String, total: Int)] = [:]
        var cells: [String: HotspotRow] = [:]
        for row in hotspots.rows {
            let grid = row.grid ?? "-"
            byCategory[row.category, default: 0] += row.reports
            byGrid[grid, default: (row.gridName, 0)].total += row.reports
            cells["\(grid)|\(row.category)"] = row
        }
        let categories = byCategory.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(columns).map(\.key)
        let grids = byGrid.sorted { ($0.value.total, $1.key) > ($1.value.total, $0.key) }.prefix(rows)
        let most = max(1, cells.values.map(\.reports).max() ?? 1)
        let body = grids.map { grid, facts -> [String: Any] in
            [
                "name": facts.name, "total": "\(facts.total)",
                "cells": categories.map { category -> [String: Any] in
                    guard let row = cells["\(grid)|\(category)"] else { return ["count": "·", "level": "0"] }
                    var cell: [String: Any] = ["count": "\(row.reports)", "level": "\(min(4, 1 + row.reports * 3 / most))"]
                    if row.recurring > 0 { cell["repeatMark"] = "↻\(row.recurring)" }
                    return cell
                },
            ]
        }
        return [
            "columns": categories.map { CategoryNames.label($0, language: text.language) }, "rows": body, "hasRows": !body.isEmpty,
        ]
    }
}
