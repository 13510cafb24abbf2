from odoo import models

from .whatsapp_conversation_sending import INBOX_ACTION


class ResUsers(models.Model):
    _inherit = "res.users"

    def _init_store_data(self, store, /):
        result = super()._init_store_data(store)
        # the web client opens a chat in the inbox screen when there is one,
        # else in its form
        store.add(
            {
                "whatsapp_inbox_action": bool(
                    self.env["ir.model.data"]._xmlid_to_res_id(INBOX_ACTION)
                )
            }
        )
        return result
