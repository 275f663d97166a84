import Foundation
import GridLoopDomain

/// The staff commands' dispatch: the request locked, the actor authorized (``StaffAuthorization``),
/// then the action's own rules — one type each in this folder. Throws ``CommandRefused`` for a
/// command that is valid but not allowed now; the caller rolls its changes back.
package enum StaffCommands {
    /// Applies `command`. `residentAt`: the resident's own verdict through a signed follow-up
    /// link (proven by the link, not a token), valid only while the request is at that version.
    package static func apply(
        _ command: StaffCommand,
        correlationId: String,
        residentAt: Int? = nil,
        store: some RoutingStore
    ) async throws -> CommandReply {
        if let field = command.fieldWithControlCharacters {
            throw CommandRefused(.validationFailed, "\(field): must not contain control characters")
        }
        guard let requestId = RequestID(command.requestId) else {
            throw CommandRefused(.notFound, "'\(command.requestId)' is not a request id")
        }
        guard let request = try await store.lockRequest(requestId) else { throw CommandRefused(.notFound, "no request \(command.requestId)") }
        if command.action == .unlink, residentAt == nil {
            // A report linked on arrival was never assigned: no owner, no unit yet.
            try await StaffAuthorization.check(command, on: request, at: request.lifecycle.unit ?? RoutingRules.triage, store: store)
            return try await Link.unlink(command, request: request, correlationId: correlationId, store: store)
        }
        let owner = try await store.ownerAssignment(of: requestId)
        guard let owner, let unit = request.lifecycle.unit else { throw CommandRefused(.conflict, "the request is not assigned to any unit") }
        if let residentAt {
            // The follow-up link speaks for the resident of this resolution only.
            guard command.action == .feedback, request.lifecycle.state == .resolved, request.lifecycle.version == residentAt else {
                throw CommandRefused(
                    .conflict,
                    "this follow-up link has been answered or the request has moved on (it is \(request.lifecycle.state.rawValue) now)"
                )
            }
        } else {
            try await StaffAuthorization.check(command, on: request, at: unit, store: store)
        }
        let context = CommandContext(command: command, request: request, owner: owner, unit: unit, correlationId: correlationId, store: store)
        switch command.action {
        case .claim: return try await Claim.run(context)
        case .resolve: return try await Resolve.run(context)
        case .escalate: return try await Escalate.run(context)
        case .return: return try await Return.run(context)
        case .summon: return try await Summons.summon(context)
        case .reassign: return try await Reassign.run(context)
        case .reject, .merge: return try await RejectOrMerge.run(context)
        case .feedback: return try await Feedback.run(context)
        case .link: return try await Link.run(context)
        case .recategorize: return try await Recategorize.run(context)
        case .unlink: throw CommandRefused(.conflict, "only a report linked into an incident can be taken out of it")
        }
    }
}
