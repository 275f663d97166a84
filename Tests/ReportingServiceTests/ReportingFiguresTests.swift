import Foundation
import GridLoopDomain
import ReportingService
import Testing

@Suite("Reporting figures")
struct ReportingFiguresTests {
    @Test func periods() throws {
        let month = try #require(Period(parsing: "2026-02"))
        #expect(month.from == "2026-02-01" && month.to == "2026-02-28" && month.months == 1)
        #expect(month.monthSplit == ("2026-02-01", "2026-02-01", "2026-02-28"))
        #expect(Period(parsing: "2028-02")?.to == "2028-02-29")
        let quarter = try #require(Period(parsing: "2026-Q4"))
        #expect(quarter.from == "2026-10-01" && quarter.to == "2026-12-31" && quarter.months == 3)
        #expect(Period(parsing: "2026")?.months == 12)
        let custom = try #require(Period.custom(from: "2026-11-03", to: "2026-11-20"))
        #expect(custom.months == 1 && custom.monthSplit.lastMonth < custom.monthSplit.firstMonth, "no whole month: days only")
        let straddle = try #require(Period.custom(from: "2026-01-15", to: "2026-04-10"))
        #expect(straddle.monthSplit == ("2026-02-01", "2026-03-01", "2026-03-31"))
        #expect(try #require(Period.custom(from: "2025-12-01", to: "2026-01-31")).monthSplit == ("2025-12-01", "2026-01-01", "2026-01-31"))
        for bad in ["2026-13", "2026-Q5", "26", "x"] { #expect(Period(parsing: bad) == nil, "\(bad)") }
        #expect(Period.custom(from: "2026-11-20", to: "2026-11-03") == nil)
        #expect(Period.custom(from: "2026-02-30", to: "2026-03-01") == nil)
        // 2026-11-30 17:00 UTC is already December 1st in Beijing.
        #expect(Period.month(of: Date(timeIntervalSince1970: 1_796_058_000), utcOffset: 8 * 3600).label == "2026-12")
    }

    @Test func ratesFromCounters() {
        let figures = Figures(
            key: "grid:a",
            name: "A",
            metrics: [
                "assigned": 75, "claimed": 65, "claimed_on_time": 65, "feedback": 65, "solved": 55, "satisfied": 60, "reopened": 5,
                "escalated_from": 10, "resolved": 65, "resolved_on_time": 60, "origin_feedback": 75,
            ]
        )
        #expect(figures.responseRate == 65.0 / 75)
        #expect(figures.resolutionRate == 55.0 / 65)
        #expect(figures.satisfactionRate == 60.0 / 65)
        #expect(figures.reopenRate == 5.0 / 65)
        #expect(figures.escalationRate == 10.0 / 75)
        #expect(figures.onTimeResolutionRate == 60.0 / 65)
        #expect(figures.returnRate == 0)
        let origin = Figures(key: "staff:x", name: "x", metrics: ["origin_feedback": 4, "origin_solved": 3, "feedback": 100], origin: true)
        #expect(origin.feedback == 4 && origin.resolutionRate == 0.75)
        let empty = Figures(key: "k", name: "k", metrics: [:])
        #expect(empty.responseRate == nil && empty.satisfactionRate == nil && empty.medianClaimSeconds == nil)
        #expect(Figures.columns.count == empty.csvValues.count)
    }

    @Test func percentilesFromTheHistogram() throws {
        var metrics: [String: Int64] = [:]
        for seconds in [30.0, 60, 60, 120, 600, 3600, 3600, 7200, 7200, 86400] {
            metrics[DurationHistogram.metric("claim", seconds: seconds), default: 0] += 1
        }
        let median = try #require(DurationHistogram.percentile(0.5, kind: "claim", in: metrics))
        #expect(median > 600 * 0.9 && median < 600 * 1.1, "\(median)")
        let p90 = try #require(DurationHistogram.percentile(0.9, kind: "claim", in: metrics))
        #expect(p90 > 7200 * 0.9 && p90 < 7200 * 1.1, "\(p90)")
        #expect(DurationHistogram.bucket(seconds: 0.2) == 0 && DurationHistogram.bucket(seconds: 2) == 4)
    }

    @Test func assessmentBreakdownAndRanking() throws {
        let rules = AssessmentRules()
        let zhao = WorkerAssessment(
            staff: "zhao-hongmei",
            name: "赵红梅",
            grid: "grid:hongxing-3",
            gridName: "红星三组",
            households: 18,
            population: 52,
            months: 1,
            gridMetrics: [
                "assigned": 75, "claimed_on_time": 65, "origin_feedback": 75, "origin_solved": 65, "origin_satisfied": 70, "origin_reopened": 5,
            ],
            staffMetrics: ["visits": 40, "collected": 70],
            rules: rules
        )
        #expect(zhao.visitDuty == 36 && !zhao.belowVisitDuty)
        // Quality is the 12345 composite less half the reopen rate: 0.1·75/75 + 0.5·65/75 + 0.4·70/75 − ½·5/75 = 0.8733.
        #expect(zhao.volume.score == 100 && zhao.quality.score == 87.3 && zhao.timeliness.score == 86.7)
        #expect(zhao.score == 90.9)
        #expect(zhao.quality.explanation.contains("86.7%") && zhao.quality.explanation.contains("93.3%"))
        let wu = WorkerAssessment(
            staff: "wu-xiaoli",
            name: "吴小莉",
            grid: "grid:hanjiaxu-1",
            gridName: "韩家圩一",
            households: 24,
            population: 80,
            months: 1,
            gridMetrics: ["assigned": 40, "claimed_on_time": 40, "origin_feedback": 40, "origin_solved": 40, "origin_satisfied": 40],
            staffMetrics: ["visits": 10, "collected": 40],
            rules: rules
        )
        #expect(wu.belowVisitDuty && wu.volume.score == 60.4 && wu.score == 88.1)
        let idle = WorkerAssessment(
            staff: "idle",
            name: "idle",
            grid: "grid:x",
            gridName: "x",
            households: 10,
            population: 30,
            months: 1,
            gridMetrics: [:],
            staffMetrics: [:],
            rules: rules
        )
        #expect(idle.score == 0 && idle.quality.explanation.contains("no feedback"))
        var fewAwards = rules
        fewAwards.excellentAwards = 1
        let ranked = WorkerAssessment.rank([idle, wu, zhao], rules: fewAwards)
        #expect(ranked.map(\.staff) == ["zhao-hongmei", "wu-xiaoli", "idle"])
        #expect(ranked.map(\.award) == ["gold", nil, nil], "吴小莉's 88.1 is below the visit duty: no award")
        #expect(ranked.map(\.rank) == [1, 2, 3])
        #expect(ranked.map(\.notEligible) == [[], [.belowVisitDuty], [.belowVisitDuty, .scoreNotAboveFloor]])
    }

    /// A worker as the awards see one: `visits` against a duty of 20 (10 households), a
    /// collection target of 2, and grid figures that give `quality` and `timeliness` in full or not at all.
    static func worker(
        _ staff: String,
        visits: Int64,
        collected: Int64 = 2,
        served: Bool = true,
        rules: AssessmentRules = AssessmentRules()
    ) -> WorkerAssessment {
        WorkerAssessment(
            staff: staff,
            name: staff,
            grid: "grid:\(staff)",
            gridName: staff,
            households: 10,
            population: 30,
            months: 1,
            gridMetrics: served ? ["assigned": 10, "claimed_on_time": 10, "origin_feedback": 10, "origin_solved": 10, "origin_satisfied": 10] : [:],
            staffMetrics: ["visits": visits, "collected": collected],
            rules: rules
        )
    }

    @Test func awardsOnlyForWorkersWhoEarnedThem() {
        let rules = AssessmentRules()
        // No workers: nothing to rank.
        #expect(WorkerAssessment.rank([], rules: rules).isEmpty)
        // One worker: gold if eligible, nothing otherwise, never by default.
        #expect(WorkerAssessment.rank([Self.worker("a", visits: 20)], rules: rules).map(\.award) == ["gold"])
        let idle = WorkerAssessment.rank([Self.worker("a", visits: 0, collected: 0, served: false)], rules: rules)
        #expect(idle.map(\.award) == [nil] && idle.map(\.rank) == [1])
        #expect(idle[0].notEligible == [.belowVisitDuty, .scoreNotAboveFloor])
        // The demo's six: one worker did the work, five did nothing.
        let six = WorkerAssessment.rank(
            [Self.worker("cui", visits: 40)] + ["zhao", "li", "wu", "han", "zhu"].map { Self.worker($0, visits: 0, collected: 0, served: false) },
            rules: rules
        )
        #expect(six.map(\.award) == ["gold", nil, nil, nil, nil, nil])
        #expect(six.dropFirst().allSatisfy { $0.score == 0 && $0.notEligible == [.belowVisitDuty, .scoreNotAboveFloor] })
        // Everyone below the visit duty, however well they scored: no award at all.
        let busy = WorkerAssessment.rank((1...6).map { Self.worker("w\($0)", visits: 19) }, rules: rules)
        #expect(busy.allSatisfy { $0.score > 60 && $0.award == nil && $0.notEligible == [.belowVisitDuty] })
        // Fewer eligible workers than awards: fewer awards; the ineligible are skipped, not the next in line.
        var many = rules
        many.goldAwards = 2
        many.excellentAwards = 2
        let mixed = WorkerAssessment.rank(
            [Self.worker("a", visits: 20), Self.worker("b", visits: 5), Self.worker("c", visits: 20, served: false), Self.worker("d", visits: 30)],
            rules: many
        )
        #expect(
            mixed.map(\.staff) == ["a", "d", "b", "c"] && mixed.map(\.award) == ["gold", "gold", nil, nil],
            "\(mixed.map { ($0.staff, $0.score, $0.award ?? "-") })"
        )
        #expect(mixed[3].score == 30 && mixed[3].notEligible == [.scoreNotAboveFloor], "the duty met, the score not above 60")
    }

    @Test func theFloorIsStrictAndConfigurable() {
        var rules = AssessmentRules()
        let score = Self.worker("a", visits: 20).score
        rules.awardScoreFloor = score
        #expect(Self.worker("a", visits: 20, rules: rules).notEligible == [.scoreNotAboveFloor], "a score equal to the floor is not above it")
        rules.awardScoreFloor = score - 0.1
        #expect(WorkerAssessment.rank([Self.worker("a", visits: 20, rules: rules)], rules: rules).map(\.award) == ["gold"])
    }

    @Test func tiesAreBrokenByVisitsThenCollectionThenId() {
        var rules = AssessmentRules()
        rules.volumeWeight = 0  // the score then ignores visits and collection, so these workers tie on it
        rules.awardScoreFloor = 0
        let tied = [
            Self.worker("c", visits: 20, collected: 2, rules: rules), Self.worker("b", visits: 20, collected: 2, rules: rules),
            Self.worker("a", visits: 20, collected: 1, rules: rules), Self.worker("d", visits: 30, collected: 0, rules: rules),
        ]
        #expect(Set(tied.map(\.score)).count == 1)
        let ranked = WorkerAssessment.rank(tied, rules: rules)
        // d: the same share of the duty (capped at 1) as the others, so collection decides: b and c (2) before a (1) before d (0); b before c by id.
        #expect(ranked.map(\.staff) == ["b", "c", "a", "d"])
        #expect(ranked.map(\.award) == ["gold", "excellent", "excellent", "excellent"])
        var short = rules
        short.visitsPerHouseholdMonth = 4  // a duty of 40: d's 30 visits are a larger share than the others' 20
        let byVisits = WorkerAssessment.rank(
            tied.map { Self.worker($0.staff, visits: $0.visits, collected: $0.collected, rules: short) },
            rules: short
        )
        #expect(byVisits.first?.staff == "d")
    }

    @Test func quarterlySubsidy() {
        let lines = SubsidyLine.quarter(
            workers: [("a", "A", "grid:a", "east", 52, 1), ("b", "B", "grid:b", "east", 80, 2)],
            rules: AssessmentRules()
        )
        #expect(lines.map(\.yuan) == [195, 150])
    }

    @Test func csvHasABOMAndQuotes() {
        let text = CSV.render(header: ["name", "note"], rows: [["光华三组", "a,b \"c\""]])
        #expect(text.hasPrefix("\u{FEFF}name,note\r\n"))
        #expect(text.hasSuffix("光华三组,\"a,b \"\"c\"\"\"\r\n"))
    }

    @Test func masking() {
        #expect(Masking.phone("13800001234") == "138****1234")
        #expect(Masking.phone("12345") == "*****")
        #expect(Masking.name("崔春花") == "崔**")
    }
}
