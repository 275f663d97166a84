import ArgumentParser
import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import IntakeService
import Logging
import NotificationService
import PostgresNIO
import ReportingService
import RoutingService

/// `gridloop migrate`: apply every service's schema migrations.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply every service's database migrations.")

    @Option(
        help:
            "Seconds to keep trying while the database cannot be reached yet (a deployment's first start); a refusal (wrong password, no such database) fails at once."
    )
    var wait = 0

    func run() async throws {
        let configuration = try CLIEnvironment.configuration()
        let logger = Logger(label: "gridloop-cli")
        let deadline = ContinuousClock.now + .seconds(max(wait, 0))
        for migrator in [IntakeApp.migrator, RoutingApp.migrator, NotificationApp.migrator, ReportingApp.migrator] {
            while true {
                do {
                    try await CLIConnections.migrate(migrator, configuration: configuration, logger: logger)
                    break
                } catch let failure as DependencyFailure where !failure.permanent && ContinuousClock.now < deadline {
                    FileHandle.standardError.write(Data("waiting for the database: \(failure.reason)\n".utf8))
                    try await Task.sleep(for: .seconds(1))
                }
            }
            print("\(migrator.schema): up to date")
        }
    }
}

/// `gridloop org …`.
struct Org: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The organisation structure.", subcommands: [Import.self])

    /// `gridloop org import FILE`: validate, replace the org data, declare every unit's queue.
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Import streets, grids, households, departments and staff from YAML or JSON.")

        @Argument(help: "The org file (YAML or JSON).") var file: String

        func run() async throws {
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw CLIFailure("cannot read \(file): \(error.localizedDescription)")
            }
            let org: OrgFile
            do { org = try OrgFile.parse(text) } catch { throw CLIFailure("\(file): \(error)") }
            let problems = org.validate()
            guard problems.isEmpty else { throw CLIFailure("\(file): \(OrgFileInvalid(problems: problems))") }

            let configuration = try CLIEnvironment.configuration()
            let logger = Logger(label: "gridloop-cli")
            try await CLIConnections.migrate(
                RoutingApp.migrator,
                NotificationApp.migrator,
                ReportingApp.migrator,
                IntakeApp.migrator,
                configuration: configuration,
                logger: logger
            )
            let file = self.file
            let intakeDirectory = IntakeDirectory(org: org)
            let directory = DirectorySnapshot(org: org)
            let reportingDirectory = ReportingDirectory(org: org)
            let version = try await withAdminDatabase { client in
                let version = try await OrgStore(postgres: client).replace(with: org, source: file, logger: logger)
                try await Directory().replace(with: directory, on: client, logger: logger)
                try await reportingDirectory.replace(on: client, logger: logger)
                try await intakeDirectory.replace(on: client, logger: logger)
                return version
            }
            let units = org.units
            try await CLIConnections.session(options: configuration.amqp, requireTopology: false) { session in
                for unit in units { try session.declare(GridLoopTopology.unit(unit)) }
            }
            print(
                "org version \(version): \(org.streets.count) streets, \(org.grids.count) grids, \((org.households ?? []).count) households, \(org.departments.count) departments, \((org.staff ?? []).count) staff; \(units.count) unit queues"
            )
        }
    }
}

/// `gridloop audit …`.
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check the trail (全程留痕).", subcommands: [Verify.self])

    /// `gridloop audit verify [--request ID] [--consultation ID]`: recompute the hash chains (the
    /// requests' trail and the consultations' records); name the first broken link.
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute every request's trail hash chain and every consultation's record (or one request's, or one consultation's)."
        )

        @Option(help: "Only this request.") var request: String?
        @Option(help: "Only this consultation's record (议事).") var consultation: String?
        @Option(help: "Also check the chain heads intake exported to this directory (INTAKE_CHAIN_HEAD_DIR).") var heads: String?

        func run() async throws {
            let requestId: UUID?
            if let request {
                guard let id = UUID(uuidString: request) else { throw CLIFailure("'\(request)' is not a request id") }
                requestId = id
            } else {
                requestId = nil
            }
            let consultationId: UUID?
            if let consultation {
                guard let id = UUID(uuidString: consultation) else { throw CLIFailure("'\(consultation)' is not a consultation id") }
                consultationId = id
            } else {
                consultationId = nil
            }
            // The trail unless only a consultation is asked for; the records unless only a request is.
            let trail = consultation == nil || request != nil || self.heads != nil
            let records = request == nil
            let heads = self.heads
            let (report, exported, recorded) = try await withAdminDatabase { client in
                let logger = Logger(label: "gridloop-cli")
                let report: TrailAudit.Report? =
                    if trail { try await TrailAudit.verify(requestId: requestId, on: client, logger: logger) } else { nil }
                var exported: ChainHeads.Check?
                if let heads { exported = try await ChainHeads.check(directory: heads, requestId: requestId, on: client, logger: logger) }
                let recorded: ConsultationAudit.Report? =
                    if records { try await ConsultationAudit.verify(consultationId: consultationId, on: client, logger: logger) } else { nil }
                return (report, exported, recorded)
            }
            if let report {
                if let request, report.requests == 0 { throw CLIFailure("no trail for request \(request)") }
                guard report.breaks.isEmpty else {
                    let lines = report.breaks.map { "  \($0)" }.joined(separator: "\n")
                    throw CLIFailure("trail verification FAILED for \(report.breaks.count) of \(report.requests) requests:\n\(lines)")
                }
                print("trail verified: \(report.requests) requests, \(report.events) events, every chain intact")
            }
            if let exported {
                guard exported.files > 0 else { throw CLIFailure("no chain-head exports in \(heads ?? "")") }
                guard exported.problems.isEmpty else {
                    let lines = exported.problems.prefix(50).map { "  \($0)" }.joined(separator: "\n")
                    throw CLIFailure(
                        "chain heads FAILED: \(exported.problems.count) of \(exported.heads) exported heads do not match the trail:\n\(lines)"
                    )
                }
                print("chain heads verified: \(exported.heads) heads in \(exported.files) exports, each still in the trail")
            }
            if let recorded {
                if let consultation, recorded.consultations == 0 { throw CLIFailure("no record for consultation \(consultation)") }
                guard recorded.breaks.isEmpty else {
                    let lines = recorded.breaks.map { "  consultation \($0)" }.joined(separator: "\n")
                    throw CLIFailure(
                        "consultation record verification FAILED for \(recorded.breaks.count) of \(recorded.consultations) consultations:\n\(lines)"
                    )
                }
                print("consultation records verified: \(recorded.consultations) consultations, \(recorded.entries) entries, every chain intact")
            }
        }
    }
}

/// `gridloop apikey …`: keys for intake clients (Open311, hotline systems).
struct APIKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apikey",
        abstract: "API keys for intake clients (Open311 POST requests).",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a key for a client; prints it once (only its hash is stored).")
        @Argument(help: "Who the key is for, e.g. 'hotline-12345'.") var name: String

        func run() async throws {
            let configuration = try CLIEnvironment.configuration()
            try await CLIConnections.migrate(IntakeApp.migrator, configuration: configuration)
            let name = self.name
            let (id, key) = try await withAdminDatabase(schemas: ["intake"]) { client in
                try await APIKeys(postgres: client).create(name: name, logger: Logger(label: "gridloop-cli"))
            }
            print("\(id)\t\(key)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (id, name, created, revoked).")

        func run() async throws {
            let keys = try await withAdminDatabase(schemas: ["intake"]) { client in
                try await APIKeys(postgres: client).list(logger: Logger(label: "gridloop-cli"))
            }
            for (id, name, created, revoked) in keys {
                print("\(id)\t\(name)\t\(Timestamp.format(created))\t\(revoked.map { "revoked \(Timestamp.format($0))" } ?? "live")")
            }
            if keys.isEmpty { print("no API keys") }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key: it stops working at once.")
        @Argument(help: "The key id (from 'list').") var id: String

        func run() async throws {
            let id = self.id
            let revoked = try await withAdminDatabase(schemas: ["intake"]) { client in
                try await APIKeys(postgres: client).revoke(id: id, logger: Logger(label: "gridloop-cli"))
            }
            guard revoked else { throw CLIFailure("no live API key \(id)") }
            print("\(id) revoked")
        }
    }
}
