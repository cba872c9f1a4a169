//! The whole score of one lead, and the explanation a sales rep reads.

use crate::classify::Quadrant;
use crate::condition::Value;
use crate::engagement::{EngagementTrace, RuleTotals};
use crate::fit::{FitOutcome, FitTrace};
use crate::model::{FitEffect, Model};
use crate::predictive::Prediction;

#[derive(Debug, Clone, PartialEq)]
pub struct CategoryScore {
    pub name: String,
    pub score: f64,
    pub above_watermark: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub fit: f64,
    pub engagement: f64,
    pub total: f64,
    pub grade: Option<String>,
    pub label: Option<String>,
    pub quadrant: Quadrant,
    pub mql: bool,
    pub disqualified_by: Option<String>,
    pub categories: Vec<CategoryScore>,
    pub last_activity: Option<i64>,
    /// The predictive model's probability and contributions, when the model
    /// has one (see [`Model::score_predicted`]).
    pub prediction: Option<Prediction>,
}

impl Model {
    /// Engagement and per-category scores; a lead without activity scores 0.
    pub fn engagement_of(&self, state: Option<&dyn RuleTotals>) -> (f64, Vec<f64>) {
        let mut categories = Vec::new();
        match state {
            Some(s) => {
                let e = self.engagement.finalize(s, &mut categories, &mut ());
                (e, categories)
            }
            None => (0.0, vec![0.0; self.engagement.categories.len()]),
        }
    }

    pub fn score(&self, fit: FitOutcome, state: Option<&dyn RuleTotals>) -> Score {
        let (engagement, categories) = self.engagement_of(state);
        let c = &self.classification;
        let disqualified = fit.disqualified_by.is_some();
        Score {
            fit: fit.score,
            engagement,
            total: fit.score + engagement,
            grade: c.grade(fit.score).map(str::to_string),
            label: c.label(engagement).map(str::to_string),
            quadrant: c.quadrant(fit.score, engagement, disqualified),
            mql: c.is_mql(fit.score, engagement, disqualified),
            // An index past the rules (a live row's rule that a later version
            // dropped) names none: the caller names it.
            disqualified_by: fit
                .disqualified_by
                .and_then(|i| self.fit.rules.get(i))
                .map(|r| r.name.clone()),
            categories: self
                .engagement
                .categories
                .iter()
                .zip(categories)
                .enumerate()
                .map(|(i, (cat, score))| CategoryScore {
                    name: cat.name.clone(),
                    score,
                    // A disqualified lead is in no hot category, as it is
                    // never an MQL: sales should not be called to it.
                    above_watermark: !disqualified && self.engagement.above_watermark(i, score),
                })
                .collect(),
            last_activity: state.and_then(|s| s.last_activity()),
            prediction: None,
        }
    }

    /// The score with its prediction, from the predictive lead-field features
    /// that fired (see [`crate::predictive::Predictive::fired`]).
    pub fn score_predicted(
        &self,
        fit: FitOutcome,
        fired: impl IntoIterator<Item = u16>,
        state: Option<&dyn RuleTotals>,
    ) -> Score {
        let mut s = self.score(fit, state);
        s.prediction = self.predict(fired, state);
        s
    }

    /// Scores a lead from its normalized fit values.
    pub fn score_values(&self, values: &[Value], state: Option<&dyn RuleTotals>) -> Score {
        let fit = self.fit.evaluate(values);
        let fired = self
            .predictive
            .as_ref()
            .map(|p| p.fired(values))
            .unwrap_or_default();
        self.score_predicted(fit, fired, state)
    }
}

/// One line of an explanation. Over the `fit` and `engagement` sections,
/// `points` adds up to the lead's total score.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainRow {
    pub section: &'static str,
    pub item: String,
    pub category: Option<String>,
    pub events: Option<i64>,
    pub raw_points: Option<f64>,
    pub decayed_points: Option<f64>,
    pub points: Option<f64>,
    pub detail: String,
}

impl ExplainRow {
    fn new(
        section: &'static str,
        item: impl Into<String>,
        points: Option<f64>,
        detail: impl Into<String>,
    ) -> Self {
        ExplainRow {
            section,
            item: item.into(),
            category: None,
            events: None,
            raw_points: None,
            decayed_points: None,
            points,
            detail: detail.into(),
        }
    }
}

/// A duration in the largest unit it fills (seconds, minutes, hours, days),
/// to a tenth: "1 minute", "1.5 hours", "2 hours", "2.5 days" ("0.0 days"
/// and "0.1 days" for a minute and two hours before).
fn duration(micros: i64) -> String {
    const UNITS: [(i64, &str); 4] = [
        (86_400_000_000, "day"),
        (3_600_000_000, "hour"),
        (60_000_000, "minute"),
        (1_000_000, "second"),
    ];
    let (size, unit) = UNITS
        .iter()
        .copied()
        .find(|&(size, _)| micros.unsigned_abs() >= size.unsigned_abs())
        .unwrap_or(UNITS[3]);
    let text = format!("{:.1}", micros as f64 / size as f64);
    let text = text.strip_suffix(".0").unwrap_or(&text);
    let plural = if text == "1" { "" } else { "s" };
    format!("{text} {unit}{plural}")
}

struct Explainer<'m> {
    model: &'m Model,
    rows: Vec<ExplainRow>,
}

impl FitTrace for Explainer<'_> {
    fn rule(&mut self, index: usize, effect: FitEffect) {
        let rule = &self.model.fit.rules[index];
        self.rows.push(match effect {
            FitEffect::Points(p) => ExplainRow::new("fit", &rule.name, Some(p), "rule matched"),
            FitEffect::Disqualify => ExplainRow::new(
                "disqualify",
                &rule.name,
                None,
                "rule matched: the lead is disqualified and is never an MQL",
            ),
        });
    }
    fn completeness(&mut self, present: usize, total: usize, points: f64) {
        let max = self
            .model
            .fit
            .completeness
            .as_ref()
            .map_or(0.0, |c| c.points);
        self.rows.push(ExplainRow::new(
            "fit",
            "completeness",
            Some(points),
            format!("{present} of {total} fields present × {max} points"),
        ));
    }
    fn clamp(&mut self, before: f64, after: f64) {
        self.rows.push(ExplainRow::new(
            "fit",
            "fit clamp",
            Some(after - before),
            format!("fit {before:.2} clamped to {after:.2}"),
        ));
    }
}

impl EngagementTrace for Explainer<'_> {
    fn rule(&mut self, index: usize, events: i64, raw: f64, decayed: f64, points: f64) {
        let rule = &self.model.engagement.rules[index];
        let mut detail = match rule.decay {
            crate::model::EventDecay::None => "no decay".to_string(),
            crate::model::EventDecay::Exponential { half_life } => {
                format!("half-life {}", duration(half_life as i64))
            }
            crate::model::EventDecay::Window { window } => format!("window {}", duration(window)),
        };
        match rule.repeat {
            crate::model::Repeat::Every => {}
            crate::model::Repeat::Once => detail.push_str(", counts once (most recent event)"),
            crate::model::Repeat::Cap(c) => {
                detail.push_str(&format!(", rule cap {c}"));
                if points != decayed {
                    detail.push_str(" reached");
                }
            }
        }
        self.rows.push(ExplainRow {
            section: "engagement",
            item: rule.name.clone(),
            category: rule
                .category
                .map(|c| self.model.engagement.categories[c].name.clone()),
            events: Some(events),
            raw_points: Some(raw),
            decayed_points: Some(decayed),
            points: Some(points),
            detail,
        });
    }
    fn category_cap(&mut self, category: usize, before: f64, after: f64) {
        let name = &self.model.engagement.categories[category].name;
        let mut row = ExplainRow::new(
            "engagement",
            "category cap",
            Some(after - before),
            format!("category {name} capped from {before:.2} to {after}"),
        );
        row.category = Some(name.clone());
        self.rows.push(row);
    }
    fn total_cap(&mut self, before: f64, after: f64) {
        self.rows.push(ExplainRow::new(
            "engagement",
            "engagement cap",
            Some(after - before),
            format!("engagement capped from {before:.2} to {after}"),
        ));
    }
    fn inactivity(&mut self, idle: i64, penalty: f64) {
        self.rows.push(ExplainRow::new(
            "engagement",
            "inactivity decay",
            Some(-penalty),
            format!("no activity for {}", duration(idle)),
        ));
    }
    fn floor(&mut self, before: f64) {
        self.rows.push(ExplainRow::new(
            "engagement",
            "floor at zero",
            Some(-before),
            format!("engagement {before:.2} raised to 0"),
        ));
    }
}

impl Model {
    /// Explains a lead's score. `values` are the lead's normalized fit values.
    pub fn explain(&self, values: &[Value], state: Option<&dyn RuleTotals>) -> Vec<ExplainRow> {
        let mut ex = Explainer {
            model: self,
            rows: Vec::new(),
        };
        let fit = self.fit.evaluate_traced(values, &mut ex);
        if let Some(s) = state {
            let mut categories = Vec::new();
            self.engagement.finalize(s, &mut categories, &mut ex);
        }
        let score = self.score(fit, state);
        let mut rows = ex.rows;
        // The predictive model's log-odds: the intercept and every
        // contribution, which add up to the logit on its summary row.
        if let Some(p) = &self.predictive {
            if let Some(pr) = self.predict(p.fired(values), state) {
                rows.push(ExplainRow::new(
                    "predictive",
                    "intercept",
                    Some(p.intercept),
                    "log-odds",
                ));
                for (name, c) in &pr.contributions {
                    rows.push(ExplainRow::new(
                        "predictive",
                        name.clone(),
                        Some(*c),
                        "log-odds",
                    ));
                }
                rows.push(ExplainRow::new(
                    "summary",
                    "predictive",
                    Some(pr.logit),
                    format!(
                        "probability {:.4}; predictive score {}",
                        pr.probability, pr.score
                    ),
                ));
            }
        }
        let summary = [
            (
                "fit",
                Some(score.fit),
                format!("grade {}", score.grade.as_deref().unwrap_or("none")),
            ),
            (
                "engagement",
                Some(score.engagement),
                format!("label {}", score.label.as_deref().unwrap_or("none")),
            ),
            (
                "total",
                Some(score.total),
                format!(
                    "quadrant {}; {}",
                    score.quadrant.as_str(),
                    if score.mql { "MQL" } else { "not an MQL" }
                ),
            ),
        ];
        for (item, points, detail) in summary {
            rows.push(ExplainRow::new("summary", item, points, detail));
        }
        for (i, c) in score.categories.iter().enumerate() {
            let mut row = ExplainRow::new(
                "summary",
                "category",
                Some(c.score),
                if c.above_watermark {
                    "above watermark"
                } else if self.engagement.above_watermark(i, c.score) {
                    "above watermark, not hot: disqualified"
                } else {
                    "below watermark"
                },
            );
            row.category = Some(c.name.clone());
            rows.push(row);
        }
        rows
    }
}

#[cfg(test)]
mod duration_tests {
    #[test]
    fn durations_read_in_their_unit() {
        let m = 60_000_000;
        for (micros, want) in [
            (m, "1 minute"),
            (90 * m, "1.5 hours"),
            (120 * m, "2 hours"),
            (30 * 1_000_000, "30 seconds"),
            (7 * 1440 * m, "7 days"),
            (36 * 60 * m, "1.5 days"),
            (0, "0 seconds"),
        ] {
            assert_eq!(super::duration(micros), want);
        }
    }
}
