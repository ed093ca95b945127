"""Patient/[id]/$everything against the facts exported through the Tryton ORM:
for every patient, the matches over all pages are exactly the patient and the
facts' resources of that patient (conditions, allergies, lab reports and their
results, vital signs, encounters, procedures, family history, medication
statements, vaccinations, lab requests, prescription lines), each once; the
included resources are what the matches refer to outside the compartment,
every one known to the facts (the patient's general practitioner, the
medicaments and prescribers); POST with a Parameters body, _type and _count
paging agree; users with fewer rights get what the facts say they may read,
and an outcome naming the types refused to them.

Environment as compat/test_fhir.py (FHIR_BASE, FACTS, FHIR_USER, ...); the
module skips itself when FHIR_BASE or FACTS is unset.
"""
from urllib.parse import urljoin

import pytest
import requests

from compat_env import (  # noqa: E402
    FACTS, FHIR_BASE, KNOWN_PASSWORDS, PASSWORD, TIMEOUT, USER,
    model_readable, visible_resources,
)

RES = FACTS['resources']
FHIR_JSON = 'application/fhir+json'

# The compartment types of the facts.
COMPARTMENT = ['Condition', 'Observation', 'DiagnosticReport', 'Procedure',
               'FamilyMemberHistory', 'MedicationStatement', 'Immunization',
               'ServiceRequest', 'MedicationRequest', 'AllergyIntolerance',
               'Encounter', 'Appointment', 'Coverage', 'RelatedPerson']

# the models behind the types kept under their own facts keys
OWN_KEYS = {'Appointment': ('appointments', 'gnuhealth.appointment'),
            'Coverage': ('insurances', 'gnuhealth.insurance'),
            'RelatedPerson': ('family_members', 'gnuhealth.family_member')}


def compartment_facts(login):
    """type -> the records (each with 'patient') `login` gets: Observation and
    Encounter gather rows of several models, each served to the users who may
    read its own."""
    res = visible_resources(login)
    out = {t: res[t] for t in COMPARTMENT if t in res}
    out['AllergyIntolerance'] = FACTS['allergies']
    out['Encounter'] = [e for e in FACTS['encounters']
                        if model_readable(login, e['model'])]
    for t, (key, model) in OWN_KEYS.items():
        out[t] = FACTS.get(key, []) if model_readable(login, model) else []
    return out

# Resources outside the compartment, by type: the ids the facts know.
OUTSIDE = {
    'Practitioner': {r['id'] for r in RES['Practitioner']},
    'Organization': {r['id'] for r in RES['Organization']},
    'Medication': {r['id'] for r in RES['Medication']},
    'Location': {r['id'] for r in FACTS.get('locations', [])},
}


def session(login, password):
    s = requests.Session()
    s.auth = (login, password)
    s.headers['Accept'] = FHIR_JSON
    return s


@pytest.fixture(scope='module')
def http():
    s = session(USER, PASSWORD)
    yield s
    s.close()


def get(http, path, expect=200, **kw):
    url = path if path.startswith('http') else f'{FHIR_BASE}/{path}'
    r = http.get(url, timeout=TIMEOUT, **kw)
    assert r.status_code == expect, f'GET {r.url} -> {r.status_code}: {r.text[:500]}'
    return r.json()


def pages(http, path, params=None):
    """Every page of an $everything, following link 'next'."""
    b = get(http, path, params=params)
    out = [b]
    while True:
        assert b['resourceType'] == 'Bundle' and b['type'] == 'searchset', b
        nxt = next((lk['url'] for lk in b.get('link', [])
                    if lk['relation'] == 'next'), None)
        if not nxt:
            return out
        b = get(http, urljoin(FHIR_BASE + '/', nxt))
        out.append(b)
        assert len(out) < 500, 'paging does not end'


def entries(bundles, mode):
    return [(e['resource']['resourceType'], e['resource']['id'])
            for b in bundles for e in b.get('entry', [])
            if e['search']['mode'] == mode]


def references(value, out):
    if isinstance(value, dict):
        ref = value.get('reference')
        if isinstance(ref, str) and '/' in ref:
            t, i = ref.split('/', 1)
            out.add((t, i))
        for v in value.values():
            references(v, out)
    elif isinstance(value, list):
        for v in value:
            references(v, out)


def expected(patient, types=None, login=USER):
    """The patient's record in the facts as `login` gets it: (type, id) of
    every match, of `types` only if given."""
    out = {('Patient', patient)} if types is None or 'Patient' in types else set()
    for t, records in compartment_facts(login).items():
        if types is not None and t not in types:
            continue
        out |= {(t, r['id']) for r in records if r['patient'] == patient}
    return out


def searchable(http):
    """The compartment types this user may search (the server's decision, which
    compat/test_access.py checks against trytond's)."""
    p = RES['Patient'][0]['id']
    return {t for t in ['Patient', *COMPARTMENT]
            if http.get(f'{FHIR_BASE}/Patient/{p}/{t}', params={'_count': '1'},
                        timeout=TIMEOUT).status_code == 200}


@pytest.mark.parametrize('patient', [p['id'] for p in RES['Patient']])
def test_everything_is_the_patients_record(http, patient):
    types = searchable(http)
    if 'Patient' not in types:
        pytest.skip(f'{USER} may not read patients')
    bundles = pages(http, f'Patient/{patient}/$everything', {'_count': '3'})
    matches = entries(bundles, 'match')
    assert len(matches) == len(set(matches)), f'a resource twice: {matches}'
    assert matches[0] == ('Patient', patient)
    assert set(matches) == expected(patient, types)
    for b in bundles:
        assert b['total'] == len(matches)
        # each page: what its resources refer to outside the compartment, each
        # once, all known to the facts
        referred = set()
        for e in b.get('entry', []):
            references(e['resource'], referred)
        wanted = {(t, i) for t, i in referred if t in OUTSIDE}
        included = [(e['resource']['resourceType'], e['resource']['id'])
                    for e in b.get('entry', [])
                    if e['search']['mode'] == 'include']
        assert len(included) == len(set(included)), included
        if {'Practitioner', 'Organization', 'Medication', 'Location'} <= \
                readable_outside(http):
            assert set(included) == wanted
        for t, i in included:
            assert i in OUTSIDE[t], f'{t}/{i} is not in the facts'
    left_out = set(COMPARTMENT) - types
    outcome = [e['resource'] for b in bundles for e in b.get('entry', [])
               if e['search']['mode'] == 'outcome']
    if left_out:
        said = str(outcome)
        assert all(t in said for t in left_out), (left_out, said)


@pytest.mark.parametrize('patient', [p['id'] for p in RES['Patient']])
def test_referred_practitioners_and_medications(http, patient):
    types = searchable(http)
    if 'Patient' not in types:
        pytest.skip(f'{USER} may not read patients')
    included = set(entries(pages(http, f'Patient/{patient}/$everything',
                                 {'_count': '1000'}), 'include'))
    facts = next(p for p in RES['Patient'] if p['id'] == patient)
    want = set()
    if facts['general_practitioner'] and 'Practitioner' in readable_outside(http):
        want.add(('Practitioner', facts['general_practitioner']))
    if 'Medication' in readable_outside(http):
        if 'MedicationStatement' in types:
            want |= {('Medication', s['medication'])
                     for s in RES['MedicationStatement']
                     if s['patient'] == patient and s['medication']}
        if 'MedicationRequest' in types:
            want |= {('Medication', r['medicament'])
                     for r in RES['MedicationRequest']
                     if r['patient'] == patient}
    if 'MedicationRequest' in types and 'Practitioner' in readable_outside(http):
        want |= {('Practitioner', r['prescriber'])
                 for r in RES['MedicationRequest']
                 if r['patient'] == patient and r['prescriber']}
    assert want <= included, want - included


_OUTSIDE_READABLE = {}


def readable_outside(http):
    key = http.auth[0]
    if key not in _OUTSIDE_READABLE:
        _OUTSIDE_READABLE[key] = {
            t for t in OUTSIDE
            if http.get(f'{FHIR_BASE}/{t}', params={'_count': '1'},
                        timeout=TIMEOUT).status_code == 200}
    return _OUTSIDE_READABLE[key]


def test_type_post_and_paging_agree(http):
    if 'Patient' not in searchable(http):
        pytest.skip(f'{USER} may not read patients')
    patient = max(RES['Patient'], key=lambda p: len(expected(p['id'])))['id']
    want = expected(patient, searchable(http))
    one_by_one = entries(pages(http, f'Patient/{patient}/$everything',
                               {'_count': '1'}), 'match')
    assert len(one_by_one) == len(want) and set(one_by_one) == want
    only = {'Condition', 'Immunization'} & searchable(http)
    if only:
        got = entries(pages(http, f'Patient/{patient}/$everything',
                            {'_type': ','.join(sorted(only))}), 'match')
        assert set(got) == expected(patient, only)
    body = {'resourceType': 'Parameters',
            'parameter': [{'name': '_count', 'valueInteger': 1000}]}
    r = http.post(f'{FHIR_BASE}/Patient/{patient}/$everything', json=body,
                  headers={'Content-Type': FHIR_JSON}, timeout=TIMEOUT)
    assert r.status_code == 200, r.text[:500]
    assert set(entries([r.json()], 'match')) == want


def test_errors(http):
    get(http, 'Patient/$everything', expect=400)
    unknown = max(int(p['id']) for p in RES['Patient']) + 1000
    assert get(http, f'Patient/{unknown}/$everything', expect=404)[
        'resourceType'] == 'OperationOutcome'
    p = RES['Patient'][0]['id']
    get(http, f'Patient/{p}/$everything', params={'_type': 'Practitioner'},
        expect=400)
    get(http, f'Patient/{p}/$everything', params={'start': 'soon'}, expect=400)


@pytest.mark.parametrize('login', ['frontdesk', 'nogroup'])
def test_users_with_fewer_rights(login):
    s = session(login, KNOWN_PASSWORDS[login])
    try:
        types = searchable(s)
        assert types < {'Patient', *COMPARTMENT}, f'{login} reads everything'
        for p in RES['Patient']:
            bundles = pages(s, f"Patient/{p['id']}/$everything")
            assert set(entries(bundles, 'match')) == \
                expected(p['id'], types, login)
            said = str([e['resource'] for b in bundles
                        for e in b.get('entry', [])
                        if e['search']['mode'] == 'outcome'])
            for t in set(COMPARTMENT) - types:
                assert t in said, (t, said)
    finally:
        s.close()
