#!/usr/bin/env bash
# `make lint`: ruff and pylint-odoo's mandatory checks (`make test` runs them too).
source "$(dirname "$0")/common.sh"

ensure_python
ensure_python_packages
cd "$ROOT"
"$PYTHON" -m ruff check whatsapp_team tests benchmarks
"$PYTHON" -m ruff format --check whatsapp_team tests benchmarks
"$PYTHON" -m pylint --rcfile=.pylintrc-mandatory whatsapp_team
