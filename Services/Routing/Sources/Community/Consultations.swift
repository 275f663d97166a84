import Configuration
import GridLoopAuth
import GridLoopPersistence
import GridLoopServiceSupport
import Hummingbird
import ServiceLifecycle

// STUB — to be replaced by the part's implementation.
struct ConsultationsController: Sendable {
    static func make(runtime: ServiceRuntime, authenticator: Authenticator, reader: ConfigReader) throws -> ConsultationsController { ConsultationsController() }
    func addRoutes(to router: Router<GridLoopRequestContext>) {}
}

extension RoutingSchema {
    static let consultationMigrations: [Migration] = []
}
