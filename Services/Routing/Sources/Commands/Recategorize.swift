import Foundation
import GridLoopDomain

/// `recategorize`: the unit holding a request corrects its category — hotline and resident
/// reports often come under a wrong one; the staff member may have been shown the classifier's
/// suggestion (``StaffCommand/suggested``). The correction is on the trail and counted by
/// reporting (and whether it followed the suggestion); the request stays where it is.
enum Recategorize {
    static func run(_ c: CommandContext<some RoutingStore>) async throws -> CommandReply {
        let category = (c.command.category ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !category.isEmpty, category.count <= 40 else {
            throw CommandRefused(.validationFailed, "name the corrected category (--category), at most 40 characters")
        }
        guard category != c.request.category else { throw CommandRefused(.conflict, "the request's category is \(category) already") }
        guard try await c.store.departmentOfCategory(category) != nil else {
            throw CommandRefused(.validationFailed, "'\(category)' is not a category of the org (no department handles it)")
        }
        guard [.received, .assigned, .claimed].contains(c.lifecycle.state) else {
            throw CommandRefused(.conflict, "only an open request's category can be corrected; this one is \(c.lifecycle.state.rawValue)")
        }
        try c.requireClaimer()
        // Not a transition, but a change: the version moves so every consumer orders it.
        let next = RequestLifecycle(
            state: c.lifecycle.state,
            unit: c.lifecycle.unit,
            claimedBy: c.lifecycle.claimedBy,
            version: c.lifecycle.version + 1
        )
        try await c.store.save(c.request.id, next, previousVersion: c.lifecycle.version)
        try await c.store.setCategory(category, of: c.request.id)
        let reason = c.note.trimmingCharacters(in: .whitespacesAndNewlines)
        try await c.emit(
            MessageType.requestRecategorized,
            version: next.version,
            RequestRecategorized(
                requestId: c.request.id.description,
                from: c.request.category,
                to: category,
                staff: c.staff,
                unit: c.unit,
                state: c.lifecycle.state,
                reason: reason.isEmpty ? nil : reason,
                suggested: c.command.suggested,
                confidence: c.command.suggestedConfidence
            )
        )
        return c.done(next, "category corrected: \(c.request.category) → \(category)")
    }
}
