#!/usr/bin/env bash
# Every test of gnuhealth-fhir, from a fresh machine: formatting and lints, unit and
# integration tests (embedded demo database), a short fuzzing run of the search parser,
# the independent R4 validation of everything the server emits, and the compat suite
# against real GNU Health 5.0 databases (SQLite and PostgreSQL, built with trytond).
# Installs what it needs.
# Ends with one line "test-all: N passed, M failed" (steps).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

PASSED=0
FAILED=0
FAILED_STEPS=()
step() {
    local name=$1
    shift
    local t0
    t0=$(date +%s)
    echo
    echo "=== $name"
    if "$@"; then
        PASSED=$((PASSED + 1))
        echo "=== $name: ok ($(( $(date +%s) - t0 )) s)"
    else
        FAILED=$((FAILED + 1))
        FAILED_STEPS+=("$name")
        echo "=== $name: FAILED ($(( $(date +%s) - t0 )) s)"
    fi
}

need_packages() {
    local missing=()
    command -v curl > /dev/null || missing+=(curl)
    command -v sqlite3 > /dev/null || missing+=(sqlite3)
    command -v bc > /dev/null || missing+=(bc)
    command -v node > /dev/null || missing+=(nodejs npm)
    # xml_check.py runs in a venv of its own.
    python3 -c 'import ensurepip' 2> /dev/null || missing+=(python3 python3-venv)
    [ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql)
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    fi
}

step "system packages" need_packages
step "cargo fmt" cargo fmt --all -- --check
step "cargo fmt (fuzz targets)" cargo fmt --manifest-path fuzz/Cargo.toml -- --check
step "cargo clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
step "cargo test" cargo test --workspace --locked
# About 2 minutes of fuzzing plus a 3-4 minute instrumented build; installing cargo-fuzz
# adds about 2 minutes the first time only (it stays in ~/.cargo/bin).
step "fuzz (60 s per target)" bash scripts/fuzz.sh 60
step "release build" cargo build --release --locked -p gnuhealth-fhir
step "validator self-test" bash tests/validator/selftest.sh
step "R4 validation of the server's output" scripts/validate-output.sh 200
step "compat (real GNU Health on SQLite and PostgreSQL)" \
    env GNUHEALTH_FHIR_BIN=target/release/gnuhealth-fhir bash compat/run.sh

echo
if [ "$FAILED" -gt 0 ]; then
    printf 'failed step: %s\n' "${FAILED_STEPS[@]}"
fi
echo "test-all: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
