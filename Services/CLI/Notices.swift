import ArgumentParser
import Foundation

/// `gridloop notices …`: policy notices (上情下达) from routing's `/v1/notices` with `GRIDLOOP_TOKEN`.
struct Notices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notices",
        abstract: "Policy notices (上情下达): publish one to grids, list them with coverage, record a household informed.",
        discussion: """
            Asks routing (GRIDLOOP_ROUTING_URL, default http://127.0.0.1:8083) with GRIDLOOP_TOKEN. Street officers publish to their \
            street's grids, supervisors to any; each grid's staff inform their households (on a visit, by phone, or by an SMS whose \
            confirm link the resident taps). Grids lagging near the due day are reminded, and after it their street is alerted.
            """,
        subcommands: [Publish.self, List.self, Show.self, Inform.self]
    )

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish a notice to grids (street officers: their street's; supervisors: any).",
            discussion: """
                The grids: --grid (repeat), else all of --street (a street officer's own by default), else the district's; \
                --kind keeps those of one kind. Example: gridloop notices publish --title 疫情防控告知书 --body-file notice.txt \
                --kind merchants --due 2026-12-20 --attachment "告知书全文=https://example.org/notice.pdf"
                """
        )
        @Option(help: "The title, e.g. 疫情防控告知书.") var title: String
        @Option(name: .customLong("title-en"), help: "The title in English.") var titleEn: String?
        @Option(help: "The text to tell every household.") var body: String?
        @Option(name: .customLong("body-file"), help: "Read the text from this file instead of --body.") var bodyFile: String?
        @Option(name: .customLong("body-en"), help: "The text in English.") var bodyEn: String?
        @Option(name: .customLong("attachment"), help: "An attachment as NAME=URL (http or https); repeat for several.") var attachments: [String] =
            []
        @Option(help: "The last local day to inform by, yyyy-MM-dd.") var due: String
        @Option(help: "All grids of this street (a street officer's own by default).") var street: String?
        @Option(name: .customLong("grid"), help: "A grid; repeat for several.") var grids: [String] = []
        @Option(help: "Only grids of this kind (residents, compound, merchants, enterprises, institutions).") var kind: String?

        func run() async throws {
            let text: String
            switch (body, bodyFile) {
            case (let body?, nil): text = body
            case (nil, let path?):
                do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                    throw CLIFailure("cannot read --body-file '\(path)': \(error)")
                }
            default: throw CLIFailure("give the notice's text with --body or --body-file (one of them)")
            }
            var links: [[String: String]] = []
            for attachment in attachments {
                guard let split = attachment.firstIndex(of: "="), split != attachment.startIndex else {
                    throw CLIFailure("--attachment '\(attachment)' is not NAME=URL")
                }
                links.append(["name": String(attachment[..<split]), "url": String(attachment[attachment.index(after: split)...])])
            }
            var json: [String: Any] = ["title": title, "body": text, "dueOn": due]
            if let titleEn { json["titleEn"] = titleEn }
            if let bodyEn { json["bodyEn"] = bodyEn }
            if !links.isEmpty { json["attachments"] = links }
            if let street { json["street"] = street }
            if !grids.isEmpty { json["grids"] = grids }
            if let kind { json["kind"] = kind }
            let notice = try Notices.object(try await ServiceHTTP.routing.call(.POST, "/v1/notices", json: json, what: "the notice"))
            let reached = (notice["grids"] as? [String] ?? []).joined(separator: ", ")
            print(
                "published \(notice["id"] ?? "?"): \(notice["title"] ?? "") — to \(reached); informed \(Notices.coverage(notice)), "
                    + "due \(notice["dueOn"] ?? "?")"
            )
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The notices that reach you, with coverage (informed / households).")
        @Flag(help: "Print routing's JSON.") var json = false

        func run() async throws {
            let bytes = try await ServiceHTTP.routing.call(.GET, "/v1/notices", what: "the notices")
            if json { return print(String(decoding: bytes, as: UTF8.self)) }
            let notices = try JSONSerialization.jsonObject(with: Data(bytes)) as? [[String: Any]] ?? []
            if notices.isEmpty { print("no notices") }
            for notice in notices {
                print("\(notice["id"] ?? "?")  \(notice["title"] ?? "")  due \(notice["dueOn"] ?? "?")  informed \(Notices.coverage(notice))")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One notice: its text, coverage per grid and street, and (grid staff) your grid's households."
        )
        @Argument(help: "The notice's id.") var notice: String
        @Flag(help: "Print routing's JSON.") var json = false

        func run() async throws {
            guard UUID(uuidString: notice) != nil else { throw CLIFailure("'\(notice)' is not a notice id (gridloop notices list)") }
            let bytes = try await ServiceHTTP.routing.call(.GET, "/v1/notices/\(notice.lowercased())", what: "the notice")
            if json { return print(String(decoding: bytes, as: UTF8.self)) }
            let view = try Notices.object(bytes)
            print("\(view["title"] ?? "")  (\(view["publishedBy"] ?? "?"), \(view["publishedByUnit"] ?? "?"))  due \(view["dueOn"] ?? "?")")
            print(view["body"] as? String ?? "")
            for attachment in view["attachments"] as? [[String: Any]] ?? [] {
                print("  📎 \(attachment["name"] ?? "")  \(attachment["url"] ?? "")")
            }
            let coverage = view["coverage"] as? [String: Any] ?? [:]
            print("informed \(Notices.coverage(view))")
            for row in (coverage["streets"] as? [[String: Any]] ?? []) + (coverage["grids"] as? [[String: Any]] ?? []) {
                print("  \(row["key"] ?? "?")  \(Notices.row(row))")
            }
            for household in view["households"] as? [[String: Any]] ?? [] {
                let how =
                    if household["informed"] as? Bool == true {
                        "informed (\(household["via"] ?? "?"), \(household["informedBy"] ?? "?"), \(household["informedAt"] ?? ""))"
                    } else if let sent = household["smsSentAt"] {
                        "SMS sent \(sent), not confirmed yet"
                    } else {
                        "not informed"
                    }
                print("  \(household["id"] ?? "?")  \(household["address"] ?? "")  \(how)")
            }
        }
    }

    struct Inform: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a household of your grid informed (on a visit or by phone), or send it the notice by SMS.",
            discussion: """
                --via sms needs --phone (the resident's mainland mobile number): the resident gets the notice with a confirm link, \
                and the household counts informed once they tap it. The number is sent sealed and not kept.
                """
        )
        @Argument(help: "The notice's id.") var notice: String
        @Option(help: "The household's id.") var household: String
        @Option(help: "How: visit, phone or sms.") var via: String
        @Option(help: "The resident's mobile number (with --via sms).") var phone: String?
        @Option(help: "The SMS's language: zh (default) or en.") var language: String?
        @Option(help: "What the household said.") var note: String?

        func run() async throws {
            guard UUID(uuidString: notice) != nil else { throw CLIFailure("'\(notice)' is not a notice id (gridloop notices list)") }
            guard ["visit", "phone", "sms"].contains(via) else { throw CLIFailure("--via must be visit, phone or sms, not '\(via)'") }
            if via == "sms", phone == nil { throw CLIFailure("--via sms needs --phone (the resident's mobile number)") }
            var json: [String: Any] = ["householdId": household, "via": via]
            if let phone { json["phone"] = phone }
            if let language { json["language"] = language }
            if let note { json["note"] = note }
            let answer = try Notices.object(
                try await ServiceHTTP.routing.call(.POST, "/v1/notices/\(notice.lowercased())/informs", json: json, what: "the inform")
            )
            let outcome = via == "sms" ? "sent the notice by SMS (counts once the resident confirms)" : "informed (\(via))"
            print("\(household) \(outcome); \(answer["title"] ?? "the notice"): \(Notices.coverage(answer))")
        }
    }

    static func object(_ bytes: [UInt8]) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw CLIFailure("routing's answer is not a notice")
        }
        return object
    }

    /// `informed/households (percent), N on time` of the whole notice.
    static func coverage(_ notice: [String: Any]) -> String {
        row((notice["coverage"] as? [String: Any])?["all"] as? [String: Any] ?? [:])
    }

    /// `informed/households (percent), N on time` of one coverage row (`checked` counts the informed).
    static func row(_ row: [String: Any]) -> String {
        let percent = Int(((row["coverage"] as? Double) ?? 0) * 100)
        return "\(row["checked"] as? Int ?? 0)/\(row["households"] as? Int ?? 0) (\(percent)%), \(row["onTime"] as? Int ?? 0) on time"
    }
}
