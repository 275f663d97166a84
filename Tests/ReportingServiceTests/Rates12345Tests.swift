import Foundation
import Testing

@testable import ReportingService

/// The 12345 hotline's rates and composite, worked out by hand (issue #21 item 2).
@Suite("The 12345 rates: 响应率, 解决率, 满意率 and the composite")
struct Rates12345Tests {
    /// `a` within 10⁻¹² of `b` (both present).
    func close(_ a: Double?, _ b: Double) -> Bool { a.map { abs($0 - b) < 1e-12 } ?? false }

    /// What the text initialiser refuses, or nil.
    func refusal(_ basic: String?, _ weights: String?) -> Rates12345Rules.Invalid? {
        do throws(Rates12345Rules.Invalid) {
            _ = try Rates12345Rules(basicallySatisfiedWeight: basic, weights: weights)
            return nil
        } catch {
            return error
        }
    }

    @Test func beijingDefaultsByHand() {
        // 10 answers: 8 contacted, 7 solved, 5 satisfied + 2 basically satisfied (3 unsatisfied).
        let rates = Rates12345(answered: 10, contacted: 8, solved: 7, satisfied: 5, basicallySatisfied: 2, rules: Rates12345Rules())
        #expect(close(rates.response, 0.8))  // 8 / 10
        #expect(close(rates.resolution, 0.7))  // 7 / 10
        #expect(close(rates.satisfaction, 0.68))  // (5 + 0.9 × 2) / 10 = 6.8 / 10
        #expect(close(rates.composite, 0.702))  // 0.1 × 0.8 + 0.5 × 0.7 + 0.4 × 0.68 = 0.08 + 0.35 + 0.272
        #expect(rates.answered == 10 && rates.contacted == 8 && rates.solved == 7 && rates.satisfied == 5 && rates.basicallySatisfied == 2)
        let defaults = Rates12345Rules()
        #expect(
            defaults.basicallySatisfiedWeight == 0.9 && defaults.responseWeight == 0.1 && defaults.resolutionWeight == 0.5
                && defaults.satisfactionWeight == 0.4
        )
    }

    @Test func noAnswersNoRates() {
        let rates = Rates12345(answered: 0, contacted: 0, solved: 0, satisfied: 0, basicallySatisfied: 0, rules: Rates12345Rules())
        #expect(rates.response == nil && rates.resolution == nil && rates.satisfaction == nil && rates.composite == nil, "nil, not 0")
        let figures = Figures(key: "grid:x", name: "x", metrics: ["assigned": 3, "claimed_on_time": 3])
        #expect(figures.rates12345.composite == nil && figures.rates12345.answered == 0)
        #expect(Array(figures.csvValues.suffix(9)) == ["", "", "", "", "0", "0", "0", "0", "0"], "empty cells, not 0, for the rates")
        // Encoded as the other rates are: absent when there is nothing to compute them from.
        let json = try? JSONSerialization.jsonObject(with: JSONEncoder().encode(figures)) as? [String: Any]
        let nested = json?["rates12345"] as? [String: Any]
        #expect(nested?["composite"] == nil && nested?["answered"] as? Int == 0)
    }

    @Test func customWeights() throws {
        // "Basically satisfied" counted in full, response 20%, resolution 40%, satisfaction 40%.
        let full = try Rates12345Rules(basicallySatisfiedWeight: "1", weights: " 0.2, 0.4 ,0.4 ")
        #expect(try Rates12345Rules(basicallySatisfiedWeight: 1, responseWeight: 0.2, resolutionWeight: 0.4, satisfactionWeight: 0.4) == full)
        let rates = Rates12345(answered: 10, contacted: 8, solved: 7, satisfied: 5, basicallySatisfied: 2, rules: full)
        #expect(close(rates.satisfaction, 0.7))  // (5 + 1 × 2) / 10
        #expect(close(rates.composite, 0.72))  // 0.2 × 0.8 + 0.4 × 0.7 + 0.4 × 0.7 = 0.16 + 0.28 + 0.28
        // "Basically satisfied" counting nothing, and the composite reduced to 解决率.
        let strict = try Rates12345Rules(basicallySatisfiedWeight: "0", weights: "0,1,0")
        let strictRates = Rates12345(answered: 10, contacted: 8, solved: 7, satisfied: 5, basicallySatisfied: 2, rules: strict)
        #expect(close(strictRates.satisfaction, 0.5) && close(strictRates.composite, 0.7))
        // Unset or blank: Beijing's defaults.
        #expect(try Rates12345Rules(basicallySatisfiedWeight: nil, weights: nil) == Rates12345Rules())
        #expect(try Rates12345Rules(basicallySatisfiedWeight: "", weights: "  ") == Rates12345Rules())
        #expect(try Rates12345Rules(basicallySatisfiedWeight: "0.9", weights: "0.1,0.5,0.4") == Rates12345Rules())
    }

    @Test func badWeightsAreRefused() throws {
        #expect(refusal(nil, "0.1,0.5,0.5") == .weightsDoNotAddUpToOne([0.1, 0.5, 0.5]))
        #expect(refusal(nil, "0.1,0.5,0.3") == .weightsDoNotAddUpToOne([0.1, 0.5, 0.3]))
        #expect(refusal(nil, "0.5,0.5") == .weightsNotThreeNumbers("0.5,0.5"))
        #expect(refusal(nil, "0.1,0.5,0.4,0") == .weightsNotThreeNumbers("0.1,0.5,0.4,0"))
        #expect(refusal(nil, "0.1,0.5,x") == .weightsNotThreeNumbers("0.1,0.5,x"))
        #expect(refusal(nil, "0.1,,0.9") == .weightsNotThreeNumbers("0.1,,0.9"))
        #expect(refusal(nil, "0.1;0.5;0.4") == .weightsNotThreeNumbers("0.1;0.5;0.4"))
        #expect(refusal(nil, "-0.1,0.7,0.4") == .weightOutOfRange(-0.1), "adds up to 1, but a weight is negative")
        #expect(refusal("1.5", nil) == .basicallySatisfiedWeight("1.5"))
        #expect(refusal("-0.1", nil) == .basicallySatisfiedWeight("-0.1"))
        #expect(refusal("abc", nil) == .basicallySatisfiedWeight("abc"))
        #expect(refusal("nan", nil) != nil && refusal(nil, "nan,0.5,0.5") != nil)
        #expect(throws: Rates12345Rules.Invalid.weightsDoNotAddUpToOne([0.2, 0.5, 0.4])) {
            try Rates12345Rules(basicallySatisfiedWeight: 0.9, responseWeight: 0.2, resolutionWeight: 0.5, satisfactionWeight: 0.4)
        }
        // The message names the variable and what is expected (the service stops with it at start).
        let sumRefusal = try #require(refusal(nil, "0.1,0.5,0.5"))
        let sum = sumRefusal.description
        #expect(sum.contains("REPORTING_RATES_WEIGHTS") && sum.contains("add up to 1") && sum.contains("0.1 + 0.5 + 0.5"), "\(sum)")
        let shapeRefusal = try #require(refusal(nil, "0.5,0.5"))
        let shape = shapeRefusal.description
        #expect(shape.contains("REPORTING_RATES_WEIGHTS") && shape.contains("three numbers") && shape.contains("'0.5,0.5'"), "\(shape)")
        let basicRefusal = try #require(refusal("abc", nil))
        let basic = basicRefusal.description
        #expect(basic.contains("REPORTING_RATES_BASIC_SATISFIED_WEIGHT") && basic.contains("from 0 to 1") && basic.contains("'abc'"), "\(basic)")
        // Decoding checks as the initialiser does.
        let bad = Data(#"{"basicallySatisfiedWeight":0.9,"responseWeight":0.5,"resolutionWeight":0.5,"satisfactionWeight":0.5}"#.utf8)
        #expect(throws: Rates12345Rules.Invalid.self) { try JSONDecoder().decode(Rates12345Rules.self, from: bad) }
        let good = try JSONEncoder().encode(Rates12345Rules())
        #expect(try JSONDecoder().decode(Rates12345Rules.self, from: good) == Rates12345Rules())
    }

    @Test func figuresCarryTheRatesNextToTheExistingOnes() throws {
        // 10 answers at a unit: 5 satisfied, 2 basically satisfied, 3 unsatisfied (reopened); 7 solved.
        // The projector counts `satisfied` for both satisfied and basically satisfied, `basically` for the latter.
        let metrics: [String: Int64] = [
            "assigned": 12, "claimed_on_time": 9, "feedback": 10, "solved": 7, "satisfied": 7, "basically": 2, "reopened": 3,
        ]
        let figures = Figures(key: "grid:a", name: "A", metrics: metrics, rates: Rates12345Rules())
        // The existing rates are unchanged.
        #expect(figures.responseRate == 9.0 / 12 && figures.resolutionRate == 0.7 && figures.satisfactionRate == 0.7 && figures.satisfied == 7)
        let rates = figures.rates12345
        #expect(rates.answered == 10 && rates.contacted == 10 && rates.solved == 7 && rates.satisfied == 5 && rates.basicallySatisfied == 2)
        #expect(close(rates.response, 1))  // no resident said nobody contacted them
        #expect(close(rates.resolution, 0.7))
        #expect(close(rates.satisfaction, 0.68))  // (5 + 0.9 × 2) / 10
        #expect(close(rates.composite, 0.722))  // 0.1 × 1 + 0.5 × 0.7 + 0.4 × 0.68 = 0.1 + 0.35 + 0.272
        // Two residents said through the follow-up link that nobody contacted them.
        let uncontacted = Figures(key: "grid:a", name: "A", metrics: metrics.merging(["not_contacted": 2]) { _, new in new })
        #expect(uncontacted.rates12345.contacted == 8 && close(uncontacted.rates12345.response, 0.8))
        #expect(close(uncontacted.rates12345.composite, 0.1 * 0.8 + 0.35 + 0.272))
        // A grid worker's own residents: the origin_* counters.
        let origin = Figures(
            key: "staff:x",
            name: "x",
            metrics: ["origin_feedback": 4, "origin_solved": 3, "origin_satisfied": 4, "origin_basically": 1, "feedback": 100],
            origin: true
        )
        #expect(origin.rates12345.answered == 4 && origin.rates12345.satisfied == 3 && origin.rates12345.basicallySatisfied == 1)
        #expect(close(origin.rates12345.composite, 0.1 + 0.5 * 0.75 + 0.4 * (3 + 0.9) / 4))
        // CSV: the old columns as they were, nine new ones at the end.
        #expect(Array(Figures.columns.prefix(4)) == ["key", "name", "received", "assigned"] && Figures.columns[25] == "p90_resolve_seconds")
        #expect(
            Array(Figures.columns.suffix(9)) == [
                "rates12345_response", "rates12345_resolution", "rates12345_satisfaction", "rates12345_composite", "rates12345_answered",
                "rates12345_contacted", "rates12345_solved", "rates12345_satisfied", "rates12345_basically_satisfied",
            ]
        )
        #expect(Figures.columns.count == figures.csvValues.count)
        #expect(Array(figures.csvValues.suffix(9)) == ["1.0000", "0.7000", "0.6800", "0.7220", "10", "10", "7", "5", "2"])
        // JSON: the existing fields and the new object.
        let json = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(figures)) as? [String: Any])
        #expect(json["responseRate"] != nil && json["satisfactionRate"] != nil && json["satisfied"] as? Int == 7)
        let nested = try #require(json["rates12345"] as? [String: Any])
        #expect(
            Set(nested.keys) == [
                "response", "resolution", "satisfaction", "composite", "answered", "contacted", "solved", "satisfied", "basicallySatisfied",
            ]
        )
        #expect(close((nested["composite"] as? NSNumber)?.doubleValue, 0.722))
    }

    /// The scripted month's grid A as its grid worker's assessment sees it: 75 answers from her
    /// residents (40 satisfied, 10 basically satisfied, 5 basically satisfied but not solved,
    /// 5 unsatisfied then satisfied after the reopen, 10 water requests satisfied).
    static func gridA(_ rules: AssessmentRules) -> WorkerAssessment {
        WorkerAssessment(
            staff: "zhao-hongmei",
            name: "赵红梅",
            grid: "grid:a",
            gridName: "东一网格",
            households: 18,
            population: 52,
            months: 1,
            gridMetrics: [
                "assigned": 75, "claimed_on_time": 65, "origin_feedback": 75, "origin_solved": 65, "origin_satisfied": 70, "origin_basically": 15,
                "origin_reopened": 5,
            ],
            staffMetrics: ["visits": 40, "collected": 70],
            rules: rules
        )
    }

    @Test func theGridWorkersQualityIsTheComposite() throws {
        let worker = Self.gridA(AssessmentRules())
        // 响应率 75/75 = 1; 解决率 65/75; 满意率 (55 + 0.9 × 15)/75 = 68.5/75
        // composite 0.1 + 0.5 × 65/75 + 0.4 × 68.5/75 = 0.1 + 59.9/75 = 0.898667
        #expect(close(worker.figures.rates12345.composite, 0.1 + 59.9 / 75))
        // quality 100 × (0.898667 − ½ × 5/75) = 86.53 → 86.5
        #expect(worker.quality.score == 86.5)
        #expect(worker.volume.score == 100 && worker.timeliness.score == 86.7)  // 65/75 claimed on time
        // 0.3 × 100 + 0.4 × 86.5 + 0.3 × 86.7 = 30 + 34.6 + 26.01 = 90.61 → 90.6
        #expect(worker.score == 90.6)
        let why = worker.quality.explanation
        for part in [
            "12345 composite 89.9%", "10% response 100.0%", "50% resolution 86.7%", "40% satisfaction 91.3%", "counted 0.9", "of 75 answers",
            "reopen rate 6.7%",
        ] {
            #expect(why.contains(part), "\(part) in: \(why)")
        }
        // Weights 0 / 0.5 / 0.5 with "basically satisfied" in full give back the former quality
        // part (resolution and satisfaction averaged): 0.5 × 65/75 + 0.5 × 70/75 − 1/30 = 0.8667.
        var former = AssessmentRules()
        former.rates12345 = try Rates12345Rules(basicallySatisfiedWeight: "1", weights: "0,0.5,0.5")
        let before = Self.gridA(former)
        #expect(before.quality.score == 86.7 && before.score == 90.7)
        // The awards logic is untouched: eligible (duty met, above 60), ranked first, gold.
        #expect(WorkerAssessment.rank([worker], rules: AssessmentRules()).map(\.award) == ["gold"])
    }

    @Test func unitsAreComparedByTheComposite() throws {
        let metrics: [String: [String: Int64]] = [
            "street:a": ["feedback": 4, "solved": 2, "satisfied": 2],  // 0.1 + 0.5 × 0.5 + 0.4 × 0.5 = 0.55
            "street:b": ["feedback": 2, "solved": 2, "satisfied": 2],  // 1
            "street:c": ["assigned": 3],  // no answers: last
            "street:d": ["feedback": 1, "solved": 1, "satisfied": 1],  // 1, after b by key
        ]
        let data = ReportData(
            period: try #require(Period(parsing: "2026-11")),
            directory: ReportingDirectory(units: [], staff: [], utcOffset: 8 * 3600),
            metrics: metrics,
            rates: Rates12345Rules()
        )
        #expect(data.figures(.street).map(\.key) == ["street:a", "street:b", "street:c", "street:d"], "the figures API: by key")
        #expect(data.ranked(.street).map(\.key) == ["street:b", "street:d", "street:a", "street:c"], "compared: the highest composite first")
        #expect(close(data.ranked(.street)[2].rates12345.composite, 0.55))
        // The configured weights reach every row.
        var custom = data
        custom.rates = try Rates12345Rules(basicallySatisfiedWeight: nil, weights: "0,1,0")
        #expect(close(custom.figures(.street).first?.rates12345.composite, 0.5))
    }
}
