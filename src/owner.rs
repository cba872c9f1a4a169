//! Running a few catalog steps as the extension's owner.
//!
//! `attach` and `detach` create and drop objects in the lead_score schema, and
//! the deferred insert trigger looks its attachment up; only the owner of
//! lead_score's objects may do either. Rather than `SECURITY DEFINER` SQL, the
//! caller's rights are checked first, as the caller, then the steps run with
//! the owner's user id as a security-restricted operation (as PostgreSQL runs
//! index and materialized-view maintenance), with `search_path` pinned and
//! `row_security` off. The statements they run are generated in
//! `lead_score_core::sqlgen`, which quotes every name and literal.
//!
//! If a step raises an ERROR, PostgreSQL's (sub)transaction abort restores the
//! user id and the settings, so nothing here needs to run on that path.
//!
//! The steps also run outside any extension script (`outside_extension`), so
//! the objects `attach` creates are never an extension's members.

use crate::errors::raise_code;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

/// The role that owns the extension (and every object `attach` creates).
pub fn extension_owner() -> pg_sys::Oid {
    // A read-only query: pgrx's Spi::get_one would assign a transaction id,
    // which a reader on a hot standby cannot (src/owner_read.rs reads with it).
    // SAFETY: no arguments.
    let row = unsafe {
        crate::catalog::query_row(
            c"SELECT e.extowner::pg_catalog.text FROM pg_catalog.pg_extension e WHERE e.extname = 'lead_score'",
            &[],
        )
    };
    let owner = row
        .and_then(|r| r.into_iter().next().flatten())
        .and_then(|o| o.parse::<u32>().ok());
    match owner {
        Some(o) => pg_sys::Oid::from(o),
        None => raise_code(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            "lead_score: the extension is not installed in this database",
        ),
    }
}

/// Runs `f` as `owner`, with `search_path = pg_catalog, pg_temp`,
/// `row_security = off` and notices off, then restores the caller's user id
/// and every setting, whatever `f`'s code set.
pub fn run_as<R>(owner: pg_sys::Oid, f: impl FnOnce() -> R) -> R {
    let (mut user, mut context) = (pg_sys::InvalidOid, 0);
    // SAFETY: plain reads and writes of the backend's current user id and
    // security context; the saved pair is restored below, and by PostgreSQL's
    // (sub)transaction abort if `f` raises an ERROR.
    unsafe {
        pg_sys::GetUserIdAndSecContext(&mut user, &mut context);
        pg_sys::SetUserIdAndSecContext(
            owner,
            context
                | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32
                | pg_sys::SECURITY_RESTRICTED_OPERATION as i32,
        );
    }
    // Popped by AtEOXact_GUC below (or by abort).
    let nest = push_settings(&[
        (c"search_path", c"pg_catalog, pg_temp"),
        (c"row_security", c"off"),
        // DROP … IF EXISTS of what a user already dropped is not news.
        (c"client_min_messages", c"warning"),
    ]);
    let result = outside_extension(f);
    let sequential = setting(CITUS_MODE).as_deref() == Some("sequential");
    // SAFETY: pops exactly the nest level pushed above and restores the pair
    // saved above. `false` undoes every setting changed at this level, also a
    // session-level one (`set_config(…, false)`) made by code of the role `f`
    // ran as, such as a table owner's immutable function the planner folds
    // (as PostgreSQL ends its own security-restricted operations since
    // CVE-2020-25695): `true` would keep such a `search_path` for the rest
    // of the caller's statement and session.
    unsafe {
        pg_sys::AtEOXact_GUC(false, nest);
        pg_sys::SetUserIdAndSecContext(user, context);
    }
    // Citus switches a transaction to one connection per node (a
    // transaction-local setting) when it creates objects on the workers or
    // rebases shards, and the rest of the transaction must keep to it, to see
    // what it made; so a switch `f` caused outlasts the pop, as Citus sets it.
    if sequential && setting(CITUS_MODE).as_deref() != Some("sequential") {
        // SAFETY: NUL-terminated strings; a transaction-local set, as
        // Citus's own SetLocalMultiShardModifyModeToSequential makes it.
        unsafe {
            pg_sys::set_config_option(
                CITUS_MODE.as_ptr(),
                c"sequential".as_ptr(),
                pg_sys::GucContext::PGC_USERSET,
                pg_sys::GucSource::PGC_S_SESSION,
                pg_sys::GucAction::GUC_ACTION_LOCAL,
                true,
                0,
                false,
            );
        }
    }
    result
}

/// Citus's multi-shard modify mode, `parallel` or `sequential`.
const CITUS_MODE: &std::ffi::CStr = c"citus.multi_shard_modify_mode";

/// A setting's value, or `None` when no loaded library defines it.
pub(crate) fn setting(name: &std::ffi::CStr) -> Option<String> {
    // SAFETY: looks a setting up by a NUL-terminated name (missing_ok); the
    // value it returns is copied before any other setting changes.
    unsafe {
        let value = pg_sys::GetConfigOption(name.as_ptr(), true, false);
        (!value.is_null()).then(|| {
            std::ffi::CStr::from_ptr(value)
                .to_string_lossy()
                .into_owned()
        })
    }
}

/// Opens a GUC nest level and sets each setting at it, as `SET` in the
/// session would, saving the old values; returns the level, for
/// `AtEOXact_GUC(false, level)` to pop and restore them (an ERROR before that
/// aborts the (sub)transaction, which pops it).
pub fn push_settings(settings: &[(&std::ffi::CStr, &std::ffi::CStr)]) -> i32 {
    // SAFETY: a new nest level, which the caller pops.
    let nest = unsafe { pg_sys::NewGUCNestLevel() };
    for (name, value) in settings {
        save_setting(name, value);
    }
    nest
}

/// Sets `name` to `value`, as `SET` in the session would, saving the old value
/// at the current GUC nest level (`push_settings`', or `run_as`'s), to be
/// restored when that level is popped.
pub fn save_setting(name: &std::ffi::CStr, value: &std::ffi::CStr) {
    // SAFETY: both strings are NUL-terminated and outlive the call; the
    // setting is saved at the current nest level and undone with it.
    unsafe {
        pg_sys::set_config_option(
            name.as_ptr(),
            value.as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            pg_sys::GucSource::PGC_S_SESSION,
            pg_sys::GucAction::GUC_ACTION_SAVE,
            true,
            0,
            false,
        );
    }
}

/// Runs `f` as if no extension script were running, so what it creates
/// belongs to no extension, even when an extension script called `attach` (an
/// `ALTER EXTENSION lead_score UPDATE` that rebuilds attachments, or another
/// extension's `CREATE EXTENSION`). An attachment's tables hold user data:
/// as members of an extension, `pg_dump` would leave them and their rows out
/// of a dump, and `DROP EXTENSION` would drop them.
fn outside_extension<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: reads two backend-local globals.
    let (creating, current) =
        unsafe { (pg_sys::creating_extension, pg_sys::CurrentExtensionObject) };
    if !creating {
        return f();
    }
    // SAFETY: what CREATE EXTENSION sets while its script runs; the values
    // are put back by the finally below, on success and when `f` raises.
    unsafe {
        pg_sys::creating_extension = false;
        pg_sys::CurrentExtensionObject = pg_sys::InvalidOid;
    }
    PgTryBuilder::new(std::panic::AssertUnwindSafe(f))
        .finally(|| {
            // SAFETY: restores the values read above.
            unsafe {
                pg_sys::creating_extension = creating;
                pg_sys::CurrentExtensionObject = current;
            }
        })
        .execute()
}

/// Whether the current user has the privileges of `role` (superusers do).
pub fn has_role(role: &str) -> bool {
    let Ok(name) = std::ffi::CString::new(role) else {
        return false;
    };
    // SAFETY: `name` is NUL-terminated; with missing_ok the lookup returns
    // InvalidOid instead of raising, and has_privs_of_role only reads catalogs.
    unsafe {
        let oid = pg_sys::get_role_oid(name.as_ptr(), true);
        pg_sys::superuser()
            || (oid != pg_sys::InvalidOid && pg_sys::has_privs_of_role(pg_sys::GetUserId(), oid))
    }
}

/// Runs `f` in an internal subtransaction, as a PL/pgSQL block with an
/// `EXCEPTION` clause does: `f` returns its value and whether to keep what it
/// did. Kept, the subtransaction is released into the caller's (its locks
/// stay to the end of the transaction); not kept, it is rolled back, and the
/// locks it took are let go. An ERROR rolls it back; `caught` may turn it
/// into a value by its SQLSTATE (as a `WHEN` clause), else it is raised
/// again, so no caller (a PL/pgSQL block around `detach`) finds the
/// subtransaction still open.
pub fn subtransaction<R>(
    f: impl FnOnce() -> (R, bool),
    caught: impl Fn(PgSqlErrorCode) -> Option<R>,
) -> R {
    let caught = std::panic::AssertUnwindSafe(caught);
    // SAFETY: plain reads of two backend globals, restored below.
    let (cxt, owner) = unsafe { (pg_sys::CurrentMemoryContext, pg_sys::CurrentResourceOwner) };
    // SAFETY: begins a subtransaction inside the current transaction (a
    // statement runs this, so one is in progress) and switches back to the
    // caller's memory context, as PL/pgSQL's exception blocks do.
    unsafe {
        pg_sys::BeginInternalSubTransaction(std::ptr::null());
        pg_sys::MemoryContextSwitchTo(cxt);
    }
    let restore = move || {
        // SAFETY: puts back the memory context and resource owner saved
        // above, which the subtransaction's end replaced; both outlive it.
        unsafe {
            pg_sys::MemoryContextSwitchTo(cxt);
            pg_sys::CurrentResourceOwner = owner;
        }
    };
    PgTryBuilder::new(std::panic::AssertUnwindSafe(|| {
        let (result, keep) = f();
        // SAFETY: the subtransaction begun above is the current one: `f`
        // ends every subtransaction it begins (SPI and PL/pgSQL do).
        unsafe {
            if keep {
                pg_sys::ReleaseCurrentSubTransaction();
            } else {
                pg_sys::RollbackAndReleaseCurrentSubTransaction();
            }
        }
        restore();
        result
    }))
    .catch_others(|e| {
        // SAFETY: as above; pgrx has copied and flushed the error's state
        // before it reaches this handler.
        unsafe { pg_sys::RollbackAndReleaseCurrentSubTransaction() };
        restore();
        let code = match &e {
            pgrx::pg_sys::panic::CaughtError::PostgresError(r)
            | pgrx::pg_sys::panic::CaughtError::ErrorReport(r) => Some(r.sql_error_code()),
            pgrx::pg_sys::panic::CaughtError::RustPanic { .. } => None,
        };
        let caught: &std::panic::AssertUnwindSafe<_> = &caught;
        match code.and_then(|c| (caught.0)(c)) {
            Some(result) => result,
            None => e.rethrow(),
        }
    })
    .execute()
}
