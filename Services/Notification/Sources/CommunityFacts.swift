import Foundation
import GridLoopDomain

/// What notification needs from a community event (#20: policy notices, consultations,
/// micro-wishes). These are about no request: they are planned apart from ``EventFacts``,
/// against the community rules (`Templates/community-rules.yaml`), and their deliveries are
/// filed under no request.
package struct CommunityFacts: Sendable, Equatable {
    package var type: String
    /// The key of the rules that apply: the event type, or `<type>.<stage>` where who is told
    /// depends on the stage (`notice.lagging.reminder`, `notice.lagging.overdue`,
    /// `wish.changed.adopted`, …).
    package var ruleKey: String
    package var eventId: String
    /// The notice, consultation or wish.
    package var subjectId: String
    /// The grids concerned: their staff are the `grid-staff` audience.
    package var grids: [String] = []
    /// The street concerned: its officers are the `street-officers` audience.
    package var street: String?
    /// The staff member who took the step (not told of her own step).
    package var actor: String?
    /// The unit that published the notice or opened the consultation.
    package var unit: UnitRef?
    package var title: String?
    package var titleEn: String?
    /// `yyyy-MM-dd`, a notice's last day.
    package var dueOn: String?
    /// Households per grid.
    package var households: [String: Int] = [:]
    /// All the households (a closed consultation's).
    package var totalHouseholds: Int?
    /// Households informed so far (a lagging grid).
    package var informed: Int?
    package var question: String?
    /// A consultation's option ids.
    package var options: [String] = []
    /// `yyyy-MM-dd`, a consultation's last day.
    package var endsOn: String?
    /// A consultation's rule, e.g. `2/3`.
    package var votingRule: String?
    /// The option that reached the rule (a closed consultation), if any.
    package var result: String?
    /// Households per option.
    package var tally: [String: Int] = [:]
    package var meetingOutcome: String?
    package var householdId: String?
    /// A wish's kind (`meal`, `care`, `study`, `repair`, `other`).
    package var wishKind: String?
    package var adopterName: String?
    /// A notice SMS: the resident's number, sealed (opened only to send, never logged).
    package var phoneSealed: String?
    /// A notice SMS: the confirm link's token.
    package var token: String?
    /// A notice SMS: the resident's language (`zh` default, `en`).
    package var language: String?

    package init(type: String, ruleKey: String? = nil, eventId: String, subjectId: String) {
        self.type = type
        self.ruleKey = ruleKey ?? type
        self.eventId = eventId
        self.subjectId = subjectId
    }

    /// The facts of a community event; `nil` for every other event and for the community
    /// events no one is told of.
    package init?(_ event: RequestEvent) {
        switch event.kind {
        case .noticePublished(let notice):
            self.init(type: event.type, eventId: event.messageId, subjectId: notice.noticeId)
            grids = notice.grids
            households = notice.households
            title = notice.title
            titleEn = notice.titleEn
            dueOn = notice.dueOn
            actor = notice.publishedBy
            unit = notice.unit
        case .noticeSMS(let sms):
            self.init(type: event.type, eventId: event.messageId, subjectId: sms.noticeId)
            grids = [sms.grid]
            householdId = sms.householdId
            title = sms.title
            titleEn = sms.titleEn
            phoneSealed = sms.phoneSealed
            token = sms.token
            language = sms.language
            actor = sms.staff
        case .noticeLagging(let lagging):
            self.init(type: event.type, ruleKey: "\(event.type).\(lagging.stage.rawValue)", eventId: event.messageId, subjectId: lagging.noticeId)
            grids = [lagging.grid]
            street = lagging.street
            households = [lagging.grid: lagging.households]
            informed = lagging.informed
            title = lagging.title
            dueOn = lagging.dueOn
        case .consultationOpened(let consultation):
            self.init(type: event.type, eventId: event.messageId, subjectId: consultation.consultationId)
            grids = consultation.grids
            households = consultation.households
            question = consultation.question
            options = consultation.options
            endsOn = consultation.endsOn
            votingRule = consultation.rule
            actor = consultation.openedBy
            unit = consultation.unit
        case .consultationClosed(let closed):
            // The grids and the question come from the consultation's opening (notification
            // remembers them): its grid staff carry the result back to the households.
            self.init(type: event.type, eventId: event.messageId, subjectId: closed.consultationId)
            result = closed.result
            tally = closed.tally
            totalHouseholds = closed.households
            meetingOutcome = closed.meetingOutcome
            actor = closed.closedBy
        case .wishChanged(let wish):
            // Who is told depends on the state: the rules say adopted and fulfilled go to the
            // grid's staff (the grid worker carries it back to the resident); collected and
            // confirmed to no one (the grid worker was with the resident).
            self.init(type: event.type, ruleKey: "\(event.type).\(wish.state.rawValue)", eventId: event.messageId, subjectId: wish.wishId)
            grids = [wish.grid]
            street = wish.street
            householdId = wish.householdId
            wishKind = wish.kind
            adopterName = wish.adopterName
            actor = wish.staff
        case .noticeInformed, .consultationPosition:
            return nil  // no one is told: the grid staff recorded it themselves; reporting counts it
        case .consultationMeeting:
            return nil  // the grid staff are told the result with the meeting's outcome when it closes
        case .pointsScored, .pointsRedeemed, .goodsDonated:
            return nil  // no one is told: green points and the love supermarket are figures (reporting)
        case .received, .assigned, .claimed, .escalated, .returned, .reassigned, .reopened, .summoned, .summonsAcknowledged, .summonsDone,
            .streetInformed, .deadlineWarning, .overdue, .resolved, .closed, .rejected, .merged, .unlinked, .recategorized, .visitLogged,
            .taskOpened, .taskChecked:
            return nil  // a request's (``EventFacts``) or not notification's
        }
    }

    /// The resident a notice SMS goes to: the number opened from the event with `protector`.
    /// `nil` when there is none, or it does not open (a key dropped too early), or it is masked.
    /// The number lives only in the returned recipient: the delivery row seals it again.
    package func resident(opening protector: DataProtector) -> Recipient? {
        guard let sealed = phoneSealed, let householdId, let phone = try? protector.open(sealed) else { return nil }
        let number = phone.trimmingCharacters(in: .whitespaces)
        guard !number.isEmpty, !Masking.isMaskedPhone(number) else { return nil }
        let language = language.flatMap { NotificationTemplates.languages.contains($0) ? $0 : nil } ?? NotificationTemplates.defaultLanguage
        return Recipient(key: "resident:\(householdId)", name: householdId, language: language, phone: number)
    }

    /// A wish kind's name in `language`.
    static func wishKindName(_ kind: String, language: String) -> String {
        switch (kind, language == "en") {
        case ("meal", false): "助餐"
        case ("meal", true): "meals"
        case ("care", false): "关爱照护"
        case ("care", true): "care"
        case ("study", false): "助学"
        case ("study", true): "study"
        case ("repair", false): "维修"
        case ("repair", true): "repairs"
        case ("other", false): "其他"
        case ("other", true): "other"
        default: kind
        }
    }
}

/// A `consultation.closed` whose `consultation.opened` notification has not handled yet (retried).
struct ConsultationNotYetKnown: Error, CustomStringConvertible {
    var consultationId: String
    var description: String { "consultation \(consultationId) not known yet (its consultation.opened is still on the way)" }
}
