from odoo.tests import tagged

from .common import WhatsappCase


@tagged("post_install", "-at_install", "whatsapp_ui")
class TestTemplateUi(WhatsappCase):
    def test_template_tour(self):
        """In a real browser: write a template, see its preview, submit it."""
        admin = self.env.ref("base.user_admin")
        admin.groups_id += self.env.ref("whatsapp_team.group_whatsapp_admin")
        sandbox = self.env["whatsapp.account"].create(
            {"name": "Tour Sandbox", "mode": "sandbox", "sequence": 1}
        )
        self.start_tour(
            "/odoo/action-whatsapp_team.whatsapp_template_action",
            "whatsapp_team_template_tour",
            login="admin",
        )
        template = self.env["whatsapp.template"].search([("name", "=", "tour_welcome")])
        self.assertEqual((template.account_id, template.status), (sandbox, "approved"))
        self.assertEqual(
            template.variable_ids.mapped("sample_value"), ["Ana", "our shop"]
        )
