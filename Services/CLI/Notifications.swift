import ArgumentParser
import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import Logging
import PostgresNIO

/// `gridloop notifications …`: the delivery log, failed deliveries and their re-sending.
struct Notifications: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Notification deliveries: failed ones, re-sending, the log of a request.",
        subcommands: [Failed.self, Retry.self, For.self]
    )

    /// `gridloop notifications failed`: deliveries that used up their attempts, with the reason.
    struct Failed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List deliveries that failed for good (or were refused), with the last error.")

        func run() async throws {
            let rows = try await withAdminDatabase { client in
                try await client.query(
                    "SELECT id, request_id, target, attempts, last_error FROM notification.deliveries WHERE status = 'failed' ORDER BY created_at"
                ).collect().map { try $0.decode((String, String?, String, Int, String?).self) }
            }
            for (id, request, target, attempts, error) in rows {
                print("\(id)\trequest \(request ?? "-")\t\(displayTarget(target))\t\(attempts) attempts\t\(error ?? "")")
            }
            if rows.isEmpty { print("no failed deliveries") }
        }
    }

    /// `gridloop notifications retry ID`: send a failed delivery again (same `webhook-id`).
    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a failed delivery again, with a fresh set of attempts.")

        @Argument(help: "The delivery id (from 'failed').") var id: String

        func run() async throws {
            let id = self.id
            let updated = try await withAdminDatabase { client in
                try await client.query(
                    """
                    UPDATE notification.deliveries SET status = 'pending', attempts = 0, next_attempt_at = now()
                    WHERE id = \(id) AND status = 'failed' RETURNING id
                    """
                ).collect().count
            }
            guard updated == 1 else { throw CLIFailure("no failed delivery \(id)") }
            print("\(id) queued for sending")
        }
    }

    /// `gridloop notifications for REQUEST`: every delivery of a request and each attempt.
    struct For: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the deliveries of a request and every attempt (status, latency, error).")

        @Argument(help: "The request id.") var request: String

        func run() async throws {
            let request = self.request
            let (rows, held) = try await withAdminDatabase { client in
                let rows = try await client.query(
                    """
                    SELECT d.id, d.status, d.channel, d.target, d.next_attempt_at, a.attempted_at, a.status_code, a.latency_ms, a.error
                    FROM notification.deliveries d LEFT JOIN notification.attempts a ON a.delivery_id = d.id
                    WHERE d.request_id = \(request) ORDER BY d.created_at, d.id, a.attempted_at
                    """
                ).collect().map { try $0.decode((String, String, String, String, Date, Date?, Int?, Int?, String?).self) }
                let held = try await client.query(
                    "SELECT item_id, channel, target, digest_id FROM notification.digest_items WHERE request_id = \(request) ORDER BY id"
                ).collect().map { try $0.decode((String, String, String, String?).self) }
                return (rows, held)
            }
            guard !rows.isEmpty || !held.isEmpty else { throw CLIFailure("no deliveries for request \(request)") }
            for (id, status, channel, target, next, at, code, latency, error) in rows {
                let attempt: String
                if let at {
                    attempt = "\(Timestamp.format(at)) \(code.map(String.init) ?? "-") \(latency ?? 0) ms \(error ?? "")"
                } else if status == "pending", next > Date() {
                    attempt = "waiting until \(Timestamp.format(next)) (quiet hours or retry backoff)"
                } else {
                    attempt = "no attempt yet"
                }
                print("\(id)\t\(status)\t\(channel)\t\(displayTarget(target))\t\(attempt)")
            }
            for (id, channel, target, digest) in held {
                print("\(id)\t\(digest == nil ? "in the next digest" : "in \(digest!)")\t\(channel)\t\(displayTarget(target))")
            }
        }
    }
}

/// A delivery target as the CLI shows it: a sealed SMS number opened and masked (`138****1234`).
func displayTarget(_ target: String) -> String {
    guard target.hasPrefix(DataProtector.prefix) else { return target }
    guard let protector = try? CLIEnvironment.dataProtector(), let number = try? protector.open(target) else { return "(sealed number)" }
    return Masking.phone(number)
}
