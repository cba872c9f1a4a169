//! Engagement: what the lead does, decayed as of a point in time.
//!
//! The aggregate state is a flat byte buffer whose size depends only on the number
//! of rules, never on the number of events. It holds, per rule, the decayed points
//! as fixed-point integers (1e-9 points) and the event count. Integer sums make the
//! combine step exactly associative, so a parallel plan returns bit-for-bit what a
//! serial plan returns. Caps are applied only when the state is finalized, so
//! partial states can be merged in any order.

use crate::condition::Value;
use crate::error::{Error, Result};
use crate::fit::clamp_opt;
use crate::model::{EngagementModel, EventDecay, Repeat};

const MAGIC: u32 = 0x4C53_4531; // "LSE1"
/// Fixed-point scale of the per-rule sums.
pub(crate) const UNITS_PER_POINT: f64 = 1e9;
pub use crate::header::NO_ACTIVITY;
pub(crate) use crate::header::{get_i64, put_i64};
use crate::header::{Header, OFF_EVENTS, OFF_LAST, OFF_TIME as OFF_AS_OF};
/// The shared header (`header.rs`); the per-rule modes and sums follow it.
pub const HEADER_LEN: usize = crate::header::LEN;

const MODE_EVERY: u8 = 0;
const MODE_ONCE: u8 = 1;

/// Which model version and as-of time a state was built for. Two states merge
/// only when their keys are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateKey {
    pub model_id: i64,
    pub version: i32,
    /// Microseconds since 2000-01-01, PostgreSQL's timestamptz representation.
    pub as_of: i64,
}

fn modes_len(rules: usize) -> usize {
    rules.div_ceil(8) * 8
}

pub fn state_len(rules: usize) -> usize {
    HEADER_LEN + modes_len(rules) + rules * 16
}

/// Reads and checks a state's header; the only way the SQL layer trusts a buffer.
pub fn read_key(buf: &[u8]) -> Result<(StateKey, usize)> {
    let h = Header::read(buf, MAGIC, "an engagement state")?;
    let rules = h.rules as usize;
    if buf.len() != state_len(rules) {
        return Err(Error::State("wrong length".into()));
    }
    let key = StateKey {
        model_id: h.model_id,
        version: h.version,
        as_of: h.time,
    };
    Ok((key, rules))
}

/// A view of a checked state.
#[derive(Debug, Clone, Copy)]
pub struct State<'a> {
    buf: &'a [u8],
    rules: usize,
    pub key: StateKey,
}

impl<'a> State<'a> {
    pub fn new(buf: &'a [u8]) -> Result<Self> {
        let (key, rules) = read_key(buf)?;
        Ok(State { buf, rules, key })
    }

    pub fn rules(&self) -> usize {
        self.rules
    }

    /// Time of the most recent counted event.
    pub fn last_activity(&self) -> Option<i64> {
        Some(get_i64(self.buf, OFF_LAST)).filter(|&t| t != NO_ACTIVITY)
    }

    pub fn events(&self) -> i64 {
        get_i64(self.buf, OFF_EVENTS)
    }

    fn slot(&self, rule: usize) -> usize {
        HEADER_LEN + modes_len(self.rules) + rule * 16
    }

    pub fn decayed_points(&self, rule: usize) -> f64 {
        get_i64(self.buf, self.slot(rule)) as f64 / UNITS_PER_POINT
    }

    pub fn count(&self, rule: usize) -> i64 {
        get_i64(self.buf, self.slot(rule) + 8)
    }

    /// Errs, naming the rule, when a rule's sum left the fixed-point range.
    /// Every event of a rule adds points of the rule's one sign, so a sum
    /// that overflowed stays saturated at `i64::MAX` or `i64::MIN`: a result
    /// read from it would be short of the true sum, silently.
    ///
    /// A rule with a points cap below the range (`repeat: {"cap": N}`) is
    /// exact even so: its result is the cap, whatever the sum past it.
    ///
    /// Errs too when the state holds another number of rules than the model
    /// (a crafted state, or one saved with a version number an admin deleted
    /// and stored again with another spec): its slots are not the model's.
    pub fn check_range(&self, model: &EngagementModel) -> Result<()> {
        if self.rules != model.rules.len() {
            return Err(Error::State(format!(
                "engagement state holds {} rules, but its model version has {}",
                self.rules,
                model.rules.len()
            )));
        }
        let limit = i64::MAX as f64 / UNITS_PER_POINT;
        for (i, rule) in model.rules.iter().enumerate().take(self.rules) {
            if matches!(rule.repeat, Repeat::Cap(cap) if cap < limit) {
                continue;
            }
            let units = get_i64(self.buf, self.slot(i));
            if units == i64::MAX || units == i64::MIN {
                return Err(Error::OutOfRange(format!(
                    "engagement.rules[{i}] (\"{}\"): one lead's points of this rule are past \
                     ±{:.1e}, the most the aggregates sum exactly (in fixed point to 1e-9)",
                    rule.name, limit
                )));
            }
        }
        Ok(())
    }
}

/// Writes an empty state for `model` into `buf`, which must be `state_len` long.
pub fn init_state(buf: &mut [u8], model: &EngagementModel, key: StateKey) {
    let rules = model.rules.len();
    debug_assert_eq!(buf.len(), state_len(rules));
    buf.fill(0);
    Header {
        magic: MAGIC,
        rules: rules as u32,
        model_id: key.model_id,
        version: key.version,
        time: key.as_of,
    }
    .write(buf);
    for (i, rule) in model.rules.iter().enumerate() {
        buf[HEADER_LEN + i] = if rule.repeat == Repeat::Once {
            MODE_ONCE
        } else {
            MODE_EVERY
        };
    }
}

pub fn new_state(model: &EngagementModel, key: StateKey) -> Vec<u8> {
    let mut buf = vec![0; state_len(model.rules.len())];
    init_state(&mut buf, model, key);
    buf
}

#[inline]
fn to_units(points: f64) -> i64 {
    // `as` saturates; adding ±0.5 first rounds half away from zero without a libm call.
    (points * UNITS_PER_POINT + 0.5f64.copysign(points)) as i64
}

impl EngagementModel {
    /// Adds one event to `state` (built by `init_state` for this model).
    /// `at` is the event time in microseconds; `properties` follow `self.properties`.
    #[inline]
    pub fn accumulate(&self, state: &mut [u8], event_type: &str, at: i64, properties: &[Value]) {
        let as_of = get_i64(state, OFF_AS_OF);
        if at > as_of {
            return; // the future does not count yet: this is what makes backtests honest
        }
        if at > get_i64(state, OFF_LAST) {
            put_i64(state, OFF_LAST, at);
        }
        put_i64(
            state,
            OFF_EVENTS,
            get_i64(state, OFF_EVENTS).saturating_add(1),
        );
        let Some(matching) = self.rules_by_event.get(event_type) else {
            return;
        };
        let age = as_of.saturating_sub(at);
        let base = HEADER_LEN + modes_len(self.rules.len());
        // Rules matching one event usually share a decay: compute exp2 once.
        let mut memo: Option<(EventDecay, f64)> = None;
        for &index in matching {
            let rule = &self.rules[index as usize];
            if let Some(when) = &rule.when {
                if !when.eval(properties) {
                    continue;
                }
            }
            let factor = match memo {
                Some((decay, f)) if decay == rule.decay => f,
                _ => {
                    let f = rule.decay.factor(age);
                    memo = Some((rule.decay, f));
                    f
                }
            };
            let units = to_units(rule.points * factor);
            let slot = base + index as usize * 16;
            let count = get_i64(state, slot + 8);
            let current = get_i64(state, slot);
            let next = if rule.repeat == Repeat::Once {
                // Keep the most recent event's points: the one that decayed least.
                if count == 0 || units.unsigned_abs() > current.unsigned_abs() {
                    units
                } else {
                    current
                }
            } else {
                current.saturating_add(units)
            };
            put_i64(state, slot, next);
            put_i64(state, slot + 8, count.saturating_add(1));
        }
    }
}

impl EngagementModel {
    /// One event's points as of `as_of`, for a sales rep's timeline: per rule
    /// it matches (index and points), the rule's points decayed to the
    /// event's age, before a rule's repeat cap or once, category and total
    /// caps, and inactivity decay, which belong to the lead's whole history.
    /// An event after `as_of` matches nothing yet.
    pub fn event_points(
        &self,
        event_type: &str,
        at: i64,
        properties: &[Value],
        as_of: i64,
    ) -> Vec<(usize, f64)> {
        if at > as_of {
            return Vec::new();
        }
        let Some(matching) = self.rules_by_event.get(event_type) else {
            return Vec::new();
        };
        let age = as_of.saturating_sub(at);
        matching
            .iter()
            .map(|&i| i as usize)
            .filter(|&i| {
                self.rules[i]
                    .when
                    .as_ref()
                    .is_none_or(|w| w.eval(properties))
            })
            .map(|i| (i, self.rules[i].points * self.rules[i].decay.factor(age)))
            .collect()
    }
}

/// Merges `other` into `into`. Exactly associative and commutative.
pub fn combine(into: &mut [u8], other: &[u8]) -> Result<()> {
    let (key_a, rules) = read_key(into)?;
    let (key_b, rules_b) = read_key(other)?;
    if key_a != key_b || rules != rules_b {
        return Err(Error::State(format!(
            "cannot combine states of model {} v{} as of {} and model {} v{} as of {}",
            key_a.model_id, key_a.version, key_a.as_of, key_b.model_id, key_b.version, key_b.as_of
        )));
    }
    let last = get_i64(into, OFF_LAST).max(get_i64(other, OFF_LAST));
    put_i64(into, OFF_LAST, last);
    put_i64(
        into,
        OFF_EVENTS,
        // Saturating: a crafted state's counts could overflow (never a panic).
        get_i64(into, OFF_EVENTS).saturating_add(get_i64(other, OFF_EVENTS)),
    );
    let base = HEADER_LEN + modes_len(rules);
    for i in 0..rules {
        let slot = base + i * 16;
        let (va, ca) = (get_i64(into, slot), get_i64(into, slot + 8));
        let (vb, cb) = (get_i64(other, slot), get_i64(other, slot + 8));
        let value = if into[HEADER_LEN + i] == MODE_ONCE {
            match (ca, cb) {
                (0, _) => vb,
                (_, 0) => va,
                _ if vb.unsigned_abs() > va.unsigned_abs() => vb,
                _ => va,
            }
        } else {
            va.saturating_add(vb)
        };
        put_i64(into, slot, value);
        put_i64(into, slot + 8, ca.saturating_add(cb));
    }
    Ok(())
}

/// Per-rule totals of one lead, decayed to an as-of time. Both the aggregate
/// state and the live (forward-decayed) state provide them, so caps,
/// categories and classification are computed by one piece of code.
pub trait RuleTotals {
    /// Matching events counted for the rule.
    fn count(&self, rule: usize) -> i64;
    /// The rule's points decayed to `as_of()`, before its cap.
    fn decayed(&self, rule: usize) -> f64;
    fn last_activity(&self) -> Option<i64>;
    fn as_of(&self) -> i64;
}

impl RuleTotals for State<'_> {
    fn count(&self, rule: usize) -> i64 {
        State::count(self, rule)
    }
    fn decayed(&self, rule: usize) -> f64 {
        self.decayed_points(rule)
    }
    fn last_activity(&self) -> Option<i64> {
        State::last_activity(self)
    }
    fn as_of(&self) -> i64 {
        self.key.as_of
    }
}

/// Receives each step of finalizing a state.
pub trait EngagementTrace {
    fn rule(&mut self, _index: usize, _events: i64, _raw: f64, _decayed: f64, _points: f64) {}
    fn category_cap(&mut self, _category: usize, _before: f64, _after: f64) {}
    fn total_cap(&mut self, _before: f64, _after: f64) {}
    fn inactivity(&mut self, _idle_micros: i64, _penalty: f64) {}
    fn floor(&mut self, _before: f64) {}
}

impl EngagementTrace for () {}

impl EngagementModel {
    /// The engagement score of a state. `categories` receives each category's
    /// score after its cap (it is resized to the number of categories).
    pub fn finalize<T: EngagementTrace>(
        &self,
        state: &dyn RuleTotals,
        categories: &mut Vec<f64>,
        trace: &mut T,
    ) -> f64 {
        categories.clear();
        categories.resize(self.categories.len(), 0.0);
        let mut uncategorized = 0.0;
        for (index, rule) in self.rules.iter().enumerate() {
            let events = state.count(index);
            if events == 0 {
                continue;
            }
            let decayed = state.decayed(index);
            let (raw, points) = match rule.repeat {
                Repeat::Every => (rule.points * events as f64, decayed),
                Repeat::Once => (rule.points, decayed),
                Repeat::Cap(cap) => (rule.points * events as f64, decayed.clamp(-cap, cap)),
            };
            trace.rule(index, events, raw, decayed, points);
            match rule.category {
                Some(c) => categories[c] += points,
                None => uncategorized += points,
            }
        }
        for (c, category) in self.categories.iter().enumerate() {
            let before = categories[c];
            let after = clamp_opt(before, None, category.cap);
            if after != before {
                trace.category_cap(c, before, after);
                categories[c] = after;
            }
        }
        let mut total = uncategorized + categories.iter().sum::<f64>();
        let capped = clamp_opt(total, None, self.cap);
        if capped != total {
            trace.total_cap(total, capped);
            total = capped;
        }
        if let (Some(step), Some(last)) = (self.inactivity, state.last_activity()) {
            let idle = state.as_of().saturating_sub(last);
            let penalty = step.penalty(idle).min(total.max(0.0));
            if penalty > 0.0 {
                trace.inactivity(idle, penalty);
                total -= penalty;
            }
        }
        if self.floor_at_zero && total < 0.0 {
            trace.floor(total);
            total = 0.0;
        }
        total
    }

    /// Whether a category's score has reached its watermark.
    pub fn above_watermark(&self, category: usize, score: f64) -> bool {
        self.categories[category]
            .watermark
            .is_some_and(|w| crate::classify::settle(score) >= w)
    }
}
