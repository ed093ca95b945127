#!/usr/bin/env bash
# HTTP benchmark of gnuhealth-fhir, one run over both backends and every size: for each
# backend (SQLite file, PostgreSQL database) and each demo size it measures the raw limits
# (bench examples raw_limits: a static Patient-sized JSON, and the very SQL of an
# authenticated Patient read without password check, access rights or mapping, both on
# the server's HTTP stack), then the server: GET /Patient/[random id], /Patient?family=,
# a patient's Observations with their subject included, a walk through 50-entry pages of
# Patient?_sort=birthdate (one client, page after page), _summary=count of Observation,
# $everything of the patient with the most evaluations, and the server's memory. Each
# figure is printed with its ratio to the raw limit it is judged against.
#
# Usage: bench/run.sh [SIZES] [SECONDS] [CONNECTIONS]   e.g. bench/run.sh "1000 100000" 10 64
# Environment:
#   BENCH_BACKENDS  "sqlite pg" (default) or one of them
#   BENCH_PG_URL    a PostgreSQL server to use (postgresql://user@host:port); without it a
#                   throwaway PostgreSQL 15 cluster is started in target/bench-pg
#   BENCH_INDEXES   1 (default): apply `gnuhealth-fhir db suggest-indexes` to the demo
#                   databases first; 0: GNU Health's own indexes only
# Databases are measured warm (their files read into the OS page cache first).
# Needs wrk (installed with apt-get when missing). Results: paste into bench/RESULTS.md.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SIZES=${1:-"1000 100000"}
SECS=${2:-10}
CONNECTIONS=${3:-64}
BACKENDS=${BENCH_BACKENDS:-sqlite pg}
INDEXES=${BENCH_INDEXES:-1}
PORT=18300
RAW_PORT=18301
LOG=$ROOT/target/bench-logs
mkdir -p "$LOG"
command -v wrk > /dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -p gnuhealth-fhir --examples --bins
BIN=$ROOT/target/release/gnuhealth-fhir
RAW=$ROOT/target/release/examples/raw_limits
AUTH=$(printf 'demo:demo-GNUHealth-2026' | base64 -w0)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null || true; done
    if [ -n "${PG_STARTED:-}" ]; then
        su postgres -c "/usr/lib/postgresql/15/bin/pg_ctl -D $PG_STARTED -m fast stop" > /dev/null || true
    fi
}
trap cleanup EXIT

start_pg() {
    if [ -n "${BENCH_PG_URL:-}" ]; then
        PG_BASE=$BENCH_PG_URL
        return
    fi
    local pgbin=/usr/lib/postgresql/15/bin data=$ROOT/target/bench-pg/data
    [ -x $pgbin/initdb ] || { apt-get update -qq && apt-get install -y -qq postgresql; }
    mkdir -p "$ROOT/target/bench-pg/run"
    chown -R postgres "$ROOT/target/bench-pg"
    [ -f "$data/PG_VERSION" ] || su postgres -c "$pgbin/initdb -D $data -A trust" > /dev/null
    su postgres -c "$pgbin/pg_ctl -D $data -l $ROOT/target/bench-pg/log -w -o '-c listen_addresses=127.0.0.1 -p 55450 -k $ROOT/target/bench-pg/run -c shared_buffers=512MB' start" > /dev/null
    PG_STARTED=$data
    PG_BASE=postgresql://postgres@127.0.0.1:55450
}

# The database URL of the demo of SIZE patients on BACKEND, created if missing.
demo_url() {
    local backend=$1 size=$2
    if [ "$backend" = sqlite ]; then
        echo "sqlite://$ROOT/target/bench-demo-$size.sqlite"
    else
        psql "$PG_BASE/postgres" -qtAc "SELECT 1 FROM pg_database WHERE datname = 'ghf_bench_$size'" | grep -q 1 ||
            psql "$PG_BASE/postgres" -qc "CREATE DATABASE ghf_bench_$size" > /dev/null
        echo "$PG_BASE/ghf_bench_$size"
    fi
}

# Run SQL on the demo database.
sql() {
    local url=$1
    shift
    case $url in
        sqlite://*) sqlite3 "${url#sqlite://}" "$@" ;;
        *) psql "$url" -qtA -c "$@" ;;
    esac
}

wait_http() {
    for _ in $(seq 1 300); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
    echo "no answer from $1" >&2
    return 1
}

# One wrk run: prints "name req/s p50 p99 errors".
measure() {
    local name=$1
    shift
    local out
    out=$(wrk -t2 -c"$CONNECTIONS" -d"${SECS}s" --timeout 10s --latency "$@")
    local rps p50 p99 errors
    rps=$(awk '/Requests\/sec/ {print $2}' <<< "$out")
    p50=$(awk '$1 == "50%" {print $2}' <<< "$out")
    p99=$(awk '$1 == "99%" {print $2}' <<< "$out")
    errors=$(awk '/Non-2xx/ {n += $5} /Socket errors/ {n += $10} END {print n + 0}' <<< "$out")
    echo "$name|$rps|$p50|$p99|$errors"
}

# Walk PAGES pages of Patient?_sort=birthdate&_count=50 following the next links, one
# request at a time: prints "name pages/s p50 p99 errors".
page_walk() {
    local base=$1 pages=$2 url times=() errors=0
    url="$base/Patient?_sort=birthdate&_count=50"
    for _ in $(seq 1 "$pages"); do
        local body t
        t=$(curl -s -o "$LOG/page.json" -w '%{time_total}' -H "Authorization: Basic $AUTH" "$url") || errors=$((errors + 1))
        times+=("$t")
        url=$(python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); print(next((l["url"] for l in b.get("link", []) if l["relation"] == "next"), ""))' "$LOG/page.json" 2> /dev/null || true)
        [ -n "$url" ] || break
    done
    printf '%s\n' "${times[@]}" | sort -g | awk -v name="page walk: Patient?_sort=birthdate&_count=50 (1 client)" -v errors="$errors" '
        { t[NR] = $1; sum += $1 }
        END { printf "%s|%.0f|%.2fms|%.2fms|%d\n", name, NR / sum, t[int((NR - 1) * 0.5) + 1] * 1000, t[int((NR - 1) * 0.99) + 1] * 1000, errors }'
}

RESULTS=$LOG/results.txt
: > "$RESULTS"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo), $(lscpu | sed -n 's/^Model name: *//p' | head -1); wrk -t2 -c$CONNECTIONS -d${SECS}s on loopback, sharing the cores" | tee -a "$RESULTS"
for backend in $BACKENDS; do
    [ "$backend" = pg ] && start_pg
    for size in $SIZES; do
        url=$(demo_url "$backend" "$size")
        echo "=== $backend, $size patients: $(sed 's/:[^:@/]*@/:***@/' <<< "$url")"
        "$BIN" demo --db "${url#sqlite://}" --patients "$size" --generate-only
        if [ "$INDEXES" = 1 ]; then
            "$BIN" db suggest-indexes --database "$url" > "$LOG/indexes.sql"
            case $url in
                sqlite://*) sqlite3 "${url#sqlite://}" < "$LOG/indexes.sql" ;;
                *) psql "$url" -q -f "$LOG/indexes.sql" ;;
            esac
        fi
        # Measured warm, as a server runs: the database's files read once into the OS
        # page cache (at 1M patients they are 10-12 GB; cold, the first minutes measure
        # the disk).
        case $url in
            sqlite://*) cat "${url#sqlite://}" > /dev/null ;;
            *)
                if [ -n "${PG_STARTED:-}" ]; then
                    find "$PG_STARTED/base/$(sql "$url" 'SELECT oid FROM pg_database WHERE datname = current_database()')" \
                        -type f -exec cat {} + > /dev/null
                fi
                ;;
        esac
        maxid=$(sql "$url" 'SELECT MAX(id) FROM gnuhealth_patient')
        # A rich patient of the same size at every scale: 15 evaluations (the richest one
        # grows with the demo, 18 at 1k, 21 at 100k), the first such.
        rich=$(sql "$url" 'SELECT patient FROM gnuhealth_patient_evaluation GROUP BY patient HAVING COUNT(*) = 15 ORDER BY patient LIMIT 1')
        "$RAW" "$url" "127.0.0.1:$RAW_PORT" > "$LOG/raw.log" 2>&1 &
        PIDS+=($!)
        raw_pid=$!
        "$BIN" demo --db "${url#sqlite://}" --listen "127.0.0.1:$PORT" > "$LOG/server.log" 2>&1 &
        PIDS+=($!)
        pid=$!
        wait_http "http://127.0.0.1:$PORT/metadata"
        wait_http "http://127.0.0.1:$RAW_PORT/static"
        # The credential cache (one password hash) and the page cache warm.
        curl -sf -o /dev/null -H "Authorization: Basic $AUTH" "http://127.0.0.1:$PORT/Patient/1"
        path() { echo -s bench/patient_path.lua "$1" -- "$AUTH" "$maxid" "$2"; }
        static=$(measure "raw: static Patient JSON" "http://127.0.0.1:$RAW_PORT/static")
        rawsql=$(measure "raw: the read's SQL, no auth or mapping" $(path "http://127.0.0.1:$RAW_PORT" "/sql/{id}"))
        static_rps=$(cut -d'|' -f2 <<< "$static")
        rawsql_rps=$(cut -d'|' -f2 <<< "$rawsql")
        kill "$raw_pid"
        {
            echo "$static|static"
            echo "$rawsql|static"
            echo "$(measure "GET /Patient/[id]" $(path "http://127.0.0.1:$PORT" "/Patient/{id}"))|sql"
            echo "$(measure "GET /Patient?family=[prefix]" -s bench/patient_search.lua "http://127.0.0.1:$PORT" -- "$AUTH" family)|static"
            echo "$(measure "GET /Observation?patient=[id]&_include=Observation:subject" $(path "http://127.0.0.1:$PORT" "/Observation?patient={id}&_include=Observation:subject"))|static"
            echo "$(page_walk "http://127.0.0.1:$PORT" 200)|static"
            echo "$(measure "GET /Patient/[rich]/\$everything?_count=50" $(path "http://127.0.0.1:$PORT" "/Patient/$rich/\$everything?_count=50"))|static"
            echo "$(measure "GET /Observation?_summary=count" $(path "http://127.0.0.1:$PORT" "/Observation?_summary=count"))|static"
        } | while IFS='|' read -r name rps p50 p99 errors base; do
            limit=$static_rps
            [ "$base" = sql ] && limit=$rawsql_rps
            ratio=$(awk -v a="$rps" -v b="$limit" 'BEGIN { if (b > 0) printf "%.1f %%", 100 * a / b; else print "-" }')
            printf '| %s | %s | %s | %s | %s | %s | %s | %s of %s |\n' "$backend" "$size" "$name" "$rps" "$p50" "$p99" "$errors" "$ratio" "$([ "$base" = sql ] && echo "raw SQL" || echo static)"
        done | tee -a "$RESULTS"
        # The server's own memory: SQLite's memory-mapped database pages are the OS page
        # cache's, counted in RSS once per connection, so they are shown apart.
        echo "| $backend | $size | server memory after the runs (RSS without file pages; file pages) | $(awk '/^RssAnon/ {a = $2} /^RssFile/ {f = $2} END {printf "%.0f MB; %.0f MB", a / 1024, f / 1024}' "/proc/$pid/status") | | | | |" | tee -a "$RESULTS"
        kill "$pid"
        wait "$pid" 2> /dev/null || true
    done
done
echo
echo "columns: backend | patients | request | req/s | p50 | p99 | errors | ratio to its raw limit"
echo "all results: $RESULTS"
