import Foundation
import GridLoopDomain

/// The community pages' pure rules (#20): what a form's fields become in routing's JSON, what
/// the page checks before sending (routing checks it all again), and which step of a wish the
/// viewer may take now. No I/O, so each is unit-tested.
package enum CommunityForms {
    // MARK: Ids and links

    /// An id taken from a page's path (a notice, consultation, wish, goods): letters, digits,
    /// `-` and `_`, at most 80 — what may go back into routing's path unescaped.
    package static func isSafeID(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 80
            && id.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_") }
    }

    /// An SMS link's token: the same characters, at most 200.
    package static func isSafeToken(_ token: String) -> Bool {
        !token.isEmpty && token.count <= 200
            && token.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_") }
    }

    /// An attachment's address as a link: only `http(s)` addresses (never `javascript:` or
    /// `data:`), else `nil` and the page shows the name without a link.
    package static func safeLink(_ url: String) -> String? {
        let trimmed = url.trimmingCharacters(in: .whitespaces)
        guard let components = URLComponents(string: trimmed), let scheme = components.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = components.host, !host.isEmpty
        else { return nil }
        return trimmed
    }

    /// A notice's attachments from the form's text: one a line, `name url` (the address last),
    /// or only the address (named by its last path part). Lines that are not `http(s)`
    /// addresses are problems, named by their line.
    package static func attachments(_ text: String, language: String) -> (attachments: [[String: String]], problems: [String]) {
        let en = language == "en"
        var attachments: [[String: String]] = []
        var problems: [String] = []
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty else { continue }
            var parts = line.split(whereSeparator: \.isWhitespace).map(String.init)
            let address = parts.removeLast()
            guard let url = safeLink(address) else {
                problems.append(en ? "Attachment line \(index + 1): end it with an http(s) address." : "附件第\(index + 1)行：请以 http(s) 网址结尾。")
                continue
            }
            var name = parts.joined(separator: " ")
            if name.isEmpty { name = URL(string: url).map(\.lastPathComponent).flatMap { $0.isEmpty || $0 == "/" ? nil : $0 } ?? url }
            attachments.append(["name": name, "url": url])
        }
        return (attachments, problems)
    }

    // MARK: Grids a notice or consultation goes to

    /// The grids part of a publish body, as tasks choose them: the grids ticked (then nothing
    /// else), else the street and kind chosen (routing takes the officer's own street, or the
    /// district's grids, when none is given).
    package static func gridChoice(street: String, kind: String, grids: [String]) -> [String: Any] {
        let ticked = grids.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if !ticked.isEmpty { return ["grids": ticked] }
        var choice: [String: Any] = [:]
        if !street.isEmpty { choice["street"] = street }
        if !kind.isEmpty { choice["kind"] = kind }
        return choice
    }

    /// The kinds of grid a notice or consultation may go to.
    package static let gridKinds = ["residents", "compound", "merchants", "enterprises", "institutions"]

    // MARK: Consultations

    /// The rules offered: an option held by at least this share of the households.
    package static let rules = ["1/2", "2/3", "3/4", "1/1"]

    /// A consultation's options from the form's label pairs (blank pairs skipped). Each id is
    /// the English label as a slug (`agree`), else `option-N`; ids are unique.
    package static func options(labels: [String], labelsEn: [String]) -> [[String: String]] {
        var options: [[String: String]] = []
        var used: Set<String> = []
        for index in labels.indices {
            let label = labels[index].trimmingCharacters(in: .whitespacesAndNewlines)
            let labelEn = index < labelsEn.count ? labelsEn[index].trimmingCharacters(in: .whitespacesAndNewlines) : ""
            guard !label.isEmpty else { continue }
            var id = slug(labelEn)
            if id.isEmpty || used.contains(id) { id = "option-\(options.count + 1)" }
            while used.contains(id) { id += "-x" }
            used.insert(id)
            var option = ["id": id, "label": label]
            if !labelEn.isEmpty { option["labelEn"] = labelEn }
            options.append(option)
        }
        return options
    }

    /// Lowercase ASCII letters and digits of `text`, other runs as one `-`, at most 24 characters.
    static func slug(_ text: String) -> String {
        var out = ""
        for scalar in text.lowercased().unicodeScalars {
            if scalar.isASCII, CharacterSet.alphanumerics.contains(scalar) {
                out.unicodeScalars.append(scalar)
            } else if !out.isEmpty, !out.hasSuffix("-") {
                out += "-"
            }
        }
        while out.hasSuffix("-") { out.removeLast() }
        return String(out.prefix(24)).trimmingCharacters(in: CharacterSet(charactersIn: "-"))
    }

    // MARK: Green points

    /// The five items a household is scored on each month.
    package static let itemCount = 5

    /// `yyyy-MM`.
    package static func isMonth(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 2, let year = Int(parts[0]), let month = Int(parts[1]) else { return false }
        return (2000...2100).contains(year) && (1...12).contains(month)
    }

    /// The month before `date`'s (Beijing time), `yyyy-MM`: the month usually scored.
    package static func previousMonth(of date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 8 * 3600)!
        let earlier = calendar.date(byAdding: .month, value: -1, to: date) ?? date
        let parts = calendar.dateComponents([.year, .month], from: earlier)
        return String(format: "%04d-%02d", parts.year ?? 2000, parts.month ?? 1)
    }

    /// One household's month: five scores, each 0…max.
    package struct Score: Equatable, Sendable {
        package var household: String
        package var items: [Int]

        package init(household: String, items: [Int]) {
            self.household = household
            self.items = items
        }
    }

    /// Scores from CSV text: `household,遵纪守法,热心公益,环境整洁,家风文明,勤劳致富` (the
    /// header line is optional; commas, Chinese commas or tabs). Every row valid, or the
    /// problems naming rows (nothing is sent then).
    package static func scores(csv text: String, itemMax: Int, language: String) -> (scores: [Score], problems: [String]) {
        let en = language == "en"
        var scores: [Score] = []
        var problems: [String] = []
        var seen: Set<String> = []
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty else { continue }
            let cells = line.split(omittingEmptySubsequences: false) { $0 == "," || $0 == "，" || $0 == "\t" }
                .map { $0.trimmingCharacters(in: .whitespaces) }
            let row = index + 1
            if scores.isEmpty, problems.isEmpty, ["household", "户号", "住户"].contains(cells.first?.lowercased() ?? "") { continue }
            let where_ = en ? "Row \(row): " : "第\(row)行："
            guard cells.count == itemCount + 1 else {
                problems.append(where_ + (en ? "give the household and \(itemCount) scores." : "应为户号和\(itemCount)项分数。"))
                continue
            }
            let household = cells[0]
            guard UnitRef.isValidID(household) else {
                problems.append(where_ + (en ? "'\(household)' is not a household id." : "“\(household)”不是户号。"))
                continue
            }
            guard seen.insert(household).inserted else {
                problems.append(where_ + (en ? "\(household) is scored twice." : "\(household) 重复。"))
                continue
            }
            let items = cells.dropFirst().map { Int($0) }
            guard items.allSatisfy({ $0.map { (0...itemMax).contains($0) } ?? false }) else {
                problems.append(where_ + (en ? "each score is a whole number 0–\(itemMax)." : "每项分数应为 0–\(itemMax) 的整数。"))
                continue
            }
            scores.append(Score(household: household, items: items.compactMap { $0 }))
        }
        if scores.isEmpty, problems.isEmpty { problems.append(en ? "No rows to score." : "没有可录入的行。") }
        return (problems.isEmpty ? scores : [], problems)
    }

    /// Scores from the per-household form: fields `score.<household>.<n>` (n 0…4). A household
    /// whose five fields are all blank is not scored; one partly filled or out of 0…max is a
    /// problem naming it (by its address when known).
    package static func scores(
        form: [String: [String]],
        households: [String],
        names: [String: String] = [:],
        itemMax: Int,
        language: String
    ) -> (scores: [Score], problems: [String]) {
        let en = language == "en"
        var scores: [Score] = []
        var problems: [String] = []
        for household in households {
            let cells = (0..<itemCount).map { (form["score.\(household).\($0)"]?.first ?? "").trimmingCharacters(in: .whitespaces) }
            if cells.allSatisfy(\.isEmpty) { continue }
            let items = cells.map { Int($0) }
            guard items.allSatisfy({ $0.map { (0...itemMax).contains($0) } ?? false }) else {
                let name = names[household] ?? household
                problems.append(
                    en
                        ? "\(name): give all \(itemCount) scores, each a whole number 0–\(itemMax)."
                        : "\(name)：\(itemCount)项分数都要填，每项为 0–\(itemMax) 的整数。"
                )
                continue
            }
            scores.append(Score(household: household, items: items.compactMap { $0 }))
        }
        if scores.isEmpty, problems.isEmpty { problems.append(en ? "Fill in at least one household's scores." : "请至少填写一户的分数。") }
        return (problems.isEmpty ? scores : [], problems)
    }

    /// The body of `POST /v1/points/scores`.
    package static func scoresBody(month: String, scores: [Score]) -> [String: Any] {
        ["month": month, "scores": scores.map { ["householdId": $0.household, "items": $0.items] as [String: Any] }]
    }

    /// Why a redemption was refused, from routing's 409 `code` (or its words): `points` for
    /// 积分不足, `stock` for 库存不足, `nil` for anything else.
    package static func redemptionRefusal(code: String?, detail: String?) -> String? {
        let text = "\(code ?? "") \(detail ?? "")".lowercased()
        if text.contains("insufficient_points") || text.contains("insufficient points") { return "points" }
        if text.contains("out_of_stock") || text.contains("out of stock") { return "stock" }
        return nil
    }

    /// A positive whole number from a form field (quantities, points), at most `max`.
    package static func positive(_ text: String, max: Int = 1_000_000) -> Int? {
        Int(text.trimmingCharacters(in: .whitespaces)).flatMap { (1...max).contains($0) ? $0 : nil }
    }
}

/// Which step of a micro-wish the viewer may record now (routing checks again): collected →
/// adopted → fulfilled → confirmed. Adopted and fulfilled: a street officer of the wish's
/// street, a supervisor, or the staff of its grid; confirmed (with the resident): the staff of
/// its grid.
package enum WishSteps {
    package enum Step: String, Sendable, CaseIterable {
        case adopt, fulfil, confirm
    }

    /// The step after `state`, or `nil` once confirmed (or for an unknown state).
    package static func next(after state: String) -> Step? {
        switch WishState(rawValue: state) {
        case .collected: .adopt
        case .adopted: .fulfil
        case .fulfilled: .confirm
        case .confirmed, .none: nil
        }
    }

    /// The step `role` in `unit` may take on a wish of `grid` (in `street`) in `state`, or `nil`.
    package static func available(state: String, grid: String?, street: String?, role: String, unit: UnitRef?) -> Step? {
        guard let step = next(after: state) else { return nil }
        let gridStaff = ["grid-worker", "grid-leader"].contains(role) && unit?.tier == .grid && unit?.id == grid && grid != nil
        let streetStaff = role == "street-officer" && unit?.tier == .street && unit?.id == street && street != nil
        switch step {
        case .adopt, .fulfil: return gridStaff || streetStaff || role == "supervisor" ? step : nil
        case .confirm: return gridStaff ? step : nil
        }
    }
}
