//! The predictive score: a logistic model beside the rule score.
//!
//! A spec's optional `predictive` section holds an intercept and weighted
//! features, in log-odds. A feature is a condition on the lead's fields
//! (`when`, contributing its weight when it holds) or an engagement rule
//! (`rule`, contributing its weight per decayed matching event, decayed as the
//! rule decays its points). The probability is the logistic function of the
//! intercept plus every contribution, so the contributions a lead's score
//! lists add up exactly to its log-odds: no attribution is approximated.

use crate::condition::{parse_cond, Cond, Value};
use crate::engagement::RuleTotals;
use crate::error::{Error, Result};
use crate::model::{EngagementModel, Model};
use crate::reader::{index_path, non_empty_name, Obj};
use serde_json::Value as Json;

/// The most features a predictive section may have: a fired lead-field
/// feature is stored as a 2-byte index.
pub const MAX_PREDICTIVE_FEATURES: usize = 1000;
/// How many contributions `top_features` lists by default.
pub const DEFAULT_TOP: usize = 3;
/// The largest |weight| or |intercept|, in log-odds.
pub const MAX_WEIGHT: f64 = 1e3;

#[derive(Debug, Clone)]
pub struct Predictive {
    pub intercept: f64,
    pub features: Vec<PredictiveFeature>,
    /// How many contributions a score lists in `top_features`.
    pub top: usize,
}

#[derive(Debug, Clone)]
pub struct PredictiveFeature {
    pub name: String,
    pub(crate) term: Term,
    pub weight: f64,
}

impl PredictiveFeature {
    /// The engagement rule whose decayed events this feature weighs, if any.
    pub fn rule(&self) -> Option<usize> {
        match self.term {
            Term::Rule(r) => Some(r),
            Term::When(_) => None,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Term {
    /// Holds or not, on the lead's fields.
    When(Cond),
    /// Decayed matching events of this engagement rule (its decayed points
    /// divided by its points).
    Rule(usize),
}

/// One lead's prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub probability: f64,
    /// `round(100 × probability)`, 0 to 100.
    pub score: i32,
    /// The log-odds.
    pub logit: f64,
    /// Every non-zero contribution, largest in absolute value first (ties by
    /// name). With the intercept they add up to `logit`.
    pub contributions: Vec<(String, f64)>,
    /// How many of them a score lists (the section's `top`).
    pub top: usize,
}

fn weight_at(obj: &mut Obj, key: &'static str) -> Result<f64> {
    let path = obj.path_of(key);
    let w = obj.req_f64(key)?;
    if w.abs() > MAX_WEIGHT {
        return Err(Error::spec(
            &path,
            format!("must be between -1000 and 1000 (log-odds), got {w}"),
        ));
    }
    Ok(w)
}

/// Parses the `predictive` section. Lead fields its conditions name are added
/// to `fields` (the fit's slots), engagement rules are found by name.
pub(crate) fn parse_predictive(
    value: &Json,
    fields: &mut Vec<String>,
    engagement: &EngagementModel,
) -> Result<Predictive> {
    let mut obj = Obj::new(value, "predictive")?;
    let intercept = weight_at(&mut obj, "intercept")?;
    let top = match obj.opt_f64("top")? {
        None => DEFAULT_TOP,
        Some(t) if t.fract() == 0.0 && (0.0..=100.0).contains(&t) => t as usize,
        Some(t) => {
            return Err(Error::spec(
                "predictive.top",
                format!("must be an integer from 0 to 100, got {t}"),
            ))
        }
    };
    let features_path = obj.path_of("features");
    let items = obj.req_array("features")?;
    if items.len() > MAX_PREDICTIVE_FEATURES {
        return Err(Error::spec(
            &features_path,
            format!(
                "has {} features, more than the {MAX_PREDICTIVE_FEATURES} allowed",
                items.len()
            ),
        ));
    }
    let mut resolve = |name: &str, path: &str| -> Result<usize> {
        if name.trim().is_empty() {
            return Err(Error::spec(path, "must not be empty"));
        }
        Ok(match fields.iter().position(|f| f == name) {
            Some(i) => i,
            None => {
                fields.push(name.to_string());
                fields.len() - 1
            }
        })
    };
    let mut features: Vec<PredictiveFeature> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = index_path(&features_path, i);
        let mut f = Obj::new(item, &path)?;
        let name = non_empty_name(&mut f, "name")?.to_string();
        if features.iter().any(|x| x.name == name) || name == "intercept" {
            return Err(Error::spec(
                &f.path_of("name"),
                format!("duplicate feature name \"{name}\""),
            ));
        }
        let term = match (f.has("when"), f.has("rule")) {
            (true, false) => {
                let when_path = f.path_of("when");
                Term::When(parse_cond(f.req("when")?, &when_path, &mut resolve)?)
            }
            (false, true) => {
                let rule_path = f.path_of("rule");
                let rule = f.req_str("rule")?;
                match engagement.rules.iter().position(|r| r.name == rule) {
                    // The aggregates sum points in fixed point: a rule under
                    // half its unit sums 0 there, and would count no events.
                    Some(r)
                        if (engagement.rules[r].points * crate::engagement::UNITS_PER_POINT)
                            .round()
                            != 0.0 =>
                    {
                        Term::Rule(r)
                    }
                    Some(r) => {
                        return Err(Error::spec(
                            &rule_path,
                            format!(
                                "engagement rule \"{rule}\" gives {} points, 0 at the aggregates' resolution (1e-9 a point), so it counts no decayed events",
                                crate::float_text::float8_text(engagement.rules[r].points)
                            ),
                        ))
                    }
                    None => {
                        return Err(Error::spec(
                            &rule_path,
                            format!("names no engagement rule: \"{rule}\""),
                        ))
                    }
                }
            }
            (true, true) => {
                return Err(Error::spec(&path, "has both when and rule; use one"));
            }
            (false, false) => {
                return Err(Error::spec(
                    &f.path_of("when"),
                    "is required but missing (or name an engagement \"rule\")",
                ))
            }
        };
        let weight = weight_at(&mut f, "weight")?;
        f.finish()?;
        features.push(PredictiveFeature { name, term, weight });
    }
    obj.finish()?;
    Ok(Predictive {
        intercept,
        features,
        top,
    })
}

impl Predictive {
    /// The lead-field features that hold for `values` (normalized as the fit
    /// reads them), as stored indices.
    pub fn fired(&self, values: &[Value]) -> Vec<u16> {
        self.features
            .iter()
            .enumerate()
            .filter(|(_, f)| matches!(&f.term, Term::When(c) if c.eval(values)))
            .map(|(i, _)| i as u16)
            .collect()
    }
}

/// Fired indices as stored in a score row: 2 bytes each, little-endian.
pub fn encode_fired(fired: &[u16]) -> Vec<u8> {
    fired.iter().flat_map(|i| i.to_le_bytes()).collect()
}

/// The stored indices; a trailing odd byte is ignored.
pub fn decode_fired(bytes: &[u8]) -> impl Iterator<Item = u16> + '_ {
    bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
}

impl Model {
    /// The prediction from the lead-field features that fired (indices into
    /// `predictive.features`; others are ignored) and the engagement state.
    pub fn predict(
        &self,
        fired: impl IntoIterator<Item = u16>,
        state: Option<&dyn RuleTotals>,
    ) -> Option<Prediction> {
        let p = self.predictive.as_ref()?;
        let mut contributions: Vec<(String, f64)> = Vec::new();
        for i in fired {
            if let Some(f) = p.features.get(usize::from(i)) {
                if matches!(f.term, Term::When(_)) && f.weight != 0.0 {
                    contributions.push((f.name.clone(), f.weight));
                }
            }
        }
        if let Some(s) = state {
            for f in &p.features {
                if let Term::Rule(r) = f.term {
                    let events = s.decayed(r) / self.engagement.rules[r].points;
                    let c = f.weight * events;
                    if c != 0.0 {
                        contributions.push((f.name.clone(), c));
                    }
                }
            }
        }
        contributions.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
        let logit = p.intercept + contributions.iter().map(|(_, c)| c).sum::<f64>();
        let probability = 1.0 / (1.0 + (-logit).exp());
        Some(Prediction {
            probability,
            score: (100.0 * probability).round() as i32,
            logit,
            contributions,
            top: p.top,
        })
    }
}
