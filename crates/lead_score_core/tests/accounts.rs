//! Account scores: the `accounts` section's validation, with JSON paths, and
//! how an account is scored from its leads.
mod common;
use common::*;
use lead_score_core::{Error, Model, Quadrant};
use serde_json::json;

fn with_accounts(accounts: serde_json::Value) -> serde_json::Value {
    let mut s = base_spec();
    s["accounts"] = accounts;
    s
}

fn error_of(spec: &serde_json::Value) -> (String, String) {
    match Model::from_json(spec) {
        Err(Error::Spec { path, message }) => (path, message),
        other => panic!("expected a spec error, got {other:?}"),
    }
}

#[test]
fn bad_accounts_sections_name_their_path() {
    let cases = [
        (
            json!("company"),
            "accounts",
            "must be an object, got string",
        ),
        (json!({}), "accounts.field", "is required but missing"),
        (json!({"field": " "}), "accounts.field", "must not be empty"),
        (
            json!({"field": "company", "cap": 0}),
            "accounts.cap",
            "must be positive",
        ),
        (
            json!({"field": "company", "quadrant": {"fit": 30}}),
            "accounts.quadrant.engagement",
            "is required but missing",
        ),
        (
            json!({"field": "company", "alert": "high"}),
            "accounts.alert",
            "",
        ),
        (
            json!({"field": "company", "owner": "x"}),
            "accounts.owner",
            "unknown key",
        ),
    ];
    for (accounts, path, message) in cases {
        let (p, m) = error_of(&with_accounts(accounts.clone()));
        assert_eq!(p, path, "{accounts}");
        assert!(m.starts_with(message), "{accounts}: {m}");
    }
}

#[test]
fn a_model_without_accounts_refuses_account_functions() {
    let m = model(&base_spec());
    assert!(m.accounts.is_none());
    assert!(
        matches!(m.account_score(10.0, 5.0, false), Err(Error::Spec { path, .. }) if path == "accounts")
    );
    assert!(m.account_engaged(1.0).is_err());
}

#[test]
fn an_account_is_its_best_fit_and_its_capped_engagement() {
    let m = model(&with_accounts(
        json!({"field": "company", "cap": 50, "alert": 70}),
    ));
    // Best fit 40 (grade A), engagement 35 + 30 = 65 capped at 50: total 90.
    let s = m.account_score(40.0, 65.0, false).unwrap();
    assert_eq!((s.engagement, s.total), (50.0, 90.0));
    assert_eq!(s.grade.as_deref(), Some("A"));
    // The model's own quadrant thresholds (fit 30, engagement 20).
    assert_eq!(s.quadrant, Quadrant::ActNow);
    assert!(s.alert);
    // Below the alert and the engagement threshold.
    let s = m.account_score(35.0, 5.0, false).unwrap();
    assert_eq!(
        (s.total, s.quadrant, s.alert),
        (40.0, Quadrant::AccountBased, false)
    );
    // Every lead disqualified: the account is, with nothing counted.
    let s = m.account_score(40.0, 65.0, true).unwrap();
    assert_eq!(
        (s.total, s.quadrant, s.alert),
        (0.0, Quadrant::Disqualified, false)
    );
}

#[test]
fn accounts_have_their_own_quadrant_and_engaged_threshold() {
    let m = model(&with_accounts(json!({
        "field": "company", "engaged_min": 10, "quadrant": {"fit": 20, "engagement": 100}
    })));
    assert_eq!(
        m.account_score(25.0, 90.0, false).unwrap().quadrant,
        Quadrant::AccountBased
    );
    assert_eq!(
        m.account_score(25.0, 100.0, false).unwrap().quadrant,
        Quadrant::ActNow
    );
    assert_eq!(
        m.account_score(15.0, 100.0, false).unwrap().quadrant,
        Quadrant::CheckFit
    );
    assert!(!m.account_engaged(9.99).unwrap());
    assert!(m.account_engaged(10.0).unwrap());
    // By default a lead with any engagement is engaged; float noise is not.
    let m = model(&with_accounts(json!({"field": "company"})));
    assert!(!m.account_engaged(4.4e-16).unwrap());
    assert!(m.account_engaged(0.5).unwrap());
    // No cap: the sum counts in full.
    assert_eq!(m.account_score(0.0, 500.0, false).unwrap().total, 500.0);
}
