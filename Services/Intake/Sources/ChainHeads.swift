import Crypto
import Foundation
import GridLoopDomain
import GridLoopPersistence
import Logging
import PostgresNIO
import ServiceLifecycle

/// The trail's chain heads, exported outside the database on a schedule: each request's last
/// link (`seq`, `hash`) in a file no database login can rewrite. A history rewritten later —
/// even with every hash recomputed so the chain verifies — no longer has the exported hash at
/// that link, and `gridloop audit verify --heads DIR` names it.
package enum ChainHeads {
    /// One exported head.
    package struct Head: Codable, Sendable, Equatable {
        package var requestId: String
        package var seq: Int
        package var hash: String
    }

    /// The last line of an export: how many heads and the SHA-256 of the lines before it.
    struct Seal: Codable {
        var heads: Int
        var digest: String
        var exportedAt: Date
    }

    /// The last link of every request whose trail grew since `since` (every request without
    /// one), and the database's clock at the time (the next export's `since`).
    static func current(since: Date?, on client: PostgresClient, logger: Logger) async throws -> (heads: [Head], at: Date) {
        try await client.transaction(logger: logger) { connection in
            let at = try await connection.query("SELECT now()", logger: logger).collect().first!.decode(Date.self)
            let heads = try await connection.query(
                """
                SELECT DISTINCT ON (request_id) request_id, seq, hash FROM intake.trail
                WHERE \(since)::timestamptz IS NULL OR request_id IN (SELECT request_id FROM intake.trail WHERE recorded_at >= \(since))
                ORDER BY request_id, seq DESC
                """,
                logger: logger
            ).collect().map { row in
                let (id, seq, hash) = try row.decode((RequestID, Int, String).self)
                return Head(requestId: id.description, seq: seq, hash: hash)
            }
            return (heads, at)
        }
    }

    /// Writes the heads to `directory` as `chain-heads-<time>-<host>-<pid>.jsonl` (written aside, then
    /// renamed, so a reader never sees half a file); returns the file's path.
    @discardableResult
    static func export(_ heads: [Head], to directory: String, now: Date = Date()) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var lines = try heads.map { String(decoding: try WireJSON.encode($0), as: UTF8.self) }
        let digest = SHA256.hash(data: Data(lines.joined(separator: "\n").utf8)).map { String(format: "%02x", $0) }.joined()
        lines.append(String(decoding: try WireJSON.encode(Seal(heads: heads.count, digest: digest, exportedAt: now)), as: UTF8.self))
        let stamp = Timestamp.format(now).replacingOccurrences(of: ":", with: "").replacingOccurrences(of: "-", with: "")
        // The host too: every container's process is pid 1, and replicas share the volume.
        let host = String(ProcessInfo.processInfo.hostName.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" })
        let name = "chain-heads-\(stamp)-\(host)-\(ProcessInfo.processInfo.processIdentifier).jsonl"
        let path = (directory as NSString).appendingPathComponent(name)
        let partial = path + ".partial"
        try (lines.joined(separator: "\n") + "\n").write(toFile: partial, atomically: false, encoding: .utf8)
        guard rename(partial, path) == 0 else { throw ChainHeadExportError("cannot rename \(partial) to \(path): errno \(errno)") }
        return path
    }

    /// What checking the exports found.
    package struct Check: Sendable {
        package var files = 0
        package var heads = 0
        /// One line per head the trail no longer has, and per file that does not check out.
        package var problems: [String] = []
    }

    /// Checks every export in `directory` against the trail (only `requestId`'s heads if given).
    package static func check(directory: String, requestId: UUID?, on client: PostgresClient, logger: Logger) async throws -> Check {
        var check = Check()
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("chain-heads-") && $0.hasSuffix(".jsonl") }
            .sorted()
        for name in names {
            check.files += 1
            let text = try String(contentsOfFile: (directory as NSString).appendingPathComponent(name), encoding: .utf8)
            var lines = text.split(separator: "\n").map(String.init)
            guard let last = lines.popLast(), let seal = try? WireJSON.decode(Seal.self, from: Array(last.utf8)) else {
                check.problems.append("\(name): no seal line (cut short?)")
                continue
            }
            let digest = SHA256.hash(data: Data(lines.joined(separator: "\n").utf8)).map { String(format: "%02x", $0) }.joined()
            guard digest == seal.digest, lines.count == seal.heads else {
                check.problems.append("\(name): its lines do not match its seal (the export itself was edited)")
                continue
            }
            let heads = try lines.map { try WireJSON.decode(Head.self, from: Array($0.utf8)) }
                .filter { head in UUID(uuidString: head.requestId).map { requestId == nil || requestId == $0 } ?? false }
            check.heads += heads.count
            // A thousand heads a query: each exported link against the trail's link of the same seq.
            for start in stride(from: 0, to: heads.count, by: 1000) {
                let batch = Array(heads[start..<min(start + 1000, heads.count)])
                let ids = batch.map { UUID(uuidString: $0.requestId)! }
                let rows = try await client.query(
                    """
                    SELECT h.id, h.seq, t.hash FROM unnest(\(ids)::uuid[], \(batch.map(\.seq))::int[]) AS h (id, seq)
                    LEFT JOIN intake.trail t ON t.request_id = h.id AND t.seq = h.seq
                    """,
                    logger: logger
                ).collect()
                var now: [String: String] = [:]
                for row in rows {
                    let (id, seq, hash) = try row.decode((RequestID, Int, String?).self)
                    if let hash { now["\(id):\(seq)"] = hash }
                }
                for head in batch where now["\(head.requestId):\(head.seq)"] != head.hash {
                    check.problems.append(
                        "request \(head.requestId) link \(head.seq): exported \(head.hash.prefix(12))… on \(Timestamp.format(seal.exportedAt)), "
                            + (now["\(head.requestId):\(head.seq)"].map { "the trail has \($0.prefix(12))… (history rewritten after the export)" }
                                ?? "the trail no longer has it (deleted)")
                    )
                }
            }
        }
        return check
    }
}

struct ChainHeadExportError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// intake's schedule for ``ChainHeads``: every `INTAKE_CHAIN_HEAD_INTERVAL_SECONDS` into
/// `INTAKE_CHAIN_HEAD_DIR` (ship or mount it where database logins cannot write). The first
/// export after a start holds every request; later ones the requests whose trail grew since
/// the one before (with a minute's overlap for transactions that committed late).
struct ChainHeadExporter: Service {
    let postgres: PostgresClient
    let directory: String
    let interval: Duration
    let logger: Logger

    func run() async throws {
        var since: Date?
        while !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            do {
                let (heads, at) = try await withDeadline(.seconds(120), "chain-head export") { [postgres, logger, since] in
                    try await ChainHeads.current(since: since, on: postgres, logger: logger)
                }
                if !heads.isEmpty {
                    let path = try ChainHeads.export(heads, to: directory)
                    logger.info("chain heads exported", metadata: ["heads": "\(heads.count)", "file": "\(path)"])
                }
                since = at.addingTimeInterval(-60)
            } catch {
                logger.error("chain-head export failed; trying again next time", metadata: ["error": "\(error)"])
            }
        }
    }
}
