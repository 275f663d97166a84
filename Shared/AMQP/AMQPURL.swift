import Foundation

/// Where a broker is and how to log in: parsed from `amqp://user:pass@host:port/vhost`.
///
/// The vhost is the URL path with one leading `/` removed and percent-decoded, as the AMQP URI
/// spec says: `amqp://h/` is the vhost `""` → we treat empty as `/`; `amqp://h/%2f` is `/`.
package struct AMQPURL: Sendable, Equatable, CustomStringConvertible {
    package var host: String
    package var port: Int
    package var user: String
    package var password: String
    package var vhost: String

    package init(host: String = "127.0.0.1", port: Int = 5672, user: String = "guest", password: String = "guest", vhost: String = "/") {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.vhost = vhost
    }

    /// Parses an `amqp://` URL; throws ``AMQPError`` naming what is wrong.
    package init(string: String) throws(AMQPError) {
        guard let components = URLComponents(string: string), components.scheme == "amqp" else {
            throw AMQPError(.invalidURL, reason: "expected amqp://user:pass@host:port/vhost, got '\(AMQPURL.redacted(string))'")
        }
        guard let host = components.host, !host.isEmpty else {
            throw AMQPError(.invalidURL, reason: "the URL names no host")
        }
        self.host = host
        self.port = components.port ?? 5672
        guard (1...65535).contains(port) else { throw AMQPError(.invalidURL, reason: "port \(port) out of range") }
        self.user = components.user?.removingPercentEncoding ?? "guest"
        self.password = components.password?.removingPercentEncoding ?? "guest"
        var path = components.percentEncodedPath
        if path.hasPrefix("/") { path.removeFirst() }
        let vhost = path.removingPercentEncoding ?? path
        self.vhost = vhost.isEmpty ? "/" : vhost
    }

    /// The URL without the password, for logs.
    package var description: String {
        let vhostPart = vhost == "/" ? "%2f" : (vhost.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? vhost)
        return "amqp://\(user)@\(host):\(port)/\(vhostPart)"
    }

    static func redacted(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@"), let colon = text[..<at].lastIndex(of: ":"), text[..<colon].contains("//") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }
}
