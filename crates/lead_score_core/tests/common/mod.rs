#![allow(dead_code)]
use lead_score_core::engagement::StateKey;
use lead_score_core::Model;
use serde_json::{json, Value as Json};

pub const DAY: i64 = 86_400_000_000;
pub const HOUR: i64 = 3_600_000_000;

/// A small valid spec the tests modify.
pub fn base_spec() -> Json {
    json!({
        "fit": {
            "missing_values": ["Select"],
            "rules": [
                {"name": "software", "when": {"field": "industry", "eq": "Software"}, "points": 20},
                {"name": "senior", "when": {"field": "title", "regex": "\\b(vp|chief|director)\\b"}, "points": 15},
                {"name": "mid-size", "when": {"field": "employees", "between": [50, 5000]}, "points": 10},
                {"name": "student", "when": {"field": "title", "contains": "Student"}, "points": -10},
                {"name": "competitor", "when": {"field": "email", "regex": "@rival\\.com$"}, "disqualify": true}
            ],
            "completeness": {"fields": ["email", "phone", "title", "industry"], "points": 8},
            "min": 0,
            "max": 100
        },
        "engagement": {
            "properties": ["url"],
            "decay": {"kind": "exponential", "half_life": "10 days"},
            "categories": [{"name": "analytics", "cap": 12, "watermark": 8}],
            "rules": [
                {"name": "visit", "event": "page_view", "points": 1},
                {"name": "pricing", "event": "page_view", "when": {"field": "url", "contains": "/pricing"}, "points": 5, "repeat": {"cap": 10}},
                {"name": "analytics", "event": ["download", "webinar"], "points": 6, "category": "analytics"},
                {"name": "demo", "event": "demo_request", "points": 30, "repeat": "once", "decay": {"kind": "none"}},
                {"name": "unsubscribe", "event": "unsubscribe", "points": -20, "repeat": "once", "decay": {"kind": "none"}}
            ],
            "cap": 100
        },
        "classification": {
            "grades": [{"name": "A", "min": 40}, {"name": "B", "min": 25}, {"name": "C"}],
            "labels": [{"name": "hot", "min": 30}, {"name": "warm", "min": 10}, {"name": "cold"}],
            "quadrant": {"fit": 30, "engagement": 20},
            "mql": {"min_total": 60, "min_fit": 20}
        }
    })
}

/// A state key for model 1 version 1 as of `as_of`.
pub fn key_at(as_of: i64) -> StateKey {
    StateKey {
        model_id: 1,
        version: 1,
        as_of,
    }
}

pub fn model(spec: &Json) -> Model {
    Model::from_json(spec).expect("valid spec")
}

/// Sets a value at a dotted path like "engagement.rules.2.decay".
pub fn set(spec: &mut Json, path: &str, value: Json) {
    let mut cur = spec;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i == parts.len() - 1;
        let next = match part.parse::<usize>() {
            Ok(idx) => &mut cur[idx],
            Err(_) => &mut cur[*part],
        };
        if last {
            *next = value;
            return;
        }
        cur = next;
    }
}

pub fn remove(spec: &mut Json, path: &str, key: &str) {
    let mut cur = spec;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        cur = match part.parse::<usize>() {
            Ok(idx) => &mut cur[idx],
            Err(_) => &mut cur[part],
        };
    }
    cur.as_object_mut().expect("object").remove(key);
}
