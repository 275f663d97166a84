import Foundation
import HTTPTypes
import Hummingbird

/// Which peers may say who their client is (`X-Forwarded-For`): the staff web app and
/// reverse proxies in front of a service. Rate limits per client count the address a trusted
/// proxy names; anyone else's `X-Forwarded-For` is ignored, so it cannot be used to dodge them.
///
/// Configured as a comma-separated list of IPv4/IPv6 addresses and IPv4 CIDR ranges
/// (`127.0.0.1,10.0.0.0/8`); empty trusts nobody.
package struct TrustedProxies: Sendable, Equatable {
    package var addresses: Set<String>
    /// IPv4 ranges as (network, mask).
    package var ranges: [ClosedRange<UInt32>]

    package init(_ list: String) {
        var addresses: Set<String> = []
        var ranges: [ClosedRange<UInt32>] = []
        for entry in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            let parts = entry.split(separator: "/", maxSplits: 1)
            if parts.count == 2, let base = Self.ipv4(String(parts[0])), let bits = Int(parts[1]), (0...32).contains(bits) {
                let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
                ranges.append((base & mask)...((base & mask) | ~mask))
            } else {
                addresses.insert(entry.lowercased())
            }
        }
        self.addresses = addresses
        self.ranges = ranges
    }

    package func trusts(_ address: String) -> Bool {
        if addresses.contains(address.lowercased()) { return true }
        guard let value = Self.ipv4(address) else { return false }
        return ranges.contains { $0.contains(value) }
    }

    /// The client behind `peer`: walking `X-Forwarded-For` from the right (the entry the
    /// nearest proxy added) past trusted proxies; `peer` itself when it is not trusted.
    package func client(peer: String, forwardedFor headers: [String]) -> String {
        guard trusts(peer) else { return peer }
        let hops = headers.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for hop in hops.reversed() where !trusts(hop) {
            return hop
        }
        return hops.first ?? peer
    }

    static func ipv4(_ text: String) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for octet in octets {
            guard octet.count <= 3, let byte = UInt8(octet) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }
}

extension GridLoopRequestContext {
    /// The client's address as rate limits count it: the peer, or whom a trusted proxy names.
    package func client(of request: Request, trusting proxies: TrustedProxies) -> String {
        proxies.client(peer: clientAddress, forwardedFor: request.headers[values: HTTPField.Name("X-Forwarded-For")!])
    }
}
