import GridLoopDomain

/// `claim`: a member of the assigned unit takes the request; the claim deadline gives way to
/// the resolve deadline. (A summoned department's claim acknowledges its summons instead: ``Summons``.)
enum Claim {
    static func run(_ c: CommandContext<some RoutingStore>) async throws -> CommandReply {
        if let acknowledged = try await Summons.acknowledge(c) { return acknowledged }
        let next = try c.lifecycle.applying(.claim(staff: c.staff))
        try await c.store.save(c.request.id, next, previousVersion: c.lifecycle.version)
        try await c.store.markClaimed(assignment: c.owner, by: c.staff)
        try await c.store.cancelTimers(assignment: c.owner)
        let resolveDue = try await c.store.startTimer(
            .resolve,
            request: c.request.id,
            assignment: c.owner,
            category: c.request.category,
            tier: c.unit.tier
        )
        try await c.emit(
            MessageType.requestClaimed,
            version: next.version,
            RequestClaimed(
                requestId: c.request.id.description,
                assignmentId: c.owner.uuidString.lowercased(),
                unit: c.unit,
                staff: c.staff,
                resolveDueAt: resolveDue
            )
        )
        return c.done(next, "claimed by \(c.staff)")
    }
}
