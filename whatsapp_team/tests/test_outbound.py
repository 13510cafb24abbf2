import base64
import time
from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time
from markupsafe import Markup
from psycopg2 import errors as pg_errors

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from ..tools import outbound
from .common import WhatsappCase

MESSAGE_LOGGER = "odoo.addons.whatsapp_team.models.whatsapp_message"


class OutboundCase(WhatsappCase):
    """A customer who just wrote, and helpers to answer and run the queue."""

    def setUp(self):
        super().setUp()
        self.inbound = self.deliver(self.message("32470111222", body="Do you deliver?"))
        self.conversation = self.inbound.conversation_id
        self.graph.reset()

    def send(self, body="", user=None, **kwargs):
        conversation = self.conversation.with_user(user or self.user_allowed)
        return conversation.message_post(
            body=body, message_type="comment", subtype_xmlid="mail.mt_comment", **kwargs
        )

    def outbound(self):
        return self.env["whatsapp.message"].search(
            [("direction", "=", "out"), ("conversation_id", "=", self.conversation.id)],
            order="id",
        )

    def run_queue(self):
        return self.env["whatsapp.message"]._cron_send_queue()


@tagged("post_install", "-at_install", "whatsapp_outbound")
class TestOutbound(OutboundCase):
    def test_send_message_goes_to_the_customer(self):
        # the web client posts HTML as Markup
        mail_message = self.send(Markup("<p>Yes, <b>tomorrow</b>!</p>"))
        message = self.outbound()
        self.assertEqual(
            (message.state, message.message_type, message.body),
            ("queued", "text", "Yes, *tomorrow*!"),
        )
        self.assertEqual(message.mail_message_id, mail_message)
        self.assertEqual(message.author_user_id, self.user_allowed)
        self.assertFalse(self.graph.messages, "sent off the request, by the queue")
        self.assertTrue(
            self.env["ir.cron.trigger"].search(
                [
                    (
                        "cron_id",
                        "=",
                        self.env.ref("whatsapp_team.ir_cron_send_messages").id,
                    )
                ]
            )
        )
        self.assertEqual(self.run_queue(), 1)
        self.assertEqual(len(self.graph.messages), 1)
        sent = self.graph.messages[0]
        self.assertEqual(sent["to"], "32470111222")
        self.assertEqual(sent["text"]["body"], "Yes, *tomorrow*!")
        self.assertEqual(sent["biz_opaque_callback_data"], message.callback_ref)
        self.assertEqual(message.state, "sent")
        self.assertEqual(message.wa_message_id, sent["id"])

    def test_send_over_the_external_api(self):
        """An integration posts over XML-RPC: it gets the new message's id, as
        from Odoo's own message_post, and the customer gets it once."""
        db = self.env.cr.dbname
        login = self.user_allowed.login  # new_test_user: password = login
        uid = self.xmlrpc_common.authenticate(db, login, login, {})
        self.assertEqual(uid, self.user_allowed.id)
        message_id = self.xmlrpc_object.execute_kw(
            db,
            uid,
            login,
            "whatsapp.conversation",
            "message_post",
            [[self.conversation.id]],
            {
                "body": "Your order shipped",
                "message_type": "comment",
                "subtype_xmlid": "mail.mt_comment",
            },
        )
        message = self.outbound()
        self.assertEqual(len(message), 1, "queued exactly once")
        self.assertEqual(message_id, message.mail_message_id.id)
        self.assertEqual(message.author_user_id, self.user_allowed)
        self.run_queue()
        self.assertEqual(
            [m["text"]["body"] for m in self.graph.messages], ["Your order shipped"]
        )

    def test_the_customer_gets_what_the_chatter_shows(self):
        """HTML posted through the API is sanitised for the chatter: the
        customer gets that, not what the sanitiser took out nor what the
        chatter hides."""
        html = (
            "<style>p { display: none }</style>"
            "<p>Hello<script>alert('pwned')</script> <b>Ana</b>,</p>"
            # the sanitiser drops the hidden attribute: the chatter shows it
            "<p hidden>P.S. delivery is free</p>"
            '<p>see <span style="display: none">secret</span>you '
            '<img src="x" onerror="alert(1)">tomorrow</p>'
        )
        for body, options in ((Markup(html), {}), (html, {"body_is_html": True})):
            mail_message = self.send(body, **options)
            message = self.outbound()[-1]
            self.assertEqual(
                message.body,
                "Hello *Ana*,\nP.S. delivery is free\nsee you tomorrow",
            )
            self.assertEqual(
                outbound.html_to_whatsapp(mail_message.body),
                message.body,
                "the chatter shows what the customer gets",
            )
            self.assertNotIn("script", mail_message.body)

    def assert_nothing_posted(self, text):
        self.assertFalse(
            self.conversation.message_ids.filtered(lambda m: text in (m.body or ""))
        )

    def test_text_over_the_limit_is_refused_before_anything(self):
        """Meta takes 4,096 characters in a text message: longer is refused
        with the limit and the length, before anything is posted or sent,
        from the chatter, the reply dialog and a quick reply alike."""
        self.send("a" * outbound.MAX_TEXT_LENGTH)
        self.assertEqual(len(self.outbound().body), outbound.MAX_TEXT_LENGTH)
        with self.assertRaisesRegex(UserError, r"at most 4096 .* has 4097"):
            self.send("b" * 4097)
        self.assert_nothing_posted("bbbb")

        reply = (
            self.env["whatsapp.reply"]
            .with_user(self.user_allowed)
            .create({"conversation_id": self.conversation.id, "body": "c" * 4097})
        )
        with self.assertRaisesRegex(UserError, r"at most 4096 .* has 4097"):
            reply.action_send()
        self.assert_nothing_posted("cccc")

        # a quick reply is measured once its placeholders are filled
        self.env.company.name = "Sofa & Co of Lisbon"
        canned = "d" * 4086 + "{company}"
        self.assertLessEqual(len(canned), outbound.MAX_TEXT_LENGTH)
        with self.assertRaisesRegex(UserError, r"at most 4096 .* has 4105"):
            self.send(canned)
        self.assert_nothing_posted("dddd")

        self.run_queue()
        self.assertEqual(len(self.graph.messages), 1)
        self.assertEqual(len(self.graph.messages[0]["text"]["body"]), 4096)

    def test_text_too_long_for_a_caption_goes_before_its_file(self):
        """A caption takes 1,024 characters: a longer text with one picture
        goes as its own message, then the picture, as with two files."""
        png = base64.b64decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
        )
        Attachment = self.env["ir.attachment"].with_user(self.user_allowed)
        short, long = Attachment.create(
            [
                {"name": name, "raw": png, "mimetype": "image/png"}
                for name in ("short.png", "long.png")
            ]
        )
        self.send("s" * outbound.MAX_CAPTION_LENGTH, attachment_ids=short.ids)
        self.send("l" * 1025, attachment_ids=long.ids)
        self.run_queue()
        self.assertEqual(
            [
                (m["type"], len(m.get("image", {}).get("caption", "")))
                for m in self.graph.messages
            ],
            [("image", 1024), ("text", 0), ("image", 0)],
        )
        self.assertEqual(self.graph.messages[1]["text"]["body"], "l" * 1025)

    def test_log_note_stays_internal(self):
        self.conversation.with_user(self.user_allowed).message_post(
            body="Customer is a reseller",
            message_type="comment",
            subtype_xmlid="mail.mt_note",
        )
        self.run_queue()
        self.assertFalse(self.outbound())
        self.assertFalse(self.graph.calls)

    def test_reply_to_a_customer_message(self):
        sent = self.send("We do!", parent_id=self.inbound.mail_message_id.id)
        # in the chat, the reply hangs under the message it answers
        self.assertEqual(sent.parent_id, self.inbound.mail_message_id)
        self.assertFalse(self.inbound.mail_message_id.parent_id, "no e-mail thread")
        self.run_queue()
        self.assertEqual(
            self.graph.messages[0]["context"],
            {"message_id": self.inbound.wa_message_id},
        )

    def test_customer_known_only_by_user_id(self):
        inbound = self.deliver(
            self.message(None, user_id="BR.77", username="ana", body="oi")
        )
        self.conversation = inbound.conversation_id
        self.send("Olá!")
        self.run_queue()
        self.assertEqual(self.graph.messages[-1]["recipient"], "BR.77")
        self.assertNotIn("to", self.graph.messages[-1])

    def test_window_closed_is_refused_before_meta(self):
        later = fields.Datetime.now() + timedelta(hours=25)
        with freeze_time(later):
            self.assertFalse(self.conversation.window_open)
            with self.assertRaisesRegex(UserError, "approved template"):
                self.send("Still there?")
        self.assertFalse(self.outbound())
        self.assertFalse(self.graph.calls)
        self.assertFalse(
            self.conversation.message_ids.filtered(
                lambda m: "Still there" in (m.body or "")
            )
        )

    def test_our_messages_do_not_reopen_the_window(self):
        self.send("one")
        self.run_queue()
        expiry = self.conversation.window_expires_at
        self.assertEqual(expiry, self.inbound.wa_timestamp + timedelta(hours=24))
        with freeze_time(expiry + timedelta(minutes=1)), self.assertRaises(UserError):
            self.send("two")

    def test_image_with_caption_and_refused_files(self):
        png = base64.b64decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
        )
        Attachment = self.env["ir.attachment"].with_user(self.user_allowed)
        image = Attachment.create(
            {"name": "chair.png", "raw": png, "mimetype": "image/png"}
        )
        self.send("The blue one", attachment_ids=image.ids)
        message = self.outbound()
        self.assertEqual(
            (message.message_type, message.body), ("image", "The blue one")
        )
        self.run_queue()
        upload = [c for c in self.graph.calls if c["path"].endswith("/media")]
        self.assertEqual(len(upload), 1)
        sent = self.graph.messages[-1]
        self.assertEqual(sent["type"], "image")
        self.assertEqual(sent["image"]["caption"], "The blue one")
        self.assertEqual(self.graph.media[sent["image"]["id"]][0], png)

        archive = Attachment.create(
            {"name": "files.zip", "raw": b"PK", "mimetype": "application/zip"}
        )
        with self.assertRaisesRegex(UserError, "does not take files.zip"):
            self.send("see attached", attachment_ids=archive.ids)
        huge = Attachment.create(
            {
                "name": "huge.jpg",
                "raw": b"0" * (5 * 1024 * 1024 + 1),
                "mimetype": "image/jpeg",
            }
        )
        with self.assertRaisesRegex(UserError, "too big for WhatsApp"):
            self.send("", attachment_ids=huge.ids)
        self.assertEqual(len(self.outbound()), 1)

    def test_text_and_two_documents_are_three_messages(self):
        Attachment = self.env["ir.attachment"].with_user(self.user_allowed)
        docs = Attachment.create(
            [
                {"name": "a.pdf", "raw": b"%PDF-1", "mimetype": "application/pdf"},
                {"name": "b.pdf", "raw": b"%PDF-2", "mimetype": "application/pdf"},
            ]
        )
        self.send("Both quotes", attachment_ids=docs.ids)
        self.run_queue()
        self.assertEqual(
            [m["type"] for m in self.graph.messages], ["text", "document", "document"]
        )
        self.assertEqual(self.graph.messages[1]["document"]["filename"], "a.pdf")

    def test_throttling_is_retried_with_backoff(self):
        self.graph.fail_next(130429, path_contains="/messages")
        self.send("hello")
        now = fields.Datetime.now()
        with freeze_time(now):
            self.run_queue()
        message = self.outbound()
        self.assertEqual(
            (message.state, message.send_attempts, message.error_code),
            ("queued", 1, 130429),
        )
        self.assertGreater(message.next_attempt_at, now)
        with freeze_time(now):
            self.run_queue()
        self.assertEqual(message.send_attempts, 1, "waits for its delay")
        with freeze_time(now + timedelta(minutes=1)):
            self.run_queue()
        self.assertEqual(message.state, "sent")
        self.assertEqual(len(self.graph.messages), 1)

    def test_server_errors_are_retried_then_given_up(self):
        self.graph.fail_http(502, times=20, path_contains="/messages")
        self.send("hello")
        now = fields.Datetime.now()
        for minute in range(0, 120, 10):
            with freeze_time(now + timedelta(minutes=minute)):
                self.run_queue()
        message = self.outbound()
        self.assertEqual((message.state, message.send_attempts), ("failed", 8))
        self.assertIn("Not delivered on WhatsApp", message.mail_message_id.body)

    def test_permanent_error_fails_at_once_in_plain_words(self):
        self.graph.fail_next(131026, path_contains="/messages")
        self.send("hello")
        self.run_queue()
        message = self.outbound()
        self.assertEqual(
            (message.state, message.error_code, message.send_attempts),
            ("failed", 131026, 1),
        )
        self.assertIn("may not use WhatsApp", message.error_explanation)
        self.assertIn("may not use WhatsApp", message.mail_message_id.body)
        self.run_queue()
        self.assertEqual(
            len([c for c in self.graph.calls if c["path"].endswith("/messages")]), 1
        )

    def test_expired_token_stops_the_number_until_a_new_one(self):
        admin = new_test_user(
            self.env,
            login="wa_admin_token",
            groups="whatsapp_team.group_whatsapp_admin",
        )
        self.graph.fail_next(190, path_contains="/messages")
        self.send("first")
        self.send("second")
        self.run_queue()
        messages = self.outbound()
        self.assertEqual(self.account.token_state, "expired")
        self.assertEqual(messages.mapped("state"), ["queued", "queued"])
        self.assertEqual(
            len([c for c in self.graph.calls if c["path"].endswith("/messages")]), 1
        )
        warning = self.account.message_ids[:1]
        self.assertIn("new access token", warning.body)
        self.assertIn(admin.partner_id, warning.notified_partner_ids)
        with self.assertRaisesRegex(UserError, "needs a new access token"):
            self.send("third")
        # the administrator pastes a new token: the queue resumes
        self.account.with_user(admin).access_token = "test-access-token"
        self.assertEqual(self.account.token_state, "valid")
        self.run_queue()
        self.assertEqual(messages.mapped("state"), ["sent", "sent"])
        self.assertEqual(
            [m["text"]["body"] for m in self.graph.messages], ["first", "second"]
        )

    def test_interrupted_send_is_never_repeated(self):
        self.send("hello")
        message = self.outbound()
        # the process died after Meta's answer, before the wamid was stored
        message.write({"state": "sending", "sending_since": fields.Datetime.now()})
        self.run_queue()
        self.assertFalse(self.graph.calls, "a message being sent is not sent again")
        # Meta's status webhook carries our callback reference
        status = self.status("wamid.LATE", "delivered")
        status["biz_opaque_callback_data"] = message.callback_ref
        self.post_webhook(self.payload(statuses=[status]))
        self.process()
        self.assertEqual(
            (message.wa_message_id, message.state), ("wamid.LATE", "delivered")
        )

    def test_interrupted_send_without_news_is_marked_failed(self):
        self.send("hello")
        message = self.outbound()
        message.write({"state": "sending", "sending_since": fields.Datetime.now()})
        with freeze_time(fields.Datetime.now() + timedelta(minutes=11)):
            self.run_queue()
        self.assertEqual(message.state, "failed")
        self.assertIn("may or may not have reached", message.mail_message_id.body)
        self.assertEqual(message.failure_cause, "interrupted")
        self.assertTrue(message.error_explanation.startswith("Sending was interrupted"))
        self.assertFalse(self.graph.calls)

    def message_posts(self):
        return [
            c
            for c in self.graph.calls
            if c["path"].endswith("/messages") and c["method"] == "POST"
        ]

    def run_queue_for_an_hour(self):
        """Run the queue now and again over the next hour (every retry delay)."""
        now = fields.Datetime.now()
        for minutes in (0, 1, 5, 11, 30, 60):
            with freeze_time(now + timedelta(minutes=minutes)):
                self.run_queue()

    def assert_interrupted_once(self, message):
        """Meta got ``message`` once and it is never sent again: the
        salesperson is told to check the chat."""
        self.run_queue_for_an_hour()
        ref = message.callback_ref
        sends = [
            c
            for c in self.message_posts()
            if c["json"].get("biz_opaque_callback_data") == ref
        ]
        self.assertEqual(len(sends), 1, "sent exactly once")
        self.assertEqual(
            [
                m["text"]["body"]
                for m in self.graph.messages
                if m.get("biz_opaque_callback_data") == ref
            ],
            [message.body],
            "Meta accepted it",
        )
        self.assertEqual(
            (
                message.state,
                message.failure_cause,
                message.error_title,
                message.send_attempts,
            ),
            ("failed", "interrupted", "Interrupted", 1),
        )
        self.assertFalse(message.wa_message_id)
        self.assertTrue(message.failed_at)
        self.assertEqual(
            message.error_explanation,
            "The connection to WhatsApp dropped while this message was being "
            "sent: it may or may not have reached the customer. Check the chat "
            "before sending it again.",
        )
        chatter = message.mail_message_id
        self.assertIn("Check the chat before sending it again", chatter.body)
        self.assertNotIn("refused", chatter.body)
        notification = chatter.notification_ids.filtered(
            lambda n: n.notification_type == "whatsapp"
        )
        self.assertEqual(
            (notification.whatsapp_state, notification.failure_reason),
            ("failed", message.error_explanation),
        )

    def test_dropped_connection_while_sending_is_never_sent_again(self):
        # Meta accepts the message, then the connection drops before its
        # answer. (A late answer past the read timeout is the same failure:
        # tests/tools covers it, Odoo's test harness stretches every HTTP
        # timeout to 10 seconds.)
        self.graph.drop_answer_next(path_contains="/messages")
        self.send("hello")
        self.send("next one")
        message, second = self.outbound()
        with self.assertLogs(MESSAGE_LOGGER, "WARNING") as logs:
            self.assertEqual(self.run_queue(), 2)
        self.assertIn("not sent again", logs.output[0])
        self.assertEqual(second.state, "sent", "the rest of the queue goes on")
        self.assert_interrupted_once(message)
        self.assertEqual(len(self.message_posts()), 2)
        # Meta did deliver it: its status webhook (with our callback
        # reference) clears the failure
        wamid = self.graph.messages[0]["id"]
        status = self.status(wamid, "delivered", wa_id="32470111222")
        status["biz_opaque_callback_data"] = message.callback_ref
        self.post_webhook(self.payload(statuses=[status]))
        self.process()
        self.assertEqual(
            (message.state, message.wa_message_id, message.failure_cause),
            ("delivered", wamid, False),
        )
        self.assertFalse(message.error_explanation)
        body = message.mail_message_id.body
        self.assertNotIn("may or may not", body, "the warning goes")
        self.assertIn("hello", body)

    def test_refused_connection_is_retried_then_sent_once(self):
        self.send("hello")
        message = self.outbound()
        now = fields.Datetime.now()
        with self.graph_server.refusing(), freeze_time(now):
            self.run_queue()
        self.assertFalse(self.graph.calls, "nothing reached Meta")
        self.assertEqual(
            (message.state, message.send_attempts, message.failure_cause),
            ("queued", 1, False),
        )
        self.assertIn("connection failed", message.error_message)
        self.assertGreater(message.next_attempt_at, now)
        with freeze_time(now + timedelta(minutes=1)):
            self.run_queue()
        self.assertEqual((message.state, message.send_attempts), ("sent", 2))
        self.assertEqual(message.wa_message_id, self.graph.messages[0]["id"])
        self.assertFalse(message.error_message)
        self.run_queue_for_an_hour()
        self.assertEqual(len(self.message_posts()), 1)
        self.assertEqual([m["text"]["body"] for m in self.graph.messages], ["hello"])

    def test_message_that_cannot_be_prepared_fails_at_once(self):
        real_text_payload = outbound.text_payload

        def text_payload(to, user_id, body, **kwargs):
            if body == "broken":
                raise ValueError("cannot render this body")
            return real_text_payload(to, user_id, body, **kwargs)

        for body in ("first", "broken", "third"):
            self.send(body)
        first, broken, third = self.outbound()
        with (
            patch.object(outbound, "text_payload", text_payload),
            self.assertLogs(MESSAGE_LOGGER, "ERROR") as logs,
        ):
            self.assertEqual(self.run_queue(), 3)
        self.assertEqual(
            [m["text"]["body"] for m in self.graph.messages], ["first", "third"]
        )
        self.assertEqual((first.state, third.state), ("sent", "sent"))
        self.assertEqual(
            (broken.state, broken.failure_cause, broken.send_attempts),
            ("failed", "preparation", 1),
        )
        self.assertFalse(broken.sending_since)
        self.assertIn("could not be prepared", broken.error_explanation)
        self.assertIn("was not sent", broken.error_explanation)
        self.assertIn("could not be prepared", broken.mail_message_id.body)
        record = logs.records[0]
        self.assertIn(str(broken.id), record.getMessage())
        self.assertIs(record.exc_info[0], ValueError, "logged with its traceback")
        # failed for good: later runs leave it alone
        self.run_queue_for_an_hour()
        self.assertEqual(len(self.graph.messages), 2)
        self.assertEqual(broken.state, "failed")

    def test_preparation_blocked_or_refused(self):
        """A concurrent update met while preparing is no fault of the
        message: it goes out later. A reason meant for people is shown as
        it is."""
        real_text_payload = outbound.text_payload

        def text_payload(to, user_id, body, **kwargs):
            if body == "busy":
                raise pg_errors.SerializationFailure("concurrent update")
            if body == "refused":
                raise UserError(self.env._("this file is larger than WhatsApp allows"))
            return real_text_payload(to, user_id, body, **kwargs)

        for body in ("busy", "refused"):
            self.send(body)
        busy, refused = self.outbound()
        with patch.object(outbound, "text_payload", text_payload):
            self.run_queue()
        self.assertEqual((busy.state, busy.send_attempts), ("queued", 1))
        self.assertTrue(busy.next_attempt_at)
        self.assertEqual(
            (refused.state, refused.failure_cause), ("failed", "preparation")
        )
        self.assertEqual(
            refused.error_explanation,
            "This message was not sent: this file is larger than WhatsApp allows",
        )
        self.run_queue_for_an_hour()
        self.assertEqual(busy.state, "sent")
        self.assertEqual([m["text"]["body"] for m in self.graph.messages], ["busy"])

    def test_only_allowed_users_send(self):
        other = new_test_user(
            self.env, login="wa_not_allowed", groups="whatsapp_team.group_whatsapp_user"
        )
        with self.assertRaises(AccessError):
            self.send("hi", user=other)
        self.assertFalse(self.outbound())

    def test_rate_limit_spaces_sends(self):
        # at most 2 messages per second on this number: 5 messages need
        # at least two more seconds after the first two
        self.account.rate_limit = 2
        for index in range(5):
            self.send(f"message {index}")
        started = time.monotonic()
        self.run_queue()
        self.assertGreaterEqual(time.monotonic() - started, 2.0)
        self.assertEqual(
            [m["text"]["body"] for m in self.graph.messages],
            [f"message {index}" for index in range(5)],
        )

    def test_pair_rate_paces_one_customer_not_the_others(self):
        # a burst of 12 to one customer: 10 go now, 2 wait for the pair rate
        for index in range(12):
            self.send(f"part {index}")
        other = self.deliver(self.message("32470333444", body="Hi")).conversation_id
        self.graph.reset()
        other.with_user(self.user_allowed).message_post(
            body="Hello other", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        cron = self.env.ref("whatsapp_team.ir_cron_send_messages")
        self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]).unlink()
        self.run_queue()
        bodies = [m["text"]["body"] for m in self.graph.messages]
        self.assertEqual(bodies, [f"part {i}" for i in range(10)] + ["Hello other"])
        self.assertEqual(self.outbound().mapped("state").count("queued"), 2)
        trigger = self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)])
        self.assertEqual(len(trigger), 1, "the queue comes back for them")
        self.assertGreater(trigger.call_at, fields.Datetime.now())
        self.run_queue()
        self.assertEqual(len(self.graph.messages), 11, "still within the window")
        with freeze_time(fields.Datetime.now() + timedelta(seconds=61)):
            self.run_queue()
        self.assertEqual(
            [m["text"]["body"] for m in self.graph.messages[11:]],
            ["part 10", "part 11"],
        )
