import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One call to a GridLoop service's HTTP API as the signed-in staff member (`GRIDLOOP_TOKEN`),
/// at `GRIDLOOP_<SERVICE>_URL` or the local default; a refusal becomes a ``CLIFailure`` with the
/// problem's words.
struct ServiceHTTP {
    /// `routing` or `reporting`.
    var service: String
    var defaultURL: String

    static let routing = ServiceHTTP(service: "routing", defaultURL: "http://127.0.0.1:8083")
    static let reporting = ServiceHTTP(service: "reporting", defaultURL: "http://127.0.0.1:8081")

    var variable: String { "GRIDLOOP_\(service.uppercased())_URL" }

    /// `path` with `query` at the service's address.
    func url(_ path: String, query: [URLQueryItem] = []) throws -> String {
        let base = ProcessInfo.processInfo.environment[variable].flatMap { $0.isEmpty ? nil : $0 } ?? defaultURL
        guard var components = URLComponents(string: base + path), components.host != nil else {
            throw CLIFailure("\(variable) must look like \(defaultURL), not '\(base)'")
        }
        if !query.isEmpty { components.queryItems = query }
        guard let url = components.string else { throw CLIFailure("cannot build a URL from '\(base)'") }
        return url
    }

    /// The answer's body when the status is `expect`ed (2xx by default), else the problem as a failure.
    func call(
        _ method: HTTPMethod = .GET,
        _ path: String,
        query: [URLQueryItem] = [],
        json: [String: Any]? = nil,
        what: String
    ) async throws
        -> [UInt8]
    {
        let token = try CLIEnvironment.staffToken()
        var request = HTTPClientRequest(url: try url(path, query: query))
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let json {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        }
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(Int64(CLIConnections.connectTimeout.components.seconds) + 10))
            body = try await response.body.collect(upTo: 16 << 20)
        } catch {
            throw CLIFailure("cannot reach \(service) (\(variable)): \(error)")
        }
        let bytes = Array(buffer: body)
        guard (200..<300).contains(response.status.code) else {
            let problem = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
            var detail = (problem?["detail"] as? String) ?? (problem?["title"] as? String) ?? String(decoding: bytes, as: UTF8.self)
            if detail.isEmpty { detail = "\(response.status)" }
            throw CLIFailure("\(service) refused \(what) (\(response.status.code)): \(detail)")
        }
        return bytes
    }
}
