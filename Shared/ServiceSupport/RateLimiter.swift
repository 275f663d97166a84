import Foundation
import GridLoopDomain
import Synchronization

/// Per-key rate limits (one ``TokenBucket`` per key: a client address, a reporter's phone),
/// kept in this process's memory: with N replicas behind a load balancer a key gets up to N
/// times the limit. Buckets that have refilled are forgotten, so memory follows the keys seen
/// in the last period.
package final class RateLimiter: Sendable {
    /// Requests allowed per `period` and key; 0 turns the limit off.
    package let limit: Int
    package let period: Duration
    private let buckets = Mutex<[String: TokenBucket]>([:])
    private let clock = ContinuousClock()
    private let origin: ContinuousClock.Instant

    package init(limit: Int, period: Duration) {
        self.limit = max(0, limit)
        self.period = period
        self.origin = clock.now
    }

    /// Counts a request for `key`: `nil` when allowed, otherwise how long until the next one
    /// would be (whole seconds, at least 1: the `Retry-After`).
    package func take(_ key: String) -> Int? {
        guard limit > 0 else { return nil }
        let elapsed = (clock.now - origin).components
        let now = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        let seconds = Double(period.components.seconds)
        return buckets.withLock { buckets -> Int? in
            if buckets.count > 10_000 { buckets = buckets.filter { !$0.value.isFull(now: now) } }
            var bucket = buckets[key] ?? TokenBucket(limit: limit, periodSeconds: seconds, now: now)
            let wait = bucket.take(now: now)
            buckets[key] = bucket
            return wait.map { max(1, Int($0.rounded(.up))) }
        }
    }
}
