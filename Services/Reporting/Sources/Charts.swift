import Foundation
import GridLoopDomain

/// Server-rendered SVG charts (no scripts, no external assets), written as ``HTML``: every
/// label is escaped as the templates' `{{x}}` are, numbers go in as numbers.
enum Charts {
    static let colors: [HTML] = ["#0b5cad", "#2e9d5b", "#e0a100", "#c2410c", "#7c3aed"]

    /// A horizontal gauge for a rate.
    static func gauge(_ value: Double?) -> HTML {
        let width = Int(((value ?? 0) * 200).rounded())
        return """
            <svg class="chart gauge" viewBox="0 0 200 10" width="200" height="10" role="img"><rect width="200" height="10" rx="5" fill="#e3e6ea"/>\
            <rect width="\(width)" height="10" rx="5" fill="#2e9d5b"/></svg>
            """
    }

    /// Stacked horizontal bars: one per tier, one segment per age bucket, with a legend.
    static func stackedBars(_ rows: [BacklogRow], labels: [String], tierNames: [String: String]) -> HTML {
        let total = rows.map { $0.buckets.reduce(0, +) }.max() ?? 0
        let height = 30 + rows.count * 28
        var svg: HTML = "<svg class=\"chart backlog\" viewBox=\"0 0 600 \(height)\" width=\"600\" height=\"\(height)\" role=\"img\">"
        for (index, label) in labels.enumerated() {
            svg += "<rect x=\"\(110 + index * 90)\" y=\"4\" width=\"12\" height=\"12\" fill=\"\(colors[index % colors.count])\"/>"
            svg += "<text x=\"\(126 + index * 90)\" y=\"15\" font-size=\"12\">\(label)</text>"
        }
        for (row, backlog) in rows.enumerated() {
            let y = 26 + row * 28
            svg += "<text x=\"0\" y=\"\(y + 15)\" font-size=\"13\">\(tierNames[backlog.tier] ?? backlog.tier)</text>"
            var x = 110.0
            for (index, count) in backlog.buckets.enumerated() where count > 0 {
                let width = total == 0 ? 0 : 440 * Double(count) / Double(total)
                svg +=
                    "<rect x=\"\(x, decimals: 1)\" y=\"\(y)\" width=\"\(width, decimals: 1)\" height=\"20\" fill=\"\(colors[index % colors.count])\"><title>\(count)</title></rect>"
                x += width
            }
            svg += "<text x=\"\(x + 4, decimals: 1)\" y=\"\(y + 15)\" font-size=\"12\">\(backlog.buckets.reduce(0, +))</text>"
        }
        if rows.isEmpty { svg += "<text x=\"110\" y=\"40\" font-size=\"13\">0</text>" }
        return svg + "</svg>"
    }

    /// The three rates over months as lines (0–100%).
    static func lines(_ months: [Figures], names: [String]) -> HTML {
        let width = 600
        let height = 220
        let left = 40
        let bottom = 190
        var svg: HTML = "<svg class=\"chart trend\" viewBox=\"0 0 \(width) \(height)\" width=\"\(width)\" height=\"\(height)\" role=\"img\">"
        for tick in stride(from: 0, through: 100, by: 25) {
            let y = bottom - tick * 170 / 100
            svg +=
                "<line x1=\"\(left)\" x2=\"\(width - 10)\" y1=\"\(y)\" y2=\"\(y)\" stroke=\"#e3e6ea\"/><text x=\"0\" y=\"\(y + 4)\" font-size=\"11\">\(tick)%</text>"
        }
        let step = months.count > 1 ? Double(width - left - 20) / Double(months.count - 1) : 0
        for (index, month) in months.enumerated() {
            svg += "<text x=\"\(Double(left) + step * Double(index) - 16, decimals: 0)\" y=\"\(height - 8)\" font-size=\"10\">\(month.key)</text>"
        }
        let series: [(Figures) -> Double?] = [{ $0.responseRate }, { $0.resolutionRate }, { $0.satisfactionRate }]
        for (index, value) in series.enumerated() {
            let points = months.enumerated().compactMap { offset, month -> (x: Double, y: Double)? in
                value(month).map { (Double(left) + step * Double(offset), Double(bottom) - $0 * 170) }
            }
            if points.count == 1 {
                svg += "<circle cx=\"\(points[0].x, decimals: 1)\" cy=\"\(points[0].y, decimals: 1)\" r=\"4\" fill=\"\(colors[index])\"/>"
            } else if !points.isEmpty {
                let line = points.map { String(format: "%.1f,%.1f", $0.x, $0.y) }.joined(separator: " ")
                svg += "<polyline fill=\"none\" stroke=\"\(colors[index])\" stroke-width=\"2\" points=\"\(line)\"/>"
            }
            svg += "<rect x=\"\(left + index * 150)\" y=\"2\" width=\"12\" height=\"4\" fill=\"\(colors[index])\"/>"
            svg += "<text x=\"\(left + 16 + index * 150)\" y=\"9\" font-size=\"11\">\(names[index])</text>"
        }
        return svg + "</svg>"
    }

    /// Vertical bars of 0–100 scores (360 wide for three, wider for more).
    static func bars(_ values: [(String, Double)]) -> HTML {
        let width = max(360, 20 + values.count * 110)
        var svg: HTML = "<svg class=\"chart parts\" viewBox=\"0 0 \(width) 160\" width=\"\(width)\" height=\"160\" role=\"img\">"
        for (index, (label, score)) in values.enumerated() {
            let height = score * 1.2
            let x = 20 + index * 110
            svg +=
                "<rect x=\"\(x)\" y=\"\(130 - height, decimals: 1)\" width=\"60\" height=\"\(height, decimals: 1)\" fill=\"\(colors[index % colors.count])\"/>"
            svg +=
                "<text x=\"\(x)\" y=\"150\" font-size=\"12\">\(label)</text><text x=\"\(x + 10)\" y=\"\(125 - height, decimals: 1)\" font-size=\"12\">\(score, decimals: 1)</text>"
        }
        return svg + "</svg>"
    }
}
