import Foundation
import GridLoopDomain

extension NotificationPlanner {
    /// Turns a community event into messages, as ``plan(_:request:directory:now:)`` does for a
    /// request's: the community rules pick the audiences (the grid staff of the event's grids,
    /// the officers of its street, the resident of a notice SMS, supervisors), the templates
    /// write each recipient's text with their grid's figures and the web app's links. The staff
    /// member who took the step is not told. A notice SMS is planned only with its confirm link
    /// (`NOTIFICATION_WEB_URL`): without it the resident could not confirm. Pure.
    ///
    /// - Parameter resident: the resident of a notice SMS, their number opened
    ///   (``CommunityFacts/resident(opening:)``).
    package func plan(_ facts: CommunityFacts, resident: Recipient?, directory: DirectoryView, now: Date) -> [PlannedMessage] {
        var planned: [PlannedMessage] = []
        var told: Set<String> = facts.actor.map { ["staff:\($0)"] } ?? []
        for rule in communityRules.rules(for: facts.ruleKey) {
            let audience: [(Recipient, String?)]
            switch rule.to {
            case .gridStaff:
                audience = facts.grids.flatMap { grid in (directory.gridStaff[grid] ?? []).map { ($0, grid) } }
            case .streetOfficers:
                audience = facts.street.map { street in (directory.streetOfficers[street] ?? []).map { ($0, facts.grids.first) } } ?? []
            case .resident:
                let linked = links(for: facts).confirm != nil
                audience = linked ? resident.map { [($0, facts.grids.first)] } ?? [] : []
            case .supervisors:
                audience = directory.supervisors.map { ($0, facts.grids.first) }
            case .reporter, .unit, .gridWorker, .linked:
                audience = []  // a request's audiences (refused in the community rules at start)
            }
            append(
                to: &planned,
                told: &told,
                eventId: facts.eventId,
                rule: rule,
                audience: audience,
                urgent: rule.urgent == true,
                now: now,
                directory: directory
            ) { recipient, grid in
                context(facts, recipient: recipient, grid: grid, directory: directory, now: now)
            }
        }
        return planned
    }

    /// The web app's pages a community message points at (none without `NOTIFICATION_WEB_URL`):
    /// the notice (`/notices/<id>`) or consultation (`/consultations/<id>`) for staff, the
    /// resident's confirm link (`/n/<token>`).
    func links(for facts: CommunityFacts) -> (notice: String?, consultation: String?, confirm: String?) {
        guard let base = residentLinks?.baseURL else { return (nil, nil, nil) }
        let id = Self.pathSegment(facts.subjectId)
        switch facts.type {
        case MessageType.noticeSMS:
            return (nil, nil, facts.token.map { "\(base)/n/\(Self.pathSegment($0))" })
        case MessageType.noticePublished, MessageType.noticeLagging:
            return ("\(base)/notices/\(id)", nil, nil)
        case MessageType.consultationOpened, MessageType.consultationClosed:
            return (nil, "\(base)/consultations/\(id)", nil)
        default:
            return (nil, nil, nil)
        }
    }

    /// `value` safe as one path segment of a link.
    static func pathSegment(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? value
    }

    private func context(_ facts: CommunityFacts, recipient: Recipient, grid: String?, directory: DirectoryView, now: Date) -> [String: Any] {
        let language = recipient.language
        let english = language == "en"
        func unitName(_ ref: String) -> String { directory.unitNames[ref] ?? ref.split(separator: ":", maxSplits: 1).last.map(String.init) ?? ref }
        var context: [String: Any] = [
            "recipientName": recipient.name,
            "time": Self.localTime(now, utcOffset: directory.utcOffset),
        ]
        context["title"] = english ? (facts.titleEn ?? facts.title) : facts.title
        context["dueOn"] = facts.dueOn
        context["unitName"] = facts.unit.map { unitName($0.description) }
        context["streetName"] = facts.street.map { unitName("street:\($0)") }
        // The recipient's grid's households; else all of them.
        var households = facts.totalHouseholds ?? (facts.households.isEmpty ? nil : facts.households.values.reduce(0, +))
        if let grid, let count = facts.households[grid] { households = count }
        if let grid { context["gridName"] = unitName("grid:\(grid)") }
        context["households"] = households
        context["informed"] = facts.informed
        if let households, let informed = facts.informed { context["remaining"] = max(0, households - informed) }
        context["question"] = facts.question
        context["options"] = facts.options.isEmpty ? nil : facts.options.joined(separator: english ? ", " : "、")
        context["endsOn"] = facts.endsOn
        context["votingRule"] = facts.votingRule
        context["result"] = facts.result
        context["resultVotes"] = facts.result.map { facts.tally[$0] ?? 0 }
        context["tallyText"] =
            facts.tally.isEmpty ? nil : facts.tally.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: english ? ", " : "，")
        context["meetingOutcome"] = facts.meetingOutcome
        context["householdId"] = facts.householdId
        context["wishKindName"] = facts.wishKind.map { CommunityFacts.wishKindName($0, language: language) }
        context["adopterName"] = facts.adopterName
        let links = links(for: facts)
        context["noticeUrl"] = links.notice
        context["consultationUrl"] = links.consultation
        context["confirmUrl"] = links.confirm
        return context
    }
}
