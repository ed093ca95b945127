"""Sign-in throttling shared with the Tryton server itself.

The server throttles sign-ins as trytond's `User.get_login` does, in
trytond's own table `res_user_login_attempt`: failures of a login (device
cookie NULL) within `[session] timeout` (300 s) are counted, more than
`max_attempt` (5) answer 429, every failure (the refused attempts included)
adds a row, a successful sign-in deletes the login's rows.  These tests make
attempts through the server and through trytond's own code
(`res.user.login.attempt`: `add`, `count`, `remove`, in a Pool/Transaction on
the same database, as compat/export_facts.py opens them) and check that each
side sees the other's:

1. failures through the server (HTTP Basic, an unknown login) are counted by
   trytond, and the rows look like trytond's own (NULL cookie, client
   address and its /32 network, create_uid 0, create_date in UTC);
2. failures trytond records throttle the server: 429 with Retry-After and an
   OperationOutcome `throttled`, for HTTP Basic and `POST /auth/token`, and
   the refused attempts are recorded (trytond counts them);
3. a user created for the test only: after 6 failures through the server
   the RIGHT password is refused too (429, Basic and token); once trytond's
   `remove(login, None)` clears the attempts the right password works (200,
   a bearer token) and trytond counts 0.

4. a password the server verified a moment ago (and remembers) is refused
   once the login is locked, as trytond counts the attempts on every sign-in.

Every login is unique to the run; the attempt rows and the user are deleted
at the end, so the databases stay as compat/populate.py left them.  The
server must run with `GNUHEALTH_FHIR_LOGIN_DELAY=false` (compat/run.sh
starts it so): trytond's progressive delay would make the 6 failures of a
login take up to a minute.

Environment:
  FHIR_BASE        server base URL                                 (required)
  TRYTON_CONF      trytond config file of the database             (required)
  TRYTON_DATABASE  the database: its name in TRYTON_CONF, or the URL the
                   server serves (sqlite:///<dir>/<name>.sqlite or
                   postgresql://...)                              (required)
  FHIR_TIMEOUT     seconds per HTTP request (default 60)
"""
import contextlib
import datetime
import os
import secrets
from urllib.parse import urlsplit, urlunsplit

import pytest

FHIR_BASE = os.environ.get('FHIR_BASE', '').rstrip('/')
TRYTON_CONF = os.environ.get('TRYTON_CONF', '')
TRYTON_DATABASE = os.environ.get('TRYTON_DATABASE', '')
TIMEOUT = float(os.environ.get('FHIR_TIMEOUT', '60'))
if not (FHIR_BASE and TRYTON_CONF and TRYTON_DATABASE):
    pytest.skip('FHIR_BASE, TRYTON_CONF and TRYTON_DATABASE must be set',
                allow_module_level=True)

import requests  # noqa: E402

# trytond's defaults ([session] timeout, max_attempt), which the compat
# configuration files keep
WINDOW = 300
MAX_ATTEMPT = 5
# the address the server sees (it listens on loopback); trytond's own
# attempts are recorded as coming from there too
CLIENT = '127.0.0.1'
CLIENT_NETWORK = '127.0.0.1/32'
RUN = secrets.token_hex(4)
PASSWORD = 'Thr0ttle-Check!x'   # passes trytond's password rules


# ---------------------------------------------------------------------------
# trytond on the same database
# ---------------------------------------------------------------------------
class Tryton:
    def __init__(self, conf, database):
        from trytond.config import config
        config.update_etc(conf)
        dbname = database
        if '://' in dbname:
            parts = urlsplit(dbname)
            if parts.scheme == 'sqlite':
                # sqlite:///<dir>/<name>.sqlite (four slashes for an absolute
                # <dir>): trytond's database <name> in [database] path <dir>
                path = parts.path[1:]
                config.set('database', 'path', os.path.dirname(path))
                dbname = os.path.basename(path)
                if dbname.endswith('.sqlite'):
                    dbname = dbname[:-len('.sqlite')]
            else:
                dbname = parts.path.lstrip('/')
                config.set('database', 'uri',
                           urlunsplit((parts.scheme, parts.netloc, '/', '',
                                       '')))
        from trytond.pool import Pool
        self.dbname = dbname
        self.pool = Pool(dbname)
        self.pool.init()
        self.logins = set()      # whose attempt rows we delete at the end
        self.user_ids = []       # users created by the test

    @contextlib.contextmanager
    def transaction(self, readonly=False):
        """A root transaction as trytond's dispatcher opens one for a request
        from CLIENT (LoginAttempt.ipaddress() reads context['_request']);
        committed on a normal exit."""
        from trytond.transaction import Transaction
        ctx = {'_request': {'remote_addr': CLIENT}}
        with Transaction().start(self.dbname, 0, readonly=readonly,
                                 context=ctx):
            yield self.pool

    def attempts(self):
        return self.pool.get('res.user.login.attempt')

    def count(self, login):
        with self.transaction(readonly=True):
            return self.attempts().count(login)

    def add(self, login, times=1):
        self.logins.add(login)
        with self.transaction():
            for _ in range(times):
                self.attempts().add(login)

    def remove(self, login):
        with self.transaction():
            self.attempts().remove(login, None)

    def rows(self, login):
        with self.transaction(readonly=True):
            LA = self.attempts()
            return [{
                'login': a.login,
                'device_cookie': a.device_cookie,
                'ip_address': a.ip_address,
                'ip_network': a.ip_network,
                'create_uid': a.create_uid.id if a.create_uid else None,
                'create_date': a.create_date,
            } for a in LA.search([('login', '=', login)],
                                 order=[('id', 'ASC')])]

    def create_user(self, login, password):
        with self.transaction():
            User = self.pool.get('res.user')
            user, = User.create([{
                'login': login,
                'name': f'Throttle test {login}',
                'password': password,
            }])
            uid = user.id
        self.user_ids.append(uid)
        return uid

    def cleanup(self):
        """Delete the test's attempt rows and users.  trytond forbids
        deleting a res.user through the ORM (msg_user_delete_forbidden):
        the rows go with a DELETE in a trytond transaction."""
        with self.transaction():
            from trytond.transaction import Transaction
            cursor = Transaction().connection.cursor()
            if self.logins:
                la = self.attempts().__table__()
                cursor.execute(*la.delete(
                    where=la.login.in_(sorted(self.logins))))
            if self.user_ids:
                User = self.pool.get('res.user')
                UserGroup = self.pool.get('res.user-res.group')
                ug = UserGroup.__table__()
                cursor.execute(*ug.delete(where=ug.user.in_(self.user_ids)))
                u = User.__table__()
                cursor.execute(*u.delete(where=u.id.in_(self.user_ids)))


@pytest.fixture(scope='module')
def tryton():
    t = Tryton(TRYTON_CONF, TRYTON_DATABASE)
    try:
        yield t
    finally:
        t.cleanup()
        from trytond.transaction import Transaction
        with t.transaction(readonly=True), \
                Transaction().set_context(active_test=False):
            LA = t.attempts()
            User = t.pool.get('res.user')
            left = LA.search([('login', 'in', sorted(t.logins))])
            users = User.search([('id', 'in', t.user_ids)])
        assert not left and not users, (left, users)


# ---------------------------------------------------------------------------
# the server
# ---------------------------------------------------------------------------
def basic(login, password, path='Organization?_count=1'):
    return requests.get(f'{FHIR_BASE}/{path}', auth=(login, password),
                        headers={'Accept': 'application/fhir+json'},
                        timeout=TIMEOUT)


def token(login, password):
    return requests.post(f'{FHIR_BASE}/auth/token',
                         data={'login': login, 'password': password},
                         headers={'Accept': 'application/json'},
                         timeout=TIMEOUT)


def what(r):
    return f'{r.request.method} {r.url} -> {r.status_code}: {r.text[:300]}'


def assert_401(r):
    assert r.status_code == 401, what(r)


def assert_throttled(r):
    assert r.status_code == 429, what(r)
    retry = r.headers.get('Retry-After', '')
    assert retry.isdigit() and int(retry) > 0, (
        f'Retry-After {retry!r}: {what(r)}')
    body = r.json()
    assert body.get('resourceType') == 'OperationOutcome', what(r)
    codes = [i.get('code') for i in body.get('issue', [])]
    assert 'throttled' in codes, what(r)


def unique(prefix):
    return f'{prefix}-{RUN}-{secrets.token_hex(3)}'


# ---------------------------------------------------------------------------
def test_server_failures_counted_by_trytond(tryton):
    """3 wrong passwords through the server: trytond counts 3, and the rows
    are what trytond's LoginAttempt.add writes for that client."""
    login = unique('mallory')
    tryton.logins.add(login)
    assert tryton.count(login) == 0
    for _ in range(3):
        assert_401(basic(login, 'not-the-password'))
    assert tryton.count(login) == 3
    now = datetime.datetime.utcnow()
    rows = tryton.rows(login)
    assert len(rows) == 3, rows
    for row in rows:
        assert row['device_cookie'] is None, row
        assert row['ip_address'] == CLIENT, row
        assert row['ip_network'] == CLIENT_NETWORK, row
        assert row['create_uid'] == 0, row
        # naive UTC, as trytond writes it (inside the window trytond uses)
        assert isinstance(row['create_date'], datetime.datetime), row
        assert abs((now - row['create_date']).total_seconds()) < 60, (
            now, row)
    # trytond's own rows for the same client look the same
    tryton.add(login)
    own = tryton.rows(login)[-1]
    assert tryton.count(login) == 4
    assert {k: own[k] for k in ('device_cookie', 'ip_address', 'ip_network',
                                'create_uid')} == \
        {k: rows[0][k] for k in ('device_cookie', 'ip_address', 'ip_network',
                                 'create_uid')}


def test_trytond_failures_throttle_server(tryton):
    """6 failures recorded by trytond: the server refuses the 7th attempt
    (429) and records it, as trytond does."""
    login = unique('eve')
    tryton.add(login, MAX_ATTEMPT + 1)
    assert tryton.count(login) == MAX_ATTEMPT + 1
    assert_throttled(basic(login, 'whatever'))
    assert tryton.count(login) == MAX_ATTEMPT + 2
    assert_throttled(token(login, 'whatever'))
    assert tryton.count(login) == MAX_ATTEMPT + 3


def test_trytond_failures_below_limit_do_not_throttle(tryton):
    """Exactly max_attempt failures recorded by trytond: the next attempt is
    still checked (trytond refuses only when the count is above the
    limit), so a wrong password is 401, not 429."""
    login = unique('trudy')
    tryton.add(login, MAX_ATTEMPT)
    assert_401(basic(login, 'whatever'))
    assert tryton.count(login) == MAX_ATTEMPT + 1
    assert_throttled(basic(login, 'whatever'))


def test_known_user_locked_then_released_by_trytond(tryton):
    """A real user: 6 failures through the server lock the login, the right
    password included; trytond's remove() releases it."""
    login = unique('throttle')
    tryton.logins.add(login)
    tryton.create_user(login, PASSWORD)
    for i in range(MAX_ATTEMPT + 1):
        assert_401(basic(login, f'wrong-{i}'))
    assert tryton.count(login) == MAX_ATTEMPT + 1
    # locked means locked: the right password is refused too
    assert_throttled(basic(login, PASSWORD))
    assert_throttled(token(login, PASSWORD))
    assert tryton.count(login) == MAX_ATTEMPT + 3
    # trytond clears the login's attempts (as its get_login does on success)
    tryton.remove(login)
    assert tryton.count(login) == 0
    r = basic(login, PASSWORD)
    assert r.status_code == 200, what(r)
    assert r.json().get('resourceType') == 'Bundle', what(r)
    r = token(login, PASSWORD)
    assert r.status_code == 200, what(r)
    assert r.json().get('access_token'), what(r)
    assert tryton.count(login) == 0


def test_server_success_clears_trytond_failures(tryton):
    """Failures trytond recorded for a user are deleted by a successful
    sign-in through the server (trytond's get_login removes them too)."""
    login = unique('throttle-ok')
    tryton.logins.add(login)
    tryton.create_user(login, PASSWORD)
    tryton.add(login, 3)
    assert tryton.count(login) == 3
    r = basic(login, PASSWORD)
    assert r.status_code == 200, what(r)
    assert tryton.count(login) == 0


def test_lock_applies_to_recently_verified_password(tryton):
    """trytond counts the attempts on every sign-in: a login locked after a
    successful sign-in is refused, even with the right password."""
    login = unique('throttle-cached')
    tryton.logins.add(login)
    tryton.create_user(login, PASSWORD)
    r = basic(login, PASSWORD)
    assert r.status_code == 200, what(r)
    tryton.add(login, MAX_ATTEMPT + 1)
    assert_throttled(basic(login, PASSWORD))
    assert_throttled(token(login, PASSWORD))
