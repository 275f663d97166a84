import Foundation
import GridLoopAuth
import GridLoopDomain
import GridLoopPersistence
import GridLoopPhotos
import GridLoopServiceSupport
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PostgresNIO

/// Evidence photos, kept by intake with the request they belong to:
///
/// - `POST /v1/requests/{id}/photos?stage=submission|resolution` (the image as the body,
///   ≤ 10 MB): from the staff of the request's unit or grid (token), or within an hour of the
///   submission with its `X-Upload-Token`; checked by content, re-encoded without metadata,
///   recorded on the trail (`photo.added`); at most ``PhotoStore/perRequest`` per request;
/// - `GET /v1/photos/{id}` and `/v1/photos/{id}/thumbnail`: the public copies (the ids are
///   random; the copies carry no EXIF, so no position or camera).
struct PhotosController: Sendable {
    let store: PhotoStore
    let authenticator: Authenticator
    let uploads: FollowUpLink

    func addRoutes(to router: Router<GridLoopRequestContext>) {
        router.post("v1/requests/:id/photos") { request, context in try await upload(request, context: context) }
        router.get("v1/photos/:id") { _, context in try await read(context: context, thumbnail: false) }
        router.get("v1/photos/:id/thumbnail") { _, context in try await read(context: context, thumbnail: true) }
    }

    private func upload(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        let raw = context.parameters.get("id") ?? ""
        guard let id = UUID(uuidString: raw) else {
            throw Problem(status: .notFound, code: "not_found", title: "No such request", detail: "'\(raw)' is not a request id")
        }
        let stage = request.uri.queryParameters["stage"].map(String.init) ?? "submission"
        guard ["submission", "resolution"].contains(stage) else {
            throw Problem(
                status: .badRequest,
                code: "validation_failed",
                title: "Invalid photo",
                detail: "stage: submission or resolution",
                errors: [FieldError(field: "stage", code: "invalid", message: "submission or resolution")]
            )
        }
        // Who adds it: staff with a token (the request's unit or grid), or the submitter's token.
        let by: String
        let principal: Principal?
        if let token = request.headers[HTTPField.Name("X-Upload-Token")!] {
            guard stage == "submission", uploads.verify(requestId: id.uuidString.lowercased(), version: 0, signature: token) else {
                throw Problem(AuthFailure.forbidden("the upload token is not this request's (it adds submission photos only)"))
            }
            by = "submitter"
            principal = nil
        } else {
            let proven = try await authenticator.principal(of: request)
            by = proven.id
            principal = proven
        }
        var request = request
        let body: ByteBuffer
        do { body = try await request.collectBody(upTo: PhotoProcessor.maxBytes) } catch {
            throw Problem(status: .contentTooLarge, code: "too_large", title: "Photo too large", detail: "photos are limited to 10 MB")
        }
        let processed: PhotoProcessor.Processed
        do { processed = try PhotoProcessor.process(Array(body.readableBytesView)) } catch {
            guard !error.unavailable else {
                context.logger.error("photo not processed", metadata: ["error": "\(error.description)"])
                throw Problem(status: .serviceUnavailable, code: "photos_unavailable", title: "Photos cannot be added now", detail: error.description)
            }
            throw Problem(status: .unsupportedMediaType, code: "invalid_photo", title: "Not a usable photo", detail: error.description)
        }
        let added: PhotoRef
        do {
            let key = request.headers[HTTPField.Name("Idempotency-Key")!].flatMap { $0.isEmpty || $0.count > 200 ? nil : $0 }
            added = try await store.add(processed, to: id, stage: stage, by: by, principal: principal, idempotencyKey: key, logger: context.logger)
        } catch let failure as AuthFailure {
            throw Problem(failure)
        } catch let refused as PhotoStore.Refused {
            throw Problem(status: refused.status, code: refused.code, title: "Photo not added", detail: refused.message)
        }
        return try JSONResponse.make(added, status: .created, headers: [.location: added.url])
    }

    private func read(context: GridLoopRequestContext, thumbnail: Bool) async throws -> Response {
        let raw = context.parameters.get("id") ?? ""
        guard let id = UUID(uuidString: raw), let bytes = try await store.bytes(of: id, thumbnail: thumbnail, logger: context.logger) else {
            throw Problem(status: .notFound, code: "not_found", title: "No such photo", detail: "no photo \(raw)")
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "image/jpeg", .cacheControl: "public, max-age=86400, immutable", HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }
}

/// intake's photos table (and the optional photo directory).
struct PhotoStore: Sendable {
    let postgres: PostgresClient
    /// `INTAKE_PHOTO_DIR`: the bytes go to files there instead of the database.
    let directory: String?
    let store: IntakeStore
    static let perRequest = 12

    struct Refused: Error {
        var status: HTTPResponse.Status
        var code: String
        var message: String
    }

    static func url(_ id: UUID) -> String { "/v1/photos/\(id.uuidString.lowercased())" }

    func add(
        _ photo: PhotoProcessor.Processed,
        to requestId: UUID,
        stage: String,
        by: String,
        principal: Principal?,
        idempotencyKey: String? = nil,
        logger: Logger
    ) async throws -> PhotoRef {
        let id = UUID()
        if let directory {
            try Data(photo.jpeg).write(
                to: URL(fileURLWithPath: directory).appendingPathComponent("\(id.uuidString.lowercased()).jpg"),
                options: .atomic
            )
            try Data(photo.thumbnail).write(
                to: URL(fileURLWithPath: directory).appendingPathComponent("\(id.uuidString.lowercased())-thumb.jpg"),
                options: .atomic
            )
        }
        let outcome = try await postgres.transaction(logger: logger) { [self] connection -> Result<PhotoRef, Refused>? in
            let rows = try await connection.query(
                """
                SELECT r.unit, r.version, r.state, r.created_at,
                    (SELECT t.unit FROM intake.trail t WHERE t.request_id = r.id AND t.unit LIKE 'grid:%' ORDER BY t.seq LIMIT 1),
                    (SELECT count(*)::int FROM intake.photos p WHERE p.request_id = r.id),
                    (SELECT coalesce(array_agg(DISTINCT t.unit) FILTER (WHERE t.unit IS NOT NULL), '{}') FROM intake.trail t WHERE t.request_id = r.id),
                    (SELECT coalesce(array_agg(DISTINCT t.actor) FILTER (WHERE t.actor IS NOT NULL), '{}') FROM intake.trail t WHERE t.request_id = r.id)
                FROM intake.requests r WHERE r.id = \(requestId) FOR UPDATE
                """,
                logger: logger
            ).collect()
            guard
                let (unit, version, state, created, homeUnit, count, worked, actors) = try rows.first?.decode(
                    (String?, Int, String, Date, String?, Int, [String], [String]).self
                )
            else { return nil }
            if let principal {
                let current = unit.flatMap { try? UnitRef(parsing: $0) }
                let homeGrid = homeUnit.flatMap { try? UnitRef(parsing: $0) }?.id
                // The units that hold or held it, its grid, and whoever acted on it (a department's
                // officer who acknowledged a summons).
                let workedOnIt = (principal.unit.map { worked.contains($0.description) } ?? false) || actors.contains(principal.id)
                guard workedOnIt || ReadScope.mayViewContact(principal, currentUnit: current, homeGrid: homeGrid) else {
                    return .failure(
                        Refused(
                            status: .forbidden,
                            code: "forbidden",
                            message: "photos are added by the staff of the units that worked on the request (now \(unit ?? "none")) and of its grid"
                        )
                    )
                }
            } else if created < Date().addingTimeInterval(-3600) {
                return .failure(Refused(status: .forbidden, code: "forbidden", message: "the upload token is valid for an hour after the submission"))
            }
            // The same form's photo again: the one already added.
            if let idempotencyKey,
                let (existing, existingStage, width, height, created) = try await connection.query(
                    "SELECT id, stage, width, height, created_at FROM intake.photos WHERE idempotency_key = \(idempotencyKey) AND request_id = \(requestId)",
                    logger: logger
                ).collect().first?.decode((UUID, String, Int, Int, Date).self)
            {
                return .success(
                    PhotoRef(
                        id: existing.uuidString.lowercased(),
                        stage: existingStage,
                        url: Self.url(existing),
                        thumbnailUrl: Self.url(existing) + "/thumbnail",
                        width: width,
                        height: height,
                        addedAt: created
                    )
                )
            }
            guard count < Self.perRequest else {
                return .failure(Refused(status: .conflict, code: "too_many_photos", message: "a request keeps at most \(Self.perRequest) photos"))
            }
            try await connection.query(
                """
                INSERT INTO intake.photos (id, request_id, stage, content, thumbnail, width, height, bytes, added_by, idempotency_key)
                VALUES (\(id), \(requestId), \(stage), \(directory == nil ? ByteBuffer(bytes: photo.jpeg) : nil), \(directory == nil ? ByteBuffer(bytes: photo.thumbnail) : nil),
                    \(photo.width), \(photo.height), \(photo.jpeg.count), \(by), \(idempotencyKey))
                """,
                logger: logger
            )
            try await store.appendTrail(
                requestId: requestId,
                eventId: "photo:\(id.uuidString.lowercased())",
                type: "photo.added",
                version: version,
                state: RequestState(rawValue: state) ?? .received,
                unit: principal?.unit,
                actor: by,
                detail: "\(stage) photo \(Self.url(id)) (\(photo.width)×\(photo.height))",
                occurredAt: Date(),
                on: connection,
                logger: logger
            )
            return .success(
                PhotoRef(
                    id: id.uuidString.lowercased(),
                    stage: stage,
                    url: Self.url(id),
                    thumbnailUrl: Self.url(id) + "/thumbnail",
                    width: photo.width,
                    height: photo.height,
                    addedAt: Date()
                )
            )
        }
        // Files written for a photo that was not added (refused, a repeat, no such request) go again.
        if let directory, (try? outcome?.get())?.id != id.uuidString.lowercased() {
            for name in ["\(id.uuidString.lowercased()).jpg", "\(id.uuidString.lowercased())-thumb.jpg"] {
                try? FileManager.default.removeItem(at: URL(fileURLWithPath: directory).appendingPathComponent(name))
            }
        }
        guard let outcome else { throw Refused(status: .notFound, code: "not_found", message: "no request \(requestId.uuidString.lowercased())") }
        return try outcome.get()
    }

    func bytes(of id: UUID, thumbnail: Bool, logger: Logger) async throws -> [UInt8]? {
        let rows = try await postgres.query(
            "SELECT \(unescaped: thumbnail ? "thumbnail" : "content") FROM intake.photos WHERE id = \(id)",
            logger: logger
        ).collect()
        guard let row = rows.first else { return nil }
        if let buffer = try row.decode(ByteBuffer?.self) { return Array(buffer.readableBytesView) }
        guard let directory else { return nil }
        let name = "\(id.uuidString.lowercased())\(thumbnail ? "-thumb" : "").jpg"
        return (try? Data(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent(name))).map { Array($0) }
    }

    func photos(of requestId: UUID, logger: Logger) async throws -> [PhotoRef] {
        var photos: [PhotoRef] = []
        for try await (id, stage, width, height, created) in try await postgres.query(
            "SELECT id, stage, width, height, created_at FROM intake.photos WHERE request_id = \(requestId) ORDER BY created_at",
            logger: logger
        ).decode((UUID, String, Int, Int, Date).self) {
            photos.append(
                PhotoRef(
                    id: id.uuidString.lowercased(),
                    stage: stage,
                    url: Self.url(id),
                    thumbnailUrl: Self.url(id) + "/thumbnail",
                    width: width,
                    height: height,
                    addedAt: created
                )
            )
        }
        return photos
    }
}
