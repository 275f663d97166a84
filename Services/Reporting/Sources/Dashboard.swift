import Foundation
import GridLoopAuth
import GridLoopDomain
import GridLoopServiceSupport
import HTTPTypes
import Hummingbird
import NIOCore

/// The HTML dashboard: overview (three rates and the 12345 composite, backlog by tier, overdue
/// list), trends, streets and departments ranked by the composite, grid-worker ranking, a
/// worker's own page with the score breakdown, and a request page. Server-rendered from
/// Mustache templates (``DashboardPages``) with inline SVG charts and reporting's own style
/// sheet (nothing loaded from elsewhere; a strict Content-Security-Policy), readable on a phone;
/// `?lang=en` for English (Chinese by default). Signed-in browsers carry the web login's cookie;
/// scopes as in ``ReportingAccess``.
struct Dashboard: Sendable {
    let reports: Reports
    let trail: IntakeTrail
    let access: ReportingAccess
    /// The staff web app's address as the browser reaches it (`REPORTING_WEB_URL`): with it, the
    /// overdue list and the request page link to `\(webURL)/requests/{id}` to act on a request.
    var webURL: String? = nil

    /// The header the staff web app sets when it proxies the dashboard: its pages are then
    /// on the same origin, so the links to act are relative (`/requests/{id}`).
    static let webProxyHeader = HTTPField.Name("X-GridLoop-Web")!

    func addRoutes(to router: Router<GridLoopRequestContext>) {
        router.get("dashboard") { request, context in try await overview(request, context: context) }
        router.get("dashboard/workers/:staff") { request, context in try await worker(request, context: context) }
        router.get("dashboard/hotspots") { request, context in try await hotspotsPage(request, context: context) }
        router.get("dashboard/community") { request, context in try await communityPage(request, context: context) }
        router.get("dashboard/requests/:id") { request, context in try await requestPage(request, context: context) }
        router.get("dashboard/signin") { request, _ in try await signIn(request) }
        router.get("dashboard/static/dashboard.css") { _, _ in Self.stylesheet() }
    }

    /// Where the links to act on a request go: relative (`""`) when the staff web app proxies
    /// the dashboard, else `webURL` (none without it).
    func actBase(_ request: Request) -> String? {
        request.headers[Self.webProxyHeader] != nil ? "" : webURL
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
        if principal.role != "supervisor", principal.role != Principal.serviceRole, next == "/dashboard" {
            next = "/dashboard/workers/\(principal.id)"
        }
        let cookie = "\(Authenticator.cookieName)=\(token); Path=/; Max-Age=900; HttpOnly; SameSite=Lax"
        return Response(status: .seeOther, headers: [.location: next, .setCookie: cookie, .cacheControl: "no-store"])
    }

    private func overview(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        try await access.district(request, what: "the dashboard's overview")
        let text = Texts(request)
        let period = try await ReportsController.period(request, reports: reports, context: context)
        let data = try await reports.data(period, logger: context.logger)
        let directory = data.directory
        let district = data.figures(.district).first ?? Figures(key: "district", name: "", metrics: [:], rates: reports.rules.rates12345)
        let streets = data.ranked(.street)
        let departments = data.ranked(.department)
        let backlog = try await reports.store.backlog(logger: context.logger)
        let overdue = try await reports.store.overdue(limit: 20, logger: context.logger)
        let end = String(LocalDay.string(Date(), utcOffset: directory.utcOffset).prefix(7)) + "-01"
        let trend = try await reports.store.monthlyTrend(endingAt: end, months: 12, logger: context.logger).map {
            Figures(key: $0.month, name: $0.month, metrics: $0.metrics)
        }
        let workers = data.assessments(rules: reports.rules)
        let base = actBase(request)

        var rates: [[String: Any]] = []
        for (label, value, detail) in [
            (text["response"], district.responseRate, "\(district.claimedOnTime)/\(district.assigned)"),
            (text["resolution"], district.resolutionRate, "\(district.solved)/\(district.feedback)"),
            (text["satisfaction"], district.satisfactionRate, "\(district.satisfied)/\(district.feedback)"),
        ] {
            rates.append(["label": label, "value": percent(value), "detail": detail, "gauge": Charts.gauge(value).text])
        }
        let hotline = district.rates12345
        rates.append([
            "label": text["composite"], "value": percent(hotline.composite), "detail": text.rates12345Detail(hotline),
            "formula": text.compositeFormula(reports.rules.rates12345), "gauge": Charts.gauge(hotline.composite).text, "wide": true,
        ])
        var overdueRows: [[String: Any]] = []
        for row in overdue {
            var cells: [String: Any] = [
                "requestId": row.requestId, "shortId": String(row.requestId.prefix(8)), "unit": directory.name(row.unit), "category": row.category,
                "since": Timestamp.format(row.overdueAt),
            ]
            if let base { cells["actHref"] = "\(base)/requests/\(row.requestId)" }
            overdueRows.append(cells)
        }
        var figureSections: [[String: Any]] = []
        for (title, rows) in [(text["streets"], streets), (text["departments"], departments)] {
            var section = figuresTable(rows, ranked: true)
            section["title"] = title
            figureSections.append(section)
        }
        var workerRows: [[String: Any]] = []
        for worker in workers {
            let award: String = worker.award.map { text[$0] } ?? ""
            workerRows.append([
                "rank": "\(worker.rank ?? 0)", "staff": worker.staff, "name": worker.name, "gridName": worker.gridName,
                "score": String(format: "%.1f", worker.score), "visits": "\(worker.visits)/\(worker.visitDuty)", "award": award,
                "notEligible": text.notEligible(worker, rules: reports.rules),
            ])
        }
        let model: [String: Any] = [
            "period": period.label, "otherLang": text.other, "rates": rates,
            "backlogChart": Charts.stackedBars(backlog, labels: BacklogRow.labels, tierNames: text.tierNames).text,
            "trendChart": Charts.lines(trend, names: [text["response"], text["resolution"], text["satisfaction"]]).text,
            "overdueCount": "\(overdue.count)", "overdue": overdueRows, "hasOverdue": !overdueRows.isEmpty,
            "figureSections": figureSections, "workers": workerRows, "hasWorkers": !workerRows.isEmpty,
            "analysis": try await analysis(request, context: context, period: period, street: nil, text: text, compact: true),
        ]
        return page("overview", model, title: text["title"], text: text)
    }

    private func worker(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let text = Texts(request)
        let period = try await ReportsController.period(request, reports: reports, context: context)
        let staff = context.parameters.get("staff") ?? ""
        try await access.staff(request, staff: staff, logger: context.logger)
        guard let worker = try await reports.assessments(period: period, logger: context.logger).first(where: { $0.staff == staff }) else {
            throw Problem(status: .notFound, code: "not_found", title: "No such grid worker", detail: "no grid worker '\(staff)' in the org")
        }
        var parts: [[String: Any]] = []
        for (name, part) in [
            (text["volume"], worker.volume), (text["quality"], worker.quality), (text["timeliness"], worker.timeliness),
            (text["notice"], worker.notice),
        ] {
            parts.append([
                "name": name, "score": String(format: "%.1f", part.score), "weight": String(format: "%g%%", part.weight * 100),
                "why": part.explanation,
            ])
        }
        // Notice coverage not counted (no notice was due at the grid): no score, and no bar.
        if worker.noticeCoverage == nil { parts[3]["score"] = "-" }
        var bars = [(text["volume"], worker.volume.score), (text["quality"], worker.quality.score), (text["timeliness"], worker.timeliness.score)]
        if worker.noticeCoverage != nil { bars.append((text["notice"], worker.notice.score)) }
        let award: String = worker.award.map { text[$0] } ?? ""
        let notEligible = text.notEligible(worker, rules: reports.rules)
        let model: [String: Any] = [
            "name": worker.name, "gridName": worker.gridName, "period": period.label,
            "score": String(format: "%.1f", worker.score), "rank": "\(worker.rank ?? 0)", "award": award,
            "parts": parts,
            "partsChart": Charts.bars(bars).text,
            "notEligible": text["notEligible"] + notEligible.joined(separator: text.language == "en" ? "; " : "；"),
            "hasNotEligible": !notEligible.isEmpty,
            "figures": figuresTable([worker.figures]),
        ]
        return page("worker", model, title: worker.name, text: text)
    }

    private func requestPage(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let text = Texts(request)
        let id = context.parameters.get("id") ?? ""
        try await access.request(request, id: id, logger: context.logger)
        guard let item = try await reports.store.request(id, logger: context.logger) else {
            throw Problem(status: .notFound, code: "not_found", title: "No such request", detail: "reporting has no request \(id)")
        }
        let directory = try await reports.directory(logger: context.logger)
        func stamp(_ date: Date?) -> String { date.map { Timestamp.format($0) } ?? "-" }
        var facts: [[String: Any]] = []
        for (label, value) in [
            (text["category"], item.category), (text["unit"], directory.name(item.unit)), (text["description"], item.description),
            (text["reporter"], "\(item.reporterName) \(item.reporterPhone)"),
            (text["claimDue"], stamp(item.claimDueAt)), (text["resolveDue"], stamp(item.resolveDueAt)),
            (text["overdue"], stamp(item.overdueAt)),
        ] {
            facts.append(["label": label, "value": value])
        }
        var model: [String: Any] = ["shortId": String(item.id.prefix(8)), "state": item.state, "facts": facts]
        if let base = actBase(request) { model["actHref"] = "\(base)/requests/\(item.id)" }
        if let verified = await trail.fetch(item.id, logger: context.logger) {
            var entries: [[String: Any]] = []
            for entry in verified.trail {
                let unit: String = directory.name(entry.unit ?? "")
                let actor: String = entry.actor ?? ""
                let detail: String = entry.detail ?? ""
                entries.append(["at": Timestamp.format(entry.occurredAt), "event": entry.type, "unit": unit, "actor": actor, "detail": detail])
            }
            let head = String(verified.trail.last?.hash.prefix(12) ?? "")
            let trailModel: [String: Any] = [
                "intact": verified.trailVerified, "count": "\(verified.trail.count)", "head": head, "entries": entries,
                "hasEntries": !entries.isEmpty,
            ]
            model["verified"] = trailModel
        } else {
            var events: [[String: Any]] = []
            for event in item.events {
                events.append(["at": Timestamp.format(event.at), "event": event.type, "summary": event.summary])
            }
            model["events"] = events
            model["hasEvents"] = !events.isEmpty
        }
        return page("request", model, title: text["request"], text: text)
    }

    /// A figures table's context: its rows, and whether there are any; `ranked` numbers the
    /// rows (units compared, in ``ReportData/ranked(_:)``'s order).
    private func figuresTable(_ rows: [Figures], ranked: Bool = false) -> [String: Any] {
        var cells: [[String: Any]] = []
        for (index, row) in rows.enumerated() {
            let medianClaim: String = row.medianClaimSeconds.map(Self.duration) ?? "-"
            cells.append([
                "rank": "\(index + 1)", "name": row.name, "assigned": "\(row.assigned)", "response": percent(row.responseRate),
                "resolution": percent(row.resolutionRate), "satisfaction": percent(row.satisfactionRate), "onTime": percent(row.onTimeResolutionRate),
                "reopen": percent(row.reopenRate), "escalation": percent(row.escalationRate), "medianClaim": medianClaim,
                "composite": percent(row.rates12345.composite),
            ])
        }
        return ["rows": cells, "hasRows": !cells.isEmpty, "ranked": ranked]
    }

    /// Template `template` with `model` in the layout, as a page with the dashboard's security headers.
    func page(_ template: String, _ model: [String: Any], title: String, text: Texts) -> Response {
        var model = model
        model["t"] = text.words
        model["lang"] = text.language
        let htmlLang = text.language == "en" ? "en" : "zh-CN"
        let layout: [String: Any] = ["htmlLang": htmlLang, "title": title, "generated": Timestamp.format(Date())]
        let document = DashboardPages.render(template, model, layout: layout)
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[HTTPField.Name("Content-Security-Policy")!] = DashboardPages.contentSecurityPolicy
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: document)))
    }

    /// `GET /dashboard/static/dashboard.css`: the pages' style sheet (no inline style: the CSP forbids it).
    static func stylesheet() -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/css; charset=utf-8"
        headers[.cacheControl] = "public, max-age=300"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: DashboardPages.stylesheet)))
    }

    static func duration(_ seconds: Double) -> String {
        seconds < 120
            ? "\(Int(seconds)) s"
            : seconds < 7200
                ? "\(Int(seconds / 60)) min"
                : seconds < 172_800 ? String(format: "%.1f h", seconds / 3600) : String(format: "%.1f d", seconds / 86400)
    }
}

/// `12.5%`, or `-` without data.
func percent(_ value: Double?) -> String { value.map { String(format: "%.1f%%", $0 * 100) } ?? "-" }

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

    /// Why `worker` has no award, in words (empty: eligible).
    func notEligible(_ worker: WorkerAssessment, rules: AssessmentRules) -> [String] {
        worker.notEligible.map { reason in
            switch reason {
            case .belowVisitDuty: "\(self["belowDuty"]) \(worker.visits)/\(worker.visitDuty)"
            case .scoreNotAboveFloor: "\(self["belowFloor"]) \(String(format: "%.1f", rules.awardScoreFloor))"
            }
        }
    }

    /// The 12345 composite's formula in words, with the configured weights.
    func compositeFormula(_ rules: Rates12345Rules) -> String {
        let share = WorkerAssessment.weightText
        let basic = String(format: "%g", rules.basicallySatisfiedWeight)
        let (r, s, m) = (share(rules.responseWeight), share(rules.resolutionWeight), share(rules.satisfactionWeight))
        if language == "en" {
            return
                "Composite = \(r) × response + \(s) × resolution + \(m) × satisfaction, from the follow-up answers: response = contacted / answered"
                + " (every answer unless the resident said nobody contacted them), resolution = solved / answered, satisfaction = (satisfied + \(basic) × basically satisfied) / answered"
        }
        return "综合率 = 响应率×\(r) + 解决率×\(s) + 满意率×\(m)，均按回访计：响应率 = 已联系/回访数（居民答“未联系”的除外），解决率 = 已解决/回访数，"
            + "满意率 = (满意 + \(basic)×基本满意)/回访数"
    }

    /// The three 12345 rates behind the composite, and how many answers they come from.
    func rates12345Detail(_ rates: Rates12345) -> String {
        if language == "en" {
            return
                "\(rates.answered) answers: response \(percent(rates.response)) · resolution \(percent(rates.resolution)) · satisfaction \(percent(rates.satisfaction))"
        }
        return "回访 \(rates.answered) 件：响应 \(percent(rates.response)) · 解决 \(percent(rates.resolution)) · 满意 \(percent(rates.satisfaction))"
    }

    /// All the words, for the templates' `t`.
    var words: [String: String] { language == "en" ? Self.english : Self.chinese }

    var tierNames: [String: String] {
        language == "en"
            ? ["grid": "grid", "street": "street", "district": "department", "unassigned": "unassigned"]
            : ["grid": "网格", "street": "街道", "district": "区级部门", "unassigned": "未派"]
    }

    static let chinese = [
        "title": "GridLoop 网格治理看板", "overview": "总览", "switch": "English", "response": "响应率", "resolution": "解决率", "satisfaction": "满意率",
        "composite": "综合率（12345口径）", "compositeColumn": "综合率",
        "backlog": "积压（按层级与时长）", "trend": "近12个月趋势", "overdue": "超时督办", "request": "诉求", "unit": "办理单位", "category": "类别", "since": "时间",
        "none": "暂无", "streets": "街道（乡镇）", "departments": "区级部门", "ranking": "网格员考核排名", "worker": "网格员", "grid": "网格", "score": "得分",
        "visits": "走访/应走访", "award": "评奖", "gold": "金牌网格员", "excellent": "优秀网格员", "belowDuty": "走访未达标", "belowFloor": "得分未超过评奖线",
        "notEligible": "不参评：", "breakdown": "得分构成", "part": "项目", "weight": "权重",
        "why": "依据", "volume": "工作量", "quality": "质量", "timeliness": "时效", "figures": "辖区诉求指标", "name": "名称", "assigned": "派单",
        "onTime": "按时办结率", "reopen": "重办率", "escalation": "上报率", "medianClaim": "认领用时中位数", "field": "项目", "description": "内容", "reporter": "反映人",
        "claimDue": "认领时限", "resolveDue": "办结时限", "trail": "全程留痕", "event": "事件", "actor": "经办人",
        "verified": "留痕链校验通过", "broken": "留痕链校验失败：记录可能被改动", "unverified": "无法向受理服务核验留痕，以下为报表服务收到的事件",
        "act": "办理",
        "hotspots": "热点与重复问题", "district": "全区", "heatTitle": "热点：网格 × 类别", "total": "合计",
        "heatHint": "本期各网格各类别的诉求件数，颜色越深越多；小字为其中重复或重办的件数。",
        "recurringTitle": "重复问题", "recurringHint": "同一户或同一地址在期限内再次反映同类问题，或居民不满意被重办的诉求。",
        "reports": "件", "repeats": "重复", "reopened": "重办", "recurringRate": "重复率", "recurringShort": "件重复",
        "focusTitle": "每月一题", "focusNone": "本月尚未确定“每月一题”。", "shortlist": "候选（按件数与重复件数）：", "focusName": "题目",
        "owner": "责任人", "due": "完成时限", "markFocus": "定为本月一题", "note": "进展", "progress": "完成度", "addNote": "记录进展",
        "focusDone": "已完成", "marked": "已定为本月一题。", "noted": "进展已记录。", "fullAnalysis": "查看全部热点与重复问题 →",
        // 社区工作 (#20): /dashboard/community and the worker's notice part.
        "community": "社区工作", "notice": "上情下达", "noticeTitle": "通知", "street": "街道", "noticesTitle": "上情下达：通知告知情况",
        "noticesHint": "本期内发布或到期的通知；按期告知 = 在告知期限当天结束前告知的户数。方式：走访/电话/短信。",
        "noticeDue": "期限", "households": "户数", "informed": "已告知", "informedOnTime": "按期告知", "coverage": "告知率",
        "onTimeCoverage": "按期告知率", "via": "走访/电话/短信", "laggingGrids": "逾期网格", "noticeChart": "各网格按期告知率",
        "consultationsTitle": "议事协商", "consultationOpen": "进行中", "consultationClosed": "已结束", "rule": "规则", "positions": "已表态户数",
        "option": "各选项户数", "needed": "通过需", "reached": "达到规则的选项", "result": "结果", "concerns": "有顾虑", "changed": "改变立场",
        "wishesTitle": "微心愿", "wishesHint": "本期收集的微心愿及其进展（认领、实现、与居民确认）。", "collected": "收集", "adopted": "已认领",
        "fulfilled": "已实现", "confirmed": "已确认", "wishOpen": "未实现", "clusters": "同类心愿聚集", "wishKind": "类别",
        "pointsTitle": "绿币积分与爱心超市", "householdsScored": "评分户数", "pointsEarned": "居民积分", "workerPoints": "网格员积分",
        "redemptions": "兑换次数", "pointsRedeemed": "兑换积分", "goodsRedeemed": "兑出物品", "donations": "捐赠次数", "goodsDonated": "捐赠物品",
    ]
    static let english = [
        "title": "GridLoop dashboard", "overview": "Overview", "switch": "中文", "response": "Response rate", "resolution": "Resolution rate",
        "satisfaction": "Satisfaction rate",
        "composite": "Composite rate (12345)", "compositeColumn": "Composite",
        "backlog": "Backlog by tier and age", "trend": "Last 12 months", "overdue": "Overdue", "request": "Request", "unit": "Unit",
        "category": "Category", "since": "Time",
        "none": "None", "streets": "Streets and townships", "departments": "District departments", "ranking": "Grid-worker ranking",
        "worker": "Grid worker", "grid": "Grid",
        "score": "Score", "visits": "Visits/duty", "award": "Award", "gold": "Gold", "excellent": "Excellent", "belowDuty": "below visit duty",
        "belowFloor": "score not above the award floor", "notEligible": "Not eligible for an award: ", "breakdown": "Score breakdown", "part": "Part",
        "weight": "Weight", "why": "From", "volume": "Volume", "quality": "Quality", "timeliness": "Timeliness",
        "figures": "Figures of the grid's requests", "name": "Name",
        "assigned": "Assigned", "onTime": "On-time resolution", "reopen": "Reopen rate", "escalation": "Escalation rate",
        "medianClaim": "Median time to claim",
        "field": "Field", "description": "Description", "reporter": "Reporter", "claimDue": "Claim by", "resolveDue": "Resolve by", "trail": "Trail",
        "event": "Event",
        "actor": "By", "verified": "trail verified", "broken": "trail verification FAILED: a record may have been altered",
        "unverified": "intake cannot be asked to verify the trail; the events reporting received follow", "act": "Act on it",
        "hotspots": "Hotspots and recurring problems", "district": "whole district", "heatTitle": "Hotspots: grids × categories", "total": "Total",
        "heatHint": "Requests received in the period per grid and category, darker for more; the small figure counts repeats and reopened ones.",
        "recurringTitle": "Recurring problems",
        "recurringHint":
            "The same household or address reporting the same category again within the window, or a request reopened by an unsatisfied resident.",
        "reports": "reports", "repeats": "Repeats", "reopened": "Reopened", "recurringRate": "Recurring rate", "recurringShort": "recurring",
        "focusTitle": "Problem of the month (每月一题)", "focusNone": "No problem of the month chosen yet.",
        "shortlist": "Candidates (by reports and recurring reports):", "focusName": "Title", "owner": "Owner", "due": "Due",
        "markFocus": "Make it this month's problem", "note": "Progress", "progress": "Done", "addNote": "Record progress", "focusDone": "done",
        "marked": "Marked as this month's problem.", "noted": "Progress recorded.", "fullAnalysis": "All hotspots and recurring problems →",
        // Community work (#20): /dashboard/community and the worker's notice part.
        "community": "Community work", "notice": "Notice coverage", "noticeTitle": "Notice", "street": "Street",
        "noticesTitle": "Policy notices: households informed",
        "noticesHint":
            "Notices published or due in the period; on time = informed before the end of the due day. How: visit/phone/SMS.",
        "noticeDue": "Due", "households": "Households", "informed": "Informed", "informedOnTime": "On time", "coverage": "Coverage",
        "onTimeCoverage": "On-time coverage", "via": "Visit/phone/SMS", "laggingGrids": "Grids overdue", "noticeChart": "On-time coverage per grid",
        "consultationsTitle": "Consultations", "consultationOpen": "open", "consultationClosed": "closed", "rule": "Rule", "positions": "Positions",
        "option": "Households per option", "needed": "needed", "reached": "carried", "result": "Result", "concerns": "concerns",
        "changed": "changed position", "wishesTitle": "Micro-wishes",
        "wishesHint": "Wishes collected in the period and how far they have got (adopted, fulfilled, confirmed with the resident).",
        "collected": "Collected", "adopted": "Adopted", "fulfilled": "Fulfilled", "confirmed": "Confirmed", "wishOpen": "Open",
        "clusters": "Clusters of similar wishes", "wishKind": "Kind", "pointsTitle": "Green points and the love supermarket",
        "householdsScored": "Households scored", "pointsEarned": "Points earned", "workerPoints": "Workers' points", "redemptions": "Redemptions",
        "pointsRedeemed": "Points redeemed", "goodsRedeemed": "Goods redeemed", "donations": "Donations", "goodsDonated": "Goods donated",
    ]
}
