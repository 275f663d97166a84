import CQRencode

/// A QR code made by libqrencode (8-bit mode, the smallest version that fits), kept as a
/// square of dark and light modules, and drawn as a standalone SVG for the door plates.
///
/// The C library is touched only here: the symbol is copied out and freed at once, so the
/// value is plain Swift data (`Sendable`, no pointers).
package struct QRCode: Sendable, Equatable {
    /// How much of the symbol may be damaged (dirt, a scratched plate) and still read.
    package enum Level: Sendable {
        /// About 7 % of the codewords may be lost.
        case low
        /// About 15 %: the door plates' level.
        case medium
        /// About 25 %.
        case quartile
        /// About 30 %.
        case high
    }

    /// libqrencode made no symbol: the text is empty, holds a NUL byte, or is too long for
    /// version 40 at the chosen level.
    package struct EncodingFailed: Error, CustomStringConvertible {
        /// The text's length in UTF-8 bytes.
        package var bytes: Int
        package var description: String { "no QR code for a text of \(bytes) bytes (empty, with a NUL byte, or too long)" }
    }

    /// Modules per side (21 + 4 × (version − 1)), without the quiet zone.
    package let size: Int
    /// The symbol's version, 1…40.
    package let version: Int
    /// Row by row, `true` for a dark module.
    private let modules: [Bool]

    /// Encodes `text` (UTF-8, case kept) at `level`.
    package init(_ text: String, level: Level = .medium) throws {
        let bytes = text.utf8.count
        guard bytes > 0, !text.utf8.contains(0) else { throw EncodingFailed(bytes: bytes) }
        guard let code = QRcode_encodeString(text, 0, level.library, QR_MODE_8, 1) else { throw EncodingFailed(bytes: bytes) }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        guard width > 0, let data = code.pointee.data else { throw EncodingFailed(bytes: bytes) }
        // Each byte is one module; bit 0 is dark (the other bits say which pattern it is part of).
        var modules = [Bool](repeating: false, count: width * width)
        for index in 0..<(width * width) { modules[index] = data[index] & 1 == 1 }
        self.size = width
        self.version = Int(code.pointee.version)
        self.modules = modules
    }

    /// Whether the module at column `x`, row `y` (from the top left) is dark; outside the
    /// symbol (the quiet zone) everything is light.
    package func isDark(x: Int, y: Int) -> Bool {
        guard (0..<size).contains(x), (0..<size).contains(y) else { return false }
        return modules[y * size + x]
    }

    /// A standalone SVG: a white square of `(size + 2 × quietZone) × moduleSize` units and one
    /// black path of the dark modules (each row's runs as rectangles). Only numbers are written
    /// into it, and no `style` (the pages' Content-Security-Policy forbids inline style).
    package func svg(moduleSize: Int = 4, quietZone: Int = 4) -> String {
        let unit = max(1, moduleSize)
        let margin = max(0, quietZone)
        let side = (size + 2 * margin) * unit
        var path = ""
        path.reserveCapacity(size * size * 4)
        for y in 0..<size {
            var x = 0
            while x < size {
                guard isDark(x: x, y: y) else {
                    x += 1
                    continue
                }
                var run = 1
                while x + run < size, isDark(x: x + run, y: y) { run += 1 }
                let left = (x + margin) * unit
                let top = (y + margin) * unit
                let length = run * unit
                path += "M\(left) \(top)h\(length)v\(unit)h-\(length)z"
                x += run
            }
        }
        return
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(side) \(side)\" width=\"\(side)\" height=\"\(side)\" shape-rendering=\"crispEdges\">"
            + "<rect width=\"\(side)\" height=\"\(side)\" fill=\"#fff\"/>"
            + "<path fill=\"#000\" d=\"\(path)\"/>"
            + "</svg>"
    }
}

extension QRCode.Level {
    /// libqrencode's name for the level.
    fileprivate var library: QRecLevel {
        switch self {
        case .low: QR_ECLEVEL_L
        case .medium: QR_ECLEVEL_M
        case .quartile: QR_ECLEVEL_Q
        case .high: QR_ECLEVEL_H
        }
    }
}
