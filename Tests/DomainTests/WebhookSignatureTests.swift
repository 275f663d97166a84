import GridLoopDomain
import Testing

@Suite("Webhook signatures")
struct WebhookSignatureTests {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    let body = Array(#"{"test": 2432232314}"#.utf8)

    @Test func matchesTheStandardWebhooksExample() {
        #expect(WebhookSignature.sign(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: body, secret: secret)
            == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test func verifiesAndRotates() {
        let old = "whsec_" + "c2VjcmV0LW9sZC1rZXktZm9yLXJvdGF0aW9u"
        let header = WebhookSignature.header(id: "d1", timestamp: 10, body: body, secrets: [secret, old])
        #expect(header.split(separator: " ").count == 2)
        #expect(WebhookSignature.verify(header: header, id: "d1", timestamp: 10, body: body, secret: secret))
        #expect(WebhookSignature.verify(header: header, id: "d1", timestamp: 10, body: body, secret: old))
        #expect(!WebhookSignature.verify(header: header, id: "d1", timestamp: 11, body: body, secret: secret))
        #expect(!WebhookSignature.verify(header: header, id: "d1", timestamp: 10, body: Array("{}".utf8), secret: secret))
    }
}
