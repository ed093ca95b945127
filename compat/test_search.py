"""FHIR R4 search features of a running gnuhealth-fhir server, checked
against the ground-truth facts of the real GNU Health database
(compat/export_facts.py): _sort (with paging forwards and backwards),
_total, chained and reverse-chained parameters, _include/_revinclude,
Patient compartment searches, quantity and composite parameters,
_summary/_elements/_format=xml and Prefer: handling=lenient.

Every expected result is computed here, in Python, from the facts the Tryton
ORM exported; nothing comes from the server's own SQL.

Environment (as compat/test_fhir.py):
  FHIR_BASE      server base URL, e.g. http://127.0.0.1:8099   (required)
  FACTS          facts JSON from export_facts.py                  (required)
  FHIR_USER      login      (default fhir_reader)
  FHIR_PASSWORD  password   (default: the known password of FHIR_USER)
  FHIR_TIMEOUT   seconds per HTTP request (default 60)

The module skips itself when FHIR_BASE or FACTS is unset.
"""
import functools
import json
import os
import unicodedata
import xml.etree.ElementTree as ET
from decimal import Decimal
from urllib.parse import urljoin

import pytest

from compat_env import (  # noqa: E402
    FACTS, FHIR_BASE, PASSWORD, TIMEOUT, USER, visible_resources,
)

import requests  # noqa: E402
RES = visible_resources(USER)
SECURITY = FACTS.get('security', {})

FHIR_JSON = 'application/fhir+json'
FHIR_NS = '{http://hl7.org/fhir}'
UCUM = 'http://unitsofmeasure.org'
SUBSETTED = ('http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
             'SUBSETTED')

RESOURCE_MODELS = {
    'Patient': ['gnuhealth.patient'],
    'Practitioner': ['gnuhealth.healthprofessional'],
    'Condition': ['gnuhealth.patient.disease'],
    'Observation': ['gnuhealth.lab.test.critearea'],
    'DiagnosticReport': ['gnuhealth.lab'],
    'Immunization': ['gnuhealth.vaccination'],
}


def readable(rtype):
    sec = SECURITY.get(USER)
    if sec is None:
        return True
    return all(sec['models'].get(m, {}).get('read', True)
               for m in RESOURCE_MODELS[rtype])


def needs(*types):
    missing = [t for t in types if not readable(t)]
    return pytest.mark.skipif(bool(missing),
                              reason=f'{USER} may not read {missing}')


# the facts' new keys (older facts files lack them)
HAS_UNIT_CODE = all('unit_code' in o for o in RES['Observation'])
HAS_ASSERTER = all('asserter' in c for c in RES['Condition'])


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


def fetch(http, path, params=None, expect=200, headers=None):
    r = http.get(url(path) if not path.startswith('http') else path,
                 params=params, headers=headers, timeout=TIMEOUT)
    assert r.status_code == expect, (
        f'GET {r.url} -> {r.status_code} (expected {expect}): {r.text[:500]}')
    return r


def get_json(http, path, params=None, expect=200, headers=None):
    return fetch(http, path, params, expect, headers).json()


def link(bundle, relation):
    for lk in bundle.get('link', []):
        if lk.get('relation') == relation:
            return urljoin(FHIR_BASE + '/', lk['url'])
    return None


def entries(bundle, mode):
    """(type, id) of the bundle's entries of one search mode, in order."""
    return [(e['resource']['resourceType'], e['resource']['id'])
            for e in bundle.get('entry', [])
            if e.get('search', {}).get('mode', 'match') == mode]


def match_ids(bundle, rtype):
    out = []
    for t, i in entries(bundle, 'match'):
        assert t == rtype, (t, i)
        out.append(i)
    return out


def walk(http, path, params, headers=None, max_pages=200):
    """The bundles of a search, following link 'next' to the end."""
    b = get_json(http, path, params, headers=headers)
    bundles = [b]
    for _ in range(max_pages):
        assert b['resourceType'] == 'Bundle' and b['type'] == 'searchset', b
        nxt = link(b, 'next')
        if not nxt:
            return bundles
        b = get_json(http, nxt, headers=headers)
        bundles.append(b)
    raise AssertionError(f'{path} {params}: more than {max_pages} pages')


def all_matches(http, rtype, params, path=None):
    bundles = walk(http, path or rtype, params)
    ids = [i for b in bundles for i in match_ids(b, rtype)]
    assert len(ids) == len(set(ids)), f'duplicates across pages: {ids}'
    return ids


def search_set(http, rtype, params, path=None):
    return set(all_matches(http, rtype, params, path))


# ---------------------------------------------------------------------------
# Fact helpers
# ---------------------------------------------------------------------------
def by_id(rtype):
    return {r['id']: r for r in RES[rtype]}


PATIENTS = by_id('Patient')
PRACTITIONERS = by_id('Practitioner')


def norm(s):
    s = unicodedata.normalize('NFKD', s or '')
    return ''.join(c for c in s if not unicodedata.combining(c)).casefold()


def starts(value, query):
    return value is not None and norm(value).startswith(norm(query))


def num_id(r):
    return int(r['id'])


def fhir_order(records, keys):
    """R4 _sort order computed from the facts: per key NULLs first ascending
    and last descending, then ties by id ascending: as numbers when every
    id is one, else as text in byte order (Observation's lab results and
    vital signs share text ids).  keys: [(fn, desc)]."""
    numeric = all(r['id'].isdigit() for r in records)

    def key_id(r):
        return int(r['id']) if numeric else r['id'].encode()

    def cmp(a, b):
        for fn, desc in keys:
            va, vb = fn(a), fn(b)
            if va == vb:
                continue
            if va is None:
                return 1 if desc else -1
            if vb is None:
                return -1 if desc else 1
            c = -1 if va < vb else 1
            return -c if desc else c
        return (key_id(a) > key_id(b)) - (key_id(a) < key_id(b))
    return [r['id'] for r in sorted(records, key=functools.cmp_to_key(cmp))]


# ---------------------------------------------------------------------------
# _sort, with paging forwards (next) and backwards (previous)
# ---------------------------------------------------------------------------
def field(name):
    return lambda r: r[name]


def result_value(r):
    return r['result']


SORTS = [
    # (type, _sort, [(fact fn, descending)])
    ('Patient', 'birthdate', [(field('birthDate'), False)]),
    ('Patient', '-birthdate', [(field('birthDate'), True)]),
    ('Patient', '_id', [(num_id, False)]),
    ('Patient', '-_id', [(num_id, True)]),
    ('Patient', 'gender,_id', [(field('gender'), False), (num_id, False)]),
    ('Patient', '-gender,-birthdate',
     [(field('gender'), True), (field('birthDate'), True)]),
    ('Condition', '-_id', [(num_id, True)]),
    ('Condition', 'onset-date', [(field('diagnosed_date'), False)]),
    ('Condition', '-onset-date', [(field('diagnosed_date'), True)]),
    ('Condition', 'patient,-onset-date',
     [(lambda r: int(r['patient']) if r['patient'] else None, False),
      (field('diagnosed_date'), True)]),
    ('Observation', '-date', [(field('date_analysis'), True)]),
    ('Observation', 'value-quantity', [(result_value, False)]),
    ('Observation', '-value-quantity', [(result_value, True)]),
    ('Immunization', '-date', [(field('date'), True)]),
]


def test_gender_sort_is_unambiguous():
    """The facts' genders sort the same by GNU Health's stored code and by
    the FHIR code, so the gender sorts below have one right answer."""
    pats = RES['Patient']
    by_code = fhir_order(pats, [(field('gender_code'), False)])
    by_fhir = fhir_order(pats, [(field('gender'), False)])
    assert by_code == by_fhir


@pytest.mark.parametrize('rtype,sort,keys', [
    pytest.param(t, s, k, id=f'{t}?_sort={s}') for t, s, k in SORTS])
def test_sort_pages_forward_and_back(http, rtype, sort, keys):
    if not readable(rtype):
        pytest.skip(f'{USER} may not read {rtype}')
    expected = fhir_order(RES[rtype], keys)
    # one page
    b = get_json(http, rtype, {'_sort': sort, '_count': '1000'})
    assert match_ids(b, rtype) == expected
    assert b.get('total') == len(expected)
    # small pages: next to the end, then previous back to the start
    for count in (2, 3):
        bundles = walk(http, rtype, {'_sort': sort, '_count': str(count)})
        assert all(len(match_ids(x, rtype)) <= count for x in bundles)
        forward = [i for x in bundles for i in match_ids(x, rtype)]
        assert forward == expected, f'_count={count} forward'
        assert link(bundles[0], 'previous') is None
        b = bundles[-1]
        backward = match_ids(b, rtype)
        pages = 1
        while (prev := link(b, 'previous')) is not None:
            b = get_json(http, prev)
            backward = match_ids(b, rtype) + backward
            pages += 1
            assert pages <= len(bundles), 'previous links loop'
        assert backward == expected, f'_count={count} backward'
        assert pages == len(bundles)


@needs('Patient')
def test_sort_unknown_parameter_400(http):
    r = fetch(http, 'Patient', {'_sort': 'no-such-param'}, expect=400)
    assert r.json()['resourceType'] == 'OperationOutcome'


@needs('Patient')
def test_sort_with_filter(http):
    exp = fhir_order([p for p in RES['Patient'] if p['gender'] == 'male'],
                     [(field('birthDate'), True)])
    assert all_matches(http, 'Patient', {'gender': 'male',
                                         '_sort': '-birthdate',
                                         '_count': '1'}) == exp


# ---------------------------------------------------------------------------
# _total
# ---------------------------------------------------------------------------
@needs('Patient', 'Condition')
@pytest.mark.parametrize('rtype', ['Patient', 'Condition'])
def test_total_none_and_accurate(http, rtype):
    n = len(RES[rtype])
    bundles = walk(http, rtype, {'_total': 'none', '_count': '2'})
    assert all('total' not in b for b in bundles)
    assert {i for b in bundles for i in match_ids(b, rtype)} == \
        {r['id'] for r in RES[rtype]}
    bundles = walk(http, rtype, {'_total': 'accurate', '_count': '2'})
    assert bundles[0].get('total') == n
    assert {i for b in bundles for i in match_ids(b, rtype)} == \
        {r['id'] for r in RES[rtype]}


@needs('Patient')
def test_total_invalid_400(http):
    fetch(http, 'Patient', {'_total': 'sometimes'}, expect=400)


# ---------------------------------------------------------------------------
# Chained and reverse-chained parameters
# ---------------------------------------------------------------------------
def patient_of(r):
    return PATIENTS.get(r['patient'])


def gp_of(patient):
    if not patient or not patient['general_practitioner']:
        return None
    return PRACTITIONERS.get(patient['general_practitioner'])


@needs('Condition', 'Patient')
def test_chain_patient_gender(http):
    for g in ('male', 'female', 'other', 'unknown'):
        exp = {c['id'] for c in RES['Condition']
               if patient_of(c) and patient_of(c)['gender'] == g}
        assert search_set(http, 'Condition', {'patient.gender': g}) == exp, g
        assert search_set(http, 'Condition',
                          {'subject:Patient.gender': g}) == exp, g


@needs('Condition', 'Patient')
def test_chain_subject_patient_birthdate(http):
    for prefix, cmp in (('ge', lambda d: d >= '1980-01-01'),
                        ('lt', lambda d: d < '1980-01-01')):
        exp = {c['id'] for c in RES['Condition']
               if patient_of(c) and patient_of(c)['birthDate']
               and cmp(patient_of(c)['birthDate'])}
        assert exp, prefix   # both sides have conditions in the sample data
        assert search_set(http, 'Condition', {
            'subject:Patient.birthdate': f'{prefix}1980'}) == exp, prefix
        assert search_set(http, 'Condition', {
            'patient.birthdate': f'{prefix}1980'}) == exp, prefix


@needs('Condition', 'Observation', 'Patient', 'Practitioner')
@pytest.mark.parametrize('rtype', ['Observation', 'Condition'])
def test_chain_two_levels_general_practitioner_family(http, rtype):
    queries = set()
    for hp in RES['Practitioner']:
        if hp['family']:
            queries.add(hp['family'])
            queries.add(hp['family'][:3].lower())
    assert queries
    for q in sorted(queries):
        exp = {r['id'] for r in RES[rtype]
               if gp_of(patient_of(r)) and starts(gp_of(patient_of(r))
                                                  ['family'], q)}
        assert search_set(http, rtype, {
            'patient.general-practitioner.family': q}) == exp, q
        assert search_set(http, rtype, {
            'subject:Patient.general-practitioner:Practitioner.family': q}) \
            == exp, q
    assert search_set(http, rtype, {
        'patient.general-practitioner.family': 'Nosuchfamily'}) == set()


@needs('Patient', 'Condition')
def test_has_condition_code(http):
    codes = sorted({c['code'] for c in RES['Condition']})
    assert codes
    for code in codes:
        exp = {c['patient'] for c in RES['Condition'] if c['code'] == code}
        assert search_set(http, 'Patient', {
            '_has:Condition:patient:code': code}) == exp, code
    # an OR list
    two = codes[:2]
    exp = {c['patient'] for c in RES['Condition'] if c['code'] in two}
    assert search_set(http, 'Patient', {
        '_has:Condition:patient:code': ','.join(two)}) == exp
    assert search_set(http, 'Patient', {
        '_has:Condition:patient:code': 'NO-SUCH-CODE'}) == set()


@needs('Patient', 'Observation')
def test_has_observation_code(http):
    for code in sorted({o['code'] for o in RES['Observation']}):
        exp = {o['patient'] for o in RES['Observation'] if o['code'] == code}
        assert search_set(http, 'Patient', {
            '_has:Observation:patient:code': code}) == exp, code


@needs('Practitioner', 'Patient', 'Condition')
def test_has_nested(http):
    """Practitioners who are the general practitioner of a patient with a
    condition of the code."""
    for code in sorted({c['code'] for c in RES['Condition']}):
        exp = {gp_of(PATIENTS[c['patient']])['id'] for c in RES['Condition']
               if c['code'] == code and gp_of(PATIENTS.get(c['patient']))}
        got = search_set(http, 'Practitioner', {
            '_has:Patient:general-practitioner:_has:Condition:patient:code':
            code})
        assert got == exp, code


@needs('Patient', 'Condition')
def test_has_and_chain_combined(http):
    """_has AND a plain parameter: both must hold."""
    for code in sorted({c['code'] for c in RES['Condition']}):
        exp = {c['patient'] for c in RES['Condition'] if c['code'] == code
               and PATIENTS[c['patient']]['gender'] == 'male'}
        assert search_set(http, 'Patient', {
            '_has:Condition:patient:code': code, 'gender': 'male'}) == exp


# ---------------------------------------------------------------------------
# _include / _revinclude
# ---------------------------------------------------------------------------
def check_include_bundle(b, rtype, expected_includes):
    """Matches are of rtype, every entry appears once, includes have
    search.mode=include and are exactly the expected ones for the page."""
    keys = [(e['resource']['resourceType'], e['resource']['id'])
            for e in b.get('entry', [])]
    assert len(keys) == len(set(keys)), f'an entry appears twice: {keys}'
    matches = match_ids(b, rtype)
    incs = entries(b, 'include')
    assert set(incs) == expected_includes(matches), (matches, incs)
    other = [e for e in b.get('entry', [])
             if e.get('search', {}).get('mode') not in ('match', 'include')]
    assert not other, other
    return matches


def run_include(http, rtype, params, expected_includes):
    total = None
    seen = []
    for count in ('1000', '2'):
        bundles = walk(http, rtype, params + [('_count', count)])
        total = bundles[0].get('total')
        ids = []
        for b in bundles:
            ids += check_include_bundle(b, rtype, expected_includes)
        seen.append(ids)
    # totals count the matches only
    assert total == len(seen[0]) == len(set(seen[1]))
    return seen[0]


@needs('Condition', 'Patient')
def test_include_condition_patient(http):
    conds = by_id('Condition')

    def exp(ids):
        return {('Patient', conds[i]['patient']) for i in ids
                if conds[i]['patient']}
    got = run_include(http, 'Condition', [('_include', 'Condition:patient')],
                      exp)
    assert set(got) == set(conds)
    # a filtered search includes only the patients of its matches
    got = run_include(http, 'Condition',
                      [('_include', 'Condition:subject:Patient'),
                       ('code', RES['Condition'][0]['code'])], exp)
    assert set(got) == {c['id'] for c in RES['Condition']
                        if c['code'] == RES['Condition'][0]['code']}


@needs('Condition', 'Patient', 'Practitioner')
def test_include_iterate_general_practitioner(http):
    conds = by_id('Condition')

    def exp(ids):
        pats = {conds[i]['patient'] for i in ids if conds[i]['patient']}
        gps = {PATIENTS[p]['general_practitioner'] for p in pats
               if PATIENTS[p]['general_practitioner']}
        return {('Patient', p) for p in pats} | \
            {('Practitioner', g) for g in gps}
    got = run_include(http, 'Condition', [
        ('_include', 'Condition:patient'),
        ('_include:iterate', 'Patient:general-practitioner')], exp)
    assert set(got) == set(conds)


@needs('Immunization', 'Patient', 'Practitioner')
def test_include_iterate_from_immunization(http):
    imms = by_id('Immunization')

    def exp(ids):
        pats = {imms[i]['patient'] for i in ids if imms[i]['patient']}
        return {('Patient', p) for p in pats} | \
            {('Practitioner', PATIENTS[p]['general_practitioner'])
             for p in pats if PATIENTS[p]['general_practitioner']}
    run_include(http, 'Immunization', [
        ('_include', 'Immunization:patient'),
        ('_include:iterate', 'Patient:general-practitioner')], exp)


@needs('Patient', 'Condition')
def test_revinclude_condition_patient(http):
    def exp(ids):
        return {('Condition', c['id']) for c in RES['Condition']
                if c['patient'] in ids}
    got = run_include(http, 'Patient', [('_revinclude', 'Condition:patient')],
                      exp)
    assert set(got) == set(PATIENTS)


@needs('Patient', 'Condition', 'Immunization')
def test_revinclude_two_types(http):
    def exp(ids):
        return {('Condition', c['id']) for c in RES['Condition']
                if c['patient'] in ids} | \
            {('Immunization', i['id']) for i in RES['Immunization']
             if i['patient'] in ids}
    run_include(http, 'Patient', [('_revinclude', 'Condition:patient'),
                                  ('_revinclude', 'Immunization:patient'),
                                  ('_sort', '-birthdate')], exp)


@needs('Condition', 'Patient', 'Practitioner', 'DiagnosticReport')
@pytest.mark.skipif(not HAS_ASSERTER, reason='facts without asserter')
def test_include_condition_all(http):
    """Condition:* follows every reference parameter of Condition (patient,
    subject, asserter, evidence-detail); the patient is included once."""
    conds = by_id('Condition')

    def exp(ids):
        out = set()
        for i in ids:
            c = conds[i]
            if c['patient']:
                out.add(('Patient', c['patient']))
            if c['asserter']:
                out.add(('Practitioner', c['asserter']))
            if c['evidence_report']:
                out.add(('DiagnosticReport', c['evidence_report']))
        return out
    got = run_include(http, 'Condition', [('_include', 'Condition:*')], exp)
    assert set(got) == set(conds)


@needs('Condition')
def test_include_bad_value_400(http):
    fetch(http, 'Condition', {'_include': 'Condition:no-such'}, expect=400)


# ---------------------------------------------------------------------------
# Patient compartment
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('rtype', ['Condition', 'Observation',
                                   'Immunization'])
def test_patient_compartment(http, rtype):
    if not readable(rtype) or not readable('Patient'):
        pytest.skip('not readable')
    for p in RES['Patient']:
        exp = {r['id'] for r in RES[rtype] if r['patient'] == p['id']}
        got = search_set(http, rtype, {'_count': '2'},
                         path=f"Patient/{p['id']}/{rtype}")
        assert got == exp, f"Patient/{p['id']}/{rtype}"
        b = get_json(http, f"Patient/{p['id']}/{rtype}")
        assert b.get('total') == len(exp)


@needs('Patient', 'Condition')
def test_patient_compartment_with_parameters(http):
    for c in RES['Condition']:
        exp = {x['id'] for x in RES['Condition']
               if x['patient'] == c['patient'] and x['code'] == c['code']}
        got = search_set(http, 'Condition', {'code': c['code']},
                         path=f"Patient/{c['patient']}/Condition")
        assert got == exp


def test_patient_compartment_medication_400(http):
    r = fetch(http, f"Patient/{RES['Patient'][0]['id']}/Medication",
              expect=400)
    assert r.json()['resourceType'] == 'OperationOutcome'


# ---------------------------------------------------------------------------
# Quantity and composite parameters (Observation)
# ---------------------------------------------------------------------------
def dec(v):
    return Decimal(repr(float(v)))


def precision_range(text):
    """R4: a number means the interval its last digit implies, [lo, hi)."""
    d = Decimal(text)
    half = Decimal(5) * Decimal(10) ** (d.as_tuple().exponent - 1)
    return d - half, d + half


def quantity_matches(o, prefix, text):
    if o['result'] is None:
        return False
    v, n = dec(o['result']), Decimal(text)
    lo, hi = precision_range(text)
    return {
        'eq': lambda: lo <= v < hi,
        'ne': lambda: not (lo <= v < hi),
        'gt': lambda: v > n, 'ge': lambda: v >= n,
        'lt': lambda: v < n, 'le': lambda: v <= n,
        'ap': lambda: abs(v - n) <= abs(n) / 10,
    }[prefix]()


def unit_ok(o, code):
    return code is None or code in (o.get('unit_code'), o.get('unit'))


def obs_expected(prefix, text, code=None):
    return {o['id'] for o in RES['Observation']
            if quantity_matches(o, prefix, text) and unit_ok(o, code)}


# values picked from the sample results: 88.5 lies on the upper edge of
# "88" ([87.5, 88.5), excluded) and the lower edge of "89"; "7" is
# [6.5, 7.5) with 7.5 excluded; "5.4" ([5.35, 5.45)) matches nothing
EQ_VALUES = ['10.9', '4.5', '88', '89', '7', '7.5', '250', '2.75', '5.4',
             '0.07']
CMP_VALUES = ['7.4', '10', '100', '0.28', '88.5']
# ap: +-10 %; no sample result lies within 1 % of these bounds
AP_VALUES = ['7', '4.5', '45', '250', '1000']


def ap_safe(text):
    n = Decimal(text)
    for o in RES['Observation']:
        if o['result'] is not None:
            for edge in (n - abs(n) / 10, n + abs(n) / 10):
                if abs(dec(o['result']) - edge) <= abs(n) / 100:
                    return False
    return True


@needs('Observation')
def test_value_quantity_eq_precision(http):
    assert obs_expected('eq', '88') == set()   # the edge is excluded
    assert obs_expected('eq', '89')            # ... and included here
    for v in EQ_VALUES:
        exp = obs_expected('eq', v)
        assert search_set(http, 'Observation',
                          {'value-quantity': v}) == exp, v
        assert search_set(http, 'Observation',
                          {'value-quantity': f'eq{v}'}) == exp, v
        assert search_set(http, 'Observation',
                          {'value-quantity': f'ne{v}'}) == \
            obs_expected('ne', v), f'ne{v}'


@needs('Observation')
@pytest.mark.parametrize('prefix', ['gt', 'ge', 'lt', 'le'])
def test_value_quantity_comparisons(http, prefix):
    for v in CMP_VALUES:
        assert search_set(http, 'Observation', {
            'value-quantity': f'{prefix}{v}'}) == \
            obs_expected(prefix, v), f'{prefix}{v}'


@needs('Observation')
def test_value_quantity_ap(http):
    for v in AP_VALUES:
        assert ap_safe(v), v
        assert search_set(http, 'Observation', {
            'value-quantity': f'ap{v}'}) == obs_expected('ap', v), f'ap{v}'


@needs('Observation')
@pytest.mark.skipif(not HAS_UNIT_CODE, reason='facts without unit_code')
def test_value_quantity_units(http):
    units = sorted({o['unit_code'] for o in RES['Observation']
                    if o['unit_code']})
    assert units
    for code in units:
        for v in ('0', '5'):
            exp = obs_expected('ge', v, code)
            assert search_set(http, 'Observation', {
                'value-quantity': f'ge{v}|{UCUM}|{code}'}) == exp, code
            assert search_set(http, 'Observation', {
                'value-quantity': f'ge{v}||{code}'}) == exp, code
    names = sorted({o['unit'] for o in RES['Observation'] if o['unit']})
    for name in names:
        exp = obs_expected('ge', '0', name)
        assert search_set(http, 'Observation', {
            'value-quantity': f'ge0||{name}'}) == exp, name
    # a unit no result has, and a system other than UCUM
    assert search_set(http, 'Observation', {
        'value-quantity': f'ge0|{UCUM}|no-such-unit'}) == set()
    assert search_set(http, 'Observation', {
        'value-quantity': f'ge0|http://example.org/units|{units[0]}'}) \
        == set()


@needs('Observation')
def test_code_value_quantity(http):
    for o in RES['Observation']:
        if o['result'] is None:
            continue
        for prefix, v in (('gt', '0'), ('lt', '1000000'),
                          ('gt', repr(float(o['result']))),
                          ('ge', repr(float(o['result'])))):
            exp = {x['id'] for x in RES['Observation']
                   if x['code'] == o['code']
                   and quantity_matches(x, prefix, v)}
            assert search_set(http, 'Observation', {
                'code-value-quantity': f"{o['code']}${prefix}{v}"}) == exp, \
                (o['code'], prefix, v)
    assert search_set(http, 'Observation', {
        'code-value-quantity': 'NO-SUCH-CODE$gt0'}) == set()


# ---------------------------------------------------------------------------
# _summary, _elements, _format=xml
# ---------------------------------------------------------------------------
def tags(res):
    return {(t.get('system'), t.get('code'))
            for t in res.get('meta', {}).get('tag', [])}


@needs('Patient', 'Condition')
def test_summary_count(http):
    b = get_json(http, 'Patient', {'_summary': 'count'})
    assert b.get('total') == len(RES['Patient'])
    assert not b.get('entry')
    for p in RES['Patient']:
        n = sum(1 for c in RES['Condition'] if c['patient'] == p['id'])
        b = get_json(http, 'Condition', {'patient': p['id'],
                                         '_summary': 'count'})
        assert b.get('total') == n and not b.get('entry')


# R4 Patient elements marked isSummary (deceased[x] as its JSON names)
PATIENT_SUMMARY = {'id', 'meta', 'implicitRules', 'identifier', 'active',
                   'name', 'telecom', 'gender', 'birthDate',
                   'deceasedBoolean', 'deceasedDateTime', 'address',
                   'managingOrganization', 'link'}


@needs('Patient')
def test_summary_true_subsetted(http):
    """_summary=true keeps the summary elements of the full resource; a
    resource that lost elements is tagged SUBSETTED (one that had only
    summary elements, e.g. the unidentified patient, loses nothing)."""
    bundles = walk(http, 'Patient', {'_summary': 'true', '_count': '2'})
    ids = []
    for b in bundles:
        for e in b.get('entry', []):
            res = e['resource']
            full = get_json(http, f"Patient/{res['id']}")
            kept = set(full) - {'resourceType'}
            assert set(res) - {'resourceType'} == kept & PATIENT_SUMMARY, \
                (res['id'], sorted(res), sorted(full))
            assert (SUBSETTED in tags(res)) == bool(kept - PATIENT_SUMMARY), \
                (res['id'], res.get('meta'), sorted(full))
            ids.append(res['id'])
    assert set(ids) == set(PATIENTS)
    # the sample data has patients with non-summary elements
    assert any(SUBSETTED in tags(e['resource'])
               for b in bundles for e in b.get('entry', []))


@needs('Patient')
def test_elements_id_birthdate(http):
    if any(v.get('fields', {}).get('party.party', {}).get('dob', {})
           .get('read') is False for k, v in SECURITY.items() if k == USER):
        pytest.skip('birth date not readable')
    bundles = walk(http, 'Patient', {'_elements': 'id,birthDate',
                                     '_count': '2'})
    seen = set()
    for b in bundles:
        for e in b.get('entry', []):
            res = e['resource']
            assert set(res) <= {'resourceType', 'id', 'meta', 'birthDate'}, \
                sorted(res)
            assert res.get('birthDate') == PATIENTS[res['id']]['birthDate']
            assert SUBSETTED in tags(res)
            seen.add(res['id'])
    assert seen == set(PATIENTS)


def xml_entries(text):
    root = ET.fromstring(text)
    assert root.tag == FHIR_NS + 'Bundle', root.tag
    out = []
    for e in root.findall(FHIR_NS + 'entry'):
        res = e.find(FHIR_NS + 'resource')
        inner = list(res)[0]
        rid = inner.find(FHIR_NS + 'id').get('value')
        mode = e.find(f'{FHIR_NS}search/{FHIR_NS}mode')
        out.append((inner.tag[len(FHIR_NS):], rid,
                    mode.get('value') if mode is not None else 'match'))
    total = root.find(FHIR_NS + 'total')
    return out, (int(total.get('value')) if total is not None else None)


def json_entries(b):
    return [(e['resource']['resourceType'], e['resource']['id'],
             e.get('search', {}).get('mode', 'match'))
            for e in b.get('entry', [])]


@needs('Patient', 'Condition')
@pytest.mark.parametrize('rtype,params', [
    ('Patient', {'_sort': '-birthdate'}),
    ('Condition', {'_include': 'Condition:patient', '_sort': '-_id'}),
])
def test_format_xml_same_ids(http, rtype, params):
    j = get_json(http, rtype, params)
    r = fetch(http, rtype, dict(params, _format='xml'))
    assert 'xml' in r.headers.get('Content-Type', ''), r.headers
    got, total = xml_entries(r.content)
    assert got == json_entries(j)
    assert total == j.get('total')
    assert [i for t, i, m in got if m == 'match'] == \
        match_ids(j, rtype)


@needs('Patient')
def test_format_xml_read(http):
    for p in RES['Patient']:
        r = fetch(http, f"Patient/{p['id']}", {'_format': 'xml'})
        root = ET.fromstring(r.content)
        assert root.tag == FHIR_NS + 'Patient'
        assert root.find(FHIR_NS + 'id').get('value') == p['id']
        bd = root.find(FHIR_NS + 'birthDate')
        assert (bd.get('value') if bd is not None else None) == p['birthDate']


# ---------------------------------------------------------------------------
# Prefer: handling=lenient
# ---------------------------------------------------------------------------
@needs('Patient')
def test_unknown_parameter_strict_400(http):
    r = fetch(http, 'Patient', {'no-such-param': 'x'}, expect=400)
    assert r.json()['resourceType'] == 'OperationOutcome'


@needs('Patient')
def test_unknown_parameter_lenient(http):
    hdr = {'Prefer': 'handling=lenient'}
    b = get_json(http, 'Patient', {'no-such-param': 'x', 'gender': 'female'},
                 headers=hdr)
    assert set(match_ids(b, 'Patient')) == \
        {p['id'] for p in RES['Patient'] if p['gender'] == 'female'}
    assert b.get('total') == sum(1 for p in RES['Patient']
                                 if p['gender'] == 'female')
    outcomes = [e['resource'] for e in b.get('entry', [])
                if e.get('search', {}).get('mode') == 'outcome']
    assert len(outcomes) == 1, b.get('entry')
    assert outcomes[0]['resourceType'] == 'OperationOutcome'
    assert 'no-such-param' in json.dumps(outcomes[0])


# ---------------------------------------------------------------------------
# The same features for users with fewer rights (facts key "access": what
# trytond itself lets each user read): chains, _has, includes and
# compartments never reach rows or fields the user may not read
# ---------------------------------------------------------------------------
ACCESS_USERS = FACTS.get('access', {}).get('users', {})
OTHER_PASSWORDS = {
    'frontdesk': ('GH_FRONTDESK_PASSWORD', 'gnusolidario-Front1'),
    'nurse': ('GH_NURSE_PASSWORD', 'gnusolidario-Nurse1'),
    'labtech': ('GH_LABTECH_PASSWORD', 'gnusolidario-Lab1'),
    'abetz': ('GH_DOCTOR_PASSWORD', 'gnusolidario-Betz1'),
}


def user_session(login):
    if login not in ACCESS_USERS:
        pytest.skip(f'no access facts for {login}')
    var, default = OTHER_PASSWORDS[login]
    s = requests.Session()
    s.auth = (login, os.environ.get(var, default))
    s.headers['Accept'] = FHIR_JSON
    return s


def model_facts(login, model):
    return ACCESS_USERS[login]['models'][model]


def field_readable(login, model, name):
    return ACCESS_USERS[login]['fields'].get(model, {}).get(name, True)


def test_nurse_vaccination_rule_in_compartment_has_and_revinclude():
    """nurse sees only the vaccinations of the record rule (dose 1): the
    compartment, _revinclude and _has see those rows only."""
    s = user_session('nurse')
    try:
        vac = model_facts('nurse', 'gnuhealth.vaccination')
        if not vac['read']:
            pytest.skip('nurse may not read vaccinations')
        visible = {str(i) for i in vac['visible_ids']}
        imms = [i for i in RES['Immunization'] if i['id'] in visible]
        assert len(imms) < len(RES['Immunization'])   # the rule hides some
        for p in RES['Patient']:
            exp = {i['id'] for i in imms if i['patient'] == p['id']}
            assert search_set(s, 'Immunization', {},
                              path=f"Patient/{p['id']}/Immunization") == exp
        b = get_json(s, 'Patient', {'_revinclude': 'Immunization:patient',
                                    '_count': '1000', '_elements': 'id'})
        assert set(entries(b, 'include')) == \
            {('Immunization', i['id']) for i in imms}
        assert b.get('total') == len(RES['Patient'])
        for i in RES['Immunization']:
            if not i['lot']:
                continue
            exp = {x['patient'] for x in imms if x['lot'] == i['lot']}
            assert search_set(s, 'Patient', {
                '_has:Immunization:patient:lot-number': i['lot']}) == exp, \
                i['lot']
    finally:
        s.close()


def test_nurse_chain_on_hidden_field_403():
    """party.party.dob is hidden from nurse: a chain searching it is
    refused, as searching it directly is (trytond checks the fields of a
    search domain)."""
    s = user_session('nurse')
    try:
        if field_readable('nurse', 'party.party', 'dob'):
            pytest.skip('dob readable by nurse')
        if not model_facts('nurse', 'gnuhealth.vaccination')['read']:
            pytest.skip('nurse may not read vaccinations')
        fetch(s, 'Immunization', {'patient.birthdate': 'ge1980'}, expect=403)
    finally:
        s.close()


@pytest.mark.parametrize('sort', ['birthdate', '-birthdate'])
def test_nurse_sort_on_hidden_field_403(sort):
    s = user_session('nurse')
    try:
        if field_readable('nurse', 'party.party', 'dob'):
            pytest.skip('dob readable by nurse')
        fetch(s, 'Patient', {'_sort': sort}, expect=403)
    finally:
        s.close()


def test_doctor_sort_on_birthdate_200():
    s = user_session('abetz')
    try:
        exp = fhir_order(RES['Patient'], [(field('birthDate'), False)])
        b = get_json(s, 'Patient', {'_sort': 'birthdate'})
        assert match_ids(b, 'Patient') == exp
    finally:
        s.close()


# (login, type, model): the type is out of reach (checked against the facts)
DENIED_REACH = [
    ('frontdesk', 'Condition', 'gnuhealth.patient.disease'),
    ('labtech', 'Condition', 'gnuhealth.patient.disease'),
    # labtech: a record rule on gnuhealth.lab the server cannot translate
    ('labtech', 'Observation', 'gnuhealth.lab'),
]


def denied(login, model):
    m = model_facts(login, model)
    rule = m.get('rule_domain')
    return not m['read'] or (login == 'labtech' and model == 'gnuhealth.lab'
                             and bool(rule))


@pytest.mark.parametrize('login,rtype,model', DENIED_REACH)
def test_denied_type_not_reached(login, rtype, model):
    """A type the user may not search (no read access, or a record rule the
    server cannot apply) is 403 through _has and the compartment, and never
    appears among _revinclude'd resources."""
    s = user_session(login)
    try:
        if not denied(login, model):
            pytest.skip(f'{login} may read {model}')
        code = RES[rtype][0]['code']
        if rtype == 'Observation':
            # The lab results are left out of Observation, which still serves
            # the vital signs the user may read.
            b = fetch(s, 'Patient', {f'_has:{rtype}:patient:code': code}).json()
            assert not entries(b, 'match'), b
            lab = {o['id'] for o in RES[rtype] if o['kind'] == 'lab'}
            b = fetch(s, f"Patient/{RES[rtype][0]['patient']}/{rtype}",
                      {'_count': '1000'}).json()
            assert not lab & {i for _, i in entries(b, 'match')}
            return
        fetch(s, 'Patient', {f'_has:{rtype}:patient:code': code},
              expect=403)
        fetch(s, f"Patient/{RES[rtype][0]['patient']}/{rtype}", expect=403)
        r = s.get(url('Patient'), params={'_revinclude': f'{rtype}:patient'},
                  timeout=TIMEOUT)
        assert r.status_code in (200, 403), r.text[:300]
        if r.status_code == 200:
            assert not [e for e in entries(r.json(), 'include')
                        if e[0] == rtype]
    finally:
        s.close()


# ---------------------------------------------------------------------------
# Modifiers :text, :identifier, :of-type; code-value-string and combo-*
# ---------------------------------------------------------------------------
def words_start(text, query):
    """Some word of `text` starts with `query` (case and accents aside)."""
    return any(norm(w).startswith(norm(query)) for w in (text or '').split())


@needs('Condition')
def test_token_text_searches_the_display(http):
    word = next(w for c in RES['Condition'] for w in (c['display'] or '').split()
                if len(w) > 4 and w.isalpha())
    query = word[:4]
    expected = {c['id'] for c in RES['Condition']
                if words_start(c['display'], query)}
    assert expected
    assert search_set(http, 'Condition', {'code:text': query}) == expected


@needs('Condition', 'Patient')
def test_reference_identifier_modifier(http):
    patient = next(p for p in RES['Patient'] if p.get('puid')
                   and any(c['patient'] == p['id'] for c in RES['Condition']))
    system = url('sid/puid')
    expected = {c['id'] for c in RES['Condition'] if c['patient'] == patient['id']}
    got = search_set(http, 'Condition',
                     {'subject:identifier': f'{system}|{patient["puid"]}'})
    assert got == expected


V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203'
ALT_TYPE_CODES = {'passport': 'PPN', 'country_id': 'NI', 'medical_record': 'MR'}


@needs('Patient')
@pytest.mark.parametrize('alt_type', sorted(ALT_TYPE_CODES))
def test_identifier_of_type(http, alt_type):
    code = ALT_TYPE_CODES[alt_type]
    owners = [(p['id'], a['code']) for p in RES['Patient']
              for a in p.get('alternative_ids', []) if a['type'] == alt_type]
    if not owners:
        pytest.skip(f'no {alt_type} identifier in the facts')
    pid, value = owners[0]
    expected = {p['id'] for p in RES['Patient']
                if any(a['type'] == alt_type and a['code'] == value
                       for a in p.get('alternative_ids', []))}
    assert pid in expected
    got = search_set(http, 'Patient',
                     {'identifier:of-type': f'{V2_0203}|{code}|{value}'})
    assert got == expected
    other = next(c for t, c in ALT_TYPE_CODES.items() if t != alt_type)
    assert not search_set(http, 'Patient',
                          {'identifier:of-type': f'{V2_0203}|{other}|{value}'})


@needs('Observation')
def test_combo_parameters_equal_the_plain_ones(http):
    code = next(o['code'] for o in RES['Observation'] if o.get('result') is not None)
    for plain, combo in [({'code': code}, {'combo-code': code}),
                         ({'code-value-quantity': f'{code}$gt0'},
                          {'combo-code-value-quantity': f'{code}$gt0'}),
                         ({'value-quantity': 'gt0'}, {'combo-value-quantity': 'gt0'})]:
        # a blood pressure's components count for the combo parameters only
        pressures = {o['id'] for o in RES['Observation']
                     if o.get('measure') == 'bp'}
        assert search_set(http, 'Observation', plain) == \
            search_set(http, 'Observation', combo) - pressures, (plain, combo)


@needs('Observation')
def test_code_value_string(http):
    texts = [o for o in RES['Observation']
             if o.get('result') is None and o.get('result_text')]
    if not texts:
        pytest.skip('no qualitative result in the facts')
    o = texts[0]
    query = o['result_text'][:2]
    expected = {x['id'] for x in RES['Observation']
                if x['code'] == o['code'] and x.get('result') is None
                and starts(x.get('result_text'), query)}
    got = search_set(http, 'Observation',
                     {'code-value-string': f'{o["code"]}${query}'})
    assert got == expected
