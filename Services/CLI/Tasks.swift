import ArgumentParser
import Foundation

/// `gridloop tasks …`: proactive tasks (未诉先办) from routing's `/v1/tasks` with `GRIDLOOP_TOKEN`.
struct Tasks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Proactive tasks (未诉先办): open one for grids, list them with coverage, mark a household checked.",
        discussion: """
            Asks routing (GRIDLOOP_ROUTING_URL, default http://127.0.0.1:8083) with GRIDLOOP_TOKEN. A hazard found is reported as a \\
            request of the household with the task's id: gridloop submit … --task ID (or the web form from the task's page).
            """,
        subcommands: [Open.self, List.self, Check.self]
    )

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open a task for grids (street officers: their street's; supervisors: any).")
        @Option(help: "What to check, e.g. 雨季前入户检查电线.") var title: String
        @Option(help: "More detail.") var description: String?
        @Option(help: "The category a hazard found is reported under, e.g. power.") var category: String
        @Option(help: "Due day, yyyy-MM-dd.") var due: String
        @Option(help: "All grids of this street (a street officer's own by default).") var street: String?
        @Option(name: .customLong("grid"), help: "A grid; repeat for several.") var grids: [String] = []
        @Option(help: "Only grids of this kind (residents, compound, merchants, enterprises, institutions).") var kind: String?

        func run() async throws {
            var body: [String: Any] = ["title": title, "category": category, "dueOn": due]
            if let description { body["description"] = description }
            if let street { body["street"] = street }
            if !grids.isEmpty { body["grids"] = grids }
            if let kind { body["kind"] = kind }
            let task = try Tasks.object(try await ServiceHTTP.routing.call(.POST, "/v1/tasks", json: body, what: "the task"))
            print("opened \(task["id"] ?? "?"): \(task["title"] ?? "") — \(Tasks.coverage(task)) households, due \(task["dueOn"] ?? "?")")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The tasks that reach you, with coverage (checked / households).")
        @Flag(help: "Print routing's JSON.") var json = false

        func run() async throws {
            let bytes = try await ServiceHTTP.routing.call(.GET, "/v1/tasks", what: "the tasks")
            if json { return print(String(decoding: bytes, as: UTF8.self)) }
            let tasks = try JSONSerialization.jsonObject(with: Data(bytes)) as? [[String: Any]] ?? []
            if tasks.isEmpty { print("no tasks") }
            for task in tasks { print("\(task["id"] ?? "?")  \(task["title"] ?? "")  due \(task["dueOn"] ?? "?")  checked \(Tasks.coverage(task))") }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mark a household of your grid checked, nothing wrong.")
        @Argument(help: "The task's id.") var task: String
        @Option(help: "The household's id.") var household: String
        @Option(help: "What you saw.") var note: String?

        func run() async throws {
            guard UUID(uuidString: task) != nil else { throw CLIFailure("'\(task)' is not a task id (gridloop tasks list)") }
            var body: [String: Any] = ["householdId": household]
            if let note { body["note"] = note }
            let answer = try Tasks.object(
                try await ServiceHTTP.routing.call(.POST, "/v1/tasks/\(task.lowercased())/checks", json: body, what: "the check")
            )
            print("\(household) checked; \(answer["title"] ?? "the task"): \(Tasks.coverage(answer))")
        }
    }

    static func object(_ bytes: [UInt8]) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw CLIFailure("routing's answer is not a task")
        }
        return object
    }

    /// `checked/households (percent)` of the whole task.
    static func coverage(_ task: [String: Any]) -> String {
        let all = (task["coverage"] as? [String: Any])?["all"] as? [String: Any] ?? [:]
        let percent = Int(((all["coverage"] as? Double) ?? 0) * 100)
        return "\(all["checked"] as? Int ?? 0)/\(all["households"] as? Int ?? 0) (\(percent)%)"
    }
}
