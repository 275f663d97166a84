import Configuration
import GridLoopAuth
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import Hummingbird
import ServiceLifecycle

/// The community half of a grid worker's job (#20), wired into routing's composition root:
/// policy notices (`Notices.swift`), consultations (`Consultations.swift`), micro-wishes
/// (`Wishes.swift`), green points and the love supermarket (`GreenPoints.swift`).
struct CommunityRoutes: Sendable {
    let notices: NoticesController
    let consultations: ConsultationsController
    let wishes: WishesController
    let points: PointsController

    init(runtime: ServiceRuntime, authenticator: Authenticator, reader: ConfigReader) throws {
        notices = try NoticesController.make(runtime: runtime, authenticator: authenticator, reader: reader)
        consultations = try ConsultationsController.make(runtime: runtime, authenticator: authenticator, reader: reader)
        wishes = try WishesController.make(runtime: runtime, authenticator: authenticator, reader: reader)
        points = try PointsController.make(runtime: runtime, authenticator: authenticator, reader: reader)
    }

    /// Their HTTP routes.
    func addRoutes(to router: Router<GridLoopRequestContext>) {
        notices.addRoutes(to: router)
        consultations.addRoutes(to: router)
        wishes.addRoutes(to: router)
        points.addRoutes(to: router)
    }

    /// Their background services (the notices' coverage watch).
    static func services(runtime: ServiceRuntime, reader: ConfigReader) throws -> [any Service] {
        try NoticesController.services(runtime: runtime, reader: reader)
    }
}

extension RoutingSchema {
    /// The community tables' migrations: notices 22, consultations 23, wishes 24, points 25.
    static let communityMigrations: [Migration] = noticeMigrations + consultationMigrations + wishMigrations + pointsMigrations
}
