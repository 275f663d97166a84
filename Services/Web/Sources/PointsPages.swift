import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import HTTPTypes
import Hummingbird

/// 绿币 and the 爱心超市 on the staff pages: `/points` shows a grid's households with their
/// balances (and a grid worker's own statement), `/points/households/{id}` one household's
/// statement; `/points/scores` enters a month's five-item scores (a form per household, or CSV
/// pasted); `/points/shop` shows the street's goods with their stock, takes donations, and
/// redeems goods for a household — the receipt, or the refusal in words (积分不足 / 库存不足).
extension WebController {
    /// The grid a points page is about: a grid's staff their own; others the one chosen
    /// (`?grid=`), which routing lets them read or not.
    func pointsGrid(_ session: Session, asked: String?) -> String? {
        if let own = Self.staffGrid(session) { return own }
        return asked.flatMap { UnitRef.isValidID($0) ? $0 : nil }
    }

    /// The grids a person without a grid of her own may choose (a street's, or all).
    func gridOptions(_ session: Session, names: OrgNames, chosen: String?) -> [[String: Any]] {
        guard Self.staffGrid(session) == nil else { return [] }
        let street = session.unit?.tier == .street ? session.unit?.id : nil
        return (names.summary?.grids ?? []).filter { street == nil || $0.street == street }.map {
            ["id": $0.id, "name": "\(names.street($0.street)) · \($0.name)", "selected": $0.id == chosen]
        }
    }

    /// An account's statement from routing: balance and entries (`nil` when it cannot be read).
    func statement(_ account: String, token: String, language: String) async -> [String: Any]? {
        guard case .json(let json) = await fetch("/v1/points/statements/\(account)", token: token, language: language) else { return nil }
        return json as? [String: Any]
    }

    /// The balances of `households`, a few at a time.
    func balances(_ households: [String], token: String, language: String) async -> [String: Int] {
        var balances: [String: Int] = [:]
        var index = 0
        while index < households.count {
            let slice = households[index..<min(index + 8, households.count)]
            index += slice.count
            await withTaskGroup(of: (String, Int?).self) { group in
                for household in slice {
                    group.addTask { (household, await statement("household:\(household)", token: token, language: language)?.number("balance")) }
                }
                for await (household, balance) in group { if let balance { balances[household] = balance } }
            }
        }
        return balances
    }

    /// A statement's entries as rows.
    static func entryRows(_ statement: [String: Any], language: String) -> [[String: Any]] {
        let words = CommunityPages.words(language)
        return statement.objects("entries").map { entry in
            let points = entry.number("points") ?? 0
            let kind = entry.text("kind") ?? ""
            return [
                "at": CommunityPages.when(entry.text("at")) ?? "", "kind": words["entry-\(kind)"] ?? kind,
                "points": points > 0 ? "+\(points)" : "\(points)",
                "reason": CommunityPages.pick(entry.text("reason", "ref"), entry.text("reasonEn"), language: language), "plus": points > 0,
            ]
        }
    }

    func pointsPage(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        guard let session = await session(&visit) else { return Self.redirect("/signin", cookies: visit.setCookies) }
        let language = visit.language
        let words = CommunityPages.words(language)
        let names = await orgNames()
        let grid = pointsGrid(session, asked: request.uri.queryParameters["grid"].map(String.init))
        if let grid, Self.staffGrid(session) == nil { visit.path = "/points?grid=\(grid)" }
        var model: [String: Any] = ["gridChoices": gridOptions(session, names: names, chosen: grid)]
        model["chooseGrid"] = !(model["gridChoices"] as? [[String: Any]] ?? []).isEmpty
        if session.role == "grid-worker", let own = await statement("worker:\(session.staff)", token: session.token, language: language) {
            model["own"] = [
                "balance": "\(own.number("balance") ?? 0)", "entries": Array(Self.entryRows(own, language: language).prefix(20)),
            ]
        }
        var error: String?
        if let grid {
            if let sheet = await gridSheet(grid, token: session.token) {
                let balances = await balances(sheet.households.map(\.id), token: session.token, language: language)
                model["gridName"] = sheet.name
                model["gridQuery"] = grid
                model["households"] = sheet.households.map { household -> [String: Any] in
                    ["hid": household.id, "address": household.address, "balance": balances[household.id].map(String.init) ?? "—"]
                }
                model["hasHouseholds"] = !sheet.households.isEmpty
            } else {
                error = words["cGridUnreadable"]
            }
        }
        return communityPage(visit, "points", model, title: words["pointsTitle"]!, error: error)
    }

    func pointsStatementPage(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        guard let session = await session(&visit) else { return Self.redirect("/signin", cookies: visit.setCookies) }
        let words = CommunityPages.words(visit.language)
        let household = context.parameters.get("id") ?? ""
        guard UnitRef.isValidID(household) else {
            return communityMessage(visit, title: words["pointsTitle"]!, error: words["cNotFound"], status: .notFound)
        }
        switch await fetch("/v1/points/statements/household:\(household)", token: session.token, language: visit.language) {
        case .signIn: return Self.redirect("/signin", cookies: visit.setCookies)
        case .failed(let message, let status): return communityMessage(visit, title: words["pointsTitle"]!, error: message, status: status)
        case .json(let json):
            let statement = json as? [String: Any] ?? [:]
            let model: [String: Any] = [
                "household": household, "balance": "\(statement.number("balance") ?? 0)",
                "entries": Self.entryRows(statement, language: visit.language),
            ]
            return communityPage(visit, "points-statement", model, title: "\(words["statement"]!) · \(household)")
        }
    }

    // MARK: Scores

    func scoresPage(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        guard let session = await session(&visit) else { return Self.redirect("/signin", cookies: visit.setCookies) }
        let grid = pointsGrid(session, asked: request.uri.queryParameters["grid"].map(String.init))
        let asked = request.uri.queryParameters["month"].map(String.init) ?? ""
        let month = CommunityForms.isMonth(asked) ? asked : CommunityForms.previousMonth(of: Date())
        var notice: String?
        if request.uri.queryParameters["done"] == "scored", let count = request.uri.queryParameters["n"].flatMap({ Int(String($0)) }) {
            notice = String(format: CommunityPages.words(visit.language)["scoresSent"]!, count)
        }
        return await drawScores(visit, session: session, grid: grid, month: month, notice: notice)
    }

    func drawScores(
        _ visit: Visit,
        session: Session,
        grid: String?,
        month: String,
        form: [String: [String]] = [:],
        csv: String = "",
        problems: [String] = [],
        notice: String? = nil,
        error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) async -> Response {
        var visit = visit
        visit.path = "/points/scores" + (grid.map { Self.staffGrid(session) == nil ? "?grid=\($0)" : "" } ?? "")
        let words = CommunityPages.words(visit.language)
        let names = await orgNames()
        var model: [String: Any] = [
            "month": month, "csv": csv, "itemMax": "\(pointsItemMax)", "problems": problems, "hasProblems": !problems.isEmpty,
            "items": (0..<CommunityForms.itemCount).map { words["item-\($0)"]! },
            "csvHeader": "household," + (0..<CommunityForms.itemCount).map { CommunityPages.chinese["item-\($0)"]! }.joined(separator: ","),
            "gridChoices": gridOptions(session, names: names, chosen: grid),
        ]
        model["chooseGrid"] = !(model["gridChoices"] as? [[String: Any]] ?? []).isEmpty
        var problemText = error
        if let grid {
            model["grid"] = grid
            if let sheet = await gridSheet(grid, token: session.token) {
                model["gridName"] = sheet.name
                model["rows"] = sheet.households.map { household -> [String: Any] in
                    [
                        "hid": household.id, "address": household.address,
                        "cells": (0..<CommunityForms.itemCount).map { n -> [String: Any] in
                            [
                                "name": "score.\(household.id).\(n)", "value": form["score.\(household.id).\(n)"]?.first ?? "",
                                "label": words["item-\(n)"]!,
                            ]
                        },
                    ]
                }
                model["hasRows"] = !sheet.households.isEmpty
            } else {
                problemText = problemText ?? words["cGridUnreadable"]
            }
        }
        return communityPage(visit, "points-scores", model, title: words["scoresTitle"]!, notice: notice, error: problemText, status: status)
    }

    /// `POST /points/scores`: a month's scores from the per-household form or from CSV, checked
    /// here (every row or none) and sent as routing's JSON.
    func scoresPost(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        guard let session = await session(&visit) else { return Self.redirect("/signin", cookies: visit.setCookies) }
        let form = try await FormBody.read(request).fields
        let language = visit.language
        let words = CommunityPages.words(language)
        let grid = pointsGrid(session, asked: Self.field(form, "grid"))
        let month = Self.field(form, "month")
        let csv = Self.field(form, "csv")
        func again(_ problems: [String] = [], error: String? = nil, status: HTTPResponse.Status = .ok) async -> Response {
            await drawScores(
                visit,
                session: session,
                grid: grid,
                month: month,
                form: form,
                csv: csv,
                problems: problems,
                error: error,
                status: status
            )
        }
        guard checkCSRF(form, visit) else { return await again(error: words["expired"], status: .forbidden) }
        guard CommunityForms.isMonth(month) else { return await again([words["needMonth"]!], status: .badRequest) }
        let parsed: (scores: [CommunityForms.Score], problems: [String])
        if Self.field(form, "mode") == "csv" {
            parsed = CommunityForms.scores(csv: csv, itemMax: pointsItemMax, language: language)
        } else {
            guard let grid, let sheet = await gridSheet(grid, token: session.token) else { return await again(error: words["cGridUnreadable"]) }
            let addresses = Dictionary(sheet.households.map { ($0.id, $0.address) }, uniquingKeysWith: { first, _ in first })
            parsed = CommunityForms.scores(
                form: form,
                households: sheet.households.map(\.id),
                names: addresses,
                itemMax: pointsItemMax,
                language: language
            )
        }
        guard parsed.problems.isEmpty else { return await again(parsed.problems, status: .badRequest) }
        switch await send(
            "/v1/points/scores",
            session: session,
            json: CommunityForms.scoresBody(month: month, scores: parsed.scores),
            language: language
        ) {
        case .signIn: return Self.redirect("/signin", cookies: visit.setCookies)
        case .refused(let message, _): return await again(error: message)
        case .done:
            let gridQuery = grid.map { Self.staffGrid(session) == nil ? "&grid=\($0)" : "" } ?? ""
            return Self.redirect("/points/scores?month=\(month)&done=scored&n=\(parsed.scores.count)\(gridQuery)", cookies: visit.setCookies)
        }
    }

    // MARK: The love supermarket

    /// The street whose shop the person sees: a grid's staff their grid's street, a street
    /// officer her own, others the one chosen (or the first).
    func shopStreet(_ session: Session, names: OrgNames, asked: String?) -> String? {
        if let grid = Self.staffGrid(session) { return names.streetOf[grid] }
        if session.unit?.tier == .street { return session.unit?.id }
        if let asked, UnitRef.isValidID(asked) { return asked }
        return names.summary?.streets.first?.id
    }

    func shopPage(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        guard let session = await session(&visit) else { return Self.redirect("/signin", cookies: visit.setCookies) }
        let street = request.uri.queryParameters["street"].map(String.init)
        let notice = request.uri.queryParameters["done"] == "donated" ? CommunityPages.words(visit.language)["donationRecorded"] : nil
        return await drawShop(visit, session: session, asked: street, notice: notice)
    }

    func drawShop(
        _ visit: Visit,
        session: Session,
        asked: String?,
        values: [String: Any] = [:],
        receipt: [String: Any]? = nil,
        notice: String? = nil,
        error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) async -> Response {
        var visit = visit
        let language = visit.language
        let words = CommunityPages.words(language)
        let names = await orgNames()
        let street = shopStreet(session, names: names, asked: asked)
        visit.path = "/points/shop" + (street.map { session.unit?.tier == .street || Self.staffGrid(session) != nil ? "" : "?street=\($0)" } ?? "")
        var model = values
        model["key"] = Self.formKey()
        var problem = error
        if let street {
            model["street"] = street
            model["streetName"] = names.street(street)
            switch await fetch("/v1/points/goods?street=\(street)", token: session.token, language: language) {
            case .signIn: return Self.redirect("/signin", cookies: visit.setCookies)
            case .failed(let message, _): problem = problem ?? message
            case .json(let json):
                let goods = (json as? [[String: Any]] ?? (json as? [String: Any])?.objects("goods") ?? []).filter {
                    CommunityForms.isSafeID($0.text("id") ?? "")
                }
                let chosen = values["goods"] as? String
                model["goods"] = goods.map { item -> [String: Any] in
                    let stock = item.number("stock") ?? 0
                    return [
                        "gid": item.text("id") ?? "", "name": item.text("name") ?? "", "points": "\(item.number("points") ?? 0)", "stock": "\(stock)",
                        "none": stock <= 0, "selected": item.text("id") == chosen,
                    ]
                }
                model["hasGoods"] = !goods.isEmpty
            }
        }
        if Self.staffGrid(session) == nil, session.unit?.tier != .street {
            model["streetChoices"] = (names.summary?.streets ?? []).map { ["id": $0.id, "name": $0.name, "selected": $0.id == street] }
            model["hasStreetChoices"] = !(names.summary?.streets ?? []).isEmpty
        }
        if Self.publishes(session) { model["mayDonate"] = true }
        if let grid = Self.staffGrid(session), let sheet = await gridSheet(grid, token: session.token) {
            let chosen = values["household"] as? String
            model["householdChoices"] = sheet.households.map { ["hid": $0.id, "address": $0.address, "selected": $0.id == chosen] }
        } else {
            model["householdInput"] = true
        }
        if let receipt { model["receipt"] = receipt }
        return communityPage(visit, "points-shop", model, title: words["shopTitle"]!, notice: notice, error: problem, status: status)
    }

    /// `POST /points/donations` (a street officer or supervisor) and `POST /points/redemptions`
    /// (the receipt drawn at once; a refusal in words).
    func shopPost(_ request: Request, context: GridLoopRequestContext, kind: String) async throws -> Response {
        var visit = visit(request)
        guard let session = await session(&visit) else { return Self.redirect("/signin", cookies: visit.setCookies) }
        let form = try await FormBody.read(request).fields
        let language = visit.language
        let words = CommunityPages.words(language)
        func f(_ name: String) -> String { Self.field(form, name) }
        let street = f("street").isEmpty ? nil : f("street")
        let values: [String: Any] = [
            "household": f("household"), "goods": f("goods"), "quantity": f("quantity"), "goodsName": f("goodsName"), "points": f("points"),
            "donor": f("donor"), "donated": f("quantity"),
        ]
        func again(_ error: String?, status: HTTPResponse.Status = .ok) async -> Response {
            await drawShop(visit, session: session, asked: street, values: values, error: error, status: status)
        }
        guard checkCSRF(form, visit) else { return await again(words["expired"], status: .forbidden) }
        if kind == "donation" {
            var problems: [String] = []
            if f("goodsName").isEmpty { problems.append(words["needGoodsName"]!) }
            guard let points = CommunityForms.positive(f("points")) else { return await again(words["needGoodsPoints"], status: .badRequest) }
            guard let quantity = CommunityForms.positive(f("quantity")) else { return await again(words["needQuantity"], status: .badRequest) }
            if f("donor").isEmpty { problems.append(words["needDonor"]!) }
            guard problems.isEmpty else { return await again(problems.joined(separator: " "), status: .badRequest) }
            var json: [String: Any] = ["goodsName": f("goodsName"), "points": points, "quantity": quantity, "donor": f("donor")]
            if let street { json["street"] = street }
            switch await send("/v1/points/donations", session: session, json: json, key: "web-donation:\(Self.postedKey(form))", language: language) {
            case .signIn: return Self.redirect("/signin", cookies: visit.setCookies)
            case .refused(let message, _): return await again(message)
            case .done:
                let query = street.map { "street=\($0)&" } ?? ""
                return Self.redirect("/points/shop?\(query)done=donated", cookies: visit.setCookies)
            }
        }
        guard UnitRef.isValidID(f("household")) else { return await again(words["cChooseHousehold"], status: .badRequest) }
        guard CommunityForms.isSafeID(f("goods")) else { return await again(words["needGoods"], status: .badRequest) }
        guard let quantity = CommunityForms.positive(f("quantity"), max: 1000) else { return await again(words["needQuantity"], status: .badRequest) }
        let json: [String: Any] = ["householdId": f("household"), "goodsId": f("goods"), "quantity": quantity]
        switch await send("/v1/points/redemptions", session: session, json: json, key: "web-redemption:\(Self.postedKey(form))", language: language) {
        case .signIn: return Self.redirect("/signin", cookies: visit.setCookies)
        case .refused(let message, let answer):
            if let answer, answer.status == 409,
                let refusal = CommunityForms.redemptionRefusal(code: CommunityPages.code(answer), detail: answer.problem)
            {
                return await again(words[refusal == "points" ? "notEnoughPoints" : "stockShort"], status: .conflict)
            }
            return await again(message)
        case .done(let answer):
            let body = (try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any]) ?? [:]
            let receipt: [String: Any] = [
                "text": body.text("receipt") ?? "", "id": body.text("redemptionId") ?? "", "spent": "\(body.number("points") ?? 0)",
                "balance": "\(body.number("balance") ?? 0)", "stock": "\(body.number("stock") ?? 0)",
            ]
            return await drawShop(visit, session: session, asked: street, receipt: receipt, notice: words["redeemed"])
        }
    }
}

extension CommunityPages {
    static let pointsLinks = """
        <p class="tools"><a href="/points">{{t.balances}}</a> <a href="/points/scores">{{t.scoresTitle}}</a> <a href="/points/shop">{{t.shopTitle}}</a></p>
        """

    static let gridChoiceHTML = """
        {{#chooseGrid}}<form method="get" class="stack grid-choice"><label>{{t.grid}}<select name="grid">{{#gridChoices}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/gridChoices}}</select></label>
          <button type="submit">{{t.chooseGrid}}</button></form>{{/chooseGrid}}
        """

    static let pointsTemplates: [String: String] = [
        "points": menuHTML + """
            <h1>{{t.pointsTitle}}{{#gridName}} <small>{{gridName}}</small>{{/gridName}}</h1>
            """ + pointsLinks + """
                <p class="hint">{{t.pointsHint}}</p>
                """ + gridChoiceHTML + """
                {{#own}}<section class="card"><h2>{{t.myPoints}} <small>{{t.balance}} {{balance}}</small></h2>
                  <div class="scroll"><table><tbody>{{#entries}}<tr><td>{{at}}</td><td>{{kind}}</td><td>{{reason}}</td><td>{{points}}</td></tr>{{/entries}}</tbody></table></div></section>{{/own}}
                {{#hasHouseholds}}<section class="card"><h2>{{t.householdBalances}}</h2><div class="scroll"><table><thead><tr><th>{{t.household}}</th><th>{{t.balance}}</th></tr></thead><tbody>
                {{#households}}<tr><td><a href="/points/households/{{hid}}">{{address}}</a> <small>{{hid}}</small></td><td>{{balance}}</td></tr>{{/households}}
                </tbody></table></div></section>{{/hasHouseholds}}
                """,
        "points-statement": menuHTML + pointsLinks + """
            <section class="card"><h1>{{t.statement}} <small>{{household}}</small></h1><p><b>{{t.balance}} {{balance}}</b></p>
              <div class="scroll"><table><thead><tr><th>{{t.when}}</th><th>{{t.entryKind}}</th><th>{{t.reason}}</th><th>{{t.pointsWord}}</th></tr></thead><tbody>
              {{#entries}}<tr><td>{{at}}</td><td>{{kind}}</td><td>{{reason}}</td><td>{{points}}</td></tr>{{/entries}}
              </tbody></table></div>
              {{^entries}}<p class="empty">{{t.noEntries}}</p>{{/entries}}
            </section>
            """,
        "points-scores": menuHTML + """
            <h1>{{t.scoresTitle}}{{#gridName}} <small>{{gridName}}</small>{{/gridName}}</h1>
            """ + pointsLinks + gridChoiceHTML + """
                <p class="hint">{{t.scoresHint}} 0–{{itemMax}}</p>
                {{#hasProblems}}<ul class="error" role="alert">{{#problems}}<li>{{.}}</li>{{/problems}}</ul>{{/hasProblems}}
                {{#hasRows}}<section class="card"><h2>{{t.scoreByHousehold}}</h2>
                <form method="post" action="/points/scores" class="stack">
                  <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="mode" value="form"><input type="hidden" name="grid" value="{{grid}}">
                  <label>{{t.month}}<input name="month" type="month" value="{{month}}" required></label>
                  <div class="scores-head">{{#items}}<span>{{.}}</span>{{/items}}</div>
                  {{#rows}}<div class="household"><span class="addr">{{address}}</span> <small>{{hid}}</small>
                    <div class="scores">{{#cells}}<input name="{{name}}" value="{{value}}" type="number" inputmode="numeric" min="0" max="{{itemMax}}" step="1" aria-label="{{address}} {{label}}">{{/cells}}</div></div>{{/rows}}
                  <button type="submit" class="primary">{{t.sendScores}}</button>
                </form></section>{{/hasRows}}
                <section class="card"><details class="more"><summary>{{t.scoreByCSV}}</summary>
                <form method="post" action="/points/scores" class="stack">
                  <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="mode" value="csv">{{#grid}}<input type="hidden" name="grid" value="{{grid}}">{{/grid}}
                  <label>{{t.month}}<input name="month" type="month" value="{{month}}" required></label>
                  <label>CSV<textarea name="csv" rows="8" maxlength="60000" placeholder="{{csvHeader}}">{{csv}}</textarea></label>
                  <p class="hint">{{t.csvHint}} {{csvHeader}}</p>
                  <button type="submit" class="primary">{{t.sendScores}}</button>
                </form></details></section>
                """,
        "points-shop": menuHTML + """
            <h1>{{t.shopTitle}}{{#streetName}} <small>{{streetName}}</small>{{/streetName}}</h1>
            """ + pointsLinks + """
                {{#hasStreetChoices}}<form method="get" class="stack grid-choice"><label>{{t.street}}<select name="street">{{#streetChoices}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/streetChoices}}</select></label>
                  <button type="submit">{{t.chooseStreet}}</button></form>{{/hasStreetChoices}}
                {{#receipt}}<section class="card"><h2>{{t.receiptTitle}} <small>{{id}}</small></h2><p class="receipt">{{text}}</p>
                  <p>{{t.pointsSpent}} {{spent}} · {{t.balance}} {{balance}} · {{t.stockLeft}} {{stock}}</p></section>{{/receipt}}
                {{#hasGoods}}<section class="card"><h2>{{t.goodsTitle}}</h2><div class="scroll"><table><thead><tr><th>{{t.goodsName}}</th><th>{{t.goodsPoints}}</th><th>{{t.stock}}</th></tr></thead><tbody>
                {{#goods}}<tr><td>{{name}}</td><td>{{points}}</td><td>{{stock}}{{#none}} <small class="error">{{t.outOfStock}}</small>{{/none}}</td></tr>{{/goods}}
                </tbody></table></div></section>{{/hasGoods}}
                {{^hasGoods}}<p class="empty">{{t.noGoods}}</p>{{/hasGoods}}
                {{#hasGoods}}<section class="card"><h2>{{t.redeem}}</h2>
                <form method="post" action="/points/redemptions" class="stack">
                  <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="key" value="{{key}}">{{#street}}<input type="hidden" name="street" value="{{street}}">{{/street}}
                  {{^householdInput}}<label>{{t.household}}<select name="household" required><option value="">—</option>{{#householdChoices}}<option value="{{hid}}"{{#selected}} selected{{/selected}}>{{address}}</option>{{/householdChoices}}</select></label>{{/householdInput}}
                  {{#householdInput}}<label>{{t.householdId}}<input name="household" value="{{household}}" required maxlength="64" autocomplete="off"></label>{{/householdInput}}
                  <label>{{t.goodsName}}<select name="goods" required><option value="">—</option>{{#goods}}<option value="{{gid}}"{{#selected}} selected{{/selected}}>{{name}} · {{points}} · {{t.stock}} {{stock}}</option>{{/goods}}</select></label>
                  <label>{{t.quantity}}<input name="quantity" type="number" inputmode="numeric" min="1" max="1000" step="1" value="1" required></label>
                  <button type="submit" class="primary">{{t.redeem}}</button>
                </form></section>{{/hasGoods}}
                {{#mayDonate}}<section class="card"><details class="more"><summary>{{t.donate}}</summary>
                <form method="post" action="/points/donations" class="stack">
                  <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="key" value="{{key}}">{{#street}}<input type="hidden" name="street" value="{{street}}">{{/street}}
                  <label>{{t.goodsName}}<input name="goodsName" value="{{goodsName}}" required maxlength="100"></label>
                  <label>{{t.goodsPoints}}<input name="points" value="{{points}}" type="number" inputmode="numeric" min="1" step="1" required></label>
                  <label>{{t.quantity}}<input name="quantity" value="{{donated}}" type="number" inputmode="numeric" min="1" step="1" required></label>
                  <label>{{t.donor}}<input name="donor" value="{{donor}}" required maxlength="200"></label>
                  <button type="submit" class="primary">{{t.donate}}</button>
                </form></details></section>{{/mayDonate}}
                """,
    ]
}
