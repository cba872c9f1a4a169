//! Functions over one lead row: fit, disqualification, the whole score, explain.
//! They take the user's row as `record`, so any table works without copying data.

use crate::args::{arg, return_null, text_arg};
use crate::catalog::Compiled;
use crate::errors::{raise_code, OrRaise};
use crate::fncache::{fn_cache, ModelSlot};
use crate::row::RowMapping;
use crate::v1_info;
use lead_score_core::engagement::RuleTotals;
use lead_score_core::predictive::{encode_fired, Prediction};
use lead_score_core::sqlgen::attach::SCORE;
use lead_score_core::{FitOutcome, Score, State, Value};
use pgrx::prelude::*;
use pgrx::{IntoDatum, PgMemoryContexts, PgSqlErrorCode};

const STACK_FIELDS: usize = 32;

#[derive(Default)]
struct LeadCache {
    model: ModelSlot,
    row: Option<RowMapping>,
    /// Blessed result descriptor for functions returning a composite.
    result: Option<pg_sys::TupleDesc>,
}

/// Evaluates fit for the row in argument 1 with the model named in argument 0.
/// Hands the normalized values to `then` so explain can reuse them.
///
/// # Safety
/// `fcinfo` must be the valid call info of the running function, declared with
/// the arguments `(model text, lead record, ...)`; `cache` must be the one kept
/// in that call site's `fn_extra` (`fn_cache`).
unsafe fn with_lead<R>(
    fcinfo: pg_sys::FunctionCallInfo,
    cache: &mut LeadCache,
    then: impl FnOnce(&'static Compiled, &[Value], FitOutcome) -> R,
) -> Option<R> {
    // SAFETY: the caller guarantees `fcinfo` is valid, with a text argument 0.
    let name = unsafe { text_arg(arg(fcinfo, 0)?) };
    // SAFETY: as above.
    let row = unsafe { arg(fcinfo, 1)? };
    let resolved = cache.model.get(name);
    let compiled = resolved.compiled;
    let fit = &compiled.model.fit;
    // SAFETY: argument 1 is a composite (`record`) datum of this call; detoasted
    // (into the current memory context if it needs to be), it is a tuple header
    // valid for the call.
    let header = unsafe { pg_sys::pg_detoast_datum(row.cast_mut_ptr()) } as pg_sys::HeapTupleHeader;
    // SAFETY: as above, `fcinfo` and its FmgrInfo are valid.
    let mcxt = unsafe { (*(*fcinfo).flinfo).fn_mcxt };
    // SAFETY: `header` is a detoasted composite (above); the mapping is kept in
    // the call site's cache, which lives in `fn_mcxt` as its descriptor will.
    let mapping = unsafe {
        RowMapping::for_row(
            &mut cache.row,
            header,
            (compiled.model_id, compiled.version),
            &compiled.name,
            fit,
            mcxt,
        )
    };
    let n = fit.fields.len();
    let mut stack = [Value::Null; STACK_FIELDS];
    let mut heap;
    let values: &mut [Value] = if n <= STACK_FIELDS {
        &mut stack[..n]
    } else {
        heap = vec![Value::Null; n];
        &mut heap
    };
    // SAFETY: `header` is the row the mapping was just made or checked for, and
    // it stays valid for the call, as long as `values` is used.
    unsafe { mapping.read(header, fit, values) };
    let outcome = fit.evaluate(values);
    Some(then(compiled, values, outcome))
}

v1_info!(pg_finfo_lead_score_fit);
/// `lead_score.fit(model text, lead record) → float8`
///
/// # Safety
/// Called only by PostgreSQL's function manager, as `lead_score.fit`
/// (`sql/scoring.sql`), with a valid `fcinfo`.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_fit(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: PostgreSQL passes this call's valid `fcinfo` (to every use of it
    // below, "as above"); this call site always caches a LeadCache, taken once.
    let cache = unsafe { fn_cache(fcinfo, LeadCache::default) };
    // SAFETY: as above, with the arguments (text, record); `cache` is its own.
    match unsafe { with_lead(fcinfo, cache, |_, _, outcome| outcome.score) } {
        Some(score) => pg_sys::Datum::from(score.to_bits()),
        // SAFETY: as above.
        None => unsafe { return_null(fcinfo) },
    }
}

v1_info!(pg_finfo_lead_score_predictive_on);
/// `lead_score_internal._predictive_on(model text, lead record) → bytea`: the predictive
/// lead-field features the row fires, as a score row stores them; NULL when the
/// model has no predictive section.
///
/// # Safety
/// Called only by PostgreSQL's function manager, as `lead_score_internal._predictive_on`
/// (`sql/scoring.sql`), with a valid `fcinfo`.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_predictive_on(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    // SAFETY: PostgreSQL passes this call's valid `fcinfo` (to every use of it
    // below, "as above"); this call site always caches a LeadCache, taken once.
    let cache = unsafe { fn_cache(fcinfo, LeadCache::default) };
    let fired = |c: &'static Compiled, values: &[Value], _: FitOutcome| {
        c.model
            .predictive
            .as_ref()
            .map(|p| encode_fired(&p.fired(values)))
    };
    // SAFETY: as above, with the arguments (text, record); `cache` is its own.
    match unsafe { with_lead(fcinfo, cache, fired) }.flatten() {
        Some(bytes) => bytes
            .as_slice()
            .into_datum()
            .unwrap_or(pg_sys::Datum::from(0usize)),
        // SAFETY: as above.
        None => unsafe { return_null(fcinfo) },
    }
}

v1_info!(pg_finfo_lead_score_disqualified_by);
/// `lead_score.disqualified_by(model text, lead record) → text`: the first
/// disqualify rule that matched, or NULL.
///
/// # Safety
/// Called only by PostgreSQL's function manager, as `lead_score.disqualified_by`
/// (`sql/scoring.sql`), with a valid `fcinfo`.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_disqualified_by(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    // SAFETY: PostgreSQL passes this call's valid `fcinfo` (to every use of it
    // below, "as above"); this call site always caches a LeadCache, taken once.
    let cache = unsafe { fn_cache(fcinfo, LeadCache::default) };
    let first_rule = |c: &'static Compiled, _: &[Value], outcome: FitOutcome| {
        outcome
            .disqualified_by
            .map(|i| c.model.fit.rules[i].name.as_str())
    };
    // SAFETY: as above, with the arguments (text, record); `cache` is its own.
    let name = unsafe { with_lead(fcinfo, cache, first_rule) };
    match name.flatten().and_then(|n| n.into_datum()) {
        Some(d) => d,
        // SAFETY: as above.
        None => unsafe { return_null(fcinfo) },
    }
}

/// The engagement state in argument `i`, checked against the model.
///
/// # Safety
/// `fcinfo` must be the valid call info of the running function, with a bytea
/// argument `i`; the state borrows it, so `'a` must not outlive the call.
unsafe fn state_arg<'a>(
    fcinfo: pg_sys::FunctionCallInfo,
    i: usize,
    compiled: &Compiled,
) -> Option<State<'a>> {
    // SAFETY: the caller guarantees `fcinfo` is valid with a bytea argument `i`,
    // detoasted (if it needs to be) into the current memory context, which
    // outlives the call.
    let bytes = unsafe {
        let datum = arg(fcinfo, i)?;
        let p = pg_sys::pg_detoast_datum_packed(datum.cast_mut_ptr());
        pgrx::varlena::varlena_to_byte_slice(p)
    };
    let state = State::new(bytes).or_raise();
    if state.key.model_id != compiled.model_id || state.key.version != compiled.version {
        raise_code(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "engagement state was built for model id {} version {}, not \"{}\" version {}",
                state.key.model_id, state.key.version, compiled.name, compiled.version
            ),
        );
    }
    state.check_range(&compiled.model.engagement).or_raise();
    Some(state)
}

v1_info!(pg_finfo_lead_score_score);
/// `lead_score.score(model text, lead record, engagement bytea) → lead_score.score`
///
/// # Safety
/// Called only by PostgreSQL's function manager, as `lead_score.score`
/// (`sql/scoring.sql`), with a valid `fcinfo`.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_score(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    // SAFETY: PostgreSQL passes this call's valid `fcinfo` (to every use of it
    // below, "as above"); this call site always caches a LeadCache, taken once.
    let cache = unsafe { fn_cache(fcinfo, LeadCache::default) };
    // SAFETY: as above; the result slot is the call site's cache, in `fn_mcxt`.
    let desc = unsafe { result_desc(fcinfo, &mut cache.result) };
    let score = |compiled: &'static Compiled, values: &[Value], _: FitOutcome| {
        // SAFETY: as above; argument 2 is a bytea, and the state is only used
        // within the call.
        let state = unsafe { state_arg(fcinfo, 2, compiled) };
        let totals = state.as_ref().map(|s| s as &dyn RuleTotals);
        (
            compiled.version,
            compiled.model.score_values(values, totals),
        )
    };
    // SAFETY: as above, with the arguments (text, record, bytea); `cache` is its own.
    match unsafe { with_lead(fcinfo, cache, score) } {
        // SAFETY: `desc` is the blessed descriptor of the declared result type,
        // lead_score.score, whose fields score_fields gives in order.
        Some((version, s)) => unsafe { form_tuple(desc, &score_fields(&s, version)) },
        // SAFETY: as above.
        None => unsafe { return_null(fcinfo) },
    }
}

/// The blessed result descriptor of a function returning a composite, cached per call site.
///
/// # Safety
/// `fcinfo` must be the valid call info of the running function; `slot` must be
/// kept in that call site's `fn_extra` (`fn_cache`), as the descriptor is copied
/// into its `fn_mcxt`.
pub(crate) unsafe fn result_desc(
    fcinfo: pg_sys::FunctionCallInfo,
    slot: &mut Option<pg_sys::TupleDesc>,
) -> pg_sys::TupleDesc {
    if let Some(desc) = *slot {
        return desc;
    }
    let mut desc: pg_sys::TupleDesc = std::ptr::null_mut();
    // SAFETY: the caller guarantees `fcinfo` is valid; get_call_result_type only
    // reads it and the catalogs, and sets `desc`.
    let class = unsafe { pg_sys::get_call_result_type(fcinfo, std::ptr::null_mut(), &mut desc) };
    if class != pg_sys::TypeFuncClass::TYPEFUNC_COMPOSITE {
        raise_code(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            "function must return a composite",
        );
    }
    // SAFETY: as above, `fcinfo` and its FmgrInfo are valid.
    let mcxt = unsafe { (*(*fcinfo).flinfo).fn_mcxt };
    // SAFETY: `desc` is the composite descriptor just looked up; its copy is made
    // and blessed in `fn_mcxt`, which lives as long as the cache that keeps it.
    let blessed = unsafe {
        PgMemoryContexts::For(mcxt)
            .switch_to(|_| pg_sys::BlessTupleDesc(pg_sys::CreateTupleDescCopy(desc)))
    };
    *slot = Some(blessed);
    blessed
}

/// Forms a composite datum; `None` fields are NULL.
///
/// # Safety
/// `desc` must be a valid, blessed descriptor with one attribute per field, and
/// each field a datum of its attribute's type.
pub(crate) unsafe fn form_tuple(
    desc: pg_sys::TupleDesc,
    fields: &[Option<pg_sys::Datum>],
) -> pg_sys::Datum {
    let mut datums: Vec<pg_sys::Datum> = fields
        .iter()
        .map(|f| f.unwrap_or(pg_sys::Datum::from(0usize)))
        .collect();
    let mut nulls: Vec<bool> = fields.iter().map(Option::is_none).collect();
    // SAFETY: the caller guarantees `desc` matches `fields`, and `datums` and
    // `nulls` hold one entry per field; heap_form_tuple copies them into a new
    // tuple in the current memory context, whose header is the datum.
    unsafe {
        let tuple = pg_sys::heap_form_tuple(desc, datums.as_mut_ptr(), nulls.as_mut_ptr());
        pg_sys::HeapTupleHeaderGetDatum((*tuple).t_data)
    }
}

/// The fields of the `lead_score.score` composite.
/// The fields of `lead_score.score`, in the order of their one definition
/// (`lead_score_core::sqlgen::attach::SCORE`).
pub(crate) fn score_fields(s: &Score, version: i32) -> [Option<pg_sys::Datum>; SCORE.len()] {
    let categories: serde_json::Map<String, serde_json::Value> = s
        .categories
        .iter()
        .map(|c| (c.name.clone(), serde_json::Value::from(c.score)))
        .collect();
    [
        Some(pg_sys::Datum::from(s.fit.to_bits())),
        Some(pg_sys::Datum::from(s.engagement.to_bits())),
        Some(pg_sys::Datum::from(s.total.to_bits())),
        s.grade.as_deref().and_then(|g| g.into_datum()),
        s.label.as_deref().and_then(|l| l.into_datum()),
        s.quadrant.as_str().into_datum(),
        Some(pg_sys::Datum::from(s.mql)),
        Some(pg_sys::Datum::from(s.disqualified_by.is_some())),
        s.disqualified_by.as_deref().and_then(|d| d.into_datum()),
        pgrx::JsonB(serde_json::Value::Object(categories)).into_datum(),
        lead_score_core::live::hot_categories(s).into_datum(),
        s.last_activity.map(pg_sys::Datum::from),
        Some(pg_sys::Datum::from(version)),
        s.prediction
            .as_ref()
            .map(|p| pg_sys::Datum::from(p.probability.to_bits())),
        s.prediction.as_ref().map(|p| pg_sys::Datum::from(p.score)),
        s.prediction.as_ref().and_then(top_features),
    ]
}

/// The largest contributions, as `[{"feature": …, "contribution": …}, …]`.
fn top_features(p: &Prediction) -> Option<pg_sys::Datum> {
    let items: Vec<serde_json::Value> = p
        .contributions
        .iter()
        .take(p.top)
        .map(|(name, c)| serde_json::json!({"feature": name, "contribution": c}))
        .collect();
    pgrx::JsonB(serde_json::Value::Array(items)).into_datum()
}

v1_info!(pg_finfo_lead_score_explain);
/// `lead_score.explain(model text, lead record, engagement bytea) → SETOF rows`
///
/// # Safety
/// Called only by PostgreSQL's function manager, as `lead_score.explain`
/// (`sql/scoring.sql`), with a valid `fcinfo`.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_explain(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    // SAFETY: PostgreSQL passes this call's valid `fcinfo` (to every use of it
    // below, "as above"); this call site always caches a LeadCache, taken once.
    let cache = unsafe { fn_cache(fcinfo, LeadCache::default) };
    let explain = |compiled: &'static Compiled, values: &[Value], _: FitOutcome| {
        // SAFETY: as above; argument 2 is a bytea, and the state is only used
        // within the call.
        let state = unsafe { state_arg(fcinfo, 2, compiled) };
        let totals = state.as_ref().map(|s| s as &dyn RuleTotals);
        compiled.model.explain(values, totals)
    };
    // SAFETY: as above, with the arguments (text, record, bytea); `cache` is its own.
    let rows = unsafe { with_lead(fcinfo, cache, explain) };
    // SAFETY: as above, for a function declared to return a set:
    // InitMaterializedSRF raises unless the caller accepts a materialized set,
    // else sets up `resultinfo` with a tuplestore and the result descriptor.
    let (store, desc) = unsafe {
        pg_sys::InitMaterializedSRF(fcinfo, 0);
        let rsinfo = (*fcinfo).resultinfo as *mut pg_sys::ReturnSetInfo;
        ((*rsinfo).setResult, (*rsinfo).setDesc)
    };
    for row in rows.unwrap_or_default() {
        let f64d = |x: Option<f64>| x.map(|v| pg_sys::Datum::from(v.to_bits()));
        let fields: [Option<pg_sys::Datum>; 8] = [
            row.section.into_datum(),
            row.item.as_str().into_datum(),
            row.category.as_deref().and_then(|c| c.into_datum()),
            row.events.map(pg_sys::Datum::from),
            f64d(row.raw_points),
            f64d(row.decayed_points),
            f64d(row.points),
            row.detail.as_str().into_datum(),
        ];
        let mut datums: Vec<pg_sys::Datum> = fields
            .iter()
            .map(|f| f.unwrap_or(pg_sys::Datum::from(0usize)))
            .collect();
        let mut nulls: Vec<bool> = fields.iter().map(Option::is_none).collect();
        // SAFETY: `store` and `desc` were set up above; `datums` and `nulls`
        // hold one entry per column of the declared RETURNS TABLE, of its type.
        unsafe {
            pg_sys::tuplestore_putvalues(store, desc, datums.as_mut_ptr(), nulls.as_mut_ptr())
        };
    }
    pg_sys::Datum::from(0usize)
}
