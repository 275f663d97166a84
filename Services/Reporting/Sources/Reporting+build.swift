import AsyncHTTPClient
import Configuration
import Foundation
import GridLoopAMQP
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import Hummingbird
import Logging
import PostgresNIO

/// reporting: keeps every event, projects it into read models with daily and monthly
/// rollups, and serves figures, assessments and subsidies as JSON, CSV and an HTML dashboard.
///
/// | key | environment | default |
/// |---|---|---|
/// | `reporting.intake.url` | `REPORTING_INTAKE_URL` | `http://127.0.0.1:8080` (where the request page asks for the verified trail) |
/// | `reporting.web.url` | `REPORTING_WEB_URL` | unset (the staff web app as the browser reaches it: the dashboard's links to act on a request; relative when the web app proxies the dashboard) |
///
/// The assessment's keys are under ``assessmentRules(_:)``, the 12345 rates' under ``Rates12345Rules``.
package enum ReportingApp: GridLoopServiceApp {
    package static let name = "reporting"
    package static let defaultPort = 8081

    /// The composition root.
    package static func build(configuration: ServiceConfiguration, reader: ConfigReader) async throws -> some ApplicationProtocol {
        let rules = try assessmentRules(reader)  // a bad setting stops the service before it connects anywhere
        let runtime = try await ServiceRuntime.make(configuration: configuration, migrator: migrator)
        let model = ReadModel(postgres: runtime.postgres)
        let reports = Reports(store: ReportStore(postgres: runtime.postgres), rules: rules)
        let access = ReportingAccess(authenticator: try await Authenticator.fromConfiguration(reader), postgres: runtime.postgres)
        let webURL = reader.string(forKey: "reporting.web.url").flatMap(Self.webBase)
        return runtime.makeApplication(
            consumers: [
                runtime.consumer(queue: GridLoopQueue.reportingEvents, topology: GridLoopTopology.reportingEvents, transactional: model.event)
            ]
        ) { router in
            ReportsController(reports: reports, model: model, access: access, suggestions: CategorySuggestions(postgres: runtime.postgres))
                .addRoutes(to: router)
            Dashboard(
                reports: reports,
                trail: IntakeTrail(baseURL: reader.string(forKey: "reporting.intake.url", default: "http://127.0.0.1:8080")),
                access: access,
                webURL: webURL
            ).addRoutes(to: router)
        }
    }

    /// A configured web app address without its trailing `/`; `nil` when empty.
    static func webBase(_ text: String) -> String? {
        var text = text.trimmingCharacters(in: .whitespaces)
        while text.hasSuffix("/") { text.removeLast() }
        return text.isEmpty ? nil : text
    }

    /// Assessment weights, duties, awards, the subsidy rate and the 12345 rates' weights from
    /// `REPORTING_*` variables; refuses 12345 weights ``Rates12345Rules`` does not accept, a notice
    /// weight outside 0…1 and a wish cluster minimum below 1.
    static func assessmentRules(_ reader: ConfigReader) throws -> AssessmentRules {
        var rules = AssessmentRules()
        rules.volumeWeight = reader.double(forKey: "reporting.weight.volume", default: rules.volumeWeight)
        rules.qualityWeight = reader.double(forKey: "reporting.weight.quality", default: rules.qualityWeight)
        rules.timelinessWeight = reader.double(forKey: "reporting.weight.timeliness", default: rules.timelinessWeight)
        rules.visitsPerHouseholdMonth = reader.double(forKey: "reporting.visits.per.household.month", default: rules.visitsPerHouseholdMonth)
        rules.collectPerHouseholdMonth = reader.double(forKey: "reporting.collect.per.household.month", default: rules.collectPerHouseholdMonth)
        rules.goldAwards = reader.int(forKey: "reporting.awards.gold", default: rules.goldAwards)
        rules.excellentAwards = reader.int(forKey: "reporting.awards.excellent", default: rules.excellentAwards)
        rules.awardScoreFloor = reader.double(forKey: "reporting.awards.score.floor", default: rules.awardScoreFloor)
        rules.subsidyYuanPerResidentYear = reader.double(forKey: "reporting.subsidy.yuan", default: rules.subsidyYuanPerResidentYear)
        rules.repeatDays = max(1, reader.int(forKey: "reporting.repeat.days", default: rules.repeatDays))
        rules.rates12345 = try Rates12345Rules(
            basicallySatisfiedWeight: reader.string(forKey: "reporting.rates.basic.satisfied.weight"),
            weights: reader.string(forKey: "reporting.rates.weights")
        )
        rules.noticeWeight = try AssessmentRules.noticeWeight(reader.string(forKey: "reporting.notice.weight"))
        rules.wishClusterMin = try AssessmentRules.wishClusterMin(reader.int(forKey: "reporting.wish.cluster.min", default: rules.wishClusterMin))
        return rules
    }

    /// Rebuilds the read models from the stored events (for `gridloop reports rebuild`).
    package static func rebuild(on client: PostgresClient, logger: Logger) async throws -> Int {
        try await ReadModel.rebuild(on: client, logger: logger)
    }

    /// reporting's schema migrations (for `gridloop migrate`).
    /// Trains the category classifier (for `gridloop reports train`).
    package static func train(
        labelled: [LabelledText],
        floor: Double?,
        on client: PostgresClient,
        logger: Logger
    ) async throws
        -> CategorySuggestions.Training
    {
        try await CategorySuggestions.train(labelled: labelled, floor: floor, on: client, logger: logger)
    }

    package static let migrator = Migrator(schema: ReportingSchema.name, migrations: ReportingSchema.migrations)
}
