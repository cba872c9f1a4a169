//! The predictive score: its spec section, its exact contributions, and the
//! stored form of the features a lead fires.
mod common;
use common::*;
use lead_score_core::engagement::{new_state, RuleTotals, State};
use lead_score_core::predictive::{decode_fired, encode_fired};
use lead_score_core::{Error, Model, Value};
use serde_json::json;

const AS_OF: i64 = 1_800_000_000_000_000;

fn spec() -> serde_json::Value {
    let mut s = base_spec();
    set(
        &mut s,
        "predictive",
        json!({
            "intercept": -2.0,
            "features": [
                {"name": "software", "when": {"field": "industry", "eq": "Software"}, "weight": 1.25},
                {"name": "student", "when": {"field": "title", "contains": "Student"}, "weight": -0.75},
                // A field no fit rule names joins the fit's slots.
                {"name": "has website", "when": {"field": "website", "present": true}, "weight": 0.5},
                {"name": "demo", "rule": "demo", "weight": 2.0},
                {"name": "visits", "rule": "visit", "weight": 0.1}
            ]
        }),
    );
    s
}

fn values<'a>(m: &Model, pairs: &[(&str, Value<'a>)]) -> Vec<Value<'a>> {
    m.fit
        .fields
        .iter()
        .map(|f| {
            let v = pairs
                .iter()
                .find(|(k, _)| k == f)
                .map(|(_, v)| *v)
                .unwrap_or(Value::Null);
            m.fit.normalize(v)
        })
        .collect()
}

fn state_of(m: &Model, events: &[(&str, i64)]) -> Vec<u8> {
    let mut st = new_state(&m.engagement, key_at(AS_OF));
    for (event, age) in events {
        m.engagement
            .accumulate(&mut st, event, AS_OF - age, &[Value::Null]);
    }
    st
}

#[test]
fn contributions_add_up_to_the_logit() {
    let m = model(&spec());
    assert!(m.fit.fields.contains(&"website".to_string()));
    let v = values(
        &m,
        &[
            ("industry", Value::Text("Software")),
            ("website", Value::Text("acme.example")),
        ],
    );
    // Two visits 10 days old (one half-life): 1 decayed visit; a demo never decays.
    let st = state_of(
        &m,
        &[
            ("page_view", 10 * DAY),
            ("page_view", 10 * DAY),
            ("demo_request", 3 * DAY),
        ],
    );
    let state = State::new(&st).unwrap();
    let s = m.score_values(&v, Some(&state as &dyn RuleTotals));
    let p = s.prediction.expect("a predictive section");
    let names: Vec<&str> = p.contributions.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["demo", "software", "has website", "visits"]);
    let visits = p.contributions[3].1;
    assert!((visits - 0.1).abs() < 1e-9, "{visits}");
    let expected = -2.0 + 2.0 + 1.25 + 0.5 + visits;
    assert_eq!(
        p.logit,
        -2.0 + p.contributions.iter().map(|(_, c)| c).sum::<f64>()
    );
    assert!((p.logit - expected).abs() < 1e-12);
    assert_eq!(p.probability, 1.0 / (1.0 + (-p.logit).exp()));
    assert_eq!(p.score, (100.0 * p.probability).round() as i32);
    assert_eq!(p.top, 3);

    // explain lists the intercept and every contribution; they add up to its summary row.
    let rows = m.explain(&v, Some(&state as &dyn RuleTotals));
    let terms: f64 = rows
        .iter()
        .filter(|r| r.section == "predictive")
        .map(|r| r.points.unwrap())
        .sum();
    let summary = rows
        .iter()
        .find(|r| r.section == "summary" && r.item == "predictive")
        .unwrap();
    assert!((terms - summary.points.unwrap()).abs() < 1e-12);
    assert!(summary
        .detail
        .contains(&format!("predictive score {}", p.score)));
}

#[test]
fn no_section_no_prediction() {
    let m = model(&base_spec());
    let v = values(&m, &[("industry", Value::Text("Software"))]);
    assert_eq!(m.score_values(&v, None).prediction, None);
    assert!(m
        .explain(&v, None)
        .iter()
        .all(|r| r.section != "predictive"));
}

#[test]
fn stored_indices_round_trip_and_are_bounded() {
    let m = model(&spec());
    let v = values(
        &m,
        &[
            ("industry", Value::Text("Software")),
            ("title", Value::Text("Student")),
        ],
    );
    let fired = m.predictive.as_ref().unwrap().fired(&v);
    assert_eq!(fired, [0, 1]);
    let bytes = encode_fired(&fired);
    assert_eq!(decode_fired(&bytes).collect::<Vec<_>>(), fired);
    // Indices past the features (a stale row) and engagement features are ignored.
    let p = m.predict([0, 3, 999], None).unwrap();
    assert_eq!(p.contributions, vec![("software".to_string(), 1.25)]);
    // Without any engagement state, only fields count.
    let s = m.score_predicted(m.fit.evaluate(&v), fired, None);
    assert_eq!(s.prediction.unwrap().logit, -2.0 + 1.25 - 0.75);
}

#[test]
fn extreme_log_odds_stay_finite() {
    let mut s = spec();
    set(&mut s, "predictive.intercept", json!(-1000));
    let m = model(&s);
    let p = m.predict([], None).unwrap();
    assert_eq!(p.probability, 0.0f64.max(p.probability));
    assert!(p.probability.is_finite() && p.score == 0);
    set(&mut s, "predictive.intercept", json!(1000));
    let p = model(&s).predict([], None).unwrap();
    assert_eq!((p.probability, p.score), (1.0, 100));
}

fn error_of(spec: &serde_json::Value) -> (String, String) {
    match Model::from_json(spec) {
        Err(Error::Spec { path, message }) => (path, message),
        other => panic!("expected a spec error, got {other:?}"),
    }
}

#[test]
fn bad_sections_name_their_path() {
    let cases = [
        (
            "predictive.features.3.rule",
            json!("nope"),
            "predictive.features[3].rule",
        ),
        (
            "predictive.features.0.weight",
            json!(1e4),
            "predictive.features[0].weight",
        ),
        (
            "predictive.features.1.name",
            json!("software"),
            "predictive.features[1].name",
        ),
        (
            "predictive.features.0.when",
            json!({"field": "industry", "eq": 1, "gt": 2}),
            "predictive.features[0].when",
        ),
        (
            "predictive.intercept",
            json!("high"),
            "predictive.intercept",
        ),
        ("predictive.top", json!(2.5), "predictive.top"),
        ("predictive.colour", json!(1), "predictive.colour"),
    ];
    for (at, value, path) in cases {
        let mut s = spec();
        set(&mut s, at, value);
        let (p, message) = error_of(&s);
        assert_eq!(p, path, "{at}: {message}");
    }
    let mut s = spec();
    set(&mut s, "predictive.features.0.rule", json!("demo"));
    assert_eq!(error_of(&s).0, "predictive.features[0]");
    let mut s = spec();
    remove(&mut s, "predictive.features.0", "when");
    assert_eq!(error_of(&s).0, "predictive.features[0].when");
    // A 0-point rule counts no decayed events.
    let mut s = spec();
    set(&mut s, "engagement.rules.3.points", json!(0));
    assert_eq!(error_of(&s).0, "predictive.features[3].rule");
}
