import Foundation

/// A unit's open work as its staff see it: the requests it holds (assigned, claimed, resolved
/// and waiting for the resident's verdict) and the summonses (吹哨报到) it must answer, each with
/// its deadlines. Routing answers `GET /v1/inbox` with an ``InboxPage``.
public enum StaffInbox {
    /// What an item is to the unit.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// The unit holds the request (its owner assignment).
        case request
        /// The unit was summoned to help the request's owner.
        case summons
    }

    /// Where an item stands, as the inbox filters it: the request's state for a held request,
    /// `summoned` / `acknowledged` for a summons.
    public enum State: String, Codable, Sendable, CaseIterable {
        case assigned, claimed, resolved, summoned, acknowledged
    }

    /// One item.
    public struct Item: Codable, Sendable, Equatable {
        public var requestId: String
        public var assignmentId: String
        public var kind: Kind
        public var state: State
        public var category: String
        public var description: String
        public var gridId: String?
        public var householdId: String?
        public var address: String?
        public var assignedAt: Date
        /// Seconds since the item reached the unit.
        public var ageSeconds: Int
        /// The staff member who claimed (or acknowledged) it.
        public var claimedBy: String?
        public var claimedAt: Date?
        /// When it must be claimed (acknowledged), while it is not.
        public var claimDueAt: Date?
        /// When it must be resolved (done), once claimed.
        public var resolveDueAt: Date?
        /// Past 80% of the running deadline (the warning went out), not yet past it.
        public var warning: Bool
        /// Past the running deadline.
        public var overdue: Bool
        /// A request this one may repeat (same category and place, recent).
        public var possibleDuplicateOf: String?
        /// The incident it belongs to, if many reports are one problem.
        public var incidentId: String?
        /// For a summons: who blew the whistle.
        public var summonedBy: String?
        /// How often the resident's verdict sent it back.
        public var reopenCount: Int

        public init(
            requestId: String,
            assignmentId: String,
            kind: Kind,
            state: State,
            category: String,
            description: String,
            gridId: String? = nil,
            householdId: String? = nil,
            address: String? = nil,
            assignedAt: Date,
            ageSeconds: Int,
            claimedBy: String? = nil,
            claimedAt: Date? = nil,
            claimDueAt: Date? = nil,
            resolveDueAt: Date? = nil,
            warning: Bool = false,
            overdue: Bool = false,
            possibleDuplicateOf: String? = nil,
            incidentId: String? = nil,
            summonedBy: String? = nil,
            reopenCount: Int = 0
        ) {
            self.requestId = requestId
            self.assignmentId = assignmentId
            self.kind = kind
            self.state = state
            self.category = category
            self.description = description
            self.gridId = gridId
            self.householdId = householdId
            self.address = address
            self.assignedAt = assignedAt
            self.ageSeconds = ageSeconds
            self.claimedBy = claimedBy
            self.claimedAt = claimedAt
            self.claimDueAt = claimDueAt
            self.resolveDueAt = resolveDueAt
            self.warning = warning
            self.overdue = overdue
            self.possibleDuplicateOf = possibleDuplicateOf
            self.incidentId = incidentId
            self.summonedBy = summonedBy
            self.reopenCount = reopenCount
        }
    }

    /// The unit's items by state, before any filter (for badges).
    public struct Counts: Codable, Sendable, Equatable {
        public var total = 0
        public var byState: [String: Int] = [:]
        public var overdue = 0
        public var warning = 0
        /// Items nobody has claimed yet.
        public var unclaimed = 0

        public init() {}
    }

    /// One page of a unit's inbox.
    public struct Page: Codable, Sendable, Equatable {
        public var unit: String
        public var counts: Counts
        /// Items matching the filter.
        public var matching: Int
        public var items: [Item]
        /// The cursor of the next page, if there is one.
        public var next: String?

        public init(unit: String, counts: Counts, matching: Int, items: [Item], next: String?) {
            self.unit = unit
            self.counts = counts
            self.matching = matching
            self.items = items
            self.next = next
        }
    }

    /// Query parameters that cannot be read, each with what is expected.
    public struct InvalidQuery: Error, Sendable, Equatable {
        public var errors: [FieldError]
    }

    /// What a reader asks for: states (none: all), a category, overdue only or not overdue, only
    /// what the reader claimed, and a page.
    public struct Filter: Sendable, Equatable {
        public var states: Set<State> = []
        public var category: String?
        public var overdue: Bool?
        public var mine = false
        /// One request's items only (its page asks for them).
        public var request: String?
        public var limit = 50
        public var offset = 0

        public static let maximumLimit = 200

        public init() {}

        /// Parses the query parameters of `GET /v1/inbox` (`state=assigned,claimed`,
        /// `category=`, `overdue=true|false`, `mine=true|false`, `request=`, `limit=1…200`, `cursor=`),
        /// naming every parameter that is wrong.
        public init(query: [String: String]) throws(InvalidQuery) {
            var errors: [FieldError] = []
            func invalid(_ field: String, _ message: String) { errors.append(FieldError(field: field, code: "invalid", message: message)) }
            if let states = query["state"], !states.isEmpty {
                let names = states.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                let unknown = names.filter { State(rawValue: $0) == nil }
                if unknown.isEmpty {
                    self.states = Set(names.compactMap(State.init(rawValue:)))
                } else {
                    invalid(
                        "state",
                        "one or more of \(State.allCases.map(\.rawValue).joined(separator: ", ")), comma-separated; not '\(unknown.joined(separator: ","))'"
                    )
                }
            }
            if let category = query["category"], !category.isEmpty { self.category = category }
            if let request = query["request"], !request.isEmpty {
                if let id = RequestID(request) { self.request = id.description } else { invalid("request", "a request id (UUID)") }
            }
            func flag(_ name: String) -> Bool? {
                switch query[name] {
                case nil, "": return nil
                case "true", "1": return true
                case "false", "0": return false
                default:
                    invalid(name, "true or false")
                    return nil
                }
            }
            self.overdue = flag("overdue")
            self.mine = flag("mine") ?? false
            if let limit = query["limit"] {
                if let value = Int(limit), (1...Self.maximumLimit).contains(value) {
                    self.limit = value
                } else {
                    invalid("limit", "a whole number from 1 to \(Self.maximumLimit)")
                }
            }
            if let cursor = query["cursor"], !cursor.isEmpty {
                if let offset = Self.offset(ofCursor: cursor) { self.offset = offset } else { invalid("cursor", "not a cursor this API gave out") }
            }
            guard errors.isEmpty else { throw InvalidQuery(errors: errors) }
        }

        /// The cursor of the page after `offset` + `count`.
        public static func cursor(offset: Int) -> String { "o\(offset)" }

        static func offset(ofCursor cursor: String) -> Int? {
            guard cursor.hasPrefix("o"), let value = Int(cursor.dropFirst()), value >= 0, value <= 1_000_000 else { return nil }
            return value
        }
    }

    /// Where an item stands against its deadlines at `now`: the running deadline is the claim
    /// deadline until the item is claimed, then the resolve deadline (a resolved request waits
    /// for the resident: no deadline of the unit's runs).
    public static func flags(
        state: State,
        now: Date,
        claimDue: Date?,
        resolveDue: Date?,
        claimWarning: Date?,
        resolveWarning: Date?
    ) -> (warning: Bool, overdue: Bool) {
        let (due, warn): (Date?, Date?) =
            switch state {
            case .assigned, .summoned: (claimDue, claimWarning)
            case .claimed, .acknowledged: (resolveDue, resolveWarning)
            case .resolved: (nil, nil)
            }
        let overdue = due.map { $0 <= now } ?? false
        let warning = !overdue && (warn.map { $0 <= now } ?? false)
        return (warning, overdue)
    }

    /// The order staff work in: overdue first, then by the running deadline (soonest first),
    /// items without one last, oldest first; ties by assignment id.
    public static func workOrder(_ lhs: Item, _ rhs: Item) -> Bool {
        if lhs.overdue != rhs.overdue { return lhs.overdue }
        let left = lhs.claimDueAt ?? lhs.resolveDueAt
        let right = rhs.claimDueAt ?? rhs.resolveDueAt
        switch (left, right) {
        case let (l?, r?) where l != r: return l < r
        case (.some, nil): return true
        case (nil, .some): return false
        default: break
        }
        if lhs.assignedAt != rhs.assignedAt { return lhs.assignedAt < rhs.assignedAt }
        return lhs.assignmentId < rhs.assignmentId
    }

    /// The items matching `filter` for `reader`, in work order, and the unit's counts.
    public static func page(unit: String, items: [Item], filter: Filter, reader: String) -> Page {
        var counts = Counts()
        for item in items {
            counts.total += 1
            counts.byState[item.state.rawValue, default: 0] += 1
            if item.overdue { counts.overdue += 1 }
            if item.warning { counts.warning += 1 }
            if item.claimedBy == nil, item.state == .assigned || item.state == .summoned { counts.unclaimed += 1 }
        }
        let matching = items.filter { item in
            (filter.states.isEmpty || filter.states.contains(item.state))
                && (filter.category.map { $0 == item.category } ?? true)
                && (filter.overdue.map { $0 == item.overdue } ?? true)
                && (!filter.mine || item.claimedBy == reader)
                && (filter.request.map { $0 == item.requestId } ?? true)
        }.sorted(by: workOrder)
        let slice = Array(matching.dropFirst(filter.offset).prefix(filter.limit))
        let end = filter.offset + slice.count
        return Page(unit: unit, counts: counts, matching: matching.count, items: slice, next: end < matching.count ? Filter.cursor(offset: end) : nil)
    }
}
