"""Encounter and the vital-sign Observations against the facts' `encounters`
and the vital-sign records of `resources.Observation` (exported through the
Tryton ORM by export_facts.py): every read, every search parameter, the links
between them (Observation.encounter, partOf, the Patient compartment,
_revinclude) and the ids each user gets.

Environment as test_fhir.py (FHIR_BASE, FACTS, FHIR_USER, FHIR_PASSWORD)."""
import pytest

from compat_env import (  # noqa: E402
    FACTS, FHIR_BASE, KNOWN_PASSWORDS, TIMEOUT, USER, get_json as get, http,
    model_readable, search as search_pages, visible_resources,
)

import requests  # noqa: E402

ENCOUNTERS = [e for e in FACTS.get('encounters', [])
              if model_readable(USER, e['model'])]
VITALS = [o for o in visible_resources(USER)['Observation']
          if o['kind'] == 'vital']
if not FACTS.get('encounters'):
    pytest.skip('the facts have no encounters', allow_module_level=True)


def search(http, rtype, params, mode='match'):
    """The ids of every page's entries of one search mode, seven a page."""
    return search_pages(http, rtype, params, count='7', mode=mode)


def ids(records, pred=lambda r: True):
    return {r['id'] for r in records if pred(r)}


def same_instant(fhir, fact):
    return fhir is not None and fhir.rstrip('Z')[:19] == fact[:19]


def ref(x):
    return (x or {}).get('reference')


def test_every_encounter(http):
    assert search(http, 'Encounter', {}) == ids(ENCOUNTERS)
    kinds = {e['id'].split('-')[0] for e in ENCOUNTERS}
    assert kinds, 'the facts have encounters of a kind the user reads'


@pytest.mark.parametrize('fact', ENCOUNTERS, ids=lambda f: f['id'])
def test_encounter_read(http, fact):
    e = get(http, f"Encounter/{fact['id']}")
    assert e['status'] == fact['status']
    assert e['class']['code'] == fact['class']
    assert ref(e['subject']) == f"Patient/{fact['patient']}"
    assert [i['value'] for i in e.get('identifier', [])] == \
        [fact['identifier']]
    assert same_instant(e['period']['start'], fact['start'])
    if fact['end']:
        assert same_instant(e['period']['end'], fact['end'])
    else:
        assert 'end' not in e['period']
    assert sorted({ref(p['individual'])[len('Practitioner/'):]
                   for p in e.get('participant', [])}) == \
        fact['practitioners']
    if fact['type']:
        assert e['type'][0]['coding'][0]['code'] == fact['type']
    assert ref(e.get('serviceProvider')) == (
        f"Organization/{fact['institution']}" if fact['institution']
        else None)
    assert [ref(a) for a in e.get('appointment', [])] == (
        [f"Appointment/{fact['appointment']}"] if fact['appointment'] else [])
    assert ref(e.get('partOf')) == (
        f"Encounter/{fact['part_of']}" if fact['part_of'] else None)
    assert [ref(r) for r in e.get('reasonReference', [])] == (
        [f"Condition/{fact['reason_condition']}"]
        if fact['reason_condition'] else [])
    assert [ref(x['location']) for x in e.get('location', [])] == (
        [f"Location/{fact['location']}"] if fact['location'] else [])
    contained = {c['id']: c for c in e.get('contained', [])}
    codes = [contained[ref(d['condition'])[1:]]['code']['coding'][0]['code']
             for d in e.get('diagnosis', [])]
    assert codes == fact['diagnoses']
    if fact.get('reason_code'):
        assert fact['reason_code'] in [
            c['code'] for rc in e.get('reasonCode', [])
            for c in rc.get('coding', [])]


@pytest.mark.parametrize('param,fn', [
    ('status', lambda e: e['status']),
    ('class', lambda e: e['class']),
    ('type', lambda e: e['type']),
    ('identifier', lambda e: e['identifier']),
    ('patient', lambda e: e['patient']),
    ('service-provider', lambda e: e['institution']),
    ('appointment', lambda e: e['appointment']),
    ('location', lambda e: e['location']),
    ('reason-reference', lambda e: e['reason_condition']),
])
def test_encounter_token_and_reference_parameters(http, param, fn):
    values = {fn(e) for e in ENCOUNTERS if fn(e)}
    assert values, param
    for v in sorted(values):
        assert search(http, 'Encounter', {param: v}) == \
            ids(ENCOUNTERS, lambda e: fn(e) == v), (param, v)


def test_encounter_practitioner_and_date(http):
    for p in sorted({p for e in ENCOUNTERS for p in e['practitioners']}):
        for param in ('practitioner', 'participant'):
            assert search(http, 'Encounter', {param: p}) == \
                ids(ENCOUNTERS, lambda e: p in e['practitioners'])
    day = sorted(e['start'][:10] for e in ENCOUNTERS)[len(ENCOUNTERS) // 2]
    assert search(http, 'Encounter', {'date': f'ge{day}'}) == \
        ids(ENCOUNTERS, lambda e: e['start'][:10] >= day)
    assert search(http, 'Encounter', {'date': day}) == \
        ids(ENCOUNTERS, lambda e: e['start'][:10] == day)


def test_encounter_in_the_patient_compartment(http):
    for p in sorted({e['patient'] for e in ENCOUNTERS}):
        assert search(http, f'Patient/{p}/Encounter', {}) == \
            ids(ENCOUNTERS, lambda e: e['patient'] == p)


@pytest.mark.skipif(not VITALS, reason='no vital signs for this user')
def test_vital_signs_by_encounter_code_category_and_value(http):
    for enc in sorted({o['encounter'] for o in VITALS}):
        assert search(http, 'Observation', {'encounter': enc}) == \
            ids(VITALS, lambda o: o['encounter'] == enc), enc
    for code in sorted({o['code'] for o in VITALS}):
        got = search(http, 'Observation', {'code': code})
        assert got == ids(VITALS, lambda o: o['code'] == code), code
    vital = ids(VITALS, lambda o: o['category'] == 'vital-signs')
    assert search(http, 'Observation', {'category': 'vital-signs'}) == vital
    temperature = ids(VITALS, lambda o: o['measure'] == 'temperature'
                      and o['result'] >= 37.55)
    assert search(http, 'Observation', {
        'code': 'http://loinc.org|8310-5',
        'value-quantity': 'gt37.5|http://unitsofmeasure.org|Cel'}) == \
        temperature
    high = ids(VITALS, lambda o: o['measure'] == 'bp' and any(
        v is not None and v > 130 for v in (o['systolic'], o['diastolic'])))
    assert search(http, 'Observation', {
        'component-value-quantity': 'gt130'}) == high
    assert search(http, 'Observation', {'component-code': '8480-6'}) == \
        ids(VITALS, lambda o: o['measure'] == 'bp'
            and o['systolic'] is not None)


@pytest.mark.skipif(not VITALS, reason='no vital signs for this user')
def test_encounter_brings_its_vital_signs(http):
    enc = sorted({o['encounter'] for o in VITALS})[0]
    got = search(http, 'Encounter', {'_id': enc,
                                     '_revinclude': 'Observation:encounter'},
                 mode='include')
    assert got == ids(VITALS, lambda o: o['encounter'] == enc)
    # and the observation's encounter is found through the chain
    patient = next(o['patient'] for o in VITALS if o['encounter'] == enc)
    assert search(http, 'Observation', {'encounter.patient': patient}) == \
        ids(VITALS, lambda o: o['patient'] == patient)


@pytest.mark.parametrize('login', sorted(KNOWN_PASSWORDS))
def test_each_user_gets_the_encounters_of_the_tables_it_reads(login):
    s = requests.Session()
    s.auth = (login, KNOWN_PASSWORDS[login])
    try:
        mine = ids(FACTS['encounters'],
                   lambda e: model_readable(login, e['model']))
        r = s.get(f'{FHIR_BASE}/Encounter', params={'_count': '1000'},
                  timeout=TIMEOUT)
        if not mine:
            assert r.status_code == 403, r.text[:300]
            return
        assert r.status_code == 200, r.text[:300]
        got = {e['resource']['id'] for e in r.json().get('entry', [])}
        assert got == mine
    finally:
        s.close()
