//! The fold a `sync` writer's commit runs.
//!
//! A `sync` activity insert appends its events to the attachment's pending
//! table, as a `deferred` one does, and registers them here; just before the
//! transaction commits (or prepares), its events are folded into the score
//! rows and their alerts sent, by the attachment's generated
//! `<name>__commit_fold(tids)`. Readers merge pending events until then, so
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
//! pre-commit or pre-prepare and forget it on abort. Rows appended in a
//! subtransaction that rolled back are dead, so folding their ctids finds
//! nothing; a ctid the heap reused since holds another pending row, whose fold
//! is as right as any.

use crate::errors::raise_code;
use pgrx::prelude::*;
use pgrx::{register_xact_callback, PgSqlErrorCode, PgXactCallbackEvent};
use std::cell::RefCell;

/// Past this many rows in one transaction, its commit folds every pending
/// event of the attachment (one scan of the pending table) rather than look up
/// each of its own rows by ctid.
pub const MAX_TRACKED_ROWS: usize = 10_000;

/// Whether `attachment` was made by this version (it has a commit fold):
/// between installing this library and ALTER EXTENSION UPDATE, a `sync`
/// attachment 0.1.0 made still updates score rows in its insert statements.
pub fn installed(attachment: &str) -> bool {
    let name = lead_score_core::sqlgen::attach::names::commit_fold(attachment);
    let signature = crate::layout::for_catalog(&format!(
        "{}(pg_catalog.tid[])",
        lead_score_core::sqlgen::internal(&name)
    ))
    .into_owned();
    matches!(
        Spi::get_one_with_args::<bool>(
            "SELECT pg_catalog.to_regprocedure($1) IS NOT NULL",
            &[signature.into()],
        ),
        Ok(Some(true))
    )
}

/// One attachment's events appended in this transaction: their ctids, or
/// `None` for "too many, fold them all".
struct Appended {
    attachment: String,
    tids: Option<Vec<pg_sys::ItemPointerData>>,
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
    let first = APPENDED.with(|a| {
        let (list, registered) = &mut *a.borrow_mut();
        match list.iter_mut().find(|x| x.attachment == attachment) {
            Some(x) => {
                if let Some(t) = &mut x.tids {
                    if t.len() + tids.len() > MAX_TRACKED_ROWS {
                        x.tids = None;
                    } else {
                        t.extend_from_slice(tids);
                    }
                }
            }
            None => list.push(Appended {
                attachment: attachment.to_owned(),
                tids: (tids.len() <= MAX_TRACKED_ROWS).then(|| tids.to_vec()),
            }),
        }
        !std::mem::replace(registered, true)
    });
    if first {
        register_xact_callback(PgXactCallbackEvent::PreCommit, fold_all);
        register_xact_callback(PgXactCallbackEvent::PrePrepare, fold_all);
        register_xact_callback(PgXactCallbackEvent::Abort, forget);
    }
}

fn forget() {
    APPENDED.with(|a| *a.borrow_mut() = (Vec::new(), false));
}

/// Folds every attachment's appended events, in attachment name order (one
/// order for every committing writer).
fn fold_all() {
    let mut list = APPENDED.with(|a| std::mem::take(&mut *a.borrow_mut()).0);
    forget();
    if list.is_empty() {
        return;
    }
    list.sort_by(|a, b| a.attachment.cmp(&b.attachment));
    // At pre-commit the last statement's snapshot is gone; SPI needs one to
    // run in (each of its queries then takes its own, as a statement does).
    // SAFETY: pushes the transaction's snapshot (a fresh one under READ
    // COMMITTED) and pops it below; an ERROR in between aborts the
    // transaction, whose cleanup pops it.
    unsafe { pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot()) };
    for a in list {
        fold(&a);
    }
    // SAFETY: pops the snapshot pushed above.
    unsafe { pg_sys::PopActiveSnapshot() };
}

fn fold(a: &Appended) {
    let name = lead_score_core::sqlgen::attach::names::commit_fold(&a.attachment);
    let function = lead_score_core::sqlgen::internal(&name);
    // Before ALTER EXTENSION UPDATE moves them, in lead_score (src/layout.rs).
    let sql = crate::layout::for_catalog(&format!("SELECT {function}($1)")).into_owned();
    let signature =
        crate::layout::for_catalog(&format!("{function}(pg_catalog.tid[])")).into_owned();
    let tids = a.tids.clone();
    // As the extension's owner, who owns the function (SECURITY DEFINER, with
    // EXECUTE revoked from PUBLIC so no one else calls it) and its schema.
    crate::owner::run_as(crate::owner::extension_owner(), || {
        // Detached in this transaction after the insert: nothing to fold into.
        let exists = Spi::get_one_with_args::<bool>(
            "SELECT pg_catalog.to_regprocedure($1) IS NOT NULL",
            &[signature.into()],
        );
        if !matches!(exists, Ok(Some(true))) {
            return;
        }
        if let Err(e) = Spi::get_one_with_args::<i64>(&sql, &[tids.into()]) {
            raise_code(
                PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                format!("lead_score: folding attachment \"{}\" at commit: {e}", a.attachment),
            );
        }
    });
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
