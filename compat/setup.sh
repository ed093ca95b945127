#!/usr/bin/env bash
# =============================================================================
# gnuhealth-fhir compat harness: build a REAL GNU Health 5.0 environment
#
#   * a Python venv with the pinned GNU Health 5.0 / Tryton 7.0 packages
#     (+ pytest and requests for the compat tests)
#   * a SQLite database           $DIR/sqlite/health.sqlite
#   * a PostgreSQL 15 cluster     $DIR/pgdata, 127.0.0.1:$PORT, socket in
#     $DIR/pgrun, role gnuhealth/gnuhealth, database "health"
#   * both databases created by trytond-admin (modules health health_lab
#     health_surgery health_genetics health_nursing health_inpatient
#     health_icd10 + dependencies) and filled by compat/populate.py
#   * $DIR/env.sh with the connection URLs, config files and Tryton users
#
# Non-interactive; run as root on Debian 12.  Idempotent with a cache:
# $DIR/stamp holds a hash of compat/setup.sh + compat/populate.py.  When the
# stamp matches and the databases exist nothing is rebuilt (PostgreSQL is only
# started if it is not running).  When the hash changes both databases are
# rebuilt from scratch.  The venv has its own stamp (hash of the package pins)
# and is only rebuilt when the pins change.
#
# Environment:
#   GH_COMPAT_DIR      cache/data dir   (default $HOME/.cache/gnuhealth-fhir/compat)
#   GH_COMPAT_PGPORT   PostgreSQL port  (default 55432)
#   GH_COMPAT_FORCE=1  rebuild the databases even if the stamp matches
# =============================================================================
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DIR=${GH_COMPAT_DIR:-$HOME/.cache/gnuhealth-fhir/compat}
PORT=${GH_COMPAT_PGPORT:-55432}
PGBIN=/usr/lib/postgresql/15/bin
DBNAME=health
ADMIN_PASSWORD=gnusolidario
MODULES="health health_lab health_surgery health_genetics health_nursing health_inpatient health_icd10"
PIP_PKGS=(
    "gnuhealth==5.0.6"
    "gnuhealth-lab==5.0.4" "gnuhealth-surgery==5.0.4"
    "gnuhealth-genetics==5.0.4" "gnuhealth-nursing==5.0.4"
    "gnuhealth-inpatient==5.0.4" "gnuhealth-icd10==5.0.4"
    "gnuhealth-imaging==5.0.4" "gnuhealth-lifestyle==5.0.4"
    "trytond==7.0.59" "proteus==7.0.3" "passlib==1.7.4"
    "psycopg2-binary>=2.9,<2.10"
    "pytest" "requests"
)
VENV=$DIR/venv
PG_URL=postgresql://gnuhealth:gnuhealth@127.0.0.1:$PORT/$DBNAME

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
VENV=$DIR/venv

# one setup at a time per cache dir (several engineers / run.sh may call us)
# (fd 9 must not leak into the PostgreSQL server: see pg_start)
exec 9>"$DIR/setup.lock"
if ! flock -n 9; then
    echo "setup.sh: another setup is running on $DIR, waiting for it ..."
    flock 9
fi

T_START=$(date +%s.%N)
step() { echo; echo "=== [$(date +%H:%M:%S)] $*"; }
elapsed() { echo "$(date +%s.%N) - $1" | bc; }
timing() { printf '>>> TIMING %s %.1f\n' "$1" "$2"; }
timed() {  # timed label cmd...
    local label=$1; shift
    local t0; t0=$(date +%s.%N)
    "$@"
    timing "$label" "$(elapsed "$t0")"
}

STAMP=$(cat "$HERE/setup.sh" "$HERE/populate.py" | sha256sum | cut -d' ' -f1)
VENV_STAMP=$(printf '%s\n' "${PIP_PKGS[@]}" | sha256sum | cut -d' ' -f1)

# ---------------------------------------------------------------------------
step "Debian packages"
t0=$(date +%s.%N)
need_apt=""
command -v bc >/dev/null || need_apt="$need_apt bc"
command -v sqlite3 >/dev/null || need_apt="$need_apt sqlite3"
command -v flock >/dev/null || need_apt="$need_apt util-linux"
[ -x $PGBIN/initdb ] || need_apt="$need_apt postgresql"
python3 -c 'import ensurepip, venv' 2>/dev/null || need_apt="$need_apt python3-venv"
if [ -n "$need_apt" ]; then
    echo "installing:$need_apt"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need_apt >/dev/null
else
    echo "all present"
fi
timing apt "$(elapsed "$t0")"

# ---------------------------------------------------------------------------
step "Python venv $VENV"
install_venv() {
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q "${PIP_PKGS[@]}"
    echo "$VENV_STAMP" > "$VENV/.compat-stamp"
}
if [ -x "$VENV/bin/trytond-admin" ] && [ -f "$VENV/.compat-stamp" ] \
        && [ "$(cat "$VENV/.compat-stamp")" = "$VENV_STAMP" ]; then
    echo "venv up to date"
    timing venv 0
else
    timed venv install_venv
fi
"$VENV/bin/pip" freeze > "$DIR/pip-freeze.txt"
grep -Ei '^(gnuhealth|trytond|proteus|psycopg2)' "$DIR/pip-freeze.txt" | tr '\n' ' '; echo

# ---------------------------------------------------------------------------
# PostgreSQL helpers
pg_running() {
    [ -f "$DIR/pgdata/postmaster.pid" ] && \
        su postgres -c "$PGBIN/pg_ctl -D '$DIR/pgdata' status" >/dev/null 2>&1
}
pg_start() {
    if pg_isready -q -h 127.0.0.1 -p "$PORT"; then
        echo "ERROR: something else already listens on 127.0.0.1:$PORT" >&2
        echo "       choose another port with GH_COMPAT_PGPORT=..." >&2
        return 1
    fi
    mkdir -p "$DIR/pgrun"
    chown postgres:postgres "$DIR/pgrun"
    su postgres -c "$PGBIN/pg_ctl -D '$DIR/pgdata' -l '$DIR/pgrun/postgresql.log' \
        -o \"-c listen_addresses=127.0.0.1 -p $PORT -k $DIR/pgrun\" -w start" \
        >/dev/null 9>&-
}
pg_stop() {
    if pg_running; then
        su postgres -c "$PGBIN/pg_ctl -D '$DIR/pgdata' -m fast -w stop" >/dev/null || true
    fi
}
# the postgres user must be able to reach $DIR (e.g. under /root): grant
# search (x) permission only, on every ancestor directory
grant_traverse() {
    local d=$DIR
    chmod o+x "$d"
    while [ "$d" != / ]; do
        d=$(dirname "$d")
        if ! su postgres -s /bin/sh -c "test -x '$d'"; then chmod o+x "$d"; fi
    done
}

write_env() {
    cat > "$DIR/env.sh" <<EOF
# generated by compat/setup.sh -- source this file
export GH_COMPAT_DIR='$DIR'
export GH_COMPAT_PGPORT='$PORT'
export GH_VENV='$VENV'
export GH_SQLITE_URL='sqlite:///$DIR/sqlite/$DBNAME.sqlite'
export GH_PG_URL='$PG_URL'
export GH_TRYTON_SQLITE_CONF='$DIR/trytond-sqlite.conf'
export GH_TRYTON_PG_CONF='$DIR/trytond-pg.conf'
export GH_STAMP='$STAMP'
export GH_ADMIN_USER='admin'
export GH_ADMIN_PASSWORD='$ADMIN_PASSWORD'
export GH_DOCTOR_USER='abetz'
export GH_DOCTOR_PASSWORD='gnusolidario-Betz1'
export GH_FHIR_USER='fhir_reader'
export GH_FHIR_PASSWORD='fhir-Reader-2024!'
export GH_FRONTDESK_USER='frontdesk'
export GH_FRONTDESK_PASSWORD='gnusolidario-Front1'
export GH_NOGROUP_USER='nogroup'
export GH_NOGROUP_PASSWORD='gnusolidario-None1'
export GH_NURSE_USER='nurse'
export GH_NURSE_PASSWORD='gnusolidario-Nurse1'
export GH_LABTECH_USER='labtech'
export GH_LABTECH_PASSWORD='gnusolidario-Lab1'
EOF
}

# ---------------------------------------------------------------------------
step "cache check ($DIR/stamp)"
if [ "${GH_COMPAT_FORCE:-0}" != 1 ] && [ -f "$DIR/stamp" ] \
        && [ "$(cat "$DIR/stamp")" = "$STAMP" ] \
        && [ -s "$DIR/sqlite/$DBNAME.sqlite" ] && [ -f "$DIR/pgdata/PG_VERSION" ]; then
    echo "cache hit: databases are up to date"
    if pg_running; then
        echo "PostgreSQL already running on 127.0.0.1:$PORT"
    else
        grant_traverse
        timed pg_start pg_start
    fi
    write_env
    timing total "$(elapsed "$T_START")"
    echo "env: source $DIR/env.sh"
    exit 0
fi
echo "cache miss: rebuilding both databases from scratch"

# ---------------------------------------------------------------------------
step "Tryton configuration files"
rm -f "$DIR/stamp"
pg_stop
rm -rf "$DIR/sqlite" "$DIR/pgdata" "$DIR/attach" "$DIR/attach-sqlite" "$DIR/logs" "$DIR/facts"
mkdir -p "$DIR/sqlite" "$DIR/attach" "$DIR/logs"
echo "$ADMIN_PASSWORD" > "$DIR/adminpass.txt"
chmod 600 "$DIR/adminpass.txt"
export TRYTONPASSFILE="$DIR/adminpass.txt"
cat > "$DIR/trytond-sqlite.conf" <<EOF
[database]
uri = sqlite://
path = $DIR/sqlite
language = en
EOF
cat > "$DIR/trytond-pg.conf" <<EOF
[database]
uri = postgresql://gnuhealth:gnuhealth@127.0.0.1:$PORT/
path = $DIR/attach
language = en
EOF

# ---------------------------------------------------------------------------
step "PostgreSQL 15 cluster $DIR/pgdata on 127.0.0.1:$PORT"
grant_traverse
mkdir -p "$DIR/pgdata" "$DIR/pgrun"
chown postgres:postgres "$DIR/pgdata" "$DIR/pgrun"
chmod 700 "$DIR/pgdata"
PWFILE=$(mktemp)
echo gnuhealth > "$PWFILE"; chmod 644 "$PWFILE"
timed initdb su postgres -c "$PGBIN/initdb -D '$DIR/pgdata' -U postgres \
    --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
    --pwfile='$PWFILE' >/dev/null"
rm -f "$PWFILE"
timed pg_start pg_start
su postgres -c "psql -h '$DIR/pgrun' -p $PORT -q -c \
    \"CREATE ROLE gnuhealth LOGIN CREATEDB PASSWORD 'gnuhealth'\""
su postgres -c "createdb -h '$DIR/pgrun' -p $PORT -O gnuhealth -E UTF8 \
    -T template0 $DBNAME"

# ---------------------------------------------------------------------------
step "trytond-admin + populate, SQLite and PostgreSQL in parallel"
touch "$DIR/sqlite/$DBNAME.sqlite"   # trytond's sqlite backend needs the file
build() {  # build backend conf database
    local backend=$1 conf=$2 db=$3 t0
    t0=$(date +%s.%N)
    "$VENV/bin/trytond-admin" -c "$conf" -d "$DBNAME" \
        --email admin@example.org -u $MODULES --activate-dependencies \
        > "$DIR/logs/trytond-admin-$backend.log" 2>&1
    timing "trytond-admin-$backend" "$(elapsed "$t0")"
    t0=$(date +%s.%N)
    "$VENV/bin/python" "$HERE/populate.py" --config "$conf" --database "$db" \
        > "$DIR/logs/populate-$backend.log" 2>&1
    timing "populate-$backend" "$(elapsed "$t0")"
}
t0=$(date +%s.%N)
build sqlite "$DIR/trytond-sqlite.conf" "$DBNAME" &
pid_sqlite=$!
build pg "$DIR/trytond-pg.conf" "$PG_URL" &
pid_pg=$!
rc=0
wait $pid_sqlite || { echo "ERROR: SQLite build failed, see $DIR/logs/*-sqlite.log" >&2; tail -20 "$DIR"/logs/*-sqlite.log >&2; rc=1; }
wait $pid_pg || { echo "ERROR: PostgreSQL build failed, see $DIR/logs/*-pg.log" >&2; tail -20 "$DIR"/logs/*-pg.log >&2; rc=1; }
timing build-both "$(elapsed "$t0")"
[ $rc = 0 ] || exit 1

echo "$STAMP" > "$DIR/stamp"
write_env
timing total "$(elapsed "$T_START")"
echo
echo "done.  source $DIR/env.sh"
echo "  SQLite:     sqlite:///$DIR/sqlite/$DBNAME.sqlite"
echo "  PostgreSQL: $PG_URL   (stop: bash compat/stop.sh)"
