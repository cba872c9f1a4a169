//! Suggested points: rules a model can run, scaled to the chosen maximum, that
//! score each lead exactly as the features the fit saw.
use lead_score_core::suggest::{self, Column};
use lead_score_core::{Model, Value};
use serde_json::json;

/// 2,000 leads: Software and bigger companies convert more; `colour` is noise;
/// "Select" is the form's placeholder for a missing industry.
fn data() -> (Vec<(String, Column)>, Vec<bool>) {
    let mut state = 7u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut industry, mut employees, mut colour, mut won) = (vec![], vec![], vec![], vec![]);
    for _ in 0..2000 {
        let i = ["Software", "Retail", "Health", "Select"][(next() * 4.0) as usize];
        let e = if next() < 0.1 {
            None
        } else {
            Some((next() * 1000.0).round())
        };
        let c = ["red", "blue"][(next() * 2.0) as usize];
        let eta = -1.0 + if i == "Software" { 1.5 } else { 0.0 } + e.map_or(-0.5, |e| e / 500.0);
        won.push(next() < 1.0 / (1.0 + (-eta).exp()));
        industry.push(Some(i.to_string()));
        employees.push(e);
        colour.push(Some(c.to_string()));
    }
    (
        vec![
            ("industry".into(), Column::Text(industry)),
            ("employees".into(), Column::Number(employees)),
            ("colour".into(), Column::Text(colour)),
        ],
        won,
    )
}

fn model_of(rules: serde_json::Value) -> Model {
    Model::from_json(&json!({
        "fit": {"missing_values": ["Select"], "rules": rules},
        "engagement": {"rules": [{"name": "visit", "event": "page_view", "points": 1}]},
        "classification": {"grades": [{"name": "A"}], "labels": [{"name": "hot"}],
                           "quadrant": {"fit": 10, "engagement": 10}, "mql": {"min_total": 10}}
    }))
    .unwrap()
}

#[test]
fn suggested_rules_run_and_score_what_the_fit_saw() {
    let (fields, won) = data();
    let missing = vec!["Select".to_string()];
    let features = suggest::features(&fields, &missing);
    let rules = suggest::suggest(&features, &won, 20.0, None, 1.0)
        .unwrap()
        .rules();
    let software = rules
        .iter()
        .find(|r| r.name == "industry = Software")
        .unwrap();
    assert!(software.points > 0, "{rules:?}");
    // Points are each coefficient scaled, rounded down or up: never against its sign.
    for r in &rules {
        assert!(r.points.signum() == r.coefficient.signum() as i64, "{r:?}");
    }
    let scale = software.points as f64 / software.coefficient;
    for r in &rules {
        assert!(
            (r.points as f64 - r.coefficient * scale).abs() < 1.0 + 1.0 / scale.min(1.0),
            "{r:?}"
        );
    }
    let model = model_of(suggest::fit_rules(&rules));
    // Each lead's fit is the sum of the points of the features it has.
    let names = &model.fit.fields;
    let Column::Text(industry) = &fields[0].1 else {
        unreachable!()
    };
    let Column::Number(employees) = &fields[1].1 else {
        unreachable!()
    };
    let Column::Text(colour) = &fields[2].1 else {
        unreachable!()
    };
    let mut best = 0.0f64;
    for i in 0..won.len() {
        let values: Vec<Value> = names
            .iter()
            .map(|n| match n.as_str() {
                "industry" => Value::Text(industry[i].as_deref().unwrap()),
                "employees" => employees[i].map_or(Value::Null, Value::Num),
                "colour" => Value::Text(colour[i].as_deref().unwrap()),
                other => panic!("unexpected field {other}"),
            })
            .map(|v| model.fit.normalize(v))
            .collect();
        let fit = model.fit.evaluate(&values).score;
        let expected: i64 = rules
            .iter()
            .map(|r| {
                let f = features.iter().find(|f| f.name == r.name).unwrap();
                if f.values[i] > 0.0 {
                    r.points
                } else {
                    0
                }
            })
            .sum();
        assert_eq!(fit, expected as f64, "lead {i}");
        best = best.max(fit);
    }
    // Scaled so the best a lead can do is the maximum (give or take rounding).
    assert!(best <= 20.0 + rules.len() as f64 * 0.5, "{best}");
}

#[test]
fn a_sparse_model_keeps_the_informative_fields() {
    let (fields, won) = data();
    let features = suggest::features(&fields, &["Select".to_string()]);
    let picked = suggest::forward_select(&features, &won, 2, 1.0).unwrap();
    let names: Vec<&str> = picked.iter().map(|&j| features[j].field.as_str()).collect();
    assert!(!names.contains(&"colour"), "{names:?}");
    let rules = suggest::suggest(&features, &won, 20.0, Some(2), 1.0)
        .unwrap()
        .rules();
    assert!(rules.len() <= 2, "{rules:?}");
}

#[test]
fn nothing_to_learn_is_an_error() {
    let fields = vec![("x".to_string(), Column::Text(vec![Some("a".into()); 100]))];
    let features = suggest::features(&fields, &[]);
    assert!(features.is_empty());
    assert!(suggest::suggest(&features, &[true; 100], 20.0, None, 1.0).is_err());
}

/// Leads with `id` 0..999 whose conversion rate by id quartile is 10%, 60%,
/// 20%, 30%, and a text field `tier` whose levels lift or lower the odds: the
/// id bands (`gt` thresholds, cumulative) get weights of mixed signs.
fn banded() -> (Vec<(String, Column)>, Vec<bool>) {
    let (mut id, mut tier, mut won) = (vec![], vec![], vec![]);
    for i in 0..1000usize {
        let rate = [1, 6, 2, 3][i / 250];
        let t = ["a", "a", "b", "c"][(i / 10) % 4];
        let lift = match t {
            "b" => 2,
            "c" => -1,
            _ => 0,
        };
        won.push(((i % 10) as i64) < (rate + lift).clamp(0, 9));
        id.push(Some(i as f64));
        tier.push(Some(t.to_string()));
    }
    (
        vec![
            ("id".into(), Column::Number(id)),
            ("tier".into(), Column::Text(tier)),
        ],
        won,
    )
}

#[test]
fn mixed_sign_bands_are_scaled_by_the_highest_total_a_lead_can_reach() {
    let (fields, won) = banded();
    let features = suggest::features(&fields, &[]);
    let s = suggest::suggest(&features, &won, 100.0, None, 0.0).unwrap();
    let coef = |name: &str| {
        s.features
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("{name}: {s:?}"))
            .coefficient
    };
    let bands = [coef("id > 249"), coef("id > 499"), coef("id > 749")];
    assert!(
        bands[0] > 0.0 && bands[1] < 0.0 && bands[2] > 0.0,
        "{bands:?}"
    );
    // Each lead's fit total from the points; every id quartile meets every tier.
    let rules = s.rules();
    let mut best = f64::NEG_INFINITY;
    for i in 0..won.len() {
        let total: i64 = rules
            .iter()
            .map(|r| {
                let f = features.iter().find(|f| f.name == r.name).unwrap();
                if f.values[i] > 0.0 {
                    r.points
                } else {
                    0
                }
            })
            .sum();
        best = best.max(total as f64);
    }
    // The highest total is 100 give or take each rule's rounding, not the sum
    // of the positive band weights scaled to 100.
    assert!(
        (best - 100.0).abs() <= rules.len() as f64,
        "{best}: {rules:?}"
    );
    // The points are the coefficients on one scale: the best id prefix plus
    // the best tier is 100.
    let prefix = [
        0.0,
        bands[0],
        bands[0] + bands[1],
        bands[0] + bands[1] + bands[2],
    ];
    let best_id = prefix.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let best_tier = 0.0f64.max(coef("tier = b")).max(coef("tier = c"));
    let scale = 100.0 / (best_id + best_tier);
    for f in &s.features {
        assert!(
            (f.points as f64 - f.coefficient * scale).abs() <= 1.0,
            "{f:?}, scale {scale}"
        );
    }
}

#[test]
fn an_event_rule_that_rounds_to_nothing_is_fitted_again_without() {
    // Noise events: a type every lead has 0 to 3 of, unrelated to converting.
    // Its points round to 0, so the draft has no rule for it and its
    // predictive section cannot weigh it: the draft is then the fit without
    // it, whose probabilities are a logistic regression's on exactly its
    // features (the first fit's intercept and weights were kept before).
    let (fields, won) = data();
    let missing = vec!["Select".to_string()];
    let fit_features = suggest::features(&fields, &missing);
    let mut state = 11u64;
    let noise: Vec<f64> = (0..won.len())
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) % 4) as f64
        })
        .collect();
    let events = suggest::event_features(vec![("noise".into(), noise)]);
    assert_eq!(events.len(), 1);
    let all: Vec<_> = fit_features.iter().cloned().chain(events).collect();
    let with = suggest::suggest(&all, &won, 20.0, None, 1.0).unwrap();
    assert!(with.features.iter().all(|f| f.event.is_none()));
    let without = suggest::suggest(&fit_features, &won, 20.0, None, 1.0).unwrap();
    assert_eq!(with.predictive(), without.predictive());
    assert_eq!(with.rules(), without.rules());
}

#[test]
fn infinity_is_a_value_and_nan_is_missing_as_the_engine_reads_them() {
    // 400 leads: 100 each of 1..=100 spread, +Infinity, NaN, no value. The
    // engine reads NaN as absent and Infinity as a number above every band,
    // so the features must too: "missing" holds NaN and NULL only, and every
    // `gt` band holds the Infinity leads.
    let values: Vec<Option<f64>> = (0..400)
        .map(|i| match i % 4 {
            0 => Some(f64::from(i % 97 + 1)),
            1 => Some(f64::INFINITY),
            2 => Some(f64::NAN),
            _ => None,
        })
        .collect();
    let features = suggest::features(&[("n".into(), Column::Number(values.clone()))], &[]);
    let missing = features.iter().find(|f| f.name == "n missing").unwrap();
    for (v, m) in values.iter().zip(&missing.values) {
        assert_eq!(*m == 1.0, v.is_none_or(f64::is_nan), "{v:?}");
    }
    let bands: Vec<_> = features
        .iter()
        .filter(|f| f.condition.get("gt").is_some())
        .collect();
    assert!(!bands.is_empty());
    for band in bands {
        let edge = band.condition["gt"].as_f64().unwrap();
        assert!(edge.is_finite());
        for (v, b) in values.iter().zip(&band.values) {
            assert_eq!(
                *b == 1.0,
                v.is_some_and(|x| x > edge),
                "{v:?} against {edge}"
            );
        }
    }
}

#[test]
fn a_field_the_outcome_separates_on_is_reported_without_a_penalty() {
    // Every "yes" lead converted: without a penalty its weight grows without
    // bound, so the fit says it is not identified (suggest_points warns, as
    // logistic_regression does); with the default l2 it is finite.
    let (mut fields, won) = data();
    let sep: Vec<Option<String>> = won
        .iter()
        .enumerate()
        .map(|(i, &w)| Some(if w && i % 2 == 0 { "yes" } else { "no" }.to_string()))
        .collect();
    fields.push(("sep".into(), Column::Text(sep)));
    let missing = vec!["Select".to_string()];
    let features = suggest::features(&fields, &missing);
    let free = suggest::suggest(&features, &won, 20.0, None, 0.0).unwrap();
    assert!(
        !free.converged || free.unidentified.iter().any(|n| n.starts_with("sep")),
        "{:?}",
        free.unidentified
    );
    let penalized = suggest::suggest(&features, &won, 20.0, None, 1.0).unwrap();
    assert!(penalized.converged && penalized.unidentified.is_empty());
}

#[test]
fn arguments_name_what_is_wrong_before_any_work() {
    use lead_score_core::suggest::check_arguments;
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let err = |r: lead_score_core::Result<()>| r.unwrap_err().to_string();
    assert!(check_arguments(&s(&["industry", "title"]), &s(&["visit"]), 20.0).is_ok());
    assert_eq!(
        err(check_arguments(
            &s(&["industry", "title", "industry"]),
            &[],
            20.0
        )),
        "fields[3]: \"industry\" is named twice (also fields[1])"
    );
    assert_eq!(
        err(check_arguments(
            &s(&["industry"]),
            &s(&["visit", "visit"]),
            20.0
        )),
        "event_types[2]: \"visit\" is named twice (also event_types[1])"
    );
    for bad in [0.0, -1.0, 2147483647.0, f64::NAN, f64::INFINITY] {
        assert!(
            err(check_arguments(&s(&["industry"]), &[], bad)).starts_with("max_points must be"),
            "{bad}"
        );
    }
    assert!(check_arguments(&s(&["industry"]), &[], 1e6).is_ok());
}

#[test]
fn an_event_rule_past_a_rules_limit_is_refused_by_name() {
    // An event's points are per event: a type whose decayed weights are small
    // (events long before the close) gets many points each, which max_points
    // does not bound. Past a rule's 1,000,000 the draft would be no spec.
    let (fields, won) = data();
    let missing = vec!["Select".to_string()];
    let fit_features = suggest::features(&fields, &missing);
    let faint: Vec<f64> = won
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            if (w && i % 2 == 0) || i % 7 == 0 {
                1e-3
            } else {
                0.0
            }
        })
        .collect();
    let events = suggest::event_features(vec![("faint".into(), faint)]);
    let all: Vec<_> = fit_features.iter().cloned().chain(events).collect();
    let err = suggest::suggest(&all, &won, 200_000.0, None, 0.0).unwrap_err();
    assert!(
        err.to_string().starts_with("max_points: \"faint\" would get ")
            && err.to_string().ends_with("points per event, more than the 1000000 a rule may have; pass a smaller max_points"),
        "{err}"
    );
    assert!(suggest::suggest(&all, &won, 20.0, None, 0.0).is_ok());
}

#[test]
fn an_event_type_every_lead_has_counts_when_its_counts_differ() {
    // 400 leads, each with 1 to 5 visits: every lead has the type, and the
    // count varies. It was left out before (fewer than 30 leads without it).
    let visits: Vec<f64> = (0..400).map(|i| (1 + i % 5) as f64).collect();
    assert_eq!(
        suggest::event_features(vec![("visit".into(), visits)]).len(),
        1
    );
    // The same count for every lead, or for all but 29, says nothing.
    let same = vec![2.0; 400];
    assert!(suggest::event_features(vec![("visit".into(), same)]).is_empty());
    let nearly: Vec<f64> = (0..400).map(|i| if i < 29 { 3.0 } else { 2.0 }).collect();
    assert!(suggest::event_features(vec![("visit".into(), nearly)]).is_empty());
    // As before: a type some leads have and at least 30 lack.
    let some: Vec<f64> = (0..400).map(|i| if i < 40 { 1.0 } else { 0.0 }).collect();
    assert_eq!(
        suggest::event_features(vec![("demo".into(), some)]).len(),
        1
    );
    let few: Vec<f64> = (0..400).map(|i| if i < 29 { 1.0 } else { 0.0 }).collect();
    assert!(suggest::event_features(vec![("demo".into(), few)]).is_empty());
}
