from odoo.tests import new_test_user, tagged

from .common import WhatsappCase


@tagged("post_install", "-at_install", "whatsapp_ui", "whatsapp_notify")
class TestNotifyUi(WhatsappCase):
    def test_open_a_chat_from_the_messaging_menu(self):
        """In a real browser, as a salesperson: the customer's message is in
        the messaging menu and opens the chat where it can be answered."""
        salesperson = new_test_user(
            self.env,
            login="wa_tour_notify",
            password="wa_tour_notify_pw",
            name="Tour Notified",
            groups="whatsapp_team.group_whatsapp_user",
        )
        self.account.user_ids = salesperson
        chat = self.deliver(
            self.message("32470300001", name="Nina Notify", body="Is my sofa ready?")
        ).conversation_id
        self.assertFalse(chat.user_id, "a number's user, no team: unassigned")
        self.start_tour(
            "/odoo",
            "whatsapp_team_open_from_messaging_menu_tour",
            login="wa_tour_notify",
        )
