import Configuration
import Hummingbird
import Logging
import ServiceLifecycle

/// What each GridLoop service executable is: a name, a default port, a composition root.
/// Its `@main` calls ``main()``, which reads the environment, builds and runs until SIGTERM/SIGINT.
package protocol GridLoopServiceApp {
    associatedtype App: ApplicationProtocol
    /// `intake`, `routing`, …: names the configuration keys (`INTAKE_HTTP_PORT`) and logs.
    static var name: String { get }
    /// The HTTP port (API, health, metrics) when none is configured.
    static var defaultPort: Int { get }
    /// The composition root: every concrete part of the service meets here. `reader` gives
    /// access to service-specific keys.
    static func build(configuration: ServiceConfiguration, reader: ConfigReader) async throws -> App
}

extension GridLoopServiceApp {
    /// Reads the environment, builds the service and runs it until SIGTERM/SIGINT. A graceful
    /// shutdown gets ``shutdownGrace``; whatever is still waiting then (a query for a database
    /// that went away) is cancelled, so the process never hangs on its way out.
    package static func main() async throws {
        let reader = ConfigReader(provider: EnvironmentVariablesProvider())
        let configuration = try ServiceConfiguration(reader: reader, service: name, defaultPort: defaultPort)
        let app = try await build(configuration: configuration, reader: reader)
        var group = ServiceGroupConfiguration(
            services: [app],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: Logger(label: "gridloop-\(name)")
        )
        group.maximumGracefulShutdownDuration = shutdownGrace
        try await ServiceGroup(configuration: group).run()
    }

    /// How long a graceful shutdown may take before what is left is cancelled.
    package static var shutdownGrace: Duration { .seconds(10) }
}
