//! Evaluation and in-database logistic regression: thin bindings of
//! `lead_score_core::stats` and `lead_score_core::logistic`.
//!
//! Everything here runs as the caller (no SECURITY DEFINER): it reads only what
//! the caller may read.

// The result columns of the set-returning functions are spelled out with
// pgrx's name!(), which a type alias cannot carry.
#![allow(clippy::type_complexity)]

use crate::errors::{raise_code, OrRaise};
use crate::v1_info;
use lead_score_core::logistic::{advance, Next, Step};
use lead_score_core::sqlgen::learn::Design;
use lead_score_core::stats::{self, Scored};
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

/// `scores` (named `argument`: `calibration` calls its `probabilities`) paired
/// with `converted`.
fn scored_as(argument: &str, scores: &[Option<f64>], converted: &[Option<bool>]) -> Vec<Scored> {
    if scores.len() != converted.len() {
        raise_code(
            PgSqlErrorCode::ERRCODE_ARRAY_ELEMENT_ERROR,
            format!(
                "{argument} has {} elements and converted {}; they must pair up",
                scores.len(),
                converted.len()
            ),
        );
    }
    // A lead with no score or no outcome is left out.
    scores
        .iter()
        .zip(converted)
        .filter_map(|(s, c)| {
            Some(Scored {
                score: (*s)?,
                positive: (*c)?,
            })
        })
        .collect()
}

fn scored(scores: &[Option<f64>], converted: &[Option<bool>]) -> Vec<Scored> {
    scored_as("scores", scores, converted)
}

/// `roc_auc(scores, converted)`: ROC AUC with DeLong's standard error and 95%
/// interval, and a warning when there is too little history.
#[pg_extern(immutable, strict, parallel_safe)]
fn roc_auc(
    scores: Vec<Option<f64>>,
    converted: Vec<Option<bool>>,
) -> TableIterator<
    'static,
    (
        name!(auc, f64),
        name!(std_error, f64),
        name!(ci_lower, f64),
        name!(ci_upper, f64),
        name!(leads, i64),
        name!(positives, i64),
        name!(warning, Option<String>),
    ),
> {
    let a = stats::auc(&scored(&scores, &converted)).or_raise();
    TableIterator::once((
        a.auc,
        a.se,
        a.lower,
        a.upper,
        a.leads as i64,
        a.positives as i64,
        stats::sample_warning(a.leads, a.positives),
    ))
}

/// `auc_difference(scores_a, scores_b, converted)`: the paired DeLong test of
/// two models scored on the same leads. `a_better` only when the 95% interval
/// of the difference is above 0.
#[pg_extern(immutable, strict, parallel_safe)]
fn auc_difference(
    scores_a: Vec<Option<f64>>,
    scores_b: Vec<Option<f64>>,
    converted: Vec<Option<bool>>,
) -> TableIterator<
    'static,
    (
        name!(auc_a, f64),
        name!(auc_b, f64),
        name!(difference, f64),
        name!(std_error, f64),
        name!(ci_lower, f64),
        name!(ci_upper, f64),
        name!(p_value, f64),
        name!(a_better, bool),
    ),
> {
    if scores_a.len() != scores_b.len() || scores_a.len() != converted.len() {
        raise_code(
            PgSqlErrorCode::ERRCODE_ARRAY_ELEMENT_ERROR,
            "scores_a, scores_b and converted must have one element per lead",
        );
    }
    let mut a = Vec::new();
    let mut b = Vec::new();
    let mut y = Vec::new();
    for i in 0..converted.len() {
        if let (Some(sa), Some(sb), Some(c)) = (scores_a[i], scores_b[i], converted[i]) {
            a.push(sa);
            b.push(sb);
            y.push(c);
        }
    }
    let p = stats::paired_auc(&a, &b, &y).or_raise();
    TableIterator::once((
        p.a,
        p.b,
        p.difference,
        p.se,
        p.lower,
        p.upper,
        p.p_value,
        p.a_better(),
    ))
}

/// `score_deciles(scores, converted)`: conversion and lift by score decile,
/// best first; tied scores stay in one decile.
#[pg_extern(immutable, strict, parallel_safe)]
fn score_deciles(
    scores: Vec<Option<f64>>,
    converted: Vec<Option<bool>>,
) -> TableIterator<
    'static,
    (
        name!(decile, i32),
        name!(leads, i64),
        name!(positives, i64),
        name!(conversion_rate, f64),
        name!(lift, Option<f64>),
        name!(min_score, f64),
        name!(max_score, f64),
    ),
> {
    let rows: Vec<_> = stats::deciles(&scored(&scores, &converted))
        .or_raise()
        .into_iter()
        .map(|d| {
            (
                d.decile as i32,
                d.leads as i64,
                d.positives as i64,
                d.rate,
                d.lift,
                d.min_score,
                d.max_score,
            )
        })
        .collect();
    TableIterator::new(rows)
}

/// `calibration(probabilities, converted, bins)`: expected against observed
/// conversion in equal-width bins of predicted probability, each row with the
/// expected calibration error and the Brier score of all leads.
#[pg_extern(immutable, strict, parallel_safe)]
fn calibration(
    probabilities: Vec<Option<f64>>,
    converted: Vec<Option<bool>>,
    bins: default!(i32, 10),
) -> TableIterator<
    'static,
    (
        name!(bin, i32),
        name!(leads, i64),
        name!(expected, f64),
        name!(observed, f64),
        name!(calibration_error, f64),
        name!(brier, f64),
    ),
> {
    if !(1..=1000).contains(&bins) {
        raise_code(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("bins must be between 1 and 1000, got {bins}"),
        );
    }
    let c = stats::calibration(
        &scored_as("probabilities", &probabilities, &converted),
        bins as usize,
    )
    .or_raise();
    let rows: Vec<_> = c
        .bins
        .iter()
        .map(|b| {
            (
                b.bin as i32,
                b.leads as i64,
                b.expected,
                b.observed,
                c.ece,
                c.brier,
            )
        })
        .collect();
    TableIterator::new(rows)
}

/// A float8[] argument as a slice of its elements, or the index of its first
/// NULL element.
///
/// # Safety
/// `datum` must be a float8[] datum of the running call; the slice borrows
/// its detoasted copy (made in the current memory context) or the datum
/// itself, so it must not outlive the call.
unsafe fn float8_array<'a>(datum: pg_sys::Datum) -> Result<&'a [f64], usize> {
    // SAFETY: the caller guarantees a float8[] datum; detoasting gives an
    // uncompressed ArrayType (a copy in the current context, if it was toasted).
    let mut raw = unsafe {
        let p = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) as *mut pg_sys::ArrayType;
        pgrx::array::RawArray::from_ptr(std::ptr::NonNull::new_unchecked(p))
    };
    if raw.oid() != pg_sys::FLOAT8OID {
        raise_code(
            PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
            "logistic_step takes float8[] arguments",
        );
    }
    if let Some(bits) = raw.nulls_bitslice() {
        // SAFETY: the bitmap covers the array's `len()` elements.
        let bits = unsafe { bits.as_ref() };
        if let Some(i) = (0..raw.len()).find(|&i| !bits[i]) {
            return Err(i);
        }
    }
    // SAFETY: a float8[] without NULLs stores its `len()` elements as
    // contiguous, 8-byte aligned doubles; every bit pattern is an f64.
    Ok(unsafe { raw.data::<f64>().as_ref() })
}

v1_info!(pg_finfo_lead_score_logistic_trans);
/// Transition of `logistic_step(coefficients, features, converted)`: adds one
/// row's terms at `coefficients` (see `lead_score_core::logistic::Step`) to
/// the float8[] state in place. The state is the aggregate's own (made here on
/// its first row, then copied by the executor into the aggregate's memory
/// context), so it is updated without copying its p × p sums for every row.
///
/// # Safety
/// Called only by PostgreSQL's function manager, as `lead_score_internal._logistic_trans`
/// (`sql/learn.sql`), with a valid `fcinfo`.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_logistic_trans(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    use crate::args::{arg, return_null};
    let mut aggcontext: pg_sys::MemoryContext = std::ptr::null_mut();
    // SAFETY: PostgreSQL passes this call's valid `fcinfo` (to every use of it
    // below, "as above"); AggCheckCallContext only reads it.
    if unsafe { pg_sys::AggCheckCallContext(fcinfo, &mut aggcontext) } == 0 {
        raise_code(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            "_logistic_trans is the transition of the aggregate logistic_step; call that",
        );
    }
    // SAFETY: as above, with the declared arguments (float8[], float8[], float8[], boolean).
    let (state, beta, features, y) = unsafe {
        (
            arg(fcinfo, 0),
            arg(fcinfo, 1),
            arg(fcinfo, 2),
            arg(fcinfo, 3),
        )
    };
    let (Some(beta), Some(features), Some(y)) = (beta, features, y) else {
        return match state {
            Some(s) => s,
            // SAFETY: as above.
            None => unsafe { return_null(fcinfo) },
        };
    };
    // SAFETY: argument 1 is a float8[] of this call.
    let beta = unsafe { float8_array(beta) }.unwrap_or_else(|i| {
        raise_code(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            format!("coefficient {} is NULL", i + 1),
        )
    });
    // Checked before the p × p state is allocated.
    if beta.is_empty() || beta.len() > lead_score_core::logistic::MAX_FEATURES {
        raise_code(
            PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!(
                "a fit has 1 to {} coefficients (intercept included), got {}",
                lead_score_core::logistic::MAX_FEATURES,
                beta.len()
            ),
        );
    }
    // SAFETY: argument 2 is a float8[] of this call.
    let x = unsafe { float8_array(features) }.unwrap_or_else(|i| {
        raise_code(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            format!(
                "feature {} of a row is NULL; encode missing values as a feature",
                i + 1
            ),
        )
    });
    let state = match state {
        Some(s) => s,
        None => {
            let flat = lead_score_core::logistic::new_flat(beta.len());
            let mut datums: Vec<pg_sys::Datum> = flat
                .iter()
                .map(|v| pg_sys::Datum::from(v.to_bits()))
                .collect();
            // SAFETY: `datums` holds one float8 (by value) per element. The
            // array is built in the current context: the executor copies a
            // new state into the aggregate's context, where it then stays.
            unsafe {
                pg_sys::Datum::from(pg_sys::construct_array(
                    datums.as_mut_ptr(),
                    datums.len() as i32,
                    pg_sys::FLOAT8OID,
                    8,
                    true,
                    b'd' as std::ffi::c_char,
                ))
            }
        }
    };
    // SAFETY: the state is this aggregate's own float8[]: made above on its
    // first row, or the executor's copy of it in the aggregate's context,
    // returned unchanged since. It is uncompressed and without NULLs, and an
    // aggregate transition may update its state in place. Its elements are
    // contiguous, aligned doubles.
    let sums: &mut [f64] = unsafe {
        let p = state.cast_mut_ptr::<pg_sys::ArrayType>();
        let mut raw = pgrx::array::RawArray::from_ptr(std::ptr::NonNull::new_unchecked(p));
        if raw.oid() != pg_sys::FLOAT8OID || raw.nulls_bitslice().is_some() {
            raise_code(
                PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
                "not a logistic regression step",
            );
        }
        raw.data::<f64>().as_mut()
    };
    // SAFETY: argument 3 is a boolean.
    lead_score_core::logistic::add_to_flat(sums, beta, x, y.value() != 0).or_raise();
    state
}

/// Combine of `logistic_step`: adds two partial sums (parallel workers, or
/// Citus shards).
#[pg_extern(
    name = "_logistic_combine",
    schema = "lead_score_internal",
    immutable,
    parallel_safe
)]
fn logistic_combine(a: Option<Vec<Option<f64>>>, b: Option<Vec<Option<f64>>>) -> Option<Vec<f64>> {
    let state = |s: Vec<Option<f64>>| crate::errors::no_null_elements(s, "state");
    match (a.map(state), b.map(state)) {
        (Some(a), Some(b)) => {
            let mut x = Step::from_slice(&a).or_raise();
            x.merge(&Step::from_slice(&b).or_raise()).or_raise();
            Some(x.to_vec())
        }
        (a, None) => a,
        (None, b) => b,
    }
}

/// The columns of a relation, for checking a design's names.
/// The type of column `name` of `source` (a domain's base type, through
/// domains over domains), as `format_type` writes it; empty if there is no
/// such column.
fn base_type(source: pg_sys::Oid, name: &str) -> String {
    Spi::get_one_with_args::<String>(
        "WITH RECURSIVE t(oid, typtype, typbasetype) AS ( \
             SELECT ty.oid, ty.typtype, ty.typbasetype \
             FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid \
             WHERE a.attrelid = $1 AND a.attname = $2::pg_catalog.name AND NOT a.attisdropped \
             UNION ALL \
             SELECT b.oid, b.typtype, b.typbasetype FROM t JOIN pg_catalog.pg_type b ON b.oid = t.typbasetype \
             WHERE t.typtype = 'd') \
         SELECT pg_catalog.format_type(t.oid, NULL) FROM t WHERE t.typtype <> 'd'",
        &[source.into(), name.into()],
    )
    .or_raise()
    .unwrap_or_default()
}

fn columns(source: pg_sys::Oid) -> Vec<String> {
    Spi::connect(|client| {
        client
            .select(
                "SELECT a.attname::text FROM pg_catalog.pg_attribute a \
                 WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped",
                None,
                &[source.into()],
            )?
            .map(|r| r.get::<String>(1).map(Option::unwrap_or_default))
            .collect::<Result<Vec<_>, _>>()
    })
    .or_raise()
}

/// `logistic_regression(source, outcome, features, l2)`: fits P(outcome) by
/// IRLS, one parallel scan of `source` per iteration, and returns one row per
/// coefficient (the intercept first) with the fit's log-likelihood, iterations
/// and convergence. Constant features are dropped with a NOTICE; features not
/// identified (separation: a standard error above 1e3 per unit of the
/// feature's range; or a copy of other features) get a WARNING naming
/// them, and a finite fit under an L2 penalty.
#[pg_extern(
    name = "_logistic_regression",
    schema = "lead_score_internal",
    volatile,
    parallel_unsafe
)]
fn logistic_regression(
    source: pg_sys::Oid,
    outcome: &str,
    features: Vec<Option<String>>,
    l2: f64,
) -> TableIterator<
    'static,
    (
        name!(feature, String),
        name!(coefficient, f64),
        name!(std_error, f64),
        name!(z_value, f64),
        name!(p_value, f64),
        name!(log_likelihood, f64),
        name!(iterations, i32),
        name!(converged, bool),
    ),
> {
    let features = crate::errors::no_null_elements(features, "features");
    if !(l2 >= 0.0 && l2.is_finite()) {
        raise_code(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("l2 must be a finite number ≥ 0, got {l2}"),
        );
    }
    if features.is_empty() || features.len() >= lead_score_core::logistic::MAX_FEATURES {
        raise_code(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "features must name 1 to {} columns, got {}",
                lead_score_core::logistic::MAX_FEATURES - 1,
                features.len()
            ),
        );
    }
    let Some((qualified, _)) = crate::attach::relation(source) else {
        raise_code(
            PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE,
            format!("relation with OID {} does not exist", source.to_u32()),
        );
    };
    let have = columns(source);
    for name in std::iter::once(outcome).chain(features.iter().map(String::as_str)) {
        if !have.iter().any(|c| c == name) {
            raise_code(
                PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
                format!("column \"{name}\" of {} does not exist", qualified.to_sql()),
            );
        }
    }
    // The step query reads the outcome as a boolean and each feature as a
    // float8: other types would fail there with a cast error naming neither.
    const NUMBERS: [&str; 6] = [
        "smallint",
        "integer",
        "bigint",
        "real",
        "double precision",
        "numeric",
    ];
    let ty = base_type(source, outcome);
    if ty != "boolean" {
        raise_code(
            PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
            format!(
                "outcome: column \"{outcome}\" of {} is {ty}, not boolean",
                qualified.to_sql()
            ),
        );
    }
    for (i, name) in features.iter().enumerate() {
        let ty = base_type(source, name);
        if !NUMBERS.contains(&ty.as_str()) {
            raise_code(
                PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
                format!(
                    "features[{}]: column \"{name}\" of {} is {ty}, not a number (fit a view that encodes it as one, such as flag::int)",
                    i + 1,
                    qualified.to_sql()
                ),
            );
        }
    }
    let mut names = features.clone();
    let mut previous = None;
    let mut beta = vec![0.0; names.len() + 1];
    let mut iteration = 0;
    let fit = loop {
        iteration += 1;
        let design = Design {
            source: qualified.clone(),
            outcome: outcome.to_string(),
            features: names.clone(),
        };
        // No row limit (Spi::get_one_with_args asks for 1 row): PostgreSQL
        // runs a plan with a row limit without parallel workers, and this
        // scan is the one the README says workers split.
        let state: Option<Vec<f64>> = Spi::connect(|client| {
            client
                .select(design.step_query().as_str(), None, &[beta.clone().into()])?
                .first()
                .get_one()
        })
        .or_raise();
        let Some(state) = state else {
            raise_code(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("{} has no row with an outcome", qualified.to_sql()),
            );
        };
        let step = Step::from_slice(&state).or_raise();
        if iteration == 1 {
            let constant = step.constant_features();
            if !constant.is_empty() {
                let dropped: Vec<&str> = constant.iter().map(|&j| names[j - 1].as_str()).collect();
                pgrx::notice!(
                    "logistic_regression: dropping constant feature(s) {}",
                    dropped.join(", ")
                );
                names = names
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !constant.contains(&(i + 1)))
                    .map(|(_, n)| n.clone())
                    .collect();
                if names.is_empty() {
                    raise_code(
                        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                        "every feature is constant",
                    );
                }
                beta = vec![0.0; names.len() + 1];
                iteration = 0;
                continue;
            }
        }
        match advance(&step, &beta, l2, iteration, previous).or_raise() {
            Next::Step(next) => {
                previous = Some(step.objective(&beta, l2));
                beta = next;
            }
            Next::Done(f) => break f,
        }
    };
    if !fit.unidentified.is_empty() {
        let which: Vec<&str> = fit
            .unidentified
            .iter()
            .map(|&j| {
                if j == 0 {
                    "(intercept)"
                } else {
                    names[j - 1].as_str()
                }
            })
            .collect();
        pgrx::warning!(
            "logistic_regression: standard errors above {} per feature range, or copies of other features, for {}: the outcome separates on them (or they copy other features); pass l2 > 0 for a finite, stable fit",
            lead_score_core::logistic::MAX_STANDARD_ERROR,
            which.join(", ")
        );
    }
    let rows: Vec<_> = (0..fit.coefficients.len())
        .map(|j| {
            let z = fit.z[j];
            (
                if j == 0 {
                    "(intercept)".to_string()
                } else {
                    names[j - 1].clone()
                },
                fit.coefficients[j],
                fit.standard_errors[j],
                z,
                stats::two_sided_p_value(z),
                fit.log_likelihood,
                fit.iterations as i32,
                fit.converged,
            )
        })
        .collect();
    TableIterator::new(rows)
}

/// The outcome mapping's column names: `lead_key` (default `lead_id`), `won`
/// (default `won`) and `closed_at` (optional) of the outcome source, and
/// `lead_created_at` (optional) of the leads table.
fn outcome_columns(
    mapping: &serde_json::Value,
) -> (String, String, Option<String>, Option<String>) {
    let get = |k: &str| mapping.get(k).and_then(|v| v.as_str()).map(str::to_string);
    (
        get("lead_key").unwrap_or_else(|| "lead_id".into()),
        get("won").unwrap_or_else(|| "won".into()),
        get("closed_at"),
        get("lead_created_at"),
    )
}

/// The leads table of an attachment, as the caller sees the catalog.
fn leads_of(attachment: &str) -> pg_sys::Oid {
    Spi::get_one_with_args::<pg_sys::Oid>(
        "SELECT a.leads::oid FROM lead_score.attachments a WHERE a.name = $1",
        &[attachment.into()],
    )
    .or_raise()
    .unwrap_or(pg_sys::InvalidOid)
}

/// `_outcome_check(attachment, source, mapping)`: raises unless the mapping
/// names only known keys and columns of `source` that exist.
#[pg_extern(
    name = "_outcome_check",
    schema = "lead_score_internal",
    stable,
    strict,
    parallel_unsafe
)]
fn outcome_check(attachment: &str, source: pg_sys::Oid, mapping: pgrx::JsonB) {
    if let Some(obj) = mapping.0.as_object() {
        for (k, v) in obj {
            if !matches!(
                k.as_str(),
                "lead_key" | "won" | "closed_at" | "lead_created_at"
            ) {
                raise_code(
                    PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                    format!(
                        "mapping.{k}: unknown key (expected lead_key, won, closed_at, lead_created_at, each naming a column)"
                    ),
                );
            }
            if !v.is_string() {
                raise_code(
                    PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                    format!("mapping.{k}: must be a column name (a JSON string), got {v}"),
                );
            }
        }
    } else {
        raise_code(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "mapping: expected an object",
        );
    }
    let att = crate::attach::load(attachment, false);
    let Some((qualified, _)) = crate::attach::relation(source) else {
        raise_code(
            PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE,
            format!("relation with OID {} does not exist", source.to_u32()),
        );
    };
    let have = columns(source);
    let (key, won, closed, created) = outcome_columns(&mapping.0);
    if let Some(created) = created {
        let leads = leads_of(attachment);
        if !columns(leads).contains(&created) {
            raise_code(
                PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
                format!("mapping.lead_created_at: the leads table has no column \"{created}\""),
            );
        }
        // The evaluations read it as a time.
        let ty = base_type(leads, &created);
        if !matches!(
            ty.as_str(),
            "timestamp with time zone" | "timestamp without time zone" | "date"
        ) {
            raise_code(
                PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
                format!("mapping.lead_created_at: column \"{created}\" of the leads table is {ty}, not a timestamp or date"),
            );
        }
    }
    for (what, name) in [
        ("lead_key", Some(key)),
        ("won", Some(won)),
        ("closed_at", closed),
    ] {
        if let Some(name) = name {
            if !have.contains(&name) {
                raise_code(
                    PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
                    format!(
                        "mapping.{what}: column \"{name}\" of {} does not exist",
                        qualified.to_sql()
                    ),
                );
            }
            if what == "lead_key" {
                check_key_cast(&att, source, &name, &qualified.to_sql());
                continue;
            }
            // The evaluations read won as a boolean and closed_at as a time.
            let wanted: &[&str] = match what {
                "won" => &["boolean"],
                "closed_at" => &[
                    "timestamp with time zone",
                    "timestamp without time zone",
                    "date",
                ],
                _ => continue,
            };
            let ty = base_type(source, &name);
            if !wanted.contains(&ty.as_str()) {
                raise_code(
                    PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
                    format!(
                        "mapping.{what}: column \"{name}\" of {} is {ty}, not {}",
                        qualified.to_sql(),
                        if what == "won" {
                            "boolean"
                        } else {
                            "a timestamp or date"
                        }
                    ),
                );
            }
        }
    }
}

/// The evaluations join outcomes to leads by casting the outcome key to the
/// lead key's type (`Outcomes::per_lead`): refused here, naming the mapping,
/// when no cast exists (a uuid key for integer leads failed at the first
/// evaluation, with the generated query in the message).
fn check_key_cast(
    att: &lead_score_core::sqlgen::attach::Attachment,
    source: pg_sys::Oid,
    column: &str,
    table: &str,
) {
    let type_of = |rel: pg_sys::Oid, col: &str| {
        Spi::get_one_with_args::<pg_sys::Oid>(
            "SELECT a.atttypid FROM pg_catalog.pg_attribute a \
             WHERE a.attrelid = $1 AND a.attname = $2::pg_catalog.name AND NOT a.attisdropped",
            &[rel.into(), col.into()],
        )
        .or_raise()
        .unwrap_or(pg_sys::InvalidOid)
    };
    let from = type_of(source, column);
    let to = type_of(leads_of(&att.name), &att.lead_key.name);
    // SAFETY: a catalog lookup of a coercion path between two type OIDs read
    // from pg_attribute just now; the arrays hold one element each.
    let castable = unsafe {
        pg_sys::can_coerce_type(1, &from, &to, pg_sys::CoercionContext::COERCION_EXPLICIT)
    };
    if !castable {
        let name = |t: pg_sys::Oid| {
            Spi::get_one_with_args::<String>("SELECT pg_catalog.format_type($1, NULL)", &[t.into()])
                .or_raise()
                .unwrap_or_default()
        };
        raise_code(
            PgSqlErrorCode::ERRCODE_CANNOT_COERCE,
            format!(
                "mapping.lead_key: column \"{column}\" of {table} is {}, which does not cast to the lead key's type, {}",
                name(from),
                name(to)
            ),
        );
    }
}

/// An attachment and where its outcomes are; raises if none are linked.
fn outcomes_of(
    attachment: &str,
) -> (
    lead_score_core::sqlgen::attach::Attachment,
    lead_score_core::sqlgen::learn::Outcomes,
) {
    let att = crate::attach::load(attachment, false);
    let link: Option<(Option<pg_sys::Oid>, Option<pgrx::JsonB>)> = Spi::connect(|client| {
        let t = client.select(
            "SELECT l.source::oid, l.mapping FROM lead_score.outcome_links l WHERE l.attachment = $1",
            Some(1),
            &[attachment.into()],
        )?;
        if t.is_empty() {
            return Ok::<_, pgrx::spi::Error>(None);
        }
        let row = t.first();
        Ok(Some((row.get(1)?, row.get(2)?)))
    })
    .or_raise();
    let Some((Some(source), Some(mapping))) = link else {
        raise_code(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("lead_score attachment \"{attachment}\" has no outcomes; link them with lead_score.link_outcomes"),
        );
    };
    let Some((qualified, _)) = crate::attach::relation(source) else {
        raise_code(
            PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE,
            format!("the outcome table of attachment \"{attachment}\" no longer exists"),
        );
    };
    let (lead_key, won, closed_at, lead_created_at) = outcome_columns(&mapping.0);
    // A unique index on the key column alone (not partial), of the lead key's
    // own type: one row per lead. (Of another type, two keys may be one lead
    // once cast: text '1' and '01' are both integer 1.)
    let unique_key = Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a              ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]          WHERE i.indrelid = $1 AND i.indisunique AND i.indnkeyatts = 1 AND i.indpred IS NULL            AND i.indexprs IS NULL AND a.attname = $2 AND a.atttypid = $3::pg_catalog.regtype)",
        &[
            source.into(),
            lead_key.as_str().into(),
            att.key_type.to_sql().as_str().into(),
        ],
    )
    .or_raise()
    .unwrap_or(false);
    let outcomes = lead_score_core::sqlgen::learn::Outcomes {
        source: qualified,
        lead_key,
        won,
        closed_at,
        lead_created_at,
        unique_key,
    };
    (att, outcomes)
}

/// `_evaluation_sql(attachment, per_lead)`: the query of `evaluation_rows`
/// over the attachment's linked outcomes: with a fixed cut-off ($1 model, $2
/// cut-off), or with each lead's creation plus days ($1 model, $2 days, $3
/// model id, $4 version).
#[pg_extern(
    name = "_evaluation_sql",
    schema = "lead_score_internal",
    stable,
    strict,
    parallel_restricted
)]
fn evaluation_sql(attachment: &str, per_lead: bool) -> String {
    let (att, outcomes) = outcomes_of(attachment);
    if !per_lead {
        return crate::layout::for_catalog(&att.evaluation_rows(&outcomes)).into_owned();
    }
    let Some(created) = outcomes.lead_created_at.clone() else {
        raise_code(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("a cut-off after creation needs the leads' creation time: link_outcomes('{attachment}', …) with \"lead_created_at\" in the mapping"),
        );
    };
    crate::layout::for_catalog(&att.evaluation_rows_per_lead(&outcomes, &created)).into_owned()
}

/// `_backtest_sql(attachment, versions)`: the one-pass query of `backtest`
/// at a fixed cut-off for that many versions ($1 their `name@N` names, $2
/// the cut-off); see `Attachment::backtest_arrays`.
#[pg_extern(
    name = "_backtest_sql",
    schema = "lead_score_internal",
    stable,
    strict,
    parallel_restricted
)]
fn backtest_sql(attachment: &str, versions: i32) -> String {
    if !(1..=64).contains(&versions) {
        raise_code(
            PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!("a backtest compares 1 to 64 versions, got {versions}"),
        );
    }
    let (att, outcomes) = outcomes_of(attachment);
    crate::layout::for_catalog(&att.backtest_arrays(&outcomes, versions as usize)).into_owned()
}

/// `_version_column(totals, i, n)`: column `i` (1-based) of a lead × `n`
/// versions float8[][] as a float8[], in lead order.
#[pg_extern(
    name = "_version_column",
    schema = "lead_score_internal",
    immutable,
    strict,
    parallel_safe
)]
fn version_column(totals: pgrx::Array<f64>, i: i32, n: i32) -> Vec<Option<f64>> {
    let flat: Vec<Option<f64>> = totals.iter().collect();
    if n < 1 || i < 1 || i > n || !flat.len().is_multiple_of(n as usize) {
        raise_code(
            PgSqlErrorCode::ERRCODE_ARRAY_ELEMENT_ERROR,
            format!(
                "no column {i} of {n} in an array of {} elements",
                flat.len()
            ),
        );
    }
    // A 2-D array flattens row-major: lead j's version i is at j × n + i − 1.
    flat.iter()
        .skip(i as usize - 1)
        .step_by(n as usize)
        .copied()
        .collect()
}

/// `_suggest_points(attachment, fields, max_points, max_rules, l2, event_types)`:
/// fits the attachment's linked outcomes on the named lead fields (and the
/// decayed events of each named event type) and stores the suggested rules as
/// a draft version of its model (not current), with the fitted logistic model
/// as its `predictive` section and the current version's classification and
/// alerts (and engagement rules, unless event types are named). Returns the
/// rules with the draft's version.
#[pg_extern(
    name = "_suggest_points",
    schema = "lead_score_internal",
    volatile,
    parallel_unsafe
)]
fn suggest_points(
    attachment: Option<&str>,
    fields: Option<Vec<Option<String>>>,
    max_points: Option<i32>,
    max_rules: Option<i32>,
    l2: Option<f64>,
    event_types: Option<Vec<Option<String>>>,
) -> TableIterator<
    'static,
    (
        name!(version, i32),
        name!(rule, String),
        name!(condition, pgrx::JsonB),
        name!(points, i64),
        name!(coefficient, f64),
    ),
> {
    use crate::errors::{no_null_elements, not_null};
    use lead_score_core::suggest::{self, Column};
    let attachment = not_null(attachment, "attachment");
    let fields = no_null_elements(not_null(fields, "fields"), "fields");
    let max_points = not_null(max_points, "max_points");
    let l2 = not_null(l2, "l2");
    let event_types = event_types.map(|e| no_null_elements(e, "event_types"));
    if fields.is_empty() {
        raise_code(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "fields must name at least one column of the leads table",
        );
    }
    if max_rules.is_some_and(|k| k < 1) {
        raise_code(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "max_rules must be at least 1",
        );
    }
    let (att, outcomes) = outcomes_of(attachment);
    // Each field's kind, from its type's category.
    let kinds: Vec<Option<String>> = Spi::connect(|client| {
        fields
            .iter()
            .map(|f| {
                client
                    .select(
                        "SELECT t.typcategory::text FROM pg_catalog.pg_attribute a \
                         JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
                         WHERE a.attrelid = $1 AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
                        Some(1),
                        &[leads_of(attachment).into(), f.as_str().into()],
                    )
                    .and_then(|t| {
                        if t.is_empty() {
                            Ok(None)
                        } else {
                            t.first().get::<String>(1)
                        }
                    })
            })
            .collect::<Result<Vec<_>, _>>()
    })
    .or_raise();
    for (f, k) in fields.iter().zip(&kinds) {
        if k.is_none() {
            raise_code(
                PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
                format!("the leads table of attachment \"{attachment}\" has no column \"{f}\""),
            );
        }
    }
    // The current spec: the draft keeps all but its fit rules.
    let spec: pgrx::JsonB = Spi::get_one_with_args(
        "SELECT lead_score.model_spec($1)",
        &[att.model.as_str().into()],
    )
    .or_raise()
    .unwrap_or_else(|| {
        raise_code(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("lead_score model \"{}\" does not exist", att.model),
        )
    });
    let mut spec = spec.0;
    let events: Vec<String> = event_types.clone().unwrap_or_default();
    if let Some(e) = events.iter().find(|e| e.trim().is_empty()) {
        raise_code(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("event_types must not contain an empty name: {e:?}"),
        );
    }
    suggest::check_arguments(&fields, &events, f64::from(max_points)).or_raise();
    let decay = lead_score_core::Model::from_json(&spec)
        .or_raise()
        .engagement
        .default_decay;
    // The leads with outcomes, their fields as text, and their decayed events.
    let query = att.design_query(&outcomes, &fields, &events, decay);
    let mut won: Vec<bool> = Vec::new();
    let mut texts: Vec<Vec<Option<String>>> = vec![Vec::new(); fields.len()];
    let mut decayed: Vec<Vec<f64>> = vec![Vec::new(); events.len()];
    // The fields' text as the engine reads them, whatever the session's
    // DateStyle, TimeZone, IntervalStyle or extra_float_digits: the rules
    // learned from it are the conditions the draft then scores with.
    crate::stable_text::pinned(|| {
        Spi::connect(|client| {
            for row in client.select(crate::layout::for_catalog(&query).as_ref(), None, &[])? {
                won.push(row.get::<bool>(1)?.unwrap_or(false));
                for (j, col) in texts.iter_mut().enumerate() {
                    col.push(row.get::<String>(j + 2)?);
                }
                for (j, col) in decayed.iter_mut().enumerate() {
                    col.push(row.get::<f64>(fields.len() + j + 2)?.unwrap_or(0.0));
                }
            }
            Ok::<_, pgrx::spi::Error>(())
        })
    })
    .or_raise();
    let columns: Vec<(String, Column)> = fields
        .iter()
        .zip(kinds.iter().zip(texts))
        .map(|(f, (kind, values))| {
            let column = match kind.as_deref() {
                Some("N") => Column::Number(
                    values
                        .iter()
                        .map(|v| v.as_deref().and_then(|s| s.parse::<f64>().ok()))
                        .collect(),
                ),
                Some("B") => Column::Bool(
                    values
                        .iter()
                        .map(|v| v.as_deref().map(|s| s == "true"))
                        .collect(),
                ),
                _ => Column::Text(values),
            };
            (f.clone(), column)
        })
        .collect();
    let missing: Vec<String> = spec
        .pointer("/fit/missing_values")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut features = suggest::features(&columns, &missing);
    features.extend(suggest::event_features(
        events.iter().cloned().zip(decayed).collect(),
    ));
    let suggestion = suggest::suggest(
        &features,
        &won,
        f64::from(max_points),
        max_rules.map(|k| k as usize),
        l2,
    )
    .or_raise();
    let advice = if l2 > 0.0 {
        "a larger l2 steadies it"
    } else {
        "pass l2 > 0 for a finite, stable fit"
    };
    if !suggestion.unidentified.is_empty() {
        pgrx::warning!(
            "suggest_points: the weights of {} are not identified: the outcome separates on them, or they copy other features; {advice}",
            suggestion.unidentified.join(", ")
        );
    } else if !suggestion.converged {
        pgrx::warning!("suggest_points: the fit did not converge; {advice}");
    }
    let rules = suggestion.rules();
    let mut fit = serde_json::json!({"rules": suggest::fit_rules(&rules)});
    if !missing.is_empty() {
        fit["missing_values"] = serde_json::json!(missing);
    }
    spec["fit"] = fit;
    if event_types.is_some() {
        // The learned engagement rules replace the current ones, and so does
        // what referred to those: categories and their caps.
        spec["engagement"]["rules"] = suggest::engagement_rules(&rules);
        if let Some(e) = spec["engagement"].as_object_mut() {
            e.remove("categories");
        }
    }
    spec["predictive"] = suggestion.predictive();
    // Refuse a draft the engine would not run.
    let draft = lead_score_core::Model::from_json(&spec).or_raise();
    // The model is attached (the outcomes are the attachment's): say now if
    // publishing the draft would be refused, as create_model would (0A000).
    // Learned engagement rules take the model's default decay, uncapped, so
    // a window decay makes the draft one live scores cannot keep.
    let unpublishable = lead_score_core::live::check_attachable(&draft).err();
    let note = format!(
        "suggested points: {} rules from {}{} on {} leads, max {} points{}",
        rules.len(),
        fields.join(", "),
        if events.is_empty() {
            String::new()
        } else {
            format!(" and events {}", events.join(", "))
        },
        won.len(),
        max_points,
        max_rules.map_or(String::new(), |k| format!(", at most {k} rules"))
    );
    // Serialize with publishers of the model (create_model locks this row too).
    Spi::run_with_args(
        "SELECT 1 FROM lead_score.models m WHERE m.name = $1 FOR UPDATE",
        &[att.model.as_str().into()],
    )
    .or_raise();
    let version: i32 = Spi::get_one_with_args(
        "INSERT INTO lead_score.model_versions (model_id, version, spec, note) \
         SELECT m.id, (SELECT max(v.version) + 1 FROM lead_score.model_versions v WHERE v.model_id = m.id), $2, $3 \
         FROM lead_score.models m WHERE m.name = $1 RETURNING version",
        &[
            att.model.as_str().into(),
            pgrx::JsonB(spec).into(),
            note.as_str().into(),
        ],
    )
    .or_raise()
    .unwrap_or(0);
    if let Some(e) = unpublishable {
        pgrx::warning!(
            "suggest_points: draft version {version} of model \"{}\" cannot be published while it is attached as \"{attachment}\": {e}",
            att.model
        );
    }
    TableIterator::new(
        rules
            .into_iter()
            .map(move |r| {
                let condition = match r.event {
                    Some(e) => serde_json::json!({"event": e}),
                    None => r.condition,
                };
                (
                    version,
                    r.name,
                    pgrx::JsonB(condition),
                    r.points,
                    r.coefficient,
                )
            })
            .collect::<Vec<_>>(),
    )
}

/// `_platt(scores, converted)`: each score as a probability, through the
/// logistic curve fitted to these scores and outcomes (Platt scaling), so a
/// rule score's calibration can be measured.
#[pg_extern(
    name = "_platt",
    schema = "lead_score_internal",
    immutable,
    strict,
    parallel_safe
)]
fn platt(scores: Vec<Option<f64>>, converted: Vec<Option<bool>>) -> Vec<Option<f64>> {
    let leads = scored(&scores, &converted);
    // As every evaluation says it (evaluate_calibration of no leads named the
    // internal fit).
    let positives = leads.iter().filter(|l| l.positive).count();
    if positives == 0 || positives == leads.len() {
        raise_code(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "evaluation needs converted and unconverted leads, got {positives} converted and {} not",
                leads.len() - positives
            ),
        );
    }
    let rows: Vec<(Vec<f64>, bool)> = leads.iter().map(|l| (vec![l.score], l.positive)).collect();
    let fit = lead_score_core::logistic::fit(&rows, 0.0).or_raise();
    // A constant score is dropped by the fit: every lead gets the base rate.
    let slope = if fit.features.is_empty() {
        0.0
    } else {
        fit.coefficients[1]
    };
    scores
        .iter()
        .zip(&converted)
        .map(|(s, c)| match (s, c) {
            (Some(s), Some(_)) => Some(lead_score_core::logistic::predict(
                &[fit.coefficients[0], slope],
                &[*s],
            )),
            _ => None,
        })
        .collect()
}
