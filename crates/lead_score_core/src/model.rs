//! A validated, compiled scoring model. Parsing is the only place a spec is read;
//! everything downstream works on these typed structures.

use crate::condition::{parse_cond, Cond};
use crate::error::{Error, Result};
use crate::interval::parse_interval;
use crate::predictive::{parse_predictive, Predictive};
use crate::reader::{as_str, index_path, non_empty_name, type_name, Obj};
use rustc_hash::FxHashMap;
use serde_json::Value as Json;

#[derive(Debug, Clone)]
pub struct Model {
    pub fit: FitModel,
    pub engagement: EngagementModel,
    pub classification: Classification,
    /// High-intent signals that alert sales at once.
    pub alerts: Vec<BurstAlert>,
    /// A logistic model beside the rule score, when the spec has one.
    pub predictive: Option<Predictive>,
    /// Account scores, when the spec names the account field.
    pub accounts: Option<crate::accounts::Accounts>,
}

/// `count` matching events within `within` (or any single event when count is 1).
#[derive(Debug, Clone)]
pub struct BurstAlert {
    pub name: String,
    pub events: Vec<String>,
    pub(crate) when: Option<Cond>,
    pub count: usize,
    pub within: Option<i64>,
}

impl BurstAlert {
    /// Whether `other` fires on the same sets of events: the same event
    /// types, condition, count and window (the name aside). A recompute keeps
    /// when such a burst last fired; a burst redefined under its name starts
    /// from the recomputed state's marks, so it does not fire on history.
    pub fn same_definition(&self, other: &BurstAlert) -> bool {
        self.events == other.events
            && self.count == other.count
            && self.within == other.within
            // Conditions hold compiled regexes: compared by their Debug form,
            // which shows each operator, operand and pattern.
            && format!("{:?}", self.when) == format!("{:?}", other.when)
    }

    pub(crate) fn matches(&self, event_type: &str, properties: &[crate::Value]) -> bool {
        self.events.iter().any(|e| e == event_type)
            && self.when.as_ref().is_none_or(|c| c.eval(properties))
    }
}

#[derive(Debug, Clone)]
pub struct FitModel {
    /// Lead attribute names, in slot order. The SQL layer maps each to a column.
    pub fields: Vec<String>,
    pub rules: Vec<FitRule>,
    pub(crate) missing_values: Vec<String>,
    pub completeness: Option<Completeness>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct FitRule {
    pub name: String,
    pub(crate) when: Cond,
    pub effect: FitEffect,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FitEffect {
    Points(f64),
    Disqualify,
}

#[derive(Debug, Clone)]
pub struct Completeness {
    pub slots: Vec<usize>,
    pub points: f64,
}

#[derive(Debug, Clone)]
pub struct EngagementModel {
    /// Names of the event properties passed to the aggregate, in argument order.
    pub properties: Vec<String>,
    pub rules: Vec<EngagementRule>,
    pub categories: Vec<Category>,
    pub cap: Option<f64>,
    pub floor_at_zero: bool,
    /// "Minus N points per full period without activity", applied to the total.
    pub inactivity: Option<StepDecay>,
    /// The per-event decay rules get unless they set their own.
    pub default_decay: EventDecay,
    pub(crate) rules_by_event: FxHashMap<String, Vec<u32>>,
}

#[derive(Debug, Clone)]
pub struct EngagementRule {
    pub name: String,
    pub events: Vec<String>,
    pub(crate) when: Option<Cond>,
    pub points: f64,
    pub category: Option<usize>,
    pub repeat: Repeat,
    pub decay: EventDecay,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Repeat {
    /// Every matching event counts (the default).
    Every,
    /// The rule counts once; with decay, its most recent event sets the age.
    Once,
    /// Every event counts, but the rule contributes at most this many points
    /// (in absolute value, so a negative rule is bounded too).
    Cap(f64),
}

/// Decay applied to each event's points according to its age.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EventDecay {
    None,
    /// points × 2^(−age / half_life); half-life in microseconds.
    Exponential {
        half_life: f64,
    },
    /// Events older than the window count 0.
    Window {
        window: i64,
    },
}

impl EventDecay {
    /// The factor an event of this age (microseconds, ≥ 0) keeps.
    #[inline]
    pub fn factor(&self, age: i64) -> f64 {
        match *self {
            EventDecay::None => 1.0,
            EventDecay::Exponential { half_life } => (-(age as f64) / half_life).exp2(),
            EventDecay::Window { window } => {
                if age <= window {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepDecay {
    pub points: f64,
    pub every: i64,
}

impl StepDecay {
    /// Points lost after `idle` microseconds without activity.
    pub fn penalty(&self, idle: i64) -> f64 {
        if idle <= 0 {
            return 0.0;
        }
        self.points * (idle / self.every) as f64
    }
}

#[derive(Debug, Clone)]
pub struct Category {
    pub name: String,
    pub cap: Option<f64>,
    pub watermark: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct Band {
    pub name: String,
    pub min: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct Classification {
    /// Sorted by `min`, highest first; a band without `min` catches everything.
    pub grades: Vec<Band>,
    pub labels: Vec<Band>,
    pub quadrant_fit: f64,
    pub quadrant_engagement: f64,
    pub mql_min_total: f64,
    pub mql_min_fit: Option<f64>,
}

impl Model {
    /// Parses and validates a spec given as JSON text.
    pub fn from_json_text(text: &str) -> Result<Model> {
        check_shape(text)?;
        let value: Json = serde_json::from_str(text).map_err(|e| Error::Json(e.to_string()))?;
        Model::from_json(&value)
    }

    pub fn from_json(spec: &Json) -> Result<Model> {
        let mut top = Obj::new(spec, "")?;
        if let Some(d) = top.opt("description") {
            as_str(d, "description")?;
        }
        let mut fit = parse_fit(top.req("fit")?)?;
        let engagement = parse_engagement(top.req("engagement")?)?;
        // Its conditions add their lead fields to the fit's slots.
        let predictive = match top.opt("predictive") {
            None => None,
            Some(v) => Some(parse_predictive(v, &mut fit.fields, &engagement)?),
        };
        let classification = parse_classification(top.req("classification")?)?;
        let alerts = match top.opt("alerts") {
            None => Vec::new(),
            Some(v) => parse_alerts(v, &engagement.properties)?,
        };
        let accounts = top
            .opt("accounts")
            .map(crate::accounts::parse_accounts)
            .transpose()?;
        top.finish()?;
        Ok(Model {
            fit,
            engagement,
            classification,
            alerts,
            predictive,
            accounts,
        })
    }
}

fn parse_fit(value: &Json) -> Result<FitModel> {
    let mut obj = Obj::new(value, "fit")?;
    let mut fields: Vec<String> = Vec::new();
    let mut resolve = |name: &str, path: &str| -> Result<usize> {
        if name.trim().is_empty() {
            return Err(Error::spec(path, "must not be empty"));
        }
        Ok(match fields.iter().position(|f| f == name) {
            Some(i) => i,
            None => {
                fields.push(name.to_string());
                fields.len() - 1
            }
        })
    };

    let missing_values = match obj.opt_array("missing_values")? {
        None => Vec::new(),
        Some(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| as_str(v, &index_path("fit.missing_values", i)).map(str::to_string))
            .collect::<Result<_>>()?,
    };

    let rules_path = obj.path_of("rules");
    let mut rules = Vec::new();
    for (i, rule) in obj.req_array("rules")?.iter().enumerate() {
        let path = index_path(&rules_path, i);
        let mut r = Obj::new(rule, &path)?;
        let name = non_empty_name(&mut r, "name")?.to_string();
        if rules.iter().any(|x: &FitRule| x.name == name) {
            return Err(Error::spec(
                &r.path_of("name"),
                format!("duplicate rule name \"{name}\""),
            ));
        }
        let when_path = r.path_of("when");
        let when = parse_cond(r.req("when")?, &when_path, &mut resolve)?;
        let effect = match (r.has("points"), r.has("disqualify")) {
            (true, false) => FitEffect::Points(points_at(&mut r, "points")?),
            (false, true) => match r.opt_bool("disqualify")? {
                Some(true) => FitEffect::Disqualify,
                _ => {
                    return Err(Error::spec(
                        &r.path_of("disqualify"),
                        "must be true (omit it for a points rule)",
                    ))
                }
            },
            (true, true) => {
                return Err(Error::spec(
                    &path,
                    "has both points and disqualify; use one",
                ))
            }
            (false, false) => {
                return Err(Error::spec(
                    &r.path_of("points"),
                    "is required but missing (or set \"disqualify\": true)",
                ))
            }
        };
        r.finish()?;
        rules.push(FitRule { name, when, effect });
    }

    let completeness = match obj.opt("completeness") {
        None => None,
        Some(v) => {
            let mut c = Obj::new(v, "fit.completeness")?;
            let fields_path = c.path_of("fields");
            let names = c.req_array("fields")?;
            if names.is_empty() {
                return Err(Error::spec(&fields_path, "must list at least one field"));
            }
            let mut slots = Vec::new();
            for (i, n) in names.iter().enumerate() {
                let p = index_path(&fields_path, i);
                slots.push(resolve(as_str(n, &p)?, &p)?);
            }
            let points = points_at(&mut c, "points")?;
            c.finish()?;
            Some(Completeness { slots, points })
        }
    };

    let min = obj.opt_f64("min")?;
    let max = obj.opt_f64("max")?;
    if let (Some(lo), Some(hi)) = (min, max) {
        if lo > hi {
            return Err(Error::spec("fit.min", "must not be greater than fit.max"));
        }
    }
    obj.finish()?;
    Ok(FitModel {
        fields,
        rules,
        missing_values,
        completeness,
        min,
        max,
    })
}

fn interval_at(obj: &mut Obj, key: &'static str) -> Result<i64> {
    let path = obj.path_of(key);
    let value = obj.req(key)?;
    let text = match value {
        Json::String(s) => s,
        other => {
            return Err(Error::spec(
                &path,
                format!(
                    "must be a positive interval such as \"30 days\", got {}",
                    type_name(other)
                ),
            ))
        }
    };
    parse_interval(text).ok_or_else(|| {
        if crate::interval::interval_too_long(text) {
            return Error::spec(
                &path,
                format!(
                    "must be at most {:.0} years, got \"{text}\"",
                    (crate::interval::MAX_INTERVAL_MICROS / 1e6 / (365.25 * 86_400.0)).floor()
                ),
            );
        }
        Error::spec(
            &path,
            format!("must be a positive interval such as \"30 days\", got \"{text}\""),
        )
    })
}

/// The largest spec, in bytes of JSON text.
pub const MAX_SPEC_BYTES: usize = 1 << 20;
/// The deepest nesting of objects and arrays a spec may have.
pub const MAX_SPEC_DEPTH: usize = 64;

/// Checks a spec's size and nesting before it is parsed, so an oversized or
/// too deeply nested spec is refused at once, with the JSON path where it
/// nests too deep, rather than running long or hitting a parser limit.
pub fn check_shape(text: &str) -> Result<()> {
    if text.len() > MAX_SPEC_BYTES {
        return Err(Error::spec(
            "$",
            format!(
                "is {} bytes, more than the {} a spec may have",
                text.len(),
                MAX_SPEC_BYTES
            ),
        ));
    }
    // Each open container: its path, and (for an array) the next index.
    let mut stack: Vec<(String, Option<usize>)> = Vec::new();
    let mut key: Option<String> = None;
    let mut chars = text.char_indices().peekable();
    let child_path = |stack: &[(String, Option<usize>)], key: &Option<String>| -> String {
        match stack.last() {
            None => String::new(),
            Some((path, Some(i))) => index_path(path, *i),
            Some((path, None)) => match key {
                Some(k) if path.is_empty() => k.clone(),
                Some(k) => format!("{path}.{k}"),
                None => path.clone(),
            },
        }
    };
    while let Some((_, c)) = chars.next() {
        match c {
            '"' => {
                let mut text = String::new();
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, e)) = chars.next() {
                                text.push(e);
                            }
                        }
                        '"' => break,
                        _ => text.push(c),
                    }
                }
                // A string followed by ':' is an object key.
                while chars.peek().is_some_and(|(_, c)| c.is_whitespace()) {
                    chars.next();
                }
                if chars.peek().is_some_and(|(_, c)| *c == ':') {
                    key = Some(text);
                }
            }
            '{' | '[' => {
                let path = child_path(&stack, &key);
                if stack.len() >= MAX_SPEC_DEPTH {
                    let shown = if path.is_empty() {
                        "$".to_string()
                    } else {
                        path
                    };
                    return Err(Error::spec(
                        &shown,
                        format!("nests deeper than {MAX_SPEC_DEPTH} levels"),
                    ));
                }
                stack.push((path, (c == '[').then_some(0)));
                key = None;
            }
            '}' | ']' => {
                stack.pop();
            }
            ',' => {
                if let Some((_, Some(i))) = stack.last_mut() {
                    *i += 1;
                }
                key = None;
            }
            _ => {}
        }
    }
    Ok(())
}

/// The largest number of points a rule may give or take. Engagement sums are
/// fixed point (1e-9 points) in 64 bits, exact up to about 9.2e9 points a rule
/// and lead: over 9,000 events of the largest rule.
pub const MAX_POINTS: f64 = 1e6;

/// The shortest exponential half-life. Live scores store events against a
/// landmark on the hour, and bound forward exponents at 512 half-lives, so an
/// hour must be well under 512 half-lives.
pub const MIN_HALF_LIFE_US: i64 = 60_000_000;

/// A rule's `points`, within ±[`MAX_POINTS`].
fn points_at(obj: &mut Obj, key: &'static str) -> Result<f64> {
    let path = obj.path_of(key);
    let points = obj.req_f64(key)?;
    if points.abs() > MAX_POINTS {
        return Err(Error::spec(
            &path,
            format!("must be between -1000000 and 1000000, got {points}"),
        ));
    }
    Ok(points)
}

enum ParsedDecay {
    Event(EventDecay),
    Step(StepDecay),
}

fn parse_decay(value: &Json, path: &str) -> Result<ParsedDecay> {
    let mut d = Obj::new(value, path)?;
    let kind_path = d.path_of("kind");
    let kind = d.req_str("kind")?;
    let parsed = match kind {
        "none" => ParsedDecay::Event(EventDecay::None),
        "exponential" => {
            let path = d.path_of("half_life");
            let half_life = interval_at(&mut d, "half_life")?;
            if half_life < MIN_HALF_LIFE_US {
                return Err(Error::spec(&path, "must be at least 1 minute"));
            }
            ParsedDecay::Event(EventDecay::Exponential {
                half_life: half_life as f64,
            })
        }
        "window" => ParsedDecay::Event(EventDecay::Window {
            window: interval_at(&mut d, "window")?,
        }),
        "step" => {
            let points_path = d.path_of("points");
            let points = points_at(&mut d, "points")?;
            if points <= 0.0 {
                return Err(Error::spec(&points_path, "must be a positive number"));
            }
            ParsedDecay::Step(StepDecay {
                points,
                every: interval_at(&mut d, "every")?,
            })
        }
        other => {
            return Err(Error::spec(
                &kind_path,
                format!(
                    "unknown decay kind \"{other}\" (expected exponential, step, window or none)"
                ),
            ))
        }
    };
    d.finish()?;
    Ok(parsed)
}

/// The most event properties a model can name (`engagement.properties`): the
/// engagement and live aggregates are declared for up to this many.
pub const MAX_PROPERTIES: usize = 3;

fn parse_engagement(value: &Json) -> Result<EngagementModel> {
    let mut obj = Obj::new(value, "engagement")?;

    let mut properties: Vec<String> = Vec::new();
    if let Some(items) = obj.opt_array("properties")? {
        if items.len() > MAX_PROPERTIES {
            return Err(Error::spec(
                "engagement.properties",
                format!("at most {MAX_PROPERTIES} properties, got {}", items.len()),
            ));
        }
        for (i, p) in items.iter().enumerate() {
            let path = index_path("engagement.properties", i);
            let name = as_str(p, &path)?;
            if name.trim().is_empty() {
                return Err(Error::spec(&path, "must not be empty"));
            }
            if properties.iter().any(|x| x == name) {
                return Err(Error::spec(&path, format!("duplicate property \"{name}\"")));
            }
            properties.push(name.to_string());
        }
    }

    let (default_decay, inactivity) = match obj.opt("decay") {
        None => (EventDecay::None, None),
        Some(v) => match parse_decay(v, "engagement.decay")? {
            ParsedDecay::Event(e) => (e, None),
            ParsedDecay::Step(s) => (EventDecay::None, Some(s)),
        },
    };

    let mut categories: Vec<Category> = Vec::new();
    if let Some(items) = obj.opt_array("categories")? {
        for (i, c) in items.iter().enumerate() {
            let path = index_path("engagement.categories", i);
            let mut co = Obj::new(c, &path)?;
            let name = non_empty_name(&mut co, "name")?.to_string();
            if categories.iter().any(|x| x.name == name) {
                return Err(Error::spec(
                    &co.path_of("name"),
                    format!("duplicate category \"{name}\""),
                ));
            }
            let cap_path = co.path_of("cap");
            let cap = co.opt_f64("cap")?;
            if cap.is_some_and(|c| c <= 0.0) {
                return Err(Error::spec(&cap_path, "must be a positive number"));
            }
            let watermark = co.opt_f64("watermark")?;
            co.finish()?;
            categories.push(Category {
                name,
                cap,
                watermark,
            });
        }
    }

    let rules_path = obj.path_of("rules");
    let mut rules: Vec<EngagementRule> = Vec::new();
    for (i, rule) in obj.req_array("rules")?.iter().enumerate() {
        let path = index_path(&rules_path, i);
        let mut r = Obj::new(rule, &path)?;
        let name = non_empty_name(&mut r, "name")?.to_string();
        if rules.iter().any(|x| x.name == name) {
            return Err(Error::spec(
                &r.path_of("name"),
                format!("duplicate rule name \"{name}\""),
            ));
        }
        let event_path = r.path_of("event");
        let events = parse_event_types(r.req("event")?, &event_path)?;
        let when = match r.opt("when") {
            None => None,
            Some(v) => Some(parse_cond(
                v,
                &format!("{path}.when"),
                &mut property_resolver(&properties),
            )?),
        };
        let points = points_at(&mut r, "points")?;
        let category = match r.opt_str("category")? {
            None => None,
            Some(c) => Some(categories.iter().position(|x| x.name == c).ok_or_else(|| {
                Error::spec(
                    &format!("{path}.category"),
                    format!("unknown category \"{c}\" (declare it in engagement.categories)"),
                )
            })?),
        };
        let repeat_path = r.path_of("repeat");
        let repeat = match r.opt("repeat") {
            None => Repeat::Every,
            Some(Json::String(s)) if s == "every" => Repeat::Every,
            Some(Json::String(s)) if s == "once" => Repeat::Once,
            Some(v @ Json::Object(_)) => {
                let mut ro = Obj::new(v, &repeat_path)?;
                let cap_path = ro.path_of("cap");
                let cap = ro.req_f64("cap")?;
                if cap <= 0.0 {
                    return Err(Error::spec(&cap_path, "must be a positive number"));
                }
                ro.finish()?;
                Repeat::Cap(cap)
            }
            Some(_) => {
                return Err(Error::spec(
                    &repeat_path,
                    "must be \"every\", \"once\" or {\"cap\": points}",
                ))
            }
        };
        let decay = match r.opt("decay") {
            None => default_decay,
            Some(v) => {
                let decay_path = format!("{path}.decay");
                match parse_decay(v, &decay_path)? {
                    ParsedDecay::Event(e) => e,
                    ParsedDecay::Step(_) => {
                        return Err(Error::spec(
                            &format!("{decay_path}.kind"),
                            "step decay applies to the whole engagement score; set it in engagement.decay",
                        ))
                    }
                }
            }
        };
        r.finish()?;
        rules.push(EngagementRule {
            name,
            events,
            when,
            points,
            category,
            repeat,
            decay,
        });
    }
    if rules.len() > u16::MAX as usize {
        return Err(Error::spec(&rules_path, "has too many rules"));
    }

    let cap_path = obj.path_of("cap");
    let cap = obj.opt_f64("cap")?;
    if cap.is_some_and(|c| c <= 0.0) {
        return Err(Error::spec(&cap_path, "must be a positive number"));
    }
    let floor_at_zero = obj.opt_bool("floor_at_zero")?.unwrap_or(false);
    obj.finish()?;

    let mut rules_by_event: FxHashMap<String, Vec<u32>> = FxHashMap::default();
    for (i, rule) in rules.iter().enumerate() {
        for e in &rule.events {
            let list = rules_by_event.entry(e.clone()).or_default();
            if !list.contains(&(i as u32)) {
                list.push(i as u32);
            }
        }
    }
    Ok(EngagementModel {
        properties,
        rules,
        categories,
        cap,
        floor_at_zero,
        inactivity,
        default_decay,
        rules_by_event,
    })
}

fn parse_event_types(value: &Json, path: &str) -> Result<Vec<String>> {
    match value {
        Json::String(s) if !s.is_empty() => Ok(vec![s.clone()]),
        Json::Array(items) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(j, v)| as_str(v, &index_path(path, j)).map(str::to_string))
            .collect(),
        _ => Err(Error::spec(
            path,
            "must be an event type or a non-empty array of event types",
        )),
    }
}

fn property_resolver(properties: &[String]) -> impl FnMut(&str, &str) -> Result<usize> + '_ {
    move |field: &str, p: &str| {
        properties.iter().position(|x| x == field).ok_or_else(|| {
            Error::spec(
                p,
                format!("unknown event property \"{field}\" (declare it in engagement.properties)"),
            )
        })
    }
}

const MAX_BURST_COUNT: usize = 64;

fn parse_alerts(value: &Json, properties: &[String]) -> Result<Vec<BurstAlert>> {
    let items = crate::reader::as_array(value, "alerts")?;
    let mut alerts: Vec<BurstAlert> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = index_path("alerts", i);
        let mut a = Obj::new(item, &path)?;
        let name = non_empty_name(&mut a, "name")?.to_string();
        if alerts.iter().any(|x| x.name == name) {
            return Err(Error::spec(
                &a.path_of("name"),
                format!("duplicate alert name \"{name}\""),
            ));
        }
        let event_path = a.path_of("event");
        let events = parse_event_types(a.req("event")?, &event_path)?;
        let when = match a.opt("when") {
            None => None,
            Some(v) => Some(parse_cond(
                v,
                &format!("{path}.when"),
                &mut property_resolver(properties),
            )?),
        };
        let count_path = a.path_of("count");
        let count = match a.opt_f64("count")? {
            None => 1,
            Some(c) if c >= 1.0 && c <= MAX_BURST_COUNT as f64 && c.fract() == 0.0 => c as usize,
            Some(_) => {
                return Err(Error::spec(
                    &count_path,
                    format!("must be a whole number from 1 to {MAX_BURST_COUNT}"),
                ))
            }
        };
        let within = if a.has("within") {
            Some(interval_at(&mut a, "within")?)
        } else {
            None
        };
        if count > 1 && within.is_none() {
            return Err(Error::spec(
                &a.path_of("within"),
                "is required when count is more than 1",
            ));
        }
        a.finish()?;
        alerts.push(BurstAlert {
            name,
            events,
            when,
            count,
            within,
        });
    }
    if alerts.len() > 64 {
        return Err(Error::spec("alerts", "has more than 64 alerts"));
    }
    Ok(alerts)
}

fn parse_bands(obj: &mut Obj, key: &'static str) -> Result<Vec<Band>> {
    let path = obj.path_of(key);
    let items = obj.req_array(key)?;
    if items.is_empty() {
        return Err(Error::spec(&path, "must list at least one band"));
    }
    let mut bands: Vec<Band> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = index_path(&path, i);
        let mut b = Obj::new(item, &p)?;
        let name = non_empty_name(&mut b, "name")?.to_string();
        if bands.iter().any(|x| x.name == name) {
            return Err(Error::spec(
                &b.path_of("name"),
                format!("duplicate name \"{name}\""),
            ));
        }
        let min = b.opt_f64("min")?;
        if min.is_none() && bands.iter().any(|x| x.min.is_none()) {
            return Err(Error::spec(
                &p,
                "only one band may omit min (the catch-all)",
            ));
        }
        if min.is_some() && bands.iter().any(|x| x.min == min) {
            return Err(Error::spec(
                &b.path_of("min"),
                "two bands share the same min",
            ));
        }
        b.finish()?;
        bands.push(Band { name, min });
    }
    bands.sort_by(|a, b| {
        let ka = a.min.unwrap_or(f64::NEG_INFINITY);
        let kb = b.min.unwrap_or(f64::NEG_INFINITY);
        kb.total_cmp(&ka)
    });
    Ok(bands)
}

fn parse_classification(value: &Json) -> Result<Classification> {
    let mut obj = Obj::new(value, "classification")?;
    let grades = parse_bands(&mut obj, "grades")?;
    let labels = parse_bands(&mut obj, "labels")?;
    let mut q = Obj::new(obj.req("quadrant")?, "classification.quadrant")?;
    let quadrant_fit = q.req_f64("fit")?;
    let quadrant_engagement = q.req_f64("engagement")?;
    q.finish()?;
    let mut m = Obj::new(obj.req("mql")?, "classification.mql")?;
    let mql_min_total = m.req_f64("min_total")?;
    let mql_min_fit = m.opt_f64("min_fit")?;
    m.finish()?;
    obj.finish()?;
    Ok(Classification {
        grades,
        labels,
        quadrant_fit,
        quadrant_engagement,
        mql_min_total,
        mql_min_fit,
    })
}
