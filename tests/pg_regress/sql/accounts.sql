-- Account scores (account-based marketing): a model's accounts section names
-- the lead field that holds the account. An account's fit is the best fit of its
-- leads that are not disqualified, its engagement their engagement summed and
-- capped; it has a grade and a quadrant, and alerts once when its total reaches
-- accounts.alert. All live: the views read the live scores.
SET lead_score.mock_now = '2026-06-01 12:00:00+00';
CREATE SCHEMA abm;
CREATE TABLE abm.leads (id int PRIMARY KEY, company text, title text, email text);
CREATE TABLE abm.activities (id bigserial PRIMARY KEY, lead_id int NOT NULL REFERENCES abm.leads,
                             type text NOT NULL, occurred_at timestamptz NOT NULL, topic text);
CREATE INDEX ON abm.activities (lead_id);
CREATE INDEX ON abm.leads (company);
INSERT INTO abm.leads VALUES
  (1, 'acme.com', 'VP Marketing', 'ann@acme.com'),
  (2, 'acme.com', 'Engineer', 'bob@acme.com'),
  (3, 'acme.com', 'Student', 'cy@acme.com'),
  (4, 'globex.com', 'Head of Sales', 'di@globex.com'),
  (5, 'globex.com', 'Engineer', 'ed@rival.com'),
  (6, NULL, 'VP Sales', 'fay@example.com');
INSERT INTO abm.activities (lead_id, type, occurred_at, topic) VALUES
  (1, 'webinar', '2026-05-30 12:00+00', 'security'),
  (2, 'page_view', '2026-05-31 12:00+00', 'pricing'),
  (2, 'page_view', '2026-05-31 13:00+00', 'pricing'),
  (3, 'page_view', '2026-05-31 14:00+00', 'security'),
  (4, 'page_view', '2026-05-31 15:00+00', 'pricing'),
  (5, 'demo_request', '2026-05-31 16:00+00', NULL),
  (5, 'page_view', '2026-05-31 16:30+00', 'security');

SELECT lead_score.create_model('abm', '{
  "fit": {"rules": [
      {"name": "senior", "when": {"field": "title", "regex": "\\b(vp|head)\\b"}, "points": 30},
      {"name": "competitor", "when": {"field": "email", "regex": "@rival\\.com$"}, "disqualify": true}]},
  "engagement": {"properties": ["topic"],
    "categories": [{"name": "security"}, {"name": "pricing"}],
    "decay": {"kind": "exponential", "half_life": "30 days"},
    "rules": [
      {"name": "view", "event": "page_view", "points": 5, "category": "pricing",
       "when": {"field": "topic", "eq": "pricing"}},
      {"name": "security view", "event": "page_view", "points": 5, "category": "security",
       "when": {"field": "topic", "eq": "security"}},
      {"name": "webinar", "event": "webinar", "points": 20, "category": "security"},
      {"name": "demo", "event": "demo_request", "points": 40}]},
  "classification": {"grades": [{"name": "A", "min": 30}, {"name": "B"}],
    "labels": [{"name": "hot", "min": 30}, {"name": "cold"}],
    "quadrant": {"fit": 30, "engagement": 30}, "mql": {"min_total": 60}},
  "accounts": {"field": "company", "cap": 35, "engaged_min": 5, "alert": 65}
}') AS version;
SELECT lead_score.attach('abm', 'abm.leads', 'abm.activities', '{"properties": {"topic": "topic"}}') IS NOT NULL AS attached;

-- One row per account: leads without an account are not in one; ed@rival.com is
-- disqualified and counts for nothing (nor does his security page view count in
-- globex's categories). acme: best fit 30 (Ann), engagement
-- about 19.1 + 9.8 + 4.9 (decayed) under the cap of 35; Cy, at 4.9, is below
-- engaged_min. Neither account has reached accounts.alert (65).
SELECT account, leads, engaged_leads, round(fit::numeric, 2) AS fit, round(engagement::numeric, 2) AS engagement,
       round(total::numeric, 2) AS total, grade, quadrant, alerting, top_categories
FROM lead_score.abm_accounts ORDER BY account;
SELECT account, category, round(score::numeric, 2) AS score FROM lead_score.abm_account_categories ORDER BY 1, 2;

-- What acme's score is made of.
SELECT section, item, round(fit::numeric, 2) AS fit, round(engagement::numeric, 2) AS engagement, detail
FROM lead_score.explain_account('abm', 'acme.com');
SELECT count(*) AS rows FROM lead_score.explain_account('abm', 'initech.com');  -- no such account: no rows

-- Live: Bob asks for a demo. acme's engagement goes to the cap, 35: total 65.
INSERT INTO abm.activities (lead_id, type, occurred_at) VALUES (2, 'demo_request', '2026-06-01 11:00+00');
SELECT account, round(engagement::numeric, 2) AS engagement, round(total::numeric, 2) AS total FROM lead_score.abm_accounts WHERE account = 'acme.com';
-- Di, globex's Head of Sales, asks for one too: globex reaches 65 as well. The
-- next tick alerts once for each account that reached accounts.alert.
INSERT INTO abm.activities (lead_id, type, occurred_at) VALUES (4, 'demo_request', '2026-06-01 11:30+00');
SELECT account, round(total::numeric, 2) AS total, quadrant, alerting FROM lead_score.abm_accounts WHERE account = 'globex.com';
SELECT lead_score.tick() AS alerts_sent;
SELECT attachment, lead_key AS account, kind, detail FROM lead_score.alerts WHERE kind = 'account' ORDER BY id;
SELECT lead_score.tick() AS alerts_sent;  -- no new crossing
-- An account new since the last tick() that reaches accounts.alert is alerted
-- by the next one, even when a version of the same accounts is published in
-- between (which recorded initech as alerting already, without an alert,
-- before). And tick() judges accounts at the real time, whatever
-- lead_score.as_of the session reads at (a time before the leads' activities
-- failed the whole tick() before).
INSERT INTO abm.leads VALUES (7, 'initech.com', 'VP Engineering', 'gil@initech.com');
INSERT INTO abm.activities (lead_id, type, occurred_at) VALUES (7, 'demo_request', '2026-06-01 11:45+00');
SELECT account, round(total::numeric, 2) AS total, alerting FROM lead_score.abm_accounts WHERE account = 'initech.com';
SELECT lead_score.create_model('abm', lead_score.model_spec('abm') || '{"description": "same accounts"}') AS version;
SET lead_score.as_of = '2026-05-01 00:00+00';
SELECT lead_score.tick() AS alerts_sent;
RESET lead_score.as_of;
SELECT lead_key AS account, kind FROM lead_score.alerts WHERE kind = 'account' ORDER BY id;
DELETE FROM abm.activities WHERE lead_id = 7;
DELETE FROM abm.leads WHERE id = 7;

-- A filter on the account reaches the leads table: with its index, one account
-- reads only its own leads, and their score rows and pending rows by key.
\getenv abs_srcdir PG_ABS_SRCDIR
\set scans :abs_srcdir '/fixtures/scans.sql'
\i :scans
SET enable_seqscan = off;
SELECT s AS scan FROM pg_temp.scans($$SELECT total FROM lead_score.abm_accounts WHERE account = 'globex.com'$$) s ORDER BY 1;
RESET enable_seqscan;
-- The whole view reads each lead's score once: top_categories comes from the
-- same read as the rest of the row (a second read of every lead's score before),
-- and lists the account's categories with a positive score in
-- abm_account_categories, most engaged first.
CREATE FUNCTION pg_temp.reads(query text, rel text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    line text;
    n bigint := 0;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
        IF line ~ ('Scan .*on ' || rel || '\M') THEN
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END $$;
SELECT pg_temp.reads('SELECT * FROM lead_score.abm_accounts', 'abm_scores') AS score_table_reads;
SELECT a.account, a.top_categories FROM lead_score.abm_accounts a
WHERE a.top_categories IS DISTINCT FROM coalesce((
    SELECT array_agg(k.category ORDER BY k.score DESC, k.category) FROM lead_score.abm_account_categories k
    WHERE k.account = a.account AND k.score > 0), '{}');

-- The views read the leads table as the caller (security_invoker): a reader
-- without SELECT on it cannot see accounts.
CREATE ROLE abm_reader IN ROLE lead_score_reader;
SET ROLE abm_reader;
SELECT count(*) FROM lead_score.abm_accounts;
RESET ROLE;
GRANT USAGE ON SCHEMA abm TO abm_reader;
GRANT SELECT ON abm.leads TO abm_reader;
SET ROLE abm_reader;
SELECT count(*) AS accounts FROM lead_score.abm_accounts;
-- The heads tick() compares with hold account values too: not readable.
SELECT count(*) FROM lead_score_internal.abm_account_heads;
RESET ROLE;

-- Renaming the account column leaves the views following it, and tick() and
-- reads go on; publishing again picks the new name up.
ALTER TABLE abm.leads RENAME COLUMN company TO org;
SELECT lead_score.tick() AS alerts_sent;
SELECT count(*) AS leads FROM lead_score.abm_current;
SELECT account, round(total::numeric, 2) AS total FROM lead_score.abm_accounts ORDER BY 1;
SELECT lead_score.create_model('abm', jsonb_set(lead_score.model_spec('abm'), '{accounts,field}', '"org"')) AS version;
SELECT lead_score.tick() AS alerts_sent;  -- the same accounts under the new field: nothing crossed
-- A field no lead has a value in gives no account; counted by org again, the
-- accounts alerting then are recorded without an alert, as for any other
-- field (before, the empty last check kept no field, and every account alerted).
ALTER TABLE abm.leads ADD COLUMN region text;
SELECT lead_score.create_model('abm', jsonb_set(lead_score.model_spec('abm'), '{accounts,field}', '"region"')) AS version;
SELECT lead_score.tick() AS alerts_sent, (SELECT count(*) FROM lead_score.abm_accounts) AS accounts;
SELECT lead_score.create_model('abm', jsonb_set(lead_score.model_spec('abm'), '{accounts,field}', '"org"')) AS version;
SELECT lead_score.tick() AS alerts_sent;
ALTER TABLE abm.leads DROP COLUMN region;
-- It cannot be dropped while attached, even with CASCADE (which would take the
-- account views along): publish a version without accounts first.
ALTER TABLE abm.leads DROP COLUMN org CASCADE;

-- The account functions BI tools can call too, and their errors: a model without
-- accounts, an accounts.field that is not a column of the leads table.
SELECT lead_score.account_quadrant('abm', 10, 10), lead_score.account_engagement('abm', 50);
SELECT lead_score.create_model('plain', lead_score.model_spec('abm') - 'accounts') AS version;
SELECT lead_score.account_engaged('plain', 1);
SELECT * FROM lead_score.explain_account('nope', 'acme.com');
SELECT lead_score.create_model('abm', jsonb_set(lead_score.model_spec('abm'), '{accounts,field}', '"domain"'));
-- That publish left nothing behind: the next version is 6 again, with its own spec.
-- A version without accounts drops the account views.
SELECT lead_score.create_model('abm', lead_score.model_spec('abm') - 'accounts') AS version;
SELECT count(*) AS account_views FROM pg_class WHERE relname LIKE 'abm\_account%';

-- Publishing a version with accounts while events are pending (a deferred
-- attachment's, not folded yet): the accounts alerting are read once the
-- leads are scored by the new version. Before, that read merged the old
-- version's stored states with pending events the new one scored, and the
-- publish failed ("cannot merge live states of model … v6 and … v7").
SELECT lead_score.attach('abm', 'abm.leads', 'abm.activities', name => 'abm_d', mode => 'deferred') IS NOT NULL AS attached;
INSERT INTO abm.activities (lead_id, type, occurred_at, topic) VALUES (4, 'webinar', '2026-06-01 11:00+00', 'pricing');
SELECT count(*) AS pending FROM lead_score_internal.abm_d_pending;
SELECT lead_score.create_model('abm', lead_score.model_spec('abm')
       || jsonb_build_object('accounts', (lead_score.model_spec('abm', 1) -> 'accounts') || '{"field": "org"}')) AS version;
SELECT (SELECT count(*) FROM lead_score.check_consistency('abm')) + (SELECT count(*) FROM lead_score.check_consistency('abm_d')) AS mismatches;
SELECT a.account, round(a.total::numeric, 2) = round(d.total::numeric, 2) AS same_total
FROM lead_score.abm_accounts a JOIN lead_score.abm_d_accounts d USING (account) ORDER BY 1;
SELECT lead_score.detach('abm_d');

RESET lead_score.mock_now;
SELECT lead_score.detach('abm');
DROP SCHEMA abm CASCADE;
DROP ROLE abm_reader;
SELECT lead_score.drop_model(m) FROM unnest(ARRAY['abm', 'plain']) m;

-- top_categories compares as every threshold does, rounded to a millionth: a
-- category whose points cancel out (0.1 + 0.2 - 0.3, 5.6e-17 in float8) is
-- no engaged category (it was listed, while the same row's engagement counted
-- as 0 for engaged_leads and the quadrant).
BEGIN;
SET LOCAL lead_score.mock_now = '2026-06-01 12:00:00+00';
CREATE SCHEMA noise;
CREATE TABLE noise.leads (id int PRIMARY KEY, company text, x int);
CREATE TABLE noise.acts (lead_id int NOT NULL, type text NOT NULL, occurred_at timestamptz NOT NULL);
CREATE INDEX ON noise.acts (lead_id);
INSERT INTO noise.leads VALUES (1, 'k', 0), (2, 'k', 0);
SELECT lead_score.create_model('noise', '{"fit": {"rules": [{"name": "x", "when": {"field": "x", "gt": 0}, "points": 20}]},
  "engagement": {"categories": [{"name": "c", "watermark": 0}],
    "rules": [{"name": "a", "event": "a", "points": 0.1, "category": "c"},
              {"name": "b", "event": "b", "points": 0.2, "category": "c"},
              {"name": "n", "event": "n", "points": -0.3, "category": "c"}]},
  "classification": {"grades": [{"name": "A", "min": 10}], "labels": [{"name": "hot", "min": 0.3}],
                     "quadrant": {"fit": 10, "engagement": 0.3}, "mql": {"min_total": 0.3}},
  "accounts": {"field": "company"}}') IS NOT NULL AS published;
SET LOCAL client_min_messages = warning;
SELECT lead_score.attach('noise', 'noise.leads', 'noise.acts') IS NOT NULL AS attached;
RESET client_min_messages;
INSERT INTO noise.acts VALUES (1, 'a', '2026-06-01'), (1, 'b', '2026-06-01'), (2, 'n', '2026-06-01');
SELECT account, engagement, engaged_leads, quadrant, top_categories FROM lead_score.noise_accounts;
SELECT account, category, score FROM lead_score.noise_account_categories;
ROLLBACK;

-- Account values of any length, an account column renamed with another added
-- under its name, and case-insensitive collations.
BEGIN;
SET LOCAL lead_score.mock_now = '2026-06-01 12:00:00+00';
CREATE SCHEMA edge;
CREATE TABLE edge.leads (id int PRIMARY KEY, company text, x int);
CREATE TABLE edge.acts (lead_id int NOT NULL, type text NOT NULL, occurred_at timestamptz NOT NULL);
CREATE INDEX ON edge.acts (lead_id);
INSERT INTO edge.leads VALUES (1, 'acme', 0), (2, 'globex', 0);
-- A 6,400-byte account value that does not compress: the heads tick()
-- compares with are unique by two 64-bit hashes of it, under two seeds (a
-- B-tree entry holds at most 2,704 bytes: keyed by the text, this lead failed
-- every check of the attachment, and its attach, with 54000; one hash alone
-- let two accounts share a row about once in 10^8 among a million accounts).
INSERT INTO edge.leads SELECT 3, string_agg(md5(g::text), ''), 1 FROM generate_series(1, 200) g;
SELECT lead_score.create_model('edge', '{"fit": {"rules": [{"name": "x", "when": {"field": "x", "gt": 0}, "points": 20}]},
  "engagement": {"rules": [{"name": "demo", "event": "demo", "points": 30}]},
  "classification": {"grades": [{"name": "A", "min": 10}], "labels": [{"name": "hot", "min": 30}],
                     "quadrant": {"fit": 10, "engagement": 30}, "mql": {"min_total": 100}},
  "accounts": {"field": "company", "alert": 40}}') IS NOT NULL AS published;
SET LOCAL client_min_messages = warning;
SELECT lead_score.attach('edge', 'edge.leads', 'edge.acts') IS NOT NULL AS attached;
RESET client_min_messages;
INSERT INTO edge.acts VALUES (3, 'demo', '2026-06-01 12:00+00');
SELECT lead_score.tick() AS alerts_sent;
SELECT length(lead_key) AS account_length, detail FROM lead_score.alerts WHERE attachment = 'edge';
SELECT regexp_replace(indexdef, '^.* USING ', '') AS heads_key FROM pg_indexes
WHERE schemaname = 'lead_score_internal' AND tablename = 'edge_account_heads';
-- Renamed, with a new column under the old name: the views still read the
-- renamed one, and tick() checks no account until a version names a column
-- again (it read the new column by name before, and alerted newco, an
-- account no view shows).
ALTER TABLE edge.leads RENAME COLUMN company TO org;
ALTER TABLE edge.leads ADD COLUMN company text DEFAULT 'newco';
UPDATE edge.leads SET x = 1 WHERE id = 1;
INSERT INTO edge.acts VALUES (1, 'demo', '2026-06-01 12:00+00');
SELECT account, round(total::numeric, 2) AS total, alerting FROM lead_score.edge_accounts WHERE length(account) < 10 ORDER BY 1;
SELECT lead_score.tick() AS alerts_sent;  -- lead 1's own quadrant alert
SELECT left(lead_key, 10) AS lead_key, detail FROM lead_score.alerts WHERE attachment = 'edge' ORDER BY id;
-- A case-insensitive collation on the account column is refused (0A000): the
-- views would group 'Acme' and 'acme' as one account, and tick() as two.
CREATE COLLATION edge.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE edge.ci_leads (id int PRIMARY KEY, company text COLLATE edge.ci, x int);
SELECT lead_score.attach('edge', 'edge.ci_leads', 'edge.acts', name => 'edge_ci');
ROLLBACK;

-- explain_account sums the leads' engagement in lead key order, as the view
-- does: engagement 0.3, 0.2 and 0.1 summed best fit first is
-- 0.6000000000000001, which explain_account showed capped at 0.6 by
-- -1.1e-16 while the view applied no cap.
BEGIN;
SET LOCAL lead_score.mock_now = '2026-06-01 12:00:00+00';
CREATE SCHEMA capsum;
CREATE TABLE capsum.leads (id int PRIMARY KEY, company text, x int);
CREATE TABLE capsum.acts (lead_id int NOT NULL, type text NOT NULL, occurred_at timestamptz NOT NULL);
CREATE INDEX ON capsum.acts (lead_id);
INSERT INTO capsum.leads VALUES (1, 'acme', 0), (2, 'acme', 1), (3, 'acme', 2);
SELECT lead_score.create_model('capsum', '{"fit": {"rules": [{"name": "x1", "when": {"field": "x", "gte": 1}, "points": 1},
                                                   {"name": "x2", "when": {"field": "x", "gte": 2}, "points": 1}]},
  "engagement": {"rules": [{"name": "a", "event": "a", "points": 0.1}, {"name": "b", "event": "b", "points": 0.2},
                           {"name": "c", "event": "c", "points": 0.3}]},
  "classification": {"grades": [{"name": "A"}], "labels": [{"name": "any"}],
                     "quadrant": {"fit": 1, "engagement": 1}, "mql": {"min_total": 100}},
  "accounts": {"field": "company", "cap": 0.6}}') IS NOT NULL AS published;
SET LOCAL client_min_messages = warning;
SELECT lead_score.attach('capsum', 'capsum.leads', 'capsum.acts') IS NOT NULL AS attached;
RESET client_min_messages;
INSERT INTO capsum.acts VALUES (1, 'c', '2026-06-01'), (2, 'b', '2026-06-01'), (3, 'a', '2026-06-01');
SELECT account, engagement::text FROM lead_score.capsum_accounts;
SELECT section, item, engagement::text FROM lead_score.explain_account('capsum', 'acme') WHERE section = 'account';
ROLLBACK;
