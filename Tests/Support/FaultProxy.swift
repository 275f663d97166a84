import AsyncHTTPClient
import Foundation
import NIOCore

/// The project's TCP fault proxy (`deploy/tools/fault-proxy.py`) as a test drives it: a real
/// process on 127.0.0.1 between a client and RabbitMQ or PostgreSQL, told over HTTP to pass,
/// cut, cut mid-frame, stall, delay or drop.
package final class FaultProxy: Sendable {
    /// Where clients connect instead of the server.
    package let port: Int
    private let control: Int
    private let process: ServiceProcess

    /// Starts a proxy to `upstream` (a port on 127.0.0.1).
    package init(upstream: Int, name: String = "fault-proxy") async throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../deploy/tools/fault-proxy.py")
            .standardized
        let ports = TestEnvironment.logDir.appendingPathComponent("\(name)-\(TestEnvironment.unique()).ports")
        // The proxy prints its ports as one JSON line on stdout; the log gets both streams.
        let shell = "exec /usr/bin/python3 '\(script.path)' --listen 0 --upstream 127.0.0.1:\(upstream) --control 0 > '\(ports.path)'"
        process = try ServiceProcess(path: URL(fileURLWithPath: "/bin/sh"), name: name, environment: [:], arguments: ["-c", shell])
        var document: [String: Any]?
        let deadline = ContinuousClock.now + .seconds(10)
        while document == nil, ContinuousClock.now < deadline {
            if let data = try? Data(contentsOf: ports), let line = String(data: data, encoding: .utf8)?.split(separator: "\n").first {
                document = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            }
            if document == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        guard let document, let control = document["control"] as? Int, let route = (document["routes"] as? [[String: Any]])?.first,
            let listen = route["listen"] as? Int
        else { throw SystemError("the fault proxy did not start (log: \(process.logFile.path))") }
        self.control = control
        self.port = listen
    }

    /// Sets the mode, e.g. `["mode": "cut-after", "bytes": 1000, "direction": "downstream"]`.
    @discardableResult
    package func set(_ mode: [String: any Sendable]) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(control)/mode")
        request.method = .POST
        request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: mode)))
        return try await send(request)
    }

    /// Forward both ways again.
    package func pass() async throws { try await set(["mode": "pass"]) }

    /// Its counters (`live`, `accepted`, `cut`, `bytes`, …).
    package func status() async throws -> [String: Any] {
        try await send(HTTPClientRequest(url: "http://127.0.0.1:\(control)/status"))
    }

    private func send(_ request: HTTPClientRequest) async throws -> [String: Any] {
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status.code == 200, let json = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else {
            throw SystemError("fault proxy answered \(response.status.code): \(String(buffer: body))")
        }
        return json
    }

    package func stop() async {
        await process.stop(grace: .seconds(5))
    }
}
