import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A submitted form: `application/x-www-form-urlencoded`, or `multipart/form-data` when it
/// carries a photo.
package struct FormBody: Sendable {
    package struct File: Sendable {
        package var filename: String
        package var bytes: [UInt8]
    }

    package var fields: [String: [String]] = [:]
    package var files: [String: File] = [:]

    /// Largest form with a photo (the photo's 10 MB and the fields).
    static let maxMultipart = 11 << 20
    static let maxPlain = 64 * 1024

    static func read(_ request: Request) async throws -> FormBody {
        var request = request
        let type = request.headers[.contentType] ?? ""
        if type.lowercased().hasPrefix("multipart/form-data"), let boundary = boundary(of: type) {
            let buffer = try await request.collectBody(upTo: maxMultipart)
            return multipart(Array(buffer.readableBytesView), boundary: boundary)
        }
        let buffer = try await request.collectBody(upTo: maxPlain)
        return FormBody(fields: urlencoded(String(buffer: buffer)))
    }

    static func urlencoded(_ text: String) -> [String: [String]] {
        var fields: [String: [String]] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            guard let name = parts.first, !name.isEmpty else { continue }
            fields[name, default: []].append(parts.count > 1 ? parts[1] : "")
        }
        return fields
    }

    static func boundary(of contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0].lowercased() == "boundary" {
                let value = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                return value.isEmpty || value.count > 200 ? nil : value
            }
        }
        return nil
    }

    /// The parts of a multipart body: text fields, and files (non-empty ones only).
    package static func multipart(_ body: [UInt8], boundary: String) -> FormBody {
        var form = FormBody()
        let delimiter = Array("--\(boundary)".utf8)
        var positions: [Int] = []
        var from = 0
        while let found = find(delimiter, in: body, from: from) {
            positions.append(found)
            from = found + delimiter.count
        }
        for (start, end) in zip(positions, positions.dropFirst()) {
            var partStart = start + delimiter.count
            if partStart + 1 < body.count, body[partStart] == 0x0D, body[partStart + 1] == 0x0A { partStart += 2 }
            var partEnd = end
            if partEnd >= 2, body[partEnd - 2] == 0x0D, body[partEnd - 1] == 0x0A { partEnd -= 2 }
            guard partStart < partEnd, let split = find(Array("\r\n\r\n".utf8), in: body, from: partStart), split < partEnd else { continue }
            let headers = String(decoding: body[partStart..<split], as: UTF8.self)
            let content = Array(body[(split + 4)..<partEnd])
            guard let disposition = headers.split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("content-disposition:") }) else {
                continue
            }
            guard let name = parameter("name", in: String(disposition)), !name.isEmpty else { continue }
            if let filename = parameter("filename", in: String(disposition)) {
                if !content.isEmpty { form.files[name] = File(filename: filename, bytes: content) }
            } else {
                form.fields[name, default: []].append(String(decoding: content, as: UTF8.self))
            }
        }
        return form
    }

    static func parameter(_ name: String, in disposition: String) -> String? {
        for piece in disposition.split(separator: ";").dropFirst() {
            let pair = piece.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0] == name { return pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        }
        return nil
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, from <= haystack.count - needle.count else { return nil }
        let first = needle[0]
        var i = from
        while i <= haystack.count - needle.count {
            if haystack[i] == first, haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
