import Foundation

/// A request's id: a UUID, written everywhere it travels (messages, JSON, URLs, logs) as its
/// lowercase text, and bound to PostgreSQL as `uuid` (GridLoopPersistence). Wire payloads keep
/// their `requestId` strings; code that holds an id holds one of these, so a request's id is
/// never confused with an assignment's or a message's, and is never spelt by hand.
public struct RequestID: Hashable, Sendable, Codable, CustomStringConvertible, LosslessStringConvertible {
    public let uuid: UUID

    /// A new id.
    public init() { uuid = UUID() }

    public init(_ uuid: UUID) { self.uuid = uuid }

    /// The id in `text` (any case), or `nil` when it is not a UUID.
    public init?(_ text: String) {
        guard let uuid = UUID(uuidString: text) else { return nil }
        self.uuid = uuid
    }

    /// The lowercase text (`1346aa19-509c-492a-9d95-8d739a771877`).
    public var description: String { uuid.uuidString.lowercased() }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = RequestID(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not a request id (a UUID)")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
