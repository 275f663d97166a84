import Foundation

/// One complaint text with the category a person gave it: what `CategoryClassifier` learns from.
public struct LabelledText: Codable, Sendable, Equatable {
    /// The resident's own words, as submitted.
    public var text: String
    /// The category id (as in `CategoryNames`), e.g. `power`.
    public var category: String

    public init(text: String, category: String) {
        self.text = text
        self.category = category
    }
}

/// Suggests a category for a complaint's free text (mostly Chinese, some English): a multinomial
/// naive Bayes over character 1-, 2- and 3-grams plus whole Latin words. Pure and I/O-free; the
/// trained model is plain counts, so it is `Codable` and two trainings on the same examples are equal.
public struct CategoryClassifier: Codable, Sendable, Equatable {
    /// Category → feature → how often the feature occurred in that category's examples.
    public private(set) var tokenCounts: [String: [String: Int]]
    /// Category → how many feature occurrences its examples had (the sum of its `tokenCounts`).
    public private(set) var totals: [String: Int]
    /// Category → how many examples it had (gives the prior).
    public private(set) var documents: [String: Int]
    /// How many different features training saw, over all categories.
    public private(set) var vocabulary: Int
    /// Laplace (additive) smoothing added to every feature count; greater than 0.
    public private(set) var alpha: Double

    /// An empty model: it knows no category, so it suggests nothing.
    public init(alpha: Double = 0.5) {
        precondition(alpha > 0 && alpha.isFinite, "the smoothing must be a positive number")
        self.tokenCounts = [:]
        self.totals = [:]
        self.documents = [:]
        self.vocabulary = 0
        self.alpha = alpha
    }

    /// The categories the model has seen, sorted.
    public var categories: [String] { documents.keys.sorted() }

    /// How many examples the model was trained on.
    public var examples: Int { documents.values.reduce(0, +) }

    /// A model trained on `examples` with smoothing `alpha` (greater than 0).
    public static func train(_ examples: [LabelledText], alpha: Double = 0.5) -> CategoryClassifier {
        var model = CategoryClassifier(alpha: alpha)
        var seen = Set<String>()
        for example in examples {
            let extracted = Self.features(of: example.text)
            var counts = model.tokenCounts[example.category] ?? [:]
            for feature in extracted {
                counts[feature, default: 0] += 1
                seen.insert(feature)
            }
            model.tokenCounts[example.category] = counts
            model.totals[example.category, default: 0] += extracted.count
            model.documents[example.category, default: 0] += 1
        }
        model.vocabulary = seen.count
        return model
    }

    /// The most likely category for `text` with every category's posterior probability, or `nil`
    /// when the model knows no category or the text has no letters or digits. Features the
    /// training never saw are left out, so a text made only of those gets the priors.
    public func suggest(_ text: String) -> Suggestion? {
        let categories = self.categories
        let extracted = Self.features(of: text)
        guard !categories.isEmpty, !extracted.isEmpty else { return nil }
        let known = extracted.filter { feature in tokenCounts.values.contains { $0[feature] != nil } }
        let documentTotal = Double(examples)
        let smoothedVocabulary = alpha * Double(max(vocabulary, 1))
        var scores: [Double] = []
        for category in categories {
            let counts = tokenCounts[category] ?? [:]
            let denominator = log(Double(totals[category] ?? 0) + smoothedVocabulary)
            var score = log(Double(documents[category] ?? 0) / documentTotal)
            for feature in known {
                score += log(Double(counts[feature] ?? 0) + alpha) - denominator
            }
            scores.append(score)
        }
        // Softmax of the log-probabilities, shifted by the largest so exp does not underflow.
        guard let top = scores.max(), top.isFinite, !scores.contains(where: { $0.isNaN }) else { return nil }
        let weights = scores.map { exp($0 - top) }
        let sum = weights.reduce(0, +)
        var ranked: [Ranked] = []
        for index in categories.indices {
            ranked.append(Ranked(category: categories[index], probability: weights[index] / sum))
        }
        ranked.sort { left, right in
            left.probability != right.probability ? left.probability > right.probability : left.category < right.category
        }
        return Suggestion(category: ranked[0].category, confidence: ranked[0].probability, ranked: ranked)
    }

    /// Trains on most of `examples` and tests on the rest: the example at index `i` is held out
    /// when `i % holdOutEvery == holdOutEvery - 1` (none when `holdOutEvery` is below 1).
    public static func evaluate(_ examples: [LabelledText], holdOutEvery: Int = 5, alpha: Double = 0.5) -> Evaluation {
        var training: [LabelledText] = []
        var testing: [LabelledText] = []
        for (index, example) in examples.enumerated() {
            if holdOutEvery > 0 && index % holdOutEvery == holdOutEvery - 1 {
                testing.append(example)
            } else {
                training.append(example)
            }
        }
        let model = train(training, alpha: alpha)
        var correct = 0
        var confusion: [String: [String: Int]] = [:]
        for example in testing {
            let predicted = model.suggest(example.text)?.category ?? Evaluation.noSuggestion
            if predicted == example.category {
                correct += 1
            }
            confusion[example.category, default: [:]][predicted, default: 0] += 1
        }
        return Evaluation(
            trained: training.count,
            heldOut: testing.count,
            correct: correct,
            accuracy: testing.isEmpty ? 0 : Double(correct) / Double(testing.count),
            confusion: confusion
        )
    }

    /// The features of a text, in order and with repeats: lowercased; every run of letters and
    /// digits (anything else separates) gives its character 1-, 2- and 3-grams, and each run of
    /// ASCII letters inside it also gives the whole word as `w:word`.
    public static func features(of text: String) -> [String] {
        var features: [String] = []
        let runs = text.lowercased().split(whereSeparator: { !($0.isLetter || $0.isNumber) })
        for run in runs {
            let characters = Array(run)
            for length in 1...3 where characters.count >= length {
                for start in 0...(characters.count - length) {
                    features.append(String(characters[start..<(start + length)]))
                }
            }
            var word = ""
            for character in characters {
                if character.isASCII && character.isLetter {
                    word.append(character)
                } else if !word.isEmpty {
                    features.append("w:" + word)
                    word = ""
                }
            }
            if !word.isEmpty {
                features.append("w:" + word)
            }
        }
        return features
    }
}

extension CategoryClassifier {
    /// One category and its posterior probability.
    public struct Ranked: Codable, Sendable, Equatable {
        /// The category id.
        public var category: String
        /// The posterior probability, 0...1.
        public var probability: Double

        public init(category: String, probability: Double) {
            self.category = category
            self.probability = probability
        }
    }

    /// What `suggest` says about one text.
    public struct Suggestion: Sendable, Equatable {
        /// The most likely category (on equal probabilities, the first by name).
        public var category: String
        /// Its posterior probability, 0...1 (the softmax of the categories' log-probabilities).
        public var confidence: Double
        /// Every category, most likely first, equal probabilities by name.
        public var ranked: [Ranked]

        public init(category: String, confidence: Double, ranked: [Ranked]) {
            self.category = category
            self.confidence = confidence
            self.ranked = ranked
        }
    }

    /// How well a model trained on part of some examples classifies the held-out rest.
    public struct Evaluation: Sendable, Equatable {
        /// What `confusion` records as predicted when the model suggested nothing.
        public static let noSuggestion = "(none)"

        /// How many examples the model was trained on.
        public var trained: Int
        /// How many examples were held out and classified.
        public var heldOut: Int
        /// How many held-out examples got their own category.
        public var correct: Int
        /// `correct / heldOut`; 0 when nothing was held out.
        public var accuracy: Double
        /// Actual category → predicted category → how many held-out examples.
        public var confusion: [String: [String: Int]]

        public init(trained: Int, heldOut: Int, correct: Int, accuracy: Double, confusion: [String: [String: Int]]) {
            self.trained = trained
            self.heldOut = heldOut
            self.correct = correct
            self.accuracy = accuracy
            self.confusion = confusion
        }
    }
}
