import GridLoopPersistence

/// notification's tables (schema `notification`).
enum NotificationSchema {
    static let name = "notification"
    static let migrations: [Migration] = [
        .messaging(schema: name, version: 1),
        Migration(
            version: 2,
            name: "deliveries",
            statements: [
                """
                CREATE TABLE notification.deliveries (
                    id text PRIMARY KEY,
                    event_id text NOT NULL,
                    request_id text,
                    channel text NOT NULL,
                    target text NOT NULL,
                    payload text NOT NULL,
                    status text NOT NULL DEFAULT 'pending',
                    attempts integer NOT NULL DEFAULT 0,
                    next_attempt_at timestamptz NOT NULL DEFAULT now(),
                    last_error text,
                    delivered_at timestamptz,
                    created_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                "CREATE INDEX deliveries_due ON notification.deliveries (next_attempt_at) WHERE status = 'pending'",
            ]
        ),
        Migration(
            version: 3,
            name: "delivery attempts",
            statements: [
                """
                CREATE TABLE notification.attempts (
                    id bigserial PRIMARY KEY,
                    delivery_id text NOT NULL REFERENCES notification.deliveries (id),
                    attempted_at timestamptz NOT NULL DEFAULT now(),
                    status_code integer,
                    latency_ms integer NOT NULL,
                    error text
                )
                """,
                "CREATE INDEX attempts_by_delivery ON notification.attempts (delivery_id)",
            ]
        ),
        Migration(
            version: 4,
            name: "recipients, requests, digests",
            statements: [
                """
                CREATE TABLE notification.recipients (
                    id text PRIMARY KEY,
                    name text NOT NULL,
                    role text NOT NULL,
                    unit text NOT NULL,
                    language text NOT NULL DEFAULT 'zh',
                    email text,
                    phone text,
                    webhook text,
                    quiet_hours text,
                    digest_seconds integer
                )
                """,
                "CREATE INDEX recipients_by_unit ON notification.recipients (unit)",
                "CREATE TABLE notification.units (ref text PRIMARY KEY, name text NOT NULL)",
                "CREATE TABLE notification.households (id text PRIMARY KEY, grid text NOT NULL)",
                """
                CREATE TABLE notification.settings (
                    id integer PRIMARY KEY CHECK (id = 1),
                    urgent text[] NOT NULL DEFAULT '{}',
                    utc_offset integer NOT NULL DEFAULT 28800
                )
                """,
                """
                CREATE TABLE notification.requests (
                    request_id text PRIMARY KEY,
                    reporter_name text,
                    reporter_phone text,
                    reporter_email text,
                    language text,
                    grid text,
                    category text,
                    description text,
                    received_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                """
                CREATE TABLE notification.digest_items (
                    id bigserial PRIMARY KEY,
                    item_id text NOT NULL UNIQUE,
                    recipient text NOT NULL,
                    recipient_name text NOT NULL,
                    channel text NOT NULL,
                    target text NOT NULL,
                    language text NOT NULL,
                    request_id text,
                    line text NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    digest_id text
                )
                """,
                "CREATE INDEX digest_items_open ON notification.digest_items (recipient, channel) WHERE digest_id IS NULL",
                "ALTER TABLE notification.deliveries ADD COLUMN recipient text, ADD COLUMN template text, ADD COLUMN language text, ADD COLUMN subject text",
            ]
        ),
        Migration(
            version: 5,
            name: "merged requests",
            statements: [
                "CREATE TABLE notification.links (request_id text PRIMARY KEY, into_request_id text NOT NULL)",
                "CREATE INDEX links_by_target ON notification.links (into_request_id)",
            ]
        ),
        // `gridloop notifications for <request>` and the delivery log read a request's deliveries.
        Migration(
            version: 6,
            name: "deliveries by request",
            statements: [
                "CREATE INDEX deliveries_by_request ON notification.deliveries (request_id)"
            ]
        ),
        .serviceRole(schema: name, version: 7, appendOnly: []),
        // A row the broker keeps refusing backs off and is parked instead of holding the outbox up.
        .outboxParking(schema: name, version: 8),
        // A corrected category (request.recategorized) wins over the submission's, whatever the order they arrive in.
        Migration(
            version: 9,
            name: "category corrections",
            statements: ["ALTER TABLE notification.requests ADD COLUMN category_version integer NOT NULL DEFAULT 0"]
        ),
        // A consultation's question, grids and rule from its opening: its grid staff hear the result when it closes (#20).
        Migration(
            version: 10,
            name: "consultations",
            statements: [
                """
                CREATE TABLE notification.consultations (
                    id text PRIMARY KEY,
                    question text NOT NULL,
                    grids text[] NOT NULL,
                    rule text,
                    opened_at timestamptz NOT NULL DEFAULT now()
                )
                """
            ]
        ),
    ]
}
