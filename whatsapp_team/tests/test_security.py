from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import WhatsappCase


@tagged("post_install", "-at_install", "whatsapp_security")
class TestSecurity(WhatsappCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_other = new_test_user(
            cls.env, login="wa_other", groups="whatsapp_team.group_whatsapp_user"
        )
        cls.manager = new_test_user(
            cls.env, login="wa_manager", groups="whatsapp_team.group_whatsapp_manager"
        )
        cls.admin = new_test_user(
            cls.env, login="wa_admin", groups="whatsapp_team.group_whatsapp_admin"
        )
        cls.employee = new_test_user(
            cls.env, login="wa_employee", groups="base.group_user"
        )
        cls.portal = new_test_user(
            cls.env, login="wa_portal", groups="base.group_portal"
        )

    def setUp(self):
        super().setUp()
        media_id = self.graph.add_media(b"secret picture", "image/jpeg")
        self.wa_message = self.deliver(
            self.message(
                "32470888888",
                "image",
                image={"id": media_id, "mime_type": "image/jpeg"},
            )
        )
        self.conversation = self.wa_message.conversation_id
        self.attachment = self.wa_message.attachment_ids

    def test_groups_are_nested(self):
        self.assertTrue(self.admin.has_group("whatsapp_team.group_whatsapp_manager"))
        self.assertTrue(self.admin.has_group("whatsapp_team.group_whatsapp_user"))
        self.assertTrue(self.manager.has_group("whatsapp_team.group_whatsapp_user"))
        self.assertFalse(self.manager.has_group("whatsapp_team.group_whatsapp_admin"))

    def test_allowed_user_reads_the_chat_messages_and_attachments(self):
        conversation = self.conversation.with_user(self.user_allowed)
        self.assertEqual(conversation.read(["name"])[0]["name"], self.conversation.name)
        self.assertEqual(
            self.wa_message.with_user(self.user_allowed).body, self.wa_message.body
        )
        self.assertEqual(
            self.attachment.with_user(self.user_allowed).raw, b"secret picture"
        )
        self.assertTrue(
            conversation.message_ids.with_user(self.user_allowed).read(["body"])
        )
        self.assertEqual(
            self.env["whatsapp.conversation"].with_user(self.user_allowed).search([]),
            self.conversation,
        )

    def test_user_not_allowed_on_the_number_sees_nothing(self):
        Conversation = self.env["whatsapp.conversation"].with_user(self.user_other)
        self.assertFalse(Conversation.search([]))
        with self.assertRaises(AccessError):
            self.conversation.with_user(self.user_other).read(["name"])
        with self.assertRaises(AccessError):
            self.wa_message.with_user(self.user_other).read(["body"])
        with self.assertRaises(AccessError):
            self.attachment.with_user(self.user_other).read(["raw"])
        with self.assertRaises(AccessError):
            self.conversation.message_ids.with_user(self.user_other).read(["body"])
        self.assertFalse(
            self.env["whatsapp.account"].with_user(self.user_other).search([])
        )

    def test_manager_needs_access_to_the_number_too(self):
        self.assertFalse(
            self.env["whatsapp.conversation"].with_user(self.manager).search([])
        )
        self.account.user_ids += self.manager
        self.assertEqual(
            self.env["whatsapp.conversation"].with_user(self.manager).search([]),
            self.conversation,
        )

    def test_secrets_are_for_administrators_only(self):
        for user in (self.user_allowed, self.manager):
            account = self.account.with_user(user)
            self.account.user_ids += user
            self.assertEqual(account.read(["name"])[0]["name"], "Sales")
            for secret in ("access_token", "app_secret", "verify_token"):
                with self.assertRaises(AccessError, msg=f"{user.login} read {secret}"):
                    account.read([secret])
            with self.assertRaises(AccessError):
                account.write({"name": "Hacked"})
            fields = self.env["whatsapp.account"].with_user(user).fields_get()
            self.assertNotIn("access_token", fields)
        account = self.account.with_user(self.admin)
        self.assertEqual(account.access_token, self.account.access_token)
        self.assertTrue(account.app_secret)
        self.assertEqual(
            self.env["whatsapp.conversation"].with_user(self.admin).search([]),
            self.conversation,
        )

    def test_users_cannot_forge_messages_or_events(self):
        with self.assertRaises(AccessError):
            self.env["whatsapp.message"].with_user(self.user_allowed).create(
                {
                    "wa_message_id": "wamid.FORGED",
                    "conversation_id": self.conversation.id,
                    "direction": "in",
                    "message_type": "text",
                    "state": "received",
                }
            )
        with self.assertRaises(AccessError):
            self.env["whatsapp.webhook.event"].with_user(self.manager).search([])
        self.assertTrue(
            self.env["whatsapp.webhook.event"].with_user(self.admin).search([])
        )

    def test_employee_portal_and_public_get_nothing(self):
        public = self.env.ref("base.public_user")
        for user in (self.employee, self.portal, public):
            for model in (
                "whatsapp.conversation",
                "whatsapp.message",
                "whatsapp.account",
            ):
                with self.assertRaises(AccessError, msg=f"{user.login} on {model}"):
                    self.env[model].with_user(user).search([])
            with self.assertRaises(AccessError):
                self.attachment.with_user(user).read(["raw"])

    def test_other_company_numbers_are_hidden(self):
        other_company = self.env["res.company"].create({"name": "Other Co"})
        self.account.user_ids += self.admin
        self.admin.write(
            {"company_ids": [(6, 0, other_company.ids)], "company_id": other_company.id}
        )
        self.assertFalse(
            self.env["whatsapp.conversation"]
            .with_user(self.admin)
            .with_company(other_company)
            .search([])
        )

    def test_every_model_has_access_rights(self):
        created = self.env["ir.model.data"].search(
            [("module", "=", "whatsapp_team"), ("model", "=", "ir.model")]
        )
        own = self.env["ir.model"].browse(created.mapped("res_id"))
        self.assertGreaterEqual(len(own), 10)
        for model in own:
            self.assertTrue(
                self.env["ir.model.access"].search_count([("model_id", "=", model.id)]),
                f"{model.model} has no access rights",
            )

    def test_only_administrators_simulate_customers(self):
        sandbox = self.env["whatsapp.account"].create(
            {"name": "Try", "mode": "sandbox"}
        )
        sandbox.user_ids = self.user_allowed | self.manager
        for user in (self.user_allowed, self.manager):
            with self.assertRaises(AccessError):
                self.env["whatsapp.sandbox.message"].with_user(user).create(
                    {"account_id": sandbox.id, "customer_name": "X"}
                )
        wizard = (
            self.env["whatsapp.sandbox.message"]
            .with_user(self.admin)
            .create({"account_id": sandbox.id, "customer_name": "X"})
        )
        self.assertTrue(wizard.action_send()["res_id"])
