//! Live engagement for materialized scores, with forward decay
//! (Cormode, Shkapenyuk, Srivastava, Xu: "Forward Decay", ICDE 2009).
//!
//! Each event is stored as points × 2^((t − L) / h) against a landmark L, so
//! adding an event is O(1), the stored values never change as time passes, and
//! reading the score at any time `now` multiplies by 2^(−(now − L) / h). Rows
//! with the same landmark keep their relative order forever, which is what lets
//! an index answer "hottest leads now". When `now − L` grows large the landmark
//! is moved forward (`rebase`) before f64 can overflow.
//!
//! Layout (little-endian): a 64-byte header, 16 bytes per rule (forward value as
//! f64, event count), then per burst alert its last-fired time and a ring of the
//! `count` most recent matching event times.

use crate::condition::Value;
use crate::engagement::RuleTotals;
use crate::error::{Error, Result};
use crate::header::{
    get_i64, put_i64, Header, NO_ACTIVITY, OFF_EVENTS, OFF_LAST, OFF_TIME as OFF_LANDMARK,
};
use crate::model::{EventDecay, Model, Repeat};

const MAGIC: u32 = 0x4C53_4C31; // "LSL1"
/// After the shared header (`header.rs`): when any burst alert last fired, then padding.
const OFF_FIRED: usize = crate::header::LEN;
const HEADER_LEN: usize = crate::header::LEN + 16;

/// Landmarks move forward once `now − L` exceeds this many (shortest) half-lives;
/// forward values then stay below 2^64 × points.
pub const REBASE_AFTER_HALF_LIVES: f64 = 64.0;

/// Past this many half-lives, half of [`MAX_FORWARD_EXPONENT`], a rebase
/// writers keep holding off waits for them (a short while) instead of
/// leaving the attachment to a later tick.
pub const URGENT_REBASE_AFTER_HALF_LIVES: f64 = MAX_FORWARD_EXPONENT / 2.0;

/// Past this many half-lives, an attachment whose rebase writers still held
/// off is left whole by `tick()`, its events pending, until a tick moves its
/// landmark: an event may then be past [`MAX_FORWARD_EXPONENT`], which folds
/// and readers refuse. Below it none can be (events count as of their
/// write); the margin of 20 half-lives covers events committed while a tick
/// runs.
pub const HOLD_AFTER_HALF_LIVES: f64 = MAX_FORWARD_EXPONENT - 20.0;

// tick() moves a landmark, then waits for writers, then leaves an attachment
// whole, all before events are refused.
const _: () = assert!(REBASE_AFTER_HALF_LIVES < URGENT_REBASE_AFTER_HALF_LIVES);
const _: () = assert!(URGENT_REBASE_AFTER_HALF_LIVES < HOLD_AFTER_HALF_LIVES);
const _: () = assert!(HOLD_AFTER_HALF_LIVES < MAX_FORWARD_EXPONENT);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveKey {
    pub model_id: i64,
    pub version: i32,
    /// Landmark, in microseconds since 2000-01-01.
    pub landmark: i64,
}

fn get_f64(buf: &[u8], at: usize) -> f64 {
    f64::from_bits(get_i64(buf, at) as u64)
}
fn put_f64(buf: &mut [u8], at: usize, v: f64) {
    put_i64(buf, at, v.to_bits() as i64);
}

/// Most recent event times kept for a window rule before its result is exact.
const MAX_WINDOW_RING: usize = 1024;

/// How many recent event times a window-decay rule needs: one for a `once`
/// rule, and enough to reach the cap for a capped rule (beyond that the cap
/// binds). An uncapped window rule would need every event in the window.
fn window_ring_len(rule: &crate::model::EngagementRule) -> Option<usize> {
    match rule.repeat {
        Repeat::Once => Some(1),
        Repeat::Cap(_) if rule.points == 0.0 => Some(1),
        Repeat::Cap(cap) => {
            let k = (cap / rule.points.abs()).ceil();
            (k >= 1.0 && k <= MAX_WINDOW_RING as f64).then_some(k as usize)
        }
        Repeat::Every => None,
    }
}

/// Window rules of the model with their ring lengths, in rule order.
fn window_rings(model: &Model) -> impl Iterator<Item = (usize, usize)> + '_ {
    model
        .engagement
        .rules
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match r.decay {
            EventDecay::Window { .. } => window_ring_len(r).map(|k| (i, k)),
            _ => None,
        })
}

/// Refuses models whose decay cannot be kept live in bounded state.
pub fn check_supported(model: &Model) -> Result<()> {
    for (i, rule) in model.engagement.rules.iter().enumerate() {
        if matches!(rule.decay, EventDecay::Window { .. }) && window_ring_len(rule).is_none() {
            return Err(Error::Unsupported(format!(
                "engagement.rules[{i}] (\"{}\"): live scores support window decay only for rules with repeat \"once\" or a cap of at most {MAX_WINDOW_RING} events; use the aggregates, or add a cap",
                rule.name
            )));
        }
    }
    Ok(())
}

/// What `attach` and publishing refuse beyond [`check_supported`]: a model
/// whose live probability would not equal the recompute's. Not checked on
/// writes and reads, so an attachment made before it was refused keeps
/// working (`_report_refusals` names it at an update).
pub fn check_attachable(model: &Model) -> Result<()> {
    check_supported(model)?;
    // A capped window rule keeps only its most recent events (as many as its
    // cap can use), which is all its points need; a predictive feature on it
    // weighs every matching event of the window.
    if let Some(p) = &model.predictive {
        for (j, f) in p.features.iter().enumerate() {
            let Some(r) = f.rule() else { continue };
            let rule = &model.engagement.rules[r];
            if let (EventDecay::Window { .. }, Repeat::Cap(_)) = (&rule.decay, &rule.repeat) {
                return Err(Error::Unsupported(format!(
                    "predictive.features[{j}] (\"{}\"): live scores keep only the events of window rule \"{}\" that its cap can count, and this feature weighs every one in the window; use the aggregates, or weigh a rule without window decay",
                    f.name, rule.name
                )));
            }
        }
    }
    Ok(())
}

fn rules_at() -> usize {
    HEADER_LEN
}

fn alerts_at(model: &Model) -> usize {
    HEADER_LEN + model.engagement.rules.len() * 16
}

fn windows_at(model: &Model) -> usize {
    alerts_at(model)
        + model
            .alerts
            .iter()
            .map(|a| 8 * (1 + a.count))
            .sum::<usize>()
}

pub fn live_len(model: &Model) -> usize {
    windows_at(model) + window_rings(model).map(|(_, k)| 8 * k).sum::<usize>()
}

/// Offset and length of a window rule's ring of its most recent event times.
fn window_ring(model: &Model, rule: usize) -> Option<(usize, usize)> {
    let mut at = windows_at(model);
    for (i, k) in window_rings(model) {
        if i == rule {
            return Some((at, k));
        }
        at += 8 * k;
    }
    None
}

/// Offset of alert `a`'s last-fired time; its ring follows.
fn alert_at(model: &Model, a: usize) -> usize {
    alerts_at(model)
        + model.alerts[..a]
            .iter()
            .map(|x| 8 * (1 + x.count))
            .sum::<usize>()
}

pub fn new_live(model: &Model, key: LiveKey) -> Vec<u8> {
    let mut buf = vec![0u8; live_len(model)];
    Header {
        magic: MAGIC,
        rules: model.engagement.rules.len() as u32,
        model_id: key.model_id,
        version: key.version,
        time: key.landmark,
    }
    .write(&mut buf);
    for a in 0..model.alerts.len() {
        let at = alert_at(model, a);
        for k in 0..=model.alerts[a].count {
            put_i64(&mut buf, at + 8 * k, NO_ACTIVITY);
        }
    }
    for slot in (windows_at(model)..buf.len()).step_by(8) {
        put_i64(&mut buf, slot, NO_ACTIVITY);
    }
    buf
}

/// The model id and version a live state claims, once its header is checked
/// (to find the model that checks the rest, with [`live_key`]).
pub fn live_model(buf: &[u8]) -> Result<(i64, i32)> {
    let h = Header::read(buf, MAGIC, "a live engagement state")?;
    Ok((h.model_id, h.version))
}

/// Checks a buffer against the model it claims to belong to.
pub fn live_key(buf: &[u8], model: &Model) -> Result<LiveKey> {
    let h = Header::read(buf, MAGIC, "a live engagement state")?;
    if buf.len() != live_len(model) || h.rules as usize != model.engagement.rules.len() {
        return Err(Error::State(
            "live state does not match the model's rules".into(),
        ));
    }
    Ok(LiveKey {
        model_id: h.model_id,
        version: h.version,
        landmark: h.time,
    })
}

/// Forward exponents are bounded so that a sum of many events stays finite:
/// 2^512 × points × events is far below f64::MAX. `tick()` rebases every 64
/// half-lives, which keeps real events well inside it: an event past it is
/// refused by [`live_add`] (it would count for less than it is worth), and
/// reads past it in either direction are bounded here or refused by
/// [`read_time`].
pub const MAX_FORWARD_EXPONENT: f64 = 512.0;

/// 2^((to − from) / half_life) for forward decay.
fn forward_factor(decay: EventDecay, from: i64, to: i64) -> f64 {
    match decay {
        EventDecay::Exponential { half_life } => ((to.saturating_sub(from)) as f64 / half_life)
            .min(MAX_FORWARD_EXPONENT)
            .exp2(),
        _ => 1.0,
    }
}

/// Adds one event. `properties` follow `engagement.properties`.
///
/// Refused, before anything is written, when a decaying rule it matches puts
/// it more than [`MAX_FORWARD_EXPONENT`] half-lives after the state's landmark:
/// its forward value would be capped, so it would count for less than it is
/// worth. `tick()` moves the landmark long before (every 64 half-lives); only
/// an attachment whose `tick()` has not run for that long meets this.
pub fn live_add(
    model: &Model,
    buf: &mut [u8],
    event_type: &str,
    at: i64,
    properties: &[Value],
) -> Result<()> {
    let landmark = get_i64(buf, OFF_LANDMARK);
    if let Some(matching) = model.engagement.rules_by_event.get(event_type) {
        for &index in matching {
            let rule = &model.engagement.rules[index as usize];
            let EventDecay::Exponential { half_life } = rule.decay else {
                continue;
            };
            let halves = at.saturating_sub(landmark) as f64 / half_life;
            if halves > MAX_FORWARD_EXPONENT
                && rule.when.as_ref().is_none_or(|c| c.eval(properties))
            {
                return Err(Error::Prerequisite(format!(
                    "an event of rule \"{}\" is {halves:.0} half-lives after the live scores' landmark, \
                     more than {MAX_FORWARD_EXPONENT}: lead_score.tick() moves the landmark every 64 half-lives; \
                     run it (schedule it every minute) and try again",
                    rule.name
                )));
            }
        }
    }
    if at > get_i64(buf, OFF_LAST) {
        put_i64(buf, OFF_LAST, at);
    }
    put_i64(buf, OFF_EVENTS, get_i64(buf, OFF_EVENTS).saturating_add(1));
    if let Some(matching) = model.engagement.rules_by_event.get(event_type) {
        for &index in matching {
            let rule = &model.engagement.rules[index as usize];
            if rule.when.as_ref().is_some_and(|c| !c.eval(properties)) {
                continue;
            }
            let slot = rules_at() + index as usize * 16;
            if let Some((ring, k)) = window_ring(model, index as usize) {
                push_ring(buf, ring, k, at);
                put_i64(buf, slot + 8, get_i64(buf, slot + 8).saturating_add(1));
                continue;
            }
            let value = rule.points * forward_factor(rule.decay, landmark, at);
            let current = get_f64(buf, slot);
            let count = get_i64(buf, slot + 8);
            let next = if rule.repeat == Repeat::Once {
                if count == 0 || value.abs() > current.abs() {
                    value
                } else {
                    current
                }
            } else {
                current + value
            };
            put_f64(buf, slot, next);
            put_i64(buf, slot + 8, count.saturating_add(1));
        }
    }
    for (a, alert) in model.alerts.iter().enumerate() {
        if alert.matches(event_type, properties) {
            push_ring(buf, alert_at(model, a) + 8, alert.count, at);
        }
    }
    Ok(())
}

/// Keeps the `n` most recent times, newest first.
fn push_ring(buf: &mut [u8], ring: usize, n: usize, at: i64) {
    let mut pos = n;
    for k in 0..n {
        if at > get_i64(buf, ring + 8 * k) {
            pos = k;
            break;
        }
    }
    if pos == n {
        return;
    }
    for k in (pos + 1..n).rev() {
        let prev = get_i64(buf, ring + 8 * (k - 1));
        put_i64(buf, ring + 8 * k, prev);
    }
    put_i64(buf, ring + 8 * pos, at);
}

/// Moves `buf` to a new landmark, rescaling each decaying rule.
pub fn rebase(model: &Model, buf: &mut [u8], landmark: i64) {
    let old = get_i64(buf, OFF_LANDMARK);
    if old == landmark {
        return;
    }
    for (i, rule) in model.engagement.rules.iter().enumerate() {
        let slot = rules_at() + i * 16;
        let v = get_f64(buf, slot) * forward_factor(rule.decay, landmark, old);
        put_f64(buf, slot, v);
    }
    put_i64(buf, OFF_LANDMARK, landmark);
}

/// Merges `other` into `into` (same model version), moving both to the later
/// landmark. Burst rings are merged; bursts are only detected by `detect_bursts`.
pub fn live_merge(model: &Model, into: &mut [u8], other: &[u8]) -> Result<()> {
    let a = live_key(into, model)?;
    let b = live_key(other, model)?;
    if (a.model_id, a.version) != (b.model_id, b.version) {
        return Err(Error::State(format!(
            "cannot merge live states of model {} v{} and model {} v{}",
            a.model_id, a.version, b.model_id, b.version
        )));
    }
    let mut other = other.to_vec();
    let landmark = a.landmark.max(b.landmark);
    rebase(model, into, landmark);
    rebase(model, &mut other, landmark);
    let last = get_i64(into, OFF_LAST).max(get_i64(&other, OFF_LAST));
    // Saturating: a crafted state's counts could overflow (never a panic).
    let events = get_i64(into, OFF_EVENTS).saturating_add(get_i64(&other, OFF_EVENTS));
    put_i64(into, OFF_LAST, last);
    put_i64(into, OFF_EVENTS, events);
    for (i, rule) in model.engagement.rules.iter().enumerate() {
        let slot = rules_at() + i * 16;
        let (va, ca) = (get_f64(into, slot), get_i64(into, slot + 8));
        let (vb, cb) = (get_f64(&other, slot), get_i64(&other, slot + 8));
        let v = if rule.repeat == Repeat::Once {
            match (ca, cb) {
                (0, _) => vb,
                (_, 0) => va,
                _ if vb.abs() > va.abs() => vb,
                _ => va,
            }
        } else {
            va + vb
        };
        put_f64(into, slot, v);
        put_i64(into, slot + 8, ca.saturating_add(cb));
    }
    for (rule, k) in window_rings(model) {
        if let Some((ring, _)) = window_ring(model, rule) {
            for j in 0..k {
                let t = get_i64(&other, ring + 8 * j);
                if t != NO_ACTIVITY {
                    push_ring(into, ring, k, t);
                }
            }
        }
    }
    for (x, alert) in model.alerts.iter().enumerate() {
        let at = alert_at(model, x);
        let fired = get_i64(into, at).max(get_i64(&other, at));
        put_i64(into, at, fired);
        for k in 0..alert.count {
            let t = get_i64(&other, at + 8 + 8 * k);
            if t != NO_ACTIVITY {
                push_ring(into, at + 8, alert.count, t);
            }
        }
    }
    Ok(())
}

/// Fires each burst alert whose `count` most recent events fall within its
/// window and all came after its last firing; returns their indexes. A burst
/// fires once per distinct set of events.
///
/// `delta`, the events just merged into `buf` (never folded before), also
/// fires a burst when its own `count` most recent matching events fall within
/// the window: a set of events that arrived late (a transaction that began
/// first and committed last), which the ring of the newest times alone does
/// not show once newer events are in it. They did not fire before, since
/// they were not there.
pub fn detect_bursts(model: &Model, buf: &mut [u8], delta: Option<&[u8]>) -> Vec<usize> {
    let mut fired = Vec::new();
    for (x, alert) in model.alerts.iter().enumerate() {
        let at = alert_at(model, x);
        let last_fired = get_i64(buf, at);
        let within = |newest: i64, oldest: i64| {
            alert
                .within
                .is_none_or(|w| newest.saturating_sub(oldest) <= w)
        };
        let newest = get_i64(buf, at + 8);
        let oldest = get_i64(buf, at + 8 * alert.count);
        if oldest != NO_ACTIVITY && oldest > last_fired && within(newest, oldest) {
            put_i64(buf, at, newest);
            fired.push(x);
            continue;
        }
        let Some(d) = delta else { continue };
        let (d_newest, d_oldest) = (get_i64(d, at + 8), get_i64(d, at + 8 * alert.count));
        if d_oldest != NO_ACTIVITY && within(d_newest, d_oldest) {
            put_i64(buf, at, last_fired.max(d_newest));
            fired.push(x);
        }
    }
    put_i64(
        buf,
        OFF_FIRED,
        fired.iter().fold(0i64, |m, &x| m | (1 << x)),
    );
    fired
}

/// How long before its write a score row's [`upper_bound`] still holds: a
/// reader whose time is this much older than the newest write (a long
/// transaction, or `lead_score.as_of`) cannot use the bounds.
pub const BOUND_VALID_BEFORE_US: i64 = 3_600_000_000;

/// How many score rows of the highest stored bounds a round of `tick()`'s
/// bound refresh checks, lowering those whose bound is stale (see
/// [`BOUND_STALE_MARGIN`]): a lead hot long ago and not written since keeps
/// its bound, and `top_leads` walks past every such lead above the n-th
/// total. The rows a round lowered fall down the index; while a round lowers
/// at least [`BOUND_REFRESH_AGAIN`], `tick()` runs another on the rows now
/// first. Each round lowers what it found stale, so the rounds end.
pub const BOUND_REFRESH_ROWS: i64 = 10_000;

/// See [`BOUND_REFRESH_ROWS`]: once a round finds fewer stale bounds than
/// this (1% of the rows it checks), `tick()` stops.
pub const BOUND_REFRESH_AGAIN: i64 = BOUND_REFRESH_ROWS / 100;
const _: () = assert!(BOUND_REFRESH_AGAIN > 0);

/// A stored bound is stale once it is above the bound its state gives at the
/// tick's time by more than this share of `1 + |that bound|` (a lead at 100
/// points, by more than 1.01 points): so the leads at the top of the index
/// are rewritten once their bound has fallen that much, not at every tick.
pub const BOUND_STALE_MARGIN: f64 = 0.01;

/// The highest engagement a live state can score at any time from `from` on,
/// until events are added: negative rules count 0 (their points decay toward
/// 0, so they only ever take less off), positive rules as at `from` (or at the
/// last activity, if later: decay and windows only lower them after), and no
/// inactivity penalty (a new event would lift it). Every step of
/// `EngagementModel::finalize` is monotone in the rules'
/// points, so the result bounds every later read. `top_leads` ranks by it.
///
/// It also bounds what events add: the bound of a state holding only some
/// events, taken at `from`, is at least what adding them to any other state
/// adds to that state's read at `from` or later. A rule's value grows by at
/// most theirs (sums add; a `once` rule keeps the newer of two values; a
/// window counts the events of both), and every cap is `min(cap, x)` of a
/// sum of non-negative values, which grows by at most what is added, and by
/// at most the cap. `top_leads` bounds a lead with pending events this way
/// (`_live_bound`).
pub fn upper_bound(model: &Model, buf: &[u8], from: i64) -> Result<f64> {
    let mut bounded = buf.to_vec();
    for (i, rule) in model.engagement.rules.iter().enumerate() {
        if rule.points < 0.0 {
            let slot = rules_at() + i * 16;
            put_f64(&mut bounded, slot, 0.0);
            put_i64(&mut bounded, slot + 8, 0);
        }
    }
    let at = read_time(model, &bounded, from, false)?;
    let live = LiveAt::new(model, &bounded, at)?;
    let mut categories = Vec::new();
    Ok(model
        .engagement
        .finalize(&NoInactivity(&live), &mut categories, &mut ()))
}

/// The most one event of `event_type` can add to [`upper_bound`]: the points
/// of every positive rule for that type, whatever its conditions. Looser than
/// the bound of the events' own state (above); `top_leads` uses it only on
/// 0.1.0's catalog, which has no `_live_bound`.
pub fn event_bound(model: &Model, event_type: &str) -> f64 {
    model
        .engagement
        .rules_by_event
        .get(event_type)
        .map_or(0.0, |rules| {
            rules
                .iter()
                .map(|&i| model.engagement.rules[i as usize].points.max(0.0))
                .sum()
        })
}

/// [`event_bound`] of every event type the model's rules match, by type.
pub fn event_bounds(model: &Model) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = model
        .engagement
        .rules_by_event
        .keys()
        .map(|t| (t.clone(), event_bound(model, t)))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A state's totals with no last activity, so no inactivity penalty applies.
struct NoInactivity<'a>(&'a LiveAt<'a>);

impl RuleTotals for NoInactivity<'_> {
    fn count(&self, rule: usize) -> i64 {
        self.0.count(rule)
    }
    fn decayed(&self, rule: usize) -> f64 {
        self.0.decayed(rule)
    }
    fn last_activity(&self) -> Option<i64> {
        None
    }
    fn as_of(&self) -> i64 {
        self.0.as_of()
    }
}

/// The shortest half-life in the model, for deciding when to rebase.
pub fn shortest_half_life(model: &Model) -> Option<f64> {
    model
        .engagement
        .rules
        .iter()
        .filter_map(|r| match r.decay {
            EventDecay::Exponential { half_life } => Some(half_life),
            _ => None,
        })
        .min_by(f64::total_cmp)
}

/// A live state read at a point in time.
pub struct LiveAt<'a> {
    model: &'a Model,
    buf: &'a [u8],
    now: i64,
}

impl<'a> LiveAt<'a> {
    pub fn new(model: &'a Model, buf: &'a [u8], now: i64) -> Result<Self> {
        live_key(buf, model)?;
        Ok(LiveAt { model, buf, now })
    }
}

/// How far before its landmark a live state may be read: forward values of
/// older events have lost their precision beyond this many half-lives.
pub const MAX_HALF_LIVES_BEFORE_LANDMARK: f64 = 512.0;

/// The time a live state is read at, for a reader asking for `now`.
///
/// A live state keeps sums, not events, so it can only be read at or after its
/// last event. A read at `now` (no `lead_score.as_of`, `as_of` false) that
/// another transaction's newer event has passed reads at that event instead.
/// A read as of a chosen past time (`as_of` true) before the last event, or so
/// far before the landmark that precision is gone, is refused: live scores
/// would count events after it, or give 0. The engagement aggregates score
/// any past date exactly.
pub fn read_time(model: &Model, buf: &[u8], now: i64, as_of: bool) -> Result<i64> {
    let key = live_key(buf, model)?;
    let last = get_i64(buf, OFF_LAST);
    if last != NO_ACTIVITY && now < last {
        if !as_of {
            return Ok(last);
        }
        return Err(Error::Unsupported(
            "lead_score.as_of is before this lead's last activity: live scores hold sums, not events, \
             so they cannot leave later events out; score as of a past date with the engagement aggregates"
                .into(),
        ));
    }
    if let Some(h) = shortest_half_life(model) {
        if as_of && key.landmark.saturating_sub(now) as f64 / h > MAX_HALF_LIVES_BEFORE_LANDMARK {
            return Err(Error::Unsupported(format!(
                "lead_score.as_of is more than {MAX_HALF_LIVES_BEFORE_LANDMARK} half-lives before the live scores' landmark; \
                 score as of a past date with the engagement aggregates"
            )));
        }
    }
    Ok(now)
}

impl RuleTotals for LiveAt<'_> {
    fn count(&self, rule: usize) -> i64 {
        get_i64(self.buf, rules_at() + rule * 16 + 8)
    }
    fn decayed(&self, rule: usize) -> f64 {
        let r = &self.model.engagement.rules[rule];
        if let (EventDecay::Window { window }, Some((ring, k))) =
            (r.decay, window_ring(self.model, rule))
        {
            // Newest first; like the aggregate, events after `now` do not count yet.
            let inside = (0..k)
                .map(|j| get_i64(self.buf, ring + 8 * j))
                .filter(|&t| {
                    t != NO_ACTIVITY && t <= self.now && self.now.saturating_sub(t) <= window
                })
                .count();
            return match r.repeat {
                Repeat::Once => r.points * inside.min(1) as f64,
                _ => r.points * inside as f64,
            };
        }
        let landmark = get_i64(self.buf, OFF_LANDMARK);
        get_f64(self.buf, rules_at() + rule * 16) * forward_factor(r.decay, self.now, landmark)
    }
    fn last_activity(&self) -> Option<i64> {
        Some(get_i64(self.buf, OFF_LAST)).filter(|&t| t != NO_ACTIVITY)
    }
    fn as_of(&self) -> i64 {
        self.now
    }
}

/// The classification kept with a materialized score, to detect crossings.
#[derive(Debug, Clone, PartialEq)]
pub struct Classified {
    pub mql: bool,
    pub quadrant: String,
    /// Categories at or above their watermark.
    pub hot: Vec<String>,
}

impl Classified {
    /// A whole score's classification: what a writer stores with the score
    /// row and compares with the one stored before. [`classify_at`] gives the
    /// same from a live state without the rest of the score.
    pub fn of(score: &crate::Score) -> Classified {
        Classified {
            mql: score.mql,
            quadrant: score.quadrant.as_str().to_string(),
            hot: hot_categories(score),
        }
    }
}

/// A score's categories at or above their watermark, in the model's order.
pub fn hot_categories(score: &crate::Score) -> Vec<String> {
    score
        .categories
        .iter()
        .filter(|c| c.above_watermark)
        .map(|c| c.name.clone())
        .collect()
}

/// The classification a writer reads from a live state at `now` (after every
/// event the state holds, as [`read_time`] gives it), for a lead of `fit`,
/// disqualified or not: what `tick()` compares with the stored classification
/// to find the crossings that time alone caused. The same as classifying
/// [`Model::score`] of the state, without the rest of the score.
pub fn classify_at(
    model: &Model,
    buf: &[u8],
    fit: f64,
    disqualified: bool,
    now: i64,
) -> Result<Classified> {
    let at = read_time(model, buf, now, false)?;
    let live = LiveAt::new(model, buf, at)?;
    let mut categories = Vec::new();
    let engagement = model.engagement.finalize(&live, &mut categories, &mut ());
    let c = &model.classification;
    Ok(Classified {
        mql: c.is_mql(fit, engagement, disqualified),
        quadrant: c
            .quadrant(fit, engagement, disqualified)
            .as_str()
            .to_string(),
        hot: model
            .engagement
            .categories
            .iter()
            .zip(&categories)
            .enumerate()
            .filter(|(i, (_, &score))| !disqualified && model.engagement.above_watermark(*i, score))
            .map(|(_, (category, _))| category.name.clone())
            .collect(),
    })
}

/// Whether time alone can only lower a model's engagement and category
/// scores, until a lead's next event: no rule with negative points decays (a
/// negative rule without decay takes the same off at every time), and every
/// other effect of time (decay, windows, the inactivity penalty) only lowers
/// them. Then every classification only moves down with time (from MQL to
/// not, from a high-engagement quadrant to a low one, out of a hot category),
/// and a lead classified as low as it can be ([`is_lowest`]) cannot cross by
/// time alone: `tick()` does not classify it again.
pub fn time_only_lowers(model: &Model) -> bool {
    model
        .engagement
        .rules
        .iter()
        .all(|r| r.points >= 0.0 || matches!(r.decay, EventDecay::None))
        && model
            .engagement
            .inactivity
            .is_none_or(|step| step.points >= 0.0)
}

/// The quadrants of high engagement, which time can leave.
pub const HIGH_ENGAGEMENT_QUADRANTS: [crate::Quadrant; 2] =
    [crate::Quadrant::ActNow, crate::Quadrant::CheckFit];

/// Whether a classification is as low as time can take it: not an MQL, no
/// quadrant of high engagement, no hot category.
pub fn is_lowest(c: &Classified) -> bool {
    !c.mql
        && c.hot.is_empty()
        && !HIGH_ENGAGEMENT_QUADRANTS
            .iter()
            .any(|q| q.as_str() == c.quadrant)
}

/// One reason to alert sales.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertEvent {
    /// `mql`, `mql_lost`, `quadrant`, `watermark` or `burst`.
    pub kind: &'static str,
    pub detail: String,
}

/// Alerts for moving from `prev` (None for a lead seen for the first time) to `next`.
pub fn classification_alerts(prev: Option<&Classified>, next: &Classified) -> Vec<AlertEvent> {
    let mut out = Vec::new();
    let was_mql = prev.is_some_and(|p| p.mql);
    if next.mql && !was_mql {
        out.push(AlertEvent {
            kind: "mql",
            detail: "became an MQL".into(),
        });
    }
    if !next.mql && was_mql {
        out.push(AlertEvent {
            kind: "mql_lost",
            detail: "is no longer an MQL".into(),
        });
    }
    if let Some(p) = prev {
        if p.quadrant != next.quadrant {
            out.push(AlertEvent {
                kind: "quadrant",
                detail: format!("{} -> {}", p.quadrant, next.quadrant),
            });
        }
    }
    for category in &next.hot {
        if !prev.is_some_and(|p| p.hot.contains(category)) {
            out.push(AlertEvent {
                kind: "watermark",
                detail: category.clone(),
            });
        }
    }
    out
}

/// Alerts for a write that moves a lead from its stored class `prev` to
/// `next`, when its stored state read just before the write (`before`) is
/// already classed otherwise: time alone crossed a line since the row was
/// written, which no `tick()` has alerted. Those crossings come first, then
/// the write's own from there (a lead that decayed out of MQL and an event
/// lifts back: `mql_lost`, then `mql`). With no `before`, or one equal to
/// `prev`, the same as [`classification_alerts`].
pub fn write_alerts(
    prev: Option<&Classified>,
    before: Option<&Classified>,
    next: &Classified,
) -> Vec<AlertEvent> {
    write_alerts_timed(prev, before, next)
        .into_iter()
        .map(|(a, _)| a)
        .collect()
}

/// [`write_alerts`], each with whether it happened at `before` (a crossing
/// time alone caused, whose alert carries the total then) rather than at the
/// write.
pub fn write_alerts_timed(
    prev: Option<&Classified>,
    before: Option<&Classified>,
    next: &Classified,
) -> Vec<(AlertEvent, bool)> {
    let at = |alerts: Vec<AlertEvent>, before: bool| alerts.into_iter().map(move |a| (a, before));
    match before {
        Some(mid) if prev.is_some() && Some(mid) != prev => {
            at(classification_alerts(prev, mid), true)
                .chain(at(classification_alerts(Some(mid), next), false))
                .collect()
        }
        _ => at(classification_alerts(prev, next), false).collect(),
    }
}

/// When each burst alert last fired (NO_ACTIVITY if never).
pub fn burst_marks(model: &Model, buf: &[u8]) -> Vec<i64> {
    (0..model.alerts.len())
        .map(|x| get_i64(buf, alert_at(model, x)))
        .collect()
}

pub fn set_burst_mark(model: &Model, buf: &mut [u8], alert: usize, at: i64) {
    put_i64(buf, alert_at(model, alert), at);
}
