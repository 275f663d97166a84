import Configuration
import Foundation
import GridLoopAuth
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle

// MARK: - Pure rules

/// A file or page attached to a notice: a name and an http(s) link.
package struct NoticeAttachment: Codable, Sendable, Equatable {
    package var name: String
    package var url: String

    package init(name: String, url: String) {
        self.name = name
        self.url = url
    }
}

/// `POST /v1/notices`'s body.
package struct NoticeDraft: Decodable, Sendable, Equatable {
    package var title: String
    package var titleEn: String?
    package var body: String
    package var bodyEn: String?
    package var attachments: [NoticeAttachment]?
    package var dueOn: String
    package var street: String?
    package var kind: String?
    package var grids: [String]?

    package init(
        title: String,
        titleEn: String? = nil,
        body: String,
        bodyEn: String? = nil,
        attachments: [NoticeAttachment]? = nil,
        dueOn: String,
        street: String? = nil,
        kind: String? = nil,
        grids: [String]? = nil
    ) {
        self.title = title
        self.titleEn = titleEn
        self.body = body
        self.bodyEn = bodyEn
        self.attachments = attachments
        self.dueOn = dueOn
        self.street = street
        self.kind = kind
        self.grids = grids
    }
}

/// `POST /v1/notices/{id}/informs`'s body.
package struct InformDraft: Decodable, Sendable, Equatable {
    package var householdId: String
    /// `visit`, `phone` or `sms` (a string, checked by the rules, so that a wrong word is named
    /// as a field rather than as malformed JSON).
    package var via: String
    /// The resident's mobile number, for `sms` only.
    package var phone: String?
    package var note: String?
    /// The SMS's language, `zh` (default) or `en`.
    package var language: String?

    package init(householdId: String, via: String, phone: String? = nil, note: String? = nil, language: String? = nil) {
        self.householdId = householdId
        self.via = via
        self.phone = phone
        self.note = note
        self.language = language
    }
}

/// An inform the rules accepted: how, and for `sms` the mobile number (digits only).
package struct CheckedInform: Sendable, Equatable {
    package var via: InformVia
    package var phone: String?
    package var note: String?
    package var language: String?

    package init(via: InformVia, phone: String? = nil, note: String? = nil, language: String? = nil) {
        self.via = via
        self.phone = phone
        self.note = note
        self.language = language
    }
}

/// Policy notices' pure rules: what a notice and an inform must look like, who may publish and
/// inform, the mobile numbers an SMS goes to, confirm tokens, and when a grid lags.
package enum NoticeRules {
    /// The kinds of grid a notice can be published to.
    package static let kinds = ["residents", "compound", "merchants", "enterprises", "institutions"]
    /// At most this many attachments.
    package static let maxAttachments = 10

    /// `draft` trimmed, and every field that is wrong. `today` is the org's local day: a due day
    /// already over is refused (the notice would be overdue at once).
    package static func check(_ draft: NoticeDraft, today: String) -> (draft: NoticeDraft, errors: [FieldError]) {
        var errors: [FieldError] = []
        var clean = draft
        func trimmed(_ text: String?) -> String? {
            text.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        func oneLine(_ text: String) -> Bool { text.count <= 200 && PlainText.isClean(text) && !text.contains("\n") && !text.contains("\r") }
        clean.title = trimmed(draft.title) ?? ""
        if clean.title.isEmpty || !oneLine(clean.title) {
            errors.append(FieldError(field: "title", code: "invalid", message: "1–200 characters on one line"))
        }
        clean.titleEn = trimmed(draft.titleEn)
        if let titleEn = clean.titleEn, !oneLine(titleEn) {
            errors.append(FieldError(field: "titleEn", code: "invalid", message: "at most 200 characters on one line"))
        }
        clean.body = trimmed(draft.body) ?? ""
        if clean.body.isEmpty || clean.body.count > 10_000 || !PlainText.isClean(clean.body) {
            errors.append(FieldError(field: "body", code: "invalid", message: "1–10000 characters"))
        }
        clean.bodyEn = trimmed(draft.bodyEn)
        if let bodyEn = clean.bodyEn, bodyEn.count > 10_000 || !PlainText.isClean(bodyEn) {
            errors.append(FieldError(field: "bodyEn", code: "invalid", message: "at most 10000 characters"))
        }
        let attachments = draft.attachments ?? []
        if attachments.count > maxAttachments {
            errors.append(FieldError(field: "attachments", code: "invalid", message: "at most \(maxAttachments) attachments"))
        }
        clean.attachments = attachments.isEmpty ? nil : []
        for (index, attachment) in attachments.prefix(maxAttachments).enumerated() {
            let name = attachment.name.trimmingCharacters(in: .whitespacesAndNewlines)
            let url = attachment.url.trimmingCharacters(in: .whitespacesAndNewlines)
            if name.isEmpty || !oneLine(name) {
                errors.append(FieldError(field: "attachments[\(index)].name", code: "invalid", message: "1–200 characters on one line"))
            }
            if !isLink(url) {
                errors.append(
                    FieldError(field: "attachments[\(index)].url", code: "invalid", message: "an http or https link (at most 2000 characters)")
                )
            }
            clean.attachments?.append(NoticeAttachment(name: name, url: url))
        }
        clean.dueOn = draft.dueOn.trimmingCharacters(in: .whitespaces)
        if LocalDay.parse(clean.dueOn) == nil {
            errors.append(FieldError(field: "dueOn", code: "invalid", message: "a day, yyyy-MM-dd"))
        } else if clean.dueOn < today {
            errors.append(FieldError(field: "dueOn", code: "invalid", message: "today (\(today)) or later"))
        }
        clean.street = trimmed(draft.street)
        clean.kind = trimmed(draft.kind)
        if let kind = clean.kind, !kinds.contains(kind) {
            errors.append(FieldError(field: "kind", code: "invalid", message: "residents, compound, merchants, enterprises or institutions"))
        }
        if let grids = draft.grids, grids.isEmpty || grids.count > 500 {
            errors.append(FieldError(field: "grids", code: "invalid", message: "1–500 grid ids, or leave it out"))
        }
        return (clean, errors)
    }

    /// An absolute http(s) URL of at most 2000 characters.
    package static func isLink(_ text: String) -> Bool {
        guard text.count <= 2000, PlainText.isClean(text), !text.contains(where: \.isWhitespace), let components = URLComponents(string: text),
            let scheme = components.scheme?.lowercased(), ["http", "https"].contains(scheme), let host = components.host, !host.isEmpty
        else { return false }
        return true
    }

    /// How `draft` informs, or every field that is wrong. The number is never echoed in an error.
    package static func check(_ draft: InformDraft) -> Result<CheckedInform, ValidationFailure> {
        var errors: [FieldError] = []
        if draft.householdId.isEmpty || draft.householdId.count > 200 || !PlainText.isClean(draft.householdId) {
            errors.append(FieldError(field: "householdId", code: "invalid", message: "a household id of the org"))
        }
        let via = InformVia(rawValue: draft.via)
        if via == nil { errors.append(FieldError(field: "via", code: "invalid", message: "visit, phone or sms")) }
        var phone: String?
        if let given = draft.phone, !given.trimmingCharacters(in: .whitespaces).isEmpty, via != nil {
            if via != .sms {
                errors.append(FieldError(field: "phone", code: "invalid", message: "only with via sms (the number is not kept for visits or calls)"))
            } else if let number = mobileNumber(given) {
                phone = number
            } else {
                errors.append(FieldError(field: "phone", code: "invalid", message: "a mainland mobile number (11 digits from 13–19, optionally +86)"))
            }
        } else if via == .sms {
            errors.append(FieldError(field: "phone", code: "required", message: "the resident's mobile number, to send the SMS to"))
        }
        let note = draft.note.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
        if let note, note.count > 2000 || !PlainText.isClean(note) {
            errors.append(FieldError(field: "note", code: "invalid", message: "at most 2000 characters"))
        }
        if let language = draft.language, !Reporter.languages.contains(language) {
            errors.append(FieldError(field: "language", code: "invalid", message: "one of \(Reporter.languages.joined(separator: ", "))"))
        }
        guard errors.isEmpty, let via else { return .failure(ValidationFailure(errors: errors)) }
        return .success(CheckedInform(via: via, phone: phone, note: note, language: via == .sms ? draft.language : nil))
    }

    /// Field errors, as a value (`Result`'s failure).
    package struct ValidationFailure: Error, Equatable {
        package var errors: [FieldError]
    }

    /// `text` as an 11-digit mainland mobile number (`1[3-9]` and nine more digits), when it is
    /// one: a phone as intake takes it (``SubmissionDraft/isPhone(_:)``: digits, spaces, `-`, a
    /// leading `+`), with an optional `+86`/`86` country code.
    package static func mobileNumber(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard SubmissionDraft.isPhone(trimmed) else { return nil }
        var digits = trimmed.filter { $0.isASCII && $0.isNumber }
        if trimmed.hasPrefix("+") {
            guard digits.hasPrefix("86") else { return nil }
            digits.removeFirst(2)
        } else if digits.count == 13, digits.hasPrefix("86") {
            digits.removeFirst(2)
        }
        guard digits.count == 11, digits.hasPrefix("1"), let second = digits.dropFirst().first, ("3"..."9").contains(second) else { return nil }
        return digits
    }

    /// A confirm link's token: 32 random bytes, base64url without padding (43 characters).
    package static func confirmToken<Generator: RandomNumberGenerator>(using generator: inout Generator) -> String {
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// A fresh token from the system's secure generator.
    package static func confirmToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return confirmToken(using: &generator)
    }

    /// Whether `text` has a confirm token's shape (anything else is not looked up).
    package static func isConfirmToken(_ text: String) -> Bool {
        text.count == 43 && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
    }

    /// Why `principal` may not publish a notice to `grids` (each with its street), or `nil`: the
    /// rule of ``TaskRules/refusal(toOpen:grids:)`` (supervisors any grids, a street officer her
    /// street's), in a notice's words.
    package static func refusal(toPublish principal: Principal, grids: [(grid: String, street: String)]) -> String? {
        guard TaskRules.refusal(toOpen: principal, grids: grids) != nil else { return nil }
        if principal.role == "street-officer", let unit = principal.unit, unit.tier == .street {
            let others = grids.filter { $0.street != unit.id }.map(\.grid)
            return "\(principal.id) publishes notices to the grids of street \(unit.id) only; not \(others.joined(separator: ", "))"
        }
        return "notices are published by street officers (to their street's grids) and supervisors; not \(principal.id) (\(principal.role))"
    }

    /// Why `principal` may not record a household of `grid` informed, or `nil`: the rule of
    /// ``TaskRules/refusal(toCheck:grid:)`` (the grid's own staff), in a notice's words.
    package static func refusal(toInform principal: Principal, grid: String) -> String? {
        guard let refusal = TaskRules.refusal(toCheck: principal, grid: grid) else { return nil }
        guard ["grid-worker", "grid-leader"].contains(principal.role), principal.unit?.tier == .grid else {
            return "households are informed by their grid's staff (grid-worker, grid-leader of grid:\(grid)); not \(principal.id) (\(principal.role))"
        }
        return refusal + "; households are informed by their own grid's staff"
    }

    /// The alert a grid is due at `now`, or `nil`: `overdue` once `dueBy` has passed, `reminder`
    /// while `dueBy` is at most `remindWindow` seconds away — each only while households are left
    /// and only once (`reminded`, `overdue`: sent already). A grid first seen after the due
    /// instant gets the overdue alert only.
    package static func lagStage(
        now: Date,
        dueBy: Date,
        remindWindow: TimeInterval,
        households: Int,
        informed: Int,
        reminded: Bool,
        overdue: Bool
    ) -> NoticeLagStage? {
        guard households > 0, informed < households, !overdue else { return nil }
        if now >= dueBy { return .overdue }
        if !reminded, dueBy.timeIntervalSince(now) <= remindWindow { return .reminder }
        return nil
    }
}

// MARK: - HTTP

/// 上情下达 over HTTP: `POST /v1/notices` (a street or the district publishes a notice to
/// grids), `GET /v1/notices` and `GET /v1/notices/{id}` (with coverage: households informed of
/// the org's households, per grid and street), `POST /v1/notices/{id}/informs` (grid staff: a
/// household informed on a visit or by phone, or sent an SMS with a confirm link), and the
/// public `GET`/`POST /v1/notices/confirm/{token}` (the resident confirms from the SMS link).
/// Every change is one transaction with its event in the outbox.
struct NoticesController: Sendable {
    let postgres: PostgresClient
    let outbox: Outbox
    let relay: OutboxRelay
    let authenticator: Authenticator
    /// Seals the resident's number into `notice.sms` (it is never stored).
    let protector: DataProtector

    static func make(runtime: ServiceRuntime, authenticator: Authenticator, reader: ConfigReader) throws -> NoticesController {
        NoticesController(
            postgres: runtime.postgres,
            outbox: runtime.outbox,
            relay: runtime.relay,
            authenticator: authenticator,
            protector: try DataProtector.fromConfiguration(reader)
        )
    }

    func addRoutes(to router: Router<GridLoopRequestContext>) {
        router.post("v1/notices") { request, context in try await publish(request, context: context) }
        router.get("v1/notices") { request, context in try await list(request, context: context) }
        router.get("v1/notices/confirm/:token") { _, context in try await confirmation(context: context, confirm: false) }
        router.post("v1/notices/confirm/:token") { _, context in try await confirmation(context: context, confirm: true) }
        router.get("v1/notices/:id") { request, context in try await show(request, context: context) }
        router.post("v1/notices/:id/informs") { request, context in try await inform(request, context: context) }
    }

    /// A notice as the API gives it.
    struct NoticeView: Encodable {
        var id: String
        var title: String
        var titleEn: String?
        var body: String
        var bodyEn: String?
        var attachments: [NoticeAttachment]
        var dueOn: String
        var publishedBy: String
        var publishedByUnit: String
        var createdAt: Date
        var grids: [String]
        /// Informed households of the org's households (``TaskCoverage``; hazards are always 0).
        var coverage: TaskCoverage
        /// The caller's grid's households (grid staff).
        var households: [HouseholdView]?
    }

    struct HouseholdView: Encodable {
        var id: String
        var address: String
        var informed: Bool
        var via: InformVia?
        var informedBy: String?
        var informedAt: Date?
        /// The latest SMS sent to the household for the notice.
        var smsSentAt: Date?
    }

    /// What the resident's confirm link shows.
    struct ConfirmView: Encodable {
        var noticeId: String
        var title: String
        var titleEn: String?
        var body: String
        var bodyEn: String?
        var attachments: [NoticeAttachment]
        var confirmed: Bool
    }

    private static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    private static let replayed = HTTPField.Name("Idempotent-Replayed")!

    private static func notFound() -> Problem {
        Problem(status: .notFound, code: "not_found", title: "No such notice", detail: "no policy notice with that id")
    }

    // MARK: Publish

    private func publish(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        let logger = context.logger
        let draft = try await JSONBody.decode(NoticeDraft.self, from: request, upTo: 128 * 1024, title: "Malformed notice")
        let offset = try await LocalDay.utcOffset(on: postgres, logger: logger)
        let checked = NoticeRules.check(draft, today: LocalDay.day(of: Date(), utcOffset: offset))
        let body = checked.draft
        var errors = checked.errors
        let grids = try await GridSelection.grids(
            listed: body.grids,
            street: body.street,
            kind: body.kind,
            for: principal,
            on: postgres,
            logger: logger
        )
        if !errors.contains(where: { $0.field == "kind" || $0.field == "grids" }) {
            errors += GridSelection.problems(listed: body.grids, street: body.street, found: grids)
        }
        guard errors.isEmpty, let dueBy = LocalDay.end(of: body.dueOn, utcOffset: offset) else {
            throw Problem.validationFailed(errors, title: "Invalid notice")
        }
        if let refusal = NoticeRules.refusal(toPublish: principal, grids: grids) { throw Problem(AuthFailure.forbidden(refusal)) }
        // The same form sent again (Idempotency-Key) publishes nothing new: the notice it published.
        let key = request.headers[Self.idempotencyKey].map { "\(principal.id):\($0.prefix(200))" }
        if let key, let existing = try await notice(forKey: key, logger: logger) {
            return try JSONResponse.make(try await view(existing, for: principal, logger: logger), headers: [Self.replayed: "true"])
        }
        let households = try await GridSelection.households(of: grids, on: postgres, logger: logger)
        let id = UUID()
        let noticeId = id.uuidString.lowercased()
        let unit = principal.unit ?? RoutingRules.triage
        let event = MessageEnvelope(
            messageId: "notice-published:\(noticeId)",
            type: MessageType.noticePublished,
            requestId: nil,
            correlationId: noticeId,
            payload: NoticePublished(
                noticeId: noticeId,
                title: body.title,
                titleEn: body.titleEn,
                grids: grids.map(\.grid),
                households: households,
                dueOn: body.dueOn,
                publishedBy: principal.id,
                unit: unit
            )
        )
        let attachments = String(decoding: try JSONEncoder().encode(body.attachments ?? []), as: UTF8.self)
        let published = try await postgres.transaction(logger: logger) { connection -> Bool in
            let inserted = try await connection.query(
                """
                INSERT INTO routing.notices (id, title, title_en, body, body_en, attachments, due_on, due_by, published_by, published_by_unit,
                    idempotency_key)
                VALUES (\(id), \(body.title), \(body.titleEn), \(body.body), \(body.bodyEn), \(attachments)::jsonb, \(body.dueOn)::date, \(dueBy),
                    \(principal.id), \(unit.description), \(key))
                ON CONFLICT (idempotency_key) DO NOTHING RETURNING id
                """,
                logger: logger
            ).collect()
            guard !inserted.isEmpty else { return false }  // the same key, at the same moment
            try await connection.query(
                "INSERT INTO routing.notice_grids (notice_id, grid_id) SELECT \(id), unnest(\(grids.map(\.grid))::text[])",
                logger: logger
            )
            try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
            return true
        }
        guard published else {
            let existing = try await notice(forKey: key ?? "", logger: logger) ?? id
            return try JSONResponse.make(try await view(existing, for: principal, logger: logger), headers: [Self.replayed: "true"])
        }
        relay.wake()
        logger.info("notice published", metadata: ["notice.id": "\(noticeId)", "grids": "\(grids.count)", "by": "\(principal.id)"])
        return try JSONResponse.make(try await view(id, for: principal, logger: logger), status: .created)
    }

    /// The notice a form with `key` published already.
    private func notice(forKey key: String, logger: Logger) async throws -> UUID? {
        try await postgres.query("SELECT id FROM routing.notices WHERE idempotency_key = \(key)", logger: logger).collect().first?.decode(UUID.self)
    }

    // MARK: Read

    private func list(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        let unit = principal.unit
        let everything = principal.readsDistrict || unit?.tier == .oversight
        let ids = try await postgres.query(
            """
            SELECT n.id FROM routing.notices n
            WHERE \(everything) OR n.published_by = \(principal.id) OR EXISTS (
                SELECT 1 FROM routing.notice_grids ng JOIN routing.grids g ON g.id = ng.grid_id
                WHERE ng.notice_id = n.id
                  AND ((\(unit?.tier == .grid) AND g.id = \(unit?.id)) OR (\(unit?.tier == .street) AND g.street_id = \(unit?.id))))
            ORDER BY n.created_at DESC LIMIT 100
            """,
            logger: context.logger
        ).collect().map { try $0.decode(UUID.self) }
        var notices: [NoticeView] = []
        for id in ids { notices.append(try await view(id, for: principal, logger: context.logger)) }
        return try JSONResponse.make(notices)
    }

    private func show(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)), try await exists(id, logger: context.logger) else {
            throw Self.notFound()
        }
        let notice = try await view(id, for: principal, logger: context.logger)
        let streets = notice.coverage.streets.map(\.key)
        guard GridSelection.mayRead(principal, author: notice.publishedBy, grids: notice.grids, streets: streets) else {
            throw Problem(AuthFailure.forbidden("the notice reaches other grids than \(principal.id)'s"))
        }
        return try JSONResponse.make(notice)
    }

    private func exists(_ id: UUID, logger: Logger) async throws -> Bool {
        try await !postgres.query("SELECT 1 FROM routing.notices WHERE id = \(id)", logger: logger).collect().isEmpty
    }

    // MARK: Inform

    private func inform(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        let logger = context.logger
        guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)), try await exists(id, logger: logger) else {
            throw Self.notFound()
        }
        let draft = try await JSONBody.decode(InformDraft.self, from: request, upTo: 16 * 1024, title: "Malformed inform")
        var errors: [FieldError] = []
        var checked: CheckedInform?
        switch NoticeRules.check(draft) {
        case .success(let value): checked = value
        case .failure(let failure): errors = failure.errors
        }
        var grid: String?
        if !errors.contains(where: { $0.field == "householdId" }) {
            let found = try await postgres.query(
                """
                SELECT h.grid_id, EXISTS (SELECT 1 FROM routing.notice_grids ng WHERE ng.notice_id = \(id) AND ng.grid_id = h.grid_id)
                FROM routing.households h WHERE h.id = \(draft.householdId)
                """,
                logger: logger
            ).collect().first.map { try $0.decode((String, Bool).self) }
            if let (household, reached) = found {
                if reached {
                    grid = household
                } else {
                    errors.append(FieldError(field: "householdId", code: "invalid", message: "the notice does not reach grid:\(household)"))
                }
            } else {
                errors.append(FieldError(field: "householdId", code: "unknown", message: "no household '\(draft.householdId)' in the org"))
            }
        }
        guard errors.isEmpty, let checked, let grid else { throw Problem.validationFailed(errors, title: "Invalid inform") }
        if let refusal = NoticeRules.refusal(toInform: principal, grid: grid) { throw Problem(AuthFailure.forbidden(refusal)) }
        let household = draft.householdId
        if checked.via == .sms, let phone = checked.phone {
            let key = request.headers[Self.idempotencyKey].map { "\(principal.id):\($0.prefix(200))" }
            return try await sendSMS(
                id,
                household: household,
                grid: grid,
                phone: phone,
                language: checked.language,
                key: key,
                principal: principal,
                logger: logger
            )
        }
        let noticeId = id.uuidString.lowercased()
        let recorded = try await postgres.transaction(logger: logger) { connection -> Bool in
            let inserted = try await connection.query(
                """
                INSERT INTO routing.notice_informs (notice_id, household_id, grid_id, informed_by, via, note)
                VALUES (\(id), \(household), \(grid), \(principal.id), \(checked.via.rawValue), \(checked.note))
                ON CONFLICT (notice_id, household_id) DO NOTHING
                RETURNING informed_at < (SELECT due_by FROM routing.notices WHERE id = \(id)),
                    (SELECT street_id FROM routing.grids WHERE id = \(grid))
                """,
                logger: logger
            ).collect().first.map { try $0.decode((Bool, String).self) }
            guard let (onTime, street) = inserted else { return false }
            let event = MessageEnvelope(
                messageId: "notice-informed:\(noticeId):\(household)",
                type: MessageType.noticeInformed,
                requestId: nil,
                correlationId: noticeId,
                payload: NoticeInformed(
                    noticeId: noticeId,
                    householdId: household,
                    grid: grid,
                    street: street,
                    staff: principal.id,
                    via: checked.via,
                    onTime: onTime
                )
            )
            try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
            return true
        }
        if recorded {
            relay.wake()
            logger.info("household informed", metadata: ["notice.id": "\(noticeId)", "household": "\(household)", "via": "\(checked.via.rawValue)"])
        }
        // A household informed twice counts once: the second answer says so and changes nothing.
        return try JSONResponse.make(try await view(id, for: principal, logger: logger), status: recorded ? .created : .ok)
    }

    /// Sends the household the notice by SMS: a confirm token recorded, `notice.sms` with the
    /// number sealed (it is not stored, nor logged). A household informed already is sent
    /// nothing (200); the same Idempotency-Key again sends nothing new (202, replayed).
    private func sendSMS(
        _ id: UUID,
        household: String,
        grid: String,
        phone: String,
        language: String?,
        key: String?,
        principal: Principal,
        logger: Logger
    ) async throws -> Response {
        let noticeId = id.uuidString.lowercased()
        let informed = try await !postgres.query(
            "SELECT 1 FROM routing.notice_informs WHERE notice_id = \(id) AND household_id = \(household)",
            logger: logger
        ).collect().isEmpty
        if informed { return try JSONResponse.make(try await view(id, for: principal, logger: logger), status: .ok) }
        if let key, try await smsSent(forKey: key, logger: logger) {
            return try JSONResponse.make(try await view(id, for: principal, logger: logger), status: .accepted, headers: [Self.replayed: "true"])
        }
        let (title, titleEn) =
            try await postgres.query("SELECT title, title_en FROM routing.notices WHERE id = \(id)", logger: logger).collect()
            .first.map { try $0.decode((String, String?).self) } ?? ("", nil)
        let token = NoticeRules.confirmToken()
        let sealed = protector.seal(phone)
        let sent = try await postgres.transaction(logger: logger) { connection -> Bool in
            let inserted = try await connection.query(
                """
                INSERT INTO routing.notice_sms (token, notice_id, household_id, grid_id, sent_by, idempotency_key)
                VALUES (\(token), \(id), \(household), \(grid), \(principal.id), \(key))
                ON CONFLICT (idempotency_key) DO NOTHING RETURNING sent_at
                """,
                logger: logger
            ).collect().first?.decode(Date.self)
            guard let sentAt = inserted else { return false }  // the same key, at the same moment
            let event = MessageEnvelope(
                messageId: "notice-sms:\(noticeId):\(household):\(Int64((sentAt.timeIntervalSince1970 * 1_000_000).rounded()))",
                type: MessageType.noticeSMS,
                requestId: nil,
                correlationId: noticeId,
                payload: NoticeSMS(
                    noticeId: noticeId,
                    householdId: household,
                    grid: grid,
                    title: title,
                    titleEn: titleEn,
                    phoneSealed: sealed,
                    token: token,
                    staff: principal.id,
                    language: language
                )
            )
            try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
            return true
        }
        if sent {
            relay.wake()
            logger.info("notice SMS asked for", metadata: ["notice.id": "\(noticeId)", "household": "\(household)", "by": "\(principal.id)"])
        }
        return try JSONResponse.make(
            try await view(id, for: principal, logger: logger),
            status: .accepted,
            headers: sent ? [:] : [Self.replayed: "true"]
        )
    }

    private func smsSent(forKey key: String, logger: Logger) async throws -> Bool {
        try await !postgres.query("SELECT 1 FROM routing.notice_sms WHERE idempotency_key = \(key)", logger: logger).collect().isEmpty
    }

    // MARK: Confirm (public)

    /// `GET` shows the notice behind a confirm link; `POST` confirms it: the household counts
    /// informed `via: sms` by whoever sent the SMS (once; a second confirm changes nothing).
    private func confirmation(context: GridLoopRequestContext, confirm: Bool) async throws -> Response {
        let logger = context.logger
        guard let token = context.parameters.get("token"), NoticeRules.isConfirmToken(token) else { throw Self.unknownToken() }
        if confirm {
            let found = try await postgres.transaction(logger: logger) { connection -> Bool in
                let row = try await connection.query(
                    """
                    SELECT s.notice_id, s.household_id, s.grid_id, s.sent_by, s.confirmed_at IS NOT NULL, coalesce(g.street_id, ''), n.due_by
                    FROM routing.notice_sms s JOIN routing.notices n ON n.id = s.notice_id LEFT JOIN routing.grids g ON g.id = s.grid_id
                    WHERE s.token = \(token) FOR UPDATE OF s
                    """,
                    logger: logger
                ).collect().first
                guard let row else { return false }
                let (id, household, grid, staff, confirmed, street, dueBy) = try row.decode((UUID, String, String, String, Bool, String, Date).self)
                guard !confirmed else { return true }
                let at =
                    try await connection.query(
                        "UPDATE routing.notice_sms SET confirmed_at = now() WHERE token = \(token) RETURNING confirmed_at",
                        logger: logger
                    ).collect().first?.decode(Date.self) ?? Date()
                let inserted = try await connection.query(
                    """
                    INSERT INTO routing.notice_informs (notice_id, household_id, grid_id, informed_by, via, informed_at)
                    VALUES (\(id), \(household), \(grid), \(staff), 'sms', \(at))
                    ON CONFLICT (notice_id, household_id) DO NOTHING RETURNING household_id
                    """,
                    logger: logger
                ).collect()
                guard !inserted.isEmpty else { return true }  // informed meanwhile on a visit or call
                let noticeId = id.uuidString.lowercased()
                let event = MessageEnvelope(
                    messageId: "notice-informed:\(noticeId):\(household)",
                    type: MessageType.noticeInformed,
                    requestId: nil,
                    correlationId: noticeId,
                    payload: NoticeInformed(
                        noticeId: noticeId,
                        householdId: household,
                        grid: grid,
                        street: street,
                        staff: staff,
                        via: .sms,
                        onTime: at < dueBy
                    )
                )
                try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
                logger.info("notice confirmed by SMS link", metadata: ["notice.id": "\(noticeId)", "household": "\(household)"])
                return true
            }
            guard found else { throw Self.unknownToken() }
            relay.wake()
        }
        let row = try await postgres.query(
            """
            SELECT n.id, n.title, n.title_en, n.body, n.body_en, n.attachments::text, s.confirmed_at IS NOT NULL
            FROM routing.notice_sms s JOIN routing.notices n ON n.id = s.notice_id WHERE s.token = \(token)
            """,
            logger: logger
        ).collect().first
        guard let row else { throw Self.unknownToken() }
        let (id, title, titleEn, body, bodyEn, attachments, confirmed) = try row.decode((UUID, String, String?, String, String?, String, Bool).self)
        return try JSONResponse.make(
            ConfirmView(
                noticeId: id.uuidString.lowercased(),
                title: title,
                titleEn: titleEn,
                body: body,
                bodyEn: bodyEn,
                attachments: Self.attachments(attachments),
                confirmed: confirmed
            )
        )
    }

    private static func unknownToken() -> Problem {
        Problem(status: .notFound, code: "not_found", title: "No such link", detail: "no notice is sent with that link")
    }

    private static func attachments(_ json: String) -> [NoticeAttachment] {
        (try? JSONDecoder().decode([NoticeAttachment].self, from: Data(json.utf8))) ?? []
    }

    // MARK: View

    /// The notice with its coverage, and the caller's grid's households when the notice reaches it.
    private func view(_ id: UUID, for principal: Principal, logger: Logger) async throws -> NoticeView {
        let row = try await postgres.query(
            """
            SELECT title, title_en, body, body_en, attachments::text, to_char(due_on, 'YYYY-MM-DD'), due_by, published_by, published_by_unit,
                created_at
            FROM routing.notices WHERE id = \(id)
            """,
            logger: logger
        ).collect().first
        guard let row else { throw Self.notFound() }
        let (title, titleEn, body, bodyEn, attachments, dueOn, dueBy, publishedBy, publishedByUnit, createdAt) = try row.decode(
            (String, String?, String, String?, String, String, Date, String, String, Date).self
        )
        let homes = try await postgres.query(
            """
            SELECT ng.grid_id, g.street_id, h.id, h.address FROM routing.notice_grids ng JOIN routing.grids g ON g.id = ng.grid_id
            LEFT JOIN routing.households h ON h.grid_id = ng.grid_id WHERE ng.notice_id = \(id) ORDER BY ng.grid_id, h.id
            """,
            logger: logger
        ).collect().map { try $0.decode((String, String, String?, String?).self) }
        let sheet = GridSelection.Homes(homes)
        let (households, streetOf, addresses) = (sheet.households, sheet.streetOf, sheet.addresses)
        let informs = try await postgres.query(
            "SELECT household_id, informed_at, via, informed_by FROM routing.notice_informs WHERE notice_id = \(id)",
            logger: logger
        ).collect().map { try $0.decode((String, Date, String, String).self) }
        let coverage = TaskCoverage.compute(
            households: households,
            streetOf: streetOf,
            checks: informs.map { TaskCoverage.Check(household: $0.0, at: $0.1, outcome: .ok) },
            dueBy: dueBy
        )
        var own: [HouseholdView]?
        if let unit = principal.unit, unit.tier == .grid, let members = households[unit.id] {
            let sent = try await postgres.query(
                "SELECT household_id, max(sent_at) FROM routing.notice_sms WHERE notice_id = \(id) AND grid_id = \(unit.id) GROUP BY household_id",
                logger: logger
            ).collect().map { try $0.decode((String, Date).self) }
            let smsSent = Dictionary(sent, uniquingKeysWith: max)
            let byHousehold = Dictionary(informs.map { ($0.0, $0) }, uniquingKeysWith: { first, _ in first })
            own = members.map { household in
                let inform = byHousehold[household]
                return HouseholdView(
                    id: household,
                    address: addresses[household] ?? "",
                    informed: inform != nil,
                    via: inform.flatMap { InformVia(rawValue: $0.2) },
                    informedBy: inform?.3,
                    informedAt: inform?.1,
                    smsSentAt: smsSent[household]
                )
            }
        }
        return NoticeView(
            id: id.uuidString.lowercased(),
            title: title,
            titleEn: titleEn,
            body: body,
            bodyEn: bodyEn,
            attachments: Self.attachments(attachments),
            dueOn: dueOn,
            publishedBy: publishedBy,
            publishedByUnit: publishedByUnit,
            createdAt: createdAt,
            grids: households.keys.sorted(),
            coverage: coverage,
            households: own
        )
    }
}

// MARK: - Coverage watch

extension NoticesController {
    /// The notices' coverage watch (``NoticeWatch``): every `ROUTING_NOTICE_WATCH_SECONDS` (30),
    /// reminders `ROUTING_NOTICE_REMIND_HOURS` (24) before the due instant.
    static func services(runtime: ServiceRuntime, reader: ConfigReader) throws -> [any Service] {
        [
            NoticeWatch(
                postgres: runtime.postgres,
                outbox: runtime.outbox,
                relay: runtime.relay,
                interval: .seconds(max(1, reader.int(forKey: "routing.notice.watch.seconds", default: 30))),
                remindWindow: TimeInterval(max(0, reader.int(forKey: "routing.notice.remind.hours", default: 24))) * 3600,
                logger: runtime.logger
            )
        ]
    }
}

/// Alerts grids whose notice coverage lags: `notice.lagging` stage `reminder` (to the grid's
/// staff) once the due instant is `remindWindow` away, stage `overdue` (to the street's
/// officers) once it has passed — each while the grid has households left, at most once per
/// notice and grid (``NoticeRules/lagStage(now:dueBy:remindWindow:households:informed:reminded:overdue:)``
/// decides; the rows are taken `FOR UPDATE SKIP LOCKED` and the `UPDATE … WHERE reminded_at IS
/// NULL RETURNING` records the alert with its event in one transaction, so routing's replicas
/// share the work and none sends an alert twice).
struct NoticeWatch: Service {
    let postgres: PostgresClient
    let outbox: Outbox
    let relay: OutboxRelay
    let interval: Duration
    /// Seconds before the due instant a lagging grid is reminded.
    let remindWindow: TimeInterval
    let logger: Logger
    /// Grids taken per transaction.
    var batch = 100
    /// A grid is alerted overdue at most this many days after the due day (a grid done before
    /// it is never alerted, and is not looked at again after this).
    static let lateAlertDays = 7

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                while true {
                    let (taken, alerted) = try await withDeadline(.seconds(30), "notice watch") { [self] in try await sweep() }
                    if alerted > 0 { relay.wake() }
                    if taken < batch || Task.isShuttingDownGracefully { break }
                }
            } catch {
                logger.warning("notice watch failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One batch: the lagging grids due an alert, each alerted once. Returns the grids taken
    /// and the alerts published.
    func sweep() async throws -> (taken: Int, alerted: Int) {
        try await postgres.transaction(logger: logger) { [self] connection -> (Int, Int) in
            let rows = try await connection.query(
                """
                SELECT ng.notice_id, ng.grid_id, g.street_id, n.title, to_char(n.due_on, 'YYYY-MM-DD'), n.due_by, now(), ng.reminded_at IS NOT NULL,
                    (SELECT count(*) FROM routing.households h WHERE h.grid_id = ng.grid_id)::int,
                    (SELECT count(*) FROM routing.notice_informs i JOIN routing.households h ON h.id = i.household_id AND h.grid_id = ng.grid_id
                     WHERE i.notice_id = ng.notice_id)::int
                FROM routing.notice_grids ng JOIN routing.notices n ON n.id = ng.notice_id JOIN routing.grids g ON g.id = ng.grid_id
                WHERE ng.overdue_at IS NULL AND n.due_by <= now() + make_interval(secs => \(remindWindow))
                  AND n.due_by > now() - make_interval(days => \(Self.lateAlertDays)::int)
                  AND (ng.reminded_at IS NULL OR n.due_by <= now())
                  AND EXISTS (
                      SELECT 1 FROM routing.households h WHERE h.grid_id = ng.grid_id
                        AND NOT EXISTS (SELECT 1 FROM routing.notice_informs i WHERE i.notice_id = ng.notice_id AND i.household_id = h.id))
                ORDER BY n.due_by, ng.notice_id, ng.grid_id LIMIT \(batch)
                FOR UPDATE OF ng SKIP LOCKED
                """,
                logger: logger
            ).collect()
            var alerted = 0
            for row in rows {
                let (id, grid, street, title, dueOn, dueBy, now, reminded, households, informed) = try row.decode(
                    (UUID, String, String, String, String, Date, Date, Bool, Int, Int).self
                )
                guard
                    let stage = NoticeRules.lagStage(
                        now: now,
                        dueBy: dueBy,
                        remindWindow: remindWindow,
                        households: households,
                        informed: informed,
                        reminded: reminded,
                        overdue: false
                    )
                else { continue }
                let marked: [PostgresRow]
                if stage == .reminder {
                    marked = try await connection.query(
                        """
                        UPDATE routing.notice_grids SET reminded_at = now()
                        WHERE notice_id = \(id) AND grid_id = \(grid) AND reminded_at IS NULL AND overdue_at IS NULL RETURNING grid_id
                        """,
                        logger: logger
                    ).collect()
                } else {
                    marked = try await connection.query(
                        """
                        UPDATE routing.notice_grids SET overdue_at = now()
                        WHERE notice_id = \(id) AND grid_id = \(grid) AND overdue_at IS NULL RETURNING grid_id
                        """,
                        logger: logger
                    ).collect()
                }
                guard !marked.isEmpty else { continue }
                let noticeId = id.uuidString.lowercased()
                let event = MessageEnvelope(
                    messageId: "notice-lagging:\(noticeId):\(grid):\(stage.rawValue)",
                    type: MessageType.noticeLagging,
                    requestId: nil,
                    correlationId: noticeId,
                    payload: NoticeLagging(
                        noticeId: noticeId,
                        title: title,
                        grid: grid,
                        street: street,
                        informed: informed,
                        households: households,
                        dueOn: dueOn,
                        stage: stage
                    )
                )
                try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
                logger.info(
                    "notice coverage lags",
                    metadata: ["notice.id": "\(noticeId)", "grid": "\(grid)", "stage": "\(stage.rawValue)", "informed": "\(informed)/\(households)"]
                )
                alerted += 1
            }
            return (rows.count, alerted)
        }
    }
}

// MARK: - Schema

extension RoutingSchema {
    /// Policy notices (上情下达): the notice, the grids it reaches (with the watch's alerts), the
    /// households informed (once each), and the SMS confirm links (the resident's number is not
    /// stored: it travels sealed in `notice.sms` only).
    static let noticeMigrations: [Migration] = [
        Migration(
            version: 22,
            name: "policy notices (上情下达)",
            statements: [
                """
                CREATE TABLE routing.notices (
                    id uuid PRIMARY KEY,
                    title text NOT NULL,
                    title_en text,
                    body text NOT NULL,
                    body_en text,
                    attachments jsonb NOT NULL DEFAULT '[]',
                    due_on date NOT NULL,
                    due_by timestamptz NOT NULL,
                    published_by text NOT NULL,
                    published_by_unit text NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    idempotency_key text UNIQUE
                )
                """,
                "CREATE INDEX notices_by_creation ON routing.notices (created_at DESC)",
                """
                CREATE TABLE routing.notice_grids (
                    notice_id uuid NOT NULL REFERENCES routing.notices (id),
                    grid_id text NOT NULL,
                    reminded_at timestamptz,
                    overdue_at timestamptz,
                    PRIMARY KEY (notice_id, grid_id)
                )
                """,
                "CREATE INDEX notice_grids_by_grid ON routing.notice_grids (grid_id)",
                "CREATE INDEX notice_grids_open ON routing.notice_grids (notice_id) WHERE overdue_at IS NULL",
                """
                CREATE TABLE routing.notice_informs (
                    notice_id uuid NOT NULL REFERENCES routing.notices (id),
                    household_id text NOT NULL,
                    grid_id text NOT NULL,
                    informed_by text NOT NULL,
                    via text NOT NULL CHECK (via IN ('visit', 'phone', 'sms')),
                    informed_at timestamptz NOT NULL DEFAULT now(),
                    note text,
                    PRIMARY KEY (notice_id, household_id)
                )
                """,
                """
                CREATE TABLE routing.notice_sms (
                    token text PRIMARY KEY,
                    notice_id uuid NOT NULL REFERENCES routing.notices (id),
                    household_id text NOT NULL,
                    grid_id text NOT NULL,
                    sent_by text NOT NULL,
                    sent_at timestamptz NOT NULL DEFAULT now(),
                    confirmed_at timestamptz,
                    idempotency_key text UNIQUE
                )
                """,
                "CREATE INDEX notice_sms_by_notice ON routing.notice_sms (notice_id, household_id)",
            ]
        )
    ]
}
