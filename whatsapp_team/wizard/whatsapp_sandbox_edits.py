"""The demo's edited and deleted messages: what Meta's ``messages`` webhook
tells when a customer edits or deletes a message (types ``edit`` and
``revoke``), delivered signed through the webhook."""

import time
import uuid

from odoo import api, models


class WhatsappSandboxMessage(models.TransientModel):
    _inherit = "whatsapp.sandbox.message"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _load_demo_edits(self, account_id):
        """Jorge corrects his question after sending it; Li Wei sends a
        message to the wrong chat and deletes it."""
        account = self.env["whatsapp.account"].browse(account_id)
        now = int(time.time())
        Message_sudo = self.env["whatsapp.message"].sudo()

        def first_from(name):
            return Message_sudo.search(
                [
                    ("account_id", "=", account.id),
                    ("direction", "=", "in"),
                    ("conversation_id.partner_id.name", "=", name),
                ],
                order="id",
                limit=1,
            )

        jorge = first_from("Jorge Pérez")
        wrong = self._simulate(
            account,
            {
                "name": "Li Wei",
                "phone": "+86 138 0013 8000",
                "type": "text",
                "body": "Dinner at 8? 🍜",
                "timestamp": now - 1650,
            },
        )
        changes = []
        if jorge:
            changes.append(
                (
                    jorge,
                    now - 540,
                    "edit",
                    {
                        "original_message_id": jorge.wa_message_id,
                        "message": {
                            "type": "text",
                            "text": {
                                "body": "Buenas tardes, ¿hacen envíos a "
                                "Monterrey y a Guadalajara?"
                            },
                        },
                    },
                )
            )
        if wrong:
            changes.append(
                (
                    wrong,
                    now - 1640,
                    "revoke",
                    {"original_message_id": wrong.wa_message_id},
                )
            )
        for original, when, kind, content in changes:
            chat = original.conversation_id
            self._deliver_value(
                account,
                "messages",
                {
                    "contacts": [
                        {"profile": {"name": chat.partner_id.name}, "wa_id": chat.wa_id}
                    ],
                    "messages": [
                        {
                            "from": chat.wa_id,
                            "id": f"wamid.DEMO{uuid.uuid4().hex[:24].upper()}",
                            "timestamp": str(when),
                            "type": kind,
                            kind: content,
                        }
                    ],
                },
            )
