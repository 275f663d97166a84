import Foundation
import GridLoopDomain
import Yams

/// The organisation structure, as imported by `gridloop org import FILE` (YAML or JSON).
/// See `deploy/demo-org.yaml` for the format.
package struct OrgFile: Codable, Sendable, Equatable {
    package struct District: Codable, Sendable, Equatable {
        package var id: String
        package var name: String
    }

    package struct Street: Codable, Sendable, Equatable {
        package var id: String
        package var name: String
        /// `street` (街道) or `township` (乡/镇).
        package var kind: String?
    }

    package struct Grid: Codable, Sendable, Equatable {
        package var id: String
        package var name: String
        package var street: String
        /// residents, compound, merchants, enterprises, institutions.
        package var kind: String
        package var households: Int
        package var population: Int
        /// Optional polygon of `[longitude, latitude]` points: requests with coordinates inside it belong here.
        package var area: [[Double]]?
    }

    package struct Household: Codable, Sendable, Equatable {
        package var id: String
        package var grid: String
        package var address: String
    }

    package struct Department: Codable, Sendable, Equatable {
        package var id: String
        package var name: String
        /// Request categories this department handles.
        package var categories: [String]
    }

    package struct Staff: Codable, Sendable, Equatable {
        package var id: String
        package var name: String
        /// grid-worker, grid-leader, street-officer, department-officer, supervisor.
        package var role: String
        /// `tier:id` of the unit they work for.
        package var unit: String
        /// Where notification reaches them (each optional): an email address (SMTP), a mobile
        /// number (SMS through the gateway), a webhook of their own (e.g. a work-chat bot).
        package var email: String?
        package var phone: String?
        package var webhook: String?
        /// The work phone residents may call, printed on the household door plates (门牌);
        /// never used for notifications (that is `phone`).
        package var workPhone: String?
        /// `zh` (default) or `en`: the language of their notifications.
        package var language: String?
        /// `22:00-07:00`: non-urgent notifications wait until the quiet ends.
        package var quietHours: String?
        /// `30m`, `2h`: non-urgent notifications are gathered into one digest per period.
        package var digest: String?
    }

    /// Deadlines: `default` and per category, e.g. `{ claim: 2h, resolve: 24h }`.
    package struct SLA: Codable, Sendable, Equatable {
        package var claim: String
        package var resolve: String
    }

    /// Working time for SLA deadlines (absent: wall-clock time for everything).
    package struct Calendar: Codable, Sendable, Equatable {
        /// `08:30-17:30`.
        package var hours: String
        /// ISO weekdays, 1 = Monday.
        package var weekdays: [Int]?
        /// `yyyy-MM-dd`.
        package var holidays: [String]?
        /// Hours east of UTC (China: 8).
        package var utcOffsetHours: Int?
    }

    package var district: District
    package var streets: [Street]
    package var grids: [Grid]
    package var households: [Household]?
    package var departments: [Department]
    package var staff: [Staff]?
    /// `default` and category ids → deadlines; practice defaults apply to what is not given.
    package var sla: [String: SLA]?
    /// Working calendar for non-urgent deadlines.
    package var calendar: Calendar?
    /// Categories whose deadlines run on wall-clock time (emergencies, utility outages).
    package var urgent: [String]?
    /// Categories that skip the grid and street: straight to their department, the street informed.
    package var direct: [String]?

    package static let gridKinds: Set<String> = ["residents", "compound", "merchants", "enterprises", "institutions"]
    package static let streetKinds: Set<String> = ["street", "township"]
    package static let languages = Reporter.languages

    static func looksLikeEmail(_ text: String) -> Bool { SubmissionDraft.isEmail(text) }

    package static let roles: Set<String> = ["grid-worker", "grid-leader", "street-officer", "department-officer", "supervisor"]

    /// Parses YAML (a superset of JSON); errors name the field.
    package static func parse(_ text: String) throws -> OrgFile {
        do {
            return try YAMLDecoder().decode(OrgFile.self, from: text)
        } catch let error as DecodingError {
            throw OrgFileInvalid(problems: [error.fieldDescription])
        }
    }

    /// Every problem: bad ids, unknown references, duplicates, unknown kinds and roles.
    package func validate() -> [String] {
        var problems: [String] = []
        func checkIDs(_ ids: [String], _ what: String) -> Set<String> {
            var seen = Set<String>()
            for (index, id) in ids.enumerated() {
                if !UnitRef.isValidID(id) { problems.append("\(what)[\(index)].id: '\(id)' must be lowercase letters, digits and '-'") }
                if !seen.insert(id).inserted { problems.append("\(what)[\(index)].id: '\(id)' appears twice") }
            }
            return seen
        }
        if !UnitRef.isValidID(district.id) { problems.append("district.id: '\(district.id)' must be lowercase letters, digits and '-'") }
        let streetIDs = checkIDs(streets.map(\.id), "streets")
        let gridIDs = checkIDs(grids.map(\.id), "grids")
        _ = checkIDs((households ?? []).map(\.id), "households")
        let departmentIDs = checkIDs(departments.map(\.id), "departments")
        _ = checkIDs((staff ?? []).map(\.id), "staff")
        for (index, street) in streets.enumerated() where street.kind.map({ !Self.streetKinds.contains($0) }) ?? false {
            problems.append("streets[\(index)].kind: '\(street.kind ?? "")' is not one of \(Self.streetKinds.sorted().joined(separator: ", "))")
        }
        for (index, grid) in grids.enumerated() {
            if !streetIDs.contains(grid.street) { problems.append("grids[\(index)].street: unknown street '\(grid.street)'") }
            if !Self.gridKinds.contains(grid.kind) { problems.append("grids[\(index)].kind: '\(grid.kind)' is not one of \(Self.gridKinds.sorted().joined(separator: ", "))") }
            if grid.households < 0 { problems.append("grids[\(index)].households: must not be negative") }
            if grid.population < 0 { problems.append("grids[\(index)].population: must not be negative") }
            if let area = grid.area, let problem = GeoArea(points: area).problem { problems.append("grids[\(index)].area: \(problem)") }
        }
        for (index, household) in (households ?? []).enumerated() {
            if !gridIDs.contains(household.grid) { problems.append("households[\(index)].grid: unknown grid '\(household.grid)'") }
            if household.address.trimmingCharacters(in: .whitespaces).isEmpty { problems.append("households[\(index)].address: is required") }
        }
        var categoryOwner: [String: String] = [:]
        for (index, department) in departments.enumerated() {
            for category in department.categories {
                if !UnitRef.isValidID(category) { problems.append("departments[\(index)].categories: '\(category)' must be lowercase letters, digits and '-'") }
                if let owner = categoryOwner[category] { problems.append("departments[\(index)].categories: '\(category)' is already handled by '\(owner)'") }
                categoryOwner[category] = department.id
            }
        }
        for (key, sla) in (sla ?? [:]).sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            let category = parts.count == 2 ? parts[1] : key
            if parts.count == 2, Tier(rawValue: parts[0]) == nil || parts[0] == "oversight" {
                problems.append("sla.\(key): '\(parts[0])' is not a tier (grid, street, district)")
            } else if category != "default", categoryOwner[category] == nil, SLAPolicy.practice[category] == nil {
                problems.append("sla.\(key): no department handles category '\(category)'")
            }
            for (field, text) in [("claim", sla.claim), ("resolve", sla.resolve)] where SLAPolicy.parseDuration(text) == nil {
                problems.append("sla.\(key).\(field): '\(text)' is not a duration like 90s, 30m, 24h or 7d")
            }
            if let claim = SLAPolicy.parseDuration(sla.claim), let resolve = SLAPolicy.parseDuration(sla.resolve), claim > resolve {
                problems.append("sla.\(key): claim (\(sla.claim)) is longer than resolve (\(sla.resolve))")
            }
        }
        if let calendar {
            if WorkingCalendar.parseHours(calendar.hours) == nil { problems.append("calendar.hours: '\(calendar.hours)' is not like 08:30-17:30") }
            for day in calendar.weekdays ?? [] where !(1...7).contains(day) { problems.append("calendar.weekdays: \(day) is not 1 (Monday) … 7 (Sunday)") }
            for holiday in calendar.holidays ?? [] where Timestamp.parse(holiday + "T00:00:00Z") == nil { problems.append("calendar.holidays: '\(holiday)' is not yyyy-MM-dd") }
            if let offset = calendar.utcOffsetHours, !(-12...14).contains(offset) { problems.append("calendar.utcOffsetHours: \(offset) is out of range") }
        }
        for (index, category) in (direct ?? []).enumerated() where categoryOwner[category] == nil {
            problems.append("direct[\(index)]: no department handles category '\(category)'")
        }
        for (index, member) in (staff ?? []).enumerated() {
            if let language = member.language, !Self.languages.contains(language) {
                problems.append("staff[\(index)].language: '\(language)' is not one of \(Self.languages.joined(separator: ", "))")
            }
            if let email = member.email, !Self.looksLikeEmail(email) { problems.append("staff[\(index)].email: '\(email)' is not an email address") }
            if let phone = member.phone, !SubmissionDraft.isPhone(phone) { problems.append("staff[\(index)].phone: '\(phone)' is not a phone number") }
            if let webhook = member.webhook, !(webhook.hasPrefix("https://") || webhook.hasPrefix("http://")) || URL(string: webhook)?.host == nil {
                problems.append("staff[\(index)].webhook: '\(webhook)' is not an http(s) URL")
            }
            if let quiet = member.quietHours, QuietHours(parsing: quiet) == nil { problems.append("staff[\(index)].quietHours: '\(quiet)' is not like 22:00-07:00") }
            if let digest = member.digest, SLAPolicy.parseDuration(digest) == nil { problems.append("staff[\(index)].digest: '\(digest)' is not a duration like 30m or 2h") }
            if !Self.roles.contains(member.role) { problems.append("staff[\(index)].role: '\(member.role)' is not one of \(Self.roles.sorted().joined(separator: ", "))") }
            guard let unit = try? UnitRef(parsing: member.unit) else {
                problems.append("staff[\(index)].unit: '\(member.unit)' is not tier:id")
                continue
            }
            let known: Bool =
                switch unit.tier {
                case .grid: gridIDs.contains(unit.id)
                case .street: streetIDs.contains(unit.id) || unit.id == RoutingRules.triage.id
                case .district: departmentIDs.contains(unit.id)
                case .oversight: unit.id == district.id
                }
            if !known { problems.append("staff[\(index)].unit: unknown unit '\(member.unit)'") }
        }
        return problems
    }

    /// The SLA policy: practice defaults, overridden by the file's `sla` section.
    package var slaPolicy: SLAPolicy {
        var policy = SLAPolicy()
        for (key, sla) in sla ?? [:] {
            guard let claim = SLAPolicy.parseDuration(sla.claim), let resolve = SLAPolicy.parseDuration(sla.resolve) else { continue }
            let durations = SLADurations(claim: claim, resolve: resolve)
            if key == "default" { policy.standard = durations } else { policy.byCategory[key] = durations }
        }
        return policy
    }

    /// The working calendar, if the file has one.
    package var workingCalendar: WorkingCalendar? {
        guard let calendar, let (opens, closes) = WorkingCalendar.parseHours(calendar.hours) else { return nil }
        return WorkingCalendar(
            opens: opens, closes: closes, weekdays: Set(calendar.weekdays ?? [1, 2, 3, 4, 5]), holidays: Set(calendar.holidays ?? []),
            utcOffset: (calendar.utcOffsetHours ?? 8) * 3600
        )
    }

    /// Every unit that gets a queue: grids, street centres, departments, the triage desk.
    package var units: [UnitRef] {
        var units: [UnitRef] = [RoutingRules.triage]
        units += grids.compactMap { try? UnitRef(tier: .grid, id: $0.id) }
        units += streets.compactMap { try? UnitRef(tier: .street, id: $0.id) }
        units += departments.compactMap { try? UnitRef(tier: .district, id: $0.id) }
        return units
    }
}

/// An org file that cannot be imported, with every problem.
package struct OrgFileInvalid: Error, CustomStringConvertible {
    package var problems: [String]
    package init(problems: [String]) { self.problems = problems }
    package var description: String { "invalid org file:\n  " + problems.joined(separator: "\n  ") }
}
