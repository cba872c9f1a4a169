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

#[cfg(test)]
mod tests {
    use super::*;

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
