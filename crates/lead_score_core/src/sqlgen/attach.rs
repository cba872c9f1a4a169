//! The objects `lead_score.attach` creates for one attachment: the score,
//! pending and stripe tables, the views readers use, and the statement-level
//! triggers that keep scores current. One function per generated object.
//!
//! Security rules every generated trigger follows (README, "Security"):
//! - Trigger functions are `SECURITY DEFINER` (an application that writes its
//!   own tables needs no grants on lead_score), with `search_path` pinned to
//!   `pg_catalog, pg_temp` and `row_security = off`, so no policy, operator or
//!   function of another role is found by name.
//! - They only touch values of built-in types and enums, and turn an enum into
//!   text through its output function (`format('%s', …)`), never through a
//!   cast, so no user-defined cast, operator, I/O or domain check can run with
//!   the definer's rights. `attach` refuses other column types.
//! - Locks that order writers are relation and row locks on lead_score's own
//!   tables, which only the definer may take, not public advisory locks.
//! - Writers use the transaction's real time (`lead_score_internal._now()`, which is
//!   `now()`); `lead_score.as_of` only affects reads.

use super::{ident, internal, literal, ours, Qualified, INTERNAL_SCHEMA, SCHEMA};

/// The most engagement properties an attachment can map; the spec parser
/// enforces the same limit (`engagement.properties`).
pub use crate::model::MAX_PROPERTIES;
/// The most keys [`Attachment::owner_read_query`] reads one by one, each by
/// the lead key index; more are read as one join.
pub const FEW_KEYS: usize = 64;

/// Stripe locks a writer takes for keys that have no score row yet.
pub const STRIPES: u32 = 1024;

// Every lead row is passed to the scoring functions as `l.*`, never as a
// bare `l`: PostgreSQL reads a bare name as a column before it reads it as a
// table alias, so a leads table with a column named `l` would pass that
// column (a composite one with the fit fields, silently).

/// The account heads' unique key: two 64-bit hashes of the account text,
/// under two seeds (see [`Attachment::account_heads_table`]); not MD5, which
/// a FIPS build of PostgreSQL refuses. Two accounts would share a row only
/// if both hashes agree, about 1 in 10^26 among a million accounts (one
/// hash alone: 1 in 10^8); the update would then keep the first's
/// (`WHERE h.account = EXCLUDED.account`), and the second be new at every
/// check.
const HEADS_KEY: &str =
    "(pg_catalog.hashtextextended(account, 0)), (pg_catalog.hashtextextended(account, 1))";

/// [`Attachment::account_totals`]' rows passed back as arrays `$1` (accounts),
/// `$2` (totals) and `$3` (alerting), as `a`.
const TOTALS_ROWS: &str = "ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]), pg_catalog.unnest($2::pg_catalog.float8[]), pg_catalog.unnest($3::pg_catalog.bool[])) AS a(account, total, alerting)";

/// The stripe of a lead key (an expression of it).
fn stripe_of(key: &str) -> String {
    format!("(pg_catalog.hash_array(ARRAY[{key}]) & {})", STRIPES - 1)
}

/// The roles lead_score ships; see README, "Roles".
pub const READER_ROLE: &str = "lead_score_reader";
pub const ADMIN_ROLE: &str = "lead_score_admin";

/// The longest attachment name: every derived name (the longest is
/// `<name>__lead_trunc`, and triggers `lead_score_<name>_trunc`) stays within
/// PostgreSQL's 63-byte identifiers.
pub const MAX_NAME_LEN: usize = 41;

/// Columns of the `lead_score_internal._applied` composite that `_live_apply` returns,
/// with the score table column each is stored in. The single definition of
/// both shapes: the score table, the `_applied` type and every SET list come
/// from it.
pub const APPLIED: &[(&str, &str, &str)] = &[
    // (field of _applied, its type, score table column)
    ("state", "bytea", "state"),
    ("engagement", "float8", "engagement"),
    ("total", "float8", "total"),
    ("mql", "boolean", "mql"),
    ("quadrant", "text", "quadrant"),
    ("hot_categories", "text[]", "hot_categories"),
    ("bound", "float8", "bound"),
    ("last_activity", "timestamptz", "last_activity"),
    ("model_version", "integer", "model_version"),
    ("alerts", "jsonb", "last_alerts"),
];

/// Fields of the `lead_score.score` composite every scoring function returns,
/// in order, with what each means: the one definition of that shape. The SQL
/// type, the current views' columns, their column comments and the pgrx
/// layer's field array (`src/lead.rs`) come from it.
pub const SCORE: &[(&str, &str, &str)] = &[
    (
        "fit",
        "float8",
        "Fit score: points of the fit rules that hold, completeness, clamped",
    ),
    (
        "engagement",
        "float8",
        "Engagement score: decayed, capped points of the engagement rules",
    ),
    ("total", "float8", "fit + engagement"),
    (
        "grade",
        "text",
        "Grade of the fit score (classification.grades)",
    ),
    (
        "label",
        "text",
        "Label of the engagement score (classification.labels)",
    ),
    (
        "quadrant",
        "text",
        "act_now, account_based, check_fit, nurture or disqualified",
    ),
    (
        "mql",
        "boolean",
        "Marketing-qualified lead (classification.mql)",
    ),
    ("disqualified", "boolean", "A disqualify rule holds"),
    (
        "disqualified_by",
        "text",
        "Name of the first disqualify rule that holds",
    ),
    (
        "categories",
        "jsonb",
        "Category scores after their caps, as {\"category\": score}",
    ),
    (
        "hot_categories",
        "text[]",
        "Categories at or above their watermark",
    ),
    (
        "last_activity",
        "timestamptz",
        "Time of the lead's latest counted activity",
    ),
    (
        "model_version",
        "integer",
        "Model version that scored the lead",
    ),
    // The predictive model's (spec section `predictive`), NULL without one.
    (
        "probability",
        "float8",
        "Probability of converting from the model's predictive section",
    ),
    (
        "predictive_score",
        "integer",
        "round(100 x probability), 0 to 100",
    ),
    (
        "top_features",
        "jsonb",
        "Largest contributions to the log-odds, [{\"feature\", \"contribution\"}]",
    ),
];

/// Fields of the `lead_score.top_lead` composite `top_leads` returns, in order.
pub const TOP_LEAD: &[(&str, &str)] = &[
    ("lead_key", "text"),
    ("total", "float8"),
    ("fit", "float8"),
    ("engagement", "float8"),
    ("grade", "text"),
    ("label", "text"),
    ("quadrant", "text"),
    ("mql", "boolean"),
    ("disqualified", "boolean"),
];

/// What a lead key column means, for the column comments beside [`SCORE`]'s.
pub const LEAD_KEY_DOC: &str = "The lead's key, as in the leads table";

/// `COMMENT ON COLUMN` for each column of `relation` (an already quoted name)
/// that is a [`SCORE`] field or `lead_key`: the score type, `top_lead`, the
/// current views and `current_scores` say what their columns are from here.
pub fn score_column_comments(relation: &str, columns: &[&str]) -> Vec<String> {
    columns
        .iter()
        .filter_map(|c| {
            let doc = if *c == "lead_key" {
                Some(LEAD_KEY_DOC)
            } else {
                SCORE
                    .iter()
                    .chain(CURRENT_EXTRA.iter())
                    .find(|(f, _, _)| f == c)
                    .map(|(_, _, d)| *d)
            };
            doc.map(|d| {
                format!(
                    "COMMENT ON COLUMN {relation}.{} IS {}",
                    ident(c),
                    literal(d)
                )
            })
        })
        .collect()
}

/// `CREATE TYPE lead_score.top_lead`, from [`TOP_LEAD`].
pub fn top_lead_type() -> String {
    let fields: Vec<String> = TOP_LEAD
        .iter()
        .map(|(f, t)| format!("{} {t}", ident(f)))
        .collect();
    format!(
        "CREATE TYPE {} AS ({})",
        ours("top_lead"),
        fields.join(", ")
    )
}

/// `CREATE TYPE lead_score.score`, from [`SCORE`].
pub fn score_type() -> String {
    let fields: Vec<String> = SCORE
        .iter()
        .map(|(f, t, _)| format!("{} {t}", ident(f)))
        .collect();
    format!("CREATE TYPE {} AS ({})", ours("score"), fields.join(", "))
}

/// Column comments of the extension's own score-shaped relations: the
/// `score` and `top_lead` types and the `current_scores` view.
pub fn score_comments() -> Vec<String> {
    let score: Vec<&str> = SCORE.iter().map(|(f, _, _)| *f).collect();
    let top: Vec<&str> = TOP_LEAD.iter().map(|(f, _)| *f).collect();
    let mut out = score_column_comments(&ours("score"), &score);
    out.extend(score_column_comments(&ours("top_lead"), &top));
    out
}

/// The columns of `lead_score.current_scores` before [`SCORE`]'s, with their
/// types and what they are.
pub const CURRENT_SCORES_KEYS: &[(&str, &str, &str)] = &[
    (
        "attachment",
        "text",
        "Attachment the score belongs to: one row per lead per attachment, so filter or group by it",
    ),
    ("model", "text", "The attachment's model"),
    ("lead_key", "text", "The lead's key as text (each attachment's <name>_current view keeps its own type)"),
];

/// The columns of each `<name>_categories` view after `lead_key`, with their
/// types and what they are.
pub const CATEGORY_COLUMNS: &[(&str, &str, &str)] = &[
    ("lead_key", "text", LEAD_KEY_DOC),
    (
        "category",
        "text",
        "A category the model declares (engagement.categories)",
    ),
    (
        "score",
        "float8",
        "The lead's score in the category, after its cap",
    ),
    (
        "hot",
        "boolean",
        "The score is at or above the category's watermark",
    ),
];

/// The columns of each current view (and `current_scores`) after [`SCORE`]'s.
pub const CURRENT_EXTRA: &[(&str, &str, &str)] = &[(
    "adjustment",
    "float8",
    "Manual points (lead_score.adjust) active at scoring_time(); fit and total include them",
)];

/// `lead_score.current_scores` and `lead_score.current_categories`: every
/// attachment's current and category views, a branch each
/// ([`Attachment::current_scores_branch`]), so a filter on `attachment` prunes
/// the others and filters on the other columns reach each attachment's score
/// rows. Regenerated by `attach` and `detach`; with no attachment left they are
/// empty. Then their comments and the reader's grant.
///
/// `replace` when they exist already (CREATE OR REPLACE keeps the views of
/// yours over them); they are created in lead_score's schema, where only the
/// extension's owner creates objects.
pub fn current_views_statements(attachments: &[Attachment], replace: bool) -> Vec<Statement> {
    let create = if replace {
        "CREATE OR REPLACE VIEW"
    } else {
        "CREATE VIEW"
    };
    let mut out = Vec::new();
    let scores_columns: Vec<(&str, &str, &str)> = CURRENT_SCORES_KEYS
        .iter()
        .chain(SCORE.iter())
        .chain(CURRENT_EXTRA.iter())
        .copied()
        .collect();
    let categories_columns: Vec<(&str, &str, &str)> = CURRENT_SCORES_KEYS
        .iter()
        .filter(|(f, _, _)| *f != "model")
        .chain(CATEGORY_COLUMNS.iter().filter(|(f, _, _)| *f != "lead_key"))
        .copied()
        .collect();
    /// A view's name, comment, columns (name, type, comment) and branch.
    type UnionView<'a> = (
        &'a str,
        &'a str,
        &'a [(&'a str, &'a str, &'a str)],
        fn(&Attachment) -> String,
    );
    let [scores_view, categories_view] = names::UNION_VIEWS;
    let views: [UnionView; 2] = [
        (
            scores_view,
            "Current scores of every attachment at scoring_time(), one row per lead per attachment, for BI tools.",
            &scores_columns,
            Attachment::current_scores_branch,
        ),
        (
            categories_view,
            "Category scores of every attachment at scoring_time(), one row per lead, attachment and category, for BI tools.",
            &categories_columns,
            Attachment::current_categories_branch,
        ),
    ];
    for (name, doc, columns, branch) in views {
        let view = ours(name);
        let body = if attachments.is_empty() {
            let nulls: Vec<String> = columns
                .iter()
                .map(|(f, t, _)| format!("NULL::{t} AS {}", ident(f)))
                .collect();
            format!("SELECT {} WHERE false", nulls.join(", "))
        } else {
            attachments
                .iter()
                .map(branch)
                .collect::<Vec<_>>()
                .join("\nUNION ALL\n")
        };
        out.push(stmt(name, format!("{create} {view} AS\n{body}")));
        out.push(stmt(
            name,
            format!("COMMENT ON VIEW {view} IS {}", literal(doc)),
        ));
        for (f, _, d) in columns.iter() {
            out.push(stmt(
                name,
                format!("COMMENT ON COLUMN {view}.{} IS {}", ident(f), literal(d)),
            ));
        }
        out.push(stmt(
            name,
            format!("GRANT SELECT ON {view} TO {}", ident(READER_ROLE)),
        ));
    }
    out
}

/// `CREATE TYPE lead_score_internal._applied`, from [`APPLIED`].
pub fn applied_type() -> String {
    let fields: Vec<String> = APPLIED
        .iter()
        .map(|(f, t, _)| format!("{} {t}", ident(f)))
        .collect();
    format!(
        "CREATE TYPE {} AS ({})",
        internal("_applied"),
        fields.join(", ")
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Each activity write updates its leads' score rows and alerts at once.
    Sync,
    /// Activity inserts append to a pending table; readers merge it, `tick()` folds it.
    Deferred,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sync => "sync",
            Mode::Deferred => "deferred",
        }
    }
}

/// How generated code turns a column's value into text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextOf {
    /// A built-in type: `::text` (only the bootstrap superuser can define
    /// casts between built-in types).
    Cast,
    /// An enum: its output function, through `format('%s', …)`, which never
    /// looks at user-defined casts.
    Output,
    /// A built-in type whose text depends on session settings (dates, times,
    /// intervals, floats, bytea, and arrays and ranges of them): its output
    /// function with those settings pinned (`lead_score_internal._stable_text`,
    /// `src/stable_text.rs`), so every session stores and recomputes the same
    /// text. Read back from text (a key) with its cast, as [`TextOf::Cast`].
    Stable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub text: TextOf,
}

impl Column {
    pub fn new(name: &str, text: TextOf) -> Self {
        Column {
            name: name.to_string(),
            text,
        }
    }
    /// `alias.column`.
    fn of(&self, alias: &str) -> String {
        format!("{alias}.{}", ident(&self.name))
    }
    /// `alias.column` as text.
    fn text_of(&self, alias: &str) -> String {
        text_of(&self.of(alias), self.text)
    }
    /// `alias.column` as text in a read run as a user's table's owner
    /// ([`owner_text_of`]).
    fn owner_text_of(&self, alias: &str) -> String {
        owner_text_of(&self.of(alias), self.text)
    }
}

/// [`text_of`] in a query a table's owner runs, who may have no rights on
/// lead_score's schemas: a [`TextOf::Stable`] value is read as it is, and the
/// reader writes it as text as `_stable_text` does (`src/owner_read.rs`).
/// Every other column is text already.
fn owner_text_of(expr: &str, how: TextOf) -> String {
    match how {
        TextOf::Stable => expr.to_string(),
        _ => text_of(expr, how),
    }
}

fn text_of(expr: &str, how: TextOf) -> String {
    match how {
        TextOf::Cast => format!("({expr})::text"),
        // format() writes a NULL as '': a NULL stays NULL (an activity
        // with no type is no event, as in the aggregates).
        TextOf::Output => {
            format!("CASE WHEN {expr} IS NULL THEN NULL ELSE pg_catalog.format('%s', {expr}) END")
        }
        TextOf::Stable => format!("lead_score_internal._stable_text({expr})"),
    }
}

/// A Citus shard group of an attachment: the shards of its leads, activities,
/// scores and pending tables that hold the same lead keys, on one node. Its
/// trigger functions name these shards, not the distributed tables: Citus
/// cannot plan a query that reads a trigger's transition table together with
/// a distributed table, and a query that names only shards is plain PostgreSQL.
/// (`leads` and `activities` of the [`Attachment`] are then the shards too.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Appended to the names of the shard group's functions and stripe table:
    /// `_` and the activity shard's id.
    pub suffix: String,
    pub scores: Qualified,
    pub pending: Qualified,
    /// The shard of `lead_score_internal.<name>_outbox`: alerts are written there, on
    /// the node, not to `lead_score.alerts`, whose shard for a lead key may be
    /// on another node (Citus cannot commit a worker's own writes to other
    /// nodes from a trigger reliably).
    pub outbox: Qualified,
    /// This node's shards of the reference tables `lead_score.attachments` and
    /// `lead_score.models`, which the triggers read directly (src/citus.rs).
    pub attachments: Qualified,
    pub models: Qualified,
}

/// The points of the manual adjustments of a `lead_score_internal._adjustment_sums`
/// row aliased `alias` active at `scoring_time()`: made by then and not
/// expired then, summed in id order so every plan (and a restored copy) gives
/// the same bits (`lead_score_core::adjustments::active_points`).
fn adjustment_points(alias: &str) -> String {
    format!(
        "lead_score_internal._adjustment_points({alias}.ids, {alias}.points, {alias}.created_at, {alias}.expires_at, lead_score.scoring_time())"
    )
}

/// Manual adjustments joined to score rows ([`Attachment::adjusted`]).
pub struct Adjusted {
    /// The join, aliased `j`, to add after the score rows.
    pub join: String,
    /// The adjusted fit.
    pub fit: String,
    /// The adjustments' points (0 without any).
    pub points: String,
}

/// One attachment: a model bound to the user's lead and activity tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Checked by [`valid_name`].
    pub name: String,
    pub model: String,
    pub leads: Qualified,
    pub activities: Qualified,
    pub lead_key: Column,
    pub activity_lead_key: Column,
    pub event_type: Column,
    /// The activity time: a timestamptz, timestamp or date column.
    pub occurred_at: String,
    /// The zone a `timestamp` or `date` activity time is read in
    /// (`mapping.time_zone`), so every writer and reader takes it as the same
    /// instant; `None` for a timestamptz column, and for an attachment made
    /// before 0.2.0, which reads it in each session's `TimeZone` (see
    /// [`Attachment::time_of`]).
    pub time_zone: Option<String>,
    /// The activity columns of the spec's `engagement.properties`, in order.
    pub properties: Vec<Column>,
    /// The lead key's type (its base type, for a domain).
    pub key_type: Qualified,
    pub mode: Mode,
    /// Deferred inserts through the C trigger, which copies rows as they are:
    /// text or varchar event types and properties, and a timestamptz time.
    pub fast_append: bool,
    /// On Citus, the shard group the trigger functions are generated for
    /// ([`Attachment::shard_statements`]); `None` everywhere else.
    pub placement: Option<Placement>,
    /// The leads column of the model's `accounts.field`, when it has one: the
    /// account views ([`Attachment::account_statements`]).
    pub account: Option<Column>,
    /// Whether manual adjustments (`lead_score.adjustments`) count in the
    /// scores: every attachment but one on Citus, where they are not supported
    /// yet and its current view says `adjustment` 0.
    pub adjustments: bool,
    /// Whether `sync` inserts update score rows in the writing statement
    /// rather than append ([`Attachment::appends`]): on Citus (the leads are a
    /// hash-distributed table), and before ALTER EXTENSION UPDATE from 0.1.0,
    /// whose catalog has no `_fold_at_commit`.
    pub sync_in_statement: bool,
    /// Whether the catalog is still 0.1.0's (this library installed, ALTER
    /// EXTENSION UPDATE not run yet): then no function 0.2.0 added may be
    /// called, and the queries that would call one keep 0.1.0's form.
    pub catalog_0_1: bool,
}

/// Whether `name` can name an attachment: a lower-case identifier short enough
/// for every name derived from it.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && name.len() <= MAX_NAME_LEN
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

/// The writes each trigger handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Insert,
    Update,
    Delete,
    Truncate,
}

impl Write {
    pub const ALL: [Write; 4] = [Write::Insert, Write::Update, Write::Delete, Write::Truncate];

    fn suffix(self) -> &'static str {
        match self {
            Write::Insert => "ins",
            Write::Update => "upd",
            Write::Delete => "del",
            Write::Truncate => "trunc",
        }
    }
    fn event(self) -> &'static str {
        match self {
            Write::Insert => "INSERT",
            Write::Update => "UPDATE",
            Write::Delete => "DELETE",
            Write::Truncate => "TRUNCATE",
        }
    }
    fn referencing(self) -> &'static str {
        match self {
            Write::Insert => " REFERENCING NEW TABLE AS new_rows",
            Write::Update => " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
            Write::Delete => " REFERENCING OLD TABLE AS old_rows",
            Write::Truncate => "",
        }
    }
}

/// Which of the attachment's two tables a trigger is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Leads,
    Activities,
}

/// The name of the trigger `attach` puts on a table for a write. The same on
/// both tables (trigger names are per table); the C trigger checks it.
pub fn trigger_name(attachment: &str, write: Write) -> String {
    format!("lead_score_{attachment}_{}", write.suffix())
}

/// One lead's score from attachment `name`'s current view, for the key
/// expression `key` ([`Query::CurrentScore`], [`Query::CurrentScoreText`]).
/// It needs only the name and, for a key given as text, [`key_of_text`]: so
/// `current_score`, called once per lead, does not load the whole attachment.
pub fn current_score_query(name: &str, key: &str) -> String {
    format!(
        "SELECT {} FROM {} c WHERE c.lead_key = {key}",
        SCORE
            .iter()
            .map(|(f, _, _)| format!("c.{}", ident(f)))
            .collect::<Vec<_>>()
            .join(", "),
        ours(&names::current(name)),
    )
}

/// A lead key given as text (`expr`), read as `key_type`, a key column's
/// type whose text is `text`. A built-in type's cast from text (which only a
/// superuser can define); an enum's label is looked up among the type's
/// labels by their output text, never through a cast, which the enum's owner
/// could define to run their own code as whoever reads it. No row for text
/// that is no label.
pub fn key_of_text(text: TextOf, key_type: &Qualified, expr: &str) -> String {
    match text {
        TextOf::Cast | TextOf::Stable => format!("CAST({expr} AS {})", key_type.to_sql()),
        TextOf::Output => format!(
            "(SELECT e.v FROM pg_catalog.unnest(pg_catalog.enum_range(NULL::{})) AS e(v) WHERE pg_catalog.format('%s', e.v) OPERATOR(pg_catalog.=) {expr})",
            key_type.to_sql()
        ),
    }
}

/// [`Query::KeyOfText`]: `$1`, text, read as `key_type` ([`key_of_text`]).
pub fn key_of_text_query(text: TextOf, key_type: &Qualified) -> String {
    format!("SELECT {}", key_of_text(text, key_type, "$1"))
}

/// Whether two attachments' triggers fire in the same order for every kind of
/// write. PostgreSQL fires a statement's triggers in name order (bytewise),
/// and a write's triggers lock their attachments' tables in that order; a
/// publish of a model attached twice to the same tables rescores the two in
/// their insert triggers' order (and a `sync` commit folds them so). Names
/// such as `a` and `a_k` disagree (`lead_score_a_ins` fires before
/// `lead_score_a_k_ins`, `lead_score_a_k_upd` before `lead_score_a_upd`): an
/// update between its two triggers and a publish could each hold what the
/// other waits for, so `attach` refuses such a pair for one model's
/// attachments of the same tables.
pub fn trigger_orders_agree(a: &str, b: &str) -> bool {
    let order = |w: Write| trigger_name(a, w).cmp(&trigger_name(b, w));
    Write::ALL.iter().all(|&w| order(w) == order(Write::Insert))
}

/// Unquoted names of an attachment's objects in the lead_score schema.
pub mod names {
    pub fn scores(a: &str) -> String {
        format!("{a}_scores")
    }
    pub fn bound_index(a: &str) -> String {
        format!("{a}_scores_bound")
    }
    pub fn pending(a: &str) -> String {
        format!("{a}_pending")
    }
    pub fn pending_index(a: &str) -> String {
        format!("{a}_pending_lead_key")
    }
    pub fn stripes(a: &str) -> String {
        format!("{a}_stripes")
    }
    /// Keys whose `sync` pending rows (markers and events) a fold left (see
    /// [`super::Attachment::stale_table`]).
    pub fn stale(a: &str) -> String {
        format!("{a}_stale")
    }
    pub fn stale_index(a: &str) -> String {
        format!("{a}_stale_lead_key")
    }
    /// On Citus: alerts written on the shards, until `relay_alerts` moves them.
    pub fn outbox(a: &str) -> String {
        format!("{a}_outbox")
    }
    pub fn columns(a: &str) -> String {
        format!("{a}_columns")
    }
    pub fn merged(a: &str) -> String {
        format!("{a}_merged")
    }
    pub fn current(a: &str) -> String {
        format!("{a}_current")
    }
    pub fn categories(a: &str) -> String {
        format!("{a}_categories")
    }
    pub fn accounts(a: &str) -> String {
        format!("{a}_accounts")
    }
    pub fn account_categories(a: &str) -> String {
        format!("{a}_account_categories")
    }
    pub fn account_heads(a: &str) -> String {
        format!("{a}_account_heads")
    }
    pub fn fold(a: &str) -> String {
        format!("{a}__fold")
    }
    /// The fold a `sync` writer's commit runs over the events it appended.
    pub fn commit_fold(a: &str) -> String {
        format!("{a}__commit_fold")
    }
    pub fn recompute(a: &str) -> String {
        format!("{a}__recompute")
    }
    /// Drops the pending events of keys that are no lead (`tick()`, last).
    pub fn drop_orphans(a: &str) -> String {
        format!("{a}__drop_orphans")
    }
    /// `lead_score`'s views of every attachment's scores and categories
    /// ([`super::current_views_statements`]), which `attach` creates with the
    /// first attachment: no attachment's own object may take either name,
    /// whether they exist yet or not (`current` would make
    /// `current_categories`).
    pub const UNION_VIEWS: [&str; 2] = ["current_scores", "current_categories"];
    /// Every relation and function name attachment `a` creates, or may
    /// create later (the account views, once its model has accounts), in
    /// `lead_score` or `lead_score_internal`, whatever its model and mode.
    pub fn all(a: &str) -> Vec<String> {
        let mut out = vec![
            scores(a),
            bound_index(a),
            pending(a),
            pending_index(a),
            stripes(a),
            stale(a),
            stale_index(a),
            outbox(a),
            columns(a),
            merged(a),
            current(a),
            categories(a),
            accounts(a),
            account_categories(a),
            account_heads(a),
            fold(a),
            commit_fold(a),
            recompute(a),
            drop_orphans(a),
        ];
        for table in [super::Table::Leads, super::Table::Activities] {
            for write in super::Write::ALL {
                out.push(trigger_fn(a, table, write));
            }
        }
        out
    }
    /// A name attachments `a` and `b` would both create, if any: a name is
    /// the attachment's followed by a suffix, and one suffix can end another
    /// (`x_account` + `_categories` is `x` + `_account_categories`).
    pub fn shared(a: &str, b: &str) -> Option<String> {
        let theirs = all(b);
        all(a).into_iter().find(|n| theirs.contains(n))
    }
    pub fn trigger_fn(a: &str, table: super::Table, write: super::Write) -> String {
        let t = match table {
            super::Table::Leads => "lead",
            super::Table::Activities => "act",
        };
        format!("{a}__{t}_{}", write.suffix())
    }
}

/// A generated statement with what it creates, for errors and snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub what: String,
    pub sql: String,
}

/// `CREATE INDEX name ON table (columns)`, the statement named as its index.
fn create_index(name: String, table: &str, columns: &str) -> Statement {
    let sql = format!("CREATE INDEX {} ON {table} ({columns})", ident(&name));
    stmt(name, sql)
}

fn stmt(what: impl Into<String>, sql: impl Into<String>) -> Statement {
    Statement {
        what: what.into(),
        sql: sql.into(),
    }
}

/// `p1 text, p2 text, …`-style lists over the pending table's property columns.
fn pending_props(n: usize, f: impl Fn(usize) -> String) -> String {
    (1..=n).map(|i| format!(", {}", f(i))).collect()
}

impl Attachment {
    /// `, <alias>.p1::text, …`: the property columns as `_live_batch` takes them.
    fn props_text(&self, alias: &str) -> String {
        self.properties
            .iter()
            .map(|p| format!(", {}", p.text_of(alias)))
            .collect()
    }

    fn scores(&self) -> String {
        match &self.placement {
            Some(p) => p.scores.to_sql(),
            None => internal(&names::scores(&self.name)),
        }
    }
    fn pending(&self) -> String {
        match &self.placement {
            Some(p) => p.pending.to_sql(),
            None => internal(&names::pending(&self.name)),
        }
    }
    /// A name of the attachment's, with the shard group's suffix on Citus.
    fn local(&self, name: String) -> String {
        match &self.placement {
            Some(p) => format!("{name}{}", p.suffix),
            None => name,
        }
    }
    fn stripes_table(&self) -> String {
        internal(&self.local(names::stripes(&self.name)))
    }
    fn fold_fn(&self) -> String {
        internal(&self.local(names::fold(&self.name)))
    }
    fn recompute_fn(&self) -> String {
        internal(&self.local(names::recompute(&self.name)))
    }
    fn key_type(&self) -> String {
        self.key_type.to_sql()
    }
    fn deferred(&self) -> bool {
        self.mode == Mode::Deferred
    }
    /// Whether activity inserts append their events to the pending table:
    /// always in `deferred` mode, and in `sync` mode everywhere but on Citus,
    /// where the writer's commit folds them (`lead_score_internal._fold_at_commit`),
    /// so no insert holds a lead's score row from its statement to its commit.
    pub fn appends(&self) -> bool {
        self.deferred() || (!self.sync_in_statement && self.placement.is_none())
    }
    /// The join and condition that pick the score rows `s` whose stored
    /// classification is not the one their state reads at `$1`: time alone
    /// moved them across a threshold (see `tick()`). By classification only
    /// (`_live_crossed`); with `skip_lowest`, not for a row of model `$4`'s
    /// current version when time can only lower that version's scores
    /// (`_lowering_version`, `lead_score_core::live::time_only_lowers`) and
    /// the row is classified as low as it can be (`is_lowest`: not an MQL,
    /// no quadrant of high engagement, no hot category), in a `CASE`, so the
    /// columns are compared before the state is read. On 0.1.0's catalog,
    /// which has neither function, whole scores are compared, as 0.1.0 did.
    fn crossed(&self, skip_lowest: bool) -> (&'static str, String) {
        if self.catalog_0_1 {
            return (
                "\n    CROSS JOIN LATERAL lead_score_internal._live_score(s.state, s.fit, s.disqualified_by, s.predictive, $1) x",
                "(x.mql IS DISTINCT FROM s.mql OR x.quadrant IS DISTINCT FROM s.quadrant\n           OR x.hot_categories IS DISTINCT FROM s.hot_categories)".into(),
            );
        }
        let crossed = "lead_score_internal._live_crossed(s.state, s.fit, s.disqualified_by, s.mql, s.quadrant, s.hot_categories, $1)";
        if !skip_lowest {
            return ("", crossed.into());
        }
        let high = crate::live::HIGH_ENGAGEMENT_QUADRANTS
            .iter()
            .map(|q| literal(q.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        (
            "",
            format!(
                "CASE WHEN s.model_version = (SELECT lead_score_internal._lowering_version($4)) AND s.mql IS FALSE
               AND s.quadrant <> ALL (ARRAY[{high}]) AND s.hot_categories = '{{}}'::text[]
          THEN false ELSE {crossed} END"
            ),
        )
    }
    /// Whether activity `UPDATE` and `DELETE` append a recompute marker (a
    /// pending row with no time) rather than recompute
    /// their leads in the statement: wherever inserts append and a writer's
    /// commit folds (not on Citus, nor before ALTER EXTENSION UPDATE from
    /// 0.1.0). Then no activity write holds a lead's score row past its
    /// statement; readers recompute a marked lead from the activity table
    /// (`lead_score_internal._read_states`) until a fold does.
    pub fn marks(&self) -> bool {
        !self.sync_in_statement && self.placement.is_none()
    }
    /// Whether folds keep [`Attachment::stale_table`]: where markers are left
    /// and inserts fold at their writer's commit (`sync`, [`Self::marks`]).
    pub fn tracks_stale(&self) -> bool {
        self.marks() && self.mode == Mode::Sync
    }
    fn stale(&self) -> String {
        internal(&names::stale(&self.name))
    }
    /// The recomputed state of the lead keyed `key` (an expression over a
    /// score row), for readers of a marked lead.
    fn read_state(&self, key: &str) -> String {
        format!(
            "(lead_score_internal._read_states({}, ARRAY[{key}]))[1]",
            literal(&self.name)
        )
    }
    /// `(k, st)` rows: the recomputed state of each key `keys` (an array
    /// query, given twice, in one order) selects, read in one batch.
    fn read_states_rows(&self, keys: &str) -> String {
        format!(
            "ROWS FROM (pg_catalog.unnest({keys}), pg_catalog.unnest(lead_score_internal._read_states({}, {keys}))) AS t(k, st)",
            literal(&self.name)
        )
    }
    fn commit_fold_fn(&self) -> String {
        internal(&names::commit_fold(&self.name))
    }
    fn drop_orphans_fn(&self) -> String {
        internal(&self.local(names::drop_orphans(&self.name)))
    }

    /// Every statement `attach` runs, in order (the attachment row itself is
    /// written by the caller, before).
    pub fn create_statements(&self) -> Vec<Statement> {
        let mut out = vec![
            self.scores_table(),
            self.bound_index(),
            self.pending_table(),
        ];
        // Not while the catalog is 0.1.0's: the update moves only the tables
        // 0.1.0 made, and creates these ([`Self::stale_table`],
        // [`Self::pending_index`]).
        if !self.catalog_0_1 {
            out.extend(self.pending_index());
            out.extend([self.stale_table(), self.stale_index()]);
        }
        out.extend([
            self.stripes_table_ddl(),
            self.stripes_rows(),
            self.columns_view(),
            self.merged_view(),
            self.current_view(),
        ]);
        out.extend(self.current_view_comments());
        out.extend(self.categories_view());
        out.extend([
            self.fold_function(),
            self.commit_fold_function(),
            self.drop_orphans_function(),
            self.recompute_function(),
        ]);
        for table in [Table::Activities, Table::Leads] {
            for write in Write::ALL {
                if let Some(f) = self.trigger_function(table, write) {
                    out.push(f);
                }
                out.push(self.trigger(table, write));
                out.extend(self.trigger_comment(table, write));
            }
        }
        out.extend(self.account_statements());
        out.extend(self.privileges());
        out
    }

    /// What an extension update runs for an existing attachment (`_regenerate`):
    /// its functions, views, triggers, comments and privileges as this version
    /// creates them, each replaced in place. Tables, indexes and stripe rows are
    /// left alone with their data, and views keep their dependants. (Tables
    /// this version adds, the account heads and the stale markers, are created
    /// first by the caller: [`Attachment::account_heads_table`],
    /// [`Attachment::stale_table`].)
    pub fn replace_statements(&self) -> Vec<Statement> {
        const REPLACE: [(&str, &str); 3] = [
            ("CREATE FUNCTION ", "CREATE OR REPLACE FUNCTION "),
            ("CREATE VIEW ", "CREATE OR REPLACE VIEW "),
            ("CREATE TRIGGER ", "CREATE OR REPLACE TRIGGER "),
        ];
        const KEEP: [&str; 4] = ["CREATE OR REPLACE ", "COMMENT ON ", "GRANT ", "REVOKE "];
        let mut out: Vec<Statement> = self
            .create_statements()
            .into_iter()
            .filter_map(|s| {
                for (create, replace) in REPLACE {
                    if let Some(rest) = s.sql.strip_prefix(create) {
                        return Some(stmt(s.what, format!("{replace}{rest}")));
                    }
                }
                KEEP.iter().any(|k| s.sql.starts_with(k)).then_some(s)
            })
            .collect();
        // A trigger now calling a shared function (the C insert trigger, which
        // 0.2.0's sync attachments use too) leaves its old function unused:
        // dropped, once the trigger above no longer calls it.
        for table in [Table::Activities, Table::Leads] {
            for write in Write::ALL {
                if self.trigger_function(table, write).is_none() {
                    let f = names::trigger_fn(&self.name, table, write);
                    out.push(stmt(
                        f.clone(),
                        format!("DROP FUNCTION IF EXISTS {}()", internal(&f)),
                    ));
                }
            }
        }
        out
    }

    /// On Citus, what a shard group needs on its node (run there, by
    /// `lead_score_internal._citus_install_shard`): its stripe table, functions and
    /// triggers on its lead and activity shards, and their privileges.
    pub fn shard_statements(&self) -> Vec<Statement> {
        let mut out = vec![
            stmt(
                "stripes",
                format!(
                    "CREATE TABLE {} (stripe integer PRIMARY KEY)",
                    self.stripes_table()
                ),
            ),
            stmt(
                "stripes rows",
                format!(
                    "INSERT INTO {} (stripe) SELECT pg_catalog.generate_series(0, {})",
                    self.stripes_table(),
                    STRIPES - 1
                ),
            ),
            self.fold_function(),
            self.recompute_function(),
        ];
        for table in [Table::Activities, Table::Leads] {
            for write in Write::ALL {
                if let Some(f) = self.trigger_function(table, write) {
                    out.push(f);
                }
                out.push(self.trigger(table, write));
            }
        }
        // The functions' privileges, as on a single node: tick() runs the
        // fold as whoever calls it, lead_score_admin included. Not the
        // tables': the shards take theirs from the distributed tables (and
        // Citus refuses GRANT on a shard).
        out.extend(self.privileges().into_iter().filter(|s| {
            s.sql.starts_with("REVOKE ALL ON FUNCTION") || s.sql.starts_with("GRANT EXECUTE")
        }));
        out.push(stmt(
            "revoke",
            format!("REVOKE ALL ON {} FROM PUBLIC", self.stripes_table()),
        ));
        // The fold locks the stripes of its keys, as tick()'s does.
        out.push(self.stripes_grant());
        out
    }

    /// The admins' grant on the stripes table, which folds lock (on a single
    /// node and on each shard group).
    fn stripes_grant(&self) -> Statement {
        stmt(
            "grant",
            format!(
                "GRANT SELECT, UPDATE ON {} TO {}",
                self.stripes_table(),
                ident(ADMIN_ROLE)
            ),
        )
    }

    /// `CREATE TABLE lead_score_internal.<name>_scores`, keyed by the lead's own key type.
    pub fn scores_table(&self) -> Statement {
        let mut cols = vec![
            format!("lead_key {} PRIMARY KEY", self.key_type()),
            "fit float8 NOT NULL".to_string(),
            "disqualified_by text".to_string(),
            // Indices of the predictive features the lead's fields fire.
            "predictive bytea".to_string(),
        ];
        for (_, typ, column) in APPLIED {
            let not_null = if matches!(*column, "state" | "bound") {
                " NOT NULL"
            } else {
                ""
            };
            cols.push(format!("{column} {typ}{not_null}"));
        }
        cols.push("updated_at timestamptz".to_string());
        stmt(
            names::scores(&self.name),
            format!(
                "CREATE TABLE {} (\n    {}\n)",
                self.scores(),
                cols.join(",\n    ")
            ),
        )
    }

    /// The index `top_leads` walks: leads by the highest total they can have.
    pub fn bound_index(&self) -> Statement {
        create_index(names::bound_index(&self.name), &self.scores(), "bound DESC")
    }

    /// Events not yet folded into the score rows (in sync mode, until the
    /// writer's commit folds them; empty where sync updates score rows in the
    /// statement, [`Attachment::appends`]). Indexed by key in `sync` mode only
    /// ([`Self::pending_index`]).
    pub fn pending_table(&self) -> Statement {
        stmt(
            names::pending(&self.name),
            format!(
                "CREATE TABLE {} (lead_key {} NOT NULL, event_type text, occurred_at timestamptz{}) USING heap",
                self.pending(),
                self.key_type(),
                pending_props(self.properties.len(), |i| format!("p{i} text"))
            ),
        )
    }

    /// In `sync` mode, the pending rows of a lead are found by key: a reader of
    /// one lead, a commit that folds a marked or stale lead and the
    /// `REPEATABLE READ` probe would otherwise read every pending row, and
    /// events of keys that are no lead (visitors) stay there until `tick()`
    /// drops them (with 500,000 of them, 300 one-row activity deletes took
    /// 16.78 s instead of 0.90 s, README Performance). The C insert trigger
    /// (src/pending.rs) writes its entries with the rows. Not in `deferred`
    /// mode: its C trigger appends without index entries, and keeping one per
    /// event made a COPY of a million events into a table like the pending
    /// one 3.6 to 4.1 s slower, more than the 1.3x target of the whole
    /// deferred COPY allows.
    pub fn pending_index(&self) -> Option<Statement> {
        (self.mode == Mode::Sync).then(|| {
            create_index(
                names::pending_index(&self.name),
                &self.pending(),
                "lead_key",
            )
        })
    }

    /// The keys of the `sync` pending rows (recompute markers and events) a
    /// fold left behind (another transaction held the lead's score row, or had
    /// not committed the lead yet, or the key is no lead), or a prepared
    /// transaction appended: no score row counts them yet. The next fold that
    /// locks the lead, a writer's commit folding only its own events included,
    /// folds every pending row of it (recomputing it from the activity table
    /// if one is a marker), so the alerts of an insert folded onto it are
    /// judged against its exact score, and deletes its rows here. Usually empty; found by key
    /// ([`Self::stale_index`]); `tick()` drops the rows whose pending rows are
    /// gone. Where nothing tracks them ([`Self::tracks_stale`]), created all the
    /// same, and empty.
    pub fn stale_table(&self) -> Statement {
        stmt(
            names::stale(&self.name),
            format!(
                "CREATE TABLE {} (lead_key {} NOT NULL) USING heap",
                self.stale(),
                self.key_type()
            ),
        )
    }

    /// The stale rows of a fold's locked leads are found by key, however many
    /// a big activity write left meanwhile (until `tick()` drops those whose
    /// pending rows are gone). Not unique: a writer recording one never waits.
    pub fn stale_index(&self) -> Statement {
        create_index(names::stale_index(&self.name), &self.stale(), "lead_key")
    }

    /// Records, in [`Self::stale_table`], the keys of the pending rows `rows`
    /// selects that a fold leaves behind, recompute markers and events alike:
    /// the next insert's commit folds only its own events, and judged against
    /// a score without an update, a delete or an event of negative points it
    /// would alert on a crossing the lead never made. Every one, recorded or
    /// not, lead or not: a row already there may be taken by a fold that
    /// cannot see this one, and a key with no score row in this snapshot may
    /// be a lead being created (or created since, under `REPEATABLE READ`, or
    /// before a prepared transaction commits) whose count missed the row. A
    /// pending row and its record are seen together (one transaction writes
    /// both), and `tick()` drops the records whose pending rows are gone
    /// ([`Self::drop_orphans_function`]), a visitor's with its events.
    fn record_stale(&self, rows: &str) -> String {
        format!(
            "INSERT INTO {} (lead_key) SELECT DISTINCT p.lead_key FROM {} p
           WHERE {rows}",
            self.stale(),
            self.pending(),
        )
    }

    /// Rows writers lock (`FOR UPDATE`, in stripe order) for keys without a
    /// score row, so a lead being created and its first activities, written by
    /// concurrent transactions, cannot miss each other. Row locks on a table
    /// only the definer may update: no other role can take them.
    pub fn stripes_table_ddl(&self) -> Statement {
        stmt(
            names::stripes(&self.name),
            format!(
                "CREATE TABLE {} (stripe integer PRIMARY KEY)",
                self.stripes_table()
            ),
        )
    }

    pub fn stripes_rows(&self) -> Statement {
        stmt(
            format!("{} rows", names::stripes(&self.name)),
            format!(
                "INSERT INTO {} (stripe) SELECT pg_catalog.generate_series(0, {})",
                self.stripes_table(),
                STRIPES - 1
            ),
        )
    }

    /// A view over every mapped column, never read: while it exists PostgreSQL
    /// refuses to change the type of, or drop, a column the triggers read, so
    /// the types `attach` checked stay what the triggers see.
    pub fn columns_view(&self) -> Statement {
        let mut cols = vec![self.lead_key.of("l")];
        cols.push(self.activity_lead_key.of("a"));
        cols.push(self.event_type.of("a"));
        cols.push(format!("a.{}", ident(&self.occurred_at)));
        cols.extend(self.properties.iter().map(|p| p.of("a")));
        let cols: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} AS c{}", i + 1))
            .collect();
        stmt(
            names::columns(&self.name),
            format!(
                "CREATE VIEW {} AS SELECT {} FROM {} l, {} a WHERE false",
                internal(&names::columns(&self.name)),
                cols.join(", "),
                self.leads.to_sql(),
                self.activities.to_sql()
            ),
        )
    }

    /// One live delta per lead from the pending events: readers merge it.
    pub fn pending_states(&self) -> String {
        pending_states(&self.name, self.properties.len(), self.marks())
    }

    /// Each score row with its pending events merged in: what every reader
    /// sees. Where inserts update score rows in the statement (sync on Citus)
    /// there are none, and the view stays a plain scan.
    pub fn merged_view(&self) -> Statement {
        let body = match self.appends() {
            false => format!(
                "SELECT s.lead_key, s.state, s.fit, s.disqualified_by, s.predictive FROM {} s",
                self.scores()
            ),
            true => format!(
                "SELECT s.lead_key,\n       CASE {}WHEN d.st IS NULL THEN s.state ELSE lead_score_internal._live_merge(s.state, d.st) END AS state,\n       s.fit, s.disqualified_by, s.predictive\nFROM {} s\nLEFT JOIN ({}) d ON d.lead_key = s.lead_key",
                if self.marks() {
                    format!(
                        "WHEN d.rc THEN {} ",
                        self.read_state("s.lead_key")
                    )
                } else {
                    String::new()
                },
                self.scores(),
                self.pending_states()
            ),
        };
        stmt(
            names::merged(&self.name),
            format!(
                "CREATE VIEW {} AS\n{body}",
                internal(&names::merged(&self.name))
            ),
        )
    }

    /// What each column of the current view is (from [`SCORE`]).
    pub fn current_view_comments(&self) -> Vec<Statement> {
        let view = ours(&names::current(&self.name));
        let mut columns = vec!["lead_key"];
        columns.extend(SCORE.iter().chain(CURRENT_EXTRA.iter()).map(|(f, _, _)| *f));
        let mut out = vec![stmt(
            names::current(&self.name),
            format!(
                "COMMENT ON VIEW {view} IS {}",
                literal(&format!(
                    "Current scores of attachment {}, one row per lead, read at lead_score.scoring_time().",
                    self.name
                ))
            ),
        )];
        out.extend(
            score_column_comments(&view, &columns)
                .into_iter()
                .map(|sql| stmt(names::current(&self.name), sql)),
        );
        out
    }

    /// `lead_score.<name>_categories`: the category scores in long form, one
    /// row per lead that is not disqualified and declared category, for BI
    /// tools (the current view's `categories` jsonb and `hot_categories`
    /// array, unnested), and its comments. The account views sum it, so an
    /// account's categories, like its engagement, leave disqualified leads out.
    pub fn categories_view(&self) -> Vec<Statement> {
        let view = ours(&names::categories(&self.name));
        let what = names::categories(&self.name);
        let mut out = vec![
            stmt(
                what.clone(),
                format!(
                    "CREATE VIEW {view} AS\nSELECT c.lead_key, k.key AS category, (k.value)::pg_catalog.float8 AS score,\n       k.key OPERATOR(pg_catalog.=) ANY (c.hot_categories) AS hot\nFROM {} c\nCROSS JOIN LATERAL pg_catalog.jsonb_each_text(c.categories) k\nWHERE NOT c.disqualified",
                    ours(&names::current(&self.name))
                ),
            ),
            stmt(
                what.clone(),
                format!(
                    "COMMENT ON VIEW {view} IS {}",
                    literal(&format!(
                        "Category scores of attachment {}, one row per lead and category, read at lead_score.scoring_time().",
                        self.name
                    ))
                ),
            ),
        ];
        for (column, doc) in CATEGORY_COLUMNS.iter().map(|(c, _, d)| (*c, *d)) {
            out.push(stmt(
                what.clone(),
                format!(
                    "COMMENT ON COLUMN {view}.{} IS {}",
                    ident(column),
                    literal(doc)
                ),
            ));
        }
        out
    }

    /// This attachment's rows of `lead_score.current_categories`.
    pub fn current_categories_branch(&self) -> String {
        format!(
            "SELECT {}::text AS attachment, {} AS lead_key, c.category, c.score, c.hot\nFROM {} c",
            literal(&self.name),
            self.union_key(),
            ours(&names::categories(&self.name))
        )
    }

    /// `<leads> l JOIN <name>_current c` on the lead key, with the account as
    /// text: what the account views read.
    fn account_leads(&self, account: &Column, current: &str) -> String {
        format!(
            "{} l JOIN {} c ON c.lead_key = {}\n      WHERE {} IS NOT NULL",
            self.leads.to_sql(),
            current,
            self.lead_key.of("l"),
            account.of("l")
        )
    }

    /// Each account's leads summed, as `g`: over `from` (the leads joined
    /// with the current view as `c`), the account being `account`. What the
    /// accounts view and `tick()`'s account checks ([`Self::account_now`])
    /// both read.
    fn account_groups(&self, account: &str, from: &str, categories: bool) -> String {
        let model = literal(&self.model);
        // The categories of the leads that count, in key order, for
        // `top_categories` (summed per category in that order, as
        // `<name>_account_categories` sums them): read in the same pass.
        let categories = if categories {
            ",\n             pg_catalog.array_agg(c.categories ORDER BY c.lead_key) FILTER (WHERE NOT c.disqualified) AS categories"
        } else {
            ""
        };
        format!(
            "(SELECT {account} AS account, pg_catalog.count(*) AS leads,\n             pg_catalog.count(*) FILTER (WHERE NOT c.disqualified AND lead_score.account_engaged({model}, c.engagement)) AS engaged_leads,\n             coalesce(pg_catalog.max(c.fit) FILTER (WHERE NOT c.disqualified), 0) AS fit,\n             lead_score.account_engagement({model}, coalesce(pg_catalog.sum(c.engagement ORDER BY c.lead_key) FILTER (WHERE NOT c.disqualified), 0)) AS engagement,\n             pg_catalog.bool_and(c.disqualified) AS disqualified{categories}\n      FROM {from}\n      GROUP BY 1) g"
        )
    }

    /// The lead key and account of every lead that has one, both as text (a
    /// value whose text depends on settings as it is: [`owner_text_of`]). Run
    /// as the leads table's owner, in a security-restricted operation
    /// (`src/owner_read.rs`): the account checks run as the extension's owner,
    /// so they never read the leads table themselves, where planning the read
    /// could run code of the table's owner (an immutable function the planner
    /// folds) with the extension owner's rights.
    pub fn account_members(&self) -> Option<String> {
        let account = self.account.as_ref()?;
        Some(format!(
            "SELECT {}, {} FROM {} l WHERE {} IS NOT NULL AND {} IS NOT NULL",
            self.lead_key.owner_text_of("l"),
            account.owner_text_of("l"),
            self.leads.to_sql(),
            self.lead_key.of("l"),
            account.of("l")
        ))
    }

    /// Each account's total now and whether it is alerting, as the accounts
    /// view has them (`account`, `total`, `alerting`), over the leads' keys
    /// `$1` and accounts `$2` (text arrays, from [`Self::account_members`]).
    /// Read-only: the caller runs it with the snapshot it read `$1` and `$2`
    /// with, so a lead's account and score are read as of one moment (read
    /// apart, a lead that moved account and scored in between was summed
    /// into the account it left). [`Self::account_seed`] and
    /// [`Self::account_alerts`] take its rows.
    pub fn account_totals(&self) -> Option<String> {
        self.account.as_ref()?;
        Some(self.account_now())
    }

    fn account_now(&self) -> String {
        // By key (hashed), read back from its text as its type; an enum's by
        // its label (a lookup per key would cost more than the text).
        let on = match self.lead_key.text {
            TextOf::Output => format!(
                "{} OPERATOR(pg_catalog.=) l.k",
                text_of("c.lead_key", TextOf::Output)
            ),
            TextOf::Cast | TextOf::Stable => format!("c.lead_key = {}", self.key_of_text("l.k")),
        };
        let from = format!(
            "ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]), pg_catalog.unnest($2::pg_catalog.text[])) AS l(k, account)\n      JOIN {} c ON {on}",
            ours(&names::current(&self.name)),
        );
        format!(
            "SELECT g.account, g.fit + g.engagement AS total, lead_score.account_alerting({}, g.fit + g.engagement, g.disqualified) AS alerting\nFROM {}",
            literal(&self.model),
            self.account_groups("l.account", &from, false)
        )
    }

    /// Sums run in lead key order, so an account's scores do not depend on
    /// the order rows are read in (a restored copy gives the same bits).
    /// For a model with an `accounts` section: `<name>_account_categories`
    /// (category scores summed per account), `<name>_accounts` (one row per
    /// account, scored by the `account_*` functions), both `security_invoker`
    /// since they read the leads table's account column, with comments; and
    /// `<name>_account_heads`, whether each account was alerting at the last
    /// check, which `tick()` compares with to alert once per crossing. Empty
    /// for other models.
    pub fn account_statements(&self) -> Vec<Statement> {
        let Some(account) = &self.account else {
            return Vec::new();
        };
        let accounts = ours(&names::accounts(&self.name));
        let categories = ours(&names::account_categories(&self.name));
        let heads = internal(&names::account_heads(&self.name));
        let model = literal(&self.model);
        let text = account.text_of("l");
        let mut out = vec![
            stmt(
                names::account_categories(&self.name),
                format!(
                    "CREATE VIEW {categories} WITH (security_invoker = true) AS\nSELECT {text} AS account, c.category, pg_catalog.sum(c.score ORDER BY c.lead_key) AS score\nFROM {}\nGROUP BY 1, 2",
                    self.account_leads(account, &ours(&names::categories(&self.name)))
                ),
            ),
            // top_categories keeps a category whose sum is positive once
            // rounded to a millionth, as every threshold compares
            // (`classify::settle(x) > 0` exactly when x·1e6 ≥ 0.5): 0.1 + 0.2
            // − 0.3 is 5.6e-17, which is no engagement.
            stmt(
                names::accounts(&self.name),
                format!(
                    "CREATE VIEW {accounts} WITH (security_invoker = true) AS\nSELECT g.account, g.leads, g.engaged_leads, g.fit, g.engagement, g.fit + g.engagement AS total,\n       lead_score.grade({model}, g.fit) AS grade,\n       lead_score.account_quadrant({model}, g.fit, g.engagement, g.disqualified) AS quadrant,\n       lead_score.account_alerting({model}, g.fit + g.engagement, g.disqualified) AS alerting,\n       coalesce(t.top_categories, '{{}}'::text[]) AS top_categories\nFROM {}\nLEFT JOIN LATERAL (SELECT pg_catalog.array_agg(k.category ORDER BY k.score DESC, k.category) AS top_categories\n           FROM (SELECT e.key AS category, pg_catalog.sum((e.value)::pg_catalog.float8 ORDER BY o.n) AS score\n                 FROM pg_catalog.unnest(g.categories) WITH ORDINALITY o(c, n)\n                 CROSS JOIN LATERAL pg_catalog.jsonb_each_text(o.c) e GROUP BY e.key) k\n           WHERE k.score * 1e6::pg_catalog.float8 >= 0.5) t ON true",
                    self.account_groups(
                        &text,
                        &self.account_leads(account, &ours(&names::current(&self.name))),
                        true
                    )
                ),
            ),
            self.account_heads_table(),
        ];
        type Docs<'a> = [(&'a str, &'a str, &'a [(&'a str, &'a str)]); 3];
        let docs: Docs = [
            (
                &accounts,
                "Account scores of the attachment (the model's accounts section), one row per account, read at lead_score.scoring_time().",
                &[
                    ("account", "The account, as the leads' accounts.field holds it (as text)"),
                    ("leads", "Leads of the account"),
                    ("engaged_leads", "Of them, leads not disqualified with engagement at or above accounts.engaged_min (default: above 0)"),
                    ("fit", "Best fit of the account's leads that are not disqualified"),
                    ("engagement", "Their engagement summed, capped at accounts.cap"),
                    ("total", "fit + engagement"),
                    ("grade", "The model's grade of the account's fit"),
                    ("quadrant", "act_now, account_based, check_fit, nurture (accounts.quadrant, else the model's thresholds), or disqualified when every lead is"),
                    ("alerting", "total is at or above accounts.alert"),
                    ("top_categories", "Categories whose summed score is positive once rounded to a millionth, most engaged first (long form: <name>_account_categories)"),
                ],
            ),
            (
                &categories,
                "Category scores of the attachment's accounts, summed over their leads, one row per account and category.",
                &[
                    ("account", "The account (as text)"),
                    ("category", "A category the model declares"),
                    ("score", "The category scores of the account's leads, summed (each capped per lead)"),
                ],
            ),
            (
                &heads,
                "Internal: whether each account was alerting when tick() last checked, so it alerts once per crossing.",
                &[
                    ("account", "The account (as text)"),
                    ("field", "The accounts.field it was read from (rows of another field are stale)"),
                    ("alerting", "Its total was at or above accounts.alert"),
                    ("total", "Its total then"),
                    ("checked_at", "When tick() (or attach) recorded it"),
                ],
            ),
        ];
        for (relation, doc, columns) in docs {
            let kind = if relation == heads { "TABLE" } else { "VIEW" };
            out.push(stmt(
                names::accounts(&self.name),
                format!("COMMENT ON {kind} {relation} IS {}", literal(doc)),
            ));
            for (c, d) in columns {
                out.push(stmt(
                    names::accounts(&self.name),
                    format!(
                        "COMMENT ON COLUMN {relation}.{} IS {}",
                        ident(c),
                        literal(d)
                    ),
                ));
            }
        }
        out
    }

    /// What publishing a version runs for the account objects
    /// (`_account_objects`): them as [`Attachment::account_statements`] makes
    /// them, replaced in place, with the reader's grant; or, for a version
    /// without an `accounts` section, their removal.
    ///
    /// `views_exist`: the views are replaced in place (keeping views of yours
    /// over them), else created; the heads table is created by the caller when
    /// missing ([`Attachment::account_heads_table`]).
    pub fn account_objects_statements(&self, views_exist: bool) -> Vec<Statement> {
        let relations = [
            ("VIEW", names::accounts(&self.name)),
            ("VIEW", names::account_categories(&self.name)),
        ];
        let Some(account) = &self.account else {
            let heads = names::account_heads(&self.name);
            let drop_heads = format!("DROP TABLE IF EXISTS {}", internal(&heads));
            return relations
                .into_iter()
                .map(|(kind, name)| {
                    let sql = format!("DROP {kind} IF EXISTS {}", ours(&name));
                    stmt(name, sql)
                })
                .chain([stmt(heads, drop_heads)])
                .collect();
        };
        let mut out: Vec<Statement> = self
            .account_statements()
            .into_iter()
            .filter(|s| !s.sql.starts_with("CREATE TABLE "))
            .map(|s| match s.sql.strip_prefix("CREATE VIEW ") {
                Some(rest) if views_exist => stmt(s.what, format!("CREATE OR REPLACE VIEW {rest}")),
                _ => s,
            })
            .collect();
        // The heads of another field are about other accounts.
        out.push(stmt(
            names::account_heads(&self.name),
            format!(
                "DELETE FROM {} h WHERE h.field OPERATOR(pg_catalog.<>) {}",
                internal(&names::account_heads(&self.name)),
                literal(&account.name)
            ),
        ));
        out.push(stmt(
            "grant",
            format!(
                "GRANT SELECT ON {} TO {}, {}",
                relations
                    .iter()
                    .map(|(_, n)| ours(n))
                    .collect::<Vec<_>>()
                    .join(", "),
                ident(READER_ROLE),
                ident(ADMIN_ROLE)
            ),
        ));
        out
    }

    /// `<name>_account_heads` (see [`Attachment::account_statements`]).
    ///
    /// Unique by a hash of the account text, not the text: a B-tree entry
    /// holds at most 2,704 bytes, and one lead's long account value would
    /// otherwise fail every check of the attachment (and its `attach`).
    pub fn account_heads_table(&self) -> Statement {
        let heads = internal(&names::account_heads(&self.name));
        stmt(
            names::account_heads(&self.name),
            format!(
                "CREATE TABLE {heads} (account text NOT NULL, field text NOT NULL, alerting boolean NOT NULL, total float8 NOT NULL, checked_at timestamptz NOT NULL);
CREATE UNIQUE INDEX ON {heads} ({HEADS_KEY})"
            ),
        )
    }

    /// Records which accounts are alerting, without alerting (`attach`, a
    /// version that adds accounts or changes their field, an update that adds
    /// the heads table). `$1`, `$2`, `$3`: the accounts, totals and whether
    /// each is alerting ([`Self::account_totals`]' rows, as arrays).
    pub fn account_seed(&self) -> Option<String> {
        let account = self.account.as_ref()?;
        Some(format!(
            "INSERT INTO {} (account, field, alerting, total, checked_at) SELECT a.account, {}, a.alerting, a.total, lead_score_internal._now() FROM {TOTALS_ROWS} ON CONFLICT ({HEADS_KEY}) DO NOTHING",
            internal(&names::account_heads(&self.name)),
            literal(&account.name),
        ))
    }

    /// Whether the account heads hold accounts of the model's field: one
    /// boolean, false when they hold only another field's (a version changed
    /// `accounts.field`) or none (no lead had an account at the last check).
    pub fn account_heads_of_field(&self) -> Option<String> {
        let account = self.account.as_ref()?;
        Some(format!(
            "SELECT EXISTS (SELECT 1 FROM {} h WHERE h.field OPERATOR(pg_catalog.=) {})",
            internal(&names::account_heads(&self.name)),
            literal(&account.name)
        ))
    }

    /// `tick()`'s account alerts: the accounts whose alerting changed since the
    /// last check are recorded, and those now alerting are alerted once, kind
    /// `account`, with the account in `lead_key`. Returns the
    /// alerts sent. The caller holds the attachment's account lock. `$1`,
    /// `$2`, `$3`: see [`Self::account_seed`].
    pub fn account_alerts(&self) -> Option<String> {
        let account = self.account.as_ref()?;
        let heads = internal(&names::account_heads(&self.name));
        let field = literal(&account.name);
        Some(format!(
            "WITH now AS MATERIALIZED (SELECT a.account, a.alerting, a.total FROM {TOTALS_ROWS}),
changed AS MATERIALIZED (
    SELECT n.account, n.alerting, n.total FROM now n
    LEFT JOIN {heads} h ON h.account = n.account AND h.field = {field}
    WHERE h.account IS NULL OR h.alerting IS DISTINCT FROM n.alerting),
-- An account with no lead left is forgotten: if it comes back, it is new.
gone AS (
    DELETE FROM {heads} h WHERE NOT EXISTS (SELECT 1 FROM now n WHERE n.account = h.account)),
moved AS (
    INSERT INTO {heads} AS h (account, field, alerting, total, checked_at)
    SELECT c.account, {field}, c.alerting, c.total, lead_score_internal._now() FROM changed c
    ON CONFLICT ({HEADS_KEY}) DO UPDATE SET field = EXCLUDED.field, alerting = EXCLUDED.alerting, total = EXCLUDED.total, checked_at = EXCLUDED.checked_at
    WHERE h.account = EXCLUDED.account)
SELECT coalesce(lead_score_internal._emit_alerts({}, {},
           pg_catalog.array_agg(c.account ORDER BY c.account), pg_catalog.array_agg(c.total ORDER BY c.account),
           pg_catalog.array_agg(pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('kind', 'account', 'detail',
               'account total ' OPERATOR(pg_catalog.||) pg_catalog.round(c.total::pg_catalog.numeric, 2) OPERATOR(pg_catalog.||) ' reached accounts.alert')) ORDER BY c.account)), 0)
FROM changed c WHERE c.alerting",
            literal(&self.name),
            literal(&self.model)
        ))
    }

    /// The leads of one account for `explain_account`: $1 the account as text.
    /// `summed` is their engagement summed in lead key order, as the accounts
    /// view sums it (so the two agree to the bit), on every row.
    pub fn account_explain(&self) -> Option<String> {
        let account = self.account.as_ref()?;
        Some(format!(
            "SELECT {} AS lead_key, c.fit, c.engagement, c.disqualified, c.disqualified_by,\n       NOT c.disqualified AND lead_score.account_engaged({}, c.engagement) AS engaged,\n       coalesce(pg_catalog.sum(c.engagement) FILTER (WHERE NOT c.disqualified) OVER (ORDER BY c.lead_key ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING), 0) AS summed\nFROM {} l JOIN {} c ON c.lead_key = {}\nWHERE {} OPERATOR(pg_catalog.=) $1\nORDER BY c.disqualified, c.fit DESC, c.engagement DESC, 1",
            text_of("c.lead_key", self.lead_key.text),
            literal(&self.model),
            self.leads.to_sql(),
            ours(&names::current(&self.name)),
            self.lead_key.of("l"),
            account.text_of("l")
        ))
    }

    /// This attachment's rows of `lead_score.current_scores`
    /// ([`current_views_statements`]): its current view, with the attachment
    /// and model as constants and the key as text.
    /// The lead key of the current view aliased `c` as text in the default
    /// collation, as every branch of the views over all attachments has it:
    /// a `name` key's text is in collation "C", and the views could then
    /// neither take another attachment's branch nor lose its own (`42P16`,
    /// cannot change collation of view column, from every later attach,
    /// detach and `DROP TABLE` of its tables).
    fn union_key(&self) -> String {
        format!(
            "({}) COLLATE pg_catalog.\"default\"",
            text_of("c.lead_key", self.lead_key.text)
        )
    }

    pub fn current_scores_branch(&self) -> String {
        format!(
            "SELECT {}::text AS attachment, {}::text AS model, {} AS lead_key, {}\nFROM {} c",
            literal(&self.name),
            literal(&self.model),
            self.union_key(),
            SCORE
                .iter()
                .chain(CURRENT_EXTRA.iter())
                .map(|(f, _, _)| format!("c.{}", ident(f)))
                .collect::<Vec<_>>()
                .join(", "),
            ours(&names::current(&self.name))
        )
    }

    /// The current score of every lead, at `scoring_time()`, with its manual
    /// adjustments ([`Attachment::adjusted`]) added to its fit.
    pub fn current_view(&self) -> Statement {
        let Adjusted { join, fit, points } = self.adjusted("s");
        stmt(
            names::current(&self.name),
            format!(
                "CREATE VIEW {} AS\nSELECT s.lead_key, {}, {points} AS adjustment\nFROM {} s{join}\nCROSS JOIN LATERAL lead_score_internal._live_score(s.state, {fit}, s.disqualified_by, s.predictive, lead_score.scoring_time()) x",
                ours(&names::current(&self.name)),
                SCORE
                    .iter()
                    .map(|(f, _, _)| format!("x.{f}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                internal(&names::merged(&self.name))
            ),
        )
    }

    /// The manual adjustments of score rows aliased `alias` (with `fit` and a
    /// typed `lead_key`) at `scoring_time()`: a join to add after them (the
    /// lead's `_adjustment_sums` row, aliased `j`: one row per adjusted lead,
    /// so a read of one lead probes its key and a scan of all hashes them),
    /// and the adjusted fit, `fit` plus [`adjustment_points`]. Without
    /// adjustments (Citus) no join, and the fit as stored.
    pub fn adjusted(&self, alias: &str) -> Adjusted {
        if !self.adjustments {
            return Adjusted {
                join: String::new(),
                fit: format!("{alias}.fit"),
                points: "0::pg_catalog.float8".to_string(),
            };
        }
        let points = format!("coalesce({}, 0::pg_catalog.float8)", adjustment_points("j"));
        Adjusted {
            join: format!(
                "\nLEFT JOIN lead_score_internal._adjustment_sums j ON j.attachment = {} AND j.lead_key = {}",
                literal(&self.name),
                text_of(&format!("{alias}.lead_key"), self.lead_key.text)
            ),
            fit: format!("{alias}.fit + {points}"),
            points,
        }
    }

    /// The declarations and first statements every trigger body shares: the
    /// writer's real time, the lock that orders it against publishing and
    /// rebasing (which take EXCLUSIVE), then the landmark and model version.
    fn preamble(&self, extra: &[(&str, String)]) -> String {
        self.preamble_with(extra, "", true)
    }

    /// The preamble of a lead trigger, which reads the activity table: it takes
    /// that table's lock before any of lead_score's, as activity writers hold
    /// it (their statement's) before theirs, so a TRUNCATE of the activities and
    /// a lead write wait for each other instead of deadlocking.
    fn preamble_reading_activities(&self, extra: &[(&str, String)], check: bool) -> String {
        self.preamble_with(
            extra,
            &format!(
                "    PERFORM lead_score_internal._lock_activities({});\n",
                literal(&self.name)
            ),
            check,
        )
    }

    /// Under REPEATABLE READ the landmark and model version a preamble reads
    /// are the transaction snapshot's: a publish or rebase committed since (it
    /// took the score table's lock, which the preamble has now taken, before
    /// committing) would be missed, and the scores written with an older
    /// version or landmark. Such a writer fails as a serialization conflict,
    /// with each line indented by `indent`. (Not on Citus, whose triggers read
    /// the catalog's shards on the node, nor on 0.1.0's catalog, which has no
    /// such function.)
    fn catalog_check(&self, indent: &str) -> String {
        if self.placement.is_some() || self.catalog_0_1 {
            return String::new();
        }
        format!(
            "{indent}IF lead_score_internal._catalog_since_snapshot({name}, v_landmark, v_version) THEN
{indent}    RAISE EXCEPTION 'could not serialize access: the model of lead_score attachment % was published, or its landmark moved, after this transaction began', {name}
{indent}        USING ERRCODE = 'serialization_failure';
{indent}END IF;\n",
            name = literal(&self.name)
        )
    }

    /// With `check`, the preamble ends with [`Self::catalog_check`] (the
    /// commit fold runs it inside its block instead).
    fn preamble_with(&self, extra: &[(&str, String)], first: &str, check: bool) -> String {
        let mut decls = String::from(
            "DECLARE\n    v_now timestamptz := lead_score_internal._now();\n    v_landmark timestamptz;\n    v_model_id bigint;\n    v_version integer;\n",
        );
        for (name, typ) in extra {
            decls.push_str(&format!("    {name} {typ};\n"));
        }
        let (attachments, models) = match &self.placement {
            Some(p) => (p.attachments.to_sql(), p.models.to_sql()),
            None => (
                "lead_score.attachments".to_string(),
                "lead_score.models".to_string(),
            ),
        };
        let since = if check {
            self.catalog_check("    ")
        } else {
            String::new()
        };
        format!(
            "{decls}BEGIN\n{first}    LOCK TABLE {} IN ROW EXCLUSIVE MODE;\n    SELECT a.landmark, m.id, m.current_version INTO v_landmark, v_model_id, v_version\n    FROM {attachments} a JOIN {models} m ON m.name = a.model WHERE a.name = {};\n{since}",
            self.scores(),
            literal(&self.name)
        )
    }

    /// `SET (columns) = (SELECT a.fields, <now> FROM <call> a)`, in a trigger
    /// body (where the time is `v_now`).
    fn set_applied(&self, call: &str) -> String {
        set_applied(call, ROW_NOW)
    }
}

/// The start of the history steps' insert into `score_history`, of rows `c`
/// (each lead's score and adjustment, `lead_key` as text) for attachment $1 at
/// $2; without `adjustment` where the attachment has no adjustments (Citus, or
/// 0.1.0's table before ALTER EXTENSION UPDATE).
fn history_insert(adjustment: bool) -> String {
    let (column, value) = if adjustment {
        (", adjustment", ", c.adjustment")
    } else {
        ("", "")
    };
    format!(
        "INSERT INTO lead_score.score_history (attachment, lead_key, recorded_at, fit, engagement, total, grade, label,
                                          quadrant, mql, disqualified, probability, model_version{column})
    SELECT $1, c.lead_key, $2, c.fit, c.engagement, c.total, c.grade, c.label, c.quadrant, c.mql,
           c.disqualified, c.probability, c.model_version{value}"
    )
}

/// The history steps' upsert of each lead's head (its classification), from
/// rows `c` of the relation `rows`, for attachment $1, rows dated $2.
///
/// A head is not moved back under a later row: rows are dated at their
/// transaction's start, so a transaction that began before another's
/// adjustment of the lead committed writes a row dated before that one's
/// (and scored without it). Its head would then hide that the latest row is
/// not the lead's state; kept, the next check finds the change and records
/// the lead's state after both.
fn heads_upsert(rows: &str) -> String {
    format!(
        "INSERT INTO lead_score_internal._history_heads AS h (attachment, lead_key, grade, label, quadrant, mql, disqualified)
    SELECT $1, c.lead_key, c.grade, c.label, c.quadrant, c.mql, c.disqualified FROM {rows} c
    ON CONFLICT (attachment, lead_key) DO UPDATE
    SET (grade, label, quadrant, mql, disqualified)
      = (EXCLUDED.grade, EXCLUDED.label, EXCLUDED.quadrant, EXCLUDED.mql, EXCLUDED.disqualified)
    WHERE NOT EXISTS (SELECT 1 FROM lead_score.score_history l
                      WHERE l.attachment = h.attachment AND l.lead_key = h.lead_key AND l.recorded_at > $2)"
    )
}

/// `_emit_alerts` over rows aliased `alias`: one call per statement, with the
/// rows' keys as text, totals and alerts in arrays, in scan order.
/// The function is only called when there are rows: most writes alert nothing,
/// and a call costs a plpgsql statement.
fn emit_alerts(attachment: &str, model: &str, alias: &str, key: TextOf) -> String {
    format!(
        "CASE WHEN pg_catalog.count(*) = 0 THEN 0 ELSE lead_score_internal._emit_alerts({attachment}, {model}, pg_catalog.array_agg({}), pg_catalog.array_agg({alias}.total), pg_catalog.array_agg({alias}.last_alerts)) END",
        text_of(&format!("{alias}.lead_key"), key)
    )
}

/// The score table's columns that hold `_applied`'s fields, in [`APPLIED`] order.
fn score_columns() -> String {
    APPLIED
        .iter()
        .map(|(_, _, c)| *c)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The fields of `_applied` from the row alias, in [`APPLIED`] order, with
/// `alerts` as the given expression.
fn applied_fields(alias: &str, alerts: &str) -> String {
    APPLIED
        .iter()
        .map(|(f, _, _)| {
            if *f == "alerts" {
                alerts.to_string()
            } else {
                format!("{alias}.{f}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `SET (columns) = (SELECT (a.x).fields, <now> FROM (SELECT <call> AS x OFFSET 0) a)`:
/// the call is made once per row (`OFFSET 0` keeps the subquery from being
/// pulled up, which would make it once per field), and as a plain call, not
/// a function scan (which puts each row's one result in a tuplestore).
/// PL/pgSQL that sets `settings` for the transaction, keeping the values it
/// replaces in `v_settings`, and the PL/pgSQL that puts those back: one list,
/// so each value goes back to the setting it came from.
fn local_settings(settings: &[(&str, &str)]) -> (String, String) {
    let list = |f: &dyn Fn(usize, &str, &str) -> String| {
        settings
            .iter()
            .enumerate()
            .map(|(i, (name, value))| f(i + 1, &literal(name), &literal(value)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    (
        format!(
            "v_settings := ARRAY[{}];\n            PERFORM {};",
            list(&|_, name, _| format!("pg_catalog.current_setting({name})")),
            list(&|_, name, value| format!("pg_catalog.set_config({name}, {value}, true)")),
        ),
        format!(
            "PERFORM {};",
            list(&|i, name, _| format!("pg_catalog.set_config({name}, v_settings[{i}], true)")),
        ),
    )
}

/// The time a writer applies score row `s` at: its own (`v_now`, its
/// transaction's start), or the row's last write when that is later (a
/// writer or `tick()` that began after this transaction and committed first,
/// whose row this one waited for). A row's classification then never goes
/// back in time: judged at the earlier time, the write would take back a
/// crossing the later one had alerted (a second `mql`, and then a second
/// `mql_lost` at the next `tick()`). Also what the row's `updated_at` becomes.
const ROW_NOW: &str = "GREATEST(v_now, s.updated_at)";

fn set_applied(call: &str, now: &str) -> String {
    format!(
        "({}, updated_at) = (SELECT {}, {now} FROM (SELECT {call} AS x OFFSET 0) a)",
        score_columns(),
        applied_fields("(a.x)", "(a.x).alerts")
    )
}

impl Attachment {
    /// Sends the alerts of the rows an `up` CTE returned.
    /// An aggregate over rows aliased `alias` (lead_key, total, last_alerts)
    /// that writes their alerts in one statement and returns how many.
    fn emit_alerts(&self, alias: &str) -> String {
        if let Some(p) = &self.placement {
            return format!(
                "CASE WHEN pg_catalog.count(*) = 0 THEN 0 ELSE lead_score_internal._emit_outbox({}::regclass, {}, {}, pg_catalog.array_agg({alias}.lead_key), pg_catalog.array_agg({alias}.total), pg_catalog.array_agg({alias}.last_alerts)) END",
                literal(&p.outbox.to_sql()),
                literal(&self.name),
                literal(&self.model),
            );
        }
        emit_alerts(
            &literal(&self.name),
            &literal(&self.model),
            alias,
            self.lead_key.text,
        )
    }

    /// One forward-decayed delta per lead from activity rows aliased `n`. An
    /// event dated after the write counts as if it happened then: forward decay
    /// would otherwise read it as worth more than its points.
    fn batch(&self, alias: &str) -> String {
        let props = self.props_text(alias);
        format!(
            "lead_score_internal._live_batch(v_model_id, v_version, v_landmark, {}, LEAST({}, {}){props})",
            self.event_type.text_of(alias),
            self.time_of(alias),
            self.write_time()
        )
    }

    /// The activity time of the row aliased `alias`, as a timestamptz: the
    /// column as it is, or a `timestamp` or `date` read in the attachment's
    /// `time_zone` (`timezone(zone, timestamp)`, immutable). Every activity
    /// time the generated SQL reads goes through here.
    fn time_of(&self, alias: &str) -> String {
        match &self.time_zone {
            None => format!("{alias}.{}", ident(&self.occurred_at)),
            Some(zone) => format!(
                "pg_catalog.timezone({}, {alias}.{}::pg_catalog.timestamp)",
                literal(zone),
                ident(&self.occurred_at)
            ),
        }
    }

    /// The time of a write, which an event's time is capped at: the clock when
    /// the trigger runs (`lead_score_internal._clock()`), not the transaction's
    /// start, so an event stamped during its transaction (`clock_timestamp()`,
    /// an application's clock) counts at its own time, as the aggregates count
    /// it. On 0.1.0's catalog, which has no `_clock`, the transaction's start.
    /// A subquery, so the statement reads the clock once (an InitPlan), not
    /// per row: the trigger runs after every row of its statement was made.
    fn write_time(&self) -> &'static str {
        if self.catalog_0_1 {
            "lead_score_internal._now()"
        } else {
            "(SELECT lead_score_internal._clock())"
        }
    }

    /// The last three arguments of `_live_apply`'s 13-argument form: the
    /// stored state is also classified at `at` (when `condition` holds, else
    /// not), with the fit `fit` and disqualification `dq` it was stored with,
    /// so that a crossing time alone caused since the row was written is
    /// alerted before the write's own. Nothing on 0.1.0's catalog, before its
    /// update, which has only the 10-argument form.
    fn judged_before(&self, condition: &str, at: &str, fit: &str, dq: &str) -> String {
        if self.catalog_0_1 {
            String::new()
        } else {
            format!(", CASE WHEN {condition} THEN {at} END, {fit}, {dq}")
        }
    }

    /// Locks the stripes of the keys a query returns, in stripe order. The
    /// stripe is a hash of the typed key (its type's hash function), so it is
    /// the same for every writer whatever their session settings.
    fn lock_stripes(&self, keys: &str) -> String {
        format!(
            "PERFORM 1 FROM {} t WHERE t.stripe IN (SELECT DISTINCT {} FROM ({keys}) AS k(k)) ORDER BY t.stripe FOR UPDATE;",
            self.stripes_table(),
            stripe_of("k.k")
        )
    }

    /// Locks every stripe, in stripe order: for a write that locks every score row.
    fn lock_every_stripe(&self) -> String {
        format!(
            "PERFORM 1 FROM {} t ORDER BY t.stripe FOR UPDATE;",
            self.stripes_table()
        )
    }

    /// Locks the stripes of every key a query returns, before any score row:
    /// whether a key has a score row can change until its stripe is held, so a
    /// statement that may need a stripe later takes them all first, and locks
    /// always go stripes, then rows.
    fn lock_all_stripes(&self, keys: &str) -> String {
        self.lock_stripes(&format!(
            "SELECT q.k FROM ({keys}) AS q(k) WHERE q.k IS NOT NULL"
        ))
    }

    /// Applies one delta per lead from `source` (columns k, st) to the score
    /// rows and sends the alerts, then retries the keys that had no score row
    /// after waiting on their stripes (a lead may be being created by another
    /// transaction). `v_keys` holds the keys for pass 2.
    fn apply_loop(&self, source: &str, delta: &str, replace: bool, also: &str) -> String {
        let apply = format!(
            "lead_score_internal._live_apply(s.state, {delta}, s.fit, s.disqualified_by, s.mql, s.quadrant, s.hot_categories, v_landmark, {ROW_NOW}, {replace})"
        );
        format!(
            "    FOR v_pass IN 1..2 LOOP
        WITH d AS ({source}),
        up AS (
            UPDATE {scores} s SET {set}
            FROM d WHERE s.lead_key = d.k
            RETURNING s.lead_key, s.total, s.last_alerts),{also}
        sent AS (SELECT {emit} AS n FROM up u WHERE u.last_alerts IS NOT NULL)
        -- Scalar subqueries, so both always run: alerts are sent, and the keys with no
        -- score row come from an anti-join (NOT EXISTS over a CTE is quadratic for COPY).
        SELECT (SELECT n FROM sent),
               (SELECT pg_catalog.array_agg(d.k) FROM d LEFT JOIN up ON up.lead_key = d.k WHERE up.lead_key IS NULL)
        INTO v_count, v_keys;
        -- Keys still without a score row after pass 2: under REPEATABLE READ a
        -- lead created and committed after this transaction's snapshot is not
        -- seen here; rather than lose its events, fail as a serialization
        -- conflict (the application retries, as for any).
        IF v_pass = 2 AND v_keys IS NOT NULL AND lead_score_internal._scores_exist({name}, v_keys) THEN
            RAISE EXCEPTION 'could not serialize access: a lead of these events was created after this transaction began'
                USING ERRCODE = 'serialization_failure';
        END IF;
        EXIT WHEN v_keys IS NULL OR v_pass = 2;
        {stripes}
        -- Lock the rows the other transaction created before pass 2 reads the
        -- activities, so its snapshot already sees whatever last wrote them.
        PERFORM 1 FROM {scores} s WHERE s.lead_key = ANY (v_keys) ORDER BY s.lead_key FOR UPDATE;
    END LOOP;
",
            scores = self.scores(),
            name = literal(&self.name),
            set = self.set_applied(&apply),
            also = if also.is_empty() {
                String::new()
            } else {
                format!("\n        {also}")
            },
            emit = self.emit_alerts("u"),
            stripes = self.lock_stripes("SELECT pg_catalog.unnest(v_keys)"),
        )
    }

    /// `CREATE FUNCTION` for a generated plpgsql function, its body quoted as a literal.
    fn function(
        &self,
        name: &str,
        args: &str,
        returns: &str,
        definer: bool,
        body: &str,
    ) -> Statement {
        let security = if definer { " SECURITY DEFINER" } else { "" };
        // On a Citus shard, the C helpers the function calls read the shards
        // this names, not the distributed tables (src/citus.rs).
        let citus = match &self.placement {
            Some(p) => {
                let shards = serde_json::json!([
                    p.scores.schema,
                    p.scores.name,
                    self.activities.schema,
                    self.activities.name
                ]);
                format!(
                    " SET lead_score.citus_placement = {}",
                    literal(&shards.to_string())
                )
            }
            None => String::new(),
        };
        stmt(
            name,
            format!(
                "CREATE FUNCTION {}({args}) RETURNS {returns} LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE{security}\nSET search_path = pg_catalog, pg_temp SET row_security = off{citus}\nAS {}",
                internal(name),
                // Every column the bodies read is qualified, and their
                // variables are meant where a name is both: a table's column
                // named as one (`v_model_id`) made every write fail as
                // ambiguous.
                literal(&format!("#variable_conflict use_variable\n{body}"))
            ),
        )
    }

    /// Folds pending events (all, or those of some keys) into the score rows
    /// and sends the alerts they cause. Score rows are locked in key order
    /// before their pending rows are deleted, as every other writer does. Rows
    /// another transaction holds are skipped, so a fold never waits; they and
    /// events committed after the statement began stay pending for the next.
    pub fn fold_function(&self) -> Statement {
        let body = format!(
            "{preamble}    {fold}
    RETURN v_count;
END
",
            preamble = self.fold_preamble(&[("v_count", "bigint".into())]),
            // A fit change's keys: their leads may have no pending row this
            // snapshot sees. tick(): the rows it locked.
            fold = self.fold_statement(
                "keys IS NULL OR p.lead_key IN (SELECT pg_catalog.unnest(keys))",
                "",
                "coalesce(keys, v_locked)"
            ),
        );
        self.function(
            &self.local(names::fold(&self.name)),
            &format!("keys {}[] DEFAULT NULL", self.key_type()),
            "bigint",
            false,
            &body,
        )
    }

    /// Drops the pending events of keys that have no score row, that is no
    /// lead (a visitor who never became one), once no lead creator can need
    /// them; returns how many. `tick()` runs it last, since the stripes it
    /// takes make lead writers of those stripes wait until tick commits.
    ///
    /// A lead's creation counts its activities from the activity table and
    /// drops the pending events its snapshot sees, so an event is needed
    /// pending only by a creator whose snapshot missed its activity. This takes,
    /// without waiting, the stripes of those keys (a creator holds its key's
    /// stripe from before its read until it commits; under READ COMMITTED it
    /// reads with a snapshot taken once it holds it), then, in later statements
    /// (new snapshots: READ COMMITTED only), drops the events whose key still
    /// has no score row, if the transaction that wrote them ended before every
    /// snapshot of this database still in use began. A REPEATABLE READ creator
    /// whose snapshot is older than this drop fails with a serialization error
    /// when it deletes the dropped events itself (retry it); none counts wrong.
    pub fn drop_orphans_function(&self) -> Statement {
        let pending = self.pending();
        let scores = self.scores();
        let no_lead =
            format!("NOT EXISTS (SELECT 1 FROM {scores} s WHERE s.lead_key = q.lead_key)");
        let body = format!(
            "DECLARE
    v_stripes integer[];
    v_horizon xid;
    v_count bigint := 0;
BEGIN
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        RETURN 0;
    END IF;{stale}
    v_stripes := ARRAY(
        SELECT t.stripe FROM {stripes} t
        WHERE t.stripe IN (SELECT {stripe_q} FROM {pending} q WHERE {no_lead})
        ORDER BY t.stripe FOR UPDATE SKIP LOCKED);
    IF v_stripes = '{{}}' THEN
        RETURN 0;
    END IF;
    v_horizon := lead_score_internal._snapshot_horizon({pending_literal}::pg_catalog.regclass::pg_catalog.oid);
    DELETE FROM {pending} p WHERE p.ctid = ANY (ARRAY(
        SELECT q.ctid FROM {pending} q
        WHERE lead_score_internal._xid_precedes(q.xmin, v_horizon) AND {no_lead}
          AND {stripe_q} = ANY (v_stripes)
        FOR UPDATE OF q SKIP LOCKED));
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
",
            stripes = self.stripes_table(),
            stripe_q = stripe_of("q.lead_key"),
            pending_literal = literal(&pending),
            // The stale rows whose pending rows are gone: folded with their
            // lead, dropped with a key that is no lead, or with a deleted lead.
            // A pending row and its record are seen together, and a fold that
            // moves a recorded lead's rows takes its record in the same
            // statement. Rows a fold holds are skipped (and a fold skips those
            // this holds): neither waits.
            stale = if self.tracks_stale() {
                format!(
                    "
    DELETE FROM {stale} t WHERE t.ctid = ANY (ARRAY(
        SELECT q.ctid FROM {stale} q
        WHERE NOT EXISTS (SELECT 1 FROM {pending} p WHERE p.lead_key = q.lead_key)
        FOR UPDATE OF q SKIP LOCKED));",
                    stale = self.stale()
                )
            } else {
                String::new()
            },
        );
        self.function(
            &self.local(names::drop_orphans(&self.name)),
            "",
            "bigint",
            false,
            &body,
        )
    }

    /// A fold's preamble. Where it may recompute marked leads
    /// ([`Self::marks`]), it reads the activity table, so it takes that
    /// table's lock first, as lead triggers do (one lock order: the user's
    /// tables first), and declares `v_locked`, the keys whose score rows it holds.
    fn fold_preamble(&self, extra: &[(&str, String)]) -> String {
        self.fold_preamble_with(extra, true)
    }

    /// [`Self::fold_preamble`], with [`Self::catalog_check`] or without.
    fn fold_preamble_with(&self, extra: &[(&str, String)], check: bool) -> String {
        if !self.marks() {
            return self.preamble_with(extra, "", check);
        }
        let mut extra = extra.to_vec();
        extra.push(("v_locked", format!("{}[]", self.key_type())));
        self.preamble_reading_activities(&extra, check)
    }

    /// The statement of a fold, into `v_count` (the alerts sent): the pending
    /// rows `rows` selects, of the leads whose score rows it can lock without
    /// waiting, deleted (those `moved_rows` also selects, a condition ending in
    /// `AND`, or all of them) and merged into the score rows.
    ///
    /// Where activity updates and deletes leave recompute markers
    /// ([`Self::marks`]), a lead whose moved rows include one is recomputed
    /// from the activity table instead, and every pending row of it the
    /// statement sees is deleted (the table, read with the same snapshot,
    /// holds them all); an event another transaction commits later stays
    /// pending, on top of the recomputed row, and a marker another transaction
    /// commits later makes readers recompute again. An additive fold of a lead
    /// that has a marker it does not move is harmless for readers, who
    /// recompute such a lead, and its marker's fold replaces the row.
    ///
    /// In `sync` mode ([`Self::tracks_stale`]) an insert's commit moves only its
    /// own rows, so a marker (or an event) another fold left behind would not
    /// make it recompute, and its alerts would be judged against a score that
    /// does not count that update or delete (or event). Every fold therefore
    /// records, in the same statement (one snapshot), the leads whose rows it
    /// could not lock (`lb`, into [`Self::stale_table`], [`Self::record_stale`];
    /// any key: one with no score row yet may be a lead being created), and
    /// takes the stale rows of the leads it locked (`sl`): it folds every
    /// pending row of those leads the statement sees, not only its own, so
    /// their events are added too and a lead with a marker among them is
    /// recomputed (a lead whose rows are events only is not: readers add the
    /// same events to the same stored state, and a recompute would cost its
    /// whole activity history on every fold of a lead writers keep hot).
    /// Under `REPEATABLE READ`
    /// pending rows written after the transaction began are not seen: the
    /// fold fails as a serialization conflict if a lead of the keys `probe`
    /// (an array expression) has one ([`Query::PendingOf`]).
    fn fold_statement(&self, rows: &str, moved_rows: &str, probe: &str) -> String {
        let props = pending_props(self.properties.len(), |i| format!("m.p{i}"));
        // A moved row whose lead's every pending row the fold takes, when it
        // moves only some (`moved_rows`): a marker, or any row of a lead whose
        // pending rows an earlier fold left behind (`sl`).
        let takes_all = if self.tracks_stale() {
            "(m.occurred_at IS NULL OR m.lead_key IN (SELECT sl.lead_key FROM sl))"
        } else {
            "m.occurred_at IS NULL"
        };
        let (delta, replace, rc, recompute, rows_of, read, join) = if self.marks() {
            // The rest of those leads' pending rows, deleted (the rows `moved`
            // deleted are not deleted, nor returned, twice) and folded with
            // `moved`'s: events are added, and a lead with a marker among them
            // is recomputed.
            let (more, rows_of) = if moved_rows.is_empty() {
                (String::new(), "moved")
            } else {
                (
                    format!(
                        "\n    more AS (DELETE FROM {} p WHERE (SELECT pg_catalog.bool_or({takes_all}) FROM moved m) AND p.lead_key IN (SELECT m.lead_key FROM moved m WHERE {takes_all}) RETURNING p.*),",
                        self.pending()
                    ),
                    "(SELECT * FROM moved UNION ALL SELECT * FROM more)",
                )
            };
            // The marked leads, recomputed in one read of their activities.
            // Found in the moved rows, not in `d`: `d` is then read once, so it
            // is not written out (states and all) before the update reads it.
            // A recompute reads rows this statement inserted whose INSERT
            // trigger has not fired yet (a lead write or tick() beside an
            // activity insert, in writable CTEs): each one marks the statement
            // (src/recomputed.rs), so those triggers recompute too rather than
            // add the rows again.
            let read = format!(
                "\n    r AS (SELECT t.k, t.st FROM {} WHERE lead_score_internal._recomputed({}, true)),",
                self.read_states_rows(&format!(
                    "ARRAY(SELECT DISTINCT m.lead_key FROM {rows_of} m WHERE m.occurred_at IS NULL ORDER BY 1)"
                )),
                literal(&self.name)
            );
            (
                "CASE WHEN d.rc THEN r.st ELSE d.st END",
                "d.rc",
                ", pg_catalog.bool_or(m.occurred_at IS NULL) AS rc".to_string(),
                more,
                rows_of,
                read,
                " LEFT JOIN r ON r.k = d.k",
            )
        } else {
            (
                "d.st",
                "false",
                String::new(),
                String::new(),
                "moved",
                String::new(),
                "",
            )
        };
        // The stored state is also classified just before the events, so that
        // a crossing time alone caused since the row was written, which no
        // tick() has alerted yet, is alerted before the events' own (not for
        // a recompute, which replaces the whole history). In `sync` mode the
        // events were written in this transaction (or just before, by one
        // whose commit found the row held): at its start, as a tick() then
        // would have. A `deferred` fold does not know when its events were
        // written, only when they happened, which is no later: just before the
        // earliest, and not at all when that is before the row's last write
        // (a late event); so it may miss such a crossing, never make one up.
        let at = if self.deferred() {
            "LEAST(d.t0, v_now)"
        } else {
            "v_now"
        };
        let before = self.judged_before(
            &format!("NOT {replace} AND {at} > s.updated_at"),
            at,
            "s.fit",
            "s.disqualified_by",
        );
        let apply = format!(
            "lead_score_internal._live_apply(s.state, {delta}, s.fit, s.disqualified_by, s.mql, s.quadrant, s.hot_categories, v_landmark, {ROW_NOW}, {replace}{before})"
        );
        let head = if self.marks() {
            // The rows are locked first, in a statement of their own: the next
            // one takes a new snapshot (READ COMMITTED), which sees every version
            // of them committed before they were locked, so a recompute from the
            // activity table never replaces a newer row with an older state.
            format!(
                "v_locked := ARRAY(
        SELECT s.lead_key FROM {scores} s
        WHERE s.lead_key IN (SELECT p.lead_key FROM {pending} p WHERE {rows})
        ORDER BY s.lead_key FOR UPDATE OF s SKIP LOCKED);{since}
    WITH moved AS (DELETE FROM {pending} p WHERE {moved_rows}p.lead_key IN (SELECT pg_catalog.unnest(v_locked)) RETURNING p.*),{stale}",
                scores = self.scores(),
                pending = self.pending(),
                // Under REPEATABLE READ the snapshot is the transaction's: a
                // write of a lead's activities committed after it began and not
                // folded since (in sync mode, its commit found the lead's row
                // held, so the row was not updated since and this lock
                // succeeded; in deferred mode it waits for tick()) is not seen,
                // neither its pending rows nor (sync) its record in `sl`, and
                // the lead's events (or a fit change, which folds its keys:
                // `probe`) would be judged against a score that misses it (an
                // event it added, an activity it deleted). Such a lead is a
                // serialization conflict (under READ COMMITTED, false at once:
                // the next statement's snapshot sees every row written before
                // the lock was taken).
                since = if self.marks() {
                    format!(
                        "
    IF {probe} <> '{{}}' AND lead_score_internal._pending_since_snapshot({}, {probe}) THEN
        RAISE EXCEPTION 'could not serialize access: activities of these leads changed after this transaction began'
            USING ERRCODE = 'serialization_failure';
    END IF;",
                        literal(&self.name)
                    )
                } else {
                    String::new()
                },
                stale = if self.tracks_stale() {
                    format!(
                        "
    sl AS (DELETE FROM {stale} t WHERE t.ctid = ANY (ARRAY(
        SELECT q.ctid FROM {stale} q WHERE q.lead_key IN (SELECT pg_catalog.unnest(v_locked)) FOR UPDATE OF q SKIP LOCKED))
        RETURNING t.lead_key),{record}",
                        stale = self.stale(),
                        // A commit's own markers of the leads it could not lock.
                        // (tick()'s and a fit change's folds leave only markers
                        // their own writers recorded; a commit that appended too
                        // many rows to track records after its fold.)
                        record = if moved_rows.is_empty() {
                            String::new()
                        } else {
                            format!(
                                "\n    lb AS ({}),",
                                self.record_stale(&format!(
                                    "({rows}) AND p.lead_key NOT IN (SELECT pg_catalog.unnest(v_locked))"
                                ))
                            )
                        },
                    )
                } else {
                    String::new()
                },
            )
        } else {
            format!(
                "WITH locked AS (
        SELECT s.lead_key FROM {scores} s
        WHERE s.lead_key IN (SELECT p.lead_key FROM {pending} p WHERE {rows})
        ORDER BY s.lead_key FOR UPDATE OF s SKIP LOCKED),
    moved AS (DELETE FROM {pending} p USING locked l WHERE {moved_rows}p.lead_key = l.lead_key RETURNING p.*),",
                scores = self.scores(),
                pending = self.pending(),
            )
        };
        format!(
            "{head}{recompute}
    d AS (SELECT m.lead_key AS k, lead_score_internal._live_batch(v_model_id, v_version, v_landmark, m.event_type, m.occurred_at{props}) AS st{rc}{t0}
          FROM {rows_of} m GROUP BY m.lead_key),{read}
    up AS (
        UPDATE {scores} s SET {set}
        FROM d{join} WHERE s.lead_key = d.k
        RETURNING s.lead_key, s.total, s.last_alerts)
    SELECT {emit} INTO STRICT v_count
    FROM up u WHERE u.last_alerts IS NOT NULL;",
            scores = self.scores(),
            set = self.set_applied(&apply),
            emit = self.emit_alerts("u"),
            t0 = if self.deferred() && !self.catalog_0_1 {
                ",\n                 pg_catalog.min(m.occurred_at) AS t0"
            } else {
                ""
            },
        )
    }

    /// The fold a `sync` writer's commit runs (`lead_score_internal._fold_at_commit`):
    /// the events it appended (`tids`, their rows in the pending table; an
    /// empty array for every pending event, after a large statement), as [`Self::fold_function`]
    /// folds them. Score rows another transaction holds are skipped, so a
    /// commit never waits for, or deadlocks with, another writer; their events
    /// stay pending, exact for every reader, until `tick()` (or a recompute or
    /// fit change of that lead) folds them. A serialization failure (a `REPEATABLE READ` writer
    /// whose lead's score row changed after its snapshot) leaves them pending
    /// too, rather than fail the commit.
    pub fn commit_fold_function(&self) -> Statement {
        // After a large statement, every pending event: the attachment's fold,
        // with hash and merge joins only and memory to hash them in one pass,
        // as tick() runs it (no row estimate of a table just loaded can make
        // the plan quadratic), and no JIT (those plans cost in the billions). Otherwise the rows appended, by ctid (a TID scan).
        let bulk = local_settings(&[
            ("enable_nestloop", "off"),
            ("work_mem", "128MB"),
            ("jit", "off"),
        ]);
        let tid_scans = local_settings(&[("enable_seqscan", "off"), ("enable_indexscan", "off")]);
        let body = format!(
            "{preamble}    BEGIN
{check}        IF pg_catalog.cardinality(tids) = 0 THEN
            {bulk_on}
            v_count := {fold_fn}();{record_all}
            {bulk_off}
        ELSE{tid_scans_on}
            {some}{tid_scans_off}
        END IF;
    EXCEPTION WHEN serialization_failure THEN
        v_count := 0;{stale_on_failure}
    END;
    RETURN v_count;
END
",
            // The catalog check inside the block: a publish since a
            // REPEATABLE READ writer's snapshot leaves its events pending for
            // tick(), which folds them with the new version.
            preamble = self.fold_preamble_with(
                &[
                    ("v_count", "bigint".into()),
                    ("v_settings", "text[]".into()),
                ],
                false,
            ),
            check = self.catalog_check("        "),
            // Its markers stay pending: recorded, as a fold records those it leaves.
            // Too many rows to track: every marker the fold left (others'
            // included, recorded again: harmless).
            record_all = if self.tracks_stale() {
                format!("\n            {};", self.record_stale("true"))
            } else {
                String::new()
            },
            // (Two statements, so the one by ctid is a TID scan.)
            stale_on_failure = if self.tracks_stale() {
                format!(
                    "
        IF pg_catalog.cardinality(tids) = 0 THEN
            {};
        ELSE
            {};
        END IF;",
                    self.record_stale("true"),
                    self.record_stale("p.ctid = ANY (tids)"),
                )
            } else {
                String::new()
            },
            fold_fn = self.fold_fn(),
            some = self.fold_statement(
                "p.ctid = ANY (tids)",
                "p.ctid = ANY (tids) AND ",
                "v_locked"
            ),
            // The pending table's statistics say little (rows come and go by
            // the thousand between autovacuums, and a busy sync attachment's
            // table is mostly dead rows): its rows are found by ctid, never by
            // a scan of it, nor of its key index (with one row in its
            // statistics, a plain index scan of the whole index filtered by
            // ctid looked cheaper than a TID scan: 69,155 buffers for one
            // commit after a pgbench run, against 1). Where the fold is two
            // statements, the planner is told so; lookups by key are bitmap
            // scans meanwhile.
            tid_scans_on = if self.marks() {
                format!("\n            {}", tid_scans.0)
            } else {
                String::new()
            },
            tid_scans_off = if self.marks() {
                format!("\n            {}", tid_scans.1)
            } else {
                String::new()
            },
            bulk_on = bulk.0,
            bulk_off = bulk.1,
        );
        let mut f = self.function(
            &names::commit_fold(&self.name),
            "tids pg_catalog.tid[]",
            "bigint",
            true,
            &body,
        );
        // Every commit passes new ctids: a custom plan would be planned again
        // each time (measured: 0.58 against 0.37 ms per one-row insert and commit).
        f.sql = f.sql.replacen(
            "SET row_security = off",
            "SET row_security = off SET plan_cache_mode = force_generic_plan",
            1,
        );
        f
    }

    /// The trigger function for a write on a table; `None` where the trigger
    /// calls a shared function (the deferred C insert trigger).
    pub fn trigger_function(&self, table: Table, write: Write) -> Option<Statement> {
        let body = match (table, write) {
            (Table::Activities, Write::Insert) => match self.appends() {
                true if self.fast_append => return None,
                true => self.activities_append_body(),
                false => self.activities_insert_body(),
            },
            (Table::Activities, Write::Update | Write::Delete) => {
                self.activities_recompute_body(write)
            }
            (Table::Activities, Write::Truncate) => self.activities_truncate_body(),
            (Table::Leads, Write::Insert | Write::Update) => self.leads_upsert_body(write),
            (Table::Leads, Write::Delete) => self.leads_delete_body(),
            (Table::Leads, Write::Truncate) => self.leads_truncate_body(),
        };
        Some(self.function(
            &self.local(names::trigger_fn(&self.name, table, write)),
            "",
            "trigger",
            true,
            &body,
        ))
    }

    /// sync: INSERT (and COPY) add their events to the score rows, O(1) per event.
    fn activities_insert_body(&self) -> String {
        let akey = self.activity_lead_key.of("n");
        let source = format!(
            "SELECT {akey} AS k, {batch} AS st FROM new_rows n WHERE {akey} IS NOT NULL AND {tn} IS NOT NULL AND (v_pass = 1 OR {akey} = ANY (v_keys)) GROUP BY {akey}",
            batch = self.batch("n"),
            tn = self.time_of("n")
        );
        format!(
            "{preamble}{guard}    -- Locks go in one order everywhere: stripes (in stripe order), then score
    -- rows (in key order), so concurrent statements cannot deadlock on them.
    -- A lead's stripe is taken before its score row even by a single-row
    -- insert: a later statement of the same transaction may need the stripe,
    -- and must not wait for it while holding the row.
    {stripes}
    IF (SELECT pg_catalog.count(*) > 1 FROM new_rows) THEN
        PERFORM 1 FROM {scores} s WHERE s.lead_key IN (SELECT {akey} FROM new_rows n) ORDER BY s.lead_key FOR UPDATE;
    END IF;
    -- Pass 1 adds every lead's delta; pass 2 only the leads that had no score row.
{apply}    RETURN NULL;
END
",
            preamble = self.preamble(&self.loop_decls()),
            guard = self.insert_guard(),
            scores = self.scores(),
            stripes = self.lock_all_stripes(&format!("SELECT {akey} FROM new_rows n")),
            apply = self.apply_loop(&source, "d.st", false, ""),
        )
    }

    fn loop_decls(&self) -> Vec<(&'static str, String)> {
        vec![
            ("v_count", "bigint".into()),
            ("v_keys", format!("{}[]", self.key_type())),
            ("v_pass", "integer".into()),
        ]
    }

    /// deferred, for column types the C trigger does not copy: append events to
    /// the pending table. No score row is touched, so no insert waits.
    fn activities_append_body(&self) -> String {
        let props = pending_props(self.properties.len(), |i| format!("p{i}"));
        let values = self.props_text("n");
        let akey = self.activity_lead_key.of("n");
        // sync: the writer's commit folds the rows appended (their ctids).
        let (declare, insert, register) = if self.deferred() {
            ("", "    ", String::new())
        } else {
            (
                "DECLARE\n    v_tids pg_catalog.tid[];\n",
                "    WITH a AS (\n    ",
                format!(
                    "\n    RETURNING ctid)\n    SELECT pg_catalog.array_agg(a.ctid) INTO v_tids FROM a;\n    PERFORM lead_score_internal._fold_at_commit({}, v_tids)",
                    literal(&self.name)
                ),
            )
        };
        format!(
            "{declare}BEGIN
    -- The score table first, as every writer locks it (see src/pending.rs).
    LOCK TABLE {scores} IN ROW EXCLUSIVE MODE;
{guard}{insert}INSERT INTO {pending} (lead_key, event_type, occurred_at{props})
    SELECT {akey}, {etype}, LEAST({tn}, {write_time}){values} FROM new_rows n
    WHERE {akey} IS NOT NULL AND {tn} IS NOT NULL{register};
    RETURN NULL;
END
",
            pending = self.pending(),
            scores = self.scores(),
            guard = self.insert_guard(),
            etype = self.event_type.text_of("n"),
            tn = self.time_of("n"),
            write_time = self.write_time(),
        )
    }

    /// Recomputes some leads from the activity table, as UPDATE and DELETE of
    /// activities (and INSERT, after a recompute in the same statement; see
    /// `src/recomputed.rs`) do. Not SECURITY DEFINER: only the trigger functions
    /// (which are) and the deferred insert trigger (as the owner) call it.
    pub fn recompute_function(&self) -> Statement {
        let source = format!(
            "SELECT t.k, t.st FROM ROWS FROM (pg_catalog.unnest(v_keys), pg_catalog.unnest({})) AS t(k, st)",
            self.owner_states("v_keys")
        );
        // Dropped in the recompute's statement, which reads the same snapshot, and
        // only for leads whose (locked) score row it rewrote; a lead without one
        // keeps its events until it is created, which counts them from the table.
        let also = if self.appends() {
            format!(
                "gone AS (DELETE FROM {} p WHERE p.lead_key IN (SELECT up.lead_key FROM up)),",
                self.pending()
            )
        } else {
            String::new()
        };
        let body = format!(
            "{preamble}    SELECT pg_catalog.array_agg(DISTINCT t.k) INTO v_keys FROM pg_catalog.unnest(keys) AS t(k) WHERE t.k IS NOT NULL;
    IF v_keys IS NULL THEN
        RETURN;
    END IF;
    -- Stripes first, then score rows: one lock order.
    {stripes}
    PERFORM 1 FROM {scores} s WHERE s.lead_key = ANY (v_keys) ORDER BY s.lead_key FOR UPDATE;
    -- Recompute is idempotent: pass 2 just repeats it for keys that had no score row.
{apply}    RETURN;
END
",
            preamble = self.preamble(&self.loop_decls()),
            stripes = self.lock_stripes("SELECT pg_catalog.unnest(v_keys)"),
            scores = self.scores(),
            apply = self.apply_loop(
                &source,
                "coalesce(d.st, lead_score_internal._live_empty(v_model_id, v_version, v_landmark))",
                true,
                &also
            ),
        );
        self.function(
            &self.local(names::recompute(&self.name)),
            &format!("keys {}[]", self.key_type()),
            "void",
            false,
            &body,
        )
    }

    /// On Citus, [`Query::RecomputeInserted`] for the deferred C insert trigger
    /// on an activity shard: the shard group's own recompute function (whose
    /// name ends in `suffix`, see [`Placement`]), which names its shards.
    pub fn shard_recompute_inserted(&self, suffix: &str) -> String {
        let akey = self.activity_lead_key.of("n");
        format!(
            "SELECT {}(ARRAY(SELECT {akey} FROM new_rows n WHERE {akey} IS NOT NULL))",
            internal(&format!("{}{suffix}", names::recompute(&self.name)))
        )
    }

    /// `<name>__recompute(ARRAY[keys of the inserted rows])`, for an INSERT
    /// trigger after a recompute in the same statement.
    fn recompute_inserted(&self) -> String {
        let akey = self.activity_lead_key.of("n");
        format!(
            "{}(ARRAY(SELECT {akey} FROM new_rows n WHERE {akey} IS NOT NULL))",
            self.recompute_fn()
        )
    }

    /// The start of an INSERT trigger: after a recompute in this statement,
    /// recompute the inserted rows' leads instead of adding them.
    fn insert_guard(&self) -> String {
        format!(
            "    -- A recompute earlier in this statement (ON CONFLICT, MERGE, writable
    -- CTEs fire the UPDATE or DELETE trigger first) may have counted these rows
    -- already; recomputing is right either way.
    IF lead_score_internal._recomputed({}, false) THEN
        PERFORM {};
        RETURN NULL;
    END IF;
",
            literal(&self.name),
            self.recompute_inserted()
        )
    }

    /// UPDATE and DELETE of activities recompute the touched leads from the table.
    fn activities_recompute_body(&self, write: Write) -> String {
        let keys = match write {
            Write::Update => format!(
                "SELECT {} FROM old_rows o UNION ALL SELECT {} FROM new_rows n",
                self.activity_lead_key.of("o"),
                self.activity_lead_key.of("n")
            ),
            _ => format!("SELECT {} FROM old_rows o", self.activity_lead_key.of("o")),
        };
        if self.marks() {
            // One marker per touched key, lead or not yet (a lead being created
            // meanwhile may have counted the old row). `sync`: the commit folds
            // them, as it folds inserts.
            let register = match self.deferred() {
                true => String::new(),
                false => format!(
                    "\n    PERFORM lead_score_internal._fold_at_commit({}, v_tids);",
                    literal(&self.name)
                ),
            };
            return format!(
                "DECLARE
    v_tids pg_catalog.tid[];
BEGIN
    LOCK TABLE {scores} IN ROW EXCLUSIVE MODE;
    WITH m AS (INSERT INTO {pending} (lead_key) SELECT DISTINCT q.k FROM ({keys}) AS q(k) WHERE q.k IS NOT NULL RETURNING ctid)
    SELECT pg_catalog.array_agg(m.ctid) INTO v_tids FROM m;{register}
    RETURN NULL;
END
",
                scores = self.scores(),
                pending = self.pending(),
            );
        }
        format!(
            "BEGIN
    PERFORM lead_score_internal._recomputed({name}, true);
    PERFORM {recompute}(ARRAY({keys}));
    RETURN NULL;
END
",
            name = literal(&self.name),
            recompute = self.recompute_fn(),
        )
    }

    /// TRUNCATE of activities empties every lead's engagement.
    fn activities_truncate_body(&self) -> String {
        let apply = &format!("lead_score_internal._live_apply(s.state, lead_score_internal._live_empty(v_model_id, v_version, v_landmark), s.fit, s.disqualified_by, s.mql, s.quadrant, s.hot_categories, v_landmark, {ROW_NOW}, true)");
        format!(
            "{preamble}    {all_stripes}
    PERFORM 1 FROM {scores} s ORDER BY s.lead_key FOR UPDATE;
    DELETE FROM {pending};
    WITH up AS (
        UPDATE {scores} s SET {set}
        RETURNING s.lead_key, s.total, s.last_alerts)
    SELECT {emit} INTO STRICT v_count
    FROM up u WHERE u.last_alerts IS NOT NULL;
    RETURN NULL;
END
",
            all_stripes = self.lock_every_stripe(),
            preamble = self.preamble(&[("v_count", "bigint".into())]),
            scores = self.scores(),
            pending = self.pending(),
            set = self.set_applied(apply),
            emit = self.emit_alerts("u"),
        )
    }

    /// INSERT and UPDATE of leads (re)compute fit; a lead new to the scores gets
    /// its engagement from the activities it already has.
    fn leads_upsert_body(&self, write: Write) -> String {
        let lkey_n = self.lead_key.of("n");
        let lkey_l = self.lead_key.of("l");
        let scores = self.scores();
        let pending = self.pending();
        let keys = match write {
            Write::Update => format!(
                "SELECT {lkey_n} FROM new_rows n UNION SELECT {} FROM old_rows o",
                self.lead_key.of("o")
            ),
            _ => format!("SELECT {lkey_n} FROM new_rows n"),
        };
        let new_without_row = format!(
            "SELECT {lkey_l} FROM new_rows l WHERE NOT EXISTS (SELECT 1 FROM {scores} x WHERE x.lead_key = {lkey_l})"
        );
        let mut steps = String::new();
        // What a new score row's alerts are judged against: nothing, but for
        // a lead an UPDATE gave a new key, whose alerts go on from its old
        // key's score row (its classes, the bursts it fired), read before that
        // row is deleted. The transition tables do not pair old rows with new
        // ones, so a key is taken to have become another when the statement
        // makes exactly one key go and exactly one new key appear (the usual
        // rename of one lead, alone or among rows whose keys stay); a chain
        // (1 to 2 and 2 to 3 at once) reads as 1 to 3.
        let mut before = ["NULL", "NULL", "NULL", "NULL"].map(String::from);
        // And, as a fit change does, the old key's state classified at this
        // write's time with its old fit first: a crossing time caused since.
        let mut b_before = String::new();
        // When a new score row is applied: now, or when the old key's row was
        // last written, if later (see [`ROW_NOW`]).
        let mut at = "v_now".to_string();
        if write == Write::Update {
            let lkey_o = self.lead_key.of("o");
            steps.push_str(&format!(
                "    v_gone := ARRAY(SELECT {lkey_o} FROM old_rows o WHERE {lkey_o} IS NOT NULL EXCEPT SELECT {lkey_n} FROM new_rows n);
    IF v_gone <> '{{}}' THEN
        v_gone := {gone};
    END IF;
    -- One key gone and one key new: the same lead under its new key.
    IF pg_catalog.cardinality(v_gone) = 1 THEN
        v_moved := ARRAY(SELECT {lkey_n} FROM new_rows n EXCEPT SELECT {lkey_o} FROM old_rows o);
        IF pg_catalog.cardinality(v_moved) = 1 THEN
            SELECT v_moved[1], s.state, s.mql, s.quadrant, s.hot_categories, s.updated_at, s.fit, s.disqualified_by
            INTO v_moved_to, v_moved_state, v_moved_mql, v_moved_quadrant, v_moved_hot, v_moved_at, v_moved_fit, v_moved_dq
            FROM {scores} s WHERE s.lead_key = v_gone[1];
        END IF;
    END IF;
    DELETE FROM {scores} s WHERE s.lead_key = ANY (v_gone);
    DELETE FROM {pending} p WHERE p.lead_key = ANY (v_gone);\n",
                gone = self.keys_gone("v_gone"),
            ));
            before = [
                "v_moved_state",
                "v_moved_mql",
                "v_moved_quadrant",
                "v_moved_hot",
            ]
            .map(|v| format!("CASE WHEN {lkey_l} = v_moved_to THEN {v} END"));
            at = format!("GREATEST(v_now, CASE WHEN {lkey_l} = v_moved_to THEN v_moved_at END)");
            b_before = self.judged_before(
                &format!("{lkey_l} = v_moved_to AND v_now > v_moved_at"),
                "v_now",
                "v_moved_fit",
                "v_moved_dq",
            );
        }
        let mut variables = vec![
            ("v_count", "bigint".to_string()),
            ("v_new", format!("{}[]", self.key_type())),
        ];
        if write == Write::Update {
            variables.extend([
                ("v_gone", format!("{}[]", self.key_type())),
                ("v_moved", format!("{}[]", self.key_type())),
                ("v_moved_to", self.key_type()),
                ("v_moved_state", "bytea".to_string()),
                ("v_moved_mql", "boolean".to_string()),
                ("v_moved_quadrant", "text".to_string()),
                ("v_moved_hot", "text[]".to_string()),
                ("v_moved_at", "timestamptz".to_string()),
                ("v_moved_fit", "float8".to_string()),
                ("v_moved_dq", "text".to_string()),
            ]);
        }
        let mut with = String::new();
        if self.appends() {
            // Fold known leads' pending events first, so classification and alerts
            // see them; a new lead's are counted from the source table, so drop them.
            steps.push_str(&format!(
                "    PERFORM {}(ARRAY(SELECT {lkey_n} FROM new_rows n));\n",
                self.fold_fn()
            ));
            with = format!(
                "gone AS (DELETE FROM {pending} p WHERE p.lead_key IN ({new_without_row})),\n    "
            );
        }
        let model = literal(&self.model);
        format!(
            "{preamble}    {stripes}
    PERFORM 1 FROM {scores} s WHERE s.lead_key IN ({keys}) ORDER BY s.lead_key FOR UPDATE;
{steps}    -- New leads' engagement from the activities they already have.
    v_new := ARRAY({new_without_row});
    IF v_new <> '{{}}' THEN
        PERFORM lead_score_internal._recomputed({name}, true);
    END IF;
    WITH {with}fresh AS (
        SELECT t.k, t.st FROM ROWS FROM (pg_catalog.unnest(v_new), pg_catalog.unnest({owner_states})) AS t(k, st)
        WHERE t.st IS NOT NULL),
    up AS (
        INSERT INTO {scores} AS s (lead_key, fit, disqualified_by, predictive, {score_columns}, updated_at)
        SELECT {lkey_l}, f.fit, f.dq, f.pr, {applied_fields}, {at}
        FROM new_rows l
        CROSS JOIN LATERAL (SELECT lead_score.fit({model}, l.*) AS fit, lead_score.disqualified_by({model}, l.*) AS dq,
                           lead_score_internal._predictive_on({model}, l.*) AS pr) f
        LEFT JOIN fresh ON fresh.k = {lkey_l}
        CROSS JOIN LATERAL lead_score_internal._live_apply({b_state}, coalesce(fresh.st, lead_score_internal._live_empty(v_model_id, v_version, v_landmark)),
                                                  f.fit, f.dq, {b_mql}, {b_quadrant}, {b_hot}, v_landmark, {at}, true{b_before}) a
        WHERE {lkey_l} IS NOT NULL
        ORDER BY {lkey_l}
        ON CONFLICT (lead_key) DO UPDATE SET (fit, disqualified_by, predictive) = (EXCLUDED.fit, EXCLUDED.disqualified_by, EXCLUDED.predictive),
            {set}
        RETURNING s.lead_key, s.total, s.last_alerts)
    SELECT {emit} INTO STRICT v_count
    FROM up u WHERE u.last_alerts IS NOT NULL;
    RETURN NULL;
END
",
            preamble = self.preamble_reading_activities(&variables, true),
            stripes = self.lock_all_stripes(&keys),
            name = literal(&self.name),
            owner_states = self.owner_states("v_new"),
            b_state = before[0],
            b_mql = before[1],
            b_quadrant = before[2],
            b_hot = before[3],
            b_before = b_before,
            score_columns = score_columns(),
            applied_fields = applied_fields("a", "a.alerts"),
            // A fit change judges the stored state at its own time first, with
            // the old fit: a crossing time caused since the row was written
            // (and no tick() has alerted) comes before the change's own.
            set = self.set_applied(&format!(
                "lead_score_internal._live_apply(s.state, NULL, EXCLUDED.fit, EXCLUDED.disqualified_by, s.mql, s.quadrant, s.hot_categories, v_landmark, {ROW_NOW}, false{})",
                self.judged_before("v_now > s.updated_at", "v_now", "s.fit", "s.disqualified_by")
            )),
            emit = self.emit_alerts("u"),
        )
    }

    /// DELETE of leads removes their scores and pending events.
    fn leads_delete_body(&self) -> String {
        let lkey = self.lead_key.of("o");
        format!(
            "{preamble}    {stripes}
    PERFORM 1 FROM {scores} s WHERE s.lead_key IN (SELECT {lkey} FROM old_rows o) ORDER BY s.lead_key FOR UPDATE;
    -- Not the keys a row of the same statement took again (keys_gone).
    v_gone := {gone};
    DELETE FROM {scores} s WHERE s.lead_key = ANY (v_gone);
    DELETE FROM {pending} p WHERE p.lead_key = ANY (v_gone);
    RETURN NULL;
END
",
            // The activity table's lock first, as every lead trigger takes it:
            // a lead delete that then reads activities in its transaction
            // waits for a TRUNCATE of them rather than deadlocking with its
            // wait for the stripes.
            preamble = self.preamble_reading_activities(&[("v_gone", format!("{}[]", self.key_type()))], true),
            gone = self.keys_gone(&format!("ARRAY(SELECT {lkey} FROM old_rows o WHERE {lkey} IS NOT NULL)")),
            stripes = self.lock_all_stripes(&format!("SELECT {lkey} FROM old_rows o")),
            scores = self.scores(),
            pending = self.pending(),
        )
    }

    /// TRUNCATE of leads removes every score.
    fn leads_truncate_body(&self) -> String {
        format!(
            "{preamble}    {all_stripes}
    PERFORM 1 FROM {scores} s ORDER BY s.lead_key FOR UPDATE;
    DELETE FROM {scores};
    DELETE FROM {pending};
    RETURN NULL;
END
",
            all_stripes = self.lock_every_stripe(),
            // As a lead delete (above).
            preamble = self.preamble_reading_activities(&[], true),
            scores = self.scores(),
            pending = self.pending(),
        )
    }

    fn table(&self, table: Table) -> &Qualified {
        match table {
            Table::Leads => &self.leads,
            Table::Activities => &self.activities,
        }
    }

    /// `CREATE TRIGGER` for a write on a table.
    pub fn trigger(&self, table: Table, write: Write) -> Statement {
        let function = if table == Table::Activities
            && write == Write::Insert
            && self.appends()
            && self.fast_append
        {
            format!(
                "lead_score_internal._append_pending({})",
                literal(&self.name)
            )
        } else {
            format!(
                "{}()",
                internal(&self.local(names::trigger_fn(&self.name, table, write)))
            )
        };
        let mut name = trigger_name(&self.name, write);
        let mut create = "CREATE TRIGGER";
        if self.placement.is_some() {
            // Citus copied the trigger to the shard as `<name>_<shard id>`;
            // replaced in place (Citus refuses to drop it on a worker).
            if let Some((_, id)) = self.table(table).name.rsplit_once('_') {
                name = format!("{name}_{id}");
            }
            create = "CREATE OR REPLACE TRIGGER";
        }
        stmt(
            format!("trigger {name} on {}", self.table(table).to_sql()),
            format!(
                "{create} {} AFTER {} ON {}{} FOR EACH STATEMENT EXECUTE FUNCTION {function}",
                ident(&name),
                write.event(),
                self.table(table).to_sql(),
                write.referencing()
            ),
        )
    }

    /// `COMMENT ON TRIGGER` for [`Self::trigger`] (not on a Citus shard, whose
    /// trigger copies Citus names and manages).
    pub fn trigger_comment(&self, table: Table, write: Write) -> Option<Statement> {
        if self.placement.is_some() {
            return None;
        }
        let name = trigger_name(&self.name, write);
        let doc = format!(
            "lead_score attachment {}: keeps its live scores current after each {} of this table (lead_score.detach removes it).",
            self.name,
            write.event()
        );
        Some(stmt(
            format!("comment on trigger {name}"),
            format!(
                "COMMENT ON TRIGGER {} ON {} IS {}",
                ident(&name),
                self.table(table).to_sql(),
                literal(&doc)
            ),
        ))
    }

    /// Who may do what with the attachment's objects. Nobody but the owner may
    /// call the trigger functions: EXECUTE is checked when a trigger is created,
    /// not when it fires, so any role could otherwise attach them to a table of
    /// its own.
    pub fn privileges(&self) -> Vec<Statement> {
        let mut out = Vec::new();
        for table in [Table::Activities, Table::Leads] {
            for write in Write::ALL {
                if self.trigger_function(table, write).is_some() {
                    out.push(stmt(
                        "revoke",
                        format!(
                            "REVOKE ALL ON FUNCTION {}() FROM PUBLIC",
                            internal(&self.local(names::trigger_fn(&self.name, table, write)))
                        ),
                    ));
                }
            }
        }
        out.push(stmt(
            "revoke",
            format!(
                "REVOKE ALL ON FUNCTION {}({}[]) FROM PUBLIC",
                self.recompute_fn(),
                self.key_type()
            ),
        ));
        let fold = format!("{}({}[])", self.fold_fn(), self.key_type());
        out.push(stmt(
            "revoke",
            format!("REVOKE ALL ON FUNCTION {fold} FROM PUBLIC"),
        ));
        out.push(stmt(
            "grant",
            format!("GRANT EXECUTE ON FUNCTION {fold} TO {}", ident(ADMIN_ROLE)),
        ));
        // Not on a Citus shard group, which tick() does not drop for (docs/citus.md).
        if self.placement.is_none() {
            let drop_orphans = format!("{}()", self.drop_orphans_fn());
            out.push(stmt(
                "revoke",
                format!("REVOKE ALL ON FUNCTION {drop_orphans} FROM PUBLIC"),
            ));
            out.push(stmt(
                "grant",
                format!(
                    "GRANT EXECUTE ON FUNCTION {drop_orphans} TO {}",
                    ident(ADMIN_ROLE)
                ),
            ));
        }
        if self.placement.is_none() {
            out.push(stmt(
                "revoke",
                format!(
                    "REVOKE ALL ON FUNCTION {}(pg_catalog.tid[]) FROM PUBLIC",
                    self.commit_fold_fn()
                ),
            ));
        }
        let readable = [
            self.scores(),
            self.pending(),
            internal(&names::merged(&self.name)),
            ours(&names::current(&self.name)),
            ours(&names::categories(&self.name)),
        ];
        let readable: Vec<String> = readable
            .into_iter()
            // Not the account heads: filled as the extension's owner, they hold
            // account values the views only show to roles that may read the leads.
            .chain(self.account.iter().flat_map(|_| {
                [
                    ours(&names::accounts(&self.name)),
                    ours(&names::account_categories(&self.name)),
                ]
            }))
            .collect();
        out.push(stmt(
            "grant",
            format!(
                "GRANT SELECT ON {} TO {}",
                readable.join(", "),
                ident(READER_ROLE)
            ),
        ));
        out.push(stmt(
            "grant",
            format!(
                "GRANT SELECT ON {} TO {}",
                readable.join(", "),
                ident(ADMIN_ROLE)
            ),
        ));
        out.push(stmt(
            "grant",
            format!(
                "GRANT INSERT, UPDATE, DELETE ON {}, {} TO {}",
                self.scores(),
                self.pending(),
                ident(ADMIN_ROLE)
            ),
        ));
        if self.tracks_stale() {
            out.push(stmt(
                "grant",
                format!(
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}",
                    self.stale(),
                    ident(ADMIN_ROLE)
                ),
            ));
        }
        // tick()'s fold locks the stripes of keys that are no lead.
        out.push(self.stripes_grant());
        out
    }
}

/// The queries lead_score's functions run on an attachment at run time, each
/// with its parameters as `$n`. See `lead_score_internal._sql(attachment, query)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query {
    /// `count(*)` of the leads.
    CountLeads,
    /// Deletes scores of leads that no longer exist.
    Prune,
    /// Recomputes every lead from the tables: $1 model, $2 landmark, $3 now,
    /// $4 with alerts, $5 model id, $6 version, $7 activities (estimate),
    /// $8 leads, $9 progress run id, $10 the clock events are capped at (not
    /// on 0.1.0's catalog, which caps at $3).
    Rescore,
    /// `Rescore` for leads distributed by Citus, with the same parameters. Citus
    /// refuses functions that are not immutable in `ON CONFLICT DO UPDATE SET`,
    /// so each lead's stored row is joined in and the new row computed before
    /// the insert. Correct because a rescore holds the attachment's exclusive
    /// lock (no writer can change a score row meanwhile). The pending table is
    /// emptied before, by [`Query::ClearPending`] (Citus runs a modifying CTE
    /// of a multi-shard statement apart, through the coordinator); no progress
    /// (it would run on the workers) and no order (the shards are written in
    /// parallel).
    RescoreDistributed,
    /// Sends the alerts a rescore at $3 stored: $1 attachment, $2 model.
    RescoreAlerts,
    /// Moves every state to landmark $1 (writing only those not at it).
    Rebase,
    /// Alerts on crossings caused by time alone: $1 now, $2 landmark,
    /// $3 attachment, $4 model.
    TimeCrossings,
    /// Lowers the stale bounds among the first [`crate::live::BOUND_REFRESH_ROWS`]
    /// rows of the bound index at or below $2 to what their states give at $1
    /// (now), so `top_leads` does not walk past leads that were hot long ago;
    /// returns whether it lowered at least [`crate::live::BOUND_REFRESH_AGAIN`],
    /// in which case the next rows may be stale too, and the lowest bound it
    /// read: `tick()` runs it again from there (`Infinity` first), so no round
    /// walks the index entries earlier rounds left dead. Not on Citus, whose
    /// `top_leads` sorts every lead.
    RefreshBounds,
    /// `TimeCrossings` for leads distributed by Citus, with the same
    /// parameters. Citus refuses `FOR UPDATE` over many shards, so the due rows
    /// are updated directly, and it waits for writers holding them instead
    /// of skipping them.
    TimeCrossingsDistributed,
    /// `Rebase` for leads distributed by Citus: $1 the landmark.
    RebaseDistributed,
    /// Every mismatch between stored and recomputed scores: $1 model.
    Check,
    /// One round of `top_leads` (see `top_leads_query`).
    TopLeads,
    /// `top_leads` by a full sort: $1 n, $2 whether disqualified leads count.
    TopLeadsAll,
    /// One lead's score: $1 its key.
    CurrentScore,
    /// One lead's score: $1 its key as text, read as the key type.
    CurrentScoreText,
    /// One lead's activities, newest first, each with the rules it matches
    /// and its points now: $1 model, $2 the lead's key as text.
    Timeline,
    /// $1, a lead's key as text, read as the key type, and nothing else:
    /// `current_score(text)` and `timeline` run it alone first, so the errors
    /// they name as a bad key come from that cast and no other part of their
    /// query.
    KeyOfText,
    /// 0.1.0's `current_scores` rows ($1 attachment, $2 model), which its
    /// `_current_scores()` reads between installing this library and ALTER
    /// EXTENSION UPDATE. Drop in the release after 0.2.0.
    CurrentScoresV010,
    /// One account's leads, for `explain_account`: $1 the account as text
    /// (no rows for a model without an `accounts` section).
    AccountExplain,
    /// Appends a history row for every lead whose grade, label, quadrant,
    /// MQL or disqualification differs from its last one (or that has none),
    /// moves its head, and counts the leads per class for the day: $1
    /// attachment, $2 the time recorded. Returns the rows written.
    RecordHistory,
    /// As [`Query::RecordHistory`], for every lead scored through the
    /// aggregates as of `$2` by the model `$3` (`name@N`): a past check.
    BackfillHistory,
    /// A history row for one lead now, whatever changed, and its head moved:
    /// $1 attachment, $2 the time recorded, $3 the lead's key as text. After a
    /// manual adjustment is made or ended. Returns the rows written (0 for no
    /// such lead).
    RecordHistoryLead,
    /// A lead's key as its score row holds it, as text (the form
    /// `lead_score.adjustments` keeps): $1 the key as text, read as the key
    /// type. No row for no such lead. Through the current view, as
    /// [`Query::CurrentScore`].
    LeadKeyText,
    /// `explain` of one lead from its row and its activities up to
    /// `scoring_time()`, through the aggregates: $1 model, $2 the key as text.
    ExplainLead,
    /// `CREATE OR REPLACE VIEW lead_score.<name>_current`, as the attachment
    /// is now: `distribute()` runs it, so a view made before its tables were
    /// distributed stops joining the (local) adjustments.
    CurrentView,
    /// Folds every pending event (deferred mode, and what sync commits left)
    /// and returns the alerts sent.
    Fold,
    /// Drops the pending events of keys that are no lead (see
    /// [`Attachment::drop_orphans_function`]).
    DropOrphans,
    /// Deletes every pending event: on Citus, before `RescoreDistributed`
    /// (which recomputes from the activities), in the same transaction.
    ClearPending,
    /// On Citus: `CREATE TABLE lead_score_internal.<name>_outbox` (see [`Placement`]).
    CitusOutbox,
    /// On Citus: moves the outbox's alerts to `lead_score.alerts` and notifies
    /// each, on the coordinator; returns how many.
    CitusRelay,
    /// In an INSERT trigger on the activities (its NEW TABLE is `new_rows`):
    /// recomputes the inserted rows' leads.
    RecomputeInserted,
    /// In a `sync` writer's `PREPARE TRANSACTION`, which leaves its events
    /// pending: records the leads of the pending rows (markers and events) at
    /// ctids $1 ([`Attachment::stale_table`]).
    RecordStale,
    /// [`Query::RecordStale`] for every pending row (a transaction that
    /// appended too many rows to track them by ctid).
    RecordStaleAll,
    /// What waits in the pending table, for `lead_score.pending_summary()`:
    /// the events, the leads they belong to, and the leads with a recompute
    /// marker. One scan of the pending table.
    PendingSummary,
    /// The inserting transactions (`xmin`) of the pending rows (events and
    /// markers) of the leads keyed `$1` that have a score row: what their
    /// score rows do not count yet. A `REPEATABLE READ` fold reads them with
    /// the latest snapshot and checks each against its own, to find those
    /// written since it began (`_pending_since_snapshot`).
    PendingOf,
}

impl Query {
    pub fn parse(name: &str) -> Option<Query> {
        Some(match name {
            "count_leads" => Query::CountLeads,
            "prune" => Query::Prune,
            "rescore" => Query::Rescore,
            "rescore_distributed" => Query::RescoreDistributed,
            "rescore_alerts" => Query::RescoreAlerts,
            "rebase" => Query::Rebase,
            "time_crossings" => Query::TimeCrossings,
            "refresh_bounds" => Query::RefreshBounds,
            "time_crossings_distributed" => Query::TimeCrossingsDistributed,
            "rebase_distributed" => Query::RebaseDistributed,
            "check" => Query::Check,
            "top_leads" => Query::TopLeads,
            "top_leads_all" => Query::TopLeadsAll,
            "current_score" => Query::CurrentScore,
            "current_score_text" => Query::CurrentScoreText,
            "timeline" => Query::Timeline,
            "key_of_text" => Query::KeyOfText,
            "current_scores" => Query::CurrentScoresV010,
            "account_explain" => Query::AccountExplain,
            "record_history" => Query::RecordHistory,
            "backfill_history" => Query::BackfillHistory,
            "record_history_lead" => Query::RecordHistoryLead,
            "lead_key_text" => Query::LeadKeyText,
            "explain_lead" => Query::ExplainLead,
            "current_view" => Query::CurrentView,
            "fold" => Query::Fold,
            "drop_orphans" => Query::DropOrphans,
            "clear_pending" => Query::ClearPending,
            "citus_outbox" => Query::CitusOutbox,
            "citus_relay" => Query::CitusRelay,
            "recompute_inserted" => Query::RecomputeInserted,
            "pending_summary" => Query::PendingSummary,
            "record_stale" => Query::RecordStale,
            "record_stale_all" => Query::RecordStaleAll,
            "pending_of" => Query::PendingOf,
            _ => return None,
        })
    }
}

impl Attachment {
    /// The SQL of a run-time query (see [`Query`]).
    pub fn query(&self, q: Query) -> String {
        match q {
            Query::CountLeads => format!("SELECT pg_catalog.count(*) FROM {}", self.leads.to_sql()),
            Query::Prune => format!(
                "DELETE FROM {} s WHERE NOT EXISTS (SELECT 1 FROM {} l WHERE {} = s.lead_key)",
                self.scores(),
                self.leads.to_sql(),
                self.lead_key.of("l")
            ),
            Query::Rescore => self.rescore_query(),
            Query::RescoreDistributed => self.rescore_distributed_query(),
            Query::RescoreAlerts => format!(
                // Every row the rescore wrote: at $3, or at a later write's
                // time it kept (`GREATEST($3, s.updated_at)` in `Rescore`).
                "SELECT {} FROM {} s WHERE s.last_alerts IS NOT NULL AND s.updated_at >= $3",
                emit_alerts("$1", "$2", "s", self.lead_key.text),
                self.scores()
            ),
            // Only the states not at $1 yet: rescore() computes every state
            // at a due landmark before moving it, so none is written twice.
            Query::Rebase => format!(
                "UPDATE {} SET state = lead_score_internal._live_rebase(state, $1) \
                 WHERE state IS DISTINCT FROM lead_score_internal._live_rebase(state, $1)",
                self.scores()
            ),
            Query::TimeCrossings => self.time_crossings_query(),
            Query::RefreshBounds => self.refresh_bounds_query(),
            Query::TimeCrossingsDistributed => self.time_crossings_distributed_query(),
            Query::RebaseDistributed => self.rebase_distributed_query(),
            Query::Check => self.check_query(),
            Query::TopLeads => self.top_leads_query(),
            Query::TopLeadsAll => self.top_leads_all_query(),
            Query::CurrentScore => self.current_score_query("$1"),
            Query::Timeline => self.timeline_query(),
            Query::KeyOfText => key_of_text_query(self.lead_key.text, &self.key_type),
            Query::CurrentScoresV010 => format!(
                "SELECT $1, $2, {}, c.fit, c.engagement, c.total, c.grade, c.label, c.quadrant, c.mql, c.disqualified, c.categories, c.hot_categories, c.last_activity, c.model_version, c.probability, c.predictive_score, c.top_features FROM {} c",
                text_of("c.lead_key", self.lead_key.text),
                ours(&names::current(&self.name))
            ),
            Query::AccountExplain => self.account_explain().unwrap_or_else(|| {
                "SELECT NULL::text AS lead_key, NULL::float8 AS fit, NULL::float8 AS engagement, NULL::boolean AS disqualified, NULL::text AS disqualified_by, NULL::boolean AS engaged WHERE false".to_string()
            }),
            Query::RecordHistory => self.record_history_query(),
            Query::BackfillHistory => self.backfill_history_query(),
            Query::RecordHistoryLead => self.record_history_lead_query(),
            Query::LeadKeyText => format!(
                "SELECT {} FROM {} c WHERE c.lead_key = {}",
                text_of("c.lead_key", self.lead_key.text),
                ours(&names::current(&self.name)),
                self.key_of_text("$1")
            ),
            Query::ExplainLead => self.explain_lead_query(),
            Query::CurrentView => {
                self.current_view()
                    .sql
                    .replacen("CREATE VIEW", "CREATE OR REPLACE VIEW", 1)
            }
            Query::CurrentScoreText => self.current_score_query(&self.key_of_text("$1")),
            Query::Fold => format!("SELECT {}()", self.fold_fn()),
            Query::DropOrphans => format!("SELECT {}()", self.drop_orphans_fn()),
            Query::ClearPending => format!("DELETE FROM {}", self.pending()),
            Query::RecordStale => self.record_stale("p.ctid = ANY ($1)"),
            Query::RecordStaleAll => self.record_stale("true"),
            // No index on the pending table: one scan, keys hashed. (A key with
            // no score row is a lead being created: counted from the activity
            // table, `_owner_states`.)
            Query::PendingOf => format!(
                "SELECT p.xmin FROM {} p WHERE p.lead_key IN (SELECT pg_catalog.unnest($1)) AND EXISTS (SELECT 1 FROM {} s WHERE s.lead_key = p.lead_key)",
                self.pending(),
                self.scores()
            ),
            // A marker is the one pending row with no time (an event with no
            // time is never appended: it counts nowhere).
            Query::PendingSummary => format!(
                "SELECT pg_catalog.count(*) FILTER (WHERE p.occurred_at IS NOT NULL), pg_catalog.count(DISTINCT p.lead_key), pg_catalog.count(DISTINCT p.lead_key) FILTER (WHERE p.occurred_at IS NULL) FROM {} p",
                self.pending()
            ),
            Query::CitusOutbox => format!(
                "CREATE TABLE {} (lead_key {} NOT NULL, attachment text NOT NULL, model text NOT NULL, kind text NOT NULL, detail text, total float8, at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp())",
                internal(&names::outbox(&self.name)),
                self.key_type()
            ),
            Query::CitusRelay => format!(
                "WITH moved AS (DELETE FROM {} o RETURNING o.*),
written AS (
    INSERT INTO lead_score.alerts AS t (attachment, model, lead_key, kind, detail, total, at)
    SELECT m.attachment, m.model, {}, m.kind, m.detail, m.total, m.at FROM moved m ORDER BY m.at
    RETURNING t.id, t.attachment)
SELECT pg_catalog.count(pg_catalog.pg_notify('lead_score_alerts', pg_catalog.json_build_object('id', w.id, 'attachment', w.attachment)::text))
FROM (SELECT * FROM written ORDER BY id) w",
                internal(&names::outbox(&self.name)),
                text_of("m.lead_key", self.lead_key.text)
            ),
            Query::RecomputeInserted => format!("SELECT {}", self.recompute_inserted()),
        }
    }

    /// What `_rescore` caps event times at: the clock it read once its locks
    /// were held ($10), as writes cap them at the clock when their trigger
    /// runs, so an event stamped during the rescoring transaction counts at its
    /// own time. On 0.1.0's catalog, whose `_rescore` passes no clock, the
    /// transaction's start ($3).
    fn rescore_cap(&self) -> &'static str {
        if self.catalog_0_1 {
            "$3"
        } else {
            "$10"
        }
    }

    /// Activity rows aliased `a` as `_live_batch` arguments, at $5/$6/$2, now
    /// $3, capped at [`Self::rescore_cap`].
    fn rescore_query(&self) -> String {
        let props = self.props_text("a");
        let cap = self.rescore_cap();
        let akey = self.activity_lead_key.of("a");
        let lkey = self.lead_key.of("l");
        let columns = score_columns();
        let first = applied_fields("a", "NULL");
        let again = applied_fields("r", "CASE WHEN $4 THEN r.alerts END");
        // Every marker goes with the pending events: so do the stale rows.
        let stale = if self.tracks_stale() {
            format!("\nstale AS (DELETE FROM {}),", self.stale())
        } else {
            String::new()
        };
        format!(
            "WITH gone AS (DELETE FROM {pending}),{stale}
fresh AS (
    SELECT {akey} AS k, lead_score_internal._live_batch($5, $6, $2, {etype}, LEAST({ta}, {cap}){props}) AS st
    FROM {activities} a WHERE lead_score_internal._progress(1, $7, $9) AND {ta} IS NOT NULL GROUP BY {akey})
INSERT INTO {scores} AS s (lead_key, fit, disqualified_by, predictive, {columns}, updated_at)
SELECT {lkey}, f.fit, f.dq, f.pr, {first}, $3
FROM {leads} l
CROSS JOIN LATERAL (SELECT lead_score.fit($1, l.*) AS fit, lead_score.disqualified_by($1, l.*) AS dq,
                           lead_score_internal._predictive_on($1, l.*) AS pr) f
LEFT JOIN fresh ON fresh.k = {lkey}
CROSS JOIN LATERAL lead_score_internal._live_apply(NULL, coalesce(fresh.st, lead_score_internal._live_empty($5, $6, $2)),
                                          f.fit, f.dq, NULL, NULL, NULL, $2, $3, true) a
WHERE {lkey} IS NOT NULL AND lead_score_internal._progress(2, $8, $9)
ORDER BY {lkey}
ON CONFLICT (lead_key) DO UPDATE SET (fit, disqualified_by, predictive) = (EXCLUDED.fit, EXCLUDED.disqualified_by, EXCLUDED.predictive),
    ({columns}, updated_at) =
    (SELECT {again}, GREATEST($3, s.updated_at)
     FROM lead_score_internal._live_apply(s.state, EXCLUDED.state, EXCLUDED.fit, EXCLUDED.disqualified_by,
                                 s.mql, s.quadrant, s.hot_categories, $2, GREATEST($3, s.updated_at), true) r)",
            pending = self.pending(),
            etype = self.event_type.text_of("a"),
            ta = self.time_of("a"),
            activities = self.activities.to_sql(),
            scores = self.scores(),
            columns = columns,
            first = first,
            leads = self.leads.to_sql(),
            again = again,
        )
    }

    /// See [`Query::RescoreDistributed`]. `a` is the lead's fresh row, as
    /// `Rescore` inserts it; `r` applies it to the stored row `o`, as
    /// `Rescore`'s `ON CONFLICT` branch does, when there is one.
    fn rescore_distributed_query(&self) -> String {
        let props = self.props_text("a");
        let cap = self.rescore_cap();
        let akey = self.activity_lead_key.of("a");
        let lkey = self.lead_key.of("l");
        let columns = score_columns();
        let chosen = APPLIED
            .iter()
            .map(|(f, _, _)| {
                if *f == "alerts" {
                    "CASE WHEN $4 AND o.lead_key IS NOT NULL THEN r.alerts END".to_string()
                } else {
                    format!("CASE WHEN o.lead_key IS NULL THEN a.{f} ELSE r.{f} END")
                }
            })
            .collect::<Vec<_>>()
            .join(
                ",
       ",
            );
        let excluded = APPLIED
            .iter()
            .map(|(_, _, c)| format!("EXCLUDED.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "INSERT INTO {scores} AS s (lead_key, fit, disqualified_by, predictive, {columns}, updated_at)
SELECT f.k, f.fit, f.dq, f.pr,
       {chosen}, GREATEST($3, o.updated_at)
FROM (SELECT {lkey} AS k, lead_score.fit($1, l.*) AS fit, lead_score.disqualified_by($1, l.*) AS dq,
             lead_score_internal._predictive_on($1, l.*) AS pr
      FROM {leads} l WHERE {lkey} IS NOT NULL) f
LEFT JOIN (
    SELECT {akey} AS k, lead_score_internal._live_batch($5, $6, $2, {etype}, LEAST({ta}, {cap}){props}) AS st
    FROM {activities} a WHERE {ta} IS NOT NULL GROUP BY {akey}) fresh ON fresh.k = f.k
CROSS JOIN LATERAL lead_score_internal._live_apply(NULL, coalesce(fresh.st, lead_score_internal._live_empty($5, $6, $2)),
                                          f.fit, f.dq, NULL, NULL, NULL, $2, $3, true) a
LEFT JOIN {scores} o ON o.lead_key = f.k
LEFT JOIN LATERAL lead_score_internal._live_apply(o.state, a.state, f.fit, f.dq,
                                         o.mql, o.quadrant, o.hot_categories, $2, GREATEST($3, o.updated_at), true) r ON o.lead_key IS NOT NULL
ON CONFLICT (lead_key) DO UPDATE SET (fit, disqualified_by, predictive, {columns}, updated_at) =
    (EXCLUDED.fit, EXCLUDED.disqualified_by, EXCLUDED.predictive, {excluded}, EXCLUDED.updated_at)",
            scores = self.scores(),
            etype = self.event_type.text_of("a"),
            ta = self.time_of("a"),
            activities = self.activities.to_sql(),
            leads = self.leads.to_sql(),
        )
    }

    /// See [`Query::RecordHistory`]. Reads the current view (at
    /// `scoring_time()`, which the caller pins to now).
    fn record_history_query(&self) -> String {
        self.history_query(
            format!("cur AS (\n    {})", self.current_rows("")),
            !self.catalog_0_1,
        )
    }

    /// Each lead's current score and adjustment, `lead_key` as text, from the
    /// current view aliased `c`, with a `WHERE` clause (or none).
    fn current_rows(&self, filter: &str) -> String {
        format!(
            "SELECT {key} AS lead_key, {fields}, {adjustment} AS adjustment FROM {current} c{filter}",
            adjustment = if self.adjustments {
                "c.adjustment"
            } else {
                "NULL::pg_catalog.float8"
            },
            key = text_of("c.lead_key", self.lead_key.text),
            fields = SCORE
                .iter()
                .map(|(f, _, _)| format!("c.{f}"))
                .collect::<Vec<_>>()
                .join(", "),
            current = ours(&names::current(&self.name)),
        )
    }

    /// See [`Query::BackfillHistory`]: every lead scored through the
    /// aggregates as of `$2` (the caller sets `lead_score.as_of` to it).
    fn backfill_history_query(&self) -> String {
        let lkey = self.lead_key.of("l");
        let akey = self.activity_lead_key.of("a");
        let ta = self.time_of("a");
        self.history_query(
            format!(
                "fresh AS (
    SELECT {akey} AS k, lead_score.engagement_state($3, {etype}, {ta}{props}) AS st
    FROM {activities} a WHERE {ta} <= $2 GROUP BY {akey}),
cur AS (
    SELECT {key} AS lead_key, {fields}, NULL::pg_catalog.float8 AS adjustment
    FROM {leads} l LEFT JOIN fresh ON fresh.k = {lkey}
    CROSS JOIN LATERAL lead_score.score($3, l.*, fresh.st) x
    WHERE {lkey} IS NOT NULL)",
                etype = self.event_type.text_of("a"),
                props = self.props_text("a"),
                activities = self.activities.to_sql(),
                key = text_of(&lkey, self.lead_key.text),
                fields = SCORE
                    .iter()
                    .map(|(f, _, _)| format!("x.{f}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                leads = self.leads.to_sql(),
            ),
            false,
        )
    }

    /// The history step over `cur` (each lead's score, `lead_key` as text):
    /// a row for each lead whose classification changed, its head moved, the
    /// heads of keys that are no lead any more (deleted or re-keyed leads)
    /// dropped, and the leads per class for the day of `$2`. Returns the rows
    /// added. Its callers turn nested loops off, so the anti-join hashes `cur`.
    ///
    /// With `supersede`, a lead's row of this same time, which this
    /// transaction wrote before (an earlier check, or a manual adjustment made
    /// or ended), gives way to the lead's new row, as the adjustments' rows
    /// give way ([`Self::record_history_lead_query`]'s caller): rows of one
    /// time cannot be ordered, and a query for the lead's latest row could
    /// read either. Gated on such rows being possible (the attachment's last
    /// check, or one of its adjustments, at `$2`), so a check scans no
    /// history otherwise. Not on 0.1.0's catalog, which has no adjustments.
    fn history_query(&self, cur: String, supersede: bool) -> String {
        let superseded = if supersede {
            "
superseded AS (
    DELETE FROM lead_score.score_history s USING changed c
    WHERE (EXISTS (SELECT 1 FROM lead_score.history_settings t WHERE t.attachment = $1 AND t.recorded_at = $2)
           OR EXISTS (SELECT 1 FROM lead_score.adjustments j
                      WHERE j.attachment = $1 AND (j.created_at = $2 OR (j.ended_by IS NOT NULL AND j.expires_at = $2))))
      AND s.attachment = $1 AND s.lead_key = c.lead_key AND s.recorded_at = $2),"
        } else {
            ""
        };
        format!(
            "WITH {cur},
gone AS (
    DELETE FROM lead_score_internal._history_heads h
    WHERE h.attachment = $1 AND NOT EXISTS (SELECT 1 FROM cur WHERE cur.lead_key = h.lead_key)),
changed AS (
    SELECT cur.* FROM cur
    LEFT JOIN lead_score_internal._history_heads h ON h.attachment = $1 AND h.lead_key = cur.lead_key
    WHERE h.lead_key IS NULL
       OR (h.grade, h.label, h.quadrant, h.mql, h.disqualified)
          IS DISTINCT FROM (cur.grade, cur.label, cur.quadrant, cur.mql, cur.disqualified)),
heads AS (
    {heads}),{superseded}
-- One hashed pass over cur for the four dimensions (GROUPING: the set's bit
-- is 0, the others' 1, first argument highest).
counts AS (
    INSERT INTO lead_score.class_counts (attachment, day, dimension, class, leads)
    SELECT $1, pg_catalog.timezone('UTC', $2)::pg_catalog.date,
           CASE GROUPING(c.grade, c.label, c.quadrant, c.mql)
               WHEN 7 THEN 'grade' WHEN 11 THEN 'label' WHEN 13 THEN 'quadrant' ELSE 'mql' END,
           CASE GROUPING(c.grade, c.label, c.quadrant, c.mql)
               WHEN 7 THEN c.grade WHEN 11 THEN c.label WHEN 13 THEN c.quadrant ELSE c.mql END,
           pg_catalog.count(*)
    FROM (SELECT cur.grade, cur.label, cur.quadrant, CASE WHEN cur.mql THEN 'MQL' ELSE 'not MQL' END AS mql
          FROM cur) c
    GROUP BY GROUPING SETS ((c.grade), (c.label), (c.quadrant), (c.mql))),
ins AS (
    {history_insert}
    FROM changed c
    RETURNING 1)
SELECT pg_catalog.count(*) FROM ins",
            heads = heads_upsert("changed"),
            history_insert = history_insert(self.adjustments),
        )
    }

    /// See [`Query::RecordHistoryLead`].
    fn record_history_lead_query(&self) -> String {
        format!(
            "WITH c AS (
    {rows}),
heads AS (
    {heads}),
ins AS (
    {history_insert}
    FROM c c
    RETURNING 1)
SELECT pg_catalog.count(*) FROM ins",
            rows = self.current_rows(&format!(" WHERE c.lead_key = {}", self.key_of_text("$3"))),
            heads = heads_upsert("c"),
            history_insert = history_insert(self.adjustments),
        )
    }

    /// See [`Query::ExplainLead`]. The activities after `scoring_time()` are
    /// left out, so a read as of a past date explains that date.
    fn explain_lead_query(&self) -> String {
        let ta = self.time_of("a");
        format!(
            "SELECT x.* FROM {leads} l
LEFT JOIN LATERAL (
    SELECT lead_score.engagement_state($1, {etype}, {ta}{props}) AS st
    FROM {activities} a WHERE {akey} = {lkey} AND {ta} <= lead_score.scoring_time()) e ON true
CROSS JOIN LATERAL lead_score.explain($1, l.*, e.st) x
WHERE {lkey} = {key}",
            key = self.key_of_text("$2"),
            leads = self.leads.to_sql(),
            etype = self.event_type.text_of("a"),
            props = self.props_text("a"),
            activities = self.activities.to_sql(),
            akey = self.activity_lead_key.of("a"),
            lkey = self.lead_key.of("l"),
        )
    }

    /// See [`Query::Timeline`].
    fn timeline_query(&self) -> String {
        let props: Vec<String> = self.properties.iter().map(|p| p.text_of("a")).collect();
        let array = if props.is_empty() {
            "NULL::pg_catalog.text[]".to_string()
        } else {
            format!("ARRAY[{}]::pg_catalog.text[]", props.join(", "))
        };
        format!(
            "SELECT {ta}::pg_catalog.timestamptz AS occurred_at, {etype} AS event_type, {array} AS properties,
       e.rules, e.points
FROM {activities} a
CROSS JOIN LATERAL lead_score_internal._event_points($1, {etype}, {ta}::pg_catalog.timestamptz, {array}) e
WHERE {akey} = {key}
ORDER BY {ta} DESC",
            ta = self.time_of("a"),
            etype = self.event_type.text_of("a"),
            activities = self.activities.to_sql(),
            akey = self.activity_lead_key.of("a"),
            key = self.key_of_text("$2"),
        )
    }

    /// A lead that still has pending events is classified by the fold that
    /// takes them. See [`Query::TimeCrossingsDistributed`]. Citus refuses
    /// non-immutable functions of columns in a multi-shard `UPDATE`, but not
    /// in the `SELECT` of an `INSERT … ON CONFLICT DO UPDATE` whose `SET` only
    /// copies. The row's `updated_at` as read travels in
    /// `EXCLUDED.updated_at`: a row a writer changed meanwhile is left for the
    /// next tick, and a row written at or after `$1` is classified there
    /// already (see [`Self::time_crossings_query`]). Rows writers hold are waited for, not skipped (Citus refuses
    /// `SKIP LOCKED` over many shards), so each shard's rows are taken in key
    /// order, as writers lock them: a writer of several leads of a shard and
    /// this statement then wait for each other without a deadlock.
    fn time_crossings_distributed_query(&self) -> String {
        let crossed = self.crossed(false);
        let columns = score_columns();
        let excluded = APPLIED
            .iter()
            .map(|(_, _, c)| format!("EXCLUDED.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "WITH up AS (
    INSERT INTO {scores} AS t (lead_key, fit, disqualified_by, predictive, {columns}, updated_at)
    SELECT s.lead_key, s.fit, s.disqualified_by, s.predictive, {fields}, s.updated_at
    FROM {scores} s{crossed_join}
    CROSS JOIN LATERAL lead_score_internal._live_apply(s.state, NULL, s.fit, s.disqualified_by, s.mql, s.quadrant, s.hot_categories, $2, $1, false) a
    WHERE s.updated_at < $1 AND {crossed}
      AND NOT EXISTS (SELECT 1 FROM {pending} p WHERE p.lead_key = s.lead_key)
    ORDER BY s.lead_key
    ON CONFLICT (lead_key) DO UPDATE SET ({columns}, updated_at) = ({excluded}, $1)
    WHERE t.updated_at IS NOT DISTINCT FROM EXCLUDED.updated_at
    RETURNING t.lead_key, t.total, t.last_alerts)
SELECT {emit}
FROM up u WHERE u.last_alerts IS NOT NULL",
            scores = self.scores(),
            pending = self.pending(),
            fields = applied_fields("a", "a.alerts"),
            emit = emit_alerts("$3", "$4", "u", self.lead_key.text),
            crossed_join = crossed.0,
            crossed = crossed.1,
        )
    }

    /// `Rebase` for leads distributed by Citus (see
    /// [`Query::TimeCrossingsDistributed`] for the form).
    fn rebase_distributed_query(&self) -> String {
        format!(
            "INSERT INTO {scores} AS t (lead_key, fit, disqualified_by, predictive, state, bound)
SELECT s.lead_key, s.fit, s.disqualified_by, s.predictive, lead_score_internal._live_rebase(s.state, $1), s.bound FROM {scores} s
WHERE s.state IS DISTINCT FROM lead_score_internal._live_rebase(s.state, $1)
ON CONFLICT (lead_key) DO UPDATE SET state = EXCLUDED.state",
            scores = self.scores(),
        )
    }

    /// Every row is classified at `$1` (`_live_crossed`: the classification
    /// only, no whole score), but for those time cannot move, and only the
    /// rows that crossed are then looked up, locked and rewritten, by key: so
    /// a tick where nothing crossed costs one scan of the score table, and no
    /// join of it. A row written at or after `$1` (by a writer that began
    /// after this `tick()` and committed first) is classified there already,
    /// and is left alone, as in [`Query::TimeCrossingsDistributed`]: classified
    /// again at `$1` it would go back to a class its write had left.
    fn time_crossings_query(&self) -> String {
        let crossed = self.crossed(true);
        format!(
            "WITH due AS (
    SELECT s.lead_key FROM {scores} s{crossed_join}
    WHERE s.updated_at < $1 AND {crossed}
      AND NOT EXISTS (SELECT 1 FROM {pending} p WHERE p.lead_key = s.lead_key)
    ORDER BY s.lead_key FOR UPDATE OF s SKIP LOCKED),
up AS (
    UPDATE {scores} s SET {set}
    WHERE s.lead_key = ANY (ARRAY(SELECT due.lead_key FROM due))
    RETURNING s.lead_key, s.total, s.last_alerts)
SELECT {emit}
FROM up u WHERE u.last_alerts IS NOT NULL",
            scores = self.scores(),
            pending = self.pending(),
            set = set_applied(
                "lead_score_internal._live_apply(s.state, NULL, s.fit, s.disqualified_by, s.mql, s.quadrant, s.hot_categories, $2, $1, false)",
                "$1"
            ),
            emit = emit_alerts("$3", "$4", "u", self.lead_key.text),
            crossed_join = crossed.0,
            crossed = crossed.1,
        )
    }

    /// See [`Query::RefreshBounds`]. The first rows of the bound index are
    /// read by key, those whose bound is stale at `$1` (above what their fit
    /// and state give a read from [`crate::live::BOUND_VALID_BEFORE_US`] before
    /// `$1` on, as `_live_apply` sets it, by more than
    /// [`crate::live::BOUND_STALE_MARGIN`]) are locked in key order, skipping
    /// those writers hold and those with pending events (the fold's), and
    /// their bound alone is set: their scores do not change. The fresh bound
    /// is computed once per row read (`f`, kept apart by OFFSET 0), and again
    /// for the rows it lowers.
    fn refresh_bounds_query(&self) -> String {
        let margin = format!(
            "{}::pg_catalog.float8",
            literal(&crate::live::BOUND_STALE_MARGIN.to_string())
        );
        let fresh = format!(
            "(coalesce(s.fit, 0::pg_catalog.float8) + lead_score_internal._live_bound(s.state, $1 - {}::pg_catalog.interval))",
            literal(&format!("{} microseconds", crate::live::BOUND_VALID_BEFORE_US))
        );
        format!(
            "WITH top AS (
    SELECT s.lead_key, s.bound FROM {scores} s WHERE s.bound <= $2 ORDER BY s.bound DESC LIMIT {rows}),
due AS (
    SELECT s.lead_key FROM {scores} s
    CROSS JOIN LATERAL (SELECT {fresh} AS bound OFFSET 0) f
    WHERE s.lead_key = ANY (ARRAY(SELECT t.lead_key FROM top t))
      AND s.bound - f.bound > {margin} * (1 + pg_catalog.abs(f.bound))
      AND NOT EXISTS (SELECT 1 FROM {pending} p WHERE p.lead_key = s.lead_key)
    ORDER BY s.lead_key FOR UPDATE OF s SKIP LOCKED),
up AS (
    UPDATE {scores} s SET bound = {fresh}
    WHERE s.lead_key = ANY (ARRAY(SELECT due.lead_key FROM due))
    RETURNING 1)
SELECT pg_catalog.count(*) >= {again}, (SELECT pg_catalog.min(t.bound) FROM top t) FROM up",
            scores = self.scores(),
            pending = self.pending(),
            rows = crate::live::BOUND_REFRESH_ROWS,
            margin = margin,
            again = crate::live::BOUND_REFRESH_AGAIN,
        )
    }

    /// `fresh`: each lead's engagement state from its activities through the
    /// aggregates ($1 the model), those after `$2` left out when `until` is set.
    fn fresh_states(&self, until: bool) -> String {
        let akey = self.activity_lead_key.of("a");
        let ta = self.time_of("a");
        format!(
            "fresh AS (
    SELECT {akey} AS k, lead_score.engagement_state($1, {etype}, {ta}{props}) AS st
    FROM {activities} a{filter} GROUP BY {akey})",
            etype = self.event_type.text_of("a"),
            props = self.props_text("a"),
            activities = self.activities.to_sql(),
            filter = if until {
                format!(" WHERE {ta} <= $2")
            } else {
                String::new()
            },
        )
    }

    /// Compares every stored score with a from-scratch recompute through the
    /// independent aggregate path (`engagement_state` and `score`): totals,
    /// every class (grade, label, quadrant, MQL), hot categories, probability.
    fn check_query(&self) -> String {
        let lkey = self.lead_key.of("l");
        format!(
            "WITH {fresh},
expected AS (
    SELECT {lkey} AS k, x.* FROM {leads} l LEFT JOIN fresh ON fresh.k = {lkey}
    CROSS JOIN LATERAL lead_score.score($1, l.*, fresh.st) x
    WHERE {lkey} IS NOT NULL),
stored AS (
    SELECT s.lead_key AS k, x.* FROM {merged} s
    CROSS JOIN LATERAL lead_score_internal._live_score(s.state, s.fit, s.disqualified_by, s.predictive, lead_score.scoring_time()) x)
SELECT {key},
       CASE WHEN s.k IS NULL THEN 'missing score'
            WHEN e.k IS NULL THEN 'score without lead'
            WHEN abs(e.total - s.total) > 1e-6 * (1 + abs(e.total)) THEN 'total differs'
            WHEN (e.grade, e.label, e.quadrant, e.mql) IS DISTINCT FROM (s.grade, s.label, s.quadrant, s.mql) THEN 'classification differs'
            WHEN e.hot_categories IS DISTINCT FROM s.hot_categories THEN 'categories differ'
            ELSE 'prediction differs' END,
       s.total, e.total
FROM expected e FULL JOIN stored s ON s.k = e.k
WHERE s.k IS NULL OR e.k IS NULL
   OR abs(e.total - s.total) > 1e-6 * (1 + abs(e.total))
   OR (e.grade, e.label, e.quadrant, e.mql) IS DISTINCT FROM (s.grade, s.label, s.quadrant, s.mql)
   OR e.hot_categories IS DISTINCT FROM s.hot_categories
   OR (e.probability IS NULL) <> (s.probability IS NULL)
   OR abs(e.probability - s.probability) > 1e-9",
            fresh = self.fresh_states(false),
            leads = self.leads.to_sql(),
            merged = internal(&names::merged(&self.name)),
            key = text_of("coalesce(e.k, s.k)", self.lead_key.text),
        )
    }

    /// One round of `top_leads`: $1 n, $2 whether disqualified leads count,
    /// $3 how many leads to take from the bound index. Returns the best $1 of
    /// the leads it ranks, by exact score (total, then key), as an array of
    /// `lead_score.top_lead`, with the bound of the next lead in the index
    /// (NULL once it has no more): when that is below the n-th total, no lead
    /// left out can enter (see `lead_score_core::live::upper_bound`).
    ///
    /// One read of the pending table bounds what each lead's events can add:
    /// the bound of their merged state alone, at the read's time (caps and
    /// repeats as they count, conditions matched, decayed; see
    /// `lead_score_core::live::upper_bound`). The first $3
    /// leads of the index and the $3 leads whose events can add the most are
    /// ranked exactly, their pending events merged; their n-th total is a
    /// floor the answer's n-th total cannot be below. (With many events
    /// pending, the best leads are often those the events lift above every
    /// stored bound; the index alone would give a floor far below the answer's,
    /// and rank most leads with pending events.) Of the other leads with
    /// pending events, only those whose bound plus what their events can add
    /// reaches the floor are ranked. The highest bound in the index, plus the
    /// largest adjustment, rules out first, without a lookup, every lead whose
    /// events cannot add enough. A manual adjustment can raise a lead past its
    /// bound, so each lead raised by one whose bound plus those points reaches
    /// the floor is ranked too. Each ranked lead is read by key, so the work
    /// grows with $3, the pending events and the adjusted leads, not with all
    /// leads.
    ///
    /// A lead with a recompute marker ([`Self::marks`]) can have any score:
    /// its marker adds no bound (infinity), so it is always ranked, recomputed
    /// from the activity table.
    fn top_leads_query(&self) -> String {
        let batch = format!(
            "lead_score_internal._live_batch(m.id, m.version, m.landmark, p.event_type, p.occurred_at{})",
            pending_props(self.properties.len(), |i| format!("p.p{i}"))
        );
        let rc = if self.marks() {
            ", pg_catalog.bool_or(p.occurred_at IS NULL) AS rc"
        } else {
            ""
        };
        // What a lead's pending events can add to its stored bound: the bound
        // of their merged state alone (lead_score_core::live::upper_bound), or
        // with a marker among them, anything. 0.1.0's catalog has no
        // `_live_bound`: there, the points of every positive rule of each
        // event's type (lead_score_core::live::event_bound), read once as two
        // arrays (`eb`), so the pending rows are never joined or sorted by type.
        let (eb, bound) = if self.catalog_0_1 {
            (
                "
-- The most an event of each type can add (0.1.0's catalog).
eb AS MATERIALIZED (
    SELECT pg_catalog.array_agg(e.event_type) AS types, pg_catalog.array_agg(e.bound) AS bounds
    FROM m CROSS JOIN LATERAL lead_score_internal._event_bounds(m.id, m.version) e),",
                "pg_catalog.sum(coalesce(((SELECT e.bounds FROM eb e))[pg_catalog.array_position((SELECT e.types FROM eb e), p.event_type)], 0))".to_string(),
            )
        } else {
            (
                "",
                format!("lead_score_internal._live_bound({batch}, lead_score.scoring_time())"),
            )
        };
        let extra = if self.marks() {
            format!("CASE WHEN pg_catalog.bool_or(p.occurred_at IS NULL) THEN 'Infinity'::pg_catalog.float8 ELSE {bound} END")
        } else {
            bound
        };
        // The pending events of the leads `keys` selects, merged per lead (and
        // whether they include a recompute marker). The test is not a
        // top-level condition (IS TRUE), so it stays a hashed lookup per row
        // rather than a join that may sort the whole pending table.
        let states = |keys: &str| {
            format!(
                "SELECT p.lead_key, {batch} AS st{rc}
    FROM {pending} p CROSS JOIN m
    WHERE (p.lead_key IN ({keys})) IS TRUE
    GROUP BY p.lead_key",
                pending = self.pending(),
            )
        };
        // A ranked lead's state (over its score row `s`) and what it needs
        // joined: `pending`'s row of the lead keyed `key`, if any, merged, or
        // where it has a marker, the lead recomputed (`recomputed`'s row).
        let state = |pending: &str, key: &str, recomputed: &str| {
            if self.marks() {
                (
                    format!(
                        " LEFT JOIN (SELECT t.k, t.st FROM {}) {recomputed} ON {recomputed}.k = {key}",
                        self.read_states_rows(&format!(
                            "ARRAY(SELECT q.lead_key FROM {pending} q WHERE q.rc ORDER BY q.lead_key)"
                        ))
                    ),
                    format!("CASE WHEN {pending}.lead_key IS NULL THEN s.state WHEN {pending}.rc THEN {recomputed}.st ELSE lead_score_internal._live_merge(s.state, {pending}.st) END"),
                )
            } else {
                (
                    String::new(),
                    format!("CASE WHEN {pending}.lead_key IS NULL THEN s.state ELSE lead_score_internal._live_merge(s.state, {pending}.st) END"),
                )
            }
        };
        let (top_rs, top_state) = state("tp", "i.lead_key", "rt");
        let (ps_rs, ps_state) = state("ps", "ps.lead_key", "rs");
        let slack = "f.t - 1e-9 * (1 + abs(f.t))";
        format!(
            "WITH m AS MATERIALIZED (
    SELECT mo.id, mo.current_version AS version, a.landmark FROM lead_score.attachments a
    JOIN lead_score.models mo ON mo.name = a.model WHERE a.name = {name}),
-- Each lead's manual adjustments now: a lead they raise can pass its bound.
adj AS MATERIALIZED ({adj}),{eb}
idx AS MATERIALIZED (
    SELECT s.lead_key, s.bound FROM {scores} s WHERE $2 OR s.disqualified_by IS NULL
    ORDER BY s.bound DESC LIMIT $3 + 1),
-- One read of the pending table: what each lead's events can add.
pb AS MATERIALIZED (
    SELECT p.lead_key, {extra} AS extra
    FROM {pending} p CROSS JOIN m GROUP BY p.lead_key),
-- Ranked first: the first leads of the index, and the leads whose events can
-- add the most.
top AS MATERIALIZED (
    SELECT i.lead_key FROM (SELECT idx.lead_key FROM idx ORDER BY idx.bound DESC LIMIT $3) i
    UNION
    SELECT q.lead_key FROM (SELECT pb.lead_key FROM pb ORDER BY pb.extra DESC LIMIT $3) q),
tp AS MATERIALIZED ({top_pending}),
stored AS MATERIALIZED (
    SELECT i.lead_key, x.total, x.fit, x.engagement, x.grade, x.label, x.quadrant, x.mql, x.disqualified
    FROM top i
    LEFT JOIN tp ON tp.lead_key = i.lead_key{top_rs}
    LEFT JOIN adj ON adj.lead_key = {ikey}
    -- OFFSET 0 keeps this a lookup by key per lead rather than a join over all leads.
    {stored_score}
    WHERE $2 OR NOT x.disqualified),
floor AS (
    SELECT coalesce((SELECT st.total FROM stored st ORDER BY st.total DESC OFFSET $1 - 1 LIMIT 1),
                    '-Infinity'::pg_catalog.float8) AS t),
-- The most a lead's stored bound and adjustment can be.
most AS (
    SELECT coalesce((SELECT pg_catalog.max(i.bound) FROM idx i), '-Infinity'::pg_catalog.float8)
           + coalesce((SELECT pg_catalog.max(adj.points) FROM adj WHERE adj.points > 0), 0::pg_catalog.float8) AS b),
-- The other leads with pending events that can reach the floor. Those whose
-- events cannot add enough even to the highest bound are left out before any
-- lookup (OFFSET 0).
pc AS (
    SELECT q.lead_key FROM (
        SELECT pb.lead_key, pb.extra FROM pb CROSS JOIN floor f CROSS JOIN most b
        WHERE b.b + pb.extra >= {slack}
          AND pb.lead_key NOT IN (SELECT t.lead_key FROM top t)
        OFFSET 0) q
    CROSS JOIN LATERAL (SELECT s.bound, s.disqualified_by FROM {scores} s
                        WHERE s.lead_key = q.lead_key OFFSET 0) s
    CROSS JOIN floor f
    LEFT JOIN adj ON adj.lead_key = {qkey}
    WHERE ($2 OR s.disqualified_by IS NULL)
      AND s.bound + q.extra + GREATEST(coalesce(adj.points, 0::pg_catalog.float8), 0::pg_catalog.float8)
          >= {slack}),
-- Leads outside those ranked, with no pending events, that adjustments can
-- raise to the floor: ranked too.
ac AS (
    SELECT s.lead_key, adj.points FROM adj
    CROSS JOIN LATERAL (SELECT s.lead_key, s.bound, s.disqualified_by FROM {scores} s
                        WHERE s.lead_key = {adj_key} OFFSET 0) s
    CROSS JOIN floor f
    WHERE adj.points > 0 AND ($2 OR s.disqualified_by IS NULL)
      AND s.bound + adj.points >= {slack}
      AND NOT EXISTS (SELECT 1 FROM pb WHERE pb.lead_key = s.lead_key)
      AND NOT EXISTS (SELECT 1 FROM top t WHERE t.lead_key = s.lead_key)),
raised AS (
    SELECT ac.lead_key, x.total, x.fit, x.engagement, x.grade, x.label, x.quadrant, x.mql, x.disqualified
    FROM ac
    {raised_score}
    WHERE $2 OR NOT x.disqualified),
ps AS MATERIALIZED ({pc_pending}),
merged AS (
    SELECT ps.lead_key, x.total, x.fit, x.engagement, x.grade, x.label, x.quadrant, x.mql, x.disqualified
    FROM ps{ps_rs}
    LEFT JOIN adj ON adj.lead_key = {pskey}
    {merged_score}
    WHERE $2 OR NOT x.disqualified),
ranked AS (
    SELECT * FROM (SELECT * FROM stored UNION ALL SELECT * FROM merged UNION ALL SELECT * FROM raised) r
    ORDER BY r.total DESC, r.lead_key LIMIT $1)
SELECT ARRAY(SELECT ROW({key}, r.total, r.fit, r.engagement, r.grade, r.label, r.quadrant, r.mql, r.disqualified)::{top_lead}
             FROM ranked r ORDER BY r.total DESC, r.lead_key),
       (SELECT i.bound FROM idx i ORDER BY i.bound DESC OFFSET $3 LIMIT 1)",
            name = literal(&self.name),
            pending = self.pending(),
            scores = self.scores(),
            top_pending = states("SELECT t.lead_key FROM top t"),
            pc_pending = states("SELECT pc.lead_key FROM pc"),
            key = text_of("r.lead_key", self.lead_key.text),
            top_lead = ours("top_lead"),
            adj = self.adjustments_now(),
            stored_score = self.score_by_key("i.lead_key", &top_state, "coalesce(adj.points, 0::pg_catalog.float8)"),
            merged_score = self.score_by_key(
                "ps.lead_key",
                &ps_state,
                "coalesce(adj.points, 0::pg_catalog.float8)"
            ),
            raised_score = self.score_by_key("ac.lead_key", "s.state", "ac.points"),
            adj_key = self.key_of_text("adj.lead_key"),
            ikey = text_of("i.lead_key", self.lead_key.text),
            qkey = text_of("q.lead_key", self.lead_key.text),
            pskey = text_of("ps.lead_key", self.lead_key.text),
        )
    }

    /// One lead's current score: the current view's row of the lead whose key
    /// is `key` (of the key's type). Through the view, so a reader locks it
    /// before the relations under it, in the order `detach` drops them.
    fn current_score_query(&self, key: &str) -> String {
        current_score_query(&self.name, key)
    }

    /// A lead key given as text (`expr`), read as the key's type
    /// ([`key_of_text`]).
    fn key_of_text(&self, expr: &str) -> String {
        key_of_text(self.lead_key.text, &self.key_type, expr)
    }

    /// For `top_leads`: the score row of the lead keyed `key`, read by key
    /// (OFFSET 0 keeps it a lookup per lead rather than a join over all leads)
    /// as `s`, and its score `x` from `state` (over `s`) with `points` added to
    /// its fit.
    fn score_by_key(&self, key: &str, state: &str, points: &str) -> String {
        format!(
            "CROSS JOIN LATERAL (SELECT s.state, s.fit, s.disqualified_by, s.predictive FROM {} s
                        WHERE s.lead_key = {key} OFFSET 0) s
    CROSS JOIN LATERAL lead_score_internal._live_score({state}, s.fit + {points}, s.disqualified_by, s.predictive, lead_score.scoring_time()) x",
            self.scores()
        )
    }

    /// Each adjusted lead's adjustments at `scoring_time()` (lead_key as text,
    /// points): see [`adjustment_points`]. None on Citus.
    fn adjustments_now(&self) -> String {
        if !self.adjustments {
            return "SELECT NULL::pg_catalog.text AS lead_key, NULL::pg_catalog.float8 AS points WHERE false".to_string();
        }
        format!(
            "SELECT j.lead_key, {} AS points FROM lead_score_internal._adjustment_sums j WHERE j.attachment = {}",
            adjustment_points("j"),
            literal(&self.name)
        )
    }

    /// Every lead with a known outcome that was still open at the cut-off (and,
    /// when the link names the leads' creation column, already created), scored
    /// as of it from the tables with the aggregates: the model's current
    /// version, fit from the lead's current attributes, engagement from the
    /// activities up to the cut-off only. $1 the model, $2 the cut-off; the
    /// caller sets `lead_score.as_of` to it, so decay is measured to it. Rows:
    /// lead_key (text), won, total, grade, label, quadrant, mql, disqualified.
    pub fn evaluation_rows(&self, outcomes: &super::learn::Outcomes) -> String {
        let lkey = self.lead_key.of("l");
        format!(
            "WITH {fresh},
outcome AS ({per_lead})
SELECT {key} AS lead_key, oc.won, x.total, x.grade, x.label, x.quadrant, x.mql, x.disqualified
FROM {leads} l
JOIN outcome oc ON oc.k = {lkey}
LEFT JOIN fresh ON fresh.k = {lkey}
CROSS JOIN LATERAL lead_score.score($1, l.*, fresh.st) x
WHERE (oc.closed_at IS NULL OR oc.closed_at >= $2){created}",
            created = match &outcomes.lead_created_at {
                // A lead created after the cut-off did not exist then.
                Some(c) => format!(" AND (l.{})::pg_catalog.timestamptz <= $2", ident(c)),
                None => String::new(),
            },
            fresh = self.fresh_states(true),
            leads = self.leads.to_sql(),
            per_lead = outcomes.per_lead(&self.key_type()),
            key = text_of(&lkey, self.lead_key.text),
        )
    }

    /// `backtest` in one pass: every lead with a known outcome, scored as of
    /// the cut-off `$2` by each of `versions` model names (`$1`, a text[] of
    /// `name@N`), with one scan of the leads, outcomes and activities. One
    /// row: `won boolean[]` and `totals float8[]` (lead × version), each
    /// array in the same lead order, as one aggregate node fills them.
    pub fn backtest_arrays(&self, outcomes: &super::learn::Outcomes, versions: usize) -> String {
        let lkey = self.lead_key.of("l");
        let akey = self.activity_lead_key.of("a");
        let ta = self.time_of("a");
        let etype = self.event_type.text_of("a");
        let props = self.props_text("a");
        let states: Vec<String> = (1..=versions)
            .map(|i| format!("lead_score.engagement_state($1[{i}], {etype}, {ta}{props}) AS st{i}"))
            .collect();
        let totals: Vec<String> = (1..=versions)
            .map(|i| format!("(lead_score.score($1[{i}], l.*, fresh.st{i})).total"))
            .collect();
        format!(
            "WITH fresh AS (
    SELECT {akey} AS k, {states}
    FROM {activities} a WHERE {ta} <= $2 GROUP BY {akey}),
outcome AS ({per_lead})
SELECT pg_catalog.array_agg(r.won), pg_catalog.array_agg(r.totals)
FROM (SELECT oc.won, ARRAY[{totals}] AS totals
      FROM {leads} l
      JOIN outcome oc ON oc.k = {lkey}
      LEFT JOIN fresh ON fresh.k = {lkey}
      WHERE (oc.closed_at IS NULL OR oc.closed_at >= $2){created}) r",
            states = states.join(",\n           "),
            totals = totals.join(", "),
            activities = self.activities.to_sql(),
            leads = self.leads.to_sql(),
            per_lead = outcomes.per_lead(&self.key_type()),
            created = match &outcomes.lead_created_at {
                Some(c) => format!(" AND (l.{})::pg_catalog.timestamptz <= $2", ident(c)),
                None => String::new(),
            },
        )
    }

    /// As [`Attachment::evaluation_rows`], with each lead's own cut-off: its
    /// creation (the outcome link's `lead_created_at` column of the leads)
    /// plus $2 days. Engagement is the live state of the activities up to the
    /// lead's cut-off, read at it. $1 the model (`name@N`), $2 days, $3 and $4
    /// the model's id and version. Leads without a creation time are left out.
    pub fn evaluation_rows_per_lead(
        &self,
        outcomes: &super::learn::Outcomes,
        created: &str,
    ) -> String {
        let props = self.props_text("a");
        let akey = self.activity_lead_key.of("a");
        let lkey = self.lead_key.of("l");
        let lkey2 = self.lead_key.of("l2");
        let cutoff = |alias: &str| {
            format!(
                "({alias}.{})::pg_catalog.timestamptz + $2 * pg_catalog.make_interval(days => 1)",
                ident(created)
            )
        };
        format!(
            "WITH fresh AS (
    SELECT {akey} AS k, lead_score_internal._live_batch($3, $4, {cut_l2}, {etype}, {ta}{props}) AS st
    FROM {activities} a JOIN {leads} l2 ON {lkey2} = {akey}
    WHERE {ta} <= {cut_l2} GROUP BY {akey}),
outcome AS ({per_lead})
SELECT {key} AS lead_key, oc.won, x.total, x.grade, x.label, x.quadrant, x.mql, x.disqualified
FROM {leads} l
JOIN outcome oc ON oc.k = {lkey}
LEFT JOIN fresh ON fresh.k = {lkey}
CROSS JOIN LATERAL (SELECT {cut_l} AS at) c
CROSS JOIN LATERAL lead_score_internal._live_score(coalesce(fresh.st, lead_score_internal._live_empty($3, $4, c.at)),
                                          lead_score.fit($1, l.*), lead_score.disqualified_by($1, l.*),
                                          lead_score_internal._predictive_on($1, l.*), c.at) x
WHERE c.at IS NOT NULL AND (oc.closed_at IS NULL OR oc.closed_at >= c.at)",
            cut_l2 = cutoff("l2"),
            cut_l = cutoff("l"),
            etype = self.event_type.text_of("a"),
            ta = self.time_of("a"),
            activities = self.activities.to_sql(),
            leads = self.leads.to_sql(),
            per_lead = outcomes.per_lead(&self.key_type()),
            key = text_of(&lkey, self.lead_key.text),
        )
    }

    /// The rows `suggest_points` learns from: every lead with a known outcome,
    /// whether it was won, the named lead fields as text, then per event type
    /// its matching activities up to the lead's close (or now when it has
    /// none), each weighed by `decay` at its age then: the decayed events an
    /// engagement rule for that type would count.
    pub fn design_query(
        &self,
        outcomes: &super::learn::Outcomes,
        fields: &[String],
        events: &[String],
        decay: crate::model::EventDecay,
    ) -> String {
        use crate::model::EventDecay;
        let lkey = self.lead_key.of("l");
        let key = text_of(&lkey, self.lead_key.text);
        let cols: String = fields
            .iter()
            .map(|f| format!(", (l.{})::pg_catalog.text", ident(f)))
            .collect();
        if events.is_empty() {
            return format!(
                "SELECT oc.won{cols} FROM {leads} l JOIN ({per_lead}) oc ON oc.k = {lkey} ORDER BY {key}",
                leads = self.leads.to_sql(),
                per_lead = outcomes.per_lead(&self.key_type()),
            );
        }
        let etime = self.time_of("a");
        // In microseconds; an event at -infinity (or a close at infinity) is
        // infinitely old, which decays it to nothing, as the engine weighs it
        // (subtracting the infinite times raised 22008).
        let age = format!(
            "CASE WHEN {etime} = c.at THEN 0::pg_catalog.float8 \
             WHEN pg_catalog.isfinite({etime}) AND pg_catalog.isfinite(c.at) \
             THEN pg_catalog.date_part('epoch', c.at - {etime}) * 1e6 \
             ELSE 'Infinity'::pg_catalog.float8 END"
        );
        let weight = match decay {
            EventDecay::None => "1".to_string(),
            // Past 1074 half-lives the weight is under the least float8 (2^-1074),
            // where power() raises an underflow: 0, as the engine weighs it.
            EventDecay::Exponential { half_life } => format!(
                "CASE WHEN ({age}) / {half_life:?} > 1074 THEN 0::pg_catalog.float8 \
                 ELSE pg_catalog.power(2::pg_catalog.float8, -({age}) / {half_life:?}) END"
            ),
            EventDecay::Window { window } => {
                format!("CASE WHEN {age} <= {window} THEN 1 ELSE 0 END")
            }
        };
        let etype = self.event_type.text_of("a");
        let sums: Vec<String> = events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                format!(
                    "pg_catalog.sum({weight}) FILTER (WHERE {etype} = {}) AS e{i}",
                    literal(e)
                )
            })
            .collect();
        let ev_cols: String = (0..events.len())
            .map(|i| format!(", coalesce(ev.e{i}, 0)::pg_catalog.float8"))
            .collect();
        format!(
            "SELECT oc.won{cols}{ev_cols}
FROM {leads} l JOIN ({per_lead}) oc ON oc.k = {lkey}
CROSS JOIN LATERAL (SELECT coalesce(oc.closed_at, lead_score_internal._now()) AS at) c
LEFT JOIN LATERAL (
    SELECT {sums}
    FROM {activities} a WHERE {akey} = {lkey} AND {etime} <= c.at) ev ON true
ORDER BY {key}",
            leads = self.leads.to_sql(),
            per_lead = outcomes.per_lead(&self.key_type()),
            sums = sums.join(",\n           "),
            activities = self.activities.to_sql(),
            akey = self.activity_lead_key.of("a"),
        )
    }

    /// `top_leads` by a full sort of the current scores, for reads the stored
    /// bounds do not cover (`lead_score.as_of` in the past, a long transaction):
    /// $1 n, $2 whether disqualified leads count.
    fn top_leads_all_query(&self) -> String {
        let a = self.adjusted("s");
        format!(
            "SELECT {key}, x.total, x.fit, x.engagement, x.grade, x.label, x.quadrant, x.mql, x.disqualified
FROM {merged} s{join}
CROSS JOIN LATERAL lead_score_internal._live_score(s.state, {fit}, s.disqualified_by, s.predictive, lead_score.scoring_time()) x
WHERE $2 OR NOT x.disqualified
ORDER BY x.total DESC, s.lead_key LIMIT $1",
            key = text_of("s.lead_key", self.lead_key.text),
            merged = internal(&names::merged(&self.name)),
            join = a.join,
            fit = a.fit,
        )
    }
}

impl Attachment {
    /// The one read of the user's activity table the triggers make: the events
    /// of the leads in `$1` (an array of keys), each row with the 1-based
    /// position of its key in `$1`, its event type as text, its time and its
    /// properties as text (a value whose text depends on settings as it is:
    /// [`owner_text_of`]). `lead_score_internal._owner_states` runs it as the table's
    /// owner, in a security-restricted operation, so no code of the owner's
    /// (a CHECK constraint or index expression the planner folds, a cast) ever
    /// runs with the trigger's rights.
    ///
    /// `few` (at most [`FEW_KEYS`] keys): each key's rows are a subquery of
    /// their own (`OFFSET 0` keeps the planner from flattening it into a
    /// join), so with sequential scans off (`src/owner_read.rs`) the lead key
    /// index is probed once per key whatever the statistics say. As a join,
    /// statistics that show one lead key value (analyzed before a load) gave
    /// a scan of the whole table or index per key, and a view reading many
    /// marked leads one at a time took time quadratic in the table. Many keys
    /// read as a join, which may hash.
    pub fn owner_read_query(&self, few: bool) -> String {
        let props: String = self
            .properties
            .iter()
            .map(|p| format!(", {}", p.owner_text_of("a")))
            .collect();
        let activities = self.activities.to_sql();
        let akey = self.activity_lead_key.of("a");
        let from = if few {
            format!(
                "CROSS JOIN LATERAL (SELECT * FROM {activities} a WHERE {akey} = k.k OFFSET 0) a"
            )
        } else {
            format!("JOIN {activities} a ON {akey} = k.k")
        };
        format!(
            "SELECT k.i, {etype}, ({ta})::pg_catalog.timestamptz{props} FROM pg_catalog.unnest($1) WITH ORDINALITY AS k(k, i) {from}",
            etype = self.event_type.owner_text_of("a"),
            ta = self.time_of("a"),
        )
    }

    /// The positions (from 1) of the keys of the array `$1` that a row of the
    /// lead table has, run as that table's owner by `_leads_present`
    /// (`src/owner_read.rs`).
    pub fn leads_present_query(&self) -> String {
        format!(
            "SELECT k.i FROM pg_catalog.unnest($1) WITH ORDINALITY AS k(k, i) WHERE EXISTS (SELECT 1 FROM {leads} l WHERE {lkey} = k.k)",
            leads = self.leads.to_sql(),
            lkey = self.lead_key.of("l"),
        )
    }

    /// The keys of the key array `keys` that no row of the lead table has
    /// now, this statement's writes included: those whose score rows a lead
    /// write may delete. A writable CTE's DELETE (or key change) whose trigger
    /// PostgreSQL fires after the INSERT's (or UPDATE's) that took the key
    /// again (`WITH d AS (DELETE …) INSERT … WHERE EXISTS (SELECT 1 FROM d)`:
    /// a CTE the query does not read to its end is finished, and its trigger
    /// queued, last) would otherwise delete the score row the new lead holds.
    fn keys_gone(&self, keys: &str) -> String {
        format!(
            "ARRAY(SELECT t.k FROM ROWS FROM (pg_catalog.unnest({keys}), pg_catalog.unnest(lead_score_internal._leads_present({}, {keys}))) AS t(k, present) WHERE NOT t.present)",
            literal(&self.name)
        )
    }

    /// One live delta per key of the array `keys` (NULL where a lead has no
    /// activity), read as the activity table's owner: `_owner_states`.
    fn owner_states(&self, keys: &str) -> String {
        format!(
            "lead_score_internal._owner_states({}, {keys}, v_model_id, v_version, v_landmark, v_now)",
            literal(&self.name)
        )
    }
}

/// Every statement `detach` runs: triggers on whichever of the attachment's
/// tables still exist (`None` for one the user dropped), then its functions,
/// views and tables.
pub fn drop_statements(
    attachment: &str,
    leads: Option<&Qualified>,
    activities: Option<&Qualified>,
) -> Vec<Statement> {
    let mut out = Vec::new();
    for table in [activities, leads].into_iter().flatten() {
        for write in Write::ALL {
            let name = trigger_name(attachment, write);
            out.push(stmt(
                format!("trigger {name}"),
                format!(
                    "DROP TRIGGER IF EXISTS {} ON {}",
                    ident(&name),
                    table.to_sql()
                ),
            ));
        }
    }
    for table in [Table::Activities, Table::Leads] {
        for write in Write::ALL {
            let f = names::trigger_fn(attachment, table, write);
            out.push(stmt(
                f.clone(),
                format!("DROP FUNCTION IF EXISTS {}()", internal(&f)),
            ));
        }
    }
    for f in [
        names::fold(attachment),
        names::commit_fold(attachment),
        names::drop_orphans(attachment),
        names::recompute(attachment),
    ] {
        out.push(stmt(
            f.clone(),
            format!("DROP FUNCTION IF EXISTS {}", internal(&f)),
        ));
    }
    for r in dropped_relations(attachment) {
        let sql = format!("DROP {} IF EXISTS {}", r.kind, r.name.to_sql());
        out.push(stmt(r.name.name, sql));
    }
    out
}

/// One of an attachment's own views or tables, which `detach` drops.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnRelation {
    /// `VIEW` or `TABLE`, as `DROP` names it.
    pub kind: &'static str,
    pub name: Qualified,
}

/// An attachment's own views and tables, in the order `detach` drops them
/// (each before what it reads): [`drop_statements`], and the locks `detach`
/// takes on them before it goes on.
pub fn dropped_relations(attachment: &str) -> Vec<OwnRelation> {
    let public = |n: String| Qualified::new(SCHEMA, &n);
    let private = |n: String| Qualified::new(INTERNAL_SCHEMA, &n);
    [
        ("VIEW", public(names::accounts(attachment))),
        ("VIEW", public(names::account_categories(attachment))),
        ("TABLE", private(names::account_heads(attachment))),
        ("VIEW", public(names::categories(attachment))),
        ("VIEW", public(names::current(attachment))),
        ("VIEW", private(names::merged(attachment))),
        ("VIEW", private(names::columns(attachment))),
        ("TABLE", private(names::scores(attachment))),
        ("TABLE", private(names::pending(attachment))),
        ("TABLE", private(names::stale(attachment))),
        ("TABLE", private(names::stripes(attachment))),
        ("TABLE", private(names::outbox(attachment))),
    ]
    .into_iter()
    .map(|(kind, name)| OwnRelation { kind, name })
    .collect()
}

/// [`lock_exclusive`] without waiting: raises `lock_not_available` (55P03)
/// while a writer is in flight, so `tick()` can move on to the next attachment.
pub fn lock_exclusive_nowait(attachment: &str) -> String {
    format!("{} NOWAIT", lock_exclusive(attachment))
}

/// The lock that waits for every writer of an attachment and keeps new ones
/// out, while readers go on: publishing, rescoring, rebasing and detaching
/// take it. Writers hold ROW EXCLUSIVE on these tables; only roles that may
/// write them can take either mode.
pub fn lock_exclusive(attachment: &str) -> String {
    format!(
        "LOCK TABLE {}, {} IN EXCLUSIVE MODE",
        internal(&names::scores(attachment)),
        internal(&names::pending(attachment))
    )
}

/// A query of one live delta per lead from an attachment's pending events,
/// for readers: the merged view and `top_leads`.
///
/// With `marks` ([`Attachment::marks`]), also whether the lead has a
/// recompute marker (`rc`).
pub fn pending_states(attachment: &str, properties: usize, marks: bool) -> String {
    let rc = if marks {
        ", pg_catalog.bool_or(p.occurred_at IS NULL) AS rc"
    } else {
        ""
    };
    format!(
        "SELECT p.lead_key, lead_score_internal._live_batch(k.id, k.current_version, k.landmark, p.event_type, p.occurred_at{}) AS st{rc}
FROM {} p
CROSS JOIN (SELECT m.id, m.current_version, a.landmark FROM lead_score.attachments a
            JOIN lead_score.models m ON m.name = a.model WHERE a.name = {}) k
GROUP BY p.lead_key",
        pending_props(properties, |i| format!("p.p{i}")),
        internal(&names::pending(attachment)),
        literal(attachment)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_orders() {
        // A suffix of letters that sort before every trigger suffix's first
        // letter (d, i, t, u): one order for every write.
        assert!(trigger_orders_agree("a", "a_d"));
        assert!(trigger_orders_agree("a", "b"));
        assert!(trigger_orders_agree("a_x", "a_x_d"));
        assert!(trigger_orders_agree("a", "a_v"));
        // Between them: insert and update (or delete) disagree.
        assert!(!trigger_orders_agree("a", "a_k"));
        assert!(!trigger_orders_agree("a", "a_e"));
        assert!(!trigger_orders_agree("a_k", "a"));
        // Whatever the pair, the relation is symmetric.
        for (x, y) in [
            ("web", "web_deferred"),
            ("pb", "pb_deferred"),
            ("a", "a_s"),
            ("x1", "x1_2"),
        ] {
            assert_eq!(trigger_orders_agree(x, y), trigger_orders_agree(y, x));
        }
    }

    #[test]
    fn names_fit_in_identifiers() {
        let name = "a".repeat(MAX_NAME_LEN);
        assert!(valid_name(&name));
        assert!(!valid_name(&"a".repeat(MAX_NAME_LEN + 1)));
        for table in [Table::Leads, Table::Activities] {
            for write in Write::ALL {
                assert!(names::trigger_fn(&name, table, write).len() <= 63);
                assert!(trigger_name(&name, write).len() <= 63);
            }
        }
        for n in [
            names::scores(&name),
            names::bound_index(&name),
            names::pending(&name),
            names::pending_index(&name),
            names::stale(&name),
            names::stale_index(&name),
            names::stripes(&name),
            names::columns(&name),
            names::merged(&name),
            names::current(&name),
            names::fold(&name),
            names::commit_fold(&name),
            names::drop_orphans(&name),
        ] {
            assert!(n.len() <= 63, "{n}");
        }
    }

    #[test]
    fn names_of_two_attachments_differ_unless_one_ends_the_other() {
        assert_eq!(
            names::shared("x", "x_account").as_deref(),
            Some("x_account_categories")
        );
        assert_eq!(
            names::shared("x_account", "x").as_deref(),
            Some("x_account_categories")
        );
        assert_eq!(names::shared("x", "x"), Some(names::scores("x")));
        for (a, b) in [
            ("x", "y"),
            ("x", "x_"),
            ("x_", "x__"),
            ("live", "live_d"),
            ("a", "a_scores"),
        ] {
            assert_eq!(names::shared(a, b), None, "{a} {b}");
        }
        // Every name is distinct within one attachment too.
        let all = names::all("x");
        let mut sorted = all.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), all.len());
    }

    #[test]
    fn names_are_checked() {
        assert!(valid_name("live"));
        assert!(valid_name("_x1"));
        assert!(!valid_name(""));
        assert!(!valid_name("1x"));
        assert!(!valid_name("Live"));
        assert!(!valid_name("a b"));
        assert!(!valid_name("a$body$"));
    }

    #[test]
    fn applied_type_comes_from_one_list() {
        assert_eq!(
            applied_type(),
            "CREATE TYPE \"lead_score_internal\".\"_applied\" AS (\"state\" bytea, \"engagement\" float8, \"total\" float8, \"mql\" boolean, \"quadrant\" text, \"hot_categories\" text[], \"bound\" float8, \"last_activity\" timestamptz, \"model_version\" integer, \"alerts\" jsonb)"
        );
    }
}
