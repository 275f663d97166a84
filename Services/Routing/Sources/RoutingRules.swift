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

    package init(
        knownGrid: String? = nil,
        householdGrid: String? = nil,
        addressGrid: String? = nil,
        directDepartment: String? = nil,
        coordinateGrid: String? = nil
    ) {
        self.coordinateGrid = coordinateGrid
        self.knownGrid = knownGrid
        self.householdGrid = householdGrid
        self.addressGrid = addressGrid
        self.directDepartment = directDepartment
    }
}

/// The first assignment of a new request: a `direct` category (an emergency, a utility outage)
/// goes straight to its department; otherwise household, grid, address or coordinates → grid; a request that
/// cannot be placed goes to the triage desk of the street tier, never dropped.
package enum RoutingRules {
    /// Where unplaceable requests go.
    package static let triage = OrgFile.triageDesk

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
