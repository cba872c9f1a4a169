//! Exact comparison of decimal numbers written as text: a spec's number
//! (kept as written, serde_json's `arbitrary_precision`), a `numeric`'s
//! text, an integer, and text that reads as a number. Nothing is rounded to
//! `float8`, so `1.00000000000000001` is above 1 and a `numeric`
//! `0.30000000000000001` is above `0.3`, as PostgreSQL's `numeric` compares
//! them. Borrowed: the per-row path allocates nothing.

use std::cmp::Ordering;

/// A finite decimal, `±int.frac × 10^exp`, its digits borrowed from the
/// text it was read from.
#[derive(Debug, Clone, Copy)]
pub struct Decimal<'a> {
    negative: bool,
    int: &'a str,
    frac: &'a str,
    /// Saturated at ±[`EXP_LIMIT`]: past it no text this long can matter.
    exp: i64,
}

/// The largest exponent kept. A number's order of magnitude is its digit
/// count plus its exponent: with text of at most `isize::MAX` digits and
/// exponents clamped here, neither sum overflows an `i64`.
const EXP_LIMIT: i64 = 1 << 62;

impl<'a> Decimal<'a> {
    /// Zero.
    pub const ZERO: Decimal<'static> = Decimal {
        negative: false,
        int: "0",
        frac: "",
        exp: 0,
    };

    /// An integer from its digits (ASCII digits only, the caller's check).
    pub fn integer(negative: bool, digits: &'a str) -> Self {
        Decimal {
            negative,
            int: digits,
            frac: "",
            exp: 0,
        }
    }

    /// Reads text as Rust's `f64` parser reads a finite number, spaces
    /// trimmed: an optional sign, digits with an optional point (`7`, `7.`,
    /// `.5`), then an optional exponent (`1e3`, `2.5E-7`). `None` for any
    /// other text (`1,000`, `Infinity`, `NaN`, `0x10`, empty).
    pub fn parse(text: &'a str) -> Option<Self> {
        let t = text.trim();
        let (negative, t) = match t.as_bytes().first()? {
            b'-' => (true, &t[1..]),
            b'+' => (false, &t[1..]),
            _ => (false, t),
        };
        let (mantissa, exp) = match t.find(['e', 'E']) {
            Some(at) => (&t[..at], parse_exponent(&t[at + 1..])?),
            None => (t, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if (int.is_empty() && frac.is_empty())
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        Some(Decimal {
            negative,
            int,
            frac,
            exp,
        })
    }

    /// The significant digits (leading and trailing zeros dropped, the point
    /// ignored) and the order of magnitude of the first: `d.ddd × 10^(order−1)`.
    /// `None` for zero.
    fn significant(&self) -> Option<(impl Iterator<Item = u8> + Clone + 'a, i64)> {
        let digits = self.int.bytes().chain(self.frac.bytes());
        let total = self.int.len() + self.frac.len();
        let leading = digits.clone().take_while(|&b| b == b'0').count();
        if leading == total {
            return None;
        }
        let trailing = digits.clone().rev().take_while(|&b| b == b'0').count();
        // Digits before the point, counted from the first significant one.
        let order = self.int.len() as i64 - leading as i64 + self.exp;
        Some((digits.skip(leading).take(total - leading - trailing), order))
    }

    /// The exact order of two decimals.
    pub fn order(&self, other: &Decimal<'_>) -> Ordering {
        let (a, b) = (self.significant(), other.significant());
        let sign = |d: &Decimal, s: bool| match (s, d.negative) {
            (false, _) => 0,
            (true, true) => -1,
            (true, false) => 1,
        };
        let (sa, sb) = (sign(self, a.is_some()), sign(other, b.is_some()));
        if sa != sb {
            return sa.cmp(&sb);
        }
        let (Some((da, oa)), Some((db, ob))) = (a, b) else {
            return Ordering::Equal; // both zero
        };
        // Same sign: compare magnitudes, then flip for negatives.
        let magnitude = oa.cmp(&ob).then_with(|| {
            let (mut da, mut db) = (da, db);
            loop {
                match (da.next(), db.next()) {
                    (None, None) => return Ordering::Equal,
                    (Some(_), None) => return Ordering::Greater,
                    (None, Some(_)) => return Ordering::Less,
                    (Some(x), Some(y)) if x != y => return x.cmp(&y),
                    _ => {}
                }
            }
        });
        if sa < 0 {
            magnitude.reverse()
        } else {
            magnitude
        }
    }
}

/// An exponent's text (`3`, `+3`, `-07`), saturated at ±[`EXP_LIMIT`].
fn parse_exponent(t: &str) -> Option<i64> {
    let (negative, digits) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = digits
        .bytes()
        .try_fold(0i64, |acc, b| {
            acc.checked_mul(10)?.checked_add(i64::from(b - b'0'))
        })
        .map_or(EXP_LIMIT, |m| m.min(EXP_LIMIT));
    Some(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use Ordering::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        Decimal::parse(a)
            .unwrap()
            .order(&Decimal::parse(b).unwrap())
    }

    #[test]
    fn reads_what_f64_reads() {
        for t in [
            "7", "+7", "-7", "7.", ".5", "1e3", "1E+3", "2.5e-7", " 42 ", "0", "-0", "00.000",
        ] {
            assert!(Decimal::parse(t).is_some(), "{t}");
            assert!(t.trim().parse::<f64>().is_ok(), "{t}");
        }
        for t in [
            "", " ", "+", "-", ".", "e3", "1e", "1e+", "1,000", "Infinity", "NaN", "inf", "0x10",
            "1.2.3", "1 2", "--1", "1e3.5",
        ] {
            assert!(Decimal::parse(t).is_none(), "{t}");
        }
    }

    #[test]
    fn compares_exactly() {
        assert_eq!(cmp("1.00000000000000001", "1"), Greater);
        assert_eq!(cmp("0.30000000000000001", "0.3"), Greater);
        assert_eq!(cmp("100.50", "100.5"), Equal);
        assert_eq!(cmp("1e3", "1000.000"), Equal);
        assert_eq!(cmp("0.001", "1e-3"), Equal);
        assert_eq!(cmp("-0", "0.0"), Equal);
        assert_eq!(cmp("-0.5", "0"), Less);
        assert_eq!(cmp("-1.5", "-1.25"), Less);
        assert_eq!(cmp("18446744073709551616", "18446744073709551615"), Greater);
        assert_eq!(cmp("-18446744073709551616", "-18446744073709551615"), Less);
        assert_eq!(cmp("9.999e2", "1e3"), Less);
        assert_eq!(cmp("1e99999999999999999999", "1e400"), Greater);
        assert_eq!(cmp("1e-99999999999999999999", "0"), Greater);
        assert_eq!(cmp("-1e-99999999999999999999", "0"), Less);
        assert_eq!(cmp("0e99999999999999999999", "0"), Equal);
    }

    /// Against an exact reference: `m × 10^-s` scaled to a common scale in
    /// `i128`, written out in every form the parser reads.
    fn forms(m: i64, s: u32) -> Vec<String> {
        let sign = if m < 0 { "-" } else { "" };
        let digits = m.unsigned_abs().to_string();
        let s = s as usize;
        let plain = if s == 0 {
            format!("{sign}{digits}")
        } else if digits.len() > s {
            let (i, f) = digits.split_at(digits.len() - s);
            format!("{sign}{i}.{f}")
        } else {
            format!("{sign}0.{}{digits}", "0".repeat(s - digits.len()))
        };
        vec![
            plain.clone(),
            format!("{sign}{digits}e-{s}"),
            if plain.contains('.') {
                format!("{plain}000")
            } else {
                format!("{plain}.000")
            },
            format!("{sign}{digits}0E-{}", s + 1),
        ]
        .into_iter()
        .map(|t| {
            if t.contains('.') || t.contains(['e', 'E']) {
                t
            } else {
                format!("{t}.")
            }
        })
        .collect()
    }

    proptest! {
        #[test]
        fn agrees_with_scaled_integers(a in any::<i64>(), sa in 0u32..20, b in any::<i64>(), sb in 0u32..20) {
            let scale = sa.max(sb);
            let x = i128::from(a) * 10i128.pow(scale - sa);
            let y = i128::from(b) * 10i128.pow(scale - sb);
            let want = x.cmp(&y);
            for fa in forms(a, sa) {
                for fb in forms(b, sb) {
                    prop_assert_eq!(cmp(&fa, &fb), want, "{} vs {}", fa, fb);
                }
            }
        }
    }
}
