import Testing
import WebService

@Suite("Web pages: words in both languages")
struct WebWordsTests {
    @Test("every word the pages use exists in Chinese and in English, and none is empty")
    func bothLanguages() {
        let zh = Pages.words("zh")
        let en = Pages.words("en")
        #expect(Set(zh.keys).subtracting(en.keys).sorted() == [], "missing in English")
        #expect(Set(en.keys).subtracting(zh.keys).sorted() == [], "missing in Chinese")
        #expect(zh.values.allSatisfy { !$0.isEmpty } && en.values.allSatisfy { !$0.isEmpty })
    }

    @Test("every {{t.word}} a template names is a word in both languages")
    func templatesNameKnownWords() throws {
        let zh = Pages.words("zh")
        let en = Pages.words("en")
        let pattern = try Regex(#"\{\{[#^/]?t\.([A-Za-z0-9-]+)\}\}"#)
        var used: Set<String> = []
        for text in Pages.templateTexts {
            for match in text.matches(of: pattern) {
                if let word = match.output[1].substring { used.insert(String(word)) }
            }
        }
        #expect(!used.isEmpty)
        #expect(used.subtracting(zh.keys).sorted() == [], "named by a template, not a Chinese word")
        #expect(used.subtracting(en.keys).sorted() == [], "named by a template, not an English word")
    }

    @Test("the door plates' words exist in both languages, and their template names only those or the pages' words")
    func plates() throws {
        let zh = WebController.plateWords["zh"] ?? [:]
        let en = WebController.plateWords["en"] ?? [:]
        #expect(!zh.isEmpty && Set(zh.keys) == Set(en.keys))
        let pattern = try Regex(#"\{\{[#^/]?t\.([A-Za-z0-9-]+)\}\}"#)
        for text in WebController.plateTemplates.values {
            for match in text.matches(of: pattern) {
                guard let word = match.output[1].substring.map(String.init) else { continue }
                #expect(zh[word] != nil || Pages.words("zh")[word] != nil, "\(word)")
            }
        }
    }
}
