from odoo import api, models


class PhoneBlacklist(models.Model):
    """Chats read their opt-out from the blacklist: any change to it shows at
    once, in this transaction too."""

    _inherit = "phone.blacklist"

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        self._whatsapp_changed()
        return records

    def write(self, vals):
        result = super().write(vals)
        self._whatsapp_changed()
        return result

    def unlink(self):
        result = super().unlink()
        self._whatsapp_changed()
        return result

    def _whatsapp_changed(self):
        self.env["whatsapp.conversation"].invalidate_model(["opted_out"])
