import Foundation
import Synchronization

/// Runs blocking librabbitmq work on a dedicated thread, off Swift's cooperative pool.
enum AMQPThread {
    /// Starts `body` on a new thread named `name`.
    static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread { body() }
        thread.name = name
        thread.start()
    }

    /// Runs `body` on a new thread and returns its result.
    static func run<T: Sendable>(name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            start(name: name) {
                continuation.resume(with: Result { try body() })
            }
        }
    }
}

/// Wakes a connection thread that waits on its socket: a self-pipe polled with the socket.
final class AMQPWakeup: Sendable {
    private let readEnd: Int32
    private let writeEnd: Int32

    init() {
        var fds: [Int32] = [-1, -1]
        precondition(pipe(&fds) == 0, "pipe() failed: \(errno)")
        readEnd = fds[0]
        writeEnd = fds[1]
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }

    deinit {
        Glibc.close(readEnd)
        Glibc.close(writeEnd)
    }

    /// Wakes the waiting thread (or the next wait, if none waits now).
    func signal() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// Waits until `socket` is readable, ``signal()`` is called, or `timeout` passes; then
    /// clears pending signals. Pass `socket: -1` to wait for a signal or the timeout only.
    func wait(socket: Int32, timeout: Duration) {
        var fds = [pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)]
        if socket >= 0 { fds.append(pollfd(fd: socket, events: Int16(POLLIN), revents: 0)) }
        let (seconds, attoseconds) = timeout.components
        let milliseconds = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000)
        _ = poll(&fds, nfds_t(fds.count), max(milliseconds, 0))
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readEnd, &buffer, buffer.count) > 0 {}
    }
}
