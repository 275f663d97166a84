import Crypto
import Foundation

/// Residents' phone numbers at rest and on the wire: sealed with AES-GCM under the data key
/// (`GRIDLOOP_DATA_KEY`), searchable by a keyed hash, shown masked. A previous key
/// (`GRIDLOOP_DATA_PREVIOUS_KEY`) still opens what it sealed while `gridloop data rekey`
/// re-seals the rows.
public struct DataProtector: Sendable {
    /// Prefix of every sealed value: `enc:v1:<key id>:<base64 of nonce, ciphertext and tag>`.
    public static let prefix = "enc:v1:"

    private let current: Key
    private let previous: Key?

    struct Key: Sendable {
        var id: String
        var sealing: SymmetricKey
        var hashing: SymmetricKey

        init(_ material: SymmetricKey) {
            self.sealing = HKDF<SHA256>.deriveKey(inputKeyMaterial: material, info: Data("gridloop seal".utf8), outputByteCount: 32)
            self.hashing = HKDF<SHA256>.deriveKey(inputKeyMaterial: material, info: Data("gridloop phone hash".utf8), outputByteCount: 32)
            let digest = SHA256.hash(data: material.withUnsafeBytes { Data($0) })
            self.id = digest.prefix(4).map { String(format: "%02x", $0) }.joined()
        }
    }

    /// - Parameters:
    ///   - key: 32 bytes as 64 hex digits or base64 (e.g. `openssl rand -hex 32`).
    ///   - previousKey: the key being rotated away from.
    public init(key: String, previousKey: String? = nil) throws(DataKeyError) {
        self.current = Key(try Self.material(key, name: "GRIDLOOP_DATA_KEY"))
        self.previous = try previousKey.flatMap { $0.isEmpty ? nil : $0 }.map { text throws(DataKeyError) in
            Key(try Self.material(text, name: "GRIDLOOP_DATA_PREVIOUS_KEY"))
        }
    }

    /// `value` sealed under the current key.
    public func seal(_ value: String) -> String {
        // AES-GCM with a random nonce cannot fail for in-memory keys of the right size.
        let box = try! AES.GCM.seal(Data(value.utf8), using: current.sealing)
        return "\(Self.prefix)\(current.id):\(box.combined!.base64EncodedString())"
    }

    /// The plain value of something ``seal(_:)`` made (with the current or previous key); a
    /// value that is not sealed (written before encryption) comes back as it is.
    public func open(_ value: String) throws(DataKeyError) -> String {
        guard value.hasPrefix(Self.prefix) else { return value }
        let rest = value.dropFirst(Self.prefix.count).split(separator: ":", maxSplits: 1).map(String.init)
        guard rest.count == 2, let data = Data(base64Encoded: rest[1]) else { throw DataKeyError("a sealed value is malformed") }
        guard let key = [current, previous].compactMap({ $0 }).first(where: { $0.id == rest[0] }) else {
            throw DataKeyError("sealed with key \(rest[0]), which is neither GRIDLOOP_DATA_KEY nor GRIDLOOP_DATA_PREVIOUS_KEY")
        }
        do {
            return String(decoding: try AES.GCM.open(try AES.GCM.SealedBox(combined: data), using: key.sealing), as: UTF8.self)
        } catch {
            throw DataKeyError("a sealed value does not open (altered, or another key with the same id)")
        }
    }

    /// Whether `value` was sealed under the current key (else `gridloop data rekey` re-seals it).
    public func isCurrent(_ value: String) -> Bool { value.hasPrefix("\(Self.prefix)\(current.id):") }

    /// The keyed hash a phone is found by (its digits only, so `138-0000-1234` finds `13800001234`).
    public func phoneHash(_ phone: String) -> String { Self.hash(phone, with: current.hashing) }

    /// The hash under the previous key, during a rotation.
    public func previousPhoneHash(_ phone: String) -> String? { previous.map { Self.hash(phone, with: $0.hashing) } }

    private static func hash(_ phone: String, with key: SymmetricKey) -> String {
        HMAC<SHA256>.authenticationCode(for: Data(phone.filter(\.isNumber).utf8), using: key).map { String(format: "%02x", $0) }.joined()
    }

    private static func material(_ text: String, name: String) throws(DataKeyError) -> SymmetricKey {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.count == 64, trimmed.allSatisfy(\.isHexDigit) {
            var bytes: [UInt8] = []
            var index = trimmed.startIndex
            while index < trimmed.endIndex {
                let next = trimmed.index(index, offsetBy: 2)
                bytes.append(UInt8(trimmed[index..<next], radix: 16)!)
                index = next
            }
            return SymmetricKey(data: bytes)
        }
        if let data = Data(base64Encoded: trimmed), data.count == 32 { return SymmetricKey(data: data) }
        throw DataKeyError("\(name) must be 32 bytes: 64 hex digits or base64 (e.g. `openssl rand -hex 32`)")
    }
}

/// A data key that is missing, malformed or does not open a value.
public struct DataKeyError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Masks personal data for display.
public enum Masking {
    /// `13800001234` → `138****1234`; short numbers are all stars.
    public static func phone(_ phone: String) -> String {
        if isMaskedPhone(phone) { return phone }
        let digits = phone.filter(\.isNumber)
        guard digits.count > 7 else { return String(repeating: "*", count: digits.count) }
        return String(digits.prefix(3)) + String(repeating: "*", count: digits.count - 7) + String(digits.suffix(4))
    }

    /// `崔春花` → `崔**`.
    public static func name(_ name: String) -> String {
        guard let first = name.first else { return "" }
        return String(first) + String(repeating: "*", count: max(0, name.count - 1))
    }

    /// Whether `text` is already a masked phone (`138****1234`).
    public static func isMaskedPhone(_ text: String) -> Bool { text.contains("*") }
}

extension Reporter {
    /// The reporter as it travels in events: the phone masked, and sealed for the services
    /// that must reach the resident (notification's SMS).
    public func protected(by protector: DataProtector) -> Reporter {
        var copy = self
        let sealable = !phone.isEmpty && !Masking.isMaskedPhone(phone)
        copy.phoneSealed = phoneSealed ?? (sealable ? protector.seal(phone) : nil)
        copy.phone = Masking.phone(phone)
        return copy
    }

    /// The resident's phone: opened from `phoneSealed`, or `phone` from a message sent before
    /// phones were sealed (never a masked one).
    public func phoneNumber(using protector: DataProtector) throws(DataKeyError) -> String? {
        if let phoneSealed { return try protector.open(phoneSealed) }
        return Masking.isMaskedPhone(phone) || phone.isEmpty ? nil : phone
    }
}

/// Phones inside message bodies kept for people to inspect (dead letters): every JSON string
/// under a key named `phone` is sealed, and in a body that is not JSON every run that looks
/// like a mobile number; ``open(in:with:)`` reverses it for a replay.
public enum PhoneRedaction {
    /// `body` with its phones sealed (unchanged if it has none).
    public static func seal(in body: [UInt8], with protector: DataProtector) -> [UInt8] {
        transform(body) { value in
            value.hasPrefix(DataProtector.prefix) || Masking.isMaskedPhone(value) || value.isEmpty ? value : protector.seal(value)
        } text: { text in
            sealMobileNumbers(in: text, with: protector)
        }
    }

    /// `body` with the phones ``seal(in:with:)`` sealed opened again (ones that do not open stay sealed).
    public static func open(in body: [UInt8], with protector: DataProtector) -> [UInt8] {
        transform(body) { value in
            (try? protector.open(value)) ?? value
        } text: {
            $0
        }
    }

    private static func transform(_ body: [UInt8], phone: (String) -> String, text: (String) -> String) -> [UInt8] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) else {
            let original = String(decoding: body, as: UTF8.self)
            let changed = text(original)
            return changed == original ? body : Array(changed.utf8)
        }
        var changed = false
        func walk(_ value: Any, key: String?) -> Any {
            if let dictionary = value as? [String: Any] {
                return dictionary.reduce(into: [String: Any]()) { result, pair in result[pair.key] = walk(pair.value, key: pair.key) }
            }
            if let array = value as? [Any] { return array.map { walk($0, key: key) } }
            if let string = value as? String, key?.lowercased() == "phone" {
                let replaced = phone(string)
                if replaced != string { changed = true }
                return replaced
            }
            return value
        }
        let result = walk(object, key: nil)
        guard changed, let data = try? JSONSerialization.data(withJSONObject: result, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return body
        }
        return Array(data)
    }

    /// Mainland mobile numbers (11 digits from 13–19) in free text, sealed.
    static func sealMobileNumbers(in text: String, with protector: DataProtector) -> String {
        var result = ""
        var digits = ""
        func flush() {
            if digits.count == 11, digits.hasPrefix("1"), let second = digits.dropFirst().first, ("3"..."9").contains(second) {
                result += protector.seal(digits)
            } else {
                result += digits
            }
            digits = ""
        }
        for character in text {
            if character.isASCII, character.isNumber {
                digits.append(character)
            } else {
                flush()
                result.append(character)
            }
        }
        flush()
        return result
    }
}
