import Foundation
import GridLoopDomain
import Logging
import PostgresNIO

/// Gathers the non-urgent messages of staff who read digests: once the oldest waiting item of
/// a recipient and channel is one digest period old, every waiting item becomes one delivery
/// (`digest:<recipient>:<channel>:<first item>`, stable, so a rebuild after a crash makes the
/// same one), sent when the recipient's quiet hours allow. Safe with several instances (rows
/// locked with `SKIP LOCKED`, items marked in the same transaction).
struct DigestBuilder: Sendable {
    let postgres: PostgresClient
    let templates: NotificationTemplates
    let logger: Logger

    func buildDue() async throws {
        let groups = try await postgres.query(
            """
            SELECT i.recipient, i.channel, r.quiet_hours, coalesce(s.utc_offset, 28800)
            FROM notification.digest_items i
            LEFT JOIN notification.recipients r ON 'staff:' || r.id = i.recipient
            LEFT JOIN notification.settings s ON s.id = 1
            WHERE i.digest_id IS NULL
            GROUP BY i.recipient, i.channel, r.digest_seconds, r.quiet_hours, s.utc_offset
            HAVING min(i.created_at) <= now() - make_interval(secs => coalesce(r.digest_seconds, 0))
            """,
            logger: logger
        ).collect().map { try $0.decode((String, String, String?, Int).self) }
        for (recipient, channel, quiet, utcOffset) in groups {
            guard let channel = DeliveryChannel(rawValue: channel) else { continue }
            try await build(recipient: recipient, channel: channel, quietHours: quiet.flatMap(QuietHours.init(parsing:)), utcOffset: utcOffset)
        }
    }

    private func build(recipient: String, channel: DeliveryChannel, quietHours: QuietHours?, utcOffset: Int) async throws {
        try await postgres.transaction(logger: logger) { [self] connection in
            let items = try await connection.query(
                """
                SELECT id, recipient_name, target, language, line, created_at FROM notification.digest_items
                WHERE recipient = \(recipient) AND channel = \(channel.rawValue) AND digest_id IS NULL
                ORDER BY id FOR UPDATE SKIP LOCKED
                """,
                logger: logger
            ).collect().map { try $0.decode((Int, String, String, String, String, Date).self) }
            guard let first = items.first, let last = items.last else { return }
            let now = Date()
            let context: [String: Any] = [
                "recipientName": first.1,
                "count": items.count,
                "from": NotificationPlanner.localTime(first.5, utcOffset: utcOffset),
                "to": NotificationPlanner.localTime(last.5, utcOffset: utcOffset),
                "items": items.map { ["line": $0.4] },
            ]
            guard let rendered = templates.render("digest", language: first.3, context: context) else {
                throw TemplatesInvalid(reason: "the digest template did not render")
            }
            let when = quietHours?.end(ofQuietAround: now, utcOffset: utcOffset) ?? now
            let digestId = "digest:\(recipient):\(channel.rawValue):\(first.0)"
            let message = PlannedMessage(
                id: digestId,
                recipient: Recipient(key: recipient, name: first.1, language: first.3),
                channel: channel,
                target: first.2,
                template: "digest",
                language: first.3,
                message: rendered,
                urgent: false,
                dispatch: .at(when)
            )
            let payload = try DeliveryPayload.encode(message, requestId: "", event: "digest")
            try await connection.query(
                """
                INSERT INTO notification.deliveries
                    (id, event_id, request_id, channel, target, payload, next_attempt_at, recipient, template, language, subject)
                VALUES (\(digestId), \(digestId), NULL, \(channel.rawValue), \(first.2), \(payload), \(when), \(recipient), 'digest', \(first.3), \(rendered.subject))
                ON CONFLICT (id) DO NOTHING
                """,
                logger: logger
            )
            try await connection.query(
                "UPDATE notification.digest_items SET digest_id = \(digestId) WHERE id = ANY(\(items.map(\.0)))",
                logger: logger
            )
            logger.info("digest built", metadata: ["digest.id": "\(digestId)", "items": "\(items.count)"])
        }
    }
}
