//! The queries of in-database learning: one scan of the user's design
//! relation per IRLS iteration (`lead_score.logistic_regression`).

use super::{ident, Qualified};

/// A design relation: a table or view with one row per lead, a boolean (or
/// castable) outcome column and numeric feature columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Design {
    pub source: Qualified,
    pub outcome: String,
    pub features: Vec<String>,
}

impl Design {
    /// One IRLS iteration over the design: `$1` is the coefficients (intercept
    /// first); returns the `lead_score.logistic_step` state. Rows with a NULL
    /// outcome are left out; a NULL feature is an error (raised by the step).
    pub fn step_query(&self) -> String {
        let features: Vec<String> = self
            .features
            .iter()
            .map(|f| format!("(d.{})::pg_catalog.float8", ident(f)))
            .collect();
        format!(
            "SELECT lead_score.logistic_step($1, ARRAY[{}]::pg_catalog.float8[], (d.{})::pg_catalog.bool) FROM {} d WHERE d.{} IS NOT NULL",
            features.join(", "),
            ident(&self.outcome),
            self.source.to_sql(),
            ident(&self.outcome),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_query_quotes_every_name() {
        let d = Design {
            source: Qualified::new("crm", "Design \"v1\""),
            outcome: "won".into(),
            features: vec!["employees".into(), "it's".into()],
        };
        assert_eq!(
            d.step_query(),
            "SELECT lead_score.logistic_step($1, ARRAY[(d.\"employees\")::pg_catalog.float8, (d.\"it's\")::pg_catalog.float8]::pg_catalog.float8[], (d.\"won\")::pg_catalog.bool) FROM \"crm\".\"Design \"\"v1\"\"\" d WHERE d.\"won\" IS NOT NULL"
        );
    }
}
