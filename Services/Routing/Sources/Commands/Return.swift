import GridLoopDomain

/// `return`: "not ours" — the claimer sends the request to its street centre (or the triage
/// desk) for arbitration, with a reason. The street centre itself arbitrates: it cannot return.
enum Return {
    static func run(_ c: CommandContext<some RoutingStore>) async throws -> CommandReply {
        let reason = try c.reason("a return needs a reason (--reason): why is it not yours?")
        try c.requireClaimer()
        guard c.unit.tier != .street else {
            throw CommandRefused(.conflict, "the street centre is where returned requests are arbitrated: escalate, reassign or resolve it")
        }
        let street = c.request.streetId.flatMap { try? UnitRef(tier: .street, id: $0) } ?? RoutingRules.triage
        let next = try await c.move(
            .returnForArbitration(street),
            MessageType.requestReturned,
            reason: reason,
            assignmentReason: "returned by \(c.unit) (\(c.staff)) for arbitration: \(reason)"
        )
        return c.done(next, "returned to \(next.unit?.description ?? "?") for arbitration")
    }
}
