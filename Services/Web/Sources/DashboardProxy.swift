import Foundation
import GridLoopServiceSupport
import HTTPTypes
import Hummingbird
import NIOCore

/// The supervisors' dashboard under the app's own sign-in: `/dashboard…` (and the figures'
/// CSV) are passed to reporting with the signed-in person's token, so a supervisor goes from
/// the inbox to the dashboard and from its overdue list back to a request page without a
/// second sign-in. Reporting decides what each person may see (a grid worker her own page).
extension WebController {
    func dashboard(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        guard let session = await session(&visit) else { return Self.redirect("/signin", cookies: visit.setCookies) }
        var path = request.uri.path
        guard
            path.hasPrefix("/dashboard") || path == "/v1/reports/figures.csv" || (path.hasPrefix("/v1/reports/community/") && path.hasSuffix(".csv")),
            !path.contains(".."), !path.contains("//")
        else {
            return page(visit, "message", [:], title: "GridLoop", error: "?", status: .notFound)
        }
        // The page's language follows the app's choice.
        var query = request.uri.query.map { $0.split(separator: "&").filter { !$0.hasPrefix("lang=") }.map(String.init) } ?? []
        query.append("lang=\(visit.language)")
        path += "?" + query.joined(separator: "&")
        let answer: Backend.Answer
        // The visitor's CSRF token: reporting puts it in the dashboard's forms, which post back here.
        let proxied = ["X-GridLoop-Web": "1", "X-GridLoop-CSRF": visit.csrf]
        do { answer = try await backend.call(.GET, "reporting", path, token: session.token, headers: proxied) } catch {
            return page(
                visit,
                "message",
                [:],
                title: "GridLoop",
                error: visit.language == "en" ? "The dashboard is not reachable right now." : "暂时无法打开督办看板。",
                status: .serviceUnavailable
            )
        }
        if answer.status == 401 { return Self.redirect("/signin", cookies: visit.setCookies) }
        guard answer.ok else {
            let message =
                answer.status == 403
                ? (visit.language == "en"
                    ? "The dashboard's overview is for supervisors; your own figures are under My assessment." : "总览仅供督办人员查看；您的考核见“我的考核”。")
                : (answer.problem ?? "\(answer.status)")
            return page(visit, "message", [:], title: "GridLoop", error: message, status: HTTPResponse.Status(code: answer.status))
        }
        var headers = HTTPFields()
        for (name, value) in answer.headers where ["content-type", "cache-control", "content-disposition"].contains(name.lowercased()) {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        if headers[.cacheControl] == nil { headers[.cacheControl] = "no-store" }
        for cookie in visit.setCookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }

    /// `POST /dashboard/focus` (mark the problem of the month) and `POST /dashboard/focus/{id}/notes`
    /// (a progress note), from the dashboard's forms: the CSRF token checked here, then
    /// reporting's `POST /v1/reports/focus…` with the signed-in person's token; back to the
    /// page with what happened, in words.
    func dashboardFocus(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        guard let session = await session(&visit) else { return Self.redirect("/signin", cookies: visit.setCookies) }
        let body = try await FormBody.read(request)
        let form = body.fields
        let en = visit.language == "en"
        let month = (form["month"]?.first ?? "").trimmingCharacters(in: .whitespaces)
        let back = "/dashboard/hotspots?lang=\(visit.language)" + (month.count == 7 ? "&period=\(month)" : "")
        func backWith(_ query: String) -> Response {
            Self.redirect(back + "&" + query + "#focus", cookies: visit.setCookies)
        }
        guard checkCSRF(form, visit) else {
            return backWith("error=" + Self.queryEscaped(en ? "The form expired; nothing was sent. Try again." : "页面已过期，未提交，请重试。"))
        }
        let path: String
        var json: [String: Any] = [:]
        if let id = context.parameters.get("id") {
            guard UUID(uuidString: id) != nil else { return backWith("error=?") }
            path = "/v1/reports/focus/\(id.lowercased())/notes"
            json["note"] = form["note"]?.first ?? ""
            guard let progress = Int((form["progress"]?.first ?? "").trimmingCharacters(in: .whitespaces)) else {
                return backWith("error=" + Self.queryEscaped(en ? "Please give the progress as a percentage, 0–100." : "请填写完成度（0–100）。"))
            }
            json["progress"] = progress
            if form["done"]?.first == "1" { json["done"] = true }
        } else {
            path = "/v1/reports/focus"
            for field in ["month", "grid", "category", "title", "owner", "dueOn"] {
                if let value = form[field]?.first?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty { json[field] = value }
            }
            for field in ["category", "title", "owner", "dueOn"] where json[field] == nil { json[field] = "" }
        }
        let answer: Backend.Answer
        do { answer = try await backend.call(.POST, "reporting", path, token: session.token, json: json) } catch {
            return backWith("error=" + Self.queryEscaped(en ? "Not sent: the service is not reachable. Try again." : "未发送：服务暂时无法连接，请重试。"))
        }
        if answer.status == 401 { return Self.redirect("/signin", cookies: visit.setCookies) }
        guard answer.ok else {
            return backWith("error=" + Self.queryEscaped((en ? "Not done: " : "未完成：") + (answer.problem ?? "\(answer.status)")))
        }
        return backWith("done=" + (context.parameters.get("id") == nil ? "marked" : "noted"))
    }

    /// `text` for a query string's value.
    static func queryEscaped(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}
