import Foundation
import Yams

/// The organisation structure, as imported by `gridloop org import FILE` (YAML or JSON).
/// See `deploy/demo-org.yaml` for the format. Pure: each service turns it into what it stores
/// (routing `OrgStore.replace(with:)`, intake `IntakeDirectory(org:)`, notification
/// `DirectorySnapshot(org:)`, reporting `ReportingDirectory(org:)`).
public struct OrgFile: Codable, Sendable, Equatable {
    /// The district (区) the file describes.
    public struct District: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
    }

    /// A street (街道) or township (乡/镇) centre.
    public struct Street: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
        /// `street` (街道) or `township` (乡/镇).
        public var kind: String?
    }

    /// A grid (网格) of a street.
    public struct Grid: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
        /// The id of its street.
        public var street: String
        /// residents, compound, merchants, enterprises, institutions.
        public var kind: String
        public var households: Int
        public var population: Int
        /// Optional polygon of `[longitude, latitude]` points: requests with coordinates inside it belong here.
        public var area: [[Double]]?
    }

    /// A household of a grid, with its address.
    public struct Household: Codable, Sendable, Equatable {
        public var id: String
        /// The id of its grid.
        public var grid: String
        public var address: String
    }

    /// A district department and the request categories it settles.
    public struct Department: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
        /// Request categories this department handles.
        public var categories: [String]
    }

    /// A staff member.
    public struct Staff: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
        /// grid-worker, grid-leader, street-officer, department-officer, supervisor.
        public var role: String
        /// `tier:id` of the unit they work for.
        public var unit: String
        /// Where notification reaches them (each optional): an email address (SMTP), a mobile
        /// number (SMS through the gateway), a webhook of their own (e.g. a work-chat bot).
        public var email: String?
        public var phone: String?
        public var webhook: String?
        /// The work phone residents may call, printed on the household door plates (门牌);
        /// never used for notifications (that is `phone`).
        public var workPhone: String?
        /// `zh` (default) or `en`: the language of their notifications.
        public var language: String?
        /// `22:00-07:00`: non-urgent notifications wait until the quiet ends.
        public var quietHours: String?
        /// `30m`, `2h`: non-urgent notifications are gathered into one digest per period.
        public var digest: String?
    }

    /// Deadlines: `default` and per category, e.g. `{ claim: 2h, resolve: 24h }`.
    public struct SLA: Codable, Sendable, Equatable {
        public var claim: String
        public var resolve: String
    }

    /// Working time for SLA deadlines (absent: wall-clock time for everything).
    public struct Calendar: Codable, Sendable, Equatable {
        /// `08:30-17:30`.
        public var hours: String
        /// ISO weekdays, 1 = Monday.
        public var weekdays: [Int]?
        /// `yyyy-MM-dd`.
        public var holidays: [String]?
        /// Hours east of UTC (China: 8).
        public var utcOffsetHours: Int?
    }

    public var district: District
    public var streets: [Street]
    public var grids: [Grid]
    public var households: [Household]?
    public var departments: [Department]
    public var staff: [Staff]?
    /// `default` and category ids → deadlines; practice defaults apply to what is not given.
    public var sla: [String: SLA]?
    /// Working calendar for non-urgent deadlines.
    public var calendar: Calendar?
    /// Categories whose deadlines run on wall-clock time (emergencies, utility outages).
    public var urgent: [String]?
    /// Categories that skip the grid and street: straight to their department, the street informed.
    public var direct: [String]?

    /// The kinds a grid may be.
    public static let gridKinds: Set<String> = ["residents", "compound", "merchants", "enterprises", "institutions"]
    /// The kinds a street may be.
    public static let streetKinds: Set<String> = ["street", "township"]
    /// The languages a staff member's notifications may be in.
    public static let languages = Reporter.languages
    /// The roles a staff member may have.
    public static let roles: Set<String> = ["grid-worker", "grid-leader", "street-officer", "department-officer", "supervisor"]

    /// The triage desk of the street tier: every org has it, requests that cannot be placed in
    /// a grid go there.
    public static let triageDesk = try! UnitRef(tier: .street, id: "triage")
    /// The triage desk's display name.
    public static let triageDeskName = "街道分拨中心"
    /// Emergencies and utility outages run on wall-clock time unless the file's `urgent` says otherwise.
    public static let defaultUrgent = ["emergency", "water", "power", "gas", "heating"]

    /// Parses YAML (a superset of JSON); errors name the field.
    public static func parse(_ text: String) throws -> OrgFile {
        do {
            return try YAMLDecoder().decode(OrgFile.self, from: text)
        } catch let error as DecodingError {
            throw OrgFileInvalid(problems: [error.fieldDescription])
        }
    }

    /// The SLA policy: practice defaults, overridden by the file's `sla` section.
    public var slaPolicy: SLAPolicy {
        var policy = SLAPolicy()
        for (key, sla) in sla ?? [:] {
            guard let claim = SLAPolicy.parseDuration(sla.claim), let resolve = SLAPolicy.parseDuration(sla.resolve) else { continue }
            let durations = SLADurations(claim: claim, resolve: resolve)
            if key == "default" { policy.standard = durations } else { policy.byCategory[key] = durations }
        }
        return policy
    }

    /// The working calendar, if the file has one.
    public var workingCalendar: WorkingCalendar? {
        guard let calendar, let (opens, closes) = WorkingCalendar.parseHours(calendar.hours) else { return nil }
        return WorkingCalendar(
            opens: opens,
            closes: closes,
            weekdays: Set(calendar.weekdays ?? [1, 2, 3, 4, 5]),
            holidays: Set(calendar.holidays ?? []),
            utcOffset: utcOffset
        )
    }

    /// The district's offset from UTC in seconds: the calendar's `utcOffsetHours`, China's 8 h if not given.
    public var utcOffset: Int { (calendar?.utcOffsetHours ?? 8) * 3600 }

    /// The categories whose deadlines run on wall-clock time: the file's `urgent`, or `defaultUrgent`.
    public var urgentCategories: [String] { urgent ?? Self.defaultUrgent }

    /// Every unit that gets a queue: grids, street centres, departments, the triage desk.
    public var units: [UnitRef] {
        var units: [UnitRef] = [Self.triageDesk]
        units += grids.compactMap { try? UnitRef(tier: .grid, id: $0.id) }
        units += streets.compactMap { try? UnitRef(tier: .street, id: $0.id) }
        units += departments.compactMap { try? UnitRef(tier: .district, id: $0.id) }
        return units
    }

    /// `tier:id` → display name of every unit: the triage desk, the district's oversight, then
    /// streets, grids and departments (a later entry with the same ref wins).
    public var unitNames: [String: String] {
        var names: [String: String] = ["\(Self.triageDesk)": Self.triageDeskName, "oversight:\(district.id)": district.name]
        for street in streets { names["street:\(street.id)"] = street.name }
        for grid in grids { names["grid:\(grid.id)"] = grid.name }
        for department in departments { names["district:\(department.id)"] = department.name }
        return names
    }
}

/// An org file that cannot be imported, with every problem.
public struct OrgFileInvalid: Error, CustomStringConvertible {
    /// Each problem, naming the field (`grids[0].kind: …`).
    public var problems: [String]
    public init(problems: [String]) { self.problems = problems }
    /// `invalid org file:` and a line per problem.
    public var description: String { "invalid org file:\n  " + problems.joined(separator: "\n  ") }
}
