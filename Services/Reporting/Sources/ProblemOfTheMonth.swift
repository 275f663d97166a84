import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import Logging
import PostgresNIO

/// 每月一题 (the problem of the month): from the hotspot shortlist the district marks one
/// problem a month as a tracked item — its place and category, a title, an owner, a due day —
/// and whoever works it records progress notes (appended, never rewritten) until it is done.
package struct FocusItem: Codable, Sendable, Equatable {
    package struct Note: Codable, Sendable, Equatable {
        package var staff: String
        package var staffName: String
        package var note: String
        package var progress: Int
        package var at: Date
    }

    package var id: String
    /// `yyyy-MM`: one item a month.
    package var month: String
    package var grid: String?
    package var gridName: String?
    package var category: String
    package var title: String
    /// The staff member who owns it.
    package var owner: String
    package var ownerName: String
    /// Local day, `yyyy-MM-dd`.
    package var dueOn: String
    /// 0…100, from the latest note.
    package var progress: Int
    /// `open` or `done`.
    package var status: String
    package var markedBy: String
    package var createdAt: Date
    /// Oldest first.
    package var notes: [Note]
}

/// `POST /v1/reports/focus`: mark the problem of the month.
struct FocusMark: Codable, Sendable {
    /// `yyyy-MM`; default the current month.
    var month: String?
    var grid: String?
    var category: String
    var title: String
    var owner: String
    /// `yyyy-MM-dd`.
    var dueOn: String
}

/// `POST /v1/reports/focus/{id}/notes`: a progress note.
struct FocusProgress: Codable, Sendable {
    var note: String
    /// 0…100.
    var progress: Int
    /// Marks the item done (progress 100).
    var done: Bool?
}

extension ReportStore {
    /// The problems of the month, newest month first (`month` only, when given).
    func focusItems(month: String? = nil, id: UUID? = nil, logger: Logger) async throws -> [FocusItem] {
        let directory = try await ReportingDirectory.load(from: postgres, logger: logger)
        let names = Dictionary(directory.staff.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        let rows = try await postgres.query(
            """
            SELECT id, month, grid, category, title, owner, to_char(due_on, 'YYYY-MM-DD'), progress, status, marked_by, created_at
            FROM reporting.focus_items WHERE (\(month)::text IS NULL OR month = \(month)) AND (\(id)::uuid IS NULL OR id = \(id))
            ORDER BY month DESC
            """,
            logger: logger
        ).collect()
        var items: [FocusItem] = []
        for row in rows {
            let (id, month, grid, category, title, owner, due, progress, status, markedBy, created) = try row.decode(
                (UUID, String, String?, String, String, String, String, Int, String, String, Date).self
            )
            let notes = try await postgres.query(
                "SELECT staff, note, progress, at FROM reporting.focus_notes WHERE item_id = \(id) ORDER BY at, id",
                logger: logger
            ).collect().map { row in
                let (staff, note, progress, at) = try row.decode((String, String, Int, Date).self)
                return FocusItem.Note(staff: staff, staffName: names[staff] ?? staff, note: note, progress: progress, at: at)
            }
            items.append(
                FocusItem(
                    id: id.uuidString.lowercased(),
                    month: month,
                    grid: grid,
                    gridName: grid.map { directory.name("grid:\($0)") },
                    category: category,
                    title: title,
                    owner: owner,
                    ownerName: names[owner] ?? owner,
                    dueOn: due,
                    progress: progress,
                    status: status,
                    markedBy: markedBy,
                    createdAt: created,
                    notes: notes
                )
            )
        }
        return items
    }

    /// Marks the problem of `mark.month` (checked: a known owner and grid, a day, short texts);
    /// a month already marked is refused `409`.
    func markFocus(_ mark: FocusMark, by staff: String, logger: Logger) async throws -> FocusItem {
        let directory = try await ReportingDirectory.load(from: postgres, logger: logger)
        let month = mark.month ?? String(LocalDay.string(Date(), utcOffset: directory.utcOffset).prefix(7))
        var errors: [FieldError] = []
        if Period(parsing: month) == nil || month.count != 7 {
            errors.append(FieldError(field: "month", code: "invalid", message: "a month, yyyy-MM"))
        }
        if let grid = mark.grid, directory.units["grid:\(grid)"] == nil {
            errors.append(FieldError(field: "grid", code: "invalid", message: "no grid '\(grid)' in the org"))
        }
        let category = mark.category.trimmingCharacters(in: .whitespacesAndNewlines)
        if category.isEmpty || category.count > 40 || !PlainText.isClean(category) {
            errors.append(FieldError(field: "category", code: "invalid", message: "1–40 characters"))
        }
        let title = mark.title.trimmingCharacters(in: .whitespacesAndNewlines)
        if title.isEmpty || title.count > 200 || !PlainText.isClean(title) || title.contains("\n") {
            errors.append(FieldError(field: "title", code: "invalid", message: "1–200 characters, no control characters"))
        }
        if !directory.staff.contains(where: { $0.id == mark.owner }) {
            errors.append(FieldError(field: "owner", code: "invalid", message: "no staff member '\(mark.owner)' in the org"))
        }
        if !Period.isDay(mark.dueOn) || mark.dueOn.count != 10 {
            errors.append(FieldError(field: "dueOn", code: "invalid", message: "a day, yyyy-MM-dd"))
        }
        guard errors.isEmpty else {
            throw Problem.validationFailed(errors, title: "The problem of the month is not valid")
        }
        let id = UUID()
        let inserted = try await postgres.query(
            """
            INSERT INTO reporting.focus_items (id, month, grid, category, title, owner, due_on, marked_by)
            VALUES (\(id), \(month), \(mark.grid), \(category), \(title), \(mark.owner), \(mark.dueOn)::date, \(staff))
            ON CONFLICT (month) DO NOTHING RETURNING id
            """,
            logger: logger
        ).collect()
        guard !inserted.isEmpty else {
            let existing = try await focusItems(month: month, logger: logger).first
            throw Problem(
                status: .conflict,
                code: "conflict",
                title: "This month's problem is marked already",
                detail: "\(month) already has its problem of the month: \(existing?.title ?? "?") (\(existing?.id ?? "?"))"
            )
        }
        logger.info("problem of the month marked", metadata: ["focus.id": "\(id)", "month": "\(month)", "by": "\(staff)"])
        return try await focusItems(id: id, logger: logger)[0]
    }

    /// Appends a progress note by `staff` and moves the item's progress (and status) with it.
    func addFocusNote(_ progress: FocusProgress, to id: UUID, by staff: String, logger: Logger) async throws -> FocusItem {
        let note = progress.note.trimmingCharacters(in: .whitespacesAndNewlines)
        var errors: [FieldError] = []
        if note.isEmpty || note.count > 2000 || !PlainText.isClean(note) {
            errors.append(FieldError(field: "note", code: "invalid", message: "1–2000 characters"))
        }
        if !(0...100).contains(progress.progress) { errors.append(FieldError(field: "progress", code: "invalid", message: "a percentage, 0–100")) }
        guard errors.isEmpty else {
            throw Problem.validationFailed(errors, title: "The progress note is not valid")
        }
        let done = progress.done ?? false
        let level = done ? 100 : progress.progress
        try await postgres.transaction(logger: logger) { connection in
            try await connection.query(
                "INSERT INTO reporting.focus_notes (id, item_id, staff, note, progress) VALUES (\(UUID()), \(id), \(staff), \(note), \(level))",
                logger: logger
            )
            try await connection.query(
                """
                UPDATE reporting.focus_items SET progress = \(level), status = CASE WHEN \(done) THEN 'done' ELSE status END, updated_at = now()
                WHERE id = \(id)
                """,
                logger: logger
            )
        }
        return try await focusItems(id: id, logger: logger)[0]
    }
}
