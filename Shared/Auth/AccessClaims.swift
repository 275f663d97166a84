import Foundation
import JWTKit

/// The claims of a GridLoop access token (a JWT signed with HS256): who (`sub`), as what
/// (`role`, `unit`, copied from the org when the token was issued), for whom (`aud`), by whom
/// (`iss`) and until when (`exp`, at most ``TokenAuthority/maximumLifetime`` after `iat`).
public struct AccessClaims: JWTPayload, Equatable {
    public var iss: IssuerClaim
    public var aud: AudienceClaim
    public var sub: SubjectClaim
    public var iat: IssuedAtClaim
    public var exp: ExpirationClaim
    /// `grid-worker`, `grid-leader`, `street-officer`, `department-officer`, `supervisor`, or
    /// `service` (a system reading district reports, e.g. a city dashboard).
    public var role: String
    /// The unit the staff member works for (`grid:guanghua-3`); none for services.
    public var unit: String?

    public init(issuer: String, audience: String, subject: String, role: String, unit: String?, issuedAt: Date, expiresAt: Date) {
        self.iss = IssuerClaim(value: issuer)
        self.aud = AudienceClaim(value: [audience])
        self.sub = SubjectClaim(value: subject)
        self.iat = IssuedAtClaim(value: issuedAt)
        self.exp = ExpirationClaim(value: expiresAt)
        self.role = role
        self.unit = unit
    }

    /// Signature checks come first (jwt-kit); ``TokenAuthority/verify(_:now:)`` checks the
    /// claims against its own clock, issuer and audience.
    public func verify(using algorithm: some JWTAlgorithm) async throws {}
}

extension AccessClaims {
    /// The `sub` a token claims, read without checking anything: for a client's own sanity
    /// checks (the CLI refusing to act as someone else), never for a decision.
    public static func unverifiedSubject(of token: String) -> String? {
        let parts = token.split(separator: ".")
        guard parts.count == 3, let data = Base64URL.decode(parts[1]),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object["sub"] as? String
    }
}

/// Base64url without padding, as JWTs write their parts.
public enum Base64URL {
    public static func encode(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(
            of: "=",
            with: ""
        )
    }

    public static func decode(_ text: some StringProtocol) -> Data? {
        var padded = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while padded.count % 4 != 0 { padded += "=" }
        return Data(base64Encoded: padded)
    }
}
