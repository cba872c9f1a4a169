//! Floats as PostgreSQL 15 prints them (`float4out`, `float8out` with the
//! default `extra_float_digits` 1): the shortest decimal strictly inside the
//! value's rounding interval, the nearest such decimal of that length, ties to
//! even. PostgreSQL's Ryu (`src/common/d2s.c`, `f2s.c`) is built without
//! `STRICTLY_SHORTEST`, so a decimal on the interval's edge never counts:
//! the `real` 70434816 prints as `7.0434816e+07`, where Rust's shortest text is
//! `70434820` (an edge, which reads back to the same `real` by ties-to-even).
//! And Rust breaks an exact tie away from zero where Ryu takes the even digit:
//! the `real` 334031.625 prints as `334031.62`, Rust's as `334031.63`.
//!
//! Rust's shortest text is taken when it lies strictly inside and is no tie;
//! otherwise the digits come from the value's exact decimal expansion. Every
//! test is exact integer arithmetic on the value's binary parts: no bignum.

/// A binary float's parts: the value is `m × 2^e`, `m` with its implicit bit.
struct Parts {
    m: u64,
    e: i32,
    /// The gap below is half the gap above (an exact power of two, not the
    /// smallest normal): the lower edge of the interval is nearer.
    narrow_below: bool,
}

/// What the algorithm needs of `f32` and `f64`.
trait Binary: Copy + std::fmt::LowerExp {
    /// The most significant digits the shortest text can need.
    const MAX_DIGITS: usize;
    /// PostgreSQL prints a decimal exponent at or above this in exponent form.
    const FIXED_BELOW: i32;
    fn parts(self) -> Parts;
    fn reads_back(self, text: &str) -> bool;
    fn exact_digits(self) -> String;
}

impl Binary for f64 {
    const MAX_DIGITS: usize = 17;
    const FIXED_BELOW: i32 = 15;
    fn parts(self) -> Parts {
        let bits = self.to_bits();
        let frac = bits & ((1u64 << 52) - 1);
        let exp = ((bits >> 52) & 0x7ff) as i32;
        if exp == 0 {
            Parts {
                m: frac,
                e: -1074,
                narrow_below: false,
            }
        } else {
            Parts {
                m: frac | (1u64 << 52),
                e: exp - 1075,
                narrow_below: frac == 0 && exp > 1,
            }
        }
    }
    fn reads_back(self, text: &str) -> bool {
        text.parse::<f64>().is_ok_and(|y| y == self)
    }
    fn exact_digits(self) -> String {
        // An f64's exact expansion has at most 767 significant digits.
        format!("{self:.800e}")
    }
}

impl Binary for f32 {
    const MAX_DIGITS: usize = 9;
    const FIXED_BELOW: i32 = 6;
    fn parts(self) -> Parts {
        let bits = self.to_bits();
        let frac = u64::from(bits & ((1u32 << 23) - 1));
        let exp = ((bits >> 23) & 0xff) as i32;
        if exp == 0 {
            Parts {
                m: frac,
                e: -149,
                narrow_below: false,
            }
        } else {
            Parts {
                m: frac | (1u64 << 23),
                e: exp - 150,
                narrow_below: frac == 0 && exp > 1,
            }
        }
    }
    fn reads_back(self, text: &str) -> bool {
        text.parse::<f32>().is_ok_and(|y| y == self)
    }
    fn exact_digits(self) -> String {
        // Widening is exact; an f32's expansion has at most 112 digits.
        format!("{:.150e}", f64::from(self))
    }
}

/// `n = 2^a × 5^b × rest`, `rest` prime to 10.
fn split_2_5(mut n: u64) -> (i32, i32, u64) {
    let (mut a, mut b) = (0, 0);
    while n != 0 && n.is_multiple_of(2) {
        n /= 2;
        a += 1;
    }
    while n != 0 && n.is_multiple_of(5) {
        n /= 5;
        b += 1;
    }
    (a, b, n)
}

/// Whether `d × 10^k` is exactly `m × 2^j` (both positive).
fn exactly(d: u64, k: i32, m: u64, j: i32) -> bool {
    let (a, b, r) = split_2_5(d);
    let (c, f, s) = split_2_5(m);
    a + k == c + j && b + k == f && r == s
}

/// A decimal `d × 10^k`, `d > 0`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Decimal {
    d: u64,
    k: i32,
}

impl Decimal {
    /// `d` without trailing zeros.
    fn normal(mut self) -> Self {
        while self.d != 0 && self.d.is_multiple_of(10) {
            self.d /= 10;
            self.k += 1;
        }
        self
    }

    fn text(self) -> String {
        format!("{}e{}", self.d, self.k)
    }
}

/// The value's interval, open at both edges.
struct Interval<F: Binary> {
    x: F,
    parts: Parts,
}

impl<F: Binary> Interval<F> {
    fn new(x: F) -> Self {
        Interval {
            x,
            parts: x.parts(),
        }
    }

    /// Strictly inside: reads back as the value (so inside or on an edge,
    /// which reads back only for an even mantissa) and is on neither edge.
    fn contains(&self, c: Decimal) -> bool {
        let Parts { m, e, narrow_below } = self.parts;
        if c.d == 0 || !self.x.reads_back(&c.text()) {
            return false;
        }
        let above = exactly(c.d, c.k, 2 * m + 1, e - 1);
        let below = if narrow_below {
            exactly(c.d, c.k, 4 * m - 1, e - 2)
        } else {
            exactly(c.d, c.k, 2 * m - 1, e - 1)
        };
        !above && !below
    }

    /// Whether the value lies exactly halfway between `c` and `c + 10^k`.
    fn tie_above(&self, c: Decimal) -> bool {
        c.d.checked_mul(10)
            .and_then(|d| d.checked_add(5))
            .is_some_and(|d| exactly(d, c.k - 1, self.parts.m, self.parts.e))
    }
}

/// Digits and exponent of Rust's `{:e}` text (`7.043482e7` → 7043482 × 10^1).
fn parse_sci(text: &str) -> Option<Decimal> {
    let (mantissa, exp) = text.split_once('e')?;
    let exp: i32 = exp.parse().ok()?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    let d: u64 = digits.parse().ok()?;
    Some(Decimal {
        d,
        k: exp - frac.len() as i32,
    })
}

/// The nearest decimal of `p` significant digits, ties to even, from the
/// exact expansion `exact` (Rust's `{:.Ne}` of the value: `d.ddd…e±x`).
fn rounded(exact: &str, p: usize) -> Option<Decimal> {
    let (mantissa, exp) = exact.split_once('e')?;
    let exp: i32 = exp.parse().ok()?;
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let head = digits.get(..p)?;
    let rest = &digits[p..];
    let mut d: u64 = 0;
    for &b in head {
        d = d * 10 + u64::from(b - b'0');
    }
    let up = match rest.first() {
        None => false,
        Some(&b) if b > b'5' => true,
        Some(&b) if b < b'5' => false,
        Some(_) => rest[1..].iter().any(|&b| b != b'0') || !d.is_multiple_of(2),
    };
    Some(Decimal {
        d: d + u64::from(up),
        k: exp - (p as i32 - 1),
    })
}

/// The decimal PostgreSQL prints for a positive finite `x`.
fn shortest<F: Binary>(x: F) -> Option<Decimal> {
    let interval = Interval::new(x);
    let rust = parse_sci(&format!("{x:e}"))?;
    if interval.contains(rust) {
        // Inside, so no shorter decimal is; Rust's is the nearest of its
        // length but for a tie, which goes to the even digit here.
        let down = Decimal {
            d: rust.d - 1,
            k: rust.k,
        };
        let partner = if interval.tie_above(rust) {
            Some(Decimal {
                d: rust.d + 1,
                k: rust.k,
            })
        } else if rust.d > 1 && interval.tie_above(down) {
            Some(down)
        } else {
            None
        };
        return Some(match partner {
            Some(p) if !rust.d.is_multiple_of(2) && interval.contains(p) => p.normal(),
            _ => rust.normal(),
        });
    }
    // Rust's text is on an edge: PostgreSQL's has as many digits or more.
    let exact = x.exact_digits();
    let from = rust.d.to_string().len();
    for p in from..=F::MAX_DIGITS {
        let r = rounded(&exact, p)?;
        if interval.contains(r) {
            return Some(r.normal());
        }
        // The nearest is outside: only its neighbour on the value's other
        // side can be inside (the interval is lopsided at a power of two).
        for d in [r.d.checked_sub(1), r.d.checked_add(1)]
            .into_iter()
            .flatten()
        {
            let c = Decimal { d, k: r.k };
            if interval.contains(c) {
                return Some(c.normal());
            }
        }
    }
    None
}

/// PostgreSQL's text of a finite nonzero value from its decimal: fixed
/// notation for a decimal exponent from -4 to below `fixed_below`, else
/// `d.ddde+XX`.
fn layout(negative: bool, dec: Decimal, fixed_below: i32) -> String {
    let digits = dec.d.to_string();
    let n = digits.len() as i32;
    let exp = dec.k + n - 1;
    let mut out = String::with_capacity(n as usize + 8);
    if negative {
        out.push('-');
    }
    if (-4..fixed_below).contains(&exp) {
        if dec.k >= 0 {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', dec.k as usize));
        } else if exp >= 0 {
            let (int, frac) = digits.split_at((exp + 1) as usize);
            out.push_str(int);
            out.push('.');
            out.push_str(frac);
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(&digits);
        }
    } else {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
    }
    out
}

fn special(x: f64) -> Option<&'static str> {
    if x.is_nan() {
        Some("NaN")
    } else if x == f64::INFINITY {
        Some("Infinity")
    } else if x == f64::NEG_INFINITY {
        Some("-Infinity")
    } else if x == 0.0 {
        Some(if x.is_sign_negative() { "-0" } else { "0" })
    } else {
        None
    }
}

fn text_of<F: Binary>(x: F, abs: F, negative: bool) -> String {
    match shortest(abs) {
        Some(dec) => layout(negative, dec, F::FIXED_BELOW),
        // Not reached for a finite nonzero value; Rust's text then.
        None => format!("{x:e}"),
    }
}

/// A `float8` as PostgreSQL prints it.
pub fn float8_text(x: f64) -> String {
    if let Some(s) = special(x) {
        return s.to_string();
    }
    text_of(x, x.abs(), x < 0.0)
}

/// A `real` as PostgreSQL prints it.
pub fn float4_text(r: f32) -> String {
    if let Some(s) = special(f64::from(r)) {
        return s.to_string();
    }
    text_of(r, r.abs(), r < 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn postgresql_texts() {
        // Each from PostgreSQL 15 (`SELECT x::text`).
        for (x, want) in [
            (0.1, "0.1"),
            (100.5, "100.5"),
            (42.0, "42"),
            (-3.25, "-3.25"),
            (1e14, "100000000000000"),
            (1e15, "1e+15"),
            (1.5e20, "1.5e+20"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.2345e-7, "1.2345e-07"),
            (0.0, "0"),
            (-0.0, "-0"),
            (f64::INFINITY, "Infinity"),
            (f64::NAN, "NaN"),
            (123456789012345.62, "123456789012345.62"),
            (f64::from_bits(0x42dc_1221_8377_de68), "123456789012345.62"),
            (9007199254740993.0, "9.007199254740992e+15"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (2.2250738585072014e-308, "2.2250738585072014e-308"),
            (0.3, "0.3"),
            (2.0 / 3.0, "0.6666666666666666"),
        ] {
            assert_eq!(float8_text(x), want, "{x:e}");
        }
        for (r, want) in [
            (0.1f32, "0.1"),
            (123456.0, "123456"),
            (1_000_000.0, "1e+06"),
            (1.5, "1.5"),
            (0.00001, "1e-05"),
            (70434816.0, "7.0434816e+07"),
            (334031.62, "334031.62"),
            (-334031.62, "-334031.62"),
            (16777216.0, "1.6777216e+07"),
            (f32::MAX, "3.4028235e+38"),
            (f32::MIN_POSITIVE, "1.1754944e-38"),
            (1e-45, "1e-45"),
        ] {
            assert_eq!(float4_text(r), want, "{r:e}");
        }
    }

    /// The text reads back, is never longer than Rust's shortest by more
    /// than the edge rule needs, and never sits on an edge.
    fn check<F: Binary + std::str::FromStr + PartialEq + std::fmt::Debug>(x: F, text: &str) {
        let back: F = text.parse().ok().expect("reads back");
        assert_eq!(back, x, "{text}");
    }

    proptest! {
        #[test]
        fn every_f64_text_reads_back(bits in any::<u64>()) {
            let x = f64::from_bits(bits);
            if x.is_finite() {
                check(x, &float8_text(x));
            }
        }

        #[test]
        fn every_f32_text_reads_back(bits in any::<u32>()) {
            let x = f32::from_bits(bits);
            if x.is_finite() {
                check(x, &float4_text(x));
            }
        }
    }
}
