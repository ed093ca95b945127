//! Encounters with vital signs: the evaluation in which each condition was diagnosed
//! (after registration), the evaluation of each appointment the patient kept (a follow-up
//! of a chronic condition, a check-up…, by the appointment's professional, service and
//! kind of visit); a hospital stay around each surgery, with a nursing round a day and
//! the wound check in a nursing session a week after discharge.
//!
//! Vital signs are drawn in plausible ranges and shifted by what the patient has:
//! hypertensives have higher pressures, diabetics high glucose and HbA1c, fever with an
//! infection, children's rates and sizes by age. Each patient's encounters come from their
//! own random stream, so the rest of the demo does not change with them.

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use rusqlite::Connection;

use super::care::{Patient, recorded};
use super::generate::{Dice, GenResult, NOW, Stamp, age_on, insert, round};
use super::site::{Role, Site};

/// A condition of the patient, as the encounters need it.
pub(super) struct Problem {
    /// `gnuhealth_patient_disease` id.
    pub id: i64,
    pub pathology: i64,
    pub code: &'static str,
    pub diagnosed: NaiveDate,
    pub healed: Option<NaiveDate>,
    pub chronic: bool,
    pub infectious: bool,
    pub healthprof: i64,
    pub institution: i64,
    /// Surgery id, start and surgeon, when the condition was operated on here.
    pub surgery: Option<(i64, NaiveDateTime, i64)>,
}

/// What shifts the patient's vital signs.
struct Body {
    age: i64,
    female: bool,
    height: f64,
    bmi: f64,
    hypertensive: bool,
    diabetic: bool,
    dyslipidaemic: bool,
}

/// One visit with its vital signs, written as an evaluation.
struct Visit<'a> {
    at: NaiveDateTime,
    visit_type: String,
    problem: Option<&'a Problem>,
    healthprof: i64,
    institution: Option<i64>,
    complaint: String,
    feverish: bool,
    others: Vec<&'a Problem>,
    /// The appointment kept, with its kind of visit, urgency and specialty.
    appointment: Option<i64>,
    kind: String,
    urgency: Option<String>,
    specialty: Option<i64>,
}

pub(super) fn write_encounters(
    conn: &Connection,
    site: &mut Site,
    p: &Patient,
    problems: &[Problem],
    end: NaiveDate,
    kept: &[i64],
) -> GenResult<()> {
    if p.unidentified {
        return Ok(());
    }
    let mut dice = Dice::new(site.seed ^ 0x656e_636f_756e_7465, p.id as u64);
    let dice = &mut dice;
    let has = |codes: &[&str]| {
        problems
            .iter()
            .any(|d| codes.contains(&d.code) && d.healed.is_none())
    };
    let age = age_on(p.dob, end);
    let adult_height = if p.female {
        dice.normal(163.0, 6.5)
    } else {
        dice.normal(176.0, 7.0)
    };
    let body = Body {
        age,
        female: p.female,
        height: if age >= 18 {
            adult_height
        } else {
            child_height(age, p.female)
        },
        bmi: if age >= 18 {
            dice.normal(26.5, 4.0).clamp(17.5, 42.0)
        } else {
            dice.normal(17.0, 2.0)
        },
        hypertensive: has(&["I10", "I11.9"]),
        diabetic: has(&["E11.9", "E11.2", "E11.3", "E11.4", "E11.5", "E10.9"]),
        dyslipidaemic: has(&["E78.5", "E78.0"]),
    };
    let chronic: Vec<&Problem> = problems
        .iter()
        .filter(|d| d.chronic && d.healed.is_none())
        .collect();
    let mut visits: Vec<Visit> = Vec::new();
    for d in problems
        .iter()
        .filter(|d| d.diagnosed >= p.registered.date() && d.diagnosed <= end)
    {
        visits.push(Visit {
            at: dice.clinic_time(d.diagnosed),
            visit_type: "new".into(),
            problem: Some(d),
            healthprof: d.healthprof,
            institution: Some(d.institution),
            complaint: if d.infectious {
                "Fever and malaise".into()
            } else {
                "New health problem".into()
            },
            feverish: d.infectious && dice.chance(0.6),
            others: chronic
                .iter()
                .copied()
                .filter(|c| c.id != d.id)
                .take(2)
                .collect(),
            appointment: None,
            kind: "outpatient".into(),
            urgency: None,
            specialty: None,
        });
    }
    // The appointments kept: a follow-up is about one of the chronic conditions.
    let mut stmt = conn.prepare_cached(
        "SELECT id, appointment_date, healthprof, institution, speciality, visit_type, \
         urgency, appointment_type, comments FROM gnuhealth_appointment WHERE id = ?1",
    )?;
    for id in kept {
        let row = stmt.query_row([id], |r| {
            Ok((
                r.get::<_, String>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, Option<String>>(8)?,
            ))
        })?;
        let (date, healthprof, institution, specialty, visit_type, urgency, kind, comment) = row;
        let Ok(at) = NaiveDateTime::parse_from_str(&date, "%Y-%m-%d %H:%M:%S") else {
            continue;
        };
        if at.date() > end {
            continue;
        }
        let visit_type = visit_type.unwrap_or_else(|| "followup".into());
        let problem =
            (visit_type == "followup" && !chronic.is_empty()).then(|| dice.pick(&chronic));
        visits.push(Visit {
            at: at + TimeDelta::minutes(dice.int(3, 15)),
            complaint: comment.unwrap_or_else(|| match problem {
                Some(_) => "Follow-up of a chronic condition".into(),
                None => "Routine check-up".into(),
            }),
            problem,
            visit_type,
            healthprof: healthprof.unwrap_or(p.pcp),
            institution,
            feverish: false,
            others: chronic
                .iter()
                .copied()
                .filter(|c| problem.is_none_or(|d| d.id != c.id))
                .take(2)
                .collect(),
            appointment: Some(*id),
            kind: kind.unwrap_or_else(|| "outpatient".into()),
            urgency,
            specialty,
        });
    }
    visits.sort_by_key(|v| v.at);
    for v in &visits {
        write_evaluation(conn, site, dice, p, &body, v)?;
    }
    for d in problems {
        if let Some((surgery, at, surgeon)) = d
            .surgery
            .filter(|(_, at, _)| *at >= p.registered && at.date() <= end)
        {
            let stay = write_stay(conn, site, dice, p, &body, d, at, surgeon, end)?;
            // The surgery was done during the stay.
            conn.execute(
                "UPDATE gnuhealth_surgery SET admission = ?1 WHERE id = ?2",
                (stay, surgery),
            )?;
        }
    }
    Ok(())
}

/// Median height (cm) of a child of `age` years.
fn child_height(age: i64, female: bool) -> f64 {
    let h = match age {
        0 => 65.0,
        1 => 80.0,
        2 => 88.0,
        a => 88.0 + 6.0 * (a - 2) as f64,
    };
    if female { h - 1.5 } else { h }
}

/// Vital signs of one encounter.
struct Vitals {
    temperature: f64,
    systolic: i64,
    diastolic: i64,
    bpm: i64,
    respiratory_rate: i64,
    osat: i64,
    weight: f64,
    glycemia: Option<f64>,
}

fn vitals(dice: &mut Dice, body: &Body, feverish: bool) -> Vitals {
    let child = body.age < 14;
    let (sys, dia) = if body.hypertensive {
        (dice.normal(142.0, 12.0), dice.normal(88.0, 8.0))
    } else if child {
        (dice.normal(102.0, 8.0), dice.normal(62.0, 6.0))
    } else {
        (dice.normal(121.0, 10.0), dice.normal(77.0, 7.0))
    };
    let fever = if feverish {
        dice.uniform(0.9, 2.4)
    } else {
        0.0
    };
    let weight = body.bmi * (body.height / 100.0).powi(2) * dice.normal(1.0, 0.02);
    Vitals {
        temperature: round(dice.normal(36.6, 0.25) + fever, 1),
        systolic: sys.round() as i64,
        diastolic: dia.min(sys - 25.0).round() as i64,
        bpm: (dice.normal(if child { 95.0 } else { 74.0 }, 9.0) + fever * 10.0).round() as i64,
        respiratory_rate: (dice.normal(if child { 22.0 } else { 15.0 }, 2.0) + fever * 2.0).round()
            as i64,
        osat: (dice.normal(97.5, 1.0) - fever).round().clamp(88.0, 100.0) as i64,
        weight: round(weight, 1),
        glycemia: body
            .diabetic
            .then(|| round(dice.normal(155.0, 30.0).max(70.0), 0))
            .or_else(|| {
                (body.age >= 18 && dice.chance(0.3)).then(|| round(dice.normal(92.0, 9.0), 0))
            }),
    }
}

fn write_evaluation(
    conn: &Connection,
    site: &mut Site,
    dice: &mut Dice,
    p: &Patient,
    body: &Body,
    v: &Visit,
) -> GenResult<()> {
    let id = site.ids.evaluation.next();
    let number = site.ids.seq_evaluation.next();
    let minutes = dice.int(10, 30);
    let finish = v.at + TimeDelta::minutes(minutes);
    let created = recorded(dice, v.at, p.registered);
    site.sequence_used.note(3, created);
    // Recent visits may still be open; older ones were ended, most of them signed.
    let state = if NOW - v.at < TimeDelta::days(2) {
        "in_progress"
    } else if dice.chance(0.8) {
        "signed"
    } else {
        "done"
    };
    let ended = state != "in_progress";
    let written = ended.then(|| dice.stamp_after(finish.max(created), 3600));
    let vs = vitals(dice, body, v.feverish);
    let child = body.age < 14;
    let metabolic = body.diabetic || body.dyslipidaemic;
    let lipids = (metabolic && v.visit_type != "new" && dice.chance(0.5)).then(|| {
        let total = dice.normal(if body.dyslipidaemic { 225.0 } else { 190.0 }, 25.0);
        let hdl = dice.normal(if body.female { 58.0 } else { 48.0 }, 8.0);
        let tag = dice.normal(140.0, 40.0).max(40.0);
        let ldl = (total - hdl - tag / 5.0).max(40.0);
        [total, hdl, ldl, tag].map(|x| x.round() as i64)
    });
    let gcs = (v.problem.is_none() && !child && dice.chance(0.3)).then_some(15);
    let specialty = v.specialty.or_else(|| {
        site.refs
            .specialty
            .get(if child { "PEDIATRICS" } else { "FAMILY" })
            .copied()
    });
    let urgency = match &v.urgency {
        Some(u) => u.as_str(),
        None if v.feverish && dice.chance(0.2) => "b",
        None => "a",
    };
    let waist = (!child && v.visit_type != "new" && dice.chance(0.5))
        .then(|| round(body.bmi * 3.4 + dice.normal(6.0, 4.0), 1));
    let hip = waist.map(|w| round(w / dice.uniform(0.82, 0.98), 1));
    insert!(conn, "gnuhealth_patient_evaluation" {
        "id": id, "code": format!("EVAL {}/{number:06}", chrono::Datelike::year(&created)),
        "create_date": Stamp(created), "create_uid": 1, "patient": p.id,
        "evaluation_start": Stamp(v.at), "evaluation_endtime": ended.then_some(Stamp(finish)),
        "evaluation_type": v.kind.as_str(), "visit_type": v.visit_type.as_str(),
        "urgency": urgency, "appointment": v.appointment,
        "state": state, "healthprof": v.healthprof,
        "signed_by": (state == "signed").then_some(v.healthprof), "institution": v.institution,
        "specialty": specialty, "related_condition": v.problem.map(|d| d.id),
        "diagnosis": v.problem.map(|d| d.pathology), "chief_complaint": v.complaint.as_str(),
        "evaluation_summary": ended.then_some("Examination as recorded."),
        "discharge_reason": "home", "information_source": "patient", "reliable_info": true,
        "temperature": vs.temperature, "systolic": vs.systolic, "diastolic": vs.diastolic,
        "bpm": vs.bpm, "respiratory_rate": vs.respiratory_rate, "osat": vs.osat,
        "weight": vs.weight, "height": round(body.height, 1),
        "bmi": round(vs.weight / (body.height / 100.0).powi(2), 1),
        "head_circumference": (body.age < 3).then(|| round(dice.normal(44.0 + 2.5 * body.age as f64, 1.2), 1)),
        "abdominal_circ": waist, "hip": hip,
        "whr": waist.zip(hip).map(|(w, h)| round(w / h, 2)),
        "glycemia": vs.glycemia,
        "hba1c": (body.diabetic && dice.chance(0.6)).then(|| round(dice.normal(58.0, 8.0), 0)),
        "cholesterol_total": lipids.map(|l| l[0]), "hdl": lipids.map(|l| l[1]),
        "ldl": lipids.map(|l| l[2]), "tag": lipids.map(|l| l[3]),
        "loc": gcs, "loc_eyes": gcs.map(|_| "4"), "loc_verbal": gcs.map(|_| "5"),
        "loc_motor": gcs.map(|_| "6"), "user_id": 1,
        "write_date": written.map(Stamp), "write_uid": written.map(|_| 1),
    })?;
    for other in &v.others {
        insert!(conn, "gnuhealth_secondary_condition" {
            "id": site.ids.secondary_condition.next(), "create_date": Stamp(created),
            "create_uid": 1, "evaluation": id, "pathology": other.pathology,
        })?;
    }
    // A new problem was first thought of as itself or as something close.
    if let Some(d) = v
        .problem
        .filter(|_| v.visit_type == "new" && dice.chance(0.3))
    {
        insert!(conn, "gnuhealth_diagnostic_hypothesis" {
            "id": site.ids.diagnostic_hypothesis.next(), "create_date": Stamp(created),
            "create_uid": 1, "evaluation": id, "pathology": d.pathology,
            "comments": "Working diagnosis",
        })?;
    }
    Ok(())
}

/// A hospital stay around a surgery: admitted the day before (or the same morning),
/// discharged one to five days after, a nursing round each morning, and the wound checked
/// in a nursing session a week after discharge. Returns the stay's id.
#[allow(clippy::too_many_arguments)]
fn write_stay(
    conn: &Connection,
    site: &mut Site,
    dice: &mut Dice,
    p: &Patient,
    body: &Body,
    d: &Problem,
    surgery: NaiveDateTime,
    surgeon: i64,
    end: NaiveDate,
) -> GenResult<i64> {
    let id = site.ids.inpatient_registration.next();
    let number = site.ids.seq_inpatient.next();
    let admitted = surgery - TimeDelta::hours(dice.int(2, 20));
    let discharged = (surgery + TimeDelta::days(dice.int(1, 5))).date();
    let discharged = dice.clinic_time(discharged.min(end));
    let created = recorded(dice, admitted, p.registered);
    site.sequence_used.note(11, created);
    let left = discharged <= NOW;
    let written = left.then(|| dice.stamp_after(discharged.max(created), 3600));
    let bed = dice.int(1, site.beds);
    insert!(conn, "gnuhealth_inpatient_registration" {
        "id": id, "name": format!("INPAC{number:03}"), "create_date": Stamp(created),
        "create_uid": 1, "patient": p.id, "bed": bed, "institution": site.hospital,
        "hospitalization_date": Stamp(admitted), "discharge_date": Stamp(discharged),
        "admission_type": if dice.chance(0.8) { "elective" } else { "urgent" },
        "admission_reason": d.pathology, "attending_physician": surgeon,
        "operating_physician": surgeon, "state": if left { "done" } else { "hospitalized" },
        "discharged_by": left.then_some(surgeon),
        "discharge_reason": left.then_some("home"), "discharge_dx": left.then_some(d.pathology),
        "discharge_plan": left.then_some("Wound care; control in one week."),
        "nursing_plan": "Vitals every 8 hours; pain control.",
        "write_date": written.map(Stamp), "write_uid": written.map(|_| 1),
    })?;
    let nurse = site.staff(dice, Role::Nurse, Some(site.hospital)).id;
    let mut day = admitted.date() + TimeDelta::days(1);
    while day <= discharged.date() && day <= end {
        let at =
            day.and_time(chrono::NaiveTime::MIN) + TimeDelta::minutes(dice.int(7 * 60, 9 * 60));
        let feverish = dice.chance(0.1);
        let vs = vitals(dice, body, feverish);
        let number = site.ids.seq_rounding.next();
        site.sequence_used.note(13, at);
        insert!(conn, "gnuhealth_patient_rounding" {
            "id": site.ids.rounding.next(), "code": format!("ROUND {}/{number:04}", chrono::Datelike::year(&at)),
            "create_date": Stamp(at), "create_uid": 1, "registration": id,
            "health_professional": nurse, "signed_by": nurse, "state": "done",
            "evaluation_start": Stamp(at), "evaluation_end": Stamp(at + TimeDelta::minutes(15)),
            "temperature": vs.temperature, "systolic": vs.systolic, "diastolic": vs.diastolic,
            "bpm": vs.bpm, "respiratory_rate": vs.respiratory_rate, "osat": vs.osat,
            "glycemia": vs.glycemia.map(|g| g as i64), "diuresis": dice.int(900, 1900),
            "pain": true, "pain_level": dice.int(1, 5), "evolution": "i",
            "round_summary": "Stable; improving.",
        })?;
        day += TimeDelta::days(1);
    }
    let check = discharged + TimeDelta::days(dice.int(6, 9));
    if check.date() <= end {
        let start = dice.clinic_time(check.date());
        let vs = vitals(dice, body, false);
        let number = site.ids.seq_ambulatory.next();
        site.sequence_used.note(10, start);
        let sister = site.staff(dice, Role::Nurse, Some(p.institution)).id;
        insert!(conn, "gnuhealth_patient_ambulatory_care" {
            "id": site.ids.ambulatory_care.next(),
            "name": format!("AC {}/{number:03}", chrono::Datelike::year(&start)),
            "create_date": Stamp(start), "create_uid": 1, "patient": p.id,
            "base_condition": d.pathology, "health_professional": sister,
            "ordering_professional": surgeon, "signed_by": sister, "state": "done",
            "session_start": Stamp(start), "session_end": Stamp(start + TimeDelta::minutes(20)),
            "session_number": 1, "temperature": vs.temperature, "systolic": vs.systolic,
            "diastolic": vs.diastolic, "bpm": vs.bpm, "respiratory_rate": vs.respiratory_rate,
            "osat": vs.osat, "weight": vs.weight.round() as i64, "pain": true,
            "pain_level": dice.int(0, 3), "evolution": "i",
            "session_notes": "Surgical wound check and dressing change.",
        })?;
    }
    Ok(id)
}
