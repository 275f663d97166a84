import Foundation
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PostgresNIO

/// Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) under `/open311/v2/`, JSON and
/// XML: discovery, services and their definitions (one service per category), `POST requests`
/// (form-encoded, `api_key` required; the same validation, idempotency and outbox as every
/// other channel) and public reads of requests (no personal data). Errors are the spec's
/// list of `{code, description}` with 400, 403 or 404.
struct Open311Controller: Sendable {
    let store: IntakeStore
    let relay: OutboxRelay
    let keys: APIKeys
    /// Where clients reach this API (for discovery).
    let publicURL: String
    let maxBody = 64 * 1024
    let maxResults = 1000

    func addRoutes(to router: Router<GridLoopRequestContext>) {
        router.get("open311/v2/:file") { request, context in
            try await respond(context.parameters.get("file") ?? "") { name, format in
                switch name {
                case "discovery": return try await discovery(format)
                case "services": return try await services(request, context: context)
                case "requests": return try await requests(request, context: context)
                default: throw Open311Error(404, "no such resource: \(name)")
                }
            }
        }
        router.get("open311/v2/services/:file") { request, context in
            try await respond(context.parameters.get("file") ?? "") { code, _ in try await definition(code, request, context: context) }
        }
        router.get("open311/v2/requests/:file") { request, context in
            try await respond(context.parameters.get("file") ?? "") { id, _ in try await single(id, request, context: context) }
        }
        router.post("open311/v2/:file") { request, context in
            try await respond(context.parameters.get("file") ?? "", status: .created) { name, _ in
                guard name == "requests" else { throw Open311Error(404, "no such resource: \(name)") }
                return try await create(request, context: context)
            }
        }
    }

    /// Runs `body` for `file` (`name.json|xml`) and renders its document, or the error list.
    private func respond(
        _ file: String,
        status: HTTPResponse.Status = .ok,
        _ body: (String, Open311Format) async throws -> (root: String, value: Open311Value)
    ) async throws -> Response {
        guard let (name, format) = Open311Format.split(file) else {
            return render(Open311Error(404, "use .json or .xml").document, root: "errors", format: .json, status: .notFound)
        }
        do {
            let (root, value) = try await body(name, format)
            return render(value, root: root, format: format, status: status)
        } catch let error as Open311Error {
            return render(error.document, root: "errors", format: format, status: HTTPResponse.Status(code: error.status))
        }
    }

    private func render(_ value: Open311Value, root: String, format: Open311Format, status: HTTPResponse.Status) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = format.contentType
        let text = format == .json ? value.json() : value.xml(root: root)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    private func directory(_ request: Request, context: GridLoopRequestContext) async throws -> IntakeDirectory {
        let directory = try await IntakeDirectory.load(from: store.postgres, logger: context.logger)
        if let jurisdiction = request.uri.queryParameters["jurisdiction_id"], !jurisdiction.isEmpty, String(jurisdiction) != directory.jurisdiction {
            throw Open311Error(404, "jurisdiction_id '\(jurisdiction)' was not found")
        }
        return directory
    }

    private func discovery(_ format: Open311Format) async throws -> (String, Open311Value) {
        let changeset = "2026-11-26T00:00:00Z"
        return (
            "discovery",
            .object([
                ("changeset", .string(changeset)),
                ("contact", .string("GridLoop operators")),
                ("key_service", .string("API keys are issued by the operators: gridloop apikey create NAME")),
                (
                    "endpoints",
                    .array(
                        item: "endpoint",
                        [
                            .object([
                                ("specification", .string("http://wiki.open311.org/GeoReport_v2")),
                                ("url", .string("\(publicURL)/open311/v2")),
                                ("changeset", .string(changeset)),
                                ("type", .string("production")),
                                ("formats", .array(item: "format", [.string("text/xml"), .string("application/json")])),
                            ])
                        ]
                    )
                ),
            ])
        )
    }

    private func services(_ request: Request, context: GridLoopRequestContext) async throws -> (String, Open311Value) {
        let directory = try await directory(request, context: context)
        return (
            "services",
            .array(
                item: "service",
                directory.services.map { service in
                    .object([
                        ("service_code", .string(service.code)), ("service_name", .string(service.name)),
                        ("description", .string(service.description)),
                        ("metadata", .bool(true)), ("type", .string("realtime")), ("keywords", .string(service.keywords)),
                        ("group", .string(service.group)),
                    ])
                }
            )
        )
    }

    private func definition(_ code: String, _ request: Request, context: GridLoopRequestContext) async throws -> (String, Open311Value) {
        let directory = try await directory(request, context: context)
        guard directory.services.contains(where: { $0.code == code }) else { throw Open311Error(404, "service_code '\(code)' was not found") }
        return (
            "service_definition",
            .object([
                ("service_code", .string(code)),
                (
                    "attributes",
                    .array(
                        item: "attribute",
                        [
                            .object([
                                ("variable", .bool(true)), ("code", .string("household_id")), ("datatype", .string("string")),
                                ("required", .bool(false)),
                                ("datatype_description", .string("the household id the grid worker gave the resident, e.g. guanghua-3-01")),
                                ("order", .number(1)), ("description", .string("Household (places the request in its grid)")),
                            ]),
                            .object([
                                ("variable", .bool(true)), ("code", .string("language")), ("datatype", .string("singlevaluelist")),
                                ("required", .bool(false)),
                                ("datatype_description", .string("the language of the resident's notifications")), ("order", .number(2)),
                                ("description", .string("Language / 语言")),
                                (
                                    "values",
                                    .array(
                                        item: "value",
                                        [
                                            .object([("key", .string("zh")), ("name", .string("中文"))]),
                                            .object([("key", .string("en")), ("name", .string("English"))]),
                                        ]
                                    )
                                ),
                            ]),
                        ]
                    )
                ),
            ])
        )
    }

    private func create(_ request: Request, context: GridLoopRequestContext) async throws -> (String, Open311Value) {
        var request = request
        guard let body = try? await request.collectBody(upTo: maxBody) else { throw Open311Error(400, "the body is larger than \(maxBody) bytes") }
        var fields: [String: String] = [:]
        var attributes: [String: String] = [:]
        for (key, value) in FormEncoding.decode(String(buffer: body)) + FormEncoding.decode(request.uri.query ?? "") {
            if key.hasPrefix("attribute["), key.hasSuffix("]") {
                attributes[String(key.dropFirst(10).dropLast())] = value
            } else if fields[key] == nil {
                fields[key] = value
            }
        }
        guard let apiKey = fields["api_key"], !apiKey.isEmpty else { throw Open311Error(403, "api_key is required to submit a request") }
        guard let keyId = try await keys.verify(apiKey, logger: context.logger) else {
            throw Open311Error(403, "api_key is not valid (unknown or revoked)")
        }
        let directory = try await IntakeDirectory.load(from: store.postgres, logger: context.logger)
        if let jurisdiction = fields["jurisdiction_id"], !jurisdiction.isEmpty, jurisdiction != directory.jurisdiction {
            throw Open311Error(404, "jurisdiction_id '\(jurisdiction)' was not found")
        }
        guard let code = fields["service_code"], !code.isEmpty else { throw Open311Error(400, "service_code is required") }
        guard directory.services.contains(where: { $0.code == code }) else { throw Open311Error(404, "service_code '\(code)' was not found") }
        var problems: [String] = []
        func coordinate(_ name: String) -> Double? {
            guard let text = fields[name], !text.isEmpty else { return nil }
            guard let value = Double(text) else {
                problems.append("\(name): '\(text)' is not a number")
                return nil
            }
            return value
        }
        let latitude = coordinate("lat")
        let longitude = coordinate("long")
        let name = [fields["first_name"], fields["last_name"]].compactMap { $0?.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(
            separator: " "
        )
        if (fields["description"] ?? "").count > 4000 { problems.append("description: must be at most 4,000 characters") }
        guard problems.isEmpty else { throw Open311Error(status: 400, descriptions: problems) }
        let draft = SubmissionDraft(
            category: code,
            description: fields["description"],
            location: Location(
                householdId: attributes["household_id"] ?? fields["address_id"],
                address: fields["address_string"],
                latitude: latitude,
                longitude: longitude
            ),
            reporter: .init(name: name.isEmpty ? "匿名" : name, phone: fields["phone"], email: fields["email"], language: attributes["language"]),
            channel: Channel.open311.rawValue
        )
        let submission: Submission
        switch draft.validate() {
        case .success(let valid): submission = valid
        case .failure(let invalid):
            throw Open311Error(status: 400, descriptions: invalid.errors.map { "\(Self.open311Field($0.field)): \($0.message)" })
        }
        let key = request.headers[HTTPField.Name("Idempotency-Key")!].map { "open311:\(keyId):\($0)" }
        let extras = (keyId, fields["email"], fields["device_id"], fields["account_id"], fields["media_url"])
        let outcome = try await relay.handingOff {
            try await store.submit(submission, idempotencyKey: key, correlationId: MessageID.make(), logger: context.logger) {
                connection,
                outcome in
                guard outcome.created, let id = UUID(uuidString: outcome.requestId) else { return }
                try await connection.query(
                    """
                    INSERT INTO intake.open311 (request_id, api_key_id, email, device_id, account_id, media_url)
                    VALUES (\(id), \(extras.0), \(extras.1), \(extras.2), \(extras.3), \(extras.4))
                    """,
                    logger: context.logger
                )
            }
        }
        return (
            "service_requests",
            .array(
                item: "request",
                [
                    .object([
                        ("service_request_id", .string(outcome.requestId)),
                        ("service_notice", .string("受理后将派至所在网格；进度可按编号查询。Routed to the resident's grid; follow it by its id.")),
                        ("account_id", .string(fields["account_id"])),
                    ])
                ]
            )
        )
    }

    /// The Open311 parameter a validation error is about.
    static func open311Field(_ field: String) -> String {
        [
            "reporter.phone": "phone", "reporter.name": "first_name", "reporter.email": "email", "reporter.language": "attribute[language]",
            "location": "lat/long, address_string or address_id", "location.address": "address_string",
            "location.householdId": "attribute[household_id]",
            "location.latitude": "lat", "location.longitude": "long", "category": "service_code",
        ][field] ?? field
    }

    private func requests(_ request: Request, context: GridLoopRequestContext) async throws -> (String, Open311Value) {
        let directory = try await directory(request, context: context)
        let query = request.uri.queryParameters
        if let ids = query["service_request_id"], !ids.isEmpty {
            let uuids = ids.split(separator: ",").compactMap { UUID(uuidString: String($0).trimmingCharacters(in: .whitespaces)) }
            return (
                "service_requests",
                .array(item: "request", try await rows(where: .ids(Array(uuids.prefix(maxResults))), directory: directory, logger: context.logger))
            )
        }
        func date(_ name: String) throws -> Date? {
            guard let text = query[Substring(name)].map(String.init), !text.isEmpty else { return nil }
            guard let date = ISO8601DateFormatter().date(from: text) ?? Timestamp.parse(text) else {
                throw Open311Error(400, "\(name): '\(text)' is not a w3c date-time like 2026-11-01T00:00:00Z")
            }
            return date
        }
        let end = try date("end_date") ?? Date()
        let start = try date("start_date") ?? end.addingTimeInterval(-90 * 86400)
        guard start <= end else { throw Open311Error(400, "start_date is after end_date") }
        guard end.timeIntervalSince(start) <= 90 * 86400 else { throw Open311Error(400, "start_date to end_date may not span more than 90 days") }
        let codes = query["service_code"].map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } } ?? []
        let statuses = query["status"].map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces).lowercased() } } ?? []
        for status in statuses where status != "open" && status != "closed" {
            throw Open311Error(400, "status must be open or closed, not '\(status)'")
        }
        return (
            "service_requests",
            .array(
                item: "request",
                try await rows(where: .filter(start: start, end: end, codes: codes, statuses: statuses), directory: directory, logger: context.logger)
            )
        )
    }

    private func single(_ id: String, _ request: Request, context: GridLoopRequestContext) async throws -> (String, Open311Value) {
        let directory = try await directory(request, context: context)
        guard let uuid = UUID(uuidString: id) else { throw Open311Error(404, "service_request_id '\(id)' was not found") }
        let found = try await rows(where: .ids([uuid]), directory: directory, logger: context.logger)
        guard !found.isEmpty else { throw Open311Error(404, "service_request_id '\(id)' was not found") }
        return ("service_requests", .array(item: "request", found))
    }

    private enum Selection {
        case ids([UUID])
        case filter(start: Date, end: Date, codes: [String], statuses: [String])
    }

    /// Public view of requests: status, notes, agency, times, place; never the reporter.
    private func rows(where selection: Selection, directory: IntakeDirectory, logger: Logger) async throws -> [Open311Value] {
        let closedStates = ["closed", "rejected", "merged"]
        let query: PostgresQuery
        switch selection {
        case .ids(let ids):
            query = """
                SELECT r.id, r.state, r.category, r.description, r.unit, r.address, r.household_id, r.latitude, r.longitude, r.created_at, r.updated_at, r.expected_at,
                       coalesce(o.media_url, (SELECT '/v1/photos/' || p.id FROM intake.photos p WHERE p.request_id = r.id AND p.stage = 'submission' ORDER BY p.created_at LIMIT 1)),
                       (SELECT detail FROM intake.trail t WHERE t.request_id = r.id AND t.event_type <> 'photo.added' AND t.event_type <> 'contact.viewed' ORDER BY seq DESC LIMIT 1)
                FROM intake.requests r LEFT JOIN intake.open311 o ON o.request_id = r.id WHERE r.id = ANY(\(ids)) ORDER BY r.created_at
                """
        case .filter(let start, let end, let codes, let statuses):
            let wantOpen = statuses.isEmpty || statuses.contains("open")
            let wantClosed = statuses.isEmpty || statuses.contains("closed")
            query = """
                SELECT r.id, r.state, r.category, r.description, r.unit, r.address, r.household_id, r.latitude, r.longitude, r.created_at, r.updated_at, r.expected_at,
                       coalesce(o.media_url, (SELECT '/v1/photos/' || p.id FROM intake.photos p WHERE p.request_id = r.id AND p.stage = 'submission' ORDER BY p.created_at LIMIT 1)),
                       (SELECT detail FROM intake.trail t WHERE t.request_id = r.id AND t.event_type <> 'photo.added' AND t.event_type <> 'contact.viewed' ORDER BY seq DESC LIMIT 1)
                FROM intake.requests r LEFT JOIN intake.open311 o ON o.request_id = r.id
                WHERE r.created_at BETWEEN \(start) AND \(end) AND (cardinality(\(codes)::text[]) = 0 OR r.category = ANY(\(codes)))
                  AND ((\(wantOpen) AND NOT r.state = ANY(\(closedStates))) OR (\(wantClosed) AND r.state = ANY(\(closedStates))))
                ORDER BY r.created_at DESC LIMIT \(maxResults)
                """
        }
        let names = Dictionary(directory.services.map { ($0.code, $0.name) }, uniquingKeysWith: { first, _ in first })
        var result: [Open311Value] = []
        let rows = try await store.postgres.query(query, logger: logger)
        for try await row in rows {
            let (id, state, category, description, unit, address, household, latitude, longitude, created, updated, expected, media, notes) =
                try row.decode((UUID, String, String, String, String?, String?, String?, Double?, Double?, Date, Date, Date?, String?, String?).self)
            result.append(
                .object([
                    ("service_request_id", .string(id.uuidString.lowercased())),
                    ("status", .string(closedStates.contains(state) ? "closed" : "open")),
                    ("status_notes", .string(notes)),
                    ("service_name", .string(names[category] ?? category)),
                    ("service_code", .string(category)),
                    ("description", .string(description)),
                    ("agency_responsible", .string(unit.map { directory.unitNames[$0] ?? $0 })),
                    ("service_notice", .string(nil)),
                    ("requested_datetime", .string(Self.w3c(created))),
                    ("updated_datetime", .string(Self.w3c(updated))),
                    ("expected_datetime", .string(expected.map(Self.w3c))),
                    ("address", .string(address)),
                    ("address_id", .string(household)),
                    ("zipcode", .string(nil)),
                    ("lat", .number(latitude)),
                    ("long", .number(longitude)),
                    // The client's own media URL, else the first submission photo's public copy (no EXIF).
                    ("media_url", .string(media.map { $0.hasPrefix("/v1/photos/") ? publicURL + $0 : $0 })),
                ])
            )
        }
        return result
    }

    static func w3c(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
