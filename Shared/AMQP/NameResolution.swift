import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Name resolution with a bound. librabbitmq resolves a broker's host name with
/// `getaddrinfo`, which has no timeout of its own: a resolver that never answers would hold a
/// connect (and the thread making it) for as long as the system's resolver settings allow,
/// retries included. A connect first resolves the name here, on a thread of its own, and gives
/// up after the connect timeout; only a name that resolved goes on to librabbitmq (whose own
/// lookup then finds the answer fresh). Addresses (`127.0.0.1`, `::1`) are never looked up.
package enum NameResolution {
    /// What a lookup found: `nil` when the name resolves, else the resolver's reason.
    package typealias Lookup = @Sendable (_ host: String, _ port: Int) -> String?

    /// `getaddrinfo` for a TCP connection to `host:port`.
    package static let system: Lookup = { host, port in
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        if let result { freeaddrinfo(result) }
        return status == 0 ? nil : String(cString: gai_strerror(status))
    }

    /// Whether `host` is a literal IPv4 or IPv6 address (nothing to resolve).
    package static func isAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// Resolves `host` within `limit`, or says why not: the resolver's own answer ("Name or
    /// service not known") or that it did not answer in time. A lookup that outlives its bound
    /// finishes on its own thread, unwaited for.
    package static func check(_ host: String, port: Int, within limit: Duration, lookup: @escaping Lookup = system) -> String? {
        if isAddress(host) { return nil }
        let answer = Mutex<String??>(nil)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            let reason = lookup(host, port)
            answer.withLock { $0 = .some(reason) }
            done.signal()
        }
        thread.name = "amqp-resolve"
        thread.start()
        let seconds = Double(limit.components.seconds) + Double(limit.components.attoseconds) / 1e18
        guard done.wait(timeout: .now() + seconds) == .success, let reason = answer.withLock({ $0 }) else {
            return "resolving '\(host)' did not answer within \(limit)"
        }
        return reason.map { "cannot resolve '\(host)': \($0)" }
    }
}
