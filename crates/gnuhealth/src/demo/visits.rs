//! Visits and insurance: the site's insurers with their plans and its consultation
//! services ([`catalogue`]), and for each
//! patient their insurances ([`write_insurances`]) and appointments
//! ([`write_appointments`]) — past ones mostly done, some missed or cancelled, a few
//! upcoming ones booked or offered.
//!
//! Each patient's insurances and appointments come from a dice stream of their own
//! (keyed by the patient id), so the rest of the generated data does not depend on them.

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta, Weekday};
use rusqlite::Connection;

use super::care;
use super::generate::{
    Day, Dice, GenError, GenResult, NOW, Stamp, add_years, age_on, insert, permute,
};
use super::names::Origin;
use super::site::{self, Role, Site};

/// `ir_sequence` of appointment numbers (`APP ${year}/`).
const APPOINTMENT_SEQUENCE: i64 = 5;
/// Keys the patients' dice streams apart from the households'.
const STREAM_KEY: u64 = 0x5715_1751_A55E_0000;

/// The site's insurers and consultation services.
#[derive(Default)]
pub(super) struct Catalogue {
    pub insurers: Vec<Insurer>,
    /// `product_product` ids of [`CONSULTATIONS`], in its order.
    pub consultations: Vec<i64>,
}

/// Consultation services (products of type service): code and name. Family doctors and
/// paediatricians, specialists, nurses.
const CONSULTATIONS: &[(&str, &str)] = &[
    ("CONS-PC", "Primary care consultation"),
    ("CONS-SPEC", "Specialist consultation"),
    ("CONS-NURS", "Nursing consultation"),
];

/// An insurer of the site and its plans.
pub(super) struct Insurer {
    pub party: i64,
    pub kind: Kind,
    /// `gnuhealth_insurance_plan` ids.
    pub plans: Vec<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// The islands' public health service.
    State,
    /// A private health insurer.
    Private,
    /// A trade union's mutual fund.
    Union,
}

/// (name, code, insurance_company_type, plan names).
const INSURERS: &[(&str, &str, Kind, &[&str])] = &[
    (
        "Servicio Canario de la Salud",
        "SCS",
        Kind::State,
        &["Tarjeta Sanitaria Canaria"],
    ),
    (
        "Atlántica Salud Seguros",
        "ATS",
        Kind::Private,
        &["Atlántica Salud Completo", "Atlántica Salud Básico"],
    ),
    (
        "Mutualidad Sindical de Canarias",
        "MSC",
        Kind::Union,
        &["Mutualidad General"],
    ),
];

impl Kind {
    fn code(self) -> &'static str {
        match self {
            Kind::State => "state",
            Kind::Private => "private",
            Kind::Union => "labour_union",
        }
    }
}

/// The insurers (parties marked as insurance companies), each plan a product marked as
/// insurance plan, and the consultation services. Made at fixed times after `t` and
/// without the dice.
pub(super) fn catalogue(conn: &Connection, site: &mut Site, t: NaiveDateTime) -> GenResult<()> {
    let es = site.refs.country.get("ES").copied();
    let mut plan_id = 0;
    for (i, (name, code, kind, plans)) in INSURERS.iter().enumerate() {
        let at = t + TimeDelta::minutes(10 + i as i64);
        let party = site.ids.party.next();
        insert!(conn, "party_party" {
            "id": party, "active": true, "code": format!("{code}-{}", site.company_name),
            "create_date": Stamp(at), "create_uid": 1, "name": *name,
            "activation_date": Day(at.date()), "alternative_identification": false,
            "citizenship": es, "create_target": false, "deceased": false, "est_dob": false,
            "fed_country": "ESP", "homeless": false, "insurance_company_type": kind.code(),
            "is_healthprof": false, "is_institution": false, "is_insurance_company": true,
            "is_patient": false, "is_person": false, "is_pharmacy": false,
            "ref": format!("NP-{}", site::puid(site.seed, party)), "residence": es,
            "unidentified": false,
        })?;
        site::empty_address(conn, site, party, at)?;
        insert!(conn, "party_party_lang" {
            "id": site.ids.party_lang.next(), "create_date": Stamp(at), "create_uid": 1,
            "party": party, "company": 1,
        })?;
        let mut ids = Vec::new();
        for (n, plan) in plans.iter().enumerate() {
            let pt = Stamp(at + TimeDelta::seconds(n as i64 + 1));
            let product = site.next_product_id();
            insert!(conn, "product_template" {
                "id": product, "active": true, "consumable": false, "create_date": pt,
                "create_uid": 1, "default_uom": 1, "name": *plan, "type": "service",
            })?;
            insert!(conn, "product_product" {
                "id": product, "active": true, "create_date": pt, "create_uid": 1,
                "template": product, "is_bed": false, "is_insurance_plan": true,
                "is_medical_supply": false, "is_medicament": false, "is_vaccine": false,
            })?;
            plan_id += 1;
            insert!(conn, "gnuhealth_insurance_plan" {
                "id": plan_id, "company": party, "create_date": pt, "create_uid": 1,
                "is_default": n == 0, "product": product,
            })?;
            ids.push(plan_id);
        }
        site.visits.insurers.push(Insurer {
            party,
            kind: *kind,
            plans: ids,
        });
    }
    for (i, (code, name)) in CONSULTATIONS.iter().enumerate() {
        let at = Stamp(t + TimeDelta::minutes(20 + i as i64));
        let product = site.next_product_id();
        insert!(conn, "product_template" {
            "id": product, "active": true, "consumable": false, "create_date": at,
            "create_uid": 1, "default_uom": 1, "name": *name, "type": "service",
        })?;
        insert!(conn, "product_product" {
            "id": product, "active": true, "code": *code, "create_date": at, "create_uid": 1,
            "template": product, "is_bed": false, "is_insurance_plan": false,
            "is_medical_supply": false, "is_medicament": false, "is_vaccine": false,
        })?;
        site.visits.consultations.push(product);
    }
    Ok(())
}

/// The dice of one patient's visits and insurances.
pub(super) fn dice(site: &Site, patient: i64) -> Dice {
    Dice::new(site.seed ^ STREAM_KEY, patient.unsigned_abs())
}

/// The patient's insurances; returns the one in use (`current_insurance`). Most people
/// have the public health service's card, some a private insurance on top or instead
/// (most British residents), a few their union's mutual fund; unidentified people none.
pub(super) fn write_insurances(
    conn: &Connection,
    site: &mut Site,
    dice: &mut Dice,
    p: &care::Patient,
) -> GenResult<Option<i64>> {
    if p.unidentified || site.visits.insurers.is_empty() {
        return Ok(None);
    }
    let age = age_on(p.dob, NOW.date());
    let public = match p.origin {
        Origin::English => dice.chance(0.5),
        _ => dice.chance(0.95),
    };
    let private_chance = match p.origin {
        Origin::English if !public => 0.9,
        _ => 0.15,
    };
    let private = dice.chance(private_chance);
    let union = (18..67).contains(&age) && dice.chance(0.04);
    let mut current = None;
    for (kind, wanted) in [
        (Kind::State, public),
        (Kind::Private, private),
        (Kind::Union, union),
    ] {
        if !wanted {
            continue;
        }
        let Some(insurer) = site.visits.insurers.iter().position(|i| i.kind == kind) else {
            continue;
        };
        let (party, plans) = {
            let i = &site.visits.insurers[insurer];
            (i.party, i.plans.clone())
        };
        let id = site.ids.insurance.next();
        let since = match kind {
            // The health card comes with birth or with residence.
            Kind::State => p
                .dob
                .max(add_years(p.registered.date(), -dice.int(0, 15) as i32)),
            _ => dice.date_between(p.dob.max(add_years(NOW.date(), -20)), p.registered.date()),
        };
        // Private policies run year by year; some were not renewed.
        let expires = (kind == Kind::Private).then(|| {
            let years = (NOW.date() - since).num_days() / 365 + 1;
            let years = if dice.chance(0.15) {
                dice.int(1, years.max(1))
            } else {
                years
            };
            add_years(since, years as i32)
        });
        let number = insurance_number(site.seed, kind, id);
        let plan = plans[dice.int(0, plans.len() as i64 - 1) as usize];
        let category = match kind {
            // The pharmacy contribution level of the public health card.
            Kind::State => Some(if age >= 65 {
                "TSI 002"
            } else if age < 18 {
                "TSI 001"
            } else {
                dice.weighted(&[("TSI 003", 70), ("TSI 004", 20), ("TSI 001", 10)])
            }),
            Kind::Private => Some(dice.pick(&["Individual", "Familiar", "Empresa"])),
            Kind::Union => None,
        };
        let created = care::recorded(
            dice,
            since.and_hms_opt(10, 0, 0).unwrap_or(NOW),
            p.registered,
        );
        insert!(conn, "gnuhealth_insurance" {
            "id": id, "category": category, "company": party, "create_date": Stamp(created),
            "create_uid": 1, "insurance_type": kind.code(),
            "member_exp": expires.map(Day), "member_since": Day(since), "number": number,
            "party": p.party, "plan_id": plan,
        })?;
        let valid = expires.is_none_or(|e| e > NOW.date());
        if current.is_none() && valid {
            current = Some(id);
        }
    }
    Ok(current)
}

/// A membership number unique per insurer (a permutation of the row id).
fn insurance_number(seed: u64, kind: Kind, id: i64) -> String {
    match kind {
        Kind::State => format!(
            "CACA{:010}",
            permute(id.unsigned_abs(), 10_000_000_000, seed ^ 0x5C5)
        ),
        Kind::Private => format!(
            "ATS-{:08}",
            permute(id.unsigned_abs(), 100_000_000, seed ^ 0xA75)
        ),
        Kind::Union => format!(
            "MSC/{:06}",
            permute(id.unsigned_abs(), 1_000_000, seed ^ 0x35C)
        ),
    }
}

/// What the patient booked: with whom, where and why.
struct Booking {
    role: Role,
    institution: i64,
    visit_type: &'static str,
    comment: Option<&'static str>,
}

const GP_REASONS: &[&str] = &[
    "Blood pressure control",
    "Review of lab results",
    "Prescription renewal",
    "Cough and fever",
    "Back pain",
    "Sick note",
];
const SPECIALIST_REASONS: &[&str] = &[
    "Referred by family doctor",
    "Review after tests",
    "Second opinion",
];

/// The patient's appointments, from registration until a few weeks after [`NOW`]
/// (none after `death`). Returns their ids, past `done` ones first in time order —
/// the visits an evaluation may follow.
pub(super) fn write_appointments(
    conn: &Connection,
    site: &mut Site,
    dice: &mut Dice,
    p: &care::Patient,
    insurance: Option<i64>,
    death: Option<NaiveDateTime>,
) -> GenResult<Vec<i64>> {
    let mut done = Vec::new();
    if p.unidentified {
        return Ok(done);
    }
    let age = age_on(p.dob, NOW.date());
    // Nothing on the day of death or after.
    let end = death.map_or(NOW, |d| d.date().and_time(chrono::NaiveTime::MIN));
    let first = p
        .registered
        .max(p.dob.and_hms_opt(12, 0, 0).unwrap_or(p.registered));
    let years = (end - first).num_days() as f64 / 365.25;
    // Children and the elderly see their doctors more often.
    let rate = match age {
        ..=4 => 2.5,
        5..=17 => 0.8,
        18..=44 => 0.9,
        45..=64 => 1.4,
        _ => 2.2,
    };
    let past = ((years * rate * dice.uniform(0.4, 1.6)).round() as i64).clamp(0, 14);
    let mut dates: Vec<NaiveDateTime> = (0..past)
        .filter_map(|_| {
            let day = weekday(dice.date_between(first.date(), end.date()));
            let at = dice.clinic_time(day);
            (at > first && at < end).then_some(at)
        })
        .collect();
    // A few have an appointment coming up.
    let upcoming = death.is_none() && dice.chance(if p.showcase { 1.0 } else { 0.12 });
    if upcoming {
        let day = weekday(dice.date_between(
            NOW.date() + TimeDelta::days(2),
            NOW.date() + TimeDelta::days(60),
        ));
        dates.push(dice.clinic_time(day));
    }
    dates.sort_unstable();
    dates.dedup();
    for (n, at) in dates.iter().copied().enumerate() {
        let booking = booking(dice, p, site.hospital, age, n == 0);
        // Most family-doctor visits are with the patient's own doctor.
        let staff = if matches!(booking.role, Role::Gp | Role::Pediatrician) && dice.chance(0.8) {
            p.pcp
        } else {
            site.staff(dice, booking.role, Some(booking.institution)).id
        };
        let specialty = site
            .refs
            .specialty
            .get(specialty(booking.role))
            .copied()
            .ok_or_else(|| GenError::Missing(format!("specialty {}", specialty(booking.role))))?;
        let future = at > NOW;
        let state = if future {
            if dice.chance(0.85) {
                "confirmed"
            } else {
                "free"
            }
        } else {
            dice.weighted(&[
                ("done", 82),
                ("no_show", 6),
                ("user_cancelled", 8),
                ("center_cancelled", 4),
            ])
        };
        // Booked a few days to a few weeks ahead (walk-ins on the day), never before
        // registration.
        let lead = if dice.chance(0.15) {
            TimeDelta::minutes(dice.int(10, 90))
        } else {
            TimeDelta::days(dice.int(1, 30))
        };
        let created = dice.stamp_after((at - lead).max(p.registered), 300).min(at);
        let created = created.min(NOW);
        // Confirmed bookings get their number when created; an offered slot has none.
        let name = (state != "free").then(|| {
            let number = site.ids.seq_appointment.next();
            site.sequence_used.note(APPOINTMENT_SEQUENCE, created);
            format!("APP {}/{number}", created.year())
        });
        let checked_in = (state == "done").then(|| at - TimeDelta::minutes(dice.int(2, 25)));
        // The state changed on the day: checked in, seen, missed or cancelled.
        let written = match state {
            "done" => Some(at + TimeDelta::minutes(dice.int(10, 40))),
            "no_show" => Some(at + TimeDelta::minutes(dice.int(30, 120))),
            "user_cancelled" | "center_cancelled" => {
                let back = (at - created).num_minutes().max(2);
                Some(at - TimeDelta::minutes(dice.int(1, back - 1)))
            }
            _ => None,
        }
        .map(|w| w.min(NOW));
        let urgency = dice.weighted(&[("a", 90), ("b", 8), ("c", 2)]);
        let kind = if age >= 75 && dice.chance(0.1) {
            "homecare"
        } else if dice.chance(0.06) {
            "telemedicine"
        } else {
            "outpatient"
        };
        // The service booked: primary care, a specialist's or a nurse's consultation.
        let service = match booking.role {
            Role::Gp | Role::Pediatrician => 0,
            Role::Nurse => 2,
            _ => 1,
        };
        let consultation = site.visits.consultations.get(service).copied();
        let id = site.ids.appointment.next();
        insert!(conn, "gnuhealth_appointment" {
            "id": id, "appointment_date": Stamp(at), "appointment_type": kind,
            "checked_in_date": checked_in.map(Stamp), "comments": booking.comment,
            "consultations": consultation,
            "create_date": Stamp(created), "create_uid": 1, "healthprof": staff,
            "institution": booking.institution, "insurance": insurance, "name": name,
            "patient": p.id, "speciality": specialty, "state": state, "urgency": urgency,
            "visit_type": booking.visit_type, "write_date": written.map(Stamp),
            "write_uid": written.map(|_| 1),
        })?;
        if state == "done" {
            done.push(id);
        }
    }
    Ok(done)
}

/// Monday to Friday: clinics are closed at weekends.
fn weekday(d: NaiveDate) -> NaiveDate {
    match d.weekday() {
        Weekday::Sat => d - TimeDelta::days(1),
        Weekday::Sun => d + TimeDelta::days(1),
        _ => d,
    }
}

fn booking(dice: &mut Dice, p: &care::Patient, hospital: i64, age: i64, first: bool) -> Booking {
    let gp = if age < 14 {
        Role::Pediatrician
    } else {
        Role::Gp
    };
    let (role, institution) = match dice.int(0, 99) {
        0..=69 => (gp, p.institution),
        70..=79 => (Role::Nurse, p.institution),
        80..=85 if age >= 40 => (Role::Cardiologist, hospital),
        86..=89 if p.female && age >= 16 => (Role::Gynecologist, hospital),
        90..=93 if age >= 50 => (Role::Ophthalmologist, hospital),
        94..=99 if age >= 18 => (Role::Internist, hospital),
        _ => (gp, p.institution),
    };
    let specialist = !matches!(role, Role::Gp | Role::Pediatrician | Role::Nurse);
    let well = match (age, p.female) {
        (..=13, _) => "well_child",
        (_, true) => "well_woman",
        (_, false) => "well_man",
    };
    let visit_type = if first || (specialist && dice.chance(0.5)) {
        "new"
    } else {
        dice.weighted(&[("followup", 60), ("new", 28), (well, 12)])
    };
    let comment = if visit_type == "followup" || visit_type == "new" {
        let list = if specialist {
            SPECIALIST_REASONS
        } else {
            GP_REASONS
        };
        dice.chance(0.35).then(|| dice.pick(list))
    } else {
        None
    };
    Booking {
        role,
        institution,
        visit_type,
        comment,
    }
}

/// `gnuhealth_specialty.code` of the specialty a role's appointments are booked under.
fn specialty(role: Role) -> &'static str {
    match role {
        Role::Gp => "FAMILY",
        Role::Nurse => "NURSING",
        Role::Pediatrician => "PEDIATRICS",
        Role::Internist => "INTERNAL",
        Role::Cardiologist => "CARDIO",
        Role::GeneralSurgeon => "GENERALSURG",
        Role::Orthopedist => "ORTHOSURG",
        Role::Gynecologist => "OBGYN",
        Role::Ophthalmologist => "OPHTALMO",
        Role::Anesthetist => "ANESTHESIO",
        Role::Pathologist => "PATHOLOGY",
        Role::LabTechnician => "LAB",
    }
}
