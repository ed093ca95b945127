//! Generated narratives (`text`, status `generated`): a short XHTML summary of a resource in
//! the style of the R4 examples — a headline (who or what), then the few facts a clinician
//! reads first — built from the resource's own JSON, so it never shows more than the
//! resource holds (elements left out for access rights are left out here too).
//!
//! What each type shows is data: [`SUMMARIES`] (the headline and the rows, by element path)
//! and [`FORMS`] (how a backbone element reads on one line). Values are written in their
//! human forms by their R4 type, looked up in the definitions table. An element a summary
//! neither names nor leaves out on purpose still gets a row of its own, as does every
//! element of a type without a summary: nothing new goes unseen.

use crate::definitions;
use serde_json::{Map, Value};

/// How many items of a repeating element are shown.
const MAX_ITEMS: usize = 5;

/// Elements that are about the resource, not its content.
const SKIPPED: &[&str] = &[
    "resourceType",
    "id",
    "meta",
    "text",
    "contained",
    "extension",
    "modifierExtension",
    "implicitRules",
    "language",
];

/// How a group of elements reads on one line: `lead: rest (notes)`. Paths are relative to
/// the group; a choice is written `value[x]`.
struct Form {
    /// Alternatives: the first that has a value leads (the headline's bold part, the label
    /// of a row per item).
    lead: &'static [&'static str],
    /// What it says, after the lead.
    rest: &'static [&'static str],
    /// Qualifiers, in parentheses.
    notes: &'static [&'static str],
}

const fn form(
    lead: &'static [&'static str],
    rest: &'static [&'static str],
    notes: &'static [&'static str],
) -> Form {
    Form { lead, rest, notes }
}

/// The narrative of one resource type.
struct Summary {
    type_name: &'static str,
    headline: Form,
    /// The rows under the headline, in order: a label and an element path (dotted into
    /// backbone elements: `dispenseRequest.quantity`). An empty label makes a row per item,
    /// labelled by the item's lead (an Observation's components).
    rows: &'static [(&'static str, &'static str)],
    /// Elements deliberately not shown (identifiers of records, links between records).
    omitted: &'static [&'static str],
}

/// The per-type summaries.
static SUMMARIES: &[Summary] = &[
    Summary {
        type_name: "AllergyIntolerance",
        headline: form(&["code"], &[], &["clinicalStatus", "verificationStatus"]),
        rows: &[
            ("Patient", "patient"),
            ("Type", "type"),
            ("Category", "category"),
            ("Criticality", "criticality"),
            ("Reaction", "reaction"),
            ("Onset", "onset[x]"),
            ("Last occurrence", "lastOccurrence"),
            ("Recorded", "recordedDate"),
            ("Recorder", "recorder"),
            ("Asserter", "asserter"),
            ("Note", "note"),
        ],
        omitted: &["identifier", "encounter"],
    },
    Summary {
        type_name: "Appointment",
        headline: form(
            &[
                "description",
                "serviceType",
                "appointmentType",
                "specialty",
                "serviceCategory",
            ],
            &[],
            &["status"],
        ),
        rows: &[
            ("Start", "start"),
            ("End", "end"),
            ("Duration (minutes)", "minutesDuration"),
            ("", "participant"),
            ("Reason", "reasonCode"),
            ("Reason reference", "reasonReference"),
            ("Service type", "serviceType"),
            ("Appointment type", "appointmentType"),
            ("Specialty", "specialty"),
            ("Service category", "serviceCategory"),
            ("Priority", "priority"),
            ("Comment", "comment"),
            ("Patient instruction", "patientInstruction"),
            ("Cancelation reason", "cancelationReason"),
            ("Requested period", "requestedPeriod"),
            ("Created", "created"),
        ],
        omitted: &["identifier", "supportingInformation", "slot", "basedOn"],
    },
    Summary {
        type_name: "Condition",
        headline: form(&["code"], &[], &["clinicalStatus", "verificationStatus"]),
        rows: &[
            ("Patient", "subject"),
            ("Severity", "severity"),
            ("Onset", "onset[x]"),
            ("Abatement", "abatement[x]"),
            ("Category", "category"),
            ("Body site", "bodySite"),
            ("Stage", "stage"),
            ("Evidence", "evidence"),
            ("Recorded", "recordedDate"),
            ("Recorder", "recorder"),
            ("Asserter", "asserter"),
            ("Note", "note"),
        ],
        omitted: &["identifier", "encounter"],
    },
    Summary {
        type_name: "Coverage",
        headline: form(&["type"], &["payor"], &["status"]),
        rows: &[
            ("Beneficiary", "beneficiary"),
            ("Subscriber", "subscriber"),
            ("Subscriber ID", "subscriberId"),
            ("Policy holder", "policyHolder"),
            ("Relationship", "relationship"),
            ("Period", "period"),
            ("", "class"),
            ("Dependent", "dependent"),
            ("Network", "network"),
            ("Order", "order"),
            ("Cost to beneficiary", "costToBeneficiary"),
            ("Subrogation", "subrogation"),
            ("Identifier", "identifier"),
        ],
        omitted: &["contract"],
    },
    Summary {
        type_name: "DiagnosticReport",
        headline: form(&["code"], &[], &["status"]),
        rows: &[
            ("Patient", "subject"),
            ("Date", "effective[x]"),
            ("Issued", "issued"),
            ("Conclusion", "conclusion"),
            ("Conclusion code", "conclusionCode"),
            ("Category", "category"),
            ("Results", "result"),
            ("Performer", "performer"),
            ("Results interpreter", "resultsInterpreter"),
            ("Specimen", "specimen"),
            ("Media", "media"),
            ("Report", "presentedForm"),
        ],
        omitted: &["identifier", "basedOn", "encounter", "imagingStudy"],
    },
    Summary {
        type_name: "Encounter",
        headline: form(&["class"], &["type", "serviceType"], &["status"]),
        rows: &[
            ("Patient", "subject"),
            ("Period", "period"),
            ("", "participant"),
            ("Reason", "reasonCode"),
            ("Reason reference", "reasonReference"),
            ("Diagnosis", "diagnosis"),
            ("Location", "location"),
            ("Service provider", "serviceProvider"),
            ("Priority", "priority"),
            ("Length", "length"),
            ("Admitted from", "hospitalization.admitSource"),
            ("Origin", "hospitalization.origin"),
            ("Readmission", "hospitalization.reAdmission"),
            (
                "Discharge disposition",
                "hospitalization.dischargeDisposition",
            ),
            ("Destination", "hospitalization.destination"),
            ("Diet", "hospitalization.dietPreference"),
            ("Status history", "statusHistory"),
            ("Class history", "classHistory"),
        ],
        omitted: &[
            "identifier",
            "episodeOfCare",
            "basedOn",
            "appointment",
            "account",
            "partOf",
        ],
    },
    Summary {
        type_name: "FamilyMemberHistory",
        headline: form(&["relationship"], &["condition"], &["sex"]),
        rows: &[
            ("Patient", "patient"),
            ("Name", "name"),
            ("Born", "born[x]"),
            ("Age", "age[x]"),
            ("Deceased", "deceased[x]"),
            ("Reason", "reasonCode"),
            ("Status", "status"),
            ("Recorded", "date"),
            ("Note", "note"),
        ],
        omitted: &["identifier", "reasonReference"],
    },
    Summary {
        type_name: "Immunization",
        headline: form(&["vaccineCode"], &[], &["status"]),
        rows: &[
            ("Patient", "patient"),
            ("Date", "occurrence[x]"),
            ("Dose", "protocolApplied.doseNumber[x]"),
            ("Doses in series", "protocolApplied.seriesDoses[x]"),
            ("Series", "protocolApplied.series"),
            ("Target disease", "protocolApplied.targetDisease"),
            ("Dose quantity", "doseQuantity"),
            ("Site", "site"),
            ("Route", "route"),
            ("Lot", "lotNumber"),
            ("Expiration date", "expirationDate"),
            ("Manufacturer", "manufacturer"),
            ("", "performer"),
            ("Location", "location"),
            ("Reason", "reasonCode"),
            ("Status reason", "statusReason"),
            ("Reaction", "reaction"),
            ("Subpotent", "isSubpotent"),
            ("Recorded", "recorded"),
            ("Primary source", "primarySource"),
            ("Note", "note"),
        ],
        omitted: &["identifier", "encounter", "reasonReference"],
    },
    Summary {
        type_name: "Location",
        headline: form(&["name"], &["description"], &["physicalType"]),
        rows: &[
            ("Status", "status"),
            ("Operational status", "operationalStatus"),
            ("Type", "type"),
            ("Mode", "mode"),
            ("Also known as", "alias"),
            ("Address", "address"),
            ("Contact details", "telecom"),
            ("Part of", "partOf"),
            ("Managing organization", "managingOrganization"),
            ("Hours", "hoursOfOperation"),
            ("Availability", "availabilityExceptions"),
            ("Identifier", "identifier"),
        ],
        omitted: &["position", "endpoint"],
    },
    Summary {
        type_name: "Medication",
        headline: form(&["code"], &[], &["form"]),
        rows: &[
            ("Ingredients", "ingredient"),
            ("Amount", "amount"),
            ("Manufacturer", "manufacturer"),
            ("Batch", "batch"),
            ("Status", "status"),
        ],
        omitted: &["identifier"],
    },
    Summary {
        type_name: "MedicationRequest",
        headline: form(&["medication[x]"], &[], &["status"]),
        rows: &[
            ("Patient", "subject"),
            ("Dosage", "dosageInstruction"),
            ("Authored", "authoredOn"),
            ("Requester", "requester"),
            ("Reason", "reasonCode"),
            ("Reason reference", "reasonReference"),
            ("Intent", "intent"),
            ("Quantity", "dispenseRequest.quantity"),
            ("Repeats allowed", "dispenseRequest.numberOfRepeatsAllowed"),
            ("Validity period", "dispenseRequest.validityPeriod"),
            ("Supply duration", "dispenseRequest.expectedSupplyDuration"),
            ("Substitution allowed", "substitution.allowed[x]"),
            ("Prescription", "groupIdentifier"),
            ("Status reason", "statusReason"),
            ("Category", "category"),
            ("Priority", "priority"),
            ("Course of therapy", "courseOfTherapyType"),
            ("Performer", "performer"),
            ("Note", "note"),
        ],
        omitted: &[
            "identifier",
            "encounter",
            "basedOn",
            "supportingInformation",
            "insurance",
        ],
    },
    Summary {
        type_name: "MedicationStatement",
        headline: form(&["medication[x]"], &[], &["status"]),
        rows: &[
            ("Patient", "subject"),
            ("Dosage", "dosage"),
            ("Taken", "effective[x]"),
            ("Reason", "reasonCode"),
            ("Reason reference", "reasonReference"),
            ("Status reason", "statusReason"),
            ("Category", "category"),
            ("Asserted", "dateAsserted"),
            ("Information source", "informationSource"),
            ("Note", "note"),
        ],
        omitted: &["identifier", "basedOn", "partOf", "context", "derivedFrom"],
    },
    Summary {
        type_name: "Observation",
        headline: form(
            &["code"],
            &["value[x]", "dataAbsentReason", "component"],
            &["interpretation"],
        ),
        rows: &[
            ("Patient", "subject"),
            ("Date", "effective[x]"),
            ("Issued", "issued"),
            ("Status", "status"),
            ("Category", "category"),
            ("Reference range", "referenceRange"),
            ("", "component"),
            ("Performer", "performer"),
            ("Method", "method"),
            ("Body site", "bodySite"),
            ("Specimen", "specimen"),
            ("Device", "device"),
            ("Focus", "focus"),
            ("Note", "note"),
        ],
        omitted: &[
            "identifier",
            "basedOn",
            "partOf",
            "encounter",
            "hasMember",
            "derivedFrom",
        ],
    },
    Summary {
        type_name: "Organization",
        headline: form(&["name"], &[], &["type"]),
        rows: &[
            ("Also known as", "alias"),
            ("Identifier", "identifier"),
            ("Contact details", "telecom"),
            ("Address", "address"),
            ("Part of", "partOf"),
            ("Contact", "contact"),
            ("Active", "active"),
        ],
        omitted: &["endpoint"],
    },
    Summary {
        type_name: "Patient",
        headline: form(&["name"], &[], &["gender", "birthDate"]),
        rows: &[
            ("Contact details", "telecom"),
            ("Address", "address"),
            ("Identifier", "identifier"),
            ("Marital status", "maritalStatus"),
            ("Deceased", "deceased[x]"),
            ("Multiple birth", "multipleBirth[x]"),
            ("Language", "communication"),
            ("Contact person", "contact"),
            ("General practitioner", "generalPractitioner"),
            ("Managing organization", "managingOrganization"),
            ("Link", "link"),
            ("Active", "active"),
        ],
        omitted: &["photo"],
    },
    Summary {
        type_name: "Practitioner",
        headline: form(&["name"], &[], &[]),
        rows: &[
            ("Qualification", "qualification"),
            ("Identifier", "identifier"),
            ("Contact details", "telecom"),
            ("Address", "address"),
            ("Gender", "gender"),
            ("Birth date", "birthDate"),
            ("Language", "communication"),
            ("Active", "active"),
        ],
        omitted: &["photo"],
    },
    Summary {
        type_name: "PractitionerRole",
        headline: form(&["practitioner"], &["code", "specialty"], &["organization"]),
        rows: &[
            ("Location", "location"),
            ("Service", "healthcareService"),
            ("Period", "period"),
            ("Contact details", "telecom"),
            ("Available", "availableTime"),
            ("Not available", "notAvailable"),
            ("Availability", "availabilityExceptions"),
            ("Identifier", "identifier"),
            ("Active", "active"),
        ],
        omitted: &["endpoint"],
    },
    Summary {
        type_name: "Procedure",
        headline: form(&["code"], &[], &["status"]),
        rows: &[
            ("Patient", "subject"),
            ("Performed", "performed[x]"),
            ("", "performer"),
            ("Location", "location"),
            ("Reason", "reasonCode"),
            ("Reason reference", "reasonReference"),
            ("Category", "category"),
            ("Body site", "bodySite"),
            ("Outcome", "outcome"),
            ("Complication", "complication"),
            ("Follow-up", "followUp"),
            ("Status reason", "statusReason"),
            ("Recorder", "recorder"),
            ("Asserter", "asserter"),
            ("Note", "note"),
        ],
        omitted: &["identifier", "basedOn", "partOf", "encounter", "report"],
    },
    Summary {
        type_name: "RelatedPerson",
        headline: form(&["name"], &[], &["relationship"]),
        rows: &[
            ("Patient", "patient"),
            ("Contact details", "telecom"),
            ("Address", "address"),
            ("Gender", "gender"),
            ("Birth date", "birthDate"),
            ("Period", "period"),
            ("Language", "communication"),
            ("Identifier", "identifier"),
            ("Active", "active"),
        ],
        omitted: &["photo"],
    },
    Summary {
        type_name: "ServiceRequest",
        headline: form(&["code"], &[], &["status", "priority"]),
        rows: &[
            ("Patient", "subject"),
            ("Requested", "authoredOn"),
            ("Requester", "requester"),
            ("Reason", "reasonCode"),
            ("Reason reference", "reasonReference"),
            ("Category", "category"),
            ("Intent", "intent"),
            ("Occurrence", "occurrence[x]"),
            ("Performer", "performer"),
            ("Specimen", "specimen"),
            ("Body site", "bodySite"),
            ("Requisition", "requisition"),
            ("Patient instruction", "patientInstruction"),
            ("Note", "note"),
        ],
        omitted: &["identifier", "basedOn", "replaces", "encounter"],
    },
];

/// How backbone elements read on one line (the others: `Label: value, …`).
static FORMS: &[(&str, Form)] = &[
    (
        "AllergyIntolerance.reaction",
        form(
            &["manifestation"],
            &["description"],
            &["severity", "substance", "onset", "exposureRoute"],
        ),
    ),
    (
        "Appointment.participant",
        form(&["type"], &["actor"], &["status", "period"]),
    ),
    ("Condition.evidence", form(&["code"], &["detail"], &[])),
    (
        "Condition.stage",
        form(&["summary"], &["assessment"], &["type"]),
    ),
    ("Coverage.class", form(&["type"], &["value"], &["name"])),
    ("Encounter.classHistory", form(&["class"], &[], &["period"])),
    (
        "Encounter.diagnosis",
        form(&["condition"], &[], &["use", "rank"]),
    ),
    (
        "Encounter.location",
        form(&["location"], &[], &["status", "period"]),
    ),
    (
        "Encounter.participant",
        form(&["type"], &["individual"], &["period"]),
    ),
    (
        "Encounter.statusHistory",
        form(&["status"], &[], &["period"]),
    ),
    (
        "FamilyMemberHistory.condition",
        form(
            &["code"],
            &[],
            &["outcome", "onset[x]", "contributedToDeath"],
        ),
    ),
    (
        "Immunization.performer",
        form(&["function"], &["actor"], &[]),
    ),
    (
        "Immunization.reaction",
        form(&["detail"], &[], &["date", "reported"]),
    ),
    (
        "Medication.batch",
        form(&["lotNumber"], &[], &["expirationDate"]),
    ),
    (
        "Medication.ingredient",
        form(&["item[x]"], &["strength"], &[]),
    ),
    (
        "Observation.component",
        form(
            &["code"],
            &["value[x]", "dataAbsentReason"],
            &["interpretation"],
        ),
    ),
    (
        "Patient.communication",
        form(&["language"], &[], &["preferred"]),
    ),
    (
        "Patient.contact",
        form(
            &["relationship"],
            &["name", "telecom", "address", "organization"],
            &["period"],
        ),
    ),
    ("Patient.link", form(&["type"], &["other"], &[])),
    (
        "Practitioner.qualification",
        form(&["code"], &[], &["period", "issuer"]),
    ),
    (
        "Procedure.performer",
        form(&["function"], &["actor"], &["onBehalfOf"]),
    ),
    (
        "RelatedPerson.communication",
        form(&["language"], &[], &["preferred"]),
    ),
];

/// A value with its R4 type code ("" when the definitions do not know it).
type Typed<'a> = (&'a Value, &'static str);

/// The values at `path` below `value` (of type `ty`), the items of repeating elements one
/// by one.
fn resolve<'a>(value: &'a Value, ty: &'static str, path: &str) -> Vec<Typed<'a>> {
    let mut current = vec![(value, ty)];
    for segment in path.split('.') {
        let name = segment.trim_end_matches("[x]");
        let mut next = Vec::new();
        for (v, t) in current {
            let Some(o) = v.as_object() else {
                continue;
            };
            let mut push = |child: &'a Value, child_ty: &'static str| match child {
                Value::Array(items) => next.extend(items.iter().map(|i| (i, child_ty))),
                Value::Null => {}
                _ => next.push((child, child_ty)),
            };
            let def = definitions::find(t);
            match def.map(|d| d.elements.iter().find(|el| el.name == name)) {
                // A choice: whichever of its typed names the object has.
                Some(Some(el)) if el.choice() => {
                    for (key, child) in o.iter().filter(|(k, _)| k.starts_with(name)) {
                        if let Some(child_ty) = el.type_of(key) {
                            push(child, child_ty);
                        }
                    }
                }
                Some(Some(el)) => {
                    if let (Some(child), Some(child_ty)) = (o.get(name), el.types.first()) {
                        push(child, child_ty);
                    }
                }
                Some(None) => {}
                // A type the definitions do not know: by name, untyped.
                None => {
                    if let Some(child) = o.get(name) {
                        push(child, "");
                    }
                }
            }
        }
        current = next;
    }
    current
}

/// Items joined, at most [`MAX_ITEMS`] of them.
fn join_items(parts: Vec<String>) -> Option<String> {
    let more = parts.len().saturating_sub(MAX_ITEMS);
    let mut text = parts
        .into_iter()
        .take(MAX_ITEMS)
        .collect::<Vec<_>>()
        .join("; ");
    if text.is_empty() {
        return None;
    }
    if more > 0 {
        text.push_str(&format!("; and {more} more"));
    }
    Some(text)
}

/// The values of an element on one line.
fn inline(items: &[Typed]) -> Option<String> {
    blood_pressure(items)
        .or_else(|| join_items(items.iter().filter_map(|&(v, t)| text(v, t)).collect()))
}

const LOINC: &str = "http://loinc.org";

/// Systolic and diastolic blood pressure components (LOINC 8480-6 and 8462-4) as
/// clinicians write them: `120/80 mmHg`.
fn blood_pressure(items: &[Typed]) -> Option<String> {
    if items.first()?.1 != "Observation.component" {
        return None;
    }
    let value = |code: &str| {
        items.iter().find_map(|(c, _)| {
            let codings = c.get("code")?.get("coding")?.as_array()?;
            codings
                .iter()
                .find(|x| {
                    x.get("system").and_then(Value::as_str) == Some(LOINC)
                        && x.get("code").and_then(Value::as_str) == Some(code)
                })
                .and(c.get("valueQuantity"))
                .filter(|q| q.get("comparator").is_none())
                .and_then(Value::as_object)
                .and_then(|q| Some((q.get("value")?.as_number()?.to_string(), unit(q))))
        })
    };
    let (systolic, unit_s) = value("8480-6")?;
    let (diastolic, unit_d) = value("8462-4")?;
    (unit_s == unit_d).then(|| match unit_s {
        Some(u) => format!("{systolic}/{diastolic} {u}"),
        None => format!("{systolic}/{diastolic}"),
    })
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

/// A primitive child of `o` as text.
fn field(o: &Map<String, Value>, key: &str) -> Option<String> {
    o.get(key).and_then(|v| text(v, "string"))
}

/// A primitive child of `o` that may repeat, as texts.
fn strings(o: &Map<String, Value>, key: &str) -> Vec<String> {
    match o.get(key) {
        Some(Value::Array(items)) => items.iter().filter_map(|v| text(v, "string")).collect(),
        Some(v) => text(v, "string").into_iter().collect(),
        None => Vec::new(),
    }
}

/// A quantity's unit: its human unit, else its code.
fn unit(q: &Map<String, Value>) -> Option<String> {
    field(q, "unit").or_else(|| field(q, "code"))
}

/// `5.4 mmol/L`, `< 3 mg`.
fn quantity(q: &Map<String, Value>) -> Option<String> {
    let value = field(q, "value")?;
    Some(
        [field(q, "comparator"), Some(value), unit(q)]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// `11 – 16 g/dL` (the unit once when both ends share it), `≥ 4 mmol/L` when open.
fn range(low: Option<&Value>, high: Option<&Value>) -> Option<String> {
    let low = low.and_then(Value::as_object);
    let high = high.and_then(Value::as_object);
    let (l, h) = (low.and_then(quantity), high.and_then(quantity));
    match (l, h) {
        (Some(l), Some(h)) => {
            let lu = low.and_then(unit);
            let same = lu.is_some() && lu == high.and_then(unit);
            let lv = low.and_then(|q| field(q, "value")).filter(|_| same);
            Some(format!("{} – {h}", lv.unwrap_or(l)))
        }
        (Some(l), None) => Some(format!("≥ {l}")),
        (None, Some(h)) => Some(format!("≤ {h}")),
        (None, None) => None,
    }
}

/// `system` without its path: `http://example.org/sid/puid` → `puid`.
fn short_system(system: &str) -> &str {
    let s = system.trim_end_matches('/');
    s.rsplit('/').next().filter(|t| !t.is_empty()).unwrap_or(s)
}

/// The text of `v`, a value of type `ty`, in the form people read it.
fn text(v: &Value, ty: &'static str) -> Option<String> {
    let o = match v {
        Value::String(s) => {
            let s = s.trim();
            return (!s.is_empty()).then(|| s.to_owned());
        }
        Value::Number(n) => return Some(n.to_string()),
        Value::Bool(b) => return Some(yes_no(*b)),
        Value::Array(items) => {
            return inline(&items.iter().map(|i| (i, ty)).collect::<Vec<_>>());
        }
        Value::Object(o) => o,
        Value::Null => return None,
    };
    let typed = |key: &str, t: &'static str| o.get(key).and_then(|v| text(v, t));
    match ty {
        "HumanName" => field(o, "text").or_else(|| {
            let parts: Vec<String> = ["prefix", "given", "family", "suffix"]
                .iter()
                .flat_map(|k| strings(o, k))
                .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        }),
        "CodeableConcept" => field(o, "text").or_else(|| {
            let codings = o.get("coding").and_then(Value::as_array)?;
            let first = |k: &str| {
                codings
                    .iter()
                    .find_map(|c| c.get(k).and_then(|v| text(v, "string")))
            };
            first("display").or_else(|| first("code"))
        }),
        "Coding" => field(o, "display").or_else(|| field(o, "code")),
        "Quantity" | "Age" | "Count" | "Distance" | "Duration" | "SimpleQuantity"
        | "MoneyQuantity" => quantity(o),
        "Range" => range(o.get("low"), o.get("high")),
        "Observation.referenceRange" => {
            range(o.get("low"), o.get("high")).or_else(|| field(o, "text"))
        }
        "Ratio" => {
            let part = |k: &str| o.get(k).and_then(Value::as_object).and_then(quantity);
            match (part("numerator"), part("denominator")) {
                (Some(n), Some(d)) => Some(format!("{n} / {d}")),
                (n, _) => n,
            }
        }
        "Period" => match (field(o, "start"), field(o, "end")) {
            (Some(s), Some(e)) => Some(format!("{s} – {e}")),
            (Some(s), None) => Some(format!("{s} –")),
            (None, Some(e)) => Some(format!("– {e}")),
            (None, None) => None,
        },
        "Reference" => field(o, "display")
            .or_else(|| field(o, "reference"))
            .or_else(|| typed("identifier", "Identifier")),
        "Identifier" => {
            let value = field(o, "value")?;
            let kind = typed("type", "CodeableConcept")
                .or_else(|| field(o, "system").map(|s| short_system(&s).to_owned()));
            Some(match kind {
                Some(k) => format!("{value} ({k})"),
                None => value,
            })
        }
        "ContactPoint" => {
            let value = field(o, "value")?;
            let kind: Vec<String> = ["use", "system"]
                .iter()
                .filter_map(|k| field(o, k))
                .collect();
            Some(if kind.is_empty() {
                value
            } else {
                format!("{value} ({})", kind.join(" "))
            })
        }
        "Address" => field(o, "text").or_else(|| {
            let parts: Vec<String> = ["line", "district", "city", "state", "postalCode", "country"]
                .iter()
                .flat_map(|k| strings(o, k))
                .collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }),
        "Annotation" => field(o, "text"),
        "Attachment" => field(o, "title").or_else(|| field(o, "url")),
        "Money" => {
            let value = field(o, "value")?;
            Some(match field(o, "currency") {
                Some(c) => format!("{value} {c}"),
                None => value,
            })
        }
        "Dosage" => field(o, "text").or_else(|| labelled(o, ty)),
        "Timing" => typed("code", "CodeableConcept").or_else(|| labelled(o, ty)),
        "Meta" | "Narrative" | "Extension" | "Resource" | "xhtml" => None,
        _ => match FORMS.iter().find(|(name, _)| *name == ty) {
            Some((_, f)) => line(v, ty, f).joined(),
            None => labelled(o, ty),
        },
    }
}

/// A group of elements without a form of its own: `Label: value, …`.
fn labelled(o: &Map<String, Value>, ty: &'static str) -> Option<String> {
    let def = definitions::find(ty);
    let parts: Vec<String> = o
        .iter()
        .filter(|(k, _)| !k.starts_with('_') && !SKIPPED.contains(&k.as_str()))
        .filter_map(|(k, v)| {
            let (name, child_ty) = match def.and_then(|d| d.element(k)) {
                Some((el, t)) => (el.name, t),
                None => (k.as_str(), ""),
            };
            Some(format!("{}: {}", label(name), text(v, child_ty)?))
        })
        .take(MAX_ITEMS)
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// `birthDate` → `Birth date`.
fn label(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if i == 0 {
            out.push(c.to_ascii_uppercase());
        } else if c.is_ascii_uppercase() {
            out.push(' ');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A label from the data (a code's display: `primary performer`) written as the others.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A [`Form`] filled in.
#[derive(Debug, Default)]
struct Line {
    lead: Option<String>,
    /// Which of the form's lead paths it is.
    lead_path: Option<&'static str>,
    rest: Option<String>,
    notes: Option<String>,
}

impl Line {
    /// What follows the lead: `rest (notes)`.
    fn body(&self) -> Option<String> {
        match (&self.rest, &self.notes) {
            (Some(r), Some(n)) => Some(format!("{r} ({n})")),
            (Some(r), None) => Some(r.clone()),
            (None, Some(n)) => Some(n.clone()),
            (None, None) => None,
        }
    }

    /// `lead: rest (notes)`, whatever parts it has.
    fn joined(&self) -> Option<String> {
        let mut out = self.lead.clone().unwrap_or_default();
        if let Some(r) = &self.rest {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(r);
        }
        if let Some(n) = &self.notes {
            if out.is_empty() {
                out.push_str(n);
            } else {
                out.push_str(&format!(" ({n})"));
            }
        }
        (!out.is_empty()).then_some(out)
    }
}

/// `form` filled in from `v` (of type `ty`).
fn line(v: &Value, ty: &'static str, form: &Form) -> Line {
    let lead = form
        .lead
        .iter()
        .find_map(|p| Some((*p, inline(&resolve(v, ty, p))?)));
    let parts = |paths: &[&str], qualifiers: bool| {
        let parts: Vec<String> = paths
            .iter()
            .filter(|p| lead.as_ref().is_none_or(|(l, _)| l != *p))
            .filter_map(|p| part(v, ty, p, qualifiers))
            .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    };
    let (rest, notes) = (parts(form.rest, false), parts(form.notes, true));
    Line {
        lead_path: lead.as_ref().map(|(p, _)| *p),
        lead: lead.map(|(_, t)| t),
        rest,
        notes,
    }
}

/// One part of a line: a value; a qualifier that is a bare number or yes/no is labelled
/// (`Rank: 1`, `Preferred: yes`), what the line says needs no label (`Part 1: 5`).
fn part(v: &Value, ty: &'static str, path: &str, qualifier: bool) -> Option<String> {
    let items = resolve(v, ty, path);
    let value = inline(&items)?;
    let bare = qualifier
        && items
            .iter()
            .all(|(_, t)| *t == "boolean" || definitions::is_number(t));
    if !bare {
        return Some(value);
    }
    let name = path.rsplit('.').next().unwrap_or(path);
    Some(format!("{}: {value}", label(name.trim_end_matches("[x]"))))
}

/// Text for XHTML: escaped (text content needs only `&`, `<`, `>`: no attribute carries
/// data, so the div reads the same in JSON and once re-serialized in XML), line breaks as
/// `<br/>`, characters XML cannot carry dropped.
fn xhtml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' | '\n' => out.push_str("<br/>"),
            '\t' => out.push(' '),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

fn row(out: &mut String, label: &str, value: &str) {
    out.push_str(&format!(
        "<tr><th>{}</th><td>{}</td></tr>",
        xhtml(label),
        xhtml(value)
    ));
}

/// `resource` with its local references (`#dx1`) to contained resources given what those
/// are — their headline, a contained Condition its code — as display, when it has any.
fn with_contained_displays(resource: &Value) -> Option<Value> {
    let contained = resource.get("contained")?.as_array()?;
    let names: Vec<(String, String)> = contained
        .iter()
        .filter_map(|c| {
            let type_name = c.get("resourceType")?.as_str()?;
            let ty = definitions::resource(type_name)?.name;
            let summary = SUMMARIES.iter().find(|s| s.type_name == type_name)?;
            let id = c.get("id")?.as_str()?;
            Some((format!("#{id}"), line(c, ty, &summary.headline).lead?))
        })
        .collect();
    if names.is_empty() {
        return None;
    }
    fn fill(v: &mut Value, names: &[(String, String)]) {
        match v {
            Value::Object(o) => {
                let local = o.get("reference").and_then(Value::as_str);
                let name = local.and_then(|r| names.iter().find(|(id, _)| id == r));
                if let (Some((_, name)), None) = (name, o.get("display")) {
                    o.insert("display".into(), Value::String(name.clone()));
                }
                for (k, child) in o.iter_mut() {
                    if k != "contained" {
                        fill(child, names);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| fill(i, names)),
            _ => {}
        }
    }
    let mut filled = resource.clone();
    fill(&mut filled, &names);
    Some(filled)
}

/// The narrative of `resource`: a headline, then a row per fact.
pub fn generate(resource: &Value) -> Option<Value> {
    let filled = with_contained_displays(resource);
    let resource = filled.as_ref().unwrap_or(resource);
    let o = resource.as_object()?;
    let type_name = o.get("resourceType")?.as_str()?;
    let ty = definitions::resource(type_name).map_or("", |d| d.name);
    let summary = SUMMARIES.iter().find(|s| s.type_name == type_name);
    let id = o.get("id").and_then(Value::as_str).unwrap_or("");
    let fallback_title = format!("{type_name} {id}").trim().to_owned();

    let headline = summary.map(|s| line(resource, ty, &s.headline));
    let mut head = format!(
        "<b>{}</b>",
        xhtml(
            headline
                .as_ref()
                .and_then(|h| h.lead.as_deref())
                .unwrap_or(&fallback_title)
        )
    );
    if let Some(h) = &headline {
        if let Some(r) = &h.rest {
            head.push_str(&format!(": {}", xhtml(r)));
        }
        if let Some(n) = &h.notes {
            head.push_str(&format!(" ({})", xhtml(n)));
        }
    }

    let mut rows = String::new();
    let mut shown: Vec<&str> = Vec::new();
    if let Some(s) = summary {
        let lead_path = headline.as_ref().and_then(|h| h.lead_path);
        let head_paths = s
            .headline
            .lead
            .iter()
            .chain(s.headline.rest)
            .chain(s.headline.notes);
        shown.extend(
            head_paths
                .chain(s.rows.iter().map(|(_, p)| p))
                .chain(s.omitted)
                .map(|p| {
                    let first = p.split('.').next().unwrap_or(p);
                    first.trim_end_matches("[x]")
                }),
        );
        for (name, path) in s.rows {
            if Some(*path) == lead_path {
                continue;
            }
            let items = resolve(resource, ty, path);
            if !name.is_empty() {
                if let Some(value) = inline(&items) {
                    row(&mut rows, name, &value);
                }
                continue;
            }
            // A row per item, labelled by its lead.
            let element = label(path.rsplit('.').next().unwrap_or(path));
            for &(v, t) in items.iter().take(MAX_ITEMS) {
                let item = FORMS
                    .iter()
                    .find(|(n, _)| *n == t)
                    .map(|(_, f)| line(v, t, f))
                    .unwrap_or_else(|| Line {
                        rest: text(v, t),
                        ..Line::default()
                    });
                match (item.lead.clone(), item.body()) {
                    (Some(l), Some(b)) => row(&mut rows, &capitalized(&l), &b),
                    (None, Some(b)) | (Some(b), None) => row(&mut rows, &element, &b),
                    (None, None) => {}
                }
            }
            if items.len() > MAX_ITEMS {
                let more = format!("and {} more", items.len() - MAX_ITEMS);
                row(&mut rows, &element, &more);
            }
        }
    }
    // Elements no summary foresaw: a row each.
    let def = definitions::find(ty);
    for (key, value) in o {
        if key.starts_with('_') || SKIPPED.contains(&key.as_str()) {
            continue;
        }
        let (name, child_ty) = match def.and_then(|d| d.element(key)) {
            Some((el, t)) => (el.name, t),
            None => (key.as_str(), ""),
        };
        if shown.contains(&name) {
            continue;
        }
        if let Some(value) = text(value, child_ty) {
            row(&mut rows, &label(name), &value);
        }
    }

    let div = format!(
        "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>{head}</p>{}</div>",
        if rows.is_empty() {
            String::new()
        } else {
            format!("<table>{rows}</table>")
        }
    );
    Some(serde_json::json!({"status": "generated", "div": div}))
}

/// Give `resource` its generated narrative, unless it has one. `text` goes right after
/// `meta` (R4 element order), which the JSON map keeps.
pub fn add(resource: &mut Value) {
    if resource.get("text").is_some() {
        return;
    }
    let Some(text) = generate(resource) else {
        return;
    };
    let Some(o) = resource.as_object_mut() else {
        return;
    };
    let entries: Vec<(String, Value)> = std::mem::take(o).into_iter().collect();
    let mut placed = false;
    for (k, v) in entries {
        let after = k == "meta";
        let before_content = !placed && !["resourceType", "id", "meta"].contains(&k.as_str());
        if before_content {
            o.insert("text".into(), text.clone());
            placed = true;
        }
        o.insert(k, v);
        if after && !placed {
            o.insert("text".into(), text.clone());
            placed = true;
        }
    }
    if !placed {
        o.insert("text".into(), text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const OPEN: &str = "<div xmlns=\"http://www.w3.org/1999/xhtml\">";

    /// The generated div without its wrapper, once checked: only XHTML elements R4 allows
    /// (txt-1) and no attributes, not empty (txt-2), and the same after a round trip
    /// through XML.
    fn body(resource: &Value) -> String {
        let mut r = resource.clone();
        add(&mut r);
        assert_eq!(r["text"]["status"], "generated");
        let div = r["text"]["div"].as_str().unwrap_or_default().to_owned();
        let inner = div
            .strip_prefix(OPEN)
            .and_then(|d| d.strip_suffix("</div>"))
            .unwrap_or_else(|| panic!("{div}"));
        assert!(inner.starts_with("<p><b>") && inner.len() > "<p><b></b></p>".len());
        for tag in inner.split('<').skip(1) {
            let tag = &tag[..tag.find('>').unwrap_or_else(|| panic!("{inner}"))];
            let name = tag.trim_start_matches('/').trim_end_matches('/');
            assert!(
                ["p", "b", "table", "tr", "th", "td", "br"].contains(&name),
                "<{tag}> in {inner}"
            );
        }
        let xml = crate::xml::to_xml(&r, false).unwrap_or_else(|e| panic!("{e}"));
        let back = crate::xml::from_xml(&String::from_utf8(xml).unwrap()).unwrap();
        assert_eq!(back["text"]["div"], div.as_str());
        inner.to_owned()
    }

    /// The expected div body: a headline and rows.
    fn expected(headline: &str, rows: &[(&str, &str)]) -> String {
        let rows: String = rows
            .iter()
            .map(|(l, v)| format!("<tr><th>{l}</th><td>{v}</td></tr>"))
            .collect();
        if rows.is_empty() {
            format!("<p>{headline}</p>")
        } else {
            format!("<p>{headline}</p><table>{rows}</table>")
        }
    }

    fn cc(system: &str, code: &str, display: &str) -> Value {
        json!({"coding": [{"system": system, "code": code, "display": display}], "text": display})
    }

    fn loinc(code: &str, display: &str) -> Value {
        json!({"coding": [{"system": LOINC, "code": code, "display": display}]})
    }

    fn patient() -> Value {
        json!({
            "resourceType": "Patient",
            "id": "7",
            "meta": {"versionId": "1"},
            "extension": [{"url": "http://example.org/x", "valueCode": "M"}],
            "identifier": [
                {"use": "official", "system": "http://example.org/sid/puid", "value": "WDZ145JKU"},
                {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                 "system": "http://example.org/sid/medical-record", "value": "HC-1000036"}
            ],
            "active": true,
            "name": [{"use": "official", "family": "Cabello Herrera", "given": ["Agustín", "José"]}],
            "telecom": [
                {"system": "phone", "value": "+34 922 894 025", "use": "home", "rank": 1},
                {"system": "email", "value": "agustin@example.net", "rank": 2}
            ],
            "gender": "male",
            "birthDate": "2002-09-30",
            "deceasedBoolean": false,
            "address": [{"use": "home", "line": ["Calle Galicia 144", "2B"], "city": "Arona",
                         "state": "Santa Cruz de Tenerife", "postalCode": "38650", "country": "ES"}],
            "maritalStatus": cc("http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "L", "Legally Separated"),
            "contact": [{"relationship": [{"text": "Mother"}],
                         "name": {"family": "Herrera", "given": ["Ana"]},
                         "telecom": [{"system": "phone", "value": "+34 600 000 000"}]}],
            "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "es"}]}, "preferred": true}],
            "generalPractitioner": [{"reference": "Practitioner/10"}]
        })
    }

    #[test]
    fn patient_summary() {
        let mut p = patient();
        assert_eq!(
            body(&p),
            expected(
                "<b>Agustín José Cabello Herrera</b> (male, 2002-09-30)",
                &[
                    (
                        "Contact details",
                        "+34 922 894 025 (home phone); agustin@example.net (email)"
                    ),
                    (
                        "Address",
                        "Calle Galicia 144, 2B, Arona, Santa Cruz de Tenerife, 38650, ES"
                    ),
                    ("Identifier", "WDZ145JKU (puid); HC-1000036 (MR)"),
                    ("Marital status", "Legally Separated"),
                    ("Deceased", "no"),
                    ("Language", "es (Preferred: yes)"),
                    (
                        "Contact person",
                        "Mother: Ana Herrera, +34 600 000 000 (phone)"
                    ),
                    ("General practitioner", "Practitioner/10"),
                    ("Active", "yes"),
                ]
            )
        );
        // `text` comes right after `meta`, and is never generated twice.
        add(&mut p);
        let keys: Vec<&String> = p
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys[..4], ["resourceType", "id", "meta", "text"]);
        let before = p.clone();
        add(&mut p);
        assert_eq!(p, before);
    }

    /// What access rights removed is not in the JSON, so not in the narrative: the
    /// headline falls back to the type and id.
    #[test]
    fn redacted_resource() {
        let full = patient();
        let mut redacted = full.clone();
        for hidden in [
            "name",
            "telecom",
            "address",
            "identifier",
            "birthDate",
            "contact",
        ] {
            redacted.as_object_mut().unwrap().remove(hidden);
        }
        let text = body(&redacted);
        assert_eq!(
            text,
            expected(
                "<b>Patient 7</b> (male)",
                &[
                    ("Marital status", "Legally Separated"),
                    ("Deceased", "no"),
                    ("Language", "es (Preferred: yes)"),
                    ("General practitioner", "Practitioner/10"),
                    ("Active", "yes"),
                ]
            )
        );
        for secret in [
            "Agustín",
            "Cabello",
            "922",
            "agustin@",
            "Galicia",
            "WDZ145JKU",
            "2002",
            "Herrera",
        ] {
            assert!(
                body(&full).contains(secret) && !text.contains(secret),
                "{secret}"
            );
        }
    }

    #[test]
    fn practitioner_and_role_summaries() {
        let p = json!({
            "resourceType": "Practitioner",
            "id": "1",
            "identifier": [{"type": {"text": "License number"}, "system": "http://example.org/sid/hp-license", "value": "MED-0001"}],
            "active": true,
            "name": [{"family": "Santana Déniz", "given": ["Carmen"], "prefix": ["Dr"]}],
            "telecom": [{"system": "email", "value": "c.santana@example.org"}],
            "gender": "female",
            "birthDate": "1984-11-19",
            "qualification": [{"code": {"text": "Family Medicine"}, "period": {"start": "2010-06-01"}}],
            "communication": [{"coding": [{"system": "urn:ietf:bcp:47", "code": "es"}]}]
        });
        assert_eq!(
            body(&p),
            expected(
                "<b>Dr Carmen Santana Déniz</b>",
                &[
                    ("Qualification", "Family Medicine (2010-06-01 –)"),
                    ("Identifier", "MED-0001 (License number)"),
                    ("Contact details", "c.santana@example.org (email)"),
                    ("Gender", "female"),
                    ("Birth date", "1984-11-19"),
                    ("Language", "es"),
                    ("Active", "yes"),
                ]
            )
        );
        let role = json!({
            "resourceType": "PractitionerRole",
            "id": "1",
            "active": true,
            "practitioner": {"reference": "Practitioner/1", "display": "Dr Carmen Santana Déniz"},
            "organization": {"reference": "Organization/1"},
            "specialty": [{"text": "Family Medicine"}, {"text": "General Practitioner"}]
        });
        assert_eq!(
            body(&role),
            expected(
                "<b>Dr Carmen Santana Déniz</b>: Family Medicine; General Practitioner (Organization/1)",
                &[("Active", "yes")]
            )
        );
    }

    #[test]
    fn related_person_summary() {
        let r = json!({
            "resourceType": "RelatedPerson",
            "id": "3",
            "active": true,
            "patient": {"reference": "Patient/7"},
            "relationship": [cc("http://terminology.hl7.org/CodeSystem/v3-RoleCode", "MTH", "mother")],
            "name": [{"family": "Herrera", "given": ["Ana"]}],
            "telecom": [{"system": "phone", "value": "+34 600 000 000", "use": "mobile"}],
            "gender": "female",
            "period": {"start": "2020-01-01", "end": "2024-12-31"}
        });
        assert_eq!(
            body(&r),
            expected(
                "<b>Ana Herrera</b> (mother)",
                &[
                    ("Patient", "Patient/7"),
                    ("Contact details", "+34 600 000 000 (mobile phone)"),
                    ("Gender", "female"),
                    ("Period", "2020-01-01 – 2024-12-31"),
                    ("Active", "yes"),
                ]
            )
        );
    }

    #[test]
    fn organization_and_location_summaries() {
        let o = json!({
            "resourceType": "Organization",
            "id": "1",
            "identifier": [{"use": "official", "system": "http://example.org/sid/institution-code", "value": "GNUSOL-HOSP-01"}],
            "active": true,
            "type": [{"text": "Healthcare Provider"}, {"text": "General Hospital"}],
            "name": "GNU Solidario Hospital",
            "telecom": [{"system": "url", "value": "https://hospital.example.org"}],
            "address": [{"line": ["Avenida Marítima 12"], "city": "Las Palmas", "country": "ES"}]
        });
        assert_eq!(
            body(&o),
            expected(
                "<b>GNU Solidario Hospital</b> (Healthcare Provider; General Hospital)",
                &[
                    ("Identifier", "GNUSOL-HOSP-01 (institution-code)"),
                    ("Contact details", "https://hospital.example.org (url)"),
                    ("Address", "Avenida Marítima 12, Las Palmas, ES"),
                    ("Active", "yes"),
                ]
            )
        );
        let l = json!({
            "resourceType": "Location",
            "id": "bed-1",
            "status": "active",
            "operationalStatus": {"system": "http://terminology.hl7.org/CodeSystem/v2-0116", "code": "O", "display": "Occupied"},
            "name": "IM-201",
            "mode": "instance",
            "physicalType": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": "bd", "display": "Bed"}]},
            "position": {"longitude": -15.4, "latitude": 28.1},
            "managingOrganization": {"reference": "Organization/1"},
            "partOf": {"reference": "Location/ward-1"}
        });
        assert_eq!(
            body(&l),
            expected(
                "<b>IM-201</b> (Bed)",
                &[
                    ("Status", "active"),
                    ("Operational status", "Occupied"),
                    ("Mode", "instance"),
                    ("Part of", "Location/ward-1"),
                    ("Managing organization", "Organization/1"),
                ]
            )
        );
    }

    #[test]
    fn condition_and_allergy_summaries() {
        let c = json!({
            "resourceType": "Condition",
            "id": "2",
            "extension": [{"url": "http://example.org/condition-institution", "valueReference": {"reference": "Organization/6"}}],
            "clinicalStatus": cc("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"),
            "verificationStatus": cc("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed"),
            "severity": {"coding": [{"system": "http://snomed.info/sct", "code": "6736007", "display": "Moderate"}]},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "J45.0", "display": "Predominantly allergic asthma"}]},
            "subject": {"reference": "Patient/1"},
            "onsetDateTime": "2007-11-23",
            "recordedDate": "2019-04-01T08:23:24.170659Z",
            "recorder": {"reference": "Practitioner/10"},
            "note": [{"text": "Exercise-induced"}]
        });
        assert_eq!(
            body(&c),
            expected(
                "<b>Predominantly allergic asthma</b> (Active, Confirmed)",
                &[
                    ("Patient", "Patient/1"),
                    ("Severity", "Moderate"),
                    ("Onset", "2007-11-23"),
                    ("Recorded", "2019-04-01T08:23:24.170659Z"),
                    ("Recorder", "Practitioner/10"),
                    ("Note", "Exercise-induced"),
                ]
            )
        );
        let a = json!({
            "resourceType": "AllergyIntolerance",
            "id": "1",
            "clinicalStatus": cc("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active", "Active"),
            "type": "allergy",
            "category": ["medication"],
            "criticality": "low",
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "Z88.0"}]},
            "patient": {"reference": "Patient/1"},
            "onsetDateTime": "2024-09-13",
            "reaction": [
                {"manifestation": [{"text": "angioedema"}], "severity": "moderate"},
                {"substance": {"text": "Amoxicillin"}, "manifestation": [{"text": "urticaria"}, {"text": "itching"}],
                 "description": "within minutes"}
            ]
        });
        assert_eq!(
            body(&a),
            expected(
                "<b>Z88.0</b> (Active)",
                &[
                    ("Patient", "Patient/1"),
                    ("Type", "allergy"),
                    ("Category", "medication"),
                    ("Criticality", "low"),
                    (
                        "Reaction",
                        "angioedema (moderate); urticaria; itching: within minutes (Amoxicillin)"
                    ),
                    ("Onset", "2024-09-13"),
                ]
            )
        );
    }

    #[test]
    fn observation_lab_result() {
        let o = json!({
            "resourceType": "Observation",
            "id": "112",
            "identifier": [{"value": "LAB-1"}],
            "basedOn": [{"reference": "ServiceRequest/1"}],
            "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory", "display": "Laboratory"}]}],
            "code": {"coding": [{"system": "http://example.org/lab-analyte", "code": "GLU", "display": "Glucose"}]},
            "subject": {"reference": "Patient/1", "display": "Agustín Cabello Herrera"},
            "effectiveDateTime": "2021-04-20T13:16:00Z",
            "valueQuantity": {"value": 5.4, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"},
            "interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "N", "display": "Normal"}]}],
            "referenceRange": [{"low": {"value": 3.9, "unit": "mmol/L"}, "high": {"value": 6.1, "unit": "mmol/L"}, "text": "3.9-6.1"}]
        });
        assert_eq!(
            body(&o),
            expected(
                "<b>Glucose</b>: 5.4 mmol/L (Normal)",
                &[
                    ("Patient", "Agustín Cabello Herrera"),
                    ("Date", "2021-04-20T13:16:00Z"),
                    ("Status", "final"),
                    ("Category", "Laboratory"),
                    ("Reference range", "3.9 – 6.1 mmol/L"),
                ]
            )
        );
        // A result without a value says why; a range with a text only shows it.
        let mut missing = o.clone();
        let m = missing.as_object_mut().unwrap();
        m.remove("valueQuantity");
        m.remove("interpretation");
        m.insert(
            "dataAbsentReason".into(),
            json!({"text": "Sample hemolysed"}),
        );
        m.insert("referenceRange".into(), json!([{"text": "< 6.1"}]));
        assert!(
            body(&missing)
                .starts_with("<p><b>Glucose</b>: Sample hemolysed</p><table><tr><th>Patient</th>")
        );
        assert!(body(&missing).contains("<tr><th>Reference range</th><td>&lt; 6.1</td></tr>"));
    }

    /// Vital signs: a blood pressure reads 120/80 mmHg, each component in a row.
    #[test]
    fn observation_components() {
        let bp = json!({
            "resourceType": "Observation",
            "id": "bp-1",
            "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs", "display": "Vital Signs"}]}],
            "code": loinc("85354-9", "Blood pressure panel"),
            "subject": {"reference": "Patient/1"},
            "effectiveDateTime": "2024-03-01T09:30:00Z",
            "component": [
                {"code": loinc("8462-4", "Diastolic blood pressure"),
                 "valueQuantity": {"value": 80, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
                {"code": loinc("8480-6", "Systolic blood pressure"),
                 "valueQuantity": {"value": 120, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"},
                 "interpretation": [{"text": "High"}]}
            ]
        });
        assert_eq!(
            body(&bp),
            expected(
                "<b>Blood pressure panel</b>: 120/80 mmHg",
                &[
                    ("Patient", "Patient/1"),
                    ("Date", "2024-03-01T09:30:00Z"),
                    ("Status", "final"),
                    ("Category", "Vital Signs"),
                    ("Diastolic blood pressure", "80 mmHg"),
                    ("Systolic blood pressure", "120 mmHg (High)"),
                ]
            )
        );
        // Other components, or a blood pressure missing a part, are listed as they are.
        let mut partial = bp.clone();
        partial["component"][1]
            .as_object_mut()
            .unwrap()
            .remove("valueQuantity");
        partial["component"][1]["dataAbsentReason"] = json!({"text": "Not measured"});
        assert!(body(&partial).starts_with(
            "<p><b>Blood pressure panel</b>: Diastolic blood pressure: 80 mmHg; \
             Systolic blood pressure: Not measured (High)</p>"
        ));
        let mut no_code = bp.clone();
        no_code["component"][0]
            .as_object_mut()
            .unwrap()
            .remove("code");
        no_code["component"][0]["code"] = json!({"text": "Diastolic"});
        assert!(body(&no_code).contains("<tr><th>Diastolic</th><td>80 mmHg</td></tr>"));
        // A row per component, at most five, then how many more.
        let mut many = bp.clone();
        many["component"] = (1..=7)
            .map(|i| json!({"code": {"text": format!("Part {i}")}, "valueInteger": i}))
            .collect();
        let text = body(&many);
        assert!(text.starts_with("<p><b>Blood pressure panel</b>: Part 1: 1; Part 2: 2;"));
        assert!(text.contains("<tr><th>Part 5</th><td>5</td></tr><tr><th>Component</th><td>and 2 more</td></tr></table>"), "{text}");
        assert!(!text.contains("<th>Part 6</th>"));
    }

    #[test]
    fn diagnostic_report_and_service_request_summaries() {
        let results: Vec<Value> = (112..120)
            .map(|i| json!({"reference": format!("Observation/{i}")}))
            .collect();
        let r = json!({
            "resourceType": "DiagnosticReport",
            "id": "1",
            "identifier": [{"system": "http://example.org/sid/lab-test", "value": "TEST001"}],
            "status": "final",
            "category": [{"text": "Laboratory"}],
            "code": {"text": "COMPLETE BLOOD COUNT"},
            "subject": {"reference": "Patient/1"},
            "effectiveDateTime": "2021-04-20T13:16:00Z",
            "issued": "2021-04-20T18:53:00Z",
            "specimen": [{"type": "Specimen", "display": "serum"}],
            "result": results,
            "conclusion": "Out of range: WBC.\r\n\r\nLeukocytosis"
        });
        assert_eq!(
            body(&r),
            expected(
                "<b>COMPLETE BLOOD COUNT</b> (final)",
                &[
                    ("Patient", "Patient/1"),
                    ("Date", "2021-04-20T13:16:00Z"),
                    ("Issued", "2021-04-20T18:53:00Z"),
                    ("Conclusion", "Out of range: WBC.<br/><br/>Leukocytosis"),
                    ("Category", "Laboratory"),
                    (
                        "Results",
                        "Observation/112; Observation/113; Observation/114; Observation/115; \
                         Observation/116; and 3 more"
                    ),
                    ("Specimen", "serum"),
                ]
            )
        );
        let s = json!({
            "resourceType": "ServiceRequest",
            "id": "1",
            "requisition": {"system": "http://example.org/sid/lab-request", "value": "1"},
            "status": "active",
            "intent": "order",
            "priority": "urgent",
            "code": {"text": "C-REACTIVE PROTEIN"},
            "subject": {"reference": "Patient/1"},
            "authoredOn": "2021-04-20T11:15:00Z",
            "requester": {"reference": "Practitioner/21"},
            "reasonCode": [{"text": "Acute appendicitis"}]
        });
        assert_eq!(
            body(&s),
            expected(
                "<b>C-REACTIVE PROTEIN</b> (active, urgent)",
                &[
                    ("Patient", "Patient/1"),
                    ("Requested", "2021-04-20T11:15:00Z"),
                    ("Requester", "Practitioner/21"),
                    ("Reason", "Acute appendicitis"),
                    ("Intent", "order"),
                    ("Requisition", "1 (lab-request)"),
                ]
            )
        );
    }

    #[test]
    fn procedure_and_family_history_summaries() {
        let p = json!({
            "resourceType": "Procedure",
            "id": "op-1",
            "partOf": [{"reference": "Procedure/surg-1"}],
            "status": "completed",
            "code": {"text": "Appendectomy"},
            "subject": {"reference": "Patient/1"},
            "performedPeriod": {"start": "2021-04-20T10:10:00Z", "end": "2021-04-20T11:00:00Z"},
            "performer": [
                {"function": {"text": "Surgeon"}, "actor": {"reference": "Practitioner/21"}, "onBehalfOf": {"reference": "Organization/1"}},
                {"actor": {"reference": "Practitioner/25"}}
            ],
            "location": {"reference": "Location/or-3", "display": "OR-3"},
            "usedCode": [{"text": "Laparoscope"}]
        });
        assert_eq!(
            body(&p),
            expected(
                "<b>Appendectomy</b> (completed)",
                &[
                    ("Patient", "Patient/1"),
                    ("Performed", "2021-04-20T10:10:00Z – 2021-04-20T11:00:00Z"),
                    ("Surgeon", "Practitioner/21 (Organization/1)"),
                    ("Performer", "Practitioner/25"),
                    ("Location", "OR-3"),
                    // Not in the summary: the fallback row.
                    ("Used code", "Laparoscope"),
                ]
            )
        );
        let f = json!({
            "resourceType": "FamilyMemberHistory",
            "id": "1",
            "status": "completed",
            "patient": {"reference": "Patient/1"},
            "date": "2019-04-01",
            "relationship": {"text": "father"},
            "sex": {"text": "Male"},
            "deceasedAge": {"value": 74, "unit": "years"},
            "condition": [{"code": {"text": "Heart attack"}, "contributedToDeath": true}]
        });
        assert_eq!(
            body(&f),
            expected(
                "<b>father</b>: Heart attack (Contributed to death: yes) (Male)",
                &[
                    ("Patient", "Patient/1"),
                    ("Deceased", "74 years"),
                    ("Status", "completed"),
                    ("Recorded", "2019-04-01"),
                ]
            )
        );
    }

    #[test]
    fn medication_summaries() {
        let m = json!({
            "resourceType": "Medication",
            "id": "1",
            "code": {"text": "Enalapril 10 mg tablets"},
            "status": "active",
            "form": {"coding": [{"system": "http://example.org/drug-form", "code": "TAB", "display": "Tablet"}]},
            "ingredient": [{"itemCodeableConcept": {"text": "enalapril maleate"}, "isActive": true,
                            "strength": {"numerator": {"value": 10.0, "unit": "mg"}, "denominator": {"value": 1, "unit": "Tablet"}}}]
        });
        assert_eq!(
            body(&m),
            expected(
                "<b>Enalapril 10 mg tablets</b> (Tablet)",
                &[
                    ("Ingredients", "enalapril maleate: 10.0 mg / 1 Tablet"),
                    ("Status", "active"),
                ]
            )
        );
        let dosage = json!([{"text": "1 tablet, oral, every 12 hours", "route": {"text": "Oral"}}]);
        let s = json!({
            "resourceType": "MedicationStatement",
            "id": "1",
            "basedOn": [{"reference": "MedicationRequest/1"}],
            "status": "active",
            "medicationReference": {"reference": "Medication/1", "display": "Enalapril 10 mg tablets"},
            "subject": {"reference": "Patient/1"},
            "effectivePeriod": {"start": "2007-11-23T13:10:00Z"},
            "dateAsserted": "2019-04-01T08:24:48Z",
            "dosage": dosage
        });
        assert_eq!(
            body(&s),
            expected(
                "<b>Enalapril 10 mg tablets</b> (active)",
                &[
                    ("Patient", "Patient/1"),
                    ("Dosage", "1 tablet, oral, every 12 hours"),
                    ("Taken", "2007-11-23T13:10:00Z –"),
                    ("Asserted", "2019-04-01T08:24:48Z"),
                ]
            )
        );
        let r = json!({
            "resourceType": "MedicationRequest",
            "id": "1",
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": {"text": "Salbutamol 100 mcg inhaler"},
            "subject": {"reference": "Patient/1"},
            "authoredOn": "2007-11-23T13:10:00Z",
            "requester": {"reference": "Practitioner/10"},
            "groupIdentifier": {"system": "http://example.org/sid/prescription", "value": "PRES 2019/000001"},
            // No text: the dosage's parts.
            "dosageInstruction": [{"asNeededBoolean": true, "route": {"text": "Inhalation"}}],
            "dispenseRequest": {"validityPeriod": {"start": "2007-11-23", "end": "2008-05-21"},
                                "numberOfRepeatsAllowed": 0, "quantity": {"value": 360}},
            "substitution": {"allowedBoolean": false}
        });
        assert_eq!(
            body(&r),
            expected(
                "<b>Salbutamol 100 mcg inhaler</b> (active)",
                &[
                    ("Patient", "Patient/1"),
                    ("Dosage", "As needed: yes, Route: Inhalation"),
                    ("Authored", "2007-11-23T13:10:00Z"),
                    ("Requester", "Practitioner/10"),
                    ("Intent", "order"),
                    ("Quantity", "360"),
                    ("Repeats allowed", "0"),
                    ("Validity period", "2007-11-23 – 2008-05-21"),
                    ("Substitution allowed", "no"),
                    ("Prescription", "PRES 2019/000001 (prescription)"),
                ]
            )
        );
    }

    #[test]
    fn immunization_summary() {
        let i = json!({
            "resourceType": "Immunization",
            "id": "1",
            "status": "completed",
            "vaccineCode": {"text": "COVID-19 mRNA vaccine"},
            "patient": {"reference": "Patient/1"},
            "occurrenceDateTime": "2021-07-07T08:15:00Z",
            "recorded": "2021-07-07T08:36:30Z",
            "location": {"type": "Location", "identifier": {"system": "http://example.org/sid/institution-code", "value": "CS-LALAGUNA"}},
            "lotNumber": "FK7603",
            "expirationDate": "2022-02-24",
            "site": {"text": "left deltoid"},
            "doseQuantity": {"value": 0.3, "unit": "mL", "system": "http://unitsofmeasure.org", "code": "mL"},
            "performer": [{"function": {"text": "Administering Provider"}, "actor": {"reference": "Practitioner/11"}}],
            "protocolApplied": [{"doseNumberPositiveInt": 2, "seriesDosesPositiveInt": 2}]
        });
        assert_eq!(
            body(&i),
            expected(
                "<b>COVID-19 mRNA vaccine</b> (completed)",
                &[
                    ("Patient", "Patient/1"),
                    ("Date", "2021-07-07T08:15:00Z"),
                    ("Dose", "2"),
                    ("Doses in series", "2"),
                    ("Dose quantity", "0.3 mL"),
                    ("Site", "left deltoid"),
                    ("Lot", "FK7603"),
                    ("Expiration date", "2022-02-24"),
                    ("Administering Provider", "Practitioner/11"),
                    ("Location", "CS-LALAGUNA (institution-code)"),
                    ("Recorded", "2021-07-07T08:36:30Z"),
                ]
            )
        );
    }

    #[test]
    fn encounter_summary() {
        let e = json!({
            "resourceType": "Encounter",
            "id": "5",
            "identifier": [{"value": "EVAL-5"}],
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory"},
            "type": [{"text": "Consultation"}],
            "subject": {"reference": "Patient/1"},
            "participant": [{"type": [{"text": "primary performer"}], "individual": {"reference": "Practitioner/10"}}],
            "period": {"start": "2024-05-01T09:00:00Z", "end": "2024-05-01T09:20:00Z"},
            "reasonCode": [{"text": "Cough"}],
            "contained": [{"resourceType": "Condition", "id": "dx1", "code": {"text": "Acute bronchitis"},
                           "subject": {"reference": "Patient/1"}}],
            "diagnosis": [{"condition": {"reference": "#dx1"}, "rank": 1},
                          {"condition": {"reference": "#dx9"}, "use": {"text": "Comorbidity diagnosis"}}],
            "hospitalization": {"admitSource": {"text": "Emergency"}},
            "location": [{"location": {"display": "Room 3"}, "status": "completed"}],
            "serviceProvider": {"reference": "Organization/1"}
        });
        assert_eq!(
            body(&e),
            expected(
                "<b>ambulatory</b>: Consultation (finished)",
                &[
                    ("Patient", "Patient/1"),
                    ("Period", "2024-05-01T09:00:00Z – 2024-05-01T09:20:00Z"),
                    ("Primary performer", "Practitioner/10"),
                    ("Reason", "Cough"),
                    // A contained condition by its code, an unknown one by its reference.
                    (
                        "Diagnosis",
                        "Acute bronchitis (Rank: 1); #dx9 (Comorbidity diagnosis)"
                    ),
                    ("Location", "Room 3 (completed)"),
                    ("Service provider", "Organization/1"),
                    ("Admitted from", "Emergency"),
                ]
            )
        );
    }

    #[test]
    fn appointment_summary() {
        let a = json!({
            "resourceType": "Appointment",
            "id": "9",
            "status": "booked",
            "serviceType": [{"text": "General practice"}],
            "start": "2024-05-01T09:00:00Z",
            "end": "2024-05-01T09:20:00Z",
            "minutesDuration": 20,
            "comment": "Bring results",
            "participant": [
                {"actor": {"reference": "Patient/1"}, "status": "accepted"},
                {"type": [{"text": "attender"}], "actor": {"reference": "Practitioner/10"}, "status": "accepted"}
            ]
        });
        // Without a description the service type leads, and is not repeated below.
        assert_eq!(
            body(&a),
            expected(
                "<b>General practice</b> (booked)",
                &[
                    ("Start", "2024-05-01T09:00:00Z"),
                    ("End", "2024-05-01T09:20:00Z"),
                    ("Duration (minutes)", "20"),
                    ("Participant", "Patient/1 (accepted)"),
                    ("Attender", "Practitioner/10 (accepted)"),
                    ("Comment", "Bring results"),
                ]
            )
        );
    }

    #[test]
    fn coverage_summary() {
        let c = json!({
            "resourceType": "Coverage",
            "id": "4",
            "status": "active",
            "type": {"text": "Public health insurance"},
            "subscriberId": "SS-1234",
            "beneficiary": {"reference": "Patient/1"},
            "relationship": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship", "code": "self"}]},
            "period": {"start": "2020-01-01"},
            "payor": [{"reference": "Organization/3", "display": "Servicio Canario de la Salud"}],
            "class": [{"type": {"text": "Plan"}, "value": "B37FC", "name": "Full coverage"}]
        });
        assert_eq!(
            body(&c),
            expected(
                "<b>Public health insurance</b>: Servicio Canario de la Salud (active)",
                &[
                    ("Beneficiary", "Patient/1"),
                    ("Subscriber ID", "SS-1234"),
                    ("Relationship", "self"),
                    ("Period", "2020-01-01 –"),
                    ("Plan", "B37FC (Full coverage)"),
                ]
            )
        );
    }

    /// A type without a summary: its type and id, then a row per element.
    #[test]
    fn fallback_table() {
        let s = json!({
            "resourceType": "Specimen",
            "id": "s1",
            "meta": {"versionId": "1"},
            "status": "available",
            "type": {"coding": [{"system": "http://snomed.info/sct", "code": "119364003"}]},
            "subject": {"reference": "Patient/1"},
            "collection": {"collectedDateTime": "2021-04-20T13:16:00Z", "quantity": {"value": 5, "unit": "mL"}}
        });
        assert_eq!(
            body(&s),
            expected(
                "<b>Specimen s1</b>",
                &[
                    ("Status", "available"),
                    ("Type", "119364003"),
                    ("Subject", "Patient/1"),
                    (
                        "Collection",
                        "Collected: 2021-04-20T13:16:00Z, Quantity: 5 mL"
                    ),
                ]
            )
        );
        // Nothing to show but the headline is still a narrative (txt-2).
        assert_eq!(
            body(&json!({"resourceType": "Basic", "id": "b"})),
            "<p><b>Basic b</b></p>"
        );
    }

    #[test]
    fn escaping_and_line_breaks() {
        let c = json!({
            "resourceType": "Condition",
            "id": "x&<y>",
            "code": {"text": "<script>alert(\"x\")</script> & co"},
            "subject": {"reference": "Patient/1"},
            "note": [{"text": "line 1\nline 2\r\nline 3\ttab\u{7f}é\rend"}]
        });
        assert_eq!(
            body(&c),
            expected(
                "<b>&lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; co</b>",
                &[
                    ("Patient", "Patient/1"),
                    ("Note", "line 1<br/>line 2<br/>line 3 tab\u{7f}é<br/>end"),
                ]
            )
        );
        let mut redacted = c.clone();
        redacted.as_object_mut().unwrap().remove("code");
        assert!(body(&redacted).starts_with("<p><b>Condition x&amp;&lt;y&gt;</b></p>"));
        // Characters XML 1.0 cannot carry are dropped rather than break the document.
        assert_eq!(xhtml("a\u{1}b\u{1b}c\u{fffe}\u{ffff}d"), "abcd");
    }

    #[test]
    fn human_forms() {
        let t = |v: Value, ty: &'static str| text(&v, ty);
        assert_eq!(
            t(
                json!({"family": "Pérez", "given": ["Ana", "María"], "suffix": ["Jr"]}),
                "HumanName"
            )
            .as_deref(),
            Some("Ana María Pérez Jr")
        );
        assert_eq!(
            t(json!({"text": "Ana P.", "family": "Pérez"}), "HumanName").as_deref(),
            Some("Ana P.")
        );
        assert_eq!(
            t(json!("2021-04-20T13:16:00.5+02:00"), "dateTime").as_deref(),
            Some("2021-04-20T13:16:00.5+02:00")
        );
        assert_eq!(
            t(
                json!({"value": 5.4, "unit": "mmol/L", "code": "mmol/L"}),
                "Quantity"
            )
            .as_deref(),
            Some("5.4 mmol/L")
        );
        assert_eq!(
            t(
                json!({"value": 3, "comparator": "<", "code": "mg"}),
                "Quantity"
            )
            .as_deref(),
            Some("< 3 mg")
        );
        assert_eq!(
            t(json!({"coding": [{"system": "s", "code": "E11"}, {"code": "X", "display": "Diabetes"}]}), "CodeableConcept").as_deref(),
            Some("Diabetes")
        );
        assert_eq!(
            t(
                json!({"coding": [{"system": "s", "code": "E11"}]}),
                "CodeableConcept"
            )
            .as_deref(),
            Some("E11")
        );
        assert_eq!(
            t(
                json!({"reference": "Patient/1", "display": "Ana"}),
                "Reference"
            )
            .as_deref(),
            Some("Ana")
        );
        assert_eq!(
            t(json!({"reference": "Patient/1"}), "Reference").as_deref(),
            Some("Patient/1")
        );
        assert_eq!(
            t(json!({"start": "2020", "end": "2021"}), "Period").as_deref(),
            Some("2020 – 2021")
        );
        assert_eq!(
            t(json!({"end": "2021"}), "Period").as_deref(),
            Some("– 2021")
        );
        assert_eq!(
            t(
                json!({"text": "2 puffs as needed", "sequence": 1}),
                "Dosage"
            )
            .as_deref(),
            Some("2 puffs as needed")
        );
        assert_eq!(
            t(
                json!({"system": "urn:oid:1.2.3", "value": "A1"}),
                "Identifier"
            )
            .as_deref(),
            Some("A1 (urn:oid:1.2.3)")
        );
        assert_eq!(
            t(json!({"value": "A1"}), "Identifier").as_deref(),
            Some("A1")
        );
        assert_eq!(t(json!(true), "boolean").as_deref(), Some("yes"));
        assert_eq!(
            t(
                json!({"low": {"value": 1, "unit": "mg"}, "high": {"value": 2, "unit": "g"}}),
                "Range"
            )
            .as_deref(),
            Some("1 mg – 2 g")
        );
        assert_eq!(
            t(json!({"low": {"value": 4, "unit": "mg"}}), "Range").as_deref(),
            Some("≥ 4 mg")
        );
        assert_eq!(
            t(json!({"value": 12.5, "currency": "EUR"}), "Money").as_deref(),
            Some("12.5 EUR")
        );
        assert_eq!(t(json!([]), "CodeableConcept"), None);
        assert_eq!(t(json!({"system": "phone"}), "ContactPoint"), None);
        assert_eq!(t(json!("  "), "string"), None);
    }

    /// Every type served (and those on their way) has a summary, and every path in the
    /// tables names an R4 element.
    #[test]
    fn tables_name_r4_elements() {
        let served = [
            "Patient",
            "Practitioner",
            "PractitionerRole",
            "Organization",
            "Location",
            "Condition",
            "AllergyIntolerance",
            "Observation",
            "DiagnosticReport",
            "ServiceRequest",
            "Procedure",
            "FamilyMemberHistory",
            "Medication",
            "MedicationStatement",
            "MedicationRequest",
            "Immunization",
            "Encounter",
            "Appointment",
            "Coverage",
            "RelatedPerson",
        ];
        for t in served {
            assert_eq!(
                SUMMARIES.iter().filter(|s| s.type_name == t).count(),
                1,
                "{t}"
            );
        }
        // The element type `path` leads to from `ty`, if every step is an element.
        fn walk(ty: &'static str, path: &str) -> Option<Vec<&'static str>> {
            let mut types = vec![ty];
            for segment in path.split('.') {
                let (name, choice) = match segment.strip_suffix("[x]") {
                    Some(n) => (n, true),
                    None => (segment, false),
                };
                types = types
                    .iter()
                    .filter_map(|t| definitions::find(t))
                    .flat_map(|d| d.elements.iter())
                    .filter(|el| el.name == name && el.choice() == choice)
                    .flat_map(|el| el.types.iter().copied())
                    .collect();
                if types.is_empty() {
                    return None;
                }
            }
            Some(types)
        }
        let check = |ty: &'static str, form: &Form| {
            for p in form.lead.iter().chain(form.rest).chain(form.notes) {
                assert!(walk(ty, p).is_some(), "{ty}.{p}");
            }
        };
        for s in SUMMARIES {
            let ty = definitions::resource(s.type_name).map(|d| d.name);
            let ty = ty.unwrap_or_else(|| panic!("{}", s.type_name));
            check(ty, &s.headline);
            for (label, p) in s.rows {
                let types = walk(ty, p).unwrap_or_else(|| panic!("{ty}.{p}"));
                // A row per item only for backbone elements with a form.
                if label.is_empty() {
                    assert!(FORMS.iter().any(|(f, _)| types.contains(f)), "{ty}.{p}");
                }
            }
            for p in s.omitted {
                assert!(walk(ty, p).is_some(), "{ty}.{p}");
            }
        }
        for (name, form) in FORMS {
            let def = definitions::find(name).map(|d| (d.name, d.kind));
            assert_eq!(
                def.map(|d| d.1),
                Some(definitions::Kind::Backbone),
                "{name}"
            );
            check(def.map_or("", |d| d.0), form);
        }
    }
}
