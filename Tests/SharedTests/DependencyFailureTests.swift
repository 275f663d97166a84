import GridLoopAMQP
import GridLoopDomain
import Testing

/// When a failing database or broker is logged, and how a broker failure is put in words.
@Suite("Dependency failures")
struct DependencyFailureTests {
    let start = ContinuousClock.now

    func failure(_ reason: String = "connection refused", permanent: Bool = false) -> DependencyFailure {
        DependencyFailure(
            dependency: "database",
            target: "postgres://gridloop@127.0.0.1:5432/gridloop",
            reason: reason,
            permanent: permanent,
            fix: "start it"
        )
    }

    @Test("a passing outage: a warning first, an error once it lasts 30 s, then one line a minute, one on recovery")
    func transient() {
        var log = DependencyFailureLog()
        #expect(log.failed(failure(), at: start) == .warning)
        for second in 1..<30 { #expect(log.failed(failure(), at: start + .seconds(second)) == .none, "second \(second)") }
        #expect(log.failed(failure(), at: start + .seconds(30)) == .error)
        #expect(log.failed(failure(), at: start + .seconds(31)) == .none)
        #expect(log.failed(failure(), at: start + .seconds(89)) == .none)
        #expect(log.failed(failure(), at: start + .seconds(90)) == .error)
        #expect(log.succeeded(at: start + .seconds(95)) == .recovered(downFor: .seconds(95)))
        #expect(log.current == nil)
        #expect(log.succeeded(at: start + .seconds(96)) == DependencyFailureLog.Decision.none)
        // A new outage starts over with a warning.
        #expect(log.failed(failure(), at: start + .seconds(100)) == .warning)
    }

    @Test("a configuration that can never work is an error at once, then one line a minute, not one per retry")
    func permanent() {
        var log = DependencyFailureLog()
        let refused = failure("password authentication failed (SQLSTATE 28P01)", permanent: true)
        #expect(log.failed(refused, at: start) == .error)
        let lines = (1...120).map { log.failed(refused, at: start + .milliseconds(500 * $0)) }.filter { $0 != .none }
        #expect(lines == [.error], "\(lines)")
        #expect(log.current == refused)
    }

    @Test("a new reason is logged at once; at error level once the outage has lasted")
    func reasonChanges() {
        var log = DependencyFailureLog()
        #expect(log.failed(failure("connection refused"), at: start) == .warning)
        #expect(log.failed(failure("the database system is starting up"), at: start + .seconds(2)) == .warning)
        #expect(log.failed(failure("the database system is starting up"), at: start + .seconds(3)) == .none)
        #expect(log.failed(failure("password authentication failed", permanent: true), at: start + .seconds(4)) == .error)
        #expect(log.failed(failure("connection refused"), at: start + .seconds(5)) == .error)
    }

    func options(_ url: String, verify: Bool = true) throws -> AMQPOptions {
        var options = AMQPOptions(url: try AMQPURL(string: url), connectionName: "test")
        options.tlsVerify = verify
        return options
    }

    @Test("broker failures in words: refused login, unknown vhost, TLS, no topology are permanent; a broker that is down is not")
    func brokerDiagnosis() throws {
        let url = "amqp://gridloop:secret@127.0.0.1:5672/gridloop"
        let login = AMQPError(.connectionFailed, code: 403, reason: "login to vhost 'gridloop' as 'gridloop': ACCESS_REFUSED - Login was refused")
            .diagnosis(options: try options(url))
        #expect(login.permanent && login.reason.contains("ACCESS_REFUSED") && login.fix.contains("password in AMQP_URL"))
        #expect(!login.target.contains("secret") && login.target.contains("127.0.0.1:5672"))
        let vhost = AMQPError(.connectionFailed, code: 530, reason: "login to vhost 'nope' as 'gridloop': NOT_ALLOWED - vhost nope not found")
            .diagnosis(options: try options(url))
        #expect(
            vhost.permanent && vhost.reason.contains("NOT_ALLOWED") && vhost.reason.contains("vhost nope not found") && vhost.fix.contains("vhost")
        )
        let tls = AMQPError(.connectionFailed, code: -0x0202, reason: "cannot reach 127.0.0.1:5671: SSL peer verification failed").diagnosis(
            options: try options("amqps://u:p@127.0.0.1:5671/v")
        )
        #expect(tls.permanent && tls.reason.contains("TLS") && tls.fix.contains("AMQP_TLS_CA_FILE"))
        let topology = AMQPError(.topologyMissing, code: 404, reason: "vhost '/' has no GridLoop topology (exchange 'gridloop.events' not found)")
            .diagnosis(options: try options(url))
        #expect(topology.permanent && topology.reason.contains("no GridLoop topology"))
        let down = AMQPError(.connectionFailed, code: -9, reason: "cannot reach 127.0.0.1:5672: a socket error occurred").diagnosis(
            options: try options(url)
        )
        #expect(!down.permanent && down.reason.contains("socket error") && down.fix.contains("start the broker"))
        #expect(down.description.hasPrefix("cannot use the broker amqp://gridloop@127.0.0.1:5672/gridloop: "))
    }
}
