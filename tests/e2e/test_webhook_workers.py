"""The webhook against a real ``--workers=2 --max-cron-threads=1`` Odoo.

Each test posts signed bodies over HTTP the way Meta does, then waits (bounded)
for the cron worker to process them and counts the outcome in PostgreSQL.
Every test uses numbers of its own, drawn at random, so the tests share the
server and the WhatsApp number but no customer.
"""

import random
import time

import harness
import pytest
import requests

WAIT = 90  # seconds: the longest any processing may take here

phone = harness.addon_tools().phone

# the demo's past weeks for the managers' reports: customers on the
# +44 7700 900xxx numbers, left aside where the living inbox is checked
HISTORY_WA_IDS = "447700900%"


def fresh_wa_id(e2e, style, exclude=()):
    """A random WhatsApp id no partner and no conversation has yet, whose
    key is none of ``exclude``."""
    for _attempt in range(100):
        wa_id = harness.random_wa_id(style)
        key = phone.wa_id_key(wa_id)
        if key in exclude:
            continue
        taken = e2e.scalar(
            "SELECT count(*) FROM res_partner"
            " WHERE whatsapp_phone_key = %(k)s OR whatsapp_mobile_key = %(k)s",
            {"k": key},
        ) + e2e.scalar(
            "SELECT count(*) FROM whatsapp_conversation WHERE phone_key = %s", [key]
        )
        if key and not taken:
            return wa_id
    raise AssertionError("no free random number found")


def fresh_wa_ids(e2e, *styles):
    """One fresh WhatsApp id of each style, all of different customers (a
    random draw may repeat a number)."""
    wa_ids, keys = [], set()
    for style in styles:
        wa_id = fresh_wa_id(e2e, style, exclude=keys)
        wa_ids.append(wa_id)
        keys.add(phone.wa_id_key(wa_id))
    return wa_ids


def partners_with_key(e2e, key):
    return e2e.scalar(
        "SELECT count(*) FROM res_partner"
        " WHERE whatsapp_phone_key = %(k)s OR whatsapp_mobile_key = %(k)s",
        {"k": key},
    )


def conversations_of(e2e, key):
    return e2e.sql(
        "SELECT id, partner_id FROM whatsapp_conversation"
        " WHERE account_id = %s AND phone_key = %s",
        [e2e.account_id, key],
    )


def messages_in_conversations_of(e2e, key):
    return e2e.scalar(
        "SELECT count(*) FROM whatsapp_message m"
        " JOIN whatsapp_conversation c ON c.id = m.conversation_id"
        " WHERE c.account_id = %s AND c.phone_key = %s",
        [e2e.account_id, key],
    )


def wait_processed(e2e, after_event_id, expected_events, wamids, timeout=WAIT):
    """Wait until the events stored after ``after_event_id`` are all processed
    and every message of ``wamids`` is stored."""
    wamids = set(wamids)

    def state():
        return e2e.events_state(after_event_id), e2e.message_counts(wamids)

    def finished():
        # a failed attempt is only retried minutes later: stop at once
        assert (
            harness.event_errors(e2e.settings, e2e.db, after_event_id) == []
        ), "webhook events failed"
        events, messages = state()
        return (
            sum(events.values()) >= expected_events
            and not events.get("pending")
            and set(messages) == wamids
        )

    def describe():
        events, messages = state()
        return (
            f"events after #{after_event_id}: {events}, "
            f"messages stored: {len(messages)}/{len(wamids)}"
        )

    started = time.monotonic()
    harness.wait_until(
        finished, timeout, interval=0.2, what="processing", describe=describe
    )
    return time.monotonic() - started


def assert_posted(results):
    statuses = [result.status for result in results]
    assert statuses == [200] * len(results), statuses


def wait_for_blocked(e2e, wait_event, statement, unless=None):
    """Wait until a server transaction waits on a lock of kind ``wait_event``
    (``relation``, ``advisory``, ``transactionid``...) while running
    ``statement`` (an ILIKE pattern), or until ``unless()`` is true."""

    def blocked():
        return e2e.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
            " AND state = 'active' AND wait_event_type = 'Lock'"
            " AND wait_event = %s AND query ILIKE %s",
            [e2e.db, wait_event, statement],
        ) or (unless is not None and unless())

    def describe():
        rows = e2e.sql(
            "SELECT wait_event_type, wait_event, left(query, 60) FROM pg_stat_activity"
            " WHERE datname = %s AND state != 'idle' AND pid != pg_backend_pid()",
            [e2e.db],
        )
        return repr(rows)

    harness.wait_until(
        blocked,
        WAIT,
        what=f"a transaction waiting on a {wait_event} lock in {statement}",
        describe=describe,
    )


INSERT_MESSAGE = '%INSERT INTO "whatsapp_message"%'


def test_parallel_first_messages_from_a_new_number(e2e):
    """20 first messages of one new customer at the same instant: one partner,
    one conversation, 20 messages."""
    wa_id = fresh_wa_id(e2e, "br")
    key = phone.wa_id_key(wa_id)
    wamids = [harness.new_wamid() for _ in range(20)]
    bodies = [
        e2e.payload(wa_id, f"first burst {i}", wamid, profile_name="Burst Customer")
        for i, wamid in enumerate(wamids)
    ]
    before = e2e.last_event_id()

    results = harness.post_all(e2e.url, bodies, e2e.app_secret, 20, barrier=True)

    assert_posted(results)
    wait_processed(e2e, before, 20, wamids)
    assert e2e.events_state(before) == {"done": 20}
    assert partners_with_key(e2e, key) == 1
    conversations = conversations_of(e2e, key)
    assert len(conversations) == 1
    assert conversations[0][1], "the conversation has no partner"
    assert messages_in_conversations_of(e2e, key) == 20
    assert e2e.message_counts(wamids) == dict.fromkeys(wamids, 1)


def test_first_messages_processed_in_parallel(e2e):
    """The identity lock when two transactions really process the first two
    messages of a new number at the same time.

    The cron job never runs twice at once, so the test above processes its
    events one after the other. Here the cron worker holds the identity lock
    (it created the partner and the conversation and waits to insert its
    message) while an administrator's "Process" (``action_process`` over the
    external API) of the second message waits for that lock. Once the first
    commits, the second must find the partner and the conversation, not fail
    on the unique constraint and be put off for a retry minutes later.
    """
    wa_id = fresh_wa_id(e2e, "br")
    key = phone.wa_id_key(wa_id)
    wamids = [harness.new_wamid(), harness.new_wamid()]
    before = e2e.last_event_id()
    with harness.inserts_blocked(e2e.settings, e2e.db, "whatsapp_message"):
        assert_posted([e2e.post(e2e.payload(wa_id, "first", wamids[0]))])
        wait_for_blocked(e2e, "relation", INSERT_MESSAGE)
        assert_posted([e2e.post(e2e.payload(wa_id, "second", wamids[1]))])
        second_event = e2e.last_event_id()
        call = harness.Call(
            e2e.rpc.call_json,
            "whatsapp.webhook.event",
            "action_process",
            [second_event],
        )
        # it waits for the identity lock (unless it leaves the work to the cron)
        wait_for_blocked(e2e, "advisory", "%pg_advisory_xact_lock%", call.done)
    call.join()

    assert call.error is None, call.error
    harness.wait_until(
        lambda: not e2e.event_count("id > %s AND state = 'pending'", [before])
        or harness.event_errors(e2e.settings, e2e.db, before),
        WAIT,
        what="both events processed",
    )
    assert (
        harness.event_errors(e2e.settings, e2e.db, before) == []
    ), "an event failed and waits for a retry"
    assert e2e.events_state(before) == {"done": 2}
    assert partners_with_key(e2e, key) == 1
    assert len(conversations_of(e2e, key)) == 1
    assert e2e.message_counts(wamids) == dict.fromkeys(wamids, 1)


def test_process_now_while_the_cron_processes_the_event(e2e):
    """An administrator's "Process" of an event the cron worker is processing.

    The two transactions update the same event row: the later one gets a
    serialization failure, which Odoo retries transparently when it reaches
    the request. The call must succeed and the message be stored once.
    """
    wa_id = fresh_wa_id(e2e, "us")
    wamid = harness.new_wamid()
    before = e2e.last_event_id()
    with harness.inserts_blocked(e2e.settings, e2e.db, "whatsapp_message"):
        assert_posted([e2e.post(e2e.payload(wa_id, "process me now", wamid))])
        event_id = e2e.last_event_id()
        wait_for_blocked(e2e, "relation", INSERT_MESSAGE)
        call = harness.Call(
            e2e.rpc.call_json, "whatsapp.webhook.event", "action_process", [event_id]
        )
        # it waits for the cron's lock on the event row
        wait_for_blocked(
            e2e, "transactionid", '%UPDATE "whatsapp_webhook_event"%', call.done
        )
    call.join()

    assert call.error is None, call.error
    assert e2e.events_state(before) == {"done": 1}
    assert harness.event_errors(e2e.settings, e2e.db, before) == []
    assert e2e.message_counts([wamid]) == {wamid: 1}
    assert len(conversations_of(e2e, phone.wa_id_key(wa_id))) == 1


def test_redelivery_under_load(e2e):
    """50 messages of 10 customers, each delivered 3 times in random order by
    8 threads: every message stored once, one conversation per customer."""
    rng = random.Random()
    wa_ids = fresh_wa_ids(e2e, *["br"] * 5, *["us"] * 5)
    keys = [phone.wa_id_key(wa_id) for wa_id in wa_ids]
    assert len(set(keys)) == 10
    messages = [
        (wa_id, harness.new_wamid(), f"message {n} of {wa_id}")
        for wa_id in wa_ids
        for n in range(5)
    ]
    wamids = [wamid for _wa_id, wamid, _text in messages]
    # a redelivery is the very same body: sign it once, post it three times
    bodies = [
        e2e.payload(wa_id, text, wamid, profile_name=f"Customer {wa_id[-4:]}")
        for wa_id, wamid, text in messages
    ] * 3
    rng.shuffle(bodies)
    before = e2e.last_event_id()

    results = harness.post_all(e2e.url, bodies, e2e.app_secret, 8)

    assert_posted(results)
    wait_processed(e2e, before, 150, wamids)
    assert e2e.events_state(before) == {"done": 150}
    assert e2e.event_count("id > %s AND error IS NOT NULL", [before]) == 0
    assert e2e.message_counts(wamids) == dict.fromkeys(wamids, 1)
    for key in keys:
        assert len(conversations_of(e2e, key)) == 1, key
        assert partners_with_key(e2e, key) == 1, key
        assert messages_in_conversations_of(e2e, key) == 5, key


def test_processors_keep_each_customers_order(e2e):
    """Several processors at once (the server's cron threads): 12 customers
    each write 6 messages, one after the other, all customers at the same
    time. Every message is stored once, and each customer's messages are
    processed in the order their webhooks were stored, whichever processor
    took them."""
    customers = fresh_wa_ids(e2e, *["br"] * 12)
    wamids = {wa_id: [harness.new_wamid() for _ in range(6)] for wa_id in customers}
    before = e2e.last_event_id()
    # one thread per customer: its webhooks arrive in their order
    calls = [
        harness.Call(
            lambda wa_id=wa_id: [
                e2e.post(e2e.payload(wa_id, f"message {n}", wamid))
                for n, wamid in enumerate(wamids[wa_id])
            ]
        )
        for wa_id in customers
    ]
    for call in calls:
        call.join()
        assert call.error is None, call.error
        assert_posted(call.result)
    every = [wamid for ids in wamids.values() for wamid in ids]
    wait_processed(e2e, before, len(every), every)
    assert e2e.events_state(before) == {"done": len(every)}
    assert e2e.message_counts(every) == dict.fromkeys(every, 1)
    for wa_id, ids in wamids.items():
        # stored (event ids) and processed (message ids) in the same order
        stored = [
            row[0]
            for row in e2e.sql(
                "SELECT payload::json #>> '{entry,0,changes,0,value,messages,0,id}'"
                " FROM whatsapp_webhook_event WHERE id > %s AND payload LIKE %s"
                " ORDER BY id",
                [before, f"%{wa_id}%"],
            )
        ]
        processed = [
            row[0]
            for row in e2e.sql(
                "SELECT wa_message_id FROM whatsapp_message"
                " WHERE wa_message_id = ANY(%s) ORDER BY id",
                [ids],
            )
        ]
        assert stored == ids, wa_id
        assert processed == stored, wa_id


def test_refused_bodies_store_nothing(e2e):
    """Bad or missing signature: 403; not JSON: 400; over 3 MB: 413. Nothing
    is stored for any of them."""
    wa_id = fresh_wa_id(e2e, "us")
    wamid = harness.new_wamid()
    body = e2e.payload(wa_id, "signed with the wrong secret", wamid)
    before = e2e.event_count()

    wrong_secret = e2e.post(body, app_secret=e2e.app_secret + "x")
    no_signature = e2e.post(body, signature=None)
    other_body = e2e.post(
        body, signature=harness.signature_header(e2e.app_secret, b"{}")
    )
    tampered = e2e.post(
        body.replace(b"wrong secret", b"right secret"),
        signature=harness.signature_header(e2e.app_secret, body),
    )
    not_json = e2e.post(b'{"object": "whatsapp_business_account", "entry": [')
    not_json_unsigned = e2e.post(b"<xml/>", signature=None)
    big = e2e.payload(wa_id, "x" * (3 * 1024 * 1024), harness.new_wamid())
    too_big = e2e.post(big)

    assert [r.status for r in (wrong_secret, no_signature, other_body, tampered)] == [
        403
    ] * 4
    assert [not_json.status, not_json_unsigned.status] == [400, 400]
    assert len(big) > 3 * 1024 * 1024
    assert too_big.status == 413
    assert e2e.event_count() == before
    assert e2e.message_counts([wamid]) == {}
    assert conversations_of(e2e, phone.wa_id_key(wa_id)) == []


def test_subscription_handshake(e2e):
    """Meta's GET handshake echoes the challenge for the number's verify token
    only."""
    token = e2e.rpc.call(
        "whatsapp.account", "read", [e2e.account_id], fields=["verify_token"]
    )[0]["verify_token"]
    url = e2e.url + harness.WEBHOOK_PATH

    def get(params):
        return requests.get(url, params=params, timeout=30)

    good = get(
        {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "42"}
    )
    bad = get(
        {
            "hub.mode": "subscribe",
            "hub.verify_token": token + "x",
            "hub.challenge": "42",
        }
    )

    assert (good.status_code, good.text) == (200, "42")
    assert bad.status_code == 403
    assert "42" not in bad.text


def test_crash_mid_processing_loses_and_duplicates_nothing(e2e):
    """Kill the whole server (SIGKILL of its process group) while the cron is in
    the middle of a transaction and 30 events wait: after a restart every
    message is stored exactly once."""
    server = e2e.server
    customers = fresh_wa_ids(e2e, "us", "br", "us")
    first_customer = customers[0]
    before = e2e.last_event_id()

    # Some work is done and committed before the crash.
    early = [harness.new_wamid() for _ in range(10)]
    assert_posted(
        harness.post_all(
            e2e.url,
            [e2e.payload(first_customer, f"early {i}", w) for i, w in enumerate(early)],
            e2e.app_secret,
            4,
        )
    )
    wait_processed(e2e, before, 10, early)
    assert e2e.events_state(before) == {"done": 10}

    # Processing can no longer finish: the cron worker stops inside the
    # transaction of the first late event, the others wait behind it.
    late = [(customers[i % 3], harness.new_wamid()) for i in range(30)]
    with harness.inserts_blocked(e2e.settings, e2e.db, "whatsapp_message"):
        results = harness.post_all(
            e2e.url,
            [e2e.payload(c, f"late {w}", w) for c, w in late],
            e2e.app_secret,
            6,
        )
        assert_posted(results)
        wait_for_blocked(e2e, "relation", INSERT_MESSAGE)
        server.kill()
        assert not server.running

    # PostgreSQL rolls back the transactions of the killed processes.
    harness.wait_until(
        lambda: e2e.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
            " AND pid != pg_backend_pid()",
            [e2e.db],
        )
        == 0,
        30,
        what="the connections of the killed server to end",
    )
    late_wamids = [wamid for _customer, wamid in late]
    assert e2e.message_counts(late_wamids) == {}
    assert e2e.events_state(before) == {"done": 10, "pending": 30}

    server.start()
    waited = _wait_or_trigger(e2e, before, early + late_wamids)

    print(f"after the restart: {waited}")
    assert e2e.events_state(before) == {"done": 40}
    assert e2e.message_counts(early + late_wamids) == dict.fromkeys(
        early + late_wamids, 1
    )
    duplicates = e2e.sql(
        "SELECT wa_message_id FROM whatsapp_message WHERE wa_message_id = ANY(%s)"
        " GROUP BY wa_message_id HAVING count(*) > 1",
        [early + late_wamids],
    )
    assert duplicates == []
    for customer in customers:
        key = phone.wa_id_key(customer)
        assert len(conversations_of(e2e, key)) == 1, customer
        assert partners_with_key(e2e, key) == 1, customer
    assert messages_in_conversations_of(e2e, phone.wa_id_key(first_customer)) == 20
    for customer in customers[1:]:
        assert messages_in_conversations_of(e2e, phone.wa_id_key(customer)) == 10


NATURAL_PICKUP_WAIT = 10  # seconds given to the cron worker before triggering it


def _wait_or_trigger(e2e, before, wamids):
    """Let the restarted cron worker pick the pending events up by itself for
    a few seconds; then run the cron over XML-RPC, as an administrator would.
    Returns how it went, for the test output."""
    try:
        seconds = wait_processed(e2e, before, len(wamids), wamids, NATURAL_PICKUP_WAIT)
        return (
            f"the cron worker processed the pending events by itself in {seconds:.1f}s"
        )
    except TimeoutError:
        pass
    e2e.rpc.run_cron_now()
    seconds = wait_processed(e2e, before, len(wamids), wamids)
    return (
        f"nothing processed within {NATURAL_PICKUP_WAIT}s of the restart; after "
        f"ir.cron.method_direct_trigger everything was within {seconds:.1f}s"
    )


@pytest.fixture(autouse=True)
def _server_running(e2e):
    """A test that killed the server must not leave it down for the next."""
    yield
    if not e2e.server.running:
        e2e.server.start()


def showroom_id(e2e):
    return e2e.rpc.xmlid_to_res_id("whatsapp_team.crm_team_whatsapp_demo")


def test_demo_data_is_a_living_inbox(e2e):
    """The database is installed with demo data: a sandbox number with chats."""
    sandbox = e2e.sql(
        "SELECT id FROM whatsapp_account WHERE mode = 'sandbox' AND name = 'Sandbox'",
    )
    assert len(sandbox) == 1
    conversations = e2e.sql(
        "SELECT c.name, count(m.id) FROM whatsapp_conversation c"
        " JOIN whatsapp_message m ON m.conversation_id = c.id"
        " WHERE c.account_id = %s AND coalesce(c.wa_id, '') NOT LIKE %s"
        " GROUP BY c.name ORDER BY c.name",
        [sandbox[0][0], HISTORY_WA_IDS],
    )
    names = [name for name, _count in conversations]
    assert names == [
        "Ana Souza",
        "Jorge Pérez",
        "Li Wei",
        "Nina Keller",
        "Omar Haddad",
        "Paul Girard",
        "Sam",
    ]
    assert all(count >= 1 for _name, count in conversations)
    # a customer's edit and a deletion, through the webhook as Meta sends them
    changed = e2e.sql(
        "SELECT p.name, m.edited_at IS NOT NULL, m.revoked_at IS NOT NULL, m.body"
        " FROM whatsapp_message m"
        " JOIN whatsapp_conversation c ON c.id = m.conversation_id"
        " JOIN res_partner p ON p.id = c.partner_id"
        " WHERE m.account_id = %s"
        " AND (m.edited_at IS NOT NULL OR m.revoked_at IS NOT NULL)"
        " ORDER BY p.name",
        [sandbox[0][0]],
    )
    assert changed == [
        (
            "Jorge Pérez",
            True,
            False,
            "Buenas tardes, ¿hacen envíos a Monterrey y a Guadalajara?",
        ),
        ("Li Wei", False, True, None),
    ]
    templates = e2e.sql(
        "SELECT name FROM whatsapp_template"
        " WHERE account_id = %s AND status = 'approved' ORDER BY name",
        [sandbox[0][0]],
    )
    assert [row[0] for row in templates] == ["follow_up", "order_update"]


def test_demo_team_two_salespeople_and_their_manager(e2e):
    """The demo team: Mia and Leo see their own chats and the team's
    unassigned one, Marc sees them all; new chats are shared round-robin; a
    customer left waiting is escalated to Marc."""
    rpc = {
        login: harness.Rpc(e2e.url, e2e.db, login, login)
        for login in ("mia", "leo", "marc")
    }
    sandbox_id = e2e.scalar("SELECT id FROM whatsapp_account WHERE name = 'Sandbox'")

    def chats(login):
        # the chats in progress: the demo's rated chats are done
        rows = rpc[login].call(
            "whatsapp.conversation",
            "search_read",
            [
                ("account_id", "=", sandbox_id),
                ("state", "!=", "done"),
                ("wa_id", "not like", HISTORY_WA_IDS),
            ],
            fields=["name", "user_id"],
        )
        return {row["name"]: row["user_id"] and row["user_id"][1] for row in rows}

    everything = chats("marc")
    assert set(everything) == {"Ana Souza", "Jorge Pérez", "Li Wei", "Sam"}
    assignees = {name: user for name, user in everything.items() if user}
    assert sorted(assignees.values()) == [
        "Leo Salesperson",
        "Mia Salesperson",
        "Mia Salesperson",
    ], "round-robin while both were online"
    assert everything["Sam"] is False, "arrived while nobody was online"
    for login, name in (("mia", "Mia Salesperson"), ("leo", "Leo Salesperson")):
        seen = chats(login)
        assert set(seen) == {n for n, u in everything.items() if u in (name, False)}

    # both come online: the next customers are shared in turn
    user_ids = {login: rpc[login].uid for login in ("mia", "leo")}
    for uid in user_ids.values():
        # what the web client's presence updates do when they log in
        e2e.sql("UPDATE bus_presence SET status = 'online' WHERE user_id = %s", [uid])
    admin = e2e.rpc
    # the waiting chat goes to one of them at once
    admin.run_cron_now("whatsapp_team.ir_cron_conversation_upkeep")
    sam_login = e2e.scalar(
        "SELECT u.login FROM whatsapp_conversation c"
        " JOIN res_users u ON u.id = c.user_id WHERE c.name = 'Sam'"
    )
    assert sam_login == "leo", "Leo's turn: Mia had the last one"
    for index in range(4):
        wizard = admin.call(
            "whatsapp.sandbox.message",
            "create",
            {
                "account_id": sandbox_id,
                "customer_name": f"Walk-in {index}",
                "customer_phone": f"+34 612 00 20 {10 + index}",
                "body": "Hola, ¿tienen sofás?",
            },
        )
        admin.call("whatsapp.sandbox.message", "action_send", [wizard])
    walk_ins = e2e.sql(
        "SELECT c.name, u.login FROM whatsapp_conversation c"
        " JOIN res_users u ON u.id = c.user_id"
        " WHERE c.name LIKE 'Walk-in %%' ORDER BY c.id"
    )
    logins = [login for _name, login in walk_ins]
    assert logins == ["mia", "leo", "mia", "leo"]

    # Ana wrote an hour ago and nobody answered: Marc, the team leader, is
    # told in his Odoo inbox, once, in a summary of the team's late chats
    ana = e2e.scalar("SELECT id FROM whatsapp_conversation WHERE name = 'Ana Souza'")
    admin.run_cron_now("whatsapp_team.ir_cron_conversation_upkeep")
    marc_partner = e2e.scalar("SELECT partner_id FROM res_users WHERE login = 'marc'")
    told = e2e.sql(
        "SELECT n.notification_type FROM mail_notification n"
        " JOIN mail_message m ON m.id = n.mail_message_id"
        " WHERE m.model = 'crm.team' AND m.res_id = %s"
        "   AND n.res_partner_id = %s AND m.body LIKE %s",
        [showroom_id(e2e), marc_partner, f'%data-oe-id="{ana}"%'],
    )
    assert told == [("inbox",)]
    on_the_chat = e2e.scalar(
        "SELECT count(*) FROM mail_notification n"
        " JOIN mail_message m ON m.id = n.mail_message_id"
        " WHERE m.model = 'whatsapp.conversation' AND m.res_id = %s"
        "   AND n.res_partner_id = %s",
        [ana, marc_partner],
    )
    assert on_the_chat == 0, "the chat keeps a discreet line only"
    assert e2e.scalar(
        "SELECT escalated_at IS NOT NULL FROM whatsapp_conversation WHERE id = %s",
        [ana],
    )


def test_demo_ratings_bad_one_is_marcs_activity(e2e):
    """The demo's customers rated their done chats: Paul's bad rating of
    Leo's chat is Marc's "Unhappy customer" activity, and the satisfaction
    report shows Marc each salesperson's ratings; Mia sees only hers."""
    marc, mia = (harness.Rpc(e2e.url, e2e.db, name, name) for name in ("marc", "mia"))
    activities = marc.call(
        "mail.activity",
        "search_read",
        [("user_id", "=", marc.uid), ("res_model", "=", "whatsapp.conversation")],
        fields=["res_name", "activity_type_id", "note"],
    )
    unhappy = [a for a in activities if a["activity_type_id"][1] == "Unhappy customer"]
    assert [a["res_name"] for a in unhappy] == ["Paul Girard"]
    report = [("res_model", "=", "whatsapp.conversation"), ("consumed", "=", True)]
    by_salesperson = {
        group["rated_partner_id"][1]: (group["rated_partner_id_count"], group["rating"])
        for group in marc.call(
            "rating.rating",
            "read_group",
            report,
            ["rating:avg"],
            ["rated_partner_id"],
        )
    }
    assert by_salesperson == {"Leo Salesperson": (2, 3.0), "Mia Salesperson": (1, 5.0)}
    bad = report + [("rating", "=", 1)]
    feedback = marc.call("rating.rating", "search_read", bad, fields=["feedback"])
    assert [r["feedback"] for r in feedback] == [
        "I waited two days for the price list."
    ]
    seen_by_mia = mia.call("rating.rating", "search_read", report, fields=["res_name"])
    assert [r["res_name"] for r in seen_by_mia] == ["Nina Keller"]


def test_demo_quick_replies_shared_and_own(e2e):
    """The demo's quick replies are there for every WhatsApp user; each
    salesperson keeps their own besides, which colleagues do not see."""
    mia, leo = (harness.Rpc(e2e.url, e2e.db, login, login) for login in ("mia", "leo"))

    def shortcuts(rpc):
        rows = rpc.call("mail.canned.response", "search_read", [], fields=["source"])
        return {row["source"] for row in rows}

    shared = {"hello", "hours", "quote"}
    assert shared <= shortcuts(mia)
    assert shared <= shortcuts(leo)
    mia.call(
        "mail.canned.response",
        "create",
        {"source": "mia-sign", "substitution": "Mia, Showroom"},
    )
    assert "mia-sign" in shortcuts(mia)
    assert "mia-sign" not in shortcuts(leo)


def test_demo_night_customer_lead_label_and_stop(e2e):
    """A new customer writes at night: the away message once, a lead in the
    team with the WhatsApp source, a label that is a tag on the lead, and
    STOP blacklists the number."""
    admin = e2e.rpc
    sandbox_id = e2e.scalar("SELECT id FROM whatsapp_account WHERE name = 'Sandbox'")
    # night: business hours with no working time at all
    closed = admin.call(
        "resource.calendar", "create", {"name": "Night", "attendance_ids": [(5, 0, 0)]}
    )
    admin.call("whatsapp.account", "write", [sandbox_id], {"business_hours_id": closed})

    def customer_writes(body):
        wizard = admin.call(
            "whatsapp.sandbox.message",
            "create",
            {
                "account_id": sandbox_id,
                "customer_name": "Nora Night",
                "customer_phone": "+34 699 00 11 22",
                "body": body,
            },
        )
        admin.call("whatsapp.sandbox.message", "action_send", [wizard])

    customer_writes("Hola, ¿abren mañana?")
    customer_writes("¿Y el sábado?")
    chat = e2e.sql(
        "SELECT id, lead_id, team_id FROM whatsapp_conversation"
        " WHERE name = 'Nora Night'"
    )
    assert len(chat) == 1
    chat_id, lead_id, team_id = chat[0]
    away = e2e.scalar(
        "SELECT count(*) FROM whatsapp_message"
        " WHERE conversation_id = %s AND direction = 'out' AND body LIKE %s",
        [chat_id, "%closed right now%"],
    )
    assert away == 1, "the away message, once"

    assert lead_id, "a lead for the new customer"
    lead = e2e.sql(
        "SELECT l.team_id, s.name, m.name FROM crm_lead l"
        " JOIN utm_source s ON s.id = l.source_id"
        " JOIN utm_medium m ON m.id = l.medium_id"
        " WHERE l.id = %s",
        [lead_id],
    )[0]
    showroom = admin.xmlid_to_res_id("whatsapp_team.crm_team_whatsapp_demo")
    assert (team_id, lead[0]) == (showroom, showroom)
    assert "WhatsApp" in str(lead[1]) and "WhatsApp" in str(lead[2])

    vip = admin.xmlid_to_res_id("whatsapp_team.whatsapp_label_vip_demo")
    admin.call("whatsapp.conversation", "write", [chat_id], {"label_ids": [(4, vip)]})
    tags = admin.call("crm.lead", "read", [lead_id], ["tag_ids"])[0]["tag_ids"]
    vip_tag = admin.call("whatsapp.label", "read", [vip], ["tag_id"])[0]["tag_id"][0]
    assert vip_tag in tags

    customer_writes("STOP")
    assert (
        e2e.scalar(
            "SELECT count(*) FROM phone_blacklist"
            " WHERE number = '+34699001122' AND active"
        )
        == 1
    )
