//! The fold a `sync` writer's commit runs.
//!
//! A `sync` activity insert appends its events to the attachment's pending
//! table, as a `deferred` one does, and registers them here; just before the
//! transaction commits (or prepares), its events are folded into the score
//! rows and their alerts sent, by the attachment's generated
//! `<name>__commit_fold(tids)` (an empty array: every pending event). Readers merge pending events until then, so
//! scores stay exact inside the writing transaction.
//!
//! Folding at commit rather than in the statement is what keeps a `sync`
//! insert from holding its leads' score rows from its statement to its commit:
//! a transaction that inserts an event and then waits for a row lock another
//! writer of that lead holds (an activity that writer is deleting, say) would
//! otherwise deadlock with it. The commit fold skips score rows another
//! transaction holds instead of waiting, so it can neither wait for nor
//! deadlock with anyone; their events stay pending for `tick()` or the lead's
//! next write.
//!
//! The registry lives for one transaction: PostgreSQL's transaction callbacks
//! (through pgrx, registered by the first insert of a transaction) fold at
//! pre-commit and forget it at commit, prepare (a prepared transaction's events
//! are left to `tick()`: it may not send NOTIFY) and abort. Each batch of rows
//! is kept with the (sub)transaction that appended it: rows appended in a
//! subtransaction that rolled back (`ROLLBACK TO`, a plpgsql `EXCEPTION`
//! block) are dead, and so are its locks, so they are left out, and a commit
//! whose every appended row is dead folds nothing: it takes no lock its
//! transaction no longer holds (which could wait for, or deadlock with,
//! another writer).

use pgrx::prelude::*;
use pgrx::{register_xact_callback, IntoDatum, PgXactCallbackEvent};
use std::cell::RefCell;

/// Past this many rows in one transaction, its commit folds every pending
/// event of the attachment (one scan of the pending table) rather than look up
/// each of its own rows by ctid.
pub const MAX_TRACKED_ROWS: usize = 10_000;

/// The OID of `attachment`'s commit fold, `<name>__commit_fold(tid[])` in the
/// internal schema (in `lead_score` before ALTER EXTENSION UPDATE, src/layout.rs),
/// if it exists. Syscache lookups, with no privilege check on the schema (the
/// writer need not have USAGE on it), no SPI and no parsing.
fn commit_fold_oid(attachment: &str) -> Option<pg_sys::Oid> {
    let name = lead_score_core::sqlgen::attach::names::commit_fold(attachment);
    let name = std::ffi::CString::new(name).ok()?;
    let argtypes = [pg_sys::TIDARRAYOID];
    // SAFETY: syscache lookups by a NUL-terminated schema name (missing_ok)
    // and by (name, argument types, schema), the key PostgreSQL's own
    // ProcedureCreate uses; the oidvector is palloc'd in the current context.
    let oid = unsafe {
        let schema = pg_sys::get_namespace_oid(crate::layout::internal_schema().as_ptr(), true);
        if schema == pg_sys::InvalidOid {
            return None;
        }
        pg_sys::GetSysCacheOid(
            pg_sys::SysCacheIdentifier::PROCNAMEARGSNSP as i32,
            pg_sys::Anum_pg_proc_oid as pg_sys::AttrNumber,
            pg_sys::Datum::from(name.as_ptr()),
            pg_sys::Datum::from(pg_sys::buildoidvector(argtypes.as_ptr(), 1)),
            pg_sys::Datum::from(schema),
            pg_sys::Datum::from(0),
        )
    };
    (oid != pg_sys::InvalidOid).then_some(oid)
}

/// One attachment's events appended in this transaction: their ctids, each
/// with the (sub)transaction that appended it, while there are at most
/// [`MAX_TRACKED_ROWS`]; past that, only which (sub)transactions appended
/// more (`overflow`), whose commit folds every pending event.
struct Appended {
    attachment: String,
    tids: Vec<(pg_sys::TransactionId, pg_sys::ItemPointerData)>,
    overflow: Vec<pg_sys::TransactionId>,
}

/// What an attachment's commit folds: nothing (every row it appended was
/// rolled back with its subtransaction), these rows, or every pending event.
enum Live {
    None,
    Rows(Vec<pg_sys::ItemPointerData>),
    All,
}

impl Appended {
    /// The rows whose (sub)transaction is still part of this transaction,
    /// that is not rolled back (a released savepoint's is).
    fn live(&self) -> Live {
        let current = |xid: pg_sys::TransactionId| {
            // SAFETY: a lookup in this backend's transaction state, which a
            // pre-commit or pre-prepare callback still has.
            xid == pg_sys::InvalidTransactionId
                || unsafe { pg_sys::TransactionIdIsCurrentTransactionId(xid) }
        };
        if self.overflow.iter().any(|&x| current(x)) {
            return Live::All;
        }
        let rows: Vec<_> = self
            .tids
            .iter()
            .filter(|(x, _)| current(*x))
            .map(|(_, t)| *t)
            .collect();
        if rows.is_empty() {
            Live::None
        } else {
            Live::Rows(rows)
        }
    }
}

thread_local! {
    /// This transaction's appends, and whether its callbacks are registered.
    static APPENDED: RefCell<(Vec<Appended>, bool)> = const { RefCell::new((Vec::new(), false)) };
}

/// Records events `attachment`'s insert trigger appended, for this
/// transaction's commit to fold.
pub fn register(attachment: &str, tids: &[pg_sys::ItemPointerData]) {
    if tids.is_empty() {
        return;
    }
    // SAFETY: reads this backend's transaction state; the rows were just
    // inserted, so the current (sub)transaction has an xid.
    let xid = unsafe { pg_sys::GetCurrentTransactionIdIfAny() };
    let first = APPENDED.with(|a| {
        let (list, registered) = &mut *a.borrow_mut();
        let i = match list.iter().position(|x| x.attachment == attachment) {
            Some(i) => i,
            None => {
                list.push(Appended {
                    attachment: attachment.to_owned(),
                    tids: Vec::new(),
                    overflow: Vec::new(),
                });
                list.len() - 1
            }
        };
        let x = &mut list[i];
        if x.tids.len() + tids.len() > MAX_TRACKED_ROWS {
            if !x.overflow.contains(&xid) {
                x.overflow.push(xid);
            }
        } else {
            x.tids.extend(tids.iter().map(|&t| (xid, t)));
        }
        !std::mem::replace(registered, true)
    });
    if first {
        register_xact_callback(PgXactCallbackEvent::PreCommit, fold_all);
        // A prepared transaction cannot send NOTIFY, which alerts do: its
        // events stay pending, exact for every reader, for tick() to fold once
        // COMMIT PREPARED has made them visible; their leads are recorded.
        register_xact_callback(PgXactCallbackEvent::PrePrepare, record_prepared);
        register_xact_callback(PgXactCallbackEvent::Commit, forget);
        register_xact_callback(PgXactCallbackEvent::Abort, forget);
    }
}

/// At `PREPARE TRANSACTION`: nothing is folded (see above), but the leads of
/// the rows appended (markers and events) are recorded, so that an insert's
/// commit folding onto one of them after `COMMIT PREPARED` recomputes it
/// rather than judge its alerts against a score that does not count them
/// (`crate::attach::record_stale`).
fn record_prepared() {
    take_appended(|a, live| match live {
        Live::None => {}
        Live::Rows(rows) => crate::attach::record_stale(&a.attachment, Some(&rows)),
        Live::All => crate::attach::record_stale(&a.attachment, None),
    });
}

fn forget() {
    APPENDED.with(|a| *a.borrow_mut() = (Vec::new(), false));
}

/// Folds every attachment's appended events.
fn fold_all() {
    take_appended(fold);
}

/// Takes this transaction's appends and runs `each` on each attachment's, in
/// the order their insert triggers fire (`lead_score_<name>_ins` bytewise: one
/// order for every committing writer, and the one publishing rescores in,
/// sql/scoring.sql), with a
/// snapshot for SPI: at pre-commit or pre-prepare the last statement's is gone
/// (each SPI query then takes its own, as a statement does).
/// Attachments none of whose rows is still live are left out: no snapshot,
/// no lock.
fn take_appended(each: impl Fn(Appended, Live)) {
    let list = APPENDED.with(|a| std::mem::take(&mut *a.borrow_mut()).0);
    forget();
    let mut list: Vec<(Appended, Live)> = list
        .into_iter()
        .map(|a| {
            let live = a.live();
            (a, live)
        })
        .filter(|(_, live)| !matches!(live, Live::None))
        .collect();
    if list.is_empty() {
        return;
    }
    list.sort_by_cached_key(|(a, _)| format!("{}_ins", a.attachment));
    // SAFETY: pushes the transaction's snapshot (a fresh one under READ
    // COMMITTED) and pops it below; an ERROR in between aborts the
    // transaction, whose cleanup pops it.
    unsafe { pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot()) };
    for (a, live) in list {
        each(a, live);
    }
    // SAFETY: pops the snapshot pushed above.
    unsafe { pg_sys::PopActiveSnapshot() };
}

fn fold(a: Appended, live: Live) {
    // Detached in this transaction after the insert: nothing to fold into.
    let Some(function) = commit_fold_oid(&a.attachment) else {
        return;
    };
    // An empty array asks for every pending event of the attachment.
    let tids = match live {
        Live::None => return,
        Live::Rows(rows) => rows,
        Live::All => Vec::new(),
    };
    let Some(arg) = tids.into_datum() else {
        return;
    };
    // Called through the function manager, not SPI: it is SECURITY DEFINER
    // (owned by the extension's owner, EXECUTE revoked from PUBLIC), so it runs
    // with its owner's rights and settings whoever commits.
    // SAFETY: `function` takes one tid[] argument, `arg`, and returns a
    // non-null bigint; an ERROR it raises aborts the committing transaction.
    unsafe { pg_sys::OidFunctionCall1Coll(function, pg_sys::InvalidOid, arg) };
}

/// `_fold_at_commit(attachment, tids)`: the plpgsql insert trigger of a `sync`
/// attachment registers the pending rows it appended (their ctids).
#[pg_extern(
    name = "_fold_at_commit",
    schema = "lead_score_internal",
    volatile,
    strict,
    parallel_unsafe
)]
fn fold_at_commit(attachment: &str, tids: Vec<Option<pg_sys::ItemPointerData>>) -> bool {
    let tids: Vec<pg_sys::ItemPointerData> = tids.into_iter().flatten().collect();
    register(attachment, &tids);
    true
}
