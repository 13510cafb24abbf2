"""The managers' reports over 100,000 chats and 1,000,000 messages, and what
keeping the response figures costs per message.

Usage: python3 benchmarks/reports.py [--chats 100000] [--messages 10]
       [--repeat 5] (``make bench BENCH=reports``)

1. Installs ``whatsapp_team`` (no demo) on a throwaway database.
2. Two sales teams share a number: Showroom (a manager, 10 salespeople) and
   Export (a manager, 10 salespeople). Chats, their messages and their turns
   (``whatsapp.conversation.response``) are added with SQL ``COPY``: 100,000
   chats over the last 13 weeks, 10 messages each (customer and answer in
   turn, 1,000,000 in all), five turns each, a tenth of the turns past the
   target, a third of the chats done, one in twenty waiting now, one in five
   labelled, one in ten with a lead. Then ``VACUUM ANALYZE``.
3. In this process, on Odoo's own registry, as the Showroom manager (record
   rules applied) and as an administrator: the dashboard's call
   (``get_dashboard_data``, 4 and 13 weeks) and the pivot views' first
   ``read_group`` of each report (response times by salesperson and week,
   workload by salesperson and status, leads by salesperson and stage).
   Time is server time: the method's wall-clock time in the server process.
4. The cost of keeping the figures: on 200 chats of the same database, a
   customer message, the salesperson's answer, and so on (10 messages per
   chat), each stored as the addon stores them and counted
   (``_figures_on_message``), timed with and without the counting; then a
   message arriving late (written before the chat's last one), which
   recounts its chat.

Prints a table with the aims: reports under 1 s of server time, figures
under 2 ms per message. Nothing fails on time. The database is dropped at
the end, whatever happens.
"""

import argparse
import importlib
import io
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
harness = importlib.import_module("harness")

REPORT_AIM_MS = 1000
FIGURES_AIM_MS = 2.0
WEEKS = 13


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=100_000)
    parser.add_argument(
        "--messages", type=int, default=10, help="messages per chat (default 10)"
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261127)
    return parser.parse_args()


def copy_rows(cr, table, columns, rows):
    """COPY ``rows`` (tuples) into ``table``, in chunks."""
    chunk = []

    def flush():
        buffer = io.StringIO()
        for row in chunk:
            buffer.write(
                "\t".join("\\N" if value is None else str(value) for value in row)
            )
            buffer.write("\n")
        buffer.seek(0)
        cr.copy_expert(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer, size=1 << 20
        )
        chunk.clear()

    for row in rows:
        chunk.append(row)
        if len(chunk) >= 50_000:
            flush()
    if chunk:
        flush()


class Bench:
    def __init__(self, args, settings, db):
        self.args = args
        self.settings = settings
        self.db = db
        self.rng = random.Random(args.seed)
        self.results = []

    # ------------------------------------------------------------
    # Odoo in this process
    # ------------------------------------------------------------

    def start_odoo(self):
        import odoo  # noqa: PLC0415 (Odoo is configured for this database first)
        from odoo.tools import config  # noqa: PLC0415

        config.parse_config([*self.settings.odoo_args, "-d", self.db])
        self.odoo = odoo
        self.registry = odoo.modules.registry.Registry(self.db)

    def env(self, cr, uid=None):
        api = self.odoo.api
        return api.Environment(cr, uid or self.odoo.SUPERUSER_ID, {})

    # ------------------------------------------------------------
    # The data
    # ------------------------------------------------------------

    def setup_people(self):
        with self.registry.cursor() as cr:
            env = self.env(cr)
            Users = env["res.users"].with_context(no_reset_password=True)
            sales = [
                env.ref("whatsapp_team.group_whatsapp_user").id,
                env.ref("sales_team.group_sale_salesman").id,
            ]
            manager_groups = [
                env.ref("whatsapp_team.group_whatsapp_manager").id,
                env.ref("sales_team.group_sale_salesman_all_leads").id,
            ]
            self.manager = Users.create(
                {
                    "name": "Bench Manager",
                    "login": "bench_manager",
                    "groups_id": [(6, 0, manager_groups)],
                }
            ).id
            export_manager = Users.create(
                {
                    "name": "Export Manager",
                    "login": "bench_export",
                    "groups_id": [(6, 0, manager_groups)],
                }
            ).id
            self.admin = env.ref("base.user_admin").id
            teams = env["crm.team"].create(
                [
                    {"name": "Showroom", "user_id": self.manager},
                    {"name": "Export", "user_id": export_manager},
                ]
            )
            self.teams = teams.ids
            self.sellers = {}
            for team in teams:
                users = Users.create(
                    [
                        {
                            "name": f"{team.name} seller {i}",
                            "login": f"bench_{team.id}_{i}",
                            "groups_id": [(6, 0, sales)],
                        }
                        for i in range(10)
                    ]
                )
                env["crm.team.member"].create(
                    [{"crm_team_id": team.id, "user_id": u.id} for u in users]
                )
                self.sellers[team.id] = users.ids
            account = env["whatsapp.account"].create(
                {
                    "name": "Bench",
                    "mode": "sandbox",
                    "team_ids": [(6, 0, teams.ids)],
                    "team_id": teams[0].id,
                }
            )
            self.account = account.id
            self.company = account.company_id.id
            labels = env["whatsapp.label"].create([{"name": "VIP"}, {"name": "Quote"}])
            self.labels = labels.ids
            self.stages = env["crm.stage"].search([]).ids

    def insert(self):
        args = self.args
        rng = self.rng
        now = datetime.utcnow().replace(microsecond=0)
        started = time.monotonic()
        conn = self.settings.connect(self.db, autocommit=False)
        try:
            with conn.cursor() as cr:
                cr.execute("SELECT COALESCE(MAX(id), 0) FROM whatsapp_conversation")
                first_chat = cr.fetchone()[0] + 1
                cr.execute("SELECT COALESCE(MAX(id), 0) FROM crm_lead")
                first_lead = cr.fetchone()[0] + 1
                chats, messages, turns, labels, leads = [], [], [], [], []
                for n in range(args.chats):
                    chat_id = first_chat + n
                    team = self.teams[n % 2]
                    user = rng.choice(self.sellers[team])
                    opened = now - timedelta(
                        minutes=rng.randrange(60, WEEKS * 7 * 24 * 60)
                    )
                    done = rng.random() < 0.33
                    waiting = not done and rng.random() < 0.15
                    at = opened
                    first_seconds = None
                    breaches = 0
                    for turn in range(args.messages // 2):
                        late = rng.random() < 0.1
                        seconds = (
                            rng.randrange(900, 7200) if late else rng.randrange(20, 900)
                        )
                        asked, answered = at, at + timedelta(seconds=seconds)
                        last_turn = turn == args.messages // 2 - 1
                        unanswered = waiting and last_turn
                        messages.append((chat_id, "in", asked, asked))
                        if unanswered:
                            # the customer writes again while waiting
                            messages.append((chat_id, "in", answered, answered))
                        else:
                            messages.append((chat_id, "out", answered, answered))
                        if turn == 0:
                            first_seconds = seconds
                        breaches += int(late and not unanswered)
                        turns.append(
                            (
                                chat_id,
                                self.account,
                                self.company,
                                team,
                                user,
                                asked,
                                None if unanswered else answered,
                                None if unanswered else user,
                                None if unanswered else "person",
                                opened,
                                turn == 0,
                                0 if unanswered else seconds,
                                0 if unanswered else seconds,
                                900,
                                not late and not unanswered,
                                late and not unanswered,
                                (answered + timedelta(hours=2))
                                if done and turn == 0
                                else None,
                                7200 if done and turn == 0 else 0,
                            )
                        )
                        at = answered + timedelta(minutes=rng.randrange(1, 120))
                    state = "done" if done else rng.choice(["open", "open", "pending"])
                    if waiting:
                        state = "open"
                    lead_id = None
                    if n % 10 == 0:
                        lead_id = first_lead + len(leads)
                        leads.append(
                            (
                                lead_id,
                                f"Lead {n}",
                                "opportunity",
                                user,
                                team,
                                rng.choice(self.stages),
                                rng.choice([300, 800, 2500]),
                                self.company,
                                opened,
                                True,
                            )
                        )
                    last_in = max(
                        m[2] for m in messages[-args.messages :] if m[1] == "in"
                    )
                    chats.append(
                        (
                            chat_id,
                            f"Customer {n}",
                            self.account,
                            self.company,
                            f"4477009{n:06d}",
                            f"4477009{n:06d}",
                            team,
                            user,
                            state,
                            last_in if waiting else None,
                            (last_in + timedelta(minutes=15)) if waiting else None,
                            at,
                            last_in,
                            lead_id,
                            opened,
                            (opened + timedelta(hours=3)) if done else None,
                            args.messages // 2 + int(waiting),
                            args.messages // 2 - int(waiting),
                            breaches,
                            first_seconds,
                        )
                    )
                    if n % 5 == 0:
                        labels.append((chat_id, self.labels[n % 2]))
                copy_rows(
                    cr,
                    "crm_lead",
                    [
                        "id",
                        "name",
                        "type",
                        "user_id",
                        "team_id",
                        "stage_id",
                        "expected_revenue",
                        "company_id",
                        "create_date",
                        "active",
                    ],
                    leads,
                )
                cr.execute(
                    "SELECT setval('crm_lead_id_seq', (SELECT MAX(id) FROM crm_lead))"
                )
                copy_rows(
                    cr,
                    "whatsapp_conversation",
                    [
                        "id",
                        "name",
                        "account_id",
                        "company_id",
                        "wa_id",
                        "phone_key",
                        "team_id",
                        "user_id",
                        "state",
                        "waiting_since",
                        "reply_deadline",
                        "last_message_at",
                        "last_inbound_at",
                        "lead_id",
                        "opened_at",
                        "closed_at",
                        "inbound_count",
                        "outbound_count",
                        "breach_count",
                        "first_response_seconds",
                    ],
                    chats,
                )
                cr.execute(
                    "SELECT setval('whatsapp_conversation_id_seq',"
                    " (SELECT MAX(id) FROM whatsapp_conversation))"
                )
                copy_rows(
                    cr,
                    "whatsapp_conversation_whatsapp_label_rel",
                    ["whatsapp_conversation_id", "whatsapp_label_id"],
                    labels,
                )
                copy_rows(
                    cr,
                    "whatsapp_message",
                    [
                        "conversation_id",
                        "account_id",
                        "direction",
                        "message_type",
                        "state",
                        "media_state",
                        "wa_timestamp",
                        "written_at",
                        "author_user_id",
                        "body",
                    ],
                    (
                        (
                            chat,
                            self.account,
                            direction,
                            "text",
                            "received" if direction == "in" else "read",
                            "none",
                            at,
                            written,
                            None,
                            "Hello",
                        )
                        for chat, direction, at, written in messages
                    ),
                )
                copy_rows(
                    cr,
                    "whatsapp_conversation_response",
                    [
                        "conversation_id",
                        "account_id",
                        "company_id",
                        "team_id",
                        "user_id",
                        "asked_at",
                        "answered_at",
                        "answered_by_id",
                        "answer_source",
                        "opening_at",
                        "is_first",
                        "wall_seconds",
                        "work_seconds",
                        "target_seconds",
                        "within_target",
                        "breached",
                        "resolved_at",
                        "resolution_seconds",
                    ],
                    turns,
                )
            conn.commit()
        finally:
            conn.close()
        for table in (
            "whatsapp_conversation",
            "whatsapp_message",
            "whatsapp_conversation_response",
            "crm_lead",
        ):
            harness.query(self.settings, self.db, f"VACUUM ANALYZE {table}")
        counts = harness.query(
            self.settings,
            self.db,
            "SELECT (SELECT COUNT(*) FROM whatsapp_conversation),"
            " (SELECT COUNT(*) FROM whatsapp_message),"
            " (SELECT COUNT(*) FROM whatsapp_conversation_response)",
        )[0]
        print(
            f"  {counts[0]:,} chats, {counts[1]:,} messages, {counts[2]:,} turns"
            f" added with COPY ({time.monotonic() - started:.0f}s)",
            flush=True,
        )

    # ------------------------------------------------------------
    # Measures
    # ------------------------------------------------------------

    def time_calls(self, label, uid, call):
        samples = []
        for _i in range(self.args.repeat):
            with self.registry.cursor() as cr:
                env = self.env(cr, uid)
                env.invalidate_all()
                started = time.perf_counter()
                call(env)
                samples.append((time.perf_counter() - started) * 1000)
                cr.rollback()
        self.results.append(
            (label, statistics.median(samples), max(samples), REPORT_AIM_MS, "ms")
        )

    def measure_reports(self):
        for who, uid in (("manager", self.manager), ("admin", self.admin)):
            for weeks in (4, 13):
                self.time_calls(
                    f"dashboard, {weeks} weeks, {who}",
                    uid,
                    lambda env, w=weeks: env[
                        "whatsapp.reporting.dashboard"
                    ].get_dashboard_data(weeks=w),
                )
            since = datetime.utcnow() - timedelta(weeks=4)
            self.time_calls(
                f"response times pivot as it opens (4 weeks), {who}",
                uid,
                lambda env, since=since: env["whatsapp.response.report"].read_group(
                    [("date", ">=", since)],
                    [
                        "chat_count:sum",
                        "first_response_minutes:avg",
                        "within_target_percent:avg",
                        "breach_count:sum",
                    ],
                    ["user_id", "date:week"],
                    lazy=False,
                ),
            )
            self.time_calls(
                f"response times pivot, all 13 weeks, {who}",
                uid,
                lambda env: env["whatsapp.response.report"].read_group(
                    [],
                    [
                        "chat_count:sum",
                        "first_response_minutes:avg",
                        "within_target_percent:avg",
                        "breach_count:sum",
                    ],
                    ["user_id", "date:week"],
                    lazy=False,
                ),
            )
            self.time_calls(
                f"response times by label, {who}",
                uid,
                lambda env: env["whatsapp.response.report"].read_group(
                    [], ["chat_count:sum"], ["label_ids"], lazy=False
                ),
            )
            self.time_calls(
                f"workload pivot (salesperson x status), {who}",
                uid,
                lambda env: env["whatsapp.workload.report"].read_group(
                    [],
                    ["chat_count:sum", "late_count:sum"],
                    ["user_id", "state"],
                    lazy=False,
                ),
            )
            self.time_calls(
                f"leads pivot (salesperson x stage), {who}",
                uid,
                lambda env: env["whatsapp.lead.report"].read_group(
                    [],
                    ["lead_count:sum", "expected_revenue:sum"],
                    ["user_id", "stage_id"],
                    lazy=False,
                ),
            )

    def measure_figures(self):
        """Per message: stored as the addon stores it, with and without the
        counting; the counting's own share is the cost of the figures."""
        chats = 200
        with self.registry.cursor() as cr:
            env = self.env(cr)
            Chat = env["whatsapp.conversation"]
            Message = env["whatsapp.message"]
            team = env["crm.team"].browse(self.teams[0])
            seller = env["res.users"].browse(self.sellers[team.id][0])
            base = datetime.utcnow() - timedelta(days=1)
            counted, storing = [], []
            late = []
            for n in range(chats):
                chat = Chat.create(
                    {
                        "account_id": self.account,
                        "wa_id": f"4477008{n:06d}",
                        "phone_key": f"4477008{n:06d}",
                        "team_id": team.id,
                        "user_id": seller.id,
                    }
                )
                at = base
                for i in range(self.args.messages):
                    inbound = i % 2 == 0
                    at += timedelta(minutes=3)
                    started = time.perf_counter()
                    message = Message.create(
                        {
                            "conversation_id": chat.id,
                            "direction": "in" if inbound else "out",
                            "message_type": "text",
                            "state": "received" if inbound else "queued",
                            "wa_timestamp": at,
                            "written_at": at,
                            "author_user_id": False if inbound else seller.id,
                            "body": "Hello",
                        }
                    )
                    env.flush_all()
                    stored = time.perf_counter()
                    chat._figures_on_message(message)
                    env.flush_all()
                    done = time.perf_counter()
                    storing.append((stored - started) * 1000)
                    counted.append((done - stored) * 1000)
                # a message WhatsApp delivers late: written before the last one
                message = Message.create(
                    {
                        "conversation_id": chat.id,
                        "direction": "in",
                        "message_type": "text",
                        "state": "received",
                        "wa_timestamp": base,
                        "body": "Hello?",
                    }
                )
                env.flush_all()
                started = time.perf_counter()
                chat._figures_on_message(message)
                env.flush_all()
                late.append((time.perf_counter() - started) * 1000)
            cr.rollback()
        self.results.append(
            (
                "store a message (without the figures)",
                statistics.mean(storing),
                max(storing),
                None,
                "ms",
            )
        )
        self.results.append(
            (
                "keep the figures, per message in order",
                statistics.mean(counted),
                max(counted),
                FIGURES_AIM_MS,
                "ms",
            )
        )
        self.results.append(
            (
                f"a late message: recount its chat ({self.args.messages + 1} msgs)",
                statistics.mean(late),
                max(late),
                None,
                "ms",
            )
        )

    def report(self):
        print()
        print(f"{'measure':<58}{'median/mean':>12}{'max':>10}{'aim':>10}")
        for label, typical, worst, aim, unit in self.results:
            aim_text = f"< {aim:g} {unit}" if aim else ""
            print(
                f"{label:<58}{typical:>9.1f} {unit}{worst:>7.1f} {unit}{aim_text:>10}"
            )


def main():
    args = parse_args()

    def run(settings, db):
        bench = Bench(args, settings, db)
        bench.start_odoo()
        bench.setup_people()
        print(
            f"adding {args.chats:,} chats, {args.chats * args.messages:,} messages",
            flush=True,
        )
        bench.insert()
        bench.measure_reports()
        bench.measure_figures()
        bench.report()

    harness.run_on_throwaway_db("wa_bench_reports", run)


if __name__ == "__main__":
    main()
