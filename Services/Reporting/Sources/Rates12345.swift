import Foundation

/// The three rates as the 12345 citizen hotline (市民服务热线) computes them from the follow-up
/// answers (回访), and their weighted composite — the figure Beijing's 接诉即办 assessment ranks
/// units by. Pure arithmetic on counts; every rate is `nil` (not 0) without an answer.
///
/// - 响应率 (response) = contacted / answered
/// - 解决率 (resolution) = solved / answered
/// - 满意率 (satisfaction) = (satisfied + w_basic × basically satisfied) / answered
/// - composite = w_r × 响应率 + w_s × 解决率 + w_m × 满意率
///
/// with the weights of ``Rates12345Rules`` (Beijing's practice by default: w_basic 0.9;
/// w_r, w_s, w_m = 0.1, 0.5, 0.4). These are not ``Figures/responseRate`` (assignments claimed
/// on time) nor ``Figures/satisfactionRate`` (satisfied and basically satisfied alike).
package struct Rates12345: Sendable, Equatable, Codable {
    /// 响应率: answers confirming the resident was contacted / answers.
    package var response: Double?
    /// 解决率: answers saying the problem is solved / answers.
    package var resolution: Double?
    /// 满意率: (satisfied + w_basic × basically satisfied) / answers.
    package var satisfaction: Double?
    /// w_r × 响应率 + w_s × 解决率 + w_m × 满意率.
    package var composite: Double?
    /// Follow-up answers: every verdict on a resolution (satisfied, basically satisfied or unsatisfied).
    package var answered: Int64
    /// Answers confirming that staff contacted the resident.
    package var contacted: Int64
    /// Answers saying the problem is solved.
    package var solved: Int64
    /// Answers "satisfied" (满意), not counting "basically satisfied".
    package var satisfied: Int64
    /// Answers "basically satisfied" (基本满意).
    package var basicallySatisfied: Int64

    /// The rates of these counts under `rules`.
    package init(answered: Int64, contacted: Int64, solved: Int64, satisfied: Int64, basicallySatisfied: Int64, rules: Rates12345Rules) {
        self.answered = answered
        self.contacted = contacted
        self.solved = solved
        self.satisfied = satisfied
        self.basicallySatisfied = basicallySatisfied
        guard answered > 0 else { return }
        let whole = Double(answered)
        let response = Double(contacted) / whole
        let resolution = Double(solved) / whole
        let satisfaction = (Double(satisfied) + rules.basicallySatisfiedWeight * Double(basicallySatisfied)) / whole
        self.response = response
        self.resolution = resolution
        self.satisfaction = satisfaction
        composite = rules.responseWeight * response + rules.resolutionWeight * resolution + rules.satisfactionWeight * satisfaction
    }
}

/// How ``Rates12345`` weighs the answers, per district (one deployment is one district):
///
/// | key | environment | default |
/// |---|---|---|
/// | `reporting.rates.basic.satisfied.weight` | `REPORTING_RATES_BASIC_SATISFIED_WEIGHT` | `0.9`: what one "basically satisfied" counts in 满意率 (0…1) |
/// | `reporting.rates.weights` | `REPORTING_RATES_WEIGHTS` | `0.1,0.5,0.4`: the composite's weights of 响应率, 解决率, 满意率 (each 0…1, adding up to 1) |
///
/// Only checked values exist: the initialisers (and decoding) refuse anything else with
/// ``Invalid``, so a service with a bad setting stops at start and says which.
package struct Rates12345Rules: Sendable, Codable, Equatable {
    /// What one "basically satisfied" answer counts in 满意率 ("satisfied" counts 1, "unsatisfied" 0).
    package private(set) var basicallySatisfiedWeight: Double
    /// The composite's weight of 响应率.
    package private(set) var responseWeight: Double
    /// The composite's weight of 解决率.
    package private(set) var resolutionWeight: Double
    /// The composite's weight of 满意率.
    package private(set) var satisfactionWeight: Double

    /// The environment variable of ``basicallySatisfiedWeight``.
    package static let basicallySatisfiedWeightVariable = "REPORTING_RATES_BASIC_SATISFIED_WEIGHT"
    /// The environment variable of the three composite weights.
    package static let weightsVariable = "REPORTING_RATES_WEIGHTS"

    /// Beijing's practice: basically satisfied 0.9; response 10%, resolution 50%, satisfaction 40%.
    package init() {
        basicallySatisfiedWeight = 0.9
        responseWeight = 0.1
        resolutionWeight = 0.5
        satisfactionWeight = 0.4
    }

    /// Checked weights: each from 0 to 1, the composite's three adding up to 1 (within 10⁻⁶).
    package init(basicallySatisfiedWeight: Double, responseWeight: Double, resolutionWeight: Double, satisfactionWeight: Double) throws(Invalid) {
        guard basicallySatisfiedWeight.isFinite, (0...1).contains(basicallySatisfiedWeight) else {
            throw .basicallySatisfiedWeight(String(basicallySatisfiedWeight))
        }
        let weights = [responseWeight, resolutionWeight, satisfactionWeight]
        if let bad = weights.first(where: { !$0.isFinite || !(0...1).contains($0) }) { throw .weightOutOfRange(bad) }
        guard abs(weights.reduce(0, +) - 1) <= 1e-6 else { throw .weightsDoNotAddUpToOne(weights) }
        self.basicallySatisfiedWeight = basicallySatisfiedWeight
        self.responseWeight = responseWeight
        self.resolutionWeight = resolutionWeight
        self.satisfactionWeight = satisfactionWeight
    }

    /// From the variables' text: `basicallySatisfiedWeight` like `0.9`, `weights` like
    /// `0.1,0.5,0.4` (响应率, 解决率, 满意率); unset or blank keeps the default.
    package init(basicallySatisfiedWeight basicText: String?, weights weightsText: String?) throws(Invalid) {
        let defaults = Rates12345Rules()
        var basic = defaults.basicallySatisfiedWeight
        if let text = basicText?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
            guard let value = Double(text) else { throw .basicallySatisfiedWeight(text) }
            basic = value
        }
        var weights = [defaults.responseWeight, defaults.resolutionWeight, defaults.satisfactionWeight]
        if let text = weightsText?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
            let values = text.split(separator: ",", omittingEmptySubsequences: false).map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard values.count == 3, values.allSatisfy({ $0 != nil }) else { throw .weightsNotThreeNumbers(text) }
            weights = values.compactMap { $0 }
        }
        try self.init(basicallySatisfiedWeight: basic, responseWeight: weights[0], resolutionWeight: weights[1], satisfactionWeight: weights[2])
    }

    private enum CodingKeys: String, CodingKey {
        case basicallySatisfiedWeight, responseWeight, resolutionWeight, satisfactionWeight
    }

    /// Decoded values are checked as the initialiser checks them.
    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            basicallySatisfiedWeight: try container.decode(Double.self, forKey: .basicallySatisfiedWeight),
            responseWeight: try container.decode(Double.self, forKey: .responseWeight),
            resolutionWeight: try container.decode(Double.self, forKey: .resolutionWeight),
            satisfactionWeight: try container.decode(Double.self, forKey: .satisfactionWeight)
        )
    }

    /// A configuration ``Rates12345Rules`` refuses, with what is expected.
    package enum Invalid: Error, Equatable, CustomStringConvertible {
        /// The "basically satisfied" weight is not a number from 0 to 1 (the text given).
        case basicallySatisfiedWeight(String)
        /// The composite's weights are not three numbers separated by commas (the text given).
        case weightsNotThreeNumbers(String)
        /// A composite weight below 0 or above 1.
        case weightOutOfRange(Double)
        /// The composite's weights (响应率, 解决率, 满意率) do not add up to 1.
        case weightsDoNotAddUpToOne([Double])

        package var description: String {
            switch self {
            case .basicallySatisfiedWeight(let text):
                "\(Rates12345Rules.basicallySatisfiedWeightVariable) must be a number from 0 to 1 (what one 'basically satisfied' answer counts in 满意率, e.g. 0.9), not '\(text)'"
            case .weightsNotThreeNumbers(let text):
                "\(Rates12345Rules.weightsVariable) must be three numbers separated by commas, the weights of 响应率, 解决率 and 满意率 (e.g. 0.1,0.5,0.4), not '\(text)'"
            case .weightOutOfRange(let weight):
                "\(Rates12345Rules.weightsVariable): every weight must be from 0 to 1, not \(weight)"
            case .weightsDoNotAddUpToOne(let weights):
                "\(Rates12345Rules.weightsVariable) must add up to 1 (e.g. 0.1,0.5,0.4): \(weights.map { "\($0)" }.joined(separator: " + ")) = \(weights.reduce(0, +))"
            }
        }
    }
}
