# Shared set-up for `make demo` and `make test`: Python packages, Odoo 18.0 and
# a PostgreSQL server. Sourced, not executed.
#
# Variables (all optional):
#   PYTHON       Python interpreter (default: python3)
#   VENV_DIR     the virtualenv used when PYTHON takes no pip installs
#                (default: .venv)
#   ODOO_REPO    where to get Odoo 18.0 when none is importable
#                (default: Odoo's official repository)
#   ODOO_BRANCH  default 18.0
#   ODOO_DIR     where to put that copy (default: .local/odoo)
#   PGHOST/PGPORT/PGUSER  a PostgreSQL server to use instead of looking for one

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
ODOO_REPO="${ODOO_REPO:-https://github.com/odoo/odoo.git}"
ODOO_BRANCH="${ODOO_BRANCH:-18.0}"
ODOO_DIR="${ODOO_DIR:-$ROOT/.local/odoo}"
VENV_DIR="${VENV_DIR:-$ROOT/.venv}"
VAR="$ROOT/var"
mkdir -p "$VAR"

die() {
    echo "ERROR: $*" >&2
    exit 2
}

info() {
    echo "==> $*" >&2
}

_imports_odoo18() {
    "$1" -c "import odoo.release as r; assert r.version_info[0] == 18" 2>/dev/null
}

# pip refuses to install into an "externally managed" Python (PEP 668: the
# system python3 of Debian 12 and Ubuntu 24.04) unless it runs in a virtualenv.
_takes_pip_installs() {
    "$1" -m pip --version >/dev/null 2>&1 && "$1" - <<'PY'
import os, sys, sysconfig
marker = os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")
sys.exit(sys.prefix == sys.base_prefix and os.path.isfile(marker))
PY
}

# A PYTHON that takes no pip installs is replaced by the project's virtualenv
# in $VENV_DIR, made from it (and reused while it works). The virtualenv sees
# PYTHON's own packages when PYTHON already imports Odoo 18.0.
ensure_python() {
    "$PYTHON" -c "" 2>/dev/null || die "cannot run Python: $PYTHON (set PYTHON to a Python 3.10+ interpreter)"
    _takes_pip_installs "$PYTHON" && return
    local venv_python="$VENV_DIR/bin/python" ident='import sys; print(sys.base_prefix, sys.version)'
    if ! "$venv_python" -m pip --version >/dev/null 2>&1 \
        || [ "$("$venv_python" -c "$ident")" != "$("$PYTHON" -c "$ident")" ]; then
        local opts=()
        _imports_odoo18 "$PYTHON" && opts=(--system-site-packages)
        info "$PYTHON takes no pip installs: creating a virtualenv in $VENV_DIR"
        "$PYTHON" -m venv --clear "${opts[@]}" "$VENV_DIR" >&2 \
            || die "could not create a virtualenv with $PYTHON: install Python's venv module (Debian/Ubuntu: apt-get install python3-venv)"
    fi
    info "using the virtualenv $VENV_DIR"
    PYTHON="$venv_python"
}

ensure_python_packages() {
    # ruff and pylint run as "$PYTHON -m ...": their scripts need not be on PATH
    if ! "$PYTHON" -c "import phonenumbers, requests, pytest, pylint_odoo, websocket, ruff" \
        2>/dev/null; then
        info "installing Python packages (requirements.txt, requirements-dev.txt)"
        "$PYTHON" -m pip install -q -r "$ROOT/requirements.txt" -r "$ROOT/requirements-dev.txt" \
            || die "could not install the Python packages of requirements.txt and requirements-dev.txt"
    fi
}

ensure_odoo() {
    if _imports_odoo18 "$PYTHON"; then
        return
    fi
    if "$PYTHON" -c "import odoo" 2>/dev/null; then
        die "the importable Odoo is not 18.0: $("$PYTHON" -c 'import odoo.release as r; print(r.version)')"
    fi
    info "Odoo is not importable: installing Odoo $ODOO_BRANCH from $ODOO_REPO into $ODOO_DIR"
    if [ ! -f "$ODOO_DIR/odoo/release.py" ]; then
        command -v git >/dev/null 2>&1 || die "Odoo 18.0 is missing and git is not installed to fetch it"
        mkdir -p "$(dirname "$ODOO_DIR")"
        git clone --depth 1 --branch "$ODOO_BRANCH" "$ODOO_REPO" "$ODOO_DIR" \
            || die "Odoo 18.0 is missing and could not be fetched from $ODOO_REPO (set ODOO_REPO or install Odoo 18.0 so that 'import odoo' works)"
    fi
    "$PYTHON" -m pip install -q -r "$ROOT/requirements-odoo.txt" \
        || die "could not install Odoo's Python dependencies (requirements-odoo.txt)"
    "$PYTHON" -m pip install -q --no-deps -e "$ODOO_DIR" \
        || die "could not install Odoo from $ODOO_DIR"
    "$PYTHON" -c "import odoo" || die "Odoo was installed but still cannot be imported"
}

# Odoo's browser tests (tours) run in Chromium; without it they would be skipped.
ensure_chromium() {
    if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
        || command -v google-chrome >/dev/null 2>&1; then
        return
    fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        info "installing Chromium for the browser tests (apt-get install chromium)"
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
            && return
    fi
    die "Chromium is not installed and could not be installed: the browser tests need it (Debian/Ubuntu: apt-get install chromium)"
}

odoo_addons_path() {
    local odoo_root
    odoo_root="$("$PYTHON" -c 'import odoo, os; print(os.path.dirname(os.path.dirname(os.path.abspath(odoo.__file__))))')"
    local path="$ROOT"
    [ -d "$odoo_root/addons" ] && path="$path,$odoo_root/addons"
    path="$path,$odoo_root/odoo/addons"
    echo "$path"
}

_pg_can_connect() {
    # host port user
    "$PYTHON" - "$@" <<'PY' 2>/dev/null
import sys, psycopg2
host, port, user = sys.argv[1:4]
psycopg2.connect(host=host, port=int(port), user=user, dbname="postgres", connect_timeout=3).close()
PY
}

_find_pg_bin() {
    local name="$1"
    if command -v "$name" >/dev/null 2>&1; then
        command -v "$name"
        return
    fi
    ls -d /usr/lib/postgresql/*/bin/"$name" 2>/dev/null | sort -V | tail -n 1
}

# Sets DB_HOST DB_PORT DB_USER: a server that is already reachable, else a
# throwaway cluster of the project's own under var/pg.
ensure_postgres() {
    local user="${PGUSER:-$(id -un)}"
    if [ "$user" = "postgres" ]; then
        user="odoo"  # Odoo refuses to run as the postgres superuser
    fi
    if [ -n "${PGHOST:-}" ]; then
        DB_HOST="$PGHOST"; DB_PORT="${PGPORT:-5432}"; DB_USER="$user"
        _pg_can_connect "$DB_HOST" "$DB_PORT" "$DB_USER" \
            || die "PostgreSQL at $DB_HOST:$DB_PORT does not accept user $DB_USER"
        return
    fi
    if _pg_can_connect 127.0.0.1 5432 "$user"; then
        DB_HOST=127.0.0.1; DB_PORT=5432; DB_USER="$user"
        return
    fi
    _start_own_cluster "$user"
}

_start_own_cluster() {
    local user="$1"
    local data="$VAR/pg/data" run="$VAR/pg/run" port="${WA_PG_PORT:-54329}"
    local initdb pg_ctl
    initdb="$(_find_pg_bin initdb)"
    pg_ctl="$(_find_pg_bin pg_ctl)"
    if [ -z "$initdb" ] || [ -z "$pg_ctl" ]; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            info "no PostgreSQL reachable and none installed: installing Debian's postgresql"
            (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
                || die "PostgreSQL is not reachable on 127.0.0.1:5432 and could not be installed (apt-get install postgresql)"
            initdb="$(_find_pg_bin initdb)"; pg_ctl="$(_find_pg_bin pg_ctl)"
        fi
        [ -n "$initdb" ] && [ -n "$pg_ctl" ] \
            || die "PostgreSQL is not reachable on 127.0.0.1:5432 and initdb/pg_ctl are not installed: install the PostgreSQL server (12 or later) or set PGHOST"
    fi
    # initdb and the server refuse to run as root: use the postgres account.
    local as=()
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || die "running as root and there is no 'postgres' account to own the throwaway cluster"
        as=(runuser -u postgres --)
    fi
    mkdir -p "$run"
    if [ ! -f "$data/PG_VERSION" ]; then
        info "starting a throwaway PostgreSQL cluster in $data (port $port)"
        mkdir -p "$data"
        [ "$(id -u)" = 0 ] && chown -R postgres "$VAR/pg"
        "${as[@]}" "$initdb" -D "$data" -U "$user" --auth=trust -E UTF8 >"$VAR/pg/initdb.log" 2>&1 \
            || die "initdb failed, see $VAR/pg/initdb.log"
    fi
    [ "$(id -u)" = 0 ] && chown -R postgres "$VAR/pg"
    if ! _pg_can_connect 127.0.0.1 "$port" "$user"; then
        "${as[@]}" "$pg_ctl" -D "$data" -l "$VAR/pg/server.log" -w \
            -o "-p $port -k $run -c listen_addresses=127.0.0.1" start >/dev/null \
            || die "the throwaway PostgreSQL cluster did not start, see $VAR/pg/server.log"
    fi
    DB_HOST=127.0.0.1; DB_PORT="$port"; DB_USER="$user"
}

odoo_db_args() {
    echo "--db_host=$DB_HOST --db_port=$DB_PORT --db_user=$DB_USER --addons-path=$(odoo_addons_path)"
}
