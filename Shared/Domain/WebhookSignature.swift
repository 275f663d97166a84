import Crypto
import Foundation

/// Standard Webhooks signatures: `webhook-signature: v1,<base64 HMAC-SHA256>` over
/// `"<webhook-id>.<webhook-timestamp>.<body>"`, keyed by the secret (`whsec_<base64 key>`).
/// Several space-separated signatures allow key rotation.
public enum WebhookSignature {
    /// The `v1,…` signature of a delivery.
    public static func sign(id: String, timestamp: Int, body: [UInt8], secret: String) -> String? {
        guard let key = key(secret) else { return nil }
        var content = Array("\(id).\(timestamp).".utf8)
        content += body
        let mac = HMAC<SHA256>.authenticationCode(for: content, using: SymmetricKey(data: key))
        return "v1," + Data(mac).base64EncodedString()
    }

    /// The header value for all `secrets` (current first, then those being rotated out).
    public static func header(id: String, timestamp: Int, body: [UInt8], secrets: [String]) -> String {
        secrets.compactMap { sign(id: id, timestamp: timestamp, body: body, secret: $0) }.joined(separator: " ")
    }

    /// Whether `header` carries a valid signature by `secret`.
    public static func verify(header: String, id: String, timestamp: Int, body: [UInt8], secret: String) -> Bool {
        guard let expected = sign(id: id, timestamp: timestamp, body: body, secret: secret) else { return false }
        return header.split(separator: " ").contains { Substring(expected) == $0 }
    }

    private static func key(_ secret: String) -> Data? {
        let encoded = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
        return Data(base64Encoded: encoded)
    }
}
