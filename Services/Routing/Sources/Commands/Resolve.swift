import Foundation
import GridLoopDomain

/// `resolve`: the claimer reports the request done, once every summoned department has. (A
/// summoned department's resolve reports its own part done instead: ``Summons``.)
enum Resolve {
    static func run(_ c: CommandContext<some RoutingStore>) async throws -> CommandReply {
        if let reported = try await Summons.complete(c) { return reported }
        try c.requireClaimer()
        let waiting = try await c.store.outstandingSummons(of: c.request.id)
        guard waiting.isEmpty else {
            throw CommandRefused(.conflict, "summoned departments have not reported done: \(waiting.joined(separator: ", "))")
        }
        return c.done(try await resolved(c, reportedBy: c.owner, at: c.unit), "resolved")
    }

    /// The request resolved, as reported by `assignment` at `unit` (the owner's, or the last
    /// summoned department's): saved, the owner assignment closed with its deadlines, on the trail.
    static func resolved(_ c: CommandContext<some RoutingStore>, reportedBy assignment: UUID, at unit: UnitRef) async throws -> RequestLifecycle {
        let next = try c.lifecycle.applying(.resolve)
        try await c.store.save(c.request.id, next, previousVersion: c.lifecycle.version)
        try await c.store.markResolved(assignment: c.owner, note: c.note)
        try await c.store.cancelTimers(assignment: c.owner)
        try await c.emit(
            MessageType.requestResolved,
            version: next.version,
            RequestResolved(
                requestId: c.request.id.description,
                assignmentId: assignment.uuidString.lowercased(),
                unit: unit,
                staff: c.staff,
                note: c.note
            )
        )
        return next
    }
}
