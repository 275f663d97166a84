/// What free text GridLoop stores may contain.
public enum PlainText {
    /// Whether `text` is free of control characters other than tab and line breaks: none
    /// belongs in a request, and PostgreSQL cannot store NUL at all (the API fuzzer's find).
    public static func isClean(_ text: String) -> Bool {
        !text.unicodeScalars.contains { $0.properties.generalCategory == .control && !"\t\n\r".unicodeScalars.contains($0) }
    }
}

extension StaffCommand {
    /// The name of the first text field holding a control character, if any.
    public var fieldWithControlCharacters: String? {
        let fields: [(String, String?)] = [
            ("staff", staff), ("note", note), ("into", into), ("requestId", requestId),
            ("departments", departments?.joined(separator: " ")), ("category", category), ("suggested", suggested),
        ]
        return fields.first { _, value in value.map { !PlainText.isClean($0) } ?? false }?.0
    }
}
