import GridLoopPersistence

/// intake's schema: requests as submitted, with their current status and trail.
enum IntakeSchema {
    static let name = "intake"

    static let migrations: [Migration] = [
        Migration(
            version: 1,
            name: "requests and trail",
            statements: [
                """
                CREATE TABLE intake.requests (
                    id uuid PRIMARY KEY,
                    idempotency_key text UNIQUE,
                    category text NOT NULL,
                    description text NOT NULL,
                    grid_id text,
                    household_id text,
                    address text,
                    reporter_name text NOT NULL,
                    reporter_phone text NOT NULL,
                    channel text NOT NULL,
                    submitted_by text,
                    state text NOT NULL,
                    unit text,
                    version integer NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    updated_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                """
                CREATE TABLE intake.trail (
                    event_id text PRIMARY KEY,
                    request_id uuid NOT NULL REFERENCES intake.requests (id),
                    seq integer NOT NULL,
                    version integer NOT NULL,
                    event_type text NOT NULL,
                    state text NOT NULL,
                    unit text,
                    actor text,
                    detail text,
                    occurred_at timestamptz NOT NULL,
                    recorded_at timestamptz NOT NULL DEFAULT now(),
                    prev_hash text NOT NULL,
                    hash text NOT NULL,
                    UNIQUE (request_id, seq)
                )
                """,
                // 全程留痕: the trail is append-only for everyone but its owner disabling this on purpose.
                """
                CREATE FUNCTION intake.trail_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'the trail is append-only: % refused', TG_OP; END $$
                """,
                "CREATE TRIGGER trail_append_only BEFORE UPDATE OR DELETE ON intake.trail FOR EACH ROW EXECUTE FUNCTION intake.trail_is_append_only()",
                "CREATE TRIGGER trail_no_truncate BEFORE TRUNCATE ON intake.trail FOR EACH STATEMENT EXECUTE FUNCTION intake.trail_is_append_only()",
            ]
        ),
        .messaging(schema: name, version: 2),
        Migration(
            version: 3,
            name: "Open311: services, units, API keys, request extras",
            statements: [
                "CREATE TABLE intake.services (code text PRIMARY KEY, name text NOT NULL, description text NOT NULL, grp text NOT NULL, keywords text NOT NULL)",
                "CREATE TABLE intake.units (ref text PRIMARY KEY, name text NOT NULL)",
                "CREATE TABLE intake.settings (id integer PRIMARY KEY CHECK (id = 1), jurisdiction text NOT NULL)",
                """
                CREATE TABLE intake.api_keys (
                    id text PRIMARY KEY,
                    name text NOT NULL,
                    key_hash text NOT NULL UNIQUE,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    revoked_at timestamptz
                )
                """,
                """
                CREATE TABLE intake.open311 (
                    request_id uuid PRIMARY KEY REFERENCES intake.requests (id),
                    api_key_id text,
                    email text,
                    device_id text,
                    account_id text,
                    media_url text
                )
                """,
                "ALTER TABLE intake.requests ADD COLUMN latitude double precision, ADD COLUMN longitude double precision, ADD COLUMN expected_at timestamptz, ADD COLUMN reported_at timestamptz",
                "CREATE INDEX requests_by_creation ON intake.requests (created_at)",
            ]
        ),
        // The services' least-privilege role: the trail is read and appended, never rewritten.
        .serviceRole(schema: name, version: 4, appendOnly: ["trail"]),
        // Phones are sealed (GRIDLOOP_DATA_KEY) and found by a keyed hash; `gridloop data rekey` seals older rows.
        Migration(
            version: 5,
            name: "reporter phone hash",
            statements: [
                "ALTER TABLE intake.requests ADD COLUMN reporter_phone_hash text",
                "CREATE INDEX requests_by_phone_hash ON intake.requests (reporter_phone_hash)",
            ]
        ),
        // A row the broker keeps refusing backs off and is parked instead of holding the outbox up.
        .outboxParking(schema: name, version: 6),
        // Evidence photos (re-encoded, without metadata) on a submission or a resolution; the
        // bytes here, or in INTAKE_PHOTO_DIR when one is configured (then `content` is NULL).
        Migration(
            version: 7,
            name: "evidence photos",
            statements: [
                """
                CREATE TABLE intake.photos (
                    id uuid PRIMARY KEY, request_id uuid NOT NULL REFERENCES intake.requests (id), stage text NOT NULL,
                    content bytea, thumbnail bytea, width integer NOT NULL, height integer NOT NULL, bytes integer NOT NULL,
                    added_by text NOT NULL, created_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                "CREATE INDEX photos_by_request ON intake.photos (request_id, created_at)",
            ]
        ),
        // A form sent twice (a double tap, a phone's resend after the signal came back) adds its photo once.
        Migration(
            version: 8,
            name: "photo idempotency keys",
            statements: [
                "ALTER TABLE intake.photos ADD COLUMN idempotency_key text",
                "CREATE UNIQUE INDEX photos_by_idempotency_key ON intake.photos (request_id, idempotency_key)",
            ]
        ),
        // Corrections of the category apply in version order, whatever the order they arrive in.
        Migration(
            version: 9,
            name: "category corrections",
            statements: ["ALTER TABLE intake.requests ADD COLUMN category_version integer NOT NULL DEFAULT 0"]
        ),
    ]
}
