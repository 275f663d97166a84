import Foundation

/// A plain-text email in UTF-8, ready for SMTP `DATA`: RFC 5322 headers (non-ASCII subject
/// and names as RFC 2047 encoded words), base64 body in 76-character lines, CRLF line ends.
package struct MailMessage: Sendable, Equatable {
    package var from: String
    package var to: String
    package var subject: String
    package var body: String
    /// Without angle brackets, e.g. `<delivery id>@gridloop`.
    package var messageId: String
    package var date: Date
    package var headers: [(String, String)] = []

    package init(from: String, to: String, subject: String, body: String, messageId: String, date: Date, headers: [(String, String)] = []) {
        self.from = from
        self.to = to
        self.subject = subject
        self.body = body
        self.messageId = messageId
        self.date = date
        self.headers = headers
    }

    package static func == (lhs: MailMessage, rhs: MailMessage) -> Bool {
        lhs.rendered == rhs.rendered
    }

    /// The message as sent in `DATA` (without the terminating `.`), dot-stuffed.
    package var rendered: String {
        var lines = [
            "From: \(from)",
            "To: \(to)",
            "Subject: \(Self.encodedWord(subject))",
            "Date: \(Self.rfc5322Date(date))",
            "Message-ID: <\(messageId)>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=UTF-8",
            "Content-Transfer-Encoding: base64",
        ]
        for (name, value) in headers { lines.append("\(name): \(Self.encodedWord(value))") }
        lines.append("")
        let encoded = Data(body.utf8).base64EncodedString()
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            lines.append(String(encoded[index..<end]))
            index = end
        }
        // Base64 lines never start with '.', but headers might: stuff them all the same.
        return lines.map { $0.hasPrefix(".") ? "." + $0 : $0 }.joined(separator: "\r\n") + "\r\n"
    }

    /// A valid RFC 5322 `Message-ID` (dot-atom `@` domain) for a delivery id: the same id
    /// always gives the same Message-ID, so a mail system can drop a repeated send.
    package static func messageId(for deliveryId: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_+=")
        let atom = String(deliveryId.map { allowed.contains($0) ? $0 : "." })
        let collapsed = atom.split(separator: ".", omittingEmptySubsequences: true).joined(separator: ".")
        return "\(collapsed.isEmpty ? "delivery" : collapsed)@gridloop"
    }

    /// `=?UTF-8?B?…?=` for text outside printable ASCII (and any CR/LF removed).
    package static func encodedWord(_ text: String) -> String {
        let single = text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        if single.unicodeScalars.allSatisfy({ $0.value >= 32 && $0.value < 127 }) { return single }
        // Encoded words are at most 75 characters: split on whole characters.
        var words: [String] = []
        var chunk = ""
        for character in single {
            if Data((chunk + String(character)).utf8).count > 39 {
                words.append(chunk)
                chunk = ""
            }
            chunk.append(character)
        }
        if !chunk.isEmpty { words.append(chunk) }
        return words.map { "=?UTF-8?B?\(Data($0.utf8).base64EncodedString())?=" }.joined(separator: "\r\n ")
    }

    /// `Thu, 26 Nov 2026 18:30:00 +0000`.
    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 0)
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.string(from: date)
    }
}
