//! Account scores for account-based marketing: a model's optional `accounts`
//! section names the lead field that holds the account (a company id or
//! domain), and an account is scored from its leads' current scores:
//!
//! - its fit is the best fit of its leads that are not disqualified;
//! - its engagement is their engagement summed, capped at `accounts.cap`;
//! - its total is fit + engagement, graded by the model's grades on the fit,
//!   and placed in a quadrant by `accounts.quadrant` (default: the model's);
//! - it alerts once when its total reaches `accounts.alert`;
//! - an account whose leads are all disqualified is disqualified.

use crate::classify::{quadrant, settle, Quadrant};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::reader::{child_path, Obj};
use serde_json::Value as Json;

/// A spec's `accounts` section.
#[derive(Debug, Clone, PartialEq)]
pub struct Accounts {
    /// The lead field (a column of the leads table) that holds the account.
    pub field: String,
    /// The most an account's summed engagement counts for.
    pub cap: Option<f64>,
    /// A lead is engaged at or above this engagement (default: above 0).
    pub engaged_min: Option<f64>,
    /// (fit, engagement) thresholds of the account quadrant, when not the model's.
    pub quadrant: Option<(f64, f64)>,
    /// The total at which an account alerts.
    pub alert: Option<f64>,
}

/// An account's score from its leads' aggregates.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountScore {
    pub engagement: f64,
    pub total: f64,
    pub grade: Option<String>,
    pub quadrant: Quadrant,
    /// The total is at or above `accounts.alert`.
    pub alert: bool,
}

pub(crate) fn parse_accounts(value: &Json) -> Result<Accounts> {
    let mut obj = Obj::new(value, "accounts")?;
    let field = obj.req_str("field")?;
    if field.trim().is_empty() {
        return Err(Error::spec(&obj.path_of("field"), "must not be empty"));
    }
    let cap = obj.opt_f64("cap")?;
    if cap.is_some_and(|c| c <= 0.0) {
        return Err(Error::spec(&obj.path_of("cap"), "must be positive"));
    }
    let engaged_min = obj.opt_f64("engaged_min")?;
    let quadrant = match obj.opt("quadrant") {
        None => None,
        Some(v) => {
            let mut q = Obj::new(v, &child_path("accounts", "quadrant"))?;
            let t = (q.req_f64("fit")?, q.req_f64("engagement")?);
            q.finish()?;
            Some(t)
        }
    };
    let alert = obj.opt_f64("alert")?;
    obj.finish()?;
    Ok(Accounts {
        field: field.to_string(),
        cap,
        engaged_min,
        quadrant,
        alert,
    })
}

impl Model {
    /// The spec's `accounts` section, or an error naming it for functions that
    /// need one.
    pub fn accounts(&self) -> Result<&Accounts> {
        self.accounts
            .as_ref()
            .ok_or_else(|| Error::spec("accounts", "the model has no accounts section"))
    }

    /// Whether a lead of this engagement counts as engaged for its account.
    pub fn account_engaged(&self, engagement: f64) -> Result<bool> {
        let a = self.accounts()?;
        Ok(match a.engaged_min {
            Some(min) => settle(engagement) >= min,
            None => settle(engagement) > 0.0,
        })
    }

    /// An account's engagement: its leads' summed engagement, capped.
    pub fn account_engagement(&self, engagement_sum: f64) -> Result<f64> {
        let a = self.accounts()?;
        Ok(a.cap.map_or(engagement_sum, |cap| engagement_sum.min(cap)))
    }

    /// An account's quadrant, at `accounts.quadrant` or the model's thresholds.
    pub fn account_quadrant(
        &self,
        fit: f64,
        engagement: f64,
        disqualified: bool,
    ) -> Result<Quadrant> {
        let a = self.accounts()?;
        let c = &self.classification;
        Ok(quadrant(
            a.quadrant
                .unwrap_or((c.quadrant_fit, c.quadrant_engagement)),
            fit,
            engagement,
            disqualified,
        ))
    }

    /// Whether an account of this total alerts (`accounts.alert`).
    pub fn account_alerting(&self, total: f64, disqualified: bool) -> Result<bool> {
        let a = self.accounts()?;
        Ok(!disqualified && a.alert.is_some_and(|m| settle(total) >= m))
    }

    /// An account's score from the best fit and the summed engagement of its
    /// leads that are not disqualified (`disqualified`: all of them are, and
    /// nothing counts).
    pub fn account_score(
        &self,
        best_fit: f64,
        engagement_sum: f64,
        disqualified: bool,
    ) -> Result<AccountScore> {
        let (fit, engagement) = if disqualified {
            (0.0, 0.0)
        } else {
            (best_fit, self.account_engagement(engagement_sum)?)
        };
        let total = fit + engagement;
        Ok(AccountScore {
            engagement,
            total,
            grade: self.classification.grade(fit).map(str::to_string),
            quadrant: self.account_quadrant(fit, engagement, disqualified)?,
            alert: self.account_alerting(total, disqualified)?,
        })
    }
}
