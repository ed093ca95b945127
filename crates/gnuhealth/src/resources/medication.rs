//! Medication ← `gnuhealth_medicament` + its product (`product_product`, `product_template`):
//! name and product code, status, drug form, the active component with its strength, and
//! the solution concentration/volume as the amount.
//!
//! GNU Health stores no standard drug code (ATC, RxNorm…) and the active component only as
//! text, so `ingredient-code` cannot be searched. Route, indications, pregnancy category and
//! the other monograph texts have no R4 Medication element (they belong to
//! MedicationKnowledge, not served).

use fhir::datatypes::{CodeableConcept, Coding, Quantity, UCUM};
use fhir::resources::medication::{Medication, MedicationIngredient, Ratio};
use serde_json::Value;

use super::{
    Context, FieldUse, Kind, Path, ResourceDef, SearchParam, Stored, System, meta, to_json,
};
use crate::db::{Database, DbError, Row};
use crate::tryton::newest;

/// Local code system of product codes (`product_product.code`).
pub const PRODUCT_SYSTEM: &str = "CodeSystem/product";
/// GNU Health's drug forms (`gnuhealth_drug_form.code`).
pub const DRUG_FORM_SYSTEM: &str = "CodeSystem/drug-form";
/// GNU Health's dose units (`gnuhealth_dose_unit.code`), for units UCUM does not spell the same.
pub const DOSE_UNIT_SYSTEM: &str = "CodeSystem/dose-unit";
pub const STATUS_SYSTEM: &str = "http://hl7.org/fhir/CodeSystem/medication-status";

/// Dose unit codes that are valid UCUM codes as they stand (UCUM is case-sensitive).
const UCUM_UNITS: &[&str] = &["mg", "g", "kg", "ug", "mL", "L", "mmol", "mol"];

/// Active when both the medicament and its product are, as [`status`] says.
const STATUS_SQL: &str =
    "CASE WHEN r.active = TRUE AND pp.active = TRUE THEN 'active' ELSE 'inactive' END";

pub static MEDICATION: ResourceDef = ResourceDef {
    type_name: "Medication",
    models: &[
        "gnuhealth.medicament",
        "product.product",
        "product.template",
    ],
    from: "gnuhealth_medicament r LEFT JOIN product_product pp ON pp.id = r.product",
    filter: &[],
    key: "r.id",
    key_is_text: false,
    last_updated: "COALESCE(r.write_date, r.create_date)",
    params: &[
        SearchParam::new(
            "code",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/clinical-code",
            &[
                Path::col("pp.code", Stored::Code(System::Local(PRODUCT_SYSTEM)))
                    .text("(SELECT pt.name FROM product_template pt WHERE pt.id = pp.template)"),
            ],
        ),
        SearchParam::new(
            "form",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Medication-form",
            &[Path::child(
                "gnuhealth_drug_form f",
                "f.id = r.form",
                "f.code",
                Stored::Code(System::Local(DRUG_FORM_SYSTEM)),
            )],
        ),
        SearchParam::new(
            "status",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Medication-status",
            &[Path::col(
                STATUS_SQL,
                Stored::Code(System::Fixed(STATUS_SYSTEM)),
            )],
        ),
    ],
    load,
    aliases: &[("gnuhealth.medicament", "r"), ("product.product", "pp")],
    // The product's code, name and active flag are `product.product` / `product.template`
    // fields (models of this type); drug form and dose unit codes and names are the value
    // of the medicament field pointing to them.
    fields: &[
        FieldUse::new(
            "gnuhealth.medicament",
            "product",
            &["code", "status"],
            &["code", "status"],
        ),
        FieldUse::new("gnuhealth.medicament", "active", &["status"], &["status"]),
        FieldUse::new(
            "gnuhealth.medicament",
            "form",
            // The strength's denominator: a ratio needs both terms (rat-1).
            &["form", "ingredient.strength"],
            &["form"],
        ),
        FieldUse::new(
            "gnuhealth.medicament",
            "active_component",
            &["ingredient"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.medicament",
            "strength",
            &["ingredient.strength"],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.medicament",
            "unit",
            &[
                "ingredient.strength.numerator.unit",
                "ingredient.strength.numerator.system",
                "ingredient.strength.numerator.code",
            ],
            &[],
        ),
        FieldUse::new("gnuhealth.medicament", "sol_conc", &["amount"], &[]),
        FieldUse::new("gnuhealth.medicament", "sol_vol", &["amount"], &[]),
        FieldUse::new(
            "gnuhealth.medicament",
            "sol_conc_unit",
            &[
                "amount.numerator.unit",
                "amount.numerator.system",
                "amount.numerator.code",
            ],
            &[],
        ),
        FieldUse::new(
            "gnuhealth.medicament",
            "sol_vol_unit",
            &[
                "amount.denominator.unit",
                "amount.denominator.system",
                "amount.denominator.code",
            ],
            &[],
        ),
        FieldUse::new("product.product", "code", &["code.coding"], &["code"]),
        FieldUse::new("product.product", "active", &["status"], &["status"]),
        FieldUse::new(
            "product.product",
            "template",
            &["code.text", "code.coding.display"],
            &[],
        ),
        FieldUse::new(
            "product.template",
            "name",
            &["code.text", "code.coding.display"],
            &[],
        ),
    ],
    count_from: None,
    id_rows: &[],
};

super::int_loader!(load_medications);

async fn load_medications(
    db: &Database,
    ctx: &Context,
    ids: &[i64],
) -> Result<Vec<Value>, DbError> {
    let mut main = db.sql();
    main.push(
        "SELECT r.id, pt.name, pp.code, r.active, pp.active, f.code, f.name, \
         r.active_component, r.strength, u.code, u.name, \
         r.sol_conc, cu.code, cu.name, r.sol_vol, vu.code, vu.name, \
         COALESCE(r.write_date, r.create_date), COALESCE(pp.write_date, pp.create_date), \
         COALESCE(pt.write_date, pt.create_date) \
         FROM gnuhealth_medicament r \
         LEFT JOIN product_product pp ON pp.id = r.product \
         LEFT JOIN product_template pt ON pt.id = pp.template \
         LEFT JOIN gnuhealth_drug_form f ON f.id = r.form \
         LEFT JOIN gnuhealth_dose_unit u ON u.id = r.unit \
         LEFT JOIN gnuhealth_dose_unit cu ON cu.id = r.sol_conc_unit \
         LEFT JOIN gnuhealth_dose_unit vu ON vu.id = r.sol_vol_unit WHERE ",
    )
    .in_ids("r.id", ids);
    let rows = db.query(&main).await?;

    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let stamps = [row.opt_str(17), row.opt_str(18), row.opt_str(19)];
        let form_code = row.opt_text(5);
        let form_name = row.opt_text(6);
        let m = Medication {
            resource_type: "Medication",
            id: row.int(0).to_string(),
            meta: meta(newest(stamps).as_deref()),
            code: product_code(ctx, row.opt_text(2), row.opt_text(1)),
            status: Some(status(row.bool(3), row.bool(4))),
            form: local_concept(ctx, DRUG_FORM_SYSTEM, form_code.clone(), form_name.clone()),
            amount: solution(ctx, &row),
            ingredient: row
                .opt_text(7)
                .map(|component| MedicationIngredient {
                    item_codeable_concept: CodeableConcept::text(component),
                    is_active: Some(true),
                    strength: row.opt_float(8).map(|s| Ratio {
                        numerator: dose_quantity(ctx, s, row.opt_text(9), row.opt_text(10)),
                        denominator: per_unit_of_form(ctx, form_code, form_name),
                    }),
                })
                .into_iter()
                .collect(),
            ..Default::default()
        };
        out.push(to_json(&m)?);
    }
    Ok(out)
}

/// `active` when the medicament and its product both are (inactive rows are hidden by Tryton).
pub fn status(medicament_active: bool, product_active: bool) -> &'static str {
    if medicament_active && product_active {
        "active"
    } else {
        "inactive"
    }
}

/// The product as a concept: its local code when it has one, its name as the text.
/// Also the vaccine code of an Immunization.
pub fn product_code(
    ctx: &Context,
    code: Option<String>,
    name: Option<String>,
) -> Option<CodeableConcept> {
    if code.is_none() && name.is_none() {
        return None;
    }
    Some(CodeableConcept {
        coding: code
            .map(|c| Coding::new(&ctx.system(PRODUCT_SYSTEM), c, name.clone()))
            .into_iter()
            .collect(),
        text: name,
    })
}

/// A code of one of GNU Health's own tables.
fn local_concept(
    ctx: &Context,
    system: &str,
    code: Option<String>,
    name: Option<String>,
) -> Option<CodeableConcept> {
    Some(CodeableConcept {
        coding: vec![Coding::new(&ctx.system(system), code?, name.clone())],
        text: name,
    })
}

/// An amount in a GNU Health dose unit: UCUM when the code is UCUM, else the local table.
pub fn dose_quantity(
    ctx: &Context,
    value: f64,
    code: Option<String>,
    name: Option<String>,
) -> Quantity {
    let Some(code) = code else {
        return Quantity {
            value: Some(value),
            unit: name,
            ..Default::default()
        };
    };
    let system = if UCUM_UNITS.contains(&code.as_str()) {
        UCUM.to_owned()
    } else {
        ctx.system(DOSE_UNIT_SYSTEM)
    };
    Quantity {
        value: Some(value),
        unit: Some(name.unwrap_or_else(|| code.clone())),
        system: Some(system),
        code: Some(code),
        ..Default::default()
    }
}

/// One unit of the drug form (one tablet, one capsule…): the strength's denominator.
fn per_unit_of_form(ctx: &Context, code: Option<String>, name: Option<String>) -> Quantity {
    Quantity {
        value: Some(1.0),
        system: code.as_ref().map(|_| ctx.system(DRUG_FORM_SYSTEM)),
        unit: name.or_else(|| code.clone()),
        code,
        ..Default::default()
    }
}

/// Solution concentration per volume (`sol_conc` unit / `sol_vol` unit), columns 11–16.
fn solution(ctx: &Context, row: &Row) -> Option<Ratio> {
    let conc = row.opt_float(11)?;
    let vol = row.opt_float(14)?;
    Some(Ratio {
        numerator: dose_quantity(ctx, conc, row.opt_text(12), row.opt_text(13)),
        denominator: dose_quantity(ctx, vol, row.opt_text(15), row.opt_text(16)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Val;

    fn ctx() -> Context {
        Context {
            base_url: "https://fhir.example.org/fhir".into(),
        }
    }

    #[test]
    fn field_uses() {
        crate::resources::patient::field_checks::check(&MEDICATION, &[]);
    }

    #[test]
    fn statuses() {
        assert_eq!(status(true, true), "active");
        assert_eq!(status(true, false), "inactive");
        assert_eq!(status(false, true), "inactive");
        for s in ["'active'", "'inactive'"] {
            assert!(STATUS_SQL.contains(s));
        }
    }

    #[test]
    fn units() {
        let q = dose_quantity(&ctx(), 10.0, Some("mg".into()), Some("mg".into()));
        assert_eq!(q.system.as_deref(), Some(UCUM));
        let q = dose_quantity(&ctx(), 2.0, Some("unit".into()), Some("unit".into()));
        assert_eq!(
            q.system.as_deref(),
            Some("https://fhir.example.org/fhir/CodeSystem/dose-unit")
        );
        let q = dose_quantity(&ctx(), 2.0, None, None);
        assert_eq!((q.system, q.code), (None, None));
    }

    #[test]
    fn strength_denominator() {
        let d = per_unit_of_form(&ctx(), Some("TAB".into()), Some("Tablet".into()));
        assert_eq!(d.value, Some(1.0));
        assert_eq!(d.unit.as_deref(), Some("Tablet"));
        assert_eq!(
            d.system.as_deref(),
            Some("https://fhir.example.org/fhir/CodeSystem/drug-form")
        );
        let d = per_unit_of_form(&ctx(), None, None);
        assert_eq!((d.value, d.system), (Some(1.0), None));
    }

    #[test]
    fn product_concept() {
        let c = product_code(&ctx(), None, Some("Enalapril 10 mg tablets".into()));
        assert_eq!(c.as_ref().map(|c| c.coding.len()), Some(0));
        let c = product_code(&ctx(), Some("ENA10".into()), Some("Enalapril".into()));
        assert_eq!(
            c.as_ref().and_then(|c| c.coding[0].code.as_deref()),
            Some("ENA10")
        );
        assert_eq!(product_code(&ctx(), None, None), None);
    }

    #[test]
    fn solution_needs_both_sides() {
        let mut cols = vec![Val::Null; 17];
        cols[11] = Val::Float(250.0);
        cols[12] = Val::Text("mg".into());
        assert_eq!(solution(&ctx(), &Row(cols.clone())), None);
        cols[14] = Val::Float(5.0);
        cols[15] = Val::Text("mL".into());
        let r = solution(&ctx(), &Row(cols));
        assert_eq!(r.as_ref().and_then(|r| r.denominator.value), Some(5.0));
    }
}
