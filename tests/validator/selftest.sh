#!/usr/bin/env bash
# Self-test of the R4 validator: every fixtures/good/*.json must validate
# (exit 0) and every fixtures/bad/*.json must be rejected (exit 1) for the
# reason recorded in fixtures/bad/expected.tsv. Also checks stdin, NDJSON and
# the Bundle/entry accounting. Ends with "selftest: N passed, M failed".
set -uo pipefail
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$dir"
bash ./setup.sh || { echo "selftest: setup.sh failed"; echo "selftest: 0 passed, 1 failed"; exit 1; }

passed=0
failed=0
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; [ -f "$tmp/out" ] && sed 's/^/     | /' "$tmp/out"; }

# Good fixtures: all in one run (one start-up), then each must be error-free.
node validate.mjs fixtures/good/*.json >"$tmp/good.out" 2>&1
rc=$?
for f in fixtures/good/*.json; do
  cp "$tmp/good.out" "$tmp/out"
  if [ "$rc" -ne 2 ] && ! grep -E "^$f " "$tmp/good.out" >/dev/null; then ok "accepts $f"; else fail "accepts $f"; fi
done
cp "$tmp/good.out" "$tmp/out"
if [ "$rc" -eq 0 ]; then ok "good fixtures exit 0"; else fail "good fixtures exit 0 (got $rc)"; fi

# Bad fixtures: one run each, so each file's exit status is checked on its own
# (in parallel: each run pays the ~2 s start-up).
mkdir -p "$tmp/bad"
printf '%s\n' fixtures/bad/*.json | xargs -P "$(nproc 2>/dev/null || echo 2)" -I{} \
  sh -c 'b=$(basename "$1"); node validate.mjs "$1" >"$2/$b.out" 2>&1; echo $? >"$2/$b.rc"' _ {} "$tmp/bad"
for f in fixtures/bad/*.json; do
  base="$(basename "$f")"
  pattern="$(awk -F '\t' -v f="$base" '$1 == f { print $2 }' fixtures/bad/expected.tsv)"
  cp "$tmp/bad/$base.out" "$tmp/out"
  rc="$(cat "$tmp/bad/$base.rc")"
  if [ -z "$pattern" ]; then
    fail "rejects $f: no expectation in fixtures/bad/expected.tsv"
  elif [ "$rc" -ne 1 ]; then
    fail "rejects $f: exit $rc, want 1"
  elif ! grep -E -- "$pattern" "$tmp/out" >/dev/null; then
    fail "rejects $f: no line matches /$pattern/"
  else
    ok "rejects $f"
  fi
done

# Input modes and accounting.
node validate.mjs <fixtures/good/patient.json >"$tmp/out" 2>&1
if [ $? -eq 0 ] && grep -qx 'validated 1 resources, 0 with errors' "$tmp/out"; then ok "stdin"; else fail "stdin"; fi

for f in fixtures/good/patient.json fixtures/good/observation.json fixtures/bad/patient-wrong-gender-code.json; do
  node -e 'process.stdout.write(JSON.stringify(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))) + "\n")' "$f"
done >"$tmp/mixed.ndjson"
node validate.mjs "$tmp/mixed.ndjson" >"$tmp/out" 2>&1
if [ $? -eq 1 ] && grep -qx 'validated 3 resources, 1 with errors' "$tmp/out"; then ok "ndjson"; else fail "ndjson"; fi

node validate.mjs fixtures/good/searchset-bundle.json >"$tmp/out" 2>&1
if [ $? -eq 0 ] && grep -qx 'validated 3 resources, 0 with errors' "$tmp/out"; then ok "bundle counts itself and its entries"; else fail "bundle counts itself and its entries"; fi

node validate.mjs fixtures/bad/bundle-invalid-entry-resource.json >"$tmp/out" 2>&1
if [ "$(grep -c ' Bundle/' "$tmp/out")" -eq 0 ] && grep -qx 'validated 3 resources, 1 with errors' "$tmp/out"; then
  ok "entry problems are reported once, against the entry"
else
  fail "entry problems are reported once, against the entry"
fi

# medplum only warns when a Reference points at a type the element does not allow.
printf '{"resourceType": "Patient", "id": "w", "managingOrganization": {"reference": "Practitioner/1"}}' >"$tmp/warn.json"
node validate.mjs "$tmp/warn.json" >"$tmp/out" 2>&1
if [ $? -eq 0 ] && grep -q '^warning: .* Patient/w medplum: Invalid reference' "$tmp/out" && grep -qx 'validated 1 resources, 0 with errors' "$tmp/out"; then
  ok "warnings are printed and do not fail"
else
  fail "warnings are printed and do not fail"
fi

printf '{"resourceType": "Patient",' >"$tmp/broken.json"
node validate.mjs "$tmp/broken.json" >"$tmp/out" 2>&1
if [ $? -eq 1 ] && grep -q ' - input: ' "$tmp/out"; then ok "unparsable input fails"; else fail "unparsable input fails"; fi

node validate.mjs --show-allowed fixtures/good/capability-statement.json >"$tmp/out" 2>&1
if [ $? -eq 0 ] && grep -q '^allowed: .*CapabilityStatement\.fhirVersion' "$tmp/out"; then ok "allow-list: fhirVersion 4.0.1"; else fail "allow-list: fhirVersion 4.0.1"; fi

echo "selftest: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
