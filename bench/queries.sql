-- Per-lead queries returning (lead_id, v). bench.sh times each wrapped as
-- SELECT count(*), sum(v) FROM (...) s, so every client transfer is one tiny row,
-- and checks that each extension query agrees with its hand-written twin.
-- lead_score.as_of is fixed at 2026-06-01 so results never drift.

-- name: extension_engagement
SELECT lead_id, lead_score.engagement('bench', type, occurred_at, url) AS v
FROM bench.activities GROUP BY lead_id

-- name: handwritten_engagement
-- The same semantics in plain SQL: FILTER for points, exp() for decay, least() for caps.
SELECT lead_id, greatest(0, least(100,
      least(coalesce(sum(d) FILTER (WHERE type = 'page_view'), 0), 15)
    + least(coalesce(sum(5 * d) FILTER (WHERE type = 'page_view' AND strpos(url, '/pricing') > 0), 0), 25)
    + least(coalesce(sum(4 * d) FILTER (WHERE type IN ('page_view', 'download') AND strpos(url, 'analytics') > 0), 0), 40)
    + least(coalesce(sum(4 * d) FILTER (WHERE type IN ('page_view', 'download') AND strpos(url, 'automation') > 0), 0), 40)
    + least(coalesce(sum(3 * d) FILTER (WHERE type = 'email_click'), 0), 15)
    + coalesce(sum(8 * d) FILTER (WHERE type = 'download'), 0)
    + coalesce(sum(12 * d) FILTER (WHERE type = 'webinar'), 0)
    + coalesce(40 * max(d) FILTER (WHERE type = 'demo_request'), 0)
    - 25 * (count(*) FILTER (WHERE type = 'unsubscribe') > 0)::int)) AS v
FROM (SELECT lead_id, type, url,
             exp(-ln(2) * extract(epoch FROM '2026-06-01 00:00+00'::timestamptz - occurred_at) / (30 * 86400)) AS d
      FROM bench.activities WHERE occurred_at <= '2026-06-01 00:00+00') a
GROUP BY lead_id

-- name: bare_count
SELECT lead_id, count(*) AS v FROM bench.activities GROUP BY lead_id

-- name: extension_fit
SELECT l.id AS lead_id, lead_score.fit('bench', l) AS v FROM bench.leads l

-- name: handwritten_fit
SELECT id AS lead_id, greatest(0, least(100,
      CASE WHEN industry IN ('Software', 'Financial Services') THEN 20 ELSE 0 END
    + CASE WHEN industry IN ('Healthcare', 'Logistics', 'Manufacturing') THEN 8 ELSE 0 END
    + CASE WHEN job_title ~* '(ceo|cto|cfo|chief|vp|head|director)' THEN 20 ELSE 0 END
    + CASE WHEN strpos(job_title, 'Manager') > 0 THEN 10 ELSE 0 END
    + CASE WHEN employees BETWEEN 200 AND 10000 THEN 15 ELSE 0 END
    + CASE WHEN employees < 20 THEN -10 ELSE 0 END
    + CASE WHEN country IN ('US', 'GB', 'DE', 'NL', 'SE', 'CA') THEN 10 ELSE 0 END
    + CASE WHEN budget = 'approved' THEN 10 ELSE 0 END
    + CASE WHEN decision_maker THEN 8 ELSE 0 END
    + CASE WHEN strpos(email, '@gmail.com') > 0 THEN -5 ELSE 0 END
    + 12.0 * ((email IS NOT NULL AND btrim(email) <> '')::int + (phone IS NOT NULL AND btrim(phone) <> '')::int
            + (job_title IS NOT NULL AND btrim(job_title) <> '')::int + (industry IS NOT NULL AND btrim(industry) <> '')::int
            + (employees IS NOT NULL)::int + (country IS NOT NULL AND btrim(country) <> '')::int) / 6)) AS v
FROM bench.leads
