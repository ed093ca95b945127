#!/usr/bin/env bash
# Installs xml_check.py's pinned Python packages (xml-requirements.txt) into
# tests/validator/.venv-xml. Quiet and idempotent: does nothing when the venv was
# already installed from the current requirements file.
set -euo pipefail
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$dir/.venv-xml"
stamp="$venv/.installed-requirements.sha256"

command -v python3 >/dev/null 2>&1 || { echo "setup-xml.sh: python3 is required" >&2; exit 2; }
want="$(sha256sum "$dir/xml-requirements.txt" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$dir/xml-requirements.txt"
echo "$want" >"$stamp"
