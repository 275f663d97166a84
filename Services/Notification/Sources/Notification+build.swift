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
        let allowPrivate = reader.bool(forKey: "notification.allow.private.targets", default: false)
        let retry = RetryPolicy(
            initialDelay: .milliseconds(reader.int(forKey: "notification.retry.initial.ms", default: 1000)),
            maximumDelay: .milliseconds(reader.int(forKey: "notification.retry.maximum.ms", default: 300_000)),
            maxAttempts: reader.int(forKey: "notification.retry.attempts", default: 10)
        )
        let deliveries = Deliveries(postgres: runtime.postgres, webhookURL: webhookURL, allowPrivateTargets: allowPrivate)
        let sender = WebhookSender(
            postgres: runtime.postgres, wakeup: deliveries.wakeup, secrets: secrets, retry: retry,
            concurrency: reader.int(forKey: "notification.concurrency", default: 8),
            lease: .seconds(reader.int(forKey: "notification.lease.seconds", default: 60)), logger: runtime.logger
        )
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
        Migration(version: 3, name: "delivery attempts", statements: [
            """
            CREATE TABLE notification.attempts (
                id bigserial PRIMARY KEY,
                delivery_id text NOT NULL REFERENCES notification.deliveries (id),
                attempted_at timestamptz NOT NULL DEFAULT now(),
                status_code integer,
                latency_ms integer NOT NULL,
                error text
            )
            """,
            "CREATE INDEX attempts_by_delivery ON notification.attempts (delivery_id)",
        ]),
    ]
}

/// Turns events into delivery records.
struct Deliveries: Sendable {
    let postgres: PostgresClient
    let webhookURL: String?
    let allowPrivateTargets: Bool
    let inbox = Inbox(schema: NotificationSchema.name)
    let wakeup = AsyncWakeup()

    func event(_ delivery: Delivery) async throws {
        let header = delivery.header
        delivery.logger.info("event", metadata: ["request.version": "\(header.requestVersion ?? 0)"])
        let assignments = [MessageType.requestAssigned, MessageType.requestEscalated, MessageType.requestReturned, MessageType.requestReopened, MessageType.requestSummoned, MessageType.requestReassigned, MessageType.streetInformed]
        guard (assignments + [MessageType.requestOverdue, MessageType.deadlineWarning]).contains(header.type), let webhookURL else { return }
        let body = String(decoding: delivery.message.body, as: UTF8.self)
        // A target on loopback, private or link-local addresses is refused unless allowed:
        // the delivery is recorded as failed with the reason, visible and retryable.
        let refusal = allowPrivateTargets ? nil : WebhookTarget.refusal(webhookURL)
        let recorded = try await postgres.withTransaction(logger: delivery.logger) { connection -> Bool in
            guard try await inbox.claim(header.messageId, type: header.type, on: connection, logger: delivery.logger) else { return false }
            try await connection.query(
                """
                INSERT INTO notification.deliveries (id, event_id, request_id, channel, target, payload, status, last_error)
                VALUES (\("\(header.messageId):webhook"), \(header.messageId), \(header.requestId), 'webhook', \(webhookURL), \(body),
                    \(refusal == nil ? "pending" : "failed"), \(refusal))
                ON CONFLICT (id) DO NOTHING
                """,
                logger: delivery.logger
            )
            return true
        }
        if recorded { wakeup.wake() }
    }
}

