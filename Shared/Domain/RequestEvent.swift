import Foundation

/// One event off the events exchange, decoded once: the envelope's common fields and, in
/// ``kind``, what happened with its payload.
///
/// Consumers switch over ``kind`` exhaustively, so a new event type does not compile until
/// every consumer has said what it does with it (handle it, or ignore it by name).
public struct RequestEvent: Sendable, Equatable {
    /// What happened: one case per event type, with its payload (see ``MessageType``).
    public enum Kind: Sendable, Equatable {
        /// `request.received`: intake stored a new request.
        case received(RequestReceived)
        /// `request.assigned`: routing gave the request to a unit.
        case assigned(RequestAssigned)
        /// `request.claimed`: a staff member took it.
        case claimed(RequestClaimed)
        /// `request.escalated`: sent up to the next tier.
        case escalated(RequestMoved)
        /// `request.returned`: "not ours", to the street centre for arbitration.
        case returned(RequestMoved)
        /// `request.reassigned`: moved to another unit of the same tier.
        case reassigned(RequestMoved)
        /// `request.reopened`: negative feedback, back to a unit.
        case reopened(RequestMoved)
        /// `request.summoned`: a street officer summoned departments (吹哨报到).
        case summoned(RequestSummoned)
        /// `request.summons.acknowledged`: a summoned department acknowledged.
        case summonsAcknowledged(SummonsProgress)
        /// `request.summons.done`: a summoned department reported its part done.
        case summonsDone(SummonsProgress)
        /// `request.street.informed`: a direct category went straight to its department.
        case streetInformed(StreetInformed)
        /// `request.deadline.warning`: 80% of a deadline has passed.
        case deadlineWarning(RequestOverdue)
        /// `request.overdue`: a deadline passed; supervisors are alerted.
        case overdue(RequestOverdue)
        /// `request.resolved`: the unit reported the request done.
        case resolved(RequestResolved)
        /// `request.closed`: positive feedback, the loop is closed.
        case closed(RequestClosed)
        /// `request.rejected`: invalid, closed with a reason.
        case rejected(RequestEnded)
        /// `request.merged`: a duplicate, closed into another request.
        case merged(RequestEnded)
        /// `request.unlinked`: taken out of an incident, worked on its own again.
        case unlinked(RequestMoved)
        /// `request.recategorized`: its category corrected by the unit holding it.
        case recategorized(RequestRecategorized)
        /// `visit.logged`: a grid worker's household visit.
        case visitLogged(VisitLogged)
        /// `task.opened`: a proactive task (未诉先办) reached grids.
        case taskOpened(TaskOpened)
        /// `task.checked`: a household checked for a task.
        case taskChecked(TaskChecked)
        /// `notice.published`
        case noticePublished(NoticePublished)
        /// `notice.informed`
        case noticeInformed(NoticeInformed)
        /// `notice.sms`
        case noticeSMS(NoticeSMS)
        /// `notice.lagging`
        case noticeLagging(NoticeLagging)
        /// `consultation.opened`
        case consultationOpened(ConsultationOpened)
        /// `consultation.position`
        case consultationPosition(ConsultationPosition)
        /// `consultation.meeting`
        case consultationMeeting(ConsultationMeeting)
        /// `consultation.closed`
        case consultationClosed(ConsultationClosed)
        /// `wish.changed`
        case wishChanged(WishChanged)
        /// `points.scored`
        case pointsScored(PointsScored)
        /// `points.redeemed`
        case pointsRedeemed(PointsRedeemed)
        /// `goods.donated`
        case goodsDonated(GoodsDonated)

        /// The envelope's `type` of this kind (a ``MessageType`` constant).
        public var type: String {
            switch self {
            case .received: MessageType.requestReceived
            case .assigned: MessageType.requestAssigned
            case .claimed: MessageType.requestClaimed
            case .escalated: MessageType.requestEscalated
            case .returned: MessageType.requestReturned
            case .reassigned: MessageType.requestReassigned
            case .reopened: MessageType.requestReopened
            case .summoned: MessageType.requestSummoned
            case .summonsAcknowledged: MessageType.summonsAcknowledged
            case .summonsDone: MessageType.summonsDone
            case .streetInformed: MessageType.streetInformed
            case .deadlineWarning: MessageType.deadlineWarning
            case .overdue: MessageType.requestOverdue
            case .resolved: MessageType.requestResolved
            case .closed: MessageType.requestClosed
            case .rejected: MessageType.requestRejected
            case .merged: MessageType.requestMerged
            case .unlinked: MessageType.requestUnlinked
            case .recategorized: MessageType.requestRecategorized
            case .visitLogged: MessageType.visitLogged
            case .taskOpened: MessageType.taskOpened
            case .taskChecked: MessageType.taskChecked
            case .noticePublished: MessageType.noticePublished
            case .noticeInformed: MessageType.noticeInformed
            case .noticeSMS: MessageType.noticeSMS
            case .noticeLagging: MessageType.noticeLagging
            case .consultationOpened: MessageType.consultationOpened
            case .consultationPosition: MessageType.consultationPosition
            case .consultationMeeting: MessageType.consultationMeeting
            case .consultationClosed: MessageType.consultationClosed
            case .wishChanged: MessageType.wishChanged
            case .pointsScored: MessageType.pointsScored
            case .pointsRedeemed: MessageType.pointsRedeemed
            case .goodsDonated: MessageType.goodsDonated
            }
        }
    }

    /// Every type a ``RequestEvent`` is decoded from: the event types on the events exchange.
    public static let types: [String] = [
        MessageType.requestReceived, MessageType.requestAssigned, MessageType.requestClaimed, MessageType.requestEscalated,
        MessageType.requestReturned, MessageType.requestReassigned, MessageType.requestReopened, MessageType.requestSummoned,
        MessageType.summonsAcknowledged, MessageType.summonsDone, MessageType.streetInformed, MessageType.deadlineWarning,
        MessageType.requestOverdue, MessageType.requestResolved, MessageType.requestClosed, MessageType.requestRejected,
        MessageType.requestMerged, MessageType.requestUnlinked, MessageType.requestRecategorized,
        MessageType.visitLogged, MessageType.taskOpened, MessageType.taskChecked,
        MessageType.noticePublished, MessageType.noticeInformed, MessageType.noticeSMS, MessageType.noticeLagging,
        MessageType.consultationOpened, MessageType.consultationPosition, MessageType.consultationMeeting, MessageType.consultationClosed,
        MessageType.wishChanged,
        MessageType.pointsScored, MessageType.pointsRedeemed, MessageType.goodsDonated,
    ]

    /// The envelope's message id (consumers are idempotent on it).
    public var messageId: String
    /// The payload's schema version.
    public var schemaVersion: Int
    /// When it happened.
    public var occurredAt: Date
    /// The request it is about (absent on `visit.logged`).
    public var requestId: String?
    /// Ties together everything caused by one submission or command.
    public var correlationId: String
    /// The request's workflow version after this event.
    public var requestVersion: Int?
    /// What happened, with its payload.
    public var kind: Kind

    /// The envelope's `type`.
    public var type: String { kind.type }

    /// The envelope's fields around `kind`.
    public init<Payload>(_ envelope: MessageEnvelope<Payload>, kind: Kind) {
        self.messageId = envelope.messageId
        self.schemaVersion = envelope.schemaVersion
        self.occurredAt = envelope.occurredAt
        self.requestId = envelope.requestId
        self.correlationId = envelope.correlationId
        self.requestVersion = envelope.requestVersion
        self.kind = kind
    }

    /// Decodes a message `body` (a whole envelope) of type `type` (the envelope's, as read from
    /// its ``EnvelopeHeader``, or as stored with it).
    ///
    /// - Throws: ``RequestEventDecodingError/unknownType(_:)`` for a type that is not an event
    ///   (not in ``types``); ``RequestEventDecodingError/malformedPayload(type:schemaVersion:detail:)``
    ///   when the body is not an envelope of that type's payload. Either's `description` is the
    ///   dead-letter reason.
    public init(type: String, body: [UInt8]) throws(RequestEventDecodingError) {
        func decode<Payload: Codable & Sendable>(
            _ payload: Payload.Type,
            _ kind: (Payload) -> Kind
        ) throws(RequestEventDecodingError) -> RequestEvent {
            do {
                let envelope = try WireJSON.decode(MessageEnvelope<Payload>.self, from: body)
                return RequestEvent(envelope, kind: kind(envelope.payload))
            } catch {
                let version = try? WireJSON.decode(EnvelopeHeader.self, from: body).schemaVersion
                throw .malformedPayload(type: type, schemaVersion: version, detail: "\(error)")
            }
        }
        switch type {
        case MessageType.requestReceived: self = try decode(RequestReceived.self, Kind.received)
        case MessageType.requestAssigned: self = try decode(RequestAssigned.self, Kind.assigned)
        case MessageType.requestClaimed: self = try decode(RequestClaimed.self, Kind.claimed)
        case MessageType.requestEscalated: self = try decode(RequestMoved.self, Kind.escalated)
        case MessageType.requestReturned: self = try decode(RequestMoved.self, Kind.returned)
        case MessageType.requestReassigned: self = try decode(RequestMoved.self, Kind.reassigned)
        case MessageType.requestReopened: self = try decode(RequestMoved.self, Kind.reopened)
        case MessageType.requestSummoned: self = try decode(RequestSummoned.self, Kind.summoned)
        case MessageType.summonsAcknowledged: self = try decode(SummonsProgress.self, Kind.summonsAcknowledged)
        case MessageType.summonsDone: self = try decode(SummonsProgress.self, Kind.summonsDone)
        case MessageType.streetInformed: self = try decode(StreetInformed.self, Kind.streetInformed)
        case MessageType.deadlineWarning: self = try decode(RequestOverdue.self, Kind.deadlineWarning)
        case MessageType.requestOverdue: self = try decode(RequestOverdue.self, Kind.overdue)
        case MessageType.requestResolved: self = try decode(RequestResolved.self, Kind.resolved)
        case MessageType.requestClosed: self = try decode(RequestClosed.self, Kind.closed)
        case MessageType.requestRejected: self = try decode(RequestEnded.self, Kind.rejected)
        case MessageType.requestMerged: self = try decode(RequestEnded.self, Kind.merged)
        case MessageType.requestUnlinked: self = try decode(RequestMoved.self, Kind.unlinked)
        case MessageType.requestRecategorized: self = try decode(RequestRecategorized.self, Kind.recategorized)
        case MessageType.visitLogged: self = try decode(VisitLogged.self, Kind.visitLogged)
        case MessageType.taskOpened: self = try decode(TaskOpened.self, Kind.taskOpened)
        case MessageType.taskChecked: self = try decode(TaskChecked.self, Kind.taskChecked)
        case MessageType.noticePublished: self = try decode(NoticePublished.self, Kind.noticePublished)
        case MessageType.noticeInformed: self = try decode(NoticeInformed.self, Kind.noticeInformed)
        case MessageType.noticeSMS: self = try decode(NoticeSMS.self, Kind.noticeSMS)
        case MessageType.noticeLagging: self = try decode(NoticeLagging.self, Kind.noticeLagging)
        case MessageType.consultationOpened: self = try decode(ConsultationOpened.self, Kind.consultationOpened)
        case MessageType.consultationPosition: self = try decode(ConsultationPosition.self, Kind.consultationPosition)
        case MessageType.consultationMeeting: self = try decode(ConsultationMeeting.self, Kind.consultationMeeting)
        case MessageType.consultationClosed: self = try decode(ConsultationClosed.self, Kind.consultationClosed)
        case MessageType.wishChanged: self = try decode(WishChanged.self, Kind.wishChanged)
        case MessageType.pointsScored: self = try decode(PointsScored.self, Kind.pointsScored)
        case MessageType.pointsRedeemed: self = try decode(PointsRedeemed.self, Kind.pointsRedeemed)
        case MessageType.goodsDonated: self = try decode(GoodsDonated.self, Kind.goodsDonated)
        default: throw .unknownType(type)  // the open set of strings; consumers switch over `Kind`
        }
    }
}

/// Why a message is not a ``RequestEvent``; `description` is the reason a consumer dead-letters
/// it with (or, for ``unknownType(_:)``, logs when it ignores it).
public enum RequestEventDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The type is not an event type (``RequestEvent/types``).
    case unknownType(String)
    /// The body is not an envelope of the type's payload; `schemaVersion` is the envelope's,
    /// when its header could be read; `detail` the decoder's error.
    case malformedPayload(type: String, schemaVersion: Int?, detail: String)

    /// The dead-letter reason.
    public var description: String {
        switch self {
        case .unknownType(let type):
            "unexpected message type \(type): not a request event"
        case .malformedPayload(let type, .some(let version), let detail):
            "payload of \(type) does not match schema v\(version): \(detail)"
        case .malformedPayload(let type, .none, let detail):
            "payload of \(type) does not match its schema: \(detail)"
        }
    }
}
