//! Grades, labels, the fit × engagement quadrant and MQL.

use crate::model::{Band, Classification};

/// What sales does next with a lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quadrant {
    /// High fit, high engagement: sales acts now.
    ActNow,
    /// High fit, low engagement: account-based work, executive events.
    AccountBased,
    /// Low fit, high engagement: check fit before handing over.
    CheckFit,
    /// Low fit, low engagement: automated nurture.
    Nurture,
    Disqualified,
}

impl Quadrant {
    pub fn as_str(self) -> &'static str {
        match self {
            Quadrant::ActNow => "act_now",
            Quadrant::AccountBased => "account_based",
            Quadrant::CheckFit => "check_fit",
            Quadrant::Nurture => "nurture",
            Quadrant::Disqualified => "disqualified",
        }
    }
}

fn band(bands: &[Band], value: f64) -> Option<&str> {
    bands
        .iter()
        .find(|b| b.min.is_none_or(|m| value >= m))
        .map(|b| b.name.as_str())
}

impl Classification {
    pub fn grade(&self, fit: f64) -> Option<&str> {
        band(&self.grades, fit)
    }

    pub fn label(&self, engagement: f64) -> Option<&str> {
        band(&self.labels, engagement)
    }

    pub fn quadrant(&self, fit: f64, engagement: f64, disqualified: bool) -> Quadrant {
        if disqualified {
            return Quadrant::Disqualified;
        }
        match (
            fit >= self.quadrant_fit,
            engagement >= self.quadrant_engagement,
        ) {
            (true, true) => Quadrant::ActNow,
            (true, false) => Quadrant::AccountBased,
            (false, true) => Quadrant::CheckFit,
            (false, false) => Quadrant::Nurture,
        }
    }

    /// A disqualified lead is never an MQL.
    pub fn is_mql(&self, fit: f64, engagement: f64, disqualified: bool) -> bool {
        !disqualified
            && fit + engagement >= self.mql_min_total
            && self.mql_min_fit.is_none_or(|m| fit >= m)
    }
}
