import Foundation
import GridLoopDomain
import Testing
import WebService

/// What the staff pages offer, decided without a server: each role × state, the summoned
/// department, the verdict by the home grid; the token's facts and its refresh.
@Suite("Web pages: actions and sessions")
struct WebActionsTests {
    let grid = try! UnitRef(parsing: "grid:guanghua-3")
    let street = try! UnitRef(parsing: "street:xiping")
    let power = try! UnitRef(parsing: "district:power-supply")

    func viewer(_ id: String, _ role: String, _ unit: UnitRef?) -> WebActions.Viewer { WebActions.Viewer(id: id, role: role, unit: unit) }

    @Test(
        "a grid worker: claim an assigned request of her grid; once hers, resolve or escalate; nothing on another's claim or another unit's request"
    )
    func gridWorker() {
        let worker = viewer("cui-chunhua", "grid-worker", grid)
        #expect(
            WebActions.available(to: worker, on: .init(state: .assigned, unit: grid, claimedBy: nil, homeGrid: "guanghua-3")) == [
                .claim, .return, .reject, .merge,
            ]
        )
        #expect(
            WebActions.available(to: worker, on: .init(state: .claimed, unit: grid, claimedBy: "cui-chunhua", homeGrid: "guanghua-3")) == [
                .resolve, .escalate, .return, .reject, .merge,
            ]
        )
        #expect(WebActions.available(to: worker, on: .init(state: .claimed, unit: grid, claimedBy: "leng-yulong", homeGrid: "guanghua-3")).isEmpty)
        #expect(WebActions.available(to: worker, on: .init(state: .assigned, unit: street, claimedBy: nil, homeGrid: "guanghua-3")).isEmpty)
        #expect(WebActions.available(to: worker, on: .init(state: .closed, unit: grid, claimedBy: nil, homeGrid: "guanghua-3")).isEmpty)
    }

    @Test("the resident's verdict: the home grid's staff and supervisors, only once resolved")
    func feedback() {
        let resolved = WebActions.Situation(state: .resolved, unit: power, claimedBy: "power-officer-1", homeGrid: "guanghua-3")
        #expect(WebActions.available(to: viewer("cui-chunhua", "grid-worker", grid), on: resolved) == [.feedback])
        #expect(WebActions.available(to: viewer("leng-yulong", "grid-leader", grid), on: resolved) == [.feedback])
        #expect(WebActions.available(to: viewer("zhao-hongmei", "grid-worker", try! UnitRef(parsing: "grid:hongxing-3")), on: resolved).isEmpty)
        #expect(WebActions.available(to: viewer("wang-xu", "supervisor", try! UnitRef(parsing: "oversight:zhanyi")), on: resolved) == [.feedback])
        #expect(WebActions.available(to: viewer("power-officer-1", "department-officer", power), on: resolved).isEmpty)
    }

    @Test("the street officer summons once the request is his; a summoned department acknowledges, then reports done; leaders reassign")
    func streetAndDepartment() {
        let officer = viewer("xu-chunfeng", "street-officer", street)
        // A street does not return to itself for arbitration.
        #expect(
            WebActions.available(to: officer, on: .init(state: .assigned, unit: street, claimedBy: nil, homeGrid: "guanghua-3")) == [
                .claim, .reject, .merge, .reassign, .link,
            ]
        )
        #expect(
            WebActions.available(to: officer, on: .init(state: .claimed, unit: street, claimedBy: "xu-chunfeng", homeGrid: "guanghua-3"))
                == [.resolve, .escalate, .summon, .reject, .merge, .reassign, .link]
        )
        // The category is corrected by whoever holds the request (once claimed, the claimer); not by a summoned department.
        #expect(WebActions.mayRecategorize(officer, on: .init(state: .assigned, unit: street, claimedBy: nil, homeGrid: "guanghua-3")))
        #expect(!WebActions.mayRecategorize(officer, on: .init(state: .claimed, unit: street, claimedBy: "someone", homeGrid: "guanghua-3")))
        #expect(!WebActions.mayRecategorize(officer, on: .init(state: .assigned, unit: grid, claimedBy: nil, homeGrid: "guanghua-3")))
        #expect(!WebActions.mayRecategorize(officer, on: .init(state: .resolved, unit: street, claimedBy: "xu-chunfeng", homeGrid: "guanghua-3")))
        // 分析研判: a linked report can be taken out of its incident by the street; grid staff cannot.
        #expect(WebActions.available(to: officer, on: .init(state: .merged, unit: grid, claimedBy: nil, homeGrid: "guanghua-3")) == [.unlink])
        #expect(
            WebActions.available(
                to: viewer("cui-chunhua", "grid-worker", grid),
                on: .init(state: .merged, unit: grid, claimedBy: nil, homeGrid: "guanghua-3")
            ).isEmpty
        )
        // A resolved request with no home grid: the street officer who holds it records the verdict.
        #expect(WebActions.available(to: officer, on: .init(state: .resolved, unit: street, claimedBy: "xu-chunfeng", homeGrid: nil)) == [.feedback])
        #expect(WebActions.available(to: officer, on: .init(state: .resolved, unit: power, claimedBy: nil, homeGrid: nil)).isEmpty)
        let duty = viewer("power-officer-1", "department-officer", power)
        #expect(
            WebActions.available(
                to: duty,
                on: .init(state: .claimed, unit: street, claimedBy: "xu-chunfeng", homeGrid: "guanghua-3", summons: .summoned)
            ) == [.claim]
        )
        #expect(
            WebActions.available(
                to: duty,
                on: .init(state: .claimed, unit: street, claimedBy: "power-officer-1", homeGrid: "guanghua-3", summons: .acknowledged)
            ) == [.resolve]
        )
        // Only whoever acknowledged the summons reports it done.
        #expect(
            WebActions.available(
                to: viewer("power-officer-2", "department-officer", power),
                on: .init(state: .claimed, unit: street, claimedBy: "power-officer-1", homeGrid: nil, summons: .acknowledged)
            ).isEmpty
        )
        // The district holds it: no escalation beyond.
        #expect(
            !WebActions.available(to: duty, on: .init(state: .claimed, unit: power, claimedBy: "power-officer-1", homeGrid: nil)).contains(.escalate)
        )
        #expect(
            WebActions.available(
                to: viewer("wang-xu", "supervisor", nil),
                on: .init(state: .claimed, unit: street, claimedBy: "xu-chunfeng", homeGrid: nil)
            ) == [.reassign]
        )
    }

    @Test("a token's subject, role, unit and expiry are read for the pages; refresh in its last 5 minutes; junk is no session")
    func session() throws {
        func token(_ claims: [String: Any]) throws -> String {
            let body = try JSONSerialization.data(withJSONObject: claims).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            return "eyJhbGciOiJIUzI1NiJ9.\(body).c2lnbmF0dXJl"
        }
        let now = Date()
        let session = try #require(
            Session(
                token: try token(["sub": "cui-chunhua", "role": "grid-worker", "unit": "grid:guanghua-3", "exp": now.timeIntervalSince1970 + 240])
            )
        )
        #expect(session.staff == "cui-chunhua" && session.role == "grid-worker" && session.unit == grid)
        #expect(session.wantsRefresh(now: now))
        let fresh = try #require(Session(token: try token(["sub": "x", "role": "supervisor", "exp": now.timeIntervalSince1970 + 900])))
        #expect(!fresh.wantsRefresh(now: now) && fresh.unit == nil)
        let expired = try #require(Session(token: try token(["sub": "x", "role": "grid-worker", "exp": now.timeIntervalSince1970 - 1])))
        #expect(!expired.wantsRefresh(now: now))
        let anonymous = try token(["role": "grid-worker"])
        #expect(Session(token: "not-a-token") == nil && Session(token: "a.b.c") == nil && Session(token: anonymous) == nil)
    }

    @Test("deadlines in words, both languages")
    func words() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(Pages.due(now.addingTimeInterval(4980), now: now, language: "zh") == "剩余 1小时23分")
        #expect(Pages.due(now.addingTimeInterval(-300), now: now, language: "zh") == "已超时 5分钟")
        #expect(Pages.due(now.addingTimeInterval(2 * 86_400 + 3 * 3600), now: now, language: "en") == "left 2 d 3 h")
        #expect(Pages.state("resolved", language: "zh") == "已办结待回访" && Pages.state("summoned", language: "en") == "summoned")
    }
}
