// swift-tools-version:6.1
import PackageDescription

/// Settings every GridLoop target shares: Swift 6 language mode plus the upcoming features the
/// model codebases (Hummingbird, postgres-nio) build with.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "gridloop",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gridloop-intake", targets: ["GridLoopIntake"]),
        .executable(name: "gridloop-routing", targets: ["GridLoopRouting"]),
        .executable(name: "gridloop-notification", targets: ["GridLoopNotification"]),
        .executable(name: "gridloop-reporting", targets: ["GridLoopReporting"]),
        .executable(name: "gridloop-web", targets: ["GridLoopWeb"]),
        .executable(name: "gridloop", targets: ["GridLoopCLI"]),
        .executable(name: "gridloop-bench", targets: ["GridLoopBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.7.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // MARK: Shared

        /// librabbitmq (Debian `librabbitmq-dev`), seen only by `GridLoopAMQP`.
        .systemLibrary(
            name: "CRabbitMQ",
            path: "Shared/CRabbitMQ",
            pkgConfig: "librabbitmq",
            providers: [.apt(["librabbitmq-dev"])]
        ),
        /// libqrencode (Debian `libqrencode-dev`), seen only by `WebService` (the door plates' QR codes).
        /// libgd (Debian `libgd-dev`): evidence photos decoded and re-encoded, seen only by `GridLoopPhotos`;
        /// its header only: the library is loaded on the first photo (`Shared/Photos/LibGD.swift`).
        .systemLibrary(name: "CGD", path: "Shared/CGD", providers: [.apt(["libgd-dev"])]),
        /// Evidence photos: checked by content, turned upright, scaled, re-encoded without metadata.
        .target(name: "GridLoopPhotos", dependencies: ["CGD"], path: "Shared/Photos", swiftSettings: swiftSettings),
        .systemLibrary(
            name: "CQRencode",
            path: "Shared/CQRencode",
            pkgConfig: "libqrencode",
            providers: [.apt(["libqrencode-dev"])]
        ),
        /// The pure domain: ids, tiers, units, states, the lifecycle, message contracts, validation.
        .target(
            name: "GridLoopDomain",
            dependencies: [.product(name: "Crypto", package: "swift-crypto"), .product(name: "Yams", package: "Yams")],
            path: "Shared/Domain",
            swiftSettings: swiftSettings
        ),
        /// The one Swift wrapper around librabbitmq.
        .target(
            name: "GridLoopAMQP",
            dependencies: [
                "CRabbitMQ",
                "GridLoopDomain",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/AMQP",
            swiftSettings: swiftSettings
        ),
        /// PostgreSQL helpers: migrations, transactional outbox and its relay, consumer inbox.
        .target(
            name: "GridLoopPersistence",
            dependencies: [
                "GridLoopDomain",
                "GridLoopAMQP",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/Persistence",
            swiftSettings: swiftSettings
        ),
        /// Staff and service tokens (JWT) and what each role may see and do: pure, no I/O.
        .target(
            name: "GridLoopAuth",
            dependencies: ["GridLoopDomain", .product(name: "JWTKit", package: "jwt-kit"), .product(name: "Crypto", package: "swift-crypto")],
            path: "Shared/Auth",
            swiftSettings: swiftSettings
        ),
        /// Service support: configuration, logging, metrics, health, the consumer loop.
        .target(
            name: "GridLoopServiceSupport",
            dependencies: [
                "GridLoopAuth",
                "GridLoopDomain",
                "GridLoopAMQP",
                "GridLoopPersistence",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/ServiceSupport",
            swiftSettings: swiftSettings
        ),

        // MARK: Services (a library with the build function, and a tiny @main)

        .target(
            name: "IntakeService",
            dependencies: serviceDependencies + ["GridLoopPhotos"],
            path: "Services/Intake/Sources",
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "GridLoopIntake", dependencies: ["IntakeService"], path: "Services/Intake/Main", swiftSettings: swiftSettings),
        .target(name: "RoutingService", dependencies: serviceDependencies, path: "Services/Routing/Sources", swiftSettings: swiftSettings),
        .executableTarget(name: "GridLoopRouting", dependencies: ["RoutingService"], path: "Services/Routing/Main", swiftSettings: swiftSettings),
        .target(
            name: "NotificationService",
            dependencies: serviceDependencies + [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Services/Notification/Sources",
            resources: [.copy("Templates")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "GridLoopNotification",
            dependencies: ["NotificationService"],
            path: "Services/Notification/Main",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ReportingService",
            dependencies: serviceDependencies + [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            path: "Services/Reporting/Sources",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "GridLoopReporting",
            dependencies: ["ReportingService"],
            path: "Services/Reporting/Main",
            swiftSettings: swiftSettings
        ),
        /// The staff's pages: stateless, calls routing and intake with each person's token.
        .target(
            name: "WebService",
            dependencies: serviceDependencies + [
                "CQRencode",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            path: "Services/Web/Sources",
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "GridLoopWeb", dependencies: ["WebService"], path: "Services/Web/Main", swiftSettings: swiftSettings),
        .executableTarget(
            name: "GridLoopCLI",
            dependencies: serviceDependencies + [
                "IntakeService", "RoutingService", "NotificationService", "ReportingService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Services/CLI",
            swiftSettings: swiftSettings
        ),

        /// Load generators for deploy/bench.sh.
        .executableTarget(
            name: "GridLoopBench",
            dependencies: [
                "GridLoopAMQP", "GridLoopDomain", "GridLoopServiceSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Services/Bench",
            swiftSettings: swiftSettings
        ),

        // MARK: Tests

        /// Unit tests without I/O, one target per module they test: Shared (the pure domain,
        /// auth, the AMQP wrapper's pure parts, service support), then each service's library.
        .testTarget(
            name: "SharedTests",
            dependencies: ["GridLoopAuth", "GridLoopDomain", "GridLoopAMQP", "GridLoopPhotos", "GridLoopServiceSupport"],
            path: "Tests/SharedTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IntakeServiceTests",
            dependencies: ["IntakeService", "GridLoopDomain"],
            path: "Tests/IntakeServiceTests",
            swiftSettings: swiftSettings
        ),
        /// routing's command rules against an in-memory store (as Hummingbird's todos example tests its router), placement, escalation, authorization.
        .testTarget(
            name: "RoutingServiceTests",
            dependencies: ["RoutingService", "GridLoopAuth", "GridLoopDomain", "GridLoopServiceSupport"],
            path: "Tests/RoutingServiceTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NotificationServiceTests",
            dependencies: ["NotificationService", "GridLoopDomain"],
            path: "Tests/NotificationServiceTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ReportingServiceTests",
            dependencies: ["ReportingService", "GridLoopDomain"],
            path: "Tests/ReportingServiceTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WebServiceTests",
            dependencies: ["WebService", "GridLoopDomain"],
            path: "Tests/WebServiceTests",
            swiftSettings: swiftSettings
        ),
        /// Where the test broker and database are, and real processes of the services.
        .target(
            name: "GridLoopTestSupport",
            dependencies: serviceDependencies + [.product(name: "AsyncHTTPClient", package: "async-http-client")],
            path: "Tests/Support",
            swiftSettings: swiftSettings
        ),
        /// The AMQP wrapper and the persistence helpers against a real RabbitMQ and PostgreSQL.
        .testTarget(
            name: "IntegrationTests",
            dependencies: serviceDependencies + ["GridLoopTestSupport"],
            path: "Tests/IntegrationTests",
            swiftSettings: swiftSettings
        ),
        /// Real processes of every service, driven over HTTP, AMQP and the CLI.
        .testTarget(
            name: "EndToEndTests",
            dependencies: serviceDependencies + [
                "GridLoopTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Tests/EndToEndTests",
            swiftSettings: swiftSettings
        ),
    ]
)

/// What every service library builds on.
var serviceDependencies: [Target.Dependency] {
    [
        "GridLoopAuth",
        "GridLoopDomain",
        "GridLoopAMQP",
        "GridLoopPersistence",
        "GridLoopServiceSupport",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
    ]
}
