import Foundation
import GridLoopDomain
import Testing

@Suite("Trail hash chain")
struct TrailChainTests {
    func chain(_ count: Int) -> [TrailLink] {
        var links: [TrailLink] = []
        for seq in 1...count {
            let entry = TrailEntry(
                requestId: "r1",
                seq: seq,
                eventId: "e\(seq)",
                eventType: seq == 1 ? "request.received" : "request.escalated",
                version: seq,
                state: seq == 1 ? "received" : "assigned",
                unit: seq == 1 ? nil : "street:xiping",
                actor: "cui-chunhua",
                detail: "变压器负载不过来\n第\(seq)次",
                occurredAt: Date(timeIntervalSince1970: 1_764_000_000.123 + Double(seq))
            )
            links.append(TrailChain.link(entry, after: links.last))
        }
        return links
    }

    @Test func anIntactChainVerifies() {
        let links = chain(5)
        #expect(TrailChain.verify(links) == nil)
        #expect(links[0].previousHash == TrailChain.genesis)
        #expect(links[3].previousHash == links[2].hash)
        #expect(links.allSatisfy { $0.hash.count == 64 })
    }

    @Test func anEditedEntryIsNamed() {
        var links = chain(5)
        links[2].entry.detail = "nothing happened"
        #expect(TrailChain.verify(links)?.seq == 3)
        #expect(TrailChain.verify(links)?.reason.contains("altered") == true)
    }

    @Test func aRehashedEditStillBreaksTheNextLink() {
        var links = chain(5)
        links[1].entry.actor = "someone-else"
        links[1].hash = TrailChain.hash(links[1].entry, previous: links[1].previousHash)
        let broken = TrailChain.verify(links)
        #expect(broken?.seq == 3)
        #expect(broken?.reason.contains("does not point") == true)
    }

    @Test func aDeletedOrReorderedLinkIsNamed() {
        var deleted = chain(4)
        deleted.remove(at: 1)
        #expect(TrailChain.verify(deleted)?.seq == 3)
        var swapped = chain(4)
        swapped.swapAt(1, 2)
        #expect(TrailChain.verify(swapped)?.reason.contains("out of sequence") == true)
    }

    @Test func storagePrecisionDoesNotChangeTheHash() {
        let entry = chain(1)[0].entry
        var stored = entry
        // PostgreSQL keeps microseconds: the date comes back a hair off.
        stored.occurredAt = Date(timeIntervalSince1970: (entry.occurredAt.timeIntervalSince1970 * 1_000_000).rounded(.down) / 1_000_000)
        #expect(TrailChain.hash(stored, previous: "") == TrailChain.hash(entry, previous: ""))
    }

    /// What postgres-nio does with a `Date`: microseconds since 2000 truncated, read back as a Double.
    func roundTrip(_ date: Date) -> Date {
        let start = Date(timeIntervalSince1970: 946_684_800)
        let micros = Int64(date.timeIntervalSince(start) * 1_000_000)
        return Date(timeInterval: Double(micros) / 1_000_000, since: start)
    }

    @Test func aTimeAtHalfAMillisecondVerifiesAfterStorageOnceStoredOnAWholeMillisecond() {
        let entry = chain(1)[0].entry
        // Times whose fraction sits at half a millisecond: rounded before storage, they can round
        // the other way after it (the flake seen once in CI), unless stored on a whole millisecond.
        var brokenUnrounded = 0
        for step in 0..<2_000 {
            var written = entry
            written.occurredAt = Date(timeIntervalSince1970: 1_764_000_000 + Double(step) * 0.001 + 0.000_499_9 + Double(step % 7) * 0.000_000_03)
            var read = written
            read.occurredAt = roundTrip(written.occurredAt)
            if TrailChain.hash(read, previous: "") != TrailChain.hash(written, previous: "") { brokenUnrounded += 1 }
            written.occurredAt = TrailChain.storedTime(written.occurredAt)
            read.occurredAt = roundTrip(written.occurredAt)
            #expect(TrailChain.hash(read, previous: "") == TrailChain.hash(written, previous: ""), "\(written.occurredAt.timeIntervalSince1970)")
        }
        #expect(brokenUnrounded > 0, "the case this guards against exists without storedTime")
    }
}
