//! The activity INSERT trigger of a deferred attachment: appends the statement's
//! events to the attachment's pending table.
//!
//! It is on the hot path of every insert, so it is a C trigger that copies the
//! transition table's rows straight into the pending heap: no plpgsql, no SPI
//! and no executor per statement (SPI runs once per backend and trigger, to find
//! the columns). Writing through the heap is also why it needs no SECURITY
//! DEFINER: it checks that it fires as the trigger `attach` installed, on the
//! attachment's own activity table, so no one can point it anywhere else.

use crate::catalog::query_row;
use crate::errors::raise_code;
use crate::v1_info;
use pgrx::prelude::*;
use pgrx::{IntoDatum, PgSqlErrorCode};
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::CStr;

/// Pending rows written per heap_multi_insert call.
const INSERT_BATCH: usize = 1000;

/// Where a trigger's events go and where they come from.
#[derive(Clone)]
struct Target {
    pending: pg_sys::Oid,
    /// Attribute number, type and name in the activity table of the lead key,
    /// event type, time and properties, in the pending table's column order.
    columns: Vec<(i16, pg_sys::Oid, std::ffi::CString)>,
}

thread_local! {
    static TARGETS: RefCell<HashMap<pg_sys::Oid, Target>> = RefCell::new(HashMap::new());
}

/// The attachment's activity table and its mapped columns as "attnum:type"
/// pairs, in pending-column order.
const TARGET_SQL: &CStr = c"SELECT a.activities::oid::text, \
      (SELECT string_agg(t.attnum::text || ':' || t.atttypid::oid::text, ',' ORDER BY c.ord) \
       FROM unnest(ARRAY[a.mapping ->> 'activity_lead_key', a.mapping ->> 'event_type', a.mapping ->> 'occurred_at'] \
                   || ARRAY(SELECT jsonb_array_elements_text(a.mapping -> 'property_columns'))) WITH ORDINALITY AS c(col, ord) \
       JOIN pg_catalog.pg_attribute t ON t.attrelid = a.activities AND t.attname = c.col AND NOT t.attisdropped), \
      jsonb_array_length(a.mapping -> 'property_columns')::text \
    FROM lead_score.attachments a WHERE a.name = $1 AND a.mode = 'deferred'";

fn misuse(message: String) -> ! {
    raise_code(
        PgSqlErrorCode::ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
        message,
    )
}

unsafe fn attribute(
    desc: pg_sys::TupleDesc,
    attnum: i16,
) -> Option<&'static pg_sys::FormData_pg_attribute> {
    unsafe {
        let natts = (*desc).natts as usize;
        let i = usize::try_from(attnum).ok()?.checked_sub(1)?;
        (i < natts).then(|| &(*desc).attrs.as_slice(natts)[i])
    }
}

unsafe fn attribute_name(att: &pg_sys::FormData_pg_attribute) -> &CStr {
    unsafe { CStr::from_ptr(att.attname.data.as_ptr()) }
}

/// Looks the trigger's attachment up and checks the trigger is the one attach installed.
unsafe fn find_target(td: *const pg_sys::TriggerData) -> Target {
    unsafe {
        let trigger = (*td).tg_trigger;
        if (*trigger).tgnargs != 1 {
            misuse(
                "lead_score._append_pending takes the attachment name as its only argument".into(),
            );
        }
        let name = CStr::from_ptr(*(*trigger).tgargs)
            .to_string_lossy()
            .into_owned();
        let tgname = CStr::from_ptr((*trigger).tgname).to_string_lossy();
        // PostgreSQL truncated the name attach gave the trigger to NAMEDATALEN - 1 bytes.
        let mut expected = lead_score_core::sqlgen::attach::trigger_name(
            &name,
            lead_score_core::sqlgen::attach::Write::Insert,
        );
        expected.truncate(pg_sys::NAMEDATALEN as usize - 1);
        if tgname != expected {
            misuse(format!(
                "lead_score._append_pending may only be used by the trigger attach() installs, not \"{tgname}\""
            ));
        }
        // Found by name in the lead_score schema, so the target is always a pending table.
        let table = std::ffi::CString::new(format!("{name}_pending")).unwrap_or_default();
        let pending = pg_sys::get_relname_relid(
            table.as_ptr(),
            pg_sys::get_namespace_oid(c"lead_score".as_ptr(), false),
        );
        if pending == pg_sys::InvalidOid {
            misuse(format!(
                "lead_score attachment \"{name}\" has no pending table"
            ));
        }
        // The lookup runs as the pending table's owner (the extension's owner), as
        // the plpgsql triggers run as SECURITY DEFINER: writers need no grants on
        // lead_score. With search_path pinned, nothing of theirs stands in for
        // pg_catalog's functions or operators while it decides where rows go.
        let rel = pg_sys::table_open(pending, pg_sys::AccessShareLock as i32);
        let owner = (*(*rel).rd_rel).relowner;
        pg_sys::table_close(rel, pg_sys::AccessShareLock as i32);
        let row = crate::owner::run_as(owner, || {
            query_row(
                TARGET_SQL,
                &[(
                    pg_sys::TEXTOID,
                    name.as_str().into_datum().unwrap_or(pg_sys::Datum::from(0)),
                )],
            )
        });
        let Some(row) = row else {
            misuse(format!(
                "lead_score attachment \"{name}\" does not exist or is not deferred"
            ));
        };
        let activities = pg_sys::Oid::from(
            row[0]
                .as_deref()
                .and_then(|s| s.parse::<u32>().ok())
                .unwrap_or(0),
        );
        let source = (*(*td).tg_relation).rd_att;
        if activities != (*(*td).tg_relation).rd_id {
            misuse(format!(
                "lead_score attachment \"{name}\" is not on this table"
            ));
        }
        let columns: Vec<(i16, pg_sys::Oid, std::ffi::CString)> = row[1]
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter_map(|pair| {
                let (attnum, typ) = pair.split_once(':')?;
                let attnum: i16 = attnum.parse().ok()?;
                let name = attribute_name(attribute(source, attnum)?).to_owned();
                Some((attnum, pg_sys::Oid::from(typ.parse::<u32>().ok()?), name))
            })
            .collect();
        let expected = 3 + row[2]
            .as_deref()
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(0);
        if columns.len() != expected {
            raise_code(
                PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
                format!("lead_score attachment \"{name}\": a mapped column of the activity table no longer exists; attach again"),
            );
        }
        Target { pending, columns }
    }
}

/// A column the fast path copies as is: the pending table's type, or a type
/// stored the same way (varchar as text).
fn copies_as(source: pg_sys::Oid, pending: pg_sys::Oid) -> bool {
    source == pending || (pending == pg_sys::TEXTOID && source == pg_sys::VARCHAROID)
}

v1_info!(pg_finfo_lead_score_append_pending);
/// `lead_score._append_pending('attachment')`: AFTER INSERT … FOR EACH STATEMENT
/// with `REFERENCING NEW TABLE`.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_append_pending(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe {
        if !pgrx::trigger_support::called_as_trigger(fcinfo) {
            misuse("lead_score._append_pending must be called as a trigger".into());
        }
        let td = (*fcinfo).context as *mut pg_sys::TriggerData;
        let event = (*td).tg_event;
        if event & pg_sys::TRIGGER_EVENT_OPMASK != pg_sys::TRIGGER_EVENT_INSERT
            || event & pg_sys::TRIGGER_EVENT_ROW != 0
            || event & pg_sys::TRIGGER_EVENT_TIMINGMASK != pg_sys::TRIGGER_EVENT_AFTER
            || (*td).tg_newtable.is_null()
        {
            misuse("lead_score._append_pending must fire AFTER INSERT FOR EACH STATEMENT with a NEW TABLE".into());
        }
        let source = (*(*td).tg_relation).rd_att;
        let tgoid = (*(*td).tg_trigger).tgoid;
        // Columns renamed, retyped or dropped since the lookup: look again.
        let still_valid = |t: &Target| {
            t.columns.iter().all(|(attnum, typ, name)| {
                attribute(source, *attnum).is_some_and(|att| {
                    !att.attisdropped
                        && att.atttypid == *typ
                        && attribute_name(att) == name.as_c_str()
                })
            })
        };
        let target = match TARGETS.with(|t| t.borrow().get(&tgoid).cloned()) {
            Some(t) if still_valid(&t) => t,
            _ => {
                let t = find_target(td);
                TARGETS.with(|m| m.borrow_mut().insert(tgoid, t.clone()));
                t
            }
        };
        // The writer's real time: lead_score.as_of only affects reads.
        let now = crate::clock::now();

        let rel = pg_sys::table_open(target.pending, pg_sys::RowExclusiveLock as i32);
        let pending = (*rel).rd_att;
        let n = target.columns.len();
        let form = (*rel).rd_rel;
        // Rows are written to the heap directly, so it must be a plain heap table
        // with no index to maintain (on Citus, a distributed table is not).
        if (*form).relkind != pg_sys::RELKIND_RELATION as std::ffi::c_char
            || (*form).relam != pg_sys::HEAP_TABLE_AM_OID
            || (*form).relhasindex
            || (*pending).natts as usize != n
        {
            raise_code(
                PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                "lead_score: a pending table must stay the plain heap table attach() made, with its columns and no index",
            );
        }
        let pending_attrs = (*pending).attrs.as_slice(n);
        for (i, (_, typ, _)) in target.columns.iter().enumerate() {
            if !copies_as(*typ, pending_attrs[i].atttypid) {
                raise_code(
                    PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
                    "lead_score: an activity column's type no longer matches its pending column; attach again",
                );
            }
        }

        let slot = pg_sys::MakeSingleTupleTableSlot(source, &pg_sys::TTSOpsMinimalTuple);
        let store = (*td).tg_newtable;
        // Other triggers of the statement read the same transition table: use a
        // read pointer of our own, as a scan of it would.
        let reader = pg_sys::tuplestore_alloc_read_pointer(store, pg_sys::EXEC_FLAG_REWIND as i32);
        pg_sys::tuplestore_select_read_pointer(store, reader);
        pg_sys::tuplestore_rescan(store);
        let last = target.columns.iter().map(|c| c.0).max().unwrap_or(1) as i32;
        let cid = pg_sys::GetCurrentCommandId(true);
        // Rows go in batches, as COPY writes them: one WAL record per page, not per
        // row. A statement of more than one batch (a COPY) also gets a bulk-insert
        // state, and a memory context reset after each batch, so it runs in constant
        // memory; a small one (the common single-row insert) needs neither, as the
        // trigger's own memory is freed when it returns.
        let large = pg_sys::tuplestore_tuple_count(store) > INSERT_BATCH as i64;
        let (bulk, batch_memory) = if large {
            let memory = pg_sys::AllocSetContextCreateInternal(
                pg_sys::CurrentMemoryContext,
                c"lead_score pending batch".as_ptr(),
                pg_sys::ALLOCSET_DEFAULT_MINSIZE as usize,
                pg_sys::ALLOCSET_DEFAULT_INITSIZE as usize,
                pg_sys::ALLOCSET_DEFAULT_MAXSIZE as usize,
            );
            (pg_sys::GetBulkInsertState(), memory)
        } else {
            (std::ptr::null_mut(), pg_sys::CurrentMemoryContext)
        };
        let mut batch: Vec<*mut pg_sys::TupleTableSlot> = Vec::new();
        let mut used = 0usize;
        let flush = |batch: &mut Vec<*mut pg_sys::TupleTableSlot>, used: usize| {
            if used > 0 {
                pg_sys::heap_multi_insert(rel, batch.as_mut_ptr(), used as i32, cid, 0, bulk);
                for &s in &batch[..used] {
                    pg_sys::ExecClearTuple(s);
                }
            }
            if large {
                // The source slot's tuple may have been read into this context too.
                pg_sys::ExecClearTuple(slot);
                pg_sys::MemoryContextReset(batch_memory);
            }
        };
        let outer = pg_sys::MemoryContextSwitchTo(batch_memory);
        let mut values = vec![pg_sys::Datum::from(0); n];
        let mut nulls = vec![false; n];
        while pg_sys::tuplestore_gettupleslot(store, true, false, slot) {
            if ((*slot).tts_nvalid as i32) < last {
                pg_sys::slot_getsomeattrs_int(slot, last);
            }
            let (vals, isnull) = ((*slot).tts_values, (*slot).tts_isnull);
            for (i, (attnum, _, _)) in target.columns.iter().enumerate() {
                let at = *attnum as usize - 1;
                nulls[i] = *isnull.add(at);
                let mut v = *vals.add(at);
                if !nulls[i] && pending_attrs[i].attlen == -1 {
                    // Never store a pointer into the activity table's TOAST.
                    v = pg_sys::Datum::from(pg_sys::pg_detoast_datum_packed(v.cast_mut_ptr()));
                }
                values[i] = v;
            }
            if nulls[0] {
                continue; // no lead key: the event belongs to no lead
            }
            // As the sync trigger's least(occurred_at, now): an event dated after the
            // write, or not dated, counts as of the write.
            if nulls[2] || (values[2].value() as i64) > now {
                values[2] = pg_sys::Datum::from(now);
                nulls[2] = false;
            }
            let tuple = pg_sys::heap_form_tuple(pending, values.as_mut_ptr(), nulls.as_mut_ptr());
            if used == batch.len() {
                let old = pg_sys::MemoryContextSwitchTo(outer);
                batch.push(pg_sys::MakeSingleTupleTableSlot(
                    pending,
                    &pg_sys::TTSOpsHeapTuple,
                ));
                pg_sys::MemoryContextSwitchTo(old);
            }
            pg_sys::ExecStoreHeapTuple(tuple, batch[used], true);
            used += 1;
            if used == INSERT_BATCH {
                flush(&mut batch, used);
                used = 0;
            }
        }
        flush(&mut batch, used);
        pg_sys::MemoryContextSwitchTo(outer);
        if large {
            pg_sys::MemoryContextDelete(batch_memory);
            pg_sys::FreeBulkInsertState(bulk);
        }
        for s in batch {
            pg_sys::ExecDropSingleTupleTableSlot(s);
        }
        pg_sys::ExecDropSingleTupleTableSlot(slot);
        pg_sys::tuplestore_select_read_pointer(store, 0);
        pg_sys::table_close(rel, pg_sys::NoLock as i32);
        pg_sys::Datum::from(0)
    }
}
