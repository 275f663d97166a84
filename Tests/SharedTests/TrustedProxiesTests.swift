import GridLoopServiceSupport
import Testing

/// Whose `X-Forwarded-For` counts for the rate limits: only a trusted peer's, read from the
/// right past the trusted hops; anyone else is counted by their own address.
@Suite("Trusted proxies and the client's address")
struct TrustedProxiesTests {
    @Test("an empty list trusts nobody, and a client's own X-Forwarded-For is ignored")
    func emptyTrustsNobody() {
        let none = TrustedProxies("")
        #expect(none.addresses.isEmpty && none.ranges.isEmpty)
        #expect(!none.trusts("127.0.0.1"))
        #expect(!none.trusts(""))
        #expect(none.client(peer: "198.51.100.9", forwardedFor: ["203.0.113.7"]) == "198.51.100.9")
        #expect(none.client(peer: "198.51.100.9", forwardedFor: ["10.0.0.1, 127.0.0.1"]) == "198.51.100.9")
    }

    @Test("an untrusted peer naming a trusted proxy in X-Forwarded-For still gets its own address")
    func spoofingPeer() {
        let proxies = TrustedProxies("127.0.0.1,10.0.0.0/8")
        #expect(proxies.client(peer: "198.51.100.9", forwardedFor: ["127.0.0.1"]) == "198.51.100.9")
        #expect(proxies.client(peer: "198.51.100.9", forwardedFor: ["203.0.113.7, 10.0.0.2"]) == "198.51.100.9")
    }

    @Test("an exact IPv4 entry trusts that address only")
    func exactIPv4() {
        let proxies = TrustedProxies("127.0.0.1")
        #expect(proxies.trusts("127.0.0.1"))
        #expect(!proxies.trusts("127.0.0.2"))
        #expect(!proxies.trusts("27.0.0.1"))
    }

    @Test("an IPv6 entry is trusted, whatever the case of its hex digits; entries are trimmed")
    func exactIPv6() {
        let proxies = TrustedProxies(" ::1 , 2001:DB8::1 ")
        #expect(proxies.trusts("::1"))
        #expect(proxies.trusts("2001:db8::1"))
        #expect(proxies.trusts("2001:DB8::1"))
        #expect(!proxies.trusts("2001:db8::2"))
        #expect(!proxies.trusts("127.0.0.1"))
    }

    @Test("10.0.0.0/8 contains 10.1.2.3 and 10.255.255.255 but not 11.0.0.1 or 9.255.255.255")
    func cidrRange() {
        let proxies = TrustedProxies("10.0.0.0/8")
        #expect(proxies.ranges.count == 1)
        #expect(proxies.trusts("10.1.2.3"))
        #expect(proxies.trusts("10.0.0.0"))
        #expect(proxies.trusts("10.255.255.255"))
        #expect(!proxies.trusts("11.0.0.1"))
        #expect(!proxies.trusts("9.255.255.255"))
        #expect(!proxies.trusts("::1"))
    }

    @Test("a range's base is masked: 10.9.9.9/8 is all of 10.0.0.0/8")
    func cidrBaseMasked() {
        let proxies = TrustedProxies("10.9.9.9/8")
        #expect(proxies.trusts("10.0.0.1"))
        #expect(!proxies.trusts("11.0.0.0"))
    }

    @Test("a /32 is one address; a /0 is every IPv4 address (and no IPv6 one)")
    func cidrEdges() {
        let one = TrustedProxies("192.0.2.5/32")
        #expect(one.trusts("192.0.2.5"))
        #expect(!one.trusts("192.0.2.4"))
        #expect(!one.trusts("192.0.2.6"))
        let all = TrustedProxies("0.0.0.0/0")
        #expect(all.trusts("0.0.0.0"))
        #expect(all.trusts("8.8.8.8"))
        #expect(all.trusts("255.255.255.255"))
        #expect(!all.trusts("::1"))
        #expect(!all.trusts("not-an-address"))
    }

    @Test("invalid entries (999.1.1.1/8, abc, 10.0.0.0/33, 1.2.3/8) make no range and trust no real address")
    func invalidEntries() {
        let proxies = TrustedProxies("999.1.1.1/8,abc,10.0.0.0/33,1.2.3/8")
        #expect(proxies.ranges.isEmpty)
        for address in ["999.1.1.1", "1.1.1.1", "10.0.0.1", "1.2.3.4", "127.0.0.1", "::1", "0.0.0.0"] {
            #expect(!proxies.trusts(address), "\(address) must not be trusted")
        }
        #expect(proxies.client(peer: "10.0.0.1", forwardedFor: ["203.0.113.7"]) == "10.0.0.1")
    }

    @Test("a trusted peer's single X-Forwarded-For entry is the client")
    func trustedPeerNamesClient() {
        let proxies = TrustedProxies("127.0.0.1")
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: ["203.0.113.7"]) == "203.0.113.7")
    }

    @Test("through trusted 127.0.0.1, the chain 198.51.100.9, 203.0.113.7, 127.0.0.1 gives the rightmost untrusted: 203.0.113.7")
    func rightmostUntrusted() {
        let proxies = TrustedProxies("127.0.0.1")
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: ["198.51.100.9, 203.0.113.7, 127.0.0.1"]) == "203.0.113.7")
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: ["198.51.100.9,203.0.113.7"]) == "203.0.113.7")
    }

    @Test("several X-Forwarded-For lines are read as one list, in their order")
    func severalLines() {
        let proxies = TrustedProxies("127.0.0.1,10.0.0.0/8")
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: ["203.0.113.7", "198.51.100.9"]) == "198.51.100.9")
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: ["198.51.100.9", "203.0.113.7"]) == "203.0.113.7")
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: ["198.51.100.9, 203.0.113.7", "10.0.0.2, 10.0.0.3"]) == "203.0.113.7")
    }

    @Test("a trusted peer with no (or an empty) X-Forwarded-For is itself the client")
    func trustedPeerWithoutHeader() {
        let proxies = TrustedProxies("127.0.0.1")
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: []) == "127.0.0.1")
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: [""]) == "127.0.0.1")
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: [" , "]) == "127.0.0.1")
    }

    @Test("when every hop is trusted, the leftmost is the client")
    func allHopsTrusted() {
        let proxies = TrustedProxies("127.0.0.1,10.0.0.0/8")
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: ["10.0.0.5, 10.0.0.6, 127.0.0.1"]) == "10.0.0.5")
        #expect(proxies.client(peer: "10.0.0.9", forwardedFor: ["10.0.0.5", "10.0.0.6"]) == "10.0.0.5")
    }
}
