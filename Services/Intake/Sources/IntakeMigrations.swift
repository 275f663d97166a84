import GridLoopPersistence

/// intake's schema: requests as submitted, with their current status and trail.
enum IntakeSchema {
    static let name = "intake"

    static let migrations: [Migration] = [
        Migration(version: 1, name: "requests and trail", statements: [
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
                version integer NOT NULL,
                event_type text NOT NULL,
                state text NOT NULL,
                unit text,
                actor text,
                detail text,
                occurred_at timestamptz NOT NULL,
                recorded_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX trail_by_request ON intake.trail (request_id, version)",
        ]),
        .messaging(schema: name, version: 2),
    ]
}
