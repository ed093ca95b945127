#!/usr/bin/env bash
# =============================================================================
# The whole compat run of gnuhealth-fhir against REAL GNU Health 5.0 databases
#
#   1. compat/setup.sh (cached): venv, SQLite db, PostgreSQL 15 cluster
#   2. export the ground-truth facts of both databases (cached next to the
#      databases, keyed by the setup stamp + export_facts.py) and check that
#      the SQLite and PostgreSQL facts agree
#   3. for each backend: start `$BIN serve`, wait for /metadata, run
#      compat/test_fhir.py, compat/test_search.py (search features: _sort,
#      _total, chaining, _has, _include, compartments, quantities, subsets,
#      XML, lenient handling), compat/test_allergy.py (AllergyIntolerance:
#      read, every search parameter, the split with Condition),
#      compat/test_location.py (Location and PractitionerRole reads and
#      searches), compat/test_encounter.py (Encounter and the vital-sign
#      Observations), compat/test_everything.py (Patient/[id]/$everything),
#      compat/test_appointment.py (Appointment, Coverage and RelatedPerson
#      reads and searches), compat/test_access.py (which also runs
#      `$BIN access`) and compat/test_throttle.py (sign-in throttling shared
#      with trytond, through trytond's own code), stop the server
#   4. `$BIN demo --generate-only` into a temp file, run compat/test_schema.py
#   4b. with PostgreSQL: compat/cluster.sh, two instances behind nginx (the
#      shipped deploy/nginx-gnuhealth-fhir.conf) and compat/test_cluster.py
#   4b'. with PostgreSQL: compat/browser.sh, the browser view in a real
#      headless Chromium (compat/browser/test_browser.py): sign in, open a
#      patient, follow its links, screenshots into the logs
#   4c. compat/clients.sh: fhirpy, fhirclient and fhir-kit-client, unchanged,
#      against the demo (compat/clients/)
#   4d. compat/test_faults.py: PostgreSQL (a cluster of its own) stopped and
#      started under load, a missing and a locked SQLite file
#   5. the demo in PostgreSQL: a fresh database in the cluster, `$BIN demo
#      --db postgresql://... --generate-only`, then that database served by
#      `$BIN demo` next to the SQLite demo of the same options served by
#      `$BIN serve`, and compat/test_pg_demo.py compares them (and the
#      columns with the real PostgreSQL database's)
#
# Environment:
#   GNUHEALTH_FHIR_BIN  server binary (default target/release/gnuhealth-fhir,
#                       relative to the repository root)
#   GH_COMPAT_DIR, GH_COMPAT_PGPORT   see compat/setup.sh
#   GH_COMPAT_BACKENDS  backends to test (default "sqlite pg")
#   PYTEST_ARGS         extra pytest arguments (e.g. "-x -k Patient")
# Exit status: non-zero if anything failed.
# =============================================================================
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
cd "$ROOT"

BIN=${GNUHEALTH_FHIR_BIN:-target/release/gnuhealth-fhir}
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac
# the server reads its settings from GNUHEALTH_FHIR_* variables and rejects
# unknown ones: keep our own variable out of its environment
unset GNUHEALTH_FHIR_BIN
BACKENDS=${GH_COMPAT_BACKENDS:-sqlite pg}
export GNUHEALTH_FHIR_SECRET_KEY=${GNUHEALTH_FHIR_SECRET_KEY:-compat-test-secret-key-0123456789abcdef}
# the test servers listen on loopback only: plain HTTP is what the checks speak
export GNUHEALTH_FHIR_PLAIN_HTTP=true

FAILED=()
SUMMARY=()
fail() { FAILED+=("$1"); echo "!!! FAILED: $1" >&2; }

# ---------------------------------------------------------------------------
echo "=== compat: setup"
if ! bash "$HERE/setup.sh"; then
    echo "!!! compat/setup.sh failed" >&2
    exit 1
fi
DIR=${GH_COMPAT_DIR:-$HOME/.cache/gnuhealth-fhir/compat}
# shellcheck disable=SC1091
source "$DIR/env.sh"
PY=$GH_VENV/bin/python
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gh-compat.XXXXXX")
# logs of the last run (pytest, server, demo) are kept here
LOGS=$GH_COMPAT_DIR/last-run
rm -rf "$LOGS"; mkdir -p "$LOGS"
SERVER_PID=""
DEMO_PIDS=()
cleanup() {
    local pid
    for pid in "$SERVER_PID" "${DEMO_PIDS[@]}"; do
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
        fi
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

# ---------------------------------------------------------------------------
echo "=== compat: facts"
FACTS_KEY=$(echo "$GH_STAMP $(sha256sum "$HERE/export_facts.py" | cut -d' ' -f1)" \
    | sha256sum | cut -c1-16)
FACTS_DIR=$GH_COMPAT_DIR/facts
mkdir -p "$FACTS_DIR"
FACTS_SQLITE=$FACTS_DIR/facts-sqlite-$FACTS_KEY.json
FACTS_PG=$FACTS_DIR/facts-pg-$FACTS_KEY.json
t0=$(date +%s.%N)
if [ ! -s "$FACTS_SQLITE" ]; then
    "$PY" "$HERE/export_facts.py" --config "$GH_TRYTON_SQLITE_CONF" \
        --database health --out "$FACTS_SQLITE.tmp" \
        && mv "$FACTS_SQLITE.tmp" "$FACTS_SQLITE" || fail "export facts (sqlite)"
fi
if [ ! -s "$FACTS_PG" ]; then
    "$PY" "$HERE/export_facts.py" --config "$GH_TRYTON_PG_CONF" \
        --database "$GH_PG_URL" --out "$FACTS_PG.tmp" \
        && mv "$FACTS_PG.tmp" "$FACTS_PG" || fail "export facts (pg)"
fi
printf '>>> TIMING facts %.1f\n' "$(echo "$(date +%s.%N) - $t0" | bc)"
if [ -s "$FACTS_SQLITE" ] && [ -s "$FACTS_PG" ]; then
    if cmp -s "$FACTS_SQLITE" "$FACTS_PG"; then
        echo "facts: SQLite and PostgreSQL agree ($FACTS_SQLITE)"
    else
        diff <(cd / && "$PY" -m json.tool "$FACTS_SQLITE") \
             <(cd / && "$PY" -m json.tool "$FACTS_PG") | head -40
        fail "facts differ between SQLite and PostgreSQL"
    fi
fi

# ---------------------------------------------------------------------------
free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

run_pytest() {  # label logfile pytest-args...
    local label=$1 log=$2; shift 2
    local rc
    # shellcheck disable=SC2086
    "$PY" -m pytest -p no:cacheprovider -q -rfE ${PYTEST_ARGS:-} "$@" \
        > "$log" 2>&1
    rc=$?
    tail -n 30 "$log" | grep -E '^(FAILED|ERROR) ' | head -20
    local line
    line=$(grep -E '(passed|failed|error|skipped|no tests ran)' "$log" | tail -n 1)
    SUMMARY+=("$label: ${line:-no pytest summary (rc $rc)}")
    echo "$label: $line"
    if [ $rc -ne 0 ]; then
        fail "$label (pytest rc $rc, log $log)"
    fi
}

run_script() {  # name label script args...: a test script of its own, its last lines summed up
    local name=$1 label=$2 t0
    shift 2
    t0=$(date +%s.%N)
    if bash "$@" > "$LOGS/$name.log" 2>&1; then
        SUMMARY+=("$name: $(grep -E '(passed|failed|generated)' "$LOGS/$name.log" | tr '\n' ';')")
    else
        tail -n 40 "$LOGS/$name.log" >&2
        fail "$label (log $LOGS/$name.log)"
    fi
    printf '>>> TIMING %s %.1f\n' "$name" "$(echo "$(date +%s.%N) - $t0" | bc)"
}

wait_for_metadata() {  # pid port: 0 once the server answers /metadata
    local pid=$1 port=$2
    for _ in $(seq 1 300); do
        if ! kill -0 "$pid" 2>/dev/null; then return 1; fi
        if "$PY" -c "import sys, urllib.request as u; u.urlopen('http://127.0.0.1:$port/metadata', timeout=2); sys.exit(0)" 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}

serve_and_test() {  # backend database-url facts tryton-conf
    local backend=$1 db=$2 facts=$3 conf=$4 port t0
    port=$(free_port)
    echo "=== compat: $backend server on 127.0.0.1:$port"
    # GNUHEALTH_FHIR_LOGIN_DELAY=false: no progressive delay (trytond's random
    # 0 .. 2^failures - 1 s sleep) before a sign-in check.  test_throttle.py
    # makes up to 6 failures per login, which would otherwise take up to a
    # minute; the other tests only sign in with right passwords or fail once
    # per login, where the delay is 0 s anyway.
    GNUHEALTH_FHIR_LOGIN_DELAY=false \
        "$BIN" serve --database "$db" --listen "127.0.0.1:$port" \
        > "$LOGS/server-$backend.log" 2>&1 &
    SERVER_PID=$!
    t0=$(date +%s.%N)
    if ! wait_for_metadata "$SERVER_PID" "$port"; then
        tail -n 30 "$LOGS/server-$backend.log" >&2
        fail "$backend server did not answer /metadata"
        kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null
        SERVER_PID=""
        return
    fi
    printf '>>> TIMING server-start-%s %.1f\n' "$backend" "$(echo "$(date +%s.%N) - $t0" | bc)"
    t0=$(date +%s.%N)
    FHIR_BASE=http://127.0.0.1:$port FACTS=$facts \
        run_pytest "test_fhir[$backend]" "$LOGS/pytest-fhir-$backend.log" \
        "$HERE/test_fhir.py"
    printf '>>> TIMING test-fhir-%s %.1f\n' "$backend" "$(echo "$(date +%s.%N) - $t0" | bc)"
    t0=$(date +%s.%N)
    FHIR_BASE=http://127.0.0.1:$port FACTS=$facts \
        run_pytest "test_search[$backend]" "$LOGS/pytest-search-$backend.log" \
        "$HERE/test_search.py"
    printf '>>> TIMING test-search-%s %.1f\n' "$backend" "$(echo "$(date +%s.%N) - $t0" | bc)"
    t0=$(date +%s.%N)
    FHIR_BASE=http://127.0.0.1:$port FACTS=$facts \
        run_pytest "test_allergy[$backend]" "$LOGS/pytest-allergy-$backend.log" \
        "$HERE/test_allergy.py"
    printf '>>> TIMING test-allergy-%s %.1f\n' "$backend" "$(echo "$(date +%s.%N) - $t0" | bc)"
    t0=$(date +%s.%N)
    FHIR_BASE=http://127.0.0.1:$port FACTS=$facts \
        run_pytest "test_location[$backend]" "$LOGS/pytest-location-$backend.log" \
        "$HERE/test_location.py"
    printf '>>> TIMING test-location-%s %.1f\n' "$backend" "$(echo "$(date +%s.%N) - $t0" | bc)"
    t0=$(date +%s.%N)
    FHIR_BASE=http://127.0.0.1:$port FACTS=$facts \
        run_pytest "test_encounter[$backend]" "$LOGS/pytest-encounter-$backend.log" \
        "$HERE/test_encounter.py"
    printf '>>> TIMING test-encounter-%s %.1f\n' "$backend" "$(echo "$(date +%s.%N) - $t0" | bc)"
    t0=$(date +%s.%N)
    FHIR_BASE=http://127.0.0.1:$port FACTS=$facts \
        run_pytest "test_everything[$backend]" "$LOGS/pytest-everything-$backend.log" \
        "$HERE/test_everything.py"
    printf '>>> TIMING test-everything-%s %.1f\n' "$backend" "$(echo "$(date +%s.%N) - $t0" | bc)"
    t0=$(date +%s.%N)
    FHIR_BASE=http://127.0.0.1:$port FACTS=$facts \
        run_pytest "test_appointment[$backend]" "$LOGS/pytest-appointment-$backend.log" \
        "$HERE/test_appointment.py"
    printf '>>> TIMING test-appointment-%s %.1f\n' "$backend" "$(echo "$(date +%s.%N) - $t0" | bc)"
    t0=$(date +%s.%N)
    FHIR_BASE=http://127.0.0.1:$port FACTS=$facts FHIR_SERVER_BIN=$BIN \
        FHIR_DATABASE=$db \
        run_pytest "test_access[$backend]" "$LOGS/pytest-access-$backend.log" \
        "$HERE/test_access.py"
    printf '>>> TIMING test-access-%s %.1f\n' "$backend" "$(echo "$(date +%s.%N) - $t0" | bc)"
    t0=$(date +%s.%N)
    FHIR_BASE=http://127.0.0.1:$port TRYTON_CONF=$conf TRYTON_DATABASE=$db \
        run_pytest "test_throttle[$backend]" \
        "$LOGS/pytest-throttle-$backend.log" "$HERE/test_throttle.py"
    printf '>>> TIMING test-throttle-%s %.1f\n' "$backend" "$(echo "$(date +%s.%N) - $t0" | bc)"
    kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
}

# The demo written into a fresh database of the compat cluster, served next to
# the SQLite demo of the same options; test_pg_demo.py compares the two.
pg_demo() {
    local n=200 name=gnuhealth_fhir_demo url sqlite=$WORK/demo-200.sqlite
    local port_sqlite port_pg pid_sqlite pid_pg
    url=${GH_PG_URL%/*}/$name
    # the role of GH_PG_URL may create databases (compat/setup.sh)
    dropdb --if-exists --maintenance-db="$GH_PG_URL" "$name" \
        && createdb --maintenance-db="$GH_PG_URL" "$name" \
        || { fail "create the database $name"; return; }
    if ! "$BIN" demo --db "$url" --patients $n --generate-only \
            > "$LOGS/demo-pg.log" 2>&1; then
        tail -n 20 "$LOGS/demo-pg.log" >&2
        fail "gnuhealth-fhir demo --db postgresql://... --generate-only"
        return
    fi
    if ! "$BIN" demo --db "$sqlite" --patients $n --generate-only \
            >> "$LOGS/demo-pg.log" 2>&1; then
        tail -n 20 "$LOGS/demo-pg.log" >&2
        fail "gnuhealth-fhir demo --db $sqlite --generate-only"
        return
    fi
    port_sqlite=$(free_port)
    "$BIN" serve --database "sqlite://$sqlite" --listen "127.0.0.1:$port_sqlite" \
        > "$LOGS/server-demo-sqlite.log" 2>&1 &
    pid_sqlite=$!
    port_pg=$(free_port)
    "$BIN" demo --db "$url" --patients $n --listen "127.0.0.1:$port_pg" \
        > "$LOGS/server-demo-pg.log" 2>&1 &
    pid_pg=$!
    DEMO_PIDS+=("$pid_sqlite" "$pid_pg")
    if wait_for_metadata "$pid_sqlite" "$port_sqlite" \
            && wait_for_metadata "$pid_pg" "$port_pg"; then
        DEMO_PG_URL=$url DEMO_SQLITE=$sqlite DEMO_PATIENTS=$n \
            FHIR_BASE_PG=http://127.0.0.1:$port_pg \
            FHIR_BASE_SQLITE=http://127.0.0.1:$port_sqlite \
            FHIR_SERVER_BIN=$BIN \
            run_pytest "test_pg_demo" "$LOGS/pytest-pg-demo.log" \
            "$HERE/test_pg_demo.py"
    else
        tail -n 20 "$LOGS/server-demo-sqlite.log" "$LOGS/server-demo-pg.log" >&2
        fail "demo servers did not answer /metadata"
    fi
    kill "$pid_sqlite" "$pid_pg" 2>/dev/null
    wait "$pid_sqlite" "$pid_pg" 2>/dev/null
    DEMO_PIDS=()
    dropdb --if-exists --maintenance-db="$GH_PG_URL" "$name" \
        || fail "drop the database $name"
}

if [ ! -x "$BIN" ]; then
    fail "server binary $BIN not found (cargo build --release, or set GNUHEALTH_FHIR_BIN)"
else
    for b in $BACKENDS; do
        case $b in
            sqlite) serve_and_test sqlite "$GH_SQLITE_URL" "$FACTS_SQLITE" \
                        "$GH_TRYTON_SQLITE_CONF" ;;
            pg)     serve_and_test pg "$GH_PG_URL" "$FACTS_PG" \
                        "$GH_TRYTON_PG_CONF" ;;
            *)      fail "unknown backend $b" ;;
        esac
    done

    # -----------------------------------------------------------------------
    case " $BACKENDS " in
        *" pg "*)
            echo "=== compat: two instances behind nginx on PostgreSQL"
            run_script cluster "two instances behind nginx" "$HERE/cluster.sh" "$BIN" "$PY" "$LOGS"
            echo "=== compat: the browser view in headless Chromium on PostgreSQL"
            run_script browser "the browser view in Chromium" "$HERE/browser.sh" "$BIN" "$LOGS"
            ;;
    esac

    # -----------------------------------------------------------------------
    echo "=== compat: real FHIR clients (fhirpy, fhirclient, fhir-kit-client), schemathesis"
    run_script clients "real FHIR clients and schemathesis" "$HERE/clients.sh" "$BIN" "$LOGS"

    # -----------------------------------------------------------------------
    echo "=== compat: database faults"
    t0=$(date +%s.%N)
    GNUHEALTH_FHIR_BIN=$BIN FAULTS_LOG_DIR=$LOGS run_pytest "test_faults" \
        "$LOGS/pytest-faults.log" "$HERE/test_faults.py"
    printf '>>> TIMING faults %.1f\n' "$(echo "$(date +%s.%N) - $t0" | bc)"

    # -----------------------------------------------------------------------
    echo "=== compat: demo schema"
    t0=$(date +%s.%N)
    if "$BIN" demo --db "$WORK/demo.sqlite" --patients 20 --generate-only \
            > "$LOGS/demo.log" 2>&1; then
        DEMO_DB=$WORK/demo.sqlite run_pytest "test_schema" \
            "$LOGS/pytest-schema.log" "$HERE/test_schema.py"
    else
        tail -n 20 "$LOGS/demo.log" >&2
        fail "gnuhealth-fhir demo --generate-only"
    fi
    printf '>>> TIMING demo-schema %.1f\n' "$(echo "$(date +%s.%N) - $t0" | bc)"

    # -----------------------------------------------------------------------
    echo "=== compat: demo in PostgreSQL"
    t0=$(date +%s.%N)
    pg_demo
    printf '>>> TIMING demo-postgresql %.1f\n' "$(echo "$(date +%s.%N) - $t0" | bc)"
fi

# ---------------------------------------------------------------------------
echo
echo "=== compat summary"
for s in "${SUMMARY[@]}"; do echo "  $s"; done
if [ ${#FAILED[@]} -gt 0 ]; then
    for f in "${FAILED[@]}"; do echo "  FAILED: $f"; done
    exit 1
fi
echo "  all compat checks passed"
