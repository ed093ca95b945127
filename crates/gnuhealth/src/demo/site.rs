//! The site: everything that exists before the first patient. Module data (ICD-10
//! codes, `health_lab`'s test types and products), the countries, the company, the
//! users, the institutions with their buildings and operating rooms, the health
//! professionals, and the site's own formulary, vaccines and lab test types.

use std::collections::HashMap;

use chrono::{NaiveDateTime, TimeDelta};
use rusqlite::{Connection, OptionalExtension};

use super::clinical::{self, DRUGS, LAB_TYPES, VACCINES};
use super::generate::{
    Day, Dice, GenError, GenResult, INSTALLED, Ids, NOW, Numeric, Refs, Seq, Stamp, insert, permute,
};
use super::names::{self, CITIES, COUNTRIES, INSTITUTIONS, Origin, SUBDIVISIONS};
use super::shipped;
use super::{DEMO_LOGIN, DEMO_PASSWORD, DemoOptions};

/// What a health professional does; decides specialty, institution and which records
/// they sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Role {
    Gp,
    Nurse,
    Pediatrician,
    Internist,
    Cardiologist,
    GeneralSurgeon,
    Orthopedist,
    Gynecologist,
    Ophthalmologist,
    Anesthetist,
    Pathologist,
    LabTechnician,
}

impl Role {
    const ALL: [Role; 12] = [
        Role::Gp,
        Role::Nurse,
        Role::Pediatrician,
        Role::Internist,
        Role::Cardiologist,
        Role::GeneralSurgeon,
        Role::Orthopedist,
        Role::Gynecologist,
        Role::Ophthalmologist,
        Role::Anesthetist,
        Role::Pathologist,
        Role::LabTechnician,
    ];

    /// `gnuhealth_specialty.code` of the main specialty.
    fn specialty(self) -> &'static str {
        match self {
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

    /// The hospital unit the role works in: surgeons and anesthetists of the hospital
    /// belong to its surgical unit (the only unit).
    fn unit(self, institution: i64) -> Option<i64> {
        let surgical = matches!(
            self,
            Role::GeneralSurgeon
                | Role::Orthopedist
                | Role::Gynecologist
                | Role::Ophthalmologist
                | Role::Anesthetist
        );
        (surgical && institution == 1).then_some(SURGICAL_UNIT)
    }

    /// A second specialty some of them hold.
    fn second_specialty(self) -> Option<&'static str> {
        match self {
            Role::Gp => Some("GP"),
            Role::Internist => Some("GERIATRICS"),
            Role::Pediatrician => Some("NEONATO"),
            _ => None,
        }
    }

    fn is_physician(self) -> bool {
        !matches!(self, Role::Nurse | Role::LabTechnician)
    }

    /// The surgeon role for a surgery's specialty.
    pub fn surgeon_for(specialty: &str) -> Role {
        match specialty {
            "ORTHOSURG" => Role::Orthopedist,
            "OPHTALMO" => Role::Ophthalmologist,
            "OBGYN" => Role::Gynecologist,
            _ => Role::GeneralSurgeon,
        }
    }
}

/// A health professional of the site.
pub(super) struct Staff {
    pub id: i64,
    /// `gnuhealth_hp_specialty` id of the main specialty (surgery team roles point to it).
    pub hp_specialty: i64,
}

/// An institution of the site.
pub(super) struct Institution {
    pub id: i64,
    pub primary_care: bool,
    pub lat: f64,
    pub lon: f64,
}

/// A drug of the formulary with the ids of its codes.
#[derive(Clone, Copy)]
pub(super) struct DrugRef {
    pub medicament: i64,
    pub spec: &'static clinical::DrugSpec,
    pub unit: i64,
    pub form: i64,
    pub route: i64,
    pub dosage: i64,
}

/// A lab test type with its template analytes.
pub(super) struct LabTypeRef {
    pub id: i64,
    pub specimen: Option<&'static str>,
    pub templates: Vec<TemplateRef>,
}

/// A template analyte, copied into each result row as `complete_criteareas` does.
pub(super) struct TemplateRef {
    pub code: &'static str,
    pub name: &'static str,
    pub sequence: i64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub units: Option<i64>,
    pub normal_range: Option<&'static str>,
    pub method: Option<&'static str>,
    pub limits_verified: bool,
}

/// The site, and the counters patients continue from.
pub(super) struct Site {
    pub seed: u64,
    pub patients: u32,
    pub ids: Ids,
    pub refs: Refs,
    pub institutions: Vec<Institution>,
    pub staff: Vec<Staff>,
    by_role: HashMap<(Role, i64), Vec<usize>>,
    any_role: HashMap<Role, Vec<usize>>,
    /// Primary-care institution serving each city of [`CITIES`].
    pub city_institution: Vec<i64>,
    pub hospital: i64,
    pub operating_rooms: Vec<i64>,
    /// Number of hospital beds (their ids are `1..=beds`).
    pub beds: i64,
    /// The company's name, suffix of every party code (`<uuid>-GNU Solidario Hospital`).
    pub company_name: &'static str,
    /// Dates of the last use of each `ir_sequence`, for its `write_date`.
    pub sequence_used: SequenceUse,
    /// Used when no professional has a role (never, with the core staff).
    fallback: Vec<usize>,
    /// Next `product_template`/`product_product` id.
    next_product: Seq,
    /// The insurers and their plans, the consultation services.
    pub visits: super::visits::Catalogue,
}

impl Site {
    /// A professional with `role`, at `institution` when it has one.
    pub fn staff(&self, dice: &mut Dice, role: Role, institution: Option<i64>) -> &Staff {
        let local = institution.and_then(|i| self.by_role.get(&(role, i)));
        let pool = match local {
            Some(v) if !v.is_empty() => v,
            _ => self.any_role.get(&role).unwrap_or(&self.fallback),
        };
        &self.staff[dice.pick(pool)]
    }

    /// A new `product_template`/`product_product` id.
    pub fn next_product_id(&mut self) -> i64 {
        self.next_product.next()
    }
}

/// When each `ir_sequence` was last used (trytond writes the row to bump its counter).
#[derive(Default)]
pub(super) struct SequenceUse(HashMap<i64, NaiveDateTime>);

impl SequenceUse {
    pub fn note(&mut self, id: i64, when: NaiveDateTime) {
        let e = self.0.entry(id).or_insert(when);
        if when > *e {
            *e = when;
        }
    }
}

/// A setup clock: each step a little after the previous one, from [`INSTALLED`].
struct Clock {
    t: NaiveDateTime,
}

impl Clock {
    fn tick(&mut self, dice: &mut Dice) -> NaiveDateTime {
        self.t = dice.stamp_after(self.t, 90);
        self.t
    }
}

/// Ids of reference codes loaded from the embedded codes.sql, by code.
fn code_ids(conn: &Connection, table: &str, column: &str) -> GenResult<HashMap<String, i64>> {
    let mut st = conn.prepare(&format!("SELECT \"{column}\", id FROM \"{table}\""))?;
    let rows = st.query_map([], |r| {
        Ok((r.get::<_, Option<String>>(0)?, r.get::<_, i64>(1)?))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        let (code, id) = row?;
        if let Some(code) = code {
            out.entry(code).or_insert(id);
        }
    }
    Ok(out)
}

fn lookup(map: &HashMap<String, i64>, what: &str, code: &str) -> GenResult<i64> {
    map.get(code)
        .copied()
        .ok_or_else(|| GenError::Missing(format!("{what} {code}")))
}

/// Write the site and return it, with counters ready for the patients.
pub(super) fn build(conn: &Connection, opts: &DemoOptions) -> GenResult<Site> {
    let mut dice = Dice::new(opts.seed, 0);
    let mut refs = Refs::default();
    for (code, id) in code_ids(conn, "gnuhealth_specialty", "code")? {
        refs.specialty.insert(code, id);
    }
    let langs = code_ids(conn, "ir_lang", "code")?;
    for code in ["en", "es", "es_419"] {
        refs.lang.insert(code, lookup(&langs, "language", code)?);
    }
    let units = code_ids(conn, "gnuhealth_dose_unit", "code")?;
    for code in ["mL", "mg", "ug", "unit"] {
        refs.dose_unit
            .insert(code, lookup(&units, "dose unit", code)?);
    }

    let mut site = Site {
        seed: opts.seed,
        patients: opts.patients,
        ids: Ids::default(),
        refs,
        institutions: Vec::new(),
        staff: Vec::new(),
        by_role: HashMap::new(),
        any_role: HashMap::new(),
        city_institution: Vec::new(),
        hospital: 1,
        operating_rooms: Vec::new(),
        beds: 0,
        company_name: INSTITUTIONS[0].name,
        sequence_used: SequenceUse::default(),
        fallback: Vec::new(),
        next_product: Seq::default(),
        visits: super::visits::Catalogue::default(),
    };
    module_data(conn, &mut site)?;
    let mut clock = Clock {
        t: INSTALLED + TimeDelta::minutes(40),
    };
    geography(conn, &mut site, &mut dice, &mut clock)?;
    institutions(conn, &mut site, &mut dice, &mut clock)?;
    users(conn, &mut site, &mut dice, &mut clock)?;
    staff(conn, &mut site, &mut dice, &mut clock)?;
    formulary(conn, &mut site, &mut dice, &mut clock)?;
    lab_types(conn, &mut site, &mut dice, &mut clock)?;
    wards(conn, &mut site, clock.t)?;
    super::visits::catalogue(conn, &mut site, clock.t)?;
    Ok(site)
}

/// Rows the modules install: ICD-10, procedure-less `health_lab` test types with their
/// products and template analytes. Original ids, `create_uid` 0.
fn module_data(conn: &Connection, site: &mut Site) -> GenResult<()> {
    let at = Stamp(INSTALLED);
    for &(id, name, parent) in shipped::PATHOLOGY_CATEGORIES {
        insert!(conn, "gnuhealth_pathology_category" {
            "id": id, "create_date": at, "create_uid": 0, "name": name, "parent": parent,
        })?;
    }
    for &(id, code, name, category) in shipped::PATHOLOGIES {
        insert!(conn, "gnuhealth_pathology" {
            "id": id, "active": true, "category": category, "code": code,
            "create_date": at, "create_uid": 0, "name": name,
        })?;
        site.refs.pathology.insert(code, id);
    }
    for &(id, name) in shipped::PRODUCTS {
        product(conn, id, name, "service", at, 0, ProductKind::Service)?;
    }
    let units = code_ids(conn, "gnuhealth_lab_test_units", "code")?;
    for t in shipped::TEST_TYPES {
        insert!(conn, "gnuhealth_lab_test_type" {
            "id": t.id, "active": true, "code": t.code, "create_date": at, "create_uid": 0,
            "max_age": 150.0, "min_age": 0.0, "name": t.name, "product_id": t.product,
            "report_style": "tbl_h_r_nr",
        })?;
        site.refs.lab_type.insert(
            t.code,
            LabTypeRef {
                id: t.id,
                specimen: None,
                templates: Vec::new(),
            },
        );
    }
    for a in shipped::TEMPLATES {
        if let Some(u) = a.units {
            // The templates point at health_lab's own unit rows, loaded by codes.sql.
            if !units.values().any(|&id| id == u) {
                return Err(GenError::Missing(format!("lab unit id {u}")));
            }
        }
        insert!(conn, "gnuhealth_lab_test_critearea" {
            "id": a.id, "code": a.code, "create_date": at, "create_uid": 0, "excluded": false,
            "limits_verified": a.limits_verified, "lower_limit": a.lower, "name": a.name,
            "normal_range": a.normal_range, "sequence": a.sequence, "test_type_id": a.test_type,
            "to_integer": false, "units": a.units, "upper_limit": a.upper, "warning": false,
        })?;
        let code = shipped::TEST_TYPES
            .iter()
            .find(|t| t.id == a.test_type)
            .map(|t| t.code);
        if let Some(t) = code.and_then(|c| site.refs.lab_type.get_mut(c)) {
            t.templates.push(TemplateRef {
                code: a.code,
                name: a.name,
                sequence: a.sequence,
                lower: a.lower,
                upper: a.upper,
                units: a.units,
                normal_range: a.normal_range,
                method: None,
                limits_verified: a.limits_verified,
            });
        }
    }
    for t in site.refs.lab_type.values_mut() {
        t.templates.sort_by_key(|a| a.sequence);
    }
    site.ids.critearea =
        Seq::starting_after(shipped::TEMPLATES.iter().map(|a| a.id).max().unwrap_or(0));
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ProductKind {
    Service,
    Medicament,
    Vaccine,
}

/// A `product_template` and its `product_product` (same id: one variant per template).
fn product(
    conn: &Connection,
    id: i64,
    name: &str,
    kind: &str,
    at: Stamp,
    uid: i64,
    what: ProductKind,
) -> GenResult<()> {
    insert!(conn, "product_template" {
        "id": id, "active": true, "consumable": false, "create_date": at, "create_uid": uid,
        "default_uom": 1, "name": name, "type": kind,
    })?;
    // Marking a product as medicament is a second write in the GNU Health client.
    let written =
        (what != ProductKind::Service).then_some(Stamp(at.0 + TimeDelta::milliseconds(35)));
    insert!(conn, "product_product" {
        "id": id, "active": true, "create_date": at, "create_uid": uid, "template": id,
        "write_date": written, "write_uid": written.map(|_| uid), "is_bed": false,
        "is_insurance_plan": false, "is_medical_supply": false,
        "is_medicament": what != ProductKind::Service, "is_vaccine": what == ProductKind::Vaccine,
    })?;
    Ok(())
}

/// Countries, subdivisions and the federation country (Spain).
fn geography(
    conn: &Connection,
    site: &mut Site,
    dice: &mut Dice,
    clock: &mut Clock,
) -> GenResult<()> {
    for (i, c) in COUNTRIES.iter().enumerate() {
        let id = i as i64 + 1;
        insert!(conn, "country_country" {
            "id": id, "active": true, "code": c.code, "code3": c.code3,
            "code_numeric": c.numeric, "create_date": Stamp(clock.tick(dice)), "create_uid": 1,
            "name": c.name,
        })?;
        site.refs.country.insert(c.code, id);
    }
    for (i, &(code, name, kind, parent)) in SUBDIVISIONS.iter().enumerate() {
        let id = i as i64 + 1;
        let parent = parent.and_then(|p| site.refs.subdivision.get(p).copied());
        insert!(conn, "country_subdivision" {
            "id": id, "active": true, "code": code, "country": site.refs.country.get("ES").copied(),
            "create_date": Stamp(clock.tick(dice)), "create_uid": 1, "name": name,
            "parent": parent, "type": kind,
        })?;
        site.refs.subdivision.insert(code, id);
    }
    let t = Stamp(clock.tick(dice));
    insert!(conn, "gnuhealth_federation_country_config" {
        "id": 1, "country": site.refs.country.get("ES").copied(), "create_date": t,
        "create_uid": 1, "use_citizenship": false, "write_date": t, "write_uid": 1,
    })?;
    Ok(())
}

/// Institutions (the first one is the company), their addresses and telecoms, the
/// hospital's building, surgical unit and operating rooms.
fn institutions(
    conn: &Connection,
    site: &mut Site,
    dice: &mut Dice,
    clock: &mut Clock,
) -> GenResult<()> {
    let es = site.refs.country.get("ES").copied();
    for (i, spec) in INSTITUTIONS.iter().enumerate() {
        let id = i as i64 + 1;
        let t = clock.tick(dice);
        let city = &CITIES[spec.city];
        let party = site.ids.party.next();
        let puid = puid(site.seed, party);
        insert!(conn, "party_party" {
            "id": party, "active": true, "code": format!("{}-{}", dice.uuid4(), site.company_name),
            "create_date": Stamp(t), "create_uid": 1, "name": spec.name,
            "activation_date": Day(t.date()), "alternative_identification": false,
            "citizenship": es, "create_target": false, "deceased": false, "est_dob": false,
            "fed_country": "ESP", "homeless": false, "is_healthprof": false,
            "is_institution": true, "is_insurance_company": false, "is_pharmacy": false,
            "ref": format!("NP-{puid}"), "residence": es, "unidentified": false,
        })?;
        // Every party gets an empty address row; institutions also have a real one.
        empty_address(conn, site, party, t)?;
        let zip = city.zip.0.to_string();
        insert!(conn, "party_address" {
            "id": site.ids.address.next(), "active": true, "city": city.name, "country": es,
            "create_date": Stamp(t), "create_uid": 1, "party": party, "postal_code": zip,
            "street": spec.street, "subdivision": site.refs.subdivision.get(city.subdivision).copied(),
            "is_school": false, "is_work": false,
        })?;
        // The company does not exist yet when its own party is created.
        let company = (i > 0).then_some(1);
        insert!(conn, "party_party_lang" {
            "id": site.ids.party_lang.next(), "create_date": Stamp(t), "create_uid": 1,
            "party": party, "company": company,
        })?;
        let phone = format!("+34 {} {} {}", city.area, dice.digits(3), dice.digits(3));
        let domain = spec.code.to_lowercase();
        contact(conn, site, party, t, "phone", &phone, false, None)?;
        contact(
            conn,
            site,
            party,
            t,
            "email",
            &format!("info@{domain}.example.org"),
            false,
            None,
        )?;
        if i == 0 {
            contact(
                conn,
                site,
                party,
                t,
                "website",
                "https://hospital.gnusolidario.example.org",
                false,
                None,
            )?;
            insert!(conn, "company_company" {
                "id": 1, "create_date": Stamp(t + TimeDelta::seconds(2)), "create_uid": 1,
                "currency": 1, "party": party, "timezone": "Atlantic/Canary",
            })?;
        }
        let main = site.refs.specialty.get(spec.main_specialty).copied();
        let t2 = Stamp(t + TimeDelta::seconds(3));
        insert!(conn, "gnuhealth_institution" {
            "id": id, "beds": spec.beds, "code": spec.code, "create_date": t2, "create_uid": 1,
            "heliport": i == 0, "institution_type": spec.kind,
            "operating_room": spec.operating_rooms.is_some(), "or_number": spec.operating_rooms,
            "party": party, "public_level": spec.public_level, "teaching": i == 0,
            "trauma_center": i == 0, "trauma_level": (i == 0).then_some("two"),
            "main_specialty": main.map(|_| id),
        })?;
        if let Some(sp) = main {
            // main_specialty points at this institution's specialty row (its id equals the
            // institution id because every institution has exactly one).
            insert!(conn, "gnuhealth_institution_specialties" {
                "id": id, "create_date": t2, "create_uid": 1, "institution": id, "specialty": sp,
            })?;
        }
        // Institutions sit a little off their city's centre.
        site.institutions.push(Institution {
            id,
            primary_care: spec.kind != "hospital",
            lat: city.lat + dice.uniform(-0.01, 0.01),
            lon: city.lon + dice.uniform(-0.01, 0.01),
        });
    }
    // Each city is served by its nearest primary-care institution.
    site.city_institution = CITIES
        .iter()
        .map(|c| {
            site.institutions
                .iter()
                .filter(|i| i.primary_care)
                .min_by(|a, b| {
                    let da = (a.lat - c.lat).powi(2) + (a.lon - c.lon).powi(2);
                    let db = (b.lat - c.lat).powi(2) + (b.lon - c.lon).powi(2);
                    da.total_cmp(&db)
                })
                .map_or(1, |i| i.id)
        })
        .collect();
    let t = Stamp(clock.tick(dice));
    insert!(conn, "gnuhealth_hospital_building" {
        "id": 1, "code": "MAIN", "create_date": t, "create_uid": 1, "institution": 1,
        "name": "Main Building",
    })?;
    insert!(conn, "gnuhealth_hospital_unit" {
        "id": SURGICAL_UNIT, "code": "SURG", "create_date": t, "create_uid": 1, "institution": 1,
        "name": "Surgery",
    })?;
    for n in 1..=INSTITUTIONS[0].operating_rooms.unwrap_or(1) {
        insert!(conn, "gnuhealth_hospital_or" {
            "id": n, "building": 1, "create_date": t, "create_uid": 1, "institution": 1,
            "name": format!("OR-{n}"), "state": "free", "timeslot": 60, "unit": 1,
        })?;
        site.operating_rooms.push(n);
    }
    Ok(())
}

/// The hospital's surgical unit (`gnuhealth_hospital_unit.id`).
const SURGICAL_UNIT: i64 = 1;

/// A ward of the hospital's main building: name, floor, gender, unit, state and its beds
/// (name, type, state).
type WardSpec = (
    &'static str,
    i64,
    &'static str,
    Option<i64>,
    &'static str,
    &'static [(&'static str, &'static str, &'static str)],
);

const WARDS: &[WardSpec] = &[
    (
        "Internal Medicine",
        2,
        "unisex",
        None,
        "beds_available",
        &[
            ("IM-201", "electric", "occupied"),
            ("IM-202", "electric", "free"),
            ("IM-203", "gatch", "to_clean"),
            ("IM-204", "low", "free"),
        ],
    ),
    (
        "Surgery",
        3,
        "unisex",
        Some(SURGICAL_UNIT),
        "beds_available",
        &[
            ("SU-301", "electric", "occupied"),
            ("SU-302", "low_air_loss", "reserved"),
            ("SU-303", "stretcher", "na"),
        ],
    ),
    (
        "Maternity",
        1,
        "women",
        None,
        "full",
        &[
            ("MA-101", "electric", "occupied"),
            ("MA-102", "electric", "occupied"),
        ],
    ),
];

/// The hospital's wards and beds (each bed is a product marked as bed). Made last, at fixed
/// times after `t` and without the dice, so the rest of the site stays as it was.
fn wards(conn: &Connection, site: &mut Site, t: NaiveDateTime) -> GenResult<()> {
    let mut bed = Seq::default();
    for (i, (name, floor, gender, unit, state, beds)) in WARDS.iter().enumerate() {
        let id = i as i64 + 1;
        let at = Stamp(t + TimeDelta::minutes(id));
        insert!(conn, "gnuhealth_hospital_ward" {
            "id": id, "building": 1, "create_date": at, "create_uid": 1, "floor": *floor,
            "gender": *gender, "institution": site.hospital, "name": *name,
            "number_of_beds": beds.len() as i64, "state": *state, "unit": *unit,
            "ac": true, "bio_hazard": false, "guest_sofa": false, "internet": true,
            "microwave": false, "private": false, "private_bathroom": false,
            "refrigerator": false, "telephone": true, "tv": true,
        })?;
        for (n, (bed_name, kind, bed_state)) in beds.iter().enumerate() {
            let product_id = site.next_product.next();
            let bt = Stamp(at.0 + TimeDelta::seconds(n as i64 + 1));
            insert!(conn, "product_template" {
                "id": product_id, "active": true, "consumable": false, "create_date": bt,
                "create_uid": 1, "default_uom": 1, "name": *bed_name, "type": "service",
            })?;
            insert!(conn, "product_product" {
                "id": product_id, "active": true, "create_date": bt, "create_uid": 1,
                "template": product_id, "is_bed": true, "is_insurance_plan": false,
                "is_medical_supply": false, "is_medicament": false, "is_vaccine": false,
            })?;
            let bed_id = bed.next();
            insert!(conn, "gnuhealth_hospital_bed" {
                "id": bed_id, "bed_type": *kind, "create_date": bt, "create_uid": 1,
                "institution": site.hospital, "product": product_id, "state": *bed_state,
                "telephone_number": format!("+34 928 450 {}", 100 + bed_id),
                "ward": id,
            })?;
        }
    }
    site.beds = bed.last();
    Ok(())
}

/// The empty `party_address` row trytond's party module gives every new party.
pub(super) fn empty_address(
    conn: &Connection,
    site: &mut Site,
    party: i64,
    t: NaiveDateTime,
) -> GenResult<()> {
    insert!(conn, "party_address" {
        "id": site.ids.address.next(), "active": true, "create_date": Stamp(t), "create_uid": 1,
        "party": party, "is_school": false, "is_work": false,
    })?;
    Ok(())
}

/// A contact mechanism. trytond formats the value right after creating the row, in the
/// same transaction, so `write_date` equals `create_date`; without the `phonenumbers`
/// package `value_compact` is the value itself.
#[allow(clippy::too_many_arguments)]
pub(super) fn contact(
    conn: &Connection,
    site: &mut Site,
    party: i64,
    t: NaiveDateTime,
    kind: &str,
    value: &str,
    emergency: bool,
    remarks: Option<&str>,
) -> GenResult<()> {
    insert!(conn, "party_contact_mechanism" {
        "id": site.ids.contact.next(), "active": true, "create_date": Stamp(t), "create_uid": 1,
        "party": party, "type": kind, "value": value, "value_compact": value,
        "write_date": Stamp(t), "write_uid": 1, "emergency": emergency, "remarks": remarks,
    })?;
    Ok(())
}

/// The PUID trytond generates (`XXXNNNXXX`), from a permutation of the party id over all
/// 26⁶·10³ codes: random-looking and unique.
pub(super) fn puid(seed: u64, party: i64) -> String {
    const SPACE: u64 = 26u64.pow(6) * 1000;
    let mut v = permute(party.unsigned_abs(), SPACE, seed);
    let mut chars = [0u8; 9];
    for i in (0..9).rev() {
        if (3..6).contains(&i) {
            chars[i] = b'0' + (v % 10) as u8;
            v /= 10;
        } else {
            chars[i] = b'A' + (v % 26) as u8;
            v /= 26;
        }
    }
    String::from_utf8_lossy(&chars).into_owned()
}

/// root (0), admin (1) as trytond creates them, and the demo user (2), a Health Doctor.
fn users(conn: &Connection, site: &mut Site, dice: &mut Dice, clock: &mut Clock) -> GenResult<()> {
    let en = site.refs.lang.get("en").copied();
    let at = Stamp(INSTALLED);
    insert!(conn, "res_user" {
        "id": 0, "name": "Root", "active": false, "login": "root", "create_date": at,
        "create_uid": 0, "language": en, "company_filter": "one",
    })?;
    // admin has no usable password: trytond-admin sets one only when asked to.
    insert!(conn, "res_user" {
        "id": 1, "name": "Administrator", "active": true, "login": "admin",
        "create_date": at, "create_uid": 0, "email": "admin@example.org", "language": en,
        "write_date": Stamp(clock.tick(dice)), "write_uid": 1, "company": 1,
        "company_filter": "one",
    })?;
    // The groups module installation puts admin in (as in a real GNU Health 5.0).
    let admin_groups = [1i64, 2, 3, 4, 5, 6, 7, 8, 14, 16, 17, 19, 20, 21];
    let mut membership = Seq::default();
    for g in admin_groups {
        group_exists(conn, g)?;
        insert!(conn, "res_user-res_group" {
            "id": membership.next(), "user": 1, "group": g, "create_date": at, "create_uid": 0,
        })?;
    }
    let t = clock.tick(dice);
    let salt: [u8; 16] = std::array::from_fn(|_| dice.int(0, 255) as u8);
    let hash = crate::security::hash_scrypt(DEMO_PASSWORD, &salt)
        .ok_or_else(|| GenError::Missing("scrypt parameters".into()))?;
    insert!(conn, "res_user" {
        "id": 2, "name": DEMO_USER_NAME, "active": true, "login": DEMO_LOGIN,
        "create_date": Stamp(t), "create_uid": 1, "email": "demo@gnusolidario.example.org",
        "language": en, "password_hash": hash, "write_date": Stamp(t), "write_uid": 1,
        "company": 1, "company_filter": "one",
    })?;
    let doctor = 11;
    group_exists(conn, doctor)?;
    insert!(conn, "res_user-res_group" {
        "id": membership.next(), "user": 2, "group": doctor, "create_date": Stamp(t),
        "create_uid": 1,
    })?;
    let mut companies = vec![1i64, 2];
    // Colleagues in other groups, to see what GNU Health's access rights change. Fixed
    // salts: the dice stay as they were, and so does the rest of the data.
    for (i, (login, name, group)) in super::DEMO_COLLEAGUES.iter().enumerate() {
        let id = 3 + i as i64;
        let group: i64 =
            conn.query_row("SELECT id FROM res_group WHERE name = ?1", [group], |r| {
                r.get(0)
            })?;
        let hash = crate::security::hash_scrypt(DEMO_PASSWORD, &[id as u8; 16])
            .ok_or_else(|| GenError::Missing("scrypt parameters".into()))?;
        insert!(conn, "res_user" {
            "id": id, "name": *name, "active": true, "login": *login, "create_date": Stamp(t),
            "create_uid": 1, "language": en, "password_hash": hash, "company": 1,
            "company_filter": "one",
        })?;
        insert!(conn, "res_user-res_group" {
            "id": membership.next(), "user": id, "group": group, "create_date": Stamp(t),
            "create_uid": 1,
        })?;
        companies.push(id);
    }
    for (i, user) in companies.into_iter().enumerate() {
        insert!(conn, "res_user-company_company" {
            "id": i as i64 + 1, "company": 1, "create_date": Stamp(t), "create_uid": 1,
            "user": user,
        })?;
    }
    Ok(())
}

/// The demo user's name, also the name of the health professional linked to it.
const DEMO_USER_NAME: &str = "Dr. Carmen Santana Déniz";

fn group_exists(conn: &Connection, id: i64) -> GenResult<()> {
    let found: Option<i64> = conn
        .query_row("SELECT id FROM res_group WHERE id = ?1", [id], |r| r.get(0))
        .optional()?;
    found
        .map(|_| ())
        .ok_or_else(|| GenError::Missing(format!("res_group {id}")))
}

/// Health professionals: a core staff covering every role, plus more as the number of
/// patients grows (about one per 400 patients).
fn staff(conn: &Connection, site: &mut Site, dice: &mut Dice, clock: &mut Clock) -> GenResult<()> {
    // Every specialty the site may use must exist, whatever the number of patients.
    for role in Role::ALL {
        lookup_specialty(site, role.specialty())?;
        if let Some(second) = role.second_specialty() {
            lookup_specialty(site, second)?;
        }
    }
    let hospital = 1;
    let mut plan: Vec<(Role, i64)> = vec![(Role::Gp, hospital)];
    for inst in site.institutions.iter().filter(|i| i.primary_care) {
        plan.push((Role::Gp, inst.id));
        plan.push((Role::Nurse, inst.id));
    }
    plan.extend([
        (Role::Pediatrician, 2),
        (Role::Nurse, hospital),
        (Role::Pediatrician, hospital),
        (Role::Internist, hospital),
        (Role::Cardiologist, hospital),
        (Role::GeneralSurgeon, hospital),
        (Role::Orthopedist, hospital),
        (Role::Gynecologist, hospital),
        (Role::Ophthalmologist, hospital),
        (Role::Anesthetist, hospital),
        (Role::Pathologist, hospital),
        (Role::LabTechnician, hospital),
    ]);
    let primary: Vec<i64> = site
        .institutions
        .iter()
        .filter(|i| i.primary_care)
        .map(|i| i.id)
        .collect();
    let extra_roles: &[(Role, u32)] = &[
        (Role::Gp, 35),
        (Role::Nurse, 30),
        (Role::Pediatrician, 8),
        (Role::Internist, 4),
        (Role::Cardiologist, 3),
        (Role::GeneralSurgeon, 4),
        (Role::Orthopedist, 3),
        (Role::Gynecologist, 3),
        (Role::Ophthalmologist, 2),
        (Role::Anesthetist, 4),
        (Role::Pathologist, 2),
        (Role::LabTechnician, 2),
    ];
    for _ in 0..site.patients / 400 {
        let role = dice.weighted(extra_roles);
        let inst = match role {
            Role::Gp | Role::Nurse | Role::Pediatrician => dice.pick(&primary),
            _ => hospital,
        };
        plan.push((role, inst));
    }
    let es = site.refs.country.get("ES").copied();
    let es_lang = site.refs.lang.get("es").copied();
    let mut licence: HashMap<&str, i64> = HashMap::new();
    let mut hp_specialty = Seq::default();
    for (n, (role, inst)) in plan.into_iter().enumerate() {
        let t = clock.tick(dice);
        let female = if n == 0 {
            true
        } else {
            dice.chance(if role == Role::Nurse { 0.8 } else { 0.55 })
        };
        let (given, family) = if n == 0 {
            ("Carmen".to_string(), "Santana Déniz".to_string())
        } else {
            let given = if female {
                dice.pick(names::SPANISH_FEMALE)
            } else {
                dice.pick(names::SPANISH_MALE)
            };
            let family = format!(
                "{} {}",
                dice.pick(names::SPANISH_SURNAMES),
                dice.pick(names::SPANISH_SURNAMES)
            );
            (given.to_string(), family)
        };
        let dob = dice.date_between(
            (NOW - TimeDelta::days(64 * 365)).date(),
            (NOW - TimeDelta::days(28 * 365)).date(),
        );
        let party = site.ids.party.next();
        let puid = puid(site.seed, party);
        insert!(conn, "party_party" {
            "id": party, "active": true, "code": format!("{}-{}", dice.uuid4(), site.company_name),
            "create_date": Stamp(t), "create_uid": 1, "name": &given,
            "activation_date": Day(t.date()), "alternative_identification": false,
            "citizenship": es, "create_target": false, "deceased": false, "dob": Day(dob),
            "est_dob": false, "fed_country": "ESP", "federation_account": format!("ESP{puid}"),
            "gender": if female { "f" } else { "m" }, "homeless": false,
            "internal_user": (n == 0).then_some(2), "is_healthprof": true,
            "is_institution": false, "is_insurance_company": false, "is_person": true,
            "is_pharmacy": false, "lastname": &family, "ref": &puid, "residence": es,
            "unidentified": false,
        })?;
        insert!(conn, "gnuhealth_person_name" {
            "id": site.ids.person_name.next(), "create_date": Stamp(t), "create_uid": 1,
            "family": &family, "given": &given, "party": party,
            "prefix": role.is_physician().then_some("Dr"), "use": "official",
        })?;
        empty_address(conn, site, party, t)?;
        insert!(conn, "party_party_lang" {
            "id": site.ids.party_lang.next(), "create_date": Stamp(t), "create_uid": 1,
            "lang": es_lang, "party": party, "company": 1,
        })?;
        let initial = super::patient::ascii_lower(
            given
                .chars()
                .next()
                .map(String::from)
                .as_deref()
                .unwrap_or("x"),
        );
        let surname = super::patient::ascii_lower(family.split(' ').next().unwrap_or("staff"));
        contact(
            conn,
            site,
            party,
            t,
            "email",
            &format!("{initial}.{surname}{party}@gnusolidario.example.org"),
            false,
            None,
        )?;
        let area = if (5..=6).contains(&inst) {
            "922"
        } else {
            "928"
        };
        contact(
            conn,
            site,
            party,
            t,
            "phone",
            &format!("+34 {area} {} {}", dice.digits(3), dice.digits(3)),
            false,
            None,
        )?;
        let prefix = match role {
            Role::Nurse => "NUR",
            Role::LabTechnician => "LAB",
            _ => "MED",
        };
        let number = licence.entry(prefix).or_insert(0);
        *number += 1;
        let id = site.staff.len() as i64 + 1;
        insert!(conn, "gnuhealth_healthprofessional" {
            "id": id, "active": true, "code": format!("{prefix}-{:04}", *number),
            "create_date": Stamp(t), "create_uid": 1, "institution": inst, "party": party,
            "institution_unit": role.unit(inst),
        })?;
        let specialty = lookup_specialty(site, role.specialty())?;
        let main = hp_specialty.next();
        insert!(conn, "gnuhealth_hp_specialty" {
            "id": main, "create_date": Stamp(t), "create_uid": 1, "healthprof": id,
            "mainsp": true, "specialty": specialty,
        })?;
        if let Some(second) = role.second_specialty().filter(|_| dice.chance(0.3)) {
            let second = lookup_specialty(site, second)?;
            insert!(conn, "gnuhealth_hp_specialty" {
                "id": hp_specialty.next(), "create_date": Stamp(t), "create_uid": 1,
                "healthprof": id, "mainsp": false, "specialty": second,
            })?;
        }
        let index = site.staff.len();
        site.by_role.entry((role, inst)).or_default().push(index);
        site.any_role.entry(role).or_default().push(index);
        site.staff.push(Staff {
            id,
            hp_specialty: main,
        });
    }
    site.fallback = vec![0];
    Ok(())
}

fn lookup_specialty(site: &Site, code: &str) -> GenResult<i64> {
    site.refs
        .specialty
        .get(code)
        .copied()
        .ok_or_else(|| GenError::Missing(format!("specialty {code}")))
}

/// The site's drugs and vaccines: medicament categories, products and medicaments.
fn formulary(
    conn: &Connection,
    site: &mut Site,
    dice: &mut Dice,
    clock: &mut Clock,
) -> GenResult<()> {
    let forms = code_ids(conn, "gnuhealth_drug_form", "code")?;
    let routes = code_ids(conn, "gnuhealth_drug_route", "code")?;
    let dosages = code_ids(conn, "gnuhealth_medication_dosage", "code")?;
    let mut categories: Vec<&str> = Vec::new();
    for d in DRUGS {
        if !categories.contains(&d.category) {
            categories.push(d.category);
        }
    }
    categories.push("Vaccines");
    let mut category_id = HashMap::new();
    for (i, name) in categories.iter().enumerate() {
        let id = i as i64 + 1;
        insert!(conn, "gnuhealth_medicament_category" {
            "id": id, "create_date": Stamp(clock.tick(dice)), "create_uid": 1, "name": *name,
        })?;
        category_id.insert(*name, id);
    }
    let mut next_product = Seq::starting_after(shipped::PRODUCTS.len() as i64);
    let mut medicament = Seq::default();
    for d in DRUGS {
        let t = Stamp(clock.tick(dice));
        let product_id = next_product.next();
        product(
            conn,
            product_id,
            d.name,
            "goods",
            t,
            1,
            ProductKind::Medicament,
        )?;
        let r = DrugRef {
            medicament: medicament.next(),
            spec: d,
            unit: unit_id(site, d.unit)?,
            form: lookup(&forms, "drug form", d.form)?,
            route: lookup(&routes, "drug route", d.route)?,
            dosage: lookup(&dosages, "dosage", d.dosage)?,
        };
        insert!(conn, "gnuhealth_medicament" {
            "id": r.medicament, "active": true, "active_component": d.component,
            "category": category_id.get(d.category).copied(), "create_date": Stamp(t.0 + TimeDelta::milliseconds(45)),
            "create_uid": 1, "form": r.form, "is_vaccine": false, "pregnancy_category": d.pregnancy,
            "pregnancy_warning": matches!(d.pregnancy, Some("D" | "X")), "product": product_id,
            "route": r.route, "strength": d.strength, "therapeutic_action": d.action,
            "unit": r.unit,
        })?;
        site.refs.drug.insert(d.key, r);
    }
    let ml = unit_id(site, "mL")?;
    for v in VACCINES {
        let t = Stamp(clock.tick(dice));
        let product_id = next_product.next();
        product(
            conn,
            product_id,
            v.name,
            "goods",
            t,
            1,
            ProductKind::Vaccine,
        )?;
        let id = medicament.next();
        let form = lookup(&forms, "drug form", v.form)?;
        let route = lookup(&routes, "drug route", v.route)?;
        insert!(conn, "gnuhealth_medicament" {
            "id": id, "active": true, "active_component": v.component,
            "category": category_id.get("Vaccines").copied(), "create_date": Stamp(t.0 + TimeDelta::milliseconds(45)),
            "create_uid": 1, "form": form, "is_vaccine": true,
            "pregnancy_warning": false, "product": product_id,
            "route": route, "strength": v.ml, "unit": ml,
        })?;
        site.refs.vaccine.insert(v.key, id);
    }
    site.next_product = next_product;
    Ok(())
}

fn unit_id(site: &Site, code: &str) -> GenResult<i64> {
    site.refs
        .dose_unit
        .get(code)
        .copied()
        .ok_or_else(|| GenError::Missing(format!("dose unit {code}")))
}

/// The site's own lab test types (glucose, lipids, thyroid, coagulation, CRP), their
/// service products, extra units and template analytes; and the procedure codes.
fn lab_types(
    conn: &Connection,
    site: &mut Site,
    dice: &mut Dice,
    clock: &mut Clock,
) -> GenResult<()> {
    let mut units = code_ids(conn, "gnuhealth_lab_test_units", "code")?;
    let mut unit_seq = Seq::starting_after(units.values().copied().max().unwrap_or(0));
    for code in clinical::EXTRA_LAB_UNITS {
        let id = unit_seq.next();
        insert!(conn, "gnuhealth_lab_test_units" {
            "id": id, "code": *code, "create_date": Stamp(clock.tick(dice)), "create_uid": 1,
            "name": *code,
        })?;
        units.insert((*code).to_string(), id);
    }
    let mut type_seq = Seq::starting_after(shipped::TEST_TYPES.len() as i64);
    for lt in LAB_TYPES {
        let t = Stamp(clock.tick(dice));
        let product_id = site.next_product.next();
        product(
            conn,
            product_id,
            lt.product,
            "service",
            t,
            1,
            ProductKind::Service,
        )?;
        let id = type_seq.next();
        insert!(conn, "gnuhealth_lab_test_type" {
            "id": id, "active": true, "category": lt.category, "code": lt.code,
            "create_date": t, "create_uid": 1, "max_age": 150.0, "min_age": 0.0,
            "name": lt.name, "product_id": product_id, "report_style": "tbl_h_r_nr",
            "specimen_type": lt.specimen,
        })?;
        let mut templates = Vec::new();
        for (i, a) in lt.analytes.iter().enumerate() {
            let unit = match a.unit {
                Some(u) => Some(lookup(&units, "lab unit", u)?),
                None => None,
            };
            insert!(conn, "gnuhealth_lab_test_critearea" {
                "id": site.ids.critearea.next(), "code": a.code, "create_date": t, "create_uid": 1,
                "excluded": false, "limits_verified": true, "lower_limit": a.lower,
                "name": a.name, "normal_range": a.range, "sequence": i as i64 + 1,
                "test_method": a.method, "test_type_id": id, "to_integer": false,
                "units": unit, "upper_limit": a.upper, "warning": false,
            })?;
            templates.push(TemplateRef {
                code: a.code,
                name: a.name,
                sequence: i as i64 + 1,
                lower: a.lower,
                upper: a.upper,
                units: unit,
                normal_range: a.range,
                method: a.method,
                limits_verified: true,
            });
        }
        site.refs.lab_type.insert(
            lt.code,
            LabTypeRef {
                id,
                specimen: Some(lt.specimen),
                templates,
            },
        );
    }
    for (i, (code, description)) in clinical::PROCEDURES.iter().enumerate() {
        let id = i as i64 + 1;
        insert!(conn, "gnuhealth_procedure" {
            "id": id, "create_date": Stamp(clock.tick(dice)), "create_uid": 1,
            "description": *description, "name": *code,
        })?;
        site.refs.procedure.insert(code, id);
    }
    Ok(())
}

/// `ir_sequence` as GNU Health 5.0 installs it, with the counters the data used.
pub(super) fn write_sequences(conn: &Connection, site: &Site) -> GenResult<()> {
    // id, name, prefix, padding, sequence type, numbers used
    let ids = &site.ids;
    let rows = [
        (1, "Party", None, 0, 1, 0),
        (2, "Patient", Some("PAC"), 3, 4, 0),
        (
            3,
            "Patient Evaluation",
            Some("EVAL ${year}/"),
            6,
            5,
            ids.seq_evaluation.last(),
        ),
        (
            4,
            "Prescription",
            Some("PRES ${year}/"),
            6,
            6,
            ids.seq_prescription.last(),
        ),
        (
            5,
            "Appointment",
            Some("APP ${year}/"),
            0,
            7,
            ids.seq_appointment.last(),
        ),
        (6, "Imaging Test", Some("TEST"), 3, 8, 0),
        (7, "Imaging Test Request", None, 3, 9, 0),
        (8, "Lab Test", Some("TEST"), 3, 10, ids.seq_lab.last()),
        (9, "Lab Request", None, 3, 11, ids.seq_lab_request.last()),
        (
            10,
            "Ambulatory Care",
            Some("AC ${year}/"),
            3,
            12,
            ids.seq_ambulatory.last(),
        ),
        (
            11,
            "Inpatient Registration",
            Some("INPAC"),
            3,
            13,
            ids.seq_inpatient.last(),
        ),
        (12, "Inpatient Meal Order", Some("MEAL"), 3, 14, 0),
        (
            13,
            "Patient Rounding",
            Some("ROUND ${year}/"),
            4,
            15,
            ids.seq_rounding.last(),
        ),
        (
            14,
            "Surgery",
            Some("SRG-${year}-"),
            5,
            16,
            ids.seq_surgery.last(),
        ),
    ];
    for (id, name, prefix, padding, kind, used) in rows {
        let created = Stamp(INSTALLED);
        let (write, uid) = match site.sequence_used.0.get(&id) {
            Some(t) if used > 0 => (Stamp(*t), 1),
            _ => (created, 0),
        };
        insert!(conn, "ir_sequence" {
            "id": id, "active": true, "create_date": created, "create_uid": 0,
            "last_timestamp": 0, "name": name, "number_increment": 1,
            "number_next_internal": used + 1, "padding": padding, "prefix": prefix,
            "sequence_type": kind, "timestamp_offset": 946_681_200.0, "timestamp_rounding": 1.0,
            "type": "incremental", "write_date": write, "write_uid": uid,
        })?;
    }
    Ok(())
}

/// A domiciliary unit's coordinates as trytond stores a Numeric: ASCII in a BLOB.
pub(super) fn coordinate(v: f64) -> Numeric {
    Numeric(format!("{v:.5}"))
}

/// Which origin dominates a city (used for its health professionals' and patients' names).
pub(super) fn origin_weights(city: usize) -> [(Origin, u32); 3] {
    let english = (CITIES[city].english_share * 1000.0) as u32;
    [
        (Origin::English, english),
        (Origin::LatinAmerican, 150),
        (Origin::Spanish, 1000u32.saturating_sub(english + 150)),
    ]
}
