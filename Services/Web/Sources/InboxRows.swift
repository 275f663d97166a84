import Foundation
import GridLoopDomain

/// The inbox's rows (up to 50 on a page), written as typed Swift with every value escaped
/// (`HTML`) instead of a Mustache section: the same markup the `inbox` template had, at a
/// fraction of the cost (docs/benchmarks/inbox.md).
enum InboxRows {
    static func render(_ items: [StaffInbox.Item], now: Date, language: String, words: [String: String]) -> HTML {
        let summons = words["summons"]!
        let new = words["new"]!
        let overdue = words["overdue"]!
        let late = words["late"]!
        let left = words["left"]!
        let duplicate = words["possibleDuplicate"]!
        var html: HTML = ""
        for item in items {
            let isNew = item.claimedBy == nil && item.ageSeconds < 3600 && !item.overdue
            let place = item.householdId ?? item.address ?? item.gridId ?? "-"
            var meta: HTML = "\(place) · \(Pages.span(item.ageSeconds, language: language))"
            if let claimedBy = item.claimedBy { meta += " · \(claimedBy)" }
            var due: HTML = ""
            if let at = item.claimDueAt ?? item.resolveDueAt {
                due =
                    "\n      <span class=\"due\" data-due=\"\(Timestamp.format(at))\" data-late=\"\(late)\" data-left=\"\(left)\">\(Pages.due(at, now: now, language: language))</span>"
            }
            html += """

                  <li class="item\(HTML.when(item.overdue, " overdue"))\(HTML.when(item.warning, " warning"))">
                    <a href="/requests/\(item.requestId)">
                      <span class="head"><span class="category">\(CategoryNames.label(item.category, language: language))</span>
                      \(HTML.when(item.kind == .summons, "<span class=\"badge summons\">\(summons)</span>"))
                      \(HTML.when(isNew, "<span class=\"badge new\">\(new)</span>"))
                      \(HTML.when(item.overdue, "<span class=\"badge late\">\(overdue)</span>"))
                      <span class="state">\(Pages.state(item.state.rawValue, language: language))</span></span>
                      <span class="description">\(item.description)</span>
                      <span class="meta">\(meta)</span>\(due)\(HTML.when(item.possibleDuplicateOf != nil, "\n      <span class=\"hint\">\(duplicate)</span>"))
                    </a>
                  </li>
                """
        }
        return html
    }
}
