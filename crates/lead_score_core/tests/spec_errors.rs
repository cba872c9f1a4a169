//! Every class of bad spec is rejected with the JSON path of the problem.
mod common;
use common::*;
use lead_score_core::{Error, Model};
use serde_json::json;

fn error_of(spec: &serde_json::Value) -> (String, String) {
    match Model::from_json(spec) {
        Err(Error::Spec { path, message }) => (path, message),
        other => panic!("expected a spec error, got {other:?}"),
    }
}

#[test]
fn base_spec_is_valid() {
    let m = model(&base_spec());
    assert_eq!(
        m.fit.fields,
        vec!["industry", "title", "employees", "email", "phone"]
    );
    assert_eq!(m.engagement.rules.len(), 5);
}

#[test]
fn missing_keys() {
    let mut s = base_spec();
    remove(&mut s, "", "classification");
    assert_eq!(
        error_of(&s),
        ("classification".into(), "is required but missing".into())
    );

    let mut s = base_spec();
    remove(&mut s, "engagement.rules.1", "points");
    assert_eq!(error_of(&s).0, "engagement.rules[1].points");

    let mut s = base_spec();
    remove(&mut s, "fit.rules.0.when", "field");
    assert_eq!(error_of(&s).0, "fit.rules[0].when.field");

    let mut s = base_spec();
    set(&mut s, "engagement.decay", json!({"kind": "exponential"}));
    assert_eq!(error_of(&s).0, "engagement.decay.half_life");
}

#[test]
fn unknown_keys() {
    let mut s = base_spec();
    set(&mut s, "engagement.rules.0.pionts", json!(3));
    let (path, message) = error_of(&s);
    assert_eq!(path, "engagement.rules[0].pionts");
    assert!(message.starts_with("unknown key"), "{message}");

    let mut s = base_spec();
    set(&mut s, "colour", json!("blue"));
    assert_eq!(error_of(&s).0, "colour");
}

#[test]
fn wrong_types() {
    let mut s = base_spec();
    set(&mut s, "fit.rules.2.points", json!("ten"));
    assert_eq!(
        error_of(&s),
        (
            "fit.rules[2].points".into(),
            "must be a number, got string".into()
        )
    );

    let mut s = base_spec();
    set(&mut s, "engagement.rules", json!({"a": 1}));
    assert_eq!(
        error_of(&s),
        (
            "engagement.rules".into(),
            "must be an array, got object".into()
        )
    );

    let mut s = base_spec();
    set(&mut s, "engagement.floor_at_zero", json!("yes"));
    assert_eq!(error_of(&s).0, "engagement.floor_at_zero");
}

#[test]
fn unknown_operator() {
    let mut s = base_spec();
    set(
        &mut s,
        "fit.rules.1.when",
        json!({"field": "title", "like": "%VP%"}),
    );
    let (path, message) = error_of(&s);
    assert_eq!(path, "fit.rules[1].when.like");
    assert!(message.starts_with("unknown operator"), "{message}");

    let mut s = base_spec();
    set(&mut s, "fit.rules.1.when", json!({"field": "title"}));
    let (path, message) = error_of(&s);
    assert_eq!(path, "fit.rules[1].when");
    assert!(message.starts_with("needs an operator"), "{message}");
}

#[test]
fn bad_regex() {
    let mut s = base_spec();
    set(&mut s, "fit.rules.1.when.regex", json!("(vp|chief"));
    let (path, message) = error_of(&s);
    assert_eq!(path, "fit.rules[1].when.regex");
    assert!(
        message.starts_with("invalid regular expression"),
        "{message}"
    );
}

#[test]
fn non_positive_intervals() {
    for bad in ["0 days", "-3 days", "soon", "NaN days"] {
        let mut s = base_spec();
        set(
            &mut s,
            "engagement.rules.2.decay",
            json!({"kind": "exponential", "half_life": bad}),
        );
        let (path, message) = error_of(&s);
        assert_eq!(path, "engagement.rules[2].decay.half_life", "{bad}");
        assert!(
            message.starts_with("must be a positive interval"),
            "{message}"
        );
    }
    let mut s = base_spec();
    set(
        &mut s,
        "engagement.decay",
        json!({"kind": "window", "window": 30}),
    );
    assert_eq!(error_of(&s).0, "engagement.decay.window");
}

#[test]
fn nan_and_infinity() {
    // JSON has no NaN literal: it arrives as a string, or as a number too large for f64.
    let text = base_spec()
        .to_string()
        .replace("\"points\":20", "\"points\":1e400");
    match Model::from_json_text(&text) {
        Err(Error::Spec { path, message }) => {
            assert_eq!(path, "fit.rules[0].points");
            assert_eq!(message, "must be a finite number");
        }
        other => panic!("{other:?}"),
    }
    let mut s = base_spec();
    set(&mut s, "classification.mql.min_total", json!("NaN"));
    assert_eq!(
        error_of(&s),
        (
            "classification.mql.min_total".into(),
            "must be a finite number, not NaN or Infinity".into()
        )
    );
    let mut s = base_spec();
    set(&mut s, "fit.max", json!("Infinity"));
    assert_eq!(error_of(&s).0, "fit.max");
}

#[test]
fn references_and_structure() {
    let mut s = base_spec();
    set(&mut s, "engagement.rules.2.category", json!("ai"));
    let (path, message) = error_of(&s);
    assert_eq!(path, "engagement.rules[2].category");
    assert!(message.contains("unknown category \"ai\""));

    let mut s = base_spec();
    set(&mut s, "engagement.rules.1.when.field", json!("referrer"));
    let (path, message) = error_of(&s);
    assert_eq!(path, "engagement.rules[1].when.field");
    assert!(message.contains("declare it in engagement.properties"));

    let mut s = base_spec();
    set(
        &mut s,
        "engagement.rules.0.decay",
        json!({"kind": "step", "points": 1, "every": "7 days"}),
    );
    assert_eq!(error_of(&s).0, "engagement.rules[0].decay.kind");

    let mut s = base_spec();
    set(&mut s, "engagement.rules.1.repeat", json!({"cap": -1}));
    assert_eq!(
        error_of(&s),
        (
            "engagement.rules[1].repeat.cap".into(),
            "must be a positive number".into()
        )
    );

    let mut s = base_spec();
    set(&mut s, "fit.rules.1.name", json!("software"));
    assert_eq!(error_of(&s).0, "fit.rules[1].name");

    let mut s = base_spec();
    set(&mut s, "classification.grades.1.min", json!(40));
    assert_eq!(error_of(&s).0, "classification.grades[1].min");

    let mut s = base_spec();
    set(&mut s, "fit.rules.0.disqualify", json!(true));
    assert_eq!(error_of(&s).0, "fit.rules[0]");

    let mut s = base_spec();
    set(&mut s, "fit.rules.2.when.between", json!([10, 1]));
    assert_eq!(error_of(&s).0, "fit.rules[2].when.between");

    assert!(matches!(
        Model::from_json_text("{\"fit\": "),
        Err(Error::Json(_))
    ));
    assert_eq!(error_of(&json!([1])).0, "$");
}

#[test]
fn out_of_range_points_and_half_lives() {
    let mut s = base_spec();
    set(&mut s, "engagement.rules.1.points", json!(1e12));
    assert_eq!(
        error_of(&s),
        (
            "engagement.rules[1].points".into(),
            "must be between -1000000 and 1000000, got 1000000000000".into()
        )
    );
    let mut s = base_spec();
    set(&mut s, "fit.rules.0.points", json!(-2000000));
    assert_eq!(error_of(&s).0, "fit.rules[0].points");

    let mut s = base_spec();
    set(
        &mut s,
        "engagement.decay",
        json!({"kind": "exponential", "half_life": "5 seconds"}),
    );
    assert_eq!(
        error_of(&s),
        (
            "engagement.decay.half_life".into(),
            "must be at least 1 minute".into()
        )
    );
    let mut s = base_spec();
    set(
        &mut s,
        "engagement.decay",
        json!({"kind": "exponential", "half_life": "1 minute"}),
    );
    assert!(Model::from_json(&s).is_ok());
}

#[test]
fn too_deep_or_too_large() {
    use lead_score_core::model::{MAX_SPEC_BYTES, MAX_SPEC_DEPTH};
    // A condition nested 70 levels deep, under fit.rules[1].when.
    let mut when = String::from(r#"{"field": "industry", "eq": "x"}"#);
    for _ in 0..70 {
        when = format!(r#"{{"not": {when}}}"#);
    }
    let text = format!(
        r#"{{"fit": {{"rules": [{{"name": "a", "when": {{"field": "industry", "eq": "y"}}, "points": 1}}, {{"name": "b \"q\" [x]", "when": {when}, "points": 1}}]}}}}"#
    );
    match Model::from_json_text(&text) {
        Err(Error::Spec { path, message }) => {
            assert!(path.starts_with("fit.rules[1].when.not.not."), "{path}");
            assert_eq!(
                message,
                format!("nests deeper than {MAX_SPEC_DEPTH} levels")
            );
        }
        other => panic!("expected a spec error, got {other:?}"),
    }
    let big = format!(r#"{{"description": "{}"}}"#, "x".repeat(MAX_SPEC_BYTES));
    match Model::from_json_text(&big) {
        Err(Error::Spec { path, .. }) => assert_eq!(path, "$"),
        other => panic!("expected a spec error, got {other:?}"),
    }
}
