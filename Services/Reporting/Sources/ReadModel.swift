import Foundation
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import Logging
import PostgresNIO

/// reporting's consumer: every event is kept in `reporting.events` and projected, in the same
/// transaction as its inbox claim (a redelivered event is neither stored nor counted twice).
struct ReadModel: Sendable {
    let postgres: PostgresClient
    let inbox = Inbox(schema: ReportingSchema.name)
    let projector = Projector()

    func event(_ delivery: Delivery, on connection: PostgresConnection) async throws {
        let header = delivery.header
        let logger = delivery.logger
        guard try await inbox.claim(header.messageId, type: header.type, on: connection, logger: logger) else { return }
        // Waits while a rebuild holds the event store.
        try await connection.query(
            """
            INSERT INTO reporting.events (message_id, type, request_id, occurred_at, body)
            VALUES (\(header.messageId), \(header.type), \(header.requestId), \(header.occurredAt), \(String(decoding: delivery.message.body, as: UTF8.self)))
            ON CONFLICT (message_id) DO NOTHING
            """,
            logger: logger
        )
        try await projector.apply(type: header.type, body: delivery.message.body, on: connection, logger: logger)
    }

    /// Throws the read models away and projects every stored event again, in arrival order,
    /// in one transaction (live events wait for it). Returns the number of events replayed.
    package static func rebuild(on client: PostgresClient, logger: Logger) async throws -> Int {
        try await client.transaction(logger: logger) { connection in
            // TRUNCATE locks the read models exclusively: a live event stored but not yet
            // projected waits and is projected after the rebuild; one already projected has
            // committed before it, and the replay (a later statement) reads it. (The event store
            // itself is not locked: the services' role may only read and append to it.)
            try await connection.query(
                "TRUNCATE reporting.requests, reporting.assignments, reporting.daily, reporting.monthly, reporting.visits, \(unescaped: CommunityProjection.tables.joined(separator: ", "))",
                logger: logger
            )
            let projector = Projector()
            var replayed = 0
            var after: Int64 = 0
            while true {
                let batch = try await connection.query(
                    "SELECT seq, type, body FROM reporting.events WHERE seq > \(after) ORDER BY seq LIMIT 1000",
                    logger: logger
                ).collect().map { try $0.decode((Int64, String, String).self) }
                guard let last = batch.last else { break }
                for (_, type, body) in batch {
                    try await projector.apply(type: type, body: Array(body.utf8), on: connection, logger: logger)
                }
                replayed += batch.count
                after = last.0
            }
            return replayed
        }
    }

    func summary(logger: Logger) async throws -> Summary {
        var summary = Summary(total: 0, byState: [:], byTier: [:], generatedAt: Date())
        for state in RequestState.allCases { summary.byState[state.rawValue] = 0 }
        for tier in Tier.allCases { summary.byTier[tier.rawValue] = 0 }
        summary.byTier["unassigned"] = 0
        let rows = try await postgres.query(
            "SELECT state, COALESCE(tier, 'unassigned'), count(*)::bigint FROM reporting.requests GROUP BY 1, 2",
            logger: logger
        )
        for try await (state, tier, count) in rows.decode((String, String, Int64).self) {
            summary.total += Int(count)
            summary.byState[state, default: 0] += Int(count)
            summary.byTier[tier, default: 0] += Int(count)
        }
        return summary
    }
}

/// `GET /v1/reports/summary`.
struct Summary: Codable, Sendable {
    var total: Int
    var byState: [String: Int]
    /// Current tier of open requests and of resolved ones; `unassigned` before routing.
    var byTier: [String: Int]
    var generatedAt: Date
}
