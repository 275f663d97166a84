import Foundation
import GridLoopAuth
import GridLoopDomain
import Testing

/// The staff inbox's rules without a database: deadlines, filters, order, pages, who reads.
@Suite("Staff inbox")
struct InboxTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func item(
        _ id: String,
        state: StaffInbox.State = .assigned,
        kind: StaffInbox.Kind = .request,
        category: String = "housing",
        claimedBy: String? = nil,
        claimDue: TimeInterval? = nil,
        resolveDue: TimeInterval? = nil,
        overdue: Bool = false,
        warning: Bool = false,
        age: TimeInterval = 60
    ) -> StaffInbox.Item {
        StaffInbox.Item(
            requestId: "r-\(id)",
            assignmentId: "a-\(id)",
            kind: kind,
            state: state,
            category: category,
            description: "问题 \(id)",
            assignedAt: now.addingTimeInterval(-age),
            ageSeconds: Int(age),
            claimedBy: claimedBy,
            claimDueAt: claimDue.map(now.addingTimeInterval),
            resolveDueAt: resolveDue.map(now.addingTimeInterval),
            warning: warning,
            overdue: overdue
        )
    }

    @Test("the running deadline is the claim deadline until claimed, then the resolve deadline; a resolved request runs none")
    func flags() {
        let past = now.addingTimeInterval(-1)
        let soon = now.addingTimeInterval(600)
        let later = now.addingTimeInterval(3600)
        // Assigned: the claim deadline counts; the resolve one is not running yet.
        #expect(
            StaffInbox.flags(state: .assigned, now: now, claimDue: later, resolveDue: past, claimWarning: later, resolveWarning: past) == (
                false, false
            )
        )
        #expect(
            StaffInbox.flags(state: .assigned, now: now, claimDue: later, resolveDue: nil, claimWarning: past, resolveWarning: nil) == (true, false)
        )
        #expect(
            StaffInbox.flags(state: .assigned, now: now, claimDue: past, resolveDue: nil, claimWarning: past, resolveWarning: nil) == (false, true),
            "overdue is not also a warning"
        )
        #expect(
            StaffInbox.flags(state: .assigned, now: now, claimDue: now, resolveDue: nil, claimWarning: nil, resolveWarning: nil) == (false, true),
            "due now is overdue"
        )
        // Claimed: the resolve deadline counts.
        #expect(
            StaffInbox.flags(state: .claimed, now: now, claimDue: past, resolveDue: soon, claimWarning: past, resolveWarning: later) == (false, false)
        )
        #expect(
            StaffInbox.flags(state: .claimed, now: now, claimDue: nil, resolveDue: past, claimWarning: nil, resolveWarning: past) == (false, true)
        )
        // A summons: acknowledge, then done.
        #expect(
            StaffInbox.flags(state: .summoned, now: now, claimDue: past, resolveDue: nil, claimWarning: nil, resolveWarning: nil) == (false, true)
        )
        #expect(
            StaffInbox.flags(state: .acknowledged, now: now, claimDue: past, resolveDue: soon, claimWarning: nil, resolveWarning: past) == (
                true, false
            )
        )
        // Resolved: waits for the resident.
        #expect(
            StaffInbox.flags(state: .resolved, now: now, claimDue: past, resolveDue: past, claimWarning: past, resolveWarning: past) == (false, false)
        )
        // No timers at all.
        #expect(
            StaffInbox.flags(state: .assigned, now: now, claimDue: nil, resolveDue: nil, claimWarning: nil, resolveWarning: nil) == (false, false)
        )
    }

    @Test("query parameters: states, category, overdue, mine, limit and cursor; each wrong one named")
    func filterParsing() throws {
        let filter = try StaffInbox.Filter(query: [
            "state": "assigned, summoned", "category": "power-supply", "overdue": "true", "mine": "1", "limit": "20", "cursor": "o40",
        ])
        #expect(filter.states == [.assigned, .summoned])
        #expect(filter.category == "power-supply" && filter.overdue == true && filter.mine && filter.limit == 20 && filter.offset == 40)
        let defaults = try StaffInbox.Filter(query: [:])
        #expect(
            defaults.states.isEmpty && defaults.category == nil && defaults.overdue == nil && !defaults.mine && defaults.limit == 50
                && defaults.offset == 0
        )
        #expect {
            _ = try StaffInbox.Filter(query: ["state": "open", "limit": "0", "mine": "x"])
        } throws: { error in
            Set((error as? StaffInbox.InvalidQuery)?.errors.map(\.field) ?? []) == ["state", "limit", "mine"]
        }
        for (name, value) in [
            ("state", "open"), ("overdue", "yes"), ("mine", "maybe"), ("limit", "0"), ("limit", "201"), ("limit", "ten"), ("cursor", "40"),
            ("cursor", "o-1"), ("request", "not-a-uuid"),
        ] {
            #expect {
                _ = try StaffInbox.Filter(query: [name: value])
            } throws: { error in
                (error as? StaffInbox.InvalidQuery)?.errors.map(\.field) == [name]
            }
        }
    }

    @Test("work order: overdue first, then the soonest deadline, items without one last, oldest first")
    func order() {
        let items = [
            item("no-deadline-old", age: 900), item("late", claimDue: -10, overdue: true), item("in-an-hour", claimDue: 3600),
            item("in-a-minute", resolveDue: 60), item("no-deadline-new", age: 10), item("later-late", claimDue: -5, overdue: true),
        ]
        let page = StaffInbox.page(unit: "grid:g", items: items, filter: StaffInbox.Filter(), reader: "w")
        #expect(
            page.items.map(\.assignmentId) == ["a-late", "a-later-late", "a-in-a-minute", "a-in-an-hour", "a-no-deadline-old", "a-no-deadline-new"]
        )
    }

    @Test("counts cover the whole unit whatever the filter; pages follow the cursor to the end")
    func countsAndPages() throws {
        var items = (0..<7).map { item("\($0)", claimDue: Double($0) * 60) }
        items.append(item("claimed-by-me", state: .claimed, claimedBy: "cui-chunhua", resolveDue: 30))
        items.append(item("claimed-by-other", state: .claimed, claimedBy: "li-min", resolveDue: -30, overdue: true))
        items.append(item("summons", state: .summoned, kind: .summons, category: "power-supply", claimDue: 120, warning: true))
        var filter = try StaffInbox.Filter(query: ["limit": "4"])
        var seen: [String] = []
        var pages = 0
        while true {
            let page = StaffInbox.page(unit: "grid:g", items: items, filter: filter, reader: "cui-chunhua")
            #expect(page.counts.total == 10 && page.counts.overdue == 1 && page.counts.warning == 1 && page.counts.unclaimed == 8)
            #expect(page.counts.byState == ["assigned": 7, "claimed": 2, "summoned": 1])
            #expect(page.matching == 10)
            seen += page.items.map(\.assignmentId)
            pages += 1
            guard let next = page.next else { break }
            filter = try StaffInbox.Filter(query: ["limit": "4", "cursor": next])
        }
        #expect(pages == 3 && seen.count == 10 && Set(seen).count == 10, "every item once, in three pages")
        let mine = StaffInbox.page(unit: "grid:g", items: items, filter: try StaffInbox.Filter(query: ["mine": "true"]), reader: "cui-chunhua")
        #expect(mine.items.map(\.assignmentId) == ["a-claimed-by-me"] && mine.matching == 1 && mine.counts.total == 10)
        let late = StaffInbox.page(unit: "grid:g", items: items, filter: try StaffInbox.Filter(query: ["overdue": "true"]), reader: "x")
        #expect(late.items.map(\.assignmentId) == ["a-claimed-by-other"])
        let power = StaffInbox.page(
            unit: "grid:g",
            items: items,
            filter: try StaffInbox.Filter(query: ["category": "power-supply", "state": "summoned"]),
            reader: "x"
        )
        #expect(power.items.map(\.assignmentId) == ["a-summons"])
        let one = StaffInbox.page(
            unit: "grid:g",
            items: items,
            filter: try StaffInbox.Filter(query: ["request": "00000000-0000-0000-0000-000000000000"]),
            reader: "x"
        )
        #expect(one.items.isEmpty && one.counts.total == 10, "a request filter matches ids only")
        let empty = StaffInbox.page(unit: "grid:g", items: [], filter: StaffInbox.Filter(), reader: "x")
        #expect(empty.items.isEmpty && empty.next == nil && empty.counts.total == 0)
    }

    @Test("who reads an inbox: the unit's own staff and supervisors or services, nobody else")
    func scope() throws {
        let grid = try UnitRef(parsing: "grid:guanghua-3")
        let other = try UnitRef(parsing: "grid:hongxing-3")
        let street = try UnitRef(parsing: "street:xiping")
        let power = try UnitRef(parsing: "district:power-supply")
        let worker = Principal(id: "cui-chunhua", role: "grid-worker", unit: grid)
        let officer = Principal(id: "xu-chunfeng", role: "street-officer", unit: street)
        let duty = Principal(id: "power-duty", role: "department-officer", unit: power)
        let supervisor = Principal(id: "wang-xu", role: "supervisor", unit: nil)
        let service = Principal(id: "service:dashboard", role: Principal.serviceRole, unit: nil)
        #expect(
            ReadScope.mayReadInbox(worker, unit: grid) && !ReadScope.mayReadInbox(worker, unit: other)
                && !ReadScope.mayReadInbox(worker, unit: street)
        )
        #expect(ReadScope.mayReadInbox(officer, unit: street) && !ReadScope.mayReadInbox(officer, unit: grid))
        #expect(ReadScope.mayReadInbox(duty, unit: power) && !ReadScope.mayReadInbox(duty, unit: street))
        for unit in [grid, other, street, power] {
            #expect(ReadScope.mayReadInbox(supervisor, unit: unit) && ReadScope.mayReadInbox(service, unit: unit))
        }
        #expect(throws: AuthFailure.self) { try ReadScope.requireInbox(worker, unit: other) }
    }
}
