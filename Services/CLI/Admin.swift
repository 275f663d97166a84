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

    func run() async throws {
        let configuration = try CLIEnvironment.configuration()
        let logger = Logger(label: "gridloop-cli")
        for migrator in [IntakeApp.migrator, RoutingApp.migrator, NotificationApp.migrator, ReportingApp.migrator] {
            try await DatabaseBootstrap.migrate(database: configuration.database, migrator: migrator, logger: logger)
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
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch { throw CLIFailure("cannot read \(file): \(error.localizedDescription)") }
            let org: OrgFile
            do { org = try OrgFile.parse(text) } catch { throw CLIFailure("\(file): \(error)") }
            let problems = org.validate()
            guard problems.isEmpty else { throw CLIFailure("\(file): \(OrgFileInvalid(problems: problems))") }

            let configuration = try CLIEnvironment.configuration()
            let logger = Logger(label: "gridloop-cli")
            try await DatabaseBootstrap.migrate(database: configuration.database, migrator: RoutingApp.migrator, logger: logger)
            let file = self.file
            let version = try await withAdminDatabase { client in
                try await OrgStore(postgres: client).replace(with: org, source: file, logger: logger)
            }
            let units = org.units
            try await AMQPSession.run(options: configuration.amqp) { session in
                for unit in units { try session.declare(GridLoopTopology.unit(unit)) }
            }
            print("org version \(version): \(org.streets.count) streets, \(org.grids.count) grids, \((org.households ?? []).count) households, \(org.departments.count) departments, \((org.staff ?? []).count) staff; \(units.count) unit queues")
        }
    }
}

/// `gridloop audit …`.
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check the trail (全程留痕).", subcommands: [Verify.self])

    /// `gridloop audit verify [--request ID]`: recompute the hash chains; name the first broken link.
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Recompute every request's trail hash chain (or one request's).")

        @Option(help: "Only this request.") var request: String?

        func run() async throws {
            let requestId: UUID?
            if let request {
                guard let id = UUID(uuidString: request) else { throw CLIFailure("'\(request)' is not a request id") }
                requestId = id
            } else {
                requestId = nil
            }
            let report = try await withAdminDatabase { client in
                try await TrailAudit.verify(requestId: requestId, on: client, logger: Logger(label: "gridloop-cli"))
            }
            if let request, report.requests == 0 { throw CLIFailure("no trail for request \(request)") }
            guard report.breaks.isEmpty else {
                let lines = report.breaks.map { "  \($0)" }.joined(separator: "\n")
                throw CLIFailure("trail verification FAILED for \(report.breaks.count) of \(report.requests) requests:\n\(lines)")
            }
            print("trail verified: \(report.requests) requests, \(report.events) events, every chain intact")
        }
    }
}
