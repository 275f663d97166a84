import GridLoopDomain
import Testing

@Suite("Micro-wish lifecycle")
struct WishLifecycleTests {
    let grid = try! UnitRef(parsing: "grid:hanjiaxu-1")
    let otherGrid = try! UnitRef(parsing: "grid:hanjiaxu-2")
    let street = try! UnitRef(parsing: "street:longhua")
    let otherStreet = try! UnitRef(parsing: "street:xiping")
    let oversight = try! UnitRef(parsing: "oversight:zhanyi")
    let department = try! UnitRef(parsing: "district:civil-affairs")

    /// A lifecycle brought to `state` by legal steps.
    func lifecycle(in state: WishState) throws -> WishLifecycle {
        var lifecycle = WishLifecycle()
        for step in WishStep.allCases where step.target.order <= state.order { try lifecycle.apply(step) }
        #expect(lifecycle.state == state)
        return lifecycle
    }

    @Test("collected → adopted → fulfilled → confirmed, the version +1 a step")
    func happyPath() throws {
        var wish = WishLifecycle()
        #expect(wish.state == .collected && wish.version == 1 && wish.state.next == .adopt)
        try wish.apply(.adopt)
        #expect(wish.state == .adopted && wish.version == 2 && wish.state.next == .fulfil)
        try wish.apply(.fulfil)
        #expect(wish.state == .fulfilled && wish.version == 3 && wish.state.next == .confirm)
        try wish.apply(.confirm)
        #expect(wish.state == .confirmed && wish.version == 4 && wish.state.next == nil)
    }

    @Test("every other step is refused in words, and changes nothing", arguments: WishState.allCases)
    func refusals(state: WishState) throws {
        for step in WishStep.allCases {
            var wish = try lifecycle(in: state)
            let before = wish
            let allowed = step.source == state
            #expect((WishLifecycle.refusal(step, from: state) == nil) == allowed, "\(step) from \(state)")
            if allowed { continue }
            #expect(throws: WishRefusal(step: step, state: state)) { try wish.apply(step) }
            #expect(wish == before, "a refused \(step) changes nothing")
            let refusal = try #require(WishLifecycle.refusal(step, from: state))
            #expect(!refusal.description.isEmpty && refusal.description.contains("wish") && !refusal.zh.isEmpty)
        }
    }

    @Test("refusals say why: not adopted yet, not fulfilled yet, already done")
    func refusalWords() {
        #expect(WishRefusal(step: .fulfil, state: .collected).description.contains("not adopted yet"))
        #expect(WishRefusal(step: .fulfil, state: .collected).zh.contains("尚未被认领"))
        #expect(WishRefusal(step: .confirm, state: .adopted).description.contains("not fulfilled yet"))
        #expect(WishRefusal(step: .adopt, state: .adopted).description.contains("adopted already"))
        #expect(WishRefusal(step: .adopt, state: .adopted).zh == "该心愿已认领，不能再认领")
        #expect(WishRefusal(step: .confirm, state: .confirmed).description.contains("confirmed already"))
    }

    @Test("kinds have zh and en labels; open means not yet fulfilled")
    func labels() {
        #expect(WishKind.allCases.map(\.rawValue) == ["meal", "care", "study", "repair", "other"])
        #expect(WishKind.meal.label == "助餐" && WishKind.meal.labelEn == "Meals")
        #expect(Set(WishKind.allCases.map(\.label)).count == 5 && Set(WishKind.allCases.map(\.labelEn)).count == 5)
        #expect(WishState.allCases.filter(\.isOpen) == [.collected, .adopted])
        #expect(WishState.confirmed.label == "已确认")
    }

    @Test("collect and confirm: the household's grid staff only")
    func recordScope() {
        #expect(WishRules.refusal(toRecordFor: "hanjiaxu-1", role: "grid-worker", unit: grid, staff: "wu-xiaoli") == nil)
        #expect(WishRules.refusal(toRecordFor: "hanjiaxu-1", role: "grid-leader", unit: grid, staff: "leader") == nil)
        let otherGrids = WishRules.refusal(toRecordFor: "hanjiaxu-1", role: "grid-worker", unit: otherGrid, staff: "han-jiayi")
        #expect(otherGrids?.contains("grid:hanjiaxu-1") == true)
        #expect(WishRules.refusal(toRecordFor: "hanjiaxu-1", role: "street-officer", unit: street, staff: "tao-tao") != nil)
        #expect(WishRules.refusal(toRecordFor: "hanjiaxu-1", role: "supervisor", unit: oversight, staff: "wang-xu") != nil)
    }

    @Test("adopt and fulfil: the grid's staff, its street's officers, supervisors", arguments: [WishStep.adopt, .fulfil])
    func advanceScope(step: WishStep) {
        func refusal(_ role: String, _ unit: UnitRef?) -> String? {
            WishRules.refusal(toAdvance: step, grid: "hanjiaxu-1", street: "longhua", role: role, unit: unit, staff: "someone")
        }
        #expect(refusal("grid-worker", grid) == nil)
        #expect(refusal("street-officer", street) == nil)
        #expect(refusal("supervisor", oversight) == nil)
        #expect(refusal("grid-worker", otherGrid) != nil, "another grid's worker")
        #expect(refusal("street-officer", otherStreet)?.contains("street:longhua") == true, "another street's officer")
        #expect(refusal("department-officer", department) != nil)
        #expect(refusal("service", nil) != nil)
        #expect(refusal("street-officer", grid) != nil, "a role at the wrong tier")
    }

    @Test("who reads which wishes")
    func reading() {
        #expect(WishRules.readable(role: "supervisor", unit: oversight) == .all)
        #expect(WishRules.readable(role: "service", unit: nil) == .all)
        #expect(WishRules.readable(role: "street-officer", unit: street) == .street("longhua"))
        #expect(WishRules.readable(role: "grid-worker", unit: grid) == .grid("hanjiaxu-1"))
        #expect(WishRules.readable(role: "department-officer", unit: department) == nil)
    }

    @Test("clusters: per street and kind, from the minimum up, the largest first")
    func clusters() {
        let counts = [
            WishCluster.Count(street: "longhua", grid: "hanjiaxu-1", kind: .meal, state: .collected, count: 2),
            WishCluster.Count(street: "longhua", grid: "hanjiaxu-2", kind: .meal, state: .collected, count: 1),
            WishCluster.Count(street: "longhua", grid: "hanjiaxu-2", kind: .meal, state: .confirmed, count: 1),
            WishCluster.Count(street: "longhua", grid: "hanjiaxu-1", kind: .care, state: .adopted, count: 2),
            WishCluster.Count(street: "xiping", grid: "guanghua-3", kind: .study, state: .fulfilled, count: 3),
            WishCluster.Count(street: "xiping", grid: "guanghua-3", kind: .repair, state: .collected, count: 0),
        ]
        let clusters = WishCluster.compute(counts, minimum: 3)
        #expect(clusters.map { "\($0.street)×\($0.kind.rawValue)" } == ["longhua×meal", "xiping×study"])
        let meal = clusters[0]
        #expect(meal.total == 4 && meal.open == 3 && meal.label == "助餐")
        #expect(meal.byState == ["collected": 3, "confirmed": 1] && meal.grids == ["hanjiaxu-1": 2, "hanjiaxu-2": 2])
        #expect(clusters[1].open == 0 && clusters[1].byState == ["fulfilled": 3])
        #expect(WishCluster.compute(counts, minimum: 2).map(\.kind) == [.meal, .study, .care])
        #expect(WishCluster.compute(counts, minimum: 5).isEmpty)
        #expect(WishCluster.compute([], minimum: 1).isEmpty)
    }
}

extension WishState {
    /// The state's place in the lifecycle.
    fileprivate var order: Int { WishState.allCases.firstIndex(of: self) ?? 0 }
}
