import Foundation
import GridLoopDomain

/// The stored body of a person's delivery.
///
/// - `sms`: exactly what the SMS gateway receives (`POST NOTIFICATION_SMS_URL`, JSON, signed
///   like every webhook): `{"id", "to", "text", "language", "requestId", "template"}`; `id`
///   is also the `webhook-id` header, so the gateway can drop a repeated send.
/// - `webhook` (a staff member's own endpoint): `{"id", "recipient", "name", "requestId",
///   "event", "template", "language", "subject", "body"}`.
/// - `email`: `{"to", "subject", "body", "language", "requestId"}`, turned into a MIME message
///   (`Message-ID: <id@gridloop>`) when sent.
///
/// `requestId` is absent for a community event's message (a notice, a consultation, a wish).
package struct DeliveryPayload: Codable, Sendable, Equatable {
    package var id: String?
    package var to: String?
    package var text: String?
    package var recipient: String?
    package var name: String?
    /// The request the message is about (none for a community event or a digest).
    package var requestId: String?
    package var event: String?
    package var template: String?
    package var language: String
    package var subject: String?
    package var body: String?

    static func encode(_ message: PlannedMessage, requestId: String?, event: String) throws -> String {
        let payload: DeliveryPayload
        switch message.channel {
        case .sms:
            payload = DeliveryPayload(
                id: message.id,
                to: message.target,
                text: message.message.subject,
                requestId: requestId,
                template: message.template,
                language: message.language
            )
        case .webhook:
            payload = DeliveryPayload(
                id: message.id,
                recipient: message.recipient.key,
                name: message.recipient.name,
                requestId: requestId,
                event: event,
                template: message.template,
                language: message.language,
                subject: message.message.subject,
                body: message.message.body
            )
        case .email:
            payload = DeliveryPayload(
                to: message.target,
                requestId: requestId,
                language: message.language,
                subject: message.message.subject,
                body: message.message.body
            )
        }
        return String(decoding: try WireJSON.encode(payload), as: UTF8.self)
    }

    /// A message as its delivery row stores it: the target and the payload, an SMS number sealed
    /// in both (the sender opens it for the gateway), so no row holds a resident's number.
    package static func stored(
        _ message: PlannedMessage,
        requestId: String?,
        event: String,
        protector: DataProtector
    ) throws -> (target: String, payload: String) {
        var message = message
        if message.channel == .sms { message.target = protector.seal(message.target) }
        return (message.target, try encode(message, requestId: requestId, event: event))
    }

    package static func decode(_ text: String) throws -> DeliveryPayload {
        try WireJSON.decode(DeliveryPayload.self, from: Array(text.utf8))
    }

    /// A stored payload with its `to` rewritten (an SMS number sealed or opened).
    package static func rewritingRecipient(_ text: String, _ transform: (String) throws -> String) throws -> String {
        var payload = try decode(text)
        payload.to = try payload.to.map(transform)
        return String(decoding: try WireJSON.encode(payload), as: UTF8.self)
    }
}
