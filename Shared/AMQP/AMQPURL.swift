import Foundation

/// Where a broker is and how to log in: parsed from `amqp://user:pass@host:port/vhost`, or
/// `amqps://…` for TLS (port 5671 by default; see ``AMQPOptions/tlsCAFile``).
///
/// The vhost is the URL path with one leading `/` removed and percent-decoded, as the AMQP URI
/// spec says: `amqp://h/` is the vhost `""` → we treat empty as `/`; `amqp://h/%2f` is `/`.
///
/// A cluster is several comma-separated nodes, `amqp://user:pass@node1:5672,node2,node3:5673/vhost`
/// (a missing port is 5672): every (re)connect tries the next node in turn, so clients move to
/// a node that is up when one goes down.
package struct AMQPURL: Sendable, Equatable, CustomStringConvertible {
    /// One broker node.
    package struct Node: Sendable, Equatable, CustomStringConvertible {
        package var host: String
        package var port: Int

        package init(host: String, port: Int = 5672) {
            self.host = host
            self.port = port
        }

        package var description: String { "\(host):\(port)" }
    }

    package var host: String
    package var port: Int
    package var user: String
    package var password: String
    package var vhost: String
    /// Nodes after the first (`host`, `port`), for a cluster.
    package var otherNodes: [Node] = []
    /// `amqps://`: TLS 1.2 or later to every node.
    package var tls = false

    /// Every node, the first one first.
    package var nodes: [Node] { [Node(host: host, port: port)] + otherNodes }

    package init(host: String = "127.0.0.1", port: Int = 5672, user: String = "guest", password: String = "guest", vhost: String = "/") {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.vhost = vhost
    }

    /// Parses an `amqp://` URL; throws ``AMQPError`` naming what is wrong.
    package init(string: String) throws(AMQPError) {
        let (single, otherNodes) = try AMQPURL.splitNodes(string, defaultPort: string.hasPrefix("amqps://") ? 5671 : 5672)
        self.otherNodes = otherNodes
        guard let components = URLComponents(string: single), ["amqp", "amqps"].contains(components.scheme ?? "") else {
            throw AMQPError(.invalidURL, reason: "expected amqp://user:pass@host:port/vhost (or amqps:// for TLS), got '\(AMQPURL.redacted(string))'")
        }
        self.tls = components.scheme == "amqps"
        guard let host = components.host, !host.isEmpty else {
            throw AMQPError(.invalidURL, reason: "the URL names no host")
        }
        self.host = host
        self.port = components.port ?? (tls ? 5671 : 5672)
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
        return "\(tls ? "amqps" : "amqp")://\(user)@\(nodes.map(\.description).joined(separator: ","))/\(vhostPart)"
    }

    /// The URL with only its first node (for `URLComponents`), and the other nodes.
    private static func splitNodes(_ string: String, defaultPort: Int) throws(AMQPError) -> (String, [Node]) {
        guard let scheme = string.range(of: "://") else { return (string, []) }
        let rest = string[scheme.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let hostsStart = authority.lastIndex(of: "@").map { authority.index(after: $0) } ?? authority.startIndex
        let hosts = authority[hostsStart...].split(separator: ",", omittingEmptySubsequences: false)
        guard hosts.count > 1 else { return (string, []) }
        var nodes: [Node] = []
        for node in hosts.dropFirst() {
            let parts = node.split(separator: ":", omittingEmptySubsequences: false)
            guard !node.isEmpty, parts.count <= 2, !parts[0].isEmpty else {
                throw AMQPError(.invalidURL, reason: "cluster node '\(node)' is not host or host:port")
            }
            let port = parts.count == 2 ? Int(parts[1]) : defaultPort
            guard let port, (1...65535).contains(port) else { throw AMQPError(.invalidURL, reason: "cluster node '\(node)' has no valid port") }
            nodes.append(Node(host: String(parts[0]), port: port))
        }
        return (String(string[..<hostsStart]) + hosts[0] + String(rest[authorityEnd...]), nodes)
    }

    static func redacted(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@"), let colon = text[..<at].lastIndex(of: ":"), text[..<colon].contains("//") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }
}
