-- The script of the extension lead_score_dump_probe (tests/dump/run.sh): an
-- extension script that attaches, as an upgrade script that rebuilds an
-- attachment would. The attachment's objects must belong to no extension.
SELECT lead_score.attach('live', 'crm.leads', 'crm."Activity Log"', '{"event_type": "kind"}', name => 'crm_probe');
