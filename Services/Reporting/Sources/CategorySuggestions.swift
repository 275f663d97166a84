import Foundation
import GridLoopDomain
import Logging
import PostgresNIO
import Synchronization

/// Suggested categories for free text (分析研判): `gridloop reports train` fits a
/// ``CategoryClassifier`` on the district's own closed requests (their final category — after
/// any correction — and their description), reports its accuracy on held-out requests and stores
/// it; reporting suggests a category for a request from its description with that model, shown
/// to the staff member who takes it and never applied silently. Corrections (`recategorize`)
/// are counted: how many, how many had a suggestion shown, how many followed it.
package final class CategorySuggestions: Sendable {
    let postgres: PostgresClient
    /// The newest stored model, decoded once (`id` tells when a newer one was trained).
    private let cached = Mutex<(id: Int64, model: CategoryClassifier, trainedAt: Date)?>(nil)

    package init(postgres: PostgresClient) { self.postgres = postgres }

    /// A suggestion for a request, from the newest model.
    package struct Suggestion: Codable, Sendable, Equatable {
        package var requestId: String
        /// The request's category now.
        package var current: String
        package var category: String
        package var confidence: Double
        /// The three likeliest, most likely first.
        package var ranked: [CategoryClassifier.Ranked]
        /// Whether the suggestion differs from the current category (worth showing).
        package var differs: Bool
        package var modelTrainedAt: Date
    }

    /// The newest model, or `nil` before the first training.
    func model(logger: Logger) async throws -> (id: Int64, model: CategoryClassifier, trainedAt: Date)? {
        let rows = try await postgres.query("SELECT max(id) FROM reporting.classifier_models", logger: logger).collect()
        guard let newest = try rows.first?.decode(Int64?.self) ?? nil else { return nil }
        if let hit = cached.withLock({ $0 }), hit.id == newest { return hit }
        guard
            let row = try await postgres.query(
                "SELECT model, trained_at FROM reporting.classifier_models WHERE id = \(newest)",
                logger: logger
            ).collect().first
        else { return nil }
        let (text, trainedAt) = try row.decode((String, Date).self)
        let model = try JSONDecoder().decode(CategoryClassifier.self, from: Data(text.utf8))
        let loaded = (id: newest, model: model, trainedAt: trainedAt)
        cached.withLock { $0 = loaded }
        return loaded
    }

    /// The suggestion for request `id` (`nil`: no such request, no description, or no model yet).
    func suggestion(for id: String, logger: Logger) async throws -> Suggestion? {
        guard
            let row = try await postgres.query("SELECT category, description FROM reporting.requests WHERE id = \(id)", logger: logger)
                .collect().first,
            let loaded = try await model(logger: logger)
        else { return nil }
        let (category, description) = try row.decode((String?, String?).self)
        guard let description, let suggestion = loaded.model.suggest(description) else { return nil }
        return Suggestion(
            requestId: id,
            current: category ?? "",
            category: suggestion.category,
            confidence: suggestion.confidence,
            ranked: Array(suggestion.ranked.prefix(3)),
            differs: suggestion.category != category,
            modelTrainedAt: loaded.trainedAt
        )
    }

    /// What a training run found and stored.
    package struct Training: Sendable {
        package var closedRequests: Int
        package var labelled: Int
        package var evaluation: CategoryClassifier.Evaluation
        package var categories: [String: Int]
        /// The stored model's id; `nil` when it was not stored (below the floor asked for).
        package var modelId: Int64?
        package var corrections: Corrections
    }

    /// Corrections so far: all, with a suggestion shown, following it.
    package struct Corrections: Codable, Sendable, Equatable {
        package var recategorized: Int
        package var suggestionShown: Int
        package var suggestionFollowed: Int
    }

    /// Fits the classifier on the closed requests (and `labelled` extra examples, e.g. a
    /// district's starting set), measures it on every fifth held out, and stores it unless its
    /// accuracy is below `floor`.
    package static func train(labelled: [LabelledText], floor: Double?, on client: PostgresClient, logger: Logger) async throws -> Training {
        let closed = try await client.query(
            "SELECT description, category FROM reporting.requests WHERE state = 'closed' AND description IS NOT NULL AND category IS NOT NULL ORDER BY id",
            logger: logger
        ).collect().map { row in
            let (text, category) = try row.decode((String, String).self)
            return LabelledText(text: text, category: category)
        }
        let examples = closed + labelled
        let evaluation = CategoryClassifier.evaluate(examples)
        let model = CategoryClassifier.train(examples)
        var stored: Int64?
        if floor.map({ evaluation.accuracy >= $0 }) ?? true {
            let text = String(decoding: try JSONEncoder().encode(model), as: UTF8.self)
            stored = try await client.query(
                """
                INSERT INTO reporting.classifier_models (examples, held_out, accuracy, model)
                VALUES (\(examples.count), \(evaluation.heldOut), \(evaluation.accuracy), \(text)) RETURNING id
                """,
                logger: logger
            ).collect().first?.decode(Int64.self)
        }
        return Training(
            closedRequests: closed.count,
            labelled: labelled.count,
            evaluation: evaluation,
            categories: Dictionary(grouping: examples, by: \.category).mapValues(\.count),
            modelId: stored,
            corrections: try await corrections(on: client, logger: logger)
        )
    }

    /// Every correction counted so far (the daily rollup holds them all).
    package static func corrections(on client: PostgresClient, logger: Logger) async throws -> Corrections {
        let rows = try await client.query(
            """
            SELECT metric, sum(value)::bigint FROM reporting.daily
            WHERE metric IN ('recategorized', 'suggestion_shown', 'suggestion_followed') GROUP BY metric
            """,
            logger: logger
        ).collect().map { try $0.decode((String, Int64).self) }
        let sums = Dictionary(rows, uniquingKeysWith: +)
        return Corrections(
            recategorized: Int(sums["recategorized"] ?? 0),
            suggestionShown: Int(sums["suggestion_shown"] ?? 0),
            suggestionFollowed: Int(sums["suggestion_followed"] ?? 0)
        )
    }
}
