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

/// Who may enter a month's scores, donate goods, redeem points and read a points statement: pure rules.
package enum PointsRules {
    static let gridStaff: Set<String> = ["grid-worker", "grid-leader"]

    /// Why `principal` may not enter scores for households of `grids` (each with its street), or
    /// `nil`: the community scores its households — a street officer for her street's grids, a
    /// supervisor for any. Not a grid's staff: a grid worker earns a share of her households'
    /// points, so she does not score them.
    package static func refusal(toScore principal: Principal, grids: [(grid: String, street: String)]) -> String? {
        if principal.role == "supervisor" { return nil }
        if principal.role == "street-officer", let unit = principal.unit, unit.tier == .street {
            let others = Set(grids.filter { $0.street != unit.id }.map(\.grid)).sorted()
            return others.isEmpty
                ? nil : "\(principal.id) enters scores for the grids of street \(unit.id) only; not \(others.joined(separator: ", "))"
        }
        return "scores are entered by street officers (their street's grids) and supervisors — a grid's staff earn from them; not \(principal)"
    }

    /// Why `principal` may not record a donation to `street`'s love supermarket, or `nil`: the
    /// street's officers and supervisors.
    package static func refusal(toDonate principal: Principal, street: String) -> String? {
        if principal.role == "supervisor" { return nil }
        if principal.role == "street-officer", let unit = principal.unit, unit.tier == .street {
            return unit.id == street ? nil : "\(principal.id) records donations to street \(unit.id)'s love supermarket only; not \(street)'s"
        }
        return "donations are recorded by the street's officers and supervisors; not \(principal)"
    }

    /// Why `principal` may not record a redemption by a household of `grid` (street `street`),
    /// or `nil`: the household's grid staff, the street's officers, supervisors.
    package static func refusal(toRedeem principal: Principal, grid: String, street: String) -> String? {
        if principal.role == "supervisor" { return nil }
        if let unit = principal.unit {
            if principal.role == "street-officer", unit.tier == .street, unit.id == street { return nil }
            if gridStaff.contains(principal.role), unit.tier == .grid, unit.id == grid { return nil }
        }
        return
            "a redemption of grid:\(grid)'s household is recorded by its grid's staff, street \(street)'s officers or a supervisor; not \(principal)"
    }

    /// Why `principal` may not read `account`'s statement, or `nil`. A household's: its grid's
    /// staff and its street's officers; a worker's: herself and her street's officers; any:
    /// supervisors, district readers and oversight.
    package static func refusal(toRead principal: Principal, account: PointsAccount, grid: String?, street: String?) -> String? {
        if principal.readsDistrict || principal.unit?.tier == .oversight { return nil }
        let unit = principal.unit
        if principal.role == "street-officer", unit?.tier == .street, let street, unit?.id == street { return nil }
        switch account {
        case .household:
            if gridStaff.contains(principal.role), unit?.tier == .grid, let grid, unit?.id == grid { return nil }
            return "a household's points are read by its grid's staff, its street's officers and supervisors; not \(principal)"
        case .worker(let id):
            if principal.id == id { return nil }
            return "a grid worker's points are read by herself, her street's officers and supervisors; not \(principal)"
        }
    }
}

/// Green points and the love supermarket (绿币爱心超市) over HTTP:
/// `POST /v1/points/scores` (a month's scores, JSON or `text/csv`; the households and their grid
/// workers earn points; a household scored again that month has its earlier earns reversed and
/// earns anew), `GET /v1/points/statements/{account}` (`household:ID` or `worker:ID`: the balance
/// and the ledger), `GET /v1/points/goods` (a street's shelf), `POST /v1/points/donations` (goods
/// given) and `POST /v1/points/redemptions` (a household spends points on goods: the points and
/// the stock move together or not at all). The ledger and the goods' moves are append-only
/// (the service role may only read and insert them); balances live in `routing.point_accounts`,
/// never below zero.
struct PointsController: Sendable {
    let postgres: PostgresClient
    let outbox: Outbox
    let relay: OutboxRelay
    let authenticator: Authenticator
    let scale: GreenPointScale

    /// The largest score sheet (CSV or JSON) accepted.
    static let maxSheetBytes = 2 << 20
    /// The most households one request scores.
    static let maxRows = 5000
    /// Goods' price and a donation's quantity are at most these; a redemption takes at most `maxTake`.
    static let maxPrice = 100_000
    static let maxQuantity = 10_000
    static let maxTake = 100

    static func make(runtime: ServiceRuntime, authenticator: Authenticator, reader: ConfigReader) throws -> PointsController {
        let scale = GreenPointScale(
            itemMax: reader.int(forKey: "routing.points.item.max", default: 10),
            perScore: reader.int(forKey: "routing.points.per.score", default: 1),
            workerPercent: reader.int(forKey: "routing.points.worker.percent", default: 10)
        )
        if let problem = scale.problem {
            throw ConfigurationError("green points (ROUTING_POINTS_ITEM_MAX, _PER_SCORE, _WORKER_PERCENT): \(problem)")
        }
        return PointsController(postgres: runtime.postgres, outbox: runtime.outbox, relay: runtime.relay, authenticator: authenticator, scale: scale)
    }

    func addRoutes(to router: Router<GridLoopRequestContext>) {
        router.post("v1/points/scores") { request, context in try await score(request, context: context) }
        router.get("v1/points/statements/:account") { request, context in try await statement(request, context: context) }
        router.get("v1/points/goods") { request, context in try await goods(request, context: context) }
        router.post("v1/points/donations") { request, context in try await donate(request, context: context) }
        router.post("v1/points/redemptions") { request, context in try await redeem(request, context: context) }
    }

    // MARK: - Scores

    struct ScoresBody: Decodable {
        var month: String
        var scores: [ScoreBody]
    }

    struct ScoreBody: Decodable {
        var householdId: String
        var items: [Int]
    }

    /// What scoring did, household by household.
    struct ScoresView: Encodable {
        var month: String
        /// Households scored for the first time this month.
        var scored: Int
        /// Households scored again with other items (the earlier earns reversed).
        var corrected: Int
        /// Households sent again with the same items (nothing changed).
        var unchanged: Int
        var households: [ScoredView]
    }

    struct ScoredView: Encodable, Sendable {
        var householdId: String
        var grid: String
        var items: [Int]
        var points: Int
        /// What each grid worker of the grid earned from it.
        var workerPoints: [String: Int]
        /// The points of the score this one replaced.
        var replaced: Int?
        /// `scored`, `corrected` or `unchanged`.
        var outcome: String
        /// The sheet's line (CSV).
        var line: Int?
    }

    /// One household's score as planned inside the transaction.
    private struct Plan: Sendable {
        var row: GreenPointScoreRow
        var grid: String
        var street: String
        var points: Int
        var workerPoints: [String: Int]
        var revision: Int
        var replaced: Int?
        var previousRef: String?
        var outcome: String
    }

    /// One ledger row to write.
    private struct LedgerRow: Sendable {
        var account: String
        var kind: PointsEntryKind
        var points: Int
        var reason: String
        var reasonEn: String
        var ref: String
    }

    private func score(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        let logger = context.logger
        let title = "Invalid scores"
        var errors: [FieldError] = []
        let month: String
        var rows: [GreenPointScoreRow] = []
        /// Names a row's field in errors: `scores[2].householdId` (JSON) or `line 3, household` (CSV).
        let csv = (request.headers[.contentType] ?? "").lowercased().hasPrefix("text/csv")
        func field(_ row: GreenPointScoreRow, index: Int, _ name: String) -> String {
            csv ? "line \(row.line ?? index + 2), \(name == "householdId" ? "household" : name)" : "scores[\(index)].\(name)"
        }
        if csv {
            month = request.uri.queryParameters["month"].map(String.init) ?? ""
            if !PointsMonth.isValid(month) {
                errors.append(FieldError(field: "month", code: "invalid", message: "a month yyyy-MM in the query (?month=)"))
            }
            var request = request
            let buffer = try await request.collectBody(upTo: Self.maxSheetBytes)
            guard let text = String(bytes: buffer.readableBytesView, encoding: .utf8) else {
                throw Problem.validationFailed(
                    errors + [FieldError(field: "body", code: "invalid", message: "the sheet is not UTF-8 text (save it as “CSV UTF-8”)")],
                    title: title
                )
            }
            switch GreenPointSheet.parse(text, scale: scale, maxRows: Self.maxRows) {
            case .success(let parsed): rows = parsed
            case .failure(let problems): errors += problems.errors
            }
        } else {
            let body = try await JSONBody.decode(ScoresBody.self, from: request, upTo: Self.maxSheetBytes, title: "Malformed scores")
            month = body.month
            if !PointsMonth.isValid(month) { errors.append(FieldError(field: "month", code: "invalid", message: "a month, yyyy-MM")) }
            if body.scores.isEmpty { errors.append(FieldError(field: "scores", code: "required", message: "at least one household's score")) }
            if body.scores.count > Self.maxRows {
                errors.append(FieldError(field: "scores", code: "too_many", message: "at most \(Self.maxRows) households a request"))
            }
            var seen: [String: Int] = [:]
            for (index, score) in body.scores.prefix(Self.maxRows).enumerated() {
                let row = GreenPointScoreRow(householdId: score.householdId, items: score.items)
                if let problem = scale.problem(with: score.items) {
                    errors.append(FieldError(field: field(row, index: index, "items"), code: "invalid", message: problem))
                }
                if let earlier = seen[score.householdId] {
                    errors.append(
                        FieldError(field: field(row, index: index, "householdId"), code: "duplicate", message: "scored in scores[\(earlier)] too")
                    )
                } else {
                    seen[score.householdId] = index
                }
                rows.append(row)
            }
        }
        // Every household must be the org's.
        let found = try await postgres.query(
            """
            SELECT h.id, h.grid_id, g.street_id FROM routing.households h JOIN routing.grids g ON g.id = h.grid_id
            WHERE h.id = ANY(\(rows.map(\.householdId)))
            """,
            logger: logger
        ).collect().map { try $0.decode((String, String, String).self) }
        let place = Dictionary(found.map { ($0.0, (grid: $0.1, street: $0.2)) }, uniquingKeysWith: { first, _ in first })
        for (index, row) in rows.enumerated() where place[row.householdId] == nil {
            errors.append(
                FieldError(
                    field: field(row, index: index, "householdId"),
                    code: "unknown",
                    message: "no household '\(row.householdId.prefix(80))' in the org"
                )
            )
        }
        guard errors.isEmpty else { throw Problem.validationFailed(Array(errors.prefix(GreenPointSheet.maxErrors)), title: title) }
        let grids = Dictionary(rows.compactMap { place[$0.householdId] }.map { ($0.grid, $0.street) }, uniquingKeysWith: { first, _ in first })
            .sorted { $0.key < $1.key }.map { (grid: $0.key, street: $0.value) }
        if let refusal = PointsRules.refusal(toScore: principal, grids: grids) { throw Problem(AuthFailure.forbidden(refusal)) }
        // The grid workers of the grids: each earns a share of her households' points.
        let staff = try await postgres.query(
            "SELECT id, unit FROM routing.staff WHERE role = 'grid-worker' AND unit = ANY(\(grids.map { "grid:\($0.grid)" })) ORDER BY id",
            logger: logger
        ).collect().map { try $0.decode((String, String).self) }
        let workers = Dictionary(grouping: staff, by: { String($0.1.dropFirst("grid:".count)) }).mapValues { $0.map(\.0) }
        let scale = self.scale
        let outbox = self.outbox
        let households = rows
        let views = try await postgres.transaction(logger: logger) { connection -> [ScoredView] in
            // One month's scores are entered one request at a time (a household scored twice at once is corrected once, in order).
            let lock = "routing.points.scores:\(month)"
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(lock)))", logger: logger)
            let existing = try await connection.query(
                """
                SELECT household_id, items::int8[], points, revision FROM routing.point_scores
                WHERE month = \(month) AND household_id = ANY(\(households.map(\.householdId)))
                """,
                logger: logger
            ).collect().map { try $0.decode((String, [Int], Int, Int).self) }
            let before = Dictionary(existing.map { ($0.0, (items: $0.1, points: $0.2, revision: $0.3)) }, uniquingKeysWith: { first, _ in first })
            var plans: [Plan] = []
            for row in households {
                let (grid, street) = place[row.householdId]!
                let points = scale.points(of: row.items)
                let share = scale.workerShare(of: points)
                let earlier = before[row.householdId]
                plans.append(
                    Plan(
                        row: row,
                        grid: grid,
                        street: street,
                        points: points,
                        workerPoints: Dictionary(uniqueKeysWithValues: (workers[grid] ?? []).map { ($0, share) }),
                        revision: (earlier?.revision ?? 0) + (earlier?.items == row.items ? 0 : 1),
                        replaced: earlier?.points,
                        previousRef: earlier.map { Self.scoreRef(month: month, household: row.householdId, revision: $0.revision) },
                        outcome: earlier == nil ? "scored" : (earlier?.items == row.items ? "unchanged" : "corrected")
                    )
                )
            }
            let changed = plans.filter { $0.outcome != "unchanged" }
            // The earns a correction reverses: exactly what the earlier score earned (the household and its workers then).
            let previousRefs = changed.compactMap(\.previousRef)
            let earlierEarns = try await connection.query(
                "SELECT ref, account, points FROM routing.point_ledger WHERE kind = 'earn' AND ref = ANY(\(previousRefs)) ORDER BY seq",
                logger: logger
            ).collect().map { try $0.decode((String, String, Int).self) }
            let earnsOf = Dictionary(grouping: earlierEarns, by: { $0.0 })
            var ledger: [LedgerRow] = []
            var deltas: [String: Int] = [:]
            for plan in changed {
                let household = plan.row.householdId
                let ref = Self.scoreRef(month: month, household: household, revision: plan.revision)
                // The new earns first, then the reversals: the running balance never dips below zero on the way.
                var rows: [LedgerRow] = []
                if plan.points > 0 {
                    rows.append(
                        LedgerRow(
                            account: PointsAccount.household(household).description,
                            kind: .earn,
                            points: plan.points,
                            reason: "\(month) 绿币评分",
                            reasonEn: "Green points for \(month)",
                            ref: ref
                        )
                    )
                }
                for (worker, points) in plan.workerPoints.sorted(by: { $0.key < $1.key }) where points > 0 {
                    rows.append(
                        LedgerRow(
                            account: PointsAccount.worker(worker).description,
                            kind: .earn,
                            points: points,
                            reason: "\(month) 网格户 \(household) 评分",
                            reasonEn: "Share of household \(household)'s green points for \(month)",
                            ref: ref
                        )
                    )
                }
                for (previousRef, account, points) in plan.previousRef.flatMap({ earnsOf[$0] }) ?? [] {
                    rows.append(
                        LedgerRow(
                            account: account,
                            kind: .reversal,
                            points: -points,
                            reason: "\(month) 评分更正，冲销原评分",
                            reasonEn: "Correction of \(month): the earlier score reversed",
                            ref: previousRef
                        )
                    )
                }
                for row in rows { deltas[row.account, default: 0] += row.points }
                ledger += rows
            }
            // The balances first (in account order, so that concurrent batches never deadlock); a
            // correction that takes back points already spent is refused, and nothing is written.
            for (account, delta) in deltas.sorted(by: { $0.key < $1.key }) where delta != 0 {
                if delta > 0 {
                    try await connection.query(
                        """
                        INSERT INTO routing.point_accounts (account, balance) VALUES (\(account), \(delta))
                        ON CONFLICT (account) DO UPDATE SET balance = routing.point_accounts.balance + excluded.balance
                        """,
                        logger: logger
                    )
                } else {
                    let updated = try await connection.query(
                        """
                        UPDATE routing.point_accounts SET balance = balance + \(delta)
                        WHERE account = \(account) AND balance + \(delta) >= 0 RETURNING balance
                        """,
                        logger: logger
                    ).collect()
                    if updated.isEmpty {
                        let balance =
                            try await connection.query("SELECT balance FROM routing.point_accounts WHERE account = \(account)", logger: logger)
                            .collect().first?.decode(Int.self) ?? 0
                        throw Problem(
                            status: .conflict,
                            code: "conflict",
                            title: "The correction takes back points already spent",
                            detail: "\(account) has \(balance) points; the correction would take \(-delta) (they were redeemed). Nothing was written."
                        )
                    }
                }
            }
            if !ledger.isEmpty {
                try await connection.query(
                    """
                    INSERT INTO routing.point_ledger (account, kind, points, reason, reason_en, ref, recorded_by)
                    SELECT u.account, u.kind, u.points, u.reason, u.reason_en, u.ref, \(principal.id)
                    FROM unnest(\(ledger.map(\.account))::text[], \(ledger.map(\.kind.rawValue))::text[], \(ledger.map(\.points))::int8[],
                        \(ledger.map(\.reason))::text[], \(ledger.map(\.reasonEn))::text[], \(ledger.map(\.ref))::text[])
                        WITH ORDINALITY AS u(account, kind, points, reason, reason_en, ref, n)
                    ORDER BY u.n
                    """,
                    logger: logger
                )
            }
            if !changed.isEmpty {
                try await connection.query(
                    """
                    INSERT INTO routing.point_scores (month, household_id, grid_id, items, points, revision, entered_by)
                    SELECT \(month), u.household, u.grid, u.items::int[], u.points, u.revision, \(principal.id)
                    FROM unnest(\(changed.map(\.row.householdId))::text[], \(changed.map(\.grid))::text[],
                        \(changed.map { "{\($0.row.items.map(String.init).joined(separator: ","))}" })::text[],
                        \(changed.map(\.points))::int8[], \(changed.map(\.revision))::int8[]) AS u(household, grid, items, points, revision)
                    ON CONFLICT (month, household_id) DO UPDATE SET grid_id = excluded.grid_id, items = excluded.items,
                        points = excluded.points, revision = excluded.revision, entered_by = excluded.entered_by, entered_at = now()
                    """,
                    logger: logger
                )
            }
            for plan in changed {
                let household = plan.row.householdId
                let event = MessageEnvelope(
                    messageId: "points.scored:\(month):\(household):\(plan.revision)",
                    type: MessageType.pointsScored,
                    requestId: nil,
                    correlationId: "points:\(month)",
                    payload: PointsScored(
                        month: month,
                        householdId: household,
                        grid: plan.grid,
                        street: plan.street,
                        items: plan.row.items,
                        points: plan.points,
                        workerPoints: plan.workerPoints,
                        enteredBy: principal.id,
                        replaced: plan.outcome == "corrected" ? plan.replaced : nil
                    )
                )
                try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
            }
            return plans.map {
                ScoredView(
                    householdId: $0.row.householdId,
                    grid: $0.grid,
                    items: $0.row.items,
                    points: $0.points,
                    workerPoints: $0.workerPoints,
                    replaced: $0.outcome == "corrected" ? $0.replaced : nil,
                    outcome: $0.outcome,
                    line: $0.row.line
                )
            }
        }
        let count = { (outcome: String) in views.filter { $0.outcome == outcome }.count }
        let view = ScoresView(month: month, scored: count("scored"), corrected: count("corrected"), unchanged: count("unchanged"), households: views)
        if view.scored + view.corrected > 0 { relay.wake() }
        logger.info(
            "points scored",
            metadata: [
                "month": "\(month)", "scored": "\(view.scored)", "corrected": "\(view.corrected)", "unchanged": "\(view.unchanged)",
                "by": "\(principal.id)",
            ]
        )
        return try JSONResponse.make(view, status: view.scored + view.corrected > 0 ? .created : .ok)
    }

    /// The ledger reference of a household's score: `score:MONTH:HOUSEHOLD:REVISION`.
    static func scoreRef(month: String, household: String, revision: Int) -> String {
        "score:\(month):\(household):\(revision)"
    }

    // MARK: - Statements

    /// An account's statement as the API gives it.
    struct StatementView: Encodable {
        var account: String
        /// `household` or `worker`.
        var kind: String
        var id: String
        /// The household's grid, or the worker's.
        var grid: String?
        var street: String?
        var balance: Int
        var earned: Int
        var redeemed: Int
        var reversed: Int
        var entries: [PointsStatement.Line]
    }

    private func statement(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        let logger = context.logger
        let raw = context.parameters.get("account") ?? ""
        guard let account = PointsAccount(raw.removingPercentEncoding ?? raw) else {
            throw Problem.validationFailed(
                [FieldError(field: "account", code: "invalid", message: "household:ID or worker:ID, not '\(raw.prefix(80))'")],
                title: "Invalid account"
            )
        }
        let entries = try await postgres.query(
            """
            SELECT seq, kind, points, reason, reason_en, ref, recorded_at, recorded_by FROM routing.point_ledger
            WHERE account = \(account.description) ORDER BY seq
            """,
            logger: logger
        ).collect().map {
            let (seq, kind, points, reason, reasonEn, ref, at, by) = try $0.decode((Int, String, Int, String, String, String, Date, String).self)
            return PointsEntry(
                seq: seq,
                kind: PointsEntryKind(rawValue: kind) ?? .earn,
                points: points,
                reason: reason,
                reasonEn: reasonEn,
                ref: ref,
                at: at,
                by: by
            )
        }
        // Where the account belongs (for who may read it): the household's grid, the worker's grid.
        var grid: String?
        var known = !entries.isEmpty
        switch account {
        case .household(let id):
            // The org's household, else (a household the org no longer lists) the grid it was last scored in.
            grid =
                try await postgres.query(
                    """
                    SELECT coalesce((SELECT grid_id FROM routing.households WHERE id = \(id)),
                        (SELECT grid_id FROM routing.point_scores WHERE household_id = \(id) ORDER BY entered_at DESC LIMIT 1))
                    """,
                    logger: logger
                ).collect().first?.decode(String?.self) ?? nil
            known = known || grid != nil
        case .worker(let id):
            let member = try await postgres.query("SELECT role, unit FROM routing.staff WHERE id = \(id)", logger: logger).collect().first?.decode(
                (String, String).self
            )
            if let member, member.1.hasPrefix("grid:") { grid = String(member.1.dropFirst("grid:".count)) }
            known = known || member?.0 == "grid-worker"
        }
        guard known else {
            throw Problem(status: .notFound, code: "not_found", title: "No such account", detail: "no points account \(account)")
        }
        let street =
            try await grid.asyncMap {
                try await postgres.query("SELECT street_id FROM routing.grids WHERE id = \($0)", logger: logger).collect().first?.decode(String.self)
            } ?? nil
        if let refusal = PointsRules.refusal(toRead: principal, account: account, grid: grid, street: street) {
            throw Problem(AuthFailure.forbidden(refusal))
        }
        let stored =
            try await postgres.query("SELECT balance FROM routing.point_accounts WHERE account = \(account.description)", logger: logger).collect()
            .first?.decode(Int.self) ?? 0
        let statement: PointsStatement
        do { statement = try PointsStatement.make(account: account.description, entries: entries) } catch {
            logger.error("points ledger inconsistent", metadata: ["account": "\(account)", "error": "\(error)"])
            throw error
        }
        if statement.balance != stored {
            logger.error(
                "points balance differs from its ledger",
                metadata: ["account": "\(account)", "balance": "\(stored)", "ledger": "\(statement.balance)"]
            )
        }
        let kind: String
        switch account {
        case .household: kind = "household"
        case .worker: kind = "worker"
        }
        return try JSONResponse.make(
            StatementView(
                account: account.description,
                kind: kind,
                id: account.id,
                grid: grid,
                street: street,
                balance: stored,
                earned: statement.earned,
                redeemed: statement.redeemed,
                reversed: statement.reversed,
                entries: statement.entries
            )
        )
    }

    // MARK: - Goods

    /// Goods on a street's love supermarket shelf.
    struct GoodsView: Encodable, Sendable {
        var id: String
        var street: String
        var name: String
        /// Points a unit costs.
        var points: Int
        var stock: Int
        /// Units donated and redeemed so far.
        var donated: Int
        var redeemed: Int
        var createdAt: Date
    }

    private func goods(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        let logger = context.logger
        var street = request.uri.queryParameters["street"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        if let street {
            let exists = try await !postgres.query("SELECT 1 FROM routing.streets WHERE id = \(street)", logger: logger).collect().isEmpty
            guard exists else {
                throw Problem.validationFailed(
                    [FieldError(field: "street", code: "unknown", message: "no street '\(street)' in the org")],
                    title: "Invalid street"
                )
            }
        } else if let unit = principal.unit, unit.tier == .street {
            street = unit.id
        } else if let unit = principal.unit, unit.tier == .grid {
            street = try await postgres.query("SELECT street_id FROM routing.grids WHERE id = \(unit.id)", logger: logger).collect().first?.decode(
                String.self
            )
        }
        return try JSONResponse.make(try await goodsViews(street: street, id: nil, logger: logger))
    }

    /// The goods of `street` (all streets when `nil`), or the one with `id`.
    private func goodsViews(street: String?, id: UUID?, logger: Logger) async throws -> [GoodsView] {
        try await postgres.query(
            """
            SELECT g.id, g.street_id, g.name, g.points, g.stock, g.created_at,
                coalesce((SELECT sum(quantity) FROM routing.goods_moves m WHERE m.goods_id = g.id AND m.kind = 'donation'), 0)::int8,
                coalesce((SELECT sum(quantity) FROM routing.goods_moves m WHERE m.goods_id = g.id AND m.kind = 'redemption'), 0)::int8
            FROM routing.goods g
            WHERE (\(street)::text IS NULL OR g.street_id = \(street)) AND (\(id)::uuid IS NULL OR g.id = \(id))
            ORDER BY g.street_id, g.name
            """,
            logger: logger
        ).collect().map {
            let (id, street, name, points, stock, createdAt, donated, redeemed) = try $0.decode((UUID, String, String, Int, Int, Date, Int, Int).self)
            return GoodsView(
                id: id.uuidString.lowercased(),
                street: street,
                name: name,
                points: points,
                stock: stock,
                donated: donated,
                redeemed: redeemed,
                createdAt: createdAt
            )
        }
    }

    // MARK: - Donations

    struct DonationBody: Decodable {
        var street: String?
        var goodsName: String
        /// Points a unit costs: required for new goods; for goods on the shelf it must be their price.
        var points: Int?
        var quantity: Int
        var donor: String
    }

    struct DonationView: Encodable {
        var donationId: String
        var quantity: Int
        var donor: String
        var goods: GoodsView
    }

    /// A request sent again with its Idempotency-Key: the transaction is rolled back and the first answer given.
    private struct Replayed: Error {}

    private func donate(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        let logger = context.logger
        // Who may record no donation anywhere is told so before anything about the form.
        if !["supervisor", "street-officer"].contains(principal.role) {
            throw Problem(AuthFailure.forbidden("donations are recorded by the street's officers and supervisors; not \(principal)"))
        }
        let body = try await JSONBody.decode(DonationBody.self, from: request, upTo: 16 * 1024, title: "Malformed donation")
        let title = "Invalid donation"
        let name = body.goodsName.trimmingCharacters(in: .whitespacesAndNewlines)
        let donor = body.donor.trimmingCharacters(in: .whitespacesAndNewlines)
        var errors: [FieldError] = []
        if name.isEmpty || name.count > 100 || !PlainText.isClean(name) || name.contains("\n") {
            errors.append(FieldError(field: "goodsName", code: "invalid", message: "1–100 characters on one line"))
        }
        if let points = body.points, !(1...Self.maxPrice).contains(points) {
            errors.append(FieldError(field: "points", code: "invalid", message: "points a unit costs, 1–\(Self.maxPrice)"))
        }
        if !(1...Self.maxQuantity).contains(body.quantity) {
            errors.append(FieldError(field: "quantity", code: "invalid", message: "1–\(Self.maxQuantity) units"))
        }
        if donor.isEmpty || donor.count > 200 || !PlainText.isClean(donor) || donor.contains("\n") {
            errors.append(FieldError(field: "donor", code: "invalid", message: "who gave it, 1–200 characters on one line"))
        }
        let street = body.street ?? (principal.unit?.tier == .street ? principal.unit?.id : nil)
        if let street {
            if try await postgres.query("SELECT 1 FROM routing.streets WHERE id = \(street)", logger: logger).collect().isEmpty {
                errors.append(FieldError(field: "street", code: "unknown", message: "no street '\(street)' in the org"))
            }
        } else {
            errors.append(FieldError(field: "street", code: "required", message: "the street whose love supermarket receives it"))
        }
        guard errors.isEmpty, let street else { throw Problem.validationFailed(errors, title: title) }
        if let refusal = PointsRules.refusal(toDonate: principal, street: street) { throw Problem(AuthFailure.forbidden(refusal)) }
        let key = request.headers[HTTPField.Name("Idempotency-Key")!].map { "\(principal.id):\($0.prefix(200))" }
        if let key, let replay = try await donation(forKey: key, logger: logger) {
            return try JSONResponse.make(replay, headers: [HTTPField.Name("Idempotent-Replayed")!: "true"])
        }
        let donationId = UUID()
        let outbox = self.outbox
        do {
            let goodsId = try await postgres.transaction(logger: logger) { connection -> UUID in
                if let points = body.points {
                    try await connection.query(
                        """
                        INSERT INTO routing.goods (id, street_id, name, points, stock) VALUES (\(UUID()), \(street), \(name), \(points), 0)
                        ON CONFLICT (street_id, name) DO NOTHING
                        """,
                        logger: logger
                    )
                }
                let shelf = try await connection.query(
                    "UPDATE routing.goods SET stock = stock + \(body.quantity) WHERE street_id = \(street) AND name = \(name) RETURNING id, points",
                    logger: logger
                ).collect().first.map { try $0.decode((UUID, Int).self) }
                guard let (goodsId, price) = shelf else {
                    throw Problem.validationFailed(
                        [
                            FieldError(
                                field: "points",
                                code: "required",
                                message: "\(name) is new at \(street)'s love supermarket: the points a unit costs"
                            )
                        ],
                        title: title
                    )
                }
                if let points = body.points, points != price {
                    throw Problem(
                        status: .conflict,
                        code: "conflict",
                        title: "The goods have another price",
                        detail: "\(name) costs \(price) points at \(street)'s love supermarket, not \(points); a donation does not change the price"
                    )
                }
                let moved = try await connection.query(
                    """
                    INSERT INTO routing.goods_moves (goods_id, kind, quantity, donor, ref, recorded_by, idempotency_key)
                    VALUES (\(goodsId), 'donation', \(body.quantity), \(donor), \(donationId.uuidString.lowercased()), \(principal.id), \(key))
                    ON CONFLICT (idempotency_key) DO NOTHING RETURNING seq
                    """,
                    logger: logger
                ).collect()
                guard !moved.isEmpty else { throw Replayed() }
                let event = MessageEnvelope(
                    messageId: "goods.donated:\(donationId.uuidString.lowercased())",
                    type: MessageType.goodsDonated,
                    requestId: nil,
                    correlationId: donationId.uuidString.lowercased(),
                    payload: GoodsDonated(
                        donationId: donationId.uuidString.lowercased(),
                        street: street,
                        goodsId: goodsId.uuidString.lowercased(),
                        goodsName: name,
                        quantity: body.quantity,
                        donor: donor,
                        staff: principal.id
                    )
                )
                try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
                return goodsId
            }
            relay.wake()
            logger.info(
                "goods donated",
                metadata: ["goods.id": "\(goodsId)", "street": "\(street)", "quantity": "\(body.quantity)", "by": "\(principal.id)"]
            )
            guard let goods = try await goodsViews(street: nil, id: goodsId, logger: logger).first else { throw Replayed() }
            return try JSONResponse.make(
                DonationView(donationId: donationId.uuidString.lowercased(), quantity: body.quantity, donor: donor, goods: goods),
                status: .created
            )
        } catch is Replayed {
            guard let key, let replay = try await donation(forKey: key, logger: logger) else { throw Replayed() }
            return try JSONResponse.make(replay, headers: [HTTPField.Name("Idempotent-Replayed")!: "true"])
        }
    }

    /// The donation a request with `key` recorded already.
    private func donation(forKey key: String, logger: Logger) async throws -> DonationView? {
        let row = try await postgres.query(
            "SELECT ref, goods_id, quantity, donor FROM routing.goods_moves WHERE idempotency_key = \(key) AND kind = 'donation'",
            logger: logger
        ).collect().first.map { try $0.decode((String, UUID, Int, String?).self) }
        guard let (ref, goodsId, quantity, donor) = row, let goods = try await goodsViews(street: nil, id: goodsId, logger: logger).first else {
            return nil
        }
        return DonationView(donationId: ref, quantity: quantity, donor: donor ?? "", goods: goods)
    }

    // MARK: - Redemptions

    struct RedemptionBody: Decodable {
        var householdId: String
        var goodsId: String
        var quantity: Int?
    }

    /// A redemption's receipt.
    struct ReceiptView: Encodable {
        var redemptionId: String
        /// `LX-yyyyMM-000123`, printed for the household.
        var receipt: String
        var householdId: String
        var goodsId: String
        var goodsName: String
        var quantity: Int
        /// Points spent.
        var points: Int
        /// The household's balance after it.
        var balance: Int
        /// The goods' stock after it.
        var stock: Int
        var at: Date
        var by: String
    }

    private func redeem(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        let logger = context.logger
        let body = try await JSONBody.decode(RedemptionBody.self, from: request, upTo: 16 * 1024, title: "Malformed redemption")
        let title = "Invalid redemption"
        let quantity = body.quantity ?? 1
        var errors: [FieldError] = []
        if !(1...Self.maxTake).contains(quantity) {
            errors.append(FieldError(field: "quantity", code: "invalid", message: "1–\(Self.maxTake) units"))
        }
        let household = try await postgres.query(
            "SELECT h.grid_id, g.street_id FROM routing.households h JOIN routing.grids g ON g.id = h.grid_id WHERE h.id = \(body.householdId)",
            logger: logger
        ).collect().first.map { try $0.decode((String, String).self) }
        if household == nil {
            errors.append(FieldError(field: "householdId", code: "unknown", message: "no household '\(body.householdId.prefix(80))' in the org"))
        }
        let goodsId = UUID(uuidString: body.goodsId)
        let goods =
            try await goodsId.asyncMap {
                try await postgres.query("SELECT street_id, name, points FROM routing.goods WHERE id = \($0)", logger: logger).collect().first.map {
                    try $0.decode((String, String, Int).self)
                }
            } ?? nil
        if goods == nil {
            errors.append(FieldError(field: "goodsId", code: "unknown", message: "no goods '\(body.goodsId.prefix(80))' (gridloop points goods)"))
        }
        if let household, let goods, household.1 != goods.0 {
            errors.append(
                FieldError(
                    field: "goodsId",
                    code: "invalid",
                    message: "\(goods.1) is on street \(goods.0)'s shelf; the household shops at street \(household.1)'s love supermarket"
                )
            )
        }
        guard errors.isEmpty, let (grid, street) = household, let (_, goodsName, price) = goods, let goodsId else {
            throw Problem.validationFailed(errors, title: title)
        }
        if let refusal = PointsRules.refusal(toRedeem: principal, grid: grid, street: street) { throw Problem(AuthFailure.forbidden(refusal)) }
        let key = request.headers[HTTPField.Name("Idempotency-Key")!].map { "\(principal.id):\($0.prefix(200))" }
        if let key, let replay = try await redemption(forKey: key, logger: logger) {
            return try JSONResponse.make(replay, headers: [HTTPField.Name("Idempotent-Replayed")!: "true"])
        }
        let cost = price * quantity
        let account = PointsAccount.household(body.householdId).description
        let id = UUID()
        let at = Date()
        let month = LocalDay.month(of: at, utcOffset: try await LocalDay.utcOffset(on: postgres, logger: logger))
        let outbox = self.outbox
        do {
            let receipt = try await postgres.transaction(logger: logger) { connection -> ReceiptView in
                // The points, then the stock: each a conditional UPDATE (a racing redemption waits for the row and
                // then sees what the first one left); the CHECK constraints are the last guard.
                let balance = try await connection.query(
                    """
                    UPDATE routing.point_accounts SET balance = balance - \(cost)
                    WHERE account = \(account) AND balance >= \(cost) RETURNING balance
                    """,
                    logger: logger
                ).collect().first?.decode(Int.self)
                guard let balance else {
                    let has =
                        try await connection.query("SELECT balance FROM routing.point_accounts WHERE account = \(account)", logger: logger).collect()
                        .first?.decode(Int.self) ?? 0
                    throw Problem(
                        status: .conflict,
                        code: "insufficient_points",
                        title: "Not enough points",
                        detail: "\(body.householdId) has \(has) points; \(quantity) × \(goodsName) cost \(cost). Nothing changed."
                    )
                }
                let stock = try await connection.query(
                    "UPDATE routing.goods SET stock = stock - \(quantity) WHERE id = \(goodsId) AND stock >= \(quantity) RETURNING stock",
                    logger: logger
                ).collect().first?.decode(Int.self)
                guard let stock else {
                    let left =
                        try await connection.query("SELECT stock FROM routing.goods WHERE id = \(goodsId)", logger: logger).collect().first?.decode(
                            Int.self
                        ) ?? 0
                    throw Problem(
                        status: .conflict,
                        code: "out_of_stock",
                        title: "Out of stock",
                        detail: "\(goodsName): \(left) left at \(street)'s love supermarket, \(quantity) asked. Nothing changed."
                    )
                }
                let number =
                    try await connection.query("SELECT nextval('routing.redemption_numbers')", logger: logger).collect().first?.decode(
                        Int.self
                    ) ?? 0
                let receipt = RedemptionReceipt.make(month: month, number: number)
                let inserted = try await connection.query(
                    """
                    INSERT INTO routing.redemptions
                        (id, receipt, household_id, grid_id, street_id, goods_id, quantity, points, recorded_at, recorded_by, idempotency_key)
                    VALUES (\(id), \(receipt), \(body.householdId), \(grid), \(street), \(goodsId), \(quantity), \(cost), \(at),
                        \(principal.id), \(key))
                    ON CONFLICT (idempotency_key) DO NOTHING RETURNING id
                    """,
                    logger: logger
                ).collect()
                guard !inserted.isEmpty else { throw Replayed() }
                let ref = "redemption:\(id.uuidString.lowercased())"
                try await connection.query(
                    """
                    INSERT INTO routing.point_ledger (account, kind, points, reason, reason_en, ref, recorded_at, recorded_by)
                    VALUES (\(account), 'redeem', \(-cost), \("爱心超市兑换 \(goodsName) ×\(quantity)（\(receipt)）"),
                        \("Love supermarket: \(goodsName) × \(quantity) (\(receipt))"), \(ref), \(at), \(principal.id))
                    """,
                    logger: logger
                )
                try await connection.query(
                    """
                    INSERT INTO routing.goods_moves (goods_id, kind, quantity, ref, recorded_at, recorded_by)
                    VALUES (\(goodsId), 'redemption', \(quantity), \(ref), \(at), \(principal.id))
                    """,
                    logger: logger
                )
                let event = MessageEnvelope(
                    messageId: "points.redeemed:\(id.uuidString.lowercased())",
                    type: MessageType.pointsRedeemed,
                    occurredAt: at,
                    requestId: nil,
                    correlationId: id.uuidString.lowercased(),
                    payload: PointsRedeemed(
                        redemptionId: id.uuidString.lowercased(),
                        householdId: body.householdId,
                        grid: grid,
                        street: street,
                        goodsId: goodsId.uuidString.lowercased(),
                        goodsName: goodsName,
                        quantity: quantity,
                        points: cost,
                        staff: principal.id
                    )
                )
                try await outbox.add(event: event, exchange: GridLoopExchange.events, on: connection, logger: logger)
                return ReceiptView(
                    redemptionId: id.uuidString.lowercased(),
                    receipt: receipt,
                    householdId: body.householdId,
                    goodsId: goodsId.uuidString.lowercased(),
                    goodsName: goodsName,
                    quantity: quantity,
                    points: cost,
                    balance: balance,
                    stock: stock,
                    at: at,
                    by: principal.id
                )
            }
            relay.wake()
            logger.info(
                "points redeemed",
                metadata: ["receipt": "\(receipt.receipt)", "household": "\(body.householdId)", "points": "\(cost)", "by": "\(principal.id)"]
            )
            return try JSONResponse.make(receipt, status: .created)
        } catch is Replayed {
            guard let key, let replay = try await redemption(forKey: key, logger: logger) else { throw Replayed() }
            return try JSONResponse.make(replay, headers: [HTTPField.Name("Idempotent-Replayed")!: "true"])
        }
    }

    /// The redemption a request with `key` recorded already (with today's balance and stock).
    private func redemption(forKey key: String, logger: Logger) async throws -> ReceiptView? {
        let row = try await postgres.query(
            """
            SELECT r.id, r.receipt, r.household_id, r.goods_id, g.name, r.quantity, r.points, r.recorded_at, r.recorded_by, g.stock,
                coalesce((SELECT balance FROM routing.point_accounts a WHERE a.account = 'household:' || r.household_id), 0)
            FROM routing.redemptions r JOIN routing.goods g ON g.id = r.goods_id WHERE r.idempotency_key = \(key)
            """,
            logger: logger
        ).collect().first
        guard let row else { return nil }
        let (id, receipt, household, goodsId, name, quantity, points, at, by, stock, balance) = try row.decode(
            (UUID, String, String, UUID, String, Int, Int, Date, String, Int, Int).self
        )
        return ReceiptView(
            redemptionId: id.uuidString.lowercased(),
            receipt: receipt,
            householdId: household,
            goodsId: goodsId.uuidString.lowercased(),
            goodsName: name,
            quantity: quantity,
            points: points,
            balance: balance,
            stock: stock,
            at: at,
            by: by
        )
    }
}

extension Optional {
    /// `map` with an async transform.
    fileprivate func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        switch self {
        case .some(let value): try await transform(value)
        case .none: nil
        }
    }
}

extension RoutingSchema {
    /// Green points and the love supermarket (migration 25). The ledger, the goods' moves and the
    /// redemptions are append-only: the service role may only read and insert them.
    static let pointsMigrations: [Migration] = [
        Migration(
            version: 25,
            name: "green points and the love supermarket (绿币爱心超市)",
            statements: [
                """
                CREATE TABLE routing.point_scores (
                    month text NOT NULL CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
                    household_id text NOT NULL,
                    grid_id text NOT NULL,
                    items integer[] NOT NULL CHECK (cardinality(items) = 5),
                    points integer NOT NULL CHECK (points >= 0),
                    revision integer NOT NULL DEFAULT 1,
                    entered_by text NOT NULL,
                    entered_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (month, household_id)
                )
                """,
                "CREATE INDEX point_scores_by_household ON routing.point_scores (household_id, entered_at)",
                """
                CREATE TABLE routing.point_ledger (
                    seq bigserial PRIMARY KEY,
                    account text NOT NULL,
                    kind text NOT NULL CHECK (kind IN ('earn', 'redeem', 'reversal')),
                    points integer NOT NULL,
                    reason text NOT NULL,
                    reason_en text NOT NULL,
                    ref text NOT NULL,
                    recorded_at timestamptz NOT NULL DEFAULT now(),
                    recorded_by text NOT NULL
                )
                """,
                "CREATE INDEX point_ledger_by_account ON routing.point_ledger (account, seq)",
                "CREATE INDEX point_ledger_by_ref ON routing.point_ledger (ref)",
                "CREATE TABLE routing.point_accounts (account text PRIMARY KEY, balance integer NOT NULL CHECK (balance >= 0))",
                """
                CREATE TABLE routing.goods (
                    id uuid PRIMARY KEY,
                    street_id text NOT NULL,
                    name text NOT NULL,
                    points integer NOT NULL CHECK (points > 0),
                    stock integer NOT NULL CHECK (stock >= 0),
                    created_at timestamptz NOT NULL DEFAULT now(),
                    UNIQUE (street_id, name)
                )
                """,
                """
                CREATE TABLE routing.goods_moves (
                    seq bigserial PRIMARY KEY,
                    goods_id uuid NOT NULL REFERENCES routing.goods (id),
                    kind text NOT NULL CHECK (kind IN ('donation', 'redemption')),
                    quantity integer NOT NULL CHECK (quantity > 0),
                    donor text,
                    ref text NOT NULL,
                    recorded_at timestamptz NOT NULL DEFAULT now(),
                    recorded_by text NOT NULL,
                    idempotency_key text UNIQUE
                )
                """,
                "CREATE INDEX goods_moves_by_goods ON routing.goods_moves (goods_id, kind)",
                "CREATE SEQUENCE routing.redemption_numbers",
                """
                CREATE TABLE routing.redemptions (
                    id uuid PRIMARY KEY,
                    receipt text NOT NULL UNIQUE,
                    household_id text NOT NULL,
                    grid_id text NOT NULL,
                    street_id text NOT NULL,
                    goods_id uuid NOT NULL REFERENCES routing.goods (id),
                    quantity integer NOT NULL CHECK (quantity > 0),
                    points integer NOT NULL CHECK (points > 0),
                    recorded_at timestamptz NOT NULL,
                    recorded_by text NOT NULL,
                    idempotency_key text UNIQUE
                )
                """,
                "CREATE INDEX redemptions_by_household ON routing.redemptions (household_id, recorded_at)",
                // Append-only, as the trail (Migration.serviceRole's revokes): the service role may read and insert only.
                """
                DO $$
                DECLARE service text := current_database() || '_service';
                BEGIN
                    IF EXISTS (SELECT FROM pg_roles WHERE rolname = service) THEN
                        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON routing.point_ledger, routing.goods_moves, routing.redemptions FROM %I',
                            service);
                    END IF;
                END $$
                """,
            ]
        )
    ]
}
