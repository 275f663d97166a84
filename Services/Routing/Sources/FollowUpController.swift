import Foundation
import GridLoopAuth
import GridLoopDomain
import GridLoopServiceSupport
import HTTPTypes
import Hummingbird

/// `POST /v1/requests/{id}/followup`: the resident's answer to the 回访 (follow-up) link sent
/// after a resolution — contacted? solved? how satisfied? — entering the loop exactly as the
/// grid worker's recorded verdict does: satisfied or basically satisfied closes the request,
/// unsatisfied reopens it. The link's signature proves it (no account); one answer per
/// resolution (the link goes stale when the request moves on; a second answer is refused 409).
struct FollowUpController: Sendable {
    let workflow: Workflow
    /// Signed under GRIDLOOP_AUTH_SECRET, or GRIDLOOP_AUTH_PREVIOUS_SECRET while rotating (links
    /// already sent keep working).
    let links: [FollowUpLink]

    struct Body: Decodable {
        var version: Int
        var signature: String
        var contacted: Bool?
        var solved: Bool?
        var satisfaction: Satisfaction
        var note: String?
    }

    func addRoutes(to router: Router<GridLoopRequestContext>) {
        router.post("v1/requests/:id/followup") { request, context in try await answer(request, context: context) }
    }

    private func answer(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let id = (context.parameters.get("id") ?? "").lowercased()
        guard GridLoopDomain.RequestID(id) != nil else {
            throw Problem(status: .notFound, code: "not_found", title: "No such request", detail: "'\(id)' is not a request id")
        }
        let body = try await JSONBody.decode(Body.self, from: request, upTo: 16 * 1024, title: "Malformed follow-up answer")
        if let note = body.note, note.count > 2000 {
            throw Problem(
                status: .badRequest,
                code: "validation_failed",
                title: "Invalid follow-up answer",
                detail: "note: at most 2000 characters",
                errors: [FieldError(field: "note", code: "too_long", message: "at most 2000 characters")]
            )
        }
        guard links.contains(where: { $0.verify(requestId: id, version: body.version, signature: body.signature) }) else {
            throw Problem(
                status: .forbidden,
                code: "forbidden",
                title: "Not a follow-up link",
                detail: "the link's signature does not match this request"
            )
        }
        var words: [String] = []
        if let contacted = body.contacted { words.append(contacted ? "contacted by staff" : "not contacted by staff") }
        if let solved = body.solved { words.append(solved ? "solved" : "not solved") }
        if let note = body.note?.trimmingCharacters(in: .whitespacesAndNewlines), !note.isEmpty { words.append(note) }
        let command = StaffCommand(
            action: .feedback,
            requestId: id,
            staff: "resident",
            note: "resident's follow-up: " + words.joined(separator: "; "),
            satisfaction: body.satisfaction,
            solved: body.solved,
            contacted: body.contacted
        )
        guard
            let reply = try await workflow.execute(
                command,
                messageId: "followup:\(id):\(body.version)",
                correlationId: MessageID.make(),
                replyTo: nil,
                logger: context.logger,
                residentAt: body.version
            )
        else {
            throw Problem(
                status: .conflict,
                code: "already_answered",
                title: "Follow-up already answered",
                detail: "this follow-up link was answered before"
            )
        }
        guard reply.ok else {
            throw Problem(
                status: reply.code == "not_found" ? .notFound : .conflict,
                code: reply.code ?? "conflict",
                title: "Follow-up not recorded",
                detail: reply.message
            )
        }
        return try JSONResponse.make(reply)
    }
}
