"""The client-side baseline of bench/learn.sh: export the design (COPY to this
process, parsed by pandas) and fit it with scikit-learn, with the same L2
objective as lead_score.logistic_regression(l2 => 1). Prints, best of REPS:
export ms, newton-cholesky fit ms, lbfgs fit ms, and the largest coefficient
difference from the in-database fit (given as comma-separated coefficients,
intercept first).

    python3 bench/learn.py FEATURES REPS COEFFICIENTS
"""

import io
import subprocess
import sys
import time

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression


def main():
    features, reps = int(sys.argv[1]), int(sys.argv[2])
    in_db = np.array([float(v) for v in sys.argv[3].split(",")])
    cols = ", ".join(f"f{j}" for j in range(1, features + 1))
    export = newton = lbfgs = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        out = subprocess.run(
            ["psql", "-X", "-q", "-c", f"COPY (SELECT won, {cols} FROM leads) TO STDOUT WITH (FORMAT csv)"],
            capture_output=True,
            check=True,
        ).stdout
        df = pd.read_csv(io.BytesIO(out), header=None)
        y = (df[0] == "t").to_numpy()
        X = df.iloc[:, 1:].to_numpy()
        export = min(export, (time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        sk = LogisticRegression(C=1.0, solver="newton-cholesky", max_iter=1000, tol=1e-10).fit(X, y)
        newton = min(newton, (time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        LogisticRegression(C=1.0, max_iter=10_000).fit(X, y)
        lbfgs = min(lbfgs, (time.perf_counter() - t) * 1000)
    sk_beta = np.concatenate([[sk.intercept_[0]], sk.coef_[0]])
    diff = np.max(np.abs(sk_beta - in_db)) / np.max(np.abs(sk_beta))
    print(f"{export:.0f} {newton:.0f} {lbfgs:.0f} {diff:.1e}")


if __name__ == "__main__":
    main()
