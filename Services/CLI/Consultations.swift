import ArgumentParser
import Foundation
import GridLoopDomain

/// `gridloop consultations …`: consultations (议事) from routing's `/v1/consultations` with `GRIDLOOP_TOKEN`.
struct Consultations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consultations",
        abstract: "Consultations (议事): put a question to the households of grids, record their positions, the meeting outcome, the result.",
        discussion: """
            Asks routing (GRIDLOOP_ROUTING_URL, default http://127.0.0.1:8083) with GRIDLOOP_TOKEN. Street officers open consultations \\
            for their street's grids (supervisors for any), record the residents' representatives' meeting outcome and close them; grid \\
            staff record their households' positions on visits. Every step is appended to the consultation's hash-chained record \\
            (show --record; gridloop audit verify walks every record).
            """,
        subcommands: [Open.self, List.self, Show.self, Position.self, Meeting.self, Close.self]
    )

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open a consultation for grids (street officers: their street's; supervisors: any)."
        )
        @Option(help: "The question, e.g. 韩家圩20亩集体土地是否出租建农贸市场？") var question: String
        @Option(help: "The question in English.") var questionEn: String?
        @Option(
            name: .customLong("option"),
            help: "An option as id:label[:English label], e.g. yes:同意:Agree; repeat (2–6). Default: yes:同意:Agree and no:不同意:Disagree."
        )
        var options: [String] = []
        @Option(help: "The last day positions are taken, yyyy-MM-dd.") var ends: String
        @Option(help: "The rule: the share of ALL the households an option needs, num/den.") var rule = "2/3"
        @Option(help: "All grids of this street (a street officer's own by default).") var street: String?
        @Option(name: .customLong("grid"), help: "A grid; repeat for several.") var grids: [String] = []
        @Option(help: "Only grids of this kind (residents, compound, merchants, enterprises, institutions).") var kind: String?

        func run() async throws {
            let given = options.isEmpty ? ["yes:同意:Agree", "no:不同意:Disagree"] : options
            var parsed: [[String: Any]] = []
            for option in given {
                let parts = option.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
                guard parts.count >= 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw CLIFailure("--option '\(option)': id:label[:English label], e.g. yes:同意:Agree")
                }
                var entry: [String: Any] = ["id": parts[0], "label": parts[1]]
                if parts.count == 3, !parts[2].isEmpty { entry["labelEn"] = parts[2] }
                parsed.append(entry)
            }
            var body: [String: Any] = ["question": question, "options": parsed, "endsOn": ends, "rule": rule]
            if let questionEn { body["questionEn"] = questionEn }
            if let street { body["street"] = street }
            if !grids.isEmpty { body["grids"] = grids }
            if let kind { body["kind"] = kind }
            let consultation = try Consultations.object(
                try await ServiceHTTP.routing.call(.POST, "/v1/consultations", json: body, what: "the consultation")
            )
            print(
                "opened \(consultation["id"] ?? "?"): \(consultation["question"] ?? "") — \(Consultations.households(consultation)) households in "
                    + "\((consultation["grids"] as? [String] ?? []).joined(separator: ", ")), rule \(consultation["rule"] ?? "?") "
                    + "(\(consultation["needed"] ?? "?") needed), until \(consultation["endsOn"] ?? "?")"
            )
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The consultations that reach you, with their tallies.")
        @Flag(help: "Print routing's JSON.") var json = false

        func run() async throws {
            let bytes = try await ServiceHTTP.routing.call(.GET, "/v1/consultations", what: "the consultations")
            if json { return print(String(decoding: bytes, as: UTF8.self)) }
            let consultations = try JSONSerialization.jsonObject(with: Data(bytes)) as? [[String: Any]] ?? []
            if consultations.isEmpty { print("no consultations") }
            for consultation in consultations {
                print(
                    "\(consultation["id"] ?? "?")  \(consultation["state"] ?? "?")  \(consultation["question"] ?? "")  "
                        + "until \(consultation["endsOn"] ?? "?")  \(Consultations.summary(consultation))"
                )
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A consultation: its tally per grid, concerns, your grid's households; or its record."
        )
        @Argument(help: "The consultation's id.") var consultation: String
        @Flag(help: "Print routing's JSON.") var json = false
        @Flag(help: "Print the hash-chained record and recompute it here.") var record = false

        func run() async throws {
            let id = try Consultations.id(consultation)
            if record { return try await showRecord(id) }
            let bytes = try await ServiceHTTP.routing.call(.GET, "/v1/consultations/\(id)", what: "the consultation")
            if json { return print(String(decoding: bytes, as: UTF8.self)) }
            let view = try Consultations.object(bytes)
            print("\(view["id"] ?? "?")  \(view["state"] ?? "?")  \(view["question"] ?? "")")
            let options = view["options"] as? [[String: Any]] ?? []
            print("options: " + options.map { "\($0["id"] ?? "?") (\($0["label"] ?? ""))" }.joined(separator: ", "))
            print("until \(view["endsOn"] ?? "?"), rule \(view["rule"] ?? "?"): \(Consultations.summary(view))")
            let tally = view["tally"] as? [String: Any] ?? [:]
            for grid in tally["grids"] as? [[String: Any]] ?? [] {
                print("  \(grid["key"] ?? "?")  \(Consultations.counts(grid))")
            }
            for concern in view["concerns"] as? [[String: Any]] ?? [] {
                print("  concern  \(concern["householdId"] ?? "?") (\(concern["option"] ?? "?")): \(concern["concerns"] ?? "")")
            }
            for household in view["households"] as? [[String: Any]] ?? [] {
                let concerns = (household["concerns"] as? String).map { " — \($0)" } ?? ""
                print("  \(household["id"] ?? "?")  \(household["address"] ?? "")  \(household["option"] as? String ?? "no position yet")\(concerns)")
            }
            if let meeting = view["meeting"] as? [String: Any] {
                print("meeting \(meeting["on"] ?? "?"): \(meeting["outcome"] ?? "")")
            }
            if view["state"] as? String == "closed" {
                let result = view["result"] as? String ?? "none (the rule was not reached)"
                print("closed \(view["closedAt"] ?? "?") by \(view["closedBy"] ?? "?"): result \(result)")
            }
        }

        /// Prints the record and recomputes its chain from what routing gave.
        func showRecord(_ id: String) async throws {
            let bytes = try await ServiceHTTP.routing.call(.GET, "/v1/consultations/\(id)/record", what: "the record")
            if json { print(String(decoding: bytes, as: UTF8.self)) }
            let rows = try JSONSerialization.jsonObject(with: Data(bytes)) as? [[String: Any]] ?? []
            var links: [RecordLink] = []
            for row in rows {
                guard let seq = row["seq"] as? Int, let kind = row["kind"] as? String, let body = row["body"] as? String,
                    let millis = (row["atMillis"] as? NSNumber)?.int64Value, let previous = row["prevHash"] as? String,
                    let hash = row["hash"] as? String
                else { throw CLIFailure("routing's record of \(id) has an entry without seq, kind, body, atMillis, prevHash or hash") }
                let at = Date(timeIntervalSince1970: Double(millis) / 1000)
                links.append(RecordLink(entry: RecordEntry(chain: id, seq: seq, kind: kind, body: body, at: at), previousHash: previous, hash: hash))
                if !json { print("\(seq)  \(Timestamp.format(at))  \(kind)  \(body)  \(hash.prefix(12))") }
            }
            if let broken = RecordChain.verify(links) { throw CLIFailure("the record of consultation \(broken) — it does not verify") }
            if !json { print("record: \(links.count) entries, the chain intact") }
        }
    }

    struct Position: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a household's position (your grid's households; the latest counts).")
        @Argument(help: "The consultation's id.") var consultation: String
        @Option(help: "The household's id.") var household: String
        @Option(help: "The option the household holds (its id, e.g. yes).") var option: String
        @Option(help: "Concerns the household voiced.") var concerns: String?

        func run() async throws {
            let id = try Consultations.id(consultation)
            var body: [String: Any] = ["householdId": household, "option": option]
            if let concerns { body["concerns"] = concerns }
            let view = try Consultations.object(
                try await ServiceHTTP.routing.call(.POST, "/v1/consultations/\(id)/positions", json: body, what: "the position")
            )
            print("\(household): \(option); \(Consultations.summary(view))")
        }
    }

    struct Meeting: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record the residents' representatives' meeting outcome (street officers, supervisors)."
        )
        @Argument(help: "The consultation's id.") var consultation: String
        @Option(help: "What the meeting decided.") var outcome: String
        @Option(help: "The day it was held, yyyy-MM-dd (today by default).") var heldOn: String?

        func run() async throws {
            let id = try Consultations.id(consultation)
            var body: [String: Any] = ["outcome": outcome]
            if let heldOn { body["heldOn"] = heldOn }
            let view = try Consultations.object(
                try await ServiceHTTP.routing.call(.POST, "/v1/consultations/\(id)/meeting", json: body, what: "the meeting outcome")
            )
            let meeting = view["meeting"] as? [String: Any] ?? [:]
            print("meeting \(meeting["on"] ?? "?") recorded: \(meeting["outcome"] ?? "")")
        }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Close a consultation: its result is the option that reached the rule (street officers, supervisors)."
        )
        @Argument(help: "The consultation's id.") var consultation: String

        func run() async throws {
            let id = try Consultations.id(consultation)
            let view = try Consultations.object(try await ServiceHTTP.routing.call(.POST, "/v1/consultations/\(id)/close", what: "the close"))
            print("closed \(id): result \(view["result"] as? String ?? "none (the rule was not reached)"); \(Consultations.summary(view))")
        }
    }

    static func id(_ text: String) throws -> String {
        guard UUID(uuidString: text) != nil else { throw CLIFailure("'\(text)' is not a consultation id (gridloop consultations list)") }
        return text.lowercased()
    }

    static func object(_ bytes: [UInt8]) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw CLIFailure("routing's answer is not a consultation")
        }
        return object
    }

    /// The households consulted.
    static func households(_ view: [String: Any]) -> Int {
        ((view["tally"] as? [String: Any])?["all"] as? [String: Any])?["households"] as? Int ?? 0
    }

    /// `positions/households, yes 6 no 2` of one tally row.
    static func counts(_ row: [String: Any]) -> String {
        let byOption = (row["byOption"] as? [String: Any] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        return "positions \(row["positions"] as? Int ?? 0)/\(row["households"] as? Int ?? 0)  " + byOption.joined(separator: " ")
    }

    /// The whole tally, what one option needs and what it reached.
    static func summary(_ view: [String: Any]) -> String {
        let all = (view["tally"] as? [String: Any])?["all"] as? [String: Any] ?? [:]
        let reached = (view["reached"] as? String).map { "reached: \($0)" } ?? "not reached"
        return "\(counts(all))  (\(view["needed"] ?? "?") needed: \(reached))"
    }
}
