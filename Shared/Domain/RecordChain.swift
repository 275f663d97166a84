import Crypto
import Foundation

/// One entry of an append-only record kept as a hash chain (a consultation's record of 议事:
/// its opening, each household's position, the meeting outcome, its close).
public struct RecordEntry: Sendable, Equatable {
    /// Whose record it is (a consultation's id).
    public var chain: String
    /// 1, 2, 3 … in the order the entries were appended.
    public var seq: Int
    /// What the entry records, e.g. `opened`, `position`, `meeting`, `closed`.
    public var kind: String
    /// The entry's content: canonical JSON text (``RecordChain/canonical(_:)``), stored and hashed as is.
    public var body: String
    /// When it was recorded; hashed in whole milliseconds.
    public var at: Date

    public init(chain: String, seq: Int, kind: String, body: String, at: Date) {
        self.chain = chain
        self.seq = seq
        self.kind = kind
        self.body = body
        self.at = at
    }
}

/// A record entry with the hash that chains it to the entry before it.
public struct RecordLink: Sendable, Equatable {
    public var entry: RecordEntry
    /// The previous entry's hash (``RecordChain/genesis`` for the first).
    public var previousHash: String
    public var hash: String

    public init(entry: RecordEntry, previousHash: String, hash: String) {
        self.entry = entry
        self.previousHash = previousHash
        self.hash = hash
    }
}

/// Where a record's chain stops being trustworthy.
public struct RecordBreak: Error, Sendable, Equatable, CustomStringConvertible {
    public var chain: String
    /// The first entry that does not verify.
    public var seq: Int
    public var kind: String
    public var reason: String

    public init(chain: String, seq: Int, kind: String, reason: String) {
        self.chain = chain
        self.seq = seq
        self.kind = kind
        self.reason = reason
    }

    public var description: String { "\(chain): seq \(seq) (\(kind)) \(reason)" }
}

/// The hash chain of an append-only record, in the style of ``TrailChain``:
/// `hash = hex(SHA-256(previousHash + "\n" + kind + "\n" + body + "\n" + at in whole milliseconds))`,
/// the first entry's previous hash 64 zeros. Pure, so verification is tested without I/O and
/// anyone holding the rows can recompute it.
public enum RecordChain {
    /// The previous hash of a record's first entry.
    public static let genesis = String(repeating: "0", count: 64)

    /// `date` in integer milliseconds since 1970, as hashed.
    public static func millis(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    /// `date` on a whole millisecond, as an entry's time is stored and hashed (see ``TrailChain/storedTime(_:)``).
    public static func storedTime(_ date: Date) -> Date {
        TrailChain.storedTime(date)
    }

    /// The canonical text of a body: JSON with sorted keys, slashes unescaped, absent optionals left out.
    public static func canonical(_ body: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(body), as: UTF8.self)
    }

    /// The hash of `entry` chained to `previous`.
    public static func hash(_ entry: RecordEntry, previous: String) -> String {
        let text = [previous, entry.kind, entry.body, String(millis(entry.at))].joined(separator: "\n")
        return SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Links `entry` after the entry whose hash is `previousHash` (`nil` for the first entry).
    public static func link(_ entry: RecordEntry, after previousHash: String?) -> RecordLink {
        let previous = previousHash ?? genesis
        return RecordLink(entry: entry, previousHash: previous, hash: hash(entry, previous: previous))
    }

    /// Recomputes one record's chain (links in `seq` order) and returns the first broken link.
    public static func verify(_ links: [RecordLink]) -> RecordBreak? {
        var previous = genesis
        for (index, link) in links.enumerated() {
            let entry = link.entry
            func broken(_ reason: String) -> RecordBreak {
                RecordBreak(chain: entry.chain, seq: entry.seq, kind: entry.kind, reason: reason)
            }
            if entry.seq != index + 1 { return broken("is out of sequence: expected seq \(index + 1)") }
            if link.previousHash != previous { return broken("does not point at the entry before it") }
            if hash(entry, previous: previous) != link.hash { return broken("was altered: its content no longer matches its hash") }
            previous = link.hash
        }
        return nil
    }
}
