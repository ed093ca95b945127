"""Two server instances behind nginx on one PostgreSQL database (compat/cluster.sh
starts them with deploy/nginx-gnuhealth-fhir.conf and the same secret_key):

1. a bearer token issued by one instance works on the other;
2. a paging link one instance wrote is followed on the other;
3. sign-in throttling counts the failures made through both;
4. the public probes answer on both and through nginx, and a client's address
   reaches the instances through nginx (the audit is not needed for that: a
   throttled login's rows carry it);
5. killing one instance under load through nginx loses no answer: nginx retries
   the GETs on the survivor, which keeps serving.

Environment (set by compat/cluster.sh):
  NGINX_BASE        https://127.0.0.1:PORT (nginx, TLS)
  NGINX_CA          the self-signed certificate nginx serves
  INSTANCE_A, INSTANCE_B   http://127.0.0.1:PORT of each instance
  PID_B             the process id of instance B (killed by the last test)
  PG_URL            the database (attempt rows of the run are deleted at the end)
  FHIR_USER, FHIR_PASSWORD   a GNU Health user allowed to read Patient
"""
import os
import secrets
import signal
import threading
import time

import pytest

NGINX = os.environ.get('NGINX_BASE', '').rstrip('/')
CA = os.environ.get('NGINX_CA', '')
A = os.environ.get('INSTANCE_A', '').rstrip('/')
B = os.environ.get('INSTANCE_B', '').rstrip('/')
PID_B = int(os.environ.get('PID_B', '0'))
PG_URL = os.environ.get('PG_URL', '')
USER = os.environ.get('FHIR_USER', '')
PASSWORD = os.environ.get('FHIR_PASSWORD', '')
if not (NGINX and CA and A and B and PID_B and PG_URL and USER and PASSWORD):
    pytest.skip('the cluster environment of compat/cluster.sh is not set',
                allow_module_level=True)

import psycopg2  # noqa: E402
import requests  # noqa: E402

JSON = {'Accept': 'application/fhir+json'}
RUN = secrets.token_hex(4)


def token(base):
    r = requests.post(f'{base}/auth/token',
                      data={'login': USER, 'password': PASSWORD}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()['access_token']


def test_token_from_one_instance_works_on_the_other():
    t = token(A)
    r = requests.get(f'{B}/Patient?_count=1', timeout=30,
                     headers={**JSON, 'Authorization': f'Bearer {t}'})
    assert r.status_code == 200, r.text
    assert r.json()['resourceType'] == 'Bundle'


def test_paging_link_from_one_instance_is_followed_on_the_other():
    auth = (USER, PASSWORD)
    first = requests.get(f'{A}/Patient?_count=2', auth=auth, headers=JSON,
                         timeout=30).json()
    links = {link['relation']: link['url'] for link in first['link']}
    assert 'next' in links, first['link']
    # The link names the public base URL (nginx); its path and query go to B.
    assert links['next'].startswith(NGINX), links['next']
    rest = links['next'][len(NGINX):]
    second = requests.get(f'{B}{rest}', auth=auth, headers=JSON, timeout=30)
    assert second.status_code == 200, second.text
    ids_first = {e['resource']['id'] for e in first['entry']}
    ids_second = {e['resource']['id'] for e in second.json()['entry']}
    assert ids_second and not ids_first & ids_second
    # And through nginx itself, with the CA of its certificate.
    via = requests.get(links['next'], auth=auth, headers=JSON, verify=CA,
                       timeout=30)
    assert via.status_code == 200, via.text
    assert {e['resource']['id'] for e in via.json()['entry']} == ids_second


@pytest.fixture
def unknown_login():
    login = f'cluster-{RUN}'
    yield login
    with psycopg2.connect(PG_URL) as conn, conn.cursor() as cur:
        cur.execute('DELETE FROM res_user_login_attempt WHERE login = %s',
                    (login,))


def test_throttling_counts_failures_on_both_instances(unknown_login):
    # trytond's max_attempt is 5: 3 failures on each instance make 6.
    for base in (A, B, A, B, A, B):
        r = requests.get(f'{base}/Patient?_count=1', auth=(unknown_login, 'x'),
                         headers=JSON, timeout=30)
        assert r.status_code == 401, (base, r.status_code, r.text)
    for base in (A, B):
        r = requests.get(f'{base}/Patient?_count=1', auth=(unknown_login, 'x'),
                         headers=JSON, timeout=30)
        assert r.status_code == 429, (base, r.status_code, r.text)
        assert r.json()['resourceType'] == 'OperationOutcome'
    with psycopg2.connect(PG_URL) as conn, conn.cursor() as cur:
        cur.execute('SELECT COUNT(*), MIN(ip_address), MAX(ip_address) '
                    'FROM res_user_login_attempt WHERE login = %s',
                    (unknown_login,))
        count, low, high = cur.fetchone()
    assert count == 8
    assert low == high == '127.0.0.1'


def test_probes_answer_everywhere():
    for base, verify in ((A, True), (B, True), (NGINX, CA)):
        for probe, status in (('healthz', 'ok'), ('readyz', 'ready')):
            r = requests.get(f'{base}/{probe}', verify=verify, timeout=30)
            assert r.status_code == 200, (base, probe, r.text)
            assert r.json()['status'] == status


def test_killing_one_instance_under_load_loses_no_answer():
    auth = (USER, PASSWORD)
    ids = [e['resource']['id'] for e in requests.get(
        f'{NGINX}/Patient?_count=20', auth=auth, headers=JSON, verify=CA,
        timeout=30).json()['entry']]
    statuses = []
    failures = []
    stop = threading.Event()

    def client(k):
        session = requests.Session()
        n = k
        while not stop.is_set():
            pid = ids[n % len(ids)]
            n += 1
            try:
                r = session.get(f'{NGINX}/Patient/{pid}', auth=auth,
                                headers=JSON, verify=CA, timeout=30)
                statuses.append(r.status_code)
            except requests.RequestException as e:
                failures.append(repr(e))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    time.sleep(2)
    before_kill = len(statuses)
    os.kill(PID_B, signal.SIGKILL)
    time.sleep(3)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert not failures, failures[:5]
    assert before_kill > 0 and len(statuses) > before_kill
    bad = [s for s in statuses if s != 200]
    assert not bad, f'{len(bad)} of {len(statuses)} answers were not 200: {bad[:10]}'
    # The survivor keeps serving, directly and through nginx.
    r = requests.get(f'{A}/Patient/{ids[0]}', auth=auth, headers=JSON,
                     timeout=30)
    assert r.status_code == 200
    r = requests.get(f'{NGINX}/Patient/{ids[0]}', auth=auth, headers=JSON,
                     verify=CA, timeout=30)
    assert r.status_code == 200
