import Foundation
import GridLoopDomain
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

/// One readiness check: a name, a probe that returns `false` when not ready, and why not.
package struct HealthCheck: Sendable {
    package var name: String
    package var probe: @Sendable () async -> Bool
    /// Why the dependency is down, when its watcher knows (asked only when `probe` fails).
    package var failure: @Sendable () -> DependencyFailure?

    package init(name: String, probe: @escaping @Sendable () async -> Bool, failure: @escaping @Sendable () -> DependencyFailure? = { nil }) {
        self.name = name
        self.probe = probe
        self.failure = failure
    }

    /// Ready when `SELECT 1` answers within two seconds; the reason from `watch`.
    package static func database(_ client: PostgresClient, watch: DatabaseWatch) -> HealthCheck {
        HealthCheck(name: "database", probe: { await client.answers(within: .seconds(2)) }, failure: { watch.failure })
    }

    /// Ready when every given broker connection is up; the reason from the first that says one.
    package static func broker(_ probes: [@Sendable () -> Bool], failures: [@Sendable () -> DependencyFailure?]) -> HealthCheck {
        HealthCheck(name: "broker", probe: { probes.allSatisfy { $0() } }, failure: { failures.lazy.compactMap { $0() }.first })
    }
}

/// The body of `/health`: `{"service", "status", "checks": {name: "up"|"down"}, "failures":
/// {name: {"target", "reason", "fix", "permanent"}}}`, `failures` only for what is down and
/// has a known reason.
package enum HealthDocument {
    package static func response(
        service: String,
        status: String,
        ready: Bool,
        checks: [String: String],
        failures: [String: DependencyFailure]
    ) throws -> Response {
        var body: [String: any Sendable] = ["service": service, "status": status, "checks": checks]
        if !failures.isEmpty {
            body["failures"] = failures.mapValues { failure -> [String: any Sendable] in
                ["target": failure.target, "reason": failure.reason, "fix": failure.fix, "permanent": failure.permanent]
            }
        }
        let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        return Response(
            status: ready ? .ok : .serviceUnavailable,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}

/// `/health` (200 when every check passes, else 503, with each check's result and, for what
/// is down, why) and `/metrics` (Prometheus text format).
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
            var failures: [String: DependencyFailure] = [:]
            var ready = true
            for check in checks {
                let ok = await check.probe()
                results[check.name] = ok ? "up" : "down"
                if !ok, let failure = check.failure() { failures[check.name] = failure }
                ready = ready && ok
            }
            return try HealthDocument.response(
                service: service,
                status: ready ? "ready" : "unavailable",
                ready: ready,
                checks: results,
                failures: failures
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
