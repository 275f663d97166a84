import Foundation
import GridLoopDomain

/// `GET /v1/requests/{id}`: where a request stands and how it got there.
struct RequestStatus: Codable, Sendable {
    struct MaskedReporter: Codable, Sendable {
        var name: String
        /// Masked (`138****5678`).
        var phone: String
    }

    struct TrailEvent: Codable, Sendable {
        var type: String
        var version: Int
        var state: String
        var unit: String?
        var actor: String?
        var detail: String?
        var occurredAt: Date
        /// This link's hash in the request's chain.
        var hash: String
    }

    var id: String
    var state: RequestState
    var tier: Tier?
    var unit: String?
    var version: Int
    var category: String
    var description: String
    var channel: String
    var reporter: MaskedReporter
    var createdAt: Date
    var updatedAt: Date
    var trail: [TrailEvent]
    /// Whether the trail's hash chain verifies.
    var trailVerified: Bool = false
    /// Evidence photos (the public, re-encoded copies), oldest first.
    var photos: [PhotoRef] = []
}

/// A photo as the status shows it.
struct PhotoRef: Codable, Sendable {
    var id: String
    /// `submission` or `resolution`.
    var stage: String
    var url: String
    var thumbnailUrl: String
    var width: Int
    var height: Int
    var addedAt: Date
}

/// `201 Created` body of `POST /v1/requests`.
struct SubmissionAccepted: Codable, Sendable {
    var id: String
    var state: RequestState
    var statusUrl: String
    /// For `POST /v1/requests/{id}/photos` (`X-Upload-Token`) within an hour, so a submitter
    /// without an account can add the photos of their report.
    var uploadToken: String?
}
