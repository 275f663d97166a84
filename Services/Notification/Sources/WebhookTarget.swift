import Foundation

/// Which webhook targets are refused: loopback, private (RFC 1918, unique-local) and
/// link-local addresses, named directly or through `localhost` — unless configuration allows
/// them (`NOTIFICATION_ALLOW_PRIVATE_TARGETS=true`, e.g. for a receiver on the same host).
package enum WebhookTarget {
    /// Why `url` is refused, or `nil` when it may be used.
    package static func refusal(_ url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme, ["http", "https"].contains(scheme),
            let host = components.host?.lowercased(), !host.isEmpty
        else { return "target refused: '\(url)' is not an http(s) URL" }
        if host == "localhost" || host.hasSuffix(".localhost") { return "target refused: \(host) is loopback" }
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        if let kind = privateKind(ipv4: bare) ?? privateKind(ipv6: bare) {
            return "target refused: \(bare) is \(kind) (set NOTIFICATION_ALLOW_PRIVATE_TARGETS=true to allow)"
        }
        return nil
    }

    private static func privateKind(ipv4 text: String) -> String? {
        let parts = text.split(separator: ".").compactMap { UInt8($0) }
        guard parts.count == 4, text.split(separator: ".").count == 4 else { return nil }
        switch (parts[0], parts[1]) {
        case (127, _): return "loopback"
        case (10, _), (192, 168): return "private"
        case (172, let second) where (16...31).contains(second): return "private"
        case (169, 254): return "link-local"
        case (0, _): return "unspecified"
        default: return nil
        }
    }

    private static func privateKind(ipv6 text: String) -> String? {
        guard text.contains(":") else { return nil }
        let lower = text.lowercased()
        if lower == "::1" { return "loopback" }
        if lower == "::" { return "unspecified" }
        if lower.hasPrefix("fe8") || lower.hasPrefix("fe9") || lower.hasPrefix("fea") || lower.hasPrefix("feb") { return "link-local" }
        if lower.hasPrefix("fc") || lower.hasPrefix("fd") { return "private" }
        return nil
    }
}
