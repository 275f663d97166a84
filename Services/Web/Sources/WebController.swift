import Crypto
import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import HTTPTypes
import Hummingbird
import NIOCore

/// The staff web app's pages: sign-in, the inbox, a request with exactly the actions its viewer
/// may take now. Every page is drawn on the server from routing's and intake's APIs, called
/// with the signed-in person's token; every form carries a CSRF token.
package struct WebController: Sendable {
    package let backend: Backend
    /// The address residents' links and the door plates' QR codes point at (this app as the
    /// public reaches it).
    package let publicURL: String
    /// Cookies get `Secure` (behind TLS).
    package let secureCookies: Bool
    /// Peers whose `X-Forwarded-For` names the browser (`WEB_TRUSTED_PROXIES`: a TLS proxy in
    /// front of the app); the address passed on to intake's and routing's rate limits.
    package var trustedProxies = TrustedProxies("")
    /// The most points each of a household's five monthly items may score (`WEB_POINTS_ITEM_MAX`,
    /// as routing's `ROUTING_POINTS_ITEM_MAX`): the score form's inputs and its checks.
    package var pointsItemMax = 10

    static let sessionCookie = "gridloop_session"
    static let csrfCookie = "gridloop_csrf"
    static let languageCookie = "gridloop_lang"

    package init(backend: Backend, publicURL: String, secureCookies: Bool) {
        self.backend = backend
        self.publicURL = publicURL
        self.secureCookies = secureCookies
    }

    package func addRoutes(to router: Router<GridLoopRequestContext>) {
        router.add(middleware: SecurityHeaders())
        router.get("/") { _, _ in Self.redirect("/inbox") }
        router.get("health") { _, _ in try JSONResponse.make(["status": "ok"]) }
        router.get("static/app.css") { _, _ in Self.asset(Assets.css, type: "text/css; charset=utf-8") }
        router.get("static/app.js") { _, _ in Self.asset(Assets.js, type: "text/javascript; charset=utf-8") }
        router.get("static/icon.svg") { _, _ in Self.asset(Offline.icon, type: "image/svg+xml") }
        router.get("manifest.webmanifest") { _, _ in Self.asset(Offline.manifest, type: "application/manifest+json") }
        router.get("sw.js") { _, _ in
            var response = Self.asset(Offline.serviceWorker, type: "text/javascript; charset=utf-8")
            response.headers[.cacheControl] = "no-cache"
            return response
        }
        router.get("signin") { request, _ in signInPage(request) }
        router.post("signin") { request, context in try await signIn(request, context: context) }
        router.post("signout") { request, context in try await signOut(request, context: context) }
        router.get("inbox") { request, context in try await inbox(request, context: context) }
        router.get("requests/:id") { request, context in try await requestPage(request, context: context) }
        router.post("requests/:id/act") { request, context in try await act(request, context: context) }
        router.post("requests/:id/contact") { request, context in try await showContact(request, context: context) }
        router.post("requests/:id/visit") { request, context in try await logVisit(request, context: context) }
        router.get("dashboard") { request, context in try await dashboard(request, context: context) }
        router.get("dashboard/workers/:staff") { request, context in try await dashboard(request, context: context) }
        router.get("dashboard/requests/:id") { request, context in try await dashboard(request, context: context) }
        router.get("dashboard/hotspots") { request, context in try await dashboard(request, context: context) }
        router.post("dashboard/focus") { request, context in try await dashboardFocus(request, context: context) }
        router.post("dashboard/focus/:id/notes") { request, context in try await dashboardFocus(request, context: context) }
        router.get("dashboard/static/dashboard.css") { request, context in try await dashboard(request, context: context) }
        router.get("v1/reports/figures.csv") { request, context in try await dashboard(request, context: context) }
        router.get("dashboard/community") { request, context in try await dashboard(request, context: context) }
        router.get("v1/reports/community/notices.csv") { request, context in try await dashboard(request, context: context) }
        router.get("v1/reports/community/consultations.csv") { request, context in try await dashboard(request, context: context) }
        router.get("v1/reports/community/wishes.csv") { request, context in try await dashboard(request, context: context) }
        router.get("v1/reports/community/wishes/clusters.csv") { request, context in try await dashboard(request, context: context) }
        router.get("v1/reports/community/points.csv") { request, context in try await dashboard(request, context: context) }
        router.get("plates/:grid") { request, context in try await doorPlates(request, context: context) }
        router.get("report") { request, context in try await reportPage(request, context: context) }
        router.post("report") { request, context in try await report(request, context: context) }
        router.get("status/:id") { request, context in try await statusPage(request, context: context) }
        router.get("followup/:id") { request, context in try await followUpPage(request, context: context) }
        router.post("followup/:id") { request, context in try await followUp(request, context: context) }
        router.get("photos/:id") { _, context in try await photo(context: context, thumbnail: false) }
        router.get("photos/:id/thumbnail") { _, context in try await photo(context: context, thumbnail: true) }
        router.get("tasks") { request, context in try await tasksPage(request, context: context) }
        router.post("tasks") { request, context in try await taskPost(request, context: context) }
        router.get("tasks/:id") { request, context in try await taskPage(request, context: context) }
        router.post("tasks/:id/checks") { request, context in try await taskPost(request, context: context) }
        router.get("submit") { request, context in try await submitPage(request, context: context) }
        router.post("submit") { request, context in try await submit(request, context: context) }
        addCommunityRoutes(to: router)
    }

    // MARK: The visit's state: language, CSRF token, session

    struct Visit {
        /// The page's own GET address (a page drawn after a POST links back to it).
        var path = "/inbox"
        var language: String
        var csrf: String
        var newCSRF: Bool
        var session: Session?
        var setCookies: [String] = []
        /// A resident's page: no staff bar, the brand leads to the report form.
        var resident = false
    }

    func visit(_ request: Request) -> Visit {
        let cookies = request.headers[values: .cookie]
        let asked = request.uri.queryParameters["lang"].map(String.init)
        let stored = Authenticator.cookie(Self.languageCookie, in: cookies)
        let language = (asked ?? stored) == "en" ? "en" : "zh"
        var visit = Visit(
            language: language,
            csrf: "",
            newCSRF: false,
            session: Authenticator.cookie(Self.sessionCookie, in: cookies).flatMap(Session.init(token:))
        )
        visit.path = Self.canonicalPath(request)
        if let csrf = Authenticator.cookie(Self.csrfCookie, in: cookies), csrf.count == 64 {
            visit.csrf = csrf
        } else {
            visit.csrf = Self.randomToken()
            visit.newCSRF = true
            visit.setCookies.append(cookie(Self.csrfCookie, visit.csrf, maxAge: 86_400 * 7))
        }
        if let asked, asked != stored { visit.setCookies.append(cookie(Self.languageCookie, language, maxAge: 86_400 * 365)) }
        return visit
    }

    func cookie(_ name: String, _ value: String, maxAge: Int) -> String {
        "\(name)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secureCookies ? "; Secure" : "")
    }

    static func randomToken() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }.map { String(format: "%02x", $0) }.joined()
    }

    /// The form's CSRF field matches the visit's cookie (compared in constant time).
    func checkCSRF(_ form: [String: [String]], _ visit: Visit) -> Bool {
        guard !visit.newCSRF, let sent = form["csrf"]?.first, sent.utf8.count == visit.csrf.utf8.count else { return false }
        return zip(sent.utf8, visit.csrf.utf8).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// The signed-in session, refreshed when it is about to run out; `nil` sends to sign-in.
    func session(_ visit: inout Visit) async -> Session? {
        guard let session = visit.session, session.expires > Date() else { return nil }
        guard session.wantsRefresh() else { return session }
        guard let answer = try? await backend.call(.POST, "routing", "/v1/auth/refresh", token: session.token), answer.ok,
            let issued = try? answer.decode(IssuedTokenBody.self), let fresh = Session(token: issued.token)
        else { return session }
        visit.session = fresh
        visit.setCookies.append(cookie(Self.sessionCookie, fresh.token, maxAge: max(60, Int(fresh.expires.timeIntervalSinceNow))))
        return fresh
    }

    struct IssuedTokenBody: Decodable {
        var token: String
    }

    // MARK: Pages

    func layout(_ visit: Visit, title: String, notice: String? = nil, error: String? = nil) -> [String: Any] {
        var layout: [String: Any] = [
            "lang": visit.language, "htmlLang": visit.language == "en" ? "en" : "zh-CN", "title": title, "t": Pages.words(visit.language),
            "otherLangName": visit.language == "en" ? "中文" : "English", "csrf": visit.csrf, "homeHref": visit.resident ? "/report" : "/inbox",
            "langHref": "\(visit.path)\(visit.path.contains("?") ? "&" : "?")lang=\(visit.language == "en" ? "zh" : "en")",
        ]
        if let session = visit.session, !visit.resident {
            layout["signedIn"] = true
            layout["who"] = "\(session.staff) · \(session.unit?.description ?? session.role)"
        }
        if let notice { layout["notice"] = notice }
        if let error { layout["error"] = error }
        return layout
    }

    func page(
        _ visit: Visit,
        _ template: String,
        _ context: [String: Any],
        title: String,
        notice: String? = nil,
        error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) -> Response {
        var context = context
        context["t"] = Pages.words(visit.language)
        context["csrf"] = visit.csrf
        let html = Pages.render(template, context, layout: layout(visit, title: title, notice: notice, error: error))
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        for cookie in visit.setCookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    func signInPage(_ request: Request, staff: String = "", error: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        let visit = visit(request)
        return page(visit, "signin", ["staff": staff], title: Pages.words(visit.language)["signInTitle"]!, error: error, status: status)
    }

    func signIn(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        let form = try await Self.form(request)
        let en = visit.language == "en"
        guard checkCSRF(form, visit) else {
            return page(
                visit,
                "signin",
                [:],
                title: "GridLoop",
                error: en ? "The form expired; please sign in again." : "页面已过期，请重新登录。",
                status: .forbidden
            )
        }
        let staff = (form["staff"]?.first ?? "").trimmingCharacters(in: .whitespaces)
        let secret = form["secret"]?.first ?? ""
        guard !staff.isEmpty, !secret.isEmpty else {
            return page(
                visit,
                "signin",
                ["staff": staff],
                title: "GridLoop",
                error: en ? "Enter your staff id and sign-in secret." : "请填写工号和登录密码。",
                status: .badRequest
            )
        }
        let answer: Backend.Answer
        do {
            answer = try await backend.call(
                .POST,
                "routing",
                "/v1/auth/token",
                token: nil,
                json: ["staff": staff, "secret": secret],
                client: context.client(of: request, trusting: trustedProxies)
            )
        } catch {
            context.logger.warning("sign-in: routing unreachable", metadata: ["error": "\(error)"])
            return page(
                visit,
                "signin",
                ["staff": staff],
                title: "GridLoop",
                error: en ? "The service is not reachable; try again shortly." : "服务暂时无法连接，请稍后再试。",
                status: .serviceUnavailable
            )
        }
        guard answer.ok, let issued = try? answer.decode(IssuedTokenBody.self), let session = Session(token: issued.token) else {
            let message: String
            switch answer.status {
            case 401: message = en ? "Unknown staff id or wrong sign-in secret." : "工号或登录密码不对。"
            case 429: message = en ? "Too many attempts; wait a minute." : "尝试次数过多，请一分钟后再试。"
            default: message = answer.problem ?? "\(answer.status)"
            }
            return page(
                visit,
                "signin",
                ["staff": staff],
                title: "GridLoop",
                error: message,
                status: answer.status == 429 ? .tooManyRequests : .unauthorized
            )
        }
        visit.setCookies.append(cookie(Self.sessionCookie, session.token, maxAge: max(60, Int(session.expires.timeIntervalSinceNow))))
        return Self.redirect("/inbox", cookies: visit.setCookies)
    }

    func signOut(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let visit = visit(request)
        let form = try await Self.form(request)
        guard checkCSRF(form, visit) else { return Self.redirect("/inbox", cookies: visit.setCookies) }
        return Self.redirect(
            "/signin",
            cookies: visit.setCookies + ["\(Self.sessionCookie)=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" + (secureCookies ? "; Secure" : "")]
        )
    }

    func inbox(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        guard let session = await session(&visit) else { return Self.redirect("/signin", cookies: visit.setCookies) }
        let language = visit.language
        let words = Pages.words(language)
        let state = request.uri.queryParameters["state"].map(String.init).flatMap { StaffInbox.State(rawValue: $0) }
        var path = "/v1/inbox?limit=50"
        if let state { path += "&state=\(state.rawValue)" }
        if let cursor = request.uri.queryParameters["cursor"].map(String.init),
            cursor.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) })
        {
            path += "&cursor=\(cursor)"
        }
        var chosenUnit: UnitRef?
        if session.oversees, let unit = request.uri.queryParameters["unit"].map(String.init), let ref = try? UnitRef(parsing: unit) {
            chosenUnit = ref
            path += "&unit=\(ref)"
        }
        let answer: Backend.Answer
        do { answer = try await backend.call(.GET, "routing", path, token: session.token) } catch {
            return page(
                visit,
                "inbox",
                ["hasItems": false],
                title: words["inboxTitle"]!,
                error: language == "en" ? "The inbox is not reachable right now." : "暂时无法读取待办。",
                status: .serviceUnavailable
            )
        }
        if answer.status == 401 { return Self.redirect("/signin", cookies: visit.setCookies) }
        guard answer.ok, let inbox = try? answer.decode(StaffInbox.Page.self) else {
            return page(visit, "inbox", ["hasItems": false], title: words["inboxTitle"]!, error: answer.problem ?? "\(answer.status)", status: .ok)
        }
        let filters: [[String: Any]] =
            [["value": "", "label": words["all"]!, "count": inbox.counts.total, "active": state == nil]]
            + StaffInbox.State.allCases.compactMap { candidate in
                let count = inbox.counts.byState[candidate.rawValue] ?? 0
                guard count > 0 || candidate == state else { return nil }
                return [
                    "value": candidate.rawValue, "label": Pages.state(candidate.rawValue, language: language), "count": count,
                    "active": candidate == state,
                ]
            }
        let summary =
            language == "en"
            ? "\(inbox.counts.total) open · \(inbox.counts.overdue) overdue · \(inbox.counts.warning) near the deadline · \(inbox.counts.unclaimed) unclaimed"
            : "共 \(inbox.counts.total) 件 · 超时 \(inbox.counts.overdue) · 临近时限 \(inbox.counts.warning) · 待认领 \(inbox.counts.unclaimed)"
        var context: [String: Any] = [
            "unitName": inbox.unit, "filters": filters, "summary": summary, "hasItems": !inbox.items.isEmpty,
            "rows": InboxRows.render(inbox.items, now: Date(), language: language, words: words).text,
        ]
        if let chosenUnit { context["unitQuery"] = chosenUnit.description }
        if let next = inbox.next { context["next"] = next }
        if let state { context["state"] = state.rawValue }
        if session.role == "supervisor" { context["supervisor"] = true }
        if let unit = session.unit, unit.tier == .grid {
            context["plates"] = unit.id
            context["assessment"] = "/dashboard/workers/\(session.staff)"
        }
        return page(visit, "inbox", context, title: words["inboxTitle"]!, notice: Self.doneNotice(request, language: language))
    }

    /// Intake's status of a request (the trail), and the viewer's inbox item for it.
    func load(_ id: String, session: Session) async throws -> (status: StatusBody?, item: StaffInbox.Item?, unit: UnitRef?, problem: String?) {
        let statusAnswer = try await backend.call(.GET, "intake", "/v1/requests/\(id)", token: nil)
        guard statusAnswer.ok, let status = try? statusAnswer.decode(StatusBody.self) else {
            return (nil, nil, nil, statusAnswer.problem ?? "\(statusAnswer.status)")
        }
        var unit = session.unit
        if session.oversees { unit = status.unit.flatMap { try? UnitRef(parsing: $0) } }
        var item: StaffInbox.Item?
        if let unit {
            let inbox = try await backend.call(.GET, "routing", "/v1/inbox?limit=200&unit=\(unit)&request=\(id)", token: session.token)
            item = (try? inbox.decode(StaffInbox.Page.self))?.items.first { $0.requestId == id }
        }
        return (status, item, unit, nil)
    }

    struct StatusBody: Decodable {
        struct Reporter: Decodable {
            var name: String
            var phone: String
        }
        struct Event: Decodable {
            var type: String
            var unit: String?
            var actor: String?
            var detail: String?
            var occurredAt: Date
        }
        var id: String
        var state: RequestState
        var unit: String?
        var category: String
        var description: String
        var reporter: Reporter
        var trail: [Event]
        var trailVerified: Bool
        var photos: [Photo] = []

        struct Photo: Decodable {
            var id: String
            var stage: String
        }

        enum CodingKeys: String, CodingKey {
            case id, state, unit, category, description, reporter, trail, trailVerified, photos
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decode(String.self, forKey: .id)
            state = try container.decode(RequestState.self, forKey: .state)
            unit = try container.decodeIfPresent(String.self, forKey: .unit)
            category = try container.decode(String.self, forKey: .category)
            description = try container.decode(String.self, forKey: .description)
            reporter = try container.decode(Reporter.self, forKey: .reporter)
            trail = try container.decode([Event].self, forKey: .trail)
            trailVerified = try container.decode(Bool.self, forKey: .trailVerified)
            photos = try container.decodeIfPresent([Photo].self, forKey: .photos) ?? []
        }
    }

    /// Photos as the pages show them: thumbnails through the app (the CSP allows only 'self').
    static func photoRows(_ photos: [StatusBody.Photo], language: String) -> [[String: Any]] {
        photos.filter { UUID(uuidString: $0.id) != nil }.map { photo in
            [
                "href": "/photos/\(photo.id)", "src": "/photos/\(photo.id)/thumbnail",
                "label": photo.stage == "resolution" ? (language == "en" ? "after" : "办结后") : (language == "en" ? "reported" : "反映时"),
            ]
        }
    }

    /// Sends a photo to intake; `nil` when added, else the reason in words.
    func addPhoto(
        _ photo: FormBody.File,
        to id: String,
        stage: String,
        token: String?,
        uploadToken: String?,
        key: String?,
        language: String
    ) async -> String? {
        let en = language == "en"
        var headers: [String: String] = [:]
        // The form's key: the same form sent again (a double tap, an offline resend) adds it once.
        if let key { headers["Idempotency-Key"] = "web-photo:\(key)" }
        if let uploadToken { headers["X-Upload-Token"] = uploadToken }
        guard
            let answer = try? await backend.call(
                .POST,
                "intake",
                "/v1/requests/\(id)/photos?stage=\(stage)",
                token: token,
                headers: headers,
                raw: photo.bytes
            )
        else {
            return en ? "The photo was not sent: the service is not reachable." : "照片未上传：服务暂时无法连接。"
        }
        guard answer.ok else {
            let reason =
                answer.status == 415
                ? (en ? "not a JPEG or PNG photo" : "不是 JPEG 或 PNG 照片")
                : answer.status == 413 ? (en ? "larger than 10 MB" : "超过10MB") : (answer.problem ?? "\(answer.status)")
            return (en ? "The photo was not added: " : "照片未添加：") + reason
        }
        return nil
    }

    func requestPage(
        _ request: Request,
        context: GridLoopRequestContext,
        error: String? = nil,
        status: HTTPResponse.Status = .ok,
        contact: Contact? = nil
    ) async throws -> Response {
        var visit = visit(request)
        guard let session = await session(&visit) else { return Self.redirect("/signin", cookies: visit.setCookies) }
        let id = (context.parameters.get("id") ?? "").lowercased()
        guard UUID(uuidString: id) != nil else { return page(visit, "request", [:], title: "GridLoop", error: "?", status: .notFound) }
        let language = visit.language
        let loaded: (status: StatusBody?, item: StaffInbox.Item?, unit: UnitRef?, problem: String?)
        do { loaded = try await load(id, session: session) } catch {
            return page(
                visit,
                "request",
                [:],
                title: "GridLoop",
                error: language == "en" ? "The request cannot be read right now." : "暂时无法读取该诉求。",
                status: .serviceUnavailable
            )
        }
        guard let statusBody = loaded.status else { return page(visit, "request", [:], title: "GridLoop", error: loaded.problem, status: .notFound) }
        let item = loaded.item
        // Routing's inbox is the workflow's own word (intake's copy follows its events a moment later).
        let current = item.flatMap { $0.kind == .request ? RequestState(rawValue: $0.state.rawValue) : nil } ?? statusBody.state
        let situation = WebActions.Situation(
            state: current,
            unit: item?.kind == .request && item?.state != .resolved ? loaded.unit : statusBody.unit.flatMap { try? UnitRef(parsing: $0) },
            claimedBy: item?.claimedBy,
            homeGrid: item?.gridId,
            summons: item?.kind == .summons ? item?.state : nil
        )
        let viewer = WebActions.Viewer(id: session.staff, role: session.role, unit: session.unit)
        var available = WebActions.available(to: viewer, on: situation)
        // The classifier's suggested category, shown to whoever holds the request (never applied by itself).
        var suggestion: (category: String, confidence: Double)?
        if WebActions.mayRecategorize(viewer, on: situation) {
            available.append(.recategorize)
            if let answer = try? await backend.call(.GET, "reporting", "/v1/reports/requests/\(id)/suggestion", token: session.token), answer.ok,
                let json = try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any], json["differs"] as? Bool == true,
                let category = json["category"] as? String
            {
                suggestion = (category, json["confidence"] as? Double ?? 0)
            }
        }
        let actions: [[String: Any]] = available.map { action in
            let words = Pages.action(action, language: language)
            var form: [String: Any] = [
                "action": action.rawValue, "label": words.label, "key": UUID().uuidString.lowercased(), "requestId": id, "csrf": visit.csrf,
                "style": [.reject, .return].contains(action) ? "danger" : action == .claim || action == .resolve ? "primary" : "",
                // The main step stays open; the others fold under their names.
                "collapsed": ![.claim, .resolve, .feedback].contains(action),
            ]
            if let note = words.note {
                form["noteLabel"] = note
                form[words.required ? "needsNote" : "optionalNote"] = true
            }
            switch action {
            case .summon:
                form["needsDepartments"] = true
                form["departments"] = Self.departments.map { id, names in ["id": id, "name": language == "en" ? names.en : names.zh] }
            case .reassign: form["needsTarget"] = true
            case .merge:
                form["needsInto"] = true
                form["suggestedInto"] = item?.possibleDuplicateOf ?? ""
            case .link: form["needsReport"] = true
            case .recategorize:
                let chosen = suggestion?.category ?? statusBody.category
                form["needsCategory"] = true
                form["categories"] = (CategoryNames.known.contains(chosen) ? CategoryNames.known : CategoryNames.known + [chosen]).map { category in
                    ["id": category, "name": CategoryNames.label(category, language: language), "selected": category == chosen]
                }
                if let suggestion {
                    let percent = String(format: "%.0f%%", suggestion.confidence * 100)
                    let name = CategoryNames.label(suggestion.category, language: language)
                    form["suggestion"] = language == "en" ? "Suggested from the description: \(name) (\(percent))" : "根据描述建议类别：\(name)（\(percent)）"
                    form["suggested"] = suggestion.category
                    form["confidence"] = String(format: "%.3f", suggestion.confidence)
                    form["collapsed"] = false
                }
            case .feedback: form["needsSatisfaction"] = true
            // A department's or a worker's evidence of the result (not for a summons' report).
            case .resolve: form["needsPhoto"] = true
            default: break
            }
            return form
        }
        let formatter = DateFormatter()
        formatter.dateFormat = "MM-dd HH:mm"
        formatter.timeZone = TimeZone(secondsFromGMT: 8 * 3600)
        let trail: [[String: Any]] = statusBody.trail.map { event in
            var row: [String: Any] = ["at": formatter.string(from: event.occurredAt), "what": Self.eventName(event.type, language: language)]
            if let actor = event.actor { row["actor"] = actor }
            if let unit = event.unit { row["unit"] = unit }
            if let detail = event.detail, !detail.isEmpty { row["detail"] = detail }
            return row
        }
        var context: [String: Any] = [
            "requestId": id, "category": CategoryNames.label(statusBody.category, language: language), "description": statusBody.description,
            "stateLabel": Pages.state(item?.state.rawValue ?? statusBody.state.rawValue, language: language),
            "unit": situation.unit?.description ?? statusBody.unit ?? "-",
            "place": item.map { $0.householdId ?? $0.address ?? $0.gridId ?? "-" } ?? "-",
            "reporter": "\(statusBody.reporter.name) \(statusBody.reporter.phone)",
            "actions": actions, "hasActions": !actions.isEmpty, "trail": trail, "verified": statusBody.trailVerified,
        ]
        if let due = item?.claimDueAt ?? item?.resolveDueAt {
            context["due"] = Timestamp.format(due)
            context["dueText"] = Pages.due(due, now: Date(), language: language)
        }
        if let duplicate = item?.possibleDuplicateOf { context["duplicate"] = duplicate }
        context["photos"] = Self.photoRows(statusBody.photos, language: language)
        context["hasPhotos"] = !statusBody.photos.isEmpty
        // The resident's number: behind a button for the units allowed to see it (intake
        // decides and puts every view on the trail); a tel: link once shown.
        if let contact {
            context["contactPhone"] = contact.phone
            context["contactTel"] = "tel:" + contact.phone.filter { $0.isNumber || $0 == "+" }
        } else if session.unit != nil, session.unit == situation.unit || (session.unit?.tier == .grid && session.unit?.id == item?.gridId) {
            context["mayShowNumber"] = true
        }
        // A household visit, for the staff of the household's grid.
        if let household = item?.householdId, session.unit?.tier == .grid, ["grid-worker", "grid-leader"].contains(session.role),
            session.unit?.id == item?.gridId
        {
            context["visitHousehold"] = household
            context["visitKey"] = UUID().uuidString.lowercased()
        }
        let done = Self.doneNotice(request, language: language)
        return page(
            visit,
            "request",
            context,
            title: CategoryNames.label(statusBody.category, language: language),
            notice: done,
            error: error,
            status: status
        )
    }

    /// The departments a street officer may summon (the demo org's; routing checks the real list).
    static let departments: [(String, (zh: String, en: String))] = [
        ("power-supply", ("区供电部门", "power supply")), ("water", ("区水务局", "water")), ("housing", ("区住房和城乡建设局", "housing")),
        ("market-regulation", ("区市场监督管理局", "market regulation")), ("civil-affairs", ("区民政局", "civil affairs")),
        ("emergency-management", ("区应急管理局", "emergency management")),
    ]

    /// A form posted from a request page, its person signed in and its CSRF token matched.
    struct PostedForm {
        var visit: Visit
        var session: Session
        var id: String
        var body: FormBody
    }

    enum RequestPost {
        /// Not to be acted on: sign-in, or the request page saying the form expired.
        case answer(Response)
        case ready(PostedForm)
    }

    /// Reads and checks a form posted from a request page (actions, visit, show number).
    func requestPost(_ request: Request, context: GridLoopRequestContext) async throws -> RequestPost {
        var visit = visit(request)
        guard let session = await session(&visit) else { return .answer(Self.redirect("/signin", cookies: visit.setCookies)) }
        let id = (context.parameters.get("id") ?? "").lowercased()
        let body = try await FormBody.read(request)
        guard checkCSRF(body.fields, visit) else {
            let en = visit.language == "en"
            return .answer(
                try await requestPage(
                    request,
                    context: context,
                    error: en ? "The form expired; nothing was sent. Try again." : "页面已过期，未提交，请重试。",
                    status: .forbidden
                )
            )
        }
        return .ready(PostedForm(visit: visit, session: session, id: id, body: body))
    }

    func act(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let posted: PostedForm
        switch try await requestPost(request, context: context) {
        case .answer(let response): return response
        case .ready(let form): posted = form
        }
        let (visit, session, id, body) = (posted.visit, posted.session, posted.id, posted.body)
        let form = body.fields
        let en = visit.language == "en"
        guard UUID(uuidString: id) != nil, let actionName = form["action"]?.first, let action = StaffCommand.Action(rawValue: actionName) else {
            return try await requestPage(request, context: context, error: en ? "Unknown action." : "未知操作。", status: .badRequest)
        }
        // The resolution's photo goes first: a photo refused stops the resolution, in words.
        if action == .resolve, let photo = body.files["photo"] {
            if let refusal = await addPhoto(
                photo,
                to: id,
                stage: "resolution",
                token: session.token,
                uploadToken: nil,
                key: form["key"]?.first.flatMap(UUID.init(uuidString:))?.uuidString.lowercased(),
                language: visit.language
            ) {
                return try await requestPage(request, context: context, error: refusal, status: .ok)
            }
        }
        var command: [String: Any] = ["action": action.rawValue]
        let note = (form["note"]?.first ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        if Pages.action(action, language: visit.language).required, note.isEmpty {
            return try await requestPage(
                request,
                context: context,
                error: (en ? "Please fill in: " : "请填写：") + (Pages.action(action, language: visit.language).note ?? ""),
                status: .badRequest
            )
        }
        if !note.isEmpty { command["note"] = note }
        if action == .summon { command["departments"] = form["departments"] ?? [] }
        if action == .reassign, let target = form["target"]?.first { command["target"] = target.trimmingCharacters(in: .whitespaces) }
        if action == .merge, let into = form["into"]?.first { command["into"] = into.trimmingCharacters(in: .whitespaces) }
        // Linking is done to the other report, into the incident this page's request leads.
        var commandTarget = id
        if action == .link {
            let report = (form["report"]?.first ?? "").trimmingCharacters(in: .whitespaces).lowercased()
            guard UUID(uuidString: report) != nil else {
                return try await requestPage(
                    request,
                    context: context,
                    error: en ? "Please give the request id of the report to link." : "请填写要并入的诉求编号。",
                    status: .badRequest
                )
            }
            command["into"] = id
            commandTarget = report
        }
        if action == .feedback, let satisfaction = form["satisfaction"]?.first { command["satisfaction"] = satisfaction }
        if action == .recategorize {
            command["category"] = (form["category"]?.first ?? "").trimmingCharacters(in: .whitespaces)
            if let suggested = form["suggested"]?.first, !suggested.isEmpty { command["suggested"] = suggested }
            if let confidence = form["confidence"]?.first.flatMap(Double.init) { command["suggestedConfidence"] = confidence }
        }
        if action == .claim || action == .resolve, session.unit?.tier == .district { command["unit"] = session.unit?.description }
        let key = form["key"]?.first.flatMap { UUID(uuidString: $0) }?.uuidString.lowercased() ?? UUID().uuidString.lowercased()
        let answer: Backend.Answer
        do {
            answer = try await backend.call(
                .POST,
                "routing",
                "/v1/requests/\(commandTarget)/commands",
                token: session.token,
                json: command,
                headers: ["Idempotency-Key": "web:\(key)"]
            )
        } catch {
            return try await requestPage(
                request,
                context: context,
                error: en ? "Not sent: the service is not reachable. Try again." : "未发送：服务暂时无法连接，请重试。",
                status: .serviceUnavailable
            )
        }
        if answer.status == 401 { return Self.redirect("/signin", cookies: visit.setCookies) }
        guard answer.ok else {
            return try await requestPage(
                request,
                context: context,
                error: (en ? "Not done: " : "未完成：") + (answer.problem ?? "\(answer.status)"),
                status: .ok
            )
        }
        // Escalated, returned, merged or reassigned away: back to the inbox; else the request again.
        let away: Set<StaffCommand.Action> = [.escalate, .return, .reassign, .reject, .merge]
        let target = away.contains(action) ? "/inbox?done=\(action.rawValue)" : "/requests/\(id)?done=\(action.rawValue)"
        return Self.redirect(target, cookies: visit.setCookies)
    }

    /// A photo's public copy from intake (re-encoded, no EXIF).
    func photo(context: GridLoopRequestContext, thumbnail: Bool) async throws -> Response {
        let id = (context.parameters.get("id") ?? "").lowercased()
        guard UUID(uuidString: id) != nil,
            let answer = try? await backend.call(.GET, "intake", "/v1/photos/\(id)\(thumbnail ? "/thumbnail" : "")", token: nil), answer.ok
        else {
            return Response(status: .notFound)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "image/jpeg", .cacheControl: "public, max-age=86400, immutable"],
            body: .init(byteBuffer: ByteBuffer(bytes: answer.body))
        )
    }

    static func eventName(_ type: String, language: String) -> String {
        let en = language == "en"
        let names: [String: (String, String)] = [
            "request.received": ("受理", "received"), "request.assigned": ("分派", "assigned"), "request.claimed": ("认领", "claimed"),
            "request.resolved": ("办结", "resolved"), "request.escalated": ("上报", "escalated"), "request.returned": ("退回协调", "returned"),
            "request.reassigned": ("改派", "reassigned"), "request.closed": ("结案", "closed"), "request.reopened": ("重办", "reopened"),
            "request.rejected": ("不予受理", "rejected"), "request.merged": ("合并", "merged"), "request.unlinked": ("移出事件", "taken out of the incident"),
            "request.summoned": ("吹哨", "summoned"),
            "request.summons.acknowledged": ("部门报到", "summons acknowledged"), "request.summons.done": ("部门办结", "summons done"),
            "contact.viewed": ("查看电话", "phone viewed"), "request.deadline.warning": ("时限预警", "deadline warning"),
            "request.overdue": ("超时", "overdue"),
            "request.street.informed": ("告知街道", "street informed"), "visit.logged": ("走访", "visit logged"), "photo.added": ("照片", "photo added"),
        ]
        guard let name = names[type] else { return type }
        return en ? name.1 : name.0
    }

    // MARK: HTTP helpers

    static func redirect(_ location: String, cookies: [String] = []) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        headers[.cacheControl] = "no-store"
        for cookie in cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: .seeOther, headers: headers)
    }

    static func asset(_ text: String, type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "public, max-age=300"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// The GET address of the page a request draws: a POST's page is its form's page; the
    /// inbox keeps its filter, cursor and unit (not the language, which the link sets).
    static func canonicalPath(_ request: Request) -> String {
        let path = request.uri.path
        if path.hasPrefix("/requests/"), path.hasSuffix("/act") { return String(path.dropLast(4)) }
        if path == "/signout" || path == "/signin" { return "/signin" }
        if path == "/report" || path.hasPrefix("/status/") { return path }
        if path.hasPrefix("/followup/"), let v = request.uri.queryParameters["v"], let s = request.uri.queryParameters["s"],
            Int(String(v)) != nil, s.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        {
            return "\(path)?v=\(v)&s=\(s)"
        }
        guard path == "/inbox" else { return path }
        var allowed = CharacterSet.alphanumerics.intersection(
            CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        )
        allowed.insert(charactersIn: "-:._")
        let kept = ["state", "cursor", "unit"].compactMap { name in
            request.uri.queryParameters[name].map { "\(name)=\(String($0).addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }
        }
        return kept.isEmpty ? path : path + "?" + kept.joined(separator: "&")
    }

    /// "Done: claim" for `?done=claim`: only an action's own label, never text from the link.
    static func doneNotice(_ request: Request, language: String) -> String? {
        guard let name = request.uri.queryParameters["done"].map(String.init) else { return nil }
        if let words = Pages.words(language)["done-\(name)"] { return words }
        guard let action = StaffCommand.Action(rawValue: name) else { return nil }
        return Pages.words(language)["done"]! + Pages.action(action, language: language).label
    }

    /// A form's fields (urlencoded, or multipart without its files).
    static func form(_ request: Request) async throws -> [String: [String]] {
        try await FormBody.read(request).fields
    }
}

/// Every page's security headers: a Content-Security-Policy with no inline script or style, no
/// framing, no sniffing, no referrer.
struct SecurityHeaders: RouterMiddleware {
    typealias Context = GridLoopRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[HTTPField.Name("Content-Security-Policy")!] =
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; manifest-src 'self'; worker-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        return response
    }
}
