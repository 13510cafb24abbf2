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
        self.assertEqual(conversation.partner_id.name, "Tour Customer")
        self.assertEqual(conversation.partner_id.country_id, self.env.ref("base.es"))
        inbound = conversation.message_ids_wa.filtered(lambda m: m.direction == "in")
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
