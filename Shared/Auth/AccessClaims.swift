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
