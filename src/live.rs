//! SQL bindings for live (materialized) scores: the batch aggregate that turns
//! a statement's new events into a forward-decayed delta per lead, and the
//! functions the attach triggers use to merge, classify and read it.

use crate::aggregate::{aggregate_context, state_bytes_mut};
use crate::args::{arg, nargs, return_null, text_arg};
use crate::catalog::{by_key, Compiled};
use crate::errors::{raise_code, OrRaise};
use crate::fncache::fn_cache;
use crate::lead::{form_tuple, hot_categories, result_desc, score_fields};
use crate::v1_info;
use lead_score_core::engagement::RuleTotals;
use lead_score_core::live::{
    check_supported, classification_alerts, detect_bursts, heat, live_add, live_key, live_len,
    live_merge, new_live, rebase, Classified, LiveAt, LiveKey,
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

unsafe fn bytes<'a>(datum: pg_sys::Datum) -> &'a [u8] {
    unsafe {
        pgrx::varlena::varlena_to_byte_slice(pg_sys::pg_detoast_datum_packed(datum.cast_mut_ptr()))
    }
}

unsafe fn bytea_datum(buf: &[u8]) -> pg_sys::Datum {
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
    if buf.len() < 24 {
        raise_code(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "invalid live engagement state",
        );
    }
    let id = i64::from_le_bytes(buf[8..16].try_into().unwrap_or_default());
    let version = i64::from_le_bytes(buf[16..24].try_into().unwrap_or_default()) as i32;
    let compiled = by_key(id, version);
    live_key(buf, &compiled.model).or_raise();
    compiled
}

v1_info!(pg_finfo_lead_score_live_batch_trans);
/// `_live_batch(state, model_id bigint, version int, landmark timestamptz, event_type text, at timestamptz, props text...)`
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_live_batch_trans(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe {
        aggregate_context(fcinfo, "lead_score._live_batch");
        let cache = fn_cache(fcinfo, BatchCache::default);
        let (Some(model_id), Some(version)) = (arg(fcinfo, 1), arg(fcinfo, 2)) else {
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
        let state: *mut pg_sys::varlena = match arg(fcinfo, 0) {
            Some(d) => d.cast_mut_ptr(),
            None => {
                let Some(landmark) = arg(fcinfo, 3) else {
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
        let (Some(event_type), Some(at)) = (arg(fcinfo, 4), arg(fcinfo, 5)) else {
            return pg_sys::Datum::from(state);
        };
        let n_props = (nargs(fcinfo) - FIXED_ARGS).min(MAX_PROPERTIES);
        let mut props = [Value::Null; MAX_PROPERTIES];
        for (i, p) in props.iter_mut().enumerate().take(n_props) {
            if let Some(d) = arg(fcinfo, FIXED_ARGS + i) {
                *p = Value::Text(text_arg(d));
            }
        }
        let buf = state_bytes_mut(state);
        if buf.len() != live_len(&compiled.model) {
            raise_code(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                "_live_batch: the model must be the same for every row",
            );
        }
        live_add(
            &compiled.model,
            buf,
            text_arg(event_type),
            at.value() as i64,
            &props[..n_props],
        );
        pg_sys::Datum::from(state)
    }
}

v1_info!(pg_finfo_lead_score_live_batch_combine);
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_live_batch_combine(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe {
        aggregate_context(fcinfo, "lead_score._live_batch_combine");
        let (Some(a), Some(b)) = (arg(fcinfo, 0), arg(fcinfo, 1)) else {
            return return_null(fcinfo);
        };
        let a = a.cast_mut_ptr::<pg_sys::varlena>();
        let into = state_bytes_mut(a);
        let compiled = model_of(into);
        live_merge(&compiled.model, into, bytes(b)).or_raise();
        pg_sys::Datum::from(a)
    }
}

/// An empty live state for a model version.
#[pg_extern(name = "_live_empty", stable, strict, parallel_safe)]
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

/// A stored state with the events of a deferred attachment's pending table merged
/// in (NULL delta: the state itself). Readers use it, so scores are current
/// before the pending events are folded into the stored row.
#[pg_extern(name = "_live_merge", stable, parallel_safe)]
fn live_merge_pending(state: Option<&[u8]>, pending: Option<&[u8]>) -> Option<Vec<u8>> {
    let state = state?;
    let mut buf = state.to_vec();
    if let Some(delta) = pending {
        live_merge(&model_of(state).model, &mut buf, delta).or_raise();
    }
    Some(buf)
}

/// Raises unless the model's current version can be kept live (see `attach`).
#[pg_extern(name = "_live_check", stable, strict, parallel_safe)]
fn live_check(model: &str) -> bool {
    check_supported(&crate::catalog::resolve(model).compiled.model).or_raise();
    true
}

/// Moves a live state to a new landmark (see `lead_score.tick`).
#[pg_extern(name = "_live_rebase", stable, strict, parallel_safe)]
fn live_rebase(state: &[u8], landmark: pgrx::datum::TimestampWithTimeZone) -> Vec<u8> {
    let compiled = model_of(state);
    let mut buf = state.to_vec();
    rebase(&compiled.model, &mut buf, i64::from(landmark));
    buf
}

/// The ordering key of the hottest-leads index.
#[pg_extern(name = "_live_heat", stable, strict, parallel_safe)]
fn live_heat(state: &[u8]) -> f64 {
    heat(&model_of(state).model, state)
}

fn score_at(
    compiled: &Compiled,
    buf: &[u8],
    fit: f64,
    disqualified_by: Option<&str>,
    now: i64,
) -> lead_score_core::Score {
    let at = LiveAt::new(&compiled.model, buf, now).or_raise();
    let disq = disqualified_by
        .and_then(|name| compiled.model.fit.rules.iter().position(|r| r.name == name));
    // A disqualify rule renamed in a new version still disqualifies until the lead is rescored.
    let disq = disq.or(disqualified_by.map(|_| 0));
    let fit = FitOutcome {
        score: fit,
        disqualified_by: disq,
    };
    let mut s = compiled.model.score(fit, Some(&at as &dyn RuleTotals));
    s.disqualified_by = disqualified_by.map(str::to_string);
    s
}

#[derive(Default)]
struct CompositeCache {
    result: Option<pg_sys::TupleDesc>,
}

v1_info!(pg_finfo_lead_score_live_score);
/// `_live_score(state bytea, fit float8, disqualified_by text, now timestamptz) → lead_score.score`
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_live_score(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe {
        let cache = fn_cache(fcinfo, CompositeCache::default);
        let desc = result_desc(fcinfo, &mut cache.result);
        let (Some(state), Some(now)) = (arg(fcinfo, 0), arg(fcinfo, 3)) else {
            return return_null(fcinfo);
        };
        let buf = bytes(state);
        let compiled = model_of(buf);
        let fit = arg(fcinfo, 1).map_or(0.0, |d| f64::from_bits(d.value() as u64));
        let disq = arg(fcinfo, 2).map(|d| text_arg(d));
        let s = score_at(compiled, buf, fit, disq, now.value() as i64);
        form_tuple(desc, &score_fields(&s, compiled.version))
    }
}

v1_info!(pg_finfo_lead_score_live_apply);
/// `_live_apply(stored bytea, delta bytea, fit float8, disqualified_by text,
///              prev_mql bool, prev_quadrant text, prev_hot text[],
///              landmark timestamptz, now timestamptz, replace bool) → lead_score._applied`
///
/// Merges `delta` into `stored` (or, with `replace`, takes `delta` as the whole
/// history while keeping when each burst last fired), moves it to `landmark`,
/// classifies at `now` and returns the alerts for what crossed.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_live_apply(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe {
        let cache = fn_cache(fcinfo, CompositeCache::default);
        let desc = result_desc(fcinfo, &mut cache.result);
        let stored = arg(fcinfo, 0).map(|d| bytes(d));
        let delta = arg(fcinfo, 1).map(|d| bytes(d));
        let (Some(landmark), Some(now)) = (arg(fcinfo, 7), arg(fcinfo, 8)) else {
            raise_code(
                PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
                "landmark and now must not be null",
            );
        };
        let (landmark, now) = (landmark.value() as i64, now.value() as i64);
        let replace = arg(fcinfo, 9).is_some_and(|d| d.value() != 0);
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
                (compiled, buf)
            }
            (Some(s), None) => (model_of(s), s.to_vec()),
            (None, Some(d)) => (model_of(d), d.to_vec()),
            (None, None) => return return_null(fcinfo),
        };
        let model = &compiled.model;
        rebase(model, &mut buf, landmark);
        let fired = detect_bursts(model, &mut buf);
        let fit = arg(fcinfo, 2).map_or(0.0, |d| f64::from_bits(d.value() as u64));
        let disq = arg(fcinfo, 3).map(|d| text_arg(d));
        let score = score_at(compiled, &buf, fit, disq, now);
        let next = Classified {
            mql: score.mql,
            quadrant: score.quadrant.as_str().to_string(),
            hot: hot_categories(&score),
        };
        let prev = match (arg(fcinfo, 4), arg(fcinfo, 5)) {
            (Some(mql), Some(quadrant)) => Some(Classified {
                mql: mql.value() != 0,
                quadrant: text_arg(quadrant).to_string(),
                hot: match arg(fcinfo, 6) {
                    Some(d) => Vec::<String>::from_datum(d, false).unwrap_or_default(),
                    None => Vec::new(),
                },
            }),
            _ => None,
        };
        let mut alerts: Vec<serde_json::Value> = classification_alerts(prev.as_ref(), &next)
            .into_iter()
            .map(|a| serde_json::json!({"kind": a.kind, "detail": a.detail}))
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
            Some(pg_sys::Datum::from(heat(model, &buf).to_bits())),
            score.last_activity.map(pg_sys::Datum::from),
            Some(pg_sys::Datum::from(compiled.version)),
            if alerts.is_empty() {
                None
            } else {
                pgrx::JsonB(serde_json::Value::Array(alerts)).into_datum()
            },
        ];
        form_tuple(desc, &fields)
    }
}

/// Keeps when each burst last fired across a recompute, so old bursts do not fire again.
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
            lead_score_core::live::set_burst_mark(model, into, i, previous[j].max(fresh[i]));
        }
    }
}

/// Whether an attachment's landmark is old enough to move (see `lead_score.tick`).
#[pg_extern(name = "_rebase_due", stable, strict, parallel_safe)]
fn rebase_due(
    model: &str,
    landmark: pgrx::datum::TimestampWithTimeZone,
    now: pgrx::datum::TimestampWithTimeZone,
) -> bool {
    let r = crate::catalog::resolve(model);
    match lead_score_core::live::shortest_half_life(&r.compiled.model) {
        Some(h) => {
            (i64::from(now) - i64::from(landmark)) as f64 / h
                > lead_score_core::live::REBASE_AFTER_HALF_LIVES
        }
        None => false,
    }
}

thread_local! {
    /// The scan being counted by `_progress`: (run, phase, counter).
    static PROGRESS: std::cell::RefCell<Option<(i64, i32, lead_score_core::progress::Progress)>> =
        const { std::cell::RefCell::new(None) };
}

/// Counts one row of a long scan in `attach`/`rescore` (phase 1: activities read,
/// phase 2: leads scored) and reports how far it has got with a NOTICE about every
/// tenth, once it has run a second. Always true, so it can sit in a WHERE clause.
#[pg_extern(name = "_progress", volatile, strict, parallel_unsafe)]
fn progress(phase: i32, total: i64, run: i64) -> bool {
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
