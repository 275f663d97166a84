import Foundation
import GridLoopAMQP
import GridLoopServiceSupport
import Logging

/// The real broker and database the tests use, as `deploy/local.sh test` exports them.
/// Missing settings are an error, never a reason to skip: run the tests through that script.
package enum TestEnvironment {
    package struct Missing: Error, CustomStringConvertible {
        package var description: String
    }

    static func value(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw Missing(description: "\(name) is not set: run the tests with deploy/local.sh test, which starts RabbitMQ and PostgreSQL")
        }
        return value
    }

    /// `GRIDLOOP_TEST_AMQP_URL`.
    package static func amqpURL() throws -> String { try value("GRIDLOOP_TEST_AMQP_URL") }
    /// `GRIDLOOP_TEST_DATABASE_URL`: the test database's owner (migrations, the tests' own checks).
    package static func databaseURL() throws -> String { try value("GRIDLOOP_TEST_DATABASE_URL") }
    /// `GRIDLOOP_TEST_SERVICE_DATABASE_URL`: the least-privilege login the services run as.
    package static func serviceDatabaseURL() throws -> String { try value("GRIDLOOP_TEST_SERVICE_DATABASE_URL") }
    /// `GRIDLOOP_BIN_DIR`: where `swift build` put the executables.
    package static func binDir() throws -> URL { URL(fileURLWithPath: try value("GRIDLOOP_BIN_DIR")) }
    /// `GRIDLOOP_BROKER_CONTROL`: `deploy/local.sh`, for `broker-stop` and `broker-start`.
    package static func brokerControl() throws -> String { try value("GRIDLOOP_BROKER_CONTROL") }
    /// The throw-away CA `deploy/local.sh` made (`GRIDLOOP_TEST_TLS_CA`) and RabbitMQ's TLS
    /// port (`GRIDLOOP_TEST_AMQPS_PORT`).
    package static func tls() throws -> (caFile: String, amqpsPort: String) {
        (try value("GRIDLOOP_TEST_TLS_CA"), try value("GRIDLOOP_TEST_AMQPS_PORT"))
    }
    /// Where service logs of test runs go.
    package static var logDir: URL {
        URL(fileURLWithPath: ProcessInfo.processInfo.environment["GRIDLOOP_TEST_LOGS"] ?? NSTemporaryDirectory())
    }

    /// Broker options for a test client.
    package static func amqpOptions(name: String = "gridloop-test") throws -> AMQPOptions {
        AMQPOptions(url: try AMQPURL(string: amqpURL()), heartbeat: 5, connectionName: name)
    }

    /// The test database.
    package static func database() throws -> DatabaseURL { try DatabaseURL(string: databaseURL()) }

    /// A logger for tests (warnings and worse).
    package static var logger: Logger {
        var logger = Logger(label: "gridloop-test")
        logger.logLevel = .warning
        return logger
    }

    /// A short unique suffix for names (queues, units, keys).
    package static func unique() -> String {
        String(UUID().uuidString.lowercased().prefix(8))
    }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
package func eventually(
    timeout: Duration = .seconds(20),
    every interval: Duration = .milliseconds(100),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}
