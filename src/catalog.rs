//! Finds models by name and compiles each (model, version) once per backend.
//!
//! Name resolution happens once per function call site per query (see
//! `fncache`), so a newly published version is picked up by the next statement
//! without reconnecting, while the per-row path never touches SPI.

use crate::errors::{raise_code, OrRaise};
use lead_score_core::Model;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;
use std::cell::RefCell;
use std::collections::HashMap;

pub struct Compiled {
    pub model_id: i64,
    pub version: i32,
    pub name: String,
    pub model: Model,
}

thread_local! {
    // Compiled models live as long as the backend: they are immutable per
    // (id, version), and call sites keep plain references to them.
    static COMPILED: RefCell<HashMap<(i64, i32), &'static Compiled>> = RefCell::new(HashMap::new());
}

/// A model resolved for one statement: its current version and the as-of time.
#[derive(Clone, Copy)]
pub struct Resolved {
    pub compiled: &'static Compiled,
    /// Microseconds since 2000-01-01: `lead_score.as_of` if set, else now().
    pub as_of: i64,
}

const AS_OF_SQL: &str = "(extract(epoch from coalesce(nullif(current_setting('lead_score.as_of', true), '')::timestamptz, now()) - '2000-01-01 00:00:00+00'::timestamptz) * 1000000)::bigint";

pub fn resolve(name: &str) -> Resolved {
    let query = format!(
        "SELECT m.id, m.current_version, {AS_OF_SQL} FROM lead_score.models m WHERE m.name = $1"
    );
    let row: Option<(i64, i32, i64)> = Spi::connect(|client| {
        let table = client.select(&query, Some(1), &[name.into()])?;
        if table.is_empty() {
            return Ok::<_, pgrx::spi::SpiError>(None);
        }
        let (id, version, as_of) = table.first().get_three::<i64, i32, i64>()?;
        Ok(match (id, version, as_of) {
            (Some(id), Some(version), Some(as_of)) => Some((id, version, as_of)),
            _ => None,
        })
    })
    .or_raise();
    let Some((id, version, as_of)) = row else {
        raise_code(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("lead_score model \"{name}\" does not exist"),
        );
    };
    Resolved {
        compiled: by_key(id, version),
        as_of,
    }
}

/// The compiled model for an exact version, compiling it on first use.
pub fn by_key(model_id: i64, version: i32) -> &'static Compiled {
    if let Some(c) = COMPILED.with(|m| m.borrow().get(&(model_id, version)).copied()) {
        return c;
    }
    let row: Option<(String, String)> = Spi::connect(|client| {
        let table = client.select(
            "SELECT m.name, v.spec::text FROM lead_score.model_versions v \
             JOIN lead_score.models m ON m.id = v.model_id \
             WHERE v.model_id = $1 AND v.version = $2",
            Some(1),
            &[model_id.into(), version.into()],
        )?;
        if table.is_empty() {
            return Ok::<_, pgrx::spi::SpiError>(None);
        }
        let (name, spec) = table.first().get_two::<String, String>()?;
        Ok(name.zip(spec))
    })
    .or_raise();
    let Some((name, spec)) = row else {
        raise_code(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("lead_score model id {model_id} version {version} does not exist"),
        );
    };
    let model = Model::from_json_text(&spec).or_raise();
    let compiled: &'static Compiled = Box::leak(Box::new(Compiled {
        model_id,
        version,
        name,
        model,
    }));
    COMPILED.with(|m| m.borrow_mut().insert((model_id, version), compiled));
    compiled
}
