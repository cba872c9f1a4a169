//! Conditions on lead attributes and event properties, compiled once per model.

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
    Num(f64),
    Bool(bool),
}

impl Value<'_> {
    fn as_number(&self) -> Option<f64> {
        match *self {
            Value::Num(n) => Some(n),
            Value::Text(t) => t.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Literal {
    Text { text: String, number: Option<f64> },
    Num(f64),
    Bool(bool),
}

impl Literal {
    fn parse(value: &Json, path: &str) -> Result<Self> {
        match value {
            Json::String(s) => Ok(Literal::Text {
                text: s.clone(),
                number: s.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
            }),
            Json::Number(_) => Ok(Literal::Num(finite_number(value, path)?)),
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
                Value::Num(v),
            ) => n == v,
            (Literal::Num(n), v) => v.as_number() == Some(*n),
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
    Gt(f64),
    Gte(f64),
    Lt(f64),
    Lte(f64),
    Between(f64, f64),
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
        return (!matches!(value, Value::Null)) == *want;
    }
    if matches!(value, Value::Null) {
        return false;
    }
    match op {
        Op::Eq(lit) => lit.matches(value),
        Op::In(list) => list.iter().any(|lit| lit.matches(value)),
        Op::Contains(needle) => match value {
            Value::Text(t) => t.contains(needle.as_str()),
            _ => false,
        },
        Op::Regex(re) => match value {
            Value::Text(t) => re.is_match(t),
            Value::Num(n) => re.is_match(&n.to_string()),
            Value::Bool(b) => re.is_match(if *b { "true" } else { "false" }),
            Value::Null => false,
        },
        Op::Gt(x) => value.as_number().is_some_and(|v| v > *x),
        Op::Gte(x) => value.as_number().is_some_and(|v| v >= *x),
        Op::Lt(x) => value.as_number().is_some_and(|v| v < *x),
        Op::Lte(x) => value.as_number().is_some_and(|v| v <= *x),
        Op::Between(lo, hi) => value.as_number().is_some_and(|v| v >= *lo && v <= *hi),
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
        "gt" => Op::Gt(obj.req_f64("gt")?),
        "gte" => Op::Gte(obj.req_f64("gte")?),
        "lt" => Op::Lt(obj.req_f64("lt")?),
        "lte" => Op::Lte(obj.req_f64("lte")?),
        "between" => {
            let items = as_array(obj.req("between")?, path)?;
            if items.len() != 2 {
                return Err(Error::spec(path, "must be [low, high]"));
            }
            let lo = finite_number(&items[0], &index_path(path, 0))?;
            let hi = finite_number(&items[1], &index_path(path, 1))?;
            if lo > hi {
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
