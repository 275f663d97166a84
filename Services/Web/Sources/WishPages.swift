import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import HTTPTypes
import Hummingbird

/// 微心愿 on the staff pages: `/wishes` lists the wishes the person sees (by state), with the
/// clusters of similar wishes for street officers; `/wishes/new` collects one from a household
/// of the grid; `/wishes/{id}` shows one with the step its viewer may record now — adopted (by a
/// unit, an enterprise or a volunteer), fulfilled, confirmed with the resident.
extension WebController {
    /// The kinds of wish.
    static let wishKinds = ["meal", "care", "study", "repair", "other"]

    func wishesPage(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        guard let session = await session(&visit) else { return Self.redirect("/signin", cookies: visit.setCookies) }
        let language = visit.language
        let words = CommunityPages.words(language)
        let state = request.uri.queryParameters["state"].map(String.init).flatMap(WishState.init(rawValue:))
        if let state { visit.path = "/wishes?state=\(state.rawValue)" }
        let list: [[String: Any]]
        switch await fetch("/v1/wishes" + (state.map { "?state=\($0.rawValue)" } ?? ""), token: session.token, language: language) {
        case .signIn: return Self.redirect("/signin", cookies: visit.setCookies)
        case .failed(let message, let status): return communityMessage(visit, title: words["wishesTitle"]!, error: message, status: status)
        case .json(let json): list = json as? [[String: Any]] ?? (json as? [String: Any])?.objects("wishes") ?? []
        }
        let names = await orgNames()
        let rows = list.map { wish -> [String: Any] in
            let kind = wish.text("kind") ?? "other"
            let state = wish.text("state") ?? ""
            return [
                "id": wish.text("id") ?? "", "kind": words["wishKind-\(kind)"] ?? kind, "text": wish.text("text") ?? "",
                "household": wish.text("address", "householdAddress") ?? wish.text("householdId") ?? "",
                "grid": names.grid(wish.text("grid", "gridId") ?? ""), "state": words["wishState-\(state)"] ?? state,
                "confirmed": state == WishState.confirmed.rawValue,
            ]
        }.filter { CommunityForms.isSafeID($0["id"] as? String ?? "") }
        var model: [String: Any] = [
            "wishes": rows, "hasWishes": !rows.isEmpty,
            "filters": [["value": "", "label": words["all"]!, "active": state == nil]]
                + WishState.allCases.map { ["value": $0.rawValue, "label": words["wishState-\($0.rawValue)"]!, "active": $0 == state] },
        ]
        if Self.staffGrid(session) != nil { model["mayCollect"] = true }
        // The clusters of similar wishes, for the streets that act on them.
        if Self.publishes(session), case .json(let json) = await fetch("/v1/wishes/clusters", token: session.token, language: language) {
            let clusters = json as? [[String: Any]] ?? (json as? [String: Any])?.objects("clusters") ?? []
            let rows = clusters.map { cluster -> [String: Any] in
                let kind = cluster.text("kind") ?? "other"
                return [
                    "street": names.street(cluster.text("street", "streetId") ?? ""), "kind": words["wishKind-\(kind)"] ?? kind,
                    "open": "\(cluster.number("open") ?? 0)", "total": "\(cluster.number("total") ?? 0)",
                ]
            }
            model["clusters"] = rows
            model["hasClusters"] = !rows.isEmpty
            model["showClusters"] = true
        }
        return communityPage(visit, "wishes", model, title: words["wishesTitle"]!)
    }

    func wishNewPage(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        guard let session = await session(&visit) else { return Self.redirect("/signin", cookies: visit.setCookies) }
        let household = request.uri.queryParameters["household"].map(String.init) ?? ""
        return await drawWishForm(visit, session: session, values: ["key": Self.formKey(), "household": household, "kind": ""])
    }

    func drawWishForm(
        _ visit: Visit,
        session: Session,
        values: [String: Any],
        error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) async -> Response {
        var visit = visit
        visit.path = "/wishes/new"
        let words = CommunityPages.words(visit.language)
        guard let grid = Self.staffGrid(session) else {
            return communityMessage(visit, title: words["collectWish"]!, error: words["cOnlyGridStaff"], status: .forbidden)
        }
        let chosen = values["household"] as? String ?? ""
        let kind = values["kind"] as? String ?? ""
        var model = values
        let sheet = await gridSheet(grid, token: session.token)
        model["gridName"] = sheet?.name ?? grid
        model["households"] = (sheet?.households ?? []).map { ["hid": $0.id, "address": $0.address, "selected": $0.id == chosen] }
        model["kinds"] = Self.wishKinds.map { ["value": $0, "name": words["wishKind-\($0)"]!, "selected": $0 == kind] }
        return communityPage(visit, "wish-new", model, title: words["collectWish"]!, error: error, status: status)
    }

    /// `POST /wishes`: a wish collected from a household (the grid's staff), with the form's key.
    func wishCollect(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        visit.path = "/wishes/new"
        guard let session = await session(&visit) else { return Self.redirect("/signin", cookies: visit.setCookies) }
        let form = try await FormBody.read(request).fields
        let words = CommunityPages.words(visit.language)
        let key = Self.postedKey(form)
        let household = Self.field(form, "household")
        let kind = Self.field(form, "kind")
        let text = Self.field(form, "text")
        let values: [String: Any] = ["key": key, "household": household, "kind": kind, "text": text]
        guard checkCSRF(form, visit) else {
            return await drawWishForm(visit, session: session, values: values, error: words["expired"], status: .forbidden)
        }
        var problems: [String] = []
        if !UnitRef.isValidID(household) { problems.append(words["cChooseHousehold"]!) }
        if !Self.wishKinds.contains(kind) { problems.append(words["needWishKind"]!) }
        if text.isEmpty { problems.append(words["needWishText"]!) }
        guard problems.isEmpty else {
            return await drawWishForm(visit, session: session, values: values, error: problems.joined(separator: " "), status: .badRequest)
        }
        let json: [String: Any] = ["householdId": household, "kind": kind, "text": text]
        switch await send("/v1/wishes", session: session, json: json, key: "web-wish:\(key)", language: visit.language) {
        case .signIn: return Self.redirect("/signin", cookies: visit.setCookies)
        case .refused(let message, _): return await drawWishForm(visit, session: session, values: values, error: message)
        case .done(let answer):
            return toCreated(answer, area: "wishes", done: "collected", visit: visit)
        }
    }

    func wishPage(
        _ request: Request,
        context: GridLoopRequestContext,
        error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        var visit: Visit
        let session: Session
        let id: String
        let wish: [String: Any]
        switch await openItem(request, context: context, area: "wishes", titleKey: "wishesTitle") {
        case .answered(let response): return response
        case .open(let opened, let signedIn, let itemId, let loaded): (visit, session, id, wish) = (opened, signedIn, itemId, loaded)
        }
        let language = visit.language
        let words = CommunityPages.words(language)
        let names = await orgNames()
        let state = wish.text("state") ?? ""
        let kind = wish.text("kind") ?? "other"
        let grid = wish.text("grid", "gridId")
        let street = wish.text("street", "streetId") ?? grid.flatMap { names.streetOf[$0] }
        let reached = WishState.allCases.firstIndex { $0.rawValue == state } ?? -1
        var model: [String: Any] = [
            "wishId": id, "kind": words["wishKind-\(kind)"] ?? kind, "text": wish.text("text") ?? "",
            "household": wish.text("address", "householdAddress") ?? wish.text("householdId") ?? "",
            "householdId": wish.text("householdId") ?? "", "grid": grid.map(names.grid) ?? "", "state": words["wishState-\(state)"] ?? state,
            "steps": WishState.allCases.enumerated().map { index, step in
                ["name": words["wishState-\(step.rawValue)"]!, "done": index < reached, "current": index == reached]
            },
            "collected": "\(wish.text("collectedBy") ?? "") \(CommunityPages.when(wish.text("collectedAt")) ?? "")",
        ]
        if let name = wish.text("adopterName") {
            let adopterKind = wish.text("adopterKind") ?? ""
            model["adopted"] = "\(words["adopter-\(adopterKind)"] ?? adopterKind) · \(name) · \(CommunityPages.when(wish.text("adoptedAt")) ?? "")"
        }
        if let at = CommunityPages.when(wish.text("fulfilledAt")) {
            model["fulfilled"] = "\(wish.text("fulfilledBy") ?? "") \(at)"
            if let note = wish.text("fulfilmentNote", "fulfillmentNote", "note") { model["fulfilmentNote"] = note }
        }
        if let at = CommunityPages.when(wish.text("confirmedAt")) {
            model["confirmedWhen"] = "\(wish.text("confirmedBy") ?? "") \(at)"
            if let feedback = wish.text("residentFeedback", "feedback") { model["feedback"] = feedback }
        }
        if let step = WishSteps.available(state: state, grid: grid, street: street, role: session.role, unit: session.unit) {
            model["step" + step.rawValue.capitalized] = true
            model["adopterKinds"] = WishAdopterKind.allCases.map { ["value": $0.rawValue, "name": words["adopter-\($0.rawValue)"]!] }
        }
        let notice: String? =
            switch request.uri.queryParameters["done"].map(String.init) {
            case "collected": words["wishCollected"]
            case "adopt": words["wishAdopted"]
            case "fulfil": words["wishFulfilled"]
            case "confirm": words["wishConfirmed"]
            default: nil
            }
        return communityPage(visit, "wish", model, title: words["wishesTitle"]!, notice: notice, error: error, status: status)
    }

    /// `POST /wishes/{id}/adopt|fulfil|confirm`.
    func wishStep(_ request: Request, context: GridLoopRequestContext, step: WishSteps.Step) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        let (visit, session, form): (Visit, Session, [String: [String]])
        switch try await communityPost(
            request,
            page: "/wishes/\(id)",
            redraw: { _, error, status in try await wishPage(request, context: context, error: error, status: status) }
        ) {
        case .answer(let response): return response
        case .ready(let v, let s, let f): (visit, session, form) = (v, s, f)
        }
        let words = CommunityPages.words(visit.language)
        guard CommunityForms.isSafeID(id) else { return try await wishPage(request, context: context, error: words["cNotFound"], status: .notFound) }
        var json: [String: Any] = [:]
        switch step {
        case .adopt:
            guard let kind = WishAdopterKind(rawValue: Self.field(form, "adopterKind")), !Self.field(form, "adopterName").isEmpty else {
                return try await wishPage(request, context: context, error: words["needAdopter"], status: .badRequest)
            }
            json = ["adopterKind": kind.rawValue, "adopterName": Self.field(form, "adopterName")]
        case .fulfil:
            guard !Self.field(form, "note").isEmpty else {
                return try await wishPage(request, context: context, error: words["needFulfilNote"], status: .badRequest)
            }
            json = ["note": Self.field(form, "note")]
        case .confirm:
            if !Self.field(form, "feedback").isEmpty { json["feedback"] = Self.field(form, "feedback") }
        }
        switch await send("/v1/wishes/\(id)/\(step.rawValue)", session: session, json: json, language: visit.language) {
        case .signIn: return Self.redirect("/signin", cookies: visit.setCookies)
        case .refused(let message, _): return try await wishPage(request, context: context, error: message)
        case .done: return Self.redirect("/wishes/\(id)?done=\(step.rawValue)", cookies: visit.setCookies)
        }
    }
}

extension CommunityPages {
    static let wishTemplates: [String: String] = [
        "wishes": menuHTML + """
            <h1>{{t.wishesTitle}}</h1>
            <p class="hint">{{t.wishesHint}}</p>
            {{#mayCollect}}<p class="tools"><a class="button" href="/wishes/new">＋ {{t.collectWish}}</a></p>{{/mayCollect}}
            <nav class="filters">{{#filters}}<a href="/wishes{{#value}}?state={{value}}{{/value}}" class="chip{{#active}} active{{/active}}">{{label}}</a>{{/filters}}</nav>
            {{#showClusters}}<section class="card"><h2>{{t.clustersTitle}}</h2><p class="hint">{{t.clustersHint}}</p>
              {{#hasClusters}}<div class="scroll"><table><thead><tr><th>{{t.street}}</th><th>{{t.wishKind}}</th><th>{{t.openWishes}}</th><th>{{t.allWishes}}</th></tr></thead><tbody>
              {{#clusters}}<tr><td>{{street}}</td><td>{{kind}}</td><td>{{open}}</td><td>{{total}}</td></tr>{{/clusters}}</tbody></table></div>{{/hasClusters}}
              {{^hasClusters}}<p class="empty">{{t.noClusters}}</p>{{/hasClusters}}
            </section>{{/showClusters}}
            {{#hasWishes}}<ul class="items">{{#wishes}}<li class="item{{#confirmed}} done{{/confirmed}}"><a href="/wishes/{{id}}"><span class="head"><span class="category">{{kind}}</span><span class="state">{{state}}</span></span>
              <span class="description">{{text}}</span><span class="meta">{{household}} · {{grid}}</span></a></li>{{/wishes}}</ul>{{/hasWishes}}
            {{^hasWishes}}<p class="empty">{{t.noWishes}}</p>{{/hasWishes}}
            """,
        "wish-new": menuHTML + """
            <section class="card">
            <h1>{{t.collectWish}} <small>{{gridName}}</small></h1>
            <form method="post" action="/wishes" class="stack">
              <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="key" value="{{key}}">
              <label>{{t.household}}<select name="household" required><option value="">—</option>{{#households}}<option value="{{hid}}"{{#selected}} selected{{/selected}}>{{address}}</option>{{/households}}</select></label>
              <label>{{t.wishKind}}<select name="kind" required><option value="">—</option>{{#kinds}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/kinds}}</select></label>
              <label>{{t.wishText}}<textarea name="text" required maxlength="2000" rows="3">{{text}}</textarea></label>
              <button type="submit" class="primary">{{t.collectWish}}</button>
            </form>
            </section>
            """,
        "wish": menuHTML + """
            <p><a href="/wishes">← {{t.wishesTitle}}</a></p>
            <section class="card">
              <h1>{{kind}} <small class="state">{{state}}</small></h1>
              <ol class="steps">{{#steps}}<li class="{{#done}}done{{/done}}{{#current}}current{{/current}}">{{name}}</li>{{/steps}}</ol>
              <p class="description">{{text}}</p>
              <dl class="facts">
                <dt>{{t.household}}</dt><dd>{{household}} · {{grid}}</dd>
                <dt>{{t.wishState-collected}}</dt><dd>{{collected}}</dd>
                {{#adopted}}<dt>{{t.wishState-adopted}}</dt><dd>{{adopted}}</dd>{{/adopted}}
                {{#fulfilled}}<dt>{{t.wishState-fulfilled}}</dt><dd>{{fulfilled}}{{#fulfilmentNote}}<br><span class="detail">{{fulfilmentNote}}</span>{{/fulfilmentNote}}</dd>{{/fulfilled}}
                {{#confirmedWhen}}<dt>{{t.wishState-confirmed}}</dt><dd>{{confirmedWhen}}{{#feedback}}<br><span class="detail">{{feedback}}</span>{{/feedback}}</dd>{{/confirmedWhen}}
              </dl>
            </section>
            {{#stepAdopt}}<section class="card"><h2>{{t.adoptWish}}</h2>
              <form method="post" action="/wishes/{{wishId}}/adopt" class="stack"><input type="hidden" name="csrf" value="{{csrf}}">
                <label>{{t.adopterKind}}<select name="adopterKind" required>{{#adopterKinds}}<option value="{{value}}">{{name}}</option>{{/adopterKinds}}</select></label>
                <label>{{t.adopterName}}<input name="adopterName" required maxlength="200"></label>
                <button type="submit" class="primary">{{t.adoptWish}}</button></form></section>{{/stepAdopt}}
            {{#stepFulfil}}<section class="card"><h2>{{t.fulfilWish}}</h2>
              <form method="post" action="/wishes/{{wishId}}/fulfil" class="stack"><input type="hidden" name="csrf" value="{{csrf}}">
                <label>{{t.fulfilNote}}<textarea name="note" required maxlength="2000" rows="2"></textarea></label>
                <button type="submit" class="primary">{{t.fulfilWish}}</button></form></section>{{/stepFulfil}}
            {{#stepConfirm}}<section class="card"><h2>{{t.confirmWish}}</h2><p class="hint">{{t.confirmWishHint}}</p>
              <form method="post" action="/wishes/{{wishId}}/confirm" class="stack"><input type="hidden" name="csrf" value="{{csrf}}">
                <label>{{t.residentFeedback}}<textarea name="feedback" maxlength="2000" rows="2"></textarea></label>
                <button type="submit" class="primary">{{t.confirmWish}}</button></form></section>{{/stepConfirm}}
            """,
    ]
}
