from odoo import fields, models


class WhatsappOpenChat(models.TransientModel):
    """Pick the WhatsApp number to chat with a customer from."""

    _name = "whatsapp.open.chat"
    _description = "Choose a WhatsApp number"

    partner_id = fields.Many2one("res.partner", required=True)
    account_id = fields.Many2one(
        "whatsapp.account",
        string="WhatsApp Number",
        required=True,
        default=lambda self: self._default_account(),
    )

    def _default_account(self):
        # the number this customer last chatted on, else the first one
        partner_id = self.env.context.get("default_partner_id")
        last = self.env["whatsapp.conversation"].search(
            [("partner_id", "=", partner_id)], order="last_message_at desc", limit=1
        )
        return last.account_id or self.env["whatsapp.account"].search([], limit=1)

    def action_open(self):
        self.ensure_one()
        return self.partner_id._whatsapp_open_on(self.account_id)
