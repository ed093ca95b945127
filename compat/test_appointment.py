"""Appointment, Coverage and RelatedPerson of a running gnuhealth-fhir server,
checked against the ground-truth facts of the real GNU Health database
(compat/export_facts.py, keys "appointments", "insurances" and
"family_members"): every read, and every search parameter of the three
types.

The FHIR side of the mapping is stated here, independently of the server:
appointment states map to R4 statuses (free proposed, confirmed booked,
checked_in arrived, done fulfilled, both cancellations cancelled, no_show
noshow); the start is the appointment date and the end, not stored, is sent
as absent for an unknown reason; the urgency is an iCalendar priority (a 5,
b 3, c 1); a follow-up is v2-0276 FOLLOWUP, a well-person visit CHECKUP. A
Coverage is active, the insured patient its beneficiary, policy holder and
subscriber, the current insurance order 1, a state insurance v3-ActCode
PUBLICPOL. Every other member of a patient's family is a RelatedPerson of
that patient, a v3 family member (FAMMEMB) with the role as text, and a
father, mother, son, daughter, brother or sister where both roles say so.

Environment (as compat/test_search.py):
  FHIR_BASE      server base URL, e.g. http://127.0.0.1:8099   (required)
  FACTS          facts JSON from export_facts.py                  (required)
  FHIR_USER      login      (default fhir_reader)
  FHIR_PASSWORD  password   (default: the known password of FHIR_USER)
  FHIR_TIMEOUT   seconds per HTTP request (default 60)

The module skips itself when FHIR_BASE or FACTS is unset.
"""
import unicodedata

import pytest

from compat_env import (  # noqa: E402
    FACTS, FHIR_BASE, USER, get_json, http, search as search_pages, where,
)

if 'appointments' not in FACTS:
    pytest.skip('facts without "appointments" (older export_facts.py)',
                allow_module_level=True)
APPOINTMENTS = {r['id']: r for r in FACTS['appointments']}
INSURANCES = {r['id']: r for r in FACTS['insurances']}
RELATED = {r['id']: r for r in FACTS['family_members']}

V2_0276 = 'http://terminology.hl7.org/CodeSystem/v2-0276'
STATUS_SYSTEM = 'http://hl7.org/fhir/appointmentstatus'
ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode'
ROLE_CODE = 'http://terminology.hl7.org/CodeSystem/v3-RoleCode'
ABSENT = 'http://hl7.org/fhir/StructureDefinition/data-absent-reason'
STATUS = {None: 'proposed', 'free': 'proposed', 'confirmed': 'booked',
          'checked_in': 'arrived', 'done': 'fulfilled',
          'user_cancelled': 'cancelled', 'center_cancelled': 'cancelled',
          'no_show': 'noshow'}
PRIORITY = {'a': 5, 'b': 3, 'c': 1}
VISIT_TYPE = {'followup': 'FOLLOWUP', 'well_child': 'CHECKUP',
              'well_woman': 'CHECKUP', 'well_man': 'CHECKUP'}
PARENTS = {'father': 'FTH', 'mother': 'MTH'}
CHILDREN = {'son': ('SONC', 'BRO'), 'daughter': ('DAUC', 'SIS')}


def readable(models):
    user = FACTS.get('access', {}).get('users', {}).get(USER)
    if user is None:
        return True
    return all(user['models'].get(m, {}).get('read', False) for m in models)


def field_readable(model, field):
    user = FACTS.get('access', {}).get('users', {}).get(USER)
    if user is None:
        return True
    return user.get('fields', {}).get(model, {}).get(field, True)


needs_appointments = pytest.mark.skipif(
    not readable(['gnuhealth.appointment']),
    reason=f'{USER} may not read appointments')
needs_insurances = pytest.mark.skipif(
    not readable(['gnuhealth.insurance', 'gnuhealth.patient']),
    reason=f'{USER} may not read insurances')
needs_family = pytest.mark.skipif(
    not readable(['gnuhealth.family_member', 'party.party',
                  'gnuhealth.patient']),
    reason=f'{USER} may not read family members')


# ---------------------------------------------------------------------------
# the FHIR side of the mapping, from the facts
# ---------------------------------------------------------------------------
def relation(member):
    """The precise v3 RoleCode of a member towards the patient, or None."""
    mine = (member['role'] or '').strip().lower()
    theirs = (member['patient_role'] or '').strip().lower()
    if theirs in CHILDREN:
        if mine in PARENTS:
            return PARENTS[mine]
        if mine in CHILDREN:
            return CHILDREN[mine][1]
    if theirs in PARENTS and mine in CHILDREN:
        return CHILDREN[mine][0]
    return None


def norm(s):
    s = unicodedata.normalize('NFKD', s or '')
    return ''.join(c for c in s if not unicodedata.combining(c)).casefold()


def search(http, rtype, params):
    """The ids of every match, two a page."""
    return search_pages(http, rtype, params, count='2')


# ---------------------------------------------------------------------------
# Appointment
# ---------------------------------------------------------------------------
@needs_appointments
def test_every_appointment_reads_as_stored(http):
    assert APPOINTMENTS, 'the compat data has appointments'
    assert search(http, 'Appointment', {}) == set(APPOINTMENTS)
    for aid, fact in APPOINTMENTS.items():
        a = get_json(http, f'Appointment/{aid}')
        assert a['resourceType'] == 'Appointment' and a['id'] == aid
        assert a['status'] == STATUS[fact['state']], aid
        assert a['start'] == fact['date'] + 'Z'
        assert 'end' not in a
        assert a['_end']['extension'][0] == {
            'url': ABSENT, 'valueCode': 'unknown'}
        actors = [p['actor']['reference'] for p in a['participant']]
        assert actors == [f"Patient/{fact['patient']}",
                          f"Practitioner/{fact['healthprof']}"]
        assert all(p['status'] == 'accepted' for p in a['participant'])
        assert a['identifier'][0]['value'] == fact['name']
        assert a['identifier'][0]['system'].endswith('/sid/appointment')
        assert a['specialty'][0]['coding'][0]['code'] == fact['specialty']
        service = [c['code'] for s in a.get('serviceType', [])
                   for c in s.get('coding', [])]
        assert service == ([fact['consultation']]
                           if fact['consultation'] else [])
        assert a['priority'] == PRIORITY[fact['urgency']]
        code = VISIT_TYPE.get(fact['visit_type'])
        codes = [c['code'] for c in a['appointmentType'].get('coding', [])]
        assert codes == ([code] if code else [])
        assert a.get('comment') == fact['comments']
    get_json(http, 'Appointment/987654', expect=404)


@needs_appointments
def test_appointment_search_parameters(http):
    patients = {f['patient'] for f in APPOINTMENTS.values()}
    hps = {f['healthprof'] for f in APPOINTMENTS.values()}
    for p in patients:
        expected = where(APPOINTMENTS, lambda f: f['patient'] == p)
        assert search(http, 'Appointment', {'patient': p}) == expected
        assert search(http, 'Appointment',
                      {'actor': f'Patient/{p}'}) == expected
        assert search(http, f'Patient/{p}/Appointment', {}) == expected
    for h in hps:
        expected = where(APPOINTMENTS, lambda f: f['healthprof'] == h)
        assert search(http, 'Appointment', {'practitioner': h}) == expected
        assert search(http, 'Appointment',
                      {'actor': f'Practitioner/{h}'}) == expected
        # an id without a type is any participant's
        assert search(http, 'Appointment', {'actor': h}) == where(
            APPOINTMENTS, lambda f: h in (f['healthprof'], f['patient']))
    for code in sorted(set(STATUS.values())):
        assert search(http, 'Appointment', {
            'status': f'{STATUS_SYSTEM}|{code}'}) == where(
                APPOINTMENTS, lambda f: STATUS[f['state']] == code), code
    # every compat appointment has a patient and a professional
    def part_statuses(f):
        patient = {None: 'needs-action', 'free': 'needs-action',
                   'user_cancelled': 'declined'}.get(f['state'], 'accepted')
        hp = 'declined' if f['state'] == 'center_cancelled' else 'accepted'
        return {patient, hp}
    for code in ('accepted', 'declined', 'needs-action'):
        assert search(http, 'Appointment', {'part-status': code}) == where(
            APPOINTMENTS, lambda f: code in part_statuses(f)), code
    for prefix, day in (('ge', '2025-01-01'), ('lt', '2025-01-01'),
                        ('gt', '2026-06-01')):
        assert search(http, 'Appointment', {'date': prefix + day}) == where(
            APPOINTMENTS,
            lambda f: (f['date'][:10] >= day) if prefix == 'ge' else
            (f['date'][:10] < day) if prefix == 'lt' else
            (f['date'][:10] > day)), prefix + day
    for f in APPOINTMENTS.values():
        assert search(http, 'Appointment', {
            'identifier': f"{FHIR_BASE}/sid/appointment|{f['name']}"}) == {
                f['id']}
    for spec in {f['specialty'] for f in APPOINTMENTS.values()}:
        assert search(http, 'Appointment', {'specialty': spec}) == where(
            APPOINTMENTS, lambda f: f['specialty'] == spec)
    for code in {f['consultation'] for f in APPOINTMENTS.values()} - {None}:
        assert search(http, 'Appointment', {
            'service-type': f'{FHIR_BASE}/CodeSystem/product|{code}'}) == where(
                APPOINTMENTS, lambda f: f['consultation'] == code)
    assert search(http, 'Appointment', {'service-type:missing': 'true'}) == \
        where(APPOINTMENTS, lambda f: f['consultation'] is None)
    for code in ('FOLLOWUP', 'CHECKUP'):
        assert search(http, 'Appointment', {
            'appointment-type': f'{V2_0276}|{code}'}) == where(
                APPOINTMENTS, lambda f: VISIT_TYPE.get(f['visit_type']) == code)
    assert search(http, 'Appointment', {'appointment-type:text': 'well'}) == \
        where(APPOINTMENTS, lambda f: (f['visit_type'] or '').startswith('well'))


# ---------------------------------------------------------------------------
# Coverage
# ---------------------------------------------------------------------------
@needs_insurances
def test_every_insurance_of_a_patient_is_a_coverage(http):
    assert INSURANCES, 'the compat data has an insurance'
    assert search(http, 'Coverage', {}) == set(INSURANCES)
    for cid, fact in INSURANCES.items():
        c = get_json(http, f'Coverage/{cid}')
        assert c['status'] == 'active'
        patient = f"Patient/{fact['patient']}"
        for element in ('beneficiary', 'policyHolder', 'subscriber'):
            assert c[element]['reference'] == patient, element
        assert c['subscriberId'] == fact['number']
        assert c['identifier'][0]['value'] == fact['number']
        assert c['payor'][0]['display'] == fact['insurer']
        assert c['payor'][0]['identifier']['value'] == fact['insurer_ref']
        assert c['period'].get('start') == fact['since']
        assert c['period'].get('end') == fact['exp']
        assert c.get('order') == (1 if fact['current'] else None)
        codes = {x['code'] for x in c['type']['coding']}
        assert fact['type'] in codes
        assert ('PUBLICPOL' in codes) == (fact['type'] == 'state')
        classes = {k['type']['coding'][0]['code']: k
                   for k in c.get('class', [])}
        if fact['plan']:
            assert classes['plan']['name'] == fact['plan']
        if fact['category']:
            assert classes['class']['value'] == fact['category']


@needs_insurances
def test_coverage_search_parameters(http):
    for p in {f['patient'] for f in INSURANCES.values()}:
        expected = where(INSURANCES, lambda f: f['patient'] == p)
        for param in ('patient', 'beneficiary', 'policy-holder',
                      'subscriber'):
            assert search(http, 'Coverage',
                          {param: f'Patient/{p}'}) == expected, param
        assert search(http, f'Patient/{p}/Coverage', {}) == expected
    for f in INSURANCES.values():
        assert search(http, 'Coverage', {
            'identifier': f"{FHIR_BASE}/sid/insurance-number|{f['number']}"
        }) == {f['id']}
    assert search(http, 'Coverage', {'status': 'active'}) == set(INSURANCES)
    assert search(http, 'Coverage', {'status': 'cancelled'}) == set()
    assert search(http, 'Coverage', {'type': f'{ACT_CODE}|PUBLICPOL'}) == \
        where(INSURANCES, lambda f: f['type'] == 'state')
    for t in ('state', 'private', 'labour_union'):
        assert search(http, 'Coverage', {
            'type': f'{FHIR_BASE}/CodeSystem/insurance-type|{t}'}) == where(
                INSURANCES, lambda f: f['type'] == t), t
    # the classes: the plan (by its product's name here, the compat products
    # having no code) and the category
    assert search(http, 'Coverage', {'class-type': 'plan'}) == \
        where(INSURANCES, lambda f: f['plan'])
    assert search(http, 'Coverage', {'class-type': 'class'}) == \
        where(INSURANCES, lambda f: f['category'])
    for f in INSURANCES.values():
        for value in (f['plan'], f['category']):
            if value:
                assert f['id'] in search(http, 'Coverage', {
                    'class-value:exact': value}), value


# ---------------------------------------------------------------------------
# RelatedPerson
# ---------------------------------------------------------------------------
@needs_family
def test_every_other_family_member_is_related(http):
    assert RELATED, 'the compat data has a family'
    assert search(http, 'RelatedPerson', {}) == set(RELATED)
    for rid, fact in RELATED.items():
        r = get_json(http, f'RelatedPerson/{rid}')
        assert r['patient']['reference'] == f"Patient/{fact['patient']}"
        rel = r['relationship']
        assert rel[0]['coding'][0] == {
            'system': ROLE_CODE, 'code': 'FAMMEMB',
            'display': 'family member'}
        assert rel[0].get('text') == fact['role']
        precise = relation(fact)
        assert [c['coding'][0]['code'] for c in rel[1:]] == (
            [precise] if precise else [])
        official = [n for n in r['name'] if n.get('use') == 'official'][0]
        assert official.get('family') == fact['family']
        assert ' '.join(official.get('given', [])) == fact['given']
        assert r.get('gender') == fact['gender']
        # a field the user may not read leaves its element out
        dob = fact['dob'] if field_readable('party.party', 'dob') else None
        assert r.get('birthDate') == dob
        assert r['active'] == fact['active']
        assert r['identifier'][0]['value'] == fact['ref']
    for bad in ('1', 'x-1', '987654-1'):
        get_json(http, f'RelatedPerson/{bad}', expect=404)


@needs_family
def test_related_person_search_parameters(http):
    for p in {f['patient'] for f in RELATED.values()}:
        expected = where(RELATED, lambda f: f['patient'] == p)
        assert search(http, 'RelatedPerson', {'patient': p}) == expected
        assert search(http, f'Patient/{p}/RelatedPerson', {}) == expected
    assert search(http, 'RelatedPerson', {
        'relationship': f'{ROLE_CODE}|FAMMEMB'}) == set(RELATED)
    for code in ('FTH', 'MTH', 'SONC', 'DAUC', 'BRO', 'SIS'):
        assert search(http, 'RelatedPerson', {
            'relationship': f'{ROLE_CODE}|{code}'}) == where(
                RELATED, lambda f: relation(f) == code), code
    for f in RELATED.values():
        assert f['id'] in search(http, 'RelatedPerson',
                                 {'name': f['family']})
        assert search(http, 'RelatedPerson', {'name': f['family']}) >= where(
            RELATED, lambda g: norm(g['family']).startswith(
                norm(f['family'])))
        assert search(http, 'RelatedPerson', {
            'identifier': f"{FHIR_BASE}/sid/puid|{f['ref']}"}) == where(
                RELATED, lambda g: g['ref'] == f['ref'])
        if field_readable('party.party', 'dob'):
            assert search(http, 'RelatedPerson', {'birthdate': f['dob']}) == \
                where(RELATED, lambda g: g['dob'] == f['dob'])
        else:
            get_json(http, 'RelatedPerson', {'birthdate': f['dob']},
                     expect=403)
    for g in ('male', 'female'):
        assert search(http, 'RelatedPerson', {'gender': g}) == where(
            RELATED, lambda f: f['gender'] == g)
    assert search(http, 'RelatedPerson', {'active': 'true'}) == where(
        RELATED, lambda f: f['active'])
    assert any(f['telecom'] for f in RELATED.values())
    assert any(f['cities'] for f in RELATED.values())
    for f in RELATED.values():
        for t in f['telecom']:
            same = where(RELATED, lambda g: t in g['telecom'])
            assert search(http, 'RelatedPerson', {
                'telecom': f"{t['system']}|{t['value']}"}) == same
            if t['system'] in ('phone', 'email'):
                assert search(http, 'RelatedPerson',
                              {t['system']: t['value']}) == where(
                    RELATED, lambda g: any(
                        x['value'] == t['value'] and x['system'] == t['system']
                        for x in g['telecom']))
        for city in f['cities']:
            assert search(http, 'RelatedPerson',
                          {'address-city:exact': city}) == where(
                RELATED, lambda g: city in g['cities'])


@pytest.mark.parametrize('rtype,models', [
    ('Appointment', ['gnuhealth.appointment']),
    ('Coverage', ['gnuhealth.insurance', 'gnuhealth.patient']),
    ('RelatedPerson', ['gnuhealth.family_member', 'party.party',
                       'gnuhealth.patient']),
])
def test_refused_without_model_access(http, rtype, models):
    if readable(models):
        pytest.skip(f'{USER} may read {rtype}')
    get_json(http, rtype, expect=403)
