import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import HTTPTypes
import Hummingbird

/// The residents' pages, no account needed: the public report form (the door plates' QR codes
/// open it for their household), the status page behind the status link, and the 回访
/// follow-up behind the signed link sent after a resolution.
extension WebController {
    /// `GET /report[?household=]`.
    func reportPage(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        visit.resident = true
        var form = SubmitForm()
        let household = request.uri.queryParameters["household"].map(String.init) ?? ""
        if UnitRef.isValidID(household) { form.household = household }
        return await drawReport(visit, form: form)
    }

    func drawReport(
        _ visit: Visit,
        form: SubmitForm,
        problems: [String] = [],
        error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) async -> Response {
        var context = form.values
        // No door plate line without a household (Mustache counts an empty string as set).
        if form.household.isEmpty { context.removeValue(forKey: "household") }
        // The district's own categories (the built-in names when routing cannot be asked).
        context["categories"] = categoryOptions(await orgSummary(), chosen: form.category, language: visit.language)
        context["problems"] = problems
        context["hasProblems"] = !problems.isEmpty
        return page(visit, "report", context, title: Pages.words(visit.language)["reportTitle"]!, error: error, status: status)
    }

    /// `POST /report`: checked here, sent to intake as a public web submission with the
    /// resident's address for its rate limits and the form's idempotency key.
    func report(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        visit.resident = true
        let posted = try await FormBody.read(request)
        let fields = posted.fields
        let en = visit.language == "en"
        let form = SubmitForm(fields)
        guard checkCSRF(fields, visit) else {
            return await drawReport(
                visit,
                form: form,
                error: en ? "The form expired; nothing was sent. Send it again." : "页面已过期，未提交，请再提交一次。",
                status: .forbidden
            )
        }
        let problems = form.problems(language: visit.language)
        guard problems.isEmpty else { return await drawReport(visit, form: form, problems: problems, status: .badRequest) }
        let answer: Backend.Answer
        do {
            answer = try await backend.call(
                .POST,
                "intake",
                "/v1/requests",
                token: nil,
                json: form.body(channel: .web, language: visit.language),
                headers: ["Idempotency-Key": "web-report:\(form.key)"],
                client: context.client(of: request, trusting: trustedProxies)
            )
        } catch {
            return await drawReport(
                visit,
                form: form,
                error: en ? "Not sent: the service is not reachable. Try again shortly." : "未发送：服务暂时无法连接，请稍后再试。",
                status: .serviceUnavailable
            )
        }
        guard answer.ok, let accepted = try? answer.decode(Accepted.self) else {
            let message =
                answer.status == 429
                ? (en ? "Too many reports from here just now; try again in a while." : "提交过于频繁，请稍后再试。")
                : (en ? "Not accepted: " : "未受理：") + (answer.problem ?? "\(answer.status)")
            return await drawReport(visit, form: form, error: message, status: answer.status == 429 ? .tooManyRequests : .badRequest)
        }
        if let photo = posted.files["photo"],
            await addPhoto(
                photo,
                to: accepted.id,
                stage: "submission",
                token: nil,
                uploadToken: accepted.uploadToken,
                key: form.key,
                language: visit.language
            ) != nil
        {
            return Self.redirect("/status/\(accepted.id)?new=1&photo=refused", cookies: visit.setCookies)
        }
        return Self.redirect("/status/\(accepted.id)?new=1", cookies: visit.setCookies)
    }

    struct PublicRequest: Decodable {
        var agency_responsible: String?
        var expected_datetime: String?
        var address: String?
    }

    /// `GET /status/{id}`: the request's progress in plain words, which unit has it, when it is
    /// expected, what was done; the phone masked (intake's public status, Open311's view).
    func statusPage(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        visit.resident = true
        let language = visit.language
        let en = language == "en"
        let id = (context.parameters.get("id") ?? "").lowercased()
        guard UUID(uuidString: id) != nil else {
            return page(visit, "message", [:], title: "GridLoop", error: en ? "There is no such request." : "没有这件诉求。", status: .notFound)
        }
        let answer: Backend.Answer
        do { answer = try await backend.call(.GET, "intake", "/v1/requests/\(id)", token: nil) } catch {
            return page(
                visit,
                "message",
                [:],
                title: "GridLoop",
                error: en ? "The status cannot be read right now; try again shortly." : "暂时无法查询，请稍后再试。",
                status: .serviceUnavailable
            )
        }
        guard answer.ok, let status = try? answer.decode(StatusBody.self) else {
            return page(visit, "message", [:], title: "GridLoop", error: en ? "There is no such request." : "没有这件诉求。", status: .notFound)
        }
        let open311 = try? await backend.call(.GET, "intake", "/open311/v2/requests/\(id).json", token: nil)
        let publicView = open311.flatMap { try? JSONDecoder().decode([PublicRequest].self, from: Data($0.body)) }?.first
        let steps = ResidentProgress.steps(status.state, language: language)
        var facts: [String: Any] = [
            "requestId": id, "shortId": String(id.prefix(8)), "category": CategoryNames.label(status.category, language: language),
            "description": status.description,
            "stateLabel": ResidentProgress.sentence(status.state, language: language), "steps": steps,
            "reporter": "\(status.reporter.name) \(status.reporter.phone)",
        ]
        if let agency = publicView?.agency_responsible { facts["agency"] = agency }
        if let expected = publicView?.expected_datetime.flatMap(Timestamp.parse), ![.closed, .rejected, .merged].contains(status.state) {
            facts["expected"] = Self.localTime(expected)
        }
        // What was done, in words: the trail's steps residents care about.
        facts["trail"] = status.trail.compactMap { event -> [String: Any]? in
            guard ResidentProgress.shown.contains(event.type) else { return nil }
            var row: [String: Any] = ["at": Self.localTime(event.occurredAt), "what": ResidentProgress.eventSentence(event.type, language: language)]
            if ["request.resolved", "request.closed", "request.rejected", "request.merged"].contains(event.type), let detail = event.detail,
                !detail.isEmpty
            {
                row["detail"] = detail
            }
            return row
        }
        if request.uri.queryParameters["new"] != nil { facts["isNew"] = true }
        if request.uri.queryParameters["photo"] == "refused" { facts["photoRefused"] = true }
        facts["photos"] = Self.photoRows(status.photos, language: language)
        facts["hasPhotos"] = !status.photos.isEmpty
        let notice = request.uri.queryParameters["done"] == "followup" ? (en ? "Thank you: your answer is recorded." : "谢谢，您的评价已记录。") : nil
        return page(visit, "status", facts, title: Pages.words(language)["statusTitle"]!, notice: notice)
    }

    /// `GET /followup/{id}?v=&s=`: the three questions of the 回访.
    func followUpPage(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        visit.resident = true
        let id = (context.parameters.get("id") ?? "").lowercased()
        let version = request.uri.queryParameters["v"].flatMap { Int(String($0)) }
        let signature = request.uri.queryParameters["s"].map(String.init) ?? ""
        return await drawFollowUp(visit, id: id, version: version, signature: signature)
    }

    func drawFollowUp(
        _ visit: Visit,
        id: String,
        version: Int?,
        signature: String,
        error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) async -> Response {
        let en = visit.language == "en"
        guard UUID(uuidString: id) != nil, let version, !signature.isEmpty, signature.count < 64 else {
            return page(
                visit,
                "message",
                [:],
                title: "GridLoop",
                error: en ? "This link is not complete; open it from the message again." : "链接不完整，请从短信重新打开。",
                status: .notFound
            )
        }
        var context: [String: Any] = ["requestId": id, "version": version, "signature": signature, "shortId": String(id.prefix(8))]
        if let answer = try? await backend.call(.GET, "intake", "/v1/requests/\(id)", token: nil), answer.ok,
            let body = try? answer.decode(StatusBody.self)
        {
            context["category"] = CategoryNames.label(body.category, language: visit.language)
            context["description"] = body.description
            if body.state != .resolved {
                context["answered"] = true
                context["stateLabel"] = ResidentProgress.sentence(body.state, language: visit.language)
            }
        }
        return page(visit, "followup", context, title: Pages.words(visit.language)["followUpTitle"]!, error: error, status: status)
    }

    /// `POST /followup/{id}`: the answer, to routing with the link's signature.
    func followUp(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        visit.resident = true
        let id = (context.parameters.get("id") ?? "").lowercased()
        let fields = try await Self.form(request)
        let en = visit.language == "en"
        let version = fields["version"]?.first.flatMap { Int($0) }
        let signature = fields["signature"]?.first ?? ""
        guard checkCSRF(fields, visit) else {
            let expired = en ? "The form expired; nothing was sent. Open the link again and answer." : "页面已过期，未提交，请重新打开链接填写。"
            guard version != nil else { return page(visit, "message", [:], title: "GridLoop", error: expired, status: .forbidden) }
            return await drawFollowUp(visit, id: id, version: version, signature: signature, error: expired, status: .forbidden)
        }
        func yesNo(_ name: String) -> Bool? { fields[name]?.first.flatMap { $0 == "yes" ? true : $0 == "no" ? false : nil } }
        guard let satisfaction = fields["satisfaction"]?.first.flatMap(Satisfaction.init(rawValue:)), let contacted = yesNo("contacted"),
            let solved = yesNo("solved")
        else {
            return await drawFollowUp(
                visit,
                id: id,
                version: version,
                signature: signature,
                error: en ? "Please answer all three questions." : "请回答全部三个问题。",
                status: .badRequest
            )
        }
        var body: [String: Any] = [
            "version": version ?? -1, "signature": signature, "contacted": contacted, "solved": solved, "satisfaction": satisfaction.rawValue,
        ]
        if let note = fields["note"]?.first?.trimmingCharacters(in: .whitespacesAndNewlines), !note.isEmpty { body["note"] = note }
        let answer: Backend.Answer
        do {
            answer = try await backend.call(
                .POST,
                "routing",
                "/v1/requests/\(id)/followup",
                token: nil,
                json: body,
                client: context.client(of: request, trusting: trustedProxies)
            )
        } catch {
            return await drawFollowUp(
                visit,
                id: id,
                version: version,
                signature: signature,
                error: en ? "Not sent: the service is not reachable. Try again shortly." : "未发送：服务暂时无法连接，请稍后再试。",
                status: .serviceUnavailable
            )
        }
        guard answer.ok else {
            let message =
                answer.status == 409
                ? (en ? "This follow-up was already answered, or the request has moved on." : "该回访已评价过，或诉求已有新进展。")
                : answer.status == 403 ? (en ? "This link is not valid." : "链接无效。") : (answer.problem ?? "\(answer.status)")
            return await drawFollowUp(
                visit,
                id: id,
                version: version,
                signature: signature,
                error: message,
                status: answer.status == 403 ? .forbidden : .conflict
            )
        }
        return Self.redirect("/status/\(id)?done=followup", cookies: visit.setCookies)
    }

    /// `MM-dd HH:mm` in Beijing time.
    static func localTime(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        formatter.timeZone = TimeZone(secondsFromGMT: 8 * 3600)
        return formatter.string(from: date)
    }
}

/// A request's progress as a resident reads it.
package enum ResidentProgress {
    /// The steps of the loop, each done, current or to come.
    package static func steps(_ state: RequestState, language: String) -> [[String: Any]] {
        let en = language == "en"
        let names = en ? ["Received", "Being handled", "Solved, awaiting your verdict", "Closed"] : ["已受理", "办理中", "已办结，待您评价", "已结案"]
        let reached: Int =
            switch state {
            case .received: 0
            // A merged report is handled with the one it joined.
            case .assigned, .claimed, .merged: 1
            case .resolved: 2
            case .closed, .rejected: 3
            }
        return names.enumerated().map { index, name in ["name": name, "done": index < reached, "current": index == reached] }
    }

    package static func sentence(_ state: RequestState, language: String) -> String {
        let en = language == "en"
        switch state {
        case .received: return en ? "Received; it is being sent to the people who can settle it." : "已受理，正在分派给能解决的单位。"
        case .assigned: return en ? "Sent to the unit below; they will take it up." : "已派给下列单位，等待认领。"
        case .claimed: return en ? "Being handled by the unit below." : "下列单位正在办理。"
        case .resolved: return en ? "Solved. Please tell us whether you are satisfied." : "已办结，请告诉我们您是否满意。"
        case .closed: return en ? "Closed: the problem is settled." : "已结案。"
        case .rejected: return en ? "Not taken up (see below why)." : "不予受理（原因见下）。"
        case .merged: return en ? "Handled together with an earlier report of the same problem." : "与同一问题的先前反映合并办理。"
        }
    }

    static let shown: Set<String> = [
        "request.received", "request.assigned", "request.claimed", "request.escalated", "request.summoned", "request.resolved", "request.closed",
        "request.reopened", "request.rejected", "request.merged",
    ]

    package static func eventSentence(_ type: String, language: String) -> String {
        let en = language == "en"
        switch type {
        case "request.received": return en ? "Your report was received" : "您的反映已受理"
        case "request.assigned": return en ? "Sent to the unit responsible" : "已派给负责单位"
        case "request.claimed": return en ? "Taken up by staff" : "工作人员已认领"
        case "request.escalated": return en ? "Passed up to the level that can settle it" : "已上报至能解决的上一级"
        case "request.summoned": return en ? "The departments concerned were called in (吹哨报到)" : "已召集相关部门（吹哨报到）"
        case "request.resolved": return en ? "Solved" : "已办结"
        case "request.closed": return en ? "Closed with your verdict" : "已按您的评价结案"
        case "request.reopened": return en ? "Reopened to be handled again" : "已重新办理"
        case "request.rejected": return en ? "Not taken up" : "不予受理"
        case "request.merged": return en ? "Merged with an earlier report" : "与先前反映合并"
        default: return type
        }
    }
}
