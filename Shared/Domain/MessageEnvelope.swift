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

/// ISO 8601 timestamps with milliseconds, in UTC. Written out by hand (civil dates from day
/// numbers) rather than through Foundation's ISO 8601 style, which costs ≈ 13 µs a date: every
/// message and API body carries several. Same text as that style, checked against it in
/// `TimestampTests`; any other form is left to Foundation's parser.
public enum Timestamp {
    /// `2026-11-26T16:05:00.123Z`.
    public static func format(_ date: Date) -> String {
        // As Foundation does: whole seconds since 2001 and the fraction's milliseconds, truncated.
        let sinceReference = date.timeIntervalSinceReferenceDate
        let seconds = sinceReference.rounded(.down)
        // Years 0001–9999 only; anything else (never a real timestamp) the slow way.
        guard seconds.isFinite, seconds >= -63_114_076_800, seconds < 252_423_993_600 else {
            return date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
        }
        let total = (Int64(seconds) + 978_307_200) * 1000 + min(Int64((sinceReference - seconds) * 1000), 999)
        let (days, inDay) = floorDivision(total, 86_400_000)
        let (year, month, day) = civil(fromDays: days)
        let clock = Int(inDay)
        var bytes = [UInt8](repeating: 0, count: 24)
        func put(_ value: Int, width: Int, at offset: Int) {
            var value = value
            for position in stride(from: offset + width - 1, through: offset, by: -1) {
                bytes[position] = UInt8(truncatingIfNeeded: 0x30 + value % 10)
                value /= 10
            }
        }
        put(year, width: 4, at: 0)
        bytes[4] = 0x2D
        put(month, width: 2, at: 5)
        bytes[7] = 0x2D
        put(day, width: 2, at: 8)
        bytes[10] = 0x54
        put(clock / 3_600_000, width: 2, at: 11)
        bytes[13] = 0x3A
        put(clock / 60_000 % 60, width: 2, at: 14)
        bytes[16] = 0x3A
        put(clock / 1000 % 60, width: 2, at: 17)
        bytes[19] = 0x2E
        put(clock % 1000, width: 3, at: 20)
        bytes[23] = 0x5A
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses with or without fractional seconds.
    public static func parse(_ text: String) -> Date? {
        if let date = parseUTC(text) { return date }
        if let date = try? Date(text, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted)) {
            return date
        }
        return try? Date(text, strategy: .iso8601)
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fff]Z` (at most three fractional digits, what `format` writes),
    /// or nil to let Foundation try.
    static func parseUTC(_ text: String) -> Date? {
        guard (20...24).contains(text.utf8.count), text.utf8.count != 21 else { return nil }
        return text.utf8.withContiguousStorageIfAvailable { bytes -> Date? in
            func number(_ offset: Int, _ width: Int) -> Int? {
                var value = 0
                for position in offset..<offset + width {
                    let digit = Int(bytes[position]) - 0x30
                    guard (0...9).contains(digit) else { return nil }
                    value = value * 10 + digit
                }
                return value
            }
            guard bytes[4] == 0x2D, bytes[7] == 0x2D, bytes[10] == 0x54, bytes[13] == 0x3A, bytes[16] == 0x3A, bytes[bytes.count - 1] == 0x5A,
                let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
                let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
                year >= 1, (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
                hour < 24, minute < 60, second < 60
            else { return nil }
            var milliseconds = 0
            if bytes.count > 20 {
                let digits = bytes.count - 21
                guard bytes[19] == 0x2E, digits >= 1, let fraction = number(20, digits) else { return nil }
                milliseconds = fraction * [100, 10, 1][digits - 1]
            }
            // As Foundation does: whole seconds since 2001 plus the fraction.
            let seconds = Int64(days(fromCivil: year, month, day)) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - 978_307_200
            return Date(timeIntervalSinceReferenceDate: Double(seconds) + Double(milliseconds) / 1000)
        } ?? nil
    }

    static func floorDivision(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let quotient = value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor)
        return (quotient, value - quotient * divisor)
    }

    /// Year, month, day of a day number since 1970-01-01 (proleptic Gregorian; H. Hinnant's algorithm).
    static func civil(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shifted = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shifted + 2) / 5 + 1
        let month = shifted < 10 ? shifted + 3 : shifted - 9
        return (Int(yearOfEra + era * 400 + (month <= 2 ? 1 : 0)), Int(month), Int(day))
    }

    /// The day number since 1970-01-01 of a civil date (the inverse of `civil(fromDays:)`).
    static func days(fromCivil year: Int, _ month: Int, _ day: Int) -> Int {
        let year = month <= 2 ? year - 1 : year
        let era = (year >= 0 ? year : year - 399) / 400
        let yearOfEra = year - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
