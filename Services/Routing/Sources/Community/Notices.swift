import Configuration
import GridLoopAuth
import GridLoopPersistence
import GridLoopServiceSupport
import Hummingbird
import ServiceLifecycle

// STUB — to be replaced by the part's implementation.
struct NoticesController: Sendable {
    static func make(runtime: ServiceRuntime, authenticator: Authenticator, reader: ConfigReader) throws -> NoticesController { NoticesController() }
    func addRoutes(to router: Router<GridLoopRequestContext>) {}
}

extension RoutingSchema {
    static let noticeMigrations: [Migration] = []
}

extension NoticesController {
    static func services(runtime: ServiceRuntime, reader: ConfigReader) throws -> [any Service] { [] }
}
