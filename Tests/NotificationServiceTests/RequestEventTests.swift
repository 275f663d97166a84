import Foundation
import GridLoopDomain
import NotificationService
import Testing

@Suite("Request events: one decoder for the events exchange")
struct RequestEventTests {
    /// Whole milliseconds, so that dates survive the wire exactly.
    static let at = Date(timeIntervalSince1970: 1_795_968_000.125)

    /// One message of some type: its type, its bytes on the wire, and what it must decode to.
    struct Sample: Sendable {
        var type: String
        var body: [UInt8]
        var envelope: EnvelopeFields
        var kind: RequestEvent.Kind
    }

    /// The envelope fields a sample was sent with.
    struct EnvelopeFields: Sendable, Equatable {
        var messageId: String
        var schemaVersion: Int
        var occurredAt: Date
        var requestId: String?
        var correlationId: String
        var requestVersion: Int?
    }

    static func sample<Payload: Codable & Sendable>(
        _ type: String,
        _ payload: Payload,
        _ kind: RequestEvent.Kind,
        requestId: String? = "r1"
    ) throws -> Sample {
        let envelope = MessageEnvelope(
            messageId: "m-\(type)",
            type: type,
            occurredAt: at,
            requestId: requestId,
            correlationId: "c1",
            requestVersion: 3,
            payload: payload
        )
        let fields = EnvelopeFields(
            messageId: envelope.messageId,
            schemaVersion: envelope.schemaVersion,
            occurredAt: envelope.occurredAt,
            requestId: envelope.requestId,
            correlationId: envelope.correlationId,
            requestVersion: envelope.requestVersion
        )
        return Sample(type: type, body: try WireJSON.encode(envelope), envelope: fields, kind: kind)
    }

    /// One message of every event type.
    static func samples() throws -> [Sample] {
        let grid = try UnitRef(parsing: "grid:guanghua-3")
        let street = try UnitRef(parsing: "street:zhanyi")
        let power = try UnitRef(parsing: "district:power")
        let submission = Submission(
            category: "power",
            description: "停电",
            location: Location(gridId: "guanghua-3", householdId: "guanghua-3-07"),
            reporter: Reporter(name: "张三", phone: "138****1234", language: "zh"),
            channel: .gridWorker,
            submittedBy: "w1"
        )
        let received = RequestReceived(requestId: "r1", submission: submission)
        var assigned = RequestAssigned(
            requestId: "r1",
            assignmentId: "a1",
            unit: grid,
            category: "power",
            description: "停电",
            reason: "grid of household guanghua-3-07",
            claimDueAt: at
        )
        assigned.possibleDuplicateOf = "r0"
        let claimed = RequestClaimed(requestId: "r1", assignmentId: "a1", unit: grid, staff: "w1", resolveDueAt: at)
        let escalated = RequestMoved(requestId: "r1", assignmentId: "a2", from: grid, to: street, staff: "w1", reason: "beyond the grid")
        let returned = RequestMoved(requestId: "r1", assignmentId: "a3", from: power, to: street, staff: "p1", reason: "not ours")
        let other = try UnitRef(parsing: "street:other")
        let reassigned = RequestMoved(requestId: "r1", assignmentId: "a4", from: street, to: other, staff: "s1", reason: "wrong street")
        let reopened = RequestMoved(requestId: "r1", assignmentId: "a5", from: grid, to: grid, staff: "w1", reason: "still dark")
        let summoned = RequestSummoned(
            requestId: "r1",
            by: street,
            staff: "s1",
            summoned: ["district:power": "a6", "district:housing": "a7"],
            note: "吹哨"
        )
        let acknowledged = SummonsProgress(requestId: "r1", assignmentId: "a6", unit: power, staff: "p1", note: nil, outstanding: ["power"])
        let done = SummonsProgress(requestId: "r1", assignmentId: "a6", unit: power, staff: "p1", note: "fixed", outstanding: [])
        let informed = StreetInformed(requestId: "r1", street: street, department: power, category: "power")
        let warning = RequestOverdue(requestId: "r1", assignmentId: "a1", unit: grid, deadline: "claim", dueAt: at, state: .assigned)
        let overdue = RequestOverdue(requestId: "r1", assignmentId: "a1", unit: power, deadline: "resolve", dueAt: at, state: .claimed)
        let resolved = RequestResolved(requestId: "r1", assignmentId: "a1", unit: grid, staff: "w1", note: "done")
        let closed = RequestClosed(requestId: "r1", satisfaction: .basicallySatisfied, staff: "w1", note: "checked on site", solved: false)
        let rejected = RequestEnded(requestId: "r1", staff: "s1", reason: "not a request")
        let merged = RequestEnded(requestId: "r1", staff: "s1", reason: "same transformer", into: "r0")
        let unlinked = RequestMoved(requestId: "r1", assignmentId: "a9", from: street, to: grid, staff: "s1", reason: "a different fault")
        let opened = TaskOpened(
            taskId: "t1",
            title: "雨季前入户检查电线",
            category: "power",
            grids: ["guanghua-3"],
            dueOn: "2026-12-31",
            openedBy: "xu-chunfeng",
            unit: street
        )
        let checked = TaskChecked(taskId: "t1", householdId: "guanghua-3-01", grid: "guanghua-3", staff: "w1", outcome: .hazard, requestId: "r9")
        let recategorized = RequestRecategorized(
            requestId: "r1",
            from: "housing",
            to: "power",
            staff: "w1",
            unit: grid,
            state: .claimed,
            reason: "it is the wiring",
            suggested: "power",
            confidence: 0.93
        )
        let visit = VisitLogged(visitId: "v1", staff: "w1", householdId: "guanghua-3-07", visitedAt: at, note: "all well")
        let xiping = try UnitRef(tier: .street, id: "xiping")
        let published = NoticePublished(
            noticeId: "n1",
            title: "疫情防控告知书",
            titleEn: "Epidemic notice",
            grids: ["xiping-merchants-1"],
            households: ["xiping-merchants-1": 6],
            dueOn: "2026-12-10",
            publishedBy: "wang-xu",
            unit: xiping
        )
        let noticeInformed = NoticeInformed(
            noticeId: "n1",
            householdId: "xiping-merchants-1-01",
            grid: "xiping-merchants-1",
            street: "xiping",
            staff: "li-shangxin",
            via: .sms,
            onTime: true
        )
        let sms = NoticeSMS(
            noticeId: "n1",
            householdId: "xiping-merchants-1-02",
            grid: "xiping-merchants-1",
            title: "疫情防控告知书",
            phoneSealed: "sealed",
            token: "t1",
            staff: "li-shangxin"
        )
        let lagging = NoticeLagging(
            noticeId: "n1",
            title: "疫情防控告知书",
            grid: "xiping-merchants-1",
            street: "xiping",
            informed: 4,
            households: 6,
            dueOn: "2026-12-10",
            stage: .overdue
        )
        let consultation = ConsultationOpened(
            consultationId: "c1",
            question: "韩家圩20亩集体土地出租建农贸市场？",
            options: ["yes", "no"],
            endsOn: "2026-12-20",
            rule: "2/3",
            grids: ["hanjiaxu-1"],
            households: ["hanjiaxu-1": 5],
            openedBy: "tao-tao",
            unit: xiping
        )
        let position = ConsultationPosition(
            consultationId: "c1",
            householdId: "hanjiaxu-1-01",
            grid: "hanjiaxu-1",
            street: "longhua",
            option: "yes",
            previous: "no",
            concerns: true,
            staff: "wu-xiaoli"
        )
        let meeting = ConsultationMeeting(consultationId: "c1", outcome: "居民代表会议表决通过", heldOn: "2026-12-21", recordedBy: "tao-tao")
        let consulted = ConsultationClosed(
            consultationId: "c1",
            result: "yes",
            tally: ["yes": 4, "no": 1],
            households: 5,
            meetingOutcome: "通过",
            closedBy: "tao-tao"
        )
        let wish = WishChanged(
            wishId: "w1",
            householdId: "hanjiaxu-1-02",
            grid: "hanjiaxu-1",
            street: "longhua",
            kind: "meal",
            state: .adopted,
            staff: "tao-tao",
            adopterKind: .enterprise,
            adopterName: "韩家圩农贸市场"
        )
        let scored = PointsScored(
            month: "2026-11",
            householdId: "guanghua-3-01",
            grid: "guanghua-3",
            street: "xiping",
            items: [8, 9, 7, 10, 6],
            points: 40,
            workerPoints: ["cui-chunhua": 4],
            enteredBy: "xu-chunfeng",
            replaced: 38
        )
        let redeemed = PointsRedeemed(
            redemptionId: "p1",
            householdId: "guanghua-3-01",
            grid: "guanghua-3",
            street: "xiping",
            goodsId: "g1",
            goodsName: "大米 5kg",
            quantity: 1,
            points: 30,
            staff: "xu-chunfeng"
        )
        let donated = GoodsDonated(
            donationId: "d1",
            street: "xiping",
            goodsId: "g1",
            goodsName: "大米 5kg",
            quantity: 10,
            donor: "西平粮油店",
            staff: "xu-chunfeng"
        )
        return [
            try sample(MessageType.requestReceived, received, .received(received)),
            try sample(MessageType.requestAssigned, assigned, .assigned(assigned)),
            try sample(MessageType.requestClaimed, claimed, .claimed(claimed)),
            try sample(MessageType.requestEscalated, escalated, .escalated(escalated)),
            try sample(MessageType.requestReturned, returned, .returned(returned)),
            try sample(MessageType.requestReassigned, reassigned, .reassigned(reassigned)),
            try sample(MessageType.requestReopened, reopened, .reopened(reopened)),
            try sample(MessageType.requestSummoned, summoned, .summoned(summoned)),
            try sample(MessageType.summonsAcknowledged, acknowledged, .summonsAcknowledged(acknowledged)),
            try sample(MessageType.summonsDone, done, .summonsDone(done)),
            try sample(MessageType.streetInformed, informed, .streetInformed(informed)),
            try sample(MessageType.deadlineWarning, warning, .deadlineWarning(warning)),
            try sample(MessageType.requestOverdue, overdue, .overdue(overdue)),
            try sample(MessageType.requestResolved, resolved, .resolved(resolved)),
            try sample(MessageType.requestClosed, closed, .closed(closed)),
            try sample(MessageType.requestRejected, rejected, .rejected(rejected)),
            try sample(MessageType.requestMerged, merged, .merged(merged)),
            try sample(MessageType.requestUnlinked, unlinked, .unlinked(unlinked)),
            try sample(MessageType.requestRecategorized, recategorized, .recategorized(recategorized)),
            try sample(MessageType.visitLogged, visit, .visitLogged(visit), requestId: nil),
            try sample(MessageType.taskOpened, opened, .taskOpened(opened), requestId: nil),
            try sample(MessageType.taskChecked, checked, .taskChecked(checked), requestId: nil),
            try sample(MessageType.noticePublished, published, .noticePublished(published), requestId: nil),
            try sample(MessageType.noticeInformed, noticeInformed, .noticeInformed(noticeInformed), requestId: nil),
            try sample(MessageType.noticeSMS, sms, .noticeSMS(sms), requestId: nil),
            try sample(MessageType.noticeLagging, lagging, .noticeLagging(lagging), requestId: nil),
            try sample(MessageType.consultationOpened, consultation, .consultationOpened(consultation), requestId: nil),
            try sample(MessageType.consultationPosition, position, .consultationPosition(position), requestId: nil),
            try sample(MessageType.consultationMeeting, meeting, .consultationMeeting(meeting), requestId: nil),
            try sample(MessageType.consultationClosed, consulted, .consultationClosed(consulted), requestId: nil),
            try sample(MessageType.wishChanged, wish, .wishChanged(wish), requestId: nil),
            try sample(MessageType.pointsScored, scored, .pointsScored(scored), requestId: nil),
            try sample(MessageType.pointsRedeemed, redeemed, .pointsRedeemed(redeemed), requestId: nil),
            try sample(MessageType.goodsDonated, donated, .goodsDonated(donated), requestId: nil),
        ]
    }

    /// The error `RequestEvent(type:body:)` throws, or `nil` if it decodes.
    static func failure(type: String, body: [UInt8]) -> RequestEventDecodingError? {
        do {
            _ = try RequestEvent(type: type, body: body)
            return nil
        } catch {
            return error
        }
    }

    @Test func theSamplesCoverEveryEventType() throws {
        let samples = try Self.samples()
        #expect(samples.map(\.type) == RequestEvent.types, "one sample per type, in the same order")
        #expect(Set(RequestEvent.types).count == RequestEvent.types.count, "no type listed twice")
        for sample in samples { #expect(sample.kind.type == sample.type, "\(sample.type)") }
    }

    @Test func everyTypeRoundTripsWithItsPayloadAndEnvelope() throws {
        for sample in try Self.samples() {
            let event = try RequestEvent(type: sample.type, body: sample.body)
            #expect(event.kind == sample.kind, "\(sample.type)")
            #expect(event.type == sample.type)
            let fields = EnvelopeFields(
                messageId: event.messageId,
                schemaVersion: event.schemaVersion,
                occurredAt: event.occurredAt,
                requestId: event.requestId,
                correlationId: event.correlationId,
                requestVersion: event.requestVersion
            )
            #expect(fields == sample.envelope, "\(sample.type)")
        }
    }

    @Test func anUnknownTypeIsNamedInItsReason() throws {
        let body = try #require(try Self.samples().first).body
        let unknown = Self.failure(type: "request.teleported", body: body)
        #expect(unknown == .unknownType("request.teleported"))
        #expect(unknown?.description.contains("request.teleported") == true, "\(unknown?.description ?? "decoded")")
        // Commands and replies are not events, even with a body that would decode.
        #expect(Self.failure(type: MessageType.submissionCreate, body: body) == .unknownType(MessageType.submissionCreate))
        #expect(Self.failure(type: MessageType.staffCommand, body: body) == .unknownType(MessageType.staffCommand))
        #expect(Self.failure(type: "", body: body) == .unknownType(""))
    }

    @Test func aPayloadOfAnotherTypeIsMalformedAndTheReasonSaysWhy() throws {
        // A closing's payload sent as an assignment: no assignment id.
        let closed = try #require(try Self.samples().first { $0.type == MessageType.requestClosed })
        let failure = try #require(Self.failure(type: MessageType.requestAssigned, body: closed.body))
        guard case .malformedPayload(let type, let version, let detail) = failure else {
            Issue.record("expected a malformed payload, got \(failure)")
            return
        }
        #expect(type == MessageType.requestAssigned)
        #expect(version == 1)
        #expect(detail.contains("assignmentId"), "\(detail)")
        #expect(failure.description.hasPrefix("payload of request.assigned does not match schema v1: "), "\(failure.description)")
        #expect(failure.description.contains("assignmentId"))
    }

    @Test func aBadValueInAPayloadIsMalformed() throws {
        let closed = try #require(try Self.samples().first { $0.type == MessageType.requestClosed })
        var json = String(decoding: closed.body, as: UTF8.self)
        json = json.replacingOccurrences(of: "\"basically-satisfied\"", with: "\"delighted\"")
        let failure = Self.failure(type: MessageType.requestClosed, body: Array(json.utf8))
        guard case .malformedPayload(MessageType.requestClosed, 1, _)? = failure else {
            Issue.record("expected a malformed payload, got \(String(describing: failure))")
            return
        }
        #expect(failure?.description.hasPrefix("payload of request.closed does not match schema v1: ") == true)
    }

    @Test func aBodyThatIsNoEnvelopeIsMalformedWithoutASchemaVersion() throws {
        let failure = Self.failure(type: MessageType.requestResolved, body: Array("{ not json".utf8))
        guard case .malformedPayload(MessageType.requestResolved, nil, _)? = failure else {
            Issue.record("expected a malformed payload, got \(String(describing: failure))")
            return
        }
        #expect(failure?.description.hasPrefix("payload of request.resolved does not match its schema: ") == true)
        // A known type with no payload at all.
        let empty = #"{"messageId":"m1","type":"request.resolved","schemaVersion":2,"occurredAt":"2026-11-30T00:00:00.000Z","correlationId":"c1"}"#
        let missing = Self.failure(type: MessageType.requestResolved, body: Array(empty.utf8))
        guard case .malformedPayload(MessageType.requestResolved, 2, let detail)? = missing else {
            Issue.record("expected a malformed payload, got \(String(describing: missing))")
            return
        }
        #expect(detail.contains("payload"), "\(detail)")
    }

    /// The community events (#20): notification plans them apart from a request's facts.
    static let community: Set<String> = [
        MessageType.noticePublished, MessageType.noticeInformed, MessageType.noticeSMS, MessageType.noticeLagging,
        MessageType.consultationOpened, MessageType.consultationPosition, MessageType.consultationMeeting, MessageType.consultationClosed,
        MessageType.wishChanged,
        MessageType.pointsScored, MessageType.pointsRedeemed, MessageType.goodsDonated,
    ]

    @Test func notificationTakesTheFactsOfTheKindsItFollowsOnly() throws {
        let ignored = Set([
            MessageType.summonsAcknowledged, MessageType.summonsDone, MessageType.visitLogged, MessageType.requestRecategorized,
            MessageType.taskOpened, MessageType.taskChecked,
        ]).union(Self.community)
        for sample in try Self.samples() {
            let facts = EventFacts(try RequestEvent(type: sample.type, body: sample.body))
            if ignored.contains(sample.type) {
                #expect(facts == nil, "\(sample.type) is not notification's")
            } else {
                let facts = try #require(facts, "\(sample.type)")
                #expect(facts.type == sample.type)
                #expect(facts.eventId == sample.envelope.messageId)
                #expect(facts.requestId == "r1")
                #expect(facts.requestVersion == 3)
            }
        }
    }
}
