//! A strict reader over `serde_json::Value` that tracks the JSON path, so every
//! rejection names the exact place in the spec: `engagement.rules[2].decay.half_life`.

use crate::error::{Error, Result};
use serde_json::{Map, Value};

pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

pub(crate) fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

pub(crate) fn index_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// Reads a JSON number as a finite f64. Strings such as "NaN" are named explicitly
/// because they are the usual way NaN sneaks into JSON.
pub(crate) fn finite_number(value: &Value, path: &str) -> Result<f64> {
    match value {
        Value::Number(n) => {
            let parsed = n.as_f64().or_else(|| n.to_string().parse::<f64>().ok());
            match parsed {
                Some(x) if x.is_finite() => Ok(x),
                _ => Err(Error::spec(path, "must be a finite number")),
            }
        }
        Value::String(s)
            if matches!(
                s.trim().to_ascii_lowercase().as_str(),
                "nan" | "infinity" | "-infinity" | "+infinity" | "inf" | "-inf"
            ) =>
        {
            Err(Error::spec(
                path,
                "must be a finite number, not NaN or Infinity",
            ))
        }
        other => Err(Error::spec(
            path,
            format!("must be a number, got {}", type_name(other)),
        )),
    }
}

/// One JSON object being read. `finish` rejects keys nobody asked for.
pub(crate) struct Obj<'a> {
    pub path: String,
    map: &'a Map<String, Value>,
    seen: Vec<&'static str>,
}

impl<'a> Obj<'a> {
    pub fn new(value: &'a Value, path: &str) -> Result<Self> {
        match value {
            Value::Object(map) => Ok(Obj {
                path: path.to_string(),
                map,
                seen: Vec::new(),
            }),
            other => Err(Error::spec(
                path,
                format!("must be an object, got {}", type_name(other)),
            )),
        }
    }

    pub fn path_of(&self, key: &str) -> String {
        child_path(&self.path, key)
    }

    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    pub fn opt(&mut self, key: &'static str) -> Option<&'a Value> {
        self.seen.push(key);
        self.map.get(key)
    }

    pub fn req(&mut self, key: &'static str) -> Result<&'a Value> {
        let path = self.path_of(key);
        self.opt(key)
            .ok_or_else(|| Error::spec(&path, "is required but missing"))
    }

    pub fn req_str(&mut self, key: &'static str) -> Result<&'a str> {
        let path = self.path_of(key);
        as_str(self.req(key)?, &path)
    }

    pub fn opt_str(&mut self, key: &'static str) -> Result<Option<&'a str>> {
        let path = self.path_of(key);
        self.opt(key).map(|v| as_str(v, &path)).transpose()
    }

    pub fn req_f64(&mut self, key: &'static str) -> Result<f64> {
        let path = self.path_of(key);
        finite_number(self.req(key)?, &path)
    }

    pub fn opt_f64(&mut self, key: &'static str) -> Result<Option<f64>> {
        let path = self.path_of(key);
        self.opt(key).map(|v| finite_number(v, &path)).transpose()
    }

    pub fn opt_bool(&mut self, key: &'static str) -> Result<Option<bool>> {
        let path = self.path_of(key);
        match self.opt(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(Error::spec(
                &path,
                format!("must be a boolean, got {}", type_name(other)),
            )),
        }
    }

    pub fn req_array(&mut self, key: &'static str) -> Result<&'a Vec<Value>> {
        let path = self.path_of(key);
        as_array(self.req(key)?, &path)
    }

    pub fn opt_array(&mut self, key: &'static str) -> Result<Option<&'a Vec<Value>>> {
        let path = self.path_of(key);
        self.opt(key).map(|v| as_array(v, &path)).transpose()
    }

    /// Rejects any key that was not read, naming the first one in document order.
    pub fn finish(self) -> Result<()> {
        for key in self.map.keys() {
            if !self.seen.iter().any(|k| k == key) {
                let mut known: Vec<&str> = self.seen.clone();
                known.sort_unstable();
                known.dedup();
                return Err(Error::spec(
                    &child_path(&self.path, key),
                    format!("unknown key (expected one of: {})", known.join(", ")),
                ));
            }
        }
        Ok(())
    }
}

pub(crate) fn as_str<'a>(value: &'a Value, path: &str) -> Result<&'a str> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(Error::spec(
            path,
            format!("must be a string, got {}", type_name(other)),
        )),
    }
}

pub(crate) fn as_array<'a>(value: &'a Value, path: &str) -> Result<&'a Vec<Value>> {
    match value {
        Value::Array(a) => Ok(a),
        other => Err(Error::spec(
            path,
            format!("must be an array, got {}", type_name(other)),
        )),
    }
}

pub(crate) fn non_empty_name<'a>(obj: &mut Obj<'a>, key: &'static str) -> Result<&'a str> {
    let path = obj.path_of(key);
    let name = obj.req_str(key)?;
    if name.trim().is_empty() {
        return Err(Error::spec(&path, "must not be empty"));
    }
    Ok(name)
}
