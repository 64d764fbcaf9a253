#!/usr/bin/env bash
# Installs the Python tools the tests use (scripts/requirements-test.txt: schemathesis) into a
# virtualenv at <repo>/.venv (ORDERFLOW_VENV overrides), from PyPI with pip. Idempotent: pip
# runs only when the requirements changed since the last successful install.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${ORDERFLOW_VENV:-$repo/.venv}"
requirements="$repo/scripts/requirements-test.txt"
stamp="$venv/.requirements-test.txt"

if [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$stamp"; then
  exit 0
fi
echo "install-python-tools: installing $(grep -v '^#' "$requirements" | xargs) into $venv"
# Debian's interpreter (python3-venv), not whatever python3 a version manager puts first on PATH.
/usr/bin/python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
cp "$requirements" "$stamp"
