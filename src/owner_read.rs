//! The one read of a user's activity table the live-score triggers make, run as
//! that table's owner.
//!
//! The triggers run with their owner's (the extension's) rights. Planning a
//! query over a user's table can run that table's owner's code: the planner
//! folds immutable functions in CHECK constraints and index expressions, and a
//! cast may be user-defined. So the triggers never query a user's table
//! themselves: `_owner_states` runs the generated read as the table's owner, in
//! a security-restricted operation with `search_path` pinned (as PostgreSQL
//! runs VACUUM, ANALYZE and index builds), and folds the rows it gets into live
//! states here, in Rust. Whatever code of the owner's runs, runs as the owner.

use crate::catalog::by_key;
use crate::errors::{raise_code, OrRaise};
use crate::owner::run_as;
use lead_score_core::live::{check_supported, live_add, new_live, LiveKey};
use lead_score_core::Value;
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

/// The owner of an attachment's activity table.
fn activities_owner(attachment: &str) -> pg_sys::Oid {
    owner_of(
        attachment,
        "coalesce(pg_catalog.to_regclass(a.mapping ->> 'citus_activities'), a.activities)",
    )
    .0
}

/// The owner of an attachment's lead table, unless its row-level security
/// applies to its owner too (`FORCE ROW LEVEL SECURITY`): a read as the owner,
/// with `row_security = off`, would then fail rather than run the policies.
fn leads_owner_unforced(attachment: &str) -> Option<pg_sys::Oid> {
    let (owner, forced) = owner_of(attachment, "a.leads");
    (!forced).then_some(owner)
}

/// The owner of the table `table` names, an expression over the attachment's
/// row `a` of the attachments table, and whether its row-level security is
/// forced on its owner.
fn owner_of(attachment: &str, table: &str) -> (pg_sys::Oid, bool) {
    // A read-only query (pgrx's Spi::get_one would assign a transaction id,
    // which a read on a hot standby cannot).
    let query = std::ffi::CString::new(format!(
        "SELECT c.relowner::pg_catalog.text, (c.relrowsecurity AND c.relforcerowsecurity)::pg_catalog.text \
         FROM pg_catalog.pg_class c WHERE c.oid = (SELECT {table} FROM {} a WHERE a.name = $1)",
        crate::citus::config_table("attachments")
    ))
    .unwrap_or_default();
    let name = std::ffi::CString::new(attachment).unwrap_or_default();
    // SAFETY: the one argument is a text datum, as $1 is; it lives until the call returns.
    let row = unsafe {
        let text = pg_sys::cstring_to_text(name.as_ptr());
        crate::catalog::query_row(&query, &[(pg_sys::TEXTOID, pg_sys::Datum::from(text))])
    };
    let mut row = row.unwrap_or_default().into_iter();
    let owner = row.next().flatten().and_then(|o| o.parse::<u32>().ok());
    let forced = row.next().flatten().as_deref() == Some("true");
    match owner {
        Some(o) => (pg_sys::Oid::from(o), forced),
        None => raise_code(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("lead_score attachment \"{attachment}\" does not exist"),
        ),
    }
}

/// A column of the current row: its datum, whether it is NULL, and its type.
type Column<'a> = &'a dyn Fn(i32) -> (pg_sys::Datum, bool, pg_sys::Oid);

/// A column that generated SQL reads as text for a table's owner
/// (`owner_text_of` in lead_score_core's sqlgen): a text datum, or a value of
/// a built-in type whose text depends on settings, written here as
/// `_stable_text` writes it (the owner may have no rights on lead_score's
/// schemas). NULL for NULL.
fn column_text(col: Column, c: i32) -> Option<String> {
    let (d, null, typid) = col(c);
    if null {
        None
    } else if typid == pg_sys::TEXTOID {
        // SAFETY: a non-null text datum of the current row.
        unsafe { String::from_datum(d, false) }
    } else {
        // SAFETY: a non-null datum of the current row, of type `typid`.
        Some(unsafe { crate::stable_text::output_pinned(typid, d) })
    }
}

/// Which of its own transaction's writes a read with a given snapshot sees.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Own {
    /// Every command's so far, the running statement's included: SPI advances
    /// the snapshot's command id. What a trigger of the statement reads.
    Included,
    /// Those the snapshot's command id shows, as the statement's own query
    /// sees them, without the rows its writable CTEs insert: what a reader
    /// reads (PostgreSQL runs a stable SQL function's queries so).
    AsOfSnapshot,
}

/// The snapshot [`StateReader::states`] reads with.
#[derive(Clone, Copy)]
enum Snap {
    /// The latest, with every write of this transaction so far.
    Latest,
    /// The statement's, with every write of this transaction so far.
    Statement,
    /// The statement's, as its query sees the table ([`Own::AsOfSnapshot`]).
    Query,
}

/// Runs `query`, whose one parameter `$1` is `keys` (none without keys), with
/// `snapshot` and `own` (at most `limit` rows, 0 for all), and calls `each`
/// for every row with a reader of its columns. The read-only SPI session the
/// callers below share.
fn select_keys(
    query: &std::ffi::CStr,
    keys: Option<&pgrx::AnyArray>,
    snapshot: (pg_sys::Snapshot, Own),
    limit: i64,
    each: impl FnMut(Column),
) {
    let args: Vec<(pg_sys::Oid, pg_sys::Datum)> =
        keys.map(|k| (k.oid(), k.datum())).into_iter().collect();
    select_args(query, &args, snapshot, limit, each);
}

/// [`select_keys`] with any arguments, each a non-null datum and its type.
fn select_args(
    query: &std::ffi::CStr,
    args: &[(pg_sys::Oid, pg_sys::Datum)],
    (snapshot, own): (pg_sys::Snapshot, Own),
    limit: i64,
    mut each: impl FnMut(Column),
) {
    // SAFETY: SPI is connected and finished here, around one prepared query
    // whose arguments are `args`, each a valid non-null datum of its type;
    // rows are read while the tuple table is alive, before SPI_finish frees it.
    unsafe {
        if pg_sys::SPI_connect() != pg_sys::SPI_OK_CONNECT as i32 {
            raise_code(
                PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                "lead_score: SPI_connect failed",
            );
        }
        let n = i32::try_from(args.len()).unwrap_or(i32::MAX);
        let mut types: Vec<pg_sys::Oid> = args.iter().map(|a| a.0).collect();
        let plan = pg_sys::SPI_prepare(query.as_ptr(), n, types.as_mut_ptr());
        if plan.is_null() {
            raise_code(
                PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                "lead_score: could not prepare a read of the keys",
            );
        }
        let mut values: Vec<pg_sys::Datum> = args.iter().map(|a| a.1).collect();
        let nulls: Vec<std::ffi::c_char> = vec![b' ' as std::ffi::c_char; args.len().max(1)];
        let rc = pg_sys::SPI_execute_snapshot(
            plan,
            values.as_mut_ptr(),
            nulls.as_ptr(),
            snapshot,
            std::ptr::null_mut(),
            // read_only: run with exactly `snapshot`, its command id kept.
            own == Own::AsOfSnapshot,
            false,
            limit as std::ffi::c_long,
        );
        if rc != pg_sys::SPI_OK_SELECT as i32 {
            raise_code(
                PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                format!("lead_score: a read of the keys failed ({rc})"),
            );
        }
        let table = pg_sys::SPI_tuptable;
        let desc = (*table).tupdesc;
        for r in 0..pg_sys::SPI_processed as usize {
            let tuple = *(*table).vals.add(r);
            let col = |c: i32| {
                let mut isnull = false;
                let d = pg_sys::SPI_getbinval(tuple, desc, c, &mut isnull);
                (d, isnull, pg_sys::SPI_gettypeid(desc, c))
            };
            each(&col);
        }
        pg_sys::SPI_finish();
    }
}

/// Each account's total and whether it is alerting (sqlgen's
/// `account_totals`), over the leads' `keys` and `accounts` as
/// [`account_members`] read them, with the same snapshot: the active one
/// (which `tick()`'s account check takes once it holds its lock), with this
/// transaction's writes so far (a lead's account and its score are read as
/// of one moment). Run as the extension's owner.
pub(crate) fn account_totals(
    att: &lead_score_core::sqlgen::attach::Attachment,
    keys: Vec<String>,
    accounts: Vec<String>,
) -> (Vec<String>, Vec<f64>, Vec<bool>) {
    let (mut names, mut totals, mut alerting) = (Vec::new(), Vec::new(), Vec::new());
    let Some(query) = att.account_totals() else {
        return (names, totals, alerting);
    };
    let query = std::ffi::CString::new(query).unwrap_or_default();
    let (Some(keys), Some(accounts)) = (keys.into_datum(), accounts.into_datum()) else {
        return (names, totals, alerting);
    };
    let args = [
        (pg_sys::TEXTARRAYOID, keys),
        (pg_sys::TEXTARRAYOID, accounts),
    ];
    // SAFETY: the statement's snapshot, valid while this statement runs.
    let snapshot = unsafe { pg_sys::GetActiveSnapshot() };
    select_args(&query, &args, (snapshot, Own::Included), 0, |col| {
        let (account, total, alert) = (col(1), col(2), col(3));
        // SAFETY: non-null datums of the current row, of the query's column
        // types (text, float8, boolean).
        let row = unsafe {
            (
                String::from_datum(account.0, account.1),
                f64::from_datum(total.0, total.1),
                bool::from_datum(alert.0, alert.1),
            )
        };
        if let (Some(a), Some(t), Some(b)) = row {
            names.push(a);
            totals.push(t);
            alerting.push(b);
        }
    });
    (names, totals, alerting)
}

/// The key and account of every lead of attachment `att` that has an account,
/// as text: sqlgen's `account_members`, read as the leads table's owner
/// (`leads_owner`) in a security-restricted operation, with the statement's
/// snapshot, for the account checks to run over as the extension's owner.
pub(crate) fn account_members(
    att: &lead_score_core::sqlgen::attach::Attachment,
    leads_owner: pg_sys::Oid,
) -> (Vec<String>, Vec<String>) {
    let (mut keys, mut accounts) = (Vec::new(), Vec::new());
    let Some(query) = att.account_members() else {
        return (keys, accounts);
    };
    let query = std::ffi::CString::new(query).unwrap_or_default();
    run_as(leads_owner, || {
        // SAFETY: the statement's snapshot, valid while this statement runs.
        let snapshot = unsafe { pg_sys::GetActiveSnapshot() };
        select_keys(&query, None, (snapshot, Own::Included), 0, |col| {
            if let (Some(k), Some(a)) = (column_text(col, 1), column_text(col, 2)) {
                keys.push(k);
                accounts.push(a);
            }
        });
    });
    (keys, accounts)
}

/// `_owner_states(attachment, keys anyarray, model_id, version, landmark, now)`:
/// one live delta per key of `keys`, in order, from the lead's activities (NULL
/// for a lead with none). An event dated after `now`, or after the clock if
/// later (a row another transaction wrote since this one began), counts as of
/// that time, as in the insert triggers; one with no time does not count, as
/// in the aggregates.
///
/// Volatile, not stable: the planner evaluates stable functions with known
/// arguments while estimating (here, the length of the array `unnest` gets),
/// before the statement's snapshot is taken, and a model version published
/// while the writer waited for its lock would not be found yet.
#[pg_extern(
    name = "_owner_states",
    schema = "lead_score_internal",
    volatile,
    strict,
    parallel_unsafe
)]
fn owner_states(
    attachment: &str,
    keys: pgrx::AnyArray,
    model_id: i64,
    version: i32,
    landmark: TimestampWithTimeZone,
    now: TimestampWithTimeZone,
) -> Vec<Option<Vec<u8>>> {
    let key = LiveKey {
        model_id,
        version,
        landmark: i64::from(landmark),
    };
    let att = crate::attach::load(attachment, false);
    let Some(read) = StateReader::new(att, &keys, key, i64::from(now)) else {
        return Vec::new();
    };
    let appends = read.appends;
    // Inserts update score rows in the writing statement (sync on Citus): the
    // latest snapshot, as PostgreSQL's foreign-key checks read. A REPEATABLE
    // READ writer must count the activities other transactions committed
    // after its snapshot (it waited for them on the lead's stripe), and not
    // those they deleted.
    if !appends {
        return read.states(Snap::Latest);
    }
    // Inserts append: the statement's snapshot, the one the trigger drops the
    // lead's pending events with, so each event is counted from the table or
    // from the pending table, never both. Under REPEATABLE READ that snapshot
    // is the transaction's, and the table may have changed since: an activity
    // of a lead this transaction creates updated or deleted meanwhile would be
    // counted as it was, and one inserted meanwhile may no longer be pending (a
    // rescore in between emptied the pending table). So if the latest snapshot
    // gives any other state, the writer fails as a serialization conflict
    // (retry it), as PostgreSQL fails an update of a row changed since.
    let states = read.states(Snap::Statement);
    // SAFETY: reads the transaction's isolation level; no arguments.
    let snapshot_is_old = unsafe { pg_sys::XactIsoLevel } >= pg_sys::XACT_REPEATABLE_READ as i32;
    if snapshot_is_old && read.states(Snap::Latest) != states {
        raise_code(
            PgSqlErrorCode::ERRCODE_T_R_SERIALIZATION_FAILURE,
            "could not serialize access: activities of these leads changed after this transaction began",
        );
    }
    states
}

/// Reads leads' activities from an attachment's activity table, as its owner,
/// into live states (`_owner_states`, `_read_states`).
struct StateReader<'a> {
    keys: &'a pgrx::AnyArray,
    n: usize,
    compiled: &'static crate::catalog::Compiled,
    key: LiveKey,
    now: i64,
    query: std::ffi::CString,
    /// At most `FEW_KEYS` keys: `query` looks each up by the lead key index.
    few: bool,
    owner: pg_sys::Oid,
    /// Whether the attachment's inserts append (deferred, and sync off Citus).
    appends: bool,
}

/// How many keys `keys` holds, none of them NULL: every caller passes keys of
/// score rows, and NULL elements raise 22004 (they trip a bounds assertion
/// in pgrx's iteration of an `anyarray`), before any element is read.
fn key_count(keys: &pgrx::AnyArray) -> usize {
    // SAFETY: `keys` is a non-NULL array datum (its functions are strict);
    // pg_detoast_datum returns it, or a detoasted copy, as a plain in-memory
    // array, whose header RawArray reads.
    let (n, nulls) = unsafe {
        let ptr = pg_sys::pg_detoast_datum(keys.datum().cast_mut_ptr()).cast::<pg_sys::ArrayType>();
        let raw =
            pgrx::array::RawArray::from_ptr(std::ptr::NonNull::new(ptr).unwrap_or_else(|| {
                raise_code(
                    PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
                    "keys must not be NULL",
                )
            }));
        (raw.len(), raw.any_nulls())
    };
    if nulls {
        raise_code(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            "keys must not contain NULL",
        );
    }
    n
}

impl<'a> StateReader<'a> {
    /// `None` when there are no keys (nothing is read). `att` is the
    /// attachment as its caller loaded it.
    fn new(
        mut att: lead_score_core::sqlgen::attach::Attachment,
        keys: &'a pgrx::AnyArray,
        key: LiveKey,
        now: i64,
    ) -> Option<Self> {
        let n = key_count(keys);
        if n == 0 {
            return None;
        }
        let compiled = by_key(key.model_id, key.version);
        check_supported(&compiled.model).or_raise();
        // In a Citus shard group's trigger, its activity shard (src/citus.rs).
        if let Some((_, (schema, name))) = crate::citus::placement(&att.name) {
            att.activities = lead_score_core::sqlgen::Qualified::new(&schema, &name);
        }
        let few = n <= lead_score_core::sqlgen::attach::FEW_KEYS;
        let query = std::ffi::CString::new(att.owner_read_query(few)).unwrap_or_default();
        Some(StateReader {
            keys,
            n,
            compiled,
            key,
            now,
            query,
            few,
            owner: activities_owner(&att.name),
            appends: att.appends(),
        })
    }

    /// One state per key, in order (NULL for a lead with no activity), read
    /// with the snapshot `at` names.
    fn states(&self, at: Snap) -> Vec<Option<Vec<u8>>> {
        let model = &self.compiled.model;
        let props = model.engagement.properties.len();
        // An event dated after its write counts as of the write. A read from
        // the table cannot know when each row was written, only that every row
        // its snapshot sees was written before now by the clock; a transaction
        // older than the writer's (a commit fold, tick(), a lead created while
        // others write) would count a row written since it began as if dated at
        // its own start, for less than the aggregates give it.
        let now = self.now.max(crate::clock::clock());
        let (n, key) = (self.n, self.key);
        let mut states: Vec<Option<Vec<u8>>> = vec![None; n];
        run_as(self.owner, || {
            // tick() and a large commit's fold turn nested loops off for their
            // own plans; this read looks leads up by key, planned with their
            // number known (a custom plan of its one query), so it may use them.
            // A few keys are each looked up by the lead key index, whatever
            // the statistics say (Attachment::owner_read_query).
            // Saved at run_as's GUC nest level and undone with it.
            crate::owner::save_setting(c"enable_nestloop", c"on");
            if self.few {
                crate::owner::save_setting(c"enable_seqscan", c"off");
            }
            // SAFETY: both calls return a snapshot valid for this statement.
            let snapshot = unsafe {
                match at {
                    Snap::Latest => (pg_sys::GetLatestSnapshot(), Own::Included),
                    Snap::Statement => (pg_sys::GetActiveSnapshot(), Own::Included),
                    Snap::Query => (pg_sys::GetActiveSnapshot(), Own::AsOfSnapshot),
                }
            };
            let mut texts: Vec<Option<String>> = vec![None; props];
            select_keys(&self.query, Some(self.keys), snapshot, 0, |col| {
                // The columns are those of owner_read_query: int8, text (see
                // column_text), timestamptz, then text (as the second).
                let (d, null, _) = col(1);
                // SAFETY: column 1 is an int8 datum of the current row.
                let Some(i) = (unsafe { i64::from_datum(d, null) }) else {
                    return;
                };
                let Some(slot) = states.get_mut((i - 1) as usize) else {
                    return;
                };
                let event_type = column_text(col, 2);
                // No time: skipped, as the aggregates do.
                let (d, null, _) = col(3);
                // SAFETY: column 3 is a timestamptz datum (cast in the query).
                let Some(at) = (unsafe { TimestampWithTimeZone::from_datum(d, null) }) else {
                    return;
                };
                let at = i64::from(at).min(now);
                for (p, text) in texts.iter_mut().enumerate() {
                    *text = column_text(col, 4 + p as i32);
                }
                let mut values = [Value::Null; lead_score_core::MAX_PROPERTIES];
                for (v, t) in values.iter_mut().zip(&texts) {
                    *v = t.as_deref().map_or(Value::Null, Value::Text);
                }
                let state = slot.get_or_insert_with(|| new_live(model, key));
                if let Some(event_type) = event_type.as_deref() {
                    live_add(model, state, event_type, at, &values[..props]).or_raise();
                }
            });
        });
        states
    }
}

/// Whether the current user may read attachment `attachment`'s scores: SELECT
/// on its current view or on its merged view (syscache lookups, no SPI).
fn may_read_scores(attachment: &str) -> bool {
    use lead_score_core::sqlgen::attach::names;
    let internal = crate::layout::internal_schema();
    [
        (c"lead_score", names::current(attachment)),
        (internal, names::merged(attachment)),
        (internal, names::scores(attachment)),
        (c"lead_score", "current_scores".to_string()),
    ]
    .into_iter()
    .any(|(schema, name)| {
        let Ok(name) = std::ffi::CString::new(name) else {
            return false;
        };
        // SAFETY: syscache lookups by NUL-terminated names (missing_ok), and a
        // privilege check of the current user on a relation that exists.
        unsafe {
            let nsp = pg_sys::get_namespace_oid(schema.as_ptr(), true);
            if nsp == pg_sys::InvalidOid {
                return false;
            }
            let rel = pg_sys::get_relname_relid(name.as_ptr(), nsp);
            rel != pg_sys::InvalidOid
                && pg_sys::pg_class_aclcheck(
                    rel,
                    pg_sys::GetUserId(),
                    pg_sys::ACL_SELECT as pg_sys::AclMode,
                ) == pg_sys::AclResult::ACLCHECK_OK
        }
    })
}

/// `_read_states(attachment, keys anyarray)`: one live state per key, in
/// order, from the lead's activities as the statement's snapshot sees them (an
/// empty state for a lead with none), for the attachment's current model and
/// landmark: without the rows the statement itself inserts. (A fold runs as a
/// command of its own, after the statement that called it, whose rows its
/// snapshot therefore shows.)
///
/// What readers and folds use for a lead whose pending rows include a
/// recompute marker (an activity update or delete): its score row is stale
/// until a fold recomputes it, so every reader recomputes it from the table,
/// with its own snapshot, and ignores its pending events (the table holds
/// them). Run as the activity table's owner, as `_owner_states`, after
/// checking that the caller may read the attachment's scores (its current or
/// merged view, its score table, or `lead_score.current_scores`, as the views
/// that call it are read) and that `keys` are of the attachment's key type (so
/// no cast or operator of the caller's choosing runs as the owner). Stable:
/// one snapshot, no writes, no transaction id (it works on a hot standby).
/// Parallel unsafe: it switches user and reads through SPI, so a query over a
/// current view runs serially.
#[pg_extern(
    name = "_read_states",
    schema = "lead_score_internal",
    stable,
    strict,
    parallel_unsafe
)]
fn read_states(attachment: &str, keys: pgrx::AnyArray) -> Vec<Vec<u8>> {
    if key_count(&keys) == 0 {
        return Vec::new();
    }
    if !may_read_scores(attachment) {
        raise_code(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("permission denied for the scores of lead_score attachment \"{attachment}\""),
        );
    }
    let now = crate::clock::now();
    // The attachment and model are read as the extension's owner: a reader
    // needs no rights on lead_score's catalog beyond the view it reads.
    let reader = crate::owner::run_as(crate::owner::extension_owner(), || {
        let att = crate::attach::load(attachment, false);
        // SAFETY: the element type of a valid array type oid (InvalidOid if none).
        let element = unsafe { pg_sys::get_element_type(keys.oid()) };
        if element == pg_sys::InvalidOid || element != type_oid(&att.key_type) {
            raise_code(
                PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
                format!(
                    "_read_states: keys must be an array of attachment \"{attachment}\"'s key type"
                ),
            );
        }
        let query = std::ffi::CString::new(crate::layout::for_catalog(
            "SELECT m.id::pg_catalog.text, m.current_version::pg_catalog.text, \
             (EXTRACT(EPOCH FROM a.landmark - '2000-01-01 00:00:00+00'::pg_catalog.timestamptz) * 1000000)::pg_catalog.int8::pg_catalog.text \
             FROM lead_score.attachments a JOIN lead_score.models m ON m.name = a.model WHERE a.name = $1",
        ).as_ref())
        .unwrap_or_default();
        let name = std::ffi::CString::new(attachment).unwrap_or_default();
        // SAFETY: the one argument is a text datum, as $1 is.
        let row = unsafe {
            let text = pg_sys::cstring_to_text(name.as_ptr());
            crate::catalog::query_row(&query, &[(pg_sys::TEXTOID, pg_sys::Datum::from(text))])
        };
        let field =
            |i: usize| -> Option<i64> { row.as_ref()?.get(i)?.as_deref()?.parse::<i64>().ok() };
        let (Some(model_id), Some(version), Some(landmark)) = (field(0), field(1), field(2)) else {
            raise_code(
                PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
                format!("lead_score attachment \"{attachment}\" does not exist"),
            );
        };
        let key = LiveKey {
            model_id,
            version: version as i32,
            landmark,
        };
        StateReader::new(att, &keys, key, now).map(|r| (r, key))
    });
    let Some((read, key)) = reader else {
        return Vec::new();
    };
    let model = &read.compiled.model;
    // As the reader's statement sees the table: a lead's activity that a
    // writable CTE of that statement inserts is not counted, as the
    // statement's other queries (the aggregates, a sync attachment's score
    // rows) do not see it; its insert trigger counts it once the statement ends.
    read.states(Snap::Query)
        .into_iter()
        .map(|s| s.unwrap_or_else(|| new_live(model, key)))
        .collect()
}

/// The oid of a type named `q` (schema-qualified), by syscache.
fn type_oid(q: &lead_score_core::sqlgen::Qualified) -> pg_sys::Oid {
    let (Ok(schema), Ok(name)) = (
        std::ffi::CString::new(q.schema.as_str()),
        std::ffi::CString::new(q.name.as_str()),
    ) else {
        return pg_sys::InvalidOid;
    };
    // SAFETY: syscache lookups by NUL-terminated names (missing_ok for the schema).
    unsafe {
        let nsp = pg_sys::get_namespace_oid(schema.as_ptr(), true);
        if nsp == pg_sys::InvalidOid {
            return pg_sys::InvalidOid;
        }
        pg_sys::GetSysCacheOid(
            pg_sys::SysCacheIdentifier::TYPENAMENSP as i32,
            pg_sys::Anum_pg_type_oid as pg_sys::AttrNumber,
            pg_sys::Datum::from(name.as_ptr()),
            pg_sys::Datum::from(nsp),
            pg_sys::Datum::from(0),
            pg_sys::Datum::from(0),
        )
    }
}

thread_local! {
    /// `_lock_activities`' lookups of an attachment's activity table, kept
    /// (`SPI_keepplan`) by the query text each was planned from: at most one
    /// per catalog layout. Never freed, as plpgsql keeps its plans: freeing one
    /// as the backend exits could run while PostgreSQL is shutting it down.
    static LOCK_PLANS: std::cell::RefCell<std::collections::HashMap<String, &'static pgrx::spi::OwnedPreparedStatement>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// `_lock_activities(attachment)`: takes an attachment's activity table in
/// ACCESS SHARE mode, as any reader of it would, before a lead trigger locks
/// any of lead_score's tables (one lock order: the user's tables first).
#[pg_extern(
    name = "_lock_activities",
    schema = "lead_score_internal",
    volatile,
    strict,
    parallel_unsafe
)]
fn lock_activities(attachment: &str) -> bool {
    // The name distribute() stored on Citus, where the regclass is the coordinator's OID.
    let query = format!(
        "SELECT coalesce(pg_catalog.to_regclass(a.mapping ->> 'citus_activities'), a.activities)::oid \
         FROM {} a WHERE a.name = $1",
        crate::citus::config_table("attachments")
    );
    // Every sync write and every reader calls this: the lookup is planned once
    // per backend (per query text: the table differs on Citus and before the
    // update from 0.1.0), as plpgsql keeps its plans; PostgreSQL replans it
    // after DDL on the table.
    // Read-only (pgrx's select): a reader takes no transaction id, so it runs
    // on a hot standby; a writer, which has one, reads with a fresh snapshot.
    let kept = LOCK_PLANS.with(|plans| plans.borrow().get(&query).copied());
    let oid = Spi::connect(|client| {
        let plan = match kept {
            Some(plan) => plan,
            None => {
                let plan: &'static pgrx::spi::OwnedPreparedStatement = Box::leak(Box::new(
                    client
                        .prepare(query.as_str(), &[pg_sys::PgOid::from(pg_sys::TEXTOID)])?
                        .keep(),
                ));
                LOCK_PLANS.with(|plans| plans.borrow_mut().insert(query.clone(), plan));
                plan
            }
        };
        client
            .select(plan, Some(1), &[attachment.into()])?
            .first()
            .get_one::<pg_sys::Oid>()
    });
    let Ok(Some(oid)) = oid else {
        // A lead trigger of an attachment made after a REPEATABLE READ
        // transaction's snapshot: a serialization failure, not a missing one.
        // (Readers call this too: for them, as for the trigger, the snapshot
        // is what decides.)
        crate::errors::attached_after_snapshot(attachment);
        raise_code(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("lead_score attachment \"{attachment}\" does not exist"),
        );
    };
    // SAFETY: locks a relation by OID in a standard mode; released at the end
    // of the transaction like any table lock.
    unsafe { pg_sys::LockRelationOid(oid, pg_sys::AccessShareLock as pg_sys::LOCKMODE) };
    // Not in a Citus shard group's trigger, whose score table is a shard.
    if crate::citus::placement(attachment).is_none() {
        scores_table_current(attachment);
    }
    true
}

/// After `_lock_activities` took the lock: stops a caller whose active
/// snapshot predates a detach, or a detach and an attach under the same name,
/// that committed while it waited (a reader's statement under READ COMMITTED;
/// any statement under REPEATABLE READ). The lock has read their
/// invalidations, so the catalog now has no score table, or one the snapshot
/// does not see; the caller would fail at a relation its snapshot names, or
/// read a new table whose rows it cannot see (no lead at all). Instead:
/// - no score table: the attachment does not exist (42704) under READ
///   COMMITTED, a serialization failure (40001) under REPEATABLE READ;
/// - a score table the snapshot does not show: 40001 at every level.
///
/// The usual case costs three syscache lookups. Only a catalog row newer than
/// the snapshot (a new table, or one a later `GRANT` updated) is checked by a
/// query, read-only: readers take no transaction id, and may run on a hot
/// standby.
fn scores_table_current(attachment: &str) {
    // SAFETY: reads the transaction's isolation level.
    let repeatable = unsafe { pg_sys::XactIsoLevel } >= pg_sys::XACT_REPEATABLE_READ as i32;
    let schema = crate::layout::internal_schema();
    // Attachment names are text, with no NUL: this always holds.
    let Ok(name) =
        std::ffi::CString::new(lead_score_core::sqlgen::attach::names::scores(attachment))
    else {
        return;
    };
    match scores_table_seen(schema, &name) {
        Some(true) => return,
        // Newer than the snapshot: a new table, or one a later GRANT updated.
        Some(false) if snapshot_shows_table(schema, &name) => return,
        Some(false) => {}
        None if !repeatable => raise_code(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("lead_score attachment \"{attachment}\" does not exist"),
        ),
        None => {}
    }
    raise_code(
        PgSqlErrorCode::ERRCODE_T_R_SERIALIZATION_FAILURE,
        if repeatable {
            format!("could not serialize access: lead_score attachment \"{attachment}\" was detached, or detached and attached again, after this transaction began")
        } else {
            format!("could not serialize access: lead_score attachment \"{attachment}\" was detached and attached again after this statement began")
        },
    );
}

/// Whether the active snapshot sees the catalog row of the score table
/// `schema.name` as the catalog now has it (by syscache: no SPI), or `None`
/// without one. `Some(false)` for a table made after the snapshot, and also
/// for one whose row a later transaction updated (a GRANT, say), which
/// [`snapshot_shows_table`] tells apart.
fn scores_table_seen(schema: &std::ffi::CStr, name: &std::ffi::CStr) -> Option<bool> {
    // SAFETY: syscache lookups by NUL-terminated names (missing_ok for the
    // schema) and by OID; the tuple's header is read before ReleaseSysCache,
    // and the snapshot is the active one, set while a query calls this.
    unsafe {
        let nsp = pg_sys::get_namespace_oid(schema.as_ptr(), true);
        if nsp == pg_sys::InvalidOid {
            return None;
        }
        let oid = pg_sys::get_relname_relid(name.as_ptr(), nsp);
        if oid == pg_sys::InvalidOid {
            return None;
        }
        let tuple = pg_sys::SearchSysCache1(
            pg_sys::SysCacheIdentifier::RELOID as i32,
            pg_sys::Datum::from(oid),
        );
        if tuple.is_null() {
            return None;
        }
        let header = (*tuple).t_data;
        let frozen =
            u32::from((*header).t_infomask) & pg_sys::HEAP_XMIN_FROZEN == pg_sys::HEAP_XMIN_FROZEN;
        let xmin = (*header).t_choice.t_heap.t_xmin;
        pg_sys::ReleaseSysCache(tuple);
        if frozen || !pg_sys::ActiveSnapshotSet() {
            return Some(true);
        }
        Some(
            pg_sys::TransactionIdIsCurrentTransactionId(xmin)
                || !pg_sys::XidInMVCCSnapshot(xmin, pg_sys::GetActiveSnapshot()),
        )
    }
}

/// Whether the active snapshot's `pg_class` has the table that `schema.name`
/// resolves to now, by OID (a table the update from 0.1.0 moved to another
/// schema keeps it): false for a table made after the snapshot. A read-only
/// query: no transaction id.
fn snapshot_shows_table(schema: &std::ffi::CStr, name: &std::ffi::CStr) -> bool {
    // SAFETY: both arguments are text datums, as $1 and $2 are; they live
    // until the call returns.
    let row = unsafe {
        let (schema, name) = (
            pg_sys::cstring_to_text(schema.as_ptr()),
            pg_sys::cstring_to_text(name.as_ptr()),
        );
        crate::catalog::query_row(
            c"SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c \
                             WHERE c.oid = pg_catalog.to_regclass(pg_catalog.quote_ident($1) || '.' || pg_catalog.quote_ident($2))::pg_catalog.oid)",
            &[
                (pg_sys::TEXTOID, pg_sys::Datum::from(schema)),
                (pg_sys::TEXTOID, pg_sys::Datum::from(name)),
            ],
        )
    };
    row.and_then(|r| r.into_iter().next().flatten()).as_deref() != Some("f")
}

/// `_leads_present(attachment, keys anyarray)`: for each key, whether a row of
/// the attachment's lead table has it now, this statement's own writes
/// included (sqlgen's `leads_present_query`, read as the table's owner in a
/// security-restricted operation). A lead trigger deletes the score rows of
/// the keys its statement removed but for these: a row of the same statement
/// took the key again (sqlgen's `keys_gone`). On Citus, where a shard group's
/// triggers read shards, and for a lead table whose row-level security is
/// forced on its owner (the read would fail), none is taken to be present, as
/// before 0.2.0.
#[pg_extern(
    name = "_leads_present",
    schema = "lead_score_internal",
    volatile,
    strict,
    parallel_unsafe
)]
fn leads_present(attachment: &str, keys: pgrx::AnyArray) -> Vec<bool> {
    let n = key_count(&keys);
    let mut present = vec![false; n];
    if n == 0 || crate::citus::placement(attachment).is_some() {
        return present;
    }
    let Some(owner) = leads_owner_unforced(attachment) else {
        return present;
    };
    let att = crate::attach::load(attachment, false);
    let query = std::ffi::CString::new(att.leads_present_query()).unwrap_or_default();
    run_as(owner, || {
        // SAFETY: the statement's snapshot, valid while this statement runs.
        let snapshot = unsafe { pg_sys::GetActiveSnapshot() };
        select_keys(&query, Some(&keys), (snapshot, Own::Included), 0, |col| {
            let (d, null, _) = col(1);
            // SAFETY: column 1 is the key's position, an int8 datum.
            if let Some(i) = unsafe { i64::from_datum(d, null) } {
                if let Some(p) = present.get_mut((i - 1) as usize) {
                    *p = true;
                }
            }
        });
    });
    present
}

/// `_scores_exist(attachment, keys anyarray)`: whether any of these keys has a
/// score row in the latest snapshot (committed or this transaction's), which
/// a REPEATABLE READ transaction's own snapshot may not show.
#[pg_extern(
    name = "_scores_exist",
    schema = "lead_score_internal",
    volatile,
    strict,
    parallel_unsafe
)]
fn scores_exist(attachment: &str, keys: pgrx::AnyArray) -> bool {
    // In a Citus shard group's trigger, its score shard (src/citus.rs).
    let scores = match crate::citus::placement(attachment) {
        Some(((schema, name), _)) => {
            lead_score_core::sqlgen::Qualified::new(&schema, &name).to_sql()
        }
        None => crate::layout::for_catalog(&lead_score_core::sqlgen::internal(
            &lead_score_core::sqlgen::attach::names::scores(attachment),
        ))
        .into_owned(),
    };
    let query = std::ffi::CString::new(format!(
        "SELECT 1 FROM {scores} s WHERE s.lead_key = ANY ($1) LIMIT 1"
    ))
    .unwrap_or_default();
    let mut found = false;
    // SAFETY: returns the latest snapshot, valid for this statement.
    let snapshot = unsafe { pg_sys::GetLatestSnapshot() };
    select_keys(&query, Some(&keys), (snapshot, Own::Included), 1, |_| {
        found = true
    });
    found
}

/// `_pending_since_snapshot(attachment, keys anyarray)`: under `REPEATABLE
/// READ` or `SERIALIZABLE`, whether one of these leads (those with a score row)
/// has a pending row, event or recompute marker, that the latest snapshot sees
/// and the transaction's does not: a write of its activities, committed after
/// the transaction began, that its score row does not count yet (sqlgen's
/// `Query::PendingOf`, one read of the pending table with the latest snapshot,
/// each row's inserting transaction checked against the transaction's
/// snapshot). Always false under `READ COMMITTED`. A fold of such a
/// lead would judge its alerts against a score that misses that write, so it
/// fails as a serialization conflict instead (sqlgen's `fold_statement`).
#[pg_extern(
    name = "_pending_since_snapshot",
    schema = "lead_score_internal",
    volatile,
    strict,
    parallel_unsafe
)]
fn pending_since_snapshot(attachment: &str, keys: pgrx::AnyArray) -> bool {
    // SAFETY: reads the transaction's isolation level; no arguments.
    if unsafe { pg_sys::XactIsoLevel } < pg_sys::XACT_REPEATABLE_READ as i32 {
        return false;
    }
    let att = crate::attach::load(attachment, false);
    let query = std::ffi::CString::new(
        crate::layout::for_catalog(&att.query(lead_score_core::sqlgen::attach::Query::PendingOf))
            .as_ref(),
    )
    .unwrap_or_default();
    // SAFETY: the statement's snapshot (under REPEATABLE READ, a copy of the
    // transaction's), valid while this statement runs; the read below pushes
    // its own.
    let ours = unsafe { pg_sys::GetActiveSnapshot() };
    let mut newer = false;
    // One read with the latest snapshot: a row it sees is one ours does not when
    // the transaction that wrote it was still running (or not yet begun) for
    // ours, and is not this one (a subtransaction of it included).
    // SAFETY: returns the latest snapshot, valid for this statement.
    let latest = unsafe { pg_sys::GetLatestSnapshot() };
    select_keys(&query, Some(&keys), (latest, Own::Included), 0, |col| {
        let (d, null, _) = col(1);
        if null || newer {
            return;
        }
        let xmin = pg_sys::TransactionId::from_inner(d.value() as u32);
        // SAFETY: both read shared transaction state for an xid of a row just
        // read; `ours` is the live snapshot above.
        newer = unsafe {
            !pg_sys::TransactionIdIsCurrentTransactionId(xmin)
                && pg_sys::XidInMVCCSnapshot(xmin, ours)
        };
    });
    newer
}

/// `_catalog_since_snapshot(attachment, landmark, version)`: under `REPEATABLE
/// READ` or `SERIALIZABLE`, whether the attachment's landmark or its model's
/// current version, as the latest snapshot sees them, differ from these (read
/// with the transaction's snapshot): a rebase or a publish committed after the
/// transaction began. A trigger or fold would then score with the older model
/// version or landmark, and store states no other writer can merge, so it fails
/// as a serialization conflict instead (sqlgen's preamble; the writer holds the
/// score table's lock, which a publish or rebase takes in `EXCLUSIVE` mode, so
/// none can commit in between). Always false under `READ COMMITTED`, whose
/// statement snapshot is taken once that lock is held.
#[pg_extern(
    name = "_catalog_since_snapshot",
    schema = "lead_score_internal",
    volatile,
    parallel_unsafe
)]
fn catalog_since_snapshot(
    attachment: Option<&str>,
    landmark: Option<pgrx::datum::TimestampWithTimeZone>,
    version: Option<i32>,
) -> bool {
    let attachment = crate::errors::not_null(attachment, "attachment");
    // SAFETY: reads the transaction's isolation level; no arguments.
    if unsafe { pg_sys::XactIsoLevel } < pg_sys::XACT_REPEATABLE_READ as i32 {
        return false;
    }
    let query = c"SELECT a.landmark IS NOT DISTINCT FROM $2 AND m.current_version IS NOT DISTINCT FROM $3 \
        FROM lead_score.attachments a JOIN lead_score.models m ON m.name = a.model WHERE a.name = $1";
    let same = first_bool_in_latest(
        query,
        &[
            (pg_sys::TEXTOID, attachment.into_datum()),
            (pg_sys::TIMESTAMPTZOID, landmark.into_datum()),
            (pg_sys::INT4OID, version.into_datum()),
        ],
    );
    same != Some(true)
}

/// Whether the latest snapshot shows this attachment (one the transaction's
/// snapshot may not: `errors::attached_after_snapshot`).
pub(crate) fn attachment_in_latest(attachment: &str) -> bool {
    first_bool_in_latest(
        c"SELECT true FROM lead_score.attachments a WHERE a.name = $1",
        &[(pg_sys::TEXTOID, attachment.into_datum())],
    )
    .is_some()
}

/// The first column of the first row `query` returns, a boolean, read with
/// the latest snapshot (rows committed after the transaction's snapshot
/// included): `None` for no row. `args` are the query's parameters, each with
/// its type (`None`: SQL NULL).
fn first_bool_in_latest(
    query: &std::ffi::CStr,
    args: &[(pg_sys::Oid, Option<pg_sys::Datum>)],
) -> Option<bool> {
    let mut types: Vec<pg_sys::Oid> = args.iter().map(|a| a.0).collect();
    let mut values: Vec<pg_sys::Datum> = args
        .iter()
        .map(|a| a.1.unwrap_or(pg_sys::Datum::from(0)))
        .collect();
    let nulls: Vec<std::ffi::c_char> = args
        .iter()
        .map(|a| if a.1.is_none() { b'n' } else { b' ' } as std::ffi::c_char)
        .collect();
    let mut out = None;
    // SAFETY: SPI is connected and finished here, around one prepared query
    // whose parameters are `args`, each a datum of its declared type (or
    // null); the row is read while the tuple table is alive. An ERROR in
    // between is cleaned up by the (sub)transaction's abort.
    unsafe {
        if pg_sys::SPI_connect() != pg_sys::SPI_OK_CONNECT as i32 {
            raise_code(
                PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                "lead_score: SPI_connect failed",
            );
        }
        let plan = pg_sys::SPI_prepare(query.as_ptr(), types.len() as i32, types.as_mut_ptr());
        if plan.is_null() {
            raise_code(
                PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                "lead_score: could not prepare a read of the attachments",
            );
        }
        let rc = pg_sys::SPI_execute_snapshot(
            plan,
            values.as_mut_ptr(),
            nulls.as_ptr(),
            pg_sys::GetLatestSnapshot(),
            std::ptr::null_mut(),
            true,
            false,
            1,
        );
        if rc != pg_sys::SPI_OK_SELECT as i32 {
            raise_code(
                PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                format!("lead_score: a read of the attachments failed ({rc})"),
            );
        }
        if pg_sys::SPI_processed > 0 {
            let table = pg_sys::SPI_tuptable;
            let mut isnull = false;
            let d = pg_sys::SPI_getbinval(*(*table).vals, (*table).tupdesc, 1, &mut isnull);
            out = Some(!isnull && d.value() != 0);
        }
        pg_sys::SPI_finish();
    }
    out
}
