import base64
import io
import json
import secrets
import time

from PIL import Image, ImageDraw

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..tools import signature

# A 1x1 PNG: what a simulated customer sends as a picture when none is given.
_PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


class WhatsappSandboxMessage(models.TransientModel):
    """Play the customer on a sandbox number.

    Builds the webhook body Meta would send, signs it with the number's app
    secret and hands it to the same entry point as the real webhook.
    """

    _name = "whatsapp.sandbox.message"
    _description = "Simulate an incoming WhatsApp message"

    account_id = fields.Many2one(
        "whatsapp.account",
        string="Sandbox Number",
        required=True,
        domain=[("mode", "=", "sandbox")],
    )
    customer_name = fields.Char(required=True, default="Ana Souza")
    customer_phone = fields.Char(
        help="International number, e.g. +55 11 98765-4321. Leave empty to "
        "simulate a customer who only shows a username.",
        default="+55 11 98765-4321",
    )
    customer_user_id = fields.Char(
        "Business-Scoped User ID",
        help="Meta's id of the customer for this business (2026 usernames).",
    )
    customer_username = fields.Char()
    message_type = fields.Selection(
        [("text", "Text"), ("image", "Image"), ("location", "Location")],
        default="text",
        required=True,
    )
    body = fields.Text(default="Hello! Do you have the new catalogue?")
    image = fields.Binary()
    image_filename = fields.Char()

    @api.model
    def _build_payload(self, account, values):
        """The Meta webhook body for one inbound message described by ``values``."""
        wa_id = "".join(ch for ch in values.get("phone") or "" if ch.isdigit())
        message = {
            "id": values.get("message_id") or f"wamid.sandbox.{secrets.token_hex(12)}",
            "timestamp": str(int(values.get("timestamp") or time.time())),
            "type": values.get("type", "text"),
        }
        contact = {"profile": {"name": values.get("name") or ""}}
        if wa_id:
            message["from"] = wa_id
            contact["wa_id"] = wa_id
        if values.get("user_id"):
            message["from_user_id"] = values["user_id"]
            contact["user_id"] = values["user_id"]
        if values.get("username"):
            contact["profile"]["username"] = values["username"]
        kind = message["type"]
        if kind == "text":
            message["text"] = {"body": values.get("body") or ""}
        elif kind == "image":
            message["image"] = {
                "id": values["media_id"],
                "mime_type": values.get("mime_type", "image/png"),
                "sha256": values.get("sha256", ""),
                "caption": values.get("body") or "",
            }
        elif kind == "location":
            message["location"] = {
                "latitude": values.get("latitude", 48.8584),
                "longitude": values.get("longitude", 2.2945),
                "name": values.get("body") or "",
            }
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": account.business_account_id or "sandbox",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": account.display_phone_number
                                    or "",
                                    "phone_number_id": account.phone_number_id,
                                },
                                "contacts": [contact],
                                "messages": [message],
                            },
                        }
                    ],
                }
            ],
        }

    @api.model
    def _simulate(self, account, values):
        """Deliver one simulated message through the webhook entry point."""
        account_sudo = account.sudo()
        if account_sudo.mode != "sandbox":
            raise UserError(_("Only sandbox numbers can simulate customers."))
        if values.get("type") == "image" and not values.get("media_id"):
            content = values.get("content") or _PIXEL_PNG
            values["media_id"] = account_sudo._get_sandbox_graph().add_media(
                content, values.get("mime_type", "image/png")
            )
        payload = self._build_payload(account_sudo, values)
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
        # Processed at once, in this transaction: the sandbox's media lives in
        # this process, and the event is not visible to the cron until commit.
        event._process()
        wamid = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
        message_sudo = (
            self.env["whatsapp.message"].sudo().search([("wa_message_id", "=", wamid)])
        )
        # its file too, here: the media cron would not find the sandbox's
        message_sudo.filtered(lambda m: m.media_state == "pending")._fetch_media()
        return message_sudo

    def action_send(self):
        self.ensure_one()
        if not self.customer_phone and not self.customer_user_id:
            raise UserError(
                _("Give the customer a phone number or a business-scoped user id.")
            )
        values = {
            "name": self.customer_name,
            "phone": self.customer_phone,
            "user_id": self.customer_user_id,
            "username": self.customer_username,
            "type": self.message_type,
            "body": self.body,
        }
        if self.message_type == "image" and self.image:
            values["content"] = base64.b64decode(self.image)
        message = self._simulate(self.account_id, values)
        return {
            "type": "ir.actions.act_window",
            "res_model": "whatsapp.conversation",
            "res_id": message.conversation_id.id,
            "view_mode": "form",
            "target": "current",
        }

    @api.model
    def _load_demo_conversations(self, account_id):
        """A few customers writing to the demo sandbox number."""
        account = self.env["whatsapp.account"].browse(account_id)
        now = int(time.time())
        script = [
            # Ana is already a partner: her old WhatsApp id lacks the ninth digit
            (
                "Ana Souza",
                "+55 11 8765-4321",
                "text",
                "Oi! Is the *summer collection* in stock?",
                3600,
            ),
            ("Ana Souza", "+55 11 8765-4321", "image", "This one, in _blue_", 3500),
            (
                "Li Wei",
                "+86 138 0013 8000",
                "text",
                "Hello, can I get a quote for 200 units?",
                1800,
            ),
            ("Li Wei", "+86 138 0013 8000", "location", "Our warehouse", 1700),
            (
                "Jorge Pérez",
                "+52 1 55 1234 5678",
                "text",
                "Buenas tardes, ¿hacen envíos a Monterrey?",
                600,
            ),
        ]
        # Mia and Leo are at their desks while the first customers write:
        # round-robin shares those chats between them
        team_users = account.team_ids.crm_team_member_ids.user_id
        self._set_demo_presence(team_users, "online")
        for name, phone, kind, body, age in script:
            values = {
                "name": name,
                "phone": phone,
                "type": kind,
                "body": body,
                "timestamp": now - age,
            }
            if kind == "image":
                values.update(content=_demo_picture(), mime_type="image/jpeg")
            self._simulate(account, values)
        # then they step away: the last chat waits, unassigned, for whoever
        # comes back first
        self._set_demo_presence(team_users, "offline")
        # a customer who shows only a username (2026): no phone number at all
        self._simulate(
            account,
            {
                "name": "Sam",
                "user_id": "US.13491208655302741918",
                "username": "sam.builds",
                "type": "text",
                "body": "hey, found you on Instagram 👋",
                "timestamp": now - 300,
            },
        )
        # labels a salesperson would put: they are the leads' tags too
        labels = {
            "Ana Souza": "whatsapp_team.whatsapp_label_vip_demo",
            "Li Wei": "whatsapp_team.whatsapp_label_quote_demo",
        }
        for conversation in self.env["whatsapp.conversation"].search(
            [("account_id", "=", account.id)]
        ):
            xmlid = labels.get(conversation.partner_id.name)
            if xmlid:
                conversation.label_ids = [(4, self.env.ref(xmlid).id)]

    @api.model
    def _set_demo_presence(self, users, status):
        Presence_sudo = self.env["bus.presence"].sudo()
        for user in users:
            presence = Presence_sudo.search([("user_id", "=", user.id)])
            if presence:
                presence.status = status
            else:
                Presence_sudo.create({"user_id": user.id, "status": status})
        users.invalidate_recordset(["im_status"])


def _demo_picture():
    """A product photo stand-in: a blue armchair drawn on a warm background."""
    image = Image.new("RGB", (480, 360), (244, 236, 222))
    draw = ImageDraw.Draw(image)
    blue, dark = (38, 93, 171), (24, 60, 112)
    draw.rounded_rectangle((110, 90, 370, 230), radius=28, fill=blue)  # back
    draw.rounded_rectangle((90, 180, 390, 270), radius=24, fill=dark)  # seat
    draw.rounded_rectangle((70, 150, 130, 280), radius=20, fill=blue)  # arms
    draw.rounded_rectangle((350, 150, 410, 280), radius=20, fill=blue)
    for x in (110, 360):
        draw.rectangle((x, 280, x + 12, 320), fill=(90, 60, 40))  # legs
    output = io.BytesIO()
    image.save(output, format="JPEG", quality=85)
    return output.getvalue()
