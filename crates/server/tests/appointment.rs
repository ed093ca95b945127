//! Appointment, Coverage and RelatedPerson on the demo database: reads and every search
//! parameter, compared with SQL written here over GNU Health's tables.

mod common;

use common::{all_ids, get, sorted, sql_ids, sql_text, sql_texts};

async fn search(path: &str) -> Vec<String> {
    let sep = if path.contains('?') { '&' } else { '?' };
    sorted(all_ids(&format!("{path}{sep}_count=13")).await)
}

async fn search_texts(path: &str) -> Vec<String> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut ids = all_ids(&format!("{path}{sep}_count=13")).await;
    ids.sort();
    ids
}

fn appointments(cond: &str) -> Vec<String> {
    sql_ids(&format!(
        "SELECT a.id FROM gnuhealth_appointment a WHERE {cond}"
    ))
}

#[tokio::test]
async fn appointments_read_with_status_start_and_participants() {
    let all = search("/Appointment").await;
    assert!(all.len() > 20, "{all:?}");
    assert_eq!(
        all,
        appointments("a.patient IS NOT NULL OR a.healthprof IS NOT NULL")
    );

    let id =
        sql_text("SELECT CAST(MIN(id) AS TEXT) FROM gnuhealth_appointment WHERE state = 'done'");
    let (status, a) = get(&format!("/Appointment/{id}")).await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["status"], "fulfilled");
    let row = sql_texts(&format!(
        "SELECT a.name || '|' || a.patient || '|' || a.healthprof || '|' || s.code || '|' || \
         replace(a.appointment_date, ' ', 'T') || 'Z' || '|' || a.urgency \
         FROM gnuhealth_appointment a JOIN gnuhealth_specialty s ON s.id = a.speciality \
         WHERE a.id = {id}"
    ));
    let parts: Vec<&str> = row[0].split('|').collect();
    assert_eq!(a["identifier"][0]["value"], parts[0]);
    assert!(
        a["identifier"][0]["system"]
            .as_str()
            .is_some_and(|s| s.ends_with("/sid/appointment"))
    );
    assert_eq!(
        a["participant"][0]["actor"]["reference"],
        format!("Patient/{}", parts[1]).as_str()
    );
    assert_eq!(a["participant"][0]["status"], "accepted");
    assert_eq!(
        a["participant"][1]["actor"]["reference"],
        format!("Practitioner/{}", parts[2]).as_str()
    );
    assert_eq!(a["specialty"][0]["coding"][0]["code"], parts[3]);
    let service = sql_text(&format!(
        "SELECT p.code FROM gnuhealth_appointment a JOIN product_product p ON p.id = a.consultations \
         WHERE a.id = {id}"
    ));
    assert_eq!(a["serviceType"][0]["coding"][0]["code"], service.as_str());
    assert_eq!(a["start"], parts[4]);
    // No end is stored: it is sent as unknown, never made up.
    assert!(a.get("end").is_none());
    assert_eq!(a["_end"]["extension"][0]["valueCode"], "unknown");
    let priority = match parts[5] {
        "a" => 5,
        "b" => 3,
        _ => 1,
    };
    assert_eq!(a["priority"], priority);

    // Who cancelled says which participant declined.
    let id = sql_text(
        "SELECT CAST(MIN(id) AS TEXT) FROM gnuhealth_appointment WHERE state = 'user_cancelled'",
    );
    let (_, a) = get(&format!("/Appointment/{id}")).await;
    assert_eq!(a["status"], "cancelled");
    assert_eq!(a["cancelationReason"]["coding"][0]["code"], "pat");
    assert_eq!(a["participant"][0]["status"], "declined");
    assert_eq!(a["participant"][1]["status"], "accepted");

    let (status, _) = get("/Appointment/999999").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn appointment_status_date_and_identifier() {
    for (code, states) in [
        ("fulfilled", "'done'"),
        ("booked", "'confirmed'"),
        ("noshow", "'no_show'"),
        ("cancelled", "'user_cancelled', 'center_cancelled'"),
        ("proposed", "'free'"),
    ] {
        assert_eq!(
            search(&format!("/Appointment?status={code}")).await,
            appointments(&format!("COALESCE(a.state, 'free') IN ({states})")),
            "{code}"
        );
    }
    assert_eq!(
        search("/Appointment?status=http://hl7.org/fhir/appointmentstatus|booked,noshow").await,
        appointments("a.state IN ('confirmed', 'no_show')")
    );
    assert!(!appointments("a.state = 'confirmed'").is_empty());
    // Participants' statuses: the patient declines what they cancelled and has yet to
    // take up an offered slot; the professional declines what the centre cancelled.
    for (code, cond) in [
        (
            "declined",
            "(a.patient IS NOT NULL AND a.state = 'user_cancelled') \
             OR (a.healthprof IS NOT NULL AND a.state = 'center_cancelled')",
        ),
        (
            "needs-action",
            "a.patient IS NOT NULL AND COALESCE(a.state, 'free') = 'free'",
        ),
    ] {
        let expected = appointments(cond);
        assert!(!expected.is_empty(), "{code}");
        assert_eq!(
            search(&format!("/Appointment?part-status={code}")).await,
            expected,
            "{code}"
        );
    }

    assert_eq!(
        search("/Appointment?date=ge2025-01-01&date=lt2025-07-01").await,
        appointments(
            "a.appointment_date >= '2025-01-01 00:00:00' AND a.appointment_date < '2025-07-01 00:00:00'"
        )
    );
    assert_eq!(
        search("/Appointment?date=gt2026-01-01T09:00:00Z").await,
        appointments("a.appointment_date > '2026-01-01 09:00:00'")
    );

    let name = sql_text(
        "SELECT name FROM gnuhealth_appointment WHERE name IS NOT NULL ORDER BY id DESC LIMIT 1",
    );
    let base = &common::server().base;
    let by_name = search(&format!(
        "/Appointment?identifier={base}/sid/appointment|{}",
        name.replace(' ', "%20").replace('/', "%2F")
    ))
    .await;
    assert_eq!(by_name, appointments(&format!("a.name = '{name}'")));
    assert_eq!(by_name.len(), 1);
}

#[tokio::test]
async fn appointment_participants_search_by_type() {
    let patient = sql_text(
        "SELECT CAST(patient AS TEXT) FROM gnuhealth_appointment GROUP BY patient \
         ORDER BY COUNT(*) DESC, patient LIMIT 1",
    );
    let by_patient = appointments(&format!("a.patient = {patient}"));
    assert_eq!(
        search(&format!("/Appointment?patient={patient}")).await,
        by_patient
    );
    assert_eq!(
        search(&format!("/Appointment?actor=Patient/{patient}")).await,
        by_patient
    );
    assert_eq!(
        search(&format!("/Appointment?actor:Patient={patient}")).await,
        by_patient
    );
    // The patient compartment.
    assert_eq!(
        search(&format!("/Patient/{patient}/Appointment")).await,
        by_patient
    );

    let hp = sql_text(
        "SELECT CAST(healthprof AS TEXT) FROM gnuhealth_appointment GROUP BY healthprof \
         ORDER BY COUNT(*) DESC, healthprof LIMIT 1",
    );
    let by_hp = appointments(&format!("a.healthprof = {hp}"));
    assert_eq!(
        search(&format!("/Appointment?practitioner={hp}")).await,
        by_hp
    );
    assert_eq!(
        search(&format!("/Appointment?actor=Practitioner/{hp}")).await,
        by_hp
    );
    // Without a type, an id is any participant's.
    assert_eq!(
        search(&format!("/Appointment?actor={hp}")).await,
        appointments(&format!("a.healthprof = {hp} OR a.patient = {hp}"))
    );
    // Chains go through the named type only.
    assert_eq!(
        search(&format!("/Appointment?actor:Practitioner._id={hp}")).await,
        by_hp
    );
    let (status, _) = get(&format!("/Appointment?actor._id={hp}")).await;
    assert_eq!(status, 400);

    // Reverse chains follow the path of the type they start from.
    assert_eq!(
        search("/Patient?_has:Appointment:actor:status=noshow").await,
        sql_ids("SELECT DISTINCT patient FROM gnuhealth_appointment WHERE state = 'no_show'")
    );
    assert_eq!(
        search("/Practitioner?_has:Appointment:actor:status=noshow").await,
        sql_ids("SELECT DISTINCT healthprof FROM gnuhealth_appointment WHERE state = 'no_show'")
    );

    // Includes bring the right type.
    let (status, page) = get(&format!(
        "/Appointment?patient={patient}&_include=Appointment:actor:Practitioner&_count=100"
    ))
    .await;
    assert_eq!(status, 200, "{page}");
    let included: Vec<String> = page["entry"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter(|e| e["search"]["mode"] == "include")
                .map(|e| {
                    format!(
                        "{}/{}",
                        e["resource"]["resourceType"].as_str().unwrap_or(""),
                        e["resource"]["id"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let mut expected: Vec<String> = sql_ids(&format!(
        "SELECT DISTINCT healthprof FROM gnuhealth_appointment WHERE patient = {patient}"
    ))
    .into_iter()
    .map(|i| format!("Practitioner/{i}"))
    .collect();
    let mut got = included;
    got.sort();
    expected.sort();
    assert_eq!(got, expected);

    // _revinclude from Practitioner finds them through the practitioner path only.
    let (status, page) = get(&format!(
        "/Practitioner?_id={hp}&_revinclude=Appointment:actor&_count=1000"
    ))
    .await;
    assert_eq!(status, 200, "{page}");
    let mut rev: Vec<String> = page["entry"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter(|e| e["resource"]["resourceType"] == "Appointment")
                .filter_map(|e| e["resource"]["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    rev = sorted(rev);
    assert_eq!(rev, by_hp);
}

#[tokio::test]
async fn appointment_specialty_and_type() {
    assert_eq!(
        search("/Appointment?specialty=FAMILY").await,
        appointments("a.speciality IN (SELECT id FROM gnuhealth_specialty WHERE code = 'FAMILY')")
    );
    assert_eq!(
        search("/Appointment?specialty:text=pediatr").await,
        appointments(
            "a.speciality IN (SELECT id FROM gnuhealth_specialty WHERE lower(name) LIKE 'pediatr%')"
        )
    );
    assert_eq!(
        search(
            "/Appointment?appointment-type=http://terminology.hl7.org/CodeSystem/v2-0276|FOLLOWUP"
        )
        .await,
        appointments("a.visit_type = 'followup'")
    );
    let base = &common::server().base;
    assert_eq!(
        search(&format!(
            "/Appointment?service-type={base}/CodeSystem/product|CONS-NURS"
        ))
        .await,
        appointments(
            "a.consultations IN (SELECT id FROM product_product WHERE code = 'CONS-NURS')"
        )
    );
    assert!(!appointments("a.consultations IS NOT NULL").is_empty());
    assert_eq!(
        search("/Appointment?service-type:text=specialist").await,
        appointments(
            "a.consultations IN (SELECT p.id FROM product_product p \
             JOIN product_template t ON t.id = p.template WHERE t.name LIKE 'Specialist%')"
        )
    );
    assert_eq!(
        search("/Appointment?appointment-type=CHECKUP").await,
        appointments("a.visit_type LIKE 'well_%'")
    );
    assert_eq!(
        search("/Appointment?appointment-type:text=new").await,
        appointments("a.visit_type = 'new'")
    );
    assert!(!appointments("a.visit_type = 'new'").is_empty());
}

fn coverages(cond: &str) -> Vec<String> {
    sql_ids(&format!(
        "SELECT i.id FROM gnuhealth_insurance i JOIN gnuhealth_patient pt ON pt.party = i.party \
         WHERE {cond}"
    ))
}

#[tokio::test]
async fn coverages_of_patients() {
    let all = search("/Coverage").await;
    assert!(all.len() > 20, "{all:?}");
    assert_eq!(all, coverages("1 = 1"));
    assert_eq!(search("/Coverage?status=active").await, all);
    assert!(search("/Coverage?status=cancelled").await.is_empty());

    let (id, patient) = {
        let row = sql_text(
            "SELECT i.id || '|' || pt.id FROM gnuhealth_patient pt \
             JOIN gnuhealth_insurance i ON i.id = pt.current_insurance \
             WHERE i.insurance_type = 'state' ORDER BY pt.id LIMIT 1",
        );
        let (a, b) = row.split_once('|').unwrap();
        (a.to_owned(), b.to_owned())
    };
    let (status, c) = get(&format!("/Coverage/{id}")).await;
    assert_eq!(status, 200, "{c}");
    let reference = format!("Patient/{patient}");
    for element in ["beneficiary", "policyHolder", "subscriber"] {
        assert_eq!(c[element]["reference"], reference.as_str(), "{element}");
    }
    assert_eq!(c["order"], 1);
    assert_eq!(c["status"], "active");
    let number = sql_text(&format!(
        "SELECT number FROM gnuhealth_insurance WHERE id = {id}"
    ));
    assert_eq!(c["subscriberId"], number.as_str());
    assert_eq!(c["identifier"][0]["value"], number.as_str());
    assert_eq!(c["type"]["coding"][1]["code"], "PUBLICPOL");
    let insurer = sql_text(&format!(
        "SELECT p.name FROM gnuhealth_insurance i JOIN party_party p ON p.id = i.company WHERE i.id = {id}"
    ));
    assert_eq!(c["payor"][0]["display"], insurer.as_str());
    let plan = sql_text(&format!(
        "SELECT t.name FROM gnuhealth_insurance i JOIN gnuhealth_insurance_plan pl ON pl.id = i.plan_id \
         JOIN product_product pp ON pp.id = pl.product JOIN product_template t ON t.id = pp.template \
         WHERE i.id = {id}"
    ));
    assert_eq!(c["class"][0]["name"], plan.as_str());
    let since = sql_text(&format!(
        "SELECT member_since FROM gnuhealth_insurance WHERE id = {id}"
    ));
    assert_eq!(c["period"]["start"], since.as_str());

    let of_patient = coverages(&format!("pt.id = {patient}"));
    for param in ["patient", "beneficiary", "policy-holder", "subscriber"] {
        assert_eq!(
            search(&format!("/Coverage?{param}=Patient/{patient}")).await,
            of_patient,
            "{param}"
        );
    }
    assert_eq!(
        search(&format!("/Patient/{patient}/Coverage")).await,
        of_patient
    );

    // Classes: the plan (its product's code, else name) and the category.
    let value = sql_text(&format!(
        "SELECT COALESCE(pp.code, t.name) FROM gnuhealth_insurance i \
         JOIN gnuhealth_insurance_plan pl ON pl.id = i.plan_id \
         JOIN product_product pp ON pp.id = pl.product JOIN product_template t ON t.id = pp.template \
         WHERE i.id = {id}"
    ));
    assert!(
        search(&format!("/Coverage?class-value:exact={value}"))
            .await
            .contains(&id)
    );
    assert_eq!(
        search("/Coverage?class-type=plan").await,
        coverages("i.plan_id IS NOT NULL")
    );
    assert_eq!(
        search("/Coverage?class-type=class").await,
        coverages("i.category IS NOT NULL AND i.category <> ''")
    );

    let base = &common::server().base;
    assert_eq!(
        search(&format!(
            "/Coverage?identifier={base}/sid/insurance-number|{number}"
        ))
        .await,
        vec![id.clone()]
    );
    assert_eq!(
        search("/Coverage?type=http://terminology.hl7.org/CodeSystem/v3-ActCode|PUBLICPOL").await,
        coverages("i.insurance_type = 'state'")
    );
    assert_eq!(
        search(&format!(
            "/Coverage?type={base}/CodeSystem/insurance-type|private"
        ))
        .await,
        coverages("i.insurance_type = 'private'")
    );
    assert!(!coverages("i.insurance_type = 'private'").is_empty());
    // A private insurance that expired is still a record in force: its period says so.
    let expired = coverages("i.member_exp <= '2026-01-01'");
    assert!(!expired.is_empty());
    let (_, c) = get(&format!("/Coverage/{}", expired[0])).await;
    assert!(c.get("order").is_none());
    assert!(
        c["period"]["end"]
            .as_str()
            .is_some_and(|e| e <= "2026-01-01")
    );
}

/// `<member id>-<patient id>` of every member and each patient of its family.
fn related(cond: &str) -> Vec<String> {
    sql_texts(&format!(
        "SELECT DISTINCT m.id || '-' || pt.id FROM gnuhealth_family_member m \
         JOIN party_party p ON p.id = m.party \
         JOIN gnuhealth_family_member o ON o.family = m.family AND o.party != m.party \
         JOIN gnuhealth_patient pt ON pt.party = o.party WHERE {cond}"
    ))
}

#[tokio::test]
async fn related_people_are_the_other_family_members() {
    let all = search_texts("/RelatedPerson").await;
    assert!(all.len() > 10, "{all:?}");
    assert_eq!(all, related("1 = 1"));

    // A child and a parent of the same family.
    let row = sql_text(
        "SELECT m.id || '|' || pt.id || '|' || m.party FROM gnuhealth_family_member m \
         JOIN gnuhealth_family_member o ON o.family = m.family AND o.party != m.party \
         JOIN gnuhealth_patient pt ON pt.party = o.party \
         WHERE m.role = 'Mother' AND o.role IN ('Son', 'Daughter') ORDER BY m.id LIMIT 1",
    );
    let parts: Vec<&str> = row.split('|').collect();
    let id = format!("{}-{}", parts[0], parts[1]);
    let (status, r) = get(&format!("/RelatedPerson/{id}")).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        r["patient"]["reference"],
        format!("Patient/{}", parts[1]).as_str()
    );
    assert_eq!(r["relationship"][0]["coding"][0]["code"], "FAMMEMB");
    assert_eq!(r["relationship"][0]["text"], "Mother");
    assert_eq!(r["relationship"][1]["coding"][0]["code"], "MTH");
    let (family, dob) = {
        let row = sql_text(&format!(
            "SELECT lastname || '|' || dob FROM party_party WHERE id = {}",
            parts[2]
        ));
        let (a, b) = row.split_once('|').unwrap();
        (a.to_owned(), b.to_owned())
    };
    assert_eq!(r["name"][0]["family"], family.as_str());
    assert_eq!(r["birthDate"], dob.as_str());
    assert_eq!(r["gender"], "female");

    for bad in ["1", "x-1", "1-x", "999999-1"] {
        let (status, _) = get(&format!("/RelatedPerson/{bad}")).await;
        assert_eq!(status, 404, "{bad}");
    }

    let patient = parts[1];
    let of_patient = related(&format!("pt.id = {patient}"));
    assert_eq!(
        search_texts(&format!("/RelatedPerson?patient={patient}")).await,
        of_patient
    );
    assert_eq!(
        search_texts(&format!("/Patient/{patient}/RelatedPerson")).await,
        of_patient
    );
}

#[tokio::test]
async fn related_person_parameters() {
    assert_eq!(
        search_texts("/RelatedPerson?relationship=FAMMEMB").await,
        related("1 = 1")
    );
    let v3 = "http://terminology.hl7.org/CodeSystem/v3-RoleCode";
    for (code, member, patient) in [
        ("FTH", "'Father'", "'Son', 'Daughter'"),
        ("MTH", "'Mother'", "'Son', 'Daughter'"),
        ("SONC", "'Son'", "'Father', 'Mother'"),
        ("DAUC", "'Daughter'", "'Father', 'Mother'"),
        ("BRO", "'Son'", "'Son', 'Daughter'"),
        ("SIS", "'Daughter'", "'Son', 'Daughter'"),
    ] {
        assert_eq!(
            search_texts(&format!("/RelatedPerson?relationship={v3}|{code}")).await,
            related(&format!("m.role IN ({member}) AND o.role IN ({patient})")),
            "{code}"
        );
    }
    assert!(!related("m.role = 'Son' AND o.role = 'Mother'").is_empty());
    assert_eq!(
        search_texts("/RelatedPerson?relationship:text=grandm").await,
        related("m.role = 'Grandmother'")
    );
    assert_eq!(
        search_texts("/RelatedPerson?gender=female").await,
        related("p.gender = 'f'")
    );
    assert_eq!(
        search_texts("/RelatedPerson?birthdate=lt1980").await,
        related("p.dob < '1980-01-01'")
    );
    assert_eq!(
        search_texts("/RelatedPerson?active=true").await,
        related("p.active = 1")
    );

    let family = sql_text(
        "SELECT p.lastname FROM gnuhealth_family_member m JOIN party_party p ON p.id = m.party \
         ORDER BY m.id DESC LIMIT 1",
    );
    let f = family.replace('\'', "''");
    assert_eq!(
        search_texts(&format!(
            "/RelatedPerson?name:exact={}",
            family.replace(' ', "%20")
        ))
        .await,
        related(&format!(
            "p.lastname = '{f}' OR EXISTS (SELECT 1 FROM gnuhealth_person_name n \
             WHERE n.party = p.id AND n.family = '{f}')"
        ))
    );

    let puid = sql_text(
        "SELECT p.ref FROM gnuhealth_family_member m JOIN party_party p ON p.id = m.party \
         ORDER BY m.id LIMIT 1",
    );
    let base = &common::server().base;
    assert_eq!(
        search_texts(&format!("/RelatedPerson?identifier={base}/sid/puid|{puid}")).await,
        related(&format!("p.ref = '{puid}'"))
    );

    let mobile = sql_text(
        "SELECT cm.value FROM gnuhealth_family_member m \
         JOIN party_contact_mechanism cm ON cm.party = m.party \
         WHERE cm.type = 'mobile' AND cm.emergency = 0 ORDER BY m.id LIMIT 1",
    );
    let encoded = mobile.replace('+', "%2B").replace(' ', "%20");
    let by_phone = related(&format!(
        "EXISTS (SELECT 1 FROM party_contact_mechanism cm WHERE cm.party = p.id \
         AND cm.value = '{mobile}' AND cm.active = 1 AND cm.emergency = 0)"
    ));
    assert_eq!(
        search_texts(&format!("/RelatedPerson?phone={encoded}")).await,
        by_phone
    );
    assert_eq!(
        search_texts(&format!("/RelatedPerson?telecom={encoded}")).await,
        by_phone
    );
    let email = sql_text(
        "SELECT cm.value FROM gnuhealth_family_member m \
         JOIN party_contact_mechanism cm ON cm.party = m.party WHERE cm.type = 'email' \
         ORDER BY m.id LIMIT 1",
    );
    assert_eq!(
        search_texts(&format!("/RelatedPerson?email={email}")).await,
        related(&format!(
            "EXISTS (SELECT 1 FROM party_contact_mechanism cm WHERE cm.party = p.id \
             AND cm.value = '{email}')"
        ))
    );
    let city = sql_text(
        "SELECT du.address_city FROM gnuhealth_family_member m JOIN party_party p ON p.id = m.party \
         JOIN gnuhealth_du du ON du.id = p.du ORDER BY m.id LIMIT 1",
    );
    let c = city.replace('\'', "''");
    assert_eq!(
        search_texts(&format!(
            "/RelatedPerson?address-city:exact={}",
            city.replace(' ', "%20")
        ))
        .await,
        related(&format!(
            "p.du IN (SELECT id FROM gnuhealth_du WHERE address_city = '{c}') \
             OR EXISTS (SELECT 1 FROM party_address pa WHERE pa.party = p.id AND pa.city = '{c}')"
        ))
    );
}
