//! The activity INSERT trigger of an attachment whose inserts append (deferred,
//! and sync off Citus): appends the statement's events to the attachment's
//! pending table; for sync, registers them for the writer's commit to fold
//! (src/commit_fold.rs).
//!
//! It is on the hot path of every insert, so it is a C trigger that copies the
//! transition table's rows straight into the pending heap: no plpgsql, no SPI
//! and no executor per statement (SPI runs once per backend and trigger, to find
//! the columns). Writing through the heap is also why it needs no SECURITY
//! DEFINER: it checks that it fires as the trigger `attach` installed, on the
//! attachment's own activity table, so no one can point it anywhere else.
//!
//! Each function that acquires something releases it before it returns
//! normally: the pending table opened with table_open and a `sync` pending
//! table's indexes opened with index_open (`append`), the tuple
//! table slots and the transition table's read pointer selection
//! (`copy_rows`), the bulk-insert state, the batch memory context and the
//! batch's slots (`BatchWriter::finish`). On ERROR (a Rust panic unwinding to
//! `#[pg_guard]`) none of that runs, by design: there is no `Drop`, so nothing
//! calls into PostgreSQL while an ERROR unwinds. PostgreSQL's (sub)transaction
//! abort cleans up instead, as for any C function: the resource owner closes
//! the relation and releases buffer pins and tuple descriptor references, the
//! memory contexts everything else lives in are freed, and the transition table
//! goes with the aborted query's trigger state.
//!
//! On Citus (docs/citus.md) the trigger fires on an activity *shard*, as the
//! copy Citus made of it (`<trigger name>_<shard id>`). It then appends to the
//! co-located shard of the pending table on the same node: which one is not
//! trusted from the trigger but looked up in Citus's metadata (`pg_dist_shard`,
//! a plain catalog table on every node), after checking that the shard it
//! fires on is that shard of the attachment's activity table.

use crate::catalog::query_row;
use crate::errors::{raise_code, OrRaiseWith};
use crate::v1_info;
use pgrx::prelude::*;
use pgrx::{IntoDatum, PgSqlErrorCode};
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::CStr;

/// Pending rows written per heap_multi_insert call.
const INSERT_BATCH: usize = 1000;

/// Where a trigger's events go and where they come from.
#[derive(Clone)]
struct Target {
    /// The attachment's name, for errors.
    attachment: String,
    pending: pg_sys::Oid,
    /// The attachment's score table, locked before the pending table (see `append`).
    scores: pg_sys::Oid,
    /// Attribute number, type and name in the activity table of the lead key,
    /// event type, time and properties, in the pending table's column order.
    columns: Vec<(i16, pg_sys::Oid, std::ffi::CString)>,
    /// A `sync` attachment's name: the writer's commit folds what this
    /// appends (src/commit_fold.rs).
    fold_at_commit: Option<String>,
}

thread_local! {
    static TARGETS: RefCell<HashMap<pg_sys::Oid, Target>> = RefCell::new(HashMap::new());
}

/// The attachment's activity table and its mapped columns as "attnum:type"
/// pairs, in pending-column order.
const TARGET_SQL: &CStr = c"SELECT a.activities::oid::text, \
      (SELECT string_agg(t.attnum::text || ':' || t.atttypid::oid::text, ',' ORDER BY c.ord) \
       FROM unnest(ARRAY[a.mapping ->> 'activity_lead_key', a.mapping ->> 'event_type', a.mapping ->> 'occurred_at'] \
                   || ARRAY(SELECT jsonb_array_elements_text(a.mapping -> 'property_columns'))) WITH ORDINALITY AS c(col, ord) \
       JOIN pg_catalog.pg_attribute t ON t.attrelid = a.activities AND t.attname = c.col AND NOT t.attisdropped), \
      jsonb_array_length(a.mapping -> 'property_columns')::text, a.mode \
    FROM lead_score.attachments a WHERE a.name = $1";

/// On a Citus shard: the activity shard's mapped columns (as in `TARGET_SQL`),
/// then the co-located pending and score shards' OIDs, for `$1` the
/// attachment, `$2` the shard id the trigger's name ends in and `$3` the OID
/// of the table it fires on, which must be that shard of the attachment's
/// activity table. `{attachments}` is this node's shard of the reference table
/// (src/citus.rs): a query Citus would plan must not run in a shard's trigger.
const SHARD_TARGET_SQL: &str = "SELECT \
      (SELECT string_agg(t.attnum::text || ':' || t.atttypid::oid::text, ',' ORDER BY c.ord) \
       FROM unnest(ARRAY[a.mapping ->> 'activity_lead_key', a.mapping ->> 'event_type', a.mapping ->> 'occurred_at'] \
                   || ARRAY(SELECT jsonb_array_elements_text(a.mapping -> 'property_columns'))) WITH ORDINALITY AS c(col, ord) \
       JOIN pg_catalog.pg_attribute t ON t.attrelid = $3 AND t.attname = c.col AND NOT t.attisdropped), \
      jsonb_array_length(a.mapping -> 'property_columns')::text, \
      pg_catalog.to_regclass(pg_catalog.shard_name(p.logicalrelid, p.shardid, false))::oid::text, \
      pg_catalog.to_regclass(pg_catalog.shard_name(s.logicalrelid, s.shardid, false))::oid::text \
    FROM {attachments} a \
    JOIN pg_catalog.pg_dist_shard d ON d.shardid = $2 \
     AND d.logicalrelid = pg_catalog.to_regclass(a.mapping ->> 'citus_activities') \
     AND pg_catalog.to_regclass(pg_catalog.shard_name(d.logicalrelid, d.shardid, false))::oid = $3 \
    JOIN pg_catalog.pg_dist_shard p ON p.shardminvalue = d.shardminvalue \
     AND p.logicalrelid = pg_catalog.to_regclass('lead_score_internal.' || pg_catalog.quote_ident(a.name || '_pending')) \
    JOIN pg_catalog.pg_dist_shard s ON s.shardminvalue = d.shardminvalue \
     AND s.logicalrelid = pg_catalog.to_regclass('lead_score_internal.' || pg_catalog.quote_ident(a.name || '_scores')) \
    WHERE a.name = $1 AND a.mode = 'deferred'";

fn misuse(message: String) -> ! {
    raise_code(
        PgSqlErrorCode::ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
        message,
    )
}

/// Attribute `attnum` (1-based) of a tuple descriptor, if it has one.
///
/// # Safety
/// `desc` must be a valid tuple descriptor that outlives `'a`.
unsafe fn attribute<'a>(
    desc: pg_sys::TupleDesc,
    attnum: i16,
) -> Option<&'a pg_sys::FormData_pg_attribute> {
    // SAFETY: the caller guarantees `desc` is valid: it has `natts` attributes.
    let attrs = unsafe { (*desc).attrs.as_slice((*desc).natts as usize) };
    let i = usize::try_from(attnum).ok()?.checked_sub(1)?;
    attrs.get(i)
}

/// # Safety
/// `att` must be an attribute of a valid tuple descriptor.
unsafe fn attribute_name(att: &pg_sys::FormData_pg_attribute) -> &CStr {
    // SAFETY: the caller guarantees a valid attribute, whose name is a
    // NUL-terminated NameData.
    unsafe { CStr::from_ptr(att.attname.data.as_ptr()) }
}

v1_info!(pg_finfo_lead_score_append_pending);
/// `lead_score_internal._append_pending('attachment')`: AFTER INSERT … FOR EACH STATEMENT
/// with `REFERENCING NEW TABLE`.
///
/// # Safety
/// Called only by PostgreSQL's function manager, as
/// `lead_score_internal._append_pending()` (`sql/live.sql`), with a valid `fcinfo`.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_append_pending(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    // SAFETY: PostgreSQL passes this call's valid `fcinfo`.
    let td = unsafe { trigger_data(fcinfo) };
    // SAFETY: `td` is this call's trigger data, checked above. This also checks
    // the trigger is the one attach installed on the attachment's own table.
    let target = unsafe { target_of(td) };
    if crate::recomputed::any() {
        // SAFETY: `td` is this call's trigger data, checked above, and so is its trigger.
        let (name, shard) = unsafe { attachment_name((*td).tg_trigger) };
        if crate::recomputed::is_marked(&name) {
            // SAFETY: `td` is this call's trigger data, with a NEW TABLE.
            unsafe { recompute_inserted(td, &name, shard) };
            return pg_sys::Datum::from(0);
        }
    }
    // The writer's real time, the clock now (lead_score.as_of only affects
    // reads): events dated later count as of it (sqlgen's `write_time`).
    let now = crate::clock::clock();
    // SAFETY: `td` is this call's trigger data, of an AFTER INSERT statement
    // trigger with a NEW TABLE (checked above), and `target` is its trigger's,
    // checked against its table's columns.
    let tids = unsafe { append(td, &target, now) };
    if let Some(name) = &target.fold_at_commit {
        crate::commit_fold::register(name, &tids);
    }
    pg_sys::Datum::from(0)
}

/// After a recompute in this statement (see `src/recomputed.rs`), the
/// inserted rows' leads are recomputed rather than their events appended: the
/// recompute may already have counted them. It runs as the extension's owner,
/// as the SECURITY DEFINER triggers do, reading the NEW TABLE as `new_rows`.
///
/// On a Citus shard (`shard`, its id), the shard group's own recompute
/// function, which names its shards.
///
/// # Safety
/// `td` must be the valid trigger data of an AFTER INSERT statement trigger
/// with a NEW TABLE.
unsafe fn recompute_inserted(td: *mut pg_sys::TriggerData, name: &str, shard: Option<i64>) {
    let owner = crate::owner::extension_owner();
    crate::owner::run_as(owner, || {
        let a = crate::attach::load(name, false);
        let sql = match shard {
            Some(id) => a.shard_recompute_inserted(&format!("_{id}")),
            None => a.query(lead_score_core::sqlgen::attach::Query::RecomputeInserted),
        };
        let result = Spi::connect_mut(|client| {
            // SAFETY: SPI is connected for this closure, and `td` (the caller
            // guarantees) is valid trigger data; this registers its transition
            // tables with this SPI connection only.
            unsafe { pg_sys::SPI_register_trigger_data(td) };
            client
                .update(crate::layout::for_catalog(&sql).as_ref(), None, &[])
                .map(|_| ())
        });
        result.or_raise_with(|| {
            format!("lead_score attachment \"{name}\": could not recompute inserted rows")
        });
    });
}

/// The call's trigger data, checked to be an AFTER INSERT … FOR EACH STATEMENT
/// trigger's with a NEW TABLE; raises otherwise.
///
/// # Safety
/// `fcinfo` must be the valid call info of the running function.
unsafe fn trigger_data(fcinfo: pg_sys::FunctionCallInfo) -> *mut pg_sys::TriggerData {
    // SAFETY: the caller guarantees `fcinfo` is valid; this only reads the tag
    // of its context node.
    if !unsafe { pgrx::trigger_support::called_as_trigger(fcinfo) } {
        misuse("lead_score_internal._append_pending must be called as a trigger".into());
    }
    // SAFETY: called as a trigger, so the context is this call's TriggerData,
    // valid for the call.
    let (td, event, new_table) = unsafe {
        let td = (*fcinfo).context as *mut pg_sys::TriggerData;
        (td, (*td).tg_event, (*td).tg_newtable)
    };
    if event & pg_sys::TRIGGER_EVENT_OPMASK != pg_sys::TRIGGER_EVENT_INSERT
        || event & pg_sys::TRIGGER_EVENT_ROW != 0
        || event & pg_sys::TRIGGER_EVENT_TIMINGMASK != pg_sys::TRIGGER_EVENT_AFTER
        || new_table.is_null()
    {
        misuse(
            "lead_score_internal._append_pending must fire AFTER INSERT FOR EACH STATEMENT with a NEW TABLE"
                .into(),
        );
    }
    td
}

/// The trigger's target: the backend's cached one while the activity columns it
/// maps are unchanged, else looked up again.
///
/// # Safety
/// `td` must be the valid trigger data of the running trigger call.
unsafe fn target_of(td: *const pg_sys::TriggerData) -> Target {
    // SAFETY: the caller guarantees `td` is valid, and so are the relation and
    // trigger it points to.
    let (source, tgoid) = unsafe { ((*(*td).tg_relation).rd_att, (*(*td).tg_trigger).tgoid) };
    if let Some(t) = TARGETS.with(|t| t.borrow().get(&tgoid).cloned()) {
        // SAFETY: `source` is the activity table's descriptor, valid for the call.
        if unsafe { still_valid(&t, source) } {
            return t;
        }
    }
    // SAFETY: as the caller guarantees, `td` is valid.
    let t = unsafe { find_target(td) };
    TARGETS.with(|m| m.borrow_mut().insert(tgoid, t.clone()));
    t
}

/// Whether the activity columns a target maps still have the number, type and
/// name it found them with: columns renamed, retyped or dropped since mean
/// looking again.
///
/// # Safety
/// `source` must be a valid tuple descriptor.
unsafe fn still_valid(target: &Target, source: pg_sys::TupleDesc) -> bool {
    target.columns.iter().all(|(attnum, typ, name)| {
        // SAFETY: the caller guarantees `source` is valid; `attribute` only
        // returns one of its attributes.
        unsafe {
            attribute(source, *attnum).is_some_and(|att| {
                !att.attisdropped && att.atttypid == *typ && attribute_name(att) == name.as_c_str()
            })
        }
    })
}

/// Looks the trigger's attachment up and checks the trigger is the one attach installed.
///
/// # Safety
/// `td` must be the valid trigger data of the running trigger call.
unsafe fn find_target(td: *const pg_sys::TriggerData) -> Target {
    // SAFETY: the caller guarantees `td` is valid, and so is its trigger.
    let (name, shard) = unsafe { attachment_name((*td).tg_trigger) };
    if let Some(shard) = shard {
        // SAFETY: as the caller guarantees, `td` is valid.
        return unsafe { find_shard_target(td, &name, shard) };
    }
    let pending = pending_table(&name);
    // The lookup runs as the pending table's owner (the extension's owner), as
    // the plpgsql triggers run as SECURITY DEFINER: writers need no grants on
    // lead_score. With search_path pinned, nothing of theirs stands in for
    // pg_catalog's functions or operators while it decides where rows go.
    let lookup = || {
        crate::owner::run_as(table_owner(pending), || {
            let text = name.as_str().into_datum().unwrap_or(pg_sys::Datum::from(0));
            // SAFETY: the one argument is a text datum (a &str always
            // converts), as TARGET_SQL's $1 is.
            unsafe { query_row(TARGET_SQL, &[(pg_sys::TEXTOID, text)]) }
        })
    };
    // SAFETY: reads the transaction's isolation level.
    let read_committed = unsafe { pg_sys::XactIsoLevel } < pg_sys::XACT_REPEATABLE_READ as i32;
    let row = lookup().or_else(|| {
        // The trigger fired, so its attachment committed, but a COPY takes
        // its snapshot before it waits for the table's lock: one that waited
        // for the attach reads it with a newer snapshot (a later statement
        // would). Under REPEATABLE READ the transaction's snapshot decides
        // (attached_after_snapshot: 40001).
        read_committed.then(|| {
            // SAFETY: pushes a fresh snapshot for the lookup alone and pops
            // it; an ERROR between aborts the (sub)transaction, which resets
            // the stack.
            unsafe { pg_sys::PushActiveSnapshot(pg_sys::GetLatestSnapshot()) };
            let row = lookup();
            // SAFETY: pops the snapshot pushed above.
            unsafe { pg_sys::PopActiveSnapshot() };
            row
        })?
    });
    let Some(row) = row else {
        crate::errors::attached_after_snapshot(&name);
        misuse(format!("lead_score attachment \"{name}\" does not exist"));
    };
    let activities = pg_sys::Oid::from(
        row[0]
            .as_deref()
            .and_then(|s| s.parse::<u32>().ok())
            .unwrap_or(0),
    );
    // SAFETY: as the caller guarantees, `td` is valid, and so is its relation.
    let (relid, source) = unsafe { ((*(*td).tg_relation).rd_id, (*(*td).tg_relation).rd_att) };
    if activities != relid {
        misuse(format!(
            "lead_score attachment \"{name}\" is not on this table"
        ));
    }
    // SAFETY: `source` is the activity table's descriptor, valid for the call.
    let columns = unsafe { mapped_columns(source, row[1].as_deref().unwrap_or("")) };
    check_columns(&name, &columns, row[2].as_deref());
    let scores = lead_table(&lead_score_core::sqlgen::attach::names::scores(&name));
    let fold_at_commit = (row[3].as_deref() == Some("sync")).then(|| name.clone());
    Target {
        attachment: name,
        pending,
        scores,
        columns,
        fold_at_commit,
    }
}

/// [`find_target`] for a trigger on a Citus activity shard (`shard`, its id):
/// the co-located pending and score shards, from Citus's metadata on this node.
///
/// # Safety
/// `td` must be the valid trigger data of the running trigger call.
unsafe fn find_shard_target(td: *const pg_sys::TriggerData, name: &str, shard: i64) -> Target {
    // SAFETY: as the caller guarantees, `td` is valid, and so is its relation.
    let (relid, source) = unsafe { ((*(*td).tg_relation).rd_id, (*(*td).tg_relation).rd_att) };
    // SAFETY: a syscache lookup by NUL-terminated names; InvalidOid if missing.
    let citus = unsafe {
        pg_sys::get_relname_relid(
            c"pg_dist_shard".as_ptr(),
            pg_sys::Oid::from(pg_sys::PG_CATALOG_NAMESPACE),
        )
    };
    if citus == pg_sys::InvalidOid {
        misuse(format!(
            "lead_score attachment \"{name}\": a trigger named as on a Citus shard, without Citus"
        ));
    }
    let sql = std::ffi::CString::new(
        SHARD_TARGET_SQL.replace("{attachments}", &crate::citus::config_table("attachments")),
    )
    .unwrap_or_default();
    // As in find_target, as the extension's owner (who owns lead_score's
    // tables and their shards): writers need no grants on lead_score.
    let row = crate::owner::run_as(crate::owner::extension_owner(), || {
        let text = name.into_datum().unwrap_or(pg_sys::Datum::from(0));
        let args = [
            (pg_sys::TEXTOID, text),
            (pg_sys::INT8OID, pg_sys::Datum::from(shard)),
            (pg_sys::OIDOID, pg_sys::Datum::from(relid)),
        ];
        // SAFETY: the arguments are a text, a bigint and an oid datum, as the
        // query's $1, $2 and $3 are.
        unsafe { query_row(sql.as_c_str(), &args) }
    });
    let Some(row) = row else {
        misuse(format!(
            "lead_score attachment \"{name}\" does not exist, is not deferred or is not on this shard"
        ));
    };
    let oid = |i: usize| {
        pg_sys::Oid::from(
            row[i]
                .as_deref()
                .and_then(|s| s.parse::<u32>().ok())
                .unwrap_or(0),
        )
    };
    let (pending, scores) = (oid(2), oid(3));
    if pending == pg_sys::InvalidOid || scores == pg_sys::InvalidOid {
        raise_code(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("lead_score attachment \"{name}\": no pending or score shard on this node for shard {shard}; run lead_score.distribute again"),
        );
    }
    // SAFETY: `source` is the activity shard's descriptor, valid for the call.
    let columns = unsafe { mapped_columns(source, row[0].as_deref().unwrap_or("")) };
    check_columns(name, &columns, row[1].as_deref());
    // Deferred only (SHARD_TARGET_SQL): on Citus, sync shard groups update
    // their score rows in the writing statement.
    Target {
        attachment: name.to_owned(),
        pending,
        scores,
        columns,
        fold_at_commit: None,
    }
}

/// Raises unless every mapped column was found: the three fixed ones and the
/// `properties` property columns.
fn check_columns(
    name: &str,
    columns: &[(i16, pg_sys::Oid, std::ffi::CString)],
    properties: Option<&str>,
) {
    let expected = 3 + properties
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0);
    if columns.len() != expected {
        raise_code(
            PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
            format!("lead_score attachment \"{name}\": a mapped column of the activity table no longer exists; attach again"),
        );
    }
}

/// The attachment named by the trigger's one argument, once the trigger is
/// checked to be the one attach installed for it; on a Citus shard, where
/// Citus named its copy `<name>_<shard id>`, also the shard id (which
/// [`find_shard_target`] checks against the table it fires on).
///
/// # Safety
/// `trigger` must be the running trigger's valid Trigger.
unsafe fn attachment_name(trigger: *const pg_sys::Trigger) -> (String, Option<i64>) {
    // SAFETY: the caller guarantees `trigger` is valid.
    if unsafe { (*trigger).tgnargs } != 1 {
        misuse(
            "lead_score_internal._append_pending takes the attachment name as its only argument"
                .into(),
        );
    }
    // SAFETY: a valid trigger with one argument has a NUL-terminated tgargs[0],
    // and a NUL-terminated name.
    let (name, tgname) = unsafe {
        (
            CStr::from_ptr(*(*trigger).tgargs)
                .to_string_lossy()
                .into_owned(),
            CStr::from_ptr((*trigger).tgname).to_string_lossy(),
        )
    };
    let base = lead_score_core::sqlgen::attach::trigger_name(
        &name,
        lead_score_core::sqlgen::attach::Write::Insert,
    );
    // PostgreSQL truncated the name attach gave the trigger to NAMEDATALEN - 1 bytes.
    let mut expected = base.clone();
    expected.truncate(pg_sys::NAMEDATALEN as usize - 1);
    if tgname == expected {
        return (name, None);
    }
    let shard = tgname
        .strip_prefix(base.as_str())
        .and_then(|rest| rest.strip_prefix('_'))
        .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|id| id.parse::<i64>().ok());
    match shard {
        Some(id) => (name, Some(id)),
        None => misuse(format!(
            "lead_score_internal._append_pending may only be used by the trigger attach() installs, not \"{tgname}\""
        )),
    }
}

/// The attachment's pending table. Found by name in the internal schema, so
/// the target is always a pending table.
fn pending_table(name: &str) -> pg_sys::Oid {
    lead_table(&lead_score_core::sqlgen::attach::names::pending(name))
}

/// A table of the internal schema, by name; raises if it is missing. Until
/// `ALTER EXTENSION lead_score UPDATE` from 0.1.0 has run, that is still the
/// lead_score schema (see src/layout.rs).
fn lead_table(name: &str) -> pg_sys::Oid {
    let table = std::ffi::CString::new(name).unwrap_or_default();
    let schema = crate::layout::internal_schema();
    // SAFETY: both names are NUL-terminated; get_namespace_oid raises if the
    // schema is missing, get_relname_relid returns InvalidOid if the table is.
    let pending = unsafe {
        pg_sys::get_relname_relid(
            table.as_ptr(),
            pg_sys::get_namespace_oid(schema.as_ptr(), false),
        )
    };
    if pending == pg_sys::InvalidOid {
        misuse(format!("lead_score table \"{name}\" does not exist"));
    }
    pending
}

/// The owner of a table.
pub(crate) fn table_owner(relid: pg_sys::Oid) -> pg_sys::Oid {
    // SAFETY: table_open raises unless `relid` is a table; while it is open its
    // relcache entry is valid, and it is closed (and its lock released) at once.
    unsafe {
        let rel = pg_sys::table_open(relid, pg_sys::AccessShareLock as i32);
        let owner = (*(*rel).rd_rel).relowner;
        pg_sys::table_close(rel, pg_sys::AccessShareLock as i32);
        owner
    }
}

/// The mapped activity columns, from the lookup's "attnum:type" pairs: attribute
/// number, type and name. A pair naming no attribute of `source` is left out.
///
/// # Safety
/// `source` must be a valid tuple descriptor.
unsafe fn mapped_columns(
    source: pg_sys::TupleDesc,
    pairs: &str,
) -> Vec<(i16, pg_sys::Oid, std::ffi::CString)> {
    pairs
        .split(',')
        .filter_map(|pair| {
            let (attnum, typ) = pair.split_once(':')?;
            let attnum: i16 = attnum.parse().ok()?;
            // SAFETY: the caller guarantees `source` is valid; `attribute` only
            // returns one of its attributes.
            let name = unsafe { attribute_name(attribute(source, attnum)?) }.to_owned();
            Some((attnum, pg_sys::Oid::from(typ.parse::<u32>().ok()?), name))
        })
        .collect()
}

/// A column the fast path copies as is: the pending table's type, or a type
/// stored the same way (varchar as text).
fn copies_as(source: pg_sys::Oid, pending: pg_sys::Oid) -> bool {
    source == pending || (pending == pg_sys::TEXTOID && source == pg_sys::VARCHAROID)
}

/// Appends the statement's new rows to the target's pending table.
///
/// # Safety
/// `td` must be the valid trigger data of the running AFTER INSERT statement
/// trigger, with a NEW TABLE; `target` must be its trigger's (`target_of`).
unsafe fn append(
    td: *const pg_sys::TriggerData,
    target: &Target,
    now: i64,
) -> Vec<pg_sys::ItemPointerData> {
    // SAFETY: the caller guarantees `td` is valid, and so are its relation and
    // NEW TABLE.
    let (source, store) = unsafe { ((*(*td).tg_relation).rd_att, (*td).tg_newtable) };
    // Every writer takes the score table's lock before the pending table's, as
    // the other triggers do (LOCK … IN ROW EXCLUSIVE MODE first) and as
    // publishing, rescoring and detaching take both (EXCLUSIVE, in that order):
    // a transaction that appends here and then updates or deletes an activity
    // must not hold the pending table while it waits for the score table.
    // SAFETY: locks a relation by OID in the mode any writer takes; held to the
    // end of the transaction like any table lock.
    unsafe { pg_sys::LockRelationOid(target.scores, pg_sys::RowExclusiveLock as pg_sys::LOCKMODE) };
    let (rel, indexes) = open_pending(target);
    // SAFETY: `store` is the NEW TABLE, whose rows `source` describes; `rel` is
    // open for writing and checked against `target` by open_pending, as are
    // `indexes`, the indexes it keeps.
    let tids = unsafe { copy_rows(store, source, rel, &indexes, target, now) };
    // SAFETY: closes the relations opened above. NoLock: their locks are held
    // to the end of the transaction, as for any table written to.
    unsafe {
        for index in &indexes {
            pg_sys::index_close(index.rel, pg_sys::NoLock as i32);
        }
        pg_sys::table_close(rel, pg_sys::NoLock as i32);
    }
    tids
}

/// A `sync` pending table's index by lead key
/// (`lead_score_core::sqlgen::attach::Attachment::pending_index`), open for
/// inserts.
#[derive(Clone, Copy)]
struct PendingIndex {
    rel: pg_sys::Relation,
    info: *mut pg_sys::IndexInfo,
}

/// Opens the target's pending table for writing, checked to be what the fast
/// path writes into, with the indexes to keep: none in `deferred` mode; in
/// `sync` mode the one `attach` made, and its copies while a REINDEX or
/// CREATE INDEX CONCURRENTLY builds them (an index not yet ready for inserts is
/// skipped, as PostgreSQL's executor does). If a check fails, the ERROR's abort
/// closes them.
fn open_pending(target: &Target) -> (pg_sys::Relation, Vec<PendingIndex>) {
    // SAFETY: table_open raises unless the oid is a table; RowExclusiveLock is
    // the lock an INSERT takes.
    let rel = unsafe { pg_sys::table_open(target.pending, pg_sys::RowExclusiveLock as i32) };
    // SAFETY: while `rel` is open, its relcache entry, with its pg_class row and
    // its descriptor's `natts` attributes, is valid.
    let (form, attrs) = unsafe {
        let desc = (*rel).rd_att;
        (
            &*(*rel).rd_rel,
            (*desc).attrs.as_slice((*desc).natts as usize),
        )
    };
    // SAFETY: `rel` is open; the list is the relcache's copy, in the current
    // memory context.
    let list = unsafe { pg_sys::RelationGetIndexList(rel) };
    // SAFETY: a valid (possibly empty, NIL) list of OIDs.
    let count = unsafe { pg_sys::list_length(list) };
    let mut indexes = Vec::new();
    // Every index a sync pending table has must be one the fast path can keep:
    // a plain btree on the lead key alone (column 1), neither unique nor an
    // exclusion constraint, with no expression or predicate.
    let mut keepable = true;
    if target.fold_at_commit.is_some() {
        for i in 0..count {
            // SAFETY: each OID of the list is an index of `rel`, opened with the
            // lock an INSERT takes on it; BuildIndexInfo reads its catalog entry
            // into the current memory context, which outlives the writer.
            let index = unsafe {
                let rel = pg_sys::index_open(
                    pg_sys::list_nth_oid(list, i),
                    pg_sys::RowExclusiveLock as pg_sys::LOCKMODE,
                );
                PendingIndex {
                    rel,
                    info: pg_sys::BuildIndexInfo(rel),
                }
            };
            // SAFETY: the IndexInfo just built, valid while the index is open.
            let info = unsafe { &*index.info };
            if !info.ii_ReadyForInserts {
                // SAFETY: opened above; its lock is kept, as for the others.
                unsafe { pg_sys::index_close(index.rel, pg_sys::NoLock as i32) };
                continue;
            }
            keepable &= info.ii_Am == pg_sys::BTREE_AM_OID
                && info.ii_NumIndexAttrs == 1
                && info.ii_IndexAttrNumbers[0] == 1
                && info.ii_Expressions.is_null()
                && info.ii_Predicate.is_null()
                && !info.ii_Unique
                && info.ii_ExclusionOps.is_null();
            indexes.push(index);
        }
    } else {
        keepable = count == 0;
    }
    // Rows are written to the heap directly, so it must be a plain heap table
    // (on Citus, a distributed table is not).
    if form.relkind != pg_sys::RELKIND_RELATION as std::ffi::c_char
        || form.relam != pg_sys::HEAP_TABLE_AM_OID
        || !keepable
        || attrs.len() != target.columns.len()
    {
        raise_code(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!(
                "lead_score attachment \"{}\": its pending table must stay as attach() made it: a plain heap table with its columns, and no index but a sync attachment's own",
                target.attachment
            ),
        );
    }
    for ((_, typ, _), att) in target.columns.iter().zip(attrs) {
        if !copies_as(*typ, att.atttypid) {
            raise_code(
                PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
                format!(
                    "lead_score attachment \"{}\": an activity column's type no longer matches its pending column; attach again",
                    target.attachment
                ),
            );
        }
    }
    (rel, indexes)
}

/// Copies the rows of the NEW TABLE that have a lead key into the pending table.
///
/// # Safety
/// `store` must be the running statement's NEW TABLE, whose rows `source`
/// describes; `rel` must be the pending table, open for writing and checked
/// against `target` (`open_pending`), whose columns `target` maps from `source`,
/// and `indexes` the indexes to keep, open and checked with it.
unsafe fn copy_rows(
    store: *mut pg_sys::Tuplestorestate,
    source: pg_sys::TupleDesc,
    rel: pg_sys::Relation,
    indexes: &[PendingIndex],
    target: &Target,
    now: i64,
) -> Vec<pg_sys::ItemPointerData> {
    // SAFETY: `source` is a valid descriptor; the slot is dropped below.
    let slot = unsafe { pg_sys::MakeSingleTupleTableSlot(source, &pg_sys::TTSOpsMinimalTuple) };
    // Other triggers of the statement read the same transition table: use a
    // read pointer of our own, as a scan of it would. (A tuplestore cannot free
    // a read pointer; it goes with the store at the end of the statement.)
    // SAFETY: `store` is a valid tuplestore; pointer 0 is selected again below.
    unsafe {
        let reader = pg_sys::tuplestore_alloc_read_pointer(store, pg_sys::EXEC_FLAG_REWIND as i32);
        pg_sys::tuplestore_select_read_pointer(store, reader);
        pg_sys::tuplestore_rescan(store);
    }
    let last = target.columns.iter().map(|c| c.0).max().unwrap_or(1) as i32;
    // SAFETY: marks the current command id used, as an INSERT does (the
    // function is PARALLEL UNSAFE, so this never runs in parallel mode).
    let cid = unsafe { pg_sys::GetCurrentCommandId(true) };
    // SAFETY: `store` is a valid tuplestore.
    let large = unsafe { pg_sys::tuplestore_tuple_count(store) } > INSERT_BATCH as i64;
    // SAFETY: `rel` is the checked pending table, `indexes` its checked indexes
    // and `slot` the slot rows are read into; all outlive the writer, finished
    // below.
    let mut writer = unsafe {
        BatchWriter::start(
            rel,
            indexes.to_vec(),
            cid,
            large,
            slot,
            target.fold_at_commit.is_some(),
        )
    };
    // SAFETY: while `rel` is open, its descriptor has `natts` attributes, as
    // many as `target` maps (checked by open_pending).
    let pending = unsafe { (*(*rel).rd_att).attrs.as_slice(target.columns.len()) };
    let n = target.columns.len();
    let mut values = vec![pg_sys::Datum::from(0); n];
    let mut nulls = vec![false; n];
    // SAFETY: `store` is a valid tuplestore, `slot` one of its rows' type.
    while unsafe { pg_sys::tuplestore_gettupleslot(store, true, false, slot) } {
        // SAFETY: `slot` holds a row of `source`; every mapped attribute number
        // is one of its attributes, at most `last`.
        unsafe {
            read_row(
                slot,
                last,
                &target.columns,
                pending,
                &mut values,
                &mut nulls,
            )
        };
        if nulls[0] {
            continue; // no lead key: the event belongs to no lead
        }
        if nulls[2] {
            continue; // no time: the aggregates skip it, and so do live scores
        }
        // As the sync trigger's least(occurred_at, _clock()): an event dated
        // after the write counts as of the write.
        if (values[2].value() as i64) > now {
            values[2] = pg_sys::Datum::from(now);
        }
        // SAFETY: `values` and `nulls` hold one datum per pending column, of its
        // type (copies_as, checked by open_pending), none pointing into TOAST.
        unsafe { writer.push(&mut values, &mut nulls) };
    }
    let tids = writer.finish();
    // SAFETY: drops the slot made above, which the writer no longer uses.
    unsafe { pg_sys::ExecDropSingleTupleTableSlot(slot) };
    // SAFETY: `store` is a valid tuplestore; selects back its read pointer 0.
    unsafe { pg_sys::tuplestore_select_read_pointer(store, 0) };
    tids
}

/// Reads the row in `slot` into `values` and `nulls`, in pending-column order.
///
/// # Safety
/// `slot` must hold a row with at least `last` attributes, and every attribute
/// number in `columns` be one of them, at most `last`; `pending` must be the
/// pending table's attributes, one per column, as `values` and `nulls` are.
#[inline]
unsafe fn read_row(
    slot: *mut pg_sys::TupleTableSlot,
    last: i32,
    columns: &[(i16, pg_sys::Oid, std::ffi::CString)],
    pending: &[pg_sys::FormData_pg_attribute],
    values: &mut [pg_sys::Datum],
    nulls: &mut [bool],
) {
    // SAFETY: the caller guarantees `slot` holds a row with at least `last`
    // attributes; slot_getsomeattrs_int deforms them into its arrays.
    let (vals, isnull) = unsafe {
        if ((*slot).tts_nvalid as i32) < last {
            pg_sys::slot_getsomeattrs_int(slot, last);
        }
        ((*slot).tts_values, (*slot).tts_isnull)
    };
    for (i, (attnum, _, _)) in columns.iter().enumerate() {
        let at = *attnum as usize - 1;
        // SAFETY: `at` is below `last`, so both arrays hold a deformed entry for it.
        let (null, mut v) = unsafe { (*isnull.add(at), *vals.add(at)) };
        nulls[i] = null;
        if !null && pending[i].attlen == -1 {
            // Never store a pointer into the activity table's TOAST.
            // SAFETY: a non-null varlena datum of the row (its pending column, of
            // the same type, is a varlena); detoasted into the current context.
            v = pg_sys::Datum::from(unsafe { pg_sys::pg_detoast_datum_packed(v.cast_mut_ptr()) });
        }
        values[i] = v;
    }
}

/// Writes pending rows with heap_multi_insert, INSERT_BATCH at a time.
///
/// Rows go in batches, as COPY writes them: one WAL record per page, not per
/// row. A statement of more than one batch (a COPY) also gets a bulk-insert
/// state, and a memory context reset after each batch, so it runs in constant
/// memory; a small one (the common single-row insert) needs neither, as the
/// trigger's own memory is freed when it returns.
///
/// What `start` and `push` acquire, `finish` releases. No `Drop`: on ERROR
/// PostgreSQL's abort releases it all (see the module docs).
struct BatchWriter {
    rel: pg_sys::Relation,
    /// The pending table's indexes, whose entries are written with the rows.
    indexes: Vec<PendingIndex>,
    /// The pending table's descriptor.
    desc: pg_sys::TupleDesc,
    cid: pg_sys::CommandId,
    /// The slot rows are read into: its tuple may have been read into the
    /// batch memory, so it is cleared before every reset.
    source: *mut pg_sys::TupleTableSlot,
    /// A large statement's bulk-insert state; null for a small one.
    bulk: pg_sys::BulkInsertState,
    /// A large statement's batch memory, where rows are formed; None for a small
    /// one, whose rows are formed in the trigger's memory.
    batch_memory: Option<pg_sys::MemoryContext>,
    /// The memory context current before `start`, and again after `finish`.
    outer: pg_sys::MemoryContext,
    /// One slot per row of a batch, made on first use; the first `used` are full.
    slots: Vec<*mut pg_sys::TupleTableSlot>,
    used: usize,
    /// The written rows' ctids, for a `sync` attachment's commit fold.
    tids: Option<Vec<pg_sys::ItemPointerData>>,
}

impl BatchWriter {
    /// Starts writing into `rel`, in the batch memory (for a large statement).
    ///
    /// # Safety
    /// `rel` must be the pending table, open for writing and checked
    /// (`open_pending`), with `indexes` the indexes to keep, open and checked
    /// with it; `source` must be a valid slot. All must stay so until
    /// the writer is finished, and the memory context current now must not be
    /// switched away from in between (other than by the writer itself).
    unsafe fn start(
        rel: pg_sys::Relation,
        indexes: Vec<PendingIndex>,
        cid: pg_sys::CommandId,
        large: bool,
        source: *mut pg_sys::TupleTableSlot,
        track: bool,
    ) -> BatchWriter {
        // SAFETY: the caller guarantees `rel` is open, so its descriptor is valid.
        let desc = unsafe { (*rel).rd_att };
        let (bulk, batch_memory) = if large {
            // SAFETY: a child of the current memory context and a bulk-insert
            // state, in it; `finish` deletes and frees them.
            unsafe {
                let memory = pg_sys::AllocSetContextCreateInternal(
                    pg_sys::CurrentMemoryContext,
                    c"lead_score pending batch".as_ptr(),
                    pg_sys::ALLOCSET_DEFAULT_MINSIZE as usize,
                    pg_sys::ALLOCSET_DEFAULT_INITSIZE as usize,
                    pg_sys::ALLOCSET_DEFAULT_MAXSIZE as usize,
                );
                (pg_sys::GetBulkInsertState(), Some(memory))
            }
        } else {
            (std::ptr::null_mut(), None)
        };
        // SAFETY: switches to the batch memory (or stays in the current context,
        // for a small statement); `finish` switches back.
        let outer = unsafe {
            pg_sys::MemoryContextSwitchTo(batch_memory.unwrap_or(pg_sys::CurrentMemoryContext))
        };
        BatchWriter {
            rel,
            indexes,
            desc,
            cid,
            source,
            bulk,
            batch_memory,
            outer,
            slots: Vec::new(),
            used: 0,
            tids: track.then(Vec::new),
        }
    }

    /// Forms a pending row from `values` and `nulls` into the batch, and writes
    /// the batch once it is full.
    ///
    /// # Safety
    /// `values` and `nulls` must hold one datum per pending column, of its type.
    #[inline]
    unsafe fn push(&mut self, values: &mut [pg_sys::Datum], nulls: &mut [bool]) {
        // SAFETY: the caller guarantees `values` and `nulls` match the pending
        // table's descriptor; the tuple is formed in the current (batch) memory.
        let tuple =
            unsafe { pg_sys::heap_form_tuple(self.desc, values.as_mut_ptr(), nulls.as_mut_ptr()) };
        if self.used == self.slots.len() {
            // SAFETY: a slot of the pending table's type, made in the outer
            // context so that it outlives every batch reset; `finish` drops it.
            unsafe {
                let old = pg_sys::MemoryContextSwitchTo(self.outer);
                self.slots.push(pg_sys::MakeSingleTupleTableSlot(
                    self.desc,
                    &pg_sys::TTSOpsHeapTuple,
                ));
                pg_sys::MemoryContextSwitchTo(old);
            }
        }
        // SAFETY: the slot is empty (new, or cleared by the last flush) and takes
        // the tuple, to free when it is cleared.
        unsafe { pg_sys::ExecStoreHeapTuple(tuple, self.slots[self.used], true) };
        self.used += 1;
        if self.used == INSERT_BATCH {
            self.flush();
        }
    }

    /// Writes the batch's rows and empties their slots; for a large statement,
    /// then empties the batch memory.
    fn flush(&mut self) {
        if self.used > 0 {
            // SAFETY: the first `used` slots hold rows formed for the pending
            // table, open for writing (start's contract), written with the
            // statement's command id, then indexed in its index (open and
            // checked, start's contract) with their deformed keys; emptying
            // the slots frees the rows.
            unsafe {
                pg_sys::heap_multi_insert(
                    self.rel,
                    self.slots.as_mut_ptr(),
                    self.used as i32,
                    self.cid,
                    0,
                    self.bulk,
                );
                for &s in &self.slots[..self.used] {
                    // heap_multi_insert set each slot's ctid, which the index
                    // entry points to: the row's lead key (column 1, checked
                    // by open_pending), never null, deformed from the slot.
                    if !self.indexes.is_empty() && (*s).tts_nvalid < 1 {
                        pg_sys::slot_getsomeattrs_int(s, 1);
                    }
                    for index in &self.indexes {
                        pg_sys::index_insert(
                            index.rel,
                            (*s).tts_values,
                            (*s).tts_isnull,
                            &mut (*s).tts_tid,
                            self.rel,
                            pg_sys::IndexUniqueCheck::UNIQUE_CHECK_NO,
                            false,
                            index.info,
                        );
                    }
                    // Past what a commit folds by ctid, the count is all that
                    // matters.
                    if let Some(t) = &mut self.tids {
                        if t.len() <= crate::commit_fold::MAX_TRACKED_ROWS {
                            t.push((*s).tts_tid);
                        }
                    }
                    pg_sys::ExecClearTuple(s);
                }
            }
            self.used = 0;
        }
        if let Some(memory) = self.batch_memory {
            // SAFETY: nothing points into the batch memory once the batch's slots
            // are empty (above) and the source slot, whose tuple may have been
            // read into it, is too (here).
            unsafe {
                pg_sys::ExecClearTuple(self.source);
                pg_sys::MemoryContextReset(memory);
            }
        }
    }

    /// Writes the last batch and releases what `start` and `push` acquired;
    /// returns the rows' ctids when tracked (at most one past
    /// `commit_fold::MAX_TRACKED_ROWS`).
    fn finish(mut self) -> Vec<pg_sys::ItemPointerData> {
        self.flush();
        // SAFETY: switches back to the context current before `start`; nothing
        // points into the batch memory after the flush, and nothing uses the
        // bulk-insert state or the batch's (empty) slots after this.
        unsafe {
            pg_sys::MemoryContextSwitchTo(self.outer);
            if let Some(memory) = self.batch_memory {
                pg_sys::MemoryContextDelete(memory);
                pg_sys::FreeBulkInsertState(self.bulk);
            }
            for &s in &self.slots {
                pg_sys::ExecDropSingleTupleTableSlot(s);
            }
        }
        self.tids.take().unwrap_or_default()
    }
}

/// `_snapshot_horizon(pending)`: a transaction ID that every snapshot of this
/// database still in use (and every later one) sees as ended: the oldest one
/// a backend's snapshot or running transaction there holds, as VACUUM
/// computes it for the table `pending`. A pending row written by an older,
/// committed transaction has its activity row visible to every lead creator,
/// so none of them needs it pending (`<name>__drop_orphans`, generated by
/// sqlgen's `drop_orphans_function`).
#[pg_extern(
    name = "_snapshot_horizon",
    schema = "lead_score_internal",
    volatile,
    strict,
    parallel_unsafe
)]
fn snapshot_horizon(pending: pg_sys::Oid) -> pg_sys::TransactionId {
    // SAFETY: opens the relation by OID with the weakest lock (an ERROR if it
    // does not exist), reads the horizon the proc array gives for it under its
    // own locks, and closes it, keeping the lock to the end of the transaction.
    unsafe {
        let rel = pg_sys::relation_open(pending, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        let horizon = pg_sys::GetOldestNonRemovableTransactionId(rel);
        pg_sys::relation_close(rel, pg_sys::NoLock as pg_sys::LOCKMODE);
        horizon
    }
}

/// `_written_here(x)`: whether transaction ID `x` is this transaction's or one
/// of its subtransactions' (`TransactionIdIsCurrentTransactionId`), so a row
/// whose `xmin` it is was written by this transaction: the catalog guard on
/// `models.current_version` (sql/live.sql) lets it move only to a version
/// stored that way, as `create_model` stores it (on a Citus worker too, where
/// the coordinator's transaction writes through one transaction per node).
#[pg_extern(
    name = "_written_here",
    schema = "lead_score_internal",
    volatile,
    strict,
    parallel_unsafe
)]
fn written_here(x: pg_sys::TransactionId) -> bool {
    // SAFETY: reads this backend's own transaction state; any ID is accepted
    // (one that is not this transaction's gives false).
    unsafe { pg_sys::TransactionIdIsCurrentTransactionId(x) }
}

/// `_xid_precedes(a, b)`: whether transaction ID `a` is older than `b`, modulo
/// wraparound, as PostgreSQL compares them (`TransactionIdPrecedes`).
#[pg_extern(
    name = "_xid_precedes",
    schema = "lead_score_internal",
    immutable,
    strict,
    parallel_safe
)]
fn xid_precedes(a: pg_sys::TransactionId, b: pg_sys::TransactionId) -> bool {
    let (a, b) = (a.into_inner(), b.into_inner());
    let first_normal = pg_sys::TransactionId::FIRST_NORMAL.into_inner();
    if a < first_normal || b < first_normal {
        // A permanent ID (frozen, bootstrap) precedes every normal one.
        return a < b;
    }
    (a.wrapping_sub(b) as i32) < 0
}
