import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import Testing

@testable import ReportingService

@Suite("Community figures (#20): notice coverage in the assessment, notices, consultations, wishes, points")
struct CommunityFiguresTests {
    /// Two streets: east (grids a, b) and west (grid c).
    static let directory = ReportingDirectory(
        units: [
            .init(ref: "street:east", name: "东街道", street: nil, households: 0, population: 0),
            .init(ref: "street:west", name: "西街道", street: nil, households: 0, population: 0),
            .init(ref: "grid:a", name: "东一网格", street: "east", households: 10, population: 30),
            .init(ref: "grid:b", name: "东二网格", street: "east", households: 5, population: 12),
            .init(ref: "grid:c", name: "西一网格", street: "west", households: 4, population: 9),
        ],
        staff: [],
        utcOffset: 8 * 3600
    )
    static let november = Period(parsing: "2026-11")!

    /// The grid worker of Rates12345Tests' grid A: volume 100, quality 86.5, timeliness 86.7, score 90.6.
    static func worker(_ rules: AssessmentRules = AssessmentRules(), notices: NoticeCoverage?) -> WorkerAssessment {
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
            rules: rules,
            notices: notices
        )
    }

    @Test func noticeCoverageTakesItsShareOfTheScore() throws {
        // 30 of 40 households informed on time: 75. Weight 0.1, the other parts share 0.9:
        // 0.27 × 100 + 0.36 × 86.5 + 0.27 × 86.7 + 0.1 × 75 = 27 + 31.14 + 23.409 + 7.5 = 89.049 → 89.0.
        let coverage = NoticeCoverage(notices: 2, households: 40, informedOnTime: 30)
        #expect(coverage.rate == 0.75)
        let worker = Self.worker(notices: coverage)
        #expect(worker.notice.score == 75 && worker.notice.weight == 0.1)
        #expect(abs(worker.volume.weight - 0.27) < 1e-9 && abs(worker.quality.weight - 0.36) < 1e-9 && abs(worker.timeliness.weight - 0.27) < 1e-9)
        #expect(worker.score == 89.0)
        #expect(worker.noticeCoverage == coverage)
        for part in ["30 of 40 households", "2 notices", "75.0%", "10% of the score"] {
            #expect(worker.notice.explanation.contains(part), "\(part) in: \(worker.notice.explanation)")
        }
        // All informed on time: 0.9 × 90.61 + 10 = 91.549 → 91.5, above the score without notices.
        #expect(Self.worker(notices: NoticeCoverage(notices: 1, households: 40, informedOnTime: 40)).score == 91.5)
    }

    @Test func withoutNoticesThePartIsNotCounted() throws {
        for coverage in [nil, NoticeCoverage(notices: 1, households: 0, informedOnTime: 0)] {
            let worker = Self.worker(notices: coverage)
            #expect(worker.score == 90.6, "as before notices existed")
            #expect(worker.notice.weight == 0 && worker.notice.score == 0 && worker.noticeCoverage == nil)
            #expect(worker.volume.weight == 0.3 && worker.quality.weight == 0.4 && worker.timeliness.weight == 0.3)
            #expect(worker.notice.explanation.contains("not counted"))
        }
        // Weight 0: notices change nothing; weight 1: the score is the coverage alone.
        var none = AssessmentRules()
        none.noticeWeight = 0
        #expect(Self.worker(none, notices: NoticeCoverage(notices: 1, households: 10, informedOnTime: 1)).score == 90.6)
        var all = AssessmentRules()
        all.noticeWeight = 1
        #expect(Self.worker(all, notices: NoticeCoverage(notices: 1, households: 10, informedOnTime: 4)).score == 40)
        // More informed than households (the grid grew): capped at all of them.
        let capped = NoticeCoverage(notices: 1, households: 10, informedOnTime: 12)
        #expect(capped.informedOnTime == 10 && capped.rate == 1)
    }

    @Test func noticeWeightSetting() throws {
        #expect(try AssessmentRules.noticeWeight(nil) == 0.1)
        #expect(try AssessmentRules.noticeWeight("  ") == 0.1)
        #expect(try AssessmentRules.noticeWeight("0.25") == 0.25)
        #expect(try AssessmentRules.noticeWeight("0") == 0 && AssessmentRules.noticeWeight("1") == 1)
        for bad in ["1.5", "-0.1", "abc", "nan", "inf"] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try AssessmentRules.noticeWeight(bad) }
        }
        do {
            _ = try AssessmentRules.noticeWeight("2")
            Issue.record("2 was accepted")
        } catch {
            #expect(error.description.contains("REPORTING_NOTICE_WEIGHT must be a number from 0 to 1"))
        }
        #expect(try AssessmentRules.wishClusterMin(3) == 3)
        #expect(throws: ConfigurationError.self) { try AssessmentRules.wishClusterMin(0) }
    }

    @Test func noticesPerNoticeGridAndStreet() throws {
        let notices = [
            NoticeFacts(
                id: "n1",
                title: "医保缴费",
                titleEn: "Health insurance",
                dueOn: "2026-11-20",
                publishedOn: "2026-11-02",
                publishedBy: "li",
                unit: "street:east"
            ),
            NoticeFacts(
                id: "n2",
                title: "冬季防火",
                titleEn: nil,
                dueOn: "2026-11-28",
                publishedOn: "2026-11-10",
                publishedBy: "sup",
                unit: "oversight:district"
            ),
        ]
        let grids = [
            NoticeGridFacts(
                noticeId: "n1",
                grid: "a",
                street: "east",
                households: 10,
                informed: 8,
                onTime: 6,
                visit: 5,
                phone: 2,
                sms: 1,
                smsSent: 2
            ),
            NoticeGridFacts(noticeId: "n1", grid: "b", households: 5, informed: 5, onTime: 5, visit: 5),  // street from the org
            NoticeGridFacts(noticeId: "n2", grid: "a", street: "east", households: 10, informed: 2, onTime: 2, visit: 2, reminded: true),
            NoticeGridFacts(noticeId: "n2", grid: "c", street: "west", households: 4, overdue: true),
            NoticeGridFacts(noticeId: "n3", grid: "c", households: 0, informed: 1),  // informed before its publication was projected
        ]
        let report = NoticesReport.make(period: Self.november, street: nil, notices: notices, grids: grids, directory: Self.directory)
        #expect(report.notices.map(\.noticeId) == ["n2", "n1"], "the latest due day first; n3 not published yet")
        let n1 = try #require(report.notices.last)
        #expect(n1.totals.households == 15 && n1.totals.informed == 13 && n1.totals.onTime == 11)
        #expect(n1.totals.onTimeCoverage == 11.0 / 15 && n1.totals.coverage == 13.0 / 15)
        #expect(n1.grids.map(\.key) == ["a", "b"] && n1.grids.map(\.street) == ["east", "east"] && n1.grids[0].name == "东一网格")
        #expect(n1.streets.map(\.key) == ["east"] && n1.streets[0].name == "东街道" && n1.streets[0].households == 15)
        #expect(n1.grids[0].visit == 5 && n1.grids[0].phone == 2 && n1.grids[0].sms == 1 && n1.grids[0].smsSent == 2)
        // Over both notices: grid a had 20 households to inform, 8 on time.
        let a = try #require(report.grids.first { $0.key == "a" })
        #expect(a.notices == 2 && a.households == 20 && a.onTime == 8 && a.onTimeCoverage == 0.4 && a.reminded == 1)
        #expect(report.totals.households == 29 && report.totals.onTime == 13 && report.totals.overdue == 1)
        #expect(report.streets.map(\.key) == ["east", "west"] && report.streets[1].onTimeCoverage == 0)
        // One CSV row per notice × grid, as many fields as the header.
        #expect(report.csvRows.count == 4 && report.csvRows.allSatisfy { $0.count == NoticesReport.csvHeader.count })
        #expect(
            report.csvRows.last == [
                "n1", "医保缴费", "2026-11-02", "2026-11-20", "east", "东街道", "b", "东二网格", "5", "5", "5", "1.0000", "1.0000", "5", "0", "0", "0", "no",
                "no",
            ]
        )

        // A street officer of west sees west's grids only: n1 reached none of them.
        let west = NoticesReport.make(period: Self.november, street: "west", notices: notices, grids: grids, directory: Self.directory)
        #expect(west.notices.map(\.noticeId) == ["n2"] && west.notices[0].grids.map(\.key) == ["c"] && west.totals.households == 4)
        #expect(west.grids.map(\.key) == ["c"] && west.streets.map(\.key) == ["west"])
    }

    @Test func consultationTallyReachedAndStreets() throws {
        let consultations = [
            ConsultationFacts(
                id: "k1",
                question: "加装电梯？",
                options: ["yes", "no"],
                endsOn: "2026-11-30",
                rule: "2/3",
                openedOn: "2026-11-01",
                openedBy: "li",
                unit: "street:east"
            ),
            ConsultationFacts(
                id: "k2",
                question: "停车收费？",
                options: ["yes", "no"],
                endsOn: "2026-11-15",
                rule: "1/2",
                openedOn: "2026-11-03",
                openedBy: "sup",
                unit: "oversight:district",
                closedAt: Date(timeIntervalSince1970: 1_795_000_000),
                result: nil,
                meetingOutcome: "再议"
            ),
        ]
        let grids = [
            ConsultationGridFacts(consultationId: "k1", grid: "a", households: 6),
            ConsultationGridFacts(consultationId: "k1", grid: "b", households: 3),
            ConsultationGridFacts(consultationId: "k2", grid: "c", households: 4),
        ]
        let holdings = [
            ConsultationHoldingFacts(consultationId: "k1", grid: "a", option: "yes", households: 4, concerns: 1, changed: 1),
            ConsultationHoldingFacts(consultationId: "k1", grid: "b", option: "yes", households: 2),
            ConsultationHoldingFacts(consultationId: "k1", grid: "a", option: "no", households: 1),
            ConsultationHoldingFacts(consultationId: "k1", grid: "b", option: "maybe", households: 1),  // not an option: left out
            ConsultationHoldingFacts(consultationId: "k2", grid: "c", option: "yes", households: 2),
            ConsultationHoldingFacts(consultationId: "k2", grid: "c", option: "no", households: 2),
        ]
        let report = ConsultationsReport.make(
            period: Self.november,
            street: nil,
            consultations: consultations,
            grids: grids,
            holdings: holdings,
            directory: Self.directory
        )
        #expect(report.consultations.map(\.consultationId) == ["k2", "k1"])
        let k1 = try #require(report.consultations.last)
        // 9 households, 2/3 → 6 needed; yes is held by 6: carried.
        #expect(k1.households == 9 && k1.positions == 7 && k1.byOption == ["yes": 6, "no": 1] && k1.needed == 6 && k1.reached == "yes")
        #expect(k1.participation == 7.0 / 9 && k1.concerns == 1 && k1.changed == 1 && k1.state == "open")
        #expect(k1.grids.map(\.grid) == ["a", "b"] && k1.grids[0].byOption == ["yes": 4, "no": 1] && k1.grids[1].streetName == "东街道")
        let k2 = try #require(report.consultations.first)
        #expect(k2.state == "closed" && k2.reached == nil && k2.needed == 2 && k2.meetingOutcome == "再议", "a tie carries nothing")
        #expect(report.csvRows.count == 2 * (1 + 1) + 2 * (1 + 2) && report.csvRows.allSatisfy { $0.count == ConsultationsReport.csvHeader.count })

        let west = ConsultationsReport.make(
            period: Self.november,
            street: "west",
            consultations: consultations,
            grids: grids,
            holdings: holdings,
            directory: Self.directory
        )
        #expect(west.consultations.map(\.consultationId) == ["k2"] && west.consultations[0].grids.map(\.grid) == ["c"])
    }

    @Test func wishesPerStreetAndGridWithClusters() throws {
        let counts = [
            WishCountFacts(grid: "a", street: "east", kind: "meal", state: .collected, count: 2),
            WishCountFacts(grid: "b", street: "east", kind: "meal", state: .adopted, count: 1),
            WishCountFacts(grid: "a", street: "east", kind: "care", state: .fulfilled, count: 1),
            WishCountFacts(grid: "a", street: "east", kind: "care", state: .confirmed, count: 1),
            WishCountFacts(grid: "c", street: "west", kind: "study", state: .collected, count: 3),
        ]
        let report = WishesReport.make(period: Self.november, street: nil, counts: counts, clusterMinimum: 3, directory: Self.directory)
        let east = try #require(report.streets.first)
        #expect(east.key == "east" && east.name == "东街道")
        #expect(east.collected == 5 && east.adopted == 3 && east.fulfilled == 2 && east.confirmed == 1 && east.open == 3)
        #expect(east.byKind == ["meal": 3, "care": 2])
        #expect(report.grids.map(\.key) == ["a", "b", "c"] && report.grids[0].collected == 4 && report.grids[0].streetName == "东街道")
        #expect(report.totals.collected == 8)
        // Clusters: east × meal (3) and west × study (3); east × care (2) is below the minimum.
        #expect(report.clusters.map { "\($0.street) \($0.kind.rawValue) \($0.total) \($0.open)" } == ["east meal 3 3", "west study 3 3"])
        #expect(report.clusters[0].streetName == "东街道")
        #expect(report.csvRows.count == 2 + 3 && report.csvRows.allSatisfy { $0.count == WishesReport.csvHeader.count })
        #expect(report.clustersCSVRows.allSatisfy { $0.count == WishesReport.clustersCSVHeader.count })

        let west = WishesReport.make(period: Self.november, street: "west", counts: counts, clusterMinimum: 4, directory: Self.directory)
        #expect(west.streets.map(\.key) == ["west"] && west.grids.map(\.key) == ["c"] && west.clusters.isEmpty)
    }

    @Test func pointsPerStreet() throws {
        let rows = [
            PointsRow(street: "east", name: "", householdsScored: 12, pointsEarned: 480, workerPoints: 48),
            PointsRow(street: "east", name: "", redemptions: 3, pointsRedeemed: 90, goodsRedeemed: 4),
            PointsRow(street: "east", name: "", donations: 1, goodsDonated: 20),
            PointsRow(street: "west", name: "", householdsScored: 2, pointsEarned: 60, workerPoints: 6),
        ]
        let report = PointsReport.make(month: "2026-11", street: nil, rows: rows, directory: Self.directory)
        #expect(report.streets.map(\.street) == ["east", "west"])
        #expect(
            report.streets[0]
                == PointsRow(
                    street: "east",
                    name: "东街道",
                    householdsScored: 12,
                    pointsEarned: 480,
                    workerPoints: 48,
                    redemptions: 3,
                    pointsRedeemed: 90,
                    goodsRedeemed: 4,
                    donations: 1,
                    goodsDonated: 20
                )
        )
        #expect(report.totals.householdsScored == 14 && report.totals.pointsEarned == 540 && report.totals.goodsDonated == 20)
        #expect(report.csvRows[0] == ["2026-11", "east", "东街道", "12", "480", "48", "3", "90", "4", "1", "20"])
        #expect(PointsReport.make(month: "2026-11", street: "west", rows: rows, directory: Self.directory).streets.map(\.street) == ["west"])
        #expect(PointsReport.month("2026-11") == "2026-11")
        for bad in ["2026-Q4", "2026-13", "2026-1", "26-11", "2026", "2026-00", "abcd-ef"] { #expect(PointsReport.month(bad) == nil, "\(bad)") }
    }

    @Test func shareBarsEscapeLabelsAndClampShares() {
        let svg = Charts.shareBars(
            [(label: "<b>一网格</b>", share: 0.5, detail: "5/10"), (label: "二", share: 1.7, detail: ""), (label: "三", share: nil, detail: "0/0")],
            threshold: 2.0 / 3
        ).text
        #expect(svg.hasPrefix("<svg class=\"chart shares\" viewBox=\"0 0 360 80\"") && svg.hasSuffix("</svg>"))
        #expect(svg.contains("&lt;b&gt;一网格&lt;/b&gt;") && !svg.contains("<b>"))
        #expect(svg.contains("width=\"75.0\"") && svg.contains("width=\"150.0\"") && svg.contains(">50% 5/10<") && svg.contains(">100% <"))
        #expect(svg.contains(">- 0/0<"), "no households: no bar")
        #expect(svg.contains("x1=\"210.0\""), "the rule's line at two thirds")
        #expect(Charts.bars([("a", 1), ("b", 2), ("c", 3), ("d", 4)]).text.contains("viewBox=\"0 0 460 160\""))
    }

    @Test func theCommunityPageRendersEscapedWithEveryWord() throws {
        let template = try #require(DashboardPages.templates["community"])
        let keys = Set(template.matches(of: /\{\{t\.([A-Za-z]+)\}\}/).map { String($0.output.1) })
        #expect(keys.count > 20)
        for key in keys.sorted() {
            #expect(Texts.chinese[key] != nil && Texts.english[key] != nil, "t.\(key) in both languages")
        }
        let model: [String: Any] = [
            "t": Texts.english, "lang": "en", "period": "2026-11", "place": "东街道",
            "notices": [
                "rows": [["title": "<script>x</script>", "dueOn": "2026-11-20", "onTimeCoverage": "60.0%"]], "hasRows": true,
                "chart": Charts.shareBars([(label: "A", share: 0.6, detail: "6/10")], threshold: nil).text,
            ],
            "noticesCSV": "/v1/reports/community/notices.csv?period=2026-11",
        ]
        let page = DashboardPages.render("community", model, layout: ["htmlLang": "en", "title": "Community work", "generated": ""])
        #expect(page.contains("&lt;script&gt;x&lt;/script&gt;") && !page.contains("<script>"))
        #expect(page.contains("<svg class=\"chart shares\"") && page.contains("Policy notices: households informed"))
        #expect(page.contains("href=\"/v1/reports/community/notices.csv?period=2026-11\""))
    }
}
