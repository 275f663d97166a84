import Foundation
import GridLoopAuth
import GridLoopDomain

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
package enum StaffAuthorization {
    /// Why `actor` may not do `action`, or `nil` when they may.
    package static func refusal(
        _ action: StaffCommand.Action,
        actor: Actor?,
        staffId: String,
        actingFor: UnitRef?,
        requestUnit: UnitRef,
        homeGrid: String?,
        requestStreet: String? = nil,
        summoned: Set<UnitRef>
    ) -> CommandRefused? {
        guard let actor else { return CommandRefused(.forbidden, "unknown staff '\(staffId)': not in the org file") }
        if let actingFor, actingFor != actor.unit {
            return CommandRefused(.forbidden, "\(actor.id) works for \(actor.unit), not \(actingFor)")
        }
        let isSupervisor = actor.role == "supervisor"
        let ownsIt = actor.unit == requestUnit
        let summonedHere = summoned.contains(actor.unit)
        let elsewhere = CommandRefused(.forbidden, "\(actor.id) works for \(actor.unit); the request is at \(requestUnit)")
        switch action {
        case .feedback:
            let homeStaff = ["grid-worker", "grid-leader"].contains(actor.role) && actor.unit.tier == .grid && actor.unit.id == homeGrid
            let streetWithoutGrid = homeGrid == nil && actor.role == "street-officer"
            return homeStaff || isSupervisor || streetWithoutGrid
                ? nil
                : CommandRefused(
                    .forbidden,
                    "feedback is recorded by the staff of the request's grid (\(homeGrid.map { "grid:\($0)" } ?? "none")) or a supervisor"
                )
        case .reassign where isSupervisor:
            return nil
        case _ where isSupervisor:
            return CommandRefused(.forbidden, "supervisors oversee, reassign and record feedback; they do not work queues")
        case .claim, .resolve:
            return ownsIt || summonedHere ? nil : elsewhere
        case .escalate, .return, .reject, .merge, .recategorize:
            return ownsIt ? nil : elsewhere
        case .summon:
            guard actor.role == "street-officer" else { return CommandRefused(.forbidden, "only street officers summon departments (吹哨报到)") }
            return ownsIt ? nil : elsewhere
        case .link, .unlink:
            guard actor.role == "street-officer" else {
                return CommandRefused(.forbidden, "only street officers link reports into an incident or take them out (分析研判)")
            }
            let ofTheStreet = requestStreet.flatMap { try? UnitRef(tier: .street, id: $0) }
            return actor.unit == ofTheStreet || ownsIt
                ? nil
                : CommandRefused(.forbidden, "\(actor.id) works for \(actor.unit); the report is from \(ofTheStreet?.description ?? "no street")")
        case .reassign:
            guard ["grid-leader", "street-officer", "department-officer"].contains(actor.role) else {
                return CommandRefused(.forbidden, "only a leader reassigns: grid leaders, street officers, department officers, supervisors")
            }
            return ownsIt ? nil : elsewhere
        }
    }
}

extension StaffAuthorization {
    /// Refuses `command` unless its actor may take it on `request` now (see ``refusal(_:actor:staffId:actingFor:requestUnit:homeGrid:requestStreet:summoned:)``).
    static func check(_ command: StaffCommand, on request: RequestRecord, at unit: UnitRef, store: some RoutingStore) async throws {
        let actor = try await store.staffMember(command.staff)
        let home = try await store.homeUnit(of: request.id)
        let summoned = try await store.outstandingSummons(of: request.id).compactMap { try? UnitRef(parsing: $0) }
        if let refusal = refusal(
            command.action,
            actor: actor,
            staffId: command.staff,
            actingFor: command.unit,
            requestUnit: unit,
            homeGrid: home?.tier == .grid ? home?.id : nil,
            requestStreet: request.streetId,
            summoned: Set(summoned)
        ) {
            throw refusal
        }
    }
}

extension Workflow {
    /// The command as the staff member its token proves (`staff` filled in when blank), with
    /// the token dropped; refused `unauthenticated` without a good token, `forbidden` when the
    /// token is someone else's or a service's.
    func authenticate(_ command: StaffCommand) async throws(CommandRefused) -> StaffCommand {
        let principal: Principal
        do throws(AuthFailure) {
            guard let token = command.token, !token.isEmpty else {
                throw AuthFailure.unauthenticated(
                    "a staff command carries its actor's token (`gridloop auth token`, or `Authorization: Bearer` over HTTP)"
                )
            }
            principal = try await authenticator.authority.verify(token)
        } catch {
            throw CommandRefused(RefusalCode(authFailure: error.kind), error.message)
        }
        guard principal.role != Principal.serviceRole else {
            throw CommandRefused(.forbidden, "\(principal.id) is a service: services read reports, they do not act on requests")
        }
        var command = command
        if command.staff.isEmpty { command.staff = principal.id }
        guard command.staff == principal.id else {
            throw CommandRefused(.forbidden, "the token proves \(principal.id); it cannot act as \(command.staff)")
        }
        command.token = nil
        return command
    }
}
