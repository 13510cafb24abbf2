from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.exceptions import UserError


class WhatsappTransfer(models.TransientModel):
    """Pass a chat on to a colleague, with a note for them."""

    _name = "whatsapp.transfer"
    _description = "Pass a WhatsApp chat on"

    conversation_id = fields.Many2one("whatsapp.conversation", required=True)
    # read with the user's rights: a wizard never describes a chat they may
    # not read
    account_id = fields.Many2one(
        related="conversation_id.account_id", compute_sudo=False
    )
    allowed_user_ids = fields.Many2many(
        "res.users", compute="_compute_allowed_user_ids"
    )
    user_id = fields.Many2one(
        "res.users",
        string="Colleague",
        required=True,
        domain="[('id', 'in', allowed_user_ids)]",
    )
    note = fields.Text(
        help="What the colleague should know: it goes in the chat as a note."
    )

    @api.depends("account_id")
    def _compute_allowed_user_ids(self):
        for wizard in self:
            wizard.allowed_user_ids = (
                wizard.account_id.allowed_user_ids - wizard.conversation_id.user_id
            )

    def action_transfer(self):
        self.ensure_one()
        conversation = self.conversation_id
        if self.user_id not in self.allowed_user_ids:
            raise UserError(
                _(
                    "%(user)s may not use the number %(number)s.",
                    user=self.user_id.name,
                    number=self.account_id.name,
                )
            )
        # refused before anything is written: a manager's call, or the user's
        # own chat
        conversation._check_hands_change({"user_id": self.user_id.id})
        body = escape(
            _(
                "%(from)s passed this chat on to %(to)s.",
                **{"from": self.env.user.name, "to": self.user_id.name},
            )
        )
        if self.note:
            body += Markup("<br/>") + Markup("<br/>").join(
                escape(line) for line in self.note.split("\n")
            )
        conversation.user_id = self.user_id
        # the chat may be out of the sender's sight now: the note is the
        # system's, in the sender's name, and reaches the new salesperson
        conversation.sudo().message_post(
            body=body,
            author_id=self.env.user.partner_id.id,
            message_type="comment",
            subtype_xmlid="mail.mt_note",
            partner_ids=self.user_id.partner_id.ids,
        )
        return {"type": "ir.actions.act_window_close"}
