//! The FHIR resource types served, one module per type. Each module declares a
//! [`ResourceDef`]: where its rows live, its search parameters (each a path to the SQL
//! holding the value) and its batched loader (a fixed number of queries for any number
//! of ids, then rows → FHIR JSON).

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::db::{Database, DbError, Row};

pub mod allergy_intolerance;
pub mod appointment;
pub mod condition;
pub mod coverage;
pub mod diagnostic_report;
pub mod encounter;
pub mod family_member_history;
pub mod immunization;
pub mod location;
pub mod medication;
pub mod medication_request;
pub mod medication_statement;
pub mod observation;
pub mod organization;
pub mod patient;
pub mod practitioner;
pub mod practitioner_role;
pub mod procedure;
pub mod related_person;
pub mod service_request;
pub mod vital_signs;

/// What a loader needs to know about the request beyond the ids.
#[derive(Debug, Clone)]
pub struct Context {
    /// The server's public base URL (no trailing slash); identifier and code systems that
    /// are GNU Health's own live under it.
    pub base_url: String,
}

impl Context {
    /// The URI of one of this server's own naming systems, e.g. `…/sid/puid`.
    pub fn system(&self, local: &str) -> String {
        format!("{}/{}", self.base_url, local)
    }
}

pub type LoadFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<Value>, DbError>> + Send + 'a>>;

/// A batched loader: the resources for `ids` (FHIR ids), in any order, missing ids skipped.
pub type Loader = for<'a> fn(&'a Database, &'a Context, &'a [String]) -> LoadFuture<'a>;

/// One FHIR resource type and how it maps to GNU Health.
pub struct ResourceDef {
    pub type_name: &'static str,
    /// The Tryton models whose rows make the resource (the first is the main one).
    pub models: &'static [&'static str],
    /// FROM clause; the main row has the alias `r`.
    pub from: &'static str,
    /// Conditions always applied (e.g. Observation excludes test-type templates).
    pub filter: &'static [Cond],
    /// SQL expression of the FHIR id, and whether it is an integer or text.
    pub key: &'static str,
    pub key_is_text: bool,
    /// SQL expression of the last-update time of the main row.
    pub last_updated: &'static str,
    pub params: &'static [SearchParam],
    pub load: Loader,
    /// The table alias of each model whose rows the FROM clause holds: record rules of
    /// those models become conditions there. A rule on a model without an alias here
    /// cannot be applied, so the type is refused to users it concerns.
    pub aliases: &'static [(&'static str, &'static str)],
    /// Where the elements come from, for Tryton's field access.
    pub fields: &'static [FieldUse],
    /// For a type keyed by text ids made of a prefix and a row id (`eval-5`, `eval-5-bp`,
    /// or a bare `123` with the prefix `""`): per prefix, the column of the FROM clause
    /// holding that row id. An `_id` search then also compares these integer columns,
    /// which the database can push into the branches of a UNION and answer from primary
    /// keys instead of building every row's text id. A column with `{ids}` is a whole
    /// condition, the list of row ids put in its place.
    pub id_rows: &'static [(&'static str, &'static str)],
    /// A cheaper FROM clause to count matches over, for a type whose `from` makes
    /// several resources of one source row.
    pub count_from: Option<CountFrom>,
}

/// A FROM clause (alias `r`) with a row per source row of a [`ResourceDef::from`] that
/// makes several resources of each (a row per measure): `r.n` is how many, and only the
/// source row's own `columns` are there. Conditions that name no other column of `r`
/// select the same source rows from it, so their resources are counted by adding `n`
/// instead of making every resource.
#[derive(Debug, Clone, Copy)]
pub struct CountFrom {
    pub from: &'static str,
    pub columns: &'static [&'static str],
}

/// Elements that come from one Tryton field — or, with an empty `field`, from the rows of a
/// whole (child) model. When the user may not read it, the elements are left out and the
/// search parameters that read it are refused, as trytond refuses reading or searching a
/// denied field.
#[derive(Debug, Clone, Copy)]
pub struct FieldUse {
    pub model: &'static str,
    pub field: &'static str,
    /// Paths of the elements: `a.b` descends (through arrays); `a[k=v]` / `a[k$=v]` /
    /// `a[k^=v]` are the items of array `a` whose `k` (a key, or a path `k.j` into it)
    /// equals / ends with / starts with `v`.
    pub elements: &'static [&'static str],
    pub params: &'static [&'static str],
    /// The elements are mandatory in R4: without the field the resource cannot be
    /// served at all, so the whole type is refused.
    pub required: bool,
    /// For a type that gathers rows of several models: the SQL condition (over the main
    /// row `r`) of the rows whose value is this field. When the field is denied, those
    /// rows are not served at all (instead of elements being left out of every resource).
    pub rows: Option<&'static str>,
}

impl FieldUse {
    pub const fn new(
        model: &'static str,
        field: &'static str,
        elements: &'static [&'static str],
        params: &'static [&'static str],
    ) -> FieldUse {
        FieldUse {
            model,
            field,
            elements,
            params,
            required: false,
            rows: None,
        }
    }

    /// A field (or, with an empty `field`, a whole model) that is the source of the rows
    /// matching `rows`: when the user may not read it, those rows are left out.
    pub const fn rows(model: &'static str, field: &'static str, rows: &'static str) -> FieldUse {
        FieldUse {
            rows: Some(rows),
            ..FieldUse::new(model, field, &[], &[])
        }
    }

    /// A field whose elements R4 requires.
    pub const fn required(
        model: &'static str,
        field: &'static str,
        elements: &'static [&'static str],
        params: &'static [&'static str],
    ) -> FieldUse {
        FieldUse {
            required: true,
            ..FieldUse::new(model, field, elements, params)
        }
    }
}

/// A static condition on the rows of a resource type.
#[derive(Debug, Clone, Copy)]
pub enum Cond {
    /// Raw SQL (dialect-neutral).
    Sql(&'static str),
    /// A boolean column is true (NULL is false, as in Tryton).
    IsTrue(&'static str),
    /// A boolean column is false or NULL.
    IsFalse(&'static str),
}

/// The R4 search parameter types implemented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Token,
    Date,
    Reference,
    Number,
    Quantity,
    /// Values of other parameters of the same row, `$`-separated (R4 composite).
    Composite,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Token => "token",
            Kind::Date => "date",
            Kind::Reference => "reference",
            Kind::Number => "number",
            Kind::Quantity => "quantity",
            Kind::Composite => "composite",
        }
    }
}

/// A search parameter and the SQL paths that hold its values (a row matches when any path does).
pub struct SearchParam {
    pub name: &'static str,
    pub kind: Kind,
    /// Canonical URL of the R4 SearchParameter.
    pub definition: &'static str,
    pub paths: &'static [Path],
    /// For reference parameters: the resource types the reference may point to.
    pub targets: &'static [&'static str],
    /// For composite parameters: the parameters whose values the parts are, in order.
    pub components: &'static [&'static str],
}

impl SearchParam {
    /// A parameter of any type but reference.
    pub const fn new(
        name: &'static str,
        kind: Kind,
        definition: &'static str,
        paths: &'static [Path],
    ) -> SearchParam {
        SearchParam {
            name,
            kind,
            definition,
            paths,
            targets: &[],
            components: &[],
        }
    }

    /// A reference parameter to resources of the `targets` types.
    pub const fn reference(
        name: &'static str,
        definition: &'static str,
        paths: &'static [Path],
        targets: &'static [&'static str],
    ) -> SearchParam {
        SearchParam {
            name,
            kind: Kind::Reference,
            definition,
            paths,
            targets,
            components: &[],
        }
    }

    /// A composite parameter over other parameters of the type (all on the main row, so
    /// the parts hold for the same row).
    pub const fn composite(
        name: &'static str,
        definition: &'static str,
        components: &'static [&'static str],
    ) -> SearchParam {
        SearchParam {
            name,
            kind: Kind::Composite,
            definition,
            paths: &[],
            targets: &[],
            components,
        }
    }
}

/// Where one value of a search parameter is stored.
#[derive(Debug, Clone, Copy)]
pub struct Path {
    /// `None`: `expr` is over the main row; `Some((from, on))`: the value is in child rows,
    /// matched with `EXISTS (SELECT 1 FROM from WHERE on AND …)`.
    pub join: Option<(&'static str, &'static str)>,
    pub expr: &'static str,
    pub value: Stored,
    /// Extra condition for this path (e.g. the identifier type of an alternative id).
    pub when: Option<&'static str>,
    /// For codes: the SQL expression of the text shown with the code (`:text` searches it).
    pub text: Option<&'static str>,
    /// For references to several types: the one type this path refers to (a column of
    /// patient ids next to one of practitioner ids); `None` when any of the targets.
    pub target: Option<&'static str>,
}

/// How the stored value relates to the FHIR search value.
#[derive(Debug, Clone, Copy)]
pub enum Stored {
    /// Text compared as a FHIR string.
    Text,
    /// Space-separated values in one column (GNU Health keeps all given names in one),
    /// each compared as a FHIR string, as they are emitted one per element.
    Words,
    /// A token whose code is stored as is, in the given system.
    Code(System),
    /// A token whose FHIR codes map to stored codes: `(fhir code, stored codes)`.
    Mapped(System, &'static [(&'static str, &'static [&'static str])]),
    /// A boolean column searched as token `true`/`false`.
    Bool,
    /// A calendar date column.
    Date,
    /// A timestamp column (naive UTC).
    Timestamp,
    /// An integer foreign key (reference parameters).
    Id,
    /// A number (number parameters).
    Number,
    /// A number with its unit: SQL expressions of the unit's code and of its name (a
    /// quantity searched with a unit matches either).
    Quantity {
        unit_code: &'static str,
        unit_name: &'static str,
    },
}

/// The system of a token value.
#[derive(Debug, Clone, Copy)]
pub enum System {
    /// No system.
    None,
    /// A fixed canonical URI.
    Fixed(&'static str),
    /// A system of this server, under its base URL.
    Local(&'static str),
}

impl System {
    pub fn resolve(&self, ctx: &Context) -> Option<String> {
        match self {
            System::None => None,
            System::Fixed(s) => Some((*s).to_owned()),
            System::Local(s) => Some(ctx.system(s)),
        }
    }
}

impl Path {
    /// A value on the main row.
    pub const fn col(expr: &'static str, value: Stored) -> Path {
        Path {
            join: None,
            expr,
            value,
            when: None,
            text: None,
            target: None,
        }
    }
    /// A value in child rows.
    pub const fn child(
        from: &'static str,
        on: &'static str,
        expr: &'static str,
        value: Stored,
    ) -> Path {
        Path {
            join: Some((from, on)),
            expr,
            value,
            when: None,
            text: None,
            target: None,
        }
    }
    /// The same path, restricted by an extra condition.
    pub const fn when(self, cond: &'static str) -> Path {
        Path {
            when: Some(cond),
            ..self
        }
    }
    /// The same code path, with the text shown for the code (for `:text`).
    pub const fn text(self, expr: &'static str) -> Path {
        Path {
            text: Some(expr),
            ..self
        }
    }
    /// The same reference path, holding ids of `type_name` only.
    pub const fn target(self, type_name: &'static str) -> Path {
        Path {
            target: Some(type_name),
            ..self
        }
    }
    /// Whether this path may hold a reference to `type_name`.
    pub fn refers_to(&self, type_name: &str) -> bool {
        self.target.is_none_or(|t| t == type_name)
    }
}

/// `fn load` for a type keyed by integer row ids: the FHIR ids that are integers go to
/// `$load(db, ctx, &[i64])`; none means nothing to load (no query).
macro_rules! int_loader {
    ($load:ident) => {
        fn load<'a>(
            db: &'a Database,
            ctx: &'a Context,
            ids: &'a [String],
        ) -> $crate::resources::LoadFuture<'a> {
            Box::pin(async move {
                let ids = $crate::resources::int_ids(ids);
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                $load(db, ctx, &ids).await
            })
        }
    };
}
pub(crate) use int_loader;

/// The integer ids among FHIR ids (others cannot exist for integer-keyed resources).
pub fn int_ids(ids: &[String]) -> Vec<i64> {
    ids.iter().filter_map(|s| s.parse().ok()).collect()
}

/// Group child rows by their parent id (column `col`), keeping row order.
pub fn group_by(rows: Vec<Row>, col: usize) -> std::collections::HashMap<i64, Vec<Row>> {
    let mut map: std::collections::HashMap<i64, Vec<Row>> = std::collections::HashMap::new();
    for r in rows {
        map.entry(r.int(col)).or_default().push(r);
    }
    map
}

/// The `meta` of a resource whose rows were last updated at `stamp` (Tryton's text form).
pub fn meta(stamp: Option<&str>) -> Option<fhir::datatypes::Meta> {
    let stamp = stamp?;
    Some(fhir::datatypes::Meta {
        version_id: crate::tryton::version_id(stamp),
        last_updated: crate::tryton::fhir_datetime(stamp),
        ..Default::default()
    })
}

/// Serialize a mapped resource struct.
pub fn to_json<T: serde::Serialize>(resource: &T) -> Result<Value, DbError> {
    serde_json::to_value(resource).map_err(|e| DbError::Query(format!("serialization: {e}")))
}
