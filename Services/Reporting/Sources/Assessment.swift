import Foundation

/// How grid workers are scored (configurable: `REPORTING_WEIGHT_VOLUME`, `…_QUALITY`,
/// `…_TIMELINESS`, `REPORTING_VISITS_PER_HOUSEHOLD_MONTH`, `REPORTING_COLLECT_PER_HOUSEHOLD_MONTH`,
/// `REPORTING_AWARDS_GOLD`, `REPORTING_AWARDS_EXCELLENT`, `REPORTING_AWARDS_SCORE_FLOOR`,
/// `REPORTING_SUBSIDY_YUAN`, `REPORTING_REPEAT_DAYS`, `REPORTING_NOTICE_WEIGHT`, `REPORTING_WISH_CLUSTER_MIN`), and how the
/// 12345 rates are weighed for units and for the quality part (`REPORTING_RATES_BASIC_SATISFIED_WEIGHT`, `REPORTING_RATES_WEIGHTS`).
package struct AssessmentRules: Sendable, Codable, Equatable {
    package var volumeWeight = 0.3
    package var qualityWeight = 0.4
    package var timelinessWeight = 0.3
    /// The visit duty: visits per household per month (the seed: at least two).
    package var visitsPerHouseholdMonth = 2.0
    /// Requests collected per household per month that earn the full collection part.
    package var collectPerHouseholdMonth = 0.2
    /// At most this many gold and excellent awards, given in rank order to eligible workers only.
    package var goldAwards = 1
    package var excellentAwards = 100
    /// An award needs the visit duty met and a score above this (0–100).
    package var awardScoreFloor = 60.0
    /// Yuan per served resident per year, paid quarterly (the seed: 15).
    package var subsidyYuanPerResidentYear = 15.0
    /// The 12345 rates' weights: every figure's ``Figures/rates12345`` and the quality part.
    package var rates12345 = Rates12345Rules()
    /// A report is a repeat when the same household or address reported the same category
    /// this many days before (`REPORTING_REPEAT_DAYS`; hotspots and recurring problems).
    package var repeatDays = 90
    /// The share of the score the notice coverage (上情下达) takes when notices were due at the
    /// worker's grid in the period (`REPORTING_NOTICE_WEIGHT`, 0…1; see ``NoticeCoverage``).
    package var noticeWeight = 0.1
    /// Wishes of one kind in one street that make a cluster (`REPORTING_WISH_CLUSTER_MIN`).
    package var wishClusterMin = 3

    package init() {}
}

/// One part of a score, with what it was computed from.
package struct ScorePart: Sendable, Codable, Equatable {
    package var score: Double
    package var weight: Double
    package var explanation: String
}

/// A grid worker's assessment over a period.
package struct WorkerAssessment: Sendable, Codable, Equatable {
    package var staff: String
    package var name: String
    package var grid: String
    package var gridName: String
    package var households: Int
    package var population: Int
    package var collected: Int64
    package var visits: Int64
    package var visitDuty: Int
    package var belowVisitDuty: Bool
    /// Figures of the worker's own residents' requests (feedback by origin grid; work at the grid unit).
    package var figures: Figures
    package var volume: ScorePart
    package var quality: ScorePart
    package var timeliness: ScorePart
    /// Notice coverage (上情下达): households informed on time of the notices due at the grid in
    /// the period; weight 0 and score 0 when none was due (not counted, see ``NoticeCoverage``).
    package var notice: ScorePart
    /// The counts behind ``notice`` (nil: no notice was due at the grid in the period).
    package var noticeCoverage: NoticeCoverage?
    package var score: Double
    package var rank: Int?
    /// `gold`, `excellent` or nil.
    package var award: String?
    /// Why no award could be given, whatever the rank (empty: eligible).
    package var notEligible: [Ineligibility]

    package init(
        staff: String,
        name: String,
        grid: String,
        gridName: String,
        households: Int,
        population: Int,
        months: Int,
        gridMetrics: [String: Int64],
        staffMetrics: [String: Int64],
        rules: AssessmentRules,
        notices: NoticeCoverage? = nil
    ) {
        self.staff = staff
        self.name = name
        self.grid = grid
        self.gridName = gridName
        self.households = households
        self.population = population
        collected = staffMetrics["collected"] ?? 0
        visits = staffMetrics["visits"] ?? 0
        visitDuty = Int((rules.visitsPerHouseholdMonth * Double(households * months)).rounded(.up))
        belowVisitDuty = visits < Int64(visitDuty)
        figures = Figures(key: "staff:\(staff)", name: name, metrics: gridMetrics, origin: true, rates: rules.rates12345)
        let collectTarget = max(1, rules.collectPerHouseholdMonth * Double(households * months))
        let visitShare = Self.share(visits: visits, duty: visitDuty)
        let collectShare = min(1, Double(collected) / collectTarget)
        volume = ScorePart(
            score: Self.round(100 * (visitShare + collectShare) / 2),
            weight: rules.volumeWeight,
            explanation:
                "visits \(visits)/\(visitDuty) duty (\(Self.percent(visitShare))), requests collected \(collected)/\(Self.round(collectTarget)) (\(Self.percent(collectShare))), averaged"
        )
        // Quality: the 12345 composite of the worker's own residents' answers, minus half the reopen rate.
        let hotline = figures.rates12345
        let weights = rules.rates12345
        if let composite = hotline.composite {
            let penalty = (figures.reopenRate ?? 0) * 0.5
            quality = ScorePart(
                score: Self.round(max(0, 100 * (composite - penalty))),
                weight: rules.qualityWeight,
                explanation:
                    "12345 composite \(Self.percent(composite)) = \(Self.weightText(weights.responseWeight)) response \(Self.percent(hotline.response))"
                    + " + \(Self.weightText(weights.resolutionWeight)) resolution \(Self.percent(hotline.resolution))"
                    + " + \(Self.weightText(weights.satisfactionWeight)) satisfaction \(Self.percent(hotline.satisfaction))"
                    + " (basically satisfied counted \(String(format: "%g", weights.basicallySatisfiedWeight))) of \(hotline.answered) answers,"
                    + " minus half the reopen rate \(Self.percent(figures.reopenRate))"
            )
        } else {
            quality = ScorePart(score: 0, weight: rules.qualityWeight, explanation: "no feedback from residents in the period")
        }
        timeliness = ScorePart(
            score: Self.round(100 * (figures.responseRate ?? 0)),
            weight: rules.timelinessWeight,
            explanation: figures.assigned == 0
                ? "nothing assigned to the grid in the period"
                : "claimed on time \(figures.claimedOnTime) of \(figures.assigned) assigned to the grid"
        )
        // Notice coverage takes `noticeWeight` of the score when counted; the other parts share the rest.
        let noticeCounted = notices?.counted == true
        notice = NoticeCoverage.part(notices, weight: rules.noticeWeight)
        noticeCoverage = noticeCounted ? notices : nil
        if noticeCounted {
            let rest = 1 - rules.noticeWeight
            volume.weight *= rest
            quality.weight *= rest
            timeliness.weight *= rest
        }
        score = Self.round(
            volume.score * volume.weight + quality.score * quality.weight + timeliness.score * timeliness.weight + notice.score * notice.weight
        )
        notEligible = []
        if belowVisitDuty { notEligible.append(.belowVisitDuty) }
        if !(score > rules.awardScoreFloor) { notEligible.append(.scoreNotAboveFloor) }
    }

    /// Why a worker cannot have an award (the JSON and CSV carry the raw value).
    package enum Ineligibility: String, Sendable, Codable, Equatable {
        /// Fewer visits than the duty.
        case belowVisitDuty = "below-visit-duty"
        /// A score at or below `AssessmentRules.awardScoreFloor`.
        case scoreNotAboveFloor = "score-not-above-floor"
    }

    /// The ranking order: the higher score first; on equal scores the larger share of the
    /// visit duty met, then more requests collected, then the staff id in alphabetical order
    /// (so an order is always the same for the same figures).
    static func ranksBefore(_ a: WorkerAssessment, _ b: WorkerAssessment) -> Bool {
        if a.score != b.score { return a.score > b.score }
        if a.visitShare != b.visitShare { return a.visitShare > b.visitShare }
        if a.collected != b.collected { return a.collected > b.collected }
        return a.staff < b.staff
    }

    /// Visits over the duty, capped at 1 (1 when there is no duty).
    var visitShare: Double { Self.share(visits: visits, duty: visitDuty) }
    static func share(visits: Int64, duty: Int) -> Double { duty == 0 ? 1 : min(1, Double(visits) / Double(duty)) }

    /// Ranks every worker (`ranksBefore`) and gives the awards in rank order to eligible workers
    /// only: the first `goldAwards` of them gold, the next `excellentAwards` excellent. Fewer
    /// eligible workers means fewer awards; an ineligible worker never has one.
    package static func rank(_ assessments: [WorkerAssessment], rules: AssessmentRules) -> [WorkerAssessment] {
        var sorted = assessments.sorted(by: ranksBefore)
        var given = 0
        for index in sorted.indices {
            sorted[index].rank = index + 1
            guard sorted[index].notEligible.isEmpty else {
                sorted[index].award = nil
                continue
            }
            sorted[index].award = given < rules.goldAwards ? "gold" : given < rules.goldAwards + rules.excellentAwards ? "excellent" : nil
            given += 1
        }
        return sorted
    }

    static func round(_ value: Double) -> Double { (value * 10).rounded() / 10 }
    static func percent(_ value: Double?) -> String { value.map { String(format: "%.1f%%", $0 * 100) } ?? "n/a" }
    /// A weight as a share: `10%`, `12.5%`.
    static func weightText(_ weight: Double) -> String { String(format: "%g%%", weight * 100) }
}

/// Quarterly subsidy (补贴) for grid workers: residents served × the yearly rate ÷ 4, a grid's
/// amount shared equally by its grid workers; totals per street or township.
package struct SubsidyLine: Sendable, Codable, Equatable {
    package var staff: String
    package var name: String
    package var grid: String
    package var street: String
    package var population: Int
    package var yuan: Double

    package static func quarter(
        workers: [(staff: String, name: String, grid: String, street: String, population: Int, sharedBy: Int)],
        rules: AssessmentRules
    ) -> [SubsidyLine] {
        workers.map { worker in
            let yuan = Double(worker.population) * rules.subsidyYuanPerResidentYear / 4 / Double(max(1, worker.sharedBy))
            return SubsidyLine(
                staff: worker.staff,
                name: worker.name,
                grid: worker.grid,
                street: worker.street,
                population: worker.population,
                yuan: (yuan * 100).rounded() / 100
            )
        }
    }
}
