import json
import time

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..tools import signature
from ..tools.payload import APP_CONTACTS_FIELD, ECHOES_FIELD, HISTORY_FIELD
from .whatsapp_sandbox_message import _PIXEL_PNG

DAY = 24 * 3600

# The demo's WhatsApp Business app: its contacts, and its chat history in
# Meta's three phases (2: 90 to 180 days back, 1: up to 90 days, 0: the last
# day), sent oldest first. Each message: (customer, days back, from the
# business?, type, text, status).
DEMO_APP_CONTACTS = [
    ("Carla Mendes", "+351 912 345 678"),
    ("Tomás Ribeiro", "+351 913 000 111"),
]
DEMO_APP_HISTORY = [
    (
        2,
        40,
        [
            ("+351 912 345 678", 120, False, "text", "Olá! Do you deliver to Porto?"),
            ("+351 912 345 678", 120, True, "text", "Yes, every Tuesday 🚚"),
        ],
    ),
    (
        1,
        80,
        [
            ("+351 913 000 111", 45, False, "text", "Thanks for the quick repair!"),
            ("+351 913 000 111", 45, True, "text", "Anytime, Tomás!"),
            ("+351 912 345 678", 30, False, "media_placeholder", ""),
            ("+351 912 345 678", 30, False, "text", "This one, in *green*?"),
            (
                "+351 912 345 678",
                30,
                True,
                "text",
                "We have it in green: two weeks for delivery.",
            ),
        ],
    ),
    (
        0,
        100,
        [
            ("+351 912 345 678", 0.5, False, "text", "Ordered! 💚"),
            ("+351 912 345 678", 0.5, True, "text", "Thank you Carla!"),
        ],
    ),
]


def _digits(number):
    return "".join(char for char in number or "" if char.isdigit())


class WhatsappSandboxMessage(models.TransientModel):
    """The sandbox plays the WhatsApp Business app too, on a sandbox number
    shared with it: a message the business sends from the app, the app's
    contacts and its chat history, each in the webhook body Meta sends."""

    _inherit = "whatsapp.sandbox.message"

    account_coexistence = fields.Boolean(related="account_id.coexistence")
    sender = fields.Selection(
        [
            ("customer", "The customer"),
            ("business_app", "The business, from the WhatsApp Business app"),
        ],
        string="Written By",
        default="customer",
        required=True,
        help="On a number shared with the WhatsApp Business app, play the "
        "business answering from the app on its phone: the message shows in "
        "the chat and answers the customer, and is not sent again.",
    )

    def action_send(self):
        self.ensure_one()
        if self.sender != "business_app":
            return super().action_send()
        if not self.customer_phone and not self.customer_user_id:
            raise UserError(
                _("Give the customer a phone number or a business-scoped user id.")
            )
        message = self._simulate_echo(
            self.account_id,
            {
                "phone": self.customer_phone,
                "user_id": self.customer_user_id,
                "type": self.message_type,
                "body": self.body,
            },
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": "whatsapp.conversation",
            "res_id": message.conversation_id.id,
            "view_mode": "form",
            "target": "current",
        }

    # ------------------------------------------------------------
    # Meta's bodies
    # ------------------------------------------------------------

    @api.model
    def _build_app_payload(self, account, field, key, items):
        """The body of a webhook of the WhatsApp Business app's ``field``
        (its ``value`` holding ``items`` under ``key``), shaped as Meta's
        references for ``smb_message_echoes``, ``history`` and
        ``smb_app_state_sync`` give it."""
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": account.business_account_id or "sandbox",
                    "changes": [
                        {
                            "field": field,
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": _digits(
                                        account.display_phone_number
                                    ),
                                    "phone_number_id": account.phone_number_id,
                                },
                                key: items,
                            },
                        }
                    ],
                }
            ],
        }

    @api.model
    def _app_message(self, account, values):
        """One message of the app (``values`` as for :meth:`_build_payload`)
        as Meta writes it in an echo or in the history: from the business
        number to the customer, or from the customer."""
        account_sudo = account.sudo()
        if values.get("type") == "image" and not values.get("media_id"):
            graph = account_sudo._get_sandbox_graph()
            values["media_id"] = graph.add_media(
                values.get("content") or _PIXEL_PNG,
                values.get("mime_type", "image/png"),
            )
        body = self._build_payload(account_sudo, values)
        message = body["entry"][0]["changes"][0]["value"]["messages"][0]
        customer = _digits(values.get("phone")) or values.get("user_id") or ""
        message.pop("from_user_id", None)
        if values.get("from_business", True):
            message["from"] = _digits(account_sudo.display_phone_number)
            message["to"] = customer
        else:
            message["from"] = customer
        if message["type"] == "media_placeholder":
            message.pop("media_placeholder", None)
        if values.get("status"):
            message["history_context"] = {"status": values["status"]}
        return message

    @api.model
    def _deliver_app(self, account, field, key, items):
        """Sign the body as Meta would and process it at once, like
        :meth:`_simulate` (its parts too, when it is a large one)."""
        account_sudo = account.sudo()
        if account_sudo.mode != "sandbox":
            raise UserError(_("Only sandbox numbers can simulate the business app."))
        payload = self._build_app_payload(account_sudo, field, key, items)
        body = json.dumps(payload).encode()
        Event_sudo = self.env["whatsapp.webhook.event"].sudo()
        status, text, event = Event_sudo._receive(
            body, signature.sign(account_sudo.app_secret, body)
        )
        if status != 200:
            raise UserError(
                _(
                    "The sandbox webhook answered %(status)s %(text)s",
                    status=status,
                    text=text,
                )
            )
        event._process()
        event.child_ids.filtered(lambda part: part.state == "pending")._process()
        return event

    @api.model
    def _simulate_echo(self, account, values):
        """The business sends a message from the WhatsApp Business app."""
        if not account.sudo().coexistence:
            raise UserError(
                _(
                    "%(number)s is not shared with the WhatsApp Business app: "
                    "tick it on the number first.",
                    number=account.name,
                )
            )
        message = self._app_message(account, dict(values, from_business=True))
        self._deliver_app(account, ECHOES_FIELD, "message_echoes", [message])
        return (
            self.env["whatsapp.message"]
            .sudo()
            .search([("wa_message_id", "=", message["id"])])
        )

    @api.model
    def _simulate_app_sync(self, account, now=None):
        """What Meta sends once a coexistence number's contacts and history
        are asked for: the app's contacts, then its chat history, phase by
        phase."""
        now = int(now or time.time())
        contacts = [
            {
                "type": "contact",
                "contact": {
                    "full_name": name,
                    "first_name": name.split(" ")[0],
                    "phone_number": _digits(phone),
                },
                "action": "add",
                "metadata": {"timestamp": str(now)},
            }
            for name, phone in DEMO_APP_CONTACTS
        ]
        self._deliver_app(account, APP_CONTACTS_FIELD, "state_sync", contacts)
        for phase, progress, script in DEMO_APP_HISTORY:
            threads = {}
            for phone, days, from_business, kind, body in script:
                values = {
                    "phone": phone,
                    "type": kind,
                    "body": body,
                    "timestamp": now - int(days * DAY),
                    "from_business": from_business,
                    "status": "READ",
                }
                threads.setdefault(_digits(phone), []).append(
                    self._app_message(account, values)
                )
            chunk = {
                "metadata": {"phase": phase, "chunk_order": 1, "progress": progress},
                "threads": [
                    {"id": thread_id, "messages": messages}
                    for thread_id, messages in threads.items()
                ],
            }
            self._deliver_app(account, HISTORY_FIELD, "history", [chunk])

    @api.model
    def _load_demo_coexistence(self, account_id):
        """The demo's number shared with the WhatsApp Business app: its
        contacts and history come in, then Carla writes and the shop answers
        from the app on its phone."""
        account = self.env["whatsapp.account"].browse(account_id)
        now = int(time.time())
        account.action_sync_business_app()
        self._simulate(
            account,
            {
                "name": "Carla",
                "phone": "+351 912 345 678",
                "type": "text",
                "body": "Hi! Did my sofa ship?",
                "timestamp": now - 1200,
            },
        )
        self._simulate_echo(
            account,
            {
                "phone": "+351 912 345 678",
                "type": "text",
                "body": "Yes! It arrives Thursday morning 🛋️",
                "timestamp": now - 600,
            },
        )
