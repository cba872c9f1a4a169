//! Cancellation of long pure work. The core cannot see PostgreSQL, so the SQL
//! layer installs its interrupt check once per backend ([`set_check`]); work
//! whose time grows with its input (compiling a spec's regular expressions,
//! rule by rule; a logistic fit, row by row; `suggest_points`' selection and
//! rounding, candidate by candidate) calls [`check`], so `statement_timeout`
//! and a cancel stop it.
//! Without an installed check (`cargo test`), [`check`] does nothing.

use std::sync::OnceLock;

static CHECK: OnceLock<fn()> = OnceLock::new();

/// Installs the interrupt check; the first call wins.
pub fn set_check(check: fn()) {
    let _ = CHECK.set(check);
}

/// Runs the installed check, which may end the work (PostgreSQL raises the
/// cancel as an error, which unwinds out of the core).
#[inline]
pub fn check() {
    if let Some(check) = CHECK.get() {
        check();
    }
}
