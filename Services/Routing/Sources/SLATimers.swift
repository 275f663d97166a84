import Foundation
import GridLoopDomain
import Logging
import PostgresNIO

/// SLA timers in PostgreSQL (not broker TTLs: those cannot be cancelled or queried). A timer is
/// written in the same transaction as the assignment or claim it guards, and cancelled in the
/// same transaction as the change that makes it moot. Each deadline comes with a warning timer
/// at 80% of it. Ordinary categories count working time (the org's calendar), urgent ones
/// wall-clock time.
struct SLATimers: Sendable {
    /// Starts a `kind` timer for `assignment` (and its 80% warning), due after the category's deadline.
    /// Returns the deadline.
    @discardableResult
    func start(
        _ kind: DeadlineKind,
        requestId: UUID,
        assignment: UUID,
        category: String,
        tier: Tier,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Date {
        let durations = try await durations(for: category, at: tier, on: connection, logger: logger)
        let duration = kind == .claim ? durations.claim : durations.resolve
        let settingsText = try await connection.query("SELECT value FROM routing.settings WHERE key = 'sla'", logger: logger).collect().first?.decode(
            String.self
        )
        let settings = settingsText.flatMap(SLASettings.decoded) ?? SLASettings(calendar: nil, urgent: Set(SLASettings.defaultUrgent))
        let now = Date()
        let due = settings.deadline(after: now, duration, category: category)
        let warn = settings.deadline(after: now, duration * 0.8, category: category)
        for (timerKind, at) in [(kind.rawValue, due), (kind.warning, warn)] {
            try await connection.query(
                "INSERT INTO routing.timers (id, request_id, assignment_id, kind, due_at) VALUES (\(UUID()), \(requestId), \(assignment), \(timerKind), \(at))",
                logger: logger
            )
        }
        return due
    }

    /// Cancels the live timers of `assignment`.
    func cancel(assignment: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "UPDATE routing.timers SET cancelled_at = now() WHERE assignment_id = \(assignment) AND fired_at IS NULL AND cancelled_at IS NULL",
            logger: logger
        )
    }

    /// The imported policy for `category` at `tier` (most specific key first, see
    /// ``SLAPolicy/lookupKeys(category:tier:)``), else practice defaults.
    func durations(for category: String, at tier: Tier, on connection: PostgresConnection, logger: Logger) async throws -> SLADurations {
        let keys = SLAPolicy.lookupKeys(category: category, tier: tier)
        let rows = try await connection.query(
            """
            SELECT claim_seconds, resolve_seconds FROM routing.sla_policies
            WHERE category = ANY(\(keys)) ORDER BY array_position(\(keys), category) LIMIT 1
            """,
            logger: logger
        ).collect()
        if let (claim, resolve) = try rows.first?.decode((Int64, Int64).self) {
            return SLADurations(claim: .seconds(claim), resolve: .seconds(resolve))
        }
        return SLAPolicy().durations(for: category, at: tier)
    }
}
