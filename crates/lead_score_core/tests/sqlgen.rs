//! Snapshot tests of the SQL `attach` generates: a reviewer sees every change
//! to it as a diff of `tests/snapshots/*.sql`. After an intended change, run
//! `UPDATE_SNAPSHOTS=1 cargo test -p lead_score_core --test sqlgen` and review the diff.

use lead_score_core::model::EventDecay;
use lead_score_core::sqlgen::attach::{
    current_views_statements, drop_statements, Attachment, Column, Mode, Placement, Query, TextOf,
};
use lead_score_core::sqlgen::learn::Outcomes;
use lead_score_core::sqlgen::Qualified;
use std::path::PathBuf;

fn render(a: &Attachment) -> String {
    let mut out = String::new();
    // Every statement below runs with this path: attach's and detach's as the
    // extension owner (src/owner.rs), the queries inside functions that pin it.
    // pgspot reads it too (scripts/pgspot.sh).
    out.push_str("SET search_path = pg_catalog, pg_temp;\n\n-- attach\n");
    for s in a.create_statements() {
        out.push_str(&format!("-- {}\n{};\n\n", s.what, s.sql));
    }
    for q in [
        "count_leads",
        "prune",
        "rescore",
        "rescore_distributed",
        "rescore_alerts",
        "rebase",
        "rebase_distributed",
        "time_crossings",
        "time_crossings_distributed",
        "refresh_bounds",
        "check",
        "top_leads",
        "current_score",
        "timeline",
        "key_of_text",
        "record_history",
        "backfill_history",
        "record_history_lead",
        "lead_key_text",
        "explain_lead",
        "top_leads_all",
        "current_score_text",
        "fold",
        "clear_pending",
        "citus_outbox",
        "citus_relay",
        "pending_summary",
        "record_stale",
        "pending_of",
    ] {
        let query = Query::parse(q).unwrap();
        out.push_str(&format!("-- query {q}\n{};\n\n", a.query(query)));
    }
    for (what, sql) in [
        ("account_totals", a.account_totals()),
        ("account_seed", a.account_seed()),
        ("account_alerts", a.account_alerts()),
        ("account_explain", a.account_explain()),
    ] {
        if let Some(sql) = sql {
            out.push_str(&format!("-- query {what}\n{sql};\n\n"));
        }
    }
    out.push_str("-- account objects when a version is published\n");
    for s in a.account_objects_statements(false) {
        out.push_str(&format!("{};\n", s.sql));
    }
    out.push('\n');
    out.push_str("-- current_scores and current_categories with this attachment alone\n");
    for s in current_views_statements(std::slice::from_ref(a), false) {
        out.push_str(&format!("{};\n", s.sql));
    }
    out.push('\n');
    out.push_str(&format!(
        "-- query owner_read (run as the activity table's owner)\n{};\n\n",
        a.owner_read_query(false)
    ));
    out.push_str(&format!(
        "-- query owner_read, few keys (each by the lead key index)\n{};\n\n",
        a.owner_read_query(true)
    ));
    // The learning queries, over outcomes in a deals table (several deals a
    // lead) and in a table whose lead key is unique.
    for (case, unique_key) in [("deals", false), ("one row a lead", true)] {
        let outcomes = Outcomes {
            source: Qualified::new("crm", "deals"),
            lead_key: "lead ref".into(),
            won: "won".into(),
            closed_at: Some("closed_at".into()),
            lead_created_at: Some("created".into()),
            unique_key,
        };
        out.push_str(&format!(
            "-- query evaluation_rows ({case})\n{};\n\n",
            a.evaluation_rows(&outcomes)
        ));
        out.push_str(&format!(
            "-- query evaluation_rows_per_lead ({case})\n{};\n\n",
            a.evaluation_rows_per_lead(&outcomes, "created")
        ));
        out.push_str(&format!(
            "-- query backtest_arrays ({case}, 3 versions)\n{};\n\n",
            a.backtest_arrays(&outcomes, 3)
        ));
        out.push_str(&format!(
            "-- query design_query ({case})\n{};\n\n",
            a.design_query(
                &outcomes,
                &["industry".into(), "it's".into()],
                &["page_view".into(), "o'clock".into()],
                EventDecay::Exponential {
                    half_life: 604_800_000_000.0
                }
            )
        ));
    }
    out.push_str("-- detach\n");
    for s in drop_statements(&a.name, Some(&a.leads), Some(&a.activities)) {
        out.push_str(&format!("{};\n", s.sql));
    }
    out
}

fn check(case: &str, a: &Attachment) {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/snapshots/{case}.sql"));
    let got = render(a);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing {}; run with UPDATE_SNAPSHOTS=1", path.display()));
    if got != want {
        let line = got
            .lines()
            .zip(want.lines())
            .position(|(g, w)| g != w)
            .unwrap_or(got.lines().count().min(want.lines().count()));
        panic!(
            "{case}: generated SQL differs from {} at line {}:\n  got:  {:?}\n  want: {:?}\nrun with UPDATE_SNAPSHOTS=1 and review the diff",
            path.display(),
            line + 1,
            got.lines().nth(line),
            want.lines().nth(line)
        );
    }
}

/// The quick start's attachment: uuid keys, one property, sync.
fn sync_uuid() -> Attachment {
    Attachment {
        name: "live".into(),
        model: "live".into(),
        leads: Qualified::new("app", "people"),
        activities: Qualified::new("app", "touches"),
        lead_key: Column::new("person_id", TextOf::Cast),
        activity_lead_key: Column::new("person", TextOf::Cast),
        event_type: Column::new("kind", TextOf::Cast),
        occurred_at: "at".into(),
        time_zone: None,
        properties: vec![Column::new("page", TextOf::Cast)],
        key_type: Qualified::new("pg_catalog", "uuid"),
        mode: Mode::Sync,
        fast_append: false,
        placement: None,
        account: Some(Column::new("company", TextOf::Cast)),
        adjustments: true,
        sync_in_statement: false,
        catalog_0_1: false,
    }
}

#[test]
fn sync_attachment() {
    check("sync_uuid", &sync_uuid());
}

#[test]
fn deferred_attachment_with_the_c_trigger() {
    let a = Attachment {
        name: "bench".into(),
        model: "bench".into(),
        leads: Qualified::new("public", "leads"),
        activities: Qualified::new("public", "activities"),
        lead_key: Column::new("id", TextOf::Cast),
        activity_lead_key: Column::new("lead_id", TextOf::Cast),
        event_type: Column::new("type", TextOf::Cast),
        occurred_at: "occurred_at".into(),
        time_zone: None,
        properties: vec![],
        key_type: Qualified::new("pg_catalog", "int8"),
        mode: Mode::Deferred,
        fast_append: true,
        placement: None,
        account: None,
        // As on Citus: no adjustments joined.
        adjustments: false,
        sync_in_statement: false,
        catalog_0_1: false,
    };
    check("deferred_bigint", &a);
}

/// Hostile names everywhere a user can choose one, an enum key read through its
/// output function, and the plpgsql append trigger.
#[test]
fn deferred_attachment_with_hostile_names() {
    let evil = "x$body$; COPY (SELECT 1) TO PROGRAM 'id'; SELECT $body$ \"q\" \\ é";
    let a = Attachment {
        name: "evil".into(),
        model: evil.into(),
        leads: Qualified::new("we\"ird", evil),
        activities: Qualified::new("$$", "a;b"),
        lead_key: Column::new(evil, TextOf::Output),
        activity_lead_key: Column::new("k'ey", TextOf::Output),
        event_type: Column::new("ty pe", TextOf::Cast),
        occurred_at: "at\\".into(),
        // A `timestamp` or `date` time, read in the mapping's zone.
        time_zone: Some("Europe/Berlin'; SELECT $body$".into()),
        properties: vec![
            Column::new("$$", TextOf::Cast),
            Column::new("ü", TextOf::Output),
            // A date or timestamp property: its text with settings pinned.
            Column::new("d\"ue", TextOf::Stable),
        ],
        key_type: Qualified::new("crm", "lead key"),
        mode: Mode::Deferred,
        fast_append: false,
        placement: None,
        account: Some(Column::new("acc'ount", TextOf::Output)),
        adjustments: true,
        sync_in_statement: false,
        catalog_0_1: false,
    };
    check("deferred_hostile", &a);
    // No user text inside a dollar quote: generated SQL has none at all.
    for s in a.create_statements() {
        assert!(
            !s.sql.contains("$$") || s.sql.contains("\"$$\"") || s.sql.contains("'$$'"),
            "{}",
            s.sql
        );
    }
}

/// The quick start's attachment on Citus: what `lead_score.distribute`
/// installs for one shard group, on the node that holds it.
#[test]
fn citus_shard_group() {
    shard_group("citus_shard_group", sync_uuid());
}

/// The same in deferred mode with the C insert trigger: the trigger on the
/// activity shard calls `lead_score_internal._append_pending` (which finds the
/// co-located pending shard itself, src/pending.rs), the group's fold and
/// recompute functions name its shards, and so does the recompute of inserted
/// rows the C trigger runs after a recompute in the same statement.
#[test]
fn citus_shard_group_deferred() {
    let mut a = sync_uuid();
    a.mode = Mode::Deferred;
    a.fast_append = true;
    shard_group("citus_shard_group_deferred", a);
}

fn shard_group(case: &str, mut a: Attachment) {
    a.leads = Qualified::new("app", "people_102008");
    a.activities = Qualified::new("app", "touches_102040");
    a.placement = Some(Placement {
        suffix: "_102040".into(),
        scores: Qualified::new("lead_score_internal", "live_scores_102140"),
        pending: Qualified::new("lead_score_internal", "live_pending_102172"),
        outbox: Qualified::new("lead_score_internal", "live_outbox_102204"),
        attachments: Qualified::new("lead_score", "attachments_102010"),
        models: Qualified::new("lead_score", "models_102008"),
    });
    let mut out = String::from(
        "SET search_path = pg_catalog, pg_temp;\n\n-- lead_score_internal._citus_install_shard\n",
    );
    for s in a.shard_statements() {
        out.push_str(&format!("-- {}\n{};\n\n", s.what, s.sql));
    }
    if a.mode == Mode::Deferred {
        out.push_str(&format!(
            "-- the C insert trigger, after a recompute in the same statement\n{};\n\n",
            a.shard_recompute_inserted("_102040")
        ));
    }
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/snapshots/{case}.sql"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &out).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing {}; run with UPDATE_SNAPSHOTS=1", path.display()));
    assert!(
        out == want,
        "{case}: generated SQL differs from {}; run with UPDATE_SNAPSHOTS=1 and review the diff",
        path.display()
    );
}

/// An extension update replaces an attachment's functions, views and triggers in
/// place and never recreates (or empties) a table.
#[test]
fn regenerate_replaces_in_place_and_keeps_tables() {
    // Tables are created only if missing (the account heads, which a version
    // may add), never replaced, emptied or dropped.
    let recreates = |sql: &str| {
        sql.starts_with("CREATE TABLE")
            || sql.starts_with("CREATE INDEX")
            || sql.starts_with("INSERT")
    };
    let a = sync_uuid();
    let replace = a.replace_statements();
    let creates = a.create_statements();
    assert!(!replace.is_empty());
    for s in &replace {
        assert!(
            !recreates(&s.sql) && !s.sql.starts_with("DROP"),
            "{}",
            s.sql
        );
        if s.sql.starts_with("CREATE") {
            assert!(s.sql.starts_with("CREATE OR REPLACE "), "{}", s.sql);
        }
    }
    // Everything but the tables, their index and the stripe rows.
    let kept = creates.iter().filter(|s| !recreates(&s.sql)).count();
    assert_eq!(replace.len(), kept);
}

/// With nothing attached, `current_scores` is empty and keeps its columns.
#[test]
fn current_scores_with_no_attachment() {
    let s = current_views_statements(&[], false);
    assert!(s[0].sql.starts_with(
        "CREATE VIEW \"lead_score\".\"current_scores\" AS\nSELECT NULL::text AS \"attachment\""
    ));
    // Once they exist, replaced in place.
    let r = current_views_statements(&[], true);
    assert!(r[0]
        .sql
        .starts_with("CREATE OR REPLACE VIEW \"lead_score\".\"current_scores\""));
    assert!(s[0].sql.ends_with(" WHERE false"));
    assert!(s[0].sql.contains("NULL::text AS \"disqualified_by\""));
}

/// tick() picks what time alone moved with `_live_crossed` and
/// `_lowering_version`, which 0.2.0 added:
/// on 0.1.0's catalog (before ALTER EXTENSION UPDATE) it compares whole scores,
/// as 0.1.0 did.
#[test]
fn time_crossings_on_the_0_1_catalog() {
    let mut a = sync_uuid();
    for q in [Query::TimeCrossings, Query::TimeCrossingsDistributed] {
        let sql = a.query(q);
        assert!(
            sql.contains("_live_crossed(") && !sql.contains("_live_score("),
            "{sql}"
        );
    }
    a.catalog_0_1 = true;
    for q in [Query::TimeCrossings, Query::TimeCrossingsDistributed] {
        let sql = a.query(q);
        assert!(
            !sql.contains("_live_crossed(")
                && !sql.contains("_lowering_version(")
                && sql.contains("_live_score("),
            "{sql}"
        );
    }
}

/// top_leads bounds what a lead's pending events can add with `_live_bound`,
/// which 0.2.0 added: on 0.1.0's catalog (before ALTER EXTENSION UPDATE) it
/// sums the per-type bounds of `_event_bounds`, as 0.1.0 did.
#[test]
fn top_leads_on_the_0_1_catalog() {
    let mut a = sync_uuid();
    let sql = a.query(Query::TopLeads);
    assert!(
        sql.contains("_live_bound(") && !sql.contains("_event_bounds("),
        "{sql}"
    );
    a.catalog_0_1 = true;
    let sql = a.query(Query::TopLeads);
    assert!(
        !sql.contains("_live_bound(") && sql.contains("_event_bounds("),
        "{sql}"
    );
}

/// rescore caps event times at $10, the clock `_rescore` reads once it holds
/// its locks; on 0.1.0's catalog, whose `_rescore` passes nine parameters, at
/// $3, the transaction's start.
#[test]
fn rescore_cap_on_the_0_1_catalog() {
    let mut a = sync_uuid();
    for q in [Query::Rescore, Query::RescoreDistributed] {
        let sql = a.query(q);
        assert!(
            sql.contains("LEAST(a.\"at\", $10)") && !sql.contains("LEAST(a.\"at\", $3)"),
            "{sql}"
        );
    }
    a.catalog_0_1 = true;
    for q in [Query::Rescore, Query::RescoreDistributed] {
        let sql = a.query(q);
        assert!(
            sql.contains("LEAST(a.\"at\", $3)") && !sql.contains("$10"),
            "{sql}"
        );
    }
}

/// The quoted identifiers at the start of `s`: `"a"."b"` gives ["a", "b"].
fn leading_idents(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(body) = rest.strip_prefix('"') {
        let mut name = String::new();
        let mut chars = body.char_indices();
        let mut end = body.len();
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if body[i + 1..].starts_with('"') {
                    name.push('"');
                    chars.next();
                } else {
                    end = i + 1;
                    break;
                }
            } else {
                name.push(c);
            }
        }
        out.push(name);
        rest = &body[end..];
        match rest.strip_prefix('.') {
            Some(r) => rest = r,
            None => break,
        }
    }
    out
}

/// `names::all`, which `attach` checks against existing objects and other
/// attachments, lists every relation and function `attach` creates in
/// lead_score's schemas: a name added to the generated SQL but not to the list
/// would escape the check.
#[test]
fn names_all_lists_every_object_attach_creates() {
    use lead_score_core::sqlgen::attach::names;
    let deferred = Attachment {
        mode: Mode::Deferred,
        fast_append: true,
        account: None,
        ..sync_uuid()
    };
    for a in [sync_uuid(), deferred] {
        let all = names::all(&a.name);
        let mut seen = 0;
        for s in a.create_statements() {
            let Some(rest) = s.sql.strip_prefix("CREATE ") else {
                continue;
            };
            let rest = rest.strip_prefix("UNLOGGED ").unwrap_or(rest);
            let (ours, name) = if let Some(r) = rest.strip_prefix("INDEX ") {
                let ids = leading_idents(r);
                let on = r
                    .split(" ON ")
                    .nth(1)
                    .map(leading_idents)
                    .unwrap_or_default();
                (
                    on.first().is_some_and(|s| s.starts_with("lead_score")),
                    ids.last().cloned(),
                )
            } else if let Some(r) = ["TABLE ", "VIEW ", "FUNCTION "]
                .iter()
                .find_map(|k| rest.strip_prefix(k))
            {
                let ids = leading_idents(r);
                (
                    ids.len() == 2 && ids[0].starts_with("lead_score"),
                    ids.last().cloned(),
                )
            } else {
                continue;
            };
            let name = name.unwrap_or_else(|| panic!("no name in {}", s.sql));
            if ours {
                seen += 1;
                assert!(
                    all.contains(&name),
                    "attach {} creates {name}, which names::all does not list",
                    a.name
                );
            }
        }
        assert!(seen >= 20, "{}: only {seen} objects found", a.name);
    }
}
