//! The time writers use: the transaction's start, as `now()`.
//!
//! `lead_score.as_of` moves reads only; a writer's settings never change what
//! is stored. Builds with the `mock_clock` feature (the test suite's, never a
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

/// `lead_score._now()`: the time writers use (see the module docs).
#[pg_extern(name = "_now", stable, parallel_safe)]
fn now_sql() -> pgrx::datum::TimestampWithTimeZone {
    // SAFETY: any i64 is a valid timestamptz bit pattern.
    unsafe { pgrx::datum::TimestampWithTimeZone::from_datum(pg_sys::Datum::from(now()), false) }
        .unwrap_or_else(|| unreachable!())
}
