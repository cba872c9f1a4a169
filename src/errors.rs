//! Maps core errors to PostgreSQL errors with a proper SQLSTATE.

use lead_score_core::Error;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

pub fn raise_code(code: PgSqlErrorCode, message: impl Into<String>) -> ! {
    ereport!(ERROR, code, message.into());
}

/// [`raise_code`] with a detail line.
pub fn raise_detail(code: PgSqlErrorCode, message: impl Into<String>, detail: &str) -> ! {
    ereport!(ERROR, code, message.into(), detail);
}

/// Spec errors carry their JSON path in the message: `fit.rules[2].points: must be ...`.
pub fn raise(error: &Error) -> ! {
    let code = match error {
        Error::Spec { .. } | Error::State(_) | Error::Invalid(_) => {
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE
        }
        Error::Json(_) => PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
        Error::Unsupported(_) => PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
        Error::Prerequisite(_) => PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        Error::OutOfRange(_) => PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
    };
    raise_code(code, error.to_string());
}

pub trait OrRaise<T> {
    fn or_raise(self) -> T;
}

/// An SPI failure is an internal error: raised with what was being done.
pub trait OrRaiseWith<T> {
    /// Raises `XX000` as `<context>: <error>`; `context` is built only on failure.
    fn or_raise_with(self, context: impl FnOnce() -> String) -> T;
}

impl<T> OrRaiseWith<T> for Result<T, pgrx::spi::SpiError> {
    fn or_raise_with(self, context: impl FnOnce() -> String) -> T {
        match self {
            Ok(v) => v,
            Err(e) => raise_code(
                PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                format!("{}: {e}", context()),
            ),
        }
    }
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
