import ArgumentParser
import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import IntakeService
import Logging
import NotificationService
import PostgresNIO

/// `gridloop data …`: residents' personal data at rest.
struct DataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Residents' phones at rest: find by phone, re-seal after a key rotation.",
        subcommands: [Find.self, Rekey.self]
    )

    /// `gridloop data find PHONE`: requests by reporter phone, through the keyed hash.
    struct Find: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the requests a phone number reported (newest first, at most 100).")
        @Argument(help: "The phone, however written.") var phone: String

        func run() async throws {
            let protector = try CLIEnvironment.dataProtector()
            let hashes = [protector.phoneHash(phone), protector.previousPhoneHash(phone)].compactMap { $0 }
            let rows = try await withAdminDatabase { client in
                try await client.query(
                    "SELECT id, state, created_at FROM intake.requests WHERE reporter_phone_hash = ANY(\(hashes)) ORDER BY created_at DESC LIMIT 100",
                    logger: Logger(label: "gridloop-cli")
                ).collect().map { try $0.decode((UUID, String, Date).self) }
            }
            for (id, state, created) in rows {
                print("\(id.uuidString.lowercased())\t\(state)\t\(Timestamp.format(created))\t\(Masking.phone(phone))")
            }
            if rows.isEmpty { print("no requests from \(Masking.phone(phone))") }
        }
    }

    /// `gridloop data rekey`: seals every stored phone under the current key.
    struct Rekey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Re-seal stored phones under GRIDLOOP_DATA_KEY (rows sealed with GRIDLOOP_DATA_PREVIOUS_KEY, or not sealed at all) and recompute their hashes.",
            discussion:
                "Rotation: set GRIDLOOP_DATA_PREVIOUS_KEY to the old key and GRIDLOOP_DATA_KEY to the new one for every service, restart them, run this, then drop the previous key."
        )

        func run() async throws {
            let protector = try CLIEnvironment.dataProtector()
            let logger = Logger(label: "gridloop-cli")
            let counts = try await withAdminDatabase { client in
                var intake = 0
                var notification = 0
                let requests = try await client.query("SELECT id, reporter_phone FROM intake.requests", logger: logger).collect().map {
                    try $0.decode((UUID, String).self)
                }
                for (id, stored) in requests where !protector.isCurrent(stored) {
                    let phone = try protector.open(stored)
                    try await client.query(
                        "UPDATE intake.requests SET reporter_phone = \(protector.seal(phone)), reporter_phone_hash = \(protector.phoneHash(phone)) WHERE id = \(id) AND reporter_phone = \(stored)",
                        logger: logger
                    )
                    intake += 1
                }
                let contacts = try await client.query(
                    "SELECT request_id, reporter_phone FROM notification.requests WHERE reporter_phone IS NOT NULL",
                    logger: logger
                )
                .collect().map { try $0.decode((String, String).self) }
                for (id, stored) in contacts where !protector.isCurrent(stored) {
                    try await client.query(
                        "UPDATE notification.requests SET reporter_phone = \(protector.seal(try protector.open(stored))) WHERE request_id = \(id) AND reporter_phone = \(stored)",
                        logger: logger
                    )
                    notification += 1
                }
                let pending = try await client.query(
                    "SELECT id, target, payload FROM notification.deliveries WHERE channel = 'sms' AND status = 'pending'",
                    logger: logger
                )
                .collect().map { try $0.decode((String, String, String).self) }
                for (id, target, payload) in pending where !protector.isCurrent(target) {
                    let body = try DeliveryPayload.rewritingRecipient(payload) { protector.seal(try protector.open($0)) }
                    try await client.query(
                        """
                        UPDATE notification.deliveries SET target = \(protector.seal(try protector.open(target))), payload = \(body)
                        WHERE id = \(id) AND target = \(target)
                        """,
                        logger: logger
                    )
                    notification += 1
                }
                return (intake, notification)
            }
            print("re-sealed \(counts.0) intake requests and \(counts.1) notification rows")
        }
    }
}
