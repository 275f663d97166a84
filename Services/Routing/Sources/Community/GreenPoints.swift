import Configuration
import GridLoopAuth
import GridLoopPersistence
import GridLoopServiceSupport
import Hummingbird
import ServiceLifecycle

// STUB — to be replaced by the part's implementation.
struct PointsController: Sendable {
    static func make(runtime: ServiceRuntime, authenticator: Authenticator, reader: ConfigReader) throws -> PointsController { PointsController() }
    func addRoutes(to router: Router<GridLoopRequestContext>) {}
}

extension RoutingSchema {
    static let pointsMigrations: [Migration] = []
}
