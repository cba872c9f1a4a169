//! Suggested points: from a logistic regression on a lead's own fields to fit
//! rules a person can read and edit.
//!
//! Each field becomes features that are exactly rule conditions: a text or
//! boolean field one per common value (`eq`), a numeric field one per
//! quartile edge (`gt`, so the bands add up), and either one for a missing
//! value (`present: false`). The fitted coefficients, scaled so the highest
//! total the rules can give is the chosen maximum and made integers (each
//! rule's floor or ceiling, `refine_points`), are the points.

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
/// than [`MIN_LEADS_PER_FEATURE`] leads have are left out, and so are types
/// that every lead but fewer than that many has the same decayed count of (a
/// count the same for nearly all leads says nothing). A type every lead has
/// counts when the counts differ: leads a first visit created all have visits,
/// and how many can predict.
pub fn event_features(events: Vec<(String, Vec<f64>)>) -> Vec<Feature> {
    events
        .into_iter()
        .filter(|(_, v)| {
            let on = v.iter().filter(|&&x| x > 0.0).count();
            on >= MIN_LEADS_PER_FEATURE && varied(v)
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

/// Whether at least [`MIN_LEADS_PER_FEATURE`] leads' values differ from the
/// most common one (compared exactly: decayed counts of equal histories are
/// equal bits).
fn varied(values: &[f64]) -> bool {
    let mut sorted: Vec<u64> = values.iter().map(|x| x.to_bits()).collect();
    sorted.sort_unstable();
    let mut most = 0;
    let mut run = 0;
    for (i, b) in sorted.iter().enumerate() {
        run = if i > 0 && sorted[i - 1] == *b {
            run + 1
        } else {
            1
        };
        most = most.max(run);
    }
    values.len() - most >= MIN_LEADS_PER_FEATURE
}

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
            // As the engine reads a number: NaN is missing, ±Infinity a value
            // (above, or below, every band).
            Column::Number(v) => v.iter().map(|x| x.is_none_or(f64::is_nan)).collect(),
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
                // A value many leads share at the bottom (0 visits, say) is a
                // band of its own; the quartiles split the values above it.
                let above = match present.first() {
                    Some(&lowest)
                        if present.iter().take_while(|&&v| v == lowest).count()
                            >= MIN_LEADS_PER_FEATURE =>
                    {
                        edges.push(lowest);
                        present.iter().copied().filter(|&v| v > lowest).collect()
                    }
                    _ => present,
                };
                if !above.is_empty() {
                    for q in [0.25, 0.5, 0.75] {
                        let e = above[((above.len() - 1) as f64 * q) as usize];
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
            crate::interrupt::check();
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
/// its exact coefficient and integer points (0 for some).
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub intercept: f64,
    pub features: Vec<Suggested>,
    /// The features (names) the outcome separates on, or that copy others:
    /// their weights are not identified ([`logistic::Fit::unidentified`]),
    /// or the fit did not converge; a caller warns (`l2 > 0` fixes it).
    pub unidentified: Vec<String>,
    pub converged: bool,
}

impl Suggestion {
    /// The rules: the features whose integer points are not 0.
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
    /// (its integer points are not 0).
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

/// Checks `suggest_points`' arguments before any work: each field and event
/// type named once (arrays are numbered from 1, as in SQL), and `max_points`
/// positive and within a rule's limit ([`crate::model::MAX_POINTS`]), so the
/// draft it writes is a spec that validates.
pub fn check_arguments(fields: &[String], event_types: &[String], max_points: f64) -> Result<()> {
    for (what, names) in [("fields", fields), ("event_types", event_types)] {
        for (j, name) in names.iter().enumerate() {
            if let Some(i) = names[..j].iter().position(|n| n == name) {
                return Err(Error::Invalid(format!(
                    "{what}[{}]: {name:?} is named twice (also {what}[{}])",
                    j + 1,
                    i + 1
                )));
            }
        }
    }
    if !(max_points > 0.0 && max_points <= crate::model::MAX_POINTS) {
        return Err(Error::Invalid(format!(
            "max_points must be a positive number of at most {}, got {max_points}",
            crate::model::MAX_POINTS
        )));
    }
    Ok(())
}

/// Fits the features (all, or the `max_rules` forward selection picks) and
/// turns the coefficients into integer points: scaled so that the highest
/// total the rules can give (the best value of each field) is `max_points`.
/// Rules left at 0 points are left out.
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
    check_arguments(&[], &[], max_points)?;
    let picked: Vec<usize> = match max_rules {
        Some(k) => forward_select(features, outcomes, k, l2)?,
        None => (0..features.len()).collect(),
    };
    let mut set: Vec<&Feature> = picked.iter().map(|&j| &features[j]).collect();
    // An event feature needs its engagement rule in the draft to stay in the
    // predictive section; one whose points come to 0 gets no rule, so it is
    // dropped and the rest fitted again: the draft's probabilities are then
    // those of a logistic regression on exactly its features.
    let (fit, kept, points) = loop {
        let (fit, kept, points) = fit_points(&set, outcomes, max_points, l2)?;
        let unruled: Vec<&Feature> = kept
            .iter()
            .zip(&points)
            .filter(|((f, _), &p)| f.event.is_some() && p == 0)
            .map(|((f, _), _)| *f)
            .collect();
        if unruled.is_empty() {
            break (fit, kept, points);
        }
        set.retain(|f| !unruled.iter().any(|u| std::ptr::eq(*u, *f)));
    };
    // An event's points are per event, so max_points does not bound them: a
    // rule past a rule's limit would make a draft no spec validates.
    if let Some(((f, _), p)) = kept
        .iter()
        .zip(&points)
        .find(|(_, p)| (**p as f64).abs() > crate::model::MAX_POINTS)
    {
        return Err(Error::Invalid(format!(
            "max_points: {:?} would get {p} points per event, more than the {} a rule may have; pass a smaller max_points",
            f.name,
            crate::model::MAX_POINTS
        )));
    }
    let unidentified = fit
        .unidentified
        .iter()
        .map(|&j| match j {
            0 => "(intercept)".to_string(),
            j => set[fit.features[j - 1] - 1].name.clone(),
        })
        .collect();
    Ok(Suggestion {
        intercept: fit.coefficients[0],
        unidentified,
        converged: fit.converged,
        features: kept
            .into_iter()
            .zip(points)
            .map(|((f, b), points)| Suggested {
                name: f.name.clone(),
                condition: f.condition.clone(),
                event: f.event.clone(),
                points,
                coefficient: b,
            })
            .collect(),
    })
}

/// A fitted feature (the feature and its coefficient), as the fit kept it.
type Weighted<'a> = (&'a Feature, f64);

/// Fits `set` and makes its points integers: the fit, the features it kept (constant ones are
/// dropped) with their coefficients, and their integer points.
fn fit_points<'a>(
    set: &[&'a Feature],
    outcomes: &[bool],
    max_points: f64,
    l2: f64,
) -> Result<(logistic::Fit, Vec<Weighted<'a>>, Vec<i64>)> {
    crate::interrupt::check();
    let fit = logistic::fit(&rows(set, outcomes), l2)?;
    let kept: Vec<Weighted<'a>> = fit
        .features
        .iter()
        .zip(&fit.coefficients[1..])
        .map(|(&j, &b)| (set[j - 1], b))
        .collect();
    let fit_only: Vec<Weighted<'a>> = kept
        .iter()
        .filter(|(f, _)| f.event.is_none())
        .map(|(f, b)| (*f, *b))
        .collect();
    let max_total = highest_total(&fit_only);
    if max_total <= 0.0 {
        return Err(Error::Invalid(
            "no rule raises the odds of converting; there are no points to give".into(),
        ));
    }
    let scale = max_points / max_total;
    let scaled: Vec<f64> = kept.iter().map(|(_, b)| b * scale).collect();
    let points = refine_points(&kept, outcomes, &scaled, max_points);
    Ok((fit, kept, points))
}

/// The highest total fit rules with these weights can give a lead: the sum
/// over fields of each field's best. A field's rules other than numeric
/// bands (its text or boolean levels, and "missing") exclude each other, and
/// a lead may have none of them (the reference level: 0), so they give at
/// most the largest of 0 and their weights. A numeric field's bands are `gt`
/// thresholds, so a lead above one threshold is above every lower one too:
/// the bands give the sums of the weights of the lowest 0, 1, 2, … thresholds,
/// and their best is the largest of those running sums (0 included), which
/// is not the sum of the positive weights when the signs are mixed. A
/// missing value has no band, so the field's best is the larger of the two.
fn highest_total(weights: &[(&Feature, f64)]) -> f64 {
    /// A band: its `gt` threshold and weight.
    type Band = (f64, f64);
    // field, best single rule (or 0), its bands
    let mut by_field: Vec<(&str, f64, Vec<Band>)> = Vec::new();
    for (f, b) in weights {
        let entry = match by_field.iter_mut().find(|(name, _, _)| *name == f.field) {
            Some(e) => e,
            None => {
                by_field.push((&f.field, 0.0, Vec::new()));
                by_field.last_mut().expect("just pushed")
            }
        };
        match f.condition.get("gt").and_then(serde_json::Value::as_f64) {
            Some(threshold) => entry.2.push((threshold, *b)),
            None => entry.1 = entry.1.max(*b),
        }
    }
    by_field
        .iter_mut()
        .map(|(_, single, bands)| {
            bands.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut running = 0.0;
            let mut best = 0.0f64;
            for (_, w) in bands.iter() {
                running += w;
                best = best.max(running);
            }
            single.max(best)
        })
        .sum()
}

/// Log-likelihood of the outcomes under the best logistic curve of the
/// score `s` (intercept and slope fitted by Newton from `ab`, which is
/// updated): how well the integer score ranks and separates the leads.
fn curve_log_likelihood(s: &[f64], outcomes: &[bool], ab: &mut [f64; 2]) -> f64 {
    let rows: Vec<(Vec<f64>, bool)> = s
        .iter()
        .zip(outcomes)
        .map(|(&v, &y)| (vec![v], y))
        .collect();
    let mut ll = f64::NEG_INFINITY;
    for _ in 0..8 {
        crate::interrupt::check();
        let mut step = logistic::Step::new(2);
        for (x, y) in &rows {
            if step.add(ab, x, *y).is_err() {
                return f64::NEG_INFINITY;
            }
        }
        ll = step.log_likelihood;
        match step.newton(ab, 0.0) {
            Some(n) if n.iter().all(|v| v.is_finite()) => {
                let moved = (n[0] - ab[0]).abs() + (n[1] - ab[1]).abs();
                *ab = [n[0], n[1]];
                if moved < 1e-9 {
                    break;
                }
            }
            _ => break,
        }
    }
    ll
}

/// Better integers than rounding to nearest: each rule's points are its
/// scaled coefficient rounded down or up, chosen by coordinate steps while the
/// outcomes' log-likelihood under the score's best logistic curve rises, then
/// while the training AUC rises, the highest fit total staying within
/// `max_points`. Rounding each coefficient on its own loses what a few
/// points' error adds up to.
fn refine_points(
    kept: &[(&Feature, f64)],
    outcomes: &[bool],
    scaled: &[f64],
    max_points: f64,
) -> Vec<i64> {
    let mut points: Vec<i64> = scaled.iter().map(|v| v.round() as i64).collect();
    // Each rule stays its scaled coefficient rounded down or up.
    let allowed = |i: usize, p: i64| p >= scaled[i].floor() as i64 && p <= scaled[i].ceil() as i64;
    let n = outcomes.len();
    let mut s = vec![0.0; n];
    for ((f, _), &p) in kept.iter().zip(&points) {
        for (si, v) in s.iter_mut().zip(&f.values) {
            *si += p as f64 * v;
        }
    }
    let total = |points: &[i64]| {
        let w: Vec<(&Feature, f64)> = kept
            .iter()
            .zip(points)
            .filter(|((f, _), _)| f.event.is_none())
            .map(|((f, _), &p)| (*f, p as f64))
            .collect();
        highest_total(&w)
    };
    // Rounding alone may overshoot the maximum by a point or two: no step
    // may take it further.
    let limit = max_points.max(total(&points)) + 1e-9;
    let within = |points: &[i64]| total(points) <= limit;
    let mut ab = [0.0, 0.0];
    let mut best = curve_log_likelihood(&s, outcomes, &mut ab);
    for _pass in 0..20 {
        let mut improved = false;
        for i in 0..kept.len() {
            crate::interrupt::check();
            for delta in [1i64, -1] {
                points[i] += delta;
                if !allowed(i, points[i]) || !within(&points) {
                    points[i] -= delta;
                    continue;
                }
                let values = &kept[i].0.values;
                for (si, v) in s.iter_mut().zip(values) {
                    *si += delta as f64 * v;
                }
                let mut trial = ab;
                let ll = curve_log_likelihood(&s, outcomes, &mut trial);
                if ll > best + 1e-9 * (1.0 + best.abs()) {
                    best = ll;
                    ab = trial;
                    improved = true;
                    break;
                }
                for (si, v) in s.iter_mut().zip(values) {
                    *si -= delta as f64 * v;
                }
                points[i] -= delta;
            }
        }
        if !improved {
            break;
        }
    }
    // Then the ranking itself: steps that raise the training AUC (ties
    // counted half), which the curve's likelihood does not see directly.
    let mut best_auc = rank_auc(&s, outcomes);
    for _pass in 0..20 {
        let mut improved = false;
        for i in 0..kept.len() {
            crate::interrupt::check();
            for delta in [1i64, -1] {
                points[i] += delta;
                if !allowed(i, points[i]) || !within(&points) {
                    points[i] -= delta;
                    continue;
                }
                let values = &kept[i].0.values;
                for (si, v) in s.iter_mut().zip(values) {
                    *si += delta as f64 * v;
                }
                let auc = rank_auc(&s, outcomes);
                if auc > best_auc + 1e-12 {
                    best_auc = auc;
                    improved = true;
                    break;
                }
                for (si, v) in s.iter_mut().zip(values) {
                    *si -= delta as f64 * v;
                }
                points[i] -= delta;
            }
        }
        if !improved {
            break;
        }
    }
    points
}

/// ROC AUC of scores against outcomes by midranks (ties count half); 0.5
/// without both outcomes.
fn rank_auc(s: &[f64], outcomes: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..s.len()).collect();
    order.sort_by(|&a, &b| s[a].total_cmp(&s[b]));
    let (mut rank_sum, mut i) = (0.0, 0);
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && s[order[j + 1]] == s[order[i]] {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += mid * order[i..=j].iter().filter(|&&k| outcomes[k]).count() as f64;
        i = j + 1;
    }
    let pos = outcomes.iter().filter(|&&y| y).count() as f64;
    let neg = outcomes.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return 0.5;
    }
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
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
