import GridLoopDomain

/// What a principal may read, decided by the service that owns the data from the facts it
/// holds: a grid's staff read the requests of their grid, a street officer those of the
/// street's grids, a department officer those assigned or summoned to the department (each
/// also any request their unit ever held); supervisors and services read the whole district.
public enum ReadScope {
    /// What the owning service knows about one request.
    public struct RequestFacts: Sendable {
        /// The grid of the reporter's household (the request's home grid), if any.
        public var grid: String?
        /// The street that grid belongs to.
        public var street: String?
        /// Every unit the request was ever assigned or summoned to.
        public var units: Set<UnitRef>

        public init(grid: String?, street: String?, units: Set<UnitRef>) {
            self.grid = grid
            self.street = street
            self.units = units
        }
    }

    /// Whether `principal` may read the request described by `facts`.
    public static func mayRead(_ principal: Principal, request facts: RequestFacts) -> Bool {
        if principal.readsDistrict { return true }
        guard let unit = principal.unit else { return false }
        if facts.units.contains(unit) { return true }
        switch (principal.role, unit.tier) {
        case ("grid-worker", .grid), ("grid-leader", .grid): return facts.grid == unit.id
        case ("street-officer", .street): return facts.street == unit.id
        default: return false
        }
    }

    /// Refuses with a `403` naming the principal's scope unless ``mayRead(_:request:)``.
    public static func requireRead(_ principal: Principal, request id: String, facts: RequestFacts) throws(AuthFailure) {
        guard mayRead(principal, request: facts) else {
            throw .forbidden("request \(id) is outside the scope of \(principal)")
        }
    }

    /// Whether `principal` may read the figures of staff member `staff`, who works for
    /// `staffUnit` (whose street, for a grid, is `staffStreet`): themselves, the officers and
    /// leaders of their unit, the street officer over their grid, supervisors and services.
    public static func mayReadStaff(_ principal: Principal, staff: String, staffUnit: UnitRef?, staffStreet: String?) -> Bool {
        if principal.readsDistrict || principal.id == staff { return true }
        guard let unit = principal.unit, let staffUnit else { return false }
        switch principal.role {
        case "grid-leader", "department-officer": return staffUnit == unit
        case "street-officer": return staffUnit == unit || (staffUnit.tier == .grid && staffStreet == unit.id && unit.tier == .street)
        default: return false
        }
    }

    /// Whether `principal` may read `unit`'s inbox (its open requests and summonses): the
    /// unit's own staff, as for its commands, and supervisors and services for any unit.
    public static func mayReadInbox(_ principal: Principal, unit: UnitRef) -> Bool {
        principal.readsDistrict || principal.unit == unit
    }

    /// Refuses with a `403` unless ``mayReadInbox(_:unit:)``.
    public static func requireInbox(_ principal: Principal, unit: UnitRef) throws(AuthFailure) {
        guard mayReadInbox(principal, unit: unit) else {
            throw .forbidden(
                "the inbox of \(unit) is for its own staff and supervisors; \(principal) reads \(principal.unit.map { "the inbox of \($0)" } ?? "no unit's inbox")"
            )
        }
    }

    /// District-wide reports (figures, backlog, overdue, subsidy, trend, the dashboard):
    /// supervisors and services.
    public static func requireDistrict(_ principal: Principal, what: String) throws(AuthFailure) {
        guard principal.readsDistrict else {
            throw .forbidden(
                "\(what) covers the whole district: supervisors only; \(principal.id) may read their own figures and the requests of their unit"
            )
        }
    }

    /// Whether `principal` may see the reporter's contact details unmasked: the staff of the
    /// unit holding the request now, and the staff of the reporter's grid.
    public static func mayViewContact(_ principal: Principal, currentUnit: UnitRef?, homeGrid: String?) -> Bool {
        guard let unit = principal.unit, principal.role != Principal.serviceRole, principal.role != "supervisor" else { return false }
        if let currentUnit, currentUnit == unit { return true }
        return unit.tier == .grid && unit.id == homeGrid
    }
}
