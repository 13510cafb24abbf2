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
        self.assertIn("<b>precio</b>", conversation.message_ids_wa.mail_message_id.body)
