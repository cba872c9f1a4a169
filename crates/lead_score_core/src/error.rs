//! The one error type of the scoring core.

/// Everything the core can reject. The SQL layer maps each variant to a SQLSTATE.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The model spec is invalid; `path` is the JSON path of the offending value.
    #[error("{path}: {message}")]
    Spec { path: String, message: String },
    /// The spec is not JSON at all.
    #[error("spec is not valid JSON: {0}")]
    Json(String),
    /// An engagement state value was not produced by this model version or is damaged.
    #[error("invalid engagement state: {0}")]
    State(String),
    /// The model uses something this operation does not support.
    #[error("{0}")]
    Unsupported(String),
    /// Input an evaluation or a fit cannot use (one outcome only, a NaN score).
    #[error("{0}")]
    Invalid(String),
    /// A value past what the computation can hold exactly: a lead's
    /// fixed-point engagement sum of one rule (±9.2e9 points).
    #[error("{0}")]
    OutOfRange(String),
    /// Something must be done first: live scores whose landmark `tick()` has
    /// not moved for too long.
    #[error("{0}")]
    Prerequisite(String),
}

impl Error {
    pub(crate) fn spec(path: &str, message: impl Into<String>) -> Self {
        Error::Spec {
            path: if path.is_empty() {
                "$".into()
            } else {
                path.into()
            },
            message: message.into(),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
