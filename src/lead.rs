//! Functions over one lead row: fit, disqualification, the whole score, explain.
//! They take the user's row as `record`, so any table works without copying data.

use crate::args::{arg, return_null, text_arg};
use crate::catalog::Compiled;
use crate::errors::{raise_code, OrRaise};
use crate::fncache::{fn_cache, ModelSlot};
use crate::row::RowMapping;
use crate::v1_info;
use lead_score_core::engagement::RuleTotals;
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
unsafe fn with_lead<R>(
    fcinfo: pg_sys::FunctionCallInfo,
    cache: &mut LeadCache,
    then: impl FnOnce(&'static Compiled, &[Value], FitOutcome) -> R,
) -> Option<R> {
    unsafe {
        let name = text_arg(arg(fcinfo, 0)?);
        let row = arg(fcinfo, 1)?;
        let resolved = cache.model.get(name);
        let compiled = resolved.compiled;
        let fit = &compiled.model.fit;
        let header = pg_sys::pg_detoast_datum(row.cast_mut_ptr()) as pg_sys::HeapTupleHeader;
        let mcxt = (*(*fcinfo).flinfo).fn_mcxt;
        let mapping = RowMapping::for_row(
            &mut cache.row,
            header,
            (compiled.model_id, compiled.version),
            &compiled.name,
            fit,
            mcxt,
        );
        let n = fit.fields.len();
        let mut stack = [Value::Null; STACK_FIELDS];
        let mut heap;
        let values: &mut [Value] = if n <= STACK_FIELDS {
            &mut stack[..n]
        } else {
            heap = vec![Value::Null; n];
            &mut heap
        };
        mapping.read(header, fit, values);
        let outcome = fit.evaluate(values);
        Some(then(compiled, values, outcome))
    }
}

v1_info!(pg_finfo_lead_score_fit);
/// `lead_score.fit(model text, lead record) → float8`
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_fit(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    unsafe {
        let cache = fn_cache(fcinfo, LeadCache::default);
        match with_lead(fcinfo, cache, |_, _, outcome| outcome.score) {
            Some(score) => pg_sys::Datum::from(score.to_bits()),
            None => return_null(fcinfo),
        }
    }
}

v1_info!(pg_finfo_lead_score_disqualified_by);
/// `lead_score.disqualified_by(model text, lead record) → text`: the first
/// disqualify rule that matched, or NULL.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_disqualified_by(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe {
        let cache = fn_cache(fcinfo, LeadCache::default);
        let name = with_lead(fcinfo, cache, |c, _, outcome| {
            outcome
                .disqualified_by
                .map(|i| c.model.fit.rules[i].name.as_str())
        });
        match name.flatten().and_then(|n| n.into_datum()) {
            Some(d) => d,
            None => return_null(fcinfo),
        }
    }
}

/// The engagement state in argument `i`, checked against the model.
unsafe fn state_arg<'a>(
    fcinfo: pg_sys::FunctionCallInfo,
    i: usize,
    compiled: &Compiled,
) -> Option<State<'a>> {
    unsafe {
        let datum = arg(fcinfo, i)?;
        let p = pg_sys::pg_detoast_datum_packed(datum.cast_mut_ptr());
        let state = State::new(pgrx::varlena::varlena_to_byte_slice(p)).or_raise();
        if state.key.model_id != compiled.model_id || state.key.version != compiled.version {
            raise_code(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!(
                    "engagement state was built for model id {} version {}, not \"{}\" version {}",
                    state.key.model_id, state.key.version, compiled.name, compiled.version
                ),
            );
        }
        Some(state)
    }
}

v1_info!(pg_finfo_lead_score_score);
/// `lead_score.score(model text, lead record, engagement bytea) → lead_score.score`
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_score(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe {
        let cache = fn_cache(fcinfo, LeadCache::default);
        let desc = result_desc(fcinfo, &mut cache.result);
        let score = with_lead(fcinfo, cache, |compiled, _, outcome| {
            let state = state_arg(fcinfo, 2, compiled);
            let totals = state.as_ref().map(|s| s as &dyn RuleTotals);
            (compiled.version, compiled.model.score(outcome, totals))
        });
        match score {
            Some((version, s)) => form_tuple(desc, &score_fields(&s, version)),
            None => return_null(fcinfo),
        }
    }
}

/// The blessed result descriptor of a function returning a composite, cached per call site.
pub(crate) unsafe fn result_desc(
    fcinfo: pg_sys::FunctionCallInfo,
    slot: &mut Option<pg_sys::TupleDesc>,
) -> pg_sys::TupleDesc {
    unsafe {
        if let Some(desc) = *slot {
            return desc;
        }
        let mut desc: pg_sys::TupleDesc = std::ptr::null_mut();
        if pg_sys::get_call_result_type(fcinfo, std::ptr::null_mut(), &mut desc)
            != pg_sys::TypeFuncClass::TYPEFUNC_COMPOSITE
        {
            raise_code(
                PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                "function must return a composite",
            );
        }
        let mcxt = (*(*fcinfo).flinfo).fn_mcxt;
        let blessed = PgMemoryContexts::For(mcxt)
            .switch_to(|_| pg_sys::BlessTupleDesc(pg_sys::CreateTupleDescCopy(desc)));
        *slot = Some(blessed);
        blessed
    }
}

/// Forms a composite datum; `None` fields are NULL.
pub(crate) unsafe fn form_tuple(
    desc: pg_sys::TupleDesc,
    fields: &[Option<pg_sys::Datum>],
) -> pg_sys::Datum {
    unsafe {
        let mut datums: Vec<pg_sys::Datum> = fields
            .iter()
            .map(|f| f.unwrap_or(pg_sys::Datum::from(0usize)))
            .collect();
        let mut nulls: Vec<bool> = fields.iter().map(Option::is_none).collect();
        let tuple = pg_sys::heap_form_tuple(desc, datums.as_mut_ptr(), nulls.as_mut_ptr());
        pg_sys::HeapTupleHeaderGetDatum((*tuple).t_data)
    }
}

/// The fields of the `lead_score.score` composite.
pub(crate) fn score_fields(s: &Score, version: i32) -> [Option<pg_sys::Datum>; 13] {
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
        hot_categories(s).into_datum(),
        s.last_activity.map(pg_sys::Datum::from),
        Some(pg_sys::Datum::from(version)),
    ]
}

pub(crate) fn hot_categories(s: &Score) -> Vec<String> {
    s.categories
        .iter()
        .filter(|c| c.above_watermark)
        .map(|c| c.name.clone())
        .collect()
}

v1_info!(pg_finfo_lead_score_explain);
/// `lead_score.explain(model text, lead record, engagement bytea) → SETOF rows`
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_explain(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe {
        let cache = fn_cache(fcinfo, LeadCache::default);
        let rows = with_lead(fcinfo, cache, |compiled, values, _| {
            let state = state_arg(fcinfo, 2, compiled);
            let totals = state.as_ref().map(|s| s as &dyn RuleTotals);
            compiled.model.explain(values, totals)
        });
        pg_sys::InitMaterializedSRF(fcinfo, 0);
        let rsinfo = (*fcinfo).resultinfo as *mut pg_sys::ReturnSetInfo;
        let store = (*rsinfo).setResult;
        let desc = (*rsinfo).setDesc;
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
            pg_sys::tuplestore_putvalues(store, desc, datums.as_mut_ptr(), nulls.as_mut_ptr());
        }
        pg_sys::Datum::from(0usize)
    }
}
