from odoo import api, fields, models

BUTTON_TYPES = [
    ("quick_reply", "Quick reply"),
    ("url", "Open a web page"),
    ("phone_number", "Call a phone number"),
]


class WhatsappTemplateButton(models.Model):
    """A button under a template's message: Meta reviews them with it."""

    _name = "whatsapp.template.button"
    _description = "WhatsApp Template Button"
    _order = "sequence, id"

    template_id = fields.Many2one(
        "whatsapp.template", required=True, ondelete="cascade", index=True
    )
    sequence = fields.Integer(default=10)
    button_type = fields.Selection(
        BUTTON_TYPES, string="Type", required=True, default="quick_reply"
    )
    text = fields.Char(required=True, help="Up to 25 characters.")
    url = fields.Char("Web Address", help="https://… up to 2000 characters.")
    phone_number = fields.Char(help="With its country code, e.g. +55 11 4000 1234.")

    @api.constrains("button_type", "text", "url", "phone_number", "sequence")
    def _check_meta_rules(self):
        # a button changed on its own still answers to the template's limits
        self.template_id._check_meta_rules()

    @api.model_create_multi
    def create(self, vals_list):
        buttons = super().create(vals_list)
        buttons._check_template_editable()
        return buttons

    def write(self, vals):
        self._check_template_editable()
        return super().write(vals)

    def unlink(self):
        self._check_template_editable()
        return super().unlink()

    def _check_template_editable(self):
        if not self.env.context.get("whatsapp_from_meta"):
            self.template_id._check_editable()
