-- Checking scores against what happened: ROC AUC with DeLong's interval, the
-- paired test of two models, lift by decile, calibration, and logistic
-- regression fitted in the database, one parallel scan per iteration.

-- Four converted leads and five others; two scores tie across the outcomes.
SELECT round(auc::numeric, 4) AS auc, round(std_error::numeric, 4) AS se,
       round(ci_lower::numeric, 4) AS lower, round(ci_upper::numeric, 4) AS upper, leads, positives, warning
FROM lead_score.roc_auc(ARRAY[0.9, 0.8, 0.4, 0.4, 0.7, 0.4, 0.3, 0.2, 0.1],
                        ARRAY[true, true, true, true, false, false, false, false, false]);
-- A lead with no score or no outcome is left out; one outcome only is an error.
SELECT leads FROM lead_score.roc_auc(ARRAY[0.9, NULL, 0.1], ARRAY[true, true, NULL]);

-- A design table: one row per lead, numeric features, and whether it converted.
-- The outcome follows -0.5 + 1.2·x1 + 0.8·x2 on the logistic scale; x3 is noise.
CREATE TABLE design AS
SELECT i AS lead_id,
       ((hashint4(i) & 65535) / 65535.0 * 4 - 2)::float8 AS x1,
       ((hashint4(i + 100000) & 65535) < 19661)::int::float8 AS x2,
       ((hashint4(i + 200000) & 65535) / 65535.0)::float8 AS x3,
       7.0::float8 AS always_seven
FROM generate_series(1, 4000) i;
ALTER TABLE design ADD COLUMN converted boolean;
UPDATE design SET converted = (hashint4(lead_id + 300000) & 65535) / 65535.0 < 1 / (1 + exp(-(-0.5 + 1.2 * x1 + 0.8 * x2)));

-- The fit recovers the generating coefficients; x3's is near 0 and not significant.
SELECT feature, round(coefficient::numeric, 2) AS coefficient, round(std_error::numeric, 2) AS std_error,
       p_value < 0.05 AS significant, iterations < 10 AS few_iterations, converged
FROM lead_score.logistic_regression('design', 'converted', ARRAY['x1', 'x2', 'x3']);
-- An L2 penalty shrinks every coefficient but the intercept.
SELECT feature, round(coefficient::numeric, 2) AS coefficient
FROM lead_score.logistic_regression('design', 'converted', ARRAY['x1', 'x2'], l2 => 500);
-- A constant column is dropped, with a notice.
SELECT feature FROM lead_score.logistic_regression('design', 'converted', ARRAY['x1', 'always_seven']);

-- The fitted model's predictions: AUC, lift by decile, calibration.
CREATE TABLE predicted AS
SELECT d.lead_id, d.converted, 1 / (1 + exp(-(f.b0 + f.b1 * d.x1 + f.b2 * d.x2))) AS p
FROM design d,
     (SELECT max(coefficient) FILTER (WHERE feature = '(intercept)') AS b0,
             max(coefficient) FILTER (WHERE feature = 'x1') AS b1,
             max(coefficient) FILTER (WHERE feature = 'x2') AS b2
      FROM lead_score.logistic_regression('design', 'converted', ARRAY['x1', 'x2'])) f;
SELECT round(auc::numeric, 3) AS auc, ci_lower < auc AND auc < ci_upper AS in_interval, leads, positives, warning
FROM lead_score.roc_auc((SELECT array_agg(p ORDER BY lead_id) FROM predicted),
                        (SELECT array_agg(converted ORDER BY lead_id) FROM predicted));
SELECT decile, leads, positives, round(lift::numeric, 2) AS lift
FROM lead_score.score_deciles((SELECT array_agg(p ORDER BY lead_id) FROM predicted),
                              (SELECT array_agg(converted ORDER BY lead_id) FROM predicted))
WHERE decile IN (1, 5, 10);
-- No lead converted: there is no overall rate to lift, so lift is NULL, not 0.
SELECT decile, leads, positives, conversion_rate, lift IS NULL AS no_lift
FROM lead_score.score_deciles(ARRAY[3, 2, 1]::float8[], ARRAY[false, false, false]);
SELECT count(*) AS bins, round(max(calibration_error)::numeric, 2) AS ece, round(max(brier)::numeric, 3) AS brier
FROM lead_score.calibration((SELECT array_agg(p) FROM predicted), (SELECT array_agg(converted) FROM predicted));

-- Two models on the same leads: the fitted one against x3 alone (noise). The
-- fitted one is better only because the 95% interval of the difference is above 0.
SELECT round(auc_a::numeric, 3) AS auc_a, round(auc_b::numeric, 3) AS auc_b, ci_lower > 0 AS interval_above_0, a_better
FROM lead_score.auc_difference((SELECT array_agg(p ORDER BY lead_id) FROM predicted),
                               (SELECT array_agg(x3 ORDER BY lead_id) FROM design),
                               (SELECT array_agg(converted ORDER BY lead_id) FROM predicted));

-- Perfect separation: a warning names the feature; with an L2 penalty the fit is finite.
CREATE TABLE separated AS SELECT i, (i - 50.5) / 10 AS x, i > 50 AS won FROM generate_series(1, 100) i;
SELECT feature, abs(coefficient) < 1e6 AS finite FROM lead_score.logistic_regression('separated', 'won', ARRAY['x']);
SELECT feature, round(coefficient::numeric, 2) AS coefficient, converged FROM lead_score.logistic_regression('separated', 'won', ARRAY['x'], l2 => 1);

-- Errors name what is wrong.
SELECT * FROM lead_score.logistic_regression('design', 'converted', ARRAY['x9']);
SELECT * FROM lead_score.logistic_regression('design', 'converted', ARRAY['x1'], l2 => -1);
SELECT * FROM lead_score.logistic_regression('design', 'converted', ARRAY['x1', NULL]);
-- The outcome is a boolean, each feature a number (42804).
SELECT * FROM lead_score.logistic_regression('design', 'x1', ARRAY['x2']);
SELECT * FROM lead_score.logistic_regression('design', 'converted', ARRAY['x1', 'converted']);
-- A domain over a domain over boolean is a boolean.
CREATE DOMAIN won_flag AS boolean;
CREATE DOMAIN won_flag2 AS won_flag;
CREATE TABLE design_domains AS SELECT x1, converted::won_flag2 AS won FROM design WHERE lead_id <= 500;
SELECT count(*) AS coefficients FROM lead_score.logistic_regression('design_domains', 'won', ARRAY['x1']);
DROP TABLE design_domains;
DROP DOMAIN won_flag2, won_flag;
UPDATE design SET x1 = NULL WHERE lead_id = 7;
SELECT * FROM lead_score.logistic_regression('design', 'converted', ARRAY['x1']);
SELECT * FROM lead_score.roc_auc(ARRAY[0.1, 0.2], ARRAY[true, true]);
SELECT * FROM lead_score.roc_auc(ARRAY[0.1, 0.2], ARRAY[true]);
SELECT * FROM lead_score.calibration(ARRAY[1.5], ARRAY[true]);
SELECT * FROM lead_score.calibration(ARRAY[0.5, 0.2], ARRAY[true]);
-- A fit is at most 200 coefficients, checked before any memory is taken.
SELECT lead_score.logistic_step(array_fill(0::float8, ARRAY[100000]), ARRAY[1::float8], true);
DROP TABLE design, predicted, separated;
