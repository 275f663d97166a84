import Foundation
import GridLoopDomain
import Logging
import PostgresNIO

/// The rows of a figures table.
package enum Dimension: String, Sendable, CaseIterable, Codable {
    case district, tier, street, grid, department

    /// The row a unit's counters add to (`nil`: not part of this dimension).
    func key(of unit: String, directory: ReportingDirectory) -> String? {
        guard !unit.hasPrefix("staff:"), !unit.hasPrefix("oversight:") else { return nil }
        switch self {
        case .district: return "district"
        case .tier: return unit.split(separator: ":").first.map(String.init)
        case .grid: return unit.hasPrefix("grid:") ? unit : nil
        case .department: return unit.hasPrefix("district:") ? unit : nil
        case .street:
            if unit.hasPrefix("street:") { return unit }
            if unit.hasPrefix("grid:"), let street = directory.units[unit]?.street { return "street:\(street)" }
            return nil
        }
    }
}

/// Figures, assessments and subsidies from the rollups and the directory.
struct Reports: Sendable {
    let store: ReportStore
    let rules: AssessmentRules

    func directory(logger: Logger) async throws -> ReportingDirectory {
        try await ReportingDirectory.load(from: store.postgres, logger: logger)
    }

    /// The directory and the summed counters of `period`: one read serves every table of a page.
    func data(_ period: Period, logger: Logger) async throws -> ReportData {
        ReportData(
            period: period,
            directory: try await directory(logger: logger),
            metrics: try await store.metrics(period, logger: logger),
            rates: rules.rates12345,
            notices: try await CommunityStore(postgres: store.postgres).noticeCoverage(period, logger: logger)
        )
    }

    /// Every grid worker's assessment over `period`, ranked.
    func assessments(period: Period, logger: Logger) async throws -> [WorkerAssessment] {
        try await data(period, logger: logger).assessments(rules: rules)
    }

    /// The quarter's subsidy per grid worker (a grid's amount shared by its grid workers).
    func subsidy(logger: Logger) async throws -> [SubsidyLine] {
        let directory = try await directory(logger: logger)
        let workers = directory.staff.filter { $0.role == "grid-worker" && $0.unit.hasPrefix("grid:") }
        let perGrid = Dictionary(grouping: workers, by: \.unit).mapValues(\.count)
        return SubsidyLine.quarter(
            workers: workers.map { worker in
                let grid = directory.units[worker.unit]
                return (worker.id, worker.name, worker.unit, grid?.street ?? "", grid?.population ?? 0, perGrid[worker.unit] ?? 1)
            },
            rules: rules
        )
    }
}

/// What one report page reads: the period, the directory and the counters summed per unit.
struct ReportData: Sendable {
    var period: Period
    var directory: ReportingDirectory
    var metrics: [String: [String: Int64]]
    /// How every row's ``Figures/rates12345`` are weighed.
    var rates: Rates12345Rules
    /// Notice coverage per grid (`grid:<id>`) of the notices due in the period, for the assessment.
    var notices: [String: NoticeCoverage] = [:]

    /// One row per key of `dimension` (units' counters added up), sorted by key.
    func figures(_ dimension: Dimension) -> [Figures] {
        var sums: [String: [String: Int64]] = [:]
        for (unit, values) in metrics {
            guard let key = dimension.key(of: unit, directory: directory) else { continue }
            sums[key, default: [:]].merge(values, uniquingKeysWith: +)
        }
        if dimension == .district, sums.isEmpty { sums["district"] = [:] }
        return sums.keys.sorted().map { key in
            let name =
                dimension == .district ? (directory.units.values.first { $0.ref.hasPrefix("oversight:") }?.name ?? "district") : directory.name(key)
            return Figures(key: key, name: name, metrics: sums[key]!, rates: rates)
        }
    }

    /// The rows of `dimension` as units are compared: the highest 12345 composite first, rows
    /// without follow-up answers last, then by key.
    func ranked(_ dimension: Dimension) -> [Figures] {
        figures(dimension).sorted { a, b in
            switch (a.rates12345.composite, b.rates12345.composite) {
            case let (x?, y?) where x != y: x > y
            case (_?, nil): true
            case (nil, _?): false
            default: a.key < b.key
            }
        }
    }

    func assessments(rules: AssessmentRules) -> [WorkerAssessment] {
        let workers = directory.staff.filter { $0.role == "grid-worker" && $0.unit.hasPrefix("grid:") }
        let assessed = workers.map { worker in
            let grid = directory.units[worker.unit]
            return WorkerAssessment(
                staff: worker.id,
                name: worker.name,
                grid: worker.unit,
                gridName: grid?.name ?? worker.unit,
                households: grid?.households ?? 0,
                population: grid?.population ?? 0,
                months: period.months,
                gridMetrics: metrics[worker.unit] ?? [:],
                staffMetrics: metrics["staff:\(worker.id)"] ?? [:],
                rules: rules,
                notices: notices[worker.unit]
            )
        }
        return WorkerAssessment.rank(assessed, rules: rules)
    }
}
