import Foundation
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import Logging
import PostgresNIO

/// What reporting knows of the org (written by `gridloop org import`).
package struct ReportingDirectory: Sendable {
    package struct Unit: Sendable {
        package var ref: String
        package var name: String
        /// For a grid: its street id.
        package var street: String?
        package var households: Int
        package var population: Int

        package init(ref: String, name: String, street: String?, households: Int, population: Int) {
            self.ref = ref
            self.name = name
            self.street = street
            self.households = households
            self.population = population
        }
    }

    package struct Staff: Sendable {
        package var id: String
        package var name: String
        package var role: String
        package var unit: String

        package init(id: String, name: String, role: String, unit: String) {
            self.id = id
            self.name = name
            self.role = role
            self.unit = unit
        }
    }

    package var units: [String: Unit]
    package var staff: [Staff]
    package var utcOffset: Int

    package init(units: [Unit], staff: [Staff], utcOffset: Int) {
        self.units = Dictionary(units.map { ($0.ref, $0) }, uniquingKeysWith: { first, _ in first })
        self.staff = staff
        self.utcOffset = utcOffset
    }

    func name(_ ref: String) -> String { units[ref]?.name ?? ref }

    /// Replaces reporting's copy in one transaction (an admin command's step).
    package func replace(on client: PostgresClient, logger: Logger) async throws {
        try await client.transaction(logger: logger) { [self] connection in
            try await connection.query("DELETE FROM reporting.units", logger: logger)
            try await connection.query("DELETE FROM reporting.staff", logger: logger)
            try await connection.query("DELETE FROM reporting.settings", logger: logger)
            for unit in units.values {
                try await connection.query(
                    "INSERT INTO reporting.units (ref, name, street, households, population) VALUES (\(unit.ref), \(unit.name), \(unit.street), \(unit.households), \(unit.population))",
                    logger: logger
                )
            }
            for member in staff {
                try await connection.query(
                    "INSERT INTO reporting.staff (id, name, role, unit) VALUES (\(member.id), \(member.name), \(member.role), \(member.unit))",
                    logger: logger
                )
            }
            try await connection.query("INSERT INTO reporting.settings (id, utc_offset) VALUES (1, \(utcOffset))", logger: logger)
        }
    }

    static func load(from postgres: PostgresClient, logger: Logger) async throws -> ReportingDirectory {
        let units = try await postgres.query("SELECT ref, name, street, households, population FROM reporting.units", logger: logger).collect()
            .map { try $0.decode((String, String, String?, Int, Int).self) }
            .map { Unit(ref: $0.0, name: $0.1, street: $0.2, households: $0.3, population: $0.4) }
        let staff = try await postgres.query("SELECT id, name, role, unit FROM reporting.staff ORDER BY id", logger: logger).collect()
            .map { try $0.decode((String, String, String, String).self) }.map { Staff(id: $0.0, name: $0.1, role: $0.2, unit: $0.3) }
        let offset =
            try await postgres.query("SELECT utc_offset FROM reporting.settings WHERE id = 1", logger: logger).collect().first?.decode(Int.self) ?? 8
            * 3600
        return ReportingDirectory(units: units, staff: staff, utcOffset: offset)
    }
}

/// Reads for the reports: summed rollups, backlog, overdue list, trends, a request.
struct ReportStore: Sendable {
    let postgres: PostgresClient

    /// Unit → metric → sum over `period`: whole months from the monthly rollup, the days
    /// before the first and after the last whole month from the daily one.
    func metrics(_ period: Period, logger: Logger) async throws -> [String: [String: Int64]] {
        let split = period.monthSplit
        let rows = try await postgres.query(
            """
            SELECT unit, metric, sum(value)::bigint FROM (
                SELECT unit, metric, value FROM reporting.monthly WHERE month BETWEEN \(split.firstMonth)::date AND \(split.lastMonth)::date
                UNION ALL
                SELECT unit, metric, value FROM reporting.daily
                WHERE (day BETWEEN \(period.from)::date AND \(period.to)::date) AND NOT (day BETWEEN \(split.firstMonth)::date AND \(split.wholeMonthsEnd)::date)
            ) parts GROUP BY 1, 2
            """,
            logger: logger
        )
        var result: [String: [String: Int64]] = [:]
        for try await (unit, metric, value) in rows.decode((String, String, Int64).self) { result[unit, default: [:]][metric] = value }
        return result
    }

    /// District-wide metrics per month, for the last `months` months up to `period.to`.
    func monthlyTrend(endingAt month: String, months: Int, logger: Logger) async throws -> [(month: String, metrics: [String: Int64])] {
        let rows = try await postgres.query(
            """
            SELECT to_char(month, 'YYYY-MM'), metric, sum(value)::bigint FROM reporting.monthly
            WHERE month > (\(month)::date - make_interval(months => \(months)::int)) AND month <= \(month)::date AND unit NOT LIKE 'staff:%'
            GROUP BY 1, 2 ORDER BY 1
            """,
            logger: logger
        )
        var byMonth: [String: [String: Int64]] = [:]
        for try await (month, metric, value) in rows.decode((String, String, Int64).self) { byMonth[month, default: [:]][metric] = value }
        return byMonth.keys.sorted().map { ($0, byMonth[$0]!) }
    }

    /// Open requests by tier and age (days since received): `<1`, `1-3`, `3-7`, `7-15`, `>15`.
    func backlog(logger: Logger) async throws -> [BacklogRow] {
        let rows = try await postgres.query(
            """
            SELECT coalesce(tier, 'unassigned'),
                   count(*) FILTER (WHERE age < interval '1 day')::bigint,
                   count(*) FILTER (WHERE age >= interval '1 day' AND age < interval '3 days')::bigint,
                   count(*) FILTER (WHERE age >= interval '3 days' AND age < interval '7 days')::bigint,
                   count(*) FILTER (WHERE age >= interval '7 days' AND age < interval '15 days')::bigint,
                   count(*) FILTER (WHERE age >= interval '15 days')::bigint
            FROM (SELECT tier, now() - coalesce(received_at, updated_at) AS age FROM reporting.requests
                  WHERE state NOT IN ('closed', 'rejected', 'merged')) open
            GROUP BY 1 ORDER BY 1
            """,
            logger: logger
        )
        var result: [BacklogRow] = []
        for try await (tier, a, b, c, d, e) in rows.decode((String, Int64, Int64, Int64, Int64, Int64).self) {
            result.append(BacklogRow(tier: tier, buckets: [a, b, c, d, e]))
        }
        return result
    }

    /// Open requests past a deadline, oldest first.
    func overdue(limit: Int, logger: Logger) async throws -> [OverdueRow] {
        let rows = try await postgres.query(
            """
            SELECT id, coalesce(unit, ''), coalesce(category, ''), state, overdue_at, received_at FROM reporting.requests
            WHERE overdue_at IS NOT NULL AND state NOT IN ('closed', 'rejected', 'merged', 'resolved') ORDER BY overdue_at LIMIT \(limit)
            """,
            logger: logger
        )
        var result: [OverdueRow] = []
        for try await (id, unit, category, state, overdueAt, receivedAt) in rows.decode((String, String, String, String, Date, Date?).self) {
            result.append(OverdueRow(requestId: id, unit: unit, category: category, state: state, overdueAt: overdueAt, receivedAt: receivedAt))
        }
        return result
    }

    /// One request as the request page shows it (contact masked) with its events.
    func request(_ id: String, logger: Logger) async throws -> RequestPage? {
        let rows = try await postgres.query(
            """
            SELECT id, state, coalesce(unit, ''), coalesce(category, ''), coalesce(description, ''), coalesce(reporter_name, ''), coalesce(reporter_phone, ''),
                   received_at, claim_due_at, resolve_due_at, overdue_at, satisfaction
            FROM reporting.requests WHERE id = \(id)
            """,
            logger: logger
        ).collect()
        guard let row = rows.first else { return nil }
        let (requestId, state, unit, category, description, name, phone, received, claimDue, resolveDue, overdue, satisfaction) =
            try row.decode((String, String, String, String, String, String, String, Date?, Date?, Date?, Date?, String?).self)
        let events = try await postgres.query(
            "SELECT type, occurred_at, body FROM reporting.events WHERE request_id = \(id) ORDER BY occurred_at, seq",
            logger: logger
        ).collect().map { try $0.decode((String, Date, String).self) }
        return RequestPage(
            id: requestId,
            state: state,
            unit: unit,
            category: category,
            description: description,
            reporterName: Masking.name(name),
            reporterPhone: Masking.phone(phone),
            receivedAt: received,
            claimDueAt: claimDue,
            resolveDueAt: resolveDue,
            overdueAt: overdue,
            satisfaction: satisfaction,
            events: events.map { RequestPage.Event(type: $0.0, at: $0.1, summary: RequestPage.summary(type: $0.0, body: $0.2)) }
        )
    }
}

package struct BacklogRow: Sendable, Codable, Equatable {
    package var tier: String
    /// Counts for ages `<1d`, `1-3d`, `3-7d`, `7-15d`, `>15d`.
    package var buckets: [Int64]
    package static let labels = ["<1d", "1-3d", "3-7d", "7-15d", ">15d"]
}

package struct OverdueRow: Sendable, Codable, Equatable {
    package var requestId: String
    package var unit: String
    package var category: String
    package var state: String
    package var overdueAt: Date
    package var receivedAt: Date?
}

/// The request page's data: contact details masked.
package struct RequestPage: Sendable, Codable, Equatable {
    package struct Event: Sendable, Codable, Equatable {
        package var type: String
        package var at: Date
        package var summary: String
    }

    package var id: String
    package var state: String
    package var unit: String
    package var category: String
    package var description: String
    package var reporterName: String
    package var reporterPhone: String
    package var receivedAt: Date?
    package var claimDueAt: Date?
    package var resolveDueAt: Date?
    package var overdueAt: Date?
    package var satisfaction: String?
    package var events: [Event]

    /// Who did what, from the event's payload (no contact details).
    static func summary(type: String, body: String) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
            let payload = object["payload"] as? [String: Any]
        else { return "" }
        let parts = ["unit", "to", "staff", "reason", "note", "satisfaction", "deadline"].compactMap { key -> String? in
            guard let value = payload[key] else { return nil }
            return "\(key): \(value)"
        }
        return parts.joined(separator: "; ")
    }
}
