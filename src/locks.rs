//! Transaction locks that only lead_score's own code takes.
//!
//! Each is a lock on the object (`pg_extension`, lead_score's OID, a sub-id of
//! its own). PostgreSQL's commands lock an extension with sub-id 0 only, and no
//! SQL command takes any other, so no role can hold one of these locks from
//! SQL. Advisory locks, which these replace, are public: any role with no
//! grants at all could take their keys and hold `attach`, `detach`, and the
//! `DROP TABLE` of an attached table, or silence `tick()`'s account alerts.

use pgrx::pg_sys;

/// What a lock orders.
#[derive(Clone, Copy)]
pub(crate) enum Lock<'a> {
    /// Every change of the views over all attachments (`current_scores`,
    /// `current_categories`): `attach`, `detach` and attachments following
    /// their dropped tables.
    CurrentViews,
    /// One `tick()` at a time checks an attachment's account alerts. Names
    /// hash onto 65,534 sub-ids: two attachments that share one make a
    /// concurrent `tick()` skip the other's check, which the holder's `tick()`
    /// runs anyway.
    AccountAlerts(&'a str),
}

impl Lock<'_> {
    fn subid(self) -> u16 {
        match self {
            Lock::CurrentViews => 1,
            Lock::AccountAlerts(name) => {
                // FNV-1a: stable across builds and platforms.
                let mut h: u32 = 0x811c_9dc5;
                for b in name.bytes() {
                    h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
                }
                2 + (h % 65_534) as u16
            }
        }
    }

    fn tag(self) -> pg_sys::LOCKTAG {
        // SAFETY: a plain catalog lookup by a NUL-terminated name; with
        // missing_ok false it raises a normal ERROR when the extension is not
        // installed (these locks are only taken by its own functions).
        let extension = unsafe { pg_sys::get_extension_oid(c"lead_score".as_ptr(), false) };
        // SAFETY: MyDatabaseId is set for the whole life of a backend connected
        // to a database, which every caller of these functions is.
        let database = unsafe { pg_sys::MyDatabaseId };
        // SET_LOCKTAG_OBJECT, a macro bindgen does not bind.
        pg_sys::LOCKTAG {
            locktag_field1: database.to_u32(),
            locktag_field2: pg_sys::ExtensionRelationId.to_u32(),
            locktag_field3: extension.to_u32(),
            locktag_field4: self.subid(),
            locktag_type: pg_sys::LockTagType::LOCKTAG_OBJECT as u8,
            locktag_lockmethodid: pg_sys::DEFAULT_LOCKMETHOD as u8,
        }
    }
}

/// Takes `lock` until the transaction ends, waiting for it (the deadlock
/// detector sees the wait, as it sees an advisory lock's).
pub(crate) fn wait(lock: Lock) {
    let tag = lock.tag();
    // SAFETY: `tag` is a complete object lock tag; a transaction lock
    // (sessionLock false) is released by the transaction's end or abort.
    unsafe {
        pg_sys::LockAcquire(
            &tag,
            pg_sys::ExclusiveLock as pg_sys::LOCKMODE,
            false,
            false,
        )
    };
}

/// Takes `lock` until the transaction ends if no other transaction holds
/// it; whether it did.
pub(crate) fn try_take(lock: Lock) -> bool {
    let tag = lock.tag();
    // SAFETY: as in `wait`; with dontWait it returns at once.
    let got = unsafe {
        pg_sys::LockAcquire(&tag, pg_sys::ExclusiveLock as pg_sys::LOCKMODE, false, true)
    };
    got != pg_sys::LockAcquireResult::LOCKACQUIRE_NOT_AVAIL
}
