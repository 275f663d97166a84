import Foundation
import GridLoopServiceSupport
import GridLoopTestSupport
import Testing

/// Helpers of the fail-fast tests below.
struct FailFast {
    /// `url` with some of its parts replaced.
    func variant(_ url: String, password: String? = nil, port: Int? = nil, path: String? = nil, query: String? = nil, host: String? = nil) -> String {
        var components = URLComponents(string: url)!
        if let password { components.password = password }
        if let port { components.port = port }
        if let path { components.percentEncodedPath = path }
        if let query { components.percentEncodedQuery = query }
        if let host { components.host = host }
        return components.string!
    }

    /// A port on 127.0.0.1 where nothing listens (as for a server that is down).
    func closedPort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                guard bind(socket, raw, size) == 0, getsockname(socket, raw, &size) == 0 else { throw SystemError("no free port") }
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    struct Outcome {
        var result: CommandResult
        var elapsed: Duration
    }

    /// Runs `gridloop` with `environment` and neither the broker's nor the database's variables
    /// of the test process (the test runner may have them).
    func gridloop(_ arguments: [String], _ environment: [String: String]) async throws -> Outcome {
        let started = ContinuousClock.now
        let result = try await runCommand(
            arguments,
            environment: environment.merging(["GRIDLOOP_SPOOL_DIR": spool.path]) { old, _ in old },
            removing: ["AMQP_URL", "DATABASE_URL", "DATABASE_MIGRATION_URL", "AMQP_TLS_CA_FILE", "AMQP_TLS_VERIFY", "GRIDLOOP_CONNECT_TIMEOUT"],
            timeout: .seconds(30)
        )
        return Outcome(result: result, elapsed: ContinuousClock.now - started)
    }

    let spool = FileManager.default.temporaryDirectory.appendingPathComponent("gridloop-failfast-spool-\(TestEnvironment.unique())")

    /// Non-zero within 5 s, with every expected phrase on standard error, and never a password.
    func expectFailure(_ outcome: Outcome, _ phrases: [String], secret: String? = nil, _ comment: String) {
        let text = outcome.result.stderr
        #expect(outcome.result.status != 0, "\(comment): exit \(outcome.result.status)")
        #expect(outcome.elapsed <= .seconds(5), "\(comment): took \(outcome.elapsed)")
        for phrase in phrases { #expect(text.contains(phrase), "\(comment): no '\(phrase)' in: \(text)") }
        if let secret { #expect(!text.contains(secret), "\(comment): the password is printed: \(text)") }
    }

    /// A new vhost the test user may open, without GridLoop's topology: its name and URL.
    func emptyVhost() async throws -> (String, String) {
        let name = "gridloop-empty-\(TestEnvironment.unique())"
        let created = try await runCommand(
            ["broker-vhost", name],
            executable: try TestEnvironment.brokerControl(),
            environment: [:],
            timeout: .seconds(60)
        )
        guard created.status == 0 else { throw SystemError("broker-vhost \(name): \(created.stderr)") }
        return (name, variant(try TestEnvironment.amqpURL(), path: "/\(name)"))
    }

    /// Removes a vhost made by ``emptyVhost()``.
    func deleteVhost(_ name: String) async {
        _ = try? await runCommand(
            ["broker-vhost-delete", name],
            executable: try TestEnvironment.brokerControl(),
            environment: [:],
            timeout: .seconds(60)
        )
    }

    /// A reporting process with `environment` over what it needs, on a port of its own and a
    /// vhost of its own (so that it takes none of the other tests' events).
    func reporting(_ environment: [String: String]) async throws -> (ServiceProcess, String, vhost: String) {
        let port = try closedPort()
        let (vhost, url) = try await emptyVhost()
        var base = [
            "AMQP_URL": url, "DATABASE_URL": try TestEnvironment.serviceDatabaseURL(),
            "DATABASE_MIGRATION_URL": try TestEnvironment.databaseURL(), "GRIDLOOP_AUTH_SECRET": GridLoopSystem.authSecret,
            "REPORTING_HTTP_PORT": "\(port)", "LOG_LEVEL": "info",
        ]
        base.merge(environment) { _, new in new }
        let process = try ServiceProcess("gridloop-reporting", name: "reporting-failfast-\(TestEnvironment.unique())", environment: base)
        return (process, "http://127.0.0.1:\(port)/health", vhost)
    }

    /// `/health` once it names a failure of `dependency` (within 60 s).
    func failure(of dependency: String, at url: String) async throws -> (status: Int, document: [String: Any]) {
        var last: (Int, [String: Any]) = (0, [:])
        let found = await eventually(timeout: .seconds(60), every: .milliseconds(250)) {
            guard let reply = try? await http(.GET, url) else { return false }
            last = (reply.status, reply.json)
            return ((reply.json["failures"] as? [String: Any])?[dependency] as? [String: Any]) != nil
        }
        try #require(found, "no failure of the \(dependency) on \(url) within 60 s: \(last)")
        return last
    }

    /// The service's log lines (JSON) that mention `phrase`, with their levels.
    func logLines(_ process: ServiceProcess, containing phrase: String) throws -> [String] {
        let text = try String(contentsOf: process.logFile, encoding: .utf8)
        return text.split(separator: "\n").map(String.init).filter { $0.contains(phrase) }
    }
}

/// The CLI and the services when the database or the broker is unreachable, refuses, or is the
/// wrong one: the CLI stops within its 5-s connect timeout naming what it tried, what the
/// server said and the fix; a service says the reason on `/health` and in its log (a warning or
/// an error, not a line per retry) and keeps retrying. Against the real servers; serialized with
/// the other end-to-end tests (one of them stops the broker).
extension EndToEndTests {
    @Test("CLI and the database: no variable, wrong password, wrong database, no GridLoop schemas, database down, TLS with the wrong CA")
    func cliDatabase() async throws {
        let f = FailFast()
        let good = try TestEnvironment.databaseURL()
        let database = try TestEnvironment.database()
        let unset = try await f.gridloop(["audit", "verify"], [:])
        // The default is postgres://gridloop:gridloop@127.0.0.1:5432/gridloop: where the test
        // server listens on 5432 it refuses that password, elsewhere nothing answers.
        f.expectFailure(
            unset,
            ["postgres://gridloop@127.0.0.1:5432/gridloop", "DATABASE_URL is not set", "deploy/local.sh env"]
                + (database.port == 5432 ? ["password authentication failed", "SQLSTATE 28P01"] : ["cannot connect"]),
            "no DATABASE_URL"
        )
        let wrongPassword = "not-the-password-\(TestEnvironment.unique())"
        let password = try await f.gridloop(["audit", "verify"], ["DATABASE_URL": f.variant(good, password: wrongPassword)])
        f.expectFailure(
            password,
            [
                "cannot use the database postgres://\(database.user)@127.0.0.1:\(database.port)/\(database.database)",
                "password authentication failed",
                "SQLSTATE 28P01", "check the user and password in DATABASE_URL",
            ],
            secret: wrongPassword,
            "wrong password"
        )
        #expect(!password.result.stderr.contains("DATABASE_URL is not set"))
        let migrate = try await f.gridloop(["migrate"], ["DATABASE_URL": f.variant(good, password: wrongPassword)])
        f.expectFailure(migrate, ["password authentication failed", "SQLSTATE 28P01"], secret: wrongPassword, "migrate with a wrong password")
        let noDatabase = try await f.gridloop(
            ["audit", "verify"],
            ["DATABASE_URL": f.variant(good, path: "/no_such_database_\(TestEnvironment.unique())")]
        )
        f.expectFailure(noDatabase, ["does not exist", "SQLSTATE 3D000", "check the database name in DATABASE_URL"], "wrong database")
        let unmigrated = try await f.gridloop(["notifications", "failed"], ["DATABASE_URL": f.variant(good, path: "/postgres")])
        f.expectFailure(unmigrated, ["has no GridLoop schema", "gridloop migrate"], "a database without GridLoop's schemas")
        let down = try await f.gridloop(["audit", "verify"], ["DATABASE_URL": f.variant(good, port: try f.closedPort())])
        f.expectFailure(
            down,
            ["cannot connect", "is PostgreSQL running", "start PostgreSQL, or check the host and port in DATABASE_URL"],
            "database down"
        )
        let tls = try await f.gridloop(
            ["audit", "verify"],
            [
                "DATABASE_URL": f.variant(good, query: "sslmode=verify-full&sslrootcert=/etc/ssl/certs/ca-certificates.crt", host: "localhost")
            ]
        )
        f.expectFailure(tls, ["TLS handshake failed", "sslrootcert"], "TLS with the wrong CA")
    }

    @Test("CLI and the broker: no variable, wrong password, wrong vhost, a vhost without GridLoop's topology, broker down, TLS with the wrong CA")
    func cliBroker() async throws {
        let f = FailFast()
        let good = try TestEnvironment.amqpURL()
        let unset = try await f.gridloop(["dead-letters", "list"], [:])
        f.expectFailure(
            unset,
            ["cannot use the broker amqp://guest@127.0.0.1:5672/%2f", "AMQP_URL is not set", "deploy/local.sh env"],
            "no AMQP_URL"
        )
        let wrongPassword = "not-the-password-\(TestEnvironment.unique())"
        let password = try await f.gridloop(["dead-letters", "list"], ["AMQP_URL": f.variant(good, password: wrongPassword)])
        f.expectFailure(password, ["ACCESS_REFUSED", "check the user and password in AMQP_URL"], secret: wrongPassword, "wrong password")
        let vhost = "no-such-vhost-\(TestEnvironment.unique())"
        let noVhost = try await f.gridloop(["dead-letters", "list"], ["AMQP_URL": f.variant(good, path: "/\(vhost)")])
        f.expectFailure(noVhost, ["NOT_ALLOWED", vhost, "check the vhost in AMQP_URL"], "wrong vhost")
        // A vhost the user may open, where GridLoop's services never ran.
        let (empty, bare) = try await f.emptyVhost()
        let noTopology = try await f.gridloop(["dead-letters", "list"], ["AMQP_URL": bare])
        f.expectFailure(
            noTopology,
            ["vhost '\(empty)' has no GridLoop topology", "point AMQP_URL at the vhost GridLoop's services use"],
            "no topology"
        )
        // A submission there is refused, not sent into the void or spooled for ever.
        let submit = try await f.gridloop(
            ["submit", "--category", "water", "--description", "停水", "--address", "西平街道红星社区三组2号", "--name", "李四", "--phone", "13900002222"],
            ["AMQP_URL": bare]
        )
        f.expectFailure(submit, ["has no GridLoop topology"], "submit without topology")
        #expect(!submit.result.stdout.contains("spooled"), "\(submit.result.stdout)")
        let down = try await f.gridloop(["dead-letters", "list"], ["AMQP_URL": f.variant(good, port: try f.closedPort())])
        f.expectFailure(down, ["cannot connect", "is RabbitMQ running", "start the broker, or check the host and port in AMQP_URL"], "broker down")
        let wrongLogin = try await f.gridloop(
            ["submit", "--category", "water", "--description", "停水", "--address", "西平街道红星社区三组2号", "--name", "李四", "--phone", "13900002222"],
            ["AMQP_URL": f.variant(good, password: wrongPassword)]
        )
        f.expectFailure(wrongLogin, ["ACCESS_REFUSED"], secret: wrongPassword, "submit with a wrong password")
        #expect(!wrongLogin.result.stdout.contains("spooled"), "a refused login is no outage to wait out: \(wrongLogin.result.stdout)")
        let (_, amqpsPort) = try TestEnvironment.tls()
        let tls = try await f.gridloop(
            ["dead-letters", "list"],
            [
                "AMQP_URL": f.variant(good.replacingOccurrences(of: "amqp://", with: "amqps://"), port: Int(amqpsPort)!, host: "localhost"),
                "AMQP_TLS_CA_FILE": "/etc/ssl/certs/ca-certificates.crt",
            ]
        )
        f.expectFailure(tls, ["TLS handshake failed", "AMQP_TLS_CA_FILE"], "TLS with the wrong CA")
        await f.deleteVhost(empty)
        try? FileManager.default.removeItem(at: f.spool)
    }

    @Test("a service with a wrong database password: /health names it, the log says it as an error, once, not once per retry")
    func serviceWrongDatabasePassword() async throws {
        let f = FailFast()
        let wrong = f.variant(try TestEnvironment.serviceDatabaseURL(), password: "wrong-\(TestEnvironment.unique())")
        let (process, url, vhost) = try await f.reporting(["DATABASE_URL": wrong])
        let (status, document) = try await f.failure(of: "database", at: url)
        // Its relay waits on the pool for a connection that never comes: shutdown still ends
        // (what waits is cancelled after the grace), with status 0, before the test's SIGKILL.
        #expect(await process.stop(grace: .seconds(30)) == 0)
        await f.deleteVhost(vhost)
        let failure = try #require((document["failures"] as? [String: Any])?["database"] as? [String: Any])
        #expect(status == 503)
        #expect((document["checks"] as? [String: String])?["database"] == "down")
        #expect((failure["reason"] as? String ?? "").contains("password authentication failed"), "\(failure)")
        #expect((failure["reason"] as? String ?? "").contains("28P01"), "\(failure)")
        #expect(failure["permanent"] as? Bool == true)
        #expect((failure["fix"] as? String ?? "").contains("DATABASE_URL"))
        #expect(!(failure["target"] as? String ?? "").contains("wrong-"))
        // Several seconds of retries: one line, at error, with the reason in its metadata.
        let lines = try f.logLines(process, containing: "password authentication failed")
        #expect(lines.count == 1, "\(lines)")
        #expect(lines.allSatisfy { $0.contains("\"level\":\"error\"") && $0.contains("dependency.reason") }, "\(lines)")
    }

    @Test("a service with a wrong broker password: /health names ACCESS_REFUSED, the log says it as an error, rate-limited")
    func serviceWrongBrokerPassword() async throws {
        let f = FailFast()
        let (process, url, vhost) = try await f.reporting([
            "AMQP_URL": f.variant(try TestEnvironment.amqpURL(), password: "wrong-\(TestEnvironment.unique())")
        ])
        await f.deleteVhost(vhost)
        let (status, document) = try await f.failure(of: "broker", at: url)
        try await Task.sleep(for: .seconds(3))  // retries go on meanwhile
        await process.stop()
        let failure = try #require((document["failures"] as? [String: Any])?["broker"] as? [String: Any])
        #expect(status == 503)
        #expect((failure["reason"] as? String ?? "").contains("ACCESS_REFUSED"), "\(failure)")
        #expect(failure["permanent"] as? Bool == true)
        let lines = try f.logLines(process, containing: "ACCESS_REFUSED")
        // The publisher and the consumer each say it once.
        #expect((1...4).contains(lines.count), "\(lines)")
        #expect(lines.allSatisfy { $0.contains("\"level\":\"error\"") }, "\(lines)")
    }

    /// The other ways a running service's database or broker can be wrong.
    enum ServiceFailure: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case wrongDatabase = "no such database"
        case databaseDown = "database down"
        case databaseTLS = "database TLS with the wrong CA"
        case wrongVhost = "no such vhost"
        case brokerDown = "broker down"
        case brokerTLS = "broker TLS with the wrong CA"

        var testDescription: String { rawValue }
        var dependency: String { [.wrongDatabase, .databaseDown, .databaseTLS].contains(self) ? "database" : "broker" }
        /// In the reason on /health and in the log line.
        var phrase: String {
            switch self {
            case .wrongDatabase: "SQLSTATE 3D000"
            case .databaseDown, .brokerDown: "cannot connect"
            case .databaseTLS, .brokerTLS: "TLS handshake failed"
            case .wrongVhost: "NOT_ALLOWED"
            }
        }
        var permanent: Bool { ![.databaseDown, .brokerDown].contains(self) }

        func environment(_ f: FailFast) throws -> [String: String] {
            let database = try TestEnvironment.serviceDatabaseURL()
            let amqp = try TestEnvironment.amqpURL()
            switch self {
            case .wrongDatabase: return ["DATABASE_URL": f.variant(database, path: "/no_such_database_\(TestEnvironment.unique())")]
            case .databaseDown: return ["DATABASE_URL": f.variant(database, port: try f.closedPort())]
            case .databaseTLS:
                return [
                    "DATABASE_URL": f.variant(
                        database,
                        query: "sslmode=verify-full&sslrootcert=/etc/ssl/certs/ca-certificates.crt",
                        host: "localhost"
                    )
                ]
            case .wrongVhost: return ["AMQP_URL": f.variant(amqp, path: "/no-such-vhost-\(TestEnvironment.unique())")]
            case .brokerDown: return ["AMQP_URL": f.variant(amqp, port: try f.closedPort())]
            case .brokerTLS:
                return [
                    "AMQP_URL": f.variant(
                        amqp.replacingOccurrences(of: "amqp://", with: "amqps://"),
                        port: Int(try TestEnvironment.tls().amqpsPort)!,
                        host: "localhost"
                    ),
                    "AMQP_TLS_CA_FILE": "/etc/ssl/certs/ca-certificates.crt",
                ]
            }
        }
    }

    @Test(
        "a running service whose database or broker is wrong says why on /health and in its log (a warning or an error, rate-limited), and stops cleanly",
        arguments: ServiceFailure.allCases
    )
    func serviceFailures(_ failure: ServiceFailure) async throws {
        let f = FailFast()
        let (process, url, vhost) = try await f.reporting(try failure.environment(f))
        let (status, document) = try await f.failure(of: failure.dependency, at: url)
        #expect(await process.stop(grace: .seconds(30)) == 0, "nothing hangs on the way out")
        await f.deleteVhost(vhost)
        let reported = try #require((document["failures"] as? [String: Any])?[failure.dependency] as? [String: Any])
        #expect(status == 503)
        #expect((reported["reason"] as? String ?? "").contains(failure.phrase), "\(reported)")
        #expect(reported["permanent"] as? Bool == failure.permanent, "\(reported)")
        #expect(!(reported["fix"] as? String ?? "").isEmpty)
        let lines = try f.logLines(process, containing: failure.phrase).filter { $0.contains("dependency.reason") }
        #expect((1...4).contains(lines.count), "one line per connection, not one per retry: \(lines)")
        let level = failure.permanent ? "\"level\":\"error\"" : "\"level\":\"warning\""
        #expect(lines.allSatisfy { $0.contains(level) }, "\(lines)")
    }

    @Test("a service whose database is down as it starts: /health answers 503 with the reason while it waits")
    func serviceDatabaseDownAtStart() async throws {
        let f = FailFast()
        let down = f.variant(try TestEnvironment.databaseURL(), port: try f.closedPort())
        let (process, url, vhost) = try await f.reporting(["DATABASE_MIGRATION_URL": down])
        let (status, document) = try await f.failure(of: "database", at: url)
        await process.stop()
        await f.deleteVhost(vhost)
        let failure = try #require((document["failures"] as? [String: Any])?["database"] as? [String: Any])
        #expect(status == 503)
        #expect(document["status"] as? String == "starting")
        #expect((failure["reason"] as? String ?? "").contains("cannot connect"), "\(failure)")
        #expect(failure["permanent"] as? Bool == false)
        #expect((failure["fix"] as? String ?? "").contains("DATABASE_MIGRATION_URL"), "names the variable that was used: \(failure)")
        let lines = try f.logLines(process, containing: "cannot use the database")
        #expect(lines.count == 1 && lines[0].contains("\"level\":\"warning\""), "\(lines)")
    }
}
