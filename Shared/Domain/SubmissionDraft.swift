import Foundation

/// One problem with one field of a submission.
public struct FieldError: Codable, Sendable, Equatable, CustomStringConvertible {
    /// JSON path of the field, e.g. `reporter.phone`.
    public var field: String
    /// Stable machine code: `required`, `too_long`, `invalid`.
    public var code: String
    /// Human-readable explanation.
    public var message: String

    public init(field: String, code: String, message: String) {
        self.field = field
        self.code = code
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

/// A submission as a client sent it: every field optional so that a missing one is reported
/// by ``validate()`` with its name, not by a decoding error.
public struct SubmissionDraft: Codable, Sendable, Equatable {
    public struct DraftReporter: Codable, Sendable, Equatable {
        public var name: String?
        public var phone: String?
        public var email: String?
        public var language: String?

        public init(name: String? = nil, phone: String? = nil, email: String? = nil, language: String? = nil) {
            self.name = name
            self.phone = phone
            self.email = email
            self.language = language
        }
    }

    public var category: String?
    public var description: String?
    public var location: Location?
    public var reporter: DraftReporter?
    public var channel: String?
    public var submittedBy: String?
    /// The proactive task (未诉先办) whose household check found this problem, if any.
    public var taskId: String?

    public init(
        category: String? = nil,
        description: String? = nil,
        location: Location? = nil,
        reporter: DraftReporter? = nil,
        channel: String? = nil,
        submittedBy: String? = nil,
        taskId: String? = nil
    ) {
        self.taskId = taskId
        self.category = category
        self.description = description
        self.location = location
        self.reporter = reporter
        self.channel = channel
        self.submittedBy = submittedBy
    }

    /// Limits on field sizes.
    public enum Limits {
        public static let description = 4000
        public static let name = 100
        public static let address = 300
        public static let id = 64
    }

    /// Checks every field and returns the submission, or every problem found.
    public func validate() -> Result<Submission, SubmissionInvalid> {
        var errors: [FieldError] = []
        func text(_ value: String?, _ field: String, max: Int, required: Bool = true) -> String? {
            let trimmed = value?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            if trimmed.isEmpty {
                if required { errors.append(FieldError(field: field, code: "required", message: "is required")) }
                return nil
            }
            if trimmed.count > max {
                errors.append(FieldError(field: field, code: "too_long", message: "must be at most \(max) characters"))
                return nil
            }
            if !PlainText.isClean(trimmed) {
                errors.append(FieldError(field: field, code: "invalid", message: "must not contain control characters"))
                return nil
            }
            return trimmed
        }

        let category = text(category, "category", max: 40)
        if let category, !Self.isSlug(category) {
            errors.append(FieldError(field: "category", code: "invalid", message: "must be lowercase letters, digits and '-', e.g. 'power-supply'"))
        }
        let description = text(description, "description", max: Limits.description)

        var location: Location?
        if let given = self.location {
            let gridId = text(given.gridId, "location.gridId", max: Limits.id, required: false)
            let householdId = text(given.householdId, "location.householdId", max: Limits.id, required: false)
            let address = text(given.address, "location.address", max: Limits.address, required: false)
            for (value, field) in [(gridId, "location.gridId"), (householdId, "location.householdId")] {
                if let value, !UnitRef.isValidID(value) {
                    errors.append(FieldError(field: field, code: "invalid", message: "must be lowercase letters, digits and '-'"))
                }
            }
            if let latitude = given.latitude, !(-90...90).contains(latitude) || !latitude.isFinite {
                errors.append(FieldError(field: "location.latitude", code: "invalid", message: "must be between -90 and 90"))
            }
            if let longitude = given.longitude, !(-180...180).contains(longitude) || !longitude.isFinite {
                errors.append(FieldError(field: "location.longitude", code: "invalid", message: "must be between -180 and 180"))
            }
            if (given.latitude == nil) != (given.longitude == nil) {
                errors.append(
                    FieldError(
                        field: given.latitude == nil ? "location.latitude" : "location.longitude",
                        code: "required",
                        message: "latitude and longitude go together"
                    )
                )
            }
            let coordinates = given.latitude != nil && given.longitude != nil
            if gridId == nil, householdId == nil, address == nil, !coordinates, !errors.contains(where: { $0.field.hasPrefix("location.") }) {
                errors.append(
                    FieldError(field: "location", code: "required", message: "needs a gridId, a householdId, an address or latitude and longitude")
                )
            }
            location = Location(gridId: gridId, householdId: householdId, address: address, latitude: given.latitude, longitude: given.longitude)
        } else {
            errors.append(
                FieldError(field: "location", code: "required", message: "needs a gridId, a householdId, an address or latitude and longitude")
            )
        }

        let name = text(reporter?.name, "reporter.name", max: Limits.name)
        let phone = text(reporter?.phone, "reporter.phone", max: 20)
        if let phone, !Self.isPhone(phone) {
            errors.append(
                FieldError(field: "reporter.phone", code: "invalid", message: "must be 5–20 digits, optionally with a leading '+', spaces or '-'")
            )
        }

        let email = text(reporter?.email, "reporter.email", max: 254, required: false)
        if let email, !Self.isEmail(email) {
            errors.append(FieldError(field: "reporter.email", code: "invalid", message: "is not an email address"))
        }
        let language = text(reporter?.language, "reporter.language", max: 5, required: false)
        if let language, !Reporter.languages.contains(language) {
            errors.append(
                FieldError(field: "reporter.language", code: "invalid", message: "must be one of \(Reporter.languages.joined(separator: ", "))")
            )
        }

        var channel: Channel?
        if let raw = text(self.channel, "channel", max: 20) {
            channel = Channel(rawValue: raw)
            if channel == nil {
                let allowed = Channel.allCases.map(\.rawValue).joined(separator: ", ")
                errors.append(FieldError(field: "channel", code: "invalid", message: "must be one of \(allowed)"))
            }
        }
        let submittedBy = text(submittedBy, "submittedBy", max: Limits.id, required: false)
        let taskId = text(taskId, "taskId", max: 36, required: false)?.lowercased()
        if let taskId, UUID(uuidString: taskId) == nil {
            errors.append(FieldError(field: "taskId", code: "invalid", message: "is not a task id"))
        }

        guard errors.isEmpty, let category, let description, let location, let name, let phone, let channel else {
            return .failure(SubmissionInvalid(errors: errors))
        }
        return .success(
            Submission(
                category: category,
                description: description,
                location: location,
                reporter: Reporter(name: name, phone: phone, email: email, language: language),
                channel: channel,
                submittedBy: submittedBy,
                taskId: taskId
            )
        )
    }

    static func isSlug(_ text: String) -> Bool {
        guard let first = text.utf8.first, first >= 97, first <= 122 else { return false }
        return UnitRef.isValidID(text)
    }

    /// `local@domain.tld`, no spaces, no control characters (a sanity check, not RFC 5321).
    public static func isEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."), text.count <= 254
        else { return false }
        return text.unicodeScalars.allSatisfy { $0.value > 32 && $0.value != 127 && !"<>()[]\\,;:\"".unicodeScalars.contains($0) }
    }

    /// 5–20 digits, optionally a leading `+`, spaces or `-`.
    public static func isPhone(_ text: String) -> Bool {
        var digits = 0
        for (index, char) in text.enumerated() {
            if char.isASCII, char.isNumber {
                digits += 1
                continue
            }
            if char == "+", index == 0 { continue }
            if char == " " || char == "-" { continue }
            return false
        }
        return (5...20).contains(digits)
    }
}

/// A submission that failed validation, with every field problem.
public struct SubmissionInvalid: Error, Sendable, Equatable, CustomStringConvertible {
    public var errors: [FieldError]

    public init(errors: [FieldError]) { self.errors = errors }

    public var description: String {
        "invalid submission: " + errors.map(\.description).joined(separator: "; ")
    }
}
