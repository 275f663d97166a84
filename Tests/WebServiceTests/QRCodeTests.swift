import Foundation
import Testing
import WebService

/// The door plates' QR codes (libqrencode through `CQRencode`): the symbol's shape and its SVG.
@Suite("Door plates: QR codes")
struct QRCodeTests {
    let link = "http://127.0.0.1:8085/report?household=guanghua-3-01"

    @Test("a report link makes a symbol of 21 + 4k modules, version 1 or more")
    func size() throws {
        let code = try QRCode(link)
        #expect(code.version >= 1)
        #expect(code.size >= 21)
        #expect((code.size - 21) % 4 == 0)
        #expect(code.size == 17 + 4 * code.version)
    }

    @Test("the three finder patterns' corners are dark, their separators light, outside is light")
    func finderPatterns() throws {
        let code = try QRCode(link)
        let last = code.size - 1
        #expect(code.isDark(x: 0, y: 0))
        #expect(code.isDark(x: last, y: 0))
        #expect(code.isDark(x: 0, y: last))
        // The finder's light ring and dark centre.
        #expect(!code.isDark(x: 1, y: 1))
        #expect(code.isDark(x: 3, y: 3))
        // The separators around the top-left, top-right and bottom-left finders.
        #expect(!code.isDark(x: 7, y: 7))
        #expect(!code.isDark(x: last - 7, y: 7))
        #expect(!code.isDark(x: 7, y: last - 7))
        // The quiet zone.
        #expect(!code.isDark(x: -1, y: 0))
        #expect(!code.isDark(x: code.size, y: 0))
    }

    @Test("the SVG: a square of (size + 8) × 4 units, a white background and one path, no style")
    func svg() throws {
        let code = try QRCode(link)
        let svg = code.svg()
        let side = (code.size + 8) * 4
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(svg.hasSuffix("</svg>"))
        #expect(svg.contains("viewBox=\"0 0 \(side) \(side)\""))
        #expect(svg.contains("width=\"\(side)\" height=\"\(side)\""))
        #expect(svg.contains("shape-rendering=\"crispEdges\""))
        #expect(svg.components(separatedBy: "<path").count == 2)
        #expect(svg.components(separatedBy: "<rect").count == 2)
        #expect(!svg.contains("style"))
        // The top-left finder's first row: 7 dark modules from the quiet zone's edge.
        #expect(svg.contains("d=\"M16 16h28v4h-28z"))
        // Other sizes.
        let small = code.svg(moduleSize: 1, quietZone: 0)
        #expect(small.contains("viewBox=\"0 0 \(code.size) \(code.size)\""))
    }

    @Test("the same text gives the same symbol; a higher level never a smaller one")
    func deterministic() throws {
        #expect(try QRCode(link) == QRCode(link))
        #expect(try QRCode(link, level: .high).size >= QRCode(link, level: .low).size)
    }

    @Test("no symbol for an empty text, a NUL byte, or more than version 40 holds")
    func failures() {
        #expect(throws: QRCode.EncodingFailed.self) { try QRCode("") }
        #expect(throws: QRCode.EncodingFailed.self) { try QRCode("a\u{0}b") }
        #expect(throws: QRCode.EncodingFailed.self) { try QRCode(String(repeating: "a", count: 4000)) }
    }
}
