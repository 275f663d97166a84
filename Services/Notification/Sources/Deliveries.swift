import Foundation
import GridLoopDomain
import GridLoopPersistence
import GridLoopServiceSupport
import Logging
import PostgresNIO

/// Turns events into delivery records, in the same transaction as the event's inbox claim (a
/// redelivered event never records, and so never sends, twice): the integration webhook gets
/// the event itself; people get the messages the ``NotificationPlanner`` plans for them (for a
/// request's events from its ``EventFacts``, for the community events from their ``CommunityFacts``).
struct Deliveries: Sendable {
    let postgres: PostgresClient
    /// The integration webhook (`NOTIFICATION_WEBHOOK_URL`): every assignment-like event and alert, as JSON.
    let webhookURL: String?
    let allowPrivateTargets: Bool
    let planner: NotificationPlanner
    /// Residents' phones are kept sealed; opened only to plan and send an SMS.
    let protector: DataProtector
    let inbox = Inbox(schema: NotificationSchema.name)
    let directory = Directory()
    let wakeup = AsyncWakeup()

    /// The event types the integration webhook receives.
    static let integrationEvents: Set<String> = [
        MessageType.requestAssigned, MessageType.requestEscalated, MessageType.requestReturned, MessageType.requestReopened,
        MessageType.requestSummoned, MessageType.requestReassigned, MessageType.streetInformed, MessageType.requestOverdue,
        MessageType.deadlineWarning, MessageType.requestUnlinked,
    ]

    /// One event, in the consumer's transaction (shared by the deliveries taken together): the
    /// messages it causes are recorded; ``eventsCommitted()`` then wakes the sender.
    func event(_ delivery: Delivery, on connection: PostgresConnection) async throws {
        let header = delivery.header
        let logger = delivery.logger
        logger.info("event", metadata: ["request.version": "\(header.requestVersion ?? 0)"])
        let event: RequestEvent?
        do {
            event = try RequestEvent(type: header.type, body: delivery.message.body)
        } catch RequestEventDecodingError.unknownType {
            event = nil  // not an event notification knows: only claimed in the inbox
        } catch {
            throw PoisonMessage(error.description)
        }
        let facts = event.flatMap(EventFacts.init)
        let community = event.flatMap(CommunityFacts.init)
        guard try await inbox.claim(header.messageId, type: header.type, on: connection, logger: logger) else { return }
        if Self.integrationEvents.contains(header.type), let webhookURL {
            try await recordIntegrationWebhook(
                header,
                body: String(decoding: delivery.message.body, as: UTF8.self),
                url: webhookURL,
                on: connection,
                logger: logger
            )
        }
        if let facts {
            _ = try await recordMessages(for: facts, redelivered: delivery.message.redelivered, on: connection, logger: logger)
        }
        if let community {
            _ = try await recordMessages(for: community, redelivered: delivery.message.redelivered, on: connection, logger: logger)
        }
        if case .recategorized(let change)? = event?.kind, let version = header.requestVersion {
            // Later messages name the corrected category (and treat it as urgent if it is).
            try await connection.query(
                """
                INSERT INTO notification.requests (request_id, category, category_version) VALUES (\(change.requestId), \(change.to), \(version))
                ON CONFLICT (request_id) DO UPDATE SET category = excluded.category, category_version = excluded.category_version
                WHERE notification.requests.category_version < excluded.category_version
                """,
                logger: logger
            )
        }
    }

    /// After the commit of one or more events: the sender looks for what they recorded.
    func eventsCommitted() {
        wakeup.wake()
    }

    private func recordIntegrationWebhook(
        _ header: EnvelopeHeader,
        body: String,
        url: String,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        // A target on loopback, private or link-local addresses is refused unless allowed:
        // the delivery is recorded as failed with the reason, visible and retryable.
        let refusal = allowPrivateTargets ? nil : WebhookTarget.refusal(url)
        try await connection.query(
            """
            INSERT INTO notification.deliveries (id, event_id, request_id, channel, target, payload, status, last_error, recipient, template)
            VALUES (\("\(header.messageId):webhook"), \(header.messageId), \(header.requestId), 'webhook', \(url), \(body),
                \(refusal == nil ? "pending" : "failed"), \(refusal), 'integration', \(header.type))
            ON CONFLICT (id) DO NOTHING
            """,
            logger: logger
        )
    }

    private func recordMessages(for facts: EventFacts, redelivered: Bool, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        if let submission = facts.submission {
            try await remember(submission, requestId: facts.requestId, on: connection, logger: logger)
        } else if facts.type == MessageType.requestMerged, let into = facts.into {
            try await connection.query(
                """
                INSERT INTO notification.links (request_id, into_request_id) VALUES (\(facts.requestId), \(into))
                ON CONFLICT (request_id) DO UPDATE SET into_request_id = excluded.into_request_id
                """,
                logger: logger
            )
        } else if facts.type == MessageType.requestUnlinked {
            // Taken out of its incident: told about its own resolution from now on, not the lead's.
            try await connection.query("DELETE FROM notification.links WHERE request_id = \(facts.requestId)", logger: logger)
        } else if facts.type == MessageType.requestAssigned, let unit = facts.units.first, unit.tier == .grid {
            // The first grid assignment names the reporter's grid (for requests given by address).
            try await connection.query(
                """
                INSERT INTO notification.requests (request_id, grid, category, description) VALUES (\(facts.requestId), \(unit.id), \(facts.category), \(facts.description))
                ON CONFLICT (request_id) DO UPDATE SET grid = coalesce(notification.requests.grid, excluded.grid)
                """,
                logger: logger
            )
        }
        guard !planner.rules.rules(for: facts.type).isEmpty else { return 0 }
        let request = try await contact(of: facts.requestId, on: connection, logger: logger)
        if request == nil, planner.needsRequestContact(facts.type), !redelivered {
            // request.received (from intake) and this event (from routing) can be handled
            // concurrently; retry until the reporter is known. A redelivered event goes on
            // without them (a request from before notification knew it).
            throw RequestNotYetKnown(requestId: facts.requestId)
        }
        var directory = try await directory.view(
            units: facts.units,
            extraUnits: [facts.by, facts.department].compactMap { $0 },
            grid: request?.grid,
            on: connection,
            logger: logger
        )
        if let staff = facts.staff, directory.staffNames[staff] == nil {
            directory.staffNames[staff] = try await self.directory.staffName(staff, on: connection, logger: logger)
        }
        let planned = planner.plan(facts, request: request, directory: directory, now: Date())
        for message in planned {
            try await record(message, eventId: facts.eventId, requestId: facts.requestId, eventType: facts.type, on: connection, logger: logger)
        }
        return planned.count
    }

    /// Records the messages of a community event, filed under no request. Remembers an opened
    /// consultation's question, grids and rule, so that its grid staff hear the result when it
    /// closes (a close seen before its opening is retried, as a request's event is; redelivered,
    /// it goes on without them). A notice SMS's number is opened here only to be sealed again
    /// in its delivery row; a notice SMS that cannot go is logged, without the number.
    private func recordMessages(
        for facts: CommunityFacts,
        redelivered: Bool,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Int {
        var facts = facts
        if facts.type == MessageType.consultationOpened {
            try await connection.query(
                """
                INSERT INTO notification.consultations (id, question, grids, rule)
                VALUES (\(facts.subjectId), \(facts.question ?? ""), \(facts.grids), \(facts.votingRule))
                ON CONFLICT (id) DO NOTHING
                """,
                logger: logger
            )
        } else if facts.type == MessageType.consultationClosed {
            let rows = try await connection.query(
                "SELECT question, grids, rule FROM notification.consultations WHERE id = \(facts.subjectId)",
                logger: logger
            ).collect()
            if let row = rows.first {
                (facts.question, facts.grids, facts.votingRule) = try row.decode((String?, [String], String?).self)
            } else if !redelivered {
                throw ConsultationNotYetKnown(consultationId: facts.subjectId)
            } else {
                logger.warning(
                    "a consultation closed that notification never saw opened: its grid staff are not told",
                    metadata: ["consultation.id": "\(facts.subjectId)"]
                )
            }
        }
        let rules = planner.communityRules.rules(for: facts.ruleKey)
        guard !rules.isEmpty else { return 0 }
        let audiences = Set(rules.map(\.to))
        // The names of the grids, the street and the publishing unit, for the messages.
        var named = facts.grids.compactMap { try? UnitRef(tier: .grid, id: $0) }
        if let unit = facts.unit { named.append(unit) }
        if let street = facts.street, let ref = try? UnitRef(tier: .street, id: street) { named.append(ref) }
        let directory = try await directory.view(
            units: [],
            extraUnits: named,
            grid: nil,
            staffOfGrids: audiences.contains(.gridStaff) ? facts.grids : [],
            officersOfStreets: audiences.contains(.streetOfficers) ? [facts.street].compactMap { $0 } : [],
            on: connection,
            logger: logger
        )
        let resident = audiences.contains(.resident) ? facts.resident(opening: protector) : nil
        let planned = planner.plan(facts, resident: resident, directory: directory, now: Date())
        if audiences.contains(.resident), facts.phoneSealed != nil, !planned.contains(where: { $0.recipient.key.hasPrefix("resident:") }) {
            let reason: String
            if resident == nil {
                reason = "the number does not open with the data key (GRIDLOOP_DATA_KEY)"
            } else if planner.residentLinks == nil {
                reason = "no NOTIFICATION_WEB_URL for the confirm link"
            } else {
                reason = "no SMS gateway (NOTIFICATION_SMS_URL)"
            }
            logger.warning(
                "notice SMS not sent: the household stays uninformed until told another way",
                metadata: ["notice.id": "\(facts.subjectId)", "household.id": "\(facts.householdId ?? "-")", "reason": "\(reason)"]
            )
        }
        for message in planned {
            try await record(message, eventId: facts.eventId, requestId: nil, eventType: facts.type, on: connection, logger: logger)
        }
        return planned.count
    }

    /// Stores the reporter's contact and the request's grid from `request.received`.
    private func remember(_ submission: Submission, requestId: String, on connection: PostgresConnection, logger: Logger) async throws {
        var grid = submission.location.gridId
        if grid == nil, let household = submission.location.householdId {
            grid = try await directory.grid(ofHousehold: household, on: connection, logger: logger)
        }
        // Sealed at rest (events from before phones were sealed carry the number itself).
        let reporter = submission.reporter.protected(by: protector)
        try await connection.query(
            """
            INSERT INTO notification.requests (request_id, reporter_name, reporter_phone, reporter_email, language, grid, category, description)
            VALUES (\(requestId), \(reporter.name), \(reporter.phoneSealed), \(reporter.email), \(reporter.language ?? NotificationTemplates.defaultLanguage), \(grid),
                \(submission.category), \(submission.description))
            ON CONFLICT (request_id) DO UPDATE SET reporter_name = excluded.reporter_name, reporter_phone = excluded.reporter_phone,
                reporter_email = excluded.reporter_email, language = excluded.language, grid = coalesce(excluded.grid, notification.requests.grid),
                category = CASE WHEN notification.requests.category_version > 0 THEN notification.requests.category ELSE excluded.category END,
                description = excluded.description
            """,
            logger: logger
        )
    }

    private func contact(of requestId: String, on connection: PostgresConnection, logger: Logger) async throws -> RequestContact? {
        let rows = try await connection.query(
            "SELECT reporter_name, reporter_phone, reporter_email, language, grid, category, description FROM notification.requests WHERE request_id = \(requestId)",
            logger: logger
        )
        for try await (name, phone, email, language, grid, category, description) in rows.decode(
            (String?, String?, String?, String?, String?, String?, String?).self
        ) {
            let reporter = name.map {
                Recipient(key: "reporter", name: $0, language: language ?? NotificationTemplates.defaultLanguage, email: email, phone: opened(phone))
            }
            var contact = RequestContact(reporter: reporter, grid: grid, category: category, description: description)
            let linked = try await connection.query(
                """
                SELECT r.request_id, r.reporter_name, r.reporter_phone, r.reporter_email, r.language FROM notification.links l
                JOIN notification.requests r ON r.request_id = l.request_id WHERE l.into_request_id = \(requestId) ORDER BY r.request_id
                """,
                logger: logger
            )
            for try await (id, name, phone, email, language) in linked.decode((String, String?, String?, String?, String?).self) {
                guard let name else { continue }
                var recipient = Recipient(
                    key: "reporter:\(id)",
                    name: name,
                    language: language ?? NotificationTemplates.defaultLanguage,
                    email: email,
                    phone: opened(phone)
                )
                recipient.ownRequestId = id
                contact.linked.append(recipient)
            }
            return contact
        }
        return nil
    }

    /// A stored phone opened for planning; one that does not open (a key dropped too early) means no SMS.
    private func opened(_ sealed: String?) -> String? {
        sealed.flatMap { try? protector.open($0) }
    }

    /// Records one planned message (filed under `requestId`, if about a request): a digest item,
    /// or a delivery with an SMS number sealed.
    private func record(
        _ message: PlannedMessage,
        eventId: String,
        requestId: String?,
        eventType: String,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        switch message.dispatch {
        case .digest:
            try await connection.query(
                """
                INSERT INTO notification.digest_items (item_id, recipient, recipient_name, channel, target, language, request_id, line)
                VALUES (\(message.id), \(message.recipient.key), \(message.recipient.name), \(message.channel.rawValue), \(message.target),
                    \(message.language), \(requestId), \(message.message.subject))
                ON CONFLICT (item_id) DO NOTHING
                """,
                logger: logger
            )
        case .at(let when):
            // An SMS's number is sealed in the row and its payload; the sender opens it for the gateway.
            let (target, payload) = try DeliveryPayload.stored(message, requestId: requestId, event: eventType, protector: protector)
            let refusal = message.channel == .webhook && !allowPrivateTargets ? WebhookTarget.refusal(target) : nil
            try await connection.query(
                """
                INSERT INTO notification.deliveries
                    (id, event_id, request_id, channel, target, payload, status, last_error, next_attempt_at, recipient, template, language, subject)
                VALUES (\(message.id), \(eventId), \(requestId), \(message.channel.rawValue), \(target), \(payload),
                    \(refusal == nil ? "pending" : "failed"), \(refusal), \(when), \(message.recipient.key), \(message.template), \(message.language), \(message.message.subject))
                ON CONFLICT (id) DO NOTHING
                """,
                logger: logger
            )
        }
    }
}

/// An event about a request whose `request.received` has not been handled yet (retried).
struct RequestNotYetKnown: Error, CustomStringConvertible {
    var requestId: String
    var description: String { "request \(requestId) not known yet (its request.received is still on the way)" }
}
