import AsyncHTTPClient
import Configuration
import Foundation
import GridLoopAMQP
import GridLoopAuth
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import Hummingbird
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle

/// notification: consumes every event, and for each one records, in the same transaction as
/// its inbox claim, the deliveries its rules call for (people over email, SMS and their own
/// webhooks; the integration webhook); a sender sends them with retries.
package enum NotificationApp: GridLoopServiceApp {
    package static let name = "notification"
    /// Health and metrics only.
    package static let defaultPort = 8082

    /// The composition root. Channels are enabled by configuration: `NOTIFICATION_SMTP_URL` +
    /// `NOTIFICATION_SMTP_FROM` (email), `NOTIFICATION_SMS_URL` (SMS gateway), staff webhooks
    /// always; `NOTIFICATION_WEBHOOK_URL` receives every assignment-like event and alert as JSON.
    /// Who is told what: `NOTIFICATION_RULES_FILE` (a request's events) and
    /// `NOTIFICATION_COMMUNITY_RULES_FILE` (notices, consultations, wishes), built in by default.
    package static func build(configuration: ServiceConfiguration, reader: ConfigReader) async throws -> some ApplicationProtocol {
        let webhookURL = reader.nonEmptyString(forKey: "notification.webhook.url")
        let secrets = [
            reader.string(forKey: "notification.webhook.secret", isSecret: true),
            reader.string(forKey: "notification.webhook.previous.secret", isSecret: true),
        ].compactMap { $0 }.filter { !$0.isEmpty }
        let rules = try NotificationRules.parse(
            try reader.nonEmptyString(forKey: "notification.rules.file").map { try String(contentsOfFile: $0, encoding: .utf8) }
                ?? NotificationTemplates.builtInRules()
        )
        try rules.check(audiences: Audience.requestAudiences, file: "the notification rules")
        // Who is told of the community events (#20): notices, consultations, micro-wishes.
        let communityRules = try NotificationRules.parse(
            try reader.nonEmptyString(forKey: "notification.community.rules.file").map { try String(contentsOfFile: $0, encoding: .utf8) }
                ?? NotificationTemplates.builtInCommunityRules()
        )
        try communityRules.check(audiences: Audience.communityAudiences, file: "the community notification rules")
        let templates = try NotificationTemplates.load(overrideDirectory: reader.nonEmptyString(forKey: "notification.templates.dir"))
        try templates.check(rules)
        try templates.check(communityRules)
        let timeout = Duration.milliseconds(reader.int(forKey: "notification.timeout.ms", default: 10_000))
        let smtp = try reader.nonEmptyString(forKey: "notification.smtp.url", isSecret: true).map { url in
            try SMTPConfiguration(
                url: url,
                from: reader.string(forKey: "notification.smtp.from", default: "gridloop@localhost"),
                heloName: reader.string(forKey: "notification.smtp.helo", default: "gridloop.local"),
                caFile: reader.nonEmptyString(forKey: "notification.smtp.ca.file"),
                timeout: .milliseconds(Int64(reader.int(forKey: "notification.timeout.ms", default: 10_000)))
            )
        }
        let smsGatewayURL = reader.nonEmptyString(forKey: "notification.sms.url")
        var channels: Set<DeliveryChannel> = [.webhook]
        if smtp != nil { channels.insert(.email) }
        if smsGatewayURL != nil { channels.insert(.sms) }

        let runtime = try await ServiceRuntime.make(configuration: configuration, migrator: migrator)
        runtime.logger.info(
            "notification channels",
            metadata: [
                "channels": "\(channels.map(\.rawValue).sorted())", "rules": "\(rules.byEvent.count) event types",
                "community.rules": "\(communityRules.byEvent.count) event types and stages",
            ]
        )
        // Residents' status and follow-up links point at the web app (none without it).
        let residentLinks = reader.nonEmptyString(forKey: "notification.web.url").map { url in
            ResidentLinks(
                baseURL: url,
                followUp: reader.string(forKey: "gridloop.auth.secret", isSecret: true).flatMap { $0.isEmpty ? nil : FollowUpLink(authSecret: $0) }
            )
        }
        let allowPrivate = reader.bool(forKey: "notification.allow.private.targets", default: false)
        let retry = RetryPolicy(
            initialDelay: .milliseconds(reader.int(forKey: "notification.retry.initial.ms", default: 1000)),
            maximumDelay: .milliseconds(reader.int(forKey: "notification.retry.maximum.ms", default: 300_000)),
            maxAttempts: reader.int(forKey: "notification.retry.attempts", default: 10)
        )
        let protector = try DataProtector.fromConfiguration(reader)
        let deliveries = Deliveries(
            postgres: runtime.postgres,
            webhookURL: webhookURL,
            allowPrivateTargets: allowPrivate,
            planner: NotificationPlanner(
                rules: rules,
                templates: templates,
                enabledChannels: channels,
                residentLinks: residentLinks,
                communityRules: communityRules
            ),
            protector: protector
        )
        let sender = DeliverySender(
            postgres: runtime.postgres,
            wakeup: deliveries.wakeup,
            secrets: secrets,
            retry: retry,
            concurrency: reader.int(forKey: "notification.concurrency", default: 8),
            timeout: timeout,
            smsGatewayURL: smsGatewayURL,
            protector: protector,
            smtp: smtp,
            digests: DigestBuilder(postgres: runtime.postgres, templates: templates, logger: runtime.logger),
            lease: .seconds(reader.int(forKey: "notification.lease.seconds", default: 60)),
            logger: runtime.logger
        )
        return runtime.makeApplication(
            services: [sender],
            consumers: [
                runtime.consumer(
                    queue: GridLoopQueue.notificationEvents,
                    topology: GridLoopTopology.notificationEvents,
                    transactional: deliveries.event,
                    afterCommit: deliveries.eventsCommitted
                )
            ]
        )
    }

    /// notification's schema migrations (for `gridloop migrate`).
    package static let migrator = Migrator(schema: NotificationSchema.name, migrations: NotificationSchema.migrations)
}

extension ConfigReader {
    /// A string setting, with an empty value (`VAR=` in a compose or env file) meaning unset.
    func nonEmptyString(forKey key: ConfigKey, isSecret: Bool = false) -> String? {
        string(forKey: key, isSecret: isSecret).flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
    }
}
