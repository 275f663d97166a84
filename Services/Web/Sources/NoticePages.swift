import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import HTTPTypes
import Hummingbird

/// 上情下达 on the staff pages: `/notices` lists the notices reaching the person with their
/// coverage; `/notices/{id}` shows one (zh and en, attachments, due day, coverage per grid)
/// and, for a grid's staff, the grid's households each with three ways to inform it — on a
/// visit, by phone, or by an SMS whose link the resident taps (`/n/{token}`, public, one
/// button). Street officers and supervisors publish from `/notices/new`.
extension WebController {
    func noticesPage(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        guard let session = await session(&visit) else { return Self.redirect("/signin", cookies: visit.setCookies) }
        let words = CommunityPages.words(visit.language)
        let list: [[String: Any]]
        switch await fetch("/v1/notices", token: session.token, language: visit.language) {
        case .signIn: return Self.redirect("/signin", cookies: visit.setCookies)
        case .failed(let message, let status): return communityMessage(visit, title: words["noticesTitle"]!, error: message, status: status)
        case .json(let json): list = json as? [[String: Any]] ?? []
        }
        let own = Self.staffGrid(session)
        let rows = list.map { notice -> [String: Any] in
            let coverage = notice.object("coverage") ?? [:]
            let mine = coverage.objects("grids").first { own != nil && $0.text("key") == own }
            let shown = CommunityPages.coverageRow(mine ?? coverage.object("all") ?? [:], name: "")
            return [
                "id": notice.text("id") ?? "",
                "title": CommunityPages.pick(notice.text("title"), notice.text("titleEn"), language: visit.language),
                "dueOn": notice.text("dueOn") ?? "", "informed": shown["informed"]!, "percent": shown["percent"]!, "complete": shown["complete"]!,
            ]
        }.filter { CommunityForms.isSafeID($0["id"] as? String ?? "") }
        var model: [String: Any] = ["notices": rows, "hasNotices": !rows.isEmpty]
        if Self.publishes(session) { model["mayPublish"] = true }
        return communityPage(visit, "notices", model, title: words["noticesTitle"]!)
    }

    func noticeNewPage(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        guard let session = await session(&visit) else { return Self.redirect("/signin", cookies: visit.setCookies) }
        return await drawNoticeForm(visit, session: session, values: ["key": Self.formKey()])
    }

    func drawNoticeForm(
        _ visit: Visit,
        session: Session,
        values: [String: Any],
        problems: [String] = [],
        error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) async -> Response {
        var visit = visit
        visit.path = "/notices/new"
        let words = CommunityPages.words(visit.language)
        guard Self.publishes(session) else {
            return communityMessage(visit, title: words["publishNotice"]!, error: words["cOnlyStreets"], status: .forbidden)
        }
        var model = values
        model["chooser"] = gridChooser(session, names: await orgNames(), language: visit.language)
        model["problems"] = problems
        model["hasProblems"] = !problems.isEmpty
        return communityPage(visit, "notice-new", model, title: words["publishNotice"]!, error: error, status: status)
    }

    /// `POST /notices`: publish (street officers, supervisors), with the form's idempotency key.
    func noticePublish(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        visit.path = "/notices/new"
        guard let session = await session(&visit) else { return Self.redirect("/signin", cookies: visit.setCookies) }
        let form = try await FormBody.read(request).fields
        let language = visit.language
        let words = CommunityPages.words(language)
        func f(_ name: String) -> String { Self.field(form, name) }
        let key = Self.postedKey(form)
        let values: [String: Any] = [
            "title": f("title"), "titleEn": f("titleEn"), "body": f("body"), "bodyEn": f("bodyEn"), "attachments": f("attachments"),
            "dueOn": f("dueOn"), "key": key,
        ]
        guard checkCSRF(form, visit) else {
            return await drawNoticeForm(visit, session: session, values: values, error: words["expired"], status: .forbidden)
        }
        let (attachments, attachmentProblems) = CommunityForms.attachments(f("attachments"), language: language)
        var problems = attachmentProblems
        if f("title").isEmpty { problems.append(words["needTitle"]!) }
        if f("body").isEmpty { problems.append(words["needBody"]!) }
        if f("dueOn").isEmpty { problems.append(words["needDueOn"]!) }
        guard problems.isEmpty else {
            return await drawNoticeForm(visit, session: session, values: values, problems: problems, status: .badRequest)
        }
        var json: [String: Any] = ["title": f("title"), "body": f("body"), "dueOn": f("dueOn"), "attachments": attachments]
        if !f("titleEn").isEmpty { json["titleEn"] = f("titleEn") }
        if !f("bodyEn").isEmpty { json["bodyEn"] = f("bodyEn") }
        json.merge(CommunityForms.gridChoice(street: f("street"), kind: f("kind"), grids: form["grids"] ?? [])) { _, chosen in chosen }
        switch await send("/v1/notices", session: session, json: json, key: "web-notice:\(key)", language: language) {
        case .signIn: return Self.redirect("/signin", cookies: visit.setCookies)
        case .refused(let message, _): return await drawNoticeForm(visit, session: session, values: values, error: message)
        case .done(let answer):
            return toCreated(answer, area: "notices", done: "published", visit: visit)
        }
    }

    func noticePage(
        _ request: Request,
        context: GridLoopRequestContext,
        error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        var visit: Visit
        let id: String
        let notice: [String: Any]
        switch await openItem(request, context: context, area: "notices", titleKey: "noticesTitle") {
        case .answered(let response): return response
        case .open(let opened, _, let itemId, let loaded): (visit, id, notice) = (opened, itemId, loaded)
        }
        let language = visit.language
        let words = CommunityPages.words(language)
        let names = await orgNames()
        let en = language == "en"
        let title = CommunityPages.pick(notice.text("title"), notice.text("titleEn"), language: language)
        let body = CommunityPages.pick(notice.text("body"), notice.text("bodyEn"), language: language)
        // The other language's text too, when there is one.
        let otherTitle = en ? notice.text("title") : notice.text("titleEn")
        let otherBody = en ? notice.text("body") : notice.text("bodyEn")
        let coverage = notice.object("coverage") ?? [:]
        let households = notice.objects("households").map { household -> [String: Any] in
            var row: [String: Any] = ["hid": household.text("id") ?? "", "address": household.text("address") ?? household.text("id") ?? ""]
            if household.flag("informed") {
                let via = household.text("via") ?? ""
                row["informed"] = [
                    "via": words["via-\(via)"] ?? via, "by": household.text("informedBy") ?? "",
                    "at": CommunityPages.when(household.text("informedAt")) ?? "",
                ]
            } else {
                row["open"] = true
                if let sent = CommunityPages.when(household.text("smsSentAt")) { row["smsSent"] = sent }
            }
            return row
        }.filter { UnitRef.isValidID($0["hid"] as? String ?? "") }
        var model: [String: Any] = [
            "noticeId": id, "title": title, "body": body, "dueOn": notice.text("dueOn") ?? "",
            "publishedBy": notice.text("publishedBy") ?? "", "publishedByUnit": notice.text("publishedByUnit") ?? "",
            "createdAt": CommunityPages.when(notice.text("createdAt")) ?? "",
            "attachments": CommunityPages.attachmentRows(notice.objects("attachments")),
            "hasAttachments": !notice.objects("attachments").isEmpty,
            "grids": coverage.objects("grids").map { CommunityPages.coverageRow($0, name: names.grid($0.text("key") ?? "")) },
            "streets": coverage.objects("streets").map { CommunityPages.coverageRow($0, name: names.street($0.text("key") ?? "")) },
            "all": CommunityPages.coverageRow(coverage.object("all") ?? [:], name: words["all"]!),
            "households": households, "hasHouseholds": !households.isEmpty,
            "left": "\(households.filter { $0["open"] != nil }.count)",
        ]
        if let otherTitle, otherTitle != title || (otherBody != nil && otherBody != body) {
            model["other"] = ["otherTitle": otherTitle, "otherBody": otherBody ?? "", "otherLang": en ? "zh-CN" : "en"]
        }
        let flash: String? =
            switch request.uri.queryParameters["done"].map(String.init) {
            case "published": words["noticePublished"]
            case "informed": words["householdInformed"]
            case "unchanged": words["alreadyInformed"]
            case "sms": words["smsSent"]
            default: nil
            }
        return communityPage(
            visit,
            "notice",
            model,
            title: title.isEmpty ? words["noticesTitle"]! : title,
            notice: flash,
            error: error,
            status: status
        )
    }

    /// `POST /notices/{id}/informs`: a household informed on a visit or by phone, or an SMS sent
    /// to the number given (the household counts once the resident confirms).
    func noticeInform(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        let (visit, session, form): (Visit, Session, [String: [String]])
        switch try await communityPost(
            request,
            page: "/notices/\(id)",
            redraw: { _, error, status in
                try await noticePage(request, context: context, error: error, status: status)
            }
        ) {
        case .answer(let response): return response
        case .ready(let v, let s, let f): (visit, session, form) = (v, s, f)
        }
        let words = CommunityPages.words(visit.language)
        let household = Self.field(form, "household")
        let via = InformVia(rawValue: Self.field(form, "via"))
        guard CommunityForms.isSafeID(id), UnitRef.isValidID(household), let via else {
            return try await noticePage(request, context: context, error: words["cChooseHousehold"], status: .badRequest)
        }
        var json: [String: Any] = ["householdId": household, "via": via.rawValue]
        if via == .sms {
            let phone = Self.field(form, "phone")
            guard phone.filter(\.isNumber).count >= 11 else {
                return try await noticePage(request, context: context, error: words["needMobile"], status: .badRequest)
            }
            json["phone"] = phone
        }
        let note = Self.field(form, "note")
        if !note.isEmpty { json["note"] = note }
        switch await send("/v1/notices/\(id)/informs", session: session, json: json, language: visit.language) {
        case .signIn: return Self.redirect("/signin", cookies: visit.setCookies)
        case .refused(let message, _): return try await noticePage(request, context: context, error: message)
        case .done(let answer):
            let done = via == .sms ? "sms" : answer.status == 200 ? "unchanged" : "informed"
            return Self.redirect("/notices/\(id)?done=\(done)", cookies: visit.setCookies)
        }
    }

    // MARK: The resident's confirm link (public)

    /// `GET /n/{token}`: the notice the SMS was about, with one button.
    func noticeConfirmPage(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        visit.resident = true
        let token = context.parameters.get("token") ?? ""
        return await drawConfirm(
            visit,
            token: token,
            client: context.client(of: request, trusting: trustedProxies),
            thanks: request.uri.queryParameters["done"] != nil
        )
    }

    func drawConfirm(
        _ visit: Visit,
        token: String,
        client: String?,
        thanks: Bool = false,
        error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) async -> Response {
        let words = CommunityPages.words(visit.language)
        guard CommunityForms.isSafeToken(token) else {
            return communityPage(visit, "notice-confirm", [:], title: words["confirmTitle"]!, error: words["badLink"], status: .notFound)
        }
        let notice: [String: Any]
        switch await fetch("/v1/notices/confirm/\(token)", token: nil, language: visit.language, client: client) {
        case .signIn: return communityPage(visit, "notice-confirm", [:], title: words["confirmTitle"]!, error: words["badLink"], status: .notFound)
        case .failed(let message, let status):
            return communityPage(
                visit,
                "notice-confirm",
                [:],
                title: words["confirmTitle"]!,
                error: status == .notFound ? words["badLink"] : message,
                status: status
            )
        case .json(let json): notice = json as? [String: Any] ?? [:]
        }
        let title = CommunityPages.pick(notice.text("title"), notice.text("titleEn"), language: visit.language)
        let model: [String: Any] = [
            "shown": true, "token": token, "title": title,
            "body": CommunityPages.pick(notice.text("body"), notice.text("bodyEn"), language: visit.language),
            "attachments": CommunityPages.attachmentRows(notice.objects("attachments")),
            "hasAttachments": !notice.objects("attachments").isEmpty, "confirmed": notice.flag("confirmed"),
        ]
        return communityPage(
            visit,
            "notice-confirm",
            model,
            title: words["confirmTitle"]!,
            notice: thanks ? words["confirmThanks"] : nil,
            error: error,
            status: status
        )
    }

    /// `POST /n/{token}`: 我已知晓 — to routing with the link's token (no account).
    func noticeConfirm(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        visit.resident = true
        let token = context.parameters.get("token") ?? ""
        visit.path = "/n/\(token)"
        let words = CommunityPages.words(visit.language)
        let client = context.client(of: request, trusting: trustedProxies)
        let form = try await Self.form(request)
        guard CommunityForms.isSafeToken(token) else {
            return communityPage(visit, "notice-confirm", [:], title: words["confirmTitle"]!, error: words["badLink"], status: .notFound)
        }
        guard checkCSRF(form, visit) else {
            return await drawConfirm(visit, token: token, client: client, error: words["confirmExpired"], status: .forbidden)
        }
        let answer: Backend.Answer
        do { answer = try await backend.call(.POST, "routing", "/v1/notices/confirm/\(token)", token: nil, json: [:], client: client) } catch {
            return await drawConfirm(visit, token: token, client: client, error: words["unreachable"], status: .serviceUnavailable)
        }
        guard answer.ok else {
            if answer.status == 404 {
                return communityPage(visit, "notice-confirm", [:], title: words["confirmTitle"]!, error: words["badLink"], status: .notFound)
            }
            return await drawConfirm(visit, token: token, client: client, error: answer.problem ?? "\(answer.status)", status: .ok)
        }
        return Self.redirect("/n/\(token)?done=1", cookies: visit.setCookies)
    }
}

extension CommunityPages {
    /// The community pages' menu, atop every staff page of theirs.
    static let menuHTML = """
        <nav class="cmenu"><a href="/inbox">{{t.inboxTitle}}</a>{{#menu}}<a href="{{href}}"{{#active}} class="active"{{/active}}>{{label}}</a>{{/menu}}</nav>
        """

    /// The grid choice of the publish forms (notices, consultations).
    static let chooserHTML = """
        {{#chooser}}<fieldset><legend>{{t.chooseGrids}}</legend>
          {{#ownStreet}}<p class="hint">{{t.streetGridsHint}} {{ownStreet}}</p>{{/ownStreet}}
          {{#hasStreets}}<label>{{t.street}}<select name="street"><option value="">{{t.allStreets}}</option>{{#streets}}<option value="{{id}}">{{name}}</option>{{/streets}}</select></label>{{/hasStreets}}
          <label>{{t.gridKind}}<select name="kind"><option value="">{{t.allKinds}}</option>{{#kinds}}<option value="{{id}}">{{name}}</option>{{/kinds}}</select></label>
          <details class="more"><summary>{{t.pickGrids}}</summary>
          {{#grids}}<label class="check"><input type="checkbox" name="grids" value="{{id}}"> {{name}}</label>{{/grids}}</details>
        </fieldset>{{/chooser}}
        """

    static let noticeTemplates: [String: String] = [
        "notices": menuHTML + """
            <h1>{{t.noticesTitle}}</h1>
            <p class="hint">{{t.noticesHint}}</p>
            {{#mayPublish}}<p class="tools"><a class="button" href="/notices/new">＋ {{t.publishNotice}}</a></p>{{/mayPublish}}
            {{#hasNotices}}<ul class="items">{{#notices}}<li class="item{{#complete}} done{{/complete}}"><a href="/notices/{{id}}"><strong>{{title}}</strong>
              <small>{{t.dueBy}} {{dueOn}} · {{t.informedCount}} {{informed}}</small> <progress max="100" value="{{percent}}">{{percent}}%</progress></a></li>{{/notices}}</ul>{{/hasNotices}}
            {{^hasNotices}}<p class="empty">{{t.noNotices}}</p>{{/hasNotices}}
            """,
        "notice-new": menuHTML + """
            <section class="card">
            <h1>{{t.publishNotice}}</h1>
            {{#hasProblems}}<ul class="error" role="alert">{{#problems}}<li>{{.}}</li>{{/problems}}</ul>{{/hasProblems}}
            <form method="post" action="/notices" class="stack">
              <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="key" value="{{key}}">
              <label>{{t.noticeTitle}}<input name="title" value="{{title}}" required maxlength="200"></label>
              <label>{{t.noticeTitleEn}}<input name="titleEn" value="{{titleEn}}" maxlength="200" lang="en"></label>
              <label>{{t.noticeBody}}<textarea name="body" required maxlength="8000" rows="6">{{body}}</textarea></label>
              <label>{{t.noticeBodyEn}}<textarea name="bodyEn" maxlength="8000" rows="4" lang="en">{{bodyEn}}</textarea></label>
              <label>{{t.attachmentsField}}<textarea name="attachments" maxlength="4000" rows="2" placeholder="通知原文 https://…">{{attachments}}</textarea></label>
              <p class="hint">{{t.attachmentsHint}}</p>
              <label>{{t.informBy}}<input name="dueOn" type="date" value="{{dueOn}}" required></label>
            """ + chooserHTML + """
                  <button type="submit" class="primary">{{t.publishNotice}}</button>
                </form>
                </section>
                """,
        "notice": menuHTML + """
            <p><a href="/notices">← {{t.noticesTitle}}</a></p>
            <section class="card">
              <h1>{{title}}</h1>
              <p class="description">{{body}}</p>
              {{#hasAttachments}}<ul>{{#attachments}}<li>{{#href}}<a href="{{href}}" rel="noopener noreferrer">{{name}}</a>{{/href}}{{^href}}{{name}}{{/href}}</li>{{/attachments}}</ul>{{/hasAttachments}}
              {{#other}}<div class="bilingual" lang="{{otherLang}}"><strong>{{otherTitle}}</strong><p class="description">{{otherBody}}</p></div>{{/other}}
              <p><small>{{t.informBy}} {{dueOn}} · {{publishedByUnit}} {{publishedBy}} · {{createdAt}}</small></p>
            </section>
            {{#hasHouseholds}}<section class="card"><h2>{{t.ourHouseholds}} <small>{{t.householdsLeft}} {{left}}</small></h2><ul class="items">
            {{#households}}<li class="item household"><span class="addr">{{address}}</span> <small>{{hid}}</small>
              {{#informed}}<br><span class="ok">✓ {{t.informedWord}} · {{via}} · {{by}} · {{at}}</span>{{/informed}}
              {{#open}}{{#smsSent}}<br><span class="hint">{{t.smsWaiting}} {{smsSent}}</span>{{/smsSent}}
              <div class="ways">
                <form method="post" action="/notices/{{noticeId}}/informs"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="household" value="{{hid}}"><input type="hidden" name="via" value="visit"><button type="submit">{{t.informVisit}}</button></form>
                <form method="post" action="/notices/{{noticeId}}/informs"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="household" value="{{hid}}"><input type="hidden" name="via" value="phone"><button type="submit">{{t.informPhone}}</button></form>
                <form method="post" action="/notices/{{noticeId}}/informs" class="sms"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="household" value="{{hid}}"><input type="hidden" name="via" value="sms"><input name="phone" type="tel" inputmode="tel" maxlength="20" required autocomplete="off" placeholder="{{t.mobile}}" aria-label="{{t.mobile}}"><button type="submit">{{t.informSMS}}</button></form>
              </div>{{/open}}</li>{{/households}}
            </ul></section>{{/hasHouseholds}}
            <section class="card"><h2>{{t.coverage}}</h2><div class="scroll"><table><thead><tr><th>{{t.grid}}</th><th>{{t.informedCount}}</th><th>{{t.onTime}}</th><th>%</th></tr></thead><tbody>
            {{#grids}}<tr><td>{{name}}</td><td>{{informed}}</td><td>{{onTime}}</td><td>{{percent}}%{{#complete}} ✓{{/complete}}</td></tr>{{/grids}}
            {{#streets}}<tr class="total"><td>{{name}}</td><td>{{informed}}</td><td>{{onTime}}</td><td>{{percent}}%{{#complete}} ✓{{/complete}}</td></tr>{{/streets}}
            {{#all}}<tr class="total"><td>{{name}}</td><td>{{informed}}</td><td>{{onTime}}</td><td>{{percent}}%</td></tr>{{/all}}
            </tbody></table></div></section>
            """,
        "notice-confirm": """
        <section class="card narrow">
          {{#shown}}<h1>{{title}}</h1>
          <p class="description">{{body}}</p>
          {{#hasAttachments}}<ul>{{#attachments}}<li>{{#href}}<a href="{{href}}" rel="noopener noreferrer">{{name}}</a>{{/href}}{{^href}}{{name}}{{/href}}</li>{{/attachments}}</ul>{{/hasAttachments}}
          {{#confirmed}}<p class="notice" role="status">{{t.confirmDone}}</p>{{/confirmed}}
          {{^confirmed}}<form method="post" action="/n/{{token}}" class="stack">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <button type="submit" class="primary confirm-button">{{t.iHaveRead}}</button>
          </form>{{/confirmed}}{{/shown}}
          <p class="hint">{{t.confirmHint}}</p>
        </section>
        """,
    ]
}
