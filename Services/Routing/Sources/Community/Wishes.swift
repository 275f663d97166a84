import Configuration
import Foundation
import GridLoopAuth
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PostgresNIO

/// Micro-wishes (微心愿) over HTTP: `POST /v1/wishes` (a household's wish collected by its grid's
/// staff), `GET /v1/wishes` (those the caller reaches, `?state=&grid=&street=&kind=`),
/// `GET /v1/wishes/{id}`, `POST /v1/wishes/{id}/adopt` (a unit, an enterprise or a volunteer takes
/// it on), `POST /v1/wishes/{id}/fulfil`, `POST /v1/wishes/{id}/confirm` (with the resident) and
/// `GET /v1/wishes/clusters` (a street's similar wishes, per kind). Each step is one transaction
/// that checks the wish's version (two staff members stepping it at once: one wins, the other
/// gets 409) and writes `wish.changed` to the outbox; the states follow ``WishLifecycle``.
struct WishesController: Sendable {
    let postgres: PostgresClient
    let outbox: Outbox
    let relay: OutboxRelay
    let authenticator: Authenticator
    /// The fewest wishes of a street and kind listed as a cluster (`ROUTING_WISH_CLUSTER_MIN`).
    let clusterMinimum: Int

    static func make(runtime: ServiceRuntime, authenticator: Authenticator, reader: ConfigReader) throws -> WishesController {
        let minimum = reader.int(forKey: "routing.wish.cluster.min", default: 3)
        guard minimum >= 1 else { throw ConfigurationError("ROUTING_WISH_CLUSTER_MIN must be at least 1, not \(minimum)") }
        return WishesController(
            postgres: runtime.postgres,
            outbox: runtime.outbox,
            relay: runtime.relay,
            authenticator: authenticator,
            clusterMinimum: minimum
        )
    }

    func addRoutes(to router: Router<GridLoopRequestContext>) {
        router.post("v1/wishes") { request, context in try await collect(request, context: context) }
        router.get("v1/wishes") { request, context in try await list(request, context: context) }
        router.get("v1/wishes/clusters") { request, context in try await clusters(request, context: context) }
        router.get("v1/wishes/:id") { request, context in try await show(request, context: context) }
        router.post("v1/wishes/:id/adopt") { request, context in try await step(.adopt, request, context: context) }
        router.post("v1/wishes/:id/fulfil") { request, context in try await step(.fulfil, request, context: context) }
        router.post("v1/wishes/:id/confirm") { request, context in try await step(.confirm, request, context: context) }
    }

    struct CollectBody: Decodable {
        var householdId: String
        var kind: String
        var text: String
    }

    /// The body of any step; each step reads its own fields (`version`: the state the caller saw).
    struct StepBody: Decodable {
        var adopterKind: String?
        var adopterName: String?
        var note: String?
        var feedback: String?
        var version: Int?
    }

    /// A wish as the API gives it.
    struct WishView: Encodable {
        var id: String
        var householdId: String
        var address: String
        var grid: String
        var street: String
        var kind: WishKind
        var kindLabel: String
        var kindLabelEn: String
        var text: String
        var state: WishState
        var stateLabel: String
        var stateLabelEn: String
        /// 1 when collected, +1 per step: send it back with a step to refuse it if the wish moved meanwhile.
        var version: Int
        /// The step that comes next (`adopt`, `fulfil`, `confirm`), none once confirmed.
        var next: WishStep?
        var collectedBy: String
        var collectedAt: Date
        var adopterKind: WishAdopterKind?
        var adopterName: String?
        var adoptedBy: String?
        var adoptedAt: Date?
        var fulfilledBy: String?
        var fulfilledAt: Date?
        var fulfilmentNote: String?
        var confirmedBy: String?
        var confirmedAt: Date?
        var residentFeedback: String?
    }

    /// `GET /v1/wishes/clusters`.
    struct ClustersView: Encodable {
        /// The fewest wishes of a street and kind listed.
        var minimum: Int
        var clusters: [WishCluster]
    }

    // MARK: - Collect

    private func collect(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        let body = try await JSONBody.decode(CollectBody.self, from: request, upTo: 16 * 1024, title: "Malformed wish")
        let logger = context.logger
        let text = body.text.trimmingCharacters(in: .whitespacesAndNewlines)
        var errors: [FieldError] = []
        let kind = WishKind(rawValue: body.kind)
        if kind == nil {
            errors.append(
                FieldError(field: "kind", code: "invalid", message: WishKind.allCases.map(\.rawValue).joined(separator: ", "))
            )
        }
        if text.isEmpty || text.count > 500 || !PlainText.isClean(text) {
            errors.append(FieldError(field: "text", code: "invalid", message: "1–500 characters"))
        }
        let place = try await postgres.query(
            "SELECT h.grid_id, g.street_id FROM routing.households h JOIN routing.grids g ON g.id = h.grid_id WHERE h.id = \(body.householdId)",
            logger: logger
        ).collect().first.map { try $0.decode((String, String).self) }
        if place == nil {
            errors.append(FieldError(field: "householdId", code: "unknown", message: "no household '\(body.householdId)' in the org"))
        }
        guard errors.isEmpty, let kind, let (grid, street) = place else { throw Problem.validationFailed(errors, title: "Invalid wish") }
        if let refusal = WishRules.refusal(toRecordFor: grid, role: principal.role, unit: principal.unit, staff: principal.id) {
            throw Problem(AuthFailure.forbidden(refusal))
        }
        // The same form sent again (Idempotency-Key) collects nothing new: the wish it collected.
        let key = request.headers[HTTPField.Name("Idempotency-Key")!].map { "\(principal.id):\($0.prefix(200))" }
        if let key, let existing = try await wish(forKey: key, logger: logger) {
            return try JSONResponse.make(try await view(existing, logger: logger), headers: [HTTPField.Name("Idempotent-Replayed")!: "true"])
        }
        let id = UUID()
        let event = Self.event(
            id: id,
            payload: WishChanged(
                wishId: id.uuidString.lowercased(),
                householdId: body.householdId,
                grid: grid,
                street: street,
                kind: kind.rawValue,
                state: .collected,
                staff: principal.id
            )
        )
        let collected = try await postgres.transaction(logger: logger) { connection -> Bool in
            // Nothing new either for the household's same wish still open (recorded twice, or by two staff at once).
            let inserted = try await connection.query(
                """
                INSERT INTO routing.wishes (id, household_id, grid_id, street_id, kind, text, state, collected_by, version, idempotency_key)
                VALUES (\(id), \(body.householdId), \(grid), \(street), \(kind.rawValue), \(text), 'collected', \(principal.id), 1, \(key))
                ON CONFLICT DO NOTHING RETURNING id
                """,
                logger: logger
            ).collect()
            guard !inserted.isEmpty else { return false }
            try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
            return true
        }
        guard collected else {
            if let key, let existing = try await wish(forKey: key, logger: logger) {
                return try JSONResponse.make(try await view(existing, logger: logger), headers: [HTTPField.Name("Idempotent-Replayed")!: "true"])
            }
            let same = try await postgres.query(
                """
                SELECT id FROM routing.wishes
                WHERE household_id = \(body.householdId) AND kind = \(kind.rawValue) AND md5(text) = md5(\(text)) AND state <> 'confirmed'
                """,
                logger: logger
            ).collect().first?.decode(UUID.self)
            guard let same else {
                throw Problem(
                    status: .conflict,
                    code: "conflict",
                    title: "Wish not collected",
                    detail: "a wish was collected at the same moment: retry"
                )
            }
            // A household's same wish recorded twice counts once: the answer says so and changes nothing.
            return try JSONResponse.make(try await view(same, logger: logger))
        }
        relay.wake()
        logger.info("wish collected", metadata: ["wish.id": "\(id)", "grid": "\(grid)", "kind": "\(kind.rawValue)", "by": "\(principal.id)"])
        return try JSONResponse.make(try await view(id, logger: logger), status: .created)
    }

    /// The wish a form with `key` collected already.
    private func wish(forKey key: String, logger: Logger) async throws -> UUID? {
        try await postgres.query("SELECT id FROM routing.wishes WHERE idempotency_key = \(key)", logger: logger).collect().first?.decode(UUID.self)
    }

    /// `wish.changed` for a wish now in `payload.state`, its id derived from what it records.
    private static func event(id: UUID, payload: WishChanged) -> MessageEnvelope<WishChanged> {
        MessageEnvelope(
            messageId: "wish:\(id.uuidString.lowercased()):\(payload.state.rawValue)",
            type: MessageType.wishChanged,
            requestId: nil,
            correlationId: id.uuidString.lowercased(),
            payload: payload
        )
    }

    // MARK: - Steps

    /// The wish as a step needs it.
    private struct Current {
        var householdId: String
        var grid: String
        var street: String
        var kind: String
        var lifecycle: WishLifecycle
        var adopterKind: WishAdopterKind?
        var adopterName: String?
    }

    private func current(_ id: UUID, logger: Logger) async throws -> Current? {
        guard
            let row = try await postgres.query(
                "SELECT household_id, grid_id, street_id, kind, state, version, adopter_kind, adopter_name FROM routing.wishes WHERE id = \(id)",
                logger: logger
            ).collect().first
        else { return nil }
        let (household, grid, street, kind, state, version, adopterKind, adopterName) = try row.decode(
            (String, String, String, String, String, Int, String?, String?).self
        )
        return Current(
            householdId: household,
            grid: grid,
            street: street,
            kind: kind,
            lifecycle: WishLifecycle(state: WishState(rawValue: state) ?? .collected, version: version),
            adopterKind: adopterKind.flatMap(WishAdopterKind.init(rawValue:)),
            adopterName: adopterName
        )
    }

    private static let notFound = Problem(status: .notFound, code: "not_found", title: "No such wish", detail: "no micro-wish with that id")

    /// A body that may be empty (a confirm without feedback): `{}` then.
    private func stepBody(_ request: Request) async throws -> StepBody {
        var request = request
        let buffer = try await request.collectBody(upTo: 16 * 1024)
        if buffer.readableBytesView.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) }) { return StepBody() }
        do { return try WireJSON.decode(StepBody.self, from: buffer.readableBytesView) } catch {
            throw Problem.invalidJSON(error, title: "Malformed step")
        }
    }

    /// One step of a wish: fields checked (400), who may (403), the state and the version the
    /// caller saw (409), then the change and its event in one transaction, guarded by the version.
    private func step(_ step: WishStep, _ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        let logger = context.logger
        guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)), let wish = try await current(id, logger: logger) else {
            throw Self.notFound
        }
        let body = try await stepBody(request)
        let clean = { (text: String?) in text.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 } }
        var errors: [FieldError] = []
        let adopterKind = step == .adopt ? body.adopterKind.flatMap(WishAdopterKind.init(rawValue:)) : nil
        let adopterName = clean(body.adopterName)
        let note = clean(body.note)
        let feedback = clean(body.feedback)
        switch step {
        case .adopt:
            if adopterKind == nil {
                errors.append(
                    FieldError(field: "adopterKind", code: "invalid", message: WishAdopterKind.allCases.map(\.rawValue).joined(separator: ", "))
                )
            }
            if adopterName.map({ $0.count > 100 || !PlainText.isClean($0) || $0.contains(where: \.isNewline) }) ?? true {
                errors.append(FieldError(field: "adopterName", code: "invalid", message: "1–100 characters on one line: who adopts it"))
            }
        case .fulfil:
            if note.map({ $0.count > 500 || !PlainText.isClean($0) }) ?? true {
                errors.append(FieldError(field: "note", code: "invalid", message: "1–500 characters: what was done"))
            }
        case .confirm:
            if let feedback, feedback.count > 500 || !PlainText.isClean(feedback) {
                errors.append(FieldError(field: "feedback", code: "invalid", message: "at most 500 characters"))
            }
        }
        if let version = body.version, version < 1 {
            errors.append(FieldError(field: "version", code: "invalid", message: "the wish's version, 1 or more"))
        }
        let title =
            switch step {
            case .adopt: "Invalid adoption"
            case .fulfil: "Invalid fulfilment"
            case .confirm: "Invalid confirmation"
            }
        guard errors.isEmpty else { throw Problem.validationFailed(errors, title: title) }
        let refusal =
            step == .confirm
            ? WishRules.refusal(toRecordFor: wish.grid, role: principal.role, unit: principal.unit, staff: principal.id)
            : WishRules.refusal(
                toAdvance: step,
                grid: wish.grid,
                street: wish.street,
                role: principal.role,
                unit: principal.unit,
                staff: principal.id
            )
        if let refusal { throw Problem(AuthFailure.forbidden(refusal)) }
        var lifecycle = wish.lifecycle
        do { try lifecycle.apply(step) } catch { throw Self.conflict(error) }
        if let seen = body.version, seen != wish.lifecycle.version {
            throw Problem(
                status: .conflict,
                code: "conflict",
                title: "The wish changed meanwhile",
                detail: "the wish is at version \(wish.lifecycle.version) (\(wish.lifecycle.state.rawValue)), not \(seen): read it again"
            )
        }
        let adopter = step == .adopt ? (adopterKind, adopterName) : (wish.adopterKind, wish.adopterName)
        let event = Self.event(
            id: id,
            payload: WishChanged(
                wishId: id.uuidString.lowercased(),
                householdId: wish.householdId,
                grid: wish.grid,
                street: wish.street,
                kind: wish.kind,
                state: step.target,
                staff: principal.id,
                adopterKind: adopter.0,
                adopterName: adopter.1
            )
        )
        let seen = wish.lifecycle.version
        let changed = try await postgres.transaction(logger: logger) { connection -> Bool in
            let updated: PostgresQuery =
                switch step {
                case .adopt:
                    """
                    UPDATE routing.wishes SET state = 'adopted', version = version + 1, adopter_kind = \(adopterKind?.rawValue),
                        adopter_name = \(adopterName), adopted_by = \(principal.id), adopted_at = now()
                    WHERE id = \(id) AND version = \(seen) AND state = 'collected' RETURNING version
                    """
                case .fulfil:
                    """
                    UPDATE routing.wishes SET state = 'fulfilled', version = version + 1, fulfilment_note = \(note),
                        fulfilled_by = \(principal.id), fulfilled_at = now()
                    WHERE id = \(id) AND version = \(seen) AND state = 'adopted' RETURNING version
                    """
                case .confirm:
                    """
                    UPDATE routing.wishes SET state = 'confirmed', version = version + 1, resident_feedback = \(feedback),
                        confirmed_by = \(principal.id), confirmed_at = now()
                    WHERE id = \(id) AND version = \(seen) AND state = 'fulfilled' RETURNING version
                    """
                }
            // Another step committed since the wish was read: this one changes nothing.
            guard try await !connection.query(updated, logger: logger).collect().isEmpty else { return false }
            try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
            return true
        }
        guard changed else {
            let now = try await current(id, logger: logger)
            let state = now?.lifecycle.state ?? wish.lifecycle.state
            if let refusal = WishLifecycle.refusal(step, from: state) { throw Self.conflict(refusal) }
            throw Problem(
                status: .conflict,
                code: "conflict",
                title: "The wish changed meanwhile",
                detail: "another step was recorded at the same moment (now \(state.rawValue)): read it again"
            )
        }
        relay.wake()
        logger.info(
            "wish stepped",
            metadata: ["wish.id": "\(id)", "state": "\(step.target.rawValue)", "grid": "\(wish.grid)", "by": "\(principal.id)"]
        )
        return try JSONResponse.make(try await view(id, logger: logger))
    }

    /// 409 for a step the wish's state does not allow, in words (English, then Chinese).
    private static func conflict(_ refusal: WishRefusal) -> Problem {
        Problem(
            status: .conflict,
            code: "conflict",
            title: "The wish is \(refusal.state.rawValue): it cannot be \(refusal.step.target.rawValue)",
            detail: "\(refusal.description)（\(refusal.zh)）"
        )
    }

    // MARK: - Reading

    /// The grids (or street) the caller reads, or 403.
    private func reach(of principal: Principal) throws -> WishReach {
        guard let reach = WishRules.readable(role: principal.role, unit: principal.unit) else {
            throw Problem(
                AuthFailure.forbidden(
                    "micro-wishes are read by grid staff (their grid's), street officers (their street's) and supervisors; not \(principal)"
                )
            )
        }
        return reach
    }

    private func list(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        let logger = context.logger
        let reach = try reach(of: principal)
        let query = request.uri.queryParameters
        let state = query.get("state").flatMap { $0.isEmpty ? nil : $0 }
        let kind = query.get("kind").flatMap { $0.isEmpty ? nil : $0 }
        let grid = query.get("grid").flatMap { $0.isEmpty ? nil : $0 }
        let street = query.get("street").flatMap { $0.isEmpty ? nil : $0 }
        var errors: [FieldError] = []
        if let state, WishState(rawValue: state) == nil {
            errors.append(FieldError(field: "state", code: "invalid", message: WishState.allCases.map(\.rawValue).joined(separator: ", ")))
        }
        if let kind, WishKind(rawValue: kind) == nil {
            errors.append(FieldError(field: "kind", code: "invalid", message: WishKind.allCases.map(\.rawValue).joined(separator: ", ")))
        }
        var gridStreet: String?
        if let grid {
            gridStreet = try await postgres.query("SELECT street_id FROM routing.grids WHERE id = \(grid)", logger: logger).collect().first?.decode(
                String.self
            )
            if gridStreet == nil { errors.append(FieldError(field: "grid", code: "unknown", message: "no grid '\(grid)' in the org")) }
        }
        guard errors.isEmpty else { throw Problem.validationFailed(errors, title: "Invalid query") }
        switch reach {
        case .all: break
        case .street(let own):
            if let street, street != own { throw Problem(AuthFailure.forbidden("\(principal.id) reads the wishes of street:\(own) only")) }
            if let gridStreet, gridStreet != own { throw Problem(AuthFailure.forbidden("grid:\(grid ?? "") is not of street:\(own)")) }
        case .grid(let own):
            if let grid, grid != own { throw Problem(AuthFailure.forbidden("\(principal.id) reads the wishes of grid:\(own) only")) }
        }
        let (reachGrid, reachStreet): (String?, String?) =
            switch reach {
            case .all: (nil, nil)
            case .street(let own): (nil, own)
            case .grid(let own): (own, nil)
            }
        let ids = try await postgres.query(
            """
            SELECT id FROM routing.wishes
            WHERE (\(reachGrid)::text IS NULL OR grid_id = \(reachGrid)) AND (\(reachStreet)::text IS NULL OR street_id = \(reachStreet))
              AND (\(grid)::text IS NULL OR grid_id = \(grid)) AND (\(street)::text IS NULL OR street_id = \(street))
              AND (\(state)::text IS NULL OR state = \(state)) AND (\(kind)::text IS NULL OR kind = \(kind))
            ORDER BY collected_at DESC, id LIMIT 500
            """,
            logger: logger
        ).collect().map { try $0.decode(UUID.self) }
        return try JSONResponse.make(try await views(ids, logger: logger))
    }

    private func show(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)), let wish = try await current(id, logger: context.logger) else {
            throw Self.notFound
        }
        let mayRead =
            switch try reach(of: principal) {
            case .all: true
            case .street(let own): wish.street == own
            case .grid(let own): wish.grid == own
            }
        guard mayRead else { throw Problem(AuthFailure.forbidden("the wish is of grid:\(wish.grid), street:\(wish.street); not \(principal.id)'s")) }
        return try JSONResponse.make(try await view(id, logger: context.logger))
    }

    private func clusters(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        let logger = context.logger
        let asked = request.uri.queryParameters.get("street").flatMap { $0.isEmpty ? nil : $0 }
        // A grid's staff see their street's clusters (the wishes they collect count in it).
        let own: String? =
            switch try reach(of: principal) {
            case .all: nil
            case .street(let street): street
            case .grid(let grid):
                try await postgres.query("SELECT street_id FROM routing.grids WHERE id = \(grid)", logger: logger).collect().first?.decode(
                    String.self
                )
                    ?? ""
            }
        if let own, let asked, asked != own { throw Problem(AuthFailure.forbidden("\(principal.id) reads the clusters of street:\(own) only")) }
        let street = own ?? asked
        let rows = try await postgres.query(
            """
            SELECT street_id, grid_id, kind, state, count(*)::int FROM routing.wishes
            WHERE \(street)::text IS NULL OR street_id = \(street)
            GROUP BY street_id, grid_id, kind, state
            """,
            logger: logger
        ).collect().map { try $0.decode((String, String, String, String, Int).self) }
        let counts = rows.compactMap { street, grid, kind, state, count in
            WishKind(rawValue: kind).flatMap { kind in
                WishState(rawValue: state).map { WishCluster.Count(street: street, grid: grid, kind: kind, state: $0, count: count) }
            }
        }
        let names = Dictionary(
            try await postgres.query("SELECT id, name FROM routing.streets", logger: logger).collect().map { try $0.decode((String, String).self) },
            uniquingKeysWith: { first, _ in first }
        )
        let clusters = WishCluster.compute(counts, minimum: clusterMinimum).map { cluster in
            var named = cluster
            named.streetName = names[cluster.street]
            return named
        }
        return try JSONResponse.make(ClustersView(minimum: clusterMinimum, clusters: clusters))
    }

    private func view(_ id: UUID, logger: Logger) async throws -> WishView {
        guard let wish = try await views([id], logger: logger).first else { throw Self.notFound }
        return wish
    }

    /// The wishes of `ids`, in that order.
    private func views(_ ids: [UUID], logger: Logger) async throws -> [WishView] {
        guard !ids.isEmpty else { return [] }
        let rows = try await postgres.query(
            """
            SELECT w.id, w.household_id, coalesce(h.address, '') AS address, w.grid_id, w.street_id, w.kind, w.text, w.state, w.version,
                   w.collected_by, w.collected_at, w.adopter_kind, w.adopter_name, w.adopted_by, w.adopted_at, w.fulfilled_by,
                   w.fulfilled_at, w.fulfilment_note, w.confirmed_by, w.confirmed_at, w.resident_feedback
            FROM routing.wishes w LEFT JOIN routing.households h ON h.id = w.household_id
            WHERE w.id = ANY(\(ids))
            """,
            logger: logger
        ).collect()
        var byId: [UUID: WishView] = [:]
        for row in rows {
            let column = row.makeRandomAccess()
            let id = try column["id"].decode(UUID.self)
            let kind = WishKind(rawValue: try column["kind"].decode(String.self)) ?? .other
            let state = WishState(rawValue: try column["state"].decode(String.self)) ?? .collected
            byId[id] = WishView(
                id: id.uuidString.lowercased(),
                householdId: try column["household_id"].decode(String.self),
                address: try column["address"].decode(String.self),
                grid: try column["grid_id"].decode(String.self),
                street: try column["street_id"].decode(String.self),
                kind: kind,
                kindLabel: kind.label,
                kindLabelEn: kind.labelEn,
                text: try column["text"].decode(String.self),
                state: state,
                stateLabel: state.label,
                stateLabelEn: state.labelEn,
                version: try column["version"].decode(Int.self),
                next: state.next,
                collectedBy: try column["collected_by"].decode(String.self),
                collectedAt: try column["collected_at"].decode(Date.self),
                adopterKind: try column["adopter_kind"].decode(String?.self).flatMap(WishAdopterKind.init(rawValue:)),
                adopterName: try column["adopter_name"].decode(String?.self),
                adoptedBy: try column["adopted_by"].decode(String?.self),
                adoptedAt: try column["adopted_at"].decode(Date?.self),
                fulfilledBy: try column["fulfilled_by"].decode(String?.self),
                fulfilledAt: try column["fulfilled_at"].decode(Date?.self),
                fulfilmentNote: try column["fulfilment_note"].decode(String?.self),
                confirmedBy: try column["confirmed_by"].decode(String?.self),
                confirmedAt: try column["confirmed_at"].decode(Date?.self),
                residentFeedback: try column["resident_feedback"].decode(String?.self)
            )
        }
        return ids.compactMap { byId[$0] }
    }
}

extension RoutingSchema {
    /// Micro-wishes (migration 24): one row per wish, its state and each step's who and when; a
    /// version for the optimistic check; a household's same wish open once.
    static let wishMigrations: [Migration] = [
        Migration(
            version: 24,
            name: "micro-wishes (微心愿)",
            statements: [
                """
                CREATE TABLE routing.wishes (
                    id uuid PRIMARY KEY,
                    household_id text NOT NULL,
                    grid_id text NOT NULL,
                    street_id text NOT NULL,
                    kind text NOT NULL CHECK (kind IN ('meal', 'care', 'study', 'repair', 'other')),
                    text text NOT NULL,
                    state text NOT NULL CHECK (state IN ('collected', 'adopted', 'fulfilled', 'confirmed')),
                    collected_by text NOT NULL,
                    collected_at timestamptz NOT NULL DEFAULT now(),
                    adopter_kind text CHECK (adopter_kind IN ('unit', 'enterprise', 'volunteer')),
                    adopter_name text,
                    adopted_at timestamptz,
                    adopted_by text,
                    fulfilled_at timestamptz,
                    fulfilled_by text,
                    fulfilment_note text,
                    confirmed_at timestamptz,
                    confirmed_by text,
                    resident_feedback text,
                    version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
                    idempotency_key text,
                    CHECK ((state <> 'collected') = (adopted_at IS NOT NULL AND adopter_kind IS NOT NULL AND adopter_name IS NOT NULL)),
                    CHECK ((state IN ('fulfilled', 'confirmed')) = (fulfilled_at IS NOT NULL)),
                    CHECK ((state = 'confirmed') = (confirmed_at IS NOT NULL))
                )
                """,
                "CREATE UNIQUE INDEX wishes_by_idempotency_key ON routing.wishes (idempotency_key)",
                // A household's same wish, recorded twice while open, is one wish.
                "CREATE UNIQUE INDEX wishes_open_once ON routing.wishes (household_id, kind, md5(text)) WHERE state <> 'confirmed'",
                "CREATE INDEX wishes_by_street ON routing.wishes (street_id, kind, state)",
                "CREATE INDEX wishes_by_grid ON routing.wishes (grid_id, collected_at)",
            ]
        )
    ]
}
