"""The conversation upkeep cron with many chats waiting for a free member.

Usage: python3 benchmarks/upkeep_cron.py [--conversations 1000]
       [--members 20] [--capacity 10] [--late 200]

1. Installs ``whatsapp_team`` on a throwaway database and opens it in this
   process (a real Odoo registry and PostgreSQL).
2. Creates a round-robin team of 20 salespeople without capacity limits,
   with a number of its own (``assignment_spread.set_up``), and sets every
   member offline (their ``bus.presence`` row). N first messages of N new
   customers go through the real inbound path (signed webhooks, then
   ``_cron_process``): nobody is available, so the N chats wait unassigned.
3. Runs ``whatsapp.conversation._cron_upkeep`` (wake snoozed chats, escalate
   late replies, give waiting chats to whoever became available), each run
   in a transaction of its own committed at the end, as the cron does, and
   timed with its commit:

   - ``nobody_online``: all members offline, one run; nothing is given.
   - ``all_online``: every member online, runs until no chat waits (or a
     run gives nothing).
   - ``late_escalation``: M of the chats given above are made late (reply
     deadline an hour ago, no reply yet), the team (escalation "notify")
     gets a leader, one run tells the leader about each.
   - ``capacity``: a second team like the first, each member allowed 10
     open chats, N chats waiting again; every member online, runs until a
     run gives nothing: 200 given, the rest wait.

4. Prints a table per scenario, figures counted in the database included.

The database is dropped at the end, whatever happens.
"""

import argparse
import importlib
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
spread = importlib.import_module("assignment_spread")
harness = spread.harness

# teams of this benchmark, set up by ``assignment_spread.set_up``
TEAMS = ("upkeep_waiting", "upkeep_capacity")
for _name in TEAMS:
    spread.SCENARIOS.setdefault(_name, ("round_robin", False))


def set_presence(env, users, status):
    env["bus.presence"].search([("user_id", "in", users.ids)]).write({"status": status})


def waiting_team(registry, api, odoo, name, args, capacity=0):
    """A team whose members are offline and N chats that wait for them."""
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        users, team, account, secret, bodies, _owners = spread.set_up(
            env, name, args.members, args.conversations, 0, None
        )
        set_presence(env, users, "offline")
        if capacity:
            env["crm.team.member"].search([("crm_team_id", "=", team.id)]).write(
                {"whatsapp_max_open": capacity}
            )
        cr.commit()
        Event = env["whatsapp.webhook.event"]
        for body in bodies:
            status, _text, _event = Event._receive(
                body, harness.signature_header(secret, body)
            )
            assert status == 200, status
        cr.commit()
        started = time.perf_counter()
        while Event._cron_process(limit=args.conversations):
            pass
        inbound = time.perf_counter() - started
        cr.commit()
        return users.ids, team.id, account.id, inbound


def go_online(registry, api, odoo, user_ids, status="online"):
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        set_presence(env, env["res.users"].browse(user_ids), status)


def team_counts(registry, team_id, user_ids):
    """Open or pending chats of the team per member, and those waiting."""
    with registry.cursor() as cr:
        cr.execute(
            "SELECT user_id, count(*) FROM whatsapp_conversation"
            " WHERE team_id = %s AND state IN ('open', 'pending') GROUP BY user_id",
            [team_id],
        )
        counts = dict.fromkeys(user_ids, 0)
        counts.update(cr.fetchall())
    waiting = counts.pop(None, 0)
    return counts, waiting


def upkeep_runs(registry, api, odoo, team_id, user_ids, max_runs):
    """Run the cron until no chat of the team waits or a run gives none.

    Returns the duration of each run, the chats given by each, and the
    ``_auto_assign`` calls made (the real method runs unchanged)."""
    Conversation = registry["whatsapp.conversation"]
    calls = []
    original = spread.timed(Conversation, "_auto_assign", calls)
    durations, given = [], []
    _counts, waiting = team_counts(registry, team_id, user_ids)
    try:
        while len(durations) < max_runs:
            started = time.perf_counter()
            with registry.cursor() as cr:
                env = api.Environment(cr, odoo.SUPERUSER_ID, {})
                env["whatsapp.conversation"]._cron_upkeep()
            durations.append(time.perf_counter() - started)
            _counts, still = team_counts(registry, team_id, user_ids)
            given.append(waiting - still)
            waiting = still
            if not waiting or not given[-1]:
                break
    finally:
        Conversation._auto_assign = original
    return durations, given, calls


def scenario_result(name, registry, team_id, user_ids, runs):
    durations, given, calls = runs
    counts, waiting = team_counts(registry, team_id, user_ids)
    return {
        "scenario": name,
        "durations": durations,
        "given": given,
        "calls": calls,
        "counts": counts,
        "waiting": waiting,
    }


def make_late(registry, api, odoo, team_id, leader_id, late):
    """``late`` assigned chats of the team, their reply an hour overdue, and
    the team's leader to tell."""
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        team = env["crm.team"].browse(team_id)
        team.write({"user_id": leader_id, "whatsapp_escalation": "notify"})
        cr.execute(
            "UPDATE whatsapp_conversation"
            "   SET reply_deadline = (now() AT TIME ZONE 'UTC') - interval '1 hour'"
            " WHERE id IN (SELECT id FROM whatsapp_conversation"
            "               WHERE team_id = %s AND user_id IS NOT NULL"
            "                 AND state = 'open' AND waiting_since IS NOT NULL"
            "               ORDER BY id LIMIT %s)",
            [team_id, late],
        )
        return cr.rowcount


def late_counts(registry, team_id, leader_partner_id, since_message_id):
    with registry.cursor() as cr:
        cr.execute(
            "SELECT count(*) FILTER (WHERE escalated_at IS NOT NULL),"
            "       count(*) FILTER (WHERE reply_deadline < now() AT TIME ZONE 'UTC'"
            "                         AND escalated_at IS NULL)"
            "  FROM whatsapp_conversation WHERE team_id = %s",
            [team_id],
        )
        escalated, unescalated = cr.fetchone()
        cr.execute(
            "SELECT count(*) FROM mail_message m"
            "  JOIN mail_message_res_partner_rel r ON r.mail_message_id = m.id"
            " WHERE m.model = 'whatsapp.conversation' AND m.id > %s"
            "   AND r.res_partner_id = %s",
            [since_message_id, leader_partner_id],
        )
        notes = cr.fetchone()[0]
        cr.execute(
            "SELECT count(*) FROM mail_followers"
            " WHERE res_model = 'whatsapp.conversation' AND partner_id = %s",
            [leader_partner_id],
        )
        following = cr.fetchone()[0]
    return escalated, unescalated, notes, following


def last_message_id(registry):
    with registry.cursor() as cr:
        cr.execute("SELECT coalesce(max(id), 0) FROM mail_message")
        return cr.fetchone()[0]


def run(args, settings, db):
    import odoo  # noqa: PLC0415 - configured below, after the database exists
    from odoo import api
    from odoo.modules.registry import Registry

    odoo.tools.config.parse_config([*settings.odoo_args, "-d", db])
    registry = Registry(db)
    results = []
    try:
        print(f"{args.conversations} chats arriving, members offline ...", flush=True)
        user_ids, team_id, _account, inbound = waiting_team(
            registry, api, odoo, TEAMS[0], args
        )
        print(f"  inbound processing {inbound:.1f} s", flush=True)

        print("running nobody_online ...", flush=True)
        runs = upkeep_runs(registry, api, odoo, team_id, user_ids, max_runs=1)
        results.append(
            scenario_result("nobody_online", registry, team_id, user_ids, runs)
        )

        print("running all_online ...", flush=True)
        go_online(registry, api, odoo, user_ids)
        runs = upkeep_runs(registry, api, odoo, team_id, user_ids, args.max_runs)
        results.append(scenario_result("all_online", registry, team_id, user_ids, runs))

        print("running late_escalation ...", flush=True)
        leader_id = user_ids[0]
        with registry.cursor() as cr:
            env = api.Environment(cr, odoo.SUPERUSER_ID, {})
            leader_partner_id = env["res.users"].browse(leader_id).partner_id.id
        late = make_late(registry, api, odoo, team_id, leader_id, args.late)
        since = last_message_id(registry)
        runs = upkeep_runs(registry, api, odoo, team_id, user_ids, max_runs=1)
        result = scenario_result("late_escalation", registry, team_id, user_ids, runs)
        result["late"] = late
        result["escalation"] = late_counts(registry, team_id, leader_partner_id, since)
        results.append(result)

        print(
            f"{args.conversations} chats arriving for the capacity team ...",
            flush=True,
        )
        cap_users, cap_team, _account, inbound = waiting_team(
            registry, api, odoo, TEAMS[1], args, capacity=args.capacity
        )
        print(f"  inbound processing {inbound:.1f} s", flush=True)
        print("running capacity ...", flush=True)
        go_online(registry, api, odoo, cap_users)
        runs = upkeep_runs(registry, api, odoo, cap_team, cap_users, args.max_runs)
        results.append(scenario_result("capacity", registry, cap_team, cap_users, runs))
    finally:
        Registry.delete(db)
    for result in results:
        report(result, args)


def ms(seconds):
    return f"{seconds * 1000:.1f}"


def report(result, args):
    durations, given, calls = result["durations"], result["given"], result["calls"]
    counts = sorted(result["counts"].values())
    total, chats = sum(durations), sum(given)
    name = result["scenario"]
    print()
    print("=" * 78)
    title = {
        "nobody_online": "all members offline, every chat waiting",
        "all_online": "every chat waiting, all members online, no capacity limit",
        "late_escalation": f"{result.get('late', 0)} late assigned chats, "
        "escalation notify",
        "capacity": f"every chat waiting, all members online, at most "
        f"{args.capacity} open chats each",
    }[name]
    print(
        f"RESULTS {name}: {args.conversations} chats of the team, "
        f"{args.members} members, {title}"
    )
    print("=" * 78)
    rows = [
        ("cron runs", str(len(durations))),
        ("seconds per run", " ".join(f"{d:.2f}" for d in durations)),
        ("total seconds", f"{total:.2f}"),
        ("chats given per run", " ".join(map(str, given))),
        ("chats given / still waiting (database)", f"{chats} / {result['waiting']}"),
    ]
    if chats:
        rows += [
            ("chats given per second", f"{chats / total:.1f}"),
            ("per chat given, mean (ms)", ms(total / chats)),
        ]
    if calls:
        rows.append(
            (
                f"_auto_assign ({len(calls)} calls): mean / p50 / p99 (ms)",
                f"{ms(statistics.mean(calls))} / "
                f"{ms(harness.percentile(calls, 0.5))} / "
                f"{ms(harness.percentile(calls, 0.99))}",
            )
        )
    if name in ("all_online", "capacity"):
        rows += [
            (
                "open chats per member: min / max / mean",
                f"{counts[0]} / {counts[-1]} / {statistics.mean(counts):.1f}",
            ),
            ("open chats per member, sorted", " ".join(map(str, counts))),
        ]
    if name == "capacity":
        over = sum(count > args.capacity for count in counts)
        rows.append((f"members over {args.capacity} open chats", str(over)))
    if name == "late_escalation":
        escalated, unescalated, notes, following = result["escalation"]
        rows += [
            (
                "late chats escalated / late and not escalated",
                f"{escalated} / " f"{unescalated}",
            ),
            (
                "notes to the leader / chats followed (own included)",
                f"{notes} / " f"{following}",
            ),
        ]
    for label, value in rows:
        print(f"  {label:<55} {value}")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument(
        "--capacity",
        type=int,
        default=10,
        help="open chats allowed per member in the capacity scenario",
    )
    parser.add_argument("--late", type=int, default=200, help="late chats to escalate")
    parser.add_argument(
        "--max-runs",
        type=int,
        default=20,
        help="cron runs at most per scenario",
    )
    args = parser.parse_args()
    harness.run_on_throwaway_db(
        "wa_bench_upkeep", lambda settings, db: run(args, settings, db)
    )


if __name__ == "__main__":
    main()
