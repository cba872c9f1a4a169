//! Values as text the same way in every session.
//!
//! The string operators of a spec (`contains`, `regex`, and `eq` on text)
//! see a value as its type's output function writes it. For dates, times,
//! intervals, floats (geometric types too), bytea, money and the `reg*` types
//! that text depends on session settings (`DateStyle`, `TimeZone`,
//! `IntervalStyle`, `extra_float_digits`, `bytea_output`, `lc_monetary`,
//! `search_path`, `quote_all_identifiers`): a score stored by a writer with other settings than the
//! session that recomputes it would differ. So such values are written with
//! those settings pinned to the defaults below, as postgres_fdw pins them for
//! the values it sends: fit fields (src/row.rs) and event properties
//! (`lead_score_internal._stable_text`, which sqlgen's `TextOf::Stable` calls).
//! A `timestamptz` in a session outside UTC is the exception: it is written as
//! the `timestamp` of the same instant with UTC's offset, which is the same
//! text, because setting `TimeZone` costs more than the output itself.

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
/// The setting every money value is written with: the C locale's format.
const MONEY: [(&CStr, &CStr); 1] = [(c"lc_monetary", c"C")];
/// The settings every `reg*` value (a relation, type, function, operator,
/// schema or role by name) is written with: the path lead_score's own
/// functions and triggers run with, so a name outside `pg_catalog` is
/// schema-qualified (`public.web_form`), and no forced quoting.
const NAMES: [(&CStr, &CStr); 2] = [
    (c"search_path", c"pg_catalog, pg_temp"),
    (c"quote_all_identifiers", c"off"),
];
/// All of them: for a composite, whose fields may be of any type.
const PINNED: [(&CStr, &CStr); 8] = [
    TIME[0], TIME[1], TIME[2], FLOAT[0], BYTEA[0], MONEY[0], NAMES[0], NAMES[1],
];

/// Built-in scalar types whose text depends on settings, and which.
const SETTING_DEPENDENT: [(pg_sys::Oid, &[(&CStr, &CStr)]); 28] = [
    (pg_sys::DATEOID, &TIME),
    (pg_sys::TIMEOID, &TIME),
    (pg_sys::TIMETZOID, &TIME),
    (pg_sys::TIMESTAMPOID, &TIME),
    (pg_sys::TIMESTAMPTZOID, &TIME),
    (pg_sys::INTERVALOID, &TIME),
    (pg_sys::FLOAT4OID, &FLOAT),
    (pg_sys::FLOAT8OID, &FLOAT),
    (pg_sys::BYTEAOID, &BYTEA),
    (pg_sys::MONEYOID, &MONEY),
    // Geometric types write their coordinates as float8 does.
    (pg_sys::POINTOID, &FLOAT),
    (pg_sys::LSEGOID, &FLOAT),
    (pg_sys::PATHOID, &FLOAT),
    (pg_sys::BOXOID, &FLOAT),
    (pg_sys::POLYGONOID, &FLOAT),
    (pg_sys::LINEOID, &FLOAT),
    (pg_sys::CIRCLEOID, &FLOAT),
    (pg_sys::REGCLASSOID, &NAMES),
    (pg_sys::REGTYPEOID, &NAMES),
    (pg_sys::REGPROCOID, &NAMES),
    (pg_sys::REGPROCEDUREOID, &NAMES),
    (pg_sys::REGOPEROID, &NAMES),
    (pg_sys::REGOPERATOROID, &NAMES),
    (pg_sys::REGCONFIGOID, &NAMES),
    (pg_sys::REGDICTIONARYOID, &NAMES),
    (pg_sys::REGNAMESPACEOID, &NAMES),
    (pg_sys::REGROLEOID, &NAMES),
    (pg_sys::REGCOLLATIONOID, &NAMES),
];

/// The settings a type's text depends on: a listed scalar's; a domain's base
/// type's; an array's elements'; a range's subtype's and a multirange's
/// range's; every one for a composite. None for other types.
fn settings_of(typid: pg_sys::Oid) -> &'static [(&'static CStr, &'static CStr)] {
    // SAFETY: syscache lookups; getBaseType raises for an unknown type, and
    // the others return InvalidOid for a type that is no array, range or
    // multirange.
    let (base, element, subtype, range, typtype) = unsafe {
        let base = pg_sys::getBaseType(typid);
        (
            base,
            pg_sys::get_element_type(base),
            pg_sys::get_range_subtype(base),
            pg_sys::get_multirange_range(base),
            pg_sys::get_typtype(base) as u8,
        )
    };
    if let Some((_, settings)) = SETTING_DEPENDENT.iter().find(|(t, _)| *t == base) {
        return settings;
    }
    match [element, subtype, range]
        .into_iter()
        .find(|&t| t != pg_sys::InvalidOid)
    {
        Some(inner) => settings_of(inner),
        None if typtype == pg_sys::TYPTYPE_COMPOSITE => &PINNED,
        None => &[],
    }
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
        .filter(|&(name, value)| !in_force(name, value))
        .collect();
    if differing.is_empty() {
        return f();
    }
    let level = crate::owner::push_settings(&differing);
    let out = f();
    // SAFETY: pops the level opened above, restoring the saved settings (all
    // of them, as `run_as` does: nothing `f` runs may change the session's).
    unsafe { pg_sys::AtEOXact_GUC(false, level) };
    out
}

/// Whether the session's `name` already writes what `value` would. By its
/// text, except the time zone: a zone whose offset from UTC is always 0
/// (`Etc/UTC`, `UCT`, a server's default in many containers) writes every
/// timestamp as `UTC` does in the ISO style pinned with it (`+00`).
fn in_force(name: &CStr, value: &CStr) -> bool {
    if name == TIME[2].0 {
        let mut offset: std::ffi::c_long = 0;
        // SAFETY: session_timezone is the session's zone, set before any
        // query runs; pg_get_timezone_offset only reads it and writes the
        // offset when it is fixed.
        let fixed =
            unsafe { pg_sys::pg_get_timezone_offset(pg_sys::session_timezone, &mut offset) };
        return fixed && offset == 0;
    }
    // SAFETY: a NUL-terminated name of a built-in setting (not missing_ok:
    // it exists); the result is read before any other GUC call can reuse
    // its buffer.
    let current = unsafe { CStr::from_ptr(pg_sys::GetConfigOption(name.as_ptr(), false, false)) };
    current == value
}

/// Runs `f` with every setting of [`PINNED`] in force (see [`with_settings`]).
pub(crate) fn pinned<R>(f: impl FnOnce() -> R) -> R {
    with_settings(&PINNED, f)
}

/// The settings any of `types`' text depends on, as a mask of [`PINNED`]'s
/// entries (a row's fit fields, src/row.rs: pinned only as its own types
/// need them, so a row of a date and a float sets no `search_path`).
pub(crate) fn settings_mask(types: impl IntoIterator<Item = pg_sys::Oid>) -> u8 {
    const _: () = assert!(PINNED.len() <= u8::BITS as usize);
    let mut mask = 0u8;
    for t in types {
        for setting in settings_of(t) {
            if let Some(i) = PINNED.iter().position(|p| p == setting) {
                mask |= 1 << i;
            }
        }
    }
    mask
}

/// Runs `f` with the settings of `mask` (from [`settings_mask`]) in force.
pub(crate) fn pinned_to<R>(mask: u8, f: impl FnOnce() -> R) -> R {
    // On the stack: this runs for every row with such a field.
    let mut settings = [PINNED[0]; PINNED.len()];
    let mut n = 0;
    for (i, &setting) in PINNED.iter().enumerate() {
        if mask & (1 << i) != 0 {
            settings[n] = setting;
            n += 1;
        }
    }
    with_settings(&settings[..n], f)
}

/// A value's text as its output function writes it with the settings its
/// type depends on pinned.
///
/// # Safety
/// `value` must be a non-null datum of type `typid`.
pub(crate) unsafe fn output_pinned(typid: pg_sys::Oid, value: pg_sys::Datum) -> String {
    let plain_timestamptz = typid == pg_sys::TIMESTAMPTZOID;
    let settings = if plain_timestamptz {
        &TIME[..]
    } else {
        settings_of(typid)
    };
    // A type whose text does not depend on the time zone is not looked up again.
    if settings.contains(&TIME[2])
        && !in_force(TIME[2].0, TIME[2].1)
        && (plain_timestamptz
            // SAFETY: a syscache lookup, which raises for an unknown type.
            || unsafe { pg_sys::getBaseType(typid) } == pg_sys::TIMESTAMPTZOID)
    {
        // A session outside UTC: the timestamp of the same microseconds, whose
        // text depends on no time zone, with UTC's offset (setting TimeZone
        // for each value costs more than the output itself).
        // SAFETY: a timestamptz datum is a timestamp datum of the same instant
        // in UTC (both are int64 microseconds since 2000-01-01 00:00 UTC).
        let text = unsafe { output(pg_sys::TIMESTAMPOID, value, &TIME[..2]) };
        return lead_score_core::condition::utc_timestamptz_text(&text);
    }
    // SAFETY: the caller's guarantee.
    unsafe { output(typid, value, settings) }
}

/// A value's text as its output function writes it with `settings` in force.
///
/// # Safety
/// `value` must be a non-null datum of type `typid`.
unsafe fn output(typid: pg_sys::Oid, value: pg_sys::Datum, settings: &[(&CStr, &CStr)]) -> String {
    let mut func = pg_sys::InvalidOid;
    let mut is_varlena = false;
    // SAFETY: a syscache lookup, which raises for an unknown type.
    unsafe { pg_sys::getTypeOutputInfo(typid, &mut func, &mut is_varlena) };
    with_settings(settings, || {
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
