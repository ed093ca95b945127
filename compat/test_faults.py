"""Database faults, with the real server binary:

1. PostgreSQL stopped under load: every request is answered, 200 or 503 with an
   OperationOutcome, within the query timeout (no hang, no crash), `/readyz`
   says 503; PostgreSQL started again: the server answers 200 within a second,
   without being restarted.
2. SQLite: a missing file is refused at start with a clear message; a file a
   writer keeps locked is answered 503 (an OperationOutcome) and served again
   once the lock is released.

The PostgreSQL cluster is this test's own (initdb in a scratch directory, run as
the `postgres` user), holding a small demo database (`demo --generate-only`).

Environment:
  GNUHEALTH_FHIR_BIN  the server binary (required)
  PGBIN               PostgreSQL's programs (default /usr/lib/postgresql/15/bin)
  FAULTS_LOG_DIR      where the servers' logs go (default: the temporary directory)
"""
import base64
import os
import pathlib
import random
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import pytest

BIN = os.environ.get('GNUHEALTH_FHIR_BIN', '')
LOG_DIR = pathlib.Path(os.environ.get('FAULTS_LOG_DIR', tempfile.gettempdir()))
PGBIN = os.environ.get('PGBIN', '/usr/lib/postgresql/15/bin')
if not BIN or not os.path.exists(os.path.join(PGBIN, 'initdb')):
    pytest.skip('GNUHEALTH_FHIR_BIN and PostgreSQL 15 are needed',
                allow_module_level=True)

# The demo's user (`demo --generate-only` creates it).
AUTH = 'Basic ' + base64.b64encode(b'demo:demo-GNUHealth-2026').decode()
QUERY_TIMEOUT_S = 3
# A request may wait for a connection (5 s) and then for its statement.
ANSWER_WITHIN_S = 5 + QUERY_TIMEOUT_S + 2


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def server_port():
    """A free port below the kernel's ephemeral range: while PostgreSQL is down, the
    server's connection attempts to a port inside it can be given that very port as
    their own and connect to themselves, which then keeps PostgreSQL from starting."""
    try:
        with open('/proc/sys/net/ipv4/ip_local_port_range') as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(100):
        port = random.randrange(max(1024, low - 12000), low)
        with socket.socket() as s:
            try:
                s.bind(('127.0.0.1', port))
            except OSError:
                continue
        return port
    pytest.fail('no free port below the ephemeral range')


def get(url, auth=True, timeout=30):
    """(status, body text, seconds)."""
    req = urllib.request.Request(url, headers={'Accept': 'application/fhir+json'})
    if auth:
        req.add_header('Authorization', AUTH)
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode(), time.monotonic() - t0
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), time.monotonic() - t0


def as_postgres(*args):
    subprocess.run(['su', 'postgres', '-c', ' '.join(args)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def serve(database, port):
    env = dict(os.environ,
               GNUHEALTH_FHIR_PLAIN_HTTP='true',
               GNUHEALTH_FHIR_SECRET_KEY='faults-test-secret-key-0123456789',
               GNUHEALTH_FHIR_QUERY_TIMEOUT_MS=str(QUERY_TIMEOUT_S * 1000),
               GNUHEALTH_FHIR_LOGIN_DELAY='false')
    env.pop('GNUHEALTH_FHIR_BIN', None)
    # Its log goes to a file: a pipe nobody reads would fill up with the warnings of
    # the outage and stop the server.
    log = LOG_DIR / f'faults-server-{port}.log'
    with open(log, 'w') as out:
        proc = subprocess.Popen([BIN, 'serve', '--database', database,
                                 '--listen', f'127.0.0.1:{port}'],
                                env=env, stdout=subprocess.DEVNULL, stderr=out)
    base = f'http://127.0.0.1:{port}'
    for _ in range(300):
        try:
            if get(f'{base}/healthz', auth=False, timeout=2)[0] == 200:
                return proc, base
        except OSError:
            pass
        if proc.poll() is not None:
            pytest.fail(f'the server exited: {log.read_text()}')
        time.sleep(0.1)
    proc.kill()
    pytest.fail('the server did not start')


@pytest.fixture(scope='module')
def work():
    # Outside pytest's private temporary directory: the postgres user writes here.
    path = pathlib.Path(tempfile.mkdtemp(prefix='gh-faults-'))
    os.chmod(path, 0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope='module')
def postgres(work):
    data, run = work / 'pgdata', work / 'pgrun'
    run.mkdir()
    os.chmod(run, 0o777)
    port = server_port()
    as_postgres(f'{PGBIN}/initdb', '-D', str(data), '-A', 'trust')
    start = [f'{PGBIN}/pg_ctl', '-D', str(data), '-l', str(work / 'pg.log'),
             '-w', '-o', f'"-c listen_addresses=127.0.0.1 -p {port} -k {run}"',
             'start']
    stop = [f'{PGBIN}/pg_ctl', '-D', str(data), '-m', 'fast', '-w', 'stop']
    as_postgres(*start)
    subprocess.run([f'{PGBIN}/createdb', '-h', '127.0.0.1', '-p', str(port),
                    '-U', 'postgres', 'faults'], check=True)
    url = f'postgresql://postgres@127.0.0.1:{port}/faults'
    subprocess.run([BIN, 'demo', '--db', url, '--patients', '30',
                    '--generate-only'], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    yield url, (lambda: as_postgres(*start)), (lambda: as_postgres(*stop))
    subprocess.run(['su', 'postgres', '-c', ' '.join(stop)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_postgresql_stopped_under_load_then_restarted(postgres):
    url, start, stop = postgres
    proc, base = serve(url, free_port())
    try:
        assert get(f'{base}/Patient/1')[0] == 200
        answers = []   # (started at, status, body, seconds)
        halt = threading.Event()

        def load(k):
            n = k
            while not halt.is_set():
                t = time.monotonic()
                status, body, took = get(f'{base}/Patient/{1 + n % 30}',
                                         timeout=60)
                answers.append((t, status, body, took))
                n += 1
                time.sleep(0.02)

        threads = [threading.Thread(target=load, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        time.sleep(1)
        stop()
        stopped_at = time.monotonic()
        time.sleep(2)
        ready = get(f'{base}/readyz', auth=False)
        starting_at = time.monotonic()
        start()
        started_at = time.monotonic()
        time.sleep(3)
        halt.set()
        for t in threads:
            t.join(timeout=120)

        assert proc.poll() is None, 'the server died'
        assert ready[0] == 503 and 'OperationOutcome' in ready[1], ready
        assert all(s in (200, 503) for _, s, _, _ in answers), \
            sorted({s for _, s, _, _ in answers})
        assert all('"OperationOutcome"' in b for _, s, b, _ in answers if s == 503)
        slowest = max(took for *_, took in answers)
        assert slowest < ANSWER_WITHIN_S, slowest
        down = [s for t, s, _, _ in answers if stopped_at + 0.5 < t < starting_at]
        assert down and all(s == 503 for s in down), down
        # Within a second of the database's return, every request is served.
        back = [s for t, s, _, _ in answers if t > started_at + 1]
        assert back and all(s == 200 for s in back), back
        assert get(f'{base}/readyz', auth=False)[0] == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_sqlite_file_missing_is_refused_at_start(work):
    missing = work / 'missing.sqlite'
    env = dict(os.environ, GNUHEALTH_FHIR_PLAIN_HTTP='true',
               GNUHEALTH_FHIR_SECRET_KEY='faults-test-secret-key-0123456789')
    env.pop('GNUHEALTH_FHIR_BIN', None)
    done = subprocess.run([BIN, 'serve', '--database', f'sqlite://{missing}',
                           '--listen', f'127.0.0.1:{free_port()}'],
                          env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert 'does not exist' in done.stderr and str(missing) in done.stderr, \
        done.stderr


def test_sqlite_file_locked_answers_503_then_recovers(work):
    db = work / 'locked.sqlite'
    subprocess.run([BIN, 'demo', '--db', str(db), '--patients', '10',
                    '--generate-only'], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    proc, base = serve(f'sqlite://{db}', free_port())
    try:
        assert get(f'{base}/Patient/1')[0] == 200
        writer = sqlite3.connect(db, isolation_level=None)
        writer.execute('BEGIN EXCLUSIVE')
        try:
            status, body, took = get(f'{base}/Patient/2')
            assert status == 503 and '"OperationOutcome"' in body, (status, body)
            assert took < ANSWER_WITHIN_S, took
        finally:
            writer.execute('COMMIT')
            writer.close()
        assert get(f'{base}/Patient/2')[0] == 200
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(timeout=30)
