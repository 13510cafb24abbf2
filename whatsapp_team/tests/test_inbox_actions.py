import time

from odoo.tests import new_test_user, tagged

from .common import WhatsappCase
from .test_team import TeamCase

SALES = "whatsapp_team.group_whatsapp_user,sales_team.group_sale_salesman"
INBOX = "/odoo/action-whatsapp_team.whatsapp_inbox_action"


@tagged("post_install", "-at_install", "whatsapp_ui", "whatsapp_inbox")
class TestInboxActions(WhatsappCase):
    """A salesperson's day in the inbox, where it went wrong."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mia = new_test_user(
            cls.env, login="wa_probe_mia", name="Mia Probe", groups=SALES
        )
        cls.team = cls.env["crm.team"].create(
            {"name": "Probe Team", "whatsapp_assignment": "manual"}
        )
        cls.env["crm.team.member"].create(
            {"crm_team_id": cls.team.id, "user_id": cls.mia.id}
        )
        cls.account.write(
            {
                "user_ids": [(5, 0, 0)],
                "team_ids": [(6, 0, cls.team.ids)],
                "team_id": cls.team.id,
            }
        )

    def chat(self, wa_id, name, body, minutes_ago=0):
        chat = self.deliver(
            self.message(
                wa_id,
                name=name,
                body=body,
                timestamp=int(time.time() - minutes_ago * 60),
            )
        ).conversation_id
        chat.sudo().user_id = self.mia
        return chat

    def test_a_quoted_answer_quotes_the_question(self):
        rita = self.chat("32470700001", "Rita Probe", "Do you ship to Ghent?")
        question = rita.message_ids.filtered(
            lambda m: "Do you ship to Ghent?" in (m.body or "")
        )
        self.start_tour(INBOX, "whatsapp_team_inbox_quote_tour", login="wa_probe_mia")
        answer = self.env["whatsapp.message"].search(
            [("conversation_id", "=", rita.id), ("body", "=", "Yes, on Tuesdays.")]
        )
        self.assertEqual(answer.mail_message_id.parent_id, question)
        inbound = self.env["whatsapp.message"].search(
            [("mail_message_id", "=", question.id)]
        )
        # WhatsApp shows the customer which message is answered
        self.assertEqual(answer.reply_to_wa_id, inbound.wa_message_id)

    def test_pass_on_snooze_and_create_lead_open(self):
        rita = self.chat("32470700002", "Rita Probe", "Hello")
        rita.sudo().lead_id = False
        self.start_tour(INBOX, "whatsapp_team_inbox_buttons_tour", login="wa_probe_mia")
        self.assertTrue(rita.lead_id)

    def test_j_goes_through_the_chats(self):
        for index, name in enumerate(["Una Probe", "Vera Probe", "Wim Probe"]):
            self.chat(
                f"3247070001{index}", name, f"Hello from {name}", minutes_ago=index
            )
        self.start_tour(
            INBOX, "whatsapp_team_inbox_keyboard_tour", login="wa_probe_mia"
        )


@tagged("post_install", "-at_install", "whatsapp_security")
class TestPassOnWithLead(TeamCase):
    def test_a_salesperson_passes_on_a_chat_whose_lead_follows(self):
        """Mia passes her chat on to a colleague; its lead follows it (the
        number's default). She may no longer read the lead afterwards: the
        lead's fields CRM recomputes at the end of her request must not be
        read in her name."""
        chat = self.deliver(
            self.message("32470799001", name="Lea Probe", body="Hi")
        ).conversation_id
        chat.user_id = self.ana
        chat.with_user(self.ana).action_create_lead()
        lead = chat.lead_id
        self.assertEqual(lead.user_id, self.ana)
        wizard = (
            self.env["whatsapp.transfer"]
            .with_user(self.ana)
            .create({"conversation_id": chat.id, "user_id": self.ben.id})
        )
        wizard.action_transfer()
        # what the end of her request does before it commits
        wizard.env.flush_all()
        self.assertEqual(chat.user_id, self.ben)
        self.assertEqual(lead.user_id, self.ben)
