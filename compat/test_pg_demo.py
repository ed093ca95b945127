"""The demo in PostgreSQL (`gnuhealth-fhir demo --db postgresql://...`) must
hold exactly the rows of the SQLite demo made with the same options, in the
tables trytond itself creates on PostgreSQL, and be served the same.

* the columns of every table of compat/reference/schema.sql (types, defaults,
  identity ids and their sequences) equal those trytond created in the real
  GNU Health 5.0 PostgreSQL database;
* every row of every table equals the SQLite demo's (booleans, timestamps,
  dates, numerics, floats and bytes compared by value);
* the identity sequences continue after the copied ids; every table has its
  primary key and the reference schema's indexes;
* the server answers the same over both databases (counts, a patient, the
  Observations and Encounters of a patient, searches on dates, quantities and
  strings), and the demo user signs in (Basic, bearer token; a failed sign-in
  is recorded in res_user_login_attempt, whose id comes from its sequence);
* running the demo command again reuses the database; a database holding
  other tables, or GNU Health without patients, is refused and left as it was;
* the indexes `db suggest-indexes` prints apply on both backends: on
  PostgreSQL the family search then starts from the folded names (same
  answer), on a copy of the SQLite demo the system's SQLite (trytond's) keeps
  them up to date.

Environment (the module skips when DEMO_PG_URL is unset):
  DEMO_PG_URL       the PostgreSQL demo database (made with --generate-only)
  DEMO_SQLITE       the SQLite demo made with the same options
  DEMO_PATIENTS     their number of patients
  FHIR_BASE_PG      a server over DEMO_PG_URL (started with `demo --db`)
  FHIR_BASE_SQLITE  a server over DEMO_SQLITE
  FHIR_SERVER_BIN   the gnuhealth-fhir binary
  GH_PG_URL         the real GNU Health PostgreSQL database (column check;
                    skipped when unset)
"""
import decimal
import os
import re
import sqlite3
import subprocess
from urllib.parse import urlsplit, urlunsplit

import pytest

PG_URL = os.environ.get('DEMO_PG_URL', '')
if not PG_URL:
    pytest.skip('DEMO_PG_URL is not set', allow_module_level=True)

import psycopg2  # noqa: E402
import requests  # noqa: E402

SQLITE = os.environ['DEMO_SQLITE']
PATIENTS = int(os.environ['DEMO_PATIENTS'])
BASE_PG = os.environ['FHIR_BASE_PG'].rstrip('/')
BASE_SQLITE = os.environ['FHIR_BASE_SQLITE'].rstrip('/')
BIN = os.environ['FHIR_SERVER_BIN']
REAL_PG = os.environ.get('GH_PG_URL', '')
DEMO = ('demo', 'demo-GNUHealth-2026')

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, 'reference', 'schema.sql'),
          encoding='utf-8') as _f:
    TABLES = re.findall(r'^CREATE TABLE IF NOT EXISTS "?([^"\s(]+)"?',
                        _f.read(), re.M)


def ident(name):
    return '"%s"' % name.replace('"', '""')


@pytest.fixture(scope='module')
def pg():
    con = psycopg2.connect(PG_URL)
    con.autocommit = True
    yield con.cursor()
    con.close()


@pytest.fixture(scope='module')
def lite():
    con = sqlite3.connect(f'file:{SQLITE}?mode=ro', uri=True)
    yield con
    con.close()


def columns(cur, table):
    """{column: (type, default, identity)}, and the id's sequence."""
    cur.execute(
        'SELECT a.attname, format_type(a.atttypid, a.atttypmod), '
        'pg_get_expr(d.adbin, d.adrelid), a.attidentity '
        'FROM pg_attribute a LEFT JOIN pg_attrdef d '
        'ON d.adrelid = a.attrelid AND d.adnum = a.attnum '
        'WHERE a.attrelid = %s::regclass AND a.attnum > 0 '
        'AND NOT a.attisdropped', (ident(table),))
    cols = {r[0]: r[1:] for r in cur.fetchall()}
    cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", (ident(table),))
    return cols, cur.fetchone()[0]


def test_columns_are_those_trytond_creates(pg):
    if not REAL_PG:
        pytest.skip('GH_PG_URL is not set')
    real = psycopg2.connect(REAL_PG)
    try:
        cur = real.cursor()
        bad = []
        for t in TABLES:
            want, got = columns(cur, t), columns(pg, t)
            if want != got:
                bad.append(f'{t}: trytond {want} != demo {got}')
        assert not bad, '\n'.join(bad[:5])
    finally:
        real.close()


def normal(value, declared):
    """A value of either database in one form, by the SQLite declared type."""
    if value is None:
        return None
    if declared == 'BOOLEAN':
        return int(value)
    if declared in ('TIMESTAMP', 'DATE'):
        return str(value)  # trytond's text forms are Python's str()
    if declared == 'NUMERIC':
        text = value.decode() if isinstance(value, bytes) else str(value)
        return decimal.Decimal(text)
    if declared == 'BLOB':
        return bytes(value)
    return value


def test_every_row_equals_the_sqlite_demo(pg, lite):
    total = 0
    for t in TABLES:
        info = [(r[1], r[2].upper())
                for r in lite.execute(f'PRAGMA table_info({ident(t)})')]
        select = (f'SELECT {", ".join(ident(n) for n, _ in info)} '
                  f'FROM {ident(t)} ORDER BY id')
        want = lite.execute(select).fetchall()
        pg.execute(select)
        got = pg.fetchall()
        assert len(got) == len(want), f'{t}: {len(got)} rows, {len(want)} in SQLite'
        for w, g in zip(want, got):
            nw = [normal(v, d) for v, (_, d) in zip(w, info)]
            ng = [normal(v, d) for v, (_, d) in zip(g, info)]
            diff = [(n, a, b) for (n, _), a, b in zip(info, nw, ng) if a != b]
            assert not diff, f'{t} id {w[0]}: (column, SQLite, PostgreSQL) {diff[:3]}'
        total += len(want)
    assert total > PATIENTS * 20


def test_sequences_keys_and_indexes(pg, lite):
    for t in TABLES:
        pg.execute(f'SELECT max(id) FROM {ident(t)}')
        top = pg.fetchone()[0]
        _, seq = columns(pg, t)
        pg.execute(f'SELECT last_value, is_called FROM {seq}')
        last, called = pg.fetchone()
        if top:
            assert (last, called) == (top, True), f'{t}: sequence at {last}, max id {top}'
        pg.execute(
            "SELECT count(*) FILTER (WHERE indisprimary), "
            "count(*) FILTER (WHERE NOT indisprimary) "
            "FROM pg_index WHERE indrelid = %s::regclass", (ident(t),))
        primary, others = pg.fetchone()
        (indexes,) = lite.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name = ? AND sql IS NOT NULL", (t,)).fetchone()
        assert (primary, others) == (1, indexes), t


def get(base, path, auth=DEMO, expect=200, **kw):
    r = requests.get(f'{base}/{path}', auth=auth, timeout=60,
                     headers={'Accept': 'application/fhir+json'}, **kw)
    assert r.status_code == expect, f'{r.url}: {r.status_code} {r.text[:300]}'
    # The two servers differ only by their base URL.
    return r.json() if expect == 200 else None


def same(path):
    """The JSON of `path` from both servers, the base URL taken out."""
    def strip(base, j):
        return re.sub(re.escape(base), 'BASE', str(j))
    a, b = get(BASE_SQLITE, path), get(BASE_PG, path)
    return strip(BASE_SQLITE, a), strip(BASE_PG, b), b


def entries(path):
    """Both servers' searchset entries and totals, base URL taken out."""
    def part(base):
        b = get(base, path)
        text = re.sub(re.escape(base), 'BASE',
                      str([b.get('total'), b.get('entry', [])]))
        return text, b
    (a, _), (b, bundle) = part(BASE_SQLITE), part(BASE_PG)
    return a, b, bundle


@pytest.fixture(scope='module')
def busy_patient(lite):
    """The patient with the most evaluations."""
    return lite.execute(
        'SELECT patient FROM gnuhealth_patient_evaluation GROUP BY patient '
        'ORDER BY count(*) DESC, patient LIMIT 1').fetchone()[0]


@pytest.mark.parametrize('rtype', [
    'Patient', 'Practitioner', 'Organization', 'Location', 'Condition',
    'AllergyIntolerance', 'Encounter', 'Observation', 'DiagnosticReport',
    'ServiceRequest', 'Procedure', 'MedicationStatement',
    'MedicationRequest', 'Immunization', 'Appointment', 'Coverage',
    'RelatedPerson', 'FamilyMemberHistory'])
def test_counts_are_the_same(rtype):
    a, b, bundle = same(f'{rtype}?_summary=count')
    assert a == b
    assert bundle['total'] > 0
    if rtype == 'Patient':
        assert bundle['total'] == PATIENTS


def test_a_patient_is_the_same(busy_patient):
    a, b, p = same(f'Patient/{busy_patient}')
    assert a == b and p['id'] == str(busy_patient)


@pytest.mark.parametrize('query', [
    'Observation?patient={p}&_count=200&_sort=date',
    'Encounter?patient={p}&_count=100&_sort=-date',
    'Condition?patient={p}&_count=100',
    'MedicationRequest?patient={p}&_count=100',
    'Observation?code=http://loinc.org|8867-4&value-quantity=gt80&_count=50&_sort=-date',
    'Encounter?date=ge2025-06-01&_count=50&_sort=date',
    'Patient?family=gar&_count=50&_sort=family,given',
    'Appointment?date=lt2025-01-01T10:00:00Z&_count=50&_sort=-date',
    'Immunization?date=2024&_count=50',
])
def test_searches_are_the_same(busy_patient, query):
    a, b, bundle = entries(query.format(p=busy_patient))
    assert a == b
    assert bundle.get('total', 0) > 0, query


def test_an_encounter_is_the_same(busy_patient):
    first = get(BASE_PG, f'Encounter?patient={busy_patient}&_count=1')
    eid = first['entry'][0]['resource']['id']
    a, b, enc = same(f'Encounter/{eid}')
    assert a == b and enc['resourceType'] == 'Encounter'


def test_the_demo_user_signs_in(pg):
    get(BASE_PG, 'Patient/1')
    r = requests.post(f'{BASE_PG}/auth/token', timeout=60,
                      data={'login': DEMO[0], 'password': DEMO[1]})
    assert r.status_code == 200, r.text
    token = r.json()['access_token']
    r = requests.get(f'{BASE_PG}/Patient/1', timeout=60,
                     headers={'Authorization': f'Bearer {token}'})
    assert r.status_code == 200, r.text
    # A failure is recorded by the server with an id from the table's sequence.
    get(BASE_PG, 'Patient/1', auth=('nurse', 'not-the-password'), expect=401)
    pg.execute("SELECT count(*), min(id) FROM res_user_login_attempt "
               "WHERE login = 'nurse'")
    n, first = pg.fetchone()
    assert n == 1 and first >= 1
    get(BASE_PG, 'Patient/1', auth=('nurse', DEMO[1]))


def run_demo(url):
    return subprocess.run(
        [BIN, 'demo', '--db', url, '--patients', str(PATIENTS),
         '--generate-only'],
        capture_output=True, text=True, timeout=300)


def test_a_second_run_reuses_the_database(pg):
    pg.execute('SELECT count(*) FROM party_party')
    before = pg.fetchone()[0]
    r = run_demo(PG_URL)
    assert r.returncode == 0, r.stderr
    assert 'reusing demo database' in r.stderr
    assert f'({PATIENTS} patients' in r.stderr
    if urlsplit(PG_URL).password:
        assert ':***@' in r.stderr, 'the password is shown'
    pg.execute('SELECT count(*) FROM party_party')
    assert pg.fetchone()[0] == before


def sibling(name):
    """The URL of another database of the same cluster."""
    u = urlsplit(PG_URL)
    return urlunsplit(u._replace(path='/' + name))


@pytest.mark.parametrize('table', ['stock_move', 'gnuhealth_patient'])
def test_other_databases_are_refused(pg, table):
    name = f'{urlsplit(PG_URL).path.strip("/")}_other'
    pg.execute(f'DROP DATABASE IF EXISTS {ident(name)}')
    pg.execute(f'CREATE DATABASE {ident(name)}')
    try:
        con = psycopg2.connect(sibling(name))
        con.autocommit = True
        cur = con.cursor()
        cur.execute(f'CREATE TABLE {ident(table)} (id INTEGER)')
        r = run_demo(sibling(name))
        assert r.returncode != 0
        assert f'already holds tables (public.{table})' in r.stderr, r.stderr
        cur.execute("SELECT string_agg(relname, ',') FROM pg_class "
                    "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")
        assert cur.fetchone()[0] == table
        con.close()
    finally:
        pg.execute(f'DROP DATABASE IF EXISTS {ident(name)}')


def test_suggested_indexes_serve_family_searches(pg):
    """`db suggest-indexes` on PostgreSQL prints indexes that apply, are no longer
    suggested once created, and hold the very expression the family-name search
    compares (the plan uses them when scans are ruled out: this database is too small
    for the planner to prefer them by itself); the answer stays the same. Runs last:
    the indexes are dropped again."""
    def suggest():
        r = subprocess.run([BIN, 'db', 'suggest-indexes', '--database', PG_URL],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        return r.stdout
    before = entries('Patient?family=gar&_count=50')
    sql = suggest()
    names = re.findall(r'CREATE INDEX CONCURRENTLY IF NOT EXISTS "(ghf_\w+)"', sql)
    assert 'ghf_gnuhealth_person_name_family_folded' in names, sql
    assert 'ghf_party_party_lastname_folded' in names, sql
    try:
        for statement in sql.split(';\n'):
            if 'CREATE INDEX' in statement:
                pg.execute(statement)
        assert 'every index gnuhealth-fhir suggests is present' in suggest()
        no_scans = PG_URL + ('&' if '?' in PG_URL else '?') + \
            'options=-c%20enable_seqscan%3Doff'
        plan = subprocess.run(
            [BIN, 'explain', '--database', no_scans, 'Patient?family=gar'],
            capture_output=True, text=True, timeout=120)
        assert plan.returncode == 0, plan.stderr
        assert 'ghf_gnuhealth_person_name_family_folded' in plan.stdout, plan.stdout
        assert 'ghf_party_party_lastname_folded' in plan.stdout, plan.stdout
        assert entries('Patient?family=gar&_count=50')[:2] == before[:2]
    finally:
        for name in names:
            pg.execute(f'DROP INDEX IF EXISTS {ident(name)}')


def test_suggested_sqlite_indexes_work_for_trytond(tmp_path):
    """The SQLite indexes `db suggest-indexes` prints (the folded names among them) are
    read and kept up to date by the system's SQLite, which trytond uses and which may be
    older than the server's: created, written through, intact."""
    copy = tmp_path / 'demo.sqlite'
    copy.write_bytes(open(SQLITE, 'rb').read())
    r = subprocess.run([BIN, 'db', 'suggest-indexes', '--database', f'sqlite://{copy}'],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert 'ghf_gnuhealth_person_name_family_folded' in r.stdout
    con = sqlite3.connect(copy)
    try:
        con.executescript(r.stdout)
        con.execute("UPDATE gnuhealth_person_name SET family = 'Ñúñez' "
                    "WHERE id = (SELECT min(id) FROM gnuhealth_person_name)")
        con.execute("UPDATE party_party SET lastname = 'Çelik' "
                    "WHERE id = (SELECT min(id) FROM party_party)")
        con.commit()
        assert con.execute('PRAGMA integrity_check').fetchone() == ('ok',)
    finally:
        con.close()
