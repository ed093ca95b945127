//! The code and identifier systems the server emits, listed once: GNU Health's own (served
//! under the server's base URL, named by the constants of the resource modules) with the
//! table each comes from, and the standard ones. The CapabilityStatement documents them
//! from here; the tests check that every `system` the server emits is listed.

use crate::resources::{
    Context, appointment, coverage, diagnostic_report, encounter, location, medication,
    medication_request, medication_statement, observation, organization, patient::sid,
    practitioner, procedure, service_request, vital_signs,
};

/// One of GNU Health's own systems: its path under the base URL and where its values come
/// from.
pub struct LocalSystem {
    pub path: &'static str,
    pub source: &'static str,
}

/// GNU Health's code systems and naming systems (patients' alternative identifiers come
/// from [`sid::ALTERNATIVE`], see [`local`]).
const LOCAL: &[LocalSystem] = &[
    LocalSystem {
        path: observation::ANALYTE_SYSTEM,
        source: "lab analyte codes (`gnuhealth_lab_test_critearea.code`, e.g. HGB, WBC; no LOINC is stored)",
    },
    LocalSystem {
        path: diagnostic_report::TEST_TYPE_SYSTEM,
        source: "lab test types (`gnuhealth_lab_test_type.code`, e.g. CBC)",
    },
    LocalSystem {
        path: diagnostic_report::CATEGORY_SYSTEM,
        source: "lab test categories (`gnuhealth_lab_test_type.category`)",
    },
    LocalSystem {
        path: vital_signs::MEASUREMENT_SYSTEM,
        source: "measurements LOINC has no code for (waist-hip ratio, body water, muscle and bone percentages of `gnuhealth_patient_evaluation`)",
    },
    LocalSystem {
        path: encounter::VISIT_TYPE_SYSTEM,
        source: "visit types (`gnuhealth_patient_evaluation.visit_type`)",
    },
    LocalSystem {
        path: encounter::ADMISSION_TYPE_SYSTEM,
        source: "admission types (`gnuhealth_inpatient_registration.admission_type`)",
    },
    LocalSystem {
        path: procedure::PROCEDURE_SYSTEM,
        source: "procedures (`gnuhealth_procedure.name`: ICD-10-PCS, ICPM or CPT, whichever coding module is installed)",
    },
    LocalSystem {
        path: practitioner::SPECIALTY_SYSTEM,
        source: "specialties (`gnuhealth_specialty.code`)",
    },
    LocalSystem {
        path: medication::PRODUCT_SYSTEM,
        source: "products: medicaments and vaccines (`product_product.code`)",
    },
    LocalSystem {
        path: medication::DRUG_FORM_SYSTEM,
        source: "drug forms (`gnuhealth_drug_form.code`)",
    },
    LocalSystem {
        path: medication::DOSE_UNIT_SYSTEM,
        source: "dose units that are not UCUM (`gnuhealth_dose_unit.code`)",
    },
    LocalSystem {
        path: medication_statement::ROUTE_SYSTEM,
        source: "drug routes (`gnuhealth_drug_route.code`, e.g. PO, IM)",
    },
    LocalSystem {
        path: location::BED_TYPE_SYSTEM,
        source: "bed types (`gnuhealth_hospital_bed.bed_type`)",
    },
    LocalSystem {
        path: organization::INSTITUTION_TYPE_SYSTEM,
        source: "institution types (`gnuhealth_institution.institution_type`)",
    },
    LocalSystem {
        path: sid::PUID,
        source: "person and institution ids (`party_party.ref`, the PUID)",
    },
    LocalSystem {
        path: sid::FEDERATION,
        source: "Health Federation accounts (`party_party.federation_account`)",
    },
    LocalSystem {
        path: sid::PARTY_CODE,
        source: "party codes (`party_party.code`)",
    },
    LocalSystem {
        path: practitioner::LICENSE_SID,
        source: "health professionals' licence codes (`gnuhealth_healthprofessional.code`)",
    },
    LocalSystem {
        path: organization::INSTITUTION_SID,
        source: "institution codes (`gnuhealth_institution.code`)",
    },
    LocalSystem {
        path: location::LOCATION_SID,
        source: "building and unit codes (`gnuhealth_hospital_building.code`, `gnuhealth_hospital_unit.code`)",
    },
    LocalSystem {
        path: diagnostic_report::IDENTIFIER_SYSTEM,
        source: "lab test report numbers (`gnuhealth_lab.name`)",
    },
    LocalSystem {
        path: service_request::REQUISITION_SYSTEM,
        source: "lab request order numbers (`gnuhealth_patient_lab_test.request`)",
    },
    LocalSystem {
        path: medication_request::PRESCRIPTION_SYSTEM,
        source: "prescription numbers (`gnuhealth_prescription_order.prescription_id`)",
    },
    LocalSystem {
        path: procedure::IDENTIFIER_SYSTEM,
        source: "surgery codes (`gnuhealth_surgery.code`)",
    },
    LocalSystem {
        path: encounter::EVALUATION_SYSTEM,
        source: "evaluation codes (`gnuhealth_patient_evaluation.code`)",
    },
    LocalSystem {
        path: encounter::REGISTRATION_SYSTEM,
        source: "hospitalization codes (`gnuhealth_inpatient_registration.name`)",
    },
    LocalSystem {
        path: encounter::SESSION_SYSTEM,
        source: "nursing session codes (`gnuhealth_patient_ambulatory_care.name`)",
    },
    LocalSystem {
        path: appointment::APPOINTMENT_SID,
        source: "appointment codes (`gnuhealth_appointment.name`)",
    },
    LocalSystem {
        path: coverage::NUMBER_SID,
        source: "insurance numbers (`gnuhealth_insurance.number`)",
    },
    LocalSystem {
        path: coverage::TYPE_SYSTEM,
        source: "insurance types (`gnuhealth_insurance.insurance_type`: state, labour_union, private)",
    },
];

/// Every local system, each once: the table above and the patients' alternative
/// identifier types.
pub fn local() -> Vec<LocalSystem> {
    let mut out: Vec<LocalSystem> = LOCAL
        .iter()
        .map(|s| LocalSystem {
            path: s.path,
            source: s.source,
        })
        .collect();
    for (kind, path, _) in sid::ALTERNATIVE {
        if out.iter().any(|s| s.path == *path) {
            continue;
        }
        out.push(LocalSystem {
            path,
            source: match *kind {
                "country_id" => "national ids (`gnuhealth_person_alternative_identification`, type country_id)",
                "passport" => "passports (`gnuhealth_person_alternative_identification`, type passport)",
                "medical_record" => "medical record numbers (`gnuhealth_person_alternative_identification`, type medical_record)",
                _ => "other alternative ids (`gnuhealth_person_alternative_identification`)",
            },
        });
    }
    out
}

/// The standard systems the server emits, with what it uses them for.
pub const STANDARD: &[(&str, &str)] = &[
    (
        fhir::datatypes::ICD10,
        "ICD-10 (GNU Health's `gnuhealth_pathology.code`): conditions, allergies, family history, report conclusions",
    ),
    (
        fhir::datatypes::SNOMED,
        "SNOMED CT: condition severity, dosage timing, body sites",
    ),
    (
        fhir::datatypes::LOINC,
        "LOINC: vital signs and body measurements",
    ),
    (
        fhir::datatypes::UCUM,
        "UCUM: units of quantities, doses and durations",
    ),
    ("urn:ietf:bcp:47", "BCP 47: languages"),
    (
        "http://hl7.org/fhir/administrative-gender",
        "FHIR administrative gender",
    ),
    (
        "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
        "allergy clinical status",
    ),
    (
        "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
        "allergy verification status",
    ),
    (
        "http://terminology.hl7.org/CodeSystem/condition-category",
        "condition category",
    ),
    (
        "http://terminology.hl7.org/CodeSystem/condition-clinical",
        "condition clinical status",
    ),
    (
        "http://terminology.hl7.org/CodeSystem/condition-ver-status",
        "condition verification status",
    ),
    (
        "http://terminology.hl7.org/CodeSystem/diagnosis-role",
        "encounter diagnosis role",
    ),
    (
        "http://terminology.hl7.org/CodeSystem/discharge-disposition",
        "discharge disposition",
    ),
    (
        "http://terminology.hl7.org/CodeSystem/data-absent-reason",
        "why a value is missing",
    ),
    (
        "http://terminology.hl7.org/CodeSystem/location-physical-type",
        "location physical type",
    ),
    (
        "http://terminology.hl7.org/CodeSystem/observation-category",
        "observation category",
    ),
    (
        "http://terminology.hl7.org/CodeSystem/organization-type",
        "organization type",
    ),
    (appointment::STATUS_SYSTEM, "appointment status"),
    (
        appointment::APPOINTMENT_TYPE_SYSTEM,
        "HL7 v2 table 0276: appointment type",
    ),
    (
        "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason",
        "appointment cancellation reason",
    ),
    (coverage::STATUS_SYSTEM, "financial resource status"),
    (
        "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
        "coverage subscriber relationship",
    ),
    (coverage::CLASS_SYSTEM, "coverage class"),
    (
        "http://terminology.hl7.org/CodeSystem/v2-0074",
        "HL7 v2 table 0074: diagnostic service section",
    ),
    (
        "http://terminology.hl7.org/CodeSystem/v2-0116",
        "HL7 v2 table 0116: bed status",
    ),
    (
        "http://terminology.hl7.org/CodeSystem/v2-0131",
        "HL7 v2 table 0131: contact role",
    ),
    (
        "http://terminology.hl7.org/CodeSystem/v2-0203",
        "HL7 v2 table 0203: identifier type",
    ),
    (
        "http://terminology.hl7.org/CodeSystem/v2-0443",
        "HL7 v2 table 0443: provider role",
    ),
    (
        "http://terminology.hl7.org/CodeSystem/v3-ActCode",
        "HL7 v3 ActCode: encounter class",
    ),
    (
        "http://terminology.hl7.org/CodeSystem/v3-ActPriority",
        "HL7 v3 ActPriority: encounter priority",
    ),
    (
        "http://terminology.hl7.org/CodeSystem/v3-ActSite",
        "HL7 v3 ActSite: vaccination site",
    ),
    (
        "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus",
        "HL7 v3 MaritalStatus",
    ),
    (
        "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
        "HL7 v3 ObservationInterpretation: result flags",
    ),
    (
        "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
        "HL7 v3 ParticipationType: performer function, encounter participants",
    ),
    (
        "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
        "HL7 v3 RoleCode: family relationships, location types",
    ),
    (
        "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration",
        "HL7 v3 RouteOfAdministration: vaccination route",
    ),
];

/// Is `uri` a system this server documents (local ones under `ctx`'s base URL)?
pub fn is_documented(ctx: &Context, uri: &str) -> bool {
    STANDARD.iter().any(|(s, _)| *s == uri) || local().iter().any(|s| ctx.system(s.path) == uri)
}

/// The markdown for `CapabilityStatement.rest.documentation`: every system, local ones
/// with their full URI and source table.
pub fn documentation(ctx: &Context) -> String {
    let mut md = String::from(
        "## Code and identifier systems\n\n\
         GNU Health's own codes and identifiers are emitted in systems under this server's \
         base URL (no CodeSystem or NamingSystem resource is served for them):\n\n\
         | System | Values |\n|---|---|\n",
    );
    for s in local() {
        md.push_str(&format!("| `{}` | {} |\n", ctx.system(s.path), s.source));
    }
    md.push_str("\nStandard systems used:\n\n| System | Used for |\n|---|---|\n");
    for (uri, what) in STANDARD {
        md.push_str(&format!("| `{uri}` | {what} |\n"));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{Stored, System};

    fn ctx() -> Context {
        Context {
            base_url: "https://h.example/fhir".into(),
        }
    }

    #[test]
    fn every_system_a_search_parameter_names_is_documented() {
        let ctx = ctx();
        for def in crate::registry::all() {
            for p in def.params {
                for path in p.paths {
                    let system = match path.value {
                        Stored::Code(s) | Stored::Mapped(s, _) => s,
                        _ => continue,
                    };
                    // Status codes are `code` elements (no system emitted).
                    if let System::Local(_) = system {
                        let uri = system.resolve(&ctx).unwrap_or_default();
                        assert!(
                            is_documented(&ctx, &uri),
                            "{}.{}: {uri}",
                            def.type_name,
                            p.name
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn each_local_system_once_and_in_the_documentation() {
        let ctx = ctx();
        let all = local();
        let doc = documentation(&ctx);
        for (i, s) in all.iter().enumerate() {
            assert!(all[..i].iter().all(|o| o.path != s.path), "{}", s.path);
            assert!(doc.contains(&format!("`https://h.example/fhir/{}`", s.path)));
        }
        assert!(doc.contains("`http://hl7.org/fhir/sid/icd-10`"));
        assert!(!is_documented(
            &ctx,
            "https://h.example/fhir/CodeSystem/nothing"
        ));
    }
}
