#!/usr/bin/env python3
"""Export the ground-truth facts a FHIR client can check, from a real GNU
Health 5.0 database, through the Tryton ORM (trytond Pool / Transaction).

Run it with the compat venv's python:

  $GH_VENV/bin/python compat/export_facts.py \\
      --config $GH_TRYTON_SQLITE_CONF --database health --out facts-sqlite.json
  $GH_VENV/bin/python compat/export_facts.py \\
      --config $GH_TRYTON_PG_CONF --database "$GH_PG_URL" --out facts-pg.json

Output (deterministic: no timestamps, sorted keys, records ordered by id):

  {
    "format": 1,
    "resources": {"Patient": [{"id": "1", ...}, ...], "Condition": [...], ...},
    "excluded": {"Condition": [ids of is_allergy rows],
                 "Observation": [ids of test-type template rows]},
    "allergies": [the is_allergy rows of gnuhealth.patient.disease, the
                  AllergyIntolerance resources: {"id", "patient", "code", ...}],
    "security": {"<login>": {"uid": .., "groups": [..],
                             "models": {model: {read, write, create, delete}},
                             "fields": {model: {field: {read, write}}}}},
    "access": {"models": [the models the served types read],
               "users": {"<login>": {
                   "uid": .., "active": .., "groups": [names],
                   "group_ids": [effective group ids, sorted],
                   "models": {model: {"read": bool,
                                      "rule_domain": [..] (ir.rule domain,
                                          [] when no rule applies),
                                      "visible_ids": [ids] | null}},
                   "fields": {model: {field: bool (read)}}}}}
  }

All FHIR ids and references are strings (Procedure ids are "surg-<id>",
"op-<id>" and "pp-<id>"; Location ids "bu-", "unit-", "ward-", "bed-" and
"or-<id>", under the top-level key "locations"; PractitionerRole under
"practitioner_roles"; appointments, the insurances of patients and family
members (RelatedPerson ids "<member id>-<patient id>") under "appointments",
"insurances" and "family_members").  Dates are ISO "YYYY-MM-DD"; datetimes are naive
UTC "YYYY-MM-DDTHH:MM:SS" (what Tryton stores).  "fields" lists only the
fields that have at least one applicable ir.model.field.access row; a field
that is not listed is allowed.

"access" is computed by trytond itself acting as each user (a transaction
of that user with the user's preferences as context, _check_access=True and
active_test=False), for ACCESS_MODELS: "read" is ir.model.access's
check(model, 'read'), every field of ir.model.field is checked with
ir.model.field.access's check(model, [field], 'read'), "rule_domain" is
ir.rule's domain_get(model, 'read') and "visible_ids" the ids of
Model.search([]) (record rules applied; null when the model is not
readable).
"""
import argparse
import datetime as dt
import json
import sys
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

GENDER = {'m': 'male', 'f': 'female', 'nb': 'other', 'other': 'other',
          'nd': 'unknown', 'u': 'unknown', None: None}

# models behind the FHIR resources, for the security facts
SECURITY_MODELS = [
    'gnuhealth.patient', 'party.party', 'gnuhealth.healthprofessional',
    'gnuhealth.institution', 'gnuhealth.patient.disease', 'gnuhealth.lab',
    'gnuhealth.lab.test.critearea', 'gnuhealth.patient.procedure',
    'gnuhealth.surgery', 'gnuhealth.operation',
    'gnuhealth.patient.family.diseases', 'gnuhealth.medicament',
    'gnuhealth.patient.medication', 'gnuhealth.vaccination',
    'gnuhealth.pathology', 'gnuhealth.patient.lab.test',
    'gnuhealth.prescription.line', 'gnuhealth.prescription.order',
    'gnuhealth.patient.evaluation', 'gnuhealth.inpatient.registration',
    'gnuhealth.patient.ambulatory_care', 'gnuhealth.patient.rounding',
    'gnuhealth.appointment', 'gnuhealth.insurance', 'gnuhealth.family_member',
]
SECURITY_USERS = ['admin', 'abetz', 'fhir_reader', 'frontdesk', 'nogroup']

# the Tryton models whose rows or fields the served FHIR types read: those
# of the `models` lists of crates/gnuhealth/src/resources/*.rs, then the
# related models some elements come from; the server's `access` subcommand
# reports exactly these ("access" facts)
ACCESS_MODELS = [
    'gnuhealth.patient', 'party.party', 'gnuhealth.healthprofessional',
    'gnuhealth.institution', 'gnuhealth.patient.disease', 'gnuhealth.lab',
    'gnuhealth.lab.test.critearea', 'gnuhealth.surgery',
    'gnuhealth.operation', 'gnuhealth.patient.procedure',
    'gnuhealth.patient.family.diseases', 'gnuhealth.medicament',
    'product.product', 'product.template', 'gnuhealth.patient.medication',
    'gnuhealth.vaccination',
    # related models
    'party.address', 'party.contact_mechanism', 'party.party.lang',
    'ir.attachment', 'gnuhealth.person_name',
    'gnuhealth.person_alternative_identification', 'gnuhealth.du',
    'gnuhealth.death_certificate', 'gnuhealth.hp_specialty',
    'gnuhealth.patient.lab.test', 'gnuhealth.surgery_team',
    'gnuhealth.surgery.complication', 'gnuhealth.prescription.line',
    'gnuhealth.prescription.order',
    # Location (PractitionerRole reads gnuhealth.healthprofessional,
    # party.party and gnuhealth.hp_specialty, listed above)
    'gnuhealth.hospital.building', 'gnuhealth.hospital.unit',
    'gnuhealth.hospital.ward', 'gnuhealth.hospital.bed',
    'gnuhealth.hospital.or',
    # Encounter and the vital-sign Observations
    'gnuhealth.patient.evaluation', 'gnuhealth.inpatient.registration',
    'gnuhealth.patient.ambulatory_care', 'gnuhealth.patient.rounding',
    'gnuhealth.secondary_condition', 'gnuhealth.diagnostic_hypothesis',
    # Appointment, Coverage, RelatedPerson
    'gnuhealth.appointment', 'gnuhealth.insurance', 'gnuhealth.family_member',
]
ACCESS_USERS = SECURITY_USERS + ['nurse', 'labtech']

TELECOM_SYSTEM = {'phone': 'phone', 'mobile': 'phone', 'fax': 'fax',
                  'email': 'email', 'website': 'url', 'sms': 'sms'}


def iso(v):
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        return v.strftime('%Y-%m-%dT%H:%M:%S')
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    return v


def rid(rec):
    """FHIR id (string) of a Many2One target, or None."""
    return str(rec.id) if rec else None


def official_name(party):
    names = [n for n in party.person_names if n.use == 'official']
    if names:
        n = names[0]
        return n.family, n.given
    return party.lastname, party.name


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--config', required=True, help='trytond config file')
    ap.add_argument('--database', required=True,
                    help='database name, or a sqlite:///name or '
                    'postgresql://user:pw@host:port/name URI')
    ap.add_argument('--out', required=True, help='output JSON file')
    return ap.parse_args()


def main():
    args = parse_args()
    from trytond.config import config
    config.update_etc(args.config)
    dbname = args.database
    if '://' in dbname:
        parts = urlsplit(dbname)
        dbname = parts.path.lstrip('/')
        if parts.scheme != 'sqlite':
            config.set('database', 'uri',
                       urlunsplit((parts.scheme, parts.netloc, '/', '', '')))
    backend = config.get('database', 'uri').split(':', 1)[0]

    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool(dbname)
    pool.init()

    facts = {'format': 1, 'resources': {}, 'excluded': {}, 'security': {}}
    res = facts['resources']

    with Transaction().start(dbname, 0, readonly=True,
                             context={'active_test': False}):
        Company = pool.get('company.company')
        companies = Company.search([], order=[('id', 'ASC')])
    ctx = {'active_test': False}
    if companies:
        ctx['company'] = companies[0].id
        ctx['companies'] = [c.id for c in companies]

    with Transaction().start(dbname, 0, readonly=True, context=ctx):
        res['Patient'] = export_patients(pool)
        res['Practitioner'] = export_practitioners(pool)
        res['Organization'] = export_organizations(pool)
        res['Condition'], facts['excluded']['Condition'] = \
            export_conditions(pool)
        res['Observation'], facts['excluded']['Observation'] = \
            export_observations(pool)
        res['Observation'] += export_vital_signs(pool)
        # own key: the checks of compat/test_encounter.py
        facts['encounters'] = export_encounters(pool)
        res['DiagnosticReport'] = export_reports(pool)
        res['Procedure'] = export_procedures(pool)
        res['FamilyMemberHistory'] = export_family(pool)
        res['Medication'] = export_medications(pool)
        res['MedicationStatement'] = export_statements(pool)
        res['Immunization'] = export_immunizations(pool)
        res['ServiceRequest'] = export_service_requests(pool)
        res['MedicationRequest'] = export_medication_requests(pool)
        facts['allergies'] = export_allergies(pool)
        # own keys: the checks of compat/test_location.py
        facts['locations'] = export_locations(pool)
        facts['practitioner_roles'] = export_practitioner_roles(pool)
        # own keys: the checks of compat/test_appointment.py
        facts['appointments'] = export_appointments(pool)
        facts['insurances'] = export_insurances(pool)
        facts['family_members'] = export_family_members(pool)

        User = pool.get('res.user')
        users = User.search([('login', 'in', SECURITY_USERS)],
                            order=[('id', 'ASC')])
        user_ids = {u.login: (u.id, u.active, sorted(g.name for g in u.groups))
                    for u in users}

    for login in SECURITY_USERS:
        if login not in user_ids:
            continue
        uid, active, groups = user_ids[login]
        facts['security'][login] = export_security(
            pool, dbname, uid, active, groups)

    facts['access'] = export_access(pool, dbname)

    with open(args.out, 'w', encoding='utf-8') as f:
        json.dump(facts, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write('\n')
    counts = ', '.join(f'{k} {len(v)}' for k, v in res.items())
    print(f'{args.out}: backend {backend}, {counts}; '
          f'security for {", ".join(facts["security"])}; '
          f'access for {", ".join(facts["access"]["users"])}')


def export_patients(pool):
    Patient = pool.get('gnuhealth.patient')
    out = []
    for pat in Patient.search([], order=[('id', 'ASC')]):
        party = pat.party
        family, given = official_name(party)
        telecom = []
        for cm in sorted(party.contact_mechanisms,
                         key=lambda c: (c.sequence is not None,
                                        c.sequence or 0, c.id)):
            if not cm.active:
                continue
            telecom.append({'type': cm.type,
                            'system': TELECOM_SYSTEM.get(cm.type, 'other'),
                            'value': cm.value,
                            'emergency': bool(cm.emergency)})
        alt = [{'type': a.alternative_id_type, 'code': a.code}
               for a in sorted(party.alternative_ids, key=lambda a: a.id)]
        names = [{'use': n.use, 'family': n.family, 'given': n.given,
                  'prefix': n.prefix}
                 for n in sorted(party.person_names,
                                 key=lambda n: (n.use != 'official', n.id))]
        # party.address rows (GNU Health creates one empty row per party)
        addresses = [{'city': a.city, 'postal_code': a.postal_code,
                      'is_work': bool(a.is_work)}
                     for a in sorted(party.addresses, key=lambda a: a.id)
                     if a.active and (a.street or a.city or a.postal_code
                                      or a.name)]
        lang = party.lang
        out.append({
            'id': str(pat.id),
            'party_id': party.id,
            'active': bool(pat.active and party.active),
            'family': family,
            'given': given,
            'gender_code': party.gender,
            'gender': GENDER.get(party.gender, 'unknown'),
            'birthDate': iso(party.dob),
            'deceased': bool(party.deceased),
            'deceasedDateTime': iso(party.death_certificate.dod)
            if party.death_certificate else None,
            'puid': party.ref,
            'federation_account': party.federation_account,
            'alternative_ids': alt,
            'telecom': telecom,
            'names': names,
            'addresses': addresses,
            'du_city': party.du.address_city if party.du else None,
            'general_practitioner': rid(pat.primary_care_doctor),
            'language': lang.code if lang else None,
            'unidentified': bool(party.unidentified),
        })
    return out


def export_practitioners(pool):
    HP = pool.get('gnuhealth.healthprofessional')
    out = []
    for hp in HP.search([], order=[('id', 'ASC')]):
        family, given = official_name(hp.party)
        specs = sorted(hp.specialties, key=lambda s: s.id)
        out.append({
            'id': str(hp.id),
            'active': bool(hp.active and hp.party.active),
            'family': family,
            'given': given,
            'licence': hp.code,
            'puid': hp.party.ref,
            'gender': GENDER.get(hp.party.gender, 'unknown'),
            'specialties': [s.specialty.code for s in specs],
            'main_specialty': next((s.specialty.code for s in specs
                                    if s.mainsp), None),
            'institution': rid(hp.institution),
        })
    return out


def export_organizations(pool):
    Institution = pool.get('gnuhealth.institution')
    return [{
        'id': str(i.id),
        'name': i.party.name,
        'code': i.code,
        'institution_type': i.institution_type,
        'active': bool(i.party.active),
        'puid': i.party.ref,
    } for i in Institution.search([], order=[('id', 'ASC')])]


def export_conditions(pool):
    Disease = pool.get('gnuhealth.patient.disease')
    out, allergies = [], []
    for c in Disease.search([], order=[('id', 'ASC')]):
        if c.is_allergy:
            allergies.append(str(c.id))
            continue
        out.append({
            'id': str(c.id),
            'patient': rid(c.patient),
            'code': c.pathology.code,
            'display': c.pathology.name,
            'diagnosed_date': iso(c.diagnosed_date),
            'healed_date': iso(c.healed_date),
            'status': c.status,
            'severity': c.disease_severity,
            'is_active': bool(c.is_active),
            # references for _include=Condition:* (asserter, evidence-detail)
            'asserter': rid(c.healthprof),
            'evidence_report': rid(getattr(c, 'lab_test', None)),
        })
    return out, allergies


def export_allergies(pool):
    """The is_allergy rows of gnuhealth.patient.disease, as stored (the FHIR
    codes they map to are the test's business).  No create/write dates: they
    differ between the two databases."""
    Disease = pool.get('gnuhealth.patient.disease')
    return [{
        'id': str(a.id),
        'patient': rid(a.patient),
        'code': a.pathology.code,
        'display': a.pathology.name,
        'allergy_type': a.allergy_type,
        'severity': a.disease_severity,
        'status': a.status,
        'is_active': bool(a.is_active),
        'healed_date': iso(a.healed_date),
        'diagnosed_date': iso(a.diagnosed_date),
        'healthprof': rid(a.healthprof),
        'short_comment': a.short_comment,
        'extra_info': a.extra_info,
    } for a in Disease.search([('is_allergy', '=', True)],
                              order=[('id', 'ASC')])]


def export_observations(pool):
    Crit = pool.get('gnuhealth.lab.test.critearea')
    out, templates = [], []
    for c in Crit.search([], order=[('id', 'ASC')]):
        if not c.gnuhealth_lab_id:
            templates.append(str(c.id))
            continue
        lab = c.gnuhealth_lab_id
        out.append({
            'id': str(c.id),
            'kind': 'lab',
            'model': 'gnuhealth.lab.test.critearea',
            'patient': rid(lab.patient),
            'lab': str(lab.id),
            'code': c.code,
            'name': c.name,
            'result': c.result,
            'result_text': c.result_text,
            'unit': c.units.name if c.units else None,
            # the lab unit's code, for value-quantity searches with a unit
            'unit_code': c.units.code if c.units else None,
            'lower_limit': c.lower_limit,
            'upper_limit': c.upper_limit,
            'warning': bool(c.warning),
            'excluded': bool(c.excluded),
            'date_analysis': iso(lab.date_analysis),
            'lab_state': lab.state,
        })
    return out, templates


# Vital signs and measurements: (FHIR key, column) of each encounter table,
# and per key (code, name, UCUM unit, unit as written, category), as R4's
# vital-signs profiles and LOINC name them.
EVALUATION_MEASURES = [
    ('temperature', 'temperature'), ('bp', None), ('heart-rate', 'bpm'),
    ('respiratory-rate', 'respiratory_rate'), ('oxygen-saturation', 'osat'),
    ('weight', 'weight'), ('height', 'height'), ('bmi', 'bmi'),
    ('head-circumference', 'head_circumference'),
    ('waist-circumference', 'abdominal_circ'), ('hip-circumference', 'hip'),
    ('waist-hip-ratio', 'whr'), ('body-fat', 'body_fat'),
    ('body-water', 'body_water'), ('body-muscle', 'body_muscle'),
    ('body-bone', 'body_bone'), ('glucose', 'glycemia'), ('hba1c', 'hba1c'),
    ('cholesterol', 'cholesterol_total'), ('hdl', 'hdl'), ('ldl', 'ldl'),
    ('triglycerides', 'tag'), ('gcs', 'loc'), ('gcs-eyes', 'loc_eyes'),
    ('gcs-verbal', 'loc_verbal'), ('gcs-motor', 'loc_motor'),
]
NURSING_MEASURES = [
    ('temperature', 'temperature'), ('bp', None), ('heart-rate', 'bpm'),
    ('respiratory-rate', 'respiratory_rate'), ('oxygen-saturation', 'osat'),
    ('weight', 'weight'), ('glucose', 'glycemia'), ('pain', 'pain_level'),
]
MEASURES = {
    'temperature': ('8310-5', 'Cel', '°C', 'vital-signs'),
    'bp': ('85354-9', 'mm[Hg]', 'mmHg', 'vital-signs'),
    'heart-rate': ('8867-4', '/min', 'beats/min', 'vital-signs'),
    'respiratory-rate': ('9279-1', '/min', 'breaths/min', 'vital-signs'),
    'oxygen-saturation': ('2708-6', '%', '%', 'vital-signs'),
    'weight': ('29463-7', 'kg', 'kg', 'vital-signs'),
    'height': ('8302-2', 'cm', 'cm', 'vital-signs'),
    'bmi': ('39156-5', 'kg/m2', 'kg/m2', 'vital-signs'),
    'head-circumference': ('9843-4', 'cm', 'cm', 'vital-signs'),
    'waist-circumference': ('8280-0', 'cm', 'cm', 'exam'),
    'hip-circumference': ('62409-8', 'cm', 'cm', 'exam'),
    'waist-hip-ratio': ('waist-hip-ratio', '1', 'ratio', 'exam'),
    'body-fat': ('41982-0', '%', '%', 'exam'),
    'body-water': ('body-water', '%', '%', 'exam'),
    'body-muscle': ('body-muscle', '%', '%', 'exam'),
    'body-bone': ('body-bone', '%', '%', 'exam'),
    'glucose': ('2339-0', 'mg/dL', 'mg/dL', 'laboratory'),
    'hba1c': ('59261-8', 'mmol/mol', 'mmol/mol', 'laboratory'),
    'cholesterol': ('2093-3', 'mg/dL', 'mg/dL', 'laboratory'),
    'hdl': ('2085-9', 'mg/dL', 'mg/dL', 'laboratory'),
    'ldl': ('13457-7', 'mg/dL', 'mg/dL', 'laboratory'),
    'triglycerides': ('2571-8', 'mg/dL', 'mg/dL', 'laboratory'),
    'gcs': ('9269-2', '{score}', 'score', 'exam'),
    'gcs-eyes': ('9267-6', '{score}', 'score', 'exam'),
    'gcs-verbal': ('9270-0', '{score}', 'score', 'exam'),
    'gcs-motor': ('9268-4', '{score}', 'score', 'exam'),
    'pain': ('72514-3', '{score}', 'score', 'survey'),
    'urine-output': ('9187-6', 'mL', 'mL', 'exam'),
}


def export_vital_signs(pool):
    """One Observation per measure recorded in an evaluation ("eval-"), a
    nursing session ("amb-") or a nursing round ("rnd-", whose encounter is
    the hospital stay), in the keys of the lab facts (result, unit,
    unit_code, date_analysis = when it was taken) plus their own."""
    out = []

    def number(v):
        if v in (None, ''):
            return None
        return float(v)

    def add(prefix, model, rec, patient, encounter, when, final, measures):
        for key, col in measures:
            code, ucum, unit, category = MEASURES[key]
            sys_ = dia = None
            if key == 'bp':
                sys_, dia = number(rec.systolic), number(rec.diastolic)
                value = None
                if sys_ is None and dia is None:
                    continue
            else:
                value = number(getattr(rec, col))
                if value is None:
                    continue
            out.append({
                'id': f'{prefix}-{rec.id}-{key}', 'kind': 'vital',
                'model': model, 'row': rec.id, 'measure': key,
                'patient': patient, 'encounter': encounter, 'lab': None,
                'code': code, 'name': None, 'result': value,
                'result_text': None, 'unit': unit, 'unit_code': ucum,
                'lower_limit': None, 'upper_limit': None, 'warning': False,
                'excluded': False, 'date_analysis': iso(when),
                'lab_state': None, 'category': category,
                'systolic': sys_, 'diastolic': dia,
                'status': 'final' if final else 'preliminary'})

    Evaluation = pool.get('gnuhealth.patient.evaluation')
    for e in Evaluation.search([], order=[('id', 'ASC')]):
        if e.patient:
            add('eval', 'gnuhealth.patient.evaluation', e, rid(e.patient),
                f'eval-{e.id}', e.evaluation_start,
                e.state in ('done', 'signed'), EVALUATION_MEASURES)
    Session = pool.get('gnuhealth.patient.ambulatory_care')
    for a in Session.search([], order=[('id', 'ASC')]):
        if a.patient:
            add('amb', 'gnuhealth.patient.ambulatory_care', a, rid(a.patient),
                f'amb-{a.id}', a.session_start, a.state == 'done',
                NURSING_MEASURES)
    Round = pool.get('gnuhealth.patient.rounding')
    for d in Round.search([], order=[('id', 'ASC')]):
        stay = d.registration
        if stay and stay.patient:
            add('rnd', 'gnuhealth.patient.rounding', d, rid(stay.patient),
                f'inp-{stay.id}', d.evaluation_start, d.state == 'done',
                NURSING_MEASURES + [('urine-output', 'diuresis')])
    return out


def export_encounters(pool):
    """Evaluations ("eval-"), hospital stays ("inp-") and nursing sessions
    ("amb-") with the FHIR values the server must give them."""
    def code(rec):
        return rec.code if rec else None

    out = []
    Evaluation = pool.get('gnuhealth.patient.evaluation')
    for e in Evaluation.search([], order=[('id', 'ASC')]):
        if not e.patient:
            continue
        out.append({
            'id': f'eval-{e.id}', 'model': 'gnuhealth.patient.evaluation',
            'row': e.id, 'patient': rid(e.patient),
            'identifier': e.code,
            'status': {'in_progress': 'in-progress', 'done': 'finished',
                       'signed': 'finished'}.get(e.state or 'in_progress'),
            'class': {'inpatient': 'IMP', 'homecare': 'HH',
                      'telemedicine': 'VR'}.get(e.evaluation_type, 'AMB'),
            'type': e.visit_type,
            'start': iso(e.evaluation_start),
            'end': iso(e.evaluation_endtime),
            'practitioners': sorted({rid(p) for p in (
                e.healthprof, e.signed_by, e.derived_from, e.derived_to)
                if p}),
            'institution': rid(e.institution),
            'appointment': rid(e.appointment),
            'part_of': f'inp-{e.inpatient_registration_code.id}'
            if e.inpatient_registration_code else None,
            # an allergy is no Condition (R4 allows Condition reasons only)
            'reason_condition': rid(e.related_condition)
            if e.related_condition and not e.related_condition.is_allergy
            else None,
            'location': None,
            'diagnoses': [c for c in [code(e.diagnosis)] + [
                code(s.pathology) for s in e.secondary_conditions] + [
                code(h.pathology) for h in e.diagnostic_hypothesis] if c],
        })
    Stay = pool.get('gnuhealth.inpatient.registration')
    for g in Stay.search([], order=[('id', 'ASC')]):
        if not g.patient:
            continue
        left = g.state in ('done', 'finished')
        out.append({
            'id': f'inp-{g.id}', 'model': 'gnuhealth.inpatient.registration',
            'row': g.id, 'patient': rid(g.patient), 'identifier': g.name,
            'status': {'free': 'planned', 'confirmed': 'planned',
                       'hospitalized': 'in-progress', 'done': 'finished',
                       'finished': 'finished',
                       'cancelled': 'cancelled'}.get(g.state or 'free'),
            'class': 'IMP', 'type': g.admission_type,
            'start': iso(g.hospitalization_date),
            'end': iso(g.discharge_date) if left else None,
            'practitioners': sorted({rid(p) for p in (
                g.attending_physician, g.operating_physician,
                g.discharged_by) if p}),
            'institution': rid(g.institution), 'appointment': None,
            'part_of': None, 'reason_condition': None,
            'location': f'bed-{g.bed.id}' if g.bed else None,
            'diagnoses': [c for c in (code(g.admission_reason),
                                      code(g.discharge_dx)) if c],
        })
    Session = pool.get('gnuhealth.patient.ambulatory_care')
    for a in Session.search([], order=[('id', 'ASC')]):
        if not a.patient:
            continue
        out.append({
            'id': f'amb-{a.id}', 'model': 'gnuhealth.patient.ambulatory_care',
            'row': a.id, 'patient': rid(a.patient), 'identifier': a.name,
            'status': {'draft': 'in-progress',
                       'done': 'finished'}.get(a.state or 'draft'),
            'class': 'AMB', 'type': None,
            'start': iso(a.session_start), 'end': iso(a.session_end),
            'practitioners': sorted({rid(p) for p in (
                a.health_professional, a.ordering_professional, a.signed_by)
                if p}),
            'institution': None, 'appointment': None, 'part_of': None,
            'reason_condition': None, 'location': None,
            'diagnoses': [],
            'reason_code': code(a.base_condition),
        })
    return out


def export_reports(pool):
    Lab = pool.get('gnuhealth.lab')
    Crit = pool.get('gnuhealth.lab.test.critearea')
    out = []
    for lab in Lab.search([], order=[('id', 'ASC')]):
        results = Crit.search([('gnuhealth_lab_id', '=', lab.id)],
                              order=[('id', 'ASC')])
        out.append({
            'id': str(lab.id),
            'patient': rid(lab.patient),
            'test_code': lab.test.code if lab.test else None,
            'test_name': lab.test.name if lab.test else None,
            'state': lab.state,
            'date_analysis': iso(lab.date_analysis),
            'name': lab.name,
            'results': [str(r.id) for r in results],
        })
    return out


def export_procedures(pool):
    out = []
    Surgery = pool.get('gnuhealth.surgery')
    Operation = pool.get('gnuhealth.operation')
    PatProc = pool.get('gnuhealth.patient.procedure')
    for s in Surgery.search([], order=[('id', 'ASC')]):
        proc = s.main_procedure or s.surgical_intervention
        if not proc and s.procedures:
            proc = sorted(s.procedures, key=lambda o: o.id)[0].procedure
        out.append({
            'id': f'surg-{s.id}',
            'kind': 'surgery',
            'model': 'gnuhealth.surgery',
            'patient': rid(s.patient),
            'code': proc.name if proc else None,
            'date': iso(s.surgery_date),
            'end': iso(s.surgery_end_date),
            'state': s.state,
        })
    for o in Operation.search([], order=[('id', 'ASC')]):
        s = o.surgery
        out.append({
            'id': f'op-{o.id}',
            'kind': 'operation',
            'model': 'gnuhealth.operation',
            'patient': rid(s.patient) if s else None,
            'code': o.procedure.name if o.procedure else None,
            'date': iso(s.surgery_date) if s else None,
            'end': iso(s.surgery_end_date) if s else None,
            'state': s.state if s else None,
        })
    for p in PatProc.search([], order=[('id', 'ASC')]):
        out.append({
            'id': f'pp-{p.id}',
            'kind': 'patient_procedure',
            'model': 'gnuhealth.patient.procedure',
            'patient': rid(p.patient),
            'code': p.procedure.name if p.procedure else None,
            'date': iso(p.pdate),
            'end': None,
            'state': None,
            'ctx': p.ctx,
        })
    return out


def export_family(pool):
    Fam = pool.get('gnuhealth.patient.family.diseases')
    return [{
        'id': str(f.id),
        'patient': rid(f.patient),
        'code': f.disease.code,
        'relative': f.relative,
        'xory': f.xory,
    } for f in Fam.search([], order=[('id', 'ASC')])]


def export_medications(pool):
    Med = pool.get('gnuhealth.medicament')
    return [{
        'id': str(m.id),
        'name': m.product.template.name,
        'active_component': m.active_component,
        'form': m.form.code if m.form else None,
        'route': m.route.code if m.route else None,
        'is_vaccine': bool(m.is_vaccine),
        'active': bool(m.active and m.product.active),
    } for m in Med.search([], order=[('id', 'ASC')])]


def export_statements(pool):
    PatMed = pool.get('gnuhealth.patient.medication')
    return [{
        'id': str(m.id),
        'patient': rid(m.patient),
        'medication': rid(m.medicament),
        'start': iso(m.start_treatment),
        'end': iso(m.end_treatment),
        'is_active': bool(m.is_active),
        'discontinued': bool(m.discontinued),
        'course_completed': bool(m.course_completed),
    } for m in PatMed.search([], order=[('id', 'ASC')])]


def export_immunizations(pool):
    Vac = pool.get('gnuhealth.vaccination')
    return [{
        'id': str(v.id),
        'patient': rid(v.patient),
        'vaccine': rid(v.vaccine),
        'date': iso(v.date),
        'dose': v.dose,
        'lot': v.vaccine_lot,
        'state': v.state,
    } for v in Vac.search([], order=[('id', 'ASC')])]


def export_service_requests(pool):
    Request = pool.get('gnuhealth.patient.lab.test')
    out = []
    for r in Request.search([], order=[('id', 'ASC')]):
        out.append({
            'id': str(r.id),
            'patient': rid(r.patient_id),
            'source_type': r.source_type,
            'request': r.request,
            'state': r.state,
            'urgent': bool(r.urgent),
            'test_code': r.test_type.code if r.test_type else None,
            'test_name': r.test_type.name if r.test_type else None,
            'date': iso(r.date),
            'doctor': rid(r.doctor_id),
            'reason': r.context.code if r.context else None,
            'comment': r.comment,
        })
    return out


def export_medication_requests(pool):
    Line = pool.get('gnuhealth.prescription.line')
    out = []
    for ln in Line.search([], order=[('id', 'ASC')]):
        order = ln.name if hasattr(ln, 'name') and not hasattr(ln, 'presc_order') \
            else ln.presc_order
        if not ln.medicament or not order or not order.patient:
            continue
        out.append({
            'id': str(ln.id),
            'patient': rid(order.patient),
            'medicament': rid(ln.medicament),
            'state': order.state,
            'prescription': order.prescription_id,
            'prescriber': rid(order.healthprof),
        })
    return out


def export_locations(pool):
    """The places of the institutions, with their FHIR ids ("bu-", "unit-",
    "ward-", "bed-", "or-" + id) and the FHIR id of the place each is part
    of (a bed its ward; a ward or operating room its building, else its
    unit)."""
    def place(prefix, rec, **kw):
        return dict({
            'id': f'{prefix}-{rec.id}', 'kind': prefix,
            'name': getattr(rec, 'name', None), 'code': None,
            'description': rec.extra_info,
            'institution': rid(rec.institution), 'part_of': None,
            'state': None, 'bed_type': None, 'phone': None}, **kw)

    def parent(rec):
        if rec.building:
            return f'bu-{rec.building.id}'
        if rec.unit:
            return f'unit-{rec.unit.id}'
        return None

    out = []
    for prefix, model in (('bu', 'gnuhealth.hospital.building'),
                          ('unit', 'gnuhealth.hospital.unit')):
        for r in pool.get(model).search([], order=[('id', 'ASC')]):
            out.append(place(prefix, r, code=r.code))
    for r in pool.get('gnuhealth.hospital.ward').search(
            [], order=[('id', 'ASC')]):
        out.append(place('ward', r, part_of=parent(r), state=r.state))
    for r in pool.get('gnuhealth.hospital.bed').search(
            [], order=[('id', 'ASC')]):
        # a bed has no name of its own: its product's name is its rec_name
        out.append(place(
            'bed', r, name=r.product.template.name if r.product else None,
            part_of=f'ward-{r.ward.id}' if r.ward else None, state=r.state,
            bed_type=r.bed_type, phone=r.telephone_number))
    for r in pool.get('gnuhealth.hospital.or').search(
            [], order=[('id', 'ASC')]):
        out.append(place('or', r, part_of=parent(r), state=r.state))
    return out


def export_practitioner_roles(pool):
    """One role per health professional: institution, unit and specialty
    codes (main specialty first, then by id)."""
    HP = pool.get('gnuhealth.healthprofessional')
    out = []
    for hp in HP.search([], order=[('id', 'ASC')]):
        specs = sorted(hp.specialties, key=lambda s: (not s.mainsp, s.id))
        out.append({
            'id': str(hp.id),
            'active': bool(hp.active and hp.party.active),
            'institution': rid(hp.institution),
            'unit': rid(hp.institution_unit),
            'specialties': [s.specialty.code for s in specs],
        })
    return out


def export_appointments(pool):
    """Every appointment with what its FHIR Appointment is made of."""
    out = []
    for a in pool.get('gnuhealth.appointment').search(
            [], order=[('id', 'ASC')]):
        out.append({
            'id': str(a.id), 'name': a.name, 'state': a.state,
            'date': iso(a.appointment_date), 'patient': rid(a.patient),
            'healthprof': rid(a.healthprof),
            'specialty': a.speciality.code if a.speciality else None,
            'consultation': a.consultations.code if a.consultations else None,
            'visit_type': a.visit_type, 'urgency': a.urgency,
            'comments': a.comments,
        })
    return out


def export_insurances(pool):
    """The insurances of parties that are patients: the patient, number,
    type, membership dates, insurer (name and PUID), plan (its product's
    name), category, and whether it is the patient's current insurance."""
    Patient = pool.get('gnuhealth.patient')
    out = []
    for i in pool.get('gnuhealth.insurance').search(
            [], order=[('id', 'ASC')]):
        patients = Patient.search([('party', '=', i.party.id)]) \
            if i.party else []
        if not patients:
            continue
        pt = patients[0]
        out.append({
            'id': str(i.id), 'patient': str(pt.id), 'number': i.number,
            'type': i.insurance_type, 'since': iso(i.member_since),
            'exp': iso(i.member_exp), 'insurer': i.company.name,
            'insurer_ref': i.company.ref,
            'plan': i.plan_id.product.template.name if i.plan_id else None,
            'category': i.category,
            'current': bool(pt.current_insurance
                            and pt.current_insurance.id == i.id),
        })
    return out


def export_family_members(pool):
    """Each family member towards each patient of another member of the same
    family (FHIR id "<member id>-<patient id>"): both roles, and the
    member's person (names, gender, birth date, PUID, active)."""
    Patient = pool.get('gnuhealth.patient')
    out = []
    for m in pool.get('gnuhealth.family_member').search(
            [], order=[('id', 'ASC')]):
        seen = set()
        for o in sorted(m.family.members, key=lambda x: x.id):
            if o.party.id == m.party.id or o.party.id in seen:
                continue
            seen.add(o.party.id)
            for pt in Patient.search([('party', '=', o.party.id)]):
                family, given = official_name(m.party)
                party = m.party
                telecom = [{'system': TELECOM_SYSTEM.get(cm.type, 'other'),
                            'value': cm.value}
                           for cm in sorted(party.contact_mechanisms,
                                            key=lambda c: c.id)
                           if cm.active and not cm.emergency]
                cities = [a.city for a in party.addresses
                          if a.active and a.city]
                if party.du and party.du.address_city:
                    cities.append(party.du.address_city)
                out.append({
                    'id': f'{m.id}-{pt.id}', 'patient': str(pt.id),
                    'role': m.role, 'patient_role': o.role,
                    'family': family, 'given': given,
                    'gender': GENDER.get(m.party.gender),
                    'dob': iso(m.party.dob), 'ref': m.party.ref,
                    'active': bool(m.party.active),
                    'telecom': telecom, 'cities': sorted(set(cities)),
                })
    return out


def export_security(pool, dbname, uid, active, groups):
    from trytond.transaction import Transaction
    with Transaction().start(dbname, uid, readonly=True,
                             context={'_check_access': True}):
        User = pool.get('res.user')
        MA = pool.get('ir.model.access')
        FA = pool.get('ir.model.field.access')
        Group = pool.get('res.group')
        eff = sorted(g.name for g in Group.browse(User.get_groups()))
        models = {}
        fields = {}
        access = MA.get_access(SECURITY_MODELS)
        for model in SECURITY_MODELS:
            models[model] = {k: bool(access[model][k])
                             for k in ('read', 'write', 'create', 'delete')}
            # one model per call: trytond's get_access() shares a dict
            # between the models of one call
            facc = FA.get_access([model])[model]
            real = pool.get(model)._fields
            mf = {f: {'read': bool(a['read']), 'write': bool(a['write'])}
                  for f, a in facc.items() if f in real}
            if mf:
                fields[model] = dict(sorted(mf.items()))
    return {'uid': uid, 'active': bool(active), 'groups': groups,
            'effective_groups': eff, 'models': models, 'fields': fields}


def export_access(pool, dbname):
    """trytond's own read decisions for each user of ACCESS_USERS."""
    from trytond.transaction import Transaction
    with Transaction().start(dbname, 0, readonly=True):
        User = pool.get('res.user')
        ModelField = pool.get('ir.model.field')
        field_names = {
            m: sorted({f.name for f in ModelField.search(
                [('model.model', '=', m)])})
            for m in ACCESS_MODELS}
        users = {u.login: (u.id, u.active, sorted(g.name for g in u.groups))
                 for u in User.search([('login', 'in', ACCESS_USERS)],
                                      order=[('id', 'ASC')])}
    out = {}
    for login in ACCESS_USERS:
        if login not in users:
            continue
        uid, active, groups = users[login]
        with Transaction().start(dbname, uid, readonly=True):
            User = pool.get('res.user')
            # the context a Tryton client of this user works in
            prefs = User.get_preferences(context_only=True)
        ctx = dict(prefs, active_test=False, _check_access=True)
        with Transaction().start(dbname, uid, readonly=True, context=ctx):
            User = pool.get('res.user')
            MA = pool.get('ir.model.access')
            FA = pool.get('ir.model.field.access')
            Rule = pool.get('ir.rule')
            models, fields = {}, {}
            for model in ACCESS_MODELS:
                read = bool(MA.check(model, 'read', raise_exception=False))
                domain = Rule.domain_get(model, 'read')
                visible = None
                if read:
                    Model = pool.get(model)
                    visible = [r.id for r in
                               Model.search([], order=[('id', 'ASC')])]
                models[model] = {
                    'read': read,
                    'rule_domain': json.loads(json.dumps(domain, default=str)),
                    'visible_ids': visible,
                }
                # one field per call: check() answers for the whole list
                fields[model] = {
                    f: bool(FA.check(model, [f], 'read',
                                     raise_exception=False))
                    for f in field_names[model]}
            out[login] = {'uid': uid, 'active': bool(active),
                          'groups': groups,
                          'group_ids': sorted(User.get_groups()),
                          'models': models, 'fields': fields}
    return {'models': ACCESS_MODELS, 'users': out}


if __name__ == '__main__':
    sys.exit(main())
