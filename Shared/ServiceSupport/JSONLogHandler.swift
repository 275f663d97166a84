import Foundation
import Logging

/// How logs are written.
package enum LogFormat: String, Sendable {
    /// One JSON object a line: `ts`, `level`, `service`, `msg`, then the metadata keys.
    case json
    /// swift-log's plain text.
    case text
}

/// Writes one JSON object per log line to standard error.
package struct JSONLogHandler: LogHandler {
    package var metadata: Logger.Metadata = [:]
    package var logLevel: Logger.Level = .info
    private let label: String

    package init(label: String) {
        self.label = label
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        var fields: [String: String] = [:]
        for (key, value) in metadata { fields[key] = "\(value)" }
        for (key, value) in event.metadata ?? [:] { fields[key] = "\(value)" }
        if let error = event.error { fields["error"] = "\(error)" }
        fields["ts"] = ISO8601DateFormatter.string(from: Date(), timeZone: .gmt, formatOptions: [.withInternetDateTime, .withFractionalSeconds])
        fields["level"] = event.level.rawValue
        fields["service"] = label
        fields["msg"] = "\(event.message)"
        guard var line = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        line.append(0x0A)
        FileHandle.standardError.write(line)
    }
}

/// Process-wide logging set-up.
package enum GridLoopLogging {
    /// Bootstraps swift-log once and returns the service's logger.
    package static func bootstrap(service: String, level: Logger.Level, format: LogFormat) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = format == .json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "gridloop-\(service)")
        logger.logLevel = level
        return logger
    }
}
