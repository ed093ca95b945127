#!/usr/bin/env bash
# The SQL and the database's plan of the main searches (gnuhealth-fhir explain), as
# Markdown on stdout. Usage: bench/plans.sh DATABASE_URL [BIN]
# e.g. the compat PostgreSQL database: bench/plans.sh "$GH_PG_URL"
set -euo pipefail
URL=$1
BIN=${2:-target/release/gnuhealth-fhir}
SEARCHES=(
    'Patient?_id=5'
    'Patient?family=gar'
    'Patient?birthdate=ge1980-01-01&_sort=birthdate'
    'Patient?identifier=123'
    'Condition?patient=5'
    'Condition?code=http://hl7.org/fhir/sid/icd-10|E11.9'
    'Condition?patient.gender=female'
    'Patient?_has:Condition:patient:code=E11.9'
    'Observation?patient=5&date=ge2020'
    'Observation?value-quantity=gt5.4'
    'Immunization?patient=5'
    'MedicationStatement?patient=5'
)
for s in "${SEARCHES[@]}"; do
    echo "### \`$s\`"
    echo
    echo '```'
    "$BIN" explain --database "$URL" "$s"
    echo '```'
    echo
done
