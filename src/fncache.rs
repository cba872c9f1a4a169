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
/// `fcinfo` must be a valid call from PostgreSQL.
pub unsafe fn fn_cache<T>(
    fcinfo: pg_sys::FunctionCallInfo,
    init: impl FnOnce() -> T,
) -> &'static mut T {
    unsafe {
        let flinfo = (*fcinfo).flinfo;
        if (*flinfo).fn_extra.is_null() {
            let ptr = PgMemoryContexts::For((*flinfo).fn_mcxt).leak_and_drop_on_delete(init());
            (*flinfo).fn_extra = ptr.cast();
        }
        &mut *((*flinfo).fn_extra as *mut T)
    }
}

/// The model a call site uses, resolved by name once per statement.
/// The current command id: it changes after every write in the transaction.
#[inline]
pub fn command_id() -> u32 {
    unsafe { pg_sys::GetCurrentCommandId(false) }
}

#[derive(Default)]
pub struct ModelSlot {
    name: String,
    command_id: u32,
    resolved: Option<Resolved>,
}

impl ModelSlot {
    #[inline]
    pub fn get(&mut self, name: &str) -> Resolved {
        let cid = command_id();
        match self.resolved {
            Some(r) if self.name == name && self.command_id == cid => r,
            _ => {
                let r = resolve(name);
                self.name.clear();
                self.name.push_str(name);
                self.command_id = cid;
                self.resolved = Some(r);
                r
            }
        }
    }
}
