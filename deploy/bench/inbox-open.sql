-- The inbox benchmark's data: :items open requests held by street:xiping (a street's busy
-- desk), each with its owner assignment and running timers, as routing writes them. Two in
-- three are waiting to be claimed (claim timers), one in three claimed (resolve timers);
-- all assigned within the last 20 hours (claim due after 24 h, warned after 18 h). On top of
-- those, one in twenty more are a week overdue: routing's deadline sweeper escalates them to
-- the district when it starts, so the street still holds :items while it is read.
-- Run with psql -v items=N on a migrated database with the demo org.
\set ON_ERROR_STOP on
BEGIN;
CREATE TEMP TABLE seed AS
SELECT gen_random_uuid() AS request_id, gen_random_uuid() AS assignment_id, n,
       now() - make_interval(mins => (n * 7) % 1200) AS assigned_at
FROM generate_series(1, :items + :items / 20) AS n;

INSERT INTO routing.requests (id, state, unit, claimed_by, version, category, description, correlation_id, created_at, updated_at,
                              street_id, household_id, grid_id)
SELECT request_id, CASE WHEN n % 3 = 0 THEN 'claimed' ELSE 'assigned' END, 'street:xiping',
       CASE WHEN n % 3 = 0 THEN 'xu-chunfeng' END, 3,
       (ARRAY['housing', 'property', 'water', 'power', 'market', 'elderly-care'])[1 + n % 6],
       '基准诉求 ' || n || '：楼道照明和排水需要处理，居民多次反映', 'bench-inbox-' || n, assigned_at, assigned_at,
       'xiping', 'guanghua-3-' || lpad((1 + n % 20)::text, 2, '0'), 'guanghua-3'
FROM seed;

INSERT INTO routing.assignments (id, request_id, unit, reason, assigned_at, claimed_by, claimed_at, kind)
SELECT assignment_id, request_id, 'street:xiping', 'escalated from grid:guanghua-3 (benchmark)', assigned_at,
       CASE WHEN n % 3 = 0 THEN 'xu-chunfeng' END, CASE WHEN n % 3 = 0 THEN assigned_at + interval '10 minutes' END, 'owner'
FROM seed;

INSERT INTO routing.timers (id, request_id, assignment_id, kind, due_at)
SELECT gen_random_uuid(), request_id, assignment_id, kind,
       assigned_at + CASE WHEN n > :items THEN interval '-8 days' ELSE interval '0' END
         + CASE kind WHEN 'claim' THEN interval '24 hours' WHEN 'claim-warning' THEN interval '18 hours'
                     WHEN 'resolve' THEN interval '7 days' ELSE interval '5 days' END
FROM seed, LATERAL (SELECT unnest(CASE WHEN n % 3 = 0 THEN ARRAY['resolve', 'resolve-warning'] ELSE ARRAY['claim', 'claim-warning'] END) AS kind) k;
COMMIT;
VACUUM ANALYZE routing.requests;
VACUUM ANALYZE routing.assignments;
VACUUM ANALYZE routing.timers;
SELECT count(*) AS open_items FROM routing.requests WHERE unit = 'street:xiping' AND state IN ('assigned', 'claimed');
