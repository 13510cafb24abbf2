import time

from odoo.tests import tagged

from .common import WhatsappCase


@tagged("post_install", "-at_install", "whatsapp_status")
class TestStatuses(WhatsappCase):
    def setUp(self):
        super().setUp()
        self.conversation = self.deliver(self.message("32470777777")).conversation_id
        self.outbound = self.env["whatsapp.message"].create(
            {
                "wa_message_id": self.new_wamid(),
                "conversation_id": self.conversation.id,
                "direction": "out",
                "message_type": "text",
                "body": "Our answer",
                "state": "sent",
            }
        )

    def send_statuses(self, *items):
        response = self.post_webhook(self.payload(statuses=items))
        self.assertEqual(response.status_code, 200)
        self.process()

    def test_sent_delivered_read(self):
        now = int(time.time())
        wamid = self.outbound.wa_message_id
        self.send_statuses(self.status(wamid, "delivered", timestamp=now))
        self.assertEqual(self.outbound.state, "delivered")
        self.assertTrue(self.outbound.delivered_at)
        self.send_statuses(self.status(wamid, "read", timestamp=now + 5))
        self.assertEqual(self.outbound.state, "read")
        self.assertTrue(self.outbound.read_at)

    def test_out_of_order_never_moves_backwards(self):
        wamid = self.outbound.wa_message_id
        now = int(time.time())
        # read arrives first, then the late delivered and sent
        self.send_statuses(self.status(wamid, "read", timestamp=now))
        self.send_statuses(self.status(wamid, "delivered", timestamp=now - 5))
        self.send_statuses(self.status(wamid, "sent", timestamp=now - 10))
        self.assertEqual(self.outbound.state, "read")
        self.assertTrue(self.outbound.delivered_at, "read implies delivered")
        # the same batch in one body, shuffled
        other = self.outbound.copy({"wa_message_id": self.new_wamid(), "state": "sent"})
        self.send_statuses(
            self.status(other.wa_message_id, "read", timestamp=now),
            self.status(other.wa_message_id, "sent", timestamp=now - 2),
            self.status(other.wa_message_id, "delivered", timestamp=now - 1),
        )
        self.assertEqual(other.state, "read")

    def test_failed_with_meta_error(self):
        wamid = self.outbound.wa_message_id
        self.send_statuses(
            self.status(
                wamid,
                "failed",
                errors=[
                    {
                        "code": 131047,
                        "title": "Re-engagement message",
                        "message": "Re-engagement message",
                        "error_data": {
                            "details": "Message failed to send because more than 24 h"
                            " have passed since the customer last replied."
                        },
                    }
                ],
            )
        )
        self.assertEqual(self.outbound.state, "failed")
        self.assertEqual(self.outbound.error_code, 131047)
        self.assertEqual(self.outbound.error_title, "Re-engagement message")
        self.assertIn("24 h", self.outbound.error_message)

    def test_failed_never_overrides_read(self):
        wamid = self.outbound.wa_message_id
        self.send_statuses(self.status(wamid, "read"))
        self.send_statuses(
            self.status(
                wamid, "failed", errors=[{"code": 131026, "title": "Undeliverable"}]
            )
        )
        self.assertEqual(self.outbound.state, "read")
        self.assertFalse(self.outbound.error_code)

    def test_duplicate_statuses_are_harmless(self):
        wamid = self.outbound.wa_message_id
        for _attempt in range(3):
            self.send_statuses(self.status(wamid, "delivered"))
        self.assertEqual(self.outbound.state, "delivered")
        self.assertEqual(set(self.events().mapped("state")), {"done"})

    def test_status_for_an_unknown_message_is_ignored(self):
        self.send_statuses(self.status("wamid.UNKNOWN", "read"))
        self.assertEqual(self.events()[0].state, "done")
        self.assertEqual(self.outbound.state, "sent")
