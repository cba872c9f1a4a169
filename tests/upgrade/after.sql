-- Run after the update (and on the fresh install): what only the new version
-- has, on the fixture's attachments. A version with an accounts section gives
-- both attachments their account views.
SET client_min_messages = warning;
ALTER TABLE crm.leads ADD COLUMN company text;
UPDATE crm.leads SET company = 'c' || (id % 17);
SELECT lead_score.create_model('m', lead_score.model_spec('m')
    || '{"accounts": {"field": "company", "cap": 80, "alert": 90}}');
