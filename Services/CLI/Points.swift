import ArgumentParser
import AsyncHTTPClient
import Foundation
import GridLoopDomain
import NIOCore
import NIOHTTP1

/// `gridloop points …`: green points and the love supermarket (绿币爱心超市) from routing's
/// `/v1/points` with `GRIDLOOP_TOKEN`.
struct Points: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "points",
        abstract: "Green points and the love supermarket (绿币爱心超市): scores, statements, goods, donations, redemptions.",
        discussion: """
            Asks routing (GRIDLOOP_ROUTING_URL, default http://127.0.0.1:8083) with GRIDLOOP_TOKEN. Each month a household is scored \\
            on five items (遵纪守法、热心公益、环境整洁、家风文明、勤劳致富, 0–10 each by default); the household earns the sum as points \\
            and each grid worker of its grid earns a share (10% by default, rounded down per household). Households spend points on \\
            goods donated to their street's love supermarket.
            """,
        subcommands: [Score.self, Statement.self, Goods.self, Donate.self, Redeem.self]
    )

    struct Score: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enter a month's scores: a CSV sheet, or one household (grid staff: their grid; street officers: their street's).",
            discussion: """
                The sheet's header: \(GreenPointSheet.header) (the items also by their English names). All rows are valid or \\
                none is written. A household scored again that month is corrected: its earlier points (and its worker's) are \\
                reversed in the ledger and earned anew.
                """
        )
        @Option(help: "The month, yyyy-MM.") var month: String
        @Option(help: "A CSV score sheet (UTF-8).") var file: String?
        @Option(help: "One household's id (with --items).") var household: String?
        @Option(help: "Its five items' scores, e.g. 8,9,7,10,6 (遵纪守法,热心公益,环境整洁,家风文明,勤劳致富).") var items: String?
        @Flag(help: "Print routing's JSON.") var json = false

        func validate() throws {
            guard (file == nil) != (household == nil) else { throw ValidationError("give --file, or --household with --items") }
            if household != nil, items == nil { throw ValidationError("--household needs --items, e.g. --items 8,9,7,10,6") }
            if file != nil, items != nil { throw ValidationError("--items goes with --household, not --file") }
        }

        func run() async throws {
            let bytes: [UInt8]
            if let file {
                guard let sheet = FileManager.default.contents(atPath: file) else { throw CLIFailure("cannot read \(file)") }
                bytes = try await PointsHTTP.send(
                    .POST,
                    "/v1/points/scores",
                    query: [URLQueryItem(name: "month", value: month)],
                    body: Array(sheet),
                    contentType: "text/csv; charset=utf-8",
                    what: "the scores"
                )
            } else {
                let scores = (items ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                let numbers = scores.compactMap { Int($0) }
                guard numbers.count == scores.count else { throw CLIFailure("--items: whole numbers separated by commas, e.g. 8,9,7,10,6") }
                bytes = try await ServiceHTTP.routing.call(
                    .POST,
                    "/v1/points/scores",
                    json: ["month": month, "scores": [["householdId": household ?? "", "items": numbers]]],
                    what: "the score"
                )
            }
            if json { return print(String(decoding: bytes, as: UTF8.self)) }
            let answer = try Points.object(bytes)
            let households = answer["households"] as? [[String: Any]] ?? []
            for row in households {
                let workers = (row["workerPoints"] as? [String: Int] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) +\($0.value)" }
                let replaced = (row["replaced"] as? Int).map { " (was \($0))" } ?? ""
                print(
                    "\(row["householdId"] ?? "?")  \(row["outcome"] ?? "")  \(row["points"] ?? 0) points\(replaced)"
                        + (workers.isEmpty ? "" : "  workers: \(workers.joined(separator: ", "))")
                )
            }
            print(
                "\(answer["month"] ?? month): \(answer["scored"] ?? 0) scored, \(answer["corrected"] ?? 0) corrected, "
                    + "\(answer["unchanged"] ?? 0) unchanged"
            )
        }
    }

    struct Statement: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An account's balance and ledger: household:ID or worker:ID.")
        @Argument(help: "household:ID or worker:ID (a bare id is taken as a household).") var account: String
        @Flag(help: "Print routing's JSON.") var json = false

        func run() async throws {
            let name = account.contains(":") ? account : "household:\(account)"
            guard PointsAccount(name) != nil else { throw CLIFailure("'\(account)' is not household:ID or worker:ID") }
            let bytes = try await ServiceHTTP.routing.call(.GET, "/v1/points/statements/\(name)", what: "the statement")
            if json { return print(String(decoding: bytes, as: UTF8.self)) }
            let statement = try Points.object(bytes)
            for entry in statement["entries"] as? [[String: Any]] ?? [] {
                let points = entry["points"] as? Int ?? 0
                print(
                    "\(entry["at"] as? String ?? "")  \(entry["kind"] ?? "")  \(points >= 0 ? "+" : "")\(points)  = \(entry["balance"] ?? 0)  "
                        + "\(entry["reason"] ?? "")  [\(entry["ref"] ?? "")]"
                )
            }
            print(
                "\(statement["account"] ?? name): balance \(statement["balance"] ?? 0) (earned \(statement["earned"] ?? 0), "
                    + "redeemed \(statement["redeemed"] ?? 0), reversed \(statement["reversed"] ?? 0))"
            )
        }
    }

    struct Goods: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A street's love supermarket shelf (your street by default).")
        @Option(help: "The street.") var street: String?
        @Flag(help: "Print routing's JSON.") var json = false

        func run() async throws {
            let query = street.map { [URLQueryItem(name: "street", value: $0)] } ?? []
            let bytes = try await ServiceHTTP.routing.call(.GET, "/v1/points/goods", query: query, what: "the goods")
            if json { return print(String(decoding: bytes, as: UTF8.self)) }
            let goods = try JSONSerialization.jsonObject(with: Data(bytes)) as? [[String: Any]] ?? []
            if goods.isEmpty { print("no goods") }
            for item in goods {
                print(
                    "\(item["id"] ?? "?")  \(item["street"] ?? "")  \(item["name"] ?? "")  \(item["points"] ?? 0) points  stock \(item["stock"] ?? 0)"
                )
            }
        }
    }

    struct Donate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record goods given to a street's love supermarket (street officers, supervisors).")
        @Option(help: "The street (a street officer's own by default).") var street: String?
        @Option(help: "What was given, e.g. 大米5kg.") var goods: String
        @Option(help: "Points a unit costs (new goods; for goods on the shelf, their price).") var points: Int?
        @Option(help: "How many units.") var quantity: Int
        @Option(help: "Who gave it.") var donor: String

        func run() async throws {
            var body: [String: Any] = ["goodsName": goods, "quantity": quantity, "donor": donor]
            if let street { body["street"] = street }
            if let points { body["points"] = points }
            let answer = try Points.object(try await ServiceHTTP.routing.call(.POST, "/v1/points/donations", json: body, what: "the donation"))
            let shelf = answer["goods"] as? [String: Any] ?? [:]
            print(
                "\(quantity) × \(shelf["name"] ?? goods) from \(donor): stock \(shelf["stock"] ?? "?") at \(shelf["street"] ?? "?") "
                    + "(goods \(shelf["id"] ?? "?"))"
            )
        }
    }

    struct Redeem: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A household spends points on goods (its grid's staff, its street's officers).")
        @Option(help: "The household's id.") var household: String
        @Option(help: "The goods' id (gridloop points goods).") var goods: String
        @Option(help: "How many units.") var quantity = 1

        func run() async throws {
            let body: [String: Any] = ["householdId": household, "goodsId": goods, "quantity": quantity]
            let receipt = try Points.object(try await ServiceHTTP.routing.call(.POST, "/v1/points/redemptions", json: body, what: "the redemption"))
            print(
                "receipt \(receipt["receipt"] ?? "?"): \(receipt["quantity"] ?? quantity) × \(receipt["goodsName"] ?? "") "
                    + "for \(receipt["points"] ?? 0) points; "
                    + "\(household) has \(receipt["balance"] ?? 0) left, stock \(receipt["stock"] ?? 0)"
            )
        }
    }

    static func object(_ bytes: [UInt8]) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw CLIFailure("routing's answer is not an object")
        }
        return object
    }
}

/// A call to routing with a body that is not JSON (a CSV sheet), signed in as `GRIDLOOP_TOKEN`;
/// answers and refusals as ``ServiceHTTP/call(_:_:query:json:what:)``.
enum PointsHTTP {
    static func send(
        _ method: HTTPMethod,
        _ path: String,
        query: [URLQueryItem],
        body: [UInt8],
        contentType: String,
        what: String
    ) async throws -> [UInt8] {
        let service = ServiceHTTP.routing
        var request = HTTPClientRequest(url: try service.url(path, query: query))
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(try CLIEnvironment.staffToken())")
        request.headers.add(name: "content-type", value: contentType)
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        let answer: ByteBuffer
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(Int64(CLIConnections.connectTimeout.components.seconds) + 30))
            answer = try await response.body.collect(upTo: 16 << 20)
        } catch {
            throw CLIFailure("cannot reach routing (\(service.variable)): \(error)")
        }
        let bytes = Array(buffer: answer)
        guard (200..<300).contains(response.status.code) else {
            let problem = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
            var detail = (problem?["detail"] as? String) ?? (problem?["title"] as? String) ?? String(decoding: bytes, as: UTF8.self)
            if detail.isEmpty { detail = "\(response.status)" }
            throw CLIFailure("routing refused \(what) (\(response.status.code)): \(detail)")
        }
        return bytes
    }
}
