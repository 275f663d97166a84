import GridLoopDomain
import Testing

@Suite("Request lifecycle")
struct RequestLifecycleTests {
    let grid = try! UnitRef(parsing: "grid:guanghua-3")
    let street = try! UnitRef(parsing: "street:xiping")
    let department = try! UnitRef(parsing: "district:power-supply")

    /// A lifecycle brought to `state` by legal steps.
    func lifecycle(in state: RequestState, at unit: UnitRef? = nil) throws -> RequestLifecycle {
        var lifecycle = RequestLifecycle()
        let unit = unit ?? grid
        switch state {
        case .received: break
        case .assigned: try lifecycle.apply(.assign(unit))
        case .claimed:
            try lifecycle.apply(.assign(unit))
            try lifecycle.apply(.claim(staff: "cui-chunhua"))
        case .resolved:
            try lifecycle.apply(.assign(unit))
            try lifecycle.apply(.claim(staff: "cui-chunhua"))
            try lifecycle.apply(.resolve)
        case .closed:
            try lifecycle.apply(.assign(unit))
            try lifecycle.apply(.claim(staff: "cui-chunhua"))
            try lifecycle.apply(.resolve)
            try lifecycle.apply(.close)
        case .rejected: try lifecycle.apply(.reject)
        case .merged: try lifecycle.apply(.merge)
        }
        return lifecycle
    }

    var transitions: [RequestTransition] {
        [
            .assign(grid), .claim(staff: "cui-chunhua"), .resolve, .escalate(to: street), .close, .reopen(grid), .returnForArbitration(street),
            .reject, .merge,
        ]
    }

    /// The whole table: which transition is legal from which state, and where it leads.
    static let expected: [RequestState: [String: RequestState]] = [
        .received: ["assign": .assigned, "reject": .rejected, "merge": .merged],
        .assigned: ["assign": .assigned, "claim": .claimed, "escalate": .assigned, "return": .assigned, "reject": .rejected, "merge": .merged],
        .claimed: ["assign": .assigned, "resolve": .resolved, "escalate": .assigned, "return": .assigned, "merge": .merged],
        .resolved: ["close": .closed, "reopen": .assigned],
        .closed: [:],
        .rejected: [:],
        .merged: [:],
    ]

    @Test("every state × every transition", arguments: RequestState.allCases)
    func table(state: RequestState) throws {
        for transition in transitions {
            var lifecycle = try lifecycle(in: state)
            let before = lifecycle
            if let target = Self.expected[state]?[transition.verb] {
                try lifecycle.apply(transition)
                #expect(lifecycle.state == target, "\(state) --\(transition.verb)--> \(lifecycle.state), expected \(target)")
                #expect(lifecycle.version == before.version + 1)
            } else {
                #expect(throws: DomainError.invalidTransition(from: state, transition: transition.verb)) { try lifecycle.apply(transition) }
                #expect(lifecycle == before, "a refused transition changes nothing")
            }
        }
    }

    @Test func terminalStatesAllowNothing() throws {
        for state in RequestState.allCases where state.isTerminal {
            #expect(Self.expected[state]?.isEmpty == true)
        }
    }

    @Test func claimRecordsTheStaffAndEscalationClearsIt() throws {
        var lifecycle = try lifecycle(in: .claimed)
        #expect(lifecycle.claimedBy == "cui-chunhua")
        try lifecycle.apply(.escalate(to: street))
        #expect(lifecycle.unit == street)
        #expect(lifecycle.claimedBy == nil)
        #expect(lifecycle.version == 4)
    }

    @Test func escalationGoesExactlyOneTierUp() throws {
        var lifecycle = try lifecycle(in: .assigned)
        #expect(throws: DomainError.self) { try lifecycle.apply(.escalate(to: department)) }
        try lifecycle.apply(.escalate(to: street))
        try lifecycle.apply(.escalate(to: department))
        #expect(lifecycle.unit?.tier == .district)
    }

    @Test func theDistrictCannotEscalateFurther() throws {
        var lifecycle = try lifecycle(in: .assigned, at: department)
        let oversight = try UnitRef(parsing: "oversight:zhanyi")
        #expect(throws: DomainError.cannotEscalateBeyond(.district)) { try lifecycle.apply(.escalate(to: oversight)) }
        #expect(lifecycle.state == .assigned)
    }

    @Test func onlyGridsAndDepartmentsReturnAndOnlyToAStreet() throws {
        var atStreet = try lifecycle(in: .assigned, at: street)
        #expect(throws: DomainError.self) { try atStreet.apply(.returnForArbitration(street)) }
        var atDepartment = try lifecycle(in: .claimed, at: department)
        #expect(throws: DomainError.self) { try atDepartment.apply(.returnForArbitration(grid)) }
        try atDepartment.apply(.returnForArbitration(street))
        #expect(atDepartment.unit == street && atDepartment.claimedBy == nil)
    }

    @Test func tiersOrderAndNext() {
        #expect(Tier.grid < Tier.street && Tier.street < Tier.district)
        #expect(Tier.grid.next == .street)
        #expect(Tier.street.next == .district)
        #expect(Tier.district.next == nil)
    }
}
