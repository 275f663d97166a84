import Foundation
import GridLoopDomain

/// What notification needs from one event, whatever its payload type.
package struct EventFacts: Sendable, Equatable {
    package var type: String
    package var eventId: String
    package var requestId: String
    /// The units the event is about (the `unit` audience): the assignee, the new unit after a
    /// move, every summoned department, the street informed.
    package var units: [UnitRef] = []
    package var category: String?
    package var description: String?
    package var reason: String?
    package var note: String?
    package var staff: String?
    /// The street that summoned.
    package var by: UnitRef?
    /// The department a direct request went to.
    package var department: UnitRef?
    /// `claim` or `resolve`, for warnings and overdue alerts.
    package var deadline: String?
    package var dueAt: Date?
    package var claimDueAt: Date?
    package var satisfaction: Satisfaction?
    /// For a merge: the request it went into.
    package var into: String?
    /// The request's version after the event (the envelope's), for the follow-up link.
    package var requestVersion: Int?
    /// The whole submission, on `request.received`.
    package var submission: Submission?

    package init(type: String, eventId: String, requestId: String) {
        self.type = type
        self.eventId = eventId
        self.requestId = requestId
    }

    /// The facts of `event`, with the envelope's message id and request version; `nil` for
    /// the kinds notification ignores and for the community events (``CommunityFacts``).
    package init?(_ event: RequestEvent) {
        switch event.kind {
        case .received(let received):
            self.init(type: event.type, eventId: event.messageId, requestId: received.requestId)
            submission = received.submission
            category = received.submission.category
            description = received.submission.description
        case .assigned(let assigned):
            self.init(type: event.type, eventId: event.messageId, requestId: assigned.requestId)
            units = [assigned.unit]
            category = assigned.category
            description = assigned.description
            reason = assigned.reason
            claimDueAt = assigned.claimDueAt
        case .claimed(let claimed):
            self.init(type: event.type, eventId: event.messageId, requestId: claimed.requestId)
            units = [claimed.unit]
            staff = claimed.staff
        case .escalated(let moved), .returned(let moved), .reassigned(let moved), .reopened(let moved), .unlinked(let moved):
            self.init(type: event.type, eventId: event.messageId, requestId: moved.requestId)
            units = [moved.to]
            staff = moved.staff
            reason = moved.reason
        case .summoned(let summoned):
            self.init(type: event.type, eventId: event.messageId, requestId: summoned.requestId)
            units = summoned.summoned.keys.sorted().compactMap { try? UnitRef(parsing: $0) }
            by = summoned.by
            staff = summoned.staff
            note = summoned.note
        case .streetInformed(let informed):
            self.init(type: event.type, eventId: event.messageId, requestId: informed.requestId)
            units = [informed.street]
            department = informed.department
            category = informed.category
        case .deadlineWarning(let overdue), .overdue(let overdue):
            self.init(type: event.type, eventId: event.messageId, requestId: overdue.requestId)
            units = [overdue.unit]
            deadline = overdue.deadline
            dueAt = overdue.dueAt
        case .resolved(let resolved):
            self.init(type: event.type, eventId: event.messageId, requestId: resolved.requestId)
            units = [resolved.unit]
            staff = resolved.staff
            note = resolved.note
        case .closed(let closed):
            self.init(type: event.type, eventId: event.messageId, requestId: closed.requestId)
            staff = closed.staff
            note = closed.note
            satisfaction = closed.satisfaction
        case .rejected(let ended), .merged(let ended):
            self.init(type: event.type, eventId: event.messageId, requestId: ended.requestId)
            staff = ended.staff
            reason = ended.reason
            into = ended.into
        case .summonsAcknowledged, .summonsDone, .visitLogged, .recategorized, .taskOpened, .taskChecked:
            return nil
        case .noticePublished, .noticeInformed, .noticeSMS, .noticeLagging, .consultationOpened, .consultationPosition, .consultationMeeting,
            .consultationClosed,
            .wishChanged, .pointsScored, .pointsRedeemed, .goodsDonated:
            return nil  // about no request: planned apart, from their ``CommunityFacts``
        }
        requestVersion = event.requestVersion
    }
}
