import Crypto
import Foundation
import GridLoopDomain
import JWTKit

/// Issues and verifies GridLoop access tokens: HS256 only (the one allow-listed algorithm;
/// `alg: none` and every other algorithm are refused), issuer and audience checked, at most
/// 15 minutes from issue to expiry. A previous secret may be kept while tokens signed with
/// it run out (rotation); tokens name their key by `kid`, a digest of the secret.
public struct TokenAuthority: Sendable {
    /// The longest a token lives: 15 minutes.
    public static let maximumLifetime: TimeInterval = 15 * 60
    /// Secrets shorter than this are refused (HS256 wants at least 256 bits).
    public static let minimumSecretLength = 32

    public let issuer: String
    public let audience: String
    private let keys: JWTKeyCollection
    private let signingKid: JWKIdentifier

    /// - Parameters:
    ///   - secret: `GRIDLOOP_AUTH_SECRET`, at least 32 characters.
    ///   - previousSecret: `GRIDLOOP_AUTH_PREVIOUS_SECRET`: still verifies, never signs.
    public init(
        secret: String,
        previousSecret: String? = nil,
        issuer: String = "gridloop",
        audience: String = "gridloop"
    ) async throws(AuthConfigurationError) {
        guard secret.utf8.count >= Self.minimumSecretLength else {
            throw AuthConfigurationError("GRIDLOOP_AUTH_SECRET must be at least \(Self.minimumSecretLength) characters (e.g. `openssl rand -hex 32`)")
        }
        self.issuer = issuer
        self.audience = audience
        let keys = JWTKeyCollection()
        let current = Self.kid(of: secret)
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256, kid: current)
        if let previousSecret, !previousSecret.isEmpty, previousSecret != secret {
            await keys.add(hmac: HMACKey(from: previousSecret), digestAlgorithm: .sha256, kid: Self.kid(of: previousSecret))
        }
        self.keys = keys
        self.signingKid = current
    }

    /// A signed token for `subject` acting as `role` for `unit`, valid for `lifetime` (capped at 15 minutes).
    public func issue(
        subject: String,
        role: String,
        unit: UnitRef?,
        lifetime: TimeInterval = maximumLifetime,
        now: Date = Date()
    ) async throws -> IssuedToken {
        let expiresAt = now.addingTimeInterval(min(max(lifetime, 1), Self.maximumLifetime))
        let claims = AccessClaims(
            issuer: issuer,
            audience: audience,
            subject: subject,
            role: role,
            unit: unit?.description,
            issuedAt: now,
            expiresAt: expiresAt
        )
        let token = try await keys.sign(claims, kid: signingKid)
        return IssuedToken(token: token, principal: Principal(id: subject, role: role, unit: unit), expiresAt: expiresAt)
    }

    /// The principal a token proves, or why it proves nobody (``AuthFailure/Kind/unauthenticated``).
    public func verify(_ token: String, now: Date = Date()) async throws(AuthFailure) -> Principal {
        let claims: AccessClaims
        do {
            claims = try await keys.verify(token, as: AccessClaims.self)
        } catch {
            throw .unauthenticated("invalid token: \(Self.reason(error))")
        }
        guard claims.iss.value == issuer else { throw .unauthenticated("invalid token: issued by '\(claims.iss.value)', not '\(issuer)'") }
        guard claims.aud.value.contains(audience) else {
            throw .unauthenticated("invalid token: meant for \(claims.aud.value.joined(separator: ", ")), not '\(audience)'")
        }
        guard claims.exp.value > now else {
            throw .unauthenticated("token expired at \(ISO8601DateFormatter().string(from: claims.exp.value)); get a new one")
        }
        guard claims.iat.value <= now.addingTimeInterval(60) else { throw .unauthenticated("invalid token: issued in the future") }
        guard claims.exp.value.timeIntervalSince(claims.iat.value) <= Self.maximumLifetime + 1 else {
            throw .unauthenticated("invalid token: lives longer than 15 minutes")
        }
        guard Principal.roles.contains(claims.role) else { throw .unauthenticated("invalid token: unknown role '\(claims.role)'") }
        var unit: UnitRef?
        if let text = claims.unit {
            do { unit = try UnitRef(parsing: text) } catch { throw .unauthenticated("invalid token: bad unit '\(text)'") }
        }
        if claims.role != Principal.serviceRole, unit == nil { throw .unauthenticated("invalid token: a staff token names its unit") }
        return Principal(id: claims.sub.value, role: claims.role, unit: unit)
    }

    /// The principal of an `Authorization: Bearer …` header value.
    public func verify(authorization header: String?, now: Date = Date()) async throws(AuthFailure) -> Principal {
        guard let token = Self.bearerToken(header) else {
            throw .unauthenticated("sign in: send `Authorization: Bearer <token>` (`gridloop auth token` or POST /v1/auth/token)")
        }
        return try await verify(token, now: now)
    }

    /// The token of `Bearer <token>`, if that is what `header` is.
    public static func bearerToken(_ header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    /// The key id of a secret: the first 12 hex digits of its SHA-256 (names the key, reveals nothing).
    static func kid(of secret: String) -> JWKIdentifier {
        JWKIdentifier(string: SHA256.hash(data: Data(secret.utf8)).prefix(6).map { String(format: "%02x", $0) }.joined())
    }

    private static func reason(_ error: any Error) -> String {
        if let jwt = error as? JWTError {
            switch jwt.errorType {
            case .signatureVerificationFailed: return "signature does not match"
            case .unknownKID: return "signed with an unknown key"
            case .malformedToken: return "malformed"
            case .missingKIDHeader: return "no key id"
            default: return "\(jwt.errorType)"
            }
        }
        return "malformed"
    }
}

/// A token and what it says.
public struct IssuedToken: Sendable, Codable, Equatable {
    public var token: String
    public var expiresAt: Date
    public var subject: String
    public var role: String
    public var unit: String?

    public init(token: String, principal: Principal, expiresAt: Date) {
        self.token = token
        self.expiresAt = expiresAt
        self.subject = principal.id
        self.role = principal.role
        self.unit = principal.unit?.description
    }
}

/// A setting that keeps tokens from being issued or verified.
public struct AuthConfigurationError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
