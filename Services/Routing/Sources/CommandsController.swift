import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import HTTPTypes
import Hummingbird
import NIOCore

/// `POST /v1/requests/{id}/commands`: the staff commands of the CLI, over HTTP (for the web
/// inbox). Same checks, same transaction, same events; an `Idempotency-Key` header makes a
/// retried command apply once. The actor is the staff member the `Authorization: Bearer` token
/// (or the web login's cookie) proves.
struct CommandsController: Sendable {
    let workflow: Workflow

    /// The JSON body: a ``StaffCommand`` without the request id (it is in the path).
    struct Body: Codable {
        var action: StaffCommand.Action
        /// Optional: the token names the actor; when given it must be the token's.
        var staff: String?
        var unit: UnitRef?
        var note: String?
        var satisfaction: Satisfaction?
        var departments: [String]?
        var target: UnitRef?
        var into: String?
        var solved: Bool?
        var contacted: Bool?
        var category: String?
        var suggested: String?
        var suggestedConfidence: Double?
    }

    func addRoutes(to router: Router<GridLoopRequestContext>) {
        router.post("v1/requests/:id/commands") { request, context in try await handle(request, context: context) }
    }

    private func handle(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        let body = try await JSONBody.decode(Body.self, from: request, upTo: 64 * 1024, title: "Malformed command")
        let token = try Authenticator.token(of: request)
        let command = StaffCommand(
            action: body.action,
            requestId: id,
            staff: body.staff ?? "",
            unit: body.unit,
            note: body.note,
            satisfaction: body.satisfaction,
            departments: body.departments,
            target: body.target,
            into: body.into,
            solved: body.solved,
            contacted: body.contacted,
            category: body.category,
            suggested: body.suggested,
            suggestedConfidence: body.suggestedConfidence,
            token: token
        )
        let key = request.headers[HTTPField.Name("Idempotency-Key")!].map { "http:\($0)" } ?? MessageID.make()
        guard let reply = try await workflow.execute(command, messageId: key, correlationId: MessageID.make(), replyTo: nil, logger: context.logger)
        else {
            return try JSONResponse.make(CommandReply(ok: true, requestId: id, message: "already applied (same Idempotency-Key)"))
        }
        guard reply.ok else {
            let status: HTTPResponse.Status =
                switch reply.code {
                case "not_found": .notFound
                case "forbidden": .forbidden
                case "unauthenticated": .unauthorized
                case "validation_failed": .badRequest
                default: .conflict
                }
            var problem = Problem(status: status, code: reply.code ?? "refused", title: "Command refused", detail: reply.message)
            if status == .unauthorized { problem.challenge = Problem.bearerChallenge }
            throw problem
        }
        return try JSONResponse.make(reply)
    }
}
