//! Lab reports: a request (`gnuhealth_patient_lab_test`) per test type, the lab report
//! (`gnuhealth_lab`) and its result rows (`gnuhealth_lab_test_critearea` copied from the
//! type's templates, as GNU Health's "complete criteria" button does), with values drawn
//! around physiological means and shifted by what the patient has: diabetics have high
//! glucose and HbA1c, patients on acenocoumarol an INR near 2.5, iron deficiency gives a
//! microcytic anaemia, chronic kidney disease a high creatinine, and so on. The blood
//! count is built consistently (indices from haemoglobin, differential summing to the
//! white count).

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use rusqlite::Connection;

use super::care::{Patient, recorded};
use super::generate::{Dice, GenError, GenResult, NOW, Stamp, age_on, insert, round};
use super::site::{Role, Site, TemplateRef};

/// Tests ordered together on one day (one request number).
pub(super) struct Episode {
    pub date: NaiveDate,
    pub types: Vec<&'static str>,
    pub requestor: i64,
    /// The condition that motivated the request (`context`), if any.
    pub reason: Option<i64>,
    pub urgent: bool,
    /// The acute condition being investigated (infection, urinary infection, pregnancy…).
    pub acute: Option<&'static str>,
}

/// What shapes a patient's results over time.
pub(super) struct LabState {
    female: bool,
    dob: NaiveDate,
    conditions: Vec<(&'static str, NaiveDate, Option<NaiveDate>)>,
    drugs: Vec<(&'static str, NaiveDate, Option<NaiveDate>)>,
    /// "A Rh+" as reported by the blood group test.
    blood_group: String,
    /// How well a diabetic is controlled: 0 excellent … 1 poor.
    control: f64,
    /// Personal offsets, so one patient's values are consistent between reports.
    hdl: f64,
    cholesterol: f64,
}

impl LabState {
    pub fn new(
        dice: &mut Dice,
        p: &Patient,
        conditions: Vec<(&'static str, NaiveDate, Option<NaiveDate>)>,
        drugs: Vec<(&'static str, NaiveDate, Option<NaiveDate>)>,
    ) -> Self {
        let blood_group = match p.blood {
            Some((group, rh)) => format!("{group} Rh{rh}"),
            None => format!(
                "{} Rh+",
                dice.weighted(&[("O", 45), ("A", 42), ("B", 10), ("AB", 3)])
            ),
        };
        LabState {
            female: p.female,
            dob: p.dob,
            conditions,
            drugs,
            blood_group,
            control: dice.uniform(0.0, 1.0),
            hdl: dice.normal(0.0, 8.0),
            cholesterol: dice.normal(0.0, 25.0),
        }
    }

    fn has(&self, codes: &[&str], on: NaiveDate) -> bool {
        self.conditions
            .iter()
            .any(|(c, from, to)| codes.contains(c) && *from <= on && to.is_none_or(|t| t > on))
    }

    fn takes(&self, drug: &str, on: NaiveDate) -> bool {
        self.drugs
            .iter()
            .any(|(d, from, to)| *d == drug && *from <= on && to.is_none_or(|t| t > on))
    }
}

const DIABETES: &[&str] = &["E11.9", "E11.2", "E11.3", "E11.4", "E11.5", "E10.9"];

/// One analyte's result.
struct Value {
    number: Option<f64>,
    text: Option<String>,
}

fn num(v: f64, decimals: i32) -> Value {
    Value {
        number: Some(round(v.max(0.0), decimals)),
        text: None,
    }
}

fn text(s: &str) -> Value {
    Value {
        number: None,
        text: Some(s.to_string()),
    }
}

const EMPTY: Value = Value {
    number: None,
    text: None,
};

/// Results of a whole report, in template order.
fn simulate(
    dice: &mut Dice,
    code: &str,
    templates: &[TemplateRef],
    s: &LabState,
    e: &Episode,
) -> Vec<Value> {
    let on = e.date;
    let age = age_on(s.dob, on);
    let acute = e.acute.unwrap_or("");
    let infection = matches!(acute, "J18.9" | "K35.8" | "L03.9");
    let uti = matches!(acute, "N39.0" | "N30.0");
    let pregnant = acute == "Z34.9" || s.has(&["Z34.9"], on);
    let diabetic = s.has(DIABETES, on);
    let ckd5 = s.has(&["N18.5"], on);
    let ckd = ckd5 || s.has(&["N18.3"], on);
    let cirrhosis = s.has(&["K70.3"], on);
    let fatty = s.has(&["K76.0"], on);
    let hepatitis = s.has(&["B18.2"], on);
    match code {
        "CBC" => {
            let iron = s.has(&["D50.9"], on);
            let mut hgb = if age < 12 {
                dice.normal(12.6, 0.8)
            } else if s.female {
                dice.normal(13.6, 0.9)
            } else {
                dice.normal(15.1, 1.0)
            };
            if iron {
                hgb = dice.normal(10.4, 0.8);
            }
            if ckd {
                hgb -= if ckd5 { 3.0 } else { 1.2 };
            }
            if pregnant {
                hgb -= 0.8;
            }
            if cirrhosis {
                hgb -= 1.0;
            }
            let mcv = if iron {
                dice.normal(74.0, 4.0)
            } else if cirrhosis {
                dice.normal(99.0, 4.0)
            } else {
                dice.normal(88.0, 3.5)
            };
            let hct = hgb * 3.0 + dice.normal(0.0, 0.8);
            let rbc = hct / mcv * 10.0;
            let rdw = if iron {
                dice.normal(16.5, 1.2)
            } else {
                dice.normal(13.0, 0.7)
            };
            let wbc = if infection {
                dice.normal(14.5, 3.0)
            } else {
                dice.normal(7.0, 1.6)
            }
            .max(2.5);
            let raw = if infection {
                [
                    dice.normal(0.83, 0.04),
                    dice.normal(0.10, 0.03),
                    dice.normal(0.05, 0.01),
                    0.01,
                    0.004,
                ]
            } else {
                [
                    dice.normal(0.58, 0.07),
                    dice.normal(0.31, 0.06),
                    dice.normal(0.07, 0.015),
                    dice.normal(0.03, 0.012),
                    dice.normal(0.006, 0.002),
                ]
            };
            let raw = raw.map(|f: f64| f.max(0.001));
            let total: f64 = raw.iter().sum();
            let [neu, lym, mon, eo, bas] = raw.map(|f| f / total);
            let plt = if cirrhosis {
                dice.normal(110.0, 30.0)
            } else {
                dice.normal(255.0, 55.0)
            }
            .max(20.0);
            let mpv = dice.normal(9.8, 1.0);
            let esr = if infection {
                dice.normal(48.0, 15.0)
            } else {
                dice.normal(6.0 + age as f64 / 12.0, 4.0)
            };
            templates
                .iter()
                .map(|t| match t.code {
                    "HGB" => num(hgb, 1),
                    "RBC" => num(rbc, 2),
                    "HCT" => num(hct, 1),
                    "MCV" => num(mcv, 1),
                    "MCH" => num(hgb / rbc * 10.0, 1),
                    "MCHC" => num(hgb / hct * 100.0, 1),
                    "RDWcv" => num(rdw, 1),
                    "RDWsd" => num(rdw * mcv / 26.5, 1),
                    "WBC" => num(wbc, 2),
                    "NEU" => num(wbc * neu, 2),
                    "LYM" => num(wbc * lym, 2),
                    "MON" => num(wbc * mon, 2),
                    "BAS" => num(wbc * bas, 2),
                    "EO" => num(wbc * eo, 2),
                    "NEU%" => num(neu * 100.0, 1),
                    "LYM%" => num(lym * 100.0, 1),
                    "MON%" => num(mon * 100.0, 1),
                    "EO%" => num(eo * 100.0, 1),
                    "BAS%" => num(bas * 100.0, 1),
                    "PLT" => num(plt, 0),
                    "PCT" => num(plt * mpv / 10_000.0, 2),
                    "MPV" => num(mpv, 1),
                    "PDWsd" => num(dice.normal(12.0, 1.6), 1),
                    "PDWcv" => num(dice.normal(16.0, 1.2), 1),
                    "ESR" => num(esr.max(1.0), 0),
                    "GRA#" => num(wbc * (neu + eo + bas), 2),
                    _ => EMPTY,
                })
                .collect()
        }
        "LFT" => {
            let alb = if cirrhosis {
                dice.normal(3.0, 0.35)
            } else {
                dice.normal(4.5, 0.25)
            };
            let glob = if cirrhosis {
                dice.normal(3.6, 0.4)
            } else {
                dice.normal(2.6, 0.25)
            }
            .max(1.5);
            let bili = if cirrhosis {
                dice.normal(2.3, 0.7)
            } else {
                dice.normal(0.7, 0.25)
            }
            .max(0.2);
            let direct = if cirrhosis {
                bili * 0.45
            } else {
                (bili * 0.2).min(0.25)
            };
            let alt = if hepatitis {
                dice.normal(75.0, 25.0)
            } else if fatty {
                dice.normal(52.0, 14.0)
            } else if cirrhosis {
                dice.normal(45.0, 15.0)
            } else {
                dice.normal(22.0, 8.0)
            };
            let ast = if cirrhosis {
                dice.normal(85.0, 25.0)
            } else {
                alt * dice.normal(0.9, 0.15)
            };
            let ggt = if cirrhosis {
                dice.normal(190.0, 60.0)
            } else if fatty {
                dice.normal(65.0, 20.0)
            } else {
                dice.normal(26.0, 12.0)
            };
            let alp = if cirrhosis {
                dice.normal(190.0, 50.0)
            } else {
                dice.normal(85.0, 25.0)
            }
            .max(30.0);
            templates
                .iter()
                .map(|t| match t.code {
                    "Total Protein" => num(alb + glob, 1),
                    "Albumin" => num(alb, 1),
                    "Globulin" => num(glob, 1),
                    "Total Bilirubin" => num(bili, 2),
                    "Direct Bilirubin" => num(direct, 2),
                    "Indirect Bilirubin" => num(bili - direct, 2),
                    "Alkaline Phosphatase" => num(alp, 0),
                    "SGPT" => num(alt.max(5.0), 0),
                    "SGOT" => num(ast.max(6.0), 0),
                    "Gamma GT" => num(ggt.max(5.0), 0),
                    "AG Ratio" => num(alb / glob, 2),
                    _ => EMPTY,
                })
                .collect()
        }
        "RFT" => {
            let gout = s.has(&["M10.9"], on);
            let creatinine = if ckd5 {
                dice.normal(6.2, 1.4)
            } else if ckd {
                dice.normal(1.75, 0.25)
            } else if s.female {
                dice.normal(0.86, 0.1)
            } else {
                dice.normal(0.98, 0.13)
            };
            let urea = if ckd5 {
                dice.normal(140.0, 25.0)
            } else if ckd {
                dice.normal(66.0, 12.0)
            } else {
                dice.normal(31.0, 7.0).max(12.0)
            };
            let uric = if gout && !s.takes("allopurinol", on) {
                dice.normal(8.6, 1.1)
            } else if gout {
                dice.normal(6.2, 0.9)
            } else {
                dice.normal(5.0, 1.1)
            };
            templates
                .iter()
                .map(|t| match t.code {
                    "Urea" => num(urea, 0),
                    "Creatinine" => num(creatinine.max(0.3), 2),
                    "Uric Acid" => num(uric, 1),
                    _ => EMPTY,
                })
                .collect()
        }
        "UA" => {
            let glycosuria = diabetic && s.control > 0.7;
            templates
                .iter()
                .map(|t| match t.code {
                    "Color" => text(if uti && dice.chance(0.4) {
                        "Dark yellow"
                    } else {
                        dice.pick(&["Yellow", "Straw", "Pale yellow"])
                    }),
                    "Clarity/ Appearance" => text(if uti { "Turbid" } else { "Clear" }),
                    "Specific Gravity" => num(dice.normal(117.0, 5.0), 0),
                    "PH" => num(dice.normal(6.0, 0.5), 1),
                    "Nitrites" => text(if uti && dice.chance(0.7) {
                        "Positive"
                    } else {
                        "Negative"
                    }),
                    "Glucose" => text(if glycosuria {
                        "Positive (++)"
                    } else {
                        "Negative"
                    }),
                    "Protein" => text(if ckd {
                        "Positive (+)"
                    } else if pregnant && dice.chance(0.1) {
                        "Trace"
                    } else {
                        "Negative"
                    }),
                    "Ketone Bodies" | "Urobilinogen" | "Bilirubin" => text("Negative"),
                    "Leucocytes" => text(if uti { "Positive (+++)" } else { "Negative" }),
                    "Blood" => text(if uti && dice.chance(0.4) {
                        "Trace"
                    } else {
                        "Negative"
                    }),
                    "Pus Cells" => num(
                        if uti {
                            dice.normal(25.0, 8.0)
                        } else {
                            dice.normal(1.5, 0.3)
                        },
                        0,
                    ),
                    "RBC's" => num(
                        if uti {
                            dice.normal(5.0, 2.0)
                        } else {
                            dice.normal(0.8, 0.6)
                        },
                        0,
                    ),
                    "Epithelial Cells" => text(dice.pick(&["Few", "Occasional", "Absent"])),
                    "Crystals" => text(if dice.chance(0.1) {
                        "Calcium oxalate (few)"
                    } else {
                        "Absent"
                    }),
                    "Casts" => text(if ckd && dice.chance(0.5) {
                        "Hyaline casts (few)"
                    } else {
                        "Absent"
                    }),
                    "Bacteria" => text(if uti { "Abundant" } else { "Absent" }),
                    _ => EMPTY,
                })
                .collect()
        }
        "HTG" => templates.iter().map(|_| text(&s.blood_group)).collect(),
        "GLU" => {
            let (glu, a1c) = if diabetic {
                let a1c = dice.normal(6.4 + 2.0 * s.control, 0.4);
                (dice.normal(28.7 * a1c - 46.7, 18.0), a1c)
            } else if pregnant {
                (dice.normal(80.0, 7.0), dice.normal(5.1, 0.2))
            } else {
                (dice.normal(89.0, 8.0), dice.normal(5.3, 0.25))
            };
            templates
                .iter()
                .map(|t| match t.code {
                    "GLU" => num(glu.max(55.0), 0),
                    "HBA1C" => num(a1c, 1),
                    _ => EMPTY,
                })
                .collect()
        }
        "LIPID" => {
            let statin = s.takes("atorvastatin", on) || s.takes("simvastatin", on);
            let dyslipidaemia = s.has(&["E78.5", "E78.0"], on);
            let mut chol = 195.0 + s.cholesterol + dice.normal(0.0, 10.0);
            if dyslipidaemia {
                chol += 55.0;
            }
            if statin {
                chol -= 70.0;
            }
            let hdl = if s.female { 58.0 } else { 48.0 } + s.hdl + dice.normal(0.0, 3.0);
            let trig = if diabetic || s.has(&["E66.9"], on) {
                dice.normal(185.0, 55.0)
            } else {
                dice.normal(115.0, 40.0)
            }
            .max(40.0);
            let ldl = (chol - hdl - trig / 5.0).max(30.0);
            templates
                .iter()
                .map(|t| match t.code {
                    "CHOL" => num(chol, 0),
                    "HDL" => num(hdl.max(20.0), 0),
                    "LDL" => num(ldl, 0),
                    "TRIG" => num(trig, 0),
                    _ => EMPTY,
                })
                .collect()
        }
        "THYROID" => {
            let hypo = s.has(&["E03.9", "E06.3"], on);
            let hyper = s.has(&["E05.0"], on);
            let (tsh, ft4) = if hyper {
                (dice.normal(0.05, 0.03).max(0.01), dice.normal(2.5, 0.5))
            } else if hypo && dice.chance(0.3) {
                (dice.normal(8.5, 2.5), dice.normal(0.72, 0.1))
            } else {
                (dice.normal(1.9, 0.8).max(0.3), dice.normal(1.2, 0.17))
            };
            templates
                .iter()
                .map(|t| match t.code {
                    "TSH" => num(tsh, 2),
                    "FT4" => num(ft4, 2),
                    _ => EMPTY,
                })
                .collect()
        }
        "COAG" => {
            let inr = if s.takes("acenocoumarol", on) {
                dice.normal(2.5, 0.5).max(1.3)
            } else if cirrhosis {
                dice.normal(1.5, 0.2)
            } else {
                dice.normal(1.0, 0.07)
            };
            templates
                .iter()
                .map(|t| match t.code {
                    "PT" => num(12.2 * inr.powf(0.9), 1),
                    "INR" => num(inr, 2),
                    "APTT" => num(
                        dice.normal(30.0, 2.5) + if cirrhosis { 6.0 } else { 0.0 },
                        1,
                    ),
                    _ => EMPTY,
                })
                .collect()
        }
        "CRP" => {
            let crp = if infection {
                dice.normal(95.0, 45.0).max(12.0)
            } else {
                dice.normal(2.0, 1.5).max(0.2)
            };
            templates.iter().map(|_| num(crp, 1)).collect()
        }
        _ => templates.iter().map(|_| EMPTY).collect(),
    }
}

/// Outside the template's limits (when it has both).
fn out_of_range(v: &Value, t: &TemplateRef) -> bool {
    match (v.number, t.lower, t.upper) {
        (Some(x), Some(lo), Some(hi)) => x < lo || x > hi,
        (Some(x), Some(lo), None) => x < lo,
        _ => false,
    }
}

/// The pathologist's interpretation of an abnormal report.
fn interpretation(code: &str, abnormal: &[&str]) -> &'static str {
    let any = |c: &str| abnormal.contains(&c);
    match code {
        "CBC" if any("HGB") => "Anaemia",
        "CBC" if any("WBC") || any("NEU") => "Leukocytosis with neutrophilia",
        "CBC" if any("PLT") => "Thrombocytopenia",
        "GLU" => "Hyperglycaemia",
        "LIPID" => "Dyslipidaemia",
        "RFT" if any("Creatinine") => "Impaired renal function",
        "RFT" => "Hyperuricaemia",
        "THYROID" if any("FT4") => "Abnormal thyroid function",
        "THYROID" => "Abnormal TSH",
        "COAG" => "Prolonged coagulation times",
        "LFT" => "Abnormal liver function tests",
        "UA" => "Findings consistent with urinary tract infection",
        "CRP" => "Raised inflammatory markers",
        _ => "Abnormal results",
    }
}

/// Write one episode: a request per test type, the reports and their results.
pub(super) fn write_episode(
    conn: &Connection,
    site: &mut Site,
    dice: &mut Dice,
    p: &Patient,
    state: &LabState,
    e: Episode,
) -> GenResult<()> {
    let requested = dice.clinic_time(e.date);
    let request = site.ids.seq_lab_request.next();
    let request_created = recorded(dice, requested, p.registered);
    site.sequence_used.note(9, request_created);
    let pathologist = site.staff(dice, Role::Pathologist, Some(site.hospital)).id;
    let technician = site
        .staff(dice, Role::LabTechnician, Some(site.hospital))
        .id;
    let analysed: NaiveDateTime = if e.urgent || e.acute.is_some() {
        requested + TimeDelta::minutes(dice.int(30, 180))
    } else {
        (e.date + TimeDelta::days(1)).and_time(chrono::NaiveTime::MIN)
            + TimeDelta::minutes(dice.int(90, 120) * 5)
    };
    let draft = analysed > NOW - TimeDelta::hours(6);
    for code in &e.types {
        let kind = site
            .refs
            .lab_type
            .get(code)
            .ok_or_else(|| GenError::Missing(format!("lab test type {code}")))?;
        let (type_id, specimen) = (kind.id, kind.specimen);
        let values = if draft {
            kind.templates.iter().map(|_| EMPTY).collect()
        } else {
            simulate(dice, code, &kind.templates, state, &e)
        };
        let abnormal: Vec<&str> = kind
            .templates
            .iter()
            .zip(&values)
            .filter(|(t, v)| out_of_range(v, t))
            .map(|(t, _)| t.code)
            .collect();
        let validated = !draft && dice.chance(0.75);
        let done = (!draft).then(|| analysed + TimeDelta::minutes(dice.int(30, 240)));
        let validation = done
            .filter(|_| validated)
            .map(|d| d + TimeDelta::minutes(dice.int(20, 360)));
        let created = recorded(dice, analysed.min(NOW - TimeDelta::hours(1)), p.registered)
            .max(request_created);
        let written = validation
            .or(done)
            .map(|w| dice.stamp_after(w.max(created), 120));
        let lab = site.ids.lab.next();
        let number = site.ids.seq_lab.next();
        site.sequence_used.note(8, created);
        let results = if draft {
            None
        } else if abnormal.is_empty() {
            Some("All values within the reference ranges.".to_string())
        } else {
            Some(format!("Out of range: {}.", abnormal.join(", ")))
        };
        let diagnosis = (!abnormal.is_empty()).then(|| interpretation(code, &abnormal));
        insert!(conn, "gnuhealth_lab" {
            "id": lab, "create_date": Stamp(created), "create_uid": 1,
            "date_analysis": (!draft).then_some(Stamp(analysed)), "date_requested": Stamp(requested),
            "diagnosis": diagnosis, "done_by": done.map(|_| technician), "done_date": done.map(Stamp),
            "historize": false, "name": format!("TEST{number:03}"),
            "pathologist": pathologist, "pathology": if abnormal.is_empty() { None } else { e.reason },
            "patient": p.id, "request_order": request, "requestor": e.requestor,
            "results": results, "source_type": "patient", "specimen_type": specimen,
            "state": if draft { "draft" } else if validated { "validated" } else { "done" },
            "test": type_id, "validated_by": validation.map(|_| pathologist),
            "validation_date": validation.map(Stamp), "write_date": written.map(Stamp),
            "write_uid": written.map(|_| 1),
        })?;
        for (t, v) in kind.templates.iter().zip(&values) {
            insert!(conn, "gnuhealth_lab_test_critearea" {
                "id": site.ids.critearea.next(), "code": t.code, "create_date": Stamp(created),
                "create_uid": 1, "excluded": false, "gnuhealth_lab_id": lab,
                "limits_verified": t.limits_verified, "lower_limit": t.lower, "name": t.name,
                "normal_range": t.normal_range, "result": v.number,
                "result_text": v.text.as_deref(), "sequence": t.sequence, "test_method": t.method,
                "to_integer": false, "units": t.units, "upper_limit": t.upper,
                "warning": out_of_range(v, t), "write_date": written.map(Stamp),
                "write_uid": written.map(|_| 1),
            })?;
        }
        let request_written = dice.stamp_after(created, 60);
        insert!(conn, "gnuhealth_patient_lab_test" {
            "id": site.ids.lab_request.next(), "comment": None::<&str>, "context": e.reason,
            "create_date": Stamp(request_created), "create_uid": 1, "date": Stamp(requested),
            "doctor_id": e.requestor, "patient_id": p.id, "request": request,
            "source_type": "patient", "state": if draft { "ordered" } else { "tested" },
            "test_type": type_id, "urgent": e.urgent, "write_date": Stamp(request_written),
            "write_uid": 1,
        })?;
    }
    Ok(())
}
