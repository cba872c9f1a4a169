//! The live (forward-decayed) state agrees with the aggregate, merges in any
//! order, survives thousands of half-lives, and fires bursts once.
mod common;
use common::*;
use lead_score_core::engagement::{new_state, RuleTotals, State};
use lead_score_core::live::{
    check_attachable, check_supported, classification_alerts, classify_at, detect_bursts,
    is_lowest, live_add, live_merge, new_live, read_time, rebase, time_only_lowers, write_alerts,
    write_alerts_timed, Classified, LiveAt, LiveKey,
};
use lead_score_core::{FitOutcome, Model, Value};
use proptest::prelude::*;
use serde_json::json;

const NOW: i64 = 3_000 * DAY;
const EVENTS: [&str; 5] = [
    "page_view",
    "download",
    "webinar",
    "demo_request",
    "unsubscribe",
];

fn live_model() -> Model {
    let mut spec = base_spec();
    // The base spec's demo rule uses no decay; keep it. Add a burst alert.
    set(
        &mut spec,
        "alerts",
        json!([
            {"name": "pricing burst", "event": "page_view", "when": {"field": "url", "contains": "/pricing"}, "count": 3, "within": "1 hour"},
            {"name": "demo request", "event": "demo_request"}
        ]),
    );
    model(&spec)
}

fn lkey(landmark: i64) -> LiveKey {
    LiveKey {
        model_id: 1,
        version: 1,
        landmark,
    }
}

fn engagement_live(m: &Model, buf: &[u8], now: i64) -> f64 {
    let at = LiveAt::new(m, buf, now).unwrap();
    m.engagement_of(Some(&at as &dyn RuleTotals)).0
}

type Ev = (usize, i64, bool);

fn events() -> impl Strategy<Value = Vec<Ev>> {
    prop::collection::vec((0..EVENTS.len(), 0i64..(400 * DAY), any::<bool>()), 0..50)
}

fn url(pricing: bool) -> [Value<'static>; 1] {
    [Value::Text(if pricing { "/pricing" } else { "/blog" })]
}

proptest! {
    #[test]
    fn live_equals_aggregate(evs in events(), landmark_back in 0i64..(300 * DAY)) {
        let m = live_model();
        let mut live = new_live(&m, lkey(NOW - landmark_back));
        let mut agg = new_state(&m.engagement, key_at(NOW));
        for &(e, age, p) in &evs {
            live_add(&m, &mut live, EVENTS[e], NOW - age, &url(p)).unwrap();
            m.engagement.accumulate(&mut agg, EVENTS[e], NOW - age, &url(p));
        }
        let a = m.engagement_of(Some(&State::new(&agg).unwrap() as &dyn RuleTotals)).0;
        let l = engagement_live(&m, &live, NOW);
        prop_assert!((a - l).abs() < 1e-6 * (1.0 + a.abs()), "aggregate {a} live {l}");
    }

    #[test]
    fn merge_in_any_order_equals_adding(evs in events(), cut in 0usize..50) {
        let m = live_model();
        let cut = cut.min(evs.len());
        let fold = |slice: &[Ev], landmark: i64| {
            let mut b = new_live(&m, lkey(landmark));
            for &(e, age, p) in slice {
                live_add(&m, &mut b, EVENTS[e], NOW - age, &url(p)).unwrap();
            }
            b
        };
        let serial = fold(&evs, NOW - 100 * DAY);
        // Partial states with different landmarks still merge to the same score.
        let mut left = fold(&evs[..cut], NOW - 100 * DAY);
        let right = fold(&evs[cut..], NOW - 10 * DAY);
        live_merge(&m, &mut left, &right).unwrap();
        let mut swapped = fold(&evs[cut..], NOW - 10 * DAY);
        live_merge(&m, &mut swapped, &fold(&evs[..cut], NOW - 100 * DAY)).unwrap();
        let s = engagement_live(&m, &serial, NOW);
        for merged in [&left, &swapped] {
            let v = engagement_live(&m, merged, NOW);
            prop_assert!((s - v).abs() < 1e-6 * (1.0 + s.abs()), "{s} vs {v}");
        }
    }

    #[test]
    fn reading_later_never_increases_positive_engagement(evs in events(), later in 0i64..(100 * DAY)) {
        let mut spec = base_spec();
        set(&mut spec, "engagement.rules", json!([{"name": "v", "event": "page_view", "points": 1}]));
        let m = model(&spec);
        let mut live = new_live(&m, lkey(NOW));
        for &(e, age, p) in &evs {
            live_add(&m, &mut live, EVENTS[e], NOW - age, &url(p)).unwrap();
        }
        prop_assert!(engagement_live(&m, &live, NOW + later) <= engagement_live(&m, &live, NOW) + 1e-9);
    }
}

#[test]
fn five_thousand_half_lives_later_is_finite() {
    // Half-life 10 days; run 5000 half-lives, rebasing every 64 as tick() does.
    let m = live_model();
    let mut live = new_live(&m, lkey(0));
    let step = 10 * DAY;
    let mut landmark = 0;
    for i in 0..5000i64 {
        let now = i * step;
        if (now - landmark) as f64 / step as f64 > 64.0 {
            landmark = now;
            rebase(&m, &mut live, landmark);
        }
        live_add(&m, &mut live, "page_view", now, &url(false)).unwrap();
        let e = engagement_live(&m, &live, now);
        assert!(e.is_finite(), "half-life {i}: {e}");
    }
    // Steady state of 1 point per half-life: 1 + 1/2 + 1/4 + ... = 2.
    let e = engagement_live(&m, &live, 4999 * step);
    assert!((e - 2.0).abs() < 1e-9, "{e}");
    // Without rebasing, an event 2000 half-lives past the landmark would hit the
    // forward-exponent bound and count for less than it is worth: it is refused,
    // naming the rule, and the state is left as it was. tick() rebases long
    // before that (every 64 half-lives).
    let mut naive = new_live(&m, lkey(0));
    let before = naive.clone();
    let refused = live_add(&m, &mut naive, "page_view", 2000 * step, &url(false)).unwrap_err();
    assert!(
        matches!(&refused, lead_score_core::Error::Prerequisite(m) if m.contains("2000 half-lives") && m.contains("tick()")),
        "{refused}"
    );
    assert_eq!(naive, before);
    // At the bound itself it still counts in full.
    live_add(&m, &mut naive, "page_view", 512 * step, &url(false)).unwrap();
    let e = engagement_live(&m, &naive, 512 * step);
    assert!((e - 1.0).abs() < 1e-9, "{e}");
}

#[test]
fn an_event_at_the_hold_age_still_counts() {
    // tick() leaves an attachment whose rebase writers held off whole past
    // 492 half-lives (the constants' order is asserted where they are
    // defined); an event at that age is not yet refused, and counts in full.
    use lead_score_core::live::HOLD_AFTER_HALF_LIVES;
    let m = live_model();
    let step = 10 * DAY;
    let mut live = new_live(&m, lkey(0));
    let at = (HOLD_AFTER_HALF_LIVES * step as f64) as i64;
    live_add(&m, &mut live, "page_view", at, &url(false)).unwrap();
    assert!((engagement_live(&m, &live, at) - 1.0).abs() < 1e-9);
}

#[test]
fn future_events_never_overflow() {
    // An event dated three years ahead with a 1-hour half-life would be 2^26280.
    let mut spec = base_spec();
    set(
        &mut spec,
        "engagement.decay",
        json!({"kind": "exponential", "half_life": "1 hour"}),
    );
    let m = model(&spec);
    let mut live = new_live(&m, lkey(NOW));
    // Past the forward-exponent bound: refused (writers date no event after
    // their write, so only a landmark tick() has not moved gets here).
    assert!(live_add(&m, &mut live, "page_view", NOW + 3 * 365 * DAY, &url(false)).is_err());
    live_add(&m, &mut live, "page_view", NOW + 500 * HOUR, &url(false)).unwrap();
    live_add(&m, &mut live, "page_view", NOW, &url(false)).unwrap();
    for now in [NOW, NOW + 400 * DAY, NOW + 3 * 365 * DAY] {
        rebase(&m, &mut live, now);
        let e = engagement_live(&m, &live, now);
        assert!(e.is_finite(), "{e} at {now}");
        assert!(lead_score_core::live::upper_bound(&m, &live, now)
            .unwrap()
            .is_finite());
    }
}

#[test]
fn rebase_keeps_the_score() {
    let m = live_model();
    let mut live = new_live(&m, lkey(NOW - 50 * DAY));
    for age in [0, DAY, 7 * DAY, 40 * DAY] {
        live_add(&m, &mut live, "download", NOW - age, &url(false)).unwrap();
        live_add(&m, &mut live, "demo_request", NOW - age, &url(false)).unwrap();
    }
    let before = engagement_live(&m, &live, NOW);
    rebase(&m, &mut live, NOW);
    assert!((engagement_live(&m, &live, NOW) - before).abs() < 1e-9);
}

#[test]
fn bursts_fire_once_per_set_of_events() {
    let m = live_model();
    let t0 = NOW;
    let mut stored = new_live(&m, lkey(t0));
    let add = |stored: &mut Vec<u8>, times: &[(i64, &str)]| {
        let mut batch = new_live(&m, lkey(t0));
        for &(t, u) in times {
            live_add(&m, &mut batch, "page_view", t, &[Value::Text(u)]).unwrap();
        }
        live_merge(&m, stored, &batch).unwrap();
        detect_bursts(&m, stored, Some(&batch))
    };
    // Two pricing views: no burst yet.
    assert_eq!(
        add(
            &mut stored,
            &[(t0, "/pricing"), (t0 + 10 * 60_000_000, "/pricing")]
        ),
        Vec::<usize>::new()
    );
    // A blog view does not count; the third pricing view within the hour fires.
    assert_eq!(
        add(&mut stored, &[(t0 + 20 * 60_000_000, "/blog")]),
        Vec::<usize>::new()
    );
    assert_eq!(
        add(&mut stored, &[(t0 + 30 * 60_000_000, "/pricing")]),
        vec![0]
    );
    // A fourth view in the same burst does not fire again.
    assert_eq!(
        add(&mut stored, &[(t0 + 40 * 60_000_000, "/pricing")]),
        Vec::<usize>::new()
    );
    // Three views spread over three hours do not fire.
    let day2 = t0 + DAY;
    assert_eq!(add(&mut stored, &[(day2, "/pricing")]), Vec::<usize>::new());
    assert_eq!(
        add(&mut stored, &[(day2 + HOUR + 1, "/pricing")]),
        Vec::<usize>::new()
    );
    assert_eq!(
        add(&mut stored, &[(day2 + 3 * HOUR, "/pricing")]),
        Vec::<usize>::new()
    );
    // A single demo request alerts at once (count 1).
    let mut batch = new_live(&m, lkey(t0));
    live_add(&m, &mut batch, "demo_request", day2, &[Value::Null]).unwrap();
    live_merge(&m, &mut stored, &batch).unwrap();
    assert_eq!(detect_bursts(&m, &mut stored, Some(&batch)), vec![1]);
    // One dated before it that arrives after it (its transaction began first
    // and committed last) is another demo request: it fires too.
    let mut late = new_live(&m, lkey(t0));
    live_add(&m, &mut late, "demo_request", day2 - HOUR, &[Value::Null]).unwrap();
    live_merge(&m, &mut stored, &late).unwrap();
    assert_eq!(detect_bursts(&m, &mut stored, Some(&late)), vec![1]);
    // Without the batch (a state read again, a time-driven check), nothing.
    assert_eq!(detect_bursts(&m, &mut stored, None), Vec::<usize>::new());
    // A late pricing view alone is no burst of three.
    let mut one = new_live(&m, lkey(t0));
    live_add(
        &m,
        &mut one,
        "page_view",
        t0 + 5 * 60_000_000,
        &[Value::Text("/pricing")],
    )
    .unwrap();
    live_merge(&m, &mut stored, &one).unwrap();
    assert_eq!(
        detect_bursts(&m, &mut stored, Some(&one)),
        Vec::<usize>::new()
    );
    // Three late ones within the hour are.
    let mut three = new_live(&m, lkey(t0));
    for k in 0..3 {
        live_add(
            &m,
            &mut three,
            "page_view",
            t0 - DAY + k * 60_000_000,
            &[Value::Text("/pricing")],
        )
        .unwrap();
    }
    live_merge(&m, &mut stored, &three).unwrap();
    assert_eq!(detect_bursts(&m, &mut stored, Some(&three)), vec![0]);
}

#[test]
fn window_decay_is_live_when_bounded() {
    // An uncapped window rule would need every event in the window: refused.
    let mut spec = base_spec();
    set(
        &mut spec,
        "engagement.rules.0.decay",
        json!({"kind": "window", "window": "7 days"}),
    );
    assert!(check_supported(&model(&spec)).is_err());
    // "once" needs the latest time; a cap of 10 at 5 points needs the latest two.
    set(&mut spec, "engagement.rules.0.repeat", json!("once"));
    set(
        &mut spec,
        "engagement.rules.1.decay",
        json!({"kind": "window", "window": "7 days"}),
    );
    assert!(check_supported(&model(&spec)).is_ok());
    assert!(check_supported(&live_model()).is_ok());
    // Rule 1 keeps its two latest events, which is all its cap counts; a
    // predictive feature on it would weigh every event in the window. On the
    // "once" rule it weighs one, as the aggregates do.
    let (r0, r1) = (
        spec["engagement"]["rules"][0]["name"].clone(),
        spec["engagement"]["rules"][1]["name"].clone(),
    );
    set(
        &mut spec,
        "predictive",
        json!({"intercept": -1, "features": [{"name": "latest", "rule": r0, "weight": 1}]}),
    );
    assert!(check_attachable(&model(&spec)).is_ok());
    set(
        &mut spec,
        "predictive",
        json!({"intercept": -1, "features": [{"name": "latest", "rule": r0, "weight": 1}, {"name": "every", "rule": r1, "weight": 0.5}]}),
    );
    // Writes and reads of an attachment made before still work.
    assert!(check_supported(&model(&spec)).is_ok());
    let err = check_attachable(&model(&spec)).unwrap_err().to_string();
    assert!(
        err.starts_with("predictive.features[1] (\"every\"): live scores keep only"),
        "{err}"
    );
}

fn window_model() -> Model {
    let mut spec = base_spec();
    set(
        &mut spec,
        "engagement.rules",
        json!([
            {"name": "visit", "event": "page_view", "points": 1, "repeat": {"cap": 4}, "decay": {"kind": "window", "window": "10 days"}},
            {"name": "pricing", "event": "page_view", "when": {"field": "url", "contains": "/pricing"}, "points": 5, "repeat": {"cap": 12}},
            {"name": "download", "event": "download", "points": 6, "category": "analytics", "repeat": {"cap": 18}, "decay": {"kind": "window", "window": "30 days"}},
            {"name": "demo", "event": "demo_request", "points": 30, "repeat": "once", "decay": {"kind": "window", "window": "14 days"}},
            {"name": "webinar", "event": "webinar", "points": 9, "repeat": "once"}
        ]),
    );
    model(&spec)
}

proptest! {
    #[test]
    fn live_window_rules_equal_the_aggregate_at_any_later_time(evs in events(), later in 0i64..(60 * DAY)) {
        let m = window_model();
        check_supported(&m).unwrap();
        let read_at = NOW + later;
        let mut live = new_live(&m, lkey(NOW - 50 * DAY));
        let mut agg = new_state(&m.engagement, key_at(read_at));
        for &(e, age, p) in &evs {
            live_add(&m, &mut live, EVENTS[e], NOW - age, &url(p)).unwrap();
            m.engagement.accumulate(&mut agg, EVENTS[e], NOW - age, &url(p));
        }
        let a = m.engagement_of(Some(&State::new(&agg).unwrap() as &dyn RuleTotals));
        let at = LiveAt::new(&m, &live, read_at).unwrap();
        let l = m.engagement_of(Some(&at as &dyn RuleTotals));
        prop_assert!((a.0 - l.0).abs() < 1e-6 * (1.0 + a.0.abs()), "aggregate {:?} live {:?}", a, l);
        prop_assert!((a.1[0] - l.1[0]).abs() < 1e-6 * (1.0 + a.1[0].abs()));
    }

    #[test]
    fn window_rings_merge_in_any_order(evs in events(), cut in 0usize..50) {
        let m = window_model();
        let cut = cut.min(evs.len());
        let fold = |slice: &[Ev]| {
            let mut b = new_live(&m, lkey(NOW));
            for &(e, age, p) in slice {
                live_add(&m, &mut b, EVENTS[e], NOW - age, &url(p)).unwrap();
            }
            b
        };
        let serial = fold(&evs);
        let mut merged = fold(&evs[cut..]);
        live_merge(&m, &mut merged, &fold(&evs[..cut])).unwrap();
        prop_assert!((engagement_live(&m, &serial, NOW) - engagement_live(&m, &merged, NOW)).abs() < 1e-9);
    }
}

/// A live state holding `evs`, against a landmark 100 days before NOW.
fn live_of(m: &Model, evs: &[Ev]) -> Vec<u8> {
    let mut live = new_live(m, lkey(NOW - 100 * DAY));
    for &(e, age, p) in evs {
        live_add(m, &mut live, EVENTS[e], NOW - age, &url(p)).unwrap();
    }
    live
}

proptest! {
    /// What tick() compares (classify_at) is the classification of the whole
    /// score, at every fit, disqualified or not, read before, at or after the
    /// last event; a disqualified lead's has no hot category.
    #[test]
    fn classify_at_classifies_like_the_score(
        evs in events(),
        fit in 0.0f64..80.0,
        disqualified in any::<bool>(),
        read_back in -(30 * DAY)..(500 * DAY),
    ) {
        let m = live_model();
        let live = live_of(&m, &evs);
        let now = NOW - read_back;
        let at = LiveAt::new(&m, &live, read_time(&m, &live, now, false).unwrap()).unwrap();
        let fit_outcome = FitOutcome { score: fit, disqualified_by: disqualified.then_some(0) };
        let s = m.score(fit_outcome, Some(&at as &dyn RuleTotals));
        prop_assert_eq!(classify_at(&m, &live, fit, disqualified, now).unwrap(), Classified::of(&s));
        // A disqualified lead is in no hot category (as it is never an MQL).
        if disqualified {
            prop_assert!(s.categories.iter().all(|c| !c.above_watermark));
        }
    }

    /// When time only lowers a model's scores, a lead classified as low as it
    /// can be at one time is classified the same at every later time (what
    /// lets tick() skip it), and a higher one only moves down.
    #[test]
    fn time_only_lowers_classifications(
        evs in events(),
        fit in 0.0f64..80.0,
        disqualified in any::<bool>(),
        first in -(30 * DAY)..(200 * DAY),
        later in 0i64..(400 * DAY),
    ) {
        // Exponential decay; and no decay but an inactivity penalty.
        let mut stepped = base_spec();
        set(&mut stepped, "engagement.decay", json!({"kind": "step", "points": 5, "every": "7 days"}));
        for m in [live_model(), model(&stepped)] {
            prop_assert!(time_only_lowers(&m));
            let live = live_of(&m, &evs);
            let a = classify_at(&m, &live, fit, disqualified, NOW + first).unwrap();
            let b = classify_at(&m, &live, fit, disqualified, NOW + first + later).unwrap();
            if is_lowest(&a) {
                prop_assert_eq!(&a, &b);
            }
            prop_assert!(a.mql || !b.mql);
            prop_assert!(b.hot.iter().all(|h| a.hot.contains(h)));
            prop_assert!(is_lowest(&b) || !is_lowest(&a));
        }
    }
}

/// A negative rule that decays gives points back with time: such a model may
/// cross upwards by time alone.
#[test]
fn decaying_negative_points_can_raise_scores() {
    let mut spec = base_spec();
    assert!(time_only_lowers(&model(&spec)));
    set(
        &mut spec,
        "engagement.rules.4.decay",
        json!({"kind": "exponential", "half_life": "5 days"}),
    );
    assert!(!time_only_lowers(&model(&spec)));
    let mut spec = base_spec();
    set(
        &mut spec,
        "engagement.rules.4.decay",
        json!({"kind": "window", "window": "5 days"}),
    );
    assert!(!time_only_lowers(&model(&spec)));
}

#[test]
fn classification_crossings() {
    let c = |mql, q: &str, hot: &[&str]| Classified {
        mql,
        quadrant: q.into(),
        hot: hot.iter().map(|s| s.to_string()).collect(),
    };
    let kinds = |prev: Option<&Classified>, next: &Classified| {
        classification_alerts(prev, next)
            .into_iter()
            .map(|a| a.kind)
            .collect::<Vec<_>>()
    };
    assert_eq!(kinds(None, &c(false, "nurture", &[])), Vec::<&str>::new());
    assert_eq!(
        kinds(None, &c(true, "act_now", &["analytics"])),
        vec!["mql", "watermark"]
    );
    assert_eq!(
        kinds(Some(&c(false, "nurture", &[])), &c(true, "act_now", &[])),
        vec!["mql", "quadrant"]
    );
    assert_eq!(
        kinds(
            Some(&c(true, "act_now", &["a"])),
            &c(false, "account_based", &["a"])
        ),
        vec!["mql_lost", "quadrant"]
    );
    assert_eq!(
        kinds(
            Some(&c(true, "act_now", &["a"])),
            &c(true, "act_now", &["a"])
        ),
        Vec::<&str>::new()
    );
}

#[test]
fn write_alerts_put_time_crossings_first() {
    let c = |mql, q: &str, hot: &[&str]| Classified {
        mql,
        quadrant: q.into(),
        hot: hot.iter().map(|s| s.to_string()).collect(),
    };
    let kinds = |prev: Option<&Classified>, before: Option<&Classified>, next: &Classified| {
        write_alerts(prev, before, next)
            .into_iter()
            .map(|a| (a.kind, a.detail))
            .collect::<Vec<_>>()
    };
    let mql = c(true, "act_now", &["pricing"]);
    let decayed = c(false, "account_based", &[]);
    // The time crossings are marked as such (their alerts carry the total then).
    assert_eq!(
        write_alerts_timed(Some(&mql), Some(&decayed), &mql)
            .into_iter()
            .map(|(a, before)| (a.kind, before))
            .collect::<Vec<_>>(),
        vec![
            ("mql_lost", true),
            ("quadrant", true),
            ("mql", false),
            ("quadrant", false),
            ("watermark", false)
        ]
    );
    assert!(write_alerts_timed(Some(&decayed), None, &mql)
        .iter()
        .all(|(_, before)| !before));
    // Decayed out since the row was written, and lifted back by the write.
    assert_eq!(
        kinds(Some(&mql), Some(&decayed), &mql),
        vec![
            ("mql_lost", "is no longer an MQL".to_string()),
            ("quadrant", "act_now -> account_based".to_string()),
            ("mql", "became an MQL".to_string()),
            ("quadrant", "account_based -> act_now".to_string()),
            ("watermark", "pricing".to_string()),
        ]
    );
    // Decayed out, and the write does not lift it: the one crossing, once.
    assert_eq!(
        kinds(Some(&mql), Some(&decayed), &decayed),
        kinds(Some(&mql), None, &decayed)
    );
    // Nothing crossed by time: as without `before`.
    assert_eq!(kinds(Some(&mql), Some(&mql), &mql), vec![]);
    assert_eq!(
        kinds(Some(&decayed), Some(&decayed), &mql),
        kinds(Some(&decayed), None, &mql)
    );
    // A lead seen for the first time has no stored class to have moved from.
    assert_eq!(kinds(None, Some(&decayed), &mql), kinds(None, None, &mql));
}

proptest! {
    /// `top_leads` is exact because no later read of a lead scores above its
    /// stored bound plus the bound of its pending events' own state.
    #[test]
    fn upper_bound_holds_at_every_later_time_and_with_added_events(
        evs in events(), cut in 0usize..50, later in 0i64..(120 * DAY), which in 0usize..3,
        ahead in 0i64..(15 * DAY)
    ) {
        let m = match which {
            0 => live_model(),
            1 => window_model(),
            _ => bound_model(),
        };
        let cut = cut.min(evs.len());
        let mut live = new_live(&m, lkey(NOW - 20 * DAY));
        for &(e, age, p) in &evs[..cut] {
            live_add(&m, &mut live, EVENTS[e], NOW - age, &url(p)).unwrap();
        }
        let bound = lead_score_core::live::upper_bound(&m, &live, NOW).unwrap();
        let at = lead_score_core::live::read_time(&m, &live, NOW + later, false).unwrap();
        let now_score = m.engagement_of(Some(&LiveAt::new(&m, &live, at).unwrap() as &dyn RuleTotals)).0;
        prop_assert!(now_score <= bound + 1e-9 * (1.0 + bound.abs()), "{now_score} > {bound}");
        // The rest, pending (some of them after the read's time, by up to
        // `ahead`): their own state's bound at the read's time bounds what
        // they add.
        let mut pending = new_live(&m, lkey(NOW - 20 * DAY));
        for &(e, age, p) in &evs[cut..] {
            live_add(&m, &mut live, EVENTS[e], NOW - age + ahead, &url(p)).unwrap();
            live_add(&m, &mut pending, EVENTS[e], NOW - age + ahead, &url(p)).unwrap();
        }
        let added = lead_score_core::live::upper_bound(&m, &pending, NOW + later).unwrap();
        let at = lead_score_core::live::read_time(&m, &live, NOW + later, false).unwrap();
        let with = m.engagement_of(Some(&LiveAt::new(&m, &live, at).unwrap() as &dyn RuleTotals)).0;
        prop_assert!(with <= bound + added + 1e-9 * (1.0 + bound.abs()), "{with} > {bound} + {added}");
        // The per-type bounds 0.1.0's catalog sums are looser still.
        let by_type: f64 = evs[cut..].iter().map(|&(e, _, _)| lead_score_core::live::event_bound(&m, EVENTS[e])).sum();
        prop_assert!(added <= by_type + 1e-9 * (1.0 + by_type), "{added} > {by_type}");
    }
}

/// Negative points that decay toward 0 and an inactivity penalty: the two
/// ways a later read can score higher than an earlier one.
fn bound_model() -> Model {
    let mut spec = base_spec();
    set(
        &mut spec,
        "engagement.rules",
        json!([
            {"name": "visit", "event": "page_view", "points": 10, "decay": {"kind": "exponential", "half_life": "7 days"}},
            {"name": "unsubscribe", "event": "unsubscribe", "points": -40, "decay": {"kind": "exponential", "half_life": "7 days"}},
            {"name": "demo", "event": "demo_request", "points": 50, "repeat": "once"}
        ]),
    );
    set(
        &mut spec,
        "engagement.decay",
        json!({"kind": "step", "points": 5, "every": "7 days"}),
    );
    model(&spec)
}

#[test]
fn upper_bound_covers_negative_points_decaying_and_a_lifted_penalty() {
    let m = bound_model();
    let score = |buf: &[u8], at: i64| {
        m.engagement_of(Some(&LiveAt::new(&m, buf, at).unwrap() as &dyn RuleTotals))
            .0
    };
    // An unsubscribe decays toward 0: the score rises within the week.
    let mut live = new_live(&m, lkey(NOW));
    live_add(&m, &mut live, "demo_request", NOW - DAY, &url(false)).unwrap();
    live_add(&m, &mut live, "unsubscribe", NOW, &url(false)).unwrap();
    let bound = lead_score_core::live::upper_bound(&m, &live, NOW).unwrap();
    assert!(score(&live, NOW + 6 * DAY) > score(&live, NOW));
    assert!(score(&live, NOW + 6 * DAY) <= bound);
    // Idle for five weeks: a new visit lifts the 25-point penalty as well as
    // adding its own 10.
    let mut idle = new_live(&m, lkey(NOW));
    live_add(&m, &mut idle, "demo_request", NOW - 35 * DAY, &url(false)).unwrap();
    let bound = lead_score_core::live::upper_bound(&m, &idle, NOW).unwrap();
    assert_eq!(score(&idle, NOW), 25.0);
    live_add(&m, &mut idle, "page_view", NOW, &url(false)).unwrap();
    assert_eq!(score(&idle, NOW), 60.0);
    let mut visit = new_live(&m, lkey(NOW));
    live_add(&m, &mut visit, "page_view", NOW, &url(false)).unwrap();
    assert_eq!(
        lead_score_core::live::upper_bound(&m, &visit, NOW).unwrap(),
        10.0
    );
    assert!(60.0 <= bound + 10.0);
}
