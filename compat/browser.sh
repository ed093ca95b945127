#!/usr/bin/env bash
# The browser view in a real headless Chromium (Debian's chromium and chromium-driver,
# driven by selenium from PyPI, pinned, cached under CACHE): the server over its own TLS
# on the real GNU Health PostgreSQL database, then compat/browser/test_browser.py signs
# in through /auth/login, opens a patient, follows links and takes screenshots (into
# LOGDIR).
#
# Usage (from compat/run.sh, after sourcing the compat env.sh):
#   compat/browser.sh BIN LOGDIR    (CACHE: GH_BROWSER_DIR, default
#   ~/.cache/gnuhealth-fhir/browser)
# Needs python3 (venv) and openssl; installs chromium with apt-get when missing.
# Exit status: pytest's.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=$1 LOGS=$2
CACHE=${GH_BROWSER_DIR:-$HOME/.cache/gnuhealth-fhir/browser}
SELENIUM=4.50.0
STAMP="selenium=$SELENIUM"

if ! command -v chromium > /dev/null || ! command -v chromedriver > /dev/null \
        || ! command -v openssl > /dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        chromium chromium-driver openssl > /dev/null \
        || { echo "browser: installing chromium failed" >&2; exit 1; }
fi
mkdir -p "$CACHE"
if [ "$(cat "$CACHE/stamp" 2> /dev/null)" != "$STAMP" ]; then
    rm -rf "$CACHE/venv"
    python3 -m venv "$CACHE/venv" \
        && "$CACHE/venv/bin/pip" install -q "selenium==$SELENIUM" pytest requests \
        && echo "$STAMP" > "$CACHE/stamp" \
        || { echo "browser: installing selenium failed" >&2; exit 1; }
fi
PY=$CACHE/venv/bin/python

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gh-browser.XXXXXX")
SERVER=
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2> /dev/null && wait "$SERVER" 2> /dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2> /dev/null || exit 1
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
BASE=https://127.0.0.1:$PORT
# TLS of its own, as a site without a proxy runs it: the session cookie is Secure.
env -u GNUHEALTH_FHIR_PLAIN_HTTP \
    GNUHEALTH_FHIR_TLS_CERT="$WORK/cert.pem" GNUHEALTH_FHIR_TLS_KEY="$WORK/key.pem" \
    GNUHEALTH_FHIR_BASE_URL="$BASE" GNUHEALTH_FHIR_LOGIN_DELAY=false \
    "$BIN" serve --database "$GH_PG_URL" --listen "127.0.0.1:$PORT" \
    > "$LOGS/browser-server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 300); do
    curl -sf --cacert "$WORK/cert.pem" -o /dev/null "$BASE/metadata" && break
    kill -0 "$SERVER" 2> /dev/null || { tail -n 20 "$LOGS/browser-server.log" >&2; exit 1; }
    sleep 0.2
done

FHIR_BASE=$BASE FHIR_CA=$WORK/cert.pem SCREENSHOTS=$LOGS \
    FHIR_USER=$GH_FHIR_USER FHIR_PASSWORD=$GH_FHIR_PASSWORD \
    "$PY" -m pytest -p no:cacheprovider -q -rfE "$HERE/browser/test_browser.py"
