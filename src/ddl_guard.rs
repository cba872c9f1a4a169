//! Keeps attached tables as their triggers read them.
//!
//! The triggers and generated functions of an attachment name the columns they
//! read, and only the statements run against the attached tables themselves
//! fire them. The `<name>_columns` view stops a mapped column being dropped or
//! retyped; the `ddl_command_start` event trigger `lead_score_guard_ddl`
//! refuses, before they run, the changes a view cannot stop:
//! - renaming a column an attachment reads (a mapped column, a fit field of its
//!   model's current version);
//! - dropping one (also with `CASCADE`, which would drop the view), or the
//!   accounts field (which may be renamed: the account views follow it);
//! - giving an attached table inheritance parents or children, or making it a
//!   partition: a write through another table of the hierarchy would not fire
//!   its statement triggers (`attach` refuses such tables, `refusals` in src/attach.rs).
//!
//! - dropping the NOT NULL of a lead key, or its last unique index (`DROP
//!   INDEX`, or `ALTER TABLE … DROP CONSTRAINT`), or making that index
//!   deferrable (`ADD CONSTRAINT … USING INDEX … DEFERRABLE`): `attach` needs
//!   the key unique at once and not null;
//! - changing a fit field's type (a mapped column's is held by the view):
//!   `USING` rewrites the values with no trigger firing;
//! - renaming a label of an enum that an attachment reads by its labels (the
//!   event type, a property, a fit field): the stored scores counted the old
//!   one;
//! - disabling, dropping, replacing (`CREATE OR REPLACE TRIGGER`) or renaming
//!   lead_score's triggers on an attached table (but for its own DDL,
//!   [`own_ddl`], and the TRUNCATE triggers of a Citus distributed table,
//!   which `distribute()` disables), or making them, or a unique index on the
//!   lead key, depend on an extension (`DEPENDS ON EXTENSION`), whose drop
//!   would drop them.
//!
//! It also sees `ALTER VIEW` and `ALTER MATERIALIZED VIEW`, which PostgreSQL
//! lets rename a table's columns too. A column dropped without being named (a
//! `DROP DOMAIN … CASCADE` of its type) is refused after the fact, from the
//! `sql_drop` event trigger ([`refuse_dropped_columns`]).

use crate::errors::{raise_code, OrRaiseWith};
use crate::owner::{extension_owner, run_as};
use pgrx::prelude::*;
use pgrx::{PgList, PgSqlErrorCode};
use std::ffi::CStr;

/// What a statement would do to a column, index or trigger; its text is the
/// verb of the refusal's message ("cannot {verb} column …").
#[derive(Clone, Copy, PartialEq, Eq)]
enum Verb {
    Rename,
    Drop,
    ChangeType,
    Disable,
    Replace,
    Depend,
    MakeDeferrable,
}

impl std::fmt::Display for Verb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verb::Rename => "rename",
            Verb::Drop => "drop",
            Verb::ChangeType => "change the type of",
            Verb::Disable => "disable",
            Verb::Replace => "replace",
            Verb::Depend => "make depend on an extension",
            Verb::MakeDeferrable => "make deferrable",
        })
    }
}

/// What a statement would do to a table.
enum Change {
    /// A column renamed or dropped (`what`: rename, drop or change the type of).
    Column {
        table: pg_sys::Oid,
        column: String,
        what: Verb,
    },
    /// The table would join an inheritance hierarchy or become a partition.
    Hierarchy { table: pg_sys::Oid },
    /// A column would lose its NOT NULL.
    NotNull { table: pg_sys::Oid, column: String },
    /// An index would be dropped (by `DROP INDEX`, or with its constraint),
    /// or made to depend on an extension, whose drop would drop it (`what`).
    Index {
        table: pg_sys::Oid,
        index: pg_sys::Oid,
        what: Verb,
    },
    /// A trigger of the table would be disabled, dropped, replaced, renamed
    /// or made to depend on an extension (`what`);
    /// `trigger` is `None` for all of them (`DISABLE TRIGGER ALL` or `USER`).
    Trigger {
        table: pg_sys::Oid,
        trigger: Option<String>,
        what: Verb,
    },
    /// A label of an enum type would be renamed (`ALTER TYPE … RENAME VALUE`).
    EnumLabel { typ: pg_sys::Oid, label: String },
}

impl Change {
    /// The table whose columns, indexes or triggers it changes (none for an
    /// enum's label or a hierarchy, whose statements lock other tables).
    fn table(&self) -> Option<pg_sys::Oid> {
        match self {
            Change::Column { table, .. }
            | Change::NotNull { table, .. }
            | Change::Index { table, .. }
            | Change::Trigger { table, .. } => Some(*table),
            Change::Hierarchy { .. } | Change::EnumLabel { .. } => None,
        }
    }
}

thread_local! {
    /// True while lead_score runs its own DDL ([`own_ddl`]).
    static OWN_DDL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, lead_score's own DDL (`detach` dropping an attachment's
/// triggers, an update regenerating them), which the guard lets change
/// lead_score's triggers.
pub fn own_ddl<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            OWN_DDL.with(|c| c.set(self.0));
        }
    }
    let _reset = Reset(OWN_DDL.with(|c| c.replace(true)));
    f()
}

/// Whether `table` has a unique index on its column `column` alone, other
/// than `except`: not partial, not on an expression, checked at once (not
/// deferrable), valid. `attach` needs one on the lead key
/// (`refusals` in src/attach.rs), and a drop may not take the last one.
pub fn key_index_exists(table: pg_sys::Oid, column: &str, except: &[pg_sys::Oid]) -> bool {
    read_one::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index i \
             JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
             WHERE i.indrelid = $1 AND a.attname = $2::pg_catalog.name AND NOT (i.indexrelid = ANY ($3)) \
               AND i.indisunique AND i.indimmediate AND i.indisvalid AND i.indnkeyatts = 1 \
               AND i.indpred IS NULL AND i.indexprs IS NULL)",
        &[table.into(), column.into(), except.to_vec().into()],
    )
    .or_raise_with(|| "lead_score: could not read the indexes of a table".into())
    .unwrap_or(false)
}

/// Whether `index` is one of the unique indexes on `column` of `table` that
/// [`key_index_exists`] counts.
fn key_index_is(table: pg_sys::Oid, column: &str, index: pg_sys::Oid) -> bool {
    let others = read_oids(
        "SELECT i.indexrelid FROM pg_catalog.pg_index i \
         WHERE i.indrelid = $1 AND i.indexrelid <> $2",
        &[table.into(), index.into()],
    );
    // With every other index set aside, a key index remains only if it is this one.
    key_index_exists(table, column, &others)
}

/// The table of index `index`, if it is one.
fn table_of_index(index: pg_sys::Oid) -> Option<pg_sys::Oid> {
    read_one::<pg_sys::Oid>(
        "SELECT i.indrelid FROM pg_catalog.pg_index i WHERE i.indexrelid = $1",
        &[index.into()],
    )
    .ok()
    .flatten()
}

/// One value of a catalog query, run read-only: pgrx's
/// `Spi::get_one_with_args` runs its query as an update, which gives the
/// transaction an id, and some DDL must run in a transaction that has none
/// (`DROP INDEX CONCURRENTLY`: "must be first action in transaction").
fn read_one<A: pgrx::FromDatum + pgrx::IntoDatum>(
    query: &str,
    args: &[pgrx::datum::DatumWithOid],
) -> pgrx::spi::Result<Option<A>> {
    Spi::connect(|client| client.select(query, Some(1), args)?.first().get_one())
}

/// The OIDs a catalog query returns (its first column), read-only as
/// [`read_one`]; none if the read fails.
fn read_oids(query: &str, args: &[pgrx::datum::DatumWithOid]) -> Vec<pg_sys::Oid> {
    Spi::connect(|client| {
        let mut out = Vec::new();
        for row in client.select(query, None, args)? {
            out.extend(row.get::<pg_sys::Oid>(1)?);
        }
        Ok::<_, pgrx::spi::Error>(out)
    })
    .unwrap_or_default()
}

/// The lock PostgreSQL takes on the tables a guarded statement changes, which
/// the guard takes first (see [`guard`]); `None` where it locks no table of a
/// change (an index's own `DEPENDS ON EXTENSION`, an enum's label, a new
/// table's parents).
#[derive(Clone, Copy)]
struct StatementLock {
    mode: pg_sys::LOCKMODE,
    /// Who else but the table's owner PostgreSQL lets run the statement.
    also: Also,
}

/// See [`StatementLock::also`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Also {
    /// No one: every other guarded statement needs the table's ownership.
    Nobody,
    /// `CREATE TRIGGER`: a role with the `TRIGGER` privilege on the table.
    TriggerPrivilege,
    /// `DROP INDEX`: the owner of the index's schema (the table's).
    SchemaOwner,
}

/// See [`StatementLock`].
///
/// # Safety
/// `tree` must be null or a valid parse tree.
unsafe fn statement_lock(tree: *mut pg_sys::Node) -> Option<StatementLock> {
    // SAFETY: as in `statement_lock_mode`, of the same tree.
    let mode = unsafe { statement_lock_mode(tree) }?;
    // SAFETY: `tree` is a valid parse tree (not null: it has a lock); the
    // cast follows the check of its tag.
    let also = unsafe {
        if pgrx::is_a(tree, pg_sys::NodeTag::T_CreateTrigStmt) {
            Also::TriggerPrivilege
        } else if pgrx::is_a(tree, pg_sys::NodeTag::T_DropStmt)
            && (*(tree as *mut pg_sys::DropStmt)).removeType == pg_sys::ObjectType::OBJECT_INDEX
        {
            Also::SchemaOwner
        } else {
            Also::Nobody
        }
    };
    Some(StatementLock { mode, also })
}

/// The mode of [`statement_lock`].
///
/// # Safety
/// `tree` must be null or a valid parse tree.
unsafe fn statement_lock_mode(tree: *mut pg_sys::Node) -> Option<pg_sys::LOCKMODE> {
    if tree.is_null() {
        return None;
    }
    let exclusive = pg_sys::AccessExclusiveLock as pg_sys::LOCKMODE;
    // SAFETY: each cast follows a check of the node's tag.
    unsafe {
        if pgrx::is_a(tree, pg_sys::NodeTag::T_RenameStmt) {
            // renameatt() and renametrig() lock the table so.
            Some(exclusive)
        } else if pgrx::is_a(tree, pg_sys::NodeTag::T_AlterTableStmt) {
            // As ProcessUtilitySlow, from the statement's own commands.
            Some(pg_sys::AlterTableGetLockLevel(
                (*(tree as *mut pg_sys::AlterTableStmt)).cmds,
            ))
        } else if pgrx::is_a(tree, pg_sys::NodeTag::T_CreateTrigStmt) {
            Some(pg_sys::ShareRowExclusiveLock as pg_sys::LOCKMODE)
        } else if pgrx::is_a(tree, pg_sys::NodeTag::T_AlterObjectDependsStmt) {
            let stmt = tree as *mut pg_sys::AlterObjectDependsStmt;
            ((*stmt).objectType == pg_sys::ObjectType::OBJECT_TRIGGER).then_some(exclusive)
        } else if pgrx::is_a(tree, pg_sys::NodeTag::T_DropStmt) {
            let stmt = tree as *mut pg_sys::DropStmt;
            match (*stmt).removeType {
                pg_sys::ObjectType::OBJECT_TRIGGER => Some(exclusive),
                // RemoveRelations locks an index's table first.
                pg_sys::ObjectType::OBJECT_INDEX if (*stmt).concurrent => {
                    Some(pg_sys::ShareUpdateExclusiveLock as pg_sys::LOCKMODE)
                }
                pg_sys::ObjectType::OBJECT_INDEX => Some(exclusive),
                _ => None,
            }
        } else {
            None
        }
    }
}

/// The index named `name` in `table`'s schema, if any.
fn index_in_schema_of(table: pg_sys::Oid, name: &str) -> Option<pg_sys::Oid> {
    read_one::<pg_sys::Oid>(
        "SELECT i.oid FROM pg_catalog.pg_class i, pg_catalog.pg_class t \
         WHERE t.oid = $1 AND i.relnamespace = t.relnamespace AND i.relname = $2::pg_catalog.name AND i.relkind = 'i'",
        &[table.into(), name.into()],
    )
    .ok()
    .flatten()
}

/// The index behind constraint `name` of `table`, if any.
fn index_of_constraint(table: pg_sys::Oid, name: &str) -> Option<pg_sys::Oid> {
    read_one::<pg_sys::Oid>(
        "SELECT c.conindid FROM pg_catalog.pg_constraint c \
         WHERE c.conrelid = $1 AND c.conname = $2::pg_catalog.name AND c.contype IN ('p', 'u')",
        &[table.into(), name.into()],
    )
    .ok()
    .flatten()
}

/// The table a `RangeVar` names, if it exists (no lock: the statement takes
/// its own, and a table found here is only looked up in lead_score's rows).
///
/// # Safety
/// `rv` must be null or a valid `RangeVar`.
unsafe fn table_of(rv: *const pg_sys::RangeVar) -> Option<pg_sys::Oid> {
    if rv.is_null() {
        return None;
    }
    // SAFETY: `rv` is a valid RangeVar (the caller's guarantee); with
    // RVR_MISSING_OK a missing relation gives InvalidOid instead of raising.
    let oid = unsafe {
        pg_sys::RangeVarGetRelidExtended(
            rv,
            pg_sys::NoLock as pg_sys::LOCKMODE,
            pg_sys::RVROption::RVR_MISSING_OK,
            None,
            std::ptr::null_mut(),
        )
    };
    (oid != pg_sys::InvalidOid).then_some(oid)
}

/// The text of a `String` parse node (a name part), if `node` is one.
///
/// # Safety
/// `node` must be null or a valid parse node.
unsafe fn string_node(node: *mut pg_sys::Node) -> Option<String> {
    // SAFETY: a non-null node (the caller's guarantee) whose tag says it is a
    // String, whose `sval` is a NUL-terminated string.
    unsafe {
        (!node.is_null() && pgrx::is_a(node, pg_sys::NodeTag::T_String))
            .then(|| name_of((*(node as *mut pg_sys::String)).sval))
            .flatten()
    }
}

/// # Safety
/// `s` must be null or a NUL-terminated string.
unsafe fn name_of(s: *const std::ffi::c_char) -> Option<String> {
    if s.is_null() {
        return None;
    }
    // SAFETY: a NUL-terminated string (the caller's guarantee).
    Some(unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned())
}

/// The changes to tables a statement's parse tree asks for.
///
/// # Safety
/// `tree` must be null or a valid parse tree node.
unsafe fn changes(tree: *mut pg_sys::Node) -> Vec<Change> {
    let mut out = Vec::new();
    if tree.is_null() {
        return out;
    }
    // SAFETY: `tree` is a valid node (the caller's guarantee); each cast below
    // follows a check of its node tag, and every list holds the nodes
    // PostgreSQL's grammar puts there.
    unsafe {
        if pgrx::is_a(tree, pg_sys::NodeTag::T_RenameStmt) {
            let stmt = tree as *mut pg_sys::RenameStmt;
            if (*stmt).renameType == pg_sys::ObjectType::OBJECT_TRIGGER {
                if let Some(table) = table_of((*stmt).relation) {
                    out.push(Change::Trigger {
                        table,
                        trigger: name_of((*stmt).subname),
                        what: Verb::Rename,
                    });
                }
            } else if (*stmt).renameType == pg_sys::ObjectType::OBJECT_COLUMN {
                if let (Some(table), Some(column)) =
                    (table_of((*stmt).relation), name_of((*stmt).subname))
                {
                    out.push(Change::Column {
                        table,
                        column,
                        what: Verb::Rename,
                    });
                }
            }
        } else if pgrx::is_a(tree, pg_sys::NodeTag::T_AlterTableStmt) {
            let stmt = tree as *mut pg_sys::AlterTableStmt;
            let Some(table) = table_of((*stmt).relation) else {
                return out;
            };
            let cmds = PgList::<pg_sys::AlterTableCmd>::from_pg((*stmt).cmds);
            for cmd in cmds.iter_ptr() {
                match (*cmd).subtype {
                    pg_sys::AlterTableType::AT_DropColumn => {
                        if let Some(column) = name_of((*cmd).name) {
                            out.push(Change::Column {
                                table,
                                column,
                                what: Verb::Drop,
                            });
                        }
                    }
                    pg_sys::AlterTableType::AT_AlterColumnType => {
                        if let Some(column) = name_of((*cmd).name) {
                            out.push(Change::Column {
                                table,
                                column,
                                what: Verb::ChangeType,
                            });
                        }
                    }
                    pg_sys::AlterTableType::AT_DisableTrig
                    | pg_sys::AlterTableType::AT_EnableReplicaTrig => {
                        out.push(Change::Trigger {
                            table,
                            trigger: name_of((*cmd).name),
                            what: Verb::Disable,
                        });
                    }
                    pg_sys::AlterTableType::AT_DisableTrigAll
                    | pg_sys::AlterTableType::AT_DisableTrigUser => {
                        out.push(Change::Trigger {
                            table,
                            trigger: None,
                            what: Verb::Disable,
                        });
                    }
                    pg_sys::AlterTableType::AT_DropNotNull => {
                        if let Some(column) = name_of((*cmd).name) {
                            out.push(Change::NotNull { table, column });
                        }
                    }
                    pg_sys::AlterTableType::AT_DropConstraint => {
                        if let Some(index) =
                            name_of((*cmd).name).and_then(|c| index_of_constraint(table, &c))
                        {
                            out.push(Change::Index {
                                table,
                                index,
                                what: Verb::Drop,
                            });
                        }
                    }
                    // ADD CONSTRAINT … UNIQUE (or PRIMARY KEY) USING INDEX …
                    // DEFERRABLE: the index stops being a key index.
                    pg_sys::AlterTableType::AT_AddConstraint => {
                        let con = (*cmd).def as *const pg_sys::Constraint;
                        if !con.is_null()
                            && pgrx::is_a((*cmd).def, pg_sys::NodeTag::T_Constraint)
                            && (*con).deferrable
                            && matches!(
                                (*con).contype,
                                pg_sys::ConstrType::CONSTR_UNIQUE
                                    | pg_sys::ConstrType::CONSTR_PRIMARY
                            )
                        {
                            if let Some(index) = name_of((*con).indexname)
                                .and_then(|i| index_in_schema_of(table, &i))
                            {
                                out.push(Change::Index {
                                    table,
                                    index,
                                    what: Verb::MakeDeferrable,
                                });
                            }
                        }
                    }
                    pg_sys::AlterTableType::AT_AddInherit => {
                        out.push(Change::Hierarchy { table });
                        if let Some(parent) = table_of((*cmd).def as *const pg_sys::RangeVar) {
                            out.push(Change::Hierarchy { table: parent });
                        }
                    }
                    pg_sys::AlterTableType::AT_AttachPartition => {
                        let part = (*cmd).def as *const pg_sys::PartitionCmd;
                        if !part.is_null() {
                            if let Some(p) = table_of((*part).name) {
                                out.push(Change::Hierarchy { table: p });
                            }
                        }
                    }
                    _ => {}
                }
            }
        } else if pgrx::is_a(tree, pg_sys::NodeTag::T_CreateTrigStmt) {
            let stmt = tree as *mut pg_sys::CreateTrigStmt;
            if (*stmt).replace {
                if let Some(table) = table_of((*stmt).relation) {
                    out.push(Change::Trigger {
                        table,
                        trigger: name_of((*stmt).trigname),
                        what: Verb::Replace,
                    });
                }
            }
        } else if pgrx::is_a(tree, pg_sys::NodeTag::T_AlterObjectDependsStmt) {
            let stmt = tree as *mut pg_sys::AlterObjectDependsStmt;
            if !(*stmt).remove {
                if (*stmt).objectType == pg_sys::ObjectType::OBJECT_TRIGGER {
                    // The trigger's name is the one string of `object`.
                    let names =
                        PgList::<pg_sys::Node>::from_pg((*stmt).object as *mut pg_sys::List);
                    let trigger = names.get_ptr(0).and_then(|v| string_node(v));
                    if let (Some(table), Some(trigger)) = (table_of((*stmt).relation), trigger) {
                        out.push(Change::Trigger {
                            table,
                            trigger: Some(trigger),
                            what: Verb::Depend,
                        });
                    }
                } else if (*stmt).objectType == pg_sys::ObjectType::OBJECT_INDEX {
                    if let Some(index) = table_of((*stmt).relation) {
                        if let Some(table) = table_of_index(index) {
                            out.push(Change::Index {
                                table,
                                index,
                                what: Verb::Depend,
                            });
                        }
                    }
                }
            }
        } else if pgrx::is_a(tree, pg_sys::NodeTag::T_AlterEnumStmt) {
            let stmt = tree as *mut pg_sys::AlterEnumStmt;
            if let Some(label) = name_of((*stmt).oldVal) {
                let name = pg_sys::makeTypeNameFromNameList((*stmt).typeName);
                let typ = pg_sys::LookupTypeNameOid(std::ptr::null_mut(), name, true);
                if typ != pg_sys::InvalidOid {
                    out.push(Change::EnumLabel { typ, label });
                }
            }
        } else if pgrx::is_a(tree, pg_sys::NodeTag::T_DropStmt) {
            let stmt = tree as *mut pg_sys::DropStmt;
            if (*stmt).removeType == pg_sys::ObjectType::OBJECT_TRIGGER {
                // Each object is its table's name parts, then the trigger's.
                let objects = PgList::<pg_sys::List>::from_pg((*stmt).objects);
                for names in objects.iter_ptr() {
                    let parts = PgList::<pg_sys::Node>::from_pg(names);
                    let n = parts.len();
                    if n < 2 {
                        continue;
                    }
                    let trigger = parts.get_ptr(n - 1).and_then(|v| string_node(v));
                    let table_names =
                        pg_sys::list_truncate(pg_sys::list_copy(names), (n - 1) as i32);
                    let rv = pg_sys::makeRangeVarFromNameList(table_names);
                    if let Some(table) = table_of(rv) {
                        out.push(Change::Trigger {
                            table,
                            trigger,
                            what: Verb::Drop,
                        });
                    }
                }
            } else if (*stmt).removeType == pg_sys::ObjectType::OBJECT_INDEX {
                // Each object of a DROP INDEX is a list of name parts.
                let objects = PgList::<pg_sys::List>::from_pg((*stmt).objects);
                for names in objects.iter_ptr() {
                    let rv = pg_sys::makeRangeVarFromNameList(names);
                    if let Some(index) = table_of(rv) {
                        if let Some(table) = table_of_index(index) {
                            out.push(Change::Index {
                                table,
                                index,
                                what: Verb::Drop,
                            });
                        }
                    }
                }
            }
        } else if pgrx::is_a(tree, pg_sys::NodeTag::T_CreateStmt)
            || pgrx::is_a(tree, pg_sys::NodeTag::T_CreateForeignTableStmt)
        {
            // A CreateForeignTableStmt begins with its CreateStmt (`base`).
            let stmt = tree as *mut pg_sys::CreateStmt;
            let parents = PgList::<pg_sys::RangeVar>::from_pg((*stmt).inhRelations);
            for parent in parents.iter_ptr() {
                if let Some(table) = table_of(parent) {
                    out.push(Change::Hierarchy { table });
                }
            }
        }
    }
    out
}

/// An attachment of a table and the columns of it that the attachment reads.
struct Reader {
    attachment: String,
    /// Of the leads table: its lead key column.
    lead_key: Option<String>,
    /// Neither renamed nor dropped.
    columns: Vec<String>,
    /// Not dropped (the accounts field: the account views follow a rename,
    /// which publishing then picks up, but a drop with CASCADE would take them).
    kept: Vec<String>,
    /// Not retyped: the fit fields, which no view holds (the mapped columns
    /// are held by the `<name>_columns` view), and whose values a `USING`
    /// clause would rewrite with no trigger firing.
    fit: Vec<String>,
    /// Read by their labels: the fit fields, the event type and the
    /// properties, whose enum labels may not be renamed under the stored
    /// scores. (Not the keys: a score row holds its key as the value itself.)
    labelled: Vec<String>,
}

/// The attachments that read `table`, with the columns they read of it.
fn readers(table: pg_sys::Oid) -> Vec<Reader> {
    let rows: Vec<(String, String, bool, serde_json::Value)> = Spi::connect(|client| {
        let rows = client.select(
            "SELECT a.name, a.model, a.leads::pg_catalog.oid = $1, a.mapping::pg_catalog.text \
             FROM lead_score.attachments a WHERE (a.leads::pg_catalog.oid = $1 OR a.activities::pg_catalog.oid = $1) \
               AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = a.leads::pg_catalog.oid) \
               AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = a.activities::pg_catalog.oid) \
             ORDER BY a.name",
            None,
            &[table.into()],
        )?;
        let mut out = Vec::new();
        for row in rows {
            let mapping: String = row.get(4)?.unwrap_or_default();
            out.push((
                row.get::<String>(1)?.unwrap_or_default(),
                row.get::<String>(2)?.unwrap_or_default(),
                row.get::<bool>(3)?.unwrap_or(false),
                serde_json::from_str(&mapping).unwrap_or(serde_json::Value::Null),
            ));
        }
        Ok::<_, pgrx::spi::Error>(out)
    })
    .or_raise_with(|| "lead_score: could not read the attachments of a table".into());
    rows.into_iter()
        .map(|(attachment, model, is_leads, mapping)| {
            let named = |key: &str| mapping.get(key).and_then(|v| v.as_str()).map(String::from);
            let mut columns: Vec<String> = Vec::new();
            let mut kept: Vec<String> = Vec::new();
            let mut fit: Vec<String> = Vec::new();
            let mut labelled: Vec<String> = Vec::new();
            let lead_key = if is_leads { named("lead_key") } else { None };
            if is_leads {
                columns.extend(named("lead_key"));
                let compiled = crate::catalog::compiled(&model);
                fit.extend(compiled.model.fit.fields.iter().cloned());
                columns.extend(fit.iter().cloned());
                labelled.extend(fit.iter().cloned());
                kept.extend(compiled.model.accounts.as_ref().map(|a| a.field.clone()));
            } else {
                columns.extend(
                    ["activity_lead_key", "event_type", "occurred_at"]
                        .into_iter()
                        .filter_map(named),
                );
                labelled.extend(named("event_type"));
                if let Some(props) = mapping.get("property_columns").and_then(|p| p.as_array()) {
                    let props = props.iter().filter_map(|p| p.as_str()).map(String::from);
                    labelled.extend(props.clone());
                    columns.extend(props);
                }
            }
            Reader {
                attachment,
                lead_key,
                columns,
                kept,
                fit,
                labelled,
            }
        })
        .collect()
}

fn table_name(table: pg_sys::Oid) -> String {
    crate::attach::relation(table)
        .map(|(q, _)| q.to_sql())
        .unwrap_or_else(|| table.to_u32().to_string())
}

/// Refuses a statement's changes to attached tables (see the module comment).
fn guard(changes: Vec<Change>, lock: Option<StatementLock>) {
    if changes.is_empty() || !crate::attach::installed() {
        return;
    }
    let indexes: Vec<(pg_sys::Oid, pg_sys::Oid)> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Index {
                table,
                index,
                what: Verb::Drop | Verb::MakeDeferrable,
            } => Some((*table, *index)),
            _ => None,
        })
        .collect();
    // An attach in flight holds its tables (its triggers'
    // ShareRowExclusiveLock) until it commits, and the statement's snapshot,
    // or a REPEATABLE READ transaction's, was taken before: the attachments
    // are read once the tables are locked, with the latest snapshot. The
    // lock is the one the statement takes anyway (`statement_lock`), a
    // little earlier: a weaker one held while waiting for it would turn a
    // lock upgrade PostgreSQL reorders into a deadlock.
    let mut tables: Vec<pg_sys::Oid> = changes.iter().filter_map(Change::table).collect();
    tables.sort_unstable_by_key(|t| t.to_u32());
    tables.dedup();
    if let Some(lock) = lock {
        for table in tables.iter().filter(|t| may_change(**t, lock.also)) {
            // SAFETY: takes a lock by OID until the transaction ends; an OID
            // that names no relation locks nothing that exists.
            unsafe { pg_sys::LockRelationOid(*table, lock.mode) };
        }
    }
    // SAFETY: PushActiveSnapshot copies the latest snapshot (a static one);
    // it is popped below, or by the abort of a refusal. SPI reads it in a
    // transaction with no xid yet; in one with an xid, SPI takes the
    // transaction's snapshot, fresh under READ COMMITTED, and
    // `unseen_attachment` catches what it misses under REPEATABLE READ.
    unsafe { pg_sys::PushActiveSnapshot(pg_sys::GetLatestSnapshot()) };
    run_as(extension_owner(), || {
        for table in &tables {
            if let Some(trigger) = unseen_attachment(*table) {
                raise_code(
                    PgSqlErrorCode::ERRCODE_T_R_SERIALIZATION_FAILURE,
                    format!(
                        "could not serialize access: {} was attached (trigger \"{trigger}\") after this transaction's snapshot",
                        table_name(*table)
                    ),
                );
            }
        }
        for change in changes {
            match change {
                Change::Column {
                    table,
                    column,
                    what,
                } => {
                    for r in readers(table) {
                        let reads = match what {
                            Verb::Drop => r.columns.contains(&column) || r.kept.contains(&column),
                            Verb::ChangeType => r.fit.contains(&column),
                            _ => r.columns.contains(&column),
                        };
                        if reads {
                            ereport!(
                                ERROR,
                                PgSqlErrorCode::ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST,
                                format!(
                                    "cannot {what} column \"{column}\" of {}: lead_score attachment \"{}\" reads it",
                                    table_name(table),
                                    r.attachment
                                ),
                                "Publish a model version that does not read it, or detach the attachment (lead_score.detach) and attach it again with another mapping."
                            );
                        }
                    }
                }
                Change::NotNull { table, column } => {
                    // A key that may be NULL already (an attachment from
                    // 0.1.0, which did not refuse one) loses nothing.
                    let not_null = read_one::<bool>(
                        "SELECT a.attnotnull FROM pg_catalog.pg_attribute a \
                         WHERE a.attrelid = $1 AND a.attname = $2::pg_catalog.name",
                        &[table.into(), column.as_str().into()],
                    );
                    if !matches!(not_null, Ok(Some(true))) {
                        continue;
                    }
                    for r in readers(table) {
                        if r.lead_key.as_deref() == Some(column.as_str()) {
                            ereport!(
                                ERROR,
                                PgSqlErrorCode::ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST,
                                format!(
                                    "cannot drop the NOT NULL of column \"{column}\" of {}: lead_score attachment \"{}\" reads it as the lead key",
                                    table_name(table),
                                    r.attachment
                                ),
                                "A lead needs a key: detach the attachment (lead_score.detach) first."
                            );
                        }
                    }
                }
                Change::Index { table, index, what } => {
                    // Every index the statement drops from this table at once.
                    let dropping: Vec<pg_sys::Oid> = indexes
                        .iter()
                        .filter(|(t, _)| *t == table)
                        .map(|(_, i)| *i)
                        .chain(std::iter::once(index))
                        .collect();
                    for r in readers(table) {
                        let Some(key) = r.lead_key.as_deref() else {
                            continue;
                        };
                        // A drop may leave another unique index on the key; an
                        // index tied to an extension would go with it later,
                        // whatever else a later statement drops: none may be.
                        let refused = if what == Verb::Depend {
                            key_index_is(table, key, index)
                        } else {
                            key_index_exists(table, key, &[])
                                && !key_index_exists(table, key, &dropping)
                        };
                        if refused {
                            ereport!(
                                ERROR,
                                PgSqlErrorCode::ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST,
                                format!(
                                    "{}: lead_score attachment \"{}\" needs its lead key unique",
                                    if what == Verb::Depend {
                                        format!("cannot make the unique index on column \"{key}\" of {} depend on an extension (dropping the extension would drop it)", table_name(table))
                                    } else if what == Verb::MakeDeferrable {
                                        format!("cannot make the unique index on column \"{key}\" of {} deferrable (two rows could hold one key until the check)", table_name(table))
                                    } else {
                                        format!("cannot {what} the unique index on column \"{key}\" of {}", table_name(table))
                                    },
                                    r.attachment
                                ),
                                "Two lead rows with one key would share one score: detach the attachment (lead_score.detach) first, or create another unique index on the key."
                            );
                        }
                    }
                }
                Change::Trigger {
                    table,
                    trigger,
                    what,
                } => {
                    if OWN_DDL.with(|c| c.get()) {
                        continue;
                    }
                    let readers = readers(table);
                    if readers.is_empty() {
                        continue;
                    }
                    let Some(ours) = lead_score_trigger(table, trigger.as_deref()) else {
                        continue;
                    };
                    // distribute() disables the TRUNCATE triggers of a Citus
                    // distributed table, whose shards' triggers do the work.
                    if what == Verb::Disable && ours.ends_with("_trunc") && citus_distributed(table)
                    {
                        continue;
                    }
                    // The attachment whose trigger it is (its name says), else
                    // the table's first.
                    let attachment = readers
                        .iter()
                        .find(|r| {
                            lead_score_core::sqlgen::attach::Write::ALL.iter().any(|w| {
                                lead_score_core::sqlgen::attach::trigger_name(&r.attachment, *w)
                                    == ours
                            })
                        })
                        .unwrap_or(&readers[0])
                        .attachment
                        .clone();
                    let change = match what {
                        Verb::Depend => format!(
                            "cannot make trigger \"{ours}\" of {} depend on an extension (dropping the extension would drop it)",
                            table_name(table)
                        ),
                        _ => format!("cannot {what} trigger \"{ours}\" of {}", table_name(table)),
                    };
                    ereport!(
                        ERROR,
                        PgSqlErrorCode::ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST,
                        format!(
                            "{change}: lead_score attachment \"{attachment}\" scores the table's writes with it"
                        ),
                        "Writes the trigger does not see would not be scored. Detach the attachment (lead_score.detach) to stop scoring the table."
                    );
                }
                Change::EnumLabel { typ, label } => {
                    // A label the type does not have is PostgreSQL's to refuse.
                    let exists = read_one::<bool>(
                        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_enum e \
                         WHERE e.enumtypid = $1 AND e.enumlabel = $2::pg_catalog.name)",
                        &[typ.into(), label.as_str().into()],
                    );
                    if !matches!(exists, Ok(Some(true))) {
                        continue;
                    }
                    if let Some((attachment, table, column)) = enum_reader(typ) {
                        ereport!(
                            ERROR,
                            PgSqlErrorCode::ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST,
                            format!(
                                "cannot rename value \"{label}\" of type {}: lead_score attachment \"{attachment}\" reads column \"{column}\" of {} by its labels",
                                crate::row::type_name(typ),
                                table_name(table)
                            ),
                            "The stored scores count the values by their labels. Detach the attachment (lead_score.detach), rename the value, and attach it again."
                        );
                    }
                }
                Change::Hierarchy { table } => {
                    if let Some(r) = readers(table).first() {
                        raise_code(
                            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                            format!(
                                "{} is attached (lead_score attachment \"{}\"): it cannot gain inheritance parents or children, nor become a partition, since writes through another table of the hierarchy would not be scored",
                                table_name(table),
                                r.attachment
                            ),
                        );
                    }
                }
            }
        }
    });
    // SAFETY: pops the snapshot pushed above.
    unsafe { pg_sys::PopActiveSnapshot() };
}

/// Whether the statement's role may make the change: owns `table`, or, for
/// `CREATE TRIGGER`, may create triggers on it, or, for `DROP INDEX`, owns
/// the index's schema (`also`). PostgreSQL checks that before it locks the
/// table, so a role that may not change it cannot queue a lock on it through
/// the guard either (it is refused without), and every role that may waits
/// for an `attach` in flight (a schema owner's `DROP INDEX` of a key index
/// did not, and dropped the index of a table attached meanwhile).
/// Before, the `TRIGGER` privilege let a role queue the `ACCESS EXCLUSIVE`
/// lock of an `ALTER TABLE … RENAME` it could not run, holding every reader
/// of the table behind it until the statement's lock wait ended.
fn may_change(table: pg_sys::Oid, also: Also) -> bool {
    // SAFETY: syscache lookups of the current user's rights on a relation
    // that exists (checked first: the checks raise an ERROR for one that
    // does not).
    unsafe {
        let user = pg_sys::GetUserId();
        pg_sys::SearchSysCacheExists(
            pg_sys::SysCacheIdentifier::RELOID as i32,
            pg_sys::Datum::from(table),
            pg_sys::Datum::from(0),
            pg_sys::Datum::from(0),
            pg_sys::Datum::from(0),
        ) && (pg_sys::pg_class_ownercheck(table, user)
            || match also {
                Also::Nobody => false,
                Also::TriggerPrivilege => {
                    pg_sys::pg_class_aclcheck(table, user, pg_sys::ACL_TRIGGER as pg_sys::AclMode)
                        == pg_sys::AclResult::ACLCHECK_OK
                }
                Also::SchemaOwner => {
                    pg_sys::pg_namespace_ownercheck(pg_sys::get_rel_namespace(table), user)
                }
            })
    }
}

/// A trigger of `table` running a function of lead_score's whose attachment
/// the reads do not see: one attached after a REPEATABLE READ transaction's
/// snapshot. The triggers come from the relation cache, which reads the
/// catalogs as committed now.
fn unseen_attachment(table: pg_sys::Oid) -> Option<String> {
    // SAFETY: XactIsoLevel is the backend's own isolation level.
    if unsafe { pg_sys::XactIsoLevel } < pg_sys::XACT_REPEATABLE_READ as i32
        || OWN_DDL.with(|c| c.get())
    {
        return None;
    }
    let mut ours: Vec<String> = Vec::new();
    // SAFETY: the relation is held by the lock the guard took; the entry is
    // read, then closed, and each trigger's name is a C string of the entry.
    unsafe {
        let ns = pg_sys::get_namespace_oid(c"lead_score_internal".as_ptr(), true);
        let rel = pg_sys::RelationIdGetRelation(table);
        if rel.is_null() {
            return None;
        }
        let desc = (*rel).trigdesc;
        if !desc.is_null() {
            for i in 0..(*desc).numtriggers as usize {
                let t = &*(*desc).triggers.add(i);
                if pg_sys::get_func_namespace(t.tgfoid) == ns {
                    ours.extend(name_of(t.tgname));
                }
            }
        }
        pg_sys::RelationClose(rel);
    }
    if ours.is_empty() {
        return None;
    }
    let seen: Vec<String> = readers(table)
        .iter()
        .flat_map(|r| {
            lead_score_core::sqlgen::attach::Write::ALL
                .iter()
                .map(|w| lead_score_core::sqlgen::attach::trigger_name(&r.attachment, *w))
        })
        .collect();
    ours.into_iter().find(|t| !seen.contains(t))
}

/// The name of a trigger of `table` that runs a function of lead_score's
/// (`trigger`, or any for `None`), if there is one.
fn lead_score_trigger(table: pg_sys::Oid, trigger: Option<&str>) -> Option<String> {
    read_one::<String>(
        "SELECT t.tgname::pg_catalog.text FROM pg_catalog.pg_trigger t \
         JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid \
         JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
         WHERE t.tgrelid = $1 AND n.nspname = 'lead_score_internal' \
           AND ($2::pg_catalog.name IS NULL OR t.tgname = $2::pg_catalog.name) \
         ORDER BY t.tgname LIMIT 1",
        &[table.into(), trigger.into()],
    )
    .ok()
    .flatten()
}

/// Whether Citus distributes `table`.
fn citus_distributed(table: pg_sys::Oid) -> bool {
    read_one::<bool>(
        "SELECT lead_score_internal._citus_method($1::pg_catalog.oid::pg_catalog.regclass) IS NOT NULL",
        &[table.into()],
    )
    .ok()
    .flatten()
    .unwrap_or(false)
}

/// Whether a column of type `column_type` holds values of enum `typ`: of it,
/// a domain over it, or an array of either (the triggers read an array of
/// enums by its elements' labels), at any depth of domains and arrays.
fn holds_enum(column_type: pg_sys::Oid, typ: pg_sys::Oid) -> bool {
    // SAFETY: syscache lookups of a type that exists (a column's, or its
    // element type).
    let (base, element) = unsafe {
        let base = pg_sys::getBaseType(column_type);
        (base, pg_sys::get_element_type(base))
    };
    base == typ || (element != pg_sys::InvalidOid && holds_enum(element, typ))
}

/// An attachment that reads a column of enum type `typ` (or of a domain over
/// it, or an array of either) by its labels ([`Reader::labelled`]):
/// (attachment, table, column).
fn enum_reader(typ: pg_sys::Oid) -> Option<(String, pg_sys::Oid, String)> {
    let tables = read_oids(
        "SELECT DISTINCT t FROM lead_score.attachments a, \
             LATERAL (VALUES (a.leads::pg_catalog.oid), (a.activities::pg_catalog.oid)) v(t) ORDER BY t",
        &[],
    );
    for table in tables {
        for r in readers(table) {
            for column in &r.labelled {
                let column_type = read_one::<pg_sys::Oid>(
                    "SELECT a.atttypid FROM pg_catalog.pg_attribute a \
                     WHERE a.attrelid = $1 AND a.attname = $2::pg_catalog.name AND NOT a.attisdropped",
                    &[table.into(), column.as_str().into()],
                )
                .ok()
                .flatten();
                if column_type.is_some_and(|t| holds_enum(t, typ)) {
                    return Some((r.attachment, table, column.clone()));
                }
            }
        }
    }
    None
}

/// From the `sql_drop` event trigger (`lead_score_follow_drops`): refuses a
/// statement that dropped a column an attachment reads by a route the
/// `ddl_command_start` guard does not see, since the column is not named: a
/// `DROP DOMAIN`, `DROP TYPE` or `DROP COLLATION … CASCADE` (or of a schema
/// holding one) drops the columns of that type or collation, and the
/// `<name>_columns` view with them. The error rolls the statement back.
/// Columns of a table dropped by the same statement are the attachment's
/// to follow (`forget_dropped`), and so is an attachment one of whose tables
/// the statement dropped (`readers` leaves it out): its other table's columns
/// may go with it.
pub fn refuse_dropped_columns() {
    let dropped: Vec<(pg_sys::Oid, String)> = Spi::connect(|client| {
        let rows = client.select(
            "SELECT d.objid, d.address_names[3] FROM pg_catalog.pg_event_trigger_dropped_objects() d \
             WHERE d.object_type = 'table column' \
               AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger_dropped_objects() t \
                               WHERE t.classid = 'pg_catalog.pg_class'::pg_catalog.regclass \
                                 AND t.objid = d.objid AND t.objsubid = 0)",
            None,
            &[],
        )?;
        let mut out = Vec::new();
        for row in rows {
            if let (Some(table), Some(column)) =
                (row.get::<pg_sys::Oid>(1)?, row.get::<String>(2)?)
            {
                out.push((table, column));
            }
        }
        Ok::<_, pgrx::spi::Error>(out)
    })
    .or_raise_with(|| "lead_score: could not read the dropped columns".into());
    guard(
        dropped
            .into_iter()
            .map(|(table, column)| Change::Column {
                table,
                column,
                what: Verb::Drop,
            })
            .collect(),
        // Run after the fact (sql_drop): the statement holds its locks.
        None,
    );
}

crate::v1_info!(pg_finfo_lead_score_guard_ddl);
/// `lead_score_internal._guard_ddl()`: the `ddl_command_start` event trigger
/// `lead_score_guard_ddl` (see the module comment).
///
/// # Safety
/// Called only by PostgreSQL's function manager, as that event trigger
/// (`sql/live.sql`).
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_guard_ddl(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    // SAFETY: called as an event trigger, so the context is this call's
    // EventTriggerData (checked by its tag), whose parse tree is the
    // statement's, valid while it runs.
    let (changes, lock) = unsafe {
        let context = (*fcinfo).context;
        if context.is_null() || !pgrx::is_a(context, pg_sys::NodeTag::T_EventTriggerData) {
            raise_code(
                PgSqlErrorCode::ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED,
                "lead_score_internal._guard_ddl() runs only as an event trigger",
            );
        }
        let tree = (*(context as *mut pg_sys::EventTriggerData)).parsetree;
        (changes(tree), statement_lock(tree))
    };
    guard(changes, lock);
    pg_sys::Datum::from(0)
}
