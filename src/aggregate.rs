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

/// The aggregate's memory context; raises unless called as part of an aggregate.
///
/// # Safety
/// `fcinfo` must be the valid call info of the running function.
pub(crate) unsafe fn aggregate_context(
    fcinfo: pg_sys::FunctionCallInfo,
    what: &str,
) -> pg_sys::MemoryContext {
    let mut cx: pg_sys::MemoryContext = std::ptr::null_mut();
    // SAFETY: the caller guarantees `fcinfo` is valid; AggCheckCallContext only
    // reads its context node and sets `cx`.
    if unsafe { pg_sys::AggCheckCallContext(fcinfo, &mut cx) } == 0 {
        raise_code(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("{what} can only be called as part of an aggregate"),
        );
    }
    cx
}

/// The data bytes of a varlena, to update in place.
///
/// # Safety
/// `state` must be a valid, detoasted (plain or short-header) varlena that
/// outlives `'a`, and nothing else may reference its bytes while the slice lives.
pub(crate) unsafe fn state_bytes_mut<'a>(state: *mut pg_sys::varlena) -> &'a mut [u8] {
    // SAFETY: the caller guarantees `state` is a valid detoasted varlena: its
    // header gives the length of the data that follows it, which nothing else
    // references while the slice lives.
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
///
/// # Safety
/// `fcinfo` must be the valid call info of the running function.
pub(crate) unsafe fn model_arg_is_constant(fcinfo: pg_sys::FunctionCallInfo) -> bool {
    // SAFETY: the caller guarantees `fcinfo` is valid. AggGetAggref returns null
    // outside an aggregate, else the executing plan's Aggref, whose non-null
    // `args` is a List of TargetEntry nodes, each with an expression.
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
///
/// # Safety
/// Called only by PostgreSQL's function manager, as the transition function of
/// the engagement aggregates declared in `sql/scoring.sql`, with a valid `fcinfo`.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_engagement_trans(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    // SAFETY: PostgreSQL passes this call's valid `fcinfo` (to every use of it
    // below, "as above"), with the declared arguments: bytea, text, text,
    // timestamptz, then up to MAX_PROPERTIES text.
    unsafe { aggregate_context(fcinfo, "lead_score_internal._engagement_trans") };
    // SAFETY: as above; this call site always caches a TransCache, taken once.
    let cache = unsafe { fn_cache(fcinfo, TransCache::default) };
    // SAFETY: as above.
    let (state_arg, model_arg) = unsafe { (arg(fcinfo, 0), arg(fcinfo, 1)) };
    let resolved = match cache.constant_model {
        Some(r) => r,
        None => {
            let Some(model_name) = model_arg else {
                return match state_arg {
                    Some(state) => state,
                    // SAFETY: as above.
                    None => unsafe { return_null(fcinfo) },
                };
            };
            // SAFETY: argument 1 is a text datum of this call.
            let r = cache.model.get(unsafe { text_arg(model_name) });
            // SAFETY: as above.
            if unsafe { model_arg_is_constant(fcinfo) } {
                cache.constant_model = Some(r);
            }
            r
        }
    };
    let compiled = resolved.compiled;
    let engagement = &compiled.model.engagement;
    let state: *mut pg_sys::varlena = match state_arg {
        Some(d) => d.cast_mut_ptr(),
        None => {
            // First row of the group: build the state in the per-row context.
            // PostgreSQL copies a new state into the aggregate context once; from
            // then on this function updates that copy in place and returns it.
            let len = state_len(engagement.rules.len());
            // SAFETY: palloc0 returns `len + VARHDRSZ` zeroed bytes (or raises);
            // with its 4-byte header set they are a bytea of `len` data bytes,
            // referenced nowhere else.
            let (p, bytes) = unsafe {
                let p = pg_sys::palloc0(len + pg_sys::VARHDRSZ) as *mut pg_sys::varlena;
                pgrx::varlena::set_varsize_4b(p, (len + pg_sys::VARHDRSZ) as i32);
                (p, state_bytes_mut(p))
            };
            let key = StateKey {
                model_id: compiled.model_id,
                version: compiled.version,
                as_of: resolved.as_of,
            };
            init_state(bytes, engagement, key);
            p
        }
    };
    // SAFETY: `state` is the one built above, or the group's state, a plain
    // bytea that PostgreSQL keeps in the aggregate context for this function to
    // update in place (as float8_accum does); nothing else references its bytes.
    let bytes = unsafe { state_bytes_mut(state) };
    // SAFETY: as above.
    let (Some(event_type), Some(at)) = (unsafe { (arg(fcinfo, 2), arg(fcinfo, 3)) }) else {
        return pg_sys::Datum::from(state);
    };
    // The model name may differ between groups but never within one.
    let key_model = lead_score_core::header::model_of(bytes).map(|(id, _)| id);
    if key_model != Some(compiled.model_id) {
        raise_code(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "lead_score.engagement: the model must be the same for every row of a group",
        );
    }
    // A state this function did not build (a caller's own aggregate over it,
    // with an INITCOND) must still have this model's slots before they are
    // written: its header's rule count and its length.
    if lead_score_core::engagement::read_key(bytes).map(|(_, rules)| rules)
        != Ok(engagement.rules.len())
    {
        raise_code(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "lead_score.engagement: the state is not one this model's aggregate built",
        );
    }
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
    engagement.accumulate(
        bytes,
        // SAFETY: argument 2 is a text datum of this call.
        unsafe { text_arg(event_type) },
        at.value() as i64,
        &props[..n_props],
    );
    pg_sys::Datum::from(state)
}

v1_info!(pg_finfo_lead_score_engagement_combine);
/// `_engagement_combine(a bytea, b bytea) → bytea`: merges partial states from parallel workers.
///
/// # Safety
/// Called only by PostgreSQL's function manager, as the combine function of the
/// engagement aggregates (`sql/scoring.sql`), with a valid `fcinfo`.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_engagement_combine(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    // SAFETY: PostgreSQL passes this call's valid `fcinfo` (to every use of it
    // below, "as above"), with two bytea arguments.
    unsafe { aggregate_context(fcinfo, "lead_score_internal._engagement_combine") };
    // Declared STRICT: PostgreSQL copies the non-null side into the aggregate context itself.
    // SAFETY: as above.
    let (Some(a), Some(b)) = (unsafe { (arg(fcinfo, 0), arg(fcinfo, 1)) }) else {
        // SAFETY: as above.
        return unsafe { return_null(fcinfo) };
    };
    // A partial state from a parallel worker may arrive with a 1-byte header
    // (small varlenas are packed in the tuple queue); PostgreSQL has copied it
    // into the aggregate context, and the byte view below handles either header.
    let a = a.cast_mut_ptr::<pg_sys::varlena>();
    // SAFETY: `a` is the aggregate's own state in its context, detoasted, for
    // this function to update in place; `b` is another state, a bytea, read
    // only (detoasted into the current context if it needs to be).
    let (into, from) = unsafe {
        let b = pg_sys::pg_detoast_datum_packed(b.cast_mut_ptr());
        (state_bytes_mut(a), pgrx::varlena::varlena_to_byte_slice(b))
    };
    combine(into, from).or_raise();
    pg_sys::Datum::from(a)
}

/// The state in argument 0 and its model, or None when it is NULL.
///
/// # Safety
/// `fcinfo` must be the valid call info of the running function, whose argument 0
/// is a bytea; the state borrows it, so `'a` must not outlive the call.
unsafe fn final_state<'a>(
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<(State<'a>, &'static Compiled)> {
    // SAFETY: the caller guarantees `fcinfo` is valid with a bytea argument 0,
    // detoasted (if it needs to be) into the current memory context, which
    // outlives the call.
    let bytes = unsafe {
        let d = arg(fcinfo, 0)?;
        let p = pg_sys::pg_detoast_datum_packed(d.cast_mut_ptr());
        pgrx::varlena::varlena_to_byte_slice(p)
    };
    let state = State::new(bytes).or_raise();
    let compiled = by_key(state.key.model_id, state.key.version);
    state.check_range(&compiled.model.engagement).or_raise();
    Some((state, compiled))
}

v1_info!(pg_finfo_lead_score_engagement_final);
/// `_engagement_final(state bytea) → float8`
///
/// # Safety
/// Called only by PostgreSQL's function manager, as the final function of the
/// engagement aggregate or as `lead_score.engagement_score` (`sql/scoring.sql`),
/// with a valid `fcinfo`.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_engagement_final(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    // SAFETY: PostgreSQL passes this call's valid `fcinfo`, with a bytea argument.
    let Some((state, compiled)) = (unsafe { final_state(fcinfo) }) else {
        // SAFETY: as above.
        return unsafe { return_null(fcinfo) };
    };
    let mut categories = Vec::new();
    let e = compiled
        .model
        .engagement
        .finalize(&state, &mut categories, &mut ());
    pg_sys::Datum::from(e.to_bits())
}

v1_info!(pg_finfo_lead_score_engagement_categories_final);
/// `_engagement_categories_final(state bytea) → jsonb`: `{"category": score, ...}`
///
/// # Safety
/// Called only by PostgreSQL's function manager, as the final function of the
/// category aggregate or as `lead_score.category_scores` (`sql/scoring.sql`),
/// with a valid `fcinfo`.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_engagement_categories_final(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    // SAFETY: PostgreSQL passes this call's valid `fcinfo`, with a bytea argument.
    let Some((state, compiled)) = (unsafe { final_state(fcinfo) }) else {
        // SAFETY: as above.
        return unsafe { return_null(fcinfo) };
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
        // SAFETY: as above.
        None => unsafe { return_null(fcinfo) },
    }
}
