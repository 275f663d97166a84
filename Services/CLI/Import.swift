import ArgumentParser
import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import IntakeService
import Logging
import Synchronization

/// `gridloop import …`.
struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Bulk imports.", subcommands: [Requests.self])

    /// `gridloop import requests FILE.csv`.
    struct Requests: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import requests from a CSV file (e.g. a day of hotline records).",
            discussion: """
                UTF-8 CSV with a header row; columns: \(ImportRow.columns.joined(separator: ", ")) (category, description, reporter_name, \
                reporter_phone and a location are required). Every row is validated; good rows go through intake's own path \
                (idempotency key, request, trail and outbox in one transaction). Re-running the same file adds nothing: rows \
                are keyed by external_id, or by their content. Prints progress on stderr and a summary; exits 1 when any row \
                was rejected (the others are imported all the same).
                """
        )

        @Argument(help: "The CSV file.") var file: String
        @Option(help: "Rows stored at once.") var concurrency = 8

        func run() async throws {
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw CLIFailure("cannot read \(file) as UTF-8: \(error.localizedDescription)")
            }
            let parsed: [Result<ImportRow, ImportRowRejected>]
            do { parsed = try ImportRow.parse(text) } catch { throw CLIFailure("\(file): \(error)") }
            let good = parsed.compactMap { try? $0.get() }
            var rejected: [ImportRowRejected] = parsed.compactMap { if case .failure(let rejection) = $0 { rejection } else { nil } }
            let configuration = try CLIEnvironment.configuration()
            let protector = try CLIEnvironment.dataProtector()
            var logger = Logger(label: "gridloop-cli")
            logger.logLevel = .error
            try await CLIConnections.migrate(IntakeApp.migrator, configuration: configuration, logger: logger)
            let progress = Progress(total: parsed.count, alreadyDone: rejected.count)
            let workers = max(1, min(concurrency, 32))
            let logger2 = logger
            let outcome = try await withAdminDatabase(poolSize: workers, schemas: ["intake"]) { client in
                let importer = BulkImporter(postgres: client, protector: protector)
                return try await withThrowingTaskGroup(of: (Int, Bool?, String?).self) { group in
                    var next = 0
                    var created = 0
                    var duplicates = 0
                    var failed: [ImportRowRejected] = []
                    func add() {
                        guard next < good.count else { return }
                        let row = good[next]
                        next += 1
                        group.addTask {
                            do { return (row.line, try await importer.store(row, logger: logger2), nil) } catch { return (row.line, nil, "\(error)") }
                        }
                    }
                    for _ in 0..<workers { add() }
                    while let (line, result, error) = try await group.next() {
                        switch result {
                        case true?: created += 1
                        case false?: duplicates += 1
                        case nil: failed.append(ImportRowRejected(line: line, reasons: ["not stored: \(error ?? "?")"]))
                        }
                        progress.advance()
                        add()
                    }
                    return (created, duplicates, failed)
                }
            }
            progress.finish()
            rejected += outcome.2
            rejected.sort { $0.line < $1.line }
            print(
                "\(parsed.count) rows: \(outcome.0 + outcome.1) accepted (\(outcome.0) new, \(outcome.1) already imported), \(rejected.count) rejected"
            )
            for rejection in rejected { print("  \(rejection)") }
            if !rejected.isEmpty { throw ExitCode(1) }
        }
    }
}

/// A progress bar on stderr: redrawn in place on a terminal, a line per tenth otherwise.
final class Progress: Sendable {
    private let total: Int
    private let done: Mutex<(count: Int, shownTenth: Int)>
    private let terminal = isatty(2) == 1

    init(total: Int, alreadyDone: Int) {
        self.total = max(1, total)
        done = Mutex((alreadyDone, -1))
    }

    func advance() {
        let (count, show) = done.withLock { state -> (Int, Bool) in
            state.count += 1
            let tenth = state.count * 10 / total
            let show = terminal ? state.count % 50 == 0 || state.count == total : tenth > state.shownTenth
            if tenth > state.shownTenth { state.shownTenth = tenth }
            return (state.count, show)
        }
        if show { draw(count) }
    }

    func finish() {
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private func draw(_ count: Int) {
        let width = 30
        let filled = count * width / total
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
        let text = "[\(bar)] \(count)/\(total) rows (\(count * 100 / total)%)"
        FileHandle.standardError.write(Data((terminal ? "\r\(text)" : "\(text)\n").utf8))
    }
}
