-- Synthetic SLA load for the sweeper benchmark (deploy/local.sh bench): :timers requests
-- assigned to the demo org's grids (round robin) and never claimed, each with the claim timer
-- routing would have started for it, all falling due at once (now() + :due seconds). The rows
-- are what routing's workflow writes when it assigns a request (state, version, assignment,
-- timer), so the sweeper escalates them as it would real ones: grid → street, one transaction
-- each, with the street's own claim timer and the `request.escalated` event in the outbox.
\set ON_ERROR_STOP on
BEGIN;
CREATE TEMP TABLE sla_load ON COMMIT DROP AS
SELECT gen_random_uuid() AS request_id, gen_random_uuid() AS assignment_id, g.id AS grid_id, g.street_id, n
FROM generate_series(1, :timers) AS n
JOIN (SELECT id, street_id, row_number() OVER (ORDER BY id) - 1 AS k, count(*) OVER () AS grids FROM routing.grids) AS g
  ON g.k = n % g.grids;
INSERT INTO routing.requests (id, state, unit, version, category, description, correlation_id, street_id, created_at, updated_at)
SELECT request_id, 'assigned', 'grid:' || grid_id, 2, 'water', '停水 (SLA benchmark ' || n || ')', 'sla-bench-' || n, street_id, now(), now()
FROM sla_load;
INSERT INTO routing.assignments (id, request_id, unit, reason, kind, assigned_at)
SELECT assignment_id, request_id, 'grid:' || grid_id, 'SLA benchmark', 'owner', now() FROM sla_load;
INSERT INTO routing.timers (id, request_id, assignment_id, kind, due_at)
SELECT gen_random_uuid(), request_id, assignment_id, 'claim', now() + make_interval(secs => :due) FROM sla_load;
COMMIT;
ANALYZE routing.requests; ANALYZE routing.assignments; ANALYZE routing.timers;
