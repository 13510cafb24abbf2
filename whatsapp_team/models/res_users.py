from odoo import api, models

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

    @api.model
    def _known_active(self, user_ids):
        """Note in the cache that the users ``user_ids`` are active, as a
        query of ours just read: a field of users shows only the active ones,
        and would otherwise read each of them whole to know it."""
        users = self.browse(user_ids)
        self.env.cache.insert_missing(
            users, self._fields["active"], [True] * len(users)
        )
