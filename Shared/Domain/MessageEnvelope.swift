import Foundation

/// The one JSON envelope every GridLoop message travels in.
///
/// Consumers decode the envelope first (``EnvelopeHeader``), dispatch on ``type`` and
/// ``schemaVersion``, then decode the payload they expect.
public struct MessageEnvelope<Payload: Codable & Sendable>: Codable, Sendable {
    /// Unique per message; consumers are idempotent on it (their inbox).
    public var messageId: String
    /// What the message is, e.g. `request.received` (see ``MessageType``).
    public var type: String
    /// The payload's schema version.
    public var schemaVersion: Int
    /// When the fact happened (or the command was issued).
    public var occurredAt: Date
    /// The request the message is about, if any.
    public var requestId: String?
    /// Ties together everything caused by one submission or command.
    public var correlationId: String
    /// The request's workflow version after this event, for ordering checks.
    public var requestVersion: Int?
    /// The message's content.
    public var payload: Payload

    /// Creates an envelope with a fresh message id.
    public init(
        messageId: String = MessageID.make(),
        type: String,
        schemaVersion: Int = 1,
        occurredAt: Date = Date(),
        requestId: String?,
        correlationId: String,
        requestVersion: Int? = nil,
        payload: Payload
    ) {
        self.messageId = messageId
        self.type = type
        self.schemaVersion = schemaVersion
        self.occurredAt = occurredAt
        self.requestId = requestId
        self.correlationId = correlationId
        self.requestVersion = requestVersion
        self.payload = payload
    }
}

/// The envelope without its payload: what a consumer reads before it knows the payload type.
public struct EnvelopeHeader: Codable, Sendable {
    public var messageId: String
    public var type: String
    public var schemaVersion: Int
    public var occurredAt: Date
    public var requestId: String?
    public var correlationId: String
    public var requestVersion: Int?
}

/// Message ids: random UUIDs, lowercase.
public enum MessageID {
    /// A new unique id.
    public static func make() -> String { UUID().uuidString.lowercased() }
}

/// The JSON coding every message and API body uses: ISO 8601 dates with fractional seconds,
/// sorted keys so that equal values encode to equal bytes.
public enum WireJSON {
    /// An encoder for messages and API bodies.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.format(date))
        }
        return encoder
    }

    /// A decoder for messages and API bodies.
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = Timestamp.parse(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected an ISO 8601 date-time, got '\(text)'")
            }
            return date
        }
        return decoder
    }

    /// Encodes `value`.
    public static func encode(_ value: some Encodable) throws -> [UInt8] {
        Array(try encoder().encode(value))
    }

    /// Decodes a `T` from `bytes`.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) throws -> T {
        try decoder().decode(T.self, from: Data(bytes))
    }
}

/// ISO 8601 timestamps with milliseconds, in UTC.
public enum Timestamp {
    /// `2026-11-26T16:05:00.123Z`.
    public static func format(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }

    /// Parses with or without fractional seconds.
    public static func parse(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted)) {
            return date
        }
        return try? Date(text, strategy: .iso8601)
    }
}
