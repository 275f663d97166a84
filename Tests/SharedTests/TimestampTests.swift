import Foundation
import Testing

@testable import GridLoopDomain

/// `Timestamp` writes and reads dates by hand; Foundation's ISO 8601 style is the reference.
@Suite("Timestamps: the hand-written ISO 8601 form is Foundation's, both ways")
struct TimestampTests {
    static let style = Date.ISO8601FormatStyle.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted)

    /// Dates from 1900 to 2200, with sub-millisecond parts, and edges: the epoch, before it,
    /// leap days, the turn of a century and of a millisecond.
    static var dates: [Date] {
        var generator = SplitMix(seed: 20_261_202)
        var dates = (0..<20_000).map { _ in
            Date(
                timeIntervalSince1970: Double(generator.next() % 9_467_280_000_000) / 1000 - 2_208_988_800 + Double(generator.next() % 1000)
                    / 1_000_000
            )
        }
        dates += [0, -0.0005, -1, 0.0009999, 951_782_400, 4_107_542_399.9996, 1_764_201_600.1234, -2_208_988_800].map(
            Date.init(timeIntervalSince1970:)
        )
        dates += [Date(timeIntervalSinceReferenceDate: 0), Date(timeIntervalSinceReferenceDate: 816_019_500.123)]
        return dates
    }

    @Test func formatWritesWhatFoundationWrites() {
        var differences: [String] = []
        for date in Self.dates where Timestamp.format(date) != date.formatted(Self.style) {
            differences.append("\(date.timeIntervalSince1970): \(Timestamp.format(date)) ≠ \(date.formatted(Self.style))")
        }
        #expect(differences.isEmpty, "\(differences.prefix(5))")
    }

    @Test func parseReadsWhatFoundationReads() throws {
        var differences: [String] = []
        for date in Self.dates {
            let text = date.formatted(Self.style)
            let foundation = try Date(text, strategy: Self.style)
            if Timestamp.parse(text) != foundation {
                differences.append(
                    "\(text): \(String(describing: Timestamp.parse(text)?.timeIntervalSince1970)) ≠ \(foundation.timeIntervalSince1970)"
                )
            }
        }
        #expect(differences.isEmpty, "\(differences.prefix(5))")
    }

    @Test func otherFormsAreLeftToFoundation() throws {
        #expect(Timestamp.parseUTC("2026-11-26T16:05:00+08:00") == nil)
        #expect(Timestamp.parse("2026-11-26T16:05:00+08:00") == Timestamp.parse("2026-11-26T08:05:00Z"))
        #expect(Timestamp.parse("2025-11-26T16:05:00.5Z")?.timeIntervalSince1970 == 1_764_173_100.5)
        #expect(Timestamp.parse("2026-11-26T16:05:00.123456Z").map(Timestamp.format) == "2026-11-26T16:05:00.123Z")
    }

    @Test func nonsenseIsNoDate() {
        for text in ["", "2026-11-26T16:05:00.Z", "2026-11-26 16:05:00Z", "２026-11-26T16:05:00Z", "2026-11-26T16:05:00", "yesterday"] {
            #expect(Timestamp.parse(text) == nil, "\(text)")
        }
    }

    /// Dates that do not exist are not read by hand; Foundation decides, as it did before.
    @Test func impossibleDatesAreFoundationsToJudge() throws {
        for text in ["2026-02-30T10:00:00Z", "2026-13-01T10:00:00Z", "2026-11-26T24:00:00Z", "2100-02-29T00:00:00Z"] {
            #expect(Timestamp.parseUTC(text) == nil, "\(text)")
            #expect(Timestamp.parse(text) == (try? Date(text, strategy: Self.style)), "\(text)")
        }
        #expect(Timestamp.parseUTC("2000-02-29T00:00:00Z") == Date(timeIntervalSince1970: 951_782_400))
    }
}

/// A small deterministic generator (SplitMix64), so a failure repeats.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
