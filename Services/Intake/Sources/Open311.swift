import Foundation

/// Open311 GeoReport v2 documents, each renderable as JSON or XML (the spec requires both).
enum Open311Format: String, Sendable {
    case json
    case xml

    /// Splits `services.json` / `abc.xml` into the name and the format.
    static func split(_ file: String) -> (String, Open311Format)? {
        guard let dot = file.lastIndex(of: "."), let format = Open311Format(rawValue: String(file[file.index(after: dot)...]).lowercased()) else {
            return nil
        }
        return (String(file[..<dot]), format)
    }

    var contentType: String { self == .json ? "application/json; charset=utf-8" : "text/xml; charset=utf-8" }
}

/// A tiny document model rendered to either format: objects, arrays (with the XML element
/// name of their items), strings, numbers, booleans, and absent values (empty in XML, null in JSON).
indirect enum Open311Value: Sendable {
    case object([(String, Open311Value)])
    case array(item: String, [Open311Value])
    case string(String?)
    case number(Double?)
    case bool(Bool)

    func json() -> String {
        switch self {
        case .object(let fields): return "{" + fields.map { "\(Self.quote($0.0)):\($0.1.json())" }.joined(separator: ",") + "}"
        case .array(_, let items): return "[" + items.map { $0.json() }.joined(separator: ",") + "]"
        case .string(let value): return value.map(Self.quote) ?? "null"
        case .number(let value): return value.map { $0 == $0.rounded() && abs($0) < 1e15 ? String(Int($0)) : String($0) } ?? "null"
        case .bool(let value): return value ? "true" : "false"
        }
    }

    /// The XML document with `root` as its element.
    func xml(root: String) -> String {
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>" + element(root)
    }

    private func element(_ name: String) -> String {
        switch self {
        case .object(let fields): return "<\(name)>" + fields.map { $0.1.element($0.0) }.joined() + "</\(name)>"
        case .array(let item, let items): return "<\(name)>" + items.map { $0.element(item) }.joined() + "</\(name)>"
        case .string(let value): return "<\(name)>\(Self.escape(value ?? ""))</\(name)>"
        case .number(let value): return "<\(name)>\(value.map { Open311Value.number($0).json() } ?? "")</\(name)>"
        case .bool(let value): return "<\(name)>\(value)</\(name)>"
        }
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                // XML 1.0 forbids most control characters.
                if scalar.value < 0x20, scalar != "\n", scalar != "\t", scalar != "\r" { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// An Open311 error: rendered as the spec's list of `{code, description}`.
struct Open311Error: Error, Sendable {
    var status: Int
    var descriptions: [String]

    init(_ status: Int, _ descriptions: String...) {
        self.status = status
        self.descriptions = descriptions
    }

    init(status: Int, descriptions: [String]) {
        self.status = status
        self.descriptions = descriptions
    }

    var document: Open311Value {
        .array(item: "error", descriptions.map { .object([("code", .number(Double(status))), ("description", .string($0))]) })
    }
}

/// `application/x-www-form-urlencoded` (and query strings): `+` is a space, `%XX` bytes are UTF-8.
enum FormEncoding {
    static func decode(_ text: String) -> [(String, String)] {
        text.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func unescape(_ part: Substring) -> String {
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(part)
            }
            return (unescape(parts[0]), parts.count > 1 ? unescape(parts[1]) : "")
        }
    }
}
