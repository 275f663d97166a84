import Configuration
import GridLoopAuth
import GridLoopDomain
import HTTPTypes
import Hummingbird

/// Proves who sends an HTTP request: a bearer token in `Authorization`, or the
/// `gridloop_token` cookie the web login sets (for the dashboard in a browser).
package struct Authenticator: Sendable {
    package let authority: TokenAuthority
    /// The cookie `POST /v1/auth/token` sets for browsers.
    package static let cookieName = "gridloop_token"

    package init(authority: TokenAuthority) {
        self.authority = authority
    }

    /// Reads `GRIDLOOP_AUTH_SECRET` (required, ≥ 32 characters), `GRIDLOOP_AUTH_PREVIOUS_SECRET`
    /// (optional, during rotation), `GRIDLOOP_AUTH_ISSUER` and `GRIDLOOP_AUTH_AUDIENCE`
    /// (both `gridloop`).
    package static func fromConfiguration(_ reader: ConfigReader) async throws -> Authenticator {
        guard let secret = reader.string(forKey: "gridloop.auth.secret", isSecret: true), !secret.isEmpty else {
            throw AuthConfigurationError(
                "GRIDLOOP_AUTH_SECRET is not set: staff tokens cannot be verified (generate one with `openssl rand -hex 32`)"
            )
        }
        let authority = try await TokenAuthority(
            secret: secret,
            previousSecret: reader.string(forKey: "gridloop.auth.previous.secret", isSecret: true),
            issuer: reader.string(forKey: "gridloop.auth.issuer", default: "gridloop"),
            audience: reader.string(forKey: "gridloop.auth.audience", default: "gridloop")
        )
        return Authenticator(authority: authority)
    }

    /// The principal proven by `request`, or a `401` problem saying what is missing or wrong.
    package func principal(of request: Request) async throws -> Principal {
        let token = try Self.token(of: request)
        do { return try await authority.verify(token) } catch { throw Problem(error) }
    }

    /// The token `request` carries (bearer header, else the login cookie), unverified; a `401`
    /// problem without one.
    package static func token(of request: Request) throws -> String {
        if let header = request.headers[.authorization] {
            guard let token = TokenAuthority.bearerToken(header) else {
                throw Problem(AuthFailure.unauthenticated("send `Authorization: Bearer <token>`"))
            }
            return token
        }
        if let cookie = cookie(cookieName, in: request.headers[values: .cookie]), !cookie.isEmpty { return cookie }
        throw Problem(AuthFailure.unauthenticated("sign in: send `Authorization: Bearer <token>` (`gridloop auth token` or POST /v1/auth/token)"))
    }

    /// The value of cookie `name` in `Cookie` headers.
    package static func cookie(_ name: String, in headers: [String]) -> String? {
        for header in headers {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name {
                    return String(parts[1]).trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return nil
    }
}

extension Problem {
    /// The `WWW-Authenticate` value of every `401`.
    package static let bearerChallenge = #"Bearer realm="gridloop""#

    /// `401 unauthenticated` (with a `WWW-Authenticate: Bearer` challenge) or `403 forbidden`.
    package init(_ failure: AuthFailure) {
        switch failure.kind {
        case .unauthenticated:
            self.init(status: .unauthorized, code: "unauthenticated", title: "Not signed in", detail: failure.message)
            self.challenge = Self.bearerChallenge
        case .forbidden:
            self.init(status: .forbidden, code: "forbidden", title: "Not allowed", detail: failure.message)
        }
    }
}
