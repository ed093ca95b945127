#!/usr/bin/env bash
# Builds a demo database, serves it, collects every resource type the server emits and
# validates all of it with the independent R4 validator (tests/validator), then parses
# all of it again as XML with an independent FHIR library (tests/validator/xml_check.py).
# Usage: scripts/validate-output.sh [PATIENTS]   (needs target/release/gnuhealth-fhir)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PATIENTS=${1:-200}
BIN=${GNUHEALTH_FHIR_BIN:-$ROOT/target/release/gnuhealth-fhir}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ghf-validate.XXXXXX")
PORT=${VALIDATE_PORT:-18290}
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

bash tests/validator/setup.sh
bash tests/validator/setup-xml.sh
"$BIN" demo --db "$WORK/demo.sqlite" --patients "$PATIENTS" --generate-only
"$BIN" demo --db "$WORK/demo.sqlite" --listen "127.0.0.1:$PORT" > "$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$PORT/metadata" > /dev/null && break
    sleep 0.1
done
LOGIN=$(sed -n 's/.*user: \([^ ]*\) .*/\1/p' "$WORK/server.log" | head -1)
PASSWORD=$(sed -n 's/.*password: \(.*\)$/\1/p' "$WORK/server.log" | head -1)
node tests/validator/dump-server.mjs "http://127.0.0.1:$PORT" "$LOGIN" "$PASSWORD" "$WORK/out.ndjson"
node tests/validator/validate.mjs "$WORK/out.ndjson"
tests/validator/.venv-xml/bin/python tests/validator/xml_check.py "http://127.0.0.1:$PORT" "$LOGIN" "$PASSWORD"
