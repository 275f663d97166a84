import GridLoopDomain

/// What routing knows about a request's location, looked up in the org data.
package struct PlacementFacts: Sendable, Equatable {
    /// The request's `gridId`, if that grid exists.
    package var knownGrid: String?
    /// The grid of the request's household, if that household exists.
    package var householdGrid: String?
    /// The grid of the household at the request's address, if one matches.
    package var addressGrid: String?
    /// The department of a category that skips the grid and street (`direct` in the org file).
    package var directDepartment: String?
    /// The grid whose area contains the request's coordinates.
    package var coordinateGrid: String?

    package init(knownGrid: String? = nil, householdGrid: String? = nil, addressGrid: String? = nil, directDepartment: String? = nil, coordinateGrid: String? = nil) {
        self.coordinateGrid = coordinateGrid
        self.knownGrid = knownGrid
        self.householdGrid = householdGrid
        self.addressGrid = addressGrid
        self.directDepartment = directDepartment
    }
}

/// Why an escalation cannot go anywhere.
package struct EscalationRefused: Error, Equatable, CustomStringConvertible {
    /// `conflict` (nowhere further) or `no_route` (the org data names no unit).
    package var code: String
    package var description: String
}

/// Escalation: a grid goes to its street (or township) centre; a street centre (or the triage
/// desk) goes to the district department that handles the request's category; the district
/// tier escalates no further (overdue items there go to the supervisors and stay open).
package enum EscalationRules {
    /// The unit one tier up from `current`.
    package static func nextUnit(from current: UnitRef, category: String, streetOfGrid: String?, departmentOfCategory: String?) -> Result<UnitRef, EscalationRefused> {
        switch current.tier {
        case .grid:
            guard let street = streetOfGrid, let unit = try? UnitRef(tier: .street, id: street) else {
                return .success(RoutingRules.triage)
            }
            return .success(unit)
        case .street:
            guard let department = departmentOfCategory, let unit = try? UnitRef(tier: .district, id: department) else {
                return .failure(EscalationRefused(code: "no_route", description: "no district department handles category '\(category)'; add it to the org file"))
            }
            return .success(unit)
        case .district, .oversight:
            return .failure(EscalationRefused(code: "conflict", description: "a \(current.tier.rawValue) assignment cannot be escalated further; it stays open until solved"))
        }
    }
}

/// The first assignment of a new request: a `direct` category (an emergency, a utility outage)
/// goes straight to its department; otherwise household, grid, address or coordinates → grid; a request that
/// cannot be placed goes to the triage desk of the street tier, never dropped.
package enum RoutingRules {
    /// Where unplaceable requests go.
    package static let triage = try! UnitRef(tier: .street, id: "triage")

    /// The unit and the reason, for the trail.
    package static func firstUnit(for location: Location, facts: PlacementFacts) -> (unit: UnitRef, reason: String) {
        if let department = facts.directDepartment, let unit = try? UnitRef(tier: .district, id: department) {
            return (unit, "category goes straight to its department; the street is informed")
        }
        if let grid = facts.householdGrid, let unit = try? UnitRef(tier: .grid, id: grid) {
            return (unit, "grid of household \(location.householdId ?? "?")")
        }
        if let grid = facts.knownGrid, let unit = try? UnitRef(tier: .grid, id: grid) {
            return (unit, "grid named by the submission")
        }
        if let grid = facts.addressGrid, let unit = try? UnitRef(tier: .grid, id: grid) {
            return (unit, "grid of the household at the address")
        }
        if let grid = facts.coordinateGrid, let unit = try? UnitRef(tier: .grid, id: grid) {
            return (unit, "grid whose area contains the coordinates")
        }
        return (triage, "location could not be placed in a grid: triage")
    }
}

/// A member of staff as the org file names them.
package struct Actor: Sendable, Equatable {
    package var id: String
    /// grid-worker, grid-leader, street-officer, department-officer, supervisor.
    package var role: String
    package var unit: UnitRef

    package init(id: String, role: String, unit: UnitRef) {
        self.id = id
        self.role = role
        self.unit = unit
    }
}

/// Who may do what to a request: role × action × scope, decided by routing, which owns the
/// state. Staff act only for their own unit; a summoned department acts on its summons;
/// feedback comes from the staff of the request's home grid (the grid worker who checks on
/// site) or a supervisor; only street officers summon; supervisors oversee and do not work
/// queues.
package enum Authorization {
    /// Why `actor` may not do `action`, or `nil` when they may.
    package static func refusal(
        _ action: StaffCommand.Action, actor: Actor?, staffId: String, actingFor: UnitRef?, requestUnit: UnitRef, homeGrid: String?, summoned: Set<UnitRef>
    ) -> (code: String, message: String)? {
        guard let actor else { return ("forbidden", "unknown staff '\(staffId)': not in the org file") }
        if let actingFor, actingFor != actor.unit {
            return ("forbidden", "\(actor.id) works for \(actor.unit), not \(actingFor)")
        }
        let isSupervisor = actor.role == "supervisor"
        let ownsIt = actor.unit == requestUnit
        let summonedHere = summoned.contains(actor.unit)
        switch action {
        case .feedback:
            let homeStaff = ["grid-worker", "grid-leader"].contains(actor.role) && actor.unit.tier == .grid && actor.unit.id == homeGrid
            let streetWithoutGrid = homeGrid == nil && actor.role == "street-officer"
            return homeStaff || isSupervisor || streetWithoutGrid
                ? nil : ("forbidden", "feedback is recorded by the staff of the request's grid (\(homeGrid.map { "grid:\($0)" } ?? "none")) or a supervisor")
        case .reassign where isSupervisor:
            return nil
        case _ where isSupervisor:
            return ("forbidden", "supervisors oversee, reassign and record feedback; they do not work queues")
        case .claim, .resolve:
            return ownsIt || summonedHere ? nil : ("forbidden", "\(actor.id) works for \(actor.unit); the request is at \(requestUnit)")
        case .escalate, .return:
            return ownsIt ? nil : ("forbidden", "\(actor.id) works for \(actor.unit); the request is at \(requestUnit)")
        case .summon:
            guard actor.role == "street-officer" else { return ("forbidden", "only street officers summon departments (吹哨报到)") }
            return ownsIt ? nil : ("forbidden", "\(actor.id) works for \(actor.unit); the request is at \(requestUnit)")
        case .reject, .merge:
            return ownsIt ? nil : ("forbidden", "\(actor.id) works for \(actor.unit); the request is at \(requestUnit)")
        case .reassign:
            guard ["grid-leader", "street-officer", "department-officer"].contains(actor.role) else {
                return ("forbidden", "only a leader reassigns: grid leaders, street officers, department officers, supervisors")
            }
            return ownsIt ? nil : ("forbidden", "\(actor.id) works for \(actor.unit); the request is at \(requestUnit)")
        }
    }
}
