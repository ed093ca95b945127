#!/usr/bin/env bash
# Installs the validator's pinned npm dependencies (package-lock.json) into
# tests/validator/node_modules. Quiet and idempotent: does nothing when
# node_modules was already installed from the current lock file.
set -euo pipefail
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
stamp="$dir/node_modules/.installed-lock.sha256"

command -v node >/dev/null 2>&1 || { echo "setup.sh: node (>= 20) is required" >&2; exit 2; }
command -v npm >/dev/null 2>&1 || { echo "setup.sh: npm is required" >&2; exit 2; }
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then  # medplum needs ^20.19 || >=22.12
  echo "setup.sh: node >= 20 is required, found $(node --version)" >&2
  exit 2
fi

want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

npm ci --prefix "$dir" --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null
echo "$want" >"$stamp"
