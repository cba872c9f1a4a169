-- :leads leads and :activities activities over the 12 months before 2026-06-01.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;
DROP SCHEMA IF EXISTS bench CASCADE;
CREATE SCHEMA bench;
SELECT setseed(0.5) AS seeded \gset

CREATE UNLOGGED TABLE bench.leads AS
SELECT g AS id,
       CASE WHEN r1 < 0.01 THEN 'x' || g || '@rivalsoft.com'
            WHEN r1 < 0.35 THEN 'x' || g || '@gmail.com'
            ELSE 'x' || g || '@corp' || (g % 5000) || '.com' END AS email,
       CASE WHEN r2 < 0.35 THEN NULL ELSE '+1-555-' || (g % 10000) END AS phone,
       (ARRAY['CEO','CTO','CFO','VP Marketing','Head of Data','Director of IT','Marketing Manager','IT Manager',
              'Product Manager','Senior Engineer','Software Engineer','Data Analyst','Consultant','Student',NULL])
           [1 + floor(r3 * 15)::int] AS job_title,
       (ARRAY['Software','Financial Services','Healthcare','Manufacturing','Retail','Education','Logistics','Media',NULL])
           [1 + floor(r4 * 9)::int] AS industry,
       CASE WHEN r5 < 0.05 THEN NULL ELSE round(exp(r5 * ln(50000)))::int END AS employees,
       (ARRAY['US','GB','DE','FR','NL','SE','CA','IN','BR',NULL])[1 + floor(r6 * 10)::int] AS country,
       (ARRAY['approved','planned','none',NULL])[1 + floor(r7 * 4)::int] AS budget,
       CASE WHEN r8 < 0.2 THEN NULL ELSE r8 > 0.6 END AS decision_maker
FROM (SELECT g, random() r1, random() r2, random() r3, random() r4, random() r5, random() r6,
             random() r7, random() r8 FROM generate_series(1, :leads) g) s;

CREATE UNLOGGED TABLE bench.activities AS
SELECT 1 + floor(:leads * power(random(), 1.5))::bigint AS lead_id,
       t.type, '2026-06-01 00:00+00'::timestamptz - random() * interval '365 days' AS occurred_at, t.url
FROM generate_series(1, :activities) g
CROSS JOIN LATERAL (
    SELECT CASE WHEN r < 0.55 THEN 'page_view' WHEN r < 0.75 THEN 'email_open' WHEN r < 0.85 THEN 'email_click'
                WHEN r < 0.92 THEN 'download' WHEN r < 0.96 THEN 'webinar' WHEN r < 0.99 THEN 'demo_request'
                ELSE 'unsubscribe' END AS type,
           CASE WHEN r < 0.55 OR (r >= 0.85 AND r < 0.92) THEN
                (ARRAY['/','/blog/post','/pricing','/pricing/enterprise','/product/analytics','/product/automation',
                       '/docs','/careers'])[1 + floor(r2 * 8)::int] END AS url
    FROM (SELECT random() AS r, random() AS r2, g) x
) t;
ANALYZE bench.leads;
ANALYZE bench.activities;
