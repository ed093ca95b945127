"""What the FHIR checks of compat/ share: the server, the facts and the user,
from the environment described in test_fhir.py. Importing it skips the calling
test module when FHIR_BASE or FACTS is unset."""
import json
import os

import pytest

FHIR_BASE = os.environ.get('FHIR_BASE', '').rstrip('/')
FACTS_PATH = os.environ.get('FACTS', '')
if not FHIR_BASE or not FACTS_PATH:
    pytest.skip('FHIR_BASE and FACTS are not set', allow_module_level=True)

# passwords set by compat/populate.py
KNOWN_PASSWORDS = {
    'admin': 'gnusolidario',
    'abetz': 'gnusolidario-Betz1',
    'fhir_reader': 'fhir-Reader-2024!',
    'frontdesk': 'gnusolidario-Front1',
    'nogroup': 'gnusolidario-None1',
}
USER = os.environ.get('FHIR_USER', 'fhir_reader')
PASSWORD = os.environ.get('FHIR_PASSWORD', KNOWN_PASSWORDS.get(USER, ''))
TIMEOUT = float(os.environ.get('FHIR_TIMEOUT', '60'))

with open(FACTS_PATH, encoding='utf-8') as _f:
    FACTS = json.load(_f)


def model_readable(login, model):
    """May `login` read `model` (per the facts' security; unknown users and
    models: yes)?"""
    sec = FACTS.get('security', {}).get(login)
    if sec is None:
        return True
    return bool(sec['models'].get(model, {}).get('read', True))


def fact_models(fact):
    """The models whose read access an Observation or Encounter fact needs:
    a lab result its analyte and report, a vital sign its encounter table
    (a nursing round also the hospital stay it belongs to)."""
    model = fact.get('model', 'gnuhealth.lab.test.critearea')
    if model == 'gnuhealth.lab.test.critearea':
        return [model, 'gnuhealth.lab']
    if model == 'gnuhealth.patient.rounding':
        return [model, 'gnuhealth.inpatient.registration']
    return [model]


def visible_resources(login):
    """The facts' resources as `login` gets them: Observation gathers lab
    results and vital signs of several models, each served to the users
    who may read its own."""
    res = dict(FACTS['resources'])
    res['Observation'] = [
        o for o in res['Observation']
        if all(model_readable(login, m) for m in fact_models(o))]
    return res


FHIR_JSON = 'application/fhir+json'


@pytest.fixture(scope='session')
def http():
    """A session of the test user, asking for FHIR JSON."""
    import requests
    s = requests.Session()
    s.auth = (USER, PASSWORD)
    s.headers['Accept'] = FHIR_JSON
    yield s
    s.close()


def get_json(http, path, params=None, expect=200):
    """GET a path under FHIR_BASE (or a full URL): the status must be `expect`."""
    target = path if path.startswith('http') else f'{FHIR_BASE}/{path}'
    r = http.get(target, params=params, timeout=TIMEOUT)
    assert r.status_code == expect, (
        f'GET {r.url} -> {r.status_code} (expected {expect}): {r.text[:500]}')
    return r.json()


def search(http, rtype, params, count='3', mode='match'):
    """The ids of the entries of one search mode over every page (`count` a page),
    following link 'next', each once."""
    from urllib.parse import urljoin
    b = get_json(http, rtype, dict(params, _count=count))
    ids = []
    for _ in range(500):
        assert b['resourceType'] == 'Bundle' and b['type'] == 'searchset', b
        ids += [e['resource']['id'] for e in b.get('entry', [])
                if e.get('search', {}).get('mode', 'match') == mode]
        nxt = [lk['url'] for lk in b.get('link', [])
               if lk.get('relation') == 'next']
        if not nxt:
            assert len(ids) == len(set(ids)), f'duplicate ids {ids}'
            return set(ids)
        b = get_json(http, urljoin(FHIR_BASE + '/', nxt[0]))
    raise AssertionError(f'{rtype} {params}: too many pages')


def where(facts, pred):
    """The ids of the facts (a dict by id) that `pred` holds for."""
    return {i for i, r in facts.items() if pred(r)}
