import GridLoopDomain

/// What routing knows about a request's location, looked up in the org data.
package struct PlacementFacts: Sendable, Equatable {
    /// The request's `gridId`, if that grid exists.
    package var knownGrid: String?
    /// The grid of the request's household, if that household exists.
    package var householdGrid: String?
    /// The grid of the household at the request's address, if one matches.
    package var addressGrid: String?

    package init(knownGrid: String? = nil, householdGrid: String? = nil, addressGrid: String? = nil) {
        self.knownGrid = knownGrid
        self.householdGrid = householdGrid
        self.addressGrid = addressGrid
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

/// The first assignment of a new request: household or address → grid; a request that cannot
/// be placed goes to the triage desk of the street tier, never dropped.
package enum RoutingRules {
    /// Where unplaceable requests go.
    package static let triage = try! UnitRef(tier: .street, id: "triage")

    /// The unit and the reason, for the trail.
    package static func firstUnit(for location: Location, facts: PlacementFacts) -> (unit: UnitRef, reason: String) {
        if let grid = facts.householdGrid, let unit = try? UnitRef(tier: .grid, id: grid) {
            return (unit, "grid of household \(location.householdId ?? "?")")
        }
        if let grid = facts.knownGrid, let unit = try? UnitRef(tier: .grid, id: grid) {
            return (unit, "grid named by the submission")
        }
        if let grid = facts.addressGrid, let unit = try? UnitRef(tier: .grid, id: grid) {
            return (unit, "grid of the household at the address")
        }
        return (triage, "location could not be placed in a grid: triage")
    }
}
