#!/usr/bin/env bash
# `make bench`: webhook throughput of a real --workers=2 Odoo and the cost of
# matching a WhatsApp number among 100,000 partners, on a throwaway database
# (see benchmarks/webhook_throughput.py; extra arguments are passed to it).
source "$(dirname "$0")/common.sh"

ensure_python_packages
ensure_odoo
ensure_postgres
read -r -a ARGS <<<"$(odoo_db_args)"

export WA_PYTHON="$PYTHON"
export WA_ODOO_ARGS="${ARGS[*]}"
export WA_DB_HOST="$DB_HOST" WA_DB_PORT="$DB_PORT" WA_DB_USER="$DB_USER"
cd "$ROOT"
exec "$PYTHON" benchmarks/webhook_throughput.py "$@"
