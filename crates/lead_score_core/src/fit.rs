//! Fit: who the lead is. Rules over lead attributes, completeness, clamps.

use crate::condition::Value;
use crate::model::{FitEffect, FitModel};

/// Receives each step of a fit evaluation; `()` ignores them, so the per-row
/// path pays nothing for explainability.
pub trait FitTrace {
    fn rule(&mut self, _index: usize, _effect: FitEffect) {}
    fn completeness(&mut self, _present: usize, _total: usize, _points: f64) {}
    fn clamp(&mut self, _before: f64, _after: f64) {}
}

impl FitTrace for () {}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitOutcome {
    pub score: f64,
    /// Index of the first disqualify rule that fired.
    pub disqualified_by: Option<usize>,
}

impl FitModel {
    /// Blank text and the spec's `missing_values` (such as a form's "Select")
    /// count as absent.
    #[inline]
    pub fn normalize<'a>(&self, value: Value<'a>) -> Value<'a> {
        match value {
            Value::Text(t) if t.trim().is_empty() || self.missing_values.iter().any(|m| m == t) => {
                Value::Null
            }
            Value::Num(n) | Value::Decimal(n, _) if n.is_nan() => Value::Null,
            Value::Real(r) if r.is_nan() => Value::Null,
            other => other,
        }
    }

    /// `values` holds one normalized value per entry of `self.fields`.
    #[inline]
    pub fn evaluate(&self, values: &[Value]) -> FitOutcome {
        self.evaluate_traced(values, &mut ())
    }

    pub fn evaluate_traced<T: FitTrace>(&self, values: &[Value], trace: &mut T) -> FitOutcome {
        let mut score = 0.0;
        let mut disqualified_by = None;
        for (index, rule) in self.rules.iter().enumerate() {
            if !rule.when.eval(values) {
                continue;
            }
            match rule.effect {
                FitEffect::Points(p) => score += p,
                FitEffect::Disqualify => {
                    disqualified_by.get_or_insert(index);
                }
            }
            trace.rule(index, rule.effect);
        }
        if let Some(c) = &self.completeness {
            let present = c
                .slots
                .iter()
                .filter(|&&s| !matches!(values.get(s), None | Some(Value::Null)))
                .count();
            let points = c.points * present as f64 / c.slots.len() as f64;
            score += points;
            trace.completeness(present, c.slots.len(), points);
        }
        let clamped = clamp_opt(score, self.min, self.max);
        if clamped != score {
            trace.clamp(score, clamped);
        }
        FitOutcome {
            score: clamped,
            disqualified_by,
        }
    }
}

pub(crate) fn clamp_opt(x: f64, min: Option<f64>, max: Option<f64>) -> f64 {
    let x = match max {
        Some(m) if x > m => m,
        _ => x,
    };
    match min {
        Some(m) if x < m => m,
        _ => x,
    }
}
