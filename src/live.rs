//! SQL bindings for live (materialized) scores: the batch aggregate that turns
//! a statement's new events into a forward-decayed delta per lead, and the
//! functions the attach triggers use to merge, classify and read it.

use crate::aggregate::{aggregate_context, state_bytes_mut};
use crate::args::{arg, nargs, return_null, text_arg};
use crate::catalog::{by_key, Compiled};
use crate::errors::{raise_code, OrRaise};
use crate::fncache::fn_cache;
use crate::lead::{form_tuple, result_desc, score_fields};
use crate::v1_info;
use lead_score_core::engagement::RuleTotals;
use lead_score_core::live::{
    check_supported, classify_at, detect_bursts, live_add, live_key, live_len, live_merge,
    new_live, rebase, write_alerts_timed, Classified, LiveAt, LiveKey,
};
use lead_score_core::{FitOutcome, Value};
use pgrx::prelude::*;
use pgrx::{IntoDatum, PgSqlErrorCode};

/// State, model id, version, landmark, event type, time; then the properties.
const FIXED_ARGS: usize = 6;
use lead_score_core::MAX_PROPERTIES;

#[derive(Default)]
struct BatchCache {
    compiled: Option<&'static Compiled>,
}

/// The bytes of a bytea datum, detoasted if it needs to be.
///
/// # Safety
/// `datum` must be a valid bytea datum that outlives `'a`.
unsafe fn bytes<'a>(datum: pg_sys::Datum) -> &'a [u8] {
    // SAFETY: the caller guarantees a valid bytea; a detoasted copy, if one is
    // needed, is made in the current memory context, which outlives the call.
    unsafe {
        pgrx::varlena::varlena_to_byte_slice(pg_sys::pg_detoast_datum_packed(datum.cast_mut_ptr()))
    }
}

/// A new bytea datum, in the current memory context, holding `buf`.
fn bytea_datum(buf: &[u8]) -> pg_sys::Datum {
    // SAFETY: palloc returns `buf.len() + VARHDRSZ` bytes (or raises); with its
    // 4-byte header set, they are a bytea whose data `buf` is copied into.
    unsafe {
        let p = pg_sys::palloc(buf.len() + pg_sys::VARHDRSZ) as *mut pg_sys::varlena;
        pgrx::varlena::set_varsize_4b(p, (buf.len() + pg_sys::VARHDRSZ) as i32);
        std::ptr::copy_nonoverlapping(
            buf.as_ptr(),
            pgrx::varlena::vardata_any(p) as *mut u8,
            buf.len(),
        );
        pg_sys::Datum::from(p)
    }
}

/// The compiled model a live state belongs to.
fn model_of(buf: &[u8]) -> &'static Compiled {
    let (id, version) = lead_score_core::live::live_model(buf).or_raise();
    let compiled = by_key(id, version);
    live_key(buf, &compiled.model).or_raise();
    compiled
}

v1_info!(pg_finfo_lead_score_live_batch_trans);
/// `_live_batch(state, model_id bigint, version int, landmark timestamptz, event_type text, at timestamptz, props text...)`
///
/// # Safety
/// Called only by PostgreSQL's function manager, as `lead_score_internal._live_batch_trans`
/// (`sql/live.sql`), the transition function of the batch aggregate, with a
/// valid `fcinfo`.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_live_batch_trans(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    // SAFETY: PostgreSQL passes this call's valid `fcinfo` (to every use of it
    // below, "as above"), with the declared arguments: bytea, bigint, integer,
    // timestamptz, text, timestamptz, then up to MAX_PROPERTIES text.
    unsafe { aggregate_context(fcinfo, "lead_score_internal._live_batch") };
    // SAFETY: as above; this call site always caches a BatchCache, taken once.
    let cache = unsafe { fn_cache(fcinfo, BatchCache::default) };
    // SAFETY: as above.
    let (Some(model_id), Some(version)) = (unsafe { (arg(fcinfo, 1), arg(fcinfo, 2)) }) else {
        raise_code(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            "model id and version must not be null",
        );
    };
    let (model_id, version) = (model_id.value() as i64, version.value() as i32);
    let compiled = match cache.compiled {
        Some(c) if c.model_id == model_id && c.version == version => c,
        _ => {
            let c = by_key(model_id, version);
            check_supported(&c.model).or_raise();
            cache.compiled = Some(c);
            c
        }
    };
    // SAFETY: as above.
    let state: *mut pg_sys::varlena = match unsafe { arg(fcinfo, 0) } {
        Some(d) => d.cast_mut_ptr(),
        None => {
            // SAFETY: as above.
            let Some(landmark) = (unsafe { arg(fcinfo, 3) }) else {
                raise_code(
                    PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
                    "landmark must not be null",
                );
            };
            let key = LiveKey {
                model_id,
                version,
                landmark: landmark.value() as i64,
            };
            // Built in the per-row context; PostgreSQL copies it into the aggregate's.
            bytea_datum(&new_live(&compiled.model, key)).cast_mut_ptr()
        }
    };
    // SAFETY: as above.
    let (Some(event_type), Some(at)) = (unsafe { (arg(fcinfo, 4), arg(fcinfo, 5)) }) else {
        return pg_sys::Datum::from(state);
    };
    // SAFETY: as above.
    let n_props = (unsafe { nargs(fcinfo) } - FIXED_ARGS).min(MAX_PROPERTIES);
    let mut props = [Value::Null; MAX_PROPERTIES];
    for (i, p) in props.iter_mut().enumerate().take(n_props) {
        // SAFETY: as above; the arguments after FIXED_ARGS are text.
        if let Some(d) = unsafe { arg(fcinfo, FIXED_ARGS + i) } {
            // SAFETY: a text datum of this call (above).
            *p = Value::Text(unsafe { text_arg(d) });
        }
    }
    // SAFETY: `state` is the one built above, or the group's state, a plain
    // bytea that PostgreSQL keeps in the aggregate context for this function to
    // update in place; nothing else references its bytes.
    let buf = unsafe { state_bytes_mut(state) };
    if buf.len() != live_len(&compiled.model) {
        raise_code(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "_live_batch: the model must be the same for every row",
        );
    }
    live_add(
        &compiled.model,
        buf,
        // SAFETY: argument 4 is a text datum of this call.
        unsafe { text_arg(event_type) },
        at.value() as i64,
        &props[..n_props],
    )
    .or_raise();
    pg_sys::Datum::from(state)
}

v1_info!(pg_finfo_lead_score_live_batch_combine);
/// `_live_batch_combine(a bytea, b bytea) → bytea`: merges partial batch states.
///
/// # Safety
/// Called only by PostgreSQL's function manager, as
/// `lead_score_internal._live_batch_combine` (`sql/live.sql`), the combine function of the
/// batch aggregate, with a valid `fcinfo`.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_live_batch_combine(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    // SAFETY: PostgreSQL passes this call's valid `fcinfo` (to every use of it
    // below, "as above"), with two bytea arguments.
    unsafe { aggregate_context(fcinfo, "lead_score_internal._live_batch_combine") };
    // SAFETY: as above.
    let (Some(a), Some(b)) = (unsafe { (arg(fcinfo, 0), arg(fcinfo, 1)) }) else {
        // SAFETY: as above.
        return unsafe { return_null(fcinfo) };
    };
    let a = a.cast_mut_ptr::<pg_sys::varlena>();
    // SAFETY: `a` is the aggregate's own state, which PostgreSQL has copied into
    // the aggregate context (STRICT) for this function to update in place;
    // nothing else references its bytes.
    let into = unsafe { state_bytes_mut(a) };
    let compiled = model_of(into);
    // SAFETY: `b` is a bytea of this call, only read.
    live_merge(&compiled.model, into, unsafe { bytes(b) }).or_raise();
    pg_sys::Datum::from(a)
}

/// An empty live state for a model version.
#[pg_extern(
    name = "_live_empty",
    schema = "lead_score_internal",
    stable,
    strict,
    parallel_safe
)]
fn live_empty(
    model_id: i64,
    version: i32,
    landmark: pgrx::datum::TimestampWithTimeZone,
) -> Vec<u8> {
    let compiled = by_key(model_id, version);
    let key = LiveKey {
        model_id,
        version,
        landmark: i64::from(landmark),
    };
    new_live(&compiled.model, key)
}

/// A stored state with the events of an attachment's pending table merged
/// in (NULL delta: the state itself). Readers use it, so scores are current
/// before the pending events are folded into the stored row.
#[pg_extern(
    name = "_live_merge",
    schema = "lead_score_internal",
    stable,
    parallel_safe
)]
fn live_merge_pending(state: Option<&[u8]>, pending: Option<&[u8]>) -> Option<Vec<u8>> {
    let state = state?;
    let mut buf = state.to_vec();
    if let Some(delta) = pending {
        live_merge(&model_of(state).model, &mut buf, delta).or_raise();
    }
    Some(buf)
}

/// Raises unless the model's current version can be kept live (see `attach`).
#[pg_extern(
    name = "_live_check",
    schema = "lead_score_internal",
    stable,
    strict,
    parallel_safe
)]
fn live_check(model: &str) -> bool {
    lead_score_core::live::check_attachable(&crate::catalog::resolve(model).compiled.model)
        .or_raise();
    true
}

/// Moves a live state to a new landmark (see `lead_score.tick`).
#[pg_extern(
    name = "_live_rebase",
    schema = "lead_score_internal",
    stable,
    strict,
    parallel_safe
)]
fn live_rebase(state: &[u8], landmark: pgrx::datum::TimestampWithTimeZone) -> Vec<u8> {
    let compiled = model_of(state);
    let mut buf = state.to_vec();
    rebase(&compiled.model, &mut buf, i64::from(landmark));
    buf
}

/// `_live_bound(state, at)`: the highest engagement a live state can score
/// when read at `at` or later (`lead_score_core::live::upper_bound`). Of a
/// state holding a lead's pending events alone, it bounds what they add to
/// the lead's stored bound: `top_leads` ranks only leads it lets reach the
/// floor.
#[pg_extern(
    name = "_live_bound",
    schema = "lead_score_internal",
    stable,
    strict,
    parallel_safe
)]
fn live_bound(state: &[u8], at: pgrx::datum::TimestampWithTimeZone) -> f64 {
    let compiled = model_of(state);
    lead_score_core::live::upper_bound(&compiled.model, state, i64::from(at)).or_raise()
}

/// `_event_bounds(model_id, version)`: for each event type a rule of the model
/// version matches, the most one such event can add to a lead's total
/// (`lead_score_core::live::event_bound`). `top_leads` bounds a lead with
/// pending events by its stored bound plus these on 0.1.0's catalog, before
/// `ALTER EXTENSION lead_score UPDATE`; 0.2.0 drops the function and uses
/// `_live_bound`, but keeps the symbol, so 0.1.0's install script still loads.
#[pg_extern(
    sql = false,
    name = "_event_bounds",
    schema = "lead_score_internal",
    stable,
    strict,
    parallel_safe
)]
fn event_bounds(
    model_id: i64,
    version: i32,
) -> TableIterator<'static, (name!(event_type, String), name!(bound, f64))> {
    TableIterator::new(lead_score_core::live::event_bounds(
        &by_key(model_id, version).model,
    ))
}

/// `_event_points(model, event_type, occurred_at, properties)`: the rules one
/// event matches and its points now (at `scoring_time()`), decayed, before
/// caps (`EngagementModel::event_points`): a lead's timeline, per event.
#[pg_extern(
    name = "_event_points",
    schema = "lead_score_internal",
    stable,
    parallel_safe
)]
fn event_points(
    model: Option<&str>,
    event_type: Option<&str>,
    occurred_at: Option<pgrx::datum::TimestampWithTimeZone>,
    properties: Option<Vec<Option<String>>>,
) -> TableIterator<'static, (name!(rules, Vec<String>), name!(points, f64))> {
    let resolved = crate::catalog::resolve(crate::errors::not_null(model, "model"));
    let m = &resolved.compiled.model;
    let (Some(event_type), Some(at)) = (event_type, occurred_at) else {
        return TableIterator::once((Vec::new(), 0.0));
    };
    let props = properties.unwrap_or_default();
    let values: Vec<Value> = m
        .engagement
        .properties
        .iter()
        .enumerate()
        .map(|(i, _)| match props.get(i) {
            Some(Some(t)) => Value::Text(t.as_str()),
            _ => Value::Null,
        })
        .collect();
    let matched = m
        .engagement
        .event_points(event_type, at.into_inner(), &values, resolved.as_of);
    let rules = matched
        .iter()
        .map(|(i, _)| m.engagement.rules[*i].name.clone())
        .collect();
    // From 0.0: Rust sums floats from -0.0, which an event matching no rule
    // would show as -0.
    let points = matched.iter().fold(0.0, |sum, (_, p)| sum + p);
    TableIterator::once((rules, points))
}

/// The score of a live state at `now`. Readers pass `as_of` when `now` is
/// `lead_score.as_of` (see `lead_score_core::live::read_time`).
fn score_at(
    compiled: &Compiled,
    buf: &[u8],
    fit: f64,
    disqualified_by: Option<&str>,
    predictive: &[u8],
    now: i64,
    as_of: bool,
) -> lead_score_core::Score {
    let now = lead_score_core::live::read_time(&compiled.model, buf, now, as_of).or_raise();
    let at = LiveAt::new(&compiled.model, buf, now).or_raise();
    let disq = disqualified_by
        .and_then(|name| compiled.model.fit.rules.iter().position(|r| r.name == name));
    // A disqualify rule renamed in a new version still disqualifies until the lead is rescored.
    let disq = disq.or(disqualified_by.map(|_| 0));
    let fit = FitOutcome {
        score: fit,
        disqualified_by: disq,
    };
    let fired = lead_score_core::predictive::decode_fired(predictive);
    let mut s = compiled
        .model
        .score_predicted(fit, fired, Some(&at as &dyn RuleTotals));
    s.disqualified_by = disqualified_by.map(str::to_string);
    s
}

#[derive(Default)]
struct CompositeCache {
    result: Option<pg_sys::TupleDesc>,
}

v1_info!(pg_finfo_lead_score_live_score);
/// `_live_score(state bytea, fit float8, disqualified_by text, predictive bytea,
/// now timestamptz) → lead_score.score`
///
/// # Safety
/// Called only by PostgreSQL's function manager, as `lead_score_internal._live_score`
/// (`sql/live.sql`), with a valid `fcinfo`.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_live_score(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    // SAFETY: PostgreSQL passes this call's valid `fcinfo` (to every use of it
    // below, "as above"), with the declared arguments (bytea, float8, text,
    // bytea, timestamptz); this call site always caches a CompositeCache, taken once.
    let cache = unsafe { fn_cache(fcinfo, CompositeCache::default) };
    // SAFETY: as above; the result slot is the call site's cache, in `fn_mcxt`.
    let desc = unsafe { result_desc(fcinfo, &mut cache.result) };
    // SAFETY: as above.
    let (Some(state), Some(now)) = (unsafe { (arg(fcinfo, 0), arg(fcinfo, 4)) }) else {
        // SAFETY: as above.
        return unsafe { return_null(fcinfo) };
    };
    // SAFETY: argument 0 is a bytea of this call.
    let buf = unsafe { bytes(state) };
    let compiled = model_of(buf);
    // SAFETY: as above.
    let fit = unsafe { arg(fcinfo, 1) }.map_or(0.0, |d| f64::from_bits(d.value() as u64));
    // SAFETY: as above; argument 2 is text.
    let disq = unsafe { arg(fcinfo, 2).map(|d| text_arg(d)) };
    // SAFETY: as above; argument 3 is a bytea.
    let predictive = unsafe { arg(fcinfo, 3).map(|d| bytes(d)) }.unwrap_or_default();
    // A reader's time is lead_score.as_of when that is set (scoring_time()).
    let as_of = crate::AS_OF.get().is_some_and(|v| !v.as_bytes().is_empty());
    let s = score_at(
        compiled,
        buf,
        fit,
        disq,
        predictive,
        now.value() as i64,
        as_of,
    );
    // SAFETY: `desc` is the blessed descriptor of the declared result type,
    // lead_score.score, whose fields score_fields gives in order.
    unsafe { form_tuple(desc, &score_fields(&s, compiled.version)) }
}

/// `_live_crossed(state, fit, disqualified_by, mql, quadrant, hot_categories, now)`:
/// whether a score row's stored classification differs from the one its state
/// reads at `now` (`lead_score_core::live::classify_at`): the rows whose
/// crossings time alone caused, which `tick()` rewrites and alerts on. A row
/// with no stored classification has crossed. Only the classification, so
/// a scan of every score row costs one decay and comparison per row.
#[pg_extern(
    name = "_live_crossed",
    schema = "lead_score_internal",
    stable,
    parallel_safe
)]
fn live_crossed(
    state: Option<&[u8]>,
    fit: Option<f64>,
    disqualified_by: Option<&str>,
    mql: Option<bool>,
    quadrant: Option<&str>,
    hot_categories: Option<pgrx::Array<&str>>,
    now: Option<pgrx::datum::TimestampWithTimeZone>,
) -> Option<bool> {
    let (state, now) = (state?, now?);
    let compiled = model_of(state);
    let next = classify_at(
        &compiled.model,
        state,
        fit.unwrap_or(0.0),
        disqualified_by.is_some(),
        i64::from(now),
    )
    .or_raise();
    let (Some(mql), Some(quadrant), Some(hot)) = (mql, quadrant, hot_categories) else {
        return Some(true);
    };
    Some(
        mql != next.mql
            || quadrant != next.quadrant
            || hot.len() != next.hot.len()
            || hot
                .iter()
                .zip(&next.hot)
                .any(|(h, n)| h != Some(n.as_str())),
    )
}

/// `_lowering_version(model)`: the model's current version when time alone
/// can only lower its scores (`lead_score_core::live::time_only_lowers`), else
/// NULL. `tick()` does not classify again the leads of that version whose
/// stored classification is as low as it can be: time cannot move them.
#[pg_extern(
    name = "_lowering_version",
    schema = "lead_score_internal",
    stable,
    strict,
    parallel_safe
)]
fn lowering_version(model: &str) -> Option<i32> {
    let r = crate::catalog::resolve(model);
    lead_score_core::live::time_only_lowers(&r.compiled.model).then_some(r.compiled.version)
}

v1_info!(pg_finfo_lead_score_live_apply);
/// `_live_apply(stored bytea, delta bytea, fit float8, disqualified_by text,
///              prev_mql bool, prev_quadrant text, prev_hot text[],
///              landmark timestamptz, now timestamptz, replace bool
///              [, before timestamptz, before_fit float8, before_disqualified_by text])
///              → lead_score_internal._applied`
///
/// Merges `delta` into `stored` (or, with `replace`, takes `delta` as the whole
/// history while keeping when each burst last fired), moves it to `landmark`,
/// classifies at `now` and returns the alerts for what crossed.
///
/// With `before` (the 13-argument form; NULL for none), the stored state is
/// also classified at `before`, with the fit it was stored with: the moment
/// just before the write's events (or its fit change), later than when the
/// stored classification was made. A crossing time alone caused in between,
/// which no `tick()` has alerted yet (a lead that decayed out of MQL), is
/// alerted first, then the write's own from there: a lead that decayed out
/// and an event lifts back sends `mql_lost`, then `mql`.
///
/// # Safety
/// Called only by PostgreSQL's function manager, as `lead_score_internal._live_apply`
/// (`sql/live.sql`), with a valid `fcinfo`.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_live_apply(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    // SAFETY: PostgreSQL passes this call's valid `fcinfo` (to every use of it
    // below, "as above"), with the declared arguments; this call site always
    // caches a CompositeCache, taken once.
    let cache = unsafe { fn_cache(fcinfo, CompositeCache::default) };
    // SAFETY: as above; the result slot is the call site's cache, in `fn_mcxt`.
    let desc = unsafe { result_desc(fcinfo, &mut cache.result) };
    // SAFETY: as above; arguments 0 and 1 are bytea.
    let (stored, delta) = unsafe {
        (
            arg(fcinfo, 0).map(|d| bytes(d)),
            arg(fcinfo, 1).map(|d| bytes(d)),
        )
    };
    // SAFETY: as above.
    let (Some(landmark), Some(now)) = (unsafe { (arg(fcinfo, 7), arg(fcinfo, 8)) }) else {
        raise_code(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            "landmark and now must not be null",
        );
    };
    let (landmark, now) = (landmark.value() as i64, now.value() as i64);
    // SAFETY: as above.
    let replace = unsafe { arg(fcinfo, 9) }.is_some_and(|d| d.value() != 0);
    // The events just merged, which may fire a burst of their own.
    let mut merged: Option<&[u8]> = None;
    let (compiled, mut buf) = match (stored, delta) {
        (_, Some(d)) if replace => {
            let compiled = model_of(d);
            let mut buf = d.to_vec();
            if let Some(s) = stored {
                carry_bursts(&compiled.model, &mut buf, model_of(s), s);
            }
            (compiled, buf)
        }
        (Some(s), Some(d)) => {
            let compiled = model_of(s);
            let mut buf = s.to_vec();
            live_merge(&compiled.model, &mut buf, d).or_raise();
            merged = Some(d);
            (compiled, buf)
        }
        (Some(s), None) => (model_of(s), s.to_vec()),
        (None, Some(d)) => (model_of(d), d.to_vec()),
        // SAFETY: as above.
        (None, None) => return unsafe { return_null(fcinfo) },
    };
    let model = &compiled.model;
    rebase(model, &mut buf, landmark);
    let mut fired = detect_bursts(model, &mut buf, merged);
    // SAFETY: as above.
    let fit = unsafe { arg(fcinfo, 2) }.map_or(0.0, |d| f64::from_bits(d.value() as u64));
    // SAFETY: as above; argument 3 is text.
    let disq = unsafe { arg(fcinfo, 3).map(|d| text_arg(d)) };
    // Writers read at their own time, after every event they have seen.
    let score = score_at(compiled, &buf, fit, disq, &[], now, false);
    let next = Classified::of(&score);
    // A disqualified lead (a competitor, spam, an applicant) sends no burst,
    // as it is never an MQL nor hot; its events count as fired, so they do
    // not fire once it is qualified again.
    if score.disqualified_by.is_some() {
        fired.clear();
    }
    // SAFETY: as above.
    let prev = match unsafe { (arg(fcinfo, 4), arg(fcinfo, 5)) } {
        (Some(mql), Some(quadrant)) => Some(Classified {
            mql: mql.value() != 0,
            // SAFETY: argument 5 is a text datum of this call.
            quadrant: unsafe { text_arg(quadrant) }.to_string(),
            // SAFETY: as above; argument 6 is a text[] datum.
            hot: match unsafe { arg(fcinfo, 6) } {
                // SAFETY: a non-null text[] datum of this call. Read with
                // its NULL elements (pgrx's Vec<String> raises XX000 on one),
                // which name no category and are left out.
                Some(d) => unsafe { Vec::<Option<String>>::from_datum(d, false) }
                    .unwrap_or_default()
                    .into_iter()
                    .flatten()
                    .collect(),
                None => Vec::new(),
            },
        }),
        _ => None,
    };
    // The highest total any read from an hour before this write on can give
    // (lead_score_core::live::upper_bound), for top_leads.
    let bound = fit
        + lead_score_core::live::upper_bound(
            model,
            &buf,
            now.saturating_sub(lead_score_core::live::BOUND_VALID_BEFORE_US),
        )
        .or_raise();
    // SAFETY: as above.
    let nargs = unsafe { (*fcinfo).nargs };
    // The stored state's class just before the write, and its total then.
    let before = match (nargs >= 13, stored, prev.as_ref()) {
        // SAFETY: as above; the 13-argument form has arguments 10 to 12
        // (timestamptz, float8, text).
        (true, Some(s), Some(_)) => unsafe { arg(fcinfo, 10) }.map(|at| {
            // SAFETY: as above; argument 11 is a float8.
            let before_fit =
                unsafe { arg(fcinfo, 11) }.map_or(0.0, |d| f64::from_bits(d.value() as u64));
            // SAFETY: as above; argument 12 is text, and a non-null text
            // datum of this call lives as long as the call.
            let disqualified_by = unsafe { arg(fcinfo, 12).map(|d| text_arg(d)) };
            let then = score_at(
                model_of(s),
                s,
                before_fit,
                disqualified_by,
                &[],
                at.value() as i64,
                false,
            );
            (Classified::of(&then), then.total)
        }),
        _ => None,
    };
    // A crossing time alone caused before the write carries the total then
    // (_emit_alerts takes it over the row's): a lead that decayed out of MQL
    // is alerted below the line, even when the write lifts it back.
    let mut alerts: Vec<serde_json::Value> =
        write_alerts_timed(prev.as_ref(), before.as_ref().map(|(c, _)| c), &next)
            .into_iter()
            .map(|(a, at_before)| match (at_before, &before) {
                (true, Some((_, total))) => {
                    serde_json::json!({"kind": a.kind, "detail": a.detail, "total": total})
                }
                _ => serde_json::json!({"kind": a.kind, "detail": a.detail}),
            })
            .collect();
    for x in fired {
        alerts.push(serde_json::json!({"kind": "burst", "detail": model.alerts[x].name}));
    }
    let fields = [
        Some(bytea_datum(&buf)),
        Some(pg_sys::Datum::from(score.engagement.to_bits())),
        Some(pg_sys::Datum::from(score.total.to_bits())),
        Some(pg_sys::Datum::from(next.mql)),
        next.quadrant.as_str().into_datum(),
        next.hot.clone().into_datum(),
        Some(pg_sys::Datum::from(bound.to_bits())),
        score.last_activity.map(pg_sys::Datum::from),
        Some(pg_sys::Datum::from(compiled.version)),
        if alerts.is_empty() {
            None
        } else {
            pgrx::JsonB(serde_json::Value::Array(alerts)).into_datum()
        },
    ];
    // SAFETY: `desc` is the blessed descriptor of the declared result type,
    // lead_score_internal._applied, whose fields `fields` gives in order.
    unsafe { form_tuple(desc, &fields) }
}

/// Keeps when each burst last fired across a recompute, so old bursts do not
/// fire again, and a set of events that has not fired yet still can: the
/// stored state's mark, not the recomputed one's (which marks every event so
/// far as fired, as attach scores without alerts). A burst the new version
/// adds, or redefines under its name (other events, condition, count or
/// window), keeps the recomputed mark and the larger of the two: it does not
/// fire on history.
fn carry_bursts(
    model: &lead_score_core::Model,
    into: &mut [u8],
    old_compiled: &Compiled,
    old: &[u8],
) {
    let fresh = lead_score_core::live::burst_marks(model, into);
    let previous = lead_score_core::live::burst_marks(&old_compiled.model, old);
    for (i, alert) in model.alerts.iter().enumerate() {
        if let Some(j) = old_compiled
            .model
            .alerts
            .iter()
            .position(|a| a.name == alert.name)
        {
            let mark = if old_compiled.model.alerts[j].same_definition(alert) {
                previous[j]
            } else {
                previous[j].max(fresh[i])
            };
            lead_score_core::live::set_burst_mark(model, into, i, mark);
        }
    }
}

/// Whether an attachment's landmark is old enough to move (see `lead_score.tick`).
#[pg_extern(
    name = "_rebase_due",
    schema = "lead_score_internal",
    stable,
    strict,
    parallel_safe
)]
fn rebase_due(
    model: &str,
    landmark: pgrx::datum::TimestampWithTimeZone,
    now: pgrx::datum::TimestampWithTimeZone,
) -> bool {
    landmark_older_than(
        model,
        i64::from(landmark),
        i64::from(now),
        lead_score_core::live::REBASE_AFTER_HALF_LIVES,
    )
}

/// Whether an attachment whose rebase could not run is to be left whole by
/// `tick()` (`lead_score_core::live::HOLD_AFTER_HALF_LIVES`).
#[pg_extern(
    name = "_rebase_overdue",
    schema = "lead_score_internal",
    stable,
    strict,
    parallel_safe
)]
fn rebase_overdue(
    model: &str,
    landmark: pgrx::datum::TimestampWithTimeZone,
    now: pgrx::datum::TimestampWithTimeZone,
) -> bool {
    landmark_older_than(
        model,
        i64::from(landmark),
        i64::from(now),
        lead_score_core::live::HOLD_AFTER_HALF_LIVES,
    )
}

/// Whether `now` is more than `half_lives` of `model`'s (current version's)
/// shortest half-lives after `landmark` (both in microseconds); never without
/// exponential decay. `_rebase_due`, `_rebase_overdue` and `rebase`'s
/// urgency each compare with their own limit.
pub(crate) fn landmark_older_than(model: &str, landmark: i64, now: i64, half_lives: f64) -> bool {
    let r = crate::catalog::resolve(model);
    lead_score_core::live::shortest_half_life(&r.compiled.model)
        .is_some_and(|h| now.saturating_sub(landmark) as f64 / h > half_lives)
}

thread_local! {
    /// The scan being counted by `_progress`: (run, phase, counter).
    static PROGRESS: std::cell::RefCell<Option<(i64, i32, lead_score_core::progress::Progress)>> =
        const { std::cell::RefCell::new(None) };
}

/// Counts one row of a long scan in `attach`/`rescore` (phase 1: activities read,
/// phase 2: leads scored) and reports how far it has got with a NOTICE about every
/// tenth, once it has run a second. Always true, so it can sit in a WHERE clause.
#[pg_extern(
    name = "_progress",
    schema = "lead_score_internal",
    volatile,
    strict,
    parallel_unsafe
)]
fn progress(phase: i32, total: i64, run: i64) -> bool {
    // SAFETY: only reads the clock.
    let now = || unsafe { pg_sys::GetCurrentTimestamp() };
    let report = PROGRESS.with(|cell| {
        let mut slot = cell.borrow_mut();
        if !matches!(&*slot, Some((r, p, _)) if *r == run && *p == phase) {
            let counter =
                lead_score_core::progress::Progress::new(total.max(0) as u64, now(), 1_000_000);
            *slot = Some((run, phase, counter));
        }
        slot.as_mut().and_then(|(_, _, counter)| counter.count(now))
    });
    if let Some(r) = report {
        // The activities' total is the planner's estimate; the leads' is counted.
        let (about, what) = if phase == 1 {
            ("about ", "activities read")
        } else {
            ("", "leads scored")
        };
        pgrx::notice!(
            "lead_score: {} of {}{} {} ({}%) after {:.1} s",
            r.done,
            about,
            r.total,
            what,
            r.percent,
            r.elapsed_us as f64 / 1e6
        );
    }
    true
}
