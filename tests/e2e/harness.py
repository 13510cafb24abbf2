"""Drive a real multi-worker Odoo for end-to-end tests and benchmarks.

Nothing here is mocked: a throwaway PostgreSQL database gets the addon
installed by ``python -m odoo -i whatsapp_team``, an Odoo server runs on it in
prefork mode (HTTP workers plus a cron worker, each its own process), and the
tests speak to it the way Meta and an integrator would: signed webhook posts
over HTTP, the external XML-RPC API, and plain SQL to count what was stored.

Settings come from the variables ``scripts/test.sh`` exports (``WA_PYTHON``,
``WA_ODOO_ARGS``, ``WA_DB_HOST``, ``WA_DB_PORT``, ``WA_DB_USER``); without them
(pytest run by hand) the same defaults are computed here.

The webhook signature is computed here independently of the addon's
``tools.signature`` (HMAC-SHA256 of the raw body with the app secret, as Meta
documents it), so a bug there cannot hide itself.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import hmac
import json
import math
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import types
import xmlrpc.client
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import requests

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var"
LOG_DIR = VAR / "e2e"
ADMIN_LOGIN = "admin"
ADMIN_PASSWORD = "admin"
CRON_XMLID = "whatsapp_team.ir_cron_process_webhook_events"
WEBHOOK_PATH = "/whatsapp/webhook"


# ----------------------------------------------------------------------------
# Settings
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """How to run Odoo and reach PostgreSQL."""

    python: str
    odoo_args: tuple[str, ...]
    db_host: str
    db_port: int
    db_user: str

    @property
    def odoo_command(self) -> list[str]:
        """How to run Odoo: ``odoo-bin`` when there is one, else ``-m odoo``.

        In prefork mode the server respawns its websocket (gevent) process as
        ``python sys.argv[0] gevent``, which fails when ``sys.argv[0]`` is
        ``odoo/__main__.py``: ``odoo-bin`` avoids a crash loop in the log.
        """
        return [self.python, *_odoo_launcher(self.python)]

    @classmethod
    def from_env(cls) -> Settings:
        python = (
            os.environ.get("WA_PYTHON") or shutil.which("python3") or sys.executable
        )
        args_text = os.environ.get("WA_ODOO_ARGS", "").strip()
        given = _options(shlex.split(args_text)) if args_text else {}
        host = (
            os.environ.get("WA_DB_HOST")
            or given.get("--db_host")
            or os.environ.get("PGHOST")
            or "127.0.0.1"
        )
        port = int(
            os.environ.get("WA_DB_PORT")
            or given.get("--db_port")
            or os.environ.get("PGPORT")
            or 5432
        )
        user = os.environ.get("WA_DB_USER") or given.get("--db_user")
        if not user:
            user = os.environ.get("PGUSER") or getpass.getuser()
            if user == "postgres":
                user = "odoo"  # Odoo refuses to run as the postgres superuser
        if args_text:
            odoo_args = tuple(shlex.split(args_text))
        else:
            odoo_args = (
                f"--db_host={host}",
                f"--db_port={port}",
                f"--db_user={user}",
                f"--addons-path={default_addons_path(python)}",
            )
        return cls(python, odoo_args, host, port, user)

    def connect(self, dbname: str = "postgres", autocommit: bool = True):
        conn = psycopg2.connect(
            host=self.db_host,
            port=self.db_port,
            user=self.db_user,
            dbname=dbname,
            connect_timeout=10,
        )
        conn.autocommit = autocommit
        return conn

    @property
    def data_dir(self) -> Path:
        given = _options(self.odoo_args)
        value = given.get("--data-dir") or given.get("-D")
        return Path(value) if value else Path.home() / ".local/share/Odoo"


def _options(args: Iterable[str]) -> dict[str, str]:
    options = {}
    for arg in args:
        if arg.startswith("-") and "=" in arg:
            key, value = arg.split("=", 1)
            options[key] = value
    return options


def _odoo_root(python: str) -> Path:
    code = (
        "import odoo, os; "
        "print(os.path.dirname(os.path.dirname(os.path.abspath(odoo.__file__))))"
    )
    return Path(
        subprocess.run(
            [python, "-c", code], check=True, capture_output=True, text=True
        ).stdout.strip()
    )


_LAUNCHERS: dict[str, tuple[str, ...]] = {}


def _odoo_launcher(python: str) -> tuple[str, ...]:
    if python not in _LAUNCHERS:
        odoo_bin = _odoo_root(python) / "odoo-bin"
        _LAUNCHERS[python] = (str(odoo_bin),) if odoo_bin.is_file() else ("-m", "odoo")
    return _LAUNCHERS[python]


def default_addons_path(python: str) -> str:
    """The repository root, then Odoo's own addons (like scripts/common.sh)."""
    odoo_root = _odoo_root(python)
    paths = [str(ROOT)]
    if (odoo_root / "addons").is_dir():
        paths.append(str(odoo_root / "addons"))
    paths.append(str(odoo_root / "odoo" / "addons"))
    return ",".join(paths)


def addon_tools():
    """Import ``whatsapp_team.tools`` without loading the addon's Odoo models."""
    if "whatsapp_team" not in sys.modules:
        package = types.ModuleType("whatsapp_team")
        package.__path__ = [str(ROOT / "whatsapp_team")]
        sys.modules["whatsapp_team"] = package
    from whatsapp_team.tools import phone

    return types.SimpleNamespace(phone=phone)


# ----------------------------------------------------------------------------
# Databases
# ----------------------------------------------------------------------------


def unique_db_name(prefix: str = "wa_e2e") -> str:
    return f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log_tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def _run_stop_after_init(
    settings: Settings, db: str, log_path: Path, args: list[str], timeout: float
) -> None:
    """Run Odoo with ``args`` on ``db`` until ``--stop-after-init``; log it all."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        *settings.odoo_command,
        *settings.odoo_args,
        "-d",
        db,
        *args,
        "--stop-after-init",
        "--max-cron-threads=0",
        "--http-port",
        str(free_port()),
    ]
    with open(log_path, "ab") as log:
        log.write(f"\n### {' '.join(cmd)}\n".encode())
        log.flush()
        result = subprocess.run(
            cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, timeout=timeout
        )
    if result.returncode != 0:
        raise RuntimeError(
            f"odoo {' '.join(args)} on {db} failed ({result.returncode}):\n"
            + log_tail(log_path)
        )


def _modules_not_installed(settings: Settings, db: str, modules: str) -> list[str]:
    return [
        row[0]
        for row in query(
            settings,
            db,
            "SELECT name FROM ir_module_module WHERE name = ANY(%s)"
            " AND state != 'installed'",
            [modules.split(",")],
        )
    ]


def install_db(
    settings: Settings,
    db: str,
    log_path: Path,
    modules: str = "whatsapp_team",
    demo: bool = True,
    timeout: float = 900,
) -> float:
    """Create ``db`` with ``modules`` installed; return the seconds it took."""
    args = ["-i", modules]
    if not demo:
        args.append("--without-demo=all")
    started = time.monotonic()
    _run_stop_after_init(settings, db, log_path, args, timeout)
    missing = _modules_not_installed(settings, db, modules)
    if missing:
        raise RuntimeError(f"modules not installed on {db}: {missing}")
    return time.monotonic() - started


def update_db(
    settings: Settings,
    db: str,
    log_path: Path,
    modules: str = "whatsapp_team",
    timeout: float = 900,
) -> float:
    """Update ``modules`` on ``db`` (``-u``); return the seconds it took."""
    started = time.monotonic()
    _run_stop_after_init(settings, db, log_path, ["-u", modules], timeout)
    missing = _modules_not_installed(settings, db, modules)
    if missing:
        raise RuntimeError(f"modules not installed on {db} after the update: {missing}")
    return time.monotonic() - started


def addon_dir(settings: Settings, addon: str = "whatsapp_team") -> Path | None:
    """The directory Odoo loads ``addon`` from: Odoo looks in the addons of its
    data directory first, then in each entry of ``--addons-path`` in turn."""
    paths = _options(settings.odoo_args).get("--addons-path", "")
    entries = [settings.data_dir / "addons" / "18.0"]
    entries += [Path(entry.strip()) for entry in paths.split(",") if entry.strip()]
    for entry in entries:
        if (entry / addon / "__manifest__.py").is_file():
            return (entry / addon).resolve()
    return None


def drop_db(settings: Settings, db: str) -> None:
    """Drop ``db`` even if connections are left, and remove its filestore."""
    conn = settings.connect("postgres")
    try:
        with conn.cursor() as cr:
            cr.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    finally:
        conn.close()
    shutil.rmtree(settings.data_dir / "filestore" / db, ignore_errors=True)


def run_on_throwaway_db(prefix: str, run) -> None:
    """Install the addon (no demo) on a new database, call ``run(settings,
    db)``, and drop the database whatever happens: the benchmarks' frame."""
    settings = Settings.from_env()
    db = unique_db_name(prefix)
    log = ROOT / "var" / "bench" / f"{db}.log"
    try:
        print(f"installing whatsapp_team on {db} ...", flush=True)
        install_db(settings, db, log, demo=False)
        run(settings, db)
    finally:
        drop_db(settings, db)
        print(f"database {db} dropped")


def query(settings: Settings, db: str, sql: str, params=None) -> list[tuple]:
    """Run one statement on ``db`` in its own connection; return the rows."""
    conn = settings.connect(db)
    try:
        with conn.cursor() as cr:
            cr.execute(sql, params)
            return cr.fetchall() if cr.description else []
    finally:
        conn.close()


def scalar(settings: Settings, db: str, sql: str, params=None):
    rows = query(settings, db, sql, params)
    return rows[0][0] if rows else None


# ----------------------------------------------------------------------------
# The server
# ----------------------------------------------------------------------------


class OdooServer:
    """One Odoo server in prefork mode on one database.

    It runs in its own session, so the master, its HTTP and cron workers and
    the gevent process form one process group that ``kill()`` ends at once,
    the way a crash or an OOM kill of the host would.
    """

    def __init__(
        self,
        settings: Settings,
        db: str,
        log_path: Path,
        workers: int = 2,
        max_cron_threads: int = 1,
        extra_args: Iterable[str] = (),
        db_filter: bool = True,
    ):
        self.settings = settings
        self.db = db
        # without it, Odoo serves the database given by ``-d`` alone and
        # opens no connection to list the databases for each request
        self.db_filter = db_filter
        self.log_path = log_path
        self.workers = workers
        self.max_cron_threads = max_cron_threads
        self.extra_args = tuple(extra_args)
        self.port = free_port()
        self.gevent_port = free_port()
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            *self.settings.odoo_command,
            *self.settings.odoo_args,
            "-d",
            self.db,
            *([f"--db-filter=^{self.db}$"] if self.db_filter else []),
            f"--workers={self.workers}",
            f"--max-cron-threads={self.max_cron_threads}",
            "--http-interface=127.0.0.1",
            f"--http-port={self.port}",
            f"--gevent-port={self.gevent_port}",
            "--limit-time-real=120",
            *self.extra_args,
        ]

    def start(self, timeout: float = 120) -> float:
        """Start the server and wait until it serves pages; return the seconds."""
        if self.running:
            raise RuntimeError("the server is already running")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with open(self.log_path, "ab") as log:
            header = f"\n### start #{self.starts + 1}: {shlex.join(self.command())}\n"
            log.write(header.encode())
            log.flush()
            self.proc = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=ROOT,
                start_new_session=True,
            )
        self.starts += 1

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"Odoo exited with {self.proc.returncode} while starting:\n"
                    + self.tail()
                )
            try:
                response = requests.get(f"{self.url}/web/login", timeout=10)
            except requests.RequestException:
                return False
            return response.status_code == 200

        try:
            wait_until(ready, timeout, interval=0.3, what="Odoo answering /web/login")
        except BaseException:
            self.kill()
            raise
        return time.monotonic() - started

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pgid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM (graceful), then SIGKILL of the whole group after ``timeout``."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
            except ProcessLookupError:
                pass
        self.kill()

    def kill(self) -> None:
        """SIGKILL every process of the server at once (a crash)."""
        if self.proc is None:
            return
        pgid = self.proc.pid
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + 15
        while _group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.05)
        with open(self.log_path, "ab") as log:
            log.write(b"\n### server process group killed\n")

    def tail(self, lines: int = 60) -> str:
        return log_tail(self.log_path, lines)

    def rpc(self) -> Rpc:
        return Rpc(self.url, self.db)


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (zombies don't count)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


# ----------------------------------------------------------------------------
# External API
# ----------------------------------------------------------------------------


class _TimeoutTransport(xmlrpc.client.Transport):
    def __init__(self, timeout: float):
        super().__init__()
        self.timeout = timeout

    def make_connection(self, host):
        connection = super().make_connection(host)
        connection.timeout = self.timeout
        return connection


class Rpc:
    """Odoo's XML-RPC API as admin; safe to share between threads."""

    def __init__(
        self,
        url: str,
        db: str,
        login: str = ADMIN_LOGIN,
        password: str = ADMIN_PASSWORD,
        timeout: float = 120,
    ):
        self.url = url
        self.db = db
        self.password = password
        self.timeout = timeout
        self.uid = self._proxy("common").authenticate(db, login, password, {})
        if not self.uid:
            raise RuntimeError(f"cannot log in as {login} on {db}")

    def _proxy(self, service: str):
        # A proxy per call: xmlrpc.client connections are not thread-safe.
        return xmlrpc.client.ServerProxy(
            f"{self.url}/xmlrpc/2/{service}",
            allow_none=True,
            transport=_TimeoutTransport(self.timeout),
        )

    def call(self, model: str, method: str, *args, **kwargs):
        return self._proxy("object").execute_kw(
            self.db, self.uid, self.password, model, method, list(args), kwargs
        )

    def call_json(self, model: str, method: str, *args, **kwargs):
        """The same call over ``/jsonrpc``: for methods that return ``None``,
        which XML-RPC cannot marshal."""
        response = requests.post(
            f"{self.url}/jsonrpc",
            json={
                "jsonrpc": "2.0",
                "method": "call",
                "params": {
                    "service": "object",
                    "method": "execute_kw",
                    "args": [
                        self.db,
                        self.uid,
                        self.password,
                        model,
                        method,
                        list(args),
                        kwargs,
                    ],
                },
            },
            timeout=self.timeout,
        )
        response.raise_for_status()
        answer = response.json()
        if "error" in answer:
            error = answer["error"]
            raise RuntimeError(error.get("data", {}).get("message") or str(error))
        return answer.get("result")

    def xmlid_to_res_id(self, xmlid: str) -> int:
        module, name = xmlid.split(".", 1)
        rows = self.call(
            "ir.model.data",
            "search_read",
            [("module", "=", module), ("name", "=", name)],
            fields=["res_id"],
            limit=1,
        )
        if not rows:
            raise LookupError(xmlid)
        return rows[0]["res_id"]

    def create_account(self, phone_number_id: str, app_secret: str, **values) -> int:
        return self.call(
            "whatsapp.account",
            "create",
            {
                "name": "E2E",
                "mode": "cloud",
                "phone_number_id": phone_number_id,
                "app_secret": app_secret,
                "access_token": "x",
                "graph_base_url": "http://127.0.0.1:9",
                **values,
            },
        )

    def run_cron_now(self, xmlid: str = CRON_XMLID, timeout: float = 60) -> None:
        """``method_direct_trigger`` the cron, retrying while a worker runs it."""
        cron_id = self.xmlid_to_res_id(xmlid)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.call("ir.cron", "method_direct_trigger", [cron_id])
                return
            except xmlrpc.client.Fault as fault:
                # "This cron task is currently being executed": try again
                if time.monotonic() > deadline:
                    raise
                if "currently being executed" not in fault.faultString:
                    raise
                time.sleep(0.5)


# ----------------------------------------------------------------------------
# Racing transactions
# ----------------------------------------------------------------------------


class Call:
    """``function(*args)`` running in a thread."""

    def __init__(self, function, *args):
        self.result = self.error = None
        self._thread = threading.Thread(
            target=self._run, args=(function, args), daemon=True
        )
        self._thread.start()

    def _run(self, function, args):
        try:
            self.result = function(*args)
        except Exception as error:  # noqa: BLE001 - handed to the test
            self.error = error

    def done(self):
        return not self._thread.is_alive()

    def join(self, timeout: float = 120):
        self._thread.join(timeout)
        assert self.done(), "the call still runs"
        return self


@contextlib.contextmanager
def inserts_blocked(settings: Settings, db: str, *tables: str):
    """Hold a SHARE lock on ``tables``: a transaction stops at its first
    insert into one of them, while webhooks are still stored and every read
    goes through."""
    conn = settings.connect(db, autocommit=False)
    try:
        with conn.cursor() as cr:
            for table in tables:
                cr.execute(f'LOCK TABLE "{table}" IN SHARE MODE')
        yield
    finally:
        conn.rollback()
        conn.close()


def event_errors(settings: Settings, db: str, after_event_id: int) -> list[tuple]:
    """The webhook events stored after ``after_event_id`` that failed."""
    return query(
        settings,
        db,
        "SELECT id, state, attempts, split_part(error, E'\\n', 1)"
        " FROM whatsapp_webhook_event WHERE id > %s AND error IS NOT NULL",
        [after_event_id],
    )


# ----------------------------------------------------------------------------
# Webhooks as Meta sends them
# ----------------------------------------------------------------------------


def new_wamid() -> str:
    return f"wamid.E2E{secrets.token_hex(16).upper()}"


def random_wa_id(style: str = "br") -> str:
    """A random, valid-looking WhatsApp id (international digits, no ``+``)."""
    if style == "br":  # +55 11 9xxxx-xxxx
        return f"55119{secrets.randbelow(10**8):08d}"
    if style == "us":  # +1 650 555 xxxx
        return f"1650555{secrets.randbelow(10**4):04d}"
    raise ValueError(style)


def text_message_payload(
    phone_number_id: str,
    wa_id: str,
    body: str,
    message_id: str | None = None,
    profile_name: str = "",
    timestamp: int | None = None,
    waba_id: str = "e2e-waba",
    display_phone_number: str = "",
) -> dict:
    """One inbound text message, shaped like the wizard's ``_build_payload``."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": waba_id,
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": display_phone_number,
                                "phone_number_id": phone_number_id,
                            },
                            "contacts": [
                                {"wa_id": wa_id, "profile": {"name": profile_name}}
                            ],
                            "messages": [
                                {
                                    "from": wa_id,
                                    "id": message_id or new_wamid(),
                                    "timestamp": str(int(timestamp or time.time())),
                                    "type": "text",
                                    "text": {"body": body},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }


def encode(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def signature_header(app_secret: str, body: bytes) -> str:
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


@dataclass(frozen=True)
class PostResult:
    status: int
    text: str
    seconds: float


def post_webhook(
    url: str,
    body: bytes,
    app_secret: str | None = None,
    signature: str | None = None,
    timeout: float = 60,
) -> PostResult:
    """POST ``body`` to the webhook, signed with ``app_secret`` unless
    ``signature`` gives the header verbatim."""
    headers = {"Content-Type": "application/json"}
    if signature is None and app_secret is not None:
        signature = signature_header(app_secret, body)
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    started = time.perf_counter()
    response = requests.post(
        url + WEBHOOK_PATH, data=body, headers=headers, timeout=timeout
    )
    return PostResult(
        response.status_code, response.text, time.perf_counter() - started
    )


def post_all(
    url: str,
    bodies: list[bytes],
    app_secret: str,
    threads: int,
    barrier: bool = False,
) -> list[PostResult]:
    """Post every body from ``threads`` threads; results in ``bodies`` order.

    With ``barrier``, each thread takes one body and all of them are released
    at the same instant (``threads`` must then equal ``len(bodies)``).
    """
    results: list[PostResult | None] = [None] * len(bodies)
    errors: list[BaseException] = []
    lock = threading.Lock()
    cursor = iter(range(len(bodies)))
    gate = threading.Barrier(threads) if barrier else None
    if barrier and threads != len(bodies):
        raise ValueError("a barrier needs one thread per body")

    def work():
        try:
            if gate is not None:
                gate.wait(timeout=60)
            while True:
                with lock:
                    index = next(cursor, None)
                if index is None:
                    return
                results[index] = post_webhook(url, bodies[index], app_secret)
        except BaseException as error:  # noqa: BLE001 - re-raised below
            errors.append(error)

    pool = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if errors:
        raise errors[0]
    return results


# ----------------------------------------------------------------------------
# Waiting
# ----------------------------------------------------------------------------


def wait_until(
    predicate: Callable[[], object],
    timeout: float = 90,
    interval: float = 0.25,
    what: str = "condition",
    describe: Callable[[], str] | None = None,
):
    """Poll ``predicate`` until it returns something truthy; return it.

    Raises ``TimeoutError`` after ``timeout`` seconds, saying what was awaited
    and, with ``describe``, the state it was last seen in.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            state = f": {describe()}" if describe else ""
            raise TimeoutError(
                f"timed out after {timeout:.0f}s waiting for {what}{state}"
            )
        time.sleep(interval)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]
