import ArgumentParser
import Foundation

/// `gridloop-bench`: load generators for `deploy/bench.sh`. Each prints one line of
/// `key=value` figures (and a readable summary on stderr).
@main
struct GridLoopBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gridloop-bench",
        abstract: "Load generators for deploy/bench.sh: broker publish rate, HTTP intake, AMQP submissions.",
        subcommands: [PublishRate.self, HTTPLoad.self, AMQPSubmit.self, Soak.self, GetLoad.self]
    )
}

/// Sorted durations' percentiles and the figures line.
struct Figures {
    private var pairs: [(String, String)] = []

    mutating func add(_ key: String, _ value: String) { pairs.append((key, value)) }
    mutating func add(_ key: String, _ value: Double, digits: Int = 1) { add(key, String(format: "%.\(digits)f", value)) }
    mutating func add(_ key: String, _ value: Int) { add(key, "\(value)") }

    /// Adds `key_p50`, `key_p99`, `key_max` in milliseconds.
    mutating func addLatencies(_ key: String, _ values: [Duration]) {
        let sorted = values.sorted()
        func at(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return .nan }
            let rank = min(max(Int((p * Double(sorted.count)).rounded(.up)) - 1, 0), sorted.count - 1)
            return sorted[rank].milliseconds
        }
        add("\(key)_p50_ms", at(0.5), digits: 2)
        add("\(key)_p99_ms", at(0.99), digits: 2)
        add("\(key)_max_ms", at(1.0), digits: 2)
    }

    func print() {
        Swift.print(pairs.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
        FileHandle.standardError.write(Data((pairs.map { "  \($0.0): \($0.1)" }.joined(separator: "\n") + "\n").utf8))
    }
}

extension Duration {
    var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
    var seconds: Double { milliseconds / 1000 }
}

/// Settings every subcommand reads from the environment (as the services do).
enum BenchEnvironment {
    static func value(_ name: String, default fallback: String? = nil) throws -> String {
        if let value = ProcessInfo.processInfo.environment[name], !value.isEmpty { return value }
        if let fallback { return fallback }
        throw ValidationError("\(name) is not set (deploy/bench.sh sets it)")
    }
}
