import AsyncHTTPClient
import Foundation
import GridLoopAuth
import GridLoopDomain
import GridLoopServiceSupport
import NIOCore
import NIOHTTP1

/// The services' HTTP APIs as the web app calls them, always with the signed-in person's token:
/// the web app holds no data and no authority of its own.
package struct Backend: Sendable {
    package var routing: String
    package var intake: String
    /// reporting, for the supervisors' dashboard the app shows under its own sign-in.
    package var reporting: String

    package init(routing: String, intake: String, reporting: String) {
        self.routing = routing
        self.intake = intake
        self.reporting = reporting
    }

    /// An answer: status and body, with the problem's words when it is one.
    package struct Answer: Sendable {
        package var status: Int
        package var body: [UInt8]
        package var headers: [(String, String)]

        package var ok: Bool { (200..<300).contains(status) }

        /// The problem JSON's `detail` (or `title`), for a message in words.
        package var problem: String? {
            guard !ok, let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return nil }
            var text = (object["detail"] as? String) ?? (object["title"] as? String) ?? ""
            if let errors = object["errors"] as? [[String: Any]], !errors.isEmpty {
                text +=
                    " ("
                    + errors.compactMap { error in (error["field"] as? String).map { "\($0): \(error["message"] as? String ?? "")" } }.joined(
                        separator: "; "
                    ) + ")"
            }
            return text
        }

        package func decode<T: Decodable>(_ type: T.Type) throws -> T { try WireJSON.decode(type, from: body) }
    }

    /// A service could not be reached at all.
    package struct Unreachable: Error, CustomStringConvertible {
        package var service: String
        package var reason: String
        package var description: String { "\(service) did not answer: \(reason)" }
    }

    package func call(
        _ method: HTTPMethod,
        _ service: String,
        _ path: String,
        token: String?,
        json: [String: Any]? = nil,
        headers extra: [String: String] = [:],
        client: String? = nil,
        raw: [UInt8]? = nil
    ) async throws -> Answer {
        let base = service == "routing" ? routing : service == "reporting" ? reporting : intake
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let client { request.headers.add(name: "X-Forwarded-For", value: client) }
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        } else if let raw {
            request.headers.add(name: "Content-Type", value: "application/octet-stream")
            request.body = .bytes(ByteBuffer(bytes: raw))
        }
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(15))
            let body = try await response.body.collect(upTo: 12 << 20)
            return Answer(status: Int(response.status.code), body: Array(buffer: body), headers: response.headers.map { ($0.name, $0.value) })
        } catch {
            throw Unreachable(service: service, reason: "\(error)")
        }
    }
}

/// What the web app learns of a token without verifying it (routing verifies every call):
/// who, which role and unit, and until when, to draw the pages and refresh in time.
package struct Session: Sendable, Equatable {
    package var token: String
    package var staff: String
    package var role: String
    package var unit: UnitRef?
    package var expires: Date

    package init?(token: String) {
        let parts = token.split(separator: ".")
        guard parts.count == 3, let data = Base64URL.decode(parts[1]),
            let claims = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let staff = claims["sub"] as? String, let exp = claims["exp"] as? Double
        else { return nil }
        self.token = token
        self.staff = staff
        self.role = claims["role"] as? String ?? ""
        self.unit = (claims["unit"] as? String).flatMap { try? UnitRef(parsing: $0) }
        self.expires = Date(timeIntervalSince1970: exp)
    }

    /// Supervisors (and oversight staff) read any unit's inbox and requests.
    package var oversees: Bool { role == "supervisor" || unit?.tier == .oversight }

    /// Whether to trade the token for a fresh one (less than 5 minutes left, not yet expired).
    package func wantsRefresh(now: Date = Date()) -> Bool {
        expires > now && expires.timeIntervalSince(now) < 300
    }
}
