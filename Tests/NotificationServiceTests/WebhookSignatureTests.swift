import GridLoopDomain
import NotificationService
import Testing

@Suite("Webhook signatures")
struct WebhookSignatureTests {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    let body = Array(#"{"test": 2432232314}"#.utf8)

    @Test func matchesTheStandardWebhooksExample() {
        #expect(
            WebhookSignature.sign(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: body, secret: secret)
                == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        )
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

@Suite("Webhook targets")
struct WebhookTargetTests {
    @Test(
        "loopback, private and link-local targets are refused",
        arguments: [
            "http://localhost:9000/hook", "http://127.0.0.1/hook", "http://10.1.2.3/x", "http://172.20.0.5/x", "http://192.168.1.1/x",
            "http://169.254.169.254/latest", "http://[::1]:8080/x", "http://[fd00::1]/x", "http://[fe80::1]/x", "ftp://example.org/x", "not a url",
        ]
    )
    func refused(url: String) {
        #expect(WebhookTarget.refusal(url) != nil)
    }

    @Test("public targets are allowed", arguments: ["https://hooks.example.org/gridloop", "http://172.32.0.1/x", "https://[2001:db8::1]/x"])
    func allowed(url: String) {
        #expect(WebhookTarget.refusal(url) == nil)
    }
}
