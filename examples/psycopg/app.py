"""An app that hears lead_score's alerts and reads live scores, with psycopg 3.

It connects with the libpq environment (PGHOST, PGPORT, PGUSER, PGDATABASE) to a
database loaded with ../crm.sql, whose "crm" attachment keeps every lead's score
current as activities are written. Exits non-zero if anything is not as expected.
"""

import json
import sys
import time

import psycopg
from psycopg.rows import dict_row

ATTACHMENT = "crm"
LEAD = 4  # Dev Dubois: a good fit who has barely engaged so far


def check(ok: bool, what: str) -> None:
    if not ok:
        sys.exit(f"FAIL: {what}")


def main() -> None:
    with (
        psycopg.connect(autocommit=True) as listener,
        psycopg.connect(autocommit=True, row_factory=dict_row) as app,
    ):
        # Any role may LISTEN. The payload is only {"id": …, "attachment": …};
        # the alert itself is a row of lead_score.alerts (lead_score_reader may read it).
        listener.execute("LISTEN lead_score_alerts")

        score_sql = "SELECT total, quadrant, mql FROM lead_score.current_score(%s, %s::bigint)"
        before = app.execute(score_sql, (ATTACHMENT, LEAD)).fetchone()
        print(f"lead {LEAD} before: {before}")

        # The app writes activities as it always did; lead_score's triggers score
        # them in the same transaction and send the alerts when it commits.
        sent = time.monotonic()
        with app.transaction():
            app.execute(
                """INSERT INTO crm.activities (lead_id, type, url) VALUES
                       (%(lead)s, 'page_view', '/pricing'),
                       (%(lead)s, 'page_view', '/pricing/enterprise'),
                       (%(lead)s, 'demo_request', NULL)""",
                {"lead": LEAD},
            )

        # Wait up to 5 seconds for the demo request alert of this lead.
        for note in listener.notifies(timeout=5.0):
            alert_id = json.loads(note.payload)["id"]
            alert = app.execute(
                "SELECT id, lead_key, kind, detail, total FROM lead_score.alerts WHERE id = %s",
                (alert_id,),
            ).fetchone()
            print(f"alert after {time.monotonic() - sent:.2f} s: {alert}")
            if (alert["lead_key"], alert["kind"], alert["detail"]) == (str(LEAD), "burst", "demo request"):
                break
        else:
            check(False, f"no demo request alert for lead {LEAD} within 5 s")

        # The lead's live score: one row, or none for a key that is not a lead.
        after = app.execute(score_sql, (ATTACHMENT, LEAD)).fetchone()
        print(f"lead {LEAD} after:  {after}")
        min_total = app.execute(
            "SELECT (lead_score.model_spec('crm') #>> '{classification,mql,min_total}')::float8 AS t"
        ).fetchone()["t"]
        check(after["total"] >= before["total"], "the new activities did not lower the score")
        check(after["mql"] and after["total"] >= min_total, f"lead {LEAD} is an MQL (total >= {min_total})")
        check(after["quadrant"] == "act_now", f"lead {LEAD} is in quadrant act_now")

        # The hottest leads now (disqualified leads are left out by default).
        top = app.execute(
            "SELECT lead_key, total, quadrant, mql FROM lead_score.top_leads(%s, 3)", (ATTACHMENT,)
        ).fetchall()
        for rank, row in enumerate(top, 1):
            print(f"top {rank}: {row}")
        check(len(top) == 3, "top_leads returned 3 leads")
        check(str(LEAD) in [row["lead_key"] for row in top], f"lead {LEAD} is among the top 3")
        check(all(a["total"] >= b["total"] for a, b in zip(top, top[1:])), "top_leads is ordered by total")
        print("psycopg example: OK")


if __name__ == "__main__":
    main()
