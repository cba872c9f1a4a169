//! The scoring core of lead_score: plain Rust, no PostgreSQL.
//!
//! A [`Model`] is parsed and validated from a JSON spec once, then scores leads:
//! [`FitModel::evaluate`] over a lead's attributes, [`EngagementModel::accumulate`]
//! over its events into a fixed-size state that [`engagement::combine`] merges,
//! and [`Model::score`] / [`Model::explain`] for the result.

#![forbid(unsafe_code)]

pub mod accounts;
pub mod adjustments;
pub mod classify;
pub mod condition;
pub mod decimal;
pub mod engagement;
pub mod error;
pub mod fit;
pub mod float_text;
pub mod header;
pub mod interrupt;
pub mod interval;
pub mod live;
pub mod logistic;
pub mod mapping;
pub mod model;
pub mod predictive;
pub mod progress;
mod reader;
pub mod score;
pub mod sqlgen;
pub mod stats;
pub mod suggest;

pub use classify::Quadrant;
pub use condition::Value;
pub use engagement::{State, StateKey};
pub use error::{Error, Result};
pub use fit::FitOutcome;
pub use model::{EngagementModel, FitModel, Model, MAX_PROPERTIES};
pub use score::{CategoryScore, ExplainRow, Score};

/// Whether text is blank: empty or whitespace only, any Unicode whitespace
/// (tabs, newlines, no-break spaces), as blank lead fields and names are
/// everywhere in lead_score.
pub fn is_blank(s: &str) -> bool {
    s.trim().is_empty()
}

#[cfg(test)]
mod blank_tests {
    #[test]
    fn any_unicode_whitespace_is_blank() {
        for s in ["", " ", "\t", "\n \r", "\u{a0}", "\u{2003}\u{3000}"] {
            assert!(super::is_blank(s), "{s:?}");
        }
        for s in ["x", " x ", "\u{200b}"] {
            assert!(!super::is_blank(s), "{s:?}");
        }
    }
}
