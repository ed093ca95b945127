"""Location and PractitionerRole of a running gnuhealth-fhir server, checked
against the ground-truth facts of the real GNU Health database
(compat/export_facts.py, keys "locations" and "practitioner_roles"): every
read, and every search parameter of both types.

The FHIR side of the mapping is stated here, independently of the server:
a place whose state is "na" is suspended, every other one active; beds and
operating rooms carry the v2-0116 bed status of their state; buildings,
wards, beds and operating rooms have a location-physical-type; a unit is a
v3 RoleCode HU (hospital unit); a bed has its GNU Health bed type.

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
    FACTS, FHIR_BASE, USER, get_json, http, search, where,
)

if 'locations' not in FACTS:
    pytest.skip('facts without "locations" (older export_facts.py)',
                allow_module_level=True)
LOCATIONS = {r['id']: r for r in FACTS['locations']}
ROLES = {r['id']: r for r in FACTS['practitioner_roles']}

STATUS_0116 = 'http://terminology.hl7.org/CodeSystem/v2-0116'
ROLE_CODE = 'http://terminology.hl7.org/CodeSystem/v3-RoleCode'
PHYSICAL = {'bu': 'bu', 'ward': 'wa', 'bed': 'bd', 'or': 'ro'}
OPERATIONAL = {'free': 'U', 'occupied': 'O', 'to_clean': 'H', 'na': 'C'}
LOCATION_MODELS = ['gnuhealth.hospital.building', 'gnuhealth.hospital.unit',
                   'gnuhealth.hospital.ward', 'gnuhealth.hospital.bed',
                   'gnuhealth.hospital.or']
ROLE_MODELS = ['gnuhealth.healthprofessional', 'party.party']


def readable(models):
    user = FACTS.get('access', {}).get('users', {}).get(USER)
    if user is None:
        return True
    return all(user['models'].get(m, {}).get('read', False) for m in models)


LOCATION_READABLE = readable(LOCATION_MODELS)
ROLE_READABLE = readable(ROLE_MODELS)
needs_locations = pytest.mark.skipif(
    not LOCATION_READABLE, reason=f'{USER} may not read every place model')
needs_roles = pytest.mark.skipif(
    not ROLE_READABLE, reason=f'{USER} may not read health professionals')


# ---------------------------------------------------------------------------
# the FHIR side of the mapping, from the facts
# ---------------------------------------------------------------------------
def status(place):
    return 'suspended' if place['state'] == 'na' else 'active'


def operational(place):
    if place['kind'] in ('bed', 'or'):
        return OPERATIONAL.get(place['state'])
    return None


def norm(s):
    s = unicodedata.normalize('NFKD', s or '')
    return ''.join(c for c in s if not unicodedata.combining(c)).casefold()


def starts(value, query):
    return value is not None and norm(value).startswith(norm(query))


# ---------------------------------------------------------------------------
# Location
# ---------------------------------------------------------------------------
def test_every_kind_is_in_the_facts():
    kinds = {r['kind'] for r in LOCATIONS.values()}
    assert kinds == {'bu', 'unit', 'ward', 'bed', 'or'}, kinds


def test_location_refused_without_read_access(http):
    if LOCATION_READABLE:
        pytest.skip(f'{USER} may read every place model')
    get_json(http, 'Location', expect=403)


@needs_locations
@pytest.mark.parametrize('lid', sorted(LOCATIONS))
def test_read_location(http, lid):
    f = LOCATIONS[lid]
    r = get_json(http, f'Location/{lid}')
    assert r['resourceType'] == 'Location' and r['id'] == lid
    assert r.get('name') == f['name']
    assert r.get('description') == f['description']
    assert r.get('status') == status(f)
    assert r.get('mode') == 'instance'
    codes = [i['value'] for i in r.get('identifier', [])]
    assert codes == ([f['code']] if f['code'] else [])
    op = r.get('operationalStatus')
    if operational(f):
        assert op is not None
        assert (op['system'], op['code']) == (STATUS_0116, operational(f))
    else:
        assert op is None
    phys = r.get('physicalType', {}).get('coding', [{}])[0].get('code')
    assert phys == PHYSICAL.get(f['kind'])
    types = [(c['system'], c['code']) for t in r.get('type', [])
             for c in t['coding']]
    if f['kind'] == 'unit':
        assert types == [(ROLE_CODE, 'HU')]
    elif f['kind'] == 'bed' and f['bed_type']:
        assert [c for _, c in types] == [f['bed_type']]
        assert types[0][0].endswith('/CodeSystem/bed-type')
    else:
        assert types == []
    org = r.get('managingOrganization', {}).get('reference')
    assert org == (f'Organization/{f["institution"]}'
                   if f['institution'] else None)
    part = r.get('partOf', {}).get('reference')
    assert part == (f'Location/{f["part_of"]}' if f['part_of'] else None)
    phones = [t['value'] for t in r.get('telecom', [])]
    assert phones == ([f['phone']] if f['phone'] else [])


@needs_locations
def test_references_resolve(http):
    for f in LOCATIONS.values():
        if f['part_of']:
            assert f['part_of'] in LOCATIONS, f
            get_json(http, f'Location/{f["part_of"]}')
        if f['institution']:
            get_json(http, f'Organization/{f["institution"]}')


def location_cases():
    cases = [('_id', lid, {lid}) for lid in sorted(LOCATIONS)[:3]]
    cases.append(('_lastUpdated', 'ge1900-01-01', set(LOCATIONS)))
    for f in LOCATIONS.values():
        if f['name']:
            q = f['name'][:3]
            cases.append(('name', q, where(
                LOCATIONS, lambda r, q=q: starts(r['name'], q))))
        if f['code']:
            cases.append(('identifier', f['code'], where(
                LOCATIONS, lambda r, c=f['code']: r['code'] == c)))
    for st in ('active', 'suspended', 'inactive'):
        cases.append(('status', st, where(
            LOCATIONS, lambda r, st=st: status(r) == st)))
    for code in sorted(set(OPERATIONAL.values())):
        cases.append(('operational-status', f'{STATUS_0116}|{code}', where(
            LOCATIONS, lambda r, c=code: operational(r) == c)))
    for bt in sorted({r['bed_type'] for r in LOCATIONS.values()
                      if r['bed_type']}):
        cases.append(('type', bt, where(
            LOCATIONS, lambda r, bt=bt: r['kind'] == 'bed'
            and r['bed_type'] == bt)))
    cases.append(('type', f'{ROLE_CODE}|HU', where(
        LOCATIONS, lambda r: r['kind'] == 'unit')))
    for parent in sorted({r['part_of'] for r in LOCATIONS.values()
                          if r['part_of']}):
        cases.append(('partof', f'Location/{parent}', where(
            LOCATIONS, lambda r, p=parent: r['part_of'] == p)))
    for org in sorted({r['institution'] for r in LOCATIONS.values()
                       if r['institution']}):
        cases.append(('organization', f'Organization/{org}', where(
            LOCATIONS, lambda r, o=org: r['institution'] == o)))
    return cases


LOCATION_CASES = location_cases()


@needs_locations
@pytest.mark.parametrize('param,value,expected', LOCATION_CASES,
                         ids=[f'{p}={v}' for p, v, _ in LOCATION_CASES])
def test_location_search(http, param, value, expected):
    assert search(http, 'Location', {param: value}) == expected


@needs_locations
def test_location_search_all_and_chain(http):
    assert search(http, 'Location', {}) == set(LOCATIONS)
    wards = [r for r in LOCATIONS.values() if r['kind'] == 'ward']
    for w in wards:
        expected = where(LOCATIONS, lambda r, w=w: r['part_of'] == w['id'])
        got = search(http, 'Location',
                     {'partof:Location.name': w['name']})
        # wards sharing the name prefix add their beds too
        same = {x['id'] for x in wards if starts(x['name'], w['name'])}
        assert got == where(LOCATIONS, lambda r: r['part_of'] in same)
        assert expected <= got


# ---------------------------------------------------------------------------
# PractitionerRole
# ---------------------------------------------------------------------------
@needs_roles
@pytest.mark.parametrize('rid', sorted(ROLES, key=int))
def test_read_practitioner_role(http, rid):
    f = ROLES[rid]
    r = get_json(http, f'PractitionerRole/{rid}')
    assert r['resourceType'] == 'PractitionerRole' and r['id'] == rid
    assert r.get('active') == f['active']
    assert r['practitioner']['reference'] == f'Practitioner/{rid}'
    assert r.get('organization', {}).get('reference') == (
        f'Organization/{f["institution"]}' if f['institution'] else None)
    assert [loc['reference'] for loc in r.get('location', [])] == (
        [f'Location/unit-{f["unit"]}'] if f['unit'] else [])
    codes = [s['coding'][0]['code'] for s in r.get('specialty', [])]
    assert codes == list(dict.fromkeys(f['specialties']))
    for s in r.get('specialty', []):
        assert s['coding'][0]['system'].endswith('/CodeSystem/specialty')


def role_cases():
    cases = [('_id', rid, {rid}) for rid in sorted(ROLES, key=int)[:3]]
    cases.append(('_lastUpdated', 'ge1900-01-01', set(ROLES)))
    for rid in sorted(ROLES, key=int):
        cases.append(('practitioner', f'Practitioner/{rid}', {rid}))
    for org in sorted({r['institution'] for r in ROLES.values()
                       if r['institution']}):
        cases.append(('organization', f'Organization/{org}', where(
            ROLES, lambda r, o=org: r['institution'] == o)))
    for code in sorted({c for r in ROLES.values() for c in r['specialties']}):
        cases.append(('specialty', code, where(
            ROLES, lambda r, c=code: c in r['specialties'])))
    for flag in ('true', 'false'):
        cases.append(('active', flag, where(
            ROLES, lambda r, f=flag: r['active'] == (f == 'true'))))
    units = {r['id'] for r in LOCATIONS.values() if r['kind'] == 'unit'}
    for unit in sorted(units):
        n = unit.split('-', 1)[1]
        cases.append(('location', f'Location/{unit}', where(
            ROLES, lambda r, n=n: r['unit'] == n)))
    return cases


ROLE_CASES = role_cases()


@needs_roles
@pytest.mark.parametrize('param,value,expected', ROLE_CASES,
                         ids=[f'{p}={v}' for p, v, _ in ROLE_CASES])
def test_practitioner_role_search(http, param, value, expected):
    assert search(http, 'PractitionerRole', {param: value}) == expected


@needs_roles
def test_practitioner_role_search_all(http):
    assert search(http, 'PractitionerRole', {}) == set(ROLES)
