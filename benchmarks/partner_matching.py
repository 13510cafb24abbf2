"""Finding a WhatsApp number's partner among 1,000,000 partners.

Usage: python3 benchmarks/partner_matching.py [--partners 1000000] [--lookups 2000]

1. Installs ``whatsapp_team`` on a throwaway database and opens it in this
   process (a real Odoo registry and PostgreSQL).
2. Inserts N partners with SQL COPY, typed in several formats, their
   ``whatsapp_phone_key``/``whatsapp_mobile_key`` computed by
   ``tools.phone.match_key`` as the addon's compute does; one in 100 numbers
   is shared by two partners (a person and their company), and some partners
   belong to another company or are archived.
3. Looks up random WhatsApp ids (three in four of a partner, the rest
   unknown) through the addon's own matching method,
   ``res.partner._whatsapp_find_by_key`` (its query with the ``active``,
   company and "not a colleague" conditions, and the ranking when several
   partners share the number), with the record cache cleared
   before each lookup (but for the number's own record, which the webhook
   has in hand), and prints p50/p99.
4. Prints the EXPLAIN ANALYZE plan of every query that method sends to
   PostgreSQL (caught from Odoo's SQL log), to show an index lookup and
   no sequential scan of ``res_partner``.

The database is dropped at the end, whatever happens.
"""

import argparse
import importlib
import io
import logging
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
harness = importlib.import_module("harness")

# typed as people do; the wa_id is what WhatsApp sends for the same line
NUMBER_STYLES = (
    (lambda d: f"+1 650 {d[:3]} {d[3:]}", lambda d: f"1650{d}"),
    (lambda d: f"(650) {d[:3]}-{d[3:]}", lambda d: f"1650{d}"),
    (lambda d: f"+32 47{d[0]} {d[1:3]} {d[3:5]} {d[5:]}", lambda d: f"3247{d}"),
    (lambda d: f"+55 11 9{d[:4]}-{d[4:]}1", lambda d: f"5511{d}1"),
)


class SqlCatcher(logging.Handler):
    """Keeps the queries Odoo's cursor logs at DEBUG level."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.queries = []

    def emit(self, record):
        text = record.getMessage()
        if "query: " in text:
            self.queries.append(text.split("query: ", 1)[1])


def plan_nodes(plan):
    """``Node type (index) rows`` of every node of an EXPLAIN JSON plan."""
    label = plan["Node Type"]
    if plan.get("Relation Name"):
        label += f" on {plan['Relation Name']}"
    if plan.get("Index Name"):
        label += f" using {plan['Index Name']}"
    children = [plan_nodes(child) for child in plan.get("Plans", [])]
    return label + (f" > [{', '.join(children)}]" if children else "")


def insert_partners(cr, phone, args, rng, company_ids):
    """COPY the partners; return the sample ``[(wa_id, known)]`` to look up."""
    rows = []
    samples = []
    shared = None
    started = time.perf_counter()
    for n in range(1, args.partners + 1):
        digits = f"{rng.randrange(10**7):07d}"
        typed, wa_id = NUMBER_STYLES[n % len(NUMBER_STYLES)]
        number = typed(digits)
        key = phone.match_key(number, "US") or r"\N"
        # a third of the numbers are a landline in "phone", the rest mobiles
        in_phone = n % 3 == 0
        company = company_ids[1] if n % 50 == 25 else company_ids[0]
        rows.append((n, number, key, in_phone, company, n % 200 != 0))
        if n % 100 == 0:
            # the same number on a second partner: the company of the first
            rows.append((-n, number, key, in_phone, company, True))
            if shared is None and company == company_ids[0] and n % 200:
                shared = wa_id(digits)
        if len(samples) < args.lookups * 3 and rng.random() < 0.01:
            samples.append(wa_id(digits))
    keyed = time.perf_counter() - started
    buffer = io.StringIO()
    now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    for n, number, key, in_phone, company, active in rows:
        is_company = "t" if n < 0 else "f"
        name = f"Bench {'company' if n < 0 else 'person'} {abs(n)}"
        phone_value, mobile_value = (number, r"\N") if in_phone else (r"\N", number)
        phone_key, mobile_key = (key, r"\N") if in_phone else (r"\N", key)
        buffer.write(
            f"{name}\t{name}\t{phone_value}\t{mobile_value}\t{phone_key}\t"
            f"{mobile_key}\t{company}\t{'t' if active else 'f'}\tcontact\t"
            f"{is_company}\t1\t1\t{now}\t{now}\n"
        )
    buffer.seek(0)
    started = time.perf_counter()
    cr.copy_expert(
        "COPY res_partner (name, complete_name, phone, mobile, whatsapp_phone_key,"
        " whatsapp_mobile_key, company_id, active, type, is_company, create_uid,"
        " write_uid, create_date, write_date) FROM STDIN",
        buffer,
    )
    cr.commit()
    cr.execute("ANALYZE res_partner")
    copied = time.perf_counter() - started
    cr.execute("SELECT count(*) FROM res_partner")
    total = cr.fetchone()[0]
    print(
        f"{total:,} partners: match_key() {keyed:.1f} s, COPY + ANALYZE "
        f"{copied:.1f} s",
        flush=True,
    )
    unknown = [f"4477009{rng.randrange(10**5):05d}" for _ in range(args.lookups // 4)]
    known = rng.sample(samples, min(len(samples), args.lookups - len(unknown)))
    lookups = [(wa_id, True) for wa_id in known] + [(w, False) for w in unknown]
    rng.shuffle(lookups)
    return total, lookups, shared


def time_lookups(env, account, phone, method, lookups):
    """Wall and CPU seconds of ``method(key, account)`` for each wa_id, and
    how many numbers of a partner it found."""
    wall, cpu, found = [], [], 0
    for wa_id, known in lookups:
        env.invalidate_all()
        # the webhook holds its number already: only the partners are cold
        account.company_id  # noqa: B018
        started, cpu_started = time.perf_counter(), time.process_time()
        partner = method(phone.wa_id_key(wa_id), account)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        found += bool(partner) and known
    return wall, cpu, found


def run(args, settings, db):
    import odoo  # noqa: PLC0415 - configured below, after the database exists
    from odoo import api
    from odoo.modules.registry import Registry

    odoo.tools.config.parse_config([*settings.odoo_args, "-d", db])
    phone = harness.addon_tools().phone
    rng = random.Random(args.seed)
    registry = Registry(db)
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        other_company = env["res.company"].create({"name": "Other company"})
        account = env["whatsapp.account"].create(
            {
                "name": "Bench",
                "phone_number_id": "bench-partners",
                "access_token": "bench-token",
                "app_secret": "bench-secret",
            }
        )
        cr.commit()
        total, lookups, shared_wa_id = insert_partners(
            cr, phone, args, rng, [env.company.id, other_company.id]
        )
        Partner = env["res.partner"]
        find = Partner._whatsapp_find_by_key
        for wa_id, _known in lookups[:50]:  # warm PostgreSQL's and Odoo's caches
            find(phone.wa_id_key(wa_id), account)

        def orm_search(key, account):
            # the same conditions through the ORM's search, as the method
            # did before it sent its own query
            return Partner.sudo().search(
                [
                    "|",
                    ("whatsapp_phone_key", "=", key),
                    ("whatsapp_mobile_key", "=", key),
                    ("company_id", "in", [False, account.company_id.id]),
                    "!",
                    ("user_ids.share", "=", False),
                ],
                order="id",
            )

        load_before = os.getloadavg()[0]
        timings, cpu, found = time_lookups(env, account, phone, find, lookups)
        orm_timings, _orm_cpu, _found = time_lookups(
            env, account, phone, orm_search, lookups
        )
        load_after = os.getloadavg()[0]
        # the queries of one lookup of a number two partners share
        key = phone.wa_id_key(shared_wa_id)
        catcher = SqlCatcher()
        sql_logger = logging.getLogger("odoo.sql_db")
        level = sql_logger.level
        sql_logger.addHandler(catcher)
        sql_logger.setLevel(logging.DEBUG)
        try:
            env.invalidate_all()
            account.company_id  # noqa: B018
            chosen = find(key, account)
        finally:
            sql_logger.removeHandler(catcher)
            sql_logger.setLevel(level)
        plans = []
        for query in catcher.queries:
            if "res_partner" not in query or not query.lstrip().startswith("SELECT"):
                continue
            cr.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + query)
            explained = cr.fetchone()[0][0]
            plans.append(
                (
                    " ".join(query.split())[:400],
                    plan_nodes(explained["Plan"]),
                    explained["Execution Time"],
                )
            )
        sharing = Partner.search_count(
            ["|", ("whatsapp_mobile_key", "=", key), ("whatsapp_phone_key", "=", key)]
        )
        chosen_name = chosen.name
        cr.rollback()

    def figures(seconds):
        ms = [t * 1000 for t in seconds]
        return (
            f"{statistics.median(ms):.3f} / {harness.percentile(ms, 0.99):.3f} / "
            f"{max(ms):.3f}"
        )

    print()
    print("=" * 78)
    print(f"RESULTS: partner matching among {total:,} partners")
    print("=" * 78)
    print(f"  lookups through res.partner._whatsapp_find_by_key  {len(timings)}")
    known = sum(1 for _wa_id, known in lookups if known)
    print(
        f"  numbers of a partner found                          {found} of {known}"
        " (the others: archived, or of another company)"
    )
    print(f"  per lookup p50 / p99 / max (ms)                     {figures(timings)}")
    print(f"  same, CPU time of this process (ms)                 {figures(cpu)}")
    print(
        f"  the same conditions as an ORM search (ms)           {figures(orm_timings)}"
    )
    print(
        f"  load average (1 min) before / after, {os.cpu_count()} CPUs        "
        f"{load_before:.1f} / {load_after:.1f}"
    )
    print(f"  number {key} of {sharing} partners: chose {chosen_name!r}")
    for query, plan, execution in plans:
        print(f"  query: {query}")
        print(f"    plan: {plan}")
        print(f"    execution (ms): {execution:.3f}")
    sequential = [plan for _q, plan, _e in plans if "Seq Scan on res_partner" in plan]
    print(
        "  sequential scan of res_partner: "
        + ("YES, " + "; ".join(sequential) if sequential else "none")
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--partners", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    harness.run_on_throwaway_db(
        "wa_bench_partners", lambda settings, db: run(args, settings, db)
    )


if __name__ == "__main__":
    main()
