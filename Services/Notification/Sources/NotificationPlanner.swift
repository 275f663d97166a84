import Foundation
import GridLoopAuth
import GridLoopDomain

/// Someone notification can reach: a staff member from the org file, or the reporter.
package struct Recipient: Sendable, Equatable {
    /// `staff:<id>` or `reporter`.
    package var key: String
    package var name: String
    package var language: String
    package var email: String?
    package var phone: String?
    package var webhook: String?
    /// Staff only: non-urgent messages wait until the quiet ends.
    package var quietHours: QuietHours?
    /// Staff only: non-urgent messages are gathered into one digest per this many seconds.
    package var digestSeconds: Int?
    /// For the reporter of a linked request: that request's id.
    package var ownRequestId: String?

    package init(
        key: String,
        name: String,
        language: String,
        email: String? = nil,
        phone: String? = nil,
        webhook: String? = nil,
        quietHours: QuietHours? = nil,
        digestSeconds: Int? = nil
    ) {
        self.key = key
        self.name = name
        self.language = language
        self.email = email
        self.phone = phone
        self.webhook = webhook
        self.quietHours = quietHours
        self.digestSeconds = digestSeconds
    }

    /// The channels this recipient can be reached on, in a stable order.
    func channels(enabled: Set<DeliveryChannel>) -> [(DeliveryChannel, String)] {
        var channels: [(DeliveryChannel, String)] = []
        if let email, enabled.contains(.email) { channels.append((.email, email)) }
        if let phone, enabled.contains(.sms) { channels.append((.sms, phone)) }
        if let webhook, enabled.contains(.webhook) { channels.append((.webhook, webhook)) }
        return channels
    }
}

/// What notification knows of a request (from `request.received` and its first grid assignment).
package struct RequestContact: Sendable, Equatable {
    package var reporter: Recipient?
    package var grid: String?
    package var category: String?
    package var description: String?
    /// Reporters of the requests merged into this one (each with `ownRequestId`).
    package var linked: [Recipient] = []

    package init(reporter: Recipient? = nil, grid: String? = nil, category: String? = nil, description: String? = nil) {
        self.reporter = reporter
        self.grid = grid
        self.category = category
        self.description = description
    }
}

/// The part of the org directory one event needs.
package struct DirectoryView: Sendable {
    /// Unit (`tier:id`) → its staff.
    package var staffByUnit: [String: [Recipient]] = [:]
    /// Grid id → its grid workers.
    package var gridWorkers: [String: [Recipient]] = [:]
    package var supervisors: [Recipient] = []
    /// Grid id → its grid workers and grid leaders (community events).
    package var gridStaff: [String: [Recipient]] = [:]
    /// Street id → its street officers (community events).
    package var streetOfficers: [String: [Recipient]] = [:]
    /// Unit (`tier:id`) → display name.
    package var unitNames: [String: String] = [:]
    /// Staff id → display name.
    package var staffNames: [String: String] = [:]
    package var urgentCategories: Set<String> = []
    /// The district's offset from UTC, in seconds (quiet hours and times in messages).
    package var utcOffset = 8 * 3600

    package init() {}
}

/// Where residents' links point: the web app's public address, and the follow-up link's signer.
package struct ResidentLinks: Sendable {
    package var baseURL: String
    package var followUp: FollowUpLink?

    package init(baseURL: String, followUp: FollowUpLink?) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.followUp = followUp
    }
}

/// When a planned message goes out.
package enum Dispatch: Sendable, Equatable {
    /// Now, or at the end of the recipient's quiet hours.
    case at(Date)
    /// Gathered into the recipient's next digest.
    case digest
}

/// One message to one recipient over one channel.
package struct PlannedMessage: Sendable, Equatable {
    /// `<event id>:<recipient key>:<channel>`: stable, so a receiver can drop duplicates.
    package var id: String
    package var recipient: Recipient
    package var channel: DeliveryChannel
    /// Email address, phone number or URL.
    package var target: String
    package var template: String
    package var language: String
    package var message: RenderedMessage
    package var urgent: Bool
    package var dispatch: Dispatch
}

/// Turns an event into messages: the rules pick audiences, the directory names the people,
/// the templates write the text in each recipient's language, and quiet hours and digests
/// decide when it goes. Pure: every input is given.
package struct NotificationPlanner: Sendable {
    package var rules: NotificationRules
    /// Who is told of the community events (`community-rules.yaml`; see ``CommunityFacts``).
    package var communityRules: NotificationRules
    package var templates: NotificationTemplates
    package var enabledChannels: Set<DeliveryChannel>

    /// Residents' links: the status page and the 回访 follow-up (`NOTIFICATION_WEB_URL`).
    package var residentLinks: ResidentLinks?

    package init(
        rules: NotificationRules,
        templates: NotificationTemplates,
        enabledChannels: Set<DeliveryChannel>,
        residentLinks: ResidentLinks? = nil,
        communityRules: NotificationRules = NotificationRules(byEvent: [:])
    ) {
        self.rules = rules
        self.communityRules = communityRules
        self.templates = templates
        self.enabledChannels = enabledChannels
        self.residentLinks = residentLinks
    }

    /// Whether an event of `type` needs to know the reporter or the reporter's grid.
    package func needsRequestContact(_ type: String) -> Bool {
        rules.rules(for: type).contains { $0.to == .reporter || $0.to == .gridWorker }
    }

    package func plan(_ facts: EventFacts, request: RequestContact?, directory: DirectoryView, now: Date) -> [PlannedMessage] {
        var planned: [PlannedMessage] = []
        var told = Set<String>()
        let category = facts.category ?? request?.category
        let urgentCategory = category.map { directory.urgentCategories.contains($0) } ?? false
        for rule in rules.rules(for: facts.type) {
            let audience: [(Recipient, UnitRef?)]
            switch rule.to {
            case .reporter:
                audience = request?.reporter.map { [($0, facts.units.first)] } ?? []
            case .unit:
                audience = facts.units.flatMap { unit in (directory.staffByUnit[unit.description] ?? []).map { ($0, unit) } }
            case .gridWorker:
                audience = request?.grid.map { grid in (directory.gridWorkers[grid] ?? []).map { ($0, facts.units.first) } } ?? []
            case .supervisors:
                audience = directory.supervisors.map { ($0, facts.units.first) }
            case .linked:
                audience = (request?.linked ?? []).map { ($0, facts.units.first) }
            case .gridStaff, .streetOfficers, .resident:
                audience = []  // community audiences (refused in the request rules at start)
            }
            let urgent = rule.urgent == true || urgentCategory
            append(
                to: &planned,
                told: &told,
                eventId: facts.eventId,
                rule: rule,
                audience: audience,
                urgent: urgent,
                now: now,
                directory: directory
            ) { recipient, unit in
                self.context(
                    facts,
                    request: request,
                    category: category,
                    recipient: recipient,
                    unit: unit,
                    urgent: urgent,
                    directory: directory,
                    now: now
                )
            }
        }
        return planned
    }

    /// Adds `rule`'s messages to `audience` to `planned`: each recipient at most once per event
    /// (`told`), on each channel they can be reached on that the rule allows, written by
    /// `context` in their language, when their quiet hours and digests say.
    func append<Place>(
        to planned: inout [PlannedMessage],
        told: inout Set<String>,
        eventId: String,
        rule: NotificationRule,
        audience: [(Recipient, Place)],
        urgent: Bool,
        now: Date,
        directory: DirectoryView,
        context: (Recipient, Place) -> [String: Any]
    ) {
        for (recipient, place) in audience where told.insert(recipient.key).inserted {
            guard let message = templates.render(rule.template, language: recipient.language, context: context(recipient, place)) else { continue }
            let dispatch = Self.dispatch(for: recipient, urgent: urgent, now: now, utcOffset: directory.utcOffset)
            for (channel, target) in recipient.channels(enabled: enabledChannels) where rule.channels.map({ $0.contains(channel) }) ?? true {
                planned.append(
                    PlannedMessage(
                        id: "\(eventId):\(recipient.key):\(channel.rawValue)",
                        recipient: recipient,
                        channel: channel,
                        target: target,
                        template: rule.template,
                        language: recipient.language,
                        message: message,
                        urgent: urgent,
                        dispatch: dispatch
                    )
                )
            }
        }
    }

    /// Urgent: now. A digest reader: the digest. In quiet hours: when they end. Otherwise now.
    package static func dispatch(for recipient: Recipient, urgent: Bool, now: Date, utcOffset: Int) -> Dispatch {
        if urgent { return .at(now) }
        if let seconds = recipient.digestSeconds, seconds > 0 { return .digest }
        if let quiet = recipient.quietHours, let end = quiet.end(ofQuietAround: now, utcOffset: utcOffset) { return .at(end) }
        return .at(now)
    }

    private func context(
        _ facts: EventFacts,
        request: RequestContact?,
        category: String?,
        recipient: Recipient,
        unit: UnitRef?,
        urgent: Bool,
        directory: DirectoryView,
        now: Date
    ) -> [String: Any] {
        let language = recipient.language
        let english = language == "en"
        func unitName(_ unit: UnitRef?) -> String? { unit.map { directory.unitNames[$0.description] ?? $0.description } }
        func time(_ date: Date?) -> String? { date.map { Self.localTime($0, utcOffset: directory.utcOffset) } }
        var context: [String: Any] = [
            "requestId": facts.requestId,
            "shortId": String(facts.requestId.prefix(8)),
            "recipientName": recipient.name,
            "ownShortId": String((recipient.ownRequestId ?? facts.requestId).prefix(8)),
            "time": Self.localTime(now, utcOffset: directory.utcOffset),
            "urgent": urgent,
        ]
        context["category"] = category
        context["categoryName"] = category.map { CategoryNames.label($0, language: language) }
        context["description"] = facts.description ?? request?.description
        context["unitName"] = unitName(unit)
        context["reason"] = facts.reason
        context["note"] = facts.note
        context["staffName"] = facts.staff.map { directory.staffNames[$0] ?? $0 }
        context["byName"] = unitName(facts.by)
        context["departmentName"] = unitName(facts.department)
        context["claimDue"] = time(facts.claimDueAt)
        context["dueAt"] = time(facts.dueAt)
        context["deadlineName"] = facts.deadline.map { deadline in
            switch (deadline, english) {
            case ("claim", false): "认领时限"
            case ("claim", true): "claim"
            case (_, false): "办结时限"
            case (_, true): "resolution"
            }
        }
        context["satisfactionName"] = facts.satisfaction.map { satisfaction in
            switch (satisfaction, english) {
            case (.satisfied, false): "满意"
            case (.satisfied, true): "satisfied"
            case (.basicallySatisfied, false): "基本满意"
            case (.basicallySatisfied, true): "basically satisfied"
            case (.unsatisfied, false): "不满意"
            case (.unsatisfied, true): "unsatisfied"
            }
        }
        context["reporterName"] = request?.reporter?.name
        if let links = residentLinks, recipient.key == "reporter" || recipient.ownRequestId != nil {
            let own = recipient.ownRequestId ?? facts.requestId
            context["statusUrl"] = "\(links.baseURL)/status/\(own)"
            if facts.type == MessageType.requestResolved, recipient.key == "reporter", let version = facts.requestVersion,
                let followUp = links.followUp
            {
                context["followUpUrl"] = links.baseURL + followUp.path(requestId: facts.requestId, version: version)
            }
        }
        return context
    }

    /// `2026-11-26 18:30` in the district's time.
    package static func localTime(_ date: Date, utcOffset: Int) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: utcOffset) ?? .gmt
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0, parts.hour ?? 0, parts.minute ?? 0)
    }
}
