"""The demo's costs and calls: what Meta's status and ``calls`` webhooks
would tell of a sandbox number, delivered signed through the webhook."""

import json
import time
import uuid

from odoo import api, models

from ..tools import signature
from ..tools.payload import CALLS_FIELD


class WhatsappSandboxMessage(models.TransientModel):
    _inherit = "whatsapp.sandbox.message"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _deliver_value(self, account, field_name, value):
        """Deliver one change of ``field_name`` for the sandbox ``account``
        through the webhook, signed, and process it now."""
        account_sudo = account.sudo()
        value = {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": "".join(
                    char
                    for char in account_sudo.display_phone_number or ""
                    if char.isdigit()
                ),
                "phone_number_id": account_sudo.phone_number_id,
            },
            **value,
        }
        payload = {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": account_sudo.business_account_id,
                    "changes": [{"field": field_name, "value": value}],
                }
            ],
        }
        body = json.dumps(payload).encode()
        _status, _text, event = (
            self.env["whatsapp.webhook.event"]
            .sudo()
            ._receive(body, signature.sign(account_sudo.app_secret, body))
        )
        event._process()

    @api.model
    def _load_demo_costs_and_calls(self, account_id):
        """Ana gets a marketing template (priced by the demo's rates) and
        Jorge a free reply in his window; Ana calls and talks for two
        minutes, Li Wei calls and nobody answers."""
        account = self.env["whatsapp.account"].browse(account_id)
        now = int(time.time())
        Message_sudo = self.env["whatsapp.message"].sudo()
        chats = {
            conversation.partner_id.name: conversation
            for conversation in self.env["whatsapp.conversation"]
            .sudo()
            .search([("account_id", "=", account.id)])
        }
        sent = [
            (
                chats.get("Ana Souza"),
                "template",
                "Hi Ana, we have news about the products you asked about. "
                "Shall we talk?",
                "marketing",
                "regular",
                True,
            ),
            (
                chats.get("Jorge Pérez"),
                "text",
                "¡Sí! Enviamos a Monterrey en 3 días.",
                "service",
                "free_customer_service",
                False,
            ),
        ]
        statuses = []
        for conversation, kind, text, category, pricing_type, billable in sent:
            if not conversation:
                continue
            wamid = f"wamid.DEMO{uuid.uuid4().hex[:24].upper()}"
            message = Message_sudo.create(
                {
                    "wa_message_id": wamid,
                    "conversation_id": conversation.id,
                    "direction": "out",
                    "message_type": kind,
                    "body": text,
                    "state": "sent",
                    "wa_timestamp": conversation.last_message_at,
                }
            )
            # shown in the chat as the team's message, as a sent one is
            message.mail_message_id = conversation._message_post_whatsapp(
                body=text,
                author_id=self.env.ref("base.user_admin").partner_id.id,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
            )
            for status in ("sent", "delivered"):
                statuses.append(
                    {
                        "id": message.wa_message_id,
                        "status": status,
                        "timestamp": str(now - 60),
                        "recipient_id": conversation.wa_id,
                        "pricing": {
                            "billable": billable,
                            "pricing_model": "PMP",
                            "category": category,
                            "type": pricing_type,
                        },
                    }
                )
        if statuses:
            self._deliver_value(account, "messages", {"statuses": statuses})
        calls = []
        for name, start, duration in (
            ("Ana Souza", now - 900, 125),
            ("Li Wei", now - 400, 0),
        ):
            conversation = chats.get(name)
            if not conversation:
                continue
            call_id = f"wacid.DEMO{uuid.uuid4().hex[:20].upper()}"
            common = {
                "id": call_id,
                "from": conversation.wa_id,
                "to": account.display_phone_number,
                "direction": "USER_INITIATED",
            }
            calls.append({**common, "event": "connect", "timestamp": str(start)})
            end = {
                **common,
                "event": "terminate",
                "timestamp": str(start + 30 + duration),
            }
            if duration:
                end.update(
                    status="COMPLETED",
                    start_time=str(start + 5),
                    end_time=str(start + 5 + duration),
                    duration=duration,
                )
            else:
                end["status"] = "FAILED"
            calls.append(end)
        if calls:
            self._deliver_value(account, CALLS_FIELD, {"calls": calls})
