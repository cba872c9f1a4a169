-- Run on the source after the dump and on every restored copy: the same
-- statements must give the same output (tests/dump/run.sh compares them) and
-- leave the same tables. Lines "check NAME: true" are also asserted one by one.
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
SET client_min_messages = warning;
SET lead_score.mock_now = '2026-06-01 14:00:00+00';
LISTEN lead_score_alerts;

SELECT 'check ' || a.name || ' consistent as restored: ' || (count(c.lead_key) = 0)
FROM lead_score.attachments a LEFT JOIN LATERAL lead_score.check_consistency(a.name) c ON true
GROUP BY a.name ORDER BY a.name;
SELECT 'check deferred events pending: ' || (count(*) > 0) FROM lead_score_internal.crm_deferred_pending;
SELECT max(id) AS last_alert FROM lead_score.alerts \gset

-- Sync: an activity insert changes the score and alerts in its own statement.
CREATE TEMP TABLE before AS SELECT lead_key, total FROM lead_score.crm_sync_current;
INSERT INTO crm."Activity Log" (lead_id, kind, occurred_at, url) VALUES (20, 'demo_request', '2026-06-01 13:58+00', NULL);
SELECT 'check sync score moved live: ' || (c.total > b.total)
FROM lead_score.crm_sync_current c JOIN before b USING (lead_key) WHERE c.lead_key = 20;
SELECT 'check sync alerted at once: ' || (count(*) > 0) FROM lead_score.alerts WHERE id > :last_alert AND attachment = 'crm_sync';
SELECT 'check deferred has not alerted yet: ' || (count(*) = 0) FROM lead_score.alerts WHERE id > :last_alert AND attachment = 'crm_deferred';
SELECT attachment, lead_key, kind, detail FROM lead_score.alerts WHERE id > :last_alert ORDER BY id;

-- Every other write: activity update and delete, lead update, insert, delete.
UPDATE crm."Activity Log" SET url = '/pricing' WHERE lead_id = 21 AND url = '/blog';
DELETE FROM crm."Activity Log" WHERE lead_id = 22;
UPDATE crm.leads SET sector = 'Software' WHERE id = 23;
INSERT INTO crm.leads VALUES (61, 'Software', 'CTO', 'x61@acme.com', '2026-06-01 13:00+00');
INSERT INTO crm."Activity Log" (lead_id, kind, occurred_at, url) VALUES (61, 'page_view', '2026-06-01 13:59+00', '/pricing');
DELETE FROM crm.leads WHERE id = 24;
SELECT 'check new lead scored: ' || (count(*) = 1) FROM lead_score_internal.crm_sync_scores WHERE lead_key = 61;
SELECT 'check deleted lead gone: ' || (count(*) = 0) FROM lead_score.crm_deferred_current WHERE lead_key = 24;
SELECT 'check ' || a.name || ' consistent after writes: ' || (count(c.lead_key) = 0)
FROM lead_score.attachments a LEFT JOIN LATERAL lead_score.check_consistency(a.name) c ON true
GROUP BY a.name ORDER BY a.name;

-- Deferred: tick() folds what was pending at the dump and since, and alerts.
SET lead_score.mock_now = '2026-06-01 14:05:00+00';
SELECT max(id) AS last_alert FROM lead_score.alerts \gset
SELECT 'check tick alerted: ' || (lead_score.tick() > 0);
SELECT 'check deferred alerted at tick: ' || (count(*) > 0) FROM lead_score.alerts WHERE id > :last_alert AND attachment = 'crm_deferred';
SELECT 'check nothing pending after tick: ' || (count(*) = 0) FROM lead_score_internal.crm_deferred_pending;
SELECT attachment, lead_key, kind, detail FROM lead_score.alerts WHERE id > :last_alert ORDER BY id;
SELECT 'check history recorded by tick: ' || (count(*) > 0) FROM lead_score.score_history WHERE recorded_at = '2026-06-01 14:05:00+00';

-- Feedback, rescore, a new version (published to both attachments), history.
SELECT 'check feedback recorded: ' || (lead_score.record_feedback('crm_deferred', '20', false, 'too_small') IS NOT NULL);
SELECT 'check adjusted: ' || (lead_score.adjust('crm_deferred', '20', 12.5, 'workload') = 4);
SELECT 'check adjustment counted: ' || (adjustment = 12.5) FROM lead_score.crm_deferred_current WHERE lead_key = 20;
SELECT 'check adjustment ended: ' || lead_score.end_adjustment(1);
SELECT 'check rescore: ' || (lead_score.rescore('crm_sync') = 60);
SELECT 'check new version published: ' || (lead_score.create_model('live',
    jsonb_set(lead_score.model_spec('live'), '{classification,mql,min_total}', '70'), 'lower MQL bar') = 3);
SELECT 'check scores use version 3: ' || bool_and(model_version = 3) FROM lead_score.current_scores;
SELECT 'check record_history: ' || (lead_score.record_history('crm_sync') >= 0);
SELECT count(*) AS evaluated FROM lead_score.backtest('crm_deferred', '2026-05-20 12:00+00');

-- Detach one attachment and attach another.
SELECT 'check detach: ' || lead_score.detach('crm_sync');
SELECT 'check detached objects gone: ' || (count(*) = 0) FROM pg_class WHERE relname LIKE 'crm\_sync\_%';
SELECT 'check attach: ' || (lead_score.attach('live', 'crm.leads', 'crm."Activity Log"', '{"event_type": "kind"}',
                                              name => 'crm_again')::text = 'lead_score.crm_again_current');
SET lead_score.mock_now = '2026-06-01 14:10:00+00';
SELECT max(id) AS last_alert FROM lead_score.alerts \gset
INSERT INTO crm."Activity Log" (lead_id, kind, occurred_at, url) VALUES (33, 'demo_request', '2026-06-01 14:09+00', NULL);
SELECT 'check new attachment alerted: ' || (count(*) > 0) FROM lead_score.alerts WHERE id > :last_alert AND attachment = 'crm_again';
SELECT 'check ' || a.name || ' consistent at the end: ' || (count(c.lead_key) = 0)
FROM lead_score.attachments a LEFT JOIN LATERAL lead_score.check_consistency(a.name) c ON true
GROUP BY a.name ORDER BY a.name;
SELECT lead_key, round(total::numeric, 6), quadrant, mql FROM lead_score.top_leads('crm_again', 5);
