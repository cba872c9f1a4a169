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

/// A score as classification compares it: rounded to a millionth of a point.
/// The aggregates sum in fixed point (1e-9) and live scores in floating point,
/// so one lead's two scores may differ in the last bits (a live −4.4e-16 where
/// the aggregate has 0); rounding both the same way makes them classify the
/// same at a threshold, except for a score within that difference of the
/// rounding's own edge, half a millionth under the threshold (README,
/// classification).
/// A score so large that a millionth of it overflows (over about 1.8e302) has
/// no fraction to round and is compared as it is.
pub fn settle(x: f64) -> f64 {
    let scaled = x * 1e6;
    if !scaled.is_finite() {
        return x;
    }
    let r = scaled.round() / 1e6;
    if r == 0.0 {
        0.0
    } else {
        r
    }
}

fn band(bands: &[Band], value: f64) -> Option<&str> {
    let value = settle(value);
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
        quadrant(
            (self.quadrant_fit, self.quadrant_engagement),
            fit,
            engagement,
            disqualified,
        )
    }

    /// A disqualified lead is never an MQL.
    pub fn is_mql(&self, fit: f64, engagement: f64, disqualified: bool) -> bool {
        !disqualified
            && settle(fit + engagement) >= self.mql_min_total
            && self.mql_min_fit.is_none_or(|m| settle(fit) >= m)
    }
}

/// The fit × engagement quadrant at the given (fit, engagement) thresholds:
/// a lead's ([`Classification::quadrant`]) and an account's
/// ([`crate::accounts`]).
pub fn quadrant(thresholds: (f64, f64), fit: f64, engagement: f64, disqualified: bool) -> Quadrant {
    if disqualified {
        return Quadrant::Disqualified;
    }
    {
        match (
            settle(fit) >= thresholds.0,
            settle(engagement) >= thresholds.1,
        ) {
            (true, true) => Quadrant::ActNow,
            (true, false) => Quadrant::AccountBased,
            (false, true) => Quadrant::CheckFit,
            (false, false) => Quadrant::Nurture,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::settle;

    #[test]
    fn float_noise_classifies_like_fixed_point() {
        assert_eq!(settle(-4.4e-16), 0.0);
        assert!(settle(-4.4e-16) >= 0.0);
        assert_eq!(settle(79.99999999996), 80.0);
        assert_eq!(settle(80.0000000004), 80.0);
        // Scaling 1e303 by a million overflows: it stays 1e303, under 2e303.
        assert_eq!(settle(1e303), 1e303);
        assert_eq!(settle(-1e303), -1e303);
        assert_eq!(settle(f64::MAX), f64::MAX);
        assert!(settle(79.9999) < 80.0);
    }

    /// The accounts view's `top_categories` tests positivity in SQL as
    /// `x * 1e6 >= 0.5` (sqlgen/attach.rs): the same as `settle(x) > 0`.
    #[test]
    fn positive_once_settled_is_half_a_millionth() {
        let half = 0.5e-6_f64;
        let mut xs = vec![
            0.1 + 0.2 - 0.3,
            0.0,
            -0.0,
            half,
            -half,
            1e303,
            -1e303,
            f64::MAX,
            f64::MIN_POSITIVE,
        ];
        for x in [half, 1e-6, 1.5e-6] {
            let mut up = x;
            let mut down = x;
            for _ in 0..64 {
                up = f64::from_bits(up.to_bits() + 1);
                down = f64::from_bits(down.to_bits() - 1);
                xs.extend([up, down]);
            }
        }
        for x in xs {
            assert_eq!(settle(x) > 0.0, x * 1e6 >= 0.5, "{x:e}");
        }
    }
}
