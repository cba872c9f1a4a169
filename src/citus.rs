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
/// as (schema, name), once checked to be this node's shards of `attachment`'s
/// own score and activity tables. Every session may set the setting, and the
/// readers that take it read as the activity table's owner: any other value
/// raises 22023, so it can never point a read at a relation of the session's
/// choosing. The names are resolved in their own schemas (never a temporary
/// one, never through `search_path`), and the check runs with `search_path`
/// pinned; it is remembered for the transaction by the relations' OIDs.
pub fn placement(attachment: &str) -> Option<((String, String), (String, String))> {
    let value = PLACEMENT.get()?;
    if value.as_bytes().is_empty() {
        return None;
    }
    let refuse = || -> ! {
        crate::errors::raise_code(
            pgrx::PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "lead_score.citus_placement is internal: it does not name the shards of attachment \"{attachment}\" on this node"
            ),
        )
    };
    let Some((scores, activities)) = value
        .to_str()
        .ok()
        .and_then(|text| serde_json::from_str::<Vec<String>>(text).ok())
        .and_then(|v| match v.as_slice() {
            [s1, s2, a1, a2] => Some(((s1.clone(), s2.clone()), (a1.clone(), a2.clone()))),
            _ => None,
        })
    else {
        refuse()
    };
    let (Some(scores_oid), Some(activities_oid)) = (relation(&scores), relation(&activities))
    else {
        refuse()
    };
    // SAFETY: MyProc is this backend's PGPROC for its whole life; lxid is
    // its current local transaction id.
    let xact = unsafe { (*pgrx::pg_sys::MyProc).lxid };
    let key = (attachment.to_string(), scores_oid, activities_oid);
    let known = CHECKED.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != xact {
            *c = (xact, HashSet::new());
        }
        c.1.contains(&key)
    });
    if !known {
        if !shards_of(attachment, scores_oid, activities_oid) {
            refuse();
        }
        CHECKED.with(|c| c.borrow_mut().1.insert(key));
    }
    Some((scores, activities))
}

/// The OID of the relation `name` in schema `schema`, looked up in that
/// schema alone; `None` if either is missing or the schema is temporary.
fn relation((schema, name): &(String, String)) -> Option<u32> {
    let (schema, name) = (
        CString::new(schema.as_str()).ok()?,
        CString::new(name.as_str()).ok()?,
    );
    // SAFETY: catalog lookups by NUL-terminated names; missing_ok, and
    // get_relname_relid returns InvalidOid for a missing relation.
    let oid = unsafe {
        let nsp = pgrx::pg_sys::get_namespace_oid(schema.as_ptr(), true);
        if nsp == pgrx::pg_sys::InvalidOid || pgrx::pg_sys::isAnyTempNamespace(nsp) {
            return None;
        }
        pgrx::pg_sys::get_relname_relid(name.as_ptr(), nsp)
    };
    (oid != pgrx::pg_sys::InvalidOid).then(|| oid.to_u32())
}

/// Whether the relations `scores` and `activities` are the shards, placed on
/// this node, of one shard group of the attachment's score table and of its
/// (distributed) activity table. Run as the extension's owner, with
/// `search_path` pinned (it may be called from a function without a SET
/// clause), every operator qualified: `to_regclass` checks USAGE on the schema
/// it looks in, and the planner may evaluate it for rows the query filters
/// out, such as another attachment's tables in a schema the caller may not
/// use, which raised "permission denied for schema" instead of refusing.
fn shards_of(attachment: &str, scores: u32, activities: u32) -> bool {
    use lead_score_core::sqlgen::{attach::names, internal};
    crate::owner::run_as(crate::owner::extension_owner(), || {
        if !citus_installed() {
            return false;
        }
        // Both placed on this node's group, and of one shard group (the
        // same hash range).
        let query = format!(
            "SELECT pg_catalog.count(*) FROM {} a \
             JOIN pg_catalog.pg_dist_shard ss \
               ON ss.logicalrelid::pg_catalog.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($2)::pg_catalog.oid \
             JOIN pg_catalog.pg_dist_shard sa \
               ON sa.logicalrelid::pg_catalog.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(a.mapping ->> 'citus_activities')::pg_catalog.oid \
              AND sa.shardminvalue OPERATOR(pg_catalog.=) ss.shardminvalue \
             JOIN pg_catalog.pg_dist_placement ps ON ps.shardid OPERATOR(pg_catalog.=) ss.shardid \
             JOIN pg_catalog.pg_dist_placement pa ON pa.shardid OPERATOR(pg_catalog.=) sa.shardid \
             WHERE a.name OPERATOR(pg_catalog.=) $1 \
               AND ps.groupid OPERATOR(pg_catalog.=) (SELECT g.groupid FROM pg_catalog.pg_dist_local_group g) \
               AND pa.groupid OPERATOR(pg_catalog.=) ps.groupid \
               AND pg_catalog.to_regclass(pg_catalog.shard_name(ss.logicalrelid, ss.shardid, false))::pg_catalog.oid \
                   OPERATOR(pg_catalog.=) $3::pg_catalog.oid \
               AND pg_catalog.to_regclass(pg_catalog.shard_name(sa.logicalrelid, sa.shardid, false))::pg_catalog.oid \
                   OPERATOR(pg_catalog.=) $4::pg_catalog.oid",
            config_table("attachments")
        );
        let logical =
            crate::layout::for_catalog(&internal(&names::scores(attachment))).into_owned();
        pgrx::Spi::connect(|client| {
            let rows = client.select(
                &query,
                Some(1),
                &[
                    attachment.into(),
                    logical.as_str().into(),
                    i64::from(scores).into(),
                    i64::from(activities).into(),
                ],
            )?;
            Ok::<_, pgrx::spi::Error>(rows.first().get::<i64>(1)?.unwrap_or(0) == 1)
        })
        .unwrap_or(false)
    })
}

/// Whether Citus is loaded (it defines the setting looked up first, at no
/// cost) and installed in this database (its catalog exists).
fn citus_installed() -> bool {
    let name = c"citus.allow_nested_distributed_execution";
    // SAFETY: looks a setting up by a NUL-terminated name; missing_ok.
    if unsafe { pgrx::pg_sys::GetConfigOption(name.as_ptr(), true, false) }.is_null() {
        return false;
    }
    // SAFETY: a read-only catalog query without parameters.
    let installed = unsafe {
        query_row(
            c"SELECT pg_catalog.to_regclass('pg_catalog.pg_dist_shard') IS NOT NULL",
            &[],
        )
    };
    matches!(installed.as_deref(), Some([Some(t)]) if t == "t")
}

/// An attachment and the OIDs of the score and activity shards checked for it.
type Checked = (String, u32, u32);

thread_local! {
    /// The (attachment, scores OID, activities OID) that [`placement`] has
    /// checked in the local transaction it names: a shard moved or dropped
    /// since is checked again in the next transaction.
    static CHECKED: RefCell<(u32, HashSet<Checked>)> = RefCell::new((0, HashSet::new()));
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
    if !citus_installed() {
        return plain;
    }
    // Qualified always (a shard of a table in public too), every operator
    // qualified, as the extension's owner with search_path pinned: it may run
    // from a function without a SET clause, and what it finds is remembered
    // for the backend.
    let query = CString::new(format!(
        "SELECT pg_catalog.shard_name(s.logicalrelid, s.shardid, false) FROM pg_catalog.pg_dist_shard s \
         JOIN pg_catalog.pg_dist_partition p ON p.logicalrelid::pg_catalog.oid OPERATOR(pg_catalog.=) s.logicalrelid::pg_catalog.oid \
         WHERE s.logicalrelid::pg_catalog.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass({})::pg_catalog.oid \
           AND p.partmethod OPERATOR(pg_catalog.=) 'n' \
           AND pg_catalog.to_regclass(pg_catalog.shard_name(s.logicalrelid, s.shardid, false)) IS NOT NULL",
        lead_score_core::sqlgen::literal(&plain)
    ))
    .unwrap_or_default();
    // As the extension's owner (run_as pins search_path too): a writer with
    // no rights on lead_score's schemas reaches this from a shard's trigger.
    let shard = crate::owner::run_as(crate::owner::extension_owner(), || {
        // SAFETY: a read-only catalog query without parameters.
        unsafe { query_row(query.as_c_str(), &[]) }
    });
    match shard.as_deref() {
        Some([Some(s)]) => {
            SHARDS.with(|m| m.borrow_mut().insert(table, s.clone()));
            s.clone()
        }
        _ => plain,
    }
}
