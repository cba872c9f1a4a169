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

/// Where an attachment's outcomes live, without copying them: a table or view
/// with the lead's key, whether it was won, and optionally when it closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcomes {
    pub source: Qualified,
    pub lead_key: String,
    pub won: String,
    pub closed_at: Option<String>,
    /// A column of the leads table with each lead's creation time, for
    /// cut-offs relative to it.
    pub lead_created_at: Option<String>,
    /// The lead key column is unique in the source (a primary key or a
    /// unique index on it alone): each row is already one lead.
    pub unique_key: bool,
}

impl Outcomes {
    /// One row per lead with a known outcome: its key (cast to `key_type`,
    /// the lead key's own type, so it joins the leads without text
    /// conversions), whether any of its rows is won, and its earliest close.
    pub fn per_lead(&self, key_type: &str) -> String {
        let key = ident(&self.lead_key);
        let won = ident(&self.won);
        let source = self.source.to_sql();
        if self.unique_key {
            let closed = match &self.closed_at {
                Some(c) => format!("(o.{})::pg_catalog.timestamptz", ident(c)),
                None => "NULL::pg_catalog.timestamptz".to_string(),
            };
            return format!(
                "SELECT (o.{key})::{key_type} AS k, (o.{won})::pg_catalog.bool AS won, {closed} AS closed_at
    FROM {source} o WHERE o.{won} IS NOT NULL AND o.{key} IS NOT NULL"
            );
        }
        let closed = match &self.closed_at {
            Some(c) => format!("pg_catalog.min((o.{})::pg_catalog.timestamptz)", ident(c)),
            None => "NULL::pg_catalog.timestamptz".to_string(),
        };
        format!(
            "SELECT (o.{key})::{key_type} AS k, pg_catalog.bool_or((o.{won})::pg_catalog.bool) AS won, {closed} AS closed_at
    FROM {source} o WHERE o.{won} IS NOT NULL AND o.{key} IS NOT NULL GROUP BY 1"
        )
    }
}
