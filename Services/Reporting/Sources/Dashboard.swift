import Foundation
import GridLoopAuth
import GridLoopDomain
import GridLoopServiceSupport
import Hummingbird
import NIOCore

/// The HTML dashboard: overview (three rates, backlog by tier, overdue list), trends, streets
/// and departments, grid-worker ranking, a worker's own page with the score breakdown, and a
/// request page. Server-rendered HTML with inline SVG charts (nothing loaded from elsewhere),
/// readable on a phone; `?lang=en` for English (Chinese by default). Signed-in browsers carry
/// the web login's cookie; scopes as in ``ReportingAccess``.
struct Dashboard: Sendable {
    let reports: Reports
    let trail: IntakeTrail
    let access: ReportingAccess

    func addRoutes(to router: Router<GridLoopRequestContext>) {
        router.get("dashboard") { request, context in try await overview(request, context: context) }
        router.get("dashboard/workers/:staff") { request, context in try await worker(request, context: context) }
        router.get("dashboard/requests/:id") { request, context in try await requestPage(request, context: context) }
        router.get("dashboard/signin") { request, _ in try await signIn(request) }
    }

    /// `GET /dashboard/signin?token=…&next=/dashboard…`: a sign-in link (`gridloop auth token
    /// --link`) for a browser: sets the token as the HttpOnly cookie and goes on to `next`
    /// (a dashboard path only). The token is in the link once; it lives 15 minutes at most.
    private func signIn(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let token = query["token"].map(String.init) ?? ""
        let principal: Principal
        do { principal = try await access.authenticator.authority.verify(token) } catch { throw Problem(error) }
        var next = query["next"].map(String.init) ?? "/dashboard"
        if !next.hasPrefix("/dashboard") || next.contains("//") || next.contains("\\") { next = "/dashboard" }
        if principal.role != "supervisor", principal.role != Principal.serviceRole, next == "/dashboard" { next = "/dashboard/workers/\(principal.id)" }
        let cookie = "\(Authenticator.cookieName)=\(token); Path=/; Max-Age=900; HttpOnly; SameSite=Lax"
        return Response(status: .seeOther, headers: [.location: next, .setCookie: cookie, .cacheControl: "no-store"])
    }

    private func overview(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        try await access.district(request, what: "the dashboard's overview")
        let text = Texts(request)
        let period = try await ReportsController.period(request, reports: reports, context: context)
        let data = try await reports.data(period, logger: context.logger)
        let directory = data.directory
        let district = data.figures(.district).first ?? Figures(key: "district", name: "", metrics: [:])
        let streets = data.figures(.street)
        let departments = data.figures(.department)
        let backlog = try await reports.store.backlog(logger: context.logger)
        let overdue = try await reports.store.overdue(limit: 20, logger: context.logger)
        let end = String(LocalDay.string(Date(), utcOffset: directory.utcOffset).prefix(7)) + "-01"
        let trend = try await reports.store.monthlyTrend(endingAt: end, months: 12, logger: context.logger).map { Figures(key: $0.month, name: $0.month, metrics: $0.metrics) }
        let workers = data.assessments(rules: reports.rules)

        var body = "<h1>\(text["title"]) <small>\(html(period.label))</small></h1>"
        body += "<nav><a href=\"?lang=\(text.language)&period=\(html(period.label))\">\(text["overview"])</a> · <a href=\"/v1/reports/figures.csv?by=street&period=\(html(period.label))\">CSV</a> · <a href=\"?lang=\(text.other)&period=\(html(period.label))\">\(text["switch"])</a></nav>"
        body += "<section class=\"rates\">"
        for (label, value, detail) in [
            (text["response"], district.responseRate, "\(district.claimedOnTime)/\(district.assigned)"),
            (text["resolution"], district.resolutionRate, "\(district.solved)/\(district.feedback)"),
            (text["satisfaction"], district.satisfactionRate, "\(district.satisfied)/\(district.feedback)"),
        ] {
            body += "<div class=\"rate\"><div class=\"label\">\(label)</div><div class=\"value\">\(percent(value))</div><div class=\"detail\">\(detail)</div>\(Charts.gauge(value))</div>"
        }
        body += "</section>"
        body += "<section><h2>\(text["backlog"])</h2>\(Charts.stackedBars(backlog, labels: BacklogRow.labels, tierNames: text.tierNames))</section>"
        body += "<section><h2>\(text["trend"])</h2>\(Charts.lines(trend, names: [text["response"], text["resolution"], text["satisfaction"]]))</section>"
        body += "<section><h2>\(text["overdue"]) (\(overdue.count))</h2>"
        body += table([text["request"], text["unit"], text["category"], text["since"]], overdue.map { row in
            ["<a href=\"/dashboard/requests/\(html(row.requestId))?lang=\(text.language)\">\(html(String(row.requestId.prefix(8))))</a>", html(directory.name(row.unit)), html(row.category), html(Timestamp.format(row.overdueAt))]
        }, empty: text["none"])
        body += "</section>"
        for (title, rows) in [(text["streets"], streets), (text["departments"], departments)] {
            body += "<section><h2>\(title)</h2>" + figuresTable(rows, text: text) + "</section>"
        }
        body += "<section><h2>\(text["ranking"])</h2>"
        body += table(["#", text["worker"], text["grid"], text["score"], text["visits"], ""], workers.map { worker in
            ["\(worker.rank ?? 0)", "<a href=\"/dashboard/workers/\(html(worker.staff))?lang=\(text.language)&period=\(html(period.label))\">\(html(worker.name))</a>",
             html(worker.gridName), String(format: "%.1f", worker.score), "\(worker.visits)/\(worker.visitDuty)",
             (worker.award.map { text[$0] } ?? "") + (worker.belowVisitDuty ? " <span class=\"flag\">\(text["belowDuty"])</span>" : "")]
        }, empty: text["none"])
        body += "</section>"
        return page(title: text["title"], language: text.language, body: body)
    }

    private func worker(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let text = Texts(request)
        let period = try await ReportsController.period(request, reports: reports, context: context)
        let staff = context.parameters.get("staff") ?? ""
        try await access.staff(request, staff: staff, logger: context.logger)
        guard let worker = try await reports.assessments(period: period, logger: context.logger).first(where: { $0.staff == staff }) else {
            throw Problem(status: .notFound, code: "not_found", title: "No such grid worker", detail: "no grid worker '\(staff)' in the org")
        }
        var body = "<h1>\(html(worker.name)) <small>\(html(worker.gridName)) · \(html(period.label))</small></h1>"
        body += "<nav><a href=\"/dashboard?lang=\(text.language)&period=\(html(period.label))\">\(text["overview"])</a></nav>"
        body += "<section class=\"rates\"><div class=\"rate\"><div class=\"label\">\(text["score"])</div><div class=\"value\">\(String(format: "%.1f", worker.score))</div><div class=\"detail\">#\(worker.rank ?? 0) \(worker.award.map { text[$0] } ?? "")</div></div></section>"
        body += "<section><h2>\(text["breakdown"])</h2>"
        body += table([text["part"], text["score"], text["weight"], text["why"]], [
            (text["volume"], worker.volume), (text["quality"], worker.quality), (text["timeliness"], worker.timeliness),
        ].map { name, part in [name, String(format: "%.1f", part.score), String(format: "%.0f%%", part.weight * 100), html(part.explanation)] }, empty: "")
        body += Charts.bars([(text["volume"], worker.volume.score), (text["quality"], worker.quality.score), (text["timeliness"], worker.timeliness.score)])
        body += "</section>"
        if worker.belowVisitDuty { body += "<p class=\"flag\">\(text["belowDuty"]): \(worker.visits)/\(worker.visitDuty)</p>" }
        body += "<section><h2>\(text["figures"])</h2>" + figuresTable([worker.figures], text: text) + "</section>"
        return page(title: worker.name, language: text.language, body: body)
    }

    private func requestPage(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let text = Texts(request)
        let id = context.parameters.get("id") ?? ""
        try await access.request(request, id: id, logger: context.logger)
        guard let item = try await reports.store.request(id, logger: context.logger) else {
            throw Problem(status: .notFound, code: "not_found", title: "No such request", detail: "reporting has no request \(id)")
        }
        let directory = try await reports.directory(logger: context.logger)
        var body = "<h1>\(text["request"]) \(html(String(item.id.prefix(8)))) <small>\(html(item.state))</small></h1>"
        body += "<nav><a href=\"/dashboard?lang=\(text.language)\">\(text["overview"])</a></nav>"
        body += table([text["field"], ""], [
            [text["category"], html(item.category)], [text["unit"], html(directory.name(item.unit))], [text["description"], html(item.description)],
            [text["reporter"], "\(html(item.reporterName)) \(html(item.reporterPhone))"],
            [text["claimDue"], item.claimDueAt.map { html(Timestamp.format($0)) } ?? "-"], [text["resolveDue"], item.resolveDueAt.map { html(Timestamp.format($0)) } ?? "-"],
            [text["overdue"], item.overdueAt.map { html(Timestamp.format($0)) } ?? "-"],
        ], empty: "")
        if let verified = await trail.fetch(item.id, logger: context.logger) {
            let status = verified.trailVerified
                ? "<p class=\"ok\">✓ \(text["verified"]) (\(verified.trail.count), \(html(String(verified.trail.last?.hash.prefix(12) ?? "")))…)</p>"
                : "<p class=\"flag\">✗ \(text["broken"])</p>"
            body += "<section><h2>\(text["trail"])</h2>\(status)" + table([text["since"], text["event"], text["unit"], text["actor"], ""], verified.trail.map {
                [html(Timestamp.format($0.occurredAt)), html($0.type), html(directory.name($0.unit ?? "")), html($0.actor ?? ""), html($0.detail ?? "")]
            }, empty: text["none"]) + "</section>"
        } else {
            body += "<section><h2>\(text["trail"])</h2><p class=\"flag\">\(text["unverified"])</p>"
                + table([text["since"], text["event"], ""], item.events.map { [html(Timestamp.format($0.at)), html($0.type), html($0.summary)] }, empty: text["none"]) + "</section>"
        }
        return page(title: text["request"], language: text.language, body: body)
    }

    private func figuresTable(_ rows: [Figures], text: Texts) -> String {
        table([text["name"], text["assigned"], text["response"], text["resolution"], text["satisfaction"], text["onTime"], text["reopen"], text["escalation"], text["medianClaim"]], rows.map { row in
            [html(row.name), "\(row.assigned)", percent(row.responseRate), percent(row.resolutionRate), percent(row.satisfactionRate), percent(row.onTimeResolutionRate),
             percent(row.reopenRate), percent(row.escalationRate), row.medianClaimSeconds.map(Self.duration) ?? "-"]
        }, empty: text["none"])
    }

    private func table(_ header: [String], _ rows: [[String]], empty: String) -> String {
        if rows.isEmpty { return "<p class=\"empty\">\(empty)</p>" }
        return "<div class=\"scroll\"><table><thead><tr>" + header.map { "<th>\($0)</th>" }.joined() + "</tr></thead><tbody>"
            + rows.map { "<tr>" + $0.map { "<td>\($0)</td>" }.joined() + "</tr>" }.joined() + "</tbody></table></div>"
    }

    private func page(title: String, language: String, body: String) -> Response {
        let document = """
            <!doctype html><html lang="\(language == "en" ? "en" : "zh-CN")"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1"><title>GridLoop · \(title)</title>
            <style>
            body{font-family:system-ui,"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;margin:0 auto;max-width:1100px;padding:12px;color:#1d2733;background:#f6f8fa}
            h1{font-size:1.4em}h1 small{color:#667;font-weight:normal;font-size:.7em}h2{font-size:1.1em;margin-top:1.4em}
            nav a{color:#0b5cad}section{background:#fff;border-radius:8px;padding:10px 14px;margin:10px 0;box-shadow:0 1px 2px #0001}
            .rates{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:10px;background:none;box-shadow:none;padding:0}
            .rate{background:#fff;border-radius:8px;padding:10px;box-shadow:0 1px 2px #0001}.rate .value{font-size:2em;font-weight:600}
            .rate .label,.rate .detail{color:#556}.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:.9em}
            th,td{padding:4px 8px;border-bottom:1px solid #e3e6ea;text-align:left;white-space:nowrap}.flag{color:#b3261e}.ok{color:#2e7d32}.empty{color:#889}
            svg{max-width:100%;height:auto}
            </style></head><body>\(body)<footer><small>GridLoop · \(Timestamp.format(Date()))</small></footer></body></html>
            """
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: document)))
    }

    static func duration(_ seconds: Double) -> String {
        seconds < 120 ? "\(Int(seconds)) s" : seconds < 7200 ? "\(Int(seconds / 60)) min" : seconds < 172_800 ? String(format: "%.1f h", seconds / 3600) : String(format: "%.1f d", seconds / 86400)
    }
}

/// `12.5%`, or `-` without data.
func percent(_ value: Double?) -> String { value.map { String(format: "%.1f%%", $0 * 100) } ?? "-" }

/// Escapes text for HTML.
func html(_ text: String) -> String {
    var escaped = ""
    for character in text {
        switch character {
        case "&": escaped += "&amp;"
        case "<": escaped += "&lt;"
        case ">": escaped += "&gt;"
        case "\"": escaped += "&quot;"
        case "'": escaped += "&#39;"
        default: escaped.append(character)
        }
    }
    return escaped
}

/// The dashboard's words in Chinese and English.
struct Texts {
    let language: String
    var other: String { language == "en" ? "zh" : "en" }

    init(_ request: Request) {
        language = request.uri.queryParameters["lang"] == "en" ? "en" : "zh"
    }

    subscript(_ key: String) -> String {
        (language == "en" ? Self.english[key] : Self.chinese[key]) ?? key
    }

    var tierNames: [String: String] {
        language == "en" ? ["grid": "grid", "street": "street", "district": "department", "unassigned": "unassigned"] : ["grid": "网格", "street": "街道", "district": "区级部门", "unassigned": "未派"]
    }

    static let chinese = [
        "title": "GridLoop 网格治理看板", "overview": "总览", "switch": "English", "response": "响应率", "resolution": "解决率", "satisfaction": "满意率",
        "backlog": "积压（按层级与时长）", "trend": "近12个月趋势", "overdue": "超时督办", "request": "诉求", "unit": "办理单位", "category": "类别", "since": "时间",
        "none": "暂无", "streets": "街道（乡镇）", "departments": "区级部门", "ranking": "网格员考核排名", "worker": "网格员", "grid": "网格", "score": "得分",
        "visits": "走访/应走访", "gold": "金牌网格员", "excellent": "优秀网格员", "belowDuty": "走访未达标", "breakdown": "得分构成", "part": "项目", "weight": "权重",
        "why": "依据", "volume": "工作量", "quality": "质量", "timeliness": "时效", "figures": "辖区诉求指标", "name": "名称", "assigned": "派单",
        "onTime": "按时办结率", "reopen": "重办率", "escalation": "上报率", "medianClaim": "认领用时中位数", "field": "项目", "description": "内容", "reporter": "反映人",
        "claimDue": "认领时限", "resolveDue": "办结时限", "trail": "全程留痕", "event": "事件", "actor": "经办人",
        "verified": "留痕链校验通过", "broken": "留痕链校验失败：记录可能被改动", "unverified": "无法向受理服务核验留痕，以下为报表服务收到的事件",
    ]
    static let english = [
        "title": "GridLoop dashboard", "overview": "Overview", "switch": "中文", "response": "Response rate", "resolution": "Resolution rate", "satisfaction": "Satisfaction rate",
        "backlog": "Backlog by tier and age", "trend": "Last 12 months", "overdue": "Overdue", "request": "Request", "unit": "Unit", "category": "Category", "since": "Time",
        "none": "None", "streets": "Streets and townships", "departments": "District departments", "ranking": "Grid-worker ranking", "worker": "Grid worker", "grid": "Grid",
        "score": "Score", "visits": "Visits/duty", "gold": "Gold", "excellent": "Excellent", "belowDuty": "below visit duty", "breakdown": "Score breakdown", "part": "Part",
        "weight": "Weight", "why": "From", "volume": "Volume", "quality": "Quality", "timeliness": "Timeliness", "figures": "Figures of the grid's requests", "name": "Name",
        "assigned": "Assigned", "onTime": "On-time resolution", "reopen": "Reopen rate", "escalation": "Escalation rate", "medianClaim": "Median time to claim",
        "field": "Field", "description": "Description", "reporter": "Reporter", "claimDue": "Claim by", "resolveDue": "Resolve by", "trail": "Trail", "event": "Event",
        "actor": "By", "verified": "trail verified", "broken": "trail verification FAILED: a record may have been altered",
        "unverified": "intake cannot be asked to verify the trail; the events reporting received follow",
    ]
}
