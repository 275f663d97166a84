-- Synthetic history for the reporting benchmark: :requests requests over the last 365 days,
-- spread over every grid of the imported org, with the rollups the projector would have built.
-- Run with psql -v requests=1000000 against a database migrated by `gridloop migrate`.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
TRUNCATE reporting.requests, reporting.assignments, reporting.daily, reporting.monthly, reporting.visits, reporting.events;

CREATE TEMP TABLE grids AS
  SELECT row_number() OVER (ORDER BY ref) - 1 AS n, ref, street FROM reporting.units WHERE ref LIKE 'grid:%';
CREATE TEMP TABLE facts AS
  SELECT g,
         (SELECT ref FROM grids WHERE n = g % (SELECT count(*) FROM grids)) AS unit,
         (now() - make_interval(secs => (hashint4(g) & 2147483647) % (365 * 86400))) AS received_at,
         ((hashint4(g * 7) & 2147483647) % 7200 + 30) AS claim_s,
         ((hashint4(g * 13) & 2147483647) % (6 * 86400) + 600) AS resolve_s,
         ((hashint4(g * 17) & 2147483647) % 100) AS roll
  FROM generate_series(1, :requests) AS g;
ALTER TABLE facts ADD COLUMN day date;
UPDATE facts SET day = (received_at AT TIME ZONE 'Asia/Shanghai')::date;

INSERT INTO reporting.requests (id, state, tier, unit, category, version, received_at, updated_at, grid, claim_due_at, resolve_due_at, overdue_at, resolved_unit, satisfaction)
SELECT 'bench-' || g,
       CASE WHEN received_at > now() - interval '3 days' AND roll < 30 THEN 'claimed' WHEN roll < 2 THEN 'assigned' ELSE 'closed' END,
       'grid', unit, (ARRAY['housing', 'water', 'power', 'property', 'elderly-care', 'market'])[1 + g % 6], 8, received_at,
       received_at + make_interval(secs => resolve_s), substr(unit, 6), received_at + interval '24 hours', received_at + interval '7 days',
       CASE WHEN roll < 2 THEN received_at + interval '24 hours' END, unit,
       CASE WHEN roll < 85 THEN 'satisfied' WHEN roll < 95 THEN 'basically-satisfied' ELSE 'unsatisfied' END
FROM facts;

INSERT INTO reporting.daily (day, unit, metric, value)
SELECT day, unit, metric, count(*) FROM (
  SELECT day, unit, unnest(ARRAY[
    'received', 'assigned', 'claimed',
    CASE WHEN claim_s <= 3600 THEN 'claimed_on_time' END,
    'resolved',
    CASE WHEN resolve_s <= 5 * 86400 THEN 'resolved_on_time' END,
    'feedback', 'origin_feedback',
    CASE WHEN roll < 92 THEN 'solved' END, CASE WHEN roll < 92 THEN 'origin_solved' END,
    CASE WHEN roll < 95 THEN 'satisfied' END, CASE WHEN roll < 95 THEN 'origin_satisfied' END,
    CASE WHEN roll >= 95 THEN 'reopened' END,
    CASE WHEN roll BETWEEN 40 AND 44 THEN 'escalated_from' END,
    CASE WHEN roll < 2 THEN 'overdue' END,
    'claim_h' || floor(4 * log(2, claim_s::numeric))::int,
    'resolve_h' || floor(4 * log(2, resolve_s::numeric))::int
  ]) AS metric FROM facts
) counted WHERE metric IS NOT NULL GROUP BY 1, 2, 3;

-- Visits (two per household per month for most workers) and requests collected, per grid worker.
INSERT INTO reporting.daily (day, unit, metric, value)
SELECT d::date, 'staff:' || s.id, 'visits', 2 + (hashint4(length(s.id) + extract(doy FROM d)::int) & 1)
FROM reporting.staff s, generate_series(now() - interval '364 days', now(), interval '1 day') d WHERE s.role = 'grid-worker';
INSERT INTO reporting.daily (day, unit, metric, value)
SELECT f.day, 'staff:' || s.id, 'collected', count(*) FROM facts f JOIN reporting.staff s ON s.unit = f.unit AND s.role = 'grid-worker' GROUP BY 1, 2;

INSERT INTO reporting.monthly (month, unit, metric, value)
SELECT date_trunc('month', day)::date, unit, metric, sum(value) FROM reporting.daily GROUP BY 1, 2, 3;
ANALYZE reporting.requests; ANALYZE reporting.daily; ANALYZE reporting.monthly;
SELECT (SELECT count(*) FROM reporting.requests) AS requests, (SELECT count(*) FROM reporting.daily) AS daily_rows, (SELECT count(*) FROM reporting.monthly) AS monthly_rows;
