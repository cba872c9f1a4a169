//! lead_score: lead scoring inside PostgreSQL.
//!
//! This crate only binds `lead_score_core` to SQL. Hot paths (fit over a row,
//! the engagement aggregates) are V1 C functions declared in `sql/scoring.sql`
//! and `sql/live.sql`;
//! everything else uses `#[pg_extern]`.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use pgrx::prelude::*;
use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting};
use std::ffi::CString;

pgrx::pg_module_magic!(name, version);

/// The internal schema: helper functions, types, score states, pending events
/// and generated trigger functions, so `lead_score` holds only the public API
/// (src/layout.rs). Declared here so `#[pg_extern(schema = ...)]` can name it.
#[pg_schema]
mod lead_score_internal {}

mod aggregate;
mod args;
mod attach;
mod catalog;
mod citus;
mod classify;
mod clock;
mod commit_fold;
mod ddl_guard;
mod errors;
mod fncache;
mod layout;
mod lead;
mod learn;
mod live;
mod locks;
mod owner;
mod owner_read;
mod pending;
mod recomputed;
mod row;
mod stable_text;

extension_sql_file!("../sql/bootstrap.sql", name = "bootstrap", bootstrap);
extension_sql_file!(
    "../sql/scoring.sql",
    name = "scoring",
    requires = [
        "bootstrap",
        attach::score_type_ddl,
        classify::validate_spec_text
    ]
);
extension_sql_file!(
    "../sql/learn.sql",
    name = "learn",
    requires = [
        learn::logistic_combine,
        learn::logistic_regression,
        learn::roc_auc,
        learn::auc_difference,
        learn::score_deciles,
        learn::calibration
    ]
);
// Citus support: plain SQL and plpgsql that look for Citus when called.
extension_sql_file!("../sql/citus.sql", name = "citus", requires = ["bootstrap"]);
// Live scores use the scoring types, so they come last.
extension_sql_file!("../sql/live.sql", name = "live", finalize);

/// `lead_score.as_of`: score as of this time instead of now(); for backtests.
pub static AS_OF: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);

/// What `lead_score.as_of` accepts: the detail of every refusal of a value.
const AS_OF_VALUES: &std::ffi::CStr = c"lead_score.as_of must be empty (now) or a finite timestamp with time zone, such as '2026-01-01' or '2026-01-01 12:00+00'.";

/// True while `_PG_init` defines `lead_score.as_of`: a value the session set
/// before the library was loaded is then kept as it is, unchecked, and read at
/// first use (`scoring_time()` casts it, so a bad one raises there). Refusing
/// it would make PostgreSQL warn and fall back to now(): a wrong score.
static DEFINING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// PostgreSQL's `CHECK_FOR_INTERRUPTS()`, for the core's long pure work
/// (`lead_score_core::interrupt`): a pending cancel or `statement_timeout`
/// raises its error here, which pgrx carries out of the Rust frames as a panic
/// and raises again at the function's boundary.
fn check_for_interrupts() {
    // SAFETY: reads PostgreSQL's pending-interrupt flag and, if set, calls
    // ProcessInterrupts through pgrx's guarded binding, in the backend's own
    // thread (the core runs only in the function that called it).
    unsafe {
        if pg_sys::InterruptPending != 0 {
            pg_sys::ProcessInterrupts();
        }
    }
}

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    // No Rust backtrace in any error a client sees, whatever RUST_BACKTRACE the
    // server was started with: pgrx attaches a captured backtrace to the DETAIL
    // of errors raised through Rust, and capture() reads this once, on first use.
    std::env::set_var("RUST_LIB_BACKTRACE", "0");
    lead_score_core::interrupt::set_check(check_for_interrupts);
    DEFINING.store(true, std::sync::atomic::Ordering::Relaxed);
    // SAFETY: the check hook is a #[pg_guard] function that never raises.
    unsafe {
        GucRegistry::define_string_guc_with_hooks(
            c"lead_score.as_of",
            c"Time at which engagement is scored (empty means now()).",
            c"Events after this time do not count and decay is measured up to it; set it to score leads as of a past date.",
            &AS_OF,
            GucContext::Userset,
            GucFlags::default(),
            Some(check_as_of),
            None,
            None,
        );
    }
    DEFINING.store(false, std::sync::atomic::Ordering::Relaxed);
    clock::register();
    citus::register();
    catalog::register();
}

/// Check hook of `lead_score.as_of`: empty, or what `timestamptz` input
/// accepts, so a bad value is refused by SET, not at first use.
#[pg_guard]
unsafe extern "C-unwind" fn check_as_of(
    newval: *mut *mut std::ffi::c_char,
    _extra: *mut *mut std::ffi::c_void,
    source: pg_sys::GucSource::Type,
) -> bool {
    // Only what a session sets is checked: a parallel worker restores its
    // leader's (checked) value before it can parse zone abbreviations, and
    // values from the configuration files or ALTER ... SET are read at use.
    // Those set before the library was loaded (DEFINING) are never refused:
    // one that does not read as a time raises at use.
    let defining = DEFINING.load(std::sync::atomic::Ordering::Relaxed);
    // SAFETY: reads a backend-local integer.
    if unsafe { pg_sys::ParallelWorkerNumber } >= 0 || source < pg_sys::GucSource::PGC_S_INTERACTIVE
    {
        return true;
    }
    // Set before the library was loaded: canonical from the load on (below)
    // when it reads as a time, in a transaction; never refused.
    // SAFETY: reads the backend's transaction state.
    if defining && !unsafe { pg_sys::IsTransactionState() } {
        return true;
    }
    // SAFETY: PostgreSQL passes a valid pointer to the new value, which is
    // NULL or a NUL-terminated string.
    let value = unsafe { *newval };
    if value.is_null() {
        return true;
    }
    // SAFETY: as above, a NUL-terminated string.
    let text = unsafe { std::ffi::CStr::from_ptr(value) }.to_bytes();
    // Only the empty value means now(): readers cast any other text
    // (scoring_time()), so blanks are refused here rather than there.
    if text.is_empty() {
        return true;
    }
    // timestamptz's own input function decides; its ERROR (a bad field, an
    // unknown zone, a year out of range) is caught, as a check hook must not
    // raise.
    let parsed = parse_as_of(value);
    let ok = matches!(parsed, Ok(Some(_)));
    // Kept as the instant it names now, in UTC ISO text: read again at each
    // use, the text typed would name another instant under another TimeZone,
    // DateStyle or timezone_abbreviations (`01/02/2026`, `2026-01-01 EST`),
    // even within one statement (a function with its own TimeZone).
    if let Ok(Some(t)) = parsed {
        if let Some(canonical) = utc_text(t).and_then(|c| std::ffi::CString::new(c).ok()) {
            let bytes = canonical.as_bytes_with_nul();
            // SAFETY: a string GUC's check hook may replace *newval with a
            // malloc'd string and free() the old one (guc.h); the copy holds
            // `bytes.len()` bytes, its NUL included.
            unsafe {
                let copy = malloc(bytes.len()).cast::<std::ffi::c_char>();
                if !copy.is_null() {
                    std::ptr::copy_nonoverlapping(bytes.as_ptr().cast(), copy, bytes.len());
                    free(value.cast());
                    *newval = copy;
                }
            }
        }
    }
    if !ok && !defining {
        // SAFETY: PostgreSQL reads this palloc'd string for the error's detail.
        unsafe {
            pg_sys::GUC_check_errdetail_string = pg_sys::pstrdup(AS_OF_VALUES.as_ptr());
        }
    }
    ok || defining
}

extern "C" {
    // The C library's, which PostgreSQL's GUC code allocates and frees
    // string values with in PostgreSQL 15 (pgrx binds neither).
    fn malloc(size: usize) -> *mut std::ffi::c_void;
    fn free(ptr: *mut std::ffi::c_void);
}

/// A finite `timestamptz` as UTC ISO text (`2026-01-07 20:00:00+00`,
/// `0044-03-15 12:00:00+00 BC`), which reads back as the same instant
/// whatever the session's settings; `None` if PostgreSQL cannot break it
/// down. Written with an explicit style, so no setting is read or changed
/// (a check hook may run while another setting is being assigned).
fn utc_text(t: i64) -> Option<String> {
    pgrx::PgTryBuilder::new(|| {
        let mut tm = pg_sys::pg_tm::default();
        let mut fsec: pg_sys::fsec_t = 0;
        let mut buf = [0 as std::ffi::c_char; pg_sys::MAXDATELEN as usize + 1];
        // SAFETY: breaks a timestamp down with no time zone (UTC) into `tm`,
        // then writes it in ISO style into `buf`, which holds MAXDATELEN + 1
        // bytes as EncodeDateTime requires; both raise a normal ERROR at worst.
        unsafe {
            if pg_sys::timestamp2tm(
                t,
                std::ptr::null_mut(),
                &mut tm,
                &mut fsec,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            ) != 0
            {
                return None;
            }
            pg_sys::EncodeDateTime(
                &mut tm,
                fsec,
                false,
                0,
                std::ptr::null(),
                pg_sys::USE_ISO_DATES as i32,
                buf.as_mut_ptr(),
            );
            let text = std::ffi::CStr::from_ptr(buf.as_ptr()).to_str().ok()?;
            Some(lead_score_core::condition::utc_timestamptz_text(text))
        }
    })
    .catch_others(|_| None)
    .execute()
}

/// `lead_score.as_of`'s text as timestamptz input reads it: `Ok(Some(t))`,
/// `Ok(None)` for `infinity` or `-infinity` (times no score is read at), or
/// the input function's error (its SQLSTATE and message), caught; it refuses
/// text too long for a time too. `value` is a NUL-terminated string.
fn parse_as_of(value: *const std::ffi::c_char) -> Result<Option<i64>, (PgSqlErrorCode, String)> {
    pgrx::PgTryBuilder::new(|| {
        // SAFETY: `value` is a NUL-terminated string; the input function
        // reads it and raises a normal ERROR for a malformed value.
        let t = unsafe {
            let (mut input, mut ioparam) = (pg_sys::InvalidOid, pg_sys::InvalidOid);
            pg_sys::getTypeInputInfo(pg_sys::TIMESTAMPTZOID, &mut input, &mut ioparam);
            pg_sys::OidInputFunctionCall(input, value.cast_mut(), ioparam, -1)
        };
        let t = t.value() as i64;
        Ok((t != i64::MIN && t != i64::MAX).then_some(t))
    })
    .catch_others(|e| {
        Err(match e {
            pgrx::pg_sys::panic::CaughtError::PostgresError(e)
            | pgrx::pg_sys::panic::CaughtError::ErrorReport(e)
            | pgrx::pg_sys::panic::CaughtError::RustPanic { ereport: e, .. } => {
                (e.sql_error_code(), e.message().to_string())
            }
        })
    })
    .execute()
}

/// `lead_score_internal._as_of(value)`: `lead_score.as_of`'s value as the time
/// `scoring_time()` reads at. `SET` checks the setting, but not a value from the
/// configuration files, `ALTER … SET` or a session that set it before the
/// library was loaded: such a value is refused here, at its first read, by an
/// error that names the setting (the input function's SQLSTATE: `22007` for
/// text that is no time; `22023` for an infinite one), never read as now().
#[pg_extern(
    name = "_as_of",
    schema = "lead_score_internal",
    stable,
    strict,
    parallel_safe
)]
fn as_of_sql(value: &str) -> pgrx::datum::TimestampWithTimeZone {
    // Text has no NUL, so this always holds.
    let text = CString::new(value).unwrap_or_default();
    match parse_as_of(text.as_ptr()) {
        // SAFETY: any i64 is a valid timestamptz bit pattern.
        Ok(Some(t)) => unsafe {
            pgrx::datum::TimestampWithTimeZone::from_datum(pg_sys::Datum::from(t), false)
        }
        .unwrap_or_else(|| unreachable!()),
        Ok(None) => errors::raise_detail(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("invalid value for parameter \"lead_score.as_of\": \"{value}\" is not a finite time"),
            AS_OF_VALUES.to_str().unwrap_or_default(),
        ),
        Err((code, message)) => errors::raise_detail(
            code,
            format!("invalid value for parameter \"lead_score.as_of\": {message}"),
            AS_OF_VALUES.to_str().unwrap_or_default(),
        ),
    }
}

#[cfg(any(test, feature = "pg_test"))]
mod pg_tests;

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
