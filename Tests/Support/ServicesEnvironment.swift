import Foundation

/// The services' environment as `deploy/services.env` defines it once for local runs, the
/// benchmarks and the tests: each `KEY=VALUE` line with `$NAME`, `${NAME}` and
/// `${NAME:-default}` expanded from `base` alone (never from this process's environment, so a
/// developer's shell cannot leak into a test); an unknown name expands to "".
package enum ServicesEnvironment {
    /// The file's variables expanded from `base`.
    package static func load(base: [String: String], path: String = GridLoopSystem.repositoryPath("deploy/services.env")) throws -> [String: String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var environment: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#"), let equals = trimmed.firstIndex(of: "=") else { continue }
            environment[String(trimmed[..<equals])] = expand(trimmed[trimmed.index(after: equals)...], base)
        }
        return environment
    }

    /// `text` with its variables replaced from `base`.
    static func expand(_ text: Substring, _ base: [String: String]) -> String {
        var out = ""
        var rest = text
        while let dollar = rest.firstIndex(of: "$") {
            out += rest[..<dollar]
            rest = rest[rest.index(after: dollar)...]
            if rest.first == "{", let close = closingBrace(rest) {
                let inner = rest[rest.index(after: rest.startIndex)..<close]
                rest = rest[rest.index(after: close)...]
                if let sign = inner.range(of: ":-") {
                    let value = base[String(inner[..<sign.lowerBound])] ?? ""
                    out += value.isEmpty ? expand(inner[sign.upperBound...], base) : value
                } else {
                    out += base[String(inner)] ?? ""
                }
            } else {
                let name = rest.prefix { $0 == "_" || $0.isASCII && ($0.isLetter || $0.isNumber) }
                rest = rest[name.endIndex...]
                out += name.isEmpty ? "$" : base[String(name)] ?? ""
            }
        }
        return out + rest
    }

    /// The `}` that closes the `{` at the start of `text` (defaults may hold `${…}`).
    private static func closingBrace(_ text: Substring) -> Substring.Index? {
        var depth = 0
        for index in text.indices {
            if text[index] == "{" { depth += 1 }
            if text[index] == "}" {
                depth -= 1
                if depth == 0 { return index }
            }
        }
        return nil
    }
}
