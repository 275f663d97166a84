import Foundation
import GridLoopDomain
import GridLoopServiceSupport

// The community half of a grid worker's job (#20) in figures: policy notices' coverage (上情下达),
// consultations (议事), micro-wishes (微心愿) and green points (绿币). Pure: the store reads the
// projected rows (``CommunityProjection``), these turn them into the reports, so they are tested
// without I/O. Grids and streets are the events' bare ids (`hongxing-3`, `xiping`); names come
// from reporting's copy of the org (`grid:<id>`, `street:<id>`).

// MARK: - Notice coverage in the assessment

/// A grid's notice coverage over a period, for its grid workers' assessment: the notices due at
/// the grid in the period (their due day within it), the households each had to reach there (as
/// routing counted them when it published) and those informed by the end of the due day.
package struct NoticeCoverage: Sendable, Codable, Equatable {
    /// Notices due at the grid in the period.
    package var notices: Int
    /// Households to inform, added up over those notices.
    package var households: Int
    /// Households informed by the end of the due day, each notice's count capped at its households.
    package var informedOnTime: Int
    /// `informedOnTime / households` (at most 1); nil without households.
    package var rate: Double?

    package init(notices: Int, households: Int, informedOnTime: Int) {
        self.notices = notices
        self.households = households
        self.informedOnTime = min(informedOnTime, households)
        rate = households > 0 ? Double(self.informedOnTime) / Double(households) : nil
    }

    /// Counted in the score only when a notice with households to inform was due at the grid.
    var counted: Bool { households > 0 }

    /// The assessment's notice part: 100 × on-time coverage, with `weight` (its share of the
    /// score: the other parts share the rest, ``WorkerAssessment``). Without notices due at the
    /// grid in the period the part is not counted: score 0 at weight 0, and the other parts keep
    /// their weights, so the score is what it would be without this part.
    package static func part(_ coverage: NoticeCoverage?, weight: Double) -> ScorePart {
        guard let coverage, coverage.counted, let rate = coverage.rate else {
            return ScorePart(
                score: 0,
                weight: 0,
                explanation: "no notice was due at the grid in the period: not counted (the other parts keep their weights)"
            )
        }
        let notices = coverage.notices == 1 ? "1 notice" : "\(coverage.notices) notices"
        return ScorePart(
            score: WorkerAssessment.round(100 * rate),
            weight: weight,
            explanation:
                "informed by the due day \(coverage.informedOnTime) of \(coverage.households) households of \(notices) due at the grid"
                + " (\(WorkerAssessment.percent(rate))); \(WorkerAssessment.weightText(weight)) of the score, the other parts share the rest"
        )
    }
}

// MARK: - Notices

/// One projected notice (`notice.published`).
package struct NoticeFacts: Sendable, Equatable {
    package var id: String
    package var title: String
    package var titleEn: String?
    package var dueOn: String
    package var publishedOn: String
    package var publishedBy: String
    package var unit: String

    package init(id: String, title: String, titleEn: String?, dueOn: String, publishedOn: String, publishedBy: String, unit: String) {
        self.id = id
        self.title = title
        self.titleEn = titleEn
        self.dueOn = dueOn
        self.publishedOn = publishedOn
        self.publishedBy = publishedBy
        self.unit = unit
    }
}

/// One projected notice × grid: its households and what `notice.informed`, `notice.sms` and
/// `notice.lagging` counted there.
package struct NoticeGridFacts: Sendable, Equatable {
    package var noticeId: String
    package var grid: String
    /// The grid's street as the events said (else the org's, ``NoticesReport/make``).
    package var street: String?
    package var households: Int
    package var informed: Int
    package var onTime: Int
    package var visit: Int
    package var phone: Int
    package var sms: Int
    package var smsSent: Int
    package var reminded: Bool
    package var overdue: Bool

    package init(
        noticeId: String,
        grid: String,
        street: String? = nil,
        households: Int,
        informed: Int = 0,
        onTime: Int = 0,
        visit: Int = 0,
        phone: Int = 0,
        sms: Int = 0,
        smsSent: Int = 0,
        reminded: Bool = false,
        overdue: Bool = false
    ) {
        self.noticeId = noticeId
        self.grid = grid
        self.street = street
        self.households = households
        self.informed = informed
        self.onTime = onTime
        self.visit = visit
        self.phone = phone
        self.sms = sms
        self.smsSent = smsSent
        self.reminded = reminded
        self.overdue = overdue
    }
}

/// Coverage of notices at a grid, a street, or in all (`key` `all`).
package struct CoverageRow: Sendable, Codable, Equatable {
    /// A grid id, a street id or `all`.
    package var key: String
    package var name: String
    /// A grid's street.
    package var street: String?
    package var streetName: String?
    /// Notice × grid pairs added up (for a notice's own rows: its grids).
    package var notices: Int
    package var households: Int
    /// Households informed (counted once each, by the due day or later).
    package var informed: Int
    /// Households informed by the end of the due day.
    package var onTime: Int
    /// `informed / households` (at most 1); nil without households.
    package var coverage: Double?
    /// `onTime / households` (at most 1); nil without households.
    package var onTimeCoverage: Double?
    /// How the informed households were told.
    package var visit: Int
    package var phone: Int
    package var sms: Int
    /// Confirm-link SMS sent (a household may be sent more than one).
    package var smsSent: Int
    /// Grids reminded near the due day with households left (`notice.lagging` reminder).
    package var reminded: Int
    /// Grids with households left after the due day (`notice.lagging` overdue).
    package var overdue: Int

    init(key: String, name: String, street: String? = nil, streetName: String? = nil) {
        self.key = key
        self.name = name
        self.street = street
        self.streetName = streetName
        notices = 0
        households = 0
        informed = 0
        onTime = 0
        visit = 0
        phone = 0
        sms = 0
        smsSent = 0
        reminded = 0
        overdue = 0
    }

    mutating func add(_ facts: NoticeGridFacts) {
        notices += 1
        households += facts.households
        informed += min(facts.informed, facts.households)
        onTime += min(facts.onTime, facts.households)
        visit += facts.visit
        phone += facts.phone
        sms += facts.sms
        smsSent += facts.smsSent
        if facts.reminded { reminded += 1 }
        if facts.overdue { overdue += 1 }
        coverage = households > 0 ? Double(informed) / Double(households) : nil
        onTimeCoverage = households > 0 ? Double(onTime) / Double(households) : nil
    }
}

/// One notice's coverage, in all, per street and per grid.
package struct NoticeFigures: Sendable, Codable, Equatable {
    package var noticeId: String
    package var title: String
    package var titleEn: String?
    package var dueOn: String
    package var publishedOn: String
    package var publishedBy: String
    package var unit: String
    package var totals: CoverageRow
    package var streets: [CoverageRow]
    package var grids: [CoverageRow]
}

/// `GET /v1/reports/community/notices`: the notices open during the period (published on or
/// before its last day, due on or after its first), each notice's coverage, and every grid's
/// and street's over them.
package struct NoticesReport: Sendable, Codable, Equatable {
    package var period: Period
    /// The street the report is limited to (its grids only), or nil for the district.
    package var street: String?
    package var totals: CoverageRow
    /// Newest due day first.
    package var notices: [NoticeFigures]
    package var streets: [CoverageRow]
    package var grids: [CoverageRow]

    /// The report from the projected rows: grids outside `street` (when given) left out, and
    /// notices left without grids.
    package static func make(
        period: Period,
        street: String?,
        notices: [NoticeFacts],
        grids: [NoticeGridFacts],
        directory: ReportingDirectory
    ) -> NoticesReport {
        let names = CommunityNames(directory)
        let byNotice = Dictionary(grouping: grids.map { names.placed($0) }.filter { street == nil || $0.street == street }, by: \.noticeId)
        var totals = CoverageRow(key: "all", name: "")
        var allStreets: [String: CoverageRow] = [:]
        var allGrids: [String: CoverageRow] = [:]
        var figures: [NoticeFigures] = []
        for notice in notices {
            guard let rows = byNotice[notice.id], !rows.isEmpty else { continue }
            var total = CoverageRow(key: "all", name: notice.title)
            var streets: [String: CoverageRow] = [:]
            var perGrid: [String: CoverageRow] = [:]
            for row in rows {
                total.add(row)
                totals.add(row)
                let streetKey = row.street ?? ""
                streets[streetKey, default: names.streetRow(streetKey)].add(row)
                allStreets[streetKey, default: names.streetRow(streetKey)].add(row)
                perGrid[row.grid, default: names.gridRow(row.grid, street: row.street)].add(row)
                allGrids[row.grid, default: names.gridRow(row.grid, street: row.street)].add(row)
            }
            figures.append(
                NoticeFigures(
                    noticeId: notice.id,
                    title: notice.title,
                    titleEn: notice.titleEn,
                    dueOn: notice.dueOn,
                    publishedOn: notice.publishedOn,
                    publishedBy: notice.publishedBy,
                    unit: notice.unit,
                    totals: total,
                    streets: streets.values.sorted { $0.key < $1.key },
                    grids: perGrid.values.sorted { $0.key < $1.key }
                )
            )
        }
        figures.sort { ($0.dueOn, $1.noticeId) > ($1.dueOn, $0.noticeId) }
        return NoticesReport(
            period: period,
            street: street,
            totals: totals,
            notices: figures,
            streets: allStreets.values.sorted { $0.key < $1.key },
            grids: allGrids.values.sorted { $0.key < $1.key }
        )
    }

    /// The CSV columns: one row per notice × grid.
    package static let csvHeader = [
        "notice", "title", "published_on", "due_on", "street", "street_name", "grid", "grid_name", "households", "informed", "on_time",
        "coverage", "on_time_coverage", "visit", "phone", "sms", "sms_sent", "reminded", "overdue",
    ]

    package var csvRows: [[String]] {
        notices.flatMap { notice in
            notice.grids.map { row in
                [
                    notice.noticeId, notice.title, notice.publishedOn, notice.dueOn, row.street ?? "", row.streetName ?? "", row.key, row.name,
                    "\(row.households)", "\(row.informed)", "\(row.onTime)", CommunityNames.rate(row.coverage),
                    CommunityNames.rate(row.onTimeCoverage),
                    "\(row.visit)", "\(row.phone)", "\(row.sms)", "\(row.smsSent)", row.reminded > 0 ? "yes" : "no", row.overdue > 0 ? "yes" : "no",
                ]
            }
        }
    }
}

// MARK: - Consultations

/// One projected consultation (`consultation.opened`, and `consultation.closed` once closed).
package struct ConsultationFacts: Sendable, Equatable {
    package var id: String
    package var question: String
    package var options: [String]
    package var endsOn: String
    package var rule: String
    package var openedOn: String
    package var openedBy: String
    package var unit: String
    package var closedAt: Date?
    package var result: String?
    package var meetingOutcome: String?

    package init(
        id: String,
        question: String,
        options: [String],
        endsOn: String,
        rule: String,
        openedOn: String,
        openedBy: String,
        unit: String,
        closedAt: Date? = nil,
        result: String? = nil,
        meetingOutcome: String? = nil
    ) {
        self.id = id
        self.question = question
        self.options = options
        self.endsOn = endsOn
        self.rule = rule
        self.openedOn = openedOn
        self.openedBy = openedBy
        self.unit = unit
        self.closedAt = closedAt
        self.result = result
        self.meetingOutcome = meetingOutcome
    }
}

/// A consultation's grid and its households (from `consultation.opened`).
package struct ConsultationGridFacts: Sendable, Equatable {
    package var consultationId: String
    package var grid: String
    package var street: String?
    package var households: Int

    package init(consultationId: String, grid: String, street: String? = nil, households: Int) {
        self.consultationId = consultationId
        self.grid = grid
        self.street = street
        self.households = households
    }
}

/// Households of a consultation's grid holding one option now (each household's latest
/// position), how many of them voiced concerns and how many changed their position on the way.
package struct ConsultationHoldingFacts: Sendable, Equatable {
    package var consultationId: String
    package var grid: String
    package var option: String
    package var households: Int
    package var concerns: Int
    package var changed: Int

    package init(consultationId: String, grid: String, option: String, households: Int, concerns: Int = 0, changed: Int = 0) {
        self.consultationId = consultationId
        self.grid = grid
        self.option = option
        self.households = households
        self.concerns = concerns
        self.changed = changed
    }
}

/// One consultation's figures: the tally (as routing's ``ConsultationTally``), the option the
/// rule carries now, and the result once closed.
package struct ConsultationFigures: Sendable, Codable, Equatable {
    /// One grid's tally.
    package struct Grid: Sendable, Codable, Equatable {
        package var grid: String
        package var name: String
        package var street: String?
        package var streetName: String?
        package var households: Int
        package var positions: Int
        package var byOption: [String: Int]
    }

    package var consultationId: String
    package var question: String
    package var options: [String]
    package var endsOn: String
    package var rule: String
    package var openedOn: String
    package var openedBy: String
    package var unit: String
    /// `open` or `closed`.
    package var state: String
    /// Every grid's households (the whole consultation, whatever the street asked).
    package var households: Int
    /// Households with a position.
    package var positions: Int
    /// positions / households; nil without households.
    package var participation: Double?
    /// Households per option, each with its latest position.
    package var byOption: [String: Int]
    /// Households whose latest position voiced concerns.
    package var concerns: Int
    /// Households that changed their position at least once.
    package var changed: Int
    /// Households one option needs under the rule: `ceil(households × rule)`.
    package var needed: Int
    /// The option the rule carries with the positions so far (nil: none, or a tie at the top).
    package var reached: String?
    package var result: String?
    package var meetingOutcome: String?
    package var closedAt: Date?
    package var grids: [Grid]
}

/// `GET /v1/reports/community/consultations`: the consultations open during the period
/// (opened on or before its last day, ending on or after its first).
package struct ConsultationsReport: Sendable, Codable, Equatable {
    package var period: Period
    package var street: String?
    /// Newest first.
    package var consultations: [ConsultationFigures]

    /// The report from the projected rows: consultations reaching `street` (when given) only,
    /// with that street's grids; the totals stay the whole consultation's.
    package static func make(
        period: Period,
        street: String?,
        consultations: [ConsultationFacts],
        grids: [ConsultationGridFacts],
        holdings: [ConsultationHoldingFacts],
        directory: ReportingDirectory
    ) -> ConsultationsReport {
        let names = CommunityNames(directory)
        let gridsOf = Dictionary(grouping: grids, by: \.consultationId)
        let holdingsOf = Dictionary(grouping: holdings, by: \.consultationId)
        var figures: [ConsultationFigures] = []
        for consultation in consultations {
            let own = (gridsOf[consultation.id] ?? []).map { grid in
                var placed = grid
                placed.street = grid.street ?? names.street(ofGrid: grid.grid)
                return placed
            }
            guard street == nil || own.contains(where: { $0.street == street }) else { continue }
            let empty = Dictionary(consultation.options.map { ($0, 0) }, uniquingKeysWith: { first, _ in first })
            var all = ConsultationTally.Row(key: "all", households: 0, positions: 0, byOption: empty)
            var rows: [String: ConsultationTally.Row] = [:]
            for grid in own {
                all.households += grid.households
                rows[grid.grid, default: ConsultationTally.Row(key: grid.grid, households: 0, positions: 0, byOption: empty)].households +=
                    grid.households
            }
            var concerns = 0
            var changed = 0
            for holding in holdingsOf[consultation.id] ?? [] where empty[holding.option] != nil {
                all.positions += holding.households
                all.byOption[holding.option, default: 0] += holding.households
                rows[holding.grid, default: ConsultationTally.Row(key: holding.grid, households: 0, positions: 0, byOption: empty)].positions +=
                    holding.households
                rows[holding.grid]?.byOption[holding.option, default: 0] += holding.households
                concerns += holding.concerns
                changed += holding.changed
            }
            let tally = ConsultationTally(all: all, grids: rows.values.sorted { $0.key < $1.key })
            let rule = ConsultationRule(consultation.rule)
            let streetOf = Dictionary(own.map { ($0.grid, $0.street) }, uniquingKeysWith: { first, _ in first })
            let shown = tally.grids.filter { street == nil || (streetOf[$0.key] ?? names.street(ofGrid: $0.key)) == street }
            figures.append(
                ConsultationFigures(
                    consultationId: consultation.id,
                    question: consultation.question,
                    options: consultation.options,
                    endsOn: consultation.endsOn,
                    rule: consultation.rule,
                    openedOn: consultation.openedOn,
                    openedBy: consultation.openedBy,
                    unit: consultation.unit,
                    state: consultation.closedAt == nil ? "open" : "closed",
                    households: all.households,
                    positions: all.positions,
                    participation: all.households > 0 ? Double(all.positions) / Double(all.households) : nil,
                    byOption: all.byOption,
                    concerns: concerns,
                    changed: changed,
                    needed: rule.map { tally.needed(by: $0) } ?? 0,
                    reached: rule.flatMap { tally.reached(by: $0) },
                    result: consultation.result,
                    meetingOutcome: consultation.meetingOutcome,
                    closedAt: consultation.closedAt,
                    grids: shown.map { row in
                        let gridStreet = streetOf[row.key] ?? names.street(ofGrid: row.key)
                        return ConsultationFigures.Grid(
                            grid: row.key,
                            name: names.grid(row.key),
                            street: gridStreet,
                            streetName: gridStreet.map(names.street),
                            households: row.households,
                            positions: row.positions,
                            byOption: row.byOption
                        )
                    }
                )
            )
        }
        figures.sort { ($0.openedOn, $1.consultationId) > ($1.openedOn, $0.consultationId) }
        return ConsultationsReport(period: period, street: street, consultations: figures)
    }

    /// The CSV columns: per consultation and option, the households holding it in all (grid
    /// empty) and per grid.
    package static let csvHeader = [
        "consultation", "question", "state", "rule", "ends_on", "needed", "reached", "result", "street", "grid", "grid_name", "households",
        "positions", "option", "holding",
    ]

    package var csvRows: [[String]] {
        consultations.flatMap { item -> [[String]] in
            let head = [
                item.consultationId, item.question, item.state, item.rule, item.endsOn, "\(item.needed)", item.reached ?? "", item.result ?? "",
            ]
            let all = item.options.map { option in
                head + ["", "", "", "\(item.households)", "\(item.positions)", option, "\(item.byOption[option] ?? 0)"]
            }
            let grids = item.grids.flatMap { grid in
                item.options.map { option in
                    head + [
                        grid.street ?? "", grid.grid, grid.name, "\(grid.households)", "\(grid.positions)", option, "\(grid.byOption[option] ?? 0)",
                    ]
                }
            }
            return all + grids
        }
    }
}

// MARK: - Micro-wishes

/// Wishes of one grid and kind in one state now, among those collected in the period.
package struct WishCountFacts: Sendable, Equatable {
    package var grid: String
    package var street: String
    package var kind: String
    package var state: WishState
    package var count: Int

    package init(grid: String, street: String, kind: String, state: WishState, count: Int) {
        self.grid = grid
        self.street = street
        self.kind = kind
        self.state = state
        self.count = count
    }
}

/// The wishes collected at a grid, a street or in all (`key` `all`) in the period, and how far
/// they have got since.
package struct WishRow: Sendable, Codable, Equatable {
    package var key: String
    package var name: String
    package var street: String?
    package var streetName: String?
    /// Wishes collected in the period.
    package var collected: Int
    /// Of them: adopted (or further on).
    package var adopted: Int
    /// Of them: fulfilled (or confirmed).
    package var fulfilled: Int
    /// Of them: confirmed with the resident.
    package var confirmed: Int
    /// Of them: still open (collected or adopted, not fulfilled yet).
    package var open: Int
    /// Wishes per kind.
    package var byKind: [String: Int]

    init(key: String, name: String, street: String? = nil, streetName: String? = nil) {
        self.key = key
        self.name = name
        self.street = street
        self.streetName = streetName
        collected = 0
        adopted = 0
        fulfilled = 0
        confirmed = 0
        open = 0
        byKind = [:]
    }

    mutating func add(_ facts: WishCountFacts) {
        let reached = WishState.allCases.firstIndex(of: facts.state) ?? 0
        collected += facts.count
        if reached >= 1 { adopted += facts.count }
        if reached >= 2 { fulfilled += facts.count }
        if reached >= 3 { confirmed += facts.count }
        if facts.state.isOpen { open += facts.count }
        byKind[facts.kind, default: 0] += facts.count
    }
}

/// `GET /v1/reports/community/wishes`: the wishes collected in the period per street and grid
/// with how far they have got, and the clusters (a street's wishes of one kind, at least
/// `REPORTING_WISH_CLUSTER_MIN` of them: routing's ``WishCluster`` over the same wishes).
package struct WishesReport: Sendable, Codable, Equatable {
    package var period: Period
    package var street: String?
    package var clusterMinimum: Int
    package var totals: WishRow
    package var streets: [WishRow]
    package var grids: [WishRow]
    /// The largest first.
    package var clusters: [WishCluster]

    package static func make(
        period: Period,
        street: String?,
        counts: [WishCountFacts],
        clusterMinimum: Int,
        directory: ReportingDirectory
    )
        -> WishesReport
    {
        let names = CommunityNames(directory)
        let kept = counts.filter { street == nil || $0.street == street }
        var totals = WishRow(key: "all", name: "")
        var streets: [String: WishRow] = [:]
        var grids: [String: WishRow] = [:]
        for facts in kept {
            totals.add(facts)
            streets[facts.street, default: WishRow(key: facts.street, name: names.street(facts.street))].add(facts)
            grids[
                facts.grid,
                default: WishRow(key: facts.grid, name: names.grid(facts.grid), street: facts.street, streetName: names.street(facts.street))
            ]
            .add(facts)
        }
        let clusterCounts = kept.map { facts in
            WishCluster.Count(
                street: facts.street,
                grid: facts.grid,
                kind: WishKind(rawValue: facts.kind) ?? .other,
                state: facts.state,
                count: facts.count
            )
        }
        let clusters = WishCluster.compute(clusterCounts, minimum: clusterMinimum).map { cluster in
            var named = cluster
            named.streetName = names.street(cluster.street)
            return named
        }
        return WishesReport(
            period: period,
            street: street,
            clusterMinimum: clusterMinimum,
            totals: totals,
            streets: streets.values.sorted { $0.key < $1.key },
            grids: grids.values.sorted { $0.key < $1.key },
            clusters: clusters
        )
    }

    /// The CSV columns: one row per street, then one per grid (`level` says which).
    package static let csvHeader =
        [
            "level", "street", "street_name", "grid", "grid_name", "collected", "adopted", "fulfilled", "confirmed", "open",
        ] + WishKind.allCases.map { "kind_\($0.rawValue)" }

    package var csvRows: [[String]] {
        func counts(_ row: WishRow) -> [String] {
            ["\(row.collected)", "\(row.adopted)", "\(row.fulfilled)", "\(row.confirmed)", "\(row.open)"]
                + WishKind.allCases.map { kind in "\(row.byKind[kind.rawValue] ?? 0)" }
        }
        return streets.map { ["street", $0.key, $0.name, "", ""] + counts($0) }
            + grids.map { ["grid", $0.street ?? "", $0.streetName ?? "", $0.key, $0.name] + counts($0) }
    }

    /// The clusters' CSV columns.
    package static let clustersCSVHeader = ["street", "street_name", "kind", "total", "open"] + WishState.allCases.map(\.rawValue)

    package var clustersCSVRows: [[String]] {
        clusters.map { cluster in
            [cluster.street, cluster.streetName ?? "", cluster.kind.rawValue, "\(cluster.total)", "\(cluster.open)"]
                + WishState.allCases.map { "\(cluster.byState[$0.rawValue] ?? 0)" }
        }
    }
}

// MARK: - Green points and the love supermarket

/// One street's green points in a month.
package struct PointsRow: Sendable, Codable, Equatable {
    /// A street id, or `all`.
    package var street: String
    package var name: String
    /// Households scored for the month (a household scored again counts once, with its latest score).
    package var householdsScored: Int
    /// Points the households earned for the month (latest scores).
    package var pointsEarned: Int
    /// Points the grid workers earned from those scores.
    package var workerPoints: Int
    /// Redemptions at the street's love supermarket in the month, the points they took and the goods handed out.
    package var redemptions: Int
    package var pointsRedeemed: Int
    package var goodsRedeemed: Int
    /// Donations to the street's supermarket in the month and the goods given.
    package var donations: Int
    package var goodsDonated: Int

    package init(
        street: String,
        name: String,
        householdsScored: Int = 0,
        pointsEarned: Int = 0,
        workerPoints: Int = 0,
        redemptions: Int = 0,
        pointsRedeemed: Int = 0,
        goodsRedeemed: Int = 0,
        donations: Int = 0,
        goodsDonated: Int = 0
    ) {
        self.street = street
        self.name = name
        self.householdsScored = householdsScored
        self.pointsEarned = pointsEarned
        self.workerPoints = workerPoints
        self.redemptions = redemptions
        self.pointsRedeemed = pointsRedeemed
        self.goodsRedeemed = goodsRedeemed
        self.donations = donations
        self.goodsDonated = goodsDonated
    }

    mutating func add(_ row: PointsRow) {
        householdsScored += row.householdsScored
        pointsEarned += row.pointsEarned
        workerPoints += row.workerPoints
        redemptions += row.redemptions
        pointsRedeemed += row.pointsRedeemed
        goodsRedeemed += row.goodsRedeemed
        donations += row.donations
        goodsDonated += row.goodsDonated
    }
}

/// `GET /v1/reports/community/points?month=`: per street, the month's scores, redemptions and donations.
package struct PointsReport: Sendable, Codable, Equatable {
    /// `yyyy-MM`.
    package var month: String
    package var street: String?
    package var totals: PointsRow
    package var streets: [PointsRow]

    /// The report from per-street rows (one or more per street, added up; names from the org).
    package static func make(month: String, street: String?, rows: [PointsRow], directory: ReportingDirectory) -> PointsReport {
        let names = CommunityNames(directory)
        var totals = PointsRow(street: "all", name: "")
        var streets: [String: PointsRow] = [:]
        for row in rows where street == nil || row.street == street {
            totals.add(row)
            streets[row.street, default: PointsRow(street: row.street, name: names.street(row.street))].add(row)
        }
        return PointsReport(month: month, street: street, totals: totals, streets: streets.values.sorted { $0.street < $1.street })
    }

    package static let csvHeader = [
        "month", "street", "street_name", "households_scored", "points_earned", "worker_points", "redemptions", "points_redeemed", "goods_redeemed",
        "donations", "goods_donated",
    ]

    package var csvRows: [[String]] {
        streets.map { row in
            [
                month, row.street, row.name, "\(row.householdsScored)", "\(row.pointsEarned)", "\(row.workerPoints)", "\(row.redemptions)",
                "\(row.pointsRedeemed)", "\(row.goodsRedeemed)", "\(row.donations)", "\(row.goodsDonated)",
            ]
        }
    }

    /// `yyyy-MM` with a real month (2000–2100), else nil.
    package static func month(_ text: String) -> String? {
        guard text.count == 7, text.dropFirst(4).first == "-", text.dropFirst(5).allSatisfy(\.isNumber), Period(parsing: text) != nil else {
            return nil
        }
        return text
    }
}

// MARK: - Names

/// Grid and street names from reporting's copy of the org, for the events' bare ids.
struct CommunityNames {
    let directory: ReportingDirectory

    init(_ directory: ReportingDirectory) { self.directory = directory }

    func grid(_ id: String) -> String { directory.units["grid:\(id)"]?.name ?? id }
    func street(_ id: String) -> String { id.isEmpty ? "-" : directory.units["street:\(id)"]?.name ?? id }
    func street(ofGrid id: String) -> String? { directory.units["grid:\(id)"]?.street }

    /// `facts` with its street: the events', else the org's.
    func placed(_ facts: NoticeGridFacts) -> NoticeGridFacts {
        var placed = facts
        placed.street = facts.street ?? street(ofGrid: facts.grid)
        return placed
    }

    func gridRow(_ id: String, street: String?) -> CoverageRow {
        CoverageRow(key: id, name: grid(id), street: street, streetName: street.map(self.street))
    }

    func streetRow(_ id: String) -> CoverageRow { CoverageRow(key: id, name: street(id)) }

    /// A rate for CSV: four decimals, empty without data.
    static func rate(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "" }
}

// MARK: - Settings

extension AssessmentRules {
    /// The environment variable of ``noticeWeight``.
    package static let noticeWeightVariable = "REPORTING_NOTICE_WEIGHT"

    /// ``noticeWeight`` from its variable's text (`0.1`); unset or blank keeps the default.
    /// Anything but a number from 0 to 1 is refused with the reason, so reporting stops at start.
    package static func noticeWeight(_ text: String?, default value: Double = AssessmentRules().noticeWeight) throws(ConfigurationError) -> Double {
        guard let text = text?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return value }
        guard let weight = Double(text), weight.isFinite, (0...1).contains(weight) else {
            throw ConfigurationError(
                "\(noticeWeightVariable) must be a number from 0 to 1 (the share of a grid worker's score the notice coverage takes, e.g. 0.1), not '\(text)'"
            )
        }
        return weight
    }

    /// ``wishClusterMin`` from `REPORTING_WISH_CLUSTER_MIN`: at least 1, else refused.
    package static func wishClusterMin(_ value: Int) throws(ConfigurationError) -> Int {
        guard value >= 1 else { throw ConfigurationError("REPORTING_WISH_CLUSTER_MIN must be at least 1, not \(value)") }
        return value
    }
}
