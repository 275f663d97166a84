import Foundation
import NIOCore
import NIOPosix

/// Where a service's Swift concurrency jobs run.
package enum ConcurrencyExecutor {
    /// Runs Swift concurrency's global executor on SwiftNIO's event loops (the same threads
    /// that serve HTTP, PostgreSQL and outgoing HTTP), so an `await` on a database reply or a
    /// handler's response no longer hops between Dispatch's worker threads and the event loops.
    /// The profile under load showed ≈ 11% of each service's CPU in those thread switches
    /// (docs/benchmarks/profile.md). Call it first thing in `main.swift`, before any `await`.
    /// `GRIDLOOP_EXECUTOR=dispatch` keeps Dispatch's pool (for comparison, or should a
    /// blocking call ever stall the event loops).
    package static func adoptEventLoops() {
        guard ProcessInfo.processInfo.environment["GRIDLOOP_EXECUTOR"] != "dispatch" else { return }
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
