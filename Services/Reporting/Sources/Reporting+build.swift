import Configuration
import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import Hummingbird
import Logging
import PostgresNIO

/// reporting: consumes every event into its own read model and serves reports.
package enum ReportingApp: GridLoopServiceApp {
    package static let name = "reporting"
    package static let defaultPort = 8081

    /// The composition root.
    package static func build(configuration: ServiceConfiguration, reader: ConfigReader) async throws -> some ApplicationProtocol {
        let runtime = try await ServiceRuntime.make(configuration: configuration, migrator: migrator)
        let model = ReadModel(postgres: runtime.postgres)
        return runtime.makeApplication(
            consumers: [runtime.consumer(queue: GridLoopQueue.reportingEvents, topology: GridLoopTopology.reportingEvents, handler: model.event)]
        ) { router in
            router.get("v1/reports/summary") { _, context in try JSONResponse.make(try await model.summary(logger: context.logger)) }
        }
    }

    /// reporting's schema migrations (for `gridloop migrate`).
    package static let migrator = Migrator(schema: ReportingSchema.name, migrations: ReportingSchema.migrations)
}

enum ReportingSchema {
    static let name = "reporting"
    static let migrations: [Migration] = [
        .messaging(schema: name, version: 1),
        Migration(version: 2, name: "request read model", statements: [
            """
            CREATE TABLE reporting.requests (
                id text PRIMARY KEY,
                state text NOT NULL,
                tier text,
                unit text,
                category text,
                version integer NOT NULL,
                received_at timestamptz,
                updated_at timestamptz NOT NULL
            )
            """,
        ]),
    ]
}

/// `GET /v1/reports/summary`.
struct Summary: Codable, Sendable {
    var total: Int
    var byState: [String: Int]
    /// Current tier of open requests and of resolved ones; `unassigned` before routing.
    var byTier: [String: Int]
    var generatedAt: Date
}

/// The read model: one row per request, moved only forward by the request version.
struct ReadModel: Sendable {
    let postgres: PostgresClient
    let inbox = Inbox(schema: ReportingSchema.name)

    func event(_ delivery: Delivery) async throws {
        let header = delivery.header
        guard let requestId = header.requestId, let version = header.requestVersion else { return }
        var category: String?
        var unit: UnitRef?
        let state: RequestState
        switch header.type {
        case MessageType.requestReceived:
            state = .received
            category = try delivery.decode(RequestReceived.self).payload.submission.category
        case MessageType.requestAssigned:
            state = .assigned
            let payload = try delivery.decode(RequestAssigned.self).payload
            unit = payload.unit
            category = payload.category
        case MessageType.requestClaimed:
            state = .claimed
            unit = try delivery.decode(RequestClaimed.self).payload.unit
        case MessageType.requestRejected:
            state = .rejected
        case MessageType.requestMerged:
            state = .merged
        case MessageType.requestEscalated, MessageType.requestReturned, MessageType.requestReopened, MessageType.requestReassigned:
            state = .assigned
            unit = try delivery.decode(RequestMoved.self).payload.to
        case MessageType.requestClosed:
            state = .closed
        case MessageType.requestResolved:
            state = .resolved
            unit = try delivery.decode(RequestResolved.self).payload.unit
        default:
            return
        }
        let logger = delivery.logger
        try await postgres.withTransaction(logger: logger) { connection in
            guard try await inbox.claim(header.messageId, type: header.type, on: connection, logger: logger) else { return }
            let receivedAt: Date? = state == .received ? header.occurredAt : nil
            try await connection.query(
                """
                INSERT INTO reporting.requests (id, state, tier, unit, category, version, received_at, updated_at)
                VALUES (\(requestId), \(state.rawValue), \(unit?.tier.rawValue), \(unit?.description), \(category), \(version), \(receivedAt), \(header.occurredAt))
                ON CONFLICT (id) DO UPDATE SET
                    state = CASE WHEN EXCLUDED.version > reporting.requests.version THEN EXCLUDED.state ELSE reporting.requests.state END,
                    tier = CASE WHEN EXCLUDED.version > reporting.requests.version THEN COALESCE(EXCLUDED.tier, reporting.requests.tier) ELSE reporting.requests.tier END,
                    unit = CASE WHEN EXCLUDED.version > reporting.requests.version THEN COALESCE(EXCLUDED.unit, reporting.requests.unit) ELSE reporting.requests.unit END,
                    category = COALESCE(reporting.requests.category, EXCLUDED.category),
                    received_at = COALESCE(reporting.requests.received_at, EXCLUDED.received_at),
                    updated_at = GREATEST(reporting.requests.updated_at, EXCLUDED.updated_at),
                    version = GREATEST(reporting.requests.version, EXCLUDED.version)
                """,
                logger: logger
            )
        }
    }

    func summary(logger: Logger) async throws -> Summary {
        var summary = Summary(total: 0, byState: [:], byTier: [:], generatedAt: Date())
        for state in RequestState.allCases { summary.byState[state.rawValue] = 0 }
        for tier in Tier.allCases { summary.byTier[tier.rawValue] = 0 }
        summary.byTier["unassigned"] = 0
        let rows = try await postgres.query("SELECT state, COALESCE(tier, 'unassigned'), count(*)::bigint FROM reporting.requests GROUP BY 1, 2", logger: logger)
        for try await (state, tier, count) in rows.decode((String, String, Int64).self) {
            summary.total += Int(count)
            summary.byState[state, default: 0] += Int(count)
            summary.byTier[tier, default: 0] += Int(count)
        }
        return summary
    }
}
