//! Argument access for the raw (V1 calling convention) functions on hot paths.
//!
//! Every function here takes the `fcinfo` PostgreSQL passed to the running V1
//! function. The functions are declared in `sql/` with LANGUAGE c, which only a
//! superuser can do, so the argument count and types are those declarations'.

use crate::errors::raise_code;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

/// The datum of argument `i`, or None when it is NULL.
///
/// # Safety
/// `fcinfo` must be the valid call info of the running function; an `i` not
/// below its argument count panics (an ERROR), it reads nothing out of bounds.
#[inline]
pub unsafe fn arg(fcinfo: pg_sys::FunctionCallInfo, i: usize) -> Option<pg_sys::Datum> {
    // SAFETY: the caller guarantees `fcinfo` is valid, so `args` holds `nargs`
    // initialized entries.
    let args = unsafe { (*fcinfo).args.as_slice((*fcinfo).nargs as usize) };
    let a = args[i];
    if a.isnull {
        None
    } else {
        Some(a.value)
    }
}

/// The number of arguments of the call.
///
/// # Safety
/// `fcinfo` must be the valid call info of the running function.
#[inline]
pub unsafe fn nargs(fcinfo: pg_sys::FunctionCallInfo) -> usize {
    // SAFETY: the caller guarantees `fcinfo` is valid.
    unsafe { (*fcinfo).nargs as usize }
}

/// Borrows a text datum as &str without copying (detoasting only if needed).
///
/// # Safety
/// `datum` must be a text-like varlena that outlives the returned reference.
#[inline]
pub unsafe fn text_arg<'a>(datum: pg_sys::Datum) -> &'a str {
    // SAFETY: the caller guarantees `datum` is a live text-like varlena; a
    // detoasted copy, if one is needed, is made in the current memory context,
    // which lives as long as the call that reads it.
    let bytes = unsafe {
        let p = pg_sys::pg_detoast_datum_packed(datum.cast_mut_ptr());
        pgrx::varlena::varlena_to_byte_slice(p)
    };
    if server_is_utf8() {
        // SAFETY: PostgreSQL validates every text value against the server
        // encoding on input, and the server encoding is UTF-8.
        return unsafe { std::str::from_utf8_unchecked(bytes) };
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(_) => raise_code(
            PgSqlErrorCode::ERRCODE_CHARACTER_NOT_IN_REPERTOIRE,
            "lead_score needs UTF-8 text; this value is not",
        ),
    }
}

#[inline]
fn server_is_utf8() -> bool {
    static UTF8: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *UTF8.get_or_init(|| {
        // SAFETY: reads the database encoding, fixed before any function of a
        // database runs.
        let encoding = unsafe { pg_sys::GetDatabaseEncoding() };
        encoding == pg_sys::pg_enc::PG_UTF8 as i32
    })
}

/// Marks the call's result NULL and returns the datum to return with it.
///
/// # Safety
/// `fcinfo` must be the valid call info of the running function.
#[inline]
pub unsafe fn return_null(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: the caller guarantees `fcinfo` is valid; `isnull` is this call's
    // result flag, for the function to set.
    unsafe { (*fcinfo).isnull = true };
    pg_sys::Datum::from(0usize)
}

/// Emits the `pg_finfo_<name>` record PostgreSQL looks up for a V1 C function.
#[macro_export]
macro_rules! v1_info {
    ($finfo:ident) => {
        #[unsafe(no_mangle)]
        #[doc(hidden)]
        pub extern "C" fn $finfo() -> &'static ::pgrx::pg_sys::Pg_finfo_record {
            const V1: ::pgrx::pg_sys::Pg_finfo_record =
                ::pgrx::pg_sys::Pg_finfo_record { api_version: 1 };
            &V1
        }
    };
}
