import Foundation
import GridLoopAuth
import GridLoopDomain
import GridLoopServiceSupport
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO

/// Staff sign-in secrets (the web login's password): random, shown once by
/// `gridloop auth credential STAFF`, stored as SHA-256 (like API keys), replaced by issuing a
/// new one, gone with the staff member from the org file.
package struct StaffCredentials: Sendable {
    let postgres: PostgresClient

    package init(postgres: PostgresClient) {
        self.postgres = postgres
    }

    /// A new secret for `staff` (replacing any earlier one), or `nil` if nobody has that id.
    package func issue(for staff: String, logger: Logger) async throws -> String? {
        guard try await member(staff, logger: logger) != nil else { return nil }
        let secret = APIKey.generate().key
        try await postgres.query(
            """
            INSERT INTO routing.staff_credentials (staff_id, secret_hash) VALUES (\(staff), \(APIKey.hash(secret)))
            ON CONFLICT (staff_id) DO UPDATE SET secret_hash = EXCLUDED.secret_hash, created_at = now()
            """,
            logger: logger
        )
        return secret
    }

    /// The org's role and unit of `staff` if `secret` is theirs.
    package func verify(staff: String, secret: String, logger: Logger) async throws -> (role: String, unit: UnitRef)? {
        let rows = try await postgres.query(
            """
            SELECT s.role, s.unit FROM routing.staff_credentials c JOIN routing.staff s ON s.id = c.staff_id
            WHERE c.staff_id = \(staff) AND c.secret_hash = \(APIKey.hash(secret))
            """,
            logger: logger
        ).collect()
        guard let (role, unit) = try rows.first?.decode((String, String).self) else { return nil }
        return try (role, UnitRef(parsing: unit))
    }

    /// The org's role and unit of `staff` today.
    package func member(_ staff: String, logger: Logger) async throws -> (role: String, unit: UnitRef)? {
        let rows = try await postgres.query("SELECT role, unit FROM routing.staff WHERE id = \(staff)", logger: logger).collect()
        guard let (role, unit) = try rows.first?.decode((String, String).self) else { return nil }
        return try (role, UnitRef(parsing: unit))
    }
}

/// `POST /v1/auth/token` (the web login: staff id and sign-in secret → a 15-minute token, also
/// set as an HttpOnly cookie for the dashboard) and `POST /v1/auth/refresh` (a valid token →
/// a fresh one with the org's current role and unit).
struct AuthController: Sendable {
    let credentials: StaffCredentials
    let authenticator: Authenticator
    /// Sign-in attempts per client address (brute force is slowed, not just logged).
    let attempts: RateLimiter
    /// Peers whose `X-Forwarded-For` names the client (`ROUTING_TRUSTED_PROXIES`: the staff
    /// web app signs everyone in from one address).
    var trustedProxies = TrustedProxies("")

    struct Login: Codable {
        var staff: String
        var secret: String
    }

    func addRoutes(to router: Router<GridLoopRequestContext>) {
        router.post("v1/auth/token") { request, context in try await login(request, context: context) }
        router.post("v1/auth/refresh") { request, context in try await refresh(request, context: context) }
    }

    private func login(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let client = context.client(of: request, trusting: trustedProxies)
        if let wait = attempts.take(client) {
            throw Problem.rateLimited("at most \(attempts.limit) sign-in attempts a minute from one client", retryAfter: wait)
        }
        var request = request
        let body = try await request.collectBody(upTo: 4096)
        let login: Login
        do { login = try WireJSON.decode(Login.self, from: body.readableBytesView) } catch {
            throw Problem.invalidJSON(error, title: "Malformed sign-in")
        }
        guard let member = try await credentials.verify(staff: login.staff, secret: login.secret, logger: context.logger) else {
            context.logger.notice("sign-in refused", metadata: ["staff": "\(login.staff)", "client": "\(client)"])
            throw Problem(AuthFailure.unauthenticated("unknown staff id or wrong secret"))
        }
        let issued = try await authenticator.authority.issue(subject: login.staff, role: member.role, unit: member.unit)
        context.logger.info("signed in", metadata: ["staff": "\(login.staff)"])
        return try Self.respond(issued)
    }

    private func refresh(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        if principal.role == Principal.serviceRole {
            throw Problem(AuthFailure.forbidden("service tokens are issued by `gridloop auth token --service`, not refreshed"))
        }
        guard let member = try await credentials.member(principal.id, logger: context.logger) else {
            throw Problem(AuthFailure.unauthenticated("\(principal.id) is no longer in the org file"))
        }
        return try Self.respond(try await authenticator.authority.issue(subject: principal.id, role: member.role, unit: member.unit))
    }

    private static func respond(_ issued: IssuedToken) throws -> Response {
        let maxAge = Int(issued.expiresAt.timeIntervalSinceNow.rounded())
        let cookie = "\(Authenticator.cookieName)=\(issued.token); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict"
        return try JSONResponse.make(issued, headers: [.setCookie: cookie, .cacheControl: "no-store"])
    }
}
