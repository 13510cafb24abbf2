import json
from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from odoo.addons.bus.models.bus import channel_with_db, json_dump
from odoo.addons.mail.tools.discuss import Store

from .common import WhatsappCase


@tagged("post_install", "-at_install", "whatsapp_outbound")
class TestChatterState(WhatsappCase):
    """The chatter shows what became of each message sent on WhatsApp."""

    def setUp(self):
        super().setUp()
        self.inbound = self.deliver(self.message("32470111222", body="Price?"))
        self.conversation = self.inbound.conversation_id
        self.graph.reset()

    def send(self, body):
        return self.conversation.with_user(self.user_allowed).message_post(
            body=body, message_type="comment", subtype_xmlid="mail.mt_comment"
        )

    def notification_of(self, mail_message):
        return mail_message.notification_ids.filtered(
            lambda n: n.notification_type == "whatsapp"
        )

    def client_data(self, mail_message):
        """What the web client receives for the message's notifications."""
        store = Store()
        mail_message._message_notifications_to_store(store)
        return store.get_result()["mail.notification"]

    def test_customer_who_is_a_colleague_following_the_chat(self):
        """A colleague writing from their own phone is the customer and
        follows the chat: a reply reaches no colleague's inbox, theirs
        included, and the WhatsApp state shows."""
        colleague = new_test_user(
            self.env,
            login="wa_state_colleague",
            groups="whatsapp_team.group_whatsapp_user",
            notification_type="inbox",
        )
        self.account.user_ids += colleague
        self.conversation.partner_id = colleague.partner_id
        self.conversation.message_subscribe(colleague.partner_id.ids)
        mail_message = self.send("Testing from my phone")
        inbox = mail_message.notification_ids.filtered(
            lambda n: n.notification_type == "inbox"
        )
        self.assertFalse(inbox)
        state = self.notification_of(mail_message)
        self.assertEqual(len(state), 1)
        self.assertEqual(state.res_partner_id, colleague.partner_id)
        self.env["whatsapp.message"]._cron_send_queue()
        self.assertEqual(state.whatsapp_state, "sent")

    def test_each_state_reaches_the_chatter(self):
        mail_message = self.send("12 euros")
        message = self.env["whatsapp.message"].search(
            [("mail_message_id", "=", mail_message.id)]
        )
        notification = self.notification_of(mail_message)
        self.assertEqual(len(notification), 1)
        self.assertEqual(notification.whatsapp_state, message.state)
        self.assertEqual(notification.res_partner_id, self.conversation.partner_id)
        self.assertEqual(notification.author_id, self.user_allowed.partner_id)
        self.assertEqual(notification.notification_status, "ready")
        self.assertEqual(self.client_data(mail_message)[0]["whatsapp_state"], "queued")

        self.env["whatsapp.message"]._cron_send_queue()
        self.assertEqual(notification.notification_status, "pending")
        seen = []
        for status in ("delivered", "read"):
            self.deliver(statuses=[self.status(message.wa_message_id, status)])
            data = self.client_data(mail_message)[0]
            seen.append(
                (
                    data["whatsapp_state"],
                    data["notification_status"],
                    data["failure_type"],
                )
            )
        self.assertEqual(seen, [("delivered", "sent", False), ("read", "sent", False)])
        self.assertFalse(mail_message.has_error)

    def test_failure_says_why_and_what_next(self):
        self.graph.fail_next(131026, path_contains="/messages")
        mail_message = self.send("hello")
        self.env["whatsapp.message"]._cron_send_queue()
        notification = self.notification_of(mail_message)
        self.assertEqual(
            (notification.notification_status, notification.failure_type),
            ("exception", "whatsapp_refused"),
        )
        self.assertIn("may not use WhatsApp", notification.failure_reason)
        self.assertTrue(mail_message.has_error, "the chatter shows it in red")
        data = self.client_data(mail_message)[0]
        self.assertEqual(data["whatsapp_state"], "failed")
        self.assertIn("Check the number", data["failure_reason"])

    def test_failure_reported_later_by_meta(self):
        mail_message = self.send("hello")
        self.env["whatsapp.message"]._cron_send_queue()
        message = self.env["whatsapp.message"].search(
            [("mail_message_id", "=", mail_message.id)]
        )
        error = {"code": 131047, "title": "Re-engagement message"}
        self.deliver(
            statuses=[self.status(message.wa_message_id, "failed", errors=[error])]
        )
        notification = self.notification_of(mail_message)
        self.assertEqual(notification.notification_status, "exception")
        self.assertIn("Send an approved template", notification.failure_reason)

    def test_author_is_told_over_the_bus(self):
        mail_message = self.send("hello")
        self.env["bus.bus"].sudo().search([]).unlink()
        self.env["whatsapp.message"]._cron_send_queue()
        self.env.cr.precommit.run()  # the bus sends on commit
        channel = json_dump(
            channel_with_db(self.env.cr.dbname, self.user_allowed.partner_id)
        )
        sent = self.env["bus.bus"].sudo().search([("channel", "=", channel)])
        payloads = [json.loads(bus.message)["payload"] for bus in sent]
        states = [
            notification.get("whatsapp_state")
            for payload in payloads
            for notification in payload.get("mail.notification", [])
            if notification.get("message") == mail_message.id
        ]
        self.assertIn("sent", states)

    def test_several_messages_one_notification_each(self):
        attachments = (
            self.env["ir.attachment"]
            .with_user(self.user_allowed)
            .create(
                [
                    {
                        "name": f"quote{n}.pdf",
                        "raw": b"%PDF-1.4",
                        "mimetype": "application/pdf",
                    }
                    for n in (1, 2)
                ]
            )
        )
        mail_message = self.conversation.with_user(self.user_allowed).message_post(
            body="Here are the quotes",
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
            attachment_ids=attachments.ids,
        )
        messages = self.env["whatsapp.message"].search(
            [("mail_message_id", "=", mail_message.id)], order="id"
        )
        self.assertEqual(len(messages), 3)
        notification = self.notification_of(mail_message)
        self.assertEqual(len(notification), 1, "one per chatter message")
        self.env["whatsapp.message"]._cron_send_queue()
        self.assertEqual(notification.whatsapp_state, "sent")
        # the text was read, its documents only delivered: shown delivered
        self.deliver(
            statuses=[self.status(messages[0].wa_message_id, "read")]
            + [self.status(m.wa_message_id, "delivered") for m in messages[1:]]
        )
        self.assertEqual(notification.whatsapp_state, "delivered")
        error = {"code": 131053, "title": "Media upload error"}
        self.deliver(
            statuses=[self.status(messages[2].wa_message_id, "failed", errors=[error])]
        )
        self.assertEqual(
            (notification.whatsapp_state, notification.notification_status),
            ("failed", "exception"),
        )


@tagged("post_install", "-at_install", "whatsapp_outbound")
class TestReadReceipts(WhatsappCase):
    """Opening a chat marks the customer's messages read; typing shows."""

    def setUp(self):
        super().setUp()
        self.first, self.second = self.deliver(
            self.message("32470111333", body="Hi"),
            self.message("32470111333", body="Are you open?"),
        ).sorted("id")
        self.conversation = self.first.conversation_id
        self.graph.reset()

    def as_salesperson(self):
        return self.conversation.with_user(self.user_allowed)

    def test_opening_marks_the_latest_message_read_once(self):
        self.assertTrue(self.as_salesperson().action_mark_read())
        self.assertEqual(
            self.graph.read_receipts,
            [
                {
                    "messaging_product": "whatsapp",
                    "status": "read",
                    "message_id": self.second.wa_message_id,
                }
            ],
        )
        self.assertFalse(self.as_salesperson().action_mark_read(), "already read")
        self.assertEqual(len(self.graph.read_receipts), 1)
        third = self.deliver(self.message("32470111333", body="Hello?"))
        self.as_salesperson().action_mark_read()
        self.assertEqual(
            self.graph.read_receipts[-1]["message_id"], third.wa_message_id
        )

    def test_number_setting_turns_it_off(self):
        self.account.mark_read_on_open = False
        self.assertFalse(self.as_salesperson().action_mark_read())
        self.assertFalse(self.graph.read_receipts)

    def test_meta_error_never_bothers_the_salesperson(self):
        self.graph.fail_next(131000, path_contains="/messages")
        self.assertFalse(self.as_salesperson().action_mark_read())
        self.assertFalse(self.conversation.last_read_wa_id)
        self.assertTrue(self.as_salesperson().action_mark_read(), "tried again")

    def test_colleague_without_the_number_cannot(self):
        other = new_test_user(
            self.env,
            login="wa_other_reader",
            groups="whatsapp_team.group_whatsapp_user",
        )
        with self.assertRaises(AccessError):
            self.conversation.with_user(other).action_mark_read()
        self.assertFalse(self.graph.read_receipts)

    def test_typing_indicator_is_off_by_default(self):
        self.assertFalse(self.account.send_typing_indicator)
        self.assertFalse(self.as_salesperson().action_typing())
        self.assertFalse(self.graph.read_receipts)

    def test_typing_indicator_when_enabled(self):
        self.account.send_typing_indicator = True
        self.assertTrue(self.as_salesperson().action_typing())
        self.assertEqual(
            self.graph.read_receipts[-1],
            {
                "messaging_product": "whatsapp",
                "status": "read",
                "message_id": self.second.wa_message_id,
                "typing_indicator": {"type": "text"},
            },
        )
        # Meta drops the indicator after 25 s: typing again shows it again
        self.assertTrue(self.as_salesperson().action_typing())
        self.assertEqual(len(self.graph.read_receipts), 2)

    def test_no_typing_once_the_window_closed(self):
        self.account.send_typing_indicator = True
        with freeze_time(fields.Datetime.now() + timedelta(hours=25)):
            self.assertFalse(self.as_salesperson().action_typing())
        self.assertFalse(self.graph.read_receipts)

    def test_composer_knows_the_window(self):
        self.account.send_typing_indicator = True
        store = Store()
        self.as_salesperson()._thread_to_store(store, request_list=["followers"])
        data = store.get_result()["mail.thread"][0]
        self.assertIs(data["whatsapp_window_open"], True)
        self.assertIs(data["whatsapp_typing"], True)
        self.assertEqual(
            data["whatsapp_window_until"],
            fields.Datetime.to_string(self.conversation.window_expires_at),
        )
        with freeze_time(fields.Datetime.now() + timedelta(hours=25)):
            store = Store()
            self.as_salesperson()._thread_to_store(store)
            self.assertIs(
                store.get_result()["mail.thread"][0]["whatsapp_window_open"], False
            )
