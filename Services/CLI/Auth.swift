import ArgumentParser
import Configuration
import Foundation
import GridLoopAuth
import GridLoopDomain
import GridLoopServiceSupport
import Logging
import RoutingService

/// `gridloop auth …`: staff and service tokens, staff sign-in secrets.
struct Auth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Access tokens (15-minute JWTs) and staff sign-in secrets.",
        subcommands: [Token.self, Credential.self]
    )

    /// `gridloop auth token --staff ID` / `--service NAME`: for operators, who hold
    /// `GRIDLOOP_AUTH_SECRET`; staff sign in with `POST /v1/auth/token` instead.
    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Issue a token for a staff member (role and unit from the org) or a service (reads district reports); needs GRIDLOOP_AUTH_SECRET.",
            discussion: "Staff commands read the token from GRIDLOOP_TOKEN: export GRIDLOOP_TOKEN=$(gridloop auth token --staff cui-chunhua)"
        )
        @Option(help: "The staff member's id.") var staff: String?
        @Option(help: "A service's name, e.g. city-dashboard: a read-only token for district reports.") var service: String?
        @Option(help: "Minutes it lives (at most 15).") var minutes = 15
        @Flag(help: "Print the token with its subject, role, unit and expiry as JSON.") var json = false
        @Option(help: "Print a dashboard sign-in link on this reporting base URL instead, e.g. http://127.0.0.1:8081.") var link: String?

        func validate() throws {
            guard (staff == nil) != (service == nil) else { throw ValidationError("give --staff ID or --service NAME (one of them)") }
            guard (1...15).contains(minutes) else { throw ValidationError("--minutes must be 1–15") }
        }

        func run() async throws {
            let authenticator: Authenticator
            do { authenticator = try await Authenticator.fromConfiguration(ConfigReader(provider: EnvironmentVariablesProvider())) } catch {
                throw CLIFailure("\(error)")
            }
            let lifetime = TimeInterval(minutes * 60)
            let issued: IssuedToken
            if let service {
                guard UnitRef.isValidID(service) else { throw CLIFailure("--service: lowercase letters, digits and -") }
                issued = try await authenticator.authority.issue(
                    subject: "service:\(service)",
                    role: Principal.serviceRole,
                    unit: nil,
                    lifetime: lifetime
                )
            } else {
                let staff = self.staff ?? ""
                let member = try await withAdminDatabase(schemas: ["routing"]) { client in
                    try await StaffCredentials(postgres: client).member(staff, logger: Logger(label: "gridloop-cli"))
                }
                guard let member else { throw CLIFailure("no staff member '\(staff)' in the org") }
                issued = try await authenticator.authority.issue(subject: staff, role: member.role, unit: member.unit, lifetime: lifetime)
            }
            if let link {
                print("\(link.hasSuffix("/") ? String(link.dropLast()) : link)/dashboard/signin?token=\(issued.token)")
            } else {
                print(json ? String(decoding: try WireJSON.encode(issued), as: UTF8.self) : issued.token)
            }
        }
    }

    /// `gridloop auth credential STAFF`: a new sign-in secret for the web login.
    struct Credential: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a staff member's sign-in secret for POST /v1/auth/token (printed once; replaces the previous one)."
        )
        @Argument(help: "The staff member's id.") var staff: String

        func run() async throws {
            let configuration = try CLIEnvironment.configuration()
            try await CLIConnections.migrate(RoutingApp.migrator, configuration: configuration)
            let staff = self.staff
            let secret = try await withAdminDatabase(schemas: ["routing"]) { client in
                try await StaffCredentials(postgres: client).issue(for: staff, logger: Logger(label: "gridloop-cli"))
            }
            guard let secret else { throw CLIFailure("no staff member '\(staff)' in the org") }
            print(secret)
        }
    }
}

extension CLIEnvironment {
    /// The data key (`GRIDLOOP_DATA_KEY`), for the commands that store or read residents' phones.
    static func dataProtector() throws -> DataProtector {
        do { return try DataProtector.fromConfiguration(ConfigReader(provider: EnvironmentVariablesProvider())) } catch {
            throw CLIFailure("\(error)")
        }
    }

    /// The staff member's token for commands: `GRIDLOOP_TOKEN`.
    static func staffToken() throws -> String {
        guard let token = ProcessInfo.processInfo.environment["GRIDLOOP_TOKEN"]?.trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty
        else {
            throw CLIFailure("not signed in: set GRIDLOOP_TOKEN (POST /v1/auth/token, or an operator's `gridloop auth token --staff ID`)")
        }
        return token
    }
}
