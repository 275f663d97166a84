import Crypto
import Foundation

/// API keys for intake clients (hotline systems, Open311 clients): `gl_<id>_<secret>`, shown
/// once; only the SHA-256 of the whole key is stored.
public enum APIKey {
    /// A new key and its id.
    public static func generate() -> (id: String, key: String) {
        let id = String(UUID().uuidString.lowercased().prefix(8))
        var bytes = [UInt8](repeating: 0, count: 24)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        let secret = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return (id, "gl_\(id)_\(secret)")
    }

    /// The stored form: lowercase hex SHA-256.
    public static func hash(_ key: String) -> String {
        SHA256.hash(data: Data(key.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
