-- The shape of intake's transaction, for pgbench (deploy/bench.sh): the same tables,
-- columns, keys and indexes as intake.requests, intake.trail and intake.outbox.
DROP SCHEMA IF EXISTS perf CASCADE;
CREATE SCHEMA perf;
CREATE TABLE perf.requests (
    id uuid PRIMARY KEY, idempotency_key text UNIQUE, category text NOT NULL, description text NOT NULL,
    grid_id text, household_id text, address text, reporter_name text NOT NULL, reporter_phone text NOT NULL,
    channel text NOT NULL, submitted_by text, state text NOT NULL, unit text, version integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE perf.trail (
    event_id text PRIMARY KEY, request_id uuid NOT NULL REFERENCES perf.requests (id), seq integer NOT NULL,
    version integer NOT NULL, event_type text NOT NULL, state text NOT NULL, unit text, actor text, detail text,
    occurred_at timestamptz NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(),
    prev_hash text NOT NULL, hash text NOT NULL, UNIQUE (request_id, seq)
);
CREATE TABLE perf.outbox (
    id bigserial PRIMARY KEY, message_id text NOT NULL UNIQUE, exchange text NOT NULL, routing_key text NOT NULL,
    message_type text NOT NULL, correlation_id text, reply_to text, headers jsonb NOT NULL DEFAULT '{}',
    body text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz,
    attempts integer NOT NULL DEFAULT 0, last_error text, next_attempt_at timestamptz, parked_at timestamptz
);
CREATE INDEX outbox_due ON perf.outbox (next_attempt_at NULLS FIRST, id) WHERE published_at IS NULL AND parked_at IS NULL;
CREATE INDEX outbox_parked ON perf.outbox (id) WHERE published_at IS NULL AND parked_at IS NOT NULL;
