import AsyncHTTPClient
import Foundation
import GridLoopDomain
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// Every GridLoop service as a real process against the test broker and database, on test
/// ports, with notification's webhook pointed at an in-test ``WebhookReceiver``.
package final class GridLoopSystem: Sendable {
    /// Service name → HTTP port.
    package static let ports = ["intake": 18080, "reporting": 18081, "notification": 18082, "routing": 18083]
    package static let webhookPort = 18090

    package let environment: [String: String]
    /// The signing secret of this test process's systems.
    package static let authSecret = "test-\(UUID().uuidString)-\(UUID().uuidString)"
    /// The data key of this test process's systems (64 hex digits).
    package static let dataKey = (UUID().uuidString + UUID().uuidString).replacingOccurrences(of: "-", with: "").lowercased()
    /// Tokens minted so far, by subject, with when they were minted.
    private let tokens = Mutex<[String: (token: String, at: ContinuousClock.Instant)]>([:])
    private let processes = Mutex<[String: ServiceProcess]>([:])
    private let generation = Mutex(0)

    private init(environment: [String: String]) {
        self.environment = environment
    }

    /// Starts every service (migrations run as they start), imports the demo org, and waits
    /// until each is healthy.
    package static func start(environment overrides: [String: String] = [:]) async throws -> GridLoopSystem {
        // The services' environment as deploy/services.env writes it for a local run, on the
        // test's ports, then the test's own settings.
        var base = ["WEB_HTTP_PORT": "18085", "MAIL_PORT": "\(MailSink.port)", "HOME_DIR": TestEnvironment.logDir.path]
        for (service, port) in ports { base["\(service.uppercased())_HTTP_PORT"] = "\(port)" }
        var environment = try ServicesEnvironment.load(base: base)
        environment.merge([
            "AMQP_URL": try TestEnvironment.amqpURL(),
            // As deployed: the services (and the CLI) run as the least-privilege role; the
            // owner's login only migrates.
            "DATABASE_URL": try TestEnvironment.serviceDatabaseURL(),
            "DATABASE_MIGRATION_URL": try TestEnvironment.databaseURL(),
            "NOTIFICATION_WEBHOOK_URL": "http://127.0.0.1:\(webhookPort)/hook",
            "AMQP_HEARTBEAT": "5",
            "ROUTING_SLA_SWEEP_INTERVAL_MS": "200",
            "NOTIFICATION_WEBHOOK_SECRET": WebhookReceiver.secret,
            // The receiver is on loopback; short retries so that a dead endpoint fails fast.
            "NOTIFICATION_ALLOW_PRIVATE_TARGETS": "true",
            "NOTIFICATION_RETRY_ATTEMPTS": "3",
            "NOTIFICATION_RETRY_INITIAL_MS": "100",
            "NOTIFICATION_RETRY_MAXIMUM_MS": "400",
            "NOTIFICATION_LEASE_SECONDS": "3",
            "NOTIFICATION_TIMEOUT_MS": "2000",
            // SMS to the receiver's gateway path (email goes to the in-test SMTP sink, MAIL_PORT).
            "NOTIFICATION_SMS_URL": "http://127.0.0.1:\(webhookPort)/sms",
            // Requests come straight from the tests, not through a proxy.
            "INTAKE_TRUSTED_PROXIES": "",
            "ROUTING_TRUSTED_PROXIES": "",
            // Incidents (many reports of one problem made one) only where a test asks for them.
            "ROUTING_INCIDENT_THRESHOLD": "0",
            // The tests submit many requests from one address and one phone: rate limits only
            // where a test asks for them.
            "INTAKE_RATE_CLIENT_PER_MINUTE": "0",
            "INTAKE_RATE_PHONE_PER_HOUR": "0",
            // Staff and service tokens: the test mints them with `gridloop auth token`.
            "GRIDLOOP_AUTH_SECRET": authSecret,
            // Residents' phones are sealed with it.
            "GRIDLOOP_DATA_KEY": dataKey,
            // The trail's chain heads, exported every second into this system's own directory.
            "INTAKE_CHAIN_HEAD_DIR": TestEnvironment.logDir.appendingPathComponent("chain-heads-\(TestEnvironment.unique())").path,
            "INTAKE_CHAIN_HEAD_INTERVAL_SECONDS": "1",
        ]) { _, test in test }
        environment.merge(overrides) { _, new in new }
        // A service left over from an interrupted run would answer for ours and compete for messages.
        // (A service still waiting for its database answers 503: any answer counts.)
        for (service, port) in ports.sorted(by: { $0.key < $1.key }) where await answers("http://127.0.0.1:\(port)/health") {
            throw SystemError(
                "port \(port) already answers /health: a \(service) left over from an interrupted run? (pkill -x gridloop-\(service.prefix(6)))"
            )
        }
        let system = GridLoopSystem(environment: environment)
        let imported = try await runCommand(["org", "import", demoOrgPath], environment: environment)
        guard imported.status == 0 else { throw SystemError("org import failed: \(imported.stderr)") }
        for service in ports.keys.sorted() { try system.launch(service) }
        for service in ports.keys.sorted() { try await system.waitUntilHealthy(service) }
        return system
    }

    /// Starts (or restarts) one service; `extra` adds to (or overrides) the system's environment.
    package func launch(_ service: String, extra: [String: String] = [:]) throws {
        let run = generation.withLock { value in
            value += 1
            return value
        }
        let process = try ServiceProcess("gridloop-\(service)", name: "\(service)-\(run)", environment: environment.merging(extra) { _, new in new })
        processes.withLock { $0[service] = process }
    }

    /// Starts one more replica of `service` listening on `port`; returns its process.
    @discardableResult
    package func launchReplica(_ service: String, port: Int) async throws -> ServiceProcess {
        let key = "\(service)@\(port)"
        var environment = self.environment
        environment["\(service.uppercased())_HTTP_PORT"] = "\(port)"
        let process = try ServiceProcess("gridloop-\(service)", name: "\(service)-replica-\(port)", environment: environment)
        processes.withLock { $0[key] = process }
        let url = "http://127.0.0.1:\(port)/health"
        guard await eventually(timeout: .seconds(60), every: .milliseconds(200), { await isHealthy(url) }) else {
            throw SystemError("\(key) did not become healthy (log: \(process.logFile.path))")
        }
        return process
    }

    /// Imports an org file (YAML text) with `gridloop org import`.
    package func importOrg(_ yaml: String) async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("org-\(UUID().uuidString).yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try await cli("org", "import", file.path)
        guard result.status == 0 else { throw SystemError("org import failed: \(result.stderr)") }
    }

    /// The demo org file's text.
    package static var demoOrg: String {
        get throws { try String(contentsOfFile: demoOrgPath, encoding: .utf8) }
    }

    static var demoOrgPath: String { repositoryPath("deploy/demo-org.yaml") }

    /// A path inside the repository.
    package static func repositoryPath(_ relative: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../\(relative)").standardized.path
    }

    /// The running process of `service`.
    package func process(_ service: String) -> ServiceProcess? {
        processes.withLock { $0[service] }
    }

    /// Waits for `/health` to answer 200.
    package func waitUntilHealthy(_ service: String, timeout: Duration = .seconds(60)) async throws {
        let url = "http://127.0.0.1:\(Self.ports[service]!)/health"
        guard await eventually(timeout: timeout, every: .milliseconds(200), { await isHealthy(url) }) else {
            throw SystemError("\(service) did not become healthy within \(timeout) (log: \(process(service)?.logFile.path ?? "-"))")
        }
    }

    /// Stops every service gracefully (SIGTERM) and returns each one's exit status.
    @discardableResult
    package func stop() async -> [String: Int32] {
        let all = processes.withLock { $0 }
        var statuses: [String: Int32] = [:]
        for (service, process) in all { statuses[service] = await process.stop() }
        return statuses
    }

    /// `http://127.0.0.1:<port of service><path>`.
    package func url(_ service: String, _ path: String) -> String {
        "http://127.0.0.1:\(Self.ports[service]!)\(path)"
    }

    /// Runs the `gridloop` CLI against this system. `gridloop staff … --staff ID` runs signed in
    /// as ID (`GRIDLOOP_TOKEN`, minted by ``token(for:)``), as a staff member's shell would.
    package func cli(_ arguments: String..., timeout: Duration = .seconds(60)) async throws -> CommandResult {
        try await cli(arguments, timeout: timeout)
    }

    /// ``cli(_:timeout:)`` with the arguments as an array.
    package func cli(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> CommandResult {
        var environment = self.environment
        if arguments.first == "staff", let flag = arguments.firstIndex(of: "--staff"), flag + 1 < arguments.count {
            environment["GRIDLOOP_TOKEN"] = try await token(for: arguments[flag + 1])
        }
        return try await runCommand(arguments, environment: environment, timeout: timeout)
    }

    /// A token for staff member `staff` (role and unit from the org), minted by the operator's
    /// `gridloop auth token --staff`; reused for 10 of its 15 minutes.
    package func token(for staff: String) async throws -> String {
        try await mint(staff, ["auth", "token", "--staff", staff])
    }

    /// A read-only service token (`gridloop auth token --service`).
    package func serviceToken(_ name: String = "test-dashboard") async throws -> String {
        try await mint("service:\(name)", ["auth", "token", "--service", name])
    }

    /// `Authorization: Bearer` for `staff`.
    package func bearer(_ staff: String) async throws -> [String: String] {
        ["Authorization": "Bearer \(try await token(for: staff))"]
    }

    private func mint(_ subject: String, _ arguments: [String]) async throws -> String {
        if let cached = tokens.withLock({ $0[subject] }), ContinuousClock.now - cached.at < .seconds(600) { return cached.token }
        let result = try await runCommand(arguments, environment: environment)
        let token = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard result.status == 0, !token.isEmpty else { throw SystemError("gridloop \(arguments.joined(separator: " ")) failed: \(result.stderr)") }
        tokens.withLock { $0[subject] = (token, ContinuousClock.now) }
        return token
    }

    /// The SMTP sink of this run (started by ``with(environment:_:)``).
    package var mail: MailSink { mailSink.withLock { $0! } }
    private let mailSink = Mutex<MailSink?>(nil)

    /// Runs `body` with a started system, a webhook receiver and an SMTP sink, and stops them
    /// afterwards. `environment` overrides the services' test settings.
    package static func with<T>(environment: [String: String] = [:], _ body: (GridLoopSystem, WebhookReceiver) async throws -> T) async throws -> T {
        let receiver = try await WebhookReceiver.start(port: webhookPort)
        let sink: MailSink
        do { sink = try await MailSink.start() } catch {
            await receiver.stop()
            throw error
        }
        let system: GridLoopSystem
        do { system = try await start(environment: environment) } catch {
            await receiver.stop()
            await sink.stop()
            throw error
        }
        system.mailSink.withLock { $0 = sink }
        do {
            let result = try await body(system, receiver)
            await system.stop()
            await receiver.stop()
            await sink.stop()
            return result
        } catch {
            await system.stop()
            await receiver.stop()
            await sink.stop()
            throw error
        }
    }
}

/// A harness failure, with what to look at.
package struct SystemError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

/// A real HTTP server that records every webhook POST.
package final class WebhookReceiver: Sendable {
    /// One received POST.
    package struct Received: Sendable {
        package var webhookId: String?
        package var body: String
        /// Whether `webhook-signature` verified with ``WebhookReceiver/secret``.
        package var signatureValid: Bool
        /// `hook` (the integration webhook) or `sms` (the SMS gateway).
        package var path: String = "hook"
        /// What the sender was told.
        package var answer: Answer = .ok
    }

    /// How the receiver answered a POST it processed.
    package enum Answer: Sendable {
        /// 204 at once.
        case ok
        /// Processed, then answered only after the sender's timeout.
        case late
    }

    /// The signing secret the services under test are given (a test value, not a real one).
    package static let secret = "whsec_" + Data("gridloop-test-webhook-signing-key".utf8).base64EncodedString()

    private let received = Mutex<[Received]>([])
    private let down = Mutex(false)
    private let unreliable = Mutex(false)
    private let refusedCount = Mutex(0)

    /// While `true`, half the POSTs are refused with 500 (not processed), and about one in six
    /// is processed but answered only after ``lateDelay`` (past the sender's timeout).
    package var flaky: Bool {
        get { unreliable.withLock { $0 } }
        set { unreliable.withLock { $0 = newValue } }
    }
    package static let lateDelay = Duration.milliseconds(2600)
    /// POSTs refused while ``flaky``.
    package var refused: Int { refusedCount.withLock { $0 } }

    /// While `true`, every POST is answered 503 and not recorded (an endpoint that is down).
    package var failing: Bool {
        get { down.withLock { $0 } }
        set { down.withLock { $0 = newValue } }
    }
    private let task = Mutex<Task<Void, any Error>?>(nil)

    /// Starts listening on 127.0.0.1:`port`, path `/hook`.
    package static func start(port: Int) async throws -> WebhookReceiver {
        let receiver = WebhookReceiver()
        let router = Router()
        @Sendable func handle(_ request: Request, path: String) async throws -> HTTPResponse.Status {
            if receiver.failing { return .serviceUnavailable }
            let roll = Double.random(in: 0..<1)
            let flaky = receiver.flaky
            if flaky, roll < 0.5 {
                receiver.refusedCount.withLock { $0 += 1 }
                return .internalServerError
            }
            let late = flaky && roll > 5.0 / 6.0
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            let id = request.headers[HTTPField.Name("webhook-id")!] ?? ""
            let timestamp = request.headers[HTTPField.Name("webhook-timestamp")!].flatMap { Int($0) } ?? 0
            let signature = request.headers[HTTPField.Name("webhook-signature")!] ?? ""
            let valid = WebhookSignature.verify(
                header: signature,
                id: id,
                timestamp: timestamp,
                body: Array(body.readableBytesView),
                secret: WebhookReceiver.secret
            )
            receiver.received.withLock {
                $0.append(Received(webhookId: id, body: String(buffer: body), signatureValid: valid, path: path, answer: late ? .late : .ok))
            }
            if late { try await Task.sleep(for: WebhookReceiver.lateDelay) }
            return .noContent
        }
        router.post("hook") { request, _ in try await handle(request, path: "hook") }
        router.post("sms") { request, _ in try await handle(request, path: "sms") }
        var logger = Logger(label: "webhook-receiver")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
        receiver.task.withLock { $0 = Task { try await app.run() } }
        guard await eventually(timeout: .seconds(10), { await isReachable(port: port) }) else {
            throw SystemError("the webhook receiver did not start on port \(port)")
        }
        return receiver
    }

    /// Everything the integration webhook received so far.
    package var all: [Received] { received.withLock { $0.filter { $0.path == "hook" } } }
    /// Every SMS the gateway received so far.
    package var sms: [Received] { received.withLock { $0.filter { $0.path == "sms" } } }
    /// Every POST processed, in arrival order.
    package var log: [Received] { received.withLock { $0 } }

    package func stop() async {
        let running = task.withLock { $0 }
        running?.cancel()
        _ = try? await running?.value
    }

    private static func isReachable(port: Int) async -> Bool {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/")
        request.method = .GET
        return (try? await HTTPClient.shared.execute(request, timeout: .seconds(1))) != nil
    }
}
