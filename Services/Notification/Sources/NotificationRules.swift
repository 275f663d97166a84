import Foundation
import Yams

/// Who is told about an event.
package enum Audience: String, Codable, Sendable, CaseIterable {
    /// The resident who raised the request.
    case reporter
    /// Staff of the unit the event is about (the new assignee, a summoned department, the street
    /// informed, the unit warned or overdue).
    case unit
    /// The grid worker(s) of the reporter's grid.
    case gridWorker = "grid-worker"
    /// Staff with the supervisor role.
    case supervisors
    /// The reporters of requests merged into this one (duplicates, an incident's other reports).
    case linked
    /// Community events: the grid workers and grid leaders of the grids the event concerns.
    case gridStaff = "grid-staff"
    /// Community events: the street officers of the street the event concerns.
    case streetOfficers = "street-officers"
    /// Community events: the resident the event addresses (a notice SMS: the number sealed in it).
    case resident

    /// The audiences of a request's events (`rules.yaml`).
    package static let requestAudiences: Set<Audience> = [.reporter, .unit, .gridWorker, .supervisors, .linked]
    /// The audiences of the community events (`community-rules.yaml`).
    package static let communityAudiences: Set<Audience> = [.gridStaff, .streetOfficers, .resident, .supervisors]
}

/// The ways notification reaches a person.
package enum DeliveryChannel: String, Codable, Sendable, CaseIterable {
    /// SMTP.
    case email
    /// A JSON POST to the SMS gateway.
    case sms
    /// A signed JSON POST to the recipient's own endpoint (or the integration webhook).
    case webhook
}

/// One line of the rules: tell `to` with `template`.
package struct NotificationRule: Codable, Sendable, Equatable {
    package var to: Audience
    package var template: String
    /// Sent at once: through quiet hours, never held for a digest.
    package var urgent: Bool?
    /// Restricts the channels (default: every channel the recipient can be reached on).
    package var channels: [DeliveryChannel]?

    package init(to: Audience, template: String, urgent: Bool? = nil, channels: [DeliveryChannel]? = nil) {
        self.to = to
        self.template = template
        self.urgent = urgent
        self.channels = channels
    }
}

/// Event type → the rules that apply to it (see `Templates/rules.yaml`).
package struct NotificationRules: Sendable, Equatable {
    package var byEvent: [String: [NotificationRule]]

    package init(byEvent: [String: [NotificationRule]]) {
        self.byEvent = byEvent
    }

    /// The rules for one event type (none: nobody is told).
    package func rules(for eventType: String) -> [NotificationRule] { byEvent[eventType] ?? [] }

    /// Every template the rules name.
    package var templates: Set<String> { Set(byEvent.values.flatMap { $0.map(\.template) }) }

    /// Refuses a rule whose audience means nothing for the events of this file (a request has no
    /// grid staff to tell; a notice has no reporter), naming the event and rule.
    package func check(audiences allowed: Set<Audience>, file: String) throws {
        for (event, rules) in byEvent.sorted(by: { $0.key < $1.key }) {
            for (index, rule) in rules.enumerated() where !allowed.contains(rule.to) {
                let names = allowed.map(\.rawValue).sorted().joined(separator: ", ")
                throw RulesInvalid(reason: "\(file): \(event).\(index): to: \(rule.to.rawValue) is not an audience here (one of \(names))")
            }
        }
    }

    /// Parses the YAML rules file; errors name the event and rule.
    package static func parse(_ text: String) throws -> NotificationRules {
        do {
            return NotificationRules(byEvent: try YAMLDecoder().decode([String: [NotificationRule]].self, from: text))
        } catch let DecodingError.dataCorrupted(context) {
            throw RulesInvalid(reason: "\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)")
        } catch let DecodingError.keyNotFound(key, context) {
            throw RulesInvalid(reason: "\((context.codingPath + [key]).map(\.stringValue).joined(separator: ".")): is required")
        } catch let DecodingError.typeMismatch(_, context) {
            throw RulesInvalid(reason: "\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)")
        } catch {
            throw RulesInvalid(reason: "\(error)")
        }
    }
}

/// A rules file that cannot be used.
package struct RulesInvalid: Error, CustomStringConvertible {
    package var reason: String
    package var description: String { "invalid notification rules: \(reason)" }
}
