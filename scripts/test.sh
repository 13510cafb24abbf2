#!/usr/bin/env bash
# `make test`: lint, the pytest suite (tools without a database, end-to-end
# tests against a real multi-worker Odoo) and the addon's Odoo tests on a fresh
# throwaway database. Ends with one line: "N passed, N failed".
source "$(dirname "$0")/common.sh"

ensure_python
ensure_python_packages
ensure_odoo
ensure_postgres
ensure_chromium
read -r -a ARGS <<<"$(odoo_db_args)"

PASSED=0
FAILED=0
REPORT="$VAR/test-report"
rm -rf "$REPORT" && mkdir -p "$REPORT"

step() {
    # step NAME COMMAND...: a lint step counts as one check
    local name="$1"; shift
    info "$name"
    if "$@"; then
        PASSED=$((PASSED + 1))
    else
        echo "FAILED: $name" >&2
        FAILED=$((FAILED + 1))
    fi
}

cd "$ROOT"
step "ruff check" "$PYTHON" -m ruff check whatsapp_team tests benchmarks
step "ruff format --check" "$PYTHON" -m ruff format --check whatsapp_team tests benchmarks
step "pylint-odoo (mandatory checks)" "$PYTHON" -m pylint --rcfile=.pylintrc-mandatory whatsapp_team

# --- pytest ----------------------------------------------------------------
info "pytest"
export WA_PYTHON="$PYTHON"
export WA_ODOO_ARGS="${ARGS[*]}"
export WA_DB_HOST="$DB_HOST" WA_DB_PORT="$DB_PORT" WA_DB_USER="$DB_USER"
set +e
"$PYTHON" -m pytest tests -q -p no:cacheprovider --junitxml="$REPORT/pytest.xml"
set -e
read -r PY_PASSED PY_FAILED < <("$PYTHON" - "$REPORT/pytest.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print(0, 1)  # pytest did not even write its report
    raise SystemExit
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
tests = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
if skipped:
    print(f"pytest skipped {skipped} test(s): skips count as failures here", file=sys.stderr)
if tests == 0:
    print("pytest ran no test", file=sys.stderr)
    bad += 1
print(tests - bad - skipped if tests else 0, bad + skipped)
PY
)
PASSED=$((PASSED + PY_PASSED))
FAILED=$((FAILED + PY_FAILED))

# --- Odoo tests on a throwaway database --------------------------------------
TEST_DB="wa_test_$$"
drop_test_db() {
    "$PYTHON" - "$DB_HOST" "$DB_PORT" "$DB_USER" "$TEST_DB" <<'PY' || true
import sys, psycopg2
host, port, user, db = sys.argv[1:5]
conn = psycopg2.connect(host=host, port=int(port), user=user, dbname="postgres")
conn.autocommit = True
conn.cursor().execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
PY
    rm -rf "$HOME/.local/share/Odoo/filestore/$TEST_DB"
}
trap drop_test_db EXIT
HTTP_PORT="${WA_TEST_HTTP_PORT:-$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
info "Odoo tests on throwaway database $TEST_DB (HTTP port $HTTP_PORT)"
LOG="$REPORT/odoo-tests.log"
set +e
"$PYTHON" -m odoo "${ARGS[@]}" -d "$TEST_DB" -i whatsapp_team --without-demo=all \
    --test-enable --test-tags=/whatsapp_team --stop-after-init --http-port="$HTTP_PORT" \
    --log-level=test --max-cron-threads=0 2>&1 | tee "$LOG" \
    | grep -E "ERROR|FAIL|Traceback|tests when loading|^AssertionError|^    " || true
set -e
read -r OD_PASSED OD_FAILED < <("$PYTHON" - "$LOG" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
m = re.findall(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database", text)
errors_outside = len(re.findall(r"^\S+ \S+ \d+ (?:ERROR|CRITICAL) ", text, re.M))
if not m:
    print("Odoo printed no test report: the install or the test run crashed", file=sys.stderr)
    print(0, max(1, errors_outside))
    raise SystemExit
failed, errors, total = map(int, m[-1])
skipped = len(re.findall(r" INFO \S+ odoo\.addons\.\S+: skipped ", text))
if skipped:
    print(f"Odoo skipped {skipped} test(s): skips count as failures here", file=sys.stderr)
bad = failed + errors + skipped
if total == 0:
    print("Odoo ran no test", file=sys.stderr)
    bad += 1
if bad == 0 and errors_outside:
    print(f"{errors_outside} ERROR line(s) in the Odoo log outside the tests", file=sys.stderr)
    bad += 1
print(total - failed - errors - skipped, bad)
PY
)
PASSED=$((PASSED + OD_PASSED))
FAILED=$((FAILED + OD_FAILED))

echo
echo "lint: 3 checks; pytest: $PY_PASSED passed, $PY_FAILED failed; odoo: $OD_PASSED passed, $OD_FAILED failed"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
