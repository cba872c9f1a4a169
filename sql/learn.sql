-------------------------------------------------------------------------------
-- Checking scores against outcomes (README, "Evaluation and learning").
-- The statistics are lead_score_core::stats and ::logistic; these are their
-- SQL names. Everything runs as the caller.
-------------------------------------------------------------------------------

-- One IRLS iteration over a design: sums of w·x·xᵀ, x·(y − μ) and the
-- log-likelihood at the given coefficients, in a float8[] state that the
-- combine function adds, so parallel workers (and Citus shards) split it.
CREATE FUNCTION lead_score_internal._logistic_trans(state float8[], coefficients float8[], features float8[], converted boolean)
RETURNS float8[] AS 'MODULE_PATHNAME', 'lead_score_logistic_trans'
LANGUAGE c IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION lead_score_internal._logistic_trans(float8[], float8[], float8[], boolean) IS
    'Internal: the transition of logistic_step, which updates its state in place.';
CREATE AGGREGATE lead_score.logistic_step(coefficients float8[], features float8[], converted boolean) (
    SFUNC = lead_score_internal._logistic_trans,
    STYPE = float8[],
    COMBINEFUNC = lead_score_internal._logistic_combine,
    PARALLEL = SAFE
);

CREATE FUNCTION lead_score.logistic_regression(source regclass, outcome text, features text[], l2 float8 DEFAULT 0)
RETURNS TABLE (feature text, coefficient float8, std_error float8, z_value float8, p_value float8,
               log_likelihood float8, iterations integer, converged boolean)
LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'SELECT * FROM lead_score_internal._logistic_regression(source, outcome, features, l2)';

COMMENT ON AGGREGATE lead_score.logistic_step(float8[], float8[], boolean) IS
    'One IRLS iteration of logistic regression at the given coefficients (intercept first), as a float8[] of sums.';
COMMENT ON FUNCTION lead_score.logistic_regression(regclass, text, text[], float8) IS
    'Fit P(outcome) on numeric feature columns of a table or view, one parallel scan per iteration; optional L2 penalty (intercept not penalized).';
COMMENT ON FUNCTION lead_score.roc_auc(float8[], boolean[]) IS
    'ROC AUC of scores against outcomes, with DeLong''s standard error and 95% interval, and a warning under 1,000 leads or 120 conversions.';
COMMENT ON FUNCTION lead_score.auc_difference(float8[], float8[], boolean[]) IS
    'Paired DeLong test of two models scored on the same leads; a_better only when the 95% interval of the difference is above 0.';
COMMENT ON FUNCTION lead_score.score_deciles(float8[], boolean[]) IS
    'Conversion rate and lift by score decile, best first.';
COMMENT ON FUNCTION lead_score.calibration(float8[], boolean[], integer) IS
    'Expected against observed conversion by bin of predicted probability, with the expected calibration error and the Brier score.';
