import Foundation
import Logging
import PostgresNIO

/// A PostgreSQL address parsed from `postgres://user:pass@host:port/database`.
package struct DatabaseURL: Sendable, Equatable, CustomStringConvertible {
    package var host: String
    package var port: Int
    package var user: String
    package var password: String?
    package var database: String

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
    }

    /// Without the password, for logs.
    package var description: String { "postgres://\(user)@\(host):\(port)/\(database)" }

    /// A client configuration (TLS off: local deployments; see README for TLS).
    package func clientConfiguration(poolSize: Int = 10) -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(host: host, port: port, username: user, password: password, database: database, tls: .disable)
        configuration.options.maximumConnections = poolSize
        configuration.options.minimumConnections = 0
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
