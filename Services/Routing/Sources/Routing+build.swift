import Configuration
import GridLoopAMQP
import GridLoopAuth
import GridLoopPersistence
import GridLoopServiceSupport
import Hummingbird
import Logging
import ServiceLifecycle

/// routing: owns the workflow — places new requests, records assignments, publishes them to
/// the units' queues, and applies staff commands.
package enum RoutingApp: GridLoopServiceApp {
    package static let name = "routing"
    /// Health and metrics only.
    package static let defaultPort = 8083

    /// The composition root.
    package static func build(configuration: ServiceConfiguration, reader: ConfigReader) async throws -> some ApplicationProtocol {
        let runtime = try await ServiceRuntime.make(configuration: configuration, migrator: migrator)
        let org = OrgStore(postgres: runtime.postgres)
        let authenticator = try await Authenticator.fromConfiguration(reader)
        let workflow = Workflow(
            postgres: runtime.postgres,
            outbox: runtime.outbox,
            relay: runtime.relay,
            publisher: runtime.publisher,
            org: org,
            authenticator: authenticator,
            duplicateWindow: .seconds(Int64(reader.int(forKey: "routing.duplicate.window.hours", default: 72)) * 3600),
            incidents: IncidentRules(
                threshold: reader.int(forKey: "routing.incident.threshold", default: 5),
                window: .seconds(Int64(reader.int(forKey: "routing.incident.window.minutes", default: 120)) * 60),
                acrossGrids: reader.bool(forKey: "routing.incident.across.grids", default: true),
                distanceMeters: Double(reader.int(forKey: "routing.incident.distance.meters", default: 800))
            )
        )
        let communityServices = try CommunityRoutes.services(runtime: runtime, reader: reader)
        let community = try CommunityRoutes(runtime: runtime, authenticator: authenticator, reader: reader)
        return runtime.makeApplication(
            services: [
                UnitQueueDeclarer(org: org, workflow: workflow, logger: runtime.logger),
                SLASweeper(
                    workflow: workflow,
                    interval: .milliseconds(reader.int(forKey: "routing.sla.sweep.interval.ms", default: 1000)),
                    workers: reader.int(forKey: "routing.sla.sweep.workers", default: 4),
                    batch: reader.int(forKey: "routing.sla.sweep.batch", default: 256),
                    logger: runtime.logger
                ),
            ] + communityServices,
            consumers: [
                runtime.consumer(
                    queue: GridLoopQueue.routingRequests,
                    topology: GridLoopTopology.routingRequests,
                    transactional: workflow.received
                ),
                runtime.consumer(queue: GridLoopQueue.routingCommands, topology: GridLoopTopology.routingCommands, handler: workflow.command),
            ],
            routes: { router in
                CommandsController(workflow: workflow).addRoutes(to: router)
                FollowUpController(
                    workflow: workflow,
                    links: ["gridloop.auth.secret", "gridloop.auth.previous.secret"].compactMap { reader.string(forKey: $0, isSecret: true) }.filter {
                        !$0.isEmpty
                    }.map { FollowUpLink(authSecret: $0) }
                ).addRoutes(to: router)
                InboxController(store: InboxStore(postgres: runtime.postgres), authenticator: authenticator).addRoutes(to: router)
                OrgController(postgres: runtime.postgres, outbox: runtime.outbox, relay: runtime.relay, authenticator: authenticator).addRoutes(
                    to: router
                )
                TasksController(postgres: runtime.postgres, outbox: runtime.outbox, relay: runtime.relay, authenticator: authenticator).addRoutes(
                    to: router
                )
                community.addRoutes(to: router)
                AuthController(
                    credentials: StaffCredentials(postgres: runtime.postgres),
                    authenticator: authenticator,
                    attempts: RateLimiter(limit: reader.int(forKey: "routing.signin.per.minute", default: 30), period: .seconds(60)),
                    trustedProxies: TrustedProxies(reader.string(forKey: "routing.trusted.proxies", default: ""))
                ).addRoutes(to: router)
            }
        )
    }

    /// routing's schema migrations (for `gridloop migrate`).
    package static let migrator = Migrator(schema: RoutingSchema.name, migrations: RoutingSchema.migrations)
}
