import Foundation
import GridLoopDomain
import Logging
import PostgresNIO

/// Recomputes the trail's hash chains (`gridloop audit verify`).
package enum TrailAudit {
    /// What an audit found.
    package struct Report: Sendable {
        package var requests: Int
        package var events: Int
        /// The first broken link of each request whose chain does not verify.
        package var breaks: [TrailBreak]
    }

    /// Verifies every request's chain, or only `requestId`'s.
    package static func verify(requestId: UUID?, on client: PostgresClient, logger: Logger) async throws -> Report {
        let rows = try await client.query(
            """
            SELECT request_id, seq, event_id, event_type, version, state, unit, actor, detail, occurred_at, prev_hash, hash
            FROM intake.trail WHERE \(requestId)::uuid IS NULL OR request_id = \(requestId) ORDER BY request_id, seq
            """,
            logger: logger
        )
        var report = Report(requests: 0, events: 0, breaks: [])
        var current: [TrailLink] = []
        func close() {
            guard !current.isEmpty else { return }
            report.requests += 1
            if let broken = TrailChain.verify(current) { report.breaks.append(broken) }
            current.removeAll()
        }
        for try await row in rows.decode(LinkRow.self) {
            let link = link(row)
            if let first = current.first, first.entry.requestId != link.entry.requestId { close() }
            current.append(link)
            report.events += 1
        }
        close()
        return report
    }

    /// One request's links in order.
    static func links(of requestId: UUID, on client: PostgresClient, logger: Logger) async throws -> [TrailLink] {
        let rows = try await client.query(
            """
            SELECT request_id, seq, event_id, event_type, version, state, unit, actor, detail, occurred_at, prev_hash, hash
            FROM intake.trail WHERE request_id = \(requestId) ORDER BY seq
            """,
            logger: logger
        )
        var links: [TrailLink] = []
        for try await row in rows.decode(LinkRow.self) { links.append(link(row)) }
        return links
    }

    typealias LinkRow = (UUID, Int, String, String, Int, String, String?, String?, String?, Date, String, String)

    static func link(_ row: LinkRow) -> TrailLink {
        TrailLink(
            entry: TrailEntry(
                requestId: row.0.uuidString.lowercased(),
                seq: row.1,
                eventId: row.2,
                eventType: row.3,
                version: row.4,
                state: row.5,
                unit: row.6,
                actor: row.7,
                detail: row.8,
                occurredAt: row.9
            ),
            previousHash: row.10,
            hash: row.11
        )
    }
}
