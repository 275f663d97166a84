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
        guard path.hasPrefix("/dashboard") || path == "/v1/reports/figures.csv", !path.contains(".."), !path.contains("//") else {
            return page(visit, "message", [:], title: "GridLoop", error: "?", status: .notFound)
        }
        // The page's language follows the app's choice.
        var query = request.uri.query.map { $0.split(separator: "&").filter { !$0.hasPrefix("lang=") }.map(String.init) } ?? []
        query.append("lang=\(visit.language)")
        path += "?" + query.joined(separator: "&")
        let answer: Backend.Answer
        do { answer = try await backend.call(.GET, "reporting", path, token: session.token, headers: ["X-GridLoop-Web": "1"]) } catch {
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
}
