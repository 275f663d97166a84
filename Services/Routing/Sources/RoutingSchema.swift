import GridLoopPersistence
import PostgresNIO

/// routing's schema: the org structure, the workflow state of every request, assignments.
enum RoutingSchema {
    static let name = "routing"

    /// Every migration: the requests' (below), the community work's (`communityMigrations`,
    /// 22–25) and the owner columns' writes made once (26).
    static let migrations: [Migration] = requestMigrations + communityMigrations + [ownerColumnsOnce]

    /// The triggers that keep a request's owner columns (its owner assignment, when it was
    /// assigned and claimed, the running deadlines) write the request's row only when a value
    /// changes. A new request is inserted with them already set, and its assignment and claim
    /// timers in one statement, so its row is written once instead of three times more (a new
    /// row version and every index's entry each time).
    static let ownerColumnsOnce = Migration(
        version: 26,
        name: "owner columns written only when they change",
        statements: [
            """
            CREATE OR REPLACE FUNCTION routing.owner_assignment_written() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.kind = 'owner' THEN
                    UPDATE routing.requests r SET owner_assignment_id = NEW.id, owner_assigned_at = NEW.assigned_at, owner_claimed_at = NEW.claimed_at,
                        (claim_due, resolve_due, claim_warning, resolve_warning) = (d.claim_due, d.resolve_due, d.claim_warning, d.resolve_warning)
                    FROM routing.owner_deadlines(NEW.id) d
                    WHERE r.id = NEW.request_id
                      AND (r.owner_assignment_id = NEW.id OR r.owner_assigned_at IS NULL OR r.owner_assigned_at <= NEW.assigned_at)
                      AND (r.owner_assignment_id, r.owner_assigned_at, r.owner_claimed_at, r.claim_due, r.resolve_due, r.claim_warning, r.resolve_warning)
                          IS DISTINCT FROM (NEW.id, NEW.assigned_at, NEW.claimed_at, d.claim_due, d.resolve_due, d.claim_warning, d.resolve_warning);
                END IF;
                RETURN NULL;
            END $$
            """,
            """
            CREATE OR REPLACE FUNCTION routing.timer_written() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE routing.requests r SET (claim_due, resolve_due, claim_warning, resolve_warning) = (d.claim_due, d.resolve_due, d.claim_warning, d.resolve_warning)
                FROM routing.owner_deadlines(NEW.assignment_id) d
                WHERE r.id = NEW.request_id AND r.owner_assignment_id = NEW.assignment_id
                  AND (r.claim_due, r.resolve_due, r.claim_warning, r.resolve_warning)
                      IS DISTINCT FROM (d.claim_due, d.resolve_due, d.claim_warning, d.resolve_warning);
                RETURN NULL;
            END $$
            """,
        ]
    )

    static let requestMigrations: [Migration] = [
        Migration(
            version: 1,
            name: "org structure",
            statements: [
                "CREATE TABLE routing.org_versions (version serial PRIMARY KEY, district text NOT NULL, source text NOT NULL, imported_at timestamptz NOT NULL DEFAULT now())",
                "CREATE TABLE routing.streets (id text PRIMARY KEY, name text NOT NULL, kind text NOT NULL)",
                """
                CREATE TABLE routing.grids (id text PRIMARY KEY, name text NOT NULL, street_id text NOT NULL REFERENCES routing.streets (id),
                    kind text NOT NULL, households integer NOT NULL, population integer NOT NULL)
                """,
                "CREATE TABLE routing.households (id text PRIMARY KEY, grid_id text NOT NULL REFERENCES routing.grids (id), address text NOT NULL)",
                "CREATE INDEX households_by_address ON routing.households (address)",
                "CREATE TABLE routing.departments (id text PRIMARY KEY, name text NOT NULL)",
                "CREATE TABLE routing.categories (id text PRIMARY KEY, department_id text NOT NULL REFERENCES routing.departments (id))",
                "CREATE TABLE routing.staff (id text PRIMARY KEY, name text NOT NULL, role text NOT NULL, unit text NOT NULL)",
            ]
        ),
        Migration(
            version: 2,
            name: "workflow",
            statements: [
                """
                CREATE TABLE routing.requests (
                    id uuid PRIMARY KEY,
                    state text NOT NULL,
                    unit text,
                    claimed_by text,
                    version integer NOT NULL,
                    category text NOT NULL,
                    description text NOT NULL,
                    correlation_id text NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    updated_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                """
                CREATE TABLE routing.assignments (
                    id uuid PRIMARY KEY,
                    request_id uuid NOT NULL REFERENCES routing.requests (id),
                    unit text NOT NULL,
                    reason text NOT NULL,
                    assigned_at timestamptz NOT NULL DEFAULT now(),
                    claimed_by text,
                    claimed_at timestamptz,
                    resolved_at timestamptz,
                    escalated_at timestamptz,
                    note text
                )
                """,
                "CREATE INDEX assignments_by_request ON routing.assignments (request_id)",
            ]
        ),
        .messaging(schema: name, version: 3),
        Migration(
            version: 4,
            name: "SLA policies and timers",
            statements: [
                "CREATE TABLE routing.sla_policies (category text PRIMARY KEY, claim_seconds bigint NOT NULL, resolve_seconds bigint NOT NULL)",
                """
                CREATE TABLE routing.timers (
                    id uuid PRIMARY KEY,
                    request_id uuid NOT NULL REFERENCES routing.requests (id),
                    assignment_id uuid NOT NULL REFERENCES routing.assignments (id),
                    kind text NOT NULL CHECK (kind IN ('claim', 'resolve')),
                    due_at timestamptz NOT NULL,
                    fired_at timestamptz,
                    cancelled_at timestamptz
                )
                """,
                "CREATE INDEX timers_due ON routing.timers (due_at) WHERE fired_at IS NULL AND cancelled_at IS NULL",
                "CREATE INDEX timers_by_assignment ON routing.timers (assignment_id)",
            ]
        ),
        Migration(
            version: 5,
            name: "arbitration and feedback",
            statements: [
                "ALTER TABLE routing.requests ADD COLUMN street_id text, ADD COLUMN reopen_count integer NOT NULL DEFAULT 0, ADD COLUMN satisfaction text"
            ]
        ),
        Migration(
            version: 6,
            name: "summons",
            statements: [
                // owner: the unit that has the request; summons: a department summoned alongside it.
                "ALTER TABLE routing.assignments ADD COLUMN kind text NOT NULL DEFAULT 'owner'",
                """
                CREATE TABLE routing.summons (
                    assignment_id uuid PRIMARY KEY REFERENCES routing.assignments (id),
                    request_id uuid NOT NULL REFERENCES routing.requests (id),
                    unit text NOT NULL,
                    summoned_by text NOT NULL,
                    acknowledged_by text,
                    acknowledged_at timestamptz,
                    done_at timestamptz,
                    note text
                )
                """,
                "CREATE INDEX summons_by_request ON routing.summons (request_id)",
            ]
        ),
        Migration(
            version: 7,
            name: "calendar, urgent and direct categories, deadline warnings",
            statements: [
                "CREATE TABLE routing.settings (key text PRIMARY KEY, value text NOT NULL)",
                "ALTER TABLE routing.categories ADD COLUMN direct boolean NOT NULL DEFAULT false",
                "ALTER TABLE routing.timers DROP CONSTRAINT timers_kind_check",
                "ALTER TABLE routing.timers ADD CONSTRAINT timers_kind_check CHECK (kind IN ('claim', 'resolve', 'claim-warning', 'resolve-warning'))",
            ]
        ),
        Migration(
            version: 8,
            name: "grid areas",
            statements: [
                "ALTER TABLE routing.grids ADD COLUMN area text"
            ]
        ),
        Migration(
            version: 9,
            name: "request locations for duplicate detection",
            statements: [
                "ALTER TABLE routing.requests ADD COLUMN household_id text, ADD COLUMN address text",
                "CREATE INDEX requests_open_by_category ON routing.requests (category, created_at) WHERE state NOT IN ('closed', 'rejected', 'merged')",
            ]
        ),
        Migration(
            version: 10,
            name: "incidents",
            statements: [
                """
                CREATE TABLE routing.incidents (
                    id uuid PRIMARY KEY,
                    grid_id text NOT NULL,
                    category text NOT NULL,
                    lead_request_id uuid NOT NULL REFERENCES routing.requests (id),
                    created_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                "CREATE INDEX incidents_by_place ON routing.incidents (grid_id, category, created_at)",
                "ALTER TABLE routing.requests ADD COLUMN incident_id uuid",
                "CREATE INDEX requests_by_unit_category ON routing.requests (unit, category, created_at) WHERE state = 'assigned'",
            ]
        ),
        .serviceRole(schema: name, version: 11, appendOnly: []),
        // Granted to the service role by the default privileges of version 11.
        Migration(
            version: 12,
            name: "staff sign-in secrets",
            statements: [
                "CREATE TABLE routing.staff_credentials (staff_id text PRIMARY KEY, secret_hash text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
            ]
        ),
        // A row the broker keeps refusing (an assignment for a unit whose queue was deleted)
        // backs off and is parked instead of holding the outbox up.
        .outboxParking(schema: name, version: 13),
        // The staff inbox: a unit's open requests and summonses, with the grid and the
        // duplicate hint each item shows.
        Migration(
            version: 14,
            name: "staff inbox",
            statements: [
                "ALTER TABLE routing.requests ADD COLUMN grid_id text, ADD COLUMN possible_duplicate_of uuid",
                "UPDATE routing.requests r SET grid_id = h.grid_id FROM routing.households h WHERE h.id = r.household_id AND r.grid_id IS NULL",
                "CREATE INDEX requests_open_by_unit ON routing.requests (unit) WHERE state IN ('assigned', 'claimed', 'resolved')",
                "CREATE INDEX summons_open_by_unit ON routing.summons (unit) WHERE done_at IS NULL",
                "CREATE INDEX requests_resolved_by_grid ON routing.requests (grid_id) WHERE state = 'resolved'",
                "CREATE INDEX assignments_owner_by_request ON routing.assignments (request_id, assigned_at DESC) WHERE kind = 'owner'",
            ]
        ),
        // The staff pages' org sheets: a grid's staff with the work phone printed on the door plates.
        Migration(
            version: 15,
            name: "staff work phones",
            statements: [
                "ALTER TABLE routing.staff ADD COLUMN work_phone text",
                "CREATE INDEX households_by_grid ON routing.households (grid_id, id)",
            ]
        ),
        // The inbox's page cut in one table: each request carries its current owner assignment and
        // that assignment's running deadlines, kept by triggers on the tables the workflow writes
        // (so every writer — commands, the SLA sweeper, imports — keeps them without knowing).
        Migration(
            version: 16,
            name: "inbox: current assignment and deadlines on the request",
            statements: [
                """
                ALTER TABLE routing.requests ADD COLUMN owner_assignment_id uuid, ADD COLUMN owner_assigned_at timestamptz,
                    ADD COLUMN owner_claimed_at timestamptz, ADD COLUMN claim_due timestamptz, ADD COLUMN resolve_due timestamptz,
                    ADD COLUMN claim_warning timestamptz, ADD COLUMN resolve_warning timestamptz
                """,
                """
                CREATE FUNCTION routing.owner_deadlines(assignment uuid) RETURNS TABLE (claim_due timestamptz, resolve_due timestamptz,
                    claim_warning timestamptz, resolve_warning timestamptz) LANGUAGE sql STABLE AS $$
                    SELECT max(due_at) FILTER (WHERE kind = 'claim'), max(due_at) FILTER (WHERE kind = 'resolve'),
                           max(due_at) FILTER (WHERE kind = 'claim-warning'), max(due_at) FILTER (WHERE kind = 'resolve-warning')
                    FROM routing.timers WHERE assignment_id = assignment AND cancelled_at IS NULL
                $$
                """,
                """
                CREATE FUNCTION routing.owner_assignment_written() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.kind = 'owner' THEN
                        UPDATE routing.requests r SET owner_assignment_id = NEW.id, owner_assigned_at = NEW.assigned_at, owner_claimed_at = NEW.claimed_at,
                            (claim_due, resolve_due, claim_warning, resolve_warning) = (SELECT * FROM routing.owner_deadlines(NEW.id))
                        WHERE r.id = NEW.request_id
                          AND (r.owner_assignment_id = NEW.id OR r.owner_assigned_at IS NULL OR r.owner_assigned_at <= NEW.assigned_at);
                    END IF;
                    RETURN NULL;
                END $$
                """,
                """
                CREATE TRIGGER assignments_keep_owner AFTER INSERT OR UPDATE OF claimed_at, assigned_at ON routing.assignments
                    FOR EACH ROW EXECUTE FUNCTION routing.owner_assignment_written()
                """,
                """
                CREATE FUNCTION routing.timer_written() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    UPDATE routing.requests r SET (claim_due, resolve_due, claim_warning, resolve_warning) = (SELECT * FROM routing.owner_deadlines(NEW.assignment_id))
                    WHERE r.id = NEW.request_id AND r.owner_assignment_id = NEW.assignment_id;
                    RETURN NULL;
                END $$
                """,
                """
                CREATE TRIGGER timers_keep_deadlines AFTER INSERT OR UPDATE OF cancelled_at, due_at ON routing.timers
                    FOR EACH ROW EXECUTE FUNCTION routing.timer_written()
                """,
                """
                UPDATE routing.requests r SET owner_assignment_id = a.id, owner_assigned_at = a.assigned_at, owner_claimed_at = a.claimed_at
                FROM (SELECT DISTINCT ON (request_id) request_id, id, assigned_at, claimed_at FROM routing.assignments
                      WHERE kind = 'owner' ORDER BY request_id, assigned_at DESC) a
                WHERE a.request_id = r.id
                """,
                """
                UPDATE routing.requests r SET (claim_due, resolve_due, claim_warning, resolve_warning) = (SELECT * FROM routing.owner_deadlines(r.owner_assignment_id))
                WHERE r.owner_assignment_id IS NOT NULL AND r.state IN ('assigned', 'claimed', 'resolved')
                """,
                // Covers the inbox's scan of a unit's open requests (an index-only scan: no wide rows read).
                """
                CREATE INDEX requests_inbox ON routing.requests (unit, state) INCLUDE (owner_assignment_id, owner_assigned_at, category, claimed_by,
                    claim_due, resolve_due, claim_warning, resolve_warning) WHERE state IN ('assigned', 'claimed', 'resolved')
                """,
            ]
        ),
        // The inbox read without walking every open item: the running deadline and warning time as
        // stored columns, one narrow index to count a unit's requests per state (an index-only scan)
        // and one in the work order (overdue first, then the nearest deadline: one order, since the
        // overdue are those whose deadline has passed), so a page is read off the index. The query
        // is a function with a generic plan: planned once per connection, not on every read.
        Migration(
            version: 17,
            name: "inbox: work order index, counting index, page function",
            statements: [
                """
                ALTER TABLE routing.requests
                    ADD COLUMN inbox_due timestamptz GENERATED ALWAYS AS (CASE state WHEN 'assigned' THEN claim_due WHEN 'claimed' THEN resolve_due END) STORED,
                    ADD COLUMN inbox_warning timestamptz GENERATED ALWAYS AS (CASE state WHEN 'assigned' THEN claim_warning WHEN 'claimed' THEN resolve_warning END) STORED
                """,
                "DROP INDEX routing.requests_inbox",
                """
                CREATE INDEX requests_inbox_order ON routing.requests (unit, inbox_due, owner_assigned_at, owner_assignment_id)
                    INCLUDE (state, category, claimed_by, inbox_warning)
                    WHERE state IN ('assigned', 'claimed', 'resolved') AND owner_assignment_id IS NOT NULL
                """,
                """
                CREATE INDEX requests_inbox_counts ON routing.requests (unit, state) INCLUDE (inbox_warning, claimed_by)
                    WHERE state IN ('assigned', 'claimed', 'resolved') AND owner_assignment_id IS NOT NULL
                """,
                inboxPageFunction,
            ]
        ),
        // Databases made before this change have 17's first version of the function, whose
        // generic plan guessed that the optional filters (category, overdue, mine, request) keep
        // almost nothing, so it sorted every open item instead of reading the work-order index:
        // 16 ms a read at 10,000 items, now 3 ms. (17 creates the current version directly.)
        Migration(version: 18, name: "inbox: page function planned for the unfiltered inbox", statements: [inboxPageFunction]),
        Migration(
            version: 19,
            name: "incidents across the grids of a street",
            statements: [
                "ALTER TABLE routing.incidents ADD COLUMN street_id text, ADD COLUMN scope text NOT NULL DEFAULT 'grid' CHECK (scope IN ('grid', 'street'))",
                "UPDATE routing.incidents i SET street_id = g.street_id FROM routing.grids g WHERE g.id = i.grid_id",
                "CREATE INDEX incidents_by_street ON routing.incidents (street_id, category, created_at)",
                "ALTER TABLE routing.requests ADD COLUMN latitude double precision, ADD COLUMN longitude double precision",
                "CREATE INDEX requests_by_incident ON routing.requests (incident_id) WHERE incident_id IS NOT NULL",
            ]
        ),
        Migration(
            version: 20,
            name: "proactive tasks (未诉先办)",
            statements: [
                """
                CREATE TABLE routing.tasks (
                    id uuid PRIMARY KEY,
                    title text NOT NULL,
                    description text NOT NULL,
                    category text NOT NULL,
                    due_on date NOT NULL,
                    due_by timestamptz NOT NULL,
                    opened_by text NOT NULL,
                    opened_by_unit text NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                "CREATE TABLE routing.task_grids (task_id uuid NOT NULL REFERENCES routing.tasks (id), grid_id text NOT NULL, PRIMARY KEY (task_id, grid_id))",
                "CREATE INDEX task_grids_by_grid ON routing.task_grids (grid_id)",
                """
                CREATE TABLE routing.task_checks (
                    task_id uuid NOT NULL REFERENCES routing.tasks (id),
                    household_id text NOT NULL,
                    grid_id text NOT NULL,
                    checked_by text NOT NULL,
                    checked_at timestamptz NOT NULL DEFAULT now(),
                    outcome text NOT NULL CHECK (outcome IN ('ok', 'hazard')),
                    note text,
                    request_id uuid,
                    PRIMARY KEY (task_id, household_id)
                )
                """,
                "ALTER TABLE routing.requests ADD COLUMN task_id uuid",
            ]
        ),
        // A form sent twice (a double tap, a resend) opens one task.
        Migration(
            version: 21,
            name: "task idempotency keys",
            statements: [
                "ALTER TABLE routing.tasks ADD COLUMN idempotency_key text",
                "CREATE UNIQUE INDEX tasks_by_idempotency_key ON routing.tasks (idempotency_key)",
            ]
        ),
    ]

    /// `routing.inbox_page(...)`: one read of a unit's inbox (counts and the page), planned once
    /// per connection (`force_generic_plan`). Every optional filter is written behind
    /// `v_unfiltered` / `v_every_state`, so that the one generic plan is the one for the inbox as
    /// opened (most rows pass: read the work-order index up to the page's end).
    static let inboxPageFunction: PostgresQuery = """
        CREATE OR REPLACE FUNCTION routing.inbox_page(p_unit text, p_grid boolean, p_grid_id text, p_now timestamptz, p_states text[], p_category text,
            p_overdue boolean, p_mine boolean, p_reader text, p_request uuid, p_limit int, p_offset int)
        RETURNS TABLE (total int, overdue_count int, warning_count int, unclaimed int, assigned int, claimed int, resolved int, summoned int,
            acknowledged int, matching int, request_id uuid, assignment_id uuid, kind text, state text, category text, description text,
            grid_id text, household_id text, address text, assigned_at timestamptz, claimed_by text, claimed_at timestamptz,
            possible_duplicate_of uuid, incident_id uuid, summoned_by text, reopen_count int, claim_due timestamptz, resolve_due timestamptz,
            overdue boolean, warning boolean)
        LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $inbox$
        #variable_conflict use_column
        DECLARE
            -- No filter but the state (the inbox as opened): the planner, which plans this once for any
            -- arguments, then knows that most rows pass and reads the work-order index.
            v_every_state boolean := cardinality(p_states) = 0;
            v_unfiltered boolean := p_category IS NULL AND p_overdue IS NULL AND NOT p_mine AND p_request IS NULL;
        BEGIN
        RETURN QUERY
        WITH others AS (
            -- A grid's households' resolved requests held elsewhere, and the summonses the unit must answer:
            -- few rows, flagged one by one; kept: those the filters keep.
            SELECT few.*, coalesce(due <= p_now, false) AS overdue, NOT coalesce(due <= p_now, false) AND coalesce(warn <= p_now, false) AS warning
            FROM (
                SELECT r.id AS request_id, r.owner_assignment_id AS assignment_id, 'request' AS kind, r.state, r.category, r.claimed_by,
                       r.owner_assigned_at AS assigned_at, r.claim_due, r.resolve_due, NULL::timestamptz AS due, NULL::timestamptz AS warn
                FROM routing.requests r
                WHERE p_grid AND r.state = 'resolved' AND r.grid_id = p_grid_id AND r.unit IS DISTINCT FROM p_unit AND r.owner_assignment_id IS NOT NULL
                  AND (SELECT first.unit FROM routing.assignments first WHERE first.request_id = r.id AND first.kind = 'owner' ORDER BY first.assigned_at LIMIT 1) = p_unit
                UNION ALL
                SELECT r.id, a.id, 'summons', CASE WHEN s.acknowledged_at IS NULL THEN 'summoned' ELSE 'acknowledged' END, r.category, s.acknowledged_by,
                       a.assigned_at, d.claim_due, d.resolve_due,
                       CASE WHEN s.acknowledged_at IS NULL THEN d.claim_due ELSE d.resolve_due END,
                       CASE WHEN s.acknowledged_at IS NULL THEN d.claim_warning ELSE d.resolve_warning END
                FROM routing.summons s JOIN routing.assignments a ON a.id = s.assignment_id JOIN routing.requests r ON r.id = s.request_id
                CROSS JOIN LATERAL routing.owner_deadlines(a.id) d
                WHERE s.unit = p_unit AND s.done_at IS NULL AND r.state NOT IN ('closed', 'rejected', 'merged')
            ) few
        ), kept AS (
            SELECT * FROM others o
            WHERE (v_every_state OR o.state = ANY(p_states::text[])) AND (p_category::text IS NULL OR o.category = p_category)
              AND (p_overdue::boolean IS NULL OR o.overdue = p_overdue) AND (NOT p_mine OR o.claimed_by = p_reader) AND (p_request::uuid IS NULL OR o.request_id = p_request)
        ), figures AS (
            -- The unit's own requests per state, from the narrow counting index (warned: past the warning time, overdue or not).
            SELECT state, count(*) AS n, 0::bigint AS overdue, count(*) FILTER (WHERE inbox_warning <= p_now) AS warning,
                   count(*) FILTER (WHERE state = 'assigned' AND claimed_by IS NULL) AS unclaimed
            FROM routing.requests
            WHERE unit = p_unit AND state IN ('assigned', 'claimed', 'resolved') AND owner_assignment_id IS NOT NULL
            GROUP BY state
            UNION ALL
            -- The overdue ones, a range of the ordering index; warned and overdue counts as overdue, not as warning.
            SELECT NULL, 0, count(*), -count(*) FILTER (WHERE inbox_warning <= p_now), 0
            FROM routing.requests
            WHERE unit = p_unit AND state IN ('assigned', 'claimed', 'resolved') AND owner_assignment_id IS NOT NULL AND inbox_due <= p_now
            UNION ALL
            SELECT state, 1, overdue::int, warning::int, (claimed_by IS NULL AND state IN ('assigned', 'summoned'))::int FROM others
        ), counts AS (
            SELECT sum(n)::int AS total, sum(overdue)::int AS overdue_count, sum(warning)::int AS warning_count, sum(unclaimed)::int AS unclaimed,
                   coalesce(sum(n) FILTER (WHERE state = 'assigned'), 0)::int AS assigned, coalesce(sum(n) FILTER (WHERE state = 'claimed'), 0)::int AS claimed,
                   coalesce(sum(n) FILTER (WHERE state = 'resolved'), 0)::int AS resolved, coalesce(sum(n) FILTER (WHERE state = 'summoned'), 0)::int AS summoned,
                   coalesce(sum(n) FILTER (WHERE state = 'acknowledged'), 0)::int AS acknowledged,
                   -- Matching: by state alone from the figures; any other filter counts the unit's requests it keeps.
                   CASE WHEN v_unfiltered
                        THEN coalesce(sum(n) FILTER (WHERE cardinality(p_states::text[]) = 0 OR state = ANY(p_states::text[])), 0)::int
                        ELSE (SELECT count(*)::int FROM routing.requests r
                              WHERE r.unit = p_unit AND r.state IN ('assigned', 'claimed', 'resolved') AND r.owner_assignment_id IS NOT NULL
                                AND (v_every_state OR r.state = ANY(p_states::text[])) AND (v_unfiltered OR ((p_category::text IS NULL OR r.category = p_category)
                                AND (p_overdue::boolean IS NULL OR coalesce(r.inbox_due <= p_now, false) = p_overdue) AND (NOT p_mine OR r.claimed_by = p_reader) AND (p_request::uuid IS NULL OR r.id = p_request))))
                           + (SELECT count(*)::int FROM kept)
                   END AS matching
            FROM figures
        ), paged AS (
            SELECT * FROM (
                (SELECT r.id AS request_id, r.owner_assignment_id AS assignment_id, 'request' AS kind, r.state, r.claimed_by, r.owner_assigned_at AS assigned_at,
                        r.claim_due, r.resolve_due, r.inbox_due AS due, r.inbox_warning AS warn
                 FROM routing.requests r
                 WHERE r.unit = p_unit AND r.state IN ('assigned', 'claimed', 'resolved') AND r.owner_assignment_id IS NOT NULL
                   AND (v_every_state OR r.state = ANY(p_states::text[])) AND (v_unfiltered OR ((p_category::text IS NULL OR r.category = p_category)
                   AND (p_overdue::boolean IS NULL OR coalesce(r.inbox_due <= p_now, false) = p_overdue) AND (NOT p_mine OR r.claimed_by = p_reader) AND (p_request::uuid IS NULL OR r.id = p_request)))
                 ORDER BY r.inbox_due, r.owner_assigned_at, r.owner_assignment_id LIMIT p_limit + p_offset)
                UNION ALL
                SELECT request_id, assignment_id, kind, state, claimed_by, assigned_at, claim_due, resolve_due, due, warn FROM kept
            ) candidates
            ORDER BY due, assigned_at, assignment_id LIMIT p_limit OFFSET p_offset
        )
        SELECT c.*, p.request_id, p.assignment_id, p.kind, p.state, r.category, r.description, r.grid_id, r.household_id, r.address,
               p.assigned_at, p.claimed_by, CASE p.kind WHEN 'summons' THEN s.acknowledged_at ELSE r.owner_claimed_at END,
               r.possible_duplicate_of, r.incident_id, s.summoned_by, r.reopen_count,
               p.claim_due, p.resolve_due, coalesce(p.due <= p_now, false) AS overdue, NOT coalesce(p.due <= p_now, false) AND coalesce(p.warn <= p_now, false) AS warning
        FROM counts c
        LEFT JOIN paged p ON true
        LEFT JOIN routing.requests r ON r.id = p.request_id
        LEFT JOIN routing.summons s ON p.kind = 'summons' AND s.assignment_id = p.assignment_id
        ORDER BY p.due, p.assigned_at, p.assignment_id;
        END
        $inbox$
        """
}
