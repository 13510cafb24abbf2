import logging

from markupsafe import Markup

from odoo import fields, models

from ..tools import outbound, replies
from ..tools.formatting import whatsapp_to_html

_logger = logging.getLogger(__name__)


# one concern of the model per file, as Odoo's mail spreads res.partner
class WhatsappConversation(models.Model):
    """The greeting on a first contact and the away message outside
    business hours."""

    _inherit = "whatsapp.conversation"  # pylint: disable=consider-merging-classes-inherited

    away_sent_on = fields.Date("Away Message Sent On", readonly=True, copy=False)

    def _whatsapp_system_fields(self):
        return super()._whatsapp_system_fields() | {"away_sent_on"}

    def _placeholder_values(self):
        self.ensure_one()
        customer = self.partner_id.name or self.profile_name or self.name or ""
        return {
            "customer": customer,
            "first_name": customer.split(" ")[0] if customer else "",
            "company": self.account_id.company_id.name,
            "salesperson": self.user_id.name or "",
        }

    def _send_automatic_replies(self, wa_message, when):
        """The greeting on a first contact, the away message outside business
        hours (at most once a day per chat)."""
        self.ensure_one()
        account = self.account_id
        if not (account.away_enabled or account.greeting_enabled):
            return
        if account.token_state != "valid" or self.opted_out:
            return
        if account.away_enabled:
            today = account._local_day(when)
            if self.away_sent_on == today:
                # told today already; and after a first message, no greeting
                return
            if not account._is_open_at(when):
                self.sudo().away_sent_on = today
                self._send_automatic(account.away_message)
                return
        if account.greeting_enabled:
            # a first contact: one customer message, and we never wrote first
            first = (
                self.env["whatsapp.message"]
                .sudo()
                .search([("conversation_id", "=", self.id)], limit=2)
            )
            if len(first) == 1 and first.direction == "in":
                self._send_automatic(account.greeting_message)

    def _send_automatic(self, template_text):
        """Queue an automatic text, shown in the chat as written by the
        system. It answers nobody: the chat keeps waiting for a salesperson."""
        self.ensure_one()
        text = replies.render_placeholders(template_text, self._placeholder_values())
        if not text.strip():
            return
        if outbound.length_problem(text, outbound.MAX_TEXT_LENGTH):
            # the text itself fits (checked when saved): a placeholder made it
            # too long; the chat still waits for a salesperson, who answers
            _logger.warning(
                "WhatsApp automatic reply in %s not sent: %s characters once "
                "its placeholders are filled, WhatsApp takes %s",
                self.display_name,
                len(text),
                outbound.MAX_TEXT_LENGTH,
            )
            return
        mail_message = self.sudo()._message_post_whatsapp(
            body=Markup(whatsapp_to_html(text)),
            author_id=self.env.ref("base.partner_root").id,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        self.env["whatsapp.message"].sudo()._queue_outbound(
            self, mail_message, [{"message_type": "text", "body": text}]
        )
