"""The team inbox on a real multi-worker Odoo: the list, a chat opened, and
a new message reaching an open screen.

Usage: python3 benchmarks/inbox.py [--sizes 2000,20000] [--repeat 15]
       (``make bench BENCH=inbox`` runs it with the settings of
       ``scripts/common.sh``)

1. Installs ``whatsapp_team`` on a throwaway database and starts Odoo with
   ``--workers=2 --max-cron-threads=1``; the number's Graph API is the fake
   one, served over HTTP from this process (read receipts go to it).
2. A number answered by two sales teams: Showroom (the salesperson measured,
   a colleague, and their manager) and Export (one salesperson). The chat
   that is opened gets ~10 customer messages through signed webhooks (the
   real path: chatter, lead, row), and is the salesperson's.
3. Chats are added straight in SQL until the salesperson sees 2,000, then
   20,000 chats (as many of their own as unassigned ones of their team,
   statuses mixed: 60 % open, 15 % waiting, 10 % snoozed, 15 % done; one in
   five labelled; one message each), plus a quarter as many they do not
   see (their colleague's and Export's). Then ``VACUUM ANALYZE``, as
   autovacuum would after such growth (the trigram indexes of the search
   take in their pending entries).
4. At each size, over JSON-RPC as the web client calls them, logged in as
   the salesperson (the ``team`` tab as the manager), each call repeated:
   ``inbox_fetch`` of the first page (50 rows) of each tab, with a search
   for a word of some messages and for a part of a number, ``inbox_open``
   of the chat and mail's ``/mail/thread/messages`` for it. Server time and
   query count are read from Odoo's own request log (the line each worker
   writes per request: queries, time in SQL, time in Python).
5. With the salesperson's browser session on the bus websocket
   (``/websocket``, subscribed as Odoo's web client does) and the chat open,
   a customer message is posted as Meta's signed webhook; timed until the
   ``whatsapp_team.inbox/row`` notification of that chat arrives on the
   websocket (webhook answered, processed by the cron worker, committed,
   dispatched by the bus).

Prints a table with the aims: the list and the chat opened under 100 ms of
server time at 20,000 chats, a new message on an open screen under 1 s.
Nothing fails on time. The database is dropped at the end, whatever happens.
"""

import argparse
import importlib
import json
import random
import re
import statistics
import sys
import threading
import time
from pathlib import Path

import requests
import websocket

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
harness = importlib.import_module("harness")
harness.addon_tools()
fake_graph = importlib.import_module("whatsapp_team.tools.fake_graph")

ACCESS_TOKEN = "bench-inbox-token"
ROW = "whatsapp_team.inbox/row"
# Odoo's websocket worker version (bus/websocket.py, _VERSION)
WS_VERSION = "18.0-3"
SEARCH_WORD = "walnut"
LIST_AIM_MS = 100
LIVE_AIM_MS = 1000
# "POST /path HTTP/1.1" 200 - <queries> <SQL seconds> <other seconds>
LOG_LINE = re.compile(
    r'"POST (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3}) - '
    r"(?P<queries>\d+) (?P<sql>[\d.]+) (?P<python>[\d.]+)"
)
STATES = ["open"] * 12 + ["pending"] * 3 + ["snoozed"] * 2 + ["done"] * 3


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="2000,20000",
        help="chats the salesperson sees, in increasing order (default 2000,20000)",
    )
    parser.add_argument(
        "--repeat", type=int, default=15, help="calls per measure (default 15)"
    )
    parser.add_argument(
        "--messages", type=int, default=10, help="live messages to time (default 10)"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument(
        "--keep", action="store_true", help="keep the database (to look into it)"
    )
    return parser.parse_args()


class ServerLog:
    """Odoo's request log lines, read as they are written."""

    def __init__(self, path):
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0

    def next_request(self, path, timeout=10):
        """(queries, milliseconds) of the next logged request to ``path``."""
        deadline = time.monotonic() + timeout
        while True:
            with open(self.path, "rb") as log:
                log.seek(self.offset)
                chunk = log.read()
            for line in chunk.decode("utf-8", "replace").splitlines(keepends=True):
                if not line.endswith("\n"):
                    break
                self.offset += len(line.encode("utf-8"))
                match = LOG_LINE.search(line)
                if match and match["path"] == path:
                    seconds = float(match["sql"]) + float(match["python"])
                    return int(match["queries"]), seconds * 1000
            if time.monotonic() > deadline:
                raise TimeoutError(f"no request log line for {path}")
            time.sleep(0.02)


class Browser:
    """A user's web session, calling the server as the web client does."""

    def __init__(self, url, db, login, password, log):
        self.url = url
        self.log = log
        self.session = requests.Session()
        result = self.json(
            "/web/session/authenticate", db=db, login=login, password=password
        )
        self.uid = result["uid"]

    def json(self, path, **params):
        response = self.session.post(
            self.url + path,
            json={"jsonrpc": "2.0", "method": "call", "params": params},
            timeout=120,
        )
        response.raise_for_status()
        answer = response.json()
        if "error" in answer:
            raise RuntimeError(answer["error"].get("data", {}).get("message") or answer)
        return answer["result"]

    def call(self, model, method, args=(), **kwargs):
        return self.json(
            f"/web/dataset/call_kw/{model}/{method}",
            model=model,
            method=method,
            args=list(args),
            kwargs=kwargs,
        )

    def measured(self, path, function):
        """Run ``function`` (one request to ``path``): (result, queries, ms).

        Each call waits for its own log line, so that none is left to be
        taken for the next call's."""
        result = function()
        queries, milliseconds = self.log.next_request(path)
        return result, queries, milliseconds


class Bench:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.settings = harness.Settings.from_env()
        self.db = harness.unique_db_name("wa_bench_inbox")
        self.log_path = harness.VAR / "bench" / f"{self.db}.log"
        self.server = harness.OdooServer(
            self.settings,
            self.db,
            self.log_path,
            workers=args.workers,
            max_cron_threads=1,
        )
        self.graph = fake_graph.FakeGraphServer(
            fake_graph.FakeGraph(access_token=ACCESS_TOKEN)
        )
        self.results = {}  # size -> {case: (queries, [ms])}
        self.live = {}  # size -> [ms]
        self.setup_seconds = {}
        self.generated = 0  # chats the salesperson sees
        self.next_customer = 0

    # ------------------------------------------------------------------
    # Set-up
    # ------------------------------------------------------------------

    def sql(self, statement, params=None):
        return harness.query(self.settings, self.db, statement, params)

    def setup(self):
        print(f"database {self.db}, log {self.log_path}", flush=True)
        seconds = harness.install_db(self.settings, self.db, self.log_path, demo=False)
        print(f"  installed whatsapp_team in {seconds:.1f}s", flush=True)
        self.graph.start()
        seconds = self.server.start()
        print(
            f"  Odoo --workers={self.args.workers} --max-cron-threads=1 up in "
            f"{seconds:.1f}s on {self.server.url}",
            flush=True,
        )
        rpc = self.rpc = self.server.rpc()
        group = rpc.xmlid_to_res_id
        sales = [
            group("whatsapp_team.group_whatsapp_user"),
            group("sales_team.group_sale_salesman"),
        ]
        manager = [group("whatsapp_team.group_whatsapp_manager"), sales[1]]

        def user(login, groups):
            return rpc.call(
                "res.users",
                "create",
                {
                    "name": login.title(),
                    "login": login,
                    "password": f"{login}-bench",
                    "groups_id": [(6, 0, groups)],
                },
            )

        self.seller = user("seller", sales)
        self.colleague = user("colleague", sales)
        self.leader = user("leader", manager)
        self.exporter = user("exporter", sales)
        self.team = rpc.call(
            "crm.team",
            "create",
            {
                "name": "Showroom",
                "user_id": self.leader,
                "whatsapp_assignment": "manual",
            },
        )
        self.export = rpc.call(
            "crm.team", "create", {"name": "Export", "whatsapp_assignment": "manual"}
        )
        rpc.call(
            "crm.team.member",
            "create",
            [
                {"crm_team_id": self.team, "user_id": self.seller},
                {"crm_team_id": self.team, "user_id": self.colleague},
                {"crm_team_id": self.export, "user_id": self.exporter},
            ],
        )
        self.phone_number_id = "bench-inbox-number"
        self.secret = "bench-inbox-secret"
        self.account = rpc.create_account(
            self.phone_number_id,
            self.secret,
            access_token=ACCESS_TOKEN,
            graph_base_url=self.graph.url,
            team_ids=[(6, 0, [self.team, self.export])],
            team_id=self.team,
            create_leads=True,
        )
        self.labels = [
            rpc.call("whatsapp.label", "create", {"name": name, "color": color})
            for name, color in (("Bench VIP", 1), ("Bench quote", 4))
        ]
        for name in ("order_update", "follow_up", "payment_reminder"):
            rpc.call(
                "whatsapp.template",
                "create",
                {
                    "name": name,
                    "language": "en_US",
                    "account_id": self.account,
                    "category": "utility",
                    "status": "approved",
                    "body": f"Hello {{{{1}}}}, about your order ({name}).",
                },
            )
        self.company = self.sql(
            "SELECT company_id FROM whatsapp_account WHERE id = %s", [self.account]
        )[0][0]
        self.open_chat = self.open_chat_with_history()

    def post(self, wa_id, body, name="Olivia Open"):
        payload = harness.text_message_payload(
            self.phone_number_id, wa_id, body, profile_name=name
        )
        result = harness.post_webhook(
            self.server.url, harness.encode(payload), self.secret
        )
        if result.status != 200:
            raise RuntimeError(f"webhook answered {result.status}: {result.text}")
        return payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]

    def wait_stored(self, wamids):
        wamids = list(wamids)
        harness.wait_until(
            lambda: self.sql(
                "SELECT count(*) FROM whatsapp_message WHERE wa_message_id = ANY(%s)",
                [wamids],
            )[0][0]
            == len(wamids),
            120,
            interval=0.1,
            what=f"{len(wamids)} messages stored",
        )

    def open_chat_with_history(self):
        self.open_wa_id = "5511987650000"
        texts = [
            "Hello, do you still have the walnut dining table?",
            "The one from the catalogue, 180 cm",
            "Could you send a photo of the legs?",
            "And what would delivery to Campinas cost?",
            "We would need it before the 20th",
            "Is there a discount for two chairs with it?",
            "My partner prefers the lighter finish",
            "Can we pay in three instalments?",
            "Thanks, I'll wait for your answer",
            "Hello? Any news?",
        ]
        wamids = []
        for text in texts:
            wamids.append(self.post(self.open_wa_id, text))
            self.wait_stored(wamids[-1:])
        chat = self.sql(
            "SELECT conversation_id FROM whatsapp_message WHERE wa_message_id = %s",
            [wamids[0]],
        )[0][0]
        self.rpc.call(
            "whatsapp.conversation", "write", [chat], {"user_id": self.seller}
        )
        return chat

    def generate(self, visible):
        """Chats until the salesperson sees ``visible`` of them (plus a
        quarter as many they do not see), straight in SQL."""
        count = visible - self.generated
        if count <= 0:
            return
        hidden = count // 4
        start = self.next_customer
        self.next_customer += count + hidden
        started = time.monotonic()
        rows = []
        for n in range(start, self.next_customer):
            is_hidden = n - start >= count
            if is_hidden:
                owner, team = (
                    (self.colleague, self.team)
                    if n % 2
                    else (self.exporter, self.export)
                )
            elif n % 2:
                owner, team = self.seller, self.team
            else:
                owner, team = None, self.team
            state = self.rng.choice(STATES)
            minutes_ago = self.rng.randrange(1, 60 * 24 * 30)
            unread = self.rng.choice([0, 0, 0, 1, 2, 5])
            words = self.rng.choice(
                [
                    "Is the {} sideboard still available?",
                    "Thank you, see you on Saturday",
                    "Can you send me the invoice for order {}?",
                    "What are your opening hours?",
                    "I would like a quote for the {} chairs",
                ]
            )
            wood = SEARCH_WORD if self.rng.random() < 0.02 else "oak"
            body = words.format(wood)
            label = self.labels[n % 2] if n % 5 == 0 else None
            rows.append((n, owner, team, state, minutes_ago, unread, body, label))
        self._insert(rows)
        self.generated = visible
        # what autovacuum does to a table that grew: the search's trigram
        # indexes take in their pending entries, the planner its statistics
        for table in ("res_partner", "whatsapp_conversation", "whatsapp_message"):
            self.sql(f"VACUUM ANALYZE {table}")
        self.setup_seconds[visible] = time.monotonic() - started
        print(
            f"  {count + hidden} chats added in SQL "
            f"({self.setup_seconds[visible]:.1f}s)",
            flush=True,
        )

    def _insert(self, rows):
        conn = self.settings.connect(self.db, autocommit=False)
        try:
            with conn.cursor() as cr:
                cr.execute(
                    "CREATE TEMP TABLE bench_chat (n int, owner int, team int,"
                    " state varchar, minutes_ago int, unread int, body text,"
                    " label int) ON COMMIT DROP"
                )
                values = ",".join(
                    cr.mogrify("(%s,%s,%s,%s,%s,%s,%s,%s)", row).decode()
                    for row in rows
                )
                cr.execute(f"INSERT INTO bench_chat VALUES {values}")
                cr.execute(
                    """
                    INSERT INTO res_partner (name, complete_name, active, type,
                                             is_company, ref, create_date,
                                             write_date)
                    SELECT 'Customer ' || n, 'Customer ' || n, true, 'contact',
                           false, 'bench-' || n, now(), now()
                      FROM bench_chat
                    """
                )
                cr.execute(
                    "UPDATE res_partner SET commercial_partner_id = id"
                    " WHERE ref LIKE 'bench-%%' AND commercial_partner_id IS NULL"
                )
                cr.execute(
                    """
                    INSERT INTO whatsapp_conversation
                           (name, account_id, company_id, partner_id, wa_id,
                            phone_key, phone, phone_sanitized, state, user_id,
                            team_id, last_message_at, last_inbound_at,
                            window_expires_at, unread_count, waiting_since,
                            reply_deadline, create_date, write_date)
                    SELECT 'Customer ' || b.n, %(account)s, %(company)s, p.id,
                           w.wa_id, w.wa_id, '+' || w.wa_id, '+' || w.wa_id,
                           b.state, b.owner, b.team, w.at, w.at,
                           w.at + interval '24 hours', b.unread,
                           CASE WHEN b.unread > 0 THEN w.at END,
                           CASE WHEN b.unread > 0
                                THEN w.at + interval '15 minutes' END,
                           now(), now()
                      FROM bench_chat b
                      JOIN res_partner p ON p.ref = 'bench-' || b.n
                     CROSS JOIN LATERAL (
                           SELECT '55119' || lpad(b.n::text, 8, '0') AS wa_id,
                                  (now() AT TIME ZONE 'UTC')
                                  - b.minutes_ago * interval '1 minute' AS at
                           ) w
                    """,
                    {"account": self.account, "company": self.company},
                )
                cr.execute(
                    """
                    INSERT INTO whatsapp_message
                           (wa_message_id, conversation_id, account_id,
                            direction, message_type, body, state, wa_timestamp,
                            media_state, create_date, write_date)
                    SELECT 'wamid.BENCH' || b.n, c.id, c.account_id, 'in',
                           'text', b.body, 'received', c.last_message_at,
                           'none', now(), now()
                      FROM bench_chat b
                      JOIN whatsapp_conversation c
                        ON c.wa_id = '55119' || lpad(b.n::text, 8, '0')
                    """
                )
                cr.execute(
                    """
                    UPDATE whatsapp_conversation c
                       SET last_wa_message_id = m.id
                      FROM whatsapp_message m
                     WHERE m.conversation_id = c.id
                       AND m.wa_message_id LIKE 'wamid.BENCH%%'
                       AND c.last_wa_message_id IS NULL
                    """
                )
                cr.execute(
                    """
                    INSERT INTO whatsapp_conversation_whatsapp_label_rel
                           (whatsapp_conversation_id, whatsapp_label_id)
                    SELECT c.id, b.label
                      FROM bench_chat b
                      JOIN whatsapp_conversation c
                        ON c.wa_id = '55119' || lpad(b.n::text, 8, '0')
                     WHERE b.label IS NOT NULL
                    """
                )
            conn.commit()
        finally:
            conn.close()

    def visible_counts(self):
        rows = self.sql(
            "SELECT count(*) FILTER (WHERE user_id = %(seller)s),"
            " count(*) FILTER (WHERE user_id IS NULL AND team_id = %(team)s),"
            " count(*) FROM whatsapp_conversation",
            {"seller": self.seller, "team": self.team},
        )[0]
        return rows

    # ------------------------------------------------------------------
    # Measures
    # ------------------------------------------------------------------

    def measure(self, size):
        log = ServerLog(self.log_path)
        seller = Browser(self.server.url, self.db, "seller", "seller-bench", log)
        leader = Browser(self.server.url, self.db, "leader", "leader-bench", log)
        mine, unassigned, total = self.visible_counts()
        print(
            f"  the salesperson sees {mine + unassigned} chats ({mine} theirs, "
            f"{unassigned} unassigned) of {total}",
            flush=True,
        )
        digits = self.open_wa_id[-7:-3]
        chat = [[self.open_chat]]
        thread = {
            "thread_model": "whatsapp.conversation",
            "thread_id": self.open_chat,
            "limit": 30,
        }
        # (name, session, route or method, args, keyword arguments)
        cases = [
            ("inbox_fetch mine", seller, "inbox_fetch", [], {"tab": "mine"}),
            (
                "inbox_fetch unassigned",
                seller,
                "inbox_fetch",
                [],
                {"tab": "unassigned"},
            ),
            ("inbox_fetch all", seller, "inbox_fetch", [], {"tab": "all"}),
            ("inbox_fetch team (manager)", leader, "inbox_fetch", [], {"tab": "team"}),
            (
                f'inbox_fetch all, search "{SEARCH_WORD}"',
                seller,
                "inbox_fetch",
                [],
                {"tab": "all", "search": SEARCH_WORD},
            ),
            (
                f'inbox_fetch all, search "{digits}"',
                seller,
                "inbox_fetch",
                [],
                {"tab": "all", "search": digits},
            ),
            ("inbox_open", seller, "inbox_open", chat, {}),
            ("/mail/thread/messages", seller, "/mail/thread/messages", [], thread),
        ]
        results = self.results[size] = {}
        for name, browser, target, args, kwargs in cases:
            result, queries, samples = self.repeat(browser, target, args, kwargs)
            self.check(name, result)
            results[name] = (queries, samples)
            print(
                f"  {name:<40} p50 {statistics.median(samples):6.1f} ms"
                f"  max {max(samples):6.1f} ms  SQL {'/'.join(map(str, queries))}",
                flush=True,
            )
        self.live[size] = self.measure_live(seller)
        print(
            f"  webhook -> row on the websocket: p50 "
            f"{statistics.median(self.live[size]):.0f} ms, max "
            f"{max(self.live[size]):.0f} ms",
            flush=True,
        )

    def repeat(self, browser, target, args, kwargs):
        """Call a model method (or a route) as ``browser``, twice to warm both
        workers, then ``--repeat`` times: (last result, queries, [ms])."""
        if target.startswith("/"):
            path = target

            def call():
                return browser.json(target, **kwargs)

        else:
            path = f"/web/dataset/call_kw/whatsapp.conversation/{target}"

            def call():
                return browser.call("whatsapp.conversation", target, args, **kwargs)

        for _warm in range(2):
            browser.measured(path, call)
        samples, queries = [], set()
        for _round in range(self.args.repeat):
            result, count, milliseconds = browser.measured(path, call)
            samples.append(milliseconds)
            queries.add(count)
        return result, sorted(queries), samples

    def check(self, name, result):
        """What a call answered is what the inbox needs (not an empty page)."""
        if name.startswith("inbox_fetch") and "search" not in name:
            if len(result["rows"]) != 50:
                raise RuntimeError(f"{name}: {len(result['rows'])} rows, not 50")
        elif name.startswith("inbox_fetch"):
            if not result["rows"]:
                raise RuntimeError(f"{name}: nothing found")
        elif name == "inbox_open":
            if result["row"]["id"] != self.open_chat or not result["templates"]:
                raise RuntimeError(f"inbox_open answered {result}")
        elif len(result.get("messages", [])) < 10:
            raise RuntimeError(f"/mail/thread/messages answered {result}")

    def measure_live(self, seller):
        """A customer writes in the chat the salesperson has open."""
        seller.call("whatsapp.conversation", "inbox_open", [[self.open_chat]])
        last = self.sql("SELECT coalesce(max(id), 0) FROM bus_bus")[0][0]
        url = f"ws://127.0.0.1:{self.server.gevent_port}/websocket?version={WS_VERSION}"
        ws = websocket.create_connection(
            url,
            cookie=f"session_id={seller.session.cookies.get('session_id')}",
            origin=self.server.url,
            timeout=30,
        )
        arrived = {}
        lock = threading.Condition()

        def listen():
            while True:
                try:
                    frame = ws.recv()
                except (websocket.WebSocketException, OSError):
                    return
                if not frame:
                    continue
                for notification in json.loads(frame):
                    message = notification.get("message", {})
                    row = (message.get("payload") or {}).get("row") or {}
                    if message.get("type") == ROW and row.get("id") == self.open_chat:
                        with lock:
                            arrived[row["preview"]["body"]] = time.perf_counter()
                            lock.notify_all()

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        ws.send(
            json.dumps(
                {"event_name": "subscribe", "data": {"channels": [], "last": last}}
            )
        )
        time.sleep(1)  # the subscription reaches the bus dispatcher
        samples = []
        try:
            for index in range(self.args.messages):
                body = f"Live question {index} at {time.time():.3f}"
                started = time.perf_counter()
                self.post(self.open_wa_id, body)
                with lock:
                    if not lock.wait_for(lambda b=body: b in arrived, timeout=30):
                        raise TimeoutError(f"no row on the websocket for {body!r}")
                samples.append((arrived[body] - started) * 1000)
                time.sleep(0.5)
        finally:
            ws.close()
        return samples

    # ------------------------------------------------------------------
    # Report
    # ------------------------------------------------------------------

    def report(self):
        sizes = sorted(self.results)
        print()
        print(
            "RESULTS inbox: server time per call in ms (p50 / p90 / max of "
            f"{self.args.repeat} calls) and SQL queries; a customer message to "
            f"the row on an open screen ({self.args.messages} messages)"
        )
        header = f"{'':<38}" + "".join(
            f"{f'{size:,} chats':>24}{'':>6}" for size in sizes
        )
        print(header)
        header = (
            f"{'call':<38}"
            + "".join(f"{'p50':>8}{'p90':>8}{'max':>8}{'SQL':>6}" for _s in sizes)
            + f"{'aim':>9}"
        )
        print(header)
        print("-" * len(header))
        rows = [
            (name, [self.results[size][name] for size in sizes])
            for name in self.results[sizes[0]]
        ]
        for name, figures in rows:
            line = f"{name:<38}"
            for queries, samples in figures:
                line += (
                    f"{statistics.median(samples):>8.0f}"
                    f"{harness.percentile(samples, 0.9):>8.0f}"
                    f"{max(samples):>8.0f}{'/'.join(map(str, queries)):>6}"
                )
            aim = f"< {LIST_AIM_MS}" if name != "/mail/thread/messages" else ""
            print(line + f"{aim:>9}")
        line = f"{'webhook -> row on the websocket':<38}"
        for size in sizes:
            samples = self.live[size]
            line += (
                f"{statistics.median(samples):>8.0f}"
                f"{harness.percentile(samples, 0.9):>8.0f}"
                f"{max(samples):>8.0f}{'':>6}"
            )
        print(line + f"{f'< {LIVE_AIM_MS}':>9}")
        print()
        for size in sizes:
            print(f"chats added in SQL up to {size:,}: {self.setup_seconds[size]:.1f}s")

    def run(self):
        try:
            self.setup()
            for size in sorted(int(s) for s in self.args.sizes.split(",")):
                print(f"\n{size:,} chats", flush=True)
                self.generate(size)
                self.measure(size)
            self.report()
        finally:
            self.server.stop()
            self.graph.stop()
            if self.args.keep:
                print(f"database {self.db} kept")
            else:
                harness.drop_db(self.settings, self.db)
                print(f"database {self.db} dropped")


if __name__ == "__main__":
    Bench(parse_args()).run()
