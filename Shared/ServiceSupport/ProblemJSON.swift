import Foundation
import GridLoopDomain
import Hummingbird
import Logging
import NIOCore
import PostgresNIO

/// An RFC 9457 problem: the error body of every GridLoop HTTP API, `application/problem+json`.
package struct Problem: Error, Codable, Sendable {
    /// A URI naming the problem kind (stable).
    package var type: String
    package var title: String
    /// The HTTP status code (`status` in JSON).
    package var statusCode: Int
    package var detail: String?
    /// A stable machine code, e.g. `validation_failed`, `not_found`, `invalid_json`.
    package var code: String
    /// Field errors for validation failures.
    package var errors: [FieldError]?
    /// Seconds, sent as `Retry-After` (429 and 503), not in the body.
    package var retryAfter: Int?
    /// Sent as `WWW-Authenticate` (401), not in the body.
    package var challenge: String?

    enum CodingKeys: String, CodingKey {
        case type, title
        case statusCode = "status"
        case detail, code, errors
    }

    package init(status: HTTPResponse.Status, code: String, title: String, detail: String? = nil, errors: [FieldError]? = nil, retryAfter: Int? = nil)
    {
        self.type = "https://gridloop.dev/problems/\(code)"
        self.title = title
        self.statusCode = status.code
        self.detail = detail
        self.code = code
        self.errors = errors
        self.retryAfter = retryAfter
    }
}

extension Problem {
    /// `400 validation_failed` naming each field that is wrong, in `detail` and in `errors`.
    package static func validationFailed(_ errors: [FieldError], title: String) -> Problem {
        Problem(
            status: .badRequest,
            code: "validation_failed",
            title: title,
            detail: errors.map(\.description).joined(separator: "; "),
            errors: errors
        )
    }
}

/// A request's JSON body.
package enum JSONBody {
    /// The body (at most `limit` bytes) as `T`; a body that is not one is `400 invalid_json`
    /// titled `title`, naming the field when it can.
    package static func decode<T: Decodable>(_: T.Type, from request: Request, upTo limit: Int, title: String) async throws -> T {
        var request = request
        let buffer = try await request.collectBody(upTo: limit)
        do { return try WireJSON.decode(T.self, from: buffer.readableBytesView) } catch { throw Problem.invalidJSON(error, title: title) }
    }
}

extension Problem: HTTPResponseError {
    package var status: HTTPResponse.Status { .init(code: statusCode) }

    package func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try WireJSON.encoder().encode(self)
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if let retryAfter { headers[.retryAfter] = "\(retryAfter)" }
        if let challenge { headers[.wwwAuthenticate] = challenge }
        return Response(
            status: status,
            headers: headers,
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}

extension Problem {
    /// `429 rate_limited` with `Retry-After: seconds`; `detail` says which limit.
    package static func rateLimited(_ detail: String, retryAfter seconds: Int) -> Problem {
        Problem(
            status: .tooManyRequests,
            code: "rate_limited",
            title: "Too many requests",
            detail: "\(detail); try again in \(seconds) s",
            retryAfter: seconds
        )
    }

    /// `400 invalid_json` for a body that does not decode, naming the field the decoder
    /// stopped at (`location.latitude: expected Double`).
    package static func invalidJSON(_ error: any Error, title: String = "Malformed JSON") -> Problem {
        let detail = (error as? DecodingError)?.fieldDescription ?? "the body is not valid JSON"
        return Problem(status: .badRequest, code: "invalid_json", title: title, detail: detail)
    }
}

/// JSON responses in the wire format.
package enum JSONResponse {
    /// `value` encoded with ``WireJSON``.
    package static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try WireJSON.encode(value))))
    }
}

/// Turns every error a route throws into problem JSON: ``Problem`` as is, Hummingbird's
/// `HTTPError` (404, 405, 413 …) with its status, anything else as a 500 whose details go to
/// the log only.
package struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    package init() {}

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            throw problem
        } catch let error as HTTPError {
            let code = error.status == .notFound ? "not_found" : (error.status == .contentTooLarge ? "too_large" : "http_\(error.status.code)")
            throw Problem(status: error.status, code: code, title: error.status.reasonPhrase, detail: error.body)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "22021" {
            // PostgreSQL cannot store a NUL character (character_not_in_repertoire): text the
            // request carried that no field check looked at reached a query. Bad input, not a
            // failure of the service.
            throw Problem(status: .badRequest, code: "invalid_text", title: "Invalid text", detail: "text may not contain NUL characters")
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            throw Problem(status: .internalServerError, code: "internal", title: "Internal Server Error", detail: "the error was logged")
        }
    }
}
