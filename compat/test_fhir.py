"""Black-box FHIR R4 tests of a running gnuhealth-fhir server against the
ground-truth facts exported from the real GNU Health database
(compat/export_facts.py).

Only standard FHIR R4 REST semantics are used (read, search-type with
standard search parameters, Bundle paging through link 'next', HTTP Basic
authentication).  Every expected result set is computed from the facts.

Environment:
  FHIR_BASE      server base URL, e.g. http://127.0.0.1:8099   (required)
  FACTS          facts JSON from export_facts.py                  (required)
  FHIR_USER      login      (default fhir_reader)
  FHIR_PASSWORD  password   (default: the known password of FHIR_USER)
  FHIR_TIMEOUT   seconds per HTTP request (default 60)

The module skips itself when FHIR_BASE or FACTS is unset.
"""
import datetime as dt
import os
import unicodedata
from urllib.parse import urljoin

import pytest

from compat_env import (  # noqa: E402
    FACTS, FHIR_BASE, KNOWN_PASSWORDS, PASSWORD, TIMEOUT, USER,
    fact_models, visible_resources,
)

import requests  # noqa: E402
ALL_RES = FACTS['resources']
RES = visible_resources(USER)
SECURITY = FACTS.get('security', {})

ICD10 = 'http://hl7.org/fhir/sid/icd-10'
FHIR_JSON = 'application/fhir+json'

# models whose read access a resource type needs
RESOURCE_MODELS = {
    'Patient': ['gnuhealth.patient'],
    'Practitioner': ['gnuhealth.healthprofessional'],
    'Organization': ['gnuhealth.institution'],
    'Condition': ['gnuhealth.patient.disease'],
    # lab results and vital signs of evaluations, nursing sessions and rounds
    'Observation': ['gnuhealth.lab.test.critearea',
                    'gnuhealth.patient.evaluation',
                    'gnuhealth.patient.ambulatory_care',
                    'gnuhealth.patient.rounding'],
    'DiagnosticReport': ['gnuhealth.lab'],
    'Procedure': ['gnuhealth.surgery', 'gnuhealth.operation',
                  'gnuhealth.patient.procedure'],
    'FamilyMemberHistory': ['gnuhealth.patient.family.diseases'],
    'Medication': ['gnuhealth.medicament'],
    'MedicationStatement': ['gnuhealth.patient.medication'],
    'Immunization': ['gnuhealth.vaccination'],
    'ServiceRequest': ['gnuhealth.patient.lab.test'],
    'MedicationRequest': ['gnuhealth.prescription.line',
                          'gnuhealth.prescription.order'],
}
ALL_TYPES = list(RESOURCE_MODELS)


def model_readable(login, model):
    sec = SECURITY.get(login)
    if sec is None:
        return True
    return bool(sec['models'].get(model, {}).get('read', True))


def type_readable(login, rtype):
    """True / False when all backing models agree, None when mixed."""
    vals = {model_readable(login, m) for m in RESOURCE_MODELS[rtype]}
    return vals.pop() if len(vals) == 1 else None


# Observation serves each kind to its readers: readable when any is.
READABLE = [t for t in ALL_TYPES if type_readable(USER, t)
            or (t == 'Observation' and RES['Observation'])]
DENIED = [t for t in ALL_TYPES if type_readable(USER, t) is False]


# ---------------------------------------------------------------------------
# HTTP helpers
# ---------------------------------------------------------------------------
@pytest.fixture(scope='session')
def http():
    s = requests.Session()
    s.auth = (USER, PASSWORD)
    s.headers['Accept'] = FHIR_JSON
    yield s
    s.close()


def url(path):
    return f'{FHIR_BASE}/{path.lstrip("/")}'


def get(http, path, params=None, expect=200):
    r = http.get(url(path), params=params, timeout=TIMEOUT)
    assert r.status_code == expect, (
        f'GET {r.url} -> {r.status_code} (expected {expect}): {r.text[:500]}')
    return r.json() if r.content else None


def read(http, rtype, rid):
    body = get(http, f'{rtype}/{rid}')
    assert body['resourceType'] == rtype
    assert body['id'] == rid
    return body


def search(http, rtype, params, max_pages=200):
    """Run a search and follow link 'next' to the end.  Returns
    (list of ids of 'match' entries in order, first bundle)."""
    params = list(params.items()) if isinstance(params, dict) else list(params)
    r = http.get(url(rtype), params=params, timeout=TIMEOUT)
    assert r.status_code == 200, f'GET {r.url} -> {r.status_code}: {r.text[:500]}'
    first = bundle = r.json()
    ids = []
    for _ in range(max_pages):
        assert bundle['resourceType'] == 'Bundle', bundle
        assert bundle['type'] == 'searchset'
        for e in bundle.get('entry', []):
            mode = e.get('search', {}).get('mode', 'match')
            if mode != 'match':
                continue
            res = e['resource']
            assert res['resourceType'] == rtype, res['resourceType']
            ids.append(res['id'])
        nxt = [lk['url'] for lk in bundle.get('link', [])
               if lk.get('relation') == 'next']
        if not nxt:
            return ids, first
        r = http.get(urljoin(FHIR_BASE + '/', nxt[0]), timeout=TIMEOUT)
        assert r.status_code == 200, f'GET {r.url} -> {r.status_code}'
        bundle = r.json()
    raise AssertionError(f'{rtype} {params}: more than {max_pages} pages')


def search_ids(http, rtype, params):
    ids, _ = search(http, rtype, params)
    assert len(ids) == len(set(ids)), f'duplicate ids: {ids}'
    return set(ids)


# ---------------------------------------------------------------------------
# FHIR element helpers
# ---------------------------------------------------------------------------
def codings(cc):
    """Codings of a CodeableConcept (or list of them)."""
    if not cc:
        return []
    if isinstance(cc, list):
        return [c for x in cc for c in codings(x)]
    return cc.get('coding', [])


def has_code(cc, code, system=None):
    return any(c.get('code') == code and (system is None
                                          or c.get('system') == system)
               for c in codings(cc))


def cc_texts(cc):
    """All human readable strings of a CodeableConcept."""
    if not cc:
        return []
    out = [cc.get('text')] if cc.get('text') else []
    out += [c.get('display') for c in codings(cc) if c.get('display')]
    return out


def ref(obj):
    return (obj or {}).get('reference')


def same_instant(fhir_value, fact_value):
    """fact: naive UTC 'YYYY-MM-DDTHH:MM:SS' or 'YYYY-MM-DD'."""
    if fact_value is None:
        return fhir_value is None
    if fhir_value is None:
        return False
    if len(fact_value) == 10:
        return fhir_value[:10] == fact_value
    v = dt.datetime.fromisoformat(fhir_value.replace('Z', '+00:00'))
    if v.tzinfo is not None:
        v = v.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return v.replace(microsecond=0) == dt.datetime.fromisoformat(fact_value)


def norm(s):
    """FHIR string search normalisation: case and accent insensitive."""
    s = unicodedata.normalize('NFKD', s or '')
    return ''.join(c for c in s if not unicodedata.combining(c)).casefold()


def starts(value, query):
    return value is not None and norm(value).startswith(norm(query))


def close(a, b):
    return a is not None and b is not None and abs(float(a) - float(b)) < 1e-9


def by_id(rtype):
    return {r['id']: r for r in RES[rtype]}


def fact_date(v):
    """date part of a fact date/datetime (UTC)."""
    return dt.date.fromisoformat(v[:10]) if v else None


def year_boundaries(values):
    """Years Y usable for 'ge<Y>' / 'lt<Y>' searches: at least one value on
    each side, and no value within 2 days of Jan 1st (time-zone safety)."""
    dates = sorted(fact_date(v) for v in values if v)
    years = []
    for y in range(dates[0].year + 1, dates[-1].year + 1) if dates else []:
        b = dt.date(y, 1, 1)
        if any(abs((d - b).days) <= 2 for d in dates):
            continue
        if any(d < b for d in dates) and any(d >= b for d in dates):
            years.append(y)
    if len(years) > 3:   # a few are enough
        years = [years[0], years[len(years) // 2], years[-1]]
    return years


# ---------------------------------------------------------------------------
# Unauthenticated endpoints / authentication
# ---------------------------------------------------------------------------
def test_metadata_without_credentials():
    r = requests.get(url('metadata'), headers={'Accept': FHIR_JSON},
                     timeout=TIMEOUT)
    assert r.status_code == 200, r.text[:500]
    body = r.json()
    assert body['resourceType'] == 'CapabilityStatement'
    assert body['fhirVersion'] == '4.0.1'
    assert body['kind'] in ('instance', 'capability')
    assert any('json' in f for f in body.get('format', []))
    rest = [x for x in body.get('rest', []) if x.get('mode') == 'server']
    assert rest, 'no rest[mode=server]'
    served = {x['type'] for x in rest[0].get('resource', [])}
    missing = set(ALL_TYPES) - served
    assert not missing, f'CapabilityStatement lacks {sorted(missing)}'


@pytest.mark.parametrize('path', ['Patient', 'Patient/1', 'Observation'])
def test_no_credentials_401(path):
    r = requests.get(url(path), headers={'Accept': FHIR_JSON}, timeout=TIMEOUT)
    assert r.status_code == 401, f'{path}: {r.status_code} {r.text[:300]}'
    assert 'basic' in r.headers.get('WWW-Authenticate', '').lower()


def test_wrong_password_401():
    r = requests.get(url('Patient'), auth=(USER, PASSWORD + '-wrong'),
                     headers={'Accept': FHIR_JSON}, timeout=TIMEOUT)
    assert r.status_code == 401, r.text[:300]


def test_unknown_user_401():
    # A login of its own per run: its failure stays counted for 300 s.
    login = 'no-such-user-%s' % os.urandom(6).hex()
    r = requests.get(url('Patient'), auth=(login, 'whatever-1'),
                     headers={'Accept': FHIR_JSON}, timeout=TIMEOUT)
    assert r.status_code == 401, r.text[:300]


# ---------------------------------------------------------------------------
# Generic per-type tests
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('rtype', READABLE)
def test_unknown_id_404(http, rtype):
    r = http.get(url(f'{rtype}/999999999'), timeout=TIMEOUT)
    assert r.status_code == 404, r.text[:300]
    assert r.json()['resourceType'] == 'OperationOutcome'


@pytest.mark.parametrize('rtype', READABLE)
def test_search_all_total_and_ids(http, rtype):
    ids, first = search(http, rtype, {})
    expected = [r['id'] for r in RES[rtype]]
    assert len(ids) == len(set(ids)), 'duplicate ids'
    assert set(ids) == set(expected)
    assert first.get('total') == len(expected)


@pytest.mark.parametrize('rtype', READABLE)
def test_paging_count_2(http, rtype):
    ids, first = search(http, rtype, {'_count': '2'})
    assert len(first.get('entry', [])) <= 2
    assert len(ids) == len(set(ids)), f'duplicates across pages: {ids}'
    assert set(ids) == {r['id'] for r in RES[rtype]}
    if len(RES[rtype]) > 2:
        assert any(lk.get('relation') == 'next'
                   for lk in first.get('link', []))
    assert first.get('total') == len(RES[rtype])


@pytest.mark.parametrize('rtype', DENIED)
def test_denied_type_403(http, rtype):
    """GNU Health's model access (ir.model.access) denies read: 403."""
    r = http.get(url(rtype), timeout=TIMEOUT)
    assert r.status_code == 403, r.text[:300]
    assert r.json()['resourceType'] == 'OperationOutcome'
    if RES[rtype]:
        r = http.get(url(f'{rtype}/{RES[rtype][0]["id"]}'), timeout=TIMEOUT)
        assert r.status_code == 403, r.text[:300]


def read_params(rtype):
    if rtype not in READABLE:
        return []
    return [pytest.param(r, id=r['id']) for r in RES[rtype]]


# ---------------------------------------------------------------------------
# Patient
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('fact', read_params('Patient'))
def test_patient_read(http, fact):
    p = read(http, 'Patient', fact['id'])
    assert p.get('active', True) == fact['active']
    names = p.get('name', [])
    off = [n for n in names if n.get('use') == 'official'] or names[:1]
    assert off, 'no name'
    assert off[0].get('family') == fact['family']
    assert ' '.join(off[0].get('given', [])) == fact['given']
    assert p.get('gender') == fact['gender']
    assert p.get('birthDate') == fact['birthDate']
    if fact['deceased']:
        assert p.get('deceasedBoolean') is True or 'deceasedDateTime' in p
        if fact['deceasedDateTime'] and 'deceasedDateTime' in p:
            assert same_instant(p['deceasedDateTime'], fact['deceasedDateTime'])
    else:
        assert p.get('deceasedBoolean', False) is False
        assert 'deceasedDateTime' not in p
    values = [i.get('value') for i in p.get('identifier', [])]
    assert fact['puid'] in values
    if fact['federation_account']:
        assert fact['federation_account'] in values
    for alt in fact['alternative_ids']:
        assert alt['code'] in values, alt
    telecom = {(t.get('system'), t.get('value')) for t in p.get('telecom', [])}
    contact_values = {t.get('value') for c in p.get('contact', [])
                      for t in c.get('telecom', [])}
    for t in fact['telecom']:
        if t['emergency']:
            assert t['value'] in contact_values | {v for _, v in telecom}, t
        else:
            assert (t['system'], t['value']) in telecom, t
    cities = {a.get('city') for a in p.get('address', [])}
    if fact['du_city']:
        assert fact['du_city'] in cities
    if fact['general_practitioner']:
        gp = [ref(g) for g in p.get('generalPractitioner', [])]
        assert f"Practitioner/{fact['general_practitioner']}" in gp
    else:
        assert not p.get('generalPractitioner')
    if fact['language']:
        lang = fact['language'].replace('_', '-')
        comms = [c for x in p.get('communication', [])
                 for c in codings(x.get('language'))]
        assert lang in {c.get('code') for c in comms}


def patients():
    return RES['Patient']


def patient_name_values(p, part):
    vals = []
    for n in p['names'] or [{'family': p['family'], 'given': p['given']}]:
        if part in ('family', 'name') and n.get('family'):
            vals.append(n['family'])
        if part in ('given', 'name') and n.get('given'):
            # a given name may hold several space separated names
            vals.append(n['given'])
            vals.extend(n['given'].split()[1:])
    return vals


def name_queries(part):
    qs = set()
    for p in patients():
        # every value, so the second of several given names is searched too
        for v in patient_name_values(p, part):
            qs.add(v)
            if len(v) > 3:
                qs.add(v[:3].lower())   # prefix, lower case
    return sorted(qs)


def expected_name(part, q):
    return {p['id'] for p in patients()
            if any(starts(v, q) for v in patient_name_values(p, part))}


@pytest.mark.skipif('Patient' not in READABLE, reason='Patient not readable')
@pytest.mark.parametrize('part', ['family', 'given'])
def test_patient_search_family_given(http, part):
    for q in name_queries(part):
        got = search_ids(http, 'Patient', {part: q})
        assert got == expected_name(part, q), f'{part}={q}'


@pytest.mark.skipif('Patient' not in READABLE, reason='Patient not readable')
def test_patient_search_name(http):
    # 'name' is server defined over the HumanName strings: it must at least
    # find every patient with a family or given name starting with the text,
    # and only patients with a name containing it
    for q in name_queries('family') + name_queries('given'):
        got = search_ids(http, 'Patient', {'name': q})
        must = expected_name('name', q)
        may = {p['id'] for p in patients()
               if any(norm(q) in norm(v) for n in p['names']
                      for v in (n.get('family'), n.get('given'),
                                n.get('prefix')) if v)}
        assert must <= got <= may | must, f'name={q}'


@pytest.mark.skipif('Patient' not in READABLE, reason='Patient not readable')
def test_patient_search_birthdate(http):
    dobs = [p for p in patients() if p['birthDate']]
    for p in dobs:
        got = search_ids(http, 'Patient', {'birthdate': p['birthDate']})
        assert got == {x['id'] for x in dobs
                       if x['birthDate'] == p['birthDate']}
        got = search_ids(http, 'Patient', {'birthdate': p['birthDate'][:4]})
        assert got == {x['id'] for x in dobs
                       if x['birthDate'][:4] == p['birthDate'][:4]}
    years = year_boundaries([p['birthDate'] for p in dobs])
    assert years
    for y in years:
        got = search_ids(http, 'Patient', {'birthdate': f'ge{y}'})
        assert got == {x['id'] for x in dobs if int(x['birthDate'][:4]) >= y}
        got = search_ids(http, 'Patient', {'birthdate': f'lt{y}'})
        assert got == {x['id'] for x in dobs if int(x['birthDate'][:4]) < y}
    # a range: both parameters are AND-ed
    lo, hi = years[0], years[-1] + 1
    got = search_ids(http, 'Patient', [('birthdate', f'ge{lo}'),
                                       ('birthdate', f'lt{hi}')])
    assert got == {x['id'] for x in dobs
                   if lo <= int(x['birthDate'][:4]) < hi}


@pytest.mark.skipif('Patient' not in READABLE, reason='Patient not readable')
def test_patient_search_gender(http):
    for g in ('male', 'female', 'other', 'unknown'):
        got = search_ids(http, 'Patient', {'gender': g})
        assert got == {p['id'] for p in patients() if p['gender'] == g}, g


@pytest.mark.skipif('Patient' not in READABLE, reason='Patient not readable')
def test_patient_search_identifier(http):
    for p in patients():
        got = search_ids(http, 'Patient', {'identifier': p['puid']})
        assert got == {x['id'] for x in patients()
                       if p['puid'] in [x['puid'], x['federation_account']]
                       + [a['code'] for a in x['alternative_ids']]}
    got = search_ids(http, 'Patient', {'identifier': 'NO-SUCH-ID-0000'})
    assert got == set()


@pytest.mark.skipif('Patient' not in READABLE, reason='Patient not readable')
def test_patient_search_telecom(http):
    values = sorted({t['value'] for p in patients() for t in p['telecom']
                     if not t['emergency']})
    assert values
    for v in values:
        got = search_ids(http, 'Patient', {'telecom': v})
        assert got == {p['id'] for p in patients()
                       if v in [t['value'] for t in p['telecom']]}, v


@pytest.mark.skipif('Patient' not in READABLE, reason='Patient not readable')
def test_patient_search_address_city(http):
    cities = sorted({p['du_city'] for p in patients() if p['du_city']})
    assert cities
    for c in cities + [c[:5] for c in cities]:
        got = search_ids(http, 'Patient', {'address-city': c})
        must = {p['id'] for p in patients() if starts(p['du_city'], c)}
        may = {p['id'] for p in patients()
               if any(starts(a['city'], c) for a in p['addresses'])}
        assert must <= got <= must | may, c


@pytest.mark.skipif('Patient' not in READABLE, reason='Patient not readable')
def test_patient_search_general_practitioner(http):
    for hp in RES['Practitioner']:
        exp = {p['id'] for p in patients()
               if p['general_practitioner'] == hp['id']}
        assert search_ids(http, 'Patient', {
            'general-practitioner': f"Practitioner/{hp['id']}"}) == exp
        assert search_ids(http, 'Patient', {
            'general-practitioner': hp['id']}) == exp


@pytest.mark.skipif('Patient' not in READABLE, reason='Patient not readable')
def test_patient_search_active_deceased(http):
    for v in (True, False):
        s = 'true' if v else 'false'
        assert search_ids(http, 'Patient', {'active': s}) == {
            p['id'] for p in patients() if p['active'] == v}
        assert search_ids(http, 'Patient', {'deceased': s}) == {
            p['id'] for p in patients() if p['deceased'] == v}


# ---------------------------------------------------------------------------
# Practitioner / Organization / Medication
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('fact', read_params('Practitioner'))
def test_practitioner_read(http, fact):
    p = read(http, 'Practitioner', fact['id'])
    assert p.get('active', True) == fact['active']
    names = p.get('name', [])
    off = [n for n in names if n.get('use') == 'official'] or names[:1]
    assert off[0].get('family') == fact['family']
    assert ' '.join(off[0].get('given', [])) == fact['given']
    assert fact['licence'] in [i.get('value') for i in p.get('identifier', [])]
    quals = [q.get('code') for q in p.get('qualification', [])]
    for code in fact['specialties']:
        assert any(has_code(q, code) for q in quals), code


@pytest.mark.parametrize('fact', read_params('Organization'))
def test_organization_read(http, fact):
    o = read(http, 'Organization', fact['id'])
    assert o.get('name') == fact['name']
    assert o.get('active', True) == fact['active']
    assert fact['code'] in [i.get('value') for i in o.get('identifier', [])]
    if fact['institution_type']:
        words = [c.get('code') for c in codings(o.get('type'))] + \
            [t for x in o.get('type', []) for t in cc_texts(x)]
        it = fact['institution_type'].replace('_', ' ').lower()
        assert any(w and (w == fact['institution_type']
                          or it in w.replace('_', ' ').lower())
                   for w in words), (fact['institution_type'], o.get('type'))


@pytest.mark.parametrize('fact', read_params('Medication'))
def test_medication_read(http, fact):
    m = read(http, 'Medication', fact['id'])
    assert fact['name'] in cc_texts(m.get('code'))
    assert m.get('status') == ('active' if fact['active'] else 'inactive')
    if fact['form']:
        assert has_code(m.get('form'), fact['form'])
    if fact['active_component']:
        texts = [t for i in m.get('ingredient', [])
                 for t in cc_texts(i.get('itemCodeableConcept'))]
        assert fact['active_component'] in texts


# ---------------------------------------------------------------------------
# Condition
# ---------------------------------------------------------------------------
SEVERITY = {'1_mi': '255604002', '2_mo': '6736007', '3_sv': '24484000'}


@pytest.mark.parametrize('fact', read_params('Condition'))
def test_condition_read(http, fact):
    c = read(http, 'Condition', fact['id'])
    assert ref(c.get('subject')) == f"Patient/{fact['patient']}"
    assert has_code(c.get('code'), fact['code'], ICD10)
    if fact['diagnosed_date']:
        assert same_instant(c.get('onsetDateTime'), fact['diagnosed_date'])
    if fact['healed_date']:
        assert same_instant(c.get('abatementDateTime'), fact['healed_date'])
    if fact['status'] == 'h' or fact['healed_date']:
        status = 'resolved'
    elif fact['is_active']:
        status = 'active'
    else:
        status = 'inactive'
    assert has_code(c.get('clinicalStatus'), status,
                    'http://terminology.hl7.org/CodeSystem/condition-clinical')
    if fact['severity']:
        assert has_code(c.get('severity'), SEVERITY[fact['severity']])


@pytest.mark.skipif('Condition' not in READABLE, reason='not readable')
def test_condition_allergies_are_not_conditions(http):
    got = search_ids(http, 'Condition', {})
    for rid in FACTS['excluded'].get('Condition', []):
        assert rid not in got
        r = http.get(url(f'Condition/{rid}'), timeout=TIMEOUT)
        assert r.status_code == 404, f'Condition/{rid}: {r.status_code}'


# ---------------------------------------------------------------------------
# Observation / DiagnosticReport
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('fact', read_params('Observation'))
def test_observation_read(http, fact):
    o = read(http, 'Observation', fact['id'])
    assert ref(o.get('subject')) == f"Patient/{fact['patient']}"
    assert has_code(o.get('code'), fact['code'])
    category = fact.get('category', 'laboratory')
    assert any(has_code(c, category) for c in o.get('category', []))
    if fact['kind'] == 'vital':
        assert ref(o.get('encounter')) == f"Encounter/{fact['encounter']}"
        assert o.get('status') == fact['status']
        assert same_instant(o.get('effectiveDateTime'), fact['date_analysis'])
        if fact['measure'] == 'bp':
            parts = {c['code']['coding'][0]['code']: c.get('valueQuantity')
                     for c in o['component']}
            for code, value in (('8480-6', fact['systolic']),
                                ('8462-4', fact['diastolic'])):
                if value is None:
                    assert parts[code] is None
                else:
                    assert close(parts[code]['value'], value)
                    assert parts[code]['code'] == 'mm[Hg]'
        else:
            vq = o['valueQuantity']
            assert close(vq['value'], fact['result'])
            assert vq['code'] == fact['unit_code']
            assert vq['system'] == 'http://unitsofmeasure.org'
        return
    if fact['result'] is not None:
        vq = o.get('valueQuantity', {})
        assert close(vq.get('value'), fact['result']), vq
        if fact['unit']:
            assert vq.get('unit') == fact['unit']
    elif fact['result_text']:
        assert o.get('valueString') == fact['result_text']
    if fact['lower_limit'] is not None or fact['upper_limit'] is not None:
        rr = (o.get('referenceRange') or [{}])[0]
        if fact['lower_limit'] is not None:
            assert close(rr.get('low', {}).get('value'), fact['lower_limit'])
        if fact['upper_limit'] is not None:
            assert close(rr.get('high', {}).get('value'), fact['upper_limit'])
    if fact['date_analysis']:
        assert same_instant(o.get('effectiveDateTime'), fact['date_analysis'])
    if fact['lab_state'] in ('done', 'validated') and not fact['excluded']:
        assert o.get('status') in ('final', 'amended', 'corrected')


@pytest.mark.skipif('Observation' not in READABLE, reason='not readable')
def test_observation_no_templates(http):
    got = search_ids(http, 'Observation', {})
    assert got == {o['id'] for o in RES['Observation']}
    templates = FACTS['excluded'].get('Observation', [])
    assert not got & set(templates)
    for rid in templates[:5] + templates[-3:]:
        r = http.get(url(f'Observation/{rid}'), timeout=TIMEOUT)
        assert r.status_code == 404, f'Observation/{rid}: {r.status_code}'


REPORT_STATUS = {'draft': {'registered', 'partial', 'preliminary'},
                 'done': {'final'}, 'validated': {'final', 'amended'}}


@pytest.mark.parametrize('fact', read_params('DiagnosticReport'))
def test_diagnostic_report_read(http, fact):
    d = read(http, 'DiagnosticReport', fact['id'])
    assert ref(d.get('subject')) == f"Patient/{fact['patient']}"
    assert has_code(d.get('code'), fact['test_code'])
    assert d.get('status') in REPORT_STATUS[fact['state']]
    if fact['date_analysis']:
        assert same_instant(d.get('effectiveDateTime'), fact['date_analysis'])
    assert fact['name'] in [i.get('value') for i in d.get('identifier', [])]
    results = [ref(r) for r in d.get('result', [])]
    assert sorted(results) == sorted(f'Observation/{i}'
                                     for i in fact['results'])


# ---------------------------------------------------------------------------
# Procedure / FamilyMemberHistory / MedicationStatement / Immunization
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('fact', read_params('Procedure'))
def test_procedure_read(http, fact):
    p = read(http, 'Procedure', fact['id'])
    assert ref(p.get('subject')) == f"Patient/{fact['patient']}"
    if fact['code']:
        assert has_code(p.get('code'), fact['code'])
    performed = p.get('performedDateTime') or \
        p.get('performedPeriod', {}).get('start')
    assert same_instant(performed, fact['date'])


RELATIVE = {
    'mother': {'MTH'}, 'father': {'FTH'}, 'brother': {'BRO'},
    'sister': {'SIS'}, 'son': {'SON'}, 'daughter': {'DAU'},
    'nephew': {'NEPHEW'}, 'niece': {'NIECE'},
}
SIDED = {'aunt': 'AUNT', 'uncle': 'UNCLE', 'grandfather': 'GRFTH',
         'grandmother': 'GRMTH', 'cousin': 'COUSN'}


def relationship_codes(relative, xory):
    if relative in RELATIVE:
        return RELATIVE[relative]
    base = SIDED.get(relative)
    if base is None:
        return None
    side = {'m': 'M', 'f': 'P'}.get(xory, '')
    return {side + base, base}


@pytest.mark.parametrize('fact', read_params('FamilyMemberHistory'))
def test_family_member_history_read(http, fact):
    f = read(http, 'FamilyMemberHistory', fact['id'])
    assert ref(f.get('patient')) == f"Patient/{fact['patient']}"
    assert any(has_code(c.get('code'), fact['code'], ICD10)
               for c in f.get('condition', []))
    codes = relationship_codes(fact['relative'], fact['xory'])
    if codes:
        got = {c.get('code') for c in codings(f.get('relationship'))}
        assert got & codes, (fact['relative'], fact['xory'], got)


@pytest.mark.parametrize('fact', read_params('MedicationStatement'))
def test_medication_statement_read(http, fact):
    m = read(http, 'MedicationStatement', fact['id'])
    assert ref(m.get('subject')) == f"Patient/{fact['patient']}"
    assert ref(m.get('medicationReference')) == \
        f"Medication/{fact['medication']}"
    period = m.get('effectivePeriod', {})
    start = period.get('start') or m.get('effectiveDateTime')
    if fact['start']:
        assert same_instant(start, fact['start'])
    if fact['end']:
        assert same_instant(period.get('end'), fact['end'])
    if fact['discontinued']:
        assert m['status'] == 'stopped'
    elif fact['course_completed']:
        assert m['status'] == 'completed'
    elif fact['is_active']:
        assert m['status'] == 'active'
    else:
        assert m['status'] != 'active'


@pytest.mark.parametrize('fact', read_params('Immunization'))
def test_immunization_read(http, fact):
    i = read(http, 'Immunization', fact['id'])
    assert ref(i.get('patient')) == f"Patient/{fact['patient']}"
    vaccine = by_id('Medication').get(fact['vaccine'])
    if vaccine:
        assert vaccine['name'] in cc_texts(i.get('vaccineCode'))
    assert same_instant(i.get('occurrenceDateTime'), fact['date'])
    if fact['dose'] is not None:
        doses = [p.get('doseNumberPositiveInt')
                 for p in i.get('protocolApplied', [])]
        assert fact['dose'] in doses
    if fact['lot']:
        assert i.get('lotNumber') == fact['lot']
    assert i.get('status') == 'completed'


# ---------------------------------------------------------------------------
# Searches by patient / subject, code and date
# ---------------------------------------------------------------------------
# R4 search parameters: (patient, subject) availability per type
SUBJECT_PARAMS = {
    'Condition': ('patient', 'subject'),
    'Observation': ('patient', 'subject'),
    'DiagnosticReport': ('patient', 'subject'),
    'Procedure': ('patient', 'subject'),
    'FamilyMemberHistory': ('patient',),
    'MedicationStatement': ('patient', 'subject'),
    'Immunization': ('patient',),
}


@pytest.mark.parametrize('rtype', [t for t in SUBJECT_PARAMS
                                   if t in READABLE])
def test_search_by_patient(http, rtype):
    for p in RES['Patient']:
        exp = {r['id'] for r in RES[rtype] if r['patient'] == p['id']}
        for param in SUBJECT_PARAMS[rtype]:
            got = search_ids(http, rtype, {param: f"Patient/{p['id']}"})
            assert got == exp, f"{param}=Patient/{p['id']}"
        got = search_ids(http, rtype, {'patient': p['id']})
        assert got == exp, f"patient={p['id']}"
    assert search_ids(http, rtype, {'patient': '999999999'}) == set()


CODE_PARAMS = {  # type -> (search parameter, system or None)
    'Condition': ('code', ICD10),
    'Observation': ('code', None),
    'DiagnosticReport': ('code', None),
    'Procedure': ('code', None),
    'FamilyMemberHistory': ('code', ICD10),
}


def fact_code(rtype, r):
    return r['test_code'] if rtype == 'DiagnosticReport' else r['code']


@pytest.mark.parametrize('rtype', [t for t in CODE_PARAMS if t in READABLE])
def test_search_by_code(http, rtype):
    param, system = CODE_PARAMS[rtype]
    codes = sorted({fact_code(rtype, r) for r in RES[rtype]} - {None})
    assert codes
    for code in codes:
        exp = {r['id'] for r in RES[rtype] if fact_code(rtype, r) == code}
        assert search_ids(http, rtype, {param: code}) == exp, code
        if system:
            assert search_ids(http, rtype,
                              {param: f'{system}|{code}'}) == exp, code
            assert search_ids(http, rtype,
                              {param: f'http://example.org/other|{code}'}) \
                == set()
    assert search_ids(http, rtype, {param: 'NO-SUCH-CODE'}) == set()


DATE_PARAMS = {  # type -> (search parameter, fact field)
    'Condition': ('onset-date', 'diagnosed_date'),
    'Observation': ('date', 'date_analysis'),
    'DiagnosticReport': ('date', 'date_analysis'),
    'Procedure': ('date', 'date'),
    'Immunization': ('date', 'date'),
}


@pytest.mark.parametrize('rtype', [t for t in DATE_PARAMS if t in READABLE])
def test_search_by_date(http, rtype):
    param, field = DATE_PARAMS[rtype]
    recs = [r for r in RES[rtype] if r[field]]
    years = year_boundaries([r[field] for r in recs])
    for y in years:
        b = dt.date(y, 1, 1)
        assert search_ids(http, rtype, {param: f'ge{y}'}) == {
            r['id'] for r in recs if fact_date(r[field]) >= b}, f'ge{y}'
        assert search_ids(http, rtype, {param: f'lt{y}'}) == {
            r['id'] for r in recs if fact_date(r[field]) < b}, f'lt{y}'
    # one exact day (the whole day matches)
    for r in recs[:3]:
        day = r[field][:10]
        assert search_ids(http, rtype, {param: day}) == {
            x['id'] for x in recs if x[field][:10] == day}, day
        assert search_ids(http, rtype, {param: f'ge{day}'}) == {
            x['id'] for x in recs if x[field][:10] >= day}, f'ge{day}'


@pytest.mark.skipif('MedicationStatement' not in READABLE,
                    reason='not readable')
def test_medication_statement_search_medication(http):
    for m in RES['Medication']:
        exp = {r['id'] for r in RES['MedicationStatement']
               if r['medication'] == m['id']}
        assert search_ids(http, 'MedicationStatement',
                          {'medication': f"Medication/{m['id']}"}) == exp


@pytest.mark.skipif('Immunization' not in READABLE, reason='not readable')
def test_immunization_search_lot_number(http):
    for r in RES['Immunization']:
        if r['lot']:
            assert search_ids(http, 'Immunization',
                              {'lot-number': r['lot']}) == {
                x['id'] for x in RES['Immunization'] if x['lot'] == r['lot']}


# ---------------------------------------------------------------------------
# Access control of other GNU Health users (ir.model.access defaults)
# ---------------------------------------------------------------------------
OTHER_USERS = [u for u in SECURITY if u != USER and u in KNOWN_PASSWORDS]


@pytest.mark.parametrize('login', OTHER_USERS)
def test_access_matrix_other_users(login):
    """Each user sees exactly the resource types GNU Health lets it read:
    200 with all records when the backing models are readable, 403
    otherwise.  All mismatches are reported together."""
    s = requests.Session()
    s.auth = (login, KNOWN_PASSWORDS[login])
    s.headers['Accept'] = FHIR_JSON
    errors = []
    try:
        for rtype in ALL_TYPES:
            readable = type_readable(login, rtype)
            r = s.get(url(rtype), params={'_count': '1000'}, timeout=TIMEOUT)
            body = r.json() if r.content else {}
            if readable is None:
                # Procedure and Observation merge several models: the server
                # either refuses (403) or serves only the records of the
                # readable models
                visible = {x['id'] for x in ALL_RES[rtype]
                           if all(model_readable(login, m)
                                  for m in fact_models(x))}
                if r.status_code == 200:
                    ids = {e['resource']['id'] for e in body.get('entry', [])}
                    if ids != visible:
                        errors.append(f'{rtype}: 200 with {sorted(ids)}, '
                                      f'expected 403 or only '
                                      f'{sorted(visible)}')
                elif r.status_code != 403:
                    errors.append(f'{rtype}: {r.status_code}, expected 403 '
                                  f'or 200 with only {sorted(visible)}')
            elif readable:
                if r.status_code != 200:
                    errors.append(f'{rtype}: {r.status_code}, expected 200')
                elif body.get('total') != len(ALL_RES[rtype]):
                    errors.append(f'{rtype}: total {body.get("total")}, '
                                  f'expected {len(ALL_RES[rtype])}')
            elif r.status_code != 403 or \
                    body.get('resourceType') != 'OperationOutcome':
                errors.append(f'{rtype}: {r.status_code} '
                              f'{body.get("resourceType")}, expected 403 '
                              f'OperationOutcome (no read access in GNU '
                              f'Health)')
    finally:
        s.close()
    assert not errors, f'user {login}:\n  ' + '\n  '.join(errors)


# ---------------------------------------------------------------------------
# ServiceRequest (lab orders)
# ---------------------------------------------------------------------------
SR_STATUS = {'draft': 'draft', 'ordered': 'active', 'tested': 'completed',
             'cancel': 'revoked'}


@pytest.mark.parametrize('fact', read_params('ServiceRequest'))
def test_service_request_read(http, fact):
    r = read(http, 'ServiceRequest', fact['id'])
    assert r['status'] == SR_STATUS.get(fact['state'], 'unknown')
    assert r['intent'] == 'order'
    assert r.get('priority') == ('urgent' if fact['urgent'] else 'routine')
    if fact['patient'] and (fact['source_type'] or 'patient') == 'patient':
        assert r['subject']['reference'] == f'Patient/{fact["patient"]}'
    if fact['test_code']:
        assert has_code(r['code'], fact['test_code'])
    if fact['request'] is not None:
        assert r['requisition']['value'] == str(fact['request'])
    if fact['doctor']:
        assert r['requester']['reference'] == f'Practitioner/{fact["doctor"]}'
    if fact['reason']:
        assert any(has_code(c, fact['reason'], ICD10)
                   for c in r.get('reasonCode', []))
    if fact['comment']:
        assert r['note'][0]['text'] == fact['comment']
    if fact['date']:
        assert same_instant(r['authoredOn'], fact['date'])


@pytest.mark.skipif('ServiceRequest' not in READABLE,
                    reason='ServiceRequest not readable')
def test_service_request_search(http):
    facts = RES['ServiceRequest']
    for p in sorted({f['patient'] for f in facts if f['patient']}):
        assert search_ids(http, 'ServiceRequest', {'patient': p}) == \
            {f['id'] for f in facts if f['patient'] == p
             and (f['source_type'] or 'patient') == 'patient'}
    for state, status in SR_STATUS.items():
        assert search_ids(http, 'ServiceRequest', {'status': status}) == \
            {f['id'] for f in facts if f['state'] == state}
    for code in sorted({f['test_code'] for f in facts if f['test_code']}):
        assert search_ids(http, 'ServiceRequest', {'code': code}) == \
            {f['id'] for f in facts if f['test_code'] == code}
    assert search_ids(http, 'ServiceRequest', {'priority': 'urgent'}) == \
        {f['id'] for f in facts if f['urgent']}


# ---------------------------------------------------------------------------
# MedicationRequest (prescription lines)
# ---------------------------------------------------------------------------
MR_STATUS = {'draft': 'draft', 'done': 'active', 'validated': 'active'}


@pytest.mark.parametrize('fact', read_params('MedicationRequest'))
def test_medication_request_read(http, fact):
    r = read(http, 'MedicationRequest', fact['id'])
    assert r['status'] == MR_STATUS.get(fact['state'], 'unknown')
    assert r['intent'] == 'order'
    assert r['subject']['reference'] == f'Patient/{fact["patient"]}'
    assert r['medicationReference']['reference'] == \
        f'Medication/{fact["medicament"]}'
    if fact['prescription']:
        assert r['groupIdentifier']['value'] == fact['prescription']
    if fact['prescriber']:
        assert r['requester']['reference'] == \
            f'Practitioner/{fact["prescriber"]}'


@pytest.mark.skipif('MedicationRequest' not in READABLE,
                    reason='MedicationRequest not readable')
def test_medication_request_search(http):
    facts = RES['MedicationRequest']
    for p in sorted({f['patient'] for f in facts}):
        assert search_ids(http, 'MedicationRequest', {'patient': p}) == \
            {f['id'] for f in facts if f['patient'] == p}
    for m in sorted({f['medicament'] for f in facts}):
        assert search_ids(http, 'MedicationRequest', {'medication': m}) == \
            {f['id'] for f in facts if f['medicament'] == m}
    assert search_ids(http, 'MedicationRequest', {'status': 'active'}) == \
        {f['id'] for f in facts if MR_STATUS.get(f['state']) == 'active'}
