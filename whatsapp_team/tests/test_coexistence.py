"""A number shared with the WhatsApp Business app (Meta's "coexistence"):
what the business sends from the app, the app's chat history and its
contacts, over the real webhook.

The bodies follow the syntax of Meta's webhook references
"smb_message_echoes", "history" and "smb_app_state_sync"
(developers.facebook.com, WhatsApp Business Platform > Webhooks >
Reference), with made-up values."""

import json
import time
from collections import deque
from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from ..models import whatsapp_message, whatsapp_webhook_event_coexistence
from .common import WhatsappCase
from .test_inbound_types import PNG

BUSINESS = "15550100100"
# a timestamp no date can hold: storing the message raises, every time
OUT_OF_RANGE = 99999999999999
_app_wamids = iter(range(1, 10**6))


class CoexistenceCase(WhatsappCase):
    """Helpers building the bodies Meta sends for a number shared with the
    WhatsApp Business app."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.app_partner = cls.env.ref("whatsapp_team.res_partner_whatsapp_business_app")

    # ------------------------------------------------------------
    # Meta's bodies
    # ------------------------------------------------------------

    @staticmethod
    def app_wamid():
        return f"wamid.APP{next(_app_wamids):06d}{int(time.time() * 1000)}"

    def app_body(self, field, key, items, account=None):
        account = account or self.account
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": account.business_account_id,
                    "changes": [
                        {
                            "field": field,
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": BUSINESS,
                                    "phone_number_id": account.phone_number_id,
                                },
                                key: items,
                            },
                        }
                    ],
                }
            ],
        }

    def echo(self, to="32470123456", body="On my way!", kind="text", **fields):
        """A message the business sent from the WhatsApp Business app."""
        raw = {
            "from": BUSINESS,
            "to": to,
            "id": fields.pop("wamid", None) or self.app_wamid(),
            "timestamp": str(fields.pop("timestamp", int(time.time()))),
            "type": kind,
        }
        if kind == "text":
            raw["text"] = {"body": body}
        raw.update(fields)
        return raw

    def history_message(
        self, customer, body="", from_business=False, kind="text", **fields
    ):
        raw = {
            "from": BUSINESS if from_business else customer,
            "id": fields.pop("wamid", None) or self.app_wamid(),
            "timestamp": str(fields.pop("timestamp", int(time.time()))),
            "type": kind,
            "history_context": {"status": fields.pop("status", "READ")},
        }
        if from_business:
            raw["to"] = customer
        if kind == "text":
            raw["text"] = {"body": body or raw["id"]}
        raw.update(fields)
        return raw

    @staticmethod
    def chunk(threads=None, phase=0, chunk_order=1, progress=50, errors=None):
        chunk = {
            "metadata": {
                "phase": phase,
                "chunk_order": chunk_order,
                "progress": progress,
            }
        }
        if threads is not None:
            chunk["threads"] = [
                {"id": customer, "messages": messages}
                for customer, messages in threads.items()
            ]
        if errors is not None:
            chunk["errors"] = errors
        return chunk

    def post(self, body):
        response = self.post_webhook(body)
        self.assertEqual(response.status_code, 200, response.text)
        self.process()

    def send_echoes(self, *echoes):
        self.post(self.app_body("smb_message_echoes", "message_echoes", list(echoes)))
        ids = [echo["id"] for echo in echoes]
        return self.env["whatsapp.message"].search([("wa_message_id", "in", ids)])

    def send_history(self, *chunks):
        self.post(self.app_body("history", "history", list(chunks)))

    def send_contacts(self, *contacts, action="add"):
        items = [
            {
                "type": "contact",
                "contact": {
                    "full_name": name,
                    "first_name": name.split(" ")[0],
                    "phone_number": number,
                }
                if action == "add"
                else {"phone_number": number},
                "action": action,
                "metadata": {"timestamp": str(int(time.time()))},
            }
            for name, number in contacts
        ]
        self.post(self.app_body("smb_app_state_sync", "state_sync", items))

    def stored(self, *raws):
        ids = [raw["id"] for raw in raws]
        return self.env["whatsapp.message"].search([("wa_message_id", "in", ids)])

    def inbox_notifications(self, chat):
        return self.env["mail.notification"].search(
            [
                ("mail_message_id.model", "=", "whatsapp.conversation"),
                ("mail_message_id.res_id", "=", chat.id),
                ("notification_type", "=", "inbox"),
            ]
        )

    def comments(self, chat):
        return self.env["mail.message"].search(
            [
                ("model", "=", "whatsapp.conversation"),
                ("res_id", "=", chat.id),
                ("message_type", "=", "comment"),
            ],
            order="id",
        )

    def assigned_chat(self, wa_id="32470123456", **kwargs):
        """A customer writes; the chat is the allowed salesperson's, with a
        reply activity waiting."""
        message = self.deliver(self.message(wa_id, **kwargs))
        chat = message.conversation_id
        chat.user_id = self.user_allowed
        self.assertTrue(chat.waiting_since)
        self.assertTrue(chat._reply_activities_sudo())
        return chat


@tagged("post_install", "-at_install", "whatsapp_coexistence")
class TestCoexistence(CoexistenceCase):
    # ------------------------------------------------------------
    # Echoes: what the business sends from the app
    # ------------------------------------------------------------

    def test_an_echo_joins_the_chat_as_the_apps_answer(self):
        chat = self.assigned_chat(body="Is it in stock?")
        self.assertEqual(chat.unread_count, 1)
        window = chat.window_expires_at
        last_inbound = chat.last_inbound_at
        raw = self.echo(body="Yes, *two* left!", timestamp=int(time.time()) + 5)
        message = self.send_echoes(raw)
        self.assertEqual(len(message), 1)
        self.assertEqual(message.conversation_id, chat)
        self.assertEqual(
            (message.direction, message.state, message.app_origin),
            ("out", "sent", "echo"),
        )
        self.assertEqual(message.body, "Yes, *two* left!")
        self.assertFalse(message.author_user_id, "no salesperson wrote it")
        # shown in the chat as the app's, with its ticks, at its time
        post = message.mail_message_id
        self.assertEqual(post.author_id, self.app_partner)
        self.assertEqual(post.subtype_id, self.env.ref("mail.mt_comment"))
        self.assertIn("<b>two</b>", post.body)
        self.assertEqual(post.date, message.wa_timestamp)
        self.assertEqual(
            post.notification_ids.filtered(
                lambda n: n.notification_type == "whatsapp"
            ).whatsapp_state,
            "sent",
        )
        self.assertEqual(len(self.inbox_notifications(chat)), 1, "the customer's only")
        # the team's answer: nothing waits, nothing is unread; nobody in
        # Odoo answered, so the chat stays with its salesperson
        self.assertFalse(chat.waiting_since)
        self.assertFalse(chat.reply_deadline)
        self.assertFalse(chat._reply_activities_sudo())
        self.assertEqual(chat.unread_count, 0)
        self.assertEqual(chat.user_id, self.user_allowed)
        # the customer's window is theirs alone
        self.assertEqual(chat.last_inbound_at, last_inbound)
        self.assertEqual(chat.window_expires_at, window)
        # the inbox's row shows it
        self.assertEqual(chat.last_wa_message_id, message)
        self.assertEqual(chat.last_message_at, message.wa_timestamp)
        preview = chat._inbox_row()["preview"]
        self.assertEqual(
            (preview["body"], preview["direction"], preview["author"]),
            ("Yes, *two* left!", "out", "business_app"),
        )
        # never sent again through the API
        self.env["whatsapp.message"]._cron_send_queue()
        self.assertEqual(self.graph.messages, [])
        self.assertEqual(message.state, "sent")
        # Meta sends the app's messages for this number: it is shared with it
        self.assertTrue(self.account.coexistence)

    def test_an_echo_neither_opens_nor_extends_the_window(self):
        start = fields.Datetime.now()
        with freeze_time(start):
            chat = self.deliver(self.message("32470123457")).conversation_id
        with freeze_time(start + timedelta(hours=23)):
            self.send_echoes(self.echo("32470123457", "Still there?"))
            self.assertEqual(chat.window_expires_at, start + timedelta(hours=24))
            self.assertTrue(chat._is_window_open())
        with freeze_time(start + timedelta(hours=25)):
            self.assertFalse(chat._is_window_open())
            with self.assertRaises(UserError):
                chat.with_user(self.user_allowed).message_post(
                    body="Hello?",
                    message_type="comment",
                    subtype_xmlid="mail.mt_comment",
                )
        # a chat the business started from the app has no window at all
        started = self.send_echoes(self.echo("32470123458", "Your order is ready"))
        new_chat = started.conversation_id
        self.assertFalse(new_chat.last_inbound_at)
        self.assertFalse(new_chat._is_window_open())
        self.assertEqual(new_chat.partner_id.mobile, "+32 470 12 34 58")
        self.assertFalse(new_chat.user_id, "nobody in Odoo answered")
        self.assertFalse(new_chat.waiting_since)

    def test_the_business_edits_or_deletes_from_the_app(self):
        """The business edits, then deletes, a message it sent from the
        app: the chat shows it as the phones do, without new lines, and so
        does the lead's copy."""
        now = int(time.time())
        customer = self.assigned_chat()
        customer.lead_id = self.env["crm.lead"].create(
            {"name": "Shop", "partner_id": customer.partner_id.id}
        )
        sent = self.send_echoes(self.echo(body="Open at 9", timestamp=now))
        chat = sent.conversation_id
        self.assertEqual(chat, customer)
        copy = sent.lead_message_id
        self.assertEqual((copy.model, copy.res_id), ("crm.lead", chat.lead_id.id))
        self.assertIn("Open at 9", copy.body)
        lines = self.env["whatsapp.message"].search_count(
            [("conversation_id", "=", chat.id)]
        )
        self.send_echoes(
            self.echo(
                kind="edit",
                timestamp=now + 30,
                edit={
                    "original_message_id": sent.wa_message_id,
                    "message": {"type": "text", "text": {"body": "Open at 10"}},
                },
            )
        )
        self.assertEqual(sent.body, "Open at 10")
        self.assertIn("(edited)", sent.mail_message_id.body)
        self.assertIn("Open at 10", copy.body)
        self.send_echoes(
            self.echo(
                kind="revoke",
                timestamp=now + 60,
                revoke={"original_message_id": sent.wa_message_id},
            )
        )
        self.assertTrue(sent.revoked_at)
        self.assertIn(
            "Deleted from the WhatsApp Business app", sent.mail_message_id.body
        )
        self.assertNotIn("Open at", sent.mail_message_id.body)
        self.assertNotIn("Open at", copy.body)
        self.assertEqual(
            self.env["whatsapp.message"].search_count(
                [("conversation_id", "=", chat.id)]
            ),
            lines,
        )

    def test_an_echo_delivered_twice_is_stored_once(self):
        chat = self.assigned_chat("32470123459")
        raw = self.echo("32470123459", "Once")
        self.send_echoes(raw)
        self.send_echoes(raw)
        self.assertEqual(len(self.stored(raw)), 1)
        self.assertEqual(len(self.comments(chat)), 2, "the customer's and the echo")
        self.assertEqual(set(self.events().mapped("state")), {"done"})

    def test_an_echo_of_a_picture_a_reply_and_a_number_written_with_plus(self):
        customer = self.deliver(self.message("32470123460", body="Photo please"))
        media_id = self.graph.add_media(PNG, "image/png")
        raw = self.echo(
            "+32470123460",
            kind="image",
            image={"id": media_id, "mime_type": "image/png", "caption": "Here"},
            context={"from": "32470123460", "id": customer.wa_message_id},
        )
        message = self.send_echoes(raw)
        self.assertEqual(message.conversation_id, customer.conversation_id)
        self.assertEqual((message.message_type, message.media_state), ("image", "done"))
        self.assertEqual(message.attachment_ids.raw, PNG)
        self.assertEqual(message.reply_to_id, customer)
        self.assertEqual(message.mail_message_id.attachment_ids, message.attachment_ids)
        self.assertIn("Photo please", message.mail_message_id.body, "the quote")

    def test_an_echos_picture_follows_it_as_a_customers_does(self):
        """The processor stores and shows the echo; its file comes with the
        media downloads, out of the way of the other customers' messages."""
        media_id = self.graph.add_media(PNG, "image/png")
        raw = self.echo(kind="image", image={"id": media_id, "mime_type": "image/png"})
        body = self.app_body("smb_message_echoes", "message_echoes", [raw])
        self.assertEqual(self.post_webhook(body).status_code, 200)
        self.env["whatsapp.webhook.event"]._cron_process()
        message = self.env["whatsapp.message"].search(
            [("wa_message_id", "=", raw["id"])]
        )
        self.assertEqual(message.media_state, "pending")
        self.assertTrue(message.mail_message_id, "in the chat already")
        self.assertFalse(
            [c for c in self.graph.calls if media_id in c["path"]], "not fetched yet"
        )
        self.env["whatsapp.message"]._cron_fetch_media()
        self.assertEqual(message.media_state, "done")
        self.assertEqual(message.mail_message_id.attachment_ids, message.attachment_ids)

    def test_an_echo_to_the_numbers_own_number_is_skipped(self):
        raw = self.echo(BUSINESS, "Note to self")
        self.assertFalse(self.send_echoes(raw))
        event = self.events()
        self.assertEqual(event.state, "done")
        self.assertIn("own number", event.note)
        self.assertFalse(self.env["whatsapp.conversation"].search([]))

    def test_an_echo_for_an_unknown_number_is_kept(self):
        raw = self.echo("32470123461")
        body = self.app_body("smb_message_echoes", "message_echoes", [raw])
        value = body["entry"][0]["changes"][0]["value"]
        value["metadata"]["phone_number_id"] = "999000999"
        self.post(body)
        event = self.events()
        self.assertEqual(event.state, "pending", "kept and retried")
        self.assertIn("not configured", event.error)
        self.assertFalse(self.stored(raw))

    def test_an_echo_and_the_customers_later_message_keep_their_order(self):
        """An echo that cannot be stored holds back what its customer wrote
        after it in the same body, as a customer's message does."""
        chat = self.assigned_chat("32470123462")
        bad = self.echo("32470123462", timestamp=OUT_OF_RANGE)
        later, _contact = self.message("32470123462", body="Thanks!")
        body = self.app_body("smb_message_echoes", "message_echoes", [bad])
        body["entry"].append(self.payload([(later, _contact)])["entry"][0])
        self.post(body)
        self.assertFalse(self.stored(bad, later))
        event = self.events()[0]
        self.assertEqual(event.state, "pending", "nothing went through")
        self.assertIn("out of range", event.error)
        self.assertTrue(chat.waiting_since)

    # ------------------------------------------------------------
    # The app's chat history
    # ------------------------------------------------------------

    def test_history_comes_in_as_it_happened_and_tells_nobody(self):
        # a team shares the number's chats round-robin, with someone online
        team = self.env["crm.team"].create(
            {"name": "Shop", "whatsapp_assignment": "round_robin"}
        )
        self.env["crm.team.member"].create(
            {"crm_team_id": team.id, "user_id": self.user_allowed.id}
        )
        self.env["bus.presence"].create(
            {"user_id": self.user_allowed.id, "status": "online"}
        )
        self.account.write(
            {
                "team_ids": [(6, 0, team.ids)],
                "team_id": team.id,
                "greeting_enabled": True,
                "create_leads": True,
            }
        )
        now = int(time.time())
        months_ago = now - 90 * 86400
        customer = "32470123463"
        messages = [
            self.history_message(customer, "Do you deliver?", timestamp=months_ago),
            self.history_message(
                customer,
                "Every Tuesday",
                from_business=True,
                timestamp=months_ago + 60,
                status="DELIVERED",
            ),
            self.history_message(customer, "Great, thanks", timestamp=now - 3600),
        ]
        self.send_history(self.chunk({customer: messages}, phase=0, progress=100))
        stored = self.stored(*messages).sorted("wa_timestamp")
        self.assertEqual(len(stored), 3)
        chat = stored.conversation_id
        self.assertEqual(len(chat), 1)
        self.assertEqual(stored.mapped("direction"), ["in", "out", "in"])
        self.assertEqual(stored.mapped("state"), ["received", "delivered", "received"])
        self.assertEqual(set(stored.mapped("app_origin")), {"history"})
        self.assertEqual(
            stored.mapped("wa_timestamp"),
            [
                fields.Datetime.to_datetime(
                    time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(m["timestamp"])))
                )
                for m in messages
            ],
        )
        # in the chat at their time, each by its author
        posts = stored.mail_message_id
        self.assertEqual(posts.mapped("date"), stored.mapped("wa_timestamp"))
        self.assertEqual(
            [post.author_id for post in stored.mail_message_id],
            [chat.partner_id, self.app_partner, chat.partner_id],
        )
        # old: nobody is told, given the chat or asked to answer; no
        # automatic reply, no lead; nothing unread; the window stays shut
        self.assertFalse(self.inbox_notifications(chat))
        self.assertFalse(chat.user_id)
        self.assertFalse(chat.team_id)
        self.assertFalse(chat.waiting_since)
        self.assertFalse(chat.activity_ids)
        self.assertFalse(chat.lead_id)
        self.assertEqual(chat.unread_count, 0)
        self.assertFalse(chat.last_inbound_at)
        self.assertFalse(chat._is_window_open())
        self.assertFalse(
            self.env["whatsapp.message"].search(
                [("conversation_id", "=", chat.id), ("app_origin", "=", False)]
            ),
            "no greeting",
        )
        self.env["whatsapp.message"]._cron_send_queue()
        self.assertEqual(self.graph.messages, [])
        # among the chats at its latest message's time; done until the
        # customer writes again
        self.assertEqual(chat.last_message_at, stored[-1].wa_timestamp)
        self.assertEqual(chat.last_wa_message_id, stored[-1])
        self.assertEqual(chat.state, "done")
        self.assertFalse(
            chat.message_ids.tracking_value_ids, "no status change in the chat"
        )
        # the customer writes now: a live chat, answered as any other
        self.deliver(self.message(customer, body="Hello again"))
        self.assertEqual(chat.state, "open")
        self.assertEqual(chat.user_id, self.user_allowed)
        self.assertTrue(chat.waiting_since)
        self.assertTrue(chat._is_window_open())
        self.assertEqual(chat.unread_count, 1)

    def test_history_of_a_live_chat_leaves_it_as_it_is(self):
        chat = self.assigned_chat("32470123464", body="Live")
        live = chat.last_wa_message_id
        old = self.history_message(
            "32470123464", "Old", timestamp=int(time.time()) - 86400 * 30
        )
        self.send_history(self.chunk({"32470123464": [old]}))
        self.assertEqual(self.stored(old).conversation_id, chat)
        self.assertEqual(chat.state, "open")
        self.assertTrue(chat.waiting_since)
        self.assertEqual(chat.last_wa_message_id, live, "the latest stays the preview")
        self.assertEqual(chat.unread_count, 1)
        # the live message delivered again in the history (the last day's
        # phase overlaps) is stored once
        again = self.history_message("32470123464", wamid=live.wa_message_id)
        self.send_history(self.chunk({"32470123464": [again]}))
        self.assertEqual(len(self.stored(again)), 1)
        self.assertFalse(self.stored(again).app_origin)

    def test_a_file_kept_on_the_phone_then_sent_by_meta(self):
        customer = "32470123465"
        placeholder = self.history_message(customer, kind="media_placeholder")
        self.send_history(self.chunk({customer: [placeholder]}))
        message = self.stored(placeholder)
        self.assertEqual(message.message_type, "media_placeholder")
        self.assertEqual(message.media_state, "none")
        self.assertIn("stays on the phone", message.mail_message_id.body)
        # the business's own, in the partner's history too
        sent = self.history_message(
            customer, kind="media_placeholder", from_business=True
        )
        self.send_history(self.chunk({customer: [sent]}))
        self.assertEqual(self.stored(sent).direction, "out")
        self.assertIn("stays on the phone", self.stored(sent).body_html)
        self.assertEqual(
            message.conversation_id._inbox_row()["preview"]["body"],
            "File kept on the phone",
        )
        # for the last 14 days, Meta sends the message again with its file
        media_id = self.graph.add_media(PNG, "image/png")
        with_file = dict(
            placeholder,
            type="image",
            image={"id": media_id, "mime_type": "image/png"},
        )
        self.send_history(self.chunk({customer: [with_file]}, chunk_order=2))
        self.assertEqual(len(self.stored(placeholder)), 1)
        self.assertEqual((message.message_type, message.media_state), ("image", "done"))
        self.assertEqual(message.attachment_ids.raw, PNG)
        self.assertEqual(message.mail_message_id.attachment_ids, message.attachment_ids)
        self.assertNotIn("stays on the phone", message.mail_message_id.body)

    def test_the_numbers_form_shows_how_far_the_history_is(self):
        customer = "32470123466"
        now = fields.Datetime.now()
        with freeze_time(now):
            self.send_history(
                self.chunk(
                    {customer: [self.history_message(customer)]},
                    phase=1,
                    chunk_order=2,
                    progress=60,
                )
            )
        account = self.account
        self.assertEqual(
            (
                account.history_state,
                account.history_phase,
                account.history_chunk,
                account.history_progress,
            ),
            ("importing", 1, 2, 60),
        )
        self.assertEqual(account.history_last_at, now)
        self.assertEqual(account.history_message_count, 1)
        # an earlier chunk delivered late: the progress never goes back
        self.send_history(self.chunk({}, phase=0, chunk_order=1, progress=30))
        self.assertEqual((account.history_phase, account.history_progress), (1, 60))
        self.assertEqual(account.history_chunk, 1)
        self.send_history(self.chunk({}, phase=2, chunk_order=1, progress=100))
        self.assertEqual(
            (account.history_state, account.history_phase, account.history_progress),
            ("done", 2, 100),
        )
        # the form shows it to administrators
        view = self.env["whatsapp.account"].get_view(
            self.env.ref("whatsapp_team.whatsapp_account_view_form").id
        )
        for name in ("history_progress", "history_phase", "history_last_at"):
            self.assertIn(f'name="{name}"', view["arch"])

    def test_history_declined_by_the_business(self):
        self.send_history(
            {
                "errors": [
                    {
                        "code": 2593109,
                        "title": "History sync is turned off by the business",
                        "message": "History sync is turned off",
                        "error_data": {"details": "Declined in the app"},
                    }
                ]
            }
        )
        self.assertEqual(self.account.history_state, "declined")
        self.assertEqual(self.account.history_error, "Declined in the app")
        self.assertEqual(self.events().state, "done")

    def test_a_bad_history_message_is_kept_with_its_error(self):
        ana, bob = "32470123467", "32470123468"
        good = self.history_message(ana, "Fine")
        bad = self.history_message(bob, "Broken", timestamp=OUT_OF_RANGE)
        later = self.history_message(bob, "After")
        self.send_history(self.chunk({ana: [good], bob: [bad]}))
        self.send_history(self.chunk({bob: [later]}))
        self.assertTrue(self.stored(good))
        self.assertTrue(self.stored(later), "another body: not held back")
        self.assertFalse(self.stored(bad))
        first = self.events().filtered(lambda e: not e.parent_id).sorted("id")[0]
        self.assertEqual(first.state, "done")
        self.assertIn("1 of 2", first.note)
        part = first.child_ids
        self.assertEqual((part.state, part.attempts), ("pending", 1))
        self.assertIn("out of range", part.error)
        kept = json.loads(part.payload)["entry"][0]["changes"][0]["value"]
        self.assertEqual(kept["history"][0]["threads"][0]["messages"], [bad])
        self.assertEqual(kept["history"][0]["metadata"]["progress"], 50)

    def test_a_large_history_is_processed_in_parts(self):
        customer = "32470123469"
        messages = [
            self.history_message(
                customer, f"Message {index}", timestamp=1700000000 + index
            )
            for index in range(7)
        ]
        with patch.object(whatsapp_webhook_event_coexistence, "ITEMS_PER_EVENT", 3):
            self.send_history(self.chunk({customer: messages}))
        self.assertEqual(len(self.stored(*messages)), 7)
        body = self.events().filtered(lambda e: not e.parent_id)
        self.assertEqual(body.state, "done")
        self.assertIn("7 items", body.note)
        parts = body.child_ids.sorted("id")
        self.assertEqual(len(parts), 3)
        self.assertEqual(set(parts.mapped("state")), {"done"})
        self.assertEqual(parts.mapped("message_count"), [3, 3, 1])
        # each part holds its customer's key, as the body did: the
        # processors keep the customer's order without reading the parts
        self.env.cr.execute(
            "SELECT lock_keys FROM whatsapp_webhook_event WHERE id = ANY(%s)",
            [[body.id, *parts.ids]],
        )
        keys = [row[0] for row in self.env.cr.fetchall()]
        self.assertEqual(len(keys), 4)
        self.assertEqual(len(set(map(tuple, keys))), 1, keys)
        self.assertEqual(len(keys[0]), 1)
        chat = self.stored(messages[0]).conversation_id
        self.assertEqual(
            self.comments(chat).mapped("body"),
            [f"<p>Message {index}</p>" for index in range(7)],
            "oldest first",
        )

    def test_the_messages_say_they_come_from_the_app(self):
        customer = "32470123482"
        live = self.deliver(self.message(customer, body="Live"))
        echo = self.send_echoes(self.echo(customer, "From the phone"))
        old = self.history_message(customer, "Old", timestamp=1700000000)
        self.send_history(self.chunk({customer: [old]}))
        Message = self.env["whatsapp.message"]
        action = live.conversation_id.action_view_messages()
        search = Message.get_view(
            self.env.ref("whatsapp_team.whatsapp_message_view_search").id, "search"
        )["arch"]
        self.assertIn('name="business_app"', search)
        self.assertEqual(
            Message.search(action["domain"] + [("app_origin", "!=", False)]),
            echo | self.stored(old),
        )
        form = Message.get_view(
            self.env.ref("whatsapp_team.whatsapp_message_view_form").id
        )["arch"]
        self.assertIn('name="app_origin"', form)
        self.assertEqual(
            echo._fields["app_origin"].convert_to_export(echo.app_origin, echo),
            "Sent from the WhatsApp Business app",
        )

    # ------------------------------------------------------------
    # The app's contacts
    # ------------------------------------------------------------

    def test_the_apps_contacts_become_partners_never_twice(self):
        Partner = self.env["res.partner"]
        typed = Partner.create(
            {"name": "Pablo M. (Odoo)", "mobile": "+32 470 12 34 70"}
        )
        # a customer WhatsApp named: their profile name
        given = self.deliver(
            self.message("32470123471", name="xX Lina Xx")
        ).conversation_id.partner_id
        self.assertEqual(given.name, "xX Lina Xx")
        before = Partner.search_count([])
        self.send_contacts(
            ("Pablo Morales", "32470123470"),
            ("Lina Costa", "+32 470 12 34 71"),
            ("Nuno Dias", "32470123472"),
            ("Nuno Dias", "32470123472"),
        )
        self.assertEqual(Partner.search_count([]), before + 1, "only Nuno is new")
        self.assertEqual(typed.name, "Pablo M. (Odoo)", "typed in Odoo: kept")
        self.assertEqual(given.name, "Lina Costa", "the app's name for her")
        nuno = Partner.search([("name", "=", "Nuno Dias")])
        self.assertEqual(len(nuno), 1)
        self.assertEqual(nuno.mobile, "+32 470 12 34 72")
        self.assertEqual(nuno.country_id, self.env.ref("base.be"))
        # their first message finds them
        chat = self.deliver(self.message("32470123472", name="nuno")).conversation_id
        self.assertEqual(chat.partner_id, nuno)
        # removed from the phone's address book: the partner stays
        self.send_contacts(("Nuno Dias", "32470123472"), action="remove")
        self.assertTrue(nuno.exists() and nuno.active)
        self.assertEqual(set(self.events().mapped("state")), {"done"})
        self.assertTrue(self.account.coexistence)

    # ------------------------------------------------------------
    # Sending on a shared number
    # ------------------------------------------------------------

    def test_a_shared_number_sends_at_most_20_messages_a_second(self):
        self.account.rate_limit = 80
        chat = self.deliver(self.message("32470123473")).conversation_id
        message = chat.message_ids_wa
        sleeps = []

        def send_21st():
            # 20 messages went out in the last second
            sent = deque([time.monotonic()] * 20)
            with patch.object(whatsapp_message.time, "sleep", sleeps.append):
                message._wait_for_rate(sent)

        send_21st()
        self.assertEqual(sleeps, [], "80 a second: the 21st goes at once")
        self.account.coexistence = True
        self.assertEqual(self.account._send_rate(), 20)
        send_21st()
        self.assertEqual(len(sleeps), 1, "20 a second: the 21st waits")
        self.account.rate_limit = 10
        self.assertEqual(self.account._send_rate(), 10, "a lower rate stays")

    # ------------------------------------------------------------
    # Asking Meta for the app's contacts and history
    # ------------------------------------------------------------

    def test_administrators_ask_meta_for_the_apps_contacts_and_history(self):
        with self.assertRaises(UserError):
            self.account.action_sync_business_app()
        self.account.coexistence = True
        with self.assertRaises(AccessError):
            self.account.with_user(self.user_allowed).action_sync_business_app()
        admin = new_test_user(
            self.env, login="wa_coex_admin", groups="whatsapp_team.group_whatsapp_admin"
        )
        self.account.with_user(admin).action_sync_business_app()
        self.assertEqual(
            [(s["phone_number_id"], s["sync_type"]) for s in self.graph.app_syncs],
            [
                (self.account.phone_number_id, "smb_app_state_sync"),
                (self.account.phone_number_id, "history"),
            ],
        )
        self.assertEqual(self.account.history_state, "requested")
        self.assertTrue(self.account.app_sync_requested_at)
        self.graph.fail_next(100, details="sync already requested")
        with self.assertRaises(UserError):
            self.account.with_user(admin).action_sync_business_app()

    # ------------------------------------------------------------
    # The sandbox
    # ------------------------------------------------------------

    def test_the_sandbox_plays_the_business_app(self):
        shop = self.env["whatsapp.account"].create(
            {
                "name": "Shop Phone",
                "mode": "sandbox",
                "display_phone_number": "+1 555 010 0200",
                "coexistence": True,
                "user_ids": [(4, self.user_allowed.id)],
            }
        )
        self.env["whatsapp.sandbox.message"]._load_demo_coexistence(shop.id)
        self.assertEqual(
            (shop.history_state, shop.history_progress, shop.history_phase),
            ("done", 100, 2),
        )
        chats = self.env["whatsapp.conversation"].search([("account_id", "=", shop.id)])
        self.assertEqual(
            sorted(chats.mapped("name")), ["Carla Mendes", "Tomás Ribeiro"]
        )
        carla = chats.filtered(lambda chat: chat.name == "Carla Mendes")
        messages = carla.message_ids_wa.sorted(lambda m: (m.wa_timestamp, m.id))
        self.assertEqual(
            [(m.app_origin, m.direction) for m in messages],
            [
                ("history", "in"),
                ("history", "out"),
                ("history", "in"),
                ("history", "in"),
                ("history", "out"),
                ("history", "in"),
                ("history", "out"),
                (False, "in"),
                ("echo", "out"),
            ],
        )
        self.assertEqual(messages[2].message_type, "media_placeholder")
        # the chat as the inbox shows it: open, answered from the phone
        self.assertEqual(carla.state, "open")
        self.assertFalse(carla.waiting_since)
        self.assertEqual(carla.last_wa_message_id, messages[-1])
        self.assertEqual(carla.partner_id.country_id, self.env.ref("base.pt"))
        self.assertEqual(
            self.comments(carla).mapped("author_id")[-2:],
            carla.partner_id | self.app_partner,
        )
        tomas = chats - carla
        self.assertEqual(tomas.state, "done", "nothing but history")
        self.assertEqual(self.graph.messages, [], "the sandbox's Meta is its own")
        # the administrator plays the shop answering from the phone
        wizard = self.env["whatsapp.sandbox.message"].create(
            {
                "account_id": shop.id,
                "sender": "business_app",
                "customer_phone": "+351 913 000 111",
                "body": "See you on Saturday",
            }
        )
        action = wizard.action_send()
        self.assertEqual(action["res_id"], tomas.id)
        echo = tomas.last_wa_message_id
        self.assertEqual(
            (echo.app_origin, echo.direction, echo.body),
            ("echo", "out", "See you on Saturday"),
        )
        # playing the shop is the administrators' (the wizard's access rights)
        with self.assertRaises(AccessError):
            self.env["whatsapp.sandbox.message"].with_user(self.user_allowed).create(
                {
                    "account_id": shop.id,
                    "sender": "business_app",
                    "customer_phone": "+351 913 000 111",
                }
            )
        # a number not shared with the app has no such sender
        plain = self.env["whatsapp.account"].create(
            {"name": "Plain sandbox", "mode": "sandbox"}
        )
        with self.assertRaises(UserError):
            self.env["whatsapp.sandbox.message"].create(
                {
                    "account_id": plain.id,
                    "sender": "business_app",
                    "customer_phone": "+351 913 000 111",
                }
            ).action_send()


@tagged("post_install", "-at_install", "whatsapp_coexistence", "whatsapp_ui")
class TestCoexistenceUi(CoexistenceCase):
    def test_a_chat_reads_in_the_order_it_was_written(self):
        """In a real browser: history that came in after today's message
        shows before it, at the time it was written."""
        admin = self.env.ref("base.user_admin")
        admin.groups_id += self.env.ref("whatsapp_team.group_whatsapp_admin")
        self.account.user_ids += admin
        customer = "32470123481"
        chat = self.deliver(self.message(customer, body="Today, live")).conversation_id
        months_ago = int(time.time()) - 90 * 86400
        self.send_history(
            self.chunk(
                {
                    customer: [
                        self.history_message(
                            customer, "Months ago", timestamp=months_ago
                        ),
                        self.history_message(
                            customer,
                            "Every Tuesday",
                            from_business=True,
                            timestamp=months_ago + 60,
                        ),
                    ]
                }
            )
        )
        self.assertEqual(
            self.comments(chat).mapped("body"),
            ["<p>Today, live</p>", "<p>Months ago</p>", "<p>Every Tuesday</p>"],
            "stored in that order",
        )
        self.start_tour(
            f"/odoo/whatsapp.conversation/{chat.id}",
            "whatsapp_team_coexistence_tour",
            login="admin",
        )
