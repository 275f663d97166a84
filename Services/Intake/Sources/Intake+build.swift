import Configuration
import Foundation
import GridLoopAMQP
import GridLoopAuth
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import Hummingbird
import ServiceLifecycle

/// intake: HTTP submissions and status, the submissions queue, and the request trail.
package enum IntakeApp: GridLoopServiceApp {
    package static let name = "intake"
    package static let defaultPort = 8080

    /// The composition root: every concrete part of intake meets here.
    package static func build(configuration: ServiceConfiguration, reader: ConfigReader) async throws -> some ApplicationProtocol {
        let runtime = try await ServiceRuntime.make(configuration: configuration, migrator: migrator)
        let protector = try DataProtector.fromConfiguration(reader)
        let store = IntakeStore(postgres: runtime.postgres, outbox: runtime.outbox, protector: protector)
        let authenticator = try await Authenticator.fromConfiguration(reader)
        let handlers = IntakeConsumers(store: store, outbox: runtime.outbox, relay: runtime.relay)
        // The trail's chain heads, exported where database logins cannot rewrite them.
        var services: [any Service] = []
        if let directory = reader.string(forKey: "intake.chain.head.dir"), !directory.isEmpty {
            services.append(
                ChainHeadExporter(
                    postgres: runtime.postgres,
                    directory: directory,
                    interval: .seconds(max(1, reader.int(forKey: "intake.chain.head.interval.seconds", default: 3600))),
                    logger: runtime.logger
                )
            )
        } else {
            runtime.logger.notice("chain-head export off (INTAKE_CHAIN_HEAD_DIR unset): audit verify checks the hash chains only")
        }
        // Evidence photos: in the database, or in INTAKE_PHOTO_DIR (a volume) when set.
        let photoDirectory = reader.string(forKey: "intake.photo.dir").flatMap { $0.isEmpty ? nil : $0 }
        if let photoDirectory { try FileManager.default.createDirectory(atPath: photoDirectory, withIntermediateDirectories: true) }
        let photos = PhotoStore(postgres: runtime.postgres, directory: photoDirectory, store: store)
        let uploads = FollowUpLink(authSecret: reader.string(forKey: "gridloop.auth.secret", isSecret: true) ?? "", purpose: "photo upload")
        return runtime.makeApplication(
            services: services,
            consumers: [
                // A submission that cannot be taken is kept with its phones sealed (`dead-letters replay` opens them).
                runtime.consumer(
                    queue: GridLoopQueue.intakeSubmissions,
                    topology: GridLoopTopology.intakeSubmissions,
                    redact: { PhoneRedaction.seal(in: $0, with: protector) },
                    transactional: handlers.submission
                ),
                runtime.consumer(queue: GridLoopQueue.intakeEvents, topology: GridLoopTopology.intakeEvents, transactional: handlers.event),
            ],
            routes: { router in
                RequestsController(
                    store: store,
                    photos: photos,
                    uploads: uploads,
                    batcher: SubmissionBatcher(
                        store: store,
                        relay: runtime.relay,
                        limit: reader.int(forKey: "intake.submit.batch", default: 128),
                        logger: runtime.logger
                    ),
                    authenticator: authenticator,
                    keys: APIKeys(postgres: runtime.postgres),
                    publicSubmissions: reader.bool(forKey: "intake.public.submissions", default: true),
                    perClient: RateLimiter(limit: reader.int(forKey: "intake.rate.client.per.minute", default: 600), period: .seconds(60)),
                    perPhone: RateLimiter(limit: reader.int(forKey: "intake.rate.phone.per.hour", default: 20), period: .seconds(3600)),
                    trustedProxies: TrustedProxies(reader.string(forKey: "intake.trusted.proxies", default: ""))
                ).addRoutes(to: router)
                PhotosController(store: photos, authenticator: authenticator, uploads: uploads).addRoutes(to: router)
                Open311Controller(
                    store: store,
                    relay: runtime.relay,
                    keys: APIKeys(postgres: runtime.postgres),
                    publicURL: reader.string(forKey: "intake.public.url", default: "http://127.0.0.1:\(configuration.httpPort)")
                ).addRoutes(to: router)
            }
        )
    }

    /// intake's schema migrations (for `gridloop migrate`).
    package static let migrator = Migrator(schema: IntakeSchema.name, migrations: IntakeSchema.migrations)
}
