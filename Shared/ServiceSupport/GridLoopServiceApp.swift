import Configuration
import Hummingbird

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
    /// Reads the environment, builds the service and runs it until SIGTERM/SIGINT.
    package static func main() async throws {
        let reader = ConfigReader(provider: EnvironmentVariablesProvider())
        let configuration = try ServiceConfiguration(reader: reader, service: name, defaultPort: defaultPort)
        try await build(configuration: configuration, reader: reader).runService()
    }
}
