from markupsafe import Markup, escape

from odoo import _, fields, models
from odoo.exceptions import UserError


class WhatsappReply(models.TransientModel):
    """Answer a customer from their partner or lead, without leaving it."""

    _name = "whatsapp.reply"
    _description = "Reply on WhatsApp"

    conversation_id = fields.Many2one("whatsapp.conversation", required=True)
    # read with the user's rights: a wizard never describes a chat they may
    # not read
    window_open = fields.Boolean(
        related="conversation_id.window_open", compute_sudo=False
    )
    window_expires_at = fields.Datetime(
        related="conversation_id.window_expires_at", compute_sudo=False
    )
    body = fields.Text()

    def action_send(self):
        self.ensure_one()
        if not (self.body or "").strip():
            raise UserError(_("Write the message to send."))
        # the chatter's own path: same checks, same queue
        self.conversation_id.message_post(
            body=Markup("<br/>").join(escape(line) for line in self.body.split("\n")),
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        return {"type": "ir.actions.act_window_close"}

    def action_send_template(self):
        return self.conversation_id.action_send_template()
