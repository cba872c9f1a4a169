//! The time writers use: the transaction's start, as `now()`, to score and
//! classify; and the clock (`clock`, `_clock()`) to cap event times at when a
//! trigger writes or reads them, so an event stamped during its transaction
//! counts at its own time.
//!
//! `lead_score.as_of` moves reads only. Builds with the `mock_clock` feature (the test suite's, never a
//! release) add `lead_score.mock_now`, a superuser-only setting that stands in
//! for the transaction's time, as TimescaleDB's debug builds mock
//! `current_timestamp`, so tests can let days pass in a second.

use pgrx::prelude::*;

#[cfg(feature = "mock_clock")]
pub static MOCK_NOW: pgrx::GucSetting<Option<std::ffi::CString>> =
    pgrx::GucSetting::<Option<std::ffi::CString>>::new(None);

#[cfg(feature = "mock_clock")]
pub fn register() {
    pgrx::GucRegistry::define_string_guc(
        c"lead_score.mock_now",
        c"Test builds only: the time writers and readers take as now().",
        c"Superuser only; absent from release builds.",
        &MOCK_NOW,
        pgrx::GucContext::Suset,
        pgrx::GucFlags::default(),
    );
}

#[cfg(not(feature = "mock_clock"))]
pub fn register() {}

/// Microseconds since 2000-01-01 of the transaction's start (or the mock).
pub fn now() -> i64 {
    #[cfg(feature = "mock_clock")]
    if let Some(mock) = MOCK_NOW.get() {
        if !mock.as_bytes().is_empty() {
            // SAFETY: timestamptz input of a NUL-terminated string; it raises a
            // normal ERROR for a malformed value.
            return unsafe {
                let (mut input, mut ioparam) = (pg_sys::InvalidOid, pg_sys::InvalidOid);
                pg_sys::getTypeInputInfo(pg_sys::TIMESTAMPTZOID, &mut input, &mut ioparam);
                pg_sys::OidInputFunctionCall(input, mock.as_ptr().cast_mut(), ioparam, -1).value()
                    as i64
            };
        }
    }
    // SAFETY: reads the current transaction's start time; no arguments.
    unsafe { pg_sys::GetCurrentTransactionStartTimestamp() }
}

/// Microseconds since 2000-01-01 now (or the mock): the wall clock, not the
/// transaction's start.
pub fn clock() -> i64 {
    #[cfg(feature = "mock_clock")]
    if MOCK_NOW.get().is_some_and(|m| !m.as_bytes().is_empty()) {
        return now();
    }
    // SAFETY: reads the clock; no arguments.
    unsafe { pg_sys::GetCurrentTimestamp() }
}

/// `lead_score_internal._bounds_hold(read_at)`: whether a read at `read_at` may rank
/// leads by their stored bounds, which hold for reads from an hour before each
/// row's write on (`lead_score_core::live::BOUND_VALID_BEFORE_US`). Rows a
/// reader sees were written before the clock now, so that is when a read at
/// least that much before the clock cannot use them: `lead_score.as_of` in the
/// past, or a transaction older than that.
#[pg_extern(
    name = "_bounds_hold",
    schema = "lead_score_internal",
    volatile,
    strict,
    parallel_safe
)]
fn bounds_hold(read_at: pgrx::datum::TimestampWithTimeZone) -> bool {
    i64::from(read_at) >= clock().saturating_sub(lead_score_core::live::BOUND_VALID_BEFORE_US)
}

/// `lead_score_internal._clock()`: the clock (or the mock), which a write caps
/// its events' times at: an event stamped after its transaction began but
/// before the write counts at its own time, as the aggregates count it.
#[pg_extern(
    name = "_clock",
    schema = "lead_score_internal",
    volatile,
    parallel_safe
)]
fn clock_sql() -> pgrx::datum::TimestampWithTimeZone {
    // SAFETY: any i64 is a valid timestamptz bit pattern.
    unsafe { pgrx::datum::TimestampWithTimeZone::from_datum(pg_sys::Datum::from(clock()), false) }
        .unwrap_or_else(|| unreachable!())
}

/// `lead_score_internal._now()`: the time writers use (see the module docs).
#[pg_extern(name = "_now", schema = "lead_score_internal", stable, parallel_safe)]
fn now_sql() -> pgrx::datum::TimestampWithTimeZone {
    // SAFETY: any i64 is a valid timestamptz bit pattern.
    unsafe { pgrx::datum::TimestampWithTimeZone::from_datum(pg_sys::Datum::from(now()), false) }
        .unwrap_or_else(|| unreachable!())
}
