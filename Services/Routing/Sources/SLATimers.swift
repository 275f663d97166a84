import Foundation
import GridLoopDomain
import Logging
import PostgresNIO
import Synchronization

/// SLA timers in PostgreSQL (not broker TTLs: those cannot be cancelled or queried). A timer is
/// written in the same transaction as the assignment or claim it guards, and cancelled in the
/// same transaction as the change that makes it moot. Each deadline comes with a warning timer
/// at 80% of it. Ordinary categories count working time (the org's calendar), urgent ones
/// wall-clock time.
///
/// The org's SLA settings and policies are kept in memory per org version: read again (in one
/// statement, one snapshot) only when `gridloop org import` has made a newer version.
final class SLATimers: Sendable {
    /// The SLA part of one org version.
    struct OrgSLA: Sendable {
        var version: Int
        var settings: SLASettings
        /// Imported policies by key (`*`, `category`, `tier/category`).
        var policies: [String: SLADurations]

        /// The imported policy for `category` at `tier` (most specific key first, see
        /// ``SLAPolicy/lookupKeys(category:tier:)``), else practice defaults.
        func durations(for category: String, at tier: Tier) -> SLADurations {
            SLAPolicy.lookupKeys(category: category, tier: tier).lazy.compactMap { policies[$0] }.first
                ?? SLAPolicy().durations(for: category, at: tier)
        }

        /// When a `kind` deadline for `category` at `tier` starting at `start` falls due, and its warning.
        func deadlines(_ kind: DeadlineKind, category: String, tier: Tier, after start: Date) -> Deadline {
            let durations = durations(for: category, at: tier)
            let duration = kind == .claim ? durations.claim : durations.resolve
            return Deadline(
                due: settings.deadline(after: start, duration, category: category),
                warning: settings.deadline(after: start, duration * 0.8, category: category)
            )
        }
    }

    private let cached = Mutex<OrgSLA?>(nil)

    /// A deadline and its warning (at 80% of it).
    struct Deadline: Sendable {
        var due: Date
        var warning: Date
    }

    /// When a `kind` deadline for `category` at `tier` starting now falls due, and its warning.
    func deadlines(
        _ kind: DeadlineKind,
        category: String,
        tier: Tier,
        orgVersion: Int? = nil,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Deadline {
        try await sla(version: orgVersion, on: connection, logger: logger).deadlines(kind, category: category, tier: tier, after: Date())
    }

    /// Starts a `kind` timer for `assignment` (and its 80% warning), due after the category's
    /// deadline, in one statement. `orgVersion`: the org's version if the caller has read it
    /// in this transaction (else it is read here). Returns the deadline.
    @discardableResult
    func start(
        _ kind: DeadlineKind,
        requestId: UUID,
        assignment: UUID,
        category: String,
        tier: Tier,
        orgVersion: Int? = nil,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Date {
        let deadline = try await deadlines(kind, category: category, tier: tier, orgVersion: orgVersion, on: connection, logger: logger)
        let (due, warn) = (deadline.due, deadline.warning)
        try await connection.query(
            """
            INSERT INTO routing.timers (id, request_id, assignment_id, kind, due_at)
            VALUES (\(UUID()), \(requestId), \(assignment), \(kind.rawValue), \(due)), (\(UUID()), \(requestId), \(assignment), \(kind.warning), \(warn))
            """,
            logger: logger
        )
        return due
    }

    /// Cancels the live timers of `assignments`.
    func cancel(assignments: [UUID], on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "UPDATE routing.timers SET cancelled_at = now() WHERE assignment_id = ANY(\(assignments)) AND fired_at IS NULL AND cancelled_at IS NULL",
            logger: logger
        )
    }

    /// The SLA part of the org as of `version` (read if `nil`): from memory while the version is
    /// the one kept, else read (version, settings and policies in one statement) and kept.
    func sla(version: Int?, on connection: PostgresConnection, logger: Logger) async throws -> OrgSLA {
        if let version, let kept = cached.withLock({ $0 }), kept.version == version { return kept }
        if version == nil {
            let current =
                try await connection.query("SELECT coalesce(max(version), 0) FROM routing.org_versions", logger: logger).collect()
                .first?.decode(Int.self) ?? 0
            if let kept = cached.withLock({ $0 }), kept.version == current { return kept }
        }
        let row = try await connection.query(
            """
            SELECT (SELECT coalesce(max(version), 0) FROM routing.org_versions),
                (SELECT value FROM routing.settings WHERE key = 'sla'),
                coalesce((SELECT json_agg(json_build_array(category, claim_seconds, resolve_seconds))::text FROM routing.sla_policies), '[]')
            """,
            logger: logger
        ).collect().first
        let (read, settingsText, policiesText) = try row?.decode((Int, String?, String).self) ?? (0, nil, "[]")
        var policies: [String: SLADurations] = [:]
        for entry in (try? JSONSerialization.jsonObject(with: Data(policiesText.utf8))) as? [[Any]] ?? [] {
            guard entry.count == 3, let key = entry[0] as? String, let claim = entry[1] as? NSNumber, let resolve = entry[2] as? NSNumber else {
                continue
            }
            policies[key] = SLADurations(claim: .seconds(claim.int64Value), resolve: .seconds(resolve.int64Value))
        }
        let org = OrgSLA(
            version: read,
            settings: settingsText.flatMap(SLASettings.decoded) ?? SLASettings(calendar: nil, urgent: Set(SLASettings.defaultUrgent)),
            policies: policies
        )
        cached.withLock { kept in
            if (kept?.version ?? -1) <= read { kept = org }
        }
        return org
    }
}
