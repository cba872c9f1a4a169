//! Reads the model's fit fields out of any composite row, by column name.

use crate::errors::raise_code;
use lead_score_core::{FitModel, Value};
use pgrx::prelude::*;
use pgrx::{PgMemoryContexts, PgSqlErrorCode};
use std::ffi::CStr;

#[derive(Clone, Copy)]
enum Kind {
    Text,
    BpChar,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Numeric,
    Bool,
    /// Any other type is read through its output function.
    Other(pg_sys::Oid),
    /// A built-in type whose text depends on session settings (a date, a
    /// time, an interval): through its output function with them pinned
    /// (src/stable_text.rs), so every session reads the same text.
    Pinned(pg_sys::Oid),
}

/// The mapping from a row type to a model's fit fields, rebuilt when either changes.
pub struct RowMapping {
    typid: pg_sys::Oid,
    typmod: i32,
    model_key: (i64, i32),
    /// ALTER TABLE in the same transaction changes the descriptor under the same type id.
    command_id: u32,
    tupdesc: pg_sys::TupleDesc,
    /// Per fit field: attribute index and how to read it.
    columns: Vec<(usize, Kind)>,
    /// The settings the `Kind::Pinned` fields' text depends on (a mask).
    settings: u8,
    datums: Vec<pg_sys::Datum>,
    nulls: Vec<bool>,
    scratch: Vec<String>,
}

fn kind_of(typid: pg_sys::Oid) -> Kind {
    // SAFETY: a syscache lookup; it raises for an unknown type.
    let base = unsafe { pg_sys::getBaseType(typid) };
    match base {
        pg_sys::TEXTOID | pg_sys::VARCHAROID | pg_sys::NAMEOID => {
            if base == pg_sys::NAMEOID {
                Kind::Other(output_fn(base))
            } else {
                Kind::Text
            }
        }
        pg_sys::BPCHAROID => Kind::BpChar,
        pg_sys::INT2OID => Kind::Int2,
        pg_sys::INT4OID => Kind::Int4,
        pg_sys::INT8OID => Kind::Int8,
        pg_sys::FLOAT4OID => Kind::Float4,
        pg_sys::FLOAT8OID => Kind::Float8,
        pg_sys::NUMERICOID => Kind::Numeric,
        pg_sys::BOOLOID => Kind::Bool,
        other if crate::stable_text::depends_on_settings(other) => Kind::Pinned(output_fn(other)),
        other => Kind::Other(output_fn(other)),
    }
}

/// The SQL name of a type, as format_type_be writes it.
pub(crate) fn type_name(typid: pg_sys::Oid) -> String {
    // SAFETY: format_type_be returns a palloc'd NUL-terminated string for any
    // type oid (or raises).
    unsafe { CStr::from_ptr(pg_sys::format_type_be(typid)) }
        .to_string_lossy()
        .into_owned()
}

/// Whether the live-score triggers read a value of this type: one whose
/// output runs no code another role wrote. A built-in type, an enum (whose
/// output function is built in), a domain over one of those (read as its
/// base type: no domain check runs on output), or an array of any of them
/// (`array_out` calls its element's output).
pub(crate) fn trigger_readable(typid: pg_sys::Oid) -> bool {
    // SAFETY: syscache lookups, which raise for an unknown type.
    let (base, typtype, element) = unsafe {
        let base = pg_sys::getBaseType(typid);
        (
            base,
            pg_sys::get_typtype(base) as u8,
            pg_sys::get_element_type(base),
        )
    };
    if typtype == b'e' {
        return true;
    }
    if element != pg_sys::InvalidOid {
        return trigger_readable(element);
    }
    base.to_u32() < pg_sys::FirstNormalObjectId
}

/// Inside a SECURITY DEFINER function (a live-score trigger), reading a value
/// must not run code another role wrote: only the types of
/// [`trigger_readable`] are read there.
fn refuse_foreign_type_as_definer(typid: pg_sys::Oid, field: &str) {
    // SAFETY: reads of the backend's current and outer user ids.
    let allowed =
        trigger_readable(typid) || unsafe { pg_sys::GetUserId() == pg_sys::GetOuterUserId() };
    if allowed {
        return;
    }
    let type_name = type_name(typid);
    ereport!(
        ERROR,
        PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        format!("lead_score: fit field \"{field}\" has type {type_name}, which live scores do not read"),
        "Live-score triggers run with their owner's rights, so they only read built-in types, enums, domains over them and arrays of those; map the field to a column of such a type."
    );
}

fn output_fn(typid: pg_sys::Oid) -> pg_sys::Oid {
    let mut func = pg_sys::InvalidOid;
    let mut is_varlena = false;
    // SAFETY: a syscache lookup, which raises for an unknown type; it only
    // writes the two locals.
    unsafe { pg_sys::getTypeOutputInfo(typid, &mut func, &mut is_varlena) };
    func
}

impl RowMapping {
    /// # Safety
    /// `header` must be a detoasted composite datum; `mcxt` must outlive the mapping.
    unsafe fn build(
        header: pg_sys::HeapTupleHeader,
        model_key: (i64, i32),
        model_name: &str,
        fit: &FitModel,
        mcxt: pg_sys::MemoryContext,
    ) -> RowMapping {
        // SAFETY: the caller guarantees `header` is a detoasted composite datum,
        // whose header holds its row type.
        let (typid, typmod) = unsafe {
            (
                pgrx::heap_tuple_header_get_type_id(header),
                pgrx::heap_tuple_header_get_typmod(header),
            )
        };
        // SAFETY: lookup_rowtype_tupdesc returns the row type's descriptor,
        // pinned (or raises); it is copied into `mcxt`, which the caller
        // guarantees outlives the mapping, then released as ReleaseTupleDesc
        // does: only reference-counted descriptors are (a blessed record type's,
        // as in a parallel worker, is not).
        let tupdesc = unsafe {
            let shared = pg_sys::lookup_rowtype_tupdesc(typid, typmod);
            let tupdesc =
                // With its constraints: a column added with a default since a
                // tuple was written reads its default from them (a stored row
                // passed as itself, as a trigger's OLD is, has no such
                // attribute; without them it read as NULL).
                PgMemoryContexts::For(mcxt)
                    .switch_to(|_| pg_sys::CreateTupleDescCopyConstr(shared));
            if (*shared).tdrefcount >= 0 {
                pg_sys::DecrTupleDescRefCount(shared);
            }
            tupdesc
        };
        // SAFETY: `tupdesc` is the valid copy made above, with `natts` attributes,
        // and lives in `mcxt` as long as the mapping.
        let attrs = unsafe { (*tupdesc).attrs.as_slice((*tupdesc).natts as usize) };
        let natts = attrs.len();
        let mut columns = Vec::with_capacity(fit.fields.len());
        for field in &fit.fields {
            let found = attrs.iter().position(|a| {
                // SAFETY: the name of an attribute of a valid descriptor is a
                // NUL-terminated NameData.
                !a.attisdropped
                    && unsafe { CStr::from_ptr(a.attname.data.as_ptr()) }.to_bytes()
                        == field.as_bytes()
            });
            match found {
                Some(i) => {
                    refuse_foreign_type_as_definer(attrs[i].atttypid, field);
                    columns.push((i, kind_of(attrs[i].atttypid)))
                }
                None => {
                    let type_name = type_name(typid);
                    raise_code(
                        PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
                        format!(
                            "lead_score model \"{model_name}\" reads fit field \"{field}\", which is not a column of {type_name}"
                        ),
                    )
                }
            }
        }
        let settings = crate::stable_text::settings_mask(
            columns
                .iter()
                .filter(|(_, kind)| matches!(kind, Kind::Pinned(_)))
                .map(|&(i, _)| attrs[i].atttypid),
        );
        RowMapping {
            typid,
            typmod,
            model_key,
            command_id: crate::fncache::command_id(),
            tupdesc,
            columns,
            settings,
            datums: vec![pg_sys::Datum::from(0usize); natts],
            nulls: vec![true; natts],
            scratch: vec![String::new(); fit.fields.len()],
        }
    }

    /// Returns a mapping valid for this row and model, reusing `slot` when it still is.
    ///
    /// # Safety
    /// As for `build`.
    pub unsafe fn for_row<'s>(
        slot: &'s mut Option<RowMapping>,
        header: pg_sys::HeapTupleHeader,
        model_key: (i64, i32),
        model_name: &str,
        fit: &FitModel,
        mcxt: pg_sys::MemoryContext,
    ) -> &'s mut RowMapping {
        // SAFETY: the caller guarantees `header` is a detoasted composite datum,
        // whose header holds its row type.
        let (typid, typmod) = unsafe {
            (
                pgrx::heap_tuple_header_get_type_id(header),
                pgrx::heap_tuple_header_get_typmod(header),
            )
        };
        let stale = match slot {
            Some(m) => {
                m.typid != typid
                    || m.typmod != typmod
                    || m.model_key != model_key
                    || m.command_id != crate::fncache::command_id()
            }
            None => true,
        };
        if stale {
            // SAFETY: the caller's guarantees are `build`'s.
            let new = unsafe { RowMapping::build(header, model_key, model_name, fit, mcxt) };
            if let Some(old) = slot.replace(new) {
                // SAFETY: the replaced mapping's descriptor is its own copy
                // (made by `build` in the same `mcxt`, which is still alive:
                // the slot lives in it), referenced by nothing else once the
                // mapping is gone. Freed here, not in a Drop, which could run
                // from `mcxt`'s own deletion. Without this, a call site whose
                // command id moves on every call (a plpgsql loop that writes)
                // kept every copy until its context went.
                unsafe { pg_sys::FreeTupleDesc(old.tupdesc) };
            }
        }
        match slot {
            Some(m) => m,
            None => unreachable!("just built"),
        }
    }

    /// Writes the text of each deformed non-null value of the columns `output`
    /// gives an output function for into its scratch string (emptied first).
    fn write_texts(&mut self, output: impl Fn(Kind) -> Option<pg_sys::Oid>) {
        for (slot, &(att, kind)) in self.columns.iter().enumerate() {
            let Some(func) = output(kind) else { continue };
            self.scratch[slot].clear();
            if !self.nulls[att] {
                // SAFETY: `func` is the output function of the attribute's
                // type and the datum a non-null value of it (deformed by
                // `read`); it returns a palloc'd NUL-terminated string.
                let text = unsafe {
                    CStr::from_ptr(pg_sys::OidOutputFunctionCall(func, self.datums[att]))
                };
                self.scratch[slot].push_str(&text.to_string_lossy());
            }
        }
    }

    /// Deforms the row and fills `out` (one entry per fit field) with normalized values.
    ///
    /// # Safety
    /// `header` must match this mapping's row type and stay valid while `out` is used.
    pub unsafe fn read<'a>(
        &'a mut self,
        header: pg_sys::HeapTupleHeader,
        fit: &FitModel,
        out: &mut [Value<'a>],
    ) {
        // SAFETY: HeapTupleData is plain data, for which all zeroes is valid.
        let mut tuple: pg_sys::HeapTupleData = unsafe { std::mem::zeroed() };
        // SAFETY: the caller guarantees `header` is a valid composite of this
        // mapping's row type: its varlena size is the tuple's length, and
        // `tupdesc` describes it; `datums` and `nulls` hold one entry per
        // attribute of `tupdesc`.
        unsafe {
            tuple.t_len = pgrx::varsize(header as *const pg_sys::varlena) as u32;
            tuple.t_data = header;
            pg_sys::heap_deform_tuple(
                &mut tuple,
                self.tupdesc,
                self.datums.as_mut_ptr(),
                self.nulls.as_mut_ptr(),
            );
        }
        // Types read through their output function need owned text first:
        // numeric keeps PostgreSQL's text too (its scale: 100.50), for the
        // string operators; types whose text depends on session settings are
        // written with those pinned, all in one scope.
        self.write_texts(|kind| match kind {
            Kind::Other(func) => Some(func),
            Kind::Numeric => Some(pg_sys::Oid::from(pg_sys::F_NUMERIC_OUT)),
            _ => None,
        });
        let pinned = self
            .columns
            .iter()
            .any(|&(att, kind)| matches!(kind, Kind::Pinned(_)) && !self.nulls[att]);
        if pinned {
            crate::stable_text::pinned_to(self.settings, || {
                self.write_texts(|kind| match kind {
                    Kind::Pinned(func) => Some(func),
                    _ => None,
                })
            });
        }
        let this: &'a RowMapping = self;
        for (slot, &(att, kind)) in this.columns.iter().enumerate() {
            let value = if this.nulls[att] {
                Value::Null
            } else {
                let d = this.datums[att];
                match kind {
                    Kind::Text | Kind::BpChar => {
                        // SAFETY: a non-null text, varchar or bpchar datum of the
                        // row, valid while the row is (the caller's guarantee);
                        // detoasted into the current memory context if needed.
                        let bytes = unsafe {
                            let p = pg_sys::pg_detoast_datum_packed(d.cast_mut_ptr());
                            pgrx::varlena::varlena_to_byte_slice(p)
                        };
                        match std::str::from_utf8(bytes) {
                            Ok(s) if matches!(kind, Kind::BpChar) => {
                                Value::Text(s.trim_end_matches(' '))
                            }
                            Ok(s) => Value::Text(s),
                            Err(_) => Value::Null,
                        }
                    }
                    Kind::Int2 => Value::Int(i64::from(d.value() as i16)),
                    Kind::Int4 => Value::Int(i64::from(d.value() as i32)),
                    Kind::Int8 => Value::Int(d.value() as i64),
                    Kind::Float4 => Value::Real(f32::from_bits(d.value() as u32)),
                    Kind::Float8 => Value::Num(f64::from_bits(d.value() as u64)),
                    Kind::Numeric => {
                        // SAFETY: a non-null numeric datum; the function takes
                        // one numeric and returns a float8.
                        let f = unsafe {
                            pgrx::direct_function_call::<f64>(
                                pg_sys::numeric_float8_no_overflow,
                                &[Some(d)],
                            )
                        };
                        match f {
                            Some(f) => Value::Decimal(f, this.scratch[slot].as_str()),
                            None => Value::Null,
                        }
                    }
                    Kind::Bool => Value::Bool(d.value() != 0),
                    Kind::Other(_) | Kind::Pinned(_) => Value::Text(this.scratch[slot].as_str()),
                }
            };
            out[slot] = fit.normalize(value);
        }
    }
}
