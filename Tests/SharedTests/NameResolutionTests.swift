import Foundation
import GridLoopAMQP
import Synchronization
import Testing

/// The bound on resolving a broker's host name (librabbitmq's own lookup has none).
@Suite("Broker name resolution")
struct NameResolutionTests {
    @Test("a resolver that does not answer is given up on at the bound, with the reason")
    func hangingResolver() {
        let started = ContinuousClock.now
        let reason = NameResolution.check("rabbit.example", port: 5672, within: .milliseconds(200)) { _, _ in
            Thread.sleep(forTimeInterval: 3)
            return nil
        }
        let took = ContinuousClock.now - started
        #expect(reason == "resolving 'rabbit.example' did not answer within 0.2 seconds")
        #expect(took < .seconds(2), "gave up after \(took), not when the lookup ended")
    }

    @Test("addresses are never looked up; a name that resolves passes; a failure says the resolver's words")
    func answers() {
        let asked = Mutex<[String]>([])
        let recording: NameResolution.Lookup = { host, _ in
            asked.withLock { $0.append(host) }
            return host == "broker.internal" ? nil : "Name or service not known"
        }
        #expect(NameResolution.check("127.0.0.1", port: 5672, within: .seconds(1), lookup: recording) == nil)
        #expect(NameResolution.check("::1", port: 5672, within: .seconds(1), lookup: recording) == nil)
        #expect(NameResolution.check("broker.internal", port: 5672, within: .seconds(1), lookup: recording) == nil)
        #expect(
            NameResolution.check("rabit.internal", port: 5672, within: .seconds(1), lookup: recording)
                == "cannot resolve 'rabit.internal': Name or service not known"
        )
        #expect(asked.withLock { $0 } == ["broker.internal", "rabit.internal"])
    }

    @Test("the system resolver: localhost resolves, a name under .invalid does not")
    func systemResolver() {
        #expect(NameResolution.check("localhost", port: 5672, within: .seconds(5)) == nil)
        #expect(NameResolution.check("no-such-broker.invalid", port: 5672, within: .seconds(5)) != nil)
    }
}
