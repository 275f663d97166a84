import Foundation
import GridLoopDomain
import Testing

@Suite("Green points (绿币)")
struct GreenPointsTests {
    let scale = GreenPointScale()

    @Test func theFiveItemsAreNamedInChineseAndEnglish() {
        #expect(GreenPointItem.allCases.map(\.label) == ["遵纪守法", "热心公益", "环境整洁", "家风文明", "勤劳致富"])
        #expect(GreenPointItem.allCases.allSatisfy { !$0.labelEn.isEmpty })
        #expect(GreenPointSheet.header == "household,遵纪守法,热心公益,环境整洁,家风文明,勤劳致富")
        #expect(GreenPointItem(column: "环境整洁") == .cleanAndTidy)
        #expect(GreenPointItem(column: "clean and tidy") == .cleanAndTidy)
        #expect(GreenPointItem(column: "Law-abiding") == .lawAbiding)
        #expect(GreenPointItem(column: "publicSpirit") == .publicSpirit)
        #expect(GreenPointItem(column: "hard_work") == .industrious)
        #expect(GreenPointItem(column: "整洁") == nil)
    }

    @Test func aRowHasFiveItemsOnTheScale() {
        #expect(scale.problem(with: [8, 9, 7, 10, 6]) == nil)
        #expect(scale.problem(with: [0, 0, 0, 0, 0]) == nil)
        #expect(scale.problem(with: [8, 9, 7, 10])?.contains("not 4") == true)
        #expect(scale.problem(with: [8, 9, 7, 10, 6, 1]) != nil)
        let over = scale.problem(with: [8, 11, 7, 10, -1])
        #expect(over?.contains("热心公益") == true && over?.contains("not 11") == true)
        #expect(over?.contains("勤劳致富") == true && over?.contains("not -1") == true)
        #expect(over?.contains("遵纪守法") == false, "only the items out of range are named: \(over ?? "")")
        #expect(GreenPointScale(itemMax: 5).problem(with: [5, 5, 5, 5, 6]) != nil)
    }

    @Test func pointsAreTheSumTimesThePointsPerScore() {
        #expect(scale.points(of: [8, 9, 7, 10, 6]) == 40)
        #expect(GreenPointScale(perScore: 2).points(of: [8, 9, 7, 10, 6]) == 80)
        #expect(scale.points(of: [0, 0, 0, 0, 0]) == 0)
    }

    @Test func aWorkersShareIsRoundedDownPerHousehold() {
        #expect(scale.workerShare(of: 40) == 4)
        #expect(scale.workerShare(of: 39) == 3)
        #expect(scale.workerShare(of: 9) == 0)
        #expect(GreenPointScale(workerPercent: 15).workerShare(of: 47) == 7)  // 7.05
        #expect(GreenPointScale(workerPercent: 0).workerShare(of: 50) == 0)
        // Per household, not of the sum: 3 households of 39 points earn 3 × 3, not 11 (117 × 10%).
        let households = [39, 39, 39]
        #expect(households.map(scale.workerShare).reduce(0, +) == 9)
        #expect(scale.workerShare(of: households.reduce(0, +)) == 11)
    }

    @Test func theScaleItselfIsChecked() {
        #expect(GreenPointScale().problem == nil)
        #expect(GreenPointScale(itemMax: 0).problem != nil)
        #expect(GreenPointScale(perScore: 0).problem != nil)
        #expect(GreenPointScale(workerPercent: 101).problem != nil)
    }

    @Test func months() {
        #expect(PointsMonth.isValid("2026-12"))
        #expect(PointsMonth.isValid("2090-01"))
        for bad in ["2026-13", "2026-00", "2026-1", "26-12", "2026/12", "2026-12-01", "", "２０２６-12", "1999-12"] {
            #expect(!PointsMonth.isValid(bad), "\(bad)")
        }
    }

    @Test func aSheetParses() throws {
        let sheet = """
            \u{FEFF}household,遵纪守法,热心公益,环境整洁,家风文明,勤劳致富\r
            guanghua-3-01,8,9,7,10,6\r
            \r
            "guanghua-3-02", 10 ,10,10,10,10\r

            """
        let rows = try GreenPointSheet.parse(sheet, scale: scale).get()
        #expect(rows.map(\.householdId) == ["guanghua-3-01", "guanghua-3-02"])
        #expect(rows.map(\.items) == [[8, 9, 7, 10, 6], [10, 10, 10, 10, 10]])
        #expect(rows.map(\.line) == [2, 4])
    }

    @Test func englishColumnsInAnyOrder() throws {
        let sheet = "Hard work,household,Law-abiding,Public spirit,Clean and tidy,Family virtue\n6,hongxing-3-01,8,9,7,10\n"
        let rows = try GreenPointSheet.parse(sheet, scale: scale).get()
        #expect(rows == [GreenPointScoreRow(householdId: "hongxing-3-01", items: [8, 9, 7, 10, 6], line: 2)])
    }

    @Test func aSheetsErrorsNameTheLineAndColumn() {
        let sheet = """
            household,遵纪守法,热心公益,环境整洁,家风文明,勤劳致富
            guanghua-3-01,8,9,7,10,6
            guanghua-3-02,8,9,abc,10,6
            guanghua-3-03,8,9,7,10
            guanghua-3-01,1,1,1,1,1
            Guanghua 4,1,1,1,1,11
            """
        guard case .failure(let problems) = GreenPointSheet.parse(sheet, scale: scale) else {
            Issue.record("a sheet with errors parsed")
            return
        }
        let fields = problems.errors.map(\.field)
        #expect(
            fields == ["line 3, 环境整洁", "line 4", "line 5, household", "line 6, household", "line 6, 勤劳致富"],
            "\(problems.errors.map(\.description))"
        )
        #expect(problems.errors[0].message.contains("'abc'"))
        #expect(problems.errors[1].message.contains("5 fields; the header has 6"))
        #expect(problems.errors[2].message.contains("line 2"), "a duplicate names the first line")
    }

    @Test func aSheetsHeaderIsChecked() {
        func fields(_ sheet: String) -> [String] {
            guard case .failure(let problems) = GreenPointSheet.parse(sheet, scale: scale) else { return [] }
            return problems.errors.map(\.field)
        }
        #expect(fields("household,遵纪守法,热心公益,环境整洁,家风文明\nx,1,1,1,1") == ["line 1, 勤劳致富"])
        #expect(fields("户号,遵纪守法,热心公益,环境整洁,家风文明,勤劳致富,备注\nx,1,1,1,1,1,") == ["line 1, 备注"])
        #expect(fields("遵纪守法,热心公益,环境整洁,家风文明,勤劳致富\n1,1,1,1,1") == ["line 1, household"])
        #expect(fields(GreenPointSheet.header) == ["line 2"], "no households")
        #expect(fields("") == ["line 1"], "empty")
        #expect(fields("household,遵纪守法,遵纪守法,环境整洁,家风文明,勤劳致富\nx,1,1,1,1,1").contains("line 1, 热心公益"))
        #expect(fields("household,\"遵纪守法,热心公益,环境整洁,家风文明,勤劳致富\nx,1,1,1,1,1") == ["line 1"], "an unclosed quote")
    }

    @Test func aSheetHasAtMostMaxRows() {
        let sheet = GreenPointSheet.header + "\n" + (1...4).map { "h-\($0),1,1,1,1,1" }.joined(separator: "\n")
        guard case .failure(let problems) = GreenPointSheet.parse(sheet, scale: scale, maxRows: 3) else {
            Issue.record("too many rows parsed")
            return
        }
        #expect(problems.errors.map(\.field) == ["line 5"])
    }

    @Test func accounts() {
        #expect(PointsAccount("household:guanghua-3-01") == .household("guanghua-3-01"))
        #expect(PointsAccount("worker:cui-chunhua")?.description == "worker:cui-chunhua")
        #expect(PointsAccount("worker:cui-chunhua")?.id == "cui-chunhua")
        for bad in ["guanghua-3-01", "street:xiping", "household:", "household:Bad Id", "worker:a:b"] {
            #expect(PointsAccount(bad) == nil, "\(bad)")
        }
    }

    func entry(_ seq: Int, _ kind: PointsEntryKind, _ points: Int) -> PointsEntry {
        PointsEntry(
            seq: seq,
            kind: kind,
            points: points,
            reason: "r",
            reasonEn: "r",
            ref: "ref-\(seq)",
            at: Date(timeIntervalSince1970: 1_800_000_000 + Double(seq)),
            by: "cui-chunhua"
        )
    }

    @Test func aStatementRunsTheBalanceInLedgerOrder() throws {
        // Earned 40, spent 30, the month corrected to 44 (new earn first, then the reversal), spent 10.
        let entries = [entry(5, .redeem, -10), entry(1, .earn, 40), entry(2, .redeem, -30), entry(3, .earn, 44), entry(4, .reversal, -40)]
        let statement = try PointsStatement.make(account: "household:guanghua-3-01", entries: entries)
        #expect(statement.entries.map(\.seq) == [1, 2, 3, 4, 5])
        #expect(statement.entries.map(\.balance) == [40, 10, 54, 14, 4])
        #expect(statement.balance == 4)
        #expect(statement.earned == 84 && statement.redeemed == 40 && statement.reversed == 40)
        #expect(try PointsStatement.make(account: "worker:x", entries: []).balance == 0)
    }

    @Test func aStatementIsNeverNegative() {
        #expect(throws: PointsLedgerError(account: "household:h", seq: 2, balance: -20)) {
            try PointsStatement.make(account: "household:h", entries: [entry(1, .earn, 10), entry(2, .redeem, -30), entry(3, .earn, 50)])
        }
    }

    @Test func receipts() {
        #expect(RedemptionReceipt.make(month: "2026-12", number: 123) == "LX-202612-000123")
        #expect(RedemptionReceipt.make(month: "2026-01", number: 1_234_567) == "LX-202601-1234567")
    }
}
