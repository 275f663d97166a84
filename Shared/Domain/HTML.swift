import Foundation

/// HTML written in Swift with every interpolated value escaped, as the templates' `{{x}}` are
/// (the same five characters); only another `HTML` goes in as it is. For the parts of a page
/// that repeat many times (the web app's inbox rows), where Mustache's dynamic look-ups in
/// `[String: Any]` contexts cost most of the page's time, and for markup drawn in code (the
/// dashboard's SVG charts escape their labels with `escaped`).
public struct HTML: ExpressibleByStringInterpolation, CustomStringConvertible, Sendable {
    public private(set) var text: String

    public init(stringLiteral value: String) { text = value }
    public init(stringInterpolation: Interpolation) { text = stringInterpolation.text }
    public var description: String { text }

    /// `condition ? html : ""`, for optional attributes and badges.
    public static func when(_ condition: Bool, _ html: @autoclosure () -> HTML) -> HTML { condition ? html() : "" }

    public static func += (lhs: inout HTML, rhs: HTML) { lhs.text += rhs.text }
    public static func + (lhs: HTML, rhs: HTML) -> HTML { HTML(text: lhs.text + rhs.text) }

    private init(text: String) { self.text = text }

    public struct Interpolation: StringInterpolationProtocol {
        var text = ""
        public init(literalCapacity: Int, interpolationCount: Int) { text.reserveCapacity(literalCapacity + 24 * interpolationCount) }
        public mutating func appendLiteral(_ literal: String) { text += literal }
        public mutating func appendInterpolation(_ value: String) { HTML.escape(value, into: &text) }
        public mutating func appendInterpolation(_ html: HTML) { text += html.text }
        /// A number: nothing to escape.
        public mutating func appendInterpolation(_ value: some BinaryInteger) { text += String(value) }
        /// A number with `decimals` digits after the point (SVG coordinates).
        public mutating func appendInterpolation(_ value: Double, decimals: Int) { text += String(format: "%.\(decimals)f", value) }
    }

    /// `value` with `<`, `>`, `&`, `"` and `'` escaped.
    public static func escaped(_ value: String) -> String {
        var out = ""
        escape(value, into: &out)
        return out
    }

    /// Appends `value` with `<`, `>`, `&`, `"` and `'` escaped (HTML text and quoted attributes).
    public static func escape(_ value: String, into out: inout String) {
        let utf8 = value.utf8
        guard utf8.contains(where: { $0 == 0x3C || $0 == 0x3E || $0 == 0x26 || $0 == 0x22 || $0 == 0x27 }) else {
            out += value
            return
        }
        var start = utf8.startIndex
        var index = start
        while index < utf8.endIndex {
            let replacement: String? =
                switch utf8[index] {
                case 0x3C: "&lt;"
                case 0x3E: "&gt;"
                case 0x26: "&amp;"
                case 0x22: "&quot;"
                case 0x27: "&#39;"
                default: nil
                }
            if let replacement {
                out += value[start..<index]
                out += replacement
                start = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        out += value[start..<utf8.endIndex]
    }
}
