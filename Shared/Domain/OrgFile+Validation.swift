import Foundation

extension OrgFile {
    /// Every problem: bad ids, unknown references, duplicates, unknown kinds and roles.
    public func validate() -> [String] {
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
            if !Self.gridKinds.contains(grid.kind) {
                problems.append("grids[\(index)].kind: '\(grid.kind)' is not one of \(Self.gridKinds.sorted().joined(separator: ", "))")
            }
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
                if !UnitRef.isValidID(category) {
                    problems.append("departments[\(index)].categories: '\(category)' must be lowercase letters, digits and '-'")
                }
                if let owner = categoryOwner[category] {
                    problems.append("departments[\(index)].categories: '\(category)' is already handled by '\(owner)'")
                }
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
            for day in calendar.weekdays ?? [] where !(1...7).contains(day) {
                problems.append("calendar.weekdays: \(day) is not 1 (Monday) … 7 (Sunday)")
            }
            for holiday in calendar.holidays ?? [] where Timestamp.parse(holiday + "T00:00:00Z") == nil {
                problems.append("calendar.holidays: '\(holiday)' is not yyyy-MM-dd")
            }
            if let offset = calendar.utcOffsetHours, !(-12...14).contains(offset) {
                problems.append("calendar.utcOffsetHours: \(offset) is out of range")
            }
        }
        for (index, category) in (direct ?? []).enumerated() where categoryOwner[category] == nil {
            problems.append("direct[\(index)]: no department handles category '\(category)'")
        }
        for (index, member) in (staff ?? []).enumerated() {
            if let language = member.language, !Self.languages.contains(language) {
                problems.append("staff[\(index)].language: '\(language)' is not one of \(Self.languages.joined(separator: ", "))")
            }
            if let email = member.email, !SubmissionDraft.isEmail(email) {
                problems.append("staff[\(index)].email: '\(email)' is not an email address")
            }
            if let phone = member.phone, !SubmissionDraft.isPhone(phone) {
                problems.append("staff[\(index)].phone: '\(phone)' is not a phone number")
            }
            if let webhook = member.webhook, !(webhook.hasPrefix("https://") || webhook.hasPrefix("http://")) || URL(string: webhook)?.host == nil {
                problems.append("staff[\(index)].webhook: '\(webhook)' is not an http(s) URL")
            }
            if let quiet = member.quietHours, QuietHours(parsing: quiet) == nil {
                problems.append("staff[\(index)].quietHours: '\(quiet)' is not like 22:00-07:00")
            }
            if let digest = member.digest, SLAPolicy.parseDuration(digest) == nil {
                problems.append("staff[\(index)].digest: '\(digest)' is not a duration like 30m or 2h")
            }
            if !Self.roles.contains(member.role) {
                problems.append("staff[\(index)].role: '\(member.role)' is not one of \(Self.roles.sorted().joined(separator: ", "))")
            }
            guard let unit = try? UnitRef(parsing: member.unit) else {
                problems.append("staff[\(index)].unit: '\(member.unit)' is not tier:id")
                continue
            }
            let known: Bool =
                switch unit.tier {
                case .grid: gridIDs.contains(unit.id)
                case .street: streetIDs.contains(unit.id) || unit.id == Self.triageDesk.id
                case .district: departmentIDs.contains(unit.id)
                case .oversight: unit.id == district.id
                }
            if !known { problems.append("staff[\(index)].unit: unknown unit '\(member.unit)'") }
        }
        return problems
    }
}
