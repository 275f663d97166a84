import Foundation
import GridLoopDomain
import GridLoopPersistence
import Logging
import PostgresNIO

/// RFC 4180 CSV: quoted fields with `""` escapes, commas and line breaks inside quotes, CRLF
/// or LF; a leading byte-order mark is dropped. Each row comes with the line it starts on.
package enum CSVReader {
    package static func rows(_ text: String) -> [(line: Int, fields: [String])] {
        var rows: [(Int, [String])] = []
        var fields: [String] = []
        var field = ""
        var quoted = false
        var line = 1
        var rowLine = 1
        var characters = Array(text)
        if characters.first == "\u{FEFF}" { characters.removeFirst() }
        var index = 0
        func endRow() {
            fields.append(field)
            if !(fields.count == 1 && fields[0].isEmpty) { rows.append((rowLine, fields)) }
            fields = []
            field = ""
        }
        while index < characters.count {
            let character = characters[index]
            if quoted {
                if character == "\"" {
                    if index + 1 < characters.count, characters[index + 1] == "\"" {
                        field.append("\"")
                        index += 1
                    } else {
                        quoted = false
                    }
                } else {
                    if character == "\n" || character == "\r\n" { line += 1 }
                    field.append(character)
                }
            } else {
                switch character {
                case "\"" where field.isEmpty: quoted = true
                case ",":
                    fields.append(field)
                    field = ""
                case "\n", "\r\n", "\r":
                    endRow()
                    line += 1
                    rowLine = line
                default: field.append(character)
                }
            }
            index += 1
        }
        if !field.isEmpty || !fields.isEmpty { endRow() }
        return rows
    }
}

/// One CSV row of a bulk import, as a submission draft and the key that makes a re-run add nothing.
package struct ImportRow: Sendable {
    package var line: Int
    package var draft: SubmissionDraft
    package var key: String

    /// The columns bulk import reads (others are ignored): `category`, `description`,
    /// `grid_id`, `household_id`, `address`, `latitude`, `longitude`, `reporter_name`,
    /// `reporter_phone`, `reporter_email`, `language`, `channel` (default `hotline`),
    /// `submitted_by`, `external_id` (e.g. the hotline's record number).
    package static let columns = [
        "category", "description", "grid_id", "household_id", "address", "latitude", "longitude", "reporter_name", "reporter_phone",
        "reporter_email", "language", "channel", "submitted_by", "external_id",
    ]

    /// The rows of a file, or why the file cannot be read as an import (a missing header).
    /// The idempotency key is `import:<external_id>` or, without one, a hash of the row with its
    /// occurrence number among identical rows (so two identical records stay two requests, and
    /// a second run of the file finds both).
    package static func parse(_ text: String) throws(ImportFileInvalid) -> [Result<ImportRow, ImportRowRejected>] {
        let rows = CSVReader.rows(text)
        guard let header = rows.first else { throw ImportFileInvalid(reason: "the file is empty") }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        for required in ["category", "description", "reporter_name", "reporter_phone"] where !names.contains(required) {
            throw ImportFileInvalid(reason: "line 1: the header has no '\(required)' column (columns: \(columns.joined(separator: ", ")))")
        }
        var seen: [String: Int] = [:]
        return rows.dropFirst().map { row in
            var values: [String: String] = [:]
            for (index, name) in names.enumerated() where index < row.fields.count {
                let value = row.fields[index].trimmingCharacters(in: .whitespacesAndNewlines)
                if !value.isEmpty { values[name] = value }
            }
            var problems: [String] = []
            if row.fields.count != names.count { problems.append("has \(row.fields.count) fields, the header \(names.count)") }
            func number(_ name: String) -> Double? {
                guard let text = values[name] else { return nil }
                guard let value = Double(text) else {
                    problems.append("\(name): '\(text)' is not a number")
                    return nil
                }
                return value
            }
            let latitude = number("latitude")
            let longitude = number("longitude")
            let hasLocation = values["grid_id"] != nil || values["household_id"] != nil || values["address"] != nil || latitude != nil
            let draft = SubmissionDraft(
                category: values["category"],
                description: values["description"],
                location: hasLocation
                    ? Location(
                        gridId: values["grid_id"],
                        householdId: values["household_id"],
                        address: values["address"],
                        latitude: latitude,
                        longitude: longitude
                    ) : nil,
                reporter: .init(
                    name: values["reporter_name"],
                    phone: values["reporter_phone"],
                    email: values["reporter_email"],
                    language: values["language"]
                ),
                channel: values["channel"] ?? Channel.hotline.rawValue,
                submittedBy: values["submitted_by"]
            )
            if case .failure(let invalid) = draft.validate() { problems += invalid.errors.map(\.description) }
            guard problems.isEmpty else { return .failure(ImportRowRejected(line: row.line, reasons: problems)) }
            let key: String
            if let external = values["external_id"] {
                key = "import:\(external)"
            } else {
                let content = ImportRow.columns.map { values[$0] ?? "" }.joined(separator: "\u{1F}")
                let occurrence = seen[content, default: 0]
                seen[content] = occurrence + 1
                key = "import:\(APIKey.hash(content).prefix(32)):\(occurrence)"
            }
            return .success(ImportRow(line: row.line, draft: draft, key: key))
        }
    }
}

package struct ImportFileInvalid: Error, CustomStringConvertible {
    package var reason: String
    package var description: String { reason }
}

package struct ImportRowRejected: Error, Sendable, CustomStringConvertible {
    package var line: Int
    package var reasons: [String]

    package init(line: Int, reasons: [String]) {
        self.line = line
        self.reasons = reasons
    }

    package var description: String { "line \(line): \(reasons.joined(separator: "; "))" }
}

/// Stores imported rows through intake's own path (validation, idempotency key, request,
/// trail and outbox in one transaction); intake's relay publishes them.
package struct BulkImporter: Sendable {
    let store: IntakeStore

    package init(postgres: PostgresClient, protector: DataProtector) {
        store = IntakeStore(postgres: postgres, outbox: Outbox(schema: IntakeSchema.name), protector: protector)
    }

    /// `true` if the row made a new request, `false` if its key had made one already.
    package func store(_ row: ImportRow, logger: Logger) async throws -> Bool {
        guard case .success(let submission) = row.draft.validate() else { return false }
        return try await store.submit(submission, idempotencyKey: row.key, correlationId: MessageID.make(), logger: logger).created
    }
}
