import GridLoopDomain

/// Who is asking, proven by a verified access token.
public struct Principal: Sendable, Equatable, CustomStringConvertible {
    /// A staff id (`cui-chunhua`) or a service's name (`service:city-dashboard`).
    public var id: String
    /// One of the org's roles, or ``Principal/serviceRole``.
    public var role: String
    /// The unit a staff member works for; `nil` for services.
    public var unit: UnitRef?

    /// The role of machine clients that read district reports.
    public static let serviceRole = "service"
    /// Every role a token may carry.
    public static let roles: Set<String> = ["grid-worker", "grid-leader", "street-officer", "department-officer", "supervisor", serviceRole]

    public init(id: String, role: String, unit: UnitRef?) {
        self.id = id
        self.role = role
        self.unit = unit
    }

    /// Supervisors and services read everything in the district.
    public var readsDistrict: Bool { role == "supervisor" || role == Self.serviceRole }

    public var description: String { unit.map { "\(id) (\(role), \($0))" } ?? "\(id) (\(role))" }
}

/// Why a request was refused before it reached the data: `401` when nobody is proven
/// (no token, a bad or expired one), `403` when the one proven may not do this.
public struct AuthFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// No credentials, or credentials that prove nobody: HTTP 401.
        case unauthenticated
        /// Proven, but not allowed here: HTTP 403.
        case forbidden
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public static func unauthenticated(_ message: String) -> AuthFailure { AuthFailure(.unauthenticated, message) }
    public static func forbidden(_ message: String) -> AuthFailure { AuthFailure(.forbidden, message) }

    public var description: String { message }
}
