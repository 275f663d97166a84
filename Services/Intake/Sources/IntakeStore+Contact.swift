import Foundation
import GridLoopAuth
import GridLoopDomain
import GridLoopServiceSupport
import Logging
import PostgresNIO

/// The reporter's contact details unmasked: only for the staff of the unit holding the
/// request now and of the reporter's grid, and every view goes on the request's trail.
struct ReporterContact: Codable, Sendable {
    var requestId: String
    var name: String
    var phone: String
    var email: String?
}

extension IntakeStore {
    /// The reporter's contact for `principal`, recorded on the trail as `contact.viewed`;
    /// `nil` if there is no such request. Throws ``AuthFailure`` when it is not theirs to see.
    func contact(of requestId: UUID, for principal: Principal, logger: Logger) async throws -> ReporterContact? {
        // The refusal comes out of the transaction as a value (errors thrown inside are wrapped).
        let outcome = try await postgres.transaction(logger: logger) { [self] connection -> Result<ReporterContact, AuthFailure>? in
            // The row lock orders this trail append with the workflow's.
            let rows = try await connection.query(
                """
                SELECT r.reporter_name, r.reporter_phone, r.unit, r.version, r.state,
                    (SELECT t.unit FROM intake.trail t WHERE t.request_id = r.id AND t.unit LIKE 'grid:%' ORDER BY t.seq LIMIT 1)
                FROM intake.requests r WHERE r.id = \(requestId) FOR UPDATE
                """,
                logger: logger
            ).collect()
            guard let (name, sealed, unit, version, state, homeUnit) = try rows.first?.decode((String, String, String?, Int, String, String?).self)
            else { return nil }
            let current = unit.flatMap { try? UnitRef(parsing: $0) }
            let homeGrid = homeUnit.flatMap { try? UnitRef(parsing: $0) }?.id
            guard ReadScope.mayViewContact(principal, currentUnit: current, homeGrid: homeGrid) else {
                return .failure(
                    .forbidden(
                        "the reporter's contact is for the staff of \(unit ?? "the request's unit") and of its grid (\(homeGrid.map { "grid:\($0)" } ?? "none")); \(principal) sees it masked"
                    )
                )
            }
            let phone = try protector.open(sealed)
            try await appendTrail(
                requestId: requestId,
                eventId: "contact:\(UUID().uuidString.lowercased())",
                type: "contact.viewed",
                version: version,
                state: RequestState(rawValue: state) ?? .received,
                unit: principal.unit,
                actor: principal.id,
                detail: "viewed the reporter's contact details",
                occurredAt: Date(),
                on: connection,
                logger: logger
            )
            logger.notice("reporter contact viewed", metadata: ["request": "\(requestId)", "staff": "\(principal.id)"])
            return .success(ReporterContact(requestId: requestId.uuidString.lowercased(), name: name, phone: phone, email: nil))
        }
        return try outcome?.get()
    }
}
