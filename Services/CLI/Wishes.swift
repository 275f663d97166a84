import ArgumentParser
import Foundation

/// `gridloop wishes …`: micro-wishes (微心愿) from routing's `/v1/wishes` with `GRIDLOOP_TOKEN`.
struct Wishes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wishes",
        abstract: "Micro-wishes (微心愿): collect a household's wish, record it adopted and fulfilled, confirm it with the resident.",
        discussion: """
            Asks routing (GRIDLOOP_ROUTING_URL, default http://127.0.0.1:8083) with GRIDLOOP_TOKEN. A wish goes collected → adopted → \\
            fulfilled → confirmed: the household's grid staff collect and confirm it; its grid's staff, an officer of its street or a \\
            supervisor record it adopted and fulfilled. Kinds: meal, care, study, repair, other.
            """,
        subcommands: [Collect.self, List.self, Show.self, Adopt.self, Fulfil.self, Confirm.self, Clusters.self]
    )

    struct Collect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Collect a wish of a household of your grid.")
        @Option(help: "The household's id.") var household: String
        @Option(help: "meal, care, study, repair or other.") var kind: String
        @Option(help: "The wish, 1–500 characters, e.g. 希望每天有人送一份热午饭.") var text: String

        func run() async throws {
            let body: [String: Any] = ["householdId": household, "kind": kind, "text": text]
            let wish = try Wishes.object(try await ServiceHTTP.routing.call(.POST, "/v1/wishes", json: body, what: "the wish"))
            print("collected \(wish["id"] ?? "?"): \(Wishes.line(wish))")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The wishes you reach (your grid's, your street's, or all), newest first.")
        @Option(help: "Only wishes in this state (collected, adopted, fulfilled, confirmed).") var state: String?
        @Option(help: "Only wishes of this kind.") var kind: String?
        @Option(help: "Only this grid's.") var grid: String?
        @Option(help: "Only this street's.") var street: String?
        @Flag(help: "Print routing's JSON.") var json = false

        func run() async throws {
            let query = [("state", state), ("kind", kind), ("grid", grid), ("street", street)].compactMap { name, value in
                value.map { URLQueryItem(name: name, value: $0) }
            }
            let bytes = try await ServiceHTTP.routing.call(.GET, "/v1/wishes", query: query, what: "the wishes")
            if json { return print(String(decoding: bytes, as: UTF8.self)) }
            let wishes = try JSONSerialization.jsonObject(with: Data(bytes)) as? [[String: Any]] ?? []
            if wishes.isEmpty { print("no wishes") }
            for wish in wishes { print("\(wish["id"] ?? "?")  \(Wishes.line(wish))") }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One wish with each step's who and when.")
        @Argument(help: "The wish's id.") var wish: String
        @Flag(help: "Print routing's JSON.") var json = false

        func run() async throws {
            let bytes = try await ServiceHTTP.routing.call(.GET, "/v1/wishes/\(try Wishes.id(wish))", what: "the wish")
            if json { return print(String(decoding: bytes, as: UTF8.self)) }
            let wish = try Wishes.object(bytes)
            print("\(wish["id"] ?? "?")  \(Wishes.line(wish))")
            print(
                "  household \(wish["householdId"] ?? "?")  \(wish["address"] ?? "")  (grid \(wish["grid"] ?? "?"), street \(wish["street"] ?? "?"))"
            )
            print("  collected by \(wish["collectedBy"] ?? "?") at \(wish["collectedAt"] ?? "?")")
            if let adopter = wish["adopterName"] {
                print(
                    "  adopted by \(adopter) (\(wish["adopterKind"] ?? "?")), recorded by \(wish["adoptedBy"] ?? "?") at \(wish["adoptedAt"] ?? "?")"
                )
            }
            if let fulfilled = wish["fulfilledAt"] {
                print("  fulfilled at \(fulfilled), recorded by \(wish["fulfilledBy"] ?? "?"): \(wish["fulfilmentNote"] ?? "")")
            }
            if let confirmed = wish["confirmedAt"] {
                let feedback = (wish["residentFeedback"] as? String).map { ": \($0)" } ?? ""
                print("  confirmed with the resident at \(confirmed) by \(wish["confirmedBy"] ?? "?")\(feedback)")
            }
            if let next = wish["next"] { print("  next: \(next) (version \(wish["version"] ?? "?"))") }
        }
    }

    struct Adopt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record who adopted a wish (a unit, an enterprise or a volunteer).")
        @Argument(help: "The wish's id.") var wish: String
        @Option(help: "unit, enterprise or volunteer.") var adopterKind: String
        @Option(help: "Who, e.g. 韩家圩农贸市场.") var adopterName: String
        @Option(help: "The version you saw (refused if the wish moved since).") var version: Int?

        func run() async throws {
            var body: [String: Any] = ["adopterKind": adopterKind, "adopterName": adopterName]
            if let version { body["version"] = version }
            try await Wishes.step(wish, "adopt", body)
        }
    }

    struct Fulfil: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a wish fulfilled: what was done.")
        @Argument(help: "The wish's id.") var wish: String
        @Option(help: "What was done, 1–500 characters.") var note: String
        @Option(help: "The version you saw (refused if the wish moved since).") var version: Int?

        func run() async throws {
            var body: [String: Any] = ["note": note]
            if let version { body["version"] = version }
            try await Wishes.step(wish, "fulfil", body)
        }
    }

    struct Confirm: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Confirm a fulfilled wish with the resident (your grid's households).")
        @Argument(help: "The wish's id.") var wish: String
        @Option(help: "What the resident said.") var feedback: String?
        @Option(help: "The version you saw (refused if the wish moved since).") var version: Int?

        func run() async throws {
            var body: [String: Any] = [:]
            if let feedback { body["feedback"] = feedback }
            if let version { body["version"] = version }
            try await Wishes.step(wish, "confirm", body)
        }
    }

    struct Clusters: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Similar wishes per street and kind (listed from ROUTING_WISH_CLUSTER_MIN wishes).")
        @Option(help: "Only this street's.") var street: String?
        @Flag(help: "Print routing's JSON.") var json = false

        func run() async throws {
            let query = street.map { [URLQueryItem(name: "street", value: $0)] } ?? []
            let bytes = try await ServiceHTTP.routing.call(.GET, "/v1/wishes/clusters", query: query, what: "the clusters")
            if json { return print(String(decoding: bytes, as: UTF8.self)) }
            let answer = try Wishes.object(bytes)
            let clusters = answer["clusters"] as? [[String: Any]] ?? []
            if clusters.isEmpty { print("no street has \(answer["minimum"] ?? "?") wishes of a kind yet") }
            for cluster in clusters {
                let grids = (cluster["grids"] as? [String: Int] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                print(
                    "\(cluster["streetName"] ?? cluster["street"] ?? "?") × \(cluster["label"] ?? "?") (\(cluster["kind"] ?? "?")): "
                        + "\(cluster["total"] ?? 0) wishes, \(cluster["open"] ?? 0) open — \(grids.joined(separator: ", "))"
                )
            }
        }
    }

    /// Posts step `verb` of `wish` and prints the wish as it is now.
    static func step(_ wish: String, _ verb: String, _ body: [String: Any]) async throws {
        let answer = try object(try await ServiceHTTP.routing.call(.POST, "/v1/wishes/\(try id(wish))/\(verb)", json: body, what: "the \(verb)"))
        print("\(answer["id"] ?? "?")  \(line(answer))")
    }

    /// A wish id, lowercased, or a failure saying where ids come from.
    static func id(_ text: String) throws -> String {
        guard UUID(uuidString: text) != nil else { throw CLIFailure("'\(text)' is not a wish id (gridloop wishes list)") }
        return text.lowercased()
    }

    static func object(_ bytes: [UInt8]) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw CLIFailure("routing's answer is not a wish")
        }
        return object
    }

    /// `state  kind  household  text  (adopter)`.
    static func line(_ wish: [String: Any]) -> String {
        let adopter = (wish["adopterName"] as? String).map { "  ← \($0)" } ?? ""
        return "\(wish["stateLabel"] ?? wish["state"] ?? "?")  \(wish["kindLabel"] ?? wish["kind"] ?? "?")  \(wish["householdId"] ?? "?")  "
            + "\(wish["text"] ?? "")\(adopter)"
    }
}
