import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore

/// The community half of the staff pages (#20): policy notices (`NoticePages.swift`),
/// consultations (`ConsultationPages.swift`), micro-wishes (`WishPages.swift`), green points
/// and the love supermarket (`PointsPages.swift`). Like every page, drawn on the server from
/// routing's API with the signed-in person's token (routing decides who may do what; the pages
/// only offer it), escaped, zh by default with en, every form with its CSRF token. Their
/// templates and words live in their own Mustache library, drawn inside the shared layout.
extension WebController {
    func addCommunityRoutes(to router: Router<GridLoopRequestContext>) {
        router.get("notices") { request, context in try await noticesPage(request, context: context) }
        router.get("notices/new") { request, context in try await noticeNewPage(request, context: context) }
        router.post("notices") { request, context in try await noticePublish(request, context: context) }
        router.get("notices/:id") { request, context in try await noticePage(request, context: context) }
        router.post("notices/:id/informs") { request, context in try await noticeInform(request, context: context) }
        router.get("n/:token") { request, context in try await noticeConfirmPage(request, context: context) }
        router.post("n/:token") { request, context in try await noticeConfirm(request, context: context) }
        router.get("consultations") { request, context in try await consultationsPage(request, context: context) }
        router.get("consultations/new") { request, context in try await consultationNewPage(request, context: context) }
        router.post("consultations") { request, context in try await consultationOpen(request, context: context) }
        router.get("consultations/:id") { request, context in try await consultationPage(request, context: context) }
        router.post("consultations/:id/positions") { request, context in try await consultationStep(request, context: context, step: "positions") }
        router.post("consultations/:id/meeting") { request, context in try await consultationStep(request, context: context, step: "meeting") }
        router.post("consultations/:id/close") { request, context in try await consultationStep(request, context: context, step: "close") }
        router.get("wishes") { request, context in try await wishesPage(request, context: context) }
        router.get("wishes/new") { request, context in try await wishNewPage(request, context: context) }
        router.post("wishes") { request, context in try await wishCollect(request, context: context) }
        router.get("wishes/:id") { request, context in try await wishPage(request, context: context) }
        // Literal paths, so that the OpenAPI drift check (deploy/tools/openapi-routes.py) sees each one.
        router.post("wishes/:id/adopt") { request, context in try await wishStep(request, context: context, step: .adopt) }
        router.post("wishes/:id/fulfil") { request, context in try await wishStep(request, context: context, step: .fulfil) }
        router.post("wishes/:id/confirm") { request, context in try await wishStep(request, context: context, step: .confirm) }
        router.get("points") { request, context in try await pointsPage(request, context: context) }
        router.get("points/households/:id") { request, context in try await pointsStatementPage(request, context: context) }
        router.get("points/scores") { request, context in try await scoresPage(request, context: context) }
        router.post("points/scores") { request, context in try await scoresPost(request, context: context) }
        router.get("points/shop") { request, context in try await shopPage(request, context: context) }
        router.post("points/donations") { request, context in try await shopPost(request, context: context, kind: "donation") }
        router.post("points/redemptions") { request, context in try await shopPost(request, context: context, kind: "redemption") }
    }

    // MARK: Drawing

    /// Draws a community template inside the shared layout, with the pages' and the community
    /// words as `t` and the community menu.
    func communityPage(
        _ visit: Visit,
        _ template: String,
        _ context: [String: Any],
        title: String,
        notice: String? = nil,
        error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) -> Response {
        var context = context
        context["t"] = CommunityPages.words(visit.language)
        context["csrf"] = visit.csrf
        if !visit.resident { context["menu"] = CommunityPages.menu(current: template, language: visit.language) }
        let content = CommunityPages.render(template, context)
        var outer = layout(visit, title: title, notice: notice, error: error)
        outer["content"] = content
        let html = Pages.library.render(outer, withTemplate: "layout") ?? content
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        for cookie in visit.setCookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// A page with only a message (and the way back).
    func communityMessage(_ visit: Visit, title: String, error: String?, status: HTTPResponse.Status) -> Response {
        communityPage(visit, "community-message", [:], title: title, error: error, status: status)
    }

    /// How an item's page (a notice, a consultation, a wish) starts: the person signed in, the
    /// path's id one routing could have issued, routing's JSON of it from `/v1/<area>/<id>`.
    enum ItemVisit {
        case open(Visit, Session, id: String, item: [String: Any])
        /// Not signed in, a bad id, or routing's refusal: this page instead.
        case answered(Response)
    }

    /// Opens the item `/<area>/<id>` names for its page; `titleKey` is the area's title word.
    func openItem(_ request: Request, context: GridLoopRequestContext, area: String, titleKey: String) async -> ItemVisit {
        var visit = visit(request)
        guard let session = await session(&visit) else { return .answered(Self.redirect("/signin", cookies: visit.setCookies)) }
        let words = CommunityPages.words(visit.language)
        let id = context.parameters.get("id") ?? ""
        visit.path = "/\(area)/\(id)"
        guard CommunityForms.isSafeID(id) else {
            return .answered(communityMessage(visit, title: words[titleKey]!, error: words["cNotFound"], status: .notFound))
        }
        switch await fetch("/v1/\(area)/\(id)", token: session.token, language: visit.language) {
        case .signIn: return .answered(Self.redirect("/signin", cookies: visit.setCookies))
        case .failed(let message, let status): return .answered(communityMessage(visit, title: words[titleKey]!, error: message, status: status))
        case .json(let json): return .open(visit, session, id: id, item: json as? [String: Any] ?? [:])
        }
    }

    /// After a creating form: to the new item's page (`?done=<done>`), or the area's list when
    /// routing's answer names no id.
    func toCreated(_ answer: Backend.Answer, area: String, done: String, visit: Visit) -> Response {
        let id = (try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])?.text("id") ?? ""
        return Self.redirect(CommunityForms.isSafeID(id) ? "/\(area)/\(id)?done=\(done)" : "/\(area)", cookies: visit.setCookies)
    }

    // MARK: Calling routing

    /// What routing answered a page's GET.
    enum Fetched {
        case json(Any)
        /// Not signed in any more.
        case signIn
        /// A message in words, and the status to draw it with.
        case failed(String, HTTPResponse.Status)
    }

    /// `GET path` on routing with `token`, its JSON or why not in words.
    func fetch(_ path: String, token: String?, language: String, client: String? = nil) async -> Fetched {
        let words = CommunityPages.words(language)
        let answer: Backend.Answer
        do { answer = try await backend.call(.GET, "routing", path, token: token, client: client) } catch {
            return .failed(words["unreachable"]!, .serviceUnavailable)
        }
        if answer.status == 401, token != nil { return .signIn }
        guard answer.ok else {
            let status = HTTPResponse.Status(code: answer.status)
            if answer.status == 404 { return .failed(words["cNotFound"]!, .notFound) }
            return .failed(answer.problem ?? "\(answer.status)", status)
        }
        guard let json = try? JSONSerialization.jsonObject(with: Data(answer.body), options: [.fragmentsAllowed]) else {
            return .failed(words["cUnreadable"]!, .badGateway)
        }
        return .json(json)
    }

    /// What routing answered a form's POST.
    enum Sent {
        case done(Backend.Answer)
        case signIn
        /// Not done: the message in words (routing's problem, named fields included).
        case refused(String, Backend.Answer?)
    }

    /// `POST path` on routing with the person's token and `json`.
    func send(_ path: String, session: Session, json: [String: Any], key: String? = nil, language: String) async -> Sent {
        let words = CommunityPages.words(language)
        let answer: Backend.Answer
        do {
            answer = try await backend.call(
                .POST,
                "routing",
                path,
                token: session.token,
                json: json,
                headers: key.map { ["Idempotency-Key": $0] } ?? [:]
            )
        } catch {
            return .refused(words["unreachable"]!, nil)
        }
        if answer.status == 401 { return .signIn }
        guard answer.ok else { return .refused(words["notDone"]! + CommunityPages.problemWords(answer, language: language), answer) }
        return .done(answer)
    }

    /// A posted form: the person signed in and the CSRF token matched; else the answer to give.
    enum Posted {
        case ready(Visit, Session, [String: [String]])
        case answer(Response)
    }

    /// Reads a staff form posted to a community page; `redraw` draws the page again with an error.
    func communityPost(
        _ request: Request,
        page path: String,
        redraw: (Visit, String, HTTPResponse.Status) async throws -> Response
    ) async throws -> Posted {
        var visit = visit(request)
        visit.path = path
        guard let session = await session(&visit) else { return .answer(Self.redirect("/signin", cookies: visit.setCookies)) }
        let form = try await FormBody.read(request).fields
        guard checkCSRF(form, visit) else { return .answer(try await redraw(visit, Pages.words(visit.language)["expired"]!, .forbidden)) }
        return .ready(visit, session, form)
    }

    // MARK: The org

    /// Grid and street names by id (ids themselves when routing cannot be asked).
    struct OrgNames {
        var grids: [String: String] = [:]
        var streets: [String: String] = [:]
        /// Each grid's street.
        var streetOf: [String: String] = [:]
        var summary: OrgSheets.Summary?

        func grid(_ id: String) -> String { grids[id] ?? id }
        func street(_ id: String) -> String { streets[id] ?? id }
    }

    func orgNames() async -> OrgNames {
        let summary = await orgSummary()
        var names = OrgNames(summary: summary)
        for grid in summary?.grids ?? [] {
            names.grids[grid.id] = grid.name
            names.streetOf[grid.id] = grid.street
        }
        for street in summary?.streets ?? [] { names.streets[street.id] = street.name }
        return names
    }

    /// The publish form's choice of grids (notices, consultations): a street officer's street's
    /// grids; a supervisor's every street and grid.
    func gridChooser(_ session: Session, names: OrgNames, language: String) -> [String: Any] {
        let words = CommunityPages.words(language)
        let own = session.role == "street-officer" && session.unit?.tier == .street ? session.unit?.id : nil
        let grids = (names.summary?.grids ?? []).filter { own == nil || $0.street == own }
        var chooser: [String: Any] = [
            "grids": grids.map { ["id": $0.id, "name": "\(names.street($0.street)) · \($0.name)"] },
            "kinds": CommunityForms.gridKinds.map { ["id": $0, "name": words["kind-\($0)"] ?? $0] },
        ]
        if let own {
            chooser["ownStreet"] = names.street(own)
        } else {
            chooser["streets"] = (names.summary?.streets ?? []).map { ["id": $0.id, "name": $0.name] }
            chooser["hasStreets"] = !(names.summary?.streets ?? []).isEmpty
        }
        return chooser
    }

    /// Whether the person publishes notices and opens consultations (routing checks the grids).
    static func publishes(_ session: Session) -> Bool {
        session.role == "supervisor" || (session.role == "street-officer" && session.unit?.tier == .street)
    }

    /// The grid whose staff the person is, if any.
    static func staffGrid(_ session: Session) -> String? {
        guard ["grid-worker", "grid-leader"].contains(session.role), session.unit?.tier == .grid else { return nil }
        return session.unit?.id
    }

    /// A field of a form, trimmed.
    static func field(_ form: [String: [String]], _ name: String) -> String {
        (form[name]?.first ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A fresh idempotency key for a creating form (the page's script makes a new one on each load too).
    static func formKey() -> String { UUID().uuidString.lowercased() }

    /// The form's key as sent (a UUID), or a fresh one.
    static func postedKey(_ form: [String: [String]]) -> String {
        UUID(uuidString: field(form, "key"))?.uuidString.lowercased() ?? formKey()
    }
}

/// Loose reading of routing's JSON: the pages draw what they find and tolerate fields they do
/// not know (or an older routing's missing ones).
extension Dictionary where Key == String, Value == Any {
    /// The first of `keys` that holds a non-empty string.
    func text(_ keys: String...) -> String? {
        for key in keys { if let value = self[key] as? String, !value.isEmpty { return value } }
        return nil
    }

    /// The first of `keys` that holds a number.
    func number(_ keys: String...) -> Int? {
        for key in keys {
            switch self[key] {
            case let value as Int: return value
            case let value as Double: return Int(value)
            case let value as NSNumber: return value.intValue
            case let value as String: if let int = Int(value) { return int }
            default: continue
            }
        }
        return nil
    }

    func flag(_ key: String) -> Bool { (self[key] as? Bool) ?? ((self[key] as? NSNumber)?.boolValue ?? false) }

    func object(_ key: String) -> [String: Any]? { self[key] as? [String: Any] }

    func objects(_ key: String) -> [[String: Any]] { self[key] as? [[String: Any]] ?? [] }
}

/// The community pages' templates, words and little formatting rules.
package enum CommunityPages {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in templates { try! library.register(text, named: name) }
        return library
    }()

    /// Renders community template `name` with `context` (without the layout).
    package static func render(_ name: String, _ context: [String: Any]) -> String {
        library.render(context, withTemplate: name) ?? ""
    }

    /// Every community template (for the words check).
    package static var templates: [String: String] {
        var all = noticeTemplates
        all.merge(consultationTemplates) { first, _ in first }
        all.merge(wishTemplates) { first, _ in first }
        all.merge(pointsTemplates) { first, _ in first }
        all["community-message"] = "<p><a href=\"/inbox\">← {{t.backToInbox}}</a></p>"
        return all
    }

    /// The pages' words and the community words together (the layout reads `t.signOut`).
    package static func words(_ language: String) -> [String: String] {
        language == "en" ? mergedEnglish : mergedChinese
    }

    static let mergedChinese = Pages.words("zh").merging(chinese) { _, own in own }
    static let mergedEnglish = Pages.words("en").merging(english) { _, own in own }

    /// The menu of the community pages, the current one marked.
    static func menu(current template: String, language: String) -> [[String: Any]] {
        let words = Self.words(language)
        let entries: [(String, String, String)] = [
            ("/notices", "noticesTitle", "notice"), ("/consultations", "consultationsTitle", "consultation"),
            ("/wishes", "wishesTitle", "wish"), ("/points", "pointsTitle", "point"),
        ]
        return entries.map { href, word, prefix in ["href": href, "label": words[word]!, "active": template.hasPrefix(prefix)] }
    }

    /// Routing's problem in words: its detail, and each named field with its message.
    static func problemWords(_ answer: Backend.Answer, language: String) -> String {
        if answer.status == 403, let problem = answer.problem, !problem.isEmpty { return words(language)["cRefused"]! + problem }
        if answer.status == 409, code(answer) == "conflict" { return words(language)["cConflict"]! + (answer.problem.map { " (\($0))" } ?? "") }
        return answer.problem ?? "\(answer.status)"
    }

    /// The problem JSON's `code`.
    static func code(_ answer: Backend.Answer) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])?["code"] as? String
    }

    /// A timestamp from routing in Beijing time (`yyyy-MM-dd HH:mm`), or as given.
    static func when(_ text: String?) -> String? {
        guard let text, !text.isEmpty else { return nil }
        return Timestamp.parse(text).map(WebController.localTime) ?? text
    }

    /// The text in the page's language: the English one when asked and given, else the Chinese.
    static func pick(_ zh: String?, _ en: String?, language: String) -> String {
        language == "en" ? (en?.isEmpty == false ? en! : zh ?? "") : (zh ?? en ?? "")
    }

    /// Attachments as links (`http(s)` only; others shown by name).
    static func attachmentRows(_ list: [[String: Any]]) -> [[String: Any]] {
        list.map { item in
            let name = item.text("name") ?? item.text("url") ?? "—"
            var row: [String: Any] = ["name": name]
            if let href = item.text("url").flatMap(CommunityForms.safeLink) { row["href"] = href }
            return row
        }
    }

    /// A coverage row (`TaskCoverage.Row`: `checked` counts the households informed) as a table row.
    static func coverageRow(_ row: [String: Any], name: String) -> [String: Any] {
        let households = row.number("households") ?? 0
        let informed = row.number("checked", "informed") ?? 0
        return [
            "name": name, "informed": "\(informed)/\(households)", "onTime": "\(row.number("onTime") ?? 0)",
            "percent": "\(households == 0 ? 0 : informed * 100 / households)", "complete": households > 0 && informed >= households,
        ]
    }

    /// The community pages' own style: tables, the menu, a household's forms side by side.
    static let css = """
        .cmenu{display:flex;gap:6px;overflow-x:auto;margin:4px 0 8px;padding-bottom:2px}
        .cmenu a{white-space:nowrap;padding:6px 12px;border-radius:16px;background:#fff;border:1px solid #c9d2db;color:#1d2733;text-decoration:none}
        .cmenu a.active{background:#0b5cad;color:#fff;border-color:#0b5cad}
        .scroll{overflow-x:auto}.scroll table{border-collapse:collapse;width:100%;font-size:.92em}
        .scroll th,.scroll td{padding:6px 8px;border-bottom:1px solid #e3e8ee;text-align:left;white-space:nowrap}.scroll tr.total td{font-weight:700}
        .ways{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin-top:6px}.ways form{margin:0}
        .ways .sms{display:flex;gap:6px;align-items:center;flex:1 1 220px}.ways .sms input{flex:1;min-width:0}
        .household{padding:10px 12px}.household .addr{font-weight:600}.household .stack{margin:6px 0 0}
        .scores{display:grid;grid-template-columns:repeat(5,minmax(0,1fr));gap:4px}.scores input{padding:8px 4px;text-align:center}
        .scores-head{display:grid;grid-template-columns:repeat(5,minmax(0,1fr));gap:4px;font-size:.72em;color:#556;text-align:center}
        .receipt{white-space:pre-wrap;font-family:ui-monospace,monospace;background:#f7f9fb;border:1px dashed #9fb3c8;padding:10px;border-radius:6px}
        .tally{display:flex;flex-direction:column;gap:4px}.tally .bar-row{display:grid;grid-template-columns:minmax(4em,auto) 1fr auto;gap:8px;align-items:center}
        .tally progress{width:100%}.reached{color:#2e7d32;font-weight:700}.notreached{color:#9a6b00;font-weight:600}
        .bilingual{border-top:1px dashed #c9d2db;margin-top:8px;padding-top:6px;color:#35495e}
        .confirm-button{width:100%;font-size:1.1em;min-height:52px}
        """
}
