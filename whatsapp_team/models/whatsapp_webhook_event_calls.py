from odoo import models

from ..tools.payload import CALLS_FIELD, parse_calls
from .whatsapp_webhook_event import UnknownNumberError


# one concern of the model per file, as Odoo's mail spreads res.partner
class WhatsappWebhookEvent(models.Model):
    """The ``calls`` webhook field (Meta's Calling API): each call event and
    each call status is an item of its own (``tools.payload.split_items``),
    stored and retried as a customer's message is."""

    _inherit = "whatsapp.webhook.event"  # pylint: disable=consider-merging-classes-inherited

    def _process_change(self, change, signed):
        if change.field != CALLS_FIELD:
            return super()._process_change(change, signed)
        Call_sudo = self.env["whatsapp.call"].sudo()
        for event in parse_calls(change.value):
            account = self._account_of(event.phone_number_id)
            if not account:
                # kept and retried: adding the number later recovers it
                raise UnknownNumberError(
                    f"WhatsApp number {event.phone_number_id} is not configured: "
                    "add it under WhatsApp > Configuration > Numbers"
                )
            self._check_signed(account, signed)
            Call_sudo._receive_call_event(account, event)
        return None
