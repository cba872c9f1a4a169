//! The header every engagement state starts with, the aggregates' (`engagement.rs`)
//! and the live one (`live.rs`) alike: the one definition of its byte layout.
//!
//! Little-endian, 48 bytes:
//!
//! | offset | field | type |
//! | --- | --- | --- |
//! | 0 | magic: which kind of state | u32 |
//! | 4 | number of engagement rules | u32 |
//! | 8 | model id | i64 |
//! | 16 | model version | i64 |
//! | 24 | time: the aggregate's as-of, or the live state's landmark | i64 |
//! | 32 | last activity, or [`NO_ACTIVITY`] | i64 |
//! | 40 | event count | i64 |
//!
//! Times are microseconds since 2000-01-01, PostgreSQL's timestamptz.

use crate::error::{Error, Result};

pub const OFF_MAGIC: usize = 0;
pub const OFF_RULES: usize = 4;
pub const OFF_MODEL: usize = 8;
pub const OFF_VERSION: usize = 16;
pub const OFF_TIME: usize = 24;
pub const OFF_LAST: usize = 32;
pub const OFF_EVENTS: usize = 40;
/// The header's length; a state's own fields follow it.
pub const LEN: usize = 48;

/// The last-activity value of a state with no event.
pub const NO_ACTIVITY: i64 = i64::MIN;

/// PostgreSQL's timestamptz range, in microseconds since 2000-01-01: from
/// `MIN_TIMESTAMP` (4713 BC) up to, not including, `END_TIMESTAMP`.
pub const MIN_TIME: i64 = -211_813_488_000_000_000;
pub const END_TIME: i64 = 9_223_371_331_200_000_000;

/// Whether `t` is a time a state may hold: one in PostgreSQL's range, or
/// ±infinity (`i64::MIN`, which is also [`NO_ACTIVITY`], and `i64::MAX`).
pub fn valid_time(t: i64) -> bool {
    t == i64::MIN || t == i64::MAX || (MIN_TIME..END_TIME).contains(&t)
}

#[inline]
pub fn get_i64(buf: &[u8], at: usize) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[at..at + 8]);
    i64::from_le_bytes(b)
}

#[inline]
pub fn put_i64(buf: &mut [u8], at: usize, v: i64) {
    buf[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

#[inline]
pub fn get_u32(buf: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&buf[at..at + 4]);
    u32::from_le_bytes(b)
}

#[inline]
pub fn put_u32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// The header's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub magic: u32,
    pub rules: u32,
    pub model_id: i64,
    pub version: i32,
    pub time: i64,
}

impl Header {
    /// Writes a new header: no activity, no events.
    pub fn write(&self, buf: &mut [u8]) {
        put_u32(buf, OFF_MAGIC, self.magic);
        put_u32(buf, OFF_RULES, self.rules);
        put_i64(buf, OFF_MODEL, self.model_id);
        put_i64(buf, OFF_VERSION, i64::from(self.version));
        put_i64(buf, OFF_TIME, self.time);
        put_i64(buf, OFF_LAST, NO_ACTIVITY);
        put_i64(buf, OFF_EVENTS, 0);
    }

    /// Reads a header of the given kind; `what` names the kind in errors.
    pub fn read(buf: &[u8], magic: u32, what: &str) -> Result<Header> {
        if buf.len() < LEN || get_u32(buf, OFF_MAGIC) != magic {
            return Err(Error::State(format!("not {what}")));
        }
        // A crafted state could hold a time PostgreSQL cannot show, or a
        // negative count: refused here, not returned or raised later.
        if !valid_time(get_i64(buf, OFF_TIME))
            || !valid_time(get_i64(buf, OFF_LAST))
            || get_i64(buf, OFF_EVENTS) < 0
        {
            return Err(Error::State(format!(
                "{what} holds a time outside PostgreSQL's range or a negative event count"
            )));
        }
        Ok(Header {
            magic,
            rules: get_u32(buf, OFF_RULES),
            model_id: get_i64(buf, OFF_MODEL),
            version: get_i64(buf, OFF_VERSION) as i32,
            time: get_i64(buf, OFF_TIME),
        })
    }
}

/// The model id and version of any state, before its kind is known (to find
/// the model that checks the rest); `None` if too short to hold them.
pub fn model_of(buf: &[u8]) -> Option<(i64, i32)> {
    (buf.len() >= LEN).then(|| (get_i64(buf, OFF_MODEL), get_i64(buf, OFF_VERSION) as i32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_out_of_range_are_refused() {
        let mut buf = vec![0u8; LEN];
        Header {
            magic: 7,
            rules: 0,
            model_id: 1,
            version: 1,
            time: 0,
        }
        .write(&mut buf);
        assert!(Header::read(&buf, 7, "a state").is_ok());
        for (at, bad) in [
            (OFF_LAST, END_TIME),
            (OFF_LAST, i64::MAX - 1),
            (OFF_TIME, MIN_TIME - 1),
            (OFF_EVENTS, -1),
        ] {
            let mut b = buf.clone();
            put_i64(&mut b, at, bad);
            let err = Header::read(&b, 7, "a state").unwrap_err().to_string();
            assert!(err.contains("outside PostgreSQL's range"), "{err}");
        }
        for good in [i64::MIN, i64::MAX, MIN_TIME, END_TIME - 1] {
            let mut b = buf.clone();
            put_i64(&mut b, OFF_LAST, good);
            assert!(Header::read(&b, 7, "a state").is_ok());
        }
    }

    #[test]
    fn round_trip() {
        let h = Header {
            magic: 0x4C53_4531,
            rules: 9,
            model_id: 42,
            version: 3,
            time: -7,
        };
        let mut buf = vec![0u8; LEN];
        h.write(&mut buf);
        assert_eq!(Header::read(&buf, h.magic, "x").unwrap(), h);
        assert_eq!(get_i64(&buf, OFF_LAST), NO_ACTIVITY);
        assert_eq!(model_of(&buf), Some((42, 3)));
        assert!(Header::read(&buf[..LEN - 1], h.magic, "x").is_err());
        assert!(Header::read(&buf, 1, "x").is_err());
        assert_eq!(model_of(&buf[..10]), None);
    }
}
