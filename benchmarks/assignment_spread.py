"""1,000 new conversations for a team of 20: how evenly they are shared, and
what an assignment costs.

Usage: python3 benchmarks/assignment_spread.py [--conversations 1000]
       [--members 20] [--sticky 0.3] [--scenarios round_robin,least_loaded,...]

1. Installs ``whatsapp_team`` on a throwaway database and opens it in this
   process (a real Odoo registry and PostgreSQL).
2. For each scenario, creates 20 salespeople, online (a ``bus.presence`` row
   each, as the bus keeps it), a sales team of them with the scenario's
   assignment method and no capacity limit, and a WhatsApp number routed to
   the team.
3. Stores N first messages of N new customers as Meta's signed webhooks
   (``whatsapp.webhook.event._receive``), then processes them with the cron
   method ``_cron_process``: one transaction per event, the real inbound
   path (customer, conversation, message, chatter, team, assignment, reply
   activity).
4. Prints, per scenario, the open chats per member (min / max / mean and
   max - min), and the time per assignment: the whole processing of one
   event (``_process``, the commit excluded) and the ``_auto_assign`` call
   alone (choosing the member, giving the chat, the reply activity; the
   ORM's deferred writes excluded).

Scenario ``least_loaded_sticky``: a share of the customers (``--sticky``)
are known partners whose salesperson is a member drawn at random; their chat
goes to that salesperson, the others by load.

The database is dropped at the end, whatever happens.
"""

import argparse
import importlib
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
harness = importlib.import_module("harness")

SCENARIOS = {
    "round_robin": ("round_robin", False),
    "least_loaded": ("least_loaded", False),
    "least_loaded_sticky": ("least_loaded", True),
}
SALES_GROUPS = ("whatsapp_team.group_whatsapp_user", "sales_team.group_sale_salesman")


def timed(model_class, name, samples):
    """Record the duration of every call of ``model_class.name`` (the real
    method runs unchanged)."""
    original = getattr(model_class, name)

    def wrapper(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            samples.append(time.perf_counter() - started)

    setattr(model_class, name, wrapper)
    return original


def always_open_calendar(env):
    """Working hours around the clock, seven days a week: every member is at
    work, yet each availability check computes their calendar, as it does
    for salespeople who are employees with working hours."""
    return env["resource.calendar"].create(
        {
            "name": "Bench around the clock",
            "tz": "UTC",
            "attendance_ids": [
                (
                    0,
                    0,
                    {
                        "name": f"day {day}",
                        "dayofweek": str(day),
                        "hour_from": 0,
                        "hour_to": 24,
                    },
                )
                for day in range(7)
            ],
        }
    )


def set_up(env, scenario, members, conversations, sticky_share, rng, hours=False):
    """The team, its number, and the customers' signed webhook bodies."""
    method, sticky = SCENARIOS[scenario]
    groups = [env.ref(xmlid).id for xmlid in SALES_GROUPS]
    users = (
        env["res.users"]
        .with_context(no_reset_password=True, mail_create_nosubscribe=True)
        .create(
            [
                {
                    "name": f"{scenario} seller {n:02d}",
                    "login": f"{scenario}-{n:02d}@bench.example.com",
                    "groups_id": [(6, 0, groups)],
                }
                for n in range(members)
            ]
        )
    )
    env["bus.presence"].create(
        [{"user_id": user.id, "status": "online"} for user in users]
    )
    if hours:
        calendar = always_open_calendar(env)
        env["resource.resource"].create(
            [
                {"name": user.name, "user_id": user.id, "calendar_id": calendar.id}
                for user in users
            ]
        )
    team = env["crm.team"].create(
        {"name": f"Bench {scenario}", "whatsapp_assignment": method}
    )
    env["crm.team.member"].create(
        [{"crm_team_id": team.id, "user_id": user.id} for user in users]
    )
    secret = f"bench-secret-{scenario}"
    account = env["whatsapp.account"].create(
        {
            "name": f"Bench {scenario}",
            "phone_number_id": f"bench-assign-{scenario}",
            "access_token": "bench-token",
            "app_secret": secret,
            "graph_base_url": "http://127.0.0.1:9",
            "team_ids": [(6, 0, team.ids)],
            "team_id": team.id,
        }
    )
    prefix = 1 + list(SCENARIOS).index(scenario)
    wa_ids = [f"55119{prefix}{n:07d}" for n in range(conversations)]
    owners = {}
    if sticky:
        known = rng.sample(wa_ids, int(len(wa_ids) * sticky_share))
        owners = {wa_id: rng.choice(users) for wa_id in known}
        env["res.partner"].create(
            [
                {"name": f"Client {wa_id}", "mobile": f"+{wa_id}", "user_id": user.id}
                for wa_id, user in owners.items()
            ]
        )
    bodies = [
        harness.encode(
            harness.text_message_payload(
                account.phone_number_id,
                wa_id,
                "Hello, I would like a quote",
                profile_name=f"Customer {wa_id[-4:]}",
            )
        )
        for wa_id in wa_ids
    ]
    return users, team, account, secret, bodies, owners


def run_scenario(registry, api, odoo, scenario, args):
    rng = random.Random(args.seed)
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        users, team, account, secret, bodies, owners = set_up(
            env,
            scenario,
            args.members,
            args.conversations,
            args.sticky,
            rng,
            hours=args.working_hours,
        )
        cr.commit()
        Event = env["whatsapp.webhook.event"]
        for body in bodies:
            status, _text, _event = Event._receive(
                body, harness.signature_header(secret, body)
            )
            assert status == 200, status
        cr.commit()

        process_times, assign_times = [], []
        originals = [
            (type(Event), "_process", timed(type(Event), "_process", process_times)),
        ]
        Conversation = env["whatsapp.conversation"]
        originals.append(
            (
                type(Conversation),
                "_auto_assign",
                timed(type(Conversation), "_auto_assign", assign_times),
            )
        )
        started = time.perf_counter()
        try:
            while Event._cron_process(limit=args.conversations):
                pass
        finally:
            for model_class, name, original in originals:
                setattr(model_class, name, original)
        elapsed = time.perf_counter() - started
        cr.commit()

        cr.execute(
            "SELECT state, count(*) FROM whatsapp_webhook_event"
            " WHERE account_id = %s GROUP BY state",
            [account.id],
        )
        events = dict(cr.fetchall())
        cr.execute(
            "SELECT user_id, count(*) FROM whatsapp_conversation"
            " WHERE team_id = %s AND state IN ('open', 'pending') GROUP BY user_id",
            [team.id],
        )
        counts = dict.fromkeys(users.ids, 0)
        counts.update(cr.fetchall())
        waiting = counts.pop(None, 0)
        to_owner = 0
        if owners:
            cr.execute(
                "SELECT c.wa_id, c.user_id FROM whatsapp_conversation c"
                " WHERE c.account_id = %s",
                [account.id],
            )
            given = dict(cr.fetchall())
            to_owner = sum(
                given.get(wa_id) == user.id for wa_id, user in owners.items()
            )
    return {
        "scenario": scenario,
        "events": events,
        "counts": counts,
        "waiting": waiting,
        "owners": len(owners),
        "to_owner": to_owner,
        "elapsed": elapsed,
        "process": process_times,
        "assign": assign_times,
    }


def ms(seconds):
    return f"{seconds * 1000:.1f}"


def report(result, args):
    counts = sorted(result["counts"].values())
    process, assign = result["process"], result["assign"]
    n = len(process)
    print()
    print("=" * 78)
    title = result["scenario"]
    if result["owners"]:
        title += f" ({result['owners']} customers with their own salesperson)"
    print(
        f"RESULTS {title}: {args.conversations} new conversations, "
        f"{args.members} online members"
        + (", with working hours" if args.working_hours else "")
    )
    print("=" * 78)
    rows = [
        ("events by state", json.dumps(result["events"])),
        ("conversations given / waiting", f"{sum(counts)} / {result['waiting']}"),
        (
            "open chats per member: min / max / mean",
            f"{counts[0]} / {counts[-1]} / {statistics.mean(counts):.1f}",
        ),
        ("spread (max - min)", str(counts[-1] - counts[0])),
        ("open chats per member, sorted", " ".join(map(str, counts))),
    ]
    if result["owners"]:
        rows.append(
            (
                "sticky chats given to their own salesperson",
                f"{result['to_owner']} / {result['owners']}",
            )
        )
    rows += [
        (
            "total processing time (s) / messages per s",
            f"{result['elapsed']:.1f} / {n / result['elapsed']:.1f}",
        ),
        (
            "per message, whole processing: mean / p50 / p99 (ms)",
            f"{ms(statistics.mean(process))} / "
            f"{ms(harness.percentile(process, 0.5))} / "
            f"{ms(harness.percentile(process, 0.99))}",
        ),
        (
            f"_auto_assign ({len(assign)} calls): mean / p50 / p99 (ms)",
            f"{ms(statistics.mean(assign))} / "
            f"{ms(harness.percentile(assign, 0.5))} / "
            f"{ms(harness.percentile(assign, 0.99))}",
        ),
    ]
    for label, value in rows:
        print(f"  {label:<55} {value}")


def run(args, settings, db):
    import odoo  # noqa: PLC0415 - configured below, after the database exists
    from odoo import api
    from odoo.modules.registry import Registry

    odoo.tools.config.parse_config([*settings.odoo_args, "-d", db])
    registry = Registry(db)
    results = []
    try:
        for scenario in args.scenarios:
            print(f"running {scenario} ...", flush=True)
            results.append(run_scenario(registry, api, odoo, scenario, args))
    finally:
        Registry.delete(db)
    for result in results:
        report(result, args)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument(
        "--sticky",
        type=float,
        default=0.3,
        help="share of customers with their own salesperson (sticky scenario)",
    )
    parser.add_argument(
        "--scenarios",
        type=lambda text: text.split(","),
        default=list(SCENARIOS),
        help=f"comma-separated, among {', '.join(SCENARIOS)}",
    )
    parser.add_argument(
        "--working-hours",
        action="store_true",
        help="give each member working hours (a resource on an always-open "
        "calendar), so that availability computes calendars",
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    harness.run_on_throwaway_db(
        "wa_bench_assign", lambda settings, db: run(args, settings, db)
    )


if __name__ == "__main__":
    main()
