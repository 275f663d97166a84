import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import HTTPTypes
import Hummingbird

/// 议事 on the staff pages: `/consultations` lists the questions put to the households of the
/// person's grids; `/consultations/{id}` shows the question, its options and rule, the tally
/// per grid and in all with whether an option reached the rule, and the concerns voiced (for
/// street readers). A grid's staff record each household's position on a visit (an option and
/// its concerns); street officers record the residents' representatives' meeting and close it.
extension WebController {
    func consultationsPage(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        guard let session = await session(&visit) else { return Self.redirect("/signin", cookies: visit.setCookies) }
        let language = visit.language
        let words = CommunityPages.words(language)
        let list: [[String: Any]]
        switch await fetch("/v1/consultations", token: session.token, language: language) {
        case .signIn: return Self.redirect("/signin", cookies: visit.setCookies)
        case .failed(let message, let status): return communityMessage(visit, title: words["consultationsTitle"]!, error: message, status: status)
        case .json(let json): list = json as? [[String: Any]] ?? []
        }
        let rows = list.map { item -> [String: Any] in
            let all = item.object("tally")?.object("all") ?? [:]
            let options = Self.optionLabels(item, language: language)
            var row: [String: Any] = [
                "id": item.text("id") ?? "",
                "question": CommunityPages.pick(item.text("question"), item.text("questionEn"), language: language),
                "endsOn": item.text("endsOn") ?? "", "positions": "\(all.number("positions") ?? 0)/\(all.number("households") ?? 0)",
                "closed": item.text("closedAt") != nil,
            ]
            if let reached = item.text("reached") { row["reached"] = options[reached] ?? reached }
            return row
        }.filter { CommunityForms.isSafeID($0["id"] as? String ?? "") }
        var model: [String: Any] = ["consultations": rows, "hasConsultations": !rows.isEmpty]
        if Self.publishes(session) { model["mayOpen"] = true }
        return communityPage(visit, "consultations", model, title: words["consultationsTitle"]!)
    }

    /// Option id → its label in the page's language.
    static func optionLabels(_ consultation: [String: Any], language: String) -> [String: String] {
        var labels: [String: String] = [:]
        for option in consultation.objects("options") {
            guard let id = option.text("id") else { continue }
            labels[id] = CommunityPages.pick(option.text("label") ?? id, option.text("labelEn"), language: language)
        }
        return labels
    }

    /// The rule as `num/den` text, whether routing gives `"2/3"` or `{num, den}`.
    static func ruleText(_ consultation: [String: Any]) -> String? {
        if let rule = consultation.text("rule") { return rule }
        guard let rule = consultation.object("rule"), let num = rule.number("num"), let den = rule.number("den") else { return nil }
        return "\(num)/\(den)"
    }

    func consultationNewPage(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        guard let session = await session(&visit) else { return Self.redirect("/signin", cookies: visit.setCookies) }
        let defaults: [(String, String)] = [("同意", "Agree"), ("不同意", "Disagree")]
        return await drawConsultationForm(
            visit,
            session: session,
            values: ["key": Self.formKey(), "rule": "2/3"],
            labels: defaults.map(\.0),
            labelsEn: defaults.map(\.1)
        )
    }

    func drawConsultationForm(
        _ visit: Visit,
        session: Session,
        values: [String: Any],
        labels: [String],
        labelsEn: [String],
        problems: [String] = [],
        error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) async -> Response {
        var visit = visit
        visit.path = "/consultations/new"
        let words = CommunityPages.words(visit.language)
        guard Self.publishes(session) else {
            return communityMessage(visit, title: words["openConsultation"]!, error: words["cOnlyStreets"], status: .forbidden)
        }
        var model = values
        model["optionRows"] = (0..<6).map { index -> [String: Any] in
            [
                "n": "\(index + 1)", "label": index < labels.count ? labels[index] : "", "labelEn": index < labelsEn.count ? labelsEn[index] : "",
                "first": index < 2,
            ]
        }
        let chosen = values["rule"] as? String ?? "2/3"
        model["rules"] = CommunityForms.rules.map { ["value": $0, "name": words["rule-\($0)"] ?? $0, "selected": $0 == chosen] }
        model["chooser"] = gridChooser(session, names: await orgNames(), language: visit.language)
        model["problems"] = problems
        model["hasProblems"] = !problems.isEmpty
        return communityPage(visit, "consultation-new", model, title: words["openConsultation"]!, error: error, status: status)
    }

    /// `POST /consultations`: open a consultation for grids (street officers, supervisors).
    func consultationOpen(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        visit.path = "/consultations/new"
        guard let session = await session(&visit) else { return Self.redirect("/signin", cookies: visit.setCookies) }
        let form = try await FormBody.read(request).fields
        let language = visit.language
        let words = CommunityPages.words(language)
        func f(_ name: String) -> String { Self.field(form, name) }
        let key = Self.postedKey(form)
        let labels = (1...6).map { f("label\($0)") }
        let labelsEn = (1...6).map { f("labelEn\($0)") }
        let rule = CommunityForms.rules.contains(f("rule")) ? f("rule") : "2/3"
        let values: [String: Any] = ["question": f("question"), "questionEn": f("questionEn"), "endsOn": f("endsOn"), "rule": rule, "key": key]
        func again(problems: [String] = [], error: String? = nil, status: HTTPResponse.Status = .ok) async -> Response {
            await drawConsultationForm(
                visit,
                session: session,
                values: values,
                labels: labels,
                labelsEn: labelsEn,
                problems: problems,
                error: error,
                status: status
            )
        }
        guard checkCSRF(form, visit) else { return await again(error: words["expired"], status: .forbidden) }
        let options = CommunityForms.options(labels: labels, labelsEn: labelsEn)
        var problems: [String] = []
        if f("question").isEmpty { problems.append(words["needQuestion"]!) }
        if options.count < 2 { problems.append(words["needOptions"]!) }
        if f("endsOn").isEmpty { problems.append(words["needEndsOn"]!) }
        guard problems.isEmpty else { return await again(problems: problems, status: .badRequest) }
        var json: [String: Any] = ["question": f("question"), "options": options, "endsOn": f("endsOn"), "rule": rule]
        if !f("questionEn").isEmpty { json["questionEn"] = f("questionEn") }
        json.merge(CommunityForms.gridChoice(street: f("street"), kind: f("kind"), grids: form["grids"] ?? [])) { _, chosen in chosen }
        switch await send("/v1/consultations", session: session, json: json, key: "web-consultation:\(key)", language: language) {
        case .signIn: return Self.redirect("/signin", cookies: visit.setCookies)
        case .refused(let message, _): return await again(error: message)
        case .done(let answer):
            return toCreated(answer, area: "consultations", done: "opened", visit: visit)
        }
    }

    func consultationPage(
        _ request: Request,
        context: GridLoopRequestContext,
        error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        var visit: Visit
        let session: Session
        let id: String
        let item: [String: Any]
        switch await openItem(request, context: context, area: "consultations", titleKey: "consultationsTitle") {
        case .answered(let response): return response
        case .open(let opened, let signedIn, let itemId, let loaded): (visit, session, id, item) = (opened, signedIn, itemId, loaded)
        }
        let language = visit.language
        let words = CommunityPages.words(language)
        let names = await orgNames()
        let labels = Self.optionLabels(item, language: language)
        let optionIds = item.objects("options").compactMap { $0.text("id") }
        let tally = item.object("tally") ?? [:]
        let all = tally.object("all") ?? [:]
        let households = all.number("households") ?? 0
        let closed = item.text("closedAt") != nil
        let rule = Self.ruleText(item) ?? ""
        let question = CommunityPages.pick(item.text("question"), item.text("questionEn"), language: language)
        func counts(_ row: [String: Any]) -> [String: Int] {
            var counts: [String: Int] = [:]
            for (option, value) in row.object("byOption") ?? [:] { counts[option] = [option: value].number(option) ?? 0 }
            return counts
        }
        let allCounts = counts(all)
        var model: [String: Any] = [
            "consultationId": id, "question": question, "endsOn": item.text("endsOn") ?? "",
            "rule": words["rule-\(rule)"] ?? rule, "households": "\(households)", "positions": "\(all.number("positions") ?? 0)",
            "optionList": optionIds.map { ["label": labels[$0] ?? $0] },
            "bars": optionIds.map { option -> [String: Any] in
                let count = allCounts[option] ?? 0
                return ["label": labels[option] ?? option, "count": "\(count)", "percent": "\(households == 0 ? 0 : count * 100 / households)"]
            },
            "optionHeads": optionIds.map { labels[$0] ?? $0 },
            "gridRows": tally.objects("grids").map { row -> [String: Any] in
                let byOption = counts(row)
                return [
                    "name": names.grid(row.text("key", "grid", "id") ?? ""),
                    "positions": "\(row.number("positions") ?? 0)/\(row.number("households") ?? 0)",
                    "cells": optionIds.map { "\(byOption[$0] ?? 0)" },
                ]
            },
        ]
        if let other = language == "en" ? item.text("question") : item.text("questionEn"), other != question { model["otherQuestion"] = other }
        if let reached = item.text("reached") {
            model["reached"] = labels[reached] ?? reached
        } else if let needed = item.number("needed") ?? CommunityForms.needed(households: households, rule: rule) {
            model["notReached"] = "\(needed)"
        }
        let concerns = item.objects("concerns").map { concern -> [String: Any] in
            [
                "household": concern.text("householdId") ?? "", "grid": names.grid(concern.text("grid", "gridId") ?? ""),
                "option": concern.text("option").map { labels[$0] ?? $0 } ?? "", "text": concern.text("concerns") ?? "",
                "by": concern.text("recordedBy") ?? "", "at": CommunityPages.when(concern.text("recordedAt")) ?? "",
            ]
        }
        model["concerns"] = concerns
        model["hasConcerns"] = !concerns.isEmpty
        let rows = item.objects("households").map { household -> [String: Any] in
            let current = household.text("option")
            var row: [String: Any] = [
                "hid": household.text("id") ?? "", "address": household.text("address") ?? household.text("id") ?? "",
                "choices": optionIds.map { ["oid": $0, "choice": labels[$0] ?? $0, "checked": $0 == current] },
                "said": household.text("concerns") ?? "", "mayRecord": !closed,
            ]
            if let current { row["current"] = labels[current] ?? current }
            return row
        }.filter { UnitRef.isValidID($0["hid"] as? String ?? "") }
        model["householdRows"] = rows
        model["hasHouseholds"] = !rows.isEmpty
        if let meeting = item.object("meeting"), let outcome = meeting.text("outcome") {
            model["meeting"] = ["outcome": outcome, "on": meeting.text("on", "heldOn") ?? ""]
        }
        if closed {
            model["closed"] = [
                "closedAt": CommunityPages.when(item.text("closedAt")) ?? "",
                "result": item.text("result").map { labels[$0] ?? $0 } ?? words["noResult"]!,
            ]
        } else if Self.publishes(session) {
            model["streetForms"] = true
        }
        let notice: String? =
            switch request.uri.queryParameters["done"].map(String.init) {
            case "opened": words["consultationOpened"]
            case "position": words["positionRecorded"]
            case "same": words["positionSame"]
            case "meeting": words["meetingRecorded"]
            case "closed": words["consultationClosed"]
            default: nil
            }
        return communityPage(
            visit,
            "consultation",
            model,
            title: question.isEmpty ? words["consultationsTitle"]! : question,
            notice: notice,
            error: error,
            status: status
        )
    }

    /// `POST /consultations/{id}/positions|meeting|close`.
    func consultationStep(_ request: Request, context: GridLoopRequestContext, step: String) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        let (visit, session, form): (Visit, Session, [String: [String]])
        switch try await communityPost(
            request,
            page: "/consultations/\(id)",
            redraw: { _, error, status in try await consultationPage(request, context: context, error: error, status: status) }
        ) {
        case .answer(let response): return response
        case .ready(let v, let s, let f): (visit, session, form) = (v, s, f)
        }
        let words = CommunityPages.words(visit.language)
        guard CommunityForms.isSafeID(id) else {
            return try await consultationPage(request, context: context, error: words["cNotFound"], status: .notFound)
        }
        var json: [String: Any] = [:]
        switch step {
        case "positions":
            let household = Self.field(form, "household")
            let option = Self.field(form, "option")
            guard UnitRef.isValidID(household), !option.isEmpty else {
                return try await consultationPage(request, context: context, error: words["needPosition"], status: .badRequest)
            }
            json = ["householdId": household, "option": option]
            if !Self.field(form, "concerns").isEmpty { json["concerns"] = Self.field(form, "concerns") }
        case "meeting":
            guard !Self.field(form, "outcome").isEmpty else {
                return try await consultationPage(request, context: context, error: words["needOutcome"], status: .badRequest)
            }
            json = ["outcome": Self.field(form, "outcome")]
            if !Self.field(form, "heldOn").isEmpty { json["heldOn"] = Self.field(form, "heldOn") }
        default:
            break
        }
        switch await send("/v1/consultations/\(id)/\(step)", session: session, json: json, language: visit.language) {
        case .signIn: return Self.redirect("/signin", cookies: visit.setCookies)
        case .refused(let message, _): return try await consultationPage(request, context: context, error: message)
        case .done(let answer):
            let done = step == "positions" ? (answer.status == 200 ? "same" : "position") : step == "meeting" ? "meeting" : "closed"
            return Self.redirect("/consultations/\(id)?done=\(done)", cookies: visit.setCookies)
        }
    }
}

extension CommunityForms {
    /// Households an option needs to reach `rule` (`num/den`) among `households`: ⌈households × num / den⌉.
    package static func needed(households: Int, rule: String) -> Int? {
        let parts = rule.split(separator: "/")
        guard parts.count == 2, let num = Int(parts[0]), let den = Int(parts[1]), num > 0, den > 0, num <= den, households >= 0 else { return nil }
        return (households * num + den - 1) / den
    }
}

extension CommunityPages {
    static let consultationTemplates: [String: String] = [
        "consultations": menuHTML + """
            <h1>{{t.consultationsTitle}}</h1>
            <p class="hint">{{t.consultationsHint}}</p>
            {{#mayOpen}}<p class="tools"><a class="button" href="/consultations/new">＋ {{t.openConsultation}}</a></p>{{/mayOpen}}
            {{#hasConsultations}}<ul class="items">{{#consultations}}<li class="item{{#closed}} done{{/closed}}"><a href="/consultations/{{id}}"><strong>{{question}}</strong>
              <small>{{t.endsOn}} {{endsOn}} · {{t.positionsCount}} {{positions}}{{#reached}} · <span class="reached">{{t.reachedWord}} {{reached}}</span>{{/reached}}{{#closed}} · {{t.closedWord}}{{/closed}}</small></a></li>{{/consultations}}</ul>{{/hasConsultations}}
            {{^hasConsultations}}<p class="empty">{{t.noConsultations}}</p>{{/hasConsultations}}
            """,
        "consultation-new": menuHTML + """
            <section class="card">
            <h1>{{t.openConsultation}}</h1>
            {{#hasProblems}}<ul class="error" role="alert">{{#problems}}<li>{{.}}</li>{{/problems}}</ul>{{/hasProblems}}
            <form method="post" action="/consultations" class="stack">
              <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="key" value="{{key}}">
              <label>{{t.question}}<textarea name="question" required maxlength="2000" rows="3">{{question}}</textarea></label>
              <label>{{t.questionEn}}<textarea name="questionEn" maxlength="2000" rows="2" lang="en">{{questionEn}}</textarea></label>
              <fieldset><legend>{{t.optionsField}}</legend><p class="hint">{{t.optionsHint}}</p>
              {{#optionRows}}<div class="ways"><input name="label{{n}}" value="{{label}}" maxlength="100" aria-label="{{t.optionLabel}} {{n}}" placeholder="{{t.optionLabel}} {{n}}"{{#first}} required{{/first}}>
                <input name="labelEn{{n}}" value="{{labelEn}}" maxlength="100" lang="en" aria-label="{{t.optionLabelEn}} {{n}}" placeholder="{{t.optionLabelEn}} {{n}}"></div>{{/optionRows}}
              </fieldset>
              <label>{{t.ruleField}}<select name="rule">{{#rules}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/rules}}</select></label>
              <label>{{t.endsOn}}<input name="endsOn" type="date" value="{{endsOn}}" required></label>
            """ + chooserHTML + """
                  <button type="submit" class="primary">{{t.openConsultation}}</button>
                </form>
                </section>
                """,
        "consultation": menuHTML + """
            <p><a href="/consultations">← {{t.consultationsTitle}}</a></p>
            <section class="card">
              <h1>{{question}}</h1>
              {{#otherQuestion}}<p class="bilingual">{{otherQuestion}}</p>{{/otherQuestion}}
              <p><small>{{t.optionsField}}: {{#optionList}}{{label}} · {{/optionList}}{{t.ruleField}} {{rule}} · {{t.endsOn}} {{endsOn}}</small></p>
              {{#closed}}<p class="notice">{{t.closedWord}} {{closedAt}} · {{t.result}} {{result}}</p>{{/closed}}
              {{#meeting}}<p><b>{{t.meetingOutcome}}</b> {{on}}<br><span class="description">{{outcome}}</span></p>{{/meeting}}
            </section>
            <section class="card"><h2>{{t.tally}} <small>{{t.positionsCount}} {{positions}}/{{households}}</small></h2>
              <div class="tally">{{#bars}}<div class="bar-row"><span>{{label}}</span><progress max="100" value="{{percent}}">{{percent}}%</progress><b>{{count}}</b></div>{{/bars}}</div>
              {{#reached}}<p class="reached">✓ {{t.reachedWord}} {{reached}}</p>{{/reached}}
              {{#notReached}}<p class="notreached">{{t.notReachedWord}} {{notReached}}</p>{{/notReached}}
              <div class="scroll"><table><thead><tr><th>{{t.grid}}</th><th>{{t.positionsCount}}</th>{{#optionHeads}}<th>{{.}}</th>{{/optionHeads}}</tr></thead><tbody>
              {{#gridRows}}<tr><td>{{name}}</td><td>{{positions}}</td>{{#cells}}<td>{{.}}</td>{{/cells}}</tr>{{/gridRows}}
              </tbody></table></div>
            </section>
            {{#hasHouseholds}}<section class="card"><h2>{{t.ourHouseholds}}</h2><ul class="items">
            {{#householdRows}}<li class="item household"><span class="addr">{{address}}</span> <small>{{hid}}</small>{{#current}} · <span class="ok">{{t.positionWord}} {{current}}</span>{{/current}}
              {{#mayRecord}}<details class="more"><summary>{{t.recordPosition}}</summary>
              <form method="post" action="/consultations/{{consultationId}}/positions" class="stack">
                <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="household" value="{{hid}}">
                <fieldset><legend>{{t.positionWord}}</legend>{{#choices}}<label class="choice"><input type="radio" name="option" value="{{oid}}" required{{#checked}} checked{{/checked}}> {{choice}}</label>{{/choices}}</fieldset>
                <label>{{t.concernsField}}<textarea name="concerns" maxlength="2000" rows="2">{{said}}</textarea></label>
                <button type="submit">{{t.recordPosition}}</button>
              </form></details>{{/mayRecord}}</li>{{/householdRows}}
            </ul></section>{{/hasHouseholds}}
            {{#hasConcerns}}<section class="card"><h2>{{t.concernsTitle}}</h2><ul class="trail">
            {{#concerns}}<li><b>{{household}}</b> · {{grid}} · {{option}}<br><span class="detail">{{text}}</span><br><small>{{by}} · {{at}}</small></li>{{/concerns}}
            </ul></section>{{/hasConcerns}}
            {{#streetForms}}<section class="card">
              <details class="more"><summary>{{t.recordMeeting}}</summary>
              <form method="post" action="/consultations/{{consultationId}}/meeting" class="stack">
                <input type="hidden" name="csrf" value="{{csrf}}">
                <label>{{t.meetingOutcome}}<textarea name="outcome" required maxlength="4000" rows="3"></textarea></label>
                <label>{{t.meetingOn}}<input name="heldOn" type="date"></label>
                <button type="submit">{{t.recordMeeting}}</button>
              </form></details>
              <form method="post" action="/consultations/{{consultationId}}/close" class="stack">
                <input type="hidden" name="csrf" value="{{csrf}}"><p class="hint">{{t.closeHint}}</p>
                <button type="submit" class="danger">{{t.closeConsultation}}</button>
              </form>
            </section>{{/streetForms}}
            """,
    ]
}
