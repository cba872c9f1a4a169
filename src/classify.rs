//! Typed SQL functions: spec validation and classification of given scores.

use crate::errors::OrRaise;
use crate::fncache::{fn_cache, ModelSlot};
use lead_score_core::Model;
use pgrx::prelude::*;

/// Validates a model spec given as JSON text (`lead_score.validate_spec(jsonb)`
/// passes `spec::text`), raising an error that names the JSON path of the first
/// problem. The text is checked for size and nesting before it is parsed.
#[pg_extern(
    name = "_validate_spec_text",
    schema = "lead_score_internal",
    immutable,
    strict,
    parallel_safe
)]
pub(crate) fn validate_spec_text(spec: &str) -> bool {
    Model::from_json_text(spec).or_raise();
    true
}

fn compiled(fcinfo: pg_sys::FunctionCallInfo, name: &str) -> &'static Model {
    // SAFETY: fcinfo is this call's, passed by PostgreSQL to the function.
    let slot = unsafe { fn_cache(fcinfo, ModelSlot::default) };
    &slot.get(name).compiled.model
}

/// The letter grade for a fit score under the model's current version.
#[pg_extern(stable, strict, parallel_safe)]
fn grade(model: &str, fit: f64, fcinfo: pg_sys::FunctionCallInfo) -> Option<String> {
    compiled(fcinfo, model)
        .classification
        .grade(fit)
        .map(str::to_string)
}

/// The hot/warm/cold label for an engagement score.
#[pg_extern(stable, strict, parallel_safe)]
fn label(model: &str, engagement: f64, fcinfo: pg_sys::FunctionCallInfo) -> Option<String> {
    compiled(fcinfo, model)
        .classification
        .label(engagement)
        .map(str::to_string)
}

/// act_now, account_based, check_fit, nurture or disqualified.
#[pg_extern(stable, strict, parallel_safe)]
fn quadrant(
    model: &str,
    fit: f64,
    engagement: f64,
    disqualified: default!(bool, false),
    fcinfo: pg_sys::FunctionCallInfo,
) -> &'static str {
    compiled(fcinfo, model)
        .classification
        .quadrant(fit, engagement, disqualified)
        .as_str()
}

/// Whether fit + engagement makes a marketing-qualified lead.
#[pg_extern(stable, strict, parallel_safe)]
fn is_mql(
    model: &str,
    fit: f64,
    engagement: f64,
    disqualified: default!(bool, false),
    fcinfo: pg_sys::FunctionCallInfo,
) -> bool {
    compiled(fcinfo, model)
        .classification
        .is_mql(fit, engagement, disqualified)
}

/// An account's engagement: its leads' summed engagement, capped at
/// `accounts.cap` (`<name>_accounts`).
#[pg_extern(stable, strict, parallel_safe)]
fn account_engagement(model: &str, engagement_sum: f64, fcinfo: pg_sys::FunctionCallInfo) -> f64 {
    compiled(fcinfo, model)
        .account_engagement(engagement_sum)
        .or_raise()
}

/// Whether a lead of this engagement counts as engaged for its account
/// (`accounts.engaged_min`; default: above 0).
#[pg_extern(stable, strict, parallel_safe)]
fn account_engaged(model: &str, engagement: f64, fcinfo: pg_sys::FunctionCallInfo) -> bool {
    compiled(fcinfo, model)
        .account_engaged(engagement)
        .or_raise()
}

/// An account's quadrant, at `accounts.quadrant` or the model's thresholds.
#[pg_extern(stable, strict, parallel_safe)]
fn account_quadrant(
    model: &str,
    fit: f64,
    engagement: f64,
    disqualified: default!(bool, false),
    fcinfo: pg_sys::FunctionCallInfo,
) -> &'static str {
    compiled(fcinfo, model)
        .account_quadrant(fit, engagement, disqualified)
        .or_raise()
        .as_str()
}

/// Whether an account of this total is alerting (`accounts.alert`).
#[pg_extern(stable, strict, parallel_safe)]
fn account_alerting(
    model: &str,
    total: f64,
    disqualified: default!(bool, false),
    fcinfo: pg_sys::FunctionCallInfo,
) -> bool {
    compiled(fcinfo, model)
        .account_alerting(total, disqualified)
        .or_raise()
}
