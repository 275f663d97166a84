import Foundation

extension DecodingError {
    /// What is wrong, naming the field as a path (`reporter.phone`, `grids[0].kind`):
    /// `grids[0].kind: is required`, `location.latitude: expected Double`. A document that is
    /// not JSON (or YAML) at all is named as such.
    public var fieldDescription: String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        }
        switch self {
        case .keyNotFound(let key, let context): return "\(path(context.codingPath + [key])): is required"
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context): return "\(path(context.codingPath)): expected \(type)"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty
                ? "the document is not well-formed: \(context.debugDescription)" : "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "\(self)"
        }
    }
}
