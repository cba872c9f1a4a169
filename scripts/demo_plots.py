"""The demo's pictures, from the demo database (run by scripts/demo.sh):

  quadrants.png  fit × engagement of every lead, with the quadrant lines of the
                 model and the number of leads in each quadrant;
  history.png    leads per quadrant over time, from lead_score.history_daily.

    python3 scripts/demo_plots.py OUTPUT_DIR      (PG* variables name the database)
"""

import csv
import io
import json
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

QUADRANTS = ["act_now", "account_based", "check_fit", "nurture", "disqualified"]
COLOURS = {"act_now": "#d62728", "account_based": "#1f77b4", "check_fit": "#ff7f0e",
           "nurture": "#7f7f7f", "disqualified": "#000000"}


def query(sql):
    out = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)"],
                         capture_output=True, text=True, check=True).stdout
    return list(csv.reader(io.StringIO(out)))


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    spec = json.loads(query("SELECT lead_score.model_spec('demo')")[0][0])
    q_fit = spec["classification"]["quadrant"]["fit"]
    q_eng = spec["classification"]["quadrant"]["engagement"]
    rows = query("SELECT fit, engagement, quadrant FROM lead_score.demo_current")

    fig, ax = plt.subplots(figsize=(8, 6), dpi=110)
    for quadrant in QUADRANTS:
        pts = [(float(f), float(e)) for f, e, q in rows if q == quadrant]
        if pts:
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=4, alpha=0.5, color=COLOURS[quadrant],
                       label=f"{quadrant} ({len(pts):,})")
    ax.axvline(q_fit, color="#444444", linewidth=1, linestyle="--")
    ax.axhline(q_eng, color="#444444", linewidth=1, linestyle="--")
    ax.set_xlabel("fit")
    ax.set_ylabel("engagement")
    ax.set_title(f"{len(rows):,} leads: fit × engagement (quadrant lines at fit {q_fit}, engagement {q_eng})")
    ax.legend(markerscale=4, fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "quadrants.png"))

    history = query("SELECT day, class, leads FROM lead_score.history_daily "
                    "WHERE attachment = 'demo' AND dimension = 'quadrant' ORDER BY day")
    days = sorted({d for d, _, _ in history})
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    for quadrant in QUADRANTS:
        counts = {d: int(n) for d, q, n in history if q == quadrant}
        if counts:
            ax.plot(days, [counts.get(d, 0) for d in days], marker="o", markersize=3,
                    color=COLOURS[quadrant], label=quadrant)
    ax.set_ylabel("leads")
    ax.set_title("Leads per quadrant over time (lead_score.history_daily)")
    ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "history.png"))
    print(os.path.join(out_dir, "quadrants.png"))
    print(os.path.join(out_dir, "history.png"))


if __name__ == "__main__":
    main()
