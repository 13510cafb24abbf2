from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..tools import outbound
from ..tools.formatting import whatsapp_to_html


class WhatsappTemplateSend(models.TransientModel):
    """Send an approved template in a conversation, window open or not."""

    _name = "whatsapp.template.send"
    _description = "Send a WhatsApp template"

    conversation_id = fields.Many2one("whatsapp.conversation", required=True)
    account_id = fields.Many2one(related="conversation_id.account_id")
    template_id = fields.Many2one(
        "whatsapp.template",
        required=True,
        domain="[('account_id', '=', account_id), ('status', '=', 'approved')]",
    )
    line_ids = fields.One2many(
        "whatsapp.template.send.line",
        "wizard_id",
        compute="_compute_line_ids",
        store=True,
        readonly=False,
    )
    preview = fields.Html(compute="_compute_preview", sanitize=True)

    @api.depends("template_id")
    def _compute_line_ids(self):
        for wizard in self:
            positions = outbound.template_variables(wizard.template_id.body)
            # the customer's name is what {{1}} holds in most templates
            name = wizard.conversation_id.partner_id.name or wizard.conversation_id.name
            wizard.line_ids = [(5, 0, 0)] + [
                (0, 0, {"position": n, "value": name if n == 1 else ""})
                for n in positions
            ]

    @api.depends("template_id", "line_ids.value")
    def _compute_preview(self):
        for wizard in self:
            wizard.preview = Markup(whatsapp_to_html(wizard._text()))

    def _values(self):
        return {line.position: line.value or "" for line in self.line_ids}

    def _text(self):
        return outbound.fill_template(self.template_id.body or "", self._values())

    def action_send(self):
        self.ensure_one()
        missing = [
            f"{{{{{line.position}}}}}" for line in self.line_ids if not line.value
        ]
        if missing:
            raise UserError(
                _(
                    "Fill in every variable of the template: %(missing)s",
                    missing=", ".join(missing),
                )
            )
        conversation = self.conversation_id
        conversation.check_access("write")
        self.env["whatsapp.message"]._queue_template(
            conversation, self.template_id, self._values()
        )
        return {"type": "ir.actions.act_window_close"}


class WhatsappTemplateSendLine(models.TransientModel):
    _name = "whatsapp.template.send.line"
    _description = "Template variable"
    _order = "position"

    wizard_id = fields.Many2one(
        "whatsapp.template.send", required=True, ondelete="cascade"
    )
    position = fields.Integer()
    value = fields.Char()
