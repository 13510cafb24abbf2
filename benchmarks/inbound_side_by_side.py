"""Inbound webhooks side by side: Odoo's bare route, OCA's WhatsApp gateway and
this addon, on one Odoo server, in one run.

Usage: python3 benchmarks/inbound_side_by_side.py [--rounds 3] [--messages 600]
       [--customers 120] [--concurrency 8] [--processors 1,2,4]
       [--slow-media 5] [--burst 10000] [--profile 100] [--calls]
       [--no-db-filter]

OCA's ``mail_gateway_whatsapp`` (18.0, from PyPI) is not a requirement of the
addon: it is installed apart, in ``var/oca``, and added to the addons path::

    python3 -m pip install --no-deps --target var/oca \
        'odoo-addon-mail_gateway_whatsapp==18.0.*' 'odoo-addon-mail_gateway==18.0.*'

(``--install-oca`` runs that command; its Python dependency
``requests_toolbelt`` must be importable.)

1. Installs ``whatsapp_team``, ``crm`` and OCA's ``mail_gateway_whatsapp`` on
   one throwaway database and serves them from one odoo-bin
   (``--workers=2 --max-cron-threads=1`` unless told otherwise).
2. Alternates rounds of the same load (``--messages`` signed text webhooks
   from ``--customers`` new customers, ``--concurrency`` posting threads)
   against:
   - ``bare``: ``GET /web/health``, Odoo's own floor;
   - ``oca``: OCA's webhook, which processes each message in the request;
   - ``plain``: this addon, a number without a team;
   - ``team``: this addon, a number routed to a team (round-robin among five
     online salespeople) that creates leads.
   Each round gives answers/s, the answer p99 and the end-to-end rate: every
   message stored, matched to its customer and in the chatter. The table
   shows the medians and the ratios.
3. ``--processors``: the ``plain`` load again with the server restarted with
   1, 2, 4 cron threads (the processors), end-to-end rates compared.
4. ``--slow-media S``: the Graph API (faked over HTTP) answers media after S
   seconds; one customer sends photos while the others write text.
5. ``--burst N``: N webhooks posted as fast as possible; all acknowledged,
   none lost or doubled, drain time, and the memory (RSS) of every Odoo
   process before and after.
6. ``--profile N``: N messages per profile of this addon, stored and processed
   in this process against the same database: SQL queries and milliseconds
   per message for each stage of the work; once one message a commit (each
   processed as it arrives), once drained as a backlog (all stored, then
   processed in a processor's batches, as after a burst). Before them, the
   request alone (``--requests N``, 300 by default): N webhooks of the number
   without a team, processing held, and N bare requests, each through Odoo's
   own WSGI application in this process, one at a time: milliseconds (wall
   and CPU of this process) and SQL queries per request, no other load.
   ``--calls`` also counts the Python function calls a message in the
   profiles: exact for the same code, where the milliseconds vary with the
   machine's load (they then include the counting).

The server runs with ``--db-filter`` unless ``--no-db-filter``: with it,
Odoo lists the databases on a new PostgreSQL connection for every request
that has no session (every webhook, every bare request), the same for all.

The database is dropped at the end, whatever happens.
"""

import argparse
import cProfile
import dataclasses
import http.client
import importlib
import os
import pstats
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
harness = importlib.import_module("harness")

OCA_PIP = (
    "odoo-addon-mail_gateway_whatsapp==18.0.*",
    "odoo-addon-mail_gateway==18.0.*",
)
# OCA's addons live apart, never in the site-packages of the Python running
# Odoo: a site-packages ``odoo/addons`` directory would hide Odoo's own
# ``odoo`` package from an editable install.
OCA_TARGET = ROOT / "var" / "oca"
PROFILES = ("bare", "oca", "plain", "team")
LABELS = {
    "bare": "Odoo's bare route (GET /web/health)",
    "oca": "OCA mail_gateway_whatsapp (in the request)",
    "plain": "whatsapp_team, a number without a team",
    "team": "whatsapp_team, routing team (round-robin, 5 online) + leads",
}
SALES_GROUPS = ("whatsapp_team.group_whatsapp_user", "sales_team.group_sale_salesman")
# the stages of this addon's work, timed where they are called:
# (model, method, stage); nested stages are subtracted from their caller
STAGES = (
    ("whatsapp.webhook.event", "_receive", "acknowledge (verify + store)"),
    ("whatsapp.webhook.event", "_cron_process", "take + commit"),
    ("whatsapp.webhook.event", "_process_items", "parse + signature"),
    ("whatsapp.conversation", "_get_or_create_with", "customer + chat"),
    ("whatsapp.message", "create", "message row"),
    ("whatsapp.message", "_fetch_media", "media"),
    ("whatsapp.message", "_post_inbound_in_chatter", "chatter"),
    ("whatsapp.conversation", "_inbox_on_messages", "inbox counters"),
    ("whatsapp.conversation", "_on_inbound", "routing + replies"),
    ("whatsapp.conversation", "_link_or_create_lead", "lead"),
    ("whatsapp.conversation", "_mirror_to_crm", "copy to lead"),
    ("whatsapp.conversation", "_make_lead_copies", "copy to lead (at commit)"),
    ("whatsapp.message", "_announce_to_team", "bus announce"),
    ("whatsapp.conversation", "_send_inbox_notices", "live notices (at commit)"),
)


def ms(seconds):
    return seconds * 1000.0


def oca_addons_dir():
    """The directory holding OCA's two addons, or None."""
    addons = OCA_TARGET / "odoo" / "addons"
    wanted = ("mail_gateway", "mail_gateway_whatsapp")
    if all((addons / name / "__manifest__.py").is_file() for name in wanted):
        return addons
    return None


def with_addons(settings, directory):
    args = []
    for arg in settings.odoo_args:
        if arg.startswith("--addons-path="):
            arg = f"{arg},{directory}"
        args.append(arg)
    if not any(a.startswith("--addons-path=") for a in args):
        args.append(
            f"--addons-path={harness.default_addons_path(settings.python)},"
            f"{directory}"
        )
    return dataclasses.replace(settings, odoo_args=tuple(args))


# ----------------------------------------------------------------------------
# Load
# ----------------------------------------------------------------------------


def request_once(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        conn.close()


def fire(port, requests_, concurrency):
    """Send ``requests_`` ((method, path, body, headers)) from ``concurrency``
    threads; return (statuses, latencies, seconds)."""
    results = [None] * len(requests_)
    cursor = iter(range(len(requests_)))
    lock = threading.Lock()
    errors = []

    def work():
        try:
            while True:
                with lock:
                    index = next(cursor, None)
                if index is None:
                    return
                results[index] = request_once(port, *requests_[index])
        except BaseException as error:  # noqa: BLE001 - re-raised below
            errors.append(error)

    started = time.perf_counter()
    threads = [threading.Thread(target=work, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if errors:
        raise errors[0]
    return [r[0] for r in results], [r[1] for r in results], seconds


TICKS = os.sysconf("SC_CLK_TCK")


def proc_times(pid):
    """(parent pid, CPU seconds of the process, CPU seconds of its children
    it has reaped) from ``/proc``."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        # after the command name in brackets: state, ppid, ..., utime (the
        # 12th), stime, cutime, cstime
        fields = stat.read().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / TICKS
    reaped = (int(fields[13]) + int(fields[14])) / TICKS
    return int(fields[1]), own, reaped


@dataclasses.dataclass
class CpuReading:
    odoo: float  # the Odoo server: master, HTTP and cron workers, gevent
    postgres: float  # the postmaster and every backend
    script: float  # this script: the load, its fake Graph API, the polling
    busy: float  # the whole machine, every core
    total: float

    def __sub__(self, other):
        return CpuReading(
            *[
                getattr(self, field.name) - getattr(other, field.name)
                for field in dataclasses.fields(self)
            ]
        )


class CpuMeter:
    """CPU seconds spent between two readings, by the Odoo server, by
    PostgreSQL, by this script and by the machine, read from ``/proc``:
    the live processes' own times plus what their parents have reaped, so a
    worker that ends in between is still counted."""

    def __init__(self, settings, db, odoo_pgid):
        self.odoo_pgid = odoo_pgid  # the server's process group, read each time
        conn = settings.connect(db)
        try:
            with conn.cursor() as cr:
                cr.execute("SELECT pg_backend_pid()")
                backend = cr.fetchone()[0]
            self.postmaster = proc_times(backend)[0]
        finally:
            conn.close()

    def read(self):
        odoo = postgres = 0.0
        odoo_pgid = self.odoo_pgid()
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            try:
                ppid, own, reaped = proc_times(pid)
                pgid = os.getpgid(pid)
            except (OSError, ValueError, IndexError):
                continue  # ended while read
            if pgid == odoo_pgid:
                odoo += own + (reaped if pid == odoo_pgid else 0)
            elif self.postmaster in (pid, ppid):
                postgres += own + (reaped if pid == self.postmaster else 0)
        with open("/proc/stat", encoding="ascii") as stat:
            ticks = [int(value) for value in stat.readline().split()[1:9]]
        idle = ticks[3] + ticks[4]  # idle, iowait
        return CpuReading(
            odoo,
            postgres,
            time.process_time(),
            (sum(ticks) - idle) / TICKS,
            sum(ticks) / TICKS,
        )


@dataclasses.dataclass
class Target:
    name: str
    path: str
    secret: str
    phone_number_id: str


class Bench:
    def __init__(self, args):
        self.args = args
        settings = harness.Settings.from_env()
        command = [
            settings.python,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--target",
            str(OCA_TARGET),
            *OCA_PIP,
        ]
        directory = oca_addons_dir()
        if not directory and args.install_oca:
            subprocess.run(command, check=True)
            directory = oca_addons_dir()
        if not directory:
            sys.exit(
                "OCA's mail_gateway_whatsapp is not in var/oca:\n  "
                + " ".join(command)
                + "\n(or run this script with --install-oca)"
            )
        self.settings = with_addons(settings, directory)
        self.db = harness.unique_db_name("wa_side")
        self.log_path = harness.VAR / "bench" / f"{self.db}.log"
        self.server = None
        self.batch = 0
        self.results = {p: [] for p in PROFILES}  # [(answers/s, p99, e2e/s)]
        self.cpu = {p: [] for p in PROFILES}  # [CpuReading per message]
        self.meter = None
        self.poll_connection = None
        self.events_checked = 0  # events up to this id were waited for
        self.lines = []
        self.graph = None
        self.media_delay = 0

    def say(self, text=""):
        print(text, flush=True)
        self.lines.append(text)

    # ------------------------------------------------------------------
    # Set-up
    # ------------------------------------------------------------------

    def start(self, cron_threads):
        if self.server is not None:
            self.server.stop()
        self.server = harness.OdooServer(
            self.settings,
            self.db,
            self.log_path,
            workers=self.args.workers,
            max_cron_threads=cron_threads,
            db_filter=not self.args.no_db_filter,
        )
        seconds = self.server.start()
        print(
            f"  Odoo --workers={self.args.workers} --max-cron-threads="
            f"{cron_threads}"
            + ("" if self.args.no_db_filter else " --db-filter")
            + f" up in {seconds:.1f}s",
            flush=True,
        )
        # the registry of every worker loaded before anything is timed
        for _ in range(self.args.workers * 4):
            request_once(self.server.port, "GET", "/web/health")

    def setup(self):
        print(f"database {self.db}, log {self.log_path}", flush=True)
        seconds = harness.install_db(
            self.settings,
            self.db,
            self.log_path,
            modules="whatsapp_team,crm,mail_gateway_whatsapp",
            demo=False,
        )
        print(f"  installed in {seconds:.0f}s", flush=True)
        harness.addon_tools()  # whatsapp_team.tools without the Odoo models
        fake_graph = importlib.import_module("whatsapp_team.tools.fake_graph")
        self.graph = fake_graph.FakeGraph()
        self.graph_server = fake_graph.FakeGraphServer(self.graph).start()
        self.start(self.args.cron_threads)
        self.meter = CpuMeter(self.settings, self.db, lambda: self.server.pgid)
        rpc = self.server.rpc()
        self.rpc = rpc
        # OCA: one WhatsApp gateway, integrated
        rpc.call(
            "mail.gateway",
            "create",
            {
                "name": "OCA bench",
                "token": "oca-token",
                "gateway_type": "whatsapp",
                "webhook_key": "ocabench",
                "webhook_secret": "oca-secret",
                "whatsapp_security_key": "oca-verify",
                "whatsapp_from_phone": "oca-pnid",
            },
        )
        harness.query(
            self.settings,
            self.db,
            "UPDATE mail_gateway SET integrated_webhook_state = 'integrated'",
        )
        self.oca = Target(
            "oca", "/gateway/whatsapp/ocabench/update", "oca-secret", "oca-pnid"
        )
        # ours: a number without a team, and one routed to a team with leads
        self.plain = Target("plain", harness.WEBHOOK_PATH, "plain-secret", "plain-pnid")
        rpc.create_account(
            "plain-pnid",
            "plain-secret",
            name="Plain",
            graph_base_url=self.graph_server.url,
            greeting_enabled=False,
        )
        groups = [rpc.xmlid_to_res_id(xmlid) for xmlid in SALES_GROUPS]
        users = [
            rpc.call(
                "res.users",
                "create",
                {
                    "name": f"Seller {n}",
                    "login": f"seller{n}@bench.example.com",
                    "groups_id": [(6, 0, groups)],
                },
            )
            for n in range(5)
        ]
        self.sellers = users
        team = rpc.call(
            "crm.team",
            "create",
            {"name": "WhatsApp sales", "whatsapp_assignment": "round_robin"},
        )
        for user in users:
            rpc.call(
                "crm.team.member", "create", {"crm_team_id": team, "user_id": user}
            )
        self.team = Target("team", harness.WEBHOOK_PATH, "team-secret", "team-pnid")
        rpc.create_account(
            "team-pnid",
            "team-secret",
            name="Team",
            graph_base_url=self.graph_server.url,
            team_ids=[(6, 0, [team])],
            team_id=team,
            create_leads=True,
            greeting_enabled=False,
        )
        if self.args.niceness is not None:
            rpc.call(
                "ir.config_parameter",
                "set_param",
                "whatsapp_team.processor_niceness",
                str(self.args.niceness),
            )
            print(f"  processors' niceness: {self.args.niceness}", flush=True)
        versions = harness.query(
            self.settings,
            self.db,
            "SELECT latest_version, current_setting('server_version')"
            " FROM ir_module_module WHERE name IN ('base', 'mail_gateway_whatsapp')"
            " ORDER BY name",
        )
        print(
            f"  Odoo {versions[0][0]}, OCA mail_gateway_whatsapp {versions[1][0]}, "
            f"PostgreSQL {versions[0][1]}, {os.cpu_count()} CPUs",
            flush=True,
        )

    def online(self):
        """The five salespeople online now (their presence is kept fresh)."""
        harness.query(
            self.settings,
            self.db,
            "INSERT INTO bus_presence (user_id, status, last_poll, last_presence)"
            " SELECT id, 'online', now() at time zone 'utc',"
            " now() at time zone 'utc' FROM unnest(%s::int[]) AS id"
            " ON CONFLICT (user_id) WHERE user_id IS NOT NULL"
            " DO UPDATE SET status = 'online', last_poll = EXCLUDED.last_poll,"
            " last_presence = EXCLUDED.last_presence",
            [self.sellers],
        )

    # ------------------------------------------------------------------
    # Bodies and checks
    # ------------------------------------------------------------------

    def bodies(self, target, count, customers, media_every=0):
        """``count`` signed bodies from ``customers`` new customers, each
        customer's messages in order, customers interleaved."""
        self.batch += 1
        wa_ids = [f"5511{self.batch:03d}{n:06d}" for n in range(customers)]
        requests_, wamids = [], []
        for n in range(count):
            wa_id = wa_ids[n % customers]
            payload = harness.text_message_payload(
                target.phone_number_id,
                wa_id,
                f"Hello, message {n // customers} of customer {n % customers}",
                profile_name=f"Customer {wa_id[-6:]}",
                timestamp=time.time() + n // customers,
            )
            message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
            if media_every and n % customers == 0 and n // customers % media_every == 0:
                del message["text"]
                message["type"] = "image"
                media_id = self.graph.add_media(
                    b"\xff\xd8\xff" + os.urandom(2000), "image/jpeg"
                )
                if self.media_delay:
                    self.graph.delay_next(
                        self.media_delay, times=2, path_contains=media_id
                    )
                message["image"] = {"id": media_id, "mime_type": "image/jpeg"}
            wamids.append(message["id"])
            body = harness.encode(payload)
            headers = {
                "Content-Type": "application/json",
                "X-Hub-Signature-256": harness.signature_header(target.secret, body),
            }
            requests_.append(("POST", target.path, body, headers))
        return requests_, wamids

    def poll(self, sql, params=None):
        """Rows of ``sql`` on one connection kept open: a new connection
        for each look (every 50 ms while waiting) would start a PostgreSQL
        backend each time, and load the machine being measured."""
        if self.poll_connection is None or self.poll_connection.closed:
            self.poll_connection = self.settings.connect(self.db)
        with self.poll_connection.cursor() as cr:
            cr.execute(sql, params)
            return cr.fetchall()

    def in_chatter(self, wamids):
        return self.poll(
            "SELECT count(*) FROM whatsapp_message m"
            " JOIN whatsapp_conversation c ON c.id = m.conversation_id"
            " WHERE m.wa_message_id = ANY(%s) AND m.mail_message_id IS NOT NULL"
            " AND c.partner_id IS NOT NULL",
            [wamids],
        )[0][0]

    def oca_messages(self):
        return harness.scalar(
            self.settings,
            self.db,
            "SELECT count(*) FROM mail_message m JOIN discuss_channel c"
            " ON m.model = 'discuss.channel' AND m.res_id = c.id"
            " WHERE c.gateway_id IS NOT NULL AND m.message_type != 'notification'",
        )

    def failures(self):
        """Events that failed since the last wait (only the new rows are
        read, however many earlier rounds left)."""
        return self.poll(
            "SELECT id, split_part(error, E'\\n', 1) FROM whatsapp_webhook_event"
            " WHERE id > %s AND error IS NOT NULL ORDER BY id DESC LIMIT 3",
            [self.events_checked],
        )

    def wait_processed(self, wamids, started, timeout=None):
        """Seconds from ``started`` until every message is in the chatter."""
        total = len(wamids)

        def done():
            failed = self.failures()
            if failed:
                raise RuntimeError(f"webhook events failed: {failed}")
            return self.in_chatter(wamids) == total

        harness.wait_until(
            done,
            timeout or self.args.timeout,
            interval=0.05,
            what=f"{total} messages in the chatter",
            describe=lambda: f"{self.in_chatter(wamids)} done",
        )
        seconds = time.perf_counter() - started
        # the next waits look for failures among the events still pending
        # or newer
        self.events_checked = self.poll(
            "SELECT coalesce((SELECT min(id) - 1 FROM whatsapp_webhook_event"
            " WHERE state = 'pending'), (SELECT max(id) FROM whatsapp_webhook_event),"
            " 0)"
        )[0][0]
        return seconds

    # ------------------------------------------------------------------
    # Rounds
    # ------------------------------------------------------------------

    def round(self, profile):
        args = self.args
        port = self.server.port
        if profile == "bare":
            requests_ = [("GET", "/web/health", None, None)] * args.messages
            cpu = self.meter.read()
            statuses, latencies, seconds = fire(port, requests_, args.concurrency)
            e2e = None
        elif profile == "oca":
            before = self.oca_messages()
            requests_, _wamids = self.bodies(self.oca, args.messages, args.customers)
            cpu = self.meter.read()
            statuses, latencies, seconds = fire(port, requests_, args.concurrency)
            stored = self.oca_messages() - before
            if stored != args.messages:
                raise RuntimeError(f"OCA stored {stored} of {args.messages}")
            e2e = args.messages / seconds
        else:
            if profile == "team":
                self.online()
            target = self.plain if profile == "plain" else self.team
            requests_, wamids = self.bodies(target, args.messages, args.customers)
            cpu = self.meter.read()
            started = time.perf_counter()
            statuses, latencies, seconds = fire(port, requests_, args.concurrency)
            e2e = args.messages / self.wait_processed(wamids, started)
        cpu = self.meter.read() - cpu
        bad = [s for s in statuses if s != 200]
        if bad:
            raise RuntimeError(f"{profile}: {len(bad)} answers {sorted(set(bad))}")
        figures = (
            len(requests_) / seconds,
            ms(harness.percentile(latencies, 0.99)),
            e2e,
        )
        self.results[profile].append(figures)
        self.cpu[profile].append(cpu)
        print(
            f"    {profile:<6} {figures[0]:7.1f} answers/s  p99 {figures[1]:6.0f} ms"
            + (f"  end to end {figures[2]:6.1f} msg/s" if e2e else "")
            + f"  CPU/msg {self.cpu_text(cpu, len(requests_))}",
            flush=True,
        )

    @staticmethod
    def cpu_text(cpu, count):
        return (
            f"Odoo {ms(cpu.odoo / count):.1f} ms, PostgreSQL "
            f"{ms(cpu.postgres / count):.1f} ms, machine busy "
            f"{100 * cpu.busy / cpu.total:.0f}%"
        )

    def heading(self, title, header):
        self.say()
        self.say(title)
        self.say(header)
        self.say("-" * len(header))

    def cpu_table(self):
        """CPU per message: what the work costs, apart from how it is
        scheduled; and the rate at which the server's share of it (Odoo and
        PostgreSQL, the load set aside) would fill every core."""
        count, cores = self.args.messages, os.cpu_count()
        self.heading(
            f"CPU per message, ms of one core (medians of the same rounds; "
            f"the machine has {cores} cores)",
            f"{'':<62}{'Odoo':>7}{'PgSQL':>7}{'server':>8}{'script':>8}"
            f"{'busy':>6}{'ceiling msg/s':>15}",
        )
        for profile in PROFILES:
            readings = self.cpu[profile]

            def med(attribute, readings=readings):
                return statistics.median(getattr(r, attribute) for r in readings)

            odoo, postgres = ms(med("odoo") / count), ms(med("postgres") / count)
            busy = statistics.median(100 * r.busy / r.total for r in readings)
            self.say(
                f"{LABELS[profile]:<62}{odoo:>7.1f}{postgres:>7.1f}"
                f"{odoo + postgres:>8.1f}{ms(med('script') / count):>8.1f}"
                f"{busy:>5.0f}%{cores * 1000 / (odoo + postgres):>15.0f}"
            )

    def table(self):
        def med(profile, index):
            values = [r[index] for r in self.results[profile] if r[index] is not None]
            return statistics.median(values) if values else None

        bare = med("bare", 0)
        oca = med("oca", 2)
        self.heading(
            f"{self.args.messages} signed text webhooks from {self.args.customers} "
            f"customers at concurrency {self.args.concurrency}, "
            f"{self.args.rounds} alternating rounds, medians",
            f"{'':<62}{'answers/s':>10}{'× bare':>8}{'p99 ms':>8}"
            f"{'e2e msg/s':>11}{'× OCA':>7}",
        )
        for profile in PROFILES:
            answers, p99, e2e = (med(profile, i) for i in range(3))
            self.say(
                f"{LABELS[profile]:<62}{answers:>10.1f}{answers / bare:>8.2f}"
                f"{p99:>8.0f}"
                + (f"{e2e:>11.1f}{e2e / oca:>7.2f}" if e2e else f"{'—':>11}{'':>7}")
            )

    def held(self):
        """The webhook alone: the same load with processing held, then the
        bare route again, side by side (what the request costs, apart from
        the processors' share of the CPU)."""
        requests_, wamids = self.bodies(
            self.plain, self.args.messages, self.args.customers
        )
        bare = [("GET", "/web/health", None, None)] * self.args.messages
        self.hold_processing(True)
        try:
            cpu = self.meter.read()
            statuses, latencies, seconds = fire(
                self.server.port, requests_, self.args.concurrency
            )
            cpu = self.meter.read() - cpu
            _s, bare_latencies, bare_seconds = fire(
                self.server.port, bare, self.args.concurrency
            )
        finally:
            self.hold_processing(False)
        self.wait_processed(wamids, time.perf_counter())
        if any(status != 200 for status in statuses):
            raise RuntimeError("held: answers other than 200")
        rate, bare_rate = len(requests_) / seconds, len(bare) / bare_seconds
        self.say(
            f"the webhook with processing held (the request alone): "
            f"{rate:.1f} answers/s, p99 {ms(harness.percentile(latencies, 0.99)):.0f}"
            f" ms; the bare route just after: {bare_rate:.1f} answers/s, p99 "
            f"{ms(harness.percentile(bare_latencies, 0.99)):.0f} ms "
            f"({rate / bare_rate:.2f}× bare)"
        )
        self.say(f"  CPU per request: {self.cpu_text(cpu, len(requests_))}")

    # ------------------------------------------------------------------
    # Processors, slow media, burst
    # ------------------------------------------------------------------

    def processors(self):
        counts = [int(n) for n in self.args.processors.split(",")]
        self.say()
        self.say(
            f"processors (cron threads), {self.args.messages} messages from "
            f"{self.args.customers} customers, number without a team, "
            "posted first then drained"
        )
        rates = {}
        for count in counts:
            self.start(count)
            requests_, wamids = self.bodies(
                self.plain, self.args.messages, self.args.customers
            )
            self.hold_processing(True)
            fire(self.server.port, requests_, self.args.concurrency)
            cpu = self.meter.read()
            started = time.perf_counter()
            self.hold_processing(False)
            seconds = self.wait_processed(wamids, started)
            cpu = self.meter.read() - cpu
            rates[count] = self.args.messages / seconds
            self.say(
                f"  {count} processor(s): {rates[count]:6.1f} msg/s"
                f"  ({rates[count] / rates[counts[0]]:.2f}× {counts[0]})"
                f"  CPU/msg {self.cpu_text(cpu, len(requests_))}"
            )
        self.start(self.args.cron_threads)

    def hold_processing(self, hold):
        """Processing off while the webhooks arrive, then on at once."""
        harness.query(
            self.settings,
            self.db,
            "UPDATE ir_cron SET active = %s WHERE cron_name LIKE 'WhatsApp: process%%'",
            [not hold],
        )
        if not hold:
            harness.query(
                self.settings,
                self.db,
                "INSERT INTO ir_cron_trigger (cron_id, call_at)"
                " SELECT id, now() at time zone 'utc' FROM ir_cron"
                " WHERE cron_name LIKE 'WhatsApp: process%%'",
            )
            # Odoo's cron workers listen on the postgres database, as
            # ir.cron._notifydb notifies them
            harness.query(
                self.settings, "postgres", "NOTIFY cron_trigger, %s", [self.db]
            )

    def slow_media(self):
        delay = self.args.slow_media
        self.media_delay = delay
        try:
            count, customers = self.args.messages, self.args.customers
            # customer 0 of this batch sends a photo with each of its messages
            requests_, wamids = self.bodies(self.plain, count, customers, media_every=1)
            started = time.perf_counter()
            fire(self.server.port, requests_, self.args.concurrency)
            photo_ids = set(wamids[::customers])
            texts = [w for w in wamids if w not in photo_ids]
            text_seconds = self.wait_processed(texts, started, timeout=600)
            all_seconds = self.wait_processed(wamids, started, timeout=600)
        finally:
            self.media_delay = 0
        self.say()
        self.say(
            f"slow media: the Graph API answers media in {delay} s; "
            f"{len(photo_ids)} photos among {count} messages"
        )
        self.say(
            f"  text messages of the other customers: {len(texts) / text_seconds:.1f}"
            f" msg/s; all in the chatter after {all_seconds:.1f} s"
        )

    def rss(self):
        pids = subprocess.run(
            ["pgrep", "-g", str(self.server.pgid)],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        sizes = {}
        for pid in pids:
            try:
                with open(f"/proc/{pid}/status", encoding="ascii") as status:
                    for line in status:
                        if line.startswith("VmRSS:"):
                            sizes[int(pid)] = int(line.split()[1]) // 1024
            except OSError:
                continue
        return sizes

    def burst(self):
        count = self.args.burst
        before = self.rss()
        requests_, wamids = self.bodies(self.plain, count, max(count // 5, 1))
        started = time.perf_counter()
        statuses, latencies, seconds = fire(
            self.server.port, requests_, self.args.burst_concurrency
        )
        acknowledged = sum(1 for s in statuses if s == 200)
        drained = self.wait_processed(wamids, started, timeout=3600)
        after = self.rss()
        stored, distinct = harness.query(
            self.settings,
            self.db,
            "SELECT count(*), count(DISTINCT wa_message_id) FROM whatsapp_message"
            " WHERE wa_message_id = ANY(%s)",
            [wamids],
        )[0]
        self.say()
        self.say(
            f"burst: {count} webhooks at concurrency {self.args.burst_concurrency}"
        )
        self.say(
            f"  acknowledged {acknowledged}/{count} in {seconds:.1f} s "
            f"({count / seconds:.0f}/s, p99 "
            f"{ms(harness.percentile(latencies, 0.99)):.0f} ms); stored {stored}, "
            f"distinct {distinct}; drained after "
            f"{drained:.1f} s ({count / drained:.1f} msg/s)"
        )
        self.say(
            "  RSS MB per process before -> after: "
            + ", ".join(
                f"{pid}: {before.get(pid, '-')} -> {size}"
                for pid, size in after.items()
            )
        )

    # ------------------------------------------------------------------
    # Work per message, per stage
    # ------------------------------------------------------------------

    def profile(self):
        """The webhook's request alone (``--requests``), then each of our
        profiles' messages stored and processed here, one by one, the SQL
        queries and time of each stage counted (``--profile``)."""
        self.server.stop()
        import odoo  # noqa: PLC0415 - configured for this database below
        from odoo import api  # noqa: PLC0415
        from odoo.modules.registry import Registry  # noqa: PLC0415

        odoo.tools.config.parse_config([*self.settings.odoo_args, "-d", self.db])
        registry = Registry(self.db)
        count = self.args.profile
        if self.args.requests:
            self.profile_requests(self.args.requests)
        self.online()
        try:
            if not count:
                return
            with registry.cursor() as cr:
                env = api.Environment(cr, odoo.SUPERUSER_ID, {})
                timer = StageTimer(cr)
                timer.install(env)
                try:
                    for drained in (False, True):
                        for target in (self.plain, self.team):
                            self.profile_target(env, timer, target, count, drained)
                finally:
                    timer.uninstall()
        finally:
            Registry.delete(self.db)

    def profile_requests(self, count):
        """The webhook's request alone against the bare route, through Odoo's
        WSGI application in this process, one request at a time."""
        from werkzeug.test import Client  # noqa: PLC0415
        from werkzeug.wrappers import Response  # noqa: PLC0415

        import odoo.http  # noqa: PLC0415 - configured by profile()
        from odoo import sql_db  # noqa: PLC0415

        client = Client(odoo.http.root, Response)
        warm = 20
        webhooks, wamids = self.bodies(self.plain, count + warm, (count + warm) // 5)
        bare = [("GET", "/web/health", None, None)] * (count + warm)
        self.say()
        self.say(
            f"the request alone, in-process, one at a time ({count} requests "
            "each, processing held)"
        )
        self.say(f"  {'':<34}{'ms wall':>9}{'ms CPU':>9}{'queries':>9}")
        self.hold_processing(True)
        try:
            for label, requests_ in (
                ("Odoo's bare route", bare),
                ("this addon's webhook", webhooks),
            ):
                for index, (method, path, body, headers) in enumerate(requests_):
                    if index == warm:
                        queries = sql_db.sql_counter
                        started, cpu = time.perf_counter(), time.process_time()
                    answer = client.open(
                        path, method=method, data=body, headers=headers or {}
                    )
                    if answer.status_code != 200:
                        raise RuntimeError(f"{path}: {answer.status_code}")
                wall = (time.perf_counter() - started) / count
                cpu = (time.process_time() - cpu) / count
                queries = (sql_db.sql_counter - queries) / count
                self.say(f"  {label:<34}{ms(wall):>9.2f}{ms(cpu):>9.2f}{queries:>9.1f}")
        finally:
            self.hold_processing(False)
        # processed here (the server is stopped) before the stages are
        # counted; out of a test, the processor commits as it goes
        from odoo import SUPERUSER_ID, api  # noqa: PLC0415
        from odoo.modules.registry import Registry  # noqa: PLC0415

        with Registry(self.db).cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            while env["whatsapp.webhook.event"]._cron_process():
                pass
        if self.in_chatter(wamids) != len(wamids):
            raise RuntimeError("the profiled webhooks were not all processed")

    def profile_target(self, env, timer, target, count, drained=False):
        """One message a commit (each processed as it arrives), or, when
        ``drained``, all stored first and then processed as a backlog: a
        processor's batches, as after a burst."""
        from odoo.modules import module as odoo_module  # noqa: PLC0415

        requests_, _wamids = self.bodies(target, count + 20, (count + 20) // 5)
        Event = env["whatsapp.webhook.event"]
        cr = env.cr
        # not under test: the cron commits as it goes
        odoo_module.current_test = False
        calls = cProfile.Profile() if self.args.calls else None
        for index, (_m, _p, body, headers) in enumerate(requests_):
            if index == 20:  # the first ones warm the caches
                timer.reset()
                if calls:
                    calls.enable()
            timer.enter("acknowledge (verify + store)")
            status, _text, _event = Event._receive(body, headers["X-Hub-Signature-256"])
            cr.commit()
            timer.leave()
            assert status == 200, status
            if not drained or index < 20:
                Event._cron_process()
        while drained and Event._cron_process():
            pass
        if calls:
            calls.disable()
        how = "drained as a backlog" if drained else "one message a commit"
        self.say()
        self.say(
            f"work per message, {LABELS[target.name]} ({count} messages, a fifth "
            f"of them first messages), {how}, in-process"
        )
        self.say(f"  {'stage':<32}{'queries':>9}{'ms':>9}")
        total_q = total_ms = 0
        for stage, (queries, seconds) in timer.totals().items():
            total_q += queries
            total_ms += ms(seconds)
            self.say(f"  {stage:<32}{queries / count:>9.1f}{ms(seconds) / count:>9.2f}")
        self.say(f"  {'total':<32}{total_q / count:>9.1f}{total_ms / count:>9.2f}")
        if calls:
            if self.args.calls_out:
                os.makedirs(self.args.calls_out, exist_ok=True)
                calls.dump_stats(
                    os.path.join(
                        self.args.calls_out,
                        f"{target.name}-{'drained' if drained else 'each'}.pstats",
                    )
                )
            total_calls = pstats.Stats(calls).total_calls
            self.say(
                f"  Python function calls a message: {total_calls / count:,.0f}"
                " (exact; the milliseconds above include counting them)"
            )

    # ------------------------------------------------------------------

    def run(self):
        started = time.monotonic()
        try:
            self.setup()
            order = list(PROFILES)
            for number in range(self.args.rounds):
                print(f"  round {number + 1}", flush=True)
                for profile in order:
                    self.round(profile)
                order = order[1:] + order[:1]
            if self.args.rounds:
                self.table()
                self.cpu_table()
                self.held()
            if self.args.processors:
                self.processors()
            if self.args.slow_media:
                self.slow_media()
            if self.args.burst:
                self.burst()
            if self.args.profile or self.args.requests:
                self.profile()
        except BaseException:
            if self.server is not None:
                print("\n--- Odoo log, last lines ---\n" + self.server.tail(40))
            raise
        finally:
            if self.server is not None:
                self.server.stop()
            if self.graph_server_started():
                self.graph_server.stop()
            if self.poll_connection is not None:
                self.poll_connection.close()
            if not self.args.keep:
                harness.drop_db(self.settings, self.db)
        print("\n" + "=" * 100)
        print(f"RESULTS ({time.monotonic() - started:.0f}s in all)")
        print("=" * 100)
        print("\n".join(self.lines))

    def graph_server_started(self):
        return getattr(self, "graph_server", None) is not None


class StageTimer:
    """SQL queries and time of the addon's stages, each net of the stages it
    calls, while the real methods run unchanged."""

    def __init__(self, cr):
        self.cr = cr
        self.originals = []
        self.stack = []  # [stage, started, queries, nested seconds, nested queries]
        self.spent = {}

    def install(self, env):
        for model, method, stage in STAGES:
            if stage.startswith("acknowledge"):
                continue  # timed by the caller, commit included
            model_class = type(env[model])
            original = getattr(model_class, method)
            self.originals.append((model_class, method, original))
            setattr(model_class, method, self.wrap(original, stage))

    def uninstall(self):
        for model_class, method, original in self.originals:
            setattr(model_class, method, original)

    def wrap(self, original, stage):
        def wrapper(*args, **kwargs):
            self.enter(stage)
            try:
                return original(*args, **kwargs)
            finally:
                self.leave()

        return wrapper

    def enter(self, stage):
        self.stack.append([stage, time.perf_counter(), self.cr.sql_log_count, 0, 0])

    def leave(self):
        stage, started, queries, nested_s, nested_q = self.stack.pop()
        seconds = time.perf_counter() - started
        count = self.cr.sql_log_count - queries
        if self.stack:
            self.stack[-1][3] += seconds
            self.stack[-1][4] += count
        q, s = self.spent.get(stage, (0, 0.0))
        self.spent[stage] = (q + count - nested_q, s + seconds - nested_s)

    def reset(self):
        self.spent = {}

    def totals(self):
        order = [stage for _m, _f, stage in STAGES]
        return {s: self.spent[s] for s in order if s in self.spent}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--customers", type=int, default=120)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cron-threads", type=int, default=1)
    parser.add_argument(
        "--processors", default="", help="e.g. 1,2,4: cron threads to compare"
    )
    parser.add_argument(
        "--slow-media", type=float, default=0, help="media answered after S seconds"
    )
    parser.add_argument("--burst", type=int, default=0, help="webhooks in the burst")
    parser.add_argument("--burst-concurrency", type=int, default=16)
    parser.add_argument(
        "--profile", type=int, default=100, help="messages per profile (0: skip)"
    )
    parser.add_argument(
        "--calls",
        action="store_true",
        help="count the Python function calls a message in the profiles "
        "(the same for the same code, whatever the machine's noise)",
    )
    parser.add_argument(
        "--calls-out",
        metavar="DIR",
        help="with --calls, also write each profile's counts to DIR "
        "(pstats files, one a profile: python3 -m pstats FILE)",
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=300,
        help="webhooks and bare requests timed alone, in-process (0: skip)",
    )
    parser.add_argument(
        "--niceness",
        type=int,
        default=None,
        help="the processors' niceness (system parameter); default: the addon's",
    )
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--install-oca", action="store_true")
    parser.add_argument(
        "--no-db-filter",
        action="store_true",
        help="serve the database given by -d alone: Odoo then lists no "
        "databases, on a new connection, for each request without a session",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    if args.calls_out and not args.calls:
        parser.error("--calls-out needs --calls")
    return args


def _terminate(signum, _frame):
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    Bench(parse_args()).run()
