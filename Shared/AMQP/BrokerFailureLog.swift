import GridLoopDomain
import Logging

/// The log lines of one connection thread's failures to reach the broker, as
/// ``DependencyFailureLog`` decides: a warning first (an error at once for a configuration
/// that can never work), an error when it lasts, rate-limited, one line when it recovers.
/// Owned by the connection's thread; not shared.
struct BrokerFailureLog {
    private var log = DependencyFailureLog()
    private let options: AMQPOptions
    private let logger: Logger
    /// `publisher` or `consumer`, for the message.
    private let role: String

    init(role: String, options: AMQPOptions, logger: Logger) {
        self.role = role
        self.options = options
        self.logger = logger
    }

    /// Records a failed connect; returns the diagnosis (for `/health`).
    mutating func failed(_ error: AMQPError, attempt: Int) -> DependencyFailure {
        let failure = error.diagnosis(options: options)
        let metadata: Logger.Metadata = [
            "dependency": "broker", "dependency.target": "\(failure.target)", "dependency.reason": "\(failure.reason)",
            "dependency.fix": "\(failure.fix)", "dependency.permanent": "\(failure.permanent)", "amqp.attempt": "\(attempt)",
        ]
        switch log.failed(failure, at: .now) {
        case .warning:
            logger.warning("\(role) cannot connect to the broker; retrying", metadata: metadata)
        case .error:
            logger.error(
                failure.permanent
                    ? "\(role) cannot connect to the broker as configured; retrying until the configuration is fixed"
                    : "\(role) still cannot connect to the broker; retrying",
                metadata: metadata
            )
        case .none, .recovered:
            break
        }
        return failure
    }

    /// Records a successful connect.
    mutating func connected(attempts: Int) {
        if case .recovered(let downFor) = log.succeeded(at: .now) {
            logger.info(
                "\(role) connected to the broker again",
                metadata: ["amqp.attempts": "\(attempts)", "dependency.down.seconds": "\(downFor.components.seconds)"]
            )
        }
    }
}
