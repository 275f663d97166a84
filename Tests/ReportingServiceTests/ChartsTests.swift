import GridLoopDomain
import Testing

@testable import ReportingService

@Suite("The dashboard's SVG charts: labels escaped, numbers as numbers")
struct ChartsTests {
    @Test func labelsAreEscapedAndScoresDrawn() {
        let svg = Charts.bars([("<script>alert('x')</script>", 50), ("及时", 100)]).text
        #expect(svg.hasPrefix("<svg class=\"chart parts\"") && svg.hasSuffix("</svg>"))
        #expect(svg.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") && !svg.contains("<script>"))
        #expect(svg.contains("<rect x=\"20\" y=\"70.0\" width=\"60\" height=\"60.0\""), "a score of 50 is 60 px high from 130")
        #expect(svg.contains(">50.0</text>") && svg.contains(">及时</text>"))
        let gauge = Charts.gauge(0.5).text
        #expect(gauge.contains("<rect width=\"100\" height=\"10\"") && !gauge.contains("\n"))
        let backlog = Charts.stackedBars([], labels: ["< 1 天 & 更早"], tierNames: [:]).text
        #expect(backlog.contains(">&lt; 1 天 &amp; 更早</text>") && backlog.contains(">0</text>"))
    }
}
