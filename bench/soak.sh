#!/usr/bin/env bash
# Soak test: the server under a steady mixed load (bench/soak.lua) at about 80 % of its
# measured capacity for a long time, its memory sampled every 10 s: it must stay flat.
#
# Usage: bench/soak.sh [MINUTES] [PATIENTS]   (default 30 minutes, the 1000-patient demo)
# Writes target/bench-logs/soak.csv (seconds, RSS without file pages in kB, RSS in kB,
# requests/s of the last minute) and prints the summary to paste into bench/RESULTS.md.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
MINUTES=${1:-30}
PATIENTS=${2:-1000}
PORT=18310
CONNECTIONS=64
LOG=$ROOT/target/bench-logs
mkdir -p "$LOG"
command -v wrk > /dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -p gnuhealth-fhir
BIN=$ROOT/target/release/gnuhealth-fhir
DB=$ROOT/target/bench-demo-$PATIENTS.sqlite
AUTH=$(printf 'demo:demo-GNUHealth-2026' | base64 -w0)
"$BIN" demo --db "$DB" --patients "$PATIENTS" --generate-only
"$BIN" demo --db "$DB" --listen "127.0.0.1:$PORT" > "$LOG/soak-server.log" 2>&1 &
pid=$!
trap 'kill $pid 2> /dev/null || true' EXIT
for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/metadata" && break; sleep 0.1; done
maxid=$(sqlite3 "$DB" 'SELECT MAX(id) FROM gnuhealth_patient')
memory() { awk '/^RssAnon/ {a = $2} /^VmRSS/ {r = $2} END {print a "," r}' "/proc/$pid/status"; }

# Capacity: the same mix without pauses.
capacity=$(wrk -t2 -c"$CONNECTIONS" -d15s -s bench/soak.lua "http://127.0.0.1:$PORT" -- "$AUTH" "$maxid" 0 |
    awk '/Requests\/sec/ {print $2}')
target=$(awk -v c="$capacity" 'BEGIN {printf "%.0f", 0.8 * c}')
# Each connection pauses so that all of them together make about the target rate.
pause=$(awk -v t="$target" -v n="$CONNECTIONS" 'BEGIN {d = 1000 * n / t - 1; printf "%d", (d < 1 ? 1 : d)}')
echo "capacity $capacity req/s; target $target req/s: $CONNECTIONS connections pausing $pause ms"

echo "seconds,rss_anon_kb,rss_kb,requests_per_s" > "$LOG/soak.csv"
start=$(date +%s)
echo "0,$(memory)," >> "$LOG/soak.csv"
for minute in $(seq 1 "$MINUTES"); do
    wrk -t2 -c"$CONNECTIONS" -d60s --timeout 10s -s bench/soak.lua "http://127.0.0.1:$PORT" -- "$AUTH" "$maxid" "$pause" \
        > "$LOG/soak-wrk.txt" &
    wrk_pid=$!
    for _ in 1 2 3 4 5; do
        sleep 10
        echo "$(( $(date +%s) - start )),$(memory)," >> "$LOG/soak.csv"
    done
    wait "$wrk_pid"
    rps=$(awk '/Requests\/sec/ {print $2}' "$LOG/soak-wrk.txt")
    errors=$(awk '/Non-2xx/ {n += $5} /Socket errors/ {n += $10} END {print n + 0}' "$LOG/soak-wrk.txt")
    echo "$(( $(date +%s) - start )),$(memory),$rps" >> "$LOG/soak.csv"
    echo "minute $minute: $rps req/s, $errors errors, memory $(memory | cut -d, -f1) kB"
done
awk -F, -v minutes="$MINUTES" 'NR > 1 {
        n++; anon[n] = $2; if ($4 != "") { rate += $4; k++ }
        if ($2 > peak) peak = $2
    }
    END {
        w = int(n / 6); if (w < 1) w = 1
        for (i = 1; i <= w; i++) { first += anon[i]; last += anon[n - w + i] }
        printf "soak: %d min at %.0f req/s on average; RSS without file pages: first sixth %.1f MiB, last sixth %.1f MiB, peak %.1f MiB\n",
            minutes, rate / k, first / w / 1024, last / w / 1024, peak / 1024
    }' "$LOG/soak.csv"
