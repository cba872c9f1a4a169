"""X Education leads: lead_score's in-database logistic regression against
scikit-learn and statsmodels, and a gradient-boosting baseline, on one design
matrix and one seeded, stratified 70/30 split. Run by bench/xeducation.sh.

    python3 bench/xeducation.py CSV PSQL_DSN

Columns sales writes after contact (Tags, Lead Quality, Lead Profile, the
Asymmetrique indices, Last Notable Activity) are dropped. Last Activity mixes
the lead's own actions with the counsellors' (SMS sent, a phone call), so the
fit is reported with and without it; the headline is without it.
"""

import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

SEED = 20261202
L2 = 1.0
LEAKY = [
    "Tags",
    "Lead Quality",
    "Lead Profile",
    "Asymmetrique Activity Index",
    "Asymmetrique Profile Index",
    "Asymmetrique Activity Score",
    "Asymmetrique Profile Score",
    "Last Notable Activity",
]
NUMERIC = ["TotalVisits", "Total Time Spent on Website", "Page Views Per Visit"]
MIN_LEVEL = 30  # rarer categories are pooled as "other"


def design(df, with_last_activity):
    """One-hot categoricals (missing and "Select" as their own level, rare
    levels pooled), numeric features banded as a scorecard would be: missing,
    zero, and quartiles of the positive values."""
    cols = {}
    cats = [
        c
        for c in df.columns
        if c not in NUMERIC + LEAKY + ["Prospect ID", "Lead Number", "Converted"]
        and (with_last_activity or c != "Last Activity")
    ]
    for c in cats:
        v = df[c].fillna("missing").replace("Select", "missing").astype(str)
        counts = v.value_counts()
        v = v.where(v.map(counts) >= MIN_LEVEL, "other")
        levels = sorted(v.unique())
        for lvl in levels[1:]:  # the first level is the reference
            cols[f"{c}={lvl}"] = (v == lvl).astype(float)
    for c in NUMERIC:
        x = pd.to_numeric(df[c], errors="coerce")
        cols[f"{c} missing"] = x.isna().astype(float)
        cols[f"{c} zero"] = (x == 0).astype(float)
        pos = x[x > 0]
        edges = np.quantile(pos, [0.25, 0.5, 0.75])
        for i, e in enumerate(edges):
            cols[f"{c} > q{i + 1}"] = (x > e).astype(float)
    X = pd.DataFrame(cols)
    # Constant columns carry nothing; the database drops them too, with a notice.
    return X.loc[:, X.std() > 0]


def psql(dsn, sql, *args):
    done = subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-d", dsn, *args, "-c", sql],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"psql failed: {sql[:200]}\n{done.stderr}")
    return done.stdout


def fit_in_database(dsn, X, y, train, l2=L2, parallel=False):
    """Loads the design into the database and fits there: returns the
    coefficients by feature and the fit's report rows."""
    names = [f"f{i}" for i in range(X.shape[1])]
    data = X.copy()
    data.columns = names
    data.insert(0, "converted", y.astype(bool))
    data.insert(0, "train", train)
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        data.to_csv(f, index=False, header=False)
        path = f.name
    cols = ", ".join(f"{n} float8" for n in names)
    psql(dsn, "DROP TABLE IF EXISTS xe_design")
    psql(dsn, f"CREATE TABLE xe_design (train boolean, converted boolean, {cols})")
    psql(dsn, f"\\copy xe_design FROM '{path}' WITH (FORMAT csv)")
    psql(dsn, "CREATE VIEW xe_train AS SELECT * FROM xe_design WHERE train")
    features = "ARRAY[" + ", ".join(f"'{n}'" for n in names) + "]"
    settings = (
        "SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;"
        " SET max_parallel_workers_per_gather = 4; SET force_parallel_mode = on;"
        if parallel
        else "SET max_parallel_workers_per_gather = 0;"
    )
    out = psql(
        dsn,
        f"{settings} SELECT feature, coefficient, std_error, iterations, converged FROM lead_score.logistic_regression('xe_train', 'converted', {features}, l2 => {l2})",
    )
    psql(dsn, "DROP VIEW xe_train")
    coef = {}
    iterations = converged = None
    for line in out.strip().splitlines():
        feature, b, _, iterations, converged = line.split("|")
        coef[feature] = float(b)
    beta = np.array([coef.get(n, 0.0) for n in names])
    return coef["(intercept)"], beta, int(iterations), converged == "t"


def evaluate_in_database(dsn, p, y):
    """Held-out AUC with DeLong's interval, ECE and Brier, computed by lead_score."""
    arr_p = "ARRAY[" + ",".join(repr(float(v)) for v in p) + "]::float8[]"
    arr_y = "ARRAY[" + ",".join("true" if v else "false" for v in y) + "]"
    auc = psql(dsn, f"SELECT auc, ci_lower, ci_upper FROM lead_score.roc_auc({arr_p}, {arr_y})")
    cal = psql(
        dsn,
        f"SELECT max(calibration_error), max(brier) FROM lead_score.calibration({arr_p}, {arr_y})",
    )
    a, lo, hi = (float(v) for v in auc.strip().split("|"))
    ece, brier = (float(v) for v in cal.strip().split("|"))
    return a, lo, hi, ece, brier


def snake(name):
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")


def sklearn_on_draft(dsn, data, version, fields, train, y):
    """scikit-learn's Newton solver on the draft's own design: each feature of
    its predictive section evaluated on the raw fields as the engine reads
    them (blank and "Select" are missing). Returns its held-out Brier score."""
    import json

    spec = json.loads(psql(dsn, f"SELECT lead_score.model_spec('xe', {version})"))
    cols = []
    for f in spec["predictive"]["features"]:
        w = f["when"]
        v = data[w["field"]]
        if "present" in w:
            if v.dtype == object:
                missing = v.isna() | v.astype(str).str.strip().eq("") | v.eq("Select")
            else:
                missing = v.isna()
            cols.append(missing.astype(float))
        elif "gt" in w:
            cols.append((v > w["gt"]).fillna(False).astype(float))
        else:
            cols.append((v == w["eq"]).fillna(False).astype(float))
    X = np.column_stack(cols)
    sk = LogisticRegression(C=1 / L2, solver="newton-cholesky", max_iter=1000, tol=1e-14)
    sk.fit(X[train], y[train])
    p = sk.predict_proba(X[~train])[:, 1]
    return float(np.mean((p - y[~train]) ** 2))


def suggested_in_database(dsn, df, train, y, with_last_activity, logistic_auc, sk_brier):
    """lead_score.suggest_points on the raw lead fields (train leads' outcomes
    linked in place), at most 20 points, and its sparse 12-rule variant; both
    scored on the held-out leads by the engine (lead_score.fit) and evaluated
    with lead_score.roc_auc."""
    fields = [
        c
        for c in df.columns
        if c not in LEAKY + ["Prospect ID", "Lead Number", "Converted"]
        and (with_last_activity or c != "Last Activity")
    ]
    data = pd.DataFrame({"lead_id": np.arange(len(df)), "converted": y.astype(bool), "train": train})
    for c in fields:
        data[snake(c)] = pd.to_numeric(df[c], errors="coerce") if c in NUMERIC else df[c]
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        data.to_csv(f, index=False, header=False)
        path = f.name
    cols = ", ".join(f"{snake(c)} {'float8' if c in NUMERIC else 'text'}" for c in fields)
    spec = (
        '{"fit": {"missing_values": ["Select"], "rules": []},'
        ' "engagement": {"rules": [{"name": "visit", "event": "visit", "points": 1}]},'
        ' "classification": {"grades": [{"name": "A"}], "labels": [{"name": "all"}],'
        ' "quadrant": {"fit": 10, "engagement": 10}, "mql": {"min_total": 10}}}'
    )
    for sql in [
        "DROP TABLE IF EXISTS xe_leads, xe_acts CASCADE",
        "SELECT lead_score.drop_model('xe') FROM lead_score.models WHERE name = 'xe'",
        f"CREATE TABLE xe_leads (lead_id int PRIMARY KEY, converted boolean, train boolean, {cols})",
        f"\\copy xe_leads FROM '{path}' WITH (FORMAT csv)",
        "CREATE TABLE xe_acts (lead_id int, type text, occurred_at timestamptz)",
        "CREATE INDEX ON xe_acts (lead_id)",
        f"SELECT lead_score.create_model('xe', '{spec}')",
        "SELECT lead_score.attach('xe', 'xe_leads', 'xe_acts', '{\"lead_key\": \"lead_id\"}')",
        "CREATE VIEW xe_train_outcomes AS SELECT lead_id, converted AS won FROM xe_leads WHERE train",
        "SELECT lead_score.link_outcomes('xe', 'xe_train_outcomes', '{\"won\": \"won\"}')",
    ]:
        psql(dsn, sql)
    names = "ARRAY[" + ", ".join(f"'{snake(c)}'" for c in fields) + "]"
    results = {}
    for label, rules in [("suggested points (at most 20 points)", "NULL"), ("sparse model (at most 12 rules)", "12")]:
        out = psql(
            dsn,
            f"SELECT max(version), count(*) FROM lead_score.suggest_points('xe', {names}, max_points => 20, max_rules => {rules})",
        )
        version, n = out.strip().split("|")
        auc = psql(
            dsn,
            f"SELECT r.auc, r.ci_lower, r.ci_upper FROM (SELECT array_agg(lead_score.fit('xe@{version}', l) ORDER BY l.lead_id) AS s,"
            f" array_agg(l.converted ORDER BY l.lead_id) AS w FROM xe_leads l WHERE NOT l.train) x, lead_score.roc_auc(x.s, x.w) r",
        )
        a, lo, hi = (float(v) for v in auc.strip().split("|"))
        results[label] = a
        print(f"lead_score.suggest_points, {label}: {n} rules (draft version {version}); "
              f"held-out AUC {a:.4f} (95% CI {lo:.4f} to {hi:.4f}), {a / logistic_auc:.4f}x the logistic regression")
        if rules == "NULL":
            # The draft's predictive section, scored by the engine: each held-out
            # lead's probability and predictive score from lead_score.score.
            out = psql(
                dsn,
                f"SELECT r.auc, r.ci_lower, r.ci_upper, c.ece, c.brier, x.top_ok FROM"
                f" (SELECT array_agg((s).probability ORDER BY l.lead_id) AS p, array_agg(l.converted ORDER BY l.lead_id) AS w,"
                f"         bool_and((s).predictive_score = round(100 * (s).probability)) AS top_ok"
                f"  FROM (SELECT l, lead_score.score('xe@{version}', l, NULL) AS s FROM xe_leads l WHERE NOT l.train) q"
                f"  CROSS JOIN LATERAL (SELECT (q.l).lead_id, (q.l).converted) l(lead_id, converted)) x,"
                f" lead_score.roc_auc(x.p, x.w) r,"
                f" LATERAL (SELECT max(calibration_error) AS ece, max(brier) AS brier FROM lead_score.calibration(x.p, x.w)) c",
            )
            a, lo, hi, ece, brier, ok = out.strip().split("|")
            results["predictive brier"] = float(brier)
            sk_brier = sklearn_on_draft(dsn, data, version, fields, train, y)
            print(f"lead_score predictive score (the draft's logistic model, scored by the engine): "
                  f"held-out AUC {float(a):.4f} (95% CI {float(lo):.4f} to {float(hi):.4f}), "
                  f"ECE {float(ece):.4f}, Brier {float(brier):.4f} (scikit-learn, same objective, on the draft's own features: {sk_brier:.4f})"
                  f"{'' if ok == 't' else '; predictive_score is not round(100 p)'}")
    psql(dsn, "SELECT lead_score.detach('xe')")
    psql(dsn, "DROP TABLE xe_leads, xe_acts CASCADE")
    psql(dsn, "SELECT lead_score.drop_model('xe')")
    return results


def run(df, dsn, with_last_activity):
    X = design(df, with_last_activity)
    y = df["Converted"].astype(int).to_numpy()
    idx = np.arange(len(df))
    tr, te = train_test_split(idx, test_size=0.3, random_state=SEED, stratify=y)
    train = np.zeros(len(df), dtype=bool)
    train[tr] = True
    label = "with Last Activity" if with_last_activity else "without Last Activity (headline)"
    print(f"\n== {label}: {X.shape[1]} features, {len(tr)} train / {len(te)} test leads, "
          f"{y.mean():.1%} converted")

    b0, beta, iterations, converged = fit_in_database(dsn, X, y, train)
    Xte = X.to_numpy()[te]
    p_db = 1 / (1 + np.exp(-(b0 + Xte @ beta)))
    a, lo, hi, ece, brier = evaluate_in_database(dsn, p_db, y[te])
    print(f"lead_score.logistic_regression (l2 = {L2}, {iterations} iterations, converged: {converged}):")
    print(f"  held-out AUC {a:.4f} (95% CI {lo:.4f} to {hi:.4f}), ECE {ece:.4f}, Brier {brier:.4f}")

    # scikit-learn's L2 logistic regression minimises ½‖w‖² + C·Σ loss with the
    # intercept unpenalized: the same objective when C = 1 / l2. Its exact
    # Newton solver, run to a tight tolerance.
    sk = LogisticRegression(C=1 / L2, solver="newton-cholesky", max_iter=1000, tol=1e-14)
    sk.fit(X.to_numpy()[tr], y[tr])
    p_sk = sk.predict_proba(Xte)[:, 1]
    sk_beta = np.concatenate([[sk.intercept_[0]], sk.coef_[0]])
    db_beta = np.concatenate([[b0], beta])
    rel = np.max(np.abs(sk_beta - db_beta)) / np.max(np.abs(sk_beta))
    sk_brier = float(np.mean((p_sk - y[te]) ** 2))
    print(f"scikit-learn LogisticRegression (newton-cholesky, C = {1 / L2}): held-out AUC {roc_auc_score(y[te], p_sk):.4f}, "
          f"Brier {sk_brier:.4f}; largest coefficient difference from lead_score {rel:.2e} (relative to the largest coefficient)")

    # Parallel and serial fits: the same sums in another order.
    b0_par, beta_par, _, _ = fit_in_database(dsn, X, y, train, parallel=True)
    par = np.max(np.abs(np.concatenate([[b0_par], beta_par]) - db_beta)) / np.max(np.abs(db_beta))
    print(f"lead_score parallel fit (4 workers forced) against serial: largest relative difference {par:.2e}")

    try:
        import statsmodels.api as sm

        # Unpenalized, by Newton, on a design without separation or collinear
        # columns: the three numeric columns, log(1 + x), missing as 0 with
        # one indicator (the three are missing together).
        small = pd.DataFrame({c: np.log1p(pd.to_numeric(df[c], errors="coerce").fillna(0)) for c in NUMERIC})
        small["missing"] = pd.to_numeric(df["TotalVisits"], errors="coerce").isna().astype(float)
        sm_fit = sm.Logit(y[tr], sm.add_constant(small.to_numpy()[tr])).fit(
            method="newton", maxiter=100, tol=1e-14, disp=0
        )
        s0, sbeta, _, _ = fit_in_database(dsn, small, y, train, l2=0.0)
        srel = np.max(np.abs(np.concatenate([[s0], sbeta]) - sm_fit.params)) / np.max(np.abs(sm_fit.params))
        print(f"statsmodels Logit (unpenalized, Newton) on {small.shape[1]} features (log numeric columns): "
              f"largest coefficient difference from lead_score (l2 = 0) {srel:.2e} (relative)")
        sm_all = sm.Logit(y[tr], sm.add_constant(X.to_numpy()[tr])).fit(method="lbfgs", maxiter=5000, disp=0)
        p_sm = sm_all.predict(sm.add_constant(Xte, has_constant="add"))
        print(f"statsmodels Logit (unpenalized, all features, L-BFGS): held-out AUC {roc_auc_score(y[te], p_sm):.4f}")
    except Exception as e:  # noqa: BLE001 - report, do not hide, a failed baseline
        print(f"statsmodels Logit: did not fit ({e.__class__.__name__}: {e})")

    hgb = HistGradientBoostingClassifier(random_state=SEED)
    hgb.fit(X.to_numpy()[tr], y[tr])
    hgb_auc = roc_auc_score(y[te], hgb.predict_proba(Xte)[:, 1])
    print(f"scikit-learn HistGradientBoostingClassifier: held-out AUC {hgb_auc:.4f}; "
          f"lead_score's logistic regression is {a / hgb_auc:.4f}x of it")
    suggested_in_database(dsn, df, train, y, with_last_activity, a, sk_brier)


def main():
    csv, dsn = sys.argv[1], sys.argv[2]
    df = pd.read_csv(csv)
    for with_last_activity in (False, True):
        run(df, dsn, with_last_activity)
    psql(dsn, "DROP TABLE IF EXISTS xe_design")


if __name__ == "__main__":
    main()
