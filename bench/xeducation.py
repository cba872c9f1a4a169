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


def fit_in_database(dsn, X, y, train):
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
    out = psql(
        dsn,
        f"SELECT feature, coefficient, std_error, iterations, converged FROM lead_score.logistic_regression('xe_train', 'converted', {features}, l2 => {L2})",
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


def suggested_in_database(dsn, df, train, y, with_last_activity):
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
        print(f"lead_score.suggest_points, {label}: {n} rules (draft version {version}); "
              f"held-out AUC {a:.4f} (95% CI {lo:.4f} to {hi:.4f})")
    psql(dsn, "SELECT lead_score.detach('xe')")
    psql(dsn, "DROP TABLE xe_leads, xe_acts CASCADE")
    psql(dsn, "SELECT lead_score.drop_model('xe')")


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
    # intercept unpenalized (lbfgs): the same objective when C = 1 / l2.
    sk = LogisticRegression(C=1 / L2, max_iter=10_000, tol=1e-10)
    sk.fit(X.to_numpy()[tr], y[tr])
    p_sk = sk.predict_proba(Xte)[:, 1]
    diff = max(abs(sk.intercept_[0] - b0), np.max(np.abs(sk.coef_[0] - beta)))
    print(f"scikit-learn LogisticRegression (C = {1 / L2}): held-out AUC {roc_auc_score(y[te], p_sk):.4f}; "
          f"largest coefficient difference from lead_score {diff:.2e}")

    try:
        import statsmodels.api as sm

        # Unpenalized, by L-BFGS (one-hot levels that always go together make
        # the Hessian singular for Newton): compare by AUC only, as its
        # coefficients differ by the penalty.
        sm_fit = sm.Logit(y[tr], sm.add_constant(X.to_numpy()[tr])).fit(
            method="lbfgs", maxiter=5000, disp=0
        )
        p_sm = sm_fit.predict(sm.add_constant(Xte, has_constant="add"))
        print(f"statsmodels Logit (unpenalized): held-out AUC {roc_auc_score(y[te], p_sm):.4f}")
    except Exception as e:  # noqa: BLE001 - report, do not hide, a failed baseline
        print(f"statsmodels Logit: did not fit ({e.__class__.__name__}: {e})")

    hgb = HistGradientBoostingClassifier(random_state=SEED)
    hgb.fit(X.to_numpy()[tr], y[tr])
    print(f"scikit-learn HistGradientBoostingClassifier: held-out AUC "
          f"{roc_auc_score(y[te], hgb.predict_proba(Xte)[:, 1]):.4f}")
    suggested_in_database(dsn, df, train, y, with_last_activity)


def main():
    csv, dsn = sys.argv[1], sys.argv[2]
    df = pd.read_csv(csv)
    for with_last_activity in (False, True):
        run(df, dsn, with_last_activity)
    psql(dsn, "DROP TABLE IF EXISTS xe_design")


if __name__ == "__main__":
    main()
