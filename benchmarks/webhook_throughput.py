"""Webhook throughput and partner matching on a real multi-worker Odoo.

Usage: python3 benchmarks/webhook_throughput.py [--messages 400] [--concurrency 1,8]
       (``make bench`` runs it with the settings of ``scripts/common.sh``)

1. Installs ``whatsapp_team`` on a throwaway database and starts Odoo with
   ``--workers=2 --max-cron-threads=1``.
2. Posts signed inbound text messages (known and new senders mixed) at each
   concurrency level: HTTP answers per second, p50/p99 answer time, and the
   time until the cron worker has stored every message (end to end).
3. Inserts 100,000 partners straight in SQL, with their ``whatsapp_mobile_key``
   computed by ``tools.phone.match_key``, and times finding a WhatsApp number
   among them: the addon's indexed key lookup against the ``ilike`` scans
   other modules do, with the query plans.

The database is dropped at the end, whatever happens.
"""

import argparse
import importlib
import io
import os
import random
import signal
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_harness():
    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    return importlib.import_module("harness")


harness = load_harness()
phone = harness.addon_tools().phone

# Numbers as people type them in an address book, one pattern per country:
# (format, wa_id) from 8 random digits. Brazilian ids keep the ninth digit
# ("9" after the area code) that the match key folds away.
NUMBER_STYLES = [
    (lambda d: f"+55 11 9{d[:4]}-{d[4:]}", lambda d: f"55119{d}"),
    (lambda d: f"+1 (650) 5{d[:2]}-{d[2:6]}", lambda d: f"16505{d[:6]}"),
    (lambda d: f"+49 151 {d}", lambda d: f"49151{d}"),
    (lambda d: f"+91 98{d[:3]} {d[3:8]}", lambda d: f"9198{d}"),
    (lambda d: f"+52 1 55 {d[:4]} {d[4:]}", lambda d: f"52155{d}"),
]


COPY_NULL = r"\N"


def ms(seconds):
    return seconds * 1000.0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--messages", type=int, default=400, help="messages per concurrency level"
    )
    parser.add_argument(
        "--concurrency",
        default="1,8",
        help="comma-separated numbers of posting threads (default 1,8)",
    )
    parser.add_argument(
        "--known-senders",
        type=int,
        default=40,
        help="customers who already chat (half of the messages come from them)",
    )
    parser.add_argument("--partners", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument(
        "--rpc-lookups",
        type=int,
        default=50,
        help="searches over XML-RPC for the ORM comparison (0: skip)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--timeout",
        type=float,
        default=300,
        help="longest wait for the processing of one run (seconds)",
    )
    parser.add_argument("--seed", type=int, default=20260)
    parser.add_argument(
        "--keep", action="store_true", help="keep the database (debugging)"
    )
    return parser.parse_args()


class Bench:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.settings = harness.Settings.from_env()
        self.db = harness.unique_db_name("wa_bench")
        self.log_path = harness.VAR / "bench" / f"{self.db}.log"
        self.server = harness.OdooServer(
            self.settings,
            self.db,
            self.log_path,
            workers=args.workers,
            max_cron_threads=1,
        )
        self.figures = []  # (section, label, value)

    def figure(self, section, label, value):
        self.figures.append((section, label, value))
        print(f"  {label}: {value}", flush=True)

    # ------------------------------------------------------------------
    # Set-up
    # ------------------------------------------------------------------

    def setup(self):
        print(f"database {self.db}, log {self.log_path}", flush=True)
        seconds = harness.install_db(self.settings, self.db, self.log_path)
        print(f"  installed whatsapp_team in {seconds:.1f}s", flush=True)
        seconds = self.server.start()
        print(
            f"  Odoo --workers={self.args.workers} --max-cron-threads=1 up in "
            f"{seconds:.1f}s on {self.server.url}",
            flush=True,
        )
        self.rpc = self.server.rpc()
        self.phone_number_id = f"bench{self.rng.randrange(10**12):012d}"
        self.app_secret = f"bench-secret-{self.rng.randrange(10**9)}"
        self.account_id = self.rpc.create_account(self.phone_number_id, self.app_secret)
        versions = harness.query(
            self.settings,
            self.db,
            "SELECT latest_version, current_setting('server_version')"
            " FROM ir_module_module WHERE name = 'base'",
        )[0]
        print(
            f"  Odoo {versions[0]}, PostgreSQL {versions[1]}, "
            f"{os.cpu_count()} CPUs",
            flush=True,
        )

    def new_wa_id(self):
        """A US mobile, +1 650 XXX XXXX (ten million of them)."""
        return f"1650{self.rng.randrange(2 * 10**6, 10**7):07d}"

    def body(self, wa_id, text):
        payload = harness.text_message_payload(
            self.phone_number_id,
            wa_id,
            text,
            profile_name=f"Bench {wa_id[-4:]}",
        )
        wamid = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
        return harness.encode(payload), wamid

    def last_event_id(self):
        return harness.scalar(
            self.settings,
            self.db,
            "SELECT coalesce(max(id), 0) FROM whatsapp_webhook_event",
        )

    def wait_stored(self, wamids, timeout, after_event_id):
        """Wait until every message of ``wamids`` is stored; stop at the first
        event that failed (it would only be retried minutes later)."""
        wamids = list(wamids)

        def stored():
            return harness.scalar(
                self.settings,
                self.db,
                "SELECT count(*) FROM whatsapp_message WHERE wa_message_id = ANY(%s)",
                [wamids],
            )

        def finished():
            failed = harness.query(
                self.settings,
                self.db,
                "SELECT id, split_part(error, E'\\n', 1) FROM whatsapp_webhook_event"
                " WHERE id > %s AND error IS NOT NULL LIMIT 3",
                [after_event_id],
            )
            if failed:
                raise RuntimeError(f"webhook events failed: {failed}")
            return stored() == len(wamids)

        harness.wait_until(
            finished,
            timeout,
            interval=0.1,
            what=f"{len(wamids)} messages stored",
            describe=lambda: f"{stored()} stored",
        )

    # ------------------------------------------------------------------
    # Throughput
    # ------------------------------------------------------------------

    def warm_up(self):
        """The known senders write once; every worker loads its registry."""
        self.known = [self.new_wa_id() for _ in range(self.args.known_senders)]
        bodies = [self.body(wa_id, "hello") for wa_id in self.known]
        before = self.last_event_id()
        started = time.monotonic()
        results = harness.post_all(
            self.server.url, [b for b, _w in bodies], self.app_secret, 4
        )
        assert all(r.status == 200 for r in results), [r.status for r in results]
        self.wait_stored([w for _b, w in bodies], self.args.timeout, before)
        print(
            f"  warm-up: {len(self.known)} known senders stored in "
            f"{time.monotonic() - started:.1f}s",
            flush=True,
        )

    def run_throughput(self, concurrency):
        count = self.args.messages
        bodies = []
        for n in range(count):
            if n % 2 == 0:
                wa_id = self.rng.choice(self.known)
            else:
                wa_id = self.new_wa_id()  # a first message: partner + conversation
            bodies.append(self.body(wa_id, f"bench c={concurrency} message {n}"))
        self.rng.shuffle(bodies)
        before = self.last_event_id()
        started = time.monotonic()
        results = harness.post_all(
            self.server.url, [b for b, _w in bodies], self.app_secret, concurrency
        )
        posted = time.monotonic()
        bad = [r.status for r in results if r.status != 200]
        if bad:
            raise RuntimeError(f"{len(bad)} posts answered {sorted(set(bad))}")
        self.wait_stored([w for _b, w in bodies], self.args.timeout, before)
        processed = time.monotonic()
        states = dict(
            harness.query(
                self.settings,
                self.db,
                "SELECT state, count(*) FROM whatsapp_webhook_event"
                " WHERE id > %s GROUP BY state",
                [before],
            )
        )
        latencies = [r.seconds for r in results]
        section = f"inbound webhooks, concurrency {concurrency}"
        print(f"{section} ({count} messages, half from new senders)", flush=True)
        self.figure(section, "HTTP answers/s", f"{count / (posted - started):.1f}")
        self.figure(
            section,
            "answer time p50 / p99 / max (ms)",
            f"{ms(harness.percentile(latencies, 0.5)):.1f} / "
            f"{ms(harness.percentile(latencies, 0.99)):.1f} / "
            f"{ms(max(latencies)):.1f}",
        )
        self.figure(
            section,
            "all stored after (s)",
            f"{processed - started:.1f} (posting took {posted - started:.1f})",
        )
        self.figure(
            section, "end-to-end messages/s", f"{count / (processed - started):.1f}"
        )
        self.figure(section, "events by state", str(states))

    # ------------------------------------------------------------------
    # Partner matching
    # ------------------------------------------------------------------

    def insert_partners(self):
        total = self.args.partners
        numbers = []  # (n, mobile as typed, match key)
        self.samples = []  # (wa_id, partner number n)
        started = time.perf_counter()
        for n in range(1, total + 1):
            digits = f"{self.rng.randrange(10**8):08d}"
            fmt, wa = NUMBER_STYLES[n % len(NUMBER_STYLES)]
            mobile = fmt(digits)
            numbers.append((n, mobile, phone.match_key(mobile)))
            self.samples.append((wa(digits), n))
        keyed = time.perf_counter()
        missing = sum(1 for _n, _m, key in numbers if not key)
        conn = self.settings.connect(self.db, autocommit=False)
        try:
            with conn.cursor() as cr:
                cr.execute(
                    "CREATE TEMP TABLE bench_numbers (n int PRIMARY KEY, mobile text,"
                    " key text) ON COMMIT DROP"
                )
                buffer = io.StringIO(
                    "".join(
                        f"{n}\t{mobile}\t{key or COPY_NULL}\n"
                        for n, mobile, key in numbers
                    )
                )
                cr.copy_expert("COPY bench_numbers (n, mobile, key) FROM STDIN", buffer)
                cr.execute(
                    """
                    INSERT INTO res_partner
                        (name, complete_name, ref, mobile, whatsapp_mobile_key,
                         active, type, is_company, create_uid, write_uid,
                         create_date, write_date)
                    SELECT 'Bench partner ' || g.n, 'Bench partner ' || g.n,
                           'bench-' || g.n, b.mobile, b.key, true, 'contact',
                           false, 1, 1, now() at time zone 'utc',
                           now() at time zone 'utc'
                      FROM generate_series(1, %s) AS g(n)
                      JOIN bench_numbers b ON b.n = g.n
                    RETURNING ref, id
                    """,
                    [total],
                )
                # RETURNING gives no particular order: map by the ref
                ids = {
                    int(ref.removeprefix("bench-")): partner_id
                    for ref, partner_id in cr.fetchall()
                }
            conn.commit()
            conn.autocommit = True
            with conn.cursor() as cr:
                cr.execute("ANALYZE res_partner")
                cr.execute("SELECT count(*) FROM res_partner")
                partner_count = cr.fetchone()[0]
        finally:
            conn.close()
        inserted = time.perf_counter()
        self.partner_ids = ids
        section = f"partner matching among {partner_count:,} partners"
        print(section, flush=True)
        self.figure(
            section,
            f"match_key() of {total:,} typed numbers (s)",
            f"{keyed - started:.1f} ({total / (keyed - started):,.0f}/s,"
            f" {missing} unusable)",
        )
        self.figure(
            section,
            "COPY + INSERT ... SELECT generate_series + ANALYZE (s)",
            f"{inserted - keyed:.1f}",
        )
        return section

    def run_lookups(self, section):
        rng = self.rng
        present = rng.sample(
            self.samples, min(self.args.lookups * 3 // 4, len(self.samples))
        )
        # UK mobiles of the drama range: no partner has one
        absent = [
            (f"4477009{rng.randrange(10**5):05d}", None)
            for _ in range(self.args.lookups - len(present))
        ]
        lookups = present + absent
        rng.shuffle(lookups)
        regex = r"[\s\\./\(\)\-]"
        queries = {
            "a": (
                "key lookup, addon's indexes",
                "SELECT id FROM res_partner"
                " WHERE whatsapp_phone_key = %(key)s OR whatsapp_mobile_key = %(key)s",
            ),
            "b": (
                "ILIKE on mobile/phone",
                "SELECT id FROM res_partner"
                " WHERE mobile ILIKE %(like)s OR phone ILIKE %(like)s",
            ),
            "c": (
                "ILIKE on regexp_replace(), phone_validation",
                "SELECT id FROM res_partner"
                " WHERE (mobile IS NOT NULL AND regexp_replace(mobile, %(re)s, '', 'g')"
                " ILIKE %(like)s)"
                " OR (phone IS NOT NULL AND regexp_replace(phone, %(re)s, '', 'g')"
                " ILIKE %(like)s)",
            ),
        }
        for name, (label, sql) in queries.items():
            print(f"  ({name}) {label}: {sql}", flush=True)
        timings = {name: [] for name in queries}
        key_times = []
        found = dict.fromkeys(queries, 0)
        extra = dict.fromkeys(queries, 0)
        conn = self.settings.connect(self.db)
        try:
            with conn.cursor() as cr:
                plans = {}
                sample_wa = present[0][0]
                for name, (_label, sql) in queries.items():
                    cr.execute(
                        "EXPLAIN (FORMAT JSON) " + sql,
                        self.params(sample_wa, phone.wa_id_key(sample_wa), regex),
                    )
                    plans[name] = plan_nodes(cr.fetchone()[0][0]["Plan"])
                for _label, sql in queries.values():  # warm the caches
                    for wa_id, _n in lookups[:20]:
                        cr.execute(
                            sql, self.params(wa_id, phone.wa_id_key(wa_id), regex)
                        )
                        cr.fetchall()
                for wa_id, n in lookups:
                    started = time.perf_counter()
                    key = phone.wa_id_key(wa_id)
                    key_times.append(time.perf_counter() - started)
                    params = self.params(wa_id, key, regex)
                    for name, (_label, sql) in queries.items():
                        started = time.perf_counter()
                        cr.execute(sql, params)
                        ids = [row[0] for row in cr.fetchall()]
                        timings[name].append(time.perf_counter() - started)
                        expected = self.partner_ids.get(n)
                        if expected in ids:
                            found[name] += 1
                        extra[name] += len([i for i in ids if i != expected])
        finally:
            conn.close()
        base = statistics.median(
            [k + q for k, q in zip(key_times, timings["a"], strict=True)]
        )
        self.figure(
            section,
            f"lookups ({len(present)} numbers of partners, {len(absent)} unknown)",
            len(lookups),
        )
        self.figure(
            section,
            "wa_id_key() of one wa_id, median (ms)",
            f"{ms(statistics.median(key_times)):.3f}",
        )
        for name, (label, _sql) in queries.items():
            values = timings[name]
            if name == "a":
                values = [k + q for k, q in zip(key_times, values, strict=True)]
                label += " + key"
            median = statistics.median(values)
            self.figure(
                section,
                f"({name}) {label}: median / p99 (ms)",
                f"{ms(median):.3f} / {ms(harness.percentile(values, 0.99)):.3f}"
                + ("" if name == "a" else f"  -> {median / base:.0f}x slower than (a)"),
            )
            self.figure(
                section,
                f"({name}) partner found / other partners returned",
                f"{found[name]}/{len(present)} / {extra[name]}",
            )
            self.figure(section, f"({name}) plan", plans[name])
        if self.args.rpc_lookups:
            self.rpc_lookups(section, present[: self.args.rpc_lookups])

    @staticmethod
    def params(wa_id, key, regex):
        return {"key": key, "like": f"%{wa_id[-8:]}%", "re": regex}

    def rpc_lookups(self, section, sample):
        """The same two searches through the ORM, as a client sees them."""
        timings = {"key": [], "ilike": []}
        for wa_id, _n in sample:
            key = phone.wa_id_key(wa_id)
            for name, domain in (
                (
                    "key",
                    [
                        "|",
                        ("whatsapp_phone_key", "=", key),
                        ("whatsapp_mobile_key", "=", key),
                    ],
                ),
                (
                    "ilike",
                    [
                        "|",
                        ("mobile", "ilike", wa_id[-8:]),
                        ("phone", "ilike", wa_id[-8:]),
                    ],
                ),
            ):
                started = time.perf_counter()
                self.rpc.call("res.partner", "search", domain)
                timings[name].append(time.perf_counter() - started)
        key_median = statistics.median(timings["key"])
        ilike_median = statistics.median(timings["ilike"])
        self.figure(
            section,
            f"res.partner.search over XML-RPC x{len(sample)}: key / ilike, median (ms)",
            f"{ms(key_median):.1f} / {ms(ilike_median):.1f}"
            f"  -> {ilike_median / key_median:.1f}x",
        )

    # ------------------------------------------------------------------

    def run(self):
        total_started = time.monotonic()
        try:
            self.setup()
            self.warm_up()
            for concurrency in [int(c) for c in self.args.concurrency.split(",")]:
                self.run_throughput(concurrency)
            section = self.insert_partners()
            self.run_lookups(section)
        except BaseException:
            print("\n--- Odoo log, last lines ---\n" + self.server.tail(40), flush=True)
            raise
        finally:
            self.server.stop()
            if not self.args.keep:
                harness.drop_db(self.settings, self.db)
        self.report(time.monotonic() - total_started)

    def report(self, seconds):
        print("\n" + "=" * 78)
        print(f"RESULTS ({seconds:.0f}s in all; database {self.db} dropped)")
        print("=" * 78)
        section = None
        for current, label, value in self.figures:
            if current != section:
                section = current
                print(section)
            print(f"  {label:<58} {value}")


def plan_nodes(plan):
    """``Node type (index)`` of every node of an EXPLAIN JSON plan, top-down."""
    label = plan["Node Type"]
    if plan.get("Index Name"):
        label += f" ({plan['Index Name']})"
    children = [plan_nodes(child) for child in plan.get("Plans", [])]
    return label + (f" > [{', '.join(children)}]" if children else "")


def _terminate(signum, _frame):
    # SIGTERM (e.g. from timeout(1)) must still stop Odoo and drop the database
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    Bench(parse_args()).run()
