import Crypto
import Foundation

/// One event on a request's trail (全程留痕), as stored and as hashed.
public struct TrailEntry: Sendable, Equatable {
    public var requestId: String
    /// 1, 2, 3 … in the order the events were recorded for this request.
    public var seq: Int
    public var eventId: String
    public var eventType: String
    /// The request's workflow version after the event.
    public var version: Int
    public var state: String
    public var unit: String?
    public var actor: String?
    public var detail: String?
    public var occurredAt: Date

    public init(
        requestId: String,
        seq: Int,
        eventId: String,
        eventType: String,
        version: Int,
        state: String,
        unit: String?,
        actor: String?,
        detail: String?,
        occurredAt: Date
    ) {
        self.requestId = requestId
        self.seq = seq
        self.eventId = eventId
        self.eventType = eventType
        self.version = version
        self.state = state
        self.unit = unit
        self.actor = actor
        self.detail = detail
        self.occurredAt = occurredAt
    }
}

/// A trail entry with the hash that chains it to the entry before it.
public struct TrailLink: Sendable, Equatable {
    public var entry: TrailEntry
    /// The previous entry's hash (``TrailChain/genesis`` for the first).
    public var previousHash: String
    public var hash: String

    public init(entry: TrailEntry, previousHash: String, hash: String) {
        self.entry = entry
        self.previousHash = previousHash
        self.hash = hash
    }
}

/// Where a chain stops being trustworthy.
public struct TrailBreak: Error, Sendable, Equatable, CustomStringConvertible {
    public var requestId: String
    /// The first link that does not verify.
    public var seq: Int
    public var eventId: String
    public var reason: String

    public var description: String { "request \(requestId): link \(seq) (\(eventId)) \(reason)" }
}

/// The per-request hash chain that makes the trail verifiable rather than trusted:
/// `hash = hex(SHA-256(previousHash + "\n" + canonical(entry)))`.
public enum TrailChain {
    /// The previous hash of a request's first entry.
    public static let genesis = ""

    /// The canonical text of an entry: one field per line, absent fields empty, the time in
    /// integer milliseconds since 1970 (so that storage precision cannot change it).
    public static func canonical(_ entry: TrailEntry) -> String {
        let millis = Int64((entry.occurredAt.timeIntervalSince1970 * 1000).rounded())
        return [
            "gridloop-trail-v1", entry.requestId, String(entry.seq), entry.eventId, entry.eventType, String(entry.version),
            entry.state, entry.unit ?? "", entry.actor ?? "", escape(entry.detail ?? ""), String(millis),
        ].joined(separator: "\n")
    }

    /// `date` on a whole millisecond, as a trail entry's time is stored and hashed: a stored
    /// timestamp (microseconds, truncated by the driver) of a whole millisecond reads back within
    /// a microsecond of it, so ``canonical(_:)`` gives the same text before and after storage.
    /// An unrounded time whose fraction sits at half a millisecond could read back on the other
    /// side of the rounding and fail verification.
    public static func storedTime(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000)
    }

    /// The hash of `entry` chained to `previous`.
    public static func hash(_ entry: TrailEntry, previous: String) -> String {
        let digest = SHA256.hash(data: Data((previous + "\n" + canonical(entry)).utf8))
        return digest.map { String(format: "%02x", $0) }.joined()
    }

    /// Links `entry` after `previous` (`nil` for the first entry).
    public static func link(_ entry: TrailEntry, after previous: TrailLink?) -> TrailLink {
        let previousHash = previous?.hash ?? genesis
        return TrailLink(entry: entry, previousHash: previousHash, hash: hash(entry, previous: previousHash))
    }

    /// Recomputes a request's chain (links in `seq` order) and returns the first broken link.
    public static func verify(_ links: [TrailLink]) -> TrailBreak? {
        var previous = genesis
        for (index, link) in links.enumerated() {
            let entry = link.entry
            func broken(_ reason: String) -> TrailBreak {
                TrailBreak(requestId: entry.requestId, seq: entry.seq, eventId: entry.eventId, reason: reason)
            }
            if entry.seq != index + 1 { return broken("is out of sequence: expected link \(index + 1)") }
            if link.previousHash != previous { return broken("does not point at the link before it") }
            if hash(entry, previous: previous) != link.hash { return broken("was altered: its content no longer matches its hash") }
            previous = link.hash
        }
        return nil
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }
}
