//! `attach` and `detach`: bind the SQL generator (`lead_score_core::sqlgen`) to
//! the catalogs. The caller's rights are checked as the caller; the generated
//! statements then run as the extension's owner (see `owner.rs`).

use crate::errors::{raise_code, raise_detail, OrRaise, OrRaiseWith};
use crate::owner::{extension_owner, has_role, run_as};
use lead_score_core::mapping::Check;
use lead_score_core::sqlgen::attach::{
    current_views_statements, drop_statements, lock_exclusive, lock_exclusive_nowait, valid_name,
    Attachment, Column, Mode, Placement, Query, Statement, TextOf, ADMIN_ROLE,
};
use lead_score_core::sqlgen::Qualified;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;
use std::ffi::CString;

/// An attachment's row, read as the caller.
struct Row {
    model: String,
    leads: pg_sys::Oid,
    activities: pg_sys::Oid,
    mapping: serde_json::Value,
    mode: String,
    /// This version's manual adjustments are installed (not 0.1.0's schema
    /// before ALTER EXTENSION UPDATE).
    adjustments_installed: bool,
}

fn read_row(attachment: &str) -> Option<Row> {
    Spi::connect(|client| {
        let table = client.select(
            // On Citus the row is a reference table's, the same on every node, but
            // a regclass is an OID of the coordinator: lead_score.distribute adds
            // the tables' names to the mapping, which every node resolves.
            &format!(
                "SELECT a.model, coalesce(pg_catalog.to_regclass(a.mapping ->> 'citus_leads'), a.leads)::oid, \
                        coalesce(pg_catalog.to_regclass(a.mapping ->> 'citus_activities'), a.activities)::oid, \
                        a.mapping::text, a.mode, \
                        pg_catalog.to_regclass('lead_score_internal._adjustment_sums') IS NOT NULL \
                 FROM {} a WHERE a.name = $1",
                crate::citus::config_table("attachments")
            ),
            Some(1),
            &[attachment.into()],
        )?;
        if table.is_empty() {
            return Ok::<_, pgrx::spi::Error>(None);
        }
        let row = table.first();
        let mapping: String = row.get(4)?.unwrap_or_default();
        Ok(Some(Row {
            model: row.get(1)?.unwrap_or_default(),
            leads: row.get(2)?.unwrap_or(pg_sys::InvalidOid),
            activities: row.get(3)?.unwrap_or(pg_sys::InvalidOid),
            mapping: serde_json::from_str(&mapping).unwrap_or_default(),
            mode: row.get(5)?.unwrap_or_default(),
            adjustments_installed: row.get(6)?.unwrap_or_default(),
        }))
    })
    .or_raise()
}

fn undefined_attachment(attachment: &str) -> ! {
    raise_code(
        PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
        format!("lead_score attachment \"{attachment}\" does not exist"),
    )
}

/// A table's schema, name and kind; `None` if it no longer exists.
pub(crate) fn relation(oid: pg_sys::Oid) -> Option<(Qualified, String)> {
    Spi::connect(|client| {
        let table = client.select(
            "SELECT n.nspname::text, c.relname::text, c.relkind::text FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1",
            Some(1),
            &[oid.into()],
        )?;
        if table.is_empty() {
            return Ok::<_, pgrx::spi::Error>(None);
        }
        let row = table.first();
        let schema: String = row.get(1)?.unwrap_or_default();
        let name: String = row.get(2)?.unwrap_or_default();
        let kind: String = row.get(3)?.unwrap_or_default();
        Ok(Some((Qualified::new(&schema, &name), kind)))
    })
    .unwrap_or(None)
}

/// A type's schema and name.
fn type_name(oid: pg_sys::Oid) -> Qualified {
    let found = Spi::connect(|client| {
        let table = client.select(
            "SELECT n.nspname::text, t.typname::text FROM pg_catalog.pg_type t \
             JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE t.oid = $1",
            Some(1),
            &[oid.into()],
        )?;
        let row = table.first();
        Ok::<_, pgrx::spi::Error>((row.get::<String>(1)?, row.get::<String>(2)?))
    });
    match found {
        Ok((Some(schema), Some(name))) => Qualified::new(&schema, &name),
        _ => raise_code(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("lead_score: type {} does not exist", oid.to_u32()),
        ),
    }
}

fn format_type(oid: pg_sys::Oid) -> String {
    Spi::get_one_with_args::<String>("SELECT pg_catalog.format_type($1, NULL)", &[oid.into()])
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// A mapped column as the triggers read it.
struct Mapped {
    column: Column,
    /// The column's own type and its base type (the same unless a domain).
    typid: pg_sys::Oid,
    base: pg_sys::Oid,
}

/// A column's number in `table`, if it has one of that name (not dropped).
fn attnum(table: pg_sys::Oid, column: &str) -> Option<pg_sys::AttrNumber> {
    let name = CString::new(column).ok()?;
    // SAFETY: a syscache lookup by a NUL-terminated name; get_attnum returns
    // InvalidAttrNumber (0) for a missing or dropped column.
    let n = unsafe { pg_sys::get_attnum(table, name.as_ptr()) };
    (n > 0).then_some(n)
}

/// Looks a mapped column up and decides how generated code may turn it into
/// text. Only built-in types and enums: for any other type, some function of
/// another role (a cast, an operator, its I/O) could run in the triggers.
fn mapped(table: pg_sys::Oid, qualified: &Qualified, key: &str, column: &str) -> Mapped {
    let Some(attnum) = attnum(table, column) else {
        raise_code(
            PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
            format!(
                "mapping.{key}: column \"{column}\" does not exist in {}",
                qualified.to_sql()
            ),
        );
    };
    // SAFETY: the column exists (checked above); these only read syscaches.
    let (typid, base, typtype) = unsafe {
        let typid = pg_sys::get_atttype(table, attnum);
        let base = pg_sys::getBaseType(typid);
        (typid, base, pg_sys::get_typtype(base) as u8)
    };
    let text = if base.to_u32() < pg_sys::FirstNormalObjectId {
        if crate::stable_text::depends_on_settings(typid) {
            TextOf::Stable
        } else {
            TextOf::Cast
        }
    } else if typtype == b'e' {
        TextOf::Output
    } else {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!(
                "mapping.{key}: column \"{column}\" of {} has type {}, which lead_score's triggers do not read",
                qualified.to_sql(),
                format_type(typid)
            ),
            "Triggers run with their owner's rights, so they only read built-in types and enums: a cast, operator or I/O function of any other type would run with those rights.",
        );
    };
    Mapped {
        column: Column::new(column, text),
        typid,
        base,
    }
}

fn mapping_str<'a>(mapping: &'a serde_json::Value, key: &str) -> &'a str {
    mapping.get(key).and_then(|v| v.as_str()).unwrap_or("")
}

/// Checks the caller may attach or detach: a lead_score admin with SELECT and
/// TRIGGER on the table (checked as the caller, as CREATE TRIGGER would).
fn check_table_rights(table: pg_sys::Oid, qualified: &Qualified, what: &str) {
    for privilege in ["SELECT", "TRIGGER"] {
        let ok = Spi::get_one_with_args::<bool>(
            "SELECT pg_catalog.has_table_privilege($1, $2)",
            &[table.into(), privilege.into()],
        );
        if ok != Ok(Some(true)) {
            raise_code(
                PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
                format!(
                    "permission denied to {what} {}: needs SELECT and TRIGGER on it",
                    qualified.to_sql()
                ),
            );
        }
    }
}

fn check_admin(what: &str) {
    if !has_role(ADMIN_ROLE) {
        raise_code(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("permission denied to {what}: needs the privileges of role {ADMIN_ROLE}"),
        );
    }
}

fn run_all(statements: &[Statement]) {
    // lead_score's own DDL: the guard lets it drop the attachment's triggers.
    crate::ddl_guard::own_ddl(|| run_each(statements))
}

fn run_each(statements: &[Statement]) {
    for s in statements {
        Spi::run(crate::layout::for_catalog(&s.sql).as_ref())
            .or_raise_with(|| format!("lead_score: could not create {}", s.what));
    }
}

/// Regenerates `lead_score.current_scores` and `current_categories` over every attachment but those
/// in `excluding` (being detached), as the extension's owner: `attach`,
/// `detach`, attachments following their dropped tables, and updates. One at a
/// time: concurrent attaches and detaches queue on a transaction lock, and each
/// reads the attachments committed before it got it.
fn refresh_current_scores(excluding: &[&str]) {
    run_as(extension_owner(), || {
        lock_current_views();
        // Between installing this version's library and ALTER EXTENSION
        // UPDATE, the view is still 0.1.0's, a member of the extension over a
        // function: left alone until the update replaces it.
        let older = Spi::get_one::<bool>(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
             WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype = 'e' \
               AND d.objid = pg_catalog.to_regclass('lead_score.current_scores'))",
        );
        if matches!(older, Ok(Some(true))) {
            return;
        }
        let names = attachment_names_now();
        let attachments: Vec<Attachment> = names
            .iter()
            .filter(|n| !excluding.contains(&n.as_str()))
            .map(|n| load(n, false))
            .collect();
        let exists = relation_exists(c"lead_score", "current_scores");
        run_all(&current_views_statements(&attachments, exists));
    });
}

/// The transaction lock that orders every change of the views over all
/// attachments (`current_scores`, `current_categories`). `attach`, `detach`
/// and attachments following their dropped tables take it before any table
/// lock, so two of them wait for each other instead of deadlocking.
pub(crate) fn lock_current_views() {
    crate::locks::wait(crate::locks::Lock::CurrentViews);
}

/// Whether a table (its OID, or its name as text) is a hash-distributed Citus table.
fn hash_distributed(table: pgrx::datum::DatumWithOid) -> bool {
    matches!(
        Spi::get_one_with_args::<bool>(
            crate::layout::for_catalog(
                "SELECT lead_score_internal._citus_method($1::regclass) = 'h'"
            )
            .as_ref(),
            &[table],
        ),
        Ok(Some(true))
    )
}

/// Whether the schema has a relation of this name.
fn relation_exists(schema: &std::ffi::CStr, name: &str) -> bool {
    matches!(
        Spi::get_one_with_args::<bool>(
            "SELECT pg_catalog.to_regclass(pg_catalog.format('%I.%I', $1::text, $2::text)) IS NOT NULL",
            &[schema.to_str().unwrap_or_default().into(), name.into()],
        ),
        Ok(Some(true))
    )
}

/// The account heads table of a model that has accounts, if the attachment
/// has none yet (a version added the accounts section, or an update added the
/// table), before the statements that comment on it and fill it.
/// Returns whether it created it.
fn account_heads_if_missing(att: &Attachment) -> bool {
    use lead_score_core::sqlgen::attach::names;
    let missing = att.account.is_some()
        && !relation_exists(
            crate::layout::internal_schema(),
            &names::account_heads(&att.name),
        );
    if missing {
        run_all(&[att.account_heads_table()]);
    }
    missing
}

/// The stale-marker table of an attachment made before this version had one,
/// before the folds that read it are replaced.
fn stale_if_missing(att: &Attachment) {
    use lead_score_core::sqlgen::attach::names;
    if !relation_exists(crate::layout::internal_schema(), &names::stale(&att.name)) {
        run_all(&[att.stale_table(), att.stale_index()]);
    }
}

/// The pending table's index of a `sync` attachment made before this version
/// had one ([`Attachment::pending_index`]).
fn pending_index_if_missing(att: &Attachment) {
    use lead_score_core::sqlgen::attach::names;
    if let Some(index) = att.pending_index() {
        if !relation_exists(
            crate::layout::internal_schema(),
            &names::pending_index(&att.name),
        ) {
            run_all(&[index]);
        }
    }
}

/// In a `sync` writer's `PREPARE TRANSACTION` (src/commit_fold.rs): its
/// events stay pending for `tick()`, so the leads of its pending rows (the
/// rows at `tids`, or every pending row for `None`) are recorded as a fold
/// records the rows it leaves behind
/// (`lead_score_core::sqlgen::attach::Attachment::stale_table`). All of it as
/// the extension's owner, lookups included: the writer needs no rights on
/// lead_score's schemas. Nothing for an attachment detached in the transaction.
pub(crate) fn record_stale(attachment: &str, tids: Option<&[pg_sys::ItemPointerData]>) {
    use lead_score_core::sqlgen::attach::names;
    run_as(extension_owner(), || {
        if !relation_exists(crate::layout::internal_schema(), &names::stale(attachment)) {
            return;
        }
        let att = load(attachment, false);
        if !att.tracks_stale() {
            return;
        }
        let result = match tids {
            Some(t) => Spi::run_with_args(
                crate::layout::for_catalog(&att.query(Query::RecordStale)).as_ref(),
                &[t.to_vec().into()],
            ),
            None => {
                Spi::run(crate::layout::for_catalog(&att.query(Query::RecordStaleAll)).as_ref())
            }
        };
        result.or_raise_with(|| {
            format!("lead_score attachment \"{attachment}\": could not record its pending rows")
        });
    });
}

/// Every attachment committed by now, with this transaction's own changes,
/// whatever the isolation level: under REPEATABLE READ the transaction's
/// snapshot may predate an attach that committed while this one waited for
/// [`lock_current_views`], and the views must not lose it.
fn attachment_names_now() -> Vec<String> {
    let query =
        c"SELECT pg_catalog.string_agg(a.name, ',' ORDER BY a.name) FROM lead_score.attachments a";
    // SAFETY: a fresh snapshot is made active for the one read-only query below
    // (read-only SPI reads with the active snapshot) and popped right after; if
    // the query raises, transaction abort unwinds the snapshot stack.
    let row = unsafe {
        pg_sys::PushActiveSnapshot(pg_sys::GetLatestSnapshot());
        let row = crate::catalog::query_row(query, &[]);
        pg_sys::PopActiveSnapshot();
        row
    };
    // Attachment names are identifiers (valid_name), so a comma separates them.
    row.and_then(|r| r.into_iter().next().flatten())
        .map(|names| names.split(',').map(str::to_string).collect())
        .unwrap_or_default()
}

/// Builds an attachment from its row and the catalogs: the tables' names and
/// the mapped columns' types. With `check_rights`, also checks the caller may
/// attach those tables (for `attach`; readers need no rights on them).
pub(crate) fn load(attachment: &str, check_rights: bool) -> Attachment {
    let row = existing_row(attachment);
    let mut tables = Vec::new();
    for (oid, what) in [(row.leads, "leads"), (row.activities, "activities")] {
        let Some((q, kind)) = relation(oid) else {
            raise_code(
                PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE,
                format!(
                    "lead_score attachment \"{attachment}\": its {what} table no longer exists"
                ),
            );
        };
        if kind != "r" && kind != "p" {
            raise_code(
                PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
                format!("{what}: {} is not a table", q.to_sql()),
            );
        }
        if check_rights {
            check_table_rights(oid, &q, "attach");
        }
        tables.push(q);
    }
    if row.leads == row.activities {
        raise_code(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "leads and activities must be different tables",
        );
    }
    let (leads, activities) = (tables[0].clone(), tables[1].clone());
    let m = &row.mapping;
    let lead_key = mapped(row.leads, &leads, "lead_key", mapping_str(m, "lead_key"));
    let akey = mapped(
        row.activities,
        &activities,
        "activity_lead_key",
        mapping_str(m, "activity_lead_key"),
    );
    if akey.base != lead_key.base {
        raise_code(
            PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
            format!(
                "mapping.activity_lead_key: {}.{} is {}, but {}.{} is {}",
                activities.to_sql(),
                akey.column.name,
                format_type(akey.typid),
                leads.to_sql(),
                lead_key.column.name,
                format_type(lead_key.typid)
            ),
        );
    }
    let event_type = mapped(
        row.activities,
        &activities,
        "event_type",
        mapping_str(m, "event_type"),
    );
    let occurred_at = mapped(
        row.activities,
        &activities,
        "occurred_at",
        mapping_str(m, "occurred_at"),
    );
    if ![
        pg_sys::TIMESTAMPTZOID,
        pg_sys::TIMESTAMPOID,
        pg_sys::DATEOID,
    ]
    .contains(&occurred_at.base)
    {
        raise_code(
            PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
            format!(
                "mapping.occurred_at: column \"{}\" is {}, not a timestamp",
                occurred_at.column.name,
                format_type(occurred_at.typid)
            ),
        );
    }
    // A timestamptz is an instant already (`_attach_install` refuses a zone
    // for one); before 0.2.0 no zone was stored (each session's TimeZone).
    let time_zone = m
        .get("time_zone")
        .and_then(|v| v.as_str())
        .filter(|_| occurred_at.base != pg_sys::TIMESTAMPTZOID)
        .map(str::to_string);
    let properties: Vec<Mapped> = m
        .get("property_columns")
        .and_then(|v| v.as_array())
        .map(|cols| {
            cols.iter()
                .map(|c| {
                    mapped(
                        row.activities,
                        &activities,
                        "properties",
                        c.as_str().unwrap_or(""),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if properties.len() > lead_score_core::MAX_PROPERTIES {
        raise_code(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("at most {} properties", lead_score_core::MAX_PROPERTIES),
        );
    }
    let mode = match row.mode.as_str() {
        "deferred" => Mode::Deferred,
        _ => Mode::Sync,
    };
    let text_like = |t: pg_sys::Oid| t == pg_sys::TEXTOID || t == pg_sys::VARCHAROID;
    // The C trigger copies values as they are, so their stored types must match.
    let fast_append = akey.typid == lead_key.base
        && occurred_at.typid == pg_sys::TIMESTAMPTZOID
        && text_like(event_type.typid)
        && properties.iter().all(|p| text_like(p.typid));
    let account = account_column(&row.model, row.leads, &leads);
    let distributed = distributed(&row.mapping, row.leads);
    let adjustments = row.adjustments_installed
        && !distributed
        && stable_text(lead_key.base, lead_key.column.text);
    let key_type = type_name(lead_key.base);
    // 0.1.0's catalog has no _stable_text: its triggers keep the cast.
    let catalog_0_1 = !crate::layout::updated();
    let column = |m: Mapped| match m.column.text {
        TextOf::Stable if catalog_0_1 => Column::new(&m.column.name, TextOf::Cast),
        _ => m.column,
    };
    Attachment {
        name: attachment.to_string(),
        model: row.model,
        leads,
        activities,
        lead_key: column(lead_key),
        activity_lead_key: column(akey),
        event_type: column(event_type),
        occurred_at: occurred_at.column.name,
        time_zone,
        properties: properties.into_iter().map(column).collect(),
        key_type,
        mode,
        fast_append,
        placement: None,
        account,
        adjustments,
        // Before ALTER EXTENSION UPDATE from 0.1.0 there is no
        // _fold_at_commit: sync keeps 0.1.0's in-statement path (src/layout.rs).
        sync_in_statement: distributed || catalog_0_1,
        catalog_0_1,
    }
}

/// Whether Citus distributes an attachment's tables, where manual adjustments
/// are not supported yet: its mapping names them for every node to resolve
/// (`_distribute_tables`), or, before that (inside `attach`), Citus says so
/// of its leads. Only a database with Citus installed pays for the query.
fn distributed(mapping: &serde_json::Value, leads: pg_sys::Oid) -> bool {
    if mapping.get("citus_leads").is_some() {
        return true;
    }
    // SAFETY: a syscache lookup by a NUL-terminated name; missing_ok.
    if unsafe { pg_sys::get_extension_oid(c"citus".as_ptr(), true) } == pg_sys::InvalidOid {
        return false;
    }
    // SAFETY: the one argument is an oid datum, as $1 is.
    let method = unsafe {
        crate::catalog::query_row(
            c"SELECT lead_score_internal._citus_method($1::pg_catalog.regclass) IS NOT DISTINCT FROM 'h'",
            &[(pg_sys::OIDOID, pg_sys::Datum::from(leads))],
        )
    };
    method
        .and_then(|r| r.into_iter().next().flatten())
        .as_deref()
        == Some("t")
}

/// Whether a key type's text is the same in every session (no DateStyle,
/// TimeZone or extra_float_digits in it), so manual adjustments, kept by the
/// key as text, find their lead from any session: integers, numeric, text,
/// varchar, char, uuid and enums.
fn stable_text(base: pg_sys::Oid, text: TextOf) -> bool {
    text == TextOf::Output
        || [
            pg_sys::INT2OID,
            pg_sys::INT4OID,
            pg_sys::INT8OID,
            pg_sys::NUMERICOID,
            pg_sys::TEXTOID,
            pg_sys::VARCHAROID,
            pg_sys::BPCHAROID,
            pg_sys::UUIDOID,
        ]
        .contains(&base)
}

/// `_adjustable(attachment)`: why manual adjustments cannot be made on an
/// attachment, or NULL when they can (see `Attachment::adjustments`).
#[pg_extern(
    name = "_adjustable",
    schema = "lead_score_internal",
    stable,
    strict,
    parallel_safe
)]
fn adjustable(attachment: &str) -> Option<String> {
    if load(attachment, false).adjustments {
        return None;
    }
    let distributed = read_row(attachment).is_some_and(|r| distributed(&r.mapping, r.leads));
    Some(if distributed {
        format!("lead_score attachment \"{attachment}\" is distributed by Citus, where manual adjustments are not supported yet")
    } else {
        format!("lead_score attachment \"{attachment}\": manual adjustments need a lead key of type integer, numeric, text, varchar, char, uuid or an enum, whose text is the same in every session")
    })
}

/// The leads column of the model's `accounts.field`, if its current version
/// has an `accounts` section, the column exists, the attachment is not on Citus
/// (account views are not supported there yet) and this version's account
/// functions are installed (not between installing the library and ALTER
/// EXTENSION UPDATE). `attach` and publishing refuse a missing column
/// ([`check_account_field`]); anything else goes on without the account views,
/// so renaming or dropping the column never stops tick(), reads or detach.
fn account_column(model: &str, table: pg_sys::Oid, leads: &Qualified) -> Option<Column> {
    let field = crate::catalog::resolve(model)
        .compiled
        .model
        .accounts
        .as_ref()?
        .field
        .clone();
    attnum(table, &field)?;
    // Read-only SPI, as readers in parallel workers load attachments too.
    // SAFETY: the one argument is an oid datum, as $1 is.
    let usable = unsafe {
        crate::catalog::query_row(
            c"SELECT pg_catalog.to_regprocedure('lead_score.account_engaged(text, float8)') IS NOT NULL \
               AND lead_score_internal._citus_method($1::pg_catalog.regclass) IS DISTINCT FROM 'h'",
            &[(pg_sys::OIDOID, pg_sys::Datum::from(table))],
        )
    };
    if usable
        .and_then(|r| r.into_iter().next().flatten())
        .as_deref()
        != Some("t")
    {
        return None;
    }
    Some(mapped(table, leads, "accounts.field", &field).column)
}

/// Refuses a model whose `accounts.field` is not a column of the attachment's
/// leads table (`attach`, publishing a version).
fn check_account_field(att: &Attachment, leads: pg_sys::Oid) {
    let Some(accounts) = &crate::catalog::resolve(&att.model).compiled.model.accounts else {
        return;
    };
    if attnum(leads, &accounts.field).is_none() {
        raise_code(
            PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
            format!(
                "accounts.field: column \"{}\" does not exist in {}",
                accounts.field,
                att.leads.to_sql()
            ),
        );
    }
    // The account views group by the column as it is, in its collation;
    // tick()'s account checks by its text. A case-insensitive collation
    // would merge two accounts in the views and split them in the alerts.
    let nondeterministic = Spi::get_one_with_args::<bool>(
        "SELECT NOT co.collisdeterministic FROM pg_catalog.pg_attribute a \
         JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation \
         WHERE a.attrelid = $1 AND a.attname = $2::pg_catalog.name",
        &[leads.into(), accounts.field.as_str().into()],
    );
    if matches!(nondeterministic, Ok(Some(true))) {
        raise_code(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!(
                "accounts.field: column \"{}\" of {} has a nondeterministic collation, which account scores do not support: accounts must be equal only when their text is",
                accounts.field,
                att.leads.to_sql()
            ),
        );
    }
}

/// Whether the account views read the column now named `field` of `leads`
/// (by its number, as PostgreSQL's dependencies record it): not after the
/// column was renamed and another added under its name, nor once the views
/// went with a dropped column. `tick()` checks no account then, as the views
/// show none.
fn account_views_read(att: &Attachment, leads: pg_sys::Oid, field: &str) -> bool {
    use lead_score_core::sqlgen::attach::names;
    let Some(column) = attnum(leads, field) else {
        return false;
    };
    let view = format!(
        "lead_score.{}",
        lead_score_core::sqlgen::ident(&names::accounts(&att.name))
    );
    matches!(
        Spi::get_one_with_args::<bool>(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
                JOIN pg_catalog.pg_rewrite r ON r.oid OPERATOR(pg_catalog.=) d.objid \
                WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass \
                  AND r.ev_class OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1) \
                  AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass \
                  AND d.refobjid OPERATOR(pg_catalog.=) $2 AND d.refobjsubid OPERATOR(pg_catalog.=) $3)",
            &[view.into(), leads.into(), i32::from(column).into()],
        ),
        Ok(Some(true))
    )
}

/// Raises 22023 for the first key of `mapping` that `check` refuses
/// (`lead_score_core::mapping` lists the keys and who writes each).
fn check_mapping_keys(mapping: &serde_json::Value, check: Check) {
    let Some(object) = mapping.as_object() else {
        raise_code(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "mapping: must be a JSON object such as {\"lead_key\": \"id\"}",
        );
    };
    refuse_keys(object.keys().map(String::as_str), check);
}

/// Raises 22023 naming the first of `keys` that `check` refuses.
fn refuse_keys<'a>(keys: impl IntoIterator<Item = &'a str>, check: Check) {
    if let Some(message) = check.refuse(keys) {
        raise_code(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, message);
    }
}

/// `attach`'s check of its caller's mapping's keys: every key a stored mapping
/// holds, so a stored mapping can be passed back as is (`attach` keeps only
/// the caller's keys).
#[pg_extern(
    name = "_check_mapping_keys",
    schema = "lead_score_internal",
    immutable,
    strict,
    parallel_safe
)]
fn check_attach_mapping_keys(keys: Vec<Option<String>>) -> bool {
    // The keys, not the mapping: a JSON value nested deeper than serde's
    // limit would fail to convert before any check (XX000).
    let keys = crate::errors::no_null_elements(keys, "keys");
    refuse_keys(keys.iter().map(String::as_str), Check::Attach);
    true
}

/// Writes an attachment's row and creates its objects (tables, views, trigger
/// functions and triggers) for `attach`, which has validated the mapping.
/// Checks everything that matters for safety itself, since an admin may call
/// it directly: the caller's role and rights on both tables, the table kinds
/// and the column types. Admins cannot write `lead_score.attachments` but
/// through here, `detach` and `tick()`.
#[pg_extern(
    name = "_attach_install",
    schema = "lead_score_internal",
    volatile,
    strict,
    parallel_unsafe
)]
fn attach_install(
    attachment: &str,
    model: &str,
    leads: pg_sys::Oid,
    activities: pg_sys::Oid,
    mapping: pgrx::JsonB,
    mode: &str,
) -> bool {
    check_admin("attach");
    if !valid_name(attachment) {
        raise_code(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("attachment name \"{attachment}\" must be a lower-case identifier of at most 41 characters"),
        );
    }
    // Models that cannot be live are refused here too, not only by attach.
    lead_score_core::live::check_attachable(&crate::catalog::resolve(model).compiled.model)
        .or_raise();
    check_mapping_keys(&mapping.0, Check::Install);
    let mapping = pgrx::JsonB(with_time_zone(mapping.0, activities));
    let owner = extension_owner();
    // An attach waits for a publish in flight and scores with the version it
    // made, and a publish waits for this attach and rescores it. Read before,
    // the version a publish was replacing scored the leads, no rescore
    // reached them, and every read merging them with new events failed
    // (22023).
    lock_model_row(owner, model);
    check_property_columns(owner, model, &mapping.0);
    // Before any table lock: see lock_current_views.
    lock_current_views();
    // Under that lock, which attaches queue on: two cannot both pass.
    check_names_free(attachment);
    if let Some(refusal) = sibling_refusals(attachment, model, leads, activities, false)
        .into_iter()
        .next()
    {
        refusal.raise();
    }
    run_as(owner, || {
        Spi::run_with_args(
            crate::layout::for_catalog("INSERT INTO lead_score.attachments (name, model, leads, activities, mapping, landmark, mode) \
             VALUES ($1, $2, $3::pg_catalog.regclass, $4::pg_catalog.regclass, $5, \
                     pg_catalog.date_trunc('hour', lead_score_internal._now()), $6)").as_ref(),
            &[
                attachment.into(),
                model.into(),
                leads.into(),
                activities.into(),
                mapping.into(),
                mode.into(),
            ],
        ).or_raise();
    });
    // The caller's rights on both tables, checked as the caller.
    let att = load(attachment, true);
    if let Some(refusal) = refusals(&att, leads, activities).into_iter().next() {
        refusal.raise();
    }
    check_account_field(&att, leads);
    run_as(owner, || run_all(&att.create_statements()));
    // attach() records which accounts alert once it has scored the leads.
    // On Citus, a view over a distributed table cannot name a table that is not
    // distributed yet: attach() refreshes the views over every attachment once
    // _distribute_tables has distributed this one's (sql/live.sql).
    let distributed = hash_distributed(leads.into());
    let this = [attachment];
    refresh_current_scores(if distributed { &this } else { &[] });
    true
}

/// The mapping to store, with `time_zone` checked and, for a `timestamp` or
/// `date` activity time (or a domain over one), set: the zone every writer and
/// reader takes its values in, the caller's `mapping.time_zone` or else the
/// session's `TimeZone` now. Without one, each session would read the same
/// value as another instant, and the live scores of writers in different zones
/// would differ from every recompute. A zone for a timestamptz, whose values are
/// instants, is refused; so is a name that `timezone()` could read as an
/// abbreviation, whose meaning depends on a session's `timezone_abbreviations`
/// (`lead_score_core::mapping::stored_zone`, which stores the UTC aliases as
/// `Etc/UTC`), and one the zone database does not list (`pg_timezone_names`).
/// A missing or unreadable column is left to `load`.
fn with_time_zone(mut mapping: serde_json::Value, activities: pg_sys::Oid) -> serde_json::Value {
    let column = mapping_str(&mapping, "occurred_at").to_string();
    let Some(attnum) = attnum(activities, &column) else {
        return mapping;
    };
    // SAFETY: the column exists (above); these only read syscaches.
    let base = unsafe { pg_sys::getBaseType(pg_sys::get_atttype(activities, attnum)) };
    let local = base == pg_sys::TIMESTAMPOID || base == pg_sys::DATEOID;
    // The zone, and whose it is (for messages): the caller's, or the session's.
    let (zone, whose) = match mapping.get("time_zone") {
        None if local => {
            // SAFETY: reads a built-in setting by a NUL-terminated name; the
            // result is copied before anything can change it.
            let current = unsafe {
                let value = pg_sys::GetConfigOption(c"TimeZone".as_ptr(), false, false);
                (!value.is_null())
                    .then(|| std::ffi::CStr::from_ptr(value).to_string_lossy().into_owned())
            };
            let current = current.unwrap_or_else(|| "UTC".to_string());
            (current, "the session's TimeZone")
        }
        None => return mapping,
        Some(serde_json::Value::String(zone)) if local => (zone.clone(), "time zone"),
        Some(serde_json::Value::String(_)) if base == pg_sys::TIMESTAMPTZOID => raise_code(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "mapping.time_zone: column \"{column}\" is timestamp with time zone, whose values are instants: no time zone applies"
            ),
        ),
        Some(serde_json::Value::String(_)) => return mapping,
        Some(other) => raise_code(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "mapping.time_zone: must be a time zone name (a JSON string) such as \"Europe/Berlin\", got {other}"
            ),
        ),
    };
    let zone = lead_score_core::mapping::stored_zone(&zone).unwrap_or_else(|why| {
        raise_code(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("mapping.time_zone: {whose} {why}"),
        )
    });
    // A name of the zone database, not a POSIX string ("5" is UTC-5 there,
    // the opposite of SET TIME ZONE 5): attach runs this once.
    let known = Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_timezone_names z WHERE z.name = $1)",
        &[zone.as_str().into()],
    );
    if known != Ok(Some(true)) {
        raise_code(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "mapping.time_zone: {whose} \"{zone}\" is not a name from pg_timezone_names, such as \"Europe/Berlin\" or \"Etc/UTC\""
            ),
        );
    }
    if let Some(object) = mapping.as_object_mut() {
        object.insert("time_zone".into(), serde_json::Value::String(zone));
    }
    mapping
}

/// Why `attach` refuses a table, a key column or a name: raised by `attach`,
/// and reported as a WARNING by an update for an attachment made before the
/// refusal existed (`_report_refusals`).
struct Refusal {
    code: PgSqlErrorCode,
    message: String,
    detail: Option<String>,
    /// For an existing attachment: how to attach it again once detached.
    again: &'static str,
}

impl Refusal {
    fn raise(self) -> ! {
        if let Some(detail) = self.detail {
            ereport!(ERROR, self.code, self.message, detail);
        }
        raise_code(self.code, self.message)
    }

    /// For an attachment that exists: it keeps working as before, and the
    /// WARNING says what to do.
    fn warn(self, attachment: &str) {
        let mut report = pg_sys::panic::ErrorReport::new(
            self.code,
            format!(
                "lead_score attachment \"{attachment}\" would be refused by attach now: {}",
                self.message
            ),
            "report_refusals",
        )
        .set_hint(format!(
            "It works as before until then: detach it with lead_score.detach('{attachment}') and attach it again {}.",
            self.again
        ));
        if let Some(detail) = self.detail {
            report = report.set_detail(detail);
        }
        report.report(pgrx::PgLogLevel::WARNING);
    }
}

/// Refuses an attachment name any of whose objects
/// (`lead_score_core::sqlgen::attach::names::all`) another attachment has or
/// may create (`names::shared`: `x_account` and `x`, whose account views, once
/// its model has accounts, include `x_account_categories`), or that an object of
/// lead_score's schemas already has (`current` would create
/// `current_categories`, the view of every attachment's categories).
fn check_names_free(attachment: &str) {
    use lead_score_core::sqlgen::attach::names;
    let ours = names::all(attachment);
    let (others, taken): (Vec<String>, Option<String>) = run_as(extension_owner(), || {
        Spi::connect(|client| {
            let mut others = Vec::new();
            for row in client.select(
                "SELECT a.name FROM lead_score.attachments a WHERE a.name <> $1 ORDER BY 1",
                None,
                &[attachment.into()],
            )? {
                others.extend(row.get::<String>(1)?);
            }
            let mut taken = None;
            for row in client.select(
                    "SELECT n.nspname || '.' || x.name FROM (                          SELECT c.relnamespace AS ns, c.relname::pg_catalog.text AS name FROM pg_catalog.pg_class c                          UNION ALL SELECT p.pronamespace, p.proname::pg_catalog.text FROM pg_catalog.pg_proc p) x                      JOIN pg_catalog.pg_namespace n ON n.oid = x.ns                      WHERE n.nspname IN ('lead_score', 'lead_score_internal') AND x.name = ANY ($1)                      ORDER BY 1 LIMIT 1",
                    None,
                &[ours.clone().into()],
            )? {
                taken = row.get::<String>(1)?;
            }
            Ok::<_, pgrx::spi::Error>((others, taken))
        })
        .or_raise()
    });
    if let Some((other, name)) = others
        .iter()
        .find_map(|o| names::shared(attachment, o).map(|n| (o, n)))
    {
        name_taken(format!("attachment name \"{attachment}\" would create \"{name}\", a name of attachment \"{other}\" too"));
    }
    if let Some(name) = taken {
        name_taken(format!(
            "attachment name \"{attachment}\" would create {name}, which exists"
        ));
    }
    // Before the first attachment they do not exist yet, and this one would
    // make them (its own view first, then `CREATE VIEW` of lead_score's
    // failed with 42P07).
    if let Some(name) = ours
        .iter()
        .find(|n| names::UNION_VIEWS.contains(&n.as_str()))
    {
        name_taken(format!(
            "attachment name \"{attachment}\" would create an object named {name}, as lead_score's view of every attachment is"
        ));
    }
}

/// What [`check_names_free`] refuses between this attachment and another one
/// made before such names were refused (0.1.0 had no account views): the
/// pair `x` and `x_account`, once to each pair (the other name comes first).
/// Both work until a version with accounts is published for `x`'s model.
fn name_refusals(attachment: &str) -> Vec<Refusal> {
    use lead_score_core::sqlgen::attach::names;
    let others = run_as(extension_owner(), || other_attachments(attachment));
    others
        .iter()
        .filter(|o| o.as_str() < attachment)
        .filter_map(|other| names::shared(attachment, other).map(|name| (other, name)))
        .map(|(other, name)| {
            // Whose account view the name is: that one's model cannot get accounts.
            let owner = if account_names_of(attachment).contains(&name) {
                attachment
            } else {
                other.as_str()
            };
            Refusal {
                code: PgSqlErrorCode::ERRCODE_DUPLICATE_OBJECT,
                message: format!(
                    "attachment name \"{attachment}\" would create \"{name}\", a name of attachment \"{other}\" too"
                ),
                detail: Some(format!(
                    "A version with accounts for the model of \"{owner}\" would fail to publish: its account view \"{name}\" is the other attachment's view. Every other version publishes."
                )),
                again: "under another name",
            }
        })
        .collect()
}

/// `duplicate_object` (42710), as for a name in use, with the same hint.
fn name_taken(message: String) -> ! {
    pg_sys::panic::ErrorReport::new(
        PgSqlErrorCode::ERRCODE_DUPLICATE_OBJECT,
        message,
        "check_names_free",
    )
    .set_hint("Pass another name => '...'.")
    .report(pgrx::PgLogLevel::ERROR);
    unreachable!("an ERROR does not return")
}

/// A name whose triggers would fire in another order, for some kind of write,
/// than those of another attachment of the same model to one of the same
/// tables (`lead_score_core::sqlgen::attach::trigger_orders_agree`): a publish
/// of that model could then deadlock with such a write. Every such sibling,
/// in name order; with `earlier_only`, only those before this name, so each
/// pair is reported once.
fn sibling_refusals(
    attachment: &str,
    model: &str,
    leads: pg_sys::Oid,
    activities: pg_sys::Oid,
    earlier_only: bool,
) -> Vec<Refusal> {
    let siblings: Vec<String> = run_as(extension_owner(), || {
        Spi::connect(|client| {
            let rows = client.select(
                "SELECT a.name FROM lead_score.attachments a \
                 WHERE a.model = $1 AND a.name <> $2 \
                   AND (a.leads::pg_catalog.oid IN ($3, $4) OR a.activities::pg_catalog.oid IN ($3, $4)) \
                 ORDER BY 1",
                None,
                &[model.into(), attachment.into(), leads.into(), activities.into()],
            )?;
            let mut out = Vec::new();
            for row in rows {
                out.extend(row.get::<String>(1)?);
            }
            Ok::<_, pgrx::spi::Error>(out)
        })
        .or_raise()
    });
    siblings
        .iter()
        .filter(|o| !earlier_only || o.as_str() < attachment)
        .filter(|o| !lead_score_core::sqlgen::attach::trigger_orders_agree(attachment, o))
        .map(|other| Refusal {
            code: PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            message: format!("attachment name \"{attachment}\": its triggers would fire before those of \"{other}\" (model \"{model}\", the same tables) for some writes and after them for others"),
            detail: Some("A publish of the model could then deadlock with a write. Pick a name whose order against the other one is the same for every trigger, such as one ending in \"_d\" or starting with another letter.".into()),
            again: "under such a name",
        })
        .collect()
}

/// What `attach` refuses in an attachment's tables, in this order: a table
/// that is partitioned, a partition, or in an inheritance hierarchy (a write
/// through another table of the hierarchy, a partition written directly or a
/// parent's UPDATE of a child's rows, fires only that table's statement
/// triggers, so it would not be scored; the `lead_score_guard_ddl` event
/// trigger keeps attached tables out of one, src/ddl_guard.rs); and a key
/// column with a nondeterministic collation (a case-insensitive ICU one, say:
/// keys its collation calls equal differ as the score and pending tables store
/// and compare them, so an event of `alice` would not reach the lead `Alice`).
fn refusals(att: &Attachment, leads: pg_sys::Oid, activities: pg_sys::Oid) -> Vec<Refusal> {
    let fields = crate::catalog::resolve(&att.model)
        .compiled
        .model
        .fit
        .fields
        .clone();
    let mut out = fit_field_refusals(att, leads, &fields);
    out.extend(table_refusals(att, leads, activities));
    out
}

/// The fit fields of `fields` that the lead triggers could not read from
/// `leads`: a field that is no column (every lead write would fail, 42703),
/// or a column of a type they do not read (`crate::row::trigger_readable`:
/// every write by a role other than the table's owner would fail, 42501).
/// Checked by `attach`, and by publishing for each attachment of the model
/// ([`check_fit_fields`]), where once only a first lead write found them.
fn fit_field_refusals(att: &Attachment, leads: pg_sys::Oid, fields: &[String]) -> Vec<Refusal> {
    let mut out = Vec::new();
    for field in fields {
        let Some(attnum) = attnum(leads, field) else {
            out.push(Refusal {
                code: PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
                message: format!(
                    "model \"{}\" reads fit field \"{field}\", which is not a column of {}",
                    att.model,
                    att.leads.to_sql()
                ),
                detail: None,
                again: "once the model or the table has the field",
            });
            continue;
        };
        // SAFETY: the column exists (found above); a syscache lookup.
        let typid = unsafe { pg_sys::get_atttype(leads, attnum) };
        if !crate::row::trigger_readable(typid) {
            out.push(Refusal {
                code: PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                message: format!(
                    "model \"{}\" reads fit field \"{field}\", column of {} of type {}, which lead_score's triggers do not read (built-in types, enums, domains over them and arrays of those only)",
                    att.model,
                    att.leads.to_sql(),
                    format_type(typid)
                ),
                detail: None,
                again: "with the field mapped to a column of such a type",
            });
        }
    }
    out
}

/// `_check_fit_fields(model, version)`: publishing (`create_model`, for an
/// attached model, before its rescore) refuses a version whose fit fields an
/// attachment of the model could not read (see [`fit_field_refusals`]),
/// naming the attachment. Not `attach`'s check (`refusals`), which is of the
/// table being attached alone.
#[pg_extern(
    name = "_check_fit_fields",
    schema = "lead_score_internal",
    volatile,
    strict,
    parallel_unsafe
)]
fn check_fit_fields_of_version(model: &str, version: i32) -> bool {
    let compiled = crate::catalog::resolve(&format!("{model}@{version}")).compiled;
    check_fit_fields(model, &compiled.model.fit.fields);
    true
}

fn check_fit_fields(model: &str, fields: &[String]) {
    let names = run_as(extension_owner(), || {
        attachment_names("a.model OPERATOR(pg_catalog.=) $1", model)
    });
    for name in names {
        let att = load(&name, false);
        let leads = existing_row(&name).leads;
        if let Some(mut refusal) = fit_field_refusals(&att, leads, fields).into_iter().next() {
            refusal.detail = Some(format!(
                "Attachment \"{name}\" scores {} with model \"{model}\": publishing this version would fail its lead writes.",
                att.leads.to_sql()
            ));
            refusal.raise();
        }
    }
}

/// What `attach` refuses of the tables and key columns themselves.
fn table_refusals(att: &Attachment, leads: pg_sys::Oid, activities: pg_sys::Oid) -> Vec<Refusal> {
    let tables = [
        (leads, &att.leads, "leads"),
        (activities, &att.activities, "activities"),
    ];
    let keys = [
        (leads, &att.leads, "lead_key", &att.lead_key.name),
        (
            activities,
            &att.activities,
            "activity_lead_key",
            &att.activity_lead_key.name,
        ),
    ];
    let mut out = Vec::new();
    for (table, qualified, what) in tables {
        let in_hierarchy = Spi::get_one_with_args::<bool>(
            "SELECT c.relkind = 'p' OR c.relispartition \
                    OR EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid OR i.inhparent = c.oid) \
             FROM pg_catalog.pg_class c WHERE c.oid = $1",
            &[table.into()],
        );
        if matches!(in_hierarchy, Ok(Some(true))) {
            out.push(Refusal {
                code: PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                message: format!(
                    "{what}: {} is partitioned, a partition, or has inheritance parents or children, which attach does not support: writes through another table of the hierarchy would not be scored",
                    qualified.to_sql()
                ),
                detail: None,
                again: "once this is fixed",
            });
        }
    }
    // One score row per lead: the lead key must be unique and never NULL.
    let key = &att.lead_key.name;
    let not_null = Spi::get_one_with_args::<bool>(
        "SELECT a.attnotnull FROM pg_catalog.pg_attribute a \
         WHERE a.attrelid = $1 AND a.attname = $2::pg_catalog.name",
        &[leads.into(), key.as_str().into()],
    );
    if !crate::ddl_guard::key_index_exists(leads, key, &[]) {
        out.push(Refusal {
            code: PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            message: format!(
                "mapping.lead_key: column \"{key}\" of {} has no unique index of its own (a primary key, or a UNIQUE constraint on it alone, not deferrable), which attach needs: two lead rows with one key would share one score",
                att.leads.to_sql()
            ),
            detail: None,
            again: "once this is fixed",
        });
    } else if matches!(not_null, Ok(Some(false))) {
        out.push(Refusal {
            code: PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            message: format!(
                "mapping.lead_key: column \"{key}\" of {} may be NULL, which attach does not support: a lead needs a key (make it NOT NULL)",
                att.leads.to_sql()
            ),
            detail: None,
            again: "once this is fixed",
        });
    }
    for (table, qualified, key, column) in keys {
        let nondeterministic = Spi::get_one_with_args::<bool>(
            "SELECT NOT co.collisdeterministic FROM pg_catalog.pg_attribute a \
             JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation \
             WHERE a.attrelid = $1 AND a.attname = $2::pg_catalog.name",
            &[table.into(), column.as_str().into()],
        );
        if matches!(nondeterministic, Ok(Some(true))) {
            out.push(Refusal {
                code: PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                message: format!(
                    "mapping.{key}: column \"{column}\" of {} has a nondeterministic collation, which attach does not support: lead keys must be equal only when they are the same",
                    qualified.to_sql()
                ),
                detail: None,
                again: "once this is fixed",
            });
        }
    }
    // Writers lock a lead's stripe by a hash of its key, and the generated
    // functions name the key's type: a type with no hash function (money,
    // bit) failed every lead insert once attached, and an array key failed
    // inside attach (`type pg_catalog._int4[] does not exist`).
    let key_type = Spi::get_one_with_args::<String>(
        "SELECT a.atttypid::pg_catalog.int8::pg_catalog.text || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod) \
         FROM pg_catalog.pg_attribute a WHERE a.attrelid = $1 AND a.attname = $2::pg_catalog.name",
        &[leads.into(), key.as_str().into()],
    );
    if let Ok(Some(found)) = key_type {
        let (oid, shown) = found.split_once(' ').unwrap_or((found.as_str(), ""));
        let oid = pg_sys::Oid::from(oid.parse::<u32>().unwrap_or(0));
        // SAFETY: catalog lookups of a column's type, which exists; the type
        // cache entry is read at once and stays valid for the backend.
        let (array, hashable) = unsafe {
            let base = pg_sys::getBaseType(oid);
            let entry = pg_sys::lookup_type_cache(base, pg_sys::TYPECACHE_HASH_PROC as i32);
            (
                pg_sys::get_element_type(base) != pg_sys::InvalidOid,
                (*entry).hash_proc != pg_sys::InvalidOid,
            )
        };
        let why = if array {
            Some("an array type")
        } else if !hashable {
            Some("a type with no hash function (writers lock a lead by a hash of its key)")
        } else {
            None
        };
        if let Some(why) = why {
            out.push(Refusal {
                code: PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                message: format!(
                    "mapping.lead_key: column \"{key}\" of {} is of type {shown}, {why}, which attach does not support as a lead key",
                    att.leads.to_sql()
                ),
                detail: None,
                again: "with a key of another type",
            });
        }
    }
    out
}

/// Every lead's key and account, read as the leads table's owner
/// (`crate::owner_read::account_members`): the account checks below run as
/// the extension's owner over these, never over the user's table.
fn account_members(att: &Attachment) -> (Vec<String>, Vec<String>) {
    let leads = existing_row(&att.name).leads;
    crate::owner_read::account_members(att, crate::pending::table_owner(leads))
}

/// Records which of an attachment's accounts are alerting now, so `tick()`
/// alerts only on later crossings (`attach`, updates, publishing).
fn seed_accounts(att: &Attachment) {
    let Some(sql) = att.account_seed() else {
        return;
    };
    let (keys, accounts) = account_members(att);
    run_as(extension_owner(), || {
        let (names, totals, alerting) = crate::owner_read::account_totals(att, keys, accounts);
        Spi::run_with_args(&sql, &[names.into(), totals.into(), alerting.into()]).or_raise();
    });
}

/// Publishing a version (`create_model`) brings each attachment's account
/// views in line with the version's `accounts` section: created or replaced
/// for the field it names, or dropped when it has none; after its rescore,
/// which holds the score table (the lock order of tick() and writers, which
/// take it before the account objects). Returns whether the accounts
/// alerting are to be recorded (`_account_seed`).
#[pg_extern(
    name = "_account_objects",
    schema = "lead_score_internal",
    volatile,
    strict,
    parallel_unsafe
)]
///
/// The accounts alerting now are recorded without an alert only where the
/// version may change what an account is: accounts newly in the model (the
/// heads table is created), or heads that hold no account of its field
/// (another field's, or none: which field the last check counted is not
/// kept when no lead had an account). Otherwise the heads stay as the last
/// `tick()` left them, so an account that reached `accounts.alert` since is
/// alerted by the next one.
fn account_objects(attachment: &str) -> bool {
    check_admin("publish");
    let att = load(attachment, false);
    if let Some(leads) = read_row(attachment).map(|r| r.leads) {
        check_account_field(&att, leads);
    }
    let seed = run_as(extension_owner(), || {
        use lead_score_core::sqlgen::attach::names;
        let created = account_heads_if_missing(&att);
        let of_field = !created
            && att
                .account_heads_of_field()
                .is_some_and(|sql| matches!(Spi::get_one::<bool>(&sql), Ok(Some(true))));
        let views_exist = relation_exists(c"lead_score", &names::accounts(&att.name));
        // A version without accounts drops them, but not another's by name.
        let theirs = account_names_of_others(&att.name);
        let statements: Vec<Statement> = att
            .account_objects_statements(views_exist)
            .into_iter()
            .filter(|s| !(s.sql.starts_with("DROP ") && theirs.contains(&s.what)))
            .collect();
        run_all(&statements);
        att.account.is_some() && !of_field
    });
    // Publishing seeds (`_account_seed`) once the leads are scored by the
    // new version: reading them before would merge the old version's
    // stored states with pending events the new one scores.
    seed
}

/// `attach`, and publishing where `_account_objects` says so: records the
/// accounts alerting once the leads are scored, without alerting, so
/// `tick()` alerts only on later crossings.
#[pg_extern(
    name = "_account_seed",
    schema = "lead_score_internal",
    volatile,
    strict,
    parallel_unsafe
)]
fn account_seed(attachment: &str) -> bool {
    check_admin("record the accounts alerting");
    let att = load(attachment, false);
    seed_accounts(&att);
    true
}

/// `tick()`'s account alerts for one attachment: accounts whose total reached
/// `accounts.alert` since the last check are alerted once (kind `account`).
/// Returns the alerts sent; 0 for a model without accounts, and when another
/// `tick()` is checking the same attachment (it alerts for both).
#[pg_extern(
    name = "_account_alerts",
    schema = "lead_score_internal",
    volatile,
    strict,
    parallel_unsafe
)]
fn account_alerts(attachment: &str) -> i32 {
    check_admin("tick");
    let att = load(attachment, false);
    let alerts = crate::catalog::resolve(&att.model)
        .compiled
        .model
        .accounts
        .as_ref()
        .is_some_and(|a| a.alert.is_some());
    let Some(sql) = att.account_alerts().filter(|_| alerts) else {
        return 0;
    };
    let leads = existing_row(&att.name).leads;
    if !att
        .account
        .as_ref()
        .is_some_and(|a| account_views_read(&att, leads, &a.name))
    {
        return 0;
    }
    if !crate::locks::try_take(crate::locks::Lock::AccountAlerts(attachment)) {
        return 0;
    }
    // Only once this check holds the lock: a tick() that loses it reads nothing.
    // Each lead's account and score as of one snapshot, taken now: one taken
    // before the lock could predate another check's commit, whose heads this
    // would then judge against older totals (and alert again).
    // SAFETY: a new snapshot (READ COMMITTED) made active for the two reads
    // and popped after them; an ERROR in between aborts the (sub)transaction,
    // which pops it.
    unsafe { pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot()) };
    let (keys, accounts) = account_members(&att);
    let (names, totals, alerting) = run_as(extension_owner(), || {
        crate::owner_read::account_totals(&att, keys, accounts)
    });
    // SAFETY: pops the snapshot pushed above.
    unsafe { pg_sys::PopActiveSnapshot() };
    run_as(extension_owner(), || {
        Spi::get_one_with_args::<i32>(&sql, &[names.into(), totals.into(), alerting.into()])
            .or_raise()
            .unwrap_or(0)
    })
}

/// Run by `ALTER EXTENSION lead_score UPDATE` (the upgrade scripts) for every
/// attachment: its functions, views, triggers, comments and privileges as this
/// version generates them, replaced in place. Its tables and their rows are kept.
/// On Citus the shard groups are reinstalled by `CALL lead_score.distribute`.
#[pg_extern(
    name = "_regenerate",
    schema = "lead_score_internal",
    volatile,
    strict,
    parallel_unsafe
)]
fn regenerate(attachment: &str) -> bool {
    check_admin("regenerate");
    let att = load(attachment, false);
    // run_as runs it outside the extension script (src/owner.rs), so the
    // objects stay the attachment's, as when `attach` creates them.
    let created = run_as(extension_owner(), || {
        let created = account_heads_if_missing(&att);
        stale_if_missing(&att);
        pending_index_if_missing(&att);
        run_all(&att.replace_statements());
        created
    });
    // Heads already there are the last tick()'s: kept, so accounts that
    // reached accounts.alert since are alerted by the next one.
    if created {
        seed_accounts(&att);
    }
    true
}

/// Run by `ALTER EXTENSION lead_score UPDATE` (the upgrade scripts) for every
/// attachment, on Citus too: a WARNING for each thing `attach` would refuse
/// in it now (one per pair of sibling names), which an attachment made by an
/// older version may have. It keeps working as before. Returns how many.
#[pg_extern(
    name = "_report_refusals",
    schema = "lead_score_internal",
    volatile,
    strict,
    parallel_unsafe
)]
fn report_refusals(attachment: &str) -> i32 {
    check_admin("regenerate");
    let att = load(attachment, false);
    let row = existing_row(attachment);
    let mut found = refusals(&att, row.leads, row.activities);
    if let Err(e) =
        lead_score_core::live::check_attachable(&crate::catalog::resolve(&att.model).compiled.model)
    {
        found.push(Refusal {
            code: PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            message: e.to_string(),
            detail: None,
            again: "once its model is fixed",
        });
    }
    found.extend(sibling_refusals(
        attachment,
        &att.model,
        row.leads,
        row.activities,
        true,
    ));
    found.extend(name_refusals(attachment));
    let count = found.len();
    for refusal in found {
        refusal.warn(attachment);
    }
    i32::try_from(count).unwrap_or(i32::MAX)
}

/// Run by the upgrade scripts once every attachment is regenerated:
/// `current_scores` and `current_categories` over all of them.
#[pg_extern(
    name = "_refresh_current_views",
    schema = "lead_score_internal",
    volatile,
    parallel_unsafe
)]
fn refresh_current_views() -> bool {
    check_admin("regenerate");
    refresh_current_scores(&[]);
    true
}

/// `tick()`'s rebase of one attachment: once no writer is in flight, and if
/// still due, moves its landmark to the hour of `now` and rescales every state
/// to it. Raises `lock_not_available` (55P03) rather than wait for a writer;
/// `tick()` then leaves the attachment to a later tick. Once the landmark is
/// more than `URGENT_REBASE_AFTER_HALF_LIVES` (256) half-lives old, as under
/// writes that never pause, it waits for the writers in flight instead, for
/// up to 10 s a table (or the session's shorter `lock_timeout`): new writers
/// queue behind it for that while, rather than fail at 512 half-lives, where
/// events are refused. Only while the transaction holds no other
/// attachment's lock from an earlier rebase, so the wait closes no cycle.
/// Only lead_score's own tables are read or written, as the extension's
/// owner.
#[pg_extern(
    name = "_rebase",
    schema = "lead_score_internal",
    volatile,
    strict,
    parallel_unsafe
)]
fn rebase(attachment: &str, now: pgrx::datum::TimestampWithTimeZone) -> bool {
    check_admin("tick");
    // The writer's real time, whatever the caller passes (tick() passes its
    // own): a landmark moved anywhere else would zero every state once rescaled.
    let _ = now;
    // SAFETY: any i64 is a valid timestamptz bit pattern.
    let now = unsafe {
        pgrx::datum::TimestampWithTimeZone::from_datum(
            pg_sys::Datum::from(crate::clock::now()),
            false,
        )
    }
    .unwrap_or_else(|| unreachable!());
    let att = load(attachment, false);
    // SAFETY: MyProc is this backend's PGPROC for its whole life; lxid is
    // its current local transaction id.
    let xact = unsafe { (*pg_sys::MyProc).lxid };
    run_as(extension_owner(), || {
        // Waiting is safe only while this transaction holds no attachment's
        // lock in EXCLUSIVE mode (an earlier rebase's, in tick()'s name order):
        // a writer of that attachment queued behind it, and holding this one,
        // would close a cycle. So one waiting rebase per tick(), the first.
        let urgent =
            rebase_urgent(attachment, i64::from(now)) && REBASE_LOCKED.with(|c| c.get()) != xact;
        // SAFETY: reads the backend's lock_timeout setting, in milliseconds.
        let timeout = unsafe { pg_sys::LockTimeout };
        if urgent && (timeout <= 0 || timeout > 10_000) {
            // Saved at run_as's GUC nest level and undone with it.
            crate::owner::save_setting(c"lock_timeout", c"10s");
        }
        run_all(&[Statement {
            what: "lock on the attachment's tables".into(),
            sql: if urgent {
                lock_exclusive(attachment)
            } else {
                lock_exclusive_nowait(attachment)
            },
        }]);
        REBASE_LOCKED.with(|c| c.set(xact));
        let due = Spi::get_two_with_args::<bool, pgrx::datum::TimestampWithTimeZone>(
            crate::layout::for_catalog("SELECT lead_score_internal._rebase_due(a.model, a.landmark, $2), pg_catalog.date_trunc('hour', $2) \
             FROM lead_score.attachments a WHERE a.name = $1").as_ref(),
            &[attachment.into(), now.into()],
        );
        let Ok((Some(true), Some(landmark))) = due else {
            return false;
        };
        // On Citus, the form Citus can run over every shard.
        let rebase = if hash_distributed(att.leads.to_sql().into()) {
            // It then writes lead_score.attachments, a reference table with a
            // foreign key, which Citus allows after a multi-shard write only
            // over one connection per node.
            Spi::run(
                "SELECT pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true)",
            )
            .or_raise();
            Query::RebaseDistributed
        } else {
            Query::Rebase
        };
        for (sql, args) in [
            (
                crate::layout::for_catalog(&att.query(rebase)).into_owned(),
                vec![landmark.into()],
            ),
            (
                "UPDATE lead_score.attachments a SET landmark = $2 WHERE a.name = $1".to_string(),
                vec![attachment.into(), landmark.into()],
            ),
        ] {
            Spi::run_with_args(&sql, &args).or_raise();
        }
        true
    })
}

thread_local! {
    /// The local transaction in which `rebase` last took an attachment's lock
    /// in EXCLUSIVE mode (held to its end): later rebases in it do not wait.
    static REBASE_LOCKED: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Whether an attachment's landmark is more than
/// `URGENT_REBASE_AFTER_HALF_LIVES` of its model's shortest half-lives before
/// `now` (a rebase then waits for writers: see `rebase`).
fn rebase_urgent(attachment: &str, now: i64) -> bool {
    let row = Spi::get_two_with_args::<String, pgrx::datum::TimestampWithTimeZone>(
        "SELECT a.model, a.landmark FROM lead_score.attachments a WHERE a.name = $1",
        &[attachment.into()],
    );
    let Ok((Some(model), Some(landmark))) = row else {
        return false;
    };
    crate::live::landmark_older_than(
        &model,
        i64::from(landmark),
        now,
        lead_score_core::live::URGENT_REBASE_AFTER_HALF_LIVES,
    )
}

/// The SQL of a run-time query on an attachment (`lead_score_core::sqlgen::attach::Query`),
/// for the plpgsql functions to EXECUTE with their parameters.
#[pg_extern(
    name = "_sql",
    schema = "lead_score_internal",
    stable,
    strict,
    parallel_restricted
)]
fn query_sql(attachment: &str, query: &str) -> String {
    let Some(q) = Query::parse(query) else {
        raise_code(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("lead_score_internal._sql: unknown query \"{query}\""),
        );
    };
    let sql = match q {
        // current_score runs once per lead: only what its query needs (the
        // name, and for a key as text the key's type), not the whole
        // attachment, which costs several catalog reads.
        Query::CurrentScore => {
            existing_row(attachment);
            lead_score_core::sqlgen::attach::current_score_query(attachment, "$1")
        }
        Query::CurrentScoreText => {
            let (text, key_type) = key_as_text(attachment);
            lead_score_core::sqlgen::attach::current_score_query(
                attachment,
                &lead_score_core::sqlgen::attach::key_of_text(text, &key_type, "$1"),
            )
        }
        Query::KeyOfText => {
            let (text, key_type) = key_as_text(attachment);
            lead_score_core::sqlgen::attach::key_of_text_query(text, &key_type)
        }
        _ => load(attachment, false).query(q),
    };
    crate::layout::for_catalog(&sql).into_owned()
}

/// An attachment's catalog row, or `undefined_object` (42704) as `load` raises,
/// also for a name no attachment can have (`attach` alone refuses it, 22023).
fn existing_row(attachment: &str) -> Row {
    if !valid_name(attachment) {
        undefined_attachment(attachment);
    }
    read_row(attachment).unwrap_or_else(|| undefined_attachment(attachment))
}

/// How an attachment's lead key reads as text, and its type: what `load`
/// finds for them, without the rest of the attachment.
fn key_as_text(attachment: &str) -> (TextOf, Qualified) {
    let row = existing_row(attachment);
    let Some((leads, _)) = relation(row.leads) else {
        raise_code(
            PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE,
            format!("lead_score attachment \"{attachment}\": its leads table no longer exists"),
        );
    };
    let key = mapped(
        row.leads,
        &leads,
        "lead_key",
        mapping_str(&row.mapping, "lead_key"),
    );
    (key.column.text, type_name(key.base))
}

/// On Citus, the statements that install an attachment's triggers on one shard
/// group (`lead_score_core::sqlgen::attach::Placement`), for
/// `lead_score_internal._citus_install_shard` to run on the node that holds it.
#[pg_extern(
    name = "_citus_shard_sql",
    schema = "lead_score_internal",
    volatile,
    strict,
    parallel_unsafe
)]
fn citus_shard_sql(attachment: &str, shards: Vec<pg_sys::Oid>, suffix: &str) -> Vec<String> {
    check_admin("_citus_shard_sql");
    let mut a = load(attachment, false);
    let name = |oid: pg_sys::Oid| {
        relation(oid).map(|r| r.0).unwrap_or_else(|| {
            raise_code(
                PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE,
                format!("lead_score attachment \"{attachment}\": a shard no longer exists"),
            )
        })
    };
    if !suffix.starts_with('_')
        || !suffix[1..].bytes().all(|b| b.is_ascii_digit())
        || suffix.len() > 21
    {
        raise_code(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("lead_score_internal._citus_shard_sql: bad suffix \"{suffix}\""),
        );
    }
    // leads, activities, scores, pending and outbox shards, then this node's
    // shards of lead_score.attachments and lead_score.models.
    let [leads, activities, scores, pending, outbox, attachments, models] = shards[..] else {
        raise_code(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "lead_score_internal._citus_shard_sql: expected 7 shards",
        );
    };
    a.leads = name(leads);
    a.activities = name(activities);
    a.placement = Some(Placement {
        suffix: suffix.to_string(),
        scores: name(scores),
        pending: name(pending),
        outbox: name(outbox),
        attachments: name(attachments),
        models: name(models),
    });
    a.shard_statements()
        .into_iter()
        .map(|s| crate::layout::for_catalog(&s.sql).into_owned())
        .collect()
}

/// Whether this is a Citus worker: a node with the citus extension that is not
/// the coordinator. Attachments are the coordinator's (on a worker their tables'
/// OIDs mean nothing), and so is following drops of their tables.
fn citus_worker() -> bool {
    // SAFETY: a syscache lookup by a NUL-terminated name; missing_ok.
    if unsafe { pg_sys::get_extension_oid(c"citus".as_ptr(), true) } == pg_sys::InvalidOid {
        return false;
    }
    // Read-only (Spi::get_one would give the transaction an id, and the DDL
    // guard asks this before statements that must run without one).
    matches!(
        Spi::connect(|c| c
            .select("SELECT NOT pg_catalog.citus_is_coordinator()", Some(1), &[])?
            .first()
            .get_one::<bool>()),
        Ok(Some(true))
    )
}

/// Removes an attachment: its triggers, functions, views, tables and row (on
/// Citus, also the shard-group functions and stripe tables on every node).
/// Tables the user dropped meanwhile are skipped. Its own lookups run with
/// `search_path` pinned, whatever the caller's path holds.
#[pg_extern(volatile, strict, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn detach(attachment: &str) -> bool {
    check_admin("detach");
    let Some(row) = read_row(attachment) else {
        return false;
    };
    let leads = relation(row.leads).map(|r| r.0);
    let activities = relation(row.activities).map(|r| r.0);
    for (oid, q) in [(row.activities, &activities), (row.leads, &leads)] {
        if let Some(q) = q {
            check_table_rights(oid, q, "detach");
        }
    }
    let owner = extension_owner();
    // A publish in flight finishes first (it would rescore this attachment
    // once its tables are gone: 42P01), and one after it waits and finds the
    // attachment gone.
    lock_model_row(owner, &row.model);
    // Before any table lock: see lock_current_views.
    lock_current_views();
    run_as(owner, || {
        let distributed = hash_distributed(row.leads.into());
        if distributed {
            // Citus drops the attachment's distributed functions over one
            // connection per node, which it refuses after the multi-shard DROP
            // TRIGGERs unless those ran that way too.
            Spi::run(
                "SELECT pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true)",
            )
            .or_raise();
        }
        lock_for_detach(attachment, leads.as_ref(), activities.as_ref(), distributed);
        refresh_current_scores(&[attachment]);
        // On Citus, each node's shard-group functions and stripe tables, which
        // no statement of the coordinator reaches (sql/citus.sql).
        if distributed {
            Spi::run_with_args(
                "SELECT lead_score_internal._citus_forget($1)",
                &[attachment.into()],
            )
            .or_raise();
        }
        run_all(&own_drop_statements(
            attachment,
            leads.as_ref(),
            activities.as_ref(),
        ));
        forget_rows(attachment);
    });
    true
}

/// Refuses a mapping whose `property_columns` are not the ones the model's
/// current version reads its event properties from (`_property_columns`, the
/// one statement of that rule): `attach` derives them, but an admin may call
/// `_attach_install` directly, and a publish that `attach` waited for may have
/// changed the properties since it read them. Read once the model's row is
/// held (a fresh snapshot: a publish that committed meanwhile is seen). Not
/// on 0.1.0's catalog, before `ALTER EXTENSION UPDATE`, which lacks
/// `_property_columns`.
fn check_property_columns(owner: pg_sys::Oid, model: &str, mapping: &serde_json::Value) {
    if !crate::layout::updated() {
        return;
    }
    let given = mapping
        .get("property_columns")
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    let expected = run_as(owner, || {
        Spi::get_one_with_args::<pgrx::JsonB>(
            "SELECT lead_score_internal._property_columns(v.spec, $2 -> 'properties') \
             FROM lead_score.models m JOIN lead_score.model_versions v \
               ON v.model_id = m.id AND v.version = m.current_version WHERE m.name = $1",
            &[model.into(), pgrx::JsonB(mapping.clone()).into()],
        )
    });
    if let Some(pgrx::JsonB(expected)) = expected.or_raise() {
        if expected != given {
            raise_detail(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "mapping.property_columns: model \"{model}\" reads its event properties from {expected}, not {given}"
            ),
            "attach derives them from the model's engagement.properties and mapping.properties; call it \
             (again, if a publish changed the model's properties while it waited).",
            );
        }
    }
}

/// Takes a model's row as publishing does (its first lock), so `attach` and
/// `detach` of the model's attachments and a publish of it wait for each other
/// whole. Before any other lock of theirs: `lock_current_views`, which a
/// publish may take while it holds the row, and every table.
fn lock_model_row(owner: pg_sys::Oid, model: &str) {
    run_as(owner, || {
        Spi::run_with_args(
            "SELECT 1 FROM lead_score.models m WHERE m.name = $1 FOR SHARE",
            &[model.into()],
        )
        .or_raise();
    });
}

/// `detach`'s locks, before it drops anything. The user's tables first
/// (leads, then activities, as a lead trigger takes them), then lead_score's,
/// as every writer locks them; in the mode DROP TRIGGER needs, so no lock is
/// upgraded later while a writer holds a weaker one and waits for
/// lead_score's. Only the first waits as long as it takes: a writer may hold
/// a later one and need an earlier (an activity insert whose foreign key
/// check reads the leads), so the others are taken as briefly as the rest. Then, waiting a moment at most, every view and table `detach`
/// drops or replaces (the views over all attachments too), and last the
/// attachment's `history_settings` row and manual adjustments, which writers
/// of history and adjustments lock before they read a view.
///
/// A read of a view locks the view first and the tables as its plan runs
/// (`<name>_accounts` joins the leads table; `<name>_current` reads a marked
/// lead's activities again): a reader holding a view while it waits for a
/// table `detach` holds would wait for `detach` as `detach` waits for it to
/// drop the view, and the deadlock detector would end one of them. So when
/// one of those stays taken ([`DETACH_WAIT_MS`], before the detector looks),
/// `detach` lets every lock of this step go (a subtransaction rolled back),
/// waits for that reader alone, holding no table, and tries again, up to
/// [`DETACH_TRIES`] times. Readers that take a table before a view
/// (`current_score`, `top_leads`, a query naming the leads first), and
/// writers or a publish that read a view while they hold lead_score's
/// tables, meet the reverse cycle: so every other try takes the views alone
/// first and then, as briefly, the tables. On Citus, a hash-distributed
/// attachment's locks reach the workers, which no subtransaction here undoes:
/// they are taken once, waiting.
fn lock_for_detach(
    attachment: &str,
    leads: Option<&Qualified>,
    activities: Option<&Qualified>,
    distributed: bool,
) {
    // The tables' locks in order, each with its relation and mode: the
    // user's tables (leads, then activities), then lead_score's.
    let regclass = |name: &str| -> Option<pg_sys::Oid> {
        Spi::get_one_with_args::<pg_sys::Oid>(
            "SELECT pg_catalog.to_regclass($1)::pg_catalog.oid",
            &[crate::layout::for_catalog(name).into_owned().into()],
        )
        .ok()
        .flatten()
    };
    const EXCLUSIVE: pg_sys::LOCKMODE = pg_sys::ExclusiveLock as pg_sys::LOCKMODE;
    let table_steps = || -> Vec<(pg_sys::Oid, pg_sys::LOCKMODE, Statement)> {
        let user = [leads, activities].into_iter().flatten().map(|q| {
            (
                q.to_sql(),
                ACCESS_EXCLUSIVE,
                format!("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", q.to_sql()),
            )
        });
        let ours = [
            lead_score_core::sqlgen::attach::names::scores(attachment),
            lead_score_core::sqlgen::attach::names::pending(attachment),
        ]
        .into_iter()
        .map(|n| {
            let q = lead_score_core::sqlgen::internal(&n);
            let sql = format!("LOCK TABLE {q} IN EXCLUSIVE MODE");
            (q, EXCLUSIVE, sql)
        });
        user.chain(ours)
            .filter_map(|(name, mode, sql)| {
                regclass(&name).map(|oid| {
                    (
                        oid,
                        mode,
                        Statement {
                            what: format!("lock on {name}"),
                            sql,
                        },
                    )
                })
            })
            .collect()
    };
    // All of them, each waited for as long as it takes.
    let take_tables = || {
        for (_, _, step) in table_steps() {
            run_all(&[step]);
        }
    };
    if distributed {
        take_tables();
        return;
    }
    // (name, whether it is a view)
    let mut names: Vec<(Qualified, bool)> = lead_score_core::sqlgen::attach::names::UNION_VIEWS
        .into_iter()
        .map(|n| (Qualified::new(lead_score_core::sqlgen::SCHEMA, n), true))
        .collect();
    names.extend(
        lead_score_core::sqlgen::attach::dropped_relations(attachment)
            .into_iter()
            .map(|r| (r.name, r.kind == "VIEW")),
    );
    // Looked up once the tables are held: a publish that committed meanwhile
    // may have made the account views again, under new OIDs. `views_only`:
    // not lead_score's tables, which writers and publishing hold while they
    // may read a view.
    let relations = |views_only: bool| -> Vec<pg_sys::Oid> {
        names
            .iter()
            .filter(|(_, view)| *view || !views_only)
            .filter_map(|(q, _)| {
                // (lead_score's own relations are in its public schema on
                // 0.1.0's catalog, before ALTER EXTENSION UPDATE.)
                let name = crate::layout::for_catalog(&q.to_sql()).into_owned();
                Spi::get_one_with_args::<pg_sys::Oid>(
                    "SELECT pg_catalog.to_regclass($1)::pg_catalog.oid",
                    &[name.into()],
                )
                .ok()
                .flatten()
            })
            .collect()
    };
    const ACCESS_EXCLUSIVE: pg_sys::LOCKMODE = pg_sys::AccessExclusiveLock as pg_sys::LOCKMODE;
    // SAFETY: a plain read of a backend global (the setting, in ms).
    let deadlock_timeout = unsafe { pg_sys::DeadlockTimeout };
    // Long enough for holders that wait for nothing of detach's to finish
    // (new ones queue behind detach's request), short of the deadlock
    // detector, so detach is the one that gives way in a cycle.
    let wait = std::ffi::CString::new(format!(
        "{}ms",
        DETACH_WAIT_MS.min(deadlock_timeout / 2).max(1)
    ))
    .unwrap_or_default();
    let lock = |waiting: &std::cell::Cell<Waited>, views_only: bool| {
        for oid in relations(views_only) {
            waiting.set(Waited::Relation(oid, ACCESS_EXCLUSIVE));
            // SAFETY: locks a relation by OID in a standard mode, held to
            // the subtransaction's end (under lock_timeout when set).
            unsafe { pg_sys::LockRelationOid(oid, ACCESS_EXCLUSIVE) };
        }
    };
    // The rows detach deletes that writers lock before they read a view: the
    // attachment's history settings row, which writers of history and manual
    // adjustments lock first, and its manual adjustments, whose row an
    // end_adjustment (an UPDATE of expires_at) locks before that. (No
    // adjustments on 0.1.0's catalog, before ALTER EXTENSION UPDATE.)
    let mut row_locks = vec![crate::layout::for_catalog(
        "SELECT 1 FROM lead_score.history_settings h WHERE h.attachment = $1 FOR UPDATE",
    )];
    if crate::layout::updated() {
        row_locks.push(
            "SELECT 1 FROM lead_score.adjustments j WHERE j.attachment = $1 ORDER BY j.id FOR UPDATE"
                .into(),
        );
    }
    let take_row_lock = |i: usize| {
        Spi::run_with_args(row_locks[i].as_ref(), &[attachment.into()]).or_raise();
    };
    // Whether a brief wait is on: its lock_not_available is this step's to
    // catch; the caller's own lock_timeout elsewhere is raised as it is.
    let brief = std::cell::Cell::new(false);
    let briefly = |waiting: &std::cell::Cell<Waited>, f: &dyn Fn(&std::cell::Cell<Waited>)| {
        let nest = crate::owner::push_settings(&[(c"lock_timeout", wait.as_c_str())]);
        brief.set(true);
        f(waiting);
        brief.set(false);
        // SAFETY: pops the level pushed above (lock_timeout back).
        unsafe { pg_sys::AtEOXact_GUC(false, nest) };
    };
    // take_tables one lock at a time, each after naming what it waits for.
    // `first`: the one to wait for as long as it takes, before the others,
    // briefly; none: all briefly.
    let tables_stepwise = |waiting: &std::cell::Cell<Waited>, first: Option<pg_sys::Oid>| {
        let mut steps = table_steps();
        if let Some(i) = steps.iter().position(|(oid, _, _)| Some(*oid) == first) {
            let step = steps.remove(i);
            waiting.set(Waited::Relation(step.0, step.1));
            run_all(std::slice::from_ref(&step.2));
        }
        for (oid, mode, step) in &steps {
            waiting.set(Waited::Relation(*oid, *mode));
            briefly(waiting, &|_| run_all(std::slice::from_ref(step)));
        }
    };
    // The table the last try gave way on, which the next table-first try
    // waits for first: one that writers keep taking (long transactions on
    // the activity table) is then held before the others, not lost again.
    let mut first_table: Option<pg_sys::Oid> = None;
    let leads_oid = leads.and_then(|q| regclass(&q.to_sql()));
    for round in 0..DETACH_TRIES {
        pgrx::check_for_interrupts!();
        let waiting = std::cell::Cell::new(Waited::Nothing);
        let done = crate::owner::subtransaction(
            || {
                let lock_all = |w: &std::cell::Cell<Waited>| {
                    lock(w, false);
                    for i in 0..row_locks.len() {
                        w.set(Waited::Rows(i));
                        take_row_lock(i);
                    }
                };
                if round % 2 == 0 {
                    // One table (the leads, or the one the last try gave way
                    // on), then briefly the others and the views: gives way
                    // to a reader that holds a view and needs a table, and to
                    // a writer that holds one table and needs another (an
                    // activity insert's foreign key check of the leads).
                    tables_stepwise(&waiting, first_table.or(leads_oid));
                    briefly(&waiting, &lock_all);
                } else {
                    // The views alone, then briefly the tables (the user's and
                    // lead_score's): gives way to a reader (current_score,
                    // top_leads), a query or a writer that holds a table and
                    // needs a view. Then the rest again: a publish that
                    // committed meanwhile may have made new views.
                    lock(&waiting, true);
                    tables_stepwise(&waiting, None);
                    briefly(&waiting, &lock_all);
                }
                (true, true)
            },
            |code| {
                (code == PgSqlErrorCode::ERRCODE_LOCK_NOT_AVAILABLE && brief.replace(false))
                    .then_some(false)
            },
        );
        if done {
            return;
        }
        if let Waited::Relation(oid, _) = waiting.get() {
            if table_steps().iter().any(|(table, _, _)| *table == oid) {
                first_table = Some(oid);
            }
        }
        // Wait for what gave way, holding nothing of this step, and let it go
        // at once.
        match waiting.get() {
            Waited::Relation(oid, mode) => {
                // SAFETY: the subtransaction that asked for the lock was
                // rolled back, so this acquisition is the only one the
                // release undoes.
                unsafe {
                    pg_sys::LockRelationOid(oid, mode);
                    pg_sys::UnlockRelationOid(oid, mode);
                }
            }
            // The settings row alone: holding it while it waited for an
            // adjustment, detach would keep that adjustment's writer waiting.
            Waited::Rows(0) => crate::owner::subtransaction(
                || {
                    take_row_lock(0);
                    ((), false)
                },
                |_| None,
            ),
            // The adjustments one at a time, each let go once taken: holding
            // the lower ids while it waited for one, detach would keep their
            // writer (an application ending another) waiting.
            Waited::Rows(_) => wait_adjustments(attachment),
            Waited::Nothing => {}
        }
    }
    // Readers and writers kept taking them: hold the tables and wait for the
    // views as the drops come to them, where a reader that needs a table and
    // detach can deadlock (README, Concurrency), rather than back off without
    // end.
    take_tables();
}

/// Waits until no one holds a row of the attachment's manual adjustments,
/// taking each in turn in a subtransaction rolled back at once, so it holds
/// none while it waits for one.
fn wait_adjustments(attachment: &str) {
    let ids: Result<Vec<i64>, pgrx::spi::Error> = Spi::connect(|client| {
        let mut ids = Vec::new();
        for row in client.select(
            "SELECT j.id FROM lead_score.adjustments j WHERE j.attachment = $1 ORDER BY j.id",
            None,
            &[attachment.into()],
        )? {
            ids.extend(row.get::<i64>(1)?);
        }
        Ok(ids)
    });
    let ids = ids.or_raise();
    for id in ids {
        crate::owner::subtransaction(
            || {
                Spi::run_with_args(
                    "SELECT 1 FROM lead_score.adjustments j WHERE j.id = $1 FOR UPDATE",
                    &[id.into()],
                )
                .or_raise();
                ((), false)
            },
            |_| None,
        );
    }
}

/// What a try of `detach`'s locks waited for when it gave way.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Waited {
    Nothing,
    /// A relation, and the mode asked for.
    Relation(pg_sys::Oid, pg_sys::LOCKMODE),
    /// The attachment's row of `lead_score.history_settings` (0), or its
    /// manual adjustments (1).
    Rows(usize),
}

/// How many times `detach` tries its locks (each way round in turn) before it
/// waits for them holding the tables.
const DETACH_TRIES: usize = 40;

/// How long, in ms, a try waits for what it takes second (at most half of
/// `deadlock_timeout`).
const DETACH_WAIT_MS: i32 = 50;

/// The names of `attachment`'s account objects that another attachment's own
/// objects have: `x`'s account views would be named as `x_account`'s views, a
/// pair 0.1.0 allowed (attach refuses it since, and the update warns of it).
/// They are not `x`'s to drop: `detach` and publishing leave them (dropping
/// them failed on `current_categories`, or would have dropped the other's).
/// Run as the extension's owner.
fn account_names_of_others(attachment: &str) -> Vec<String> {
    use lead_score_core::sqlgen::attach::names;
    let theirs: std::collections::HashSet<String> = other_attachments(attachment)
        .iter()
        .flat_map(|o| names::all(o))
        .collect();
    account_names_of(attachment)
        .into_iter()
        .filter(|n| theirs.contains(n))
        .collect()
}

/// Every attachment but this one, by name (bytewise). Reads
/// `lead_score.attachments` as the caller: run as the extension's owner.
fn other_attachments(attachment: &str) -> Vec<String> {
    attachment_names("a.name OPERATOR(pg_catalog.<>) $1", attachment)
}

/// The names of the attachments (`a`) that `condition`, a constant with one
/// text parameter `$1` (`arg`), picks, bytewise. Reads
/// `lead_score.attachments` as the caller.
fn attachment_names(condition: &'static str, arg: &str) -> Vec<String> {
    let query = format!("SELECT a.name FROM lead_score.attachments a WHERE {condition}");
    let mut out: Vec<String> = Spi::connect(|client| {
        let mut out = Vec::new();
        for row in client.select(&query, None, &[arg.into()])? {
            out.extend(row.get::<String>(1)?);
        }
        Ok::<_, pgrx::spi::Error>(out)
    })
    .or_raise();
    out.sort();
    out
}

/// The names of an attachment's account objects (views and heads table).
fn account_names_of(attachment: &str) -> [String; 3] {
    use lead_score_core::sqlgen::attach::names;
    [
        names::accounts(attachment),
        names::account_categories(attachment),
        names::account_heads(attachment),
    ]
}

/// [`drop_statements`], without [`account_names_of_others`].
fn own_drop_statements(
    attachment: &str,
    leads: Option<&Qualified>,
    activities: Option<&Qualified>,
) -> Vec<Statement> {
    let theirs = account_names_of_others(attachment);
    drop_statements(attachment, leads, activities)
        .into_iter()
        .filter(|s| !theirs.contains(&s.what))
        .collect()
}

/// Deletes an attachment's row and what is kept of it in lead_score's tables:
/// its history and manual adjustments go with it, as its scores do (`detach`,
/// and an attachment whose table was dropped).
fn forget_rows(attachment: &str) {
    // The history settings row first: every writer of history and adjustments
    // locks it before their rows.
    let rows = [
        "DELETE FROM lead_score.history_settings h WHERE h.attachment = $1",
        "DELETE FROM lead_score_internal._history_heads h WHERE h.attachment = $1",
        "DELETE FROM lead_score.score_history h WHERE h.attachment = $1",
        "DELETE FROM lead_score.class_counts c WHERE c.attachment = $1",
        "DELETE FROM lead_score.attachments a WHERE a.name = $1",
    ];
    // Not there between installing this library and ALTER EXTENSION UPDATE
    // from 0.1.0.
    let adjustments = [
        "DELETE FROM lead_score.adjustments j WHERE j.attachment = $1",
        "DELETE FROM lead_score_internal._adjustment_sums j WHERE j.attachment = $1",
    ];
    let installed = Spi::get_one::<bool>(
        "SELECT pg_catalog.to_regclass('lead_score_internal._adjustment_sums') IS NOT NULL",
    );
    installed
        .and_then(|installed| {
            let extra: &[&str] = if installed == Some(true) {
                &adjustments
            } else {
                &[]
            };
            rows.iter().chain(extra).try_for_each(|sql| {
                Spi::run_with_args(
                    crate::layout::for_catalog(sql).as_ref(),
                    &[attachment.into()],
                )
            })
        })
        .or_raise();
}

/// Waits for every writer of an attachment and keeps new ones out until the
/// transaction ends (`exclusive`), or takes the lock a writer takes. Runs as
/// the caller, who needs write rights on the attachment's tables.
#[pg_extern(
    name = "_lock",
    schema = "lead_score_internal",
    volatile,
    strict,
    parallel_unsafe
)]
fn lock(attachment: &str, exclusive: bool, nowait: default!(bool, false)) -> bool {
    let Some(row) = read_row(attachment) else {
        undefined_attachment(attachment);
    };
    // A rescore, and tick()'s fold, read the user's tables: take them first,
    // as writers do, in detach's order (leads, then activities), so a
    // TRUNCATE of either or a detach and these wait for each other instead of
    // deadlocking (a fold used to take the score table, then the activity
    // table, and a detach the other way round). Waited for even by tick():
    // only DDL, TRUNCATE and detach hold these tables in a mode that conflicts.
    for oid in [row.leads, row.activities] {
        // SAFETY: locks a relation by OID in a standard mode, held to the
        // end of the transaction; a dropped table's OID locks nothing.
        unsafe { pg_sys::LockRelationOid(oid, pg_sys::AccessShareLock as pg_sys::LOCKMODE) };
    }
    // A detach that committed while those waited dropped the attachment's
    // tables (the lock took in its invalidations): tick() moves on to the
    // next attachment, as for a writer it would not wait for.
    let scores = lead_score_core::sqlgen::attach::names::scores(attachment);
    // (In lead_score's schema on 0.1.0's catalog, before ALTER EXTENSION UPDATE.)
    let schema = if crate::layout::updated() {
        c"lead_score_internal"
    } else {
        c"lead_score"
    };
    if !relation_exists(schema, &scores) {
        if nowait {
            raise_code(
                PgSqlErrorCode::ERRCODE_LOCK_NOT_AVAILABLE,
                format!("lead_score attachment \"{attachment}\" was detached while this waited"),
            );
        }
        undefined_attachment(attachment);
    }
    let mut sql = if exclusive {
        lock_exclusive(attachment)
    } else {
        format!(
            "LOCK TABLE {} IN ROW EXCLUSIVE MODE",
            lead_score_core::sqlgen::internal(&lead_score_core::sqlgen::attach::names::scores(
                attachment
            ))
        )
    };
    if nowait {
        sql.push_str(" NOWAIT");
    }
    Spi::run(crate::layout::for_catalog(&sql).as_ref()).or_raise();
    true
}

/// `_pending_states(attachment, properties)`: 0.1.0's (public) builder of
/// one live delta per lead from the pending events. Nothing calls it; 0.2.0
/// drops the function but keeps the symbol, so 0.1.0's install script still
/// loads. A count past the most a model can map is refused: it would build
/// an ever longer string before any cancel is seen.
#[pg_extern(
    sql = false,
    name = "_pending_states",
    schema = "lead_score_internal",
    immutable,
    strict,
    parallel_safe
)]
fn pending_states_sql(attachment: &str, properties: i32) -> String {
    let max = lead_score_core::MAX_PROPERTIES;
    let Some(n) = usize::try_from(properties).ok().filter(|&n| n <= max) else {
        raise_code(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("properties must be 0 to {max}, got {properties}"),
        );
    };
    lead_score_core::sqlgen::attach::pending_states(attachment, n, false)
}

/// `CREATE TYPE lead_score.score`, from the one list of its fields.
#[pg_extern(
    name = "_score_comments",
    schema = "lead_score_internal",
    immutable,
    strict,
    parallel_safe
)]
fn score_comments() -> Vec<String> {
    lead_score_core::sqlgen::attach::score_comments()
}

#[pg_extern(
    name = "_score_type_ddl",
    schema = "lead_score_internal",
    immutable,
    strict,
    parallel_safe
)]
fn score_type_ddl() -> String {
    lead_score_core::sqlgen::attach::score_type()
}

/// `_adjustment_points(ids, points, created_at, expires_at, at)`: the points
/// of a lead's manual adjustments (one `lead_score_internal._adjustment_sums` row)
/// active at `at`, summed in id order (`lead_score_core::adjustments`).
#[pg_extern(
    name = "_adjustment_points",
    schema = "lead_score_internal",
    immutable,
    strict,
    parallel_safe
)]
fn adjustment_points(
    ids: Vec<Option<i64>>,
    points: Vec<Option<f64>>,
    created_at: Vec<Option<pgrx::datum::TimestampWithTimeZone>>,
    expires_at: Vec<Option<pgrx::datum::TimestampWithTimeZone>>,
    at: pgrx::datum::TimestampWithTimeZone,
) -> f64 {
    if points.len() != ids.len() || created_at.len() != ids.len() || expires_at.len() != ids.len() {
        raise_code(
            PgSqlErrorCode::ERRCODE_ARRAY_ELEMENT_ERROR,
            "_adjustment_points: ids, points, created_at and expires_at must have one element per adjustment",
        );
    }
    let mut adjustments: Vec<lead_score_core::adjustments::Adjustment> = ids
        .iter()
        .zip(&points)
        .zip(&created_at)
        .zip(&expires_at)
        .filter_map(|(((id, p), c), e)| {
            Some(lead_score_core::adjustments::Adjustment {
                id: (*id)?,
                points: (*p)?,
                created_at: i64::from((*c)?),
                expires_at: e.map(i64::from),
            })
        })
        .collect();
    lead_score_core::adjustments::active_points(&mut adjustments, i64::from(at))
}

/// The most points a rule or a manual adjustment may give, either sign
/// (`lead_score_core::model::MAX_POINTS`), for `lead_score.adjust`'s check.
#[pg_extern(
    name = "_max_points",
    schema = "lead_score_internal",
    immutable,
    strict,
    parallel_safe
)]
fn max_points() -> f64 {
    lead_score_core::model::MAX_POINTS
}

/// Whether text is blank (`lead_score_core::is_blank`: any Unicode
/// whitespace), for the checks of names and reasons in SQL, where `btrim`
/// strips spaces only.
#[pg_extern(
    name = "_blank",
    schema = "lead_score_internal",
    immutable,
    strict,
    parallel_safe
)]
fn blank(text: &str) -> bool {
    lead_score_core::is_blank(text)
}

/// `CREATE TYPE lead_score_internal._applied`, from the one list of its fields.
#[pg_extern(
    name = "_applied_type_ddl",
    schema = "lead_score_internal",
    immutable,
    strict,
    parallel_safe
)]
fn applied_type_ddl() -> String {
    crate::layout::for_catalog(&lead_score_core::sqlgen::attach::applied_type()).into_owned()
}

/// `CREATE TYPE lead_score.top_lead`, from the one list of its fields.
#[pg_extern(
    name = "_top_lead_type_ddl",
    schema = "lead_score_internal",
    immutable,
    strict,
    parallel_safe
)]
fn top_lead_type_ddl() -> String {
    lead_score_core::sqlgen::attach::top_lead_type()
}

/// Detaches every attachment one of whose tables no longer exists: its
/// triggers went with the table; its functions, views, tables and row go now.
/// Runs as the extension's owner, whoever dropped the table.
/// Whether the event triggers have attachments to look after: the extension
/// is installed (not being created or dropped, nor its schema) and this is no
/// Citus worker. Checked without privileges, since any role may be running
/// DDL: only catalog lookups by name, no access to lead_score's tables.
pub(crate) fn installed() -> bool {
    // SAFETY: syscache lookups by NUL-terminated names; missing_ok returns
    // InvalidOid instead of raising.
    let installed = unsafe {
        let ns = pg_sys::get_namespace_oid(c"lead_score".as_ptr(), true);
        ns != pg_sys::InvalidOid
            && pg_sys::get_relname_relid(c"attachments".as_ptr(), ns) != pg_sys::InvalidOid
            && pg_sys::get_extension_oid(c"lead_score".as_ptr(), true) != pg_sys::InvalidOid
    };
    installed && !citus_worker()
}

fn forget_dropped() {
    if !installed() {
        return;
    }
    run_as(extension_owner(), crate::ddl_guard::refuse_dropped_columns);
    let detached = run_as(extension_owner(), || {
        let gone: Vec<(String, pg_sys::Oid, pg_sys::Oid)> = Spi::connect(|client| {
            let rows = client.select(
                "SELECT a.name, a.leads::oid, a.activities::oid FROM lead_score.attachments a \
                 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = a.leads) \
                    OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = a.activities)",
                None,
                &[],
            )?;
            let mut out = Vec::new();
            for row in rows {
                out.push((
                    row.get::<String>(1)?.unwrap_or_default(),
                    row.get::<pg_sys::Oid>(2)?.unwrap_or(pg_sys::InvalidOid),
                    row.get::<pg_sys::Oid>(3)?.unwrap_or(pg_sys::InvalidOid),
                ));
            }
            Ok::<_, pgrx::spi::Error>(out)
        })
        .unwrap_or_default();
        let mut detached = Vec::new();
        if !gone.is_empty() {
            let names: Vec<&str> = gone.iter().map(|g| g.0.as_str()).collect();
            refresh_current_scores(&names);
        }
        for (name, leads, activities) in gone {
            let leads = relation(leads).map(|r| r.0);
            let activities = relation(activities).map(|r| r.0);
            run_all(&own_drop_statements(
                &name,
                leads.as_ref(),
                activities.as_ref(),
            ));
            forget_rows(&name);
            detached.push(name);
        }
        detached
    });
    for name in detached {
        pgrx::notice!("lead_score: detached \"{name}\": one of its tables was dropped");
    }
}

crate::v1_info!(pg_finfo_lead_score_follow_drops);
/// `lead_score_internal._follow_drops()`: the `sql_drop` event trigger that makes
/// attachments follow their tables (see `forget_dropped`).
///
/// # Safety
/// Called only by PostgreSQL's function manager, as the event trigger
/// `lead_score_follow_drops` (`sql/live.sql`).
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_follow_drops(
    _fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    forget_dropped();
    pg_sys::Datum::from(0)
}
