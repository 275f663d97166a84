import GridLoopDomain
import Testing

@Suite("Token bucket (rate limits)")
struct TokenBucketTests {
    @Test func aFullBucketAllowsTheBurstThenSaysHowLongToWait() {
        var bucket = TokenBucket(limit: 3, periodSeconds: 60, now: 0)
        #expect(bucket.take(now: 0) == nil)
        #expect(bucket.take(now: 0) == nil)
        #expect(bucket.take(now: 0) == nil)
        // 3 a minute: one token every 20 s.
        #expect(bucket.take(now: 0) == 20)
        #expect(bucket.take(now: 5) == 15, "a refused request takes nothing")
    }

    @Test func tokensComeBackAtTheRateAndNoMoreThanTheCapacity() {
        var bucket = TokenBucket(limit: 3, periodSeconds: 60, now: 0)
        for _ in 0..<3 { _ = bucket.take(now: 0) }
        #expect(bucket.take(now: 20) == nil, "one token after 20 s")
        #expect(bucket.take(now: 20) == 20)
        #expect(!bucket.isFull(now: 79), "from empty at 20 s, three tokens take 60 s")
        #expect(bucket.isFull(now: 80))
        for _ in 0..<3 { #expect(bucket.take(now: 3600) == nil) }
        #expect(bucket.take(now: 3600) != nil, "an hour of quiet refills 3, not 180")
    }

    @Test func aClockGoingBackDoesNotMintTokens() {
        var bucket = TokenBucket(limit: 1, periodSeconds: 10, now: 100)
        #expect(bucket.take(now: 100) == nil)
        #expect(bucket.take(now: 50) == 10)
    }
}
