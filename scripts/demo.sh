#!/usr/bin/env bash
# `make demo`: Odoo with whatsapp_team, its demo data and the sandbox number,
# served on http://localhost:8069.
source "$(dirname "$0")/common.sh"

DEMO_DB="${DEMO_DB:-whatsapp_demo}"
DEMO_PORT="${DEMO_PORT:-8069}"

ensure_python
ensure_python_packages
ensure_odoo
ensure_postgres
read -r -a ARGS <<<"$(odoo_db_args)"

installed=$("$PYTHON" - "$DB_HOST" "$DB_PORT" "$DB_USER" "$DEMO_DB" <<'PY' 2>/dev/null || true
import sys, psycopg2
host, port, user, db = sys.argv[1:5]
conn = psycopg2.connect(host=host, port=int(port), user=user, dbname=db)
cur = conn.cursor()
cur.execute("SELECT state FROM ir_module_module WHERE name = 'whatsapp_team'")
row = cur.fetchone()
print(row[0] if row else "")
PY
)
if [ "$installed" != "installed" ]; then
    info "creating database $DEMO_DB with whatsapp_team and its demo data"
    "$PYTHON" -m odoo "${ARGS[@]}" -d "$DEMO_DB" -i whatsapp_team --stop-after-init \
        --log-level=warn || die "installing whatsapp_team in $DEMO_DB failed"
else
    info "updating whatsapp_team in $DEMO_DB"
    "$PYTHON" -m odoo "${ARGS[@]}" -d "$DEMO_DB" -u whatsapp_team --stop-after-init \
        --log-level=warn || die "updating whatsapp_team in $DEMO_DB failed"
fi

cat <<MSG

  whatsapp_team demo: http://localhost:$DEMO_PORT
  Log in as admin / admin (WhatsApp administrator).
  Showroom team: mia / mia and leo / leo (salespeople), marc / marc (its manager).
  WhatsApp > Numbers > "Sandbox" > "Simulate incoming message" plays the customer.
  Stop with Ctrl+C.

MSG
exec "$PYTHON" -m odoo "${ARGS[@]}" -d "$DEMO_DB" --db-filter="^${DEMO_DB}\$" \
    --http-port="$DEMO_PORT" --max-cron-threads=1
