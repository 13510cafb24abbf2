import time

from odoo import api, models

from ..tools import satisfaction

# Customers of the demo who rate their chat once it is done: (name, phone,
# salesperson's demo user, the button they tap, what they write after it).
# Mia's comes last: the round-robin's turns stay as the demo's first chats
# left them (Leo's turn next).
DEMO_RATINGS = [
    ("Omar Haddad", "+971 50 555 1234", "user_leo_demo", "rating_5", "Super fast!"),
    (
        "Paul Girard",
        "+33 6 55 55 12 34",
        "user_leo_demo",
        "rating_1",
        "I waited two days for the price list.",
    ),
    ("Nina Keller", "+41 79 555 12 34", "user_mia_demo", "rating_5", ""),
]


class WhatsappSandboxMessage(models.TransientModel):
    """The sandbox's customers answer satisfaction surveys too."""

    _inherit = "whatsapp.sandbox.message"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _build_payload(self, account, values):
        # a tap on a button: ``extra`` adds what such a message carries
        # (``interactive``, ``context``) to the simulated message
        payload = super()._build_payload(account, values)
        if values.get("extra"):
            message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
            message.update(values["extra"])
        return payload

    @api.model
    def _load_demo_ratings(self, account_id):
        """Three done chats of the demo team rated by their customers: two
        happy ones, and an unhappy one, with a comment, that is the team
        leader's activity."""
        account = self.env["whatsapp.account"].browse(account_id)
        buttons = {code: title for code, title, _value in satisfaction.BUTTONS}
        now = int(time.time())
        for name, phone, user_xmlid, code, comment in DEMO_RATINGS:
            customer = {"name": name, "phone": phone}
            first = self._simulate(
                account,
                {
                    **customer,
                    "type": "text",
                    "body": "Hello, is my order ready?",
                    "timestamp": now - 3 * 3600,
                },
            )
            chat = first.conversation_id
            chat.user_id = self.env.ref(f"whatsapp_team.{user_xmlid}")
            chat.action_done()
            chat.rating_request_at = False
            chat._send_rating_request()
            self._simulate(
                account,
                {
                    **customer,
                    "type": "interactive",
                    "extra": {
                        "interactive": {
                            "type": "button_reply",
                            "button_reply": {"id": code, "title": buttons[code]},
                        }
                    },
                },
            )
            if comment:
                self._simulate(account, {**customer, "type": "text", "body": comment})
                # the comment reopened the chat: read and closed again
                chat.action_done()
