from odoo.exceptions import UserError
from odoo.tests import Form, new_test_user, tagged

from .common import APP_SECRET, WhatsappCase


@tagged("post_install", "-at_install", "whatsapp_crm")
class TestCrm(WhatsappCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # a salesperson answering on the number
        cls.salesperson = new_test_user(
            cls.env,
            login="wa_salesperson",
            groups="whatsapp_team.group_whatsapp_user,sales_team.group_sale_salesman",
        )
        cls.account.user_ids += cls.salesperson
        cls.partner = cls.env["res.partner"].create(
            {
                "name": "Ana Souza",
                "mobile": "(11) 98765-4321",
                "country_id": cls.env.ref("base.br").id,
            }
        )

    def open_chat(self, record, user=None):
        action = record.with_user(user or self.salesperson).action_open_whatsapp()
        if action["res_model"] == "whatsapp.open.chat":
            return action
        return self.env["whatsapp.conversation"].browse(action["res_id"])

    def test_partner_button_starts_a_conversation_once(self):
        conversation = self.open_chat(self.partner)
        self.assertEqual(conversation.partner_id, self.partner)
        self.assertEqual(conversation.account_id, self.account)
        self.assertEqual(conversation.wa_id, "5511987654321")
        self.assertFalse(conversation.window_open, "a new chat starts with a template")
        self.assertEqual(self.open_chat(self.partner), conversation)
        # the customer answers on their WhatsApp id without the ninth digit
        inbound = self.deliver(self.message("551187654321", body="Oi"))
        self.assertEqual(inbound.conversation_id, conversation)

    def test_partner_button_opens_the_existing_chat(self):
        existing = self.deliver(
            self.message("5511987654321", body="Oi")
        ).conversation_id
        self.assertEqual(self.open_chat(self.partner), existing)
        self.assertEqual(self.partner.whatsapp_conversation_count, 1)

    def test_several_numbers_ask_which_one(self):
        other = self.env["whatsapp.account"].create(
            {
                "name": "Support",
                "phone_number_id": "333",
                "app_secret": APP_SECRET,
                "access_token": "x",
                "graph_base_url": self.graph_server.url,
                "user_ids": [(4, self.salesperson.id)],
            }
        )
        self.deliver(self.message("5511987654321", body="Oi"), account=other)
        action = self.open_chat(self.partner)
        self.assertEqual(action["res_model"], "whatsapp.open.chat")
        wizard = Form(
            self.env["whatsapp.open.chat"]
            .with_user(self.salesperson)
            .with_context(**action["context"])
        )
        self.assertEqual(wizard.account_id, other, "the number they last chatted on")
        wizard.account_id = self.account
        opened = wizard.save().action_open()
        conversation = self.env["whatsapp.conversation"].browse(opened["res_id"])
        self.assertEqual(conversation.account_id, self.account)

    def test_partner_without_number_or_user_without_number(self):
        nobody = self.env["res.partner"].create({"name": "No Phone"})
        with self.assertRaisesRegex(UserError, "no mobile or phone number"):
            self.open_chat(nobody)
        outsider = new_test_user(
            self.env, login="wa_outsider", groups="whatsapp_team.group_whatsapp_user"
        )
        with self.assertRaisesRegex(UserError, "ask an administrator"):
            self.open_chat(self.partner, user=outsider)

    def test_lead_without_partner_gets_one_and_a_chat(self):
        lead = self.env["crm.lead"].create(
            {
                "name": "Sofa order",
                "contact_name": "Rui Costa",
                "phone": "+351 912 345 678",
                "user_id": self.salesperson.id,
            }
        )
        conversation = self.open_chat(lead)
        self.assertEqual(lead.partner_id.name, "Rui Costa")
        self.assertEqual(conversation.partner_id, lead.partner_id)
        self.assertEqual(conversation.wa_id, "351912345678")

    def test_reply_from_the_lead_and_history(self):
        inbound = self.deliver(
            self.message("5511987654321", body="Do you have it in blue?")
        )
        lead = self.env["crm.lead"].create(
            {
                "name": "Blue sofa",
                "partner_id": self.partner.id,
                "user_id": self.salesperson.id,
            }
        )
        self.assertEqual(lead.with_user(self.salesperson).whatsapp_message_ids, inbound)
        conversation = inbound.conversation_id
        # the dialog's composer posts in the chat; over the API, its text
        self.env["whatsapp.reply"].with_user(self.salesperson).create(
            {"conversation_id": conversation.id, "body": "Yes!\nIn *navy* too."}
        ).action_send()
        self.env["whatsapp.message"]._cron_send_queue()
        self.assertEqual(
            self.graph.messages[-1]["text"]["body"], "Yes!\nIn *navy* too."
        )
        lead.invalidate_recordset()
        history = lead.with_user(self.salesperson).whatsapp_message_ids
        # read as a chat: oldest first, WhatsApp's formatting rendered
        self.assertEqual(history.mapped("direction"), ["in", "out"])
        self.assertIn("<b>navy</b>", history[1].body_html)
        self.assertEqual(
            self.partner.with_user(self.salesperson).whatsapp_message_ids, history
        )

    def test_open_chat_from_the_partner_or_lead(self):
        conversation = self.deliver(
            self.message("5511987654321", body="Oi")
        ).conversation_id
        action = conversation.with_user(self.salesperson).action_open_chat()
        if action["type"] == "ir.actions.client":
            self.assertEqual(action["tag"], "whatsapp_team.inbox")
            self.assertEqual(action["context"]["active_id"], conversation.id)
        else:
            self.assertEqual(
                (action["res_model"], action["res_id"]),
                ("whatsapp.conversation", conversation.id),
            )
        for view in ("res_partner_view_form", "crm_lead_view_form"):
            arch = self.env.ref(f"whatsapp_team.{view}").arch
            self.assertIn('name="action_open_chat"', arch)

    def test_reply_outside_the_window_points_to_templates(self):
        conversation = self.open_chat(self.partner)
        wizard = (
            self.env["whatsapp.reply"]
            .with_user(self.salesperson)
            .create({"conversation_id": conversation.id, "body": "hello"})
        )
        self.assertFalse(wizard.window_open)
        with self.assertRaisesRegex(UserError, "approved template"):
            wizard.action_send()
        self.assertEqual(
            wizard.action_send_template()["res_model"], "whatsapp.template.send"
        )

    def test_people_without_whatsapp_see_plain_partner_and_lead_forms(self):
        seller = new_test_user(
            self.env, login="wa_seller", groups="sales_team.group_sale_salesman"
        )
        self.deliver(self.message("5511987654321", body="Oi"))
        self.assertNotIn(
            "whatsapp_message_ids",
            self.env["res.partner"].with_user(seller).fields_get(),
        )
        partner_form = Form(self.partner.with_user(seller))
        self.assertEqual(partner_form.name, "Ana Souza")
        lead = self.env["crm.lead"].create(
            {"name": "L", "partner_id": self.partner.id, "user_id": seller.id}
        )
        self.assertEqual(Form(lead.with_user(seller)).name, "L")

    def test_smart_button_lists_every_chat_across_numbers(self):
        second = self.env["whatsapp.account"].create(
            {
                "name": "Support",
                "mode": "cloud",
                "phone_number_id": "2222",
                "access_token": "x",
                "app_secret": "y",
                "graph_base_url": self.graph_server.url,
                "user_ids": [(4, self.salesperson.id)],
            }
        )
        partner = self.partner.with_user(self.salesperson)
        # no chat yet: the button starts one (choosing the number)
        self.assertEqual(
            partner.action_whatsapp_button()["res_model"], "whatsapp.open.chat"
        )
        chats = self.env["whatsapp.conversation"]
        for account in (self.account, second):
            chats |= (
                self.env["whatsapp.conversation"]
                .with_user(self.salesperson)
                ._get_or_create_for_partner(account, self.partner)
            )
        partner.invalidate_recordset(["whatsapp_conversation_count"])
        self.assertEqual(partner.whatsapp_conversation_count, 2)
        action = partner.action_whatsapp_button()
        self.assertEqual(action["res_model"], "whatsapp.conversation")
        self.assertEqual(
            self.env["whatsapp.conversation"].search(action["domain"]), chats
        )
