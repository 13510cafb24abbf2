"""Automatic chat assignment against a real multi-worker Odoo, under load.

Many new customers write to a number at once while several processes
process the webhook events at the same time: the session's server (its cron
worker) and a second server on the same database whose HTTP workers run the
same processing, ``whatsapp.webhook.event._cron_process``, through a server
action. Each of them takes its share of the events waiting with ``SKIP
LOCKED``, a few to a transaction, so the assignments of different customers
really race:
transactions read the members' open chats from snapshots taken before the
others commit. The cron job alone never runs twice at once, which is why the
second server is needed to get more than one transaction assigning chats.

To line the racers up, the test holds a SHARE lock on ``whatsapp_message``
while the webhooks are posted: every processor stops at the insert of its
first message, inside its transaction, after reading the data. Releasing the
lock lets them all go at the same instant.

Each test creates its own salespeople, sales team and WhatsApp number over
XML-RPC as the administrator, so the demo data plays no part. Salespeople are
put online with ``bus.presence`` rows created over XML-RPC (what the bus does
when a browser tab polls). The outcome is counted in PostgreSQL.
"""

import secrets
import time
from dataclasses import dataclass

import harness
import pytest

WAIT = 120  # seconds: the longest any processing may take here
PROCESSORS = 3  # HTTP workers of the second server, each processing events
UPKEEP_XMLID = "whatsapp_team.ir_cron_conversation_upkeep"
SALES_GROUPS = ("whatsapp_team.group_whatsapp_user", "sales_team.group_sale_salesman")
INSERT_MESSAGE = '%INSERT INTO "whatsapp_message"%'
INSERT_ACTIVITY = '%INSERT INTO "mail_activity"%'

phone = harness.addon_tools().phone


# ----------------------------------------------------------------------------
# Set-up over XML-RPC
# ----------------------------------------------------------------------------


@dataclass
class Team:
    """A sales team of fresh salespeople routing a WhatsApp number of its own."""

    id: int
    user_ids: list
    member_ids: list
    account_id: int
    phone_number_id: str
    app_secret: str


def make_team(e2e, method, members=5, capacity=0, online=True):
    rpc = e2e.rpc
    tag = secrets.token_hex(3)
    group_ids = [rpc.xmlid_to_res_id(xmlid) for xmlid in SALES_GROUPS]
    user_ids = [
        rpc.call(
            "res.users",
            "create",
            {
                "name": f"Seller {tag} {n}",
                "login": f"seller-{tag}-{n}@example.com",
                "groups_id": [(6, 0, group_ids)],
            },
            context={"no_reset_password": True},
        )
        for n in range(members)
    ]
    team_id = rpc.call(
        "crm.team",
        "create",
        {"name": f"Inbox {tag}", "whatsapp_assignment": method},
    )
    member_ids = [
        rpc.call(
            "crm.team.member",
            "create",
            {"crm_team_id": team_id, "user_id": uid, "whatsapp_max_open": capacity},
        )
        for uid in user_ids
    ]
    phone_number_id = f"e2e-assign-{secrets.randbelow(10**12):012d}"
    app_secret = secrets.token_hex(16)
    account_id = rpc.create_account(
        phone_number_id,
        app_secret,
        name=f"Inbox {tag}",
        team_ids=[(6, 0, [team_id])],
        team_id=team_id,
    )
    team = Team(team_id, user_ids, member_ids, account_id, phone_number_id, app_secret)
    if online:
        set_online(e2e, team)
    return team


def set_online(e2e, team):
    """What the bus does when the salespeople's browsers poll: an online
    ``bus.presence`` row per salesperson.

    Created through ``load`` (the import API): ``bus.presence.create`` is not
    declared a model method, so the external API would take its values for
    record ids, and its result cannot be sent back over XML-RPC.
    """
    result = e2e.rpc.call(
        "bus.presence",
        "load",
        ["user_id/.id", "status"],
        [[uid, "online"] for uid in team.user_ids],
    )
    assert not result["messages"], result["messages"]
    assert len(result["ids"]) == len(team.user_ids)


@pytest.fixture(scope="module")
def processors(e2e):
    """A second server on the same database: ``run()`` processes pending
    webhook events in one of its HTTP workers, as the cron job does."""
    rpc = e2e.rpc
    model_id = rpc.call(
        "ir.model", "search", [("model", "=", "whatsapp.webhook.event")]
    )[0]
    action_id = rpc.call(
        "ir.actions.server",
        "create",
        {
            "name": "E2E: process webhook events",
            "model_id": model_id,
            "state": "code",
            "code": "env['whatsapp.webhook.event']._cron_process()",
        },
    )
    server = harness.OdooServer(
        e2e.settings,
        e2e.db,
        harness.LOG_DIR / f"{e2e.db}-processors.log",
        workers=PROCESSORS,
        max_cron_threads=0,
    )
    server.start()
    try:
        server_rpc = server.rpc()
        yield lambda: server_rpc.call_json("ir.actions.server", "run", [action_id])
    finally:
        server.stop()


# ----------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------


def blocked_count(e2e, statement):
    return e2e.scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
        " AND state = 'active' AND wait_event_type = 'Lock'"
        " AND wait_event = 'relation' AND query ILIKE %s",
        [e2e.db, statement],
    )


def wait_blocked(e2e, statement, count):
    """Wait until ``count`` server transactions wait for the lock in
    ``statement``."""

    def describe():
        rows = e2e.sql(
            "SELECT wait_event_type, wait_event, left(query, 60) FROM pg_stat_activity"
            " WHERE datname = %s AND state != 'idle' AND pid != pg_backend_pid()",
            [e2e.db],
        )
        return repr(rows)

    harness.wait_until(
        lambda: blocked_count(e2e, statement) >= count,
        WAIT,
        what=f"{count} transactions waiting in {statement}",
        describe=describe,
    )


def fresh_wa_ids(e2e, count):
    """Random WhatsApp ids no partner and no conversation has yet."""
    wa_ids = set()
    while len(wa_ids) < count:
        wa_id = harness.random_wa_id("br")
        key = phone.wa_id_key(wa_id)
        taken = e2e.scalar(
            "SELECT count(*) FROM res_partner"
            " WHERE whatsapp_phone_key = %(k)s OR whatsapp_mobile_key = %(k)s",
            {"k": key},
        ) + e2e.scalar(
            "SELECT count(*) FROM whatsapp_conversation WHERE phone_key = %s", [key]
        )
        if key and not taken:
            wa_ids.add(wa_id)
    return sorted(wa_ids)


def first_messages(team, wa_ids):
    """One first message of each customer: ``(wamids, signed bodies)``."""
    wamids = [harness.new_wamid() for _ in wa_ids]
    bodies = [
        harness.encode(
            harness.text_message_payload(
                team.phone_number_id,
                wa_id,
                "Hello, is anyone there?",
                message_id=wamid,
                profile_name=f"Customer {wa_id[-4:]}",
            )
        )
        for wa_id, wamid in zip(wa_ids, wamids, strict=True)
    ]
    return wamids, bodies


def post(e2e, team, bodies):
    results = harness.post_all(
        e2e.url, bodies, team.app_secret, len(bodies), barrier=True
    )
    assert [r.status for r in results] == [200] * len(bodies)


def wait_processed(e2e, after_event_id, wamids):
    """Every event after ``after_event_id`` processed, every message stored."""
    wamids = set(wamids)

    def finished():
        # a failed attempt is only retried minutes later: stop at once
        assert (
            harness.event_errors(e2e.settings, e2e.db, after_event_id) == []
        ), "webhook events failed"
        events = e2e.events_state(after_event_id)
        return not events.get("pending") and set(e2e.message_counts(wamids)) == wamids

    harness.wait_until(
        finished,
        WAIT,
        interval=0.2,
        what="processing",
        describe=lambda: (
            f"events {e2e.events_state(after_event_id)}, messages stored "
            f"{len(e2e.message_counts(wamids))}/{len(wamids)}"
        ),
    )


def race_processing(e2e, processors, team, bodies, also=None):
    """Post ``bodies`` and process them in the cron worker and the second
    server's workers, all released at the same instant.

    ``also`` (statement, function) starts one more racer, which must stop at
    an insert matched by ``statement`` (into ``mail_activity``: that table is
    locked too then).
    """
    tables = ["whatsapp_message"] + (["mail_activity"] if also else [])
    with harness.inserts_blocked(e2e.settings, e2e.db, *tables):
        post(e2e, team, bodies)
        calls = [harness.Call(processors) for _ in range(PROCESSORS)]
        # the cron worker (triggered by the webhooks) and the processors:
        # each takes its share of the events it sees, so one of them may
        # find them all taken; PROCESSORS of them racing is a race
        wait_blocked(e2e, INSERT_MESSAGE, min(PROCESSORS, len(bodies)))
        if also:
            statement, function = also
            calls.append(harness.Call(function))
            wait_blocked(e2e, statement, 1)
    for call in calls:
        call.join()
    return calls


def open_chats(e2e, team):
    """``{user id: open or pending chats in the team}``, every member listed;
    chats nobody has are under ``None``."""
    counts = dict.fromkeys(team.user_ids, 0)
    counts.update(
        e2e.sql(
            "SELECT user_id, count(*) FROM whatsapp_conversation"
            " WHERE team_id = %s AND state IN ('open', 'pending')"
            " GROUP BY user_id",
            [team.id],
        )
    )
    counts.setdefault(None, 0)
    return counts


def assignments(e2e, team):
    """For an assertion message: each member's chats and last turn, and who
    got each chat, in the order the chats were created."""
    members = e2e.sql(
        "SELECT m.user_id, m.whatsapp_last_assigned_at, count(c.id)"
        "  FROM crm_team_member m LEFT JOIN whatsapp_conversation c"
        "       ON c.user_id = m.user_id AND c.team_id = m.crm_team_id"
        " WHERE m.crm_team_id = %s GROUP BY m.id ORDER BY m.id",
        [team.id],
    )
    chats = e2e.sql(
        "SELECT to_char(create_date, 'HH24:MI:SS.MS'), user_id"
        "  FROM whatsapp_conversation WHERE team_id = %s ORDER BY create_date, id",
        [team.id],
    )
    return (
        "members (user, last given at, chats): "
        + "; ".join(f"{u} {at} {n}" for u, at, n in members)
        + "\nchats (created, given to): "
        + ", ".join(f"{at} {u}" for at, u in chats)
    )


def assert_stored_once(e2e, team, wa_ids, wamids):
    assert e2e.message_counts(wamids) == dict.fromkeys(wamids, 1)
    keys = [phone.wa_id_key(wa_id) for wa_id in wa_ids]
    rows = e2e.sql(
        "SELECT phone_key, count(*) FROM whatsapp_conversation"
        " WHERE account_id = %s GROUP BY phone_key",
        [team.account_id],
    )
    assert dict(rows) == dict.fromkeys(keys, 1)
    assert (
        e2e.scalar(
            "SELECT count(*) FROM whatsapp_conversation"
            " WHERE account_id = %s AND team_id IS DISTINCT FROM %s",
            [team.account_id, team.id],
        )
        == 0
    ), "a chat did not reach the number's routing team"


def assert_one_reply_activity_each(e2e, team):
    """Every chat given to someone has exactly one "Reply" activity, theirs;
    a chat nobody has, none (a retried transaction leaves no trace)."""
    rows = e2e.sql(
        "SELECT c.id, c.user_id, array_agg(a.user_id ORDER BY a.id)"
        "       FILTER (WHERE a.id IS NOT NULL)"
        "  FROM whatsapp_conversation c"
        "  LEFT JOIN mail_activity a ON a.res_model = 'whatsapp.conversation'"
        "       AND a.res_id = c.id"
        " WHERE c.team_id = %s GROUP BY c.id, c.user_id",
        [team.id],
    )
    wrong = [
        (chat, user, activities)
        for chat, user, activities in rows
        if (activities or []) != ([user] if user else [])
    ]
    assert wrong == []


# ----------------------------------------------------------------------------


def test_least_loaded_burst_respects_capacity(e2e, processors):
    """30 first messages of 30 new customers at once, processed by four
    processes at the same time, for a least-loaded team of 5 online members
    who take 4 chats each: 20 chats given, 4 to each member, 10 wait."""
    team = make_team(e2e, "least_loaded", members=5, capacity=4)
    wa_ids = fresh_wa_ids(e2e, 30)
    wamids, bodies = first_messages(team, wa_ids)
    before = e2e.last_event_id()

    calls = race_processing(e2e, processors, team, bodies)
    wait_processed(e2e, before, wamids)

    assert [call.error for call in calls] == [None] * len(calls)
    assert e2e.events_state(before) == {"done": 30}
    assert_stored_once(e2e, team, wa_ids, wamids)
    chats = open_chats(e2e, team)
    waiting = chats.pop(None)
    print(f"open chats per member: {sorted(chats.values())}, waiting: {waiting}")
    assert max(chats.values()) <= 4, assignments(e2e, team)
    assert sum(chats.values()) == 20, assignments(e2e, team)
    assert waiting == 10
    assert max(chats.values()) - min(chats.values()) <= 1, assignments(e2e, team)
    assert_one_reply_activity_each(e2e, team)


def test_least_loaded_burst_spreads_evenly(e2e, processors):
    """23 new customers at once, least loaded, no capacity: every chat is
    given and no member has more than one chat over another (5,5,5,4,4)."""
    team = make_team(e2e, "least_loaded", members=5)
    wa_ids = fresh_wa_ids(e2e, 23)
    wamids, bodies = first_messages(team, wa_ids)
    before = e2e.last_event_id()

    calls = race_processing(e2e, processors, team, bodies)
    wait_processed(e2e, before, wamids)

    assert [call.error for call in calls] == [None] * len(calls)
    assert e2e.events_state(before) == {"done": 23}
    assert_stored_once(e2e, team, wa_ids, wamids)
    chats = open_chats(e2e, team)
    waiting = chats.pop(None)
    print(f"open chats per member: {sorted(chats.values())}, waiting: {waiting}")
    assert waiting == 0
    assert sorted(chats.values()) == [4, 4, 5, 5, 5], assignments(e2e, team)
    assert_one_reply_activity_each(e2e, team)


def test_round_robin_burst_gives_each_member_the_same(e2e, processors):
    """25 new customers at once, round-robin, 5 online members without
    capacity: each member gets exactly 5 chats."""
    team = make_team(e2e, "round_robin", members=5)
    wa_ids = fresh_wa_ids(e2e, 25)
    wamids, bodies = first_messages(team, wa_ids)
    before = e2e.last_event_id()

    calls = race_processing(e2e, processors, team, bodies)
    wait_processed(e2e, before, wamids)

    assert [call.error for call in calls] == [None] * len(calls)
    assert e2e.events_state(before) == {"done": 25}
    assert_stored_once(e2e, team, wa_ids, wamids)
    chats = open_chats(e2e, team)
    waiting = chats.pop(None)
    print(f"open chats per member: {sorted(chats.values())}, waiting: {waiting}")
    assert waiting == 0
    assert sorted(chats.values()) == [5] * 5, assignments(e2e, team)
    assert_one_reply_activity_each(e2e, team)


def test_upkeep_racing_with_arrivals_does_not_over_assign(e2e, processors):
    """12 chats wait while the team is offline; the members come online (5,
    capacity 3 each: 15 places) and the upkeep cron gives the waiting chats
    out while 12 more customers write and are processed at the same time.
    15 chats are given, 3 to each member, whoever gave them; a second upkeep
    run changes nothing."""
    team = make_team(e2e, "least_loaded", members=5, capacity=3, online=False)
    rpc = e2e.rpc

    early_ids = fresh_wa_ids(e2e, 12)
    early_wamids, early_bodies = first_messages(team, early_ids)
    before = e2e.last_event_id()
    post(e2e, team, early_bodies)
    wait_processed(e2e, before, early_wamids)
    assert open_chats(e2e, team) == {**dict.fromkeys(team.user_ids, 0), None: 12}

    set_online(e2e, team)
    late_ids = fresh_wa_ids(e2e, 12)
    late_wamids, late_bodies = first_messages(team, late_ids)
    before_late = e2e.last_event_id()
    # the upkeep stops at the "Reply" activity of the first chat it gives
    calls = race_processing(
        e2e,
        processors,
        team,
        late_bodies,
        also=(INSERT_ACTIVITY, lambda: rpc.run_cron_now(UPKEEP_XMLID, timeout=WAIT)),
    )
    wait_processed(e2e, before_late, late_wamids)

    assert [call.error for call in calls] == [None] * len(calls)
    assert e2e.events_state(before) == {"done": 24}
    assert_stored_once(e2e, team, early_ids + late_ids, early_wamids + late_wamids)
    given = dict(
        e2e.sql(
            "SELECT m.wa_message_id = ANY(%s), count(c.user_id)"
            "  FROM whatsapp_conversation c"
            "  JOIN whatsapp_message m ON m.conversation_id = c.id"
            " WHERE c.team_id = %s GROUP BY 1",
            [early_wamids, team.id],
        )
    )
    chats = open_chats(e2e, team)
    waiting = chats.pop(None)
    print(
        f"open chats per member: {sorted(chats.values())}, waiting: {waiting}; "
        f"given of the waiting chats: {given.get(True)}, "
        f"of the new ones: {given.get(False)}"
    )
    assert max(chats.values()) <= 3, assignments(e2e, team)
    assert sum(chats.values()) == 15, assignments(e2e, team)
    assert sorted(chats.values()) == [3] * 5, assignments(e2e, team)
    assert waiting == 9
    assert_one_reply_activity_each(e2e, team)

    time.sleep(1)  # a later second than any assignment above
    rpc.run_cron_now(UPKEEP_XMLID, timeout=WAIT)
    assert open_chats(e2e, team) == {**chats, None: 9}
