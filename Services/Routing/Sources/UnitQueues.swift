import GridLoopAMQP
import GridLoopDomain
import GridLoopServiceSupport
import Logging
import ServiceLifecycle

/// Every unit's assignment queue: declared once per process before the first assignment to
/// it (and for every unit of the org at start, ``UnitQueueDeclarer``).
extension Workflow {
    /// Declares `unit`'s queue once per process (so the assignment is routable).
    ///
    /// A queue the broker refuses to declare because it exists with other arguments (an
    /// operator re-created it, say as a classic queue) is used as it is: the assignment is
    /// routed to it all the same, and a publish it cannot take comes back as unroutable and
    /// stays in the outbox. Only an error line says so; the assignment never waits for it.
    func ensureQueue(for unit: UnitRef, logger: Logger) async throws {
        guard !declaredUnits.withLock({ $0.contains(unit) }) else { return }
        do {
            try await publisher.declare(GridLoopTopology.unit(unit))
        } catch {
            // (One catch with a test inside: a `catch where` on this typed throw crashes Swift 6.3's SILGen.)
            guard error.kind == .serverRefused, error.code == 406 else { throw error }
            logger.error(
                "the unit's queue exists with other arguments than GridLoop declares (re-created by hand?); assignments are published to it as it is",
                metadata: [
                    "unit": "\(unit)", "amqp.queue": "\(unit.queueName)", "amqp.error": "\(error)",
                ]
            )
        }
        declaredUnits.withLock { _ = $0.insert(unit) }
    }
}

/// Declares every unit's queue at start, so staff can consume before the first assignment and
/// queues lost with a broker's data come back.
struct UnitQueueDeclarer: Service {
    let org: OrgStore
    let workflow: Workflow
    let logger: Logger

    func run() async throws {
        var attempt = 0
        while !Task.isShuttingDownGracefully {
            do {
                let units = try await org.units(logger: logger)
                for unit in units { try await workflow.ensureQueue(for: unit, logger: logger) }
                logger.info("unit queues declared", metadata: ["units": "\(units.count)"])
                break
            } catch {
                attempt += 1
                logger.warning("cannot declare unit queues yet", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(min(attempt, 5)))
            }
        }
        try? await gracefulShutdown()
    }
}
