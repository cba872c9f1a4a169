//! Fit, engagement with each decay kind, caps and classification, with exact values.
mod common;
use common::*;
use lead_score_core::engagement::{combine, new_state, State, StateKey};
use lead_score_core::{Model, Quadrant, Value};
use serde_json::json;

const AS_OF: i64 = 1_000 * DAY;

fn key() -> StateKey {
    key_at(AS_OF)
}

fn fit_values<'a>(m: &Model, pairs: &[(&str, Value<'a>)]) -> Vec<Value<'a>> {
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

/// Engagement of a list of (event, age, url) as of AS_OF.
fn engagement(m: &Model, events: &[(&str, i64, Option<&str>)]) -> (f64, Vec<f64>) {
    let mut st = new_state(&m.engagement, key());
    for (event, age, url) in events {
        let props = [url.map(Value::Text).unwrap_or(Value::Null)];
        m.engagement.accumulate(&mut st, event, AS_OF - age, &props);
    }
    let state = State::new(&st).unwrap();
    m.engagement_of(Some(&state))
}

#[test]
fn fit_rules_completeness_and_clamps() {
    let m = model(&base_spec());
    let v = fit_values(
        &m,
        &[
            ("industry", Value::Text("Software")),
            ("title", Value::Text("VP of Marketing")),
            ("employees", Value::Num(120.0)),
            ("email", Value::Text("ann@example.com")),
            ("phone", Value::Text("Select")), // a placeholder counts as absent
        ],
    );
    let out = m.fit.evaluate(&v);
    // 20 + 15 + 10 + completeness 3 of 4 × 8 = 6
    assert_eq!(out.score, 51.0);
    assert_eq!(out.disqualified_by, None);

    // Numbers stored as text still compare numerically; regex is case-insensitive.
    let v = fit_values(
        &m,
        &[
            ("title", Value::Text("CHIEF of staff")),
            ("employees", Value::Text(" 75 ")),
        ],
    );
    assert_eq!(m.fit.evaluate(&v).score, 15.0 + 10.0 + 2.0); // + completeness 1 of 4 × 8

    // Negative points, clamped at min 0.
    let v = fit_values(&m, &[("title", Value::Text("Student"))]);
    assert_eq!(m.fit.evaluate(&v).score, 0.0);
}

#[test]
fn disqualify_records_the_rule() {
    let m = model(&base_spec());
    let v = fit_values(
        &m,
        &[
            ("email", Value::Text("spy@RIVAL.com")),
            ("industry", Value::Text("Software")),
        ],
    );
    let out = m.fit.evaluate(&v);
    assert_eq!(out.disqualified_by, Some(4));
    let s = m.score(out, None);
    assert_eq!(s.quadrant, Quadrant::Disqualified);
    assert!(!s.mql);
    assert_eq!(s.disqualified_by.as_deref(), Some("competitor"));
}

#[test]
fn operators_all_any_not_present() {
    let mut spec = base_spec();
    set(
        &mut spec,
        "fit.rules",
        json!([
            {"name": "a", "when": {"all": [{"field": "x", "gte": 10}, {"field": "x", "lt": 20}]}, "points": 1},
            {"name": "b", "when": {"any": [{"field": "y", "in": ["p", "q"]}, {"field": "y", "eq": 7}]}, "points": 2},
            {"name": "c", "when": {"not": {"field": "z", "present": true}}, "points": 4},
            {"name": "d", "when": {"field": "flag", "eq": true}, "points": 8},
            {"name": "e", "when": {"field": "x", "gt": 10}, "points": 16},
            {"name": "f", "when": {"field": "x", "lte": 10}, "points": 32}
        ]),
    );
    remove(&mut spec, "fit", "completeness");
    let m = model(&spec);
    let score = |pairs: &[(&str, Value)]| m.fit.evaluate(&fit_values(&m, pairs)).score;
    assert_eq!(
        score(&[("x", Value::Num(10.0)), ("z", Value::Text("here"))]),
        1.0 + 32.0
    );
    assert_eq!(
        score(&[("y", Value::Text("q")), ("z", Value::Text("   "))]),
        2.0 + 4.0
    );
    assert_eq!(
        score(&[
            ("y", Value::Num(7.0)),
            ("flag", Value::Text("true")),
            ("z", Value::Num(0.0))
        ]),
        2.0 + 8.0
    );
    assert_eq!(
        score(&[
            ("x", Value::Num(15.0)),
            ("flag", Value::Bool(true)),
            ("z", Value::Bool(false))
        ]),
        1.0 + 8.0 + 16.0
    );
}

#[test]
fn exponential_decay_is_exact() {
    let m = model(&base_spec());
    // visit: 1 point, half-life 10 days.
    let (e, _) = engagement(&m, &[("page_view", 10 * DAY, None)]);
    assert!((e - 0.5).abs() < 1e-9, "{e}");
    let (e, _) = engagement(
        &m,
        &[
            ("page_view", 0, None),
            ("page_view", 20 * DAY, None),
            ("page_view", 5 * DAY, None),
        ],
    );
    let expected = 1.0 + 0.25 + 2f64.powf(-0.5);
    assert!((e - expected).abs() < 1e-8, "{e} vs {expected}");
}

#[test]
fn future_events_do_not_count() {
    let m = model(&base_spec());
    let (e, _) = engagement(
        &m,
        &[("demo_request", -DAY, None), ("page_view", -HOUR, None)],
    );
    assert_eq!(e, 0.0);
}

#[test]
fn window_and_none_decay() {
    let mut spec = base_spec();
    set(
        &mut spec,
        "engagement.decay",
        json!({"kind": "window", "window": "30 days"}),
    );
    let m = model(&spec);
    let (e, _) = engagement(
        &m,
        &[
            ("page_view", 30 * DAY, None),
            ("page_view", 30 * DAY + 1, None),
            ("page_view", 0, None),
        ],
    );
    assert_eq!(e, 2.0); // exactly 30 days old still counts; a microsecond older does not
                        // demo has decay none: full points a year later.
    let (e, _) = engagement(&m, &[("demo_request", 365 * DAY, None)]);
    assert_eq!(e, 30.0);
}

#[test]
fn step_decay_per_full_period_since_last_activity() {
    let mut spec = base_spec();
    set(
        &mut spec,
        "engagement.decay",
        json!({"kind": "step", "points": 5, "every": "7 days"}),
    );
    let m = model(&spec);
    let visits: Vec<(&str, i64, Option<&str>)> =
        (0..20).map(|_| ("page_view", 20 * DAY, None)).collect();
    // 20 points, last activity 20 days ago: 2 full weeks → −10.
    assert_eq!(engagement(&m, &visits).0, 10.0);
    // One recent event resets the clock: 21 points, 6 days idle → no full period.
    let mut with_recent = visits.clone();
    with_recent.push(("page_view", 6 * DAY, None));
    assert_eq!(engagement(&m, &with_recent).0, 21.0);
    // Never below zero.
    assert_eq!(engagement(&m, &[("page_view", 400 * DAY, None)]).0, 0.0);
}

#[test]
fn repeat_once_and_rule_caps() {
    let m = model(&base_spec());
    // pricing: 5 points per view, capped at 10; plus 1 per visit.
    let views: Vec<(&str, i64, Option<&str>)> =
        (0..4).map(|_| ("page_view", 0, Some("/pricing"))).collect();
    assert_eq!(engagement(&m, &views).0, 10.0 + 4.0);
    // demo counts once.
    assert_eq!(
        engagement(
            &m,
            &[("demo_request", 0, None), ("demo_request", DAY, None)]
        )
        .0,
        30.0
    );
    // A negative once-rule.
    assert_eq!(
        engagement(
            &m,
            &[
                ("demo_request", 0, None),
                ("unsubscribe", 0, None),
                ("unsubscribe", 0, None)
            ]
        )
        .0,
        10.0
    );
}

#[test]
fn category_and_total_caps_and_floor() {
    let m = model(&base_spec());
    // analytics: 6 points each, category cap 12.
    let events: Vec<(&str, i64, Option<&str>)> = (0..5).map(|_| ("download", 0, None)).collect();
    let (e, cats) = engagement(&m, &events);
    assert_eq!((e, cats), (12.0, vec![12.0]));
    // Total cap 100.
    let lots: Vec<(&str, i64, Option<&str>)> = (0..500).map(|_| ("page_view", 0, None)).collect();
    assert_eq!(engagement(&m, &lots).0, 100.0);
    // Negative total, then floored.
    assert_eq!(engagement(&m, &[("unsubscribe", 0, None)]).0, -20.0);
    let mut spec = base_spec();
    set(&mut spec, "engagement.floor_at_zero", json!(true));
    assert_eq!(
        engagement(&model(&spec), &[("unsubscribe", 0, None)]).0,
        0.0
    );
}

#[test]
fn classification() {
    let m = model(&base_spec());
    let c = &m.classification;
    assert_eq!(c.grade(40.0), Some("A"));
    assert_eq!(c.grade(39.9), Some("B"));
    assert_eq!(c.grade(-5.0), Some("C"));
    assert_eq!(c.label(30.0), Some("hot"));
    assert_eq!(c.label(9.0), Some("cold"));
    assert_eq!(c.quadrant(30.0, 20.0, false), Quadrant::ActNow);
    assert_eq!(c.quadrant(30.0, 19.0, false), Quadrant::AccountBased);
    assert_eq!(c.quadrant(29.0, 20.0, false), Quadrant::CheckFit);
    assert_eq!(c.quadrant(29.0, 19.0, false), Quadrant::Nurture);
    assert!(c.is_mql(20.0, 40.0, false));
    assert!(!c.is_mql(19.0, 60.0, false)); // below min_fit
    assert!(!c.is_mql(50.0, 50.0, true)); // disqualified
}

#[test]
fn watermarks_and_score() {
    let m = model(&base_spec());
    let mut st = new_state(&m.engagement, key());
    for _ in 0..2 {
        m.engagement
            .accumulate(&mut st, "webinar", AS_OF, &[Value::Null]);
    }
    let state = State::new(&st).unwrap();
    let fit = m
        .fit
        .evaluate(&fit_values(&m, &[("industry", Value::Text("Software"))]));
    let s = m.score(fit, Some(&state));
    assert_eq!(s.categories[0].score, 12.0);
    assert!(s.categories[0].above_watermark);
    assert_eq!(s.last_activity, Some(AS_OF));
    assert_eq!(s.total, s.fit + s.engagement);
}

#[test]
fn explain_adds_up_to_the_total() {
    let m = model(&base_spec());
    let mut st = new_state(&m.engagement, key());
    for (e, age, url) in [
        ("page_view", 0, "/pricing"),
        ("page_view", DAY, "/pricing"),
        ("page_view", 2 * DAY, "/pricing"),
        ("download", 0, ""),
        ("download", 0, ""),
        ("download", 0, ""),
    ] {
        m.engagement
            .accumulate(&mut st, e, AS_OF - age, &[Value::Text(url)]);
    }
    let state = State::new(&st).unwrap();
    let values = fit_values(
        &m,
        &[
            ("industry", Value::Text("Software")),
            ("title", Value::Text("Director")),
        ],
    );
    let rows = m.explain(&values, Some(&state));
    let contributions: f64 = rows
        .iter()
        .filter(|r| r.section == "fit" || r.section == "engagement")
        .filter_map(|r| r.points)
        .sum();
    let s = m.score(m.fit.evaluate(&values), Some(&state));
    assert!(
        (contributions - s.total).abs() < 1e-9,
        "{contributions} vs {}",
        s.total
    );
    assert!(rows
        .iter()
        .any(|r| r.item == "category cap" && r.category.as_deref() == Some("analytics")));
    let pricing = rows.iter().find(|r| r.item == "pricing").unwrap();
    assert_eq!(
        (pricing.events, pricing.raw_points, pricing.points),
        (Some(3), Some(15.0), Some(10.0))
    );
}

#[test]
fn combine_rejects_other_models() {
    let m = model(&base_spec());
    let mut a = new_state(&m.engagement, key());
    let b = new_state(
        &m.engagement,
        StateKey {
            version: 2,
            ..key()
        },
    );
    assert!(combine(&mut a, &b).is_err());
    assert!(State::new(&[1, 2, 3]).is_err());
}

#[test]
fn a_state_of_another_rule_count_is_refused_and_counts_saturate() {
    // A state with the model's id and version but not its rules (a crafted
    // one, or a version number deleted and stored again with another spec):
    // reading it past its slots panicked; it is refused.
    let m = model(&base_spec());
    let mut spec = base_spec();
    let rules = spec["engagement"]["rules"].as_array().unwrap().clone();
    spec["engagement"]["rules"] = json!([rules[0].clone()]);
    let fewer = model(&spec);
    let st = new_state(&fewer.engagement, key());
    let err = State::new(&st)
        .unwrap()
        .check_range(&m.engagement)
        .unwrap_err();
    assert!(err.to_string().contains("holds 1 rules"), "{err}");

    // Event counts at the end of their range saturate when combined.
    let mut a = new_state(&m.engagement, key());
    a[40..48].copy_from_slice(&i64::MAX.to_le_bytes());
    let b = a.clone();
    combine(&mut a, &b).unwrap();
    assert_eq!(State::new(&a).unwrap().events(), i64::MAX);
}

#[test]
fn sums_past_the_fixed_point_range_are_an_error_naming_the_rule() {
    // One rule of the largest points, no decay: 9,000 events sum exactly
    // (9e9 points); 10,000 pass ±9.2e9, and the sum saturates. A result read
    // from it would be silently short, so reading it errs instead, naming the
    // rule; combining the saturated partial states keeps the error.
    let mut spec = base_spec();
    set(&mut spec, "engagement.rules.0.points", json!(1_000_000));
    set(
        &mut spec,
        "engagement.rules.0.decay",
        json!({"kind": "none"}),
    );
    let m = model(&spec);
    let fill = |n: usize| {
        let mut st = new_state(&m.engagement, key());
        for _ in 0..n {
            m.engagement
                .accumulate(&mut st, "page_view", AS_OF - DAY, &[Value::Null]);
        }
        st
    };
    let exact = fill(9_000);
    let state = State::new(&exact).unwrap();
    assert_eq!(state.check_range(&m.engagement), Ok(()));
    assert_eq!(state.decayed_points(0), 9e9);

    let past = fill(10_000);
    let err = State::new(&past)
        .unwrap()
        .check_range(&m.engagement)
        .unwrap_err();
    assert!(matches!(err, lead_score_core::Error::OutOfRange(_)));
    assert!(
        err.to_string()
            .starts_with("engagement.rules[0] (\"visit\")"),
        "{err}"
    );

    let mut a = fill(5_000);
    combine(&mut a, &past).unwrap();
    assert!(State::new(&a).unwrap().check_range(&m.engagement).is_err());
    let mut b = fill(5_000);
    combine(&mut b, &fill(4_000)).unwrap();
    assert_eq!(State::new(&b).unwrap().check_range(&m.engagement), Ok(()));

    // With a points cap, the result is the cap however far the sum went.
    set(&mut spec, "engagement.rules.0.repeat", json!({"cap": 50}));
    let capped = model(&spec);
    let mut st = new_state(&capped.engagement, key());
    for _ in 0..10_000 {
        capped
            .engagement
            .accumulate(&mut st, "page_view", AS_OF - DAY, &[Value::Null]);
    }
    let state = State::new(&st).unwrap();
    assert_eq!(state.check_range(&capped.engagement), Ok(()));
    assert_eq!(capped.engagement_of(Some(&state)).0, 50.0);
}
