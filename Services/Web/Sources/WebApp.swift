import Configuration
import GridLoopServiceSupport
import Hummingbird
import Logging

/// web: the staff's pages (sign-in, inbox, request). Stateless: it holds no data and calls
/// routing and intake with each person's own token, so it scales by running more of it.
///
/// | key | environment | default |
/// |---|---|---|
/// | `web.routing.url` | `WEB_ROUTING_URL` | `http://127.0.0.1:8083` |
/// | `web.intake.url` | `WEB_INTAKE_URL` | `http://127.0.0.1:8080` |
/// | `web.reporting.url` | `WEB_REPORTING_URL` | `http://127.0.0.1:8081` (the dashboard, shown under the app's sign-in) |
/// | `web.public.url` | `WEB_PUBLIC_URL` | `http://127.0.0.1:8085` (residents' links and door-plate QR codes) |
/// | `web.trusted.proxies` | `WEB_TRUSTED_PROXIES` | none (IPs/IPv4 CIDRs of a TLS proxy in front, whose X-Forwarded-For names the browser) |
/// | `web.secure.cookies` | `WEB_SECURE_COOKIES` | `false` (`true` behind TLS) |
/// | `web.points.item.max` | `WEB_POINTS_ITEM_MAX` | `10` (as routing's `ROUTING_POINTS_ITEM_MAX`: each green-points item 0…max) |
package enum WebApp: GridLoopServiceApp {
    package static let name = "web"
    package static let defaultPort = 8085

    package static func build(configuration: ServiceConfiguration, reader: ConfigReader) async throws -> some ApplicationProtocol {
        let logger = GridLoopLogging.bootstrap(service: name, level: configuration.logLevel, format: configuration.logFormat)
        let backend = Backend(
            routing: reader.string(forKey: "web.routing.url", default: "http://127.0.0.1:8083"),
            intake: reader.string(forKey: "web.intake.url", default: "http://127.0.0.1:8080"),
            reporting: reader.string(forKey: "web.reporting.url", default: "http://127.0.0.1:8081")
        )
        let router = Router(context: GridLoopRequestContext.self)
        router.add(middleware: ProblemMiddleware())
        var controller = WebController(
            backend: backend,
            publicURL: reader.string(forKey: "web.public.url", default: "http://127.0.0.1:\(configuration.httpPort)"),
            secureCookies: reader.bool(forKey: "web.secure.cookies", default: false)
        )
        controller.trustedProxies = TrustedProxies(reader.string(forKey: "web.trusted.proxies", default: ""))
        controller.pointsItemMax = max(1, reader.int(forKey: "web.points.item.max", default: 10))
        controller.addRoutes(to: router)
        logger.info("web pages ready", metadata: ["routing": "\(backend.routing)", "intake": "\(backend.intake)"])
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: "gridloop-web"),
            logger: logger
        )
    }
}
