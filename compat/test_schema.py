"""The demo database made by `gnuhealth-fhir demo --generate-only` must have,
for every table of compat/reference/schema.sql, exactly the columns (names
and declared types, PRAGMA table_info) of the real GNU Health 5.0 SQLite
database.

Environment:
  DEMO_DB    path of the demo SQLite database (the test skips when unset)
  GH_SQLITE_URL / GH_REAL_SQLITE
             the real database (sqlite:///path or a path); default
             $GH_COMPAT_DIR/sqlite/health.sqlite.  When it does not exist,
             the reference schema.sql itself (exported from the real
             database) is used.
"""
import os
import re
import sqlite3

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA_SQL = os.path.join(HERE, 'reference', 'schema.sql')


def schema_tables():
    with open(SCHEMA_SQL, encoding='utf-8') as f:
        text = f.read()
    return re.findall(r'^CREATE TABLE IF NOT EXISTS "?([^"\s(]+)"?', text,
                      re.M)


def real_db_path():
    p = os.environ.get('GH_REAL_SQLITE')
    if not p and os.environ.get('GH_SQLITE_URL', '').startswith('sqlite:///'):
        p = os.environ['GH_SQLITE_URL'][len('sqlite:///'):]
        if not p.startswith('/'):
            p = '/' + p if os.path.exists('/' + p) else p
    if not p:
        p = os.path.join(os.environ.get(
            'GH_COMPAT_DIR',
            os.path.expanduser('~/.cache/gnuhealth-fhir/compat')),
            'sqlite', 'health.sqlite')
    return p


def table_info(con, table):
    """{column name: declared type} (types upper-cased)."""
    return {r[1]: (r[2] or '').upper()
            for r in con.execute('PRAGMA table_info("%s")'
                                 % table.replace('"', '""'))}


@pytest.fixture(scope='module')
def reference():
    path = real_db_path()
    if os.path.exists(path):
        con = sqlite3.connect(f'file:{path}?mode=ro', uri=True)
    else:
        con = sqlite3.connect(':memory:')
        with open(SCHEMA_SQL, encoding='utf-8') as f:
            con.executescript(f.read())
    yield con
    con.close()


@pytest.fixture(scope='module')
def demo():
    path = os.environ.get('DEMO_DB')
    if not path:
        pytest.skip('DEMO_DB is not set')
    assert os.path.exists(path), f'DEMO_DB {path} does not exist'
    con = sqlite3.connect(f'file:{path}?mode=ro', uri=True)
    yield con
    con.close()


TABLES = schema_tables()


def test_schema_sql_lists_tables():
    assert len(TABLES) > 50
    assert 'gnuhealth_patient' in TABLES and 'party_party' in TABLES


def test_reference_schema_matches_real_db():
    """compat/reference/schema.sql is still what the real database has."""
    path = real_db_path()
    if not os.path.exists(path):
        pytest.skip(f'real database {path} not built')
    real = sqlite3.connect(f'file:{path}?mode=ro', uri=True)
    ref = sqlite3.connect(':memory:')
    with open(SCHEMA_SQL, encoding='utf-8') as f:
        ref.executescript(f.read())
    bad = [t for t in TABLES if table_info(real, t) != table_info(ref, t)]
    assert not bad, f'schema.sql is stale for {bad}: re-export it'


@pytest.mark.parametrize('table', TABLES)
def test_demo_table_columns(demo, reference, table):
    want = table_info(reference, table)
    assert want, f'{table} missing from the reference'
    got = table_info(demo, table)
    assert got, f'table {table} missing from the demo database'
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    wrong = sorted(f'{c}: {got[c]} != {want[c]}'
                   for c in set(want) & set(got) if got[c] != want[c])
    assert not (missing or extra or wrong), (
        f'{table}: missing {missing}, extra {extra}, type {wrong}')
