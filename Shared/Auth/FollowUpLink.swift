import Crypto
import Foundation

/// The resident's 回访 link: after a resolution, notification sends the reporter
/// `/followup/{id}?v={version}&s={signature}`; routing accepts one answer for it. The signature
/// is an HMAC under a key derived from `GRIDLOOP_AUTH_SECRET` (so no new secret to deploy),
/// over the request id and the version the resolution gave the request: once the request
/// moves on (the answer closes or reopens it, or staff record the verdict), the link is stale.
public struct FollowUpLink: Sendable {
    let key: SymmetricKey

    /// `purpose` separates the keys of different links (a follow-up link cannot be used as a
    /// photo-upload token).
    public init(authSecret: String, purpose: String = "follow-up link") {
        let derived = HMAC<SHA256>.authenticationCode(for: Data("gridloop \(purpose) v1".utf8), using: SymmetricKey(data: Data(authSecret.utf8)))
        key = SymmetricKey(data: Data(derived))
    }

    /// The link's signature for `requestId` (lowercase uuid) at `version`.
    public func signature(requestId: String, version: Int) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data("\(requestId.lowercased()).\(version)".utf8), using: key)
        return Base64URL.encode(Data(code.prefix(18)))
    }

    /// Whether `signature` is this link's (compared in constant time).
    public func verify(requestId: String, version: Int, signature: String) -> Bool {
        let expected = Array(self.signature(requestId: requestId, version: version).utf8)
        let given = Array(signature.utf8)
        guard expected.count == given.count else { return false }
        return zip(expected, given).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// The path of the link (the web app's page), to put after the public base URL.
    public func path(requestId: String, version: Int) -> String {
        "/followup/\(requestId.lowercased())?v=\(version)&s=\(signature(requestId: requestId, version: version))"
    }
}
