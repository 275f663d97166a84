import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import HTTPTypes
import Hummingbird

/// The staff's own forms: a new request (grid workers on a visit, staff taking a call), a
/// household visit, and the resident's number behind "show number" (each view on the trail).
extension WebController {
    struct SubmitForm {
        var grid = ""
        var household = ""
        var category = ""
        var description = ""
        var address = ""
        var latitude = ""
        var longitude = ""
        var name = ""
        var phone = ""
        /// The resident's own email for updates (the public form only).
        var email = ""
        /// The proactive task (未诉先办) whose household check found this hazard.
        var task = ""
        var key = UUID().uuidString.lowercased()

        init() {}

        init(_ form: [String: [String]]) {
            func field(_ name: String) -> String { (form[name]?.first ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
            grid = field("grid")
            household = field("household")
            category = field("category")
            description = field("description")
            address = field("address")
            latitude = field("latitude")
            longitude = field("longitude")
            name = field("name")
            phone = field("phone")
            email = field("email")
            task = UUID(uuidString: field("task"))?.uuidString.lowercased() ?? ""
            key = UUID(uuidString: field("key"))?.uuidString.lowercased() ?? key
        }

        /// What the page checks before sending (intake checks it all again), in words.
        func problems(language: String, needsPlace: Bool = true) -> [String] {
            let en = language == "en"
            var problems: [String] = []
            if category.isEmpty { problems.append(en ? "Choose a category." : "请选择类别。") }
            if description.count < 4 { problems.append(en ? "Describe the problem (at least 4 characters)." : "请描述问题（至少4个字）。") }
            if description.count > 2000 { problems.append(en ? "The description is longer than 2000 characters." : "描述超过2000字。") }
            if needsPlace, household.isEmpty, address.isEmpty, latitude.isEmpty {
                problems.append(en ? "Choose a household, give an address, or use your location." : "请选择住户、填写地址或使用定位。")
            }
            if !latitude.isEmpty || !longitude.isEmpty {
                if Double(latitude).map({ (-90...90).contains($0) }) != true || Double(longitude).map({ (-180...180).contains($0) }) != true {
                    problems.append(en ? "The location is not valid." : "定位无效。")
                }
            }
            if name.isEmpty { problems.append(en ? "Give the resident's name." : "请填写居民姓名。") }
            if !email.isEmpty, !(email.contains("@") && email.count <= 200 && !email.contains(" ")) {
                problems.append(en ? "The email address is not valid." : "邮箱格式不对。")
            }
            if phone.filter(\.isNumber).count < 7 { problems.append(en ? "Give a phone number to reach the resident." : "请填写能联系到居民的电话。") }
            return problems
        }

        /// The JSON body of `POST /v1/requests`.
        func body(channel: Channel, language: String? = nil, submittedBy: String? = nil) -> [String: Any] {
            var location: [String: Any] = [:]
            if !household.isEmpty { location["householdId"] = household }
            if household.isEmpty, !grid.isEmpty { location["gridId"] = grid }
            if !address.isEmpty { location["address"] = address }
            if let latitude = Double(latitude), let longitude = Double(longitude) {
                location["latitude"] = latitude
                location["longitude"] = longitude
            }
            var reporter: [String: Any] = ["name": name, "phone": phone]
            if let language { reporter["language"] = language }
            if !email.isEmpty { reporter["email"] = email }
            var body: [String: Any] = [
                "category": category, "description": description, "location": location, "reporter": reporter, "channel": channel.rawValue,
            ]
            if let submittedBy { body["submittedBy"] = submittedBy }
            if !task.isEmpty { body["taskId"] = task }
            return body
        }

        var values: [String: Any] {
            [
                "household": household, "category": category, "description": description, "address": address, "latitude": latitude,
                "longitude": longitude,
                "name": name, "phone": phone, "email": email, "key": key, "grid": grid, "task": task, "hasTask": !task.isEmpty,
            ]
        }
    }

    /// The org's categories as options, `chosen` selected.
    func categoryOptions(_ summary: OrgSheets.Summary?, chosen: String, language: String) -> [[String: Any]] {
        let ids = summary?.categories.map(\.id) ?? CategoryNames.known
        return ids.map { ["id": $0, "name": CategoryNames.label($0, language: language), "selected": $0 == chosen] }
    }

    func orgSummary() async -> OrgSheets.Summary? {
        guard let answer = try? await backend.call(.GET, "routing", "/v1/org", token: nil), answer.ok else { return nil }
        return try? answer.decode(OrgSheets.Summary.self)
    }

    func gridSheet(_ grid: String, token: String) async -> OrgSheets.Grid? {
        guard UnitRef.isValidID(grid), let answer = try? await backend.call(.GET, "routing", "/v1/org/grids/\(grid)", token: token), answer.ok else {
            return nil
        }
        return try? answer.decode(OrgSheets.Grid.self)
    }

    /// `GET /submit`: the new-request form. A grid's staff pick from their grid's households;
    /// others choose a grid first (`?grid=`).
    func submitPage(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        guard let session = await session(&visit) else { return Self.redirect("/signin", cookies: visit.setCookies) }
        var form = SubmitForm()
        form.household = request.uri.queryParameters["household"].map(String.init) ?? ""
        form.grid = request.uri.queryParameters["grid"].map(String.init) ?? ""
        // From a proactive task's household: a hazard found, reported under the task's category.
        form.task = request.uri.queryParameters["task"].flatMap { UUID(uuidString: String($0)) }?.uuidString.lowercased() ?? ""
        form.category = request.uri.queryParameters["category"].map(String.init) ?? ""
        return await drawSubmit(visit, session: session, form: form)
    }

    func drawSubmit(
        _ visit: Visit,
        session: Session,
        form: SubmitForm,
        problems: [String] = [],
        error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) async -> Response {
        let language = visit.language
        var form = form
        if session.unit?.tier == .grid, let own = session.unit?.id { form.grid = own }
        let summary = await orgSummary()
        var context = form.values
        context["categories"] = categoryOptions(summary, chosen: form.category, language: language)
        context["problems"] = problems
        context["hasProblems"] = !problems.isEmpty
        if !form.grid.isEmpty, let sheet = await gridSheet(form.grid, token: session.token) {
            context["gridName"] = sheet.name
            context["households"] = sheet.households.map { ["id": $0.id, "address": $0.address, "selected": $0.id == form.household] }
            context["hasHouseholds"] = !sheet.households.isEmpty
        }
        if session.unit?.tier != .grid {
            // A street's grids first, then the rest of the district.
            let street = session.unit?.tier == .street ? session.unit?.id : nil
            let grids = (summary?.grids ?? []).sorted { ($0.street == street ? 0 : 1, $0.id) < ($1.street == street ? 0 : 1, $1.id) }
            context["grids"] = grids.map { ["id": $0.id, "name": $0.name, "selected": $0.id == form.grid] }
            context["hasGrids"] = !grids.isEmpty
        }
        return page(visit, "submit", context, title: Pages.words(language)["submitTitle"]!, error: error, status: status)
    }

    /// `POST /submit`: checked here, then sent to intake with the person's token and the form's
    /// idempotency key (a double tap or a resend makes one request).
    func submit(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        guard let session = await session(&visit) else { return Self.redirect("/signin", cookies: visit.setCookies) }
        let posted = try await FormBody.read(request)
        let fields = posted.fields
        let en = visit.language == "en"
        var form = SubmitForm(fields)
        guard checkCSRF(fields, visit) else {
            return await drawSubmit(
                visit,
                session: session,
                form: form,
                error: en ? "The form expired; nothing was sent. Send it again." : "页面已过期，未提交，请再提交一次。",
                status: .forbidden
            )
        }
        if session.unit?.tier == .grid, let own = session.unit?.id { form.grid = own }
        let problems = form.problems(language: visit.language)
        guard problems.isEmpty else { return await drawSubmit(visit, session: session, form: form, problems: problems, status: .badRequest) }
        let channel: Channel = session.unit?.tier == .grid ? .gridWorker : .hotline
        let answer: Backend.Answer
        do {
            answer = try await backend.call(
                .POST,
                "intake",
                "/v1/requests",
                token: session.token,
                json: form.body(channel: channel, submittedBy: session.staff),
                headers: ["Idempotency-Key": "web:\(form.key)"]
            )
        } catch {
            return await drawSubmit(
                visit,
                session: session,
                form: form,
                error: en ? "Not sent: the service is not reachable. Try again." : "未发送：服务暂时无法连接，请重试。",
                status: .serviceUnavailable
            )
        }
        if answer.status == 401 { return Self.redirect("/signin", cookies: visit.setCookies) }
        guard answer.ok, let accepted = try? answer.decode(Accepted.self) else {
            return await drawSubmit(
                visit,
                session: session,
                form: form,
                error: (en ? "Not accepted: " : "未受理：") + (answer.problem ?? "\(answer.status)"),
                status: .ok
            )
        }
        // The photo, once the request exists (a refused photo loses nothing else: the request stands).
        if let photo = posted.files["photo"],
            let refusal = await addPhoto(
                photo,
                to: accepted.id,
                stage: "submission",
                token: session.token,
                uploadToken: nil,
                key: form.key,
                language: visit.language
            )
        {
            return Self.redirect("/requests/\(accepted.id)?done=submitted-photo-refused&why=\(Self.reasonCode(refusal))", cookies: visit.setCookies)
        }
        return Self.redirect("/requests/\(accepted.id)?done=submitted", cookies: visit.setCookies)
    }

    struct Accepted: Decodable {
        var id: String
        var uploadToken: String?
    }

    /// A refused photo's reason as a link word (the page shows its own words for it, never
    /// text from the link).
    static func reasonCode(_ refusal: String) -> String {
        refusal.contains("JPEG") ? "type" : refusal.contains("10") ? "size" : "other"
    }

    /// `POST /requests/{id}/visit`: the grid worker logs her household visit (入户走访) from
    /// the request page; one visit per form (its key is the visit's id).
    func logVisit(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let posted: PostedForm
        switch try await requestPost(request, context: context) {
        case .answer(let response): return response
        case .ready(let form): posted = form
        }
        let (visit, session, id, fields) = (posted.visit, posted.session, posted.id, posted.body.fields)
        let en = visit.language == "en"
        let household = (fields["household"]?.first ?? "").trimmingCharacters(in: .whitespaces)
        guard UnitRef.isValidID(household) else {
            return try await requestPage(request, context: context, error: en ? "Choose the household visited." : "请选择走访的住户。", status: .badRequest)
        }
        var body: [String: Any] = ["householdId": household]
        if let key = fields["key"]?.first.flatMap(UUID.init(uuidString:)) { body["id"] = key.uuidString.lowercased() }
        if let note = fields["note"]?.first?.trimmingCharacters(in: .whitespacesAndNewlines), !note.isEmpty { body["note"] = note }
        let answer: Backend.Answer
        do { answer = try await backend.call(.POST, "routing", "/v1/visits", token: session.token, json: body) } catch {
            return try await requestPage(
                request,
                context: context,
                error: en ? "Not sent: the service is not reachable. Try again." : "未发送：服务暂时无法连接，请重试。",
                status: .serviceUnavailable
            )
        }
        if answer.status == 401 { return Self.redirect("/signin", cookies: visit.setCookies) }
        guard answer.ok else {
            return try await requestPage(request, context: context, error: (en ? "Not logged: " : "未登记：") + (answer.problem ?? "\(answer.status)"))
        }
        return Self.redirect("/requests/\(id)?done=visit", cookies: visit.setCookies)
    }

    /// `POST /requests/{id}/contact`: the resident's number for the staff allowed to see it
    /// (intake decides, and writes the view on the trail); shown once on the page drawn.
    func showContact(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let posted: PostedForm
        switch try await requestPost(request, context: context) {
        case .answer(let response): return response
        case .ready(let form): posted = form
        }
        let (visit, session, id) = (posted.visit, posted.session, posted.id)
        let en = visit.language == "en"
        guard UUID(uuidString: id) != nil else {
            return try await requestPage(request, context: context, error: en ? "There is no such request." : "没有这件诉求。", status: .notFound)
        }
        let answer: Backend.Answer
        do { answer = try await backend.call(.GET, "intake", "/v1/requests/\(id)/contact", token: session.token) } catch {
            return try await requestPage(
                request,
                context: context,
                error: en ? "The service is not reachable. Try again." : "服务暂时无法连接，请重试。",
                status: .serviceUnavailable
            )
        }
        guard answer.ok, let contact = try? answer.decode(Contact.self) else {
            let message = answer.status == 403 ? (en ? "This number is not yours to see." : "您无权查看该号码。") : (answer.problem ?? "\(answer.status)")
            return try await requestPage(request, context: context, error: message)
        }
        return try await requestPage(request, context: context, contact: contact)
    }

    struct Contact: Decodable {
        var name: String
        var phone: String
        var email: String?
    }
}
