import ArgumentParser
import AsyncHTTPClient
import Foundation
import GridLoopAuth
import GridLoopDomain
import GridLoopServiceSupport
import NIOCore

extension Staff {
    /// `gridloop staff inbox [--unit tier:id] --staff ID`: a unit's open work, from routing's
    /// `GET /v1/inbox` with the staff member's token.
    struct InboxList: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "inbox",
            abstract: "List a unit's open work: requests it holds and summonses it must answer, with their deadlines.",
            discussion: """
                Asks routing (GRIDLOOP_ROUTING_URL, default http://127.0.0.1:8083) with GRIDLOOP_TOKEN: \
                your own unit's inbox, or --unit's if you are a supervisor. Overdue items come first.
                """
        )

        @Option(help: "Your staff id (checked against GRIDLOOP_TOKEN).") var staff: String?
        @Option(help: "The unit, e.g. grid:guanghua-3 (default: your own).") var unit: String?
        @Option(help: "Only these states, comma-separated: assigned, claimed, resolved, summoned, acknowledged.") var state: String?
        @Option(help: "Only this category.") var category: String?
        @Flag(help: "Only overdue items.") var overdue = false
        @Flag(help: "Only what you claimed.") var mine = false
        @Option(help: "Items to list (1–200).") var limit = 50
        @Flag(help: "Print routing's JSON page.") var json = false

        func run() async throws {
            let token = try CLIEnvironment.staffToken()
            if let staff, let subject = AccessClaims.unverifiedSubject(of: token), subject != staff {
                throw CLIFailure("GRIDLOOP_TOKEN is \(subject)'s, not \(staff)'s")
            }
            var items: [URLQueryItem] = [URLQueryItem(name: "limit", value: String(limit))]
            if let unit { items.append(URLQueryItem(name: "unit", value: unit)) }
            if let state { items.append(URLQueryItem(name: "state", value: state)) }
            if let category { items.append(URLQueryItem(name: "category", value: category)) }
            if overdue { items.append(URLQueryItem(name: "overdue", value: "true")) }
            if mine { items.append(URLQueryItem(name: "mine", value: "true")) }
            let bytes = try await ServiceHTTP.routing.call(.GET, "/v1/inbox", query: items, what: "the inbox")
            if json {
                print(String(decoding: bytes, as: UTF8.self))
                return
            }
            let page: StaffInbox.Page
            do { page = try WireJSON.decode(StaffInbox.Page.self, from: bytes) } catch {
                throw CLIFailure("routing's answer is not an inbox page: \(error)")
            }
            print(Self.table(page, now: Date()))
        }

        /// The page as a table: one line an item, deadlines as time left.
        static func table(_ page: StaffInbox.Page, now: Date) -> String {
            let states = page.counts.byState.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            var lines = [
                "\(page.unit): \(page.counts.total) open (\(states.isEmpty ? "none" : states)); \(page.counts.overdue) overdue, \(page.counts.warning) near their deadline; \(page.matching) listed by the filter"
            ]
            guard !page.items.isEmpty else { return lines.joined(separator: "\n") }
            lines.append(["REQUEST", "KIND", "STATE", "CATEGORY", "PLACE", "AGE", "DUE", "FLAGS", "DESCRIPTION"].joined(separator: "\t"))
            for item in page.items {
                let due = item.claimDueAt ?? item.resolveDueAt
                var flags: [String] = []
                if item.overdue { flags.append("OVERDUE") } else if item.warning { flags.append("warning") }
                if let duplicate = item.possibleDuplicateOf { flags.append("duplicate-of:\(duplicate)") }
                if item.incidentId != nil { flags.append("incident") }
                if let claimed = item.claimedBy { flags.append("by:\(claimed)") }
                let place = item.householdId ?? item.address ?? item.gridId ?? "-"
                let description = item.description.count > 40 ? String(item.description.prefix(39)) + "…" : item.description
                lines.append(
                    [
                        item.requestId, item.kind.rawValue, item.state.rawValue, item.category, place, Self.span(item.ageSeconds),
                        due.map { Self.left(until: $0, now: now) } ?? "-", flags.isEmpty ? "-" : flags.joined(separator: ","),
                        description.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\t", with: " "),
                    ].joined(separator: "\t")
                )
            }
            if let next = page.next {
                lines.append(
                    "more: \(page.matching - page.items.count) further items (cursor \(next); narrow with --state, --category, --overdue, --mine)"
                )
            }
            return lines.joined(separator: "\n")
        }

        /// "2h05m", "45s".
        static func span(_ seconds: Int) -> String {
            let seconds = max(seconds, 0)
            if seconds >= 86_400 { return "\(seconds / 86_400)d\(String(format: "%02d", seconds % 86_400 / 3600))h" }
            if seconds >= 3600 { return "\(seconds / 3600)h\(String(format: "%02d", seconds % 3600 / 60))m" }
            if seconds >= 60 { return "\(seconds / 60)m" }
            return "\(seconds)s"
        }

        /// Time left until `due`, or how late it is ("late 12m").
        static func left(until due: Date, now: Date) -> String {
            let seconds = Int(due.timeIntervalSince(now).rounded())
            return seconds >= 0 ? "in \(span(seconds))" : "late \(span(-seconds))"
        }
    }
}
