#!/usr/bin/env bash
# HTTP benchmark of gnuhealth-fhir on the demo database (default 100,000 patients):
# authenticated GET /Patient/[random id], GET /Patient?name=[random prefix], a random
# patient's Observations (with their subject included), Encounters and $everything
# page, and _summary=count over all Observations, next to the static CapabilityStatement
# and a raw SQLite point query, all in the same run, then the server's memory.
# Needs wrk (Debian package). Figures go to bench/RESULTS.md by hand, with the machine.
# Usage: bench/run.sh [PATIENTS] [SECONDS] [CONNECTIONS]
# BENCH_DB=postgresql://user:pass@host:port/db benchmarks the demo in that (existing,
# empty or demo) PostgreSQL database instead of a SQLite file; psql must be installed.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PATIENTS=${1:-100000}
SECONDS_PER_RUN=${2:-15}
CONNECTIONS=${3:-64}
PORT=${BENCH_PORT:-18300}
DB=${BENCH_DB:-$ROOT/target/bench-demo-$PATIENTS.sqlite}
command -v wrk > /dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -p gnuhealth-fhir -p gnuhealth --examples --bins
BIN=$ROOT/target/release/gnuhealth-fhir
"$BIN" demo --db "$DB" --patients "$PATIENTS" --generate-only
"$BIN" demo --db "$DB" --listen "127.0.0.1:$PORT" > /tmp/ghf-bench-server.log 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/metadata" > /dev/null && break; sleep 0.1; done
LOGIN=$(sed -n 's/.*user: \([^ ]*\) .*/\1/p' /tmp/ghf-bench-server.log | head -1)
PASSWORD=$(sed -n 's/.*password: \(.*\)$/\1/p' /tmp/ghf-bench-server.log | head -1)
AUTH=$(printf '%s:%s' "$LOGIN" "$PASSWORD" | base64 -w0)
case $DB in
    postgres://* | postgresql://*) MAXID=$(psql "$DB" -Atc 'SELECT MAX(id) FROM gnuhealth_patient') ;;
    *) MAXID=$(sqlite3 "$DB" 'SELECT MAX(id) FROM gnuhealth_patient') ;;
esac
# Warm the credential cache (one scrypt check) and the page cache.
curl -sf -H "Authorization: Basic $AUTH" "http://127.0.0.1:$PORT/Patient/1" > /dev/null

run() {
    echo "--- $1"
    shift
    wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency "$@" | grep -E 'Requests/sec|50%|99%|Non-2xx|Socket errors'
}
run "static: GET /metadata (no auth)" "http://127.0.0.1:$PORT/metadata"
# An authenticated GET of a path about a random patient ({id}).
patient_path() {
    run "GET $1 (Basic auth)" -s bench/patient_path.lua "http://127.0.0.1:$PORT" -- "$AUTH" "$MAXID" "$1"
}
patient_path "/Patient/{id}"
patient_path "/Observation?patient={id}&_include=Observation:subject"
patient_path "/Encounter?patient={id}"
patient_path "/Patient/{id}/\$everything?_count=50"
# The slow ones last: the requests still running when wrk stops hold the connections
# for a while and would slow what comes next.
run "GET /Patient?name=[random prefix] (Basic auth)" -s bench/patient_search.lua "http://127.0.0.1:$PORT" -- "$AUTH"
patient_path "/Observation?_summary=count"
echo "--- server memory after the runs: $(ps -o rss= -p "$PID" | awk '{printf "%.0f MB RSS", $1 / 1024}')"
case $DB in
    postgres://* | postgresql://*) ;;
    *)
        echo "--- raw SQLite point query, one thread"
        "$ROOT/target/release/examples/sqlite_point_query" "$DB" "$SECONDS_PER_RUN"
        ;;
esac
