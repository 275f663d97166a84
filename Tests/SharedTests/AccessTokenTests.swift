import Foundation
import GridLoopAuth
import GridLoopDomain
import Testing

@Suite("Access tokens (JWT) and read scopes")
struct AccessTokenTests {
    static let secret = String(repeating: "s3cret-", count: 6)
    let grid = try! UnitRef(parsing: "grid:guanghua-3")

    func authority(
        _ secret: String = secret,
        previous: String? = nil,
        audience: String = "gridloop",
        issuer: String = "gridloop"
    ) async throws -> TokenAuthority {
        try await TokenAuthority(secret: secret, previousSecret: previous, issuer: issuer, audience: audience)
    }

    static func base64url(_ text: String) -> String { Base64URL.encode(Data(text.utf8)) }

    func refusal(_ token: String, by authority: TokenAuthority, now: Date = Date()) async -> AuthFailure? {
        do {
            _ = try await authority.verify(token, now: now)
            return nil
        } catch {
            return error
        }
    }

    @Test func aFreshTokenProvesItsStaffMember() async throws {
        let authority = try await authority()
        let issued = try await authority.issue(subject: "cui-chunhua", role: "grid-worker", unit: grid)
        let principal = try await authority.verify(issued.token)
        #expect(principal == Principal(id: "cui-chunhua", role: "grid-worker", unit: grid))
        #expect(issued.expiresAt.timeIntervalSinceNow <= 15 * 60 + 1)
        #expect(try await authority.verify(authorization: "Bearer \(issued.token)") == principal)
    }

    @Test func lifetimesAreCappedAtFifteenMinutes() async throws {
        let now = Date()
        let issued = try await authority().issue(
            subject: "a",
            role: "supervisor",
            unit: try UnitRef(parsing: "oversight:zhanyi"),
            lifetime: 86400,
            now: now
        )
        #expect(issued.expiresAt == now.addingTimeInterval(900))
    }

    @Test func anExpiredTokenIsRefused() async throws {
        let authority = try await authority()
        let issued = try await authority.issue(
            subject: "cui-chunhua",
            role: "grid-worker",
            unit: grid,
            lifetime: 60,
            now: Date().addingTimeInterval(-120)
        )
        let failure = await refusal(issued.token, by: authority)
        #expect(failure?.kind == .unauthenticated)
        #expect(failure?.message.contains("expired") == true)
    }

    @Test func algNoneIsRefused() async throws {
        let authority = try await authority()
        let issued = try await authority.issue(subject: "cui-chunhua", role: "grid-worker", unit: grid)
        let payload = issued.token.split(separator: ".")[1]
        for header in [
            #"{"alg":"none","typ":"JWT"}"#, #"{"alg":"none","typ":"JWT","kid":"\#(issued.token.kidForTest)"}"#, #"{"alg":"HS512","typ":"JWT"}"#,
        ] {
            for signature in ["", String(issued.token.split(separator: ".")[2])] {
                let forged = "\(Self.base64url(header)).\(payload).\(signature)"
                let failure = await refusal(forged, by: authority)
                #expect(failure?.kind == .unauthenticated, "accepted \(header) with signature '\(signature.prefix(4))'")
            }
        }
    }

    @Test func aTokenForAnotherAudienceOrIssuerIsRefused() async throws {
        let ours = try await authority()
        let otherAudience = try await authority(audience: "billing").issue(subject: "cui-chunhua", role: "grid-worker", unit: grid)
        #expect(await refusal(otherAudience.token, by: ours)?.message.contains("billing") == true)
        let otherIssuer = try await authority(issuer: "elsewhere").issue(subject: "cui-chunhua", role: "grid-worker", unit: grid)
        #expect(await refusal(otherIssuer.token, by: ours)?.message.contains("elsewhere") == true)
    }

    @Test func aTamperedTokenIsRefused() async throws {
        let authority = try await authority()
        let issued = try await authority.issue(subject: "cui-chunhua", role: "grid-worker", unit: grid)
        let parts = issued.token.split(separator: ".").map(String.init)
        // The same token claiming the supervisor's role, signature unchanged.
        let claims = String(decoding: Base64URL.decode(parts[1])!, as: UTF8.self)
            .replacingOccurrences(of: "grid-worker", with: "supervisor")
        let promoted = [parts[0], Self.base64url(claims), parts[2]].joined(separator: ".")
        #expect(await refusal(promoted, by: authority)?.message.contains("signature") == true)
        // Signed with someone else's secret.
        let foreign = try await self.authority(String(repeating: "x", count: 40)).issue(subject: "cui-chunhua", role: "supervisor", unit: grid)
        #expect(await refusal(foreign.token, by: authority)?.kind == .unauthenticated)
        #expect(await refusal("not-a-token", by: authority)?.kind == .unauthenticated)
        #expect(await refusal("", by: authority)?.kind == .unauthenticated)
    }

    @Test func rotationVerifiesThePreviousSecretButSignsWithTheNewOne() async throws {
        let old = try await authority()
        let oldToken = try await old.issue(subject: "cui-chunhua", role: "grid-worker", unit: grid)
        let newSecret = String(repeating: "n", count: 40)
        let rotated = try await authority(newSecret, previous: Self.secret)
        #expect(try await rotated.verify(oldToken.token).id == "cui-chunhua")
        let newToken = try await rotated.issue(subject: "cui-chunhua", role: "grid-worker", unit: grid)
        #expect(await refusal(newToken.token, by: old) != nil, "the old secret alone does not verify the new one's tokens")
        #expect(
            await refusal(oldToken.token, by: try await authority(newSecret)) != nil,
            "once the previous secret is dropped, its tokens are refused"
        )
    }

    @Test func shortSecretsAndMissingHeadersAreRefused() async throws {
        await #expect(throws: AuthConfigurationError.self) { try await TokenAuthority(secret: "short") }
        let authority = try await authority()
        for header in [nil, "", "Basic abc", "Bearer ", "Token x"] {
            do {
                _ = try await authority.verify(authorization: header)
                Issue.record("accepted \(header ?? "nil")")
            } catch {
                #expect(error.kind == .unauthenticated)
                #expect(error.message.contains("Bearer"))
            }
        }
    }

    @Test func readScopesFollowTheTiers() throws {
        let street = try UnitRef(parsing: "street:xiping")
        let power = try UnitRef(parsing: "district:power-supply")
        let facts = ReadScope.RequestFacts(grid: "guanghua-3", street: "xiping", units: [grid, street])
        let worker = Principal(id: "cui-chunhua", role: "grid-worker", unit: grid)
        let otherWorker = Principal(id: "zhao-hongmei", role: "grid-worker", unit: try UnitRef(parsing: "grid:hongxing-3"))
        let officer = Principal(id: "xu-chunfeng", role: "street-officer", unit: street)
        let otherOfficer = Principal(id: "tao-tao", role: "street-officer", unit: try UnitRef(parsing: "street:longhua"))
        let department = Principal(id: "power-officer-1", role: "department-officer", unit: power)
        let supervisor = Principal(id: "wang-xu", role: "supervisor", unit: try UnitRef(parsing: "oversight:zhanyi"))
        #expect(ReadScope.mayRead(worker, request: facts))
        #expect(!ReadScope.mayRead(otherWorker, request: facts))
        #expect(ReadScope.mayRead(officer, request: facts))
        #expect(ReadScope.mayRead(otherOfficer, request: ReadScope.RequestFacts(grid: "guanghua-3", street: "xiping", units: [grid])) == false)
        #expect(!ReadScope.mayRead(department, request: facts))
        #expect(ReadScope.mayRead(department, request: ReadScope.RequestFacts(grid: "guanghua-3", street: "xiping", units: [grid, street, power])))
        #expect(ReadScope.mayRead(supervisor, request: facts))
        #expect(throws: AuthFailure.forbidden("request r1 is outside the scope of \(otherWorker)")) {
            try ReadScope.requireRead(otherWorker, request: "r1", facts: facts)
        }

        #expect(ReadScope.mayReadStaff(worker, staff: "cui-chunhua", staffUnit: grid, staffStreet: "xiping"))
        #expect(!ReadScope.mayReadStaff(otherWorker, staff: "cui-chunhua", staffUnit: grid, staffStreet: "xiping"))
        #expect(ReadScope.mayReadStaff(officer, staff: "cui-chunhua", staffUnit: grid, staffStreet: "xiping"))
        #expect(!ReadScope.mayReadStaff(otherOfficer, staff: "cui-chunhua", staffUnit: grid, staffStreet: "xiping"))
        #expect(throws: AuthFailure.self) { try ReadScope.requireDistrict(officer, what: "the backlog") }
        #expect(throws: Never.self) { try ReadScope.requireDistrict(supervisor, what: "the backlog") }

        #expect(ReadScope.mayViewContact(worker, currentUnit: street, homeGrid: "guanghua-3"), "the reporter's grid worker")
        #expect(ReadScope.mayViewContact(officer, currentUnit: street, homeGrid: "guanghua-3"), "the current owner")
        #expect(!ReadScope.mayViewContact(otherOfficer, currentUnit: street, homeGrid: "guanghua-3"))
        #expect(!ReadScope.mayViewContact(supervisor, currentUnit: street, homeGrid: "guanghua-3"), "supervisors read masked")
    }
}

extension StringProtocol {
    /// The `kid` of a JWT's header.
    var kidForTest: String {
        let header = Base64URL.decode(split(separator: ".")[0]) ?? Data()
        return (try? JSONSerialization.jsonObject(with: header) as? [String: Any])?["kid"] as? String ?? ""
    }
}
