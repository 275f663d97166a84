import GridLoopAMQP
import GridLoopServiceSupport
import GridLoopPersistence
import Hummingbird

/// intake: HTTP submissions and status, the submissions queue, and the request trail.
public enum IntakeApp {
    /// The default HTTP port.
    public static let defaultPort = 8080

    /// Builds the service from the environment and runs it until SIGTERM/SIGINT.
    public static func main() async throws {
        let configuration = try ServiceConfiguration.fromEnvironment(service: "intake", defaultPort: defaultPort)
        try await build(configuration: configuration).runService()
    }

    /// The composition root: every concrete part of intake meets here.
    package static func build(configuration: ServiceConfiguration) async throws -> some ApplicationProtocol {
        let runtime = try await ServiceRuntime.make(
            configuration: configuration, schema: IntakeSchema.name, migrations: IntakeSchema.migrations,
            publishes: GridLoopTopology.exchanges
        )
        let store = IntakeStore(postgres: runtime.postgres, outbox: runtime.outbox)
        let handlers = IntakeConsumers(store: store, outbox: runtime.outbox, relay: runtime.relay)
        let router = Router()
        router.add(middleware: ProblemMiddleware())
        RequestsController(store: store, relay: runtime.relay).addRoutes(to: router)
        return runtime.makeApplication(router: router, consumers: [
            runtime.consumer(queue: GridLoopQueue.intakeSubmissions, topology: GridLoopTopology.intakeSubmissions, handler: handlers.submission),
            runtime.consumer(queue: GridLoopQueue.intakeEvents, topology: GridLoopTopology.intakeEvents, handler: handlers.event),
        ])
    }

    /// intake's schema migrations (for `gridloop migrate`).
    package static let migrator = Migrator(schema: IntakeSchema.name, migrations: IntakeSchema.migrations)
}
