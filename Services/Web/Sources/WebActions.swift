import GridLoopDomain

/// What a signed-in staff member may do to a request now, decided from what the page knows
/// (their role, unit and id; the request's state, unit and claimer; a summons of their unit).
/// Routing checks every command again; the page only offers what would pass.
package enum WebActions {
    /// The request as the page sees it.
    package struct Situation: Sendable, Equatable {
        package var state: RequestState
        /// The unit holding the request.
        package var unit: UnitRef?
        package var claimedBy: String?
        /// The request's home grid: the grid of its first assignment, as routing counts it
        /// (feedback is the home grid's).
        package var homeGrid: String?
        /// The viewer's summons of this request, if their department was summoned: not yet
        /// acknowledged, or acknowledged and not done.
        package var summons: StaffInbox.State?

        package init(state: RequestState, unit: UnitRef?, claimedBy: String?, homeGrid: String?, summons: StaffInbox.State? = nil) {
            self.state = state
            self.unit = unit
            self.claimedBy = claimedBy
            self.homeGrid = homeGrid
            self.summons = summons
        }
    }

    /// The viewer.
    package struct Viewer: Sendable, Equatable {
        package var id: String
        package var role: String
        package var unit: UnitRef?

        package init(id: String, role: String, unit: UnitRef?) {
            self.id = id
            self.role = role
            self.unit = unit
        }
    }

    /// Whether `viewer` may correct the request's category (`recategorize`): the staff of the
    /// unit holding it, while it is open (once claimed, the claimer).
    package static func mayRecategorize(_ viewer: Viewer, on situation: Situation) -> Bool {
        guard situation.summons == nil, viewer.unit != nil, viewer.unit == situation.unit,
            ["grid-worker", "grid-leader", "street-officer", "department-officer"].contains(viewer.role)
        else { return false }
        return situation.state == .assigned || (situation.state == .claimed && situation.claimedBy == viewer.id)
    }

    /// The actions `viewer` may take on a request in `situation`, in the order the page shows them.
    package static func available(to viewer: Viewer, on situation: Situation) -> [StaffCommand.Action] {
        // A summoned department answers its summons; the rest of the request is not its own.
        if let summons = situation.summons {
            switch summons {
            case .summoned: return [.claim]
            // Reported done by whoever acknowledged it.
            case .acknowledged: return situation.claimedBy == viewer.id ? [.resolve] : []
            default: return []
            }
        }
        // Returned for arbitration goes to the street centre: not from a street itself.
        let mayReturn = situation.unit?.tier != .street
        var actions: [StaffCommand.Action] = []
        let holds = viewer.unit != nil && viewer.unit == situation.unit
        let leader = ["grid-leader", "street-officer", "department-officer"].contains(viewer.role)
        let staffRole = ["grid-worker", "grid-leader", "street-officer", "department-officer"].contains(viewer.role)
        if holds, staffRole {
            switch situation.state {
            case .assigned:
                actions += [.claim] + (mayReturn ? [.return] : []) + [.reject, .merge]
                if leader { actions.append(.reassign) }
            case .claimed where situation.claimedBy == viewer.id:
                actions.append(.resolve)
                if situation.unit?.tier != .district { actions.append(.escalate) }
                if viewer.role == "street-officer", situation.unit?.tier == .street { actions.append(.summon) }
                actions += (mayReturn ? [.return] : []) + [.reject, .merge]
                if leader { actions.append(.reassign) }
            case .claimed:
                if leader { actions.append(.reassign) }
            default:
                break
            }
        }
        if viewer.role == "supervisor", [.assigned, .claimed].contains(situation.state) { actions.append(.reassign) }
        // 分析研判: the street links other reports of its grids into an incident it holds, and
        // takes a wrongly linked report out (routing checks the street).
        if viewer.role == "street-officer" {
            if holds, [.assigned, .claimed].contains(situation.state) { actions.append(.link) }
            if situation.state == .merged { actions.append(.unlink) }
        }
        // The on-site check and the resident's verdict: the home grid's staff, or a supervisor.
        if situation.state == .resolved {
            // As routing decides (StaffAuthorization.refusal): the home grid's staff, a supervisor, or
            // the street officer when the request has no home grid.
            let homeStaff =
                ["grid-worker", "grid-leader"].contains(viewer.role) && viewer.unit?.tier == .grid && viewer.unit?.id == situation.homeGrid
            let streetWithoutGrid = situation.homeGrid == nil && viewer.role == "street-officer" && holds
            if homeStaff || viewer.role == "supervisor" || streetWithoutGrid { actions.append(.feedback) }
        }
        return actions
    }
}
