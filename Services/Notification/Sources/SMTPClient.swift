import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Where and how to send email: `NOTIFICATION_SMTP_URL` =
/// `smtp://[user:password@]host[:port]` (plain, port 25), `smtp+starttls://…` (upgrade with
/// STARTTLS, port 587) or `smtps://…` (TLS from the first byte, port 465).
package struct SMTPConfiguration: Sendable {
    package enum Security: String, Sendable {
        case none
        case startTLS
        case tls
    }

    package var host: String
    package var port: Int
    package var security: Security
    package var username: String?
    package var password: String?
    /// The sender address (`From:` and `MAIL FROM`).
    package var from: String
    /// The name given in `EHLO`.
    package var heloName: String
    /// A PEM file of CA certificates to trust instead of the system's.
    package var caFile: String?
    /// For the whole conversation.
    package var timeout: TimeAmount

    package init(url: String, from: String, heloName: String = "gridloop.local", caFile: String? = nil, timeout: TimeAmount = .seconds(10)) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host, !host.isEmpty else {
            throw SMTPFailure(reason: "NOTIFICATION_SMTP_URL '\(url)' is not like smtp://host:port", permanent: true)
        }
        switch scheme {
        case "smtp": (security, port) = (.none, components.port ?? 25)
        case "smtp+starttls": (security, port) = (.startTLS, components.port ?? 587)
        case "smtps": (security, port) = (.tls, components.port ?? 465)
        default: throw SMTPFailure(reason: "NOTIFICATION_SMTP_URL scheme '\(scheme)' is not smtp, smtp+starttls or smtps", permanent: true)
        }
        self.host = host
        self.username = components.user.flatMap { $0.removingPercentEncoding }
        self.password = components.password.flatMap { $0.removingPercentEncoding }
        self.from = from
        self.heloName = heloName
        self.caFile = caFile
        self.timeout = timeout
    }
}

/// A failed SMTP conversation. `permanent` (a 5xx reply): retrying will not help.
package struct SMTPFailure: Error, CustomStringConvertible {
    package var reason: String
    package var permanent: Bool
    package var description: String { reason }
}

/// One SMTP reply: the code and its text lines.
package struct SMTPReply: Sendable, Equatable {
    package var code: Int
    package var lines: [String]

    /// Parses one line (`250-PIPELINING` or `250 OK`): the code, whether more lines follow, the text.
    package static func parseLine(_ line: String) -> (code: Int, more: Bool, text: String)? {
        let bytes = Array(line.utf8)
        guard bytes.count >= 3, let code = Int(String(decoding: bytes[0..<3], as: UTF8.self)), (200...599).contains(code) else { return nil }
        if bytes.count == 3 { return (code, false, "") }
        guard bytes[3] == UInt8(ascii: " ") || bytes[3] == UInt8(ascii: "-") else { return nil }
        return (code, bytes[3] == UInt8(ascii: "-"), String(decoding: bytes[4...], as: UTF8.self))
    }
}

/// Sends one message per connection: greeting, `EHLO`, optional `STARTTLS` (then `EHLO`
/// again), optional `AUTH PLAIN`, `MAIL FROM`, `RCPT TO`, `DATA`, `QUIT`. Every reply is
/// checked; the conversation has one overall timeout.
package enum SMTPClient {
    package static func send(_ message: MailMessage, to recipient: String, configuration: SMTPConfiguration) async throws {
        let sslContext: NIOSSLContext? =
            try configuration.security == .none
            ? nil
            : {
                var tls = TLSConfiguration.makeClientConfiguration()
                tls.minimumTLSVersion = .tlsv12
                if let caFile = configuration.caFile { tls.trustRoots = .file(caFile) }
                return try NIOSSLContext(configuration: tls)
            }()
        let replies = SMTPReplyHandler()
        let host = configuration.host
        let implicitTLS = configuration.security == .tls
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(5))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if implicitTLS, let sslContext {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: host))
                        }
                        try channel.pipeline.syncOperations.addHandler(replies)
                    }
                }
                .connect(host: configuration.host, port: configuration.port).get()
        } catch {
            throw SMTPFailure(reason: "cannot connect to \(configuration.host):\(configuration.port): \(error)", permanent: false)
        }
        let deadline = channel.eventLoop.scheduleTask(in: configuration.timeout) { channel.close(promise: nil) }
        defer {
            deadline.cancel()
            channel.close(promise: nil)
        }
        func expect(_ stage: String, _ accepted: ClosedRange<Int>) async throws -> SMTPReply {
            let reply: SMTPReply
            do {
                reply = try await channel.eventLoop.flatSubmit { replies.next(on: channel.eventLoop) }.get()
            } catch {
                throw SMTPFailure(reason: "SMTP \(stage): no reply (\(error))", permanent: false)
            }
            guard accepted.contains(reply.code) else {
                throw SMTPFailure(
                    reason: "SMTP \(reply.code) at \(stage): \(reply.lines.joined(separator: " "))",
                    permanent: (500...599).contains(reply.code)
                )
            }
            return reply
        }
        func command(_ line: String, _ stage: String, _ accepted: ClosedRange<Int> = 250...259) async throws -> SMTPReply {
            try await channel.writeAndFlush(ByteBuffer(string: line + "\r\n")).get()
            return try await expect(stage, accepted)
        }
        _ = try await expect("greeting", 220...220)
        var hello = try await command("EHLO \(configuration.heloName)", "EHLO")
        if configuration.security == .startTLS, let sslContext {
            guard hello.lines.contains(where: { $0.uppercased().hasPrefix("STARTTLS") }) else {
                throw SMTPFailure(reason: "SMTP server \(configuration.host) does not offer STARTTLS", permanent: true)
            }
            _ = try await command("STARTTLS", "STARTTLS", 220...220)
            try await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: host), position: .first)
            }.get()
            hello = try await command("EHLO \(configuration.heloName)", "EHLO after STARTTLS")
        }
        if let username = configuration.username {
            let token = Data(([0] + Array(username.utf8) + [0] + Array((configuration.password ?? "").utf8))).base64EncodedString()
            _ = try await command("AUTH PLAIN \(token)", "AUTH", 235...235)
        }
        _ = try await command("MAIL FROM:<\(configuration.from)>", "MAIL FROM")
        _ = try await command("RCPT TO:<\(recipient)>", "RCPT TO")
        _ = try await command("DATA", "DATA", 354...354)
        _ = try await command(message.rendered + ".", "end of DATA")
        _ = try? await command("QUIT", "QUIT", 221...221)
    }
}

/// Collects reply lines into replies and hands them out in order. Lives on its channel's
/// event loop; every method is called there.
final class SMTPReplyHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    private var pendingBytes: [UInt8] = []
    private var current: [String] = []
    private var ready: [SMTPReply] = []
    private var waiting: [EventLoopPromise<SMTPReply>] = []
    private var failure: (any Error)?

    func next(on eventLoop: any EventLoop) -> EventLoopFuture<SMTPReply> {
        if !ready.isEmpty { return eventLoop.makeSucceededFuture(ready.removeFirst()) }
        if let failure { return eventLoop.makeFailedFuture(failure) }
        let promise = eventLoop.makePromise(of: SMTPReply.self)
        waiting.append(promise)
        return promise.futureResult
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        pendingBytes.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
        while let newline = pendingBytes.firstIndex(of: UInt8(ascii: "\n")) {
            var line = Array(pendingBytes[..<newline])
            pendingBytes.removeSubrange(...newline)
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            guard let parsed = SMTPReply.parseLine(String(decoding: line, as: UTF8.self)) else {
                fail(SMTPFailure(reason: "SMTP: malformed reply line '\(String(decoding: line, as: UTF8.self))'", permanent: false), context: context)
                return
            }
            current.append(parsed.text)
            if !parsed.more {
                let reply = SMTPReply(code: parsed.code, lines: current)
                current = []
                if waiting.isEmpty { ready.append(reply) } else { waiting.removeFirst().succeed(reply) }
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(SMTPFailure(reason: "connection closed", permanent: false), context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error, context: context)
    }

    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        if failure == nil { failure = error }
        let promises = waiting
        waiting = []
        for promise in promises { promise.fail(error) }
        context.close(promise: nil)
    }
}
