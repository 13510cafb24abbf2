from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.tests import tagged

from .common import ACCESS_TOKEN, APP_SECRET
from .test_outbound import OutboundCase


@tagged("post_install", "-at_install", "whatsapp_outbound")
class TestOutboundThrottling(OutboundCase):
    """Meta's throughput limits hold messages back; they never fail them
    (before a whole day) and never get a message sent twice."""

    def sends(self):
        """How many times the queue called Meta to send a message."""
        return len(
            [
                c
                for c in self.graph.calls
                if c["method"] == "POST" and c["path"].endswith("/messages")
            ]
        )

    def bodies(self):
        return [m["text"]["body"] for m in self.graph.messages]

    def other_customer(self, wa_id="32470333444"):
        chat = self.deliver(self.message(wa_id, body="Hi")).conversation_id
        self.graph.reset()
        return chat

    def post(self, chat, text):
        chat.with_user(self.user_allowed).message_post(
            body=text, message_type="comment", subtype_xmlid="mail.mt_comment"
        )

    def notification(self, message):
        return self.env["mail.notification"].search(
            [
                ("mail_message_id", "=", message.mail_message_id.id),
                ("notification_type", "=", "whatsapp"),
            ]
        )

    def sibling_number(self, phone_number_id, **values):
        return self.env["whatsapp.account"].create(
            {
                "name": f"Number {phone_number_id}",
                "mode": "cloud",
                "phone_number_id": phone_number_id,
                "access_token": ACCESS_TOKEN,
                "app_secret": APP_SECRET,
                "graph_base_url": self.graph_server.url,
                **values,
            }
        )

    def test_throttled_for_two_hours_then_sent_once(self):
        # Meta refuses every send for two hours (today's eight tries would
        # have given up after about four minutes)
        self.graph.fail_next(130429, times=10**6, path_contains="/messages")
        self.send("hello")
        message = self.outbound()
        start = fields.Datetime.now()
        for minute in range(120):
            with freeze_time(start + timedelta(minutes=minute)):
                self.run_queue()
        self.assertEqual((message.state, message.error_code), ("queued", 130429))
        self.assertEqual(message.throttled_since, start)
        waiting = (
            "Waiting: WhatsApp is limiting how fast this number may send; it "
            "goes out automatically."
        )
        self.assertEqual(message.waiting_reason, waiting)
        self.assertFalse(message.error_explanation, "no failure is shown")
        notification = self.notification(message)
        self.assertEqual(
            (
                notification.whatsapp_state,
                notification.notification_status,
                notification.failure_type,
                notification.failure_reason,
            ),
            ("queued", "ready", False, waiting),
        )
        self.assertNotIn("Not delivered", message.mail_message_id.body)
        # backed off up to 15 minutes between tries: Meta was not hammered
        tries = self.sends()
        self.assertGreater(tries, 8)
        self.assertLess(tries, 30)
        self.assertEqual(message.send_attempts, tries)
        self.assertGreater(self.account.throttled_until, start + timedelta(minutes=119))
        self.assertLessEqual(
            self.account.throttled_until, start + timedelta(minutes=135)
        )

        self.graph.clear_failures()
        with freeze_time(start + timedelta(minutes=136)):
            self.run_queue()
            self.run_queue()
        self.assertEqual(message.state, "sent")
        self.assertEqual(self.bodies(), ["hello"], "sent exactly once")
        self.assertEqual(
            (message.throttled_since, message.error_code, message.waiting_reason),
            (False, 0, False),
        )
        self.assertEqual(self.account.throttle_hits, 0)
        self.assertEqual(self.notification(message).failure_reason, False)

    def test_throttled_for_a_whole_day_fails(self):
        self.graph.fail_next(130429, times=2, path_contains="/messages")
        self.send("hello")
        message = self.outbound()
        start = fields.Datetime.now()
        with freeze_time(start):
            self.run_queue()
        with freeze_time(start + timedelta(hours=24, minutes=1)):
            self.run_queue()
        self.assertEqual((message.state, message.error_code), ("failed", 130429))
        self.assertIn("for a whole day", message.error_explanation)
        self.assertIn("Not delivered on WhatsApp", message.mail_message_id.body)
        self.assertFalse(self.graph.messages)

    def test_pair_limit_holds_back_only_that_customer(self):
        other = self.other_customer()
        self.graph.fail_next(131056, path_contains="/messages")
        self.send("first")
        self.send("second")
        self.post(other, "Hello other")
        now = fields.Datetime.now()
        with freeze_time(now):
            self.run_queue()
        first, second = self.outbound()
        self.assertEqual(self.bodies(), ["Hello other"])
        self.assertEqual(self.sends(), 2, "the second message waited its turn")
        self.assertEqual((first.state, second.state), ("queued", "queued"))
        self.assertIn("this customer", first.waiting_reason)
        self.assertGreater(self.conversation.throttled_until, now)
        self.assertFalse(self.account.throttled_until, "the number goes on")
        self.assertFalse(other.throttled_until)
        with freeze_time(now + timedelta(minutes=1)):
            self.run_queue()
        self.assertEqual(self.bodies(), ["Hello other", "first", "second"])
        self.assertEqual(self.conversation.throttle_hits, 0)

    def check_number_paused(self, code, retry_after=None):
        other = self.other_customer()
        self.graph.fail_next(code, path_contains="/messages", retry_after=retry_after)
        self.send("first")
        self.post(other, "Hello other")
        now = fields.Datetime.now()
        with freeze_time(now):
            self.run_queue()
        first = self.outbound()
        self.assertEqual(self.sends(), 1, "the other customer's message waits too")
        self.assertEqual(first.state, "queued")
        self.assertIn("this business account", first.waiting_reason)
        self.assertGreaterEqual(
            self.account.throttled_until, now + timedelta(seconds=30)
        )
        with freeze_time(self.account.throttled_until - timedelta(seconds=1)):
            self.run_queue()
        self.assertEqual(self.sends(), 1, "nothing is sent while the pause lasts")
        with freeze_time(self.account.throttled_until + timedelta(seconds=1)):
            self.run_queue()
        self.assertEqual(self.bodies(), ["first", "Hello other"])
        return now

    def test_business_account_limit_pauses_its_numbers(self):
        self.account.business_account_id = "waba-1"
        same_waba = self.sibling_number("200001", business_account_id="waba-1")
        other_waba = self.sibling_number("200002", business_account_id="waba-2")
        # Meta said when to come back: ten minutes, longer than the backoff's
        now = self.check_number_paused(80007, retry_after=600)
        self.assertEqual(
            same_waba.throttled_until, now + timedelta(seconds=600), "same account"
        )
        self.assertFalse(other_waba.throttled_until, "another business account")

    def test_app_limit_pauses_the_app_numbers(self):
        self.account.app_id = "app-1"
        same_app = self.sibling_number("200003", app_id="app-1")
        other_app = self.sibling_number(
            "200004", app_id="app-2", business_account_id="102290129340398"
        )
        now = self.check_number_paused(4)
        self.assertGreaterEqual(same_app.throttled_until, now + timedelta(seconds=30))
        self.assertFalse(other_app.throttled_until, "another app")

    def test_other_errors_keep_their_own_tries(self):
        # throttled three times, then the server fails: the eight tries for
        # server errors are counted apart from the throttled ones
        self.graph.fail_next(130429, times=3, path_contains="/messages")
        self.graph.fail_http(502, times=20, path_contains="/messages")
        self.send("hello")
        now = fields.Datetime.now()
        for minute in range(0, 180, 10):
            with freeze_time(now + timedelta(minutes=minute)):
                self.run_queue()
        message = self.outbound()
        self.assertEqual(
            (message.state, message.send_attempts, message.throttled_attempts),
            ("failed", 11, 3),
        )
        self.assertIn("Not delivered on WhatsApp", message.mail_message_id.body)
        self.assertFalse(message.waiting_reason)

    def test_refusal_after_throttling_fails_at_once(self):
        self.graph.fail_next(130429, path_contains="/messages")
        self.graph.fail_next(131026, path_contains="/messages")
        self.send("hello")
        now = fields.Datetime.now()
        with freeze_time(now):
            self.run_queue()
        with freeze_time(now + timedelta(minutes=1)):
            self.run_queue()
        message = self.outbound()
        self.assertEqual((message.state, message.error_code), ("failed", 131026))
        self.assertIn("may not use WhatsApp", message.error_explanation)

    def test_waiting_message_tour(self):
        """In a real browser: a held-back message shows why it waits."""
        admin = self.env.ref("base.user_admin")
        self.account.user_ids += admin
        admin.groups_id += self.env.ref("whatsapp_team.group_whatsapp_user")
        self.graph.fail_next(130429, path_contains="/messages")
        self.send("See you at 9")
        self.run_queue()
        self.assertEqual(self.outbound().state, "queued")
        self.start_tour(
            "/odoo/action-whatsapp_team.whatsapp_conversation_action/"
            f"{self.conversation.id}",
            "whatsapp_team_waiting_message_tour",
            login="admin",
        )
