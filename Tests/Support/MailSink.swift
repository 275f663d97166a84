import Foundation
import GridLoopDomain

/// A real SMTP server for the tests: `deploy/tools/smtp-sink.py` (Python's aiosmtpd) on
/// 127.0.0.1:18025, appending every accepted message to a JSON-lines file.
package final class MailSink: Sendable {
    package static let port = 18025

    /// One accepted message, decoded.
    package struct Mail: Decodable, Sendable {
        package var from: String
        package var to: [String]
        package var messageId: String
        package var subject: String
        package var body: String
        package var language: String
        package var delivery: String
        package var request: String
        /// Whether the message came over a STARTTLS-protected session.
        package var tls: Bool
    }

    private let process: ServiceProcess
    private let file: URL

    private init(process: ServiceProcess, file: URL) {
        self.process = process
        self.file = file
    }

    /// Starts a sink on `port`; with `starttls` (certificate and key PEM files) it requires STARTTLS.
    package static func start(port: Int = MailSink.port, starttls: (certificate: String, key: String)? = nil) async throws -> MailSink {
        let file = TestEnvironment.logDir.appendingPathComponent("mail-\(TestEnvironment.unique()).jsonl")
        var arguments = ["--port", "\(port)", "--out", file.path]
        if let starttls { arguments += ["--starttls-cert", starttls.certificate, "--starttls-key", starttls.key] }
        let process = try ServiceProcess(
            path: URL(fileURLWithPath: GridLoopSystem.repositoryPath("deploy/tools/smtp-sink.py")),
            name: "smtp-sink-\(port)",
            environment: [:],
            arguments: arguments
        )
        let sink = MailSink(process: process, file: file)
        let started = await eventually(timeout: .seconds(15)) {
            ((try? String(contentsOf: process.logFile, encoding: .utf8)) ?? "").contains("smtp sink on")
        }
        guard started, process.isRunning else {
            await process.stop()
            throw SystemError("the SMTP sink did not start (log: \(process.logFile.path))")
        }
        return sink
    }

    /// Every message accepted so far.
    package var messages: [Mail] {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Mail.self, from: Data($0.utf8)) }
    }

    package func stop() async {
        await process.stop()
    }
}
