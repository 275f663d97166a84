import GridLoopDomain
import Testing

@Suite("HTML built in code: every interpolated text escaped")
struct HTMLTests {
    @Test func textIsEscapedAndOnlyHTMLGoesInRaw() {
        let name = "<script>alert('崔春花 & \"co\"')</script>"
        let badge: HTML = "<b>\(name)</b>"
        #expect(badge.text == "<b>&lt;script&gt;alert(&#39;崔春花 &amp; &quot;co&quot;&#39;)&lt;/script&gt;</b>")
        let row: HTML = "<li>\(badge)\(HTML.when(false, "<i>x</i>"))\(HTML.when(true, "<i>\(name)</i>"))</li>"
        #expect(row.text.hasPrefix("<li><b>&lt;script&gt;") && row.text.contains("<i>&lt;script&gt;") && !row.text.contains("<i>x</i>"))
        #expect(HTML.escaped("光华三组 1号") == "光华三组 1号", "text without the five characters is left as it is")
        #expect(HTML.escaped("a\"\u{301}b") == "a&quot;\u{301}b", "a quote carrying a combining mark is still escaped")
    }
}
