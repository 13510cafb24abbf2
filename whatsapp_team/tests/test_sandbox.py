from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import WhatsappCase


@tagged("post_install", "-at_install", "whatsapp_sandbox")
class TestSandbox(WhatsappCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = cls.env["whatsapp.account"].create(
            {"name": "Try it", "mode": "sandbox"}
        )

    def test_sandbox_number_is_ready_to_use(self):
        self.assertTrue(self.sandbox.phone_number_id.startswith("sandbox-"))
        self.assertTrue(self.sandbox.app_secret)
        self.assertEqual(self.sandbox.api_version, "v26.0")
        self.assertTrue(self.sandbox.callback_url.endswith("/whatsapp/webhook"))

    def test_simulated_customer_goes_through_the_signed_webhook(self):
        wizard = self.env["whatsapp.sandbox.message"].create(
            {
                "account_id": self.sandbox.id,
                "customer_name": "Rosa",
                "customer_phone": "+34 612 34 56 78",
                "body": "¿Tienen *descuentos*?",
            }
        )
        action = wizard.action_send()
        conversation = self.env["whatsapp.conversation"].browse(action["res_id"])
        self.assertEqual(conversation.account_id, self.sandbox)
        self.assertEqual(conversation.partner_id.name, "Rosa")
        self.assertEqual(conversation.partner_id.country_id, self.env.ref("base.es"))
        self.assertIn(
            "<b>descuentos</b>", conversation.message_ids_wa.mail_message_id.body
        )
        event = self.env["whatsapp.webhook.event"].search(
            [("account_id", "=", self.sandbox.id)]
        )
        self.assertEqual(event.state, "done")

    def test_simulated_image_is_fetched_from_the_sandbox_graph(self):
        wizard = self.env["whatsapp.sandbox.message"].create(
            {
                "account_id": self.sandbox.id,
                "customer_name": "Rosa",
                "message_type": "image",
                "body": "look",
            }
        )
        conversation = self.env["whatsapp.conversation"].browse(
            wizard.action_send()["res_id"]
        )
        message = conversation.message_ids_wa
        self.assertEqual(message.media_state, "done")
        self.assertTrue(message.attachment_ids.raw.startswith(b"\x89PNG"))

    def test_username_only_customer(self):
        wizard = self.env["whatsapp.sandbox.message"].create(
            {
                "account_id": self.sandbox.id,
                "customer_name": "Sam",
                "customer_phone": False,
                "customer_user_id": "US.13491208655302741918",
                "customer_username": "sam.builds",
            }
        )
        conversation = self.env["whatsapp.conversation"].browse(
            wizard.action_send()["res_id"]
        )
        self.assertEqual(conversation.wa_username, "sam.builds")
        self.assertFalse(conversation.phone)
        self.assertEqual(conversation.partner_id.country_id, self.env.ref("base.us"))

    def test_cloud_numbers_cannot_simulate(self):
        with self.assertRaises(UserError):
            self.env["whatsapp.sandbox.message"]._simulate(
                self.account, {"phone": "+32470000000"}
            )

    def test_sandbox_offers_approved_templates(self):
        self.sandbox.action_sync_templates()
        self.sandbox.action_sync_templates()  # same ids: nothing duplicated
        templates = self.sandbox.template_ids
        self.assertEqual(
            sorted(templates.mapped("name")), ["follow_up", "order_update"]
        )
        self.assertEqual(set(templates.mapped("status")), {"approved"})
