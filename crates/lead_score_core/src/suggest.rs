//! Suggested points: from a logistic regression on a lead's own fields to fit
//! rules a person can read and edit.
//!
//! Each field becomes features that are exactly rule conditions: a text or
//! boolean field one per common value (`eq`), a numeric field one per
//! quartile edge (`gt`, so the bands add up), and either one for a missing
//! value (`present: false`). The fitted coefficients, scaled so the highest
//! total the rules can give is the chosen maximum and rounded, are the points.

use crate::error::{Error, Result};
use crate::logistic;
use serde_json::{json, Value};

/// One lead field's values, in lead order.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    Number(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
    Bool(Vec<Option<bool>>),
}

/// A candidate rule: its field, condition and the values it takes (0/1 for a
/// fit rule; decayed matching events for an engagement rule).
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    pub field: String,
    pub name: String,
    /// A fit rule's `when`, e.g. `{"field": "country", "eq": "US"}`; null for
    /// an engagement rule.
    pub condition: Value,
    /// The event type of an engagement rule.
    pub event: Option<String>,
    pub values: Vec<f64>,
}

/// One engagement rule candidate per event type: `decayed[i]` holds lead i's
/// matching events, each weighed by the decay the rule will apply (so the
/// fitted coefficient is exactly log-odds per decayed event). Types that fewer
/// than [`MIN_LEADS_PER_FEATURE`] leads (or all but that many) have are left out.
pub fn event_features(events: Vec<(String, Vec<f64>)>) -> Vec<Feature> {
    events
        .into_iter()
        .filter(|(_, v)| {
            let on = v.iter().filter(|&&x| x > 0.0).count();
            on >= MIN_LEADS_PER_FEATURE && v.len() - on >= MIN_LEADS_PER_FEATURE
        })
        .map(|(event, values)| Feature {
            field: String::new(),
            name: event.clone(),
            condition: Value::Null,
            event: Some(event),
            values,
        })
        .collect()
}

/// A level or band needs this many leads to become a feature.
pub const MIN_LEADS_PER_FEATURE: usize = 30;

/// The candidate features of each field. Text that is blank, or one of the
/// model's `missing_values` (such as "Select"), is missing, as rule
/// conditions read it.
pub fn features(fields: &[(String, Column)], missing_values: &[String]) -> Vec<Feature> {
    let text_missing = |v: &Option<String>| {
        v.as_deref()
            .is_none_or(|s| s.trim().is_empty() || missing_values.iter().any(|m| m == s))
    };
    let mut out = Vec::new();
    for (field, column) in fields {
        let n = match column {
            Column::Number(v) => v.len(),
            Column::Text(v) => v.len(),
            Column::Bool(v) => v.len(),
        };
        let missing: Vec<bool> = match column {
            Column::Number(v) => v.iter().map(|x| x.is_none_or(|f| !f.is_finite())).collect(),
            Column::Text(v) => v.iter().map(&text_missing).collect(),
            Column::Bool(v) => v.iter().map(Option::is_none).collect(),
        };
        let mut push = |name: String, condition: Value, values: Vec<f64>| {
            let on = values.iter().filter(|&&v| v > 0.0).count();
            if on >= MIN_LEADS_PER_FEATURE && n - on >= MIN_LEADS_PER_FEATURE {
                out.push(Feature {
                    field: field.clone(),
                    name,
                    condition,
                    event: None,
                    values,
                });
            }
        };
        push(
            format!("{field} missing"),
            json!({"field": field, "present": false}),
            missing.iter().map(|&m| f64::from(u8::from(m))).collect(),
        );
        match column {
            Column::Number(v) => {
                let mut present: Vec<f64> = v
                    .iter()
                    .flatten()
                    .copied()
                    .filter(|f| f.is_finite())
                    .collect();
                present.sort_by(f64::total_cmp);
                let mut edges: Vec<f64> = Vec::new();
                if !present.is_empty() {
                    for q in [0.25, 0.5, 0.75] {
                        let e = present[((present.len() - 1) as f64 * q) as usize];
                        if edges.last() != Some(&e) {
                            edges.push(e);
                        }
                    }
                }
                for e in edges {
                    push(
                        format!("{field} > {e}"),
                        json!({"field": field, "gt": e}),
                        v.iter()
                            .map(|x| f64::from(u8::from(x.is_some_and(|f| f > e))))
                            .collect(),
                    );
                }
            }
            Column::Text(v) => {
                let mut counts: Vec<(String, usize)> = Vec::new();
                for s in v.iter().filter(|s| !text_missing(s)).flatten() {
                    match counts.iter_mut().find(|(k, _)| k == s) {
                        Some((_, c)) => *c += 1,
                        None => counts.push((s.clone(), 1)),
                    }
                }
                // The most common value is the reference level.
                counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                for (level, _) in counts.iter().skip(1) {
                    push(
                        format!("{field} = {level}"),
                        json!({"field": field, "eq": level}),
                        v.iter()
                            .map(|x| f64::from(u8::from(x.as_deref() == Some(level.as_str()))))
                            .collect(),
                    );
                }
            }
            Column::Bool(v) => push(
                format!("{field} = true"),
                json!({"field": field, "eq": true}),
                v.iter()
                    .map(|x| f64::from(u8::from(*x == Some(true))))
                    .collect(),
            ),
        }
    }
    out
}

fn rows(features: &[&Feature], outcomes: &[bool]) -> Vec<(Vec<f64>, bool)> {
    outcomes
        .iter()
        .enumerate()
        .map(|(i, &y)| (features.iter().map(|f| f.values[i]).collect(), y))
        .collect()
}

/// Greedy forward selection: at each step the feature whose addition gives
/// the highest penalized log-likelihood, until `k` are in.
pub fn forward_select(
    features: &[Feature],
    outcomes: &[bool],
    k: usize,
    l2: f64,
) -> Result<Vec<usize>> {
    let mut chosen: Vec<usize> = Vec::new();
    while chosen.len() < k.min(features.len()) {
        let mut best: Option<(usize, f64)> = None;
        for j in 0..features.len() {
            if chosen.contains(&j) {
                continue;
            }
            let mut set: Vec<&Feature> = chosen.iter().map(|&c| &features[c]).collect();
            set.push(&features[j]);
            let fit = logistic::fit(&rows(&set, outcomes), l2)?;
            let penalized = fit.log_likelihood
                - 0.5 * l2 * fit.coefficients[1..].iter().map(|b| b * b).sum::<f64>();
            if best.is_none_or(|(_, b)| penalized > b) {
                best = Some((j, penalized));
            }
        }
        match best {
            Some((j, _)) => chosen.push(j),
            None => break,
        }
    }
    Ok(chosen)
}

/// A suggested rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggested {
    pub name: String,
    /// A fit rule's `when`; null for an engagement rule.
    pub condition: Value,
    /// An engagement rule's event type.
    pub event: Option<String>,
    /// Points per lead (fit) or per decayed event (engagement).
    pub points: i64,
    pub coefficient: f64,
}

/// A fitted suggestion: the intercept and every feature the fit kept, with
/// its exact coefficient and rounded points (0 for some).
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub intercept: f64,
    pub features: Vec<Suggested>,
}

impl Suggestion {
    /// The rules: the features whose points did not round to 0.
    pub fn rules(&self) -> Vec<Suggested> {
        self.features
            .iter()
            .filter(|s| s.points != 0)
            .cloned()
            .collect()
    }

    /// The spec's `predictive` section: the fitted logistic model itself. A
    /// fit feature is its condition; an event feature weighs the decayed
    /// events of its engagement rule, so it is kept only when that rule exists
    /// (its points did not round to 0).
    pub fn predictive(&self) -> Value {
        let features: Vec<Value> = self
            .features
            .iter()
            .filter_map(|f| match &f.event {
                None => Some(json!({"name": f.name, "when": f.condition, "weight": f.coefficient})),
                Some(_) if f.points != 0 => Some(json!({
                    "name": format!("{} events", f.name),
                    "rule": f.name,
                    // Per decayed event, as the rule's decayed points / points.
                    "weight": f.coefficient,
                })),
                Some(_) => None,
            })
            .collect();
        json!({"intercept": self.intercept, "features": features})
    }
}

/// Fits the features (all, or the `max_rules` forward selection picks) and
/// turns the coefficients into integer points: scaled so that the highest
/// total the rules can give (the best value of each field) is `max_points`.
/// Rules that round to 0 points are left out.
pub fn suggest(
    features: &[Feature],
    outcomes: &[bool],
    max_points: f64,
    max_rules: Option<usize>,
    l2: f64,
) -> Result<Suggestion> {
    if features.is_empty() {
        return Err(Error::Invalid(format!(
            "no field has a value or band shared by at least {MIN_LEADS_PER_FEATURE} leads with and without it"
        )));
    }
    if features.len() >= logistic::MAX_FEATURES {
        return Err(Error::Invalid(format!(
            "the fields give {} candidate rules, more than the {} a fit takes; name fewer fields",
            features.len(),
            logistic::MAX_FEATURES - 1
        )));
    }
    if !(max_points > 0.0 && max_points.is_finite()) {
        return Err(Error::Invalid(format!(
            "max_points must be a positive number, got {max_points}"
        )));
    }
    let picked: Vec<usize> = match max_rules {
        Some(k) => forward_select(features, outcomes, k, l2)?,
        None => (0..features.len()).collect(),
    };
    let set: Vec<&Feature> = picked.iter().map(|&j| &features[j]).collect();
    let fit = logistic::fit(&rows(&set, outcomes), l2)?;
    // Coefficients of the features the fit kept (constant ones are dropped).
    let kept: Vec<(&Feature, f64)> = fit
        .features
        .iter()
        .zip(&fit.coefficients[1..])
        .map(|(&j, &b)| (set[j - 1], b))
        .collect();
    // The highest total: per field, its best rule (bands of a numeric field
    // add up, so their positive points do; its other levels exclude each other).
    let mut by_field: Vec<(&str, f64, f64)> = Vec::new(); // field, best single, sum of positive bands
    for (f, b) in kept.iter().filter(|(f, _)| f.event.is_none()) {
        let band = f.condition.get("gt").is_some();
        let entry = match by_field.iter_mut().find(|(name, _, _)| *name == f.field) {
            Some(e) => e,
            None => {
                by_field.push((&f.field, 0.0, 0.0));
                by_field.last_mut().expect("just pushed")
            }
        };
        if band {
            entry.2 += b.max(0.0);
        } else {
            entry.1 = entry.1.max(*b);
        }
    }
    let max_total: f64 = by_field
        .iter()
        .map(|(_, single, bands)| single.max(*bands))
        .sum();
    if max_total <= 0.0 {
        return Err(Error::Invalid(
            "no rule raises the odds of converting; there are no points to give".into(),
        ));
    }
    let scale = max_points / max_total;
    Ok(Suggestion {
        intercept: fit.coefficients[0],
        features: kept
            .into_iter()
            .map(|(f, b)| Suggested {
                name: f.name.clone(),
                condition: f.condition.clone(),
                event: f.event.clone(),
                points: (b * scale).round() as i64,
                coefficient: b,
            })
            .collect(),
    })
}

/// The fit rules of a model spec built from suggested rules.
pub fn fit_rules(suggested: &[Suggested]) -> Value {
    Value::Array(
        suggested
            .iter()
            .filter(|s| s.event.is_none())
            .map(|s| json!({"name": s.name, "when": s.condition, "points": s.points}))
            .collect(),
    )
}

/// The engagement rules of a model spec built from suggested rules: one per
/// event type, every event counting, with the section's default decay.
pub fn engagement_rules(suggested: &[Suggested]) -> Value {
    Value::Array(
        suggested
            .iter()
            .filter_map(|s| {
                s.event
                    .as_ref()
                    .map(|e| json!({"name": s.name, "event": e, "points": s.points}))
            })
            .collect(),
    )
}
