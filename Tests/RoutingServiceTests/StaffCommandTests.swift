import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import RoutingService
import Testing

/// The staff commands' rules on an in-memory store: who may act, which state each command
/// needs, what it changes, which events and assignment messages it sends — no PostgreSQL.
/// (The same commands against PostgreSQL are covered end to end in EndToEndTests.)
struct StaffCommandTests {
    let grid = try! UnitRef(parsing: "grid:guanghua-3")
    let otherGrid = try! UnitRef(parsing: "grid:hongxing-3")
    let street = try! UnitRef(parsing: "street:xiping")
    let power = try! UnitRef(parsing: "district:power-supply")
    let water = try! UnitRef(parsing: "district:water")

    func makeStore() -> MemoryRoutingStore {
        MemoryRoutingStore(
            staff: [
                Actor(id: "cui-chunhua", role: "grid-worker", unit: grid),
                Actor(id: "leng-yulong", role: "grid-leader", unit: grid),
                Actor(id: "zhao-hongmei", role: "grid-worker", unit: otherGrid),
                Actor(id: "xu-chunfeng", role: "street-officer", unit: street),
                Actor(id: "power-officer-1", role: "department-officer", unit: power),
                Actor(id: "water-officer-1", role: "department-officer", unit: water),
                Actor(id: "wang-xu", role: "supervisor", unit: try! UnitRef(parsing: "oversight:zhanyi")),
            ],
            streets: ["guanghua-3": "xiping", "hongxing-3": "xiping"],
            departments: ["power": "power-supply", "water": "water"]
        )
    }

    /// A request of `category` assigned to `unit` (its home), as placement leaves it.
    func assigned(_ store: MemoryRoutingStore, to unit: UnitRef, category: String = "power") async throws -> RequestID {
        let id = RequestID()
        var lifecycle = RequestLifecycle()
        try lifecycle.apply(.assign(unit))
        store.state.withLock {
            $0.requests[id] = RequestRecord(
                id: id,
                lifecycle: lifecycle,
                category: category,
                description: "电磁炉炒不了菜",
                gridId: unit.tier == .grid ? unit.id : nil,
                streetId: "xiping",
                correlationId: "c-\(id)"
            )
        }
        _ = try await store.recordAssignment(
            request: id,
            unit: unit,
            reason: "grid of household guanghua-3-01",
            category: category,
            description: "电磁炉炒不了菜"
        )
        return id
    }

    /// Applies `action` as `staff`; a refusal rolls the store back, as the savepoint does in PostgreSQL.
    @discardableResult
    func run(
        _ store: MemoryRoutingStore,
        _ action: StaffCommand.Action,
        _ request: RequestID,
        as staff: String,
        unit: UnitRef? = nil,
        note: String? = nil,
        satisfaction: Satisfaction? = nil,
        departments: [String]? = nil,
        target: UnitRef? = nil,
        into: RequestID? = nil,
        contacted: Bool? = nil,
        residentAt: Int? = nil
    ) async throws -> Result<CommandReply, CommandRefused> {
        let saved = store.snapshot
        let command = StaffCommand(
            action: action,
            requestId: request.description,
            staff: staff,
            unit: unit,
            note: note,
            satisfaction: satisfaction,
            departments: departments,
            target: target,
            into: into?.description,
            contacted: contacted
        )
        do {
            return .success(try await StaffCommands.apply(command, correlationId: "command-1", residentAt: residentAt, store: store))
        } catch let refused as CommandRefused {
            store.restore(saved)
            return .failure(refused)
        }
    }

    func refusal(_ result: Result<CommandReply, CommandRefused>) -> RefusalCode? {
        if case .failure(let refused) = result { return refused.code }
        return nil
    }

    func lifecycle(_ store: MemoryRoutingStore, _ id: RequestID) -> RequestLifecycle? { store.snapshot.requests[id]?.lifecycle }
    func types(_ store: MemoryRoutingStore) -> [String] { store.snapshot.outbox.filter { $0.exchange == GridLoopExchange.events }.map(\.type) }

    @Test("claim: the unit's staff take it; the claim deadline gives way to the resolve deadline; others are refused and nothing changes")
    func claim() async throws {
        let store = makeStore()
        let id = try await assigned(store, to: grid)
        let owner = try #require(try await store.ownerAssignment(of: id))
        #expect(refusal(try await run(store, .claim, id, as: "xu-chunfeng")) == .forbidden, "the street does not claim a grid's request")
        #expect(refusal(try await run(store, .claim, id, as: "nobody")) == .forbidden, "unknown staff")
        #expect(refusal(try await run(store, .claim, id, as: "wang-xu")) == .forbidden, "supervisors do not work queues")
        #expect(refusal(try await run(store, .claim, id, as: "cui-chunhua", unit: street)) == .forbidden, "acting for another unit")
        let before = store.snapshot
        let reply = try await run(store, .claim, id, as: "cui-chunhua").get()
        #expect(reply.ok && reply.state == .claimed && reply.message == "claimed by cui-chunhua")
        #expect(lifecycle(store, id)?.claimedBy == "cui-chunhua")
        #expect(lifecycle(store, id)?.version == (before.requests[id]?.lifecycle.version ?? 0) + 1)
        #expect(store.liveTimers(owner) == ["resolve", "resolve-warning"])
        let claimed = try #require(store.snapshot.outbox.last).decode(RequestClaimed.self)
        #expect(claimed.staff == "cui-chunhua" && claimed.unit == grid && claimed.assignmentId == owner.uuidString.lowercased())
        let after = store.snapshot
        #expect(refusal(try await run(store, .claim, id, as: "leng-yulong")) == .conflict, "claimed already")
        #expect(store.snapshot == after, "a refused command changes nothing")
    }

    @Test("resolve: only the claimer; the resolution goes on the trail")
    func resolve() async throws {
        let store = makeStore()
        let id = try await assigned(store, to: grid)
        #expect(refusal(try await run(store, .resolve, id, as: "cui-chunhua")) == .conflict, "not claimed yet")
        try await run(store, .claim, id, as: "cui-chunhua").get()
        #expect(refusal(try await run(store, .resolve, id, as: "leng-yulong")) == .forbidden, "only the claimer")
        let reply = try await run(store, .resolve, id, as: "cui-chunhua", note: "换了保险丝").get()
        #expect(reply.state == .resolved)
        #expect(try store.snapshot.outbox.last?.decode(RequestResolved.self).note == "换了保险丝")
        let owner = try #require(try await store.ownerAssignment(of: id))
        #expect(store.liveTimers(owner).isEmpty)
        #expect(store.snapshot.assignments.first { $0.id == owner }?.resolvedNote == "换了保险丝")
    }

    @Test("escalate: a reason, then grid → its street → the category's department; the district goes no further")
    func escalate() async throws {
        let store = makeStore()
        let id = try await assigned(store, to: grid)
        #expect(refusal(try await run(store, .escalate, id, as: "cui-chunhua", note: "  ")) == .validationFailed)
        let first = try #require(try await store.ownerAssignment(of: id))
        let reply = try await run(store, .escalate, id, as: "cui-chunhua", note: "变压器过载").get()
        #expect(reply.message == "escalated to street:xiping" && reply.state == .assigned)
        #expect(store.snapshot.assignments.first { $0.id == first }?.escalatedNote == "变压器过载")
        #expect(store.liveTimers(first).isEmpty)
        let moved = try #require(store.snapshot.outbox.first { $0.type == MessageType.requestEscalated }).decode(RequestMoved.self)
        #expect(moved.from == grid && moved.to == street && moved.reason == "变压器过载")
        let message = try #require(store.snapshot.outbox.last)
        #expect(message.exchange == GridLoopExchange.assignments && message.routingKey == street.routingKey)
        #expect(try message.decode(RequestAssigned.self).unit == street)
        #expect(store.snapshot.queues.contains(street))
        try await run(store, .escalate, id, as: "xu-chunfeng", note: "需要供电部门").get()
        #expect(lifecycle(store, id)?.unit == power)
        #expect(refusal(try await run(store, .escalate, id, as: "power-officer-1", note: "?")) == .conflict, "the district escalates no further")
        let noDepartment = try await assigned(store, to: street, category: "noise")
        #expect(refusal(try await run(store, .escalate, noDepartment, as: "xu-chunfeng", note: "?")) == .noRoute)
    }

    @Test(
        "link and unlink (分析研判): a street officer links a report of another grid into an incident, the lead moves up to the street; a wrongly linked report goes back to its grid"
    )
    func linkAndUnlink() async throws {
        let store = makeStore()
        let lead = try await assigned(store, to: grid)
        let other = try await assigned(store, to: otherGrid)
        let otherOwner = try #require(try await store.ownerAssignment(of: other))
        let why = "与光华三组共用原水泥厂变压器"
        #expect(refusal(try await run(store, .link, other, as: "zhao-hongmei", note: why, into: lead)) == .forbidden, "grid staff do not link")
        #expect(refusal(try await run(store, .link, other, as: "wang-xu", note: why, into: lead)) == .forbidden, "supervisors oversee")
        #expect(refusal(try await run(store, .link, other, as: "xu-chunfeng", into: lead)) == .validationFailed, "a reason is required")
        #expect(refusal(try await run(store, .link, other, as: "xu-chunfeng", note: why)) == .validationFailed, "a lead is required")
        #expect(refusal(try await run(store, .link, other, as: "xu-chunfeng", note: why, into: other)) == .validationFailed, "not into itself")
        #expect(refusal(try await run(store, .link, other, as: "xu-chunfeng", note: why, into: RequestID())) == .validationFailed, "an unknown lead")

        let reply = try await run(store, .link, other, as: "xu-chunfeng", note: why, into: lead).get()
        #expect(reply.state == .merged && reply.message?.contains("the lead moved up to street:xiping") == true, "\(reply.message ?? "")")
        #expect(lifecycle(store, other)?.state == .merged)
        #expect(lifecycle(store, lead)?.unit == street && lifecycle(store, lead)?.state == .assigned, "reports from two grids: handled at the street")
        #expect(store.liveTimers(otherOwner).isEmpty, "the linked report's deadlines stop")
        let incident = try #require(try await store.incident(of: other))
        let leadsIncident = try await store.incident(of: lead)
        #expect(incident.lead == lead && leadsIncident?.id == incident.id)
        #expect(try await store.incidentGrids(incident.id) == ["guanghua-3", "hongxing-3"])
        #expect(types(store).suffix(2) == [MessageType.requestMerged, MessageType.requestEscalated])
        let merged = try #require(store.snapshot.outbox.last { $0.type == MessageType.requestMerged }).decode(RequestEnded.self)
        #expect(merged.into == lead.description && merged.staff == "xu-chunfeng" && merged.reason == why)
        let up = try #require(store.snapshot.outbox.last { $0.type == MessageType.requestEscalated }).decode(RequestMoved.self)
        #expect(up.from == grid && up.to == street && up.staff == "xu-chunfeng" && up.reason.contains("guanghua-3、hongxing-3"))
        #expect(refusal(try await run(store, .link, other, as: "xu-chunfeng", note: why, into: lead)) == .conflict, "linked already")

        let before = store.snapshot
        #expect(refusal(try await run(store, .unlink, other, as: "zhao-hongmei", note: "x")) == .forbidden, "grid staff do not unlink")
        #expect(refusal(try await run(store, .unlink, other, as: "xu-chunfeng")) == .validationFailed, "a reason is required")
        #expect(refusal(try await run(store, .unlink, lead, as: "xu-chunfeng", note: "x")) == .conflict, "the lead is not linked into anything")
        #expect(store.snapshot == before, "refused commands change nothing")
        let out = try await run(store, .unlink, other, as: "xu-chunfeng", note: "是红星三组自己的线路老化").get()
        #expect(out.state == .assigned && out.message == "taken out of the incident; assigned to grid:hongxing-3")
        #expect(lifecycle(store, other)?.unit == otherGrid)
        let stillLinked = try await store.incident(of: other)
        #expect(stillLinked == nil)
        let unlinked = try #require(store.snapshot.outbox.last { $0.type == MessageType.requestUnlinked }).decode(RequestMoved.self)
        #expect(unlinked.to == otherGrid && unlinked.reason == "是红星三组自己的线路老化")
        let message = try #require(store.snapshot.outbox.last)
        #expect(message.exchange == GridLoopExchange.assignments && message.routingKey == otherGrid.routingKey)
        let newOwner = try #require(try await store.ownerAssignment(of: other))
        #expect(newOwner != otherOwner && store.liveTimers(newOwner) == ["claim", "claim-warning"], "worked on its own again, with its deadlines")
    }

    @Test("recategorize: the unit holding it corrects the category to one of the org's; on the trail with the suggestion shown; the request stays")
    func recategorize() async throws {
        let store = makeStore()
        let id = try await assigned(store, to: grid, category: "water")
        func correct(as staff: String, to category: String?, suggested: String? = nil) async throws -> Result<CommandReply, CommandRefused> {
            let saved = store.snapshot
            let command = StaffCommand(
                action: .recategorize,
                requestId: id.description,
                staff: staff,
                note: "是线路问题",
                category: category,
                suggested: suggested,
                suggestedConfidence: suggested == nil ? nil : 0.9
            )
            do { return .success(try await StaffCommands.apply(command, correlationId: "c", store: store)) } catch let refused as CommandRefused {
                store.restore(saved)
                return .failure(refused)
            }
        }
        #expect(refusal(try await correct(as: "xu-chunfeng", to: "power")) == .forbidden, "the street does not hold it")
        #expect(refusal(try await correct(as: "cui-chunhua", to: nil)) == .validationFailed)
        #expect(refusal(try await correct(as: "cui-chunhua", to: "noise")) == .validationFailed, "no department handles it")
        #expect(refusal(try await correct(as: "cui-chunhua", to: "water")) == .conflict, "unchanged")
        let before = try #require(lifecycle(store, id))
        let reply = try await correct(as: "cui-chunhua", to: "power", suggested: "power").get()
        #expect(reply.message == "category corrected: water → power")
        #expect(store.snapshot.requests[id]?.category == "power")
        let after = try #require(lifecycle(store, id))
        #expect(after.state == before.state && after.unit == before.unit && after.version == before.version + 1, "it stays; its version moves")
        let event = try #require(store.snapshot.outbox.last { $0.type == MessageType.requestRecategorized })
        let change = try event.decode(RequestRecategorized.self)
        #expect(change.from == "water" && change.to == "power" && change.suggested == "power" && change.confidence == 0.9 && change.unit == grid)
        #expect(event.requestVersion == after.version)
    }

    @Test("return: to the street for arbitration with a reason; the street itself cannot return")
    func returnForArbitration() async throws {
        let store = makeStore()
        let id = try await assigned(store, to: grid)
        #expect(refusal(try await run(store, .return, id, as: "cui-chunhua")) == .validationFailed)
        let reply = try await run(store, .return, id, as: "cui-chunhua", note: "不是本网格的事").get()
        #expect(reply.message == "returned to street:xiping for arbitration")
        #expect(types(store).last == MessageType.requestReturned)
        #expect(refusal(try await run(store, .return, id, as: "xu-chunfeng", note: "?")) == .conflict)
    }

    @Test("summon (吹哨报到): street officers only, known departments; each acknowledges and reports done; the last one resolves")
    func summon() async throws {
        let store = makeStore()
        let id = try await assigned(store, to: street)
        #expect(refusal(try await run(store, .summon, id, as: "xu-chunfeng", departments: ["power-supply"])) == .forbidden, "claim first")
        try await run(store, .claim, id, as: "xu-chunfeng").get()
        #expect(refusal(try await run(store, .summon, id, as: "xu-chunfeng", departments: [])) == .validationFailed)
        #expect(refusal(try await run(store, .summon, id, as: "xu-chunfeng", departments: ["fire"])) == .validationFailed)
        let reply = try await run(store, .summon, id, as: "xu-chunfeng", departments: ["water", "power-supply"]).get()
        #expect(reply.message == "summoned district:power-supply, district:water" && reply.state == .claimed)
        #expect(store.snapshot.assignments.filter { $0.kind == .summons }.map(\.unit).sorted { $0.description < $1.description } == [power, water])
        #expect(store.snapshot.outbox.filter { $0.exchange == GridLoopExchange.assignments }.map(\.routingKey).contains(power.routingKey))
        #expect(refusal(try await run(store, .summon, id, as: "xu-chunfeng", departments: ["water"])) == .conflict, "already summoned")
        #expect(refusal(try await run(store, .resolve, id, as: "xu-chunfeng")) == .conflict, "summoned departments have not reported done")

        #expect(
            try await run(store, .claim, id, as: "power-officer-1", unit: power).get().message
                == "summons acknowledged by district:power-supply (power-officer-1)"
        )
        #expect(
            try await run(store, .resolve, id, as: "power-officer-1", note: "换了变压器").get().message
                == "done for district:power-supply; waiting for district:water"
        )
        #expect(lifecycle(store, id)?.state == .claimed)
        try await run(store, .claim, id, as: "water-officer-1", unit: water).get()
        let last = try await run(store, .resolve, id, as: "water-officer-1", note: "水管修好").get()
        #expect(last.state == .resolved && last.message == "resolved: every summoned department is done")
        #expect(
            types(store).suffix(4) == [
                MessageType.summonsAcknowledged, MessageType.summonsDone, MessageType.summonsAcknowledged, MessageType.requestResolved,
            ],
            "the last department's report resolves the request instead of a summons.done"
        )
        for assignment in store.snapshot.assignments { #expect(store.liveTimers(assignment.id).isEmpty, "\(assignment.unit)") }
    }

    @Test("reassign: a leader moves it within the tier to a unit the org has")
    func reassign() async throws {
        let store = makeStore()
        let id = try await assigned(store, to: grid)
        #expect(refusal(try await run(store, .reassign, id, as: "cui-chunhua", target: otherGrid)) == .forbidden, "grid workers do not reassign")
        #expect(refusal(try await run(store, .reassign, id, as: "leng-yulong")) == .validationFailed)
        #expect(refusal(try await run(store, .reassign, id, as: "leng-yulong", target: street)) == .validationFailed, "another tier")
        #expect(refusal(try await run(store, .reassign, id, as: "leng-yulong", target: try UnitRef(parsing: "grid:nowhere"))) == .validationFailed)
        let reply = try await run(store, .reassign, id, as: "leng-yulong", target: otherGrid).get()
        #expect(reply.message == "reassigned to grid:hongxing-3")
        #expect(try store.snapshot.outbox.first { $0.type == MessageType.requestReassigned }?.decode(RequestMoved.self).reason == "reassigned")
        #expect(try await run(store, .reassign, id, as: "wang-xu", target: grid).get().ok, "supervisors reassign")
    }

    @Test("reject and merge: a reason; a merge into another open request only")
    func rejectAndMerge() async throws {
        let store = makeStore()
        let first = try await assigned(store, to: grid)
        let second = try await assigned(store, to: grid)
        #expect(refusal(try await run(store, .reject, first, as: "cui-chunhua")) == .validationFailed)
        #expect(refusal(try await run(store, .merge, second, as: "cui-chunhua", note: "重复")) == .validationFailed, "into what?")
        #expect(refusal(try await run(store, .merge, second, as: "cui-chunhua", note: "重复", into: second)) == .validationFailed, "not into itself")
        let merged = try await run(store, .merge, second, as: "cui-chunhua", note: "重复", into: first).get()
        #expect(merged.state == .merged && merged.message == "merged into \(first.description)")
        #expect(try store.snapshot.outbox.last?.decode(RequestEnded.self).into == first.description)
        let third = try await assigned(store, to: grid)
        #expect(
            refusal(try await run(store, .merge, third, as: "cui-chunhua", note: "重复", into: second)) == .validationFailed,
            "the target has ended"
        )
        #expect(try await run(store, .reject, first, as: "cui-chunhua", note: "不是居民诉求").get().state == .rejected)
        #expect(types(store).last == MessageType.requestRejected)
    }

    @Test("feedback: satisfied closes; unsatisfied reopens where it was resolved, and one tier up the second time")
    func feedback() async throws {
        let store = makeStore()
        let id = try await assigned(store, to: grid)
        #expect(refusal(try await run(store, .feedback, id, as: "cui-chunhua", satisfaction: .satisfied)) == .conflict, "not resolved")
        func resolveIt() async throws {
            try await run(store, .claim, id, as: "cui-chunhua").get()
            try await run(store, .resolve, id, as: "cui-chunhua").get()
        }
        try await resolveIt()
        #expect(refusal(try await run(store, .feedback, id, as: "cui-chunhua")) == .validationFailed, "no satisfaction")
        #expect(refusal(try await run(store, .feedback, id, as: "zhao-hongmei", satisfaction: .satisfied)) == .forbidden, "another grid's worker")
        #expect(
            try await run(store, .feedback, id, as: "cui-chunhua", note: "还是停电", satisfaction: .unsatisfied).get().message
                == "reopened at grid:guanghua-3"
        )
        #expect(store.snapshot.requests[id]?.reopenCount == 1)
        try await resolveIt()
        #expect(try await run(store, .feedback, id, as: "wang-xu", satisfaction: .unsatisfied).get().message == "reopened at street:xiping")
        let reopened = try #require(store.snapshot.outbox.last { $0.type == MessageType.requestReopened }).decode(RequestMoved.self)
        #expect(reopened.contacted == nil, "staff's own verdict says nothing about contact")
        try await run(store, .claim, id, as: "xu-chunfeng").get()
        try await run(store, .resolve, id, as: "xu-chunfeng").get()
        let version = try #require(lifecycle(store, id)?.version)
        #expect(
            refusal(try await run(store, .feedback, id, as: "resident", satisfaction: .satisfied, residentAt: version - 1)) == .conflict,
            "a stale follow-up link"
        )
        let closed = try await run(store, .feedback, id, as: "resident", satisfaction: .basicallySatisfied, contacted: false, residentAt: version)
            .get()
        #expect(closed.state == .closed && closed.message == "closed")
        #expect(store.snapshot.satisfaction[id] == .basicallySatisfied)
        let event = try #require(store.snapshot.outbox.last).decode(RequestClosed.self)
        #expect(event.solved == true && event.contacted == false, "the resident's 'nobody contacted me' travels with the verdict")
    }

    @Test("bad ids and unknown requests are refused before anything is read")
    func unknownRequests() async throws {
        let store = makeStore()
        let command = StaffCommand(action: .claim, requestId: "not-a-uuid", staff: "cui-chunhua")
        await #expect(throws: CommandRefused(.notFound, "'not-a-uuid' is not a request id")) {
            try await StaffCommands.apply(command, correlationId: "c", store: store)
        }
        #expect(refusal(try await run(store, .claim, RequestID(), as: "cui-chunhua")) == .notFound)
        let controlled = StaffCommand(action: .resolve, requestId: UUID().uuidString, staff: "cui-chunhua", note: "a\u{7}b")
        await #expect(throws: CommandRefused.self) { try await StaffCommands.apply(controlled, correlationId: "c", store: store) }
    }
}
