//! Values as text the same way in every session.
//!
//! The string operators of a spec (`contains`, `regex`, and `eq` on text)
//! see a value as its type's output function writes it. For dates, times,
//! intervals, floats and bytea that text depends on session settings
//! (`DateStyle`, `TimeZone`, `IntervalStyle`, `extra_float_digits`,
//! `bytea_output`): a score stored by a writer with other settings than the
//! session that recomputes it would differ. So such values are written with
//! those settings pinned to the defaults below, as postgres_fdw pins them for
//! the values it sends: fit fields (src/row.rs) and event properties
//! (`lead_score_internal._stable_text`, which sqlgen's `TextOf::Stable` calls).

use pgrx::prelude::*;
use std::ffi::CStr;

/// The settings every value is written with: PostgreSQL's defaults, and UTC.
const PINNED: [(&CStr, &CStr); 5] = [
    (c"datestyle", c"ISO, YMD"),
    (c"intervalstyle", c"postgres"),
    (c"timezone", c"UTC"),
    (c"extra_float_digits", c"1"),
    (c"bytea_output", c"hex"),
];

/// Built-in types whose text depends on a setting in [`PINNED`].
const SETTING_DEPENDENT: [pg_sys::Oid; 15] = [
    pg_sys::DATEOID,
    pg_sys::TIMEOID,
    pg_sys::TIMETZOID,
    pg_sys::TIMESTAMPOID,
    pg_sys::TIMESTAMPTZOID,
    pg_sys::INTERVALOID,
    pg_sys::FLOAT4OID,
    pg_sys::FLOAT8OID,
    pg_sys::BYTEAOID,
    pg_sys::DATERANGEOID,
    pg_sys::TSRANGEOID,
    pg_sys::TSTZRANGEOID,
    pg_sys::DATEMULTIRANGEOID,
    pg_sys::TSMULTIRANGEOID,
    pg_sys::TSTZMULTIRANGEOID,
];

/// Whether a type's text (a domain's base type's, an array's elements') may
/// depend on session settings.
pub(crate) fn depends_on_settings(typid: pg_sys::Oid) -> bool {
    // SAFETY: syscache lookups; getBaseType raises for an unknown type and
    // get_element_type returns InvalidOid for a type that is no array.
    let (base, element) = unsafe {
        let base = pg_sys::getBaseType(typid);
        (base, pg_sys::get_element_type(base))
    };
    let listed = |t: pg_sys::Oid| SETTING_DEPENDENT.contains(&t);
    listed(base) || (element != pg_sys::InvalidOid && listed(element))
}

/// Runs `f` with [`PINNED`] in force, then restores the session's settings.
/// If `f` raises an ERROR, the (sub)transaction's abort restores them.
pub(crate) fn pinned<R>(f: impl FnOnce() -> R) -> R {
    let level = crate::owner::push_settings(&PINNED);
    let out = f();
    // SAFETY: pops the level opened above, restoring the saved settings.
    unsafe { pg_sys::AtEOXact_GUC(true, level) };
    out
}

/// A value's text as its output function writes it with [`PINNED`] in force.
///
/// # Safety
/// `value` must be a non-null datum of type `typid`.
pub(crate) unsafe fn output_pinned(typid: pg_sys::Oid, value: pg_sys::Datum) -> String {
    let mut func = pg_sys::InvalidOid;
    let mut is_varlena = false;
    // SAFETY: a syscache lookup, which raises for an unknown type.
    unsafe { pg_sys::getTypeOutputInfo(typid, &mut func, &mut is_varlena) };
    pinned(|| {
        // SAFETY: `func` is the output function of `typid`, and `value` a
        // non-null datum of it (the caller's guarantee); it returns a
        // palloc'd NUL-terminated string.
        unsafe { CStr::from_ptr(pg_sys::OidOutputFunctionCall(func, value)) }
            .to_string_lossy()
            .into_owned()
    })
}

/// `lead_score_internal._stable_text(value anyelement)`: the value's text with
/// the settings pinned (see the module comment); the triggers and recomputes
/// of an attachment read its date, time, float and bytea event properties so.
#[pg_extern(
    name = "_stable_text",
    schema = "lead_score_internal",
    immutable,
    strict,
    parallel_safe
)]
fn stable_text(value: pgrx::AnyElement) -> String {
    // SAFETY: a non-null value (the function is strict) of its own type.
    unsafe { output_pinned(value.oid(), value.datum()) }
}
