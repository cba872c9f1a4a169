//! Argument access for the raw (V1 calling convention) functions on hot paths.

use crate::errors::raise_code;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

/// The datum of argument `i`, or None when it is NULL.
///
/// # Safety
/// `fcinfo` must be a valid call with more than `i` arguments.
#[inline]
pub unsafe fn arg(fcinfo: pg_sys::FunctionCallInfo, i: usize) -> Option<pg_sys::Datum> {
    unsafe {
        let args = (*fcinfo).args.as_slice((*fcinfo).nargs as usize);
        let a = args[i];
        if a.isnull {
            None
        } else {
            Some(a.value)
        }
    }
}

#[inline]
pub unsafe fn nargs(fcinfo: pg_sys::FunctionCallInfo) -> usize {
    unsafe { (*fcinfo).nargs as usize }
}

/// Borrows a text datum as &str without copying (detoasting only if needed).
///
/// # Safety
/// `datum` must be a text-like varlena that outlives the returned reference.
#[inline]
pub unsafe fn text_arg<'a>(datum: pg_sys::Datum) -> &'a str {
    unsafe {
        let p = pg_sys::pg_detoast_datum_packed(datum.cast_mut_ptr());
        let bytes = pgrx::varlena::varlena_to_byte_slice(p);
        if server_is_utf8() {
            // PostgreSQL has already validated text in a UTF-8 database.
            return std::str::from_utf8_unchecked(bytes);
        }
        match std::str::from_utf8(bytes) {
            Ok(s) => s,
            Err(_) => raise_code(
                PgSqlErrorCode::ERRCODE_CHARACTER_NOT_IN_REPERTOIRE,
                "lead_score needs UTF-8 text; this value is not",
            ),
        }
    }
}

#[inline]
fn server_is_utf8() -> bool {
    static UTF8: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *UTF8.get_or_init(|| unsafe { pg_sys::GetDatabaseEncoding() } == pg_sys::pg_enc::PG_UTF8 as i32)
}

#[inline]
pub unsafe fn return_null(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
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
