import AsyncHTTPClient
import Configuration
import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import Hummingbird
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle

/// notification: consumes every event, logs it, and for each new assignment (first or after an
/// escalation) records a webhook
/// delivery (in the same transaction as its inbox claim) that a sender posts with retries.
package enum NotificationApp: GridLoopServiceApp {
    package static let name = "notification"
    /// Health and metrics only.
    package static let defaultPort = 8082

    /// The composition root. `notification.webhook.url` (`NOTIFICATION_WEBHOOK_URL`) receives
    /// a JSON POST per new assignment; without it, events are only logged.
    package static func build(configuration: ServiceConfiguration, reader: ConfigReader) async throws -> some ApplicationProtocol {
        let webhookURL = reader.string(forKey: "notification.webhook.url")
        let secrets = [
            reader.string(forKey: "notification.webhook.secret", isSecret: true),
            reader.string(forKey: "notification.webhook.previous.secret", isSecret: true),
        ].compactMap { $0 }.filter { !$0.isEmpty }
        let runtime = try await ServiceRuntime.make(configuration: configuration, migrator: migrator)
        let deliveries = Deliveries(postgres: runtime.postgres, webhookURL: webhookURL)
        let sender = WebhookSender(postgres: runtime.postgres, wakeup: deliveries.wakeup, secrets: secrets, logger: runtime.logger)
        return runtime.makeApplication(
            services: [sender],
            consumers: [runtime.consumer(queue: GridLoopQueue.notificationEvents, topology: GridLoopTopology.notificationEvents, handler: deliveries.event)]
        )
    }

    /// notification's schema migrations (for `gridloop migrate`).
    package static let migrator = Migrator(schema: NotificationSchema.name, migrations: NotificationSchema.migrations)
}

enum NotificationSchema {
    static let name = "notification"
    static let migrations: [Migration] = [
        .messaging(schema: name, version: 1),
        Migration(version: 2, name: "deliveries", statements: [
            """
            CREATE TABLE notification.deliveries (
                id text PRIMARY KEY,
                event_id text NOT NULL,
                request_id text,
                channel text NOT NULL,
                target text NOT NULL,
                payload text NOT NULL,
                status text NOT NULL DEFAULT 'pending',
                attempts integer NOT NULL DEFAULT 0,
                next_attempt_at timestamptz NOT NULL DEFAULT now(),
                last_error text,
                delivered_at timestamptz,
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX deliveries_due ON notification.deliveries (next_attempt_at) WHERE status = 'pending'",
        ]),
    ]
}

/// Turns events into delivery records.
struct Deliveries: Sendable {
    let postgres: PostgresClient
    let webhookURL: String?
    let inbox = Inbox(schema: NotificationSchema.name)
    let wakeup = AsyncWakeup()

    func event(_ delivery: Delivery) async throws {
        let header = delivery.header
        delivery.logger.info("event", metadata: ["request.version": "\(header.requestVersion ?? 0)"])
        let assignments = [MessageType.requestAssigned, MessageType.requestEscalated, MessageType.requestReturned, MessageType.requestReopened, MessageType.requestSummoned, MessageType.requestReassigned, MessageType.streetInformed]
        guard (assignments + [MessageType.requestOverdue, MessageType.deadlineWarning]).contains(header.type), let webhookURL else { return }
        let body = String(decoding: delivery.message.body, as: UTF8.self)
        let recorded = try await postgres.withTransaction(logger: delivery.logger) { connection -> Bool in
            guard try await inbox.claim(header.messageId, type: header.type, on: connection, logger: delivery.logger) else { return false }
            try await connection.query(
                """
                INSERT INTO notification.deliveries (id, event_id, request_id, channel, target, payload)
                VALUES (\("\(header.messageId):webhook"), \(header.messageId), \(header.requestId), 'webhook', \(webhookURL), \(body))
                ON CONFLICT (id) DO NOTHING
                """,
                logger: delivery.logger
            )
            return true
        }
        if recorded { wakeup.wake() }
    }
}

/// Posts due webhook deliveries; each is sent until a 2xx, with capped backoff, up to
/// `maxAttempts`, then marked `failed` with the last error. Standard Webhooks headers: the
/// `webhook-id` is the delivery id (receivers drop repeats), `webhook-timestamp`, and
/// `webhook-signature` signed with every configured secret (current first; during a rotation
/// the previous one too).
struct WebhookSender: Service {
    let postgres: PostgresClient
    let wakeup: AsyncWakeup
    let secrets: [String]
    let logger: Logger
    var retry = RetryPolicy(initialDelay: .seconds(1), maximumDelay: .seconds(300), maxAttempts: 10)

    func run() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(timeout: .init(connect: .seconds(3), read: .seconds(10))))
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                do {
                    let sent = try await sendDue(client)
                    if sent > 0 { continue }
                } catch {
                    logger.warning("webhook sender failed", metadata: ["error": "\(String(reflecting: error))"])
                }
                await wakeup.wait(upTo: .seconds(1))
            }
        } onGracefulShutdown: {
            wakeup.wake()
        }
        try await client.shutdown()
    }

    private func sendDue(_ client: HTTPClient) async throws -> Int {
        try await postgres.withTransaction(logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT id, target, payload, attempts FROM notification.deliveries
                WHERE status = 'pending' AND next_attempt_at <= now() ORDER BY next_attempt_at LIMIT 16 FOR UPDATE SKIP LOCKED
                """,
                logger: logger
            ).collect()
            for row in rows {
                let (id, target, payload, attempts) = try row.decode((String, String, String, Int).self)
                var request = HTTPClientRequest(url: target)
                request.method = .POST
                request.headers.add(name: "content-type", value: "application/json")
                let timestamp = Int(Date().timeIntervalSince1970)
                request.headers.add(name: "webhook-id", value: id)
                request.headers.add(name: "webhook-timestamp", value: "\(timestamp)")
                if !secrets.isEmpty {
                    request.headers.add(name: "webhook-signature", value: WebhookSignature.header(id: id, timestamp: timestamp, body: Array(payload.utf8), secrets: secrets))
                }
                request.body = .bytes(ByteBuffer(string: payload))
                var failure: String?
                do {
                    let response = try await client.execute(request, timeout: .seconds(10))
                    if !(200..<300).contains(response.status.code) { failure = "HTTP \(response.status.code)" }
                } catch {
                    failure = "\(error)"
                }
                if let failure {
                    let attempt = attempts + 1
                    if let delay = retry.delay(afterAttempt: attempt) {
                        let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
                        try await connection.query(
                            """
                            UPDATE notification.deliveries SET attempts = \(attempt), last_error = \(failure),
                                next_attempt_at = now() + make_interval(secs => \(seconds)) WHERE id = \(id)
                            """,
                            logger: logger
                        )
                    } else {
                        try await connection.query(
                            "UPDATE notification.deliveries SET attempts = \(attempt), last_error = \(failure), status = 'failed' WHERE id = \(id)",
                            logger: logger
                        )
                    }
                    logger.warning("webhook delivery failed", metadata: ["delivery.id": "\(id)", "error": "\(failure)", "attempt": "\(attempt)"])
                } else {
                    try await connection.query(
                        "UPDATE notification.deliveries SET attempts = attempts + 1, status = 'delivered', delivered_at = now() WHERE id = \(id)",
                        logger: logger
                    )
                    logger.info("webhook delivered", metadata: ["delivery.id": "\(id)"])
                }
            }
            return rows.count
        }
    }
}
