import ArgumentParser
import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import PostgresNIO

/// `gridloop`: submit requests, work a unit's queue, import the org, migrate.
@main
struct GridLoopCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gridloop",
        abstract: "GridLoop command line: residents' requests from submission to resolution.",
        discussion: "Broker and database come from AMQP_URL and DATABASE_URL (see README).",
        subcommands: [
            Submit.self, Import.self, Staff.self, Auth.self, DataCommand.self, Visit.self, Org.self, Audit.self, Notifications.self, Reports.self,
            APIKeyCommand.self, SpoolCommand.self, DeadLetters.self, OutboxCommand.self, Migrate.self, Tasks.self, Notices.self,
            Consultations.self, Wishes.self, Points.self,
        ]
    )

    /// Runs the command; a database error says what the server said (PostgresNIO's own
    /// description hides it), with exit status 1.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            if let failure = error as? DependencyFailure {
                CLIConnections.report(failure)
                Foundation.exit(1)
            }
            if let message = databaseMessage(error) {
                FileHandle.standardError.write(Data("Error: the database refused: \(message)\n".utf8))
                Foundation.exit(1)
            }
            exit(withError: error)
        }
    }

    /// The server's message and SQLSTATE of a PostgreSQL error, also inside a transaction's.
    static func databaseMessage(_ error: any Error) -> String? {
        let psql = (error as? PSQLError) ?? ((error as? PostgresTransactionError)?.closureError as? PSQLError)
        guard let psql else { return nil }
        guard let message = psql.serverInfo?[.message] else { return "\(psql.code)" }
        return "\(message) (SQLSTATE \(psql.serverInfo?[.sqlState] ?? "?"))"
    }
}

/// Settings shared by the commands, from the environment.
enum CLIEnvironment {
    static func configuration() throws -> ServiceConfiguration {
        var configuration = try ServiceConfiguration.fromEnvironment(service: "cli", defaultPort: 0)
        configuration.amqp.connectTimeout = CLIConnections.connectTimeout
        configuration.amqp.rpcTimeout = CLIConnections.connectTimeout
        return configuration
    }
}

/// A failure the CLI reports on standard error before exiting non-zero.
struct CLIFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension CommandReply {
    /// Throws with the reply's code and message when it says no.
    func orFail() throws -> CommandReply {
        guard ok else {
            var text = "refused (\(code ?? "error")): \(message ?? "no reason given")"
            for error in errors ?? [] { text += "\n  \(error.field): \(error.message)" }
            throw CLIFailure(text)
        }
        return self
    }
}

/// Sends `payload` as a `type` envelope to `exchange` and waits for the service's reply.
func call<Payload: Codable & Sendable>(
    _ payload: Payload,
    type: String,
    exchange: String,
    routingKey: String,
    requestId: String?,
    options: AMQPOptions,
    timeout: Duration
) async throws -> CommandReply {
    let envelope = MessageEnvelope(type: type, requestId: requestId, correlationId: MessageID.make(), payload: payload)
    let message = try OutgoingMessage(envelope: envelope, exchange: exchange, routingKey: routingKey)
    let reply: IncomingMessage
    do {
        reply = try await CLIConnections.session(options: options) { session in try session.call(message, timeout: timeout) }
    } catch let error as AMQPError where error.reason.contains("unroutable") {
        // The exchange is there (checked), but no queue is bound for this message.
        throw DependencyFailure(
            dependency: "broker",
            target: "\(options.url)",
            reason: "no queue takes '\(routingKey)' from exchange '\(exchange)' on vhost '\(options.url.vhost)' (\(error.reason))",
            permanent: true,
            fix: "GridLoop's services declare their queues when they start: start them against this vhost, or point AMQP_URL at theirs"
        )
    }
    do {
        return try WireJSON.decode(MessageEnvelope<CommandReply>.self, from: reply.body).payload
    } catch {
        throw CLIFailure("unreadable reply: \(error)")
    }
}
