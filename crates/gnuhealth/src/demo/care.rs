//! A patient's clinical record: allergies and conditions (by age, sex and a
//! cardiometabolic risk that makes diabetes, hypertension and dyslipidaemia cluster),
//! their treatment (medications and prescriptions), surgeries, lab reports
//! ([`super::labs`]), vaccinations, family history and, for some, a death certificate.
//!
//! Records entered before the patient registered carry the registration time as their
//! `create_date` (they were entered at registration); later ones are created when they
//! happen. Records updated afterwards (a healed condition, a validated lab) carry the
//! `write_date` of that update.

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta};
use rusqlite::Connection;

use super::clinical::{
    self, ALLERGIES, CAUSES_OF_DEATH, CHILDHOOD_SCHEDULE, CONDITIONS, Course, FAMILY_DISEASES,
    RELATIVES, SURGERIES, Sex, VACCINES,
};
use super::encounters::Problem;
use super::generate::{Day, Dice, GenError, GenResult, NOW, Stamp, add_years, age_on, insert};
use super::labs::{self, Episode, LabState};
use super::names::Origin;
use super::site::{DrugRef, Role, Site};

/// The patient whose record is written.
pub(super) struct Patient {
    pub id: i64,
    pub party: i64,
    pub female: bool,
    pub dob: NaiveDate,
    pub registered: NaiveDateTime,
    pub pcp: i64,
    pub institution: i64,
    pub origin: Origin,
    pub born_abroad: bool,
    pub unidentified: bool,
    pub du: Option<i64>,
    /// ABO group and Rh, when known (the blood group test reports them).
    pub blood: Option<(&'static str, &'static str)>,
    /// Patient 1 gets at least one record of every kind, so that even a tiny demo
    /// database serves every resource type.
    pub showcase: bool,
}

/// What the record says about the patient, for the `gnuhealth_patient` row.
#[derive(Default)]
pub(super) struct Flags {
    pub allergic: bool,
    pub cancer: bool,
    pub cardio: bool,
    pub cognitive: bool,
    pub diabetes: bool,
    pub hypertension: bool,
    pub mental: bool,
    pub smoker: bool,
    pub ex_smoker: bool,
    pub alcohol: bool,
    pub ex_alcoholic: bool,
    pub critical_info: Option<String>,
    /// When the patient died, if they did.
    pub death: Option<NaiveDateTime>,
    /// The insurance in use (`current_insurance`).
    pub current_insurance: Option<i64>,
    /// The conditions, for the encounters written after the appointments.
    pub problems: Vec<Problem>,
    /// The last day of the record (the day before today, or of death).
    pub end: NaiveDate,
}

/// When a record about something that happened at `event` was created.
pub(super) fn recorded(
    dice: &mut Dice,
    event: NaiveDateTime,
    registered: NaiveDateTime,
) -> NaiveDateTime {
    if event < registered {
        dice.stamp_after(registered, 1800)
    } else {
        dice.stamp_after(event, 2 * 3600)
    }
}

fn band(age: i64) -> usize {
    match age {
        ..=14 => 0,
        15..=44 => 1,
        45..=64 => 2,
        _ => 3,
    }
}

/// A condition the patient has.
struct Diagnosis {
    spec: &'static clinical::ConditionSpec,
    code: &'static str,
    pathology: i64,
    diagnosed: NaiveDate,
    healed: Option<NaiveDate>,
    healthprof: i64,
    institution: i64,
    surgery: Option<(&'static clinical::SurgerySpec, NaiveDateTime)>,
    id: i64,
}

/// A medication the patient takes or took.
struct Medication {
    drug: DrugRef,
    indication: Option<i64>,
    start: NaiveDateTime,
    end: Option<NaiveDateTime>,
    discontinued: Option<&'static str>,
    healthprof: i64,
    institution: i64,
    chronic: bool,
}

pub(super) fn write_records(
    conn: &Connection,
    site: &mut Site,
    dice: &mut Dice,
    p: &Patient,
) -> GenResult<Flags> {
    let mut flags = Flags::default();
    let today = NOW.date();
    let age_now = age_on(p.dob, today);
    // Death ends the record; it is decided first so nothing happens after it.
    let death_risk = match age_now {
        ..=64 => 0.003,
        65..=79 => 0.03,
        _ => 0.09,
    };
    let latest_death = NOW - TimeDelta::days(2);
    let earliest_death = p.registered + TimeDelta::days(40);
    let death =
        (!p.showcase && earliest_death < latest_death && dice.chance(death_risk)).then(|| {
            let day = dice.date_between(earliest_death.date(), latest_death.date());
            dice.clinic_time(day)
        });
    let end = death.map_or(today - TimeDelta::days(1), |d| d.date());
    let age = age_on(p.dob, end);
    // Cardiometabolic risk: clusters diabetes, hypertension, dyslipidaemia and obesity.
    let risk = (dice.normal(0.0, 0.5)).exp();

    let allergies = if p.unidentified {
        Vec::new()
    } else {
        allergies(conn, site, dice, p, end, &mut flags)?
    };
    let avoid: Vec<&str> = allergies
        .iter()
        .flat_map(|a| a.avoid.iter().copied())
        .collect();

    let mut diagnoses = plan_conditions(site, dice, p, end, age, risk)?;
    diagnoses.sort_by_key(|d| d.diagnosed);
    for d in &mut diagnoses {
        write_condition(conn, site, dice, p, d)?;
    }
    for d in &diagnoses {
        let code = d.code;
        match code {
            "E11.9" | "E11.2" | "E11.3" | "E11.4" | "E11.5" | "E10.9" => flags.diabetes = true,
            "I10" | "I11.9" => flags.hypertension = true,
            "I25.1" | "I48.9" | "I50.9" | "I50.0" => flags.cardio = true,
            "C50.9" | "C61" | "C18.9" => flags.cancer = true,
            "G30.9" | "F03" => flags.cognitive = true,
            "J44.9" => flags.ex_smoker = true,
            "K70.3" => flags.ex_alcoholic = true,
            _ => {}
        }
        // Some depressions are severe enough for the critical summary.
        if code == "F32.9" && dice.chance(0.2) {
            flags.mental = true;
        }
    }
    flags.alcohol = flags.alcohol
        || (!flags.ex_alcoholic && diagnoses.iter().any(|d| d.code == "K76.0") && dice.chance(0.4));

    let meds = plan_medications(site, dice, p, &diagnoses, &avoid, end, death)?;
    write_medications(conn, site, dice, p, &meds)?;
    if meds
        .iter()
        .any(|m| m.drug.spec.key == "acenocoumarol" && m.end.is_none())
    {
        let info = flags.critical_info.take();
        flags.critical_info = Some(match info {
            Some(i) => format!("{i}; anticoagulated (acenocoumarol)"),
            None => "Anticoagulated (acenocoumarol)".into(),
        });
    }

    let mut surgeons = Vec::new();
    for d in &diagnoses {
        if let Some((spec, at)) = d.surgery {
            surgeons.push((d.id, write_surgery(conn, site, dice, p, d, spec, at)?));
        }
    }

    let state = LabState::new(
        dice,
        p,
        diagnoses
            .iter()
            .map(|d| (d.code, d.diagnosed, d.healed))
            .collect(),
        meds.iter()
            .map(|m| (m.drug.spec.key, m.start.date(), m.end.map(|e| e.date())))
            .collect(),
    );
    let episodes = lab_episodes(site, dice, p, &diagnoses, &meds, end, age)?;
    for e in episodes {
        labs::write_episode(conn, site, dice, p, &state, e)?;
    }
    vaccinations(conn, site, dice, p, &diagnoses, end)?;
    let problems: Vec<Problem> = diagnoses
        .iter()
        .map(|d| Problem {
            id: d.id,
            pathology: d.pathology,
            code: d.code,
            diagnosed: d.diagnosed,
            healed: d.healed,
            chronic: d.spec.course == Course::Chronic,
            infectious: d.spec.infectious,
            healthprof: d.healthprof,
            institution: d.institution,
            surgery: d.surgery.and_then(|(_, at)| {
                let (_, (surgery, surgeon)) = surgeons.iter().find(|(id, _)| *id == d.id)?;
                Some((*surgery, at, (*surgeon)?))
            }),
        })
        .collect();
    flags.problems = problems;
    flags.end = end;
    family_history(conn, site, dice, p, &diagnoses)?;
    if let Some(at) = death {
        death_certificate(conn, site, dice, p, &diagnoses, at)?;
    }
    flags.death = death;
    Ok(flags)
}

/// Allergies and intolerances (`is_allergy` rows). Returns their specs.
fn allergies(
    conn: &Connection,
    site: &mut Site,
    dice: &mut Dice,
    p: &Patient,
    end: NaiveDate,
    flags: &mut Flags,
) -> GenResult<Vec<&'static clinical::AllergySpec>> {
    let mut found = Vec::new();
    let mut notes = Vec::new();
    for a in ALLERGIES {
        if found.len() >= 2 {
            break;
        }
        let forced = p.showcase && a.code == "Z88.0";
        if !forced && !dice.chance(a.prevalence) {
            continue;
        }
        let pathology = site.refs.pathology(a.code)?;
        let since = dice.date_between(add_years(p.dob, 1).min(end), end);
        let comment = dice.pick(a.comments);
        let severity = ["1_mi", "2_mo", "3_sv"][dice.weighted_index(&a.severity)];
        let seen = dice.clinic_time(since);
        let t = recorded(dice, seen, p.registered);
        // Most children outgrow a milk or egg allergy found in their first years by school
        // age. Decided without the dice, so that the rest of the data stays the same.
        let outgrown = (a.kind == "fa"
            && (comment.starts_with("Egg") || comment.starts_with("Cow's milk"))
            && since < add_years(p.dob, 3))
        .then(|| add_years(since, 4))
        .filter(|healed| *healed <= end);
        // Healed after it was entered: the row was updated then.
        let written = outgrown
            .and_then(|healed| healed.and_hms_opt(11, 0, 0))
            .map(|w| w.min(NOW))
            .filter(|w| *w > t);
        insert!(conn, "gnuhealth_patient_disease" {
            "id": site.ids.disease.next(), "allergy_type": a.kind, "create_date": Stamp(t),
            "create_uid": 1, "diagnosed_date": Day(since), "disease_severity": severity,
            "est_dodx": false, "healed_date": outgrown.map(Day), "healthprof": p.pcp,
            "institution": p.institution, "is_active": outgrown.is_none(), "is_allergy": true,
            "is_infectious": false, "is_on_treatment": false, "pathology": pathology,
            "patient": p.id, "pregnancy_warning": false, "short_comment": comment,
            "status": if outgrown.is_some() { "h" } else { "c" },
            "write_date": written.map(Stamp), "write_uid": written.map(|_| 1),
            "lab_confirmed": false,
        })?;
        found.push(a);
        // An outgrown allergy is no warning in the critical summary any more.
        if outgrown.is_some() {
            continue;
        }
        if severity == "3_sv" {
            flags.allergic = true;
        }
        let substance = comment.split(':').next().unwrap_or(comment);
        notes.push(match a.kind {
            "mc" => format!("{substance} contraindicated"),
            _ => format!("{substance} allergy"),
        });
    }
    if !notes.is_empty() {
        flags.critical_info = Some(notes.join("; "));
    }
    Ok(found)
}

/// Decide which conditions the patient has, when they were diagnosed and by whom.
fn plan_conditions(
    site: &Site,
    dice: &mut Dice,
    p: &Patient,
    end: NaiveDate,
    age: i64,
    risk: f64,
) -> GenResult<Vec<Diagnosis>> {
    let mut out = Vec::new();
    let forced: &[&str] = if p.showcase {
        &["E78.5", "J45.9", "K35.8"]
    } else {
        &[]
    };
    for spec in CONDITIONS {
        let sex_ok = match spec.sex {
            Sex::Any => true,
            Sex::Female => p.female,
            Sex::Male => !p.female,
        };
        let force = forced.contains(&spec.code);
        if p.unidentified && !force {
            continue;
        }
        if !force && (!sex_ok || age < i64::from(spec.ages.0)) {
            continue;
        }
        let share = match spec.sex {
            Sex::Any if p.female => 2.0 * spec.female_share,
            Sex::Any => 2.0 * (1.0 - spec.female_share),
            _ => 1.0,
        };
        let mut prob = spec.prevalence[band(age)] * share;
        if spec.metabolic {
            prob *= risk;
        }
        if !force && !dice.chance(prob) {
            continue;
        }
        let code = if !spec.variants.is_empty() && dice.chance(spec.variant_share) {
            dice.pick(spec.variants)
        } else {
            spec.code
        };
        let Some(diagnosed) = diagnosis_date(dice, p, spec, end, age) else {
            continue;
        };
        let pathology = site.refs.pathology(code)?;
        let (healthprof, institution) = match spec.surgery {
            Some((key, _)) if spec.course != Course::Chronic => {
                let role = SURGERIES
                    .iter()
                    .find(|s| s.key == key)
                    .map_or(Role::GeneralSurgeon, |s| Role::surgeon_for(s.specialty));
                (site.staff(dice, role, None).id, site.hospital)
            }
            _ if matches!(spec.code, "C50.9" | "C61" | "C18.9" | "I50.9" | "I48.9") => {
                let role = if spec.code.starts_with('I') {
                    Role::Cardiologist
                } else {
                    Role::Internist
                };
                (site.staff(dice, role, None).id, site.hospital)
            }
            _ if matches!(spec.code, "Z34.9" | "O80" | "O82") => {
                (site.staff(dice, Role::Gynecologist, None).id, site.hospital)
            }
            _ => (p.pcp, p.institution),
        };
        let mut healed = match spec.course {
            Course::Chronic => None,
            Course::Acute(lo, hi) => {
                Some(diagnosed + TimeDelta::days(dice.int(i64::from(lo), i64::from(hi))))
                    .filter(|h| *h <= end)
            }
        };
        let surgery = match spec.surgery {
            Some((key, chance)) if force || dice.chance(chance) => {
                let s = SURGERIES
                    .iter()
                    .find(|s| s.key == key)
                    .ok_or_else(|| GenError::Missing(format!("surgery {key}")))?;
                let day = match spec.course {
                    Course::Acute(..) => diagnosed + TimeDelta::days(dice.int(0, 1)),
                    Course::Chronic => diagnosed + TimeDelta::days(dice.int(30, 700)),
                };
                if day > end {
                    None
                } else {
                    let start = day.and_time(chrono::NaiveTime::MIN)
                        + TimeDelta::minutes(dice.int(8 * 12, 20 * 12) * 5);
                    // Removing the cause heals the condition; an arthroplasty does not
                    // cure the osteoarthritis of the other joints.
                    if spec.course == Course::Chronic && !key.ends_with("_replacement") {
                        healed = Some(day);
                    }
                    Some((s, start))
                }
            }
            _ => None,
        };
        out.push(Diagnosis {
            spec,
            code,
            pathology,
            diagnosed,
            healed,
            healthprof,
            institution,
            surgery,
            id: 0,
        });
    }
    Ok(out)
}

fn diagnosis_date(
    dice: &mut Dice,
    p: &Patient,
    spec: &clinical::ConditionSpec,
    end: NaiveDate,
    age: i64,
) -> Option<NaiveDate> {
    let (lo_age, hi_age) = (i64::from(spec.ages.0), i64::from(spec.ages.1).min(age));
    let (mut from, mut to) = match spec.course {
        Course::Chronic => {
            let first = lo_age.max(age - 25);
            let at = dice.int(first.min(hi_age), hi_age);
            let d = add_years(p.dob, at as i32) + TimeDelta::days(dice.int(0, 364));
            (d, d)
        }
        Course::Acute(lo, _) => {
            // Pregnancies are current; other episodes fall in the last years of records.
            let window = if spec.code == "Z34.9" { 240 } else { 6 * 365 };
            let from = (end - TimeDelta::days(window)).max(add_years(p.dob, lo_age as i32));
            let to = end.min(add_years(p.dob, spec.ages.1 as i32 + 1));
            let to = if spec.code == "Z34.9" {
                to
            } else {
                to.min(end - TimeDelta::days(i64::from(lo.min(3))))
            };
            (from, to)
        }
    };
    if let Some((y0, y1)) = spec.years {
        from = from.max(NaiveDate::from_ymd_opt(y0, 1, 1)?);
        to = to.min(NaiveDate::from_ymd_opt(y1, 12, 31)?);
    }
    from = from.max(p.dob);
    to = to.min(end);
    (from <= to).then(|| dice.date_between(from, to))
}

fn write_condition(
    conn: &Connection,
    site: &mut Site,
    dice: &mut Dice,
    p: &Patient,
    d: &mut Diagnosis,
) -> GenResult<()> {
    let spec = d.spec;
    let seen = dice.clinic_time(d.diagnosed);
    let created = recorded(dice, seen, p.registered);
    let severity = ["1_mi", "2_mo", "3_sv"][dice.weighted_index(&spec.severity)];
    let (status, active) = match (spec.course, d.healed) {
        (_, Some(_)) => ("h", false),
        (Course::Acute(..), None) => ("a", true),
        (Course::Chronic, None) => (
            dice.weighted(&[("c", 70), ("u", 12), ("i", 10), ("w", 8)]),
            true,
        ),
    };
    // A condition healed after it was entered was updated then.
    let written = d
        .healed
        .map(|h| dice.clinic_time(h))
        .filter(|h| *h > created)
        .map(|h| dice.stamp_after(h, 600));
    let treated = !spec.drugs.is_empty();
    let weeks = (spec.code == "Z34.9").then(|| (NOW.date() - d.diagnosed).num_weeks() + 6);
    d.id = site.ids.disease.next();
    insert!(conn, "gnuhealth_patient_disease" {
        "id": d.id, "create_date": Stamp(created), "create_uid": 1,
        "date_start_treatment": treated.then_some(Day(d.diagnosed)),
        "diagnosed_date": Day(d.diagnosed), "disease_severity": severity, "est_dodx": false,
        "healed_date": d.healed.map(Day), "healthprof": d.healthprof,
        "institution": d.institution, "is_active": active, "is_allergy": false,
        "is_infectious": spec.infectious, "is_on_treatment": treated && active,
        "pathology": d.pathology, "patient": p.id, "pregnancy_warning": false,
        "short_comment": (!spec.comments.is_empty() && dice.chance(0.7)).then(|| dice.pick(spec.comments)),
        "status": status, "weeks_of_pregnancy": weeks,
        "write_date": written.map(Stamp), "write_uid": written.map(|_| 1),
        "lab_confirmed": !spec.labs.is_empty() && dice.chance(0.4),
    })?;
    Ok(())
}

/// The drug a patient actually gets for `key`: a child formulation for children, a
/// substitute when allergic.
fn choose_drug(site: &Site, key: &str, age: i64, avoid: &[&str]) -> Option<DrugRef> {
    let mut key = key;
    if avoid.contains(&key) {
        key = clinical::SUBSTITUTES
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, s)| *s)?;
    }
    let drug = site.refs.drug.get(key)?;
    match drug.spec.child_form {
        Some(child) if age < 12 => site.refs.drug.get(child).copied(),
        _ => Some(*drug),
    }
}

const STOP_REASONS: &[&str] = &[
    "Adverse reaction",
    "Not effective",
    "Patient preference",
    "Replaced by another drug",
    "Gastrointestinal intolerance",
];

fn plan_medications(
    site: &Site,
    dice: &mut Dice,
    p: &Patient,
    diagnoses: &[Diagnosis],
    avoid: &[&str],
    end: NaiveDate,
    death: Option<NaiveDateTime>,
) -> GenResult<Vec<Medication>> {
    let mut out = Vec::new();
    let stop = death.unwrap_or(NOW);
    for d in diagnoses {
        for (g, group) in d.spec.drugs.iter().enumerate() {
            if g > 0 && !dice.chance(0.4) {
                continue;
            }
            let age = age_on(p.dob, d.diagnosed);
            let Some(drug) = choose_drug(site, dice.pick(group), age, avoid) else {
                continue;
            };
            let delay = if g == 0 { 0 } else { dice.int(0, 400) };
            let start = dice.clinic_time(d.diagnosed + TimeDelta::days(delay));
            if start.date() > end {
                continue;
            }
            let (chronic, end_at) = match (d.spec.course, drug.spec.course_days) {
                (Course::Chronic, None) => (true, d.healed.map(|h| dice.clinic_time(h))),
                (_, Some((lo, hi))) => (
                    false,
                    Some(start + TimeDelta::days(dice.int(i64::from(lo), i64::from(hi)))),
                ),
                (Course::Acute(..), None) => {
                    (false, Some(start + TimeDelta::days(dice.int(5, 14))))
                }
            };
            let mut m = Medication {
                drug,
                indication: Some(d.pathology),
                start,
                end: end_at.map(|e| e.min(stop)),
                discontinued: None,
                healthprof: d.healthprof,
                institution: d.institution,
                chronic,
            };
            // Some long-term treatments were stopped and replaced by an alternative.
            if chronic && m.end.is_none() && dice.chance(0.1) {
                let until = start + TimeDelta::days(dice.int(30, 900));
                if until < stop {
                    m.end = Some(until);
                    m.discontinued = Some(dice.pick(STOP_REASONS));
                    let next = group
                        .iter()
                        .copied()
                        .find(|k| *k != drug.spec.key && !avoid.contains(k));
                    out.push(m);
                    if let Some(replacement) = next.and_then(|k| choose_drug(site, k, age, avoid)) {
                        out.push(Medication {
                            drug: replacement,
                            indication: Some(d.pathology),
                            start: until + TimeDelta::days(1),
                            // Treatments still running at death end with it.
                            end: death,
                            discontinued: None,
                            healthprof: d.healthprof,
                            institution: d.institution,
                            chronic: true,
                        });
                    }
                    continue;
                }
            }
            // Treatments still running at death end with it.
            if chronic && m.end.is_none() {
                m.end = death;
            }
            out.push(m);
        }
    }
    out.sort_by_key(|m| m.start);
    Ok(out)
}

/// Intakes per day of a dosage (for the quantity to dispense).
fn per_day(d: &clinical::DrugSpec) -> f64 {
    match d.frequency_unit {
        "hours" if d.frequency > 0 => 24.0 / d.frequency as f64,
        "days" if d.frequency > 0 => 1.0 / d.frequency as f64,
        "weeks" if d.frequency > 0 => 1.0 / (7.0 * d.frequency as f64),
        _ => 1.0,
    }
}

fn write_medications(
    conn: &Connection,
    site: &mut Site,
    dice: &mut Dice,
    p: &Patient,
    meds: &[Medication],
) -> GenResult<()> {
    // Most treatments were started with a prescription (whose line added them to the
    // history); treatments started the same day share the prescription.
    let mut orders: Vec<(NaiveDate, i64, i64)> = Vec::new(); // date, prescriber, order id
    for m in meds {
        let s = m.drug.spec;
        let prescribed = dice.chance(if m.chronic { 0.6 } else { 0.75 });
        let order = if prescribed {
            let existing = orders
                .iter()
                .find(|(d, hp, _)| *d == m.start.date() && *hp == m.healthprof)
                .map(|o| o.2);
            let id = match existing {
                Some(id) => id,
                None => {
                    let id = write_order(conn, site, dice, p, m.start, m.healthprof)?;
                    orders.push((m.start.date(), m.healthprof, id));
                    id
                }
            };
            let days = m.end.map(|e| (e - m.start).num_days().max(1));
            write_line(conn, site, dice, id, m, days, true)?;
            Some(id)
        } else {
            None
        };
        let created = recorded(dice, m.start, p.registered);
        let stopped_later = m
            .end
            .filter(|e| *e > created && (m.discontinued.is_some() || m.chronic));
        let written = stopped_later.map(|e| dice.stamp_after(e, 600));
        let duration = m
            .end
            .filter(|_| !m.chronic)
            .map(|e| (e - m.start).num_days());
        insert!(conn, "gnuhealth_patient_medication" {
            "id": site.ids.medication.next(), "admin_times": s.admin_times,
            "common_dosage": m.drug.dosage, "course_completed": !m.chronic && m.end.is_some_and(|e| e <= NOW),
            "create_date": Stamp(created), "create_uid": 1,
            "discontinued": m.discontinued.is_some(), "discontinued_reason": m.discontinued,
            "dose": s.dose, "dose_unit": m.drug.unit, "duration": duration,
            "duration_period": if m.chronic { "indefinite" } else { "days" },
            "end_treatment": m.end.map(Stamp), "form": m.drug.form, "frequency": s.frequency,
            "frequency_prn": s.prn, "frequency_unit": s.frequency_unit,
            "healthprof": m.healthprof, "indication": m.indication, "infusion": false,
            "institution": m.institution, "is_active": m.end.is_none_or(|e| e > NOW),
            "medicament": m.drug.medicament, "notes": s.notes, "patient": p.id,
            "prescription": order, "qty": s.qty, "route": m.drug.route,
            "start_treatment": Stamp(m.start), "write_date": written.map(Stamp),
            "write_uid": written.map(|_| 1),
        })?;
    }
    // Long-term treatments are renewed: a recent prescription listing them.
    let running: Vec<&Medication> = meds
        .iter()
        .filter(|m| m.chronic && m.end.is_none())
        .take(6)
        .collect();
    if !running.is_empty() && dice.chance(0.7) {
        let day = dice.date_between(
            NOW.date() - TimeDelta::days(180),
            NOW.date() - TimeDelta::days(1),
        );
        let at = dice.clinic_time(day);
        if at > p.registered {
            let id = write_order(conn, site, dice, p, at, p.pcp)?;
            for m in running {
                write_line(conn, site, dice, id, m, Some(90), false)?;
            }
        }
    }
    Ok(())
}

fn write_order(
    conn: &Connection,
    site: &mut Site,
    dice: &mut Dice,
    p: &Patient,
    at: NaiveDateTime,
    healthprof: i64,
) -> GenResult<i64> {
    let id = site.ids.prescription.next();
    let created = recorded(dice, at, p.registered);
    let number = site.ids.seq_prescription.next();
    site.sequence_used.note(4, created);
    let recent = NOW - at < TimeDelta::days(2);
    let state = if recent {
        "draft"
    } else if dice.chance(0.6) {
        "done"
    } else {
        "validated"
    };
    let written = (state != "draft").then(|| dice.stamp_after(created, 300));
    insert!(conn, "gnuhealth_prescription_order" {
        "id": id, "allergy_warning": false, "create_date": Stamp(created), "create_uid": 1,
        "healthprof": healthprof, "patient": p.id, "pregnancy_warning": false,
        "prescription_date": Stamp(at),
        "prescription_id": format!("PRES {}/{number:06}", created.year()),
        "prescription_warning_ack": state != "draft", "state": state, "user_id": 1,
        "write_date": written.map(Stamp), "write_uid": written.map(|_| 1),
    })?;
    Ok(id)
}

fn write_line(
    conn: &Connection,
    site: &mut Site,
    dice: &mut Dice,
    order: i64,
    m: &Medication,
    days: Option<i64>,
    to_history: bool,
) -> GenResult<()> {
    let s = m.drug.spec;
    let supply = days.unwrap_or(30);
    let quantity = ((per_day(s) * supply as f64 * s.qty as f64).ceil() as i64).max(1);
    let start = if to_history {
        m.start
    } else {
        m.start.max(NOW - TimeDelta::days(180))
    };
    let chronic = m.chronic;
    insert!(conn, "gnuhealth_prescription_line" {
        "id": site.ids.prescription_line.next(), "add_to_history": to_history,
        "admin_times": s.admin_times, "allow_substitution": dice.chance(0.7),
        "common_dosage": m.drug.dosage, "create_date": Stamp(recorded(dice, start, start)),
        "create_uid": 1, "dose": s.dose, "dose_unit": m.drug.unit,
        "duration": if chronic { None } else { days },
        "duration_period": if chronic { "indefinite" } else { "days" },
        "end_treatment": if chronic { None } else { m.end.map(Stamp) }, "form": m.drug.form,
        "frequency": s.frequency, "frequency_prn": s.prn, "frequency_unit": s.frequency_unit,
        "indication": m.indication, "infusion": false, "medicament": m.drug.medicament,
        "presc_order": order, "prnt": true, "qty": s.qty, "quantity": quantity,
        "refills": if chronic { dice.int(0, 5) } else { 0 },
        "review": chronic.then(|| Stamp(start + TimeDelta::days(180))), "route": m.drug.route,
        "short_comment": s.notes, "start_treatment": Stamp(start),
    })?;
    Ok(())
}

/// A surgery, its procedure line, team and operating-room booking, and the patient
/// procedure GNU Health adds for the main intervention. Surgeries from before the
/// patient registered were done elsewhere and are recorded from the patient's history:
/// no team, theatre or booking. Returns the surgery's id and its surgeon, when there
/// was a team.
fn write_surgery(
    conn: &Connection,
    site: &mut Site,
    dice: &mut Dice,
    p: &Patient,
    d: &Diagnosis,
    s: &clinical::SurgerySpec,
    start: NaiveDateTime,
) -> GenResult<(i64, Option<i64>)> {
    let id = site.ids.surgery.next();
    let historic = start < p.registered;
    let team = (!historic).then(|| {
        let surgeon = site.staff(dice, Role::surgeon_for(s.specialty), Some(site.hospital));
        let anesthetist = site.staff(dice, Role::Anesthetist, Some(site.hospital));
        (
            surgeon.id,
            surgeon.hp_specialty,
            anesthetist.id,
            anesthetist.hp_specialty,
        )
    });
    let specialty = site.refs.specialty.get(s.specialty).copied();
    let minutes = dice.int(i64::from(s.minutes.0), i64::from(s.minutes.1));
    let finish = start + TimeDelta::minutes(minutes);
    let left = s.left.is_some() && dice.chance(0.5);
    let laterality = s.left.map(|_| if left { "left" } else { "right" });
    let code = if left {
        s.left.unwrap_or(s.right)
    } else {
        s.right
    };
    let procedure = *site
        .refs
        .procedure
        .get(code)
        .ok_or_else(|| GenError::Missing(format!("procedure {code}")))?;
    let booked = start - TimeDelta::hours(dice.int(2, 48));
    let created = recorded(dice, booked, p.registered);
    let signed = team.is_some() && dice.chance(0.85);
    let written = team.map(|_| dice.stamp_after(finish.max(created), 3 * 3600));
    let number = site.ids.seq_surgery.next();
    site.sequence_used.note(14, created);
    let room = team.map(|_| dice.pick(&site.operating_rooms));
    let surgeon = team.map(|t| t.0);
    let extra_info = if historic {
        Some("Performed at another hospital; from the patient's history.")
    } else {
        dice.chance(0.4).then_some("Uneventful.")
    };
    insert!(conn, "gnuhealth_surgery" {
        "id": id, "anesthesia_type": s.anesthesia, "anesthetist": team.map(|t| t.2),
        "approach": s.approach, "classification": s.classification,
        "clavien_dindo": team.map(|_| dice.weighted(&[("grade1", 85), ("grade2", 12), ("grade3a", 3)])),
        "code": format!("SRG-{}-{number:05}", created.year()), "create_date": Stamp(created),
        "create_uid": 1, "description": s.description, "extra_info": extra_info,
        "incl_intervention": true, "institution": team.map(|_| site.hospital),
        "laterality": laterality, "main_procedure": procedure, "operating_room": room,
        "pathology": d.pathology, "patient": p.id,
        "patient_positioning": team.map(|_| "supine_decubitus"), "postoperative_dx": d.pathology,
        "preop_antibiotics": !historic, "preop_bleeding_risk": false, "preop_oximeter": !historic,
        "preop_site_marking": !historic && s.left.is_some(), "preop_sterility": !historic,
        "signed_by": surgeon.filter(|_| signed), "specialty": specialty,
        "state": if signed { "signed" } else { "done" }, "surgeon": surgeon,
        "surgery_date": Stamp(start), "surgery_end_date": Stamp(finish),
        "surgical_intervention": procedure, "surgical_wound": s.wound,
        "write_date": written.map(Stamp), "write_uid": written.map(|_| 1),
    })?;
    insert!(conn, "gnuhealth_operation" {
        "id": site.ids.operation.next(), "create_date": Stamp(created), "create_uid": 1,
        "notes": s.description, "procedure": procedure, "surgery": id,
    })?;
    if let (Some((surgeon, surgeon_role, anesthetist, anesthetist_role)), Some(room)) = (team, room)
    {
        for (member, role, note) in [
            (surgeon, surgeon_role, "Main surgeon"),
            (anesthetist, anesthetist_role, "Anesthesia"),
        ] {
            insert!(conn, "gnuhealth_surgery_team" {
                "id": site.ids.surgery_team.next(), "create_date": Stamp(created), "create_uid": 1,
                "notes": note, "role": role, "surgery": id, "team_member": member,
            })?;
        }
        insert!(conn, "gnuhealth_or_schedule" {
            "id": site.ids.or_schedule.next(), "create_date": Stamp(created), "create_uid": 1,
            "health_condition": d.pathology, "healthprof": surgeon, "institution": site.hospital,
            "oproom": room, "patient": p.id, "reserve_from": Stamp(start), "reserve_to": Stamp(finish),
            "specialty": specialty, "surgery": id, "urgency": s.classification,
            "write_date": written.map(Stamp), "write_uid": written.map(|_| 1),
        })?;
    }
    insert!(conn, "gnuhealth_patient_procedure" {
        "id": site.ids.patient_procedure.next(), "create_date": Stamp(created), "create_uid": 1,
        "ctx": "surgery", "patient": p.id, "pdate": Stamp(start), "procedure": procedure,
        "reference": format!("gnuhealth.surgery,{id}"),
    })?;
    Ok((id, surgeon))
}

/// Lab episodes: follow-up of chronic conditions (and of anticoagulation), tests at the
/// diagnosis of acute ones, and routine check-ups.
fn lab_episodes(
    site: &Site,
    dice: &mut Dice,
    p: &Patient,
    diagnoses: &[Diagnosis],
    meds: &[Medication],
    end: NaiveDate,
    age: i64,
) -> GenResult<Vec<Episode>> {
    let mut out = Vec::new();
    let mut monitor: Vec<&'static str> = Vec::new();
    let mut first = end;
    let mut reason = None;
    for d in diagnoses
        .iter()
        .filter(|d| d.spec.course == Course::Chronic && d.healed.is_none())
    {
        for l in d.spec.labs {
            if !monitor.contains(l) {
                monitor.push(l);
            }
        }
        if !d.spec.labs.is_empty() && d.diagnosed < first {
            first = d.diagnosed;
            reason = Some(d.pathology);
        }
    }
    for m in meds.iter().filter(|m| m.end.is_none()) {
        if let Some(l) = m.drug.spec.monitoring {
            if !monitor.contains(&l) {
                monitor.push(l);
            }
            first = first.min(m.start.date());
        }
    }
    if !monitor.is_empty() {
        let from = (end - TimeDelta::days(3 * 365)).max(first + TimeDelta::days(7));
        if from <= end {
            let count = dice.int(1, 3);
            let mut dates: Vec<NaiveDate> =
                (0..count).map(|_| dice.date_between(from, end)).collect();
            dates.sort();
            dates.dedup();
            for date in dates {
                out.push(Episode {
                    date,
                    types: monitor.clone(),
                    requestor: p.pcp,
                    reason,
                    urgent: false,
                    acute: None,
                });
            }
        }
    }
    for d in diagnoses
        .iter()
        .filter(|d| d.spec.course != Course::Chronic && !d.spec.labs.is_empty())
    {
        let date = d.diagnosed;
        if date <= end {
            out.push(Episode {
                date,
                types: d.spec.labs.to_vec(),
                requestor: d.healthprof,
                reason: Some(d.pathology),
                urgent: d.spec.severity[2] > 0 && dice.chance(0.5),
                acute: Some(d.code),
            });
        }
    }
    let routine = p.showcase
        || (out.is_empty() && age >= 18 && !p.unidentified && dice.chance(0.35))
        || (age < 18 && dice.chance(0.04));
    if routine {
        let date = dice.date_between((end - TimeDelta::days(3 * 365)).max(p.dob), end);
        let mut types = vec!["CBC"];
        if age >= 18 {
            types.extend(["GLU", "LIPID"]);
            if dice.chance(0.5) {
                types.push("RFT");
            }
        }
        out.push(Episode {
            date,
            types,
            requestor: p.pcp,
            reason: None,
            urgent: false,
            acute: None,
        });
    }
    for e in &out {
        for t in &e.types {
            if !site.refs.lab_type.contains_key(t) {
                return Err(GenError::Missing(format!("lab test type {t}")));
            }
        }
    }
    out.sort_by_key(|e| e.date);
    Ok(out)
}

/// Vaccinations: the childhood calendar for those born after 2005 (the records of older
/// people's childhood are on paper), BCG for children born in Latin America, and the
/// adult campaigns (influenza, COVID-19, pneumococcal, zoster, tetanus).
fn vaccinations(
    conn: &Connection,
    site: &mut Site,
    dice: &mut Dice,
    p: &Patient,
    diagnoses: &[Diagnosis],
    end: NaiveDate,
) -> GenResult<()> {
    if p.unidentified {
        return Ok(());
    }
    let mut doses: Vec<(&'static str, NaiveDate, i64, Option<NaiveDate>)> = Vec::new();
    let at_months = |m: u32| p.dob + TimeDelta::days(i64::from(m) * 3044 / 100);
    if p.dob.year() >= 2005 {
        for (key, months) in CHILDHOOD_SCHEDULE {
            for (i, m) in months.iter().enumerate() {
                let date = at_months(*m) + TimeDelta::days(dice.int(0, 20));
                if date > end || (p.born_abroad && *m < 24 && !p.showcase) {
                    break;
                }
                let next = months.get(i + 1).map(|n| at_months(*n));
                doses.push((key, date, i as i64 + 1, next));
            }
        }
        if p.female && p.dob.year() >= 2007 {
            let date = at_months(144) + TimeDelta::days(dice.int(0, 60));
            if date <= end {
                doses.push(("hpv", date, 1, Some(date + TimeDelta::days(183))));
                let second = date + TimeDelta::days(183 + dice.int(0, 30));
                if second <= end {
                    doses.push(("hpv", second, 2, None));
                }
            }
        }
    }
    if p.born_abroad && p.origin == Origin::LatinAmerican && p.dob.year() >= 2005 {
        let date = p.dob + TimeDelta::days(dice.int(1, 30));
        if date <= end {
            doses.push(("bcg", date, 1, None));
        }
    }
    let chronic_risk = diagnoses
        .iter()
        .any(|d| matches!(d.code, "E11.9" | "J44.9" | "J45.9" | "I50.9" | "N18.3"));
    for season in 2019..=2025 {
        let age = age_on(
            p.dob,
            NaiveDate::from_ymd_opt(season, 10, 15).unwrap_or(end),
        );
        let due = age >= 60 || (chronic_risk && age >= 5) || (p.showcase && season == 2024);
        if due && (p.showcase || dice.chance(0.65)) {
            let date = NaiveDate::from_ymd_opt(season, 10, 1)
                .map(|d| d + TimeDelta::days(dice.int(0, 75)));
            if let Some(date) = date.filter(|d| *d <= end) {
                doses.push(("influenza", date, 1, None));
            }
        }
    }
    let age_2021 = age_on(p.dob, NaiveDate::from_ymd_opt(2021, 6, 1).unwrap_or(end));
    if age_2021 >= 12 && dice.chance(0.85) {
        let first =
            NaiveDate::from_ymd_opt(2021, 4, 1).map(|d| d + TimeDelta::days(dice.int(0, 120)));
        if let Some(first) = first {
            let second = first + TimeDelta::days(21 + dice.int(0, 14));
            doses.push(("covid19", first, 1, Some(first + TimeDelta::days(21))));
            doses.push(("covid19", second, 2, None));
            let third = age_2021 >= 18 && dice.chance(0.7);
            if third {
                doses.push((
                    "covid19",
                    second + TimeDelta::days(dice.int(150, 240)),
                    3,
                    None,
                ));
            }
            if third && age_2021 >= 60 && dice.chance(0.6) {
                doses.push((
                    "covid19",
                    NaiveDate::from_ymd_opt(2022, 10, 1).unwrap_or(first)
                        + TimeDelta::days(dice.int(0, 60)),
                    4,
                    None,
                ));
            }
        }
    }
    let age = age_on(p.dob, end);
    if age >= 65 && dice.chance(0.5) {
        doses.push((
            "pcv13",
            dice.date_between(add_years(p.dob, 65), end),
            1,
            None,
        ));
    }
    if (65..=80).contains(&age) && dice.chance(0.3) {
        let first = dice.date_between(
            NaiveDate::from_ymd_opt(2022, 1, 1)
                .unwrap_or(end)
                .max(add_years(p.dob, 65)),
            end,
        );
        doses.push(("zoster", first, 1, Some(first + TimeDelta::days(60))));
        let second = first + TimeDelta::days(60 + dice.int(0, 30));
        doses.push(("zoster", second, 2, None));
    }
    if age >= 40 && p.dob.year() < 2005 && dice.chance(0.15) {
        doses.push((
            "td",
            dice.date_between(end - TimeDelta::days(8 * 365), end),
            1,
            None,
        ));
    }
    doses.retain(|d| d.1 <= end && d.1 >= p.dob);
    doses.sort_by_key(|d| d.1);
    let nurse_institution = p.institution;
    for (key, date, dose, next) in doses {
        let spec = VACCINES
            .iter()
            .find(|v| v.key == key)
            .ok_or_else(|| GenError::Missing(format!("vaccine {key}")))?;
        let vaccine = *site
            .refs
            .vaccine
            .get(key)
            .ok_or_else(|| GenError::Missing(format!("vaccine {key}")))?;
        let nurse = site.staff(dice, Role::Nurse, Some(nurse_institution)).id;
        let at = dice.clinic_time(date);
        let created = recorded(dice, at, p.registered);
        let months = (date - p.dob).num_days() / 30;
        let site_code = match spec.admin_route {
            "po" => None,
            "id" => Some("ld"),
            "sc" if months < 36 => Some(dice.pick(&["lalt", "ralt"])),
            "sc" => Some(dice.pick(&["lpua", "rpua"])),
            _ if months < 18 => Some(dice.pick(&["lvl", "rvl"])),
            _ => Some(dice.pick(&["ld", "rd"])),
        };
        let recent = NOW - at < TimeDelta::days(3);
        let done = !recent && dice.chance(0.97);
        let written = done.then(|| dice.stamp_after(created, 900));
        insert!(conn, "gnuhealth_vaccination" {
            "id": site.ids.vaccination.next(), "admin_route": spec.admin_route,
            "admin_site": site_code, "amount": spec.ml, "create_date": Stamp(created),
            "create_uid": 1, "date": Stamp(at), "dose": dose, "healthprof": nurse,
            "institution": nurse_institution,
            "next_dose_date": next.filter(|n| *n > date).map(|n| Stamp(dice.clinic_time(n))),
            "observations": dice.chance(0.05).then(|| dice.pick(&["Mild local reaction", "Fever below 38.5 °C in the first 24 hours", "No adverse reactions"])),
            "patient": p.id, "signed_by": done.then_some(nurse),
            "state": if done { "done" } else { "in_progress" }, "vaccine": vaccine,
            "vaccine_expiration_date": Day(date + TimeDelta::days(dice.int(90, 720))),
            "vaccine_lot": format!("{}{}", spec.lot, dice.digits(4)),
            "write_date": written.map(Stamp), "write_uid": written.map(|_| 1),
        })?;
    }
    Ok(())
}

/// Family history: up to three relatives' diseases, more likely ones the patient has.
fn family_history(
    conn: &Connection,
    site: &mut Site,
    dice: &mut Dice,
    p: &Patient,
    diagnoses: &[Diagnosis],
) -> GenResult<()> {
    if p.unidentified {
        return Ok(());
    }
    let count = if p.showcase {
        2
    } else {
        dice.weighted(&[(0usize, 45), (1, 30), (2, 17), (3, 8)])
    };
    let own: Vec<&str> = diagnoses
        .iter()
        .map(|d| d.code)
        .filter(|c| FAMILY_DISEASES.iter().any(|f| f.0 == *c))
        .collect();
    let weights: Vec<u32> = FAMILY_DISEASES.iter().map(|f| f.1).collect();
    let mut seen: Vec<(&str, &str)> = Vec::new();
    let t = recorded(dice, p.registered, p.registered);
    for _ in 0..count {
        let code = if !own.is_empty() && dice.chance(0.4) {
            dice.pick(&own)
        } else {
            FAMILY_DISEASES[dice.weighted_index(&weights)].0
        };
        let sex = FAMILY_DISEASES
            .iter()
            .find(|f| f.0 == code)
            .map_or(Sex::Any, |f| f.2);
        let relatives: Vec<(usize, u32)> = RELATIVES
            .iter()
            .enumerate()
            .filter(|(_, r)| sex == Sex::Any || r.1 == Sex::Any || r.1 == sex)
            .map(|(i, r)| (i, r.3))
            .collect();
        let (relative, _, sided, _) = RELATIVES[dice.weighted(&relatives)];
        if seen.contains(&(code, relative)) {
            continue;
        }
        seen.push((code, relative));
        let xory = match relative {
            "mother" => "m",
            "father" => "f",
            "brother" | "sister" => "s",
            _ if sided => dice.pick(&["m", "f"]),
            _ => "s",
        };
        let disease = site.refs.pathology(code)?;
        insert!(conn, "gnuhealth_patient_family_diseases" {
            "id": site.ids.family_disease.next(), "create_date": Stamp(t), "create_uid": 1,
            "disease": disease, "patient": p.id, "relative": relative,
            "xory": (relative != "son" && relative != "daughter").then_some(xory),
        })?;
    }
    Ok(())
}

/// The death certificate, its underlying condition, and the party marked deceased (as
/// signing the certificate does).
fn death_certificate(
    conn: &Connection,
    site: &mut Site,
    dice: &mut Dice,
    p: &Patient,
    diagnoses: &[Diagnosis],
    dod: NaiveDateTime,
) -> GenResult<()> {
    let fatal: Vec<&Diagnosis> = diagnoses
        .iter()
        .filter(|d| {
            d.healed.is_none()
                && (CAUSES_OF_DEATH.iter().any(|c| c.0 == d.code)
                    || matches!(d.code, "C50.9" | "C61" | "K70.3" | "I69.4" | "I48.9"))
        })
        .collect();
    let underlying = (!fatal.is_empty()).then(|| dice.pick(&fatal));
    let cause_code = match underlying {
        Some(d) if CAUSES_OF_DEATH.iter().any(|c| c.0 == d.code) => d.code,
        _ => dice.weighted(CAUSES_OF_DEATH),
    };
    let cause = site.refs.pathology(cause_code)?;
    let id = site.ids.death_certificate.next();
    let at_home = p.du.is_some() && dice.chance(0.35);
    let certified = dod + TimeDelta::minutes(dice.int(30, 300));
    let created = dice.stamp_after(certified, 1800);
    let signed = dice.stamp_after(created, 600);
    let doctor = if at_home {
        p.pcp
    } else {
        site.staff(dice, Role::Internist, Some(site.hospital)).id
    };
    let institution = (!at_home).then_some(site.hospital);
    insert!(conn, "gnuhealth_death_certificate" {
        "id": id, "autopsy": false, "code": format!("DC-{}-{id:05}", dod.year()),
        "country": site.refs.country.get("ES").copied(), "create_date": Stamp(created),
        "create_uid": 1, "dod": Stamp(dod), "du": if at_home { p.du } else { None },
        "party": p.party, "place_of_death": if at_home { "home" } else { "health_center" },
        "state": "signed", "type_of_death": "natural", "write_date": Stamp(signed),
        "write_uid": 1, "certification_date": Stamp(certified), "cod": cause,
        "institution": institution, "signed_by": doctor,
    })?;
    if let Some(d) = underlying.filter(|d| d.pathology != cause) {
        let years = (dod.date() - d.diagnosed).num_days() / 365;
        let (interval, unit) = if years >= 1 {
            (years, "years")
        } else {
            (
                ((dod.date() - d.diagnosed).num_days() / 30).max(1),
                "months",
            )
        };
        insert!(conn, "gnuhealth_death_underlying_condition" {
            "id": site.ids.underlying_condition.next(), "condition": d.pathology,
            "create_date": Stamp(created), "create_uid": 1, "death_certificate": id,
            "interval": interval, "unit_of_time": unit,
        })?;
    }
    conn.prepare_cached(
        "UPDATE party_party SET deceased = 1, death_certificate = ?1, write_date = ?2, write_uid = 1 WHERE id = ?3",
    )?
    .execute(rusqlite::params![id, Stamp(signed), p.party])?;
    Ok(())
}
