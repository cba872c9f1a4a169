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

/// The settings every date and time value is written with: PostgreSQL's
/// defaults (the date order of `DateStyle` changes no ISO output), and UTC.
const TIME: [(&CStr, &CStr); 3] = [
    (c"datestyle", c"ISO, MDY"),
    (c"intervalstyle", c"postgres"),
    (c"timezone", c"UTC"),
];
/// The setting every float is written with: PostgreSQL's default.
const FLOAT: [(&CStr, &CStr); 1] = [(c"extra_float_digits", c"1")];
/// The setting every bytea is written with: PostgreSQL's default.
const BYTEA: [(&CStr, &CStr); 1] = [(c"bytea_output", c"hex")];
/// All of them, for a row's values of any of those types.
const PINNED: [(&CStr, &CStr); 5] = [TIME[0], TIME[1], TIME[2], FLOAT[0], BYTEA[0]];

/// Built-in types whose text depends on settings, and which: dates, times,
/// intervals and ranges of them on [`TIME`], floats on [`FLOAT`], bytea on
/// [`BYTEA`].
const SETTING_DEPENDENT: [(pg_sys::Oid, &[(&CStr, &CStr)]); 15] = [
    (pg_sys::DATEOID, &TIME),
    (pg_sys::TIMEOID, &TIME),
    (pg_sys::TIMETZOID, &TIME),
    (pg_sys::TIMESTAMPOID, &TIME),
    (pg_sys::TIMESTAMPTZOID, &TIME),
    (pg_sys::INTERVALOID, &TIME),
    (pg_sys::FLOAT4OID, &FLOAT),
    (pg_sys::FLOAT8OID, &FLOAT),
    (pg_sys::BYTEAOID, &BYTEA),
    (pg_sys::DATERANGEOID, &TIME),
    (pg_sys::TSRANGEOID, &TIME),
    (pg_sys::TSTZRANGEOID, &TIME),
    (pg_sys::DATEMULTIRANGEOID, &TIME),
    (pg_sys::TSMULTIRANGEOID, &TIME),
    (pg_sys::TSTZMULTIRANGEOID, &TIME),
];

/// The settings a type's text (a domain's base type's, an array's
/// elements') depends on; none for most types.
fn settings_of(typid: pg_sys::Oid) -> &'static [(&'static CStr, &'static CStr)] {
    // SAFETY: syscache lookups; getBaseType raises for an unknown type and
    // get_element_type returns InvalidOid for a type that is no array.
    let (base, element) = unsafe {
        let base = pg_sys::getBaseType(typid);
        (base, pg_sys::get_element_type(base))
    };
    let listed = |t: pg_sys::Oid| {
        SETTING_DEPENDENT
            .iter()
            .find(|(o, _)| *o == t)
            .map(|(_, s)| *s)
    };
    listed(base)
        .or_else(|| {
            (element != pg_sys::InvalidOid)
                .then(|| listed(element))
                .flatten()
        })
        .unwrap_or(&[])
}

/// Whether a type's text (a domain's base type's, an array's elements') may
/// depend on session settings.
pub(crate) fn depends_on_settings(typid: pg_sys::Oid) -> bool {
    !settings_of(typid).is_empty()
}

/// Runs `f` with `settings` in force, then restores the session's. Only the
/// settings whose value differs are set (a session at the defaults sets
/// none, and opens no nest level). If `f` raises an ERROR, the
/// (sub)transaction's abort restores them.
fn with_settings<R>(settings: &[(&CStr, &CStr)], f: impl FnOnce() -> R) -> R {
    let differing: Vec<(&CStr, &CStr)> = settings
        .iter()
        .copied()
        .filter(|(name, value)| {
            // SAFETY: a NUL-terminated name of a built-in setting (not
            // missing_ok: it exists); the result is read before any other
            // GUC call can reuse its buffer.
            let current =
                unsafe { CStr::from_ptr(pg_sys::GetConfigOption(name.as_ptr(), false, false)) };
            current != *value
        })
        .collect();
    if differing.is_empty() {
        return f();
    }
    let level = crate::owner::push_settings(&differing);
    let out = f();
    // SAFETY: pops the level opened above, restoring the saved settings.
    unsafe { pg_sys::AtEOXact_GUC(true, level) };
    out
}

/// Runs `f` with every setting of [`PINNED`] in force (see [`with_settings`]):
/// a row's fit fields of any of those types (src/row.rs).
pub(crate) fn pinned<R>(f: impl FnOnce() -> R) -> R {
    with_settings(&PINNED, f)
}

/// A value's text as its output function writes it with the settings its
/// type depends on pinned.
///
/// # Safety
/// `value` must be a non-null datum of type `typid`.
pub(crate) unsafe fn output_pinned(typid: pg_sys::Oid, value: pg_sys::Datum) -> String {
    let mut func = pg_sys::InvalidOid;
    let mut is_varlena = false;
    // SAFETY: a syscache lookup, which raises for an unknown type.
    unsafe { pg_sys::getTypeOutputInfo(typid, &mut func, &mut is_varlena) };
    with_settings(settings_of(typid), || {
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
