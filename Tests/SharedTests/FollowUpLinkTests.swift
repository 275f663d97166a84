import Foundation
import GridLoopAuth
import Testing

/// The resident's signed 回访 link: valid for one request at one version, under one secret.
@Suite("Follow-up links")
struct FollowUpLinkTests {
    static let secret = String(repeating: "s3cret-", count: 6)
    let link = FollowUpLink(authSecret: Self.secret)
    let id = "3f6c2a1e-8b4d-4c7a-9e21-5d0b7f9a1c33"
    let other = "9a0e4b2c-1d3f-4e5a-8b6c-7d8e9f0a1b2c"

    @Test("a signature verifies for its request id and version")
    func verifies() {
        let signature = link.signature(requestId: id, version: 3)
        #expect(link.verify(requestId: id, version: 3, signature: signature))
        #expect(FollowUpLink(authSecret: Self.secret).verify(requestId: id, version: 3, signature: signature), "the same secret gives the same key")
    }

    @Test("a signature does not verify for another version or another request")
    func otherVersionOrRequest() {
        let signature = link.signature(requestId: id, version: 3)
        #expect(!link.verify(requestId: id, version: 4, signature: signature))
        #expect(!link.verify(requestId: id, version: 2, signature: signature))
        #expect(!link.verify(requestId: other, version: 3, signature: signature))
        #expect(link.signature(requestId: id, version: 3) != link.signature(requestId: id, version: 4))
        #expect(link.signature(requestId: id, version: 3) != link.signature(requestId: other, version: 3))
    }

    @Test("a signature made under another secret or for another purpose does not verify")
    func otherSecret() {
        let stranger = FollowUpLink(authSecret: "another-secret-entirely-another-secret")
        #expect(!link.verify(requestId: id, version: 3, signature: stranger.signature(requestId: id, version: 3)))
        #expect(!stranger.verify(requestId: id, version: 3, signature: link.signature(requestId: id, version: 3)))
        let upload = FollowUpLink(authSecret: Self.secret, purpose: "photo upload")
        #expect(!link.verify(requestId: id, version: 3, signature: upload.signature(requestId: id, version: 3)))
    }

    @Test("a truncated, lengthened, altered or empty signature does not verify")
    func tampered() {
        let signature = link.signature(requestId: id, version: 3)
        #expect(!link.verify(requestId: id, version: 3, signature: String(signature.dropLast())))
        #expect(!link.verify(requestId: id, version: 3, signature: String(signature.prefix(8))))
        #expect(!link.verify(requestId: id, version: 3, signature: signature + "A"))
        let first: Character = signature.first == "A" ? "B" : "A"
        let altered = String(first) + String(signature.dropFirst())
        #expect(altered.count == signature.count && altered != signature)
        #expect(!link.verify(requestId: id, version: 3, signature: altered))
        let last: Character = signature.last == "A" ? "B" : "A"
        #expect(!link.verify(requestId: id, version: 3, signature: String(signature.dropLast()) + String(last)))
        #expect(!link.verify(requestId: id, version: 3, signature: ""))
    }

    @Test("the id in upper case verifies and signs the same (ids are lowercased)")
    func upperCaseId() {
        let signature = link.signature(requestId: id, version: 3)
        #expect(link.verify(requestId: id.uppercased(), version: 3, signature: signature))
        #expect(link.signature(requestId: id.uppercased(), version: 3) == signature)
    }

    @Test("the path is /followup/<lowercase id>?v=<version>&s=<signature>")
    func path() {
        let signature = link.signature(requestId: id, version: 7)
        #expect(link.path(requestId: id, version: 7) == "/followup/\(id)?v=7&s=\(signature)")
        #expect(link.path(requestId: id.uppercased(), version: 7) == "/followup/\(id)?v=7&s=\(signature)")
    }

    @Test("the signature is 24 URL-safe characters (A–Z a–z 0–9 - _), no padding")
    func urlSafe() {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        for version in 0..<50 {
            let signature = link.signature(requestId: id, version: version)
            #expect(signature.count == 24)
            #expect(signature.allSatisfy { allowed.contains($0) }, "\(signature)")
        }
    }
}
