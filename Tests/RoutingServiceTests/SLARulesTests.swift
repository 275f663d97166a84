import Foundation
import GridLoopDomain
import RoutingService
import Testing

@Suite("SLA sweeper: which due timers are escalated together")
struct SLARulesTests {
    /// A due timer of a request at `unit` in `state`, owned by the timer's assignment unless `owner` says otherwise.
    static func due(
        _ kind: String,
        at unit: String,
        state: RequestState = .assigned,
        request: RequestID = RequestID(),
        owner: UUID? = nil,
        street: String? = "xiping",
        department: String? = "water"
    ) throws -> DueTimer {
        let assignment = UUID()
        let claimedBy: String? = state == .claimed ? "wang" : nil
        let record = RequestRecord(
            id: request,
            lifecycle: RequestLifecycle(state: state, unit: try UnitRef(parsing: unit), claimedBy: claimedBy, version: 3),
            category: "water",
            description: "停水",
            correlationId: "c-\(request)"
        )
        return DueTimer(
            timer: UUID(),
            assignment: assignment,
            kind: kind,
            dueAt: Date(),
            requestId: request,
            request: record,
            owner: owner ?? assignment,
            streetOfGrid: street,
            department: department
        )
    }

    @Test func overdueClaimsAndResolutionsAtTheGridAndStreetClimbOneTierTogether() throws {
        let grid = try Self.due("claim", at: "grid:guanghua-3")
        let street = try Self.due("resolve", at: "street:xiping", state: .claimed)
        let (together, alone) = SLARules.plan([grid, street])
        #expect(alone.isEmpty)
        #expect(together.map(\.to.description) == ["street:xiping", "district:water"])
        #expect(together.map(\.lifecycle.state) == [.assigned, .assigned])
        #expect(together.map(\.lifecycle.version) == [4, 4])
        #expect(together.allSatisfy { $0.lifecycle.claimedBy == nil })
        #expect(together.map(\.reason) == ["not claimed by grid:guanghua-3 in time", "not resolved by street:xiping in time"])
        #expect(together.map(\.timer) == [grid.timer, street.timer])
        #expect(together.map(\.assignment) == [grid.assignment, street.assignment])
    }

    @Test func aGridWithNoStreetGoesToTriageTogether() throws {
        let (together, _) = SLARules.plan([try Self.due("claim", at: "grid:nowhere", street: nil)])
        #expect(together.map(\.to) == [RoutingRules.triage])
    }

    @Test func everythingElseIsFiredAloneInItsOrder() throws {
        let twice = RequestID()
        let timers = [
            try Self.due("claim-warning", at: "grid:guanghua-3"),  // a warning: an alert
            try Self.due("claim", at: "grid:guanghua-3", owner: UUID()),  // not the owner's: moot or a summons
            try Self.due("claim", at: "district:water"),  // the district: the supervisors are alerted
            try Self.due("resolve", at: "grid:guanghua-3", state: .assigned),  // not the state the deadline watches
            try Self.due("claim", at: "street:xiping", department: nil),  // nowhere to go: said why, alone
            try Self.due("claim", at: "grid:guanghua-3", request: twice),  // two timers of one request
            try Self.due("claim-warning", at: "grid:guanghua-3", request: twice),
        ]
        var unknown = try Self.due("claim", at: "grid:guanghua-3")
        unknown.request = nil  // a state this code does not know
        let (together, alone) = SLARules.plan(timers + [unknown])
        #expect(together.isEmpty)
        #expect(alone == timers + [unknown])
    }
}
