import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import PostgresNIO
import Prometheus
import Synchronization

/// Prometheus metrics for the whole process.
package enum GridLoopMetrics {
    private static let registry = Mutex<PrometheusCollectorRegistry?>(nil)

    /// Bootstraps swift-metrics with a Prometheus registry (once per process) and returns it.
    package static func bootstrap() -> PrometheusCollectorRegistry {
        registry.withLock { stored in
            if let stored { return stored }
            let fresh = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: fresh))
            stored = fresh
            return fresh
        }
    }
}

/// One readiness check: a name and a probe that throws or returns `false` when not ready.
package struct HealthCheck: Sendable {
    package var name: String
    package var probe: @Sendable () async -> Bool

    package init(name: String, probe: @escaping @Sendable () async -> Bool) {
        self.name = name
        self.probe = probe
    }

    /// Ready when `SELECT 1` answers within two seconds.
    package static func database(_ client: PostgresClient) -> HealthCheck {
        HealthCheck(name: "database") {
            await withTaskGroup(of: Bool.self) { group in
                group.addTask { (try? await client.query("SELECT 1").collect()) != nil }
                group.addTask {
                    try? await Task.sleep(for: .seconds(2))
                    return false
                }
                let first = await group.next() ?? false
                group.cancelAll()
                return first
            }
        }
    }

    /// Ready when every given broker connection is up.
    package static func broker(_ probes: [@Sendable () -> Bool]) -> HealthCheck {
        HealthCheck(name: "broker") { probes.allSatisfy { $0() } }
    }
}

/// `/health` (200 when every check passes, else 503, with each check's result) and
/// `/metrics` (Prometheus text format).
package struct ObservabilityController: Sendable {
    package var service: String
    package var checks: [HealthCheck]
    package var registry: PrometheusCollectorRegistry

    package init(service: String, checks: [HealthCheck], registry: PrometheusCollectorRegistry) {
        self.service = service
        self.checks = checks
        self.registry = registry
    }

    package func addRoutes(to router: Router<some RequestContext>) {
        router.get("health") { _, _ -> Response in
            var results: [String: String] = [:]
            var ready = true
            for check in checks {
                let ok = await check.probe()
                results[check.name] = ok ? "up" : "down"
                ready = ready && ok
            }
            let body: [String: any Sendable] = ["service": service, "status": ready ? "ready" : "unavailable", "checks": results]
            let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
            return Response(
                status: ready ? .ok : .serviceUnavailable,
                headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: data))
            )
        }
        router.get("metrics") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
            )
        }
    }
}
