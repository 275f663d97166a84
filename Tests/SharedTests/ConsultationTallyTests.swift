import Foundation
import GridLoopDomain
import Testing

@Suite("Consultation tally and rule (议事)")
struct ConsultationTallyTests {
    let twoThirds = ConsultationRule("2/3")!

    /// `count` households of grid `grid`: `grid-01`, `grid-02` …
    func homes(_ grid: String, _ count: Int) -> [String] {
        (1...count).map { String(format: "\(grid)-%02d", $0) }
    }

    func positions(_ pairs: [(String, String)], from seq: Int = 1) -> [ConsultationTally.Position] {
        pairs.enumerated().map { ConsultationTally.Position(household: $1.0, option: $1.1, seq: seq + $0) }
    }

    @Test func rulesParseWithinBounds() {
        #expect(ConsultationRule("2/3") == ConsultationRule(numerator: 2, denominator: 3))
        #expect(ConsultationRule("1/1")?.description == "1/1")
        #expect(ConsultationRule(" 1/2 ")?.description == "1/2")
        for bad in ["", "2", "2/", "/3", "0/3", "4/3", "-1/3", "2/0", "2/3/4", "a/b", "２/３", "1.5/3", "1/10000"] {
            #expect(ConsultationRule(bad) == nil, "\(bad)")
        }
    }

    @Test func neededIsTheCeilingOfTheShareOfAllHouseholds() {
        #expect(twoThirds.needed(of: 9) == 6)
        #expect(twoThirds.needed(of: 45) == 30)
        #expect(twoThirds.needed(of: 46) == 31)
        #expect(twoThirds.needed(of: 1) == 1)
        #expect(ConsultationRule("1/2")!.needed(of: 5) == 3)
        #expect(ConsultationRule("1/1")!.needed(of: 7) == 7)
        #expect(twoThirds.needed(of: 0) == 0)
    }

    @Test func twoThirdsOf45Households() {
        let households = ["a": homes("a", 24), "b": homes("b", 21)]
        var given: [(String, String)] = []
        // 29 yes: one short of 30 (2/3 of 45) — even though 29 of the 35 who answered is more than 2/3.
        for household in homes("a", 20) + homes("b", 9) { given.append((household, "yes")) }
        for household in homes("b", 15).suffix(6) { given.append((household, "no")) }
        let short = ConsultationTally.compute(households: households, options: ["yes", "no"], positions: positions(given))
        #expect(short.all == .init(key: "all", households: 45, positions: 35, byOption: ["yes": 29, "no": 6]))
        #expect(short.needed(by: twoThirds) == 30)
        #expect(short.reached(by: twoThirds) == nil)
        given.append(("b-21", "yes"))
        let carried = ConsultationTally.compute(households: households, options: ["yes", "no"], positions: positions(given))
        #expect(carried.all.byOption["yes"] == 30)
        #expect(carried.reached(by: twoThirds) == "yes")
        #expect(carried.grids.map(\.key) == ["a", "b"])
        #expect(carried.grids[1] == .init(key: "b", households: 21, positions: 16, byOption: ["yes": 10, "no": 6]))
    }

    @Test func aChangedPositionCountsOnceWithItsLatestOption() {
        let households = ["g": homes("g", 3)]
        let recorded = positions([("g-01", "yes"), ("g-02", "yes"), ("g-01", "no"), ("g-03", "yes"), ("g-01", "yes")])
        let tally = ConsultationTally.compute(households: households, options: ["yes", "no"], positions: recorded)
        #expect(tally.all == .init(key: "all", households: 3, positions: 3, byOption: ["yes": 3, "no": 0]))
        // Order of the rows does not matter: the highest seq counts.
        let changed = ConsultationTally.compute(households: households, options: ["yes", "no"], positions: recorded.reversed())
        #expect(changed == tally)
        let turned = recorded + [ConsultationTally.Position(household: "g-02", option: "no", seq: 10)]
        let after = ConsultationTally.compute(households: households, options: ["yes", "no"], positions: turned)
        #expect(after.all.byOption == ["yes": 2, "no": 1] && after.all.positions == 3)
        #expect(after.reached(by: twoThirds) == "yes")
        // Two turned: 1 yes, 2 no — now "no" holds two thirds.
        let another = turned + [ConsultationTally.Position(household: "g-03", option: "no", seq: 11)]
        let turnedTwice = ConsultationTally.compute(households: households, options: ["yes", "no"], positions: another)
        #expect(turnedTwice.all.byOption == ["yes": 1, "no": 2] && turnedTwice.reached(by: twoThirds) == "no")
    }

    @Test func tiesReachNothing() {
        let households = ["g": homes("g", 4)]
        let split = positions([("g-01", "yes"), ("g-02", "yes"), ("g-03", "no"), ("g-04", "no")])
        let tally = ConsultationTally.compute(households: households, options: ["yes", "no"], positions: split)
        let half = ConsultationRule("1/2")!
        #expect(tally.needed(by: half) == 2)
        #expect(tally.reached(by: half) == nil, "both options hold half: a tie")
        let three = ConsultationTally.compute(
            households: ["g": homes("g", 6)],
            options: ["a", "b", "c"],
            positions: positions([("g-01", "a"), ("g-02", "a"), ("g-03", "b"), ("g-04", "b"), ("g-05", "c")])
        )
        #expect(three.reached(by: ConsultationRule("1/3")!) == nil)
        let ahead = ConsultationTally.compute(
            households: ["g": homes("g", 6)],
            options: ["a", "b", "c"],
            positions: positions([("g-01", "a"), ("g-02", "a"), ("g-03", "a"), ("g-04", "b"), ("g-05", "b")])
        )
        #expect(ahead.reached(by: ConsultationRule("1/3")!) == "a")
    }

    @Test func noHouseholdsReachNothing() {
        let none = ConsultationTally.compute(households: [:], options: ["yes", "no"], positions: positions([("x-01", "yes")]))
        #expect(none.all == .init(key: "all", households: 0, positions: 0, byOption: ["yes": 0, "no": 0]))
        #expect(none.reached(by: ConsultationRule("1/3")!) == nil)
        let emptyGrid = ConsultationTally.compute(households: ["g": []], options: ["yes", "no"], positions: [])
        #expect(emptyGrid.grids == [.init(key: "g", households: 0, positions: 0, byOption: ["yes": 0, "no": 0])])
        #expect(emptyGrid.reached(by: ConsultationRule("1/1")!) == nil)
    }

    @Test func positionsOutsideTheConsultationAreLeftOut() {
        let tally = ConsultationTally.compute(
            households: ["g": homes("g", 2)],
            options: ["yes", "no"],
            positions: positions([("g-01", "yes"), ("elsewhere-01", "yes"), ("g-02", "maybe")])
        )
        #expect(tally.all == .init(key: "all", households: 2, positions: 1, byOption: ["yes": 1, "no": 0]))
        // A household listed under two grids counts once, under the first.
        let twice = ConsultationTally.compute(households: ["a": ["h"], "b": ["h"]], options: ["yes"], positions: positions([("h", "yes")]))
        #expect(twice.all.households == 1 && twice.grids.map(\.households) == [1, 0])
    }
}

@Suite("Record hash chain (议事记录)")
struct RecordChainTests {
    func chain(_ count: Int) throws -> [RecordLink] {
        var links: [RecordLink] = []
        for seq in 1...count {
            let body = try RecordChain.canonical(["consultationId": "c1", "option": seq % 2 == 0 ? "no" : "yes", "householdId": "h-\(seq)"])
            let entry = RecordEntry(
                chain: "c1",
                seq: seq,
                kind: seq == 1 ? "opened" : "position",
                body: body,
                at: RecordChain.storedTime(Date(timeIntervalSince1970: 1_764_000_000.1234 + Double(seq)))
            )
            links.append(RecordChain.link(entry, after: links.last?.hash))
        }
        return links
    }

    @Test func anIntactChainVerifies() throws {
        let links = try chain(4)
        #expect(RecordChain.verify(links) == nil)
        #expect(links[0].previousHash == String(repeating: "0", count: 64))
        #expect(links[2].previousHash == links[1].hash)
        #expect(links.allSatisfy { $0.hash.count == 64 && $0.hash.allSatisfy(\.isHexDigit) })
        #expect(links[0].entry.body == #"{"consultationId":"c1","householdId":"h-1","option":"yes"}"#, "sorted keys")
    }

    @Test func theHashIsOverPreviousKindBodyAndWholeMilliseconds() throws {
        let entry = RecordEntry(chain: "c", seq: 1, kind: "opened", body: "{}", at: Date(timeIntervalSince1970: 1.5))
        // printf '<64 zeros>\nopened\n{}\n1500' | sha256sum
        #expect(RecordChain.hash(entry, previous: RecordChain.genesis) == "fd50eda62bfd35c382d7226494083c646d17ece0e84abab730bb737bb26c3513")
        // Sub-millisecond noise (storage precision) does not change it.
        var noisy = entry
        noisy.at = Date(timeIntervalSince1970: 1.500_000_4)
        #expect(RecordChain.hash(noisy, previous: RecordChain.genesis) == RecordChain.hash(entry, previous: RecordChain.genesis))
    }

    @Test func anEditNamesItsEntry() throws {
        var links = try chain(4)
        links[2].entry.body = links[2].entry.body.replacingOccurrences(of: "yes", with: "no")
        let broken = RecordChain.verify(links)
        #expect(broken?.seq == 3 && broken?.chain == "c1" && broken?.reason.contains("altered") == true)
        #expect(broken?.description.contains("seq 3 (position)") == true)
    }

    @Test func aRemovedOrReorderedEntryIsCaught() throws {
        var removed = try chain(4)
        removed.remove(at: 1)
        #expect(RecordChain.verify(removed)?.seq == 3)
        #expect(RecordChain.verify(removed)?.reason.contains("sequence") == true)
        var relinked = try chain(4)
        relinked[3].previousHash = relinked[1].hash
        #expect(RecordChain.verify(relinked)?.reason.contains("does not point") == true)
        var retimed = try chain(3)
        retimed[1].entry.at = retimed[1].entry.at.addingTimeInterval(1)
        #expect(RecordChain.verify(retimed)?.seq == 2)
    }
}
