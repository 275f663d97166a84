/// A unit that owns work at one tier: a grid, a street centre, a district department, or a
/// triage desk for requests that could not be placed. Written `tier:id`, e.g. `grid:guanghua-3`.
public struct UnitRef: Hashable, Codable, Sendable, CustomStringConvertible {
    /// The tier the unit works at.
    public var tier: Tier
    /// The unit's id inside its tier: lowercase letters, digits and `-`, 1–64 characters.
    public var id: String

    /// Creates a reference, checking the id's spelling.
    public init(tier: Tier, id: String) throws(DomainError) {
        guard UnitRef.isValidID(id) else { throw .invalidUnit("\(tier.rawValue):\(id)") }
        self.tier = tier
        self.id = id
    }

    /// Parses `tier:id` (e.g. `grid:guanghua-3`, `district:power-supply`).
    public init(parsing text: String) throws(DomainError) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let tier = Tier(rawValue: parts[0]) else { throw .invalidUnit(text) }
        try self.init(tier: tier, id: parts[1])
    }

    /// `tier:id`.
    public var description: String { "\(tier.rawValue):\(id)" }

    /// The routing key of this unit's assignments on the assignments exchange: `tier.id`.
    public var routingKey: String { "\(tier.rawValue).\(id)" }

    /// The durable queue the unit's staff consume: `unit.tier.id`.
    public var queueName: String { "unit.\(routingKey)" }

    /// Whether `id` is a well-formed unit id.
    public static func isValidID(_ id: String) -> Bool {
        guard (1...64).contains(id.utf8.count) else { return false }
        return id.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(parsing: text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "invalid unit '\(text)'"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
