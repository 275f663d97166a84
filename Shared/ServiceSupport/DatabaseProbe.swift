import Foundation
import GridLoopDomain
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// One connection attempt to a database, bounded in time, that says why it failed in
/// PostgreSQL's own words: the pool behind ``PostgresClient`` retries a refused login until its
/// circuit breaker trips (a minute later) and then reports only that.
package enum DatabaseProbe {
    /// Connects to `url` once (and closes), within `timeout`; `nil` when that works. With
    /// `schemas`, also checks that each exists (a database GridLoop never migrated).
    package static func check(_ url: DatabaseURL, timeout: Duration, schemas: [String] = [], logger: Logger) async -> DependencyFailure? {
        var quiet = logger
        quiet.logLevel = .critical
        let configuration: PostgresConnection.Configuration
        do { configuration = try url.connectionConfiguration(connectTimeout: timeout) } catch {
            return url.failure(reason: "cannot set up TLS: \(error)", permanent: true, fix: "check sslrootcert in \(url.setting)")
        }
        let logger = quiet
        let outcome: Result<[String], any Error>? = await withTaskGroup(of: Result<[String], any Error>?.self) { group in
            group.addTask {
                do {
                    let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
                    defer { Task { try? await connection.close() } }
                    guard !schemas.isEmpty else { return .success([]) }
                    var present: [String] = []
                    for try await name in try await connection.query(
                        "SELECT nspname FROM pg_namespace WHERE nspname = ANY(\(schemas))",
                        logger: logger
                    )
                    .decode(String.self) { present.append(name) }
                    return .success(schemas.filter { !present.contains($0) })
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                // Past the connection's own connect timeout, so that its reason wins when
                // both would fire (one stable reason keeps the log's rate limit working).
                try? await Task.sleep(for: timeout + .seconds(1))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        switch outcome {
        case .success(let missing) where missing.isEmpty:
            return nil
        case .success(let missing):
            return url.failure(
                reason: "the database has no GridLoop schema \(missing.map { "'\($0)'" }.joined(separator: ", "))",
                permanent: true,
                fix: "run `gridloop migrate` (with DATABASE_MIGRATION_URL set to the owner's login), or point \(url.setting) at GridLoop's database"
            )
        case .failure(let error):
            return url.diagnosis(of: error)
        case nil:
            return url.failure(
                reason: "no answer in time (the host is unreachable, or something that is not PostgreSQL listens there)",
                permanent: false,
                fix: "check the host and port in \(url.setting), and that PostgreSQL is running"
            )
        }
    }
}

extension DatabaseURL {
    /// A failure of this database with `reason`.
    package func failure(reason: String, permanent: Bool, fix: String) -> DependencyFailure {
        DependencyFailure(dependency: "database", target: description, reason: reason, permanent: permanent, fix: fix, setting: setting)
    }

    /// What an error of a connection to this database means, in words, with the fix.
    package func diagnosis(of error: any Error) -> DependencyFailure {
        if let error = error as? PSQLError {
            if error.code == .server, let message = error.serverInfo?[.message] {
                let state = error.serverInfo?[.sqlState] ?? "?"
                let reason = "PostgreSQL said: \(message) (SQLSTATE \(state))"
                switch state {
                case "28P01", "28000":
                    return failure(reason: reason, permanent: true, fix: "check the user and password in \(setting)")
                case "3D000":
                    return failure(reason: reason, permanent: true, fix: "check the database name in \(setting) (local: gridloop), or create it")
                case "42501":
                    return failure(reason: reason, permanent: true, fix: "grant '\(user)' access to the database, or use GridLoop's service login")
                case "57P03":
                    return failure(reason: reason, permanent: false, fix: "wait: PostgreSQL is starting up or shutting down")
                case "53300":
                    return failure(
                        reason: reason,
                        permanent: false,
                        fix: "PostgreSQL has no free connections: raise max_connections or lower DATABASE_POOL_SIZE"
                    )
                default:
                    return failure(reason: reason, permanent: state.hasPrefix("28") || state.hasPrefix("3D"), fix: "see PostgreSQL's log")
                }
            }
            if error.code == .sslUnsupported {
                return failure(
                    reason: "the server does not support TLS, and sslmode=\(sslMode.rawValue) requires it",
                    permanent: true,
                    fix: "turn on ssl in PostgreSQL, or set sslmode=disable in \(setting)"
                )
            }
            if error.code == .connectionError || error.code == .serverClosedConnection, let underlying = error.underlying {
                return diagnosis(ofConnectionError: underlying)
            }
            return failure(reason: "\(error.code)", permanent: false, fix: "see PostgreSQL's log")
        }
        return diagnosis(ofConnectionError: error)
    }

    private func diagnosis(ofConnectionError error: any Error) -> DependencyFailure {
        if let tls = error as? NIOSSLError {
            return failure(
                reason: "the TLS handshake failed (\(tls))",
                permanent: true,
                fix: "sslrootcert in \(setting) must name the CA that signed the server's certificate, and the host must be the one it names"
            )
        }
        if let tls = error as? BoringSSLError {
            return failure(
                reason: "the TLS handshake failed (\(tls))",
                permanent: true,
                fix: "sslrootcert in \(setting) must name the CA that signed the server's certificate, and the host must be the one it names"
            )
        }
        if let io = error as? IOError {
            return failure(
                reason: "cannot connect (\(String(cString: strerror(io.errnoCode)))); is PostgreSQL running and listening there?",
                permanent: false,
                fix: "start PostgreSQL, or check the host and port in \(setting)"
            )
        }
        if let connect = error as? NIOConnectionError {
            let cause = connect.connectionErrors.first.map { "\($0.error)" } ?? connect.dnsAAAAError.map { "\($0)" } ?? "no address"
            return failure(
                reason: "cannot connect (\(cause)); is PostgreSQL running and listening there?",
                permanent: false,
                fix: "start PostgreSQL, or check the host and port in \(setting)"
            )
        }
        if let channel = error as? ChannelError, case .connectTimeout = channel {
            return failure(
                reason: "no answer in time (the host is unreachable, or something that is not PostgreSQL listens there)",
                permanent: false,
                fix: "check the host and port in \(setting), and that PostgreSQL is running"
            )
        }
        return failure(reason: String(describing: error), permanent: false, fix: "check \(setting) and that PostgreSQL is running")
    }
}
