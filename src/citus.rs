//! Citus support in the bindings (docs/citus.md).
//!
//! On a Citus node, lead_score's configuration (models, versions, attachments)
//! is in reference tables, whose one shard every node holds. The bindings read
//! that shard directly, as plain PostgreSQL: a query Citus plans for a
//! reference table from inside a query it pushed down (a scoring function in a
//! worker's task) or a trigger on a shard is nested distributed execution,
//! which Citus refuses, and which leaves state on the worker that its commit
//! of a two-phase transaction trips over. For the same reason the trigger
//! functions of a shard group (`lead_score_core::sqlgen::attach::Placement`)
//! name their shards, and tell the C helpers they call which ones through
//! `lead_score.citus_placement`, set by the functions' SET clause.

use crate::catalog::query_row;
use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::ffi::CString;

/// `lead_score.citus_placement`: in a shard group's trigger functions, the
/// shards they work on, as a JSON array of schema and name pairs: scores, then
/// activities. Empty everywhere else.
pub static PLACEMENT: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);

pub fn register() {
    GucRegistry::define_string_guc(
        c"lead_score.citus_placement",
        c"Internal: the shards a Citus shard group's trigger functions work on.",
        c"Set by the SET clause of the functions lead_score.distribute installs; empty elsewhere.",
        &PLACEMENT,
        GucContext::Userset,
        GucFlags::NO_SHOW_ALL,
    );
}

/// The shards of the running shard group's trigger: (scores, activities), each
/// as (schema, name), once checked to be shards of `attachment`'s own score
/// and activity tables on this node. Every session may set the setting, and
/// the readers that take it read as the activity table's owner: any other
/// value raises 22023, so it can never point a read at a table of the
/// session's choosing. Checked once per backend for each value and attachment
/// (a shard's name is never reused).
pub fn placement(attachment: &str) -> Option<((String, String), (String, String))> {
    let value = PLACEMENT.get()?;
    if value.as_bytes().is_empty() {
        return None;
    }
    let text = value.to_str().unwrap_or("");
    let parsed = serde_json::from_str::<Vec<String>>(text)
        .ok()
        .and_then(|v| match v.as_slice() {
            [s1, s2, a1, a2] => Some(((s1.clone(), s2.clone()), (a1.clone(), a2.clone()))),
            _ => None,
        });
    let key = (text.to_string(), attachment.to_string());
    if CHECKED.with(|c| c.borrow().contains(&key)) {
        return parsed;
    }
    match &parsed {
        Some((scores, activities)) if shards_of(attachment, scores, activities) => {
            CHECKED.with(|c| c.borrow_mut().insert(key));
            parsed
        }
        _ => crate::errors::raise_code(
            pgrx::PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "lead_score.citus_placement is internal: it does not name the shards of attachment \"{attachment}\" on this node"
            ),
        ),
    }
}

/// Whether `scores` and `activities` are this node's shards of the
/// attachment's score table and of its (distributed) activity table.
fn shards_of(attachment: &str, scores: &(String, String), activities: &(String, String)) -> bool {
    use lead_score_core::sqlgen::{internal, Qualified};
    // SAFETY: a read-only catalog query without parameters.
    let citus = unsafe {
        query_row(
            c"SELECT pg_catalog.to_regclass('pg_catalog.pg_dist_shard') IS NOT NULL",
            &[],
        )
    };
    if !matches!(citus.as_deref(), Some([Some(t)]) if t == "t") {
        return false;
    }
    let query = format!(
        "SELECT pg_catalog.count(DISTINCT s.logicalrelid) FROM {} a \
         JOIN pg_catalog.pg_dist_shard s \
           ON (s.logicalrelid = pg_catalog.to_regclass($2) \
               AND pg_catalog.to_regclass(pg_catalog.shard_name(s.logicalrelid, s.shardid)) = pg_catalog.to_regclass($3)) \
           OR (s.logicalrelid = pg_catalog.to_regclass(a.mapping ->> 'citus_activities') \
               AND pg_catalog.to_regclass(pg_catalog.shard_name(s.logicalrelid, s.shardid)) = pg_catalog.to_regclass($4)) \
         WHERE a.name = $1",
        config_table("attachments")
    );
    let logical = internal(&lead_score_core::sqlgen::attach::names::scores(attachment));
    let scores = Qualified::new(&scores.0, &scores.1).to_sql();
    let activities = Qualified::new(&activities.0, &activities.1).to_sql();
    pgrx::Spi::connect(|client| {
        let rows = client.select(
            &query,
            Some(1),
            &[
                attachment.into(),
                logical.as_str().into(),
                scores.as_str().into(),
                activities.as_str().into(),
            ],
        )?;
        Ok::<_, pgrx::spi::Error>(rows.first().get::<i64>(1)?.unwrap_or(0) == 2)
    })
    .unwrap_or(false)
}

thread_local! {
    /// (setting, attachment) pairs [`placement`] has checked.
    static CHECKED: RefCell<HashSet<(String, String)>> = RefCell::new(HashSet::new());
    /// Configuration table → the name of its shard on this node, once found.
    static SHARDS: RefCell<HashMap<&'static str, String>> = RefCell::new(HashMap::new());
}

/// The name to read lead_score's configuration table `table` ("models",
/// "model_versions" or "attachments") by, quoted: on a Citus node where it is
/// a reference table, its shard on this node; else the table.
pub fn config_table(table: &'static str) -> String {
    let plain = lead_score_core::sqlgen::ours(table);
    if let Some(name) = SHARDS.with(|s| s.borrow().get(table).cloned()) {
        return name;
    }
    // Citus loaded (it defines this setting) and installed in this database.
    let name = c"citus.allow_nested_distributed_execution";
    // SAFETY: looks a setting up by a NUL-terminated name; missing_ok.
    if unsafe { pgrx::pg_sys::GetConfigOption(name.as_ptr(), true, false) }.is_null() {
        return plain;
    }
    // SAFETY: a read-only catalog query without parameters.
    let installed = unsafe {
        query_row(
            c"SELECT pg_catalog.to_regclass('pg_catalog.pg_dist_shard') IS NOT NULL",
            &[],
        )
    };
    if !matches!(installed.as_deref(), Some([Some(t)]) if t == "t") {
        return plain;
    }
    let query = CString::new(format!(
        "SELECT pg_catalog.shard_name(s.logicalrelid, s.shardid) FROM pg_catalog.pg_dist_shard s \
         JOIN pg_catalog.pg_dist_partition p ON p.logicalrelid = s.logicalrelid \
         WHERE s.logicalrelid = pg_catalog.to_regclass({}) AND p.partmethod = 'n' \
           AND pg_catalog.to_regclass(pg_catalog.shard_name(s.logicalrelid, s.shardid)) IS NOT NULL",
        lead_score_core::sqlgen::literal(&plain)
    ))
    .unwrap_or_default();
    // SAFETY: a read-only catalog query without parameters.
    let shard = unsafe { query_row(query.as_c_str(), &[]) };
    match shard.as_deref() {
        Some([Some(s)]) => {
            SHARDS.with(|m| m.borrow_mut().insert(table, s.clone()));
            s.clone()
        }
        _ => plain,
    }
}
