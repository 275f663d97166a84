import Foundation
import GridLoopAuth
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import HTTPTypes
import Hummingbird
import NIOCore

/// `POST /v1/requests` and `GET /v1/requests/{id}`.
struct RequestsController: Sendable {
    let store: IntakeStore
    let photos: PhotoStore
    /// Signs the submitter's photo-upload token.
    let uploads: FollowUpLink
    /// Stores submissions that arrive together in one statement (group commit).
    let batcher: SubmissionBatcher
    /// Proves who asks for a reporter's contact, and staff who submit with a token.
    let authenticator: Authenticator
    /// Intake clients' keys (`X-API-Key`: hotline systems and other integrations).
    let keys: APIKeys
    /// Whether anyone may submit without a key or token (`INTAKE_PUBLIC_SUBMISSIONS`, default
    /// on: a public web form, within the rate limits).
    let publicSubmissions: Bool
    /// Largest accepted body.
    let maxBody = 64 * 1024
    /// Submissions per client address (`INTAKE_RATE_CLIENT_PER_MINUTE`).
    let perClient: RateLimiter
    /// Submissions per reporter phone (`INTAKE_RATE_PHONE_PER_HOUR`): one resident cannot
    /// flood the grid, whoever sends for them.
    let perPhone: RateLimiter
    /// Peers whose `X-Forwarded-For` names the client (`INTAKE_TRUSTED_PROXIES`: the web app's
    /// public report form sends residents' reports for them).
    var trustedProxies = TrustedProxies("")

    func addRoutes(to router: Router<GridLoopRequestContext>) {
        router.post("v1/requests") { request, context in try await submit(request, context: context) }
        router.get("v1/requests/:id") { _, context in try await status(context: context) }
        router.get("v1/requests/:id/contact") { request, context in try await contact(request, context: context) }
    }

    /// `GET /v1/requests/{id}/contact`: the reporter's phone unmasked, for the staff of the
    /// request's current unit and of its grid; each view is written to the trail.
    private func contact(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let principal = try await authenticator.principal(of: request)
        let raw = context.parameters.get("id") ?? ""
        guard let id = UUID(uuidString: raw) else {
            throw Problem(status: .notFound, code: "not_found", title: "No such request", detail: "'\(raw)' is not a request id")
        }
        let contact: ReporterContact?
        do { contact = try await store.contact(of: id, for: principal, logger: context.logger) } catch let failure as AuthFailure {
            throw Problem(failure)
        }
        guard let contact else { throw Problem(status: .notFound, code: "not_found", title: "No such request", detail: "no request \(raw)") }
        return try JSONResponse.make(contact, headers: [.cacheControl: "no-store"])
    }

    private func submit(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let client = try await self.client(of: request, context: context)
        if let wait = perClient.take(client) {
            throw Problem.rateLimited("this client may submit \(perClient.limit) requests a minute", retryAfter: wait)
        }
        let key = request.headers[HTTPField.Name("Idempotency-Key")!]
        if let key, key.isEmpty || key.count > 200 {
            throw Problem(
                status: .badRequest,
                code: "invalid_idempotency_key",
                title: "Invalid Idempotency-Key",
                detail: "the Idempotency-Key header must be 1–200 characters"
            )
        }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: maxBody)
        } catch {
            throw Problem(
                status: .contentTooLarge,
                code: "too_large",
                title: "Body too large",
                detail: "request bodies are limited to \(maxBody) bytes"
            )
        }
        let draft: SubmissionDraft
        do {
            draft = try WireJSON.decode(SubmissionDraft.self, from: body.readableBytesView)
        } catch {
            throw Problem.invalidJSON(error)
        }
        var submission: Submission
        switch draft.validate() {
        case .success(let valid): submission = valid
        case .failure(let invalid):
            throw Problem(
                status: .badRequest,
                code: "validation_failed",
                title: "The submission is not valid",
                detail: invalid.description,
                errors: invalid.errors
            )
        }
        // A proactive task's hazard is reported by the staff member who checked the household:
        // only with their token, and recorded as theirs (routing checks they are its grid's staff).
        if submission.taskId != nil {
            guard client.hasPrefix("staff:") else {
                throw Problem(
                    status: .badRequest,
                    code: "validation_failed",
                    title: "The submission is not valid",
                    detail: "taskId: only a signed-in grid worker reports a proactive task's hazard",
                    errors: [
                        FieldError(field: "taskId", code: "forbidden", message: "only a signed-in grid worker reports a proactive task's hazard")
                    ]
                )
            }
            submission.submittedBy = String(client.dropFirst("staff:".count))
        }
        if let wait = perPhone.take(submission.reporter.phone.filter(\.isNumber)) {
            throw Problem.rateLimited("reporter.phone: at most \(perPhone.limit) requests an hour from one reporter", retryAfter: wait)
        }
        // Stored with the submissions that arrive meanwhile, answered once committed.
        let outcome = try await batcher.submit(
            try store.prepare(submission, idempotencyKey: key, correlationId: MessageID.make(), reportedAt: nil)
        )
        let location = "/v1/requests/\(outcome.requestId)"
        var headers: HTTPFields = [.location: location]
        if !outcome.created { headers[HTTPField.Name("Idempotent-Replayed")!] = "true" }
        return try JSONResponse.make(
            SubmissionAccepted(
                id: outcome.requestId,
                state: .received,
                statusUrl: location,
                uploadToken: uploads.signature(requestId: outcome.requestId, version: 0)
            ),
            status: outcome.created ? .created : .ok,
            headers: headers
        )
    }

    /// Who submits, as the per-client rate limit counts them: an API key's id, a staff
    /// member's id, or the peer's address. A bad key or token is `401`, never a fall back to
    /// anonymous; without either, `401` unless public submissions are on.
    private func client(of request: Request, context: GridLoopRequestContext) async throws -> String {
        if let key = request.headers[HTTPField.Name("X-API-Key")!] {
            guard let id = try await keys.verify(key, logger: context.logger) else {
                throw Problem(AuthFailure.unauthenticated("X-API-Key is not valid (unknown or revoked)"))
            }
            return "key:\(id)"
        }
        if request.headers[.authorization] != nil {
            return "staff:\(try await authenticator.principal(of: request).id)"
        }
        guard publicSubmissions else {
            throw Problem(
                AuthFailure.unauthenticated(
                    "submissions need an API key (X-API-Key, from `gridloop apikey create`) or a staff token (Authorization: Bearer)"
                )
            )
        }
        return context.client(of: request, trusting: trustedProxies)
    }

    private func status(context: GridLoopRequestContext) async throws -> Response {
        let raw = context.parameters.get("id") ?? ""
        guard let id = UUID(uuidString: raw) else {
            throw Problem(status: .notFound, code: "not_found", title: "No such request", detail: "'\(raw)' is not a request id")
        }
        guard var status = try await store.status(of: id, logger: context.logger) else {
            throw Problem(status: .notFound, code: "not_found", title: "No such request", detail: "no request \(raw)")
        }
        status.photos = try await photos.photos(of: id, logger: context.logger)
        return try JSONResponse.make(status)
    }
}
