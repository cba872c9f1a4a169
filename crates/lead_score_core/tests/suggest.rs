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
