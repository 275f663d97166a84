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

/// Who may open a consultation, record a household's position and take its street-level steps
/// (the meeting outcome, the close): pure rules, worded for consultations, as ``TaskRules``.
package enum ConsultationRules {
    /// Why `principal` may not open a consultation for `grids` (each with its street), or `nil`:
    /// supervisors for any grids, a street officer for her street's grids only.
    package static func refusal(toOpen principal: Principal, grids: [(grid: String, street: String)]) -> String? {
        if principal.role == "supervisor" { return nil }
        guard principal.role == "street-officer", let unit = principal.unit, unit.tier == .street else {
            return "consultations are opened by street officers (for their street's grids) and supervisors; not \(principal.id) (\(principal.role))"
        }
        let others = grids.filter { $0.street != unit.id }.map(\.grid)
        return others.isEmpty
            ? nil : "\(principal.id) opens consultations for the grids of street \(unit.id) only; not \(others.joined(separator: ", "))"
    }

    /// Why `principal` may not record the position of a household of `grid`, or `nil`: the grid's own staff.
    package static func refusal(toRecord principal: Principal, grid: String) -> String? {
        guard ["grid-worker", "grid-leader"].contains(principal.role), let unit = principal.unit, unit.tier == .grid else {
            return "households' positions are recorded by their grid's staff (grid-worker, grid-leader); not \(principal.id) (\(principal.role))"
        }
        return unit.id == grid ? nil : "the household is in grid:\(grid), not \(unit): its position is recorded by grid:\(grid)'s staff"
    }

    /// Why `principal` may not take the street-level `step` of a consultation reaching `grids`, or
    /// `nil`: a supervisor, or a street officer of the street all its grids belong to.
    package static func refusal(toDecide step: String, principal: Principal, grids: [(grid: String, street: String)]) -> String? {
        if principal.role == "supervisor" { return nil }
        let streets = Set(grids.map(\.street)).sorted()
        let who =
            streets.count == 1 ? "a street officer of street \(streets[0])" : "a supervisor (it reaches streets \(streets.joined(separator: ", ")))"
        guard principal.role == "street-officer", let unit = principal.unit, unit.tier == .street, streets == [unit.id] else {
            return "\(step) is recorded by \(who) or a supervisor; not \(principal.id) (\(principal.role))"
        }
        return nil
    }
}

/// What an entry of a consultation's record (`routing.consultation_record`) records.
package enum ConsultationRecordKind: String, Sendable, CaseIterable {
    case opened, position, meeting, closed
}

/// 议事 over HTTP: `POST /v1/consultations` (a question put to the households of grids),
/// `GET /v1/consultations`, `GET /v1/consultations/{id}` (the tally per grid and in all, the
/// option the rule reached, concerns voiced, the caller's grid's households),
/// `POST /v1/consultations/{id}/positions` (a household's position, recorded on a visit by its
/// grid's staff; one per household, the latest counts), `POST /v1/consultations/{id}/meeting` (the
/// residents' representatives' meeting outcome), `POST /v1/consultations/{id}/close` (the result:
/// the option reached) and `GET /v1/consultations/{id}/record`: every opening, position, meeting
/// outcome and close appended, in the transaction that makes it, to a hash-chained record the
/// service role may only read and append to (`gridloop audit verify` walks it).
struct ConsultationsController: Sendable {
    let postgres: PostgresClient
    let outbox: Outbox
    let relay: OutboxRelay
    let authenticator: Authenticator

    static func make(runtime: ServiceRuntime, authenticator: Authenticator, reader: ConfigReader) throws -> ConsultationsController {
        ConsultationsController(postgres: runtime.postgres, outbox: runtime.outbox, relay: runtime.relay, authenticator: authenticator)
    }

    func addRoutes(to router: Router<GridLoopRequestContext>) {
        router.post("v1/consultations") { request, context in try await open(request, context: context) }
        router.get("v1/consultations") { request, context in try await list(request, context: context) }
        router.get("v1/consultations/:id") { request, context in try await show(request, context: context) }
        router.post("v1/consultations/:id/positions") { request, context in try await position(request, context: context) }
        router.post("v1/consultations/:id/meeting") { request, context in try await meeting(request, context: context) }
        router.post("v1/consultations/:id/close") { request, context in try await close(request, context: context) }
        router.get("v1/consultations/:id/record") { request, context in try await record(request, context: context) }
    }

    // MARK: Bodies and views

    /// One option of a consultation (`yes`, `no` …), as sent, stored (`options` jsonb) and shown.
    struct Option: Codable, Sendable, Equatable {
        var id: String
        var label: String
        var labelEn: String?
    }

    struct OpenBody: Decodable {
        var question: String?
        var questionEn: String?
        var options: [Option]?
        var endsOn: String?
        var rule: String?
        var street: String?
        var kind: String?
        var grids: [String]?
    }

    struct PositionBody: Decodable {
        var householdId: String?
        var option: String?
        var concerns: String?
    }

    struct MeetingBody: Decodable {
        var outcome: String?
        var heldOn: String?
    }

    /// A consultation as the API gives it.
    struct ConsultationView: Encodable {
        var id: String
        var question: String
        var questionEn: String?
        var options: [Option]
        var endsOn: String
        var rule: String
        var openedBy: String
        var openedByUnit: String
        var createdAt: Date
        var grids: [String]
        var tally: ConsultationTally
        /// Households one option needs under the rule (of all the consultation's households).
        var needed: Int
        /// The option held by at least `needed` households (and more than any other), if any.
        var reached: String?
        /// `open` or `closed`.
        var state: String
        /// Latest positions with concerns (street officers, supervisors, the one who opened it).
        var concerns: [ConcernView]?
        /// The caller's grid's households and their positions (grid staff).
        var households: [HouseholdView]?
        var meeting: MeetingView?
        var closedAt: Date?
        var closedBy: String?
        var result: String?
    }

    struct ConcernView: Encodable {
        var householdId: String
        var grid: String
        var option: String
        var concerns: String
        var recordedBy: String
        var recordedAt: Date
    }

    struct HouseholdView: Encodable {
        var id: String
        var address: String
        var option: String?
        var concerns: String?
        var recordedBy: String?
        var recordedAt: Date?
    }

    struct MeetingView: Encodable {
        var outcome: String
        var on: String?
    }

    /// One entry of the record, with what it takes to recompute its hash.
    struct RecordEntryView: Encodable {
        var consultationId: String
        var seq: Int
        var kind: String
        /// The canonical JSON text that was hashed.
        var body: String
        var at: Date
        /// `at` in whole milliseconds since 1970, as hashed.
        var atMillis: Int64
        var prevHash: String
        var hash: String
    }

    // MARK: Record bodies (canonical JSON, hashed)

    struct OpenedRecord: Encodable {
        var consultationId: String
        var question: String
        var questionEn: String?
        var options: [Option]
        var endsOn: String
        var rule: String
        var grids: [String]
        var households: [String: Int]
        var openedBy: String
        var unit: String
    }

    struct PositionRecord: Encodable {
        var consultationId: String
        var householdId: String
        var grid: String
        var option: String
        var previous: String?
        var concerns: String?
        var recordedBy: String
    }

    struct MeetingRecord: Encodable {
        var consultationId: String
        var outcome: String
        var heldOn: String?
        var recordedBy: String
    }

    struct ClosedRecord: Encodable {
        var consultationId: String
        var result: String?
        var rule: String
        var households: Int
        var positions: Int
        var needed: Int
        var tally: [String: Int]
        var meetingOutcome: String?
        var closedBy: String
    }

    // MARK: Open

    private func open(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        let body = try await JSONBody.decode(OpenBody.self, from: request, upTo: 64 * 1024, title: "Malformed consultation")
        let logger = context.logger
        let question = (body.question ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let questionEn = body.questionEn.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
        var errors: [FieldError] = []
        if question.isEmpty || question.count > 500 || !PlainText.isClean(question) {
            errors.append(FieldError(field: "question", code: body.question == nil ? "required" : "invalid", message: "1–500 characters"))
        }
        if let questionEn, questionEn.count > 500 || !PlainText.isClean(questionEn) {
            errors.append(FieldError(field: "questionEn", code: "invalid", message: "at most 500 characters"))
        }
        var options: [Option] = []
        if let given = body.options {
            if !(2...6).contains(given.count) {
                errors.append(FieldError(field: "options", code: "invalid", message: "2–6 options"))
            }
            for (index, option) in given.enumerated() {
                let id = option.id.trimmingCharacters(in: .whitespaces)
                let label = option.label.trimmingCharacters(in: .whitespacesAndNewlines)
                let labelEn = option.labelEn.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
                if id.isEmpty || id.count > 32
                    || !id.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_".unicodeScalars.contains($0)) })
                {
                    errors.append(FieldError(field: "options[\(index)].id", code: "invalid", message: "1–32 letters, digits, - or _ (e.g. yes)"))
                } else if options.contains(where: { $0.id == id.lowercased() }) {
                    errors.append(FieldError(field: "options[\(index)].id", code: "duplicate", message: "'\(id)' is another option's id"))
                }
                if label.isEmpty || label.count > 100 || label.contains("\n") || !PlainText.isClean(label) {
                    errors.append(FieldError(field: "options[\(index)].label", code: "invalid", message: "1–100 characters on one line"))
                }
                if let labelEn, labelEn.count > 100 || labelEn.contains("\n") || !PlainText.isClean(labelEn) {
                    errors.append(FieldError(field: "options[\(index)].labelEn", code: "invalid", message: "at most 100 characters on one line"))
                }
                options.append(Option(id: id.lowercased(), label: label, labelEn: labelEn))
            }
        } else {
            errors.append(FieldError(field: "options", code: "required", message: "2–6 options, [{id, label, labelEn?}]"))
        }
        let rule = body.rule.flatMap(ConsultationRule.init)
        if rule == nil {
            errors.append(
                FieldError(
                    field: "rule",
                    code: body.rule == nil ? "required" : "invalid",
                    message: "num/den with 0 < num/den ≤ 1, e.g. 2/3 (an option held by two thirds of all the households)"
                )
            )
        }
        var endsBy: Date?
        if let endsOn = body.endsOn, Self.isDay(endsOn) {
            let end = LocalDay.end(of: endsOn, utcOffset: try await LocalDay.utcOffset(on: postgres, logger: logger)) ?? Date()
            if end <= Date() {
                errors.append(FieldError(field: "endsOn", code: "invalid", message: "a day not over yet"))
            } else {
                endsBy = end
            }
        } else {
            errors.append(FieldError(field: "endsOn", code: body.endsOn == nil ? "required" : "invalid", message: "a day, yyyy-MM-dd"))
        }
        if let kind = body.kind, !["residents", "compound", "merchants", "enterprises", "institutions"].contains(kind) {
            errors.append(FieldError(field: "kind", code: "invalid", message: "residents, compound, merchants, enterprises or institutions"))
        }
        guard errors.isEmpty, let rule, let endsBy, let endsOn = body.endsOn else {
            throw Problem.validationFailed(errors, title: "Invalid consultation")
        }
        let grids = try await GridSelection.grids(
            listed: body.grids,
            street: body.street,
            kind: body.kind,
            for: principal,
            on: postgres,
            logger: logger
        )
        let problems = GridSelection.problems(listed: body.grids, street: body.street, found: grids)
        guard problems.isEmpty else { throw Problem.validationFailed(problems, title: "Invalid consultation") }
        if let refusal = ConsultationRules.refusal(toOpen: principal, grids: grids) { throw Problem(AuthFailure.forbidden(refusal)) }
        let households = try await GridSelection.households(of: grids, on: postgres, logger: logger)
        guard households.values.reduce(0, +) > 0 else {
            throw Problem.validationFailed(
                [FieldError(field: "grids", code: "empty", message: "the grids have no households of the org to consult")],
                title: "Invalid consultation"
            )
        }
        // The same form sent again (Idempotency-Key) opens nothing new: the consultation it opened.
        let key = request.headers[HTTPField.Name("Idempotency-Key")!].map { "\(principal.id):\($0.prefix(200))" }
        if let key, let existing = try await consultation(forKey: key, logger: logger) {
            return try JSONResponse.make(
                try await view(existing, for: principal, logger: logger),
                headers: [HTTPField.Name("Idempotent-Replayed")!: "true"]
            )
        }
        let id = UUID()
        let consultationId = id.uuidString.lowercased()
        let unit = principal.unit ?? RoutingRules.triage
        let gridIds = grids.map(\.grid)
        let optionsJSON = try RecordChain.canonical(options)
        let at = RecordChain.storedTime(Date())
        let opened = OpenedRecord(
            consultationId: consultationId,
            question: question,
            questionEn: questionEn,
            options: options,
            endsOn: endsOn,
            rule: rule.description,
            grids: gridIds,
            households: households,
            openedBy: principal.id,
            unit: unit.description
        )
        let event = MessageEnvelope(
            messageId: "consultation-opened:\(consultationId)",
            type: MessageType.consultationOpened,
            occurredAt: at,
            requestId: nil,
            correlationId: consultationId,
            payload: ConsultationOpened(
                consultationId: consultationId,
                question: question,
                options: options.map(\.id),
                endsOn: endsOn,
                rule: rule.description,
                grids: gridIds,
                households: households,
                openedBy: principal.id,
                unit: unit
            )
        )
        let inserted = try await postgres.transaction(logger: logger) { connection -> Bool in
            let rows = try await connection.query(
                """
                INSERT INTO routing.consultations (id, question, question_en, options, ends_on, ends_by, rule_num, rule_den, opened_by,
                    opened_by_unit, created_at, idempotency_key)
                VALUES (\(id), \(question), \(questionEn), \(optionsJSON)::jsonb, \(endsOn)::date, \(endsBy), \(rule.numerator), \(rule.denominator),
                    \(principal.id), \(unit.description), \(at), \(key))
                ON CONFLICT (idempotency_key) DO NOTHING RETURNING id
                """,
                logger: logger
            ).collect()
            guard !rows.isEmpty else { return false }  // the same key, at the same moment
            try await connection.query(
                "INSERT INTO routing.consultation_grids (consultation_id, grid_id) SELECT \(id), unnest(\(gridIds)::text[])",
                logger: logger
            )
            try await Self.append(.opened, body: opened, to: id, at: at, on: connection, logger: logger)
            try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
            return true
        }
        guard inserted else {
            let existing = try await consultation(forKey: key ?? "", logger: logger) ?? id
            return try JSONResponse.make(
                try await view(existing, for: principal, logger: logger),
                headers: [HTTPField.Name("Idempotent-Replayed")!: "true"]
            )
        }
        relay.wake()
        logger.info("consultation opened", metadata: ["consultation.id": "\(consultationId)", "grids": "\(gridIds.count)", "by": "\(principal.id)"])
        return try JSONResponse.make(try await view(id, for: principal, logger: logger), status: .created)
    }

    /// The consultation a form with `key` opened already.
    private func consultation(forKey key: String, logger: Logger) async throws -> UUID? {
        try await postgres.query("SELECT id FROM routing.consultations WHERE idempotency_key = \(key)", logger: logger).collect().first?.decode(
            UUID.self
        )
    }

    /// Whether `text` is a real day, `yyyy-MM-dd`.
    static func isDay(_ text: String) -> Bool { LocalDay.parse(text) != nil }

    // MARK: Read

    private func list(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        let unit = principal.unit
        let everything = principal.readsDistrict || unit?.tier == .oversight
        let ids = try await postgres.query(
            """
            SELECT c.id FROM routing.consultations c
            WHERE \(everything) OR c.opened_by = \(principal.id) OR EXISTS (
                SELECT 1 FROM routing.consultation_grids cg JOIN routing.grids g ON g.id = cg.grid_id
                WHERE cg.consultation_id = c.id
                  AND ((\(unit?.tier == .grid) AND g.id = \(unit?.id)) OR (\(unit?.tier == .street) AND g.street_id = \(unit?.id))))
            ORDER BY c.created_at DESC LIMIT 100
            """,
            logger: context.logger
        ).collect().map { try $0.decode(UUID.self) }
        let logger = context.logger
        let views = try await postgres.withConnection { connection in
            var views: [ConsultationView] = []
            for id in ids {
                guard let loaded = try await Self.load(id, on: connection, logger: logger) else { continue }
                views.append(Self.view(of: loaded, for: principal))
            }
            return views
        }
        return try JSONResponse.make(views)
    }

    private func show(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        let loaded = try await readable(request, context: context, by: principal)
        return try JSONResponse.make(Self.view(of: loaded, for: principal))
    }

    private func record(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        let loaded = try await readable(request, context: context, by: principal)
        let links = try await ConsultationAudit.links(of: loaded.id, on: postgres, logger: context.logger)
        return try JSONResponse.make(
            links.map { link in
                RecordEntryView(
                    consultationId: link.entry.chain,
                    seq: link.entry.seq,
                    kind: link.entry.kind,
                    body: link.entry.body,
                    at: link.entry.at,
                    atMillis: RecordChain.millis(link.entry.at),
                    prevHash: link.previousHash,
                    hash: link.hash
                )
            }
        )
    }

    /// The consultation named in the path, when `principal` may read it: 404 / 403 otherwise.
    private func readable(_ request: Request, context: GridLoopRequestContext, by principal: Principal) async throws -> Loaded {
        let loaded = try await existing(context)
        guard Self.mayRead(loaded, principal) else {
            throw Problem(AuthFailure.forbidden("the consultation reaches other grids than \(principal.id)'s"))
        }
        return loaded
    }

    /// The consultation named in the path, or 404.
    private func existing(_ context: GridLoopRequestContext) async throws -> Loaded {
        let logger = context.logger
        guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)),
            let loaded = try await postgres.withConnection({ try await Self.load(id, on: $0, logger: logger) })
        else { throw Self.notFound }
        return loaded
    }

    static let notFound = Problem(status: .notFound, code: "not_found", title: "No such consultation", detail: "no consultation with that id")

    static func conflict(_ title: String, _ detail: String) -> Problem {
        Problem(status: .conflict, code: "conflict", title: title, detail: detail)
    }

    /// Supervisors and services, the district's oversight, the one who opened it, and the staff
    /// of the grids and streets it reaches.
    static func mayRead(_ loaded: Loaded, _ principal: Principal) -> Bool {
        GridSelection.mayRead(principal, author: loaded.openedBy, grids: loaded.grids, streets: loaded.streetOf.values)
    }

    // MARK: Positions

    private func position(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        let logger = context.logger
        let loaded = try await existing(context)
        let body = try await JSONBody.decode(PositionBody.self, from: request, upTo: 16 * 1024, title: "Malformed position")
        let household = (body.householdId ?? "").trimmingCharacters(in: .whitespaces)
        let option = (body.option ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        let concerns = body.concerns.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
        var errors: [FieldError] = []
        let grid = loaded.gridOf[household]
        if household.isEmpty {
            errors.append(FieldError(field: "householdId", code: "required", message: "the household whose position this is"))
        } else if grid == nil {
            let known = try await !postgres.query("SELECT 1 FROM routing.households WHERE id = \(household)", logger: logger).collect().isEmpty
            errors.append(
                known
                    ? FieldError(field: "householdId", code: "invalid", message: "the consultation does not reach the household's grid")
                    : FieldError(field: "householdId", code: "unknown", message: "no household '\(household)' in the org")
            )
        }
        if !loaded.options.contains(where: { $0.id == option }) {
            errors.append(
                FieldError(
                    field: "option",
                    code: body.option == nil ? "required" : "invalid",
                    message: "one of the consultation's options (\(loaded.options.map(\.id).joined(separator: ", ")))"
                )
            )
        }
        if let concerns, concerns.count > 2000 || !PlainText.isClean(concerns) {
            errors.append(FieldError(field: "concerns", code: "invalid", message: "at most 2000 characters"))
        }
        guard errors.isEmpty, let grid else { throw Problem.validationFailed(errors, title: "Invalid position") }
        if let refusal = ConsultationRules.refusal(toRecord: principal, grid: grid) { throw Problem(AuthFailure.forbidden(refusal)) }
        let id = loaded.id
        let consultationId = loaded.consultationId
        let street = loaded.streetOf[grid] ?? ""
        let recorded = try await postgres.transaction(logger: logger) { connection -> Bool in
            // The consultation's row is locked: its record's entries are appended one at a time.
            let state = try await connection.query(
                "SELECT closed_at IS NOT NULL, ends_by <= now() FROM routing.consultations WHERE id = \(id) FOR UPDATE",
                logger: logger
            ).collect().first.map { try $0.decode((Bool, Bool).self) }
            guard let (closed, over) = state else { throw Self.notFound }
            if closed { throw Self.conflict("The consultation is closed", "consultation \(consultationId) is closed: positions are no longer taken") }
            if over {
                throw Self.conflict("The consultation has ended", "positions were taken until the end of \(loaded.endsOn)")
            }
            let latest = try await connection.query(
                """
                SELECT option, concerns FROM routing.consultation_positions
                WHERE consultation_id = \(id) AND household_id = \(household) ORDER BY seq DESC LIMIT 1
                """,
                logger: logger
            ).collect().first.map { try $0.decode((String, String?).self) }
            if let latest, latest.0 == option, latest.1 == concerns { return false }  // the same position again: unchanged
            let at = RecordChain.storedTime(Date())
            let entry = PositionRecord(
                consultationId: consultationId,
                householdId: household,
                grid: grid,
                option: option,
                previous: latest?.0,
                concerns: concerns,
                recordedBy: principal.id
            )
            let seq = try await Self.append(.position, body: entry, to: id, at: at, on: connection, logger: logger)
            try await connection.query(
                """
                INSERT INTO routing.consultation_positions (consultation_id, seq, household_id, grid_id, option, concerns, recorded_by, recorded_at)
                VALUES (\(id), \(seq), \(household), \(grid), \(option), \(concerns), \(principal.id), \(at))
                """,
                logger: logger
            )
            let event = MessageEnvelope(
                messageId: "consultation-position:\(consultationId):\(seq)",
                type: MessageType.consultationPosition,
                occurredAt: at,
                requestId: nil,
                correlationId: consultationId,
                payload: ConsultationPosition(
                    consultationId: consultationId,
                    householdId: household,
                    grid: grid,
                    street: street,
                    option: option,
                    previous: latest?.0,
                    concerns: concerns != nil,
                    staff: principal.id
                )
            )
            try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
            return true
        }
        if recorded {
            relay.wake()
            logger.info(
                "consultation position recorded",
                metadata: ["consultation.id": "\(consultationId)", "household": "\(household)", "by": "\(principal.id)"]
            )
        }
        return try JSONResponse.make(try await view(id, for: principal, logger: logger), status: recorded ? .created : .ok)
    }

    // MARK: Meeting and close

    private func meeting(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        let logger = context.logger
        let loaded = try await existing(context)
        let body = try await JSONBody.decode(MeetingBody.self, from: request, upTo: 16 * 1024, title: "Malformed meeting outcome")
        let outcome = (body.outcome ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        var errors: [FieldError] = []
        if outcome.isEmpty || outcome.count > 2000 || !PlainText.isClean(outcome) {
            errors.append(
                FieldError(
                    field: "outcome",
                    code: body.outcome == nil ? "required" : "invalid",
                    message: "what the meeting decided, 1–2000 characters"
                )
            )
        }
        if let heldOn = body.heldOn, !Self.isDay(heldOn) {
            errors.append(FieldError(field: "heldOn", code: "invalid", message: "a day, yyyy-MM-dd"))
        }
        guard errors.isEmpty else { throw Problem.validationFailed(errors, title: "Invalid meeting outcome") }
        if let refusal = ConsultationRules.refusal(toDecide: "the meeting outcome", principal: principal, grids: loaded.gridStreets) {
            throw Problem(AuthFailure.forbidden(refusal))
        }
        let heldOn: String
        if let day = body.heldOn {
            heldOn = day
        } else {
            heldOn = LocalDay.day(of: Date(), utcOffset: try await LocalDay.utcOffset(on: postgres, logger: logger))
        }
        let id = loaded.id
        let consultationId = loaded.consultationId
        let recorded = try await postgres.transaction(logger: logger) { connection -> Bool in
            let state = try await connection.query(
                """
                SELECT closed_at IS NOT NULL, meeting_outcome, to_char(meeting_on, 'YYYY-MM-DD')
                FROM routing.consultations WHERE id = \(id) FOR UPDATE
                """,
                logger: logger
            ).collect().first.map { try $0.decode((Bool, String?, String?).self) }
            guard let (closed, before, beforeOn) = state else { throw Self.notFound }
            if closed { throw Self.conflict("The consultation is closed", "consultation \(consultationId) is closed: its meeting outcome stands") }
            if before == outcome, beforeOn == heldOn { return false }
            let at = RecordChain.storedTime(Date())
            try await connection.query(
                "UPDATE routing.consultations SET meeting_outcome = \(outcome), meeting_on = \(heldOn)::date WHERE id = \(id)",
                logger: logger
            )
            let entry = MeetingRecord(consultationId: consultationId, outcome: outcome, heldOn: heldOn, recordedBy: principal.id)
            let seq = try await Self.append(.meeting, body: entry, to: id, at: at, on: connection, logger: logger)
            let event = MessageEnvelope(
                messageId: "consultation-meeting:\(consultationId):\(seq)",
                type: MessageType.consultationMeeting,
                occurredAt: at,
                requestId: nil,
                correlationId: consultationId,
                payload: ConsultationMeeting(consultationId: consultationId, outcome: outcome, heldOn: heldOn, recordedBy: principal.id)
            )
            try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
            return true
        }
        if recorded {
            relay.wake()
            logger.info("consultation meeting outcome recorded", metadata: ["consultation.id": "\(consultationId)", "by": "\(principal.id)"])
        }
        return try JSONResponse.make(try await view(id, for: principal, logger: logger), status: recorded ? .created : .ok)
    }

    private func close(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        let logger = context.logger
        let loaded = try await existing(context)
        if let refusal = ConsultationRules.refusal(toDecide: "closing a consultation", principal: principal, grids: loaded.gridStreets) {
            throw Problem(AuthFailure.forbidden(refusal))
        }
        let id = loaded.id
        let consultationId = loaded.consultationId
        let result = try await postgres.transaction(logger: logger) { connection -> String? in
            let closed = try await connection.query(
                "SELECT closed_at IS NOT NULL FROM routing.consultations WHERE id = \(id) FOR UPDATE",
                logger: logger
            ).collect().first?.decode(Bool.self)
            guard let closed else { throw Self.notFound }
            if closed { throw Self.conflict("The consultation is closed", "consultation \(consultationId) was closed already") }
            // The tally read under the lock: no position can slip in between it and the close.
            guard let current = try await Self.load(id, on: connection, logger: logger) else { throw Self.notFound }
            let result = current.tally.reached(by: current.rule)
            let at = RecordChain.storedTime(Date())
            try await connection.query(
                "UPDATE routing.consultations SET closed_at = \(at), closed_by = \(principal.id), result = \(result) WHERE id = \(id)",
                logger: logger
            )
            let entry = ClosedRecord(
                consultationId: consultationId,
                result: result,
                rule: current.rule.description,
                households: current.tally.all.households,
                positions: current.tally.all.positions,
                needed: current.tally.needed(by: current.rule),
                tally: current.tally.all.byOption,
                meetingOutcome: current.meetingOutcome,
                closedBy: principal.id
            )
            try await Self.append(.closed, body: entry, to: id, at: at, on: connection, logger: logger)
            let event = MessageEnvelope(
                messageId: "consultation-closed:\(consultationId)",
                type: MessageType.consultationClosed,
                occurredAt: at,
                requestId: nil,
                correlationId: consultationId,
                payload: ConsultationClosed(
                    consultationId: consultationId,
                    result: result,
                    tally: current.tally.all.byOption,
                    households: current.tally.all.households,
                    meetingOutcome: current.meetingOutcome,
                    closedBy: principal.id
                )
            )
            try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
            return result
        }
        relay.wake()
        logger.info("consultation closed", metadata: ["consultation.id": "\(consultationId)", "result": "\(result ?? "-")", "by": "\(principal.id)"])
        return try JSONResponse.make(try await view(id, for: principal, logger: logger))
    }

    // MARK: The record

    /// Appends an entry to consultation `id`'s record, chained to its last entry; returns its seq.
    /// The caller holds the consultation's row lock (or inserted it in this transaction), so the
    /// entries of one consultation are appended one at a time.
    @discardableResult
    static func append(
        _ kind: ConsultationRecordKind,
        body: some Encodable,
        to id: UUID,
        at: Date,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Int {
        let text = try RecordChain.canonical(body)
        let last = try await connection.query(
            "SELECT seq, hash FROM routing.consultation_record WHERE consultation_id = \(id) ORDER BY seq DESC LIMIT 1",
            logger: logger
        ).collect().first.map { try $0.decode((Int, String).self) }
        let entry = RecordEntry(chain: id.uuidString.lowercased(), seq: (last?.0 ?? 0) + 1, kind: kind.rawValue, body: text, at: at)
        let link = RecordChain.link(entry, after: last?.1)
        try await connection.query(
            """
            INSERT INTO routing.consultation_record (consultation_id, seq, kind, body, at, prev_hash, hash)
            VALUES (\(id), \(entry.seq), \(entry.kind), \(entry.body), \(entry.at), \(link.previousHash), \(link.hash))
            """,
            logger: logger
        )
        return entry.seq
    }

    // MARK: Loading

    /// A consultation with its grids, households and latest positions, read on one connection.
    struct Loaded: Sendable {
        var id: UUID
        var question: String
        var questionEn: String?
        var options: [Option]
        var endsOn: String
        var rule: ConsultationRule
        var openedBy: String
        var openedByUnit: String
        var createdAt: Date
        var meetingOutcome: String?
        var meetingOn: String?
        var closedAt: Date?
        var closedBy: String?
        var result: String?
        /// The grids it reaches, sorted.
        var grids: [String]
        var streetOf: [String: String]
        var households: [String: [String]]
        var gridOf: [String: String]
        var addresses: [String: String]
        /// Each household's latest position.
        var latest: [String: Latest]
        var tally: ConsultationTally

        struct Latest: Sendable {
            var grid: String
            var option: String
            var concerns: String?
            var recordedBy: String
            var recordedAt: Date
            var seq: Int
        }

        var consultationId: String { id.uuidString.lowercased() }
        var gridStreets: [(grid: String, street: String)] { grids.map { (grid: $0, street: streetOf[$0] ?? "") } }
    }

    static func load(_ id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Loaded? {
        let row = try await connection.query(
            """
            SELECT question, question_en, options::text, to_char(ends_on, 'YYYY-MM-DD'), rule_num, rule_den, opened_by, opened_by_unit, created_at,
                   meeting_outcome, to_char(meeting_on, 'YYYY-MM-DD'), closed_at, closed_by, result
            FROM routing.consultations WHERE id = \(id)
            """,
            logger: logger
        ).collect().first
        guard let row else { return nil }
        let (
            question, questionEn, optionsText, endsOn, numerator, denominator, openedBy, openedByUnit, createdAt, meetingOutcome, meetingOn,
            closedAt, closedBy, result
        ) = try row.decode((String, String?, String, String, Int, Int, String, String, Date, String?, String?, Date?, String?, String?).self)
        let options = try JSONDecoder().decode([Option].self, from: Data(optionsText.utf8))
        let homes = try await connection.query(
            """
            SELECT cg.grid_id, coalesce(g.street_id, ''), h.id, h.address FROM routing.consultation_grids cg
            LEFT JOIN routing.grids g ON g.id = cg.grid_id LEFT JOIN routing.households h ON h.grid_id = cg.grid_id
            WHERE cg.consultation_id = \(id) ORDER BY cg.grid_id, h.id
            """,
            logger: logger
        ).collect().map { try $0.decode((String, String, String?, String?).self) }
        let sheet = GridSelection.Homes(homes)
        let (households, streetOf, gridOf, addresses) = (sheet.households, sheet.streetOf, sheet.gridOf, sheet.addresses)
        let positions = try await connection.query(
            """
            SELECT DISTINCT ON (household_id) household_id, grid_id, option, concerns, recorded_by, recorded_at, seq
            FROM routing.consultation_positions WHERE consultation_id = \(id) ORDER BY household_id, seq DESC
            """,
            logger: logger
        ).collect().map { try $0.decode((String, String, String, String?, String, Date, Int).self) }
        var latest: [String: Loaded.Latest] = [:]
        for (household, grid, option, concerns, by, at, seq) in positions {
            latest[household] = Loaded.Latest(grid: grid, option: option, concerns: concerns, recordedBy: by, recordedAt: at, seq: seq)
        }
        let rule = ConsultationRule(numerator: numerator, denominator: denominator) ?? ConsultationRule(numerator: 1, denominator: 1)!
        let tally = ConsultationTally.compute(
            households: households,
            options: options.map(\.id),
            positions: latest.map { ConsultationTally.Position(household: $0.key, option: $0.value.option, seq: $0.value.seq) }
        )
        return Loaded(
            id: id,
            question: question,
            questionEn: questionEn,
            options: options,
            endsOn: endsOn,
            rule: rule,
            openedBy: openedBy,
            openedByUnit: openedByUnit,
            createdAt: createdAt,
            meetingOutcome: meetingOutcome,
            meetingOn: meetingOn,
            closedAt: closedAt,
            closedBy: closedBy,
            result: result,
            grids: households.keys.sorted(),
            streetOf: streetOf,
            households: households,
            gridOf: gridOf,
            addresses: addresses,
            latest: latest,
            tally: tally
        )
    }

    /// The view of `id` for `principal`.
    private func view(_ id: UUID, for principal: Principal, logger: Logger) async throws -> ConsultationView {
        guard let loaded = try await postgres.withConnection({ try await Self.load(id, on: $0, logger: logger) }) else { throw Self.notFound }
        return Self.view(of: loaded, for: principal)
    }

    /// What `principal` sees of a consultation: the tally for everyone who reads it; concerns for
    /// street and district readers (a street officer: her street's grids); the caller's grid's
    /// households for grid staff.
    static func view(of loaded: Loaded, for principal: Principal) -> ConsultationView {
        let unit = principal.unit
        var concerns: [ConcernView]?
        let district = principal.readsDistrict || unit?.tier == .oversight || principal.id == loaded.openedBy
        if district || unit?.tier == .street {
            concerns = loaded.latest.compactMap { household, position -> ConcernView? in
                guard let text = position.concerns, let grid = loaded.gridOf[household] else { return nil }
                guard district || loaded.streetOf[grid] == unit?.id else { return nil }
                return ConcernView(
                    householdId: household,
                    grid: grid,
                    option: position.option,
                    concerns: text,
                    recordedBy: position.recordedBy,
                    recordedAt: position.recordedAt
                )
            }.sorted { ($0.recordedAt, $0.householdId) < ($1.recordedAt, $1.householdId) }
        }
        var own: [HouseholdView]?
        if let unit, unit.tier == .grid, let members = loaded.households[unit.id] {
            own = members.map { household in
                let position = loaded.latest[household]
                return HouseholdView(
                    id: household,
                    address: loaded.addresses[household] ?? "",
                    option: position?.option,
                    concerns: position?.concerns,
                    recordedBy: position?.recordedBy,
                    recordedAt: position?.recordedAt
                )
            }
        }
        return ConsultationView(
            id: loaded.consultationId,
            question: loaded.question,
            questionEn: loaded.questionEn,
            options: loaded.options,
            endsOn: loaded.endsOn,
            rule: loaded.rule.description,
            openedBy: loaded.openedBy,
            openedByUnit: loaded.openedByUnit,
            createdAt: loaded.createdAt,
            grids: loaded.grids,
            tally: loaded.tally,
            needed: loaded.tally.needed(by: loaded.rule),
            reached: loaded.tally.reached(by: loaded.rule),
            state: loaded.closedAt == nil ? "open" : "closed",
            concerns: concerns,
            households: own,
            meeting: loaded.meetingOutcome.map { MeetingView(outcome: $0, on: loaded.meetingOn) },
            closedAt: loaded.closedAt,
            closedBy: loaded.closedBy,
            result: loaded.result
        )
    }
}

/// Recomputes the consultations' record chains (`gridloop audit verify`, and the record's API).
package enum ConsultationAudit {
    /// What an audit found.
    package struct Report: Sendable {
        package var consultations: Int
        package var entries: Int
        /// The first broken entry of each consultation whose record does not verify.
        package var breaks: [RecordBreak]
    }

    /// Verifies every consultation's record, or only `consultationId`'s. Besides each chain: a
    /// consultation with no record at all, and a position whose entry is missing from the record,
    /// are breaks too. A database whose routing schema has no consultations yet has nothing to verify.
    package static func verify(consultationId: UUID?, on client: PostgresClient, logger: Logger) async throws -> Report {
        var report = Report(consultations: 0, entries: 0, breaks: [])
        let present = try await client.query("SELECT to_regclass('routing.consultation_record') IS NOT NULL", logger: logger).collect().first?
            .decode(Bool.self)
        guard present == true else { return report }
        let rows = try await client.query(
            """
            SELECT consultation_id, seq, kind, body, at, prev_hash, hash FROM routing.consultation_record
            WHERE \(consultationId)::uuid IS NULL OR consultation_id = \(consultationId) ORDER BY consultation_id, seq
            """,
            logger: logger
        )
        var broken: [String: RecordBreak] = [:]
        var current: [RecordLink] = []
        func close() {
            guard let first = current.first else { return }
            report.consultations += 1
            if let found = RecordChain.verify(current) { broken[first.entry.chain] = found }
            current.removeAll()
        }
        for try await row in rows.decode(LinkRow.self) {
            let link = link(row)
            if let first = current.first, first.entry.chain != link.entry.chain { close() }
            current.append(link)
            report.entries += 1
        }
        close()
        let unrecorded = try await client.query(
            """
            SELECT c.id FROM routing.consultations c
            WHERE (\(consultationId)::uuid IS NULL OR c.id = \(consultationId))
              AND NOT EXISTS (SELECT 1 FROM routing.consultation_record r WHERE r.consultation_id = c.id)
            """,
            logger: logger
        ).collect().map { try $0.decode(UUID.self).uuidString.lowercased() }
        for id in unrecorded {
            report.consultations += 1
            broken[id] = RecordBreak(chain: id, seq: 1, kind: "opened", reason: "is missing: the consultation has no record")
        }
        let missing = try await client.query(
            """
            SELECT p.consultation_id, min(p.seq) FROM routing.consultation_positions p
            WHERE (\(consultationId)::uuid IS NULL OR p.consultation_id = \(consultationId)) AND NOT EXISTS (
                SELECT 1 FROM routing.consultation_record r WHERE r.consultation_id = p.consultation_id AND r.seq = p.seq AND r.kind = 'position')
            GROUP BY p.consultation_id
            """,
            logger: logger
        ).collect().map { try $0.decode((UUID, Int).self) }
        for (id, seq) in missing {
            let chain = id.uuidString.lowercased()
            if let found = broken[chain], found.seq <= seq { continue }
            broken[chain] = RecordBreak(chain: chain, seq: seq, kind: "position", reason: "is missing: a position recorded but not in the record")
        }
        report.breaks = broken.values.sorted { ($0.chain, $0.seq) < ($1.chain, $1.seq) }
        return report
    }

    /// One consultation's record in order.
    static func links(of consultationId: UUID, on client: PostgresClient, logger: Logger) async throws -> [RecordLink] {
        let rows = try await client.query(
            """
            SELECT consultation_id, seq, kind, body, at, prev_hash, hash FROM routing.consultation_record
            WHERE consultation_id = \(consultationId) ORDER BY seq
            """,
            logger: logger
        )
        var links: [RecordLink] = []
        for try await row in rows.decode(LinkRow.self) { links.append(link(row)) }
        return links
    }

    typealias LinkRow = (UUID, Int, String, String, Date, String, String)

    static func link(_ row: LinkRow) -> RecordLink {
        RecordLink(
            entry: RecordEntry(chain: row.0.uuidString.lowercased(), seq: row.1, kind: row.2, body: row.3, at: row.4),
            previousHash: row.5,
            hash: row.6
        )
    }
}

extension RoutingSchema {
    /// Consultations (议事): the questions, the grids they reach, the households' positions
    /// (appended; a household's latest row counts) and the hash-chained record. The record and
    /// the positions are append-only: triggers refuse UPDATE, DELETE and TRUNCATE (as the
    /// trail's), and the service role (granted every table by version 11's default privileges)
    /// loses those privileges on them, so it cannot switch the triggers off either.
    static let consultationMigrations: [Migration] = [
        Migration(
            version: 23,
            name: "consultations (议事)",
            statements: [
                """
                CREATE TABLE routing.consultations (
                    id uuid PRIMARY KEY,
                    question text NOT NULL,
                    question_en text,
                    options jsonb NOT NULL,
                    ends_on date NOT NULL,
                    ends_by timestamptz NOT NULL,
                    rule_num integer NOT NULL,
                    rule_den integer NOT NULL,
                    opened_by text NOT NULL,
                    opened_by_unit text NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    idempotency_key text UNIQUE,
                    meeting_outcome text,
                    meeting_on date,
                    closed_at timestamptz,
                    closed_by text,
                    result text,
                    CHECK (rule_num > 0 AND rule_num <= rule_den)
                )
                """,
                """
                CREATE TABLE routing.consultation_grids (
                    consultation_id uuid NOT NULL REFERENCES routing.consultations (id),
                    grid_id text NOT NULL,
                    PRIMARY KEY (consultation_id, grid_id)
                )
                """,
                "CREATE INDEX consultation_grids_by_grid ON routing.consultation_grids (grid_id)",
                // body: the canonical JSON text as hashed (text, not jsonb, which would reorder and respace it).
                """
                CREATE TABLE routing.consultation_record (
                    consultation_id uuid NOT NULL REFERENCES routing.consultations (id),
                    seq integer NOT NULL CHECK (seq > 0),
                    kind text NOT NULL CHECK (kind IN ('opened', 'position', 'meeting', 'closed')),
                    body text NOT NULL CHECK (jsonb_typeof(body::jsonb) = 'object'),
                    at timestamptz NOT NULL,
                    prev_hash text NOT NULL,
                    hash text NOT NULL,
                    PRIMARY KEY (consultation_id, seq)
                )
                """,
                """
                CREATE TABLE routing.consultation_positions (
                    consultation_id uuid NOT NULL REFERENCES routing.consultations (id),
                    seq integer NOT NULL,
                    household_id text NOT NULL,
                    grid_id text NOT NULL,
                    option text NOT NULL,
                    concerns text,
                    recorded_by text NOT NULL,
                    recorded_at timestamptz NOT NULL,
                    PRIMARY KEY (consultation_id, seq),
                    FOREIGN KEY (consultation_id, seq) REFERENCES routing.consultation_record (consultation_id, seq)
                )
                """,
                "CREATE INDEX consultation_positions_by_household ON routing.consultation_positions (consultation_id, household_id, seq DESC)",
                """
                CREATE FUNCTION routing.consultation_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'routing.% is append-only: % refused', TG_TABLE_NAME, TG_OP; END $$
                """,
                """
                CREATE TRIGGER consultation_record_append_only BEFORE UPDATE OR DELETE ON routing.consultation_record
                    FOR EACH ROW EXECUTE FUNCTION routing.consultation_is_append_only()
                """,
                """
                CREATE TRIGGER consultation_record_no_truncate BEFORE TRUNCATE ON routing.consultation_record
                    FOR EACH STATEMENT EXECUTE FUNCTION routing.consultation_is_append_only()
                """,
                """
                CREATE TRIGGER consultation_positions_append_only BEFORE UPDATE OR DELETE ON routing.consultation_positions
                    FOR EACH ROW EXECUTE FUNCTION routing.consultation_is_append_only()
                """,
                """
                CREATE TRIGGER consultation_positions_no_truncate BEFORE TRUNCATE ON routing.consultation_positions
                    FOR EACH STATEMENT EXECUTE FUNCTION routing.consultation_is_append_only()
                """,
                """
                DO $$
                DECLARE service text := current_database() || '_service';
                BEGIN
                    IF EXISTS (SELECT FROM pg_roles WHERE rolname = service) THEN
                        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON routing.consultation_record FROM %I', service);
                        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON routing.consultation_positions FROM %I', service);
                    END IF;
                END $$
                """,
            ]
        )
    ]
}
