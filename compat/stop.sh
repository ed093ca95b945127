#!/usr/bin/env bash
# Stop the compat harness's PostgreSQL cluster (started by compat/setup.sh).
set -euo pipefail
DIR=${GH_COMPAT_DIR:-$HOME/.cache/gnuhealth-fhir/compat}
PGBIN=/usr/lib/postgresql/15/bin
if [ -f "$DIR/pgdata/postmaster.pid" ] && \
        su postgres -c "$PGBIN/pg_ctl -D '$DIR/pgdata' status" >/dev/null 2>&1; then
    su postgres -c "$PGBIN/pg_ctl -D '$DIR/pgdata' -m fast -w stop"
else
    echo "compat PostgreSQL cluster ($DIR/pgdata) is not running"
fi
