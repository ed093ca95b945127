"""Real FHIR clients, unchanged, against the server: fhirpy and SMART's fhirclient
(PyPI). Each signs in with a bearer token from `POST /auth/token`, reads a Patient,
walks a search through its `next` links and asks for `_include`; the answers are
compared with the server's own (plain HTTP requests).

Environment (compat/clients.sh sets it):
  FHIR_BASE, FHIR_USER, FHIR_PASSWORD
"""
import os

import pytest

BASE = os.environ.get('FHIR_BASE', '').rstrip('/')
USER = os.environ.get('FHIR_USER', '')
PASSWORD = os.environ.get('FHIR_PASSWORD', '')
if not (BASE and USER and PASSWORD):
    pytest.skip('FHIR_BASE, FHIR_USER and FHIR_PASSWORD must be set',
                allow_module_level=True)

import requests  # noqa: E402

JSON = {'Accept': 'application/fhir+json'}
# A search of several pages (the demo has about half women).
SEARCH = {'gender': 'female', '_count': '7'}


@pytest.fixture(scope='module')
def token():
    r = requests.post(f'{BASE}/auth/token',
                      data={'login': USER, 'password': PASSWORD}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()['access_token']


@pytest.fixture(scope='module')
def expected(token):
    """What the server answers plain HTTP clients: the search's ids page by page,
    and a patient with Observations."""
    headers = {**JSON, 'Authorization': f'Bearer {token}'}
    bundle = requests.get(f'{BASE}/Patient', params=SEARCH, headers=headers,
                          timeout=30).json()
    total, ids = bundle['total'], []
    while True:
        ids += [e['resource']['id'] for e in bundle.get('entry', [])]
        nxt = [link['url'] for link in bundle['link'] if link['relation'] == 'next']
        if not nxt:
            break
        bundle = requests.get(nxt[0], headers=headers, timeout=30).json()
    assert len(ids) == total > int(SEARCH['_count'])
    obs = requests.get(f'{BASE}/Observation', params={'_count': '1'},
                       headers=headers, timeout=30).json()
    patient = obs['entry'][0]['resource']['subject']['reference'].split('/')[1]
    read = requests.get(f'{BASE}/Patient/{patient}', headers=headers,
                        timeout=30).json()
    return {'ids': ids, 'patient': patient, 'read': read}


def test_fhirpy(token, expected):
    from fhirpy import SyncFHIRClient
    client = SyncFHIRClient(BASE, authorization=f'Bearer {token}')
    patient = client.reference('Patient', expected['patient']).to_resource()
    assert patient.serialize() == expected['read']
    found = client.resources('Patient').search(gender='female') \
        .limit(int(SEARCH['_count'])).fetch_all()
    assert [p.id for p in found] == expected['ids']
    bundle = client.resources('Observation') \
        .search(patient=expected['patient']).include('Observation', 'subject') \
        .limit(5).fetch_raw()
    included = [e['resource'] for e in bundle['entry']
                if e['search']['mode'] == 'include']
    assert [(r['resourceType'], r['id']) for r in included] == \
        [('Patient', expected['patient'])]
    assert all(e['resource']['resourceType'] == 'Observation'
               for e in bundle['entry'] if e['search']['mode'] == 'match')


def test_fhirclient(token, expected):
    from fhirclient import client
    from fhirclient.models.observation import Observation
    from fhirclient.models.patient import Patient
    smart = client.FHIRClient(settings={'app_id': 'gnuhealth-fhir-compat',
                                        'api_base': BASE})
    smart.server.session.headers['Authorization'] = f'Bearer {token}'
    patient = Patient.read(expected['patient'], smart.server)
    assert patient.as_json()['name'] == expected['read']['name']
    search = Patient.where(struct=dict(SEARCH))
    assert [p.id for p in search.perform_resources_iter(smart.server)] == \
        expected['ids']
    bundle = next(Observation.where(struct={'patient': expected['patient'],
                                            '_count': '5'})
                  .include('subject').perform_iter(smart.server))
    modes = [e.search.mode for e in bundle.entry]
    assert modes.count('include') == 1 and 'match' in modes
    included = next(e.resource for e in bundle.entry if e.search.mode == 'include')
    assert included.resource_type == 'Patient'
    assert included.id == expected['patient']
