#!/usr/bin/env bash
# Installs Linli and starts it on the embedded default (SQLite in ./var) with the demo district.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e .
exec .venv/bin/linli run --demo "$@"
