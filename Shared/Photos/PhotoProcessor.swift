import CGD
import Foundation

/// Evidence photos as GridLoop keeps them: the upload is checked by its content (JPEG or PNG
/// magic and header, not its name or declared type), decoded, turned the way the camera held it
/// (EXIF orientation), scaled to at most ``maxEdge`` pixels and re-encoded as a fresh JPEG,
/// with a ``thumbnailEdge`` thumbnail. Re-encoding writes no metadata: EXIF (GPS position,
/// camera, time) never reaches the copies residents and Open311 clients see.
package enum PhotoProcessor {
    package static let maxBytes = 10 << 20
    package static let maxEdge = 1600
    package static let thumbnailEdge = 320
    /// Larger images are refused before decoding (a decompression bomb costs nothing).
    package static let maxPixels = 50_000_000

    package enum Kind: String, Sendable {
        case jpeg, png
    }

    package struct Processed: Sendable {
        package var jpeg: [UInt8]
        package var thumbnail: [UInt8]
        package var width: Int
        package var height: Int
        package var source: Kind
    }

    package struct Refused: Error, CustomStringConvertible, Equatable {
        package var description: String
        /// The server cannot process photos (libgd missing): not the photo's fault.
        package var unavailable = false
    }

    /// What the bytes are, by their content.
    package static func kind(of bytes: [UInt8]) -> Kind? {
        if bytes.count > 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF { return .jpeg }
        if bytes.count > 24, bytes.prefix(8) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] { return .png }
        return nil
    }

    /// Width and height from the header (PNG's IHDR, JPEG's start-of-frame), without decoding.
    package static func dimensions(of bytes: [UInt8], kind: Kind) -> (width: Int, height: Int)? {
        func be16(_ i: Int) -> Int { Int(bytes[i]) << 8 | Int(bytes[i + 1]) }
        switch kind {
        case .png:
            guard bytes.count >= 24 else { return nil }
            let width = Int(bytes[16]) << 24 | Int(bytes[17]) << 16 | Int(bytes[18]) << 8 | Int(bytes[19])
            let height = Int(bytes[20]) << 24 | Int(bytes[21]) << 16 | Int(bytes[22]) << 8 | Int(bytes[23])
            return (width, height)
        case .jpeg:
            var i = 2
            while i + 9 < bytes.count {
                guard bytes[i] == 0xFF else { return nil }
                let marker = bytes[i + 1]
                if marker == 0xFF {
                    i += 1
                    continue
                }
                if marker == 0xD8 || (0xD0...0xD7).contains(marker) || marker == 0x01 {
                    i += 2
                    continue
                }
                let length = be16(i + 2)
                // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC).
                if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) {
                    return (be16(i + 7), be16(i + 5))
                }
                if marker == 0xDA { return nil }
                i += 2 + length
            }
            return nil
        }
    }

    /// The EXIF orientation (1–8) of a JPEG, 1 when it has none.
    package static func orientation(of bytes: [UInt8]) -> Int {
        var i = 2
        while i + 4 < bytes.count, bytes[i] == 0xFF {
            let marker = bytes[i + 1]
            let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            if marker == 0xDA { break }
            if marker == 0xE1, i + 4 + length <= bytes.count, length > 14, Array(bytes[(i + 4)..<(i + 10)]) == Array("Exif\0\0".utf8) {
                let tiff = i + 10
                let little = bytes[tiff] == 0x49
                func u16(_ at: Int) -> Int {
                    at + 1 < bytes.count ? (little ? Int(bytes[at]) | Int(bytes[at + 1]) << 8 : Int(bytes[at]) << 8 | Int(bytes[at + 1])) : 0
                }
                func u32(_ at: Int) -> Int { (little ? u16(at) | u16(at + 2) << 16 : u16(at) << 16 | u16(at + 2)) }
                let ifd = tiff + u32(tiff + 4)
                let count = u16(ifd)
                for entry in 0..<min(count, 64) {
                    let at = ifd + 2 + entry * 12
                    if u16(at) == 0x0112 {
                        let value = u16(at + 8)
                        return (1...8).contains(value) ? value : 1
                    }
                }
                return 1
            }
            i += 2 + length
        }
        return 1
    }

    package static func process(_ bytes: [UInt8]) throws(Refused) -> Processed {
        guard !bytes.isEmpty else { throw Refused(description: "the photo is empty") }
        guard bytes.count <= maxBytes else { throw Refused(description: "the photo is larger than 10 MB") }
        guard let kind = kind(of: bytes) else { throw Refused(description: "not a JPEG or PNG photo (checked by its content)") }
        guard let size = dimensions(of: bytes, kind: kind), size.width > 0, size.height > 0 else {
            throw Refused(description: "the \(kind.rawValue) header is damaged")
        }
        guard size.width * size.height <= maxPixels else { throw Refused(description: "the photo has more than 50 megapixels") }
        let gd = try LibGD.shared.get()
        var data = bytes
        let decoded: gdImagePtr? = data.withUnsafeMutableBytes { raw in
            kind == .jpeg
                ? gd.createFromJpegPtrEx(Int32(raw.count), raw.baseAddress, 1)
                : gd.createFromPngPtr(Int32(raw.count), raw.baseAddress)
        }
        guard let decoded else { throw Refused(description: "the \(kind.rawValue) cannot be decoded") }
        defer { gd.destroy(decoded) }
        // A flat, white-backed truecolor copy (PNG transparency over white).
        let width = Int(decoded.pointee.sx)
        let height = Int(decoded.pointee.sy)
        guard let flat = gd.createTrueColor(Int32(width), Int32(height)) else { throw Refused(description: "out of memory") }
        defer { gd.destroy(flat) }
        gd.filledRectangle(flat, 0, 0, Int32(width - 1), Int32(height - 1), 0xFFFFFF)
        gd.copy(flat, decoded, 0, 0, 0, 0, Int32(width), Int32(height))
        var upright = flat
        var rotated: gdImagePtr?
        let angle: Float? =
            switch kind == .jpeg ? orientation(of: bytes) : 1 {
            case 3: 180
            case 6: 270
            case 8: 90
            default: nil
            }
        if let angle, let turned = gd.rotateInterpolated(flat, angle, 0xFFFFFF) {
            rotated = turned
            upright = turned
        }
        defer { if let rotated { gd.destroy(rotated) } }
        let full = try encode(upright, edge: maxEdge, quality: 85, with: gd)
        let thumbnail = try encode(upright, edge: thumbnailEdge, quality: 75, with: gd)
        return Processed(jpeg: full.bytes, thumbnail: thumbnail.bytes, width: full.width, height: full.height, source: kind)
    }

    /// `image` scaled down to fit `edge` (never up), as JPEG.
    static func encode(_ image: gdImagePtr, edge: Int, quality: Int32, with gd: LibGD) throws(Refused) -> (bytes: [UInt8], width: Int, height: Int) {
        let width = Int(image.pointee.sx)
        let height = Int(image.pointee.sy)
        let scale = min(1.0, Double(edge) / Double(max(width, height)))
        var target = image
        var scaled: gdImagePtr?
        if scale < 1 {
            let w = max(1, Int((Double(width) * scale).rounded()))
            let h = max(1, Int((Double(height) * scale).rounded()))
            gd.setInterpolationMethod(image, GD_BILINEAR_FIXED)
            guard let smaller = gd.scale(image, UInt32(w), UInt32(h)) else { throw Refused(description: "the photo cannot be scaled") }
            scaled = smaller
            target = smaller
        }
        defer { if let scaled { gd.destroy(scaled) } }
        var size: Int32 = 0
        guard let pointer = gd.jpegPtr(target, &size, quality), size > 0 else { throw Refused(description: "the photo cannot be encoded") }
        defer { gd.free(pointer) }
        let bytes = Array(UnsafeRawBufferPointer(start: pointer, count: Int(size)))
        return (bytes, Int(target.pointee.sx), Int(target.pointee.sy))
    }
}
