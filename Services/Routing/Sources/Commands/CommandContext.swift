import Foundation
import GridLoopDomain

/// What every staff command works on: the command, the request as locked for it, the owner
/// assignment and unit it is at, the correlation id its events carry, and the store.
struct CommandContext<Store: RoutingStore>: Sendable {
    var command: StaffCommand
    var request: RequestRecord
    /// The request's current owner assignment.
    var owner: UUID
    /// The unit the request is at.
    var unit: UnitRef
    var correlationId: String
    var store: Store

    var lifecycle: RequestLifecycle { request.lifecycle }
    var staff: String { command.staff }
    /// The command's note, or "".
    var note: String { command.note ?? "" }

    /// The command's non-blank reason, or a `validation_failed` refusal saying `missing`.
    func reason(_ missing: String) throws(CommandRefused) -> String {
        let reason = note.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { throw CommandRefused(.validationFailed, missing) }
        return reason
    }

    /// Once claimed, only the claimer acts on the request.
    func requireClaimer() throws(CommandRefused) {
        if lifecycle.state == .claimed, lifecycle.claimedBy != staff {
            throw CommandRefused(
                .forbidden,
                "the request was claimed by \(lifecycle.claimedBy ?? "someone else"); only they can \(command.action.rawValue) it"
            )
        }
    }

    /// Saves `next` (a transition of the request as locked) and puts `payload` on the trail as a `type` event.
    func record<Payload: Codable & Sendable>(_ next: RequestLifecycle, _ type: String, _ payload: Payload) async throws {
        try await store.save(request.id, next, previousVersion: lifecycle.version)
        try await emit(type, version: next.version, payload)
    }

    /// A `type` event about the request at `version`.
    func emit<Payload: Codable & Sendable>(_ type: String, version: Int, _ payload: Payload, messageId: String = MessageID.make()) async throws {
        let event = MessageEnvelope(
            messageId: messageId,
            type: type,
            requestId: request.id.description,
            correlationId: correlationId,
            requestVersion: version,
            payload: payload
        )
        try await store.emit(event: event)
    }

    /// Moves the request to another unit (see ``RoutingStore/move(_:transition:type:assignment:staff:reason:assignmentReason:correlationId:contacted:)``).
    func move(
        _ transition: RequestTransition,
        _ type: String,
        reason: String,
        assignmentReason: String,
        contacted: Bool? = nil
    ) async throws -> RequestLifecycle {
        try await store.move(
            request,
            transition: transition,
            type: type,
            assignment: owner,
            staff: staff,
            reason: reason,
            assignmentReason: assignmentReason,
            correlationId: correlationId,
            contacted: contacted
        )
    }

    /// The answer: done, the request now in `lifecycle`'s state.
    func done(_ lifecycle: RequestLifecycle, _ message: String) -> CommandReply {
        CommandReply(ok: true, requestId: request.id.description, state: lifecycle.state, message: message)
    }
}
