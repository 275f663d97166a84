import AsyncHTTPClient
import Foundation
import GridLoopDomain
import GridLoopPersistence
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle

/// Sends due deliveries over their channel: signed webhook POSTs (the integration webhook and
/// staff endpoints), the SMS gateway (a signed POST), email over SMTP. Due rows are leased (their next attempt pushed `lease` out)
/// in a short transaction with `FOR UPDATE SKIP LOCKED`, sent outside any transaction at most
/// `concurrency` at a time with a timeout, and each outcome is written in its own transaction
/// (an attempt row, then delivered or rescheduled with capped backoff, or `failed` with the last
/// error after the last attempt) — so a slow or dead endpoint never holds the others, and a
/// crash mid-send only means the lease runs out and the same `webhook-id` is sent again.
/// Standard Webhooks headers: `webhook-id` (the delivery id), `webhook-timestamp`,
/// `webhook-signature` with every configured secret (current first; the previous one while rotating).
/// A permanent refusal (an SMTP 5xx) fails at once instead of retrying.
struct DeliverySender: Service {
    let postgres: PostgresClient
    let wakeup: AsyncWakeup
    let secrets: [String]
    let retry: RetryPolicy
    let concurrency: Int
    /// Per attempt.
    let timeout: Duration
    let smsGatewayURL: String?
    /// Opens the sealed numbers of SMS deliveries.
    let protector: DataProtector
    let smtp: SMTPConfiguration?
    let digests: DigestBuilder
    /// How long a leased delivery waits before another sender may take it (a crashed sender's
    /// deliveries go out again after this).
    let lease: Duration
    let logger: Logger

    private struct Due: Sendable {
        var id: String
        var channel: String
        var target: String
        var payload: String
        var attempts: Int
    }

    func run() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(timeout: .init(connect: .seconds(3), read: .init(timeout))))
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                do {
                    try await withDeadline(.seconds(30), "building digests") { [digests] in try await digests.buildDue() }
                    let due = try await withDeadline(.seconds(30), "taking due deliveries") { try await self.takeDue() }
                    if !due.isEmpty {
                        await send(due, with: client)
                        continue
                    }
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

    private func takeDue() async throws -> [Due] {
        let rows = try await postgres.query(
            """
            UPDATE notification.deliveries SET next_attempt_at = now() + make_interval(secs => \(Double(lease.components.seconds)))
            WHERE id IN (
                SELECT id FROM notification.deliveries WHERE status = 'pending' AND next_attempt_at <= now()
                ORDER BY next_attempt_at LIMIT \(concurrency * 4) FOR UPDATE SKIP LOCKED
            )
            RETURNING id, channel, target, payload, attempts
            """,
            logger: logger
        )
        var due: [Due] = []
        for try await (id, channel, target, payload, attempts) in rows.decode((String, String, String, String, Int).self) {
            due.append(Due(id: id, channel: channel, target: target, payload: payload, attempts: attempts))
        }
        return due
    }

    private func send(_ due: [Due], with client: HTTPClient) async {
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for delivery in due {
                if running >= concurrency {
                    await group.next()
                    running -= 1
                }
                running += 1
                group.addTask { await attempt(delivery, with: client) }
            }
        }
    }

    private func attempt(_ delivery: Due, with client: HTTPClient) async {
        let started = ContinuousClock.now
        var outcome: Outcome
        switch delivery.channel {
        case DeliveryChannel.email.rawValue:
            outcome = await sendEmail(delivery)
        case DeliveryChannel.sms.rawValue:
            if let smsGatewayURL {
                do {
                    var opened = delivery
                    opened.payload = try DeliveryPayload.rewritingRecipient(delivery.payload) { try protector.open($0) }
                    outcome = await post(opened, to: smsGatewayURL, with: client)
                } catch {
                    outcome = Outcome(failure: "cannot open the SMS number: \(error)", permanent: true)
                }
            } else {
                outcome = Outcome(failure: "no SMS gateway configured (NOTIFICATION_SMS_URL)", permanent: true)
            }
        default:
            outcome = await post(delivery, to: delivery.target, with: client)
        }
        let elapsed = ContinuousClock.now - started
        let latency = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
        do {
            try await withDeadline(.seconds(30), "recording delivery \(delivery.id)") { [outcome] in
                try await self.record(delivery, outcome: outcome, latencyMs: latency)
            }
        } catch {
            logger.error(
                "cannot record a delivery attempt; it will be retried after its lease",
                metadata: ["delivery.id": "\(delivery.id)", "error": "\(String(reflecting: error))"]
            )
        }
    }

    /// What one attempt gave.
    private struct Outcome: Sendable {
        var statusCode: Int?
        var failure: String?
        /// Retrying cannot help (fail now).
        var permanent = false
    }

    /// A Standard Webhooks POST: `webhook-id` is the delivery id.
    private func post(_ delivery: Due, to url: String, with client: HTTPClient) async -> Outcome {
        let timestamp = Int(Date().timeIntervalSince1970)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "webhook-id", value: delivery.id)
        request.headers.add(name: "webhook-timestamp", value: "\(timestamp)")
        if !secrets.isEmpty {
            request.headers.add(
                name: "webhook-signature",
                value: WebhookSignature.header(id: delivery.id, timestamp: timestamp, body: Array(delivery.payload.utf8), secrets: secrets)
            )
        }
        request.body = .bytes(ByteBuffer(string: delivery.payload))
        do {
            let response = try await client.execute(
                request,
                timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
            )
            _ = try? await response.body.collect(upTo: 1 << 16)
            let code = Int(response.status.code)
            return Outcome(statusCode: code, failure: (200..<300).contains(code) ? nil : "HTTP \(code)")
        } catch {
            return Outcome(failure: "\(error)")
        }
    }

    private func sendEmail(_ delivery: Due) async -> Outcome {
        guard let smtp else { return Outcome(failure: "no SMTP server configured (NOTIFICATION_SMTP_URL)", permanent: true) }
        do {
            let payload = try DeliveryPayload.decode(delivery.payload)
            let message = MailMessage(
                from: smtp.from,
                to: delivery.target,
                subject: payload.subject ?? "GridLoop",
                body: payload.body ?? "",
                messageId: MailMessage.messageId(for: delivery.id),
                date: Date(),
                headers: [("X-GridLoop-Delivery", delivery.id)]
                    + (payload.requestId.flatMap { $0.isEmpty ? nil : [("X-GridLoop-Request", $0)] } ?? [])
                    + [("Content-Language", payload.language)]
            )
            try await SMTPClient.send(message, to: delivery.target, configuration: smtp)
            return Outcome(statusCode: 250)
        } catch let failure as SMTPFailure {
            return Outcome(failure: failure.reason, permanent: failure.permanent)
        } catch {
            return Outcome(failure: "\(error)")
        }
    }

    private func record(_ delivery: Due, outcome: Outcome, latencyMs: Int) async throws {
        let attempt = delivery.attempts + 1
        let statusCode = outcome.statusCode
        let failure = outcome.failure
        try await postgres.transaction(logger: logger) { [self] connection in
            try await connection.query(
                "INSERT INTO notification.attempts (delivery_id, status_code, latency_ms, error) VALUES (\(delivery.id), \(statusCode), \(latencyMs), \(failure))",
                logger: logger
            )
            if let failure {
                if !outcome.permanent, let delay = retry.delay(afterAttempt: attempt) {
                    let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
                    try await connection.query(
                        """
                        UPDATE notification.deliveries SET attempts = \(attempt), last_error = \(failure),
                            next_attempt_at = now() + make_interval(secs => \(seconds)) WHERE id = \(delivery.id)
                        """,
                        logger: logger
                    )
                } else {
                    try await connection.query(
                        "UPDATE notification.deliveries SET attempts = \(attempt), last_error = \(failure), status = 'failed' WHERE id = \(delivery.id)",
                        logger: logger
                    )
                }
            } else {
                try await connection.query(
                    "UPDATE notification.deliveries SET attempts = \(attempt), status = 'delivered', delivered_at = now() WHERE id = \(delivery.id)",
                    logger: logger
                )
            }
        }
        if let failure {
            logger.warning("delivery failed", metadata: ["delivery.id": "\(delivery.id)", "error": "\(failure)", "attempt": "\(attempt)"])
        } else {
            logger.info("delivered", metadata: ["delivery.id": "\(delivery.id)", "latency.ms": "\(latencyMs)"])
        }
    }
}
