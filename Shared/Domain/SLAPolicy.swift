import Foundation

/// How long a unit has to claim (respond to) and to resolve an assignment.
public struct SLADurations: Sendable, Equatable, Codable {
    public var claim: Duration
    public var resolve: Duration

    public init(claim: Duration, resolve: Duration) {
        self.claim = claim
        self.resolve = resolve
    }
}

/// Deadlines per category, with defaults drawn from practice: emergencies 2 h to resolve,
/// water/power/gas/heating 24 h, ordinary requests 7 days, complex ones 15 days.
/// Timers run on wall-clock time (a working calendar is not modelled yet).
public struct SLAPolicy: Sendable, Equatable {
    /// For categories without their own entry.
    public var standard: SLADurations
    public var byCategory: [String: SLADurations]

    public init(standard: SLADurations = SLAPolicy.ordinary, byCategory: [String: SLADurations] = SLAPolicy.practice) {
        self.standard = standard
        self.byCategory = byCategory
    }

    /// Ordinary requests: claim within a working day, resolve within 7 days.
    public static let ordinary = SLADurations(claim: .seconds(24 * 3600), resolve: .seconds(7 * 24 * 3600))
    /// Defaults for well-known categories.
    public static let practice: [String: SLADurations] = {
        let utility = SLADurations(claim: .seconds(2 * 3600), resolve: .seconds(24 * 3600))
        return [
            "emergency": SLADurations(claim: .seconds(15 * 60), resolve: .seconds(2 * 3600)),
            "water": utility, "power": utility, "gas": utility, "heating": utility,
            "complex": SLADurations(claim: .seconds(24 * 3600), resolve: .seconds(15 * 24 * 3600)),
            // 吹哨报到: a summoned department acknowledges within 30 minutes.
            "summons": SLADurations(claim: .seconds(30 * 60), resolve: .seconds(24 * 3600)),
        ]
    }()

    /// The deadlines for `category`.
    public func durations(for category: String) -> SLADurations {
        byCategory[category] ?? standard
    }

    /// The deadlines for `category` at `tier`: `tier/category`, then `category`, then
    /// `tier/default`, then the default.
    public func durations(for category: String, at tier: Tier) -> SLADurations {
        for key in Self.lookupKeys(category: category, tier: tier) {
            if key == "*" { return standard }
            if let durations = byCategory[key] { return durations }
        }
        return standard
    }

    /// The keys tried, most specific first (`*` is the default).
    public static func lookupKeys(category: String, tier: Tier) -> [String] {
        ["\(tier.rawValue)/\(category)", category, "\(tier.rawValue)/default", "*"]
    }

    /// Parses `90s`, `30m`, `24h`, `7d` (a positive whole number and a unit).
    public static func parseDuration(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let unit = trimmed.last, let number = Int64(trimmed.dropLast()), number > 0 else { return nil }
        switch unit {
        case "s": return .seconds(number)
        case "m": return .seconds(number * 60)
        case "h": return .seconds(number * 3600)
        case "d": return .seconds(number * 86400)
        default: return nil
        }
    }
}

extension Duration {
    /// Whole seconds (rounded down), for storage.
    public var wholeSeconds: Int64 { components.seconds }
}
