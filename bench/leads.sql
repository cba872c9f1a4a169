-- The benchmark leads (bench/live.sh, bench/adjustments.sh): :leads rows
-- whose fields bench/model.json's fit rules read.
CREATE TABLE leads (id bigint PRIMARY KEY, industry text, job_title text, employees int, country text,
                    email text, phone text, budget text, decision_maker boolean);
INSERT INTO leads
SELECT g, (ARRAY['Software','Financial Services','Healthcare','Retail',NULL])[1 + g % 5],
       (ARRAY['CEO','VP Marketing','Engineer','Manager','Student'])[1 + (g / 5) % 5],
       (g * 37) % 20000, (ARRAY['US','GB','DE','IN',NULL])[1 + (g / 25) % 5], 'x' || g || '@corp.com',
       CASE WHEN g % 3 = 0 THEN NULL ELSE '+1-555-0100' END, (ARRAY['approved','planned',NULL])[1 + g % 3], g % 2 = 0
FROM generate_series(1, :leads) g;
