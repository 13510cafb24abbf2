from datetime import timedelta

from odoo.tests import tagged

from .common import WhatsappCase


@tagged("post_install", "-at_install", "whatsapp_ui")
class TestUi(WhatsappCase):
    def test_sandbox_tour(self):
        """In a real browser: simulate a customer, read the chat."""
        admin = self.env.ref("base.user_admin")
        admin.groups_id += self.env.ref("whatsapp_team.group_whatsapp_admin")
        sandbox = self.env["whatsapp.account"].create(
            {"name": "Tour Sandbox", "mode": "sandbox", "user_ids": [(4, admin.id)]}
        )
        self.start_tour(
            "/odoo/action-whatsapp_team.whatsapp_account_action",
            "whatsapp_team_sandbox_tour",
            login="admin",
        )
        conversation = self.env["whatsapp.conversation"].search(
            [("account_id", "=", sandbox.id)]
        )
        inbound = conversation.message_ids_wa.filtered(lambda m: m.direction == "in")
        # opening the chat told WhatsApp the customer's message was read
        self.assertEqual(
            [r["message_id"] for r in sandbox._get_sandbox_graph().read_receipts],
            [inbound.wa_message_id],
        )
        self.assertEqual(conversation.partner_id.name, "Tour Customer")
        self.assertEqual(conversation.partner_id.country_id, self.env.ref("base.es"))
        self.assertIn("<b>precio</b>", inbound.mail_message_id.body)
        # the answer typed in the chatter is queued for WhatsApp, then sent
        answer = conversation.message_ids_wa.filtered(lambda m: m.direction == "out")
        self.assertEqual((answer.body, answer.state), ("Sí, 120 EUR", "queued"))
        self.env["whatsapp.message"]._cron_send_queue()
        self.assertEqual(answer.state, "sent")
        sent = sandbox._get_sandbox_graph().messages[-1]
        self.assertEqual(
            (sent["to"], sent["text"]["body"]), ("34612001122", "Sí, 120 EUR")
        )

    def test_failed_message_tour(self):
        """In a real browser: states of sent messages, a failure explained."""
        self.account.user_ids += self.env.ref("base.user_admin")
        self.env.ref("base.user_admin").groups_id += self.env.ref(
            "whatsapp_team.group_whatsapp_user"
        )
        conversation = self.deliver(self.message("32470999888", body="Open?"))
        conversation = conversation.conversation_id
        for body in ("We open at 9", "Your order is ready"):
            conversation.message_post(
                body=body, message_type="comment", subtype_xmlid="mail.mt_comment"
            )
        read, refused = conversation.message_ids_wa.filtered(
            lambda m: m.direction == "out"
        ).sorted("id")
        self.env["whatsapp.message"]._cron_send_queue(limit=1)
        self.deliver(statuses=[self.status(read.wa_message_id, "read")])
        self.graph.fail_next(131026, path_contains="/messages")
        self.env["whatsapp.message"]._cron_send_queue()
        self.assertEqual((read.state, refused.state), ("read", "failed"))
        # two days later, the window is closed
        conversation.last_inbound_at -= timedelta(days=2)
        self.start_tour(
            f"/odoo/action-whatsapp_team.whatsapp_conversation_action/{conversation.id}",
            "whatsapp_team_failed_message_tour",
            login="admin",
        )
