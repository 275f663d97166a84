import ArgumentParser
import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import IntakeService
import Logging
import ReportingService

/// `gridloop reports …`.
struct Reports: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reporting's read models, hotspots and the problem of the month.",
        subcommands: [Rebuild.self, Hotspots.self, Focus.self, Train.self]
    )

    /// `gridloop reports train`: fit the category classifier on the closed requests.
    struct Train: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train the category classifier on the district's closed requests and print its accuracy on held-out ones.",
            discussion: """
                Character n-gram naive Bayes over each closed request's description and final category (after corrections); every \
                fifth request is held out to measure it, then the model is fitted on all and stored — reporting suggests categories \
                with the newest (GET /v1/reports/requests/{id}/suggestion). --labelled adds examples from a CSV (text,category), \
                e.g. a new district's starting set; --generated N adds GridLoop's generated labelled set (a demo or a test). \
                With --floor the model is stored only if its accuracy reaches it (else exit 1).
                """
        )

        @Option(help: "A CSV of labelled examples: text,category (header optional).") var labelled: String?
        @Option(help: "Add N generated labelled examples (seeded, the same each run).") var generated: Int?
        @Option(help: "The least held-out accuracy to store the model (0–1).") var floor: Double?

        func run() async throws {
            var extra: [LabelledText] = []
            if let labelled {
                guard let text = try? String(contentsOfFile: labelled, encoding: .utf8) else { throw CLIFailure("cannot read \(labelled)") }
                for row in CSVReader.rows(text) where row.fields.count >= 2 {
                    let (example, category) = (row.fields[0], row.fields[1].trimmingCharacters(in: .whitespaces))
                    if row.line == 1, example == "text", category == "category" { continue }
                    guard !example.isEmpty, !category.isEmpty else { throw CLIFailure("\(labelled):\(row.line): a text and a category, please") }
                    extra.append(LabelledText(text: example, category: category))
                }
            }
            if let generated {
                guard (1...100_000).contains(generated) else { throw CLIFailure("--generated takes 1…100000") }
                extra += LabelledSamples.generate(count: generated, seed: 7)
            }
            if let floor, !(0...1).contains(floor) { throw CLIFailure("--floor is an accuracy between 0 and 1") }
            let configuration = try CLIEnvironment.configuration()
            let logger = Logger(label: "gridloop-cli")
            try await CLIConnections.migrate(ReportingApp.migrator, configuration: configuration, logger: logger)
            let examples = extra
            let training = try await withAdminDatabase(schemas: ["reporting"]) { client in
                try await ReportingApp.train(labelled: examples, floor: floor, on: client, logger: logger)
            }
            let evaluation = training.evaluation
            guard evaluation.heldOut > 0 else {
                throw CLIFailure("too few examples to measure: \(training.closedRequests) closed requests and \(training.labelled) labelled")
            }
            print("examples: \(training.closedRequests) closed requests + \(training.labelled) labelled, \(training.categories.count) categories")
            print(
                "held out \(evaluation.heldOut) (every fifth): accuracy \(String(format: "%.1f%%", evaluation.accuracy * 100)) (\(evaluation.correct) of \(evaluation.heldOut))"
            )
            for (category, count) in training.categories.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }) {
                let actual = evaluation.confusion[category] ?? [:]
                let right = actual[category] ?? 0
                print("  \(category): \(count) examples, \(right)/\(actual.values.reduce(0, +)) held out right")
            }
            let corrections = training.corrections
            print(
                "corrections so far: \(corrections.recategorized) (a suggestion shown for \(corrections.suggestionShown), followed \(corrections.suggestionFollowed))"
            )
            guard let id = training.modelId else {
                throw CLIFailure("not stored: accuracy \(String(format: "%.3f", evaluation.accuracy)) is below the floor \(floor ?? 0)")
            }
            print("stored as model \(id); reporting suggests with it from now on")
        }
    }

    /// `gridloop reports hotspots`: where problems gather and come back (分析研判).
    struct Hotspots: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Hotspots and recurring problems per grid × category (supervisors; street officers for their street).",
            discussion: """
                Asks reporting (GRIDLOOP_REPORTING_URL, default http://127.0.0.1:8081) with GRIDLOOP_TOKEN. A repeat is the same \
                household or address reporting the same category within REPORTING_REPEAT_DAYS; recurring = repeats or reopened.
                """
        )

        @Option(help: "2026-12, 2026-Q4 or 2026 (default: this month).") var period: String?
        @Option(help: "Only this street's grids.") var street: String?
        @Flag(help: "One row per month as well.") var byMonth = false
        @Flag(help: "Print reporting's CSV.") var csv = false
        @Flag(help: "Print reporting's JSON.") var json = false

        func run() async throws {
            var query: [URLQueryItem] = []
            if let period { query.append(URLQueryItem(name: "period", value: period)) }
            if let street { query.append(URLQueryItem(name: "street", value: street)) }
            if byMonth { query.append(URLQueryItem(name: "by", value: "month")) }
            let path = csv ? "/v1/reports/hotspots.csv" : "/v1/reports/hotspots"
            let bytes = try await ServiceHTTP.reporting.call(.GET, path, query: query, what: "the hotspots")
            if csv || json {
                print(String(decoding: bytes, as: UTF8.self))
                return
            }
            let report = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] ?? [:]
            func lines(_ key: String) -> [String] {
                (report[key] as? [[String: Any]] ?? []).map { row in
                    let rate = (row["recurringRate"] as? Double).map { String(format: "%.0f%%", $0 * 100) } ?? "-"
                    return [
                        (row["month"] as? String).map { "\($0)  " } ?? "", "\(row["gridName"] ?? "-")  \(row["category"] ?? "")",
                        "  reports \(row["reports"] ?? 0)  repeats \(row["repeats"] ?? 0)  reopened \(row["reopened"] ?? 0)  recurring \(rate)",
                    ].joined()
                }
            }
            print("hotspots (most reports first):")
            print(lines("hotspots").map { "  " + $0 }.joined(separator: "\n"))
            print("recurring problems:")
            let recurring = lines("recurring")
            print(recurring.isEmpty ? "  none" : recurring.map { "  " + $0 }.joined(separator: "\n"))
        }
    }

    /// `gridloop reports focus …`: the problem of the month (每月一题).
    struct Focus: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The problem of the month (每月一题): list, mark (supervisors), record progress (its owner or a supervisor).",
            subcommands: [List.self, Mark.self, Note.self]
        )

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "The problems of the month with their progress notes (JSON).")
            @Option(help: "Only this month (yyyy-MM).") var month: String?

            func run() async throws {
                let query = month.map { [URLQueryItem(name: "month", value: $0)] } ?? []
                print(
                    String(decoding: try await ServiceHTTP.reporting.call(.GET, "/v1/reports/focus", query: query, what: "the list"), as: UTF8.self)
                )
            }
        }

        struct Mark: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Mark the problem of a month, with its owner and due day (supervisors).")
            @Option(help: "yyyy-MM (default: this month).") var month: String?
            @Option(help: "The grid, e.g. guanghua-3.") var grid: String?
            @Option(help: "The category, e.g. water.") var category: String
            @Option(help: "What is to be solved.") var title: String
            @Option(help: "The owner's staff id.") var owner: String
            @Option(help: "Due day, yyyy-MM-dd.") var due: String

            func run() async throws {
                var body: [String: Any] = ["category": category, "title": title, "owner": owner, "dueOn": due]
                if let month { body["month"] = month }
                if let grid { body["grid"] = grid }
                let bytes = try await ServiceHTTP.reporting.call(.POST, "/v1/reports/focus", json: body, what: "the problem of the month")
                let item = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] ?? [:]
                print(
                    "marked \(item["month"] ?? "?"): \(item["title"] ?? "?") — owner \(item["owner"] ?? "?"), due \(item["dueOn"] ?? "?") (\(item["id"] ?? "?"))"
                )
            }
        }

        struct Note: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Record progress on a problem of the month (its owner or a supervisor).")
            @Argument(help: "The item's id.") var id: String
            @Option(help: "What was done.") var note: String
            @Option(help: "Done so far, 0–100.") var progress: Int
            @Flag(help: "It is solved (progress 100).") var done = false

            func run() async throws {
                guard UUID(uuidString: id) != nil else { throw CLIFailure("'\(id)' is not an item id (gridloop reports focus list)") }
                var body: [String: Any] = ["note": note, "progress": progress]
                if done { body["done"] = true }
                let bytes = try await ServiceHTTP.reporting.call(.POST, "/v1/reports/focus/\(id.lowercased())/notes", json: body, what: "the note")
                let item = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] ?? [:]
                print("\(item["title"] ?? "?"): \(item["progress"] ?? 0)% (\(item["status"] ?? "?"))")
            }
        }
    }

    /// `gridloop reports rebuild`: project every stored event again.
    struct Rebuild: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Throw reporting's read models away and rebuild them from its stored events (same figures).",
            discussion: "Runs in one transaction; reporting's consumer waits for it and then goes on."
        )

        func run() async throws {
            let configuration = try CLIEnvironment.configuration()
            let logger = Logger(label: "gridloop-cli")
            try await CLIConnections.migrate(ReportingApp.migrator, configuration: configuration, logger: logger)
            let started = ContinuousClock.now
            let replayed = try await withAdminDatabase(schemas: ["reporting"]) { client in try await ReportingApp.rebuild(on: client, logger: logger)
            }
            print("rebuilt reporting from \(replayed) events in \(ContinuousClock.now - started)")
        }
    }
}
