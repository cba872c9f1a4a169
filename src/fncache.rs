//! Per-call-site caches in `flinfo->fn_extra`. PostgreSQL creates a fresh
//! FmgrInfo for every execution of a query, but a plpgsql simple expression keeps
//! its FmgrInfo for the whole transaction; so cached lookups are also tied to the
//! command id, which moves on after any write (a published version, ALTER TABLE).

use crate::catalog::{resolve, Resolved};
use pgrx::prelude::*;
use pgrx::PgMemoryContexts;

/// The cache of type `T` for this call site, created by `init` on first use.
/// Each SQL function must always use the same `T`.
///
/// # Safety
/// `fcinfo` must be the valid call info PostgreSQL passed to the running
/// function, whose call site always caches the same `T`. The reference lives in
/// the call site's `fn_mcxt`: it must not be kept past the call, nor taken
/// twice at once (each function takes it once per call).
pub unsafe fn fn_cache<T>(
    fcinfo: pg_sys::FunctionCallInfo,
    init: impl FnOnce() -> T,
) -> &'static mut T {
    // SAFETY: the caller guarantees `fcinfo` is valid, and with it its FmgrInfo.
    let flinfo = unsafe { (*fcinfo).flinfo };
    // SAFETY: as above; `fn_extra` is the call site's to use.
    let extra = unsafe { &mut (*flinfo).fn_extra };
    if extra.is_null() {
        // SAFETY: as above; `fn_mcxt` lives as long as the FmgrInfo does.
        let mcxt = unsafe { (*flinfo).fn_mcxt };
        *extra = PgMemoryContexts::For(mcxt)
            .leak_and_drop_on_delete(init())
            .cast();
    }
    // SAFETY: `fn_extra` points to the `T` leaked into `fn_mcxt` above or by an
    // earlier call at this call site (always the same `T`, as the caller
    // guarantees), and no other reference to it is live.
    unsafe { &mut *(*extra as *mut T) }
}

/// The model a call site uses, resolved by name once per statement.
/// The current command id: it changes after every write in the transaction.
#[inline]
pub fn command_id() -> u32 {
    // SAFETY: only reads the transaction's current command id (`false`: it is
    // not marked used, so this is allowed in parallel mode too).
    unsafe { pg_sys::GetCurrentCommandId(false) }
}

#[derive(Default)]
pub struct ModelSlot {
    name: String,
    command_id: u32,
    statement: pg_sys::TimestampTz,
    resolved: Option<Resolved>,
}

impl ModelSlot {
    #[inline]
    pub fn get(&mut self, name: &str) -> Resolved {
        let cid = command_id();
        // A plpgsql simple expression keeps its call site across the
        // statements of a transaction, and one that only reads leaves the
        // command id as it was: the client statement's start tells them apart.
        // SAFETY: reads the current statement's start time.
        let statement = unsafe { pg_sys::GetCurrentStatementStartTimestamp() };
        match self.resolved {
            Some(r)
                if self.name == name && self.command_id == cid && self.statement == statement =>
            {
                r
            }
            _ => {
                let r = resolve(name);
                self.name.clear();
                self.name.push_str(name);
                self.command_id = cid;
                self.statement = statement;
                self.resolved = Some(r);
                r
            }
        }
    }
}
