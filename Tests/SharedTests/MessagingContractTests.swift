import Foundation
import GridLoopDomain
import Testing

@testable import GridLoopAMQP

@Suite("Message contracts and AMQP settings")
struct MessagingContractTests {
    @Test func envelopeRoundTripsAndItsHeaderDecodesAlone() throws {
        let unit = try UnitRef(parsing: "grid:guanghua-3")
        let payload = RequestAssigned(
            requestId: "r1",
            assignmentId: "a1",
            unit: unit,
            category: "power",
            description: "停电",
            reason: "grid of household"
        )
        let envelope = MessageEnvelope(type: MessageType.requestAssigned, requestId: "r1", correlationId: "c1", requestVersion: 2, payload: payload)
        let bytes = try WireJSON.encode(envelope)
        let back = try WireJSON.decode(MessageEnvelope<RequestAssigned>.self, from: bytes)
        #expect(back.payload == payload)
        #expect(back.messageId == envelope.messageId)
        #expect(abs(back.occurredAt.timeIntervalSince(envelope.occurredAt)) < 0.001)
        let header = try WireJSON.decode(EnvelopeHeader.self, from: bytes)
        #expect(header.type == "request.assigned")
        #expect(header.schemaVersion == 1)
        #expect(header.requestVersion == 2)
    }

    @Test func timestampsAreUTCWithMilliseconds() throws {
        let date = Date(timeIntervalSince1970: 1_624_233_624.125)
        #expect(Timestamp.format(date) == "2021-06-21T00:00:24.125Z")
        #expect(Timestamp.parse("2021-06-21T00:00:24Z") == Date(timeIntervalSince1970: 1_624_233_624))
    }

    @Test func parsesAMQPURLs() throws {
        let url = try AMQPURL(string: "amqp://gridloop:s%40cret@broker.local:5673/gridloop")
        #expect(url.host == "broker.local")
        #expect(url.port == 5673)
        #expect(url.user == "gridloop")
        #expect(url.password == "s@cret")
        #expect(url.vhost == "gridloop")
        #expect(!url.description.contains("cret"))
        #expect(try AMQPURL(string: "amqp://h/%2f").vhost == "/")
        #expect(try AMQPURL(string: "amqp://h").vhost == "/")
        #expect(throws: AMQPError.self) { try AMQPURL(string: "http://h/") }
        // A cluster: every node, in order; a missing port is 5672.
        let cluster = try AMQPURL(string: "amqp://gridloop:pw@rabbitmq-1:5672,rabbitmq-2,rabbitmq-3:5673/gridloop")
        #expect(
            cluster.nodes == [.init(host: "rabbitmq-1", port: 5672), .init(host: "rabbitmq-2", port: 5672), .init(host: "rabbitmq-3", port: 5673)]
        )
        #expect(cluster.user == "gridloop" && cluster.password == "pw" && cluster.vhost == "gridloop")
        #expect(cluster.description == "amqp://gridloop@rabbitmq-1:5672,rabbitmq-2:5672,rabbitmq-3:5673/gridloop", "no password in logs")
        #expect(throws: AMQPError.self) { try AMQPURL(string: "amqp://u:p@h1,,h3/v") }
        #expect(throws: AMQPError.self) { try AMQPURL(string: "amqp://u:p@h1,h2:99999/v") }
        #expect(throws: AMQPError.self) { try AMQPURL(string: "amqp:///vhost") }
        // TLS: amqps://, port 5671 unless given, for every node.
        let tls = try AMQPURL(string: "amqps://gridloop:pw@broker-1,broker-2:6671/gridloop")
        #expect(tls.tls && tls.nodes == [.init(host: "broker-1", port: 5671), .init(host: "broker-2", port: 6671)])
        #expect(tls.description.hasPrefix("amqps://gridloop@"))
        #expect(try AMQPURL(string: "amqp://h/v").tls == false)
    }

    @Test func heartbeatIsCappedAt30Seconds() throws {
        let options = AMQPOptions(url: AMQPURL(), heartbeat: 600, connectionName: "test")
        #expect(options.heartbeat == 30)
    }

    @Test func retryDelaysGrowAndStayCapped() {
        let policy = RetryPolicy(initialDelay: .milliseconds(100), maximumDelay: .seconds(2), maxAttempts: 8)
        var generator = SystemRandomNumberGenerator()
        var previousCeiling = Duration.zero
        for attempt in 1..<8 {
            let ceiling = policy.ceiling(afterAttempt: attempt)
            #expect(ceiling >= previousCeiling)
            #expect(ceiling <= .seconds(2))
            let delay = policy.delay(afterAttempt: attempt, using: &generator)!
            #expect(delay >= ceiling / 2 && delay <= ceiling)
            previousCeiling = ceiling
        }
        #expect(policy.ceiling(afterAttempt: 1) == .milliseconds(100))
        #expect(policy.ceiling(afterAttempt: 3) == .milliseconds(400))
        #expect(policy.delay(afterAttempt: 8, using: &generator) == nil)
    }
}
