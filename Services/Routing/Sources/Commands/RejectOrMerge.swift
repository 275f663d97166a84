import Foundation
import GridLoopDomain

/// `reject` (invalid: not a resident's request, abusive, impossible) and `merge` (a duplicate
/// of another open request): the request ends with a reason, on the trail and to the resident.
enum RejectOrMerge {
    static func run(_ c: CommandContext<some RoutingStore>) async throws -> CommandReply {
        let reason = try c.reason("say why (--reason): it goes on the trail and to the resident")
        let merging = c.command.action == .merge
        var into: String?
        if merging {
            guard let other = c.command.into.flatMap(RequestID.init), other != c.request.id else {
                throw CommandRefused(.validationFailed, "name the request this one duplicates (--into REQUEST)")
            }
            guard let state = try await c.store.state(of: other), !state.isTerminal else {
                throw CommandRefused(.validationFailed, "\(c.command.into ?? "") is not an open request")
            }
            into = other.description
        }
        let next = try c.lifecycle.applying(merging ? .merge : .reject)
        try await c.store.save(c.request.id, next, previousVersion: c.lifecycle.version)
        try await c.store.cancelTimers(assignment: c.owner)
        try await c.emit(
            merging ? MessageType.requestMerged : MessageType.requestRejected,
            version: next.version,
            RequestEnded(requestId: c.request.id.description, staff: c.staff, reason: reason, into: into)
        )
        return c.done(next, merging ? "merged into \(c.command.into ?? "?")" : "rejected")
    }
}
