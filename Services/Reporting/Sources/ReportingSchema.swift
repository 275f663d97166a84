import GridLoopPersistence

/// reporting's tables (schema `reporting`).
enum ReportingSchema {
    static let name = "reporting"
    static let migrations: [Migration] = [
        .messaging(schema: name, version: 1),
        Migration(
            version: 2,
            name: "request read model",
            statements: [
                """
                CREATE TABLE reporting.requests (
                    id text PRIMARY KEY,
                    state text NOT NULL,
                    tier text,
                    unit text,
                    category text,
                    version integer NOT NULL,
                    received_at timestamptz,
                    updated_at timestamptz NOT NULL
                )
                """
            ]
        ),
        Migration(
            version: 3,
            name: "event store, assignments, daily rollups, visits, directory",
            statements: [
                """
                CREATE TABLE reporting.events (
                    seq bigserial PRIMARY KEY,
                    message_id text NOT NULL UNIQUE,
                    type text NOT NULL,
                    request_id text,
                    occurred_at timestamptz NOT NULL,
                    body text NOT NULL
                )
                """,
                """
                ALTER TABLE reporting.requests
                    ADD COLUMN grid text, ADD COLUMN household text, ADD COLUMN submitted_by text, ADD COLUMN channel text,
                    ADD COLUMN reporter_name text, ADD COLUMN reporter_phone text, ADD COLUMN description text,
                    ADD COLUMN claim_due_at timestamptz, ADD COLUMN resolve_due_at timestamptz, ADD COLUMN overdue_at timestamptz,
                    ADD COLUMN resolved_unit text, ADD COLUMN resolved_at timestamptz, ADD COLUMN closed_at timestamptz,
                    ADD COLUMN satisfaction text, ADD COLUMN reopens integer NOT NULL DEFAULT 0
                """,
                "CREATE INDEX requests_open ON reporting.requests (state) WHERE state NOT IN ('closed', 'rejected', 'merged')",
                """
                CREATE TABLE reporting.assignments (
                    id text PRIMARY KEY,
                    request_id text NOT NULL,
                    unit text NOT NULL,
                    assigned_at timestamptz NOT NULL,
                    claim_due_at timestamptz,
                    claimed_at timestamptz,
                    resolve_due_at timestamptz,
                    resolved_at timestamptz
                )
                """,
                "CREATE INDEX assignments_by_request ON reporting.assignments (request_id)",
                """
                CREATE TABLE reporting.daily (
                    day date NOT NULL,
                    unit text NOT NULL,
                    metric text NOT NULL,
                    value bigint NOT NULL,
                    PRIMARY KEY (day, unit, metric)
                )
                """,
                """
                CREATE TABLE reporting.monthly (
                    month date NOT NULL,
                    unit text NOT NULL,
                    metric text NOT NULL,
                    value bigint NOT NULL,
                    PRIMARY KEY (month, unit, metric)
                )
                """,
                "CREATE TABLE reporting.visits (id text PRIMARY KEY, staff text NOT NULL, household text NOT NULL, visited_at timestamptz NOT NULL)",
                """
                CREATE TABLE reporting.units (
                    ref text PRIMARY KEY,
                    name text NOT NULL,
                    street text,
                    households integer NOT NULL DEFAULT 0,
                    population integer NOT NULL DEFAULT 0
                )
                """,
                "CREATE TABLE reporting.staff (id text PRIMARY KEY, name text NOT NULL, role text NOT NULL, unit text NOT NULL)",
                "CREATE TABLE reporting.settings (id integer PRIMARY KEY CHECK (id = 1), utc_offset integer NOT NULL DEFAULT 28800)",
            ]
        ),
        Migration(
            version: 4,
            name: "overdue list index",
            statements: [
                "CREATE INDEX requests_overdue ON reporting.requests (overdue_at) WHERE overdue_at IS NOT NULL AND state NOT IN ('closed', 'rejected', 'merged', 'resolved')"
            ]
        ),
        // The request page reads a request's events; without this it scanned the whole store.
        Migration(
            version: 5,
            name: "events by request",
            statements: [
                "CREATE INDEX events_by_request ON reporting.events (request_id)"
            ]
        ),
        // The event store is reporting's copy of the trail: appended, never rewritten.
        .serviceRole(schema: name, version: 6, appendOnly: ["events"]),
        // A row the broker keeps refusing backs off and is parked instead of holding the outbox up.
        .outboxParking(schema: name, version: 7),
        // 分析研判: hotspots and recurring problems read the request rows by place and category;
        // the problem of the month (每月一题) is a tracked item with its progress notes.
        Migration(
            version: 8,
            name: "hotspots, recurring problems, problem of the month",
            statements: [
                "ALTER TABLE reporting.requests ADD COLUMN address text",
                "CREATE INDEX requests_by_household ON reporting.requests (category, household, received_at) WHERE household IS NOT NULL",
                "CREATE INDEX requests_by_address ON reporting.requests (category, address, received_at) WHERE address IS NOT NULL",
                "CREATE INDEX requests_received ON reporting.requests (received_at)",
                """
                CREATE TABLE reporting.focus_items (
                    id uuid PRIMARY KEY,
                    month text NOT NULL UNIQUE,
                    grid text,
                    category text NOT NULL,
                    title text NOT NULL,
                    owner text NOT NULL,
                    due_on date NOT NULL,
                    progress integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
                    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
                    marked_by text NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    updated_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                """
                CREATE TABLE reporting.focus_notes (
                    id uuid PRIMARY KEY,
                    item_id uuid NOT NULL REFERENCES reporting.focus_items (id),
                    staff text NOT NULL,
                    note text NOT NULL,
                    progress integer NOT NULL CHECK (progress BETWEEN 0 AND 100),
                    at timestamptz NOT NULL DEFAULT now()
                )
                """,
                "CREATE INDEX focus_notes_by_item ON reporting.focus_notes (item_id, at)",
            ]
        ),
        // Progress notes are a record: appended, never rewritten.
        .serviceRole(schema: name, version: 9, appendOnly: ["events", "focus_notes"]),
        // The category classifier `gridloop reports train` fits on the district's closed requests.
        Migration(
            version: 10,
            name: "category classifier models",
            statements: [
                """
                CREATE TABLE reporting.classifier_models (
                    id bigserial PRIMARY KEY,
                    trained_at timestamptz NOT NULL DEFAULT now(),
                    examples integer NOT NULL,
                    held_out integer NOT NULL,
                    accuracy double precision NOT NULL,
                    model text NOT NULL
                )
                """
            ]
        ),
        // Corrections of the category apply in version order, whatever the order they arrive in.
        Migration(
            version: 11,
            name: "category corrections",
            statements: ["ALTER TABLE reporting.requests ADD COLUMN category_version integer NOT NULL DEFAULT 0"]
        ),
        // The community half of the job (#20), projected by `CommunityProjection`: notices' coverage,
        // consultations' positions, micro-wishes, green points (rebuilt with the others).
        Migration(
            version: 12,
            name: "community read models",
            statements: [
                """
                CREATE TABLE reporting.notices (
                    id text PRIMARY KEY,
                    title text NOT NULL,
                    title_en text,
                    due_on date NOT NULL,
                    published_on date NOT NULL,
                    published_by text NOT NULL,
                    unit text NOT NULL,
                    published_at timestamptz NOT NULL
                )
                """,
                "CREATE INDEX notices_by_due_on ON reporting.notices (due_on)",
                """
                CREATE TABLE reporting.notice_grids (
                    notice_id text NOT NULL,
                    grid text NOT NULL,
                    street text,
                    households integer,
                    informed integer NOT NULL DEFAULT 0,
                    on_time integer NOT NULL DEFAULT 0,
                    via_visit integer NOT NULL DEFAULT 0,
                    via_phone integer NOT NULL DEFAULT 0,
                    via_sms integer NOT NULL DEFAULT 0,
                    sms_sent integer NOT NULL DEFAULT 0,
                    reminded_at timestamptz,
                    overdue_at timestamptz,
                    PRIMARY KEY (notice_id, grid)
                )
                """,
                """
                CREATE TABLE reporting.notice_informs (
                    notice_id text NOT NULL,
                    household text NOT NULL,
                    grid text NOT NULL,
                    street text NOT NULL,
                    staff text NOT NULL,
                    via text NOT NULL,
                    on_time boolean NOT NULL,
                    informed_at timestamptz NOT NULL,
                    PRIMARY KEY (notice_id, household)
                )
                """,
                """
                CREATE TABLE reporting.consultations (
                    id text PRIMARY KEY,
                    question text NOT NULL,
                    options text[] NOT NULL,
                    ends_on date NOT NULL,
                    rule text NOT NULL,
                    opened_on date NOT NULL,
                    opened_by text NOT NULL,
                    unit text NOT NULL,
                    opened_at timestamptz NOT NULL,
                    closed_at timestamptz,
                    closed_by text,
                    result text,
                    meeting_outcome text,
                    closed_households integer,
                    closed_tally jsonb
                )
                """,
                """
                CREATE TABLE reporting.consultation_grids (
                    consultation_id text NOT NULL,
                    grid text NOT NULL,
                    households integer NOT NULL,
                    PRIMARY KEY (consultation_id, grid)
                )
                """,
                """
                CREATE TABLE reporting.consultation_positions (
                    consultation_id text NOT NULL,
                    household text NOT NULL,
                    grid text NOT NULL,
                    street text NOT NULL,
                    option text NOT NULL,
                    concerns boolean NOT NULL,
                    staff text NOT NULL,
                    recorded_at timestamptz NOT NULL,
                    changes integer NOT NULL DEFAULT 0,
                    PRIMARY KEY (consultation_id, household)
                )
                """,
                """
                CREATE TABLE reporting.wishes (
                    id text PRIMARY KEY,
                    household text NOT NULL,
                    grid text NOT NULL,
                    street text NOT NULL,
                    kind text NOT NULL,
                    state text NOT NULL,
                    step integer NOT NULL,
                    collected_on date,
                    adopted_on date,
                    fulfilled_on date,
                    confirmed_on date,
                    adopter_kind text,
                    adopter_name text,
                    updated_at timestamptz NOT NULL
                )
                """,
                "CREATE INDEX wishes_by_collected_on ON reporting.wishes (collected_on)",
                """
                CREATE TABLE reporting.point_scores (
                    month text NOT NULL,
                    household text NOT NULL,
                    grid text NOT NULL,
                    street text NOT NULL,
                    points integer NOT NULL,
                    worker_points integer NOT NULL,
                    scored_at timestamptz NOT NULL,
                    scores integer NOT NULL,
                    PRIMARY KEY (month, household)
                )
                """,
                """
                CREATE TABLE reporting.point_redemptions (
                    id text PRIMARY KEY,
                    household text NOT NULL,
                    grid text NOT NULL,
                    street text NOT NULL,
                    goods_id text NOT NULL,
                    goods_name text NOT NULL,
                    quantity integer NOT NULL,
                    points integer NOT NULL,
                    month text NOT NULL,
                    at timestamptz NOT NULL
                )
                """,
                "CREATE INDEX point_redemptions_by_month ON reporting.point_redemptions (month, street)",
                """
                CREATE TABLE reporting.goods_donations (
                    id text PRIMARY KEY,
                    street text NOT NULL,
                    goods_id text NOT NULL,
                    goods_name text NOT NULL,
                    quantity integer NOT NULL,
                    donor text NOT NULL,
                    month text NOT NULL,
                    at timestamptz NOT NULL
                )
                """,
                "CREATE INDEX goods_donations_by_month ON reporting.goods_donations (month, street)",
            ]
        ),
    ]
}
