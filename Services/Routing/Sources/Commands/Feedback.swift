import GridLoopDomain

/// `feedback`: the resident's verdict on a resolved request (recorded by the home grid's staff
/// after the on-site check, a supervisor, or the resident through the 回访 link). Satisfied or
/// basically satisfied closes the loop; unsatisfied reopens it — at the unit that resolved it
/// the first time, one tier up from the second time on.
enum Feedback {
    static func run(_ c: CommandContext<some RoutingStore>) async throws -> CommandReply {
        guard let satisfaction = c.command.satisfaction else {
            throw CommandRefused(.validationFailed, "feedback needs --satisfaction: satisfied, basically-satisfied or unsatisfied")
        }
        guard c.lifecycle.state == .resolved else {
            throw CommandRefused(.conflict, "feedback is for resolved requests; this one is \(c.lifecycle.state.rawValue)")
        }
        try await c.store.recordSatisfaction(satisfaction, of: c.request.id)
        if satisfaction.closesTheLoop {
            let next = try c.lifecycle.applying(.close)
            try await c.store.save(c.request.id, next, previousVersion: c.lifecycle.version)
            try await c.emit(
                MessageType.requestClosed,
                version: next.version,
                RequestClosed(
                    requestId: c.request.id.description,
                    satisfaction: satisfaction,
                    staff: c.staff,
                    note: c.note,
                    solved: c.command.solved ?? true,
                    contacted: c.command.contacted
                )
            )
            return c.done(next, "closed")
        }
        let failures = c.request.reopenCount + 1
        var target = c.unit
        if failures > 1 {
            let department = try await c.store.departmentOfCategory(c.request.category)
            let streetOfGrid = c.unit.tier == .grid ? c.request.streetId : nil
            if case .success(let next) = EscalationRules.nextUnit(
                from: c.unit,
                category: c.request.category,
                streetOfGrid: streetOfGrid,
                departmentOfCategory: department
            ) {
                target = next
            }
        }
        try await c.store.setReopenCount(failures, of: c.request.id)
        let next = try await c.move(
            .reopen(target),
            MessageType.requestReopened,
            reason: c.note.isEmpty ? "resident unsatisfied" : "resident unsatisfied: \(c.note)",
            assignmentReason: "reopened (\(failures == 1 ? "first" : "repeated") unsatisfied feedback, recorded by \(c.staff)): \(c.note)",
            contacted: c.command.contacted
        )
        return c.done(next, "reopened at \(next.unit?.description ?? "?")")
    }
}
