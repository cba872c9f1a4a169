//! Which attachments recomputed leads from their tables in this transaction.
//!
//! An INSERT into an activity table adds its rows to the score as a delta. A
//! recompute (an activity UPDATE or DELETE, a new lead, `rescore`) reads the
//! table instead, and sees every row already written, including rows that one
//! statement inserted and whose INSERT trigger has not fired yet: `INSERT … ON
//! CONFLICT DO UPDATE` and `MERGE` fire the UPDATE trigger first, and in a
//! statement with writable CTEs the triggers fire in plan order. A delta after
//! such a recompute would count those rows twice. So once an attachment has
//! recomputed in a transaction, its INSERT triggers recompute too (a recompute
//! is absolute, so it is right whatever ran before it). The mark is cleared
//! when the transaction ends; a subtransaction's rollback leaves it set, which
//! only costs recomputes.

use pgrx::prelude::*;
use pgrx::{register_xact_callback, PgXactCallbackEvent};
use std::cell::RefCell;
use std::collections::HashSet;

thread_local! {
    static RECOMPUTED: RefCell<HashSet<String>> = RefCell::new(HashSet::new());
}

fn clear() {
    RECOMPUTED.with(|s| s.borrow_mut().clear());
}

/// Marks `attachment` as recomputed in this transaction.
pub fn mark(attachment: &str) {
    let first = RECOMPUTED.with(|s| {
        let mut s = s.borrow_mut();
        let first = s.is_empty();
        s.insert(attachment.to_owned());
        first
    });
    if first {
        for event in [
            PgXactCallbackEvent::Commit,
            PgXactCallbackEvent::Abort,
            PgXactCallbackEvent::Prepare,
        ] {
            register_xact_callback(event, clear);
        }
    }
}

/// Whether any attachment recomputed in this transaction.
pub fn any() -> bool {
    RECOMPUTED.with(|s| !s.borrow().is_empty())
}

/// Whether `attachment` recomputed in this transaction.
pub fn is_marked(attachment: &str) -> bool {
    RECOMPUTED.with(|s| s.borrow().contains(attachment))
}

/// `_recomputed(attachment, mark)`: with `mark`, records that the attachment
/// recomputed leads in this transaction; returns whether it has.
#[pg_extern(name = "_recomputed", volatile, strict, parallel_unsafe)]
fn recomputed(attachment: &str, mark: bool) -> bool {
    if mark {
        self::mark(attachment);
    }
    is_marked(attachment)
}
