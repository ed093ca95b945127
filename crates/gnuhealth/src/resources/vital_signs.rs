//! The vital signs and measurements part of Observation. GNU Health has no table of them:
//! they are columns of the encounter tables — patient evaluations (`eval-<id>-<measure>`),
//! nursing sessions (`amb-<id>-<measure>`) and the nursing rounds of a hospital stay
//! (`rnd-<id>-<measure>`, whose encounter is the stay). Each non-NULL column is one
//! Observation, coded in LOINC with UCUM units (a few body-composition figures that have
//! no LOINC code use this server's `CodeSystem/measurement`); blood pressure is one panel
//! with systolic and diastolic components. Those of R4's vital-signs profiles carry the
//! profile in `meta.profile`.
//!
//! The SQL here unpivots the columns: each encounter row is joined with the constant
//! [`measures_sql!`] table and keeps the measures it has a value for. The measures'
//! codes, names, units and categories live only in that table, so search and the loader
//! read the same values.

use fhir::datatypes::{CodeableConcept, Coding, LOINC, Meta, Quantity, Reference, UCUM};
use fhir::resources::observation::{Observation, ObservationComponent};
use serde_json::Value;

use super::observation::{CATEGORY_SYSTEM, DATA_ABSENT_SYSTEM};
use super::{Context, meta, to_json};
use crate::db::{Database, DbError, Row};
use crate::tryton::fhir_datetime;

/// Codes of this server for measurements LOINC has no code for.
pub const MEASUREMENT_SYSTEM: &str = "CodeSystem/measurement";
/// R4's vital-signs profiles live under this prefix.
const PROFILE_BASE: &str = "http://hl7.org/fhir/StructureDefinition/";
pub const SYSTOLIC: (&str, &str) = ("8480-6", "Systolic blood pressure");
pub const DIASTOLIC: (&str, &str) = ("8462-4", "Diastolic blood pressure");

/// The measures: key, code kind (`loinc` or `local`), code, name, UCUM unit, unit as
/// people write it, category, R4 vital-signs profile ('' when none). A VALUES list, not a
/// UNION of one-row SELECTs: PostgreSQL plans the Observation union (three copies of this
/// table) in 3 ms instead of 13, on every execution of its custom plans.
macro_rules! measures_sql {
    () => {
        concat!(
            "(SELECT column1 AS k, column2 AS kind, column3 AS code, column4 AS name, ",
            "column5 AS unit, column6 AS unit_name, column7 AS category, column8 AS profile ",
            "FROM (VALUES ",
            "('temperature', 'loinc', '8310-5', 'Body temperature', 'Cel', '°C', 'vital-signs', 'bodytemp')",
            ", ('bp', 'loinc', '85354-9', 'Blood pressure panel with all children optional', 'mm[Hg]', 'mmHg', 'vital-signs', 'bp')",
            ", ('heart-rate', 'loinc', '8867-4', 'Heart rate', '/min', 'beats/min', 'vital-signs', 'heartrate')",
            ", ('respiratory-rate', 'loinc', '9279-1', 'Respiratory rate', '/min', 'breaths/min', 'vital-signs', 'resprate')",
            ", ('oxygen-saturation', 'loinc', '2708-6', 'Oxygen saturation in Arterial blood', '%', '%', 'vital-signs', 'oxygensat')",
            ", ('weight', 'loinc', '29463-7', 'Body weight', 'kg', 'kg', 'vital-signs', 'bodyweight')",
            ", ('height', 'loinc', '8302-2', 'Body height', 'cm', 'cm', 'vital-signs', 'bodyheight')",
            ", ('bmi', 'loinc', '39156-5', 'Body mass index (BMI) [Ratio]', 'kg/m2', 'kg/m2', 'vital-signs', 'bmi')",
            ", ('head-circumference', 'loinc', '9843-4', 'Head Occipital-frontal circumference', 'cm', 'cm', 'vital-signs', 'headcircum')",
            ", ('waist-circumference', 'loinc', '8280-0', 'Waist Circumference at umbilicus by Tape measure', 'cm', 'cm', 'exam', '')",
            ", ('hip-circumference', 'loinc', '62409-8', 'Hip Circumference by Tape measure', 'cm', 'cm', 'exam', '')",
            ", ('waist-hip-ratio', 'local', 'waist-hip-ratio', 'Waist to hip ratio', '1', 'ratio', 'exam', '')",
            ", ('body-fat', 'loinc', '41982-0', 'Percentage of body fat Measured', '%', '%', 'exam', '')",
            ", ('body-water', 'local', 'body-water', 'Percentage of body water', '%', '%', 'exam', '')",
            ", ('body-muscle', 'local', 'body-muscle', 'Percentage of muscle mass', '%', '%', 'exam', '')",
            ", ('body-bone', 'local', 'body-bone', 'Percentage of bone mass', '%', '%', 'exam', '')",
            ", ('glucose', 'loinc', '2339-0', 'Glucose [Mass/volume] in Blood', 'mg/dL', 'mg/dL', 'laboratory', '')",
            ", ('hba1c', 'loinc', '59261-8', 'Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol', 'mmol/mol', 'mmol/mol', 'laboratory', '')",
            ", ('cholesterol', 'loinc', '2093-3', 'Cholesterol [Mass/volume] in Serum or Plasma', 'mg/dL', 'mg/dL', 'laboratory', '')",
            ", ('hdl', 'loinc', '2085-9', 'Cholesterol in HDL [Mass/volume] in Serum or Plasma', 'mg/dL', 'mg/dL', 'laboratory', '')",
            ", ('ldl', 'loinc', '13457-7', 'Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation', 'mg/dL', 'mg/dL', 'laboratory', '')",
            ", ('triglycerides', 'loinc', '2571-8', 'Triglyceride [Mass/volume] in Serum or Plasma', 'mg/dL', 'mg/dL', 'laboratory', '')",
            ", ('gcs', 'loinc', '9269-2', 'Glasgow coma score total', '{score}', 'score', 'exam', '')",
            ", ('gcs-eyes', 'loinc', '9267-6', 'Glasgow coma score eye opening', '{score}', 'score', 'exam', '')",
            ", ('gcs-verbal', 'loinc', '9270-0', 'Glasgow coma score verbal', '{score}', 'score', 'exam', '')",
            ", ('gcs-motor', 'loinc', '9268-4', 'Glasgow coma score motor', '{score}', 'score', 'exam', '')",
            ", ('pain', 'loinc', '72514-3', 'Pain severity - 0-10 verbal numeric rating [Score] - Reported', '{score}', 'score', 'survey', '')",
            ", ('urine-output', 'loinc', '9187-6', 'Urine output', 'mL', 'mL', 'exam', '')",
            ") v) m"
        )
    };
}

/// The value of measure `m.k` in an evaluation `e`.
macro_rules! evaluation_value_sql {
    () => {
        "(CASE m.k WHEN 'temperature' THEN e.temperature WHEN 'heart-rate' THEN e.bpm \
         WHEN 'respiratory-rate' THEN e.respiratory_rate WHEN 'oxygen-saturation' THEN e.osat \
         WHEN 'weight' THEN e.weight WHEN 'height' THEN e.height WHEN 'bmi' THEN e.bmi \
         WHEN 'head-circumference' THEN e.head_circumference \
         WHEN 'waist-circumference' THEN e.abdominal_circ WHEN 'hip-circumference' THEN e.hip \
         WHEN 'waist-hip-ratio' THEN e.whr WHEN 'body-fat' THEN e.body_fat \
         WHEN 'body-water' THEN e.body_water WHEN 'body-muscle' THEN e.body_muscle \
         WHEN 'body-bone' THEN e.body_bone WHEN 'glucose' THEN e.glycemia \
         WHEN 'hba1c' THEN e.hba1c WHEN 'cholesterol' THEN e.cholesterol_total \
         WHEN 'hdl' THEN e.hdl WHEN 'ldl' THEN e.ldl WHEN 'triglycerides' THEN e.tag \
         WHEN 'gcs' THEN e.loc WHEN 'gcs-eyes' THEN CAST(NULLIF(e.loc_eyes, '') AS INTEGER) \
         WHEN 'gcs-verbal' THEN CAST(NULLIF(e.loc_verbal, '') AS INTEGER) \
         WHEN 'gcs-motor' THEN CAST(NULLIF(e.loc_motor, '') AS INTEGER) END)"
    };
}

/// The value of measure `m.k` in a nursing session or round `$t` (same columns; rounds
/// alone record urine output).
macro_rules! nursing_value_sql {
    ($t:literal) => {
        concat!(
            "(CASE m.k WHEN 'temperature' THEN ",
            $t,
            ".temperature WHEN 'heart-rate' THEN ",
            $t,
            ".bpm WHEN 'respiratory-rate' THEN ",
            $t,
            ".respiratory_rate ",
            "WHEN 'oxygen-saturation' THEN ",
            $t,
            ".osat WHEN 'weight' THEN ",
            $t,
            ".weight ",
            "WHEN 'glucose' THEN ",
            $t,
            ".glycemia WHEN 'pain' THEN ",
            $t,
            ".pain_level END)"
        )
    };
}

/// Blood pressure parts of the `bp` measure of a row `$t`.
macro_rules! bp_sql {
    ($t:literal) => {
        concat!(
            "(CASE WHEN m.k = 'bp' THEN ",
            $t,
            ".systolic END), ",
            "(CASE WHEN m.k = 'bp' THEN ",
            $t,
            ".diastolic END)"
        )
    };
}

/// Whether the row `$t` has measure `m.k`, its value being `$value`.
macro_rules! has_measure_sql {
    ($t:literal, $value:expr) => {
        concat!(
            "(",
            $value,
            " IS NOT NULL OR (m.k = 'bp' AND (",
            $t,
            ".systolic IS NOT NULL OR ",
            $t,
            ".diastolic IS NOT NULL)))"
        )
    };
}

/// The columns of a vital sign `<prefix>-<id>-<measure>` of row `$t` (value `$value`)
/// that depend on the measure, in the union's order: fhir_id, code, name, result,
/// unit_code, unit_name, category, code_kind, measure, profile, sys, dia.
macro_rules! measure_columns_sql {
    ($prefix:literal, $t:literal, $value:expr) => {
        concat!(
            "'",
            $prefix,
            "-' || CAST(",
            $t,
            ".id AS VARCHAR) || '-' || m.k, m.code, m.name, ",
            $value,
            ", m.unit, m.unit_name, m.category, m.kind, m.k, m.profile, ",
            $crate::resources::vital_signs::bp_sql!($t)
        )
    };
}

/// The columns of an evaluation `e` that every one of its measures shares, in the
/// union's order: lab_row, eval_row, amb_row, rnd_row, gnuhealth_lab_id, result_text,
/// units, excluded, patient, effective, vstatus, perf1, perf2, perf3, encounter, stamp,
/// lab_state, source_type.
macro_rules! evaluation_row_sql {
    () => {
        concat!(
            "NULL, e.id, NULL, NULL, NULL, NULL, NULL, NULL, e.patient, e.evaluation_start, ",
            "(CASE COALESCE(e.state, 'in_progress') WHEN 'in_progress' THEN 'preliminary' ",
            "ELSE 'final' END), e.healthprof, e.signed_by, NULL, ",
            "'eval-' || CAST(e.id AS VARCHAR), COALESCE(e.write_date, e.create_date), NULL, NULL"
        )
    };
}

/// The shared columns of a nursing session `a` ([`evaluation_row_sql!`]'s order).
macro_rules! ambulatory_row_sql {
    () => {
        concat!(
            "NULL, NULL, a.id, NULL, NULL, NULL, NULL, NULL, a.patient, a.session_start, ",
            "(CASE COALESCE(a.state, 'draft') WHEN 'done' THEN 'final' ELSE 'preliminary' END), ",
            "a.health_professional, a.signed_by, NULL, 'amb-' || CAST(a.id AS VARCHAR), ",
            "COALESCE(a.write_date, a.create_date), NULL, NULL"
        )
    };
}

/// The shared columns of a nursing round `d` of stay `g` ([`evaluation_row_sql!`]'s
/// order); its encounter is the stay.
macro_rules! rounding_row_sql {
    () => {
        concat!(
            "NULL, NULL, NULL, d.id, NULL, NULL, NULL, NULL, g.patient, d.evaluation_start, ",
            "(CASE COALESCE(d.state, 'draft') WHEN 'done' THEN 'final' ELSE 'preliminary' END), ",
            "d.health_professional, d.signed_by, NULL, 'inp-' || CAST(d.registration AS VARCHAR), ",
            "COALESCE(d.write_date, d.create_date), NULL, NULL"
        )
    };
}

/// The value of measure `m.k` in a nursing round `d` (rounds alone record urine output).
macro_rules! rounding_value_sql {
    () => {
        concat!(
            "(CASE WHEN m.k = 'urine-output' THEN d.diuresis ELSE ",
            $crate::resources::vital_signs::nursing_value_sql!("d"),
            " END)"
        )
    };
}

/// One branch of the Observation union: each measure `$value` of the rows of `$t` (in
/// `$from`, patient `$patient`) has, with the measure's columns ([`measure_columns_sql!`])
/// and then the row's (`$row`, the order of the lab branch in `observation.rs`).
macro_rules! vital_branch_sql {
    ($prefix:literal, $t:literal, $value:expr, $row:expr, $from:literal, $patient:literal) => {
        concat!(
            " UNION ALL SELECT ",
            $crate::resources::vital_signs::measure_columns_sql!($prefix, $t, $value),
            ", ",
            $row,
            " FROM ",
            $from,
            " CROSS JOIN ",
            $crate::resources::vital_signs::measures_sql!(),
            " WHERE ",
            $patient,
            " IS NOT NULL AND ",
            $crate::resources::vital_signs::has_measure_sql!($t, $value)
        )
    };
}

/// The Observation union's branches for vital signs: evaluations, nursing sessions and
/// the rounds of a hospital stay.
macro_rules! vital_branches_sql {
    () => {
        concat!(
            $crate::resources::vital_signs::vital_branch_sql!(
                "eval",
                "e",
                $crate::resources::vital_signs::evaluation_value_sql!(),
                $crate::resources::vital_signs::evaluation_row_sql!(),
                "gnuhealth_patient_evaluation e",
                "e.patient"
            ),
            $crate::resources::vital_signs::vital_branch_sql!(
                "amb",
                "a",
                $crate::resources::vital_signs::nursing_value_sql!("a"),
                $crate::resources::vital_signs::ambulatory_row_sql!(),
                "gnuhealth_patient_ambulatory_care a",
                "a.patient"
            ),
            $crate::resources::vital_signs::vital_branch_sql!(
                "rnd",
                "d",
                $crate::resources::vital_signs::rounding_value_sql!(),
                $crate::resources::vital_signs::rounding_row_sql!(),
                "gnuhealth_patient_rounding d \
                 JOIN gnuhealth_inpatient_registration g ON g.id = d.registration",
                "g.patient"
            )
        )
    };
}

/// 1 when `$e` is not NULL, else 0.
macro_rules! present_sql {
    ($e:expr) => {
        concat!("(CASE WHEN ", $e, " IS NOT NULL THEN 1 ELSE 0 END)")
    };
}

/// How many of `$e…` are not NULL: `present(e1) + present(e2) + …`.
macro_rules! present_count_sql {
    ($e:expr) => {
        $crate::resources::vital_signs::present_sql!($e)
    };
    ($e:expr, $($rest:expr),+) => {
        concat!(
            $crate::resources::vital_signs::present_sql!($e),
            " + ",
            $crate::resources::vital_signs::present_count_sql!($($rest),+)
        )
    };
}

/// How many of the measures every encounter table records a row `$t` has: temperature,
/// heart and respiratory rates, oxygen saturation, weight, glucose and blood pressure
/// (one, with either part).
macro_rules! common_count_sql {
    ($t:literal) => {
        $crate::resources::vital_signs::present_count_sql!(
            concat!($t, ".temperature"),
            concat!($t, ".bpm"),
            concat!($t, ".respiratory_rate"),
            concat!($t, ".osat"),
            concat!($t, ".weight"),
            concat!($t, ".glycemia"),
            concat!("COALESCE(", $t, ".systolic, ", $t, ".diastolic)")
        )
    };
}

/// The vital-sign part of [`super::observation`]'s counting union: a row per encounter
/// row, with the shared columns and `n`, the number of its measures — what the CROSS
/// JOIN with the measures would make of it, without making it. The server test
/// `observation_totals_count_what_the_pages_hold` checks that both agree.
macro_rules! vital_count_branches_sql {
    () => {
        concat!(
            " UNION ALL SELECT ",
            $crate::resources::vital_signs::evaluation_row_sql!(),
            ", ",
            $crate::resources::vital_signs::common_count_sql!("e"),
            " + ",
            $crate::resources::vital_signs::present_count_sql!(
                "e.height",
                "e.bmi",
                "e.head_circumference",
                "e.abdominal_circ",
                "e.hip",
                "e.whr",
                "e.body_fat",
                "e.body_water",
                "e.body_muscle",
                "e.body_bone",
                "e.hba1c",
                "e.cholesterol_total",
                "e.hdl",
                "e.ldl",
                "e.tag",
                "e.loc",
                "NULLIF(e.loc_eyes, '')",
                "NULLIF(e.loc_verbal, '')",
                "NULLIF(e.loc_motor, '')"
            ),
            " FROM gnuhealth_patient_evaluation e WHERE e.patient IS NOT NULL",
            " UNION ALL SELECT ",
            $crate::resources::vital_signs::ambulatory_row_sql!(),
            ", ",
            $crate::resources::vital_signs::common_count_sql!("a"),
            " + ",
            $crate::resources::vital_signs::present_sql!("a.pain_level"),
            " FROM gnuhealth_patient_ambulatory_care a WHERE a.patient IS NOT NULL",
            " UNION ALL SELECT ",
            $crate::resources::vital_signs::rounding_row_sql!(),
            ", ",
            $crate::resources::vital_signs::common_count_sql!("d"),
            " + ",
            $crate::resources::vital_signs::present_count_sql!("d.pain_level", "d.diuresis"),
            " FROM gnuhealth_patient_rounding d ",
            "JOIN gnuhealth_inpatient_registration g ON g.id = d.registration ",
            "WHERE g.patient IS NOT NULL"
        )
    };
}

/// `&[$lab uses…, ` the vital signs' uses `]`: which rows each source field feeds. A
/// denied field hides them (a denied common field, or the whole model, hides every measure
/// of its table).
macro_rules! with_field_rows {
    ($($lab:expr),* $(,)?) => {
        &[
            $($lab,)*
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "", "r.eval_row IS NOT NULL"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "patient", "r.eval_row IS NOT NULL"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "evaluation_start", "r.eval_row IS NOT NULL"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "state", "r.eval_row IS NOT NULL"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "healthprof", "r.eval_row IS NOT NULL"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "signed_by", "r.eval_row IS NOT NULL"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "temperature", "r.eval_row IS NOT NULL AND r.measure = 'temperature'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "systolic", "r.eval_row IS NOT NULL AND r.measure = 'bp'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "diastolic", "r.eval_row IS NOT NULL AND r.measure = 'bp'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "bpm", "r.eval_row IS NOT NULL AND r.measure = 'heart-rate'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "respiratory_rate", "r.eval_row IS NOT NULL AND r.measure = 'respiratory-rate'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "osat", "r.eval_row IS NOT NULL AND r.measure = 'oxygen-saturation'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "weight", "r.eval_row IS NOT NULL AND r.measure = 'weight'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "height", "r.eval_row IS NOT NULL AND r.measure = 'height'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "bmi", "r.eval_row IS NOT NULL AND r.measure = 'bmi'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "head_circumference", "r.eval_row IS NOT NULL AND r.measure = 'head-circumference'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "abdominal_circ", "r.eval_row IS NOT NULL AND r.measure = 'waist-circumference'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "hip", "r.eval_row IS NOT NULL AND r.measure = 'hip-circumference'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "whr", "r.eval_row IS NOT NULL AND r.measure = 'waist-hip-ratio'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "body_fat", "r.eval_row IS NOT NULL AND r.measure = 'body-fat'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "body_water", "r.eval_row IS NOT NULL AND r.measure = 'body-water'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "body_muscle", "r.eval_row IS NOT NULL AND r.measure = 'body-muscle'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "body_bone", "r.eval_row IS NOT NULL AND r.measure = 'body-bone'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "glycemia", "r.eval_row IS NOT NULL AND r.measure = 'glucose'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "hba1c", "r.eval_row IS NOT NULL AND r.measure = 'hba1c'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "cholesterol_total", "r.eval_row IS NOT NULL AND r.measure = 'cholesterol'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "hdl", "r.eval_row IS NOT NULL AND r.measure = 'hdl'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "ldl", "r.eval_row IS NOT NULL AND r.measure = 'ldl'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "tag", "r.eval_row IS NOT NULL AND r.measure = 'triglycerides'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "loc", "r.eval_row IS NOT NULL AND r.measure = 'gcs'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "loc_eyes", "r.eval_row IS NOT NULL AND r.measure = 'gcs-eyes'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "loc_verbal", "r.eval_row IS NOT NULL AND r.measure = 'gcs-verbal'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.evaluation", "loc_motor", "r.eval_row IS NOT NULL AND r.measure = 'gcs-motor'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.ambulatory_care", "", "r.amb_row IS NOT NULL"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.ambulatory_care", "patient", "r.amb_row IS NOT NULL"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.ambulatory_care", "session_start", "r.amb_row IS NOT NULL"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.ambulatory_care", "state", "r.amb_row IS NOT NULL"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.ambulatory_care", "health_professional", "r.amb_row IS NOT NULL"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.ambulatory_care", "signed_by", "r.amb_row IS NOT NULL"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.ambulatory_care", "temperature", "r.amb_row IS NOT NULL AND r.measure = 'temperature'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.ambulatory_care", "systolic", "r.amb_row IS NOT NULL AND r.measure = 'bp'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.ambulatory_care", "diastolic", "r.amb_row IS NOT NULL AND r.measure = 'bp'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.ambulatory_care", "bpm", "r.amb_row IS NOT NULL AND r.measure = 'heart-rate'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.ambulatory_care", "respiratory_rate", "r.amb_row IS NOT NULL AND r.measure = 'respiratory-rate'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.ambulatory_care", "osat", "r.amb_row IS NOT NULL AND r.measure = 'oxygen-saturation'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.ambulatory_care", "weight", "r.amb_row IS NOT NULL AND r.measure = 'weight'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.ambulatory_care", "glycemia", "r.amb_row IS NOT NULL AND r.measure = 'glucose'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.ambulatory_care", "pain_level", "r.amb_row IS NOT NULL AND r.measure = 'pain'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.rounding", "", "r.rnd_row IS NOT NULL"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.rounding", "registration", "r.rnd_row IS NOT NULL"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.rounding", "evaluation_start", "r.rnd_row IS NOT NULL"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.rounding", "state", "r.rnd_row IS NOT NULL"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.rounding", "health_professional", "r.rnd_row IS NOT NULL"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.rounding", "signed_by", "r.rnd_row IS NOT NULL"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.rounding", "temperature", "r.rnd_row IS NOT NULL AND r.measure = 'temperature'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.rounding", "systolic", "r.rnd_row IS NOT NULL AND r.measure = 'bp'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.rounding", "diastolic", "r.rnd_row IS NOT NULL AND r.measure = 'bp'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.rounding", "bpm", "r.rnd_row IS NOT NULL AND r.measure = 'heart-rate'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.rounding", "respiratory_rate", "r.rnd_row IS NOT NULL AND r.measure = 'respiratory-rate'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.rounding", "osat", "r.rnd_row IS NOT NULL AND r.measure = 'oxygen-saturation'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.rounding", "weight", "r.rnd_row IS NOT NULL AND r.measure = 'weight'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.rounding", "glycemia", "r.rnd_row IS NOT NULL AND r.measure = 'glucose'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.rounding", "pain_level", "r.rnd_row IS NOT NULL AND r.measure = 'pain'"),
            $crate::resources::FieldUse::rows("gnuhealth.patient.rounding", "diuresis", "r.rnd_row IS NOT NULL AND r.measure = 'urine-output'"),
            // A round's patient is its stay's.
            $crate::resources::FieldUse::rows("gnuhealth.inpatient.registration", "", "r.rnd_row IS NOT NULL"),
            $crate::resources::FieldUse::rows("gnuhealth.inpatient.registration", "patient", "r.rnd_row IS NOT NULL"),
        ]
    };
}

pub(crate) use {
    ambulatory_row_sql, bp_sql, common_count_sql, evaluation_row_sql, evaluation_value_sql,
    has_measure_sql, measure_columns_sql, measures_sql, nursing_value_sql, present_count_sql,
    present_sql, rounding_row_sql, rounding_value_sql, vital_branch_sql, vital_branches_sql,
    vital_count_branches_sql, with_field_rows,
};

/// The columns the loader reads from the Observation union, in this order.
const COLUMNS: &str = "r.fhir_id, r.code, r.name, r.result, r.unit_code, r.unit_name, \
     r.patient, r.category, r.code_kind, r.profile, r.sys, r.dia, r.effective, r.vstatus, \
     r.perf1, r.perf2, r.encounter, r.stamp";

/// The vital-sign Observations among `ids` (the ids that are not lab results), read in one
/// query over `from` (the Observation union).
pub async fn load(
    db: &Database,
    ctx: &Context,
    from: &str,
    def: &super::ResourceDef,
    ids: &[&String],
) -> Result<Vec<Value>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let owned: Vec<String> = ids.iter().map(|s| (*s).clone()).collect();
    let mut sql = db.sql();
    sql.push("SELECT ")
        .push(COLUMNS)
        .push(" FROM ")
        .push(from)
        .push(" WHERE ");
    crate::search::push_key_in(&mut sql, def, &owned);
    db.query(&sql)
        .await?
        .iter()
        .map(|row| to_json(&observation(ctx, row)))
        .collect()
}

fn observation(ctx: &Context, row: &Row) -> Observation {
    let category = row.opt_text(7).unwrap_or_else(|| "exam".into());
    let unit = |value: f64| Quantity {
        value: Some(value),
        unit: row.opt_text(5),
        system: Some(UCUM.into()),
        code: row.opt_text(4),
        ..Default::default()
    };
    let code = match row.opt_str(8) {
        Some("local") => ctx.system(MEASUREMENT_SYSTEM),
        _ => LOINC.to_owned(),
    };
    let mut meta = meta(row.opt_str(17)).unwrap_or_default();
    if let Some(profile) = row.opt_str(9) {
        meta.profile = vec![
            format!("{PROFILE_BASE}vitalsigns"),
            format!("{PROFILE_BASE}{profile}"),
        ];
    }
    let mut obs = Observation {
        resource_type: "Observation",
        id: row.opt_text(0).unwrap_or_default(),
        meta: (meta != Meta::default()).then_some(meta),
        status: match row.opt_str(13) {
            Some("final") => "final",
            _ => "preliminary",
        },
        category: vec![CodeableConcept {
            coding: vec![Coding::new(
                CATEGORY_SYSTEM,
                category.clone(),
                Some(category_display(&category).into()),
            )],
            text: None,
        }],
        code: CodeableConcept::coded(&code, row.opt_text(1).unwrap_or_default(), row.opt_text(2)),
        subject: row.opt_int(6).map(|p| Reference::to("Patient", p, None)),
        encounter: row.opt_text(16).map(|e| Reference {
            reference: Some(format!("Encounter/{e}")),
            ..Default::default()
        }),
        effective_date_time: row.opt_str(12).and_then(fhir_datetime),
        performer: super::observation::practitioners([row.opt_int(14), row.opt_int(15)]),
        value_quantity: row.opt_float(3).map(unit),
        ..Default::default()
    };
    if row.opt_str(1) == Some("85354-9") {
        obs.component = [
            (SYSTOLIC, row.opt_float(10)),
            (DIASTOLIC, row.opt_float(11)),
        ]
        .into_iter()
        .map(|((code, name), value)| ObservationComponent {
            code: CodeableConcept::coded(LOINC, code, Some(name.into())),
            value_quantity: value.map(unit),
            data_absent_reason: value.is_none().then(|| {
                CodeableConcept::coded(DATA_ABSENT_SYSTEM, "unknown", Some("Unknown".into()))
            }),
        })
        .collect();
    }
    obs
}

fn category_display(code: &str) -> &'static str {
    match code {
        "vital-signs" => "Vital Signs",
        "laboratory" => "Laboratory",
        "survey" => "Survey",
        _ => "Exam",
    }
}
