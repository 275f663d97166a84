import AsyncHTTPClient
import Foundation
import Synchronization

/// A real process of one of GridLoop's executables, with its output in a log file.
package final class ServiceProcess: Sendable {
    package let name: String
    private let process: Process
    package let logFile: URL

    /// Starts `executable` from the build directory with `environment` added to this process's.
    package convenience init(_ executable: String, name: String? = nil, environment: [String: String], arguments: [String] = []) throws {
        try self.init(
            path: try TestEnvironment.binDir().appendingPathComponent(executable),
            name: name ?? executable,
            environment: environment,
            arguments: arguments
        )
    }

    /// Starts the program at `path` (a helper such as the SMTP sink).
    package init(path: URL, name: String, environment: [String: String], arguments: [String] = []) throws {
        self.name = name
        let process = Process()
        process.executableURL = path
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let logFile = TestEnvironment.logDir.appendingPathComponent("\(self.name).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logFile)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        self.process = process
        self.logFile = logFile
    }

    package var pid: Int32 { process.processIdentifier }
    /// Set once the exit was seen (waitpid reaps only once).
    private let exited = Mutex<Int32?>(nil)

    private func status() -> Int32? {
        exited.withLock { known in
            if let known { return known }
            known = ChildWatch(process).exitStatus()
            return known
        }
    }

    package var isRunning: Bool { status() == nil }

    /// SIGKILL: no shutdown, no cleanup.
    package func kill() async {
        Glibc.kill(process.processIdentifier, SIGKILL)
        while status() == nil { try? await Task.sleep(for: .milliseconds(20)) }
    }

    /// SIGTERM and wait for a graceful exit (SIGKILL after `grace`); returns the exit status.
    @discardableResult
    package func stop(grace: Duration = .seconds(15)) async -> Int32 {
        if let status = status() { return status }
        Glibc.kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while status() == nil, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if status() == nil { await kill() }
        return status() ?? -1
    }
}

/// The outcome of a command-line run.
package struct CommandResult: Sendable {
    package var status: Int32
    package var stdout: String
    package var stderr: String
}

/// Runs `gridloop` (or another executable, by absolute path) to completion. Output goes to
/// files, not pipes, so a daemon the command leaves behind (RabbitMQ) cannot hold it open.
/// `removing` names variables of this process's environment the command must not see.
package func runCommand(
    _ arguments: [String],
    executable: String = "gridloop",
    environment: [String: String],
    removing: [String] = [],
    timeout: Duration = .seconds(60)
) async throws -> CommandResult {
    let process = Process()
    process.executableURL =
        executable.hasPrefix("/") ? URL(fileURLWithPath: executable) : try TestEnvironment.binDir().appendingPathComponent(executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.filter { !removing.contains($0.key) }.merging(environment) { _, new in new }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gridloop-cmd-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let outURL = directory.appendingPathComponent("stdout")
    let errURL = directory.appendingPathComponent("stderr")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    try? out.close()
    try? err.close()
    let watch = ChildWatch(process)
    let deadline = ContinuousClock.now + timeout
    var status = watch.exitStatus()
    while status == nil, ContinuousClock.now < deadline {
        try? await Task.sleep(for: .milliseconds(20))
        status = watch.exitStatus()
    }
    if status == nil {
        Glibc.kill(process.processIdentifier, SIGKILL)
        status = await watch.waitForExit()
    }
    return CommandResult(
        status: status ?? -1,
        stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
    )
}

/// Learns whether a child exited by `waitpid` itself: Foundation's `Process` on Linux can
/// miss a child's exit and leave it a zombie with `isRunning` true for ever.
package struct ChildWatch: Sendable {
    private let pid: Int32
    private let process: Process

    package init(_ process: Process) {
        self.process = process
        self.pid = process.processIdentifier
    }

    /// The exit status (128 + signal when killed), or `nil` while it runs.
    package func exitStatus() -> Int32? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid {
            let signal = status & 0x7f
            return signal == 0 ? (status >> 8) & 0xff : 128 + signal
        }
        if result == -1, errno == ECHILD {
            // Foundation reaped it first.
            return process.isRunning ? nil : process.terminationStatus
        }
        return nil
    }

    /// Waits until the child has exited.
    package func waitForExit() async -> Int32 {
        while true {
            if let status = exitStatus() { return status }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// The HTTP status `GET url` answers with, or `nil` when nothing answers (2-s timeout).
private func status(of url: String) async -> UInt? {
    var request = HTTPClientRequest(url: url)
    request.method = .GET
    guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(2)) else { return nil }
    _ = try? await response.body.collect(upTo: 1 << 16)
    return response.status.code
}

/// Whether `GET url` answers 200.
package func isHealthy(_ url: String) async -> Bool {
    await status(of: url) == 200
}

/// Whether anything answers `GET url` over HTTP, whatever the status.
package func answers(_ url: String) async -> Bool {
    await status(of: url) != nil
}
