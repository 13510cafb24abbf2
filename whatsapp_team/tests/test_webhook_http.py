import json
import select
import time
from datetime import timedelta, timezone

import psycopg2
from freezegun import freeze_time

from odoo import fields, sql_db
from odoo.sql_db import connection_info_for
from odoo.tests import tagged

from ..tools import pg_notify, signature
from .common import APP_SECRET, WhatsappCase


@tagged("post_install", "-at_install", "whatsapp_webhook")
class TestWebhookHttp(WhatsappCase):
    def test_handshake_echoes_challenge_for_our_token(self):
        token = self.account.verify_token
        response = self.url_open(
            f"/whatsapp/webhook?hub.mode=subscribe&hub.verify_token={token}"
            "&hub.challenge=1158201444"
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.text, "1158201444")

    def test_handshake_refuses_wrong_token_or_mode(self):
        token = self.account.verify_token
        for query in (
            "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
            f"hub.mode=unsubscribe&hub.verify_token={token}&hub.challenge=1",
            "hub.mode=subscribe&hub.challenge=1",
        ):
            response = self.url_open(f"/whatsapp/webhook?{query}")
            self.assertEqual(response.status_code, 403, query)
            self.assertNotIn("1", response.text)

    def test_signed_message_creates_conversation_partner_and_chatter(self):
        partner = self.env["res.partner"].create(
            {"name": "Marie Dubois", "mobile": "0470 12 34 56"}
        )
        # written two hours ago, delivered now: the chat shows when it was written
        written = int(time.time()) - 7200
        message, contact = self.message(
            "32470123456", body="Bonjour *Odoo*", name="Marie", timestamp=written
        )
        response = self.post_webhook(self.payload([(message, contact)]))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.text, "OK")
        event = self.events()
        self.assertEqual(len(event), 1)
        self.assertEqual(
            event.state, "pending", "stored first, processed off the request"
        )
        self.assertEqual(
            json.loads(event.payload)["entry"][0]["changes"][0]["value"]["messages"][0][
                "id"
            ],
            message["id"],
        )
        trigger = self.env["ir.cron.trigger"].search(
            [
                (
                    "cron_id",
                    "=",
                    self.env.ref("whatsapp_team.ir_cron_process_webhook_events").id,
                )
            ]
        )
        self.assertTrue(trigger, "the processing cron is triggered at once")

        self.process()
        self.assertEqual(event.state, "done")
        conversation = self.env["whatsapp.conversation"].search(
            [("account_id", "=", self.account.id)]
        )
        self.assertEqual(len(conversation), 1)
        self.assertEqual(conversation.partner_id, partner)
        self.assertEqual(conversation.phone, "+32 470 12 34 56")
        wa_message = conversation.message_ids_wa
        self.assertEqual(wa_message.wa_message_id, message["id"])
        self.assertEqual(wa_message.direction, "in")
        chatter = wa_message.mail_message_id
        self.assertEqual(chatter.author_id, partner)
        self.assertEqual(chatter.model, "whatsapp.conversation")
        self.assertEqual(chatter.res_id, conversation.id)
        self.assertIn("<b>Odoo</b>", chatter.body)
        self.assertEqual(chatter.date, wa_message.wa_timestamp)
        self.assertEqual(
            int(wa_message.wa_timestamp.replace(tzinfo=timezone.utc).timestamp()),
            written,
        )
        self.assertEqual(conversation.last_inbound_at, wa_message.wa_timestamp)
        self.assertEqual(
            conversation.window_expires_at,
            wa_message.wa_timestamp + timedelta(hours=24),
        )
        self.assertFalse(
            conversation.message_partner_ids & partner,
            "the customer is never a follower",
        )

    def test_bad_or_missing_signature_is_refused_and_leaves_no_trace(self):
        message, contact = self.message("32470999999", body="intrusion")
        body = json.dumps(self.payload([(message, contact)])).encode()
        for header in (
            None,
            "",
            signature.sign("another-secret", body),
            signature.sign(APP_SECRET, body + b" "),
            "sha1=" + signature.sign(APP_SECRET, body)[7:],
            "garbage",
        ):
            response = self.post_webhook(body, secret=None, header=header)
            self.assertEqual(response.status_code, 403, header)
        self.assertFalse(self.events())
        self.process()
        self.assertFalse(
            self.env["whatsapp.message"].search([("wa_message_id", "=", message["id"])])
        )
        self.assertFalse(
            self.env["res.partner"].search(
                [("whatsapp_mobile_key", "=", "32470999999")]
            )
        )

    def test_a_webhook_is_one_write_and_looks_up_no_user(self):
        # Meta is no user: its signature is its credential. The request reads
        # nothing of the database for a user (Odoo's public user is one query
        # a call), and stores the body and wakes the processors in one
        # statement; the handshake reads the numbers as superuser
        message, contact = self.message("32470777777", body="Hello")
        body = json.dumps(self.payload([(message, contact)])).encode()
        self.post_webhook(body)  # Odoo's routing and caches warmed
        handshake = (
            "/whatsapp/webhook?hub.mode=subscribe&hub.verify_token="
            f"{self.account.verify_token}&hub.challenge=5"
        )
        for method, call in (
            ("POST", lambda: self.post_webhook(body)),
            ("GET", lambda: self.url_open(handshake)),
        ):
            before = sql_db.sql_counter
            self.assertEqual(call().status_code, 200, method)
            self.assertEqual(sql_db.sql_counter - before, 1, method)
        events = self.events()
        self.assertEqual(len(events), 2, "both deliveries stored")
        self.assertEqual(events.create_uid, self.env.ref("base.user_root"))

    def test_malformed_body_is_400_and_not_stored(self):
        for body in (
            b"{not json",
            b" ",
            b"[1, 2]",
            b'{"object": "page", "entry": []}',
            "é".encode("latin-1"),
            '{"object": "whatsapp_business_account", "entry": []}'.encode("utf-16"),
        ):
            response = self.post_webhook(body)
            self.assertEqual(response.status_code, 400, body)
        self.assertFalse(self.events())

    def test_deeply_nested_json_is_400_and_not_stored(self):
        deep_text = 0
        for _level in range(200):
            deep_text = {"body": deep_text}
        message, contact = self.message(text=deep_text)
        for body in (
            b"[" * 100000 + b"]" * 100000,
            b'{"a": ' * 100000 + b"1" + b"}" * 100000,
            # a webhook's shape, with a message nested deeper than Meta's
            json.dumps(self.payload([(message, contact)])).encode(),
        ):
            response = self.post_webhook(body)
            self.assertEqual(response.status_code, 400, body[:20])
            self.assertNotIn("Traceback", response.text)
        self.assertFalse(self.events())

    def test_only_post_stores_an_event(self):
        message, contact = self.message("32470123470", body="not posted")
        body = json.dumps(self.payload([(message, contact)])).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature.sign(APP_SECRET, body),
        }
        url = self.base_url() + "/whatsapp/webhook"
        # HEAD is a GET without the answer's body: the handshake, never a store
        head = self.opener.head(url, data=body, headers=headers, timeout=12)
        self.assertEqual(head.status_code, 403)
        self.assertFalse(head.content)
        token = self.account.verify_token
        head = self.opener.head(
            f"{url}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=7",
            data=body,
            headers=headers,
            timeout=12,
        )
        self.assertEqual(head.status_code, 200)
        for method in ("OPTIONS", "PUT", "PATCH", "DELETE"):
            response = self.opener.request(
                method, url, data=body, headers=headers, timeout=12
            )
            self.assertEqual(response.status_code, 405, method)
            allowed = {m.strip() for m in response.headers["Allow"].split(",")}
            self.assertLessEqual({"GET", "POST"}, allowed, method)
        self.assertFalse(self.events())
        self.process()
        self.assertFalse(
            self.env["whatsapp.message"].search([("wa_message_id", "=", message["id"])])
        )

    def test_body_over_3_mb_is_413(self):
        message, contact = self.message(body="x" * (3 * 1024 * 1024 + 10))
        response = self.post_webhook(self.payload([(message, contact)]))
        self.assertEqual(response.status_code, 413)
        self.assertFalse(self.events())

    def test_same_message_delivered_twice_is_stored_once(self):
        message, contact = self.message("32470123457", body="only once")
        payload = self.payload([(message, contact)])
        for _attempt in range(3):
            self.assertEqual(self.post_webhook(payload).status_code, 200)
        self.process()
        self.assertEqual(len(self.events()), 3, "each delivery is kept")
        self.assertEqual(set(self.events().mapped("state")), {"done"})
        stored = self.env["whatsapp.message"].search(
            [("wa_message_id", "=", message["id"])]
        )
        self.assertEqual(len(stored), 1)
        self.assertEqual(
            self.env["mail.message"].search_count(
                [
                    ("model", "=", "whatsapp.conversation"),
                    ("res_id", "=", stored.conversation_id.id),
                    ("message_type", "=", "comment"),
                ]
            ),
            1,
        )

    def test_several_messages_in_one_body(self):
        first = self.message("32470000001", body="one", name="One")
        second = self.message("32470000002", body="two", name="Two")
        third = self.message("32470000001", body="three", name="One")
        records = self.deliver(first, second, third)
        self.assertEqual(len(records), 3)
        self.assertEqual(len(records.conversation_id), 2)

    def test_failed_processing_keeps_the_event_and_retries_it(self):
        # A message naming no sender cannot be given a chat: the event stays
        # pending with its error, and is retried later by the cron with a delay.
        message, contact = self.message(wa_id=None, body="broken")
        now = fields.Datetime.now()
        with freeze_time(now):
            self.assertEqual(
                self.post_webhook(self.payload([(message, contact)])).status_code, 200
            )
            self.process()
        event = self.events()
        self.assertEqual(event.state, "pending")
        self.assertEqual(event.attempts, 1)
        self.assertIn("without a sender identity", event.error)
        self.assertGreater(event.next_attempt_at, now)
        with freeze_time(now + timedelta(seconds=30)):
            self.process()
        self.assertEqual(event.attempts, 1, "not retried before its delay")
        with freeze_time(now + timedelta(minutes=3)):
            self.process()
        self.assertEqual(event.attempts, 2)
        # after the last attempt it is marked failed for an administrator
        event.attempts = 9
        with freeze_time(now + timedelta(days=3)):
            self.process()
        self.assertEqual(event.state, "failed")
        self.assertIn("without a sender identity", event.error)

    def test_unreadable_payload_fails_at_once(self):
        # A message without an id can never be stored: retrying it for a day
        # and a half would only delay telling an administrator.
        message, contact = self.message("32470123458", body="broken")
        del message["id"]
        self.assertEqual(
            self.post_webhook(self.payload([(message, contact)])).status_code, 200
        )
        self.process()
        event = self.events()
        self.assertEqual((event.state, event.attempts), ("failed", 1))
        self.assertIn("PayloadError", event.error)
        self.assertIn("message id", event.error)
        self.assertFalse(event.next_attempt_at)
        # an administrator may still queue it again: it fails again at once
        event.action_process()
        self.assertEqual(event.state, "pending")
        self.process()
        self.assertEqual((event.state, event.attempts), ("failed", 2))

    def test_processors_are_the_active_crons_running_the_processing(self):
        """An administrator adds a processor by duplicating one (Settings >
        Technical > Scheduled Actions) and removes one by archiving it."""
        Event = self.env["whatsapp.webhook.event"]
        first = self.env.ref("whatsapp_team.ir_cron_process_webhook_events")
        second = self.env.ref("whatsapp_team.ir_cron_process_webhook_events_2")
        third = self.env.ref("whatsapp_team.ir_cron_process_webhook_events_3")
        fourth = self.env.ref("whatsapp_team.ir_cron_process_webhook_events_4")
        added = first.copy({"cron_name": "WhatsApp: processor 5"})
        third.active = False
        other = self.env.ref("whatsapp_team.ir_cron_fetch_media")
        Trigger = self.env["ir.cron.trigger"]
        Trigger.search([]).unlink()
        Event._wake_processors()
        self.assertEqual(
            Trigger.search([]).cron_id, second | fourth | added, "the webhook woke 1"
        )
        Trigger.search([]).unlink()
        Event._wake_processors(others=False)
        self.assertEqual(Trigger.search([]).cron_id, first | second | fourth | added)
        self.assertNotIn(other, Trigger.search([]).cron_id)

    def test_the_processors_are_woken_on_a_connection_kept_for_it(self):
        """Each webhook wakes the cron workers as Odoo does (a notification
        on the ``postgres`` database), without a new connection each time;
        one the server closed is opened again."""
        _name, info = connection_info_for("postgres")
        listener = psycopg2.connect(**info)
        listener.autocommit = True
        dbname = self.env.cr.dbname
        try:
            with listener.cursor() as cursor:
                cursor.execute("LISTEN cron_trigger")
            self.env["whatsapp.webhook.event"]._notify_processors()
            self.env["whatsapp.webhook.event"]._notify_processors()  # once
            self.env.cr.postcommit.run()
            kept = pg_notify._kept["connection"]
            pg_notify.notify_cron_workers(dbname)
            self.assertIs(pg_notify._kept["connection"], kept, "kept")
            with listener.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(%s)", [kept.get_backend_pid()]
                )
            pg_notify.notify_cron_workers(dbname)
            self.assertIsNot(pg_notify._kept["connection"], kept, "opened again")
            payloads = []
            deadline = time.monotonic() + 10
            while len(payloads) < 3 and time.monotonic() < deadline:
                select.select([listener], [], [], 1)
                listener.poll()
                payloads += [note.payload for note in listener.notifies]
                listener.notifies.clear()
            self.assertEqual(payloads, [dbname] * 3)
        finally:
            listener.close()

    def test_a_processor_looks_further_when_the_oldest_customers_are_busy(self):
        """The processor looks at the oldest few events first, and further
        when another processor holds all of their customers."""
        Event = self.env["whatsapp.webhook.event"]
        Event.search([("state", "=", "pending")]).write({"state": "done"})
        busy = [
            Event._insert_and_wake(self.account.id, "{}", "", [71]) for _i in range(9)
        ]
        free = Event._insert_and_wake(self.account.id, "{}", "", [72])
        with self.other_connection() as other:
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(71)")
                cursor.execute("SELECT pg_advisory_xact_lock(-9223372036854775807)")
            self.assertEqual(
                Event._customers_held_by_others(), {71, -9223372036854775807}
            )
            self.assertEqual(Event._take(1), ([free], True))
        self.assertEqual(Event._pending(1), [(busy[0], [71])])

    def test_the_processors_look_reads_the_pending_events_index(self):
        """Whatever the number of events done, the look for the oldest
        pending ones reads them in order from an index of its own."""
        cr = self.env.cr
        cr.execute("SET LOCAL enable_seqscan = off")
        cr.execute("SET LOCAL enable_bitmapscan = off")
        try:
            cr.execute(
                """
                EXPLAIN SELECT id, lock_keys FROM whatsapp_webhook_event
                 WHERE state = 'pending'
                   AND (next_attempt_at IS NULL OR next_attempt_at <= now())
                 ORDER BY id LIMIT 100
                """
            )
            plan = "\n".join(row[0] for row in cr.fetchall())
        finally:
            cr.execute("RESET enable_seqscan")
            cr.execute("RESET enable_bitmapscan")
        self.assertIn("whatsapp_webhook_event_pending_index", plan)

    def test_failure_in_one_event_does_not_block_others(self):
        broken = self.message(wa_id=None, body="broken")
        self.post_webhook(self.payload([broken]))
        good = self.message("32470123460", body="fine")
        self.post_webhook(self.payload([good]))
        self.process()
        self.assertEqual(sorted(self.events().mapped("state")), ["done", "pending"])
        self.assertTrue(
            self.env["whatsapp.message"].search([("wa_message_id", "=", good[0]["id"])])
        )

    def test_events_taken_together_are_done_once_and_a_failure_undoes_none(self):
        """A processor takes several events at once and processes them in
        one savepoint. When one fails, it processes each again on its own:
        the others are stored once, announced once, and the failure waits
        for its retry with its error."""
        Event = self.env["whatsapp.webhook.event"]
        Bus = self.env["bus.bus"].sudo()
        chats = self.env["whatsapp.conversation"]
        # one processor: it takes every event waiting
        for number in (2, 3, 4):
            self.env.ref(
                f"whatsapp_team.ir_cron_process_webhook_events_{number}"
            ).active = False
        self.env.cr.flush()
        before = Bus.search_count([])
        for wa_id in ("32470123470", "32470123471"):
            self.post_webhook(self.payload([self.message(wa_id, body="alone")]))
        self.assertEqual(Event._processor_count(), 1)
        taken, waiting = Event._take(25, processors=2)
        self.assertEqual((len(taken), waiting), (1, True), "the share of one of 2")
        taken, waiting = Event._take(25, processors=1)
        self.assertEqual((len(taken), waiting), (2, False), "taken together")
        self.assertEqual(self.process(), 2)
        self.env.cr.flush()
        sent_for_two = Bus.search_count([]) - before

        first = self.message("32470123472", body="first")
        second = self.message("32470123473", body="second")
        for message in (first, self.message(wa_id=None, body="broken"), second):
            self.post_webhook(self.payload([message]))
        pending = Event.search([("state", "=", "pending")], order="id")
        self.assertEqual(len(Event._take(25, processors=1)[0]), 3, "together")
        before = Bus.search_count([])
        self.assertEqual(self.process(), 3)
        self.env.cr.flush()
        self.assertEqual(pending.mapped("state"), ["done", "pending", "done"])
        self.assertIn("without a sender identity", pending[1].error)
        for message, _contact in (first, second):
            stored = self.env["whatsapp.message"].search(
                [("wa_message_id", "=", message["id"])]
            )
            self.assertEqual(len(stored), 1)
            chat = stored.conversation_id
            chats |= chat
            self.assertEqual(
                chat.message_ids.filtered(lambda m: m.message_type == "comment"),
                stored.mail_message_id,
                "in the chat once",
            )
        self.assertEqual(chats.mapped("unread_count"), [1, 1])
        self.assertEqual(
            Bus.search_count([]) - before, sent_for_two, "nothing announced twice"
        )

    def test_one_customers_events_taken_together_keep_their_order(self):
        """Several events of one customer may be taken at once: they are
        processed in the order they came; one passed over (its customer
        held elsewhere) holds back every later one of that customer."""
        Event = self.env["whatsapp.webhook.event"]
        Event.search([("state", "=", "pending")]).write({"state": "done"})
        insert = Event._insert_and_wake
        first, second = insert(self.account.id, "{}", "", [81]), None
        held = insert(self.account.id, "{}", "", [82])
        second = insert(self.account.id, "{}", "", [81])
        after_held = insert(self.account.id, "{}", "", [82, 83])
        alone = insert(self.account.id, "{}", "", [83])
        with self.other_connection() as other:
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(82)")
            taken, waiting = Event._take(25, processors=1)
        self.assertEqual(taken, [first, second], "83 waits behind 82's event")
        self.assertTrue(waiting)
        self.assertNotIn(held, taken)
        self.assertNotIn(after_held, taken)
        self.assertNotIn(alone, taken)

    def test_a_processor_keeps_no_lock_of_a_customer_it_passes_over(self):
        """A body of two customers (a number and a user id), one of them
        held by another processor: passed over, without keeping the other
        customer's lock (two processors each keeping one would pass it over
        for as long as both work)."""
        Event = self.env["whatsapp.webhook.event"]
        Event.search([("state", "=", "pending")]).write({"state": "done"})
        both = Event._insert_and_wake(self.account.id, "{}", "", [91, 92])
        free = Event._insert_and_wake(self.account.id, "{}", "", [93])
        with self.other_connection() as other:
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(91)")
                self.assertEqual(Event._take(25, processors=1), ([free], True))
                self.assertNotIn(both, Event._take(25, processors=1)[0])
                cursor.execute("SELECT pg_try_advisory_xact_lock(92)")
                self.assertTrue(cursor.fetchone()[0], "92 was let go")

    def test_under_test_a_run_goes_past_a_batch(self):
        """Nothing commits under test: a processor's run goes on past the
        25 events of a commit, up to its limit."""
        Event = self.env["whatsapp.webhook.event"]
        Event.search([("state", "=", "pending")]).write({"state": "done"})
        for _number in range(30):
            Event._insert_and_wake(self.account.id, "{}", "", [])
        self.assertEqual(Event._cron_process(), 30)
        self.assertFalse(Event.search([("state", "=", "pending")]))

    def test_message_for_a_number_not_configured_yet_is_kept(self):
        message, contact = self.message("32470123461", body="late number")
        payload = self.payload([(message, contact)])
        payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = (
            "999"
        )
        # signed by our Meta app for a number we do not know yet: kept
        self.assertEqual(self.post_webhook(payload).status_code, 200)
        self.process()
        event = self.events()
        self.assertEqual((event.state, event.attempts), ("pending", 1))
        self.assertIn("999 is not configured", event.error)
        # the administrator adds the number and processes the event now
        self.account.phone_number_id = "999"
        action = event.action_process()
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(event.state, "pending", "the cron does the work")
        self.process()
        self.assertEqual((event.state, event.message_count), ("done", 1))
        self.assertTrue(
            self.env["whatsapp.message"].search([("wa_message_id", "=", message["id"])])
        )

    def test_numbers_sharing_a_business_account_each_get_their_chats(self):
        other = self.env["whatsapp.account"].create(
            {
                "name": "Support",
                "phone_number_id": "106540352242999",
                "business_account_id": self.account.business_account_id,
                "app_secret": "support-secret",
                "access_token": "x",
                "graph_base_url": self.graph_server.url,
            }
        )
        message, contact = self.message("32470123462", body="to support")
        payload = self.payload([(message, contact)], account=other)
        self.assertEqual(
            self.post_webhook(payload).status_code,
            403,
            "signed with the other app secret",
        )
        self.assertEqual(
            self.post_webhook(payload, secret="support-secret").status_code, 200
        )
        self.process()
        stored = self.env["whatsapp.message"].search(
            [("wa_message_id", "=", message["id"])]
        )
        self.assertEqual(stored.account_id, other)
