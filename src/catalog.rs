//! Finds models by name and compiles each (model, version) once per backend.
//!
//! Name resolution happens once per function call site per query (see
//! `fncache`), so a newly published version is picked up by the next statement
//! without reconnecting, while the per-row path never touches SPI.

use crate::errors::{raise_code, OrRaise};
use lead_score_core::Model;
use pgrx::prelude::*;
use pgrx::{IntoDatum, PgSqlErrorCode};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::{CStr, CString};

pub struct Compiled {
    pub model_id: i64,
    pub version: i32,
    pub name: String,
    pub model: Model,
    /// The version row it was compiled from (`xmin/ctid`): a row stored
    /// again under the same number has another.
    row: String,
}

/// A compiled version; the invalidation generation at which it was the row
/// the latest snapshot shows (from then on it is used as is until the next
/// invalidation), if it was; and the statement it was last checked for (a
/// statement whose snapshot shows an older row than the latest, a
/// `REPEATABLE READ` one, uses it without checking again).
#[derive(Clone, Copy)]
struct Entry {
    compiled: &'static Compiled,
    current_at: Option<u64>,
    checked_for: Option<(pg_sys::TimestampTz, u32)>,
}

thread_local! {
    // Compiled models live as long as the backend: call sites keep plain
    // references to them. A stored version never changes, but its number
    // can name another spec once its row is deleted (by hand, or with its
    // model): every insert and delete of a version empties this map in
    // every backend ([`versions_invalidated`]).
    // Each with the invalidation generation it was last checked at.
    static COMPILED: RefCell<HashMap<(i64, i32), Entry>> = RefCell::new(HashMap::new());
    /// The table versions are read from, once one was compiled (its
    /// invalidations are watched from then on).
    static WATCHED: Cell<Option<pg_sys::Oid>> = const { Cell::new(None) };
    /// Moved on by [`versions_invalidated`]: [`by_key`] checks an entry of an
    /// older generation against its row before it uses it, and compiles the
    /// row again only if it is another (so a full cache reset, which also
    /// calls back, costs a lookup per version, not a compile).
    static GENERATION: Cell<u64> = const { Cell::new(0) };
}

/// A relcache callback: PostgreSQL calls it when a relation's cache entry is
/// invalidated, here or (at their commit) by other backends; every insert and
/// delete of a version sends one for the versions table
/// (`lead_score_internal._versions_changed`, from `model_versions_guard`), as
/// a full reset (`relid` 0) does. Then the compiled models are compiled
/// again on next use. It only sets a flag: it runs while invalidations are
/// processed, where nothing may fail.
#[pg_guard]
unsafe extern "C-unwind" fn versions_invalidated(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    // Before the first compile the table is not known: any relation counts.
    if relid == pg_sys::InvalidOid || WATCHED.with(Cell::get).is_none_or(|w| w == relid) {
        GENERATION.with(|g| g.set(g.get().wrapping_add(1)));
    }
}

/// Registers [`versions_invalidated`], once per backend, as the library
/// loads (`_PG_init`): so no invalidation read before the first compile is
/// missed.
pub fn register() {
    // SAFETY: registers a callback function for the backend's lifetime
    // (PostgreSQL keeps up to 10 per backend; this is the one of ours).
    unsafe {
        pg_sys::CacheRegisterRelcacheCallback(Some(versions_invalidated), pg_sys::Datum::from(0))
    };
}

/// The client statement running, and its command id: what a check of a
/// compiled version holds for.
fn statement() -> (pg_sys::TimestampTz, u32) {
    // SAFETY: reads the current statement's start time.
    let start = unsafe { pg_sys::GetCurrentStatementStartTimestamp() };
    (start, crate::fncache::command_id())
}

/// The version row's identity (`xmin/ctid`) as the latest snapshot shows it:
/// what the row is now, whatever the statement's snapshot. `None` in
/// parallel mode, where no snapshot may be taken, or with no such row.
fn latest_identity(model_id: i64, version: i32) -> Option<String> {
    // SAFETY: reads a backend-local flag.
    if unsafe { pg_sys::IsInParallelMode() } {
        return None;
    }
    let sql = CString::new(format!(
        "SELECT v.xmin::text || '/' || v.ctid::text FROM {} v WHERE v.model_id = $1 AND v.version = $2",
        crate::citus::config_table("model_versions")
    ))
    .ok()?;
    let args = [
        (pg_sys::INT8OID, pg_sys::Datum::from(model_id)),
        (pg_sys::INT4OID, pg_sys::Datum::from(version)),
    ];
    // SAFETY: a fresh snapshot made active for the one read-only query (which
    // runs with the active snapshot) and popped after it; an ERROR in between
    // aborts the (sub)transaction, which pops it. The arguments are an int8
    // and an int4 by value, as $1 and $2 are.
    unsafe {
        pg_sys::PushActiveSnapshot(pg_sys::GetLatestSnapshot());
        let row = query_row(&sql, &args);
        pg_sys::PopActiveSnapshot();
        row?.into_iter().next().flatten()
    }
}

/// `_versions_changed(versions)`: queues an invalidation of the versions
/// table's relcache entry, sent to every backend at commit (and run here at
/// once), so each checks its compiled models against their rows rather than
/// take a version number that now names another spec for the one it compiled
/// (`model_versions_guard` calls it for every insert and delete).
#[pg_extern(
    name = "_versions_changed",
    schema = "lead_score_internal",
    volatile,
    strict,
    parallel_unsafe
)]
fn versions_changed(versions: pg_sys::Oid) {
    // SAFETY: queues a relcache invalidation of an existing relation (the
    // trigger's own table, TG_RELID); PostgreSQL raises for an unknown OID.
    unsafe { pg_sys::CacheInvalidateRelcacheByRelid(versions) };
}

/// A model resolved for one statement: its current version and the as-of time.
#[derive(Clone, Copy)]
pub struct Resolved {
    pub compiled: &'static Compiled,
    /// Microseconds since 2000-01-01: `lead_score.as_of` if set, else now().
    pub as_of: i64,
}

/// Model id, current version, and the as-of time in PostgreSQL's microseconds since 2000.
/// A model by name, or `name@N` for its version N (when no model is called
/// `name@N` itself): id, version and the as-of time.
/// The query, with the configuration tables this node reads (src/citus.rs);
/// without `as_of`, NULL for the time (what needs the model alone does not
/// read, nor fail on, `lead_score.as_of`).
fn resolve_sql(as_of: bool) -> CString {
    let models = crate::citus::config_table("models");
    let versions = crate::citus::config_table("model_versions");
    let time = if as_of {
        "(extract(epoch from lead_score.scoring_time() - '2000-01-01 00:00:00+00'::timestamptz) * 1000000)::bigint"
    } else {
        "NULL::bigint"
    };
    CString::new(format!(
        "SELECT m.id, coalesce(v.version, m.current_version), {time} \
    FROM (SELECT $1 AS full_name, substring($1 from '^(.*)@[0-9]+$') AS base, \
                 substring($1 from '@([0-9]{{1,9}})$')::int AS version) q \
    JOIN {models} m ON m.name = q.full_name \
      OR (q.base IS NOT NULL AND m.name = q.base \
          AND NOT EXISTS (SELECT 1 FROM {models} x WHERE x.name = q.full_name)) \
    LEFT JOIN {versions} v ON m.name <> q.full_name AND v.model_id = m.id AND v.version = q.version \
    WHERE m.name = q.full_name OR v.version IS NOT NULL"
    ))
    .unwrap_or_default()
}

fn spec_sql() -> CString {
    CString::new(format!(
        "SELECT m.name, v.spec::text, v.xmin::text, v.tableoid::oid::text, v.xmin::text || '/' || v.ctid::text FROM {} v \
    JOIN {} m ON m.id = v.model_id WHERE v.model_id = $1 AND v.version = $2",
        crate::citus::config_table("model_versions"),
        crate::citus::config_table("models")
    ))
    .unwrap_or_default()
}

/// Runs a one-row catalog query in read-only SPI and returns its columns as text.
///
/// With `search_path` pinned to `pg_catalog, pg_temp` while it runs: callers
/// reach this from functions without a `SET` clause, and what it finds (a
/// model's spec, compiled for the whole backend) must not depend on the
/// caller's path, where an operator of the caller's own (an `=` on
/// `bigint`, say) would otherwise be chosen over pg_catalog's.
///
/// Read-only matters: pgrx's SPI wrappers run read-write once the transaction has
/// written, which bumps the command counter, and PostgreSQL forbids that while a
/// parallel query runs (in workers and in the leader). The lookups only read.
///
/// On ERROR the SPI connection is not finished here: PostgreSQL's
/// (sub)transaction abort cleans it up (AtEOXact_SPI).
///
/// # Safety
/// Each argument's datum must be a valid value of the type its oid names, as
/// `query`'s matching parameter expects.
pub(crate) unsafe fn query_row(
    query: &CStr,
    args: &[(pg_sys::Oid, pg_sys::Datum)],
) -> Option<Vec<Option<String>>> {
    // SAFETY: any function running in a transaction may connect to SPI; the
    // connection is finished below.
    if unsafe { pg_sys::SPI_connect() } != pg_sys::SPI_OK_CONNECT as i32 {
        raise_code(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            "lead_score: SPI_connect failed",
        );
    }
    // Before the update from 0.1.0, internal objects are still in lead_score.
    let moved = query
        .to_str()
        .ok()
        .map(crate::layout::for_catalog)
        .and_then(|sql| match sql {
            std::borrow::Cow::Owned(sql) => CString::new(sql).ok(),
            std::borrow::Cow::Borrowed(_) => None,
        });
    let query = moved.as_deref().unwrap_or(query);
    // Already so in the triggers and every function with that SET clause: no
    // setting to change on their path.
    let nest = (crate::owner::setting(c"search_path").as_deref() != PINNED_PATH.to_str().ok())
        .then(|| crate::owner::push_settings(&[(c"search_path", PINNED_PATH)]));
    let mut types: Vec<pg_sys::Oid> = args.iter().map(|a| a.0).collect();
    let mut values: Vec<pg_sys::Datum> = args.iter().map(|a| a.1).collect();
    let nulls = vec![b' ' as std::ffi::c_char; args.len()];
    // SAFETY: connected above; `query` is NUL-terminated; `types`, `values` and
    // `nulls` hold one entry per argument, and the caller guarantees each value
    // is of its type. Read-only, at most one row.
    let rc = unsafe {
        pg_sys::SPI_execute_with_args(
            query.as_ptr(),
            args.len() as i32,
            types.as_mut_ptr(),
            values.as_mut_ptr(),
            nulls.as_ptr(),
            true,
            1,
        )
    };
    if rc != pg_sys::SPI_OK_SELECT as i32 {
        raise_code(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            format!("lead_score: catalog query failed ({rc})"),
        );
    }
    // SAFETY: after a successful SELECT, SPI_processed and SPI_tuptable describe
    // its result: with a row, vals[0] is a tuple of tupdesc; SPI_getvalue returns
    // a palloc'd NUL-terminated string, or null for a NULL. All is copied into
    // owned Strings before SPI_finish frees it.
    let row = unsafe {
        if pg_sys::SPI_processed == 0 {
            None
        } else {
            let table = pg_sys::SPI_tuptable;
            let desc = (*table).tupdesc;
            let tuple = *(*table).vals;
            Some(
                (1..=(*desc).natts)
                    .map(|col| {
                        let text = pg_sys::SPI_getvalue(tuple, desc, col);
                        (!text.is_null())
                            .then(|| CStr::from_ptr(text).to_string_lossy().into_owned())
                    })
                    .collect(),
            )
        }
    };
    // SAFETY: finishes the connection made above; nothing it allocated is used
    // after this. Then pops the settings' level pushed above, if any (an ERROR
    // before this aborts the (sub)transaction, which pops it).
    unsafe {
        pg_sys::SPI_finish();
        if let Some(nest) = nest {
            pg_sys::AtEOXact_GUC(false, nest);
        }
    }
    row
}

/// The `search_path` catalog lookups run with.
const PINNED_PATH: &CStr = c"pg_catalog, pg_temp";

fn parse<T: std::str::FromStr>(value: &Option<String>) -> T {
    match value.as_deref().map(str::parse::<T>) {
        Some(Ok(v)) => v,
        _ => raise_code(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            "lead_score: unexpected catalog value",
        ),
    }
}

pub fn resolve(name: &str) -> Resolved {
    resolve_with(name, true)
}

/// A model by name (or `name@N`), compiled, without reading `lead_score.as_of`.
pub fn compiled(name: &str) -> &'static Compiled {
    resolve_with(name, false).compiled
}

fn resolve_with(name: &str, as_of: bool) -> Resolved {
    // A version deleted and stored again (by another backend, committed
    // since) is seen from this statement on, even in a transaction that
    // takes no new lock, which is where invalidations are otherwise read.
    // SAFETY: reads the shared invalidation queue, as every new lock does;
    // allowed anywhere a query may run.
    unsafe { pg_sys::AcceptInvalidationMessages() };
    let text = match name.into_datum() {
        Some(d) => d,
        None => raise_code(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            "model name must not be null",
        ),
    };
    // SAFETY: the one argument is a text datum, as $1 is.
    let Some(row) = (unsafe { query_row(&resolve_sql(as_of), &[(pg_sys::TEXTOID, text)]) }) else {
        // `name@N` of a model that exists: the version is what is missing.
        if let Some((base, version)) = versioned_name(name) {
            let exists = CString::new(format!(
                "SELECT 1 FROM {} WHERE name = $1",
                crate::citus::config_table("models")
            ))
            .ok()
            .and_then(|sql| {
                let base = base.into_datum()?;
                // SAFETY: the one argument is a text datum, as $1 is.
                unsafe { query_row(&sql, &[(pg_sys::TEXTOID, base)]) }
            });
            if exists.is_some() {
                raise_code(
                    PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
                    format!("lead_score model \"{base}\" has no version {version}"),
                );
            }
        }
        raise_code(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("lead_score model \"{name}\" does not exist"),
        );
    };
    Resolved {
        compiled: by_key(parse(&row[0]), parse(&row[1])),
        as_of: if as_of { parse(&row[2]) } else { 0 },
    }
}

/// `name@N`, as `resolve_sql` reads it: the model's name and the version
/// (1 to 9 digits), or `None`.
fn versioned_name(name: &str) -> Option<(&str, i32)> {
    let (base, version) = name.rsplit_once('@')?;
    if version.is_empty() || version.len() > 9 || !version.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((base, version.parse().ok()?))
}

/// The compiled model for an exact version, compiling it on first use.
pub fn by_key(model_id: i64, version: i32) -> &'static Compiled {
    let generation = GENERATION.with(Cell::get);
    let cached = COMPILED.with(|m| m.borrow().get(&(model_id, version)).copied());
    if let Some(e) = cached.filter(|e| e.current_at == Some(generation)) {
        return e.compiled;
    }
    let now = statement();
    if let Some(e) = cached.filter(|e| e.checked_for == Some(now)) {
        return e.compiled;
    }
    let args = [
        (pg_sys::INT8OID, pg_sys::Datum::from(model_id)),
        (pg_sys::INT4OID, pg_sys::Datum::from(version)),
    ];
    // The row as this statement's snapshot shows it: the one to score with.
    // SAFETY: the arguments are an int8 and an int4 by value, as $1 and $2 are.
    let Some(row) = (unsafe { query_row(&spec_sql(), &args) }) else {
        raise_code(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("lead_score model id {model_id} version {version} does not exist"),
        );
    };
    let (Some(name), Some(spec), Some(identity)) = (
        row[0].clone(),
        row[1].clone(),
        row.get(4).cloned().flatten(),
    ) else {
        raise_code(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            "lead_score: model without name or spec",
        );
    };
    if let Some(relid) = row.get(3).and_then(|x| x.as_deref()?.parse::<u32>().ok()) {
        WATCHED.with(|w| w.set(Some(relid.into())));
    }
    // Used as is until the next invalidation only if it is also the row now
    // (an older snapshot, REPEATABLE READ's, may show a row since deleted):
    // otherwise checked again by the next statement.
    let current = latest_identity(model_id, version).as_deref() == Some(identity.as_str());
    let entry = |compiled| Entry {
        compiled,
        current_at: current.then_some(generation),
        checked_for: Some(now),
    };
    // The same row, compiled already.
    if let Some(e) = cached.filter(|e| e.compiled.row == identity) {
        COMPILED.with(|m| {
            m.borrow_mut()
                .insert((model_id, version), entry(e.compiled))
        });
        return e.compiled;
    }
    let model = Model::from_json_text(&spec).or_raise();
    let compiled: &'static Compiled = Box::leak(Box::new(Compiled {
        model_id,
        version,
        name,
        model,
        row: identity,
    }));
    COMPILED.with(|m| m.borrow_mut().insert((model_id, version), entry(compiled)));
    // A version this transaction wrote may roll back, and its number then be
    // written again with another spec: forget it if it does.
    let xmin = row.get(2).and_then(|x| x.as_deref()?.parse::<u32>().ok());
    // SAFETY: a plain check of a transaction id against this backend's own.
    if xmin.is_some_and(|x| unsafe { pg_sys::TransactionIdIsCurrentTransactionId(x.into()) }) {
        forget_on_abort((model_id, version));
    }
    compiled
}

thread_local! {
    /// Compiled versions written by the open transaction, and whether its
    /// commit and abort callbacks are registered.
    static UNCOMMITTED: RefCell<(Vec<(i64, i32)>, bool)> = const { RefCell::new((Vec::new(), false)) };
}

/// Evicts `key` from the cache if the transaction (or a subtransaction of it)
/// that wrote its version rolls back; once it commits, the key is for good.
fn forget_on_abort(key: (i64, i32)) {
    fn evict() {
        let keys = UNCOMMITTED.with(|u| std::mem::take(&mut u.borrow_mut().0));
        COMPILED.with(|m| {
            let mut m = m.borrow_mut();
            for k in keys {
                m.remove(&k);
            }
        });
    }
    let register = UNCOMMITTED.with(|u| {
        let mut u = u.borrow_mut();
        u.0.push(key);
        !std::mem::replace(&mut u.1, true)
    });
    if register {
        pgrx::register_xact_callback(pgrx::PgXactCallbackEvent::Abort, || {
            evict();
            UNCOMMITTED.with(|u| u.borrow_mut().1 = false);
        });
        pgrx::register_xact_callback(pgrx::PgXactCallbackEvent::Commit, || {
            UNCOMMITTED.with(|u| *u.borrow_mut() = (Vec::new(), false));
        });
        // A rolled-back savepoint (or plpgsql exception block): every version
        // written in the transaction is compiled again on next use. (pgrx
        // drops this hook when the transaction ends.)
        let _ =
            pgrx::register_subxact_callback(pgrx::PgSubXactCallbackEvent::AbortSub, |_, _| evict());
    }
}
