//! Conditions on lead attributes and event properties, compiled once per model.

use crate::decimal::Decimal;
use crate::error::{Error, Result};
use crate::reader::{as_array, finite_number, index_path, type_name, Obj};
use regex::{Regex, RegexBuilder};
use serde_json::Value as Json;

/// A typed value read from a lead column or event property. Borrowed, so the
/// per-row path never copies text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Null,
    Text(&'a str),
    /// A `float8` value (or any number given as one).
    Num(f64),
    /// An integer column's value: compared as a number, printed with every
    /// digit (a bigint past 2^53 keeps them all).
    Int(i64),
    /// A `real` (`float4`) value: compared as a number, printed as PostgreSQL
    /// prints a `real` (0.1, not 0.10000000149011612).
    Real(f32),
    /// A `numeric` value with PostgreSQL's text of it, which keeps its scale
    /// (100.50).
    Decimal(f64, &'a str),
    Bool(bool),
}

impl Value<'_> {
    /// A `float8` or `real` value as a number; for the others see
    /// [`Value::compare`].
    fn as_float(&self) -> Option<f64> {
        match *self {
            Value::Num(n) => Some(n),
            Value::Real(r) => Some(real_as_decimal(r)),
            _ => None,
        }
    }

    /// The value against a number of the spec, exactly as PostgreSQL's
    /// `numeric` compares them: an integer column's value, a `numeric`'s
    /// text, and text that reads as a number ([`Decimal::parse`]) against
    /// the spec's number as written, whatever its size, fraction or
    /// exponent. A `float8` column compares as `float8` (as PostgreSQL casts
    /// a `numeric` to compare with one), a `real` as the decimal it prints
    /// as. `None` when the value is no number (a `numeric` NaN included).
    fn compare(&self, n: &Number) -> Option<std::cmp::Ordering> {
        match *self {
            Value::Int(i) => Some(match n.int {
                Some(k) => i128::from(i).cmp(&k),
                None => {
                    let mut buf = [0u8; 20];
                    int_decimal(i, &mut buf).order(&n.decimal())
                }
            }),
            Value::Text(t) => Some(Decimal::parse(t)?.order(&n.decimal())),
            // `Infinity` and `-Infinity` (PostgreSQL 14's) by their float,
            // `NaN` not at all.
            Value::Decimal(f, t) => match Decimal::parse(t) {
                Some(d) => Some(d.order(&n.decimal())),
                None => f.partial_cmp(&n.f),
            },
            _ => self.as_float()?.partial_cmp(&n.f),
        }
    }

    /// Whether the value is there: not NULL, and not blank text.
    fn is_present(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Text(t) => !t.trim().is_empty(),
            _ => true,
        }
    }

    /// The text string operators (`contains`, `regex`) see: the value as
    /// PostgreSQL prints it, so a rule matches what `::text` would show.
    fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        match *self {
            Value::Text(t) | Value::Decimal(_, t) => f(t),
            Value::Num(n) => f(&pg_float_text(n)),
            Value::Int(i) => f(&i.to_string()),
            Value::Real(r) => f(&pg_real_text(r)),
            Value::Bool(b) => f(if b { "true" } else { "false" }),
            Value::Null => f(""),
        }
    }
}

/// A `real` as PostgreSQL prints it ([`crate::float_text`]).
pub use crate::float_text::float4_text as pg_real_text;
/// A float as PostgreSQL prints it ([`crate::float_text`]).
pub use crate::float_text::float8_text as pg_float_text;

/// A `real` as the number it prints as: the `float8` nearest its
/// text, so a `real` 0.1 equals a spec's 0.1 (widened, it is
/// 0.10000000149011612, above it), as text that reads `0.1` does.
fn real_as_decimal(r: f32) -> f64 {
    if !r.is_finite() {
        return f64::from(r);
    }
    pg_real_text(r).parse::<f64>().unwrap_or(f64::from(r))
}

/// A `timestamptz` as PostgreSQL writes it in UTC with the ISO date style,
/// from the ISO text of the `timestamp` of the same instant: the UTC offset
/// `+00` follows the time, before the era of a BC date (`0044-03-15
/// 12:00:00+00 BC`); `infinity` and `-infinity` have none. A `timestamp` and a
/// `timestamptz` hold the same microseconds, and only the latter's text
/// depends on the session's time zone, so this gives UTC's text without
/// setting `TimeZone` (src/stable_text.rs).
pub fn utc_timestamptz_text(timestamp_text: &str) -> String {
    if timestamp_text.ends_with("infinity") {
        return timestamp_text.to_string();
    }
    match timestamp_text.strip_suffix(" BC") {
        Some(ad) => format!("{ad}+00 BC"),
        None => format!("{timestamp_text}+00"),
    }
}

/// A number of the spec: its text as written (a JSON number's, kept by
/// serde_json's `arbitrary_precision`; a string's, trimmed), which
/// [`Value::compare`] compares exactly; as `float8`, for `float8` and `real`
/// columns; and as an integer when it is one, the fast path of integer
/// columns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Number {
    f: f64,
    int: Option<i128>,
    /// Text [`Decimal::parse`] reads.
    text: Box<str>,
}

impl Number {
    fn of_json(value: &Json, path: &str) -> Result<Self> {
        let f = finite_number(value, path)?;
        let Json::Number(n) = value else {
            return Err(Error::spec(path, "must be a number"));
        };
        let text = n.to_string();
        if Decimal::parse(&text).is_none() {
            return Err(Error::spec(path, "must be a finite number"));
        }
        let int = n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from));
        Ok(Number {
            f,
            int,
            text: text.into(),
        })
    }

    /// Text that reads as a number ([`Decimal::parse`]), spaces trimmed.
    fn of_text(text: &str) -> Option<Self> {
        let t = text.trim();
        Decimal::parse(t)?;
        let f = t.parse::<f64>().ok()?;
        let int = t.strip_prefix('+').unwrap_or(t).parse::<i128>().ok();
        Some(Number {
            f,
            int,
            text: t.into(),
        })
    }

    /// The number, exactly.
    fn decimal(&self) -> Decimal<'_> {
        // Both constructors checked that it reads.
        Decimal::parse(&self.text).unwrap_or(Decimal::ZERO)
    }
}

/// An integer as a [`Decimal`], its digits written into `buf` (no allocation).
fn int_decimal(i: i64, buf: &mut [u8; 20]) -> Decimal<'_> {
    let mut at = buf.len();
    let mut m = i.unsigned_abs();
    loop {
        at -= 1;
        buf[at] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    // ASCII digits only.
    let digits = std::str::from_utf8(&buf[at..]).unwrap_or("0");
    Decimal::integer(i < 0, digits)
}

#[derive(Debug, Clone)]
pub(crate) enum Literal {
    Text {
        text: String,
        number: Option<Number>,
    },
    Num(Number),
    Bool(bool),
}

impl Literal {
    fn parse(value: &Json, path: &str) -> Result<Self> {
        match value {
            Json::String(s) => Ok(Literal::Text {
                text: s.clone(),
                number: Number::of_text(s),
            }),
            Json::Number(_) => Ok(Literal::Num(Number::of_json(value, path)?)),
            Json::Bool(b) => Ok(Literal::Bool(*b)),
            other => Err(Error::spec(
                path,
                format!(
                    "must be a string, number or boolean, got {}",
                    type_name(other)
                ),
            )),
        }
    }

    fn matches(&self, value: &Value) -> bool {
        match (self, value) {
            (Literal::Text { text, .. }, Value::Text(t)) => text == t,
            (
                Literal::Text {
                    number: Some(n), ..
                },
                v @ (Value::Num(_) | Value::Int(_) | Value::Real(_) | Value::Decimal(..)),
            ) => v.compare(n) == Some(std::cmp::Ordering::Equal),
            (Literal::Num(n), v) => v.compare(n) == Some(std::cmp::Ordering::Equal),
            (Literal::Bool(b), Value::Bool(v)) => b == v,
            (Literal::Bool(b), Value::Text(t)) => {
                let t = t.trim().to_ascii_lowercase();
                (*b && matches!(t.as_str(), "t" | "true" | "yes" | "y" | "1"))
                    || (!*b && matches!(t.as_str(), "f" | "false" | "no" | "n" | "0"))
            }
            _ => false,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Op {
    Eq(Literal),
    In(Vec<Literal>),
    Contains(String),
    Regex(Regex),
    Gt(Number),
    Gte(Number),
    Lt(Number),
    Lte(Number),
    Between(Number, Number),
    Present(bool),
}

pub(crate) const OPERATORS: &[&str] = &[
    "eq", "in", "contains", "regex", "gt", "gte", "lt", "lte", "between", "present",
];

#[derive(Debug, Clone)]
pub(crate) enum Cond {
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
    Leaf { slot: usize, op: Op },
}

impl Cond {
    /// `values` is indexed by slot; a missing slot reads as NULL.
    #[inline]
    pub fn eval(&self, values: &[Value]) -> bool {
        match self {
            Cond::All(parts) => parts.iter().all(|c| c.eval(values)),
            Cond::Any(parts) => parts.iter().any(|c| c.eval(values)),
            Cond::Not(inner) => !inner.eval(values),
            Cond::Leaf { slot, op } => {
                let value = values.get(*slot).copied().unwrap_or(Value::Null);
                eval_op(op, &value)
            }
        }
    }
}

#[inline]
fn eval_op(op: &Op, value: &Value) -> bool {
    if let Op::Present(want) = op {
        return value.is_present() == *want;
    }
    if matches!(value, Value::Null) {
        return false;
    }
    match op {
        Op::Eq(lit) => lit.matches(value),
        Op::In(list) => list.iter().any(|lit| lit.matches(value)),
        Op::Contains(needle) => value.with_text(|t| t.contains(needle.as_str())),
        Op::Regex(re) => value.with_text(|t| re.is_match(t)),
        Op::Gt(x) => value.compare(x).is_some_and(|o| o.is_gt()),
        Op::Gte(x) => value.compare(x).is_some_and(|o| o.is_ge()),
        Op::Lt(x) => value.compare(x).is_some_and(|o| o.is_lt()),
        Op::Lte(x) => value.compare(x).is_some_and(|o| o.is_le()),
        Op::Between(lo, hi) => {
            value.compare(lo).is_some_and(|o| o.is_ge())
                && value.compare(hi).is_some_and(|o| o.is_le())
        }
        Op::Present(_) => unreachable!("handled above"),
    }
}

/// Parses a condition. `resolve` turns a field name into a slot, or explains why
/// the name is not allowed here.
pub(crate) fn parse_cond(
    value: &Json,
    path: &str,
    resolve: &mut dyn FnMut(&str, &str) -> Result<usize>,
) -> Result<Cond> {
    let mut obj = Obj::new(value, path)?;
    for combinator in ["all", "any"] {
        if obj.has(combinator) {
            let key: &'static str = if combinator == "all" { "all" } else { "any" };
            let items = obj.req_array(key)?;
            let items_path = obj.path_of(key);
            if items.is_empty() {
                return Err(Error::spec(&items_path, "must list at least one condition"));
            }
            let parts = items
                .iter()
                .enumerate()
                .map(|(i, c)| parse_cond(c, &index_path(&items_path, i), resolve))
                .collect::<Result<Vec<_>>>()?;
            obj.finish()?;
            return Ok(if key == "all" {
                Cond::All(parts)
            } else {
                Cond::Any(parts)
            });
        }
    }
    if obj.has("not") {
        let inner_path = obj.path_of("not");
        let inner = parse_cond(obj.req("not")?, &inner_path, resolve)?;
        obj.finish()?;
        return Ok(Cond::Not(Box::new(inner)));
    }
    if !obj.has("field") {
        return Err(Error::spec(
            &obj.path_of("field"),
            "is required but missing (a condition is {\"field\": ..., <operator>: ...} or all/any/not)",
        ));
    }
    let field_path = obj.path_of("field");
    let field = obj.req_str("field")?;
    let slot = resolve(field, &field_path)?;
    let present: Vec<&str> = OPERATORS.iter().copied().filter(|k| obj.has(k)).collect();
    let op_name = match present.as_slice() {
        [one] => *one,
        [] => {
            // Name the unknown operator if there is one, else ask for one.
            return match obj.finish() {
                Err(e) => Err(match e {
                    Error::Spec { path, .. } => Error::Spec {
                        path,
                        message: format!(
                            "unknown operator (expected one of: {})",
                            OPERATORS.join(", ")
                        ),
                    },
                    other => other,
                }),
                Ok(()) => Err(Error::spec(
                    path,
                    format!("needs an operator (one of: {})", OPERATORS.join(", ")),
                )),
            };
        }
        many => {
            return Err(Error::spec(
                path,
                format!(
                    "has more than one operator ({}); combine them with all",
                    many.join(", ")
                ),
            ))
        }
    };
    let op_path = obj.path_of(op_name);
    let op = parse_op(&mut obj, op_name, &op_path)?;
    obj.finish().map_err(|e| match e {
        Error::Spec { path, .. } => Error::Spec {
            path,
            message: format!(
                "unknown operator (expected one of: {})",
                OPERATORS.join(", ")
            ),
        },
        other => other,
    })?;
    Ok(Cond::Leaf { slot, op })
}

fn parse_op(obj: &mut Obj, name: &str, path: &str) -> Result<Op> {
    Ok(match name {
        "eq" => Op::Eq(Literal::parse(obj.req("eq")?, path)?),
        "in" => {
            let items = as_array(obj.req("in")?, path)?;
            if items.is_empty() {
                return Err(Error::spec(path, "must list at least one value"));
            }
            Op::In(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Literal::parse(v, &index_path(path, i)))
                    .collect::<Result<_>>()?,
            )
        }
        "contains" => {
            let needle = obj.req_str("contains")?;
            if needle.is_empty() {
                return Err(Error::spec(path, "must not be empty"));
            }
            Op::Contains(needle.to_string())
        }
        "regex" => {
            let pattern = obj.req_str("regex")?;
            // Compiling is the slow part of a spec (milliseconds a pattern).
            crate::interrupt::check();
            let re = RegexBuilder::new(pattern)
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| {
                    let detail = e.to_string();
                    let last = detail
                        .lines()
                        .last()
                        .unwrap_or("invalid")
                        .trim()
                        .trim_start_matches("error: ")
                        .to_string();
                    Error::spec(path, format!("invalid regular expression: {last}"))
                })?;
            Op::Regex(re)
        }
        "gt" => Op::Gt(Number::of_json(obj.req("gt")?, path)?),
        "gte" => Op::Gte(Number::of_json(obj.req("gte")?, path)?),
        "lt" => Op::Lt(Number::of_json(obj.req("lt")?, path)?),
        "lte" => Op::Lte(Number::of_json(obj.req("lte")?, path)?),
        "between" => {
            let items = as_array(obj.req("between")?, path)?;
            if items.len() != 2 {
                return Err(Error::spec(path, "must be [low, high]"));
            }
            let lo = Number::of_json(&items[0], &index_path(path, 0))?;
            let hi = Number::of_json(&items[1], &index_path(path, 1))?;
            if lo.decimal().order(&hi.decimal()).is_gt() {
                return Err(Error::spec(path, "low must not be greater than high"));
            }
            Op::Between(lo, hi)
        }
        "present" => match obj.opt_bool("present")? {
            Some(b) => Op::Present(b),
            None => unreachable!("present was checked"),
        },
        _ => unreachable!("operator list is closed"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamptz_text_in_utc() {
        for (ts, want) in [
            ("2026-12-04 03:00:00", "2026-12-04 03:00:00+00"),
            ("2026-12-04 03:00:00.5", "2026-12-04 03:00:00.5+00"),
            ("0044-03-15 12:00:00 BC", "0044-03-15 12:00:00+00 BC"),
            (
                "294276-12-31 23:59:59.999999",
                "294276-12-31 23:59:59.999999+00",
            ),
            ("infinity", "infinity"),
            ("-infinity", "-infinity"),
        ] {
            assert_eq!(utc_timestamptz_text(ts), want, "{ts}");
        }
    }

    #[test]
    fn integers_compare_exactly() {
        use std::cmp::Ordering::*;
        let num = |j: &str| Number::of_json(&serde_json::from_str(j).unwrap(), "$").unwrap();
        let big = num("9007199254740993");
        assert_eq!(Value::Int(9_007_199_254_740_992).compare(&big), Some(Less));
        assert_eq!(Value::Int(9_007_199_254_740_993).compare(&big), Some(Equal));
        assert_eq!(
            Value::Int(i64::MAX).compare(&num("9223372036854775807")),
            Some(Equal)
        );
        assert_eq!(
            Value::Int(i64::MAX).compare(&num("18446744073709551615")),
            Some(Less)
        );
        // Against a fraction or an exponent, still exact.
        assert_eq!(Value::Int(100).compare(&num("100.5")), Some(Less));
        assert_eq!(Value::Int(101).compare(&num("100.5")), Some(Greater));
        assert_eq!(Value::Int(-101).compare(&num("-100.5")), Some(Less));
        assert_eq!(Value::Int(1000).compare(&num("1e3")), Some(Equal));
        assert_eq!(Value::Int(i64::MIN).compare(&num("-1e300")), Some(Greater));
        // A numeric's text and text that reads as an integer, against an integer.
        let dec = |t: &'static str| Value::Decimal(t.parse::<f64>().unwrap(), t);
        assert_eq!(dec("9007199254740993.00").compare(&big), Some(Equal));
        assert_eq!(dec("9007199254740993.01").compare(&big), Some(Greater));
        assert_eq!(dec("9007199254740992.99").compare(&big), Some(Less));
        assert_eq!(dec("-3.5").compare(&num("-3")), Some(Less));
        assert_eq!(dec("-3.5").compare(&num("-4")), Some(Greater));
        assert_eq!(dec("-0.5").compare(&num("0")), Some(Less));
        assert_eq!(
            dec("123456789012345678901234567890123456789012").compare(&big),
            Some(Greater)
        );
        let i128_max = "170141183460469231731687303715884105727";
        let max_text = Number::of_text(i128_max).unwrap();
        assert_eq!(dec(i128_max).compare(&max_text), Some(Equal));
        assert_eq!(
            dec("170141183460469231731687303715884105728").compare(&max_text),
            Some(Greater)
        );
        assert_eq!(
            Value::Text(" +9007199254740993 ").compare(&big),
            Some(Equal)
        );
        assert_eq!(
            Value::Text("9.007199254740993e15").compare(&big),
            Some(Equal)
        ); // float8: both round alike
        assert_eq!(Value::Text("abc").compare(&big), None);
        assert_eq!(Value::Decimal(f64::NAN, "NaN").compare(&big), None);
        // eq, in and the order operators go through it; a float8 column stays float8.
        let eq = |j: &str, v: Value| {
            eval_op(
                &Op::Eq(Literal::parse(&serde_json::from_str(j).unwrap(), "$").unwrap()),
                &v,
            )
        };
        assert!(eq("9007199254740993", Value::Int(9_007_199_254_740_993)));
        assert!(!eq("9007199254740993", Value::Int(9_007_199_254_740_992)));
        assert!(eq(
            "\"9007199254740993\"",
            Value::Int(9_007_199_254_740_993)
        ));
        assert!(!eq(
            "\"9007199254740993\"",
            Value::Int(9_007_199_254_740_992)
        ));
        assert!(eval_op(
            &Op::Gt(num("9007199254740992")),
            &Value::Int(9_007_199_254_740_993)
        ));
        assert!(eval_op(&Op::Between(num("5"), num("5")), &Value::Int(5)));
        assert!(!eval_op(&Op::Between(num("5"), num("5")), &dec("5.1")));
    }

    #[test]
    fn blank_text_is_absent_and_numbers_have_text() {
        assert!(!Value::Text("   ").is_present());
        assert!(!Value::Text("").is_present());
        assert!(Value::Text("x").is_present());
        assert!(Value::Num(0.0).is_present());
        let contains = |needle: &str, v: Value| eval_op(&Op::Contains(needle.into()), &v);
        assert!(contains("0.1", Value::Real(0.1)));
        // Numeric operators compare a real at the decimal it prints as.
        assert_eq!(Value::Real(0.1).as_float(), Some(0.1));
        assert_eq!(Value::Real(12.3).as_float(), Some(12.3));
        assert_eq!(Value::Real(16_777_217.0).as_float(), Some(16_777_216.0));
        assert_eq!(Value::Real(1e-7).as_float(), Some(1e-7));
        assert_eq!(Value::Real(3.4028235e38).as_float(), Some(3.4028235e38));
        assert_eq!(Value::Real(f32::INFINITY).as_float(), Some(f64::INFINITY));
        assert!(!contains("0000001", Value::Real(0.1)));
        assert!(contains(".50", Value::Decimal(100.5, "100.50")));
        assert!(contains("42", Value::Num(42.0)));
        assert!(contains(
            "9007199254740993",
            Value::Int(9_007_199_254_740_993)
        ));
        assert!(contains(
            "1000000000000000",
            Value::Int(1_000_000_000_000_000)
        ));
        assert!(contains("tru", Value::Bool(true)));
        assert!(!eval_op(&Op::Present(true), &Value::Text(" ")));
        assert!(eval_op(&Op::Present(false), &Value::Text(" ")));
    }
}
