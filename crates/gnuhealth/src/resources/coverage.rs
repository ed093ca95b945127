//! Coverage ← `gnuhealth_insurance`: a party's health insurance, served for the parties
//! that are patients (beneficiary, policy holder and subscriber are that patient: GNU
//! Health records the insurance as the person's own). The number is the subscriber id
//! and the identifier, the membership dates the period, the plan (its product's name) and
//! the insurer's category the classes, the patient's `current_insurance` order 1.
//!
//! The insurer (`company`) is a party, not an institution this server serves as an
//! Organization, so the payor is a reference by identifier (its PUID) and name. GNU
//! Health keeps no state of an insurance record — its `status` is computed from the
//! expiry date, which the period already says — so every Coverage is `active`
//! (financial-resource-status is the state of the record, not of the membership).

use fhir::datatypes::{CodeableConcept, Coding, Identifier, Period, Reference};
use fhir::resources::coverage::{Coverage, CoverageClass};
use serde_json::Value;

use super::patient::sid;
use super::{
    Context, FieldUse, Kind, Path, ResourceDef, SearchParam, Stored, System, meta, to_json,
};
use crate::db::{Database, DbError};
use crate::tryton::{fhir_date, newest};

pub const STATUS_SYSTEM: &str = "http://hl7.org/fhir/fm-status";
/// The insurance numbers (`gnuhealth_insurance.number`, unique per insurer).
pub const NUMBER_SID: &str = "sid/insurance-number";
/// GNU Health's insurance types (`insurance_type`).
pub const TYPE_SYSTEM: &str = "CodeSystem/insurance-type";
pub const ACT_CODE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
pub const CLASS_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/coverage-class";
pub const RELATIONSHIP_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/subscriber-relationship";

/// `insurance_type` codes and their GNU Health labels.
const TYPES: &[(&str, &str)] = &[
    ("state", "State"),
    ("labour_union", "Labour Union / Syndical"),
    ("private", "Private"),
];
/// v3-ActCode ← `insurance_type` where one means the same: a state insurance is a public
/// healthcare policy; unions and private insurers have no code of their own there.
const ACT_CODES: &[(&str, &[&str])] = &[("PUBLICPOL", &["state"])];

const BENEFICIARY: &[Path] = &[Path::col("pt.id", Stored::Id)];

/// The plan's product, whose code (else name) is the plan class's value.
const PLAN_PRODUCT: (&str, &str) = (
    "gnuhealth_insurance_plan cpl JOIN product_product cpp ON cpp.id = cpl.product \
     JOIN product_template ctpl ON ctpl.id = cpp.template",
    "cpl.id = r.plan_id",
);
const PLAN_VALUE: &str = "COALESCE(cpp.code, ctpl.name)";
const HAS_CATEGORY: &str = "r.category IS NOT NULL AND r.category <> ''";

pub static COVERAGE: ResourceDef = ResourceDef {
    type_name: "Coverage",
    models: &["gnuhealth.insurance", "gnuhealth.patient"],
    from: "gnuhealth_insurance r JOIN gnuhealth_patient pt ON pt.party = r.party",
    filter: &[],
    key: "r.id",
    key_is_text: false,
    last_updated: "COALESCE(r.write_date, r.create_date)",
    params: &[
        SearchParam::new(
            "identifier",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Coverage-identifier",
            &[Path::col(
                "r.number",
                Stored::Code(System::Local(NUMBER_SID)),
            )],
        ),
        SearchParam::new(
            "status",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Coverage-status",
            &[Path::col(
                "'active'",
                Stored::Code(System::Fixed(STATUS_SYSTEM)),
            )],
        ),
        SearchParam::new(
            "type",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Coverage-type",
            &[
                Path::col("r.insurance_type", Stored::Code(System::Local(TYPE_SYSTEM))),
                Path::col(
                    "r.insurance_type",
                    Stored::Mapped(System::Fixed(ACT_CODE_SYSTEM), ACT_CODES),
                ),
            ],
        ),
        SearchParam::new(
            "class-type",
            Kind::Token,
            "http://hl7.org/fhir/SearchParameter/Coverage-class-type",
            &[
                Path::child(
                    PLAN_PRODUCT.0,
                    PLAN_PRODUCT.1,
                    "'plan'",
                    Stored::Code(System::Fixed(CLASS_SYSTEM)),
                )
                .when("COALESCE(cpp.code, ctpl.name) IS NOT NULL"),
                Path::col("'class'", Stored::Code(System::Fixed(CLASS_SYSTEM))).when(HAS_CATEGORY),
            ],
        ),
        SearchParam::new(
            "class-value",
            Kind::String,
            "http://hl7.org/fhir/SearchParameter/Coverage-class-value",
            &[
                Path::child(PLAN_PRODUCT.0, PLAN_PRODUCT.1, PLAN_VALUE, Stored::Text),
                Path::col("r.category", Stored::Text),
            ],
        ),
        SearchParam::reference(
            "patient",
            "http://hl7.org/fhir/SearchParameter/Coverage-patient",
            BENEFICIARY,
            &["Patient"],
        ),
        SearchParam::reference(
            "beneficiary",
            "http://hl7.org/fhir/SearchParameter/Coverage-beneficiary",
            BENEFICIARY,
            &["Patient"],
        ),
        SearchParam::reference(
            "policy-holder",
            "http://hl7.org/fhir/SearchParameter/Coverage-policy-holder",
            BENEFICIARY,
            &["Patient"],
        ),
        SearchParam::reference(
            "subscriber",
            "http://hl7.org/fhir/SearchParameter/Coverage-subscriber",
            BENEFICIARY,
            &["Patient"],
        ),
    ],
    load,
    aliases: &[("gnuhealth.insurance", "r"), ("gnuhealth.patient", "pt")],
    // The status is constant. The insurer's name and PUID are read through `company`, the
    // plan's name through `plan_id`. Plan and category are both classes: hiding one hides
    // both.
    fields: &[
        FieldUse::required(
            "gnuhealth.insurance",
            "party",
            &["policyHolder", "subscriber", "beneficiary", "relationship"],
            &["patient", "beneficiary", "policy-holder", "subscriber"],
        ),
        FieldUse::required("gnuhealth.insurance", "company", &["payor"], &[]),
        FieldUse::new(
            "gnuhealth.insurance",
            "number",
            &["identifier", "subscriberId"],
            &["identifier"],
        ),
        FieldUse::new(
            "gnuhealth.insurance",
            "insurance_type",
            &["type"],
            &["type"],
        ),
        FieldUse::new("gnuhealth.insurance", "member_since", &["period"], &[]),
        FieldUse::new("gnuhealth.insurance", "member_exp", &["period"], &[]),
        FieldUse::new(
            "gnuhealth.insurance",
            "plan_id",
            &["class"],
            &["class-type", "class-value"],
        ),
        FieldUse::new(
            "gnuhealth.insurance",
            "category",
            &["class"],
            &["class-type", "class-value"],
        ),
        FieldUse::new("gnuhealth.patient", "current_insurance", &["order"], &[]),
    ],
    count_from: None,
    id_rows: &[],
};

super::int_loader!(load_coverages);

async fn load_coverages(db: &Database, ctx: &Context, ids: &[i64]) -> Result<Vec<Value>, DbError> {
    let mut sql = db.sql();
    sql.push(
        "SELECT r.id, pt.id, r.number, r.insurance_type, r.member_since, r.member_exp, \
         c.name, c.ref, pl.id, pp.code, tpl.name, r.category, pt.current_insurance, \
         COALESCE(r.write_date, r.create_date), COALESCE(pl.write_date, pl.create_date) \
         FROM gnuhealth_insurance r JOIN gnuhealth_patient pt ON pt.party = r.party \
         LEFT JOIN party_party c ON c.id = r.company \
         LEFT JOIN gnuhealth_insurance_plan pl ON pl.id = r.plan_id \
         LEFT JOIN product_product pp ON pp.id = pl.product \
         LEFT JOIN product_template tpl ON tpl.id = pp.template WHERE ",
    )
    .in_ids("r.id", ids);
    let mut out = Vec::new();
    for row in db.query(&sql).await? {
        let id = row.int(0);
        let patient = Reference::to("Patient", row.int(1), None);
        let payor = Reference {
            identifier: row
                .opt_text(7)
                .map(|puid| Identifier::new(ctx.system(sid::PUID), puid)),
            display: row.opt_text(6),
            ..Default::default()
        };
        let mut class = Vec::new();
        if row.opt_int(8).is_some() {
            let name = row.opt_text(10);
            if let Some(value) = row.opt_text(9).or_else(|| name.clone()) {
                class.push(CoverageClass {
                    type_: CodeableConcept::coded(CLASS_SYSTEM, "plan", Some("Plan".into())),
                    value,
                    name,
                });
            }
        }
        if let Some(category) = row.opt_text(11) {
            class.push(CoverageClass {
                type_: CodeableConcept::coded(CLASS_SYSTEM, "class", Some("Class".into())),
                value: category,
                name: None,
            });
        }
        let c = Coverage {
            resource_type: "Coverage",
            id: id.to_string(),
            meta: meta(newest([row.opt_str(13), row.opt_str(14)]).as_deref()),
            identifier: row
                .opt_text(2)
                .map(|n| Identifier::new(ctx.system(NUMBER_SID), n))
                .into_iter()
                .collect(),
            status: "active",
            type_: row.opt_str(3).and_then(|t| coverage_type(ctx, t)),
            policy_holder: Some(patient.clone()),
            subscriber: Some(patient.clone()),
            subscriber_id: row.opt_text(2),
            beneficiary: patient,
            relationship: Some(CodeableConcept::coded(
                RELATIONSHIP_SYSTEM,
                "self",
                Some("Self".into()),
            )),
            period: Period::from(
                row.opt_str(4).and_then(fhir_date),
                row.opt_str(5).and_then(fhir_date),
            ),
            payor: vec![payor],
            class,
            order: (row.opt_int(12) == Some(id)).then_some(1),
            ..Default::default()
        };
        out.push(to_json(&c)?);
    }
    Ok(out)
}

/// GNU Health's insurance type, with its v3-ActCode where one means the same.
fn coverage_type(ctx: &Context, code: &str) -> Option<CodeableConcept> {
    let label = TYPES.iter().find(|(c, _)| *c == code)?.1;
    let mut coding = vec![Coding::new(
        &ctx.system(TYPE_SYSTEM),
        code,
        Some(label.to_owned()),
    )];
    if let Some((act, _)) = ACT_CODES.iter().find(|(_, s)| s.contains(&code)) {
        coding.push(Coding::new(
            ACT_CODE_SYSTEM,
            *act,
            Some("public healthcare".into()),
        ));
    }
    Some(CodeableConcept {
        coding,
        text: Some(label.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_uses() {
        crate::resources::patient::field_checks::check(&COVERAGE, &["status"]);
    }

    #[test]
    fn types() {
        let ctx = Context {
            base_url: "https://fhir.example.org/fhir".into(),
        };
        let state = coverage_type(&ctx, "state");
        let codes: Vec<_> = state
            .iter()
            .flat_map(|t| t.coding.iter().filter_map(|c| c.code.clone()))
            .collect();
        assert_eq!(codes, ["state", "PUBLICPOL"]);
        let private = coverage_type(&ctx, "private");
        assert_eq!(private.as_ref().map(|t| t.coding.len()), Some(1));
        assert_eq!(private.and_then(|t| t.text), Some("Private".to_owned()));
        assert_eq!(coverage_type(&ctx, "other"), None);
    }
}
