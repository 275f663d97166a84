import GridLoopAuth
import GridLoopDomain
import GridLoopServiceSupport
import Hummingbird
import Logging
import PostgresNIO

/// Who may read which report, decided here (reporting owns the read models) from the token
/// and reporting's copy of the org: district-wide tables and the dashboard's overview for
/// supervisors and services; a worker's page for themselves and those over them; a request's
/// page for the units in its scope (``ReadScope``).
struct ReportingAccess: Sendable {
    let authenticator: Authenticator
    let postgres: PostgresClient

    /// The principal, if district-wide reports are theirs to read.
    @discardableResult
    func district(_ request: Request, what: String) async throws -> Principal {
        let principal = try await authenticator.principal(of: request)
        do { try ReadScope.requireDistrict(principal, what: what) } catch { throw Problem(error) }
        return principal
    }

    /// The street whose hotspots the principal may read, from the `street` asked for: any (or
    /// the whole district, `nil`) for supervisors and services; their own for a street officer
    /// (asked or not); refused for others.
    func hotspotStreet(_ request: Request, asked: String?) async throws -> String? {
        let principal = try await authenticator.principal(of: request)
        if principal.readsDistrict { return asked }
        guard principal.role == "street-officer", let unit = principal.unit, unit.tier == .street else {
            throw Problem(AuthFailure.forbidden("hotspots are for street officers (their street) and supervisors; not \(principal)"))
        }
        guard asked == nil || asked == unit.id else {
            throw Problem(AuthFailure.forbidden("\(principal.id) reads the hotspots of street \(unit.id), not \(asked ?? "")"))
        }
        return unit.id
    }

    /// Refuses unless the principal may read staff member `staff`'s figures.
    func staff(_ request: Request, staff: String, logger: Logger) async throws {
        let principal = try await authenticator.principal(of: request)
        let rows = try await postgres.query(
            "SELECT s.unit, u.street FROM reporting.staff s LEFT JOIN reporting.units u ON u.ref = s.unit WHERE s.id = \(staff)",
            logger: logger
        ).collect()
        let (unitText, street) = try rows.first?.decode((String, String?).self) ?? ("", nil)
        let unit = try? UnitRef(parsing: unitText)
        guard ReadScope.mayReadStaff(principal, staff: staff, staffUnit: unit, staffStreet: street) else {
            throw Problem(AuthFailure.forbidden("\(staff)'s figures are for them, the officers over them and supervisors; not \(principal)"))
        }
    }

    /// Refuses unless the principal may read request `id` (a missing request passes: the caller answers 404).
    func request(_ request: Request, id: String, logger: Logger) async throws {
        let principal = try await authenticator.principal(of: request)
        guard !principal.readsDistrict else { return }
        let rows = try await postgres.query(
            """
            SELECT r.grid, u.street, r.unit, coalesce((SELECT array_agg(DISTINCT a.unit) FROM reporting.assignments a WHERE a.request_id = r.id), '{}')
            FROM reporting.requests r LEFT JOIN reporting.units u ON u.ref = 'grid:' || r.grid WHERE r.id = \(id)
            """,
            logger: logger
        ).collect()
        guard let (grid, street, current, assigned) = try rows.first?.decode((String?, String?, String?, [String]).self) else { return }
        let units = Set((assigned + [current].compactMap { $0 }).compactMap { try? UnitRef(parsing: $0) })
        do { try ReadScope.requireRead(principal, request: id, facts: ReadScope.RequestFacts(grid: grid, street: street, units: units)) } catch {
            throw Problem(error)
        }
    }
}
