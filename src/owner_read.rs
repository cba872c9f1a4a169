//! The one read of a user's activity table the live-score triggers make, run as
//! that table's owner.
//!
//! The triggers run with their owner's (the extension's) rights. Planning a
//! query over a user's table can run that table's owner's code: the planner
//! folds immutable functions in CHECK constraints and index expressions, and a
//! cast may be user-defined. So the triggers never query a user's table
//! themselves: `_owner_states` runs the generated read as the table's owner, in
//! a security-restricted operation with `search_path` pinned (as PostgreSQL
//! runs VACUUM, ANALYZE and index builds), and folds the rows it gets into live
//! states here, in Rust. Whatever code of the owner's runs, runs as the owner.

use crate::catalog::by_key;
use crate::errors::{raise_code, OrRaise};
use crate::owner::run_as;
use lead_score_core::live::{check_supported, live_add, new_live, LiveKey};
use lead_score_core::Value;
use pgrx::datum::{DatumWithOid, TimestampWithTimeZone};
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

/// The owner of an attachment's activity table.
fn activities_owner(attachment: &str) -> pg_sys::Oid {
    let owner = Spi::get_one_with_args::<pg_sys::Oid>(
        "SELECT c.relowner FROM pg_catalog.pg_class c \
         JOIN lead_score.attachments a ON c.oid = a.activities WHERE a.name = $1",
        &[attachment.into()],
    );
    match owner {
        Ok(Some(o)) => o,
        _ => raise_code(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("lead_score attachment \"{attachment}\" does not exist"),
        ),
    }
}

/// `_owner_states(attachment, keys anyarray, model_id, version, landmark, now)`:
/// one live delta per key of `keys`, in order, from the lead's activities (NULL
/// for a lead with none). An event dated after `now` counts as of `now`, as in
/// the insert triggers; one with no time does not count, as in the aggregates.
#[pg_extern(name = "_owner_states", stable, strict, parallel_unsafe)]
fn owner_states(
    attachment: &str,
    keys: pgrx::AnyArray,
    model_id: i64,
    version: i32,
    landmark: TimestampWithTimeZone,
    now: TimestampWithTimeZone,
) -> Vec<Option<Vec<u8>>> {
    let n = (&keys).into_iter().count();
    let mut states: Vec<Option<Vec<u8>>> = vec![None; n];
    if n == 0 {
        return states;
    }
    let compiled = by_key(model_id, version);
    let model = &compiled.model;
    check_supported(model).or_raise();
    let key = LiveKey {
        model_id,
        version,
        landmark: i64::from(landmark),
    };
    let now = i64::from(now);
    let query = crate::attach::load(attachment, false).owner_read_query();
    let props = model.engagement.properties.len();
    let owner = activities_owner(attachment);
    let oid = keys.oid();
    // SAFETY: `oid` is the array's own type, as PostgreSQL resolved it for this call.
    let arg = unsafe { DatumWithOid::new(keys, oid) };
    run_as(owner, || {
        Spi::connect(|client| {
            let rows = client.select(&query, None, &[arg])?;
            let mut texts: Vec<Option<String>> = vec![None; props];
            for row in rows {
                let Some(i) = row.get::<i64>(1)? else {
                    continue;
                };
                let Some(slot) = states.get_mut((i - 1) as usize) else {
                    continue;
                };
                let event_type: Option<String> = row.get(2)?;
                // No time: skipped, as the aggregates do.
                let Some(at) = row.get::<TimestampWithTimeZone>(3)? else {
                    continue;
                };
                let at = i64::from(at).min(now);
                for (p, text) in texts.iter_mut().enumerate() {
                    *text = row.get::<String>(4 + p)?;
                }
                let mut values = [Value::Null; lead_score_core::MAX_PROPERTIES];
                for (v, t) in values.iter_mut().zip(&texts) {
                    *v = t.as_deref().map_or(Value::Null, Value::Text);
                }
                let state = slot.get_or_insert_with(|| new_live(model, key));
                if let Some(event_type) = event_type.as_deref() {
                    live_add(model, state, event_type, at, &values[..props]);
                }
            }
            Ok::<_, pgrx::spi::Error>(())
        })
    })
    .unwrap_or_else(|e| {
        raise_code(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            format!("lead_score: {e}"),
        )
    });
    states
}
