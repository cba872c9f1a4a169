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

mod aggregate;
mod args;
mod attach;
mod catalog;
mod citus;
mod classify;
mod clock;
mod errors;
mod fncache;
mod lead;
mod learn;
mod live;
mod owner;
mod owner_read;
mod pending;
mod recomputed;
mod row;

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

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    // No Rust backtrace in any error a client sees, whatever RUST_BACKTRACE the
    // server was started with: pgrx attaches a captured backtrace to the DETAIL
    // of errors raised through Rust, and capture() reads this once, on first use.
    std::env::set_var("RUST_LIB_BACKTRACE", "0");
    GucRegistry::define_string_guc(
        c"lead_score.as_of",
        c"Time at which engagement is scored (empty means now()).",
        c"Events after this time do not count and decay is measured up to it; set it to score leads as of a past date.",
        &AS_OF,
        GucContext::Userset,
        GucFlags::default(),
    );
    clock::register();
    citus::register();
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
