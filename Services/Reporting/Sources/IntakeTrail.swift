import AsyncHTTPClient
import Foundation
import GridLoopDomain
import Logging
import NIOCore

/// The verified trail (全程留痕) of a request, as intake (which owns it) serves it.
struct IntakeTrail: Sendable {
    struct Entry: Codable, Sendable {
        var type: String
        var actor: String?
        var unit: String?
        var detail: String?
        var occurredAt: Date
        var hash: String
    }

    struct Answer: Codable, Sendable {
        var trailVerified: Bool
        var trail: [Entry]
    }

    /// intake's base URL (`REPORTING_INTAKE_URL`).
    let baseURL: String

    /// The trail and whether its hash chain verified; `nil` when intake cannot be asked.
    func fetch(_ requestId: String, logger: Logger) async -> Answer? {
        guard UUID(uuidString: requestId) != nil else { return nil }
        var request = HTTPClientRequest(url: "\(baseURL)/v1/requests/\(requestId)")
        request.method = .GET
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(3))
            let body = try await response.body.collect(upTo: 1 << 22)
            guard response.status == .ok else { return nil }
            return try WireJSON.decode(Answer.self, from: body.readableBytesView)
        } catch {
            logger.warning("cannot read the trail from intake", metadata: ["error": "\(error)", "request.id": "\(requestId)"])
            return nil
        }
    }
}
