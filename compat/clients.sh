#!/usr/bin/env bash
# Real FHIR clients against the server, unchanged: fhirpy and fhirclient (PyPI, in a venv
# of their own) and fhir-kit-client (npm); then schemathesis (PyPI) fuzzing every route of
# the server's own /openapi.json, positive and negative cases, with the check that no
# answer is a 5xx. All pinned, cached under CACHE. The server is the embedded demo (60
# patients) on a free loopback port, signed in as the demo user; its network-wide sign-in
# limit and trytond's delay after failures (up to 31 s) are lifted, as the fuzzer signs in
# with thousands of made-up logins.
#
# Usage: compat/clients.sh BIN LOGDIR   (CACHE: GH_CLIENTS_DIR, default
# ~/.cache/gnuhealth-fhir/clients). Needs python3 (venv) and node/npm. Exit status:
# non-zero if a client failed.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=$1 LOGS=$2
CACHE=${GH_CLIENTS_DIR:-$HOME/.cache/gnuhealth-fhir/clients}
FHIRPY=2.3.1 FHIRCLIENT=4.4.0 FHIR_KIT=2.0.3 SCHEMATHESIS=4.32.5
STAMP="fhirpy=$FHIRPY fhirclient=$FHIRCLIENT fhir-kit-client=$FHIR_KIT schemathesis=$SCHEMATHESIS"
mkdir -p "$CACHE"
if [ "$(cat "$CACHE/stamp" 2> /dev/null)" != "$STAMP" ]; then
    rm -rf "$CACHE/venv" "$CACHE/npm"
    python3 -m venv "$CACHE/venv" \
        && "$CACHE/venv/bin/pip" install -q "fhirpy==$FHIRPY" "fhirclient==$FHIRCLIENT" \
            "schemathesis==$SCHEMATHESIS" pytest requests \
        && npm install --silent --no-audit --no-fund --prefix "$CACHE/npm" "fhir-kit-client@$FHIR_KIT" \
        && echo "$STAMP" > "$CACHE/stamp" \
        || { echo "clients: installing the clients failed" >&2; exit 1; }
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gh-clients.XXXXXX")
SERVER=
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2> /dev/null && wait "$SERVER" 2> /dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
PORT=$("$CACHE/venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
GNUHEALTH_FHIR_LOGIN_MAX_ATTEMPTS_NETWORK=100000000 GNUHEALTH_FHIR_LOGIN_DELAY=false \
    "$BIN" demo --db "$WORK/clients.sqlite" --patients 60 --listen "127.0.0.1:$PORT" \
    > "$LOGS/clients-server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 300); do
    curl -sf -o /dev/null "http://127.0.0.1:$PORT/metadata" && break
    kill -0 "$SERVER" 2> /dev/null || { tail -n 20 "$LOGS/clients-server.log" >&2; exit 1; }
    sleep 0.2
done

export FHIR_BASE=http://127.0.0.1:$PORT FHIR_USER=demo FHIR_PASSWORD=demo-GNUHealth-2026
failed=0
"$CACHE/venv/bin/python" -m pytest -p no:cacheprovider -q -rfE "$HERE/clients/test_clients.py" || failed=1
# An ES module finds its packages next to itself: run it from the npm prefix.
cp "$HERE/clients/fhir_kit.mjs" "$CACHE/npm/fhir_kit.mjs"
node "$CACHE/npm/fhir_kit.mjs" || failed=1

TOKEN=$(curl -sf -X POST --data-urlencode "login=$FHIR_USER" --data-urlencode "password=$FHIR_PASSWORD" \
    "$FHIR_BASE/auth/token" | "$CACHE/venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
"$CACHE/venv/bin/schemathesis" run "$FHIR_BASE/openapi.json" --checks not_a_server_error \
    -H "Authorization: Bearer $TOKEN" --max-examples 100 --seed 5 > "$LOGS/schemathesis.log" 2>&1 \
    || { tail -n 60 "$LOGS/schemathesis.log"; failed=1; }
grep -E '^ *[0-9]+ generated' "$LOGS/schemathesis.log" | sed 's/^ */schemathesis: /'
kill -0 "$SERVER" 2> /dev/null || { echo "clients: the server died" >&2; failed=1; }
exit $failed
