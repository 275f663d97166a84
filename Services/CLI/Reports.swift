import ArgumentParser
import Foundation
import GridLoopServiceSupport
import Logging
import ReportingService

/// `gridloop reports …`.
struct Reports: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Reporting's read models.", subcommands: [Rebuild.self])

    /// `gridloop reports rebuild`: project every stored event again.
    struct Rebuild: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Throw reporting's read models away and rebuild them from its stored events (same figures).",
            discussion: "Runs in one transaction; reporting's consumer waits for it and then goes on."
        )

        func run() async throws {
            let configuration = try CLIEnvironment.configuration()
            let logger = Logger(label: "gridloop-cli")
            try await CLIConnections.migrate(ReportingApp.migrator, configuration: configuration, logger: logger)
            let started = ContinuousClock.now
            let replayed = try await withAdminDatabase(schemas: ["reporting"]) { client in try await ReportingApp.rebuild(on: client, logger: logger)
            }
            print("rebuilt reporting from \(replayed) events in \(ContinuousClock.now - started)")
        }
    }
}
