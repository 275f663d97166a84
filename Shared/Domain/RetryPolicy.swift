/// How often and how long to wait between attempts: capped exponential backoff with full jitter.
public struct RetryPolicy: Sendable, Equatable {
    /// Delay before the second attempt (before jitter).
    public var initialDelay: Duration
    /// No delay is longer than this.
    public var maximumDelay: Duration
    /// Attempts in all, or `nil` to retry for ever (reconnect loops).
    public var maxAttempts: Int?

    public init(initialDelay: Duration = .milliseconds(200), maximumDelay: Duration = .seconds(10), maxAttempts: Int? = nil) {
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.maxAttempts = maxAttempts
    }

    /// The cap for attempt `attempt` (1-based): `initialDelay × 2^(attempt-1)`, at most `maximumDelay`.
    public func ceiling(afterAttempt attempt: Int) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let scaled = initialDelay * (1 << exponent)
        return min(scaled, maximumDelay)
    }

    /// The delay after failed attempt `attempt`: uniformly random in [ceiling/2, ceiling], so
    /// that many clients reconnecting at once spread out; `nil` once attempts are used up.
    public func delay(afterAttempt attempt: Int, using generator: inout some RandomNumberGenerator) -> Duration? {
        if let maxAttempts, attempt >= maxAttempts { return nil }
        let cap = ceiling(afterAttempt: attempt)
        let capNanos = cap.components.seconds * 1_000_000_000 + cap.components.attoseconds / 1_000_000_000
        guard capNanos > 1 else { return cap }
        let nanos = Int64.random(in: (capNanos / 2)...capNanos, using: &generator)
        return .nanoseconds(nanos)
    }

    /// ``delay(afterAttempt:using:)`` with the system generator.
    public func delay(afterAttempt attempt: Int) -> Duration? {
        var generator = SystemRandomNumberGenerator()
        return delay(afterAttempt: attempt, using: &generator)
    }
}
