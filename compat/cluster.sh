#!/usr/bin/env bash
# Two gnuhealth-fhir instances on the real GNU Health PostgreSQL database behind nginx,
# configured by the shipped deploy/nginx-gnuhealth-fhir.conf (its ports, names and
# certificate paths replaced by the test's), then compat/test_cluster.py.
#
# Usage (from compat/run.sh, after sourcing the compat env.sh):
#   compat/cluster.sh BIN PYTHON LOGDIR
# Needs nginx and openssl (installed with apt-get when missing). Exit status: pytest's.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BIN=$1 PY=$2 LOGS=$3

if ! command -v nginx > /dev/null || ! command -v openssl > /dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx openssl > /dev/null
fi
# The Debian package starts a default nginx on port 80: not needed here.
if command -v systemctl > /dev/null; then systemctl stop nginx 2> /dev/null || true; fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gh-cluster.XXXXXX")
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2> /dev/null && wait "$pid" 2> /dev/null
    done
    [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2> /dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
PORT_A=$(free_port)
PORT_B=$(free_port)
PORT_NGINX=$(free_port)
PORT_PLAIN=$(free_port)
NGINX_BASE=https://127.0.0.1:$PORT_NGINX

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2> /dev/null || exit 1

# The shipped configuration, with the test's ports, name and certificate.
sed -e "s/127\.0\.0\.1:8021/127.0.0.1:$PORT_A/" \
    -e "s/127\.0\.0\.1:8022/127.0.0.1:$PORT_B/" \
    -e "s/listen 443 ssl;/listen 127.0.0.1:$PORT_NGINX ssl;/" \
    -e "s/listen 80;/listen 127.0.0.1:$PORT_PLAIN;/" \
    -e "s/fhir\.example\.org/127.0.0.1/" \
    -e "s|/etc/ssl/gnuhealth-fhir/fullchain.pem|$WORK/cert.pem|" \
    -e "s|/etc/ssl/gnuhealth-fhir/privkey.pem|$WORK/key.pem|" \
    "$ROOT/deploy/nginx-gnuhealth-fhir.conf" > "$WORK/site.conf"
for expected in "$PORT_A" "$PORT_B" "$PORT_NGINX" "$WORK/cert.pem"; do
    grep -q "$expected" "$WORK/site.conf" || { echo "cluster: $expected not in the nginx site" >&2; exit 1; }
done
mkdir -p "$WORK/tmp"
# nginx's workers run as an unprivileged user: they write their buffers here.
chmod 755 "$WORK"
chmod 777 "$WORK/tmp"
cat > "$WORK/nginx.conf" << EOF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $LOGS/cluster-nginx-error.log;
events { worker_connections 256; }
http {
    access_log $LOGS/cluster-nginx-access.log;
    client_body_temp_path $WORK/tmp/body;
    proxy_temp_path $WORK/tmp/proxy;
    fastcgi_temp_path $WORK/tmp/fastcgi;
    uwsgi_temp_path $WORK/tmp/uwsgi;
    scgi_temp_path $WORK/tmp/scgi;
    include $WORK/site.conf;
}
EOF

start_instance() {  # name port
    GNUHEALTH_FHIR_LOGIN_DELAY=false \
        GNUHEALTH_FHIR_TRUSTED_PROXIES=127.0.0.1 \
        GNUHEALTH_FHIR_BASE_URL=$NGINX_BASE \
        "$BIN" serve --database "$GH_PG_URL" --listen "127.0.0.1:$2" \
        > "$LOGS/cluster-$1.log" 2>&1 &
}
start_instance a "$PORT_A"
PID_A=$!
PIDS+=("$PID_A")
start_instance b "$PORT_B"
PID_B=$!
PIDS+=("$PID_B")
nginx -p "$WORK" -c "$WORK/nginx.conf" || exit 1

for url in "http://127.0.0.1:$PORT_A/healthz" "http://127.0.0.1:$PORT_B/healthz"; do
    ok=
    for _ in $(seq 1 150); do
        curl -sf -o /dev/null "$url" && { ok=1; break; }
        sleep 0.2
    done
    [ -n "$ok" ] || { echo "cluster: no answer from $url" >&2; tail -n 20 "$LOGS"/cluster-*.log >&2; exit 1; }
done

NGINX_BASE=$NGINX_BASE NGINX_CA=$WORK/cert.pem \
    INSTANCE_A=http://127.0.0.1:$PORT_A INSTANCE_B=http://127.0.0.1:$PORT_B \
    PID_B=$PID_B PG_URL=$GH_PG_URL \
    FHIR_USER=$GH_FHIR_USER FHIR_PASSWORD=$GH_FHIR_PASSWORD \
    "$PY" -m pytest -p no:cacheprovider -q -rfE "$HERE/test_cluster.py"
