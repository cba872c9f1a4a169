//! Where lead_score's internal objects are.
//!
//! Since 0.2.0, internal functions, types, score states, pending events and
//! generated trigger functions live in `lead_score_internal`, and the
//! `lead_score` schema holds only the public API. A database still on 0.1.0's
//! catalog (this library installed, `ALTER EXTENSION lead_score UPDATE` not run
//! yet, as after `pg_upgrade` or a package update) has them in `lead_score`.
//! Generated SQL always names `lead_score_internal`; [`for_catalog`] maps it back
//! in that window, so 0.1.0's triggers, reads and `attach` keep working with
//! this library until the update moves everything.

use std::borrow::Cow;
use std::ffi::CStr;

use pgrx::pg_sys;

/// Whether the internal schema exists (the catalog is 0.2.0 or later).
pub(crate) fn updated() -> bool {
    // SAFETY: a syscache lookup by a NUL-terminated name; missing_ok returns
    // InvalidOid instead of raising.
    unsafe {
        pg_sys::get_namespace_oid(c"lead_score_internal".as_ptr(), true) != pg_sys::InvalidOid
    }
}

/// The schema internal objects are in now.
pub(crate) fn internal_schema() -> &'static CStr {
    if updated() {
        c"lead_score_internal"
    } else {
        c"lead_score"
    }
}

/// Generated SQL as this database's catalog needs it: unchanged once the
/// internal schema exists; before the update, with the internal schema's
/// names moved back to `lead_score`. The replaced text is always a whole
/// qualifier (`"lead_score_internal".`, `lead_score_internal.` or the literal
/// `'lead_score_internal'`), and the replacement has no quote characters, so
/// quoting never changes: a user's name or literal that happens to contain one
/// of them could only stop resolving, never name something else.
pub(crate) fn for_catalog(sql: &str) -> Cow<'_, str> {
    if !sql.contains("lead_score_internal") || updated() {
        return Cow::Borrowed(sql);
    }
    Cow::Owned(
        sql.replace("\"lead_score_internal\".", "\"lead_score\".")
            .replace("lead_score_internal.", "lead_score.")
            .replace("'lead_score_internal'", "'lead_score'"),
    )
}
