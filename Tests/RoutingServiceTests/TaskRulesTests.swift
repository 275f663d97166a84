import Foundation
import GridLoopAuth
import GridLoopDomain
import RoutingService
import Testing

@Suite("Proactive tasks (未诉先办): coverage and who may open and check")
struct TaskCoverageTests {
    let due = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("coverage per grid, per street and in all: each household once, on time before the due instant, hazards counted")
    func coverage() {
        let households = ["guanghua-3": ["g1", "g2", "g3", "g4"], "hongxing-3": ["h1", "h2"], "hanjiaxu-1": ["k1"]]
        let streets = ["guanghua-3": "xiping", "hongxing-3": "xiping", "hanjiaxu-1": "longhua"]
        let checks: [TaskCoverage.Check] = [
            .init(household: "g1", at: due.addingTimeInterval(-100), outcome: .ok),
            .init(household: "g2", at: due.addingTimeInterval(-50), outcome: .hazard),
            .init(household: "g2", at: due.addingTimeInterval(-10), outcome: .ok),  // the same household again: once
            .init(household: "g3", at: due.addingTimeInterval(10), outcome: .ok),  // late
            .init(household: "h1", at: due.addingTimeInterval(-1), outcome: .ok),
            .init(household: "h2", at: due.addingTimeInterval(-1), outcome: .ok),
            .init(household: "x9", at: due.addingTimeInterval(-1), outcome: .ok),  // not a household of the task's grids
        ]
        let coverage = TaskCoverage.compute(households: households, streetOf: streets, checks: checks, dueBy: due)
        let guanghua = coverage.grids.first { $0.key == "guanghua-3" }
        #expect(guanghua == TaskCoverage.Row(key: "guanghua-3", households: 4, checked: 3, onTime: 2, hazards: 1))
        #expect(guanghua?.coverage == 0.75 && guanghua?.complete == false)
        #expect(coverage.grids.first { $0.key == "hongxing-3" }?.complete == true)
        #expect(
            coverage.streets == [
                TaskCoverage.Row(key: "longhua", households: 1), TaskCoverage.Row(key: "xiping", households: 6, checked: 5, onTime: 4, hazards: 1),
            ]
        )
        #expect(coverage.all == TaskCoverage.Row(key: "all", households: 7, checked: 5, onTime: 4, hazards: 1))
        #expect(TaskCoverage.compute(households: [:], streetOf: [:], checks: checks, dueBy: due).all.coverage == 0)
    }

    @Test("streets open tasks for their own grids, supervisors for any; only a grid's staff check its households")
    func rules() throws {
        let officer = Principal(id: "xu-chunfeng", role: "street-officer", unit: try UnitRef(parsing: "street:xiping"))
        let supervisor = Principal(id: "wang-xu", role: "supervisor", unit: try UnitRef(parsing: "oversight:zhanyi"))
        let worker = Principal(id: "cui-chunhua", role: "grid-worker", unit: try UnitRef(parsing: "grid:guanghua-3"))
        #expect(TaskRules.refusal(toOpen: officer, grids: [("guanghua-3", "xiping"), ("hongxing-3", "xiping")]) == nil)
        #expect(TaskRules.refusal(toOpen: officer, grids: [("guanghua-3", "xiping"), ("hanjiaxu-1", "longhua")])?.contains("hanjiaxu-1") == true)
        #expect(TaskRules.refusal(toOpen: supervisor, grids: [("hanjiaxu-1", "longhua")]) == nil)
        #expect(TaskRules.refusal(toOpen: worker, grids: [("guanghua-3", "xiping")]) != nil)
        #expect(TaskRules.refusal(toCheck: worker, grid: "guanghua-3") == nil)
        #expect(TaskRules.refusal(toCheck: worker, grid: "hongxing-3") != nil)
        #expect(TaskRules.refusal(toCheck: officer, grid: "guanghua-3") != nil)
    }
}
