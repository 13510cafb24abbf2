"""One real Odoo for the whole end-to-end session.

Installing the addon takes about half a minute, so the database is created
once, a ``--workers=2 --max-cron-threads=2`` server is started on it, and one
WhatsApp number (``whatsapp.account``) is created over XML-RPC. Everything is
torn down at the end: server stopped (SIGTERM, then SIGKILL of its process
group), database dropped, filestore removed. The server log stays in
``var/e2e/<db>.log``; its tail is attached to the report of a failing test.
"""

import os
import secrets
import signal
from dataclasses import dataclass

import harness
import pytest

_SERVERS = []


@dataclass
class E2E:
    """What the tests get: the settings, the running server and the number."""

    settings: harness.Settings
    db: str
    server: harness.OdooServer
    rpc: harness.Rpc
    account_id: int
    phone_number_id: str
    app_secret: str

    @property
    def url(self):
        return self.server.url

    def sql(self, statement, params=None):
        return harness.query(self.settings, self.db, statement, params)

    def scalar(self, statement, params=None):
        return harness.scalar(self.settings, self.db, statement, params)

    def payload(self, wa_id, body, message_id=None, profile_name=""):
        return harness.encode(
            harness.text_message_payload(
                self.phone_number_id,
                wa_id,
                body,
                message_id=message_id,
                profile_name=profile_name,
            )
        )

    def post(self, body, **kwargs):
        if "signature" not in kwargs:
            kwargs.setdefault("app_secret", self.app_secret)
        return harness.post_webhook(self.url, body, **kwargs)

    def event_count(self, where="TRUE", params=None):
        return self.scalar(
            f"SELECT count(*) FROM whatsapp_webhook_event WHERE {where}", params
        )

    def message_counts(self, wamids):
        """``{wa_message_id: rows}`` of the given ids that are stored."""
        rows = self.sql(
            "SELECT wa_message_id, count(*) FROM whatsapp_message"
            " WHERE wa_message_id = ANY(%s) GROUP BY wa_message_id",
            [list(wamids)],
        )
        return dict(rows)

    def events_state(self, after_id):
        """``{state: count}`` of the events stored after event ``after_id``."""
        return dict(
            self.sql(
                "SELECT state, count(*) FROM whatsapp_webhook_event"
                " WHERE id > %s GROUP BY state",
                [after_id],
            )
        )

    def last_event_id(self):
        return self.scalar("SELECT coalesce(max(id), 0) FROM whatsapp_webhook_event")


def _interrupt(_signum, _frame):
    # SIGTERM (a CI timeout, timeout(1)) ends the session like Ctrl-C does:
    # the teardown below still stops the server and drops the database.
    raise KeyboardInterrupt


@pytest.fixture(scope="session")
def e2e():
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)
    settings = harness.Settings.from_env()
    db = harness.unique_db_name("wa_e2e")
    log_path = harness.LOG_DIR / f"{db}.log"
    # several processors by default: the cron threads take different
    # customers at once (WA_E2E_CRON_THREADS=1 for the single-processor case)
    cron_threads = int(os.environ.get("WA_E2E_CRON_THREADS", "2"))
    server = harness.OdooServer(
        settings, db, log_path, workers=2, max_cron_threads=cron_threads
    )
    _SERVERS.append(server)
    try:
        harness.install_db(settings, db, log_path)
        server.start()
        rpc = server.rpc()
        phone_number_id = f"e2e{secrets.randbelow(10**12):012d}"
        app_secret = secrets.token_hex(16)
        account_id = rpc.create_account(phone_number_id, app_secret)
        yield E2E(settings, db, server, rpc, account_id, phone_number_id, app_secret)
    finally:
        _SERVERS.remove(server)
        server.stop()
        harness.drop_db(settings, db)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and _SERVERS:
        for server in _SERVERS:
            report.sections.append(
                (f"Odoo server log, last lines ({server.log_path})", server.tail(80))
            )
