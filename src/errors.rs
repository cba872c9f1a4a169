//! Maps core errors to PostgreSQL errors with a proper SQLSTATE.

use lead_score_core::Error;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

pub fn raise_code(code: PgSqlErrorCode, message: impl Into<String>) -> ! {
    ereport!(ERROR, code, message.into());
}

/// Spec errors carry their JSON path in the message: `fit.rules[2].points: must be ...`.
pub fn raise(error: &Error) -> ! {
    let code = match error {
        Error::Spec { .. } | Error::State(_) | Error::Invalid(_) => {
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE
        }
        Error::Json(_) => PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
        Error::Unsupported(_) => PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
    };
    raise_code(code, error.to_string());
}

pub trait OrRaise<T> {
    fn or_raise(self) -> T;
}

impl<T> OrRaise<T> for Result<T, Error> {
    fn or_raise(self) -> T {
        match self {
            Ok(v) => v,
            Err(e) => raise(&e),
        }
    }
}

impl<T> OrRaise<T> for Result<T, pgrx::spi::SpiError> {
    fn or_raise(self) -> T {
        match self {
            Ok(v) => v,
            Err(e) => raise_code(
                PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                format!("lead_score: {e}"),
            ),
        }
    }
}

/// Raises a serialization failure for an attachment detached and attached
/// again under the same name after the active snapshot was taken (the
/// transaction's, under `REPEATABLE READ` or `SERIALIZABLE`; under `READ
/// COMMITTED`, a reader's statement's, which waited for the activity table
/// meanwhile): its tables are new, and the snapshot sees none of their rows,
/// so a read would find no lead and a write would miss the scores. The score
/// table its name resolves to now is then one the snapshot's catalog does not
/// show (by OID: a table the update from 0.1.0 moved to another schema keeps
/// it). Under `REPEATABLE READ` a table that is `gone` fails the same way;
/// under `READ COMMITTED` this returns, and the caller reports an attachment
/// that does not exist. (Readers and lead triggers call this through
/// `_lock_activities`, when the score table's catalog row is newer than the
/// snapshot or gone.)
pub fn reattached_after_snapshot(attachment: &str, gone: bool) {
    // SAFETY: reads the transaction's isolation level.
    let repeatable =
        unsafe { pgrx::pg_sys::XactIsoLevel } >= pgrx::pg_sys::XACT_REPEATABLE_READ as i32;
    if gone && !repeatable {
        return;
    }
    let schema = crate::layout::internal_schema();
    let Ok(scores) =
        std::ffi::CString::new(lead_score_core::sqlgen::attach::names::scores(attachment))
    else {
        return;
    };
    // A read-only query (no transaction id: readers may run on a hot standby).
    // SAFETY: both arguments are text datums, as $1 and $2 are; they live
    // until the call returns.
    let row = unsafe {
        let (schema, scores) = (
            pg_sys::cstring_to_text(schema.as_ptr()),
            pg_sys::cstring_to_text(scores.as_ptr()),
        );
        crate::catalog::query_row(
            c"SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c \
                             WHERE c.oid = pg_catalog.to_regclass(pg_catalog.quote_ident($1) || '.' || pg_catalog.quote_ident($2))::pg_catalog.oid)",
            &[
                (pg_sys::TEXTOID, pg_sys::Datum::from(schema)),
                (pg_sys::TEXTOID, pg_sys::Datum::from(scores)),
            ],
        )
    };
    let same = row.and_then(|r| r.into_iter().next().flatten());
    if same.as_deref() == Some("f") {
        raise_code(
            PgSqlErrorCode::ERRCODE_T_R_SERIALIZATION_FAILURE,
            if repeatable {
                format!("could not serialize access: lead_score attachment \"{attachment}\" was detached, or detached and attached again, after this transaction began")
            } else {
                format!("could not serialize access: lead_score attachment \"{attachment}\" was detached and attached again after this statement began")
            },
        );
    }
}

/// Under `REPEATABLE READ` or `SERIALIZABLE`, raises a serialization failure
/// for an attachment the transaction's snapshot does not show but the latest
/// snapshot does: it was attached after the snapshot was taken (retry the
/// transaction). Returns otherwise (under `READ COMMITTED`, or for an
/// attachment that does not exist at all).
pub fn attached_after_snapshot(attachment: &str) {
    // SAFETY: reads the transaction's isolation level.
    if unsafe { pgrx::pg_sys::XactIsoLevel } < pgrx::pg_sys::XACT_REPEATABLE_READ as i32 {
        return;
    }
    let owner = crate::owner::extension_owner();
    if crate::owner::run_as(owner, || {
        crate::owner_read::attachment_in_latest(attachment)
    }) {
        raise_code(
            PgSqlErrorCode::ERRCODE_T_R_SERIALIZATION_FAILURE,
            format!("could not serialize access: lead_score attachment \"{attachment}\" was attached after this transaction began"),
        );
    }
}

/// `value`, or 22004 naming the argument: for functions that take NULL in
/// some arguments (so are not strict) but not in this one.
pub fn not_null<T>(value: Option<T>, argument: &str) -> T {
    value.unwrap_or_else(|| {
        raise_code(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            format!("{argument} must not be NULL"),
        )
    })
}

/// The elements of an array argument, or 22004 naming the first NULL one
/// (`fields[2]`, 1-based as SQL's subscripts).
pub fn no_null_elements<T>(values: Vec<Option<T>>, argument: &str) -> Vec<T> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| not_null(v, &format!("{argument}[{}]", i + 1)))
        .collect()
}
