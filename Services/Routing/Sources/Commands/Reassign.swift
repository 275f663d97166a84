import GridLoopDomain

/// `reassign`: a leader moves the request to another unit of the same tier.
enum Reassign {
    static func run(_ c: CommandContext<some RoutingStore>) async throws -> CommandReply {
        guard let target = c.command.target else { throw CommandRefused(.validationFailed, "name the unit to reassign to (--to tier:id)") }
        guard target.tier == c.unit.tier, target != c.unit else {
            throw CommandRefused(
                .validationFailed,
                "reassignment stays within the \(c.unit.tier.rawValue) tier and moves the request: \(target) is not another \(c.unit.tier.rawValue) unit"
            )
        }
        guard try await c.store.unitExists(target) || target == RoutingRules.triage else {
            throw CommandRefused(.validationFailed, "no unit \(target) in the org")
        }
        let reason = c.note.trimmingCharacters(in: .whitespacesAndNewlines)
        let next = try await c.move(
            .assign(target),
            MessageType.requestReassigned,
            reason: reason.isEmpty ? "reassigned" : reason,
            assignmentReason: "reassigned from \(c.unit) by \(c.staff)" + (reason.isEmpty ? "" : ": \(reason)")
        )
        return c.done(next, "reassigned to \(next.unit?.description ?? "?")")
    }
}
