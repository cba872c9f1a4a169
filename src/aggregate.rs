//! The engagement aggregates' support functions.
//!
//! The state is a plain `bytea` (so parallel query and Citus can ship it) whose
//! size depends only on the model's rule count. Inside an aggregate the
//! transition and combine functions update it in place, as PostgreSQL's own
//! `float8_accum` does, so no row allocates or copies.

use crate::args::{arg, nargs, return_null, text_arg};
use crate::catalog::{by_key, Compiled, Resolved};
use crate::errors::{raise_code, OrRaise};
use crate::fncache::{fn_cache, ModelSlot};
use crate::v1_info;
use lead_score_core::engagement::{combine, init_state, state_len, State, StateKey};
use lead_score_core::Value;
use pgrx::prelude::*;
use pgrx::{IntoDatum, PgSqlErrorCode};

/// Arguments before the event properties: state, model, event type, time.
const FIXED_ARGS: usize = 4;
use lead_score_core::MAX_PROPERTIES;

pub(crate) unsafe fn aggregate_context(
    fcinfo: pg_sys::FunctionCallInfo,
    what: &str,
) -> pg_sys::MemoryContext {
    unsafe {
        let mut cx: pg_sys::MemoryContext = std::ptr::null_mut();
        if pg_sys::AggCheckCallContext(fcinfo, &mut cx) == 0 {
            raise_code(
                PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                format!("{what} can only be called as part of an aggregate"),
            );
        }
        cx
    }
}

pub(crate) unsafe fn state_bytes_mut<'a>(state: *mut pg_sys::varlena) -> &'a mut [u8] {
    unsafe {
        let len = pgrx::varlena::varsize_any_exhdr(state);
        let data = pgrx::varlena::vardata_any(state) as *mut u8;
        std::slice::from_raw_parts_mut(data, len)
    }
}

#[derive(Default)]
struct TransCache {
    model: ModelSlot,
    /// Set when the model argument is a constant, so rows skip reading it.
    constant_model: Option<Resolved>,
}

/// Whether the aggregate's model argument is a literal.
pub(crate) unsafe fn model_arg_is_constant(fcinfo: pg_sys::FunctionCallInfo) -> bool {
    unsafe {
        let aggref = pg_sys::AggGetAggref(fcinfo);
        if aggref.is_null() || (*aggref).args.is_null() || (*(*aggref).args).length < 1 {
            return false;
        }
        let first = (*(*(*aggref).args).elements).ptr_value as *mut pg_sys::TargetEntry;
        !first.is_null() && (*(*first).expr).type_ == pg_sys::NodeTag::T_Const
    }
}

v1_info!(pg_finfo_lead_score_engagement_trans);
/// `_engagement_trans(state bytea, model text, event_type text, occurred_at timestamptz, props text...)`
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_engagement_trans(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe {
        aggregate_context(fcinfo, "lead_score._engagement_trans");
        let cache = fn_cache(fcinfo, TransCache::default);
        let resolved = match cache.constant_model {
            Some(r) => r,
            None => {
                let Some(model_name) = arg(fcinfo, 1) else {
                    return match arg(fcinfo, 0) {
                        Some(state) => state,
                        None => return_null(fcinfo),
                    };
                };
                let r = cache.model.get(text_arg(model_name));
                if model_arg_is_constant(fcinfo) {
                    cache.constant_model = Some(r);
                }
                r
            }
        };
        let compiled = resolved.compiled;
        let engagement = &compiled.model.engagement;
        let state: *mut pg_sys::varlena = match arg(fcinfo, 0) {
            Some(d) => d.cast_mut_ptr(),
            None => {
                // First row of the group: build the state in the per-row context.
                // PostgreSQL copies a new state into the aggregate context once; from
                // then on this function updates that copy in place and returns it.
                let len = state_len(engagement.rules.len());
                let p = pg_sys::palloc0(len + pg_sys::VARHDRSZ) as *mut pg_sys::varlena;
                pgrx::varlena::set_varsize_4b(p, (len + pg_sys::VARHDRSZ) as i32);
                let key = StateKey {
                    model_id: compiled.model_id,
                    version: compiled.version,
                    as_of: resolved.as_of,
                };
                init_state(state_bytes_mut(p), engagement, key);
                p
            }
        };
        let bytes = state_bytes_mut(state);
        let (Some(event_type), Some(at)) = (arg(fcinfo, 2), arg(fcinfo, 3)) else {
            return pg_sys::Datum::from(state);
        };
        // The model name may differ between groups but never within one.
        let key_model = i64::from_le_bytes(bytes[8..16].try_into().unwrap_or_default());
        if key_model != compiled.model_id {
            raise_code(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                "lead_score.engagement: the model must be the same for every row of a group",
            );
        }
        let n_props = (nargs(fcinfo) - FIXED_ARGS).min(MAX_PROPERTIES);
        let mut props = [Value::Null; MAX_PROPERTIES];
        for (i, p) in props.iter_mut().enumerate().take(n_props) {
            if let Some(d) = arg(fcinfo, FIXED_ARGS + i) {
                *p = Value::Text(text_arg(d));
            }
        }
        engagement.accumulate(
            bytes,
            text_arg(event_type),
            at.value() as i64,
            &props[..n_props],
        );
        pg_sys::Datum::from(state)
    }
}

v1_info!(pg_finfo_lead_score_engagement_combine);
/// `_engagement_combine(a bytea, b bytea) → bytea`: merges partial states from parallel workers.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_engagement_combine(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe {
        aggregate_context(fcinfo, "lead_score._engagement_combine");
        // Declared STRICT: PostgreSQL copies the non-null side into the aggregate context itself.
        let (Some(a), Some(b)) = (arg(fcinfo, 0), arg(fcinfo, 1)) else {
            return return_null(fcinfo);
        };
        // A partial state from a parallel worker may arrive with a 1-byte header
        // (small varlenas are packed in the tuple queue); PostgreSQL has copied it
        // into the aggregate context, and the byte view below handles either header.
        let a = a.cast_mut_ptr::<pg_sys::varlena>();
        let b = pg_sys::pg_detoast_datum_packed(b.cast_mut_ptr());
        combine(state_bytes_mut(a), pgrx::varlena::varlena_to_byte_slice(b)).or_raise();
        pg_sys::Datum::from(a)
    }
}

unsafe fn final_state<'a>(
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<(State<'a>, &'static Compiled)> {
    unsafe {
        let d = arg(fcinfo, 0)?;
        let p = pg_sys::pg_detoast_datum_packed(d.cast_mut_ptr());
        let state = State::new(pgrx::varlena::varlena_to_byte_slice(p)).or_raise();
        let compiled = by_key(state.key.model_id, state.key.version);
        Some((state, compiled))
    }
}

v1_info!(pg_finfo_lead_score_engagement_final);
/// `_engagement_final(state bytea) → float8`
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_engagement_final(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe {
        let Some((state, compiled)) = final_state(fcinfo) else {
            return return_null(fcinfo);
        };
        let mut categories = Vec::new();
        let e = compiled
            .model
            .engagement
            .finalize(&state, &mut categories, &mut ());
        pg_sys::Datum::from(e.to_bits())
    }
}

v1_info!(pg_finfo_lead_score_engagement_categories_final);
/// `_engagement_categories_final(state bytea) → jsonb`: `{"category": score, ...}`
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_engagement_categories_final(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe {
        let Some((state, compiled)) = final_state(fcinfo) else {
            return return_null(fcinfo);
        };
        let engagement = &compiled.model.engagement;
        let mut scores = Vec::new();
        engagement.finalize(&state, &mut scores, &mut ());
        let map: serde_json::Map<String, serde_json::Value> = engagement
            .categories
            .iter()
            .zip(scores)
            .map(|(c, s)| (c.name.clone(), serde_json::Value::from(s)))
            .collect();
        let json = pgrx::JsonB(serde_json::Value::Object(map));
        match json.into_datum() {
            Some(d) => d,
            None => return_null(fcinfo),
        }
    }
}
