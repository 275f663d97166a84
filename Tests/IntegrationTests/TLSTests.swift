import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import GridLoopTestSupport
import PostgresNIO
import Testing

/// TLS to the real broker and database `deploy/local.sh` starts with a throw-away CA
/// (`.run/tls/`): RabbitMQ's TLS listener and PostgreSQL with `ssl = on`, both TLS 1.2 or later.
@Suite("TLS to the broker and the database")
struct TLSTests {
    /// The broker over `amqps://localhost:<TLS port>`, with our CA unless told otherwise.
    func amqpsOptions(caFile: String?, verify: Bool = true) throws -> AMQPOptions {
        var url = try AMQPURL(string: TestEnvironment.amqpURL())
        url.tls = true
        url.host = "localhost"
        url.port = Int(try TestEnvironment.tls().amqpsPort)!
        var options = AMQPOptions(url: url, heartbeat: 5, connectionName: "gridloop-test-tls", connectTimeout: .seconds(5))
        options.tlsCAFile = caFile
        options.tlsVerify = verify
        return options
    }

    @Test(
        "amqps:// with the CA file: declare, publish confirmed, consume over TLS; a certificate from an unknown CA is refused unless verification is off"
    )
    func amqpOverTLS() async throws {
        let ca = try TestEnvironment.tls().caFile
        let queue = "test.tls.\(TestEnvironment.unique())"
        let body = try await AMQPSession.run(options: try amqpsOptions(caFile: ca)) { session -> String in
            try session.declare(GridLoopTopology.exchanges.merging(GridLoopTopology.queue(queue, bindings: [])))
            let sent = OutgoingMessage(exchange: "", routingKey: queue, body: Array("over TLS".utf8), messageId: "tls-\(queue)")
            guard case .confirmed = try session.publish(sent) else { throw SystemError("not confirmed over TLS") }
            guard let message = try session.take(queue: queue, wait: .seconds(5)) else { throw SystemError("nothing to consume over TLS") }
            try session.settle(message, .ack)
            return String(decoding: message.body, as: UTF8.self)
        }
        #expect(body == "over TLS")
        // The system's bundle does not know our CA: the handshake fails, nothing is sent in clear.
        await #expect(throws: AMQPError.self) {
            try await AMQPSession.run(options: try amqpsOptions(caFile: nil)) { session in
                try session.declare(GridLoopTopology.queue(queue, bindings: []))
            }
        }
        // AMQP_TLS_VERIFY=false encrypts without checking (for a broker behind a known tunnel only).
        try await AMQPSession.run(options: try amqpsOptions(caFile: nil, verify: false)) { session in
            try session.declare(GridLoopTopology.queue(queue, bindings: []))
        }
        // The services read the same settings.
        let url = "amqps://\(try AMQPURL(string: TestEnvironment.amqpURL()).user):x@localhost:\(try TestEnvironment.tls().amqpsPort)/gridloop_test"
        #expect(try AMQPURL(string: url).tls)
    }

    /// The test database as `sslmode` with our CA (or `rootCertificate`), over `localhost` (the certificate's name).
    func database(_ mode: DatabaseURL.SSLMode, rootCertificate: String?) throws -> DatabaseURL {
        var url = try TestEnvironment.database()
        url.host = "localhost"
        url.sslMode = mode
        url.sslRootCertificate = rootCertificate
        return url
    }

    /// `(ssl, version)` of this session, from `pg_stat_ssl`.
    func sessionTLS(_ url: DatabaseURL) async throws -> (Bool, String?) {
        try await url.makeClient(poolSize: 1, logger: TestEnvironment.logger).withRunning { client in
            let row = try await withDeadline(.seconds(15), "TLS session") {
                try await client.query("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()").collect().first
            }
            return try row?.decode((Bool, String?).self) ?? (false, nil)
        }
    }

    @Test(
        "PostgreSQL with sslmode=verify-full and the CA: the session is encrypted with TLS 1.2+; require encrypts without the CA; verify-full with another CA is refused; disable stays clear"
    )
    func postgresOverTLS() async throws {
        let ca = try TestEnvironment.tls().caFile
        let (ssl, version) = try await sessionTLS(try database(.verifyFull, rootCertificate: ca))
        #expect(ssl && ["TLSv1.2", "TLSv1.3"].contains(version ?? ""), "\(ssl) \(version ?? "-")")
        #expect(try await sessionTLS(try database(.require, rootCertificate: nil)).0)
        #expect(try await sessionTLS(try database(.disable, rootCertificate: nil)).0 == false)
        await #expect(throws: (any Error).self) {
            _ = try await sessionTLS(try database(.verifyFull, rootCertificate: "/etc/ssl/certs/ca-certificates.crt"))
        }
        // Parsed from the URL as libpq spells it.
        let parsed = try DatabaseURL(string: "postgres://u:p@db.example:5432/gridloop?sslmode=verify-full&sslrootcert=/etc/gridloop/ca.pem")
        #expect(parsed.sslMode == .verifyFull && parsed.sslRootCertificate == "/etc/gridloop/ca.pem")
        #expect(throws: ConfigurationError.self) { try DatabaseURL(string: "postgres://u@h/d?sslmode=sometimes") }
    }
}
