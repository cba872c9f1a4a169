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
    /// Attribute numbers and types in the activity table of the lead key, event
    /// type, time and properties, in the pending table's column order.
    columns: Vec<(i16, pg_sys::Oid)>,
}

thread_local! {
    static TARGETS: RefCell<HashMap<pg_sys::Oid, Target>> = RefCell::new(HashMap::new());
    /// `lead_score.as_of` as last parsed: the setting and its time.
    static AS_OF_PARSED: RefCell<Option<(String, i64)>> = const { RefCell::new(None) };
}

/// The attachment's activity table, pending table and mapped columns as
/// "attnum:type" pairs in pending-column order.
const TARGET_SQL: &CStr = c"SELECT a.activities::oid::text, \
      to_regclass(format('lead_score.%I', a.name || '_pending'))::oid::text, \
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
        if tgname != format!("lead_score_{name}_activities_insert") {
            misuse(format!(
                "lead_score._append_pending may only be used by the trigger attach() installs, not \"{tgname}\""
            ));
        }
        // The lookup decides which table this trigger writes to, bypassing its
        // privileges, so no function or operator of the session's search_path may
        // stand in for pg_catalog's while it runs.
        let nest = pg_sys::NewGUCNestLevel();
        pg_sys::set_config_option(
            c"search_path".as_ptr(),
            c"pg_catalog, pg_temp".as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            pg_sys::GucSource::PGC_S_SESSION,
            pg_sys::GucAction::GUC_ACTION_SAVE,
            true,
            0,
            false,
        );
        let row = query_row(
            TARGET_SQL,
            &[(
                pg_sys::TEXTOID,
                name.as_str().into_datum().unwrap_or(pg_sys::Datum::from(0)),
            )],
        );
        pg_sys::AtEOXact_GUC(true, nest);
        let Some(row) = row else {
            misuse(format!(
                "lead_score attachment \"{name}\" does not exist or is not deferred"
            ));
        };
        let oid = |v: &Option<String>| {
            pg_sys::Oid::from(
                v.as_deref()
                    .and_then(|s| s.parse::<u32>().ok())
                    .unwrap_or(0),
            )
        };
        let activities = oid(&row[0]);
        let pending = oid(&row[1]);
        let expected_table = format!("{name}_pending");
        let in_schema = |rel: pg_sys::Oid| {
            let relname = pg_sys::get_rel_name(rel);
            let nsp = pg_sys::get_namespace_name(pg_sys::get_rel_namespace(rel));
            !relname.is_null()
                && !nsp.is_null()
                && CStr::from_ptr(nsp).to_bytes() == b"lead_score"
                && CStr::from_ptr(relname).to_bytes() == expected_table.as_bytes()
        };
        if !in_schema(pending) {
            misuse(format!(
                "lead_score attachment \"{name}\" has no pending table"
            ));
        }
        if activities != (*(*td).tg_relation).rd_id {
            misuse(format!(
                "lead_score attachment \"{name}\" is not on this table"
            ));
        }
        let columns: Vec<(i16, pg_sys::Oid)> = row[2]
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter_map(|pair| {
                let (attnum, typ) = pair.split_once(':')?;
                Some((
                    attnum.parse().ok()?,
                    pg_sys::Oid::from(typ.parse::<u32>().ok()?),
                ))
            })
            .collect();
        let expected = 3 + row[3]
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

/// `lead_score.scoring_time()` without SPI: `lead_score.as_of` if set, else now().
fn scoring_time() -> i64 {
    // Read in place: this runs once per insert statement.
    let raw = unsafe { *crate::AS_OF.as_ptr() };
    if raw.is_null() || unsafe { *raw } == 0 {
        return unsafe { pg_sys::GetCurrentTransactionStartTimestamp() };
    }
    let setting = unsafe { CStr::from_ptr(raw) };
    let cached = AS_OF_PARSED.with(|p| {
        p.borrow()
            .as_ref()
            .filter(|(s, _)| s.as_bytes() == setting.to_bytes())
            .map(|(_, at)| *at)
    });
    if let Some(at) = cached {
        return at;
    }
    let at = unsafe {
        let (mut input, mut ioparam) = (pg_sys::InvalidOid, pg_sys::InvalidOid);
        pg_sys::getTypeInputInfo(pg_sys::TIMESTAMPTZOID, &mut input, &mut ioparam);
        pg_sys::OidInputFunctionCall(input, setting.as_ptr().cast_mut(), ioparam, -1).value() as i64
    };
    let text = setting.to_string_lossy().into_owned();
    AS_OF_PARSED.with(|p| *p.borrow_mut() = Some((text, at)));
    at
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
        // A column's type may have changed since the lookup (ALTER TABLE); look again then.
        let still_valid = |t: &Target| {
            t.columns.iter().all(|&(attnum, typ)| {
                attnum >= 1 && (attnum as i32) <= (*source).natts && {
                    let att =
                        (*source).attrs.as_slice((*source).natts as usize)[attnum as usize - 1];
                    !att.attisdropped && att.atttypid == typ
                }
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
        let now = scoring_time();

        let rel = pg_sys::table_open(target.pending, pg_sys::RowExclusiveLock as i32);
        let pending = (*rel).rd_att;
        let n = target.columns.len();
        if (*(*rel).rd_rel).relhasindex || (*pending).natts as usize != n {
            raise_code(
                PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                "lead_score: a pending table must keep the columns attach() gave it and have no index",
            );
        }
        let pending_attrs = (*pending).attrs.as_slice(n);
        for (i, &(_, typ)) in target.columns.iter().enumerate() {
            if !copies_as(typ, pending_attrs[i].atttypid) {
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
        let reader = pg_sys::tuplestore_alloc_read_pointer(store, 0);
        pg_sys::tuplestore_select_read_pointer(store, reader);
        pg_sys::tuplestore_rescan(store);
        let last = target.columns.iter().map(|c| c.0).max().unwrap_or(1) as i32;
        let cid = pg_sys::GetCurrentCommandId(true);
        let bulk = pg_sys::GetBulkInsertState();
        // Rows go in batches, as COPY writes them: one WAL record per page, not per row.
        let mut batch: Vec<*mut pg_sys::TupleTableSlot> = Vec::new();
        let mut used = 0usize;
        let flush = |batch: &mut Vec<*mut pg_sys::TupleTableSlot>, used: usize| {
            if used > 0 {
                pg_sys::heap_multi_insert(rel, batch.as_mut_ptr(), used as i32, cid, 0, bulk);
                for &slot in &batch[..used] {
                    pg_sys::ExecClearTuple(slot);
                }
            }
        };
        let mut values = vec![pg_sys::Datum::from(0); n];
        let mut nulls = vec![false; n];
        while pg_sys::tuplestore_gettupleslot(store, true, false, slot) {
            if ((*slot).tts_nvalid as i32) < last {
                pg_sys::slot_getsomeattrs_int(slot, last);
            }
            let (vals, isnull) = ((*slot).tts_values, (*slot).tts_isnull);
            for (i, &(attnum, _)) in target.columns.iter().enumerate() {
                let at = attnum as usize - 1;
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
            // An event dated after the write counts as of the write (see the sync trigger).
            if !nulls[2] && (values[2].value() as i64) > now {
                values[2] = pg_sys::Datum::from(now);
            }
            let tuple = pg_sys::heap_form_tuple(pending, values.as_mut_ptr(), nulls.as_mut_ptr());
            if used == batch.len() {
                batch.push(pg_sys::MakeSingleTupleTableSlot(
                    pending,
                    &pg_sys::TTSOpsHeapTuple,
                ));
            }
            pg_sys::ExecStoreHeapTuple(tuple, batch[used], true);
            used += 1;
            if used == INSERT_BATCH {
                flush(&mut batch, used);
                used = 0;
            }
        }
        flush(&mut batch, used);
        for slot in batch {
            pg_sys::ExecDropSingleTupleTableSlot(slot);
        }
        pg_sys::FreeBulkInsertState(bulk);
        pg_sys::ExecDropSingleTupleTableSlot(slot);
        pg_sys::tuplestore_select_read_pointer(store, 0);
        pg_sys::table_close(rel, pg_sys::NoLock as i32);
        pg_sys::Datum::from(0)
    }
}
