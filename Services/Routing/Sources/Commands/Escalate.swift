import GridLoopDomain

/// `escalate`: the claimer sends the request one tier up, with a reason (see ``EscalationRules``).
enum Escalate {
    static func run(_ c: CommandContext<some RoutingStore>) async throws -> CommandReply {
        let reason = try c.reason("an escalation needs a reason (--reason)")
        try c.requireClaimer()
        let next = try await c.store.escalate(c.request, assignment: c.owner, staff: c.staff, reason: reason, correlationId: c.correlationId)
        return c.done(next, "escalated to \(next.unit?.description ?? "?")")
    }
}
