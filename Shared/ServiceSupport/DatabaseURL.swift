import Foundation
import Logging
import NIOSSL
import PostgresNIO

/// A PostgreSQL address parsed from `postgres://user:pass@host:port/database`, with libpq's
/// `?sslmode=disable|prefer|require|verify-ca|verify-full` and `&sslrootcert=/path/ca.pem`.
package struct DatabaseURL: Sendable, Equatable, CustomStringConvertible {
    /// libpq's TLS modes: `require` encrypts without checking the certificate, `verify-ca`
    /// checks it against the root certificates, `verify-full` also checks the host name.
    package enum SSLMode: String, Sendable, CaseIterable {
        case disable, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    package var host: String
    package var port: Int
    package var user: String
    package var password: String?
    package var database: String
    package var sslMode: SSLMode = .disable
    /// The root certificates (PEM) for `verify-ca` / `verify-full`; default the system's.
    package var sslRootCertificate: String?
    /// The environment variable this address came from, for messages that say what to fix.
    package var setting = "DATABASE_URL"

    package init(string: String) throws {
        guard let components = URLComponents(string: string), ["postgres", "postgresql"].contains(components.scheme ?? ""),
            let host = components.host, !host.isEmpty
        else {
            throw ConfigurationError("DATABASE_URL must look like postgres://user:pass@host:5432/database")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.user = components.user?.removingPercentEncoding ?? "postgres"
        self.password = components.password?.removingPercentEncoding
        var path = components.path
        if path.hasPrefix("/") { path.removeFirst() }
        self.database = path.isEmpty ? self.user : path
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = SSLMode(rawValue: item.value ?? "") else {
                    throw ConfigurationError(
                        "sslmode must be one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", ")), not '\(item.value ?? "")'"
                    )
                }
                sslMode = mode
            case "sslrootcert":
                sslRootCertificate = item.value
            default:
                throw ConfigurationError("unknown database URL parameter '\(item.name)' (sslmode and sslrootcert are understood)")
            }
        }
    }

    /// Without the password, for logs.
    package var description: String { "postgres://\(user)@\(host):\(port)/\(database)" + (sslMode == .disable ? "" : "?sslmode=\(sslMode.rawValue)") }

    /// The TLS settings `sslMode` asks for (TLS 1.2 or later whenever it is on); `nil` for `disable`.
    private var tlsConfiguration: TLSConfiguration? {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        switch sslMode {
        case .disable:
            return nil
        case .prefer, .require:
            tls.certificateVerification = .none
        case .verifyCA:
            tls.certificateVerification = .noHostnameVerification
        case .verifyFull:
            tls.certificateVerification = .fullVerification
        }
        if let sslRootCertificate { tls.trustRoots = .file(sslRootCertificate) }
        return tls
    }

    /// The pool's TLS settings, as `sslMode` asks.
    package var tls: PostgresClient.Configuration.TLS {
        guard let tls = tlsConfiguration else { return .disable }
        return sslMode == .prefer ? .prefer(tls) : .require(tls)
    }

    /// The settings of a single connection (see ``DatabaseProbe``), as `sslMode` asks.
    package func connectionConfiguration(connectTimeout: Duration) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        if let configuration = tlsConfiguration {
            let context = try NIOSSLContext(configuration: configuration)
            tls = sslMode == .prefer ? .prefer(context) : .require(context)
        } else {
            tls = .disable
        }
        var connection = PostgresConnection.Configuration(host: host, port: port, username: user, password: password, database: database, tls: tls)
        connection.options.connectTimeout = .nanoseconds(
            Int64(connectTimeout.components.seconds) * 1_000_000_000 + connectTimeout.components.attoseconds / 1_000_000_000
        )
        return connection
    }

    /// A client configuration, with TLS as `sslmode` says.
    package func clientConfiguration(poolSize: Int = 10) -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(host: host, port: port, username: user, password: password, database: database, tls: tls)
        configuration.options.maximumConnections = poolSize
        configuration.options.minimumConnections = 0
        // An idle pooled connection runs a short liveness query every 5 s (PostgresNIO's default
        // is 30 s), so one the server or the network dropped is found and replaced before work
        // is given to it; busy connections end with their transaction (PostgresClient.transaction).
        configuration.options.keepAliveBehavior = .init(frequency: .seconds(5), query: "SELECT 1")
        return configuration
    }

    /// A client for this database.
    package func makeClient(poolSize: Int = 10, logger: Logger) -> PostgresClient {
        PostgresClient(configuration: clientConfiguration(poolSize: poolSize), backgroundLogger: logger)
    }
}

/// A configuration value that cannot be used, with what is expected.
package struct ConfigurationError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
