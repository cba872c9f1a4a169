//! SQL generation: every statement lead_score builds at run time comes from
//! typed structs here, and every identifier and literal in it goes through
//! [`ident`] or [`literal`]. No user text is ever placed inside a dollar quote:
//! generated function bodies are themselves quoted with [`literal`].

pub mod attach;
pub mod learn;

/// A quoted identifier: always double-quoted, embedded quotes doubled. Always
/// quoting means no keyword list to keep and no case folding to reason about.
pub fn ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A quoted string literal, as PostgreSQL's `quote_literal`: single quotes
/// doubled, and an `E''` literal with doubled backslashes when the text has a
/// backslash, so it reads the same whatever `standard_conforming_strings` is.
pub fn literal(text: &str) -> String {
    let backslash = text.contains('\\');
    let mut out = String::with_capacity(text.len() + 3);
    if backslash {
        out.push('E');
    }
    out.push('\'');
    for c in text.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            _ => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A schema-qualified name, quoted part by part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qualified {
    pub schema: String,
    pub name: String,
}

impl Qualified {
    pub fn new(schema: &str, name: &str) -> Self {
        Qualified {
            schema: schema.to_string(),
            name: name.to_string(),
        }
    }

    pub fn to_sql(&self) -> String {
        format!("{}.{}", ident(&self.schema), ident(&self.name))
    }
}

/// The schema of lead_score's public API: what users call and read.
pub const SCHEMA: &str = "lead_score";

/// The schema of everything else: internal functions, score states, pending
/// events and the generated trigger functions, kept out of `\\df lead_score.*`
/// and out of what a BI tool lists.
pub const INTERNAL_SCHEMA: &str = "lead_score_internal";

/// A name in the lead_score schema.
pub fn ours(name: &str) -> String {
    Qualified::new(SCHEMA, name).to_sql()
}

/// A name in the internal schema.
pub fn internal(name: &str) -> String {
    Qualified::new(INTERNAL_SCHEMA, name).to_sql()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_always_quoted() {
        assert_eq!(ident("leads"), "\"leads\"");
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(ident("$body$; DROP"), "\"$body$; DROP\"");
        assert_eq!(ident("Ünï côdé"), "\"Ünï côdé\"");
    }

    #[test]
    fn literals_escape_quotes_and_backslashes() {
        assert_eq!(literal("x"), "'x'");
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(literal("a\\b"), "E'a\\\\b'");
        assert_eq!(
            literal("$$'; COPY x TO PROGRAM 'id'"),
            "'$$''; COPY x TO PROGRAM ''id'''"
        );
    }

    #[test]
    fn qualified_names() {
        assert_eq!(Qualified::new("crm", "Leads").to_sql(), "\"crm\".\"Leads\"");
        assert_eq!(ours("x_current"), "\"lead_score\".\"x_current\"");
        assert_eq!(internal("x_scores"), "\"lead_score_internal\".\"x_scores\"");
    }
}
