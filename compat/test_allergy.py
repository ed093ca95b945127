"""AllergyIntolerance of a running gnuhealth-fhir server, checked against
the ground-truth facts of the real GNU Health database: the "allergies" of
compat/export_facts.py, i.e. the is_allergy rows of gnuhealth.patient.disease
as the Tryton ORM returns them.  Every read, every search parameter, the
Patient compartment and _include, and the split of the table with Condition
(allergies are never Conditions, conditions never allergies).

The FHIR codes the stored codes stand for are written here again, from the
mapping GNU Health's selections suggest, not taken from the server.

Environment (as compat/test_fhir.py):
  FHIR_BASE      server base URL, e.g. http://127.0.0.1:8099   (required)
  FACTS          facts JSON from export_facts.py                  (required)
  FHIR_USER      login      (default fhir_reader)
  FHIR_PASSWORD  password   (default: the known password of FHIR_USER)
  FHIR_TIMEOUT   seconds per HTTP request (default 60)

The module skips itself when FHIR_BASE or FACTS is unset.
"""
from urllib.parse import urljoin

import pytest

from compat_env import (  # noqa: E402
    FACTS, FHIR_BASE, PASSWORD, TIMEOUT, USER,
)

import requests  # noqa: E402
ALLERGIES = FACTS.get('allergies')
if ALLERGIES is None:
    pytest.skip('the facts have no allergies (older export)',
                allow_module_level=True)
CONDITIONS = FACTS['resources']['Condition']
MODEL = 'gnuhealth.patient.disease'
if not FACTS.get('security', {}).get(USER, {}).get('models', {}) \
        .get(MODEL, {}).get('read', True):
    pytest.skip(f'{USER} may not read {MODEL}', allow_module_level=True)

FHIR_JSON = 'application/fhir+json'
ICD10 = 'http://hl7.org/fhir/sid/icd-10'
CLINICAL = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical'
VERIFICATION = \
    'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification'
CATEGORY = 'http://hl7.org/fhir/allergy-intolerance-category'

# allergy_type: drug, food, miscellaneous allergy; misc contraindication
TYPE = {'da': 'allergy', 'fa': 'allergy', 'ma': 'allergy',
        'mc': 'intolerance'}
CATEGORY_OF = {'da': 'medication', 'fa': 'food', 'ma': 'environment'}
CRITICALITY = {'1_mi': 'low', '2_mo': 'low', '3_sv': 'high'}
SEVERITY = {'1_mi': 'mild', '2_mo': 'moderate', '3_sv': 'severe'}


def clinical_status(a):
    if a['status'] == 'h' or a['healed_date']:
        return 'resolved'
    return 'active' if a['is_active'] else 'inactive'


def comment(a):
    return (a['short_comment'] or '').strip() or None


def reaction_severity(a):
    """A reaction needs a manifestation: the comment is the only one."""
    return SEVERITY.get(a['severity']) if comment(a) else None


@pytest.fixture(scope='session')
def http():
    s = requests.Session()
    s.auth = (USER, PASSWORD)
    s.headers['Accept'] = FHIR_JSON
    yield s
    s.close()


def get(http, path, params=None):
    return http.get(f'{FHIR_BASE}/{path}', params=params, timeout=TIMEOUT)


def search(http, params, path='AllergyIntolerance', rtype=None):
    """Match ids of a search, following the next links."""
    rtype = rtype or path.rsplit('/', 1)[-1]
    r = get(http, path, dict(params, _count='1'))
    out = []
    for _ in range(500):
        assert r.status_code == 200, f'{r.url}: {r.status_code} {r.text[:300]}'
        b = r.json()
        for e in b.get('entry', []):
            if e.get('search', {}).get('mode', 'match') == 'match':
                assert e['resource']['resourceType'] == rtype
                out.append(e['resource']['id'])
        nxt = next((lk['url'] for lk in b.get('link', [])
                    if lk['relation'] == 'next'), None)
        if not nxt:
            assert len(out) == len(set(out)), out
            return set(out)
        r = http.get(urljoin(FHIR_BASE + '/', nxt), timeout=TIMEOUT)
    raise AssertionError('paging does not end')


def ids(pred):
    return {a['id'] for a in ALLERGIES if pred(a)}


def codes(concept, system):
    return [c.get('code') for c in (concept or {}).get('coding', [])
            if c.get('system') == system]


def test_there_are_allergies():
    assert len(ALLERGIES) >= 2


@pytest.mark.parametrize('fact', ALLERGIES, ids=lambda a: a['id'])
def test_read(http, fact):
    r = get(http, f"AllergyIntolerance/{fact['id']}")
    assert r.status_code == 200, r.text[:300]
    a = r.json()
    assert a['resourceType'] == 'AllergyIntolerance'
    assert a['id'] == fact['id']
    assert a['patient']['reference'] == f"Patient/{fact['patient']}"
    assert codes(a.get('code'), ICD10) == [fact['code']]
    assert a['code']['coding'][0].get('display') == fact['display']
    assert codes(a.get('clinicalStatus'), CLINICAL) == [clinical_status(fact)]
    assert codes(a.get('verificationStatus'), VERIFICATION) == ['confirmed']
    assert a.get('type') == TYPE.get(fact['allergy_type'])
    cat = CATEGORY_OF.get(fact['allergy_type'])
    assert a.get('category') == ([cat] if cat else None)
    assert a.get('criticality') == CRITICALITY.get(fact['severity'])
    assert a.get('onsetDateTime') == fact['diagnosed_date']
    # the creation time differs per database, so it is not in the facts
    assert len(a.get('recordedDate', '')) >= 19
    hp = fact['healthprof']
    for el in ('recorder', 'asserter'):
        assert a.get(el) == ({'reference': f'Practitioner/{hp}'}
                             if hp else None), el
    notes = [n['text'] for n in a.get('note', [])]
    assert notes == [t for t in (fact['short_comment'], fact['extra_info'])
                     if t and t.strip()]
    sev = reaction_severity(fact)
    if sev:
        assert a['reaction'] == [{'manifestation': [{'text': comment(fact)}],
                                  'severity': sev}]
    else:
        assert 'reaction' not in a


def test_conditions_and_allergies_do_not_mix(http):
    allergy_ids = ids(lambda a: True)
    assert search(http, {}) == allergy_ids
    assert not search(http, {}, 'Condition') & allergy_ids
    for i in sorted(allergy_ids):
        assert get(http, f'Condition/{i}').status_code == 404, i
    for c in CONDITIONS:
        assert get(http, f"AllergyIntolerance/{c['id']}").status_code == 404
    if CONDITIONS:
        assert search(http, {'_id': CONDITIONS[0]['id']}) == set()


def test_patient_and_compartment(http):
    for p in sorted({a['patient'] for a in ALLERGIES}):
        exp = ids(lambda a: a['patient'] == p)
        assert search(http, {'patient': p}) == exp
        assert search(http, {'patient': f'Patient/{p}'}) == exp
        assert search(http, {}, f'Patient/{p}/AllergyIntolerance') == exp
        b = get(http, 'AllergyIntolerance',
                {'patient': p, '_include': 'AllergyIntolerance:patient'}).json()
        included = [e['resource']['id'] for e in b.get('entry', [])
                    if e['search']['mode'] == 'include']
        assert included == [p]
    assert search(http, {'patient': '999999999'}) == set()


def test_code(http):
    for code in sorted({a['code'] for a in ALLERGIES}):
        exp = ids(lambda a: a['code'] == code)
        assert search(http, {'code': code}) == exp
        assert search(http, {'code': f'{ICD10}|{code}'}) == exp
        assert search(http, {'code': f'http://example.org/x|{code}'}) == set()
    for c in CONDITIONS:
        if c['code'] not in {a['code'] for a in ALLERGIES}:
            assert search(http, {'code': c['code']}) == set()
            break


@pytest.mark.parametrize('param,table,field', [
    ('type', TYPE, 'allergy_type'),
    ('category', CATEGORY_OF, 'allergy_type'),
    ('criticality', CRITICALITY, 'severity'),
])
def test_mapped_tokens(http, param, table, field):
    for fhir in sorted(set(table.values())):
        exp = ids(lambda a: table.get(a[field]) == fhir)
        assert search(http, {param: fhir}) == exp, fhir
    assert search(http, {param: 'no-such-code'}) == set()


def test_severity(http):
    for fhir in SEVERITY.values():
        exp = ids(lambda a: reaction_severity(a) == fhir)
        assert search(http, {'severity': fhir}) == exp, fhir


def test_statuses(http):
    for status in ('active', 'inactive', 'resolved'):
        exp = ids(lambda a: clinical_status(a) == status)
        assert search(http, {'clinical-status': status}) == exp, status
        assert search(http, {'clinical-status': f'{CLINICAL}|{status}'}) \
            == exp
    every = ids(lambda a: True)
    assert search(http, {'verification-status': 'confirmed'}) == every
    assert search(http, {'verification-status': 'refuted'}) == set()


def test_recorder_and_asserter(http):
    for hp in sorted({a['healthprof'] for a in ALLERGIES} - {None}):
        exp = ids(lambda a: a['healthprof'] == hp)
        assert search(http, {'recorder': hp}) == exp
        assert search(http, {'asserter': f'Practitioner/{hp}'}) == exp


def test_onset(http):
    days = sorted({a['diagnosed_date'] for a in ALLERGIES
                   if a['diagnosed_date']})
    assert days
    for day in days:
        assert search(http, {'onset': day}) == \
            ids(lambda a: a['diagnosed_date'] == day), day
        assert search(http, {'onset': f'ge{day}'}) == \
            ids(lambda a: (a['diagnosed_date'] or '') >= day), day
        assert search(http, {'onset': f'lt{day}'}) == \
            ids(lambda a: a['diagnosed_date'] is not None
                and a['diagnosed_date'] < day), day


@pytest.mark.parametrize('param,element', [
    ('date', lambda r: r['recordedDate']),
    ('_lastUpdated', lambda r: r['meta']['lastUpdated']),
])
def test_timestamps(http, param, element):
    """Creation and write times differ per database and are not in the
    facts: the days come from the resources read, and the searches must
    agree with them (both UTC)."""
    served = {a['id']: element(get(http, f"AllergyIntolerance/{a['id']}")
                               .json())[:10] for a in ALLERGIES}
    for day in sorted(set(served.values())):
        assert search(http, {param: day}) == \
            {i for i, d in served.items() if d == day}, day
        assert search(http, {param: f'ge{day}'}) == \
            {i for i, d in served.items() if d >= day}, day
        assert search(http, {param: f'lt{day}'}) == \
            {i for i, d in served.items() if d < day}, day
    assert search(http, {param: 'lt1900-01-01'}) == set()


def test_ids(http):
    every = sorted(ids(lambda a: True))
    assert search(http, {'_id': ','.join(every)}) == set(every)
    assert search(http, {'_id': every[0]}) == {every[0]}
