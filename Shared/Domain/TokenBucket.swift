/// A token bucket: `capacity` requests at once, refilled at `capacity` per `period`. Pure
/// arithmetic on the times it is given, so it is tested without a clock.
public struct TokenBucket: Sendable, Equatable {
    /// The most tokens the bucket holds (the burst allowed after a quiet spell).
    public let capacity: Double
    /// Tokens added per second.
    public let refillPerSecond: Double
    public private(set) var tokens: Double
    /// When `tokens` was last brought up to date (seconds on the caller's monotonic clock).
    public private(set) var updatedAt: Double

    /// A full bucket allowing `limit` requests per `periodSeconds`.
    public init(limit: Int, periodSeconds: Double, now: Double) {
        precondition(limit > 0 && periodSeconds > 0)
        self.capacity = Double(limit)
        self.refillPerSecond = Double(limit) / periodSeconds
        self.tokens = Double(limit)
        self.updatedAt = now
    }

    /// Takes one token at `now`: `nil` when allowed, otherwise the seconds until one is there
    /// (nothing is taken then).
    public mutating func take(now: Double) -> Double? {
        refill(now: now)
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        return (1 - tokens) / refillPerSecond
    }

    /// Whether the bucket is full at `now` (it can be forgotten: a new one is the same).
    public func isFull(now: Double) -> Bool {
        tokens + max(0, now - updatedAt) * refillPerSecond >= capacity
    }

    private mutating func refill(now: Double) {
        guard now > updatedAt else { return }
        tokens = min(capacity, tokens + (now - updatedAt) * refillPerSecond)
        updatedAt = now
    }
}
