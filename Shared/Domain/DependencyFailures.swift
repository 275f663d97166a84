/// Why a dependency (the database, the broker) cannot be used, in words an operator acts on.
///
/// Made by the layer that knows the client library (``AMQPError`` in the AMQP wrapper,
/// PostgreSQL errors in the service support) and shown unchanged by the CLI, the services'
/// logs and their `/health`.
package struct DependencyFailure: Sendable, Equatable, CustomStringConvertible {
    /// Which dependency: `database` or `broker`.
    package var dependency: String
    /// What was tried, never with the password: `postgres://gridloop@127.0.0.1:5432/gridloop`.
    package var target: String
    /// What the server (or the network) said, e.g. `password authentication failed for user
    /// "gridloop" (SQLSTATE 28P01)` or `ACCESS_REFUSED - Login was refused …`.
    package var reason: String
    /// A configuration that can never work as it is (authentication failed, database or vhost
    /// not found, certificate rejected), as opposed to a server that is down or restarting.
    package var permanent: Bool
    /// The likely fix, e.g. `check the password in DATABASE_URL`.
    package var fix: String
    /// The environment variable that names this dependency (`DATABASE_URL`,
    /// `DATABASE_MIGRATION_URL`, `AMQP_URL`).
    package var setting: String

    package init(dependency: String, target: String, reason: String, permanent: Bool, fix: String, setting: String? = nil) {
        self.dependency = dependency
        self.target = target
        self.reason = reason
        self.permanent = permanent
        self.fix = fix
        self.setting = setting ?? (dependency == "broker" ? "AMQP_URL" : "DATABASE_URL")
    }

    /// One line: `cannot use the database postgres://…: <reason>`.
    package var description: String { "cannot use the \(dependency) \(target): \(reason)" }
}

/// When a failing dependency is worth a log line, and at which level: the first failure a
/// warning (an error at once when the configuration can never work), an error once it has
/// lasted ``escalateAfter``, then at most one line every ``repeatEvery`` while the reason stays
/// the same, a new line when it changes, and one when it recovers. Pure: the caller passes the
/// clock's reading and writes the line.
package struct DependencyFailureLog: Sendable {
    /// What the caller should log now.
    package enum Decision: Sendable, Equatable {
        case none
        case warning
        case error
        /// Working again after failing (log at `info`, with how long it was down).
        case recovered(downFor: Duration)
    }

    package var escalateAfter: Duration
    package var repeatEvery: Duration
    /// The failure now in force, if any.
    package private(set) var current: DependencyFailure?
    private var since: ContinuousClock.Instant?
    private var lastLogged: ContinuousClock.Instant?
    private var escalated = false

    package init(escalateAfter: Duration = .seconds(30), repeatEvery: Duration = .seconds(60)) {
        self.escalateAfter = escalateAfter
        self.repeatEvery = repeatEvery
    }

    /// Records a failed attempt at `now`.
    package mutating func failed(_ failure: DependencyFailure, at now: ContinuousClock.Instant) -> Decision {
        guard let previous = current, let since, let lastLogged else {
            current = failure
            self.since = now
            self.lastLogged = now
            escalated = failure.permanent
            return failure.permanent ? .error : .warning
        }
        current = failure
        let lasting = now - since >= escalateAfter
        if previous.reason != failure.reason || previous.permanent != failure.permanent {
            self.lastLogged = now
            escalated = escalated || lasting || failure.permanent
            return escalated ? .error : .warning
        }
        if lasting, !escalated {
            self.lastLogged = now
            escalated = true
            return .error
        }
        if now - lastLogged >= repeatEvery {
            self.lastLogged = now
            return escalated ? .error : .warning
        }
        return .none
    }

    /// Records a successful attempt at `now`.
    package mutating func succeeded(at now: ContinuousClock.Instant) -> Decision {
        defer {
            current = nil
            since = nil
            lastLogged = nil
            escalated = false
        }
        guard current != nil, let since else { return .none }
        return .recovered(downFor: now - since)
    }
}

/// Thrown where waiting is not wanted (the CLI): the failure as it is.
extension DependencyFailure: Error {}
