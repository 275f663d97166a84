import Foundation
import GridLoopDomain
import Testing

@Suite("Personal data: sealed phones, keyed hashes, masking, dead-letter redaction")
struct PersonalDataTests {
    static let key = String(repeating: "ab", count: 32)
    static let other = String(repeating: "cd", count: 32)

    @Test func phonesSealAndOpenAndHashByDigits() throws {
        let protector = try DataProtector(key: Self.key)
        let sealed = protector.seal("13800001234")
        #expect(sealed.hasPrefix(DataProtector.prefix) && !sealed.contains("13800001234"))
        #expect(sealed != protector.seal("13800001234"), "a fresh nonce every time")
        #expect(try protector.open(sealed) == "13800001234")
        #expect(try protector.open("13800001234") == "13800001234", "rows written before sealing read as they are")
        #expect(protector.phoneHash("138-0000-1234") == protector.phoneHash("13800001234"))
        #expect(protector.phoneHash("13800001234") != protector.phoneHash("13800001235"))
        #expect(try DataProtector(key: Self.other).phoneHash("13800001234") != protector.phoneHash("13800001234"), "the hash is keyed")
    }

    @Test func rotationOpensThePreviousKeyAndRefusesTheUnknown() throws {
        let old = try DataProtector(key: Self.key)
        let sealed = old.seal("13900000061")
        let rotated = try DataProtector(key: Self.other, previousKey: Self.key)
        #expect(try rotated.open(sealed) == "13900000061")
        #expect(!rotated.isCurrent(sealed) && rotated.isCurrent(rotated.seal("1")))
        #expect(rotated.previousPhoneHash("13900000061") == old.phoneHash("13900000061"))
        #expect(throws: DataKeyError.self) { try DataProtector(key: Self.other).open(sealed) }
        var tampered = Array(sealed)
        tampered[tampered.count - 3] = tampered[tampered.count - 3] == "A" ? "B" : "A"
        #expect(throws: DataKeyError.self) { try old.open(String(tampered)) }
        #expect(throws: DataKeyError.self) { try DataProtector(key: "too short") }
        #expect(
            try DataProtector(key: Data(repeating: 7, count: 32).base64EncodedString()).open(
                DataProtector(key: Data(repeating: 7, count: 32).base64EncodedString()).seal("x")
            ) == "x"
        )
    }

    @Test func reportersTravelMaskedAndSealed() throws {
        let protector = try DataProtector(key: Self.key)
        let reporter = Reporter(name: "崔春花", phone: "13800001234").protected(by: protector)
        #expect(reporter.phone == "138****1234")
        #expect(try reporter.phoneNumber(using: protector) == "13800001234")
        #expect(try Reporter(name: "x", phone: "13800001234").phoneNumber(using: protector) == "13800001234", "events from before sealing")
        #expect(try Reporter(name: "x", phone: "138****1234").phoneNumber(using: protector) == nil, "a masked number is no number")
        #expect(Masking.phone("138****1234") == "138****1234", "masking twice changes nothing")
        #expect(reporter.protected(by: protector) == reporter, "protecting twice changes nothing")
        #expect(
            Reporter(name: "x", phone: "138****1234").protected(by: protector).phoneSealed == nil,
            "a masked number is not sealed as if it were one"
        )
        #expect(Masking.phone("+86 138-0000-1234") == "861******1234", "digits only: 3 shown, 4 shown, the rest starred")
    }

    @Test func deadLettersKeepPhonesSealedAndReplayOpensThem() throws {
        let protector = try DataProtector(key: Self.key)
        let body = Array(
            #"{"payload":{"submission":{"reporter":{"name":"崔春花","phone":"13800001234"},"description":"call 13912345678"}},"type":"x"}"#.utf8
        )
        let sealed = PhoneRedaction.seal(in: body, with: protector)
        let text = String(decoding: sealed, as: UTF8.self)
        #expect(!text.contains("13800001234") && text.contains(DataProtector.prefix))
        let opened = String(decoding: PhoneRedaction.open(in: sealed, with: protector), as: UTF8.self)
        #expect(opened.contains("13800001234"))
        let notJSON = String(
            decoding: PhoneRedaction.seal(in: Array("name=崔 phone=13800001234 id=123456789012345".utf8), with: protector),
            as: UTF8.self
        )
        #expect(!notJSON.contains("13800001234") && notJSON.contains("123456789012345"), "only mobile numbers in free text")
        #expect(PhoneRedaction.seal(in: Array(#"{"a":1}"#.utf8), with: protector) == Array(#"{"a":1}"#.utf8), "nothing to seal, body untouched")
    }
}
