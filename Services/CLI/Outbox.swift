import ArgumentParser
import Foundation
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import PostgresNIO

/// `gridloop outbox parked | replay`: outbox rows the broker kept refusing (parked by the
/// services' relays, see ``OutboxRelay``), and making them due again.
struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "Outbox rows the broker kept refusing (parked by the relay), and replaying them.",
        subcommands: [Parked.self, Replay.self]
    )

    /// `gridloop outbox parked [--schema S]`: every parked row with its last error.
    struct Parked: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List parked outbox rows with their attempts and last error (every service's schema unless --schema)."
        )

        @Option(help: "Only this service's schema (intake, routing, notification, reporting).") var schema: String?

        func run() async throws {
            let schemas = try selectedSchemas(schema)
            let rows = try await withAdminDatabase { client -> [(String, OutboxParking.Row)] in
                var rows: [(String, OutboxParking.Row)] = []
                for schema in schemas {
                    for row in try await OutboxParking(schema: schema).list(client: client) { rows.append((schema, row)) }
                }
                return rows
            }
            for (schema, row) in rows {
                let exchange = row.exchange.isEmpty ? "(default exchange)" : row.exchange
                print(
                    "\(schema)\t\(row.id)\t\(row.messageId)\t\(row.type)\t\(exchange)\t\(row.routingKey)\t\(row.attempts) attempts\tparked \(Timestamp.format(row.parkedAt))\t\(row.lastError ?? "")"
                )
            }
            print("\(rows.count) parked outbox rows")
        }
    }

    /// `gridloop outbox replay --schema S (--id N | --all)`: due again, fresh attempts.
    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Make parked outbox rows due again with a fresh set of attempts (after the cause was fixed); the service's relay publishes them.",
            discussion: "Consumers are idempotent (inbox by message id): replaying a message that got through after all changes nothing."
        )

        @Option(help: "The schema whose parked rows to replay (intake, routing, notification, reporting).") var schema: String
        @Option(help: "Only the parked row with this outbox id (the second column of 'parked').") var id: Int?
        @Flag(help: "Replay every parked row of the schema.") var all = false

        func validate() throws {
            guard (id == nil) != !all else { throw ValidationError("give --id ID or --all") }
        }

        func run() async throws {
            let schema = try selectedSchemas(self.schema)[0]
            let id = self.id.map { Int64($0) }
            let replayed = try await withAdminDatabase { client in
                try await OutboxParking(schema: schema).replay(id: id, client: client)
            }
            if let id, replayed == 0 { throw CLIFailure("no parked outbox row \(id) in \(schema)") }
            print("replayed \(replayed) parked outbox rows of \(schema); its relay publishes them within a second")
        }
    }
}

/// `schema` checked against GridLoop's schemas, or all of them.
private func selectedSchemas(_ schema: String?) throws -> [String] {
    guard let schema else { return CLIConnections.schemas }
    guard CLIConnections.schemas.contains(schema) else {
        throw CLIFailure("'\(schema)' is not a GridLoop schema (\(CLIConnections.schemas.joined(separator: ", ")))")
    }
    return [schema]
}
