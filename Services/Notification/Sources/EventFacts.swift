import Foundation
import GridLoopDomain
import GridLoopServiceSupport

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

    /// Decodes the payload of `body` according to `type`; `nil` for types notification ignores.
    package static func decode(type: String, body: [UInt8]) throws(PoisonMessage) -> EventFacts? {
        func envelope<P>(_ payload: P.Type) throws(PoisonMessage) -> MessageEnvelope<P> {
            do { return try WireJSON.decode(MessageEnvelope<P>.self, from: body) } catch {
                throw PoisonMessage("payload of \(type) does not match its schema: \(error)")
            }
        }
        switch type {
        case MessageType.requestReceived:
            let event = try envelope(RequestReceived.self)
            var facts = EventFacts(type: type, eventId: event.messageId, requestId: event.payload.requestId)
            facts.submission = event.payload.submission
            facts.category = event.payload.submission.category
            facts.description = event.payload.submission.description
            return facts
        case MessageType.requestAssigned:
            let event = try envelope(RequestAssigned.self)
            var facts = EventFacts(type: type, eventId: event.messageId, requestId: event.payload.requestId)
            facts.units = [event.payload.unit]
            facts.category = event.payload.category
            facts.description = event.payload.description
            facts.reason = event.payload.reason
            facts.claimDueAt = event.payload.claimDueAt
            return facts
        case MessageType.requestClaimed:
            let event = try envelope(RequestClaimed.self)
            var facts = EventFacts(type: type, eventId: event.messageId, requestId: event.payload.requestId)
            facts.units = [event.payload.unit]
            facts.staff = event.payload.staff
            return facts
        case MessageType.requestEscalated, MessageType.requestReturned, MessageType.requestReassigned, MessageType.requestReopened:
            let event = try envelope(RequestMoved.self)
            var facts = EventFacts(type: type, eventId: event.messageId, requestId: event.payload.requestId)
            facts.units = [event.payload.to]
            facts.staff = event.payload.staff
            facts.reason = event.payload.reason
            return facts
        case MessageType.requestSummoned:
            let event = try envelope(RequestSummoned.self)
            var facts = EventFacts(type: type, eventId: event.messageId, requestId: event.payload.requestId)
            facts.units = event.payload.summoned.keys.sorted().compactMap { try? UnitRef(parsing: $0) }
            facts.by = event.payload.by
            facts.staff = event.payload.staff
            facts.note = event.payload.note
            return facts
        case MessageType.streetInformed:
            let event = try envelope(StreetInformed.self)
            var facts = EventFacts(type: type, eventId: event.messageId, requestId: event.payload.requestId)
            facts.units = [event.payload.street]
            facts.department = event.payload.department
            facts.category = event.payload.category
            return facts
        case MessageType.deadlineWarning, MessageType.requestOverdue:
            let event = try envelope(RequestOverdue.self)
            var facts = EventFacts(type: type, eventId: event.messageId, requestId: event.payload.requestId)
            facts.units = [event.payload.unit]
            facts.deadline = event.payload.deadline
            facts.dueAt = event.payload.dueAt
            return facts
        case MessageType.requestResolved:
            let event = try envelope(RequestResolved.self)
            var facts = EventFacts(type: type, eventId: event.messageId, requestId: event.payload.requestId)
            facts.units = [event.payload.unit]
            facts.staff = event.payload.staff
            facts.note = event.payload.note
            return facts
        case MessageType.requestClosed:
            let event = try envelope(RequestClosed.self)
            var facts = EventFacts(type: type, eventId: event.messageId, requestId: event.payload.requestId)
            facts.staff = event.payload.staff
            facts.note = event.payload.note
            facts.satisfaction = event.payload.satisfaction
            return facts
        case MessageType.requestRejected, MessageType.requestMerged:
            let event = try envelope(RequestEnded.self)
            var facts = EventFacts(type: type, eventId: event.messageId, requestId: event.payload.requestId)
            facts.staff = event.payload.staff
            facts.reason = event.payload.reason
            facts.into = event.payload.into
            return facts
        default:
            return nil
        }
    }
}
