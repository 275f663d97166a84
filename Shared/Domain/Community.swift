import Foundation

// The downward and community half of a grid worker's job (#20): policy notices carried to every
// household (上情下达), residents' consultations (议事), micro-wishes (微心愿) and green points
// with the love supermarket (绿币爱心超市). Routing owns their tables (it owns the org's grids,
// households and staff); these are the payloads of the events it publishes on the events exchange
// (see ``MessageType``), read by notification (who is told) and reporting (the figures).

// MARK: - Policy notices (上情下达)

/// How a household was informed of a notice.
public enum InformVia: String, Codable, Sendable, CaseIterable {
    /// In person, on a household visit.
    case visit
    /// By phone.
    case phone
    /// By an SMS GridLoop sent with a confirm link, which the resident tapped.
    case sms
}

/// Payload of `notice.published`: a street or the district published a notice to grids.
public struct NoticePublished: Codable, Sendable, Equatable {
    public var noticeId: String
    public var title: String
    public var titleEn: String?
    /// The grids it reaches.
    public var grids: [String]
    /// Households to inform, per grid (the org's households of each grid).
    public var households: [String: Int]
    /// The last local day to inform by, `yyyy-MM-dd`.
    public var dueOn: String
    public var publishedBy: String
    /// The unit that published it (a street, or the district's oversight).
    public var unit: UnitRef

    public init(
        noticeId: String,
        title: String,
        titleEn: String? = nil,
        grids: [String],
        households: [String: Int],
        dueOn: String,
        publishedBy: String,
        unit: UnitRef
    ) {
        self.noticeId = noticeId
        self.title = title
        self.titleEn = titleEn
        self.grids = grids
        self.households = households
        self.dueOn = dueOn
        self.publishedBy = publishedBy
        self.unit = unit
    }
}

/// Payload of `notice.informed`: one household informed of a notice (counted once).
public struct NoticeInformed: Codable, Sendable, Equatable {
    public var noticeId: String
    public var householdId: String
    public var grid: String
    public var street: String
    /// The grid staff member who informed it (for `sms`: who sent the SMS).
    public var staff: String
    public var via: InformVia
    /// Before the end of the due day.
    public var onTime: Bool

    public init(noticeId: String, householdId: String, grid: String, street: String, staff: String, via: InformVia, onTime: Bool) {
        self.noticeId = noticeId
        self.householdId = householdId
        self.grid = grid
        self.street = street
        self.staff = staff
        self.via = via
        self.onTime = onTime
    }
}

/// Payload of `notice.sms`: send a household the notice by SMS with a confirm link. The number
/// travels sealed (``DataProtector``); notification opens it, sends the text and the link
/// `<NOTIFICATION_WEB_URL>/n/<token>`, and never logs the number.
public struct NoticeSMS: Codable, Sendable, Equatable {
    public var noticeId: String
    public var householdId: String
    public var grid: String
    public var title: String
    public var titleEn: String?
    /// The resident's mobile number, sealed.
    public var phoneSealed: String
    /// The confirm link's token (opaque, unguessable).
    public var token: String
    /// Who asked for it (grid staff).
    public var staff: String
    /// `zh` (default) or `en`.
    public var language: String?

    public init(
        noticeId: String,
        householdId: String,
        grid: String,
        title: String,
        titleEn: String? = nil,
        phoneSealed: String,
        token: String,
        staff: String,
        language: String? = nil
    ) {
        self.noticeId = noticeId
        self.householdId = householdId
        self.grid = grid
        self.title = title
        self.titleEn = titleEn
        self.phoneSealed = phoneSealed
        self.token = token
        self.staff = staff
        self.language = language
    }
}

/// Why a grid is alerted about a notice's coverage.
public enum NoticeLagStage: String, Codable, Sendable, CaseIterable {
    /// Near the due day and the grid has households left: its staff are reminded.
    case reminder
    /// The due day is over and the grid has households left: its street is alerted.
    case overdue
}

/// Payload of `notice.lagging`: a grid's coverage lags (once per grid and stage).
public struct NoticeLagging: Codable, Sendable, Equatable {
    public var noticeId: String
    public var title: String
    public var grid: String
    public var street: String
    public var informed: Int
    public var households: Int
    public var dueOn: String
    public var stage: NoticeLagStage

    public init(noticeId: String, title: String, grid: String, street: String, informed: Int, households: Int, dueOn: String, stage: NoticeLagStage) {
        self.noticeId = noticeId
        self.title = title
        self.grid = grid
        self.street = street
        self.informed = informed
        self.households = households
        self.dueOn = dueOn
        self.stage = stage
    }
}

// MARK: - Consultations (议事)

/// Payload of `consultation.opened`: a question put to the households of grids.
public struct ConsultationOpened: Codable, Sendable, Equatable {
    public var consultationId: String
    public var question: String
    /// The options' ids (e.g. `yes`, `no`).
    public var options: [String]
    /// The last local day positions are taken, `yyyy-MM-dd`.
    public var endsOn: String
    /// The rule, e.g. `2/3` (an option held by at least two thirds of the households).
    public var rule: String
    public var grids: [String]
    /// Households per grid.
    public var households: [String: Int]
    public var openedBy: String
    public var unit: UnitRef

    public init(
        consultationId: String,
        question: String,
        options: [String],
        endsOn: String,
        rule: String,
        grids: [String],
        households: [String: Int],
        openedBy: String,
        unit: UnitRef
    ) {
        self.consultationId = consultationId
        self.question = question
        self.options = options
        self.endsOn = endsOn
        self.rule = rule
        self.grids = grids
        self.households = households
        self.openedBy = openedBy
        self.unit = unit
    }
}

/// Payload of `consultation.position`: a household's position recorded (or changed) on a visit.
public struct ConsultationPosition: Codable, Sendable, Equatable {
    public var consultationId: String
    public var householdId: String
    public var grid: String
    public var street: String
    public var option: String
    /// The household's position before, when this changes it.
    public var previous: String?
    /// The household voiced concerns.
    public var concerns: Bool
    public var staff: String

    public init(
        consultationId: String,
        householdId: String,
        grid: String,
        street: String,
        option: String,
        previous: String? = nil,
        concerns: Bool,
        staff: String
    ) {
        self.consultationId = consultationId
        self.householdId = householdId
        self.grid = grid
        self.street = street
        self.option = option
        self.previous = previous
        self.concerns = concerns
        self.staff = staff
    }
}

/// Payload of `consultation.meeting`: the residents' representatives' meeting outcome recorded.
public struct ConsultationMeeting: Codable, Sendable, Equatable {
    public var consultationId: String
    public var outcome: String
    /// The local day it was held, `yyyy-MM-dd`.
    public var heldOn: String
    public var recordedBy: String

    public init(consultationId: String, outcome: String, heldOn: String, recordedBy: String) {
        self.consultationId = consultationId
        self.outcome = outcome
        self.heldOn = heldOn
        self.recordedBy = recordedBy
    }
}

/// Payload of `consultation.closed`: the result, after the residents' representatives' meeting.
public struct ConsultationClosed: Codable, Sendable, Equatable {
    public var consultationId: String
    /// The option that reached the rule, or nil.
    public var result: String?
    /// Households per option.
    public var tally: [String: Int]
    public var households: Int
    public var meetingOutcome: String?
    public var closedBy: String

    public init(consultationId: String, result: String?, tally: [String: Int], households: Int, meetingOutcome: String?, closedBy: String) {
        self.consultationId = consultationId
        self.result = result
        self.tally = tally
        self.households = households
        self.meetingOutcome = meetingOutcome
        self.closedBy = closedBy
    }
}

// MARK: - Micro-wishes (微心愿)

/// A micro-wish's state: collected → adopted → fulfilled → confirmed (by the resident).
public enum WishState: String, Codable, Sendable, CaseIterable {
    case collected, adopted, fulfilled, confirmed
}

/// Who adopted a wish.
public enum WishAdopterKind: String, Codable, Sendable, CaseIterable {
    /// A unit of the org (a street, a department).
    case unit
    /// An enterprise of the enterprise grids.
    case enterprise
    /// A volunteer.
    case volunteer
}

/// Payload of `wish.changed`: a wish collected, adopted, fulfilled or confirmed.
public struct WishChanged: Codable, Sendable, Equatable {
    public var wishId: String
    public var householdId: String
    public var grid: String
    public var street: String
    /// What kind of wish (`meal`, `care`, `study`, `repair`, `other`): similar wishes cluster by it.
    public var kind: String
    public var state: WishState
    public var staff: String
    public var adopterKind: WishAdopterKind?
    public var adopterName: String?

    public init(
        wishId: String,
        householdId: String,
        grid: String,
        street: String,
        kind: String,
        state: WishState,
        staff: String,
        adopterKind: WishAdopterKind? = nil,
        adopterName: String? = nil
    ) {
        self.wishId = wishId
        self.householdId = householdId
        self.grid = grid
        self.street = street
        self.kind = kind
        self.state = state
        self.staff = staff
        self.adopterKind = adopterKind
        self.adopterName = adopterName
    }
}

// MARK: - Green points and the love supermarket (绿币爱心超市)

/// Payload of `points.scored`: a household's month scored; the household and its grid's worker(s)
/// earn points. A month scored again is corrected by reversal: `replaced` carries the total it
/// replaces (its points were reversed in the same transaction).
public struct PointsScored: Codable, Sendable, Equatable {
    public var month: String
    public var householdId: String
    public var grid: String
    public var street: String
    /// The five items' scores (遵纪守法、热心公益、环境整洁、家风文明、勤劳致富).
    public var items: [Int]
    /// Points the household earned.
    public var points: Int
    /// Points each grid worker of the grid earned from it.
    public var workerPoints: [String: Int]
    public var enteredBy: String
    /// The points of the score this one corrects (reversed), if any.
    public var replaced: Int?

    public init(
        month: String,
        householdId: String,
        grid: String,
        street: String,
        items: [Int],
        points: Int,
        workerPoints: [String: Int],
        enteredBy: String,
        replaced: Int? = nil
    ) {
        self.month = month
        self.householdId = householdId
        self.grid = grid
        self.street = street
        self.items = items
        self.points = points
        self.workerPoints = workerPoints
        self.enteredBy = enteredBy
        self.replaced = replaced
    }
}

/// Payload of `points.redeemed`: a household took goods from its street's love supermarket.
public struct PointsRedeemed: Codable, Sendable, Equatable {
    public var redemptionId: String
    public var householdId: String
    public var grid: String
    public var street: String
    public var goodsId: String
    public var goodsName: String
    public var quantity: Int
    public var points: Int
    public var staff: String

    public init(
        redemptionId: String,
        householdId: String,
        grid: String,
        street: String,
        goodsId: String,
        goodsName: String,
        quantity: Int,
        points: Int,
        staff: String
    ) {
        self.redemptionId = redemptionId
        self.householdId = householdId
        self.grid = grid
        self.street = street
        self.goodsId = goodsId
        self.goodsName = goodsName
        self.quantity = quantity
        self.points = points
        self.staff = staff
    }
}

/// Payload of `goods.donated`: goods given to a street's love supermarket.
public struct GoodsDonated: Codable, Sendable, Equatable {
    public var donationId: String
    public var street: String
    public var goodsId: String
    public var goodsName: String
    public var quantity: Int
    public var donor: String
    public var staff: String

    public init(donationId: String, street: String, goodsId: String, goodsName: String, quantity: Int, donor: String, staff: String) {
        self.donationId = donationId
        self.street = street
        self.goodsId = goodsId
        self.goodsName = goodsName
        self.quantity = quantity
        self.donor = donor
        self.staff = staff
    }
}
