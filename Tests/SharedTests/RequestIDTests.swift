import Foundation
import GridLoopDomain
import Testing

@Suite("Request ids: a type, written as lowercase text")
struct RequestIDTests {
    @Test func lowercaseTextBothWaysAndNothingElse() throws {
        let id = try #require(RequestID("1346AA19-509C-492A-9D95-8D739A771877"))
        #expect(id.description == "1346aa19-509c-492a-9d95-8d739a771877" && "\(id)" == id.description)
        #expect(RequestID(id.description) == id && RequestID("not-a-uuid") == nil)
        let json = try WireJSON.encode(["requestId": id])
        #expect(String(decoding: json, as: UTF8.self) == #"{"requestId":"1346aa19-509c-492a-9d95-8d739a771877"}"#)
        #expect(try WireJSON.decode([String: RequestID].self, from: json) == ["requestId": id])
        #expect(throws: DecodingError.self) { try WireJSON.decode([String: RequestID].self, from: Array(#"{"requestId":"x"}"#.utf8)) }
        #expect(RequestID() != RequestID())
    }
}
