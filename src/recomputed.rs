//! Which attachments recomputed leads from their tables in this statement.
//!
//! An INSERT into an activity table adds its rows to the score as a delta. A
//! recompute (an activity UPDATE or DELETE, a new lead, `rescore`) reads the
//! table instead, and sees every row already written, including rows that its
//! own statement inserted and whose INSERT trigger has not fired yet: `INSERT
//! … ON CONFLICT DO UPDATE` and `MERGE` fire the UPDATE trigger first, and in
//! a statement with writable CTEs the triggers fire in plan order. A delta
//! after such a recompute would count those rows twice. So once an attachment
//! has recomputed in a statement, that statement's INSERT triggers recompute
//! too (a recompute is absolute, so it is right whatever ran before it).
//!
//! Only rows of the same top-level statement can be counted twice: a later
//! statement's rows did not exist when the recompute read the table. The mark
//! is the statement's start time, which every query a client statement runs
//! (functions, triggers) shares and the next client statement changes; two
//! statements that start in the same microsecond only cost recomputes.

use pgrx::prelude::*;
use std::cell::RefCell;
use std::collections::HashMap;

thread_local! {
    /// Attachment → start time of the statement that last recomputed it.
    static RECOMPUTED: RefCell<HashMap<String, i64>> = RefCell::new(HashMap::new());
}

fn statement_start() -> i64 {
    // SAFETY: reads the backend's current statement start time; no arguments.
    unsafe { pg_sys::GetCurrentStatementStartTimestamp() }
}

/// Marks `attachment` as recomputed in this statement.
pub fn mark(attachment: &str) {
    let now = statement_start();
    RECOMPUTED.with(|s| {
        s.borrow_mut().insert(attachment.to_owned(), now);
    });
}

/// Whether any attachment recomputed in this statement.
pub fn any() -> bool {
    let now = statement_start();
    RECOMPUTED.with(|s| s.borrow().values().any(|&t| t == now))
}

/// Whether `attachment` recomputed in this statement.
pub fn is_marked(attachment: &str) -> bool {
    let now = statement_start();
    RECOMPUTED.with(|s| s.borrow().get(attachment) == Some(&now))
}

/// `_recomputed(attachment, mark)`: with `mark`, records that the attachment
/// recomputed leads in this statement; returns whether it has.
#[pg_extern(
    name = "_recomputed",
    schema = "lead_score_internal",
    volatile,
    strict,
    parallel_unsafe
)]
fn recomputed(attachment: &str, mark: bool) -> bool {
    if mark {
        self::mark(attachment);
    }
    is_marked(attachment)
}
