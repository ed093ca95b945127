//! People: households (who lives together, with consistent surnames and ages), their
//! domiciliary unit, and for each person the party, names, telecoms, identifiers,
//! language and the `gnuhealth_patient` row. Clinical records come from [`super::care`].

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta};
use rusqlite::Connection;
use unicode_normalization::UnicodeNormalization;

use super::care::{self, Flags};
use super::generate::{
    Day, Dice, GenResult, NOW, OPENING, Stamp, add_years, age_on, insert, permute,
};
use super::names::{self, CITIES, Origin};
use super::site::{self, Site};

/// A person's place in the household.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Member {
    Alone,
    Partner1,
    Partner2,
    Parent,
    Child,
    Grandparent,
}

/// A person to create.
pub(super) struct Person {
    pub origin: Origin,
    /// ISO code of the country of citizenship.
    pub country: &'static str,
    pub female: bool,
    /// `party_party.gender` (`m`, `f`, a few `nb`; `u` for unidentified people).
    pub gender: &'static str,
    pub dob: NaiveDate,
    pub given: String,
    pub family: String,
    /// Maiden family name of women who took their husband's (British and Irish custom).
    pub maiden: Option<String>,
    pub member: Member,
    pub married: bool,
    pub unidentified: bool,
    pub mobile: Option<String>,
}

impl Person {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.given, self.family)
    }
}

/// People living at one address.
pub(super) struct Household {
    pub dice: Dice,
    pub city: usize,
    pub homeless: bool,
    pub people: Vec<Person>,
}

/// Plans households one after the other until the requested number of patients.
pub(super) struct Households {
    seed: u64,
    target: u32,
    planned: u32,
    index: u64,
}

impl Households {
    pub fn new(seed: u64, target: u32) -> Self {
        Households {
            seed,
            target,
            planned: 0,
            index: 0,
        }
    }

    pub fn next_household(&mut self) -> Option<Household> {
        if self.planned >= self.target {
            return None;
        }
        self.index += 1;
        let mut dice = Dice::new(self.seed, self.index);
        // The first household holds the showcase patient 1, who must be identified.
        let mut h = plan(&mut dice, self.index > 1);
        h.people.truncate((self.target - self.planned) as usize);
        self.planned += h.people.len() as u32;
        Some(Household {
            dice,
            city: h.city,
            homeless: h.homeless,
            people: h.people,
        })
    }
}

struct Plan {
    city: usize,
    homeless: bool,
    people: Vec<Person>,
}

/// Age (years) of an adult: roughly the adult population of the islands, older for the
/// British and Irish, many of whom are retired there.
fn adult_age(dice: &mut Dice, origin: Origin) -> i64 {
    let decades: &[(i64, u32)] = match origin {
        Origin::English => &[
            (18, 3),
            (30, 6),
            (40, 9),
            (50, 14),
            (60, 22),
            (70, 25),
            (80, 15),
            (90, 3),
        ],
        _ => &[
            (18, 14),
            (30, 15),
            (40, 17),
            (50, 17),
            (60, 15),
            (70, 12),
            (80, 7),
            (90, 2),
        ],
    };
    let start = dice.weighted(decades);
    match start {
        18 => start + dice.int(0, 11),
        // Few people live past 95.
        90 => {
            start
                + dice.weighted(&[
                    (0, 30),
                    (1, 25),
                    (2, 20),
                    (3, 12),
                    (4, 7),
                    (5, 3),
                    (6, 2),
                    (8, 1),
                ])
        }
        _ => start + dice.int(0, 9),
    }
}

fn dob_for_age(dice: &mut Dice, age: i64) -> NaiveDate {
    let today = NOW.date();
    let latest = add_years(today, -(age as i32));
    let earliest = add_years(today, -(age as i32 + 1)) + TimeDelta::days(1);
    dice.date_between(earliest, latest)
}

fn given_name(dice: &mut Dice, origin: Origin, female: bool) -> String {
    let list = match (origin, female) {
        (Origin::Spanish, false) => names::SPANISH_MALE,
        (Origin::Spanish, true) => names::SPANISH_FEMALE,
        (Origin::LatinAmerican, false) => names::LATAM_MALE,
        (Origin::LatinAmerican, true) => names::LATAM_FEMALE,
        (Origin::English, false) => names::ENGLISH_MALE,
        (Origin::English, true) => names::ENGLISH_FEMALE,
    };
    dice.pick(list).to_string()
}

fn surname(dice: &mut Dice, origin: Origin) -> &'static str {
    match origin {
        Origin::Spanish => dice.pick(names::SPANISH_SURNAMES),
        Origin::LatinAmerican => dice.pick(names::LATAM_SURNAMES),
        Origin::English => dice.pick(names::ENGLISH_SURNAMES),
    }
}

/// Both surnames of a Spanish-speaking adult, only one for the English.
fn family_name(dice: &mut Dice, origin: Origin) -> String {
    match origin {
        Origin::English => surname(dice, origin).to_string(),
        _ => format!("{} {}", surname(dice, origin), surname(dice, origin)),
    }
}

fn first_surname(family: &str) -> &str {
    family.split(' ').next().unwrap_or(family)
}

fn mobile(dice: &mut Dice, origin: Origin) -> String {
    let lead = if origin == Origin::English && dice.chance(0.3) {
        // British residents often keep their UK number.
        return format!("+44 7{} {}", dice.digits(3), dice.digits(6));
    } else if dice.chance(0.8) {
        '6'
    } else {
        '7'
    };
    format!(
        "+34 {lead}{} {} {}",
        dice.digits(2),
        dice.digits(3),
        dice.digits(3)
    )
}

fn plan(dice: &mut Dice, may_be_unidentified: bool) -> Plan {
    let weights: Vec<u32> = CITIES.iter().map(|c| c.weight).collect();
    let city = dice.weighted_index(&weights);
    // A few unidentified people, brought in by the emergency services.
    if dice.chance(0.004) && may_be_unidentified {
        let female = dice.chance(0.4);
        let age = dice.int(25, 80);
        // Their age is estimated; GNU Health derives a 1 January birth date from it.
        let dob = NaiveDate::from_ymd_opt(NOW.year() - age as i32, 1, 1).unwrap_or(NOW.date());
        return Plan {
            city,
            homeless: true,
            people: vec![Person {
                origin: Origin::Spanish,
                country: "ES",
                female,
                gender: "u",
                dob,
                given: "Unknown".into(),
                family: if female {
                    "Female".into()
                } else {
                    "Male".into()
                },
                maiden: None,
                member: Member::Alone,
                married: false,
                unidentified: true,
                mobile: None,
            }],
        };
    }
    let origin = dice.weighted(&site::origin_weights(city));
    let country: &'static str = match origin {
        Origin::Spanish => "ES",
        Origin::LatinAmerican => dice.weighted(names::LATAM_COUNTRIES),
        Origin::English => dice.weighted(names::ENGLISH_COUNTRIES),
    };
    let kinds: &[(u8, u32)] = match origin {
        // single, couple, family, single parent, elderly alone, couple with a grandparent
        Origin::English => &[(0, 25), (1, 45), (2, 18), (3, 2), (4, 10), (5, 0)],
        _ => &[(0, 24), (1, 20), (2, 32), (3, 8), (4, 9), (5, 7)],
    };
    let kind = dice.weighted(kinds);
    let mut people = Vec::new();
    let person =
        |dice: &mut Dice, female: bool, age: i64, family: String, member: Member, married: bool| {
            let given = given_name(dice, origin, female);
            let gender = if age >= 16 && dice.chance(0.004) {
                "nb"
            } else if female {
                "f"
            } else {
                "m"
            };
            Person {
                origin,
                country,
                female,
                gender,
                dob: dob_for_age(dice, age),
                given,
                family,
                maiden: None,
                member,
                married,
                unidentified: false,
                mobile: (age >= 14 && dice.chance(if age >= 18 { 0.9 } else { 0.6 }))
                    .then(|| mobile(dice, origin)),
            }
        };
    match kind {
        0 | 4 => {
            let age = if kind == 4 {
                dice.weighted(&[(65, 40), (75, 42), (85, 18)]) + dice.int(0, 9)
            } else {
                adult_age(dice, origin)
            };
            let female = dice.chance(if kind == 4 { 0.68 } else { 0.5 });
            let family = family_name(dice, origin);
            people.push(person(dice, female, age, family, Member::Alone, false));
        }
        1 | 2 | 5 => {
            let age1 = if kind == 2 {
                dice.int(26, 55)
            } else if kind == 5 {
                // Old enough to look after a parent, young enough to have one alive.
                dice.int(35, 62)
            } else {
                adult_age(dice, origin).max(22)
            };
            let age2 = (age1 + dice.int(-6, 6)).clamp(18, 100);
            let married = dice.chance(0.75);
            let f1 = family_name(dice, origin);
            let mut f2 = family_name(dice, origin);
            let mut maiden = None;
            if origin == Origin::English && married {
                // She took his name; her birth name is kept as a maiden name.
                maiden = Some(f2.clone());
                f2 = f1.clone();
            }
            people.push(person(
                dice,
                false,
                age1,
                f1.clone(),
                Member::Partner1,
                married,
            ));
            let mut p2 = person(dice, true, age2, f2.clone(), Member::Partner2, married);
            p2.maiden = maiden;
            people.push(p2);
            if kind == 2 {
                let children = dice.weighted(&[(1i64, 40), (2, 45), (3, 15)]);
                let youngest_parent = age1.min(age2);
                for _ in 0..children {
                    let age = dice.int(0, (youngest_parent - 19).clamp(0, 25));
                    let family = match origin {
                        Origin::English => f1.clone(),
                        _ => format!("{} {}", first_surname(&f1), first_surname(&f2)),
                    };
                    let female = dice.chance(0.49);
                    people.push(person(dice, female, age, family, Member::Child, false));
                }
            }
            if kind == 5 {
                let age = (age1 + dice.int(22, 32)).min(98);
                let family = format!("{} {}", first_surname(&f1), surname(dice, origin));
                people.push(person(dice, true, age, family, Member::Grandparent, false));
            }
        }
        _ => {
            let female = dice.chance(0.82);
            let age = dice.int(24, 55);
            let family = family_name(dice, origin);
            people.push(person(
                dice,
                female,
                age,
                family.clone(),
                Member::Parent,
                false,
            ));
            for _ in 0..dice.int(1, 2) {
                let age = dice.int(0, (age - 19).clamp(0, 20));
                let family = match origin {
                    Origin::English => family.clone(),
                    _ => format!("{} {}", surname(dice, origin), first_surname(&family)),
                };
                let female = dice.chance(0.49);
                people.push(person(dice, female, age, family, Member::Child, false));
            }
        }
    }
    // Parents do not give two children the same name.
    for i in 1..people.len() {
        while people[..i]
            .iter()
            .any(|o| o.given == people[i].given && o.female == people[i].female)
        {
            people[i].given = given_name(dice, origin, people[i].female);
        }
    }
    Plan {
        city,
        homeless: kind == 0 && dice.chance(0.01),
        people,
    }
}

/// Lower-case ASCII letters of `s` (accents stripped), for e-mail addresses.
pub(super) fn ascii_lower(s: &str) -> String {
    s.nfd()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// When patient `id` (of `total`) registered: evenly from [`OPENING`] to a month before
/// [`NOW`], so ids follow registration order as in a real database.
fn registration(dice: &mut Dice, id: i64, total: u32, dob: NaiveDate) -> NaiveDateTime {
    let days = (NOW - TimeDelta::days(30) - OPENING).num_days();
    let total = i64::from(total.max(1));
    // Patient `id` is at fraction (id - 1) / total of the days; within its day, the
    // remainder places it in the desk's opening hours (08:00–19:00), keeping the order.
    let position = (id - 1) * days;
    let day = OPENING.date() + TimeDelta::days(position / total);
    let minute = 8 * 60 + (position % total) * 660 / total;
    let at = day.and_time(chrono::NaiveTime::MIN) + TimeDelta::minutes(minute);
    let at = dice.stamp_after(at, 600);
    let born = dob.and_time(chrono::NaiveTime::MIN);
    if at.date() <= dob {
        // Babies are registered a few days after birth.
        let days = dice.int(1, 20);
        dice.stamp_after(born + TimeDelta::days(days), 8 * 3600)
            .min(NOW - TimeDelta::hours(2))
    } else {
        at
    }
}

/// The Spanish DNI check letter.
fn dni_letter(n: u64) -> char {
    const LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";
    char::from(LETTERS[(n % 23) as usize])
}

/// A DNI number unique to the party (a permutation of 10⁸, keyed apart from PUIDs).
fn dni(seed: u64, party: i64) -> String {
    let n = permute(party.unsigned_abs(), 100_000_000, seed ^ 0xD41_D41);
    format!("{n:08}{}", dni_letter(n))
}

/// A foreigner's NIE (`Y1234567X`).
fn nie(dice: &mut Dice) -> String {
    let prefix = dice.pick(&[('X', 0u64), ('Y', 1), ('Z', 2)]);
    let n: u64 = dice.digits(7).parse().unwrap_or(0);
    format!(
        "{}{:07}{}",
        prefix.0,
        n,
        dni_letter(prefix.1 * 10_000_000 + n)
    )
}

/// The identity document of the country of citizenship.
fn national_id(dice: &mut Dice, country: &str) -> (String, Option<&'static str>) {
    let d = |dice: &mut Dice, n| dice.digits(n);
    match country {
        "VE" => (
            format!("V-{}.{}.{}", dice.int(5, 29), d(dice, 3), d(dice, 3)),
            Some("Venezuelan cédula"),
        ),
        "CO" => (
            format!("1.{}.{}.{}", d(dice, 3), d(dice, 3), d(dice, 3)),
            Some("Colombian cédula de ciudadanía"),
        ),
        "CU" => (d(dice, 11), Some("Cuban carné de identidad")),
        "AR" => (
            format!("DNI {}.{}.{}", dice.int(20, 45), d(dice, 3), d(dice, 3)),
            Some("Argentinian DNI"),
        ),
        "UY" => (
            format!(
                "C.I. {}.{}.{}-{}",
                dice.int(1, 6),
                d(dice, 3),
                d(dice, 3),
                d(dice, 1)
            ),
            Some("Uruguayan cédula"),
        ),
        _ => (d(dice, 9), None),
    }
}

fn passport(dice: &mut Dice, country: &str) -> String {
    match country {
        "GB" => dice.digits(9),
        "IE" => format!("{}{}", dice.letters(2), dice.digits(7)),
        _ => format!("{}{}", dice.letters(3), dice.digits(6)),
    }
}

/// An identity document (`gnuhealth_person_alternative_identification`).
struct AltId {
    kind: &'static str,
    code: String,
    comment: Option<&'static str>,
    /// Label of an `other` type.
    other: Option<&'static str>,
    expires: Option<NaiveDate>,
}

impl AltId {
    fn new(kind: &'static str, code: String) -> Self {
        AltId {
            kind,
            code,
            comment: None,
            other: None,
            expires: None,
        }
    }
}

/// Occupations noted in `general_info`.
const OCCUPATIONS: &[&str] = &[
    "Works as a teacher.",
    "Works as a nurse.",
    "Fisherman.",
    "Works on a banana plantation.",
    "Taxi driver.",
    "Hotel receptionist.",
    "Shop assistant.",
    "Construction worker.",
    "Civil servant.",
    "Cook in a restaurant.",
    "Software developer.",
    "Harbour worker.",
    "Unemployed.",
    "Cleaner.",
    "Lorry driver.",
];

/// Write a household: its domiciliary unit, family group and every member.
pub(super) fn write_household(
    conn: &Connection,
    site: &mut Site,
    mut h: Household,
) -> GenResult<()> {
    let dice = &mut h.dice;
    let city = &CITIES[h.city];
    let first_id = site.ids.patient.last() + 1;
    let first_dob = h.people.first().map_or(NOW.date(), |p| p.dob);
    let registered = registration(dice, first_id, site.patients, first_dob);
    let es = site.refs.country.get("ES").copied();
    let subdivision = site.refs.subdivision.get(city.subdivision).copied();
    let du = if h.homeless {
        None
    } else {
        let id = site.ids.du.next();
        let street = dice.pick(names::STREETS);
        let number = dice.int(1, 180).to_string();
        let apartment = dice.chance(0.55);
        let bis =
            apartment.then(|| format!("{}{}", dice.int(1, 9), dice.pick(&["A", "B", "C", "D"])));
        let district = dice.pick(city.districts);
        let lat = city.lat + dice.uniform(-0.025, 0.025);
        let lon = city.lon + dice.uniform(-0.025, 0.025);
        let zip = dice
            .int(i64::from(city.zip.0), i64::from(city.zip.1))
            .to_string();
        let bedrooms = dice.int(1, 5);
        insert!(conn, "gnuhealth_du" {
            "id": id, "address_city": city.name, "address_country": es,
            "address_district": district, "address_municipality": city.name,
            "address_street": street, "address_street_bis": &bis,
            "address_street_number": &number, "address_subdivision": subdivision,
            "address_zip": &zip, "bathrooms": dice.int(1, bedrooms.min(3)), "bedrooms": bedrooms,
            "create_date": Stamp(registered), "create_uid": 1,
            "dwelling": if apartment { "apartment" } else { dice.pick(&["single_house", "townhouse"]) },
            "electricity": true, "gas": dice.chance(0.2),
            "housing": dice.weighted(&[("1", 15), ("2", 60), ("3", 22), ("4", 3)]),
            "internet": dice.chance(0.85), "latitude": site::coordinate(lat),
            "longitude": site::coordinate(lon), "materials": "concrete",
            "name": format!("DU-{}-{id:06}", city.du_code), "roof_type": "concrete",
            "sewers": true, "telephone": dice.chance(0.5), "television": dice.chance(0.95),
            "total_surface": bedrooms * 25 + dice.int(20, 60), "trash": true,
            "urladdr": format!("http://openstreetmap.org/?mlat={lat:.5}&mlon={lon:.5}"), "water": true,
        })?;
        Some(id)
    };
    let family = if h.people.len() > 1 {
        let id = site.ids.family.next();
        let head = &h.people[0];
        let name = match head.origin {
            Origin::English => format!("{} family", first_surname(&head.family)),
            _ => format!("Familia {}", head.family),
        };
        insert!(conn, "gnuhealth_family" {
            "id": id, "create_date": Stamp(registered), "create_uid": 1,
            "info": format!("Lives in {}", city.name), "name": name,
        })?;
        Some(id)
    } else {
        None
    };
    let landline = (!h.homeless && dice.chance(0.45))
        .then(|| format!("+34 {} {} {}", city.area, dice.digits(3), dice.digits(3)));
    let institution = site.city_institution.get(h.city).copied().unwrap_or(1);
    for i in 0..h.people.len() {
        let p = &h.people[i];
        let id = site.ids.patient.next();
        let registered = if i == 0 {
            registered
        } else {
            registration(dice, id, site.patients, p.dob)
        };
        let party = write_person(
            conn,
            site,
            dice,
            &h.people,
            i,
            du,
            registered,
            landline.as_deref(),
        )?;
        if let Some(f) = family {
            let role = family_role(p);
            insert!(conn, "gnuhealth_family_member" {
                "id": site.ids.family_member.next(), "create_date": Stamp(registered),
                "create_uid": 1, "family": f, "party": party, "role": role,
            })?;
        }
        let age = age_on(p.dob, NOW.date());
        let pcp_role = if age < 14 {
            super::site::Role::Pediatrician
        } else {
            super::site::Role::Gp
        };
        let pcp = site.staff(dice, pcp_role, Some(institution)).id;
        let ctx = care::Patient {
            id,
            party,
            female: p.female,
            dob: p.dob,
            registered,
            pcp,
            institution,
            origin: p.origin,
            born_abroad: p.country != "ES" && age > 2,
            unidentified: p.unidentified,
            du,
            blood: blood_group(dice, p),
            showcase: id == 1,
        };
        let mut flags = care::write_records(conn, site, dice, &ctx)?;
        let mut visits = super::visits::dice(site, id);
        flags.current_insurance = super::visits::write_insurances(conn, site, &mut visits, &ctx)?;
        let done = super::visits::write_appointments(
            conn,
            site,
            &mut visits,
            &ctx,
            flags.current_insurance,
            flags.death,
        )?;
        super::encounters::write_encounters(conn, site, &ctx, &flags.problems, flags.end, &done)?;
        write_patient(conn, dice, &ctx, p, family, &flags, age)?;
    }
    Ok(())
}

/// ABO group and Rh (Spanish frequencies); unknown for some.
fn blood_group(dice: &mut Dice, p: &Person) -> Option<(&'static str, &'static str)> {
    if p.unidentified || dice.chance(0.12) {
        return None;
    }
    let group = dice.weighted(&[("O", 45), ("A", 42), ("B", 10), ("AB", 3)]);
    Some((group, if dice.chance(0.85) { "+" } else { "-" }))
}

fn family_role(p: &Person) -> &'static str {
    match (p.member, p.female) {
        (Member::Partner1 | Member::Parent, false) => "Father",
        (Member::Partner2 | Member::Parent, true) => "Mother",
        (Member::Partner1, true) | (Member::Partner2, false) => "Partner",
        (Member::Child, false) => "Son",
        (Member::Child, true) => "Daughter",
        (Member::Grandparent, _) => "Grandmother",
        (Member::Alone, _) => "Member",
    }
}

/// The party of a person with its official (and other) names, empty address, language,
/// telecoms and alternative identifiers. Returns the party id.
#[allow(clippy::too_many_arguments)]
fn write_person(
    conn: &Connection,
    site: &mut Site,
    dice: &mut Dice,
    people: &[Person],
    index: usize,
    du: Option<i64>,
    t: NaiveDateTime,
    landline: Option<&str>,
) -> GenResult<i64> {
    let p = &people[index];
    let party = site.ids.party.next();
    let age = age_on(p.dob, NOW.date());
    let puid = site::puid(site.seed, party);
    let reference = if p.unidentified {
        format!("NN-{puid}")
    } else {
        puid.clone()
    };
    let marital = if p.married {
        Some(if dice.chance(0.9) { "m" } else { "c" })
    } else if age >= 18 {
        Some(match p.member {
            Member::Alone if age >= 70 => dice.weighted(&[("w", 60), ("s", 20), ("d", 20)]),
            Member::Alone | Member::Parent => dice.weighted(&[("s", 60), ("d", 30), ("x", 10)]),
            Member::Partner1 | Member::Partner2 => "c",
            Member::Grandparent => "w",
            Member::Child => "s",
        })
    } else {
        None
    };
    // Identity documents (decided first: the party records whether it has any).
    let mut ids: Vec<AltId> = Vec::new();
    if !p.unidentified {
        match p.origin {
            Origin::Spanish if age >= 14 || dice.chance(0.3) => {
                ids.push(AltId::new("country_id", dni(site.seed, party)));
            }
            Origin::LatinAmerican if age >= 18 => {
                let (code, comment) = national_id(dice, p.country);
                ids.push(AltId {
                    comment,
                    ..AltId::new("country_id", code)
                });
            }
            _ => {}
        }
        if p.origin != Origin::Spanish && age >= 16 && dice.chance(0.65) {
            ids.push(AltId {
                other: Some("NIE"),
                ..AltId::new("other", nie(dice))
            });
        }
        let passport_chance = if p.origin == Origin::English {
            0.8
        } else {
            0.2
        };
        if age >= 2 && dice.chance(passport_chance) {
            let expires = dice.date_between(
                NOW.date() - TimeDelta::days(400),
                NOW.date() + TimeDelta::days(3650),
            );
            let code = passport(dice, p.country);
            ids.push(AltId {
                expires: Some(expires),
                ..AltId::new("passport", code)
            });
        }
        if dice.chance(0.5) {
            ids.push(AltId::new(
                "medical_record",
                format!("HC-{:07}", 1_000_000 + party),
            ));
        }
    }
    let lang = match p.origin {
        Origin::Spanish => "es",
        Origin::LatinAmerican => "es_419",
        Origin::English => "en",
    };
    let title = if !p.female {
        "Mr"
    } else if p.married {
        "Mrs"
    } else {
        "Miss"
    };
    let prefix = (p.origin == Origin::English && age >= 18 && dice.chance(0.4)).then_some(title);
    insert!(conn, "party_party" {
        "id": party, "active": true, "code": format!("{}-{}", dice.uuid4(), site.company_name),
        "create_date": Stamp(t), "create_uid": 1, "name": &p.given,
        "activation_date": Day(t.date()), "alternative_identification": !ids.is_empty(),
        "citizenship": site.refs.country.get(p.country).copied(), "create_target": true,
        "deceased": false, "dob": Day(p.dob), "du": du, "est_dob": p.unidentified,
        "est_years": p.unidentified.then_some(age), "fed_country": "ESP",
        "federation_account": format!("ESP{puid}"), "gender": p.gender,
        "homeless": du.is_none() && !p.unidentified, "is_healthprof": false,
        "is_institution": false, "is_insurance_company": false, "is_patient": true,
        "is_person": true, "is_pharmacy": false, "lastname": &p.family,
        "marital_status": marital, "name_representation": prefix.map(|_| "pgfs"),
        "ref": &reference, "residence": site.refs.country.get("ES").copied(),
        "unidentified": p.unidentified,
    })?;
    insert!(conn, "gnuhealth_person_name" {
        "id": site.ids.person_name.next(), "create_date": Stamp(t), "create_uid": 1,
        "family": &p.family, "given": &p.given, "party": party, "prefix": prefix,
        "use": "official",
    })?;
    if let Some(nick) = names::NICKNAMES
        .iter()
        .find(|(g, _)| *g == p.given)
        .map(|(_, n)| *n)
        .filter(|_| dice.chance(0.3))
    {
        insert!(conn, "gnuhealth_person_name" {
            "id": site.ids.person_name.next(), "create_date": Stamp(t), "create_uid": 1,
            "given": nick, "party": party, "use": "nickname",
        })?;
    }
    if let Some(maiden) = &p.maiden {
        let wedding = add_years(p.dob, dice.int(22, 35) as i32).min(t.date());
        insert!(conn, "gnuhealth_person_name" {
            "id": site.ids.person_name.next(), "create_date": Stamp(t), "create_uid": 1,
            "date_to": Day(wedding), "family": maiden.as_str(), "given": &p.given, "party": party,
            "use": "maiden",
        })?;
    }
    site::empty_address(conn, site, party, t)?;
    insert!(conn, "party_party_lang" {
        "id": site.ids.party_lang.next(), "create_date": Stamp(t), "create_uid": 1,
        "lang": site.refs.lang.get(lang).copied(), "party": party, "company": 1,
    })?;
    if let Some(phone) = landline.filter(|_| age >= 18) {
        site::contact(conn, site, party, t, "phone", phone, false, None)?;
    }
    if let Some(m) = &p.mobile {
        site::contact(conn, site, party, t, "mobile", m, false, None)?;
    }
    if (16..80).contains(&age) && !p.unidentified && dice.chance(0.55) {
        let domain = dice.pick(&["example.com", "example.org", "example.net"]);
        let number = if dice.chance(0.4) {
            dice.int(1, 99).to_string()
        } else {
            String::new()
        };
        let email = format!(
            "{}.{}{number}@{domain}",
            ascii_lower(p.given.split(' ').next().unwrap_or("x")),
            ascii_lower(first_surname(&p.family)),
        );
        site::contact(conn, site, party, t, "email", &email, false, None)?;
    }
    if let Some((who, phone)) = emergency_contact(dice, people, index) {
        site::contact(conn, site, party, t, "phone", &phone, true, Some(&who))?;
    }
    for a in ids {
        insert!(conn, "gnuhealth_person_alternative_identification" {
            "id": site.ids.alt_id.next(), "alternative_id_type": a.kind, "code": &a.code,
            "comments": a.comment, "create_date": Stamp(t), "create_uid": 1,
            "expiration_date": a.expires.map(Day), "other_alternative_id_type": a.other,
            "party": party,
        })?;
    }
    Ok(party)
}

/// Who to call: a partner or parent living at home, or a relative elsewhere.
fn emergency_contact(dice: &mut Dice, people: &[Person], index: usize) -> Option<(String, String)> {
    let p = &people[index];
    if p.unidentified {
        return None;
    }
    let age = age_on(p.dob, NOW.date());
    let relation = |other: &Person| -> &'static str {
        match (other.member, other.female) {
            (Member::Partner1 | Member::Partner2, true) if p.married => "Wife",
            (Member::Partner1 | Member::Partner2, false) if p.married => "Husband",
            (Member::Partner1 | Member::Partner2, _) => "Partner",
            (Member::Parent, true) => "Mother",
            (Member::Parent, false) => "Father",
            _ => "Relative",
        }
    };
    let candidates: Vec<&Person> = people
        .iter()
        .enumerate()
        .filter(|(i, o)| *i != index && o.mobile.is_some() && o.member != Member::Child)
        .map(|(_, o)| o)
        .collect();
    let chance = if age < 16 {
        0.7
    } else if age >= 70 {
        0.6
    } else {
        0.3
    };
    if !dice.chance(chance) {
        return None;
    }
    if let Some(other) = candidates.first() {
        let who = if age < 18 {
            if other.female { "Mother" } else { "Father" }
        } else {
            relation(other)
        };
        let phone = other.mobile.clone().unwrap_or_default();
        return Some((format!("{who}: {}", other.full_name()), phone));
    }
    if age >= 60 {
        let female = dice.chance(0.5);
        let given = given_name(dice, p.origin, female);
        let family = match p.origin {
            Origin::English => first_surname(&p.family).to_string(),
            _ => format!("{} {}", surname(dice, p.origin), first_surname(&p.family)),
        };
        let who = if female { "Daughter" } else { "Son" };
        return Some((format!("{who}: {given} {family}"), mobile(dice, p.origin)));
    }
    None
}

/// The `gnuhealth_patient` row, with the critical-information flags its conditions set.
#[allow(clippy::too_many_arguments)]
fn write_patient(
    conn: &Connection,
    dice: &mut Dice,
    ctx: &care::Patient,
    p: &Person,
    family: Option<i64>,
    flags: &Flags,
    age: i64,
) -> GenResult<()> {
    let (blood, rh) = (ctx.blood.map(|b| b.0), ctx.blood.map(|b| b.1));
    let adult = age >= 18 && !p.unidentified;
    let smoker = adult && age < 80 && (flags.smoker || dice.chance(0.22));
    let ex_smoker = adult && !smoker && (flags.ex_smoker || dice.chance(0.15));
    let alcohol = adult && (flags.alcohol || dice.chance(0.4));
    let exercise = adult && dice.chance(0.35);
    let general = (adult && age < 67 && dice.chance(0.3)).then(|| dice.pick(OCCUPATIONS));
    let general = general.or_else(|| (age >= 67 && dice.chance(0.2)).then_some("Retired."));
    let t = Stamp(ctx.registered);
    insert!(conn, "gnuhealth_patient" {
        "id": ctx.id, "active": true,
        "biological_sex": if p.female { "f" } else { "m" },
        "blood_type": blood, "create_date": t, "create_uid": 1,
        "crit_allergic": flags.allergic, "crit_cancer": flags.cancer, "crit_cardio": flags.cardio,
        "crit_cognitive": flags.cognitive, "crit_dbt": flags.diabetes, "crit_hbp": flags.hypertension,
        "crit_immuno": false, "crit_mental": flags.mental, "crit_nutrition": false,
        "crit_social": false, "critical_info": flags.critical_info.as_deref(),
        "current_insurance": flags.current_insurance,
        "family": family, "general_info": general, "party": ctx.party,
        "primary_care_doctor": ctx.pcp, "rh": rh,
        "alcohol": alcohol, "alcohol_wine_number": alcohol.then(|| dice.int(1, 3)),
        "car_child_safety": false, "car_revision": false, "car_seat_belt": adult,
        "coffee": adult && dice.chance(0.7), "diet": false, "drug_iv": false,
        "drug_usage": false, "eats_alone": false, "ex_alcoholic": flags.ex_alcoholic,
        "ex_drug_addict": false, "ex_smoker": ex_smoker, "exercise": exercise,
        "exercise_minutes_day": exercise.then(|| dice.int(2, 12) * 5), "helmet": false,
        "home_safety": false, "motorcycle_rider": false, "prostitute": false,
        "salt": false, "second_hand_smoker": false, "sex_with_prostitutes": false,
        "sleep_during_daytime": false, "smoking": smoker,
        "smoking_number": smoker.then(|| dice.int(3, 25)), "soft_drinks": false,
        "traffic_laws": adult,
    })?;
    Ok(())
}
