//! The keys of an attachment's stored column mapping
//! (`lead_score.attachments.mapping`), written once: `attach`'s check,
//! `_attach_install`'s check and both error messages derive from [`KEYS`].

/// Who writes a key of a stored mapping.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Writer {
    /// The caller of `attach` (the keys the README documents).
    Caller,
    /// `attach` itself, from the model's `engagement.properties`.
    Attach,
    /// `lead_score.distribute` on Citus, from the attachment's own tables.
    /// Every reader resolves these names to find the attachment's tables, so
    /// `_attach_install` refuses them: an admin calling it directly could
    /// otherwise point an attachment's reads at another role's table.
    Distribute,
}

/// Every key a stored mapping may hold, in the README's order.
pub const KEYS: [(&str, Writer); 9] = [
    ("lead_key", Writer::Caller),
    ("activity_lead_key", Writer::Caller),
    ("event_type", Writer::Caller),
    ("occurred_at", Writer::Caller),
    ("time_zone", Writer::Caller),
    ("properties", Writer::Caller),
    ("property_columns", Writer::Attach),
    ("citus_leads", Writer::Distribute),
    ("citus_activities", Writer::Distribute),
];

/// Who calls a check.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Check {
    /// `attach`: takes every key a stored mapping holds, so a stored mapping
    /// can be passed back as is; it keeps only the caller's.
    Attach,
    /// `_attach_install`: takes what `attach` hands it.
    Install,
}

impl Check {
    fn takes(self, writer: Writer) -> bool {
        match self {
            Check::Attach => true,
            Check::Install => writer != Writer::Distribute,
        }
    }

    /// The keys named as expected in the error (for `attach`, the caller's).
    pub fn expected(self) -> Vec<&'static str> {
        KEYS.iter()
            .filter(|(_, w)| match self {
                Check::Attach => *w == Writer::Caller,
                Check::Install => self.takes(*w),
            })
            .map(|(k, _)| *k)
            .collect()
    }

    /// The first of `keys` this check refuses, and its message.
    pub fn refuse<'a>(self, keys: impl IntoIterator<Item = &'a str>) -> Option<String> {
        let bad = keys
            .into_iter()
            .find(|key| !KEYS.iter().any(|(k, w)| k == key && self.takes(*w)))?;
        Some(format!(
            "mapping.{bad}: unknown key (expected {})",
            self.expected().join(", ")
        ))
    }
}

/// Names of the zone at offset 0 that PostgreSQL's `timezone(text, timestamp)`
/// may read as an abbreviation first: stored as `Etc/UTC`, which it cannot.
const UTC_ALIASES: [&str; 6] = ["utc", "uct", "universal", "zulu", "gmt", "greenwich"];

/// The zone an attachment stores for `mapping.time_zone` (`zone` given by the
/// caller, or the session's `TimeZone`), or why it cannot: `timezone(zone,
/// timestamp)` looks a name up among the session's `timezone_abbreviations`
/// before the zone database, so a name of letters alone (`CET`, `EST`, `IST`)
/// could mean another offset in another session. Every shipped abbreviation is
/// letters alone; an Area/Location name (`Europe/Paris`) or one with digits
/// (`PST8PDT`) is never one. The UTC aliases become `Etc/UTC`. (Whether the
/// zone database knows the name is checked by the caller.)
pub fn stored_zone(zone: &str) -> Result<String, String> {
    if !zone.is_empty() && zone.chars().all(|c| c.is_ascii_alphabetic()) {
        if UTC_ALIASES.contains(&zone.to_ascii_lowercase().as_str()) {
            return Ok("Etc/UTC".to_string());
        }
        return Err(format!(
            "\"{zone}\" can also be read as a time zone abbreviation, whose meaning depends on a session's timezone_abbreviations: name the zone by its area and location, such as \"Europe/Paris\""
        ));
    }
    Ok(zone.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_that_cannot_be_read_as_abbreviations() {
        assert_eq!(stored_zone("Europe/Berlin").as_deref(), Ok("Europe/Berlin"));
        assert_eq!(stored_zone("PST8PDT").as_deref(), Ok("PST8PDT"));
        assert_eq!(stored_zone("Etc/GMT+5").as_deref(), Ok("Etc/GMT+5"));
        for utc in ["UTC", "utc", "Zulu", "GMT", "UCT", "Universal", "Greenwich"] {
            assert_eq!(stored_zone(utc).as_deref(), Ok("Etc/UTC"), "{utc}");
        }
        for abbreviation in ["CET", "EST", "IST", "Japan"] {
            assert!(stored_zone(abbreviation).is_err(), "{abbreviation}");
        }
    }

    #[test]
    fn attach_takes_a_stored_mapping_back() {
        let stored = KEYS.iter().map(|(k, _)| *k);
        assert_eq!(Check::Attach.refuse(stored), None);
        assert_eq!(
            Check::Attach.refuse(["lead_key", "colour"]).as_deref(),
            Some(
                "mapping.colour: unknown key (expected lead_key, activity_lead_key, event_type, \
                 occurred_at, time_zone, properties)"
            )
        );
    }

    #[test]
    fn install_refuses_what_only_distribute_writes() {
        assert_eq!(
            Check::Install.refuse(["lead_key", "property_columns"]),
            None
        );
        assert_eq!(
            Check::Install
                .refuse(["lead_key", "citus_leads"])
                .as_deref(),
            Some(
                "mapping.citus_leads: unknown key (expected lead_key, activity_lead_key, \
                 event_type, occurred_at, time_zone, properties, property_columns)"
            )
        );
        assert!(Check::Install.refuse(["citus_activities"]).is_some());
    }
}
