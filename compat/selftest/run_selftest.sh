#!/usr/bin/env bash
# Self-test of the compat harness: run compat/test_fhir.py against the mock
# server of compat/selftest/mock_fhir.py serving a facts file.
#   bash compat/selftest/run_selftest.sh FACTS.json [pytest args...]
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FACTS=${1:?usage: run_selftest.sh FACTS.json [pytest args]}; shift
DIR=${GH_COMPAT_DIR:-$HOME/.cache/gnuhealth-fhir/compat}
PY=${GH_VENV:-$DIR/venv}/bin/python
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$PY" "$HERE/mock_fhir.py" --facts "$FACTS" --port "$PORT" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null' EXIT
for _ in $(seq 50); do
    "$PY" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$PORT/metadata')" 2>/dev/null && break
    sleep 0.1
done
FHIR_BASE=http://127.0.0.1:$PORT FACTS=$FACTS "$PY" -m pytest -p no:cacheprovider \
    -q "$HERE/../test_fhir.py" "$@"
