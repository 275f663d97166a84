import GridLoopPersistence
import PostgresNIO

/// routing's schema: the org structure, the workflow state of every request, assignments.
enum RoutingSchema {
    static let name = "routing"

    static let migrations: [Migration] = [
        Migration(version: 1, name: "org structure", statements: [
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
        ]),
        Migration(version: 2, name: "workflow", statements: [
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
        ]),
        .messaging(schema: name, version: 3),
        Migration(version: 4, name: "SLA policies and timers", statements: [
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
        ]),
        Migration(version: 5, name: "arbitration and feedback", statements: [
            "ALTER TABLE routing.requests ADD COLUMN street_id text, ADD COLUMN reopen_count integer NOT NULL DEFAULT 0, ADD COLUMN satisfaction text",
        ]),
        Migration(version: 6, name: "summons", statements: [
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
        ]),
        Migration(version: 7, name: "calendar, urgent and direct categories, deadline warnings", statements: [
            "CREATE TABLE routing.settings (key text PRIMARY KEY, value text NOT NULL)",
            "ALTER TABLE routing.categories ADD COLUMN direct boolean NOT NULL DEFAULT false",
            "ALTER TABLE routing.timers DROP CONSTRAINT timers_kind_check",
            "ALTER TABLE routing.timers ADD CONSTRAINT timers_kind_check CHECK (kind IN ('claim', 'resolve', 'claim-warning', 'resolve-warning'))",
        ]),
        Migration(version: 8, name: "grid areas", statements: [
            "ALTER TABLE routing.grids ADD COLUMN area text",
]),
        Migration(version: 9, name: "request locations for duplicate detection", statements: [
            "ALTER TABLE routing.requests ADD COLUMN household_id text, ADD COLUMN address text",
            "CREATE INDEX requests_open_by_category ON routing.requests (category, created_at) WHERE state NOT IN ('closed', 'rejected', 'merged')",
]),
        Migration(version: 10, name: "incidents", statements: [
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
]),
        .serviceRole(schema: name, version: 11, appendOnly: []),
        // Granted to the service role by the default privileges of version 11.
        Migration(version: 12, name: "staff sign-in secrets", statements: [
            "CREATE TABLE routing.staff_credentials (staff_id text PRIMARY KEY, secret_hash text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())",
        ]),
        // A row the broker keeps refusing (an assignment for a unit whose queue was deleted)
        // backs off and is parked instead of holding the outbox up.
        .outboxParking(schema: name, version: 13),
        // The staff inbox: a unit's open requests and summonses, with the grid and the
        // duplicate hint each item shows.
        Migration(version: 14, name: "staff inbox", statements: [
            "ALTER TABLE routing.requests ADD COLUMN grid_id text, ADD COLUMN possible_duplicate_of uuid",
            "UPDATE routing.requests r SET grid_id = h.grid_id FROM routing.households h WHERE h.id = r.household_id AND r.grid_id IS NULL",
            "CREATE INDEX requests_open_by_unit ON routing.requests (unit) WHERE state IN ('assigned', 'claimed', 'resolved')",
            "CREATE INDEX summons_open_by_unit ON routing.summons (unit) WHERE done_at IS NULL",
            "CREATE INDEX requests_resolved_by_grid ON routing.requests (grid_id) WHERE state = 'resolved'",
            "CREATE INDEX assignments_owner_by_request ON routing.assignments (request_id, assigned_at DESC) WHERE kind = 'owner'",
        ]),
        // The staff pages' org sheets: a grid's staff with the work phone printed on the door plates.
        Migration(version: 15, name: "staff work phones", statements: [
            "ALTER TABLE routing.staff ADD COLUMN work_phone text",
            "CREATE INDEX households_by_grid ON routing.households (grid_id, id)",
        ]),
        // The inbox's page cut in one table: each request carries its current owner assignment and
        // that assignment's running deadlines, kept by triggers on the tables the workflow writes
        // (so every writer — commands, the SLA sweeper, imports — keeps them without knowing).
        Migration(version: 16, name: "inbox: current assignment and deadlines on the request", statements: [
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
        ]),
    ]
}
