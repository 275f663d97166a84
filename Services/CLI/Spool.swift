import ArgumentParser
import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopServiceSupport

#if canImport(Glibc)
import Glibc
#endif

/// The offline spool: submissions `gridloop submit` could not send (no broker), one JSON file
/// each in `GRIDLOOP_SPOOL_DIR` (default `~/.gridloop/spool`), sent later with their original
/// idempotency key and time, removed only once the broker confirmed them.
struct Spool {
    /// One spooled submission.
    struct Entry: Codable {
        var payload: SubmissionPayload
        var reportedAt: Date
    }

    let path: URL

    static func directory() throws -> Spool {
        let environment = ProcessInfo.processInfo.environment
        let path =
            environment["GRIDLOOP_SPOOL_DIR"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".gridloop/spool")
        do { try FileManager.default.createDirectory(at: path, withIntermediateDirectories: true) } catch {
            throw CLIFailure("cannot use the spool directory \(path.path): \(error.localizedDescription)")
        }
        return Spool(path: path)
    }

    /// Writes the entry (to a temporary name, then renamed: never half a file) and returns its path.
    func keep(_ payload: SubmissionPayload, reportedAt: Date) throws -> String {
        let name =
            String(format: "%015.0f", reportedAt.timeIntervalSince1970 * 1000) + "-"
            + (payload.idempotencyKey ?? MessageID.make()).replacingOccurrences(of: "/", with: "_")
        let file = path.appendingPathComponent(name + ".json")
        let temporary = path.appendingPathComponent("." + name + ".tmp")
        try Data(WireJSON.encode(Entry(payload: payload, reportedAt: reportedAt))).write(to: temporary)
        guard rename(temporary.path, file.path) == 0 else { throw CLIFailure("cannot write \(file.path): \(String(cString: strerror(errno)))") }
        return file.path
    }

    /// Spooled files, oldest first.
    func entries() throws -> [(URL, Entry)] {
        let files = try FileManager.default.contentsOfDirectory(at: path, includingPropertiesForKeys: nil).filter { $0.pathExtension == "json" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        return try files.map { file in
            do { return (file, try WireJSON.decode(Entry.self, from: Array(try Data(contentsOf: file)))) } catch {
                throw CLIFailure("\(file.path) is not a spooled submission: \(error)")
            }
        }
    }

    /// Publishes a submission with a confirm (intake assigns the id and drops a repeated key).
    static func send(_ payload: SubmissionPayload, reportedAt: Date?, options: AMQPOptions) async throws {
        var payload = payload
        payload.reportedAt = reportedAt
        let key = payload.idempotencyKey ?? MessageID.make()
        var envelope = MessageEnvelope(type: MessageType.submissionCreate, requestId: nil, correlationId: key, payload: payload)
        envelope.occurredAt = reportedAt ?? envelope.occurredAt
        let message = try OutgoingMessage(envelope: envelope, exchange: GridLoopExchange.submissions, routingKey: MessageType.submissionCreate)
        let outcome = try await CLIConnections.session(options: options) { session in
            try session.declare(GridLoopTopology.intakeSubmissions)
            return try session.publish(message)
        }
        guard outcome.isConfirmed else { throw CLIFailure("the broker did not confirm submission \(key): \(outcome)") }
    }
}

/// `gridloop spool status | flush`.
struct SpoolCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spool",
        abstract: "Submissions kept offline by `gridloop submit`.",
        subcommands: [Status.self, Flush.self]
    )

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List spooled submissions (oldest first).")

        func run() async throws {
            let spool = try Spool.directory()
            let entries = try spool.entries()
            for (_, entry) in entries {
                let draft = entry.payload.submission
                let place = draft.location?.householdId ?? draft.location?.gridId ?? draft.location?.address ?? "-"
                print("\(entry.payload.idempotencyKey ?? "-")\t\(Timestamp.format(entry.reportedAt))\t\(draft.category ?? "-")\t\(place)")
            }
            print("\(entries.count) spooled in \(spool.path.path)")
        }
    }

    struct Flush: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send every spooled submission (original key and time); each file is removed once the broker confirmed it.",
            discussion: "Safe to run again after a failure: intake makes one request per key."
        )

        func run() async throws {
            let configuration = try CLIEnvironment.configuration()
            let spool = try Spool.directory()
            let entries = try spool.entries()
            var sent = 0
            for (file, entry) in entries {
                do {
                    try await Spool.send(entry.payload, reportedAt: entry.reportedAt, options: configuration.amqp)
                } catch let error as AMQPError {
                    throw CLIFailure("sent \(sent); \(entries.count - sent) still spooled: \(error)")
                } catch let failure as DependencyFailure {
                    FileHandle.standardError.write(Data("sent \(sent); \(entries.count - sent) still spooled\n".utf8))
                    throw failure
                }
                try FileManager.default.removeItem(at: file)
                sent += 1
            }
            print("sent \(sent) spooled submissions; 0 left")
        }
    }
}
