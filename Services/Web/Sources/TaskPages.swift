import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import HTTPTypes
import Hummingbird

/// 未诉先办 on the staff pages: `/tasks` lists the proactive tasks that reach the signed-in
/// person's grid or street with their coverage (and, for street officers and supervisors, a form
/// to open one for grids); `/tasks/{id}` shows a task's coverage per grid and, for a grid's
/// staff, the grid's households: "checked, nothing wrong" with one tap, or "hazard found", which
/// opens the new-request form for that household with the task's id and category.
extension WebController {
    func tasksPage(
        _ request: Request,
        context: GridLoopRequestContext,
        error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) async throws
        -> Response
    {
        var visit = visit(request)
        guard let session = await session(&visit) else { return Self.redirect("/signin", cookies: visit.setCookies) }
        let language = visit.language
        let words = Pages.words(language)
        guard let answer = try? await backend.call(.GET, "routing", "/v1/tasks", token: session.token), answer.ok,
            let tasks = try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [[String: Any]]
        else {
            return page(visit, "message", [:], title: words["tasksTitle"]!, error: words["unreachable"], status: .serviceUnavailable)
        }
        var model: [String: Any] = [
            "tasks": tasks.map { Self.taskRow($0, ownGrid: session.unit?.tier == .grid ? session.unit?.id : nil, language: language) },
            "hasTasks": !tasks.isEmpty,
        ]
        if ["street-officer", "supervisor"].contains(session.role) {
            let summary = await orgSummary()
            let street = session.role == "street-officer" ? session.unit?.id : nil
            model["openForm"] = [
                "categories": categoryOptions(summary, chosen: "", language: language),
                "grids": (summary?.grids ?? []).filter { street == nil || $0.street == street }.map { ["id": $0.id, "name": $0.name] },
                "key": UUID().uuidString.lowercased(),
            ]
        }
        if let done = request.uri.queryParameters["done"], done == "opened" { model["flash"] = words["taskOpened"] }
        return page(visit, "tasks", model, title: words["tasksTitle"]!, error: error, status: status)
    }

    /// A task's line in the list: title, due day, coverage (the caller's grid's first, for grid staff).
    static func taskRow(_ task: [String: Any], ownGrid: String?, language: String) -> [String: Any] {
        let coverage = task["coverage"] as? [String: Any] ?? [:]
        let all = coverage["all"] as? [String: Any] ?? [:]
        let own = (coverage["grids"] as? [[String: Any]] ?? []).first { $0["key"] as? String == ownGrid }
        let shown = own ?? all
        return [
            "id": task["id"] as? String ?? "", "title": task["title"] as? String ?? "", "dueOn": task["dueOn"] as? String ?? "",
            "category": CategoryNames.label(task["category"] as? String ?? "", language: language),
            "checked": "\(shown["checked"] as? Int ?? 0)/\(shown["households"] as? Int ?? 0)",
            "percent": "\(Int(((shown["coverage"] as? Double) ?? 0) * 100))", "complete": shown["complete"] as? Bool ?? false,
        ]
    }

    func taskPage(
        _ request: Request,
        context: GridLoopRequestContext,
        error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) async throws
        -> Response
    {
        var visit = visit(request)
        guard let session = await session(&visit) else { return Self.redirect("/signin", cookies: visit.setCookies) }
        let language = visit.language
        let words = Pages.words(language)
        let id = (context.parameters.get("id") ?? "").lowercased()
        guard UUID(uuidString: id) != nil else { return page(visit, "message", [:], title: words["tasksTitle"]!, error: "?", status: .notFound) }
        guard let answer = try? await backend.call(.GET, "routing", "/v1/tasks/\(id)", token: session.token) else {
            return page(visit, "message", [:], title: words["tasksTitle"]!, error: words["unreachable"], status: .serviceUnavailable)
        }
        guard answer.ok, let task = try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any] else {
            return page(visit, "message", [:], title: words["tasksTitle"]!, error: answer.problem, status: HTTPResponse.Status(code: answer.status))
        }
        let summary = await orgSummary()
        let gridNames = Dictionary((summary?.grids ?? []).map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        let streetNames = Dictionary((summary?.streets ?? []).map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        func rows(_ key: String, names: [String: String]) -> [[String: Any]] {
            ((task["coverage"] as? [String: Any])?[key] as? [[String: Any]] ?? []).map { row in
                let key = row["key"] as? String ?? ""
                return [
                    "name": names[key] ?? key, "households": "\(row["households"] as? Int ?? 0)", "checked": "\(row["checked"] as? Int ?? 0)",
                    "onTime": "\(row["onTime"] as? Int ?? 0)", "hazards": "\(row["hazards"] as? Int ?? 0)",
                    "percent": "\(Int(((row["coverage"] as? Double) ?? 0) * 100))", "complete": row["complete"] as? Bool ?? false,
                ]
            }
        }
        let category = task["category"] as? String ?? ""
        let households = (task["households"] as? [[String: Any]] ?? []).map { household -> [String: Any] in
            let outcome = household["outcome"] as? String
            var row: [String: Any] = ["id": household["id"] as? String ?? "", "address": household["address"] as? String ?? ""]
            if outcome == "ok" { row["ok"] = true }
            if outcome == "hazard" {
                row["hazard"] = true
                if let request = household["requestId"] as? String { row["requestId"] = request }
            }
            if outcome == nil {
                row["open"] = true
                row["hazardHref"] = "/submit?household=\(row["id"] ?? "")&task=\(id)&category=\(category)"
            }
            return row
        }
        var model: [String: Any] = [
            "taskId": id, "title": task["title"] as? String ?? "", "description": task["description"] as? String ?? "",
            "category": CategoryNames.label(category, language: language), "dueOn": task["dueOn"] as? String ?? "",
            "grids": rows("grids", names: gridNames), "streets": rows("streets", names: streetNames),
            "households": households, "hasHouseholds": !households.isEmpty,
        ]
        let all = (task["coverage"] as? [String: Any])?["all"] as? [String: Any] ?? [:]
        model["all"] = "\(all["checked"] as? Int ?? 0)/\(all["households"] as? Int ?? 0)"
        if let done = request.uri.queryParameters["done"] {
            if done == "checked" { model["flash"] = words["householdChecked"] }
            if done == "opened" { model["flash"] = words["taskOpened"] }
        }
        return page(visit, "task", model, title: task["title"] as? String ?? words["tasksTitle"]!, error: error, status: status)
    }

    /// `POST /tasks`: open a task (street officers, supervisors), `POST /tasks/{id}/checks`: a
    /// household checked — the CSRF token checked here, routing decides the rest.
    func taskPost(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        guard let session = await session(&visit) else { return Self.redirect("/signin", cookies: visit.setCookies) }
        let form = try await FormBody.read(request).fields
        let words = Pages.words(visit.language)
        let id = context.parameters.get("id")?.lowercased()
        func again(_ error: String, _ status: HTTPResponse.Status) async throws -> Response {
            id == nil
                ? try await tasksPage(request, context: context, error: error, status: status)
                : try await taskPage(request, context: context, error: error, status: status)
        }
        guard checkCSRF(form, visit) else { return try await again(words["expired"]!, .forbidden) }
        func field(_ name: String) -> String { (form[name]?.first ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
        let path: String
        var json: [String: Any]
        if let id {
            guard UUID(uuidString: id) != nil else { return try await again("?", .notFound) }
            path = "/v1/tasks/\(id)/checks"
            json = ["householdId": field("household")]
        } else {
            path = "/v1/tasks"
            json = ["title": field("title"), "description": field("description"), "category": field("category"), "dueOn": field("dueOn")]
            let grids = (form["grids"] ?? []).filter { !$0.isEmpty }
            if !grids.isEmpty { json["grids"] = grids }
        }
        let answer: Backend.Answer
        let key = UUID(uuidString: field("key"))?.uuidString.lowercased()
        let headers = id == nil ? key.map { ["Idempotency-Key": "web-task:\($0)"] } ?? [:] : [:]
        do { answer = try await backend.call(.POST, "routing", path, token: session.token, json: json, headers: headers) } catch {
            return try await again(words["unreachable"]!, .serviceUnavailable)
        }
        if answer.status == 401 { return Self.redirect("/signin", cookies: visit.setCookies) }
        guard answer.ok else { return try await again(words["notDone"]! + (answer.problem ?? "\(answer.status)"), .ok) }
        if let id { return Self.redirect("/tasks/\(id)?done=checked", cookies: visit.setCookies) }
        let opened = (try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])?["id"] as? String ?? ""
        return Self.redirect(UUID(uuidString: opened) != nil ? "/tasks/\(opened)?done=opened" : "/tasks?done=opened", cookies: visit.setCookies)
    }
}
