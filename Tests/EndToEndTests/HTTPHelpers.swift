import AsyncHTTPClient
import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopServiceSupport
import GridLoopTestSupport
import NIOCore
import NIOHTTP1
import PostgresNIO

/// An HTTP answer, read whole.
struct HTTPAnswer {
    var status: Int
    var contentType: String?
    var body: String
    /// `Retry-After`, when sent.
    var retryAfter: String? = nil

    /// The body as a JSON object.
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
    }
}

func http(_ method: NIOHTTP1.HTTPMethod, _ url: String, body: String? = nil, headers: [String: String] = [:]) async throws -> HTTPAnswer {
    var request = HTTPClientRequest(url: url)
    request.method = method
    request.headers.add(name: "content-type", value: "application/json")
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let body { request.body = .bytes(ByteBuffer(string: body)) }
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
    let bytes = try await response.body.collect(upTo: 1 << 22)
    return HTTPAnswer(
        status: Int(response.status.code),
        contentType: response.headers.first(name: "content-type"),
        body: String(buffer: bytes),
        retryAfter: response.headers.first(name: "retry-after")
    )
}

/// A valid submission body for `location` (a JSON object literal's inside).
func submissionJSON(location: String, category: String = "power", description: String = "电磁炉炒不了菜，电饭煲煮不了饭") -> String {
    """
    {"category":"\(category)","description":"\(description)","location":{\(location)},
     "reporter":{"name":"崔春花","phone":"13800001234"},"channel":"grid-worker","submittedBy":"cui-chunhua"}
    """
}

/// Submits over HTTP and returns the new request id.
func submit(_ system: GridLoopSystem, location: String) async throws -> String {
    try await submit(system, json: submissionJSON(location: location))
}

/// Submits `json` over HTTP and returns the new request id.
func submit(_ system: GridLoopSystem, json: String) async throws -> String {
    let answer = try await http(.POST, system.url("intake", "/v1/requests"), body: json)
    guard answer.status == 201, let id = answer.json["id"] as? String else {
        throw SystemError("submission refused: \(answer.status) \(answer.body)")
    }
    return id
}

/// Takes every message now in `queue` (acking it) and returns the assignments.
func drainAssignments(_ queue: String) async throws -> [RequestAssigned] {
    let options = try TestEnvironment.amqpOptions(name: "gridloop-test-drain")
    return try await AMQPSession.run(options: options) { session in
        var assignments: [RequestAssigned] = []
        while let message = try session.take(queue: queue, wait: .milliseconds(500)) {
            assignments.append(try WireJSON.decode(MessageEnvelope<RequestAssigned>.self, from: message.body).payload)
            try session.settle(message, .ack)
        }
        return assignments
    }
}

/// Runs `body` with a client of the test database.
func withDatabase<T: Sendable>(asService: Bool = false, _ body: @escaping @Sendable (PostgresClient) async throws -> T) async throws -> T {
    let url = asService ? try DatabaseURL(string: TestEnvironment.serviceDatabaseURL()) : try TestEnvironment.database()
    return try await url.makeClient(poolSize: 2, logger: TestEnvironment.logger).withRunning(body)
}

/// The event types on a request's trail, in workflow order.
func trailTypes(_ system: GridLoopSystem, _ id: String) async throws -> [String] {
    let status = try await http(.GET, system.url("intake", "/v1/requests/\(id)"))
    return (status.json["trail"] as? [[String: Any]])?.compactMap { $0["type"] as? String } ?? []
}

/// Takes assignments of `unit` (claiming them as `staff`) until the one for `requestId` comes.
func takeUntil(_ system: GridLoopSystem, unit: String, staff: String, requestId: String) async throws -> RequestAssigned {
    let deadline = ContinuousClock.now + .seconds(60)
    while ContinuousClock.now < deadline {
        let take = try await system.cli("staff", "take", "--unit", unit, "--staff", staff, "--json", "--wait", "20")
        guard take.status == 0 else { throw SystemError("take \(unit) failed: \(take.stderr)") }
        let assignment = try WireJSON.decode(RequestAssigned.self, from: Array(take.stdout.utf8))
        if assignment.requestId == requestId { return assignment }
    }
    throw SystemError("no assignment of \(requestId) reached \(unit)")
}

/// `POST /v1/requests/{id}/commands` signed in as the body's `staff` (as the web inbox would).
func postCommand(_ system: GridLoopSystem, _ id: String, _ body: String, headers extra: [String: String] = [:]) async throws -> HTTPAnswer {
    let staff = ((try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any])?["staff"] as? String ?? ""
    let headers = (staff.isEmpty ? [:] : try await system.bearer(staff)).merging(extra) { _, new in new }
    return try await http(.POST, system.url("routing", "/v1/requests/\(id)/commands"), body: body, headers: headers)
}

/// `GET` a reporting path with a read-only service token (district-wide, whatever org a test imported).
func report(_ system: GridLoopSystem, _ path: String) async throws -> HTTPAnswer {
    try await http(.GET, system.url("reporting", path), headers: ["Authorization": "Bearer \(try await system.serviceToken())"])
}
