import Foundation
import GridLoopDomain
import Testing

@Suite("Category classifier")
struct CategoryClassifierTests {
    /// A hand-made set small enough to reason about.
    static let tiny = [
        LabelledText(text: "又停电了，家里没电", category: "power"),
        LabelledText(text: "晚上经常跳闸停电", category: "power"),
        LabelledText(text: "power cut again in the evening", category: "power"),
        LabelledText(text: "停水两天了，没水做饭", category: "water"),
        LabelledText(text: "水管爆裂，自来水发黄", category: "water"),
        LabelledText(text: "no water since yesterday", category: "water"),
        LabelledText(text: "屋顶漏雨，墙体开裂", category: "housing"),
    ]

    /// Every category `LabelledSamples` promises.
    static let sampleCategories: Set<String> = [
        "power", "electricity-price", "water", "housing", "property", "market", "food-safety", "elderly-care", "childcare", "emergency",
    ]

    @Test func featuresAreLowercasedCharacterGramsPlusLatinWords() {
        #expect(CategoryClassifier.features(of: "停电！OK") == ["停", "电", "停电", "o", "k", "ok", "w:ok"])
        #expect(CategoryClassifier.features(of: "跳闸了") == ["跳", "闸", "了", "跳闸", "闸了", "跳闸了"])
        #expect(CategoryClassifier.features(of: "Ab1") == ["a", "b", "1", "ab", "b1", "ab1", "w:ab"])
        #expect(CategoryClassifier.features(of: " ！！，。 ").isEmpty)
    }

    @Test func obviousComplaintsGetTheirCategoryWithConfidence() throws {
        let model = CategoryClassifier.train(Self.tiny)
        #expect(model.categories == ["housing", "power", "water"])
        #expect(model.examples == 7)

        let power = try #require(model.suggest("光华三组又停电了"))
        #expect(power.category == "power")
        #expect(power.confidence > 0.5)
        let water = try #require(model.suggest("停水三天了"))
        #expect(water.category == "water")
        #expect(water.confidence > 0.5)
        let english = try #require(model.suggest("Power cut!"))
        #expect(english.category == "power")

        #expect(power.ranked.count == 3)
        #expect(power.ranked.first?.category == power.category && power.ranked.first?.probability == power.confidence)
        #expect(abs(power.ranked.map(\.probability).reduce(0, +) - 1) < 1e-9, "the posteriors add up to 1")
        #expect(power.ranked.map(\.probability) == power.ranked.map(\.probability).sorted(by: >), "most likely first")
    }

    @Test func anEmptyModelOrAFeaturelessTextSuggestsNothing() {
        #expect(CategoryClassifier.train([]).suggest("停电") == nil)
        #expect(CategoryClassifier().suggest("停电") == nil)
        let model = CategoryClassifier.train(Self.tiny)
        #expect(model.suggest("！！！") == nil)
        #expect(model.suggest("   ") == nil)
        #expect(model.suggest("") == nil)
    }

    @Test func equalProbabilitiesAreBrokenByCategoryName() throws {
        let model = CategoryClassifier.train([
            LabelledText(text: "停电", category: "b-second"),
            LabelledText(text: "停电", category: "a-first"),
        ])
        let suggestion = try #require(model.suggest("停电"))
        #expect(suggestion.category == "a-first")
        #expect(suggestion.confidence == 0.5)
        #expect(suggestion.ranked.map(\.category) == ["a-first", "b-second"])
    }

    @Test func theSameTrainingGivesAnEqualModelAndTheSameSuggestion() {
        let samples = LabelledSamples.generate(count: 200, seed: 3)
        let first = CategoryClassifier.train(samples)
        let second = CategoryClassifier.train(samples)
        #expect(first == second)
        for text in ["红星三组电压太低，电磁炉炒不了菜", "自来水发黄", "power cut again", "老人吃饭难"] {
            #expect(first.suggest(text) == second.suggest(text))
        }
        #expect(first != CategoryClassifier.train(samples, alpha: 1))
    }

    @Test func aModelSurvivesAJSONRoundTrip() throws {
        let model = CategoryClassifier.train(LabelledSamples.generate(count: 200, seed: 11))
        let data = try JSONEncoder().encode(model)
        let decoded = try JSONDecoder().decode(CategoryClassifier.self, from: data)
        #expect(decoded == model)
        #expect(decoded.categories == model.categories)
        for text in ["韩家圩小区电梯坏了", "化粪池冒气，有人头晕", "一度电一块一太贵了", "the roof leaks"] {
            #expect(decoded.suggest(text) == model.suggest(text))
        }
    }

    @Test func theGeneratedSamplesAreClassifiedAboveTheFloor() {
        let evaluation = CategoryClassifier.evaluate(LabelledSamples.generate(count: 600, seed: 7))
        print("classifier accuracy \(evaluation.accuracy) (\(evaluation.correct) of \(evaluation.heldOut) held out)")
        #expect(evaluation.trained == 480)
        #expect(evaluation.heldOut == 120)
        #expect(evaluation.accuracy >= 0.80, "the stated floor")
        #expect(evaluation.accuracy == Double(evaluation.correct) / Double(evaluation.heldOut))
        let confused = evaluation.confusion.values.flatMap { $0.values }.reduce(0, +)
        #expect(confused == evaluation.heldOut, "every held-out example is in the confusion table once")
        let diagonal = evaluation.confusion.map { actual, predicted in predicted[actual] ?? 0 }.reduce(0, +)
        #expect(diagonal == evaluation.correct)
    }

    @Test func theHoldOutSplitGoesByIndex() {
        let evaluation = CategoryClassifier.evaluate(Self.tiny, holdOutEvery: 3)
        #expect(evaluation.trained == 5, "indices 2 and 5 are held out")
        #expect(evaluation.heldOut == 2)
        #expect(evaluation.accuracy == Double(evaluation.correct) / 2)

        let empty = CategoryClassifier.evaluate([])
        #expect(empty.trained == 0 && empty.heldOut == 0 && empty.correct == 0 && empty.accuracy == 0)
        #expect(empty.confusion.isEmpty)
    }

    @Test func theSampleGeneratorIsDeterministicAndCoversEveryCategory() {
        let samples = LabelledSamples.generate(count: 600, seed: 7)
        #expect(samples.count == 600)
        #expect(samples == LabelledSamples.generate(count: 600, seed: 7), "the same seed gives the same samples")
        #expect(samples != LabelledSamples.generate(count: 600, seed: 8), "another seed gives other samples")
        #expect(Set(samples.map(\.category)) == Self.sampleCategories)
        #expect(Set(LabelledSamples.categories) == Self.sampleCategories)
        #expect(samples.allSatisfy { !$0.text.isEmpty })
        let english = samples.filter { $0.text.unicodeScalars.allSatisfy(\.isASCII) }.count
        #expect((10...60).contains(english), "about one in twenty is in English")
        #expect(LabelledSamples.generate(count: 0, seed: 7).isEmpty)
    }
}
