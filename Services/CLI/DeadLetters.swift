import ArgumentParser
import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopServiceSupport

/// `gridloop dead-letters list | replay`: what could not be handled, with why, and re-driving it.
struct DeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "Messages a service could not handle (dead letters), and re-driving them.",
        subcommands: [List.self, Replay.self]
    )

    /// The service queues whose dead letters are kept in `<queue>.dead`.
    static let queues = GridLoopQueue.all

    /// One dead letter as listed.
    struct Letter: Sendable {
        var queue: String
        var messageId: String
        var type: String
        var reason: String
        var deadAt: String
        var size: Int
        /// The body as text.
        var body: String
    }

    /// Reads every dead letter of `queues` without removing any: they are taken unacknowledged
    /// and given back when the session closes.
    static func peek(_ queues: [String], options: AMQPOptions) async throws -> [Letter] {
        try await CLIConnections.session(options: options) { session in
            try session.declare(GridLoopTopology.services)
            var letters: [Letter] = []
            for queue in queues {
                while let message = try session.take(queue: GridLoopQueue.dead(queue), wait: .milliseconds(200)) {
                    letters.append(
                        Letter(
                            queue: queue,
                            messageId: message.messageId ?? "-",
                            type: message.type ?? "-",
                            reason: message.headers["x-gridloop-reason"]
                                ?? "the broker's delivery limit (handled and requeued \(GridLoopTopology.deliveryLimit) times)",
                            deadAt: message.headers["x-gridloop-dead-at"] ?? "-",
                            size: message.body.count,
                            body: String(decoding: message.body, as: UTF8.self)
                        )
                    )
                }
            }
            return letters
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead letters with their reason (nothing is removed).")
        @Option(help: "Only this service queue (e.g. intake.submissions).") var queue: String?
        @Flag(help: "Print each body under its line (residents' phones stay sealed).") var body = false

        func run() async throws {
            let queues = try selectedQueues(queue)
            let letters = try await DeadLetters.peek(queues, options: try CLIEnvironment.configuration().amqp)
            for letter in letters {
                print("\(letter.queue)\t\(letter.messageId)\t\(letter.type)\t\(letter.deadAt)\t\(letter.size) bytes\t\(letter.reason)")
                if body { print("  \(letter.body)") }
            }
            print("\(letters.count) dead letters")
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send dead letters back to their queue (after the cause was fixed); each is removed once the broker confirmed the copy.",
            discussion: "Consumers are idempotent (inbox by message id): replaying a message that was handled after all changes nothing."
        )
        @Option(help: "The service queue whose dead letters to replay.") var queue: String
        @Option(help: "Only the dead letter with this message id.") var id: String?
        @Flag(help: "Replay every dead letter of the queue.") var all = false

        func validate() throws {
            guard (id == nil) != !all else { throw ValidationError("give --id MESSAGE_ID or --all") }
        }

        func run() async throws {
            let queue = try selectedQueues(queue)[0]
            let wanted = id
            // intake seals the phones of the submissions it dead-letters; the copy goes back with them opened.
            let protector = try? CLIEnvironment.dataProtector()
            @Sendable func opened(_ body: [UInt8]) -> [UInt8] { protector.map { PhoneRedaction.open(in: body, with: $0) } ?? body }
            let replayed = try await CLIConnections.session(options: try CLIEnvironment.configuration().amqp) { session -> Int in
                try session.declare(GridLoopTopology.services)
                var count = 0
                // A copy refused again comes back to this queue: once one of this run's copies
                // shows up, everything that was there at the start has been seen.
                let run = MessageID.make()
                while let message = try session.take(queue: GridLoopQueue.dead(queue), wait: .milliseconds(200)) {
                    if message.headers["x-gridloop-replay-run"] == run { break }  // left unacknowledged: back in place at the end
                    guard wanted == nil || message.messageId == wanted else { continue }  // left unacknowledged: back in place at the end
                    var headers = message.headers.filter {
                        !$0.key.hasPrefix("x-gridloop-") && !$0.key.hasPrefix("x-death") && !$0.key.hasPrefix("x-first-death")
                            && !$0.key.hasPrefix("x-last-death")
                    }
                    headers["x-gridloop-replayed-at"] = Timestamp.format(Date())
                    headers["x-gridloop-replay-run"] = run
                    let copy = OutgoingMessage(
                        exchange: "",
                        routingKey: queue,
                        body: opened(message.body),
                        messageId: message.messageId ?? MessageID.make(),
                        type: message.type,
                        correlationId: message.correlationId,
                        replyTo: nil,
                        headers: headers
                    )
                    guard case .confirmed = try session.publish(copy) else {
                        throw CLIFailure("the broker did not confirm the copy of \(message.messageId ?? "-"); the dead letter is kept")
                    }
                    try session.settle(message, .ack)
                    count += 1
                }
                return count
            }
            guard replayed > 0 || wanted == nil else { throw CLIFailure("no dead letter \(wanted ?? "") in \(GridLoopQueue.dead(queue))") }
            print("replayed \(replayed) dead letters to \(queue)")
        }
    }
}

/// `queue` checked against the service queues, or all of them.
private func selectedQueues(_ queue: String?) throws -> [String] {
    guard let queue else { return DeadLetters.queues }
    guard DeadLetters.queues.contains(queue) else {
        throw CLIFailure("'\(queue)' is not a service queue (\(DeadLetters.queues.joined(separator: ", ")))")
    }
    return [queue]
}
